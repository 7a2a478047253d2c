-- The sandbox's faults on a notification's way to the shop, which catch-up (issue 20) exists for:
-- drop=N loses the next N (never sent, listed as dropped); delay=SECONDS holds the next ones
-- before their first send, so that a catch-up pass can run first; and /__sandbox/pay's `at`,
-- a payment of days ago. Over real HTTP to a receiver (spec/support/receiver.php).
local core = require "justclick.core"
local cjson = require "cjson"
local justclick = require "justclick"
local sandbox = require "support.sandbox"
local receiver = require "support.receiver"

local DAY = 86400
local sb, rc

-- A signed API call's decoded reply, asserting a 200.
local function call(method, params)
  local status, body = sb:post("/api/" .. method, params)
  assert.are.equal(200, status, tostring(body))
  return cjson.decode(body)
end

local n = 0
local function bill()
  n = n + 1
  local r = call("CreateOrder", { bill_email = ("faults%d@example.com"):format(n), goods = { { good_name = "sales" } } })
  assert.are.equal(0, r.error_code, r.error_text)
  return r.result.bill_id
end

local function pay(id, at) return sb:control("pay", { bill_id = id, at = at }) end

-- The listing of the notification about bill `id`.
local function listed(list, id)
  for _, note in ipairs(list.notifications) do
    if note.bill_id == id then return note end
  end
end

