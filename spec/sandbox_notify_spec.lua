-- The sandbox's payment notifications, over real HTTP to a receiver (spec/support/receiver.php
-- under php -S): each event's fields, read and checked by PHP itself; each kind's signed time;
-- the forge switch; a prepayment getOrderDetails shows; retries with the same body, giving up; an API that never waits for the shop; and
-- a notifier that stops with the sandbox.
local core = require "justclick.core"
local cjson = require "cjson"
local sandbox = require "support.sandbox"
local receiver = require "support.receiver"
local php = require "support.php"
local files = require "support.files"

local sb, rc

-- The fields a notification carries before utm and items, in their order.
local FIELDS = { "id", "first_name", "last_name", "middle_name", "email", "phone", "city", "country", "address",
  "region", "postalcode", "created", "paid", "comment", "tag", "kupon", "type", "payway", "domain", "link",
  "is_recurrent" }

-- PHP's reading of a notification's body, as a shop would do it (php -r): parse_str's fields and
-- their keys in order, whether http_build_query of them gives the body back, and which hash
-- matches, md5(id . email . paid . secret) or the same with created in place of paid.
local function php_reading(body, secret)
  local code = ([[
parse_str(%s, $f);
$secret = %s;
$sign = fn($time) => md5($f["id"] . $f["email"] . ($f[$time] ?? "") . $secret);
echo json_encode(["fields" => $f, "keys" => array_keys($f), "rebuilt" => http_build_query($f) === %s,
  "by_paid" => hash_equals($sign("paid"), $f["hash"]), "by_created" => hash_equals($sign("created"), $f["hash"])]);
]]):format(php.literal(body), php.literal(secret or sandbox.secret), php.literal(body))
  assert(not code:find("'", 1, true)) -- php.literal escapes every quote: the shell's quoting holds
  local p = assert(io.popen("php -n -r '" .. code .. "' 2>&1"))
  local out = p:read("*a")
  assert(p:close(), out)
  return cjson.decode(out)
end

-- A signed API call's decoded reply, asserting a 200.
local function call(method, params)
  local status, body = sb:post("/api/" .. method, params)
  assert.are.equal(200, status, tostring(body and (body.message or body)))
  return cjson.decode(body)
end

-- A new bill's id.
local function create(params)
  local r = call("CreateOrder", params)
  assert.are.equal(0, r.error_code, r.error_text)
  return r.result.bill_id
end

local function set_status(id, status, date)
  local r = call("UpdateOrderStatus", { bill_id = id, status = status, date = date })
  assert.are.equal(0, r.error_code, r.error_text)
end

local function small_order(tag)
  return { bill_email = "buyer@example.com", bill_tag = tag, goods = { { good_name = "sales" } } }
end

