-- A row whose attempts were edited by hand to the most a C int holds: its next failure parks it.
-- Before, attempts + 1 overflowed (undefined; it wrapped to the least int), so the event was
-- never parked and was retried for ever.
local scratch_inbox = require "support.scratch_inbox"

describe("an event whose attempts were edited by hand #lua54", function()
  local receiver, path
  scratch_inbox(function(r, _, p) receiver, path = r, p end)

  for _, attempts in ipairs({ "2147483647", "9223372036854775807" }) do
    it("to " .. attempts .. ": parked at its next failure", function()
      assert(receiver.inbox(path)):close()
      assert(os.execute(("sqlite3 %s %q"):format(path, "INSERT INTO events (key, kind, bill_id, state, received,"
        .. " received_at, attempts, body) VALUES ('paid-1-0123456789abcdef', 'paid', 1, 'stored',"
        .. " '2026-11-23T10:00:00.000Z', 0, " .. attempts .. ", 'b');")))
      local inbox = assert(receiver.inbox(path))
      local ev = assert(inbox:next(0))
      assert.are.equal("parked", inbox:failed(ev.key, 60, 5))
      inbox:close()
    end)
  end
end)
