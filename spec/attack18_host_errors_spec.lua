-- Attack on issue 18 (helper HA): api.md, "Two rules hold for every function here: A failure the
-- caller must handle returns `nil, err`, where `err` is an error table ([Errors](#errors))", and
-- justclick.import "Returns the summary ..., or `nil, err`", justclick.serve "Returns `true`, or
-- `nil, err` (the inbox cannot be opened, say)". BREAK (not fixed): both return plain strings
-- for their own failures (a missing file, no secret, an inbox that cannot be opened, a wrong
-- secret that stops the import), while their "not installed" failure is an error table: a
-- caller reading err.kind gets nil, and justclick.is_error(err) is false.
local justclick = require "justclick"

describe("attack18: the failures of justclick.import and justclick.serve #lua54", function()
  local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }

  it("BREAK: justclick.import of a missing file is nil and an error table", function()
    local summary, err = justclick.import("/nonexistent/attack18.csv", { client = client })
    assert.is_nil(summary)
    assert.is_true(justclick.is_error(err), "a " .. type(err) .. ": " .. tostring(err))
  end)

  it("BREAK: justclick.serve with an inbox that cannot be opened is nil and an error table", function()
    local done, err = justclick.serve(function() return true end,
      { client = client, inbox = "/nonexistent/dir/inbox", port = 0 })
    assert.is_nil(done)
    assert.is_true(justclick.is_error(err), "a " .. type(err) .. ": " .. tostring(err))
  end)
end)
