-- The php binary as the ground truth: Lua values written as PHP literals, and scripts run with
-- PHP's built-in defaults (php -n: precision 14, max_input_vars 1000, nesting level 64).
local php = {}
local number = require "support.number"
local shell = require "support.shell"

local function bytes_literal(s)
  return '"' .. s:gsub("[^%w ]", function(c) return ("\\x%02X"):format(c:byte()) end) .. '"'
end

local function float_literal(x)
  assert(x == x and x ~= math.huge and x ~= -math.huge, "no PHP literal for NaN or infinity")
  local s = ("%.17g"):format(x)
  if not s:find("[%.eE]") then s = s .. ".0" end -- "1500" would be an int in PHP
  return s
end

--- A PHP literal for a Lua scalar, or for a table given as an ordered list of {key, value} pairs
-- (key: a string, or an integer PHP index). `null` stands for PHP's null.
function php.literal(v, null)
  local t = number.type(v) or type(v)
  if t == "string" then return bytes_literal(v)
  elseif t == "integer" then return v == math.mininteger and "PHP_INT_MIN" or number.text(v)
  elseif t == "float" then return float_literal(v)
  elseif t == "boolean" then return tostring(v)
  elseif v == null then return "null"
  elseif t == "table" then
    local parts = {}
    for i, pair in ipairs(v) do
      parts[i] = php.literal(pair[1], null) .. " => " .. php.literal(pair[2], null)
    end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  error("no PHP literal for a " .. t)
end

--- Runs PHP code (without the opening tag) and returns what it printed.
function php.run(code)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write("<?php\n", code)
  f:close()
  -- Fatal errors are shown (85 = E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR); the
  -- warnings that parse_str gives for data it drops are not.
  local status, out = shell.run("php -n -d display_errors=stderr -d error_reporting=85 " .. path)
  os.remove(path)
  assert(status == 0, ("php failed (exit %s): %s"):format(status, out))
  return out
end

--- Runs `body` once per PHP expression in `exprs`, with $x bound to its value; returns the lines
-- the body printed, one line a case. The body must print exactly one line for each. `prelude`
-- (optional) runs first, for function definitions.
function php.map(exprs, body, prelude)
  local code = { prelude or "", "\n$cases = [\n" }
  for i, e in ipairs(exprs) do code[#code + 1] = (i > 1 and ",\n" or "") .. e end
  code[#code + 1] = "\n];\nforeach ($cases as $x) {\n" .. body .. "\n}\n"
  local lines = {}
  for line in php.run(table.concat(code)):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  assert(#lines == #exprs, ("php printed %d lines for %d cases"):format(#lines, #exprs))
  return lines
end

--- PHP's http_build_query for each PHP array expression.
function php.queries(exprs)
  return php.map(exprs, 'echo http_build_query($x), "\\n";')
end

return php
