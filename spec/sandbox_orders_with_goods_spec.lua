-- The sandbox's getOrdersWithGoods, which catch-up reads (issue 20), as the reference documents
-- it: each order shaped as getOrderDetails' result; paid=1 by the time of payment, and only the
-- bills paid now; paid=0 and no paid by the time of creation; the goods filter; today without
-- dates, now without an end; a span over a month cut to a month, keeping its end. And
-- /__sandbox/seed, which makes a busy month of paid bills for a benchmark of catch-up.
local core = require "justclick.core"
local cjson = require "cjson"
local justclick = require "justclick"
local sandbox = require "support.sandbox"

local DAY = 86400
local sb

-- A signed API call's decoded reply, asserting a 200.
local function call(method, params)
  local status, body = sb:post("/api/" .. method, params)
  assert.are.equal(200, status, tostring(body))
  return cjson.decode(body)
end

-- getOrdersWithGoods' result, asserting code 0.
local function orders(params)
  local r = call("getOrdersWithGoods", params)
  assert.are.equal(0, r.error_code, r.error_text)
  return r.result
end

-- The bill ids of a result, in its order.
local function ids(result)
  local out = {}
  for i, o in ipairs(result) do out[i] = o.id end
  return out
end

-- The sandbox's day (dd.mm.yyyy, Europe/Moscow: UTC+3, no summer time) of unix time t.
local function day(t) return os.date("!%d.%m.%Y", t + 3 * 3600) end

local n = 0
-- A new bill's id: goods (product codes, default {"sales"}) and created (unix time, default now).
local function bill(goods, created, extra)
  n = n + 1
  local list = {}
  for i, g in ipairs(goods or { "sales" }) do list[i] = { good_name = g } end
  local o = { bill_email = ("owg%d@example.com"):format(n), goods = list, bill_created = created }
  for k, v in pairs(extra or {}) do o[k] = v end
  local r = call("CreateOrder", o)
  assert.are.equal(0, r.error_code, r.error_text)
  return r.result.bill_id
end

-- POST /__sandbox/pay for the bill, paid at unix time `at` (default now).
local function pay(id, at) return sb:control("pay", { bill_id = id, at = at }) end

-- Runs body, and once more if the sandbox's day changed meanwhile: a test of "today" must not
-- fail because it ran across midnight.
local function within_one_day(body)
  local before = day(os.time())
  local ok, err = pcall(body)
  if not ok and day(os.time()) ~= before then return body() end
  if not ok then error(err, 0) end
end

-- The unix time of noon in Moscow (09:00 UTC) on day d of month m of year y, whatever this
-- machine's zone (days from 1970-01-01 by the civil calendar).
local function moscow_noon(d, m, y)
  if m <= 2 then y, m = y - 1, m + 12 end
  local days = 365 * y + math.floor(y / 4) - math.floor(y / 100) + math.floor(y / 400)
    + math.floor((153 * (m - 3) + 2) / 5) + d - 719469
  return days * DAY + 9 * 3600
end

