-- `justclick serve`: the receiver as a shop runs it, a subprocess on a free port. Every verified
-- notification is stored before its 200 and handled; nothing acknowledged is lost to kill -9;
-- forgeries, oversized, slow and wrong requests are refused; a failing handler is retried, then
-- parked, then replayed; SIGTERM lets the handler in progress finish.
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local core = require "justclick.core"
local cjson = require "cjson"
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"
local serving = require "support.serving"

local SECRET = "serve-secret-0123456789"

-- A signed notification body: a paid one for bill id, unless kind says otherwise (new_order:
-- no paid, signed with created).
local function notification(id, kind)
  local new = kind == "new_order"
  local time = new and "2026-11-23 09:00:00" or "2026-11-23 10:00:00"
  local fields = ("id=%d&email=buyer%%40example.com&%s=%s&items%%5B0%%5D%%5Bid%%5D=invoice&items%%5B0%%5D%%5Bsum%%5D=1500")
    :format(id, new and "created" or "paid", time:gsub(" ", "+"):gsub(":", "%%3A"))
  if new then fields = fields .. "&status=new_order" else fields = fields .. "&last_payment_sum=1500" end
  return fields .. "&hash=" .. md5(id .. "buyer@example.com" .. time .. SECRET)
end

local Server = {}
Server.__index = Server
local running = {} -- servers to stop when a spec ends, whatever happened in it

-- Starts `justclick serve` with a handler script (Lua source) in dir; waits until it listens.
-- env: more assignments for its environment (JUSTCLICK_API_URL=..., say). Without env there is
-- no API to confirm events against: it runs with --no-confirm, the receiver alone.
local function start(dir, handler, options, secret, env)
  if not env then options = "--no-confirm " .. (options or "") end
  local script = dir .. "/handler.lua"
  files.write(script, handler)
  local self = setmetatable({ dir = dir, log = dir .. "/serve.log", inbox = dir .. "/inbox" }, Server)
  local cmd = ("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s HANDLED=%s/handled %s %s serve --listen 127.0.0.1:0 --inbox %s %s %s >> %s 2>&1")
    :format(secret or SECRET, dir, env or "", importing.HOST, self.inbox, options or "", script, self.log)
  self.pid, self.url = serving.launch(cmd, dir, self.log, running)
  self.session = core.session({ timeout = 10 })
  return self
end

function Server:post(body, path)
  return self.session:post(self.url .. (path or "/notify"), body)
end

