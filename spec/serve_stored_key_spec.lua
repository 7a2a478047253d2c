-- Found by an attack on issue 18: serve's stored event reads kind and bill id back from the stored key
-- (serve.lua stored_event), not from the body. An E record whose key and body are of two bills
-- (an inbox mended by hand, or records swapped) then gives the handler the id of one bill and
-- the body of another. The FNV-1a sums of the record catch a swap made without rewriting them;
-- one written whole (sums recomputed) passes, and then only a cross-check of key and body tells.
local files = require "support.files"
local shell = require "support.shell"
local core = require "justclick.core"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")
local ENV = "env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=u JUSTCLICK_SECRET=attack18bsecret "
  .. "JUSTCLICK_API_URL=http://127.0.0.1:9/api "

-- an E record as the first inbox format had it (pure/inbox_v1.h): converted when serve opens it
local function record(key, body)
  return require("support.inbox_v1").event(key, body, ("%d.000"):format(os.time()))
end

local function body(id, email)
  return ("id=%d&email=%s&paid=2026-12-07+03:00:00&last_payment_sum=100&hash=x"):format(id, email)
end

-- runs `justclick serve --no-confirm` on the inbox until its first event is handled; returns
-- what the handler saw ("id order.id order.email", one line an event) and the command's output
local function serve_once(dir)
  files.write(dir .. "/h.lua", ([[
return function(e)
  local f = io.open(%q, "a")
  f:write(("%%s %%s %%s\n"):format(e.id, tostring(e.order.id), tostring(e.order.email)))
  f:close()
  os.execute("kill -TERM " .. %q)
  return true
end]]):gsub("%%q", "%%q"):format(dir .. "/seen", "$PPID"))
  local status, out = shell.run(("cd %s && timeout 10 %s%s serve --no-confirm --listen 127.0.0.1:0 --inbox %s/inbox h.lua")
    :format(dir, ENV, HOST, dir))
  return files.read(dir .. "/seen") or "", out, status
end

-- runs `justclick serve --no-confirm` on the inbox with a handler that succeeds (and writes the
-- keys it gets to dir/seen), until its log says `until_text` (or 20 s pass); returns whether it
-- did, whether the receiver was still running then (not ended by the event), and the log
local function serve_until(dir, until_text)
  files.write(dir .. "/h.lua", ("return function(e) io.open(%q, 'a'):write(e.key, '\\n'):close() return true end\n")
    :format(dir .. "/seen"))
  local log = dir .. "/serve.log"
  local p = assert(io.popen(("cd %s && %s%s serve --no-confirm --listen 127.0.0.1:0 --inbox %s/inbox h.lua > %s 2>&1"
    .. " & echo $!")
    :format(dir, ENV, HOST, dir, log)))
  local pid = tonumber(p:read("*l"))
  p:close()
  local deadline = core.now() + 20
  local said
  repeat
    said = (files.read(log) or ""):find(until_text, 1, true) ~= nil
    if not said then core.sleep(0.05) end
  until said or core.now() > deadline
  local running = os.execute(("kill -0 %d 2>/dev/null"):format(pid)) == true
  os.execute(("kill -KILL %d 2>/dev/null"):format(pid))
  return said, running, files.read(log) or ""
end

describe("the stored key and its body #lua54", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("a consistent record is handled with its own id and body (holds)", function()
    files.write(dir .. "/inbox", record("paid-111-aaaaaaaaaaaa", body(111, "a@x.ru")))
    local seen, out = serve_once(dir)
    assert.are.equal("111 111 a@x.ru\n", seen, out)
  end)

  it("bodies of equal length swapped between two records, sums not rewritten: refused as damaged (holds)",
    function()
      local a, b = record("paid-111-aaaaaaaaaaaa", body(111, "a@x.ru")), record("paid-222-bbbbbbbbbbbb", body(222, "b@x.ru"))
      local ha, ba = a:match("^(.-\n)(.*)$")
      local hb, bb = b:match("^(.-\n)(.*)$")
      files.write(dir .. "/inbox", ha .. bb .. hb .. ba)
      local seen, out = serve_once(dir)
      assert.are.equal("", seen, out)
      assert.truthy(out:find("damaged", 1, true), out)
    end)

  it("a record whose key names bill 111 and whose body is bill 222's (sums right) is a failed try,"
    .. " never bill 111 with bill 222's body", function()
    files.write(dir .. "/inbox", record("paid-111-aaaaaaaaaaaa", body(222, "b@x.ru")))
    local said, running, out = serve_until(dir, "handler failed on paid-111-aaaaaaaaaaaa")
    assert.is_true(said, out)
    assert.is_true(running, out)
    assert.is_nil(files.read(dir .. "/seen"), out) -- the handler never ran
    assert.is_nil(out:find("traceback", 1, true), out)
  end)

  for _, key in ipairs({ "weird-5-aaaaaaaaaaaa", "PAID-5-aaaaaaaaaaaa" }) do
    it(("a stored key of no notification's kind (%s) is a failed try, not the receiver's end"):format(key),
      function()
        files.write(dir .. "/inbox", record(key, body(5, "a@x.ru")))
        local said, running, out = serve_until(dir, "handler failed on " .. key)
        assert.is_true(said, out)
        assert.is_true(running, out) -- the receiver goes on
        assert.is_nil(files.read(dir .. "/seen"), out)
        assert.is_nil(out:find("traceback", 1, true), out)
      end)
  end
end)
