-- The one shape of a failure from C (issue 18): nil, then a table with a string kind and a
-- string message, and the rest of what the failure knows (path, errno, code...). Each C function
-- that can fail is made to fail here; and the bindings' sources are read to check that only
-- support.c builds such a table. Both checks are shown to fail on a fault put in.
-- (Runs under every Lua: no 5.4-only syntax.)
local core = require "justclick.core"
local files = require "support.files"

local SECRET = "Failure-Shape-Secret-7"

-- Asserts that the results are nil and an error table of that kind, and gives the table.
local function failed(kind, ...)
  local n = select("#", ...)
  local value, err = ...
  assert(value == nil, ("a failure returns nil first, not %s"):format(tostring(value)))
  assert(n == 2, ("a failure returns nil and the error: 2 values, not %d"):format(n))
  assert(type(err) == "table", ("the error is a table, not a %s (%s)"):format(type(err), tostring(err)))
  assert(type(err.kind) == "string" and type(err.message) == "string", "the error has a string kind and message")
  assert(err.kind == kind, ("the error's kind is %q, not %q (%s)"):format(kind, err.kind, err.message))
  assert(not err.message:find(SECRET, 1, true), "the message holds the secret")
  return err
end

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir))
  return dir
end

describe("a failure from C", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("is nil and a table, which the check here tells from the old shapes", function()
    assert.has_error(function() failed("io", nil, "path: No such file or directory", 2) end)
    assert.has_error(function() failed("io", nil, "path: No such file or directory") end)
    assert.has_error(function() failed("forged", nil, "forged", "its hash does not verify") end)
    assert.has_error(function() failed("io", nil, { message = "no kind" }) end)
    assert.has_error(function() failed("io", nil, { kind = "input", message = "another kind" }) end)
  end)

  it("from the journal's files: a missing directory, a cut of a missing file, a held lock, a bad path", function()
    local missing = dir .. "/no/such/journal"
    local err = failed("io", core.append_durably(missing, "x"))
    assert.are.same({ kind = "io", message = missing .. ": No such file or directory", path = missing, errno = 2 }, err)
    failed("io", core.append_durably(dir .. "/x\0y", "x"))
    failed("io", core.truncate_durably(missing, 0))
    failed("io", core.lock(missing))
    local held = assert(core.lock(dir .. "/lock"))
    err = failed("io", core.lock(dir .. "/lock"))
    assert.is_truthy(err.message:find("is locked: another import of this file is running", 1, true), err.message)
    assert.are.equal(dir .. "/lock", err.path)
    held:release()
    err = failed("io", core.realpath(missing))
    assert.are.equal(missing, err.path)
    assert.are.equal("number", type(err.errno))
  end)

  it("from read_secret_file: missing, unreadable, empty or too long; never printed, never the secret", function()
    local err = failed("io", core.read_secret_file(dir .. "/none"))
    assert.are.equal("cannot read the secret file " .. dir .. "/none: No such file or directory", err.message)
    assert.are.equal(2, err.errno)
    failed("io", core.read_secret_file(dir)) -- a directory opens, but does not read
    local empty = dir .. "/empty"
    files.write(empty, "\n")
    assert.are.equal("the secret file " .. empty .. " holds no secret", failed("io", core.read_secret_file(empty)).message)
    local long = dir .. "/long"
    files.write(long, SECRET:rep(600))
    assert.are.equal("the secret file " .. long .. " is longer than 4096 bytes",
      failed("io", core.read_secret_file(long)).message)
    -- readable by others: the secret, and the warning for the caller to show
    local open = dir .. "/open"
    files.write(open, SECRET .. "\n")
    assert(os.execute("chmod 644 " .. open))
    local secret, warning = core.read_secret_file(open)
    assert.are.equal(SECRET, secret)
    assert.are.equal(("warning: the secret file %s can be read by others (mode 0644); chmod 600 %s"):format(open, open),
      warning)
    assert(os.execute("chmod 600 " .. open))
    assert.are.same({ SECRET }, { core.read_secret_file(open) })
  end)

  it("from the reply's decoding, the notification's check and the encoder's safe forms", function()
    failed("protocol", core.decode_reply("<html>", SECRET))
    failed("protocol", core.decode_reply("[1]", SECRET))
    failed("protocol", core.decode_reply('{"error_text":"x","hash":"h"}', SECRET))
    failed("input", core.notification_check("a=1", SECRET))
    local forged = failed("forged", core.notification_check("id=7&email=a%40b.c&paid=2026-01-01&hash=" .. ("0"):rep(32),
      SECRET))
    assert.is_truthy(forged.message:find("does not verify", 1, true), forged.message)
    failed("input", core.safe.build_query({ a = function() end }))
    failed("input", core.safe.signed_body({ hash = 1 }, "u", SECRET))
    failed("input", core.safe.signed_body({ a = 1 }, "u", SECRET, { max_input_vars = 1 }))
  end)

  it("from the transport: a connection refused", function()
    local session = core.session({ timeout = 5, connect_timeout = 2 })
    local err = failed("transport", session:post("http://127.0.0.1:9/api/GetAllGoods", "x"))
    assert.are.equal("number", type(err.code))
    assert.are.equal("string", type(err.name))
    assert.are.equal("boolean", type(err.sent))
    session:close()
  end)

  it("from the receiver's inbox: a missing directory, no inbox to read, one in use", function()
    local ok, receiver = pcall(require, "justclick.receiver")
    if not ok then return end -- built for Lua 5.4 only
    local err = failed("io", receiver.inbox(dir .. "/no/such/inbox"))
    assert.are.equal(dir .. "/no/such/inbox", err.path)
    err = failed("io", receiver.inbox(dir .. "/inbox", "r"))
    assert.are.equal("no inbox at " .. dir .. "/inbox", err.message)
    local inbox = assert(receiver.inbox(dir .. "/inbox"))
    failed("io", receiver.inbox(dir .. "/inbox"))
    inbox:close()
  end)
end)

