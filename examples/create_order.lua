-- Creates one order from the command line.
--
--   justclick examples/create_order.lua EMAIL GOOD[:SUM] [GOOD[:SUM] ...]
--   JUSTCLICK_USER=demo JUSTCLICK_SECRET=sandbox-secret JUSTCLICK_API_URL=http://127.0.0.1:8080/api \
--     justclick examples/create_order.lua buyer@example.com invoice:1500 sales
--
-- Prints the order's number and payment link. Exits 1 when the order could not be created, and
-- says whether it may exist all the same (then look it up before creating it again).
local justclick = require "justclick"

local email = arg[1]
if not email or not arg[2] then
  io.stderr:write("usage: justclick examples/create_order.lua EMAIL GOOD[:SUM] [GOOD[:SUM] ...]\n")
  os.exit(2)
end

local goods = {}
for i = 2, #arg do
  local name, sum = arg[i]:match("^([^:]+):?(.*)$")
  local good = { good_name = name }
  if sum ~= "" then
    good.good_sum = tonumber(sum)
    if not good.good_sum then
      io.stderr:write(("not a price: %q\n"):format(sum))
      os.exit(2)
    end
  end
  goods[#goods + 1] = good
end

local order, err = justclick.create_order({ bill_email = email, goods = goods })
if not order then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
if order.dry_run then os.exit(0) end
print(("order %d%s: %s"):format(order.bill_id, order.existing and " (it existed already)" or "", order.link))
