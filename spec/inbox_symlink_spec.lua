-- --inbox naming a symlink: the store is the file it points to, for the conversion of a file of
-- the first format too. Before, the conversion renamed the new database over the symlink, and
-- the old file stayed at the symlink's target, to be converted again by a receiver given that
-- name: two stores of one inbox, each handling every pending event (handlers ran twice). The
-- page (PATH-try) is the target's too: one lock, whatever name reaches it.
local importing = require "support.importing"
local files = require "support.files"

local v1 = require "support.inbox_v1"
local event, key = v1.event, v1.key

describe("an inbox reached through a symlink #lua54", function()
  local receiver, dir
  setup(function() receiver = require "justclick.receiver" end)
  before_each(function() dir = importing.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("of the first format: converted where it is, the symlink kept", function()
    files.write(dir .. "/real", event(key(1), "one") .. event(key(2), "two") .. ("H %s\n"):format(key(1)))
    assert(os.execute(("ln -s real %s/link"):format(dir)))
    local inbox = assert(receiver.inbox(dir .. "/link"))
    assert.are.same({ stored = 2, handled = 1, parked = 0, pending = 1 }, inbox:counts())
    inbox:close()
    local p = assert(io.popen(("readlink %s/link"):format(dir)))
    assert.are.equal("real\n", p:read("a"))
    p:close()
    assert.are.equal("SQLite format 3\0", files.read(dir .. "/real"):sub(1, 16))
    assert.is_truthy(files.read(dir .. "/real.v1"))
    -- through the other name: the same store, not converted again
    inbox = assert(receiver.inbox(dir .. "/real"))
    assert.are.same({ stored = 2, handled = 1, parked = 0, pending = 1 }, inbox:counts())
    inbox:close()
  end)

  it("has its target's page: one lock through either name", function()
    assert(receiver.inbox(dir .. "/real")):close()
    assert(os.execute(("ln -s real %s/link"):format(dir)))
    local first = assert(receiver.inbox(dir .. "/link"))
    local second, err = receiver.inbox(dir .. "/real")
    if second then second:close() end
    first:close()
    assert.is_nil(second)
    assert.is_truthy(err.message:find("in use by another justclick serve", 1, true), err.message)
    assert.is_nil(files.read(dir .. "/link-try"))
  end)
end)
