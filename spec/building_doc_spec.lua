-- Found by an attack on issue 18: docs/building.md's "What lands where" names the files of each
-- rock. It once left out justclick/errors.lua, which
-- `make install-library` and the justclick rock install (lua/justclick/errors.lua, the errors
-- every call returns).
local files = require "support.files"
local shell = require "support.shell"

describe("docs/building.md's table of what lands where", function()
  it("names every Lua file the library installs", function()
    local doc = files.read("docs/building.md")
    local row = doc:match("\n| `justclick` |[^\n]*")
    assert.is_not_nil(row, "no row for the justclick rock")
    local _, listing = shell.run("ls lua/*.lua lua/justclick/*.lua")
    local host = { ["lua/justclick/import.lua"] = true, ["lua/justclick/serve.lua"] = true }
    for path in listing:gmatch("%S+") do
      if not host[path] then
        local installed = path:gsub("^lua/", "")
        assert.truthy(row:find("`" .. installed .. "`", 1, true), installed .. " is not in: " .. row)
      end
    end
  end)
end)
