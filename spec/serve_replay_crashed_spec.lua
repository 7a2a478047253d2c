-- `justclick serve --replay KEY` on an event whose last try the process died in (its row says
-- 'trying'): its handler runs now, as for an event in any other state. Before, the replay only
-- recorded the crash as a failure, never ran the handler, and said "KEY failed again".
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"

local SECRET = "replay-secret-0123456789"

local HANDLER = [[
return function(event)
  local f = io.open(os.getenv("HANDLED"), "a") f:write(event.id, " ", event.attempt, "\n") f:close()
  return true
end]]

describe("serve --replay of an event its process died in #lua54", function()
  local receiver, dir, path
  setup(function() receiver = require "justclick.receiver" end)
  before_each(function()
    dir = importing.tmpdir()
    path = dir .. "/inbox"
    files.write(dir .. "/handler.lua", HANDLER)
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("runs its handler now", function()
    local session = require("justclick.core").session({ timeout = 10 })
    local inbox = assert(receiver.inbox(path))
    inbox:listen({ host = "127.0.0.1", port = 0, secret = SECRET })
    local paid = "2026-11-23 10:00:00"
    local body = ("id=7&email=buyer%%40example.com&paid=2026-11-23+10%%3A00%%3A00&last_payment_sum=1500&hash=%s")
      :format(md5("7buyer@example.com" .. paid .. SECRET))
    assert.are.equal(200, (session:post("http://127.0.0.1:" .. inbox:port() .. "/notify", body)))
    session:close()
    local ev = assert(inbox:next(0))
    assert.is_true(inbox:begin(ev.key))
    inbox:close() -- as if its handler had killed the process
    local status, out = shell.run(("JUSTCLICK_USER=demo JUSTCLICK_SECRET=%s HANDLED=%s/handled %s serve --no-confirm"
      .. " --inbox %s --replay %s %s/handler.lua"):format(SECRET, dir, importing.HOST, path, ev.key, dir))
    assert.are.equal(0, status, out)
    assert.are.same("7 1\n", files.read(dir .. "/handled"))
    local r = assert(receiver.inbox(path, "r"))
    local rows = r:events()
    r:close()
    assert.are.same({ "handled", 2 }, { rows[1].state, rows[1].tries })
  end)
end)
