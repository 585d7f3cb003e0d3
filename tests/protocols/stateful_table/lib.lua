-- A helper that remembers every reading in a table of its module, shared by
-- every visit: read-only once the protocol has loaded (docs/security.md AM5),
-- so the write fails, and `vigil test` names its line.
local lib = { seen = {} }

function lib.remember(hr)
  lib.seen[#lib.seen + 1] = hr
end

return lib
