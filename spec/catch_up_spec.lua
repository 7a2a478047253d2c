-- Catch-up (issue 20): a payment whose notification never came is read from the API
-- (getOrdersWithGoods, paid = true) and handed over once; a payment is handled once, whichever
-- way it came first: a late notification of a payment catch-up handled, or a catch-up of a
-- payment its notification handled, hands nothing over again. The sandbox drops a notification
-- (notify drop) or holds it past a pass (notify delay), and pays a bill in the past (pay at).
local core = require "justclick.core"
local cjson = require "cjson"
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"
local serving = require "support.serving"

-- Appends "SOURCE BILL KIND" to $HANDLED for each paid event it is handed.
local HANDLER = [[
return {
  paid = function(event)
    assert(event.confirmed and event.confirmed.pay_status, "not confirmed")
    local f = assert(io.open(os.getenv("HANDLED"), "a"))
    f:write(event.source, " ", event.id, " ", event.kind, "\n")
    f:close()
    return true
  end,
}]]

local function lines_of(text)
  local lines = {}
  for line in (text or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

-- Waits until `done()` is true, at most `seconds`; returns whether it is.
local function wait_for(seconds, done)
  local deadline = core.now() + seconds
  while not done() and core.now() < deadline do core.sleep(0.05) end
  return done()
end

describe("catch-up #lua54", function()
  local sb, dir, inbox, running = nil, nil, nil, {}

  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)

  before_each(function()
    sb:reset()
    dir = importing.tmpdir()
    inbox = dir .. "/inbox"
    files.write(dir .. "/handler.lua", HANDLER)
  end)
  after_each(function()
    for _, p in ipairs(running) do os.execute(("kill -KILL %d 2>/dev/null"):format(p)) end
    running = {}
    -- a process killed a moment ago may still be closing its files
    os.execute(("rm -rf %s 2>/dev/null || (sleep 0.5; rm -rf %s)"):format(dir, dir))
  end)

  local function env()
    return ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s HANDLED=%s/handled"):format(sandbox.user,
      sandbox.secret, sb.api_url, dir)
  end

  local function handled() return lines_of(files.read(dir .. "/handled")) end

  local function new_bill(email)
    local order = assert(sb:client():create_order({ bill_email = email or "buyer@example.com",
      goods = { { good_name = "invoice" } } }))
    return math.tointeger(tonumber(order.bill_id))
  end

  local function pay(bill, at)
    return sb:control("pay", { bill_id = bill, at = at })
  end

  -- `justclick serve` with the handler, in the background; returns its log's path and its URL.
  local function serve(flags)
    local log = dir .. "/serve.log"
    local cmd = ("%s %s serve --listen 127.0.0.1:0 --inbox %s %s %s/handler.lua >> %s 2>&1"):format(env(),
      importing.HOST, inbox, flags or "", dir, log)
    local pid, url = serving.launch(cmd, dir, log, running)
    return log, url, pid
  end

  local function stop(pid)
    os.execute(("kill -TERM %d"):format(pid))
    assert(wait_for(15, function() return files.read(dir .. "/status") ~= nil end), "serve did not stop")
  end

  local function catch_up(flags)
    return shell.run(("%s %s catch-up --inbox %s %s %s/handler.lua"):format(env(), importing.HOST, inbox,
      flags or "", dir))
  end

  it("hands over a lost payment once, never one its notification handled, an unpaid one or one"
    .. " paid before the span", function()
    local log, url, pid = serve()
    sb:notify({ url = url .. "/notify" })
    local heard = new_bill("heard@example.com")
    pay(heard)
    assert(wait_for(20, function() return #handled() == 1 end), files.read(log))
    local lost = new_bill("lost@example.com")
    sb:notify({ drop = 1 })
    pay(lost)
    local unpaid = new_bill("unpaid@example.com")
    local old = new_bill("old@example.com")
    sb:notify({ drop = 1 })
    pay(old, os.time() - 10 * 86400)
    sb:settle()
    stop(pid)
    assert.are.same({ "notification " .. heard .. " paid" }, handled(), "the dropped ones arrived")

    local status, out = catch_up("--days 3")
    assert.are.equal(0, status, out)
    assert.are.same({ "notification " .. heard .. " paid", "api " .. lost .. " paid" }, handled(), out)
    assert.is_truthy(out:find("the API lists 2 bills paid in the last 3 days: 1 handled already", 1, true), out)

    -- a second pass finds both handled; unpaid never, old only in a span that holds it
    status, out = catch_up("--days 3")
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("2 handled already, 0 to be handled, 0 parked, 0 stored", 1, true), out)
    status, out = catch_up("--days 12 --dry-run")
    assert.are.equal(0, status, out)
    assert.are.same({ ("would hand over paid-%d-api: bill %d"):format(old, old) },
      { out:match("(would hand over [^:]+: bill %d+)") }, out)
    assert.is_nil(out:find("bill " .. unpaid, 1, true), out)
    assert.are.equal(2, #handled(), "a dry run ran a handler")
    status, out = shell.run(("sqlite3 %s \"select key, state from events where kind = 'paid' order by seq\""):format(
      inbox))
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find(("paid%%-%d%%-api|handled"):format(lost)), out)
    assert.is_nil(out:find("paid%-" .. old), out)
  end)

  it("inside the receiver: a pass hands over a dropped payment, and the late notification that"
    .. " follows is recognised and not handed over again", function()
    local log, url, pid = serve("--catch-up 0.05") -- a pass every 3 s
    sb:notify({ url = url .. "/notify" })
    local late = new_bill("late@example.com")
    sb:settle()
    sb:notify({ delay = 12 })
    pay(late)
    assert(wait_for(30, function() return #handled() == 1 end), files.read(log))
    assert.are.same({ "api " .. late .. " paid" }, handled())
    -- the notification comes after the pass: stored, settled as a duplicate, no handler
    assert(wait_for(40, function()
      return (files.read(log) or ""):find(("bill %d's payment was handled already, as paid%%-%d%%-api"):format(late, late))
    end), files.read(log))
    local lost = new_bill("dropped@example.com")
    sb:settle()
    sb:notify({ drop = 1 })
    pay(lost)
    assert(wait_for(30, function() return #handled() == 2 end), files.read(log))
    stop(pid)
    assert.are.same({ "api " .. late .. " paid", "api " .. lost .. " paid" }, handled())
    local status, out = shell.run(("%s events --inbox %s --state duplicate --json"):format(importing.HOST, inbox))
    assert.are.equal(0, status, out)
    local row = cjson.decode(lines_of(out)[1] or "null")
    assert.are.equal(late, row and row.bill_id, out)
    assert.matches("^paid%-" .. late .. "%-%x+$", row.key)
    assert.is_truthy((files.read(log) or ""):find("catch-up: the API lists", 1, true), files.read(log))
    -- a person who replays the duplicate asked for its handler: it runs
    status, out = shell.run(("%s %s serve --inbox %s --replay %s %s/handler.lua"):format(env(), importing.HOST, inbox,
      row.key, dir))
    assert.are.equal(0, status, out)
    assert.are.same({ "api " .. late .. " paid", "api " .. lost .. " paid", "notification " .. late .. " paid" },
      handled())
  end)

  it("ends with one line and status 3 when the request limit does not lift, and 1 when the API fails", function()
    files.write(dir .. "/handler.lua", [[
local justclick = require "justclick"
justclick.configure{ user = os.getenv("JUSTCLICK_USER"), secret = os.getenv("JUSTCLICK_SECRET"),
  api_url = os.getenv("JUSTCLICK_API_URL"), timeout = 1, backoff = 0.05 }
return function(event)
  local f = assert(io.open(os.getenv("HANDLED"), "a"))
  f:write(event.source, " ", event.id, " ", event.kind, "\n")
  f:close()
  return true
end]])
    local bill = new_bill()
    pay(bill)
    sb:fault("limit", "", 0)
    local status, out = catch_up()
    assert.are.equal(3, status, out)
    local said = lines_of(out)
    assert.is_truthy(said[#said]:find("^justclick catch%-up: %d%d%d%d%-%d%d%-%d%dT[%d:]+Z the API's request limit did not"
      .. " lift .*run again later$"), out)
    sb:control("clear")
    sb:fault("http500", "", 0)
    status, out = catch_up()
    assert.are.equal(1, status, out)
    said = lines_of(out)
    assert.are.equal(1, #said, out) -- nothing was read: no summary
    assert.is_truthy(said[1]:find("^justclick catch%-up: %d%d%d%d%-%d%d%-%d%dT[%d:]+Z GetAllGoods: HTTP status 500$"), out)
    assert.is_nil(out:find("traceback", 1, true), out)
    assert.is_nil(out:find(sandbox.secret, 1, true), out)
    sb:control("clear")
    status, out = catch_up()
    assert.are.equal(0, status, out)
    assert.are.same({ "api " .. bill .. " paid" }, handled(), out)
  end)

  it("says which flag is wrong, and prints its help", function()
    local status, out = shell.run(importing.HOST .. " catch-up --days soon x.lua")
    assert.are.equal(2, status)
    assert.is_truthy(out:find("^justclick catch%-up: %-%-days "), out)
    status, out = shell.run(importing.HOST .. " catch-up --help 2>/dev/null")
    assert.are.equal(0, status)
    assert.is_truthy(out:find("^usage: justclick catch%-up"), out)
    status, out = shell.run(importing.HOST .. " serve --catch-up 0 x.lua")
    assert.are.equal(2, status)
    assert.is_truthy(out:find("^justclick serve: %-%-catch%-up "), out)
  end)
end)
