-- A failure of an event whose earlier failure is held (its row could not take it: a full disk,
-- a file-size limit) puts it off as any failure does. Before, failed returned at once for a held
-- key without scheduling it: next gave the event again at once, and the receiver read its bill
-- back from the API in a loop with no pause for as long as the disk stayed full.
local importing = require "support.importing"
local shell = require "support.shell"
local files = require "support.files"

local SECRET = "held-secret-0123456789"

describe("a failure while an earlier one is held #lua54", function()
  local dir, path
  before_each(function()
    dir = importing.tmpdir()
    path = dir .. "/inbox"
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("puts the event off", function()
    local script = dir .. "/s.lua"
    files.write(script, ([[
local core = require "justclick.core"
package.cpath = %q .. ";" .. package.cpath
local md5 = require("justclick.bench").md5
local receiver = require "justclick.receiver"
local inbox = assert(receiver.inbox(arg[1]))
inbox:listen({ host = "127.0.0.1", port = 0, secret = arg[2] })
local s, url = core.session({ timeout = 10 }), "http://127.0.0.1:" .. inbox:port() .. "/notify"
local paid = "2026-11-23 10:00:00"
local body = ("id=5&email=buyer%%%%40example.com&paid=2026-11-23+10%%%%3A00%%%%3A00&last_payment_sum=1500&hash=%%s")
  :format(md5("5buyer@example.com" .. paid .. arg[2]))
assert(s:post(url, body) == 200)
local pid = io.open("/proc/self/stat"):read("*n")
local ev = inbox:next(0)
assert(inbox:begin(ev.key))
assert(os.execute(("prlimit --pid %%d --fsize=1:unlimited"):format(pid))) -- no row takes a change now
if inbox:failed(ev.key, 0, 5) ~= "retry" then os.exit(3) end -- held, due at once
local again = inbox:next(0)
if not again or again.key ~= ev.key then os.exit(4) end
if inbox:failed(ev.key, 3600, 5) ~= "retry" then os.exit(5) end -- its confirmation failed, say
local third = inbox:next(0)
assert(os.execute(("prlimit --pid %%d --fsize=unlimited:unlimited"):format(pid)))
print("third", third ~= nil and third.key == ev.key)
inbox:close()
]]):format(package.cpath))
    local status, out = shell.run(("sh -c %q"):format(("trap '' XFSZ; exec %s %s %s %s"):format(importing.HOST, script,
      path, SECRET)))
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("third\tfalse\n", 1, true), out)
  end)
end)
