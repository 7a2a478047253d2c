-- The lines the sandbox prints on start (sandbox/server.php's banner) are commands a person
-- copies: each one here is run as printed, in a shell, and its effect looked at: the export
-- line gives the program the account, the order line makes an order, and each event's curl line
-- changes the bill as UpdateOrderStatus (or a prepayment) does and sends its notification.
local cjson = require "cjson"
local sandbox = require "support.sandbox"
local shell = require "support.shell"
local files = require "support.files"

describe("the sandbox's banner", function()
  local sb, banner

  lazy_setup(function()
    sb = sandbox.start()
    banner = sb:banner()
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
  end)

  -- The one banner line that matches pattern, without its indent and its trailing comment.
  local function line(pattern)
    local found
    for l in banner:gmatch("[^\n]+") do
      if l:find(pattern) then
        assert.is_nil(found, "two lines match " .. pattern .. ":\n" .. banner)
        found = l
      end
    end
    assert.is_truthy(found, "no line matches " .. pattern .. ":\n" .. banner)
    return (found:gsub("^%s+", ""):gsub("%s+#[^']*$", ""))
  end

  -- Runs a shell script after the banner's export line; returns its output.
  local function run(script)
    local path = os.tmpname()
    files.write(path, "set -e\n" .. line("^%s*export ") .. "\n" .. script .. "\n")
    local ok, out = shell.ok("sh " .. path)
    os.remove(path)
    assert.is_true(ok, script .. "\n" .. out)
    return out
  end

  it("names the account, the API URL, and the export lines for them", function()
    assert.matches("^sandbox listening on " .. sb.url:gsub("%p", "%%%0") .. "\n", banner)
    assert.is_truthy(banner:find(("user demo, secret sandbox-secret, API %s/api"):format(sb.url), 1, true), banner)
    local out = run('printf "%s|%s|%s" "$JUSTCLICK_USER" "$JUSTCLICK_SECRET" "$JUSTCLICK_API_URL"')
    assert.are.equal(("demo|sandbox-secret|%s/api"):format(sb.url), out)
  end)

  it("gives a command for each event of a bill that does what it says", function()
    -- Notifications go back to the sandbox's own stats page, which answers 200: each is
    -- delivered, so its event shows in the list once sent.
    sb:notify { url = sb.url .. "/__sandbox/stats" }
    local make_order = line("build/bin/justclick %-e ")
    local bills = {}
    for i, email in ipairs({ "buyer@example.com", "other@example.com" }) do -- the same order twice is one
      local command = make_order:gsub("buyer@example%.com", email)
      bills[i] = tonumber((run(command):match("^(%d+)\n$")))
      assert.is_number(bills[i], "no bill_id from: " .. command)
    end
    assert.are.equal(2, #sb:orders())

    local function event(name, bill)
      local command = line("/__sandbox/" .. name .. " ?"):gsub("BILL", tostring(bill))
      local reply = run(command)
      assert.is_truthy(reply:find('"ok":true', 1, true), command .. ": " .. reply)
    end
    local client = sb:client()
    local function details(bill) return assert(client:order_details(bill)) end

    local a, b = bills[1], bills[2]
    event("prepay", a)
    assert.are.equal(1400, tonumber(details(a).bill_sum_topay)) -- 1500, less the banner's 100
    event("pay", a)
    assert.are.equal("paid", details(a).pay_status)
    event("refund", a)
    assert.are.equal("return", details(a).pay_status)
    event("cancel", b)
    assert.are.equal("cancel", details(b).pay_status)

    local list = sb:settle()
    local sent = {}
    for _, n in ipairs(list.notifications) do
      assert.is_true(n.delivered, cjson.encode(n))
      sent[#sent + 1] = ("%s %d"):format(n.event, n.bill_id)
    end
    assert.are.same({ "new_order " .. a, "new_order " .. b, "prepaid " .. a, "paid " .. a, "moneyback " .. a,
      "cancel_order " .. b }, sent)
  end)
end)
