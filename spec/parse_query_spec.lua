-- core.parse_query against PHP itself: parse_str under php -n, and a real $_POST read by php -S,
-- on fixed hostile bodies and on thousands of random ones; round trips with build_query; time
-- on 64 KiB hostile bodies. Both sides are compared through form_php.canon, which keeps the
-- whole of what a parse_query table says: list prefixes, every key (PHP's integer 5 and
-- parse_query's "5" alike, with PHP's key types checked on its side), every value's bytes.
-- Set JUSTCLICK_SEED to replay a run; the seed is in every failure message.
local core = require "justclick.core"
local gen = require "support.gen"
local form_gen = require "support.form_gen"
local form_php = require "support.form_php"
local number = require "support.number"
local luaver = require "support.luaver"

local seed = tonumber(os.getenv("JUSTCLICK_SEED")) or os.time()
local canon = form_php.canon
local null = core.null
local LIFTED = 1000000000 -- max_input_vars for PHP when ours is lifted (false)

local function shown(body)
  local s = ("%q"):format(body):gsub("\\\n", "\\n")
  return #s > 300 and s:sub(1, 300) .. ("... (%d bytes)"):format(#body) or s
end

local function deep(levels, group) return "a" .. (group or "[x]"):rep(levels) end

local function vars(n, from)
  local t = {}
  for i = 1, n do t[i] = ("v%d=%d"):format((from or 0) + i, i) end
  return table.concat(t, "&")
end

-- Bodies whose reading by parse_str and by $_POST is the same. Each PHP rule is here at least
-- once; what each gives is PHP's to say.
local FIXED = {
  -- brackets: unmatched, ignored text, append, blanks
  "a[b=1", "a[b.c d[e=1", "a[ b=1", "a[\t=1", "a.[b=1", "a[b[=1", "a[b[c]=1", "a[b][c=1",
  "a[][b=1", "a[b]c=1", "a[b]c[d]=1", "a[b] [c]=1", "a[b]]=1", "a]b=1", "a]=1", "[a]=1", "[]=1",
  "a[]=1", "a[ ]=1", "a[\t]=1", "a[\n]=1", "a[\v]=1", "a[\f]=1", "a[\r]=1", "a[%20]=1",
  "a[+]=1", "a[%A0]=1", "a[%85]=1", "a[%1C]=1", "a[  ]=1", "a[ \t]=1", "a[ x]=1", "a[x ]=1",
  "a[ ]]=1", "a[%5D]=1", "a%5Bb%5D=1", "a%5Bb=1", "a[b%5D=1",
  -- top-level names
  " a=1", "  .a b=1", "a b[c]=1", "a.b[c.d]=1", "a+b=1+2", "%20a=1", "+a=1", "a.=1", ".=1",
  " =1", " [a]=1", "_=1", "GLOBALS=1", "this=1", "_POST[x]=1",
  -- NUL and escapes
  "a%00b=1", "a=x%00y", "a[b%00c]=1", "%00=1", "%00a=1", "a[%00]=1", "a%zz=%zz%4", "a=%", "a=%4",
  "a=%%41", "a=%41%4a%4A", "%61=1", "a=%2B+%20", "a%3Db=1", "a=b%26c=d",
  -- values and pairs
  "=x", "=", "&&", "&", "&a=1&", "a", "a&b=", "a==b", "a=b=c", "a=1;b=2", "",
  -- integer and string keys
  "a[5]=1&a[]=2", "a[-5]=1&a[]=2", "a[-5]=1&a[-10]=1&a[]=2", "a[-5]=1&a[3]=1&a[]=2",
  "a[9223372036854775807]=1&a[]=2", "a[9223372036854775807]=1&a[][x]=2",
  "a[9223372036854775806]=1&a[]=2&a[]=3", "a[-9223372036854775808]=1&a[]=2",
  "a[9223372036854775808]=1&a[]=2", "a[-9223372036854775809]=1&a[]=2",
  "a[07]=1&a[-0]=2&a[-1]=3&a[+1]=4&a[1.5]=5&a[ 1]=6&a[1e3]=7&a[0x1]=8&a[00]=9&a[0]=10",
  "07=a&-1=b&9223372036854775808=c&-9223372036854775808=d&-9223372036854775809=e&0=f",
  "a[1]=x&a[0]=y", "0=a&1=b", "0=a&1=b&k=c", "1=a&0=b", "0=a&2=b&1=c", "a[0]=x&a[1]=y&a[k]=z",
  "a[x]=1&a[]=2", "a[]=1&a[0]=2&a[]=3", "a[1][]=1&a[1][]=2&a[]=3", "a[0]=1&a[01]=2",
  "a[b]=1&a[%62]=2",
  -- duplicates, scalars and arrays over each other
  "a=1&b=2&a=3", "a[b]=1&a[c]=2&a[b]=3", "a=1&a[b]=2", "a[b]=1&a=2", "a[x]=1&a[x][]=2&a[x]=3",
  "a[b]=1&a[b][c]=2&a[d]=3&a[b]=4", "a=1&a[]=2&a[]=3", "a[]=1&a=2&a[]=3", "a[b][c]=1&a[b]=2&a[b][d]=3",
  -- nesting at and past 64 levels (a '[' without ']' counts as a level too)
  deep(64) .. "=1", deep(65) .. "=1", deep(64) .. "[y=1", deep(63) .. "[y=1", deep(64, "[]") .. "=1",
  deep(65, "[]") .. "=1", "a[q]=1&" .. deep(65) .. "=2&b=3", "a[q]=1&" .. deep(65) .. "=2&a[r]=3",
  "0=a&1=b&0" .. ("[x]"):rep(65) .. "=2", "0=a&1=b&1" .. ("[x]"):rep(65) .. "=2",
  deep(65) .. "=1&a=2", "a=1&" .. deep(65) .. "=2&a=3&" .. deep(65) .. "=4",
  -- a long key, and many variables (see below for the limit itself)
  ("k"):rep(70000) .. "[" .. ("j"):rep(70000) .. "]=1", vars(1000), vars(999) .. "&a[]=1&a[]=2",
}

