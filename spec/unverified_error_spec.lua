-- An API error whose hash does not verify, to a write (found by the attack on issue 18).
-- api.md: "`sent = true` on any error means the request reached the server (or may have) and what
-- it did is not known: ... a reply that is not JSON, too large, unsigned or without its result.
-- For a write, the message then says that the order may exist". importer.md: a row whose outcome
-- is unknown is never sent blindly; each row is created once.
-- Anyone on the way can forge an error reply over a request that the server processed (a 602
-- over a CreateOrder that made the order), whatever its code: such an error to a write is
-- unsettled, and the importer journals its row unknown, never `error` (which would send it again).
-- spec/support/unverified_forger.php is that forger: it counts each request and answers each
-- with an error signed with another secret.
local justclick = require "justclick"
local shell = require "support.shell"
local files = require "support.files"
local importing = require "support.importing"
local core = require "justclick.core"

local HOST = os.getenv("PWD") .. "/build/bin/justclick"

local function start(dir, code)
  local port = shell.free_port()
  local p = assert(io.popen(("cd %s && FORGER_DIR=%s FORGER_CODE=%d php -S 127.0.0.1:%d %s/spec/support/unverified_forger.php"
    .. " >%s/php.log 2>&1 & echo $!"):format(dir, dir, code, port, os.getenv("PWD"), dir)))
  local pid = tonumber(p:read("*l"))
  p:close()
  local url = ("http://127.0.0.1:%d/api"):format(port)
  local session = core.session({ timeout = 2 })
  local deadline = core.now() + 10
  while core.now() < deadline do
    if session:post(url .. "/Ping", "a=1") then break end
    core.sleep(0.05)
  end
  os.remove(dir .. "/count.Ping")
  return pid, url
end

local function count(dir, method)
  return tonumber(files.read(dir .. "/count." .. method) or "0")
end

for _, code in ipairs({ 602, 4 }) do
  describe(("an unverified API error (code %d) to a write"):format(code), function()
    local dir, pid, url
    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -p " .. dir))
      pid, url = start(dir, code)
    end)
    after_each(function()
      if pid then os.execute("kill " .. pid) end
      os.execute("rm -rf " .. dir)
    end)

    local function client()
      return justclick.new{ user = "demo", secret = "sandbox-secret", api_url = url, backoff = 0.01 }
    end

    it("is an error with sent = true that says the order may exist (create_order)", function()
      local order, err = client():create_order{ bill_email = "a@example.com", goods = { { good_name = "invoice" } } }
      assert.is_nil(order)
      assert.are.equal(1, count(dir, "CreateOrder"))
      assert.are.same({ "api", code, false, true, false, 1 },
        { err.kind, err.code, err.verified, err.sent, err.retryable, err.attempts })
      assert.truthy(err.message:find("may exist", 1, true), err.message)
      assert.truthy(err.message:find("Order data rejected", 1, true), err.message) -- what it claimed
      assert.is_falsy(tostring(err):find("did nothing", 1, true), tostring(err))
      if code == 4 then -- what a wrong secret looks like: the hint stays
        assert.truthy(tostring(err):find("check the user and the secret", 1, true), tostring(err))
      end
    end)

    it("is unsettled for any write: it may have taken effect (UpdateOrderStatus)", function()
      local ok, err = client():update_order_status(7, "cancel")
      assert.is_nil(ok)
      assert.are.equal(1, count(dir, "UpdateOrderStatus"))
      assert.are.same({ "api", code, false, true, false }, { err.kind, err.code, err.verified, err.sent, err.retryable })
      assert.truthy(err.message:find("may have taken effect", 1, true), err.message)
    end)

    it("is still the plain API error to a read, which did nothing to duplicate", function()
      local details, err = client():order_details(7)
      assert.is_nil(details)
      assert.are.same({ "api", code, false, "Order data rejected" }, { err.kind, err.code, err.verified, err.message })
      assert.is_nil(err.sent)
    end)

    it("#lua54 never makes `justclick import` send the row again on the next run", function()
      local csv = dir .. "/sales.csv"
      files.write(csv, "id,bill_email,goods\nrow1,a@example.com,invoice:1500\nrow2,b@example.com,invoice:1500\n")
      for _ = 1, 2 do
        local status, out = shell.run(("cd %s && JUSTCLICK_USER=demo JUSTCLICK_SECRET=sandbox-secret JUSTCLICK_API_URL=%s "
          .. "%s import --grace 0 %s 2>&1"):format(dir, url, HOST, csv))
        -- no reply verifies: the secret is blamed, and the run stops at its first request
        assert.are.equal(1, status, out)
        assert.truthy(out:find("check the secret", 1, true), out)
      end
      local journal = files.read(csv .. ".journal") or ""
      assert.are.equal(2, count(dir, "CreateOrder"), "a row went out again after an unsigned error: " .. journal)
      for _, r in ipairs(importing.journal(csv)) do
        assert.are_not.equal("error", r.state, journal) -- "the server made nothing" is what it cannot say
      end
    end)
  end)
end
