-- `justclick import FILE 2>&1 | head -1`: once the reader has gone, the next progress line met
-- SIGPIPE, which killed the import mid-run (rows left unsent, a row in flight left for the next
-- run to look up) and hid its exit status behind 141. A reader that goes away is not a reason to
-- stop creating orders: the import ignores SIGPIPE, does every row, and exits with its own
-- status (docs/importer.md). Here the pipe's reading end is closed before the import starts, so
-- every write it makes to stdout or stderr finds no reader.
local importing = require "support.importing"
local sandbox = require "support.sandbox"
local files = require "support.files"

-- Runs cmd (a list) with stdout and stderr on a pipe whose reading end is closed; its status.
local DRIVER = [[
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
# restore_signals (the default) gives the child SIGPIPE's default action, as a shell would
print(subprocess.run(sys.argv[1:], stdout=w, stderr=w).returncode)
]]

describe("`justclick import` whose reader has gone #lua54", function()
  local sb, dir
  importing.sandbox(lazy_setup, lazy_teardown, function(s, d)
    sb, dir = s, d
  end)

  it("does every row and exits with its own status, not SIGPIPE's", function()
    local path = dir .. "/orders.csv"
    files.write(path, importing.csv(6))
    local driver = dir .. "/driver.py"
    files.write(driver, DRIVER)
    local p = assert(io.popen(("python3 %s env JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s %s import %s")
      :format(driver, sandbox.user, sandbox.secret, sb.api_url, importing.HOST, path)))
    local status = p:read("a")
    p:close()
    assert.are.equal("0\n", status)
    local again, out = importing.host_import(sb, path)
    assert.are.equal(0, again, out)
    assert.matches("created 0, existing 0, skipped 6,", out)
  end)
end)
