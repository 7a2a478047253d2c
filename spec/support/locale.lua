-- A locale whose decimal point is a comma (ru_RU.UTF-8, which scripts/deps.sh makes), for specs
-- that show a number is read and written the same under it.
local locale = {}

--- locale.with_comma(fn): runs fn with LC_NUMERIC set to ru_RU.UTF-8, then puts "C" back. Fails
-- (never skips) when the machine lacks the locale.
function locale.with_comma(fn)
  assert(os.setlocale("ru_RU.UTF-8", "numeric"),
    "the locale ru_RU.UTF-8 is missing: scripts/deps.sh --dev makes it (localedef)")
  -- (LuaJIT writes numbers itself, whatever C's locale; the C core still sees the comma)
  assert(rawget(_G, "jit") or tostring(1.5) == "1,5", "ru_RU.UTF-8 should write 1,5")
  local ok, err = pcall(fn)
  os.setlocale("C", "numeric")
  if not ok then error(err, 0) end
end

return locale
