---@meta
-- LuaCATS annotations of the spec language (`vigil test`, core/lang/lua/spec.lua):
-- the globals a *_spec.lua file has. Never loaded by vigil. (The language
-- server shows them in protocol files too, where they do not exist.)

---@class vigil.spec.Step
---@field record? table Items to record: { vitals = { sbp = 120, ... }, consent = true }.
---@field ack? string Acknowledge the active alert of this rule (or item).
---@field reason? string With ack: why (a carried alert is acknowledged with a reason only).
---@field amend? { item: string, value: any, reason: string }
---@field skip? { item: string, reason: string }
---@field advance? boolean Leave the phase (its gate must hold).
---@field discharge? boolean
---@field override? string Leave the phase although its gate does not hold, with this reason.
---@field holds? string[] With override: the rule holds (blocks) it passes, each named (docs/safety.md Q5).
---@field abort? string
---@field actor? string Who takes the step (default: the spec's actor).

---@class vigil.spec.Expectation
---@field alert? string|true An alert from this rule (or alert id, or overdue item).
---@field no_alert? string|true
---@field escalated? string
---@field acknowledged? string
---@field resolved? string
---@field overdue? string An item turned overdue.
---@field block? string A rule set a block.
---@field unblocked? string
---@field note? string A note containing this text.
---@field gate_blocked? string Leaving this phase was refused.
---@field overridden? string
---@field entered? string
---@field discharged? true
---@field aborted? true
---@field refused? true A step at this time was refused.
---@field phase? string The visit is in this phase.
---@field status? "active"|"discharged"|"aborted"
---@field gate? "open"|"blocked" The current phase's gate, now.
---@field priority? "high"|"medium"|"low"
---@field id? string
---@field source? "rule"|"overdue"|"phase"|"technical"|"hook"
---@field message? string A part of the alert's message.
---@field reason? string A part of the reason.
---@field rule? string
---@field level? integer
---@field error? string

---@class vigil.spec.Spec
---@field params? table The visit's params.
---@field patient? string
---@field actor? string
---@field run_until? string Keep the clock going after the last step ("3h").
---@field no_other? string|string[] "alerts", "overdue", "blocks", "notes", "escalations", "gates".
---@field [integer] table Steps and expectations (and lists of them), in any order.

--- A spec: `return spec "what it shows" { params = { ... }, at "0m" { ... }, expect "30m" { ... } }`.
---@param title string
---@return fun(body: vigil.spec.Spec): table
function spec(title) end

--- A step at a time from the visit's start: `at "30m" { record = { ... } }`.
---@param time string
---@return fun(step: vigil.spec.Step): table
function at(time) end

--- An expectation at a time or a window: `expect "30m" { alert = "bp_high", priority = "high" }`, `expect "30m..40m" { ... }`.
---@param time string
---@return fun(expectation: vigil.spec.Expectation): table
function expect(time) end
