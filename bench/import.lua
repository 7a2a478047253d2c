-- Import throughput with --jobs N against the sandbox, every reply 50 ms late: rows per second
-- for N = 1, 2, 4, 8 and 16, against the target of 0.8 * N times the sequential rate. Each run
-- imports ROWS_PER_JOB * N rows (at least 48), so that every run takes about as long and the
-- first row, which goes alone, weighs the same in each.
-- Run: make bench  (or: lua5.4 bench/import.lua [rows per job])
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local core = require "justclick.core"
local import = require "justclick.import"
local sandbox = require "support.sandbox"

local ROWS_PER_JOB = tonumber(arg[1]) or 24
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
end)
sb:stop()
os.remove(path)
os.remove(path .. ".journal")
os.remove(path .. ".rejects")
if not ok then error(failure, 0) end
