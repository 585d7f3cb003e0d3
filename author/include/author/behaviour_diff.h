/* behaviour_diff.h: two versions of a protocol compared by what their rules
 * do (docs/safety.md T3, T4), for `vigil protocol diff`'s "weakened". */
#ifndef VIGIL_BEHAVIOUR_DIFF_H
#define VIGIL_BEHAVIOUR_DIFF_H

#include "lang/protocol.h"

/* Runs a's and b's rules over the same synthetic visits, phase by phase
 * (lang.behaviour_cases, vigil.lua), and calls fn with one line per rule of
 * a that, on a visit, raises a lower priority in b or no longer fires or
 * blocks there, naming the rule, its phase and the visit's values: with
 * every param at its default, and for each prescribed param of b that is
 * new or may take values it could not, at each end of its range (each
 * option; true and false) against a at the same end of its own. A widened
 * range of a param a rule reads is named itself (old -> new, the rules).
 * Returns how many lines. (fn is protocol_diff.h's diff_line_fn, not
 * included: protocol_diff.c includes this.) */
int vigil__behaviour_weakened(const protocol *a, const protocol *b, void (*fn)(void *ud, const char *line), void *ud);

/* Whether a and b are the same files but for the version they declare: no
 * code of theirs can differ (a copy one version down, test_oom's diff). */
int vigil__protocol_same_but_version(const protocol *a, const protocol *b);

#endif