describe("the sandbox's getOrdersWithGoods", function()
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  it("answers each order as getOrderDetails answers for the same bill, by id", function()
    local now = os.time()
    local a = bill({ "course", "sales" }, now - 3600, {
      bill_first_name = "Иван", bill_surname = "Petrov", bill_phone = "+79001234567", bill_tag = "t",
      bill_domain = "shop.example.com",
      utm = { utm_medium = "cpc", utm_source = "direct" },
    })
    local b = bill({ "invoice" })
    local c = bill({ "sales" })
    pay(a, now - 60)
    sb:prepay(b, "100")
    call("UpdateOrderStatus", { bill_id = c, status = "cancel" })
    local result = orders({ begin_date = day(now - DAY), end_date = day(now + DAY) })
    assert.are.same({ a, b, c }, ids(result))
    for i, id in ipairs({ a, b, c }) do
      local details = call("getOrderDetails", { bill_id = id })
      assert.are.equal(0, details.error_code)
      assert.are.same(details.result, result[i])
    end
    -- not an empty likeness: the fields catch-up reads are there
    assert.are.same({ "paid", sandbox.server_time(now - 60), 0, 5990 },
      { result[1].pay_status, result[1].paid, result[1].bill_sum_topay, result[1].price })
    assert.are.same({ "course", "sales" }, { result[1].items[1].id, result[1].items[2].id })
    assert.are.same({ "waiting", "", 1400 }, { result[2].pay_status, result[2].paid, result[2].bill_sum_topay })
  end)

  it("with paid=1 selects the bills paid within the span, by the time of payment, that are paid now", function()
    within_one_day(function()
      sb:reset()
      local now = os.time()
      local paid_today = bill(nil, now - 20 * DAY) -- made 20 days ago, paid today
      pay(paid_today)
      local paid_before = bill(nil, now - 20 * DAY) -- paid 10 days ago
      pay(paid_before, now - 10 * DAY)
      local unpaid = bill(nil, now) -- made today, never paid
      local refunded = bill(nil, now) -- paid today, then the money went back
      pay(refunded)
      sb:control("refund", { bill_id = refunded })
      local today = day(now)
      local last3 = { begin_date = day(now - 2 * DAY), end_date = today }

      assert.are.same({ paid_today }, ids(orders({ paid = 1 }))) -- no dates: today
      assert.are.same({ paid_today }, ids(orders({ paid = 1, begin_date = today, end_date = today })))
      assert.are.same({ paid_today }, ids(orders({ paid = 1, begin_date = last3.begin_date, end_date = today })))
      assert.are.same({ paid_today }, ids(orders({ paid = 1, begin_date = last3.begin_date }))) -- up to now
      -- by id, not by the time of payment
      assert.are.same({ paid_today, paid_before },
        ids(orders({ paid = 1, begin_date = day(now - 12 * DAY), end_date = today })))
      assert.are.same({ paid_before }, ids(orders({ paid = 1, begin_date = day(now - 10 * DAY),
        end_date = day(now - 10 * DAY) })))
      -- paid=0: made in the span and not paid now; no paid: made in the span
      assert.are.same({ unpaid, refunded }, ids(orders({ paid = 0, begin_date = today, end_date = today })))
      assert.are.same({}, ids(orders({ paid = 0, begin_date = day(now - 21 * DAY), end_date = day(now - 19 * DAY) })))
      assert.are.same({ unpaid, refunded }, ids(orders({})))
      assert.are.same({ paid_today, paid_before },
        ids(orders({ begin_date = day(now - 20 * DAY), end_date = day(now - 20 * DAY) })))
    end)
  end)

  it("filters by goods: one product id or a list; an order matches by any of its items", function()
    local now = os.time()
    local inv = bill({ "invoice" })
    local mixed = bill({ "course", "sales" })
    local sales = bill({ "sales" })
    for _, id in ipairs({ inv, mixed, sales }) do pay(id) end
    local span = { begin_date = day(now - DAY), end_date = day(now + DAY) }
    local function with(goods, paid)
      return ids(orders({ begin_date = span.begin_date, end_date = span.end_date, goods = goods, paid = paid }))
    end
    -- GetAllGoods' good_id is what goods takes
    local good_id = {}
    for _, g in ipairs(call("GetAllGoods", {}).result) do good_id[g.good_name] = g.good_id end
    assert.are.same({ inv }, with(good_id.invoice))
    assert.are.same({ mixed }, with({ good_id.course }))
    assert.are.same({ mixed, sales }, with(good_id.sales, 1))
    assert.are.same({ inv, mixed }, with({ good_id.invoice, good_id.course }))
    assert.are.same({}, with(good_id.book))
    assert.are.same({}, with("no-such-product"))
    assert.are.same({ inv, mixed, sales }, with(nil))
  end)

  it("cuts a span longer than a month to the month before its end, with no error", function()
    local now = os.time()
    local old = bill(nil, now - 40 * DAY)
    pay(old, now - 35 * DAY)
    local recent = bill(nil, now - 40 * DAY)
    pay(recent, now - 20 * DAY)
    local forty = orders({ paid = 1, begin_date = day(now - 40 * DAY), end_date = day(now) })
    assert.are.same({ recent }, ids(forty))
    -- the old payment is there to be found in a span that holds it
    assert.are.same({ old }, ids(orders({ paid = 1, begin_date = day(now - 40 * DAY), end_date = day(now - 30 * DAY) })))
    -- created 40 days ago, both: a 40-day span by creation finds neither, a 10-day one both
    assert.are.same({}, ids(orders({ begin_date = day(now - 40 * DAY), end_date = day(now) })))
    assert.are.same({ old, recent }, ids(orders({ begin_date = day(now - 45 * DAY), end_date = day(now - 35 * DAY) })))
  end)

  it("keeps the end of a cut span: a month back from the day after end_date", function()
    -- 31.03.2026: from 01.03; 30.03.2026: from 28.02 (February has no 30th)
    local feb28 = bill(nil, moscow_noon(28, 2, 2026))
    local feb27 = bill(nil, moscow_noon(27, 2, 2026))
    local mar01 = bill(nil, moscow_noon(1, 3, 2026))
    local mar31 = bill(nil, moscow_noon(31, 3, 2026))
    assert.are.equal("2026-02-28 12:00:00", call("getOrderDetails", { bill_id = feb28 }).result.created)
    assert.are.same({ mar01, mar31 }, ids(orders({ begin_date = "01.01.2026", end_date = "31.03.2026" })))
    assert.are.same({ feb28, mar01 }, ids(orders({ begin_date = "01.01.2026", end_date = "30.03.2026" })))
    assert.are.same({ feb28, feb27 }, ids(orders({ begin_date = "01.02.2026", end_date = "28.02.2026" })))
  end)

  it("answers code 3 for a bad date, an end before the beginning, or a paid that is not 1 or 0", function()
    for _, bad in ipairs({ { begin_date = "31.02.2026" }, { begin_date = "2026-03-01", end_date = "31.03.2026" },
      { begin_date = "01.03.2026", end_date = "1.4.2026" }, { begin_date = "02.03.2026", end_date = "01.03.2026" },
      { paid = "true" }, { paid = "yes" }, { goods = { x = { "nested" } } } }) do
      local r = call("getOrdersWithGoods", bad)
      assert.are.equal(3, r.error_code, cjson.encode(bad))
      assert.are.equal(cjson.null, r.result)
    end
  end)
end)

