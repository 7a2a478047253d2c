--- justclick.serve: receiving JustClick's payment notifications and acting on them.
--
--   justclick serve [--listen HOST:PORT] [--inbox PATH] [--attempts N] [--secret-file PATH] SCRIPT
--   justclick serve --inbox PATH --parked
--   justclick serve --inbox PATH --replay KEY [--secret-file PATH] SCRIPT
--
-- SCRIPT returns the handler: function(event), or a table of them by event.kind. The receiver
-- (justclick.receiver, in C) verifies each POST and stores it, fsynced, before its 200 reply;
-- this loop runs the handler on each stored event, in arrival order, outside the HTTP threads. Before
-- the handler, each event is confirmed (client:confirm): its bill read back must be of its
-- email and in the state its kind says, since the hash proves neither the kind nor the sums.
-- The handler gets the bill as read in event.confirmed (a kind the script's table has no
-- function for runs nothing, and is not read back). A bill of another email parks the
-- event unhandled at once; one in another state (JustClick's reads may lag its notifications) or a
-- failed read counts as a failed try. The API's request limit (code 8) is no failed try: the
-- confirmations pause, with back-off, until it lifts, while the receiver goes on storing.
-- --no-confirm (confirm = false) hands events over unconfirmed, with a warning. A handler
-- that raises, returns false, or returns nil and an error, is tried again later (1 s, 2 s,
-- 4 s ... at most 5 min between tries); after `attempts` failures (default 20, about an hour)
-- the event is parked: kept, reported, and left until a person replays it. A process that ends
-- inside a handler counts as a failure of that try. An event is handled at least once, and
-- exactly once unless the process dies inside its handler.
local justclick = require "justclick"
local core = require "justclick.core"
local engine = require "justclick.engine"
local errors = require "justclick.errors"
local catchup = require "justclick.catchup"

local serve = {}

-- What begins each line of the log: the command that runs the loop (catch-up's too).
serve.log_name = "justclick serve"

-- The receiver (libmicrohttpd, threads) is a module of its own, which the justclick-host rock
-- installs; the justclick rock alone has none. inbox(path [, mode]) -> inbox | nil, err: kind
-- "io" (the C layer's, with the path) when it cannot be opened, "input" when it is not installed.
local function open_inbox(path, mode)
  local ok, receiver = pcall(require, "justclick.receiver")
  if not ok then
    if not tostring(receiver):find("module 'justclick.receiver' not found", 1, true) then error(receiver, 0) end
    return nil, errors.new("input", nil, "the receiver (justclick.receiver) is not installed: it comes with the"
      .. " justclick-host rock (luarocks install justclick-host)")
  end
  local inbox, err = receiver.inbox(path, mode)
  if not inbox then return nil, errors.adopt(err) end
  return inbox
end

-- The client that confirms events and redacts the log: options.client, else the module-level
-- one; nil and an "input" error when nothing is configured (a line for the user, not a raise).
local function client_of(opts)
  if opts.client then return opts.client end
  return justclick._configured_client()
end

-- A line of the log, stamped as the receiver's request lines are (ISO-8601, UTC), so that every
-- line of a long-running receiver says when.
local function stamp()
  return ("%s: %s "):format(serve.log_name, os.date("!%Y-%m-%dT%H:%M:%SZ"))
end

local function say(fmt, ...)
  io.stderr:write(justclick.visible((stamp() .. fmt):format(...)), "\n")
  io.stderr:flush()
end

-- What the parked hint names: the inbox of the receiver that runs, and the SCRIPT and
-- --secret-file that `justclick serve` was given (nil when serve.run is called from Lua).
local hint = {}

-- The tables of handlers by kind behind the functions as_handler made of them.
local by_kind = setmetatable({}, { __mode = "k" })

-- The handler a script returned, as one function of the event: a table of functions is called
-- by event.kind, and a kind it has no function for needs nothing done.
local function as_handler(value, where)
  if type(value) == "function" then return value end
  if type(value) ~= "table" then error(where .. " must return a function(event) or a table of them by kind", 0) end
  for kind, fn in pairs(value) do
    if type(fn) ~= "function" then error(("%s: handler %s is not a function"):format(where, tostring(kind)), 0) end
  end
  local handler = function(event)
    local fn = value[event.kind]
    if fn then return fn(event) end
    return true
  end
  by_kind[handler] = value
  return handler
end

-- Whether the handler does anything with events of this kind (a table of handlers may have no
-- function for it): only then is the event worth confirming.
local function acts_on(handler, kind)
  local kinds = by_kind[handler]
  return kinds == nil or kinds[kind] ~= nil
end

--- serve.load(script) -> handler: the function a SCRIPT file returns, or its table's.
function serve.load(script)
  local chunk, err = loadfile(script)
  if not chunk then error(err, 0) end
  return as_handler(chunk(), script)
end

-- The pause before try n + 1: 1 s, 2 s, 4 s, ... at most 5 minutes. With the default 20
-- attempts an event is parked about an hour after it came: a downstream outage shorter than
-- that parks nothing.
local DEFAULT_ATTEMPTS = 20
local function retry_after(n)
  return engine.backoff(1, n - 1, 300, false) -- no jitter: the log says when, and the inbox keeps it
end

-- A handler's failure as a log can show it: never the secret, never raising (an error object
-- whose __tostring fails is still a failure).
local function describe(client, failure)
  local ok, text = pcall(tostring, failure)
  if not ok or type(text) ~= "string" then text = "(an error that cannot be written as text)" end
  return client:redact(text)
end

-- The stored event as the handler sees it. It was verified when it came, with the key of that
-- day: it is not checked again, so that a new API key does not strand what was acknowledged. Its
-- kind and bill id come back from the inbox (they make its key); the body is parsed once.
local function stored_event(stored)
  if not stored.kind then -- a key the receiver never makes (pure/notice.c): no kind, no bill id
    return nil, ("input: the stored key %s names no kind and bill id"):format(stored.key)
  end
  if not stored.id then
    return nil, "input: its bill id is past 2^53, which this Lua's numbers cannot hold exactly"
  end
  local order = core.notification_form(stored.body)
  if order.id ~= stored.id then -- a record mended by hand, say: key and body of two bills
    return nil, ("input: the stored key %s is not its body's (bill %s)"):format(stored.key, tostring(order.id))
  end
  return { kind = stored.kind, id = stored.id, key = stored.key, order = order, attempt = stored.attempts + 1,
    source = stored.key:find("%-api$") and "api" or "notification" } -- catch-up's keys end -api
end

-- Whether the handler's results say it failed: it returned false, or nil and an error.
local function failed(n, result, err)
  return result == false or (n >= 2 and result == nil and err ~= nil)
end

-- The path as the shell of a person who replays an event should give it: absolute (the replay
-- may run from another directory), and quoted when it needs to be.
local function shell_path(path)
  return justclick._shell_quote(core.realpath(path) or path)
end

-- The host's own --user, --api-url and --secret-file, given before `serve` (the global `arg`
-- holds them below 0, as lua puts a script's interpreter options): they configure the receiver,
-- and the replay needs them as much. { user =, api_url =, secret_file = }, each when given.
local function host_options(command)
  local given, args = {}, rawget(_G, "arg")
  if type(args) ~= "table" or args[0] ~= command then return given end -- serve.main called from Lua
  local first = 0
  while args[first - 1] ~= nil do first = first - 1 end
  local i = first + 1 -- args[first] is the program
  while i < 0 do
    local name, inline = args[i]:match("^(%-%-[%w-]+)=(.*)$")
    name = name or args[i]
    local key = ({ ["--user"] = "user", ["--api-url"] = "api_url", ["--secret-file"] = "secret_file" })[name]
    if key and inline then
      given[key] = inline
    elseif key then
      i = i + 1
      given[key] = args[i]
    elseif name == "-e" or name == "-l" then
      i = i + 1
    end
    i = i + 1
  end
  return given
end

-- The command that replays the event `key`, with the real paths of this receiver.
local function replay_command(key)
  local words = { "justclick" }
  if hint.user then words[#words + 1] = "--user " .. justclick._shell_quote(hint.user) end
  if hint.api_url then words[#words + 1] = "--api-url " .. justclick._shell_quote(hint.api_url) end
  words[#words + 1] = "serve"
  if hint.unconfirmed then words[#words + 1] = "--no-confirm" end -- as the receiver ran: else it confirms
  if hint.secret_file then words[#words + 1] = "--secret-file " .. shell_path(hint.secret_file) end
  words[#words + 1] = "--inbox " .. shell_path(hint.inbox)
  words[#words + 1] = "--replay " .. justclick._shell_quote(key)
  words[#words + 1] = hint.script and shell_path(hint.script) or "SCRIPT"
  return table.concat(words, " ")
end

-- Records a failure of the event's handler; parks it after `attempts` of them. Returns
-- "parked", or "failed" (tried again later, or the failure could not be recorded).
local function record_failure(client, inbox, stored, attempts, failure)
  local n = stored.attempts + 1
  local wait = retry_after(n)
  local outcome, err = inbox:failed(stored.key, wait, attempts, describe(client, failure)) -- its row's last_error
  if not outcome then
    say("cannot record the failure of %s: %s", stored.key, err.message)
  elseif outcome == "parked" then
    say("parked %s after %d failures: %s; once the cause is mended, stop the receiver and replay it with: %s",
      stored.key, n, describe(client, failure), replay_command(stored.key))
    return "parked"
  else
    say("handler failed on %s (try %d): %s; trying again in %d s", stored.key, n, describe(client, failure), wait)
  end
  return "failed"
end

-- The key under which the bill's payment was handled already, other than `key`: a payment is
-- one bill's paid event, whichever way it came (a notification, paid-ID-digest, or catch-up,
-- paid-ID-api; the two write the paid time differently, and only a notification has the sums).
local function handled_as(inbox, id, key)
  local rows, err = inbox:payment(id)
  if not rows then return nil, err end
  for _, row in ipairs(rows) do
    if row.key ~= key and (row.state == "handled" or row.state == "trimmed") then return row.key end
  end
  return nil
end

-- A confirmation that failed on the API's request limit (engine.limited: a code 8, which the
-- client already repeats for as long as its timeout lasts) is no failed try of the event, but a
-- pause of them all. The pause of confirmations after the n-th code 8 in a row: 1 s, 2 s, 4 s ... at most a
-- minute, 50-100% of it, so that a limit used up is asked less and less often.
local function limit_pause(n)
  return engine.backoff(1, n - 1, 60)
end

-- Waits `seconds`, or until a SIGTERM or SIGINT says to stop.
local function wait_out(inbox, seconds)
  local deadline = core.now() + seconds
  while not inbox:stopping() and core.now() < deadline do core.sleep(math.min(0.25, deadline - core.now())) end
end

-- After the n-th code 8 in a row that held up confirming `stored`: the log says so, and the
-- confirmations wait. The event is left as it was: pending, its tries uncounted.
local function pause_confirmations(inbox, stored, n, err)
  local pause = limit_pause(n)
  say("the API's request limit holds up confirming %s (%s); confirmations pause %.1f s, the receiver goes on"
    .. " storing", stored.key, tostring(err.message), pause)
  wait_out(inbox, pause)
end

-- The inboxes whose last begin failed for want of room: the log says so when it starts and ends.
-- While one is blocked its first due event comes back each second: the order its confirmation
-- read is kept for it ({key, order, at}) for a minute, so that a full disk costs an API read a
-- minute, not a second, and no handler acts on a read older than that.
local blocked = setmetatable({}, { __mode = "k" })

-- The inboxes that take notifications (serve.run's; not catch-up's or a replay's).
local receiving = setmetatable({}, { __mode = "k" })

-- Runs the handler on one stored event; returns true when it was handled (or settled as a
-- payment handled already: true, "duplicate"), or false and why: "limited" when a code 8 held
-- up its confirmation (nothing recorded), "parked", "failed" (tried again later), "held" (it
-- stays pending: no room for its try), "gone" (its row is no longer one to handle). A try that began
-- and never ended (the process died inside the handler) counts as a failure, without a new try,
-- so that an event that kills the process is parked in the end instead of killing every start.
-- A replayed event (replayed: a person asked for its handler) runs even when its payment was
-- handled as another event.
local function handle(client, inbox, handler, stored, attempts, confirm, replayed)
  if stored.kind == "paid" and stored.id and not replayed then -- one payment, one handling
    local as, perr = handled_as(inbox, stored.id, stored.key)
    if perr then
      say("cannot read what the inbox holds of bill %d's payment: %s", stored.id, errors.adopt(perr).message)
      core.sleep(1)
      return false, "held"
    elseif as then
      local done, derr = inbox:duplicate(stored.key, as)
      if done == nil then
        say("cannot settle %s: %s", stored.key, errors.adopt(derr).message)
        core.sleep(1)
        return false, "held"
      end
      say("%s: bill %d's payment was handled already, as %s: its handler does not run", stored.key, stored.id, as)
      return true, "duplicate"
    end
  end
  if stored.crashed then
    return false, record_failure(client, inbox, stored, attempts,
      ("the process ended during try %d of its handler"):format(stored.attempts + 1))
  end
  local event, err = stored_event(stored)
  if not event then
    return false, record_failure(client, inbox, stored, attempts, err)
  end
  if confirm and acts_on(handler, event.kind) then -- the bill read back: another email's parks
    -- the event unhandled at once; a bill in another state, or a failed read, is a failed try (tried
    -- again, then parked); a code 8 no try
    local held = blocked[inbox]
    local order, cerr
    if held and held.key == stored.key and held.order and core.now() - held.at < 60 then
      order = held.order
    else
      order, cerr = client:confirm(event)
    end
    if not order and engine.limited(cerr) then
      return false, "limited", cerr
    elseif not order and cerr.kind == "forged" and cerr.mismatch == "email" then
      -- no wait mends it, but a person should see it (a bill whose email was changed since):
      -- parked now, never closed
      say("refused %s without its handler: %s", stored.key, describe(client, cerr))
      return false, record_failure(client, inbox, stored, stored.attempts + 1, "refused: " .. describe(client, cerr))
    elseif not order then
      return false, record_failure(client, inbox, stored, attempts, "not confirmed: " .. describe(client, cerr))
    end
    event.confirmed = order
  end
  local began, berr = inbox:begin(stored.key)
  if began == false then -- its row is no longer one to handle (changed by hand): no try, no handler
    say("%s is no longer to handle (its row was changed): its handler does not run", stored.key)
    return false, "gone"
  elseif not began then -- no room for the try's outcome: no try begins until there is (said once)
    if not blocked[inbox] then
      say("no handler begins%s until the inbox has room for a handler's outcome: %s",
        receiving[inbox] and ", and new events are answered 503," or "", berr.message)
    end
    local held = blocked[inbox] -- the same read kept: its time stays that of the read
    if not (held and held.key == stored.key and held.order == event.confirmed) then
      blocked[inbox] = { key = stored.key, order = event.confirmed, at = core.now() }
    end
    core.sleep(1)
    return false, "held"
  elseif blocked[inbox] then
    blocked[inbox] = nil
    say("the inbox has room again: handling resumes")
  end
  local results = table.pack(pcall(handler, event))
  if results[1] and not failed(results.n - 1, results[2], results[3]) then
    local done, herr = inbox:handled(stored.key)
    if not done then say("cannot mark %s handled: %s", stored.key, herr.message) end
    return true
  end
  local failure = results[2] -- the error raised
  if results[1] then failure = results[3] == nil and "the handler returned " .. tostring(results[2]) or results[3] end
  return false, record_failure(client, inbox, stored, attempts, failure)
end

-- A catch-up pass inside the receiver (serve --catch-up): it stores what the API lists paid and
-- the inbox lacks, for the loop to hand over; the log says what it found. Notifications go on
-- being stored meanwhile (the HTTP threads do that); handlers wait for its reads.
local function catch_up_pass(client, inbox, days, minutes)
  local s, err, partial = catchup.collect(client, inbox, { days = days,
    stopping = function() return inbox:stopping() end }) -- a SIGTERM waits for one read, not the pass
  if s and s.stopped then
    say("catch-up: stopped before its end: %s", catchup.describe(s))
  elseif s then
    say("catch-up: %s", catchup.describe(s))
  else
    if partial.stored > 0 then say("catch-up: %s", catchup.describe(partial)) end
    say("catch-up: %s; the next pass in %s min", catchup.failure(err), tostring(minutes))
  end
end

-- Whether events are confirmed before their handler (options.confirm: true unless false); the
-- log says when they are not.
local function confirming(opts)
  if opts.confirm ~= nil and type(opts.confirm) ~= "boolean" then error("serve: confirm must be true or false", 3) end
  if opts.confirm == false then
    say("WARNING: events go to the handler unconfirmed (--no-confirm): no API read proves their kind or sums,"
      .. " and a new order's notification can be made into a payment's without the secret")
    return false
  end
  return true
end

-- The options of serve.run and serve.replay: another raises, naming it.
local RUN_OPTIONS = { client = true, secret = true, inbox = true, host = true, port = true, attempts = true,
  max_body = true, timeout = true, connections = true, confirm = true, on_ready = true, trust_proxy = true,
  catch_up = true, days = true }
local REPLAY_OPTIONS = { client = true, inbox = true, attempts = true, confirm = true }
local CATCH_UP_OPTIONS = { client = true, inbox = true, attempts = true, confirm = true, days = true, dry_run = true }

--- serve.run(handler, options) -> true | nil, err: receives and handles until SIGTERM or Ctrl-C,
-- then stops taking requests, lets the handler in progress finish, and returns. err is an error
-- table: kind "input" (no secret, nothing configured, a host that is not an IP address, a port,
-- timeout, connections or max_body out of range) or "io" (the inbox cannot be opened, or the
-- machine refuses to listen there: a port in use, an address not its own; with errno).
-- options: client (default: the module-level one), secret (what signs notifications: default
-- JUSTCLICK_SECRET, which the module-level client reads too), inbox (a path,
-- default "justclick-inbox"), host ("127.0.0.1"), port (8787), attempts (20), and for the HTTP
-- side max_body (64 KiB), timeout (10 s, for slow clients), connections (64); confirm (default
-- true: each bill read back with client:confirm before the handler, in event.confirmed; false
-- hands events over unconfirmed, with a warning); on_ready(port) is called once it listens;
-- trust_proxy (a list of IP addresses: the proxies in front of the receiver): for a connection
-- from one of them, the log names the client that X-Forwarded-For gives (the right-most entry
-- that is not itself a trusted proxy); from any other address the header is ignored; catch_up
-- (minutes): a catch-up pass (serve.catch_up's, over the last `days` days, default 3) at start
-- and every catch_up minutes, whose events the loop hands over with the notifications.
function serve.run(handler, opts)
  opts = errors.check_options("justclick.serve", opts, RUN_OPTIONS)
  handler = as_handler(handler, "the handler")
  local attempts = opts.attempts or DEFAULT_ATTEMPTS
  local secret = opts.secret or os.getenv("JUSTCLICK_SECRET")
  if secret == nil or secret == "" then -- and the user too, when it is missing: both said at once
    local _, unconfigured = client_of(opts)
    return nil, errors.new("input", nil, "no secret to verify notifications with: options.secret, or"
      .. " justclick.configure{...}, or JUSTCLICK_SECRET",
      { missing = unconfigured and unconfigured.missing or { "secret" } })
  end
  local client, unconfigured = client_of(opts)
  if not client then return nil, unconfigured end
  if opts.trust_proxy ~= nil and type(opts.trust_proxy) ~= "table" then
    error("justclick.serve: trust_proxy must be a list of IP addresses", 2)
  end
  local minutes = opts.catch_up
  if minutes ~= nil and not (type(minutes) == "number" and minutes > 0 and minutes < math.huge) then
    error("justclick.serve: catch_up must be a number of minutes above 0", 2)
  end
  local confirm = confirming(opts)
  local path = opts.inbox or "justclick-inbox"
  hint.inbox, hint.unconfirmed = path, not confirm
  local inbox, err = open_inbox(path)
  if not inbox then
    if err.kind == "io" then err.inbox = path end -- serve.main names --inbox
    return nil, err
  end
  -- nil, err when it cannot listen: "io" (with errno) when the machine refuses, a port in use
  -- say; "input" for a value out of range or a host that is not an IP address. The inbox is
  -- closed then, its lock released, so that another receiver can take it.
  local listening, lerr = inbox:listen({ host = opts.host or "127.0.0.1", port = opts.port or 8787, secret = secret,
    max_body = opts.max_body, timeout = opts.timeout, connections = opts.connections, trust_proxy = opts.trust_proxy })
  if not listening then
    inbox:close()
    if lerr.kind == "io" then lerr.listen = true end -- the machine refused: serve.main names --listen
    return nil, errors.adopt(lerr)
  end
  receiving[inbox] = true
  local counts = inbox:counts()
  say("listening on %s:%d; the inbox %s holds %d events, %d to handle, %d parked", opts.host or "127.0.0.1",
    inbox:port(), path, counts.stored, counts.pending, counts.parked)
  if opts.on_ready then opts.on_ready(inbox:port()) end
  local limits = 0 -- code 8s in a row
  local pass_due = opts.catch_up and core.now() or math.huge -- the first catch-up pass at once
  while not inbox:stopping() do
    if core.now() >= pass_due then
      catch_up_pass(client, inbox, opts.days, opts.catch_up)
      pass_due = core.now() + opts.catch_up * 60
    end
    local stored, nerr = inbox:next(1)
    if stored then
      local _, why, cerr = handle(client, inbox, handler, stored, attempts, confirm)
      limits = why == "limited" and limits + 1 or 0
      if limits > 0 then pause_confirmations(inbox, stored, limits, cerr) end
    elseif nerr then -- the file cannot be read now: say so, and try again in a while
      say("%s", nerr.message)
      core.sleep(1)
    end
  end
  inbox:close()
  say("stopped")
  return true
end

--- serve.replay(handler, key, options) -> true | nil, err: a stored event, whatever its state (a
-- handled one included: its handler runs again), or with key "all" every parked event, is
-- pending again and handled now, with the events still pending before it.
-- options: client, inbox, attempts, confirm (as serve.run's). Fails when the receiver runs: it
-- holds the inbox. err: kind "input" (nothing configured, no such event), "io" (the
-- inbox), or "handler" (an event failed again: err.keys lists them).
function serve.replay(handler, key, opts)
  opts = errors.check_options("serve.replay", opts, REPLAY_OPTIONS)
  handler = as_handler(handler, "the handler")
  local client, unconfigured = client_of(opts)
  if not client then return nil, unconfigured end
  local confirm = confirming(opts)
  local path = opts.inbox or "justclick-inbox"
  hint.inbox, hint.unconfirmed = path, not confirm
  local inbox, err = open_inbox(path)
  if not inbox then
    if err.kind == "io" then err.inbox = path end -- serve.main names --inbox, as for serve.run
    return nil, err
  end
  local keys = {}
  if key == "all" then
    for _, p in ipairs(inbox:parked()) do keys[#keys + 1] = p.key end
  else
    keys[1] = key
  end
  local waiting = {}
  for _, k in ipairs(keys) do
    local replayed, rerr = inbox:replay(k)
    if not replayed then
      inbox:close()
      return nil, rerr and errors.adopt(rerr) or errors.new("input", nil, ("no event %s in %s"):format(k, path))
    end
    waiting[k] = true
  end
  local failures, limits = {}, 0
  while next(waiting) do
    local stored = inbox:next(0)
    if not stored then break end
    local handled, why, cerr = handle(client, inbox, handler, stored, opts.attempts or DEFAULT_ATTEMPTS, confirm,
      waiting[stored.key])
    limits = why == "limited" and limits + 1 or 0
    if limits > 0 then -- the event stays pending, untried: next() gives it again after the pause
      pause_confirmations(inbox, stored, limits, cerr)
    elseif waiting[stored.key] then
      waiting[stored.key] = nil
      if not handled then failures[#failures + 1] = stored.key end
    end
  end
  inbox:close()
  for k in pairs(waiting) do failures[#failures + 1] = k end
  if #failures > 0 then
    table.sort(failures)
    return nil, errors.new("handler", nil, ("%s failed again"):format(table.concat(failures, ", ")),
      { keys = failures })
  end
  return true
end

--- serve.catch_up(handler, options) -> summary | nil, err [, summary]: one catch-up pass
-- (justclick.catchup.collect: the bills paid in the last `days` days that the inbox holds no
-- payment of, stored as paid events), then the events pending in the inbox handled until each
-- one the pass stored is handled or parked: tried again on the handler's back-off, as serve.run
-- tries. summary: catchup.collect's, with handled and parked_now (of the pass's events).
-- options: client, inbox, attempts, confirm (as serve.run's), days (default 3), dry_run (the
-- inbox opened read-only, while a receiver may hold it: nothing stored, no handler; summary.events
-- lists what would be handed over). Fails when the receiver runs (it holds the inbox), unless a
-- dry run. err: "input", "io" (the inbox), or the API's (engine.limited(err): the request limit
-- did not lift), with the summary so far: what was stored before it is handled first.
function serve.catch_up(handler, opts)
  opts = errors.check_options("serve.catch_up", opts, CATCH_UP_OPTIONS)
  if not opts.dry_run then handler = as_handler(handler, "the handler") end
  local client, unconfigured = client_of(opts)
  if not client then return nil, unconfigured end
  local confirm = not opts.dry_run and confirming(opts)
  local path = opts.inbox or "justclick-inbox"
  hint.inbox, hint.unconfirmed = path, not confirm
  local inbox, err = open_inbox(path, opts.dry_run and "r" or nil)
  if not inbox then
    if err.kind == "io" then err.inbox = path end
    return nil, err
  end
  local s, cerr, partial = catchup.collect(client, inbox, { days = opts.days, dry_run = opts.dry_run })
  s = s or partial
  s.handled, s.parked_now = 0, 0
  if opts.dry_run then
    inbox:close()
    if cerr then return nil, cerr, s end
    return s
  end
  local waiting, left, limits = {}, 0, 0
  for _, k in ipairs(s.keys) do
    if not waiting[k] then waiting[k], left = true, left + 1 end -- a key listed twice is waited for once
  end
  while left > 0 do
    local stored, nerr = inbox:next(1)
    if stored then
      local handled, why, lerr = handle(client, inbox, handler, stored, opts.attempts or DEFAULT_ATTEMPTS, confirm)
      limits = why == "limited" and limits + 1 or 0
      if why == "held" and blocked[inbox] then -- no room for a handler's outcome: a command does not wait
        -- for it (from cron it would wait for good, holding the inbox); an outcome the page holds goes
        -- into its row at the next start, and the next run hands the rest over
        inbox:close()
        return nil, errors.new("io", nil, "no handler can begin: the inbox has no room for a handler's outcome"
          .. " (free some, then run again)"), s
      elseif limits > 0 then
        pause_confirmations(inbox, stored, limits, lerr)
      elseif waiting[stored.key] and (handled or why == "parked" or why == "gone") then
        waiting[stored.key], left = nil, left - 1
        if handled then s.handled = s.handled + 1 elseif why == "parked" then s.parked_now = s.parked_now + 1 end
      end
    elseif nerr then
      say("%s", nerr.message)
      core.sleep(1)
    end
  end
  inbox:close()
  if cerr then return nil, cerr, s end
  return s
end

local USAGE = [==[
usage: justclick serve [--listen HOST:PORT] [--inbox PATH] [--attempts N] [--timeout S]
                       [--connections N] [--secret-file PATH] [--no-confirm]
                       [--trust-proxy ADDR]... [--catch-up MINUTES [--days N]] SCRIPT
       justclick serve --inbox PATH --parked
       justclick serve --inbox PATH --replay KEY [--secret-file PATH] [--no-confirm] SCRIPT
  SCRIPT              returns function(event), or a table of them by event.kind
  --listen HOST:PORT  where to take JustClick's POSTs (default 127.0.0.1:8787): an IP
                      address ([::1]:8787 for IPv6), not a host name; port 0: a free one
  --inbox PATH        the SQLite store of every acknowledged event (default justclick-inbox)
  --attempts N        failed tries of an event (its handler's failures, and reads of
                      a bill not yet in its state) before it is parked (default 20,
                      about an hour of tries)
  --timeout S         seconds a client may take over its request (default 10,
                      at most 3600)
  --connections N     connections at once, at most (default 64; 1 to 1024)
  --secret-file PATH  the API key that signs notifications (else the secret of
                      SCRIPT's justclick.configure, else JUSTCLICK_SECRET)
  --no-confirm        hand events to the handler unconfirmed (warned at start). By
                      default each event's bill is read back (getOrderDetails) before
                      its handler, which gets it in event.confirmed: a bill of another
                      email is parked unhandled; one not in the event's state (paid
                      for paid, ...) or no bill is a failed try, tried again, then
                      parked; the request limit (code 8) pauses until it lifts.
                      (--confirm, the default now, is still taken)
  --trust-proxy ADDR  a proxy in front of the receiver, by IP address (repeatable): for its
                      connections the log names the client of X-Forwarded-For (the
                      right-most address that is not a trusted proxy); from any other
                      address the header is ignored
  --catch-up MINUTES  every MINUTES (the first at start), read the bills paid in the last
                      --days N days (default 3) from the API and hand over each one whose
                      payment the inbox lacks: its notification never came (justclick
                      catch-up --help). A payment is handled once, whichever way came first
  --parked            list the parked events (also while the receiver runs)
  --replay KEY        handle a stored event again, now, a handled one too (KEY all:
                      every parked event); stop the receiver first: it holds the inbox
  -h, --help          print this help
Every log line (stderr) begins "justclick serve: " and the time, ISO-8601 UTC. Exit status:
0 stopped by SIGTERM or Ctrl-C; 1 a failure, said in one line that names the flag or
variable to mend (justclick --verbose serve ...: and where it came from); 2 a usage error.
]==]

-- What the receiver takes (src/bind/receiver.c's JC_LISTEN_MAX_* and JC_MAX_TRUSTED): the
-- command line says so before anything opens.
local MAX_PORT, MAX_TIMEOUT, MAX_CONNECTIONS, MAX_TRUSTED = 65535, 3600, 1024, 16

-- Whether host can be an IP address: a dotted quad, or IPv6's hex digits and colons (the
-- receiver checks these exactly). A host name is not: the receiver resolves none.
local function ip_address(host)
  if host:find("^[%d.]+$") then
    local parts = 0
    for part in (host .. "."):gmatch("([^.]*)%.") do
      if not part:find("^0$") and not part:find("^[1-9]%d?%d?$") or tonumber(part) > 255 then return false end
      parts = parts + 1
    end
    return parts == 4
  end
  return host:find(":", 1, true) ~= nil and host:find("^[%x:.]+$") ~= nil
end

-- The whole numbers an option takes, from lo to hi: nil and the usage error naming it otherwise.
local RANGES = { ["--attempts"] = { 1 }, ["--timeout"] = { 1, MAX_TIMEOUT },
  ["--connections"] = { 1, MAX_CONNECTIONS }, ["--days"] = { 0, 3660 } }

-- The options `justclick catch-up` takes, of serve's, and its own --dry-run.
local CATCH_UP_FLAGS = { ["--inbox"] = true, ["--days"] = true, ["--attempts"] = true, ["--secret-file"] = true,
  ["--no-confirm"] = true, ["--confirm"] = true, ["--dry-run"] = true }

--- serve.parse_args(args [, command]) -> options | nil, the usage error naming the flag: the
-- command line of `justclick serve`, or with command "catch-up" of `justclick catch-up`.
function serve.parse_args(args, command)
  local o, i = {}, 1
  while args[i] do
    local a, v = args[i], nil
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    if name then a, v = name, inline end
    local function value()
      if v then return v end
      i = i + 1
      return args[i]
    end
    if a == "--help" or a == "-h" then
      return { help = true }
    elseif command == "catch-up" and a:sub(1, 2) == "--" and not CATCH_UP_FLAGS[a] then
      return nil, "unknown option " .. a
    elseif a == "--dry-run" and command == "catch-up" then
      o.dry_run = true
    elseif a == "--listen" then
      local host, port = (value() or ""):match("^%[?([^%]]*)%]?:(%d+)$")
      if not host then return nil, "--listen takes HOST:PORT" end
      if not ip_address(host) then
        return nil, ("--listen takes an IP address (127.0.0.1, [::1]), not '%s'"):format(host)
      end
      port = math.tointeger(tonumber(port))
      if not port or port > MAX_PORT then return nil, ("--listen takes a port from 0 to %d"):format(MAX_PORT) end
      o.host, o.port = host, port
    elseif a == "--inbox" then
      o.inbox = value()
    elseif a == "--trust-proxy" then -- repeatable; an address, checked as --listen's host is
      local addr = value() or ""
      addr = addr:match("^%[(.*)%]$") or addr
      if not ip_address(addr) then
        return nil, ("--trust-proxy takes an IP address (127.0.0.1, ::1), not '%s'"):format(addr)
      end
      o.trust_proxy = o.trust_proxy or {}
      o.trust_proxy[#o.trust_proxy + 1] = addr
      if #o.trust_proxy > MAX_TRUSTED then return nil, ("--trust-proxy: at most %d addresses"):format(MAX_TRUSTED) end
    elseif RANGES[a] then
      local lo, hi = RANGES[a][1], RANGES[a][2]
      local n = math.tointeger(tonumber(value() or ""))
      if not n or n < lo or (hi and n > hi) then
        return nil, hi and ("%s takes a whole number from %d to %d"):format(a, lo, hi)
          or ("%s takes a whole number of %d or more"):format(a, lo)
      end
      o[a:sub(3)] = n
    elseif a == "--catch-up" then -- minutes, a week at most: 0.5 is 30 s
      local given = value() or ""
      local minutes = tonumber(given)
      if not minutes or not (minutes > 0 and minutes <= 10080) or not given:find("^%d*%.?%d+$") then
        return nil, "--catch-up takes a number of minutes above 0, at most 10080 (a week)"
      end
      o.catch_up = minutes
    elseif a == "--secret-file" then
      o.secret_file = value()
    elseif a == "--confirm" then -- the default: kept for the command lines of before
      o.confirm = true
    elseif a == "--no-confirm" then
      o.confirm = false
    elseif a == "--parked" then
      o.parked = true
    elseif a == "--replay" then
      o.replay = value()
    elseif a:sub(1, 2) == "--" then
      return nil, "unknown option " .. a
    elseif o.script then
      return nil, "one SCRIPT"
    else
      o.script = a
    end
    i = i + 1
  end
  if command == "catch-up" then
    if not o.script and not o.dry_run then return nil, "no SCRIPT to hand the payments to" end
    return o
  end
  if not o.parked and not o.script then return nil, "no SCRIPT to handle the events" end
  if o.days and not o.catch_up then return nil, "--days is the span of --catch-up MINUTES" end
  return o
end

--- serve.failure_line(err) -> the line `justclick serve` (and catch-up) says for a failure: for
-- a shell user, who mends it with a flag or a variable (serve.run's own messages are a Lua
-- caller's).
function serve.failure_line(err)
  if err.missing then
    if #err.missing == 1 and err.missing[1] == "secret" then -- serve.run's: a user, and no secret
      return "no secret to verify notifications with: --secret-file PATH, or JUSTCLICK_SECRET"
    end
    return justclick._shell_unconfigured(err.missing)
  elseif err.inbox then
    return ("the inbox cannot be opened (--inbox %s): %s"):format(justclick._shell_quote(err.inbox), err.message)
  elseif err.listen then -- "stop what holds it" only where something does (not an address not the machine's)
    return err.message .. (err.in_use and ": stop what holds it, or" or ":")
      .. " choose another address with --listen HOST:PORT"
  end
  return err.message
end

--- serve.say(format, ...): a line of the log (stderr), stamped.
serve.say = say

--- serve.prepare(o, command) -> handler | nil, exit status: what `justclick serve` and `justclick
-- catch-up` (command) do before their work, with the options parse_args gave: the log's lines
-- begin "justclick COMMAND: " and the time; --secret-file is read (o.secret); the hints of the
-- log name the real paths; SCRIPT is loaded (false when there is none: a dry run). A failure is
-- said in one line: status 2 for the secret file, 1 for the script.
function serve.prepare(o, command)
  serve.log_name = "justclick " .. command
  if o.secret_file then
    local secret, problem = core.read_secret_file(o.secret_file) -- problem: a warning, or why there is none
    if problem then say("%s", problem.message or problem) end
    if not secret then return nil, 2 end
    justclick.set_defaults({ secret = secret })
    o.secret = secret
  end
  local host = host_options(command)
  hint.script, hint.secret_file = o.script, o.secret_file or host.secret_file
  hint.user, hint.api_url = host.user, host.api_url
  engine.log_prefix = stamp -- --verbose's line of each call is a line of this log too
  if not o.script then return false end
  local ok, handler = pcall(serve.load, o.script)
  if not ok then
    say("%s", tostring(handler))
    return nil, 1
  end
  return handler
end

--- serve.main(...): `justclick serve ...`; returns the exit status: 0, 1 on a failure, 2 for a
-- usage error.
function serve.main(...)
  local o, usage = serve.parse_args({ ... })
  if not o then
    io.stderr:write("justclick serve: ", justclick.visible(usage), "\n", USAGE)
    return 2
  end
  if o.help then io.stdout:write(USAGE) return 0 end -- `justclick -h` points here
  if o.parked then
    local inbox, err = open_inbox(o.inbox or "justclick-inbox", "r")
    if not inbox then
      if err.kind == "io" then err.inbox = o.inbox or "justclick-inbox" end -- named as serve's own failure is
      say("%s", serve.failure_line(err))
      return 1
    end
    for _, p in ipairs(inbox:parked()) do print(("%s\t%d failures"):format(p.key, p.attempts)) end
    inbox:close()
    return 0
  end
  local handler, status = serve.prepare(o, "serve")
  if not handler then return status end
  local done, err
  if o.replay then
    done, err = serve.replay(handler, o.replay, { inbox = o.inbox, attempts = o.attempts, confirm = o.confirm })
  else
    -- the secret: --secret-file, else the script's justclick.configure, else JUSTCLICK_SECRET
    done, err = justclick.serve(handler, { secret = o.secret, inbox = o.inbox, host = o.host, port = o.port,
      attempts = o.attempts, timeout = o.timeout, connections = o.connections, confirm = o.confirm,
      trust_proxy = o.trust_proxy, catch_up = o.catch_up, days = o.days })
  end
  if not done then -- one line, naming the flag or variable to mend
    say("%s", serve.failure_line(err))
    if justclick._verbose() then
      io.stderr:write(debug.traceback("--verbose: " .. justclick._error_fields(err), 1), "\n")
    end
    return 1
  end
  return 0
end

return serve
