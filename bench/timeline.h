/* timeline.h: the reference workload's timeline on a vigil engine with the
 * simulated clock (modes M1, M2 and M5 of vigil-bench), the subscribers that
 * count what is heard, and the checksums a run must match. */
#ifndef VIGIL_BENCH_TIMELINE_H
#define VIGIL_BENCH_TIMELINE_H

#include <stdint.h>

#include "vigil/vigil.h"
#include "workload.h"

/* A fixed origin (2025-01-01T00:00:00Z) so that every run sees the same times. */
#define SIM_ORIGIN_MS INT64_C(1735689600000)
#define ACTOR "bench"

/* What the subscribers heard: one on "*", two on "alert.*" (deliveries). */
typedef struct counts {
  uint64_t events, alerts, discharged, held, delivered;
} counts;

int counts_subscribe(vigil_engine *e, counts *c);

/* Every visit does the same five things at the same offsets from its start,
 * and starts are increasing in the visit index, so each kind of action is
 * already in time order across visits: the timeline is a merge of five
 * cursors, with no queue and no per-action memory. */
enum { ACT_START, ACT_CHECKPOINT_1, ACT_CHECKPOINT_2, ACT_CHECKPOINT_3, ACT_DISCHARGE, ACT_COUNT };
extern const int64_t act_offset_ms[ACT_COUNT];

typedef struct run {
  vigil_engine *e;
  const char *protocol; /* "id@version" */
  uint64_t n;
  uint64_t *visit_ids; /* by visit index */
  uint64_t cursor[ACT_COUNT];
  /* Group commit (M2, M5): up to batch_max commands per transaction, and with
   * per_instant only those of one simulated instant. batch_max 1: none, every
   * command (and every deadline) commits itself, as in M1. */
  uint32_t batch_max;
  int per_instant;
  uint64_t batches; /* transactions the driver opened and committed */
} run;

/* The kind of action that comes next and its time, or -1 when the timeline is done. */
int next_act(const run *r, int64_t *at);
/* Does the next action of that kind (the clock already moved to its time). */
int do_act(run *r, int act);
int engine_error(const run *r, const char *what, uint64_t i, int rc);

typedef struct live_sample {
  int64_t rss_before, rss_live; /* bytes: before the first visit, and at t = 60 min */
  size_t lua_bytes;             /* at t = 60 min */
  int sampled;
} live_sample;

/* Runs the timeline's actions due up to `until` (INT64_MAX: to its end),
 * then commits. At t = 60 min, when every visit has started and none has
 * ended, it samples memory into *sample (if not NULL). */
int run_timeline(run *r, int64_t until, live_sample *sample);

/* What the generator alone says the run must produce, whatever the engine. */
wl_checksums predict(uint64_t n);
/* 1 if equal; otherwise says what differs on stderr and returns 0. */
int compare(const char *what, const char *name, uint64_t want, uint64_t got);
int checksums_match(const char *what, const wl_checksums *want, const wl_checksums *got);
/* Checks heard counts against the generator and WORKLOAD.md; 1 when they match. */
int counts_ok(uint64_t n, const counts *c);

/* Reads a closed store back with SQLite alone: what is on disk. events
 * counts the visits' events; rows also the engine's own (visit 0: a
 * recovery is recorded as one). */
typedef struct stored {
  uint64_t events, alerts, discharged, rows, max_seq;
} stored;
int read_store(const char *db, stored *out);

#endif
