-- Issue 19: an import that rejected rows exited 0, so cron learned nothing; one that left rows
-- unknown exited 1, as one that failed. Now each has its own status (docs/importer.md, host.md,
-- `justclick import --help`): 0 every row done, 4 a row unknown, 1 a row failed (or the run
-- stopped), 3 a row rejected; the first of 4, 1, 3 wins. And a wrong secret names the flag and
-- the variable it comes from.
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"

local HOST = importing.HOST
-- nothing listens on port 9: a row that is sent fails before it reaches anyone (not sent)
local ENV = "env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=demo JUSTCLICK_SECRET=s JUSTCLICK_API_URL=http://127.0.0.1:9/api "

local HEADER = "id,bill_email,goods\n"
local GOOD = "row1,a@example.com,book:100\n"
local BAD = "row2,,book:100\n" -- no email: rejected
local DONE = '{"row":"row1","line":2,"state":"done","bill_id":7}\n'
local UNKNOWN = '{"row":"row1","line":2,"state":"unknown","message":"no answer"}\n'

describe("the exit status of `justclick import` #lua54", function()
  local dir
  before_each(function() dir = importing.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  -- Imports a file of `rows` (with `journal` beside it, if given); the status and the output.
  local function import(rows, journal, options)
    local path = dir .. "/orders.csv"
    files.write(path, HEADER .. rows)
    if journal then files.write(path .. ".journal", journal) end
    return shell.run(("%s%s %s import %s"):format(ENV, HOST, options or "", path))
  end

  it("is 0 when every row is done", function()
    local status, out = import(GOOD, DONE)
    assert.are.equal(0, status, out)
    assert.truthy(out:find("skipped 1", 1, true), out)
  end)

  it("is 3 when a row was rejected and nothing else went wrong", function()
    local status, out = import(GOOD .. BAD, DONE)
    assert.are.equal(3, status, out)
    assert.truthy(out:find("line 3: rejected", 1, true), out)
    assert.truthy(out:find("rejected 1", 1, true), out)
  end)

  it("is 4 when a row's outcome is unknown", function()
    files.write(dir .. "/orders.csv", HEADER .. GOOD)
    files.write(dir .. "/orders.csv.journal", UNKNOWN)
    local status, out = shell.run(("%s%s --dry-run import %s"):format(ENV, HOST, dir .. "/orders.csv"))
    assert.are.equal(4, status, out)
    assert.truthy(out:find("unknown 1", 1, true), out)
  end)

  it("is 4, not 3, when a row is unknown and another rejected", function()
    files.write(dir .. "/orders.csv", HEADER .. GOOD .. BAD)
    files.write(dir .. "/orders.csv.journal", UNKNOWN)
    local status, out = shell.run(("%s%s --dry-run import %s"):format(ENV, HOST, dir .. "/orders.csv"))
    assert.are.equal(4, status, out)
    assert.truthy(out:find("rejected 1, unknown 1", 1, true), out)
  end)

  it("is 1, not 3, when a row failed and another was rejected", function()
    local status, out = import(GOOD .. BAD)
    assert.are.equal(1, status, out)
    assert.truthy(out:find("rejected 1, failed 1", 1, true), out)
  end)

  it("is said in `justclick import --help`", function()
    local status, out = shell.run(HOST .. " import --help")
    assert.are.equal(0, status, out)
    assert.truthy(out:find("Exit status: 0 every row done; 4 a row's", 1, true), out)
    assert.truthy(out:find("the first of 4, 1, 3 wins", 1, true), out)
  end)
end)

describe("`justclick import` with a wrong secret #lua54", function()
  local sb, dir
  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)

  it("stops in one line that names --secret-file and JUSTCLICK_SECRET, exit 1, no traceback", function()
    sb:reset()
    local path = dir .. "/wrong.csv"
    files.write(path, importing.csv(3))
    local status, out = shell.run(("env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=demo JUSTCLICK_SECRET=wrong-secret "
      .. "JUSTCLICK_API_URL=%s %s import --grace 0 %s 2>&1 >/dev/null"):format(sb.api_url, HOST, path))
    assert.are.equal(1, status, out)
    assert.is_nil(out:find("traceback", 1, true), out)
    assert.is_nil(out:find("wrong-secret", 1, true), out) -- never the secret itself
    local last = out:match("([^\n]*)\n$")
    assert.truthy(last:find("^justclick import: stopped at line 2: "), out)
    assert.truthy(last:find("check the secret (--secret-file PATH, or JUSTCLICK_SECRET)", 1, true), out)
  end)
end)
