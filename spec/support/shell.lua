-- Commands and scripts that the specs run as child processes.
local files = require "support.files"

local shell = {}

--- Runs a shell command line; returns its exit status and its output, stdout and stderr joined.
function shell.run(cmdline)
  local out = os.tmpname()
  local p = assert(io.popen(("%s > %s 2>&1; echo $?"):format(cmdline, out)))
  local status = tonumber(p:read("*a"))
  p:close()
  local output = files.read(out)
  os.remove(out)
  return status, output
end

--- What a shell command line prints on stdout (stderr is not caught), once it closes stdout:
-- for a command that starts a process in the background and echoes its pid, say.
function shell.output(cmdline)
  local p = assert(io.popen(cmdline))
  local out = p:read("*a")
  p:close()
  return out
end

--- Runs a shell command line; returns whether it exited 0, and its output.
function shell.ok(cmdline)
  local status, output = shell.run(cmdline)
  return status == 0, output
end

--- Runs the Lua code as a script of `command` (the host, say), with the arguments after it;
-- returns its exit status and its output.
function shell.script(command, code, ...)
  local path = os.tmpname()
  files.write(path, code)
  local status, output = shell.run(("%s %s %s"):format(command, path, table.concat({ ... }, " ")))
  os.remove(path)
  return status, output
end

--- A port nothing listens on now (PHP binds port 0 and tells which it got).
function shell.free_port()
  local status, out = shell.run([[php -r '$s = stream_socket_server("tcp://127.0.0.1:0");]]
    .. [[ echo substr(strrchr(stream_socket_get_name($s, false), ":"), 1);']])
  return assert(status == 0 and tonumber(out), "no free port: " .. tostring(out))
end

return shell
