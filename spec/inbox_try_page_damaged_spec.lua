-- A PATH-try page that is cut short or is not a try page: its outcome is kept when it is still
-- there, and the inbox is refused with one line when it cannot be known. Before, a page shorter
-- than 4096 bytes was made again with zeros: the outcome of a handler that returned true (held
-- in the page while its row could not take it) was lost, its row said 'trying', and the next
-- start counted a crash and ran the handler again. A page of another magic was read as one.
local importing = require "support.importing"
local scratch_inbox = require "support.scratch_inbox"
local shell = require "support.shell"
local files = require "support.files"

local SECRET = "inbox-secret-0123456789"

local PRELUDE = ([[
local core = require "justclick.core"
package.cpath = %q .. ";" .. package.cpath
local md5 = require("justclick.bench").md5
local receiver = require "justclick.receiver"
local function body(id)
  local paid = "2026-11-23 10:00:00"
  return ("id=%%d&email=buyer%%%%40example.com&paid=2026-11-23+10%%%%3A00%%%%3A00&last_payment_sum=1500"
    .. "&hash=%%s"):format(id, md5(id .. "buyer@example.com" .. paid .. %q))
end
]]):format(package.cpath, SECRET)

local function host_script(code, args, prefix)
  local path = os.tmpname()
  files.write(path, PRELUDE .. code)
  local status, out = shell.run(("sh -c %q"):format(("%s exec %s %s %s"):format(prefix or "", importing.HOST, path,
    args or "")))
  os.remove(path)
  return status, out
end

describe("a damaged PATH-try page #lua54", function()
  local receiver, path
  scratch_inbox(function(r, _, p) receiver, path = r, p end)

  -- Events 1 and 2 stored; 1's handler returned true while its row could not take it (a
  -- file-size limit), and the process was killed: the outcome is in the page only.
  local function handled_in_page_only()
    local status, out = host_script([[
local inbox = assert(receiver.inbox(arg[1]))
inbox:listen({ host = "127.0.0.1", port = 0, secret = arg[2] })
local s, url = core.session({ timeout = 10 }), "http://127.0.0.1:" .. inbox:port() .. "/notify"
for id = 1, 2 do assert(s:post(url, body(id)) == 200) end
local pid = io.open("/proc/self/stat"):read("*n")
local ev = inbox:next(0)
assert(inbox:begin(ev.key))
assert(os.execute(("prlimit --pid %d --fsize=1:unlimited"):format(pid)))
if inbox:handled(ev.key) ~= true then os.exit(3) end
os.execute("kill -KILL " .. pid)
]], path .. " " .. SECRET, "trap '' XFSZ;")
    assert.are.equal(137, status, out)
    local r = assert(receiver.inbox(path, "r"))
    local states = {}
    for _, e in ipairs(r:events()) do states[#states + 1] = e.state end
    r:close()
    assert.are.same({ "trying", "stored" }, states) -- the row is behind its page
  end

  local function cut(n)
    assert(os.execute(("truncate -s %d %s-try"):format(n, path)))
  end

  -- Never event 1 again: it is handled, or the inbox is refused naming its page.
  local function never_again()
    local inbox, err = receiver.inbox(path)
    if not inbox then
      assert.is_truthy(err.message:find(path .. "-try", 1, true), err.message)
      assert.is_falsy(err.message:find("\n", 1, true), err.message)
      return "refused"
    end
    local counts = inbox:counts()
    local ev = inbox:next(0)
    inbox:close()
    assert.is_truthy(ev and ev.key:find("^paid%-2%-"), ev and ev.key)
    assert.are.same({ stored = 2, handled = 1, parked = 0, pending = 1 }, counts)
    return "kept"
  end

  it("cut after its outcome: the outcome is kept", function()
    handled_in_page_only()
    cut(512)
    assert.are.equal("kept", never_again())
    assert.are.equal(4096, #files.read(path .. "-try"))
  end)

  it("cut inside its key: refused, and left as it is", function()
    handled_in_page_only()
    cut(40)
    assert.are.equal("refused", never_again())
    assert.are.equal(40, #files.read(path .. "-try"))
  end)

  it("of another magic: refused", function()
    handled_in_page_only()
    local page = files.read(path .. "-try")
    files.write(path .. "-try", "NOTATRY" .. page:sub(8))
    assert.are.equal("refused", never_again())
  end)

  it("cut to nothing, or made half-way before any try (magic only): made again", function()
    assert(receiver.inbox(path)):close()
    cut(0)
    assert(receiver.inbox(path)):close()
    cut(5)
    assert(receiver.inbox(path)):close()
    assert.are.equal(4096, #files.read(path .. "-try"))
  end)
end)
