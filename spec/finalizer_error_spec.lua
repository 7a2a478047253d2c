-- A finalizer that raises an error while the core runs. Lua 5.1, LuaJIT and 5.3 raise a __gc's
-- error from the allocation that ran it (5.4 only warns), so it can come out of any allocation
-- inside a call: it must come out of the call as it is, never be taken for the call's own
-- refusal of its input, and leave the core working.
local core = require "justclick.core"
local luaver = require "support.luaver"

-- A refused input, and the refusal every call on it must give.
local BAD = { n = { ["m]"] = 1 } }
local GOOD = { bill_email = "a@example.com", goods = { { good_name = "sales" } } }

-- Runs fn with a chain of finalizers: each makes the garbage for the next, and the k-th raises.
-- With the collector taking a step at every allocation, the k-th finalizer runs at one
-- allocation or another of fn, for k from 1 up. Returns what pcall gives for fn (its two results).
local function with_failing_finalizer(k, fn)
  local n, stop = 0, false
  local function make()
    luaver.finalizer(function()
      if stop then return end
      n = n + 1
      if n == k then
        stop = true
        error("finalizer " .. k .. " failed", 0)
      end
      make()
    end)
  end
  local function run()
    make()
    local a, b = fn()
    stop = true -- before anything else allocates
    return a, b
  end
  local pause = collectgarbage("setpause", 0)
  local stepmul = collectgarbage("setstepmul", 1000000)
  collectgarbage("collect") -- so that the pause takes: a step at every allocation from now on
  local ok, a, b = pcall(run)
  stop = true
  collectgarbage("setpause", pause)
  collectgarbage("setstepmul", stepmul)
  collectgarbage("collect")
  return ok, a, b
end

describe("a finalizer that raises inside a call into the core", function()
  it("is never taken for the refusal of the input", function()
    local _, problem = core.safe.build_query(BAD)
    local raised = 0
    for k = 1, 60 do
      local ok, result, err = with_failing_finalizer(k, function() return core.safe.build_query(BAD) end)
      if ok then
        assert.is_nil(result)
        assert.are.same(problem, err, "k = " .. k)
      else
        raised = raised + 1
        assert.is_truthy(tostring(result):find("finalizer " .. k .. " failed", 1, true), tostring(result))
      end
      -- and the core goes on as before, its scratch free again
      assert.are.equal(core.build_query(GOOD), (core.safe.build_query(GOOD)))
    end
    if _VERSION ~= "Lua 5.4" or rawget(_G, "jit") then
      assert.is_true(raised > 0, "no finalizer raised inside a call: the spec tests nothing")
    end
  end)
end)
