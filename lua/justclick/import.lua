--- justclick.import: a file of orders (CSV, or JSON Lines), each created exactly once.
--
--   local import = require "justclick.import"
--   local summary, err = import.run("sales.csv", {client = client, progress = true})
--
-- The file is read twice, a row at a time (rows.lua): first to check every row, then to send.
-- A journal beside the input (journal.lua) records each row's identity before its request goes
-- out, and its outcome after; each record is fsynced before the next request goes out, so a run
-- killed at any point and run again skips the rows that are done. A row whose request may have
-- reached the server with no answer is never sent again blindly: it is settled at the end of the
-- run, once nothing else is in flight, on evidence or by a person (reconcile.lua).
local justclick = require "justclick"
local core = require "justclick.core"
local engine = require "justclick.engine"
local errors = require "justclick.errors"
local rows = require "justclick.import.rows"
local journal = require "justclick.import.journal"
local reconcile = require "justclick.import.reconcile"
local pace = require "justclick.import.pace"

local import = {}
local MAX_JOBS = core.limits.jobs

-- The run under way (its counts and its progress), for import.interrupted.
local running

-- API codes that no row can get past: the account or the signature is wrong.
local FATAL = { [1] = true, [4] = true, [5] = true, [6] = true, [7] = true }

-- On a terminal, one live line (done/total, rate, failures, ETA) redrawn a few times a second;
-- elsewhere, a plain line every few seconds, as a log wants. The final call ends the line and
-- repeats nothing already shown.
local function default_progress(out)
  local live = core.isatty(out)
  local started, last, shown = core.now(), 0, nil
  return function(s, final)
    local now = core.now()
    if not final and now - last < (live and 0.1 or 5) then return end
    last = now
    local rate = s.done / math.max(now - started, 1e-3)
    local eta = rate > 0 and (s.total - s.done) / rate or 0
    local line = ("justclick import: %d/%d rows, %d created, %d existing, %d skipped, %d rejected, "
      .. "%d failed, %d unknown"):format(s.done, s.total, s.created, s.existing, s.skipped, s.rejected,
      s.failed, s.unknown)
    if s.rate_limited > 0 then line = line .. (", %d rate limited"):format(s.rate_limited) end
    if not final then line = line .. (", %.1f rows/s, ETA %ds"):format(rate, math.ceil(eta)) end
    if live then
      out:write("\r", line, "\27[K", final and "\n" or "")
    elseif line ~= shown then
      out:write(line, "\n")
    end
    shown = line
    out:flush()
  end
end

-- The options of run(): another raises, naming it.
local OPTIONS = { client = true, jobs = true, progress = true, grace = true, settle = true, resend = true,
  limit_wait = true }

