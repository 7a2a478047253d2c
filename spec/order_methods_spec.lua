-- The order methods beyond CreateOrder and getOrderDetails, typed and checked, against the
-- sandbox.
local justclick = require "justclick"
local sandbox = require "support.sandbox"

local sb

local function order(tag, opts)
  local o = { bill_email = opts and opts.email or "buyer@example.com", bill_tag = tag,
    goods = { { good_name = opts and opts.good or "sales" } } }
  if opts and opts.created then o.bill_created = opts.created end
  return o
end

local failed = require("support.expect").failure

local function day(y, m, d) return os.time({ year = y, month = m, day = d, hour = 12 }) end

describe("order methods", function()
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  describe("update_order_status", function()
    it("marks an order paid, sent, returned and cancelled", function()
      local c = sb:client()
      local id = assert(c:create_order(order("status"))).bill_id
      assert(c:update_order_status(id, "paid", { date = day(2026, 11, 1) }))
      local info = assert(c:order_details(id))
      assert.are.equal("paid", info.pay_status)
      assert.are.equal(sandbox.server_time(day(2026, 11, 1)), info.paid)
      assert(c:update_order_status(id, "sent", { date = day(2026, 11, 2), rpo = "RA123456789RU" }))
      assert(c:update_order_status(id, "return"))
      assert(c:update_order_status(id, "cancel"))
      assert.are.equal("cancel", assert(c:order_details(id)).pay_status)
    end)

    it("checks its parameters before sending anything", function()
      local c = sb:client()
      local before = sb:stats().requests
      failed("input", nil, c:update_order_status(7, "lost"))
      failed("input", nil, c:update_order_status(7, "paid"))
      failed("input", nil, c:update_order_status(7, "sent", { date = os.time() }))
      failed("input", nil, c:update_order_status(7, "paid", { date = "yesterday" }))
      assert.are.equal(before, sb:stats().requests)
      assert.has_error(function() c:update_order_status("7", "paid") end)
      assert.has_error(function() c:update_order_status(7, "paid", { when = 1 }) end)
    end)

    it("reports an order that does not exist", function()
      failed("api", 302, sb:client():update_order_status(424242, "cancel"))
    end)
  end)

  describe("delete_order", function()
    it("deletes an order, which then does not exist", function()
      local c = sb:client()
      local id = assert(c:create_order(order("delete"))).bill_id
      assert(c:delete_order(id))
      failed("api", 400, c:order_details(id))
      failed("api", 200, c:delete_order(id))
      assert.has_error(function() c:delete_order(nil) end)
    end)
  end)

  describe("bills", function()
    it("lists an email's bills, by payment status", function()
      local c = sb:client()
      local a = assert(c:create_order(order("a", { email = "two@example.com" }))).bill_id
      local b = assert(c:create_order(order("b", { email = "two@example.com", good = "invoice" }))).bill_id
      assert(c:update_order_status(b, "paid", { date = os.time() }))
      local all = assert(c:bills("two@example.com"))
      assert.are.same({ a, b }, { all[1].bill_id, all[2].bill_id })
      assert.are.same({ { good_name = "invoice", good_sum = 1500 } }, all[2].goods)
      local paid = assert(c:bills("two@example.com", { pay_status = "paid" }))
      assert.are.equal(1, #paid)
      assert.are.equal(b, paid[1].bill_id)
      failed("api", 500, c:bills("nobody@example.com"))
      failed("input", nil, c:bills(""))
      failed("input", nil, c:bills("two@example.com", { pay_status = "lost" }))
    end)
  end)

  describe("all_goods", function()
    it("lists the shop's products", function()
      local goods = assert(sb:client():all_goods())
      local names = {}
      for i, g in ipairs(goods) do names[i] = g.good_name end
      assert.are.same({ "book", "course", "invoice", "sales" }, names)
      assert.are.equal(1500, goods[3].good_sum)
    end)
  end)

  describe("orders_with_goods", function()
    it("splits a range longer than 28 days into windows, and merges the answers", function()
      local c = sb:client()
      local ids = {}
      for i, created in ipairs({ day(2026, 1, 5), day(2026, 2, 10), day(2026, 3, 15), day(2026, 4, 20) }) do
        ids[i] = assert(c:create_order(order("w" .. i, { created = created }))).bill_id
      end
      local before = sb:stats().requests
      local orders = assert(c:orders_with_goods({ from = "01.01.2026", to = "2026-03-31" }))
      assert.are.equal(4, sb:stats().requests - before) -- 90 days: 28, 28, 28 and 6
      local got = {}
      for i, o in ipairs(orders) do got[i] = o.id end
      assert.are.same({ ids[1], ids[2], ids[3] }, got)
      -- each order as getOrderDetails tells it
      assert.are.same({ 1, "sales", 990 }, { #orders[1].items, orders[1].items[1].id, orders[1].items[1].sum })
    end)

    it("takes unix times, and filters by payment and by goods", function()
      local c = sb:client()
      local paid = assert(c:create_order(order("p", { created = day(2026, 6, 3), good = "invoice" }))).bill_id
      local unpaid = assert(c:create_order(order("u", { created = day(2026, 6, 4) }))).bill_id
      assert(c:update_order_status(paid, "paid", { date = day(2026, 6, 5) }))
      local from, to = day(2026, 6, 1), day(2026, 6, 30)
      assert.are.equal(2, #assert(c:orders_with_goods({ from = from, to = to })))
      assert.are.equal(paid, assert(c:orders_with_goods({ from = from, to = to, paid = true }))[1].id)
      assert.are.equal(unpaid, assert(c:orders_with_goods({ from = from, to = to, paid = false }))[1].id)
      local by_goods = assert(c:orders_with_goods({ from = from, to = to, goods = { "invoice" } }))
      assert.are.equal(1, #by_goods)
      assert.are.equal(paid, by_goods[1].id)
      assert.are.same({}, assert(c:orders_with_goods({ from = from, to = to, goods = "course" })))
    end)

    it("checks its dates before sending anything", function()
      local c = sb:client()
      local before = sb:stats().requests
      failed("input", nil, c:orders_with_goods({ from = "31.02.2026", to = "01.03.2026" }))
      failed("input", nil, c:orders_with_goods({ from = "2026-03-02", to = "2026-03-01" }))
      failed("input", nil, c:orders_with_goods({ from = "yesterday", to = os.time() }))
      failed("input", nil, c:orders_with_goods({ from = os.time(), to = os.time(), paid = "yes" }))
      assert.are.equal(before, sb:stats().requests)
      assert.has_error(function() c:orders_with_goods({ since = 1 }) end)
    end)
  end)

  describe("at the module level", function()
    it("uses the module-level client", function()
      justclick.configure({ user = sandbox.user, secret = sandbox.secret, api_url = sb.api_url })
      local id = assert(justclick.create_order(order("module"))).bill_id
      assert(justclick.update_order_status(id, "paid", { date = os.time() }))
      assert.are.equal(1, #assert(justclick.bills("buyer@example.com", { pay_status = "paid" })))
      assert.are.equal(4, #assert(justclick.all_goods()))
      -- unix times are days of this machine's zone; the sandbox's days are Moscow's, up to a day ahead
      assert.are.equal(1, #assert(justclick.orders_with_goods({ from = os.time() - 86400, to = os.time() + 86400 })))
      assert(justclick.delete_order(id))
    end)
  end)
end)
