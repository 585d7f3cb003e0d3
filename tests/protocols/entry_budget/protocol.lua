-- AC3 (docs/security.md): twenty rules on one item, each charging 1.5
-- million instructions (a string.rep of 1.5 MB, caught by pcall) under a
-- per-call budget of 2 million: each call alone is within its budget, but the
-- entry's budget (twice the per-call one unless said) stops the third rule and
-- leaves the others unrun. Each rule that runs in full raises its own alert.
local v = require "vigil"

local function spend(x, visit)
  pcall(string.rep, "a", 1500000)
  return v.alert.medium("spent", { value = x })
end

return v.protocol "entry_budget" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1" },
      },
      rules = {
      v.rule "spend01" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend02" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend03" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend04" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend05" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend06" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend07" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend08" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend09" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend10" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend11" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend12" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend13" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend14" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend15" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend16" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend17" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend18" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend19" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      v.rule "spend20" {
        on = "attack",
        priority = "medium",
        worse = "higher",
        check = spend,
      },
      },
    },
  },
}
