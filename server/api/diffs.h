/* diffs.h: protocol diffs kept and computed one at a time (docs/security.md AC1), diffs.c. */
#ifndef VIGIL_API_DIFFS_H
#define VIGIL_API_DIFFS_H

#include <jansson.h>

#include "api_internal.h"

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

void vigil__api_diffs_init(api *a);
/* The diff JSON of the version ref, kept or computed (and kept); NULL when
 * out of memory, or with *found 0 when there is no such version. */
typedef json_t *(*diff_compute)(api *a, const char *ref, int *found);

/* Answers req with the diff of the version ref later, in the loop's idle
 * phase (computed by compute): one diff waits or is built at a time,
 * another meanwhile is 503 busy with Retry-After; one whose client has gone
 * is answered without being built. */
void vigil__api_diff_request(api *a, http_request *req, const char *ref, diff_compute compute);
/* Answers what waits 503 (the server stops), closes the handle, forgets the
 * diffs kept. */
void vigil__api_diffs_close(api *a, void (*closed)(uv_handle_t *h));

#endif
