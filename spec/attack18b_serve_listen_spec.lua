-- Attack 18b (helper HB): `justclick serve` where it cannot listen. api.md: a failure the caller
-- must handle returns nil, err; the host's commands say an everyday mistake in one line. A port
-- in use, a host name for --listen, or a port past 65535 are everyday mistakes, but
-- inbox:listen (src/bind/receiver.c) raises them, and the command prints a Lua traceback.
local shell = require "support.shell"
local justclick = require "justclick"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")
local ENV = "env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=u JUSTCLICK_SECRET=attack18bsecret "
  .. "JUSTCLICK_API_URL=http://127.0.0.1:9/api "

local function serve_with(listen)
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  local f = assert(io.open(dir .. "/h.lua", "w"))
  f:write("return function() return true end\n")
  f:close()
  local status, out = shell.run(("cd %s && timeout 10 %s%s serve --listen %s --inbox %s/inbox h.lua"):format(
    dir, ENV, HOST, listen, dir))
  os.execute("rm -rf " .. dir)
  return status, out
end

describe("attack18b: justclick serve where it cannot listen #lua54", function()
  local holder
  setup(function()
    -- a port held by another listener
    holder = shell.output("python3 -c 'import socket,sys,os,time\ns=socket.socket();s.bind((\"127.0.0.1\",0));"
      .. "s.listen();print(s.getsockname()[1]);sys.stdout.flush();os.close(1);time.sleep(60)' & echo")
  end)

  it("BREAK: a port in use is one line and exit 1, no traceback", function()
    local port = holder:match("(%d+)")
    local status, out = serve_with("127.0.0.1:" .. port)
    assert.are.equal(1, status, out)
    assert.is_nil(out:find("traceback", 1, true), out)
    assert.truthy(out:find("Address already in use", 1, true), out)
  end)

  it("BREAK: --listen localhost:PORT is one line, no traceback", function()
    local status, out = serve_with("localhost:18467")
    assert.is_nil(out:find("traceback", 1, true), out)
    assert.are_not.equal(0, status, out)
  end)

  it("BREAK: --listen 127.0.0.1:99999 is a usage error, no traceback", function()
    local status, out = serve_with("127.0.0.1:99999")
    assert.is_nil(out:find("traceback", 1, true), out)
    assert.are_not.equal(0, status, out)
  end)

  it("BREAK: --connections 5000 and --timeout 99999 are usage errors, no traceback", function()
    for _, opt in ipairs({ "--connections 5000", "--timeout 99999" }) do
      local status, out = serve_with("127.0.0.1:0 " .. opt)
      assert.is_nil(out:find("traceback", 1, true), opt .. ": " .. out)
      assert.are_not.equal(0, status, out)
    end
  end)

  it("BREAK: justclick.serve on a port in use returns nil, err (kind io), not a raise", function()
    local port = tonumber(holder:match("(%d+)"))
    local dir = os.tmpname()
    os.remove(dir)
    local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }
    local ok, done, err = pcall(justclick.serve, function() return true end,
      { client = client, secret = "s", inbox = dir, port = port })
    os.remove(dir)
    assert.is_true(ok, tostring(done))
    assert.is_nil(done)
    assert.are.equal("io", err.kind)
  end)
end)
