-- The rocks as a user gets them: `make rock` packs justclick-VERSION-1.src.rock (the library) and
-- justclick-host-VERSION-1.src.rock (the program) from HEAD into a scratch rocks server, and
-- luarocks installs from that server, not from this work tree: the library into trees for Lua
-- 5.1, LuaJIT and 5.3, and the host into a tree for Lua 5.4, which pulls the library in as its
-- dependency. Debian's lua-cjson (and, for the host, dkjson) are declared provided as the docs
-- say (the rocks registry is out of reach, and a dependency the scratch server lacks fails at
-- once). The Luas it checks are child processes, so one run covers them all: tagged lua54, it
-- runs in the 5.4 pass only.

local shell = require "support.shell"
local files = require "support.files"
local run = shell.ok

-- The version, from the one place the build takes it.
local VERSION = assert(files.read("src/pure/version.h"):match('#define JC_VERSION "([^"]+)"'))
local LIBRARY = { name = "justclick", rockspec = ("justclick-%s-1.rockspec"):format(VERSION) }
local HOST = { name = "justclick-host", rockspec = ("justclick-host-%s-1.rockspec"):format(VERSION) }
for _, rock in ipairs({ LIBRARY, HOST }) do rock.file = ("%s-%s-1.src.rock"):format(rock.name, VERSION) end

-- The Lua files of the host's commands; every other file under lua/ is the library's.
local HOST_LUA = { "^justclick/import%.lua$", "^justclick/import/", "^justclick/serve%.lua$", "^justclick/events%.lua$",
  "^justclick/catchup%.lua$" }

local function host_lua(file)
  for _, pattern in ipairs(HOST_LUA) do
    if file:find(pattern) then return true end
  end
  return false
end

-- The lines of a command's output, as a set.
local function lines(cmdline)
  local ok, out = run(cmdline)
  assert(ok, out)
  local set = {}
  for line in out:gmatch("[^\n]+") do set[line] = true end
  return set
end

-- Nothing from this work tree or the caller's environment reaches the child Luas.
local CLEAN_ENV = "env -u LUA_INIT -u LUA_INIT_5_3 -u LUA_INIT_5_4 -u LUA_PATH_5_3 -u LUA_PATH_5_4"
  .. " -u LUA_CPATH_5_3 -u LUA_CPATH_5_4"

-- Each tree: the Lua it is for, the ABI directory its modules go to, the rock installed, and
-- what the config adds (LuaJIT: its headers, so that the Makefile builds for LuaJIT).
local TREES = {
  { id = "5.1", lua = "lua5.1", abi = "5.1", rock = LIBRARY },
  { id = "jit", lua = "luajit", abi = "5.1", rock = LIBRARY, incdir = "/usr/include/luajit-2.1" },
  { id = "5.3", lua = "lua5.3", abi = "5.3", rock = LIBRARY },
  { id = "5.4", lua = "lua5.4", abi = "5.4", rock = HOST },
}

-- What a tree must hold: the library's module, Lua files and nginx include; with the host, its program, its
-- receiver module and its commands' Lua files too.
local function expected_files(tree)
  local expected = { [("./lib/lua/%s/justclick/core.so"):format(tree.abi)] = true }
  for file in pairs(lines("cd lua && find . -name '*.lua' -o -name '*.conf'")) do -- .conf: nginx's include
    file = file:sub(3)
    if tree.rock == HOST or not host_lua(file) then
      expected[("./share/lua/%s/%s"):format(tree.abi, file)] = true
    end
  end
  if tree.rock == HOST then
    expected[("./lib/lua/%s/justclick/receiver.so"):format(tree.abi)] = true
    expected["./bin/justclick"] = true
  end
  return expected
end

