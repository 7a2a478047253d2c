-- kill -9 of `justclick serve --catch-up` (a pass every 3 s) at random moments while a flood of
-- notifications arrives: some for bills a pass also lists (delayed past a pass), some dropped
-- (only a pass finds those), the rest on time. After a last clean run: every paid bill handled
-- exactly once, but where a kill landed inside its handler (a "begin" with no "end"); every
-- notification the sandbox saw acknowledged (a 200) is in the inbox; no bill has two handled
-- payments.
local core = require "justclick.core"
local expect = require "support.expect"
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"
local serving = require "support.serving"

local ROUNDS, A_ROUND = 10, 6

local HANDLER = [[
return { paid = function(event)
  local f = assert(io.open(os.getenv("HANDLED"), "a"))
  f:write("begin ", event.id, " ", event.source, "\n") f:flush()
  local t = os.clock() while os.clock() - t < 0.01 do end
  f:write("end ", event.id, " ", event.source, "\n") f:close()
  return true
end }]]

local function wait_for(seconds, done)
  local deadline = core.now() + seconds
  while not done() and core.now() < deadline do core.sleep(0.1) end
  return done()
end

describe("serve --catch-up under kill -9 and a flood of notifications #lua54", function()
  local sb, dir, running = nil, nil, {}

  lazy_setup(function()
    sb = sandbox.start()
    dir = importing.tmpdir()
  end)
  lazy_teardown(function()
    for _, p in ipairs(running) do os.execute(("kill -KILL %d 2>/dev/null"):format(p)) end
    if sb then sb:stop() end
    -- a process killed a moment ago may still be closing its files
    if dir then os.execute(("rm -rf %s 2>/dev/null || (sleep 0.5; rm -rf %s)"):format(dir, dir)) end
  end)

  it("hands every paid bill over once, stores every acknowledged notification, and settles the rest", function()
    sb:reset()
    files.write(dir .. "/handler.lua", HANDLER)
    local port = shell.free_port() -- one port for every start: the sandbox notifies it
    local log = dir .. "/serve.log"
    local cmd = ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s HANDLED=%s/handled %s serve"
      .. " --listen 127.0.0.1:%d --inbox %s/inbox --catch-up 0.05 %s/handler.lua >> %s 2>&1"):format(sandbox.user,
      sandbox.secret, sb.api_url, dir, importing.HOST, port, dir, dir, log)
    local function start()
      local pid
      for _ = 1, 50 do -- the port a killed receiver held may take a moment to be free
        local ok, p = pcall(serving.launch, cmd, dir, log, running)
        if ok then pid = p break end
        core.sleep(0.2)
      end
      return assert(pid, "serve did not start again: " .. (files.read(log) or ""))
    end
    local client = sb:client()
    sb:notify({ url = ("http://127.0.0.1:%d/notify"):format(port) })
    math.randomseed(os.time())
    local bills, kills = {}, 0
    for round = 1, ROUNDS do
      local pid = start()
      for i = 1, A_ROUND do
        local order = assert(client:create_order({ bill_email = ("flood-%d-%d@example.com"):format(round, i),
          goods = { { good_name = "invoice" } } }))
        local id = math.tointeger(tonumber(order.bill_id))
        bills[#bills + 1] = id
        local r = math.random()
        if r < 0.25 then sb:notify({ drop = 1 }) elseif r < 0.5 then sb:notify({ delay = math.random(1, 6) }) end
        assert(sb:control("pay", { bill_id = id }).ok)
        core.sleep(math.random() * 0.2)
      end
      core.sleep(math.random() * 1.5)
      os.execute(("kill -KILL %d"):format(pid))
      kills = kills + 1
      assert(wait_for(10, function() return files.read(dir .. "/status") ~= nil end), "the receiver did not end")
    end
    -- the last, clean run: until every bill is handled and the sandbox has nothing left to send
    local pid = start()
    local function settled()
      local _, out = shell.run(("sqlite3 %s/inbox \"select count(distinct bill_id) from events where kind = 'paid'"
        .. " and state = 'handled'\""):format(dir))
      return tonumber(out) == #bills and sb:notifications().pending == 0
    end
    assert(wait_for(120, settled), files.read(log))
    core.sleep(4) -- a pass or more over it all
    os.execute(("kill -TERM %d"):format(pid))
    assert(wait_for(15, function() return files.read(dir .. "/status") ~= nil end), "serve did not stop")

    local ended = expect.handled_once(files.read(dir .. "/handled"))
    for _, id in ipairs(bills) do assert.are.equal(1, ended[id], ("bill %d was never handled (%d kills)"):format(id, kills)) end
    local _, out = shell.run(("sqlite3 %s/inbox \"select bill_id from events where kind = 'paid' and state = 'handled'"
      .. " group by bill_id having count(*) > 1\""):format(dir))
    assert.are.equal("", out)
    -- every notification the sandbox saw acknowledged is in the inbox
    local _, keys = shell.run(("sqlite3 %s/inbox \"select kind || ' ' || bill_id from events where key not like '%%-api'\"")
      :format(dir))
    local stored = {}
    for line in keys:gmatch("[^\n]+") do stored[line] = true end
    for _, n in ipairs(sb:notifications().notifications) do
      if n.delivered then
        assert.is_true(stored[n.event .. " " .. math.floor(n.bill_id)], ("%s of bill %d acknowledged, not stored"):format(n.event,
          n.bill_id))
      end
    end
  end)
end)
