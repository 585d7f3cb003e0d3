-- Sandbox attack at load time (docs/security.md AQ4): a string.gmatch
-- iterator made at load and kept in a local of the file, which the rule
-- closes over: its position carries from one visit to the next. Loading must
-- fail, naming the local; if it ever gets through, the protocol loads and its
-- rule says "ESCAPED".
local v = require "vigil"

local letters = string.gmatch("abcdefghijklmnopqrstuvwxyz", ".")

return v.protocol "sandbox_load_gmatch_kept_upvalue" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1", rule = function() return v.alert.high("ESCAPED: " .. letters()) end },
      },
    },
  },
}
