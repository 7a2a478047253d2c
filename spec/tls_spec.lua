-- TLS against a real TLS peer (openssl s_server, with a self-signed certificate for 127.0.0.1):
-- verification is on by default, a certificate failure is never retried, and ca_file trusts
-- another CA.
local justclick = require "justclick"
local core = require "justclick.core"

local shell = require "support.shell"

describe("TLS", function()
  local dir, pid, url

  lazy_setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    assert(os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/cert.pem "
      .. "-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null"):format(dir, dir)))
    local port = shell.free_port()
    pid = tonumber(shell.output(("setsid openssl s_server -quiet -accept %s -cert %s/cert.pem -key %s/key.pem -www "
      .. "> /dev/null 2>&1 & echo $!"):format(port, dir, dir)))
    url = "https://127.0.0.1:" .. port .. "/api"
    local probe = core.session({ timeout = 1 })
    for _ = 1, 100 do -- until it accepts connections
      local status, failure = probe:post(url, "")
      if status or failure.code ~= 7 then break end
      core.sleep(0.05)
    end
    probe:close()
  end)

  lazy_teardown(function()
    if pid then os.execute(("kill -TERM -%d 2>/dev/null"):format(pid)) end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("verifies the peer by default, and never retries a certificate failure", function()
    local client = justclick.new({ user = "demo", secret = "s", api_url = url, retries = 2, backoff = 0.01 })
    local result, err = client:order_details(1)
    assert.is_nil(result)
    assert.are.equal("transport", err.kind)
    assert.are.equal(60, err.code, tostring(err))
    assert.is_true(err.tls)
    assert.is_false(err.retryable)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, client:stats().requests)
  end)

  it("trusts the CA given as ca_file", function()
    -- s_server is no HTTP server: past the handshake it never answers, so the call times out.
    local client = justclick.new({ user = "demo", secret = "s", api_url = url, retries = 0, timeout = 1,
      ca_file = dir .. "/cert.pem" })
    local result, err = client:order_details(1)
    assert.is_nil(result)
    assert.are.equal(28, err.code, tostring(err))
    assert.is_false(err.tls)
  end)
end)
