-- `justclick --dry-run`: nothing reaches the network, from the module-level client, from a client
-- the script makes itself, from core's sessions, or from the importer (see import_promises_spec).
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"

local shell = require "support.shell"

local function run_host(sb, code)
  return shell.script(("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s %s --dry-run")
    :format(sandbox.user, sandbox.secret, sb.api_url, importing.HOST), code, sb.api_url)
end

describe("--dry-run #lua54", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  it("prints instead of sending, from the module-level client and from clients the script makes", function()
    local status, out = run_host(sb, [[
      local justclick = require "justclick"
      local order = { bill_email = "dry@example.com", goods = { { good_name = "sales" } } }
      assert(justclick.create_order(order).dry_run)
      local own = justclick.new{ user = "demo", secret = "sandbox-secret", api_url = ... }
      assert(own:create_order(order).dry_run)
      local explicit = justclick.new{ user = "demo", secret = "sandbox-secret", api_url = ..., dry_run = false }
      assert(explicit:create_order(order).dry_run)
      print("done")
    ]])
    assert.are.equal(0, status, out)
    assert.are.equal(3, select(2, out:gsub("POST [^\n]*/api/CreateOrder\n", "")), out)
    assert.is_truthy(out:find("done\n", 1, true), out)
    assert.is_falsy(out:find("sandbox-secret", 1, true), out)
    assert.are.equal(0, sb:stats().requests)
  end)

  it("holds for clients made before it was switched on, and for their imports", function()
    local path = os.tmpname()
    files.write(path, "bill_email,goods\nlate@example.com,sales\n")
    local status, out = shell.script(importing.HOST, [[
      local justclick = require "justclick"
      local c = justclick.new{ user = "demo", secret = "sandbox-secret", api_url = arg[1] }
      justclick.set_defaults{ dry_run = true }
      assert(c:create_order{ bill_email = "late@example.com", goods = { { good_name = "sales" } } }.dry_run)
      local s = assert(justclick.import(arg[2], { client = c }))
      print("would send", s.would_send)]], sb.api_url, path)
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("would send\t1", 1, true), out)
    assert.are.equal(0, sb:stats().requests)
    assert.is_nil(files.read(path .. ".journal"))
    os.remove(path)
  end)

  it("lets no request out of core, even one the script makes itself", function()
    local status, out = run_host(sb, [[
      local core = require "justclick.core"
      local s = core.session{ timeout = 5 }
      print(pcall(s.post, s, ... .. "/GetAllGoods", "a=1"))
    ]])
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("false\t[^\n]*a dry run sends nothing", 1), out)
    assert.are.equal(0, sb:stats().requests)
  end)
end)
