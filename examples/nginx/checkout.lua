--- The checkout of examples/nginx/nginx.conf: `require("checkout").checkout()` in a
-- content_by_lua_block creates the order and redirects the buyer to the payment link;
-- `require("checkout").paid()` verifies JustClick's payment notifications and acts on a payment
-- only once the API confirms the bill is paid. Inside nginx a client's every API call is a
-- subrequest to /justclick-upstream/ (the default there), so a slow JustClick never stalls the
-- worker's other requests.
-- luacheck: std +ngx_lua
local justclick = require "justclick"

local checkout = {}

-- One client per worker, made on first use: the secret comes from the environment (nginx.conf
-- keeps JUSTCLICK_USER and JUSTCLICK_SECRET with `env`), never from a request.
local client
local function the_client()
  if not client then
    client = justclick.new {
      user = assert(os.getenv("JUSTCLICK_USER"), "JUSTCLICK_USER is not set"),
      secret = assert(os.getenv("JUSTCLICK_SECRET"), "JUSTCLICK_SECRET is not set"),
      timeout = 60, -- no attempt starts later than this after the call began
    }
  end
  return client
end

local PRODUCTS = { course = true, invoice = true, sales = true } -- what this shop sells here

local function answer(status, text)
  ngx.status = status
  ngx.header["Content-Type"] = "text/plain; charset=utf-8"
  ngx.say(text)
  return ngx.exit(status)
end

--- POST /checkout: email and product from the buy button's form.
function checkout.checkout()
  ngx.req.read_body()
  local form = ngx.req.get_post_args(10) or {}
  local email, product = form.email, form.product
  if type(email) ~= "string" or not email:find("^[^@%s]+@[^@%s]+$") then
    return answer(400, "Please give an email address.")
  end
  if type(product) ~= "string" or not PRODUCTS[product] then return answer(400, "No such product.") end
  local order, err = the_client():create_order {
    bill_email = email, goods = { { good_name = product } },
  }
  if not order then
    ngx.log(ngx.ERR, tostring(err)) -- errors never hold the secret
    if err.sent then -- the order may exist: a second click must not make another blindly
      return answer(503, "We could not confirm your order. Please check your email before ordering again.")
    end
    return answer(err.kind == "input" and 400 or 503, "Your order could not be placed. Please try again.")
  end
  -- order.existing: the same order was placed before (a double click); its link is the same
  return ngx.redirect(order.link, ngx.HTTP_SEE_OTHER)
end

--- POST /justclick/paid: a payment notification. Its hash covers the bill id, the email and a
-- time, not the kind: a new order's body, its status dropped and paid set to its created, verifies
-- as a payment. So the bill is read back (client:confirm, through nginx too) and access is
-- granted only when JustClick says it is paid, to the email it holds. Not confirmed (yet: the
-- API may lag the notification) is a 503, which asks for the notification again; another
-- email's bill a 403. A real shop records the event durably before answering (justclick serve
-- does, and confirms it: examples/nginx/notify.conf); here the grant is a line in the log.
function checkout.paid()
  ngx.req.read_body()
  local c = the_client()
  local event, err = c:notification(ngx.req.get_body_data() or "")
  if not event then
    ngx.log(ngx.WARN, tostring(err))
    return answer(err.kind == "forged" and 403 or 400, err.kind)
  end
  local order, cerr = c:confirm(event)
  if not order then
    ngx.log(ngx.WARN, "justclick: not confirmed: ", event.kind, " for bill ", event.id, ": ", tostring(cerr))
    if cerr.kind == "forged" and cerr.mismatch == "email" then return answer(403, "forged") end
    return answer(503, "not confirmed")
  end
  if event.kind == "paid" then
    local products = {}
    for _, item in ipairs(order.items or {}) do products[#products + 1] = tostring(item.id) end
    ngx.log(ngx.NOTICE, "justclick: granted bill ", event.id, " to ", order.email, ": ",
      table.concat(products, ","), " (", event.key, ")")
  else
    ngx.log(ngx.NOTICE, "justclick: ", event.kind, " for bill ", event.id, " (confirmed)")
  end
  return answer(200, "OK")
end

return checkout
