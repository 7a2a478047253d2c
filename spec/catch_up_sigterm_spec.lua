-- Found by an attack on issue 20 (catch-up): receiving-payments.md, "SIGTERM or Ctrl-C stops
-- taking requests (one that comes meanwhile is answered 503 ...), lets the handler in progress
-- finish ... and exits 0". A `serve --catch-up` pass over a long span (--days 300: eleven 28-day
-- reads, two requests each) against a slow API went on reading to its end after SIGTERM: the
-- receiver answered every notification 503 for the rest of the pass (a minute here) before it
-- stopped, where a stop should wait for the read in flight at most.
local core = require "justclick.core"
local hostile_api = require "support.hostile_api"
local importing = require "support.importing"
local files = require "support.files"

describe("serve --catch-up under SIGTERM #lua54", function()
  local api, dir, pid

  before_each(function()
    dir = importing.tmpdir()
    api = hostile_api.start(dir)
    files.write(dir .. "/handler.lua", "return function() return true end")
  end)
  after_each(function()
    if pid then os.execute(("kill -KILL %d 2>/dev/null"):format(pid)) end
    if api then api:stop() end
    core.sleep(0.2)
    os.execute("rm -rf " .. dir .. " 2>/dev/null; rm -rf " .. dir)
  end)

  it("stops between the reads of a pass, not at its end", function()
    api:answer({ GetAllGoods = { { good_id = "invoice" } }, getOrdersWithGoods = {}, sleep_ms = 3000 })
    local log = dir .. "/serve.log"
    os.execute(("(JUSTCLICK_USER=demo JUSTCLICK_SECRET=sandbox-secret JUSTCLICK_API_URL=%s %s serve --listen"
      .. " 127.0.0.1:0 --catch-up 60 --days 300 --inbox %s/inbox %s/handler.lua > %s 2>&1 & echo $! > %s/pid;"
      .. " wait $!; echo $? > %s/status) 2>/dev/null &"):format(api.api_url, importing.HOST, dir, dir, log, dir, dir))
    local deadline = core.now() + 20
    while #api:requests() < 2 and core.now() < deadline do core.sleep(0.05) end -- the pass reads
    pid = tonumber(files.read(dir .. "/pid") or "")
    assert(pid and #api:requests() >= 2, "no pass began: " .. (files.read(log) or ""))
    os.execute(("kill -TERM %d"):format(pid))
    local stopped_by = core.now() + 20 -- the read in flight (3 s), and room for a busy machine
    while not files.read(dir .. "/status") and core.now() < stopped_by do core.sleep(0.1) end
    local status = files.read(dir .. "/status")
    local requests = #api:requests()
    if not status then -- let it end, to say how long it took
      local until_end = core.now() + 90
      while not files.read(dir .. "/status") and core.now() < until_end do core.sleep(0.2) end
    end
    assert(status, ("still running 20 s after SIGTERM, %d requests in; it read on: %d in all\n%s"):format(requests,
      #api:requests(), files.read(log) or ""))
    assert.are.equal("0", status:match("%d+"))
  end)
end)
