-- `justclick serve` after a reader (sqlite3 with a read transaction left open) starved the
-- checkpoints until the write-ahead log filled the disk: once the reader ends, the receiver
-- checkpoints and handling resumes by itself, when the database has room for what the log
-- holds (free pages, as a --trim leaves). Before, SQLite checkpoints only after a commit, and
-- every commit needed room at the log's end that the full disk did not have: the receiver stayed
-- blocked (503 to every notification, no handler) until a person stepped in, though a log it
-- could start over took the disk. Needs root (mount).
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local core = require "justclick.core"
local cjson = require "cjson"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"
local serving = require "support.serving"

local SECRET = "starved-secret-0123456789"
local EVENTS = 400

local function notification(id)
  local paid = "2026-11-23 10:00:00"
  return ("id=%d&email=buyer%%40example.com&paid=2026-11-23+10%%3A00%%3A00&last_payment_sum=1500&hash=%s")
    :format(id, md5(id .. "buyer@example.com" .. paid .. SECRET))
end

-- Counts each run; waits for GO before its first return.
local HANDLER = [[
local core = require "justclick.core"
local function exists(path) local f = io.open(path) if f then f:close() end return f ~= nil end
return function(event)
  local f = io.open(os.getenv("COUNT"), "a") f:write(event.id, "\n") f:close()
  while not exists(os.getenv("GO")) do core.sleep(0.02) end
  return true
end]]

describe("justclick serve after a reader starved its checkpoints until the disk filled #lua54", function()
  local dir, disk, running, reader = nil, nil, {}, nil
  before_each(function()
    dir = importing.tmpdir()
    disk = dir .. "/disk"
    assert(os.execute("mkdir -p " .. disk))
    assert(shell.ok(("mount -t tmpfs -o size=16m tmpfs %s"):format(disk)), "cannot mount a tmpfs: run as root")
    files.write(dir .. "/handler.lua", HANDLER)
  end)
  after_each(function()
    if reader then reader:close() reader = nil end
    for _, pid in ipairs(running) do os.execute(("kill -KILL %d 2>/dev/null"):format(pid)) end
    running = {}
    os.execute(("mountpoint -q %s && (umount %s 2>/dev/null || umount -l %s)"):format(disk, disk, disk))
    os.execute("rm -rf " .. dir)
  end)

  local function serve()
    local log = dir .. "/serve.log"
    local cmd = ("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s COUNT=%s/count GO=%s/go %s serve --no-confirm"
      .. " --listen 127.0.0.1:0 --inbox %s/inbox %s/handler.lua >> %s 2>&1"):format(SECRET, dir, dir,
      importing.HOST, disk, dir, log)
    local pid, url = serving.launch(cmd, dir, log, running)
    return pid, url, log
  end

  local function health(url)
    local _, out = shell.run(("curl -s %s/health"):format(url))
    local ok, json = pcall(cjson.decode, out)
    return ok and json or {}
  end

  local function await(url, ok, what, log)
    local deadline, json = core.now() + 30
    repeat
      json = health(url)
      if ok(json) then return json end
      core.sleep(0.1)
    until core.now() > deadline
    error(("never %s: %s\n%s"):format(what, cjson.encode(json), files.read(log) or ""))
  end

  it("resumes handling once the reader ends", function()
    -- The events stored (their handler held at the first), then checkpointed into the database:
    -- what follows changes pages it has, and needs no more room once checkpointed.
    local pid, url = serve()
    local session = core.session({ timeout = 10 })
    for id = 1, EVENTS do assert.are.equal(200, (session:post(url .. "/notify", notification(100000 + id)))) end
    session:close()
    os.execute(("kill -KILL %d"):format(pid))
    local deadline = core.now() + 10
    while os.execute(("kill -0 %d 2>/dev/null"):format(pid)) and core.now() < deadline do core.sleep(0.02) end
    -- free pages in the database, as a --trim leaves them: what the marks to come fill, so that
    -- a checkpoint needs no more room on the disk
    assert(shell.ok(("sqlite3 %s/inbox %q"):format(disk, "INSERT INTO trimmed SELECT 'pad-' || n, printf('%.3000c', 'x')"
      .. " FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 400) SELECT n FROM c);"
      .. " DELETE FROM trimmed WHERE key LIKE 'pad-%'; PRAGMA wal_checkpoint(TRUNCATE);")))
    -- the rest of the disk filled but 512 KiB; a reader's transaction held open
    os.execute(("dd if=/dev/zero of=%s/filler bs=64k 2>/dev/null; truncate -s -512k %s/filler"):format(disk, disk))
    reader = assert(io.popen(("sqlite3 %s/inbox > %s/reader.out 2>&1"):format(disk, dir), "w"))
    reader:write("BEGIN; SELECT count(*) FROM events;\n")
    reader:flush()
    deadline = core.now() + 10
    while not (files.read(dir .. "/reader.out") or ""):find("%d") and core.now() < deadline do core.sleep(0.02) end
    files.write(dir .. "/go", "")
    local log
    pid, url, log = serve()
    assert(pid)
    -- handling fills the log: the disk is full, and the receiver blocked
    await(url, function(h) return h.blocked ~= nil end, "blocked", log)
    reader:write("COMMIT;\n.quit\n")
    reader:close()
    reader = nil
    local h = await(url, function(j) return j.blocked == nil and j.pending == 0 end, "resumed", log)
    assert.are.equal(EVENTS, h.handled)
    assert.are.equal(EVENTS, h.stored)
  end)
end)
