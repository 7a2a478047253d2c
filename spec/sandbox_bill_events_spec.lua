-- The sandbox's /__sandbox/pay, cancel and refund are what a buyer or the shop's staff do at
-- JustClick: a buyer cannot pay a bill twice, money cannot go back for a bill never paid, and a
-- cancelled or refunded bill is not paid or cancelled again. Each such request is refused (400,
-- naming the bill's status) and sends no notification: a shop tested against the sandbox sees
-- only the events JustClick could send. An unknown bill is a 404.
local cjson = require "cjson"
local sandbox = require "support.sandbox"

describe("the sandbox's bill events", function()
  local sb

  lazy_setup(function()
    sb = sandbox.start()
    sb:notify { url = sb.url .. "/__sandbox/stats" } -- answers 200: every notification is delivered
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
  end)

  local n = 0
  local function new_bill()
    n = n + 1
    local order = assert(sb:client():create_order { bill_email = ("events%d@example.com"):format(n),
      goods = { { good_name = "invoice" } } })
    return tonumber(order.bill_id)
  end

  -- POST /__sandbox/WHAT bill_id=bill: status and the decoded reply.
  local function event(what, bill)
    local status, body = sb.session:post(sb.url .. "/__sandbox/" .. what, "bill_id=" .. tostring(bill))
    return status, cjson.decode(body)
  end

  local function events_of(bill)
    local said = {}
    for _, note in ipairs(sb:settle().notifications) do
      if note.bill_id == bill then said[#said + 1] = note.event end
    end
    return said
  end

  it("pays a waiting bill once: a second payment is refused and notifies nothing", function()
    local bill = new_bill()
    assert.are.equal(200, (event("pay", bill)))
    local status, reply = event("pay", bill)
    assert.are.equal(400, status, cjson.encode(reply))
    assert.matches("bill " .. bill .. " is paid", reply.error)
    assert.are.same({ "new_order", "paid" }, events_of(bill))
  end)

  it("refunds only a paid bill", function()
    local bill = new_bill()
    local status, reply = event("refund", bill)
    assert.are.equal(400, status, cjson.encode(reply))
    assert.matches("bill " .. bill .. " is waiting", reply.error)
    assert.are.equal(200, (event("pay", bill)))
    assert.are.equal(200, (event("refund", bill)))
    status = event("refund", bill)
    assert.are.equal(400, status)
    status = event("pay", bill)
    assert.are.equal(400, status)
    assert.are.same({ "new_order", "paid", "moneyback" }, events_of(bill))
  end)

  it("cancels a bill not paid, once; a paid bill is refunded, not cancelled", function()
    local bill = new_bill()
    assert.are.equal(200, (event("cancel", bill)))
    assert.are.equal(400, (event("cancel", bill)))
    assert.are.equal(400, (event("pay", bill)))
    local paid = new_bill()
    assert.are.equal(200, (event("pay", paid)))
    local status, reply = event("cancel", paid)
    assert.are.equal(400, status)
    assert.matches("refund", reply.error)
    assert.are.same({ "new_order", "cancel_order" }, events_of(bill))
  end)

  it("answers 404 for a bill that does not exist", function()
    for _, what in ipairs({ "pay", "cancel", "refund" }) do
      assert.are.equal(404, (event(what, 999999)))
    end
  end)
end)
