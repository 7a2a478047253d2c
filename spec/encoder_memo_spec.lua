-- The encoder remembers, between calls, what each key name's bytes told it (found by the address
-- of the bytes) and the order that sorted the last node of each size (src/query.h, jc_memo).
-- Neither may ever change a byte: a name's address must stand for its bytes alone, although the
-- garbage collector frees names and hands their addresses to new strings; and a remembered order
-- must never be taken for a node it does not sort. PHP is the judge.
-- Set JUSTCLICK_SEED to replay a run; the seed is in every failure message.
local justclick = require "justclick"
local php = require "support.php"
local gen = require "support.gen"

local seed = tonumber(os.getenv("JUSTCLICK_SEED")) or os.time()

-- Bytes a top-level name may hold (PHP alters ' ', '.', '[' and NUL there): kept ones, and ones
-- urlencode writes as %XX, so that two names of one length can differ in what they need.
local KEPT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
local ENCODED = "@%~/+&=:;,!*'()$#\195\169\255"

local function random_name(len)
  local out = {}
  local encoded = math.random() < 0.5
  for i = 1, len do
    local set = (encoded and math.random() < 0.3) and ENCODED or KEPT
    local k = math.random(#set)
    out[i] = set:sub(k, k)
  end
  return table.concat(out)
end

-- n different names, each drawn by draw().
local function distinct(n, draw)
  local names, seen = {}, {}
  while #names < n do
    local name = draw()
    if not seen[name] then
      seen[name] = true
      names[#names + 1] = name
    end
  end
  return names
end

local function bytewise(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = a:byte(i), b:byte(i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- A table of `names`, built by inserting them in the given order, and the PHP literal of the
-- same data with its keys in byte order (http_build_query writes them as the array has them).
local function case(names)
  local t, sorted, pairs_ = {}, {}, {}
  for i, name in ipairs(names) do
    t[name] = "v" .. i .. "@" .. name
    sorted[i] = name
  end
  table.sort(sorted, bytewise)
  for i, name in ipairs(sorted) do pairs_[i] = { name, t[name] } end
  return t, php.literal(pairs_)
end

local function check_against_php(outputs, exprs, what)
  local expected = php.queries(exprs)
  for i = 1, #exprs do
    assert(outputs[i] == expected[i], ("%s, case %d of %d (seed %d):\n ours %s\n  php %s"):format(
      what, i, #exprs, seed, outputs[i], expected[i]))
  end
end

describe("the encoder's memo (seed " .. seed .. ")", function()
  before_each(function() math.randomseed(seed) end)

  it("never lets a freed name's address stand for the new string that takes it", function()
    -- Rounds of fresh names of the same few lengths, the old ones freed before each round:
    -- new names come to lie where old ones lay, with other bytes. More names than the memo has
    -- slots (512), so that it also forgets and learns again.
    local outputs, exprs = {}, {}
    for _ = 1, gen.count(120) do
      local t, expr = case(distinct(40, function() return random_name(math.random(1, 12)) end))
      outputs[#outputs + 1] = justclick.build_query(t)
      exprs[#exprs + 1] = expr
      t = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
    end
    check_against_php(outputs, exprs, "fresh names")
  end)

  it("sorts nodes of one size that hold other keys, or the same keys inserted otherwise", function()
    local outputs, exprs = {}, {}
    local pool = {}
    for i = 1, 30 do pool[i] = random_name(math.random(1, 9)) .. i end
    for _ = 1, gen.count(300) do
      -- a random pick from a small pool: sets overlap, orders differ
      local t, expr = case(distinct(math.random(2, 8), function() return pool[math.random(#pool)] end))
      outputs[#outputs + 1] = justclick.build_query(t)
      exprs[#exprs + 1] = expr
    end
    check_against_php(outputs, exprs, "one size, other keys")
  end)
end)
