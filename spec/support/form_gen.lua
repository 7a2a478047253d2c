-- Random form bodies for the parse_query specs: names built from the pieces PHP's request
-- parsing treats specially (brackets matched or not, appends, blanks, dots, numeric keys at the
-- edges of 64 bits, NUL, broken escapes, nesting around the limit), values of any bytes, and
-- names used again within a body so that duplicates, appends and overwrites meet.
local form_gen = {}

local random = math.random

local function pick(list) return list[random(#list)] end

local function ident()
  local t = {}
  for i = 1, random(1, 6) do t[i] = string.char(pick({ random(97, 122), random(65, 90), 95, random(48, 57) })) end
  return table.concat(t)
end

-- Bytes as they may appear in a body: raw, or escaped, validly or not.
local function noise(max_len, raw_nul)
  local t = {}
  for i = 1, random(0, max_len) do
    local r = random()
    if r < 0.4 then t[i] = string.char(random(97, 122))
    elseif r < 0.6 then t[i] = ("%%%02X"):format(random(0, 255))
    elseif r < 0.65 then t[i] = ("%%%02x"):format(random(0, 255))
    else
      local c = random(raw_nul and 0 or 1, 255)
      t[i] = string.char(c)
    end
  end
  return table.concat(t)
end

local numeric = {
  "0", "1", "2", "5", "7", "10", "-1", "-5", "-0", "07", "00", "+1", "1.5", " 1", "1 ",
  "9223372036854775807", "9223372036854775806", "9223372036854775808", "-9223372036854775808",
  "-9223372036854775809", "18446744073709551616", "99999999999999999999",
}

local top_pieces = {
  "a", "b", "x", "0", "1", "5", "-1", "07", " ", "  ", ".", "a.b", "a b", " a", "+a", "%20a", "a+",
  "%2E", "%00", "%zz", "%", "%4", "%5B", "%5D", "%5b", "]", "a]", "%3D", "%26", "%2B", "GLOBALS",
  "this", "\t", "%09", "_", "", "__Host-a", "__Secure-", "_.Host-x", "._Secure-a", "_%2EHost-", "_[Host-",
}

local inner_pieces = {
  "", "", " ", "\t", "%09", "%20", "+", "  ", " x", "x ", "\n", "%0B", "\f", "\r", "%A0", "%85",
  "a", "b", "x", "[", "a[b", "[]", "%5B", "%5D", ".", "a.b", "a b", "%00", "a%00b", "=", "%3D",
  "__Host-x", "__Secure-", "_.Host-",
}

--- A name: a top-level part and up to a few bracket groups (now and then some 60 to 70),
-- each group well formed or not; keys with the cookie prefixes PHP guards ("__Host-",
-- "__Secure-"). `pool` holds names already used in the body; one used again may get an append,
-- and then levels up to past the limit, where an append PHP refuses meets its nesting check.
function form_gen.name(pool, opts)
  if #pool > 0 and random() < 0.3 then
    local n = pick(pool)
    local r = random()
    if r < 0.3 then
      n = n .. "[]"
    elseif r < 0.38 then
      n = n .. "[9223372036854775807]" -- after it, PHP refuses an append
    elseif r < 0.5 then
      n = n .. "[]" .. ("[" .. pick({ ident(), "" }) .. "]"):rep(random(0, opts.max_depth + 1))
    end
    return n
  end
  local r = random()
  local top
  if r < 0.45 then top = ident()
  elseif r < 0.75 then top = pick(top_pieces)
  elseif r < 0.85 then top = pick(numeric)
  else top = noise(4, opts.raw_nul) end
  local groups = {}
  local count = random() < 0.5 and 0 or random(1, 4)
  if random() < (opts.deep or 0.03) then -- well-formed groups around the limit
    for i = 1, random(math.max(opts.max_depth - 3, 0), opts.max_depth + 3) do
      groups[i] = "[" .. pick({ ident(), "", "0", pick(numeric) }) .. "]"
    end
    count = 0
  end
  for i = #groups + 1, #groups + count do
    local g = random()
    local inner
    if g < 0.3 then inner = ident()
    elseif g < 0.55 then inner = pick(inner_pieces)
    elseif g < 0.75 then inner = pick(numeric)
    else inner = noise(3, opts.raw_nul) end
    local close = random() < 0.93 and "]" or ""
    local after = random() < 0.05 and pick({ "x", " ", "]", "%5D", "." }) or ""
    groups[i] = "[" .. inner .. close .. after
  end
  if count > 0 and random() < 0.1 then groups[#groups + 1] = pick({ "[", "[x", "[ ", "]" }) end
  local name = top .. table.concat(groups)
  if random() < 0.1 then name = name:gsub("%[", "%%5B"):gsub("%]", "%%5D") end
  return name
end

--- A body of up to `max_pairs` pairs. opts: raw_nul (raw NUL bytes allowed), max_depth
-- (where deep names go), deep (the chance of a deep name).
function form_gen.body(max_pairs, opts)
  opts = opts or {}
  opts.max_depth = opts.max_depth or 64
  local pool, pieces = {}, {}
  for i = 1, random(0, max_pairs) do
    local name = form_gen.name(pool, opts)
    if random() < 0.5 then pool[#pool + 1] = name end
    local r = random()
    if r < 0.06 then pieces[i] = name                          -- no '='
    elseif r < 0.09 then pieces[i] = ""                        -- an empty piece
    elseif r < 0.11 then pieces[i] = "=" .. noise(3, opts.raw_nul)
    else pieces[i] = name .. "=" .. noise(8, opts.raw_nul) end
  end
  local body = table.concat(pieces, "&")
  if random() < 0.05 then body = "&" .. body end
  if random() < 0.05 then body = body .. "&" end
  return body
end

--- PHP's urldecode, for the specs' own bookkeeping.
function form_gen.decode(s)
  return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- The pieces of a body as $_POST walks them: split on '&', a final empty one left out.
function form_gen.pieces(body)
  local out, pos = {}, 1
  while pos <= #body do
    local amp = body:find("&", pos, true) or #body + 1
    out[#out + 1] = body:sub(pos, amp - 1)
    pos = amp + 1
  end
  return out
end

--- Whether PHP keeps a variable of this (raw) name: not empty once decoded, cut at NUL and
-- stripped of leading spaces, and not starting with '['.
function form_gen.keeps_name(piece)
  local name = form_gen.decode(piece:match("^[^=]*"))
  local nul = name:find("\0", 1, true) -- (Lua 5.1's patterns cannot hold a NUL)
  if nul then name = name:sub(1, nul - 1) end
  name = name:match("^ *(.*)$")
  return name ~= "" and name:sub(1, 1) ~= "["
end

return form_gen
