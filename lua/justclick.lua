--- justclick: a client for the JustClick HTTP API.
-- The C core (justclick.core) does the bytes: PHP's http_build_query, the md5 signature, the
-- libcurl transport and the reply check; justclick.engine prepares, sends, settles and repeats
-- the calls. This file holds the API's vocabulary and its validation.
local core = require "justclick.core"
local engine = require "justclick.engine"
local errors = require "justclick.errors"
local LIMITS = core.limits -- src/limits.h
local math_type, tointeger, integer = engine.math_type, engine.tointeger, engine.integer
local new_error, visible, redact, check_options = errors.new, errors.visible, errors.redact, errors.check_options

local justclick = {
  _VERSION = core._VERSION,
  --- Stands for PHP's null: skipped when encoding, and what JSON null decodes to.
  -- The same value as cjson.null.
  null = core.null,
  --- build_query(params [, {max_input_vars = n|false}]) -> PHP's http_build_query bytes.
  build_query = core.build_query,
  --- sign(params, user, secret [, options]) -> md5 hex of query .. "::" .. user .. "::" .. secret.
  sign = core.sign,
  --- verify_reply(reply, secret) -> whether reply.hash signs its error_code and error_text.
  verify_reply = core.verify_reply,
  --- parse_query(body [, {max_input_vars =, max_input_nesting_level =}]) -> the form as PHP 8
  -- builds $_POST from it, and the count of variables PHP would drop.
  parse_query = core.parse_query,
}

--- justclick.visible(text) -> text with what a terminal or a log would obey (controls, bidi
-- marks, bytes that are not UTF-8) shown as escapes.
justclick.visible = visible

--- Whether a value is an error returned by this module.
justclick.is_error = errors.is_error

local secrets = setmetatable({}, { __mode = "k" }) -- a client's secret, kept out of the client table

local request = engine.request -- prepared, sent, settled and repeated as the engine's policy says

-- ---------------------------------------------------------------------------------------------
-- Clients

local Client = {}
Client.__index = Client

function Client.__tostring(c)
  return ("justclick client for %s at %s"):format(c.user, c.api_url)
end

function Client.__close(c)
  c:close()
end

local OPTIONS = {
  user = "string", secret = "string", api_url = "string", timeout = "number",
  connect_timeout = "number", retries = "number", ca_file = "string", max_reply = "number",
  backoff = "number", max_input_vars = "number", dry_run = "boolean", verbose = "boolean",
  keep_alive = "boolean", transport = "string", location = "string",
}

-- What the nginx transport leaves to the location's directives (README, "In nginx").
local NGINX_LEAVES = { connect_timeout = "the location's proxy_connect_timeout",
  ca_file = "the location's proxy_ssl_trusted_certificate", keep_alive = "an upstream block's keepalive" }

-- Whether this Lua runs inside nginx (lua-nginx-module, OpenResty): there, libcurl would hold
-- the worker, and every other request it serves, for the whole of each call.
local function inside_nginx()
  local n = rawget(_G, "ngx")
  return type(n) == "table" and type(n.location) == "table" and type(n.location.capture) == "function"
end

