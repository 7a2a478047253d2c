-- Starts a real nginx for the specs (Debian's nginx with libnginx-mod-http-lua, or OpenResty):
-- its own prefix and config in a temporary directory, a free port, daemon off, one process
-- (master_process off, so the one worker is the whole server), the module from the work tree
-- (lua/ and LuaJIT's build-jit/), stopped by its PID. Talks to it with curl, so that the spec
-- runs under any Lua: nothing here needs more than Lua 5.1.
--   local n = nginx.start{http = "server { listen 127.0.0.1:$PORT; ... }", env = {NAME = "value"}}
--   local status, body, headers = n:request("GET", "/path")
--   local replies, seconds = n:parallel({"/a", "/b"})
--   local log = n:stop()  -- the error log; nginx.problems(log) is nil when it is clean
local core = require "justclick.core"

local nginx = {}
local Nginx = {}
Nginx.__index = Nginx

local files = require "support.files"
local read, write = files.read, files.write
local shell = require "support.shell"
local output = shell.output

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function alive(pid)
  local stat = read("/proc/" .. pid .. "/stat")
  return stat ~= nil and stat:match(".*%) (%a)") ~= "Z"
end

--- The work tree: busted runs from it.
function nginx.root()
  return (output("pwd"):gsub("%s+$", ""))
end

--- A port nothing listens on now.
nginx.free_port = shell.free_port

--- The load_module lines of lua-nginx-module in Debian's nginx (NDK first, as it needs);
-- none where nginx has it built in (OpenResty). JUSTCLICK_NGINX_MODULES: another directory.
function nginx.load_modules()
  local dir = os.getenv("JUSTCLICK_NGINX_MODULES") or "/usr/lib/nginx/modules"
  if not read(dir .. "/ngx_http_lua_module.so") then return "" end
  return ("load_module %s/ndk_http_module.so;\nload_module %s/ngx_http_lua_module.so;\n"):format(dir, dir)
end

--- The http-level lines that find the module in the work tree: the Lua files, and the LuaJIT
-- build of the core (make LUA_VERSION=jit all).
function nginx.lua_paths()
  local root = nginx.root()
  local so = root .. "/build-jit/lua/justclick/core.so"
  assert(read(so), so .. " is missing: the nginx spec needs the LuaJIT build (make LUA_VERSION=jit all)")
  return ('lua_package_path "%s/lua/?.lua;;";\nlua_package_cpath "%s/build-jit/lua/?.so;;";\n'):format(root, root)
end

--- Lines, in a main context, that make nginx one foreground process writing only under dir.
local function main_lines(dir)
  return table.concat({
    "daemon off;", "master_process off;", "pid " .. dir .. "/nginx.pid;",
    "error_log " .. dir .. "/error.log info;",
  }, "\n") .. "\n"
end

--- http-level lines that keep nginx's temporary files under dir, not in /var/lib/nginx.
function nginx.temp_lines(dir)
  local lines = {}
  for _, what in ipairs({ "client_body", "proxy", "fastcgi", "uwsgi", "scgi" }) do
    lines[#lines + 1] = ("%s_temp_path %s/%s;"):format(what, dir, what)
  end
  return table.concat(lines, "\n") .. "\n"
end

--- nginx.start{http = text, env = {...}} or nginx.start{conf = function(dir, port) -> text}:
-- the config is either the http block's inside (with $PORT for the port; the module's paths,
-- the temp paths, the pid and the error log are added), or a whole nginx.conf. Returns once
-- nginx answers on the port.
function nginx.start(opts)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local port = nginx.free_port()
  local conf
  if opts.conf then
    conf = opts.conf(dir, port)
  else
    conf = nginx.load_modules() .. main_lines(dir) .. "events { worker_connections 1024; }\n"
    for name in pairs(opts.env or {}) do conf = conf .. "env " .. name .. ";\n" end
    conf = conf .. "http {\naccess_log off;\n" .. nginx.lua_paths() .. nginx.temp_lines(dir)
      .. opts.http:gsub("%$PORT", tostring(port)) .. "\n}\n"
  end
  write(dir .. "/nginx.conf", conf)
  local env = ""
  for name, value in pairs(opts.env or {}) do
    assert(name:match("^[%w_]+$"), name)
    env = env .. name .. "=" .. quote(value) .. " "
  end
  local pid = tonumber(output(("cd %s && %snginx -p %s/ -c %s/nginx.conf -e %s/error.log > %s/out 2>&1 & echo $!")
    :format(dir, env, dir, dir, dir, dir)))
  local self = setmetatable({ pid = assert(pid, "nginx did not start"), dir = dir, port = port,
    url = "http://127.0.0.1:" .. port, conf = conf }, Nginx)
  local deadline = core.now() + 10
  while core.now() < deadline and alive(pid) do
    if output(("curl -s -o /dev/null -w '%%{http_code}' %s/"):format(self.url)) ~= "000" then return self end
    core.sleep(0.02)
  end
  local said = (read(dir .. "/out") or "") .. (read(dir .. "/error.log") or "")
  self:stop()
  error("nginx did not start:\n" .. said)
end

--- The error log so far.
function Nginx:log()
  return read(self.dir .. "/error.log") or ""
end

--- Stops nginx by its PID (QUIT: it finishes what it serves; KILL after 5 s) and removes its
-- directory; returns the error log.
function Nginx:stop()
  os.execute(("kill -QUIT %d 2>/dev/null"):format(self.pid))
  local deadline = core.now() + 5
  while alive(self.pid) and core.now() < deadline do core.sleep(0.02) end
  if alive(self.pid) then os.execute(("kill -KILL %d 2>/dev/null"):format(self.pid)) end
  local log = self:log()
  os.execute("rm -rf " .. self.dir)
  return log
end

--- The lines of an error log that say something went wrong in nginx or in Lua, or nil. (Lines
-- of level [error] are nginx's notes of upstream failures, which the fault specs cause.)
function nginx.problems(log)
  local bad = {}
  for line in log:gmatch("[^\n]+") do
    if line:find("%[alert%]") or line:find("%[crit%]") or line:find("%[emerg%]")
      or line:find("runtime error") or line:find("lua entry thread aborted") or line:find("stack traceback") then
      bad[#bad + 1] = line
    end
  end
  return bad[1] and table.concat(bad, "\n") or nil
end

-- Reads the headers curl dumped (-D): the last reply's, names in lower case.
local function headers_of(path)
  local headers = {}
  for line in (read(path) or ""):gmatch("[^\r\n]+") do
    local name, value = line:match("^([%w%-]+):%s*(.-)%s*$")
    if name then headers[name:lower()] = value end
  end
  return headers
end

--- n:request(method, path [, body [, content_type]]) -> status, body, headers.
function Nginx:request(method, path, body, content_type)
  local out, head, data = self.dir .. "/reply", self.dir .. "/headers", self.dir .. "/request"
  local extra = ""
  if body then
    write(data, body)
    extra = ("--data-binary @%s -H %s"):format(data, quote("Content-Type: " .. (content_type
      or "application/x-www-form-urlencoded")))
  end
  local status = output(("curl -s -X %s %s -o %s -D %s -w '%%{http_code}' %s"):format(method, extra, out, head,
    quote(self.url .. path)))
  return tonumber(status), read(out), headers_of(head)
end

--- n:parallel(paths) -> {status =, body =} for each path, in order, and the seconds all of them
-- took: one curl sending them all at once, each on its own connection.
function Nginx:parallel(paths)
  local config = {}
  for i, path in ipairs(paths) do
    config[#config + 1] = ('url = "%s%s"\noutput = "%s/parallel.%d"\n'):format(self.url, path, self.dir, i)
  end
  write(self.dir .. "/parallel.conf", table.concat(config))
  local started = core.now()
  local listing = output(("curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max %d"
    .. " -w '%%{http_code} %%{filename_effective}\\n' -K %s/parallel.conf"):format(#paths, self.dir))
  local seconds = core.now() - started
  local replies = {}
  for status, file in listing:gmatch("(%d+) (%S+)") do
    local i = tonumber(file:match("parallel%.(%d+)$"))
    replies[i] = { status = tonumber(status), body = read(file) }
  end
  return replies, seconds
end

return nginx
