-- Grants access when an order is paid: a handler for `justclick serve`.
--
--   JUSTCLICK_USER=shop justclick serve --secret-file ~/.justclick-secret \
--     --inbox ~/justclick.inbox examples/on_paid.lua
--
-- Each paid order appends one line to ACCESS_FILE (default access.txt): the event's key, the
-- buyer's email and the products. The receiver runs a handler at least once for each event, and
-- twice only if it died inside the handler: the key makes that harmless.
--
-- The notification's hash covers the bill id, the email and the time, not the sums or the items:
-- where money matters, read the order back first (justclick.order_details(event.id)).
local FILE = os.getenv("ACCESS_FILE") or "access.txt"

-- Whether the event's key is in the file already.
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
    if granted(event.key) then return true end
    local products = {}
    for _, item in ipairs(event.order.items or {}) do products[#products + 1] = item.id end
    local f, err = io.open(FILE, "a")
    if not f then return nil, err end -- the receiver tries again later
    local ok, werr = f:write(("%s\t%s\t%s\n"):format(event.key, event.order.email, table.concat(products, ",")))
    local closed, cerr = f:close() -- a full disk shows here: the receiver tries again later
    if not ok or not closed then return nil, werr or cerr end
    print(("paid: bill %d by %s: %s"):format(event.id, event.order.email, table.concat(products, ", ")))
    return true
  end,
}
