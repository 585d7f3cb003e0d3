-- Sandbox attack: `..` copies long strings, one instruction a copy
-- (docs/security.md AH1): a 1 MB string built by doubling, then copied
-- 1,000 times, 2 GB, in some 4,000 instructions. What it allocates is
-- charged to its budget, so the copies stop well before the thousandth.
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_concat_copy_loop" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local s = "x"
            for i = 1, 20 do s = s .. s end
            for i = 1, 1000 do local y = s .. s end
            return v.alert.high("ESCAPED: copied 2 GB")
          end,
        },
      },
    },
  },
}
