-- A straightforward pure-Lua http_build_query and MD5, written only as the benchmark's
-- baseline: what a Lua client without a C core would do. Checked against the C core by
-- bench/sign.lua before it is timed.
local pure = {}

local function urlencode(s)
  return (s:gsub("[^%w%.%-_ ]", function(c) return ("%%%02X"):format(c:byte()) end):gsub(" ", "+"))
end

local function scalar(v)
  if v == true then return "1" elseif v == false then return "0" end
  if math.type(v) == "float" then
    if v == math.floor(v) and math.abs(v) < 1e14 then return ("%d"):format(v) end
    local s = ("%.14G"):format(v)
    return (s:gsub("E([+-])0*(%d)", "E%1%2"))
  end
  return tostring(v)
end

local function add(out, prefix, value)
  if type(value) ~= "table" then
    out[#out + 1] = urlencode(prefix) .. "=" .. urlencode(scalar(value))
    return
  end
  for i, v in ipairs(value) do add(out, prefix .. "[" .. (i - 1) .. "]", v) end
  local keys = {}
  for k in pairs(value) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do add(out, prefix .. "[" .. k .. "]", value[k]) end
end

function pure.build_query(t)
  local out = {}
  for i, v in ipairs(t) do add(out, tostring(i - 1), v) end
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do add(out, k, t[k]) end
  return table.concat(out, "&")
end

-- MD5 (RFC 1321) with Lua 5.4's integer operators.
local S = {
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
}
local K = {}
for i = 1, 64 do K[i] = math.floor(math.abs(math.sin(i)) * 2 ^ 32) & 0xffffffff end

local function rotl(x, n)
  return ((x << n) | (x >> (32 - n))) & 0xffffffff
end

function pure.md5(msg)
  local len = #msg
  msg = msg .. "\128" .. ("\0"):rep((55 - len) % 64) .. string.pack("<I8", len * 8)
  local a0, b0, c0, d0 = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
  local m = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do m[i] = string.unpack("<I4", msg, chunk + i * 4) end
    local a, b, c, d = a0, b0, c0, d0
    for i = 0, 63 do
      local f, g
      if i < 16 then f, g = (b & c) | (~b & d), i
      elseif i < 32 then f, g = (d & b) | (~d & c), (5 * i + 1) % 16
      elseif i < 48 then f, g = b ~ c ~ d, (3 * i + 5) % 16
      else f, g = c ~ (b | ~d), (7 * i) % 16 end
      f = (f + a + K[i + 1] + m[g]) & 0xffffffff
      a, d, c = d, c, b
      b = (b + rotl(f, S[i + 1])) & 0xffffffff
    end
    a0, b0 = (a0 + a) & 0xffffffff, (b0 + b) & 0xffffffff
    c0, d0 = (c0 + c) & 0xffffffff, (d0 + d) & 0xffffffff
  end
  return (string.pack("<I4I4I4I4", a0, b0, c0, d0):gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

function pure.sign(t, user, secret)
  return pure.md5(pure.build_query(t) .. "::" .. user .. "::" .. secret)
end

return pure
