/* export_work.c: a visit's FHIR Bundle built off the loop (docs/security.md
 * AQ6).
 *
 * A full visit's Bundle (3,000 vitals readings: 15.4 MB) took 3.1-4.8 s to
 * build, and built on the loop it held /healthz and every other request as
 * long; eight at once were all answered, the last after 18.8 s, 292 MB
 * together. So the lane's build (api.c build_fhir) only takes a snapshot of
 * what the Bundle needs from the engine (export/fhir.c: the visit, its
 * events, its protocol, the patient's record), on the loop, since the engine
 * is not thread-safe; the Bundle is built from the snapshot alone in libuv's
 * thread pool (uv_queue_work) and answered back on the loop. At most
 * api_options.max_concurrent_exports are built at once (vigil.conf
 * max_concurrent_exports): past it 503 busy with Retry-After, nothing
 * snapshotted, so that exports cannot take the pool (which password checks
 * share) or the memory. A request stays valid until it is answered even if
 * its client has gone (http.h), so the answer after the build frees it
 * either way; when the server stops meanwhile, it is answered 503 and the
 * api's close waits for it (a->checking).
 *
 * AT3: taking the whole snapshot on the loop still held /healthz 0.67-1.0 s
 * at each export of a 3,000-reading visit: its events (12 MB) and the
 * patient's record were read from the log and parsed there. With a SQLite
 * store the loop now takes only the visit's state and protocol and the
 * durable seq (vigil__export_fhir_snapshot_head); the worker reads the
 * events up to that seq from the file on a connection of its own
 * (vigil__sqlite_read_rows), so the Bundle is the visit as it was when its
 * build started, whatever is recorded meanwhile. Other stores (memory,
 * PostgreSQL) are still read on the loop.
 *
 * AT4: one user builds one export at a time: a nurse looping exports held
 * every slot and the others' were 503; a second of the same user's while
 * one is built is 503 busy saying so.
 *
 * AU4: two users looping exports still held both slots (one each), and a
 * third user's export was 503 39 times in 40: whoever asks again first when
 * a slot is given back takes it, and a looper asks at once. So an export
 * asked while the slots are full waits its turn in a line, oldest first
 * (EXPORTS_WAITING_PER_SLOT for each slot; past it 503 busy as before), and
 * a slot given back is the oldest waiter's (vigil__api_exports_promote):
 * started at once, or, while a batch of writes is open (a read shows only
 * what is durable), once it is committed (api.c commit_and_answer). A
 * user's export waiting counts as theirs being built: one at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api_internal.h"
#include "export/export.h"
#include "http/http.h"
#include "lane.h"
#include "store/store.h"

/* Exports that may wait for a slot, for each of max_concurrent_exports:
 * each waits about one build of the ones ahead per slot (seconds for a full
 * visit), so the last of a full line waits about four. */
#define EXPORTS_WAITING_PER_SLOT 4

/* An export waiting for a slot (AU4): start builds it once one is free. */
typedef struct export_wait {
  struct export_wait *next;
  http_request *req;
  lane_build start;
  lane_read read; /* read.user: who asked */
} export_wait;

struct export_work {
  uv_work_t work;
  struct export_work *next; /* a->building: the exports being built */
  api *a;
  http_request *req;
  fhir_snapshot *snap;
  char *file;    /* the SQLite store's file to read the events from, or NULL: snap holds them */
  uint64_t upto; /* the durable seq at the snapshot */
  char user[USER_NAME_MAX + 1];
  char *body; /* the Bundle, or NULL: err says why */
  char err[256];
};

static int busy(api *a, http_request *req, const char *why) {
  a->stats.exports_busy++;
  vigil__api_reply_free(req, 503, vigil__http_error_json("busy", why, NULL, NULL), "Retry-After: 2\r\n");
  return 1;
}

/* Whether name has an export being built or waiting. */
static int has_one(const api *a, const char *name) {
  for (const export_work *x = a->building; x; x = x->next)
    if (!strcmp(x->user, name)) return 1;
  for (const export_wait *w = a->export_waiting; w; w = w->next)
    if (!strcmp(w->read.user, name)) return 1;
  return 0;
}

int vigil__api_exports_full(api *a, http_request *req, const lane_read *r, lane_build start) {
  if (*r->user && has_one(a, r->user))
    return busy(a, req,
                "a FHIR export of yours is being built or waits for its turn: each user builds one at a time (the "
                "site's max_concurrent_exports are shared): ask again once it is answered");
  /* A slot is free and nobody waits for it: built now. */
  if (a->exports < a->max_exports && !a->export_waiting) return 0;
  if (a->n_export_waiting >= a->max_exports * EXPORTS_WAITING_PER_SLOT)
    return busy(a, req,
                "too many FHIR exports are being built and waiting for their turn at once (the site's "
                "max_concurrent_exports): try again in a moment");
  export_wait *w = calloc(1, sizeof *w);
  if (!w) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return 1;
  }
  w->req = req;
  w->start = start;
  w->read = *r;
  if (a->export_waiting_tail)
    a->export_waiting_tail->next = w;
  else
    a->export_waiting = w;
  a->export_waiting_tail = w;
  a->n_export_waiting++;
  a->stats.exports_waited++;
  return 1;
}

