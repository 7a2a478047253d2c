-- A shop that receives payment notifications: `php -S` running spec/support/receiver.php on a
-- free port, in a process group of its own, logging every request it gets.
--   local r = receiver.start();  r:url("/fail/2/paid");  r:wait(3);  r:requests();  r:stop()
local core = require "justclick.core"
local cjson = require "cjson"
local files = require "support.files"
local shell = require "support.shell"

local receiver = {}
local Receiver = {}
Receiver.__index = Receiver

--- A port nothing listens on now.
receiver.free_port = shell.free_port

function receiver.start()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local session = core.session({ timeout = 5, keep_alive = false })
  for _ = 1, 5 do -- another process may take the free port first
    local port = receiver.free_port()
    local p = assert(io.popen(("RECEIVER_LOG=%s/log PHP_CLI_SERVER_WORKERS=4 setsid php -S 127.0.0.1:%d"
      .. " spec/support/receiver.php > %s/out 2>&1 & echo $!"):format(dir, port, dir)))
    local pid = assert(tonumber(p:read("*l")))
    p:close()
    local self = setmetatable({ pid = pid, dir = dir, base = "http://127.0.0.1:" .. port }, Receiver)
    local deadline = core.now() + 10
    repeat
      if session:post(self.base .. "/__ping", "") == 200 then
        session:close()
        return self
      end
      core.sleep(0.05)
    until core.now() > deadline or (files.read(dir .. "/out") or ""):find("Failed to listen")
    os.execute(("kill -KILL -%d 2>/dev/null"):format(pid))
  end
  session:close()
  error("the receiver did not start: " .. (files.read(dir .. "/out") or ""))
end

function Receiver:url(path) return self.base .. path end

--- Every request received so far, in order: {t, method, uri, headers, body, status}.
function Receiver:requests()
  local out = {}
  for line in (files.read(self.dir .. "/log") or ""):gmatch("[^\n]+") do out[#out + 1] = cjson.decode(line) end
  return out
end

--- Waits until `n` requests have come (or `seconds`, default 10, have passed); returns them all.
function Receiver:wait(n, seconds)
  local deadline = core.now() + (seconds or 10)
  local got = self:requests()
  while #got < n and core.now() < deadline do
    core.sleep(0.05)
    got = self:requests()
  end
  return got
end

--- Forgets what was received.
function Receiver:clear() os.remove(self.dir .. "/log") end

function Receiver:stop()
  os.execute(("kill -TERM -%d 2>/dev/null; rm -rf %s"):format(self.pid, self.dir))
end

return receiver
