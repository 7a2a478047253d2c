-- busted output: the plain terminal report, then "N passed, N failed" as the last line, the
-- line CI reads.
return function(options)
  local busted = require "busted"
  local handler = require "busted.outputHandlers.plainTerminal"(options)
  busted.subscribe({ "suite", "end" }, function()
    local line = ("%d passed, %d failed"):format(handler.successesCount,
      handler.failuresCount + handler.errorsCount)
    if handler.pendingsCount > 0 then line = line .. (", %d skipped"):format(handler.pendingsCount) end
    io.write("\n", line, "\n")
    io.flush()
    return nil, true
  end)
  return handler
end
