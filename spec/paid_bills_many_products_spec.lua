-- A shop of over 500 products (issue 20, catch-up): client:paid_bills names the shop's product ids
-- 500 a request (PHP takes 1000 variables); a bill of a product past the 500th is found, and a bill
-- with items on both sides of the split is listed once. The sandbox's products are added to its
-- database directly (it has no method to make one).
local sandbox = require "support.sandbox"
local shell = require "support.shell"

local EXTRA = 700

describe("client:paid_bills on a shop of over 500 products", function()
  local sb

  lazy_setup(function()
    sb = sandbox.start()
    sb:reset()
    local sql = { ".timeout 10000", "BEGIN IMMEDIATE;" }
    for i = 1, EXTRA do
      sql[#sql + 1] = ("INSERT OR IGNORE INTO products VALUES ('p%04d', 'Product %d', 100, 0, 0);"):format(i, i)
    end
    sql[#sql + 1] = "COMMIT;"
    local f = assert(io.open(sb.dir .. "/products.sql", "w"))
    f:write(table.concat(sql, "\n"))
    f:close()
    assert(shell.ok(("sqlite3 %s/sandbox.sqlite < %s/products.sql"):format(sb.dir, sb.dir)))
  end)
  lazy_teardown(function() if sb then sb:stop() end end)

  local function bill(email, goods)
    local list = {}
    for _, g in ipairs(goods) do list[#list + 1] = { good_name = g } end
    local order = assert(sb:client():create_order({ bill_email = email, goods = list }))
    local id = math.floor(tonumber(order.bill_id))
    assert(sb:control("pay", { bill_id = id }).ok)
    return id
  end

  it("finds a bill of a product past the 500th, and lists a bill of products in two requests once", function()
    local goods = assert(sb:client():all_goods())
    assert.is_true(#goods > EXTRA, "the products were not added: " .. #goods)
    local last = goods[#goods].good_id
    local first = goods[4].good_id -- p0001 (book, course, invoice come first; book needs delivery data)
    local middle = goods[600].good_id
    local late = bill("late@example.com", { last })
    local mid = bill("mid@example.com", { middle })
    local both = bill("both@example.com", { first, middle, last })
    local client = sb:client()
    local events = assert(client:paid_bills({ days = 1 }))
    local ids = {}
    for _, e in ipairs(events) do ids[#ids + 1] = e.id end
    table.sort(ids)
    local want = { late, mid, both }
    table.sort(want)
    assert.are.same(want, ids)
    assert.is_true(client:stats().requests >= 3, "the product ids were not split")
  end)
end)