/* The oldest export waiting, taken out of the line. */
static export_wait *next_waiting(api *a) {
  export_wait *w = a->export_waiting;
  if (!w) return NULL;
  a->export_waiting = w->next;
  if (!a->export_waiting) a->export_waiting_tail = NULL;
  a->n_export_waiting--;
  return w;
}

void vigil__api_exports_promote(api *a) {
  while (a->export_waiting && a->exports < a->max_exports && !a->shutting) {
    export_wait *w = next_waiting(a);
    if (vigil__http_request_gone(w->req)) { /* nobody would read it: the slot goes to the next */
      a->stats.lane[LANE_FHIR].client_gone++;
      vigil__http_respond_error(w->req, 503, "gone", "the client went away", NULL);
    } else {
      w->start(a, w->req, &w->read);
    }
    free(w);
  }
}

void vigil__api_exports_close(api *a) {
  export_wait *w;
  while ((w = next_waiting(a))) {
    vigil__http_respond_error(w->req, 503, "shutting_down", "the server is stopping", NULL);
    free(w);
  }
}

/* A test hook (tests/test_export_events_off_loop.c): with
 * VIGIL_TEST_EXPORT_HOLD=path in the environment, the events' read makes
 * path.held and waits until path exists (at most a minute), so that a test
 * can show what is answered while it is held. */
static void hold_for_test(void) {
  const char *path = getenv("VIGIL_TEST_EXPORT_HOLD");
  if (!path || !*path) return;
  char marker[4096];
  snprintf(marker, sizeof marker, "%s.held", path);
  FILE *f = fopen(marker, "w");
  if (f) fclose(f);
  struct stat st;
  for (int i = 0; i < 3000 && stat(path, &st) != 0; i++)
    nanosleep(&(struct timespec){0, 20000000L}, NULL);
}

static int take_row(void *ud, uint64_t seq, const char *json, size_t len) {
  return vigil__export_fhir_snapshot_row(ud, seq, json, len) < 0 ? -1 : 0;
}

/* The visit's events, then the patients' records, up to x->upto. */
static int read_rows(export_work *x) {
  static const char *const records[] = {"patient.recorded", "patient.merged"};
  hold_for_test();
  int rc = vigil__sqlite_read_rows(x->file, vigil__export_fhir_snapshot_visit(x->snap), NULL, x->upto, take_row,
                                   x->snap, x->err, sizeof x->err);
  for (size_t i = 0; rc == 0 && i < 2; i++)
    rc = vigil__sqlite_read_rows(x->file, 0, records[i], x->upto, take_row, x->snap, x->err, sizeof x->err);
  return rc;
}

static void build(uv_work_t *w) {
  export_work *x = w->data;
  if ((x->file && read_rows(x) < 0) || vigil__export_fhir_build(x->snap, &x->body, x->err, sizeof x->err) < 0)
    x->body = NULL;
  vigil__export_fhir_snapshot_free(x->snap);
  x->snap = NULL;
}

static void built(uv_work_t *w, int status) {
  export_work *x = w->data;
  api *a = x->a;
  a->exports--;
  a->checking--;
  for (export_work **p = &a->building; *p; p = &(*p)->next)
    if (*p == x) {
      *p = x->next;
      break;
    }
  /* The slot given back is the oldest waiter's; while a batch is open, its
   * commit starts it (api.c commit_and_answer). */
  if (!a->batch) vigil__api_exports_promote(a);
  if (a->shutting) {
    vigil__http_respond_error(x->req, 503, "shutting_down", "the server is stopping", NULL);
    a->up.part_done(a);
  } else if (vigil__http_request_gone(x->req)) {
    a->stats.lane[LANE_FHIR].client_gone++;
    vigil__http_respond_error(x->req, 503, "gone", "the client went away", NULL);
  } else if (status < 0 || !x->body) {
    vigil__http_respond_error(x->req, 503, "export_failed", status < 0 ? "the export was cancelled" : x->err, NULL);
  } else {
    vigil__http_respond(x->req, 200, "application/fhir+json", x->body, strlen(x->body), NULL);
  }
  vigil__export_fhir_snapshot_free(x->snap); /* not built: cancelled */
  free(x->body);
  free(x->file);
  free(x);
}

void vigil__api_export_start(api *a, http_request *req, const char *name, fhir_snapshot *snap, const char *file,
                             uint64_t upto) {
  export_work *x = calloc(1, sizeof *x);
  if (!x || (file && !(x->file = strdup(file)))) {
    free(x);
    vigil__export_fhir_snapshot_free(snap);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  x->snap = snap;
  x->upto = upto;
  x->work.data = x;
  x->a = a;
  x->req = req;
  snprintf(x->user, sizeof x->user, "%s", name);
  x->next = a->building;
  a->building = x;
  a->exports++;
  a->checking++;
  int rc = uv_queue_work(a->loop, &x->work, build, built);
  if (rc < 0) built(&x->work, rc);
}
