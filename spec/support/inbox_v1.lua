-- Records of the inbox's first format (0.3's file, src/pure/inbox_v1.c reads it), as 0.3 wrote
-- them, for the specs of its conversion. FNV-1a 32 needs Lua 5.3's integer operators: compiled
-- when first used, so that a spec file that requires this still loads under Lua 5.1 and LuaJIT
-- (whose runs skip the #lua54 specs that use it).
local v1 = {}

local fnv32
--- v1.fnv32(text) -> the first format's checksum of text.
function v1.fnv32(text)
  fnv32 = fnv32 or assert((_G.loadstring or load)([[
    local text = ...
    local h = 2166136261
    for i = 1, #text do h = ((h ~ text:byte(i)) * 16777619) & 0xffffffff end
    return h]]))
  return fnv32(text)
end

--- v1.event(key, body [, at]) -> the record "E key time len bodysum headsum\nbody\n"; at: its
-- time, as the record writes it (default "1764748800.125").
function v1.event(key, body, at)
  local head = ("E %s %s %d %08x"):format(key, at or "1764748800.125", #body, v1.fnv32(body))
  return ("%s %08x\n%s\n"):format(head, v1.fnv32(head), body)
end

--- v1.key(id) -> a paid event's key of bill id.
function v1.key(id) return ("paid-%d-0123456789abcdef"):format(id) end

return v1
