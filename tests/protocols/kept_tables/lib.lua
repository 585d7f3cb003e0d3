-- The module of tests/protocols/kept_tables: tables shared by every visit.
local v = require "vigil"

local lib = { last = "", list = {}, by_kind = { screening = { latest = "" }, dosing = {} } }

lib.CLEAR = v.alert.low("kept outcome: nothing to report")

function lib.remember_last(text)
  lib.last = text
end

return lib
