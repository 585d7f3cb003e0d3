/* pages.c: the lane of event pages (docs/security.md AB3).
 *
 * A page of the log (GET /api/v1/events, up to 1,000 events, some 50-80 KB)
 * costs milliseconds: read from the store, each event's JSON parsed and
 * written again. Built where its request is read, one client's pipelined
 * pages on many connections (64 x 16 a burst, closed and sent again) held
 * the loop for seconds a turn, and /healthz from everyone else waited that
 * long. So pages wait in a lane: each turn of the loop builds pages for at
 * most PAGES_SLICE_MS (at least one), then polls, so that other requests
 * are read and answered between them; a page whose client has gone is
 * answered without being built (nobody reads it); and one user holds at most
 * PAGES_PER_USER pages in the lane, so that one token cannot fill it for the
 * others (past it 429 too_many_pages, Retry-After: 1, nothing built). */
#include "pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

typedef struct page_wait {
  struct page_wait *next;
  http_request *req;
  char user[USER_NAME_MAX + 1];
  uint64_t after, visit;
  uint32_t limit;
} page_wait;

static unsigned pages_of(const api *a, const char *name) {
  unsigned n = 0;
  for (const page_wait *w = a->pages; w; w = w->next)
    n += !strcmp(w->user, name);
  return n;
}

static void build(api *a, page_wait *w) {
  if (vigil__http_request_gone(w->req)) {
    a->stats.pages_skipped++;
    vigil__http_respond_error(w->req, 503, "gone", "the client went away", NULL);
    return;
  }
  char *body = vigil_query_events_json(a->e, w->after, w->visit, w->limit);
  a->stats.pages_built++;
  if (!body) {
    vigil__http_respond_error(w->req, 503, "unavailable", "the log could not be read", NULL);
    return;
  }
  vigil__api_reply_free(w->req, 200, body, NULL);
}

static void on_pages(uv_idle_t *h) {
  api *a = h->data;
  /* A batch opened this turn (a write read in the pending phase) commits
   * in the check phase: a page shows only what is durable. */
  if (a->batch) return;
  uint64_t until = uv_hrtime() + (uint64_t)PAGES_SLICE_MS * 1000000u;
  do {
    page_wait *w = a->pages;
    a->pages = w->next;
    if (!a->pages) a->pages_tail = NULL;
    build(a, w);
    free(w);
  } while (a->pages && uv_hrtime() < until);
  if (!a->pages) uv_idle_stop(&a->page_idle);
}

void vigil__api_pages_init(api *a) {
  uv_idle_init(a->loop, &a->page_idle);
  a->page_idle.data = a;
}

void vigil__api_page_request(api *a, http_request *req, const char *name, uint64_t after, uint64_t visit,
                             uint32_t limit) {
  if (pages_of(a, name) >= PAGES_PER_USER) {
    a->stats.refused_pages++;
    char *err = vigil__http_error_json("too_many_pages",
                                       "too many pages of the log asked at once by this user: read the answers, "
                                       "then ask for the next",
                                       NULL, NULL);
    vigil__api_reply_free(req, 429, err, "Retry-After: 1\r\n");
    return;
  }
  page_wait *w = calloc(1, sizeof *w);
  if (!w) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  w->req = req;
  snprintf(w->user, sizeof w->user, "%s", name);
  w->after = after;
  w->visit = visit;
  w->limit = limit;
  if (a->pages_tail)
    a->pages_tail->next = w;
  else
    a->pages = w;
  a->pages_tail = w;
  uv_idle_start(&a->page_idle, on_pages);
}

void vigil__api_pages_close(api *a, void (*closed)(uv_handle_t *h)) {
  while (a->pages) {
    page_wait *w = a->pages;
    a->pages = w->next;
    vigil__http_respond_error(w->req, 503, "shutting_down", "the server is stopping", NULL);
    free(w);
  }
  a->pages_tail = NULL;
  uv_close((uv_handle_t *)&a->page_idle, closed);
}
