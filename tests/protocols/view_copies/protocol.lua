-- AM4 (docs/security.md): visit.last copies every reading it returns into
-- the rule's memory, within one call into C that the count hook does not
-- see: a rule asking 10,000 times for the last 200 notes of 3,990
-- characters would copy 8 GB, a few instructions a call. What the view
-- copies is allocated by the sandbox's allocator, so it is charged to the
-- call's budget as any allocation is (AH1): the rule is stopped by the
-- budget (allocating memory), not after seconds by the clock.
local v = require "vigil"

return v.protocol "view_copies" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.text "note" {},
        v.number "attack" { unit = "1" },
      },
      rules = {
        v.rule "copy_notes" {
          on = "attack",
          priority = "medium",
          worse = "higher",
          check = function(x, visit)
            local copied = 0
            for _ = 1, 10000 do
              copied = copied + #visit.last("note", 200)
            end
            return v.alert.medium("ESCAPED: copied " .. copied .. " notes", { value = x })
          end,
        },
      },
    },
  },
}
