-- docs/host.md: every log line of `justclick serve` begins "justclick serve: " and the time.
-- Under `justclick --verbose serve`, the line each API call adds (the confirmation's
-- getOrderDetails) was the library's "justclick: getOrderDetails status=..." with no time, in
-- the middle of the receiver's log. Here a notification is confirmed under --verbose, and every
-- line of the log is looked at.
local sandbox = require "support.sandbox"
local shell = require "support.shell"
local files = require "support.files"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")

describe("justclick --verbose serve's log #lua54", function()
  local sb, dir

  lazy_setup(function()
    sb = sandbox.start()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("stamps each call's line as it stamps its own", function()
    local port = shell.free_port()
    files.write(dir .. "/h.lua", "return function() return true end\n")
    local env = ("env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s/api ")
      :format(sandbox.user, sandbox.secret, sb.url)
    local pid = shell.output(("cd %s && %s%s --verbose serve --listen 127.0.0.1:%d --inbox inbox h.lua > /dev/null 2> log & echo $!")
      :format(dir, env, HOST, port)):match("%d+")
    for _ = 1, 300 do
      if shell.ok(("curl -sf -o /dev/null http://127.0.0.1:%d/health"):format(port)) then break end
      os.execute("sleep 0.1")
    end
    sb:notify { url = ("http://127.0.0.1:%d/"):format(port) }
    assert(sb:client():create_order { bill_email = "stamped@example.com", goods = { { good_name = "invoice" } } })
    local log
    for _ = 1, 300 do -- until the confirmation's line is in
      log = files.read(dir .. "/log") or ""
      if log:find("getOrderDetails", 1, true) then break end
      os.execute("sleep 0.1")
    end
    os.execute("kill -TERM " .. pid)
    assert.is_truthy(log:find("getOrderDetails", 1, true), log)
    for line in log:gmatch("[^\n]+") do
      assert.matches("^justclick serve: %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ ", line)
    end
  end)
end)
