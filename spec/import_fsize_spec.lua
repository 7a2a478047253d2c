-- Found by an attack on issue 18: `justclick import` under a file size limit (ulimit -f) that its journal
-- reaches. C failures are nil, err ("a full disk"): the journal's write fails with EFBIG and the
-- run ends with one line and exit 1. The host ignores SIGXFSZ only for `serve`, so the import
-- dies of the signal instead (exit 153, nothing said).
local shell = require "support.shell"
local files = require "support.files"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")

describe("justclick import at the file size limit #lua54", function()
  it("ends with exit 1 and a line that the journal cannot be written, not SIGXFSZ", function()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    local lines = { "id,bill_email,goods" }
    for i = 1, 200 do lines[#lines + 1] = ("r%d,b%d@x.ru,invoice:%d"):format(i, i, i) end
    files.write(dir .. "/big.csv", table.concat(lines, "\n") .. "\n")
    local status, out = shell.run(("cd %s && ulimit -f 4 && env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=u"
      .. " JUSTCLICK_SECRET=attack18bsecret JUSTCLICK_API_URL=http://127.0.0.1:9/api timeout 60 %s import big.csv")
      :format(dir, HOST))
    os.execute("rm -rf " .. dir)
    assert.are.equal(1, status, out)
    assert.truthy(out:find("cannot write the journal", 1, true), out)
    assert.is_nil(out:find("traceback", 1, true), out)
  end)
end)
