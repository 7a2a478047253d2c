-- The receiver's lock is the store's, not its name's: a second receiver given the same database
-- through a symlink or a hard link is refused, as one given the same path is. Before, the lock
-- was PATH-try beside the name given, so `--inbox db` and `--inbox link-to-db` ran two receivers
-- on one store, each handling every pending event: a handler that returned true ran twice.
local importing = require "support.importing"
local files = require "support.files"

describe("the inbox's lock #lua54", function()
  local receiver, dir
  setup(function() receiver = require "justclick.receiver" end)
  before_each(function() dir = importing.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  local function refused(other)
    local first = assert(receiver.inbox(dir .. "/db"))
    local second, err = receiver.inbox(other)
    if second then second:close() end
    first:close()
    assert.is_nil(second)
    assert.is_truthy(err.message:find("in use by another justclick serve", 1, true), err.message)
  end

  it("holds through a symlink to the database", function()
    assert(receiver.inbox(dir .. "/db")):close()
    assert(os.execute(("ln -s db %s/link"):format(dir)))
    refused(dir .. "/link")
  end)

  it("holds through a hard link to the database", function()
    assert(receiver.inbox(dir .. "/db")):close()
    assert(os.execute(("ln %s/db %s/hard"):format(dir, dir)))
    refused(dir .. "/hard")
  end)

  it("is released at close: the next receiver opens it, through either name", function()
    assert(receiver.inbox(dir .. "/db")):close()
    assert(os.execute(("ln -s db %s/link"):format(dir)))
    assert(receiver.inbox(dir .. "/link")):close()
    assert(receiver.inbox(dir .. "/db")):close()
    assert.is_truthy(files.read(dir .. "/db"))
  end)
end)
