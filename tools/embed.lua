-- lua5.4 tools/embed.lua FILE > embedded.c: FILE as the C array the host program loads.
local path = assert(arg[1], "usage: embed.lua FILE")
local f = assert(io.open(path, "rb"))
local data = f:read("a")
f:close()
local out = { "/* Generated from " .. path .. " by tools/embed.lua. */\n#include <stddef.h>\n",
  "const char jc_embedded_module[] = {" }
for i = 1, #data do
  if i % 20 == 1 then out[#out + 1] = "\n  " end
  out[#out + 1] = data:byte(i) .. ","
end
out[#out + 1] = "\n  0};\nconst size_t jc_embedded_module_len = " .. #data .. ";\n"
io.write(table.concat(out))
