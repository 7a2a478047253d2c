-- client:paid_bills (issue 20): the bills paid within a span, as paid events typed as a
-- notification's, for hosts that keep their own store. Against the sandbox: only bills paid in
-- the span and paid now; a reply too large for max_reply read again in halves; no products, no
-- bills; bad spans refused before anything is sent.
local core = require "justclick.core"
local sandbox = require "support.sandbox"

describe("client:paid_bills", function()
  local sb

  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  local function new_bill(email)
    local order = assert(sb:client():create_order({ bill_email = email, goods = { { good_name = "invoice" } } }))
    return math.floor(tonumber(order.bill_id))
  end

  it("gives the bills paid in the span and paid now, typed as a notification's events", function()
    local paid, unpaid, old, refunded = new_bill("paid@example.com"), new_bill("unpaid@example.com"),
      new_bill("old@example.com"), new_bill("refunded@example.com")
    sb:control("pay", { bill_id = paid })
    sb:control("pay", { bill_id = old, at = os.time() - 10 * 86400 })
    sb:control("pay", { bill_id = refunded })
    sb:control("refund", { bill_id = refunded })
    local client = sb:client()
    local events = assert(client:paid_bills({ days = 3 }))
    assert.are.equal(1, #events)
    local e = events[1]
    assert.are.same({ "paid", paid, ("paid-%d-api"):format(paid), "api" }, { e.kind, e.id, e.key, e.source })
    assert.are.equal(paid, e.order.id) -- an integer, as a notification's
    assert.are.equal("number", type(e.order.items[1].sum))
    assert.are.equal("paid@example.com", e.order.email)
    assert.are.same(e.order, core.notification_form(e.body))
    -- the same bill, read back, is what the confirmation of a paid event asks for
    assert(client:confirm(e))
    local wider = assert(client:paid_bills({ from = os.time() - 12 * 86400 }))
    assert.are.equal(2, #wider)
    assert.are.same({ paid, old }, { wider[1].id, wider[2].id }) -- by bill id
    for _, event in ipairs(wider) do assert.is_true(event.id ~= unpaid and event.id ~= refunded) end
  end)

  it("reads a span whose reply is too large in halves, down to a day", function()
    local seeded = sb:control("seed", { count = 60, days = 8 })
    local small = sb:client({ max_reply = 16384 }) -- a few bills a reply
    local events = assert(small:paid_bills({ days = 9 }))
    assert.are.equal(60, #events)
    assert.are.equal(seeded.first_bill_id, events[1].id)
    assert.are.equal(seeded.last_bill_id, events[#events].id)
    local requests = small:stats().requests
    assert.is_true(requests > 3, "no read was split: " .. requests)
    local tiny = sb:client({ max_reply = 600 }) -- not even one bill: a day cannot be split
    local none, err = tiny:paid_bills({ days = 9 })
    assert.is_nil(none)
    assert.are.equal("protocol", err.kind)
    assert.matches("max_reply", err.message)
  end)

  it("misses no bill of a span longer than the month the API answers for", function()
    local seeded = sb:control("seed", { count = 90, days = 75 })
    local events = assert(sb:client():paid_bills({ days = 76 }))
    assert.are.equal(90, #events)
    assert.are.same({ seeded.first_bill_id, seeded.last_bill_id }, { events[1].id, events[#events].id })
  end)

  it("refuses a bad span before sending, and gives none for a shop with no products", function()
    local client = sb:client()
    for _, span in ipairs({ { days = -1 }, { days = 1.5 }, { from = "31.02.2026" }, { from = os.time() + 86400 * 3,
      to = os.time() } }) do
      local none, err = client:paid_bills(span)
      assert.is_nil(none)
      assert.are.equal("input", err.kind)
    end
    assert.are.equal(0, client:stats().requests)
    assert.has_error(function() client:paid_bills({ days = 3, from = 1 }) end)
    assert.has_error(function() client:paid_bills({ since = 1 }) end)
    assert.has_error(function() client:paid_bills(3) end)
    -- no products (GetAllGoods' code 700): no bill can have been paid
    assert(os.execute(("sqlite3 %s/sandbox.sqlite 'delete from products' 2>/dev/null"):format(sb.dir)))
    assert.are.same({}, assert(client:paid_bills({ days = 3 })))
  end)
end)
