local v = require "vigil"
local lib = {}

local function low_spo2(x) return x.spo2 < 90 end

function lib.spo2_low(x)
  if low_spo2(x) then return v.alert.high("SpO2 " .. x.spo2 .. " %: call the clinician.") end
end

function lib.hr_note(x)
  if x.hr > 120 then return v.alert.low("HR " .. x.hr .. ": repeat in 5 minutes.") end
end

return lib