-- The options of run(), checked: a wrong one is a programming error and raises.
local function check_options(opts)
  local jobs = opts.jobs or 4
  if math.type(jobs) ~= "integer" or jobs < 1 or jobs > MAX_JOBS then
    error(("justclick.import: jobs must be an integer from 1 to %d"):format(MAX_JOBS), 3)
  end
  local seconds = {}
  for name, default in pairs({ grace = 60, limit_wait = 300 }) do
    local v = opts[name] or default
    if type(v) ~= "number" or not (v >= 0 and v <= 86400) then
      error(("justclick.import: %s must be a number of seconds from 0 to 86400"):format(name), 3)
    end
    seconds[name] = v
  end
  local grace, limit_wait = seconds.grace, seconds.limit_wait
  for _, k in ipairs({ "settle", "resend" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "table" then error("justclick.import: " .. k .. " must be a table", 3) end
  end
  return jobs, grace, limit_wait
end

-- Sends rows through `multi` (core's multi interface), as many at once and as fast as `pace`
-- allows (up to `jobs`; the first goes alone, so that a wrong secret stops the import after one
-- request). A row refused with a verified code 8 was not processed: it is journaled as refused
-- (state error: the server made nothing), waits, and goes again before any new row. `on.outcome
-- (row, result, err, job)` is called as each other request finishes; it returns a message when no
-- row can get past it (then nothing more starts). `on.refused()` counts each refusal. The caller
-- owns `multi` (a <close> variable of run).
local function new_sender(client, multi, jobs, book, on, limit_wait)
  local inflight, keys, again = {}, 0, {} -- again: refused jobs, to send first
  local proven = false -- a reply has verified: the secret works
  local flow = pace.new(jobs, { backoff = client.backoff, limit_wait = limit_wait })
  local sender = {}

  local function start(job)
    job.started, job.at, job.up, job.boot = core.now(), core.time(), core.boottime()
    flow:started(job.started)
    engine.start(multi, job.key, job.url, job.body, false, job.deadline - job.started)
  end

  -- Journals the row as sent, then sends it. Its first send starts anew when it has had no order
  -- since: a person said so (`fresh`), or the server refused its last request (state error).
  local function launch(job)
    local row, st = job.row, book.states[job.row.id]
    local at, up, boot = core.time(), core.boottime()
    local first = { first_at = at, first_up = up, first_boot = boot }
    if not job.fresh and st and st.state ~= "error" and st.first_at then first = st end
    book:record({ row = row.id, line = row.line, state = "sending", at = at, up = up, boot = boot,
      first_at = first.first_at, first_up = first.first_up, first_boot = first.first_boot })
    job.attempts, job.deadline = 1, core.now() + client.timeout -- a call's deadline, as the client's
    inflight[job.key] = job
    start(job)
  end

  -- A verified code 8: the server did nothing. The row goes again after the pace's back-off,
  -- unless the limit has let nothing through for limit_wait seconds.
  local function refused(job, err)
    on.refused()
    book:record({ row = job.row.id, line = job.row.line, state = "error", code = 8, message = err.message })
    if flow:refused(job.started, core.now()) then
      sender.fatal = sender.fatal or ("stopped at line %d: for %d s the API has refused every request with code 8, "
        .. "its request limit for this address (\"%s\"), and done nothing: run again later, and the rows not done "
        .. "go then"):format(job.row.line, math.ceil(limit_wait), err.message)
    else
      again[#again + 1] = job
    end
  end

  -- Handles the requests that finished; waits for at least one, or `seconds` at most.
  local function collect(seconds)
    if seconds and multi:running() == 0 then return core.sleep(seconds) end
    for _, done in ipairs(multi:wait(seconds)) do
      local job = inflight[done.key]
      local result, err, retry = engine.settle(client, "CreateOrder", done.status, done.body or done.failure, false)
      engine.log(client, "CreateOrder", done.status, result, err, job.started, job.attempts - 1)
      inflight[done.key] = nil
      -- a refusal (unprocessed) goes again when the pace says, which knows the other rows' refusals
      local refusal = engine.limited(err)
      local wait = not refusal and not sender.fatal
        and engine.retry_wait(client, job.attempts - 1, err, retry, core.now() - job.started, job.deadline)
      if refusal then
        refused(job, err)
      elseif wait then
        job.attempts = job.attempts + 1 -- the connection never opened: the server has nothing
        inflight[done.key] = job
        core.sleep(wait)
        start(job)
      else
        local limit = err and err.kind == "api" and err.code == engine.LIMITED -- one that does not verify
        if done.status and not limit then flow:answered(core.now()) end
        sender.fatal = sender.fatal or on.outcome(job.row, result, err, job)
        -- An API error that does not verify: the row is unknown (outcome journals it so). Before
        -- any reply has verified, the secret is likely wrong (JustClick signs its code 4 with the
        -- real one), and every row would go the same way; an account-level code stops the run too.
        if not sender.fatal and err and err.kind == "api" and err.verified == false
            and (not proven or FATAL[err.code]) then
          sender.fatal = ("stopped at line %d: %s%s; line %d is journaled as unknown: the next "
            .. "run looks for its order before it sends it again"):format(job.row.line, tostring(err),
            proven and "" or "; no reply has verified yet: check the secret", job.row.line)
          sender.stopped_by = err -- the API error that ended the run
          sender.check_secret = not proven
        end
      end
      proven = proven or result ~= nil or (err and err.verified) or false
    end
  end

  -- Sends refused rows again, and waits, until a new row may start: a slot is free and the pace
  -- allows. false once the import must stop.
  local function admit()
    while not sender.fatal do
      local free, wait = multi:running() < flow:slots(), flow:next_start() - core.now()
      if free and wait <= 0 then
        if #again == 0 then return true end
        launch(table.remove(again, 1))
      else
        collect(free and wait or nil)
      end
    end
    return false
  end

  --- Sends the row (fresh: its first send starts anew).
  function sender.send(row, url, body, fresh)
    if not admit() then return end
    keys = keys + 1
    launch({ key = keys, row = row, url = url, body = body, fresh = fresh })
  end

  --- Waits for every request under way, refused rows sent again included.
  function sender.drain()
    while #again > 0 and admit() do end
    while multi:running() > 0 do
      collect()
      while #again > 0 and admit() do end
    end
  end

  return sender
end

-- ---------------------------------------------------------------------------------------------
-- The steps of import.run. `im` is one run: its options, client, file, journal, counts and the
-- rows left to settle.

-- The file's real path (its journal and lock sit beside it, and both passes read it, whatever
-- a link points to meanwhile), or nil and why it cannot be imported under this name.
local function real_path(path)
  local real, links = core.realpath(path)
  if not real then -- links: then the error, kind "io" with its path and errno
    return nil, errors.new("io", nil, "justclick.import: " .. links.message, { path = links.path, errno = links.errno })
  end
  if links > 1 then
    return nil, errors.new("input", nil, ("justclick.import: %s has %d hard links: under another name it would have"
      .. " another journal; import it from a copy, or under one name"):format(path, links))
  end
  local named = path .. ".journal"
  if named ~= real .. ".journal" and io.open(named, "rb") and core.realpath(named) ~= real .. ".journal" then
    return nil, errors.new("input", nil, ("justclick.import: %s is a journal beside a link to %s, written by an"
      .. " older version; move it to %s.journal, then run again"):format(named, real, real))
  end
  return real
end

-- The first pass: every row checked, and the lines a person settled or sent again looked up.
local function scan_rows(real, opts)
  local wanted = {}
  for line in pairs(opts.settle or {}) do wanted[line] = true end
  for line in pairs(opts.resend or {}) do wanted[line] = true end
  return rows.scan(real, wanted)
end

-- The summary's counters, and `progress` told of each change.
local function new_summary(im, progress)
  im.s = { total = im.scan.total, done = 0, created = 0, existing = 0, skipped = 0, rejected = 0, failed = 0,
    unknown = 0, would_send = 0, rate_limited = 0, dry_run = im.dry_run, rejects = {}, failures = {}, unknowns = {} }
  im.progress = progress
end

-- Counts a row under `counter`, and lists `entry` under `list`.
local function count(im, counter, list, entry)
  local s = im.s
  s[counter] = s[counter] + 1
  if list then s[list][#s[list] + 1] = entry end
  s.done = s.done + 1
  im.progress(s, false)
end

local function count_unknown(im, row, message)
  count(im, "unknown", "unknowns", { line = row.line, message = justclick.visible(message) })
end

-- What a row's request came to, in the journal and the counts; a message when the import must
-- stop (an account-level error).
local function outcome(im, row, result, failure, job)
  local book = im.book
  if result then
    local done_up = core.boottime()
    book:record({ row = row.id, line = row.line, state = "done", bill_id = result.bill_id,
      existing = result.existing or nil, at = job.at, up = job.up, boot = job.boot, done_at = core.time(),
      done_up = done_up, dated = row.order.bill_created ~= nil or nil }) -- `created` is then the row's
    count(im, result.existing and "existing" or "created")
  elseif failure.sent then -- it reached the server, and no clear answer came
    book:record({ row = row.id, line = row.line, state = "unknown", message = failure.message })
    im.pending[#im.pending + 1] = row
  else
    book:record({ row = row.id, line = row.line, state = "error", message = failure.message })
    count(im, "failed", "failures", { line = row.line, message = tostring(failure) })
    if failure.kind == "api" and FATAL[failure.code] then
      return ("stopped at line %d: %s"):format(row.line, tostring(failure))
    end
  end
end

-- Sends a row (on a dry run, shows it).
local function send_row(im, row, fresh)
  local url, body = engine.prepare(im.client, "CreateOrder", row.order)
  if not url then -- the scan accepted this row; only a changed client could refuse it now
    return count(im, "failed", "failures", { line = row.line, message = tostring(body) })
  end
  if im.dry_run then
    engine.show(url, body)
    return count(im, "would_send")
  end
  im.sender.send(row, url, body, fresh)
end

-- The second pass, a row at a time: skipped, deferred or sent.
local function take(im, row)
  if row.reject then return count(im, "rejected", "rejects", { line = row.line, reason = row.reject }) end
  if im.scan.lines[row.id] ~= row.line then -- what the first pass checked is not what is read now
    error(errors.new("input", nil, ("justclick.import: %s changed while it was imported (line %d); run again")
      :format(im.path, row.line)), 0)
  end
  local st, decision = im.book.states[row.id], im.manual[row.id] or {}
  if decision.settle then
    im.book:record({ row = row.id, line = row.line, state = "done", bill_id = decision.settle, settled = true })
    count(im, "existing")
  elseif st and st.state == "done" then
    count(im, "skipped")
  elseif st and (st.state == "sending" or st.state == "unknown") and not decision.resend then
    im.pending[#im.pending + 1] = row
  else
    send_row(im, row, decision.resend)
  end
end

-- The rows whose outcome is unknown, once nothing else is in flight: settled on evidence, sent
-- again when the server has no order of theirs, or left to a person.
local function settle_pending(im)
  if im.dry_run then
    for _, row in ipairs(im.pending) do
      count_unknown(im, row, "its outcome is unknown, and a dry run settles nothing")
    end
    return
  end
  local again = reconcile.settle(im.client, im.book, im.pending, {
    grace = im.grace,
    on_claim = function() count(im, "existing") end,
    on_unknown = function(row, message) count_unknown(im, row, message) end,
    on_wait = function(seconds)
      if im.opts.progress then
        io.stderr:write(("justclick import: waiting %.0f s for the server to finish requests that got no answer\n")
          :format(seconds))
      end
    end,
  })
  im.pending = {}
  for _, row in ipairs(again) do send_row(im, row, false) end
  im.sender.drain()
  for _, row in ipairs(im.pending) do
    count_unknown(im, row, "sent again after no bill of its was found, and again no answer came")
  end
end

-- The second pass over the file, then the unknown rows; stops early at an account-level error.
local function send_all(im, real)
  local sender = im.sender
  for row in rows.each(real) do
    take(im, row)
    if sender and sender.fatal then break end
  end
  if sender then sender.drain() end
  if sender and sender.fatal then
    -- A stopped run looks nothing up: its unknown rows are counted as such, for the next run.
    for _, row in ipairs(im.pending) do
      count_unknown(im, row, "the run stopped before it looked for this row's order; the next run looks first")
    end
    im.pending = {}
  elseif #im.pending > 0 then
    settle_pending(im)
  end
end

--- import.run(path [, options]) -> summary | nil, err
-- err is an error table: kind "input" (nothing configured, a file or a --settle/--resend that
-- cannot be taken), "io" (the file or its journal cannot be read or written), or that of the API
-- error that stopped the run ("api", with its code). Its message is the line `justclick import`
-- prints. An unknown option, or a wrong one, raises.
-- options:
--   client    the client (default: the module-level one); its dry_run sends nothing and writes
--             no journal
--   jobs      orders under way at once, 1 to core.limits.jobs (default 4)
--   progress  true for the default line on stderr, or function(summary, final)
--   grace     seconds the server may still be working on a request that got no answer, before
--             GetBills is trusted to say it has no order (default 60)
--   settle    {[line] = bill_id}: unknown rows a person settled: this bill is the row's order
--   resend    {[line] = true}: unknown rows a person says have no order: send them
--   limit_wait  seconds to wait out the API's request limit (code 8) while it lets no request
--             through, before the import stops (default 300)
-- The summary counts rows: total, created, existing (already there: a 601 answer, a bill found by
-- reconciling, or settled by hand), skipped (done in an earlier run), rejected, failed, unknown,
-- and would_send on a dry run. `rejects`, `failures` and `unknowns` list them by line.
-- rate_limited counts requests: the CreateOrder requests refused with code 8, each sent again.
-- A wrong secret or another account-level error, or a request limit that does not lift, ends it
-- with nil and the error.
function import.run(path, opts)
  opts = errors.check_options("justclick.import", opts, OPTIONS)
  local jobs, grace, limit_wait = check_options(opts)
  local client = opts.client
  if not client then
    local unconfigured
    client, unconfigured = justclick._configured_client()
    if not client then
      return nil, errors.new(unconfigured.kind, nil, "justclick.import: " .. unconfigured.message,
        { missing = unconfigured.missing })
    end
  end
  local im = { path = path, opts = opts, grace = grace, client = client, pending = {},
    dry_run = engine.dry_run(client) }

  local real, err = real_path(path)
  if not real then return nil, err end
  im.scan, err = scan_rows(real, opts)
  if not im.scan then return nil, err end
  local book <close>, failed = journal.open(real .. ".journal", { write = not im.dry_run })
  if not book then return nil, failed end
  im.book = book
  im.manual, err = reconcile.manual(client, im.scan, book, opts.settle or {}, opts.resend or {})
  if not im.manual then return nil, err end

  new_summary(im, opts.progress == true and default_progress(io.stderr) or opts.progress or function() end)
  running = im -- what import.interrupted reports, should Ctrl-C end the run
  -- released on every way out of run, an error included: its connections and their buffers
  local multi <close> = not im.dry_run and core.multi(client.http, jobs) or nil
  if multi then
    im.sender = new_sender(client, multi, jobs, book, {
      outcome = function(row, result, failure, job)
        local stop = outcome(im, row, result, failure, job)
        if stop then im.stopped_by = failure end -- the API error that ended the run
        return stop
      end,
      refused = function()
        im.s.rate_limited = im.s.rate_limited + 1
        im.progress(im.s, false)
      end,
    }, limit_wait)
  end
  local ok, failure = pcall(send_all, im, real)
  if ok or errors.is_error(failure) then running = nil end
  if not ok then
    -- A journal that cannot be written ends the run with an error; anything else (an interrupt)
    -- goes on up.
    if errors.is_error(failure) then return nil, failure end
    error(failure, 0)
  end
  im.progress(im.s, true)
  if im.sender and im.sender.fatal then
    -- an account-level error of a row's, or else the request limit (code 8) that did not lift
    local stopped_by = im.stopped_by or im.sender.stopped_by
    local code = stopped_by and stopped_by.code or engine.LIMITED
    return nil, errors.new("api", code, "justclick import: " .. im.sender.fatal, { retryable = code == engine.LIMITED,
      check_secret = im.sender.check_secret or nil })
  end
  if not im.dry_run then rows.write_rejects(path, im.scan.rejects) end
  return im.s
end

-- The arguments of `justclick import`: options, FILE; nil and a message for a usage error.
local function parse_args(args)
  local o = { jobs = 4, settle = {}, resend = {} }
  local i = 1
  local function value(name)
    i = i + 1
    if args[i] == nil then return nil, name .. " needs a value" end
    return args[i]
  end
  while args[i] do
    local a, v, err = args[i], nil, nil
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    if name then a, v = name, inline end
    if a == "--help" or a == "-h" then
      return { help = true }
    elseif a == "--jobs" or a == "-j" then
      if not v then v, err = value(a) end
      o.jobs = math.tointeger(tonumber(v or ""))
      if not o.jobs or o.jobs < 1 or o.jobs > MAX_JOBS then
        return nil, err or ("--jobs takes 1 to %d"):format(MAX_JOBS)
      end
    elseif a == "--grace" or a == "--limit-wait" then
      if not v then v, err = value(a) end
      local seconds = tonumber(v or "")
      if not seconds or not (seconds >= 0 and seconds <= 86400) then
        return nil, err or (a .. " takes 0 to 86400 seconds")
      end
      o[a == "--grace" and "grace" or "limit_wait"] = seconds
    elseif a == "--settle" then
      if not v then v, err = value(a) end
      local line, bill = (v or ""):match("^(%d+)=(%d+)$")
      line, bill = math.tointeger(tonumber(line or "")), math.tointeger(tonumber(bill or ""))
      if not line or not bill then return nil, err or "--settle takes LINE=BILL_ID, two whole numbers" end
      o.settle[line] = bill
    elseif a == "--resend" then
      if not v then v, err = value(a) end
      local line = math.tointeger(tonumber(v or ""))
      if not line then return nil, err or "--resend takes a LINE number" end
      o.resend[line] = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, "unknown option " .. a
    elseif o.path then
      return nil, "one FILE at a time"
    else
      o.path = a
    end
    i = i + 1
  end
  if not o.path then return nil, "no FILE to import" end
  return o
end

-- The exit statuses of `justclick import` (docs/importer.md, docs/host.md): when a run has
-- several, the first of unknown, failed, rejected wins (a person must act on an unknown row
-- before a rerun can settle it; a failed row goes again on the next run; a rejected row waits
-- for its line to be mended in FILE, and is listed in FILE.rejects meanwhile).
local EXIT = { ok = 0, failed = 1, usage = 2, rejected = 3, unknown = 4 }

local USAGE = ([[
usage: justclick import [--jobs N] [--grace S] [--limit-wait S] [--settle LINE=BILL_ID] [--resend LINE]
                        FILE
       justclick import --help
  FILE                   CSV with a header row, or .jsonl: each order created exactly once
  --jobs N               orders under way at once, 1 to %d (default 4)
  --grace S              seconds to let the server finish a request that got no answer,
                         before GetBills is trusted to say it has no order (default 60)
  --limit-wait S         seconds to wait out the API's request limit (code 8) while it lets
                         no request through, before the import stops (default 300)
  --settle LINE=BILL_ID  settle a row whose outcome is unknown: its order is BILL_ID
  --resend LINE          settle a row whose outcome is unknown: it has no order; send it
  -h, --help             print this help
Progress goes to stderr, the summary to stdout. Exit status: 0 every row done; 4 a row's
outcome is unknown (settle it with --settle or --resend); 1 a row failed (the next run sends
it again), or the import stopped; 3 a row was rejected (mend its line: FILE.rejects lists
them); the first of 4, 1, 3 wins; 2 a usage error; 130 Ctrl-C (the summary so far is printed).
]]):format(MAX_JOBS)

-- The rows a run could not do, on stderr, then its summary on stdout.
local function report(s, path)
  for _, r in ipairs(s.rejects) do
    io.stderr:write(("line %d: rejected: %s\n"):format(r.line, justclick.visible(r.reason)))
  end
  for _, f in ipairs(s.failures) do io.stderr:write(("line %d: %s\n"):format(f.line, f.message)) end
  for _, u in ipairs(s.unknowns) do io.stderr:write(("line %d: outcome unknown: %s\n"):format(u.line, u.message)) end
  if s.unknown > 0 then
    local file = justclick._shell_quote(path)
    io.stderr:write(("justclick import: %d row(s) need a person: look the order up in JustClick, then run\n"
      .. "  justclick import --settle LINE=BILL_ID %s   (that bill is the row's order), or\n"
      .. "  justclick import --resend LINE %s           (the row has no order: send it)\n")
      :format(s.unknown, file, file))
  end
  if s.dry_run then
    print(("dry run: would send %d, skipped %d, rejected %d, unknown %d")
      :format(s.would_send, s.skipped, s.rejected, s.unknown))
  else
    print(("created %d, existing %d, skipped %d, rejected %d, failed %d, unknown %d, rate limited %d"):format(
      s.created, s.existing, s.skipped, s.rejected, s.failed, s.unknown, s.rate_limited))
  end
  io.stdout:flush()
end

-- The line `justclick import` prints for a run that ended with err: for a shell user, who sets
-- flags and variables, not justclick.configure.
local function failure_line(err)
  if err.missing then return "justclick import: " .. justclick._shell_unconfigured(err.missing) end
  if err.check_secret then -- where the line blames the secret, it says where the secret comes from
    local line, n = err.message:gsub("check the secret",
      "check the secret (--secret-file PATH, or JUSTCLICK_SECRET)", 1)
    return n == 1 and line or err.message .. " (the secret: --secret-file PATH, or JUSTCLICK_SECRET)"
  end
  return err.message
end

--- import.interrupted(): what `justclick import` says when Ctrl-C ended it: the live progress
-- line ended (or, on a pipe, a current one), and the summary of what was done so far. The host
-- calls it after the interrupt has unwound the run, with the interrupt's hook removed.
function import.interrupted()
  local im = running
  if not im then return end
  running = nil
  pcall(im.progress, im.s, true)
  report(im.s, im.path)
end

--- import.main(...): `justclick import [options] FILE`. Prints the progress and the summary;
-- returns the exit status (EXIT above): 0; 4 when a row's outcome is unknown; 1 when a row
-- failed, or the import stopped; 3 when a row was rejected; 2 for a usage error.
function import.main(...)
  local o, usage = parse_args({ ... })
  if not o then
    io.stderr:write("justclick import: ", usage, "\n", USAGE)
    return EXIT.usage
  end
  if o.help then
    io.stdout:write(USAGE)
    return EXIT.ok
  end
  local s, err = justclick.import(o.path, { progress = true, jobs = o.jobs, grace = o.grace, settle = o.settle,
    resend = o.resend, limit_wait = o.limit_wait })
  if not s then -- one line, naming what to mend
    io.stderr:write(justclick.visible(failure_line(err)), "\n")
    if justclick._verbose() then
      io.stderr:write(debug.traceback("justclick import: --verbose: " .. justclick._error_fields(err), 1), "\n")
    end
    return EXIT.failed
  end
  report(s, o.path)
  if s.unknown > 0 then return EXIT.unknown end
  if s.failed > 0 then return EXIT.failed end
  if s.rejected > 0 then return EXIT.rejected end
  return EXIT.ok
end

return import
