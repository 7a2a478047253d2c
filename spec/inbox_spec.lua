-- The receiver's inbox (justclick.receiver) against the faults an attacker found: a disk that refuses a
-- write, a locale with a decimal comma, damaged records that look torn, handlers that kill the
-- process, kill -9 right after marks, a mistyped path, and a wall clock that jumps.
local receiver -- justclick.receiver, which is built for Lua 5.4 only: required in the lua54 describe
local files = require "support.files"
local importing = require "support.importing"
local shell = require "support.shell"

local SECRET = "inbox-secret-0123456789"

-- Lua source of body(id[, pad]): a signed paid notification for bill id; pad adds that many bytes
-- in a field the hash does not cover. Put before the scripts the specs run in a host.
local BODY = ([[
local core = require "justclick.core"
package.cpath = %q .. ";" .. package.cpath -- the specs' own: justclick.bench is never built in
local md5 = require("justclick.bench").md5
local receiver = require "justclick.receiver"
local function body(id, pad)
  local paid = "2026-11-23 10:00:00"
  return ("id=%%d&email=buyer%%%%40example.com&paid=2026-11-23+10%%%%3A00%%%%3A00&last_payment_sum=1500"
    .. "&pad=%%s&hash=%%s"):format(id, ("x"):rep(pad or 0), md5(id .. "buyer@example.com" .. paid .. %q))
end
-- The inbox at arg[1] receiving notifications signed with arg[2], on a free port: the inbox, a
-- session to post with, and the URL to post to.
local function receiving(max_body)
  local inbox = assert(receiver.inbox(arg[1]))
  inbox:listen({ host = "127.0.0.1", port = 0, secret = arg[2], max_body = max_body })
  return inbox, core.session({ timeout = 10 }), "http://127.0.0.1:" .. inbox:port() .. "/notify"
end
]]):format(package.cpath, SECRET)
-- Every pending event, in order: next gives the first due one until it is marked, so each is
-- put off an hour (a failure recorded: only for the end of a spec).
local function drain(inbox)
  local events = {}
  while true do
    local ev = inbox:next(0)
    if not ev then return events end
    events[#events + 1] = ev
    assert(inbox:failed(ev.key, 3600, 1000))
  end
end

-- The host running a Lua script (source), with arguments; its exit status and output. prefix:
-- shell lines before the exec (a ulimit, say); env: assignments before the command.
-- host: the plain build's, where a shim is preloaded (ASan's runtime must come first).
local function host_script(code, args, prefix, env, host)
  local path = os.tmpname()
  files.write(path, BODY .. code)
  local cmd = ("%s %s exec %s %s %s"):format(prefix or "", env or "", host or importing.HOST, path, args or "")
  local status, out = shell.run(("sh -c %q"):format(cmd))
  os.remove(path)
  return status, out
end

-- An inbox at path holding the events of the ids, none handled, stored by a host (whose
-- receiver's log lines stay out of the specs' output); locale: the one it stores under.
local function fill(path, ids, locale)
  local status, out = host_script(([[
if %q ~= "" then assert(os.setlocale(%q), "no locale %s") end
local inbox, s, url = receiving()
for _, id in ipairs({ %s }) do
  assert(s:post(url, body(id)) == 200)
end
inbox:close()
]]):format(locale or "", locale or "", locale or "", table.concat(ids, ", ")), path .. " " .. SECRET)
  assert(status == 0, out)
end

