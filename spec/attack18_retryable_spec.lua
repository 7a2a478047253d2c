-- Attack on issue 18 (helper HA): api.md's Errors, "`retryable` | whether the same call may simply
-- be made again: nothing was done, or it only reads". BREAK (not fixed; the docs or the engine
-- must give): a read that fails with anything but a transport error, a 5xx or a code 8 comes back
-- retryable = false: a reply that is not JSON, an HTTP 404, a success whose hash does not
-- verify. Reading again does no harm, which is the field's own definition.
local justclick = require "justclick"
local core = require "justclick.core"

local function answering(status, body)
  local c = justclick.new({ user = "demo", secret = "stub-secret", api_url = "http://127.0.0.1:9/api", retries = 0 })
  c.session:close()
  c.session = { post = function() return status, body end, close = function() end }
  return c
end

describe("attack18: a read's error", function()
  local cases = {
    { "a reply that is not JSON", 200, "<html>busy</html>" },
    { "HTTP 404", 404, "not here" },
    { "a success whose hash does not verify", 200, '{"error_code":0,"error_text":"OK","hash":"'
      .. core.md5("0::OK::another-secret") .. '","result":{"id":5}}' },
  }
  for _, case in ipairs(cases) do
    it("BREAK: is retryable, since it only reads (" .. case[1] .. ")", function()
      local info, err = answering(case[2], case[3]):order_details(5)
      assert.is_nil(info)
      assert.is_true(err.retryable, tostring(err))
    end)
  end
end)
