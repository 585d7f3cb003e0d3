-- AH1 (docs/security.md): one entry's calls into Lua have a time limit
-- together, not only each its own. Three rules on one item each run five
-- million plain instructions (10 ms on a fast idle machine, more under load
-- or valgrind), within the per-call budget and time the test gives them, but
-- not within the entry's 1 ms: the first is stopped at it and the other two
-- are not run.
local v = require "vigil"

local function burn(x, visit)
  local n = 0
  for i = 1, 2500000 do n = n + 1 end
  return v.alert.medium("burnt", { value = x })
end

-- The three rules are alike but for their names.
local rules = {}
for i = 1, 3 do
  rules[i] = v.rule("burn0" .. i) { on = "attack", priority = "medium", worse = "higher", check = burn }
end

return v.protocol "entry_time" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1" },
      },
      rules = rules,
    },
  },
}
