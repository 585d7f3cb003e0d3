/* api_stats.h: the API's counters (vigil__api_stats_get, api.h), which
 * GET /metrics reads (metrics.c), in a header of their own so that the
 * metrics need not include the API they report on. */
#ifndef VIGIL_API_STATS_H
#define VIGIL_API_STATS_H

#include <stdint.h>

/* Upper bounds (seconds) of the commit latency histogram's buckets. */
#define API_COMMIT_BUCKETS 12
extern const double vigil__api_commit_bounds[API_COMMIT_BUCKETS]; /* metrics.c */

typedef struct api_stats {
  uint64_t requests, commits, commit_failures;
  uint64_t commit_ns_total, commit_ns_max;
  uint64_t commit_buckets[API_COMMIT_BUCKETS]; /* commits that took at most each bound (not cumulative) */
  unsigned subscribers;                        /* event streams open now */
  uint64_t streams_opened, streams_dropped;
  /* Requests refused for who sent them (every one, recorded or coalesced):
   * cross-site, not signed in, a wrong password, past the guessing limits. */
  uint64_t refused_cross_site, refused_unauthenticated, refused_bad_password, refused_too_many;
  /* Event pages (pages.c, AB3): built, answered unbuilt (their client gone),
   * refused 429 (a user's pages at once past PAGES_PER_USER). */
  uint64_t pages_built, pages_skipped, refused_pages;
  /* Protocol diffs (diffs.c, AC1): computed, answered from those kept,
   * refused 503 busy (another being computed), answered uncomputed (their
   * client gone). */
  uint64_t diffs_built, diffs_reused, diffs_busy, diffs_skipped;
} api_stats;

#endif
