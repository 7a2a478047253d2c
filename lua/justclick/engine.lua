--- justclick.engine (internal): the one request engine under every call. Not part of the
-- documented API.
--
-- A call is prepared (encoded and signed into a URL and a body), then attempted over a
-- transport, each attempt settled (a result, or an error and whether it is safe to repeat), and
-- repeated as the retry policy says. The transports: a client's session (core.session's libcurl
-- handle, or justclick.nginx's subrequests), which engine.send drives one call at a time; and
-- core.multi, which the importer drives to run many calls at once, through engine.start,
-- engine.settle and engine.retry_wait. The back-off, the code-8 rule and the rule for unverified
-- errors to writes are here once, for the client, the importer and justclick serve.
local core = require "justclick.core"
local errors = require "justclick.errors"
local LIMITS = core.limits -- src/limits.h

local new_error, visible, redact = errors.new, errors.visible, errors.redact

local engine = {}

-- Lua 5.3 and 5.4 tell integers from floats. Under 5.1 and LuaJIT every number is a double, and
-- an integral one with |x| < 2^53 counts as an integer: the C core's rule (src/compat.h).
local math_type = math.type or function(v)
  if type(v) ~= "number" then return nil end
  return (v == math.floor(v) and v > -LIMITS.exact_bound and v < LIMITS.exact_bound) and "integer" or "float"
end
local tointeger = math.tointeger or function(v)
  return math_type(v) == "integer" and v or nil
end
engine.math_type, engine.tointeger = math_type, tointeger

--- engine.integer(v) -> v as an integer, from an integer or a string of digits; nil otherwise.
function engine.integer(v)
  if math_type(v) == "integer" then return v end
  if type(v) == "string" and v:match("^%d+$") then return tointeger(tonumber(v)) end
  return nil
end
local integer = engine.integer

-- ---------------------------------------------------------------------------------------------
-- A client's private side: its secret and how it waits. Kept here, keyed by the client, so
-- that no field of the client holds them.

local private = setmetatable({}, { __mode = "k" })

--- engine.attach(client, secret, sleep): the secret that signs the client's calls and checks
-- their replies, and sleep(seconds), the wait between its attempts. Once per client.
function engine.attach(client, secret, sleep)
  if private[client] then error("justclick.engine: this client has its secret already", 2) end
  private[client] = { secret = secret, sleep = sleep }
end

-- ---------------------------------------------------------------------------------------------
-- The retry policy

--- engine.backoff(base, n, cap [, random]) -> the wait before repeat n + 1 (n = 0 for the
-- first): min(base * 2^n, cap), 50-100% of it at random, as Stripe's SDKs wait. random is a
-- function as math.random is (the default); false takes the whole of it, with no jitter.
function engine.backoff(base, n, cap, random)
  local wait = math.min(base * 2 ^ n, cap)
  if random == false then return wait end
  return wait * (0.5 + 0.5 * (random or math.random)())
end

-- The longest wait between a call's attempts.
engine.CALL_CAP = 5

-- Code 8: the request limit for this address is used up. The server refused the request before
-- processing it, so repeating it is safe, for a write too, when the reply verifies.
local LIMITED = 8
engine.LIMITED = LIMITED

--- engine.limited(err) -> whether err is a code 8 that is safe to repeat: a verified one, or
-- any for a read.
function engine.limited(err)
  return err ~= nil and err.kind == "api" and err.code == LIMITED and err.retryable == true
end

--- engine.retry_wait(client, attempt, err, retry, took, deadline) -> the seconds to wait before
-- repeating a call whose attempt (0 for the first) failed with err after `took` seconds, or nil
-- when it is not repeated. retry: settle's word that repeating is safe. `retries` counts the
-- repeats after network failures and 5xx; a code 8 is repeated for as long as the deadline
-- allows, since a limit lifts with time, not with attempts (retries = 0 repeats nothing at
-- all). A repeat goes only with twice the last attempt's time left after its wait: one begun at
-- the deadline's edge would time out, after sending a write, and leave it unknown.
function engine.retry_wait(client, attempt, err, retry, took, deadline)
  if not retry then return nil end
  if not (attempt < client.retries or (engine.limited(err) and client.retries > 0)) then return nil end
  local wait = engine.backoff(client.backoff, attempt, engine.CALL_CAP)
  if core.now() + wait + 2 * took >= deadline then return nil end
  return wait
end

-- ---------------------------------------------------------------------------------------------
-- Preparing a call

-- The methods that only read: safe to repeat after a failure.
local READ_ONLY = {
  getOrderDetails = true, GetBills = true, getOrdersWithGoods = true, GetAllGoods = true,
  GetLeadGroupStatuses = true, GetAllGroups = true, GetPartnerStats = true,
}

--- engine.read_only(method) -> whether the API method only reads.
function engine.read_only(method)
  return READ_ONLY[method] or false
end

--- engine.prepare(client, method, params) -> url, body | nil, err: the URL and the signed body
-- of a call, or an input error.
function engine.prepare(client, method, params)
  local secret = private[client].secret
  -- the encoder's refusals come back as a problem; anything else (an interrupt, memory) raises
  local body, problem = core.safe.signed_body(params, client.user, secret, { max_input_vars = client.max_input_vars })
  if not body then return nil, new_error("input", nil, redact(problem.message, secret)) end
  return client.api_url .. "/" .. method, body
end

-- ---------------------------------------------------------------------------------------------
-- Attempts

