-- luacheck: Lua 5.4 (the host and its modules), with busted's globals in the specs.
std = "lua54"
max_line_length = 120
-- Specs hold whole shell command lines, which read better unbroken.
files["spec"] = { std = "+busted", max_line_length = 180 }
-- What runs on every Lua (5.1, LuaJIT, 5.3, 5.4) may reach for what any of them has.
files["lua/justclick.lua"] = { std = "max" }
files["spec/support/luaver.lua"] = { std = "max+busted" }
