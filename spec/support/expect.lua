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

return expect
