/* diffs.c: protocol diffs kept, and computed one at a time in a child
 * process (docs/security.md AC1).
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
 * reuse it. A diff not yet kept waits in the lane of costly reads (lane.c:
 * one whose client has gone is answered without being computed), one at a
 * time: another asked meanwhile is 503 busy (Retry-After: 1), so that a
 * burst of them costs one computation, not one each. It is computed in a
 * child process (child.c), bounded in CPU, wall time and memory as upload
 * checks are, while the loop answers everyone else; a diff the child could
 * not finish is neither kept nor shown (503). */
#include "diffs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

#include "child.h"
#include "http/http.h"

typedef struct kept_diff {
  char key[2 * (256 + 65) + 4]; /* "ref sha256 base_ref base_sha256" */
  json_t *diff;
} kept_diff;

typedef struct diff_child {
  http_request *req; /* NULL: started by an approval, nobody waits (AM2) */
  diff_compute compute;
  lane_read pair;
  uint64_t started;
} diff_child;

/* The last diff an approval started that its child could not finish: the
 * next approval of that pair is told why (once), rather than started again
 * and again without a word (AM2). */
typedef struct diff_failure {
  char key[sizeof((kept_diff *)0)->key];
  char code[16];
  char message[400];
} diff_failure;

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

/* In the child: the diff as text, or NULL (out of memory: exit status 1). */
static char *diff_text(api *a, void *ud) {
  diff_child *d = ud;
  json_t *j = d->compute(a, d->pair.ref, d->pair.base_ref);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return text;
}

/* Remembers why the approval's diff of p was not finished (AM2). */
static void approval_failed(api *a, const lane_read *p, const char *code, const char *message) {
  if (!a->diff_failed && !(a->diff_failed = malloc(sizeof *a->diff_failed))) return; /* started again when asked */
  key_of(a->diff_failed->key, sizeof a->diff_failed->key, p->ref, p->sha256, p->base_ref, p->base_sha256);
  snprintf(a->diff_failed->code, sizeof a->diff_failed->code, "%s", code);
  snprintf(a->diff_failed->message, sizeof a->diff_failed->message, "%s", message);
}

static void diff_done(api *a, void *ud, const char *out, size_t len, int timed_out, int status) {
  diff_child *d = ud;
  a->diff_child = NULL;
  json_t *j = out && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? json_loadb(out, len, 0, NULL) : NULL;
  const lane_read *p = &d->pair;
  if (a->shutting) {
    if (d->req) vigil__http_respond_error(d->req, 503, "shutting_down", "the server is stopping", NULL);
  } else if (j) {
    a->stats.diffs_built++;
    vigil__api_diff_keep(a, p->ref, p->sha256, p->base_ref, p->base_sha256, j);
    if (d->req) vigil__api_reply_free(d->req, 200, json_dumps(j, JSON_COMPACT), NULL);
  } else {
    a->stats.diffs_stopped++;
    char msg[400];
    double secs = (double)(uv_hrtime() - d->started) / 1e9;
    int too_long = timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU);
    if (too_long)
      snprintf(msg, sizeof msg,
               "the diff of %s took longer than the limit of %.0f s and was stopped after %.1f s: a rule that "
               "burns time? Nothing was kept",
               p->ref, (double)a->upload_check_ms / 1000, secs);
    else
      snprintf(msg, sizeof msg,
               "the diff of %s stopped (%s %d) before it was whole: out of its memory, or a crash; nothing was kept",
               p->ref, WIFSIGNALED(status) ? "signal" : "exit status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    if (d->req)
      vigil__http_respond_error(d->req, 503, too_long ? "diff_too_long" : "diff_stopped", msg, NULL);
    else
      approval_failed(a, p, too_long ? "diff_too_long" : "diff_stopped", msg);
  }
  json_decref(j);
  free(d);
}

void vigil__api_diff_start(api *a, http_request *req, const lane_read *pair, diff_compute compute) {
  /* Kept meanwhile (the approval computed it): no child. */
  json_t *kept = vigil__api_diff_kept(a, pair->ref, pair->sha256, pair->base_ref, pair->base_sha256);
  if (kept) {
    vigil__api_reply_free(req, 200, json_dumps(kept, JSON_COMPACT), NULL);
    json_decref(kept);
    return;
  }
  diff_child *d = calloc(1, sizeof *d);
  if (!d) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  *d = (diff_child){.req = req, .compute = compute, .pair = *pair, .started = uv_hrtime()};
  if (vigil__api_child_start(a, diff_text, diff_done, d) < 0) {
    free(d);
    vigil__api_reply_free(req, 503,
                          vigil__http_error_json("busy", "cannot compute the diff now (no process)", NULL, NULL),
                          "Retry-After: 5\r\n");
    return;
  }
  a->diff_child = d;
}

