/* scenario.h: a scripted visit in simulated time.
 *
 * A scenario (a Lua file returning a table, docs/protocols.md) names a
 * patient, params and timed steps a nurse takes. Running it starts one visit
 * and performs each step at its time, letting every deadline in between fire.
 * A refused step is reported, and the scenario goes on, as a nurse would. */
#ifndef VIGIL_SCENARIO_H
#define VIGIL_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "vigil/vigil.h"

struct lua_State;

/* Called after each step: what it was ("record vitals"), and its result. */
typedef void (*scenario_step_fn)(void *ud, int64_t at, const char *step, int rc, const char *error);

/* Runs the scenario at path on e (a simulated-clock engine with the protocol
 * loaded). Returns 0, or a negative error with a message in err (a scenario
 * that cannot be read). */
int vigil__scenario_run(vigil_engine *e, const char *protocol, const char *path, scenario_step_fn fn, void *ud,
                        uint64_t *visit, char *err, size_t errlen);

/* Performs one step (the table at index step of L: record, ack, amend, skip,
 * advance, discharge, override or abort) on visit, as actor; describes it in
 * desc ("record {...}"). Returns the command's result. Specs (spec.c) share it. */
int vigil__scenario_step(vigil_engine *e, struct lua_State *L, int step, uint64_t visit, const char *actor, buf *desc);

#endif
