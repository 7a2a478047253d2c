-- justclick.notification on a paid notification of two items, against PHP's parse_str + md5 of
-- the same body (what a PHP receiver does), CPU time per call, in the same run.
-- Run: make bench  (or: lua5.4 bench/notify.lua [iterations])
package.path = "lua/?.lua;spec/?.lua;bench/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local justclick = require "justclick"

local N = tonumber(arg[1]) or 100000
local SECRET = "0123456789abcdef0123456789abcdef01234567"

-- The body JustClick's PHP would send: a paid order of two items, one with a partner.
local order = {
  id = "100123", first_name = "Name", last_name = "Surname", middle_name = "", email = "buyer@example.com",
  phone = "+79161234567", city = "Moscow", country = "RU", address = "Tverskaya 1", region = "",
  postalcode = "125009", created = "2026-11-23 09:00:00", paid = "2026-11-23 10:00:00", comment = "",
  tag = "AdWords", kupon = "", type = "invoice", payway = "card", domain = "shop.example.com",
  link = "https://shop.example.com/bill/abc", is_recurrent = "0", last_payment_sum = "2490.00",
  utm = { medium = "cpc", source = "direct", campaign = "", content = "", term = "" },
  items = {
    { id = "invoice", title = "Invoice template", sum = "1500.00", price = "1500", pincode = "",
      partners = { { partner_lvl = "1", partner_id = "42", partner_name = "ally", partner_fee = "150.50" } } },
    { id = "sales", title = "Sales course", sum = "990.00", price = "990", pincode = "" },
  },
}
order.hash = md5(order.id .. order.email .. order.paid .. SECRET)
local body = justclick.build_query(order)
assert(justclick.notification(body, SECRET).kind == "paid")

local function per_call_ns(fn)
  fn()
  local start = os.clock()
  for _ = 1, N do fn() end
  return (os.clock() - start) / N * 1e9
end

local ours = per_call_ns(function() return justclick.notification(body, SECRET) end)

local script = os.tmpname()
local f = assert(io.open(script, "w"))
f:write(([[<?php
$body = %q; $secret = %q; $n = %d;
function cpu() {
  $r = getrusage();
  return $r["ru_utime.tv_sec"] + $r["ru_utime.tv_usec"] / 1e6 + $r["ru_stime.tv_sec"] + $r["ru_stime.tv_usec"] / 1e6;
}
$t = cpu();
for ($i = 0; $i < $n; $i++) {
  parse_str($body, $p);
  $ok = hash_equals(md5($p['id'] . $p['email'] . $p['paid'] . $secret), $p['hash']);
}
printf("%%.1f\n", (cpu() - $t) / $n * 1e9);
]]):format(body, SECRET, N))
f:close()
local p = assert(io.popen("php -n " .. script))
local php = assert(tonumber(p:read("a")))
p:close()
os.remove(script)

print(("Payment notification, paid, two items (%d bytes), %d calls each, CPU time per call"):format(#body, N))
print(("  justclick.notification               %6.0f ns   (target: under 5,000)"):format(ours))
print(("  PHP parse_str + md5 + hash_equals    %6.0f ns"):format(php))
print(("  ratio notification / PHP               %4.2f   (notification also types the numbers and the items)")
  :format(ours / php))
