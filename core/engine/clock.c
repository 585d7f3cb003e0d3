/* clock.c: the engine's time: the simulated clock's, or the real one's read
 * so that a stepped system clock moves no deadline, never before the newest
 * event (G11). It calls nothing of the engine: the deadlines it paces are
 * schedule.c's, the timer that fires them too. */
#include <uv.h>

#include "clock.h"
#include "model.h"

int64_t vigil__engine_now(const vigil_engine *e) {
  if (e->opts.clock == VIGIL_CLOCK_SIMULATED) return e->sim_now > e->time_floor ? e->sim_now : e->time_floor;
  /* Wall time at start plus monotonic time since: deadlines do not move when
   * the system clock is stepped. Never before the newest event the engine
   * folded or made (G11 in docs/safety.md): a clock set back between two
   * runs would make new readings older than stored ones; time then stands
   * at that event until the clock passes it. */
  int64_t now = e->wall_base + (int64_t)((uv_hrtime() - e->hr_base) / 1000000u);
  return now > e->time_floor ? now : e->time_floor;
}

int64_t vigil_engine_now(const vigil_engine *e) { return vigil__engine_now(e); }
