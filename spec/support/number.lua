-- Numbers the same way under every Lua the specs run on. Lua 5.3 and 5.4 tell integers from
-- floats; under 5.1 and LuaJIT every number is a double, and the module's rule (src/compat.h)
-- applies: an integral number with |x| < 2^53 is an integer, anything else a float.
local number = {}

local native = math.type ~= nil

--- "integer", "float", or nil for what is no number.
function number.type(v)
  if native then return math.type(v) end
  if type(v) ~= "number" then return nil end
  return (v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53) and "integer" or "float"
end

--- v as an integer, or nil when it is none.
function number.tointeger(v)
  if native then return math.tointeger(v) end
  return number.type(v) == "integer" and v or nil
end

--- The largest and smallest integers: Lua's own, or +-(2^53 - 1) under the rule.
number.maxinteger = math.maxinteger or 2 ^ 53 - 1
number.mininteger = math.mininteger or -(2 ^ 53 - 1)

--- An integer's decimal text (tostring would write a double past 1e14 as 9.007199254741e+15).
function number.text(v)
  if number.type(v) == "integer" then return ("%d"):format(v) end
  return tostring(v)
end

--- Whether Lua tells integers from floats (5.3 and 5.4).
number.native = native

--- Whether a and b are the same double, sign of zero included (NaN is never the same).
function number.same_double(a, b)
  return a == b and (a ~= 0 or 1 / a == 1 / b)
end

return number
