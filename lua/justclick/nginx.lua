--- justclick.nginx: the transport of a client inside nginx (lua-nginx-module, OpenResty).
-- justclick.new{...} inside nginx (transport = "nginx" is the default there; location defaults
-- to "/justclick-upstream") sends each API call as an ngx.location.capture subrequest to an
-- internal location that proxy_passes to JustClick: nginx itself does the HTTP and the TLS, and
-- the worker goes on serving other requests while one waits. The location is proxy_pass and the
-- module's include, nginx-upstream.conf (beside this file), which runs observe() as its header
-- filter, so that a failure tells whether the request may have reached JustClick:
--
--   location /justclick-upstream/ {
--       proxy_pass https://USER.justclick.io/api/;
--       include /usr/local/share/lua/5.1/justclick/nginx-upstream.conf;
--   }
--
-- A session here answers as core.session's post does: status and body when JustClick answered
-- (whatever the status), or nil and {code, message, sent, too_big} when no whole reply came.
-- `sent` is true once nginx had connected and started writing the request: from then on the
-- request may have reached JustClick, so a write is not repeated (the client's rule).
local nginx = {}
-- luacheck: std +ngx_lua

-- What observe() leaves in the subrequest's ngx.ctx (the table the capture passed).
local SEEN = "justclick.nginx"

-- The last entry of an upstream variable: "-, 0.012" -> "0.012"; nil for none.
local function last(value)
  if type(value) ~= "string" or value == "" then return nil end
  return value:match("([^,%s:]+)%s*$")
end

-- Whether any try of an upstream variable holds a time: "-, 0.003" -> true; "-" -> false.
local function any_time(value)
  return type(value) == "string" and value:find("%d") ~= nil
end

--- observe(): header_filter_by_lua of the internal location. Notes, for the transport, whether
-- nginx connected to JustClick and started writing the request (its $upstream_connect_time is
-- set as the request starts to go out), and whether a reply's header came from JustClick
-- ($upstream_header_time), as against an answer nginx made up itself (a 502 or a 504).
function nginx.observe()
  local var = ngx.var
  ngx.ctx[SEEN] = {
    sent = any_time(var.upstream_connect_time),
    replied = any_time(last(var.upstream_header_time)),
    upstream_status = last(var.upstream_status),
  }
end

--- limit(max_bytes): body_filter_by_lua of the internal location. Passes at most max_bytes of a
-- reply (8 MiB by default, max_reply's default) and drops the rest, so that a huge reply never
-- fills the worker's memory: the capture holds max_bytes at most, and the transport reports
-- the reply as too big.
function nginx.limit(max_bytes)
  local ctx = ngx.ctx
  local seen = ctx[SEEN]
  if not seen then return end
  local chunk = ngx.arg[1]
  local total = (seen.bytes or 0) + #chunk
  seen.bytes = total
  if total > (max_bytes or 8 * 1024 * 1024) then
    seen.too_big = true
    ngx.arg[1] = ""
  end
end

-- libcurl's codes for the same failures, so that err.code means one thing whatever the
-- transport: 7 could not connect, 28 timed out, 18 the reply was cut short, 52 no reply.
local COULDNT_CONNECT, PARTIAL, TIMEOUT, NO_REPLY = 7, 18, 28, 52
-- and their names, as the libcurl transport gives them (err.name)
local NAMES = { [7] = "COULDNT_CONNECT", [18] = "PARTIAL_FILE", [28] = "OPERATION_TIMEDOUT", [52] = "GOT_NOTHING",
  [63] = "FILESIZE_EXCEEDED" }

-- A failure as core.session's post gives it: nil, {kind = "transport", code, name, message, sent,
-- too_big}.
local function failure(code, sent, message, too_big)
  return nil, { kind = "transport", code = code, name = NAMES[code], sent = sent, message = message,
    too_big = too_big or false }
end

local Session = {}
Session.__index = Session

--- session(options) -> a session for a client: location (the internal location's prefix),
-- api_url (the client's: the part of a call's URL that the location stands for), max_reply.
function nginx.session(opts)
  local location = opts.location
  if type(location) ~= "string" or not location:match("^/[^%s?#]*$") then
    error("justclick.new: location must be a URI path such as \"/justclick-upstream\"", 3)
  end
  return setmetatable({
    location = (location:gsub("/+$", "")),
    api_url = opts.api_url,
    max_reply = opts.max_reply or 8 * 1024 * 1024,
    requests = 0,
    connects = 0,
  }, Session)
end

-- The subrequest's URI for a call's URL: the location in place of api_url.
function Session:uri(url)
  local prefix = self.api_url .. "/"
  if url:sub(1, #prefix) ~= prefix then
    error("justclick.nginx: the URL is not under the client's api_url", 3)
  end
  return self.location .. "/" .. url:sub(#prefix + 1)
end

--- session:post(url, body [, once [, timeout]]) -> status, body | nil, {kind, code, message, sent, too_big}.
-- Every request is sent once by nginx (proxy_next_upstream off); `once` needs nothing more.
-- `timeout` cannot bound a subrequest: the location's proxy_*_timeout do (README).
-- The phases in which ngx.location.capture works.
local CAPTURES = { rewrite = true, access = true, content = true }

function Session:post(url, body)
  local phase = ngx.get_phase()
  if not CAPTURES[phase] then -- a programming error, as a wrong argument is: it raises
    error(("justclick.nginx: calls go as subrequests, which work in rewrite, access and content"
      .. " handlers, not in %s (from there, only a client made with transport = \"curl\" can call,"
      .. " and it blocks the worker while it waits)"):format(phase), 3)
  end
  local uri = self:uri(url)
  local ctx = {}
  self.requests = self.requests + 1
  local res = ngx.location.capture(uri, { method = ngx.HTTP_POST, body = body, ctx = ctx })
  local seen = ctx[SEEN]
  if not seen then -- the filter did not run: the location is missing or misses the line
    return failure(NO_REPLY, true,
      ("nginx answered %d for %s without justclick.nginx.observe() seeing it: is the location"
        .. " there, with header_filter_by_lua_block { require(\"justclick.nginx\").observe() }?")
        :format(res.status, uri))
  end
  if seen.sent then self.connects = self.connects + 1 end
  if seen.replied then
    if seen.too_big or #res.body > self.max_reply then
      return failure(63, true, "the reply is larger than max_reply", true)
    elseif res.truncated then
      return failure(PARTIAL, true, "the reply was cut short: the connection closed early")
    end
    return res.status, res.body
  end
  -- nginx's own answer: no reply header came from JustClick
  local why = ("no reply from the upstream (nginx answered %d; its error log says why)"):format(res.status)
  local code = res.status == 504 and TIMEOUT or (seen.sent and NO_REPLY or COULDNT_CONNECT)
  return failure(code, seen.sent, why)
end


--- sleep(seconds): the wait between a call's attempts, which leaves the worker free.
function nginx.sleep(seconds)
  ngx.sleep(seconds)
end

--- session:stats() -> {connects, requests}: attempts that reached the upstream, and attempts.
function Session:stats()
  return { connects = self.connects, requests = self.requests }
end

--- session:close(): nothing to release; nginx owns the connections.
function Session.close() end

return nginx
