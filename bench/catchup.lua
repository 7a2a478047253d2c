-- A catch-up pass over a busy month: 10,000 bills paid in the last 30 days in the sandbox, none
-- of them notified. The pass reads them (GetAllGoods, getOrdersWithGoods 28 days a request),
-- stores them, and hands each over: confirmed through getOrderDetails, a handler that returns
-- true. Printed: the API calls and the time of the reads, of the store and of the handling;
-- then the same pass at a request limit of LIMIT requests a second (a token bucket of 20; code 8
-- beyond it), and a second pass over the same month, which finds every payment handled.
-- Target: the pass finishes, every bill handled once.
-- Run: make bench  (or: lua5.4 bench/catchup.lua [bills [limit]])
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local core = require "justclick.core"
local serve = require "justclick.serve"
local catchup = require "justclick.catchup"
local receiver = require "justclick.receiver"
local sandbox = require "support.sandbox"

local BILLS, LIMIT = tonumber(arg[1]) or 10000, tonumber(arg[2]) or 200
local DAYS = 30

local sb = sandbox.start()
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

-- One pass with a new inbox (or the last one, again): its summary, calls and times.
local function pass(inbox, label)
  local client = sb:client({ timeout = 60 })
  local handled = 0
  local handler = function() handled = handled + 1 return true end
  local started = core.now()
  -- the reads and the store alone, then the whole pass: each timed on its own
  local box = assert(receiver.inbox(inbox))
  local s = assert(catchup.collect(client, box, { days = DAYS, dry_run = true }))
  box:close()
  local read_time, read_calls = core.now() - started, client:stats().requests
  started = core.now()
  local summary = assert(serve.catch_up(handler, { client = client, inbox = inbox, days = DAYS }))
  local took = core.now() - started
  local calls = client:stats().requests - read_calls
  print(("  %-34s %5d paid listed in %4d calls, %6.2f s; the pass: %5d stored, %5d handled, %6d calls, %6.1f s"
    .. " (%.0f events/s)"):format(label, s.read, read_calls, read_time, summary.stored, handled, calls, took,
    handled / took))
  client:close()
  return summary, handled
end

local ok, failure = pcall(function()
  local seeded = sb:control("seed", { count = BILLS, days = DAYS })
  assert(seeded.count == BILLS, "the sandbox seeded " .. tostring(seeded.count))
  print(("Catch-up over %d bills paid in the last %d days, none notified (target: every one handled once)"):format(
    BILLS, DAYS))
  local summary, handled = pass(dir .. "/inbox", "no request limit")
  assert(summary.stored == BILLS and handled == BILLS, "not every bill was handled once")
  summary, handled = pass(dir .. "/inbox", "again: every payment handled")
  assert(summary.stored == 0 and handled == 0, "a second pass handed something over")
  sb:rate_limit(LIMIT, 20)
  summary, handled = pass(dir .. "/limited", ("%d requests/s, code 8 beyond"):format(LIMIT))
  assert(summary.stored == BILLS and handled == BILLS, "not every bill was handled once under the limit")
end)
sb:stop()
os.execute("rm -rf " .. dir)
if not ok then error(failure, 0) end
