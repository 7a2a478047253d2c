-- inbox:begin(key) with a key no notification makes (a row edited by hand past 64 bytes): no
-- try begins (false). Before, its row took the try and the key was copied whole into the page's
-- 72-byte key field, over the try number and the outcome that follow it.
local scratch_inbox = require "support.scratch_inbox"
local files = require "support.files"

describe("inbox:begin with a key edited by hand #lua54", function()
  local receiver, path
  scratch_inbox(function(r, _, p) receiver, path = r, p end)

  it("begins no try, and leaves the page as it was", function()
    local key = ("k"):rep(100)
    assert(receiver.inbox(path)):close()
    assert(os.execute(("sqlite3 %s %q"):format(path, "INSERT INTO events (key, kind, state, received, received_at,"
      .. " body) VALUES ('" .. key .. "', 'paid', 'stored', 'x', 0, 'b');")))
    local page = files.read(path .. "-try")
    local inbox = assert(receiver.inbox(path))
    assert.is_false(inbox:begin(key))
    inbox:close()
    assert.are.equal(page, files.read(path .. "-try"))
  end)
end)
