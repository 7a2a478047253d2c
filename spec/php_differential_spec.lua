-- build_query against the php binary on thousands of random tables.
-- The rule: for any input, either our bytes equal PHP's http_build_query and come back unchanged
-- through PHP's parse_str and http_build_query, or build_query raises. Here it is checked both
-- ways: when we raise, PHP must indeed alter the data, so no input is refused needlessly. One
-- deliberate exception: keys are checked even where their value writes nothing (null, an empty
-- table), and a top-level key is checked on its own, though the keys nested below it might
-- complete its brackets ("x[y][" holding {[""] = 1}). Such a refusal is justified by PHP
-- altering the same data with those values filled in, or the top-level key sent on its own.
-- Set JUSTCLICK_SEED to replay a run; the seed is in every failure message.
local justclick = require "justclick"
local php = require "support.php"
local gen = require "support.gen"

local null = justclick.null
local seed = tonumber(os.getenv("JUSTCLICK_SEED")) or os.time()

-- PHP's reading of data is intact when its array holds every scalar we have (a literal like
-- [2 => 1, "2" => 0] collapses), parse_str gives back the same shape (every key at every level;
-- nulls and empty arrays write nothing), and http_build_query then rebuilds the same bytes.
-- Comparing bytes alone would miss a key like "a][b", which PHP reads as two levels and writes
-- back identically.
local PHP_SHAPE = [[
function leaves($a) { $n = 0; foreach ($a as $v) { $n += is_array($v) ? leaves($v) : ($v !== null); } return $n; }
function shape($a) {
  $s = [];
  foreach ($a as $k => $v) {
    if (is_array($v)) { $c = shape($v); if ($c) $s[$k] = $c; } elseif ($v !== null) { $s[$k] = 1; }
  }
  return $s;
}
]]
-- $x holds pairs of an array and its count of scalars: the data, then its variants. Prints a
-- flag for each variant and then the data (1: intact), and PHP's query of the data.
local PHP_CHECK = [[
for ($i = count($x) - 2; $i >= 0; $i -= 2) {
  $q = http_build_query($x[$i]);
  parse_str($q, $back);
  $same = leaves($x[$i]) === $x[$i + 1] && shape($back) == shape($x[$i]);
  echo ($same && http_build_query($back) === $q) ? "1" : "0";
}
echo " ", $q, "\n";
]]

local function php_case(tree)
  local parts = {}
  for _, v in ipairs({ tree, gen.filled(tree, null), gen.top_level_only(tree) }) do
    parts[#parts + 1] = gen.php_literal(v, php, null) .. ", " .. gen.leaves(v, null)
  end
  return "[" .. table.concat(parts, ", ") .. "]"
end

describe("build_query against PHP (seed " .. seed .. ")", function()
  before_each(function() math.randomseed(seed) end)

  local function run_cases(count, flatten)
    local cases, exprs = {}, {}
    for i = 1, count do
      local tree = gen.tree(null)
      local t = gen.lua_table(tree, flatten)
      local ok, out = pcall(justclick.build_query, t)
      cases[i] = { t = t, ok = ok, out = out }
      exprs[i] = php_case(tree)
    end
    local encoded, refused = 0, 0
    for i, line in ipairs(php.map(exprs, PHP_CHECK, PHP_SHAPE)) do
      local c = cases[i]
      local flags, php_out = line:match("^(%d+) (.*)$")
      local justified, intact = flags:find("0") ~= nil, flags:sub(-1) == "1"
      local where = ("seed %d, case %d: %s"):format(seed, i, gen.dump(c.t, null))
      if c.ok then
        encoded = encoded + 1
        assert.are.equal(php_out, c.out, where)
        assert.is_true(intact, "PHP would not read back what we wrote: " .. where)
      else
        refused = refused + 1
        assert.is_true(justified, "refused data that PHP reads back intact (" .. tostring(c.out) .. "): " .. where)
      end
    end
    -- The generator must exercise both outcomes, or the comparison proves little.
    assert.is_true(encoded > count / 5 and refused > count / 20,
      ("encoded %d, refused %d of %d"):format(encoded, refused, count))
  end

  it("matches PHP on 3000 random nested tables", function()
    run_cases(gen.count(3000), false)
  end)

  it("matches PHP on 3000 random tables that use flat bracket keys", function()
    run_cases(gen.count(3000), true)
  end)

  it("writes 20000 random floats of every magnitude as PHP does", function()
    local floats, exprs = {}, {}
    for i = 1, gen.count(20000) do
      floats[i] = gen.float()
      exprs[i] = "['f' => " .. php.literal(floats[i]) .. "]"
    end
    for i, line in ipairs(php.queries(exprs)) do
      assert.are.equal(line, justclick.build_query({ f = floats[i] }),
        ("seed %d: %.17g"):format(seed, floats[i]))
    end
  end)

  it("refuses values PHP cannot represent wherever they are nested", function()
    for i = 1, gen.count(300) do
      local t = gen.lua_table(gen.tree(null), i % 2 == 0)
      local bad = ({ 0 / 0, math.huge, -math.huge, print, coroutine.create(function() end), io.stdout })[i % 6 + 1]
      local x = t
      while true do -- descend into a random table, then plant the bad value there
        local inner = {}
        for _, v in pairs(x) do if type(v) == "table" and v ~= null then inner[#inner + 1] = v end end
        if #inner == 0 or math.random() < 0.3 then break end
        x = inner[math.random(#inner)]
      end
      x.zz_bad = bad
      local ok, err = pcall(justclick.build_query, t)
      assert.is_false(ok, ("seed %d, case %d: %s"):format(seed, i, gen.dump(t, null)))
      assert.is_string(err)
    end
  end)
end)
