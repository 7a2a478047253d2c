-- PHP's own reading of form bodies, the ground truth for parse_query: parse_str under php -n,
-- and a real $_POST from php -S. Both sides are written in one canonical text that keeps what
-- parse_query's tables keep: for each array, how many of its first entries have the keys
-- 0, 1, 2... in order (parse_query's Lua sequence), then every other key, in byte order, as
-- its text (PHP's integer 5 and parse_query's string "5" both as "5"), with the values.
-- Strings are hex, so that any byte survives.
local core = require "justclick.core"
local files = require "support.files"
local shell = require "support.shell"
local number = require "support.number"

local form_php = {}

local CANON_PHP = [[
function canon($a) {
  $keys = array_keys($a);
  $n = count($keys);
  for ($k = 0; $k < $n && $keys[$k] === $k; $k++) {}
  $o = "[" . $k . ":";
  for ($i = 0; $i < $k; $i++) $o .= val($a[$i]) . ",";
  $rest = [];
  for ($i = $k; $i < $n; $i++) {
    // A key's type must be the one its text implies: PHP makes every canonical decimal an int.
    $s = (string)$keys[$i];
    $canonical = (string)(int)$s === $s && $s !== "-0";
    if (is_int($keys[$i]) !== $canonical) return "!key type of " . bin2hex($s);
    $rest[] = bin2hex($s);
  }
  sort($rest, SORT_STRING);
  foreach ($rest as $h) $o .= $h . "=" . val($a[hex2bin($h)]) . ",";
  return $o . "]";
}
function val($v) { return is_array($v) ? canon($v) : (is_string($v) ? "'" . bin2hex($v) : "!" . gettype($v)); }
]]

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

--- The canonical text of a parse_query table; anything parse_query must not make (a key
-- that is neither a string nor one of 1..n, a value neither a string nor a table) shows as '!'.
function form_php.canon(t)
  if type(t) ~= "table" then return type(t) == "string" and "'" .. hex(t) or "!" .. type(t) end
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local out, rest = { "[" .. n .. ":" }, {}
  for i = 1, n do out[#out + 1] = form_php.canon(t[i]) .. "," end
  for k in pairs(t) do
    if type(k) == "string" then rest[#rest + 1] = hex(k)
    elseif not (number.type(k) == "integer" and k >= 1 and k <= n) then return "!key " .. tostring(k) end
  end
  table.sort(rest)
  for _, h in ipairs(rest) do
    local k = h:gsub("%x%x", function(b) return string.char(tonumber(b, 16)) end)
    out[#out + 1] = h .. "=" .. form_php.canon(t[k]) .. ","
  end
  return table.concat(out) .. "]"
end

local function php_flags(ini)
  local flags = { "-n" }
  for _, name in ipairs({ "max_input_vars", "max_input_nesting_level" }) do
    if ini and ini[name] then flags[#flags + 1] = ("-d %s=%d"):format(name, ini[name]) end
  end
  return table.concat(flags, " ")
end

--- parse_str of each body under php -n with the ini settings `ini` (max_input_vars,
-- max_input_nesting_level); returns the canonical text of each result.
function form_php.parse_str(bodies, ini)
  local dir = os.tmpname()
  local list, script = dir .. ".hex", dir .. ".php"
  local lines = {}
  for i, b in ipairs(bodies) do lines[i] = hex(b) end
  files.write(list, table.concat(lines, "\n") .. "\n")
  files.write(script, "<?php\n" .. CANON_PHP .. ([[
foreach (file(%q, FILE_IGNORE_NEW_LINES) as $h) { parse_str(hex2bin($h), $r); echo canon($r), "\n"; }
]]):format(list))
  -- Fatal errors are shown; parse_str's warnings for what it drops are not.
  local ok, out = shell.ok(("php %s -d display_errors=stderr -d error_reporting=85 %s"):format(php_flags(ini), script))
  os.remove(list)
  os.remove(script)
  os.remove(dir)
  assert(ok, "php failed: " .. out:sub(1, 2000))
  local result = {}
  for line in out:gmatch("([^\n]*)\n") do result[#result + 1] = line end
  assert(#result == #bodies, ("php printed %d lines for %d bodies"):format(#result, #bodies))
  return result
end

local Server = {}
Server.__index = Server

--- Starts php -S (its own request parsing: the real $_POST) with the ini settings `ini`, on a
-- free port, in a process group of its own. server:post(body) returns the canonical $_POST,
-- the number of names PHP found nested too deep (its warnings), and whether it warned "Input
-- variables exceeded"; server:stop() ends the group.
function form_php.server(ini)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  files.write(dir .. "/router.php", "<?php\n" .. CANON_PHP .. [[
// PHP logged this request's warnings before the router ran; php -S serves one at a time.
$log = __DIR__ . "/errors.log";
$errors = (string)@file_get_contents($log);
file_put_contents($log, "");
// ext/filter, when loaded, registers each variable twice (its raw copy, then $_POST): two
// warnings for each name nested too deep.
$per = extension_loaded("filter") ? 2 : 1;
echo canon($_POST), "\n", intdiv(substr_count($errors, "nesting level exceeded"), $per), " ",
  substr_count($errors, "Input variables exceeded"), "\n";
]])
  local p = assert(io.popen(("cd %s && setsid php %s -d display_errors=0 -d log_errors=1 -d error_log=%s/errors.log "
    .. "-S 127.0.0.1:0 router.php > server.log 2>&1 & echo $!"):format(dir, php_flags(ini), dir)))
  local pid = assert(tonumber(p:read("*l")), "no php -S pid")
  p:close()
  local self = setmetatable({ pid = pid, dir = dir, session = core.session({ timeout = 20 }) }, Server)
  local deadline = core.now() + 15
  while core.now() < deadline do
    local url = (files.read(dir .. "/server.log") or ""):match("%((http://127%.0%.0%.1:%d+)%) started")
    if url then
      self.url = url .. "/"
      return self
    end
    core.sleep(0.05)
  end
  local said = files.read(dir .. "/server.log") or ""
  self:stop()
  error("php -S did not start: " .. said)
end

function Server:post(body)
  local status, reply = self.session:post(self.url, body)
  assert(status == 200, ("php -S: %s %s"):format(tostring(status), type(reply) == "table" and tostring(reply.message) or tostring(reply)))
  local canon, nested, exceeded = reply:match("^(.-)\n(%d+) (%d+)\n$")
  assert(canon, "php -S replied: " .. reply:sub(1, 500))
  return canon, tonumber(nested), tonumber(exceeded) > 0
end

function Server:stop()
  if self.session then self.session:close() end
  os.execute(("kill -TERM -%d 2>/dev/null; rm -rf %s"):format(self.pid, self.dir))
end

return form_php
