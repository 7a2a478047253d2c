-- JustClick's request limit: code 8, "API request limit for this address exhausted", answered
-- before the request is processed. The client repeats a read it refused, and a write only when
-- the code 8 reply verifies: an unverified one may be forged over a request that made an order.
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local core = require "justclick.core"
local engine = require "justclick.engine" -- settle, for replies that no sandbox fault makes
local sandbox = require "support.sandbox"
local expect = require "support.expect"

local failed = expect.failure

local function small_order(tag)
  return { bill_email = "limit@example.com", bill_tag = tag, goods = { { good_name = "sales" } } }
end

describe("the client at the request limit (code 8)", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  it("repeats a read that was refused, until it gets through", function()
    local client = sb:client()
    local id = assert(client:create_order(small_order("read"))).bill_id
    sb:fault("limit", "", 3)
    local info = assert(client:order_details(id))
    assert.are.equal(id, info.id)
    assert.are.same({ 5, 3 }, { sb:stats().requests, sb:stats().refused })
  end)

  it("repeats a write refused with a signed code 8, which did nothing: the order is made once", function()
    local client = sb:client()
    sb:fault("limit", "", 2)
    local order = assert(client:create_order(small_order("write")))
    assert.is_nil(order.existing)
    local stats = sb:stats()
    assert.are.same({ 3, 2, 1, 0 }, { stats.requests, stats.refused, stats.orders, stats.duplicates })
    assert.are.equal(order.bill_id, sb:orders()[1].id)
  end)

  it("never repeats a write whose code 8 does not verify: the request may have made the order", function()
    local client = sb:client()
    sb:fault("limit", "forged", 1)
    local err = failed("api", 8, client:create_order(small_order("forged")))
    assert.is_false(err.verified)
    assert.is_true(err.sent)
    assert.is_false(err.retryable)
    assert.is_truthy(err.message:find("the order may exist", 1, true), err.message)
    assert.is_falsy(tostring(err):find("did nothing", 1, true), tostring(err))
    assert.are.same({ 1, 1 }, { sb:stats().requests, sb:stats().orders })
    sb:fault("limit", "forged", 1)
    err = failed("api", 8, client:call("UpdateOrderStatus", { bill_id = sb:orders()[1].id, status = "cancel" }))
    assert.is_true(err.sent)
    assert.is_truthy(err.message:find("may have taken effect", 1, true), err.message)
    assert.are.equal(2, sb:stats().requests)
  end)

  it("repeats a read whose code 8 does not verify: reading again does no harm", function()
    local client = sb:client()
    local id = assert(client:create_order(small_order("unverified read"))).bill_id
    sb:fault("limit", "forged", 1)
    assert.are.equal(id, assert(client:order_details(id)).id)
    assert.are.equal(3, sb:stats().requests)
  end)

  it("gives up when the limit never lifts, within the call's timeout, with a clear error 8", function()
    -- Each refusal takes 100 ms, so that the client's margin for a last repeat (twice the last
    -- attempt's time) is not a few ms that a busy machine's hiccup outlasts: a repeat that
    -- times out would rightly be a timeout, not this code 8.
    sb:control("latency", { ms = 100 })
    sb:fault("limit", "", 0)
    local client = sb:client({ timeout = 2, retries = 2 })
    for _, call in ipairs({
      function() return client:order_details(100001) end,
      function() return client:create_order(small_order("never")) end,
    }) do
      local before = sb:stats().requests
      local err = failed("api", 8, call())
      assert.is_true(err.verified)
      assert.is_true(err.retryable) -- refused before it was processed: safe to try later
      assert.is_falsy(err.sent)
      assert.is_falsy(err.message:find("may exist", 1, true), err.message)
      -- not bounded by `retries` (2), which counts repeats after network failures: by `timeout`
      assert.is_true(err.attempts > 3, "attempts: " .. err.attempts)
      assert.are.equal(before + err.attempts, sb:stats().requests)
      assert.is_truthy(tostring(err):find("API request limit for this address exhausted (", 1, true), tostring(err))
      assert.is_falsy(tostring(err):find(sandbox.secret, 1, true))
    end
    sb:control("clear")
    assert.are.equal(0, sb:stats().orders)
  end)

  it("starts no repeat that the timeout leaves too little time for: the error is the code 8, not a timeout", function()
    -- Each refusal takes 250 ms. A repeat begun with less time than that left would time out
    -- after sending a write: its outcome unknown, for a request the limit would have refused.
    sb:control("latency", { ms = 250 })
    sb:fault("limit", "", 0)
    local err = failed("api", 8, sb:client({ timeout = 2 }):create_order(small_order("late")))
    sb:control("clear")
    assert.is_falsy(err.sent)
    assert.is_true(err.attempts >= 2, "attempts: " .. err.attempts)
  end)

  it("repeats nothing when retries is 0", function()
    sb:fault("limit", "", 1)
    local err = failed("api", 8, sb:client({ retries = 0 }):create_order(small_order("no retries")))
    assert.are.equal(1, err.attempts)
    assert.is_true(err.retryable)
    assert.are.same({ 1, 0 }, { sb:stats().requests, sb:stats().orders })
  end)

  it("settles a signed code 8 as safe to repeat, and an unsigned one only for a read", function()
    local client = sb:client()
    local function reply(secret)
      return ('{"error_code":8,"error_text":"API request limit for this address exhausted","hash":"%s"}')
        :format(md5("8::API request limit for this address exhausted::" .. secret))
    end
    local _, err, retry = engine.settle(client, "CreateOrder", 200, reply(sandbox.secret))
    assert.are.same({ 8, true, true }, { err.code, err.retryable, retry })
    _, err, retry = engine.settle(client, "CreateOrder", 200, reply("forged"))
    assert.are.same({ 8, false, true }, { err.code, err.retryable, err.sent })
    assert.is_falsy(retry)
    _, err, retry = engine.settle(client, "GetBills", 200, reply("forged"))
    assert.are.same({ 8, true }, { err.code, retry })
  end)
end)

