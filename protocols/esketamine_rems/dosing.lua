-- dosing.lua: the dose, its lot number, and the devices self-administered. The
-- time the devices are recorded as given is the time of dosing the REMS form
-- counts from (docs/rems.md); the monitoring phase starts when this one is left.
--
-- No rules: the dose is one of the two labelled doses by construction.

local v = require "vigil"

return v.phase "dosing" {
  title = "Dosing",
  help = "The patient self-administers one device at a time, 5 minutes' rest between devices (28 mg each: 2 devices "
         .. "for 56 mg, 3 for 84 mg), under direct observation.",
  items = {
    -- Source: docs/clinical/esketamine-rems.md: "Doses 56 or 84 mg (28 mg per device, 5 min
    -- rest between devices)" [P]; the form asks for "dose and lot number" [S reproducing P].
    -- The dose and its lot are what the REMS form reports: recorded, never skipped
    -- (skippable = false; docs/safety.md M5).
    v.choice "dose" {
      title = "Dose",
      options = { "56 mg", "84 mg" },
      skippable = false,
    },
    v.text "lot_number" {
      title = "Lot number (from the device carton)",
      required = true,
      skippable = false,
    },
    v.check "devices_administered" {
      title = "All devices self-administered under observation, 5 minutes' rest between devices",
    },
  },

  gate = function(visit)
    if visit.value("devices_administered") ~= true then
      return false, "devices not recorded as administered"
    end
    return true
  end,
}
