-- JustClick's request limit: code 8, "API request limit for this address exhausted", answered
-- before the request is processed. The client repeats a read it refused, and a write only when
-- the code 8 reply verifies: an unverified one may be forged over a request that made an order.
local core = require "justclick.core"
local sandbox = require "support.sandbox"
local expect = require "support.expect"

local failed = expect.failure

local function small_order(tag)
  return { bill_email = "limit@example.com", bill_tag = tag, goods = { { good_name = "sales" } } }
end

describe("the client at the request limit (code 8)", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  it("repeats a read that was refused, until it gets through", function()
    local client = sb:client()
    local id = assert(client:create_order(small_order("read"))).bill_id
    sb:fault("limit", "", 3)
    local info = assert(client:order_details(id))
    assert.are.equal(id, info.id)
    assert.are.same({ 5, 3 }, { sb:stats().requests, sb:stats().refused })
  end)

  it("repeats a write refused with a signed code 8, which did nothing: the order is made once", function()
    local client = sb:client()
    sb:fault("limit", "", 2)
    local order = assert(client:create_order(small_order("write")))
    assert.is_nil(order.existing)
    local stats = sb:stats()
    assert.are.same({ 3, 2, 1, 0 }, { stats.requests, stats.refused, stats.orders, stats.duplicates })
    assert.are.equal(order.bill_id, sb:orders()[1].id)
  end)

  it("never repeats a write whose code 8 does not verify: the request may have made the order", function()
    local client = sb:client()
    sb:fault("limit", "forged", 1)
    local err = failed("api", 8, client:create_order(small_order("forged")))
    assert.is_false(err.verified)
    assert.is_true(err.sent)
    assert.is_false(err.retryable)
    assert.is_truthy(err.message:find("the order may exist", 1, true), err.message)
    assert.are.same({ 1, 1 }, { sb:stats().requests, sb:stats().orders })
    sb:fault("limit", "forged", 1)
    err = failed("api", 8, client:call("UpdateOrderStatus", { bill_id = sb:orders()[1].id, status = "cancel" }))
    assert.is_true(err.sent)
    assert.is_truthy(err.message:find("may have taken effect", 1, true), err.message)
    assert.are.equal(2, sb:stats().requests)
  end)

  it("repeats a read whose code 8 does not verify: reading again does no harm", function()
    local client = sb:client()
    local id = assert(client:create_order(small_order("unverified read"))).bill_id
    sb:fault("limit", "forged", 1)
    assert.are.equal(id, assert(client:order_details(id)).id)
    assert.are.equal(3, sb:stats().requests)
  end)

  it("gives up when the limit never lifts, within the call's timeout, with a clear error 8", function()
    sb:fault("limit", "", 0)
    local client = sb:client({ timeout = 1, retries = 2 })
    for _, call in ipairs({
      function() return client:order_details(100001) end,
      function() return client:create_order(small_order("never")) end,
    }) do
      local before = sb:stats().requests
      local err = failed("api", 8, call())
      assert.is_true(err.verified)
      assert.is_true(err.retryable) -- refused before it was processed: safe to try later
      assert.is_falsy(err.sent)
      assert.is_falsy(err.message:find("may exist", 1, true), err.message)
      -- not bounded by `retries` (2), which counts repeats after network failures: by `timeout`
      assert.is_true(err.attempts > 3, "attempts: " .. err.attempts)
      assert.are.equal(before + err.attempts, sb:stats().requests)
      assert.is_truthy(tostring(err):find("API request limit for this address exhausted (", 1, true), tostring(err))
      assert.is_falsy(tostring(err):find(sandbox.secret, 1, true))
    end
    assert.are.equal(0, sb:stats().orders)
  end)

  it("repeats nothing when retries is 0", function()
    sb:fault("limit", "", 1)
    local err = failed("api", 8, sb:client({ retries = 0 }):create_order(small_order("no retries")))
    assert.are.equal(1, err.attempts)
    assert.is_true(err.retryable)
    assert.are.same({ 1, 0 }, { sb:stats().requests, sb:stats().orders })
  end)

  it("tells a caller that sends its own requests (settle) to repeat a signed code 8 only", function()
    local client = sb:client()
    local function reply(secret)
      return ('{"error_code":8,"error_text":"API request limit for this address exhausted","hash":"%s"}')
        :format(core.md5("8::API request limit for this address exhausted::" .. secret))
    end
    local _, err, retry = client:settle("CreateOrder", 200, reply(sandbox.secret))
    assert.are.same({ 8, true, true }, { err.code, err.retryable, retry })
    _, err, retry = client:settle("CreateOrder", 200, reply("forged"))
    assert.are.same({ 8, false, true }, { err.code, err.retryable, err.sent })
    assert.is_falsy(retry)
    _, err, retry = client:settle("GetBills", 200, reply("forged"))
    assert.are.same({ 8, true }, { err.code, retry })
  end)
end)
