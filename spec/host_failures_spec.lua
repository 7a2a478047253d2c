-- The failures of the host's commands, justclick.import and justclick.serve. api.md: "A failure
-- the caller must handle returns `nil, err`, where `err` is an error table", and "A programming
-- error, such as a wrong argument type or an unknown option, raises". Found by the attack on
-- issue 18 (helper HA): both returned plain strings for their own failures (a missing file, no
-- secret, an inbox that cannot be opened), took unknown options silently (`{job = 8}` imported
-- with 4 jobs), and `justclick serve` with nothing configured ended in a traceback.
local justclick = require "justclick"
local files = require "support.files"
local shell = require "support.shell"

local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")
-- the host with no user, secret or API URL in its environment, run in a fresh directory
local UNCONFIGURED = "env -u JUSTCLICK_USER -u JUSTCLICK_SECRET -u JUSTCLICK_API_URL -u LUA_PATH -u LUA_CPATH "

describe("the failures of justclick.import and justclick.serve #lua54", function()
  local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }

  it("the module-level client, unconfigured, tells a Lua caller of justclick.configure, and lists what is missing",
    function()
    local out = require("support.shell").output("cd /tmp && env -u JUSTCLICK_USER -u JUSTCLICK_SECRET JUSTCLICK_USER=u "
      .. "LUA_PATH=\"$OLDPWD/lua/?.lua;;\" LUA_CPATH=\"$OLDPWD/build/lua/?.so;;\" lua5.4 -e "
      .. "'local _, e = require(\"justclick\")._configured_client() print(e.message) print(table.concat(e.missing, \",\"))'")
    assert.are.equal("not configured: call justclick.configure{user = ..., secret = ...} or set JUSTCLICK_USER and"
      .. " JUSTCLICK_SECRET\nsecret\n", out)
  end)

  it("justclick.import of a missing file is nil and an io error table, its message the command's line", function()
    local summary, err = justclick.import("/nonexistent/attack18.csv", { client = client })
    assert.is_nil(summary)
    assert.is_true(justclick.is_error(err), "a " .. type(err) .. ": " .. tostring(err))
    assert.are.equal("io", err.kind)
    assert.are.equal("/nonexistent/attack18.csv", err.path)
    assert.are.equal("justclick.import: /nonexistent/attack18.csv: No such file or directory", err.message)
  end)

  it("justclick.serve with an inbox that cannot be opened is nil and an io error table", function()
    local done, err = justclick.serve(function() return true end,
      { client = client, inbox = "/nonexistent/dir/inbox", port = 0 })
    assert.is_nil(done)
    assert.is_true(justclick.is_error(err), "a " .. type(err) .. ": " .. tostring(err))
    assert.are.equal("io", err.kind)
  end)

  it("justclick.serve with no secret anywhere is nil and an input error, not a raise", function()
    local serve = require "justclick.serve"
    local ok, done, err = pcall(serve.run, function() return true end, { client = client, secret = "" })
    assert.is_true(ok, tostring(done))
    assert.is_nil(done)
    -- said to a Lua caller: no command-line flag, which a library user has none of
    assert.are.same({ "input", "no secret to verify notifications with: options.secret, or justclick.configure{...},"
      .. " or JUSTCLICK_SECRET", { "secret" } }, { err.kind, err.message, err.missing })
  end)

  it("justclick.import raises for an unknown option, naming it", function()
    local path = os.tmpname()
    files.write(path, "id,bill_email,goods\n")
    local ok, err = pcall(justclick.import, path, { client = client, job = 8 })
    os.execute("rm -f " .. path .. " " .. path .. ".*")
    assert.is_false(ok, "justclick.import took the option `job`")
    assert.truthy(tostring(err):find('justclick.import: unknown option "job"', 1, true), tostring(err))
  end)

  it("justclick.serve raises for an unknown option, naming it", function()
    local ok, err = pcall(justclick.serve, function() return true end,
      { client = client, listen = "127.0.0.1:0", inbox = "/nonexistent/attack18/inbox" })
    assert.is_false(ok, "justclick.serve took the option `listen`")
    assert.truthy(tostring(err):find('justclick.serve: unknown option "listen"', 1, true), tostring(err))
  end)
end)

