-- Which transport justclick.new gives a client: libcurl outside nginx; inside nginx (where
-- lua-nginx-module's `ngx` is a global, stood for here by a table with ngx.location.capture),
-- the nginx transport unless libcurl is asked for by name. spec/nginx_spec.lua checks the same
-- in a real nginx; this runs under every Lua.
local justclick = require "justclick"

describe("justclick.new's transport", function()
  local function fake_nginx()
    rawset(_G, "ngx", { location = { capture = function() error("no subrequest here") end },
      get_phase = function() return "timer" end })
  end

  after_each(function()
    rawset(_G, "ngx", nil)
  end)

  it("is libcurl outside nginx", function()
    local client = justclick.new { user = "demo", secret = "s" }
    assert.is_nil(client.session.location)
    client:close()
  end)

  it("is nginx's, through /justclick-upstream, inside nginx when none is given", function()
    fake_nginx()
    local client = justclick.new { user = "demo", secret = "s" }
    assert.are.equal("/justclick-upstream", client.session.location)
    -- its calls are subrequests: in a phase without them, the error names the way out
    local ok, err = pcall(client.order_details, client, 1)
    assert.is_false(ok)
    assert.matches('only a client made with transport = "curl" can call', tostring(err), 1, true)
  end)

  it("is libcurl inside nginx only when asked for by name", function()
    fake_nginx()
    local client = justclick.new { user = "demo", secret = "s", transport = "curl", connect_timeout = 5 }
    assert.is_nil(client.session.location)
    client:close()
  end)

  it("refuses libcurl's options inside nginx unless libcurl is asked for, naming the option", function()
    fake_nginx()
    local ok, err = pcall(justclick.new, { user = "demo", secret = "s", connect_timeout = 5 })
    assert.is_false(ok)
    assert.matches("connect_timeout is the location's proxy_connect_timeout under nginx", err, 1, true)
    assert.matches('transport = "curl"', err, 1, true)
  end)

  it("names every libcurl option given inside nginx in one error, in a stable order", function()
    fake_nginx()
    local ok, err = pcall(justclick.new, { user = "demo", secret = "s", keep_alive = true, ca_file = "/x",
      connect_timeout = 5 })
    assert.is_false(ok)
    assert.matches("ca_file is the location's proxy_ssl_trusted_certificate, connect_timeout is the location's"
      .. " proxy_connect_timeout, keep_alive is an upstream block's keepalive under nginx", err, 1, true)
  end)
end)
