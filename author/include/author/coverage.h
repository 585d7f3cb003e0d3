/* coverage.h: what a protocol's specs reached (`vigil test --coverage`).
 *
 * Three measures, gathered over every spec run with the same coverage:
 *   rules: which ran at least once, and which ever returned an outcome;
 *   items: which were recorded or skipped at least once;
 *   lines: which lines of the protocol's functions (rules, gates, `when`,
 *          `compute`, hooks and every helper they call) ran; a line that never
 *          ran is a branch no spec took.
 * Lines are traced by a line hook in the protocol's sandbox, set only while a
 * coverage is attached: normal running pays nothing.
 */
#ifndef VIGIL_COVERAGE_H
#define VIGIL_COVERAGE_H

#include "vigil/vigil.h"

/* Handed to the spec runner (spec.h), which gathers into it. */
typedef struct spec_coverage spec_coverage;

spec_coverage *vigil__coverage_new(void);
void vigil__coverage_free(spec_coverage *c);

/* Starts tracing every protocol loaded in e (before any visit starts), and
 * stops, keeping what was reached; e must still be alive at detach. */
void vigil__coverage_attach(spec_coverage *c, vigil_engine *e);
void vigil__coverage_detach(spec_coverage *c, vigil_engine *e);

/* The report, one line at a time ("rules: 21 of 24 ran; ..."). Returns how
 * many rules, items and line ranges no spec reached. */
typedef void (*coverage_line_fn)(void *ud, const char *line);
int vigil__coverage_report(const spec_coverage *c, coverage_line_fn fn, void *ud);

#endif
