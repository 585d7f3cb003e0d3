-- Sandbox attack at load time (docs/security.md AT2): a function that assigns
-- a variable of the file, kept only inside the language's pairs iterator
-- (pairs over a table whose __pairs returns it), so that the check of kept
-- functions (AQ5) never saw it: one patient's note reached the next
-- patient's alert. Loading must fail, naming the variable; if it ever gets
-- through, the protocol loads and its rule says "ESCAPED".
local v = require "vigil"

local last = ""
local function swap(_, k)
  local before = last
  last = k
  return before
end
local step = pairs(setmetatable({}, { __pairs = function() return swap, nil, nil end }))

return v.protocol "sandbox_load_assign_behind_pairs" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x) return v.alert.high("ESCAPED: " .. tostring(step(nil, tostring(x)))) end,
        },
      },
    },
  },
}
