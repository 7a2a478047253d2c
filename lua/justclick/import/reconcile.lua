--- justclick.import.reconcile: settling rows whose outcome is unknown.
--
-- A row is unknown when its request may have reached the server and no answer came. It is settled
-- at the end of a run, when no other row is in flight, and only on evidence:
--   * GetBills lists the bills of the row's email; those another row of the journal owns are out.
--   * Each other bill is read through getOrderDetails: its goods (items[].id, items[].sum) must
--     be the row's, and it must have been created after the row was first sent. The server
--     writes `created` in its own zone, which is not published; so the server's clock is read
--     off a bill this import made and saw answered (created between its send and its answer).
--   * The row claims a bill only when exactly one fits and no other unknown row could own it.
--   * No bill fits: once `grace` seconds have passed since the row was last sent (the server may
--     still be working on it), the order does not exist and the row is sent again.
--   * Anything else (two bills fit, another unknown row fits the same bill, no bill of this
--     import to read the clock off, a bill whose time is the row's own bill_created) is left to
--     a person: the row stays unknown, and the summary says how to settle it.
local core = require "justclick.core"

local reconcile = {}

-- Days from 1970-01-01 to a civil date (proleptic Gregorian), without the local zone os.time uses.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- reconcile.server_seconds(created) -> seconds: a unix time, or "YYYY-MM-DD HH:MM:SS" (also
-- "DD.MM.YYYY HH:MM:SS") read as if it were UTC; nil when it is neither.
function reconcile.server_seconds(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  if v:match("^%d+$") then return tonumber(v) end
  local y, mo, d, h, mi, se = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[ T](%d%d):(%d%d):(%d%d)")
  if not y then d, mo, y, h, mi, se = v:match("^(%d%d)%.(%d%d)%.(%d%d%d%d) (%d%d):(%d%d):(%d%d)") end
  if not y then return nil end
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600
    + tonumber(mi) * 60 + tonumber(se)
end

-- A bill as getOrderDetails tells it, read once a run: {created, items = {{name, sum}}} or {err}.
local function details_of(client, cache, bill_id)
  local d = cache[bill_id]
  if d == nil then
    local order, err = client:order_details(bill_id)
    if not order then
      d = { err = err }
    else
      local items = {}
      for _, it in ipairs(type(order.items) == "table" and order.items or {}) do
        if type(it) == "table" then items[#items + 1] = { name = tostring(it.id), sum = tonumber(it.sum) } end
      end
      d = { created = reconcile.server_seconds(order.created), items = items }
    end
    cache[bill_id] = d
  end
  return d
end

-- Whether a bill's items are the row's goods, in any order: each good claims an item with its
-- name, and with its sum when the row gave one (those claim first).
local function same_goods(items, goods)
  if #items ~= #goods then return false end
  local wanted = {}
  for _, g in ipairs(goods) do table.insert(wanted, g.good_sum ~= nil and 1 or #wanted + 1, g) end
  local used = {}
  for _, want in ipairs(wanted) do
    local found
    for j, have in ipairs(items) do
      if not used[j] and have.name == tostring(want.good_name)
          and (want.good_sum == nil or have.sum == tonumber(want.good_sum)) then
        found = j
        break
      end
    end
    if not found then return false end
    used[found] = true
  end
  return true
end

-- The server's clock against ours, as the least offset (server `created` minus our time) that the
-- bills this import made and saw answered allow: each was created between our send (at) and our
-- answer (done_at), and `created` counts whole seconds, so each bill bounds the offset to
-- [created - done_at, created + 1 - at]. Up to 8 bills with the shortest waits narrow it down.
-- nil when no bill can be read, or when they disagree (a clock that jumped, or a `created` that
-- is not the time of making).
local CLOCK_BILLS = 8
local function clock_offset(client, book, cache)
  local made = {}
  for _, st in pairs(book.states) do
    if st.state == "done" and st.bill_id and st.at and st.done_at and not st.dated
        and not (st.reconciled or st.settled or st.existing) then
      made[#made + 1] = st
    end
  end
  table.sort(made, function(a, b) return a.done_at - a.at < b.done_at - b.at end)
  local low, high
  for i = 1, math.min(#made, CLOCK_BILLS) do
    local d = details_of(client, cache, made[i].bill_id)
    if d.created then
      low = math.max(low or -math.huge, d.created - made[i].done_at)
      high = math.min(high or math.huge, d.created + 1 - made[i].at)
    end
  end
  if low and low <= high then return low end
  return nil
end

local function list(ids)
  table.sort(ids)
  local shown = {}
  for i, id in ipairs(ids) do shown[i] = tostring(id) end
  return table.concat(shown, ", ")
end

-- Decides the rows of one email (and its spellings): returns, by row, {claim = bill} or {resend =
-- true} or {wait = seconds} or {message = why a person must decide}.
local function decide(client, book, cache, group, grace, clock)
  local bills, failure = {}, nil
  for email in pairs(group.emails) do
    local found, err = client:bills(email)
    if found then
      for _, b in ipairs(found) do bills[b.bill_id] = true end
    elseif not (err.kind == "api" and err.code == 500) then -- 500: no such contact, so no bills
      failure = "GetBills failed: " .. tostring(err)
    end
  end
  local decisions = {}
  if failure then
    for _, row in ipairs(group.rows) do decisions[row] = { message = failure } end
    return decisions
  end

  local candidates = {}
  for id in pairs(bills) do
    if not book.owned[id] then
      local d = details_of(client, cache, id)
      if d.err then
        for _, row in ipairs(group.rows) do
          decisions[row] = {
            message = ("bill %d could be its order, but getOrderDetails failed: %s"):format(id, tostring(d.err)),
          }
        end
        return decisions
      end
      candidates[#candidates + 1] = { id = id, d = d }
    end
  end

  -- For each row, the bills made after it was first sent (possible) and before (older).
  local possible, older, undatable = {}, {}, {}
  for _, row in ipairs(group.rows) do
    possible[row], older[row], undatable[row] = {}, {}, {}
    local st = book.states[row.id]
    for _, c in ipairs(candidates) do
      if same_goods(c.d.items, row.order.goods) then
        local offset = clock()
        if not offset or not c.d.created or not st.first_at then
          table.insert(undatable[row], c.id)
        elseif c.d.created >= math.floor(st.first_at + offset) then
          table.insert(possible[row], c.id)
        else
          table.insert(older[row], c.id)
        end
      end
    end
  end

  local now = core.time()
  for _, row in ipairs(group.rows) do
    local st = book.states[row.id]
    local shared = {}
    for _, id in ipairs(possible[row]) do
      for _, other in ipairs(group.rows) do
        if other ~= row then
          for _, oid in ipairs(possible[other]) do
            if oid == id then
              shared[#shared + 1] = ("bill %d could be the order of line %d too"):format(id, other.line)
            end
          end
        end
      end
    end
    if #undatable[row] > 0 then
      decisions[row] = { message = ("bills %s hold its goods, but when they were made cannot be read against "
        .. "this import's own orders (none has an answer to compare the server's clock with)")
        :format(list(undatable[row])) }
    elseif #possible[row] == 1 and #shared == 0 then
      decisions[row] = { claim = possible[row][1] }
    elseif #possible[row] > 1 then
      decisions[row] = {
        message = ("bills %s each hold its goods and were made after it was sent"):format(list(possible[row])),
      }
    elseif #shared > 0 then
      decisions[row] = { message = table.concat(shared, "; ") }
    elseif #older[row] > 0 and row.order.bill_created ~= nil then
      decisions[row] = { message = ("bills %s hold its goods, and their time is the row's own bill_created, "
        .. "so it cannot be told whether this import made them"):format(list(older[row])) }
    else -- no bill of its: once the server has had time to finish, it has no order
      local wait = (st.last_at or st.first_at or now) + grace - now
      decisions[row] = wait > 0 and { wait = wait } or { resend = true }
    end
  end
  return decisions
end

--- reconcile.settle(client, book, pending, {grace =, on_claim =, on_unknown =}) -> rows to send
-- again. Claims are recorded in the journal (state done, reconciled); rows a person must settle
-- go to on_unknown(row, message). Waits, at most `grace` seconds, for rows whose server may still
-- be working.
function reconcile.settle(client, book, pending, opts)
  local cache, offset, clock_read = {}, nil, false
  local function clock()
    if not clock_read then offset, clock_read = clock_offset(client, book, cache), true end
    return offset
  end
  local groups, order = {}, {}
  for _, row in ipairs(pending) do
    local email = tostring(row.order.bill_email)
    local key = email:lower()
    if not groups[key] then
      groups[key] = { emails = {}, rows = {} }
      order[#order + 1] = key
    end
    groups[key].emails[email] = true
    table.insert(groups[key].rows, row)
  end

  local resend = {}
  local todo = order
  for look = 1, 2 do -- a second look, after waiting for the server where it was needed
    local waiting, longest = {}, 0
    for _, key in ipairs(todo) do
      local group = groups[key]
      local decisions = decide(client, book, cache, group, opts.grace, clock)
      local left = {}
      for _, row in ipairs(group.rows) do
        local d = decisions[row]
        if d.claim then
          book:record({ row = row.id, line = row.line, state = "done", bill_id = d.claim, reconciled = true })
          opts.on_claim(row, d.claim)
        elseif d.resend then
          resend[#resend + 1] = row
        elseif d.wait and look == 1 then
          left[#left + 1] = row
          longest = math.max(longest, d.wait)
        elseif d.wait then
          opts.on_unknown(row, "no bill of its yet, but the server may still be working on it: run again later")
        else
          opts.on_unknown(row, d.message)
        end
      end
      if #left > 0 then
        groups[key].rows = left
        waiting[#waiting + 1] = key
      end
    end
    if #waiting == 0 then break end
    if opts.on_wait then opts.on_wait(longest) end
    core.sleep(longest + 0.01)
    todo = waiting
  end
  table.sort(resend, function(a, b) return a.line < b.line end)
  return resend
end

--- reconcile.manual(client, scan, book, settle, resend) -> {[line] = {settle = bill} | {resend =
-- true}} | nil, err: what a person decided for unknown rows (--settle LINE=BILL_ID, --resend
-- LINE), checked before anything is sent.
function reconcile.manual(client, scan, book, settle, resend)
  local ids = {}
  for id, line in pairs(scan.lines) do
    if settle[line] ~= nil or resend[line] ~= nil then ids[line] = id end
  end
  local function unknown_row(line)
    local id = ids[line]
    if not id then return nil, ("line %s is not a row of the file that can be sent"):format(tostring(line)) end
    local st = book.states[id]
    if not st or (st.state ~= "sending" and st.state ~= "unknown") then
      return nil, ("line %d: its outcome is not unknown (%s), so there is nothing to settle")
        :format(line, st and st.state or "never sent")
    end
    return id
  end
  local decisions = {}
  for line, bill in pairs(settle) do
    local _, err = unknown_row(line)
    if err then return nil, "justclick.import: " .. err end
    if resend[line] ~= nil then return nil, ("justclick.import: line %d: settled and resent at once"):format(line) end
    if math.type(bill) ~= "integer" or bill <= 0 then
      return nil, ("justclick.import: line %d: the bill id must be a positive integer"):format(line)
    end
    local owner = book.owned[bill]
    if owner then
      return nil, ("justclick.import: line %d: bill %d is the order of another row (line %s)")
        :format(line, bill, tostring(scan.lines[owner] or "?"))
    end
    if not client.dry_run then
      local _, details_err = client:order_details(bill)
      if details_err then
        return nil, ("justclick.import: line %d: bill %d: %s"):format(line, bill, tostring(details_err))
      end
    end
    decisions[line] = { settle = bill }
  end
  for line in pairs(resend) do
    local _, err = unknown_row(line)
    if err then return nil, "justclick.import: " .. err end
    decisions[line] = { resend = true }
  end
  return decisions
end

return reconcile
