/* idempotency.c: the Idempotency-Key of commands (docs/http.md).
 *
 * A command sent with an Idempotency-Key has its answer (status, body, the
 * Location of what it made) kept in the store's key-value table, namespace
 * "idempotency", key "LEN:USER:KEY", written by the store in the same
 * transaction as the command's events (vigil__batch_kv_write): the answer is
 * durable exactly when what it says was recorded is. A retry by the same
 * user with the same key and the same request (method, path, query and
 * body: their SHA-256) is answered with that first answer and runs nothing;
 * the same key with another request is 422. The table is shared by every
 * node of a cluster (PostgreSQL's vigil_kv), so a retry sent to the node
 * that took a site over finds it, as does a retry after a restart. In a
 * cluster the row names its site: a retry that reaches another site (sent
 * with no ?site= to a node whose first site is another) is 409
 * site_mismatch naming the key's site, never that site's answer.
 *
 * What is kept is compact (Y6): the status, the Location, and what the
 * answer showed, the visit's id or the patient whose courses it listed
 * (about 150 bytes with the key), not the body (a visit's JSON is ~16 KB):
 * a replay answers that visit or those courses as they are at the retry,
 * which includes what the first request recorded. The table holds at most
 * one row per command recorded in the last idempotency_hours, each under
 * 600 bytes (a key is at most 200 characters, a user's name 64).
 *
 * Only an answer of 2xx is kept: a refused command recorded nothing of its
 * own (or an auth.failed), and its retry is judged again. While a command
 * runs (a signature's password being checked) its key is in use: a retry
 * then is 409. Keys expire (vigil.conf idempotency_hours): an expired key is
 * a new one, and expired rows are deleted once an hour. */
#define _GNU_SOURCE /* strdup */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "base/buf.h"
#include "engine/site.h"
#include "store/store.h"

#define IDEM_NS "idempotency"
#define IDEM_KEY_MAX 200
#define IDEM_PURGE_EVERY_MS (3600 * 1000LL)

struct idem_entry {
  struct idem_entry *next;
  char *key; /* the store's key */
  char fp[65];
  int held; /* 0: the command runs; 1: its answer waits for the commit */
  http_request *req;
  int status;
  char *body, *extra;
  uint64_t visit; /* what the answer shows (vigil__api_idem_refer): a visit, */
  char *patient;  /* or a patient's courses; neither: the body is kept */
};

static void entry_free(idem_entry *x) {
  if (!x) return;
  free(x->key);
  free(x->body);
  free(x->extra);
  free(x->patient);
  free(x);
}

static idem_entry *find(api *a, const char *key) {
  for (idem_entry *x = a->idem; x; x = x->next)
    if (!strcmp(x->key, key)) return x;
  return NULL;
}

static void unlink_entry(api *a, idem_entry *x) {
  for (idem_entry **p = &a->idem; *p; p = &(*p)->next)
    if (*p == x) {
      *p = x->next;
      return;
    }
}

/* The request's fingerprint: SHA-256 of method, path, query and body. */
static void fingerprint(http_request *req, char out[65]) {
  crypto_hash_sha256_state st;
  unsigned char d[crypto_hash_sha256_BYTES];
  size_t blen = 0;
  const char *parts[3] = {vigil__http_request_method(req), vigil__http_request_path(req),
                          vigil__http_request_query(req)};
  crypto_hash_sha256_init(&st);
  for (int i = 0; i < 3; i++)
    crypto_hash_sha256_update(&st, (const unsigned char *)parts[i], strlen(parts[i]) + 1); /* with its NUL */
  const char *body = vigil__http_request_body(req, &blen);
  if (body) crypto_hash_sha256_update(&st, (const unsigned char *)body, blen);
  crypto_hash_sha256_final(&st, d);
  sodium_bin2hex(out, 65, d, sizeof d);
}

typedef struct expired {
  char **keys;
  size_t n, cap;
  int64_t before;
} expired;

static int collect_expired(void *ud, const char *key, const void *value, size_t len) {
  expired *x = ud;
  json_t *v = json_loadb(value, len, 0, NULL);
  json_int_t at = json_integer_value(json_object_get(v, "at"));
  json_decref(v);
  if (at >= x->before) return 0;
  char **k = vigil__grow(x->keys, x->cap, x->n + 1, sizeof *k, 64, &x->cap);
  if (!k) return 1;
  x->keys = k;
  if (!(x->keys[x->n] = strdup(key))) return 1;
  x->n++;
  return 0;
}

