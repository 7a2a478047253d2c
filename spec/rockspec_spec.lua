-- `luarocks make` builds and installs the module and the host from the rockspec into a tree.
-- The rocks registry is out of reach here, so --deps-mode none relies on Debian's lua-cjson.

local run = require("support.shell").ok

describe("justclick-scm-1.rockspec", function()
  local dir, tree, built, log

  lazy_setup(function()
    dir = os.tmpname()
    os.remove(dir)
    tree = dir .. "/tree"
    assert(run("mkdir -p " .. dir .. " && cp -r justclick-scm-1.rockspec Makefile src lua tools LICENSE " .. dir))
    built, log = run(("cd %s && luarocks --lua-version=5.4 make --tree %s --deps-mode none justclick-scm-1.rockspec")
      :format(dir, tree))
  end)

  lazy_teardown(function()
    if dir then run("rm -rf " .. dir) end
  end)

  it("installs a module that loads from the tree and works", function()
    assert.is_true(built, log)
    -- Only the tree and the system's paths: nothing from this work tree.
    local script = [[
      local j = require "justclick"
      io.write(package.searchpath("justclick.core", package.cpath), "\n")
      io.write(j.build_query({ goods = { { good_name = "a" } } }), "\n")
      io.write(j.sign({ a = 1 }, "u", "s"), "\n")
    ]]
    local ok, out = run(("cd / && LUA_PATH='%s/share/lua/5.4/?.lua;;' LUA_CPATH='%s/lib/lua/5.4/?.so;;' lua5.4 -e '%s'")
      :format(tree, tree, script))
    assert.is_true(ok, out)
    local so, query, hash = out:match("^([^\n]+)\n([^\n]+)\n([^\n]+)\n$")
    assert.are.equal(tree .. "/lib/lua/5.4/justclick/core.so", so)
    assert.are.equal("goods%5B0%5D%5Bgood_name%5D=a", query)
    assert.are.equal(require("justclick.core").md5("a=1::u::s"), hash)
  end)

  it("installs a working host program as bin/justclick", function()
    assert.is_true(built, log)
    local ok, out = run(("cd / && env -u LUA_PATH -u LUA_CPATH %s/bin/justclick -e 'print(require(\"justclick\").build_query{x = 1.5})'")
      :format(tree))
    assert.is_true(ok, out)
    assert.are.equal("x=1.5\n", out)
  end)
end)
