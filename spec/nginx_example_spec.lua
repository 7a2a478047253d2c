-- The one command that runs examples/nginx against the sandbox (make nginx-example, which is
-- scripts/nginx-example.sh), in its non-interactive mode: it builds what nginx needs, starts the
-- sandbox and nginx with the example's nginx.conf as written (but for the port), runs a
-- checkout and its payment through them, and stops everything. Nothing installed is used: the
-- prefix links the work tree's module.
local shell = require "support.shell"

describe("scripts/nginx-example.sh --check", function()
  it("runs a checkout and its payment through the example, and leaves nothing running", function()
    local port = shell.free_port()
    local ok, out = shell.ok(("env -u MAKEFLAGS -u MAKELEVEL PORT=%d scripts/nginx-example.sh --check"):format(port))
    assert.is_true(ok, out)
    local bill = out:match("checkout: 303 http://127%.0%.0%.1:%d+/bill/%S+\n.-\"bill_id\":(%d+),\"pay_status\":\"paid\"")
    assert.is_truthy(bill, out)
    -- the example's own notices show: new_order confirmed, then the payment granted
    assert.is_truthy(out:find("log: justclick: new_order for bill " .. bill .. " (confirmed)", 1, true), out)
    assert.is_truthy(out:find("log: justclick: granted bill " .. bill .. " to buyer@example.com: course (paid-"
      .. bill, 1, true), out)
    assert.matches("ok: bill " .. bill .. " created through nginx", out)
    -- nothing answers on the shop's port once it has ended
    assert.are.equal("000", shell.output(("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/"):format(port)))
  end)
end)