/* Deletes the rows of keys that expired (at most once an hour). */
static void purge(api *a, int64_t now) {
  if (!a->store || (a->idem_purged_ms && now - a->idem_purged_ms < IDEM_PURGE_EVERY_MS)) return;
  a->idem_purged_ms = now;
  expired x = {.before = now - a->idempotency_ttl_ms};
  char err[256];
  a->store->ops->kv_scan(a->store, IDEM_NS, collect_expired, &x, err, sizeof err);
  for (size_t i = 0; i < x.n; i++) {
    a->store->ops->kv_put(a->store, IDEM_NS, x.keys[i], NULL, 0, err, sizeof err);
    free(x.keys[i]);
  }
  free(x.keys);
}

/* A kept answer again; in a cluster it names its site (Vigil-Site). */
static void replay(http_request *req, const char *site, int status, const char *body, const char *extra) {
  char head[1300];
  snprintf(head, sizeof head, "%sIdempotent-Replayed: true\r\n%s%.80s%s", extra && strlen(extra) < 1000 ? extra : "",
           site ? "Vigil-Site: " : "", site ? site : "", site ? "\r\n" : "");
  vigil__http_respond(req, status, "application/json", body, strlen(body), head);
}

/* The body of a kept answer: its own (a row written before Y6, or an
 * answer that names no visit nor patient), else the visit or the patient's
 * courses as they are now. malloc'd, NULL when out of memory. */
static char *answer_body(api *a, json_t *v) {
  const char *body = json_string_value(json_object_get(v, "body"));
  if (body) return strdup(body);
  json_int_t visit = json_integer_value(json_object_get(v, "visit"));
  const char *patient = json_string_value(json_object_get(v, "patient"));
  char *out = visit > 0 ? vigil_visit_json(a->e, (uint64_t)visit) : patient ? vigil_patient_json(a->e, patient) : NULL;
  if (out) return out;
  char tiny[64];
  if (visit > 0)
    snprintf(tiny, sizeof tiny, "{\"id\":%lld}", (long long)visit);
  else
    snprintf(tiny, sizeof tiny, "{}");
  return strdup(tiny);
}

int vigil__api_idem_begin(api *a, http_request *req, const user *who, idem_entry **out) {
  *out = NULL;
  const char *k = vigil__http_request_header(req, "Idempotency-Key");
  if (!k) return 0;
  size_t n = strlen(k);
  int ok = n > 0 && n <= IDEM_KEY_MAX;
  for (size_t i = 0; ok && i < n; i++)
    ok = k[i] > 0x20 && k[i] < 0x7f;
  if (!ok) {
    char msg[160];
    snprintf(msg, sizeof msg, "Idempotency-Key is 1 to %d printable ASCII characters without spaces", IDEM_KEY_MAX);
    vigil__http_respond_error(req, 400, "invalid_idempotency_key", msg, "Idempotency-Key");
    return 1;
  }
  int64_t now = vigil__api_wall_ms();
  purge(a, now);
  size_t klen = strlen(who->name) + n + 32;
  char *key = malloc(klen);
  if (!key) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return 1;
  }
  snprintf(key, klen, "%zu:%s:%s", strlen(who->name), who->name, k);
  char fp[65];
  fingerprint(req, fp);
  static const char *const OTHER = "this Idempotency-Key was used with another request (method, path, query or body): "
                                   "a new action takes a new key";
  idem_entry *x = find(a, key);
  if (x) {
    free(key);
    if (strcmp(x->fp, fp)) {
      vigil__http_respond_error(req, 422, "idempotency_key_reused", OTHER, "Idempotency-Key");
    } else if (!x->held) {
      vigil__http_respond_error(req, 409, "idempotency_key_in_use",
                                "a request with this Idempotency-Key is still running: retry once it is answered",
                                "Idempotency-Key");
    } else {
      /* Its first answer waits for this batch's commit: so does this one. */
      char *extra = NULL;
      if (asprintf(&extra, "%sIdempotent-Replayed: true\r\n", x->extra ? x->extra : "") < 0) extra = NULL;
      vigil__api_hold_answer(a, req, x->status, strdup(x->body), extra);
      free(extra);
    }
    return 1;
  }
  void *value = NULL;
  size_t len = 0;
  char err[256];
  int rc = a->store ? a->store->ops->kv_get(a->store, IDEM_NS, key, &value, &len, err, sizeof err) : VIGIL_ENOENT;
  if (rc < 0 && rc != VIGIL_ENOENT) {
    free(key);
    char msg[400];
    snprintf(msg, sizeof msg, "the Idempotency-Key could not be looked up: %s; nothing was recorded", err);
    vigil__http_respond_error(req, 503, "io_error", msg, NULL);
    return 1;
  }
  if (rc == 0) {
    json_t *v = json_loadb(value, len, 0, NULL);
    free(value);
    json_int_t at = json_integer_value(json_object_get(v, "at"));
    const char *vfp = json_string_value(json_object_get(v, "fp"));
    const char *extra = json_string_value(json_object_get(v, "extra"));
    int status = (int)json_integer_value(json_object_get(v, "status"));
    const char *site = json_string_value(json_object_get(v, "site"));
    if (v && vfp && status && at >= now - a->idempotency_ttl_ms && site && a->site && strcmp(site, a->site)) {
      /* C2 of issue 17's try: the key was a command of another site (sent
       * with no site to another node): its answer is not this site's
       * visit, and running it here would record it twice, in a site it is
       * not about. */
      char msg[400];
      snprintf(msg, sizeof msg,
               "this Idempotency-Key is a command of site %.80s, not of %.80s: send the retry with ?site=%.80s", site,
               a->site, site);
      vigil__http_respond_error(req, 409, "site_mismatch", msg, "Idempotency-Key");
      json_decref(v);
      free(key);
      return 1;
    }
    if (v && vfp && status && at >= now - a->idempotency_ttl_ms) {
      char *body = strcmp(vfp, fp) ? NULL : answer_body(a, v);
      if (strcmp(vfp, fp))
        vigil__http_respond_error(req, 422, "idempotency_key_reused", OTHER, "Idempotency-Key");
      else if (!body)
        vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
      else
        replay(req, a->site, status, body, extra);
      free(body);
      json_decref(v);
      free(key);
      return 1;
    }
    json_decref(v); /* expired (or unreadable): a new key */
  }
  x = calloc(1, sizeof *x);
  if (!x) {
    free(key);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return 1;
  }
  x->key = key;
  memcpy(x->fp, fp, sizeof x->fp);
  x->req = req;
  x->next = a->idem;
  a->idem = x;
  *out = x;
  return 0;
}

