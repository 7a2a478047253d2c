-- How encoding cost grows with the order: build_query on orders of 1, 10, 100 and 1,000 goods.
-- Run: make bench  (or: lua5.4 bench/scaling.lua)
package.path = "lua/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local justclick = require "justclick"

local function order(goods)
  local t = { bill_email = "buyer@example.com", goods = {} }
  for i = 1, goods do t.goods[i] = { good_name = "good" .. i, good_sum = 100 + i } end
  return t
end

print("Encoding cost by order size (build_query, no limit on max_input_vars)")
local base
for _, goods in ipairs({ 1, 10, 100, 1000 }) do
  local t, n = order(goods), math.max(200, 200000 // goods)
  local options = { max_input_vars = false }
  justclick.build_query(t, options)
  local start = os.clock()
  for _ = 1, n do justclick.build_query(t, options) end
  local ns = (os.clock() - start) / n * 1e9
  base = base or ns
  print(("  %5d goods  %10.0f ns   %6.0f ns a good   %7.1f x one good"):format(goods, ns, ns / goods, ns / base))
end
