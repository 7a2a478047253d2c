-- The one command that runs examples/nginx against the sandbox (make nginx-example, which is
-- scripts/nginx-example.sh), in its non-interactive mode: it builds what nginx needs, starts the
-- sandbox and nginx with the example's nginx.conf as written (but for the port), runs a
-- checkout and its payment through them, and stops everything. Nothing installed is used: the
-- prefix links the work tree's module. #lua54: the script's nginx runs LuaJIT whatever Lua runs
-- busted, so one run of it is enough.
local shell = require "support.shell"

describe("scripts/nginx-example.sh --check #lua54", function()
  it("runs a checkout and its payment through the example, and leaves nothing running", function()
    local port = shell.free_port()
    local ok, out = shell.ok(("env -u MAKEFLAGS -u MAKELEVEL PORT=%d scripts/nginx-example.sh --check"):format(port))
    assert.is_true(ok, out)
    local bill = out:match("checkout: 303 http://127%.0%.0%.1:%d+/bill/%S+\n.-\"bill_id\":(%d+),\"pay_status\":\"paid\"")
    assert.is_truthy(bill, out)
    -- the example's own notices show: new_order confirmed, then the payment granted
    assert.is_truthy(out:find("log: justclick: new_order for bill " .. bill .. " (confirmed)", 1, true), out)
    assert.is_truthy(out:find("log: justclick: granted bill " .. bill .. " to buyer@example.com: course (paid-"
      .. bill, 1, true), out)
    assert.matches("ok: bill " .. bill .. " created through nginx", out)
    -- nothing answers on the shop's port once it has ended
    assert.are.equal("000", shell.output(("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/"):format(port)))
  end)
end)

describe("scripts/nginx-example.sh where the shop's port is taken #lua54", function()
  it("says so in one line naming PORT, and sends nothing to what holds it", function()
    local port = shell.free_port()
    -- a listener that is not nginx: any HTTP answer from it is not the example's
    local holder = shell.output(("php -S 127.0.0.1:%d -t /tmp > /dev/null 2>&1 & echo $!"):format(port))
    for _ = 1, 300 do
      if shell.ok(("curl -s -o /dev/null http://127.0.0.1:%d/"):format(port)) then break end
      os.execute("sleep 0.1")
    end
    local status, out = shell.run(("env -u MAKEFLAGS -u MAKELEVEL PORT=%d timeout 120 scripts/nginx-example.sh --check"):format(port))
    local interactive, said = shell.run(("env -u MAKEFLAGS -u MAKELEVEL PORT=%d timeout 120 scripts/nginx-example.sh < /dev/null")
      :format(port))
    os.execute("kill " .. holder:match("%d+"))
    for _, run in ipairs({ { status, out }, { interactive, said } }) do
      assert.are.equal(1, run[1], run[2])
      assert.matches("port " .. port .. " is in use", run[2])
      assert.matches("PORT=", run[2])
      assert.is_nil(run[2]:find("checkout:", 1, true), run[2])
      assert.is_nil(run[2]:find("Try:", 1, true), run[2])
    end
  end)
end)

describe("scripts/nginx-example.sh ended from outside #lua54", function()
  -- Starts the interactive example in a session of its own; returns its pid, the shop's and the
  -- sandbox's URLs once it says what to try.
  local function start(port, log)
    -- with SIGHUP and SIGINT as a terminal gives them: a shell started with one ignored (under
    -- nohup, say) cannot trap it, and the script would not stop on it
    local pid = shell.output(("env -u MAKEFLAGS -u MAKELEVEL --default-signal=HUP,INT PORT=%d setsid scripts/nginx-example.sh"
      .. " < /dev/null > %s 2>&1 & echo $!")
      :format(port, log)):match("%d+")
    local api
    for _ = 1, 600 do
      local f = io.open(log)
      local text = f and f:read("*a") or ""
      if f then f:close() end
      api = text:match("the sandbox standing in for JustClick at (%S+)")
      if api and text:find("Ctrl-C stops", 1, true) then break end
      os.execute("sleep 0.1")
    end
    assert.is_truthy(api, "the example did not start")
    return pid, ("http://127.0.0.1:%d/"):format(port), api .. "/__sandbox/stats"
  end

  -- Whether nothing answers on url by the end of some seconds.
  local function gone(url)
    for _ = 1, 300 do
      if shell.output(("curl -s -o /dev/null -w '%%{http_code}' %s"):format(url)) == "000" then return true end
      os.execute("sleep 0.1")
    end
    return false
  end

  for _, signal in ipairs({ "KILL", "HUP" }) do
    it("by SIG" .. signal .. " leaves neither nginx nor the sandbox running", function()
      local log = os.tmpname()
      local pid, shop, sandbox_url = start(shell.free_port(), log)
      assert.are.equal("200", shell.output(("curl -s -o /dev/null -w '%%{http_code}' %s"):format(sandbox_url)))
      os.execute(("kill -%s %s"):format(signal, pid))
      local shop_gone, sandbox_gone = gone(shop), gone(sandbox_url)
      os.remove(log)
      assert.is_true(shop_gone, "nginx still answers on " .. shop)
      assert.is_true(sandbox_gone, "the sandbox still answers on " .. sandbox_url)
    end)
  end
end)
