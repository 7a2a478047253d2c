-- Found by an attack on issue 20 (catch-up): `justclick catch-up` on a disk that runs out under
-- a handler never ends. The handler of its first event fills the disk (and returns true): that
-- outcome cannot go into its row, so no other handler may begin; the receiver waits for room
-- (documented), but the command, run from cron, waits with it for good, holding the inbox (the
-- receiver cannot start on it, nor the next day's catch-up). Its promise: it exits once every
-- event of its pass is handled or parked, and 1 on a failure of the store, in one line. Expected
-- here: it ends, status 1, saying the inbox has no room; once there is room again, the next run
-- hands the rest over, and the first handler never runs again. Needs root (mount).
local core = require "justclick.core"
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"

-- Counts each run in COUNT (off the small disk); the first one fills the disk, then returns true.
local FILL = [[
return function(event)
  local f = io.open(os.getenv("COUNT"), "a") f:write(event.id, "\n") f:close()
  local first = io.open(os.getenv("COUNT") .. ".first")
  if first then first:close() return true end
  io.open(os.getenv("COUNT") .. ".first", "w"):close()
  local big = assert(io.open(os.getenv("FILLER"), "wb"))
  big:setvbuf("no")
  local chunk = ("x"):rep(65536)
  while big:write(chunk) do end
  while big:write("x") do end
  big:close()
  return true
end]]

describe("justclick catch-up on a disk that runs out under a handler #lua54", function()
  local sb, dir, disk

  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function()
    sb:reset()
    dir = importing.tmpdir()
    disk = dir .. "/disk"
    assert(os.execute("mkdir -p " .. disk))
    assert(shell.ok(("mount -t tmpfs -o size=256k tmpfs %s"):format(disk)), "cannot mount a tmpfs: run as root")
  end)
  after_each(function()
    os.execute(("pkill -KILL -f -- '--inbox %s/inbox' 2>/dev/null"):format(disk))
    core.sleep(0.2)
    os.execute(("mountpoint -q %s && (umount %s 2>/dev/null || umount -l %s)"):format(disk, disk, disk))
    -- a process killed a moment ago may still be closing its files
    os.execute(("rm -rf %s 2>/dev/null || (sleep 0.5; rm -rf %s)"):format(dir, dir))
  end)

  it("ends with status 1 and a line, and the next run hands the rest over, the first never again", function()
    local seeded = sb:control("seed", { count = 5, days = 1 })
    files.write(dir .. "/handler.lua", FILL)
    local cmd = ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s COUNT=%s/count FILLER=%s/filler"
      .. " timeout -s KILL 90 %s catch-up --inbox %s/inbox --days 2 %s/handler.lua"):format(sandbox.user, sandbox.secret,
      sb.api_url, dir, disk, importing.HOST, disk, dir)
    local started = core.now()
    local status, out = shell.run(cmd)
    assert.are_not.equal(137, status, ("catch-up never ended (killed after %.0f s): %s"):format(core.now() - started,
      out))
    assert.are.equal(1, status, out)
    assert.matches("room", out)
    os.remove(disk .. "/filler")
    status, out = shell.run(cmd)
    assert.are.equal(0, status, out)
    local runs = {}
    for id in (files.read(dir .. "/count") or ""):gmatch("%d+") do
      id = tonumber(id)
      runs[id] = (runs[id] or 0) + 1
    end
    for id = seeded.first_bill_id, seeded.last_bill_id do
      assert.are.equal(1, runs[id], ("bill %d: %s runs\n%s"):format(id, tostring(runs[id]), out))
    end
  end)
end)