--- engine.attempt(session, url, body, read_only, left) -> status, reply, took: one exchange
-- over a session (core.session, or justclick.nginx's): status and body, or nil and the
-- failure; took, its seconds. A write goes out at most once (core's `once`).
function engine.attempt(session, url, body, read_only, left)
  local began = core.now()
  local status, reply = session:post(url, body, not read_only, left)
  return status, reply, core.now() - began
end

--- engine.start(multi, key, url, body, read_only, left): one attempt over core.multi; multi:wait
-- gives its end, {key, status, body | failure}.
function engine.start(multi, key, url, body, read_only, left)
  multi:start(key, url, body, not read_only, math.max(left, 0.001))
end

-- ---------------------------------------------------------------------------------------------
-- Settling an attempt

-- Hints for the API's error codes where the text alone leaves the user guessing.
local API_HINTS = {
  [1] = "the request carried no hash",
  [4] = "incorrect hash: check the user and the secret",
  [5] = "check the user name",
  [6] = "this machine's IP address is not allowed in the account's API settings",
  [8] = "the API request limit for this address is used up; the server did nothing, so it is safe to try again later",
}

-- libcurl codes of TLS failures: never retried, since retrying cannot fix a certificate.
local TLS_CODES = {
  [35] = true, [53] = true, [54] = true, [58] = true, [59] = true, [60] = true, [64] = true,
  [66] = true, [77] = true, [80] = true, [82] = true, [83] = true, [90] = true, [91] = true,
  [98] = true,
}

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
    return unsettled("protocol", nil, method, "the reply is larger than max_reply", read_only,
      { too_big = true }), false
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

-- What a reply's body comes to: the result, or nil, the error, and whether to try again.
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
  local text = visible(redact(reply.error_text, secret))
  local fields = { verified = verified, hint = API_HINTS[code], result = result }
  if not (verified or read_only) then
    -- Anyone on the way can forge an error over a write that was processed (a "try again", an
    -- "order data rejected"): what the server did is unknown, whatever the code says. A wrong
    -- secret lands here too: JustClick signs its code 4 with the real secret.
    if code == LIMITED then fields.hint = nil end -- "the server did nothing" is what this reply cannot say
    return nil, unsettled("api", code, method, ('a code %s reply ("%s") whose hash does not verify')
      :format(tostring(code), tostring(text)), read_only, fields)
  elseif code == LIMITED then -- refused before it was processed: safe to repeat
    fields.retryable = true
    return nil, new_error("api", code, text, fields), true
  end
  return nil, new_error("api", code, text, fields)
end

--- engine.settle(client, method, status, reply [, read_only]) -> result | nil, err, retry: what
-- one attempt came to. status and reply are what the transport gave: a status and a body, or
-- nil and the failure. retry tells whether repeating the call is safe. read_only defaults to
-- what the method is.
function engine.settle(client, method, status, reply, read_only)
  if read_only == nil then read_only = READ_ONLY[method] or false end
  if not status then
    local err, retry = transport_error(method, reply, read_only)
    return nil, err, retry
  end
  if status < 200 or status > 299 then
    local retry = read_only and status >= 500
    local err = unsettled("http", status, method, ("HTTP status %d"):format(status), read_only, { retryable = retry })
    return nil, err, retry
  end
  return interpret(method, reply, private[client].secret, read_only)
end

-- ---------------------------------------------------------------------------------------------
-- The --verbose line, dry runs, and the loop of a call over a session

--- engine.log_prefix() -> what begins the --verbose line: "justclick: "; `justclick serve` sets
-- its own, so that the line is stamped as its log's others are.
function engine.log_prefix() return "justclick: " end

--- engine.log(client, method, status, result, err, started, attempt): the --verbose line of a
-- call: method, status, error_code, milliseconds since `started` (core.now()), retries.
function engine.log(client, method, status, result, err, started, attempt)
  if not client.verbose then return end
  local code = err and err.kind == "api" and err.code or (result ~= nil and 0) or "-"
  io.stderr:write(visible(redact((engine.log_prefix() .. "%s status=%s error_code=%s %dms retries=%d"):format(method,
    status or "-", tostring(code), math.floor((core.now() - started) * 1000 + 0.5), attempt),
    private[client].secret)), "\n")
end

--- engine.dry_run(client) -> whether the client's calls are shown, not sent: its dry_run, or a
-- dry run of the whole process, which holds for clients made before it too.
function engine.dry_run(client)
  return client.dry_run or core.network_forbidden()
end

--- engine.show(url, body): what a dry run prints in place of a request (the body holds the
-- hash, not the secret).
function engine.show(url, body)
  io.stdout:write("POST ", url, "\n", body, "\n")
  io.stdout:flush()
end

--- engine.send(client, method, url, body, read_only [, deadline]) -> result | nil, err: a
-- prepared call over the client's session, repeated as retry_wait says. The client's timeout
-- bounds the whole call, every attempt and every wait between them (or `deadline`, a core.now()
-- shared by the requests of one call). err.attempts counts the attempts made.
function engine.send(client, method, url, body, read_only, deadline)
  if engine.dry_run(client) then
    engine.show(url, body)
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
    local status, reply, took = engine.attempt(client.session, url, body, read_only, left)
    local result, err, retry = engine.settle(client, method, status, reply, read_only)
    local wait = engine.retry_wait(client, attempt, err, retry, took, deadline)
    if not wait then
      if err then err.attempts = attempt + 1 end
      engine.log(client, method, status, result, err, started, attempt)
      return result, err
    end
    private[client].sleep(wait)
    attempt = attempt + 1
  end
end

--- engine.request(client, method, params, read_only [, deadline]) -> result | nil, err: a call
-- prepared and sent.
function engine.request(client, method, params, read_only, deadline)
  local url, body = engine.prepare(client, method, params)
  if not url then return nil, body end
  return engine.send(client, method, url, body, read_only, deadline)
end

return engine
