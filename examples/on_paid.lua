-- Grants access when an order is paid: a handler for `justclick serve`.
--
--   JUSTCLICK_USER=shop justclick serve --secret-file ~/.justclick-secret \
--     --inbox ~/justclick.inbox --catch-up 10 examples/on_paid.lua
--
-- Each paid order appends one line to ACCESS_FILE (default access.txt): the event's key, the
-- buyer's email and the products. The receiver runs a handler at least once for each event, and
-- twice only if it died inside the handler. A bill is paid once, so access goes once per bill
-- (the key's "paid-<bill id>-"), not once per key: the key digests the sums, which the hash does
-- not sign, so a captured payment's body sent again with another last_payment_sum is a new event
-- of a bill the API shows paid.
--
-- The notification's hash covers the bill id, the email and the time, not the kind, the sums or
-- the items: a new order's notification can be made into a payment's without the secret. So
-- access goes only by event.confirmed, the bill as JustClick's API gave it once it was paid,
-- which `justclick serve` reads before it calls this handler (unless run with --no-confirm:
-- then nothing is granted, and each event is tried again, then parked).
local FILE = os.getenv("ACCESS_FILE") or "access.txt"

-- Whether the bill was granted already: a line whose key is of that bill.
local function granted(id)
  local prefix = ("paid-%d-"):format(id)
  local f = io.open(FILE, "r")
  if not f then return false end
  for line in f:lines() do
    if line:sub(1, #prefix) == prefix then
      f:close()
      return true
    end
  end
  f:close()
  return false
end

return {
  paid = function(event)
    local order = event.confirmed -- paid, of the notification's email: serve checked both
    if not order then return nil, "not confirmed: run justclick serve without --no-confirm" end
    if granted(event.id) then return true end
    local products = {}
    for _, item in ipairs(order.items or {}) do products[#products + 1] = item.id end
    local f, err = io.open(FILE, "a")
    if not f then return nil, err end -- the receiver tries again later
    local ok, werr = f:write(("%s\t%s\t%s\n"):format(event.key, order.email, table.concat(products, ",")))
    local closed, cerr = f:close() -- a full disk shows here: the receiver tries again later
    if not ok or not closed then return nil, werr or cerr end
    print(("paid: bill %d by %s: %s"):format(event.id, order.email, table.concat(products, ", ")))
    return true
  end,
}
