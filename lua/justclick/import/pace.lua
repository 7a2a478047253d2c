--- justclick.import.pace: how many orders the importer keeps under way, and how fast it starts
-- them, under JustClick's request limit (code 8: a request refused before it was processed). The
-- limit is not published, so it is found by asking: each control is additive increase,
-- multiplicative decrease (AIMD).
--
--   * The window: requests in flight. The first row goes alone; once a reply has come (the
--     account and the secret work), up to `jobs`. A refusal halves it (at least 1); each reply
--     raises it by 1/window, one a window's worth of replies, up to `jobs`.
--   * The pace, set at the first refusal that follows replies: 0.8 times the starts of the last
--     second, so that starts are spaced 1/rate apart (10% jitter). Each refusal cuts it to 0.8;
--     each reply raises it by 0.05 a second. A window alone would not do: at 50 ms a reply, one
--     request in flight is already 20 a second, the limit the bench sets.
--   * A refusal counts once for the requests that were already under way when it came: they
--     were sent at the old pace, so their refusals say nothing new (as TCP cuts its window once a
--     round trip). After it, nothing starts for the engine's back-off: 50-100% of
--     min(2^(k-1) * gap, 30 s), gap being 1/rate (or `backoff` before there is a pace) and k the
--     refusals since the last reply, so that a limit that is used up, not just exceeded, is
--     asked less and less often. Only the first of them cuts the pace: the limit has not said
--     how fast it lets requests through.
--   * When every request has been refused for `limit_wait` seconds (the next start waits no
--     longer than that), refused() says to give up.
-- Times are the caller's (core.now()), so that the specs can drive it without a clock.
local engine = require "justclick.engine"

local pace = {}

local DECREASE, INCREASE = 0.8, 0.05 -- the pace's cut and its rise a reply (requests a second)
local MAX_WAIT = 30

local Pace = {}
Pace.__index = Pace

--- pace.new(jobs, {backoff =, limit_wait =, random =}) -> pace
function pace.new(jobs, opts)
  return setmetatable({
    jobs = jobs, window = jobs, open = false, rate = nil, due = -math.huge, cut_at = -math.huge,
    replied = true, refusals = 0, refused_since = nil, last_reply = -math.huge,
    starts = {}, first = 1, last = 0, -- the times of the last second's starts: starts[first..last]
    backoff = opts.backoff, limit_wait = opts.limit_wait, random = opts.random or math.random,
  }, Pace)
end

--- How many requests may be in flight now.
function Pace:slots()
  return self.open and math.floor(self.window) or 1
end

--- When the next request may start (core.now() time).
function Pace:next_start()
  return self.due
end

-- Forgets the starts before the last second; returns how many are left.
local function recent_starts(self, at)
  local starts = self.starts
  while self.first <= self.last and starts[self.first] <= at - 1 do
    starts[self.first] = nil
    self.first = self.first + 1
  end
  return self.last - self.first + 1
end

--- A request started at `at`.
function Pace:started(at)
  self.last = self.last + 1
  self.starts[self.last] = at
  recent_starts(self, at)
  if self.rate then self.due = math.max(self.due, at + math.min((0.9 + 0.2 * self.random()) / self.rate, MAX_WAIT)) end
end

--- A reply that was no refusal came at `at`.
function Pace:answered(at)
  self.open, self.replied, self.refusals, self.refused_since = true, true, 0, nil
  self.last_reply = at
  self.window = math.min(self.jobs, self.window + 1 / self.window)
  if self.rate then self.rate = self.rate + INCREASE end
end

--- A request started at `started` was refused at `at`; true when the limit has refused every
--- request for limit_wait seconds, and the caller should give up.
function Pace:refused(started, at)
  self.refused_since = self.refused_since or at
  if started >= self.cut_at then
    self.cut_at = at
    if self.replied then -- the first refusal since a reply: too fast
      if not self.rate and self.last_reply > at - 1 then -- replies lately: how fast they went
        local n = recent_starts(self, at)
        self.rate = n > 0 and n or nil
      end
      if self.rate then self.rate = self.rate * DECREASE end
    end
    self.replied = false
    self.refusals = self.refusals + 1
    self.window = math.max(1, self.window / 2)
    local gap = self.rate and 1 / self.rate or self.backoff
    local wait = engine.backoff(gap, self.refusals - 1, MAX_WAIT, self.random)
    self.due = math.max(self.due, math.min(at + wait, self.refused_since + self.limit_wait))
  end
  return at - self.refused_since >= self.limit_wait
end

return pace
