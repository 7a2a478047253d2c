--- justclick.import: a file of orders (CSV, or JSON Lines), each created exactly once.
--
--   local import = require "justclick.import"
--   local summary, err = import.run("sales.csv", {client = client, progress = true})
--
-- A journal beside the input (FILE.journal) records each row's identity, then its outcome. Each
-- record is written and fsynced before the next request goes out, so a run killed at any point
-- and run again skips the rows that are done. A row whose request went out with no reply (the
-- outcome unknown) is reconciled before anything is sent again: GetBills for its email, matched
-- on its goods. Bad rows are reported with their line number and written to FILE.rejects; good
-- rows still go through.
local justclick = require "justclick"
local core = require "justclick.core"
local cjson = require("cjson").new()

local import = {}

-- ---------------------------------------------------------------------------------------------
-- Reading rows

-- CSV records as RFC 4180 writes them; each is {line = where it starts, text = its raw text,
-- fields = {...}}.
local function csv_records(text)
  local records, i, line, n = {}, 1, 1, #text
  while i <= n do
    local fields, field, start_line, start = {}, {}, line, i
    while true do
      local c = text:sub(i, i)
      if c == '"' and #field == 0 then -- a quoted field
        i = i + 1
        while true do
          local q = text:find('"', i, true)
          if not q then error(("line %d: a quote is not closed"):format(start_line), 0) end
          local chunk = text:sub(i, q - 1)
          local _, newlines = chunk:gsub("\n", "")
          line = line + newlines
          field[#field + 1] = chunk
          if text:sub(q + 1, q + 1) == '"' then
            field[#field + 1] = '"'
            i = q + 2
          else
            i = q + 1
            break
          end
        end
        field.quoted = true
      elseif c == "," then
        fields[#fields + 1] = table.concat(field)
        field = {}
        i = i + 1
      elseif c == "\n" or c == "\r" or c == "" then
        fields[#fields + 1] = table.concat(field)
        local stop = i - 1
        if c == "\r" and text:sub(i + 1, i + 1) == "\n" then i = i + 1 end
        i = i + 1
        line = line + 1
        local raw = text:sub(start, stop)
        if raw:find("%S") then records[#records + 1] = { line = start_line, text = raw, fields = fields } end
        break
      else
        local j = text:find('[,\r\n"]', i) or n + 1
        if text:sub(j, j) == '"' then j = j + 1 end -- a stray quote inside a field is kept
        field[#field + 1] = text:sub(i, j - 1)
        i = j
      end
    end
  end
  return records
end

-- "name:sum;name2" -> a goods list, or nil and the reason.
local function parse_goods(text)
  local goods = {}
  for item in (text .. ";"):gmatch("([^;]*);") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then
      local name, sum = item:match("^([^:]+):(.*)$")
      name = name or item
      local good = { good_name = name:match("^%s*(.-)%s*$") }
      if sum then
        good.good_sum = tonumber(sum)
        if not good.good_sum or good.good_sum ~= good.good_sum or good.good_sum < 0 then
          return nil, ("bad number %q in goods"):format(sum)
        end
        good.good_sum = math.tointeger(good.good_sum) or good.good_sum
      end
      goods[#goods + 1] = good
    end
  end
  if #goods == 0 then return nil, "no goods" end
  return goods
end

-- A CSV row -> an order and its id (or nil), or nil and the reason it is rejected.
local function order_from_csv(header, fields)
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
  if #fields > #header then return nil, ("%d fields, but the header names %d"):format(#fields, #header) end
  return order, id
end

-- A JSON Lines row -> an order and its id (or nil), or nil and the reason.
local function order_from_json(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then return nil, "not JSON: " .. tostring(value) end
  if type(value) ~= "table" or value[1] ~= nil then return nil, "not a JSON object" end
  local id = value.id
  value.id = nil
  if id ~= nil and type(id) ~= "string" and type(id) ~= "number" then return nil, "id must be a string or a number" end
  return value, id and tostring(id)
end

-- A row: {line, text, order, id}, or {line, text, reject = reason} when `order` is nil and
-- `why` says why; `why` is the id otherwise.
local function new_row(line, text, order, why)
  if order then return { line = line, text = text, order = order, id = why } end
  return { line = line, text = text, reject = why }
end

-- Every row of the file: {line, text, order, id} or {line, text, reject = reason}.
local function read_rows(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  local rows = {}
  if path:match("%.jsonl$") or path:match("%.ndjson$") then
    local n = 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      if line:find("%S") then
        local order, why = order_from_json(line)
        rows[#rows + 1] = new_row(n, line, order, why)
      end
    end
  else
    local ok, records = pcall(csv_records, text)
    if not ok then return nil, path .. ": " .. tostring(records) end
    if #records == 0 then return rows end
    local header = records[1].fields
    for k = 2, #records do
      local r = records[k]
      local order, why = order_from_csv(header, r.fields)
      rows[#rows + 1] = new_row(r.line, r.text, order, why)
    end
  end
  for _, row in ipairs(rows) do
    if row.order then
      row.reject = justclick.order_problem(row.order) -- what create_order would refuse
      if not row.reject then
        local ok, query = pcall(justclick.build_query, row.order)
        if not ok then
          row.reject = tostring(query):gsub("^justclick: ", "")
        else
          row.id = row.id or core.md5(query) -- the row's identity: its id, or its content
        end
      end
    end
  end
  return rows
end

-- ---------------------------------------------------------------------------------------------
-- The journal: one JSON object a line, appended and fsynced.

local function read_journal(path)
  local states, owned = {}, {}
  local f = io.open(path, "rb")
  if not f then return states, owned end
  for line in f:lines() do
    local ok, record = pcall(cjson.decode, line)
    if ok and type(record) == "table" and type(record.row) == "string" then -- a torn last line is skipped
      states[record.row] = record
      if record.state == "done" and record.bill_id then
        owned[math.tointeger(record.bill_id) or record.bill_id] = record.row
      end
    end
  end
  f:close()
  return states, owned
end

local function journal_writer(path)
  return function(record)
    local ok, err = core.append_durably(path, cjson.encode(record) .. "\n")
    if not ok then error("justclick.import: cannot write the journal: " .. err, 0) end
  end
end

-- ---------------------------------------------------------------------------------------------
-- Reconciling a row whose outcome is unknown

-- Whether a bill holds the row's goods, in any order: each good of the row claims one of the
-- bill's with its name, and with its sum when the row gave one (those claim first).
local function same_goods(bill_goods, goods)
  if type(bill_goods) ~= "table" or #bill_goods ~= #goods then return false end
  local wanted = {}
  for _, g in ipairs(goods) do
    table.insert(wanted, g.good_sum ~= nil and 1 or #wanted + 1, g)
  end
  local used = {}
  for _, want in ipairs(wanted) do
    local found = false
    for j, have in ipairs(bill_goods) do
      if not used[j] and tostring(have.good_name) == tostring(want.good_name)
          and (want.good_sum == nil or tonumber(have.good_sum) == tonumber(want.good_sum)) then
        used[j], found = true, true
        break
      end
    end
    if not found then return false end
  end
  return true
end

-- The bill the server holds for this row, if any: nil when there is none; false, err when
-- GetBills cannot tell.
local function find_bill(client, order, owned)
  local bills, err = client:bills(order.bill_email)
  if not bills then
    if err.kind == "api" and err.code == 500 then return nil end -- no contact: no orders
    return false, err
  end
  for _, bill in ipairs(bills) do
    local id = math.tointeger(bill.bill_id) or bill.bill_id
    if not owned[id] and same_goods(bill.goods, order.goods) then return id end
  end
  return nil
end

-- ---------------------------------------------------------------------------------------------
-- Running

-- API codes that no row can get past: the account or the signature is wrong.
local FATAL = { [1] = true, [4] = true, [5] = true, [6] = true, [7] = true }

-- On a terminal, one live line (done/total, rate, failures, ETA) redrawn a few times a second;
-- elsewhere, a plain line every few seconds, as a log wants.
local function default_progress(out)
  local live = core.isatty(out)
  local started, last = core.now(), 0
  return function(s, final)
    local now = core.now()
    if not final and now - last < (live and 0.1 or 5) then return end
    last = now
    local rate = s.done / math.max(now - started, 1e-3)
    local eta = rate > 0 and (s.total - s.done) / rate or 0
    local line = ("justclick import: %d/%d rows, %.1f rows/s, %d created, %d existing, %d skipped, "
      .. "%d rejected, %d failed, %d unknown, ETA %ds"):format(s.done, s.total, rate, s.created, s.existing,
      s.skipped, s.rejected, s.failed, s.unknown, math.ceil(eta))
    if live then
      out:write("\r", line, "\27[K", final and "\n" or "")
    else
      out:write(line, "\n")
    end
    out:flush()
  end
end

--- import.run(path [, {client =, jobs = 4, progress = true|function(summary, final)}])
-- -> summary | nil, err. The summary counts rows: total, created, existing (already there, or
-- found by reconciling), skipped (done in an earlier run), rejected, failed and unknown; it
-- also lists the rejects and the failures with their line numbers. Up to `jobs` orders are
-- under way at once, each on its own connection (curl's multi interface); the first row goes
-- alone, so that a wrong secret stops the import at the first row.
function import.run(path, opts)
  opts = opts or {}
  local jobs = opts.jobs or 4
  if math.type(jobs) ~= "integer" or jobs < 1 or jobs > 64 then
    error("justclick.import: jobs must be an integer from 1 to 64", 2)
  end
  local client = opts.client or justclick.default_client()
  local rows, err = read_rows(path)
  if not rows then return nil, err end
  local states, owned = read_journal(path .. ".journal")
  local record = journal_writer(path .. ".journal")
  local progress = opts.progress == true and default_progress(io.stderr) or opts.progress or function() end
  local s = { total = #rows, done = 0, created = 0, existing = 0, skipped = 0, rejected = 0, failed = 0,
    unknown = 0, rejects = {}, failures = {} }
  local rejects = {}

  local function finished(row)
    s.done = s.done + 1
    progress(s, false)
    return row
  end

  local function fail(row, counter, message)
    s[counter] = s[counter] + 1
    s.failures[#s.failures + 1] = { line = row.line, message = message }
  end

  -- Whether the row is to be sent: false when it is done, found, rejected or undecidable.
  local function needs_sending(row)
    if row.reject then
      s.rejected = s.rejected + 1
      s.rejects[#s.rejects + 1] = { line = row.line, reason = row.reject }
      local reason, text = row.reject:gsub('"', '""'), row.text:gsub('"', '""')
      rejects[#rejects + 1] = ('%d,"%s","%s"'):format(row.line, reason, text)
      return false
    end
    local last = states[row.id]
    if last and last.state == "done" then
      s.skipped = s.skipped + 1
      return false
    end
    if last and (last.state == "sending" or last.state == "unknown") then
      local bill, why = find_bill(client, row.order, owned)
      if bill then
        record({ row = row.id, line = row.line, state = "done", bill_id = bill, reconciled = true })
        owned[bill] = row.id
        s.existing = s.existing + 1
        return false
      elseif bill == false then
        fail(row, "unknown", "outcome unknown, and GetBills failed: " .. tostring(why))
        return false
      end
    end
    return true
  end

  -- Records what the row's request came to; returns a message when no row can get past it.
  local function settle(row, result, failure)
    if result then
      local bill = result.bill_id
      record({ row = row.id, line = row.line, state = "done", bill_id = bill, existing = result.existing or nil })
      if bill then owned[bill] = row.id end
      if result.existing then s.existing = s.existing + 1 else s.created = s.created + 1 end
    elseif failure.kind == "transport" and failure.sent or failure.kind == "http" or failure.kind == "protocol" then
      record({ row = row.id, line = row.line, state = "unknown", message = failure.message })
      fail(row, "unknown", tostring(failure))
    else
      record({ row = row.id, line = row.line, state = "error", message = failure.message })
      fail(row, "failed", tostring(failure))
      if failure.kind == "api" and FATAL[failure.code] then
        return ("stopped at line %d: %s"):format(row.line, tostring(failure))
      end
    end
  end

  local multi = core.multi(client.http, jobs)
  local inflight, next_row, limit, fatal = {}, 1, 1, nil
  while true do
    while not fatal and next_row <= #rows and multi:running() < limit do
      local index, row = next_row, rows[next_row]
      next_row = next_row + 1
      if not needs_sending(row) then
        finished(row)
      else
        local url, body = client:prepare("CreateOrder", row.order)
        if not url then
          record({ row = row.id, line = row.line, state = "error", message = body.message })
          fail(row, "failed", tostring(body))
          finished(row)
        else
          record({ row = row.id, line = row.line, state = "sending" }) -- fsynced before it goes out
          multi:start(index, url, body)
          inflight[index] = { row = row, url = url, body = body, attempts = 1 }
        end
      end
    end
    if multi:running() == 0 then break end
    for _, done in ipairs(multi:wait()) do
      local job = inflight[done.key]
      local result, failure, retry = client:settle("CreateOrder", done.status, done.body or done.failure)
      if result == nil and retry and job.attempts <= client.retries and not fatal then
        job.attempts = job.attempts + 1 -- the connection never opened: the server has nothing
        multi:start(done.key, job.url, job.body)
      else
        inflight[done.key] = nil
        fatal = fatal or settle(job.row, result, failure)
        finished(job.row)
      end
      limit = jobs -- the first reply is in: the account and the secret work
    end
  end
  multi:close()
  progress(s, true)
  if fatal then return nil, "justclick import: " .. fatal end
  local f = io.open(path .. ".rejects", "wb")
  if f then
    f:write("line,reason,row\n", table.concat(rejects, "\n"), #rejects > 0 and "\n" or "")
    f:close()
  end
  return s
end

--- import.main(...): `justclick import [--jobs N] FILE`. Prints the progress and the summary;
-- returns the exit status: 0, 1 when a row failed or its outcome is unknown, 2 for a usage error.
function import.main(...)
  local args, jobs, path = { ... }, 4, nil
  local i = 1
  while args[i] do
    local a = args[i]
    if a == "--jobs" or a == "-j" then
      jobs = math.tointeger(tonumber(args[i + 1] or ""))
      i = i + 1
    elseif a:match("^%-%-jobs=") then
      jobs = math.tointeger(tonumber(a:match("=(.*)")))
    elseif not path then
      path = a
    else
      path = nil
      break
    end
    i = i + 1
  end
  if not path or not jobs or jobs < 1 or jobs > 64 then
    io.stderr:write("usage: justclick import [--jobs N] FILE\n"
      .. "  FILE: CSV with a header row, or .jsonl; N: 1 to 64 orders at once, 4 by default\n")
    return 2
  end
  local s, err = import.run(path, { progress = true, jobs = jobs })
  if not s then
    io.stderr:write(tostring(err), "\n")
    return 1
  end
  for _, r in ipairs(s.rejects) do io.stderr:write(("line %d: rejected: %s\n"):format(r.line, r.reason)) end
  for _, f in ipairs(s.failures) do io.stderr:write(("line %d: %s\n"):format(f.line, f.message)) end
  print(("created %d, existing %d, skipped %d, rejected %d, failed %d, unknown %d"):format(
    s.created, s.existing, s.skipped, s.rejected, s.failed, s.unknown))
  return (s.failed + s.unknown > 0) and 1 or 0
end

return import
