-- The sandbox itself: stopping server.php stops every process it started.
local core = require "justclick.core"
local sandbox = require "support.sandbox"
local files = require "support.files"

local function session(opts)
  return core.session(opts or { timeout = 10 })
end

describe("server.php", function()
  -- The processes whose parent is `pid`.
  local function children(pid)
    local p = assert(io.popen("pgrep -P " .. pid))
    local out = {}
    for line in p:lines() do out[#out + 1] = tonumber(line) end
    p:close()
    return out
  end

  for _, signal in ipairs({ "TERM", "INT" }) do
    it("stops php -S and all its workers on SIG" .. signal .. " to its own pid", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -p " .. dir))
      local started = {}
      finally(function()
        for _, pid in ipairs(started) do
          if sandbox.alive(pid) then os.execute("kill -KILL " .. pid) end
        end
        os.execute("rm -rf " .. dir)
      end)
      -- In this process group, not one of its own: only its pid is signalled.
      local p = assert(io.popen(("JUSTCLICK_SANDBOX_DB=%s/db php sandbox/server.php 0 > %s/log 2>&1 & echo $!"):format(dir, dir)))
      local server = assert(tonumber(p:read("l")))
      p:close()
      started[1] = server
      local deadline = core.now() + 15
      while not (files.read(dir .. "/log") or ""):find("listening") and core.now() < deadline do core.sleep(0.05) end
      local master = children(server)
      assert.are.equal(1, #master, "php -S")
      started[2] = master[1]
      for _, worker in ipairs(children(master[1])) do started[#started + 1] = worker end
      assert.are.equal(2 + 16, #started)
      local port = assert(files.read("/proc/" .. master[1] .. "/cmdline"):match("127%.0%.0%.1:(%d+)"))
      local backend = "http://127.0.0.1:" .. port .. "/__sandbox/stats"
      local s <close> = session({ timeout = 5, keep_alive = false })
      assert.are.equal(200, (s:post(backend, "")))

      assert(os.execute(("kill -%s %d"):format(signal, server)))
      deadline = core.now() + 2
      local left
      repeat
        core.sleep(0.05)
        left = {}
        for _, pid in ipairs(started) do if sandbox.alive(pid) then left[#left + 1] = pid end end
      until #left == 0 or core.now() > deadline
      assert.are.same({}, left)
      local status, failure = s:post(backend, "")
      assert.is_nil(status)
      assert.are.equal(7, failure.code, failure.message) -- CURLE_COULDNT_CONNECT: nothing listens
    end)
  end
end)
