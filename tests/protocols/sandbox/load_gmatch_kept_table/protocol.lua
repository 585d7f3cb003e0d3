-- Sandbox attack at load time (docs/security.md AQ4): string.gmatch iterators
-- made at load and kept in a file-level table. Each keeps its subject and
-- where its last search ended outside any Lua table, so making `iters`
-- read-only (AM5) does not stop a rule from advancing them: one visit's rule
-- moves them by the characters of a patient's note, another visit's rule
-- reads how far they went. Loading must fail, naming the table; if it ever
-- gets through, the protocol loads and its rule says "ESCAPED".
local v = require "vigil"

local ALPHABET = string.rep("abcdefghijklmnopqrstuvwxyz ", 4)
local iters = {}
for i = 1, 12 do iters[i] = string.gmatch(ALPHABET, ".") end

return v.protocol "sandbox_load_gmatch_kept_table" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1", rule = function()
          local got = {}
          for i = 1, #iters do got[i] = iters[i]() end
          return v.alert.high("ESCAPED: " .. table.concat(got))
        end },
      },
    },
  },
}
