-- `justclick events` on a store whose rows were edited by hand (a table events made without its
-- NOT NULLs: NULL kind, state, received): every row listed, its empty cells empty. Before, a
-- NULL cell was taken for a failed copy: "not enough memory to list the inbox", exit 1.
local importing = require "support.importing"
local shell = require "support.shell"
local cjson = require "cjson"

describe("justclick events on rows edited by hand #lua54", function()
  local dir, path
  before_each(function()
    dir = importing.tmpdir()
    path = dir .. "/inbox"
    assert(os.execute(("sqlite3 %s %q"):format(path,
      "CREATE TABLE events (seq INTEGER PRIMARY KEY, key TEXT UNIQUE, kind TEXT, bill_id INTEGER, state TEXT,"
      .. " received TEXT, received_at REAL, tries INTEGER, attempts INTEGER, last_error TEXT, handled TEXT,"
      .. " handled_at REAL, body BLOB);"
      .. " CREATE TABLE trimmed (key TEXT PRIMARY KEY, handled TEXT) WITHOUT ROWID;"
      .. " INSERT INTO events (key, kind, state, received, received_at, tries, attempts, body) VALUES"
      .. " ('paid-1-0123456789abcdef', NULL, 'stored', NULL, NULL, -5, -3, NULL),"
      .. " ('paid-2-0123456789abcdef', 'paid', NULL, '2026-11-23T10:00:00.000Z', 0, NULL, 0, 'b'),"
      .. " ('paid-3-0123456789abcdef', 'paid', 'handled', '2026-11-23T10:00:00.000Z', 0, 1, 0, 'b');")))
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("lists every row, one line each", function()
    local status, out = shell.run(("%s events --inbox %s"):format(importing.HOST, path))
    assert.are.equal(0, status, out)
    local lines = 0
    for _ in out:gmatch("[^\n]+") do lines = lines + 1 end
    assert.are.equal(4, lines, out) -- the heading and 3 rows
  end)

  it("--json: one object a row", function()
    local status, out = shell.run(("%s events --inbox %s --json"):format(importing.HOST, path))
    assert.are.equal(0, status, out)
    local keys = {}
    for line in out:gmatch("[^\n]+") do keys[#keys + 1] = cjson.decode(line).key end
    assert.are.same({ "paid-1-0123456789abcdef", "paid-2-0123456789abcdef", "paid-3-0123456789abcdef" }, keys)
  end)
end)
