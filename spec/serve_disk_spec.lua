-- `justclick serve` on a disk that runs out under a handler: a small tmpfs, and a small ext4 (a
-- loop device), that the handler fills, and a file-size limit (RLIMIT_FSIZE) lowered on the
-- running receiver. A handler that
-- returned true is never run again, not even after kill -9; while the room for an outcome
-- cannot be reserved no handler begins, new events get 503 and /health says why, and handling
-- resumes by itself once there is room. Needs root (mount, prlimit).
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local core = require "justclick.core"
local cjson = require "cjson"
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"
local serving = require "support.serving"

local SECRET = "disk-secret-0123456789"

-- A signed paid notification for bill id; pad: bytes in a field the hash does not cover;
-- secret: the key it is signed with (default SECRET).
local function notification(id, pad, secret)
  local paid = "2026-11-23 10:00:00"
  return ("id=%d&email=buyer%%40example.com&paid=2026-11-23+10%%3A00%%3A00&last_payment_sum=1500&pad=%s&hash=%s")
    :format(id, ("x"):rep(pad or 0), md5(id .. "buyer@example.com" .. paid .. (secret or SECRET)))
end

local Server = {}
Server.__index = Server
local running = {}

-- Starts `justclick serve` with the handler (Lua source), its inbox at inbox; waits until it
-- listens. The handler sees COUNT (a file outside the disk under test), FILLER and INBOX.
-- Without sb (a sandbox to read the bills back from), --no-confirm: the disk is under test.
local function start(dir, inbox, handler, sb)
  local script = dir .. "/handler.lua"
  files.write(script, handler)
  local self = setmetatable({ dir = dir, log = dir .. "/serve.log", inbox = inbox }, Server)
  local account = sb and ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s"):format(sandbox.user,
    sandbox.secret, sb.api_url) or ("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s"):format(SECRET)
  local cmd = ("%s COUNT=%s/count FILLER=%s.filler INBOX=%s %s serve --listen 127.0.0.1:0 %s --inbox %s %s >> %s 2>&1")
    :format(account, dir, inbox, inbox, importing.HOST, sb and "" or "--no-confirm", inbox, script, self.log)
  self.pid, self.url = serving.launch(cmd, dir, self.log, running)
  self.session = core.session({ timeout = 10 })
  return self
end

function Server:post(body)
  return (self.session:post(self.url .. "/notify", body))
end

-- GET /health: its status and its JSON.
function Server:health()
  local _, out = shell.run(("curl -s -w '\n%%{http_code}' %s/health"):format(self.url))
  local json, status = out:match("^(.*)\n(%d+)$")
  return tonumber(status), json and cjson.decode(json)
end

-- Waits until /health's JSON satisfies ok(json); returns its status and JSON.
function Server:await(ok, what)
  local deadline, status, json = core.now() + 10
  repeat
    status, json = self:health()
    if json and ok(json) then return status, json end
    core.sleep(0.05)
  until core.now() > deadline
  error(("never %s: %s %s\n%s"):format(what, tostring(status), cjson.encode(json or {}), files.read(self.log) or ""))
end

function Server:kill()
  os.execute(("kill -KILL %d"):format(self.pid))
  local deadline = core.now() + 10
  while sandbox.alive(self.pid) and core.now() < deadline do core.sleep(0.02) end
  if self.session then self.session:close() end
end

-- How many times the handler ran on each bill id.
local function runs(dir)
  local n = {}
  for id in (files.read(dir .. "/count") or ""):gmatch("%d+") do n[tonumber(id)] = (n[tonumber(id)] or 0) + 1 end
  return n
end

-- Counts each run; on bill 100001 it waits for COUNT.go, then fills the disk that holds the
-- inbox until it is full (ENOSPC), and returns true.
local FILL = [[
local core = require "justclick.core"
local function exists(path) local f = io.open(path) if f then f:close() end return f ~= nil end
return function(event)
  local f = io.open(os.getenv("COUNT"), "a") f:write(event.id, "\n") f:close()
  if event.id == 100001 then
    io.open(os.getenv("COUNT") .. ".started", "w"):close()
    while not exists(os.getenv("COUNT") .. ".go") do core.sleep(0.02) end
    local big = assert(io.open(os.getenv("FILLER"), "wb"))
    big:setvbuf("no")
    local chunk = ("x"):rep(65536)
    while big:write(chunk) do end
    while big:write("x") do end
    big:close()
  end
  return true
end]]

-- Mounts a small filesystem of the kind at dir (an ext4 in a file beside it, on a loop device
-- that its unmount lets go of).
local MOUNT = {
  tmpfs = "mount -t tmpfs -o size=256k tmpfs %s",
  ext4 = "truncate -s 16M %s.img && mkfs.ext4 -q -F -b 4096 -m 0 %s.img && mount -o loop %s.img %s",
}

