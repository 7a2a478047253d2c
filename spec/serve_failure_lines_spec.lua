-- The one line `justclick serve` says for an everyday failure names the flag to mend, in every
-- mode: an inbox that cannot be opened names --inbox for --replay as it does for a receiver
-- that starts, and --listen's remedy fits the refusal: "stop what holds it" only for an address
-- in use; an address the machine does not have is said so.
local shell = require "support.shell"
local files = require "support.files"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")
local ENV = "env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=u JUSTCLICK_SECRET=servefailuresecret "
  .. "JUSTCLICK_API_URL=http://127.0.0.1:9/api "

describe("justclick serve's failure lines #lua54", function()
  local dir

  lazy_setup(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    files.write(dir .. "/h.lua", "return function() return true end\n")
  end)

  lazy_teardown(function()
    os.execute("rm -rf " .. dir)
  end)

  local function serve(args)
    return shell.run(("cd %s && timeout 20 %s%s serve %s"):format(dir, ENV, HOST, args))
  end

  it("names --inbox when --replay cannot open it", function()
    local status, out = serve("--inbox '/nonexistent dir/inbox' --replay all h.lua")
    assert.are.equal(1, status, out)
    assert.matches("--inbox '/nonexistent dir/inbox'", out, 1, true)
    assert.is_nil(out:find("servefailuresecret", 1, true))
  end)

  it("takes at most 16 --trust-proxy, a usage error naming the flag past them", function()
    local many = {}
    for i = 1, 17 do many[i] = "--trust-proxy 10.0.0." .. i end
    local status, out = serve(table.concat(many, " ") .. " --listen 127.0.0.1:0 --inbox inbox h.lua")
    assert.are.equal(2, status, out)
    assert.matches("--trust-proxy: at most 16", out, 1, true)
  end)

  it("says an address the machine does not have is not its, without 'stop what holds it'", function()
    local status, out = serve("--listen 192.0.2.1:8787 --inbox inbox h.lua")
    assert.are.equal(1, status, out)
    assert.matches("--listen HOST:PORT", out, 1, true)
    assert.is_nil(out:find("stop what holds it", 1, true), out)
  end)
end)
