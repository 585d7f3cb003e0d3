/* vigil__protocol_diff.h: what changed between two protocol versions, in clinical
 * terms (`vigil protocol diff`): params and their defaults and ranges, phases
 * and their durations and gates, items and their schedules, fields, ranges
 * and options, rules and what they run on, hooks, and the helper code behind
 * them, each line saying what a reviewer must look at. */
#ifndef VIGIL_PROTOCOL_DIFF_H
#define VIGIL_PROTOCOL_DIFF_H

#include "lang/protocol.h"

typedef void (*diff_line_fn)(void *ud, const char *line);

/* Calls fn with each line of the report, from version a to version b:
 * a heading "id@1.0.0 -> id@1.1.0", then sections ("Parameters ...:") with
 * lines "  + added", "  - removed", "  ~ changed". Returns how many changes,
 * or VIGIL_ENOMEM when a text it compares could not be made: the lines said
 * before stand, but the report is not all of it (and says no false change). */
int vigil__protocol_diff(const protocol *a, const protocol *b, diff_line_fn fn, void *ud);

/* The prescription's changes from a to b (a NULL: a first version): every
 * param prescribed in either that is added, removed, or whose default,
 * allowed range, unit or prescribed mark differs, one line each ("~ name
 * \"title\": default 0.5 -> 1 mg/kg, allowed 0.1..1 -> 0.1..2, prescribed
 * yes -> no"). Approving a version needs them confirmed (docs/safety.md, F7).
 * Returns how many, or VIGIL_ENOMEM when a text it compares or says could
 * not be made (the lines said stand; no false change is said). */
int vigil__protocol_prescribed_changes(const protocol *a, const protocol *b, diff_line_fn fn, void *ud);

/* The safety controls b removes or weakens from a, one line each in clinical
 * words ("item screening.dose: may now be skipped (skippable = false
 * removed)"): skippable = false, carry = true, missed = "hold", signatures
 * (what they confirm and attest), a rule's block or its items, a gate, a
 * phase's minimum time, priorities lowered. Approving a version needs them
 * confirmed (docs/safety.md, K6). Returns how many, or VIGIL_ENOMEM when a
 * rule's or a condition's code could not be read for want of memory (what
 * was said stands; nothing is said of what was not read). Not yet: a spec
 * run (N1 (c), the free params) that runs out of memory reads as a case that
 * no longer holds (docs/reviews/architecture.md, fourth review, item 3). */
int vigil__protocol_weakened(const protocol *a, const protocol *b, diff_line_fn fn, void *ud);

/* The code of b the diff cannot vouch for (docs/safety.md, AI2): each gate,
 * rule, condition (when), score computation and hook that b keeps from a
 * and whose code, or a function of the protocol's files it calls, changed
 * (a condition also when b adds it), one line each ("rule observation.rr_low:
 * its code, or a function it calls, changed (observation.lua:40-52)"). The
 * weakened lines say what the cases the diff tries show; these say what no
 * case may show (code can read the visit's id, another answer, the minute).
 * Approving a version needs them read and confirmed. Returns how many, or
 * VIGIL_ENOMEM (nothing said of what could not be read). author/code_changes.c. */
int vigil__protocol_code_changes(const protocol *a, const protocol *b, diff_line_fn fn, void *ud);

#endif
