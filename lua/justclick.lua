--- justclick: a client for the JustClick HTTP API.
-- The C core (justclick.core) does the bytes: PHP's http_build_query, the md5 signature, the
-- libcurl transport and the reply check. This file holds the API's vocabulary, validation,
-- errors and retry policy.
local core = require "justclick.core"
local LIMITS = core.limits -- src/limits.h

-- Lua 5.3 and 5.4 tell integers from floats. Under 5.1 and LuaJIT every number is a double, and
-- an integral one with |x| < 2^53 counts as an integer: the C core's rule (src/compat.h).
local math_type = math.type or function(v)
  if type(v) ~= "number" then return nil end
  return (v == math.floor(v) and v > -LIMITS.exact_bound and v < LIMITS.exact_bound) and "integer" or "float"
end
local tointeger = math.tointeger or function(v)
  return math_type(v) == "integer" and v or nil
end

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

-- ---------------------------------------------------------------------------------------------
-- Errors: tables with kind, code, message, retryable, a __tostring, and a __concat, so that
-- "x: " .. err and err .. "\n" give text. A transport error's name is libcurl's for its code
-- ("COULDNT_CONNECT" for CURLE_COULDNT_CONNECT), as Lua-cURL's error objects give it.

-- What a terminal or a log would obey rather than show, shown as escapes: a server's error_text
-- may hold colour codes, carriage returns or newlines that rewrite what is shown. ASCII controls
-- (\n, \x1b), C1 controls (U+0080-U+009F: CSI and NEL to some terminals), line separators,
-- bidirectional marks and overrides (\u{202E}, \u{061C}), zero-width characters, and bytes that
-- are not UTF-8 (\x9b: CSI to others).
local ESCAPES = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function hidden(cp)
  return (cp >= 0x80 and cp <= 0x9F) or cp == 0x061C or (cp >= 0x200B and cp <= 0x200F)
    or (cp >= 0x2028 and cp <= 0x202E) or (cp >= 0x2060 and cp <= 0x2069) or cp == 0xFEFF
end

-- The UTF-8 character at i: its length and code point, or nil when the bytes are not UTF-8.
local UTF8 = { { 0xC2, 0xDF, 2, 0x80 }, { 0xE0, 0xEF, 3, 0x800 }, { 0xF0, 0xF4, 4, 0x10000 } }
local function utf8_at(text, i)
  local b = text:byte(i)
  for _, form in ipairs(UTF8) do
    if b >= form[1] and b <= form[2] then
      local cp = b - form[1] + (form[1] == 0xC2 and 2 or 0)
      for k = 1, form[3] - 1 do
        local c = text:byte(i + k)
        if not c or c < 0x80 or c > 0xBF then return nil end
        cp = cp * 64 + (c - 0x80)
      end
      if cp < form[4] or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
      return form[3], cp
    end
  end
  return nil
end

