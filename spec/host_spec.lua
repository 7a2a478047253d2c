-- The `justclick` host program, run as a subprocess.
local justclick = require "justclick"
local sandbox = require "support.sandbox"

-- make asan runs these against its own build of the host.
local HOST = os.getenv("JUSTCLICK_HOST") or (os.getenv("PWD") .. "/build/bin/justclick")

local files = require "support.files"
local read = files.read

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Runs a shell command line; returns its exit status, stdout and stderr. The work tree's
-- LUA_PATH and LUA_CPATH are cleared: the host needs neither.
local function run(cmdline, stdin)
  local out, err, input = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(input, "wb"))
  f:write(stdin or "")
  f:close()
  local p = assert(io.popen(("env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 sh -c %s < %s > %s 2> %s; echo $?")
    :format(shell_quote(cmdline), input, out, err)))
  local status = tonumber(p:read("*a"))
  p:close()
  local o, e = read(out), read(err)
  os.remove(out)
  os.remove(err)
  os.remove(input)
  return status, o, e
end

local function script(code)
  local path = os.tmpname()
  files.write(path, code)
  return path
end

-- Runs the host on CODE (an -e chunk) in the background and sends it SIGINT once CODE has
-- started (the helper puts a line first that creates a file the shell waits for) and another
-- 0.2 seconds have passed. The host gets at most 5 seconds to end, then SIGKILL (137).
-- how.options: host options before the chunk; how.env: "NAME=value ..." for its environment;
-- how.idle_stdin: standard input is a FIFO that is open but never written, so reads block;
-- how.again: seconds after which a second SIGINT follows the first.
-- Returns the exit status, stdout, stderr and the seconds from the SIGINT to the end.
local function interrupt(code, how)
  how = how or {}
  local idle_stdin = how.idle_stdin
  local ready, ms, fifo = os.tmpname(), os.tmpname(), os.tmpname()
  os.remove(ready)
  os.remove(fifo)
  local chunk = 'io.open(os.getenv("JC_READY"), "w"):close() ' .. code
  local status, out, err = run(table.concat({
    idle_stdin and ("mkfifo %s; sleep 10 > %s & writer=$!"):format(fifo, fifo) or "writer=",
    ("%s JC_READY=%s %s %s -e %s %s & pid=$!"):format(how.env or "", ready, HOST, how.options or "", shell_quote(chunk),
      idle_stdin and "< " .. fifo or ""),
    ("n=0; while [ ! -e %s ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done; sleep 0.2"):format(ready),
    "( sleep 5; kill -KILL $pid ) > /dev/null 2>&1 & dog=$!",
    "t0=$(date +%s%N); kill -INT $pid" .. (how.again and ("; sleep %s; kill -INT $pid"):format(how.again) or ""),
    "wait $pid; s=$?; t1=$(date +%s%N)",
    ("kill $dog $writer 2> /dev/null; echo $(( (t1 - t0) / 1000000 )) > %s; exit $s"):format(ms),
  }, "\n"))
  local elapsed = tonumber(read(ms)) / 1000
  os.remove(ms)
  os.remove(ready)
  os.remove(fifo)
  return status, out, err, elapsed
end

-- What interrupt returned: the host ended with 130 and "justclick: interrupted" (and a
-- traceback) on stderr, soon after the SIGINT.
local function assert_interrupted(status, _, err, elapsed)
  assert.are.equal(130, status, err)
  assert.is_truthy(err:find("^justclick: interrupted\n"), err)
  assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
end

