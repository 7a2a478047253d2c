-- The encoder against finalizers that call it while it runs, and its scratch memory after a
-- failure. Each case runs in a child process (the host, Lua 5.4 with the core built in; make
-- asan sets JUSTCLICK_HOST to its ASan build), so that a crash fails the spec instead of busted.
local shell = require "support.shell"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")

-- Runs `code` in the host; returns its exit status and its stdout and stderr, joined.
local function child(code, ...)
  return shell.script(HOST, code, ...)
end

-- Makes finalizers run inside the next call of `fn`: the collector is brought to the phase that
-- calls finalizers, with some left to call, and then every allocation takes a step. Each
-- finalizer calls the core again, through the functions in `nested`, in turn.
-- STAGE: due_finalizers(mt, count) stops the collector in the phase that calls finalizers, 10 a
-- step, with 5 of 15 objects of metatable mt left to finalize, and restarts it with every
-- allocation a step: the next allocation calls them. count() tells how many have run.
local STAGE = [=[
collectgarbage("incremental", 1, 100, 1) -- the smallest steps: every allocation takes one
local function due_finalizers(mt, count)
  collectgarbage("collect")
  collectgarbage("stop")
  for _ = 1, 15 do setmetatable({}, mt) end
  local before = count()
  repeat collectgarbage("step") until count() > before
  collectgarbage("restart")
end
]=]

local REENTER = STAGE .. [=[
local core = require "justclick.core"
local NOLIMIT = { max_input_vars = false }
-- Over 1 MiB of the encoder's entries: that scratch is freed after each call, so a call made
-- from a finalizer allocates it again.
local BIG, MID = {}, {}
for j = 1, 17000 do BIG["key" .. j] = j end
for j = 1, 300 do MID[("k%03d"):format(j)] = { j, "v w" } end
local BAD = { n = { ["m]"] = 1 } }
local big_query = core.build_query(BIG, NOLIMIT)
local mid_sign = core.sign(MID, "u", "s")
local mid_body = core.signed_body(MID, "u", "s")
local _, bad_err = pcall(core.build_query, BAD)

local failures = 0
local function check(ok, what)
  if not ok then
    failures = failures + 1
    print("MISMATCH " .. what)
  end
end

local nested = {
  function() check(core.build_query(BIG, NOLIMIT) == big_query, "nested build_query") end,
  function() check(core.sign(MID, "u", "s") == mid_sign, "nested sign") end,
  function() check(core.signed_body(MID, "u", "s") == mid_body, "nested signed_body") end,
  function()
    local ok, err = pcall(core.build_query, BAD)
    check(not ok and err == bad_err, "nested failing build_query: " .. tostring(err))
  end,
}
local ran = 0
local mt = { __gc = function()
  ran = ran + 1
  nested[ran % #nested + 1]()
end }

-- The calls that fail, each with what it raises when no finalizer runs.
local cycle = { a = {} }
cycle.a.b = cycle
local SECRET = "TOP-SECRET-0123456789"
local inputs = {
  { "nested key", { x = { ["y]"] = 1 } } },
  { "top-level key", { ok = 1, ["a b"] = 2 } },
  { "cycle", cycle },
  { "userdata", { goods = { { good_name = "a" }, { good_sum = io.stdout } } } },
  { "max_input_vars", { 1, 2, 3, 4, 5 }, { max_input_vars = 3 } },
  { "metatable", { goods = { setmetatable({}, { __index = {} }) } } },
  { "hash", { hash = 1 }, nil, "signing only" },
}
local outers = {
  build_query = function(t, opts) return core.build_query(t, opts) end,
  sign = function(t, opts) return core.sign(t, "u", SECRET, opts) end,
  signed_body = function(t, opts) return core.signed_body(t, "u", SECRET, opts) end,
}

-- Calls outer(t, opts) once with no finalizer due, then again with finalizers due at its first
-- allocation: the collector stopped in the phase that calls them, 10 a step, with 5 left.
local function round(name, outer, input)
  local ok0, expected = pcall(outer, input[2], input[3])
  check(not ok0, name .. " " .. input[1] .. " should fail")
  due_finalizers(mt, function() return ran end)
  local before = ran
  local ok, err = pcall(outer, input[2], input[3])
  local during = ran - before
  check(not ok and err == expected, ("%s %s: %s"):format(name, input[1], tostring(err)))
  check(not tostring(err):find(SECRET, 1, true), "the secret in " .. tostring(err))
  print(("round %s %s: %d finalizers ran during the call"):format(name, input[1], during))
end

for _, name in ipairs({ "build_query", "sign", "signed_body" }) do
  for _, input in ipairs(inputs) do
    if name ~= "build_query" or not input[4] then round(name, outers[name], input) end
  end
end
collectgarbage("collect")
print(("finalizers %d, failures %d"):format(ran, failures))
os.exit(failures == 0 and 0 or 1, true)
]=]

describe("finalizers that call the core while it raises", function()
  it("neither crash it nor change its results or its error", function()
    local status, out = child(REENTER)
    assert.are.equal(0, status, out)
    local rounds = 0
    for name, during in out:gmatch("round ([^:]+): (%d+) finalizers") do
      rounds = rounds + 1
      assert.is_true(tonumber(during) > 0, "no finalizer ran inside " .. name .. ":\n" .. out)
    end
    assert.are.equal(20, rounds, out)
  end)
end)

describe("finalizers that run after the module's own, when the state closes", function()
  it("still get right answers, and no crash", function()
    local status, out = child([[
local core, results
local keep = setmetatable({}, { __gc = function()
  local got = {
    core.build_query({ a = 1, b = { "x y" } }),
    core.sign({ a = 1 }, "u", "s"),
    core.signed_body({ a = 1 }, "u", "s"),
    tostring(core.verify_reply({ error_code = 0, error_text = "ok", hash = "493f5157924eba0085db9577928ffe2f" }, "s")),
    select(2, pcall(core.build_query, { x = { ["y]"] = 1 } })),
  }
  io.write(table.concat(got, "\n"), "\n")
  io.write(table.concat(got, "\n") == results and "same\n" or "different\n")
end })
core = require "justclick.core" -- its state is marked for finalization after `keep`, so it goes first
results = table.concat({
  "a=1&b%5B0%5D=x+y", "750f2d3078a444d7b13062b97c287baa", "a=1&hash=750f2d3078a444d7b13062b97c287baa", -- md5("a=1::u::s")
  "true", 'justclick: x["y]"]: key contains \']\', where PHP ends a key part',
}, "\n")
]])
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("same\n", 1, true), out)
  end)
end)