void vigil__api_diff_request(api *a, http_request *req, const char *name, const lane_read *pair, lane_build build) {
  if (a->diff_child || vigil__api_lane_waiting(a, LANE_DIFF)) {
    a->stats.diffs_busy++;
    char *err = vigil__http_error_json("busy",
                                       "another protocol diff is being computed: ask again in a moment "
                                       "(each diff is computed once and kept)",
                                       NULL, NULL);
    vigil__api_reply_free(req, 503, err, "Retry-After: 1\r\n");
    return;
  }
  vigil__api_lane_request(a, req, name, LANE_DIFF, pair, build);
}

/* A 503 with Retry-After: 1 (nothing approved). */
static void approval_waits(http_request *req, const char *code, const char *message) {
  vigil__api_reply_free(req, 503, vigil__http_error_json(code, message, NULL, NULL), "Retry-After: 1\r\n");
}

json_t *vigil__api_diff_for_approval(api *a, http_request *req, const lane_read *pair, diff_compute compute) {
  json_t *kept = vigil__api_diff_kept(a, pair->ref, pair->sha256, pair->base_ref, pair->base_sha256);
  if (kept) return kept;
  char key[sizeof((kept_diff *)0)->key];
  key_of(key, sizeof key, pair->ref, pair->sha256, pair->base_ref, pair->base_sha256);
  if (a->diff_failed && !strcmp(a->diff_failed->key, key)) {
    /* Said once: asked again, it is started again. */
    vigil__http_respond_error(req, 503, a->diff_failed->code, a->diff_failed->message, NULL);
    free(a->diff_failed);
    a->diff_failed = NULL;
    return NULL;
  }
  char msg[400];
  int computing = a->diff_child != NULL;
  if (computing || vigil__api_lane_waiting(a, LANE_DIFF)) {
    const lane_read *p = computing ? &a->diff_child->pair : NULL;
    int same = p && !strcmp(p->ref, pair->ref) && !strcmp(p->sha256, pair->sha256) &&
               !strcmp(p->base_ref, pair->base_ref) && !strcmp(p->base_sha256, pair->base_sha256);
    a->stats.diffs_busy += !same;
    if (same)
      snprintf(msg, sizeof msg,
               "the diff of %s, which an approval shows, is being computed: ask again in a moment (nothing was "
               "approved)",
               pair->ref);
    else
      snprintf(msg, sizeof msg,
               "another protocol diff is %s; the diff of %s, which an approval shows, follows it: ask again in a "
               "moment (nothing was approved)",
               computing ? "being computed" : "waiting to be computed", pair->ref);
    approval_waits(req, same ? "diff_pending" : "busy", msg);
    return NULL;
  }
  diff_child *d = calloc(1, sizeof *d);
  if (!d) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory: nothing was approved", NULL);
    return NULL;
  }
  *d = (diff_child){.compute = compute, .pair = *pair, .started = uv_hrtime()};
  if (vigil__api_child_start(a, diff_text, diff_done, d) < 0) {
    free(d);
    vigil__api_reply_free(
        req, 503,
        vigil__http_error_json("busy", "cannot compute the diff now (no process): nothing was approved", NULL, NULL),
        "Retry-After: 5\r\n");
    return NULL;
  }
  a->diff_child = d;
  snprintf(msg, sizeof msg,
           "the diff of %s, which an approval shows, was not computed yet: it is now, off the server's loop; ask "
           "again in a moment (nothing was approved)",
           pair->ref);
  approval_waits(req, "diff_pending", msg);
  return NULL;
}

void vigil__api_diffs_close(api *a) {
  free(a->diff_failed);
  a->diff_failed = NULL;
  for (size_t i = 0; i < a->n_diffs; i++)
    json_decref(a->diffs[i].diff);
  free(a->diffs);
  a->diffs = NULL;
  a->n_diffs = a->next_diff = 0;
}
