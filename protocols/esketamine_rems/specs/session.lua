-- session.lua: steps shared by the esketamine_rems specs (`require "session"`).
--
-- Each function returns a list of `at` steps that a spec puts among its own.
-- The times follow the bundled scenarios: predose from 0, dosing from 3m,
-- monitoring from 10m (checks due every 15 minutes: 25, 40, 55 ... 130m; BP
-- at 40 minutes due at 50m), ready to leave from 131m.

local session = {}

-- A calm blood pressure: bp(128, 78) or bp(128, 78, { hr = 110 }).
function session.bp(sbp, dbp, over)
  local r = { sbp = sbp, dbp = dbp, hr = 70 }
  for k, x in pairs(over or {}) do r[k] = x end
  return r
end

-- Clean pre-dose checks (no contraindication, no co-medication, ride, prescriber
-- and oximeter confirmed), vitals `sbp`/`dbp` (default 128/78) at 2m, judged
-- acceptable by the prescriber. Leaves predose at 3m unless stay = true.
function session.predose(sbp, dbp, stay)
  local vitals = session.bp(sbp or 128, dbp or 78, { spo2 = 98, rr = 14 })
  local steps = {
    at "0m" { record = { consent = true, ci_vascular = "no", ci_hypersensitivity = "no", pregnancy = "neither",
                         substance_use = "no", self_harm_thoughts = "0", comed_benzodiazepine = "no", comed_hypnotic = "no",
                         comed_psychostimulant = "no", comed_maoi = "no", ride_confirmed = true,
                         prescriber_on_site = true, pulse_oximeter = true } },
    at "2m" { record = { predose_vitals = vitals } },
    at "2m" { actor = "dr:kim", record = { predose_acceptable = "yes" } },
  }
  if not stay then steps[#steps + 1] = at "3m" { advance = true } end
  return steps
end

-- 56 mg, lot EKA2211, devices given at 10m; monitoring from 10m.
function session.dosing()
  return {
    at "4m" { record = { dose = "56 mg", lot_number = "EKA2211" } },
    at "10m" { record = { devices_administered = true } },
    at "10m" { advance = true },
  }
end

-- The monitoring checks at 25, 40 ... 130m: calm breathing, MOAA/S 5 and no
-- dissociation, except those given in `checks` (by minute: { [25] = { moaas =
-- "3" } } replaces that check's fields; false leaves the check out); the BP at
-- 40 minutes (`bp40`, default 132/82; false: none) at 50m. Leaves monitoring at
-- 131m unless stay = true.
function session.monitoring(checks, bp40, stay)
  checks = checks or {}
  local steps = {}
  for m = 25, 130, 15 do
    if checks[m] ~= false then
      local r = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" }
      for k, x in pairs(checks[m] or {}) do r[k] = x end
      steps[#steps + 1] = at(m .. "m") { record = r }
    end
  end
  if bp40 ~= false then steps[#steps + 1] = at "50m" { record = { bp_40m = bp40 or session.bp(132, 82) } } end
  if not stay then steps[#steps + 1] = at "131m" { advance = true } end
  return steps
end

-- Ready to leave: BP 124/78, the form's answers (`answers` overrides them),
-- the ride here, the advice given, the prescriber's yes at 133m; discharged at
-- 135m unless stay = true.
function session.discharge(answers, stay)
  local r = { bp_before_leaving = session.bp(124, 78), sedation_occurred = "no", dissociation_occurred = "no",
              respiratory_depression_occurred = "no", ride_present = true, no_driving_advice = true }
  for k, x in pairs(answers or {}) do r[k] = x end
  local steps = {
    at "133m" { record = r },
    at "133m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
  }
  if not stay then steps[#steps + 1] = at "135m" { discharge = true } end
  return steps
end

return session
