-- Found by CI: php -S's workers and the notifier open a new sandbox's store at once, and SQLite
-- refuses the loser's switch to WAL at once (SQLITE_BUSY, which the busy timeout does not cover):
-- the first API request of a new sandbox was sometimes a 500. A hundred rounds of twelve processes
-- opening one new store together (spec/support/store_open_race.php) failed within seconds before
-- the switch was tried again. #lua54: PHP alone; one run of it is enough.
local shell = require "support.shell"

describe("the sandbox's store #lua54", function()
  it("opens a new file from many processes at once", function()
    local status, out = shell.run("php spec/support/store_open_race.php 100 12")
    assert.are.equal(0, status, out)
    assert.are.equal("ok\n", out)
  end)
end)