local function visible(text)
  if type(text) ~= "string" or not text:find("[%c\127-\255]") then return text end
  local out, i = {}, 1
  while i <= #text do
    local b = text:byte(i)
    if b < 0x80 then
      local c = text:sub(i, i)
      out[#out + 1] = (b < 0x20 or b == 0x7F) and (ESCAPES[c] or ("\\x%02x"):format(b)) or c
      i = i + 1
    else
      local len, cp = utf8_at(text, i)
      if not len then
        out[#out + 1] = ("\\x%02x"):format(b)
        i = i + 1
      else
        out[#out + 1] = hidden(cp) and ("\\u{%04X}"):format(cp) or text:sub(i, i + len - 1)
        i = i + len
      end
    end
  end
  return table.concat(out)
end
justclick.visible = visible

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  local text = ("justclick: %s error"):format(e.kind)
  if e.code ~= nil then text = text .. " " .. tostring(e.code) end
  text = text .. ": " .. tostring(e.message)
  if e.hint then text = text .. " (" .. e.hint .. ")" end
  if e.verified == false then text = text .. " [reply hash not verified]" end
  return visible(text)
end

-- Either side may be the error (or both): each is shown as tostring shows it.
function Error.__concat(a, b)
  return tostring(a) .. tostring(b)
end

local function new_error(kind, code, message, fields)
  local e = setmetatable({ kind = kind, code = code, message = message, retryable = false }, Error)
  for k, v in pairs(fields or {}) do e[k] = v end
  return e
end

--- Whether a value is an error returned by this module.
function justclick.is_error(value)
  return getmetatable(value) == Error
end

-- Hints for the API's error codes where the text alone leaves the user guessing.
local API_HINTS = {
  [1] = "the request carried no hash",
  [4] = "incorrect hash: check the user and the secret",
  [5] = "check the user name",
  [6] = "this machine's IP address is not allowed in the account's API settings",
  [8] = "the API request limit for this address is used up; the server did nothing, so it is safe to try again later",
}

-- Code 8: the request limit for this address is used up. The server refused the request before
-- processing it, so repeating it is safe, for a write too, when the reply verifies.
local LIMITED = 8

-- Whether an error is a code 8 that is safe to repeat.
local function limited(err)
  return err ~= nil and err.kind == "api" and err.code == LIMITED and err.retryable
end

-- libcurl codes of TLS failures: never retried, since retrying cannot fix a certificate.
local TLS_CODES = {
  [35] = true, [53] = true, [54] = true, [58] = true, [59] = true, [60] = true, [64] = true,
  [66] = true, [77] = true, [80] = true, [82] = true, [83] = true, [90] = true, [91] = true,
  [98] = true,
}

-- ---------------------------------------------------------------------------------------------
-- Calls

-- The methods that only read: safe to repeat after a failure.
local READ_ONLY = {
  getOrderDetails = true, GetBills = true, getOrdersWithGoods = true, GetAllGoods = true,
  GetLeadGroupStatuses = true, GetAllGroups = true, GetPartnerStats = true,
}

local secrets = setmetatable({}, { __mode = "k" }) -- a client's secret, kept out of the client table

-- A text that holds the secret is not shown at all: replacing the secret where it occurs would
-- show a short one by the pattern of the replacements.
local function redact(text, secret)
  if type(text) == "string" and text:find(secret, 1, true) then return "(not shown: it held the secret)" end
  return text
end

-- min(base * 2^n, 5 s), 50-100% of it, as Stripe's SDKs wait between attempts.
local function backoff(base, n)
  return math.min(base * 2 ^ n, 5) * (0.5 + 0.5 * math.random())
end

-- What a write that may have taken effect leaves to the caller.
local function may_exist(method)
  return method == "CreateOrder" and "the order may exist" or "the call may have taken effect"
end

-- An error for a request that reached the server (or may have) with no outcome known: sent is
-- true and, for a write, the message says what may have happened.
local function unsettled(kind, code, method, what, read_only, fields)
  local message = ("%s: %s"):format(method, what)
  if not read_only then message = ("%s, so %s; check before repeating it"):format(message, may_exist(method)) end
  fields = fields or {}
  fields.sent = true
  return new_error(kind, code, message, fields)
end

local function transport_error(method, failure, read_only)
  if failure.too_big then
    return unsettled("protocol", nil, method, "the reply is larger than max_reply", read_only), false
  end
  local tls = TLS_CODES[failure.code] or false
  local message = ("%s: %s"):format(method, failure.message)
  if failure.sent and not read_only then
    message = ("%s: the request was sent but no reply came, so %s; check before repeating it (%s)")
      :format(method, may_exist(method), failure.message)
  end
  -- A read is safe to repeat; a write only if it never left this machine.
  local retry = not tls and (read_only or not failure.sent)
  local err = new_error("transport", failure.code, message,
    { name = failure.name, retryable = retry, sent = failure.sent, tls = tls })
  return err, retry
end

local function integer(v)
  if math_type(v) == "integer" then return v end
  if type(v) == "string" and v:match("^%d+$") then return tointeger(tonumber(v)) end
  return nil
end

-- What a success must carry, by method: each returns the result to give the caller, or nil and
-- what is wrong with it. A signed success without a usable result is a protocol error.
local function a_table(result)
  if type(result) ~= "table" then return nil, "no result" end
  return result
end

local RESULTS = {
  CreateOrder = function(result)
    local bill_id = type(result) == "table" and integer(result.bill_id)
    if not bill_id then return nil, "no bill_id in its result" end
    result.bill_id = bill_id
    return result
  end,
  getOrderDetails = a_table,
  GetAllGoods = a_table,
  getOrdersWithGoods = function(result) return result == nil and {} or a_table(result) end,
  GetBills = function(result) return result == nil and {} or a_table(result) end,
}

local function interpret(method, body, secret, read_only)
  local reply, verified = core.decode_reply(body, secret)
  if not reply then return nil, unsettled("protocol", nil, method, verified.message, read_only) end
  local code, result = reply.error_code, reply.result
  if result == core.null then result = nil end
  local check = RESULTS[method]
  if code == 0 and not verified then
    return nil, unsettled("protocol", 0, method, "a success reply whose hash does not verify", read_only,
      { verified = false })
  elseif code == 0 or (code == 601 and verified and not read_only) then -- 601: a write's "already there"
    local usable, problem = result, nil
    if check then
      usable, problem = check(result)
    elseif result == nil then
      usable = true
    end
    if usable == nil then
      return nil, unsettled("protocol", code, method, "a signed success with " .. problem, read_only,
        { verified = true })
    end
    if code == 601 and type(usable) == "table" then usable.existing = true end -- there already: not a failure
    return usable
  end
  local fields = { verified = verified, hint = API_HINTS[code], result = result }
  if code == LIMITED and not (verified or read_only) then
    -- Anyone on the way can forge a "try again": the write may have been processed.
    fields.hint = nil -- "the server did nothing" is what this reply cannot be trusted to say
    return nil, unsettled("api", code, method, "a code 8 reply (the request limit) whose hash does not verify",
      read_only, fields)
  elseif code == LIMITED then -- refused before it was processed: safe to repeat
    fields.retryable = true
    return nil, new_error("api", code, visible(redact(reply.error_text, secret)), fields), true
  end
  return nil, new_error("api", code, visible(redact(reply.error_text, secret)), fields)
end

-- The URL and the signed body of a call, or nil and an input error.
local function prepare(client, method, params)
  local secret = secrets[client]
  -- the encoder's refusals come back as a problem; anything else (an interrupt, memory) raises
  local body, problem = core.safe.signed_body(params, client.user, secret, { max_input_vars = client.max_input_vars })
  if not body then return nil, new_error("input", nil, redact(problem.message, secret)) end
  return client.api_url .. "/" .. method, body
end

-- What one attempt came to: the result, or nil, the error, and whether to try again.
local function settle(client, method, status, reply, read_only)
  if not status then
    local err, retry = transport_error(method, reply, read_only)
    return nil, err, retry
  end
  if status < 200 or status > 299 then
    local retry = read_only and status >= 500
    local err = unsettled("http", status, method, ("HTTP status %d"):format(status), read_only, { retryable = retry })
    return nil, err, retry
  end
  return interpret(method, reply, secrets[client], read_only)
end

-- The --verbose line of a call: method, status, error_code, milliseconds, retries.
local function log_call(client, method, status, result, err, started, attempt)
  if not client.verbose then return end
  local code = err and err.kind == "api" and err.code or (result ~= nil and 0) or "-"
  io.stderr:write(visible(redact(("justclick: %s status=%s error_code=%s %dms retries=%d"):format(method,
    status or "-", tostring(code), math.floor((core.now() - started) * 1000 + 0.5), attempt), secrets[client])), "\n")
end

-- Sends a prepared call. `timeout` bounds the whole call: every attempt and every wait between
-- them (or `deadline`, a core.now() shared by the requests of one call). A write goes out at most
-- once per attempt (core's `once`), and is repeated only when it never left this machine, or
-- when a verified code 8 says that the server refused it unprocessed. `retries` counts the
-- repeats after network failures and 5xx; a code 8 is repeated for as long as the timeout lasts,
-- since a limit lifts with time, not with attempts (retries = 0 repeats nothing at all).
local function send(client, method, url, body, read_only, deadline)
  -- a dry run of the whole process holds for clients made before it too
  if client.dry_run or core.network_forbidden() then -- the body holds the hash, not the secret
    io.stdout:write("POST ", url, "\n", body, "\n")
    io.stdout:flush()
    return { dry_run = true, method = method, url = url }
  end
  local started, attempt = core.now(), 0
  deadline = deadline or started + client.timeout
  while true do
    local left = deadline - core.now()
    if left <= 0 then -- an earlier request of the call used up its time: nothing is sent
      return nil, new_error("transport", 28, method .. ": the call's timeout ran out before this request went out",
        { name = "OPERATION_TIMEDOUT", sent = false, attempts = attempt })
    end
    local began = core.now()
    local status, reply = client.session:post(url, body, not read_only, left)
    local took = core.now() - began
    local result, err, retry = settle(client, method, status, reply, read_only)
    local again = attempt < client.retries or (limited(err) and client.retries > 0)
    local wait = retry and again and backoff(client.backoff, attempt)
    -- A repeat goes only with twice the last attempt's time left after its wait: one begun at the
    -- deadline's edge would time out, after sending a write, and leave it unknown.
    if not wait or core.now() + wait + 2 * took >= deadline then
      if err then err.attempts = attempt + 1 end
      log_call(client, method, status, result, err, started, attempt)
      return result, err
    end
    client.sleep(wait)
    attempt = attempt + 1
  end
end

local function request(client, method, params, read_only, deadline)
  local url, body = prepare(client, method, params)
  if not url then return nil, body end
  return send(client, method, url, body, read_only, deadline)
end

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
local NGINX_LEAVES = { connect_timeout = "proxy_connect_timeout", ca_file = "proxy_ssl_trusted_certificate",
  keep_alive = "an upstream block's keepalive" }

--- justclick.new{user=, secret=, api_url=, timeout=30, connect_timeout=10, retries=2,
-- ca_file=nil, max_reply=8 MiB, backoff=0.5, max_input_vars=1000} -> client
-- transport = "nginx", location = "/justclick-upstream": inside nginx, calls go as subrequests
-- to that location (justclick.nginx), and waits leave the worker free.
function justclick.new(opts)
  if type(opts) ~= "table" then error("justclick.new: expected a table of options", 2) end
  for k, v in pairs(opts) do
    if not OPTIONS[k] then error(("justclick.new: unknown option %q"):format(tostring(k)), 2) end
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
    -- a dry run of the process (the host's --dry-run) holds for every client, whatever its options
    dry_run = opts.dry_run or core.network_forbidden(),
    verbose = opts.verbose or false,
    -- how this client speaks HTTP, for its session and for the multi sessions of an import
    http = {
      timeout = opts.timeout, connect_timeout = opts.connect_timeout, ca_file = opts.ca_file,
      max_reply = opts.max_reply and tointeger(opts.max_reply), keep_alive = opts.keep_alive,
    },
  }, Client)
  local transport = opts.transport or "curl"
  if transport == "nginx" then
    for k, directive in pairs(NGINX_LEAVES) do
      if opts[k] ~= nil then error(("justclick.new: %s is the location's %s under nginx"):format(k, directive), 2) end
    end
    local nginx = require "justclick.nginx"
    client.session = nginx.session({
      location = opts.location, api_url = client.api_url, max_reply = client.http.max_reply,
    })
    client.sleep = nginx.sleep
  elseif transport == "curl" then
    if opts.location ~= nil then error("justclick.new: location is for transport = \"nginx\"", 2) end
    client.session = core.session(client.http)
    client.sleep = core.sleep
  else
    error("justclick.new: transport must be \"curl\" or \"nginx\"", 2)
  end
  secrets[client] = secret
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
  return request(self, method, params or {}, READ_ONLY[method] or false)
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
  local url, body = prepare(self, "CreateOrder", order) -- first: it refuses what the check below cannot see
  if not url then return nil, body end
  local problem = order_problem(order)
  if problem then return nil, new_error("input", nil, problem) end
  return send(self, "CreateOrder", url, body, false)
end

-- Raises, for the caller of `method`, unless bill_id is an integer; returns it.
local function bill_id_of(method, bill_id)
  local id = math_type(bill_id) == "integer" and bill_id or (math_type(bill_id) == "float" and tointeger(bill_id))
  if not id then error(method .. ": bill_id must be an integer", 3) end
  return id
end

-- Raises, for the caller of `method`, unless opts is nil or a table of the known options.
local function options_of(method, opts, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(method .. ": options must be a table", 3) end
  for k in pairs(opts) do
    if not known[k] then error(("%s: unknown option %q"):format(method, tostring(k)), 3) end
  end
  return opts
end

--- client:order_details(bill_id [, {good_info = true}]) -> the order | nil, err
function Client:order_details(bill_id, opts)
  local params = { bill_id = bill_id_of("order_details", bill_id) }
  params.good_info = options_of("order_details", opts, { good_info = true }).good_info and true or nil
  return request(self, "getOrderDetails", params, true)
end

local STATUSES = { sent = true, paid = true, ["return"] = true, cancel = true }

--- client:update_order_status(bill_id, status [, {date =, rpo =}]) -> result | nil, err
-- status: "sent", "paid", "return" or "cancel"; date (a unix time) is required for sent and
-- paid, rpo (the tracking number) for sent.
function Client:update_order_status(bill_id, status, opts)
  local params = { bill_id = bill_id_of("update_order_status", bill_id), status = status }
  opts = options_of("update_order_status", opts, { date = true, rpo = true })
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
  opts = options_of("bills", opts, { pay_status = true })
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

--- client:orders_with_goods{from =, to =, paid =, goods =} -> the orders | nil, err
-- from and to: unix times or dates (dd.mm.yyyy or yyyy-mm-dd), both days included. The API takes
-- at most a month at a time: a longer range is asked for month by month and the answers merged.
-- paid: true or false filters by payment; goods: a product id or a list of them.
function Client:orders_with_goods(opts)
  if type(opts) ~= "table" then error("orders_with_goods: expected a table of options", 2) end
  options_of("orders_with_goods", opts, { from = true, to = true, paid = true, goods = true })
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
    local stop = math.min(shift_day(start, 1, -1), last)
    local result, err = request(self, "getOrdersWithGoods", {
      begin_date = os.date("%d.%m.%Y", start), end_date = os.date("%d.%m.%Y", stop),
      paid = opts.paid, goods = opts.goods,
    }, true, deadline)
    if not result then return nil, err end
    if type(result) == "table" then
      for _, order in ipairs(result) do orders[#orders + 1] = order end
    end
    start = shift_day(stop, 0, 1)
  end
  return orders
end

--- client:prepare(method, params) -> url, body | nil, err: the signed request a call sends,
-- for callers that send it themselves (justclick.import, through core.multi).
function Client:prepare(method, params)
  return prepare(self, method, params)
end

--- client:settle(method, status, reply) -> result | nil, err, retry: what a reply (status and
-- body), or a transport failure (nil and the failure core.multi gave), comes to, as a call reads
-- it; retry tells whether repeating it is safe.
function Client:settle(method, status, reply)
  return settle(self, method, status, reply, READ_ONLY[method] or false)
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
  if not order then return nil, err end
  local function unread(what)
    return nil, new_error("protocol", nil, ("getOrderDetails gave bill %d %s"):format(event.id, visible(what)),
      { retryable = true, bill_id = event.id })
  end
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

--- client:redact(text) -> text, or a notice in its place when it holds this client's secret.
function Client:redact(text)
  return redact(text, secrets[self])
end

--- client:log(method, status, result, err, started, attempt): the --verbose line of a call that
-- the caller sent itself (started: core.now() when it began).
function Client:log(method, status, result, err, started, attempt)
  log_call(self, method, status, result, err, started, attempt)
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
  for k, v in pairs(opts) do
    if not OPTIONS[k] then error(("set_defaults: unknown option %q"):format(tostring(k)), 2) end
    defaults[k] = v
  end
  if opts.dry_run then core.forbid_network() end
  if default then default:close() end
  default = nil
end

local function default_client()
  if not default then
    local opts = {
      user = os.getenv("JUSTCLICK_USER"), secret = os.getenv("JUSTCLICK_SECRET"),
      api_url = os.getenv("JUSTCLICK_API_URL"),
    }
    for k, v in pairs(defaults) do opts[k] = v end
    if not opts.user or not opts.secret then
      error("justclick: not configured: call justclick.configure{user = ..., secret = ...}"
        .. " or set JUSTCLICK_USER and JUSTCLICK_SECRET", 3)
    end
    default = justclick.new(opts)
  end
  return default
end

--- justclick.default_client() -> the module-level client, built on first use.
justclick.default_client = default_client

--- justclick.serve(script [, options]): see justclick.serve.run.
function justclick.serve(handler, opts) return require("justclick.serve").run(handler, opts) end

--- justclick.import(path [, options]): see justclick.import.run.
function justclick.import(path, opts) return require("justclick.import").run(path, opts) end

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
function justclick.call(method, params) return default_client():call(method, params) end

return justclick
