-- justclick.engine: the rules that are written once. The waits between attempts come from one
-- function, engine.backoff, for the client, the importer and justclick serve, and each of them
-- waits what it returned; the code-8 rule is engine.limited's, for the client and the importer.
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local core = require "justclick.core"
local engine = require "justclick.engine"
local sandbox = require "support.sandbox"
local files = require "support.files"

-- Records engine.backoff's calls ({base, n, cap, jitter, wait}) until restore() is called.
local function record_backoff()
  local calls, original = {}, engine.backoff
  engine.backoff = function(base, n, cap, random)
    local wait = original(base, n, cap, random)
    calls[#calls + 1] = { base = base, n = n, cap = cap, jitter = random ~= false, wait = wait }
    return wait
  end
  return calls, function() engine.backoff = original end
end

-- Records core.sleep's calls (a client takes core.sleep as it is made: make it after this).
local function record_sleeps()
  local sleeps, original = {}, core.sleep
  core.sleep = function(seconds)
    sleeps[#sleeps + 1] = seconds
    return original(seconds)
  end
  return sleeps, function() core.sleep = original end
end

-- Around each spec of the describe it is called in: reset(), then engine.backoff's calls and
-- core.sleep's sleeps recorded afresh and handed to take(calls, sleeps); both restored after.
local function record_waits(reset, take)
  local restore_backoff, restore_sleep
  before_each(function()
    reset()
    local calls, sleeps
    calls, restore_backoff = record_backoff()
    sleeps, restore_sleep = record_sleeps()
    take(calls, sleeps)
  end)
  after_each(function()
    restore_backoff()
    restore_sleep()
  end)
end

local function waits_of(calls)
  local waits = {}
  for i, call in ipairs(calls) do waits[i] = call.wait end
  return waits
end

local function order(tag)
  return { bill_email = "engine@example.com", bill_tag = tag, goods = { { good_name = "sales" } } }
end

describe("engine.backoff", function()
  it("is min(base * 2^n, cap), whole without jitter, else 50-100% of it", function()
    local expected = { 0.5, 1, 2, 4, 5, 5 }
    for n = 0, 5 do
      assert.are.equal(expected[n + 1], engine.backoff(0.5, n, 5, false))
      assert.are.equal(expected[n + 1] / 2, engine.backoff(0.5, n, 5, function() return 0 end))
      assert.are.equal(expected[n + 1], engine.backoff(0.5, n, 5, function() return 1 end))
      for _ = 1, 20 do
        local wait = engine.backoff(0.5, n, 5)
        assert.is_true(wait >= expected[n + 1] / 2 and wait <= expected[n + 1], tostring(wait))
      end
    end
  end)
end)

describe("the waits of a client", function()
  local sb, calls, sleeps
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  record_waits(function() sb:reset() end, function(c, s) calls, sleeps = c, s end)

  it("are engine.backoff's, attempt by attempt, after 5xx on a read", function()
    local client = sb:client({ retries = 2, backoff = 0.05 })
    local id = assert(client:create_order(order("5xx"))).bill_id
    sb:fault("http500", "", 2)
    assert(client:order_details(id))
    assert.are.same({ { base = 0.05, n = 0, cap = engine.CALL_CAP, jitter = true },
      { base = 0.05, n = 1, cap = engine.CALL_CAP, jitter = true } },
      { { base = calls[1].base, n = calls[1].n, cap = calls[1].cap, jitter = calls[1].jitter },
        { base = calls[2].base, n = calls[2].n, cap = calls[2].cap, jitter = calls[2].jitter } })
    assert.are.same(waits_of(calls), sleeps)
  end)

  it("are engine.backoff's after a verified code 8 on a write", function()
    local client = sb:client({ backoff = 0.05 })
    sb:fault("limit", "", 2)
    assert(client:create_order(order("limit")))
    assert.are.same({ 0, 1 }, { calls[1].n, calls[2].n })
    assert.are.same(waits_of(calls), sleeps)
    assert.are.same({ 3, 1 }, { sb:stats().requests, sb:stats().orders })
  end)
end)

describe("the code-8 rule", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  -- The four cases: a code 8 signed ("") or forged, on a write and on a read.
  it("repeats a verified code 8, on a write and on a read", function()
    local client = sb:client()
    sb:fault("limit", "", 1)
    local id = assert(client:create_order(order("verified write"))).bill_id
    assert.are.same({ 2, 1 }, { sb:stats().requests, sb:stats().orders })
    sb:fault("limit", "", 1)
    assert(client:order_details(id))
    assert.are.equal(4, sb:stats().requests)
  end)

  it("repeats an unverified code 8 on a read, which reading again cannot harm", function()
    local client = sb:client()
    local id = assert(client:create_order(order("unverified read"))).bill_id
    sb:fault("limit", "forged", 1)
    assert(client:order_details(id))
    assert.are.equal(3, sb:stats().requests)
  end)

  it("never repeats an unverified code 8 on a write: it is unsettled, since the order may exist", function()
    sb:fault("limit", "forged", 1) -- the method runs, then a code 8 signed with another secret
    local result, err = sb:client():create_order(order("unverified write"))
    assert.is_nil(result)
    assert.are.same({ "api", 8, false, true, false, 1 },
      { err.kind, err.code, err.verified, err.sent, err.retryable, err.attempts })
    assert.is_truthy(err.message:find("the order may exist", 1, true), err.message)
    assert.are.same({ 1, 1 }, { sb:stats().requests, sb:stats().orders })
  end)

  it("is engine.limited's: when it says no, a client repeats a verified code 8 only `retries` times", function()
    sb:fault("limit", "", 3)
    assert(sb:client({ retries = 1 }):create_order(order("limited"))) -- the rule: as long as the timeout lasts
    assert.are.equal(4, sb:stats().requests)
    local original = engine.limited
    engine.limited = function() return false end
    local ok, failure = pcall(function()
      sb:fault("limit", "", 3)
      local result, err = sb:client({ retries = 1 }):create_order(order("not limited"))
      assert.is_nil(result)
      assert.are.same({ "api", 8, 2 }, { err.kind, err.code, err.attempts })
    end)
    engine.limited = original
    assert(ok, failure)
  end)
end)

describe("the waits of the importer #lua54", function()
  -- justclick.import is the host's, and Lua 5.4's only (#lua54)
  local import = require "justclick.import"
  local importing = require "support.importing"
  local sb, dir, calls, sleeps
  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)
  record_waits(function() sb:reset() end, function(c, s) calls, sleeps = c, s end)

  local function one_row(name)
    local path = dir .. "/" .. name .. ".csv"
    files.write(path, importing.csv(1))
    return path
  end

  it("are engine.backoff's, attempt by attempt, for a row whose connection never opened", function()
    local client = require("justclick").new({ user = sandbox.user, secret = sandbox.secret,
      api_url = "http://127.0.0.1:1/api", retries = 2, backoff = 0.05 })
    local summary = assert(import.run(one_row("refused"), { client = client }))
    assert.are.equal(1, summary.failed)
    assert.are.same({ { 0.05, 0, engine.CALL_CAP, true }, { 0.05, 1, engine.CALL_CAP, true } },
      { { calls[1].base, calls[1].n, calls[1].cap, calls[1].jitter },
        { calls[2].base, calls[2].n, calls[2].cap, calls[2].jitter } })
    assert.are.same(waits_of(calls), sleeps)
  end)

  it("are engine.backoff's, through the pace, for a row refused with a verified code 8", function()
    sb:fault("limit", "", 1)
    local summary = assert(import.run(one_row("limit"), { client = sb:client({ backoff = 0.2 }) }))
    assert.are.same({ 1, 1 }, { summary.created, summary.rate_limited })
    assert.are.equal(1, #calls)
    assert.are.same({ 0.2, 0, 30, true }, { calls[1].base, calls[1].n, calls[1].cap, calls[1].jitter })
    assert.are.equal(1, #sleeps) -- until the pace's due time: what is left of the wait
    assert.is_true(sleeps[1] <= calls[1].wait and sleeps[1] > calls[1].wait - 0.05,
      ("slept %.3f s of a %.3f s wait"):format(sleeps[1], calls[1].wait))
  end)

  it("counts a refusal only as engine.limited says", function()
    local original = engine.limited
    engine.limited = function() return false end
    local ok, summary = pcall(function()
      sb:fault("limit", "", 1)
      return assert(import.run(one_row("not limited"), { client = sb:client() }))
    end)
    engine.limited = original
    assert(ok, summary)
    assert.are.same({ 1, 0 }, { summary.created, summary.rate_limited })
  end)
end)

describe("the waits of justclick serve #lua54", function()
  local importing = require "support.importing"
  local serving = require "support.serving"
  local SECRET = "engine-secret-0123456789"
  local dir, running

  before_each(function()
    dir, running = importing.tmpdir(), {}
  end)
  after_each(function()
    for _, pid in ipairs(running) do os.execute(("kill -KILL %d 2>/dev/null"):format(pid)) end
    os.execute("rm -rf " .. dir)
  end)

  -- A handler script that first makes engine.backoff write each call to $BACKOFF, in the serve
  -- process: "base n cap jitter wait" a line.
  local RECORDER = [[
local engine = require "justclick.engine"
local original = engine.backoff
engine.backoff = function(base, n, cap, random)
  local wait = original(base, n, cap, random)
  local f = io.open(os.getenv("BACKOFF"), "a")
  f:write(("%s %d %s %s %.17g\n"):format(base, n, cap, tostring(random ~= false), wait))
  f:close()
  return wait
end
]]

  local function recorded(cap)
    local calls = {}
    for line in (files.read(dir .. "/backoff") or ""):gmatch("[^\n]+") do
      local base, n, c, jitter, wait = line:match("^(%S+) (%S+) (%S+) (%S+) (%S+)$")
      if tonumber(c) == cap then
        calls[#calls + 1] = { base = tonumber(base), n = tonumber(n), jitter = jitter == "true", wait = tonumber(wait) }
      end
    end
    return calls
  end

  local function log_until(log, pattern, seconds)
    local deadline, text = core.now() + seconds
    repeat
      text = files.read(log) or ""
      if text:find(pattern) then break end
      core.sleep(0.05)
    until core.now() > deadline
    return text
  end

  it("between a failing handler's tries are engine.backoff's, whole", function()
    files.write(dir .. "/handler.lua", RECORDER .. 'return function(event) return nil, "cannot grant " .. event.id end\n')
    local log = dir .. "/serve.log"
    local cmd = ("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s BACKOFF=%s/backoff %s serve --no-confirm --attempts 3"
      .. " --listen 127.0.0.1:0 --inbox %s/inbox %s/handler.lua >> %s 2>&1")
      :format(SECRET, dir, importing.HOST, dir, dir, log)
    local _, url = serving.launch(cmd, dir, log, running)
    local time = "2026-11-23 10:00:00"
    local body = ("id=100001&email=buyer%%40example.com&paid=2026-11-23+10%%3A00%%3A00&last_payment_sum=1500&hash=%s")
      :format(md5("100001buyer@example.com" .. time .. SECRET))
    local session = core.session({ timeout = 10 })
    assert.are.equal(200, (session:post(url .. "/notify", body)))
    session:close()
    local text = log_until(log, "parked paid", 15)
    local said = {}
    for seconds in text:gmatch("trying again in (%d+) s") do said[#said + 1] = tonumber(seconds) end
    assert.are.same({ 1, 2 }, said, text)
    local calls = recorded(300)
    -- one a failure: the third parks the event, and its wait goes unused
    assert.are.equal(3, #calls, files.read(dir .. "/backoff") or "nothing recorded")
    for i = 1, 2 do -- each try's wait, as it was recorded and as it was logged
      local call = calls[i]
      assert.are.same({ 1, i - 1, false, said[i] }, { call.base, call.n, call.jitter, call.wait })
    end
  end)

  it("of the confirmations under the request limit are engine.backoff's, with jitter", function()
    local sb = sandbox.start()
    local ok, failure = pcall(function()
      local client = sb:client()
      local id = assert(client:create_order(order("serve limit"))).bill_id
      assert(client:update_order_status(id, "paid", { date = os.time() }))
      -- a code 8 gives up after half a second in the serve process, not 30
      files.write(dir .. "/handler.lua", RECORDER
        .. 'require("justclick").set_defaults({ timeout = 0.5, backoff = 0.05 })\nreturn function() return true end\n')
      local log = dir .. "/serve.log"
      local cmd = ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s BACKOFF=%s/backoff %s serve"
        .. " --listen 127.0.0.1:0 --inbox %s/inbox %s/handler.lua >> %s 2>&1")
        :format(sandbox.user, sandbox.secret, sb.api_url, dir, importing.HOST, dir, dir, log)
      local _, url = serving.launch(cmd, dir, log, running)
      sb:rate_limit(0.001, 1) -- one request, then one more every 1000 s
      assert(client:all_goods()) -- takes it
      local when = sandbox.server_time(os.time())
      local body = ("id=%d&email=engine%%40example.com&paid=%s&last_payment_sum=990&hash=%s"):format(id,
        when:gsub(" ", "+"):gsub(":", "%%3A"), md5(id .. "engine@example.com" .. when .. sandbox.secret))
      local session = core.session({ timeout = 10 })
      assert.are.equal(200, (session:post(url .. "/notify", body)))
      session:close()
      local pause = "confirmations pause ([%d.]+) s"
      local text = log_until(log, pause .. ".*" .. pause, 30)
      sb:rate_limit(0)
      local said = {}
      for seconds in text:gmatch(pause) do said[#said + 1] = seconds end
      assert.is_true(#said >= 2, text)
      local calls = recorded(60)
      for i = 1, 2 do
        assert.are.same({ 1, i - 1, true }, { calls[i].base, calls[i].n, calls[i].jitter })
        assert.are.equal(("%.1f"):format(calls[i].wait), said[i])
      end
    end)
    sb:stop()
    assert(ok, failure)
  end)
end)
