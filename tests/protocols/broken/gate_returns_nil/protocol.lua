-- expect: 6: the gate of phase 'one' returns nil, not true or false: the phase could never be left
local v = require "vigil"

return v.protocol "gate_returns_nil" {
  version = "1.0.0",
  phases = { v.phase "one" {
    items = { v.check "consent" {} },
    gate = function(visit)
      if visit.value("consent") ~= true then return false, "no consent" end
    end,
  } },
}