void vigil__api_idem_refer(api *a, http_request *req, uint64_t visit, const char *patient) {
  idem_entry *x = a->idem_current;
  if (!x || x->held || x->req != req) return;
  x->visit = visit;
  free(x->patient);
  x->patient = patient ? strdup(patient) : NULL; /* NULL when out of memory: the body is kept */
}

static void idem_held(api *a, http_request *req, int status, const char *body, const char *extra);

/* A command's answer held until the batch commits, and kept for its
 * Idempotency-Key (a->idem_current's) when it is a 2xx. Here rather than in
 * answer.c, so that answer.c calls nothing of this file that calls it. */
void vigil__api_hold(api *a, http_request *req, int status, char *body, const char *extra) {
  idem_held(a, req, status, body, extra);
  vigil__api_hold_answer(a, req, status, body, extra);
}

static void idem_held(api *a, http_request *req, int status, const char *body, const char *extra) {
  idem_entry *x = a->idem_current;
  if (!x || x->held || x->req != req) return;
  a->idem_current = NULL;
  if (status < 200 || status > 299 || !body) return; /* forgotten at vigil__api_idem_end */
  json_t *v = json_pack("{s:s, s:i, s:s?, s:I, s:s?}", "fp", x->fp, "status", status, "extra", extra, "at",
                        (json_int_t)vigil__api_wall_ms(), "site", a->site);
  if (v && x->visit)
    json_object_set_new(v, "visit", json_integer((json_int_t)x->visit));
  else if (v && x->patient)
    json_object_set_new(v, "patient", json_string(x->patient));
  else if (v)
    json_object_set_new(v, "body", json_string(body));
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  /* With the batch's last event: durable in its transaction, or not at all.
   * A command that recorded nothing (nothing pending) keeps no key. */
  int rc = text ? vigil__batch_kv_write(a->e, IDEM_NS, x->key, text, strlen(text)) : -1;
  free(text);
  if (rc < 0) return;
  x->held = 1;
  x->status = status;
  x->body = strdup(body);
  x->extra = extra ? strdup(extra) : NULL;
  if (!x->body) { /* kept in the store all the same: a retry after the commit finds it */
    unlink_entry(a, x);
    entry_free(x);
  }
}

void vigil__api_idem_end(api *a, idem_entry *x) {
  if (!x) return;
  if (a->idem_current == x) a->idem_current = NULL;
  for (idem_entry *y = a->idem; y; y = y->next)
    if (y == x) {
      if (!x->held) {
        unlink_entry(a, x);
        entry_free(x);
      }
      return;
    }
}

void vigil__api_idem_settle(api *a) {
  for (idem_entry **p = &a->idem; *p;) {
    idem_entry *x = *p;
    if (x->held) {
      *p = x->next;
      entry_free(x);
    } else {
      p = &x->next;
    }
  }
}

void vigil__api_idem_free(api *a) {
  while (a->idem) {
    idem_entry *x = a->idem;
    a->idem = x->next;
    entry_free(x);
  }
}
