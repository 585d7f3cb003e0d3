/* pages.h: the lane of event pages (GET /api/v1/events), pages.c. */
#ifndef VIGIL_API_PAGES_H
#define VIGIL_API_PAGES_H

#include <stdint.h>

#include "api_internal.h"

/* Pages of one user (all their sessions and tokens) waiting or being built
 * at once; past it 429 too_many_pages with Retry-After (docs/security.md AB3). */
#define PAGES_PER_USER 4
/* The loop's time one turn gives to pages: then it polls again, so that
 * everyone else's requests are read and answered between pages. */
#define PAGES_SLICE_MS 5

void vigil__api_pages_init(api *a);
/* Answers req, of the user name, with the page (after, visit, limit) later, in the
 * lane: each page is built on a later turn of the loop, a few milliseconds'
 * worth a turn; the page of a client gone meanwhile is not built. */
void vigil__api_page_request(api *a, http_request *req, const char *name, uint64_t after, uint64_t visit,
                             uint32_t limit);
/* Answers what waits 503 (the server stops) and closes the lane's handle:
 * closed(handle) when it is. */
void vigil__api_pages_close(api *a, void (*closed)(uv_handle_t *h));

#endif