describe("justclick serve on a disk that runs out #lua54", function()
  local dir, disk
  before_each(function()
    dir = importing.tmpdir()
    disk = dir .. "/disk"
    assert(os.execute("mkdir -p " .. disk))
  end)
  after_each(function()
    for _, pid in ipairs(running) do os.execute(("kill -KILL %d 2>/dev/null"):format(pid)) end
    running = {}
    -- the killed process lets go of the mount a moment later: lazily unmounted, then removed
    os.execute(("mountpoint -q %s && (umount %s 2>/dev/null || umount -l %s)"):format(disk, disk, disk))
    os.execute("rm -rf " .. dir)
  end)

  for _, fs in ipairs({ "tmpfs", "ext4" }) do
    describe("(" .. fs .. ")", function()
      before_each(function()
        assert(shell.ok(MOUNT[fs]:gsub("%%s", disk)), "cannot mount a " .. fs .. ": run as root")
      end)

      -- Starts the receiver with FILL on the small disk and brings it to a full disk: 100001's handler
      -- began; 100002 is stored; then the handler fills the rest of the disk and returns true. Its
      -- outcome cannot go into its row then: a row's change is a new page (4 KiB and a header) in
      -- the database's write-ahead log, which no slack of the log's last block can take.
      -- sb: a sandbox whose bills 100001 and 100002 are paid, to confirm them against.
      local function fill_under_handler(sb)
        local s = start(dir, disk .. "/inbox", FILL, sb)
        local secret = sb and sandbox.secret
        assert.are.equal(200, s:post(notification(100001, 0, secret)))
        local deadline = core.now() + 10
        while not files.read(dir .. "/count.started") and core.now() < deadline do core.sleep(0.02) end
        assert.are.equal(200, s:post(notification(100002, 0, secret)))
        files.write(dir .. "/count.go", "")
        return s
      end

      it("never runs again a handler that returned true while it filled the disk, through kill -9", function()
        local s = fill_under_handler()
        s:await(function(h) return h.handled == 1 end, "handled 100001")
        assert.are.equal(503, s:post(notification(100003))) -- no room
        s:kill()
        os.remove(s.inbox .. ".filler")
        local again = start(dir, s.inbox, FILL)
        again:await(function(h) return h.pending == 0 end, "handled everything")
        core.sleep(0.3)
        local n = runs(dir)
        assert.are.same({ [100001] = 1, [100002] = 1 }, n, files.read(again.log))
        assert.is_falsy(files.read(again.log):find("ended during try", 1, true), files.read(again.log))
      end)

      it("refuses new events with 503 while no outcome can be reserved, says why, and resumes when there is room",
        function()
          local s = fill_under_handler()
          local status, health = s:await(function(h) return h.handled == 1 and h.blocked ~= nil end, "blocked")
          assert.are.equal(503, status)
          assert.is_truthy(health.blocked:find("No space left on device", 1, true), health.blocked)
          assert.are.equal(1, health.pending)
          assert.is_nil(runs(dir)[100002]) -- it waits: no try of it began
          assert.are.equal(503, s:post(notification(100003)))
          assert.is_truthy(files.read(s.log):find("no handler begins[^\n]*No space left on device"), files.read(s.log))
          os.remove(s.inbox .. ".filler")
          status, health = s:await(function(h) return h.pending == 0 end, "resumed")
          assert.are.equal(200, status)
          assert.is_nil(health.blocked)
          assert.are.equal(200, s:post(notification(100003)))
          s:await(function(h) return h.handled == 3 end, "handled 100003")
          assert.are.same({ [100001] = 1, [100002] = 1, [100003] = 1 }, runs(dir))
          assert.is_truthy(files.read(s.log):find("room again", 1, true), files.read(s.log))
        end)

      it("reads the waiting event's bill back once while blocked, not once a second, and handles it once", function()
        local sb = sandbox.start()
        local ok, failure = pcall(function()
          local client = sb:client()
          for i = 1, 2 do
            local id = assert(client:create_order({ bill_email = "buyer@example.com", bill_tag = tostring(i),
              goods = { { good_name = "sales" } } })).bill_id
            assert.are.equal(100000 + i, id)
            assert(client:update_order_status(id, "paid", { date = os.time() }))
          end
          local s = fill_under_handler(sb)
          s:await(function(h) return h.handled == 1 and h.blocked ~= nil end, "blocked")
          local before = sb:stats().requests
          core.sleep(3.5) -- about three rounds of the loop, each of which began no try
          local reads = sb:stats().requests - before
          assert.is_true(reads <= 1, ("%d reads of the bill while blocked"):format(reads))
          os.remove(s.inbox .. ".filler")
          s:await(function(h) return h.pending == 0 end, "resumed")
          assert.are.same({ [100001] = 1, [100002] = 1 }, runs(dir), files.read(s.log))
          assert.is_falsy(files.read(s.log):find("not confirmed", 1, true), files.read(s.log))
        end)
        sb:stop()
        assert(ok, failure)
      end)
    end)
  end

  -- The limit is set on the running receiver from inside the handler, after it counted its run:
  -- at the database's size (its write-ahead log, longer, takes nothing more), or at one byte (no
  -- write to any file past its first byte, even inside it).
  for _, case in ipairs({ { name = "at the inbox's size", limit = "size" }, { name = "at 1 byte", limit = "1" } }) do
    it("never runs again a handler that returned true under a file-size limit " .. case.name .. ", through kill -9",
      function()
        local handler = ([[
return function(event)
  local f = io.open(os.getenv("COUNT"), "a") f:write(event.id, "\n") f:close()
  local inbox = io.open(os.getenv("INBOX"))
  local limit = %q == "size" and inbox:seek("end") or 1
  inbox:close()
  local pid = io.open("/proc/self/stat"):read("*n")
  if event.attempt == 1 then assert(os.execute(("prlimit --pid %%d --fsize=%%d"):format(pid, limit))) end
  return true
end]]):format(case.limit)
        local s = start(dir, dir .. "/inbox", handler) -- on the ordinary disk: the limit is the fault
        assert.are.equal(200, s:post(notification(100001)))
        s:await(function(h) return h.handled == 1 end, "handled 100001")
        assert.are.equal(503, s:post(notification(100002)))
        s:kill()
        local again = start(dir, s.inbox, handler)
        again:await(function(h) return h.pending == 0 end, "handled everything")
        core.sleep(0.3)
        assert.are.same({ [100001] = 1 }, runs(dir), files.read(again.log))
      end)
  end
end)
