-- Found by an attack on issue 18: a run stopped by a wrong secret journals its first row unknown and says
-- so in its stop line, but its summary line (importer.md: "At the end, a summary: created,
-- existing, skipped, rejected, failed and unknown rows") counted 0 unknown: the pending rows of a
-- stopped run were never counted.
local importing = require "support.importing"
local files = require "support.files"
local sandbox = require "support.sandbox"

describe("the summary of a run stopped by a wrong secret #lua54", function()
  local sb, dir
  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)

  it("counts the row it journaled unknown", function()
    local path = dir .. "/wrong.csv"
    files.write(path, importing.csv(3))
    local p = assert(io.popen(("JUSTCLICK_USER=%s JUSTCLICK_SECRET=not-the-secret JUSTCLICK_API_URL=%s %s import %s 2>&1")
      :format(sandbox.user, sb.api_url, importing.HOST, path)))
    local out = p:read("*a")
    p:close()
    assert.truthy(out:find("line 2 is journaled as unknown", 1, true), out)
    local unknown = 0
    for _, r in ipairs(importing.journal(path)) do
      if r.state == "unknown" then unknown = unknown + 1 end
    end
    assert.are.equal(1, unknown, out)
    assert.truthy(out:find("1 unknown", 1, true), out)
  end)
end)