describe("scratch memory after a failed call", function()
  it("goes back to the system before the error propagates", function()
    local status, out = child([[
local core = require "justclick.core"
local p = io.popen("getconf PAGESIZE")
local page = p:read("*n")
p:close()
local function rss_mib()
  local f = io.open("/proc/self/statm")
  local _, resident = f:read("*n", "*n")
  f:close()
  return resident * page / 2^20
end
local big = ("a"):rep(100 * 2^20)
-- The value is written before the key after it is refused.
local t = { a = big, b = { ["x]"] = 1 } }
local calls = {
  build_query = function() return core.build_query(t) end,
  sign = function() return core.sign(t, "u", "s") end,
  signed_body = function() return core.signed_body(t, "u", "s") end,
}
for _, call in ipairs({ "build_query", "sign", "signed_body" }) do
  core.build_query({}) -- a call that succeeds trims the scratch
  collectgarbage("collect")
  local before = rss_mib()
  local ok, err = pcall(calls[call])
  local after = rss_mib()
  print(("%s: %s, %.0f MiB more resident"):format(call, ok and "succeeded" or err, after - before))
end
]])
    assert.are.equal(0, status, out)
    local calls = 0
    for call, err, grew in out:gmatch("(%S+): ([^\n]-), (%-?%d+) MiB more resident") do
      calls = calls + 1
      assert.is_truthy(err:find('justclick: b["x]"]: key contains \']\', where PHP ends a key part', 1, true), err)
      assert.is_true(tonumber(grew) < 16, call .. " kept its scratch:\n" .. out)
    end
    assert.are.equal(3, calls, out)
  end)
end)

describe("a finalizer that calls a client while the same client's session reports a failure", function()
  local sandbox = require "support.sandbox"
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)

  it("leaves the failure as it was: sent, and not sent twice", function()
    sb:fault("hangup", "", 1)
    local status, out = child(STAGE .. [=[
local justclick = require "justclick"
local c = justclick.new{ user = "demo", secret = "sandbox-secret", api_url = ..., backoff = 0.01 }
local order = { bill_email = "gc@example.com", goods = { { good_name = "sales" } } }
local first = assert(c:create_order(order)) -- opens the connection that the next request reuses
order.bill_tag = "second"
local url = c.api_url .. "/CreateOrder" -- the signed request, as a caller makes it with the public functions
local body = justclick.build_query(order) .. "&hash=" .. justclick.sign(order, "demo", "sandbox-secret")
local ran, nested, armed = 0, {}, false
local mt = { __gc = function()
  ran = ran + 1
  if not armed then return end
  local info, err = c:order_details(first.bill_id) -- on the same session, in the middle of post
  nested[#nested + 1] = info and info.id == first.bill_id or tostring(err)
end }
due_finalizers(mt, function() return ran end)
local before = ran
armed = true
local status, failure = c.session:post(url, body, true) -- hung up on: a failure
print(("during %d"):format(ran - before))
print("status", status, "sent", failure and failure.sent, "message", failure and failure.message)
for _, n in ipairs(nested) do print("nested", n) end
]=], sb.api_url)
    assert.are.equal(0, status, out)
    assert.is_true(tonumber(out:match("during (%d+)")) > 0, out)
    assert.is_truthy(out:find("status\tnil\tsent\ttrue\tmessage\tthe connection died after the request went out, "
      .. "and it is not sent twice", 1, true), out)
    assert.is_falsy(out:find("nested\t[^t]", 1), out)
  end)
end)
