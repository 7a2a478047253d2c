-- What the import specs share: a temporary directory, CSV files of orders, the host's
-- `justclick import` against a sandbox, and the journal's bills.
local sandbox = require "support.sandbox"
local files = require "support.files"
local number = require "support.number"

local importing = {}

importing.HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")

--- A new empty directory.
function importing.tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  return dir
end

--- Starts a sandbox and makes a temporary directory before the first spec of a describe block,
-- and removes both after its last; `set(sb, dir)` is given them. Spec files pass busted's
-- lazy_setup and lazy_teardown, which this module cannot see.
function importing.sandbox(lazy_setup, lazy_teardown, set)
  local sb, dir
  lazy_setup(function()
    sb = sandbox.start()
    dir = importing.tmpdir()
    set(sb, dir)
  end)
  lazy_teardown(function()
    if sb then sb:stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)
end

--- A CSV of n distinct orders, one per line, with an id column.
function importing.csv(n, first)
  local lines = { "id,bill_email,goods,bill_first_name,utm_medium" }
  for i = first or 1, (first or 1) + n - 1 do
    lines[#lines + 1] = ("row%d,buyer%d@example.com,invoice:%d;sales,Name %d,cpc"):format(i, i % 7, 1000 + i, i)
  end
  return table.concat(lines, "\n") .. "\n"
end

--- `justclick [host_options] import [options] path` against the sandbox sb: its exit status and
-- output (stdout and stderr, in path.out); or, in the background, its pid.
function importing.host_import(sb, path, background, options, host_options)
  local env = ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s"):format(sandbox.user, sandbox.secret, sb.api_url)
  return importing.launch(("%s %s %s import %s %s"):format(env, importing.HOST, host_options or "", options or "", path),
    path, background)
end

--- importing.launch(cmd, path, background): runs the shell command cmd with its output (stdout and
-- stderr) in path.out: its exit status and that output; or, in the background, its pid.
function importing.launch(cmd, path, background)
  cmd = ("%s > %s.out 2>&1"):format(cmd, path)
  if background then
    local p = assert(io.popen(cmd .. " & echo $!"))
    local pid = tonumber(p:read("*l"))
    p:close()
    return pid
  end
  local p = assert(io.popen(cmd .. "; echo $?"))
  local status = tonumber(p:read("*a"))
  p:close()
  return status, files.read(path .. ".out")
end

--- The journal's records, decoded; raises on a line that is not one.
function importing.journal(path)
  local cjson = require "cjson"
  local records = {}
  for line in (files.read(path .. ".journal") or ""):gmatch("([^\n]*)\n") do
    records[#records + 1] = cjson.decode(line)
  end
  return records
end

--- The journal's last bill_id of each row.
function importing.journal_bills(path)
  local bills = {}
  for _, r in ipairs(importing.journal(path)) do
    if r.bill_id then bills[r.row] = number.tointeger(r.bill_id) end
  end
  return bills
end

return importing
