-- Inside nginx: a real nginx (one process, LuaJIT, lua-nginx-module) in front of the sandbox,
-- its handlers using the module with transport = "nginx". This file only drives nginx over
-- HTTP (curl), so it runs under every Lua busted runs on; nginx runs the LuaJIT build
-- (make LUA_VERSION=jit all).
local cjson = require "cjson"
local sandbox = require "support.sandbox"
local nginx = require "support.nginx"

-- What every location that stands for JustClick holds (docs/nginx.md), over http here.
local UPSTREAM = [[
      internal;
      proxy_next_upstream off;
      proxy_pass_request_headers off;
      proxy_set_header Content-Type application/x-www-form-urlencoded;
      proxy_connect_timeout 5s;
      proxy_send_timeout 5s;
      proxy_buffering off;
      proxy_ignore_headers X-Accel-Redirect X-Accel-Expires X-Accel-Limit-Rate X-Accel-Buffering X-Accel-Charset;
      header_filter_by_lua_block { require("justclick.nginx").observe() }
      body_filter_by_lua_block { require("justclick.nginx").limit() }
]]

-- The handlers: /order creates an order and reads it back (the location and retries from the
-- query), /details reads one, /notify verifies a payment notification.
local HANDLERS = [[
    location = /phase {
      set_by_lua_block $problem {
        local client = require("justclick").new{ user = "demo", secret = "s", transport = "nginx",
          location = "/justclick-upstream" }
        local ok, err = pcall(client.order_details, client, 1)
        return ok and "no error" or tostring(err)
      }
      return 200 $problem;
    }
    location = /order {
      content_by_lua_block {
        local justclick = require "justclick"
        local cjson = require "cjson"
        local args = ngx.req.get_uri_args()
        local client = justclick.new{
          user = "demo", secret = os.getenv("JUSTCLICK_SECRET"), transport = "nginx",
          location = args.location or "/justclick-upstream", backoff = tonumber(args.backoff) or 0.01,
          retries = tonumber(args.retries),
        }
        local order, err = client:create_order{bill_email = args.email, goods = {{good_name = "course"}}}
        local back
        if order then back, err = client:order_details(order.bill_id) end
        if err then
          ngx.status = 502
          ngx.say(cjson.encode{kind = err.kind, code = err.code, name = err.name, sent = err.sent,
            attempts = err.attempts, retryable = err.retryable, text = tostring(err)})
          return
        end
        ngx.say(cjson.encode{bill_id = order.bill_id, link = order.link, email = back.email, stats = client:stats()})
      }
    }
    location = /default {
      content_by_lua_block {
        -- a client as a shop writes it inside nginx: no transport, no location (api_url and
        -- transport from the query, to tell the transports apart)
        local justclick = require "justclick"
        local args = ngx.req.get_uri_args()
        local client = justclick.new{ user = "demo", secret = os.getenv("JUSTCLICK_SECRET"),
          api_url = args.api_url, transport = args.transport, backoff = 0.01 }
        local order, err = client:create_order{bill_email = args.email, goods = {{good_name = "course"}}}
        if not order then
          ngx.status = 502
          ngx.say(require("cjson").encode{kind = err.kind, code = err.code, text = tostring(err)})
          return
        end
        ngx.say(require("cjson").encode{bill_id = order.bill_id, through = client.session.location or "curl"})
      }
    }
    location = /details {
      content_by_lua_block {
        local justclick = require "justclick"
        local cjson = require "cjson"
        local client = justclick.new{
          user = "demo", secret = os.getenv("JUSTCLICK_SECRET"), transport = "nginx",
          location = ngx.var.arg_location or "/justclick-upstream", backoff = 0.01,
        }
        local order, err = client:order_details(tonumber(ngx.var.arg_bill_id))
        if not order then
          ngx.status = 502
          ngx.say(cjson.encode{kind = err.kind, code = err.code, attempts = err.attempts, sent = err.sent,
            verified = err.verified, text = tostring(err)})
          return
        end
        ngx.say(cjson.encode{email = order.email, stats = client:stats()})
      }
    }
    location = /notify {
      client_max_body_size 64k;
      client_body_buffer_size 64k;
      content_by_lua_block {
        ngx.req.read_body()
        local event, err = require("justclick").notification(ngx.req.get_body_data() or "", os.getenv("JUSTCLICK_SECRET"))
        if not event then
          ngx.status = err.kind == "forged" and 403 or 400
          ngx.say(err.kind)
          return
        end
        ngx.say(event.kind, " ", event.id)
      }
    }
    location = /pure {
      content_by_lua_block {
        local justclick = require "justclick"
        local params = {bill_id = 100001, goods = {{good_name = "course", good_sum = 10.5}}}
        local reply = require("cjson").decode(ngx.req.get_uri_args().reply)
        ngx.say(justclick.build_query(params))
        ngx.say(justclick.sign(params, "demo", os.getenv("JUSTCLICK_SECRET")))
        ngx.say(tostring(justclick.verify_reply(reply, os.getenv("JUSTCLICK_SECRET"))))
        ngx.say(jit and jit.version or _VERSION)
      }
    }
]]

