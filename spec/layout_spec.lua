-- The specs test the work tree, never an installed copy: the module is build/lua/justclick/core.so,
-- which the plain C searcher finds first through LUA_CPATH="build/lua/?.so;;", even when
-- `make install` has put another justclick/core.so on the default path.
local files = require "support.files"

local run = require("support.shell").ok

local luaver = require "support.luaver"

describe("the build layout", function()
  it("gives busted the work tree's module, built for the Lua that runs it", function()
    assert.are.equal(luaver.build .. "/lua/justclick/core.so", luaver.searchpath("justclick.core", package.cpath))
  end)

  it("loads the work tree's core.so with the README's command, even with an installed copy on the path", function()
    local prefix = os.tmpname()
    os.remove(prefix)
    -- (LUA_VERSION given: under `make test LUA_VERSION=5.1`, make would pass that one on)
    local ok, out = run(("make --no-print-directory install LUA_VERSION=5.4 PREFIX=%s"):format(prefix))
    assert.is_true(ok, out)
    assert.is_not_nil(files.read(prefix .. "/lib/lua/5.4/justclick/core.so"))
    -- The installed tree sits where the system's default paths would be: after the work tree.
    local where
    ok, where = run(("LUA_PATH='lua/?.lua;lua/?/init.lua;%s/share/lua/5.4/?.lua;;' "
      .. "LUA_CPATH='build/lua/?.so;%s/lib/lua/5.4/?.so;;' lua5.4 -e 'local _, where = require \"justclick.core\" io.write(where)'")
      :format(prefix, prefix))
    run("rm -rf " .. prefix)
    assert.is_true(ok, where)
    assert.are.equal("build/lua/justclick/core.so", where)
  end)

  it("exports luaopen_justclick_core alone from the shared object", function()
    local ok, out = run("nm -D --defined-only " .. luaver.build .. "/lua/justclick/core.so")
    assert.is_true(ok, out)
    local names = {}
    for name in out:gmatch("%S+ %u (%S+)") do names[#names + 1] = name end
    assert.are.same({ "luaopen_justclick_core" }, names)
  end)

  it("stops a build without the dependencies with one line that says what to run", function()
    local build = os.tmpname()
    os.remove(build)
    local ok, out = run(("env -u MAKEFLAGS -u MAKELEVEL make --no-print-directory PKG_CONFIG=/nonexistent/pkg-config BUILD=%s all"):format(build))
    run("rm -rf " .. build)
    assert.is_falsy(ok)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(1, #lines, out)
    assert.is_truthy(out:find("scripts/deps.sh", 1, true), out)
    assert.is_falsy(out:find("No such file", 1, true), out)
  end)
end)