-- ---- only support.c builds an error table ----

-- The places in C source text where a failure is pushed other than through support.c: a nil
-- followed by a message, a table or a return of several values, or a field named kind or
-- message set by hand.
local function hand_made_failures(text)
  local found = {}
  for at in text:gmatch("()lua_pushnil%(L%);") do
    local after = text:sub(at):match("^lua_pushnil%(L%);%s*([^;]*)")
    if after:match("^lua_push%a*string") or after:match("^lua_pushliteral") or after:match("^lua_createtable")
      or after:match("^lua_newtable") or after:match("^lua_insert") or after:match("^return [23]") then
      found[#found + 1] = after
    end
  end
  -- an error's fields by hand: any message, or a kind from a literal (an event's kind, read
  -- from its key, is no error's)
  for before, field in text:gmatch('([^;]*);%s*lua_setfield%(L, %-?%d+, "(%a+)"%)') do
    if field == "message" or (field == "kind" and (before:find('lua_push%a*%(L, "') or before:find('" :')
      or before:find("lua_pushliteral"))) then
      found[#found + 1] = field
    end
  end
  return found
end

describe("the bindings' sources", function()
  it("build no error table but in support.c", function()
    local p = assert(io.popen("ls src/bind/*.c src/modules/*.c"))
    local checked = 0
    for path in p:lines() do
      if path ~= "src/bind/support.c" then
        local found = hand_made_failures(files.read(path))
        assert.are.same({}, found, path .. " pushes a failure of its own")
        checked = checked + 1
      end
    end
    p:close()
    assert.is_true(checked >= 15, "the sources were not found")
    assert.is_true(#hand_made_failures(files.read("src/bind/support.c")) > 0, "support.c builds none: the check reads nothing")
  end)

  it("would see the shapes that are gone", function()
    local old = {
      'lua_pushnil(L);\n    lua_pushstring(L, rc == JC_NOTICE_FORGED ? "forged" : "input");\n    return 3;',
      'lua_pushnil(L);\n  lua_pushfstring(L, "%s: %s", path, strerror(saved));\n  return 2;',
      'lua_pushnil(L);\n  lua_pushliteral(L, "input");',
      'lua_pushnil(L);\n  return 2;',
      'lua_pushnil(L);\n  lua_createtable(L, 0, 5);',
      'lua_pushstring(L, "io");\n  lua_setfield(L, -2, "kind");',
      'lua_pushstring(L, rc ? "forged" : "input");\n  lua_setfield(L, -2, "kind");',
      'lua_pushstring(L, text);\n  lua_setfield(L, -2, "message");',
    }
    for _, text in ipairs(old) do
      assert.is_true(#hand_made_failures(text) > 0, text)
    end
    -- and not a table's walk, nor a plain nil result
    assert.are.same({}, hand_made_failures("lua_pushnil(L);\n  while (lua_next(L, idx)) {"))
    assert.are.same({}, hand_made_failures("lua_pushnil(L);\n  return 1;"))
    assert.are.same({}, hand_made_failures('lua_pushlstring(L, ev.key, kind_len);\n  lua_setfield(L, -2, "kind");'))
  end)
end)
