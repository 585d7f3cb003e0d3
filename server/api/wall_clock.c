/* wall_clock.c: the wall clock of sessions, sign-in limits and
 * Idempotency-Keys, which run by it even under the simulated clock.
 *
 * A file of its own, calling nothing of the API, so that api_users.c and
 * idempotency.c, which both read it, do not call each other. */
#include <stdint.h>
#include <sys/time.h>

#include "api_internal.h"

int64_t vigil__api_wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
