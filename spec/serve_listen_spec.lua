-- `justclick serve` where it cannot listen. api.md: a failure the caller must handle returns
-- nil, err; the host's commands say an everyday mistake in one line (docs/host.md). A port in
-- use is the machine's refusal: inbox:listen returns nil, err (kind "io", errno), serve.run
-- returns it, the command prints one line and exits 1, and the inbox is released for the next
-- start. A host name for --listen, a port past 65535, or --connections and --timeout past what
-- the receiver takes are usage errors (exit 2), said before anything opens; the library gets
-- them as nil, err (kind "input", naming the option). A wrong type, or listening twice, raises.
local shell = require "support.shell"
local justclick = require "justclick"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")
local ENV = "env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=u JUSTCLICK_SECRET=servelistensecret "
  .. "JUSTCLICK_API_URL=http://127.0.0.1:9/api "

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  return dir
end

-- `justclick serve --listen LISTEN ...` on a fresh inbox (or `inbox`), a handler that does
-- nothing; extra: a shell prefix for the command (timeout -s INT 3, say). Status and output.
local function serve_with(listen, inbox, extra)
  local dir = tmpdir()
  local f = assert(io.open(dir .. "/h.lua", "w"))
  f:write("return function() return true end\n")
  f:close()
  local status, out = shell.run(("cd %s && %s %s%s serve --listen %s --inbox %s h.lua"):format(
    dir, extra or "timeout 10", ENV, HOST, listen, inbox or dir .. "/inbox"))
  os.execute("rm -rf " .. dir)
  return status, out
end

