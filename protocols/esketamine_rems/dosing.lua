-- dosing.lua: the dose, its lot number, and the devices self-administered. The
-- time the devices are recorded as given is the time of dosing the REMS form
-- counts from (docs/rems.md); the monitoring phase starts when this one is left.
--
-- Rule ids: dose_prescribed (a dose other than the prescribed one: medium alert and
-- block); on the repeat reading before the devices (vitals), predose's bp_hold, bp_low,
-- hr_low, spo2_low, rr_low, bp_caution and baseline_amended (lib.with_predose_vitals_rules).

local v = require "vigil"
local lib = require "lib"

local fmt = string.format

return v.phase "dosing" {
  title = "Dosing ({dose_mg} mg prescribed)",
  help = "Prescribed today: {dose_mg} mg. The patient self-administers one device at a time, 5 minutes' rest "
         .. "between devices (28 mg each: 2 devices for 56 mg, 3 for 84 mg), under direct observation.",
  -- Once the devices are administered the patient is dosed, and the monitoring's checkpoints (the
  -- 40-minute BP, breathing every 15 minutes) count from entering the monitoring, not from the dose: a
  -- visit left here is a dosed patient whom nothing asks anyone to watch (docs/safety.md AN1). So the
  -- phase's clock starts at the devices' tick (timed_from) and, 10 minutes after it, a medium alert
  -- (escalated as the others) says the phase has passed its maximum; moving on ends it.
  -- Source: docs/clinical/esketamine-rems.md, "From dosing to the monitoring": 10 minutes is a clinic
  -- convention (ours): prompt against the 40-minute BP and the 15-minute breathing checks.
  timed_from = "devices_administered",
  duration = { max = "10m" },
  items = {
    -- Source: docs/clinical/esketamine-rems.md: "Doses 56 or 84 mg (28 mg per device, 5 min
    -- rest between devices)" [P]; the form asks for "dose and lot number" [S reproducing P].
    -- The dose and its lot are what the REMS form reports: recorded, never skipped
    -- (skippable = false; docs/safety.md M5). The dose given is checked against the
    -- prescription (param dose_mg, a clinician's choice; rule dose_prescribed, N5).
    v.choice "dose" {
      title = "Dose",
      options = { "56 mg", "84 mg" },
      skippable = false,
    },
    -- UNCONFIRMED: no source gives the lot number's format; a minimal rule, see
    -- docs/clinical/esketamine-rems.md, "Lot number": 4 to 20 letters, digits or hyphens,
    -- beginning with a letter or digit, so that "A", "n/a" or "?" never reaches the REMS form
    -- (docs/safety.md P9).
    v.text "lot_number" {
      title = "Lot number (from the device carton)",
      required = true,
      skippable = false,
      format = { pattern = "[A-Za-z0-9][A-Za-z0-9-]{3,19}",
                 says = "a lot number has 4 to 20 letters, digits or hyphens, as printed on the device carton" },
    },
    v.check "devices_administered" {
      title = "All devices self-administered under observation, 5 minutes' rest between devices",
    },
    -- The dose waits for pre-dose vitals of now (before_dose below; docs/safety.md AN13): when
    -- the pre-dose reading has grown older than predose_vitals_max_age_min, it is taken again
    -- here, with the pre-dose holds and alerts (the latest reading counts). Not asked otherwise.
    v.vitals "vitals" {
      title = "Vitals again before the devices",
      help = "When the pre-dose vitals are older than {predose_vitals_max_age_min} minutes: seated, after 5 minutes' "
             .. "rest. If high, rest and repeat: the latest reading counts.",
      fields = { "sbp", "dbp", "hr", "spo2", "rr" },
      required = false,
    },
  },

  -- Source: docs/clinical/vitals-limits.md, "Pre-dose vitals of now" (param
  -- predose_vitals_max_age_min): the devices, the dose and its lot wait while the newest
  -- pre-dose reading (predose's, or the repeat here) is older than it (docs/safety.md AN13:
  -- a BP 3 hours old, then the dose).
  before_dose = function(visit)
    return lib.vitals_before_dose(math.max(visit.observed_at("predose.predose_vitals") or 0,
                                           visit.observed_at("dosing.vitals") or 0), visit)
  end,

  rules = lib.with_predose_vitals_rules("vitals", {
    -- The dose recorded is the dose prescribed for this session (param dose_mg): a
    -- nurse alone recorded 84 mg where nothing said what was prescribed (docs/safety.md
    -- N5). A different dose holds the checklist until it is corrected (an amendment),
    -- the clinician prescribes it (a new visit) or overrides the gate with a reason.
    v.rule "dose_prescribed" {
      on = "dose",
      worse = false, -- a dose that is not the prescribed one: nothing worse to announce
      check = function(x, visit)
        local prescribed = visit.param("dose_mg")
        if x ~= prescribed .. " mg" then
          local why = fmt("Dose %s is not the prescribed %s mg: check the prescription; give the prescribed dose "
                          .. "or the prescriber decides (override with a reason).", tostring(x), prescribed)
          return { v.alert.medium(why, { id = "dose_prescribed" }), v.block(why) }
        end
      end,
    },
  }),

  gate = function(visit)
    if visit.value("devices_administered") ~= true then
      return false, "devices not recorded as administered"
    end
    return true
  end,
}
