-- The rock as a user gets it: `make rock` packs justclick-VERSION-1.src.rock from HEAD, and
-- luarocks installs that file, not this work tree, into scratch trees for Lua 5.1 and 5.4, with
-- Debian's lua-cjson and dkjson declared provided as the README says (the rocks registry is out of
-- reach, and no server is given, so a dependency it would fetch fails at once). The Luas it checks
-- are child processes, so one run covers them all: tagged lua54, it runs in the 5.4 pass only.

local shell = require "support.shell"
local files = require "support.files"
local run = shell.ok

-- The version, from the one place the build takes it.
local VERSION = assert(files.read("src/pure/version.h"):match('#define JC_VERSION "([^"]+)"'))
local ROCKSPEC = ("justclick-%s-1.rockspec"):format(VERSION)
local ROCK = ("justclick-%s-1.src.rock"):format(VERSION)
-- The Lua files that only the host's commands use; every other file under lua/ runs on every Lua.
local HOST_ONLY = { "^justclick/import%.lua$", "^justclick/import/", "^justclick/serve%.lua$" }

local function host_only(file)
  for _, pattern in ipairs(HOST_ONLY) do
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

describe("the source rock #lua54", function()
  local dir, packed, pack_log
  local installs = {} -- [abi] = { ok = , log = , tree = }

  lazy_setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(run("mkdir -p " .. dir .. "/servers"))
    packed, pack_log = run(("make --no-print-directory rock ROCK_DIR=%s"):format(dir))
    files.write(dir .. "/config.lua", 'rocks_provided = { ["lua-cjson"] = "2.1.0-1", dkjson = "2.6-1" }\n')
    for _, abi in ipairs({ "5.1", "5.4" }) do
      -- (not the LUA_VERSION that `make test` exports: the rock finds its Lua from LUA_INCDIR)
      local tree = dir .. "/tree-" .. abi
      local ok, log = run(("cd %s && %s -u LUA_PATH -u LUA_CPATH -u LUA_VERSION -u MAKEOVERRIDES -u MAKELEVEL MAKEFLAGS=-j2 LUAROCKS_CONFIG=%s/config.lua"
        .. " luarocks --lua-version=%s --only-server=%s/servers install --tree %s %s")
        :format(dir, CLEAN_ENV, dir, abi, dir, tree, ROCK))
      installs[abi] = { ok = ok, log = log, tree = tree }
    end
  end)

  lazy_teardown(function()
    if dir then run("rm -rf " .. dir) end
  end)

  it("is one version in src/pure/version.h, the rockspec, the changelog and the host", function()
    local rockspec = files.read(ROCKSPEC)
    assert.is_truthy(rockspec, ROCKSPEC .. " is missing")
    assert.are.equal(VERSION .. "-1", rockspec:match('\nversion = "([^"]+)"'))
    assert.are.equal("v" .. VERSION, rockspec:match('\n  tag = "([^"]+)"'))
    assert.are.equal(VERSION, files.read("CHANGELOG.md"):match("\n## (%d+%.%d+%.%d+)"))
  end)

  it("packs HEAD's rockspec and sources", function()
    assert.is_true(packed, pack_log)
    local listed = lines(("unzip -Z1 %s/%s"):format(dir, ROCK))
    assert.is_true(listed[ROCKSPEC])
    assert.is_true(listed["justclick-lua/Makefile"])
    assert.is_true(listed["justclick-lua/src/pure/version.h"])
    local ok, diff = run(("unzip -p %s/%s %s > %s/packed && git show HEAD:%s | diff %s/packed -")
      :format(dir, ROCK, ROCKSPEC, dir, ROCKSPEC, dir))
    assert.is_true(ok, diff)
  end)

  for _, abi in ipairs({ "5.1", "5.4" }) do
    it("installs for Lua " .. abi .. " with no warning, and only what runs on that Lua", function()
      local install = installs[abi]
      assert.is_true(install.ok, install.log)
      assert.is_falsy(install.log:find("[Ww]arning"), install.log)
      assert.is_falsy(install.log:find("Missing dependencies", 1, true), install.log)
      local installed = lines(("cd %s && find . -type f -not -path './lib/luarocks/*'"):format(install.tree))
      local expected = { [("./lib/lua/%s/justclick/core.so"):format(abi)] = true }
      for file in pairs(lines("cd lua && find . -name '*.lua'")) do
        file = file:sub(3)
        if abi == "5.4" or not host_only(file) then
          expected[("./share/lua/%s/%s"):format(abi, file)] = true
        end
      end
      if abi == "5.4" then expected["./bin/justclick"] = true end
      assert.are.same(expected, installed)
    end)
  end

  it("loads from another directory with only the tree on the path, under 5.1, LuaJIT and 5.4", function()
    local ok, hash = run("printf 'a=1::u::s' | md5sum")
    assert.is_true(ok, hash)
    hash = hash:match("^%x+")
    local script = [[
      local j = require "justclick"
      io.write(j.build_query({ goods = { { good_name = "a" } } }), "\n", j.sign({ a = 1 }, "u", "s"), "\n",
        j._VERSION, "\n")
    ]]
    -- LuaJIT takes Lua 5.1's modules: the 5.1 tree.
    for _, lua in ipairs({ { "lua5.1", "5.1" }, { "luajit", "5.1" }, { "lua5.4", "5.4" } }) do
      local tree = installs[lua[2]].tree
      assert.is_true(installs[lua[2]].ok, installs[lua[2]].log)
      local out
      ok, out = run(("cd / && %s LUA_PATH='%s/share/lua/%s/?.lua' LUA_CPATH='%s/lib/lua/%s/?.so' %s -e '%s'")
        :format(CLEAN_ENV, tree, lua[2], tree, lua[2], lua[1], script))
      assert.is_true(ok, lua[1] .. ": " .. out)
      assert.are.equal("goods%5B0%5D%5Bgood_name%5D=a\n" .. hash .. "\n" .. VERSION .. "\n", out, lua[1])
    end
  end)

  it("installs bin/justclick for Lua 5.4, which tells its version and runs a script", function()
    local install = installs["5.4"]
    assert.is_true(install.ok, install.log)
    local host = ("cd / && %s -u LUA_PATH -u LUA_CPATH %s/bin/justclick"):format(CLEAN_ENV, install.tree)
    local ok, out = run(host .. " -v")
    assert.is_true(ok, out)
    assert.is_truthy(out:find("^justclick%-lua " .. VERSION:gsub("%.", "%%.") .. " %(Lua 5%.4"), out)
    ok, out = run(host .. [[ -e 'print(require("justclick").build_query{x = 1.5})']])
    assert.is_true(ok, out)
    assert.are.equal("x=1.5\n", out)
  end)
end)
