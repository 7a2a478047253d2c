-- The client's promises against the faults that broke them: a write goes out at most once
-- whatever the connection does, a signed success without a usable result is a protocol error,
-- a server's control characters are shown and not obeyed, `timeout` bounds a whole call, and bad
-- input is refused before anything is sent.
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local justclick = require "justclick"
local core = require "justclick.core"
local engine = require "justclick.engine" -- settle, for replies that no sandbox fault makes
local sandbox = require "support.sandbox"
local expect = require "support.expect"
local number = require "support.number"

local failed = expect.failure

local function small_order(tag, email)
  return { bill_email = email or "faults@example.com", bill_tag = tag, goods = { { good_name = "sales" } } }
end

describe("the client under faults", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  describe("a connection that dies after a request on it was read", function()
    it("never makes libcurl send a CreateOrder twice: the call fails with sent = true", function()
      local client = sb:client()
      assert(client:create_order(small_order("first"))) -- opens the connection that is kept alive
      sb:fault("hangup", "", 1)
      local before = sb:stats()
      local err = failed("transport", nil, client:create_order(small_order("second")))
      assert.is_true(err.sent)
      assert.is_false(err.retryable)
      assert.is_truthy(err.message:find("the order may exist", 1, true), err.message)
      local after = sb:stats()
      assert.are.equal(before.requests + 1, after.requests, "the CreateOrder reached the server more than once")
      assert.are.equal(0, after.duplicates)
      assert.are.equal(2, after.orders) -- the hung-up order was made, once
      assert.are.equal(1, sb:front().hangups - 0)
    end)

    it("does the same for any write sent through call", function()
      local client = sb:client()
      local id = assert(client:create_order(small_order("status"))).bill_id
      sb:fault("hangup", "", 1)
      local before = sb:stats().requests
      local err = failed("transport", nil, client:call("UpdateOrderStatus", { bill_id = id, status = "cancel" }))
      assert.is_true(err.sent)
      assert.is_truthy(err.message:find("may have taken effect", 1, true), err.message)
      assert.are.equal(before + 1, sb:stats().requests)
    end)

    it("repeats a read, which is safe", function()
      local client = sb:client()
      local id = assert(client:create_order(small_order("read"))).bill_id
      sb:fault("hangup", "", 1)
      local info = assert(client:order_details(id))
      assert.are.equal(id, info.id)
    end)

    it("never meets the fault with keep_alive = false", function()
      local client = sb:client({ keep_alive = false })
      assert(client:create_order(small_order("a")))
      sb:fault("hangup", "", 1)
      assert(client:create_order(small_order("b")))
      assert.are.equal(2, client:stats().connects)
    end)
  end)

  describe("a reply that came but cannot be read, to a write", function()
    for _, fault in ipairs({ "notjson", "huge", "badhash", "http500" }) do
      it("is an error with sent = true that says the order may exist (" .. fault .. ")", function()
        sb:fault(fault, "", 1)
        local _, err = sb:client():create_order(small_order(fault))
        assert.is_true(justclick.is_error(err))
        assert.is_true(err.sent, tostring(err))
        assert.is_false(err.retryable)
        assert.is_truthy(err.message:find("the order may exist", 1, true), err.message)
      end)
    end
  end)

  describe("a signed success without a usable result", function()
    for _, shape in ipairs({ "missing", "null", "number", "string" }) do
      it("is a protocol error for create_order (result " .. shape .. "), which says the order may exist", function()
        sb:fault("noresult", shape, 1)
        local err = failed("protocol", 0, sb:client():create_order(small_order(shape)))
        assert.is_true(err.sent)
        assert.is_true(err.verified)
        assert.is_truthy(err.message:find("no bill_id", 1, true), err.message)
        assert.is_truthy(err.message:find("the order may exist", 1, true), err.message)
      end)
    end

    it("is a protocol error for a read that needs a result", function()
      local client = sb:client()
      local id = assert(client:create_order(small_order("details"))).bill_id
      sb:fault("noresult", "number", 1)
      failed("protocol", 0, client:order_details(id))
    end)

    it("is a success, with no error raised, for a write answered 601 with a result that is no table", function()
      local client = sb:client()
      for _, result in ipairs({ "null", '"exists"', "7" }) do
        local body = ('{"error_code":601,"error_text":"Order already exists","result":%s,"hash":"%s"}')
          :format(result, md5("601::Order already exists::" .. sandbox.secret))
        local value, err = engine.settle(client, "UpdateOrderStatus", 200, body)
        assert.is_nil(err)
        assert.is_truthy(value)
      end
    end)

    it("is a success for a write whose result says nothing", function()
      local client = sb:client()
      local id = assert(client:create_order(small_order("cancel"))).bill_id
      sb:fault("noresult", "missing", 1)
      assert.is_true(client:update_order_status(id, "cancel"))
    end)
  end)

  describe("an error_text full of control characters", function()
    it("is shown with its control characters made visible, in the message and in tostring", function()
      sb:fault("escapes", "", 1)
      local err = failed("api", 602, sb:client():create_order(small_order("escapes")))
      assert.is_true(err.verified)
      for _, text in ipairs({ err.message, tostring(err) }) do
        assert.is_falsy(text:find("[%c\127]"), text)
        assert.is_truthy(text:find("\\x1b[31m", 1, true), text)
        assert.is_truthy(text:find("declined\\x1b[0m\\rOrder created\\nline two", 1, true), text)
      end
    end)
  end)

  describe("an error_text that holds the secret", function()
    it("is not shown at all, whatever the secret's length", function()
      for _, secret in ipairs({ "s", "sandbox-secret" }) do
        local client = sb:client({ secret = secret })
        local text = "bad request: sandbox-secret"
        local body = ('{"error_code":3,"error_text":"%s","hash":"%s"}'):format(text, md5("3::" .. text .. "::" .. secret))
        local _, err = engine.settle(client, "GetBills", 200, body)
        assert.are.equal("(not shown: it held the secret)", err.message)
        assert.is_falsy(tostring(err):find("sandbox-secret", 1, true))
      end
    end)
  end)

  describe("timeout", function()
    it("bounds the whole call, retries and waits included", function()
      sb:fault("slow", "3000", 0)
      local client = sb:client({ timeout = 1, retries = 2, backoff = 0.2 })
      local started = core.now()
      local err = failed("transport", 28, client:order_details(100001))
      local took = core.now() - started
      assert.is_true(took < 1.6, ("a 1 s call took %.2f s over %d attempts"):format(took, err.attempts))
    end)

    it("bounds orders_with_goods, which asks 28 days at a time", function()
      sb:control("latency", { ms = 600 })
      local client = sb:client({ timeout = 1 })
      local started = core.now()
      local err = failed("transport", 28, client:orders_with_goods({ from = "01.01.2026", to = "30.06.2026" }))
      local took = core.now() - started
      sb:control("clear")
      assert.is_true(took < 1.6, ("a 1 s call took %.2f s over its requests"):format(took))
      assert.is_string(err.message)
    end)

    it("refuses a value that is no number of seconds, with a message that says so", function()
      for _, bad in ipairs({ math.huge, 0, -1, 0 / 0 }) do
        local ok, message = pcall(sb.client, sb, { timeout = bad })
        assert.is_false(ok)
        assert.is_truthy(tostring(message):find("timeout must be a number of seconds from 0.001 to 86400", 1, true),
          tostring(message))
      end
    end)
  end)

  describe("bad input, refused before anything is sent", function()
    it("refuses an order whose table reads through __index, naming the metamethod", function()
      local client = sb:client()
      local order = setmetatable({ goods = { { good_name = "sales" } } }, { __index = { bill_email = "x@example.com" } })
      local err = failed("input", nil, client:create_order(order))
      assert.is_truthy(err.message:find("__index", 1, true), err.message)
      local goods = { setmetatable({}, { __index = { good_name = "sales" } }) }
      err = failed("input", nil, client:create_order({ bill_email = "x@example.com", goods = goods }))
      assert.is_truthy(err.message:find("goods[1]", 1, true), err.message)
      assert.are.equal(0, sb:stats().requests)
    end)

    it("refuses a hash key, which the signature reserves", function()
      local client = sb:client()
      local order = small_order("hash")
      order.hash = "0123"
      local err = failed("input", nil, client:create_order(order))
      assert.is_truthy(err.message:find("hash", 1, true), err.message)
      failed("input", nil, client:call("GetBills", { email = "x@example.com", ["hash[x]"] = 1 }))
      assert.are.equal(0, sb:stats().requests)
    end)

    it("refuses dates out of range in orders_with_goods", function()
      local client = sb:client()
      failed("input", nil, client:orders_with_goods({ from = number.maxinteger, to = number.maxinteger }))
      failed("input", nil, client:orders_with_goods({ from = number.mininteger, to = os.time() }))
      assert.are.equal(0, sb:stats().requests)
    end)
  end)

  describe("bills", function()
    it("reads GetBills' keyed shape and the list shape into one", function()
      local client = sb:client()
      local a = assert(client:create_order({ bill_email = "shape@example.com", goods = {
        { good_name = "sales", good_sum = 900 }, { good_name = "invoice" } } })).bill_id
      local b = assert(client:create_order(small_order("b", "shape@example.com"))).bill_id
      local keyed = assert(client:bills("shape@example.com"))
      sb:fault("billslist", "", 1)
      local listed = assert(client:bills("shape@example.com"))
      for _, bills in ipairs({ keyed, listed }) do
        assert.are.same({ a, b }, { bills[1].bill_id, bills[2].bill_id })
        assert.are.same({ { good_name = "invoice", good_sum = 1500 }, { good_name = "sales", good_sum = 900 } },
          bills[1].goods)
        assert.are.equal("integer", number.type(bills[1].bill_id))
      end
    end)
  end)
end)

describe("justclick.visible", function()
  it("shows control characters as escapes and leaves the rest", function()
    assert.are.equal("a\\nb\\x1b[0m\\x00 é", justclick.visible("a\nb\27[0m\0 é"))
  end)

  it("shows C1 controls, line separators, bidirectional overrides and bytes that are not UTF-8", function()
    -- U+009B (CSI), U+0085 (NEL), U+2028, U+202E, U+061C; a lone \x9b; an overlong "/"; Cyrillic stays
    local text = "\194\155 \194\133 \226\128\168 \226\128\174 \216\156 \155 \192\175 заказ"
    assert.are.equal("\\u{009B} \\u{0085} \\u{2028} \\u{202E} \\u{061C} \\x9b \\xc0\\xaf заказ",
      justclick.visible(text))
  end)
end)