-- The limit: $_POST keeps max_input_vars + 1 pairs, counting empty ones; parse_str keeps
-- max_input_vars and skips empty pieces. parse_str under max_input_vars = 1001 reads these as
-- $_POST reads them under 1000, parse_query's default.
local LIMIT = { vars(1001), vars(1002), vars(1005), vars(1000) .. "&a[b][c]=1&a[b][d]=2", vars(1100) .. "&" .. deep(65) .. "=x" }

-- Bodies that only $_POST reads this way: raw NUL bytes (parse_str stops at the first), and
-- empty pieces that count toward the limit.
local POST_ONLY = {
  "a\0b=1&c=x\0y&d\0e=2", "\0a=1", "a=1\0&b=2", "a[b\0c]=1", "a[]=\0",
  "&&&" .. vars(1005), vars(998) .. "&&&" .. vars(5, 1000), ("&"):rep(1000) .. "a=1&b=2", ("&"):rep(999) .. "a=1&b=2",
}

-- PHP's walk over a name (php_register_variable_ex) checks the nesting level as it enters each
-- level, and can leave the walk before it reaches the limit: when an append is refused (the
-- array holds the key 9223372036854775807 already: nothing is stored) or when a key is
-- forbidden (it starts with "__Host-" or "__Secure-" and the name as sent did not: the levels
-- before it stay made, empty). Then the top-level variable is not deleted, however deep the
-- name. Read under nesting levels 0 to 4 and 64, and by $_POST under 3 with max_input_vars 7.
local MAX = "9223372036854775807"
local ORDER = {
  -- refused appends, before the level that is too deep, at it, and after a path made anew
  "_[" .. MAX .. "]=a&_[][b][c][d][e]=x", "_[" .. MAX .. "]=a&_[][b][c][d", "_[" .. MAX .. "]=a&_[ ][b][c][d][e]=x",
  "a[b][" .. MAX .. "]=1&a[b][][c][d][e]=2", "a[b][c][" .. MAX .. "]=1&a[b][c][][d][e]=2",
  "a[b][c][d][" .. MAX .. "]=1&a[b][c][d][][e][f]=2", "a[" .. MAX .. "]=1&a[x][][b][c][d]=2",
  "a[" .. MAX .. "]=1&a[" .. MAX .. "][][b][c][d]=2", "a[" .. MAX .. "]=1&a[][b][c][d][e]=2&a[]=3&b=4",
  "a[x]=1&a[" .. MAX .. "]=2&a[][b][c][d][e]=3&a[y]=4", "a[b]=1&" .. deep(6) .. "=2&a[" .. MAX .. "]=3&a[][b][c][d][e]=4",
  "a[" .. MAX .. "]=1&" .. deep(6) .. "=2&a[][b][c][d][e]=3",
  -- forbidden keys: at the top, below it, with nesting past the limit after them
  "a[__Host-x]=1&b=2", "_.Host-y=3&b=2", "__Host-z[__Secure-q]=4", "c=1&c[__Secure-w][x]=5", "_[Host-k=6",
  "_%20Host-k=1", "._Secure-k=1", "__Host-x=1&_.Host-x[a][b][c][d]=2", "a=1&a[b][__Host-x]=2",
  "a[x]=1&a[__Host-y][b][c][d]=2", "a[__Host-x][b][c][d]=1", "a[b][c][__Host-x][d][e]=1",
  "__Secure-a[__Secure-b][__Host-c]=1", "__Host-a[__Host-b][c][__Host-d]=1", "__Host-a[__Host-b][c][d][e]=1",
  "__Host-=1&__Secure-=2&_.Secure-=3&__Host=4&__host-x=5&__Host_x=6", "a[__Secure-]=1&a[__Secure]=2",
  " __Host-a[__Host-b]=1", "%20_.Host-a=1", "a[ __Host-b]=1", "a[b][__Host-c=1", "a[__Host-b=1",
  "a[__Host-x][]=1&a[]=2", "a[__Host-x]=1&" .. deep(6) .. "=2&a[y]=3", "a%5B__Host-x%5D=1",
}

