-- Found by an attack on issue 20 (catch-up): client:paid_bills reads a span whose reply is too
-- large for max_reply again in halves, "down to a day". Its test of "a day" was the seconds
-- between the span's first and last noon (< 86400): a span of two days across the change to
-- summer time (23 hours from noon to noon) was taken for one day and never split, so the read
-- failed ("larger than max_reply") though each of its days alone fits. With the client's TZ
-- Europe/Berlin (as the docs ask: the account's zone), the two days 29.03.2025 and 30.03.2025.
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"
local shell = require "support.shell"

-- Reads the span with a small max_reply; prints the bills found, or the error.
local SCRIPT = [[
local justclick = require "justclick"
local client = justclick.new{ user = os.getenv("JUSTCLICK_USER"), secret = os.getenv("JUSTCLICK_SECRET"),
  api_url = os.getenv("JUSTCLICK_API_URL"), max_reply = tonumber(arg[3]) }
local events, err = client:paid_bills{ from = arg[1], to = arg[2] }
print(events and ("%d bills"):format(#events) or err.message)
]]

describe("client:paid_bills across the change to summer time #lua54", function()
  local sb, dir

  lazy_setup(function()
    sb = sandbox.start({ env = { JUSTCLICK_SANDBOX_TZ = "Europe/Berlin" } })
    dir = importing.tmpdir()
  end)
  lazy_teardown(function()
    if sb then sb:stop() end
    -- a process killed a moment ago may still be closing its files
    if dir then os.execute(("rm -rf %s 2>/dev/null || (sleep 0.5; rm -rf %s)"):format(dir, dir)) end
  end)

  it("splits a two-day read whose second day is 23 hours long", function()
    sb:reset()
    local client = sb:client()
    -- three bills paid at 10:00 (Berlin) on each day: 29.03.2025 (CET) and 30.03.2025 (CEST)
    for i, at in ipairs({ 1743238800, 1743238860, 1743238920, 1743321600, 1743321660, 1743321720 }) do
      local order = assert(client:create_order({ bill_email = ("dst%d@example.com"):format(i),
        goods = { { good_name = "invoice" } } }))
      assert(sb:control("pay", { bill_id = math.floor(tonumber(order.bill_id)), at = at }).ok)
    end
    files.write(dir .. "/read.lua", SCRIPT)
    local function read(from, to, max_reply)
      local status, out = shell.run(("TZ=Europe/Berlin JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s"
        .. " %s %s/read.lua %s %s %d"):format(sandbox.user, sandbox.secret, sb.api_url, importing.HOST, dir, from, to,
        max_reply))
      assert.are.equal(0, status, out)
      return out:match("^(.-)\n?$")
    end
    -- a day's three bills fit in 2800 bytes, two days' six do not
    assert.are.equal("3 bills", read("29.03.2025", "29.03.2025", 2800))
    assert.are.equal("3 bills", read("30.03.2025", "30.03.2025", 2800))
    -- so two days are read a day at a time
    assert.are.equal("6 bills", read("29.03.2025", "30.03.2025", 2800))
  end)
end)