describe("import at the request limit (code 8) #lua54", function()
  -- justclick.import is the host's, and Lua 5.4's only (#lua54)
  local import = require "justclick.import"
  local importing = require "support.importing"
  local files = require "support.files"
  local cjson = require "cjson"
  local sb, dir

  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)
  before_each(function() sb:reset() end)

  -- Each row's journal records, in order.
  local function records_by_row(path)
    local by = {}
    for _, r in ipairs(importing.journal(path)) do
      by[r.row] = by[r.row] or {}
      table.insert(by[r.row], r)
    end
    return by
  end

  it("fails no row for it: every row is made once under a token bucket, and the refusals are counted", function()
    local path = dir .. "/bucket.csv"
    files.write(path, importing.csv(24))
    sb:rate_limit(6, 2) -- 24 rows at 6 a second, with 8 jobs that could send far more
    local summary = assert(import.run(path, { client = sb:client(), jobs = 8 }))
    assert.are.same({ 24, 0, 0, 0 }, { summary.created, summary.existing, summary.failed, summary.unknown })
    local stats = sb:stats()
    assert.are.same({ 24, 0 }, { stats.orders, stats.duplicates })
    assert.is_true(summary.rate_limited > 0, "no request was refused: the spec tests nothing")
    assert.are.equal(stats.refused, summary.rate_limited)
    -- It slows down: an importer that kept 8 requests in flight would be refused thousands of times.
    assert.is_true(summary.rate_limited < 60, "refused " .. summary.rate_limited .. " times")
  end)

  it("sends a row again after a signed code 8, and journals that the server made nothing", function()
    local path = dir .. "/refused.csv"
    files.write(path, importing.csv(3))
    sb:fault("slow", "0", 1) -- the first row passes
    sb:fault("limit", "", 2) -- the second is refused twice
    local summary = assert(import.run(path, { client = sb:client(), jobs = 1 }))
    assert.are.same({ 3, 0, 2 }, { summary.created, summary.failed, summary.rate_limited })
    local states = {}
    for _, r in ipairs(records_by_row(path).row2) do
      states[#states + 1] = r.state .. (r.code and (":%d"):format(r.code) or "")
    end
    assert.are.same({ "sending", "error:8", "sending", "error:8", "sending", "done" }, states)
    assert.are.same({ 3, 0 }, { sb:stats().orders, sb:stats().duplicates })
  end)

  it("never sends again a row whose code 8 does not verify: its order is found, not made twice", function()
    local path = dir .. "/forged.csv"
    files.write(path, importing.csv(3))
    sb:fault("slow", "0", 1)        -- the first row passes
    sb:fault("limit", "forged", 1)  -- the second's order is made, and a forged "try again" comes back
    local summary = assert(import.run(path, { client = sb:client(), jobs = 1, grace = 0 }))
    assert.are.same({ 2, 1, 0, 0 }, { summary.created, summary.existing, summary.failed, summary.rate_limited },
      cjson.encode(summary))
    assert.are.same({ 3, 0 }, { sb:stats().orders, sb:stats().duplicates })
    assert.are.equal(sb:orders()[2].id, importing.journal_bills(path).row2)
  end)

  it("stops at the first row when its code 8 does not verify before any reply has: a wrong secret", function()
    local path = dir .. "/wrong_secret.csv"
    files.write(path, importing.csv(30))
    sb:rate_limit(0.01, 1)
    sb:post("/api/GetAllGoods", {}) -- the one token: every request after it is refused
    local summary, err = import.run(path, { client = sb:client({ secret = "wrong" }) })
    assert.is_nil(summary)
    assert.are.same({ "api", 8 }, { err.kind, err.code })
    assert.is_truthy(err.message:find("stopped at line 2", 1, true), err.message)
    assert.is_truthy(err.message:find("api error 8", 1, true), err.message)
    assert.is_truthy(err.message:find("secret", 1, true), err.message)
    assert.are.equal(2, sb:stats().requests)
    local records = importing.journal(path)
    assert.are.equal("unknown", records[#records].state) -- it may have been processed: never sent blindly
  end)

  it("stops with a clear error when the limit never lifts; the next run sends the refused rows at once", function()
    local path = dir .. "/never.csv"
    files.write(path, importing.csv(12))
    sb:fault("limit", "", 0)
    local summary, err = import.run(path, { client = sb:client(), jobs = 4, limit_wait = 1 })
    assert.is_nil(summary)
    assert.are.same({ "api", 8 }, { err.kind, err.code })
    assert.is_truthy(err.message:find("code 8", 1, true), err.message)
    assert.is_truthy(err.message:find("run again later", 1, true), err.message)
    local refused = sb:stats().refused
    assert.is_true(refused < 40, "it kept hammering: " .. refused .. " requests refused")
    for row, records in pairs(records_by_row(path)) do -- every request it sent was answered: refused
      assert.are.same({ "error", 8 }, { records[#records].state, records[#records].code }, row)
    end
    sb:control("clear")
    -- a row left "sending" would be reconciled, and wait out an hour's grace before it is sent
    summary = assert(import.run(path, { client = sb:client(), grace = 3600 }))
    assert.are.same({ 12, 0, 0 }, { summary.created, summary.failed, summary.unknown })
    assert.are.same({ 12, 0 }, { sb:stats().orders, sb:stats().duplicates })
  end)

  it("says to run again later when the limit refuses the reads that would settle an unknown row", function()
    local path = dir .. "/settling.csv"
    files.write(path, importing.csv(1))
    files.write(path .. ".journal", cjson.encode({ row = "row1", line = 2, state = "sending", at = core.time() - 5 })
      .. "\n")
    sb:fault("limit", "", 0)
    local summary = assert(import.run(path, { client = sb:client({ timeout = 0.5 }), grace = 0 }))
    assert.are.equal(1, summary.unknown)
    local message = summary.unknowns[1].message
    assert.is_truthy(message:find("GetBills was refused with code 8", 1, true), message)
    assert.is_truthy(message:find("run again later", 1, true), message)
    assert.are.equal(0, sb:stats().orders)
  end)

  it("reads no more once the limit has outlasted one read's timeout: the other rows wait for the next run", function()
    local path = dir .. "/settling_many.csv"
    local lines, journal = { "id,bill_email,goods" }, {}
    for i = 1, 6 do -- six rows of six emails, left "sending" by a kill: six reads would settle them
      lines[#lines + 1] = ("r%d,distinct%d@example.com,invoice:%d"):format(i, i, 1000 + i)
      journal[i] = cjson.encode({ row = "r" .. i, line = i + 1, state = "sending", at = core.time() - 5 })
    end
    files.write(path, table.concat(lines, "\n") .. "\n")
    files.write(path .. ".journal", table.concat(journal, "\n") .. "\n")
    sb:fault("limit", "", 0)
    -- a back-off longer than the timeout: each read is one request, refused once
    local summary = assert(import.run(path, { client = sb:client({ timeout = 1, backoff = 10 }), grace = 0 }))
    assert.are.same({ 6, 0 }, { summary.unknown, sb:stats().orders })
    for _, u in ipairs(summary.unknowns) do
      assert.is_truthy(u.message:find("refused with code 8", 1, true), u.message)
      assert.is_truthy(u.message:find("run again later", 1, true), u.message)
    end
    assert.are.equal(1, sb:stats().refused)
  end)

  it("does not blame the secret for an unverified code 8 once a signed one has come", function()
    local path = dir .. "/signed_then_forged.csv"
    files.write(path, importing.csv(5))
    sb:fault("limit", "", 2)        -- the first row is refused twice, signed: the secret works
    sb:fault("limit", "forged", 1)  -- then its order is made, and a forged code 8 comes back
    local summary, err = import.run(path, { client = sb:client(), jobs = 4, grace = 0 })
    assert(summary, err and tostring(err))
    assert.are.same({ 4, 1, 0, 0 }, { summary.created, summary.existing, summary.failed, summary.unknown },
      cjson.encode(summary))
    assert.are.same({ 5, 0 }, { sb:stats().orders, sb:stats().duplicates })
  end)

  it("loses and doubles no row when killed while it backs off, nor when Ctrl-C stops it", function()
    local path = dir .. "/killed.csv"
    files.write(path, importing.csv(40))
    for _, signal in ipairs({ "KILL", "INT" }) do
      sb:control("clear")
      sb:fault("slow", "0", 3)
      sb:fault("limit", "", 0)
      local before = sb:stats().refused -- clear keeps the counts
      local pid = importing.host_import(sb, path, true, "--jobs 4 --limit-wait 60")
      local deadline = core.now() + 10
      while sb:stats().refused < before + 5 and core.now() < deadline do core.sleep(0.05) end
      assert.is_true(sb:stats().refused >= before + 5, "the import was not refused")
      core.sleep(0.3)
      os.execute(("kill -%s %d"):format(signal, pid))
      deadline = core.now() + 5
      while sandbox.alive(pid) and core.now() < deadline do core.sleep(0.05) end
      assert.is_falsy(sandbox.alive(pid), "still running after SIG" .. signal)
    end
    assert.is_truthy(files.read(path .. ".out"):find("interrupted", 1, true))
    sb:control("clear")
    local status, out = importing.host_import(sb, path, false, "--grace 1")
    assert.are.equal(0, status, out)
    assert.are.same({ 40, 0 }, { sb:stats().orders, sb:stats().duplicates })
    assert.are.equal(40, #sb:orders())
  end)

  it("reports the refusals from the host, and takes --limit-wait", function()
    local path = dir .. "/host.csv"
    files.write(path, importing.csv(4))
    sb:fault("slow", "0", 1)
    sb:fault("limit", "", 3)
    local status, out = importing.host_import(sb, path, false, "--jobs 2")
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("created 4, existing 0, skipped 0, rejected 0, failed 0, unknown 0, rate limited 3",
      1, true), out)
    status, out = importing.host_import(sb, path, false, "--limit-wait x")
    assert.are.equal(2, status, out)
    assert.is_truthy(out:find("--limit-wait takes", 1, true), out)
  end)
end)

describe("the importer's pace #lua54", function()
  local pace = require "justclick.import.pace"
  -- random() = 0.5: a pace's gap is exactly 1/rate, and a back-off 75% of its length
  local function new(jobs, limit_wait)
    return pace.new(jobs, { backoff = 0.5, limit_wait = limit_wait or 300, random = function() return 0.5 end })
  end

  it("sends the first row alone, then up to jobs once a reply has come", function()
    local p = new(8)
    assert.are.equal(1, p:slots())
    p:started(0)
    assert.are.equal(1, p:slots())
    p:answered(0.05)
    assert.are.equal(8, p:slots())
    assert.is_true(p:next_start() <= 0.05) -- no pace before a refusal
  end)

  it("halves the window and paces at 0.8 of the last second's starts, once for the requests already out", function()
    local p = new(8)
    for i = 0, 9 do p:started(i / 10) end
    p:answered(0.95)
    assert.is_false(p:refused(0.5, 1.0))
    assert.are.equal(4, p:slots()) -- 8 and 1/8, halved
    local rate = 0.8 * 9             -- the starts after 0.0: the last second's
    assert.are.near(rate, p.rate, 1e-9)
    assert.are.near(1.0 + 0.75 / rate, p:next_start(), 1e-9)
    -- refused too, but sent before the cut at 1.0: nothing new
    assert.is_false(p:refused(0.9, 1.01))
    assert.are.same({ 4, rate }, { p:slots(), p.rate })
    -- the pace spaces the starts
    p:started(1.2)
    assert.are.near(1.2 + 1 / rate, p:next_start(), 1e-9)
    -- and a request sent after the cut, refused, cuts again
    p:answered(1.25)
    assert.is_false(p:refused(1.2, 1.3))
    assert.are.near((rate + 0.05) * 0.8, p.rate, 1e-9)
    assert.are.equal(2, p:slots())
  end)

  it("raises the window by one a window's worth of replies, up to jobs, and the pace by 0.05 a reply", function()
    local p = new(4)
    p:started(0)
    p:answered(0.1)
    p:started(0.2)
    p:refused(0.2, 0.3)
    p:refused(0.35, 0.4)
    assert.are.equal(1, p:slots())
    local rate = p.rate
    for i = 1, 3 do p:answered(0.4 + i / 100) end
    assert.are.equal(2, p:slots())      -- 1 + 1, then 2 + 1/2
    assert.are.near(rate + 3 * 0.05, p.rate, 1e-9)
    for i = 1, 50 do p:answered(0.5 + i / 100) end
    assert.are.equal(4, p:slots())
  end)

  it("backs off twice as long at each refusal while none gets through, and gives up after limit_wait", function()
    local p = new(4, 10)
    p:started(0)
    p:answered(0.5)
    p:started(0.6)
    assert.is_false(p:refused(0.6, 0.7))
    local rate = p.rate
    local gap, at = 1 / rate, 0.7
    for k = 2, 5 do
      local start = p:next_start()
      assert.are.near(at + 2 ^ (k - 2) * gap * 0.75, start, 1e-9)
      p:started(start)
      at = start + 0.05
      assert.is_false(p:refused(start, at))
    end
    assert.are.equal(rate, p.rate) -- cut once: the limit has not said how fast it lets requests through
    -- no wait goes past limit_wait after the first refusal: a last request goes then, and if it
    -- is refused too, the importer gives up
    for _ = 1, 10 do
      local start = p:next_start()
      assert.is_true(start <= 0.7 + 10, start)
      at = start + 0.05
      if at >= 10.7 then break end
      assert.is_false(p:refused(start, at))
    end
    assert.are.equal(0.7 + 10, p:next_start())
    assert.is_true(p:refused(10.7, at))
  end)

  it("sets no pace when no request started in the last second (slow replies), and never waits for ever", function()
    local p = new(8)
    p:started(0)
    p:answered(1.5)
    assert.is_false(p:refused(0, 1.6))
    assert.is_nil(p.rate) -- not 0 a second
    assert.is_true(p:next_start() < 1.6 + 30, tostring(p:next_start()))
    -- a pace cut low by many refusals still starts a request within 30 s
    p:started(2)
    p:answered(2.1)
    p.rate = 1e-9
    p:started(3)
    assert.is_true(p:next_start() <= 3 + 30, tostring(p:next_start()))
  end)

  it("sets no pace from a refusal with no reply in the last second: the limit was used up already", function()
    local p = new(8)
    p:started(0)
    assert.is_false(p:refused(0, 0.05))
    assert.is_nil(p.rate)
    assert.are.near(0.05 + 0.5 * 0.75, p:next_start(), 1e-9) -- the client's backoff
    assert.are.equal(1, p:slots())
    p:answered(1)
    assert.are.equal(4, p:slots()) -- the window was halved meanwhile
  end)
end)
