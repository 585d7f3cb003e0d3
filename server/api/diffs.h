/* diffs.h: protocol diffs kept, computed one at a time in a child process
 * (docs/security.md AC1), diffs.c. */
#ifndef VIGIL_API_DIFFS_H
#define VIGIL_API_DIFFS_H

#include <jansson.h>

#include "api_internal.h"
#include "lane.h"

/* Diffs kept: past it the oldest goes (it is computed again if asked). */
#define DIFFS_KEPT 64

/* The diff of the version (ref, sha256) from its base (base_ref,
 * base_sha256; both "" when it has none) kept earlier, a new reference, or
 * NULL. */
json_t *vigil__api_diff_kept(api *a, const char *ref, const char *sha256, const char *base_ref,
                             const char *base_sha256);
/* Keeps diff (a reference of its own) for that pair. */
void vigil__api_diff_keep(api *a, const char *ref, const char *sha256, const char *base_ref, const char *base_sha256,
                          json_t *diff);

/* The diff JSON of the version ref from base_ref ("": none), computed whole:
 * NULL when any of it could not be (out of memory): an incomplete diff is
 * neither kept nor shown. */
typedef json_t *(*diff_compute)(api *a, const char *ref, const char *base_ref);

/* Answers req, of the user name, with the diff of pair (lane.h) later: it
 * waits in the lane of costly reads (lane.c), whose build, build, calls
 * vigil__api_diff_start. One diff waits or is computed at a time: another
 * meanwhile is 503 busy with Retry-After. */
void vigil__api_diff_request(api *a, http_request *req, const char *name, const lane_read *pair, lane_build build);
/* In the lane: answers req with the pair's diff, kept meanwhile, or
 * computed by compute in a child process (child.c) and then kept; past the
 * child's time bound, or out of its memory, 503 and nothing kept. */
void vigil__api_diff_start(api *a, http_request *req, const lane_read *pair, diff_compute compute);
/* For an approval (docs/security.md AM2): the pair's diff kept (a new
 * reference); or NULL, req answered 503 with Retry-After and nothing
 * approved: the diff started now in a child by compute, or being computed
 * (diff_pending); another diff computed or waiting in the lane (busy); or
 * the last one this started could not be finished (diff_too_long,
 * diff_stopped: said once, then started again when asked). Never computed
 * on the loop. */
json_t *vigil__api_diff_for_approval(api *a, http_request *req, const lane_read *pair, diff_compute compute);
/* Forgets the diffs kept (the server stops; a diff's child is stopped with
 * the others, vigil__api_children_stop). */
void vigil__api_diffs_close(api *a);

#endif
