-- Attack on issue 18 (helper HA): every ```lua example of docs/api.md runs as printed against
-- the sandbox, under the Lua that runs the specs (make check: 5.1, LuaJIT, 5.3 and 5.4); and the
-- README's `assert(client:...)` idiom shows the failure when a call fails.
local sandbox = require "support.sandbox"
local files = require "support.files"

local shell = require "support.shell"
local luaver = require "support.luaver"

-- The plain interpreter of the Lua that runs the specs (busted's assert is luassert's, which
-- takes any message: the examples must meet the interpreter's own).
local INTERPRETERS = { build = "lua5.4", ["build-5.3"] = "lua5.3", ["build-5.1"] = "lua5.1", ["build-jit"] = "luajit" }
local function run_lua(sb, args)
  return shell.run(("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s"
    .. " LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s/lua/?.so;;' %s %s 2>&1")
    :format(sandbox.user, sandbox.secret, sb.api_url, luaver.build, INTERPRETERS[luaver.build], args))
end

describe("attack18: the examples of docs/api.md", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)

  it("run as printed against the sandbox, with the interpreter's own assert", function()
    local client = sb:client()
    for i = 1, 122 do assert(client:create_order{ bill_email = "f" .. i .. "@example.com", goods = { { good_name = "invoice" } } }) end
    local status, out = run_lua(sb, "spec/support/attack18_api_examples.lua " .. sb.api_url)
    assert.are.equal(0, status, out)
    assert.is_nil(out:find("FAILED", 1, true), out)
    assert.truthy(out:find("waiting\tInvoice template\tcpc"), out)
    assert.truthy(out:find("a\\x1b[31mred\\n", 1, true), out)
    assert.truthy(out:find("bill_timer_kill=1&goods%5B0%5D%5Bgood_name%5D=a+b", 1, true), out)
    assert.truthy(out:find("bill_email is required", 1, true), out)
    assert.truthy(out:find("grant\tbuyer@example.com"), out)
  end)

  -- BREAK (attack18, Lua 5.1 only; not fixed): Lua 5.1's assert takes only a string message, so
  -- the README's and api.md's `assert(client:order_details(...))` raise "bad argument #2 to
  -- 'assert' (string expected, got table)" when the call fails: the error (kind, code, message)
  -- is lost. LuaJIT, 5.3 and 5.4 raise the error table itself.
  it("BREAK-5.1: assert(client:order_details(...)) on a failure raises the failure, as the README's example relies on", function()
    local path = os.tmpname()
    files.write(path, [[
local justclick = require "justclick"
local client = justclick.new{user = os.getenv("JUSTCLICK_USER"), secret = os.getenv("JUSTCLICK_SECRET"),
  api_url = os.getenv("JUSTCLICK_API_URL")}
local info = assert(client:order_details(999999))
]])
    local status, out = run_lua(sb, path)
    os.remove(path)
    assert.are_not.equal(0, status)
    assert.truthy(out:find("Order not found", 1, true), "the failure is lost: " .. out)
  end)
end)
