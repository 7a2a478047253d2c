-- justclick.notification: JustClick's payment notifications, each kind from a body that PHP's own
-- http_build_query wrote and PHP's md5 signed, verified and classified; forged and malformed
-- bodies refused.
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local justclick = require "justclick"
local php = require "support.php"
local number = require "support.number"

local SECRET = "notify-secret-0123456789"

-- The time each kind's hash signs (reference.md, "Payment notifications"): a new or cancelled
-- order's creation time (its body has no paid), a payment's paid, and a refund's the paid of
-- the payment it returns.
local SIGNED = { new_order = "created", cancel_order = "created", paid = "paid", prepaid = "paid", moneyback = "paid" }

-- A notification of the kind, as JustClick's PHP would POST it: the order's fields, utm, two
-- items (one with a partner), what the kind adds, and hash = md5(id . email . <signed> . secret),
-- <signed> the kind's time unless opts.signed names another field.
local function body_of(kind, opts)
  opts = opts or {}
  local extra = ({
    new_order = "'status' => 'new_order'",
    paid = "'paid' => '2026-11-23 10:00:00', 'last_payment_sum' => '2490.00'",
    prepaid = "'paid' => '2026-11-23 10:00:00', 'prepayment_sum' => '500'",
    cancel_order = "'status' => 'cancel_order'",
    moneyback = "'status' => 'moneyback', 'paid' => '2026-11-23 10:00:00'",
  })[kind]
  return php.run(([=[
$o = ['id' => '%s', 'first_name' => 'Name', 'last_name' => 'Surname', 'middle_name' => '',
  'email' => 'buyer@example.com', 'phone' => '+79161234567', 'city' => 'Moscow', 'country' => 'RU',
  'address' => 'Tverskaya 1', 'region' => '', 'postalcode' => '125009', 'created' => '2026-11-23 09:00:00',
  'comment' => 'a gift & more', 'tag' => 'AdWords', 'kupon' => '', 'type' => 'invoice', 'payway' => 'card',
  'domain' => 'shop.example.com', 'link' => 'https://shop.example.com/bill/abc', 'is_recurrent' => '0',
  'utm' => ['medium' => 'cpc', 'source' => 'direct', 'campaign' => '', 'content' => '', 'term' => ''],
  'items' => [
    ['id' => 'invoice', 'title' => 'Invoice template', 'sum' => '1500.00', 'price' => '1500', 'pincode' => '',
     'partners' => [['partner_lvl' => '1', 'partner_id' => '42', 'partner_name' => 'ally', 'partner_fee' => '150.50']]],
    ['id' => 'sales', 'title' => 'Sales course', 'sum' => '990.00', 'price' => '990', 'pincode' => 'PIN-1'],
  ], %s];
$o['hash'] = md5($o['id'] . $o['email'] . ($o['%s'] ?? '') . '%s');
echo http_build_query($o);]=]):format(opts.id or "100123", extra, opts.signed or SIGNED[kind], opts.secret or SECRET))
end

