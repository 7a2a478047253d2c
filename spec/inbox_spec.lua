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

-- The byte span of the n-th event record's header fields: start and end of its length field.
local function header_of(data, n)
  local at = 1
  for _ = 1, n - 1 do
    local len = tonumber(data:match("^E %S+ %S+ (%d+)", at))
    at = data:find("\n", at, true) + len + 2
  end
  local s, e = data:find("^E %S+ %S+ %d+", at)
  local ls = data:sub(s, e):find("%d+$")
  return at, s + ls - 1, e
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
      -- dash's ulimit -f counts 512-byte blocks, bash's 1024: 200 blocks is 100 or 200 KiB, and
      -- the huge event (300 KB) is past either while the small ones fit either.
      local status, out = host_script([[
local inbox, s, url = receiving(1 << 20)
local function post(id, pad) return (s:post(url, body(id, pad))) end
for id = 1, 3 do assert(post(id) == 200) end
print("handled1", inbox:handled(inbox:next(0).key))
print("huge", post(4, 300000))
print("handled2", inbox:handled(inbox:next(0).key))
print("failed3", inbox:failed(inbox:next(0).key, 60, 5))
print("again", post(5), post(4, 300000), post(6))
inbox:close()
]], path .. " " .. SECRET, "trap '' XFSZ; ulimit -f 200;")
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
    end)
  end)

  it("lets no try begin while its marks cannot be written, and begins again once they can", function()
    -- The file is filled to its limit by events, then by tries, until a try's mark cannot be
    -- written: begin says so. A kill then would lose nothing that a handler did.
    local status, out = host_script([[
local inbox, s, url = receiving(1 << 20)
local id = 0
for _, pad in ipairs({ 8000, 1000, 100, 0 }) do
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
]], path .. " " .. SECRET, "trap '' XFSZ; ulimit -f 40;")
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

  describe("when opening", function()
    it("refuses an event whose length was damaged to point past the end, and leaves the file", function()
      fill(path, { 1, 2, 3 })
      local data = files.read(path)
      local _, ls, le = header_of(data, 1)
      local damaged = data:sub(1, ls - 1) .. "9" .. data:sub(ls, le) .. data:sub(le + 1)
      files.write(path, damaged)
      local inbox, err = receiver.inbox(path)
      if inbox then inbox:close() end
      assert.is_nil(inbox)
      assert.is_truthy(err.message:find("record at byte 0 is damaged; mend or remove it by hand", 1, true), err.message)
      assert.are.equal(damaged, files.read(path))
    end)

    it("refuses an event whose length reads -1", function()
      fill(path, { 1, 2, 3 })
      local data = files.read(path)
      local start, ls, le = header_of(data, 2)
      files.write(path, data:sub(1, ls - 1) .. "-1" .. data:sub(le + 1))
      local inbox, err = receiver.inbox(path)
      if inbox then inbox:close() end
      assert.is_nil(inbox)
      assert.is_truthy(err.message:find(("record at byte %d is damaged"):format(start - 1), 1, true), err.message)
    end)

    it("refuses an event whose body was damaged", function()
      fill(path, { 1, 2 })
      local data = files.read(path)
      local at = data:find("email=buyer", 1, true)
      files.write(path, data:sub(1, at - 1) .. "E" .. data:sub(at + 1))
      local inbox, err = receiver.inbox(path)
      if inbox then inbox:close() end
      assert.is_nil(inbox)
      assert.is_truthy(err.message:find("record at byte 0 is damaged", 1, true), err.message)
    end)

    it("cuts a torn last record, mid-body or mid-header, and keeps the ones before", function()
      fill(path, { 1, 2, 3 })
      local data = files.read(path)
      local third = header_of(data, 3)
      for _, cut in ipairs({ third + 3, third + 40, #data - 5, #data - 1 }) do
        files.write(path, data:sub(1, cut))
        local inbox, err = receiver.inbox(path)
        assert.is_not_nil(inbox, err and err.message)
        assert.are.same({ stored = 2, handled = 0, parked = 0, pending = 2 }, inbox:counts())
        inbox:close()
        assert.are.equal(data:sub(1, third - 1), files.read(path))
      end
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

  describe("the slot a try's begin leaves for its outcome", function()
    it("takes the outcome in place: handled, failed and parked do not grow the file", function()
      fill(path, { 1, 2, 3 })
      local inbox = assert(receiver.inbox(path))
      local sizes = {}
      for _, outcome in ipairs({ "handled", "retry", "parked" }) do
        local ev = inbox:next(0)
        assert.is_true(inbox:begin(ev.key))
        local size = #files.read(path)
        if outcome == "handled" then
          assert.is_true(inbox:handled(ev.key))
        else
          assert.are.equal(outcome, inbox:failed(ev.key, 3600, outcome == "parked" and 1 or 2))
        end
        sizes[#sizes + 1] = #files.read(path) - size
      end
      inbox:close()
      assert.are.same({ 0, 0, 0 }, sizes)
      inbox = assert(receiver.inbox(path))
      assert.are.same({ stored = 3, handled = 1, parked = 1, pending = 1 }, inbox:counts())
      local ev = inbox:next(0)
      assert.are.equal(1, ev.attempts)
      assert.is_nil(ev.crashed)
      inbox:close()
    end)

    it("never crosses a 4 KiB boundary, so that a kill cannot tear an outcome written there", function()
      local ids = {}
      for id = 1, 60 do ids[id] = id end
      fill(path, ids)
      local inbox = assert(receiver.inbox(path))
      for _ = 1, 60 do
        local ev = inbox:next(0)
        assert.is_true(inbox:begin(ev.key))
        assert.is_true(inbox:handled(ev.key))
      end
      inbox:close()
      local data, slots = files.read(path), 0
      for key, slot in data:gmatch("T (%S+) 1\n()") do
        local outcome, padding = data:match("^(H %S+\n)( *\n)", slot)
        assert.are.equal("H " .. key .. "\n", outcome)
        local last = slot + #outcome + #padding - 1 -- string positions are 1 + the byte's offset
        assert.are.equal(math.floor((slot - 1) / 4096), math.floor((last - 1) / 4096), ("the slot at byte %d"):format(slot - 1))
        slots = slots + 1
      end
      assert.are.equal(60, slots) -- of 60 slots of 56 bytes in 24 KiB, some would cross without the padding
    end)

    it("takes a crash's failure, read at the next open, in the slot of the try that died", function()
      fill(path, { 1 })
      local inbox = assert(receiver.inbox(path))
      assert.is_true(inbox:begin(inbox:next(0).key))
      inbox:close() -- as if its handler had killed the process
      local size = #files.read(path)
      inbox = assert(receiver.inbox(path))
      local ev = inbox:next(0)
      assert.is_true(ev.crashed)
      assert.are.equal("retry", inbox:failed(ev.key, 0, 5))
      inbox:close()
      assert.are.equal(size, #files.read(path))
      inbox = assert(receiver.inbox(path))
      ev = inbox:next(0)
      assert.are.same({ 1, nil }, { ev.attempts, ev.crashed })
      inbox:close()
    end)

    it("reads an inbox written before slots: a try without one has its outcome appended", function()
      fill(path, { 1, 2 })
      local key = files.read(path):match("^E (%S+)")
      files.write(path, files.read(path) .. ("T %s 1\n"):format(key)) -- a try, no slot after it
      local inbox = assert(receiver.inbox(path))
      local ev = inbox:next(0)
      assert.are.same({ key, true }, { ev.key, ev.crashed })
      assert.are.equal("retry", inbox:failed(ev.key, 0, 5))
      inbox:close()
      assert.is_truthy(files.read(path):find(("T %s 1\nF %s 1\n"):format(key, key), 1, true))
      inbox = assert(receiver.inbox(path))
      ev = inbox:next(0)
      assert.are.same({ key, 1 }, { ev.key, ev.attempts })
      assert.is_true(inbox:begin(ev.key))
      assert.is_true(inbox:handled(ev.key))
      inbox:close()
      inbox = assert(receiver.inbox(path))
      assert.are.same({ stored = 2, handled = 1, parked = 0, pending = 1 }, inbox:counts())
      inbox:close()
    end)

    it("refuses as damage a line of padding that holds anything but spaces", function()
      fill(path, { 1 })
      local inbox = assert(receiver.inbox(path))
      assert.is_true(inbox:begin(inbox:next(0).key))
      inbox:close()
      local data = files.read(path)
      files.write(path, data:sub(1, -3) .. "x\n")
      local again, err = receiver.inbox(path)
      if again then again:close() end
      assert.is_nil(again)
      assert.is_truthy(err.message:find("is damaged", 1, true), err.message)
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

    it("ignores a torn tail and leaves it", function()
      fill(path, { 1, 2 })
      local data = files.read(path)
      files.write(path, data:sub(1, #data - 4))
      local r = assert(receiver.inbox(path, "r"))
      assert.are.same({ stored = 1, handled = 0, parked = 0, pending = 1 }, r:counts())
      r:close()
      assert.are.equal(#data - 4, #files.read(path))
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
