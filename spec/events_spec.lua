-- `justclick events` and the store behind it (issue 19): a SQLite database that sqlite3 reads while
-- `justclick serve` runs, listed one line an event, trimmed of old handled events only, and a
-- handled event replayed with `serve --replay KEY`.
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local core = require "justclick.core"
local cjson = require "cjson"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"
local serving = require "support.serving"

local SECRET = "events-secret-0123456789"

local function notification(id)
  local paid = "2026-11-23 10:00:00"
  return ("id=%d&email=buyer%%40example.com&paid=2026-11-23+10%%3A00%%3A00&last_payment_sum=1500&hash=%s")
    :format(id, md5(id .. "buyer@example.com" .. paid .. SECRET))
end

-- A handler that appends "id attempt" to $HANDLED; it fails on bill 100002.
local HANDLER = [[
return function(event)
  if event.id == 100002 then return nil, "cannot grant 100002" end
  local f = io.open(os.getenv("HANDLED"), "a") f:write(event.id, " ", event.attempt, "\n") f:close()
  return true
end]]

local running = {}

local function lines_of(text)
  local lines = {}
  for line in (text or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

-- What `justclick events` (args) prints, and its status.
local function events(args)
  return shell.run(("%s events %s"):format(importing.HOST, args))
end

describe("justclick events #lua54", function()
  local dir, inbox, pid, url
  before_each(function()
    dir = importing.tmpdir()
    inbox = dir .. "/inbox"
    files.write(dir .. "/handler.lua", HANDLER)
  end)
  after_each(function()
    for _, p in ipairs(running) do os.execute(("kill -KILL %d 2>/dev/null"):format(p)) end
    running = {}
    os.execute("rm -rf " .. dir)
  end)

  -- Starts the receiver (--attempts 1: 100002 is parked at its first failure) and sends 100001 to
  -- 100003; waits until the two are handled and 100002 is parked.
  local function serve_three()
    local log = dir .. "/serve.log"
    local cmd = ("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s HANDLED=%s/handled %s serve --no-confirm --attempts 1"
      .. " --listen 127.0.0.1:0 --inbox %s %s/handler.lua >> %s 2>&1"):format(SECRET, dir, importing.HOST, inbox, dir, log)
    pid, url = serving.launch(cmd, dir, log, running)
    local session = core.session({ timeout = 10 })
    for id = 100001, 100003 do assert.are.equal(200, (session:post(url .. "/notify", notification(id)))) end
    session:close()
    local deadline = core.now() + 10
    while core.now() < deadline and not (#lines_of(files.read(dir .. "/handled")) == 2
      and (files.read(log) or ""):find("parked paid%-100002")) do
      core.sleep(0.05)
    end
    assert.are.equal(2, #lines_of(files.read(dir .. "/handled")), files.read(log))
  end

  local function stop()
    os.execute(("kill -TERM %d"):format(pid))
    local deadline = core.now() + 10
    while not files.read(dir .. "/status") and core.now() < deadline do core.sleep(0.02) end
  end

  it("lists every event, one line each, while the receiver runs; sqlite3 reads them too", function()
    serve_three()
    local status, out = events("--inbox " .. inbox)
    assert.are.equal(0, status, out)
    local lines = lines_of(out)
    assert.are.equal(4, #lines, out) -- a header, then the events in arrival order
    assert.is_truthy(lines[1]:find("^KEY%s+KIND%s+BILL%s+STATE%s+RECEIVED%s+TRIES%s+LAST ERROR$"), lines[1])
    assert.is_truthy(lines[2]:find("^paid%-100001%-%x+%s+paid%s+100001%s+handled%s+%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z%s+1%s*$"),
      lines[2])
    assert.is_truthy(lines[3]:find("^paid%-100002%-%x+%s+paid%s+100002%s+parked%s+%S+%s+1%s+cannot grant 100002$"),
      lines[3])
    status, out = events("--inbox " .. inbox .. " --state parked")
    assert.are.equal(0, status, out)
    assert.are.equal(2, #lines_of(out), out)
    status, out = events("--inbox " .. inbox .. " --json")
    assert.are.equal(0, status, out)
    local rows = {}
    for _, line in ipairs(lines_of(out)) do rows[#rows + 1] = cjson.decode(line) end
    assert.are.equal(3, #rows, out)
    assert.are.same({ "paid", 100002, "parked", 1, 1, "cannot grant 100002" },
      { rows[2].kind, rows[2].bill_id, rows[2].state, rows[2].tries, rows[2].attempts, rows[2].last_error })
    assert.are.equal(cjson.null, rows[1].last_error)
    status, out = shell.run(("sqlite3 %s \"select bill_id, state from events order by seq\""):format(inbox))
    assert.are.equal(0, status, out)
    assert.are.equal("100001|handled\n100002|parked\n100003|handled\n", out)
    stop()
  end)

  it("says which flag is wrong in one line", function()
    local status, out = events("--inbox " .. dir .. "/no-such")
    assert.are.equal(1, status)
    assert.are.equal(("justclick events: --inbox: no inbox at %s/no-such\n"):format(dir), out)
    assert.is_nil(files.read(dir .. "/no-such"), "a mistyped path made an inbox")
    status, out = events("--inbox " .. inbox .. " --state done")
    assert.are.equal(2, status)
    assert.is_truthy(out:find("^justclick events: %-%-state [^\n]*\n$"), out)
    status, out = events("--inbox " .. inbox .. " --trim soon")
    assert.are.equal(2, status)
    assert.is_truthy(out:find("^justclick events: %-%-trim [^\n]*\n$"), out)
    local help
    status, help = shell.run(importing.HOST .. " events --help 2>/dev/null")
    assert.are.equal(0, status)
    assert.is_truthy(help:find("^usage: justclick events"), help)
    status, help = shell.run(importing.HOST .. " events --inbox " .. inbox .. " --json -h 2>/dev/null")
    assert.are.equal(0, status, help) -- anywhere among the options, as serve's and import's
    assert.is_truthy(help:find("^usage: justclick events"), help)
  end)

  it("keeps one line an event when a last error has several", function()
    serve_three()
    stop()
    assert(shell.ok(("sqlite3 %s \"update events set last_error = 'first' || char(10) || 'second'"
      .. " where bill_id = 100002\""):format(inbox)))
    local status, out = events("--inbox " .. inbox)
    assert.are.equal(0, status, out)
    assert.are.equal(4, #lines_of(out), out)
    assert.is_truthy(out:find("first\\nsecond", 1, true) or out:find("first\\010second", 1, true), out)
  end)

  it("trims handled events older than DAYS while the receiver runs, and never one that is not handled", function()
    serve_three()
    -- Ten days older: 100001 (handled) and 100002 (parked), received and handled.
    assert(shell.ok(("sqlite3 %s \"update events set received_at = received_at - 864000,"
      .. " handled_at = handled_at - 864000 where bill_id in (100001, 100002)\""):format(inbox)))
    local status, out = events("--inbox " .. inbox .. " --trim 5")
    assert.are.equal(0, status, out)
    assert.are.equal("deleted 1 handled events handled more than 5 days ago\n", out)
    out = select(2, shell.run(("sqlite3 %s \"select bill_id, state from events order by seq\""):format(inbox)))
    assert.are.equal("100002|parked\n100003|handled\n", out) -- the parked one stays, however old
    status, out = events("--inbox " .. inbox .. " --trim 0")
    assert.are.equal("deleted 1 handled events handled more than 0 days ago\n", out)
    assert.are.equal(0, status, out)
    -- A trimmed event sent again is known: acknowledged, never handled again. 100004, sent after
    -- it, is handled: by then the resend has been stored or refused.
    local session = core.session({ timeout = 10 })
    for _, id in ipairs({ 100001, 100003, 100004 }) do
      assert.are.equal(200, (session:post(url .. "/notify", notification(id))))
    end
    session:close()
    local deadline = core.now() + 10
    while core.now() < deadline and #lines_of(files.read(dir .. "/handled")) < 3 do core.sleep(0.05) end
    assert.are.same({ "100001 1", "100003 1", "100004 1" }, lines_of(files.read(dir .. "/handled")))
    stop()
    out = select(2, shell.run(("sqlite3 %s \"select count(*) from trimmed\""):format(inbox)))
    assert.are.equal("2\n", out)
    out = select(2, shell.run(("sqlite3 %s \"select bill_id, state from events\""):format(inbox)))
    assert.are.equal("100002|parked\n100004|handled\n", out)
  end)

  it("replays a handled event: its handler runs again (serve --replay KEY)", function()
    serve_three()
    stop()
    local key = assert(select(2, shell.run(("sqlite3 %s \"select key from events where bill_id = 100001\""):format(inbox)))
      :match("^(%S+)\n"))
    local status, out = shell.run(("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s HANDLED=%s/handled %s serve --no-confirm"
      .. " --inbox %s --replay %s %s/handler.lua"):format(SECRET, dir, importing.HOST, inbox, key, dir))
    assert.are.equal(0, status, out)
    local handled = lines_of(files.read(dir .. "/handled"))
    assert.are.equal(3, #handled)
    assert.are.equal("100001 1", handled[3])
    out = select(2, shell.run(("sqlite3 %s \"select state, tries from events where key = '%s'\""):format(inbox, key)))
    assert.are.equal("handled|2\n", out)
    status, out = shell.run(("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s %s serve --no-confirm --inbox %s --replay"
      .. " paid-1-0000 %s/handler.lua"):format(SECRET, importing.HOST, inbox, dir))
    assert.are.equal(1, status)
    assert.is_truthy(out:find("no event paid%-1%-0000 in"), out)
  end)
end)