describe("justclick.notification", function()
  it("verifies and classifies each kind, from PHP's own body", function()
    for _, kind in ipairs({ "new_order", "paid", "prepaid", "cancel_order", "moneyback" }) do
      local body = body_of(kind)
      local event = assert(justclick.notification(body, SECRET))
      assert.are.equal(kind, event.kind)
      assert.are.equal(100123, event.id)
      assert.is_truthy(event.key:match("^" .. kind .. "%-100123%-%x+$"), event.key)
      assert.are.equal("buyer@example.com", event.order.email)
      assert.are.equal("a gift & more", event.order.comment)
      assert.are.equal("direct", event.order.utm.source)
      assert.are.equal(2, #event.order.items)
      assert.are.equal("invoice", event.order.items[1].id)
      assert.are.equal(1500, event.order.items[1].sum)
      assert.are.equal(150.5, event.order.items[1].partners[1].partner_fee)
      assert.are.equal(42, event.order.items[1].partners[1].partner_id)
      assert.are.equal("PIN-1", event.order.items[2].pincode)
      -- What the form said is what PHP's $_POST would hold: build_query writes it back as it came.
      assert.are.equal("2026-11-23 09:00:00", event.order.created)
    end
  end)

  it("gives a bill id past 2^53 exactly on 5.3 and 5.4, and refuses it where numbers are doubles", function()
    local event, err = justclick.notification(body_of("paid", { id = "9007199254740993" }), SECRET)
    if number.native then
      assert.are.equal(9007199254740993, event.id, tostring(err))
    else -- Lua 5.1 and LuaJIT would read it as ...992: another bill
      assert.is_nil(event)
      assert.are.equal("input", err.kind)
      assert.is_truthy(err.message:find("2^53", 1, true), err.message)
    end
  end)

  it("reads the sums of paid and prepaid notifications as numbers", function()
    assert.are.equal(2490, assert(justclick.notification(body_of("paid"), SECRET)).order.last_payment_sum)
    assert.are.equal(500, assert(justclick.notification(body_of("prepaid"), SECRET)).order.prepayment_sum)
  end)

  it("reads each sum as Lua's tonumber does, to the last bit and the sign of zero", function()
    local sums = { "0", "-0", "-0.0", "+0.5", ".5", "5.", "-00", "0.1", "0.3", "2490.00", "150.50", "1e5",
      "1.5E-3", "-2.5e+2", "999999999999999", "999999999999999.9", "9007199254740993", "0.000000000000001",
      "123456789012345.6", "1234567890123456.7", "00000000000000000001.5" }
    math.randomseed(20261123)
    for _ = 1, 400 do -- digits, a point somewhere, a sign sometimes
      local digits = {}
      for i = 1, math.random(1, 18) do digits[i] = tostring(math.random(0, 9)) end
      local s = table.concat(digits)
      local at = math.random(0, #s + 1)
      if at <= #s then s = s:sub(1, at) .. "." .. s:sub(at + 1) end
      if math.random(4) == 1 then s = (math.random(2) == 1 and "-" or "+") .. s end
      if s:match("%d") then sums[#sums + 1] = s end
    end
    local items = {}
    for i, s in ipairs(sums) do items[i] = { sum = s } end
    local order = { id = "7", email = "e@example.com", paid = "2026-11-23 10:00:00", items = items }
    order.hash = md5(order.id .. order.email .. order.paid .. SECRET)
    local event = assert(justclick.notification(justclick.build_query(order), SECRET))
    for i, s in ipairs(sums) do
      local want, got = tonumber(s), event.order.items[i].sum
      if number.type(want) == "integer" then want = want + 0.0 end -- (-0.0 + 0.0 would be 0.0)
      -- Lua 5.1 reads "-0.0" as an integral number, so it keeps the sign of zero only on 5.3+
      assert.is_true(number.native and number.same_double(want, got) or want == got, s)
    end
  end)

  it("takes each kind's signed time and no other: created for new and cancelled orders, paid for the rest", function()
    for kind, time in pairs(SIGNED) do
      local other = time == "created" and "paid" or "created"
      assert.are.equal(kind, assert(justclick.notification(body_of(kind, { signed = time }), SECRET)).kind)
      local event, err = justclick.notification(body_of(kind, { signed = other }), SECRET)
      assert.is_nil(event, kind .. " signed with " .. other)
      assert.are.equal("forged", err.kind)
      assert.is_truthy(err.message:find("signs its " .. time .. " time", 1, true), err.message)
    end
  end)

  it("checks each kind's hash as PHP computes it, for bodies PHP wrote", function()
    -- PHP signs each body both ways; each must pass exactly when its kind's time is the one signed.
    local lines = php.run([=[
$base = ['id' => '100777', 'email' => 'ann@example.com', 'created' => '2026-11-23 09:00:00'];
$kinds = ['new_order' => ['status' => 'new_order'], 'cancel_order' => ['status' => 'cancel_order'],
  'moneyback' => ['status' => 'moneyback', 'paid' => '2026-11-23 10:00:00'],
  'paid' => ['paid' => '2026-11-23 10:00:00', 'last_payment_sum' => '10'],
  'prepaid' => ['paid' => '2026-11-23 10:00:00', 'prepayment_sum' => '5']];
foreach ($kinds as $kind => $own) {
  foreach (['created', 'paid'] as $time) {
    $o = $base + $own;
    $o['hash'] = md5($o['id'] . $o['email'] . ($o[$time] ?? '') . ']=] .. SECRET .. [=[');
    echo $kind, ' ', $time, ' ', http_build_query($o), "\n";
  }
}]=])
    local n = 0
    for kind, time, body in lines:gmatch("(%S+) (%S+) (%S+)\n") do
      n = n + 1
      local event, err = justclick.notification(body, SECRET)
      if time == SIGNED[kind] then
        assert.are.equal(kind, event and event.kind, kind .. " " .. time .. ": " .. tostring(err))
      else
        assert.are.equal("forged", err and err.kind, kind .. " signed with " .. time)
      end
    end
    assert.are.equal(10, n)
  end)

  it("verifies a new order's body made into a payment: only the API can tell, through confirm", function()
    -- The status dropped and paid set to created: md5(id . email . paid) is the signed text again.
    local body = body_of("new_order")
    local created = body:match("created=([^&]*)")
    local forged = body:gsub("&status=new_order", "") .. "&paid=" .. created
    local event = assert(justclick.notification(forged, SECRET))
    assert.are.equal("paid", event.kind)
  end)

  it("loads a stored event whatever rule it was verified by when it came", function()
    local core = require "justclick.core"
    -- before the kind chose the time: a new order signed with its empty paid
    local old = ("id=7&email=a%%40b.c&created=2026-11-23+09%%3A00%%3A00&paid=&status=new_order&hash=%s")
      :format(md5("7a@b.c" .. SECRET))
    assert.are.equal("new_order", (core.notification_check(old, false)))
    local _, err = core.notification_check(old, SECRET)
    assert.are.equal("forged", err.kind)
    -- a stored email that ends in a digit, signed with created: no cut is tried again
    local digit = ("id=7&email=a%%40b.c1&created=2026-11-23+09%%3A00%%3A00&status=cancel_order&hash=%s")
      :format(md5("7a@b.c12026-11-23 09:00:00" .. SECRET))
    assert.are.equal("cancel_order", (core.notification_check(digit, false)))
  end)

  it("gives the same notification sent again the same key, and another payment another", function()
    local a = assert(justclick.notification(body_of("paid"), SECRET))
    local b = assert(justclick.notification(body_of("paid"), SECRET))
    local c = assert(justclick.notification(body_of("paid", { id = "100124" }), SECRET))
    local d = assert(justclick.notification(body_of("prepaid"), SECRET))
    assert.are.equal(a.key, b.key)
    assert.are_not.equal(a.key, c.key)
    assert.are_not.equal(a.key, d.key)
  end)

  it("gives a resend the same key when it differs only where no event does", function()
    local body = body_of("paid")
    local key = assert(justclick.notification(body, SECRET)).key
    for _, resend in ipairs({
      (body:gsub("last_payment_sum=2490.00", "last_payment_sum=2490")),    -- the same sum, written otherwise
      (body:gsub("last_payment_sum=2490.00", "last_payment_sum=02490.0")),
      (body:gsub("last_payment_sum=2490.00", "last_payment_sum=%%2B2490+")),
      (body:gsub("created=[^&]*&", "")),                                  -- the unsigned time left out
      (body:gsub("created=[^&]*", "created=2026-11-24+00%%3A00%%3A00")),    -- or changed
      (body:gsub("&status=[^&]*", "")),
      body .. "&utm_extra=1",                                              -- a field more
    }) do
      assert.are.equal(key, assert(justclick.notification(resend, SECRET)).key, resend)
    end
    -- Another sum, or another sum left to pay, is another payment.
    for _, other in ipairs({
      (body:gsub("last_payment_sum=2490.00", "last_payment_sum=2490.01")),
      body .. "&bill_sum_topay=400",
    }) do
      assert.are_not.equal(key, assert(justclick.notification(other, SECRET)).key, other)
    end
    local half = assert(justclick.notification(body_of("prepaid") .. "&bill_sum_topay=.5", SECRET)).key
    assert.are.equal(half, assert(justclick.notification(body_of("prepaid") .. "&bill_sum_topay=0.50", SECRET)).key)
    local first = assert(justclick.notification(body_of("prepaid") .. "&bill_sum_topay=600", SECRET)).key
    local second = assert(justclick.notification(body_of("prepaid") .. "&bill_sum_topay=200", SECRET)).key
    assert.are_not.equal(first, second)
  end)

  it("refuses a body whose signed texts were cut elsewhere: between the email and paid", function()
    -- md5(id . email . paid . secret) is the same when the email's end moves into paid.
    local function signed(email, paid)
      return ("id=100123&email=%s&paid=%s&status=moneyback&hash=%s"):format(email, paid,
        md5("100123" .. email .. paid .. SECRET))
    end
    assert.are.equal("moneyback", assert(justclick.notification(signed("buyer@example.com", ""), SECRET)).kind)
    local shifted = signed("buyer@example.co", "m"):gsub("&status=moneyback", "")
    local event, err = justclick.notification(shifted, SECRET)
    assert.is_nil(event, "a refund made into a payment")
    assert.are.equal("forged", err.kind)
    assert.is_truthy(tostring(err):find("cut apart more than one way", 1, true), tostring(err))
    -- paid's first digit moved onto the email: the same bill, a new key, were it taken
    local paid = "2026-11-23 10:00:00"
    local digit = signed("buyer@example.com2", paid:sub(2)):gsub("&status=moneyback", "&last_payment_sum=10")
    event, err = justclick.notification(digit, SECRET)
    assert.is_nil(event, "a resend made into another payment")
    assert.are.equal("forged", err.kind)
  end)

  it("reads a stored body that was signed with created as it was checked, whatever its paid holds", function()
    local core = require "justclick.core"
    local body = ("id=7&email=a%%40b.c&created=2026-11-23+09%%3A00%%3A00&paid=not+yet&status=new_order&hash=%s")
      :format(md5("7a@b.c2026-11-23 09:00:00" .. SECRET))
    assert.are.equal("new_order", assert(justclick.notification(body, SECRET)).kind)
    assert.are.equal("new_order", (core.notification_check(body, false)))
  end)

  it("reads sums the same under a locale that writes a decimal comma", function()
    local locale = require "support.locale"
    locale.with_comma(function()
      local event = assert(justclick.notification(body_of("paid"), SECRET))
      assert.are.equal(150.5, event.order.items[1].partners[1].partner_fee)
      assert.are.equal(2490, event.order.last_payment_sum)
      assert.are.equal("big=1.2345678901234E%2B20&fee=150.5",
        justclick.build_query({ fee = 150.5, big = 1.2345678901234e20 }))
    end)
  end)

  it("refuses a forgery as forged, and never shows the secret", function()
    local body = body_of("paid")
    for _, forged in ipairs({
      body_of("paid", { secret = "another-secret" }),   -- signed with another key
      (body:gsub("id=100123", "id=100124")),            -- another bill, the same hash
      (body:gsub("last_payment_sum=2490.00", "last_payment_sum=1.00"):gsub("paid=2026", "paid=2025")),
      (body:gsub("&hash=%x+", "")),                      -- no hash
      (body:gsub("hash=(%x+)", "hash=%1%1")),            -- a hash of the wrong length
    }) do
      local event, err = justclick.notification(forged, SECRET)
      assert.is_nil(event)
      assert.are.equal("forged", err.kind, tostring(err))
      assert.is_falsy(tostring(err):find(SECRET, 1, true))
    end
    -- The hash covers neither the sums nor the items: changed sums still verify, as documented.
    local changed = assert(justclick.notification((body:gsub("last_payment_sum=2490.00", "last_payment_sum=1.00")), SECRET))
    assert.are.equal(1, changed.order.last_payment_sum)
  end)

  it("takes an uppercase hash, as PHP's md5 compared loosely would", function()
    local body = body_of("paid"):gsub("hash=(%x+)", function(h) return "hash=" .. h:upper() end)
    assert.are.equal("paid", assert(justclick.notification(body, SECRET)).kind)
  end)

  it("refuses what is no notification as input", function()
    local signed = body_of("paid")
    for _, body in ipairs({
      "", "hello", "id=&email=x&hash=0", "id=abc&hash=0123", "a[b]=1",
      (signed:gsub("last_payment_sum=[^&]*&?", ""):gsub("paid=[^&]*", "paid=")),   -- no kind, though signed
    }) do
      local event, err = justclick.notification(body, SECRET)
      assert.is_nil(event)
      assert.is_truthy(err.kind == "input" or err.kind == "forged", tostring(err))
    end
    local _, err = justclick.notification("id=1&email=a&paid=&status=refunded&hash="
      .. md5("1a" .. SECRET), SECRET)
    assert.are.equal("input", err.kind)
    assert.has_error(function() justclick.notification(nil, SECRET) end)
    assert.has_error(function() justclick.notification("id=1", "") end)
  end)
end)

-- client:confirm: the event's kind proved by the bill's state as getOrderDetails reads it.
describe("client:confirm", function()
  local sandbox = require "support.sandbox"
  local cjson = require "cjson"
  local failed = require("support.expect").failure
  local sb

  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)

  local STATUS = { new_order = "new_order", cancel_order = "cancel_order", moneyback = "moneyback" }

  -- An event of `kind` about bill `id` of `email`, from a body signed with the sandbox's secret.
  local function event_of(kind, id, email)
    local form = { id = tostring(id), email = email, created = "2026-11-23 09:00:00", status = STATUS[kind] }
    if kind ~= "new_order" and kind ~= "cancel_order" then form.paid = "2026-11-23 10:00:00" end
    if kind == "prepaid" then form.prepayment_sum = "100" end
    local time = form.paid or form.created
    form.hash = md5(form.id .. email .. time .. sandbox.secret)
    local event = assert(justclick.notification(justclick.build_query(form), sandbox.secret))
    assert.are.equal(kind, event.kind)
    return event
  end

  it("confirms each kind only for a bill in that state, and tells a state from an email", function()
    sb:reset()
    local c = sb:client()
    local function bill(email)
      return assert(c:create_order({ bill_email = email, goods = { { good_name = "course" } } })).bill_id
    end
    local bills = {
      waiting = bill("w@example.com"), prepaid = bill("pre@example.com"), paid = bill("paid@example.com"),
      cancel = bill("cancel@example.com"), ["return"] = bill("return@example.com"),
    }
    local emails = { waiting = "w@example.com", prepaid = "pre@example.com", paid = "paid@example.com",
      cancel = "cancel@example.com", ["return"] = "return@example.com" }
    sb:prepay(bills.prepaid, 1000)
    assert(c:update_order_status(bills.paid, "paid", { date = os.time() }))
    assert(c:update_order_status(bills.cancel, "cancel"))
    assert(c:update_order_status(bills["return"], "paid", { date = os.time() }))
    assert(c:update_order_status(bills["return"], "return"))
    -- which states each kind is confirmed in
    local CONFIRMS = {
      new_order = { waiting = true, prepaid = true, paid = true, cancel = true, ["return"] = true },
      paid = { paid = true },
      prepaid = { prepaid = true, paid = true },
      cancel_order = { cancel = true },
      moneyback = { ["return"] = true },
    }
    for kind, states in pairs(CONFIRMS) do
      for state, id in pairs(bills) do
        local order, err = c:confirm(event_of(kind, id, emails[state]))
        if states[state] then
          assert.is_table(order, kind .. " on a " .. state .. " bill: " .. tostring(err))
          assert.are.equal(id, order.id)
        else
          failed("forged", nil, order, err)
          assert.are.same({ "state", true, id }, { err.mismatch, err.retryable, err.bill_id }, kind .. " on " .. state)
          assert.are.equal(state == "prepaid" and "waiting" or state, err.pay_status)
          assert.is_truthy(err.message:find("not ", 1, true), err.message)
        end
      end
      -- another email's bill, in the right state or not: forged, and no wait changes it
      local err = failed("forged", nil, c:confirm(event_of(kind, bills.paid, "other@example.com")))
      assert.are.same({ "email", false }, { err.mismatch, err.retryable })
    end
  end)

  it("confirms a bill that becomes paid, after a mismatch while it waited", function()
    local c = sb:client()
    local id = assert(c:create_order({ bill_email = "late@example.com", goods = { { good_name = "sales" } } })).bill_id
    local event = event_of("paid", id, "late@example.com")
    local err = failed("forged", nil, c:confirm(event))
    assert.are.equal("state", err.mismatch)
    assert(c:update_order_status(id, "paid", { date = os.time() }))
    assert.are.equal("paid", assert(c:confirm(event)).pay_status)
  end)

  -- A client whose every call is answered with this signed getOrderDetails result.
  local function answering(result)
    local c = justclick.new({ user = "demo", secret = "stub-secret", api_url = "http://127.0.0.1:9/api" })
    c.session:close()
    c.session = {
      post = function()
        return 200, cjson.encode({ error_code = 0, error_text = "OK", result = result,
          hash = md5("0::OK::stub-secret") })
      end,
      close = function() end,
    }
    return c
  end

  local function stub_event(kind)
    local form = { id = "5", email = "s@example.com", created = "2026-11-23 09:00:00", status = STATUS[kind] }
    if not STATUS[kind] or kind == "moneyback" then form.paid = "2026-11-23 10:00:00" end
    if kind == "prepaid" then form.prepayment_sum = "1" end
    form.hash = md5(form.id .. form.email .. (form.paid or form.created) .. "stub-secret")
    return assert(justclick.notification(justclick.build_query(form), "stub-secret"))
  end

  local function bill_of(fields)
    local o = { id = 5, email = "s@example.com", pay_status = "waiting", bill_sum_topay = 100, price = 100 }
    for k, v in pairs(fields) do o[k] = v end
    return o
  end

  it("takes a sent bill as paid only with nothing left to pay, and sums written as text", function()
    assert.is_table(answering(bill_of({ pay_status = "sent", bill_sum_topay = 0 })):confirm(stub_event("paid")))
    assert.is_table(answering(bill_of({ pay_status = "sent", bill_sum_topay = "0.00" })):confirm(stub_event("paid")))
    assert.are.equal("state", select(2, answering(bill_of({ pay_status = "sent" })):confirm(stub_event("paid"))).mismatch)
    assert.is_table(answering(bill_of({ bill_sum_topay = "40.50", price = "100.00" })):confirm(stub_event("prepaid")))
    assert.are.equal("state", select(2, answering(bill_of({})):confirm(stub_event("prepaid"))).mismatch)
  end)

  it("never takes a reply it cannot read for a confirmation: an error to retry that names the field", function()
    for _, case in ipairs({
      { "pay_status", { pay_status = "refunded" }, "paid" },
      { "pay_status", { pay_status = "PAID" }, "paid" },
      { "pay_status", { pay_status = justclick.null }, "new_order" },
      { "pay_status", { pay_status = 1 }, "paid" },
      { "bill_sum_topay", { pay_status = "paid", bill_sum_topay = "abc" }, "paid" },
      { "bill_sum_topay", { pay_status = "paid", bill_sum_topay = "1e3" }, "paid" },
      { "bill_sum_topay", { pay_status = "paid", bill_sum_topay = -5 }, "paid" },
      { "bill_sum_topay", { pay_status = "paid", bill_sum_topay = justclick.null }, "paid" },
      { "price", { price = "" }, "prepaid" },
      { "price", { price = justclick.null }, "prepaid" },
      { "email", { email = justclick.null }, "paid" },
    }) do
      local field, fields, kind = case[1], case[2], case[3]
      local err = failed("protocol", nil, answering(bill_of(fields)):confirm(stub_event(kind)))
      assert.is_true(err.retryable, field)
      assert.is_truthy(err.message:find(field, 1, true), err.message)
      assert.is_falsy(err.message:find("stub-secret", 1, true))
    end
    local missing = bill_of({})
    missing.pay_status = nil
    failed("protocol", nil, answering(missing):confirm(stub_event("paid")))
  end)

  -- getOrderDetails' result names the bill it describes (`id`): a reply about another bill, or
  -- one that names none, proves nothing about the event's.
  it("never confirms a bill with a reply that describes another bill, or names none", function()
    for _, id in ipairs({ 6, "6", 50, "05x" }) do
      local err = failed("protocol", nil, answering(bill_of({ id = id, pay_status = "paid", bill_sum_topay = 0 }))
        :confirm(stub_event("paid")))
      assert.is_true(err.retryable, tostring(id))
    end
    local missing = bill_of({ pay_status = "paid", bill_sum_topay = 0 })
    missing.id = nil
    failed("protocol", nil, answering(missing):confirm(stub_event("paid")))
    -- the same bill, written as the docs' PHP may write it
    assert.is_table(answering(bill_of({ id = "5", pay_status = "paid", bill_sum_topay = 0 })):confirm(stub_event("paid")))
  end)

  -- 601 ("order already exists") is CreateOrder's: a read answered with it, signed, carries a
  -- result no documented reply of getOrderDetails gives, and confirms nothing.
  it("never confirms on a getOrderDetails reply of code 601, signed or not", function()
    local c = answering(bill_of({ pay_status = "paid", bill_sum_topay = 0 }))
    c.session.post = function()
      return 200, cjson.encode({ error_code = 601, error_text = "Order already exists",
        result = bill_of({ pay_status = "paid", bill_sum_topay = 0 }), hash = md5("601::Order already exists::stub-secret") })
    end
    local order, err = c:confirm(stub_event("paid"))
    assert.is_nil(order, "confirmed on a 601")
    assert.is_table(err)
  end)

  it("raises for what is no event", function()
    local c = answering(bill_of({}))
    assert.has_error(function() c:confirm({ id = 5, order = {} }) end)
    assert.has_error(function() c:confirm({ kind = "refund", id = 5, order = {} }) end)
    assert.has_error(function() c:confirm("paid-5") end)
  end)
end)
