-- Issue 19: Ctrl-C during `justclick import` printed a traceback and no summary; on a terminal
-- "justclick: interrupted" was glued to the live progress line; on a pipe the last progress line
-- was stale (it said 1 of 50 when 13 were done). Now: the live line is ended with a newline, the
-- summary of what was done (real counts) goes to stdout, exit 130, no traceback; on a pipe a
-- current progress line is printed last. The run is interrupted once the journal shows rows done
-- (a condition, not a sleep), on a terminal (a pty) and on a pipe.
local importing = require "support.importing"
local files = require "support.files"

-- Runs CMD (argv after "--"), with stdout and stderr apart, on a pty or on files; once the
-- journal JOURNAL holds N rows done, sends SIGINT to the child alone; prints its exit status on
-- its first line, then the output (a pty joins stdout and stderr; a pipe run writes OUT.stdout
-- and OUT.stderr).
local DRIVER = [[
import os, pty, signal, sys, time
mode, journal, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cmd = sys.argv[sys.argv.index("--") + 1:]
def done():
    try:
        with open(journal) as f: return f.read().count('"state":"done"')
    except OSError: return 0
deadline = time.time() + 60
if mode == "tty":
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    os.set_blocking(fd, False)
    seen, sent = b"", False
    while True:  # read until the pty closes (EIO once the child is gone)
        try:
            d = os.read(fd, 4096)
            if not d: break
            seen += d
        except BlockingIOError:
            time.sleep(0.02)
        except OSError:
            break
        if not sent and (done() >= n or time.time() > deadline):
            os.kill(pid, signal.SIGINT)
            sent = True
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
else:
    with open(out + ".stdout", "wb") as o, open(out + ".stderr", "wb") as e:
        pid = os.fork()
        if pid == 0:
            os.dup2(o.fileno(), 1); os.dup2(e.fileno(), 2)
            os.execvp(cmd[0], cmd)
    while done() < n and time.time() < deadline: time.sleep(0.02)
    os.kill(pid, signal.SIGINT)
    _, st = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(st)
    seen = b""
sys.stdout.write(str(status) + "\n"); sys.stdout.flush()
sys.stdout.buffer.write(seen)
]]

describe("Ctrl-C during `justclick import` #lua54", function()
  local sb, dir, driver
  importing.sandbox(lazy_setup, lazy_teardown, function(s, d)
    sb, dir = s, d
    driver = d .. "/driver.py"
    files.write(driver, DRIVER)
  end)

  -- The host's command line for importing path against the sandbox, as argv words.
  local function command(path)
    local sandbox = require "support.sandbox"
    return ("env JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s %s import --jobs 2 %s"):format(
      sandbox.user, sandbox.secret, sb.api_url, importing.HOST, path)
  end

  -- The summary line's counts: created, existing, skipped, rejected, failed, unknown.
  local function summary(text)
    local c = { text:match("\ncreated (%d+), existing (%d+), skipped (%d+), rejected (%d+), failed (%d+), unknown (%d+),")
      or text:match("^created (%d+), existing (%d+), skipped (%d+), rejected (%d+), failed (%d+), unknown (%d+),") }
    return c[1] and c or nil
  end

  it("on a pipe: a current last progress line, the summary on stdout, exit 130, no traceback", function()
    sb:reset()
    sb:fault("slow", "300", 0)
    local path = dir .. "/pipe.csv"
    files.write(path, importing.csv(50))
    local out = io.popen(("python3 %s pipe %s.journal 5 %s -- %s"):format(driver, path, path, command(path)))
    local status = tonumber(out:read("l"))
    out:close()
    sb:control("clear")
    local stdout, stderr = files.read(path .. ".stdout"), files.read(path .. ".stderr")
    assert.are.equal(130, status, stdout .. stderr)
    assert.is_nil((stdout .. stderr):find("traceback", 1, true), stderr)
    local counts = summary(stdout)
    assert.truthy(counts, "no summary on stdout: " .. stdout)
    assert.is_true(tonumber(counts[1]) >= 5, stdout)
    -- the last progress line is current: it says as many rows as the summary
    local last
    for line in stderr:gmatch("(justclick import: %d+/50 rows[^\n]*)\n") do last = line end
    assert.truthy(last, stderr)
    assert.truthy(last:find("^justclick import: " .. counts[1] .. "/50 rows, " .. counts[1] .. " created"),
      last .. "\n" .. stdout)
    assert.truthy(stderr:find("\njustclick: interrupted\n$") or stderr:find("^justclick: interrupted\n$"), stderr)
  end)

  it("with --verbose, Ctrl-C shows where the import was, and still the summary and exit 130", function()
    sb:reset()
    sb:fault("slow", "300", 0)
    local path = dir .. "/verbose.csv"
    files.write(path, importing.csv(50, 200))
    local out = io.popen(("python3 %s pipe %s.journal 3 %s -- %s"):format(driver, path, path,
      command(path):gsub(" import ", " --verbose import ")))
    local status = tonumber(out:read("l"))
    out:close()
    sb:control("clear")
    local stdout, stderr = files.read(path .. ".stdout"), files.read(path .. ".stderr")
    assert.are.equal(130, status, stdout .. stderr)
    assert.truthy(summary(stdout), stdout)
    assert.truthy(stderr:find("\njustclick: interrupted\nstack traceback:\n", 1, true), stderr)
  end)

  it("on a terminal: the live line ends before 'justclick: interrupted', the summary follows, exit 130", function()
    sb:reset()
    sb:fault("slow", "300", 0)
    local path = dir .. "/tty.csv"
    files.write(path, importing.csv(50, 100))
    local out = io.popen(("python3 %s tty %s.journal 5 %s -- %s"):format(driver, path, path, command(path)))
    local status = tonumber(out:read("l"))
    local seen = out:read("a")
    out:close()
    sb:control("clear")
    assert.are.equal(130, status, seen)
    assert.is_nil(seen:find("traceback", 1, true), seen)
    seen = seen:gsub("\r\n", "\n")
    -- each of these starts a line of its own: nothing glued to the live line
    assert.truthy(seen:find("\njustclick: interrupted\n", 1, true), seen)
    local counts = summary(seen)
    assert.truthy(counts, "no summary: " .. seen)
    assert.is_true(tonumber(counts[1]) >= 5, seen)
    -- the live line was redrawn last with the summary's count, then ended
    assert.truthy(seen:find("\rjustclick import: " .. counts[1] .. "/50 rows, " .. counts[1] .. " created[^\n]*\n"),
      seen)
  end)
end)
