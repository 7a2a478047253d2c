-- Found by an attack on issue 18: Ctrl-C twice, the second time while the next run settles the rows the
-- first left in flight (its reads, its grace wait): each exits 130 without a traceback, and a
-- third run creates every row once (the sandbox counts duplicates). A script gets a traceback
-- with an error, after Ctrl-C too (host_spec); the built-in command printed one as well, naming
-- the importer's insides (journal.lua's Book:close, where the hook fired), which no user of
-- `justclick import` can act on: now it says "justclick: interrupted" alone.
local importing = require "support.importing"
local files = require "support.files"
local sandbox = require "support.sandbox"
local core = require "justclick.core"

describe("Ctrl-C during import and during its settling #lua54", function()
  local sb, dir
  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)

  local function interrupt(path, options, after)
    local pid = importing.host_import(sb, path, true, options)
    core.sleep(after)
    os.execute("kill -INT " .. pid)
    local deadline = core.now() + 8
    while sandbox.alive(pid) and core.now() < deadline do core.sleep(0.05) end
    assert.is_falsy(sandbox.alive(pid), "still running after Ctrl-C")
    return files.read(path .. ".out") or ""
  end

  it("Ctrl-C of `justclick import` prints 'justclick: interrupted' and no traceback of the importer's"
    .. " insides", function()
    sb:reset()
    local path = dir .. "/tb.csv"
    files.write(path, importing.csv(30))
    sb:fault("slow", "400", 0)
    local out = interrupt(path, "--jobs 4", 1.2)
    sb:control("clear")
    assert.truthy(out:find("justclick: interrupted", 1, true), out)
    assert.is_nil(out:find("stack traceback", 1, true), out)
  end)

  for _, second in ipairs({ 0.3, 0.9, 2.5 }) do
    it(("interrupted at 1.2 s, then again %.1f s into the next run: a third creates each row once"):format(second),
      function()
        sb:reset()
        local path = ("%s/int%d.csv"):format(dir, second * 10)
        files.write(path, importing.csv(30))
        sb:fault("slow", "400", 0)
        local out1 = interrupt(path, "--jobs 4", 1.2)
        local out2 = interrupt(path, "--jobs 4 --grace 2", second)
        for _, out in ipairs({ out1, out2 }) do
          assert.truthy(out:find("interrupted", 1, true), out)
        end
        sb:control("clear")
        local status, out3 = importing.host_import(sb, path, false, "--grace 1")
        local stats = sb:stats()
        assert.are.equal(0, status, out1 .. out2 .. out3)
        assert.are.equal(0, stats.duplicates, out1 .. out2 .. out3)
        assert.are.equal(30, stats.orders, out1 .. out2 .. out3)
      end)
  end
end)
