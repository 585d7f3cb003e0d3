-- expect: 12: skippable must be true or false
-- expect: 13: is optional (required = false) and not skippable (skippable = false)
-- skippable = false says "not done" is no answer for an item (docs/safety.md, H13):
-- it takes a boolean, and an optional item needs no skip at all.
local v = require "vigil"

return v.protocol "skippable" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.check "consent" { skippable = "no" },
        v.number "fasting_hours" { unit = "h", required = false, skippable = false },
      },
    },
  },
}
