-- Whole files, read and written, for the specs.
local files = {}

--- The file's bytes, or nil when it cannot be read.
function files.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

function files.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

return files
