-- The C core's own shape: what each file adds to the module, and the limits it shares with Lua.
-- (Runs under every Lua: no 5.4-only syntax.)
local core = require "justclick.core"
local justclick = require "justclick"

describe("justclick.core", function()
  it("gives Lua the shared limits of src/limits.h", function()
    assert.are.same({
      jobs = 64, max_input_vars = 1000, max_input_nesting_level = 64, max_reply = 8 * 1024 * 1024,
      keep_bytes = 1024 * 1024, integer_bound = 2 ^ 63, exact_bound = 2 ^ 53,
    }, core.limits)
  end)

  it("builds a client whose max_input_vars defaults to PHP's, from core.limits", function()
    local client = justclick.new({ user = "u", secret = "s", api_url = "http://127.0.0.1:9/api" })
    assert.are.equal(core.limits.max_input_vars, client.max_input_vars)
    client:close()
  end)

  it("refuses a multi session of more jobs than core.limits.jobs", function()
    assert.has_error(function() core.multi({}, core.limits.jobs + 1) end)
    local m = core.multi({}, core.limits.jobs)
    m:close()
  end)

  it("names the benchmark-only CPU clock as such", function()
    assert.is_nil(core.cpu)
    assert.are.equal("number", type(core._bench_cpu()))
    for _, name in ipairs({ "sleep", "now", "time", "boottime", "isatty" }) do
      assert.are.equal("function", type(core[name]), name)
    end
  end)
end)
