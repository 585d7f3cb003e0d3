/* schedule.h: what happens when a deadline is reached (schedule.c); when
 * things are due is deadline.h's. Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_SCHEDULE_H
#define VIGIL_CORE_ENGINE_SCHEDULE_H

#include "model.h"

/* The journal's up-call after each commit (e->up.arm): arms the loop's
 * timer for the earliest deadline (the real clock); on the simulated clock,
 * fires at once, and commits, what is due now (docs/safety.md AD1). */
void vigil__clock_arm(vigil_engine *e);
/* The real clock's timer made, once: 0, or VIGIL_ENOMEM (said in e's error).
 * A command makes it before it records anything, so a deadline it sets is
 * never left without a timer (sixth review, item 3). */
int vigil__clock_timer(vigil_engine *e);
/* Fires the deadline h of a visit or a course. */
int vigil__deadline_tick(vigil_engine *e, heap_entry *h);

#endif