-- Waits until the handled file has n lines (or the time runs out); returns its lines.
function Server:handled(n, seconds)
  local deadline = core.now() + (seconds or 10)
  local lines
  repeat
    lines = {}
    for line in (files.read(self.dir .. "/handled") or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
    if #lines >= n then break end
    core.sleep(0.05)
  until core.now() > deadline
  return lines
end

-- Sends the signal and waits for the end: the exit status.
function Server:signal(sig)
  os.execute(("kill -%s %d"):format(sig, self.pid))
  local deadline, status = core.now() + 10
  repeat
    status = tonumber(files.read(self.dir .. "/status") or "")
    if not status then core.sleep(0.02) end
  until status or core.now() > deadline
  if self.session then self.session:close() end
  os.remove(self.dir .. "/pid")
  return status
end

-- A handler that appends "kind id key attempt" to $HANDLED, after `pause` seconds; bills in
-- `fail` make it fail (return nil and an error), `raise` makes it raise.
local function handler(opts)
  opts = opts or {}
  return ([[
local fail, pause = %s, %s
return function(event)
  if pause > 0 then
    local f = io.open(os.getenv("HANDLED") .. ".start", "a") f:write(event.key, "\n") f:close()
    require("justclick.core").sleep(pause)
  end
  if fail[event.id] == "raise" then error("boom " .. event.id) end
  if fail[event.id] then return nil, "cannot grant " .. event.id end
  local f = io.open(os.getenv("HANDLED"), "a")
  f:write(("%%s %%d %%s %%d\n"):format(event.kind, event.id, event.key, event.attempt))
  f:close()
  return true
end]]):format(opts.fail or "{}", opts.pause or 0)
end

describe("justclick serve #lua54", function()
  local dir
  before_each(function() dir = importing.tmpdir() end)
  after_each(function()
    for _, pid in ipairs(running) do os.execute(("kill -KILL %d 2>/dev/null"):format(pid)) end
    running = {}
    os.execute("rm -rf " .. dir)
  end)

  it("stores a verified notification before its 200, handles it once, and acknowledges a resend", function()
    local s = start(dir, handler())
    assert.are.equal(200, (s:post(notification(100001))))
    assert.are.equal(200, (s:post(notification(100001)))) -- sent again: acknowledged, not handled again
    assert.are.equal(200, (s:post(notification(100002, "new_order"))))
    s:handled(2)
    core.sleep(0.3) -- time enough for a second handling of the resend, were there one
    local lines = s:handled(3, 0.1)
    assert.are.equal(2, #lines, table.concat(lines, "\n"))
    assert.is_truthy(lines[1]:find("^paid 100001 paid%-100001%-%x+ 1$"), lines[1])
    assert.is_truthy(lines[2]:find("^new_order 100002 "), lines[2])
    assert.are.equal(400, (s:post("", "/health"))) -- health is a GET; a POST is a notification
    local status, health = shell.run(("curl -s %s/health"):format(s.url))
    assert.are.equal(0, status)
    assert.are.same({ stored = 2, handled = 2, parked = 0, pending = 0 }, cjson.decode(health))
    s:signal("TERM")
    local log = files.read(s.log)
    assert.is_truthy(log:find("127.0.0.1 paid 100001 200 %d+ms"), log)
    assert.is_falsy(log:find(SECRET, 1, true), log)
    -- run with --no-confirm (start: no API here), which the log says at the start
    assert.is_truthy(log:find("^justclick serve: %S+ WARNING: events go to the handler unconfirmed %(%-%-no%-confirm%)"),
      log)
  end)

  it("verifies with the secret the script configured, when no --secret-file or JUSTCLICK_SECRET gives one", function()
    local script = dir .. "/handler.lua"
    files.write(script, ("require('justclick').configure{ user = 'demo', secret = %q }\n"):format(SECRET)
      .. handler():gsub("^\n", ""))
    local log = dir .. "/serve.log"
    local cmd = ("env -u JUSTCLICK_SECRET JUSTCLICK_USER=demo HANDLED=%s/handled %s serve --no-confirm --listen 127.0.0.1:0"
      .. " --inbox %s/inbox %s >> %s 2>&1"):format(dir, importing.HOST, dir, script, log)
    local s = setmetatable({ dir = dir, log = log }, Server)
    s.pid, s.url = serving.launch(cmd, dir, log, running)
    s.session = core.session({ timeout = 10 })
    local forged = notification(100001):gsub("hash=%x+", "hash=" .. ("0"):rep(32))
    assert.are.equal(403, (s:post(forged)))
    assert.are.equal(200, (s:post(notification(100001))))
    local lines = s:handled(1)
    assert.are.equal(1, #lines, files.read(log))
    assert.are.equal(0, s:signal("TERM"))
    assert.is_falsy(files.read(log):find(SECRET, 1, true))
  end)

  it("refuses forged, malformed, oversized and non-POST requests, and stores none", function()
    local s = start(dir, handler())
    local forged = notification(100001):gsub("hash=%x+", "hash=" .. ("0"):rep(32))
    assert.are.equal(403, (s:post(forged)))
    assert.are.equal(403, (s:post((notification(100001):gsub("&hash=%x+", "")))))
    assert.are.equal(400, (s:post("hello=world")))
    assert.are.equal(413, (s:post(("a"):rep(70000))))
    local _, out = shell.run(("curl -s -o /dev/null -w '%%{http_code}' -X PUT %s/"):format(s.url))
    assert.are.equal("405", out)
    _, out = shell.run(("curl -s -o /dev/null -w '%%{http_code}' -H 'Content-Type: application/json' -d '{}' %s/")
      :format(s.url))
    assert.are.equal("415", out)
    core.sleep(0.2)
    s:signal("TERM")
    assert.are.equal(0, #s:handled(0, 0))
    assert.are.equal("0\n", select(2, shell.run(("sqlite3 %s 'select count(*) from events'"):format(s.inbox))))
    local log = files.read(s.log)
    assert.is_truthy(log:find(" forged %- 403 "), log)
    assert.is_truthy(log:find(" malformed %- 400 "), log)
    assert.is_truthy(log:find(" too%-large %- 413 "), log)
  end)

  it("cuts off a client that sends too slowly", function()
    local s = start(dir, handler(), "--timeout 1")
    -- The body trickles in: a part, then nothing for 3 s (curl streams stdin as it comes). The
    -- server has hung up by then: the rest finds no one, and no answer comes.
    local _, out = shell.run(("(printf 'id=100001&'; sleep 3; printf 'email=x') | curl -s -m 20 -X POST "
      .. "-H 'Content-Type: application/x-www-form-urlencoded' -H 'Expect:' -T - -w 'curl %%{exitcode} %%{http_code}' %s/notify")
      :format(s.url))
    local code, status = out:match("curl (%d+) (%d+)")
    assert.are_not.equal("0", code, out)
    assert.are.equal("000", status, out)
    s:signal("TERM")
  end)

  it("loses nothing it acknowledged to kill -9, right after the 200 or inside a handler", function()
    local s = start(dir, handler({ pause = 1.5 }))
    for id = 100001, 100005 do assert.are.equal(200, (s:post(notification(id)))) end
    -- Killed while the first handler sleeps: the other four were only stored.
    s:signal("KILL")
    assert.are.equal(0, #s:handled(0, 0))
    local again = start(dir, handler())
    local lines = again:handled(5)
    assert.are.equal(5, #lines, table.concat(lines, "\n"))
    again:signal("TERM")
    -- Handled at least once: the one inside the handler at the kill, exactly once the others.
    local seen = {}
    for _, line in ipairs(lines) do seen[line:match("^paid (%d+)")] = true end
    for id = 100001, 100005 do assert.is_true(seen[tostring(id)], "lost " .. id) end
  end)

  it("retries a failing handler, parks the event, lists it and replays it", function()
    local s = start(dir, handler({ fail = "{ [100002] = true, [100003] = 'raise' }" }), "--attempts 2")
    for id = 100001, 100003 do assert.are.equal(200, (s:post(notification(id)))) end
    assert.are.equal(1, #s:handled(1))
    local deadline = core.now() + 10
    while not (files.read(s.log) or ""):find("parked paid%-100003") and core.now() < deadline do core.sleep(0.1) end
    s:signal("TERM")
    local log = files.read(s.log)
    assert.is_truthy(log:find("handler failed on paid%-100002%-%x+ %(try 1%): cannot grant 100002"), log)
    assert.is_truthy(log:find("parked paid%-100002%-%x+ after 2 failures"), log)
    assert.is_truthy(log:find("parked paid%-100003%-%x+ after 2 failures: [^\n]*boom 100003"), log)
    -- issue 19: the hint is the command to run, with this receiver's real inbox and script (it
    -- printed PATH and SCRIPT); and every line of the log says when, as the request lines do
    local real = require("justclick.core").realpath
    local hint = log:match("parked paid%-100002%-%x+ after[^\n]*replay it with: ([^\n]*)")
    -- (with --no-confirm, as this receiver ran: the replay would confirm, against no API)
    assert.truthy(hint and hint:find(("^justclick serve %%-%%-no%%-confirm %%-%%-inbox %s %%-%%-replay paid%%-100002%%-%%x+ %s$"):format(
      real(s.inbox):gsub("%p", "%%%0"), real(dir .. "/handler.lua"):gsub("%p", "%%%0"))), log)
    for line in log:gmatch("[^\n]+") do
      assert.truthy(line:find("^justclick serve: %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ "), line)
    end
    local status, out = shell.run(("%s serve --inbox %s --parked"):format(importing.HOST, s.inbox))
    assert.are.equal(0, status, out)
    local key = out:match("(paid%-100002%-%x+)\t2 failures")
    assert.is_string(key, out)
    -- Fixed, the handler takes it again.
    files.write(dir .. "/handler.lua", handler())
    -- the hint as printed, run from elsewhere
    assert.are.equal(key, hint:match("%-%-replay (%S+)"))
    status, out = shell.run(("cd / && JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s HANDLED=%s/handled %s")
      :format(SECRET, dir, hint:gsub("^justclick", importing.HOST)))
    assert.are.equal(0, status, out)
    local lines = s:handled(2, 1)
    assert.is_truthy(lines[2]:find("^paid 100002 " .. key:gsub("%-", "%%-") .. " 1$"), table.concat(lines, "\n"))
  end)

  it("puts the host's own --user, --api-url and --secret-file in the parked hint", function()
    -- given before `serve`, they configure the receiver: the replay needs them as much
    local secret_file = dir .. "/my secret"
    files.write(secret_file, SECRET .. "\n")
    os.execute(("chmod 600 '%s'"):format(secret_file))
    local script = dir .. "/handler.lua"
    files.write(script, "return function() return false end\n")
    local log = dir .. "/hint.log"
    local cmd = ("env -u JUSTCLICK_USER -u JUSTCLICK_SECRET -u JUSTCLICK_API_URL %s --user demo --api-url"
      .. " http://127.0.0.1:9/api --secret-file '%s' serve --no-confirm --attempts 1 --listen 127.0.0.1:0"
      .. " --inbox %s/inbox %s >> %s 2>&1"):format(importing.HOST, secret_file, dir, script, log)
    local pid, url = serving.launch(cmd, dir, log, running)
    local status = core.session({ timeout = 10 }):post(url .. "/notify", notification(100007))
    assert.are.equal(200, status)
    local deadline = core.now() + 10
    while not (files.read(log) or ""):find("parked paid%-100007") and core.now() < deadline do core.sleep(0.1) end
    os.execute("kill -TERM " .. pid)
    deadline = core.now() + 10 -- gone, before after_each removes its directory
    while sandbox.alive(pid) and core.now() < deadline do core.sleep(0.05) end
    local said = files.read(log)
    local hint = said:match("replay it with: ([^\n]*)")
    assert.is_string(hint, said)
    local real = require("justclick.core").realpath
    assert.is_truthy(hint:find("^justclick %-%-user demo %-%-api%-url http://127%.0%.0%.1:9/api serve %-%-no%-confirm "), hint)
    assert.is_truthy(hint:find("--secret-file '" .. real(secret_file) .. "' ", 1, true), hint)
  end)

  it("lets the handler in progress finish on SIGTERM, and exits 0", function()
    local s = start(dir, handler({ pause = 1 }))
    assert.are.equal(200, (s:post(notification(100001))))
    local deadline = core.now() + 5
    while not files.read(dir .. "/handled.start") and core.now() < deadline do core.sleep(0.02) end
    os.execute(("kill -TERM %d"):format(s.pid))
    core.sleep(0.2)
    -- Stopping: what comes now is not taken (the sender sends it again later), nor stored.
    assert.are.equal(503, (s:post(notification(100002))))
    assert.are.equal(0, s:signal("0")) -- no second signal (that one ends it at once): waits for the end
    assert.are.equal(1, #s:handled(1, 0))
    assert.is_truthy(files.read(s.log):find("justclick serve: %S+ stopped\n"))
    local _, keys = shell.run(("sqlite3 %s 'select key from events'"):format(s.inbox))
    assert.is_truthy(keys:find("paid-100001", 1, true), keys)
    assert.is_falsy(keys:find("paid-100002", 1, true), keys)
  end)

  -- Starts the receiver until the log says `pattern`, each time the process ends (at most n
  -- starts); returns the last server and how many starts it took.
  local function start_until(pattern, n, handler_source, options, previous)
    local s = previous
    for i = 1, n do
      local ended = core.now() + 10
      while sandbox.alive(s.pid) and core.now() < ended do core.sleep(0.05) end
      s = start(dir, handler_source, options)
      local deadline = core.now() + 8
      repeat
        if (files.read(s.log) or ""):find(pattern) then return s, i end
        core.sleep(0.05)
      until not sandbox.alive(s.pid) or core.now() > deadline
    end
    error("never logged " .. pattern .. ":\n" .. (files.read(dir .. "/serve.log") or ""))
  end

  it("counts a handler that ends the process as a failed try, parks its event, and handles the rest", function()
    local source = handler():gsub("return function%(event%)", [[return function(event)
  if event.id == 100001 then require("justclick.core").sleep(0.2) os.exit(3) end]])
    local s = start(dir, source, "--attempts 2")
    assert.are.equal(200, (s:post(notification(100002))))
    assert.are.equal(200, (s:post(notification(100001))))
    -- Each start tries 100001 (and dies) once it is due; the second crash parks it.
    local last, starts = start_until("parked paid%-100001%-%x+ after 2 failures", 4, source, "--attempts 2", s)
    assert.is_true(starts <= 3, "starts: " .. starts)
    local lines = last:handled(1)
    assert.are.equal(0, last:signal("TERM"))
    assert.are.equal(1, #lines, table.concat(lines, "\n"))
    assert.is_truthy(lines[1]:find("^paid 100002 "), lines[1])
    assert.is_truthy(files.read(last.log):find("the process ended during try 1 of its handler", 1, true))
  end)

  it("survives a handler that writes to a pipe whose reader is gone: the try fails, the process lives", function()
    local source = handler():gsub("return function%(event%)", [[return function(event)
  if event.id == 100001 and event.attempt == 1 then
    local p = io.popen("exit 0", "w")
    require("justclick.core").sleep(0.2)
    local ok, err = p:write(("x"):rep(1 << 20))
    if ok then ok, err = p:flush() end
    p:close()
    if not ok then return nil, err end
  end]])
    local s = start(dir, source)
    assert.are.equal(200, (s:post(notification(100001))))
    local lines = s:handled(1)
    assert.are.equal(0, s:signal("TERM"))
    assert.are.equal(1, #lines, files.read(s.log))
    assert.is_truthy(lines[1]:find("^paid 100001 %S+ 2$"), lines[1])
    assert.is_truthy(files.read(s.log):find("handler failed on paid%-100001%-%x+ %(try 1%): Broken pipe"), files.read(s.log))
  end)

  it("takes false, and nil with an error, as failures; hides the secret and survives errors that cannot be shown", function()
    local source = handler():gsub("return function%(event%)", [[return function(event)
  if event.attempt == 1 then
    if event.id == 100001 then return false, "not now" end
    if event.id == 100002 then return false end
    if event.id == 100003 then error("the key is " .. os.getenv("JUSTCLICK_SECRET")) end
    if event.id == 100004 then error(setmetatable({}, { __tostring = function() error("no text") end })) end
  end]])
    local s = start(dir, source)
    for id = 100001, 100004 do assert.are.equal(200, (s:post(notification(id)))) end
    local lines = s:handled(4)
    assert.are.equal(0, s:signal("TERM"))
    assert.are.equal(4, #lines, files.read(s.log))
    for _, line in ipairs(lines) do assert.is_truthy(line:find(" 2$"), line) end
    local log = files.read(s.log)
    assert.is_truthy(log:find("%(try 1%): not now"), log)
    assert.is_truthy(log:find("%(try 1%): the handler returned false"), log)
    assert.is_truthy(log:find("%(try 1%): %(not shown: it held the secret%)"), log)
    assert.is_truthy(log:find("%(try 1%): %(an error that cannot be written as text%)"), log)
    assert.is_falsy(log:find(SECRET, 1, true), log)
  end)

  it("handles what it acknowledged after the API key changes", function()
    local s = start(dir, handler({ fail = "{ [100001] = true }" }))
    assert.are.equal(200, (s:post(notification(100001))))
    local deadline = core.now() + 5
    while not (files.read(s.log) or ""):find("handler failed on paid%-100001") and core.now() < deadline do
      core.sleep(0.05)
    end
    assert.are.equal(0, s:signal("TERM"))
    local again = start(dir, handler(), nil, "a-new-api-key-0123456789")
    local lines = again:handled(1)
    assert.are.equal(0, again:signal("TERM"))
    assert.are.equal(1, #lines, files.read(again.log))
    assert.is_truthy(lines[1]:find("^paid 100001 "), lines[1])
  end)

  it("lists parked events while the receiver runs, refuses a missing inbox, and replays them all", function()
    local s = start(dir, handler({ fail = "{ [100001] = true, [100002] = true }" }), "--attempts 1")
    for id = 100001, 100003 do assert.are.equal(200, (s:post(notification(id)))) end
    assert.are.equal(1, #s:handled(1))
    local status, out
    local deadline = core.now() + 5
    repeat
      status, out = shell.run(("%s serve --inbox %s --parked"):format(importing.HOST, s.inbox))
      if select(2, out:gsub("failures", "")) == 2 then break end
      core.sleep(0.1)
    until core.now() > deadline
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("paid%-100001%-%x+\t1 failures"), out)
    assert.is_truthy(out:find("paid%-100002%-%x+\t1 failures"), out)
    status, out = shell.run(("%s serve --inbox %s/no-such-inbox --parked"):format(importing.HOST, dir))
    assert.are.equal(1, status, out)
    assert.is_nil(files.read(dir .. "/no-such-inbox"), "a mistyped path made an inbox")
    assert.are.equal(0, s:signal("TERM"))
    files.write(dir .. "/handler.lua", handler())
    status, out = shell.run(("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s HANDLED=%s/handled %s serve --no-confirm --inbox %s --replay all %s/handler.lua")
      :format(SECRET, dir, importing.HOST, s.inbox, dir))
    assert.are.equal(0, status, out)
    assert.are.equal(3, #s:handled(3, 1))
    status, out = shell.run(("%s serve --inbox %s --parked"):format(importing.HOST, s.inbox))
    assert.are.equal(0, status, out)
    assert.are.equal("", out)
  end)

  it("lets a handler's read go on through SIGTERM, and ends at once on a second signal", function()
    local source = handler():gsub("return function%(event%)", [[return function(event)
  local f = io.open(os.getenv("HANDLED") .. ".start", "a") f:write(event.key, "\n") f:close()
  if event.id == 100001 then
    local out = io.popen("sleep 1; echo done"):read("*a")
    if out ~= "done\n" then return nil, "the read was cut: " .. tostring(out) end
  else
    require("justclick.core").sleep(60)
  end]])
    local s = start(dir, source)
    assert.are.equal(200, (s:post(notification(100001))))
    local deadline = core.now() + 5
    while not files.read(dir .. "/handled.start") and core.now() < deadline do core.sleep(0.02) end
    assert.are.equal(0, s:signal("TERM"))
    assert.are.equal(1, #s:handled(1, 0), files.read(s.log))
    -- A handler that will not end: the second SIGTERM ends the process, 128 + 15.
    local again = start(dir, source)
    assert.are.equal(200, (again:post(notification(100002))))
    deadline = core.now() + 5
    while not (files.read(dir .. "/handled.start") or ""):find("100002") and core.now() < deadline do core.sleep(0.02) end
    os.execute(("kill -TERM %d"):format(again.pid))
    core.sleep(0.3)
    local started = core.now()
    assert.are.equal(143, again:signal("TERM"))
    assert.is_true(core.now() - started < 3)
  end)

  it("reads each bill back (--confirm, the default, still taken): a body whose id and email were recut is refused unhandled", function()
    local sb = sandbox.start()
    local ok, failure = pcall(function()
      local client = sb:client()
      local a = assert(client:create_order({ bill_email = "ann@example.com", goods = { { good_name = "course" } } })).bill_id
      local b = assert(client:create_order({ bill_email = "bob@example.com", goods = { { good_name = "course" } } })).bill_id
      for _, id in ipairs({ a, b }) do assert(client:update_order_status(id, "paid", { date = os.time() })) end
      local function signed(id, email)
        local paid = "2026-11-23 10:00:00"
        return ("id=%s&email=%s&paid=2026-11-23+10%%3A00%%3A00&last_payment_sum=1500&hash=%s"):format(id,
          email:gsub("@", "%%40"), md5(id .. email .. paid .. sandbox.secret))
      end
      local source = handler():gsub("  return true\nend$", [[
  f = io.open(os.getenv("HANDLED"), "a") f:write("confirmed ", event.confirmed.email, "\n") f:close()
  return true
end]])
      local s = start(dir, source, "--confirm", sandbox.secret,
        ("JUSTCLICK_USER=%s JUSTCLICK_API_URL=%s"):format(sandbox.user, sb.api_url))
      local id = tostring(a)
      assert.are.equal(200, (s:post(signed(a, "ann@example.com"))))
      -- the same hash: the id's last digit moved onto the email; and a bill of another email
      assert.are.equal(200, (s:post(signed(id:sub(1, -2), id:sub(-1) .. "ann@example.com"))))
      assert.are.equal(200, (s:post(signed(b, "ann@example.com"))))
      local recut = "paid%-" .. id:sub(1, -2) .. "%-%x+"
      local deadline = core.now() + 10
      repeat
        local log = files.read(s.log) or ""
        if log:find("refused ") and log:find("handler failed on " .. recut) then break end
        core.sleep(0.05)
      until core.now() > deadline
      local lines = s:handled(2, 1)
      assert.are.equal(0, s:signal("TERM"))
      assert.are.equal(2, #lines, files.read(s.log))
      assert.is_truthy(lines[1]:find("^paid " .. a .. " "), lines[1])
      assert.are.equal("confirmed ann@example.com", lines[2])
      local log = files.read(s.log)
      assert.is_falsy(log:find("WARNING", 1, true), log)
      -- A bill of another email is a forgery, or a bill whose email was changed since: parked
      -- unhandled at once, for a person. No bill at all may be one deleted since: not handled,
      -- but tried again, then parked.
      assert.is_truthy(log:find("refused paid%-" .. b .. "%-%x+ without its handler: [^\n]*another email"), log)
      assert.is_truthy(log:find("parked paid%-" .. b .. "%-%x+ after 1 failures: refused: [^\n]*another email"), log)
      assert.is_truthy(log:find("handler failed on " .. recut .. " %(try 1%): [^\n]*[Nn]ot found"), log)
      assert.is_falsy(log:find("refused " .. recut), log)
    end)
    sb:stop()
    assert(ok, failure)
  end)

  -- Waits until the log holds `pattern` or `stop` says to stop waiting; returns the log.
  local function log_until(s, pattern, stop, seconds)
    local deadline, log = core.now() + (seconds or 20)
    repeat
      log = files.read(s.log) or ""
      if log:find(pattern) or (stop and stop()) then break end
      core.sleep(0.05)
    until core.now() > deadline
    return log
  end

  -- A new_order body as the sandbox sent it, made into a payment without the secret: its status
  -- dropped, and paid set to its created. The hash signs id . email . created; read as a
  -- payment's, id . email . paid, it is the same text.
  local function forged_payment(new_order_body)
    local created = assert(new_order_body:match("[?&]?created=([^&]*)"), new_order_body)
    return (new_order_body:gsub("&status=new_order", ""):gsub("&paid=[^&]*", "")) .. "&paid=" .. created
  end

  it("does not hand a new order's body made into a payment to the handler", function()
    local sb = sandbox.start()
    local ok, failure = pcall(function()
      local s = start(dir, handler(), "--attempts 2", sandbox.secret,
        ("JUSTCLICK_USER=%s JUSTCLICK_API_URL=%s"):format(sandbox.user, sb.api_url))
      sb:notify({ url = s.url .. "/justclick/notify", events = "new_order" })
      local client = sb:client()
      local id = assert(client:create_order({ bill_email = "thief@example.com", goods = { { good_name = "course" } } })).bill_id
      local list = sb:settle()
      assert.are.equal(200, list.notifications[1].last_status, files.read(s.log))
      assert.are.equal(1, #s:handled(1))
      local forged = forged_payment(list.notifications[1].body)
      assert.are.equal(200, (s:post(forged, "/justclick/notify"))) -- its hash verifies: stored
      local function paid_handled()
        for _, line in ipairs(s:handled(0, 0)) do
          if line:find("^paid ") then return true end
        end
      end
      local log = log_until(s, "parked paid%-" .. id, paid_handled)
      local lines = s:handled(0, 0)
      assert.are.equal(0, s:signal("TERM"))
      assert.are.equal(1, #lines, table.concat(lines, "\n") .. "\n" .. log)
      assert.is_truthy(lines[1]:find("^new_order " .. id .. " "), lines[1])
      -- tried again (JustClick's reads may lag its notifications), then parked with the reason
      assert.is_truthy(log:find("handler failed on paid%-" .. id .. "%-%x+ %(try 1%): not confirmed: [^\n]*waiting"), log)
      assert.is_truthy(log:find("parked paid%-" .. id .. "%-%x+ after 2 failures: not confirmed: [^\n]*is waiting"
        .. " with 5000%.?0* left to pay, not paid"), log)
      assert.are.equal("waiting", assert(client:order_details(id)).pay_status)
    end)
    sb:stop()
    assert(ok, failure)
  end)

  -- A paid notification of bill id and email, as JustClick signs it (paid: a unix time).
  local function paid_body(id, email, paid)
    local when = sandbox.server_time(paid)
    return ("id=%d&email=%s&paid=%s&last_payment_sum=990&hash=%s"):format(id, email:gsub("@", "%%40"),
      when:gsub(" ", "+"):gsub(":", "%%3A"), md5(id .. email .. when .. sandbox.secret))
  end

  it("tries a payment again until JustClick shows the bill paid, then examples/on_paid.lua grants it once", function()
    local sb = sandbox.start()
    local ok, failure = pcall(function()
      local s = start(dir, files.read("examples/on_paid.lua"), nil, sandbox.secret,
        ("JUSTCLICK_USER=%s JUSTCLICK_API_URL=%s ACCESS_FILE=%s/access.txt"):format(sandbox.user, sb.api_url, dir))
      local client = sb:client()
      local id = assert(client:create_order({ bill_email = "slow@example.com", goods = { { good_name = "sales" } } })).bill_id
      local paid = os.time()
      -- A kind the script has no function for is not confirmed: nothing to act on, no API read.
      local created = assert(client:order_details(id)).created
      assert.are.equal(200, (s:post(("id=%d&email=slow%%40example.com&created=%s&status=cancel_order&hash=%s")
        :format(id, created:gsub(" ", "+"):gsub(":", "%%3A"), md5(id .. "slow@example.com" .. created .. sandbox.secret)))))
      local deadline = core.now() + 20
      repeat
        local _, health = shell.run(("curl -s %s/health"):format(s.url))
        local done = (cjson.decode(health) or {}).handled == 1
        if not done then core.sleep(0.05) end
      until done or core.now() > deadline
      assert.is_falsy((files.read(s.log) or ""):find("cancel_order%-" .. id), files.read(s.log))
      -- The notification comes before JustClick's reads show the payment.
      assert.are.equal(200, (s:post(paid_body(id, "slow@example.com", paid))))
      local log = log_until(s, "handler failed on paid%-" .. id .. "%-%x+ %(try 1%)")
      assert.is_truthy(log:find("%(try 1%): not confirmed: [^\n]*waiting"), log)
      assert.is_nil(files.read(dir .. "/access.txt"), "granted before the bill was paid")
      assert(client:update_order_status(id, "paid", { date = paid }))
      local access = dir .. "/access.txt"
      deadline = core.now() + 20
      while not files.read(access) and core.now() < deadline do core.sleep(0.05) end
      -- a resend now: the same key, acknowledged and not handled again
      assert.are.equal(200, (s:post(paid_body(id, "slow@example.com", paid))))
      -- the same payment with another paid time (a resend written otherwise, or a body remade
      -- from a captured one): another key, confirmed, handled; and no second grant
      assert.are.equal(200, (s:post(paid_body(id, "slow@example.com", paid + 61))))
      deadline = core.now() + 20
      local handled
      repeat
        local _, health = shell.run(("curl -s %s/health"):format(s.url))
        handled = (cjson.decode(health) or {}).handled
        if handled ~= 3 then core.sleep(0.05) end
      until handled == 3 or core.now() > deadline
      assert.are.equal(3, handled, files.read(s.log)) -- the cancel_order and both payments
      assert.are.equal(0, s:signal("TERM"))
      local lines = {}
      for line in (files.read(access) or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.are.equal(1, #lines, files.read(s.log))
      assert.is_truthy(lines[1]:find("^paid%-" .. id .. "%-%x+\tslow@example%.com\tsales$"), lines[1])
      assert.is_falsy(files.read(s.log):find("parked paid", 1, true))
    end)
    sb:stop()
    assert(ok, failure)
  end)

  -- The hash signs id . email . paid, not the sums, while the key digests the sums too: a
  -- payment's body seen once (a log, a proxy, a mail of the raw POST), sent again with another
  -- last_payment_sum or a bill_sum_topay added, is a new event whose bill the API shows paid.
  -- The key of a cancellation is known from the new order's body: the same fields, its status
  -- cancel_order, the same created. Posted ahead of the real one, the forgery is tried, refused by
  -- the API (the bill waits) and parked; the real cancellation then comes with that key.
  it("handles a real cancellation whose key a forgery posted ahead of it took", function()
    local sb = sandbox.start()
    local ok, failure = pcall(function()
      local s = start(dir, handler(), "--attempts 1", sandbox.secret,
        ("JUSTCLICK_USER=%s JUSTCLICK_API_URL=%s"):format(sandbox.user, sb.api_url))
      sb:notify({ url = s.url .. "/justclick/notify", events = "new_order,cancel_order" })
      local client = sb:client()
      local id = assert(client:create_order({ bill_email = "undo@example.com", goods = { { good_name = "course" } } })).bill_id
      local list = sb:settle()
      assert.are.equal(1, #s:handled(1))
      local forged = list.notifications[1].body:gsub("status=new_order", "status=cancel_order")
      assert.are.equal(200, (s:post(forged, "/justclick/notify")))
      log_until(s, "parked cancel_order%-" .. id)
      assert(client:update_order_status(id, "cancel"))
      sb:settle()
      local lines = s:handled(2, 5)
      local log = files.read(s.log)
      assert.are.equal(0, s:signal("TERM"))
      assert.are.equal(2, #lines, table.concat(lines, "\n") .. "\n" .. log)
      assert.is_truthy(lines[2]:find("^cancel_order " .. id .. " "), lines[2])
    end)
    sb:stop()
    assert(ok, failure)
  end)

  it("examples/on_paid.lua grants a payment once, whatever sums a captured body is sent again with", function()
    local sb = sandbox.start()
    local ok, failure = pcall(function()
      local s = start(dir, files.read("examples/on_paid.lua"), nil, sandbox.secret,
        ("JUSTCLICK_USER=%s JUSTCLICK_API_URL=%s ACCESS_FILE=%s/access.txt"):format(sandbox.user, sb.api_url, dir))
      local client = sb:client()
      local id = assert(client:create_order({ bill_email = "once@example.com", goods = { { good_name = "sales" } } })).bill_id
      local paid = os.time()
      assert(client:update_order_status(id, "paid", { date = paid }))
      local body = paid_body(id, "once@example.com", paid)
      assert.are.equal(200, (s:post(body)))
      local bodies = { body:gsub("last_payment_sum=990", "last_payment_sum=991"),
        (body:gsub("&hash=", "&bill_sum_topay=0&hash=")), (body:gsub("last_payment_sum=990", "last_payment_sum=0")) }
      for _, replay in ipairs(bodies) do assert.are.equal(200, (s:post(replay))) end
      local deadline = core.now() + 20
      repeat
        local _, health = shell.run(("curl -s %s/health"):format(s.url))
        local h = cjson.decode(health) or {}
        local done = h.stored and h.pending == 0
        if not done then core.sleep(0.05) end
      until done or core.now() > deadline
      assert.are.equal(0, s:signal("TERM"))
      local lines = {}
      for line in (files.read(dir .. "/access.txt") or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.are.equal(1, #lines, files.read(dir .. "/access.txt") or "")
    end)
    sb:stop()
    assert(ok, failure)
  end)

  it("pauses confirmations under the request limit (code 8) without counting a try, and goes on once it lifts", function()
    local sb = sandbox.start()
    local ok, failure = pcall(function()
      -- The script sets the client serve uses: a code 8 gives up after 2 s, not 30.
      local source = 'require("justclick").set_defaults({ timeout = 2, backoff = 0.05 })\n' .. handler()
      local s = start(dir, source, "--attempts 1", sandbox.secret,
        ("JUSTCLICK_USER=%s JUSTCLICK_API_URL=%s"):format(sandbox.user, sb.api_url))
      local client = sb:client()
      local ids = {}
      for i = 1, 2 do
        ids[i] = assert(client:create_order({ bill_email = "limit@example.com", bill_tag = tostring(i),
          goods = { { good_name = "sales" } } })).bill_id
        assert(client:update_order_status(ids[i], "paid", { date = os.time() }))
      end
      sb:rate_limit(0.001, 1) -- one request, then one more every 1000 s
      assert(client:all_goods()) -- takes it
      local before = sb:stats().refused
      assert.are.equal(200, (s:post(paid_body(ids[1], "limit@example.com", os.time()))))
      -- Held up twice: a counted try would have parked it (--attempts 1) at the first.
      local pauses = "request limit holds up confirming paid%-" .. ids[1]
      local log = log_until(s, pauses .. ".*" .. pauses, nil, 40)
      local _, held = log:gsub(pauses, "")
      assert.is_true(held >= 2, log)
      -- The receiver goes on storing meanwhile.
      assert.are.equal(200, (s:post(paid_body(ids[2], "limit@example.com", os.time()))))
      assert.is_true(sb:stats().refused > before, "the sandbox refused nothing: the spec tests nothing")
      assert.are.equal(0, #s:handled(0, 0))
      sb:rate_limit(0)
      local lines = s:handled(2, 40)
      assert.are.equal(0, s:signal("TERM"))
      assert.are.equal(2, #lines, files.read(s.log))
      assert.is_truthy(lines[1]:find("^paid " .. ids[1] .. " %S+ 1$"), lines[1]) -- its first try
      assert.is_truthy(lines[2]:find("^paid " .. ids[2] .. " "), lines[2])
      log = files.read(s.log)
      assert.is_falsy(log:find("parked paid", 1, true), log)
      assert.is_falsy(log:find("handler failed", 1, true), log)
    end)
    sb:stop()
    assert(ok, failure)
  end)

  it("receives the sandbox's notification of each event, confirms each, and handles each once", function()
    local sb = sandbox.start()
    local ok, failure = pcall(function()
      local source = handler():gsub("  return true\nend$", [[
  f = io.open(os.getenv("HANDLED"), "a") f:write("confirmed ", event.kind, " ", event.confirmed.pay_status, "\n") f:close()
  return true
end]])
      local s = start(dir, source, nil, sandbox.secret,
        ("JUSTCLICK_USER=%s JUSTCLICK_API_URL=%s"):format(sandbox.user, sb.api_url))
      sb:notify({ url = s.url .. "/justclick/notify" })
      local client = sb:client()
      local a, b
      -- One step at a time: each event is confirmed against the bill as it is while it is
      -- handled, and a paid bill refunded before its paid event is read is no longer paid.
      local steps = {
        function() a = assert(client:create_order({ bill_email = "loop@example.com", goods = { { good_name = "course" } } })).bill_id end,
        function() assert(client:update_order_status(a, "paid", { date = os.time() })) end,
        function() b = assert(client:create_order({ bill_email = "loop@example.com", goods = { { good_name = "sales" } } })).bill_id end,
        function() sb:prepay(b, 400) end,
        function() assert(client:update_order_status(b, "cancel")) end,
        function() assert(client:update_order_status(a, "return")) end,
      }
      for i, step in ipairs(steps) do
        step()
        assert.are.equal(2 * i, #s:handled(2 * i, 20), files.read(s.log))
      end
      sb:settle(15)
      local lines = s:handled(12)
      assert.are.equal(0, s:signal("TERM"))
      local seen = {}
      for i = 1, #lines, 2 do
        local kind, id = lines[i]:match("^(%S+) (%d+) ")
        seen[#seen + 1] = kind .. " " .. id .. " " .. lines[i + 1]
      end
      assert.are.same({
        "new_order " .. a .. " confirmed new_order waiting", "paid " .. a .. " confirmed paid paid",
        "new_order " .. b .. " confirmed new_order waiting", "prepaid " .. b .. " confirmed prepaid waiting",
        "cancel_order " .. b .. " confirmed cancel_order cancel", "moneyback " .. a .. " confirmed moneyback return",
      }, seen)
    end)
    sb:stop()
    assert(ok, failure)
  end)
end)
