-- Prints an order's payment status and items.
--
--   justclick examples/order_status.lua BILL_ID
--
-- Exits 1 when the order cannot be read (it does not exist, or the API cannot be reached).
local justclick = require "justclick"

local bill_id = math.tointeger(tonumber(arg[1] or ""))
if not bill_id then
  io.stderr:write("usage: justclick examples/order_status.lua BILL_ID\n")
  os.exit(2)
end

local order, err = justclick.order_details(bill_id, { good_info = true })
if not order then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
if order.dry_run then os.exit(0) end
print(("order %d: %s, %s to pay of %s"):format(order.id, order.pay_status, order.bill_sum_topay, order.price))
for _, item in ipairs(order.items) do
  print(("  %-10s %-20s %8s"):format(item.id, item.title, item.sum))
end
