-- Instructions per call of sign, build_query and md5 on the docs' CreateOrder order, as
-- callgrind counts them: deterministic where CPU time on a shared machine is not. Each figure is
-- the difference between a run of 2,100 calls and one of 100, divided by 2,000, so that loading
-- Lua and the module cancels out; the Lua loop and the call itself are inside it.
-- Run: make bench  (or: lua5.4 bench/instructions.lua)
package.path = "lua/?.lua;spec/?.lua;bench/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local FEW, MANY = 100, 2100

local function goods(n)
  local t = { bill_email = "buyer@example.com", goods = {} }
  for i = 1, n do t.goods[i] = { good_name = "good" .. i, good_sum = 100 + i } end
  return t
end
local UNLIMITED = { max_input_vars = false }

if arg[1] == "--calls" then -- the workload, run under callgrind
  local justclick = require "justclick"
  local md5 = require("justclick.bench").md5 -- the floor: a benchmark hook
  local example = require "support.docs_example"
  local order, user, secret = example.order(), example.user, example.secret
  local signed = justclick.build_query(order) .. "::" .. user .. "::" .. secret
  local hundred, thousand = goods(100), goods(1000)
  local calls = {
    sign = function() return justclick.sign(order, user, secret) end,
    build_query = function() return justclick.build_query(order) end,
    md5 = function() return md5(signed) end,
    walk = function() return require("bench_walk").walk(order) end, -- built by make bench
    goods100 = function() return justclick.build_query(hundred, UNLIMITED) end,
    goods1000 = function() return justclick.build_query(thousand, UNLIMITED) end,
  }
  local f = assert(calls[arg[2]], "no such call")
  for _ = 1, tonumber(arg[3]) do f() end
  return
end

local function count(what, n)
  local p = assert(io.popen(("valgrind --tool=callgrind --callgrind-out-file=/dev/null %s %s --calls %s %d 2>&1")
    :format(arg[-1], arg[0], what, n)))
  local out = p:read("a")
  p:close()
  return assert(tonumber(out:match("Collected : (%d+)")), "callgrind printed: " .. out)
end

local function per_call(what, few, many)
  few, many = few or FEW, many or MANY
  return (count(what, many) - count(what, few)) / (many - few)
end

if os.execute("valgrind --version >/dev/null 2>&1") ~= true then
  print("Instructions per call: valgrind is not installed")
  return
end
local sign, query, md5 = per_call("sign"), per_call("build_query"), per_call("md5")
print("Instructions per call (callgrind), the docs' CreateOrder order")
print(("  %-34s %8.0f   (target: at most 18,000)"):format("justclick.sign", sign))
print(("  %-34s %8.0f"):format("justclick.build_query", query))
print(("  %-34s %8.0f"):format("floor: md5 of the signed bytes", md5))
if package.searchpath("bench_walk", package.cpath) then
  local walk = per_call("walk")
  print(("  %-34s %8.0f"):format("floor: reading the table (C API)", walk))
  print(("  %-34s %8.0f   (the least a C encoder could reach)"):format("both floors together", walk + md5))
end
-- Longer orders write longer numbers (goods%5B999%5D), so the cost is also given per byte.
local build_query = require("justclick").build_query
local b100, b1000 = #build_query(goods(100), UNLIMITED), #build_query(goods(1000), UNLIMITED)
local g100, g1000 = per_call("goods100", 10, 110), per_call("goods1000", 1, 11)
print(("  %-34s %8.0f   (%.1f a byte)"):format("build_query, 100 goods: a good", g100 / 100, g100 / b100))
print(("  %-34s %8.0f   (%.1f a byte; target: no more than 100 goods')"):format("build_query, 1,000 goods: a good",
  g1000 / 1000, g1000 / b1000))
