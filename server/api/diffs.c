/* diffs.c: protocol diffs kept, and computed one at a time (docs/security.md AC1).
 *
 * GET /api/v1/protocols/{ref}/diff compares two versions' behaviour
 * (author/behaviour_diff.c): some 0.5 s of CPU for the bundled ketamine_iv,
 * 18.9 s for an upload of 70 costly rules. Computed where its request was
 * read, it held the loop, and /healthz from everyone else waited as long;
 * 16 pipelined diffs held it for each of them, built for clients long gone.
 *
 * An upload's content never changes (a version is immutable, named by its
 * sha256), so the diff of a pair of versions is computed once and kept,
 * keyed by both versions and their sha256: repeated GETs and the approval
 * reuse it. A diff not yet kept waits in the loop's idle phase, one at a
 * time: another asked meanwhile is 503 busy (Retry-After: 1), so that a
 * burst of them costs one computation, not one each; and one whose client
 * has gone is answered without being computed (nobody reads it).
 *
 * What remains (AC1): the one computation still runs on the loop; it
 * belongs in a child process with a time bound, as upload checks do. */
#include "diffs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

typedef struct kept_diff {
  char key[2 * (256 + 65) + 4]; /* "ref sha256 base_ref base_sha256" */
  json_t *diff;
} kept_diff;

struct diff_wait {
  http_request *req;
  diff_compute compute;
  char ref[256];
};

static void key_of(char *key, size_t len, const char *ref, const char *sha256, const char *base_ref,
                   const char *base_sha256) {
  snprintf(key, len, "%s %s %s %s", ref, sha256, base_ref, base_sha256);
}

json_t *vigil__api_diff_kept(api *a, const char *ref, const char *sha256, const char *base_ref,
                             const char *base_sha256) {
  char key[sizeof((kept_diff *)0)->key];
  key_of(key, sizeof key, ref, sha256, base_ref, base_sha256);
  for (size_t i = 0; i < a->n_diffs; i++)
    if (!strcmp(a->diffs[i].key, key)) {
      a->stats.diffs_reused++;
      return json_incref(a->diffs[i].diff);
    }
  return NULL;
}

void vigil__api_diff_keep(api *a, const char *ref, const char *sha256, const char *base_ref, const char *base_sha256,
                          json_t *diff) {
  if (!a->diffs && !(a->diffs = calloc(DIFFS_KEPT, sizeof *a->diffs))) return; /* not kept: computed again */
  kept_diff *k = &a->diffs[a->next_diff];
  if (a->n_diffs < DIFFS_KEPT)
    a->n_diffs++;
  else
    json_decref(k->diff);
  a->next_diff = (a->next_diff + 1) % DIFFS_KEPT;
  key_of(k->key, sizeof k->key, ref, sha256, base_ref, base_sha256);
  k->diff = json_incref(diff);
}

static void on_diff(uv_idle_t *h) {
  api *a = h->data;
  uv_idle_stop(h);
  struct diff_wait *w = a->diff_wait;
  a->diff_wait = NULL;
  if (!w) return;
  if (vigil__http_request_gone(w->req)) {
    a->stats.diffs_skipped++;
    vigil__http_respond_error(w->req, 503, "gone", "the client went away", NULL);
  } else {
    int found = 1;
    json_t *j = w->compute(a, w->ref, &found);
    if (!found)
      vigil__http_respond_error(w->req, 404, "not_found", "no such protocol version", NULL);
    else
      vigil__api_reply_free(w->req, j ? 200 : 503, j ? json_dumps(j, JSON_COMPACT) : NULL, NULL);
    json_decref(j);
  }
  free(w);
}

void vigil__api_diffs_init(api *a) {
  uv_idle_init(a->loop, &a->diff_idle);
  a->diff_idle.data = a;
}

void vigil__api_diff_request(api *a, http_request *req, const char *ref, diff_compute compute) {
  if (a->diff_wait) {
    a->stats.diffs_busy++;
    char *err = vigil__http_error_json("busy",
                                       "another protocol diff is being computed: ask again in a moment "
                                       "(each diff is computed once and kept)",
                                       NULL, NULL);
    vigil__api_reply_free(req, 503, err, "Retry-After: 1\r\n");
    return;
  }
  struct diff_wait *w = calloc(1, sizeof *w);
  if (!w) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  w->req = req;
  w->compute = compute;
  snprintf(w->ref, sizeof w->ref, "%s", ref);
  a->diff_wait = w;
  uv_idle_start(&a->diff_idle, on_diff);
}

void vigil__api_diffs_close(api *a, void (*closed)(uv_handle_t *h)) {
  if (a->diff_wait) {
    vigil__http_respond_error(a->diff_wait->req, 503, "shutting_down", "the server is stopping", NULL);
    free(a->diff_wait);
    a->diff_wait = NULL;
  }
  for (size_t i = 0; i < a->n_diffs; i++)
    json_decref(a->diffs[i].diff);
  free(a->diffs);
  a->diffs = NULL;
  a->n_diffs = a->next_diff = 0;
  uv_close((uv_handle_t *)&a->diff_idle, closed);
}
