-- --inbox PATH naming a SQLite database that is not an inbox: refused with one line, the
-- database left as it was. Before, the receiver added its tables to another program's database
-- and switched it to WAL; and a table `events` of another shape was taken as is: one whose key
-- is not unique stored a notification sent again as a second event, whose handler ran again.
local scratch_inbox = require "support.scratch_inbox"

local function sql(path, statement)
  local p = assert(io.popen(("sqlite3 %q %q"):format(path, statement)))
  local out = p:read("a")
  p:close()
  return out
end

describe("a database that is not an inbox #lua54", function()
  local receiver, path
  scratch_inbox(function(r, _, p) receiver, path = r, p end)

  local function refused(why)
    local inbox, err = receiver.inbox(path)
    if inbox then inbox:close() end
    assert.is_nil(inbox)
    assert.is_truthy(err.message:find(path, 1, true), err.message)
    assert.is_truthy(err.message:find(why, 1, true), err.message)
    assert.is_falsy(err.message:find("\n", 1, true), err.message)
  end

  it("another program's: refused, and left as it was (no table added, its journal mode kept)", function()
    sql(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO customers VALUES (1, 'a@b');")
    refused("not a justclick inbox")
    assert.are.equal("customers\n", sql(path, "SELECT group_concat(name) FROM sqlite_master;"))
    assert.are.equal("delete\n", sql(path, "PRAGMA journal_mode;"))
  end)

  it("with a table events whose key is not unique: refused", function()
    sql(path, "CREATE TABLE events (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL, bill_id INTEGER,"
      .. " state TEXT NOT NULL, received TEXT NOT NULL, received_at REAL NOT NULL, tries INTEGER NOT NULL DEFAULT 0,"
      .. " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, handled TEXT, handled_at REAL, body BLOB NOT NULL);")
    refused("not a justclick inbox")
  end)

  it("with a table events of other columns: refused", function()
    sql(path, "CREATE TABLE events (id INTEGER PRIMARY KEY, key TEXT UNIQUE, payload TEXT);")
    refused("not a justclick inbox")
  end)

  it("an inbox, and an empty file, open", function()
    assert(receiver.inbox(path)):close()
    assert(receiver.inbox(path)):close()
    os.remove(path)
    os.remove(path .. "-try")
    assert(io.open(path, "w")):close()
    assert(receiver.inbox(path)):close()
  end)
end)
