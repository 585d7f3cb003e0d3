/* lane.c: the lane of costly reads (docs/security.md AB3, AC2).
 *
 * Some reads cost milliseconds each: a page of the log (up to 1,000 events,
 * each read from the store, parsed and written again, 50-80 KB), the alert
 * log (1,000 alerts with their whole life), a visit's or a course's FHIR
 * Bundle, the REMS form. Built where its request is read, one client's
 * pipelined reads on many connections (64 x 16 a burst, closed and sent
 * again) held the loop for seconds a turn, and /healthz from everyone else
 * waited that long (AB3 for event pages, AC2 for the others: /healthz 4.6-8.8
 * s behind FHIR Bundles). So they wait in one lane, each kind with its own
 * build callback: each turn of the loop builds reads for at most
 * LANE_SLICE_MS (at least one), then polls, so that other requests are read
 * and answered between them; a read whose client has gone is answered
 * without being built (nobody reads it); and one user holds at most
 * LANE_PER_USER reads in the lane, every kind together, so that one token
 * cannot fill it for the others (past it 429 too_many_reads, Retry-After: 1,
 * nothing built). A protocol diff not kept yet waits here too: its build
 * starts the child process that computes it (diffs.c, AC1). */
#include "lane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

typedef struct lane_wait {
  struct lane_wait *next;
  http_request *req;
  api_lane_kind kind;
  lane_build build;
  lane_read read;
} lane_wait;

static unsigned reads_of(const api *a, const char *name) {
  unsigned n = 0;
  for (const lane_wait *w = a->lane; w; w = w->next)
    n += !strcmp(w->read.user, name);
  return n;
}

unsigned vigil__api_lane_waiting(const api *a, api_lane_kind kind) {
  unsigned n = 0;
  for (const lane_wait *w = a->lane; w; w = w->next)
    n += w->kind == kind;
  return n;
}

static void build(api *a, lane_wait *w) {
  if (vigil__http_request_gone(w->req)) {
    a->stats.lane[w->kind].client_gone++;
    vigil__http_respond_error(w->req, 503, "gone", "the client went away", NULL);
    return;
  }
  a->stats.lane[w->kind].built++;
  w->build(a, w->req, &w->read);
}

static void on_lane(uv_idle_t *h) {
  api *a = h->data;
  /* A batch opened this turn (a write read in the pending phase) commits
   * in the check phase: a read shows only what is durable. */
  if (a->batch) return;
  uint64_t until = uv_hrtime() + (uint64_t)LANE_SLICE_MS * 1000000u;
  do {
    lane_wait *w = a->lane;
    a->lane = w->next;
    if (!a->lane) a->lane_tail = NULL;
    build(a, w);
    free(w);
  } while (a->lane && uv_hrtime() < until);
  if (!a->lane) uv_idle_stop(&a->lane_idle);
}

void vigil__api_lane_init(api *a) {
  uv_idle_init(a->loop, &a->lane_idle);
  a->lane_idle.data = a;
}

void vigil__api_lane_request(api *a, http_request *req, const char *name, api_lane_kind kind, const lane_read *r,
                             lane_build fn) {
  if (reads_of(a, name) >= LANE_PER_USER) {
    a->stats.lane[kind].too_many++;
    char *err = vigil__http_error_json("too_many_reads",
                                       "too many costly reads (pages of the log, the alert log, exports, diffs) "
                                       "asked at once by this user: read the answers, then ask for the next",
                                       NULL, NULL);
    vigil__api_reply_free(req, 429, err, "Retry-After: 1\r\n");
    return;
  }
  lane_wait *w = calloc(1, sizeof *w);
  if (!w) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  w->req = req;
  w->kind = kind;
  w->build = fn;
  w->read = *r;
  snprintf(w->read.user, sizeof w->read.user, "%s", name);
  if (a->lane_tail)
    a->lane_tail->next = w;
  else
    a->lane = w;
  a->lane_tail = w;
  uv_idle_start(&a->lane_idle, on_lane);
}

void vigil__api_lane_close(api *a, void (*closed)(uv_handle_t *h)) {
  while (a->lane) {
    lane_wait *w = a->lane;
    a->lane = w->next;
    vigil__http_respond_error(w->req, 503, "shutting_down", "the server is stopping", NULL);
    free(w);
  }
  a->lane_tail = NULL;
  uv_close((uv_handle_t *)&a->lane_idle, closed);
}
