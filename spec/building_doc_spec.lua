-- Found by an attack on issue 18: docs/building.md's "What lands where" names the files of each
-- rock. It once left out justclick/errors.lua, which
-- `make install-library` and the justclick rock install (lua/justclick/errors.lua, the errors
-- every call returns); and issue 19's justclick/events.lua, a file of the host's.
local files = require "support.files"
local shell = require "support.shell"

-- The Makefile's HOST_LUA: the Lua files of the justclick-host rock (its continuation lines too).
local function host_lua()
  local make = files.read("Makefile")
  local def = assert(make:match("\nHOST_LUA%s*:=(.-[^\\])\n"), "no HOST_LUA in the Makefile")
  local host = {}
  for word in def:gsub("\\\n", " "):gmatch("%S+") do
    local pattern = word:match("^%$%(wildcard (.-)%)$")
    if pattern then
      for path in select(2, shell.run("ls " .. pattern .. " 2>/dev/null")):gmatch("%S+") do host[path] = true end
    elseif not word:find("$(", 1, true) then
      host[word] = true
    end
  end
  return host
end

local function row_of(doc, rock)
  local row = doc:match("\n| `" .. rock:gsub("%-", "%%-") .. "` |[^\n]*")
  assert.is_not_nil(row, "no row for the " .. rock .. " rock")
  return row
end

describe("docs/building.md's table of what lands where", function()
  it("names every Lua file each rock installs, in that rock's row", function()
    local doc = files.read("docs/building.md")
    local library, host_row = row_of(doc, "justclick"), row_of(doc, "justclick-host")
    local host = host_lua()
    assert.is_true(host["lua/justclick/serve.lua"] and host["lua/justclick/events.lua"])
    local _, listing = shell.run("ls lua/*.lua lua/justclick/*.lua")
    for path in listing:gmatch("%S+") do
      local installed = path:gsub("^lua/", "")
      if host[path] then
        assert.truthy(host_row:find("`" .. installed .. "`", 1, true), installed .. " is not in: " .. host_row)
      else
        assert.truthy(library:find("`" .. installed .. "`", 1, true), installed .. " is not in: " .. library)
      end
    end
  end)
end)