describe("the host's commands with nothing configured #lua54", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    files.write(dir .. "/handler.lua", "return function() return true end\n")
    files.write(dir .. "/orders.csv", "id,bill_email,goods\n1,a@example.com,book\n")
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  -- Runs `justclick ARGS` in dir with nothing configured (plus ENV); its status and its output.
  local function host(args, env)
    return shell.run(("cd %s && %s%s %s %s"):format(dir, UNCONFIGURED, env or "", HOST, args))
  end

  -- One line of output, that line, and no traceback; exit status 1 (host.md). Issue 19: a shell
  -- user is told the flag or variable to set, never to "call justclick.configure{...}"; serve's
  -- line carries its time, as each of its log lines does.
  local function one_line(status, out, line)
    local stamp = "^justclick serve: %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ "
    if line:find("^justclick serve: ") then
      assert.truthy(out:find(stamp), "no time stamp: " .. out)
      out = out:gsub(stamp, "justclick serve: ")
    end
    assert.are.equal(line .. "\n", out)
    assert.is_nil(out:find("justclick.configure", 1, true), out)
    assert.is_nil(out:lower():find("traceback", 1, true), out)
    assert.are.equal(1, status, out)
  end

  it("`justclick serve SCRIPT` says in one line that there is no secret, and exits 1", function()
    local status, out = host("serve handler.lua")
    one_line(status, out, "justclick serve: not configured: no user: --user NAME, or JUSTCLICK_USER; no secret:"
      .. " --secret-file PATH, or JUSTCLICK_SECRET")
    assert.is_nil(io.open(dir .. "/justclick-inbox"), "an inbox was made") -- nothing opened
  end)

  it("`justclick serve SCRIPT` with a user but no secret names --secret-file and JUSTCLICK_SECRET", function()
    local status, out = host("serve handler.lua", "JUSTCLICK_USER=demo ")
    one_line(status, out, "justclick serve: no secret to verify notifications with: --secret-file PATH, or"
      .. " JUSTCLICK_SECRET")
  end)

  it("`justclick serve SCRIPT` with a secret but no user names JUSTCLICK_USER", function()
    local status, out = host("serve handler.lua", "JUSTCLICK_SECRET=s ")
    one_line(status, out, "justclick serve: not configured: no user: --user NAME, or JUSTCLICK_USER")
  end)

  it("`justclick serve --replay` says in one line that it is not configured", function()
    local status, out = host("serve --inbox inbox --replay all handler.lua")
    one_line(status, out, "justclick serve: not configured: no user: --user NAME, or JUSTCLICK_USER; no secret:"
      .. " --secret-file PATH, or JUSTCLICK_SECRET")
  end)

  it("`justclick import FILE` with a secret but no user names JUSTCLICK_USER", function()
    local status, out = host("import orders.csv", "JUSTCLICK_SECRET=s ")
    one_line(status, out, "justclick import: not configured: no user: --user NAME, or JUSTCLICK_USER")
  end)

  it("`justclick import FILE` with a user but no secret names --secret-file and JUSTCLICK_SECRET", function()
    local status, out = host("import orders.csv", "JUSTCLICK_USER=demo ")
    one_line(status, out, "justclick import: not configured: no secret: --secret-file PATH, or JUSTCLICK_SECRET")
  end)

  it("`justclick import FILE` says in one line that it is not configured, and exits 1", function()
    local status, out = host("import orders.csv")
    one_line(status, out, "justclick import: not configured: no user: --user NAME, or JUSTCLICK_USER; no secret:"
      .. " --secret-file PATH, or JUSTCLICK_SECRET")
    assert.is_nil(io.open(dir .. "/orders.csv.journal"), "a journal was made")
  end)

  it("`justclick serve` with an inbox that cannot be opened says so in one line, and exits 1", function()
    local status, out = host("serve --inbox /nonexistent/dir/inbox --listen 127.0.0.1:0 handler.lua",
      "JUSTCLICK_USER=demo JUSTCLICK_SECRET=s ")
    one_line(status, out, "justclick serve: the inbox cannot be opened (--inbox /nonexistent/dir/inbox):"
      .. " /nonexistent/dir/inbox: No such file or directory")
  end)

  -- Issue 19: every line `justclick serve` writes carries its time, the host's own too (a secret
  -- file's warning, with --secret-file before or after `serve`).
  it("`justclick serve` stamps the host's lines too: a secret file's warning, then the failure", function()
    files.write(dir .. "/secret", "s\n")
    os.execute("chmod 644 " .. dir .. "/secret")
    for _, args in ipairs({ "--secret-file secret serve handler.lua", "serve --secret-file secret handler.lua" }) do
      local status, out = host(args)
      assert.are.equal(1, status, out)
      local lines = {}
      for line in out:gmatch("[^\n]+") do
        assert.truthy(line:find("^justclick serve: %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ "), out)
        lines[#lines + 1] = line
      end
      assert.are.equal(2, #lines, out)
      assert.truthy(lines[1]:find("chmod 600", 1, true), out)
      assert.truthy(lines[2]:find("no user: --user NAME, or JUSTCLICK_USER", 1, true), out)
    end
  end)

  -- Issue 19: a traceback only with --verbose (or for a bug); the line comes first, unchanged.
  it("`justclick --verbose serve` and `--verbose import` add a traceback after the same one line", function()
    for _, case in ipairs({
      { "serve handler.lua", "justclick serve: %S+ not configured: no user: %-%-user NAME, or JUSTCLICK_USER; no" },
      { "import orders.csv", "justclick import: not configured: no user: %-%-user NAME, or JUSTCLICK_USER; no" } }) do
      local status, out = host("--verbose " .. case[1])
      assert.are.equal(1, status, out)
      assert.truthy(out:find("^" .. case[2]), out)
      assert.truthy(out:find("\n[^\n]*--verbose: kind input\nstack traceback:\n", 1), out)
      assert.is_nil(out:find("justclick.configure", 1, true), out)
    end
  end)

  it("`justclick import` of a missing file says so in one line, and exits 1", function()
    local status, out = host("import missing.csv", "JUSTCLICK_USER=demo JUSTCLICK_SECRET=s ")
    one_line(status, out, "justclick.import: missing.csv: No such file or directory")
  end)
end)
