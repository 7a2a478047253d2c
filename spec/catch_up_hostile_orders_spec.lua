-- Found by an attack on issue 20 (catch-up), with a hostile API (spec/support/hostile_api.php:
-- correctly signed successes whose results the spec writes): replies that the sandbox cannot give.
--  * A bill that two of a pass's 28-day reads both list (a server whose days overlap at their
--    edges, say): the pass counted its key twice among the events to wait for, handled it once,
--    and waited for the second forever: `justclick catch-up` never ended (promise 2).
--  * An order with a negative id, or with a field that no form can carry (nested past PHP's 64
--    levels): paid_bills raised, so `justclick catch-up` ended in a traceback, and `justclick serve
--    --catch-up` died with one at its first pass, at every start (promises 2, 8).
--  * An id past 2^53 written as a JSON number: decoded through a double, it came out as another
--    bill's id (9007199254740993 as 9007199254740992), and catch-up stored and handed over a
--    payment keyed by that other bill (promises 1, 7).
--  * A getOrdersWithGoods result that is an object keyed by bill id, not a list: read as no bills at
--    all, and the pass ended 0 with every payment of the span missed (promise 7).
local core = require "justclick.core"
local cjson = require "cjson"
local hostile_api = require "support.hostile_api"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"

-- Appends "ID KEY" to $HANDLED for each event it is handed.
local HANDLER = [[
return function(event)
  local f = assert(io.open(os.getenv("HANDLED"), "a"))
  f:write(event.id, " ", event.key, "\n")
  f:close()
  return true
end]]

local function order(id, extra)
  local o = { id = id, email = "buyer@example.com", created = "2026-01-01 10:00:00", paid = "2026-01-02 10:00:00",
    pay_status = "paid", bill_sum_topay = 0, price = 1500,
    items = { { id = "invoice", title = "Invoice", sum = 1500, price = 1500 } } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

local function lines_of(text)
  local lines = {}
  for line in (text or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

describe("catch-up against a hostile getOrdersWithGoods #lua54", function()
  local api, dir, running = nil, nil, {}

  before_each(function()
    dir = importing.tmpdir()
    api = hostile_api.start(dir)
    files.write(dir .. "/handler.lua", HANDLER)
  end)
  after_each(function()
    for _, p in ipairs(running) do os.execute(("kill -KILL %d 2>/dev/null"):format(p)) end
    running = {}
    if api then api:stop() end
    core.sleep(0.2) -- what was killed has let go of its files
    os.execute("rm -rf " .. dir .. " 2>/dev/null; rm -rf " .. dir)
  end)

  local function env()
    return ("JUSTCLICK_USER=demo JUSTCLICK_SECRET=sandbox-secret JUSTCLICK_API_URL=%s HANDLED=%s/handled"):format(
      api.api_url, dir)
  end

  -- `justclick catch-up`, ended by `timeout` after 60 s (status 124) should it never end by itself.
  local function catch_up(flags)
    return shell.run(("%s timeout -s KILL 60 %s catch-up --inbox %s/inbox %s %s/handler.lua"):format(env(),
      importing.HOST, dir, flags or "", dir))
  end

  local function handled() return lines_of(files.read(dir .. "/handled")) end

  it("ends once a bill that two of its reads list is handled, and hands it over once", function()
    -- every read lists bill 5: --days 40 is two reads
    api:answer({ GetAllGoods = { { good_id = "invoice" } }, getOrdersWithGoods = { order(5) },
      getOrderDetails = { ["5"] = order(5) } })
    local status, out = catch_up("--days 40")
    assert.are.equal(0, status, out)
    assert.are.same({ "5 paid-5-api" }, handled())
  end)

  for name, bad in pairs({
    ["a negative id"] = order(-5),
    ["a field nested past PHP's 64 levels"] = order(5, { extra = cjson.decode(("["):rep(70) .. ("]"):rep(70)) }),
    ["a field whose name PHP mangles"] = order(5, { ["a]b[c"] = "x" }),
    -- its confirmation would read "another email" and park it at once, never to be stored again
    ["no email"] = order(5, { email = cjson.null }),
  }) do
    it("fails in one line, no traceback, on an order with " .. name .. "; serve --catch-up lives on", function()
      api:answer({ GetAllGoods = { { good_id = "invoice" } }, getOrdersWithGoods = { bad, order(6) },
        getOrderDetails = { ["5"] = order(5), ["6"] = order(6) } })
      local status, out = catch_up("--days 3")
      assert.are.equal(1, status, out)
      assert.is_nil(out:find("traceback", 1, true), out)
      assert.is_nil(out:find("\n.", 1), out) -- one line
      -- the receiver: its first pass at start must not end it
      local log = dir .. "/serve.log"
      os.execute(("(%s %s serve --listen 127.0.0.1:0 --catch-up 0.05 --inbox %s/serve-inbox %s/handler.lua >> %s 2>&1"
        .. " & echo $! > %s/pid; wait $!; echo $? > %s/status) 2>/dev/null &"):format(env(), importing.HOST, dir, dir,
        log, dir, dir))
      local deadline = core.now() + 20
      while not (files.read(log) or ""):find("catch-up", 1, true) and core.now() < deadline do core.sleep(0.05) end
      local pid = tonumber(files.read(dir .. "/pid") or "")
      if pid then running[#running + 1] = pid end
      core.sleep(0.5)
      assert.is_nil(files.read(dir .. "/status"), "serve ended: " .. (files.read(log) or ""))
      assert.is_nil((files.read(log) or ""):find("traceback", 1, true), files.read(log))
    end)
  end

  it("never hands over a payment under another bill's id: an id past 2^53 sent as a JSON number", function()
    local exact = '{"id":9007199254740993,"email":"buyer@example.com","created":"2026-01-01 10:00:00",'
      .. '"paid":"2026-01-02 10:00:00","pay_status":"paid","bill_sum_topay":0,"price":1500,"items":[]}'
    -- the neighbour bill, as a server that is asked for it describes it (as decoded, the same id)
    api:answer({ GetAllGoods = { { good_id = "invoice" } }, getOrdersWithGoods = "raw:[" .. exact .. "]",
      getOrderDetails = { ["9007199254740992"] = "raw:" .. exact, ["9007199254740993"] = "raw:" .. exact } })
    local status, out = catch_up("--days 3")
    for _, line in ipairs(handled()) do
      assert.is_nil(line:find("9007199254740992", 1, true), "handed over as another bill: " .. line)
    end
    local rows = shell.output(("sqlite3 %s/inbox 'select key from events' 2>/dev/null"):format(dir))
    assert.is_nil(rows:find("9007199254740992", 1, true), rows .. out)
    assert.is_true(status == 1 or #handled() == 1, out) -- a failure to say, or the bill itself
  end)

  it("does not read a result keyed by bill id as no bills paid", function()
    api:answer({ GetAllGoods = { { good_id = "invoice" } }, getOrdersWithGoods = { ["5"] = order(5) },
      getOrderDetails = { ["5"] = order(5) } })
    local status, out = catch_up("--days 3")
    -- either bill 5 is handed over, or the pass fails and says so; never "0 bills", status 0
    assert.is_true(status ~= 0 or #handled() == 1, out)
  end)
end)