-- The notifications received on paths starting with `prefix`.
local function received(prefix)
  local out = {}
  for _, r in ipairs(rc:requests()) do
    if r.uri:sub(1, #prefix) == prefix then out[#out + 1] = r end
  end
  return out
end

-- The gaps, in seconds, between the requests.
local function gaps(requests)
  local out = {}
  for i = 2, #requests do out[#out + 1] = requests[i].t - requests[i - 1].t end
  return out
end

describe("payment notifications", function()
  lazy_setup(function()
    rc = receiver.start()
    sb = sandbox.start({ env = { JUSTCLICK_SANDBOX_NOTIFY_URL = rc:url("/env?a=any") } })
  end)
  lazy_teardown(function()
    if sb then sb:stop() end
    if rc then rc:stop() end
  end)
  before_each(function()
    sb:settle() -- nothing of the last test's left on its way
    sb:reset()
    rc:clear()
  end)

  describe("configuration", function()
    it("sends every event to JUSTCLICK_SANDBOX_NOTIFY_URL as it is, adding no query", function()
      local id = create(small_order("env"))
      set_status(id, "paid", os.time())
      local list = sb:settle()
      assert.are.same({ 2, 0 }, { list.delivered, list.given_up })
      local got = rc:wait(2)
      assert.are.equal(2, #got)
      for _, r in ipairs(got) do
        assert.are.equal("POST", r.method)
        assert.are.equal("/env?a=any", r.uri)
        assert.are.equal("application/x-www-form-urlencoded", r.headers["Content-Type"])
        assert.are.equal(#r.body, tonumber(r.headers["Content-Length"]))
      end
    end)

    it("url and events set some events' URL, url_EVENT one's, an empty url none; reset goes back to the env's", function()
      local s = sb:notify({ url = "" })
      assert.are.same({}, s.urls)
      s = sb:notify({ url = rc:url("/money"), events = "paid,moneyback", url_cancel_order = rc:url("/cancel") })
      assert.are.same({ paid = rc:url("/money"), moneyback = rc:url("/money"), cancel_order = rc:url("/cancel") }, s.urls)
      local id = create(small_order("some")) -- new_order: no URL, nothing queued
      sb:prepay(id, 100) -- prepaid: no URL either
      set_status(id, "paid", os.time())
      set_status(id, "cancel")
      local list = sb:settle()
      local events = {}
      for _, n in ipairs(list.notifications) do events[#events + 1] = n.event .. " " .. n.url end
      assert.are.same({ "paid " .. rc:url("/money"), "cancel_order " .. rc:url("/cancel") }, events)

      sb:reset()
      local urls = sb:notify().urls
      for _, event in ipairs({ "new_order", "paid", "prepaid", "cancel_order", "moneyback" }) do
        assert.are.equal(rc:url("/env?a=any"), urls[event], event)
      end
    end)

    it("refuses a bad setting with 400 and changes nothing", function()
      local before = sb:notify()
      for _, bad in ipairs({ { url = "ftp://x/" }, { url = rc:url("/x"), events = "paid,refund" },
        { url_paid = "not a url" }, { sign_with = "created" }, { forge = "-1" }, { timeout = "0" },
        { url = rc:url("/x"), sign_with = "paid" } }) do
        local status, body = sb.session:post(sb.url .. "/__sandbox/notify", require("justclick").build_query(bad))
        assert.are.equal(400, status, body)
      end
      assert.are.same(before, sb:notify())
      local status = sb.session:post(sb.url .. "/__sandbox/prepay", "bill_id=99&sum=5")
      assert.are.equal(404, status)
      local id = create(small_order("prepay"))
      status = sb.session:post(sb.url .. "/__sandbox/prepay", ("bill_id=%d&sum=0"):format(id))
      assert.are.equal(400, status)
    end)
  end)

  describe("each event", function()
    it("arrives at its URL with getOrderDetails' fields, utm, items and partners, signed with its kind's time", function()
      local paths = {}
      for _, event in ipairs({ "new_order", "paid", "prepaid", "cancel_order", "moneyback" }) do
        paths[event] = "/hook/" .. event .. "?a=" .. event
        sb:notify({ ["url_" .. event] = rc:url(paths[event]) })
      end
      local order = {
        bill_email = "ivan@example.com", bill_first_name = "Иван", bill_surname = "Petrov",
        bill_middle_name = "Sergeevich", bill_phone = "+79001234567", bill_country = "RU", bill_region = "Moscow",
        bill_city = "Moscow", bill_address = "Tverskaya 1", bill_postal_code = "125009",
        bill_comment = "a&b=c+d", bill_tag = "tag1", bill_kupon = "kupon1", bill_domain = "shop.example.com",
        bill_created = 1767652200, -- 2026-01-05 22:30:00 UTC
        utm = { utm_medium = "cpc", utm_source = "direct", utm_campaign = "camp", utm_content = "c1", utm_term = "t1" },
        goods = { { good_name = "course", good_sum = 4000 }, { good_name = "sales" } },
      }
      local id = create(order)
      local paid_at = 1767700000
      assert.is_number(sb:prepay(id, "1000").notification)
      set_status(id, "paid", paid_at)
      set_status(id, "return")
      local other = create(small_order("to cancel"))
      set_status(other, "cancel")
      local list = sb:settle()
      assert.are.same({ 6, 0, 0 }, { list.delivered, list.given_up, list.pending })
      local got = rc:wait(6)
      assert.are.equal(6, #got)

      local created = sandbox.server_time(1767652200)
      local common = {
        id = ("%d"):format(id), first_name = "Иван", last_name = "Petrov", middle_name = "Sergeevich",
        email = "ivan@example.com", phone = "+79001234567", city = "Moscow", country = "RU",
        address = "Tverskaya 1", region = "Moscow", postalcode = "125009", created = created,
        comment = "a&b=c+d", tag = "tag1", kupon = "kupon1", type = "invoice", payway = "",
        domain = "shop.example.com", is_recurrent = "0",
        utm = { medium = "cpc", source = "direct", campaign = "camp", content = "c1", term = "t1" },
        items = {
          { id = "course", title = "Video course", sum = "4000", price = "5000", pincode = "",
            partners = { { partner_lvl = "1", partner_id = "7001", partner_name = "affiliate7001", partner_fee = "400" } } },
          { id = "sales", title = "Sales course", sum = "990", price = "990", pincode = "" }, -- no partners: PHP leaves [] out
        },
      }
      local expect = { -- a new or cancelled order has no paid, and is signed with created
        { "new_order", id, { status = "new_order" } },
        { "prepaid", id, { paid = "", prepayment_sum = "1000" } },
        { "paid", id, { paid = sandbox.server_time(paid_at), last_payment_sum = "4990" } },
        -- The bill forgets its payment on a return; the notification keeps it.
        { "moneyback", id, { paid = sandbox.server_time(paid_at), status = "moneyback" } },
        { "new_order", other, { status = "new_order" } },
        { "cancel_order", other, { status = "cancel_order" } },
      }
      for i, e in ipairs(expect) do
        local event, bill, own = e[1], e[2], e[3]
        local r = got[i]
        assert.are.equal(paths[event], r.uri, event)
        assert.are.equal("application/x-www-form-urlencoded", r.headers["Content-Type"])
        local php_says = php_reading(r.body)
        assert.is_true(php_says.rebuilt, "not PHP's http_build_query: " .. r.body)
        local by_created = event == "new_order" or event == "cancel_order"
        assert.are.same({ by_created, not by_created }, { php_says.by_created, php_says.by_paid }, event)
        assert.are.equal(by_created and "created" or "paid", list.notifications[i].signed)
        local f = php_says.fields
        if by_created then assert.is_nil(f.paid, event .. " has paid") end
        assert.are.equal(("%d"):format(bill), f.id)
        if bill == id then
          for k, v in pairs(common) do
            if k ~= "id" then assert.are.same(v, f[k], event .. " " .. k) end
          end
        end
        assert.are.equal(list.notifications[i].body, r.body)
        for k, v in pairs(own) do assert.are.equal(v, f[k], event .. " " .. k) end
        for _, k in ipairs({ "status", "last_payment_sum", "prepayment_sum" }) do
          if own[k] == nil then assert.is_nil(f[k], event .. " has " .. k) end
        end
        -- getOrderDetails' fields in their order, then utm, items, the event's own, and hash last.
        local keys = {}
        for _, k in ipairs(FIELDS) do
          if not (by_created and k == "paid") then keys[#keys + 1] = k end
        end
        keys[#keys + 1] = "utm"
        keys[#keys + 1] = "items"
        for _, k in ipairs({ "status", "last_payment_sum", "prepayment_sum" }) do
          if own[k] then keys[#keys + 1] = k end
        end
        keys[#keys + 1] = "hash"
        assert.are.same(keys, php_says.keys, event)
        assert.are.equal(event, list.notifications[i].event)
        assert.are.equal(bill, list.notifications[i].bill_id)
      end
      -- getOrderDetails tells the same bill, partner and all.
      local details = call("getOrderDetails", { bill_id = id }).result
      assert.are.equal("affiliate7001", details.items[1].partners[1].partner_name)
      assert.are.equal(400, details.items[1].partners[1].partner_fee)
      assert.are.same({}, details.items[2].partners)
    end)
  end)

  describe("signatures", function()
    it("signs a new or cancelled bill with its creation time and no paid, and payments with paid", function()
      sb:notify({ url = rc:url("/sign") })
      local a = create(small_order("a"))
      set_status(a, "paid", os.time() + 3600) -- not the creation time: the two hashes differ
      local b = create(small_order("b"))
      sb:prepay(b, "100")
      set_status(b, "cancel")
      local list = sb:settle()
      local got = rc:wait(5)
      assert.are.equal(5, #got)
      local want = { { "new_order", "created" }, { "paid", "paid" }, { "new_order", "created" },
        { "prepaid", "paid" }, { "cancel_order", "created" } }
      for i, w in ipairs(want) do
        local says = php_reading(got[i].body)
        assert.are.equal(w[1], list.notifications[i].event, i)
        assert.are.equal(w[2], list.notifications[i].signed, i)
        assert.are.same({ w[2] == "created", w[2] == "paid" }, { says.by_created, says.by_paid }, w[1])
        assert.are.equal(w[2] == "paid" and "string" or "nil", type(says.fields.paid), w[1])
        assert.are.equal(list.notifications[i].body, got[i].body)
      end
    end)

    it("shows a prepayment in getOrderDetails: less left to pay, the same status; refuses one of the whole sum", function()
      local id = create(small_order("prepay")) -- sales: 990
      local function details() return call("getOrderDetails", { bill_id = id }).result end
      assert.are.same({ "waiting", 990, 990 }, { details().pay_status, details().bill_sum_topay, details().price })
      sb:prepay(id, "400")
      assert.are.same({ "waiting", 590, 990 }, { details().pay_status, details().bill_sum_topay, details().price })
      sb:prepay(id, "90.5")
      assert.are.equal(499.5, details().bill_sum_topay)
      for _, sum in ipairs({ "499.5", "1000" }) do -- the rest, or more, is a payment: not a prepayment
        local status, body = sb.session:post(sb.url .. "/__sandbox/prepay", ("bill_id=%d&sum=%s"):format(id, sum))
        assert.are.equal(400, status, body)
      end
      set_status(id, "paid", os.time())
      assert.are.same({ "paid", 0 }, { details().pay_status, details().bill_sum_topay })
      local status, body = sb.session:post(sb.url .. "/__sandbox/prepay", ("bill_id=%d&sum=1"):format(id))
      assert.are.equal(400, status, body)
      assert.matches("is paid", body)
    end)

    it("forge=N signs the next N notifications with another secret; the rest are right", function()
      assert.are.equal(2, sb:notify({ url = rc:url("/forge"), forge = 2 }).forge)
      local a = create(small_order("a"))
      set_status(a, "paid", os.time())
      create(small_order("b"))
      assert.are.equal(0, sb:notify().forge)
      local list = sb:settle()
      local got = rc:wait(3)
      assert.are.equal(3, #got)
      -- new_order a (forged), paid a (forged), new_order b
      for i, w in ipairs({ { true, "created" }, { true, "paid" }, { false, "created" } }) do
        local forged, time = w[1], w[2]
        local says, theirs = php_reading(got[i].body), php_reading(got[i].body, "not-the-secret")
        assert.are.same({ not forged and time == "created", not forged and time == "paid" },
          { says.by_created, says.by_paid }, i)
        assert.are.equal(forged, time == "created" and theirs.by_created or theirs.by_paid, i)
        assert.are.equal(forged and "forged" or time, list.notifications[i].signed)
      end
    end)
  end)

  describe("delivery", function()
    it("sends a notification answered 500 again, byte for byte, after the back-off, until a 200", function()
      sb:notify({ url = rc:url("/fail/2/retry") })
      create(small_order("retry"))
      local list = sb:settle()
      local n = list.notifications[1]
      assert.are.same({ true, 3, 200 }, { n.delivered, n.attempts, n.last_status })
      local got = received("/fail/2/retry")
      assert.are.equal(3, #got)
      assert.are.same({ 500, 500, 200 }, { got[1].status, got[2].status, got[3].status })
      for _, r in ipairs(got) do assert.are.equal(n.body, r.body) end
      local g = gaps(got)
      assert.is_true(g[1] >= 0.19 and g[1] < 0.45, "first back-off " .. g[1])
      assert.is_true(g[2] >= 0.49 and g[2] < 0.9, "second back-off " .. g[2])
    end)

    it("gives a notification up after 5 attempts, and counts it: 500s, a refused connection, a timeout", function()
      local nobody = ("http://127.0.0.1:%d/refused"):format(receiver.free_port()) -- nothing listens there
      sb:notify({ url_new_order = rc:url("/status/500/never"), url_paid = nobody,
        url_cancel_order = rc:url("/sleep/1500/slow"), timeout = "0.3" })
      local id = create(small_order("never"))
      set_status(id, "paid", os.time())
      set_status(id, "cancel")
      local list = sb:settle(30)
      assert.are.same({ 0, 3, 0 }, { list.pending, list.given_up, list.delivered })
      for _, n in ipairs(list.notifications) do
        assert.are.same({ 5, true, false }, { n.attempts, n.given_up, n.delivered }, n.event)
        assert.is_string(n.last_error)
      end
      assert.are.equal(500, list.notifications[1].last_status)
      assert.are.equal(cjson.null, list.notifications[2].last_status) -- no reply at all
      assert.are.equal(cjson.null, list.notifications[3].last_status)

      local never = received("/status/500/never")
      assert.are.equal(5, #never)
      for _, r in ipairs(never) do assert.are.equal(list.notifications[1].body, r.body) end
      local g = gaps(never)
      for i, wait in ipairs({ 0.2, 0.5, 1, 2 }) do
        assert.is_true(g[i] >= wait - 0.01 and g[i] < wait + 0.9, ("back-off %d: %.3f"):format(i, g[i]))
      end
      assert.are.equal(5, #received("/sleep/1500/slow"))
      core.sleep(1)
      assert.are.equal(10, #rc:requests()) -- given up: no more attempts
    end)

    it("does not tell the shop of a bill before the client has the API's answer", function()
      sb:notify({ url = rc:url("/after") })
      -- The reply comes 2.5 s after the order is made (longer than the notifier's idle wait, 1 s,
      -- so that one that looked at the queue alone would find it); the notification waits for it.
      local sent = core.time()
      assert.are.equal(200, (sb:post("/fault/slow:2500/api/CreateOrder", small_order("held"))))
      assert.are.equal(1, sb:settle().delivered)
      local after = received("/after")
      assert.are.equal(1, #after)
      assert.is_true(after[1].t >= sent + 2.49, ("notified %.3f s after the request"):format(after[1].t - sent))
    end)

    it("never makes the API call wait for the shop", function()
      sb:notify({ url = rc:url("/sleep/2000/slow") })
      local start = core.now()
      local id = create(small_order("fast"))
      set_status(id, "paid", os.time())
      local took = core.now() - start
      assert.is_true(took < 1, ("CreateOrder and UpdateOrderStatus took %.3f s"):format(took))
      local list = sb:settle()
      assert.are.same({ 2, 0 }, { list.delivered, list.given_up })
      assert.are.equal(2, #received("/sleep/2000/slow"))
    end)
  end)
end)

describe("the notifier", function()
  -- The pid of the notifier among `pid`'s children, and the other children.
  local function children(pid)
    local p = assert(io.popen("pgrep -P " .. pid))
    local notifier, others = nil, {}
    for line in p:lines() do
      local child = tonumber(line)
      if (files.read("/proc/" .. child .. "/cmdline") or ""):find("notifier.php", 1, true) then
        notifier = child
      else
        others[#others + 1] = child
      end
    end
    p:close()
    return notifier, others
  end

  local function gone(pid, seconds)
    local deadline = core.now() + (seconds or 3)
    while sandbox.alive(pid) and core.now() < deadline do core.sleep(0.05) end
    return not sandbox.alive(pid)
  end

  it("is stopped with the sandbox", function()
    local s = sandbox.start()
    local notifier = children(s.pid)
    assert.is_number(notifier)
    s:stop()
    assert.is_true(gone(notifier), "the notifier outlived the sandbox")
  end)

  for _, signal in ipairs({ "TERM", "INT" }) do
    it("is stopped by SIG" .. signal .. " to server.php's pid alone", function()
      local s = sandbox.start()
      finally(function() s:stop() end)
      local notifier = children(s.pid)
      assert(os.execute(("kill -%s %d"):format(signal, s.pid)))
      assert.is_true(gone(s.pid), "server.php lives on")
      assert.is_true(gone(notifier), "the notifier outlived server.php")
    end)
  end

  it("ends by itself when server.php is killed outright", function()
    local s = sandbox.start()
    local notifier, others = children(s.pid)
    finally(function()
      for _, pid in ipairs(others) do os.execute(("kill -KILL -%d 2>/dev/null"):format(pid)) end -- php -S, left
      s:stop()
    end)
    assert.is_number(notifier)
    assert(os.execute("kill -KILL " .. s.pid))
    assert.is_true(gone(notifier), "the notifier outlived server.php")
  end)
end)
