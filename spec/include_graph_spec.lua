-- The C units depend one way (issue 18): src/pure (C without Lua) <- src/bind (the Lua bindings
-- and the Lua-side code they share) <- src/modules (the luaopen_* entries, which only aggregate)
-- <- src/host (the program). A unit is a .c and its .h. The rules are read from every
-- `#include` under src/, and each is shown to fail on a copy of src/ with a fault put in.
local files = require "support.files"
local run = require("support.shell").ok

local LAYERS = { pure = 1, bind = 2, modules = 3, host = 4 }
local LUA_HEADERS = { ["lua.h"] = true, ["lauxlib.h"] = true, ["lualib.h"] = true, ["luaconf.h"] = true }

-- "src/bind/../pure/md5.h" -> "src/pure/md5.h"
local function normalize(path)
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  return table.concat(parts, "/")
end

local function unit_of(path)
  return (path:gsub("%.[ch]$", ""))
end

-- Every .c and .h under root/src: {path = {quoted = {resolved paths}, system = {names}, text}}.
local function read_tree(root)
  local ok, out = run(("cd %s && find src -type f -name '*.[ch]' | sort"):format(root))
  assert(ok, out)
  local tree = {}
  for path in out:gmatch("[^\n]+") do
    local text = assert(files.read(root .. "/" .. path))
    local dir = path:match("^(.*)/[^/]+$")
    local file = { quoted = {}, system = {}, text = text }
    for line in text:gmatch("[^\n]*") do
      local quoted = line:match('^%s*#%s*include%s*"([^"]+)"')
      local system = line:match("^%s*#%s*include%s*<([^>]+)>")
      if quoted then file.quoted[#file.quoted + 1] = normalize(dir .. "/" .. quoted) end
      if system then file.system[#file.system + 1] = system end
    end
    tree[path] = file
  end
  return tree
end

local function layer_of(path)
  return path:match("^src/([^/]+)/")
end

-- A binding: a unit of src/bind whose header declares a jc_open_* function. The other units of
-- src/bind (support, compat, luabuf, the encoder, the form table) are the Lua-side code bindings share.
local function is_binding(tree, unit)
  local header = tree[unit .. ".h"]
  return layer_of(unit .. ".h") == "bind" and header ~= nil and header.text:find("int jc_open_[%w_]+%(") ~= nil
end

-- The problems of the tree at root, one line each (an empty list when it keeps every rule).
local function problems(root)
  local tree = read_tree(root)
  local found = {}
  local function problem(fmt, ...) found[#found + 1] = fmt:format(...) end
  local edges = {} -- unit -> {unit = true}
  for path, file in pairs(tree) do
    local from, layer = unit_of(path), layer_of(path)
    if not LAYERS[layer] then problem("%s: not in a layer's folder (pure, bind, modules, host)", path) end
    for _, name in ipairs(file.system) do
      if layer == "pure" and LUA_HEADERS[name] then problem("%s: pure C includes <%s>", path, name) end
    end
    for _, target in ipairs(file.quoted) do
      local to = unit_of(target)
      if not tree[target] then
        problem("%s: includes %s, which is not under src/", path, target)
      elseif to ~= from then
        edges[from] = edges[from] or {}
        edges[from][to] = true
        local their = layer_of(target)
        if LAYERS[their] and LAYERS[layer] and LAYERS[their] > LAYERS[layer] then
          problem("%s: the %s layer includes %s, of the higher %s layer", path, layer, target, their)
        end
        if layer == "bind" and their == "bind" and is_binding(tree, to) and target:match("%.h$") then
          if is_binding(tree, from) then
            problem("%s: a binding includes another binding's header, %s", path, target)
          else
            problem("%s: code the bindings share includes a binding's header, %s", path, target)
          end
        end
      end
    end
  end
  -- The encoder's internals stay out of what every binding includes.
  for _, target in ipairs((tree["src/bind/support.h"] or { quoted = {} }).quoted) do
    if target == "src/bind/encode.h" then problem("src/bind/support.h: includes the encoder's encode.h") end
  end
  -- Module entries aggregate: they define no Lua function of their own, but for the benchmark
  -- hooks' entry, which adds a binding's as the others do.
  for path, file in pairs(tree) do
    if layer_of(path) == "modules" and file.text:find("luaL_Reg") then
      problem("%s: a module entry defines functions; they belong in a binding", path)
    end
  end
  -- Cycles between units: a depth-first walk that meets a unit still on its path.
  local state, stack = {}, {}
  local units = {}
  for unit in pairs(edges) do units[#units + 1] = unit end
  table.sort(units)
  local function visit(unit)
    state[unit] = "open"
    stack[#stack + 1] = unit
    local targets = {}
    for to in pairs(edges[unit] or {}) do targets[#targets + 1] = to end
    table.sort(targets)
    for _, to in ipairs(targets) do
      if state[to] == "open" then
        local cycle, on = {}, false
        for _, u in ipairs(stack) do
          if u == to then on = true end
          if on then cycle[#cycle + 1] = u end
        end
        cycle[#cycle + 1] = to
        problem("an include cycle: %s", table.concat(cycle, " -> "))
      elseif state[to] == nil then
        visit(to)
      end
    end
    stack[#stack] = nil
    state[unit] = "done"
  end
  for _, unit in ipairs(units) do
    if state[unit] == nil then visit(unit) end
  end
  table.sort(found)
  return found
end

-- A copy of src/ in a fresh directory, for a fault to be put in.
local function copy_of_src()
  local dir = os.tmpname()
  os.remove(dir)
  local ok, out = run(("mkdir -p %s && cp -r src %s/src"):format(dir, dir))
  assert(ok, out)
  return dir
end

-- Adds `line` after the first line of dir/path.
local function add_line(dir, path, line)
  local text = assert(files.read(dir .. "/" .. path))
  local f = assert(io.open(dir .. "/" .. path, "w"))
  f:write((text:gsub("\n", "\n" .. line .. "\n", 1)))
  f:close()
end

local function mentions(list, text)
  for _, line in ipairs(list) do
    if line:find(text, 1, true) then return true end
  end
  return false
end

describe("the C units under src/", function()
  it("depend one way: no cycle, no Lua in pure C, no binding reaching another or a module", function()
    assert.are.same({}, problems("."))
  end)

  it("has every layer, the module entries and a pure md5 and form parser", function()
    for _, path in ipairs({ "src/pure/form.c", "src/pure/md5.c", "src/pure/store.c", "src/bind/support.c",
      "src/modules/core.c", "src/modules/receiver.c", "src/host/host.c" }) do
      assert.is_not_nil(files.read(path), path)
    end
  end)

  describe("fails on a copy with a fault put in", function()
    local dir
    before_each(function() dir = copy_of_src() end)
    after_each(function() run("rm -rf " .. dir) end)

    it("an include cycle between two pure units", function()
      add_line(dir, "src/pure/md5.h", '#include "notice.h"')
      local found = problems(dir)
      local cycle
      for _, line in ipairs(found) do
        if line:find("an include cycle", 1, true) then cycle = line end
      end
      assert.is_not_nil(cycle, table.concat(found, "\n"))
      assert.is_truthy(cycle:find("src/pure/md5", 1, true) and cycle:find("src/pure/notice", 1, true), cycle)
    end)

    it("pure C that includes lua.h, or a binding's header", function()
      add_line(dir, "src/pure/buffer.h", "#include <lua.h>")
      add_line(dir, "src/pure/form.c", '#include "../bind/support.h"')
      local found = problems(dir)
      assert.is_true(mentions(found, "src/pure/buffer.h: pure C includes <lua.h>"), table.concat(found, "\n"))
      assert.is_true(mentions(found, "src/pure/form.c: the pure layer includes src/bind/support.h"),
        table.concat(found, "\n"))
    end)

    it("a binding that includes another binding's header, or a module entry", function()
      add_line(dir, "src/bind/sign.c", '#include "reply.h"')
      add_line(dir, "src/bind/http.c", '#include "../modules/modules.h"')
      local found = problems(dir)
      assert.is_true(mentions(found, "src/bind/sign.c: a binding includes another binding's header, src/bind/reply.h"),
        table.concat(found, "\n"))
      assert.is_true(mentions(found, "src/bind/http.c: the bind layer includes src/modules/modules.h"),
        table.concat(found, "\n"))
    end)

    it("the encoder's internals in what every binding includes", function()
      add_line(dir, "src/bind/support.h", '#include "encode.h"')
      local found = problems(dir)
      assert.is_true(mentions(found, "src/bind/support.h: includes the encoder's encode.h"), table.concat(found, "\n"))
    end)
  end)
end)
