-- The specs test the work tree, never an installed copy: the library is build/lua/justclick/core.so,
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

  it("exports luaopen_justclick_receiver alone from the receiver's shared object (Lua 5.4's)", function()
    local ok, out = run("nm -D --defined-only build/lua/justclick/receiver.so")
    assert.is_true(ok, out)
    local names = {}
    for name in out:gmatch("%S+ %u (%S+)") do names[#names + 1] = name end
    assert.are.same({ "luaopen_justclick_receiver" }, names)
  end)

  it("links the library with libcurl and libcrypto, and the receiver alone with libmicrohttpd", function()
    local ok, out = run("readelf -d " .. luaver.build .. "/lua/justclick/core.so")
    assert.is_true(ok, out)
    assert.is_truthy(out:find("libcurl", 1, true), out)
    assert.is_truthy(out:find("libcrypto", 1, true), out)
    assert.is_falsy(out:find("microhttpd", 1, true), out)
    assert.is_falsy(out:find("liblua", 1, true), out)
    ok, out = run("readelf -d build/lua/justclick/receiver.so")
    assert.is_true(ok, out)
    assert.is_truthy(out:find("libmicrohttpd", 1, true), out)
    assert.is_falsy(out:find("libcurl", 1, true), out)
  end)

  it("builds the library without libmicrohttpd, which only the receiver and the host ask for", function()
    local dir = os.tmpname()
    os.remove(dir)
    -- A pkg-config that knows every package but libmicrohttpd, as on a machine without it.
    local fake = dir .. "/pkg-config"
    assert(run(("mkdir -p %s && printf '%%s\\n' '#!/bin/sh' 'case \"$*\" in *libmicrohttpd*) exit 1;; esac' "
      .. "'exec pkg-config \"$@\"' > %s && chmod +x %s"):format(dir, fake, fake)))
    local make = ("env -u MAKEFLAGS -u MAKELEVEL make --no-print-directory LUA_VERSION=5.4 CFLAGS=-O0 PKG_CONFIG=%s BUILD=%s/build ")
      :format(fake, dir)
    local built, log = run(make .. "library")
    local core_so = files.read(dir .. "/build/lua/justclick/core.so")
    local stopped, out = run(make .. "all")
    run("rm -rf " .. dir)
    assert.is_true(built, log)
    assert.is_not_nil(core_so)
    assert.is_falsy(stopped)
    assert.is_truthy(out:find("libmicrohttpd", 1, true), out)
    assert.is_falsy(out:find("\n.", 1), out) -- one line
  end)

  it("tells a library-only install that the receiver comes with the justclick-host rock", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(run(("mkdir -p %s/justclick && cp build/lua/justclick/core.so %s/justclick/"):format(dir, dir)))
    local ok, out = run(("JUSTCLICK_USER=u JUSTCLICK_SECRET=s LUA_PATH='lua/?.lua;;' LUA_CPATH='%s/?.so;;' lua5.4 -e '"
      .. "local done, err = require(\"justclick.serve\").run(function() end, { inbox = \"%s/inbox\" }) "
      .. "io.write(tostring(done), \"\\n\", err.kind, \"\\n\", err.message)'"):format(dir, dir))
    run("rm -rf " .. dir)
    assert.is_true(ok, out)
    assert.are.equal("nil\ninput\nthe receiver (justclick.receiver) is not installed: it comes with the justclick-host rock"
      .. " (luarocks install justclick-host)", out)
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
