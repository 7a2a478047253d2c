-- A hostile JustClick API (spec/support/hostile_api.php under php -S) on a free port: every
-- reply a correctly signed success whose result the spec chooses, method by method.
--   local api = hostile_api.start(dir);  api:answer{GetAllGoods = {...}, getOrdersWithGoods = {...}}
--   api.api_url;  api:requests() -> {"METHOD BODY", ...};  api:stop()
local core = require "justclick.core"
local cjson = require "cjson"
local files = require "support.files"

local hostile_api = {}
local Api = {}
Api.__index = Api

function hostile_api.start(dir)
  local self = setmetatable({ dir = dir, replies = dir .. "/hostile.json", log = dir .. "/hostile.log" }, Api)
  files.write(self.replies, "{}")
  files.write(self.log, "")
  for _ = 1, 20 do
    local port = math.random(20000, 60000)
    local out = dir .. "/hostile.out"
    local p = assert(io.popen(("HOSTILE_REPLIES=%s HOSTILE_LOG=%s setsid php -S 127.0.0.1:%d spec/support/hostile_api.php"
      .. " > %s 2>&1 & echo $!"):format(self.replies, self.log, port, out)))
    self.pid = assert(tonumber(p:read("*l")))
    p:close()
    local deadline = core.now() + 10
    while core.now() < deadline do
      local said = files.read(out) or ""
      if said:find("Development Server", 1, true) or said:find("started", 1, true) then
        self.url = "http://127.0.0.1:" .. port
        self.api_url = self.url .. "/api"
        return self
      end
      if said:find("Failed to listen", 1, true) then break end
      core.sleep(0.05)
    end
    os.execute(("kill -KILL -%d 2>/dev/null"):format(self.pid))
  end
  error("the hostile API did not start")
end

--- api:answer(replies): what each method answers from now on (hostile_api.php says how).
function Api:answer(replies)
  files.write(self.replies, cjson.encode(replies))
end

function Api:requests()
  local lines = {}
  for line in (files.read(self.log) or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

function Api:stop()
  if self.pid then os.execute(("kill -KILL -%d 2>/dev/null"):format(self.pid)) end
  self.pid = nil
end

return hostile_api