describe("the justclick host #lua54", function()
  describe("runs Lua as lua does", function()
    it("passes arg and ... to a script", function()
      local path = script('print(arg[0] == debug.getinfo(1, "S").short_src, arg[-1] ~= nil, #arg, select("#", ...), ...)')
      local status, out = run(("%s %s a 'b c'"):format(HOST, path))
      os.remove(path)
      assert.are.equal(0, status)
      assert.are.equal("true\ttrue\t2\t2\ta\tb c\n", out)
    end)

    it("runs -e chunks and -l modules in order", function()
      local status, out = run(HOST .. [[ -e 'x = 6' -l j=justclick -e 'print(x * 7, j._VERSION)']])
      assert.are.equal(0, status)
      assert.are.equal("42\t" .. justclick._VERSION .. "\n", out)
    end)

    it("reads the script from standard input with -", function()
      local status, out = run(HOST .. " - one two", 'print(arg[0], ...)')
      assert.are.equal(0, status)
      assert.are.equal("-\tone\ttwo\n", out)
    end)

    it("runs a script named import after --, and the importer only for a first argument import", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir " .. dir))
      files.write(dir .. "/import", 'print("the script", ...)')
      local status, out, err = run(("cd %s && %s -- import a b"):format(dir, HOST))
      assert.are.equal(0, status, err)
      assert.are.equal("the script\ta\tb\n", out)
      status, out = run(("cd %s && %s -e 'x = 1' -- import a"):format(dir, HOST))
      assert.are.equal(0, status)
      assert.are.equal("the script\ta\n", out)
      status, out = run(("cd %s && %s - import"):format(dir, HOST), "print(...)")
      assert.are.equal(0, status)
      assert.are.equal("import\n", out)
      status, out, err = run(("cd %s && %s import"):format(dir, HOST)) -- the importer: no FILE
      assert.are.equal(2, status)
      assert.are.equal("", out)
      assert.is_truthy(err:find("usage: justclick import", 1, true), err)
      run("rm -rf " .. dir)
    end)

    it("has justclick built in, from any directory, with no LUA_PATH", function()
      local status, out = run("cd / && " .. HOST .. [[ -e 'local j = require "justclick"; print(j.build_query{goods = {{good_name = "a"}}})']])
      assert.are.equal(0, status)
      assert.are.equal("goods%5B0%5D%5Bgood_name%5D=a\n", out)
    end)

    it("prints its version and its usage", function()
      local status, out = run(HOST .. " -v")
      assert.are.equal(0, status)
      assert.is_truthy(out:find("justclick-lua " .. justclick._VERSION, 1, true))
      status, out = run(HOST .. " --help")
      assert.are.equal(0, status)
      assert.is_truthy(out:find("--secret-file", 1, true))
    end)
    it("-h shows the import command and its options", function()
      local status, out = run(HOST .. " -h")
      assert.are.equal(0, status)
      assert.are.equal("usage: justclick [options] [script [args]]\n"
        .. "       justclick [options] import [--jobs N] [--grace S] [--limit-wait S] [--settle LINE=BILL_ID]\n"
        .. "                                  [--resend LINE] FILE\n",
        out:match("^usage:[^\n]*\n[^\n]*\n[^\n]*\n"))
      local block = [[
import FILE: create each order of FILE (CSV with a header row, or .jsonl) exactly once
  --jobs N               orders under way at once, 1 to 64 (default 4)
  --grace S              seconds to let the server finish a request that got no
                         reply, before GetBills is trusted to say it has no order (default 60)
  --limit-wait S         seconds to wait out the API's request limit (code 8) while it lets
                         no request through, before the import stops (default 300)
  --settle LINE=BILL_ID  settle a row whose outcome is unknown: its order is BILL_ID
  --resend LINE          settle a row whose outcome is unknown: it has no order; send it
]]
      local at = out:find(block, 1, true)
      assert.is_truthy(at, out)
      assert.is_truthy(out:find("-h, --help", 1, true) < at, out) -- after the general options
    end)
  end)

  describe("exit status", function()
    it("is 0 after a script that ends", function()
      assert.are.equal(0, (run(HOST .. " -e 'local x = 1'")))
    end)

    it("is 1 after an error, with 'justclick: <message>' and a traceback", function()
      local path = script('local function f() error("boom") end\nf()\n')
      local status, _, err = run(HOST .. " " .. path)
      os.remove(path)
      assert.are.equal(1, status)
      assert.is_truthy(err:find("^justclick: [^\n]*:1: boom\n"), err)
      assert.is_truthy(err:find("stack traceback:", 1, true), err)
      assert.is_truthy(err:find("in local 'f'", 1, true) or err:find("in function 'f'", 1, true), err)
    end)

    it("is 1 for an error object, shown by its __tostring", function()
      local status, _, err = run(HOST .. [[ -e 'error(setmetatable({}, {__tostring = function() return "custom" end}))']])
      assert.are.equal(1, status)
      assert.is_truthy(err:find("justclick: custom", 1, true), err)
    end)

    it("is 2 for a usage error", function()
      local status, _, err = run(HOST .. " --no-such-option")
      assert.are.equal(2, status)
      assert.is_truthy(err:find("unknown option '--no-such-option'", 1, true), err)
      assert.are.equal(2, (run(HOST)))
      assert.are.equal(2, (run(HOST .. " -e")))
      assert.are.equal(2, (run(HOST .. " --user -e"))) -- "-e" is --user's value: nothing to run
    end)

    it("is n after os.exit(n), and os.exit closes the state", function()
      local status, out = run(HOST .. [[ -e 'setmetatable({}, {__gc = function() print("closed") end}) os.exit(5)']])
      assert.are.equal(5, status)
      assert.are.equal("closed\n", out)
      assert.are.equal(0, (run(HOST .. " -e 'os.exit(true)'")))
      assert.are.equal(1, (run(HOST .. " -e 'os.exit(false)'")))
    end)

    it("is 130 after Ctrl-C, which stops the script with 'interrupted'", function()
      local status, _, err = run(HOST .. " -e 'while true do end' & pid=$!; sleep 0.3; kill -INT $pid; wait $pid")
      assert.are.equal(130, status)
      assert.is_truthy(err:find("interrupted", 1, true), err)
    end)
  end)

  describe("Ctrl-C", function()
    it("is not swallowed by a pcall around a busy loop", function()
      assert_interrupted(interrupt("while true do pcall(function() while true do end end) end"))
    end)

    it("is not swallowed by a loop of pcalls of a C function", function()
      assert_interrupted(interrupt("local i = 0 while true do i = i + 1 pcall(tostring, i) end"))
    end)

    it("is not swallowed by Lua code that catches every error and goes on", function()
      local status, out, err, elapsed = interrupt([[
        local caught = 0
        local function careful() -- as a retry loop would
          while true do
            local ok = pcall(function() for _ = 1, 100 do end end)
            if not ok then caught = caught + 1 end
          end
        end
        pcall(careful)
        xpcall(careful, function(e) return e end)
        print("went on", caught)]])
      assert_interrupted(status, out, err, elapsed)
      assert.are.equal("", out)
    end)

    it("wins over the os.exit that a script reaches after catching it", function()
      assert_interrupted(interrupt("pcall(function() while true do end end) os.exit(0)"))
    end)

    it("leaves finalizers to run normally when the state is closed", function()
      local status, out, err, elapsed = interrupt([[
        setmetatable({}, {__gc = function() local n = 0 for i = 1, 10 do n = n + i end print("closed", n) end})
        while true do pcall(function() while true do end end) end]])
      assert_interrupted(status, out, err, elapsed)
      assert.are.equal("closed\t55\n", out)
    end)

    it("ends core.sleep early, in a pcall or not", function()
      assert_interrupted(interrupt('while true do require("justclick.core").sleep(10) end'))
      assert_interrupted(interrupt('local core = require("justclick.core") while true do pcall(core.sleep, 10) end'))
    end)

    it("ends a blocking read", function()
      assert_interrupted(interrupt("io.read() io.read()", { idle_stdin = true }))
    end)

    it("ends the process at a second Ctrl-C when the first cannot stop the script", function()
      -- The hook is set on the main thread only, as lua.c's: a busy coroutine runs on.
      local status, _, err = interrupt("coroutine.wrap(function() while true do end end)()", { again = 0.5 })
      assert.are.equal(130, status, err) -- killed by SIGINT: 128 + 2
      assert.are.equal("", err)
    end)

    it("stops a -l module the same way", function()
      local mod = os.tmpname() -- it creates the ready file: the -e chunk after it never runs
      files.write(mod .. ".lua", 'io.open(os.getenv("JC_READY"), "w"):close() while true do pcall(function() while true do end end) end')
      local status, out, err, elapsed = interrupt("", { options = ("-e 'package.path = %q' -l %s")
        :format(mod:match("^(.*)/") .. "/?.lua", mod:match("[^/]+$")) })
      os.remove(mod .. ".lua")
      os.remove(mod)
      assert_interrupted(status, out, err, elapsed)
    end)
  end)

  describe("configuration", function()
    local ORDER = [[-e 'local r = require("justclick").create_order{bill_email = "a@b.cd", goods = {{good_name = "invoice", good_sum = 1500}}} print("dry_run", r.dry_run)']]

    it("--dry-run prints the method, the URL and the exact body with its hash, and never the secret", function()
      local secret = "Very-Secret-Key-42"
      local status, out, err = run(("JUSTCLICK_USER=shop JUSTCLICK_SECRET=%s %s --dry-run %s"):format(secret, HOST, ORDER))
      assert.are.equal(0, status, err)
      local order = { bill_email = "a@b.cd", goods = { { good_name = "invoice", good_sum = 1500 } } }
      local body = justclick.build_query(order) .. "&hash=" .. justclick.sign(order, "shop", secret)
      assert.are.equal("POST https://shop.justclick.io/api/CreateOrder\n" .. body .. "\ndry_run\ttrue\n", out)
      assert.is_truthy(out:find("goods%5B0%5D%5Bgood_name%5D=invoice", 1, true))
      assert.is_nil((out .. err):find(secret, 1, true))
    end)

    it("--user, --api-url and --secret-file override the environment", function()
      local secret_file = script("From-File-Secret\n")
      local status, out = run(("JUSTCLICK_USER=env JUSTCLICK_SECRET=env JUSTCLICK_API_URL=http://env/api "
        .. "%s --user shop --api-url http://127.0.0.1:9/api --secret-file %s --dry-run %s"):format(HOST, secret_file, ORDER))
      os.remove(secret_file)
      assert.are.equal(0, status)
      local order = { bill_email = "a@b.cd", goods = { { good_name = "invoice", good_sum = 1500 } } }
      assert.is_truthy(out:find("POST http://127.0.0.1:9/api/CreateOrder\n", 1, true), out)
      assert.is_truthy(out:find("&hash=" .. justclick.sign(order, "shop", "From-File-Secret") .. "\n", 1, true), out)
    end)

    it("refuses a missing or unreadable --secret-file with exit 2", function()
      local status, _, err = run(HOST .. " --secret-file /nonexistent/secret -e ''")
      assert.are.equal(2, status)
      assert.is_truthy(err:find("cannot read the secret file /nonexistent/secret", 1, true), err)
      status, _, err = run(HOST .. " --secret-file / -e ''")
      assert.are.equal(2, status)
      assert.is_truthy(err:find("cannot read the secret file /", 1, true), err)
      local empty = script("\n")
      status, _, err = run(HOST .. " --secret-file " .. empty .. " -e ''")
      os.remove(empty)
      assert.are.equal(2, status)
      assert.is_truthy(err:find("holds no secret", 1, true), err)
    end)

    it("reads at most 4096 bytes of secret: /dev/zero and a longer file are refused with exit 2", function()
      -- A host that reads without limit must neither hang the specs nor eat the machine's memory
      -- (ASan's shadow memory cannot live under ulimit -v).
      local guard = (os.getenv("ASAN_OPTIONS") and "" or "ulimit -v 1000000; ") .. "timeout -s KILL 10 "
      local status, out, err = run(guard .. HOST .. " --secret-file /dev/zero -e 'print(1)'")
      assert.are.equal(2, status, err)
      assert.are.equal("", out)
      assert.are.equal("justclick: the secret file /dev/zero is longer than 4096 bytes\n", err)
      local long = script(("S"):rep(4096) .. "x\n")
      status, out, err = run(guard .. HOST .. " --secret-file " .. long .. " -e 'print(1)'")
      assert.are.equal(2, status, err)
      assert.are.equal("", out)
      assert.are.equal("justclick: the secret file " .. long .. " is longer than 4096 bytes\n", err)
      files.write(long, ("S"):rep(4096) .. "\r\n") -- 4096 bytes of secret, and a line end
      status, out, err = run(("%s --user shop --secret-file %s --dry-run %s"):format(HOST, long, ORDER))
      os.remove(long)
      assert.are.equal(0, status, err)
      assert.are.equal("", err)
      local order = { bill_email = "a@b.cd", goods = { { good_name = "invoice", good_sum = 1500 } } }
      assert.is_truthy(out:find("&hash=" .. justclick.sign(order, "shop", ("S"):rep(4096)) .. "\n", 1, true), out)
    end)

    it("warns, and goes on, when others can read the secret file; never prints the secret", function()
      local secret = "Very-Secret-Key-42"
      local path = script(secret .. "\n")
      local check = [[ -e 'assert(require("justclick").default_client()) print("ok")']]
      assert(os.execute("chmod 644 " .. path))
      local status, out, err = run(("%s --user shop --secret-file %s%s"):format(HOST, path, check))
      assert.are.equal(0, status, err)
      assert.are.equal("ok\n", out)
      assert.are.equal(("justclick: warning: the secret file %s can be read by others (mode 0644); chmod 600 %s\n")
        :format(path, path), err)
      assert(os.execute("chmod 640 " .. path))
      status, out, err = run(("%s --user shop --secret-file %s%s"):format(HOST, path, check))
      assert.are.equal(0, status, err)
      assert.are.equal("ok\n", out)
      assert.is_truthy(err:find("(mode 0640)", 1, true), err)
      assert(os.execute("chmod 600 " .. path))
      status, out, err = run(("%s --user shop --secret-file %s%s"):format(HOST, path, check))
      assert.are.equal(0, status, err)
      assert.are.equal("ok\n", out)
      assert.are.equal("", err)
      os.remove(path)
      -- A pipe is read as a file is: --secret-file <(pass show justclick), say.
      status, out, err = run(("printf '%s\\n' | %s --user shop --secret-file /dev/stdin%s"):format(secret, HOST, check))
      assert.are.equal(0, status, err)
      assert.are.equal("ok\n", out)
      assert.are.equal("", err)
    end)

    it("never takes the secret from the command line, nor repeats it", function()
      for _, option in ipairs({ "--secret Very-Secret", "--secret=Very-Secret" }) do
        local status, out, err = run(HOST .. " " .. option .. " -e ''")
        assert.are.equal(2, status)
        assert.is_truthy(err:find("never taken from the command line", 1, true), err)
        assert.is_nil((out .. err):find("Very-Secret", 1, true), err)
      end
    end)
  end)

  describe("against the sandbox", function()
    local sb
    lazy_setup(function() sb = sandbox.start() end)
    lazy_teardown(function() if sb then sb:stop() end end)

    local function env()
      return ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s "):format(sandbox.user, sandbox.secret, sb.api_url)
    end

    it("runs the demo through JUSTCLICK_*", function()
      local status, out, err = run(env() .. HOST .. " examples/demo.lua")
      assert.are.equal(0, status, err)
      assert.is_truthy(out:find("Created order 1%d+"), out)
      assert.is_truthy(out:find("invoice  Invoice template     1500", 1, true), out)
      assert.is_truthy(out:find("Came from: direct / cpc / my campaign", 1, true), out)
    end)

    it("runs the other examples", function()
      local status, out, err = run(env() .. HOST .. " examples/create_order.lua buyer@example.com invoice:1200 sales")
      assert.are.equal(0, status, err)
      local id = assert(out:match("^order (%d+): /bill/%x+\n$"), out)
      status, out = run(env() .. HOST .. " examples/order_status.lua " .. id)
      assert.are.equal(0, status)
      assert.is_truthy(out:find("waiting, 2190 to pay of 2190", 1, true), out)
      assert.are.equal(1, (run(env() .. HOST .. " examples/order_status.lua 999")))
    end)

    it("--verbose writes a line a call on stderr, without the secret", function()
      local status, _, err = run(env() .. HOST .. [[ --verbose -e 'local j = require "justclick"
        j.create_order{bill_email = "v@b.cd", goods = {{good_name = "sales"}}} j.order_details(5)']])
      assert.are.equal(0, status)
      assert.is_truthy(err:find("justclick: CreateOrder status=200 error_code=0 %d+ms retries=0\n"), err)
      assert.is_truthy(err:find("justclick: getOrderDetails status=200 error_code=400 %d+ms retries=0\n"), err)
      assert.is_nil(err:find(sandbox.secret, 1, true))
    end)

    -- Last in this block: the sandbox is busy with the slow requests for a while after.
    it("Ctrl-C stops a call that waits for its reply, even in a pcall, and the importer", function()
      local slow = ("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s/fault/slow:3000/api")
        :format(sandbox.user, sandbox.secret, sb.url)
      assert_interrupted(interrupt([[
        while true do pcall(require("justclick").create_order, {bill_email = "i@b.cd", goods = {{good_name = "sales"}}}) end]],
        { env = slow }))
      local csv = os.tmpname()
      files.write(csv, "bill_email,goods\ni@b.cd,sales\nj@b.cd,sales\n")
      local status, out, err, elapsed = interrupt(("os.exit(require('justclick.import').main(%q))"):format(csv), { env = slow })
      os.remove(csv)
      os.remove(csv .. ".journal")
      os.remove(csv .. ".rejects")
      assert_interrupted(status, out, err, elapsed)
      assert.is_nil(out:find("created", 1, true), out) -- no summary: the import did not go on
    end)
  end)

  describe("installation", function()
    it("make install puts the host, the module and the Lua file under DESTDIR and PREFIX; uninstall removes them", function()
      local dest = os.tmpname()
      os.remove(dest)
      local status, out = run(("make -s install DESTDIR=%s PREFIX=/opt/jc"):format(dest))
      assert.are.equal(0, status, out)
      local prefix = dest .. "/opt/jc"
      for _, f in ipairs({ "/bin/justclick", "/lib/lua/5.4/justclick/core.so", "/share/lua/5.4/justclick.lua" }) do
        assert.is_truthy(io.open(prefix .. f), f)
      end
      status, out = run(("cd / && %s/bin/justclick -e 'print(require(\"justclick\").build_query{a = true})'"):format(prefix))
      assert.are.equal(0, status)
      assert.are.equal("a=1\n", out)
      status, out = run(("LUA_PATH='%s/share/lua/5.4/?.lua;;' LUA_CPATH='%s/lib/lua/5.4/?.so;;' lua5.4 -e 'print(require(\"justclick\").build_query{b = false})'")
        :format(prefix, prefix))
      assert.are.equal(0, status)
      assert.are.equal("b=0\n", out)
      assert.are.equal(0, (run(("make -s uninstall DESTDIR=%s PREFIX=/opt/jc"):format(dest))))
      assert.is_nil(io.open(prefix .. "/bin/justclick"))
      run("rm -rf " .. dest)
    end)
  end)
end)
