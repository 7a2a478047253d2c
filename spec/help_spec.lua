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

  -- Issue 19: every subcommand's help is help: exit 0, on stdout, nothing on stderr; `import
  -- --help` was "unknown option --help", exit 2. A --help among other options is help too.
  for _, args in ipairs({ "--help", "-h", "import --help", "import -h", "import --jobs 3 --help", "serve --help",
    "serve -h", "serve --listen 127.0.0.1:0 --help" }) do
    it(("`justclick %s` prints its usage on stdout and exits 0"):format(args), function()
      local err = os.tmpname()
      local status, out = shell.run(("%s %s 2>%s"):format(HOST, args, err))
      local stderr = require("support.files").read(err)
      os.remove(err)
      assert.are.equal(0, status, out .. stderr)
      assert.are.equal("", stderr)
      assert.truthy(out:find("^usage: justclick"), out)
      local command = args:match("^(%a+)")
      if command then assert.truthy(out:find("^usage: justclick " .. command), out) end
    end)
  end

  it("every option of `justclick -h` is in docs/host.md", function()
    local _, out = shell.run(HOST .. " -h 2>&1")
    local doc = require("support.files").read("docs/host.md")
    for option in out:gmatch("%s(%-%-[%a][%w-]*)") do
      if option == "--version" or option == "--help" then option = option:sub(2, 3) end -- host.md: `-v`, `-h`
      assert.truthy(doc:find("`" .. option, 1, true) or doc:find(option .. " ", 1, true), option .. " is not in docs/host.md")
    end
  end)
end)
