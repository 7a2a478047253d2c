-- What differs between the Luas the specs run on (5.1, LuaJIT, 5.3, 5.4), apart from numbers
-- (support.number).
local luaver = {}

--- The build directory of the module for the Lua that runs the specs (the Makefile's BUILD).
luaver.build = rawget(_G, "jit") and "build-jit"
  or ({ ["Lua 5.1"] = "build-5.1", ["Lua 5.3"] = "build-5.3", ["Lua 5.4"] = "build" })[_VERSION]

--- An object whose finalizer is fn. Lua 5.1 and LuaJIT run __gc for userdata only.
function luaver.finalizer(fn)
  if newproxy then
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = fn
    return proxy
  end
  return setmetatable({}, { __gc = fn })
end

--- package.searchpath, which Lua 5.1 lacks.
function luaver.searchpath(name, path)
  if package.searchpath then return package.searchpath(name, path) end
  for template in path:gmatch("[^;]+") do
    local file = template:gsub("%?", (name:gsub("%.", "/")))
    local f = io.open(file)
    if f then
      f:close()
      return file
    end
  end
end

return luaver
