-- Issue 19: `justclick serve --trust-proxy ADDR` (repeatable). Behind a proxy every log line named
-- the proxy. For a connection from a trusted address the log now names the client that
-- X-Forwarded-For gives: the right-most entry that is not itself a trusted proxy (each proxy
-- appends the address it got the request from, so entries left of that one are the client's
-- own words, and may be forged). From any other address the header is ignored, so a client
-- cannot put another address in the log by sending the header itself.
local core = require "justclick.core"
local files = require "support.files"
local serving = require "support.serving"
local shell = require "support.shell"
local importing = require "support.importing"
local justclick = require "justclick"

local HOST = importing.HOST
local ENV = "env -u LUA_PATH -u LUA_CPATH JUSTCLICK_USER=u JUSTCLICK_SECRET=trustproxysecret "
  .. "JUSTCLICK_API_URL=http://127.0.0.1:9/api "

describe("justclick serve --trust-proxy #lua54", function()
  local dir, running = nil, {}
  before_each(function()
    dir = importing.tmpdir()
    files.write(dir .. "/h.lua", "return function() return true end\n")
  end)
  after_each(function()
    for _, pid in ipairs(running) do os.execute("kill -TERM " .. pid .. " 2>/dev/null") end
    for _, pid in ipairs(running) do
      local deadline = core.now() + 10
      while require("support.sandbox").alive(pid) and core.now() < deadline do core.sleep(0.05) end
    end
    running = {}
    os.execute("rm -rf " .. dir)
  end)

  -- Starts `justclick serve OPTIONS h.lua`; its URL.
  local function serve(options)
    local _, url = serving.launch(("cd %s && %s%s serve --listen 127.0.0.1:0 --inbox inbox %s h.lua >> log 2>&1"):format(
      dir, ENV, HOST, options), dir, dir .. "/log", running)
    return url
  end

  -- GET / with the header X-Forwarded-For: forwarded (none when nil): the address the log line of
  -- that request names (each such line is "... ADDRESS not-post - 405 ...").
  local seen = 0
  local function logged_address(url, forwarded)
    local header = forwarded and ("-H 'X-Forwarded-For: %s' "):format(forwarded) or ""
    shell.run(("curl -s -o /dev/null %s%s/"):format(header, url))
    local deadline = core.now() + 10
    while core.now() < deadline do
      local lines = {}
      for address in (files.read(dir .. "/log") or ""):gmatch("justclick serve: %S+ (%S+) not%-post %- 405") do
        lines[#lines + 1] = address
      end
      if #lines > seen then
        seen = #lines
        return lines[#lines]
      end
      core.sleep(0.05)
    end
    error("no log line for the request: " .. (files.read(dir .. "/log") or ""))
  end

  it("without --trust-proxy, the header is ignored: the log names the peer", function()
    seen = 0
    local url = serve("")
    assert.are.equal("127.0.0.1", logged_address(url, "203.0.113.7"))
  end)

  it("from a trusted proxy, the log names the right-most address that is not a trusted proxy", function()
    seen = 0
    local url = serve("--trust-proxy 127.0.0.1 --trust-proxy=10.0.0.1")
    assert.are.equal("203.0.113.7", logged_address(url, "203.0.113.7"))
    -- a forged left-most entry (the client's own header, kept by the proxy) is not taken
    assert.are.equal("203.0.113.7", logged_address(url, "198.51.100.1, 203.0.113.7"))
    -- a chain of trusted proxies is walked through
    assert.are.equal("203.0.113.7", logged_address(url, "198.51.100.1, 203.0.113.7 , 10.0.0.1"))
    -- no header, or one that holds no address: the proxy itself
    assert.are.equal("127.0.0.1", logged_address(url, nil))
    assert.are.equal("127.0.0.1", logged_address(url, "203.0.113.7, not-an-address"))
    assert.are.equal("2001:db8::1", logged_address(url, "2001:db8::1"))
  end)

  it("from an address it does not trust, a forged header is ignored", function()
    seen = 0
    local url = serve("--trust-proxy 10.9.9.9")
    assert.are.equal("127.0.0.1", logged_address(url, "203.0.113.7"))
  end)

  it("takes IP addresses only: a host name is a usage error naming --trust-proxy", function()
    local status, out = shell.run(("cd %s && %s%s serve --trust-proxy localhost --inbox inbox h.lua"):format(dir, ENV,
      HOST))
    assert.are.equal(2, status, out)
    assert.truthy(out:find("--trust-proxy takes an IP address", 1, true), out)
    assert.is_nil(io.open(dir .. "/inbox"), "an inbox was made")
  end)

  it("is justclick.serve's option trust_proxy: a list of IP addresses, one that is not is nil, err", function()
    local client = justclick.new{ user = "demo", secret = "s", api_url = "http://127.0.0.1:9/api" }
    -- had it listened, on_ready ends the call instead of serving for ever
    local ok, done, err = pcall(justclick.serve, function() return true end,
      { client = client, inbox = dir .. "/lib-inbox", port = 0, trust_proxy = { "127.0.0.1", "proxy.example" },
        on_ready = function() error("it listened, trusting a host name") end })
    assert.is_true(ok, tostring(done))
    assert.is_nil(done)
    assert.are.same({ "input", "trust_proxy: 'proxy.example' is not an IP address" }, { err.kind, err.message })
  end)
end)
