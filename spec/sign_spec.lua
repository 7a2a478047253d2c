-- sign, verify_reply and md5 against the hashes PHP computes.
local md5 = require("justclick.bench").md5 -- a benchmark hook: never in the public module
local justclick = require "justclick"
local core = require "justclick.core"
local cjson = require "cjson"
local php = require "support.php"
local gen = require "support.gen"
local number = require "support.number"

local null = justclick.null
local seed = tonumber(os.getenv("JUSTCLICK_SEED")) or os.time()

-- Users and secrets of every kind: empty, binary, UTF-8, and holding the "::" separator.
local function random_credential()
  local r = math.random()
  if r < 0.2 then return ("%x"):format(math.random(0, 0x7fffffff)):rep(5) end
  if r < 0.3 then return "" end
  if r < 0.4 then return "a::b" end
  return gen.string()
end

describe("sign (seed " .. seed .. ")", function()
  before_each(function() math.randomseed(seed) end)

  it("returns 32 lowercase hex digits", function()
    local h = justclick.sign({ a = 1 }, "user", "secret")
    assert.are.equal(32, #h)
    assert.is_nil(h:find("[^0-9a-f]"))
  end)

  it("is md5(query .. '::' .. user .. '::' .. secret), as PHP computes it, for 500 random cases", function()
    local cases, exprs = {}, {}
    while #cases < 500 do
      local tree = gen.tree(null)
      local t = gen.lua_table(tree, #cases % 2 == 0)
      local user, secret = random_credential(), random_credential()
      local ok, ours = pcall(justclick.sign, t, user, secret)
      if ok then
        cases[#cases + 1] = { ours = ours, t = t }
        exprs[#cases] = ("[%s, %s, %s]"):format(gen.php_literal(tree, php, null), php.literal(user),
          php.literal(secret))
      end
    end
    local lines = php.map(exprs, 'echo md5(http_build_query($x[0]) . "::" . $x[1] . "::" . $x[2]), "\\n";')
    for i, theirs in ipairs(lines) do
      assert.are.equal(theirs, cases[i].ours, ("seed %d, case %d: %s"):format(seed, i, gen.dump(cases[i].t, null)))
    end
  end)

  it("changes with every part it signs", function()
    local base = justclick.sign({ a = 1 }, "u", "s")
    assert.are_not.equal(base, justclick.sign({ a = 2 }, "u", "s"))
    assert.are_not.equal(base, justclick.sign({ a = 1 }, "v", "s"))
    assert.are_not.equal(base, justclick.sign({ a = 1 }, "u", "t"))
    assert.are.equal(md5("a=1::u::s"), base)
  end)

  it("refuses what build_query refuses, and never repeats the secret", function()
    local secret = "TOP-SECRET-0123456789"
    local ok, err = pcall(justclick.sign, { goods = { { good_sum = 0 / 0 } } }, "u", secret)
    assert.is_false(ok)
    assert.is_truthy(err:find("goods[1].good_sum", 1, true))
    assert.is_nil(err:find(secret, 1, true))
  end)

  it("refuses a table whose metatable changes what Lua code reads, as build_query does", function()
    local secret = "TOP-SECRET-0123456789"
    local proxy = setmetatable({}, { __index = { bill_email = "a@b.c" } })
    for _, fn in ipairs({ justclick.sign, core.signed_body }) do
      local ok, err = pcall(fn, proxy, "u", secret)
      assert.is_false(ok)
      assert.is_truthy(err:find("justclick: top-level table: a table with __index in its metatable", 1, true), err)
      ok, err = pcall(fn, { goods = { setmetatable({}, { __pairs = pairs }) } }, "u", secret)
      assert.is_false(ok)
      assert.is_truthy(err:find("justclick: goods[1]: a table with __pairs in its metatable", 1, true), err)
      assert.is_nil(err:find(secret, 1, true))
    end
    local marked = setmetatable({ a = 1 }, { __tostring = function() return "t" end })
    assert.are.equal(justclick.sign({ a = 1 }, "u", "s"), justclick.sign(marked, "u", "s"))
  end)

  it("refuses a hash key, the field the signature adds, where build_query takes it", function()
    local secret = "TOP-SECRET-0123456789"
    local cases = {
      { { hash = "0123456789abcdef0123456789abcdef", a = 1 }, "justclick: hash: the key is reserved for the request's signature" },
      { { hash = null }, "justclick: hash: the key is reserved" },
      { { ["hash[x]"] = 1 }, 'justclick: ["hash[x]"]: the key is reserved' },
    }
    for _, fn in ipairs({ justclick.sign, core.signed_body }) do
      for _, case in ipairs(cases) do
        local ok, err = pcall(fn, case[1], "u", secret)
        assert.is_false(ok, "accepted " .. gen.dump(case[1], null))
        assert.is_truthy(err:find(case[2], 1, true), err)
        assert.is_nil(err:find(secret, 1, true))
      end
      -- Only the top-level name: nested keys and longer names are the caller's.
      assert.is_string(fn({ a = { hash = 1 }, hashes = 1, ["x[hash]"] = 2 }, "u", "s"))
    end
    assert.are.equal("hash=1", justclick.build_query({ hash = 1 }))
    local client = justclick.new { user = "u", secret = secret, api_url = "http://127.0.0.1:9/api" }
    local result, err = client:call("CreateOrder", { bill_email = "a@b.c", hash = "x" })
    assert.is_nil(result)
    assert.are.equal("input", err.kind)
    assert.are.equal("hash: the key is reserved for the request's signature", err.message)
  end)

  it("raises on missing arguments without naming the secret", function()
    assert.has_error(function() justclick.sign(nil, "u", "s") end)
    assert.has_error(function() justclick.sign({}, nil, "s") end)
    local ok, err = pcall(justclick.sign, {}, "u")
    assert.is_false(ok)
    assert.is_truthy(err:find("#3", 1, true))
  end)

  it("takes the options of build_query", function()
    local many = {}
    for i = 1, 1001 do many[i] = i end
    assert.has_error(function() justclick.sign(many, "u", "s") end)
    assert.are.equal(md5(justclick.build_query(many, { max_input_vars = false }) .. "::u::s"),
      justclick.sign(many, "u", "s", { max_input_vars = false }))
  end)
end)

describe("verify_reply (seed " .. seed .. ")", function()
  before_each(function() math.randomseed(seed) end)

  -- PHP's reply, as a PHP service would sign it, encoded with json_encode. The text is signed as
  -- JSON carries it: bytes that are not UTF-8 travel as U+FFFD.
  local PHP_REPLY = [=[
$text = json_decode(json_encode($x[1], JSON_INVALID_UTF8_SUBSTITUTE));
$r = ['error_code' => $x[0], 'error_text' => $text, 'result' => ['bill_id' => 7]];
$r['hash'] = md5($r['error_code'] . "::" . $r['error_text'] . "::" . $x[2]);
echo json_encode($r, JSON_INVALID_UTF8_SUBSTITUTE), "\n";
]=]

  it("accepts 300 replies signed by PHP and decoded by cjson, and refuses them under another secret", function()
    local cases, exprs = {}, {}
    for i = 1, 300 do
      local code = ({ 0, 1, 4, 400, 601, math.random(0, 100000) })[i % 6 + 1]
      local text = i % 3 == 0 and "OK" or gen.string()
      local secret = random_credential()
      cases[i] = secret
      exprs[i] = ("[%d, %s, %s]"):format(code, php.literal(text), php.literal(secret))
    end
    for i, json in ipairs(php.map(exprs, PHP_REPLY)) do
      local reply = cjson.decode(json)
      -- the trap, on Lua 5.3+: cjson gives 0.0 for 0
      if number.native then assert.are.equal("float", math.type(reply.error_code)) end
      assert.is_true(justclick.verify_reply(reply, cases[i]), ("seed %d, case %d: %s"):format(seed, i, json))
      assert.is_false(justclick.verify_reply(reply, cases[i] .. "x"), json)
    end
  end)

  it("hashes error_code 0 as PHP does, whether it is 0, 0.0 or \"0\"", function()
    local hash = php.run('echo md5(0 . "::" . "OK" . "::" . "k");')
    for _, code in ipairs({ 0, 0.0, "0" }) do
      assert.is_true(justclick.verify_reply({ error_code = code, error_text = "OK", hash = hash }, "k"))
    end
    assert.is_false(justclick.verify_reply({ error_code = 0.5, error_text = "OK", hash = hash }, "k"))
  end)

  it("hashes integral codes as PHP's ints, also past 1e14 where PHP would print a float", function()
    local json = php.run([[
$r = ['error_code' => 1000000000000000, 'error_text' => 'big'];
$r['hash'] = md5($r['error_code'] . "::" . $r['error_text'] . "::k");
echo json_encode($r);]])
    local reply = cjson.decode(json)
    if number.native then assert.are.equal("float", math.type(reply.error_code)) end
    assert.is_true(justclick.verify_reply(reply, "k"), json)
  end)

  it("refuses any change to the code, the text or the hash", function()
    local hash = md5("4::Incorrect hash::k")
    local reply = { error_code = 4, error_text = "Incorrect hash", hash = hash }
    assert.is_true(justclick.verify_reply(reply, "k"))
    local changed = {
      { error_code = 5, error_text = "Incorrect hash", hash = hash },
      { error_code = 4, error_text = "Incorrect hash.", hash = hash },
      { error_code = 4, error_text = "Incorrect hash", hash = hash:upper() },
      { error_code = 4, error_text = "Incorrect hash", hash = hash:sub(1, 31) },
      { error_code = 4, error_text = "Incorrect hash", hash = hash .. "0" },
      { error_code = 4, error_text = "Incorrect hash", hash = hash:sub(1, -2) .. (hash:sub(-1) == "0" and "1" or "0") },
      { error_code = 4, error_text = "Incorrect hash" },
      { error_code = 4, error_text = "Incorrect hash", hash = null },
      { error_code = 4, error_text = "Incorrect hash", hash = 0 },
      { error_code = 4, error_text = { "Incorrect hash" }, hash = hash },
    }
    for i, r in ipairs(changed) do
      assert.is_false(justclick.verify_reply(r, "k"), "change #" .. i)
    end
  end)

  it("reads missing and null fields as PHP's empty string", function()
    assert.is_true(justclick.verify_reply({ hash = md5("::::k") }, "k"))
    assert.is_true(justclick.verify_reply({ error_code = null, error_text = null, hash = md5("::::k") }, "k"))
    assert.is_true(justclick.verify_reply({ error_code = 1, error_text = false, hash = md5("1::::k") }, "k"))
  end)

  it("raises on a reply that is not a table or a missing secret", function()
    assert.has_error(function() justclick.verify_reply("{}", "k") end)
    assert.has_error(function() justclick.verify_reply({}) end)
  end)
end)

describe("md5", function()
  it("equals PHP's md5 on random bytes", function()
    math.randomseed(seed)
    local inputs, exprs = {}, {}
    for i = 1, 200 do
      inputs[i] = gen.string() .. gen.string():rep(math.random(0, 50))
      exprs[i] = php.literal(inputs[i])
    end
    for i, theirs in ipairs(php.map(exprs, 'echo md5($x), "\\n";')) do
      assert.are.equal(theirs, md5(inputs[i]))
    end
  end)
end)
