-- The exactly-once promise under the worst the sandbox can do at once: an import of 200 rows
-- killed with SIGKILL at random moments, again and again, while the sandbox hangs up on reused
-- connections after committing orders and stalls replies past the client's timeout. Then it is
-- run to the end. Every row must be created exactly once, and an older order of one customer,
-- with the same goods as that customer's row, must stay unclaimed. JUSTCLICK_SEED replays it.
local core = require "justclick.core"
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"

describe("the import, killed again and again #lua54", function()
  local sb, dir
  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)

  it("creates every row exactly once, through 10 or more SIGKILLs, hang-ups and stalls", function()
    local started = core.now()
    local seed = tonumber(os.getenv("JUSTCLICK_SEED")) or os.time()
    math.randomseed(seed)
    local why = "seed " .. seed
    sb:reset()
    -- The customer of the last row bought the same course before the import.
    local client = sb:client()
    local older = assert(client:create_order({ bill_email = "again@example.com", bill_tag = "before",
      goods = { { good_name = "course", good_sum = 5000 } } })).bill_id
    core.sleep(2.2) -- `created` counts whole seconds
    -- 199 rows of 7 customers, each customer's rows told apart by their sums; and that last row.
    local path = dir .. "/soak.csv"
    files.write(path, importing.csv(199) .. "row200,again@example.com,course:5000,Again,cpc\n")

    sb:control("latency", { ms = 100 })
    local kills = 0
    while kills < 12 and core.now() - started < 45 do
      sb:fault("hangup", "", 2)
      sb:fault("slow", "1500", 2)
      local pid = importing.host_import(sb, path, true, "--jobs 3 --grace 5")
      core.sleep(0.4 + math.random() * 1.6)
      if sandbox.alive(pid) and os.execute("kill -KILL " .. pid) then kills = kills + 1 end
      while sandbox.alive(pid) do core.sleep(0.02) end
    end
    assert.is_true(kills >= 10, ("only %d runs were killed mid-way (%s)"):format(kills, why))

    -- Calm again: the import runs to its end, settling what the kills left unknown.
    sb:control("clear")
    local status, out
    for _ = 1, 3 do
      status, out = importing.host_import(sb, path, false, "--jobs 4 --grace 5")
      if status == 0 then break end
    end
    assert.are.equal(0, status, why .. "\n" .. out)

    local stats = sb:stats()
    assert.are.equal(0, stats.duplicates, "an order was sent again after it was made (" .. why .. ")")
    assert.are.equal(201, stats.orders, why)
    local made = {}
    for _, order in ipairs(sb:orders()) do
      local name = order.data.bill_first_name or "(before the import)"
      made[name] = (made[name] or 0) + 1
    end
    for i = 1, 199 do assert.are.equal(1, made["Name " .. i], ("row %d (%s)"):format(i, why)) end
    assert.are.equal(1, made.Again, why)
    local bills, owners = importing.journal_bills(path), {}
    for row, bill in pairs(bills) do
      assert.is_nil(owners[bill], ("rows %s and %s share bill %d (%s)"):format(row, tostring(owners[bill]), bill, why))
      owners[bill] = row
    end
    assert.is_nil(owners[older], "the order made before the import was claimed (" .. why .. ")")
    assert.is_true(core.now() - started < 90, ("the soak took %.0f s"):format(core.now() - started))
  end)
end)
