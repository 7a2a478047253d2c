-- justclick.import and `justclick import` against the sandbox: every row created exactly once,
-- through kills, timeouts and bad rows. The sandbox answers a repeated order with 601 and counts
-- it as a duplicate, so a row sent twice shows even where the order count does not.
local core = require "justclick.core"
local importing = require "support.importing"
local files = require "support.files"
local read, write = files.read, files.write
local csv, journal_bills = importing.csv, importing.journal_bills

local sb, dir

local function host_import(path, background, options)
  return importing.host_import(sb, path, background, options)
end

describe("import #lua54", function()
  -- justclick.import is the host's, and Lua 5.4's only (#lua54)
  local import = require "justclick.import"

  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)
  before_each(function() sb:reset() end)

  it("creates one order per row of a 500-row CSV, and skips them all when run again", function()
    local path = dir .. "/five_hundred.csv"
    write(path, csv(500))
    local summary = assert(import.run(path, { client = sb:client() }))
    assert.are.equal(500, summary.created)
    assert.are.equal(500, sb:stats().orders)
    local again = assert(import.run(path, { client = sb:client() }))
    assert.are.equal(500, again.skipped)
    assert.are.equal(0, again.created)
    assert.are.equal(500, sb:stats().orders)
    assert.are.equal(0, sb:stats().duplicates)
  end)

  it("lets go of the journal's lock at once when run raises, even before any row is sent", function()
    local path = dir .. "/raises.csv"
    write(path, csv(2))
    local real = core.realpath(path)
    local scan = assert(require("justclick.import.rows").scan(real, { [2] = true }))
    -- line 2 was sent, with no outcome: a person's --settle has its bill looked up first
    write(real .. ".journal", ('{"row":"%s","line":2,"state":"sending","at":1,"up":1,"boot":"b"}\n')
      :format(scan.rows[2].id))
    local client = { dry_run = false, order_details = function() error("interrupted", 0) end }
    local ok, err = pcall(import.run, path, { client = client, settle = { [2] = 7 } })
    assert.is_false(ok)
    assert.are.equal("interrupted", err)
    local lock, locked = core.lock(real .. ".journal") -- no collectgarbage: run let go of it itself
    assert.is_truthy(lock, locked and locked.message)
    lock:release()
  end)

  it("holds exactly 500 orders after runs with 8 jobs killed with SIGKILL at random points, then run to the end", function()
    local path = dir .. "/killed.csv"
    write(path, csv(500))
    math.randomseed(os.time())
    local kills = 0
    for _ = 1, 5 do
      local pid = host_import(path, true, "--jobs 8")
      core.sleep(0.2 + math.random() * 0.6)
      if os.execute("kill -KILL " .. pid .. " 2>/dev/null") then kills = kills + 1 end
      core.sleep(0.1)
    end
    local status, out = host_import(path, false, "--jobs 8")
    assert.are.equal(0, status, out)
    assert.is_true(kills >= 3, "too few runs were killed mid-way: " .. kills)
    assert.are.equal(500, sb:stats().orders)
    assert.are.equal(0, sb:stats().duplicates, "a row was sent again after it was created")
    assert.is_truthy(out:find("skipped %d+"), out)
  end)

  it("settles rows whose requests timed out after sending in the same run, and sends none of them twice", function()
    local path = dir .. "/timeouts.csv"
    write(path, csv(20))
    -- Three orders are made, but their replies come too late; requests queued behind them in the
    -- same php -S worker time out too, and reach the server late. All of them are unknown until
    -- the end of the run: then, once the grace has passed, GetBills and getOrderDetails find
    -- each. (A grace shorter than the stall would resend the late ones: 601 duplicates.)
    sb:fault("slow", "1500", 3)
    local summary = assert(import.run(path, { client = sb:client({ timeout = 0.5, retries = 0 }), grace = 3 }))
    assert.is_true(summary.existing >= 3, "existing: " .. summary.existing)
    assert.are.equal(20, summary.created + summary.existing)
    assert.are.equal(0, summary.unknown)
    assert.are.equal(20, sb:stats().orders)
    assert.are.equal(0, sb:stats().duplicates)
    local again = assert(import.run(path, { client = sb:client() }))
    assert.are.equal(20, again.skipped)
    assert.are.equal(20, sb:stats().orders)
  end)

  it("reconciles on the goods in any order, and not on a different sum", function()
    local client = sb:client()
    local path = dir .. "/reconcile.csv"
    write(path, "id,bill_email,goods,bill_tag\n"
      .. "c,c@example.com,sales,row\n"                     -- sent normally: the import's own order
      .. "b,r@example.com,invoice:1300;sales:900,row\n"   -- a different sum: another order
      .. "a,r@example.com,invoice:1200;sales:900,row\n")  -- the same goods, listed the other way round
    -- Rows a and b went out 5 s ago, and the process died (no answer recorded).
    local sent = core.time() - 5
    write(path .. ".journal", ('{"row":"b","line":3,"state":"sending","at":%f}\n{"row":"a","line":4,"state":"sending","at":%f}\n')
      :format(sent, sent))
    -- The server made row a's order after it was sent.
    local made = assert(client:create_order({ bill_email = "r@example.com", bill_tag = "row",
      goods = { { good_name = "sales", good_sum = 900 }, { good_name = "invoice", good_sum = 1200 } } }))
    local summary = assert(import.run(path, { client = client, jobs = 1, grace = 0 }))
    assert.are.equal(1, summary.existing) -- row a: the order made for it
    assert.are.equal(2, summary.created)  -- rows b and c
    assert.are.equal(0, summary.unknown)
    local bills = journal_bills(path)
    assert.are.equal(made.bill_id, bills.a)
    assert.are_not.equal(made.bill_id, bills.b)
    assert.are.equal(3, sb:stats().orders)
  end)

  it("writes malformed rows to the rejects file with their line numbers, and imports the rest", function()
    local path = dir .. "/bad.csv"
    write(path, table.concat({
      "bill_email,goods",
      "ok1@example.com,invoice",
      ",sales",
      "ok2@example.com,sales:12x",
      '"quoted@example.com","course;invoice:1,5"',  -- a comma inside quotes: the number is bad
      "ok3@example.com,",
      "ok4@example.com,sales:990",
    }, "\n") .. "\n")
    local summary = assert(import.run(path, { client = sb:client() }))
    assert.are.equal(2, summary.created)
    assert.are.equal(4, summary.rejected)
    local lines = {}
    for _, r in ipairs(summary.rejects) do lines[#lines + 1] = r.line end
    assert.are.same({ 3, 4, 5, 6 }, lines)
    local rejects = read(path .. ".rejects")
    assert.is_truthy(rejects:find('\n3,"bill_email is required",",sales"\n', 1, true), rejects)
    assert.is_truthy(rejects:find('\n4,"bad number ""12x"" in goods', 1, true), rejects)
  end)

  it("stops at the first row with a clear error when the secret is wrong", function()
    local path = dir .. "/wrong_secret.csv"
    write(path, csv(50))
    local summary, err = import.run(path, { client = sb:client({ secret = "wrong" }) })
    assert.is_nil(summary)
    assert.are.same({ "api", 4 }, { err.kind, err.code })
    assert.is_truthy(err.message:find("stopped at line 2", 1, true), err.message)
    assert.is_truthy(err.message:find("api error 4", 1, true), err.message)
    assert.is_truthy(err.message:find("check the secret", 1, true), err.message)
    assert.are.equal(1, sb:stats().requests)
    -- its code 4 cannot verify (JustClick signs it with the real secret), so it may be forged over
    -- an order that was made: the row is unknown, settled by the next run, never sent blindly
    local records = importing.journal(path)
    assert.are.same({ 2, "unknown" }, { #records, records[2].state })
    summary = assert(import.run(path, { client = sb:client(), grace = 0 }))
    assert.are.same({ 50, 0, 0 }, { summary.created, summary.failed, summary.unknown })
    assert.are.same({ 50, 0 }, { sb:stats().orders, sb:stats().duplicates })
  end)

  it("imports JSON Lines", function()
    local path = dir .. "/orders.jsonl"
    write(path, '{"id": 1, "bill_email": "j@example.com", "goods": [{"good_name": "sales"}], "utm": {"utm_source": "x"}}\n'
      .. '{"bill_email": "k@example.com", "goods": [{"good_name": "invoice", "good_sum": 1200}]}\n'
      .. 'not json\n')
    local summary = assert(import.run(path, { client = sb:client() }))
    assert.are.equal(2, summary.created)
    assert.are.equal(1, summary.rejected)
    assert.are.equal(3, summary.rejects[1].line)
  end)

  it("runs from the host as `justclick import [--jobs N] FILE`", function()
    local path = dir .. "/host.csv"
    write(path, csv(5))
    local status, out = host_import(path)
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("created 5, existing 0, skipped 0, rejected 0, failed 0, unknown 0", 1, true), out)
    status, out = host_import(path, false, "--jobs 16")
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("created 0, existing 0, skipped 5", 1, true), out)
    status, out = host_import(path, false, "--jobs 0")
    assert.are.equal(2, status, out)
    assert.is_truthy(out:find("usage: justclick import [--jobs N] [--grace S]", 1, true), out)
  end)

  it("creates every row with 16 jobs", function()
    local path = dir .. "/sixteen.csv"
    write(path, csv(200))
    local summary = assert(import.run(path, { client = sb:client(), jobs = 16 }))
    assert.are.equal(200, summary.created)
    assert.are.equal(200, sb:stats().orders)
    assert.are.equal(0, sb:stats().duplicates)
    assert.has_error(function() import.run(path, { jobs = 65 }) end)
  end)
end)
