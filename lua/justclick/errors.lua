--- justclick.errors (internal): the errors the library returns, and the text it shows.
-- Not part of the documented API: justclick.visible and justclick.is_error are.
local errors = {}

-- Errors: tables with kind, code, message, retryable, a __tostring, and a __concat, so that
-- "x: " .. err and err .. "\n" give text. A transport error's name is libcurl's for its code
-- ("COULDNT_CONNECT" for CURLE_COULDNT_CONNECT), as Lua-cURL's error objects give it.

-- What a terminal or a log would obey rather than show, shown as escapes: a server's error_text
-- may hold colour codes, carriage returns or newlines that rewrite what is shown. ASCII controls
-- (\n, \x1b), C1 controls (U+0080-U+009F: CSI and NEL to some terminals), line separators,
-- bidirectional marks and overrides (\u{202E}, \u{061C}), zero-width characters, and bytes that
-- are not UTF-8 (\x9b: CSI to others).
local ESCAPES = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function hidden(cp)
  return (cp >= 0x80 and cp <= 0x9F) or cp == 0x061C or (cp >= 0x200B and cp <= 0x200F)
    or (cp >= 0x2028 and cp <= 0x202E) or (cp >= 0x2060 and cp <= 0x2069) or cp == 0xFEFF
end

-- The UTF-8 character at i: its length and code point, or nil when the bytes are not UTF-8.
local UTF8 = { { 0xC2, 0xDF, 2, 0x80 }, { 0xE0, 0xEF, 3, 0x800 }, { 0xF0, 0xF4, 4, 0x10000 } }
local function utf8_at(text, i)
  local b = text:byte(i)
  for _, form in ipairs(UTF8) do
    if b >= form[1] and b <= form[2] then
      local cp = b - form[1] + (form[1] == 0xC2 and 2 or 0)
      for k = 1, form[3] - 1 do
        local c = text:byte(i + k)
        if not c or c < 0x80 or c > 0xBF then return nil end
        cp = cp * 64 + (c - 0x80)
      end
      if cp < form[4] or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
      return form[3], cp
    end
  end
  return nil
end

--- errors.visible(text) -> text with what a terminal would obey shown as escapes.
function errors.visible(text)
  if type(text) ~= "string" or not text:find("[%c\127-\255]") then return text end
  local out, i = {}, 1
  while i <= #text do
    local b = text:byte(i)
    if b < 0x80 then
      local c = text:sub(i, i)
      out[#out + 1] = (b < 0x20 or b == 0x7F) and (ESCAPES[c] or ("\\x%02x"):format(b)) or c
      i = i + 1
    else
      local len, cp = utf8_at(text, i)
      if not len then
        out[#out + 1] = ("\\x%02x"):format(b)
        i = i + 1
      else
        out[#out + 1] = hidden(cp) and ("\\u{%04X}"):format(cp) or text:sub(i, i + len - 1)
        i = i + len
      end
    end
  end
  return table.concat(out)
end

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  local text = ("justclick: %s error"):format(e.kind)
  if e.code ~= nil then text = text .. " " .. tostring(e.code) end
  text = text .. ": " .. tostring(e.message)
  if e.hint then text = text .. " (" .. e.hint .. ")" end
  if e.verified == false then text = text .. " [reply hash not verified]" end
  return errors.visible(text)
end

-- Either side may be the error (or both): each is shown as tostring shows it.
function Error.__concat(a, b)
  return tostring(a) .. tostring(b)
end

--- errors.new(kind, code, message [, fields]) -> an error, not retryable unless fields say so.
function errors.new(kind, code, message, fields)
  local e = setmetatable({ kind = kind, code = code, message = message, retryable = false }, Error)
  for k, v in pairs(fields or {}) do e[k] = v end
  return e
end

--- errors.adopt(err) -> err: an error table of the C layer ({kind =, message =, path =, errno =
-- ...}, no metatable) made an error of this module, its fields kept.
function errors.adopt(err)
  if err.retryable == nil then err.retryable = false end
  return setmetatable(err, Error)
end

--- errors.check_options(where, opts, known) -> opts, or {} for nil. Raises for the caller of the
-- function that calls it (a programming error) when opts is not a table, or holds a key that
-- `known` lacks: "where: unknown option \"key\"".
function errors.check_options(where, opts, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(where .. ": options must be a table", 3) end
  for k in pairs(opts) do
    if known[k] == nil then error(("%s: unknown option %q"):format(where, tostring(k)), 3) end
  end
  return opts
end

--- Whether a value is an error returned by this library.
function errors.is_error(value)
  return getmetatable(value) == Error
end

-- A text that holds the secret is not shown at all: replacing the secret where it occurs would
-- show a short one by the pattern of the replacements.
function errors.redact(text, secret)
  if type(text) == "string" and text:find(secret, 1, true) then return "(not shown: it held the secret)" end
  return text
end

return errors
