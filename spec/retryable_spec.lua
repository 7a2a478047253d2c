-- `err.retryable` as docs/api.md's Errors defines it: the same call, made again, may succeed and
-- can do no harm (a read after a network failure or a 5xx; a write that never left this
-- machine; a verified code 8), which is what a client repeats itself. A read that failed
-- otherwise would fail the same way: false. (An attack found the field defined as "nothing was
-- done, or it only reads", which the code never meant: the docs now say what it does.)
local justclick = require "justclick"
local md5 = require("justclick.bench").md5

-- A client whose every request is answered with (status, body), or fails as `failure` says.
local function answering(status, body)
  local c = justclick.new({ user = "demo", secret = "stub-secret", api_url = "http://127.0.0.1:9/api", retries = 0 })
  c.session:close()
  c.session = { post = function() return status, body end, close = function() end }
  return c
end

local function signed(code, text, result)
  return ('{"error_code":%d,"error_text":"%s","hash":"%s","result":%s}')
    :format(code, text, md5(code .. "::" .. text .. "::stub-secret"), result)
end

describe("err.retryable", function()
  it("is false for a read that would fail the same way", function()
    for _, case in ipairs({
      { "a reply that is not JSON", 200, "<html>busy</html>" },
      { "HTTP 404", 404, "not here" },
      { "a success whose hash does not verify", 200,
        '{"error_code":0,"error_text":"OK","hash":"' .. md5("0::OK::another-secret") .. '","result":{"id":5}}' },
    }) do
      local info, err = answering(case[2], case[3]):order_details(5)
      assert.is_nil(info)
      assert.is_false(err.retryable, case[1] .. ": " .. tostring(err))
    end
  end)

  it("is true for a read after a 5xx, and for a verified code 8", function()
    local _, err = answering(503, "down"):order_details(5)
    assert.is_true(err.retryable, tostring(err))
    _, err = answering(200, signed(8, "limit", "null")):order_details(5)
    assert.are.equal(8, err.code)
    assert.is_true(err.retryable, tostring(err))
  end)

  it("is true for a read whose connection failed, and for a write that never left", function()
    local c = justclick.new({ user = "demo", secret = "stub-secret", api_url = "http://127.0.0.1:9/api", retries = 0 })
    local _, err = c:order_details(5)
    assert.are.equal("transport", err.kind)
    assert.is_true(err.retryable, tostring(err))
    local order
    order, err = c:create_order{ bill_email = "a@example.com", goods = { { good_name = "invoice" } } }
    assert.is_nil(order)
    assert.is_false(err.sent, tostring(err))
    assert.is_true(err.retryable, tostring(err))
    c:close()
  end)

  it("is false for a write that may have reached the server", function()
    local order, err = answering(502, "bad gateway"):create_order{ bill_email = "a@example.com",
      goods = { { good_name = "invoice" } } }
    assert.is_nil(order)
    assert.is_true(err.sent, tostring(err))
    assert.is_false(err.retryable, tostring(err))
  end)
end)
