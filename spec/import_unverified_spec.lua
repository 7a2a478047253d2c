-- Found by an attack on issue 18: an unverified error reply to a write is unsettled and the importer
-- leaves its row unknown; a wrong secret stops the import at its first row. Then a run with the
-- right secret creates every row once: none twice (the sandbox's duplicates), none lost.
local importing = require "support.importing"
local files = require "support.files"
local sandbox = require "support.sandbox"

describe("import through unverified replies, then again #lua54", function()
  local sb, dir
  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)
  before_each(function() sb:reset() end)

  for _, case in ipairs({
    { name = "forged code 8 after the method ran (limit:forged, 3 requests)", kind = "limit:forged", count = 3 },
    { name = "replies signed with another secret (badhash, 3 requests)", kind = "badhash", count = 3 },
  }) do
    it(case.name .. ", mixed with verified ones, jobs 3: re-run creates each row once", function()
      local path = dir .. "/" .. case.kind:gsub(":", "_") .. ".csv"
      files.write(path, importing.csv(24))
      local kind, arg = case.kind:match("^([^:]+):?(.*)$")
      sb:fault(kind, arg, case.count)
      local status1, out1 = importing.host_import(sb, path, false, "--jobs 3 --grace 1")
      assert.is_nil(out1:find("traceback", 1, true), out1)
      assert.is_nil(out1:find(sandbox.secret, 1, true), out1)
      local status2, out2 = importing.host_import(sb, path, false, "--jobs 3 --grace 1")
      for _ = 1, 4 do -- the fault may still be armed for the first request of a run: once more
        if status2 == 0 then break end
        out1 = out1 .. "\n" .. out2
        status2, out2 = importing.host_import(sb, path, false, "--jobs 3 --grace 1")
      end
      local stats = sb:stats()
      assert.are.equal(0, status2, ("first: %s %s\nsecond: %s"):format(status1, out1, out2))
      assert.are.equal(0, stats.duplicates, out1 .. out2)
      assert.are.equal(24, stats.orders, out1 .. out2)
    end)
  end

  it("a wrong secret stops at its first row; the right one then imports each row once", function()
    local path = dir .. "/wrong.csv"
    files.write(path, importing.csv(10))
    local cmd = ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=not-the-secret JUSTCLICK_API_URL=%s %s import --jobs 4 %s 2>&1; echo rc=$?")
      :format(sandbox.user, sb.api_url, importing.HOST, path)
    local p = assert(io.popen(cmd))
    local out1 = p:read("*a")
    p:close()
    assert.is_nil(out1:find("traceback", 1, true), out1)
    assert.is_nil(out1:find("not-the-secret", 1, true), out1)
    assert.is_nil(out1:find("rc=0", 1, true), out1)
    local status2, out2 = importing.host_import(sb, path, false, "--jobs 4 --grace 1")
    local stats = sb:stats()
    assert.are.equal(0, status2, out1 .. "\n" .. out2)
    assert.are.equal(0, stats.duplicates, out1 .. out2)
    assert.are.equal(10, stats.orders, out1 .. out2)
  end)
end)
