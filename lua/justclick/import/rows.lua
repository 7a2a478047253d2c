--- justclick.import.rows: the rows of an import file, read a record at a time, never the whole
-- file at once.
--
-- A row is {line = where it starts, text = its raw text, order = the order table, id = its
-- identity} or, when it cannot be sent, {line, text, reject = the reason}. Its identity is its
-- `id` column (or JSON field), else the md5 of its encoded content.
local justclick = require "justclick"
local core = require "justclick.core"
local errors = require "justclick.errors"
local dkjson = require "dkjson"

local rows = {}

local function is_json_lines(path)
  return path:match("%.jsonl$") or path:match("%.ndjson$")
end

-- The file, or nil, why it cannot be read (a directory opens, but does not read) and the errno.
local function open(path)
  local f, err, errno = io.open(path, "rb")
  if not f then return nil, err, errno end
  local ok, read_err, read_errno = f:read(0)
  if ok == nil and read_err then
    f:close()
    return nil, ("%s: %s"):format(path, read_err), read_errno
  end
  return f
end

-- ---------------------------------------------------------------------------------------------
-- CSV

-- CSV records as RFC 4180 writes them, one at a time from f: {line, text, fields}. A quoted field
-- may span lines; a record ends at \n, \r\n or \r. A UTF-8 byte-order mark before the header is
-- not part of it. Raises "line N: a quote is not closed" at the end of the file.
local function csv_records(f)
  local buf, pos, line = "", 1, 0
  local function more()
    local l = f:read("L")
    if not l then return false end
    if line == 0 then l = l:gsub("^\239\187\191", "") end
    buf, pos, line = l, 1, line + 1
    return true
  end
  return function()
    while true do
      if pos > #buf and not more() then return nil end
      local start_line, start_pos = line, pos
      local fields, field, text, quoted = {}, {}, {}, false
      while true do
        if pos > #buf then -- the line ran out: inside a quoted field, or at the end of the file
          text[#text + 1] = buf:sub(start_pos)
          if not more() then
            if quoted then error(("line %d: a quote is not closed"):format(start_line), 0) end
            fields[#fields + 1] = table.concat(field)
            break
          end
          start_pos = 1
        elseif quoted then
          local q = buf:find('"', pos, true)
          if not q then
            field[#field + 1] = buf:sub(pos)
            pos = #buf + 1
          elseif buf:sub(q + 1, q + 1) == '"' then -- "" is a quote
            field[#field + 1] = buf:sub(pos, q)
            pos = q + 2
          else
            field[#field + 1] = buf:sub(pos, q - 1)
            quoted, pos = false, q + 1
          end
        else
          local c = buf:sub(pos, pos)
          if c == '"' and #field == 0 then
            quoted, pos = true, pos + 1
          elseif c == "," then
            fields[#fields + 1] = table.concat(field)
            field, pos = {}, pos + 1
          elseif c == "\n" or c == "\r" then
            fields[#fields + 1] = table.concat(field)
            text[#text + 1] = buf:sub(start_pos, pos - 1)
            if c == "\r" and buf:sub(pos + 1, pos + 1) == "\n" then
              pos = pos + 1
            elseif c == "\r" then
              line = line + 1 -- a lone \r ends a line too
            end
            pos = pos + 1
            break
          else
            local j = buf:find('[,\r\n"]', pos) or #buf + 1
            if buf:sub(j, j) == '"' then j = j + 1 end -- a stray quote inside a field is kept
            field[#field + 1] = buf:sub(pos, j - 1)
            pos = j
          end
        end
      end
      local raw = table.concat(text)
      if raw:find("%S") then return { line = start_line, text = raw, fields = fields } end
    end
  end
end

-- A sum as the file writes it: a plain decimal number (1500, 990.50), not hex, not an exponent.
local function decimal(text)
  if not (text:match("^%d+%.?%d*$") or text:match("^%.%d+$")) then return nil end
  local n = tonumber(text)
  return math.tointeger(n) or n
end

-- "name:sum;name2" -> a goods list, or nil and the reason.
local function parse_goods(text)
  local goods = {}
  for item in (text .. ";"):gmatch("([^;]*);") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then
      local name, sum = item:match("^([^:]+):(.*)$")
      local good = { good_name = (name or item):match("^%s*(.-)%s*$") }
      if sum then
        good.good_sum = decimal(sum:match("^%s*(.-)%s*$"))
        if not good.good_sum then
          return nil, ("bad number %q in goods: a sum is a decimal number such as 1500 or 990.50"):format(sum)
        end
      end
      goods[#goods + 1] = good
    end
  end
  if #goods == 0 then return nil, "no goods" end
  return goods
end

-- A CSV row -> an order and its id (or nil), or nil and the reason it is rejected.
local function order_from_csv(header, fields)
  if #fields > #header then return nil, ("%d fields, but the header names %d"):format(#fields, #header) end
  local order, id = {}, nil
  for i, name in ipairs(header) do
    local value = fields[i]
    if value ~= nil and value ~= "" then
      if name == "id" then
        id = value
      elseif name == "goods" then
        local goods, why = parse_goods(value)
        if not goods then return nil, why end
        order.goods = goods
      elseif name:match("^utm_") or name:match("^aff_") then
        order.utm = order.utm or {}
        order.utm[name] = value
      else
        order[name] = value
      end
    end
  end
  return order, id
end

-- ---------------------------------------------------------------------------------------------
-- JSON Lines

-- A JSON Lines row -> an order and its id (or nil), or nil and the reason. dkjson reads numbers
-- with tonumber, so integers stay integers as PHP's json_decode keeps them (cjson makes every
-- number a float: 791612345678901 would go out as 7.916123456789E+14). JSON null is
-- justclick.null; no metatables are set.
local function order_from_json(text)
  local value, pos, err = dkjson.decode(text, 1, justclick.null, nil, nil)
  if err then return nil, "not JSON: " .. err end
  if not text:find("^%s*$", pos) then return nil, ("not JSON: text after the value at column %d"):format(pos) end
  if type(value) ~= "table" or (value[1] ~= nil) then return nil, "not a JSON object" end
  local id = value.id
  value.id = nil
  if id ~= nil and type(id) ~= "string" and type(id) ~= "number" then return nil, "id must be a string or a number" end
  return value, id ~= nil and tostring(id) or nil
end

-- Records of a JSON Lines file: {line, text}, blank lines skipped.
local function json_records(f)
  local line = 0
  return function()
    while true do
      local text = f:read("l")
      if not text then return nil end
      line = line + 1
      text = text:gsub("\r$", "")
      if line == 1 then text = text:gsub("^\239\187\191", "") end
      if text:find("%S") then return { line = line, text = text } end
    end
  end
end

-- ---------------------------------------------------------------------------------------------
-- Rows

-- The row a record makes: its order checked as create_order checks one (signed, so that a hash
-- column is refused too), and its identity.
local function new_row(line, text, order, why)
  if not order then return { line = line, text = text, reject = why } end
  local body, refused = core.safe.signed_body(order, "", "") -- an interrupt still raises
  if not body then return { line = line, text = text, reject = refused.message } end
  local query = body:gsub("&?hash=%x+$", "")
  local problem = justclick.order_problem(order) -- after build_query: it reads the order plainly
  if problem then return { line = line, text = text, reject = problem } end
  return { line = line, text = text, order = order, id = why or core.row_id(query), named = why ~= nil }
end

--- rows.each(path) -> an iterator over the file's rows; it raises an error "justclick.import:
-- FILE: ...", of kind "io" when the file cannot be read, "input" when a quote is never closed.
function rows.each(path)
  local f, err, errno = open(path)
  if not f then error(errors.new("io", nil, "justclick.import: " .. err, { path = path, errno = errno }), 0) end
  local records = is_json_lines(path) and json_records(f) or csv_records(f)
  local header
  return function()
    while true do
      local ok, r = pcall(records)
      if not ok then
        f:close()
        if type(r) ~= "string" or not r:find("^line %d+: ") then error(r, 0) end -- not the file's fault
        error(errors.new("input", nil, ("justclick.import: %s: %s"):format(path, r)), 0)
      end
      if not r then
        f:close()
        return nil
      end
      if r.fields == nil then
        return new_row(r.line, r.text, order_from_json(r.text))
      elseif header == nil then
        header = r.fields
      else
        return new_row(r.line, r.text, order_from_csv(header, r.fields))
      end
    end
  end
end

--- rows.scan(path [, wanted]) -> {total, rejects = {{line, reason, text}}, lines = {[id] = line},
-- rows = {[line] = row}} | nil, err
-- The first pass: every row read and checked, nothing kept but identities, rejects and the rows
-- of the lines in `wanted` ({[line] = true}). Two rows with one identity are an error that names
-- both lines: they would share one journal state.
function rows.scan(path, wanted)
  local scan = { total = 0, rejects = {}, lines = {}, rows = {} }
  local repeated = {}
  local ok, err = pcall(function()
    for row in rows.each(path) do
      scan.total = scan.total + 1
      if wanted and wanted[row.line] then scan.rows[row.line] = row end
      if row.reject then
        scan.rejects[#scan.rejects + 1] = { line = row.line, reason = row.reject, text = row.text }
      elseif scan.lines[row.id] then
        local what = row.named and ("the same id as line %d (%q)"):format(scan.lines[row.id], row.id)
          or ("the same order as line %d, and no id column tells them apart"):format(scan.lines[row.id])
        repeated[#repeated + 1] = ("line %d: %s"):format(row.line, what)
      else
        scan.lines[row.id] = row.line
      end
    end
  end)
  if not ok then
    if errors.is_error(err) then return nil, err end
    error(err, 0)
  end
  if #repeated > 0 then
    local shown = { table.unpack(repeated, 1, math.min(#repeated, 10)) }
    if #repeated > 10 then shown[#shown + 1] = ("and %d more"):format(#repeated - 10) end
    return nil, errors.new("input", nil, ("justclick.import: %s: rows repeat an identity, so nothing was sent:\n  %s")
      :format(path, table.concat(shown, "\n  ")))
  end
  return scan
end

--- rows.write_rejects(path, rejects): FILE.rejects as CSV: line,reason,row.
function rows.write_rejects(path, rejects)
  local f = io.open(path .. ".rejects", "wb")
  if not f then return end
  f:write("line,reason,row\n")
  for _, r in ipairs(rejects) do
    f:write(('%d,"%s","%s"\n'):format(r.line, (r.reason:gsub('"', '""')), (r.text:gsub('"', '""'))))
  end
  f:close()
end

return rows
