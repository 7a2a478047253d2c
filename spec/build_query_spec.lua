-- justclick.build_query: one block per rule. Each expected string is also checked against the
-- php binary's http_build_query, with the PHP array written in our key order.
local justclick = require "justclick"
local php = require "support.php"
local number = require "support.number"

local build_query, null = justclick.build_query, justclick.null

-- Asserts that build_query(t) is `expected` and that PHP builds the same from `php_array`.
local function same_as_php(t, expected, php_array)
  assert.are.equal(expected, build_query(t))
  assert.are.equal(expected, php.queries({ php_array })[1])
end

-- Asserts that build_query(t) raises a message containing each of the plain-text fragments.
local function refuses(t, ...)
  local ok, err = pcall(build_query, t)
  assert.is_false(ok, "expected an error")
  assert.is_string(err)
  for _, fragment in ipairs({ ... }) do
    assert.is_truthy(err:find(fragment, 1, true), ("%q does not mention %q"):format(err, fragment))
  end
  return err
end

describe("build_query", function()
  describe("lists", function()
    it("writes a Lua sequence with PHP's 0-based indexes, in order", function()
      same_as_php({ goods = { { good_name = "a" } } }, "goods%5B0%5D%5Bgood_name%5D=a",
        "['goods' => [['good_name' => 'a']]]")
      same_as_php({ "x", "y", "z" }, "0=x&1=y&2=z", "['x', 'y', 'z']")
    end)

    it("writes the list part before string keys", function()
      same_as_php({ "x", "y", b = 1, a = 2 }, "0=x&1=y&a=2&b=1", "[0 => 'x', 1 => 'y', 'a' => 2, 'b' => 1]")
    end)

    it("keeps the indexes of the elements around a null", function()
      same_as_php({ l = { "a", null, "c" } }, "l%5B0%5D=a&l%5B2%5D=c", "['l' => ['a', null, 'c']]")
    end)
  end)

  describe("key order", function()
    it("writes string keys in byte order, whatever order the table was filled in", function()
      local keys = { "b", "a", "B", "_", "aa", "a0", "\255", "ab", "Z", "10", "9" }
      local expected = "10=1&9=1&B=1&Z=1&_=1&a=1&a0=1&aa=1&ab=1&b=1&%FF=1"
      for round = 1, 20 do
        local t = {}
        for i = 1, #keys do
          local j = (i * 7 + round) % #keys + 1 -- a different insertion order each round
          t[keys[j]] = 1
        end
        for _, k in ipairs(keys) do t[k] = 1 end
        assert.are.equal(expected, build_query(t))
      end
      local php_array = {}
      for i, k in ipairs({ "10", "9", "B", "Z", "_", "a", "a0", "aa", "ab", "b", "\255" }) do
        php_array[i] = php.literal(k) .. " => 1"
      end
      assert.are.equal(expected, php.queries({ "[" .. table.concat(php_array, ", ") .. "]" })[1])
    end)

    it("gives the same bytes for equal tables built in different orders (large tables too)", function()
      local a, b = {}, {}
      for i = 1, 500 do a["k" .. i] = i end
      for i = 500, 1, -1 do b["k" .. i] = i end
      assert.are.equal(build_query(a), build_query(b))
      local previous
      for part in build_query(a):gmatch("k(%d+)=") do
        if previous then assert.is_true(previous < part) end
        previous = part
      end
    end)
  end)

  describe("urlencoding", function()
    it("keeps A-Za-z0-9 . _ -, writes space as +, and every other byte as uppercase %XX", function()
      local all = {}
      for c = 0, 255 do all[#all + 1] = string.char(c) end
      all = table.concat(all)
      local expected = all:gsub("[^%w%.%-_ ]", function(c) return ("%%%02X"):format(c:byte()) end)
        :gsub(" ", "+")
      assert.are.equal("v=" .. expected, build_query({ v = all }))
      assert.are.equal("v=" .. expected, php.queries({ "['v' => " .. php.literal(all) .. "]" })[1])
      assert.are.equal("v=%7E%2A%27%28%29", build_query({ v = "~*'()" }))
    end)

    it("encodes keys the same way, brackets included", function()
      local key = "k\195\169y +&=%~"
      same_as_php({ o = { [key] = 1 } }, "o%5Bk%C3%A9y+%2B%26%3D%25%7E%5D=1",
        "['o' => [" .. php.literal(key) .. " => 1]]")
    end)
  end)

  describe("numbers", function()
    it("writes integers in decimal", function()
      if number.native then
        same_as_php({ a = 0, b = -1, c = math.maxinteger, d = math.mininteger, e = 1500 },
          "a=0&b=-1&c=9223372036854775807&d=-9223372036854775808&e=1500",
          "['a' => 0, 'b' => -1, 'c' => PHP_INT_MAX, 'd' => PHP_INT_MIN, 'e' => 1500]")
      else -- Lua 5.1 and LuaJIT: the largest integers of the rule
        same_as_php({ a = 0, b = -1, c = 2 ^ 53 - 1, d = -(2 ^ 53 - 1), e = 1500 },
          "a=0&b=-1&c=9007199254740991&d=-9007199254740991&e=1500",
          "['a' => 0, 'b' => -1, 'c' => 9007199254740991, 'd' => -9007199254740991, 'e' => 1500]")
      end
    end)

    it("writes 2^53 and beyond as PHP writes a float, under every Lua", function()
      same_as_php({ a = 2 ^ 53, b = -(2 ^ 53), c = 1e300 },
        "a=9.007199254741E%2B15&b=-9.007199254741E%2B15&c=1.0E%2B300",
        "['a' => 2.0 ** 53, 'b' => -(2.0 ** 53), 'c' => 1e300]")
    end)

    it("writes an integral number below 2^53 as an integer under Lua 5.1 and LuaJIT, a float on 5.3+", function()
      -- 2^53 - 1 is a float on 5.3 and 5.4 (^ gives floats), an integer by the rule on 5.1
      local want = number.native and "a=9.007199254741E%2B15&b=1500.5" or "a=9007199254740991&b=1500.5"
      assert.are.equal(want, build_query({ a = 2 ^ 53 - 1, b = 1500.5 }))
    end)

    it("writes floats as PHP does with precision 14, urlencoded", function()
      local cases = {
        { 1500.0, "1500" }, { 0.1 + 0.2, "0.3" }, { 1 / 3, "0.33333333333333" },
        { 1e14, "1.0E%2B14" }, { 1e15, "1.0E%2B15" }, { 1.5e-5, "1.5E-5" }, { 0.0001, "0.0001" },
        { -0.0, "-0" }, { 1e-5, "1.0E-5" }, { -1.5, "-1.5" }, { 0.1, "0.1" },
        { 99999999999999.0, "99999999999999" }, { 99999999999999.4, "99999999999999" },
        { 99999999999999.5, "1.0E%2B14" },                 -- a tie, rounded half to even
        { 123456789012345.0, "1.2345678901234E%2B14" },    -- a tie, rounded half to even
        { 5e-324, "4.9406564584125E-324" }, { 1.7976931348623157e308, "1.7976931348623E%2B308" },
        { 2.0 ^ 53, "9.007199254741E%2B15" }, { 1e100, "1.0E%2B100" }, { -1e-10, "-1.0E-10" },
        { 9.99999999999995e-5, "0.0001" }, { 0.5, "0.5" }, { 123.456, "123.456" },
        -- zend_dtoa keeps trailing zeros when a 15-digit integer ties and rounds down
        { 100000000000005.0, "1.0000000000000E%2B14" }, { -899740508810305.0, "-8.9974050881030E%2B14" },
        { 100000000000015.0, "1.0000000000002E%2B14" }, { 899740508810301.0, "8.997405088103E%2B14" },
        { 999999999999995.0, "1.0E%2B15" },
      }
      local exprs = {}
      for i, case in ipairs(cases) do
        -- Lua 5.1 and LuaJIT cannot tell 1e14 from 100000000000000: the rule makes it an integer
        if not number.native and number.type(case[1]) == "integer" then case[2] = number.text(case[1]) end
        assert.are.equal("f=" .. case[2], build_query({ f = case[1] }), "float #" .. i)
        exprs[i] = "['f' => " .. php.literal(case[1]) .. "]"
      end
      for i, line in ipairs(php.queries(exprs)) do
        assert.are.equal("f=" .. cases[i][2], line, "PHP, float #" .. i)
      end
    end)
  end)

  describe("booleans, null and empty tables", function()
    it("writes true as 1 and false as 0, and keeps false", function()
      same_as_php({ t = true, f = false }, "f=0&t=1", "['f' => false, 't' => true]")
    end)

    it("skips justclick.null, which is cjson.null, and writes nothing for empty tables", function()
      assert.are.equal(require("cjson").null, null)
      same_as_php({ a = null, b = {}, c = { {} }, d = { x = null }, e = 1 }, "e=1",
        "['a' => null, 'b' => [], 'c' => [[]], 'd' => ['x' => null], 'e' => 1]")
      assert.are.equal("", build_query({}))
      assert.are.equal("", build_query({ null, x = {} }))
    end)
  end)

  describe("flat keys with brackets", function()
    it("mean the same as nested tables", function()
      local nested = build_query({ utm = { utm_medium = "cpc", utm_source = "direct" }, z = 1 })
      assert.are.equal(nested, build_query({ ["utm[utm_medium]"] = "cpc", ["utm[utm_source]"] = "direct", z = 1 }))
      assert.are.equal(nested, build_query({ ["utm[utm_medium]"] = "cpc", utm = { utm_source = "direct" }, z = 1 }))
      assert.are.equal("utm%5Butm_medium%5D=cpc&utm%5Butm_source%5D=direct&z=1", nested)
    end)

    it("merge with a nested table of the same name, in one sorted group", function()
      -- Byte order alone would put a0 between a and a[b]; PHP would then regroup a's keys.
      same_as_php({ a = { c = 1 }, a0 = 2, ["a[b]"] = 3, ["a[d][e]"] = 4 },
        "a%5Bb%5D=3&a%5Bc%5D=1&a%5Bd%5D%5Be%5D=4&a0=2",
        "['a' => ['b' => 3, 'c' => 1, 'd' => ['e' => 4]], 'a0' => 2]")
    end)

    it("may hold tables, and parts that PHP reads as they are ('[' inside, a leading space)", function()
      same_as_php({ ["a[x]"] = { "p", "q" }, ["b[c[d][ e]"] = 1 },
        "a%5Bx%5D%5B0%5D=p&a%5Bx%5D%5B1%5D=q&b%5Bc%5Bd%5D%5B+e%5D=1",
        "['a' => ['x' => ['p', 'q']], 'b' => ['c[d' => [' e' => 1]]]")
    end)
  end)

  describe("refuses values PHP cannot take", function()
    it("names the key path of a function, userdata, thread or light userdata", function()
      refuses({ goods = { { good_name = "a" }, { good_sum = print } } }, "goods[2].good_sum", "function")
      refuses({ a = io.stdout }, "a:", "userdata")
      refuses({ a = coroutine.create(function() end) }, "a:", "thread")
    end)

    it("refuses NaN and infinities", function()
      refuses({ goods = { { good_sum = 0 / 0 } } }, "goods[1].good_sum", "NaN")
      refuses({ x = math.huge }, "x:", "infinity")
      refuses({ x = { -math.huge } }, "x[1]", "infinity")
      refuses({ ["utm[x]"] = 0 / 0 }, '["utm[x]"]', "NaN")
    end)

    it("refuses reference cycles", function()
      local t = { a = {} }
      t.a.b = t
      refuses(t, "reference cycle")
      local u = {}
      u[1] = u
      refuses(u, "reference cycle")
    end)

    it("accepts 64 levels of nesting as PHP does, and refuses 65", function()
      local function chain(levels)
        local t = { v = 1 }
        for _ = 1, levels - 1 do t = { k = t } end
        return { top = t }
      end
      local ok64 = build_query(chain(64))
      assert.are.equal(ok64, php.map({ "0" },
        '$k = str_repeat("[k]", 63); parse_str("top$k%5Bv%5D=1", $a); echo http_build_query($a), "\\n";')[1])
      refuses(chain(65), "nested deeper than 64", "top.k.k")
    end)

    it("refuses any depth without exhausting the C stack", function()
      local t = {}
      local x = t
      for _ = 1, 200000 do
        x.k = {}
        x = x.k
      end
      refuses(t, "nested deeper than 64")
    end)
  end)

  describe("refuses keys that PHP's request parsing would change", function()
    it("refuses sparse integer keys and positions outside 1..n", function()
      refuses({ goods = { [1] = "a", [3] = "c" } }, "goods:", "without gaps")
      refuses({ l = { [0] = "a" } }, "l:", "integer key 0")
      refuses({ [-1] = "a" }, "top-level table", "integer key -1")
    end)

    it("refuses float, boolean and table keys", function()
      refuses({ a = { [1.5] = 1 } }, "a:", "float")
      refuses({ [true] = 1 }, "boolean key")
      refuses({ a = { [{}] = 1 } }, "a:", "table key")
    end)

    it("refuses top-level keys PHP drops or renames", function()
      refuses({ [""] = 1 }, '[""]', "empty key")
      refuses({ [" a"] = 1 }, '[" a"]', "starts with a space")
      refuses({ ["a.b"] = 1 }, '["a.b"]', "'.' and ' '")
      refuses({ ["a b"] = 1 }, '["a b"]', "'.' and ' '")
      refuses({ ["a b[c]"] = 1 }, "'.' and ' '")
    end)

    it("refuses malformed brackets in top-level keys", function()
      refuses({ ["a[b"] = 1 }, '["a[b"]', "without a matching ']'")
      refuses({ ["a[b]c"] = 1 }, '["a[b]c"]', "after ']'")
      refuses({ ["a[b]]"] = 1 }, "after ']'")
      refuses({ ["a[b]["] = 1 }, "without a matching ']'")
      refuses({ ["[a]"] = 1 }, "no name")
      refuses({ ["a[]"] = 1 }, "empty key")
      refuses({ ["a[ ]"] = 1 }, "single blank")
      refuses({ ["a" .. ("[x]"):rep(65)] = 1 }, "more than 64")
    end)

    it("refuses empty nested keys, ']' in them, and a single blank", function()
      refuses({ a = { [""] = 1 } }, 'a[""]', "empty key")
      refuses({ a = { ["b]"] = 1 } }, 'a["b]"]', "']'")
      for _, blank in ipairs({ " ", "\t", "\n", "\v", "\f", "\r" }) do
        refuses({ a = { [blank] = 1 } }, "single blank")
      end
    end)

    it("refuses NUL in any key", function()
      refuses({ ["a\0"] = 1 }, '["a\\x00"]', "NUL")
      refuses({ a = { ["b\0c"] = 1 } }, "NUL")
      refuses({ ["a[b\0]"] = 1 }, "NUL")
    end)

    it("refuses one name used both as a scalar and as a table", function()
      refuses({ a = 1, ["a[b]"] = 2 }, "both as a value and as a table")
      refuses({ a = { b = 1 }, ["a[b]"] = 2 }, "a.b", "given twice")
      refuses({ ["a[b]"] = 1, ["a[b][c]"] = 2 }, "both as a value and as a table")
    end)

    it("refuses a string key that PHP reads as the position of a list element", function()
      refuses({ "x", ["0"] = "y" }, '["0"]', "list position")
      refuses({ l = { "x", "y" }, ["l[1]"] = "z" }, "list position")
      assert.are.equal("l%5B0%5D=x&l%5B01%5D=y", build_query({ l = { "x", ["01"] = "y" } }))
      assert.are.equal("0=x&5=y", build_query({ "x", ["5"] = "y" }))
    end)
  end)

  describe("metatables", function()
    local function with_meta(mt, t) return setmetatable(t or {}, mt) end

    it("refuse a table whose metatable changes what Lua code reads from it, at any level", function()
      local hidden = { __index = { good_name = "a" } }
      for _, mm in ipairs({ "__index", "__pairs", "__len" }) do
        local mt = { [mm] = mm == "__index" and {} or function() end }
        local what = "a table with " .. mm .. " in its metatable cannot be sent"
        refuses(with_meta(mt, { a = 1 }), "justclick: top-level table: " .. what, "pass a plain table")
        refuses({ goods = { with_meta(mt, { good_name = "a" }) } }, "justclick: goods[1]: " .. what)
        refuses({ utm = { x = with_meta(mt) } }, "justclick: utm.x: " .. what)
        refuses({ ["utm[x]"] = with_meta(mt) }, "justclick: utm.x: " .. what)
      end
      -- Lua code reads goods[1].good_name here, where a raw read finds nothing to send.
      refuses({ goods = { with_meta(hidden) } }, "goods[1]", "__index")
    end)

    it("ignore any other metatable, which changes nothing that is read", function()
      local others = {
        { __gc = function() end },
        { __tostring = function() return "x" end },
        { __name = "array", __newindex = function() end }, -- a JSON library's marker
      }
      for _, mt in ipairs(others) do
        same_as_php(with_meta(mt, { b = with_meta(mt, { "x", "y" }), a = 1 }), "a=1&b%5B0%5D=x&b%5B1%5D=y",
          "['a' => 1, 'b' => ['x', 'y']]")
      end
    end)
  end)

  describe("max_input_vars", function()
    local function vars(n)
      local t = {}
      for i = 1, n do t[i] = "v" end
      return t
    end

    it("writes 1000 variables, PHP's default limit, and refuses 1001", function()
      assert.are.equal(1000, select(2, build_query(vars(1000)):gsub("=", "")))
      refuses(vars(1001), "[1001]", "max_input_vars")
    end)

    it("takes another limit, or false for none", function()
      assert.is_string(build_query(vars(10), { max_input_vars = 10 }))
      local ok, err = pcall(build_query, vars(11), { max_input_vars = 10 })
      assert.is_false(ok)
      assert.is_truthy(err:find("[11]: more than 10 variables", 1, true), err)
      assert.are.equal(5000, select(2, build_query(vars(5000), { max_input_vars = false }):gsub("=", "")))
    end)

    it("refuses unknown options and bad limits", function()
      assert.error_matches(function() build_query({}, { max_input_var = 1 }) end,
        "justclick: unknown option 'max_input_var'", 1, true)
      assert.has_error(function() build_query({}, { max_input_vars = 0 }) end)
      assert.has_error(function() build_query({}, { max_input_vars = true }) end)
      assert.has_error(function() build_query({}, 5) end)
      -- Names are compared by length too: a NUL does not end them.
      assert.error_matches(function() build_query({ 1, 2 }, { ["max_input_vars\0x"] = 1 }) end,
        "justclick: unknown option 'max_input_vars", 1, true)
    end)
  end)

  it("raises on a non-table argument", function()
    assert.has_error(function() build_query("a=1") end)
    assert.has_error(function() build_query() end)
  end)
end)
