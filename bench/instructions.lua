-- Instructions per call of sign, build_query and md5 on the docs' CreateOrder order, as
-- callgrind counts them: deterministic where CPU time on a shared machine is not. Each figure is
-- the difference between a run of 2,100 calls and one of 100, divided by 2,000, so that loading
-- Lua and the module cancels out; the Lua loop and the call itself are inside it.
-- Run: make bench  (or: lua5.4 bench/instructions.lua)
package.path = "lua/?.lua;spec/?.lua;bench/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local FEW, MANY = 100, 2100

if arg[1] == "--calls" then -- the workload, run under callgrind
  local justclick = require "justclick"
  local core = require "justclick.core"
  local example = require "support.docs_example"
  local order, user, secret = example.order(), example.user, example.secret
  local signed = justclick.build_query(order) .. "::" .. user .. "::" .. secret
  local calls = {
    sign = function() return justclick.sign(order, user, secret) end,
    build_query = function() return justclick.build_query(order) end,
    md5 = function() return core.md5(signed) end,
    walk = function() return require("bench_walk").walk(order) end, -- built by make bench
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

local function per_call(what)
  return (count(what, MANY) - count(what, FEW)) / (MANY - FEW)
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
