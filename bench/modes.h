/* modes.h: vigil-bench's modes beyond the simulated timeline of M1 and M2:
 * real time and burst on libuv (M3, M4, realtime.c), and crash and recovery
 * (M5, crash.c). Each prints its JSON line and returns the exit status. */
#ifndef VIGIL_BENCH_MODES_H
#define VIGIL_BENCH_MODES_H

#include <stdint.h>

typedef struct bench_args {
  uint64_t n;
  const char *protocol; /* path */
  const char *dir;      /* a temporary folder of the run's own, removed at exit */
  uint32_t batch;       /* M5: commands per transaction */
} bench_args;

int mode_realtime(const bench_args *a);
int mode_burst(const bench_args *a);
int mode_crash(const bench_args *a);

#endif
