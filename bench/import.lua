-- Import throughput with --jobs N against the sandbox, every reply 50 ms late: rows per second
-- for N = 1, 2, 4, 8 and 16, against the target of 0.8 * N times the sequential rate. Each run
-- imports ROWS_PER_JOB * N rows (at least 48), so that every run takes about as long and the
-- first row, which goes alone, weighs the same in each.
-- Then an import at the API's request limit: the sandbox lets 20 requests a second through (a
-- token bucket of 20), answers code 8 beyond, and every reply (a refusal too) is 50 ms late;
-- 1,000 rows with --jobs 16 and the client's default backoff. Targets: at least 90% of the limit,
-- no failed row; the refusals are counted.
-- Run: make bench  (or: lua5.4 bench/import.lua [rows per job [rate-limited rows]])
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local core = require "justclick.core"
local import = require "justclick.import"
local sandbox = require "support.sandbox"

local ROWS_PER_JOB = tonumber(arg[1]) or 24
local LIMITED_ROWS, LIMIT, LIMITED_JOBS = tonumber(arg[2]) or 1000, 20, 16
local path = os.tmpname()

local function write_csv(rows)
  local lines = { "id,bill_email,goods" }
  for i = 1, rows do lines[#lines + 1] = ("r%d,buyer%d@example.com,invoice:%d;sales"):format(i, i % 9, 1000 + i) end
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end

local sb = sandbox.start()
local ok, failure = pcall(function()
  print(("Import, every reply 50 ms late, %d rows a job: rows per second by --jobs"):format(ROWS_PER_JOB))
  local sequential
  for _, jobs in ipairs({ 1, 2, 4, 8, 16 }) do
    local rows = math.max(48, ROWS_PER_JOB * jobs)
    write_csv(rows)
    sb:reset()
    sb:fault("slow", "50", 0)
    os.remove(path .. ".journal")
    local start = core.now()
    local s = assert(import.run(path, { client = sb:client(), jobs = jobs }))
    local rate = rows / (core.now() - start)
    assert(s.created == rows, ("jobs %d: %d of %d rows created"):format(jobs, s.created, rows))
    sequential = sequential or rate
    print(("  --jobs %-3d %4d rows %7.1f rows/s   %5.2f x sequential   (target: at least %.1f)"):format(
      jobs, rows, rate, rate / sequential, 0.8 * jobs))
  end

  write_csv(LIMITED_ROWS)
  sb:reset()
  sb:control("latency", { ms = 50 })
  sb:rate_limit(LIMIT, LIMIT)
  os.remove(path .. ".journal")
  local start = core.now()
  local s = assert(import.run(path, { client = sb:client({ backoff = 0.5 }), jobs = LIMITED_JOBS }))
  local rate = LIMITED_ROWS / (core.now() - start)
  local stats = sb:stats()
  assert(s.created == LIMITED_ROWS and stats.orders == LIMITED_ROWS and stats.duplicates == 0,
    ("rate limited: %d of %d rows created, %d orders, %d duplicates"):format(s.created, LIMITED_ROWS, stats.orders,
      stats.duplicates))
  assert(s.rate_limited == stats.refused, ("the summary counts %d refusals, the sandbox %d"):format(s.rate_limited,
    stats.refused))
  print(("Import at the request limit: %d requests a second (a bucket of %d), every reply 50 ms late, "
    .. "%d rows, --jobs %d"):format(LIMIT, LIMIT, LIMITED_ROWS, LIMITED_JOBS))
  print(("  %7.1f rows/s   %5.1f%% of the limit (target: at least 90%%)   failed rows %d (target: 0)   "
    .. "refused with code 8: %d"):format(rate, 100 * rate / LIMIT, s.failed, s.rate_limited))
end)
sb:stop()
os.remove(path)
os.remove(path .. ".journal")
os.remove(path .. ".rejects")
if not ok then error(failure, 0) end
