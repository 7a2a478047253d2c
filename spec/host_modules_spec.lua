-- Found by an attack on issue 18: justclick.import and justclick.serve under a Lua that is not
-- 5.4. api.md: "These two need Lua 5.4 and the justclick-host rock ... Under other Luas
-- `require` fails with "not found"", and justclick.serve/import "return nil, err saying so".
-- In the work tree (LUA_PATH="lua/?.lua;..."), as the README and busted use it, the host's Lua
-- files are on the path of every Lua: justclick.import then raised Lua 5.4's `<close>` as a
-- syntax error ("unexpected symbol near '<'") under 5.1, LuaJIT and 5.3.
local justclick = require "justclick"

describe("the host's commands under the Lua that runs the specs", function()
  it("justclick.import returns nil and one line naming the justclick-host rock and Lua 5.4, or runs (5.4)", function()
    local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }
    local ok, result, err = pcall(justclick.import, "/nonexistent/attack18.csv", { client = client })
    assert.is_true(ok, "justclick.import raised: " .. tostring(result))
    assert.is_nil(result) -- under 5.4: the file is not there
    if _VERSION ~= "Lua 5.4" then
      assert.is_true(justclick.is_error(err))
      assert.truthy(tostring(err):find("justclick-host", 1, true), tostring(err))
      assert.is_nil(tostring(err):find("\n", 1, true), tostring(err))
    end
  end)

  it("justclick.serve returns nil and one line under a Lua that is not 5.4", function()
    if _VERSION == "Lua 5.4" then return end
    local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }
    local ok, result, err = pcall(justclick.serve, function() return true end, { client = client })
    assert.is_true(ok, "justclick.serve raised: " .. tostring(result))
    assert.is_nil(result)
    assert.truthy(tostring(err):find("justclick-host", 1, true), tostring(err))
    assert.is_nil(tostring(err):find("\n", 1, true), tostring(err))
  end)
end)
