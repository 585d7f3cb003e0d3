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
 * api's close waits for it (a->checking). */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "export/export.h"
#include "http/http.h"

typedef struct export_work {
  uv_work_t work;
  api *a;
  http_request *req;
  fhir_snapshot *snap;
  char *body; /* the Bundle, or NULL: err says why */
  char err[256];
} export_work;

int vigil__api_exports_full(api *a, http_request *req) {
  if (a->exports < a->max_exports) return 0;
  a->stats.exports_busy++;
  vigil__api_reply_free(req, 503,
                        vigil__http_error_json("busy",
                                               "too many FHIR exports are being built at once (the site's "
                                               "max_concurrent_exports): try again in a moment",
                                               NULL, NULL),
                        "Retry-After: 2\r\n");
  return 1;
}

static void build(uv_work_t *w) {
  export_work *x = w->data;
  if (vigil__export_fhir_build(x->snap, &x->body, x->err, sizeof x->err) < 0) x->body = NULL;
  vigil__export_fhir_snapshot_free(x->snap);
  x->snap = NULL;
}

static void built(uv_work_t *w, int status) {
  export_work *x = w->data;
  api *a = x->a;
  a->exports--;
  a->checking--;
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
  free(x);
}

void vigil__api_export_start(api *a, http_request *req, fhir_snapshot *snap) {
  export_work *x = calloc(1, sizeof *x);
  if (!x) {
    vigil__export_fhir_snapshot_free(snap);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  x->work.data = x;
  x->a = a;
  x->req = req;
  x->snap = snap;
  a->exports++;
  a->checking++;
  int rc = uv_queue_work(a->loop, &x->work, build, built);
  if (rc < 0) built(&x->work, rc);
}
