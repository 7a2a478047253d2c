-- The docs' own CreateOrder example, end to end: create the order, read it back, and show it.
--
--   make demo          (starts the sandbox and runs this against it)
--   justclick examples/demo.lua      (with JUSTCLICK_USER, JUSTCLICK_SECRET, JUSTCLICK_API_URL)
local justclick = require "justclick"

local function fail(err)
  io.stderr:write("demo: ", tostring(err), "\n")
  os.exit(1)
end

-- The order of JustClick's PHP example, flat utm[...] keys and all.
local order = {
  goods = {
    { good_name = "invoice", good_sum = 1500 },
    { good_name = "sales" },
  },
  bill_first_name = "Name",
  bill_surname = "Surname",
  bill_middle_name = "Middle Name",
  bill_email = "buyer@example.com",
  bill_phone = "+39287777777",
  bill_country = "USA",
  bill_region = "New York",
  bill_city = "New York",
  bill_address = "Wall St.",
  bill_postal_code = "345678",
  bill_kupon = "skidka50",
  bill_tag = "AdWords",
  bill_comment = "in a beautiful box",
  bill_ip = "",
  bill_timer_kill = true,
  bill_created = os.time(),
  bill_domain = "",
  ["utm[utm_medium]"] = "cpc",
  ["utm[utm_source]"] = "direct",
  ["utm[utm_campaign]"] = "my campaign",
  ["utm[utm_content]"] = "content_123",
  ["utm[utm_term]"] = "my_label",
}

local created, err = justclick.create_order(order)
if not created then fail(err) end
if created.dry_run then os.exit(0) end
print(("Created order %d%s; pay at %s"):format(created.bill_id,
  created.existing and " (it existed already)" or "", created.link))

local info
info, err = justclick.order_details(created.bill_id, { good_info = true })
if not info then fail(err) end
print(("Order %d for %s %s <%s>: %s, %s to pay"):format(info.id, info.first_name, info.last_name,
  info.email, info.pay_status, info.bill_sum_topay))
for _, item in ipairs(info.items) do
  print(("  %-8s %-18s %6s"):format(item.id, item.title, item.sum))
end
print(("Came from: %s / %s / %s"):format(info.utm.source, info.utm.medium, info.utm.campaign))

-- The customer pays. JustClick then notifies the shop; under `make demo`, `justclick serve`
-- with examples/on_paid.lua receives it and prints the paid event.
local paid
paid, err = justclick.update_order_status(created.bill_id, "paid", { date = os.time() })
if not paid then fail(err) end
print(("Order %d marked paid"):format(created.bill_id))
