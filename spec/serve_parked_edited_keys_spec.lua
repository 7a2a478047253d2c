-- `justclick serve --parked` (and --replay all) on parked rows whose keys were edited by hand
-- past 64 bytes: they are left out, as next leaves them, and nothing is written past a buffer.
-- Before, each key was copied whole into a 65-byte slot: a heap overflow (valgrind: invalid
-- writes in collect_parked), and lines of run-together keys.
local importing = require "support.importing"
local scratch_inbox = require "support.scratch_inbox"
local shell = require "support.shell"

describe("serve --parked on parked rows with keys edited by hand #lua54", function()
  local receiver, path
  scratch_inbox(function(r, _, p) receiver, path = r, p end)

  it("lists the parked events it can replay, and only them", function()
    assert(receiver.inbox(path)):close()
    assert(os.execute(("sqlite3 %s %q"):format(path, "INSERT INTO events (key, kind, state, received, received_at,"
      .. " attempts, body) VALUES ('paid-1-0123456789abcdef', 'paid', 'parked', 'x', 0, 3, 'b');"
      .. " WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 40)"
      .. " INSERT INTO events (key, kind, state, received, received_at, body)"
      .. " SELECT n || printf('%.300c', 'k'), 'paid', 'parked', 'x', 0, 'b' FROM c;")))
    local status, out = shell.run(("%s serve --inbox %s --parked"):format(importing.HOST, path))
    assert.are.equal(0, status, out)
    assert.are.equal("paid-1-0123456789abcdef\t3 failures\n", out)
  end)
end)
