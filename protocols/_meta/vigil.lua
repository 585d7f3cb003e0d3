---@meta vigil
-- LuaCATS annotations of the protocol language (core/lang/lua/vigil.lua), for
-- editors with the Lua language server: completion, hover help and checks in
-- protocol files. Never loaded by vigil. protocols/.luarc.json points the
-- server here; docs/protocols.md is the full reference.

---@alias vigil.Duration string A duration such as "90s", "15m", "2h", "1h30m" (a bare number is refused).
---@alias vigil.Priority "high"|"medium"|"low"
---@alias vigil.ItemRef string "item" (this phase's, else the only item of that name) or "phase.item".
---@alias vigil.VitalsField "sbp"|"dbp"|"hr"|"spo2"|"rr"|"temp"|"consciousness"|"o2"

---@class vigil.Outcome What a rule, gate or hook returns: from v.alert.*, v.block or v.note.
---@field outcome "alert"|"block"|"note"

---@class vigil.AlertOptions
---@field id? string A stable id when one rule returns several alerts (default: the rule id).
---@field latching? boolean Stays until acknowledged after the cause clears (default: the protocol's).
---@field latch? boolean Not acknowledged, stays active and escalating after the cause clears, until acknowledged (default: the protocol's defaults.latch).
---@field escalate? vigil.Duration Re-notified one level up when unacknowledged this long ("0s": never).
---@field scope? "condition"|"reading" "condition" (default): one alert while it holds; "reading": each reading is its own finding.
---@field value? number|string What the alert is about: a number (compared with the rule's `worse`) or a finding as text.
---@field field? "sbp"|"dbp"|"hr"|"spo2"|"rr"|"temp" The vital sign it is about (with reading and limit): sent to the alarm manager as the observation (docs/hl7.md, J4).
---@field reading? number The reading of `field` that broke the limit.
---@field limit? { low?: number, high?: number } The limit of `field` it broke: low (it alerts below), high (above), or both.

---@class vigil.Alerts
local Alerts = {}
--- A high-priority alert (IEC 60601-1-8: harm, immediate or prompt onset).
---@param message string What was seen and what to consider.
---@param opts? vigil.AlertOptions
---@return vigil.Outcome
function Alerts.high(message, opts) end
--- A medium-priority alert.
---@param message string
---@param opts? vigil.AlertOptions
---@return vigil.Outcome
function Alerts.medium(message, opts) end
--- A low-priority alert.
---@param message string
---@param opts? vigil.AlertOptions
---@return vigil.Outcome
function Alerts.low(message, opts) end

---@class vigil.Visit The read-only view of one visit that rules, gates, `when`, `compute` and hooks get.
local Visit = {}
--- The latest value of an item (a table for vitals and scores), or nil.
---@param ref vigil.ItemRef
---@return any
function Visit.value(ref) end
--- The first value of an item (the baseline), or nil.
---@param ref vigil.ItemRef
---@return any
function Visit.first(ref) end
--- The latest n values of an item, newest first (nil when none).
---@param ref vigil.ItemRef
---@param n integer
---@return any[]|nil
function Visit.last(ref, n) end
--- How many times an item was recorded.
---@param ref vigil.ItemRef
---@return integer
function Visit.count(ref) end
--- Whether an item was recorded (at least opts.count times); skipped due times are not recordings.
---@param ref vigil.ItemRef
---@param opts? { count: integer }
---@return boolean
function Visit.done(ref, opts) end
--- The reason of the item's latest skip that no recording has followed, or nil. For a repeating
--- item that skip covered one due time only; the next ones are due as usual.
---@param ref vigil.ItemRef
---@return string|nil
function Visit.skipped(ref) end
--- Whether predicate held on every reading of an unbroken run that began at least `duration` ago.
---@param ref vigil.ItemRef
---@param predicate fun(x: any): boolean
---@param duration vigil.Duration
---@return boolean
function Visit.held(ref, predicate, duration) end
--- When the latest reading was observed, ms since the epoch (UTC): a late entry's own observed_at,
--- else when it was recorded. nil if never recorded. With k, the k-th newest reading's (1 the
--- latest, as visit.last(ref, k)[k]); nil when there are fewer.
---@param ref vigil.ItemRef
---@param k? integer
---@return integer|nil
function Visit.observed_at(ref, k) end
--- The order in which the latest reading (with k, the k-th newest, as observed_at) was recorded,
--- whatever its observed time: the log sequence of the entry or amendment that last changed its
--- value, then that of the entry that recorded it (alike unless amended since); nil if there is
--- none. Readings of one entry have the same; a later entry's is greater, back-dated or not.
---@param ref vigil.ItemRef
---@param k? integer
---@return integer|nil changed
---@return integer|nil entered
function Visit.recorded_seq(ref, k) end
--- The latest amendment of the latest reading (with k, the k-th newest, as observed_at), or nil
--- when it was never amended: `by` (who made it), `clinician` (true when the server said a
--- clinician made it; false for every other role and for an amendment through the C API or a
--- scenario without `clinician = true`) and `previous` (the value it replaced). Its place in the
--- order of recording is recorded_seq's first value. Lint's synthetic readings are never amended.
---@param ref vigil.ItemRef
---@param k? integer
---@return {by: string, clinician: boolean, previous: any}|nil
function Visit.amended(ref, k) end
--- How the item's value came to be: each entry of a reading and each amendment, in the order
--- recorded: `seq` (its place in the log, as recorded_seq's), `by`, `clinician` (true when the
--- server said a clinician made it), `amendment` (false for an entry), `observed_at` (of the
--- reading it entered or amended), `recorded_at` (when it was made), `value` (visit.value(ref)
--- right after it; a late entry observed before the newest reading leaves it as it was) and
--- `newest` (whether the reading it entered or amended is the one in effect right after it). For a check that a value judged from
--- (a pre-dose BP) changed after the dose, and whether a clinician changed it. Lint's synthetic
--- readings are each an entry of their own, in the order observed, by no clinician.
---@param ref vigil.ItemRef
---@return {seq: integer, by: string, clinician: boolean, amendment: boolean, observed_at: integer, recorded_at: integer, value: any, newest: boolean}[]
function Visit.changes(ref) end
--- How long ago the latest reading was observed, in ms (visit.now() - visit.observed_at(ref)); nil
--- if never recorded.
---@param ref vigil.ItemRef
---@return integer|nil
function Visit.age(ref) end
--- Of a scheduled item of the current phase: how many of its due times have come (at or before
--- now), and how many of those have a reading observed within the item's grace either side, each
--- reading counting for the due time nearest it only. 0, 0 for another phase's item. A skipped
--- due time has no reading (docs/safety.md AG4).
---@param ref vigil.ItemRef
---@return integer due
---@return integer read
function Visit.checkpoints(ref) end
--- A parameter of this visit (its value or the protocol's default).
---@param name string
---@return any
function Visit.param(name) end
--- The current phase's id.
---@return string
function Visit.phase() end
--- Milliseconds since the visit started.
---@return integer
function Visit.elapsed() end
--- Milliseconds since the current phase started.
---@return integer
function Visit.phase_elapsed() end
--- Engine time, milliseconds since the epoch (UTC); simulated in tests.
---@return integer
function Visit.now() end
--- The visit's id.
---@return integer
function Visit.id() end
--- The patient's treatment course this visit is a session of, or nil when its
--- protocol declares none (docs/protocols.md, "Courses").
---@return vigil.Course?
function Visit.course() end

---@class vigil.Course The course as this visit's session sees it.
---@field id integer
---@field session integer This visit's session number (1, 2, ...).
---@field sessions integer The induction series (the course's `sessions`).
---@field stage "induction"|"maintenance"
---@field min_interval integer The course's minimum interval between sessions, ms.
---@field last_at? integer When the previous session started (ms since the epoch); nil at the first.
---@field days_since_last? number Days from the previous session's start to this one's; nil at the first.
---@field previous fun(measure: string): number? The measure at the last earlier session that has it.
---@field first fun(measure: string): number? The measure at the first session that has it (the baseline).

---@alias vigil.Check fun(x: any, visit: vigil.Visit): vigil.Outcome|vigil.Outcome[]|nil
---@alias vigil.Gate fun(visit: vigil.Visit): boolean, string?

---@class vigil.Declaration A declaration (protocol, phase, item, rule, param), tagged with its file:line.

---@class vigil.OverdueOptions
---@field priority? vigil.Priority The overdue alert's priority (default: defaults.overdue_priority or "medium").
---@field escalate? vigil.Duration
---@field latching? boolean

---@class vigil.ItemSpec Options every item kind takes.
---@field title? string Shown to the nurse (default: the id).
---@field help? string
---@field required? boolean Must be recorded or skipped before leaving the phase (default true, text false).
---@field skippable? boolean false: a skip is refused, the item is recorded or a clinician overrides the gate (default true; signatures never).
---@field clinician? boolean true: only a clinician records, amends or skips it (a nurse's entry 403; default false; not on signatures).
---@field when? fun(visit: vigil.Visit): boolean The item applies only when this holds.
---@field after? string Another check of the phase (not scheduled): the item is recorded only once it is recorded yes (409 before it, 422 observed before it).
---@field at? vigil.Duration First due time, from phase entry.
---@field every? vigil.Duration Repeats.
---@field grace? vigil.Duration After a due time, how long until overdue.
---@field count? integer How many occurrences (with every).
---@field until? vigil.Duration No occurrence after this, from phase entry.
---@field overdue? vigil.OverdueOptions
---@field rule? vigil.Check Runs each time the item is recorded or amended; its rule id is the item id.

---@class vigil.NumberSpec: vigil.ItemSpec
---@field unit string UCUM unit, required ("kg", "mg", "mm[Hg]", "h").
---@field range? number[] { low, high }: plausible values (others are refused).
---@field decimals? integer

---@class vigil.ChoiceSpec: vigil.ItemSpec
---@field options string[] The choices, in order.

---@class vigil.TextFormat
---@field pattern string A POSIX extended regular expression the whole value matches (anchored at both ends).
---@field says string What it accepts, in words, for the refusal.

---@class vigil.TextSpec: vigil.ItemSpec
---@field format? vigil.TextFormat What a value must look like to be recorded (others are refused, 422).

---@class vigil.VitalsSpec: vigil.ItemSpec
---@field fields (vigil.VitalsField|table)[] { "sbp", "dbp", hr = { range = { 30, 220 } } }
---@field optional? vigil.VitalsField[] Fields that may be left out.

---@class vigil.ScoreSpec: vigil.ItemSpec
---@field fields? table<string, integer[]|vigil.ScoreField>|vigil.ScoreField[] Entered: { activity = { 0, 1, 2 }, ... } (by name), or { { "activity", title = "Activity", points = { 2, 1, 0 }, labels = { [2] = "moves 4 extremities" } }, ... } (in the form's order)
---@field from? vigil.ItemRef|vigil.ItemRef[] Computed from these items when they are recorded.
---@field compute? fun(x: any, visit: vigil.Visit): number The total (default for entered scores: the sum).

---@class vigil.ScoreField
---@field [1] string? The field's name (in the list form).
---@field title? string What the form calls it.
---@field points integer[] The allowed points, in the order the form shows them.
---@field labels? table<integer, string> What each point means: { [2] = "moves 4 extremities", ... }.

---@class vigil.SignatureSpec: vigil.ItemSpec
---@field of vigil.ItemRef The entry a second person confirms.
---@field meaning? string What the signature means ("dose double-checked against weight and order").
---@field params? string|string[] Visit params it attests too (recorded with it; a change voids it).
---@field calculation? fun(visit: vigil.Visit): string What the signer checks, shown and recorded with the signature.
---@field options? string[] A signature with an outcome: the signer chooses one (e.g. an assessment's result).

---@class vigil.RuleSpec
---@field on vigil.ItemRef|vigil.ItemRef[] Runs when any of these is recorded or amended.
---@field check vigil.Check
---@field title? string
---@field priority? vigil.Priority The highest priority it raises: its technical alert's if it fails (default "high").
---@field worse? "higher"|"lower"|{ higher: number }|{ lower: number } How its alerts' value gets worse, and the margin to announce again after an acknowledgement.
---@field carry? boolean Its alerts outlive the phase: closed by the rule or a clinician's acknowledgement with a reason.

---@class vigil.PhaseSpec
---@field title? string
---@field help? string
---@field duration? { min?: vigil.Duration, max?: vigil.Duration }
---@field items? vigil.Declaration[]
---@field rules? vigil.Declaration[]
---@field gate? vigil.Gate true to leave; otherwise false, "why".
---@field before_dose? vigil.Gate In the phase that gives the dose: asked at each entry of the dose while it is not given; false, "why" holds it (409).
---@field grace? vigil.Duration Default grace of this phase's scheduled items.
---@field missed? "alert"|"hold" "hold": a missed checkpoint (overdue, never recorded nor skipped) holds the gate until recorded late or overridden (default "alert").
---@field unacknowledged? "hold"|"allow" The last phase is left (the discharge) only when every alert of the visit is acknowledged ("hold", the default); "allow" lets medium and low alerts go unacknowledged.
---@field unmonitored_after? integer After this many checkpoints missed in a row the phase's overdue alerts stop and one high alert says monitoring stopped being documented; the next entry resumes them (default 6).

---@class vigil.ParamSpec
---@field kind? "number"|"choice"|"text"|"check" Inferred from default when absent.
---@field title? string
---@field unit? string
---@field range? number[] { low, high }
---@field default? any No default: the visit must give it.
---@field required? boolean
---@field options? string[] For choice params.
---@field source? string Where the number comes from (a docs/clinical/ page, a guideline).
---@field prescribed? boolean Part of the prescription: only a clinician sets another value than the default.
---@field less_than? string|string[] Params this one must be less than (checked on defaults and on a visit's values).

---@class vigil.Defaults
---@field grace? vigil.Duration
---@field escalate? vigil.Duration
---@field overdue_priority? vigil.Priority
---@field latching? boolean
---@field latch? vigil.Priority|false Alerts of this priority and above stay active and escalating after their cause clears, until acknowledged (default: none).
---@field escalation_raises_priority? boolean An escalation also raises the priority one step (default false: only the level).

---@class vigil.Hooks
---@field alert? fun(alert: { id: integer, rule: string, priority: vigil.Priority, message: string, source: string, item?: string }, visit: vigil.Visit): vigil.Outcome|vigil.Outcome[]|nil
---@field phase_enter? fun(phase: string, visit: vigil.Visit): vigil.Outcome|vigil.Outcome[]|nil
---@field phase_exit? fun(phase: string, visit: vigil.Visit): vigil.Outcome|vigil.Outcome[]|nil
---@field overdue? fun(item: string, visit: vigil.Visit): vigil.Outcome|vigil.Outcome[]|nil

---@class vigil.ProtocolSpec
---@field version string Semantic version "MAJOR.MINOR.PATCH"; id@version is immutable once used.
---@field title? string
---@field description? string
---@field sources? string[]
---@field defaults? vigil.Defaults
---@field params? vigil.Declaration[]
---@field phases vigil.Declaration[]
---@field on? vigil.Hooks
---@field course? vigil.Declaration The course its visits make: v.course { ... }.
---@field drug? { names?: string[], codes?: string[] } The drug it gives: an allergy on the patient's record naming it is a high alert at the start.

---@class vigil.CourseMeasure
---@field item? string "phase.item": the item's value, or its `field`.
---@field field? string A field of the item ("total" of a score).
---@field param? string Or a param of the visit (the dose).

---@class vigil.CourseSpec
---@field visits? string[] The protocol ids whose visits join the course (default: this protocol).
---@field sessions integer The induction series: how many sessions.
---@field within vigil.Duration The time the induction series should take.
---@field min_interval vigil.Duration The shortest time between two sessions.
---@field interval vigil.Duration The usual time between two induction sessions: the next is due this long after the last.
---@field grace vigil.Duration How long after a due session the course is overdue.
---@field dose_given? string|string[] "phase.item"(s) whose recording means the dose was given (docs/safety.md M1, AG2).
---@field dose_recorded? string|string[] "phase.item"(s) recorded before the dose (its dose and lot) that say it was given once the visit has left their phase (AG2).
---@field maintenance? { interval: vigil.Duration, sessions?: integer, max_interval?: vigil.Duration } After the induction series: sessions due `interval` apart (the first `sessions` of them when max_interval is given), then `max_interval` apart.
---@field measures? table<string, vigil.CourseMeasure> What each session measures, by name.
---@field priorities? { missed_session?: vigil.Priority, non_response?: vigil.Priority, series_incomplete?: vigil.Priority } Each course alert's priority (medium unless said).
---@field response? { measure: string, fall_pct: number } A response: the latest value this much (%) below the first.
---@field remission? { measure: string, below: number } A remission: the latest value below this.

---@class vigil
---@field alert vigil.Alerts
---@field vitals_fields table<vigil.VitalsField, { title: string, unit?: string, range?: number[], loinc?: string, kind?: string, options?: string[] }>
local vigil = {}

--- Declares the protocol: `return v.protocol "id" { version = "1.0.0", phases = { ... } }`.
---@param id string
---@return fun(spec: vigil.ProtocolSpec): vigil.Declaration
function vigil.protocol(id) end

--- Declares a phase: `v.phase "infusion" { items = { ... }, gate = function(visit) ... end }`.
---@param id string
---@return fun(spec: vigil.PhaseSpec): vigil.Declaration
function vigil.phase(id) end

--- Declares a rule: `v.rule "bp_high" { on = "vitals", check = function(x, visit) ... end }`.
---@param id string
---@return fun(spec: vigil.RuleSpec): vigil.Declaration
function vigil.rule(id) end

--- Declares the course of the protocol's visits: `course = v.course { sessions = 6, within = "21d", ... }`.
---@param spec vigil.CourseSpec
---@return vigil.Declaration
function vigil.course(spec) end

--- Declares a parameter: `v.param "sbp_alert" { default = 180, unit = "mm[Hg]", source = "..." }`.
---@param name string
---@return fun(spec: vigil.ParamSpec): vigil.Declaration
function vigil.param(name) end

--- A confirmation: true or false.
---@param id string
---@return fun(spec: vigil.ItemSpec): vigil.Declaration
function vigil.check(id) end

--- A number with a unit.
---@param id string
---@return fun(spec: vigil.NumberSpec): vigil.Declaration
function vigil.number(id) end

--- One of a list of options.
---@param id string
---@return fun(spec: vigil.ChoiceSpec): vigil.Declaration
function vigil.choice(id) end

--- Free text (optional by default).
---@param id string
---@return fun(spec: vigil.TextSpec): vigil.Declaration
function vigil.text(id) end

--- A set of vital signs recorded together.
---@param id string
---@return fun(spec: vigil.VitalsSpec): vigil.Declaration
function vigil.vitals(id) end

--- A score: entered as points per field, or computed from other items.
---@param id string
---@return fun(spec: vigil.ScoreSpec): vigil.Declaration
function vigil.score(id) end

--- A second person's confirmation of another entry.
---@param id string
---@return fun(spec: vigil.SignatureSpec): vigil.Declaration
function vigil.signature(id) end

--- The phase cannot be left until the rule next runs without returning it.
---@param reason string
---@param opts? { id?: string }
---@return vigil.Outcome
function vigil.block(reason, opts) end

--- A note in the visit's record.
---@param text string
---@return vigil.Outcome
function vigil.note(text) end

--- A duration in milliseconds: v.ms("5m") == 300000.
---@param duration vigil.Duration
---@return integer
function vigil.ms(duration) end

--- What of item `ref` changed after a dose, given at `at` (its observed time) by the entry `seq`
--- (visit.recorded_seq), that no clinician stands by, walked through visit.changes: a change made
--- before the dose's entry and at or before its time is before it; the value stood by is the one
--- in effect before the dose, or the one a clinician's later change made the value in effect (an
--- amendment, or an entry of the newest reading). `same(a, b)` says whether two values (either may
--- be nil) are alike for the question. nil when the value now is alike the one stood by.
---@param visit vigil.Visit
---@param ref vigil.ItemRef
---@param seq integer
---@param at integer
---@param same fun(a: any, b: any): boolean
---@return {previous: any, now: any, by: string, how: "amended"|"entered again"|"entered"}|nil
function vigil.changed_since(visit, ref, seq, at, same) end

--- Engine time, milliseconds since the epoch (UTC); simulated in tests.
---@return integer
function vigil.now() end

return vigil
