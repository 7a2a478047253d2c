-- kill -9 at any moment of a catch-up pass loses nothing and hands nothing over twice: passes
-- over 40 paid bills whose notifications never came are killed at random moments, over and over,
-- until one ends by itself. Every bill is then handled, and a bill is handed over twice only when
-- a kill struck inside its handler (its "begin" has no "end"), the one exception the receiver
-- documents.
local core = require "justclick.core"
local expect = require "support.expect"
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"

local BILLS = 40

-- Writes "begin BILL" and "end BILL" around 20 ms of work, so that kills land inside handlers as
-- well as between them, and a whole pass (40 bills: 0.8 s at least, however idle the machine)
-- outlasts the first kill (0.65 s at most).
local HANDLER = [[
return function(event)
  local f = assert(io.open(os.getenv("HANDLED"), "a"))
  f:write("begin ", event.id, "\n") f:flush()
  local t = os.clock() while os.clock() - t < 0.02 do end
  f:write("end ", event.id, "\n") f:close()
  return true
end]]

describe("catch-up under kill -9 #lua54", function()
  local sb, dir

  lazy_setup(function()
    sb = sandbox.start()
    dir = importing.tmpdir()
  end)
  lazy_teardown(function()
    if sb then sb:stop() end
    -- a process killed a moment ago may still be closing its files
    if dir then os.execute(("rm -rf %s 2>/dev/null || (sleep 0.5; rm -rf %s)"):format(dir, dir)) end
  end)

  it("loses nothing and hands a payment over twice only after a kill inside its handler", function()
    local seeded = sb:control("seed", { count = BILLS, days = 2 })
    assert.are.equal(BILLS, seeded.count)
    files.write(dir .. "/handler.lua", HANDLER)
    local cmd = ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s HANDLED=%s/handled %s catch-up"
      .. " --inbox %s/inbox --days 3 %s/handler.lua"):format(sandbox.user, sandbox.secret, sb.api_url, dir,
      importing.HOST, dir, dir)
    local kills, finished = 0, false
    math.randomseed(os.time())
    for _ = 1, 60 do
      os.remove(dir .. "/status")
      local pid = tonumber(shell.output(("(%s > %s/out 2>&1; echo $? > %s/status) > /dev/null 2>&1 & echo $!"):format(
        cmd, dir, dir)))
      core.sleep(0.05 + math.random() * 0.6)
      if files.read(dir .. "/status") then
        finished = true
        break
      end
      -- the subshell's child is the host: kill it, not the shell
      os.execute(("pkill -KILL -P %d 2>/dev/null"):format(pid))
      kills = kills + 1
      local deadline = core.now() + 10
      while not files.read(dir .. "/status") and core.now() < deadline do core.sleep(0.02) end
    end
    if not finished then -- one run to the end
      local status, out = shell.run(cmd)
      assert.are.equal(0, status, out)
    else
      assert.are.equal("0", (files.read(dir .. "/status") or ""):match("%d+"), files.read(dir .. "/out"))
    end
    assert.is_true(kills > 0, "no pass was killed: the spec proved nothing")
    local ended, twice = expect.handled_once(files.read(dir .. "/handled"))
    local count = 0
    for id = seeded.first_bill_id, seeded.last_bill_id do
      assert.are.equal(1, ended[id], ("bill %d was never handled (%d kills)"):format(id, kills))
      count = count + 1
    end
    assert.are.equal(BILLS, count)
    local status, out = shell.run(("sqlite3 %s/inbox \"select count(*), count(distinct bill_id) from events"
      .. " where state = 'handled'\""):format(dir))
    assert.are.equal(0, status, out)
    assert.are.equal(("%d|%d\n"):format(BILLS, BILLS), out)
    assert.is_true(twice <= kills)
  end)
end)
