/* lane.h: the lane of costly reads (docs/security.md AB3, AC2), lane.c. */
#ifndef VIGIL_API_LANE_H
#define VIGIL_API_LANE_H

#include <stdint.h>

#include "api_internal.h"

/* Costly reads of one user (all their sessions and tokens, every kind
 * together) waiting or being built at once; past it 429 too_many_reads with
 * Retry-After (docs/security.md AB3, AC2). */
#define LANE_PER_USER 4
/* The loop's time one turn gives to the lane: then it polls again, so that
 * everyone else's requests are read and answered between costly reads. */
#define LANE_SLICE_MS 5

/* What a costly read asks, copied into the lane (each kind reads its own
 * fields). */
typedef struct lane_read {
  uint64_t id;           /* the path's {id}: a visit, a course (0: none) */
  uint64_t after, limit; /* a page: after this seq or alert, at most limit */
  int64_t from, to;      /* the alert log's span, ms */
  int csv;               /* the REMS form as CSV */
  /* A diff's pair of versions: ref from base_ref ("" when it has none). */
  char ref[256], base_ref[256];
  char sha256[65], base_sha256[65];
  char user[USER_NAME_MAX + 1]; /* who asked (the lane sets it) */
} lane_read;

/* Builds and answers req (or starts what will answer it: a diff's child). */
typedef void (*lane_build)(api *a, http_request *req, const lane_read *r);

void vigil__api_lane_init(api *a);
/* Answers req, of the user name, later in the lane: built by build on a
 * later turn of the loop, a few milliseconds' worth of reads a turn; a read
 * whose client has gone meanwhile is answered without being built. Past
 * LANE_PER_USER of the user's at once: 429 too_many_reads, nothing built.
 * kind is the route's kind (api_stats.h), counted in /metrics. */
void vigil__api_lane_request(api *a, http_request *req, const char *name, api_lane_kind kind, const lane_read *r,
                             lane_build build);
/* Reads of that kind waiting in the lane. */
unsigned vigil__api_lane_waiting(const api *a, api_lane_kind kind);
/* Answers what waits 503 (the server stops) and closes the lane's handle:
 * closed(handle) when it is. */
void vigil__api_lane_close(api *a, void (*closed)(uv_handle_t *h));

#endif
