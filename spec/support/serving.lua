-- `justclick serve` as the specs start it: in the background, with its pid (and its exit status
-- once it ends) in files of their own in dir, ready once its log says where it listens.
local core = require "justclick.core"
local files = require "support.files"
local sandbox = require "support.sandbox"

local serving = {}

--- serving.launch(cmd, dir, log, running) -> pid, url: runs the shell command cmd (whose output
-- it appends to log itself) in the background; its pid goes into running at once, so that the
-- spec stops it even if it never listens. Returns once this start's "listening on" line (not
-- one an earlier start left in the same log) is there; raises if none comes in time.
function serving.launch(cmd, dir, log, running)
  local logged = #(files.read(log) or "")
  os.remove(dir .. "/pid")
  -- no "Killed" from sh on stderr when a spec kills it
  os.execute(("(%s & echo $! > %s/pid; wait $!; echo $? > %s/status) 2>/dev/null &"):format(cmd, dir, dir))
  local deadline = core.now() + 10
  local pid
  while not pid and core.now() < deadline do
    pid = tonumber(files.read(dir .. "/pid") or "")
    if not pid then core.sleep(0.01) end
  end
  if not pid then error("justclick serve did not start: no pid") end
  running[#running + 1] = pid
  os.remove(dir .. "/status") -- an earlier start's
  while core.now() < deadline do
    local port = (files.read(log) or ""):sub(logged + 1):match("listening on 127%.0%.0%.1:(%d+)")
    if port and sandbox.alive(pid) then return pid, "http://127.0.0.1:" .. port end
    core.sleep(0.05)
  end
  error("justclick serve did not start: " .. (files.read(log) or ""))
end

return serving
