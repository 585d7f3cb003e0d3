/* workload.h: the reference workload of shared/bench/WORKLOAD.md, independent
 * of any engine: when each visit does what, the values it records, and the
 * checksums every implementation must reproduce. */
#ifndef VIGIL_BENCH_WORKLOAD_H
#define VIGIL_BENCH_WORKLOAD_H

#include <stdint.h>

#define WL_MINUTE_MS 60000
#define WL_SPREAD_MS 3600000 /* all visit starts fall within the first hour */
#define WL_CHECKPOINTS 3     /* vitals at +15, +30, +45 min */
#define WL_CHECKPOINT_EVERY_MS (15 * WL_MINUTE_MS)
#define WL_OBSERVATION_END_MS (165 * WL_MINUTE_MS)
#define WL_EVENTS_PER_VISIT 7 /* start, screening, 3 checkpoints, observation end, decision */

typedef struct wl_screening {
  int consent, contraindication, iv_access;
  double npo_hours, baseline_sbp;
} wl_screening;

typedef struct wl_vitals {
  double sbp, spo2, hr;
} wl_vitals;

/* What a run must produce; discharged < 0 where the table gives no figure. */
typedef struct wl_checksums {
  uint64_t events, alerts, alerts_delivered;
  int64_t discharged;
} wl_checksums;

uint32_t wl_mix32(uint32_t x);
/* Offset of visit i's start from the simulated origin: floor(i * 3600000 / n). */
int64_t wl_start_ms(uint64_t i, uint64_t n);
wl_screening wl_screening_of(uint32_t sid);
/* Checkpoint k = 1..3. */
wl_vitals wl_vitals_of(uint32_t sid, uint32_t k);
int wl_vitals_alert(wl_vitals x);
/* The published checksums for n, or 0 if WORKLOAD.md has none for it. */
int wl_expected(uint64_t n, wl_checksums *out);

#endif