describe("the source rocks #lua54", function()
  local dir, packed, pack_log
  local installs = {} -- [id] = { ok = , log = , path = }

  lazy_setup(function()
    dir = os.tmpname()
    os.remove(dir)
    local server = dir .. "/server"
    assert(run("mkdir -p " .. server))
    packed, pack_log = run(("make --no-print-directory rock ROCK_DIR=%s"):format(server))
    if packed then packed, pack_log = run("luarocks-admin make-manifest " .. server) end
    for _, tree in ipairs(TREES) do
      -- dkjson is provided to the host's tree only: the library must not need it.
      local config = ("%s/config-%s.lua"):format(dir, tree.id)
      files.write(config, ('rocks_provided = { ["lua-cjson"] = "2.1.0-1"%s }\n%s'):format(
        tree.rock == HOST and ', dkjson = "2.6-1"' or "",
        tree.incdir and ('variables = { LUA_INCDIR = "%s" }\n'):format(tree.incdir) or ""))
      -- (not the LUA_VERSION that `make test` exports: the rock finds its Lua from LUA_INCDIR)
      local path = ("%s/tree-%s"):format(dir, tree.id)
      local ok, log = run(("cd %s && %s -u LUA_PATH -u LUA_CPATH -u LUA_VERSION -u MAKEOVERRIDES -u MAKELEVEL"
        .. " MAKEFLAGS=-j2 LUAROCKS_CONFIG=%s luarocks --lua-version=%s --only-server=%s install --tree %s %s %s")
        :format(dir, CLEAN_ENV, config, tree.abi, server, path, tree.rock.name, VERSION))
      installs[tree.id] = { ok = ok, log = log, path = path }
    end
  end)

  lazy_teardown(function()
    if dir then run("rm -rf " .. dir) end
  end)

  it("is one version in src/pure/version.h, both rockspecs, the changelog and the host", function()
    for _, rock in ipairs({ LIBRARY, HOST }) do
      local rockspec = files.read(rock.rockspec)
      assert.is_truthy(rockspec, rock.rockspec .. " is missing")
      assert.are.equal(VERSION .. "-1", rockspec:match('\nversion = "([^"]+)"'))
      assert.are.equal("v" .. VERSION, rockspec:match('\n  tag = "([^"]+)"'))
    end
    assert.is_truthy(files.read(HOST.rockspec):find(('"justclick == %s"'):format(VERSION), 1, true))
    assert.are.equal(VERSION, files.read("CHANGELOG.md"):match("\n## (%d+%.%d+%.%d+)"))
  end)

  it("packs HEAD's rockspecs and sources", function()
    assert.is_true(packed, pack_log)
    for _, rock in ipairs({ LIBRARY, HOST }) do
      local listed = lines(("unzip -Z1 %s/server/%s"):format(dir, rock.file))
      assert.is_true(listed[rock.rockspec])
      assert.is_true(listed["justclick-lua/Makefile"])
      assert.is_true(listed["justclick-lua/src/pure/version.h"])
      local ok, diff = run(("unzip -p %s/server/%s %s > %s/packed && git show HEAD:%s | diff %s/packed -")
        :format(dir, rock.file, rock.rockspec, dir, rock.rockspec, dir))
      assert.is_true(ok, diff)
    end
  end)

  for _, tree in ipairs(TREES) do
    it(("installs %s for %s with no warning, and only what that rock holds"):format(tree.rock.name, tree.lua),
    function()
      local install = installs[tree.id]
      assert.is_true(install.ok, install.log)
      assert.is_falsy(install.log:find("[Ww]arning"), install.log)
      -- The host names the library as missing, then installs it from the server: nothing else.
      for missing in install.log:gmatch("\n   (%S+) [^\n]*%(not installed%)") do
        assert.are.equal(tree.rock == HOST and "justclick" or "(nothing)", missing, install.log)
      end
      local installed = lines(("cd %s && find . -type f -not -path './lib/luarocks/*'"):format(install.path))
      assert.are.same(expected_files(tree), installed)
    end)
  end

  it("builds the library for LuaJIT from LuaJIT's own headers", function()
    assert.is_true(installs.jit.ok, installs.jit.log)
    assert.is_truthy(installs.jit.log:find("luajit-2.1", 1, true), installs.jit.log)
  end)

  -- The library is what every user links: never the receiver's HTTP server, never a database.
  it("links the library's module with neither libmicrohttpd nor a database, under every Lua", function()
    local unwanted = { "microhttpd", "sqlite", "libpq", "mysql", "mariadb" }
    for _, tree in ipairs(TREES) do
      local install = installs[tree.id]
      assert.is_true(install.ok, install.log)
      local module = ("%s/lib/lua/%s/justclick/core.so"):format(install.path, tree.abi)
      local linked = lines("ldd " .. module)
      local curl = false
      for line in pairs(linked) do
        for _, name in ipairs(unwanted) do assert.is_falsy(line:find(name, 1, true), tree.id .. ": " .. line) end
        curl = curl or line:find("libcurl", 1, true) ~= nil
      end
      assert.is_true(curl, tree.id .. ": ldd names no libcurl, so it read nothing")
    end
    -- The same reading finds libmicrohttpd and SQLite (the event store) where they are: in the
    -- host's receiver.
    local receiver = ("%s/lib/lua/5.4/justclick/receiver.so"):format(installs["5.4"].path)
    for _, wanted in ipairs({ "microhttpd", "sqlite3" }) do
      local found = false
      for line in pairs(lines("ldd " .. receiver)) do found = found or line:find(wanted, 1, true) ~= nil end
      assert.is_true(found, "ldd shows no " .. wanted .. " in " .. receiver)
    end
  end)

  it("loads from another directory with only the tree on the path, under 5.1, LuaJIT, 5.3 and 5.4", function()
    local ok, hash = run("printf 'a=1::u::s' | md5sum")
    assert.is_true(ok, hash)
    hash = hash:match("^%x+")
    local script = [[
      local j = require "justclick"
      io.write(j.build_query({ goods = { { good_name = "a" } } }), "\n", j.sign({ a = 1 }, "u", "s"), "\n",
        j._VERSION, "\n")
    ]]
    for _, tree in ipairs(TREES) do
      local install = installs[tree.id]
      assert.is_true(install.ok, install.log)
      local out
      ok, out = run(("cd / && %s LUA_PATH='%s/share/lua/%s/?.lua' LUA_CPATH='%s/lib/lua/%s/?.so' %s -e '%s'")
        :format(CLEAN_ENV, install.path, tree.abi, install.path, tree.abi, tree.lua, script))
      assert.is_true(ok, tree.lua .. ": " .. out)
      assert.are.equal("goods%5B0%5D%5Bgood_name%5D=a\n" .. hash .. "\n" .. VERSION .. "\n", out, tree.lua)
    end
  end)

  it("tells a library-only user in one line that serving needs the justclick-host rock", function()
    local install = installs["5.3"]
    assert.is_true(install.ok, install.log)
    local ok, out = run(("cd / && %s LUA_PATH='%s/share/lua/5.3/?.lua' LUA_CPATH='%s/lib/lua/5.3/?.so' lua5.3 -e '%s'")
      :format(CLEAN_ENV, install.path, install.path,
        -- raised, or returned as nil, err: either way, what the user reads
        [[local r = table.pack(pcall(require("justclick").serve, function() end))
          io.write(tostring(r[1] and r[3] or r[2]))]]))
    assert.is_true(ok, out)
    assert.is_truthy(out:find("justclick-host", 1, true), out)
    assert.is_falsy(out:find("\n", 1, true), out)
  end)

  it("installs bin/justclick for Lua 5.4, which tells its version, runs a script and serves", function()
    local install = installs["5.4"]
    assert.is_true(install.ok, install.log)
    local host = ("cd / && %s -u LUA_PATH -u LUA_CPATH %s/bin/justclick"):format(CLEAN_ENV, install.path)
    local ok, out = run(host .. " -v")
    assert.is_true(ok, out)
    assert.is_truthy(out:find("^justclick%-lua " .. VERSION:gsub("%.", "%%.") .. " %(Lua 5%.4"), out)
    ok, out = run(host .. [[ -e 'print(require("justclick").build_query{x = 1.5})']])
    assert.is_true(ok, out)
    assert.are.equal("x=1.5\n", out)
    -- lua5.4 with the tree on its path reaches the installed receiver module too.
    ok, out = run(("cd / && %s LUA_PATH='%s/share/lua/5.4/?.lua' LUA_CPATH='%s/lib/lua/5.4/?.so' lua5.4 -e '%s'")
      :format(CLEAN_ENV, install.path, install.path,
        [[io.write(type(require("justclick.receiver").inbox))]]))
    assert.is_true(ok, out)
    assert.are.equal("function", out)
  end)
end)