describe("parse_query (seed " .. seed .. ")", function()
  before_each(function() math.randomseed(seed) end)

  local function compare(bodies, php_lines, opts, what)
    for i, body in ipairs(bodies) do
      local t = core.parse_query(body, opts)
      assert.are.equal(php_lines[i], canon(t), ("%s, seed %d, case %d: %s"):format(what, seed, i, shown(body)))
    end
  end

  describe("against PHP's parse_str", function()
    it("reads " .. #FIXED .. " fixed hostile bodies as PHP does", function()
      compare(FIXED, form_php.parse_str(FIXED, { max_input_vars = 1001 }), nil, "fixed")
    end)

    it("keeps max_input_vars + 1 variables, as $_POST does", function()
      compare(LIMIT, form_php.parse_str(LIMIT, { max_input_vars = 1001 }), nil, "limit")
      local t, dropped = core.parse_query(vars(1005))
      assert.are.equal("1001", t.v1001)
      assert.is_nil(t.v1002)
      assert.are.equal(4, dropped)
      local _, none = core.parse_query(vars(1001))
      assert.are.equal(0, none)
      local small = { vars(6), vars(7), vars(20) .. "&a[]=1", "a[]=1&a[]=2&a[]=3&a[]=4&a[]=5&a[]=6" }
      compare(small, form_php.parse_str(small, { max_input_vars = 6 }), { max_input_vars = 5 }, "limit 5")
    end)

    it("drops what nests past max_input_nesting_level, and counts it", function()
      local t, dropped = core.parse_query(deep(65) .. "=1")
      assert.are.same({}, t)
      assert.are.equal(1, dropped)
      -- PHP deletes all of a, then a starts again
      t, dropped = core.parse_query("a[q]=1&" .. deep(65) .. "=2&a[r]=3")
      assert.are.same({ a = { r = "3" } }, t)
      assert.are.equal(1, dropped)
      t, dropped = core.parse_query("a[q]=1&" .. deep(65) .. "=2&a[r]=3&b=4&" .. deep(70) .. "=5")
      assert.are.same({ b = "4" }, t)
      assert.are.equal(2, dropped)
      local levels = { "a=1", "a[b]=1", "a[b][c]=1", "a[b][c][d]=1", "a[b][c][d][e]=1", "a[b][c][d=1", "a[]=1&a[b][c][]=2" }
      for depth = 0, 4 do
        compare(levels, form_php.parse_str(levels, { max_input_nesting_level = depth }),
          { max_input_nesting_level = depth }, "nesting level " .. depth)
      end
    end)

    it("leaves a name as PHP does, before its nesting level is checked, when an append is refused or a key forbidden", function()
      for _, depth in ipairs({ 0, 1, 2, 3, 4, 64 }) do
        compare(ORDER, form_php.parse_str(ORDER, { max_input_nesting_level = depth }),
          { max_input_nesting_level = depth }, "order of checks, nesting level " .. depth)
      end
      -- the case a differential run found (seed 1796600198 under Lua 5.1): _ is kept
      local t, dropped = core.parse_query(ORDER[1], { max_input_nesting_level = 3 })
      assert.are.same({ _ = { [MAX] = "a" } }, t)
      assert.are.equal(0, dropped)
      t, dropped = core.parse_query("a=1&a[b][__Host-x]=2", { max_input_nesting_level = 3 })
      assert.are.same({ a = { b = {} } }, t)
      assert.are.equal(0, dropped)
    end)

    it("reads 3000 random bodies as PHP does", function()
      local bodies = {}
      for i = 1, gen.count(3000) do bodies[i] = form_gen.body(12) end
      compare(bodies, form_php.parse_str(bodies, { max_input_vars = LIFTED }), { max_input_vars = false }, "random")
    end)

    it("reads 1000 random bodies as PHP does under a nesting level of 3", function()
      local bodies = {}
      for i = 1, gen.count(1000) do bodies[i] = form_gen.body(8, { max_depth = 3, deep = 0.3 }) end
      compare(bodies, form_php.parse_str(bodies, { max_input_vars = LIFTED, max_input_nesting_level = 3 }),
        { max_input_vars = false, max_input_nesting_level = 3 }, "random, nesting 3")
    end)
  end)

  describe("against a real $_POST (php -S)", function()
    -- What parse_query says was dropped: the pairs PHP found nested too deep, and the pairs after
    -- the limit that PHP would have kept.
    local function check_post(server, bodies, limits, what)
      local max_vars = limits and limits.max_input_vars or 1000
      for i, body in ipairs(bodies) do
        local where = ("%s, seed %d, case %d: %s"):format(what, seed, i, shown(body))
        local php, nested, exceeded = server:post(body)
        local t, dropped = core.parse_query(body, limits)
        assert.are.equal(php, canon(t), where)
        local pieces, past = form_gen.pieces(body), 0
        for j = max_vars + 2, #pieces do
          if form_gen.keeps_name(pieces[j]) then past = past + 1 end
        end
        assert.are.equal(#pieces > max_vars, exceeded, "the limit was reached: " .. where)
        assert.are.equal(nested + past, dropped, "dropped: " .. where)
      end
    end

    it("reads the fixed bodies, raw NUL and empty pieces included, as $_POST does", function()
      local server = form_php.server()
      finally(function() server:stop() end)
      local bodies = {}
      for _, list in ipairs({ FIXED, LIMIT, POST_ONLY }) do
        for _, b in ipairs(list) do bodies[#bodies + 1] = b end
      end
      check_post(server, bodies, nil, "fixed $_POST")
    end)

    it("reads the order-of-checks bodies as $_POST does under max_input_vars 7 and nesting level 3", function()
      local limits = { max_input_vars = 7, max_input_nesting_level = 3 }
      local server = form_php.server(limits)
      finally(function() server:stop() end)
      local bodies = {}
      for _, b in ipairs(ORDER) do bodies[#bodies + 1] = b end
      -- refused appends and forbidden keys count toward the limit as stored pairs do
      for _, b in ipairs({
        "a[" .. MAX .. "]=1&a[]=2&a[]=3&a[][x]=4&b=5&c=6&d=7&e=8&f=9&g=10",
        "a[" .. MAX .. "]=1&a[][b][c][d][e]=2&a[__Host-q]=3&_.Host-r=4&b=5&c=6&d=7&e=8&f=9",
        "a[" .. MAX .. "]=1&a[]=2&a[]=3&a[]=4&a[]=5&a[]=6&a[]=7&a[]=8&" .. deep(6) .. "=9",
        "a[" .. MAX .. "]=1&a[]=2&a[]=3&a[]=4&a[]=5&a[]=6&" .. deep(6) .. "=7&a[]=8&b=9",
        "a[" .. MAX .. "]=1&a[][b][c][d][e]=2&a[][b][c][d][e]=3&a[][b][c][d][e]=4&b=5&c=6&d=7&e=8",
      }) do bodies[#bodies + 1] = b end
      check_post(server, bodies, limits, "order of checks $_POST")
    end)

    it("reads 300 random bodies as $_POST does", function()
      local server = form_php.server()
      finally(function() server:stop() end)
      local bodies = {}
      for i = 1, gen.count(300) do bodies[i] = form_gen.body(12, { raw_nul = true }) end
      check_post(server, bodies, nil, "random $_POST")
    end)

    it("reads 300 random bodies as $_POST does under max_input_vars 7 and nesting level 3", function()
      local limits = { max_input_vars = 7, max_input_nesting_level = 3 }
      local server = form_php.server(limits)
      finally(function() server:stop() end)
      local bodies = {}
      for i = 1, gen.count(300) do bodies[i] = form_gen.body(14, { raw_nul = true, max_depth = 3, deep = 0.3 }) end
      check_post(server, bodies, limits, "random $_POST, small limits")
    end)
  end)

  describe("with build_query", function()
    -- The string PHP's request gives for a scalar that build_query wrote.
    local function php_string(v)
      if type(v) == "string" then return v end
      if number.type(v) == "integer" then return number.text(v) end
      if type(v) == "boolean" then return v and "1" or "0" end
      return form_gen.decode(core.build_query({ v = v }):sub(3)) -- a float, as PHP writes it
    end
    -- A string key as PHP's arrays hold it: a canonical decimal that fits is the integer.
    local function php_key(k)
      if k == "0" or k:match("^%-?[1-9]%d*$") then return number.tointeger(tonumber(k)) or k end
      return k
    end
    -- What parse_query should give for build_query's writing of a generated tree: every value a
    -- string; nulls and empty tables gone; keys as PHP reads them in build_query's order, the
    -- leading 0, 1, 2... a Lua sequence and the rest strings.
    local function expected(v)
      if not gen.is_node(v) then
        if v == null then return nil end
        return php_string(v)
      end
      local keys, values = {}, {}
      for _, pair in ipairs(gen.pairs(v)) do
        local x = expected(pair[2])
        if x ~= nil then
          keys[#keys + 1] = number.type(pair[1]) == "integer" and pair[1] - 1 or php_key(pair[1])
          values[#values + 1] = x
        end
      end
      if #keys == 0 then return nil end
      local t, prefix = {}, 0
      for i, k in ipairs(keys) do
        if prefix == i - 1 and k == i - 1 then
          prefix = i
          t[i] = values[i]
        else
          t[tostring(k)] = values[i]
        end
      end
      return t
    end

    -- Whether a list in the tree has an element that writes nothing (null, an empty table)
    -- before one that writes something: build_query then writes integer keys with a gap, which
    -- PHP, and parse_query, read as an array that is not a list, whose keys build_query writes
    -- back as strings, in byte order ("3" after "0x").
    local function has_gap(v)
      if not gen.is_node(v) then return false end
      local gap = false
      for _, x in ipairs(v.list) do
        if expected(x) == nil then gap = true elseif gap or has_gap(x) then return true end
      end
      for _, x in pairs(v.map) do
        if has_gap(x) then return true end
      end
      return false
    end

    it("gives back build_query's bytes: build_query(parse_query(s)) == s", function()
      local done = 0
      local count = gen.count(3000)
      for i = 1, count do
        local tree = gen.tree(null)
        local ok, s = pcall(core.build_query, gen.lua_table(tree, i % 2 == 0))
        if ok and not has_gap(tree) then
          done = done + 1
          local back, dropped = core.parse_query(s)
          local where = ("seed %d, case %d: %s"):format(seed, i, shown(s))
          assert.are.equal(0, dropped, where)
          assert.are.equal(s, core.build_query(back), where)
        end
      end
      assert.is_true(done > count / 5, "only " .. done .. " tables encoded")
    end)

    it("gives back build_query's tables, every value a string: parse_query(build_query(t)) equals t", function()
      local done = 0
      local count = gen.count(3000)
      for i = 1, count do
        local tree = gen.tree(null)
        local ok, s = pcall(core.build_query, gen.lua_table(tree, i % 2 == 0))
        if ok then
          done = done + 1
          assert.are.equal(canon(expected(tree) or {}), canon((core.parse_query(s))),
            ("seed %d, case %d: %s from %s"):format(seed, i, shown(s), gen.dump(gen.lua_table(tree), null)))
        end
      end
      assert.is_true(done > count / 5, "only " .. done .. " tables encoded")
      assert.are.same({ "1", "2", { x = "1.5", y = "1" } }, core.parse_query(core.build_query({ 1, 2, { x = 1.5, y = true } })))
    end)
  end)

  describe("its arguments", function()
    it("takes a string and an options table, and refuses anything else", function()
      assert.has_error(function() core.parse_query() end)
      assert.has_error(function() core.parse_query(42) end)
      assert.has_error(function() core.parse_query({}) end)
      assert.has_error(function() core.parse_query("a=1", "max_input_vars") end)
      assert.has_error(function() core.parse_query("a=1", { max_vars = 1 }) end, "justclick: unknown option 'max_vars'")
      assert.has_error(function() core.parse_query("a=1", { 5 }) end, "justclick: options are keyed by name")
      for _, bad in ipairs({ 0, -1, 1.5, true, "10" }) do
        assert.has_error(function() core.parse_query("a=1", { max_input_vars = bad }) end,
          "justclick: max_input_vars must be a positive integer or false")
      end
      for _, bad in ipairs({ -1, 1.5, false, "3", number.maxinteger }) do
        assert.has_error(function() core.parse_query("a=1", { max_input_nesting_level = bad }) end)
      end
      local t, dropped = core.parse_query("a=1&b=2&c=3", { max_input_vars = 1, max_input_nesting_level = 0 })
      assert.are.same({ a = "1", b = "2" }, t)
      assert.are.equal(1, dropped)
      assert.are.same({ a = "1", b = "2", c = "3" }, (core.parse_query("a=1&b=2&c=3", { max_input_vars = false })))
      assert.are.same({}, (core.parse_query("a[b]=1", { max_input_nesting_level = 0 })))
    end)

    it("leaves no trace between calls, and serves a finalizer that calls it mid-call", function()
      local seen
      for _ = 1, 50 do
        luaver.finalizer(function() seen = core.parse_query("g[x]=1&g[]=2") end)
      end
      local body = vars(900, 0) .. "&" .. ("a[]=1&"):rep(500)
      local first = canon((core.parse_query(body, { max_input_vars = false })))
      for _ = 1, 3 do
        collectgarbage("step", 0)
        assert.are.equal(first, canon((core.parse_query(body, { max_input_vars = false }))))
      end
      collectgarbage()
      assert.are.same({ g = { x = "1", ["0"] = "2" } }, seen)
    end)
  end)

  describe("on hostile bodies", function()
    -- Under valgrind or the ASan host, a bound that still catches a quadratic blowup.
    local BOUND = gen.tooled and 5 or 0.05
    local SIZE = 64 * 1024

    local function fill(unit, prefix)
      prefix = prefix or ""
      return prefix .. unit:rep(math.floor((SIZE - #prefix) / #unit))
    end
    local long_keys = {}
    for i = 1, math.floor(SIZE / 1100) do long_keys[i] = ("k"):rep(1000) .. i .. "=1" end
    local distinct = {}
    for i = 1, math.floor(SIZE / 12) do distinct[i] = ("a[k%d]="):format(i) end
    local listed = {}
    for i = 1, math.floor(SIZE / 12) do listed[i] = ("a[%d]=x"):format(i - 1) end

    local HOSTILE = {
      appends = fill("a[]=1&"),
      duplicates = fill("a=1&"),
      ["deep appends"] = fill("a" .. ("[]"):rep(64) .. "=1&"),
      ["too deep"] = fill(deep(65) .. "=1&"),
      ["too deep, then kept"] = fill(deep(65) .. "=1&a[x]=2&"),
      ["one long key"] = ("a"):rep(SIZE - 2) .. "=1",
      ["one long nested key"] = "a[" .. ("b"):rep(SIZE - 5) .. "]=1",
      ["long keys"] = table.concat(long_keys, "&"),
      ["distinct keys"] = table.concat(distinct, "&"),
      ["a long list"] = table.concat(listed, "&"),
      ["a scalar and an array by turns"] = fill("a=1&a[b]=2&"),
      ["refused appends"] = fill("a[]=1&", "a[9223372036854775807]=1&"),
      ["escapes"] = fill("%41"),
      ["unmatched brackets"] = fill("a[b.c d[e[f=1&"),
      ["empty pieces"] = fill("&"),
      ["integer keys"] = fill("a[-9223372036854775808][9223372036854775807]=1&"),
    }

    for name, body in pairs(HOSTILE) do
      it(("parses %d bytes of %s in well under 50 ms"):format(#body, name), function()
        core.parse_query(body, { max_input_vars = false }) -- warm up
        local start = require("justclick.bench").cpu()
        local t = core.parse_query(body, { max_input_vars = false })
        local took = require("justclick.bench").cpu() - start
        assert.is_table(t)
        assert.is_true(took < BOUND, ("%s: %.1f ms"):format(name, took * 1000))
      end)
    end
  end)
end)
