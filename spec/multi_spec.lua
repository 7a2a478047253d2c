-- core.multi: several requests at once over curl's multi interface, against the sandbox.
local core = require "justclick.core"
local cjson = require "cjson"
local sandbox = require "support.sandbox"

describe("core.multi", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  it("runs requests at once, and gives each back under its key", function()
    -- Every reply comes 2 s late: 8 on 4 jobs take 4 s, two at a time would take 8 s, and a busy
    -- machine's overhead (0.65 s seen with 300 ms replies; 2.02 s with 1 s replies, three Luas'
    -- specs at once in CI) stays inside the difference.
    sb:fault("slow", "2000", 0)
    local m = core.multi({ timeout = 10 }, 4)
    local url = sb.api_url .. "/getOrderDetails"
    local start, results, next_key = core.now(), {}, 1
    while next_key <= 8 or m:running() > 0 do
      while next_key <= 8 and m:running() < 4 do
        m:start(next_key, url, "bill_id=" .. next_key)
        next_key = next_key + 1
      end
      for _, done in ipairs(m:wait()) do results[done.key] = done end
    end
    local elapsed = core.now() - start
    assert.is_true(elapsed < 7.5, ("8 requests of 2 s on 4 jobs took %.2f s"):format(elapsed))
    for key = 1, 8 do
      assert.are.equal(200, results[key].status)
      assert.are.equal(1, cjson.decode(results[key].body).error_code) -- no hash was sent
    end
    assert.are.equal(8, m:stats().requests)
    assert.is_true(m:stats().connects <= 4)
    m:close()
  end)

  it("waits no longer than it is told, and meanwhile sends what was started", function()
    sb:fault("slow", "3000", 1) -- held until the wait below has given up
    local m = core.multi({ timeout = 10 }, 1)
    m:start(1, sb.api_url .. "/getOrderDetails", "bill_id=1")
    assert.are.same({}, m:wait(0.5))
    assert.are.equal(1, m:running())
    -- it went out during the wait: the server has it, though nothing drives curl now (so a
    -- longer look could not see a later send; the limit only bounds a failure on a busy machine)
    local deadline = core.now() + 10
    while sb:stats().requests == 0 and core.now() < deadline do core.sleep(0.05) end
    assert.are.equal(1, sb:stats().requests)
    local got = {}
    while #got == 0 do got = m:wait(0.05) end
    assert.are.equal(200, got[1].status)
    m:close()
  end)

  it("reports failures as a session does, and refuses more requests than jobs", function()
    local m = core.multi({ timeout = 5 }, 2)
    m:start(7, "http://127.0.0.1:1/api/x", "a=1")
    m:start(8, "http://127.0.0.1:1/api/x", "a=1")
    assert.has_error(function() m:start(9, "http://127.0.0.1:1/api/x", "") end)
    local got = {}
    while m:running() > 0 do
      for _, done in ipairs(m:wait()) do got[done.key] = done.failure end
    end
    assert.are.equal(7, got[7].code)
    assert.is_false(got[8].sent)
    m:close()
    m:close()
    assert.has_error(function() m:wait() end)
    assert.has_error(function() core.multi({}, 0) end)
  end)
end)
