---@meta vigil.scores
-- LuaCATS annotations of the scoring library (core/lang/lua/scores.lua),
-- `local scores = require "vigil.scores"`. Never loaded by vigil.

---@class vigil.scores.Band
---@field max? number The band holds values <= max (the last band has none).
---@field points integer

---@class vigil.scores.News2Input
---@field rr number Respiratory rate /min.
---@field spo2 number SpO2 %.
---@field o2 boolean On supplemental oxygen.
---@field sbp number Systolic BP mmHg.
---@field hr number Pulse /min.
---@field consciousness "alert"|"confusion"|"voice"|"pain"|"unresponsive"
---@field temp number Temperature, Cel (read to 0.1, half up).

---@class vigil.scores.News2
---@field total integer 0-20.
---@field parts table<string, integer> Points of each parameter.
---@field three_in_one boolean A single parameter scored 3.
---@field response "routine"|"low"|"low-medium"|"medium"|"high"

---@class vigil.scores.Aldrete
---@field total integer 0-10.
---@field parts table<string, integer>
---@field fit boolean total >= 9.

---@class vigil.scores.Padss
---@field total integer 0-10.
---@field parts table<string, integer>
---@field fit boolean total >= 9 and an escort.
---@field not_applicable table<string, "max"|"prorate">

---@class vigil.scores.Banded
---@field total integer
---@field band string

---@class vigil.scores.Phq9: vigil.scores.Banded
---@field item9 boolean Item 9 (thoughts of death or self-harm) above 0: same-day follow-up.

---@class vigil.scores.Cadss
---@field total integer 0-92.
---@field subscales { depersonalization: integer, derealization: integer, amnesia: integer }
---@field change? integer total minus the baseline's total.

---@class vigil.scores.ChoiceScale
---@field options string[] The levels as the nurse picks them, for v.choice.
---@field labels table<string, string>
---@field help string "5 responds readily ...; 4 ..." for an item's help.
---@field level fun(answer: string|nil): integer|nil "5" -> 5, "+2" -> 2; nil when not recorded.

---@class vigil.scores
---@field news2_bands table NEWS2's tables (RCP 2017), read-only.
---@field aldrete_bands table
---@field aldrete_options { activity: string[], respiration: string[], consciousness: string[] }
---@field aldrete_fields vigil.ScoreField[] For v.score "aldrete" { fields = ... }: the five items in the form's order, each point with its meaning.
---@field padss_bands table
---@field phq9_bands { min: integer, name: string }[]
---@field phq9_fields vigil.ScoreField[] q1..q9 with the questionnaire's words and answers.
---@field gad7_bands { min: integer, name: string }[]
---@field gad7_fields vigil.ScoreField[] q1..q7 with the questionnaire's words and answers.
---@field moaas vigil.scores.ChoiceScale
---@field rass vigil.scores.ChoiceScale
---@field cadss_subscales table<string, integer[]>
---@field cadss_fields table<string, integer[]>
local scores = {}

--- The band of value in a band list ({ max = n, points = p } ascending), after rounding to step (default 1).
---@param value number
---@param bands vigil.scores.Band[]
---@param step? number
---@return vigil.scores.Band|nil
function scores.band(value, bands, step) end

--- NEWS2 from a full set of vitals; opts.scale = 2 for SpO2 scale 2. A value outside
--- opts.plausible (default scores.news2_bands.plausible), not a finite number, or an o2 that
--- is not a boolean raises an error naming the field.
---@param x vigil.scores.News2Input
---@param opts? { scale?: 1|2, plausible?: table<string, number[]> }
---@return vigil.scores.News2
function scores.news2(x, opts) end

--- Modified Aldrete from points (0-2) or, for activity, respiration and consciousness, the options' text.
---@param x { activity: integer|string, respiration: integer|string, circulation: integer, consciousness: integer|string, spo2: integer }
---@return vigil.scores.Aldrete
function scores.aldrete(x) end

--- Aldrete circulation points from BP now and at baseline; opts.variant "pct" (default) or "mmhg", opts.bands your own.
---@param bp number
---@param baseline number
---@param opts? { variant?: "pct"|"mmhg", bands?: vigil.scores.Band[] }
---@return integer
function scores.aldrete_circulation(bp, baseline, opts) end

--- Aldrete SpO2 points from the reading and whether the patient is on oxygen.
---@param spo2 number
---@param on_o2 boolean
---@return integer
function scores.aldrete_spo2(spo2, on_o2) end

--- PADSS vital-signs points from the change from baseline, in percent.
---@param pct_change number
---@return integer
function scores.padss_vital_signs(pct_change) end

--- PADSS (modified by default); items that do not apply are declared in opts.not_applicable.
---@param x table<string, integer>
---@param opts? { variant?: "modified"|"original", not_applicable?: table<string, "max"|"prorate">, escort?: boolean }
---@return vigil.scores.Padss
function scores.padss(x, opts) end

--- PHQ-9 from { q1 .. q9 } (each 0-3).
---@param x table<string, integer>
---@return vigil.scores.Phq9
function scores.phq9(x) end

--- GAD-7 from { q1 .. q7 } (each 0-3).
---@param x table<string, integer>
---@return vigil.scores.Banded
function scores.gad7(x) end

--- CADSS structure from { q1 .. q23 } (each 0-4), with the change from a baseline when given.
---@param x table<string, integer>
---@param baseline? table<string, integer>
---@return vigil.scores.Cadss
function scores.cadss(x, baseline) end

return scores
