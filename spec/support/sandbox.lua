-- Starts the sandbox (sandbox/server.php: php -S behind a keep-alive front) on a free port, in
-- a process group of its own with its own database, and stops the whole group. The sandbox is
-- owned by the Lua process that started it (JUSTCLICK_SANDBOX_OWNER): should that process end
-- without stopping it (busted killed, say), the sandbox stops by itself.
--   local sb = sandbox.start();  sb:client{...};  sb:fault("http500", "", 2);  sb:stop()
--   sb:rate_limit(20)                                         -- 20 requests a second, code 8 beyond
--   sandbox.start{env = {JUSTCLICK_SANDBOX_TZ = "UTC"}}    -- settings for the sandbox
--   sb:post("/fault/hangup/api/CreateOrder", params, session) -- a signed request, raw reply
--   sb:notify{url = "http://127.0.0.1:PORT/hook"};  ...;  sb:settle().notifications
local justclick = require "justclick"
local core = require "justclick.core"
local cjson = require "cjson"
local files = require "support.files"

local sandbox = { user = "demo", secret = "sandbox-secret" }
local Sandbox = {}
Sandbox.__index = Sandbox

-- What the sandbox has logged so far.
local function log_of(path)
  return files.read(path) or ""
end

--- Whether process `pid` lives: it exists and is no zombie (a dead child not yet reaped).
function sandbox.alive(pid)
  local stat = files.read("/proc/" .. pid .. "/stat")
  return stat ~= nil and stat:match(".*%) (%a)") ~= "Z"
end

function sandbox.start(opts)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local log = dir .. "/log"
  local env = ""
  for name, value in pairs(opts and opts.env or {}) do
    assert(name:match("^[%w_]+$"), name)
    env = env .. ("%s='%s' "):format(name, (tostring(value):gsub("'", "'\\''")))
  end
  -- $PPID, in the shell that popen starts, is this Lua process.
  local p = assert(io.popen(("%sJUSTCLICK_SANDBOX_OWNER=$PPID JUSTCLICK_SANDBOX_DB=%s/sandbox.sqlite"
    .. " setsid php sandbox/server.php 0 > %s 2>&1 & echo $!"):format(env, dir, log)))
  local pid = assert(tonumber(p:read("*l")), "no sandbox pid")
  p:close()
  local self = setmetatable({ pid = pid, dir = dir }, Sandbox)
  local deadline = core.now() + 15
  while core.now() < deadline do
    local url = log_of(log):match("sandbox listening on (http://[%d%.:]+)")
    if url then
      self.url, self.api_url = url, url .. "/api"
      self.session = core.session({ timeout = 10 })
      return self
    end
    if not sandbox.alive(pid) then break end -- it gave up: say why at once
    core.sleep(0.05)
  end
  local said = log_of(log) -- before stop, which removes it
  self:stop()
  error("the sandbox did not start: " .. said)
end

--- The pids of the live processes that a sandbox whose directory is `dir` started, itself
-- included: all of them, and they alone, have its database (in dir) in their environment.
function sandbox.processes(dir)
  local p = assert(io.popen(("grep -lsaF -- 'JUSTCLICK_SANDBOX_DB=%s/' /proc/[0-9]*/environ"):format(dir)))
  local pids = {}
  for pid in p:read("*a"):gmatch("/proc/(%d+)/environ") do
    if sandbox.alive(pid) then pids[#pids + 1] = tonumber(pid) end
  end
  p:close()
  return pids
end

--- Stops the sandbox and waits for server.php to end (it stops what it started first); KILL
-- to its group after 10 s, which its backend notices and follows.
function Sandbox:stop()
  if self.session then self.session:close() end
  os.execute(("kill -TERM -%d 2>/dev/null"):format(self.pid))
  local deadline = core.now() + 10
  while sandbox.alive(self.pid) and core.now() < deadline do core.sleep(0.02) end
  if sandbox.alive(self.pid) then os.execute(("kill -KILL -%d 2>/dev/null"):format(self.pid)) end
  -- its php -S workers may still be closing the database a moment after the group's end
  os.execute(("rm -rf %s 2>/dev/null || (sleep 0.5; rm -rf %s)"):format(self.dir, self.dir))
end

-- A control request: POST /__sandbox/WHAT, answered with JSON.
function Sandbox:control(what, params)
  local status, body = self.session:post(self.url .. "/__sandbox/" .. what, justclick.build_query(params or {}))
  assert(status == 200, ("sandbox %s: %s %s"):format(what, tostring(status), tostring(body)))
  return cjson.decode(body)
end

--- What the sandbox printed: the "sandbox listening on" line, then its banner (server.php).
function Sandbox:banner() return log_of(self.dir .. "/log") end

function Sandbox:reset() return self:control("reset") end
function Sandbox:stats() return self:control("stats") end
function Sandbox:orders() return self:control("orders") end
function Sandbox:front() return self:control("front") end
function Sandbox:connections() return self:front().connections end

--- The form body of a request signed with the sandbox's account: `params` and their `hash`.
function sandbox.signed_body(params)
  return core.signed_body(params, sandbox.user, sandbox.secret)
end

--- POSTs `params`, signed, to `path` (such as "/api/CreateOrder") over `session` (default: the
--- control session); returns what session:post returns: status and body, or nil and a failure.
function Sandbox:post(path, params, session)
  return (session or self.session):post(self.url .. path, sandbox.signed_body(params))
end

--- A unix time as the sandbox writes it: Y-m-d H:M:S in its default zone, Europe/Moscow (UTC+3,
-- no summer time), whatever this machine's zone.
function sandbox.server_time(t)
  return os.date("!%Y-%m-%d %H:%M:%S", t + 3 * 3600)
end

--- Arms a fault for the next `count` requests (0: all, until reset).
function Sandbox:fault(kind, arg, count)
  return self:control("fault", { kind = kind, arg = arg or "", count = count or 1 })
end

--- The rate limit mode: at most `rate` API requests a second from one client address, a token
-- bucket of `burst` tokens (default: rate, at least 1), full at first; code 8 beyond it. 0: off.
function Sandbox:rate_limit(rate, burst)
  return self:control("ratelimit", { rate = rate, burst = burst })
end

--- Sets where and how payment notifications go (POST /__sandbox/notify: url, events, url_EVENT,
-- forge, timeout, drop, delay, delay_count); returns the settings now.
function Sandbox:notify(params) return self:control("notify", params) end

--- A prepayment of `sum` on bill `bill_id`: a prepaid notification. Returns the control's reply.
function Sandbox:prepay(bill_id, sum) return self:control("prepay", { bill_id = bill_id, sum = sum }) end

--- {notifications = {...}, pending = N, delivered = N, given_up = N}, as GET /__sandbox/notifications.
function Sandbox:notifications() return self:control("notifications") end

--- Waits until no notification is pending (delivered or given up), at most `seconds` (default
-- 15); returns the last listing, whether or not it settled.
function Sandbox:settle(seconds)
  local deadline = core.now() + (seconds or 15)
  local list = self:notifications()
  while list.pending > 0 and core.now() < deadline do
    core.sleep(0.05)
    list = self:notifications()
  end
  return list
end

--- A client of the sandbox; `opts` adds to or overrides the account's settings.
function Sandbox:client(opts)
  local o = { user = sandbox.user, secret = sandbox.secret, api_url = self.api_url, backoff = 0.01 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return justclick.new(o)
end

return sandbox
