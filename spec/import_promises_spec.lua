-- The importer's promises against the inputs, journals and races that broke them: each row is
-- created exactly once, reconciliation claims only a bill it can prove is the row's, and every
-- bad input is a clear error before anything is sent.
local core = require "justclick.core"
local cjson = require "cjson"
local sandbox = require "support.sandbox"
local importing = require "support.importing"
local files = require "support.files"
local read, write = files.read, files.write

local sb, dir

local function host_import(path, options, host_options)
  return importing.host_import(sb, path, false, options, host_options)
end

-- Journal records for rows whose request went out `ago` seconds ago and got no answer.
local function sent_records(ago, ...)
  local lines = {}
  for _, r in ipairs({ ... }) do
    lines[#lines + 1] = cjson.encode({ row = r[1], line = r[2], state = "sending", at = core.time() - ago })
  end
  return table.concat(lines, "\n") .. "\n"
end

describe("import promises #lua54", function()
  -- justclick.import is the host's, and Lua 5.4's only (#lua54)
  local import = require "justclick.import"

  importing.sandbox(lazy_setup, lazy_teardown, function(s, d) sb, dir = s, d end)
  before_each(function() sb:reset() end)

  describe("rows that share an identity", function()
    it("are an error that names both lines, before anything is sent", function()
      local path = dir .. "/dup_ids.csv"
      write(path, "id,bill_email,goods\n7,a@example.com,sales\n8,b@example.com,sales\n7,c@example.com,invoice\n")
      local summary, err = import.run(path, { client = sb:client() })
      assert.is_nil(summary)
      assert.are.equal("input", err.kind)
      assert.is_truthy(err.message:find('line 4: the same id as line 2 ("7")', 1, true), err.message)
      assert.are.equal(0, sb:stats().requests)
      assert.is_nil(read(path .. ".journal"))
    end)

    it("are an error when two rows without an id are the same order", function()
      local path = dir .. "/dup_rows.csv"
      write(path, "bill_email,goods\na@example.com,sales\nb@example.com,sales\na@example.com,sales\n")
      local summary, err = import.run(path, { client = sb:client() })
      assert.is_nil(summary)
      assert.are.equal("input", err.kind)
      assert.is_truthy(err.message:find("line 4: the same order as line 2", 1, true), err.message)
      assert.are.equal(0, sb:stats().requests)
    end)
  end)

  describe("the journal", function()
    it("cuts a torn last record, so that the next record is whole and nothing is sent twice", function()
      local path = dir .. "/torn.csv"
      write(path, importing.csv(3))
      assert(import.run(path, { client = sb:client() }))
      -- A crash while writing the journal's last record: row3's "done" record is torn, as if the
      -- disk had filled. Row 3 is then "sending" again: its order exists, and must be found.
      local kept, cut = {}, nil
      for line in read(path .. ".journal"):gmatch("[^\n]+") do
        local r = cjson.decode(line)
        if r.row == "row3" and r.state == "done" then cut = line else kept[#kept + 1] = line .. "\n" end
      end
      write(path .. ".journal", table.concat(kept) .. cut:sub(1, 20))
      write(path, importing.csv(4))
      local summary = assert(import.run(path, { client = sb:client(), grace = 0 }))
      assert.are.equal(2, summary.skipped)
      assert.are.equal(1, summary.existing) -- row 3, found
      assert.are.equal(1, summary.created)  -- row 4
      assert.are.equal(0, sb:stats().duplicates)
      assert.are.equal(4, sb:stats().orders)
      -- Every line of the journal is a whole record, and a further run skips every row.
      local all = importing.journal(path)
      assert.is_true(#all > 0)
      local again = assert(import.run(path, { client = sb:client() }))
      assert.are.equal(4, again.skipped)
    end)

    it("refuses to run on a damaged record that is not the last, naming its line", function()
      local path = dir .. "/damaged.csv"
      write(path, importing.csv(2))
      assert(import.run(path, { client = sb:client() }))
      local records = read(path .. ".journal")
      write(path .. ".journal", "{not a record}\n" .. records)
      local requests = sb:stats().requests
      local summary, err = import.run(path, { client = sb:client() })
      assert.is_nil(summary)
      assert.are.equal("io", err.kind)
      assert.is_truthy(err.message:find("line 1 is not a journal record", 1, true), err.message)
      assert.are.equal(requests, sb:stats().requests)
    end)

    it("must be writable: an error, not a traceback, and nothing sent", function()
      local path = dir .. "/unwritable.csv"
      write(path, importing.csv(2))
      assert(os.execute("mkdir -p " .. path .. ".journal")) -- what a file cannot be written to
      local summary, err = import.run(path, { client = sb:client() })
      assert.is_nil(summary)
      assert.are.equal("io", err.kind)
      assert.is_truthy(err.message:find("journal", 1, true) and err.message:find("Is a directory", 1, true), err.message)
      assert.are.equal(0, sb:stats().requests)
    end)

    it("admits one import of a file at a time", function()
      local path = dir .. "/locked.csv"
      write(path, importing.csv(2))
      local lock = assert(core.lock(path .. ".journal"))
      local summary, err = import.run(path, { client = sb:client() })
      lock:release()
      assert.is_nil(summary)
      assert.are.equal("io", err.kind)
      assert.is_truthy(err.message:find("another import of this file is running", 1, true), err.message)
      assert.are.equal(0, sb:stats().requests)
    end)
  end)

  describe("input", function()
    it("keeps JSON integers of 15 digits and more as integers, as PHP's json_decode does", function()
      local path = dir .. "/big.jsonl"
      write(path, '{"id": 1, "bill_email": "big@example.com", "bill_phone": 791612345678901, '
        .. '"bill_timer_kill": 1795000000000, "goods": [{"good_name": "sales", "good_sum": 1.0}]}\n')
      local summary = assert(import.run(path, { client = sb:client() }))
      assert.are.equal(1, summary.created)
      local data = sb:orders()[1].data
      assert.are.equal("791612345678901", data.bill_phone)
      assert.are.equal("1795000000000", data.bill_timer_kill)
      assert.are.equal("1", data.goods[1].good_sum) -- 1.0 is PHP's float 1, written "1"
      assert.are.equal("1", importing.journal(path)[1].row)
    end)

    it("reads a CSV that starts with a UTF-8 byte-order mark", function()
      local path = dir .. "/bom.csv"
      write(path, "\239\187\191id,bill_email,goods\nx1,bom@example.com,sales\n")
      local summary = assert(import.run(path, { client = sb:client() }))
      assert.are.equal(1, summary.created)
      assert.are.equal("x1", importing.journal(path)[1].row)
    end)

    it("takes sums as decimal numbers only", function()
      local path = dir .. "/sums.csv"
      write(path, "bill_email,goods\na@example.com,invoice:0x10\nb@example.com,invoice:1e3\n"
        .. "c@example.com,invoice:inf\nd@example.com,invoice:990.50;sales:.5\n")
      local summary = assert(import.run(path, { client = sb:client() }))
      assert.are.equal(3, summary.rejected)
      assert.are.equal(1, summary.created)
      assert.is_truthy(summary.rejects[1].reason:find('bad number "0x10"', 1, true), summary.rejects[1].reason)
    end)

    it("streams the file: memory does not grow with the rows' size, only with their identities", function()
      -- Peak memory of a dry run over 10,000 and over 50,000 rows (about 3 and 16 MB of CSV), in
      -- the plain build even under make asan, whose allocator keeps freed memory on purpose.
      local host = os.getenv("PWD") .. "/build/bin/justclick"
      local function peak_kib(n)
        local path = ("%s/stream%d.csv"):format(dir, n)
        write(path, importing.csv(n))
        local p = assert(io.popen(("JUSTCLICK_USER=u JUSTCLICK_SECRET=s %s --dry-run -e "
          .. "'assert(require(\"justclick.import\").run(%q)) "
          .. "io.stderr:write(io.open(\"/proc/self/status\"):read(\"a\"):match(\"VmHWM:%%s*(%%d+)\"))' "
          .. "2>&1 > /dev/null"):format(host, path)))
        local out = p:read("*a")
        p:close()
        return assert(tonumber(out), out)
      end
      local small, large = peak_kib(10000), peak_kib(50000)
      -- Holding the rows cost about 2.8 KB each; an identity costs about 150 bytes.
      assert.is_true(large - small < 40000 * 0.5, ("%d KiB for 10,000 rows, %d KiB for 50,000"):format(small, large))
    end)

    it("stops when the file changes between its two readings, before sending a row it did not check", function()
      local path = dir .. "/changing.csv"
      write(path, importing.csv(300)) -- larger than what the reader buffers
      local changed = false
      local summary, err = import.run(path, { client = sb:client(), jobs = 1, progress = function()
        if not changed then -- after the first row: two rows near the end trade places
          changed = true
          local lines = {}
          for line in read(path):gmatch("[^\n]+") do lines[#lines + 1] = line end
          lines[290], lines[291] = lines[291], lines[290]
          write(path, table.concat(lines, "\n") .. "\n")
        end
      end })
      assert.is_nil(summary)
      assert.are.equal("input", err.kind)
      assert.is_truthy(err.message:find("changed while it was imported", 1, true), err.message)
      assert.is_true(sb:stats().orders < 290)
    end)

    it("refuses a directory with a clear error", function()
      local summary, err = import.run(dir, { client = sb:client() })
      assert.is_nil(summary)
      assert.are.equal("io", err.kind)
      assert.is_truthy(err.message:find("Is a directory", 1, true), err.message)
    end)
  end)

  describe("a signed success without a bill_id", function()
    it("leaves the row unknown, then finds its order: no crash, no duplicate", function()
      local path = dir .. "/noresult.csv"
      write(path, importing.csv(3))
      sb:fault("noresult", "missing", 1)
      local summary = assert(import.run(path, { client = sb:client(), jobs = 1, grace = 0 }))
      assert.are.equal(1, summary.existing)
      assert.are.equal(2, summary.created)
      assert.are.equal(3, sb:stats().orders)
      assert.are.equal(0, sb:stats().duplicates)
    end)
  end)

  describe("reconciliation", function()
    it("never claims an order the customer had before the row was sent", function()
      local client = sb:client()
      local old = assert(client:create_order({ bill_email = "repeat@example.com", bill_tag = "last year",
        goods = { { good_name = "course", good_sum = 5000 } } })).bill_id
      core.sleep(2.5) -- `created` counts whole seconds: a bill two seconds older could be either
      local path = dir .. "/repeat.csv"
      write(path, "id,bill_email,goods,bill_tag\nfirst,other@example.com,sales,x\n"
        .. "again,repeat@example.com,course:5000,this year\n")
      -- Row "again" went out a moment ago and died on the way: the server has no order of it.
      write(path .. ".journal", sent_records(0, { "again", 3 }))
      local summary = assert(import.run(path, { client = client, grace = 0 }))
      assert.are.same({}, summary.unknowns)
      assert.are.equal(2, summary.created, cjson.encode(summary))
      assert.are.equal(0, summary.existing)
      local bills = importing.journal_bills(path)
      assert.are_not.equal(old, bills.again)
      assert.are.equal(3, sb:stats().orders)
    end)

    it("never claims the bill of a row that is in flight: unknown rows wait for the end of the run", function()
      -- Row a went out in an earlier run and died on the way. Row b, the same order for the same
      -- customer, is in flight (its reply stalled; row c's too, which goes first and alone) when
      -- row d's reply comes and row a is read.
      local path = dir .. "/inflight.csv"
      write(path, "id,bill_email,goods,bill_tag\nc,c@example.com,sales,c\nb,same@example.com,sales,b\n"
        .. "d,d@example.com,sales,d\na,same@example.com,sales,a\n")
      write(path .. ".journal", sent_records(30, { "a", 5 }))
      sb:fault("slow", "1000", 2)
      local summary = assert(import.run(path, { client = sb:client(), jobs = 2, grace = 0 }))
      assert.are.equal(4, summary.created)
      local bills = importing.journal_bills(path)
      assert.is_number(bills.a)
      assert.are_not.equal(bills.a, bills.b)
      assert.are.equal(4, sb:stats().orders)
    end)

    it("leaves rows it cannot tell apart to a person, who settles them with --settle and --resend", function()
      local path = dir .. "/twins.csv"
      write(path, "id,bill_email,goods\nsolo,solo@example.com,sales\n"
        .. "t1,twin@example.com,invoice\nt2,twin@example.com,invoice\nt3,twin@example.com,invoice\n")
      -- Three rows of one customer and one product went out and died; the server made two orders.
      write(path .. ".journal", sent_records(5, { "t1", 3 }, { "t2", 4 }, { "t3", 5 }))
      local client = sb:client()
      local x = assert(client:create_order({ bill_email = "twin@example.com", bill_tag = "x", goods = { { good_name = "invoice" } } }))
      local y = assert(client:create_order({ bill_email = "twin@example.com", bill_tag = "y", goods = { { good_name = "invoice" } } }))
      local status, out = host_import(path, "--grace 0")
      assert.are.equal(4, status, out) -- unknown rows: their own status (host.md)
      assert.is_truthy(out:find("unknown 3", 1, true), out)
      assert.is_truthy(out:find(("line 3: outcome unknown: bills %d, %d each hold its goods"):format(x.bill_id, y.bill_id), 1, true), out)
      assert.is_truthy(out:find("justclick import --settle LINE=BILL_ID", 1, true), out)
      assert.are.equal(3, sb:stats().orders) -- nothing guessed, nothing sent again
      status, out = host_import(path, ("--settle 3=%d --settle=4=%d --resend 5"):format(x.bill_id, y.bill_id))
      assert.are.equal(0, status, out)
      assert.is_truthy(out:find("created 1, existing 2, skipped 1", 1, true), out)
      local bills = importing.journal_bills(path)
      assert.are.same({ x.bill_id, y.bill_id }, { bills.t1, bills.t2 })
      assert.are.equal(4, sb:stats().orders)
      -- A bill cannot be given to a second row, nor a done row settled again.
      status, out = host_import(path, ("--settle 5=%d"):format(x.bill_id))
      assert.are.equal(1, status, out)
      assert.is_truthy(out:find("its outcome is not unknown", 1, true), out)
    end)
  end)

  describe("reconciliation, where it was broken before", function()
    -- The import's own bill, made in an earlier run: what reconciliation reads the server's clock off.
    local function with_first_row(path, rest)
      write(path, "id,bill_email,goods,bill_tag\nfirst,first@example.com,sales,c\n")
      assert(import.run(path, { client = sb:client() }))
      write(path, "id,bill_email,goods,bill_tag\nfirst,first@example.com,sales,c\n" .. rest)
    end

    -- The client, with each bill its GetBills reads changed by edit(bill) before the import sees it.
    local function with_bills_read(client, edit)
      local bills_of = client.bills
      function client.bills(self, email)
        local bills, err = bills_of(self, email)
        for _, b in ipairs(bills or {}) do edit(b) end
        return bills, err
      end
      return client
    end

    it("finds a row's order when its sums were null or floats that PHP writes shorter", function()
      local path = dir .. "/sums.jsonl"
      write(path, '{"id":"first","bill_email":"first@example.com","goods":[{"good_name":"sales"}]}\n')
      assert(import.run(path, { client = sb:client() }))
      write(path, read(path) .. '{"id":"n","bill_email":"n@example.com","goods":[{"good_name":"invoice","good_sum":null}]}\n'
        .. '{"id":"f","bill_email":"f@example.com","goods":[{"good_name":"sales","good_sum":1089.0000000000002}]}\n')
      sb:fault("drop", "", 2) -- both orders are made, both answers cut off
      local summary = assert(import.run(path, { client = sb:client(), jobs = 1, grace = 0 }))
      assert.are.equal(2, summary.existing, cjson.encode(summary))
      assert.are.equal(0, sb:stats().duplicates)
      assert.are.equal(3, sb:stats().orders)
    end)

    it("reads the server's clock on the boot clock, which a step of the wall clock does not move", function()
      local shim = dir .. "/clockshift.so"
      assert(os.execute(("cc -shared -fPIC -o %s spec/support/clockshift.c -ldl"):format(shim)))
      local path = dir .. "/step.csv"
      write(path, "id,bill_email,goods\nv,victim@example.com,invoice\nr2,c2@example.com,course\n"
        .. "r3,c3@example.com,course\nr4,c4@example.com,course\n")
      write(dir .. "/shift", "0")
      sb:control("latency", { ms = 600 })
      sb:fault("drop", "", 1) -- v's order is made, its answer cut off
      local cmd = ("CLOCKSHIFT_FILE=%s/shift LD_PRELOAD=%s JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s "
        .. "%s/build/bin/justclick import --jobs 1 --grace 1 %s > %s.out 2>&1"):format(dir, shim, sandbox.user,
        sandbox.secret, sb.api_url, os.getenv("PWD"), path, path)
      local p = assert(io.popen(cmd .. " & echo $!"))
      local pid = tonumber(p:read("*l"))
      p:close()
      core.sleep(0.3)
      write(dir .. "/shift", "-120") -- an NTP step back, while v is in flight
      while sandbox.alive(pid) do core.sleep(0.05) end
      sb:control("clear")
      local out = read(path .. ".out")
      assert.is_truthy(out:find("created 3, existing 1", 1, true), out)
      assert.are.equal(0, sb:stats().duplicates)
    end)

    it("leaves to a person a bill that slow answers leave unclear, rather than claim an older one", function()
      local client = sb:client()
      local path = dir .. "/slow.csv"
      local older = assert(client:create_order({ bill_email = "slow@example.com", bill_tag = "own",
        goods = { { good_name = "invoice" } } })).bill_id
      sb:control("latency", { ms = 2000 })
      sb:fault("slow", "0", 1) -- row first passes;
      sb:fault("http500", "", 1) -- row v is refused: nothing made
      write(path, "id,bill_email,goods,bill_tag\nfirst,first@example.com,sales,c\nv,slow@example.com,invoice,v\n")
      core.sleep(1.5) -- the older order is 3.5 s older than v's send
      local summary = assert(import.run(path, { client = client, jobs = 1, grace = 0 }))
      sb:control("clear")
      assert.are_not.equal(older, importing.journal_bills(path).v, cjson.encode(summary))
    end)

    it("counts a row as first sent anew after the server refused it", function()
      local client = sb:client()
      local path = dir .. "/refused.csv"
      sb:fault("slow", "0", 1)
      sb:fault("escapes", "", 1) -- a 602: v's order is not made
      write(path, "id,bill_email,goods,bill_tag\nfirst,first@example.com,sales,c\nv,again@example.com,course,v\n")
      local first = assert(import.run(path, { client = client, jobs = 1 }))
      assert.are.equal(1, first.failed)
      -- The customer orders the same course elsewhere; later the import runs again, and v's
      -- request gets no answer that tells.
      local elsewhere = assert(client:create_order({ bill_email = "again@example.com", bill_tag = "shop",
        goods = { { good_name = "course" } } })).bill_id
      core.sleep(3.2)
      sb:fault("http500", "", 1)
      assert(import.run(path, { client = client, grace = 0 }))
      assert.are_not.equal(elsewhere, importing.journal_bills(path).v)
    end)

    it("refuses --settle that gives one bill to two rows, or a bill of another customer", function()
      local path = dir .. "/settle.csv"
      with_first_row(path, "t1,twin@example.com,invoice,1\nt2,twin@example.com,invoice,2\n")
      write(path .. ".journal", read(path .. ".journal") .. sent_records(5, { "t1", 3 }, { "t2", 4 }))
      local client = sb:client()
      local x = assert(client:create_order({ bill_email = "twin@example.com", goods = { { good_name = "invoice" } } })).bill_id
      local other = assert(client:create_order({ bill_email = "other@example.com", goods = { { good_name = "invoice" } } })).bill_id
      local orders = sb:stats().orders
      local status, out = host_import(path, ("--settle 3=%d --settle 4=%d"):format(x, x))
      assert.are.equal(1, status, out)
      assert.is_truthy(out:find("is the order of another row", 1, true), out)
      status, out = host_import(path, ("--settle 3=%d"):format(other))
      assert.are.equal(1, status, out)
      assert.is_truthy(out:find("is an order of other@example.com, not of twin@example.com", 1, true), out)
      status, out = host_import(path, "--settle 99999999999999999999=5")
      assert.are.equal(2, status, out)
      assert.are.equal(orders, sb:stats().orders)
    end)

    it("keeps one journal for one file, whatever name it is given", function()
      local path = dir .. "/real.csv"
      write(path, importing.csv(3))
      assert(os.execute(("ln -sf %s %s/link.csv"):format(path, dir)))
      assert(import.run(dir .. "/link.csv", { client = sb:client() }))
      local again = assert(import.run(path, { client = sb:client() }))
      assert.are.equal(3, again.skipped)
      assert.is_nil(read(dir .. "/link.csv.journal"))
      assert.are.equal(3, sb:stats().orders)
    end)

    it("leaves to a person a bill that fits in time and goods but differs in what else the row sent", function()
      -- Row v got no answer; meanwhile the customer's second order of the product came another way.
      local path = dir .. "/crossed.csv"
      with_first_row(path, "v,cross@example.com,invoice,newsletter\n")
      write(path .. ".journal", read(path .. ".journal") .. sent_records(0, { "v", 3 }))
      local other = assert(sb:client():create_order({ bill_email = "cross@example.com", bill_tag = "partner",
        goods = { { good_name = "invoice" } } })).bill_id
      local summary = assert(import.run(path, { client = sb:client(), grace = 0 }))
      assert.are.equal(1, summary.unknown, cjson.encode(summary))
      assert.is_truthy(summary.unknowns[1].message:find(("bill %d holds its goods, but its bill_tag differs"):format(other), 1, true),
        summary.unknowns[1].message)
      assert.is_nil(importing.journal_bills(path).v)
    end)

    -- A server whose getOrderDetails answered a bare {bill_id, link} made the row's order twice:
    -- a bill that cannot be read is no proof that it is another order.
    for _, case in ipairs({ { "bare", "no id" }, { "noitems", "no items" }, { "nocreated", "no created" },
      { "itemsmap", "items that are not a list" }, { "noid", "item 1 has no product code or no sum" } }) do
      local shape, why = case[1], case[2]
      it(("leaves the row to a person, never sends it again, when its bill cannot be read (%s)"):format(shape), function()
        local path = ("%s/unreadable_%s.csv"):format(dir, shape)
        with_first_row(path, "v,unreadable@example.com,invoice,v\n")
        sb:fault("drop", "", 1) -- v's order is made, its answer cut off
        sb:fault("details", shape, 0) -- and every getOrderDetails answers in a shape that cannot be read
        local summary = assert(import.run(path, { client = sb:client(), grace = 0 }))
        assert.are.equal(1, summary.unknown, cjson.encode(summary))
        local bill = math.tointeger(tonumber(sb:orders()[2].id))
        assert.is_truthy(summary.unknowns[1].message:find(("bill %d could be its order, but its getOrderDetails "
          .. "reply cannot be read (%s)"):format(bill, why), 1, true), summary.unknowns[1].message)
        assert.are.equal(0, sb:stats().duplicates)
        assert.are.equal(2, sb:stats().orders)
        assert.is_nil(importing.journal_bills(path).v)
        -- The server reads again: the next run finds the order, and still makes no second one.
        sb:control("clear")
        local again = assert(import.run(path, { client = sb:client(), grace = 0 }))
        assert.are.equal(1, again.existing, cjson.encode(again))
        assert.are.equal(0, again.unknown)
        assert.are.equal(bill, importing.journal_bills(path).v)
        assert.are.equal(0, sb:stats().duplicates)
        assert.are.equal(2, sb:stats().orders)
      end)
    end

    -- A reply read in full whose goods cannot be compared with the row's (items named by a number,
    -- not the product code; sums after a coupon) is no proof of another order either: GetBills
    -- lists the bill with the row's very goods.
    for _, shape in ipairs({ "numid", "discount" }) do
      it(("never sends a row again when its bill's goods read otherwise than GetBills lists them (%s)"):format(shape),
        function()
          local path = ("%s/misread_%s.jsonl"):format(dir, shape)
          write(path, '{"id":"first","bill_email":"first@example.com","goods":[{"good_name":"sales"}]}\n')
          assert(import.run(path, { client = sb:client() }))
          write(path, read(path) .. '{"id":"v","bill_email":"misread@example.com","bill_tag":"v",'
            .. '"goods":[{"good_name":"invoice","good_sum":1200}]}\n')
          sb:fault("drop", "", 1) -- v's order is made, its answer cut off
          sb:fault("details", shape, 0)
          local summary = assert(import.run(path, { client = sb:client(), grace = 0 }))
          assert.are.equal(0, sb:stats().duplicates, cjson.encode(summary))
          assert.are.equal(2, sb:stats().orders, cjson.encode(summary))
          assert.are.equal(1, summary.unknown, cjson.encode(summary))
          assert.is_nil(importing.journal_bills(path).v)
        end)
    end

    it("shows a row whose bill cannot be read as unknown from the host, naming the bill", function()
      local path = dir .. "/unreadable_host.csv"
      with_first_row(path, "v,unreadable@example.com,invoice,v\n")
      sb:fault("drop", "", 1)
      sb:fault("details", "bare", 0) -- {bill_id, link}, as CreateOrder answers
      local status, out = host_import(path, "--grace 0")
      assert.are.equal(4, status, out) -- unknown
      local bill = math.tointeger(tonumber(sb:orders()[2].id))
      assert.is_truthy(out:find(("line 3: outcome unknown: bill %d could be its order, but its getOrderDetails reply "
        .. "cannot be read (no id)"):format(bill), 1, true), out)
      assert.is_truthy(out:find("unknown 1", 1, true), out)
      assert.are.equal(0, sb:stats().duplicates)
      assert.are.equal(2, sb:stats().orders)
    end)

    it("reads a bill whose goods GetBills names by number, rather than set it aside as another order's", function()
      local path = dir .. "/numbered.csv"
      with_first_row(path, "v,numbered@example.com,invoice,v\n")
      -- A GetBills keyed by the goods' numeric ids (GetAllGoods' good_id), not their product codes:
      -- the reference says only that each entry is keyed by the bill's goods.
      local client = with_bills_read(sb:client(), function(b)
        for i, g in ipairs(b.goods) do g.good_name = tostring(1000 + i) end
      end)
      sb:fault("drop", "", 1) -- v's order is made, its answer cut off
      local summary = assert(import.run(path, { client = client, grace = 0 }))
      assert.are.equal(0, sb:stats().duplicates, cjson.encode(summary))
      assert.are.equal(2, sb:stats().orders)
      assert.are.equal(1, summary.existing, cjson.encode(summary))
      assert.are.equal(math.tointeger(tonumber(sb:orders()[2].id)), importing.journal_bills(path).v)
    end)

    it("reads a bill whose goods GetBills lists only in part, rather than set it aside unread", function()
      local path = dir .. "/partial.csv"
      with_first_row(path, "v,partial@example.com,invoice;sales,v\n")
      -- A client whose GetBills reads no name for one of a bill's goods (their fields are not
      -- published): the goods it does name are not all the bill holds.
      local client = with_bills_read(sb:client(), function(b) b.goods[#b.goods].good_name = nil end)
      sb:fault("drop", "", 1) -- v's order is made, its answer cut off
      local summary = assert(import.run(path, { client = client, grace = 0 }))
      assert.are.equal(1, summary.existing, cjson.encode(summary))
      assert.are.equal(math.tointeger(tonumber(sb:orders()[2].id)), importing.journal_bills(path).v)
      assert.are.equal(0, sb:stats().duplicates)
      assert.are.equal(2, sb:stats().orders)
    end)

    for _, shape in ipairs({ "missing", "null" }) do
      it(("leaves the row to a person when GetBills answers a success with its result %s"):format(shape), function()
        local path = ("%s/nobills_%s.csv"):format(dir, shape)
        with_first_row(path, "v,nobills@example.com,invoice,v\n")
        sb:fault("drop", "", 1) -- v's order is made, its answer cut off
        sb:fault("noresult", shape, 1) -- and GetBills, the next request, lists nothing
        local summary = assert(import.run(path, { client = sb:client(), grace = 0 }))
        assert.are.equal(1, summary.unknown, cjson.encode(summary))
        assert.is_truthy(summary.unknowns[1].message:find("GetBills answered a success that lists no bill", 1, true),
          summary.unknowns[1].message)
        assert.are.equal(0, sb:stats().duplicates)
        assert.are.equal(2, sb:stats().orders)
        local again = assert(import.run(path, { client = sb:client(), grace = 0 }))
        assert.are.equal(1, again.existing, cjson.encode(again))
        assert.are.equal(math.tointeger(tonumber(sb:orders()[2].id)), importing.journal_bills(path).v)
        assert.are.equal(0, sb:stats().duplicates)
      end)
    end

    it("times the grace on the wall clock for a row sent on another machine", function()
      local path = dir .. "/moved.csv"
      with_first_row(path, "v,moved@example.com,course,v\n")
      -- v went out a moment ago from a machine up for ten days: its boot clock says nothing here.
      local record = { row = "v", line = 3, state = "sending", at = core.time(), up = 864000, boot = "another-machine" }
      write(path .. ".journal", read(path .. ".journal") .. cjson.encode(record) .. "\n")
      local started = core.now()
      local summary = assert(import.run(path, { client = sb:client(), grace = 2 }))
      assert.is_true(core.now() - started >= 1.9, ("sent again after %.2f s"):format(core.now() - started))
      assert.are.equal(1, summary.created)
    end)

    it("reads sums as PHP does: a hex text is no number, and the product's price is charged", function()
      local path = dir .. "/hexsum.jsonl"
      write(path, '{"id":"first","bill_email":"first@example.com","goods":[{"good_name":"sales"}]}\n')
      assert(import.run(path, { client = sb:client() }))
      write(path, read(path) .. '{"id":"h","bill_email":"h@example.com","goods":[{"good_name":"invoice","good_sum":"0x10"}]}\n')
      sb:fault("drop", "", 1)
      local summary = assert(import.run(path, { client = sb:client(), grace = 0 }))
      assert.are.equal(1, summary.existing, cjson.encode(summary))
      assert.are.equal(0, sb:stats().duplicates)
    end)

    it("refuses a journal that an older version kept beside a link, and a file with hard links", function()
      local path, link = dir .. "/target.csv", dir .. "/current.csv"
      write(path, importing.csv(2))
      assert(os.execute(("ln -sfn %s %s"):format(path, link)))
      write(link .. ".journal", sent_records(5, { "row1", 2 }))
      local summary, err = import.run(link, { client = sb:client() })
      assert.is_nil(summary)
      assert.are.equal("input", err.kind)
      assert.is_truthy(err.message:find("written by an older version", 1, true), err.message)
      assert(os.execute(("ln -f %s %s/hard.csv"):format(path, dir)))
      summary, err = import.run(path, { client = sb:client() })
      assert.is_nil(summary)
      assert.are.equal("input", err.kind)
      assert.is_truthy(err.message:find("has 2 hard links", 1, true), err.message)
      assert.are.equal(0, sb:stats().requests)
    end)

    it("rejects a row with a hash column, which the signature reserves", function()
      local path = dir .. "/hash.csv"
      write(path, "bill_email,goods,hash\na@example.com,sales,abc\nb@example.com,sales,\n")
      local summary = assert(import.run(path, { client = sb:client() }))
      assert.are.equal(1, summary.rejected)
      assert.is_truthy(summary.rejects[1].reason:find("reserved", 1, true), summary.rejects[1].reason)
      assert.are.equal(1, summary.created)
    end)
  end)

  describe("from the host", function()
    it("sends nothing and journals nothing under --dry-run; a real run then creates every row", function()
      local path = dir .. "/dry.csv"
      write(path, importing.csv(3))
      local status, out = host_import(path, "", "--dry-run")
      assert.are.equal(0, status, out)
      assert.is_truthy(out:find("dry run: would send 3", 1, true), out)
      assert.are.equal(3, select(2, out:gsub("POST http[^\n]*/api/CreateOrder\n", "")), out)
      assert.are.equal(0, sb:stats().requests)
      assert.is_nil(read(path .. ".journal"))
      status, out = host_import(path)
      assert.are.equal(0, status, out)
      assert.is_truthy(out:find("created 3", 1, true), out)
    end)

    it("logs each call with --verbose, shows control characters as escapes, and ends its progress once", function()
      local path = dir .. "/verbose.csv"
      write(path, importing.csv(3))
      sb:fault("escapes", "", 1)
      local status, out = host_import(path, "--jobs 1", "--verbose")
      assert.are.equal(1, status, out)
      assert.are.equal(3, select(2, out:gsub("justclick: CreateOrder status=200", "")), out)
      assert.is_falsy(out:find("\27", 1, true), out)
      assert.is_truthy(out:find("card declined\\x1b[0m\\r", 1, true), out)
      assert.are.equal(1, select(2, out:gsub("justclick import: 3/3 rows", "")), out)
    end)

    it("stops at Ctrl-C with status 130, and fails no row for it", function()
      local path = dir .. "/interrupted.csv"
      write(path, importing.csv(40))
      sb:fault("slow", "400", 0)
      local pid = importing.host_import(sb, path, true, "--jobs 4")
      core.sleep(1.2)
      os.execute("kill -INT " .. pid)
      local deadline = core.now() + 5
      while sandbox.alive(pid) and core.now() < deadline do core.sleep(0.05) end
      local out = read(path .. ".out")
      assert.is_falsy(sandbox.alive(pid), "still running after Ctrl-C")
      assert.is_truthy(out:find("interrupted", 1, true), out)
      for _, r in ipairs(importing.journal(path)) do
        assert.is_truthy(r.state == "sending" or r.state == "done", cjson.encode(r))
      end
      sb:reset()
      local status
      status, out = host_import(path, "--grace 1")
      assert.are.equal(0, status, out)
    end)
  end)
end)
