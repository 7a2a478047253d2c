-- Found by an attack on issue 18: the host's help texts. `justclick -h` ends its serve part with
-- "(justclick serve --help for the rest)", and docs/host.md and docs/receiving-payments.md say
-- "`justclick serve --help` prints these" (its options). It printed them after "justclick serve:
-- unknown option --help", as a usage error, with exit status 2.
local shell = require "support.shell"

local HOST = os.getenv("PWD") .. "/build/bin/justclick"

describe("the host's help #lua54", function()
  it("justclick -h points to `justclick serve --help`", function()
    local status, out = shell.run(HOST .. " -h 2>&1")
    assert.are.equal(0, status, out)
    assert.truthy(out:find("justclick serve --help", 1, true), out)
  end)

  it("`justclick serve --help` prints the serve options of docs/host.md, as help, not as a usage error", function()
    local status, out = shell.run(HOST .. " serve --help 2>&1")
    assert.are.equal(0, status, out)
    assert.is_nil(out:find("unknown option", 1, true), out)
    for _, option in ipairs({ "--listen", "--inbox", "--attempts", "--timeout", "--connections", "--secret-file",
      "--no-confirm", "--parked", "--replay" }) do
      assert.truthy(out:find(option, 1, true), option .. " missing from: " .. out)
    end
  end)

  it("every option of `justclick -h` is in docs/host.md", function()
    local _, out = shell.run(HOST .. " -h 2>&1")
    local doc = require("support.files").read("docs/host.md")
    for option in out:gmatch("%s(%-%-[%a][%w-]*)") do
      if option == "--version" or option == "--help" then option = option:sub(2, 3) end -- host.md: `-v`, `-h`
      assert.truthy(doc:find("`" .. option, 1, true) or doc:find(option .. " ", 1, true), option .. " is not in docs/host.md")
    end
  end)
end)