describe("the sandbox's /__sandbox/seed", function()
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  -- POST /__sandbox/seed: status and the decoded reply.
  local function seed(params)
    local status, body = sb.session:post(sb.url .. "/__sandbox/seed", justclick.build_query(params))
    return status, cjson.decode(body)
  end

  it("makes paid bills spread over the last days, without a notification, that getOrdersWithGoods lists", function()
    sb:notify({ url = sb.url .. "/__sandbox/stats" }) -- a notification, were one queued, would show
    local now = os.time()
    local status, r = seed({ count = 300, days = 10 })
    assert.are.equal(200, status, cjson.encode(r))
    assert.are.same({ true, 300, r.first_bill_id + 299 }, { r.ok, r.count, r.last_bill_id })
    assert.is_true(r.first_paid >= now - 10 * DAY - 5 and r.last_paid <= os.time() + 1, cjson.encode(r))
    local all = orders({ paid = 1, begin_date = day(now - 10 * DAY), end_date = day(os.time()) })
    assert.are.equal(300, #all)
    assert.are.same({ r.first_bill_id, r.last_bill_id }, { all[1].id, all[300].id })
    for _, o in ipairs(all) do
      assert.are.same({ "paid", 0, r.good_name }, { o.pay_status, o.bill_sum_topay, o.items[1].id })
    end
    assert.are.same(call("getOrderDetails", { bill_id = r.first_bill_id }).result, all[1])
    -- spread: the last 3 days hold some, not all
    local recent = #orders({ paid = 1, begin_date = day(os.time() - 2 * DAY) })
    assert.is_true(recent > 0 and recent < 300, tostring(recent))
    assert.are.same({}, sb:notifications().notifications)
    assert.are.equal(300, sb:stats().orders)
  end)

  it("makes 10,000 that one getOrdersWithGoods lists in well under 5 s", function()
    local status, r = seed({ count = 10000, days = 25 })
    assert.are.equal(200, status, cjson.encode(r))
    local started = core.now()
    local all = orders({ paid = 1, begin_date = day(os.time() - 25 * DAY) })
    local took = core.now() - started
    assert.are.equal(10000, #all)
    assert.are.same({ r.first_bill_id, r.last_bill_id }, { all[1].id, all[10000].id })
    assert.is_true(took < 5, ("getOrdersWithGoods over 10,000 paid bills took %.2f s"):format(took))
  end)

  it("takes good_name, and refuses a count out of range, bad days or an unknown product", function()
    local status, r = seed({ count = 2, good_name = "invoice" })
    assert.are.equal(200, status)
    assert.are.equal("invoice", r.good_name)
    assert.are.equal("invoice", call("getOrderDetails", { bill_id = r.first_bill_id }).result.items[1].id)
    for _, bad in ipairs({ {}, { count = 0 }, { count = 100001 }, { count = "x" }, { count = 1, days = 0 },
      { count = 1, days = "soon" }, { count = 1, good_name = "nothing" } }) do
      assert.are.equal(400, (seed(bad)), cjson.encode(bad))
    end
    assert.are.equal(2, sb:stats().orders)
  end)
end)