--- justclick.new{user=, secret=, api_url=, timeout=30, connect_timeout=10, retries=2,
-- ca_file=nil, max_reply=8 MiB, backoff=0.5, max_input_vars=1000} -> client
-- transport = "nginx", location = "/justclick-upstream": calls go as subrequests to that
-- location (justclick.nginx), and waits leave the worker free. Inside nginx it is the default;
-- libcurl, which blocks the worker, only when asked for by name (transport = "curl").
function justclick.new(opts)
  if type(opts) ~= "table" then error("justclick.new: expected a table of options", 2) end
  check_options("justclick.new", opts, OPTIONS)
  for k, v in pairs(opts) do
    if type(v) ~= OPTIONS[k] then error(("justclick.new: %s must be a %s"):format(k, OPTIONS[k]), 2) end
  end
  local user, secret = opts.user, opts.secret
  if not user or user == "" then error("justclick.new: user is required", 2) end
  if not secret or secret == "" then error("justclick.new: secret is required", 2) end
  local api_url = opts.api_url
  if not api_url then
    if not user:match("^[%w_-]+$") then
      error("justclick.new: user is not a domain name label; give api_url", 2)
    end
    api_url = "https://" .. user .. ".justclick.io/api"
  end
  if not api_url:match("^https?://[^%s]+$") then error("justclick.new: api_url must be an http(s) URL", 2) end
  local retries = opts.retries or 2
  if math_type(retries) ~= "integer" or retries < 0 then
    error("justclick.new: retries must be an integer of 0 or more", 2)
  end
  for _, k in ipairs({ "timeout", "connect_timeout" }) do
    local v = opts[k]
    if v and not (v >= 0.001 and v <= 86400) then
      error(("justclick.new: %s must be a number of seconds from 0.001 to 86400"):format(k), 2)
    end
  end
  for _, k in ipairs({ "max_reply", "backoff", "max_input_vars" }) do
    local v = opts[k]
    if v and not (v > 0 and v < math.huge) then error(("justclick.new: %s must be above 0"):format(k), 2) end
  end
  for _, k in ipairs({ "max_reply", "max_input_vars" }) do
    if opts[k] and not tointeger(opts[k]) then error(("justclick.new: %s must be an integer"):format(k), 2) end
  end
  local client = setmetatable({
    user = user,
    api_url = (api_url:gsub("/+$", "")),
    retries = retries,
    backoff = opts.backoff or 0.5,
    max_input_vars = opts.max_input_vars and tointeger(opts.max_input_vars) or LIMITS.max_input_vars,
    timeout = opts.timeout or 30,
    -- this client's own; a dry run of the whole process (the host's --dry-run) is checked at each
    -- call, in one place (engine.dry_run), so that it holds for clients made before it too
    dry_run = opts.dry_run or false,
    verbose = opts.verbose or false,
    -- how this client speaks HTTP, for its session and for the multi sessions of an import
    http = {
      timeout = opts.timeout, connect_timeout = opts.connect_timeout, ca_file = opts.ca_file,
      max_reply = opts.max_reply and tointeger(opts.max_reply), keep_alive = opts.keep_alive,
    },
  }, Client)
  local transport, sleep = opts.transport, nil -- sleep: the wait between attempts
  if transport == nil then transport = inside_nginx() and "nginx" or "curl" end
  if transport == "nginx" then
    local given = {} -- every one given, in one error, in a stable order
    for k, directive in pairs(NGINX_LEAVES) do
      if opts[k] ~= nil then given[#given + 1] = ("%s is %s"):format(k, directive) end
    end
    if #given > 0 then
      table.sort(given)
      error(("justclick.new: %s under nginx%s"):format(table.concat(given, ", "),
        opts.transport and "" or " (the transport inside nginx; transport = \"curl\" for libcurl's)"), 2)
    end
    local nginx = require "justclick.nginx"
    client.session = nginx.session({
      location = opts.location or "/justclick-upstream", api_url = client.api_url, max_reply = client.http.max_reply,
    })
    sleep = nginx.sleep
  elseif transport == "curl" then
    if opts.location ~= nil then error("justclick.new: location is for transport = \"nginx\"", 2) end
    client.session = core.session(client.http)
    sleep = core.sleep
  else
    error("justclick.new: transport must be \"curl\" or \"nginx\"", 2)
  end
  secrets[client] = secret
  engine.attach(client, secret, sleep)
  return client
end

--- client:call(method, params) -> result | nil, err. Any API method by name; read methods are
-- retried after transport failures and 5xx, others only when the request never left; any is
-- retried after a code 8 (the request limit), a write only when that reply verifies.
function Client:call(method, params)
  if type(method) ~= "string" or not method:match("^%a[%w_]*$") then
    error("call: method must be an API method name such as \"GetBills\"", 2)
  end
  if params ~= nil and type(params) ~= "table" then error("call: params must be a table", 2) end
  return request(self, method, params or {}, engine.read_only(method))
end

--- justclick.order_problem(order) -> what CreateOrder lacks (bill_email, goods with a
-- good_name each), or nil: the check create_order and the importer make before sending, on an
-- order that build_query accepted (so no metatable changes what it holds).
local function order_problem(order)
  if type(order.bill_email) ~= "string" or not order.bill_email:find("%S") then
    return "bill_email is required"
  end
  local goods = order.goods
  if type(goods) ~= "table" or goods[1] == nil then
    return "goods must be a non-empty list of {good_name = ...}"
  end
  for i, good in ipairs(goods) do
    if type(good) ~= "table" then return ("goods[%d] must be a table"):format(i) end
    local name = good.good_name
    if not ((type(name) == "string" and name:find("%S")) or math_type(name) == "integer") then
      return ("goods[%d].good_name is required"):format(i)
    end
  end
  return nil
end

justclick.order_problem = order_problem


--- client:create_order(order) -> {bill_id, link [, existing]} | nil, err
-- Never repeated once the request may have reached the server: a duplicate order costs a customer.
function Client:create_order(order)
  if type(order) ~= "table" then error("create_order: expected the order as a table", 2) end
  local url, body = engine.prepare(self, "CreateOrder", order) -- first: it refuses what the check below cannot see
  if not url then return nil, body end
  local problem = order_problem(order)
  if problem then return nil, new_error("input", nil, problem) end
  return engine.send(self, "CreateOrder", url, body, false)
end

-- Raises, for the caller of `method`, unless bill_id is an integer; returns it.
local function bill_id_of(method, bill_id)
  local id = math_type(bill_id) == "integer" and bill_id or (math_type(bill_id) == "float" and tointeger(bill_id))
  if not id then error(method .. ": bill_id must be an integer", 3) end
  return id
end

--- client:order_details(bill_id [, {good_info = true}]) -> the order | nil, err
function Client:order_details(bill_id, opts)
  local params = { bill_id = bill_id_of("order_details", bill_id) }
  params.good_info = check_options("order_details", opts, { good_info = true }).good_info and true or nil
  return request(self, "getOrderDetails", params, true)
end

local STATUSES = { sent = true, paid = true, ["return"] = true, cancel = true }

--- client:update_order_status(bill_id, status [, {date =, rpo =}]) -> result | nil, err
-- status: "sent", "paid", "return" or "cancel"; date (a unix time) is required for sent and
-- paid, rpo (the tracking number) for sent.
function Client:update_order_status(bill_id, status, opts)
  local params = { bill_id = bill_id_of("update_order_status", bill_id), status = status }
  opts = check_options("update_order_status", opts, { date = true, rpo = true })
  if not STATUSES[status] then
    local message = ("status must be sent, paid, return or cancel, not %s"):format(tostring(status))
    return nil, new_error("input", nil, message)
  end
  local date = tointeger(opts.date)
  if opts.date ~= nil and not date then return nil, new_error("input", nil, "date must be a unix time") end
  if not date and (status == "sent" or status == "paid") then
    return nil, new_error("input", nil, ("date (a unix time) is required for status %s"):format(status))
  end
  params.date = date
  if status == "sent" and (type(opts.rpo) ~= "string" or not opts.rpo:find("%S")) then
    return nil, new_error("input", nil, "rpo (the tracking number) is required for status sent")
  end
  params.rpo = opts.rpo
  return request(self, "UpdateOrderStatus", params, false)
end

--- client:delete_order(bill_id) -> result | nil, err
function Client:delete_order(bill_id)
  return request(self, "DeleteOrder", { bill_id = bill_id_of("delete_order", bill_id) }, false)
end

local PAY_STATUSES = { paid = true, waiting = true, cancel = true }

-- A bill's goods as GetBills gives them, whose fields are not published: a list of goods, or
-- goods keyed by their product code; each read as {good_name =, good_sum =} where it can be.
local function bill_goods(entry)
  local goods = {}
  if type(entry) ~= "table" then return goods end
  local list = type(entry.goods) == "table" and entry.goods or entry
  for key, g in pairs(list) do
    if type(g) == "table" then
      local name = g.good_name or g.id or (type(key) == "string" and key) or nil
      goods[#goods + 1] = { good_name = name, good_sum = tonumber(g.good_sum or g.sum) }
    end
  end
  table.sort(goods, function(a, b) return tostring(a.good_name) < tostring(b.good_name) end)
  return goods
end

--- client:bills(email [, {pay_status = "paid"|"waiting"|"cancel"}]) -> the email's bills | nil, err
-- A list sorted by bill_id: {bill_id = integer, goods = {{good_name =, good_sum =}, ...}, entry =
-- what GetBills gave}. GetBills answers either with a list of {bill_id, goods} or, as its docs
-- and the public PHP client read it, with an object keyed by bill id whose entries are keyed by
-- the bill's goods; both come back in this one shape. The goods' fields are not published:
-- confirm a bill through order_details before relying on them.
function Client:bills(email, opts)
  opts = check_options("bills", opts, { pay_status = true })
  if type(email) ~= "string" or not email:find("%S") then return nil, new_error("input", nil, "email is required") end
  if opts.pay_status ~= nil and not PAY_STATUSES[opts.pay_status] then
    return nil, new_error("input", nil, "pay_status must be paid, waiting or cancel")
  end
  local result, err = request(self, "GetBills", { email = email, pay_status = opts.pay_status }, true)
  if not result then return nil, err end
  local bills = {}
  for key, entry in pairs(result) do
    local id -- in a list of bills, the entry names it; in the keyed shape, its key
    if math_type(key) == "integer" then
      id = type(entry) == "table" and integer(entry.bill_id)
    else
      id = integer(key)
    end
    if not id then
      return nil, new_error("protocol", nil, ("GetBills: a bill without a bill id (%s)"):format(visible(tostring(key))))
    end
    bills[#bills + 1] = { bill_id = id, goods = bill_goods(entry), entry = entry }
  end
  table.sort(bills, function(a, b) return a.bill_id < b.bill_id end)
  return bills
end

--- client:all_goods() -> the shop's products | nil, err
function Client:all_goods()
  return request(self, "GetAllGoods", {}, true)
end

-- A day as os.time at noon (noon keeps day arithmetic clear of DST), from a unix time or a
-- date written dd.mm.yyyy or yyyy-mm-dd; nil for anything else.
local function day_of(value)
  local d, m, y
  if math_type(value) == "integer" then
    if value < 0 or value > 253402300799 then return nil end -- up to 9999-12-31
    local t = os.date("*t", value)
    d, m, y = t.day, t.month, t.year
  elseif type(value) == "string" then
    d, m, y = value:match("^(%d%d?)%.(%d%d?)%.(%d%d%d%d)$")
    if not d then y, m, d = value:match("^(%d%d%d%d)%-(%d%d?)%-(%d%d?)$") end
    if not d then return nil end
    d, m, y = tonumber(d), tonumber(m), tonumber(y)
    local t = os.date("*t", os.time({ year = y, month = m, day = d, hour = 12 }))
    if t.day ~= d or t.month ~= m then return nil end -- 31.02 and the like
  else
    return nil
  end
  return os.time({ year = y, month = m, day = d, hour = 12 })
end

local function shift_day(day, months, days)
  local t = os.date("*t", day)
  return os.time({ year = t.year, month = t.month + months, day = t.day + days, hour = 12 })
end

-- The days one getOrdersWithGoods asks for at most: the API cuts a span longer than a month to
-- its last month, and how it counts a month is not published; 28 days are within any.
local DAYS_A_REQUEST = 28

--- client:orders_with_goods{from =, to =, paid =, goods =} -> the orders | nil, err
-- from and to: unix times or dates (dd.mm.yyyy or yyyy-mm-dd), both days included. The API takes
-- at most a month at a time: a longer range is asked for 28 days at a time and the answers merged.
-- paid: true or false filters by payment; goods: a product id or a list of them.
function Client:orders_with_goods(opts)
  if type(opts) ~= "table" then error("orders_with_goods: expected a table of options", 2) end
  check_options("orders_with_goods", opts, { from = true, to = true, paid = true, goods = true })
  local first, last = day_of(opts.from), day_of(opts.to)
  if not first or not last then
    return nil, new_error("input", nil, "from and to must be unix times or dates (dd.mm.yyyy or yyyy-mm-dd)")
  end
  if last < first then return nil, new_error("input", nil, "to comes before from") end
  if opts.paid ~= nil and type(opts.paid) ~= "boolean" then
    return nil, new_error("input", nil, "paid must be true or false")
  end
  local orders, start, deadline = {}, first, core.now() + self.timeout -- timeout bounds the whole call
  while start <= last do
    local stop = math.min(shift_day(start, 0, DAYS_A_REQUEST - 1), last)
    local result, err = request(self, "getOrdersWithGoods", {
      begin_date = os.date("%d.%m.%Y", start), end_date = os.date("%d.%m.%Y", stop),
      paid = opts.paid, goods = opts.goods,
    }, true, deadline)
    if not result then return nil, err end
    if type(result) == "table" then
      local n = 0
      for _ in pairs(result) do n = n + 1 end
      if n ~= #result then -- an object (keyed by bill id, say): read as a list, it would list none
        return nil, new_error("protocol", nil, "getOrdersWithGoods: a result that is no list of orders",
          { retryable = true })
      end
      for _, order in ipairs(result) do orders[#orders + 1] = order end
    end
    start = shift_day(stop, 0, 1)
  end
  return orders
end

-- ---------------------------------------------------------------------------------------------
-- Payment notifications

--- justclick.notification(body, secret) -> event | nil, err: a payment notification, as
-- JustClick POSTs it, parsed as PHP reads the form, verified and classified. event.kind is
-- "new_order", "paid", "prepaid", "cancel_order" or "moneyback"; event.id the bill id;
-- event.key the same for the same notification sent again; event.order the form, with the bill
-- id and partner ids and levels as integers, sums and fees as numbers, and items as a list.
-- err.kind is "forged" (its hash is missing or wrong) or "input" (it is no notification). A
-- new_order or cancel_order is signed md5(id . email . created . secret), a payment (paid,
-- prepaid: no status) and a moneyback md5(id . email . paid . secret); no other pairing is taken.
-- The hash covers the bill id, the email and that time, not the kind, the sums or the items: a
-- new order's body can be made into a payment's that verifies. client:confirm(event) proves
-- the kind through the API; act on nothing that moves money before it has.
function justclick.notification(body, secret)
  if type(body) ~= "string" then error("notification: body must be a string", 2) end
  if type(secret) ~= "string" or secret == "" then error("notification: secret must be a string", 2) end
  local kind, id, key, form = core.notification_check(body, secret)
  if not kind then -- id is then the error table: kind "forged" or "input", and its message
    return nil, new_error(id.kind, nil, id.message, id.kind == "forged" and { verified = false } or nil)
  end
  return { kind = kind, id = id, key = key, order = form } -- numbers as numbers (core's typer)
end

--- client:notification(body) -> event | nil, err: justclick.notification with this client's secret.
function Client:notification(body)
  return justclick.notification(body, secrets[self])
end

-- The states getOrderDetails' pay_status takes, as the docs list them: GetBills' paid, waiting
-- and cancel, and UpdateOrderStatus' sent, paid, return and cancel.
local BILL_STATES = { waiting = true, paid = true, sent = true, ["return"] = true, cancel = true }

-- A sum as the API may write it: a number, or a decimal in a string ("1500.00"); nil for
-- anything else (a negative sum, NaN, an exponent, a word).
local function amount(v)
  if type(v) == "string" and v:match("^%s*%d+%.?%d*%s*$") then v = tonumber(v) end
  if type(v) ~= "number" or v ~= v or v < 0 or v == math.huge then return nil end
  return v
end

-- Whether the bill's state (pay_status, bill_sum_topay left to pay, price the total) is the
-- one an event of this kind says it is in.
local CLAIMS = {
  new_order = function() return true end, -- a bill of that email, in any state it can be in
  paid = function(state, topay) return state == "paid" or (state == "sent" and topay == 0) end,
  prepaid = function(state, topay, price)
    return state == "paid" or ((state == "waiting" or state == "sent") and topay < price)
  end,
  cancel_order = function(state) return state == "cancel" end,
  moneyback = function(state) return state == "return" end,
}
-- What getOrderDetails gave in place of a sum, as an error tells it.
local function not_a_sum(name, v)
  if v == nil or v == core.null then return "without " .. name end
  return ("with %s %q, which is no sum"):format(name, tostring(v))
end

local CLAIMED = { new_order = "a bill", paid = "paid", prepaid = "partly paid", cancel_order = "cancelled",
  moneyback = "returned" }

--- client:confirm(event) -> order | nil, err: the event's bill as JustClick holds it, read back
-- with order_details, when it is in the state the event says and of the event's email; the
-- order to trust where money matters. A notification's hash covers only the bill id, the email
-- and one time: not the kind (a new order's body can be made into a payment's without the
-- secret), the sums or the items, and digits can move between its id and its email. What the
-- state must be, by event.kind (pay_status; bill_sum_topay, left to pay; price, the total):
--   paid          pay_status paid, or sent with nothing left to pay
--   prepaid       something paid: pay_status paid, or waiting or sent with bill_sum_topay < price
--   cancel_order  pay_status cancel;   moneyback: pay_status return
--   new_order     any state: the bill exists, of that email
-- err.kind "forged": err.mismatch "state" (the bill is in another state: JustClick's reads may
-- lag its notification, so err.retryable is true; err.pay_status and err.bill_sum_topay are what
-- it read) or "email" (the bill is another email's, which no wait changes). A reply whose fields
-- are not as the docs list them (an unknown pay_status, a sum that is no number, a field
-- missing, the id of another bill) is a "protocol" error to retry, never a confirmation. Any
-- other error, "no bill" among them (a bill deleted since, or a recut id), is order_details' own.
function Client:confirm(event)
  if type(event) ~= "table" or math_type(event.id) ~= "integer" or type(event.order) ~= "table" then
    error("confirm: event must be a notification's event", 2)
  end
  local claim = CLAIMS[event.kind]
  if not claim then error(("confirm: event.kind %s is no notification's kind"):format(tostring(event.kind)), 2) end
  local order, err = self:order_details(event.id)
  if not order and not (err.kind == "api" and err.code == 601) then return nil, err end
  local function unread(what)
    return nil, new_error("protocol", nil, ("getOrderDetails gave bill %d %s"):format(event.id, visible(what)),
      { retryable = true, bill_id = event.id })
  end
  if not order then return unread("as code 601, which answers CreateOrder") end -- a reply it cannot read
  -- the bill the reply describes first: one about another bill (or none) proves nothing, and its
  -- email must not close the event as another's
  local described = integer(order.id)
  if described ~= event.id then
    return unread(described and ("as bill %d"):format(described) or "without its id")
  end
  local function email(v) return type(v) == "string" and v:match("^%s*(.-)%s*$"):lower() or nil end
  local theirs, ours = email(order.email), email(event.order.email)
  if theirs == nil then return unread("without an email") end
  if theirs ~= ours then
    return nil, new_error("forged", nil, ("bill %d is of another email than the notification's"):format(event.id),
      { mismatch = "email", bill_id = event.id })
  end
  local state, topay, price = order.pay_status, amount(order.bill_sum_topay), amount(order.price)
  if type(state) ~= "string" or not BILL_STATES[state] then
    return unread((state == nil or state == core.null) and "without a pay_status"
      or ("with pay_status %q, which the docs do not list"):format(tostring(state)))
  elseif topay == nil then
    return unread(not_a_sum("bill_sum_topay", order.bill_sum_topay))
  elseif price == nil and event.kind == "prepaid" then
    return unread(not_a_sum("price", order.price))
  end
  if not claim(state, topay, price) then
    local message = ("bill %d is %s with %s left to pay, not %s as the %s notification says (JustClick may"
      .. " not show it yet, or the notification was made from another)"):format(event.id, state,
      tostring(order.bill_sum_topay), CLAIMED[event.kind], event.kind)
    return nil, new_error("forged", nil, visible(message), { mismatch = "state", retryable = true,
      bill_id = event.id, pay_status = state, bill_sum_topay = topay })
  end
  return order
end

-- The most product ids one getOrdersWithGoods names: PHP takes 1000 variables a request.
local GOODS_A_REQUEST = 500

-- The orders getOrdersWithGoods lists as paid between the days first and last (os.time at noon),
-- for the products `goods`. A reply too large for max_reply is asked again in halves, down to a
-- day: a busy month is then read in as many requests as it needs.
local function paid_orders(client, first, last, goods)
  local orders, err = client:orders_with_goods({ from = first, to = last, paid = true, goods = goods })
  if orders or not err.too_big then return orders, err end
  -- the days after the first, counted in whole days: noon to noon is 23 or 25 hours across a
  -- change of summer time, so seconds alone would take two days for one
  local days = math.floor((last - first) / 86400 + 0.5)
  if days < 1 then return orders, err end
  local mid = shift_day(first, 0, math.floor(days / 2))
  local head, herr = paid_orders(client, first, mid, goods)
  if not head then return nil, herr end
  local tail, terr = paid_orders(client, shift_day(mid, 0, 1), last, goods)
  if not tail then return nil, terr end
  for _, order in ipairs(tail) do head[#head + 1] = order end
  return head
end

--- client:paid_bills{from =, to =} or {days = n} -> events | nil, err: the bills paid within the
-- span (from and to as orders_with_goods takes them, both days included; days: the last n days and
-- today), as `paid` events, for a host that keeps its own store: {kind = "paid", id = the bill id,
-- key = "paid-ID-api", source = "api", order = the bill as getOrdersWithGoods gave it, typed as a
-- notification's form is (event.order of justclick.notification), body = that form as text}, by
-- bill id. Only the bills the API shows paid now (pay_status paid, or sent with nothing left to
-- pay, as client:confirm asks of a paid event): one returned or cancelled since is left out. It
-- reads GetAllGoods (no products, code 700: no bills) and getOrdersWithGoods with paid = true and
-- the shop's product ids (500 a request at most), 28 days a request.
function Client:paid_bills(span)
  if type(span) ~= "table" then error("paid_bills: expected a table: {from =, to =} or {days =}", 2) end
  check_options("paid_bills", span, { from = true, to = true, days = true })
  local first, last
  if span.days ~= nil then
    if span.from ~= nil or span.to ~= nil then error("paid_bills: days, or from and to, not both", 2) end
    local days = tointeger(span.days)
    if not days or days < 0 or days > 36600 then
      return nil, new_error("input", nil, "days must be a whole number of days from 0 to 36600")
    end
    last = day_of(os.time())
    first = shift_day(last, 0, -days)
  else
    first, last = day_of(span.from), day_of(span.to == nil and os.time() or span.to)
    if not first or not last then
      return nil, new_error("input", nil, "from and to must be unix times or dates (dd.mm.yyyy or yyyy-mm-dd)")
    end
  end
  if last < first then return nil, new_error("input", nil, "to comes before from") end
  local products, err = self:all_goods()
  if not products and err.kind == "api" and err.code == 700 then return {} end -- no products: nothing paid
  if not products then return nil, err end
  local listed = 0
  for _ in pairs(products) do listed = listed + 1 end
  if listed ~= #products then -- an object: read as a list, it would name no product, and no bill
    return nil, new_error("protocol", nil, "GetAllGoods: a result that is no list of products", { retryable = true })
  end
  local ids = {}
  for _, p in ipairs(products) do
    if type(p) == "table" and p.good_id ~= nil and p.good_id ~= core.null then ids[#ids + 1] = p.good_id end
  end
  if #ids == 0 then return {} end
  local events, seen = {}, {}
  for start = 1, #ids, GOODS_A_REQUEST do
    local goods = {}
    for i = start, math.min(#ids, start + GOODS_A_REQUEST - 1) do goods[#goods + 1] = ids[i] end
    local orders, oerr = paid_orders(self, first, last, goods)
    if not orders then return nil, oerr end
    for _, order in ipairs(orders) do
      local id = type(order) == "table" and integer(order.id)
      if not id or id < 0 then
        return nil, new_error("protocol", nil, "getOrdersWithGoods: an order without its id", { retryable = true })
      elseif type(order.email) ~= "string" or not order.email:find("%S") then -- the confirmation's check
        return nil, new_error("protocol", nil, ("getOrdersWithGoods: bill %d without its email"):format(id),
          { retryable = true })
      end
      -- a JSON number is read through a double: past 2^53 it may be another bill's id
      if type(order.id) == "number" and id >= LIMITS.exact_bound then
        return nil, new_error("protocol", nil, ("getOrdersWithGoods: bill id %s is past 2^53, which a JSON number"
          .. " cannot carry exactly"):format(tostring(order.id)), { retryable = true })
      end
      if not seen[id] and CLAIMS.paid(order.pay_status, amount(order.bill_sum_topay)) then
        seen[id] = true
        local formed, body = pcall(core.build_query, order, { max_input_vars = false })
        if not formed then -- a field no form can carry: the event could not be stored as a notification's
          return nil, new_error("protocol", nil, ("getOrdersWithGoods: bill %d cannot be written as a form: %s")
            :format(id, visible(tostring(body))), { retryable = true })
        end
        events[#events + 1] = { kind = "paid", id = id, key = ("paid-%d-api"):format(id), source = "api",
          order = core.notification_form(body), body = body }
      end
    end
  end
  table.sort(events, function(a, b) return a.id < b.id end)
  return events
end

--- client:redact(text) -> text, or a notice in its place when it holds this client's secret.
function Client:redact(text)
  return redact(text, secrets[self])
end

--- client:stats() -> {connects, requests}: connections opened and requests made.
function Client:stats()
  return self.session:stats()
end

--- client:close(): releases the connection. Idempotent; also done by <close> and the GC.
function Client:close()
  self.session:close()
end

-- ---------------------------------------------------------------------------------------------
-- The module-level client: justclick.configure{...}, or JUSTCLICK_USER, JUSTCLICK_SECRET and
-- JUSTCLICK_API_URL from the environment.

local default
local defaults = {} -- set_defaults: what the module-level client is built from, over the environment

--- justclick.configure(options) -> client: sets the client the module-level functions use.
function justclick.configure(opts)
  local client = justclick.new(opts)
  if default then default:close() end
  default = client
  return client
end

--- justclick.set_defaults(options): options for the module-level client, built on first use.
-- They take precedence over JUSTCLICK_USER, JUSTCLICK_SECRET and JUSTCLICK_API_URL. The host
-- program sets them from its command line.
-- dry_run = true (the host's --dry-run) makes the whole process a dry run: every client, made
-- before or after, prints its calls instead of sending them, and core refuses the network.
function justclick.set_defaults(opts)
  if type(opts) ~= "table" then error("set_defaults: expected a table of options", 2) end
  check_options("set_defaults", opts, OPTIONS)
  for k, v in pairs(opts) do defaults[k] = v end
  if opts.dry_run then core.forbid_network() end
  if default then default:close() end
  default = nil
end

-- The module-level client, built on first use; nil and an "input" error when there is neither a
-- configured client nor the environment's user and secret.
local function configured_client()
  if not default then
    local opts = {
      user = os.getenv("JUSTCLICK_USER"), secret = os.getenv("JUSTCLICK_SECRET"),
      api_url = os.getenv("JUSTCLICK_API_URL"),
    }
    for k, v in pairs(defaults) do opts[k] = v end
    if not opts.user or not opts.secret then
      -- Said to a Lua user; `missing` lets the host's commands say it to a shell user, in flags.
      local missing = {}
      if not opts.user then missing[#missing + 1] = "user" end
      if not opts.secret then missing[#missing + 1] = "secret" end
      return nil, new_error("input", nil, "not configured: call justclick.configure{user = ..., secret = ...}"
        .. " or set JUSTCLICK_USER and JUSTCLICK_SECRET", { missing = missing })
    end
    default = justclick.new(opts)
  end
  return default
end

-- What a shell user of the host's commands is told for a configuration that lacks `missing`
-- (the "input" error's field): the flags and variables to set, never justclick.configure,
-- which is a Lua user's remedy.
local SHELL_REMEDY = { user = "no user: --user NAME, or JUSTCLICK_USER",
  secret = "no secret: --secret-file PATH, or JUSTCLICK_SECRET" }

--- justclick._shell_unconfigured(missing) -> the line (internal, for the host's commands).
function justclick._shell_unconfigured(missing)
  local said = {}
  for _, what in ipairs(missing) do said[#said + 1] = SHELL_REMEDY[what] end
  return "not configured: " .. table.concat(said, "; ")
end

--- justclick._shell_quote(text) -> text as one word for a POSIX shell (internal, for the hints
-- of the host's commands): as it is when it needs no quoting, else in single quotes.
function justclick._shell_quote(text)
  if text ~= "" and not text:find("[^%w%%+,./:=@_-]") then return text end
  return "'" .. text:gsub("'", "'\\''") .. "'"
end

--- justclick._error_fields(err) -> "kind input, code 4, errno 2" (internal: what --verbose adds to
-- a command's failure line, whose message is already said in the shell's words).
function justclick._error_fields(err)
  local said = {}
  for _, k in ipairs({ "kind", "code", "errno", "path" }) do
    if err[k] ~= nil then said[#said + 1] = ("%s %s"):format(k, tostring(err[k])) end
  end
  return table.concat(said, ", ")
end

--- justclick._verbose() -> whether the host's --verbose is on (internal, for its commands).
function justclick._verbose()
  return defaults.verbose == true
end

local function default_client()
  local client, err = configured_client()
  if not client then error("justclick: " .. err.message, 3) end
  return client
end

--- justclick.default_client() -> the module-level client, built on first use.
justclick.default_client = default_client

--- justclick._configured_client() -> the module-level client | nil, err (internal, for the host's
-- commands, whose missing configuration is the user's failure to report in a line, not a raise).
justclick._configured_client = configured_client

--- justclick.serve(script [, options]): see justclick.serve.run.
-- The host's commands come with the justclick-host rock (Lua 5.4); the library alone has none:
-- that is one line for the user, not a searcher's list of paths.
local function host_module(name)
  if _VERSION < "Lua 5.4" then -- a work tree has the host's files on every Lua's path: they need 5.4
    return nil, new_error("input", nil,
      ("%s needs Lua 5.4 and the justclick-host rock (luarocks install justclick-host)"):format(name))
  end
  local ok, module = pcall(require, name)
  if ok then return module end
  if not tostring(module):find(("module '%s' not found"):format(name), 1, true) then error(module, 0) end
  return nil, new_error("input", nil, ("%s is not installed: it comes with the justclick-host rock, for Lua 5.4"
    .. " (luarocks install justclick-host)"):format(name))
end

-- serve: the receiver verifies notifications with the secret of the client that confirms them
-- (options.client, or the module-level one) unless options.secret says otherwise.
-- Without either (nothing configured), serve.run says there is no secret, in a line.
function justclick.serve(handler, opts)
  local serve, err = host_module("justclick.serve")
  if not serve then return nil, err end
  if opts ~= nil and type(opts) ~= "table" then error("justclick.serve: options must be a table", 2) end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.secret == nil then
    local client = o.client or configured_client()
    o.secret = client and secrets[client]
  end
  return serve.run(handler, o)
end

--- justclick.import(path [, options]): see justclick.import.run.
function justclick.import(path, opts)
  local import, err = host_module("justclick.import")
  if not import then return nil, err end
  return import.run(path, opts)
end

function justclick.create_order(order) return default_client():create_order(order) end
function justclick.order_details(bill_id, opts) return default_client():order_details(bill_id, opts) end
function justclick.confirm(event) return default_client():confirm(event) end
function justclick.update_order_status(bill_id, status, opts)
  return default_client():update_order_status(bill_id, status, opts)
end
function justclick.delete_order(bill_id) return default_client():delete_order(bill_id) end
function justclick.bills(email, opts) return default_client():bills(email, opts) end
function justclick.orders_with_goods(opts) return default_client():orders_with_goods(opts) end
function justclick.all_goods() return default_client():all_goods() end
function justclick.paid_bills(span) return default_client():paid_bills(span) end
function justclick.call(method, params) return default_client():call(method, params) end

return justclick
