// passed.js: the required items a clinician's override passed unrecorded
// (the dose drawn up, the second person's dose check, the suicide-risk
// assessment): the visit keeps them in `passed_by_override` for the rest of
// the visit, and the visit page, the board and the summary say so in the
// same words (docs/safety.md V1).

export function passedByOverride(v) {
  return (v && v.passed_by_override) || [];
}

export function passedText(p) {
  return `Passed by override: ${p.title}${p.recorded_since ? " (recorded since)" : ""}`;
}
