-- A helper that remembers every reading in a table of its module: shared by
-- every visit, as the counter of ../stateful is.
local lib = { seen = {} }

function lib.remember(hr)
  lib.seen[#lib.seen + 1] = hr
end

return lib
