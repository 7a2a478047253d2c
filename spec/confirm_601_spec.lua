-- Found by an attack on issue 18: receiving-payments.md, "A reply it [client:confirm] cannot read
-- (a pay_status the docs do not list, a sum that is no number, a field missing, the `id` of
-- another bill, a code 601) is a `protocol` error to retry, never a confirmation". A signed
-- getOrderDetails reply of code 601 came back from confirm as order_details' own `api` error
-- 601 with retryable = false. (justclick serve retries it all the same: any
-- failed confirmation is a failed try.)
local justclick = require "justclick"
local md5 = require("justclick.bench").md5
local cjson = require "cjson"

local function answering(reply)
  local c = justclick.new({ user = "demo", secret = "stub-secret", api_url = "http://127.0.0.1:9/api" })
  c.session:close()
  c.session = { post = function() return 200, cjson.encode(reply) end, close = function() end }
  return c
end

local function paid_event()
  local form = { id = "5", email = "s@example.com", created = "2026-11-23 09:00:00", paid = "2026-11-23 10:00:00" }
  form.hash = md5(form.id .. form.email .. form.paid .. "stub-secret")
  return assert(justclick.notification(justclick.build_query(form), "stub-secret"))
end

describe("client:confirm on a getOrderDetails reply of code 601", function()
  it("is a protocol error to retry", function()
    local bill = { id = 5, email = "s@example.com", pay_status = "paid", bill_sum_topay = 0, price = 100 }
    local c = answering({ error_code = 601, error_text = "Order already exists", result = bill,
      hash = md5("601::Order already exists::stub-secret") })
    local order, err = c:confirm(paid_event())
    assert.is_nil(order)
    assert.are.equal("protocol", err.kind, tostring(err))
    assert.is_true(err.retryable, tostring(err))
  end)
end)
