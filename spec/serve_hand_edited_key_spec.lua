-- A row whose key was edited by hand into one that no notification makes (a BLOB, or text with
-- a NUL byte inside): its handler never runs, and the other events are handled once. Before,
-- next gave the row, begin's UPDATE (WHERE key = its text) took no row and still said the try
-- began, the handler ran, handled took no row either, and next gave the same row again: the
-- handler ran thousands of times a second, each returning true.
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local core = require "justclick.core"
local importing = require "support.importing"
local files = require "support.files"
local serving = require "support.serving"

local SECRET = "edited-secret-0123456789"

local function notification(id)
  local paid = "2026-11-23 10:00:00"
  return ("id=%d&email=buyer%%40example.com&paid=2026-11-23+10%%3A00%%3A00&last_payment_sum=1500&hash=%s")
    :format(id, md5(id .. "buyer@example.com" .. paid .. SECRET))
end

local HANDLER = [[
return function(event)
  local f = io.open(os.getenv("HANDLED"), "a") f:write(event.id, "\n") f:close()
  return true
end]]

local function lines_of(text)
  local lines = {}
  for line in (text or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

describe("serve on rows whose key was edited by hand #lua54", function()
  local dir, inbox, running = nil, nil, {}
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

  local function serve()
    local log = dir .. "/serve.log"
    local cmd = ("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s HANDLED=%s/handled %s serve --no-confirm"
      .. " --listen 127.0.0.1:0 --inbox %s %s/handler.lua >> %s 2>&1"):format(SECRET, dir, importing.HOST, inbox, dir, log)
    local pid, url = serving.launch(cmd, dir, log, running)
    return pid, url, log
  end

  local function stop(pid)
    os.execute(("kill -TERM %d"):format(pid))
    local deadline = core.now() + 10
    while os.execute(("kill -0 %d 2>/dev/null"):format(pid)) and core.now() < deadline do core.sleep(0.05) end
  end

  it("never runs the handler of a row whose key is a BLOB or holds a NUL", function()
    local pid, url = serve()
    local session = core.session({ timeout = 10 })
    for id = 100001, 100002 do assert.are.equal(200, (session:post(url .. "/notify", notification(id)))) end
    local deadline = core.now() + 10
    while #lines_of(files.read(dir .. "/handled")) < 2 and core.now() < deadline do core.sleep(0.05) end
    stop(pid)
    assert.are.equal(2, #lines_of(files.read(dir .. "/handled")))
    os.remove(dir .. "/handled")
    -- by hand: both made pending again, one key a BLOB, the other with a NUL inside
    assert(os.execute(("sqlite3 %s %q"):format(inbox, "UPDATE events SET state = 'stored' WHERE bill_id = 100001 OR bill_id = 100002;"
      .. " UPDATE events SET key = CAST(key AS BLOB) WHERE bill_id = 100001;"
      .. " UPDATE events SET key = key || char(0) || 'x' WHERE bill_id = 100002;")))
    pid, url = serve()
    assert.are.equal(200, (session:post(url .. "/notify", notification(100003))))
    session:close()
    deadline = core.now() + 10
    while #lines_of(files.read(dir .. "/handled")) < 1 and core.now() < deadline do core.sleep(0.05) end
    core.sleep(1) -- time enough for thousands of runs, as before
    stop(pid)
    assert.are.same({ "100003" }, lines_of(files.read(dir .. "/handled")))
  end)
end)
