--- justclick.import.journal: FILE.journal, one JSON record a line, appended and fsynced.
--
-- Records: {row = identity, line = n, state = "sending", at, up, boot, first_at, first_up,
-- first_boot} before a request goes out; then {state = "done", bill_id = n, at, up, boot,
-- done_at, done_up} (also `existing`, or `reconciled`, or `settled` by hand; `dated` when the
-- order set its own bill_created), {state = "error"} (the server refused the order: nothing was
-- made; code = 8 when the request limit refused it, and it goes again) or {state = "unknown"} (no
-- answer). `at` is the wall clock; `up` the boot clock
-- (core.boottime, which no step of the wall clock moves) of the boot `boot`; `first_*` tell when
-- the row was first sent since it last had no order.
--
-- A crash or a full disk can leave the last record torn: a last line with no line end (each
-- record is written with one write, its line end last). It is cut off before the next record is
-- written, so that nothing lands on its line: the request it announced had not gone out, or its
-- outcome had not been written, so the row is still "sending", reconciled and never sent
-- blindly. An unreadable whole line stops the import: rows would lose their state.
local core = require "justclick.core"
local errors = require "justclick.errors"
local cjson = require("cjson").new()

local journal = {}
local Book = {}
Book.__index = Book

-- Folds a record into the row's state: the latest record, with the times of its sends.
local SENDS = { "at", "up", "boot" }
local function fold(states, owned, record)
  local last = states[record.row]
  local state = {}
  for k, v in pairs(record) do state[k] = v end
  for _, k in ipairs(SENDS) do
    if record.state == "sending" then
      state["first_" .. k] = record["first_" .. k] or (last and last["first_" .. k]) or record[k]
      state["last_" .. k] = record[k]
    elseif last then
      state["first_" .. k], state["last_" .. k] = last["first_" .. k], last["last_" .. k]
    end
  end
  if record.state == "done" and record.bill_id then
    state.bill_id = math.tointeger(record.bill_id) or record.bill_id
    owned[state.bill_id] = record.row
  end
  states[record.row] = state
end

--- journal.open(path, {write = true}) -> book | nil, err
-- book.states[identity]: the row's state; book.owned[bill_id]: the row that owns the bill. With
-- write, the journal is locked for this run (another import of the file fails), a torn last
-- line is cut off, and the journal must be writable: checked now, before anything is sent.
function journal.open(path, opts)
  local book = setmetatable({ path = path, states = {}, owned = {}, write = opts.write }, Book)
  if book.write then -- locked before it is read: a run that ends meanwhile is read whole
    local lock, err = core.lock(path)
    if not lock then
      return nil, errors.new("io", nil, "justclick.import: " .. err.message, { path = err.path, errno = err.errno })
    end
    book.lock = lock
  end
  local function fail(message) -- the journal cannot be read or written, or is damaged: kind "io"
    book:close()
    return nil, errors.new("io", nil, "justclick.import: " .. message, { path = path })
  end
  local f = io.open(path, "rb")
  local whole, size = 0, 0 -- bytes up to the end of the last whole line; all bytes
  local readable, read_err
  if f then readable, read_err = f:read(0) end
  if f and readable == nil and read_err then -- a directory opens, but does not read
    f:close()
    return fail(("cannot read the journal %s: %s"):format(path, read_err))
  end
  if f then
    local n = 0
    for line in f:lines("L") do
      n, size = n + 1, size + #line
      if line:sub(-1) == "\n" then
        local ok, record = pcall(cjson.decode, line)
        if not ok or type(record) ~= "table" or type(record.row) ~= "string" then
          f:close()
          return fail(("%s: line %d is not a journal record; an edit or a damaged disk changed it: "
            .. "mend or delete that line by hand, then run again"):format(path, n))
        end
        fold(book.states, book.owned, record)
        whole = size
      end
    end
    f:close()
  end
  book.torn = size > whole
  if book.write then
    -- Cuts a torn record, and proves the journal writable before anything is sent.
    local ok, err
    if book.torn then ok, err = core.truncate_durably(path, whole) else ok, err = core.append_durably(path, "") end
    if not ok then return fail("cannot write the journal: " .. err.message) end
  end
  return book
end

--- book:record(record): appends it, fsynced, and folds it into the states; raises an "io" error
-- "justclick.import: cannot write the journal: ..." when it cannot (a full disk). Without
-- write (a dry run) nothing is written and nothing is folded.
function Book:record(record)
  if not self.write then return end
  local ok, err = core.append_durably(self.path, cjson.encode(record) .. "\n")
  if not ok then
    error(errors.new("io", nil, "justclick.import: cannot write the journal: " .. err.message,
      { path = self.path, errno = err.errno }), 0)
  end
  fold(self.states, self.owned, record)
end

function Book:close()
  if self.lock then self.lock:release() end
end
Book.__close = Book.close -- import.run holds the book in a <close> variable

return journal
