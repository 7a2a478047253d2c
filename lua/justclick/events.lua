--- justclick events: the receiver's event store, for operators.
--   justclick events --inbox PATH [--state STATE] [--json]   one line per event
--   justclick events --inbox PATH --trim DAYS                 delete handled (and duplicate) events
--                                                             older than DAYS
-- Both open the store read-only and take no lock: they work while `justclick serve` runs (SQLite
-- waits on its own locks). The store is a SQLite database: `sqlite3 PATH` reads it too.
local errors = require "justclick.errors"
local justclick = require "justclick"

local events = {}

local USAGE = [[
usage: justclick events --inbox PATH [--state STATE] [--json]
       justclick events --inbox PATH --trim DAYS
Lists the events the receiver (justclick serve) stored, oldest first, one line each: key, kind,
bill id, state, received (UTC), tries of its handler, and its last error. Works while the
receiver runs.
  --inbox PATH   the receiver's store (default justclick-inbox)
  --state STATE  only the events in STATE: stored (waiting to be handled), trying (a try of
                 its handler began: under way, or the process ended in it), handled, parked,
                 duplicate (a second event of a payment handled already: no handler ran)
  --json         one JSON object a line: {"key", "kind", "bill_id", "state", "received",
                 "tries", "attempts", "last_error"} (bill_id a number, last_error null when none)
  --trim DAYS    delete the handled and duplicate events handled more than DAYS days ago
                 (never one in another state), and say how many
  -h, --help     print this help
]]

local STATES = { stored = true, trying = true, handled = true, parked = true, duplicate = true }

-- The options of args: a table, or nil and a line naming the flag at fault.
local function parse_args(args)
  local o, i = {}, 1
  while i <= #args do
    local a = args[i]
    local function value()
      i = i + 1
      if args[i] == nil then error({ usage = a .. " needs a value" }) end
      return args[i]
    end
    if a == "--help" or a == "-h" then
      o.help = true
    elseif a == "--inbox" then
      o.inbox = value()
    elseif a == "--state" then
      o.state = value()
      if not STATES[o.state] then
        return nil, ("--state must be stored, trying, handled, parked or duplicate, not %q"):format(o.state)
      end
    elseif a == "--json" then
      o.json = true
    elseif a == "--trim" then
      local days = value()
      o.trim = tonumber(days)
      if not o.trim or o.trim < 0 or o.trim ~= o.trim or o.trim == math.huge then
        return nil, ("--trim must be a number of days, 0 or more, not %q"):format(days)
      end
    else
      return nil, ("unknown option %s"):format(a)
    end
    i = i + 1
  end
  if o.help then return o end
  if o.trim and (o.state or o.json) then return nil, "--trim takes neither --state nor --json" end
  return o
end

-- A row as a line of columns a person reads: fixed widths for the short ones. A last error of
-- several lines (a traceback) stays on its event's line, its controls shown as escapes.
local function line_of(e)
  return (("%-40s %-14s %10s %-9s %-24s %5d  %s"):format(e.key, e.kind, e.bill_id or "", e.state, e.received, e.tries,
    justclick.visible(e.last_error or "")):gsub("%s+$", ""))
end

function events.main(...)
  local ok, o, problem = pcall(parse_args, { ... })
  if not ok then o, problem = nil, type(o) == "table" and o.usage or tostring(o) end
  if not o then
    io.stderr:write("justclick events: ", justclick.visible(problem), "\n")
    return 2
  end
  if o.help then
    io.stdout:write(USAGE)
    return 0
  end
  local path = o.inbox or "justclick-inbox"
  local loaded, receiver = pcall(require, "justclick.receiver")
  if not loaded then
    io.stderr:write("justclick events: the receiver's module is missing (justclick.receiver)\n")
    return 1
  end
  local inbox, err = receiver.inbox(path, "r")
  if not inbox then
    io.stderr:write("justclick events: --inbox: ", justclick.visible(errors.adopt(err).message), "\n")
    return 1
  end
  if o.trim then
    local n, terr = inbox:trim(o.trim)
    inbox:close()
    if not n then
      io.stderr:write("justclick events: --trim: ", justclick.visible(errors.adopt(terr).message), "\n")
      return 1
    end
    print(("deleted %d handled events handled more than %s days ago"):format(n, tostring(o.trim)))
    return 0
  end
  local rows, lerr = inbox:events(o.state)
  inbox:close()
  if not rows then
    io.stderr:write("justclick events: --inbox: ", justclick.visible(errors.adopt(lerr).message), "\n")
    return 1
  end
  local out = {}
  if o.json then
    local cjson = require("cjson").new()
    for _, e in ipairs(rows) do
      out[#out + 1] = cjson.encode({ key = e.key, kind = e.kind, bill_id = tonumber(e.bill_id) or cjson.null,
        state = e.state, received = e.received, tries = e.tries, attempts = e.attempts,
        last_error = e.last_error or cjson.null })
    end
  else
    out[1] = ("%-40s %-14s %10s %-9s %-24s %5s  %s"):format("KEY", "KIND", "BILL", "STATE", "RECEIVED", "TRIES",
      "LAST ERROR")
    for _, e in ipairs(rows) do out[#out + 1] = line_of(e) end
  end
  if #out > 0 then io.stdout:write(table.concat(out, "\n"), "\n") end
  return 0
end

return events
