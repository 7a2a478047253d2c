-- A fresh inbox for each spec of a describe, in a directory of its own that goes after it:
--   local receiver, dir, path
--   scratch_inbox(function(r, d, p) receiver, dir, path = r, d, p end)
-- r: justclick.receiver (required when the specs run, not when the file loads, so that other
-- Luas, which skip #lua54 specs, load the file); d: the directory; p: d .. "/inbox".
local importing = require "support.importing"
local busted = require "busted" -- its hooks: a module does not see the spec file's globals

return function(set)
  local receiver, dir
  busted.setup(function() receiver = require "justclick.receiver" end)
  busted.before_each(function()
    dir = importing.tmpdir()
    set(receiver, dir, dir .. "/inbox")
  end)
  busted.after_each(function() os.execute("rm -rf " .. dir) end)
end