-- Whether out is one line (of justclick serve's), no traceback.
local function one_line(out)
  return out:find("traceback", 1, true) == nil and select(2, out:gsub("\n", "")) <= 1
end

describe("justclick serve where it cannot listen #lua54", function()
  local holder
  setup(function()
    -- a port held by another listener
    holder = shell.output("python3 -c 'import socket,sys,os,time\ns=socket.socket();s.bind((\"127.0.0.1\",0));"
      .. "s.listen();print(s.getsockname()[1]);sys.stdout.flush();os.close(1);time.sleep(60)' & echo")
  end)

  it("a port in use is one line and exit 1, no traceback, and the inbox is free for the next start", function()
    local port = holder:match("(%d+)")
    local dir = tmpdir()
    local status, out = serve_with("127.0.0.1:" .. port, dir .. "/inbox")
    assert.are.equal(1, status, out)
    assert.is_true(one_line(out), out)
    assert.truthy(out:find("cannot listen on 127.0.0.1:" .. port .. ": Address already in use", 1, true), out)
    -- issue 19: the line names the flag that mends it, and carries its time
    assert.truthy(out:find("choose another address with --listen HOST:PORT", 1, true), out)
    assert.truthy(out:find("^justclick serve: %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ "), out)
    -- no fd or lock left behind: another serve on the same inbox starts, listens, and stops
    local _, again = serve_with("127.0.0.1:0", dir .. "/inbox", "timeout -s INT 3")
    os.execute("rm -rf " .. dir)
    assert.truthy(again:find("listening on 127.0.0.1:", 1, true), again)
    assert.truthy(again:find("stopped", 1, true), again)
  end)

  it("--listen localhost:PORT is a usage error: one line, exit 2", function()
    local status, out = serve_with("localhost:18467")
    assert.is_nil(out:find("traceback", 1, true), out)
    assert.are.equal(2, status, out)
    assert.truthy(out:find("--listen takes an IP address", 1, true), out)
  end)

  it("--listen 127.0.0.1:99999 is a usage error, no traceback", function()
    for _, port in ipairs({ "99999", "65536", "99999999999999999999999" }) do
      local status, out = serve_with("127.0.0.1:" .. port)
      assert.is_nil(out:find("traceback", 1, true), out)
      assert.are.equal(2, status, out)
      assert.truthy(out:find("--listen takes a port from 0 to 65535", 1, true), out)
    end
  end)

  it("--connections 5000 and --timeout 99999 are usage errors naming the option, no traceback", function()
    for opt, says in pairs({ ["--connections 5000"] = "--connections takes a whole number from 1 to 1024",
      ["--timeout 99999"] = "--timeout takes a whole number from 1 to 3600" }) do
      local status, out = serve_with("127.0.0.1:0 " .. opt)
      assert.is_nil(out:find("traceback", 1, true), opt .. ": " .. out)
      assert.are.equal(2, status, out)
      assert.truthy(out:find(says, 1, true), out)
    end
  end)

  it("the bounds of the command line are the receiver's: 1024 connections and 3600 s start", function()
    local status, out = serve_with("[::1]:0 --connections 1024 --timeout 3600", nil, "timeout -s INT 3")
    if out:find("Cannot assign requested address", 1, true) or out:find("not supported", 1, true) then
      status, out = serve_with("127.0.0.1:0 --connections 1024 --timeout 3600", nil, "timeout -s INT 3")
    end
    assert.truthy(out:find("listening on", 1, true), out)
    assert.is_nil(out:find("traceback", 1, true), out)
    assert.are_not.equal(2, status, out)
  end)

  it("justclick.serve on a port in use returns nil, err (kind io, errno), not a raise", function()
    local port = tonumber(holder:match("(%d+)"))
    local dir = os.tmpname()
    os.remove(dir)
    local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }
    local ok, done, err = pcall(justclick.serve, function() return true end,
      { client = client, secret = "s", inbox = dir, port = port })
    assert.is_true(ok, tostring(done))
    assert.is_nil(done)
    assert.are.equal("io", err.kind)
    assert.is_number(err.errno)
    assert.is_true(justclick.is_error(err))
    -- the inbox was closed: it opens again at once (its lock released)
    local receiver = require "justclick.receiver"
    local inbox, oerr = receiver.inbox(dir)
    assert.is_not_nil(inbox, oerr and oerr.message)
    inbox:close()
    os.remove(dir)
  end)

  it("justclick.serve with a value out of range or a host name returns nil, err (kind input, naming it)", function()
    local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }
    for _, case in ipairs({ { port = 70000, says = "port" }, { connections = 0, says = "connections" },
      { timeout = 3601, says = "timeout" }, { max_body = 0, says = "max_body" }, { port = 1.5, says = "port" },
      { host = "localhost", says = "host" } }) do
      local dir = os.tmpname()
      os.remove(dir)
      local opts = { client = client, secret = "s", inbox = dir, port = 0 }
      for k, v in pairs(case) do if k ~= "says" then opts[k] = v end end
      local ok, done, err = pcall(justclick.serve, function() return true end, opts)
      assert.is_true(ok, tostring(done))
      assert.is_nil(done, case.says)
      assert.are.equal("input", err.kind)
      assert.truthy(err.message:find(case.says, 1, true), err.message)
      local inbox = assert(require("justclick.receiver").inbox(dir))
      inbox:close()
      os.remove(dir)
    end
  end)

  it("inbox:listen raises for a programming error: a wrong type, listening twice", function()
    local receiver = require "justclick.receiver"
    local dir = os.tmpname()
    local inbox = assert(receiver.inbox(dir .. ".inbox"))
    assert.has_error(function() inbox:listen({ secret = "s", port = "8787" }) end,
      "justclick: listen: port must be an integer, not a string")
    assert.is_true(inbox:listen({ secret = "s", host = "127.0.0.1", port = 0 }))
    assert.has_error(function() inbox:listen({ secret = "s", port = 0 }) end, "justclick: the inbox listens already")
    inbox:close()
    assert.has_error(function() inbox:listen({ secret = "s", port = 0 }) end, "justclick: the inbox is closed")
    os.remove(dir .. ".inbox")
    os.remove(dir)
  end)
end)
