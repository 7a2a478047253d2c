-- `justclick serve --parked` and `--replay` name the flag when the inbox cannot be opened, as
-- serve does: one line "the inbox cannot be opened (--inbox PATH): why", exit 1, no traceback.
-- Before, they said only "PATH: why" (a directory, another program's database).
local importing = require "support.importing"
local shell = require "support.shell"
local files = require "support.files"

describe("serve --parked and --replay on an inbox that cannot be opened #lua54", function()
  local dir
  before_each(function()
    dir = importing.tmpdir()
    assert(os.execute("mkdir " .. dir .. "/adir"))
    files.write(dir .. "/handler.lua", "return function() return true end\n")
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  local function one_line(args)
    local status, out = shell.run(("JUSTCLICK_USER=demo JUSTCLICK_SECRET=s %s serve --inbox %s/adir %s")
      :format(importing.HOST, dir, args))
    assert.are.equal(1, status, out)
    local lines = {}
    for line in out:gmatch("[^\n]+") do
      if not line:find("WARNING", 1, true) then lines[#lines + 1] = line end
    end
    assert.are.equal(1, #lines, out)
    assert.is_truthy(lines[1]:find("the inbox cannot be opened (--inbox " .. dir .. "/adir)", 1, true), out)
    assert.is_falsy(out:find("traceback", 1, true), out)
  end

  it("--parked", function() one_line("--parked") end)
  it("--replay KEY", function() one_line("--no-confirm --replay paid-1-0123 " .. dir .. "/handler.lua") end)
  it("--replay all", function() one_line("--no-confirm --replay all " .. dir .. "/handler.lua") end)
end)
