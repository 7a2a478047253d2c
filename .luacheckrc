-- luacheck: Lua 5.4, with busted's globals in the specs.
std = "lua54"
max_line_length = 120
-- Specs hold whole shell command lines, which read better unbroken.
files["spec"] = { std = "+busted", max_line_length = 180 }
