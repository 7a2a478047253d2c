-- Grants access when an order is paid: a handler for `justclick serve`.
--
--   JUSTCLICK_USER=shop justclick serve --secret-file ~/.justclick-secret \
--     --inbox ~/justclick.inbox examples/on_paid.lua
--
-- Each paid bill appends one line to ACCESS_FILE (default access.txt): "bill-ID", the buyer's
-- email and the products. The receiver runs a handler at least once for each event, and twice
-- only if it died inside the handler. A bill is paid once, but its payment can come as more than
-- one event: JustClick may write the paid time differently in a resend, and anyone who has seen
-- a notification can remake it with another time that still verifies. Each such event has a key
-- of its own, so access is granted once per bill, not once per event.key.
--
-- The notification's hash covers the bill id, the email and the time, not the kind, the sums or
-- the items: a new order's notification can be made into a payment's without the secret. So
-- access goes only by event.confirmed, the bill as JustClick's API gave it once it was paid,
-- which `justclick serve` reads before it calls this handler (unless run with --no-confirm:
-- then nothing is granted, and each event is tried again, then parked).
local FILE = os.getenv("ACCESS_FILE") or "access.txt"

-- Whether the mark ("bill-ID") is in the file already.
local function granted(key)
  local f = io.open(FILE, "r")
  if not f then return false end
  for line in f:lines() do
    if line:sub(1, #key + 1) == key .. "\t" then
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
    local mark = ("bill-%d"):format(event.id)
    if granted(mark) then return true end
    local products = {}
    for _, item in ipairs(order.items or {}) do products[#products + 1] = item.id end
    local f, err = io.open(FILE, "a")
    if not f then return nil, err end -- the receiver tries again later
    local ok, werr = f:write(("%s\t%s\t%s\n"):format(mark, order.email, table.concat(products, ",")))
    local closed, cerr = f:close() -- a full disk shows here: the receiver tries again later
    if not ok or not closed then return nil, werr or cerr end
    print(("paid: bill %d by %s: %s"):format(event.id, order.email, table.concat(products, ", ")))
    return true
  end,
}
