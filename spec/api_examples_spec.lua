-- Found by an attack on issue 18: every ```lua example of docs/api.md runs as printed against
-- the sandbox, under the Lua that runs the specs (make check: 5.1, LuaJIT, 5.3 and 5.4); and the
-- README's example shows a failure when a call fails.
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

describe("the examples of docs/api.md", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)

  it("run as printed against the sandbox, with the interpreter's own assert", function()
    local client = sb:client()
    for i = 1, 122 do assert(client:create_order{ bill_email = "f" .. i .. "@example.com", goods = { { good_name = "invoice" } } }) end
    local status, out = run_lua(sb, "spec/support/api_examples.lua " .. sb.api_url)
    assert.are.equal(0, status, out)
    assert.is_nil(out:find("FAILED", 1, true), out)
    assert.truthy(out:find("waiting\tInvoice template\tcpc"), out)
    assert.truthy(out:find("a\\x1b[31mred\\n", 1, true), out)
    assert.truthy(out:find("bill_timer_kill=1&goods%5B0%5D%5Bgood_name%5D=a+b", 1, true), out)
    assert.truthy(out:find("bill_email is required", 1, true), out)
    assert.truthy(out:find("grant\tbuyer@example.com"), out)
  end)

  -- Lua 5.1's assert takes only a string message: `assert(client:order_details(...))` raises
  -- "bad argument #2 to 'assert'" there, and the error is lost. So the README's example reads
  -- its second call's failure as api.md's Errors says to under 5.1, and that shows the failure
  -- under every Lua.
  it("the README's way of raising a failure shows it under every Lua, 5.1 too", function()
    local readme = assert(files.read("README.md"))
    local raise = "if not info then error(tostring(why), 0) end"
    assert.truthy(readme:find(raise, 1, true), "the README's example no longer reads: " .. raise)
    local path = os.tmpname()
    files.write(path, [[
local justclick = require "justclick"
local client = justclick.new{user = os.getenv("JUSTCLICK_USER"), secret = os.getenv("JUSTCLICK_SECRET"),
  api_url = os.getenv("JUSTCLICK_API_URL")}
local info, why = client:order_details(999999)
]] .. raise .. "\n")
    local status, out = run_lua(sb, path)
    os.remove(path)
    assert.are_not.equal(0, status)
    assert.truthy(out:find("Order not found", 1, true), "the failure is lost: " .. out)
  end)
end)