local function decode(body)
  local ok, value = pcall(cjson.decode, body or "")
  assert(ok, "not JSON: " .. tostring(body))
  return value
end

-- The error a handler answered with: GET path of server (n, or another) must give 502 and the
-- error as JSON.
local function failed(server, path)
  local status, body = server:request("GET", path)
  assert.are.equal(502, status, body)
  return decode(body)
end

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

describe("inside nginx", function()
  local sb, n, dead_port

  lazy_setup(function()
    sb = sandbox.start()
    dead_port = nginx.free_port() -- nothing listens there
    local sandbox_host = sb.url:match("^http://(.*)$")
    n = nginx.start{
      env = { JUSTCLICK_SECRET = sandbox.secret },
      http = [[
  server {
    listen 127.0.0.1:$PORT;
    location /justclick-upstream/ {
      proxy_pass http://]] .. sandbox_host .. [[/api/;
      proxy_read_timeout 10s;
]] .. UPSTREAM .. [[
    }
    location /justclick-impatient/ {
      proxy_pass http://]] .. sandbox_host .. [[/api/;
      proxy_read_timeout 1s;
]] .. UPSTREAM .. [[
    }
    location /justclick-dead/ {
      proxy_pass http://127.0.0.1:]] .. dead_port .. [[/api/;
]] .. UPSTREAM .. [[
    }
    location /justclick-small/ {
      proxy_pass http://]] .. sandbox_host .. [[/api/;
]] .. UPSTREAM:gsub("limit%(%)", "limit(64)") .. [[
    }
    location /justclick-roomy/ {
      proxy_pass http://]] .. sandbox_host .. [[/api/;
      proxy_read_timeout 10s;
]] .. UPSTREAM:gsub("limit%(%)", "limit(16 * 1024 * 1024)") .. [[
    }
    location /justclick-unobserved/ {
      internal;
      proxy_pass http://]] .. sandbox_host .. [[/api/;
    }
]] .. HANDLERS .. [[
  }
]],
    }
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
  end)

  it("runs build_query, sign and verify_reply in a content_by_lua handler, under LuaJIT", function()
    local secret = sandbox.secret
    local _, body = sb:post("/api/GetAllGoods", {}) -- a reply the sandbox signed
    local status, out = n:request("GET", "/pure?reply=" .. escape(body))
    assert.are.equal(200, status, out)
    local query, hash, verified, version = out:match("^(.-)\n(.-)\n(.-)\n(.-)\n$")
    local params = { bill_id = 100001, goods = { { good_name = "course", good_sum = 10.5 } } }
    local justclick = require "justclick"
    assert.are.equal(justclick.build_query(params), query)
    assert.are.equal(justclick.sign(params, "demo", secret), hash)
    assert.are.equal("true", verified)
    assert.matches("^LuaJIT", version)
  end)

  it("creates an order and reads it back from a content_by_lua handler", function()
    local status, body = n:request("GET", "/order?email=buyer%40example.com")
    assert.are.equal(200, status, body)
    local reply = decode(body)
    assert.are.equal("buyer@example.com", reply.email)
    assert.is_number(reply.bill_id)
    assert.are.same({ connects = 2, requests = 2 }, reply.stats)
    local orders = sb:orders()
    assert.are.equal(1, #orders)
    assert.are.equal(reply.bill_id, orders[1].id)
    assert.are.equal(2, sb:stats().requests)
  end)

  it("serves 50 requests at once with one worker while the sandbox takes 200 ms a call", function()
    sb:control("latency", { ms = 200 })
    local paths = {}
    for i = 1, 50 do paths[i] = ("/order?email=buyer%d%%40example.com"):format(i) end
    local replies, seconds = n:parallel(paths)
    local serial = 50 * 0.2 -- one call each, one after another: what a blocked worker would take
    print(("\nnginx: 50 handlers, 2 API calls each at 200 ms: %.2f s (a blocked worker: at least %.0f s)")
      :format(seconds, serial))
    local bills = {}
    for i = 1, 50 do
      local r = replies[i]
      assert.is_truthy(r, "no reply for request " .. i)
      assert.are.equal(200, r.status, r.body)
      local reply = decode(r.body)
      assert.are.equal(("buyer%d@example.com"):format(i), reply.email)
      bills[reply.bill_id] = true
    end
    local distinct = 0
    for _ in pairs(bills) do distinct = distinct + 1 end
    assert.are.equal(50, distinct)
    assert.are.equal(100, sb:stats().requests)
    assert.is_true(seconds < serial / 2, ("%.2f s"):format(seconds))
  end)

  describe("a client made without a transport", function()
    it("goes through nginx's /justclick-upstream/, not libcurl", function()
      -- api_url names a port where nothing listens: libcurl would fail to connect there; the
      -- location stands for api_url and reaches the sandbox
      local status, body = n:request("GET", ("/default?email=plain%%40example.com&api_url=http://127.0.0.1:%d/api")
        :format(dead_port))
      assert.are.equal(200, status, body)
      local reply = decode(body)
      assert.are.equal("/justclick-upstream", reply.through)
      assert.are.equal(1, sb:stats().orders)
    end)

    it("uses libcurl when asked for it by name", function()
      local status, body = n:request("GET", "/default?transport=curl&email=curl%40example.com&api_url="
        .. escape(sb.api_url))
      assert.are.equal(200, status, body)
      assert.are.equal("curl", decode(body).through)
      assert.are.equal(1, sb:stats().orders)
    end)

    it("lets 10 checkouts wait at once: together they take about as long as one", function()
      sb:control("latency", { ms = 500 })
      local paths = {}
      for i = 1, 10 do
        paths[i] = ("/default?email=many%d%%40example.com&api_url=http://127.0.0.1:%d/api"):format(i, dead_port)
      end
      local replies, seconds = n:parallel(paths)
      local serial = 10 * 0.5 -- what a worker blocked by each call would take at least
      print(("\nnginx: 10 checkouts of new{} at 500 ms each: %.2f s (a blocked worker: at least %.0f s)")
        :format(seconds, serial))
      for i = 1, 10 do
        assert.are.equal(200, replies[i] and replies[i].status, replies[i] and replies[i].body)
      end
      assert.are.equal(10, sb:stats().orders)
      assert.is_true(seconds < serial / 2, ("%.2f s"):format(seconds))
    end)
  end)

  it("verifies a notification JustClick sends to a handler using justclick.notification, and refuses a forged one",
    function()
      sb:notify({ url = n.url .. "/notify", events = "new_order" })
      local status, body = n:request("GET", "/order?email=payer%40example.com")
      assert.are.equal(200, status, body)
      local bill_id = decode(body).bill_id
      local list = sb:settle()
      assert.are.equal(1, #list.notifications)
      local sent = list.notifications[1]
      assert.are.equal("new_order", sent.event)
      assert.is_true(sent.delivered, cjson.encode(sent))
      assert.are.equal(200, sent.last_status, cjson.encode(sent)) -- the handler verified it

      -- the same body again: the handler's answer names it
      status, body = n:request("POST", "/notify", sent.body)
      assert.are.equal(200, status)
      assert.are.equal(("new_order %d\n"):format(bill_id), body)

      -- the email changed, the hash kept: forged
      local forged = sent.body:gsub("payer%%40example%.com", "thief%%40example.com")
      assert.are_not.equal(sent.body, forged)
      status, body = n:request("POST", "/notify", forged)
      assert.are.equal(403, status)
      assert.are.equal("forged\n", body)
    end)

  describe("a write", function()
    it("is not repeated when the upstream hangs up after reading it", function()
      sb:fault("hangup", "1", 1) -- the order is created, then the connection closes without a byte
      local err = failed(n, "/order?email=dropped%40example.com")
      assert.are.same({ "transport", 52, "GOT_NOTHING", true, 1, false },
        { err.kind, err.code, err.name, err.sent, err.attempts, err.retryable })
      assert.matches("the order may exist", err.text)
      local stats = sb:stats()
      assert.are.equal(1, stats.requests) -- sent once, never again
      assert.are.equal(1, stats.orders)
      assert.are.equal(0, stats.duplicates)
    end)

    it("is not repeated when the reply is cut short", function()
      sb:fault("drop", "", 1)
      local err = failed(n, "/order?email=cut%40example.com")
      assert.are.same({ "transport", 18, "PARTIAL_FILE", true, 1 }, { err.kind, err.code, err.name, err.sent, err.attempts })
      assert.are.equal(1, sb:stats().requests)
    end)

    it("is not repeated when the reply is late past proxy_read_timeout", function()
      sb:fault("slow", "1500", 1)
      local err = failed(n, "/order?email=late%40example.com&location=/justclick-impatient")
      assert.are.same({ "transport", 28, "OPERATION_TIMEDOUT", true, 1 },
        { err.kind, err.code, err.name, err.sent, err.attempts })
      assert.are.equal(1, sb:stats().requests)
    end)

    it("is not repeated after an HTTP 500", function()
      sb:fault("http500", "", 1)
      local err = failed(n, "/order?email=err%40example.com")
      assert.are.same({ "http", 500, 1 }, { err.kind, err.code, err.attempts })
      assert.are.equal(1, sb:stats().requests)
    end)

    it("is tried again while nginx cannot connect: it never left", function()
      local err = failed(n, "/order?email=x%40example.com&location=/justclick-dead")
      assert.are.same({ "transport", 7, "COULDNT_CONNECT", false, 3 }, { err.kind, err.code, err.name, err.sent, err.attempts })
    end)

    it("counts as sent when the location does not run observe(): nginx cannot tell, so it is not repeated",
      function()
        local err = failed(n, "/order?email=y%40example.com&location=/justclick-unobserved")
        assert.are.same({ "transport", true, 1 }, { err.kind, err.sent, err.attempts })
        assert.matches("observe", err.text)
        assert.are.equal(1, sb:stats().requests)
      end)
  end)

  describe("a reply", function()
    local function bill()
      local status, body = n:request("GET", "/order?email=checked%40example.com")
      assert.are.equal(200, status, body)
      return decode(body).bill_id
    end

    it("whose hash does not verify is a protocol error, not a result", function()
      local bill_id = bill()
      sb:fault("badhash", "", 1)
      local err = failed(n, "/details?bill_id=" .. bill_id)
      assert.are.same({ "protocol", 0, false, true }, { err.kind, err.code, err.verified, err.sent })
    end)

    it("from a phase where subrequests cannot go is an error that says so, and nothing is sent", function()
      local status, body = n:request("GET", "/phase")
      assert.are.equal(200, status, body)
      assert.matches("work in rewrite, access and content handlers, not in set", body)
      assert.matches('only a client made with transport = "curl" can call', body, 1, true)
      assert.are.equal(0, sb:stats().requests)
    end)

    it("past the location's limit() is refused as too big, whatever the client's max_reply", function()
      local bill_id = bill()
      local err = failed(n, "/details?bill_id=" .. bill_id .. "&location=/justclick-small")
      assert.are.equal("protocol", err.kind)
      assert.matches("larger than max_reply", err.text)
    end)

    it("with X-Accel-Redirect does not make nginx send the write again", function()
      sb:fault("xaccel", "/justclick-upstream/CreateOrder", 1)
      local status, body = n:request("GET", "/order?email=xaccel%40example.com")
      local stats = sb:stats()
      assert.are.equal(1, stats.orders, body)
      assert.are.equal(0, stats.duplicates, body)
      assert.are.equal(2, stats.requests, body) -- CreateOrder, then getOrderDetails; nothing more
      assert.are.equal(200, status, body)
    end)

    it("larger than max_reply is a protocol error", function()
      local bill_id = bill()
      sb:fault("huge", "", 1)
      -- 9 MiB: within this location's limit(), past the client's max_reply (8 MiB by default)
      local err = failed(n, "/details?bill_id=" .. bill_id .. "&location=/justclick-roomy")
      assert.are.equal("protocol", err.kind)
      assert.matches("larger than max_reply", err.text)
    end)
  end)

  it("waits between attempts without holding up the worker's other requests", function()
    -- A call that cannot connect waits 1-2 s (backoff 2, 50-100% of it) before its one retry.
    -- If that wait blocked the worker, nginx would answer nothing else until the call ended;
    -- it answers /pure while the call is still waiting.
    local out = n.dir .. "/waiting"
    os.execute(("curl -s -o %s '%s/order?email=w%%40example.com&location=/justclick-dead&retries=1&backoff=2' &")
      :format(out, n.url))
    local core = require "justclick.core"
    local deadline = core.now() + 10
    local function failed_once() -- nginx logged the first attempt's failure: the call now waits
      local _, count = n:log():gsub("connect%(%) failed[^\n]*/order%?email=w%%40", "")
      return count >= 1
    end
    while not failed_once() and core.now() < deadline do core.sleep(0.01) end
    assert.is_true(failed_once(), n:log())
    local _, body = sb:post("/api/GetAllGoods", {})
    local status = n:request("GET", "/pure?reply=" .. escape(body))
    assert.are.equal(200, status)
    local f = io.open(out, "rb")
    local waiting = f == nil or f:read("*a") == ""
    if f then f:close() end
    assert.is_true(waiting, "the waiting call had already finished: the worker was held up")
    while core.now() < deadline do -- let it end before the next spec
      local g = io.open(out, "rb")
      local done = g and g:read("*a") ~= ""
      if g then g:close() end
      if done then break end
      core.sleep(0.05)
    end
  end)

  describe("a read", function()
    it("is tried again after the upstream hangs up, and after a 500", function()
      local _, body = n:request("GET", "/order?email=reader%40example.com")
      local bill_id = decode(body).bill_id
      local before = sb:stats().requests
      sb:fault("hangup", "1", 1)
      sb:fault("http500", "", 1)
      local status
      status, body = n:request("GET", "/details?bill_id=" .. bill_id)
      assert.are.equal(200, status, body)
      assert.are.equal("reader@example.com", decode(body).email)
      assert.are.equal(before + 3, sb:stats().requests)
    end)
  end)

  it("leaves no alert, crit, emerg or Lua error in the error log", function()
    assert.is_nil(nginx.problems(n:log()))
  end)

  describe("examples/nginx", function()
    local ex

    -- The example's nginx.conf as it is, but for where it listens, where the module is, and one
    -- foreground process: each line must be there once, or the example has drifted from what
    -- this spec runs. Its includes come from the same directory: the module's
    -- nginx-upstream.conf, and a justclick-api.conf that points at the sandbox (over http).
    local function example_conf(dir, port)
      local conf = assert(io.open("examples/nginx/nginx.conf")):read("*a")
      local root = nginx.root()
      local function swap(line, with)
        local at = conf:find(line, 1, true)
        assert(at and not conf:find(line, at + 1, true), "examples/nginx/nginx.conf: not once: " .. line)
        conf = conf:sub(1, at - 1) .. with .. conf:sub(at + #line)
      end
      if nginx.load_modules() == "" then -- OpenResty: built in
        swap("load_module /usr/lib/nginx/modules/ndk_http_module.so;", "")
        swap("load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;", "")
      end
      swap("worker_processes auto;", "worker_processes 1; daemon off; master_process off;")
      swap('lua_package_path "$prefix/?.lua;;";',
        ('lua_package_path "%s/lua/?.lua;%s/examples/nginx/?.lua;;";'):format(root, root))
      swap('lua_package_cpath "$prefix/?.so;;";', nginx.lua_paths():match("lua_package_cpath[^\n]*"))
      -- the log the spec reads, at the example's level: notice, for the handlers' lines (granted ...)
      swap("error_log logs/error.log notice;", ("error_log %s/error.log notice;"):format(dir))
      swap("listen 8080;", ("listen 127.0.0.1:%d;"):format(port))
      swap("include nginx-upstream.conf;", ("include %s/lua/justclick/nginx-upstream.conf;"):format(root))
      assert(os.execute("mkdir -p " .. dir .. "/logs " .. dir .. "/temp"))
      local api = assert(io.open(dir .. "/justclick-api.conf", "w"))
      api:write(("proxy_pass %s/api/;\n"):format(sb.url))
      api:close()
      return conf
    end

    lazy_setup(function()
      ex = nginx.start { conf = example_conf, env = { JUSTCLICK_USER = sandbox.user, JUSTCLICK_SECRET = sandbox.secret } }
    end)

    lazy_teardown(function()
      if ex then
        local problems = nginx.problems(ex:stop())
        assert.is_nil(problems)
      end
    end)

    it("creates the order and redirects the buyer to its payment link, once for a double click", function()
      sb:notify({ url = ex.url .. "/justclick/paid", events = "new_order" })
      local status, body, headers = ex:request("POST", "/checkout", "email=buyer%40example.com&product=course")
      assert.are.equal(303, status, body)
      local orders = sb:orders()
      assert.are.equal(1, #orders)
      assert.are.equal("buyer@example.com", orders[1].email)
      assert.matches(orders[1].link:gsub("%p", "%%%0") .. "$", headers.location)

      local again
      status, body, again = ex:request("POST", "/checkout", "email=buyer%40example.com&product=course")
      assert.are.equal(303, status, body)
      assert.are.equal(headers.location, again.location)
      assert.are.equal(1, #sb:orders())

      local list = sb:settle() -- the new_order notification, verified by /justclick/paid
      assert.are.equal(1, #list.notifications, cjson.encode(list))
      assert.are.equal(200, list.notifications[1].last_status, cjson.encode(list.notifications[1]) .. ex:log())
    end)

    it("grants a payment only once the API confirms the bill paid: a new order made into a payment is refused",
      function()
        sb:notify({ url = ex.url .. "/justclick/paid", events = "new_order,paid" })
        local status, body = ex:request("POST", "/checkout", "email=payer%40example.com&product=course")
        assert.are.equal(303, status, body)
        local bill = ("%d"):format(sb:orders()[1].id)
        local list = sb:settle()
        local new_order = list.notifications[1]
        assert.are.same({ "new_order", 200 }, { new_order.event, new_order.last_status }, ex:log())
        -- the status dropped and paid set to created: the hash verifies as a payment's
        local created = new_order.body:match("created=([^&]*)")
        local forged = new_order.body:gsub("&status=new_order", "") .. "&paid=" .. created
        status, body = ex:request("POST", "/justclick/paid", forged)
        assert.are.equal(503, status, body)
        assert.are.equal("not confirmed\n", body)
        assert.is_truthy(ex:log():find("not confirmed: paid for bill " .. bill .. ": [^\n]*waiting"), ex:log())
        assert.is_falsy(ex:log():find("granted", 1, true), ex:log())
        -- JustClick's own payment notification, once the bill is paid: granted
        assert(sb:client():update_order_status(tonumber(bill), "paid", { date = os.time() }))
        list = sb:settle()
        assert.are.same({ "paid", 200 }, { list.notifications[2].event, list.notifications[2].last_status }, ex:log())
        assert.is_truthy(ex:log():find("justclick: granted bill " .. bill .. " to payer@example.com: course (paid-"
          .. bill, 1, true), ex:log())
        local _, grants = ex:log():gsub("justclick: granted bill", "")
        assert.are.equal(1, grants)
      end)

    it("refuses a form without an email before calling JustClick", function()
      local status = ex:request("POST", "/checkout", "email=&product=course")
      assert.are.equal(400, status)
      assert.are.equal(0, sb:stats().requests)
    end)

    it("tells the buyer the order may exist when JustClick hung up after taking it", function()
      sb:fault("hangup", "1", 1)
      local status, body = ex:request("POST", "/checkout", "email=late%40example.com&product=course")
      assert.are.equal(503, status)
      assert.matches("check your email before ordering again", body)
      assert.are.equal(1, sb:stats().requests)
    end)
  end)

  describe("with the module's nginx-upstream.conf, its TLS lines", function()
    local tls, dir

    -- The peer: a TLS server of the same nginx, with a self-signed certificate for localhost,
    -- answering every request with a page that is no API reply.
    lazy_setup(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -p " .. dir))
      assert(os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/cert.pem "
        .. "-days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null"):format(dir, dir)))
      local peer = nginx.free_port()
      -- A location as docs/nginx.md has a user write it: proxy_pass, and the module's
      -- nginx-upstream.conf with its TLS lines (the system's CAs).
      local function location(name)
        return ([[
    location /NAME/ {
      proxy_pass https://127.0.0.1:PEER/api/;
      proxy_ssl_name localhost;
      include ROOT/lua/justclick/nginx-upstream.conf;
    }
]]):gsub("NAME", name):gsub("PEER", tostring(peer)):gsub("ROOT", nginx.root())
      end
      tls = nginx.start{
        env = { JUSTCLICK_SECRET = sandbox.secret },
        http = "  server {\n    listen 127.0.0.1:" .. peer .. " ssl;\n"
          .. "    ssl_certificate " .. dir .. "/cert.pem;\n    ssl_certificate_key " .. dir .. "/key.pem;\n"
          .. "    location / { return 200 'no API here'; }\n  }\n"
          .. "  server {\n    listen 127.0.0.1:$PORT;\n"
          .. location("justclick-upstream") .. HANDLERS .. "  }\n",
      }
    end)

    lazy_teardown(function()
      if tls then assert.is_nil(nginx.problems(tls:stop())) end
      if dir then os.execute("rm -rf " .. dir) end
    end)

    it("refuses a certificate no CA of the system signed, and says nothing was sent", function()
      local err = failed(tls, "/order?email=tls%40example.com&retries=0")
      assert.are.same({ "transport", 7, false }, { err.kind, err.code, err.sent })
      assert.matches("certificate verify", tls:log())
    end)
  end)
end)
