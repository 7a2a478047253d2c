--- justclick.catchup: the payments whose notification never came, read back from the API.
--
--   justclick catch-up [--inbox PATH] [--days N] [--attempts N] [--secret-file PATH]
--                      [--no-confirm] [--dry-run] SCRIPT
--
-- A pass reads the bills paid in the last N days (client:paid_bills: GetAllGoods, then
-- getOrdersWithGoods with paid = true) and stores a `paid` event, key paid-ID-api, for each one
-- whose payment the inbox does not hold yet; the receiver's own loop (justclick.serve) then hands
-- it over as it hands over notifications: confirmed, tried, backed off, parked. A payment is
-- one bill's `paid`, whatever its key: a notification's (paid-ID-digest) and catch-up's
-- (paid-ID-api) are the same payment, and the first handled settles the other (state
-- `duplicate`, its handler never run). `justclick serve --catch-up MINUTES` runs the same pass
-- inside the receiver.
local engine = require "justclick.engine"
local errors = require "justclick.errors"
local justclick = require "justclick"

local catchup = {}

local DEFAULT_DAYS = 3
-- The days one paid_bills call reads: less than any month, which is all getOrdersWithGoods
-- answers for; a pass stores what each one read before it asks the next.
local DAYS_A_READ = 28

-- What the inbox holds of an event's payment: "done" (handled, settled as a duplicate, or handled
-- and trimmed since), "pending" (stored or under way: it will be handled), "parked" (catch-up's own
-- event of it was parked: a person sees to it, no pass stores it again), or nil (nothing yet, or
-- only parked notifications, which may have been forgeries: catch-up's own event is then stored).
-- The key of the pending event comes second.
local function payment_state(inbox, event)
  local rows, err = inbox:payment(event.id)
  if not rows then return nil, err end
  local state, key = false, nil
  for _, row in ipairs(rows) do
    if row.state == "handled" or row.state == "duplicate" or row.state == "trimmed" then return "done" end
    if row.state == "stored" or row.state == "trying" then
      state, key = "pending", row.key
    elseif row.key == event.key and not state then
      state = "parked"
    end
  end
  return state, key
end

-- The day `back` days before `now`, as os.time at noon (noon keeps day arithmetic clear of DST).
local function day_before(now, back)
  local t = os.date("*t", now)
  return os.time({ year = t.year, month = t.month, day = t.day - back, hour = 12 })
end

--- catchup.collect(client, inbox, {days =, dry_run =, stopping =}) -> summary | nil, err, summary: one pass's
-- reads and stores. summary: read (paid bills the API listed), done, pending, parked (as
-- payment_state says), stored (new events), keys (the events of the span's payments still to
-- handle: those stored now, and those pending already, a pass that was killed, say), events (what
-- was, or on a dry run would be, stored: paid_bills' events), days. It reads DAYS_A_READ days at a time, oldest first,
-- and stores each read's new events in one transaction before the next read: a failed read (err;
-- engine.limited(err) for the request limit) ends the pass with what was stored kept; so does
-- stopping() (a function) returning true before a read (summary.stopped).
function catchup.collect(client, inbox, opts)
  local days = opts.days or DEFAULT_DAYS
  local s = { read = 0, done = 0, pending = 0, parked = 0, stored = 0, keys = {}, events = {}, days = days }
  local now = os.time()
  local back = days
  local seen = {} -- the bills an earlier read of this pass listed: counted, and waited for, once
  while back >= 0 do
    if opts.stopping and opts.stopping() then -- a SIGTERM: what was read is stored; the rest waits
      s.stopped = true
      return s
    end
    local upto = math.max(back - DAYS_A_READ + 1, 0)
    local events, err = client:paid_bills({ from = day_before(now, back), to = day_before(now, upto) })
    if not events then return nil, err, s end
    local batch = {}
    for _, event in ipairs(events) do
      if not seen[event.id] then
        seen[event.id] = true
        s.read = s.read + 1
        local state, pending = payment_state(inbox, event)
        if state == nil then return nil, errors.adopt(pending), s end
        if pending then s.keys[#s.keys + 1] = pending end
        if state then
          s[state] = s[state] + 1
        else
          batch[#batch + 1] = { key = event.key, body = event.body }
          s.events[#s.events + 1] = event
        end
      end
    end
    if #batch > 0 and not opts.dry_run then
      local n, serr = inbox:store_many(batch)
      if not n then return nil, errors.adopt(serr), s end
      s.stored = s.stored + n
      for _, b in ipairs(batch) do s.keys[#s.keys + 1] = b.key end
    end
    back = upto - 1
  end
  return s
end

--- catchup.describe(summary) -> a line: what a pass found.
function catchup.describe(s)
  return ("the API lists %d bills paid in the last %d days: %d handled already, %d to be handled, %d parked,"
    .. " %d stored to hand over"):format(s.read, s.days, s.done, s.pending, s.parked, s.stored)
end

--- catchup.failure(err) -> a line: why a pass ended early; the request limit says to run again.
function catchup.failure(err)
  if engine.limited(err) then
    return "the API's request limit did not lift (" .. tostring(err.message) .. "): run again later"
  end
  return tostring(err.message)
end

local USAGE = [[
usage: justclick catch-up [--inbox PATH] [--days N] [--attempts N] [--secret-file PATH]
                          [--no-confirm] [--dry-run] SCRIPT
Reads the bills paid in the last N days from the API and hands each one whose payment the
inbox does not hold (its notification never came) to SCRIPT's handler, as a paid event
(key paid-BILL-api, event.source "api"), exactly as justclick serve hands over notifications:
confirmed, tried again, parked. A payment handled once, from its notification or from here,
is never handed over again. Run it with the receiver stopped (it holds the inbox), or use
justclick serve --catch-up MINUTES.
  SCRIPT              returns function(event), or a table of them by event.kind
  --inbox PATH        the receiver's store (default justclick-inbox)
  --days N            the span: the last N days and today (default 3)
  --attempts N        failed tries before an event is parked (default 20)
  --secret-file PATH  the API key (else SCRIPT's justclick.configure, else JUSTCLICK_SECRET)
  --no-confirm        hand events over without reading each bill back (warned)
  --dry-run           list what would be handed over; store nothing, run no handler
                      (works while the receiver runs)
  -h, --help          print this help
Exit status: 0 every event of the pass handled or parked; 1 a failure (the API, the inbox), in
one line; 2 a usage error; 3 the API's request limit did not lift (what was read is handled: run
again later).
]]

--- catchup.main(...): `justclick catch-up ...`; returns the exit status (USAGE says which).
function catchup.main(...)
  local serve = require "justclick.serve" -- which requires this module: not at its top
  local o, problem = serve.parse_args({ ... }, "catch-up")
  if not o then
    io.stderr:write("justclick catch-up: ", justclick.visible(problem), "\n", USAGE)
    return 2
  end
  if o.help then
    io.stdout:write(USAGE)
    return 0
  end
  local handler, status = serve.prepare(o, "catch-up")
  if handler == nil then return status end
  local s, err, partial = serve.catch_up(handler or nil, { inbox = o.inbox, days = o.days, attempts = o.attempts,
    confirm = o.confirm, dry_run = o.dry_run })
  s = s or partial
  if s and o.dry_run then
    for _, e in ipairs(s.events) do
      print(("would hand over %s: bill %d, %s, paid %s"):format(e.key, e.id, justclick.visible(tostring(e.order.email)),
        justclick.visible(tostring(e.order.paid))))
    end
  end
  if s and (s.read > 0 or not err) then -- a pass that read nothing says only why
    print(catchup.describe(s) .. (o.dry_run and " (a dry run: nothing stored)" or
      (": %d handled, %d parked"):format(s.handled or 0, s.parked_now or 0)))
  end
  if err then
    serve.say("%s", engine.limited(err) and catchup.failure(err) or serve.failure_line(err))
    if justclick._verbose() then
      io.stderr:write(debug.traceback("--verbose: " .. justclick._error_fields(err), 1), "\n")
    end
    return engine.limited(err) and 3 or 1
  end
  return 0
end

return catchup