describe("the inbox #lua54", function()
  local dir, path
  setup(function() receiver = require "justclick.receiver" end)
  before_each(function()
    dir = importing.tmpdir()
    path = dir .. "/inbox"
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  describe("on a disk that refuses a write (EFBIG under ulimit -f)", function()
    it("refuses that event only: marks are kept and later events are written", function()
      -- dash's ulimit -f counts 512-byte blocks, bash's 1024: 4000 blocks is 2 or 4 MiB, and
      -- the huge event (5 MB) is past either while the small ones (a few pages of the
      -- database's write-ahead log each) fit either.
      local status, out = host_script([[
local inbox, s, url = receiving(1 << 23)
local function post(id, pad) return (s:post(url, body(id, pad))) end
for id = 1, 3 do assert(post(id) == 200) end
print("handled1", inbox:handled(inbox:next(0).key))
print("huge", post(4, 5000000))
print("handled2", inbox:handled(inbox:next(0).key))
print("failed3", inbox:failed(inbox:next(0).key, 60, 5))
print("again", post(5), post(4, 5000000), post(6))
inbox:close()
]], path .. " " .. SECRET, "trap '' XFSZ; ulimit -f 4000;")
      assert.are.equal(0, status, out)
      assert.is_truthy(out:find("handled1\ttrue\n", 1, true), out)
      assert.is_truthy(out:find("huge\t503\n", 1, true), out)
      assert.is_truthy(out:find("handled2\ttrue\n", 1, true), out)
      assert.is_truthy(out:find("failed3\tretry\n", 1, true), out)
      assert.is_truthy(out:find("again\t200\t503\t200\n", 1, true), out)
      -- Reopened: 1 and 2 handled, 3 failed once, 5 and 6 pending; no trace of 4.
      local inbox = assert(receiver.inbox(path))
      assert.are.same({ stored = 5, handled = 2, parked = 0, pending = 3 }, inbox:counts())
      local events = drain(inbox)
      inbox:close()
      assert.are.equal(3, #events)
      assert.is_truthy(events[1].key:find("^paid%-3%-"), events[1].key)
      assert.are.equal(1, events[1].attempts)
      assert.is_truthy(events[2].key:find("^paid%-5%-"), events[2].key)
      assert.is_truthy(events[3].key:find("^paid%-6%-"), events[3].key)
      assert.is_falsy(files.read(path):find("xxxxxxxxxx", 1, true))
      assert.is_falsy((files.read(path .. "-wal") or ""):find("xxxxxxxxxx", 1, true))
    end)
  end)

  it("lets no try begin while its marks cannot be written, and begins again once they can", function()
    -- The database is filled to its limit by events, then by tries, until a try's mark cannot
    -- be written: begin says so. A kill then would lose nothing that a handler did. (The limit:
    -- room for SQLite's 32 KiB -shm and a few pages of its log.)
    local status, out = host_script([[
local inbox, s, url = receiving(1 << 20)
local id = 0
for _, pad in ipairs({ 30000, 8000, 1000, 100, 0 }) do
  repeat id = id + 1 until s:post(url, body(id, pad)) ~= 200
end
local key = inbox:next(0).key
local began, err
for _ = 1, 500 do
  began, err = inbox:begin(key)
  if not began then break end
end
print("begin", began, err and err.kind, err and err.message)
inbox:failed(key, 60, 5) -- its try ends; another event is next
local other = inbox:next(0).key
print("other", other ~= key, inbox:begin(other))
print("crashed", inbox:next(0).crashed) -- no try of it began: none to count as a crash
inbox:close()
]], path .. " " .. SECRET, "trap '' XFSZ; ulimit -f 400;")
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("crashed\tnil\n", 1, true), out)
    assert.is_truthy(out:find("begin\tnil\t[^\n]*File too large", 1), out)
    local inbox = assert(receiver.inbox(path))
    local ev = inbox:next(0)
    assert.is_true(inbox:begin(ev.key)) -- room enough without the limit
    inbox:close()
  end)

  it("reads back, under a locale with a decimal comma, what it wrote under another, and back", function()
    local before = os.setlocale(nil)
    local comma = os.setlocale("ru_RU.UTF-8")
    os.setlocale(before)
    assert(comma, "the locale ru_RU.UTF-8 is missing: run scripts/deps.sh (it makes it with localedef)")
    local t0 = os.time()
    local ok, failure = pcall(function()
      for _, case in ipairs({ { writes = "C", reads = comma }, { writes = comma, reads = "C" } }) do
        os.remove(path)
        fill(path, { 1 }, case.writes)
        assert(os.setlocale(case.reads))
        if not rawget(_G, "jit") then -- LuaJIT formats numbers without the locale
          assert.are.equal(case.reads == "C" and "1.5" or "1,5", ("%.1f"):format(1.5))
        end
        local inbox, err = receiver.inbox(path)
        assert.is_not_nil(inbox, err and err.message)
        local ev = inbox:next(0)
        inbox:close()
        os.setlocale(before)
        assert.is_truthy(ev)
        assert.is_true(math.abs(ev.at - t0) < 5, tostring(ev.at))
      end
    end)
    os.setlocale(before)
    assert(ok, failure)
  end)

  describe("an inbox of the first format (0.3's file)", function()
    -- FNV-1a 32, the first format's checksum, and its records, as 0.3 wrote them.
    local v1 = require "support.inbox_v1"
    local event, key = v1.event, v1.key
    local function slot(n) return (" "):rep(2 * #key(n) + 15) .. "\n" end
    local V1 = table.concat({
      event(key(1), "one"), ("T %s 1\n"):format(key(1)), ("H %s\n"):format(key(1)), (" "):rep(20) .. "\n", -- handled
      event(key(2), "two"), ("T %s 1\nF %s 1\nP %s\n"):format(key(2), key(2), key(2)), -- parked, a try without a slot
      event(key(3), "three"), ("T %s 1\n"):format(key(3)), slot(3), -- a try the process died in
      event(key(4), "four\0bytes"), ("T %s 2\nH %s\n"):format(key(4), key(4)), (" "):rep(30) .. "\n", -- its outcome in its slot
      event(key(5), "five"), ("F %s 1\n"):format(key(5)), -- failed once, no try begun
      event(key(6), "six"), ("P %s\nR %s\n"):format(key(6), key(6)), -- parked, then replayed
    })

    it("is converted on first open, the old file kept at PATH.v1: handled stay handled, parked parked, a crashed try counts", function()
      files.write(path, V1 .. "E " .. key(7) .. " 17647") -- and a torn last record, as a crash left it
      local inbox, err = receiver.inbox(path)
      assert.is_not_nil(inbox, err and err.message)
      assert.are.same({ stored = 6, handled = 2, parked = 1, pending = 3 }, inbox:counts())
      local ev = inbox:next(0)
      assert.are.same({ key(3), true, 0, "three" }, { ev.key, ev.crashed, ev.attempts, ev.body })
      assert.are.equal("retry", inbox:failed(ev.key, 3600, 5))
      ev = inbox:next(0)
      assert.are.same({ key(5), nil, 1, "five" }, { ev.key, ev.crashed, ev.attempts, ev.body })
      assert.are.equal("retry", inbox:failed(ev.key, 3600, 5))
      ev = inbox:next(0)
      assert.are.same({ key(6), 0 }, { ev.key, ev.attempts })
      assert.are.same({ { key = key(2), attempts = 1 } }, inbox:parked())
      inbox:close()
      assert.are.equal(V1 .. "E " .. key(7) .. " 17647", files.read(path .. ".v1"))
      assert.are.equal("SQLite format 3\0", files.read(path):sub(1, 16))
      assert.is_nil(files.read(path .. ".converting"))
      local r = assert(receiver.inbox(path, "r"))
      local states = {}
      for _, row in ipairs(r:events()) do states[#states + 1] = row.key:match("^paid%-(%d)") .. "=" .. row.state end
      assert.are.same({ "1=handled", "2=parked", "3=stored", "4=handled", "5=stored", "6=stored" }, states)
      r:close()
      -- Opened again: the database as it is, not converted twice.
      inbox = assert(receiver.inbox(path))
      assert.are.same({ stored = 6, handled = 2, parked = 1, pending = 3 }, inbox:counts())
      inbox:close()
    end)

    it("is refused when damaged, and left as it was", function()
      local damaged = V1:gsub("three", "thr3e")
      files.write(path, damaged)
      local inbox, err = receiver.inbox(path)
      if inbox then inbox:close() end
      assert.is_nil(inbox)
      assert.is_truthy(err.message:find("is damaged; mend or remove it by hand", 1, true), err.message)
      assert.are.equal(damaged, files.read(path))
      assert.is_nil(files.read(path .. ".converting"))
    end)

    it("is not converted by a reader", function()
      files.write(path, V1)
      local r, err = receiver.inbox(path, "r")
      assert.is_nil(r)
      assert.is_truthy(err.message:find("first format", 1, true), err.message)
      assert.are.equal(V1, files.read(path))
    end)
  end)

  describe("begin", function()
    it("marks a try begun: reopened without an outcome, the event comes back crashed", function()
      fill(path, { 1, 2 })
      local inbox = assert(receiver.inbox(path))
      local b = inbox:next(0)
      assert.is_nil(b.crashed)
      assert.is_true(inbox:begin(b.key))
      assert.is_true(inbox:handled(b.key))
      local a = inbox:next(0)
      assert.is_true(inbox:begin(a.key))
      inbox:close() -- as if the handler of a had killed the process
      inbox = assert(receiver.inbox(path))
      assert.are.same({ stored = 2, handled = 1, parked = 0, pending = 1 }, inbox:counts())
      local crashed = inbox:next(0)
      assert.are.equal(a.key, crashed.key)
      assert.is_true(crashed.crashed)
      assert.are.equal(0, crashed.attempts)
      -- The loop records the crash as a failure; the next try is no crash.
      assert.are.equal("retry", inbox:failed(a.key, 0, 2))
      local again = inbox:next(0)
      assert.are.equal(1, again.attempts)
      assert.is_nil(again.crashed)
      assert.is_true(inbox:begin(a.key))
      inbox:close()
      inbox = assert(receiver.inbox(path))
      again = inbox:next(0)
      assert.is_true(again.crashed)
      assert.are.equal("parked", inbox:failed(a.key, 0, 2))
      assert.are.same({ { key = a.key, attempts = 2 } }, inbox:parked())
      inbox:close()
    end)
  end)

  describe("the page of the try in progress (PATH-try)", function()
    it("keeps a handler's outcome that its row could not take (a file-size limit of 1 byte), through kill -9", function()
      fill(path, { 1, 2 })
      local status, out = host_script([[
local inbox = assert(receiver.inbox(arg[1]))
local pid = io.open("/proc/self/stat"):read("*n")
local ev = inbox:next(0)
assert(inbox:begin(ev.key))
assert(os.execute(("prlimit --pid %d --fsize=1:unlimited"):format(pid))) -- the handler's try runs; then no write passes byte 1
-- (no output now: it would not pass byte 1 of the file it goes to; the exit status tells)
if inbox:handled(ev.key) ~= true then os.exit(3) end -- held: in the page, and in memory
if inbox:counts().handled ~= 1 then os.exit(4) end
local other = inbox:next(0)
if other.key == ev.key then os.exit(5) end
if inbox:begin(other.key) then os.exit(6) end -- no try begins while it is held
os.execute("kill -KILL " .. pid)
]], path .. " " .. SECRET, "trap '' XFSZ;")
      assert.are.equal(137, status, out)
      local inbox = assert(receiver.inbox(path))
      assert.are.same({ stored = 2, handled = 1, parked = 0, pending = 1 }, inbox:counts())
      local ev = inbox:next(0)
      assert.is_truthy(ev.key:find("^paid%-2%-"), ev.key)
      assert.is_nil(ev.crashed)
      inbox:close()
    end)

    it("holds the page's outcome when it opens on a disk that still refuses its row, and writes it once it can", function()
      -- Twelve begins (a commit each): the log (PATH-wal) passes 32 KiB, the size of SQLite's
      -- -shm, which it makes again at open; a limit at the log's size lets it open, and refuses
      -- the row's change.
      fill(path, { 1, 2 })
      local status, out = host_script([[
local inbox = assert(receiver.inbox(arg[1]))
local pid = io.open("/proc/self/stat"):read("*n")
local ev = inbox:next(0)
for _ = 1, 12 do assert(inbox:begin(ev.key)) end
assert(os.execute(("prlimit --pid %d --fsize=1:unlimited"):format(pid)))
if inbox:handled(ev.key) ~= true then os.exit(3) end
os.execute("kill -KILL " .. pid)
]], path .. " " .. SECRET, "trap '' XFSZ;")
      assert.are.equal(137, status, out)
      local wal = #files.read(path .. "-wal")
      assert.is_true(wal >= 32768, tostring(wal))
      status, out = host_script(([[
local pid = io.open("/proc/self/stat"):read("*n")
assert(os.execute(("prlimit --pid %%d --fsize=%d:unlimited"):format(pid)))
local inbox, err = receiver.inbox(arg[1]) -- its row cannot take the outcome: held
local counts = inbox and inbox:counts() or {}
local ev = inbox and inbox:next(0) or { key = "" }
local began = inbox and inbox:begin(ev.key)
assert(os.execute(("prlimit --pid %%d --fsize=unlimited:unlimited"):format(pid)))
print("opened", inbox ~= nil, err and err.message)
print("counts", counts.handled, counts.pending)
print("next", ev.key:match("^paid%%-(%%d+)"), began)
for _ = 1, 100 do began = inbox:begin(ev.key) if began then break end core.sleep(0.05) end
print("began", began)
inbox:close()
]]):format(wal), path .. " " .. SECRET, "trap '' XFSZ;")
      assert.are.equal(0, status, out)
      assert.is_truthy(out:find("opened\ttrue\tnil\n", 1, true), out)
      assert.is_truthy(out:find("counts\t1\t1\n", 1, true), out)
      assert.is_truthy(out:find("next\t2\tnil\n", 1, true), out) -- 1 is handled; no try of 2 begins yet
      assert.is_truthy(out:find("began\ttrue\n", 1, true), out)
      local r = assert(receiver.inbox(path, "r"))
      assert.are.same({ stored = 2, handled = 1, parked = 0, pending = 1 }, r:counts())
      r:close()
    end)

    it("writes a held outcome into its row once there is room, and then lets tries begin", function()
      fill(path, { 1, 2 })
      local status, out = host_script([[
local inbox = assert(receiver.inbox(arg[1]))
local pid = io.open("/proc/self/stat"):read("*n")
local ev = inbox:next(0)
assert(inbox:begin(ev.key))
assert(os.execute(("prlimit --pid %d --fsize=1:unlimited"):format(pid)))
local failed = inbox:failed(ev.key, 3600, 1) -- parked, held
assert(os.execute(("prlimit --pid %d --fsize=unlimited:unlimited"):format(pid)))
print("failed", failed)
local other = inbox:next(0)
local began
for _ = 1, 100 do began = inbox:begin(other.key) if began then break end core.sleep(0.05) end
print("began", began)
inbox:close()
]], path .. " " .. SECRET, "trap '' XFSZ;")
      assert.are.equal(0, status, out)
      assert.is_truthy(out:find("failed\tparked\n", 1, true), out)
      assert.is_truthy(out:find("began\ttrue\n", 1, true), out)
      local r = assert(receiver.inbox(path, "r"))
      assert.are.same({ stored = 2, handled = 0, parked = 1, pending = 1 }, r:counts())
      r:close()
    end)

    it("is the lock: a second receiver cannot open the inbox, a reader can", function()
      fill(path, { 1 })
      local w = assert(receiver.inbox(path))
      local again, err = receiver.inbox(path)
      assert.is_nil(again)
      assert.is_truthy(err.message:find("in use by another justclick serve", 1, true), err.message)
      local r = assert(receiver.inbox(path, "r"))
      assert.are.equal(1, #r:events())
      r:close()
      w:close()
    end)
  end)

  it("keeps every mark made before the process dies at once", function()
    local status, out = host_script([[
local inbox, s, url = receiving()
for id = 1, 50 do assert(s:post(url, body(id)) == 200) end
for _ = 1, 50 do
  local ev = inbox:next(0)
  assert(inbox:begin(ev.key))
  assert(inbox:handled(ev.key))
end
local pid = io.open("/proc/self/stat"):read("*n")
os.execute("kill -KILL " .. pid) -- no close: the writer thread dies with the process
]], path .. " " .. SECRET)
    assert.are.equal(137, status, out)
    local inbox = assert(receiver.inbox(path))
    assert.are.same({ stored = 50, handled = 50, parked = 0, pending = 0 }, inbox:counts())
    inbox:close()
  end)

  describe("opened read-only", function()
    it("does not make a missing inbox", function()
      local inbox, err = receiver.inbox(path, "r")
      assert.is_nil(inbox)
      assert.are.same({ kind = "io", message = "no inbox at " .. path, path = path }, err)
      assert.is_nil(files.read(path))
    end)

    it("lists while another holds the inbox, and allows nothing else", function()
      fill(path, { 1, 2 })
      local w = assert(receiver.inbox(path))
      local ev = w:next(0)
      assert.are.equal("parked", w:failed(ev.key, 0, 1))
      local r, err = receiver.inbox(path, "r")
      assert.is_not_nil(r, err and err.message)
      assert.are.same({ { key = ev.key, attempts = 1 } }, r:parked())
      assert.are.same({ stored = 2, handled = 0, parked = 1, pending = 1 }, r:counts())
      for _, call in ipairs({
        function() return r:next(0) end, function() return r:handled(ev.key) end,
        function() return r:failed(ev.key, 1, 1) end, function() return r:replay(ev.key) end,
        function() return r:begin(ev.key) end, function() return r:listen({ secret = "x" }) end,
      }) do
        local ok, failure = pcall(call)
        assert.is_false(ok)
        assert.is_truthy(tostring(failure):find("read%-only"), tostring(failure))
      end
      r:close()
      w:close()
    end)

    it("is read by sqlite3 while a receiver writes", function()
      fill(path, { 1, 2 })
      local w = assert(receiver.inbox(path))
      local ev = w:next(0)
      assert.is_true(w:begin(ev.key))
      assert.is_true(w:handled(ev.key))
      local status, out = shell.run(("sqlite3 %s \"select key, kind, bill_id, state, tries from events order by seq\""):format(path))
      w:close()
      assert.are.equal(0, status, out)
      assert.are.equal(("%s|paid|1|handled|1\n"):format(ev.key), out:match("^[^\n]*\n"))
      assert.is_truthy(out:find("|paid|2|stored|0\n", 1, true), out)
    end)
  end)

  it("schedules a retry by the monotonic clock, not the wall clock", function()
    local shim = dir .. "/clockshift.so"
    assert(os.execute(("cc -shared -fPIC -o %s spec/support/clockshift.c -ldl"):format(shim)))
    local shift = dir .. "/shift"
    files.write(shift, "0")
    local status, out = host_script([[
local inbox, s, url = receiving()
assert(s:post(url, body(1)) == 200)
local ev = inbox:next(0)
print("failed", inbox:failed(ev.key, 30, 5))
local f = io.open(arg[3], "w") f:write("3600") f:close() -- the wall clock jumps an hour ahead
print("due", inbox:next(0) ~= nil)
inbox:close()
]], ("%s %s %s"):format(path, SECRET, shift), nil, ("LD_PRELOAD=%s CLOCKSHIFT_FILE=%s"):format(shim, shift),
      os.getenv("PWD") .. "/build/bin/justclick")
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("failed\tretry\n", 1, true), out)
    assert.is_truthy(out:find("due\tfalse\n", 1, true), out)
  end)
end)
