/* spec.h: protocol tests in simulated time (`vigil test`).
 *
 * A spec file (`*_spec.lua`, docs/protocols.md "Testing a protocol") is a
 * scenario with expectations: timed steps a nurse takes, and what the engine
 * must do (an alert from a rule at a time, an item overdue, a gate blocked
 * with a reason, no other alerts). The runner (core/lang/lua/spec.lua) starts each
 * spec's visit on a fresh simulated-clock engine with the protocol loaded,
 * performs the steps, and reports every expectation as a result that points
 * at the spec's file:line.
 */
#ifndef VIGIL_SPEC_H
#define VIGIL_SPEC_H

#include <stddef.h>

typedef struct spec_result {
  int ok;
  const char *spec;     /* the spec's title */
  const char *name;     /* what was checked, as a sentence */
  const char *where;    /* file:line of the expectation (or of the spec) */
  const char *message;  /* why it failed; NULL when ok */
  const char *expected; /* the expected timeline line(s); may be NULL */
  const char *actual;   /* what happened instead; may be NULL */
} spec_result;

typedef void (*spec_result_fn)(void *ud, const spec_result *r);

typedef struct spec_coverage spec_coverage;

/* Runs every spec in the file at path against the protocol at protocol (a
 * folder or file, as vigil_engine_load takes). Calls fn for every check.
 * cov (may be NULL) gathers what the specs reached. Returns the number of
 * failed checks, or a negative error with a message in err (the protocol
 * does not load, out of memory). */
int vigil__spec_run_file(const char *protocol, const char *path, spec_result_fn fn, void *ud, spec_coverage *cov,
                         char *err, size_t errlen);

/* As vigil__spec_run_file, with params (a JSON object; NULL: none) set on
 * every visit the specs start, over the spec's own values: the values a
 * nurse may give at a start, tried by `vigil protocol diff` (S5). */
int vigil__spec_run_file_with(const char *protocol, const char *path, const char *params, spec_result_fn fn, void *ud,
                              spec_coverage *cov, char *err, size_t errlen);

#endif
