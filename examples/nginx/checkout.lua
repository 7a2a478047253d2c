--- The checkout of examples/nginx/nginx.conf: `require("checkout").checkout()` in a
-- content_by_lua_block creates the order and redirects the buyer to the payment link;
-- `require("checkout").paid()` verifies JustClick's payment notifications. Inside nginx every
-- API call is a subrequest to /justclick-upstream/, so a slow JustClick never stalls the
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
      transport = "nginx", location = "/justclick-upstream",
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

--- POST /justclick/paid: a payment notification, answered 200 once verified. A real shop
-- records the event durably before answering (justclick serve does: examples/nginx/notify.conf),
-- and reads the order back with client:confirm(event) before it ships anything.
function checkout.paid()
  ngx.req.read_body()
  local event, err = the_client():notification(ngx.req.get_body_data() or "")
  if not event then
    ngx.log(ngx.WARN, tostring(err))
    return answer(err.kind == "forged" and 403 or 400, err.kind)
  end
  ngx.log(ngx.NOTICE, "justclick: ", event.kind, " for bill ", event.id)
  return answer(200, "OK")
end

return checkout
