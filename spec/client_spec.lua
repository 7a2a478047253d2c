-- The client against the sandbox, over real HTTP: results, every error kind from a real fault,
-- timeouts, retries, keep-alive, and the secret kept out of every error.
local justclick = require "justclick"
local core = require "justclick.core"
local sandbox = require "support.sandbox"
local example = require "support.docs_example"
local number = require "support.number"

local sb

-- An order the sandbox accepts, unique by its tag.
local function small_order(tag)
  return { bill_email = "buyer@example.com", bill_tag = tag, goods = { { good_name = "sales" } } }
end

-- Asserts an error of `kind` (and `code`, when given) and returns it.
local failed = require("support.expect").failure

describe("the client against the sandbox", function()
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  describe("the docs' CreateOrder example", function()
    it("creates the order and reads back every documented field", function()
      local client = sb:client()
      local order = example.order()
      order.bill_domain = "shop.example.com"
      local created = assert(client:create_order(order))
      assert.are.equal("integer", number.type(created.bill_id))
      assert.is_truthy(created.link:match("^http://shop%.example%.com/bill/%x+$"), created.link)
      assert.is_nil(created.existing)

      local info = assert(client:order_details(created.bill_id, { good_info = true }))
      assert.are.equal(created.bill_id, info.id)
      local expected = {
        first_name = "Name", last_name = "Surname", middle_name = "Middle Name",
        email = "buyer@example.com", phone = "+39287777777", city = "New York", country = "USA",
        address = "Wall St.", region = "New York", postalcode = "345678", pay_status = "waiting",
        paid = "", comment = "in a beautiful box", domain = "shop.example.com", link = created.link,
        good_count = 2, price = 2490, bill_sum_topay = 2490, tag = "AdWords", kupon = "skidka50",
        prepayment_enabled = 1, prepayment_minsum = 500,
      }
      for field, value in pairs(expected) do assert.are.equal(value, info[field], field) end
      assert.are.equal(sandbox.server_time(1291001819), info.created)
      assert.is_string(info.type)
      assert.is_string(info.payway)
      assert.are.same({ medium = "cpc", source = "direct", campaign = "my campaign",
        content = "content_123", term = "my_label" }, info.utm)
      assert.are.same({ "invoice", "sales" }, info.good_ids)
      assert.are.equal(2, #info.items)
      assert.are.same({ id = "invoice", title = "Invoice template", sum = 1500, price = 1500,
        pincode = "", partners = {} }, info.items[1])
      assert.are.same({ id = "sales", title = "Sales course", sum = 990, price = 990,
        pincode = "", partners = {} }, info.items[2])
      assert.are.equal("integer", number.type(info.items[1].sum))
    end)

    it("says who it is: User-Agent justclick-lua/<version>", function()
      assert(sb:client():create_order(small_order("agent")))
      assert.are.equal("justclick-lua/" .. justclick._VERSION, sb:stats().user_agent)
    end)

    it("leaves the good_info fields out unless asked", function()
      local client = sb:client()
      local created = assert(client:create_order(example.order()))
      local info = assert(client:order_details(created.bill_id))
      assert.is_nil(info.good_ids)
      assert.is_nil(info.prepayment_minsum)
      assert.are.equal("/bill/", created.link:match("^/bill/"))
    end)

    it("gives a repeated order as the existing one, marked existing, and not as a failure", function()
      local client = sb:client()
      local first = assert(client:create_order(small_order("again")))
      local second = assert(client:create_order(small_order("again")))
      assert.are.equal(first.bill_id, second.bill_id)
      assert.is_true(second.existing)
      assert.are.equal(1, sb:stats().orders)
    end)
  end)

  describe("error kinds, each from a real fault", function()
    it("transport: the server is down", function()
      local client = justclick.new({ user = "demo", secret = "s", api_url = "http://127.0.0.1:1/api",
        retries = 0 })
      local err = failed("transport", 7, client:order_details(1))
      assert.is_false(err.sent)
      assert.are.equal("COULDNT_CONNECT", err.name) -- libcurl's name, as Lua-cURL gives it
    end)

    it("concatenate as their text, on either side of ..", function()
      local client = justclick.new({ user = "demo", secret = "s", api_url = "http://127.0.0.1:1/api",
        retries = 0 })
      local _, err = client:order_details(1)
      assert.are.equal("order 1: " .. tostring(err), "order 1: " .. err)
      assert.are.equal(tostring(err) .. "\n", err .. "\n")
      assert.are.equal(tostring(err) .. tostring(err), err .. err)
      assert.are.equal("1: " .. tostring(err), 1 .. ": " .. err)
    end)

    it("http: a 500", function()
      sb:fault("http500", "", 0)
      local err = failed("http", 500, sb:client({ retries = 0 }):order_details(1))
      assert.is_true(err.retryable)
    end)

    it("http: a redirect, which a POST does not follow", function()
      sb:fault("redirect")
      failed("http", 307, sb:client():order_details(1))
      assert.are.equal(1, sb:stats().requests)
    end)

    it("protocol: a body that is not JSON", function()
      sb:fault("notjson")
      local err = failed("protocol", nil, sb:client():order_details(1))
      assert.is_truthy(err.message:find("not JSON", 1, true), err.message)
    end)

    it("protocol: a success whose reply hash does not verify", function()
      local client = sb:client()
      local created = assert(client:create_order(small_order("badhash")))
      sb:fault("badhash")
      local err = failed("protocol", 0, client:order_details(created.bill_id))
      assert.is_false(err.verified)
    end)

    it("api, unverified: an error reply whose hash does not verify is still that error", function()
      sb:fault("badhash")
      local err = failed("api", 400, sb:client():order_details(1))
      assert.is_false(err.verified)
    end)

    it("protocol: a reply over the size limit", function()
      sb:fault("huge")
      local err = failed("protocol", nil, sb:client():order_details(1))
      assert.is_truthy(err.message:find("max_reply", 1, true), err.message)
    end)

    it("transport: a connection dropped mid-reply", function()
      sb:fault("drop")
      failed("transport", 18, sb:client({ retries = 0 }):order_details(1))
    end)

    it("api 4, unverified, for a wrong secret, with a hint to check it", function()
      local err = failed("api", 4, sb:client({ secret = "wrong" }):order_details(1))
      assert.is_false(err.verified)
      assert.is_truthy(tostring(err):find("check the user and the secret", 1, true), tostring(err))
    end)

    it("api 4, unverified, for a wrong secret on a write: the hint, and sent = true, since it may be forged", function()
      local err = failed("api", 4, sb:client({ secret = "wrong" }):create_order(small_order("wrong secret")))
      assert.are.same({ false, true, false }, { err.verified, err.sent, err.retryable })
      assert.is_truthy(tostring(err):find("check the user and the secret", 1, true), tostring(err))
      assert.is_truthy(err.message:find("the order may exist", 1, true), err.message)
      assert.are.same({ 1, 0 }, { sb:stats().requests, sb:stats().orders })
    end)

    it("api 400 for an unknown order, verified", function()
      local err = failed("api", 400, sb:client():order_details(424242))
      assert.is_true(err.verified)
      assert.are.equal("Order not found", err.message)
    end)

    it("input for missing goods, email or good_name, and nothing is sent", function()
      local client = sb:client()
      local before = sb:stats().requests
      failed("input", nil, client:create_order({ bill_email = "buyer@example.com" }))
      failed("input", nil, client:create_order({ bill_email = "buyer@example.com", goods = {} }))
      failed("input", nil, client:create_order({ goods = { { good_name = "sales" } } }))
      local err = failed("input", nil, client:create_order({ bill_email = "buyer@example.com",
        goods = { { good_name = "sales" }, { good_sum = 5 } } }))
      assert.is_truthy(err.message:find("goods[2].good_name", 1, true), err.message)
      err = failed("input", nil, client:create_order({ bill_email = "buyer@example.com",
        goods = { { good_name = "sales", good_sum = 0 / 0 } } }))
      assert.is_truthy(err.message:find("goods[1].good_sum", 1, true), err.message)
      assert.are.equal(before, sb:stats().requests)
      assert.are.equal(0, client:stats().requests)
    end)

    it("the API's own refusals: a product that does not exist, and delivery data", function()
      local client = sb:client()
      failed("api", 604, client:create_order({ bill_email = "buyer@example.com", goods = { { good_name = "nope" } } }))
      failed("api", 605, client:create_order({ bill_email = "buyer@example.com", goods = { { good_name = "book" } } }))
      failed("api", 600, client:create_order({ bill_email = "not an email", goods = { { good_name = "sales" } } }))
    end)
  end)

  describe("argument errors raise", function()
    it("for a client without a secret or a user, or with unknown options", function()
      assert.has_error(function() justclick.new({ user = "demo" }) end)
      assert.has_error(function() justclick.new({ secret = "s" }) end)
      assert.has_error(function() justclick.new({ user = "demo", secret = "s", timeuot = 3 }) end)
      assert.has_error(function() justclick.new({ user = "demo", secret = "s", retries = -1 }) end)
      assert.has_error(function() justclick.new({ user = "demo", secret = "s", api_url = "ftp://x" }) end)
    end)

    it("for a bill_id that is not an integer, and for an order that is not a table", function()
      local client = sb:client()
      assert.error_matches(function() client:order_details("102937") end, "bill_id must be an integer")
      assert.has_error(function() client:order_details(1.5) end)
      assert.has_error(function() client:create_order("order") end)
      assert.has_error(function() client:call("Bad Method", {}) end)
    end)
  end)

  describe("timeouts", function()
    it("are honoured within 20%", function()
      local client = sb:client({ timeout = 1, retries = 0 })
      sb:fault("slow", "3000")
      local start = core.now()
      local err = failed("transport", 28, client:order_details(1))
      local elapsed = core.now() - start
      assert.is_true(elapsed >= 0.8 and elapsed <= 1.2, ("took %.3f s"):format(elapsed))
      assert.is_true(err.sent)
      assert.are.equal("OPERATION_TIMEDOUT", err.name)
    end)
  end)

  describe("retries", function()
    it("repeat a read call after two injected 500s, with backoff", function()
      local client = sb:client({ retries = 2 })
      local created = assert(client:create_order(small_order("retry")))
      sb:fault("http500", "", 2)
      local before = sb:stats().requests
      local info = assert(client:order_details(created.bill_id))
      assert.are.equal(created.bill_id, info.id)
      assert.are.equal(before + 3, sb:stats().requests)
    end)

    it("stop after `retries` attempts, and say how many were made", function()
      sb:fault("http500", "", 0)
      local err = failed("http", 500, sb:client({ retries = 2 }):order_details(1))
      assert.are.equal(3, err.attempts)
    end)

    it("never repeat create_order once it may have reached the server", function()
      local client = sb:client({ timeout = 0.5, retries = 3 })
      sb:fault("slow", "1500")
      local err = failed("transport", 28, client:create_order(small_order("timeout")))
      assert.is_true(err.sent)
      assert.is_false(err.retryable)
      assert.are.equal(1, err.attempts)
      assert.is_truthy(err.message:find("the order may exist", 1, true), err.message)
      core.sleep(1.5) -- the sandbox finishes the slow request
      assert.are.equal(1, sb:stats().requests)
      assert.are.equal(1, sb:stats().orders)
    end)

    it("repeat create_order when the connection never opened", function()
      local client = justclick.new({ user = "demo", secret = "s", api_url = "http://127.0.0.1:1/api",
        retries = 2, backoff = 0.01 })
      local err = failed("transport", 7, client:create_order(small_order("down")))
      assert.is_true(err.retryable)
      assert.are.equal(3, err.attempts)
    end)

  end)

  describe("keep-alive", function()
    it("makes 50 calls over exactly one connection", function()
      local before = sb:connections() -- the sandbox's own control requests keep theirs alive too
      local client = sb:client()
      local created = assert(client:create_order(small_order("keepalive")))
      for _ = 1, 49 do assert(client:order_details(created.bill_id)) end
      assert.are.equal(1, sb:connections() - before)
      assert.are.equal(1, client:stats().connects)
      assert.are.equal(50, client:stats().requests)
    end)
  end)

  describe("keep_alive = false", function()
    it("opens a connection for every call", function()
      local client = sb:client({ keep_alive = false })
      for _ = 1, 5 do failed("api", 400, client:order_details(1)) end
      assert.are.equal(5, client:stats().connects)
    end)
  end)

  describe("the secret", function()
    it("appears in no error message and no tostring of an error or a client", function()
      local secret = "Sup3r-Secret-Value"
      local client = sb:client({ secret = secret, retries = 0 })
      local errors = {}
      local function collect(_, err) errors[#errors + 1] = err end
      collect(client:order_details(1))                         -- api 4
      collect(client:create_order({ goods = {} }))             -- input
      collect(client:create_order({ bill_email = "a@b.cd", goods = { { good_name = "x", good_sum = 0 / 0 } } }))
      sb:fault("notjson")
      collect(client:order_details(1))                         -- protocol
      sb:fault("http500")
      collect(client:order_details(1))                         -- http
      local down = justclick.new({ user = "demo", secret = secret, api_url = "http://127.0.0.1:1/api", retries = 0 })
      collect(down:order_details(1))                           -- transport
      assert.are.equal(6, #errors)
      for _, err in ipairs(errors) do
        assert.is_nil(err.message:find(secret, 1, true), err.message)
        assert.is_nil(tostring(err):find(secret, 1, true), tostring(err))
      end
      assert.is_nil(tostring(client):find(secret, 1, true))
      for _, v in pairs(client) do assert.are_not.equal(secret, v) end
    end)
  end)

  describe("other order methods through call", function()
    it("update the status, list the bills, and delete", function()
      local client = sb:client()
      local created = assert(client:create_order(small_order("status")))
      local id = created.bill_id
      failed("api", 303, client:call("UpdateOrderStatus", { bill_id = id, status = "lost" }))
      assert(client:call("UpdateOrderStatus", { bill_id = id, status = "paid", date = 1700000000 }))
      -- call gives GetBills' result as it comes: keyed by bill id, each bill keyed by its goods
      local bills = assert(client:call("GetBills", { email = "buyer@example.com", pay_status = "paid" }))
      assert.are.same({ tostring(id) }, (function() local k = {} for key in pairs(bills) do k[#k + 1] = key end return k end)())
      assert.are.equal(990, bills[tostring(id)].sales.good_sum)
      assert.are.equal("paid", assert(client:order_details(id)).pay_status)
      assert(client:call("DeleteOrder", { bill_id = id }))
      failed("api", 400, client:order_details(id))
      failed("api", 500, client:call("GetBills", { email = "nobody@example.com" }))
    end)
  end)

  describe("the module-level client", function()
    it("works through justclick.configure", function()
      justclick.configure({ user = sandbox.user, secret = sandbox.secret, api_url = sb.api_url })
      local created = assert(justclick.create_order(small_order("module")))
      assert.are.equal(created.bill_id, assert(justclick.order_details(created.bill_id)).id)
    end)

    it("reads JUSTCLICK_USER, JUSTCLICK_SECRET and JUSTCLICK_API_URL", function()
      local script = [[local j = require "justclick"
        local o = assert(j.create_order{bill_email = "env@example.com", goods = {{good_name = "sales"}}})
        io.write(math.type(o.bill_id))]]
      local p = io.popen(("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s "
        .. "LUA_PATH='lua/?.lua;;' LUA_CPATH='build/lua/?.so;;' lua5.4 -e '%s' 2>&1")
        :format(sandbox.user, sandbox.secret, sb.api_url, script))
      local out = p:read("*a")
      p:close()
      assert.are.equal("integer", out)
      assert.are.equal(1, sb:stats().orders)
    end)
  end)
end)
