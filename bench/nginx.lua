-- Checkouts at once inside nginx (one worker), each a handler whose client is made as a shop
-- writes it, justclick.new{} with no transport, against the sandbox answering every call after
-- 500 ms: with the nginx transport (the default inside nginx) they wait together; with libcurl
-- (transport = "curl", asked for by name) each call holds the worker, and they queue. The
-- sandbox's php -S sleeps the latency in a worker process, and two calls may land on one, so the
-- nginx figure is 0.5 s or about 1 s from run to run: either is one call's wait, not ten.
-- Run: make bench  (or: lua5.4 bench/nginx.lua [checkouts]); needs nginx with lua-nginx-module
-- and the LuaJIT build (make LUA_VERSION=jit all).
package.path = "lua/?.lua;spec/?.lua;bench/?.lua;" .. package.path
package.cpath = "build/lua/?.so;build/?.so;" .. package.cpath

local sandbox = require "support.sandbox"
local nginx = require "support.nginx"

local N = tonumber(arg[1]) or 10
local LATENCY = 0.5

local sb = sandbox.start()
local n
local ok, failure = pcall(function()
  local upstream = assert(io.open("lua/justclick/nginx-upstream.conf")):read("*a")
  n = nginx.start {
    env = { JUSTCLICK_SECRET = sandbox.secret },
    http = [[
  server {
    listen 127.0.0.1:$PORT;
    location /justclick-upstream/ {
      proxy_pass ]] .. sb.url .. [[/api/;
]] .. upstream .. [[
    }
    location = /checkout {
      content_by_lua_block {
        local args = ngx.req.get_uri_args()
        local client = require("justclick").new{ user = "demo", secret = os.getenv("JUSTCLICK_SECRET"),
          api_url = "]] .. sb.api_url .. [[", transport = args.transport }
        local order, err = client:create_order{bill_email = args.email, goods = {{good_name = "course"}}}
        if not order then ngx.status = 502 ngx.say(tostring(err)) return end
        ngx.say(order.bill_id)
      }
    }
  }
]],
  }
  sb:control("latency", { ms = LATENCY * 1000 })
  local function run(transport)
    sb:control("reset")
    sb:control("latency", { ms = LATENCY * 1000 })
    local paths = {}
    for i = 1, N do
      paths[i] = ("/checkout?email=b%d%%40example.com%s"):format(i, transport and "&transport=" .. transport or "")
    end
    local replies, seconds = n:parallel(paths)
    for i = 1, N do
      local r = replies[i]
      assert(r and r.status == 200, "checkout " .. i .. ": " .. tostring(r and r.body))
    end
    return seconds
  end
  run(nil) -- a first round: the worker loads the module
  local together = run(nil)
  local queued = run("curl")
  print(("nginx: %d checkouts at once, one worker, %d ms a call: new{} (the nginx transport) %.2f s;"
    .. " transport = \"curl\" %.2f s (serial would be %.1f s)")
    :format(N, LATENCY * 1000, together, queued, N * LATENCY))
end)
if n then n:stop() end
sb:stop()
if not ok then error(failure, 0) end
