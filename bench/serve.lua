-- `justclick serve` under load: 64 senders at once POST distinct paid notifications (100,000 by
-- default), each verified, stored in the SQLite store and fsynced (a group commit of the log)
-- before its 200. Notifications per second, the latency of a reply (median, p99), and the
-- receiver's resident memory as it goes.
-- Run: make bench  (or: lua5.4 bench/serve.lua [notifications] [senders])
package.path = "lua/?.lua;spec/?.lua;bench/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local core = require "justclick.core"
local files = require "support.files"

local TOTAL, SENDERS = tonumber(arg[1]) or 100000, tonumber(arg[2]) or 64
local SECRET = "0123456789abcdef0123456789abcdef01234567"
local HOST = os.getenv("PWD") .. "/build/bin/justclick"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
files.write(dir .. "/handler.lua", "return function() return true end\n")
-- --no-confirm: no API here, and the bench measures the receiver, not getOrderDetails
os.execute(("JUSTCLICK_USER=bench JUSTCLICK_SECRET=%s %s serve --listen 127.0.0.1:0 --inbox %s/inbox --no-confirm "
  .. "--connections 128 %s/handler.lua 2> %s/log & echo $! > %s/pid"):format(SECRET, HOST, dir, dir, dir, dir))
local url, pid
for _ = 1, 200 do
  pid = tonumber(files.read(dir .. "/pid") or "")
  local port = (files.read(dir .. "/log") or ""):match("listening on 127%.0%.0%.1:(%d+)")
  if pid and port then
    url = "http://127.0.0.1:" .. port .. "/notify"
    break
  end
  core.sleep(0.05)
end
assert(url, "justclick serve did not start: " .. (files.read(dir .. "/log") or ""))
-- The log line a request would cost stderr is part of the receiver's work: it goes to a file.

local function rss_kib()
  return tonumber((files.read("/proc/" .. pid .. "/status") or ""):match("VmRSS:%s*(%d+)"))
end

local function body(id)
  local paid = "2026-11-23 10:00:00"
  return ("id=%d&email=buyer%%40example.com&paid=2026-11-23+10%%3A00%%3A00&last_payment_sum=2490"
    .. "&items%%5B0%%5D%%5Bid%%5D=invoice&items%%5B0%%5D%%5Bsum%%5D=1500"
    .. "&items%%5B1%%5D%%5Bid%%5D=sales&items%%5B1%%5D%%5Bsum%%5D=990&hash=%s")
    :format(id, md5(id .. "buyer@example.com" .. paid .. SECRET))
end

local multi = core.multi({ timeout = 30 }, SENDERS)
local started, latencies, sent, done, failed = {}, {}, 0, 0, 0
local rss = {}
local t0 = core.now()
while done < TOTAL do
  while sent < TOTAL and multi:running() < SENDERS do
    sent = sent + 1
    started[sent] = core.now()
    multi:start(sent, url, body(1000000 + sent))
  end
  for _, r in ipairs(multi:wait()) do
    done = done + 1
    latencies[#latencies + 1] = core.now() - started[r.key]
    started[r.key] = nil
    if r.status ~= 200 then failed = failed + 1 end
    if done == 1000 or done == TOTAL // 2 or done == TOTAL then rss[#rss + 1] = { done, rss_kib() } end
  end
end
local seconds = core.now() - t0
multi:close()
local function health()
  local h = io.popen("curl -s " .. url:gsub("/notify$", "/health"))
  local text = h:read("a")
  h:close()
  return text:gsub("%s+$", "")
end
local at_end = health()
core.sleep(3)
local later, rss_later = health(), rss_kib()
-- What the store costs: the receiver's CPU seconds (user and system, its handler's loop
-- included) and the bytes it had the disk write, for the run and the 3 s after.
local stat = files.read("/proc/" .. pid .. "/stat") or ""
local utime, stime = stat:match("^%d+ %b() %S+" .. (" %S+"):rep(10) .. " (%d+) (%d+)")
local cpu = (tonumber(utime) or 0) + (tonumber(stime) or 0)
local written = tonumber((files.read("/proc/" .. pid .. "/io") or ""):match("\nwrite_bytes: (%d+)")) or 0
os.execute("kill -TERM " .. pid)
for _ = 1, 200 do
  if not os.execute("kill -0 " .. pid .. " 2>/dev/null") then break end
  core.sleep(0.05)
end
local inbox_bytes = #(files.read(dir .. "/inbox") or "") + #(files.read(dir .. "/inbox-wal") or "")
os.execute("rm -rf " .. dir)

table.sort(latencies)
local function pct(p) return latencies[math.max(1, math.ceil(#latencies * p))] * 1000 end
print(("justclick serve: %d paid notifications from %d senders at once, each fsynced before its 200")
  :format(TOTAL, SENDERS))
print(("  %.0f notifications/s (target: at least 10,000); %d not answered 200"):format(TOTAL / seconds, failed))
print(("  reply latency: median %.1f ms, p99 %.1f ms (target: p99 under 25 ms)"):format(pct(0.5), pct(0.99)))
for _, r in ipairs(rss) do print(("  resident after %6d: %6d KiB"):format(r[1], r[2])) end
print(("  inbox at the end %s; 3 s later %s, resident %d KiB"):format(at_end, later, rss_later))
print(("  (the store grew to %.1f MiB, its database and log; no event is kept in memory)")
  :format(inbox_bytes / 2^20))
print(("  the receiver's CPU: %.1f s (%.0f us a notification, its handling included); it wrote %.0f MiB to disk"
  .. " (%.1f KiB a notification)"):format(cpu / 100, cpu / 100 / TOTAL * 1e6, written / 2^20, written / 1024 / TOTAL))