-- The bill ids (the body's id) the receiver got, in order.
local function received_ids()
  local out = {}
  for _, r in ipairs(rc:requests()) do out[#out + 1] = tonumber(r.body:match("^id=(%d+)&")) end
  return out
end

-- The raw reply of POST /__sandbox/notify with params: status and body.
local function notify_raw(params)
  return sb.session:post(sb.url .. "/__sandbox/notify", justclick.build_query(params))
end

describe("the sandbox's notification faults", function()
  lazy_setup(function()
    rc = receiver.start()
    sb = sandbox.start()
  end)
  lazy_teardown(function()
    if sb then sb:stop() end
    if rc then rc:stop() end
  end)
  before_each(function()
    sb:settle() -- nothing of the last test's left on its way
    sb:reset()
    rc:clear()
    sb:notify({ url = rc:url("/paid"), events = "paid" }) -- payments only: one notification a bill
  end)

  describe("drop", function()
    it("never sends the next N notifications, and lists each as dropped; the next one goes", function()
      assert.are.equal(2, sb:notify({ drop = 2 }).drop)
      local lost1, lost2, kept = bill(), bill(), bill()
      pay(lost1)
      pay(lost2)
      assert.are.equal(0, sb:notify().drop) -- used up
      pay(kept)
      local list = sb:settle()
      -- the one after them arrives: the notifier ran past the dropped ones
      assert.are.same({ kept }, received_ids())
      assert.are.same({ 2, 1, 0, 0 }, { list.dropped, list.delivered, list.pending, list.given_up })
      for _, id in ipairs({ lost1, lost2 }) do
        local note = listed(list, id)
        assert.are.same({ "paid", "dropped", true, false, 0 },
          { note.event, note.state, note.dropped, note.delivered, note.attempts }, cjson.encode(note))
        assert.matches(("^id=%d&"):format(id), note.body) -- what would have been sent
      end
      assert.are.same({ "delivered", false }, { listed(list, kept).state, listed(list, kept).dropped })
      -- and later still: never sent (the notifier looks at its queue at least once a second)
      core.sleep(2.5)
      assert.are.same({ kept }, received_ids())
      -- the API still knows the payments whose notifications were lost
      local paid = call("getOrdersWithGoods", { paid = 1 }).result
      assert.are.same({ lost1, lost2, kept }, { paid[1].id, paid[2].id, paid[3].id })
    end)
  end)

  describe("delay", function()
    it("holds the next notification SECONDS before its first send; the one after goes at once", function()
      local s = sb:notify({ delay = 3 })
      assert.are.same({ 3, 1 }, { s.delay, s.delay_count })
      local late, prompt = bill(), bill()
      pay(late)
      assert.are.same({ 0, 0 }, { sb:notify().delay, sb:notify().delay_count }) -- used up
      -- a catch-up pass now finds the payment, and the shop has not heard of it
      local paid = call("getOrdersWithGoods", { paid = 1 }).result
      assert.are.same({ late }, { paid[1] and paid[1].id })
      assert.are.equal(3, listed(sb:notifications(), late).delay)
      pay(prompt)
      local list = sb:settle(20)
      assert.are.same({ 2, 0 }, { list.delivered, list.pending })
      local got = rc:requests()
      assert.are.equal(2, #got)
      local late_got = received_ids()[1] == late and got[1] or got[2]
      assert.are.equal(late, tonumber(late_got.body:match("^id=(%d+)&")))
      local queued = listed(list, late).queued
      assert.is_true(late_got.t >= queued + 3 - 0.05, ("sent %.3f s after it was queued"):format(late_got.t - queued))
      assert.are.equal(0, listed(list, prompt).delay)
    end)

    it("delay_count=N holds the next N; delay=0 ends it; a bad setting is a 400 that changes nothing", function()
      assert.are.same({ 2, 2 }, { sb:notify({ delay = 2, delay_count = 2 }).delay, sb:notify().delay_count })
      local a, b, c = bill(), bill(), bill()
      pay(a)
      pay(b)
      pay(c)
      local list = sb:notifications()
      assert.are.same({ 2, 2, 0 }, { listed(list, a).delay, listed(list, b).delay, listed(list, c).delay })
      sb:notify({ delay = 5 })
      assert.are.same({ 0, 0 }, { sb:notify({ delay = 0 }).delay, sb:notify().delay_count })
      local d = bill()
      pay(d)
      assert.are.equal(0, listed(sb:notifications(), d).delay)

      local before = sb:notify()
      for _, bad in ipairs({ { drop = "-1" }, { drop = "x" }, { drop = "1.5" }, { delay = "-1" }, { delay = "soon" },
        { delay = "3601" }, { delay_count = "2" }, { delay = "1", delay_count = "0" }, { delay = "1", delay_count = "x" },
        { drop = "1", delay = "-1" } }) do
        local status, body = notify_raw(bad)
        assert.are.equal(400, status, cjson.encode(bad) .. " " .. tostring(body))
      end
      assert.are.same(before, sb:notify())
      assert.are.same({ 4, 0 }, { sb:settle(20).delivered, sb:notifications().dropped })
    end)
  end)

  it("reset clears drop and delay", function()
    sb:notify({ drop = 3, delay = 5, delay_count = 4 })
    sb:reset()
    local s = sb:notify()
    assert.are.same({ 0, 0, 0 }, { s.drop, s.delay, s.delay_count })
  end)

  describe("pay's at", function()
    it("makes the bill paid then, and notifies now with that paid", function()
      local id = bill()
      local at = os.time() - 10 * DAY
      local started = core.time()
      assert.are.same({ true, "paid" }, { pay(id, at).ok, sb:control("notifications").notifications[1].event })
      local details = call("getOrderDetails", { bill_id = id }).result
      assert.are.same({ "paid", sandbox.server_time(at), 0 }, { details.pay_status, details.paid, details.bill_sum_topay })
      local list = sb:settle()
      assert.are.equal(1, list.delivered)
      local got = rc:wait(1)
      assert.are.equal(1, #got)
      assert.is_true(got[1].t >= started - 1, "sent now") -- not held back to its time
      local paid = got[1].body:match("&paid=([^&]*)")
      assert.are.equal(sandbox.server_time(at), (paid:gsub("%+", " "):gsub("%%3A", ":")))
      -- and listed 10 days ago, not today
      assert.are.same({}, call("getOrdersWithGoods", { paid = 1 }).result)
      local day = os.date("!%d.%m.%Y", at + 3 * 3600)
      assert.are.equal(id, call("getOrdersWithGoods", { paid = 1, begin_date = day, end_date = day }).result[1].id)
    end)

    it("refuses an at that is no unix time, or on cancel and refund", function()
      local id = bill()
      for _, bad in ipairs({ "x", "0", "-5", "1.5" }) do
        local status = sb.session:post(sb.url .. "/__sandbox/pay", ("bill_id=%d&at=%s"):format(id, bad))
        assert.are.equal(400, status, bad)
      end
      assert.are.equal(400, (sb.session:post(sb.url .. "/__sandbox/cancel", ("bill_id=%d&at=1"):format(id))))
      assert.are.equal("waiting", call("getOrderDetails", { bill_id = id }).result.pay_status)
      pay(id)
      assert.are.equal(400, (sb.session:post(sb.url .. "/__sandbox/refund", ("bill_id=%d&at=1"):format(id))))
      assert.are.equal("paid", call("getOrderDetails", { bill_id = id }).result.pay_status)
    end)
  end)
end)
