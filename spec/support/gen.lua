-- Random nested tables for the differential specs. A case is generated as a tree, from which
-- both the Lua table and the equivalent PHP array (in our key order) are written, so that the
-- two sides describe the same data even when parts of the Lua table use flat bracket keys.
local gen = {}
local number = require "support.number"

local random = math.random

--- Whether the specs run under valgrind or the ASan host, where Lua runs many times slower.
gen.tooled = (os.getenv("LD_PRELOAD") or ""):find("vgpreload") ~= nil or os.getenv("JUSTCLICK_HOST") ~= nil

--- How many random cases to try: n, or a tenth of n under the tools, which look for memory errors
-- that a tenth of the cases reaches as well (the plain runs under every Lua keep the volume).
function gen.count(n)
  return gen.tooled and math.ceil(n / 10) or n
end

local function pick(list) return list[random(#list)] end

-- math.random(lo, hi) on any bounds: Lua 5.1 takes C ints for them, and Lua 5.3 refuses the
-- whole 64-bit range, which is then drawn as two 32-bit halves.
local function random_int(lo, hi)
  if not number.native then return lo + math.floor(random() * (hi - lo + 1)) end
  if lo == math.mininteger and hi == math.maxinteger then
    return random(-0x80000000, 0x7FFFFFFF) * 0x100000000 + random(0, 0xFFFFFFFF)
  end
  return random(lo, hi)
end

local function random_bytes(max_len)
  local t = {}
  for i = 1, random(0, max_len) do t[i] = string.char(random(0, 255)) end
  return table.concat(t)
end

local utf8_words = { "ключ", "заказ", "é", "日本語", "emoji\240\159\152\128", "Ünïcödé", "\239\187\191bom" }

-- Keys PHP's request parsing changes or drops, and ordinary ones around them.
local hostile_keys = {
  "", " ", "\t", "\n", "\v", "\f", "\r", " a", "a ", "a.b", "a b", ".", "a\0b", "\0",
  "]", "a]", "b]c", "[", "b[c", "[]", "0", "1", "2", "7", "01", "-1", "-0", "+1", "1.5", "1e3",
  "9223372036854775807", "9223372036854775808", "&", "=", "%", "+", "%5B", "~", "*",
}
-- Top-level keys with brackets that PHP parses into something else.
local malformed_flat_keys = {
  "a[b", "a[b]c", "[a]", "a[]", "a[ ]", "a[b]]", "a[\t]", "x[y][", "a[b\0]", "a.b[c]", " a[b]",
}

function gen.string()
  local r = random()
  if r < 0.3 then return pick({ "invoice", "sales", "buyer@example.com", "+39287777777", "", "0", "a b" })
  elseif r < 0.55 then return random_bytes(12)
  elseif r < 0.75 then return pick(utf8_words)
  else return pick(hostile_keys) end
end

local function key_name(top)
  local r = random()
  local k
  if r < 0.55 then
    local t = {}
    for i = 1, random(1, 10) do t[i] = string.char(pick({ random(97, 122), random(65, 90), 95, random(48, 57) })) end
    return table.concat(t)
  elseif r < 0.7 then k = random_bytes(6)
  elseif r < 0.8 then k = pick(utf8_words)
  elseif top and r < 0.84 then return pick(malformed_flat_keys)
  else k = pick(hostile_keys) end
  -- A '[' in a top-level key makes it a flat key, whose nested meaning the PHP side would not
  -- know: flat keys come from gen.lua_table's flattening, and malformed ones from the list above.
  if top then k = k:gsub("%[", "(") end
  return k
end

--- A double of any magnitude: random bit patterns, decimal values, ties and edges.
function gen.float()
  local r = random()
  if r < 0.3 then
    local x
    if not string.pack then -- Lua 5.1: a random mantissa at a random binary exponent
      return (random() * 2 - 1) * 2.0 ^ random(-1074, 1023)
    end
    repeat x = string.unpack("<d", string.pack("<i8", random_int(math.mininteger, math.maxinteger)))
    until x == x and x ~= math.huge and x ~= -math.huge
    return x
  elseif r < 0.6 then
    return (random() - 0.5) * 10.0 ^ random(-30, 30)
  elseif r < 0.75 then
    return random(-999999, 999999) / 10.0 ^ random(0, 8) * 10.0 ^ random(-320, 300)
  elseif r < 0.85 then -- integral floats around 14 and 15 digits, where rounding has quirks
    local x = random_int(10000000000000, 99999999999999) * 10 + pick({ 5, 5, random(0, 9) })
    return (random() < 0.5 and x or -x) / pick({ 1, 1, 1, 10, 100 }) + 0.0
  else
    return pick({
      0.0, -0.0, 1500.0, 0.1, 0.3, 1e14, 1e15, 1e-4, 1e-5, 99999999999999.5, 123456789012345.0,
      5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3, 2.0 ^ 53,
      2.0 ^ 63, -(2.0 ^ 63), 9.99999999999995e-5, 0.5, 2.5, 1234567.0, 1e13 + 0.5, 4.35,
    })
  end
end

local function scalar(null)
  local r = random()
  if r < 0.35 then return gen.string()
  elseif r < 0.55 then
    return pick({ 0, 1, -1, 1500, random(-1000000, 1000000), number.maxinteger, number.mininteger,
      random_int(number.mininteger, number.maxinteger) })
  elseif r < 0.75 then return gen.float()
  elseif r < 0.88 then return random() < 0.5
  else return null end
end

-- A node is {list = {values...}, map = {[string] = value}}; values are scalars or nodes.
local function node(depth, budget, null, top)
  local n = { list = {}, map = {} }
  local shape = random()
  local list_len = (shape < 0.4 or top and shape < 0.5) and random(0, 4) or 0
  local map_len = shape < 0.2 and 0 or random(0, 5)
  for i = 1, list_len do n.list[i] = gen.value(depth, budget, null) end
  for _ = 1, map_len do n.map[key_name(top)] = gen.value(depth, budget, null) end
  return n
end

function gen.value(depth, budget, null)
  if depth < budget and random() < 0.3 then return node(depth + 1, budget, null, false) end
  return scalar(null)
end

function gen.is_node(v) return type(v) == "table" and v.list ~= nil end

--- A random top-level node; now and then a deep chain around PHP's nesting limit of 64.
function gen.tree(null)
  local root = node(0, random(1, 4), null, true)
  if random() < 0.03 then
    local depth = random(60, 68)
    local chain = { list = {}, map = { leaf = scalar(null) } }
    for _ = 2, depth do chain = { list = {}, map = { d = chain } } end
    root.map.deep = chain
  end
  return root
end

--- Pairs of a node in our order: list positions, then string keys in byte order.
function gen.pairs(n)
  local out = {}
  for i, v in ipairs(n.list) do out[#out + 1] = { i, v } end
  local keys = {}
  for k in pairs(n.map) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do out[#out + 1] = { k, n.map[k] } end
  return out
end

--- The number of variables PHP should write: scalars that are not null.
function gen.leaves(v, null)
  if not gen.is_node(v) then return v == null and 0 or 1 end
  local count = 0
  for _, pair in ipairs(gen.pairs(v)) do count = count + gen.leaves(pair[2], null) end
  return count
end

--- The tree with each top-level table value replaced by a string: every top-level key is then
-- sent on its own, as its own name with no brackets after it.
function gen.top_level_only(tree)
  local n = { list = {}, map = {} }
  for i, x in ipairs(tree.list) do n.list[i] = gen.is_node(x) and "table" or x end
  for k, x in pairs(tree.map) do n.map[k] = gen.is_node(x) and "table" or x end
  return n
end

--- The same tree with every null and every empty table replaced by a string, so that every key
-- in it is written. It shows whether PHP would alter a key that the original never sends.
function gen.filled(v, null, nested)
  if v == null then return "null" end
  if not gen.is_node(v) then return v end
  if nested and #v.list == 0 and next(v.map) == nil then return "empty" end
  local n = { list = {}, map = {} }
  for i, x in ipairs(v.list) do n.list[i] = gen.filled(x, null, true) end
  for k, x in pairs(v.map) do n.map[k] = gen.filled(x, null, true) end
  return n
end

--- The PHP array literal, in our key order (list positions become PHP's 0-based indexes).
-- Entries holding null are left out: null is absent, and in a PHP literal "1" => null would
-- overwrite the list's element 1.
function gen.php_literal(v, php, null)
  if not gen.is_node(v) then return php.literal(v, null) end
  local parts = {}
  for _, pair in ipairs(gen.pairs(v)) do
    local k = pair[1]
    if number.type(k) == "integer" then k = k - 1 end
    if pair[2] ~= null then
      parts[#parts + 1] = php.literal(k) .. " => " .. gen.php_literal(pair[2], php, null)
    end
  end
  return "[" .. table.concat(parts, ", ") .. "]"
end

local function to_lua(v)
  if not gen.is_node(v) then return v end
  local t = {}
  for i, x in ipairs(v.list) do t[i] = to_lua(x) end
  for k, x in pairs(v.map) do t[k] = to_lua(x) end
  return t
end

-- Moves some string-keyed entries of `n` (whose flat key so far is `prefix`) out into flat keys
-- of `flat`, and returns the nested rest. `taken` holds the top-level keys already in use.
local function split(prefix, n, flat, taken)
  local rest = to_lua({ list = n.list, map = {} })
  for k, v in pairs(n.map) do
    local flat_key = prefix .. "[" .. k .. "]"
    if random() < 0.5 or taken[flat_key] then
      rest[k] = to_lua(v)
    elseif gen.is_node(v) and random() < 0.5 then
      rest[k] = split(flat_key, v, flat, taken)
    else
      flat[flat_key] = to_lua(v)
      taken[flat_key] = true
    end
  end
  return rest
end

--- The Lua table for a tree. With `flatten`, some nested entries are written as flat keys
-- ("a[b][c]" = v), which mean the same.
function gen.lua_table(tree, flatten)
  local t = to_lua(tree)
  if not flatten then return t end
  local flat, taken = {}, {}
  for k in pairs(tree.map) do taken[k] = true end
  for k, v in pairs(tree.map) do
    if gen.is_node(v) and random() < 0.5 then t[k] = split(k, v, flat, taken) end
  end
  for k, v in pairs(flat) do t[k] = v end
  return t
end

--- A short readable dump of a Lua value, for failure messages.
function gen.dump(v, null, seen)
  seen = seen or {}
  if v == null then return "null" end
  if type(v) == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if type(v) ~= "table" then return tostring(v) end
  if seen[v] then return "<cycle>" end
  seen[v] = true
  local parts = {}
  for k, x in pairs(v) do
    parts[#parts + 1] = "[" .. gen.dump(k, null, seen) .. "]=" .. gen.dump(x, null, seen)
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end

return gen
