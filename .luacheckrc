-- luacheck: Lua 5.4, with busted's globals in the specs.
std = "lua54"
max_line_length = 120
files["spec"] = { std = "+busted" }
