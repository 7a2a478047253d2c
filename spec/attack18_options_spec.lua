-- Attack on issue 18 (helper HA): api.md, "Two rules hold for every function here: ... A
-- programming error, such as a wrong argument type or an unknown option, raises." BREAK (not
-- fixed: serve.main hands justclick.serve its own command-line table, with script, secret_file
-- and the like, so the check is not a line): justclick.import and justclick.serve take unknown
-- options silently. `{job = 8}` imports with 4 jobs; `{listen = "0.0.0.0:80"}` (the command
-- line's word) listens on 127.0.0.1:8787.
local justclick = require "justclick"
local files = require "support.files"

describe("attack18: unknown options of the host's commands #lua54", function()
  local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }

  it("BREAK: justclick.import raises for an unknown option", function()
    local path = os.tmpname()
    files.write(path, "id,bill_email,goods\n")
    local ok = pcall(justclick.import, path, { client = client, job = 8 })
    os.execute("rm -f " .. path .. " " .. path .. ".*")
    assert.is_false(ok, "justclick.import took the option `job`")
  end)

  it("BREAK: justclick.serve raises for an unknown option", function()
    local ok = pcall(justclick.serve, function() return true end,
      { client = client, listen = "127.0.0.1:0", inbox = "/nonexistent/attack18/inbox" })
    assert.is_false(ok, "justclick.serve took the option `listen`")
  end)
end)
