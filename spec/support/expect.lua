-- Assertions the specs share.
local assert = require "luassert" -- busted gives its assert to spec files only
local justclick = require "justclick"

local expect = {}

--- Asserts that a call failed with an error of `kind` (and `code`, when given), a whole error
-- table as the client returns it; returns the error.
function expect.failure(kind, code, result, err)
  assert.is_nil(result, "expected a failure")
  assert.is_true(justclick.is_error(err), tostring(err))
  assert.are.equal(kind, err.kind, tostring(err))
  if code ~= nil then assert.are.equal(code, err.code, tostring(err)) end
  assert.is_string(err.message)
  assert.is_boolean(err.retryable)
  return err
end

--- Reads a handler's log of "begin BILL ..." and "end BILL ..." lines, as the kill -9 specs write
-- it around a handler's work, and asserts what the receiver promises under kills: a bill is
-- handed over again only when its last try was cut (a begin with no end), and no handler ends
-- twice for one bill. Returns {bill = ends} and how many bills were handed over again.
function expect.handled_once(log)
  local began, ended, again = {}, {}, 0
  for word, id in (log or ""):gmatch("(%a+) (%d+)[^\n]*\n") do
    id = tonumber(id)
    if word == "begin" then
      if began[id] then
        again = again + 1
        assert.is_nil(ended[id], ("bill %d was handed over again after its handler ended"):format(id))
      end
      began[id] = true
    else
      ended[id] = (ended[id] or 0) + 1
      assert.are.equal(1, ended[id], ("bill %d was handled twice"):format(id))
    end
  end
  return ended, again
end

return expect
