-- sign() on the docs' CreateOrder example against PHP's http_build_query + md5 and against a
-- straightforward pure-Lua encoder and md5 (bench/pure.lua), on the same data, in the same run,
-- as CPU time per call. Also the floors: md5 alone on the same bytes, and reading the table.
-- Run: make bench  (or: lua5.4 bench/sign.lua [iterations])
package.path = "lua/?.lua;spec/?.lua;bench/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local justclick = require "justclick"
local example = require "support.docs_example"

local N = tonumber(arg[1]) or 300000
local order, user, secret = example.order(), example.user, example.secret
local signed_bytes = justclick.build_query(order) .. "::" .. user .. "::" .. secret

local function per_call_ns(fn, n)
  n = n or N
  fn() -- warm up
  local start = os.clock()
  for _ = 1, n do fn() end
  return (os.clock() - start) / n * 1e9
end

local function php_ns(body)
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write("<?php\n", example.php_order, ([[
$user = %q; $secret = %q; $n = %d;
$signed = http_build_query($send_data) . "::" . $user . "::" . $secret;
function cpu() {
  $r = getrusage();
  return $r["ru_utime.tv_sec"] + $r["ru_utime.tv_usec"] / 1e6 + $r["ru_stime.tv_sec"] + $r["ru_stime.tv_usec"] / 1e6;
}
$h = ""; $t = cpu();
for ($i = 0; $i < $n; $i++) { %s }
printf("%%.1f\n", (cpu() - $t) / $n * 1e9);
]]):format(user, secret, N, body))
  f:close()
  local p = assert(io.popen("php -n " .. script))
  local out = p:read("a")
  p:close()
  os.remove(script)
  return assert(tonumber(out), "php printed: " .. out)
end

local pure = require "pure"
assert(pure.sign(order, user, secret) == justclick.sign(order, user, secret), "bench/pure.lua signs differently")
local walk_ok, bench_walk = pcall(require, "bench_walk") -- built by `make bench`
local ours = per_call_ns(function() return justclick.sign(order, user, secret) end)
local ours_query = per_call_ns(function() return justclick.build_query(order) end)
local ours_md5 = per_call_ns(function() return md5(signed_bytes) end)
local pure_lua = per_call_ns(function() return pure.sign(order, user, secret) end, N // 50)
local php = php_ns('$h = md5(http_build_query($send_data) . "::" . $user . "::" . $secret);')
local php_query = php_ns("$h = http_build_query($send_data);")
local php_md5 = php_ns("$h = md5($signed);")

print(("docs' CreateOrder example: %d bytes signed, %d calls each, CPU time per call"):format(#signed_bytes, N))
print(("  %-34s %8.0f ns"):format("justclick.sign", ours))
print(("  %-34s %8.0f ns"):format("PHP md5(http_build_query(...))", php))
print(("  %-34s %8.2f   (target: at most 0.65)"):format("ratio sign / PHP", ours / php))
print(("  %-34s %8.0f ns"):format("justclick.build_query", ours_query))
print(("  %-34s %8.0f ns"):format("PHP http_build_query", php_query))
print(("  %-34s %8.2f   (target: at most 0.60)"):format("ratio build_query / PHP", ours_query / php_query))
print(("  %-34s %8.0f ns   (PHP: %.0f ns)"):format("floor: md5 alone, same bytes", ours_md5, php_md5))
print(("  %-34s %8.2f   (target: at most 2.0)"):format("ratio sign / md5", ours / ours_md5))
print(("  %-34s %8.0f ns"):format("pure Lua encoder + md5", pure_lua))
print(("  %-34s %8.1f   (target: at least 10)"):format("ratio pure Lua / sign", pure_lua / ours))
if walk_ok then
  local walk = per_call_ns(function() return bench_walk.walk(order) end)
  print(("  %-34s %8.0f ns"):format("floor: reading the table (C API)", walk))
  print(("  %-34s %8.2f   (the least a C encoder could reach)"):format("ratio of both floors / PHP",
    (walk + ours_md5) / php))
end
