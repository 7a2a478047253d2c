-- Finalizers that re-enter a session or a multi while it hands back a reply, in process, under
-- every Lua. Lua 5.1 and LuaJIT run the collector before lua_pushlstring copies its bytes, so a
-- finalizer could rewrite or free the reply being copied (5.4 collects after the copy).
local core = require "justclick.core"
local receiver = require "support.receiver"
local luaver = require "support.luaver"

-- Runs the collector into its finalizing phase, with finalizers still due, and arms them: the
-- next allocation (inside the call under test) runs one, which runs `act` once.
-- Lua 5.1 and LuaJIT (whose _VERSION is 5.1's) run the finalizer inside the call; 5.4 may not.
local COLLECTS_FIRST = _VERSION == "Lua 5.1"

local function finalizers_due(act)
  local calls, armed = 0, false
  local function fin()
    calls = calls + 1
    if armed then
      armed = false
      act()
    end
  end
  collectgarbage("collect")
  collectgarbage("stop")
  for _ = 1, 15 do luaver.finalizer(fin) end
  local before = calls
  repeat collectgarbage("step", 0) until calls > before
  local function ran() -- whether act ran; made before arming, as it allocates
    local was = armed
    armed = false
    return not was
  end
  armed = true
  collectgarbage("restart")
  return ran
end

describe("finalizers that re-enter the transport mid-reply", function()
  local r
  local pause
  lazy_setup(function()
    r = receiver.start()
    pause = collectgarbage("setstepmul", 1)
  end)
  lazy_teardown(function()
    collectgarbage("setstepmul", pause)
    if r then r:stop() end
  end)

  it("leave a session's reply intact when they post on the same session", function()
    local s = core.session({ timeout = 5 })
    local outer, inner, want = r:url("/echo/50000/o"), r:url("/echo/100000/i"), "/echo/50000/o:" .. ("o"):rep(50000)
    local ran, wrong = 0, {}
    for _ = 1, 30 do
      -- (nothing may allocate between arming and the call: the finalizer would run there)
      local done = finalizers_due(function() s:post(inner, "x") end)
      local status, body = s:post(outer, "x")
      if done() then ran = ran + 1 end
      if status ~= 200 or body ~= want then
        wrong[#wrong + 1] = tostring(status) .. " " .. tostring(body):sub(1, 40)
      end
    end
    s:close()
    assert.are.same({}, wrong)
    assert.is_true(ran > 0 or not COLLECTS_FIRST, "no finalizer ran inside post")
  end)

  it("leave a session's reply intact, and no crash, when they close the session", function()
    local url, size = r:url("/echo/1000000/c"), #"/echo/1000000/c:" + 1000000
    local ran, wrong = 0, {}
    for _ = 1, 30 do
      local s = core.session({ timeout = 5 })
      local done = finalizers_due(function() s:close() end)
      local status, body = s:post(url, "x")
      if status ~= 200 or #body ~= size then wrong[#wrong + 1] = tostring(status) end
      if done() then
        ran = ran + 1
        assert.has_error(function() s:post(url, "x") end, "justclick: the session is closed")
      end
    end
    assert.are.same({}, wrong)
    assert.is_true(ran > 0 or not COLLECTS_FIRST, "no finalizer ran inside post")
  end)

  it("end a multi's wait cleanly when they close the multi", function()
    local a, b, size = r:url("/echo/1000000/a"), r:url("/echo/1000000/b"), #"/echo/1000000/a:" + 1000000
    local ran = 0
    for _ = 1, 20 do
      local m = core.multi({ timeout = 5 }, 2)
      m:start(1, a, "x")
      m:start(2, b, "x")
      core.sleep(0.3) -- both finish before wait looks
      local done = finalizers_due(function() m:close() end)
      local ok, results = pcall(m.wait, m)
      if done() then ran = ran + 1 end
      -- Either the results came back whole, or wait saw the multi closed under it; never garbage.
      if ok then
        for _, res in ipairs(results) do
          assert.are.equal(size, #res.body)
        end
      else
        assert.is_truthy(tostring(results):find("closed", 1, true), tostring(results))
      end
      m:close()
    end
    assert.is_true(ran > 0 or not COLLECTS_FIRST, "no finalizer ran inside wait")
  end)
end)
