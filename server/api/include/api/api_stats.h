/* api_stats.h: the API's counters (vigil__api_stats_get, api.h), which
 * GET /metrics reads (metrics.c), in a header of their own so that the
 * metrics need not include the API they report on. */
#ifndef VIGIL_API_STATS_H
#define VIGIL_API_STATS_H

#include <stdint.h>

/* Upper bounds (seconds) of the commit latency histogram's buckets. */
#define API_COMMIT_BUCKETS 12
extern const double vigil__api_commit_bounds[API_COMMIT_BUCKETS]; /* metrics.c */

/* The kinds of costly reads served in the lane (lane.c, AB3, AC2). */
typedef enum api_lane_kind {
  LANE_EVENTS,      /* GET /events, /visits/{id}/events */
  LANE_ALERT_LOG,   /* GET /alerts/log */
  LANE_FHIR,        /* GET /visits/{id}/fhir */
  LANE_COURSE_FHIR, /* GET /courses/{id}/fhir */
  LANE_REMS,        /* GET /visits/{id}/rems */
  LANE_DIFF,        /* GET /protocols/{ref}/diff, not kept yet */
  LANE_KINDS
} api_lane_kind;

typedef struct api_stats {
  uint64_t requests, commits, commit_failures;
  uint64_t commit_ns_total, commit_ns_max;
  uint64_t commit_buckets[API_COMMIT_BUCKETS]; /* commits that took at most each bound (not cumulative) */
  unsigned subscribers;                        /* event streams open now */
  uint64_t streams_opened, streams_dropped;
  /* Requests refused for who sent them (every one, recorded or coalesced):
   * cross-site, not signed in, a wrong password, past the guessing limits. */
  uint64_t refused_cross_site, refused_unauthenticated, refused_bad_password, refused_too_many;
  /* Costly reads by kind (lane.c, AB3, AC2): built, answered unbuilt
   * (their client gone), refused 429 (a user's reads at once past
   * LANE_PER_USER). */
  struct {
    uint64_t built, client_gone, too_many;
  } lane[LANE_KINDS];
  /* Protocol diffs (diffs.c, AC1): computed in full, answered from those
   * kept, refused 503 busy (another being computed), stopped (past the time
   * bound, out of memory, a crash: not kept); the client gone is the lane's. */
  uint64_t diffs_built, diffs_reused, diffs_busy, diffs_stopped;
  /* FHIR exports refused 503 busy past max_concurrent_exports (export_work.c, AQ6), and those that
   * waited for a slot (AU4). */
  uint64_t exports_busy, exports_waited;
} api_stats;

#endif
