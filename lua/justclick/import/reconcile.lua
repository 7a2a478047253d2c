--- justclick.import.reconcile: settling rows whose outcome is unknown.
--
-- A row is unknown when its request may have reached the server and no answer came. It is settled
-- at the end of a run, when no other row is in flight, and only on evidence:
--   * GetBills lists the bills of the row's email; those another row of the journal owns are out.
--   * Each other bill whose goods GetBills lists as the row's (or does not list) is read through
--     getOrderDetails: its goods (items[].id, items[].sum) must be the row's as they were sent,
--     and it must have been created after the row was first sent. A bill like that whose other
--     fields (names, phone, address, comment, tag, coupon, domain, utm) differ from what the row
--     sent is left to a person: it may be another order of the customer's, or the row's own
--     order as the server rewrote it.
--   * A bill is set aside only when its reply was read in full: its id, its `created`, and its
--     items as a list of {id, sum}. A reply without them (a bare {bill_id, link}, say) proves
--     nothing, and leaves the row to a person, as a read that failed does: never sent again. So
--     does a GetBills success that lists no bill (the API answers 500 or 400 when there is none),
--     and a bill whose getOrderDetails items are not its goods as GetBills lists them (product
--     codes, sums): two views of one bill that disagree prove no other order.
--   * `created` counts whole seconds in the server's own zone, which is not published. So the
--     server's clock is read off the bills this import made and saw answered (each was created
--     between its send and its answer), the ones sent nearest to the row, on the boot clock when
--     they share the row's boot (no step of the wall clock moves it), else on the wall clock.
--     A bill made before the row by less than about two seconds cannot be told apart from its own;
--     one that falls where a slow answer leaves the clock unclear is left to a person.
--   * The row claims a bill only when exactly one fits and no other unknown row could own it.
--   * No bill fits, each read in full: once `grace` seconds have passed since the row was last
--     sent (on the boot clock), the server has had time to finish, the order does not exist, and
--     the row is sent again.
--   * Anything else is left to a person: the row stays unknown, and the summary says why.
local justclick = require "justclick"
local core = require "justclick.core"
local errors = require "justclick.errors"

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

