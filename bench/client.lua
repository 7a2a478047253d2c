-- Client CPU per create_order call (in this process, as getrusage counts it) against the docs'
-- PHP client, which opens a new curl handle per call; calls per second with keep-alive and
-- without; resident memory after 1,000 calls and after 100,000. Both clients talk to the
-- sandbox's fast stand-in (POST /__fast/..., a signed success answered by its front alone), so
-- the figures are the clients' own.
-- Run: make bench  (or: lua5.4 bench/client.lua [calls])
package.path = "lua/?.lua;spec/?.lua;bench/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local justclick = require "justclick"
local core = require "justclick.core"
local bench = require "justclick.bench"
local sandbox = require "support.sandbox"
local example = require "support.docs_example"

local N = tonumber(arg[1]) or 2000

local function rss_kib()
  for line in io.lines("/proc/self/status") do
    local kib = line:match("^VmRSS:%s+(%d+) kB")
    if kib then return tonumber(kib) end
  end
end

-- CPU ns per call, and calls per second, for n orders through `client`.
local function measure(client, n, first)
  local order = example.order()
  local cpu, wall = bench.cpu(), core.now()
  for i = first or 1, (first or 1) + n - 1 do
    order.bill_tag = "AdWords-" .. i
    local ok, err = client:create_order(order)
    if not ok then error(tostring(err)) end
  end
  return (bench.cpu() - cpu) / n * 1e9, n / (core.now() - wall)
end

local sb = sandbox.start()
local ok, failure = pcall(function()
  local fast = sb.url .. "/__fast/api"
  local opts = { user = sandbox.user, secret = sandbox.secret, api_url = fast }
  local keep = justclick.new(opts)
  measure(keep, 200) -- warm up
  local cpu_keep, rate_keep = measure(keep, N)
  opts.keep_alive = false
  local cpu_new, rate_new = measure(justclick.new(opts), N)

  local command = ("php bench/php_client.php %s/CreateOrder %d %s %s"):format(fast, N, sandbox.user, sandbox.secret)
  local p = assert(io.popen(command))
  local php_cpu, php_rate = p:read("n", "n")
  p:close()
  assert(php_cpu, "the PHP client failed")

  print(("create_order through a client, %d calls each, against the sandbox's fast stand-in"):format(N))
  print(("  %-40s %8.0f ns CPU   %7.0f calls/s"):format("justclick, keep-alive", cpu_keep, rate_keep))
  print(("  %-40s %8.0f ns CPU   %7.0f calls/s"):format("justclick, a new connection per call", cpu_new, rate_new))
  print(("  %-40s %8.0f ns CPU   %7.0f calls/s"):format("docs' PHP client (curl handle per call)", php_cpu, php_rate))
  print(("  %-40s %8.2f   (target: at most 0.50)"):format("ratio CPU justclick / PHP client", cpu_keep / php_cpu))

  local client = justclick.new({ user = sandbox.user, secret = sandbox.secret, api_url = fast })
  measure(client, 1000)
  collectgarbage()
  local after_1k = rss_kib()
  measure(client, 99000, 1001)
  collectgarbage()
  local after_100k = rss_kib()
  print("Memory: resident size of this process")
  print(("  %-40s %8d KiB"):format("after 1,000 calls", after_1k))
  print(("  %-40s %8d KiB"):format("after 100,000 calls", after_100k))
  print(("  %-40s %8d KiB   (target: under 1024)"):format("growth", after_100k - after_1k))
end)
sb:stop()
if not ok then error(failure, 0) end
