-- `justclick import FILE 2>&-` and `justclick serve ... 2>&-` (a cron line or a service manager
-- that closes stderr, say): the first file the command opens would get descriptor 2, the
-- journal or the inbox, and every progress or log line written "to stderr" would land in it, a
-- damaged record that stops the next run. The host opens /dev/null on a closed 0, 1 or 2 before
-- anything else, so the files that keep the exactly-once promise are never written over.
local shell = require "support.shell"
local sandbox = require "support.sandbox"
local files = require "support.files"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  return dir
end

describe("the host with stdin, stdout or stderr closed #lua54", function()
  local sb, env

  lazy_setup(function()
    sb = sandbox.start()
    env = ("env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=demo JUSTCLICK_SECRET=sandbox-secret JUSTCLICK_API_URL=%s/api ")
      :format(sb.url)
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
  end)

  for _, closed in ipairs({ "2>&-", ">&-", "<&- >&- 2>&-" }) do
    it("import " .. closed .. " keeps its journal whole: the next run skips every row", function()
      local dir = tmpdir()
      local tag = closed:gsub("%W", "")
      files.write(dir .. "/o.csv", ("bill_email,goods\nx%s@example.com,invoice\ny%s@example.com,invoice\n")
        :format(tag, tag))
      local status = shell.run(("cd %s && { %s%s import o.csv %s; }"):format(dir, env, HOST, closed))
      assert.are.equal(0, status)
      local again, out = shell.run(("cd %s && %s%s import o.csv"):format(dir, env, HOST))
      os.execute("rm -rf " .. dir)
      assert.are.equal(0, again, out)
      assert.matches("created 0, existing 0, skipped 2,", out)
    end)
  end

  it("serve 2>&- keeps its log out of the inbox", function()
    local dir = tmpdir()
    local port = shell.free_port()
    files.write(dir .. "/h.lua", "return function() return true end\n")
    -- started with stderr closed, waited for, stopped; then the inbox is read
    local status, out = shell.run(([[cd %s && { %s%s serve --listen 127.0.0.1:%d --inbox inbox h.lua 2>&- &
      pid=$!
      for _ in $(seq 300); do curl -sf -o /dev/null http://127.0.0.1:%d/health && break; sleep 0.1; done
      kill -TERM $pid; wait $pid; } && %s%s serve --inbox inbox --parked]]):format(dir, env, HOST, port, port, env, HOST))
    os.execute("rm -rf " .. dir)
    assert.are.equal(0, status, out)
    assert.is_nil(out:find("damaged", 1, true), out)
  end)
end)