-- A value as the request carried it, the text PHP reads (1089.0000000000002 went as "1089"); nil
-- for what writes nothing (nil, justclick.null, an empty table).
local function as_sent(v)
  if v == nil or v == justclick.null then return nil end
  local ok, query = pcall(core.build_query, { v = v })
  if not ok or query == "" or query:find("&", 1, true) or not query:find("^v=") then return nil end
  return (query:sub(3):gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The number PHP reads in a text (is_numeric: blanks around, a sign, decimal digits, an exponent;
-- not hex), or nil: then the server charges the product's price, which any sum matches.
local function php_number(text)
  if type(text) ~= "string" then return nil end
  local t = text:match("^[ \t\n\r\v\f]*(.-)[ \t\n\r\v\f]*$")
  if not (t:match("^[+-]?%d+%.?%d*$") or t:match("^[+-]?%.%d+$") or t:match("^[+-]?%d+%.?%d*[eE][+-]?%d+$")
      or t:match("^[+-]?%.%d+[eE][+-]?%d+$")) then
    return nil
  end
  return tonumber(t)
end

-- A product code as it is compared: the server may keep codes in another case, or trimmed.
local function code(v)
  return v and tostring(v):lower():match("^%s*(.-)%s*$")
end

-- What getOrderDetails tells of each field the row may send: the order's field -> the detail's.
local FIELDS = {
  bill_first_name = "first_name", bill_surname = "last_name", bill_middle_name = "middle_name",
  bill_otchestvo = "middle_name", bill_phone = "phone", bill_city = "city", bill_country = "country",
  bill_address = "address", bill_region = "region", bill_postal_code = "postalcode",
  bill_comment = "comment", bill_tag = "tag", bill_kupon = "kupon", bill_domain = "domain",
}
local UTM = { utm_medium = "medium", utm_source = "source", utm_campaign = "campaign", utm_content = "content",
  utm_term = "term" }

-- The first field the row sent that the bill holds otherwise, or nil.
local function differing_field(d, order)
  local function differs(sent, held)
    sent = as_sent(sent)
    return sent ~= nil and sent ~= "" and type(held) == "string" and held ~= "" and held ~= sent
  end
  for field, detail in pairs(FIELDS) do
    if differs(order[field], d.fields[detail]) then return field end
  end
  local utm, held = type(order.utm) == "table" and order.utm or {}, type(d.fields.utm) == "table" and d.fields.utm or {}
  for field, detail in pairs(UTM) do
    if differs(utm[field], held[detail]) then return "utm." .. field end
  end
  return nil
end

-- The number of entries of t when it is a JSON list of at least one (keys 1..n, nothing else);
-- else nil.
local function list_length(t)
  if type(t) ~= "table" then return nil end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return nil end
  end
  return n > 0 and n or nil
end

-- An order as getOrderDetails documents it, read: {created, items = {{name, sum}}, fields}; or
-- nil and what cannot be read. Only what the decision rests on is asked for, but all of it:
-- `id` (the bill asked), `created` (a time), and `items`, a list of {id, sum}. A reply without
-- them says nothing of the bill's goods or time, and is no proof that it is another order.
local function read_order(order, bill_id)
  if math.tointeger(tonumber(order.id)) ~= bill_id then
    return nil, order.id == nil and "no id" or ("its id is %s"):format(justclick.visible(tostring(order.id)))
  end
  local created = reconcile.server_seconds(order.created)
  if not created then
    return nil, order.created == nil and "no created" or "a created that is no time"
  end
  local n = list_length(order.items)
  if not n then
    local none = order.items == nil or (type(order.items) == "table" and next(order.items) == nil)
    return nil, none and "no items" or "items that are not a list"
  end
  local items = {}
  for i = 1, n do
    local it = order.items[i]
    local id = type(it) == "table" and it.id
    if type(id) == "number" then id = math.tointeger(id) or id end -- 5 as JSON may come as 5.0
    local name = (type(id) == "string" or type(id) == "number") and code(id) or ""
    local sum = type(it) == "table" and tonumber(it.sum)
    if name == "" or not sum then return nil, ("item %d has no product code or no sum"):format(i) end
    items[i] = { name = name, sum = sum }
  end
  return { created = created, items = items, fields = order }
end

-- A bill as getOrderDetails tells it, read once a run: {created, items = {{name, sum}}, fields},
-- or {err} (the request failed), or {unreadable = why} (a reply that is not the documented order).
local function details_of(client, cache, bill_id)
  local d = cache[bill_id]
  if d == nil then
    local order, err = client:order_details(bill_id)
    if not order then
      d = { err = err }
    else
      local why
      d, why = read_order(order, bill_id)
      d = d or { unreadable = why }
    end
    cache[bill_id] = d
  end
  return d
end

-- Whether a bill's items are the row's goods as they were sent, in any order: each good claims an
-- item with its name, and with its sum (to the kopeck) when the request carried a number; those
-- claim first.
local function same_goods(items, goods)
  if #items ~= #goods then return false end
  local wanted = {}
  for _, g in ipairs(goods) do
    local want = { name = code(as_sent(g.good_name)), sum = php_number(as_sent(g.good_sum)) }
    table.insert(wanted, want.sum and 1 or #wanted + 1, want)
  end
  local used = {}
  for _, want in ipairs(wanted) do
    local found
    for j, have in ipairs(items) do
      if not used[j] and have.name == want.name
          and (want.sum == nil or (have.sum and math.abs(have.sum - want.sum) < 0.005)) then
        found = j
        break
      end
    end
    if not found then return false end
    used[found] = true
  end
  return true
end

-- The bills this import made and saw answered, whose `created` is the server's clock: sorted by
-- their send, on the wall clock (wall) and on each boot's clock (boots[boot]).
local function own_bills(book)
  local wall, boots = {}, {}
  for _, st in pairs(book.states) do
    if st.state == "done" and st.bill_id and st.at and st.done_at and not st.dated
        and not (st.reconciled or st.settled or st.existing) then
      wall[#wall + 1] = st
      if st.boot and st.up and st.done_up then
        boots[st.boot] = boots[st.boot] or {}
        table.insert(boots[st.boot], st)
      end
    end
  end
  table.sort(wall, function(a, b) return a.at < b.at end)
  for _, list in pairs(boots) do table.sort(list, function(a, b) return a.up < b.up end) end
  return { wall = wall, boots = boots }
end

-- The n entries of `list` (sorted by field) nearest to key.
local function nearest(list, field, key, n)
  local lo, hi = 1, #list + 1
  while lo < hi do -- the first entry at or after key
    local mid = math.floor((lo + hi) / 2)
    if list[mid][field] < key then lo = mid + 1 else hi = mid end
  end
  local found, left, right = {}, lo - 1, lo
  while #found < n and (left >= 1 or right <= #list) do
    if right > #list or (left >= 1 and key - list[left][field] <= list[right][field] - key) then
      found[#found + 1], left = list[left], left - 1
    else
      found[#found + 1], right = list[right], right + 1
    end
  end
  return found
end

-- When the server saw the row first sent, as bounds on `created` seconds: {lo, claim}. A bill of
-- the row's own has created >= lo. Bills created from `claim` on are taken as made after it
-- (claim is at most 2 s before the latest the send can have been); those between lo and claim
-- cannot be told. Read off up to 4 of the import's bills sent nearest the row, in one frame: the
-- boot clock when they share the row's boot, else the wall clock. nil when no bill can be read,
-- or when they disagree (a clock that moved, or a `created` that is not the time of making).
local CLOCK_BILLS = 4
local function first_sent(client, cache, made, st)
  local bills, at, done, first
  if st.first_boot and st.first_up and made.boots[st.first_boot] then
    bills, at, done, first = made.boots[st.first_boot], "up", "done_up", st.first_up
  elseif st.first_at then
    bills, at, done, first = made.wall, "at", "done_at", st.first_at
  else
    return nil
  end
  local low, high
  for _, b in ipairs(nearest(bills, at, first, CLOCK_BILLS)) do
    local d = details_of(client, cache, b.bill_id)
    if d.created then -- created between our send and our answer: the offset's bounds
      low = math.max(low or -math.huge, d.created - b[done])
      high = math.min(high or math.huge, d.created + 1 - b[at])
    end
  end
  if not low or low > high then return nil end
  return { lo = math.floor(first + low), claim = math.floor(first + math.max(low, high - 2)) }
end

-- Seconds since the row was last sent: on the boot clock when it was sent on this boot, else on
-- the wall clock (the journal may have moved to another machine, whose uptime says nothing).
local function since_last_send(st)
  local up, boot = core.boottime()
  if st.last_up and up and st.last_boot == boot then return up - st.last_up end
  return core.time() - (st.last_at or st.first_at or 0)
end

local function list(ids)
  table.sort(ids)
  local shown = {}
  for i, id in ipairs(ids) do shown[i] = tostring(id) end
  return table.concat(shown, ", ")
end

-- Whether GetBills lists a good without its product code: no name, or a number (a good_id, not
-- the product code CreateOrder takes). A listing with one names not all the bill holds.
local function uncoded(g)
  return g.good_name == nil or tostring(g.good_name):match("^%s*%d+%s*$") ~= nil
end

-- Whether a bill as GetBills lists it may hold a row's goods: it lists a good without its
-- product code (uncoded), or none, or every product code of the row among them. (Only a
-- pre-filter: getOrderDetails decides.)
local function may_hold(bill, rows)
  local held = {}
  for _, g in ipairs(bill.goods or {}) do
    if uncoded(g) then return true end
    held[code(g.good_name)] = true
  end
  if next(held) == nil then return true end
  for _, row in ipairs(rows) do
    local all = true
    for _, g in ipairs(row.order.goods) do all = all and held[code(as_sent(g.good_name))] ~= nil end
    if all then return true end
  end
  return false
end

-- Whether getOrderDetails' items (d.items) contradict the bill's goods as GetBills lists them:
-- other product codes, or, code by code, other sums (where GetBills gives them). Two views of one
-- bill that disagree make neither proof that it is another order than the row's (items named by
-- a number rather than the product code, say, or sums as after a coupon).
local function contradicts(bill, items)
  local listed = {}
  for _, g in ipairs(bill and bill.goods or {}) do
    if uncoded(g) then return false end -- a listing that names not all it holds tells nothing
    listed[#listed + 1] = { name = code(g.good_name), sum = g.good_sum }
  end
  if #listed == 0 then return false end
  if #listed ~= #items then return true end
  local held = {}
  for i, it in ipairs(items) do held[i] = it end
  local by = function(a, b) return a.name < b.name or (a.name == b.name and (a.sum or 0) < (b.sum or 0)) end
  table.sort(listed, by)
  table.sort(held, by)
  for i = 1, #listed do
    if listed[i].name ~= held[i].name then return true end
    if listed[i].sum and held[i].sum and math.abs(listed[i].sum - held[i].sum) >= 0.005 then return true end
  end
  return false
end

-- Why a read that settles rows failed: the request limit that outlasted the client's timeout says
-- to come back later (and true: no other read will get through now); anything else is shown as
-- it is.
local function read_failed(what, err)
  if err.kind == "api" and err.code == 8 then
    return ("%s was refused with code 8 (the request limit) until the client's timeout: run again later"):format(what),
      true
  end
  return ("%s failed: %s"):format(what, tostring(err))
end

-- The bills that could be the order of rows of one email (and its spellings): {id, d} each, or
-- nil, why none can be trusted, and whether the request limit stopped the reads.
local function candidates_of(client, book, cache, group)
  local bills = {}
  for email in pairs(group.emails) do
    local found, err = client:bills(email)
    if found and #found == 0 then -- a success with no result, or an empty one: no proof of no order
      return nil, "GetBills answered a success that lists no bill, where the API answers 500 (no such contact) "
        .. "or 400 (no order): look the order up in JustClick"
    elseif found then
      for _, b in ipairs(found) do
        if may_hold(b, group.rows) then bills[b.bill_id] = b end
      end
    elseif not (err.kind == "api" and err.code == 500) then -- 500: no such contact, so no bills
      return nil, read_failed("GetBills", err)
    end
  end
  local candidates = {}
  for id, listed in pairs(bills) do
    if not book.owned[id] then
      local d = details_of(client, cache, id)
      if d.err then
        local why, limited = read_failed("getOrderDetails", d.err)
        return nil, ("bill %d could be its order, but %s"):format(id, why), limited
      elseif d.unreadable then -- never taken for another order: the row would be sent twice
        return nil, ("bill %d could be its order, but its getOrderDetails reply cannot be read (%s): look it up"
          .. " in JustClick"):format(id, d.unreadable)
      end
      candidates[#candidates + 1] = { id = id, d = d, listed = listed }
    end
  end
  return candidates
end

-- Decides the rows of one email: by row, {claim = bill} or {resend = true} or {wait = seconds} or
-- {message = why a person must decide}; and the message when the request limit stopped its reads.
local function decide(client, book, cache, made, group, grace)
  local decisions = {}
  local candidates, failure, limited = candidates_of(client, book, cache, group)
  if not candidates then
    for _, row in ipairs(group.rows) do decisions[row] = { message = failure } end
    return decisions, limited and failure
  end
  -- For each row: the fitting bills made after it was first sent (possible), before it (older),
  -- those whose time cannot be told (unclear), and those that differ in another field (other).
  local possible, older, unclear, other = {}, {}, {}, {}
  for _, row in ipairs(group.rows) do
    possible[row], older[row], unclear[row], other[row] = {}, {}, {}, {}
    local st, sent = book.states[row.id], nil
    for _, c in ipairs(candidates) do
      if same_goods(c.d.items, row.order.goods) then
        sent = sent or first_sent(client, cache, made, st) or false
        local field = differing_field(c.d, row.order)
        if sent and c.d.created and c.d.created < sent.lo then
          table.insert(older[row], c.id) -- made before the row was sent: not its order
        elseif field then
          table.insert(other[row], ("bill %d holds its goods, but its %s differs"):format(c.id, field))
        elseif not sent or not c.d.created then
          table.insert(unclear[row], c.id)
        elseif c.d.created >= sent.claim then
          table.insert(possible[row], c.id)
        else
          table.insert(unclear[row], c.id)
        end
      elseif contradicts(c.listed, c.d.items) then -- unless made before the row was sent
        sent = sent or first_sent(client, cache, made, st) or false
        if not (sent and c.d.created < sent.lo) then
          table.insert(other[row], ("bill %d: its getOrderDetails items are not its goods as GetBills lists them,"
            .. " so whether it holds the row's cannot be told"):format(c.id))
        end
      end
    end
  end

  for _, row in ipairs(group.rows) do
    local shared = {}
    for _, id in ipairs(possible[row]) do
      for _, peer in ipairs(group.rows) do
        for _, oid in ipairs(peer ~= row and possible[peer] or {}) do
          if oid == id then
            shared[#shared + 1] = ("bill %d could be the order of line %d too"):format(id, peer.line)
          end
        end
      end
    end
    if #other[row] > 0 then
      decisions[row] = { message = table.concat(other[row], "; ") .. ": another order of the customer's, or the "
        .. "row's own as the server changed it" }
    elseif #unclear[row] > 0 then
      decisions[row] = { message = ("bills %s hold its goods, but whether they were made before or after it was "
        .. "sent cannot be told from this import's own orders"):format(list(unclear[row])) }
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
      local wait = grace - since_last_send(book.states[row.id])
      decisions[row] = wait > 0 and { wait = math.min(wait, grace) } or { resend = true }
    end
  end
  return decisions
end

--- reconcile.settle(client, book, pending, {grace =, on_claim =, on_unknown =, on_wait =}) -> rows
-- to send again. Claims are recorded in the journal (state done, reconciled); rows a person must
-- settle go to on_unknown(row, message). Waits, at most `grace` seconds, for rows whose server
-- may still be working.
function reconcile.settle(client, book, pending, opts)
  local cache, made = {}, own_bills(book)
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
  -- Once the request limit has refused a read for a whole timeout, the rest wait for the next run:
  -- reading each email until its own timeout would hold the import for as many timeouts.
  local stalled
  for look = 1, 2 do -- a second look, after waiting for the server where it was needed
    local waiting, longest = {}, 0
    for _, key in ipairs(todo) do
      local group = groups[key]
      local decisions = {}
      if stalled then
        for _, row in ipairs(group.rows) do decisions[row] = { message = stalled } end
      else
        decisions, stalled = decide(client, book, cache, made, group, opts.grace)
      end
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
    if not stalled then
      if opts.on_wait then opts.on_wait(longest) end
      core.sleep(longest + 0.01)
    end
    todo = waiting
  end
  table.sort(resend, function(a, b) return a.line < b.line end)
  return resend
end

--- reconcile.manual(client, scan, book, settle, resend) -> {[identity] = {settle = bill} |
-- {resend = true}} | nil, err: what a person decided for unknown rows (--settle LINE=BILL_ID,
-- --resend LINE), checked before anything is sent: the row must be unknown, a bill can be given
-- to one row only, must not be another row's, and must be an order of the row's email. Keyed by
-- the row's identity, not its line, so that it cannot land on another row. err: kind "input", or
-- the kind of the getOrderDetails error that kept a bill from being checked.
function reconcile.manual(client, scan, book, settle, resend)
  local function refused(message) return nil, errors.new("input", nil, "justclick.import: " .. message) end
  local function unknown_row(line)
    local row = scan.rows[line]
    if not row or row.reject then
      return nil, ("line %s is not a row of the file that can be sent"):format(tostring(line))
    end
    local st = book.states[row.id]
    if not st or (st.state ~= "sending" and st.state ~= "unknown") then
      return nil, ("line %d: its outcome is not unknown (%s), so there is nothing to settle")
        :format(line, st and st.state or "never sent")
    end
    return row
  end
  local decisions, given = {}, {}
  for line, bill in pairs(settle) do
    local row, err = unknown_row(line)
    if not row then return refused(err) end
    if resend[line] ~= nil then return refused(("line %d: settled and resent at once"):format(line)) end
    if math.type(bill) ~= "integer" or bill <= 0 then
      return refused(("line %d: the bill id must be a positive integer"):format(line))
    end
    local owner = book.owned[bill]
    if owner or given[bill] then
      return refused(("line %d: bill %d is the order of another row (line %s)")
        :format(line, bill, tostring(given[bill] or scan.lines[owner] or "?")))
    end
    given[bill] = line
    if not (client.dry_run or core.network_forbidden()) then
      local order, details_err = client:order_details(bill)
      if not order then
        return nil, errors.new(details_err.kind, details_err.code, ("justclick.import: line %d: bill %d: %s")
          :format(line, bill, tostring(details_err)), { retryable = details_err.retryable })
      end
      if tostring(order.email):lower() ~= tostring(row.order.bill_email):lower() then
        return refused(("line %d: bill %d is an order of %s, not of %s"):format(line, bill,
          justclick.visible(tostring(order.email)), justclick.visible(tostring(row.order.bill_email))))
      end
    end
    decisions[row.id] = { settle = bill }
  end
  for line in pairs(resend) do
    local row, err = unknown_row(line)
    if not row then return refused(err) end
    decisions[row.id] = { resend = true }
  end
  return decisions
end

return reconcile
