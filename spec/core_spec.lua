-- The C core's own shape: what each file adds to the module, and the limits it shares with Lua.
-- (Runs under every Lua: no 5.4-only syntax.)
local core = require "justclick.core"
local justclick = require "justclick"
local files = require "support.files"
local shell = require "support.shell"
local locale = require "support.locale"

-- Runs Lua code in a new process of the Lua that runs the specs, with this module, under a
-- virtual memory limit of `kib`; returns its exit status and output.
local function run_lua(code, kib)
  local lua = arg and arg[-1] or "lua5.4"
  -- the ASan host (a Lua 5.4) cannot map its shadow memory under ulimit -v: plain Lua 5.4 then
  if lua:find("justclick$") then lua = "lua5.4" end
  local path = os.tmpname()
  files.write(path, code)
  local status, out = shell.run(("ulimit -v %d; LUA_CPATH='%s' LUA_PATH='%s' %s %s")
    :format(kib, package.cpath, package.path, lua, path))
  os.remove(path)
  return status, out
end

describe("justclick.core", function()
  it("gives Lua the shared limits of src/pure/limits.h", function()
    assert.are.same({
      jobs = 64, max_input_vars = 1000, max_input_nesting_level = 64, max_reply = 8 * 1024 * 1024,
      keep_bytes = 1024 * 1024, integer_bound = 2 ^ 63, exact_bound = 2 ^ 53,
    }, core.limits)
  end)

  it("builds a client whose max_input_vars defaults to PHP's, from core.limits", function()
    local client = justclick.new({ user = "u", secret = "s", api_url = "http://127.0.0.1:9/api" })
    assert.are.equal(core.limits.max_input_vars, client.max_input_vars)
    client:close()
  end)

  it("refuses a multi session of more jobs than core.limits.jobs", function()
    assert.has_error(function() core.multi({}, core.limits.jobs + 1) end)
    local m = core.multi({}, core.limits.jobs)
    m:close()
  end)

  it("leaves the benchmark hooks (a CPU clock, md5) to justclick.bench", function()
    assert.is_nil(core._bench_cpu)
    assert.is_nil(core.md5) -- the benchmarks' floor; the importer's row identity is core.row_id
    assert.are.equal("number", type(require("justclick.bench").cpu()))
    assert.are.equal(core.row_id("a=1::u::s"), require("justclick.bench").md5("a=1::u::s"))
    assert.are.equal("750f2d3078a444d7b13062b97c287baa", core.row_id("a=1::u::s")) -- md5sum's
    for _, name in ipairs({ "sleep", "now", "time", "boottime", "isatty" }) do
      assert.are.equal("function", type(core[name]), name)
    end
  end)

  describe("append_durably and truncate_durably", function()
    it("return true, or nil and an io error naming the path, with its errno", function()
      local dir = os.tmpname()
      os.remove(dir)
      local path = dir .. "/journal"
      local failure = { kind = "io", message = path .. ": No such file or directory", path = path, errno = 2 } -- ENOENT
      assert.are.same({ nil, failure }, { core.append_durably(path, "x") })
      assert.are.same({ nil, failure }, { core.truncate_durably(path, 0) })
      local file = os.tmpname()
      assert.are.same({ true }, { core.append_durably(file, "abc") })
      assert.are.same({ true }, { core.truncate_durably(file, 1) })
      assert.are.equal("a", files.read(file))
      os.remove(file)
    end)

    it("refuse a path with a NUL byte rather than open the name before it", function()
      local file = os.tmpname()
      local ok, err = core.append_durably(file .. "\0.other", "x")
      assert.is_nil(ok)
      assert.are.equal("io", err.kind)
      assert.are.equal(file .. ": Invalid argument", err.message)
      assert.are.equal(22, err.errno) -- EINVAL
      assert.are.equal("", files.read(file))
      os.remove(file)
    end)
  end)

  describe("decode_reply", function()
    it("reports bytes that are not JSON as a bad reply", function()
      local reply, err = core.decode_reply("<html>", "secret")
      assert.is_nil(reply)
      assert.are.equal("protocol", err.kind)
      assert.is_truthy(err.message:find("^the reply is not JSON"), err.message)
    end)

    it("reads a text error_code as Lua 5.4 does on every Lua, whatever the locale's decimal point", function()
      local function code(text)
        local reply = core.decode_reply(('{"error_code":"%s","error_text":"x","hash":"h"}'):format(text), "s")
        return reply and reply.error_code
      end
      locale.with_comma(function()
        assert.are.equal(8, code("8"))
        assert.is_nil(code("8,0")) -- strtod's reading under the comma, not Lua's
        assert.is_nil(code("nan"))
        assert.is_nil(code("inf"))
      end)
    end)

    it("raises a memory error inside the JSON decoder again, rather than report a bad reply", function()
      -- a cjson whose decode runs out of memory: the process may map at most 300 MiB
      local status, out = run_lua([[
        package.preload.cjson = function()
          return { new = function()
            return { decode_invalid_numbers = function() end, decode = function()
              local t = {} -- grows until an allocation fails: LUA_ERRMEM under every Lua
              for i = 1, 2 ^ 40 do t[i] = i end
            end }
          end }
        end
        local core = require "justclick.core"
        local ok, a, b = pcall(core.decode_reply, "{}", "s")
        io.write(tostring(ok), "|", tostring(a), "|", tostring(b))
      ]], 300 * 1024)
      assert.are.equal(0, status, out)
      assert.are.equal("false|not enough memory|nil", out)
    end)
  end)

  describe("core.safe, as cjson.safe", function()
    local function fn() end

    it("returns nil and an input error, the encoder's problem with no prefix to strip, where the plain form raises", function()
      local function input(message) return { nil, { kind = "input", message = message } } end
      assert.are.same(input("a: a function value cannot be sent (only justclick.null may stand for nothing)"),
        { core.safe.build_query({ a = fn }) })
      assert.are.same(input("hash: the key is reserved for the request's signature"),
        { core.safe.signed_body({ hash = 1 }, "u", "s") })
      assert.are.same(input("max_input_vars leaves no room for the hash"),
        { core.safe.signed_body({ a = 1 }, "u", "s", { max_input_vars = 1 }) })
      local ok, err = pcall(function() local query = core.build_query({ a = fn }) return query end)
      assert.is_false(ok)
      assert.is_truthy(err:find("^spec/core_spec%.lua:%d+: justclick: a: a function value"), err)
    end)

    it("gives what the plain form gives for good input", function()
      local params = { goods = { { good_name = "x", good_sum = 10 } }, bill_email = "a@b.c" }
      assert.are.equal(core.build_query(params), core.safe.build_query(params))
      assert.are.equal(core.sign(params, "u", "s"), core.safe.sign(params, "u", "s"))
      assert.are.equal(core.signed_body(params, "u", "s"), core.safe.signed_body(params, "u", "s"))
    end)

    it("still raises programming errors: wrong argument types, unknown options", function()
      assert.has_error(function() core.safe.signed_body(1, "u", "s") end)
      assert.has_error(function() core.safe.build_query({}, { bogus = 1 }) end)
    end)
  end)
end)
