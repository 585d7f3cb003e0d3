/* api.c: routes and JSON handlers of /api/v1, and the group commit.
 *
 * Every request but /healthz, /metrics and the OpenAPI description names a
 * signed-in user (api_users.c), whose role decides what it may do (roles.c)
 * and whose name is the actor of what it writes. */
#define _GNU_SOURCE /* strndup */
#include "api/api.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embedded_openapi.h"
#include "export/export.h"
#include "metrics.h"
#include "api_internal.h"
#include "engine/gate.h"
#include "engine/chairs.h"
#include "engine/inspect.h"
#include "engine/json_input.h"
#include "engine/patients.h"
#include "base/buf.h"
#include "child.h"
#include "diffs.h"
#include "lane.h"
#include "stream.h"
#include "api/ui.h"

typedef struct error_kind {
  int status;
  const char *code;
} error_kind;

/* The status and code of an engine error. resource: the thing the URL names
 * ("visit", "alert"): not finding it is a 404; not finding something the
 * body names is a 422. */
static error_kind engine_error_kind(int rc, const char *errfield, const char *resource) {
  switch (rc) {
  case VIGIL_EINVAL:
    return (error_kind){422, "invalid_argument"};
  case VIGIL_EVALUE:
    return (error_kind){422, "value_refused"};
  case VIGIL_EPROTOCOL:
    return (error_kind){422, "protocol_error"};
  case VIGIL_ENOENT:
    if (resource && errfield && !strcmp(errfield, resource)) return (error_kind){404, "not_found"};
    return (error_kind){422, "unknown_reference"};
  case VIGIL_ESTATE:
    /* H17, AM3, AQ7: the visit holds the site's max_readings_per_visit,
     * max_notes_per_visit or max_amendments_per_visit. */
    if (errfield && (!strcmp(errfield, "max_readings_per_visit") || !strcmp(errfield, "max_notes_per_visit") ||
                     !strcmp(errfield, "max_amendments_per_visit")))
      return (error_kind){409, "visit_full"};
    return (error_kind){409, "wrong_state"};
  case VIGIL_EGATE:
    return (error_kind){409, "gate_not_met"};
  case VIGIL_EEXIST:
    /* K2: the patient is spelled like an existing one (send new_patient). */
    if (errfield && !strcmp(errfield, "new_patient")) return (error_kind){409, "similar_patient"};
    /* L8: the hospital merged the patient into another (HL7 A40). */
    if (errfield && !strcmp(errfield, "merged_into")) return (error_kind){409, "merged_patient"};
    return (error_kind){409, "already_exists"};
  case VIGIL_ECLOCK:
    return (error_kind){409, "needs_simulated_clock"};
  case VIGIL_EBUSY:
    return (error_kind){503, "busy"};
  case VIGIL_EIO:
    return (error_kind){503, "io_error"};
  case VIGIL_ENOMEM:
    return (error_kind){503, "out_of_memory"};
  case VIGIL_ECORRUPT:
    return (error_kind){500, "store_damaged"};
  case VIGIL_ENEWER:
    return (error_kind){500, "store_newer"};
  default:
    return (error_kind){500, "internal"};
  }
}

/* The reasons a visit's gate does not hold, as a JSON array (or NULL), from
 * the engine (not from the whole visit rendered and parsed back). */
static json_t *gate_reasons_of(api *a, uint64_t visit) {
  char *text = vigil__visit_gate_reasons_json(a->e, visit);
  json_t *reasons = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
  vigil_free(text);
  return reasons;
}

/* The last engine error as {"error": ...}: its status in *status. */
static char *engine_error_json(api *a, int rc, const char *resource, uint64_t visit, int *status) {
  const char *errfield = vigil_engine_errfield(a->e);
  error_kind k = engine_error_kind(rc, errfield, resource);
  *status = k.status;
  /* Copied: gate_reasons_of calls into the engine, which may reset them. */
  char *msg = strdup(vigil_engine_errmsg(a->e));
  char *fld = errfield ? strdup(errfield) : NULL;
  json_t *extra = NULL;
  if (rc == VIGIL_EGATE && visit) {
    json_t *reasons = gate_reasons_of(a, visit);
    if (reasons) extra = json_pack("{s:o}", "reasons", reasons);
  }
  char *body = vigil__http_error_json(k.code, msg ? msg : vigil_strerror(rc), fld, extra);
  json_decref(extra);
  free(msg);
  free(fld);
  return body;
}

static void fail_engine(api *a, http_request *req, int rc, const char *resource) {
  int status;
  char *body = engine_error_json(a, rc, resource, 0, &status);
  vigil__api_reply_free(req, status, body, NULL);
}

/* ---- requests' pieces ---------------------------------------------------- */

/* A positive decimal id, or 0. */
static uint64_t parse_id(const char *s, size_t n) {
  if (n == 0 || n > 19 || s[0] == '0') return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  return v;
}

/* A query parameter that is a number: 0 (absent: *out = dflt), or -1 after
 * answering 400. */
static int query_u64(http_request *req, const char *name, uint64_t dflt, uint64_t *out) {
  char v[32];
  int n = vigil__http_query_param(vigil__http_request_query(req), name, v, sizeof v);
  if (n == -1) {
    *out = dflt;
    return 0;
  }
  if (n == -3) return vigil__http_query_twice(req, name);
  uint64_t x = 0;
  int ok = n > 0 && n <= 19;
  for (int i = 0; ok && i < n; i++) {
    ok = v[i] >= '0' && v[i] <= '9';
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  if (!ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a whole number", name);
    vigil__http_respond_error(req, 400, "invalid_query", msg, name);
    return -1;
  }
  *out = x;
  return 0;
}

/* A query parameter as text: 1 (present, in out), 0 (absent), -1 after
 * answering 400. */
static int query_text(http_request *req, const char *name, char *out, size_t len) {
  int n = vigil__http_query_param(vigil__http_request_query(req), name, out, len);
  if (n == -1) return 0;
  if (n == -3) return vigil__http_query_twice(req, name);
  if (n < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s is badly encoded or too long", name);
    vigil__http_respond_error(req, 400, "invalid_query", msg, name);
    return -1;
  }
  return 1;
}

/* ---- the group commit ------------------------------------------------------- */

static void route(api *a, http_request *req);

static void commit_and_answer(api *a) {
  if (!a->batch) return;
  a->batch = 0;
  uint64_t t0 = uv_hrtime();
  int rc = vigil_engine_commit(a->e);
  uint64_t ns = uv_hrtime() - t0;
  a->stats.commits++;
  a->stats.commit_ns_total += ns;
  if (ns > a->stats.commit_ns_max) a->stats.commit_ns_max = ns;
  for (int i = 0; i < API_COMMIT_BUCKETS; i++)
    if ((double)ns / 1e9 <= vigil__api_commit_bounds[i]) {
      a->stats.commit_buckets[i]++;
      break;
    }
  char *failure = NULL;
  /* Users and sessions changed in this batch stay changed only if their
   * events (which carry their rows) were kept. */
  if (a->users) vigil__users_settle(a->users, rc == 0 && !a->users_lost);
  a->users_lost = 0;
  vigil__api_idem_settle(a);
  if (rc < 0) {
    a->stats.commit_failures++;
    /* Approvals of this batch were not kept: forget them (api_protocols.c). */
    char aerr[256];
    vigil__api_reload_approvals(a, aerr, sizeof aerr);
    char msg[2300];
    snprintf(msg, sizeof msg, "the commit failed: %s", vigil_engine_errmsg(a->e));
    /* A user's creation the store refused (the name was made meanwhile,
     * perhaps on another node): 409, as when this node knew the name. */
    failure = vigil__http_error_json(rc == VIGIL_EEXIST ? "already_exists" : "commit_failed", msg, NULL, NULL);
  }
  /* The lists are taken first: answering may not add to them, but a read
   * routed below must find the batch closed and answer at once. */
  held *hs = a->held;
  size_t n = a->n_held;
  http_request **reads = a->reads;
  size_t n_reads = a->n_reads;
  a->held = NULL;
  a->n_held = a->cap_held = 0;
  a->reads = NULL;
  a->n_reads = a->cap_reads = 0;
  for (size_t i = 0; i < n; i++) {
    if (rc < 0)
      vigil__api_reply(hs[i].req, rc == VIGIL_EEXIST ? 409 : 503, failure, NULL);
    else
      vigil__api_reply(hs[i].req, hs[i].status, hs[i].body, hs[i].extra);
    free(hs[i].body);
    free(hs[i].extra);
  }
  free(hs);
  free(failure);
  for (size_t i = 0; i < n_reads; i++)
    route(a, reads[i]);
  free(reads);
  /* An export slot given back while the batch was open: the oldest waiter's (AU4). */
  vigil__api_exports_promote(a);
}

static void on_check(uv_check_t *h) {
  api *a = h->data;
  uv_check_stop(h);
  uv_idle_stop(&a->idle);
  commit_and_answer(a);
}

/* Does nothing: while it is active the loop polls without blocking, so that
 * the check handle runs this turn. */
static void on_idle(uv_idle_t *h) { (void)h; }

static void open_batch(api *a) {
  if (a->batch) return;
  vigil_engine_begin(a->e);
  a->batch = 1;
  uv_check_start(&a->check, on_check);
  /* A batch opened outside the poll phase (a request parsed after a write
   * completed, in libuv's pending phase) would otherwise wait in poll for
   * an unrelated event: a 17th pipelined write answered seconds late. */
  uv_idle_start(&a->idle, on_idle);
}

void vigil__api_flush(api *a) {
  uv_check_stop(&a->check);
  uv_idle_stop(&a->idle);
  commit_and_answer(a);
}

/* ---- handlers: reads ------------------------------------------------------------ */

static void get_health(api *a, http_request *req, const api_call *c) {
  (void)c;
  /* A node: /healthz?site=NAME is that site's (serve.c routes it to the
   * site's api when this node acts for it); a site this node does not act
   * for is not healthy here (E5 of the third try: north's 503s left
   * /healthz?site=north "ok", the first site's). */
  char named[80];
  int q = vigil__http_query_param(vigil__http_request_query(req), "site", named, sizeof named);
  if (q == -2 || q == -3) {
    vigil__http_respond_error(req, 400, "bad_site", "site is a site's name, given once", "site");
    return;
  }
  if (a->site && q >= 0 && strcmp(named, a->site)) {
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "status", "not_served", "site", named, "node", a->node ? a->node : "",
                          "message", "this node does not act for this site now");
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text)
      vigil__api_reply_free(req, 503, text, NULL);
    else
      vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  /* Without ?site=, a node's /healthz covers every site it acts for. */
  int degraded = 0;
  char *sites = a->site && q < 0 && a->sites_health ? a->sites_health(a->plugins_ud, &degraded) : NULL;
  vigil_stats st;
  vigil_engine_stats(a->e, &st);
  /* A plugin of this site refused: its alarms or its feed do not run (AF1);
   * or one running says it cannot do its work (AJ3, AJ5). */
  unsigned plugins_degraded = 0;
  unsigned failed = a->plugins_failed ? a->plugins_failed(a->plugins_ud, &plugins_degraded) : 0;
  char body[512];
  snprintf(body, sizeof body,
           "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%.3f,\"visits_active\":%llu,\"alerts_active\":%llu,"
           "\"events_this_run\":%llu,\"commits\":%llu,\"commit_failures\":%llu,\"subscribers\":%u,"
           "\"visits_not_rebuilt\":%llu,\"plugins_failed\":%u,\"plugins_degraded\":%u}",
           /* degraded: visits a failed commit took out of memory wait for the
            * store to answer to be read back (they are missing from lists). */
           st.visits_not_rebuilt || degraded || failed || plugins_degraded ? "degraded" : "ok", VIGIL_VERSION_STRING,
           (double)(uv_hrtime() - a->started) / 1e9, (unsigned long long)st.visits_active,
           (unsigned long long)st.alerts_active, (unsigned long long)st.events, (unsigned long long)a->stats.commits,
           (unsigned long long)a->stats.commit_failures, a->streams ? vigil__streams_count(a->streams) : 0,
           (unsigned long long)st.visits_not_rebuilt, failed, plugins_degraded);
  /* A node of a cluster: its clock less the database's at its last claim
   * or renewal (C5 of issue 17's try; past max_clock_offset it gives its
   * sites up), as /metrics' vigil_clock_offset_seconds. */
  size_t len = strlen(body);
  if (a->node && len > 1 && len + 40 < sizeof body)
    snprintf(body + len - 1, sizeof body - len + 1, ",\"clock_offset_s\":%.3f}", vigil__api_clock_offset_s(a));
  len = strlen(body);
  if (a->site && len > 1 && len + 100 < sizeof body) /* site names: letters, digits, '-', '_' */
    snprintf(body + len - 1, sizeof body - len + 1, ",\"site\":\"%s\"}", a->site);
  if (!sites) {
    vigil__http_respond(req, 200, "application/json", body, strlen(body), NULL);
    return;
  }
  /* The first site's members, then every site's ({"north": {...}}). */
  len = strlen(body);
  size_t n = len + strlen(sites) + 16;
  char *all = malloc(n);
  if (all) snprintf(all, n, "%.*s,\"sites\":%s}", (int)(len - 1), body, sites);
  free(sites);
  if (all)
    vigil__api_reply_free(req, 200, all, NULL);
  else
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
}

static void get_metrics(api *a, http_request *req, const api_call *c) {
  (void)c;
  api_stats st;
  vigil__api_stats_get(a, &st);
  char *text = vigil__metrics_text(a->e, &st, (double)(uv_hrtime() - a->started) / 1e9);
  char *more = text && a->plugins_metrics ? a->plugins_metrics(a->plugins_ud) : NULL;
  if (more && *more) {
    char *both = malloc(strlen(text) + strlen(more) + 1);
    if (both) strcat(strcpy(both, text), more);
    free(text);
    text = both;
  }
  free(more);
  /* The connections (server/http): how many, and what was refused or could
   * not be accepted (out of file descriptors). */
  http_stats hs;
  vigil__http_server_stats(vigil__http_request_server(req), &hs);
  char conns[3100];
  snprintf(conns, sizeof conns,
           "# HELP vigil_http_connections Connections open now.\n# TYPE vigil_http_connections gauge\n"
           "vigil_http_connections %u\n"
           "# HELP vigil_http_connections_refused_total Connections refused: over the limit per client address, "
           "or over the limit of all.\n# TYPE vigil_http_connections_refused_total counter\n"
           "vigil_http_connections_refused_total{limit=\"per_address\"} %llu\n"
           "vigil_http_connections_refused_total{limit=\"total\"} %llu\n"
           "vigil_http_connections_refused_total{limit=\"descriptors\"} %llu\n"
           "# HELP vigil_http_connections_closed_idle_total Idle connections closed at max_connections to make room "
           "for a new one.\n# TYPE vigil_http_connections_closed_idle_total counter\n"
           "vigil_http_connections_closed_idle_total %llu\n"
           "# HELP vigil_http_connections_closed_unread_total Connections closed because the client took none of "
           "its answers for unsent_answer_timeout.\n# TYPE vigil_http_connections_closed_unread_total counter\n"
           "vigil_http_connections_closed_unread_total %llu\n"
           "# HELP vigil_http_accept_failures_total Connections the server could not accept (out of file "
           "descriptors or memory).\n# TYPE vigil_http_accept_failures_total counter\n"
           "vigil_http_accept_failures_total %llu\n"
           "# HELP vigil_http_descriptors_exhausted 1 when the last accept failed for want of file descriptors.\n"
           "# TYPE vigil_http_descriptors_exhausted gauge\nvigil_http_descriptors_exhausted %d\n"
           "# HELP vigil_http_body_bytes Request body bytes held now (announced by Content-Length, or received).\n"
           "# TYPE vigil_http_body_bytes gauge\nvigil_http_body_bytes %llu\n"
           "# HELP vigil_http_body_bytes_max The most request body bytes held at once since the start.\n"
           "# TYPE vigil_http_body_bytes_max gauge\nvigil_http_body_bytes_max %llu\n"
           "# HELP vigil_http_requests_refused_total Requests refused before their body was read: past "
           "max_buffered_body_mb (503), past a client address's or a user's share of it (429), or needing a "
           "sign-in they did not have (401).\n"
           "# TYPE vigil_http_requests_refused_total counter\n"
           "vigil_http_requests_refused_total{reason=\"bodies_held\"} %llu\n"
           "vigil_http_requests_refused_total{reason=\"body_share\"} %llu\n"
           "vigil_http_requests_refused_total{reason=\"unauthenticated\"} %llu\n",
           hs.connections, (unsigned long long)hs.refused_per_address, (unsigned long long)hs.refused_total,
           (unsigned long long)hs.refused_descriptors, (unsigned long long)hs.closed_idle,
           (unsigned long long)hs.closed_unread, (unsigned long long)hs.accept_failures, hs.descriptors_exhausted,
           (unsigned long long)hs.body_bytes, (unsigned long long)hs.body_bytes_max,
           (unsigned long long)hs.refused_bodies, (unsigned long long)hs.refused_body_share,
           (unsigned long long)hs.refused_at_head);
  if (text) {
    char *both = malloc(strlen(text) + strlen(conns) + 1);
    if (both) strcat(strcpy(both, text), conns);
    free(text);
    text = both;
  }
  if (!text) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  vigil__http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text), NULL);
  free(text);
}

static void get_plugins(api *a, http_request *req, const api_call *c) {
  (void)c;
  vigil__api_reply_free(req, 200, a->plugins_status ? a->plugins_status(a->plugins_ud) : strdup("{\"plugins\":[]}"),
                        NULL);
}

static void get_openapi(api *a, http_request *req, const api_call *c) {
  (void)a;
  (void)c;
  vigil__http_respond(req, 200, "application/json", vigil__openapi_json, vigil__openapi_json_len, NULL);
}

static int64_t local_midnight_ms(int64_t now_ms) {
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return (int64_t)mktime(&tm) * 1000;
}

static void get_visits(api *a, http_request *req, const api_call *c) {
  (void)c;
  char status[32], phase[128], proto[128], patient[256], alerts[16], location[256];
  vigil_visit_filter f = {0};
  uint64_t after, limit;
  int rc;
  if ((rc = query_text(req, "status", status, sizeof status)) < 0) return;
  if (rc) f.status = status;
  if ((rc = query_text(req, "phase", phase, sizeof phase)) < 0) return;
  if (rc) f.phase = phase;
  if ((rc = query_text(req, "protocol", proto, sizeof proto)) < 0) return;
  if (rc) f.protocol = proto;
  if ((rc = query_text(req, "patient", patient, sizeof patient)) < 0) return;
  if (rc) f.patient = patient;
  if ((rc = query_text(req, "alerts", alerts, sizeof alerts)) < 0) return;
  if (rc) f.alerts = alerts;
  /* A chair however it is spelled (AK3): the start form's warning of a chair
   * with an active visit (docs/workstation.md AE6). */
  if ((rc = query_text(req, "location", location, sizeof location)) < 0) return;
  const char *chair = rc ? location : NULL;
  char today[8];
  if ((rc = query_text(req, "today", today, sizeof today)) < 0) return;
  if (rc && strcmp(today, "true") && strcmp(today, "false")) {
    vigil__http_respond_error(req, 400, "invalid_query", "today is true or false", "today");
    return;
  }
  /* Today begins at midnight in the site's time zone (vigil.conf's
   * site.timezone: vigil serve sets TZ), by the engine's clock. */
  if (rc && !strcmp(today, "true")) f.started_from = local_midnight_ms(vigil_engine_now(a->e));
  /* A patient's visits: all of them, closed too, unless a status is asked. */
  if (!f.status && f.patient) f.status = "all";
  if (query_u64(req, "after", 0, &after) < 0 || query_u64(req, "limit", 100, &limit) < 0) return;
  f.after = after;
  f.limit = limit > 1000 ? 1000 : (uint32_t)limit;
  char *body = vigil__query_visits_in_chair_json(a->e, &f, chair);
  /* AR4: no visit of a patient spelled like a known one: the list says whom
   * (a hint: nothing is merged). */
  const char *like = body && f.patient ? vigil__patient_similar(a->e, f.patient) : NULL;
  if (like && !strncmp(body, "{\"visits\":[]", 12)) {
    json_t *j = json_loads(body, 0, NULL);
    if (j && json_object_set_new(j, "similar", json_pack("[s]", like)) == 0) {
      free(body);
      body = json_dumps(j, JSON_COMPACT);
    }
    json_decref(j);
  }
  if (!body) {
    /* A filter the engine refused names its field; running out of memory does not. */
    if (vigil_engine_errfield(a->e))
      vigil__http_respond_error(req, 400, "invalid_query", vigil_engine_errmsg(a->e), vigil_engine_errfield(a->e));
    else
      fail_engine(a, req, VIGIL_ENOMEM, NULL);
    return;
  }
  vigil__api_reply_free(req, 200, body, NULL);
}

/* The {patient} of the path into patient (256 bytes): 0, or -1 after
 * answering. The path segment is percent-decoded ("MRN%207" is patient
 * "MRN 7"), as a query's value is, but a + stays a + in a path. */
static int path_patient(http_request *req, const api_call *c, char *patient) {
  const char *seg = c->seg;
  size_t len = c->seg_len;
  char query[3 * 256 + 4] = "p=";
  size_t k = 2;
  for (size_t i = 0; i < len && k + 4 < sizeof query; i++) {
    const char *esc = seg[i] == '+' ? "%2B" : seg[i] == '&' ? "%26" : NULL;
    if (esc) {
      memcpy(query + k, esc, 3);
      k += 3;
    } else {
      query[k++] = seg[i];
    }
  }
  query[k] = 0;
  if (len >= 256) {
    vigil__http_respond_error(req, 404, "not_found", "no such patient", "patient");
    return -1;
  }
  /* A NUL (%00) or bytes that are not UTF-8 are a bad id, as in a body (V6);
   * a broken escape ("%2") names no patient. */
  int broken = 0;
  for (size_t i = 0; i < len; i++)
    broken |=
        seg[i] == '%' && (i + 2 >= len || !isxdigit((unsigned char)seg[i + 1]) || !isxdigit((unsigned char)seg[i + 2]));
  if (broken) {
    vigil__http_respond_error(req, 404, "not_found", "no such patient", "patient");
    return -1;
  }
  int pn = vigil__http_query_param(query, "p", patient, 256);
  if (pn == -3) {
    vigil__http_query_twice(req, "p");
    return -1;
  }
  if (pn < 0) {
    vigil__http_respond_error(req, 422, "invalid_field", "the patient holds a NUL or is not well-formed UTF-8",
                              "patient");
    return -1;
  }
  return vigil__api_shown_id_refused(req, "patient", patient) < 0 ? -1 : 0;
}

/* A patient's courses (core/engine/course.c). */
static void get_patient(api *a, http_request *req, const api_call *c) {
  char patient[256];
  if (path_patient(req, c, patient) < 0) return;
  char *body = vigil_patient_json(a->e, patient);
  int rc = body ? 0 : vigil_engine_errfield(a->e) ? VIGIL_ENOENT : VIGIL_ENOMEM;
  /* What a hospital's system said of the patient (docs/hl7.md): demographics
   * and allergies, null when none has; a patient with a record and no course
   * is found too. */
  char *record = rc == VIGIL_ENOMEM ? NULL : vigil_patient_record_json(a->e, patient);
  if (rc < 0 && !record) {
    /* AR4: no record of this reference, but of one spelled like it. */
    const char *like = rc == VIGIL_ENOENT ? vigil__patient_similar(a->e, patient) : NULL;
    if (!like) {
      fail_engine(a, req, rc, "patient");
      return;
    }
    char msg[600];
    snprintf(msg, sizeof msg, "no record of patient %s; did you mean %s?", patient, like);
    json_t *extra = json_pack("{s:[s]}", "similar", like);
    char *err = extra ? vigil__http_error_json("not_found", msg, "patient", extra) : NULL;
    json_decref(extra);
    if (err)
      vigil__api_reply_free(req, 404, err, NULL);
    else
      fail_engine(a, req, VIGIL_ENOMEM, "patient");
    return;
  }
  json_t *j = body ? json_loads(body, 0, NULL) : json_pack("{s:s, s:[]}", "patient", patient, "courses");
  json_t *r = record ? json_loads(record, 0, NULL) : NULL;
  free(body);
  free(record);
  if (json_is_object(r)) {
    json_t *allergies = json_incref(json_object_get(r, "allergies"));
    /* N3: the record of a reference spelled like this one says whose it is. */
    const char *of = json_string_value(json_object_get(r, "patient"));
    if (of && strcmp(of, patient)) json_object_set_new(r, "record_of", json_string(of));
    json_object_del(r, "allergies");
    json_object_del(r, "patient");
    json_object_set_new(j, "demographics", r);
    json_object_set_new(j, "allergies", allergies ? allergies : json_array());
  } else {
    json_decref(r);
    json_object_set_new(j, "demographics", json_null());
    json_object_set_new(j, "allergies", json_null());
  }
  body = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (body)
    vigil__api_reply_free(req, 200, body, NULL);
  else
    fail_engine(a, req, VIGIL_ENOMEM, "patient");
}

/* Who is due: ?due=today (a next session due before tomorrow's midnight,
 * site time) or ?due=overdue (past due and its grace). */
static void get_patients(api *a, http_request *req, const api_call *c) {
  (void)c;
  char due[16];
  int rc = query_text(req, "due", due, sizeof due);
  if (rc < 0) return;
  if (rc == 0 || (strcmp(due, "today") && strcmp(due, "overdue"))) {
    vigil__http_respond_error(req, 400, "invalid_query", "due is today or overdue", "due");
    return;
  }
  int64_t now = vigil_engine_now(a->e);
  int64_t until = local_midnight_ms(local_midnight_ms(now) + 36 * 3600000LL); /* tomorrow's midnight */
  char *body = vigil_patients_due_json(a->e, until, !strcmp(due, "overdue"));
  if (body)
    vigil__api_reply_free(req, 200, body, NULL);
  else
    fail_engine(a, req, VIGIL_ENOMEM, NULL);
}

static void get_visit(api *a, http_request *req, const api_call *c) {
  uint64_t id = c->id;
  char *body = vigil_visit_json(a->e, id);
  if (body)
    vigil__api_reply_free(req, 200, body, NULL);
  else if (vigil_query_visit_status(a->e, id, NULL) < 0)
    fail_engine(a, req, VIGIL_ENOENT, "visit");
  else
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
}

/* The name of who asks a costly read, whose reads at once the lane bounds. */
static const char *asker(const api_call *c) { return c->who ? c->who->name : ""; }

/* Starts the visit's FHIR R4 Bundle (export/fhir.c) in an export slot: its
 * snapshot is taken here, on the loop; the Bundle is built off it
 * (export_work.c, AQ6). With a SQLite store only the visit's state is taken
 * here and its events are read off the loop too, up to the durable seq of
 * this moment (AT3). */
static void start_fhir(api *a, http_request *req, const lane_read *r) {
  const char *file = vigil__store_sqlite_file(vigil__engine_store(a->e));
  fhir_snapshot *snap;
  uint64_t upto = 0;
  char err[256];
  int rc = file ? vigil__export_fhir_snapshot_head(a->e, r->id, &snap, &upto, err, sizeof err)
                : vigil__export_fhir_snapshot(a->e, r->id, &snap, err, sizeof err);
  if (rc == VIGIL_ENOENT)
    fail_engine(a, req, VIGIL_ENOENT, "visit");
  else if (rc < 0)
    vigil__http_respond_error(req, 503, "export_failed", err, NULL);
  else
    vigil__api_export_start(a, req, r->user, snap, file, upto);
}

/* The visit as a FHIR R4 Bundle: a lane_build. Started now when a slot is
 * free, else when its turn comes (AU4), or refused 503 busy. */
static void build_fhir(api *a, http_request *req, const lane_read *r) {
  if (!vigil__api_exports_full(a, req, r, start_fhir)) start_fhir(a, req, r);
}

/* Built in the lane, a few milliseconds of the loop a turn (AC2). */
static void get_fhir(api *a, http_request *req, const api_call *c) {
  vigil__api_lane_request(a, req, asker(c), LANE_FHIR, &(lane_read){.id = c->id}, build_fhir);
}

/* A patient's treatment course as a FHIR R4 Bundle (export/course_fhir.c): a lane_build. */
static void build_course_fhir(api *a, http_request *req, const lane_read *r) {
  uint64_t id = r->id;
  char *body = NULL, err[256];
  int rc = vigil__export_course_fhir(a->e, id, &body, err, sizeof err);
  if (rc == VIGIL_ENOENT) {
    vigil__http_respond_error(req, 404, "not_found", "no such course", "course");
  } else if (rc < 0) {
    vigil__http_respond_error(req, 503, "export_failed", err, NULL);
  } else {
    vigil__http_respond(req, 200, "application/fhir+json", body, strlen(body), NULL);
    free(body);
  }
}

static void get_course_fhir(api *a, http_request *req, const api_call *c) {
  vigil__api_lane_request(a, req, asker(c), LANE_COURSE_FHIR, &(lane_read){.id = c->id}, build_course_fhir);
}

/* An esketamine session's REMS Patient Monitoring Form data
 * (export/rems.c): JSON, or CSV; a lane_build. */
static void build_rems(api *a, http_request *req, const lane_read *r) {
  uint64_t id = r->id;
  int csv = r->csv;
  char *body = NULL, err[512];
  int rc = vigil__export_rems(a->e, id, csv, &body, err, sizeof err);
  if (rc == VIGIL_ENOENT)
    fail_engine(a, req, VIGIL_ENOENT, "visit");
  else if (rc == VIGIL_EPROTOCOL)
    vigil__http_respond_error(req, 422, "not_exportable", err, NULL);
  else if (rc < 0)
    vigil__http_respond_error(req, 503, "export_failed", err, NULL);
  else {
    vigil__http_respond(req, 200, csv ? "text/csv; charset=utf-8" : "application/json", body, strlen(body), NULL);
    free(body);
  }
}

/* ?format=json (the default) or csv; built in the lane (AC2). */
static void get_rems(api *a, http_request *req, const api_call *c) {
  char format[8] = "json";
  if (query_text(req, "format", format, sizeof format) < 0) return;
  int csv = !strcmp(format, "csv");
  if (!csv && strcmp(format, "json")) {
    vigil__http_respond_error(req, 400, "invalid_query", "format is json or csv", "format");
    return;
  }
  vigil__api_lane_request(a, req, asker(c), LANE_REMS, &(lane_read){.id = c->id, .csv = csv}, build_rems);
}

static void get_alerts(api *a, http_request *req, const api_call *c) {
  uint64_t visit = c->id;
  char state[16];
  vigil_alert_filter f = {.visit = visit};
  uint64_t after, limit;
  int rc;
  if ((rc = query_text(req, "state", state, sizeof state)) < 0) return;
  if (rc) f.state = state;
  if (!visit && query_u64(req, "visit", 0, &f.visit) < 0) return;
  if (query_u64(req, "after", 0, &after) < 0 || query_u64(req, "limit", 100, &limit) < 0) return;
  f.after = after;
  f.limit = limit > 1000 ? 1000 : (uint32_t)limit;
  char *body = vigil_query_alerts_json(a->e, &f);
  if (!body) {
    const char *errfield = vigil_engine_errfield(a->e);
    if (errfield && !strcmp(errfield, "visit")) {
      if (visit)
        fail_engine(a, req, VIGIL_ENOENT, "visit");
      else
        vigil__http_respond_error(req, 404, "not_found", vigil_engine_errmsg(a->e), "visit");
    } else if (errfield) {
      vigil__http_respond_error(req, 400, "invalid_query", vigil_engine_errmsg(a->e), errfield);
    } else {
      fail_engine(a, req, VIGIL_ENOMEM, NULL);
    }
    return;
  }
  vigil__api_reply_free(req, 200, body, NULL);
}

/* A query parameter that is an ISO time: 0 (absent: *ms = dflt), or -1 after answering 400. */
static int query_time(http_request *req, const char *name, int64_t dflt, int64_t *ms) {
  char text[64];
  int rc = query_text(req, name, text, sizeof text);
  if (rc <= 0) {
    *ms = dflt;
    return rc;
  }
  if (vigil_time_parse(text, ms) == 0) return 0;
  char msg[160];
  snprintf(msg, sizeof msg, "%s is a time such as 2026-01-05, 2026-01-05T08:00Z or 2026-01-05T09:00+01:00", name);
  vigil__http_respond_error(req, 400, "invalid_query", msg, name);
  return -1;
}

/* The alerts raised from `from` (default: today's midnight, site time) to
 * `to` (default: now), with their whole life, `limit` (100, at most 1000)
 * after the alert `after`. */
static void build_alert_log(api *a, http_request *req, const lane_read *r) {
  char *body = vigil_query_alert_log_json(a->e, r->from, r->to, r->after, (uint32_t)r->limit);
  if (!body)
    fail_engine(a, req, VIGIL_EIO, NULL);
  else
    vigil__api_reply_free(req, 200, body, NULL);
}

static void get_alert_log(api *a, http_request *req, const api_call *c) {
  int64_t now = vigil_engine_now(a->e), from, to;
  uint64_t after, limit;
  if (query_time(req, "from", local_midnight_ms(now), &from) < 0 || query_time(req, "to", now + 1, &to) < 0) return;
  if (to <= from) {
    vigil__http_respond_error(req, 400, "invalid_query", "to comes after from", "to");
    return;
  }
  /* A page at a time, as the other lists (docs/security.md T10). */
  if (query_u64(req, "after", 0, &after) < 0 || query_u64(req, "limit", 100, &limit) < 0) return;
  /* Built in the lane, a few milliseconds of the loop a turn (AC2). */
  lane_read r = {.from = from, .to = to, .after = after, .limit = limit > 1000 ? 1000 : limit};
  vigil__api_lane_request(a, req, asker(c), LANE_ALERT_LOG, &r, build_alert_log);
}

/* A page of the log, of every visit or of one (r->id): a lane_build. */
static void build_events(api *a, http_request *req, const lane_read *r) {
  char *body = vigil_query_events_json(a->e, r->after, r->id, (uint32_t)r->limit);
  if (!body) {
    vigil__http_respond_error(req, 503, "unavailable", "the log could not be read", NULL);
    return;
  }
  vigil__api_reply_free(req, 200, body, NULL);
}

static void get_events(api *a, http_request *req, const api_call *c) {
  uint64_t visit = c->id;
  uint64_t after, limit;
  if (query_u64(req, "after", 0, &after) < 0 || query_u64(req, "limit", 100, &limit) < 0) return;
  if (visit) {
    int rc = vigil_query_visit_status(a->e, visit, NULL);
    if (rc < 0) {
      fail_engine(a, req, rc, "visit");
      return;
    }
  }
  /* Built in the lane, a few milliseconds of the loop a turn (AB3). */
  lane_read r = {.id = visit, .after = after, .limit = limit > 1000 ? 1000 : limit};
  vigil__api_lane_request(a, req, asker(c), LANE_EVENTS, &r, build_events);
}

/* ---- the test clock ------------------------------------------------------------ */

static void clock_reply(api *a, http_request *req, int later) {
  char body[128];
  snprintf(body, sizeof body, "{\"now_ms\":%lld,\"simulated\":%s}", (long long)vigil_engine_now(a->e),
           a->simulated_clock ? "true" : "false");
  if (later)
    vigil__api_hold(a, req, 200, strdup(body), NULL);
  else
    vigil__http_respond(req, 200, "application/json", body, strlen(body), NULL);
}

static void get_clock(api *a, http_request *req, const api_call *c) {
  (void)c;
  clock_reply(a, req, 0);
}

#define MAX_ADVANCE_MS (7 * 86400000LL)

/* "90s", "30m", "2h", "1h30m": ms, or -1 (also beyond MAX_ADVANCE_MS, so that
 * no string, however long, overflows the sum). */
static int64_t parse_duration(const char *s) {
  int64_t total = 0;
  if (!*s) return -1;
  while (*s) {
    char *end;
    long long n = strtoll(s, &end, 10);
    if (end == s || n < 0 || n > 1000000) return -1;
    int64_t unit = *end == 's' ? 1000 : *end == 'm' ? 60000 : *end == 'h' ? 3600000 : *end == 'd' ? 86400000 : 0;
    if (!unit) return -1;
    total += n * unit;
    if (total > MAX_ADVANCE_MS) return -1;
    s = end + 1;
  }
  return total;
}

/* Moves the simulated clock forward, firing every deadline on the way, in
 * one batch: the answer comes once all of it is durable. */
static void post_clock(api *a, http_request *req, const api_call *c) {
  if (!a->simulated_clock) {
    vigil__http_respond_error(
        req, 409, "needs_simulated_clock",
        "this server runs on the real clock (vigil serve --clock=simulated --allow-simulated-clock)", NULL);
    return;
  }
  json_t *body = vigil__api_body_object(req);
  if (!body) return;
  const char *by;
  if (vigil__api_member_string(req, body, "advance", 1, &by) == 0) {
    int64_t ms = parse_duration(by);
    if (ms <= 0 || ms > MAX_ADVANCE_MS) {
      vigil__http_respond_error(req, 422, "invalid_field",
                                "advance is a duration such as \"30m\", \"2h\" or \"1h30m\" (at most 7 days)",
                                "advance");
    } else {
      open_batch(a);
      int rc = vigil_engine_clock_advance(a->e, vigil_engine_now(a->e) + ms, c->who ? c->who->name : NULL);
      if (rc < 0)
        fail_engine(a, req, rc, NULL);
      else
        clock_reply(a, req, 1);
    }
  }
  json_decref(body);
}

/* ---- handlers: writes ----------------------------------------------------------- */

typedef enum command {
  CMD_START,
  CMD_RECORD,
  CMD_AMEND,
  CMD_SKIP,
  CMD_ADVANCE,
  CMD_OVERRIDE,
  CMD_DISCHARGE,
  CMD_ABORT,
  CMD_ACK,
  CMD_COURSE_START,
  CMD_COURSE_CLOSE,
  CMD_ALERT_CLOSE,        /* a course alert, with a reason */
  CMD_REMS_SUBMITTED,     /* a session's REMS Patient Monitoring Form sent (docs/rems.md) */
  CMD_COURSE_INTEGRATION, /* an integration psychotherapy session of a course */
  CMD_NOTE,               /* a nursing note on a visit */
  CMD_ALLERGY_REMOVAL     /* a kept allergy's removal confirmed for good (docs/safety.md S4) */
} command;

/* A write on its way: parsed, checked, perhaps waiting for a password. */
typedef struct write_request {
  command cmd;
  uint64_t id;
  json_t *body;
  const char *s1, *s2, *s3, *s4, *s5; /* in body */
  const char *override_reason;        /* a start beside an open session of the course (G9) */
  int new_patient;                    /* a start says the patient is not a similar existing one (K2) */
  json_t *input; /* what the engine is handed, parsed once: a start's params, an entry's values, an amendment's value */
  char actor[USER_NAME_MAX + 1];
  char patient[256]; /* the path's {patient}, decoded (CMD_ALLERGY_REMOVAL) */
  int may_prescribe; /* the author's role may set prescribed params */
  int clinician;     /* the author's role is a clinician's (PERM_SIGN): an entry or amendment says so (U6, AW1) */
  api *a;
  idem_entry *idem; /* its Idempotency-Key (idempotency.c); NULL: none */
} write_request;

static void write_request_free(write_request *w) {
  vigil__api_idem_end(w->a, w->idem);
  json_decref(w->input);
  json_decref(w->body);
  free(w);
}

/* new_patient, true or false or absent (K2): 0, or -1 after answering. */
static int parse_new_patient(http_request *req, json_t *body, int *new_patient) {
  json_t *np = json_object_get(body, "new_patient");
  if (np && !json_is_null(np) && !json_is_boolean(np)) {
    vigil__http_respond_error(req, 422, "invalid_field", "new_patient must be true or false", "new_patient");
    return -1;
  }
  *new_patient = json_is_true(np);
  return 0;
}

/* An override's holds and items (Q5, V1): absent, null, or an array of at
 * most 64 names, each 1 to 256 bytes. 0, or -1 after answering (422 on it). */
static int names_array(http_request *req, json_t *body, const char *name, const char *message) {
  json_t *list = json_object_get(body, name), *h;
  size_t i;
  if (!list || json_is_null(list)) return 0;
  int ok = json_is_array(list) && json_array_size(list) <= 64;
  json_array_foreach(list, i, h) {
    ok = ok && json_is_string(h) && json_string_length(h) > 0 && json_string_length(h) <= 256;
  }
  if (!ok) vigil__http_respond_error(req, 422, "invalid_field", message, name);
  return ok ? 0 : -1;
}

/* Its strings (checked by names_array), at most 64, in names: how many. */
static size_t names_of(json_t *body, const char *name, const char *names[64]) {
  json_t *list = json_object_get(body, name), *h;
  size_t n = 0, i;
  json_array_foreach(list, i, h) {
    if (n < 64) names[n++] = json_string_value(h);
  }
  return n;
}

/* The shapes of a command's body, so that a wrong type is a 422 naming its
 * field before anything reaches the engine. 0, or -1 after answering. */
static int parse_write(http_request *req, write_request *w) {
  json_t *body = w->body;
  switch (w->cmd) {
  case CMD_START: {
    if (vigil__api_member_string(req, body, "protocol", 1, &w->s1) < 0 ||
        vigil__api_member_string(req, body, "patient", 1, &w->s2) < 0 ||
        vigil__api_member_string(req, body, "location", 0, &w->s3) < 0 ||
        vigil__api_member_string(req, body, "override_reason", 0, &w->override_reason) < 0)
      return -1;
    if (parse_new_patient(req, body, &w->new_patient) < 0) return -1;
    json_t *params = json_object_get(body, "params");
    if (params && !json_is_null(params)) {
      if (!json_is_object(params)) {
        vigil__http_respond_error(req, 422, "invalid_field", "params must be an object of name: value", "params");
        return -1;
      }
      w->input = json_incref(params);
    }
    return 0;
  }
  case CMD_RECORD: {
    /* A signature's password travels beside the values, never into them. */
    json_t *values = json_copy(body);
    json_object_del(values, "password");
    json_object_del(values, "attests"); /* what the signer was shown: checked in run_write */
    if (json_object_size(values) == 0) {
      json_decref(values);
      vigil__http_respond_error(req, 422, "invalid_field",
                                "an entry is a JSON object of item: value, with at least one item", NULL);
      return -1;
    }
    /* Each item's texts (a note, a choice, a vitals member) within the limit. */
    const char *item;
    json_t *value;
    json_object_foreach(values, item, value) {
      if (vigil__api_texts_within(req, value, item, API_TEXT_MAX) < 0) {
        json_decref(values);
        return -1;
      }
    }
    w->input = values;
    return 0;
  }
  case CMD_AMEND: {
    if (vigil__api_member_string(req, body, "item", 1, &w->s1) < 0 ||
        vigil__api_member_string(req, body, "reason", 1, &w->s2) < 0)
      return -1;
    json_t *value = json_object_get(body, "value");
    if (!value) {
      vigil__http_respond_error(req, 422, "invalid_field", "value is required", "value");
      return -1;
    }
    if (vigil__api_texts_within(req, value, "value", API_TEXT_MAX) < 0) return -1;
    w->input = json_incref(value);
    return 0;
  }
  case CMD_SKIP:
    return vigil__api_member_string(req, body, "item", 1, &w->s1) < 0 ||
                   vigil__api_member_string(req, body, "reason", 1, &w->s2) < 0
               ? -1
               : 0;
  case CMD_OVERRIDE:
    if (vigil__api_member_string(req, body, "reason", 1, &w->s2) < 0) return -1;
    /* Q5: the rule holds it passes, each named (an array of the blocks' rules);
     * V1: the required items it passes unrecorded, each named by its entry. */
    if (names_array(req, body, "holds",
                    "holds must be an array of the rules of the holds the override passes (at most 64)") < 0 ||
        names_array(req, body, "items",
                    "items must be an array of the entries (\"screening.dose_check\") of the required items the "
                    "override passes unrecorded (at most 64)") < 0)
      return -1;
    return 0;
  case CMD_ABORT:
    return vigil__api_member_string(req, body, "reason", 1, &w->s2);
  case CMD_NOTE:
    return vigil__api_member_string(req, body, "note", 1, &w->s1);
  case CMD_ACK:
    return vigil__api_member_string(req, body, "reason", 0, &w->s2);
  case CMD_COURSE_START:
    /* The visit start's patient checks, new_patient with them (AA1). */
    return vigil__api_member_string(req, body, "protocol", 1, &w->s1) < 0 ||
                   vigil__api_member_string(req, body, "patient", 1, &w->s2) < 0 ||
                   parse_new_patient(req, body, &w->new_patient) < 0
               ? -1
               : 0;
  case CMD_COURSE_CLOSE:
    return vigil__api_member_string(req, body, "reason", 1, &w->s2);
  case CMD_ALERT_CLOSE:
    /* reason: rescheduled or stopped; why: in words; due: when, rescheduled */
    return vigil__api_member_string(req, body, "reason", 1, &w->s1) < 0 ||
                   vigil__api_member_string(req, body, "why", 1, &w->s2) < 0 ||
                   vigil__api_member_string(req, body, "due", 0, &w->s3) < 0
               ? -1
               : 0;
  case CMD_REMS_SUBMITTED:
    /* method, reference; by (default: the one who records it), at (default: now); incomplete_reason
     * (required when the form has fields missing) */
    return vigil__api_member_string(req, body, "method", 1, &w->s1) < 0 ||
                   vigil__api_member_string(req, body, "reference", 1, &w->s2) < 0 ||
                   vigil__api_member_string(req, body, "by", 0, &w->s3) < 0 ||
                   vigil__api_member_string(req, body, "at", 0, &w->s4) < 0 ||
                   vigil__api_member_string(req, body, "incomplete_reason", 0, &w->s5) < 0
               ? -1
               : 0;
  case CMD_COURSE_INTEGRATION:
    /* note; by (default: the one who records it), at (default: now) */
    return vigil__api_member_string(req, body, "note", 1, &w->s1) < 0 ||
                   vigil__api_member_string(req, body, "by", 0, &w->s3) < 0 ||
                   vigil__api_member_string(req, body, "at", 0, &w->s4) < 0
               ? -1
               : 0;
  case CMD_ALLERGY_REMOVAL:
    /* allergy: its code or text on the record; reason: why it is removed */
    return vigil__api_member_string(req, body, "allergy", 1, &w->s1) < 0 ||
                   vigil__api_member_string(req, body, "reason", 1, &w->s2) < 0
               ? -1
               : 0;
  case CMD_ADVANCE:
  case CMD_DISCHARGE:
    return 0;
  }
  return 0;
}

/* What a command needs of its author's role. */
static permission permission_of(api *a, const write_request *w, int *signs) {
  *signs = 0;
  switch (w->cmd) {
  case CMD_OVERRIDE:
  case CMD_ALLERGY_REMOVAL: /* S4: an allergy off the record for good is a clinician's decision, signed */
    *signs = 1;
    return PERM_OVERRIDE;
  case CMD_START:
    /* Beside the patient's open session: a clinician's signed override. */
    if (w->override_reason) {
      *signs = 1;
      return PERM_OVERRIDE;
    }
    return PERM_RECORD;
  case CMD_DISCHARGE:
    *signs = 1;
    return PERM_DISCHARGE;
  case CMD_ABORT:
  case CMD_COURSE_CLOSE: /* stopping a course is stopping its visits to come (K3: a clinician's unless complete) */
    return PERM_DISCHARGE;
  case CMD_ALERT_CLOSE: /* stopped closes the course; a new date is anyone's who records */
    return w->s1 && !strcmp(w->s1, "stopped") ? PERM_DISCHARGE : PERM_RECORD;
  case CMD_AMEND:
    /* Amending a signature item (its outcome) is a signature too. */
    if (vigil_visit_items_sign(a->e, w->id, &w->s1, 1) == 1) {
      *signs = 1;
      return PERM_SIGN;
    }
    return PERM_RECORD;
  case CMD_RECORD: {
    /* Recording a signature item is a signature. */
    const char *names[64];
    size_t n = 0;
    const char *key;
    json_t *value;
    json_object_foreach(w->body, key, value) {
      if (n < 64) names[n++] = key;
    }
    if (vigil_visit_items_sign(a->e, w->id, names, n) == 1) {
      *signs = 1;
      return PERM_SIGN;
    }
    return PERM_RECORD;
  }
  default:
    return PERM_RECORD;
  }
}

/* A signature sent with what its signer was shown ({"attests": {item: what
 * the visit's to_attest said}}): 1 if that is no longer what it would attest
 * (a value changed while the dialog was open), with the item's id in which. */
/* 1 when what a signature attests now differs from what was shown (which
 * names it), 0 when none does; VIGIL_ENOMEM, or the engine's error, when it
 * could not be rendered: that is no change (fifth review, item 9). */
static int attests_moved(api *a, uint64_t id, json_t *shown, char *which, size_t len) {
  const char *k;
  json_t *x;
  json_object_foreach(shown, k, x) {
    char *text;
    int rc = vigil__visit_to_attest_json(a->e, id, k, &text);
    if (rc < 0) return rc;
    json_t *now = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    int lost = text && !now; /* our own JSON, unread: jansson's memory ran out */
    vigil_free(text);
    if (lost) return VIGIL_ENOMEM;
    int same = now && json_equal(now, x);
    json_decref(now);
    if (!same) {
      snprintf(which, len, "%s", k);
      return 1;
    }
  }
  return 0;
}

/* Runs a checked command in this turn's batch; its answer waits for the commit. */
static void run_write(api *a, http_request *req, write_request *w) {
  open_batch(a);
  uint64_t id = w->id, visit = id;
  const char *actor = w->actor, *s1 = w->s1, *s2 = w->s2;
  int rc = 0;
  switch (w->cmd) {
  case CMD_START: {
    char ref[256];
    const char *startable = vigil__api_startable_ref(a, req, s1, ref, sizeof ref);
    if (!startable) return; /* answered: not approved */
    /* A dose or an alarm limit other than the protocol's is a prescription. */
    char name[128], msg[400];
    if (!w->may_prescribe && vigil__protocol_prescribed_value(a->e, startable, w->input, name, sizeof name)) {
      snprintf(msg, sizeof msg,
               "%s is prescribed: only a clinician sets it to anything but the protocol's default (a nurse starts "
               "the visit with the default, or a clinician starts it)",
               name);
      vigil__http_respond_error(req, 403, "forbidden", msg, name);
      return;
    }
    rc = vigil__visit_start_value(a->e, startable, s2, w->s3, actor, w->input, w->override_reason, w->new_patient,
                                  &visit);
    break;
  }
  case CMD_RECORD: {
    /* A signature on values that changed since the signer saw them is refused. */
    json_t *shown = json_object_get(w->body, "attests");
    char which[128];
    int moved = json_is_object(shown) ? attests_moved(a, id, shown, which, sizeof which) : 0;
    if (moved == VIGIL_ENOMEM) {
      vigil__http_respond_error(req, 503, "out_of_memory", "out of memory; nothing was recorded", NULL);
      return;
    }
    if (moved < 0) {
      fail_engine(a, req, moved, NULL);
      return;
    }
    if (moved) {
      vigil__http_respond_error(req, 409, "attests_changed",
                                "what this signature attests changed since it was shown: look at the values again "
                                "and sign what is there now",
                                which);
      return;
    }
    rc = vigil__visit_record_value(a->e, id, actor, w->clinician, w->input);
    break;
  }
  case CMD_AMEND:
    rc = vigil__visit_amend_value(a->e, id, actor, w->clinician, s1, w->input, s2);
    break;
  case CMD_SKIP:
    rc = vigil_visit_skip(a->e, id, actor, s1, s2);
    break;
  case CMD_ADVANCE:
    rc = vigil_visit_advance(a->e, id, actor);
    break;
  case CMD_OVERRIDE: {
    const char *holds[64], *items[64];
    size_t n_holds = names_of(w->body, "holds", holds), n_items = names_of(w->body, "items", items);
    rc = vigil_visit_override_confirmed(a->e, id, actor, s2, holds, n_holds, items, n_items);
    break;
  }
  case CMD_DISCHARGE:
    rc = vigil_visit_discharge(a->e, id, actor);
    break;
  case CMD_ABORT:
    rc = vigil_visit_abort(a->e, id, actor, s2);
    break;
  case CMD_NOTE:
    rc = vigil_visit_note(a->e, id, actor, s1);
    break;
  case CMD_ACK:
    rc = vigil_alert_ack(a->e, id, actor, s2);
    if (rc == 0) rc = vigil_query_alert_visit(a->e, id, &visit);
    break;
  case CMD_COURSE_START:
    rc = vigil_course_start_ex(a->e, s1, s2, actor, w->new_patient, &id);
    break;
  case CMD_COURSE_CLOSE:
    rc = vigil_course_close(a->e, id, actor, s2);
    break;
  case CMD_ALERT_CLOSE: {
    int64_t due = 0;
    if (w->s3 && vigil_time_parse(w->s3, &due) < 0) {
      vigil__http_respond_error(req, 422, "invalid_field",
                                "due is a time such as \"2026-03-02T09:00:00Z\" or \"2026-03-02\"", "due");
      return;
    }
    rc = vigil_course_alert_close(a->e, id, actor, w->s1, s2, w->s3 ? due : 0);
    break;
  }
  case CMD_REMS_SUBMITTED: {
    int64_t at = 0;
    if (w->s4 && vigil_time_parse(w->s4, &at) < 0) {
      vigil__http_respond_error(req, 422, "invalid_field",
                                "at is a time such as \"2026-03-02T09:00:00Z\": when the form was sent", "at");
      return;
    }
    /* The form as it would be filed (export/rems.c): with fields missing it
     * is sent only knowingly, saying why (docs/rems.md, safety.md C1): a
     * session aborted after its dose always is (C5). A visit that owes no
     * form (open, aborted before its dose, not a REMS session) or that the
     * export refuses is left to the engine's answer (which says what it
     * expects). */
    char *form = NULL, *owed = vigil_visit_rems_json(a->e, id), err[512];
    /* Given, the reason is recorded whatever the form holds (a protocol the
     * export cannot read is not checked); required when fields are missing. */
    const char *why = w->s5;
    int owes = owed != NULL;
    vigil_free(owed);
    if (owes && vigil__export_rems(a->e, id, 0, &form, err, sizeof err) == 0) {
      json_t *f = json_loads(form, 0, NULL), *gaps = json_object_get(f, "missing"), *g;
      free(form);
      if (!f) {
        vigil__http_respond_error(req, 503, "export_failed", "the REMS form could not be read", NULL);
        return;
      }
      if (json_array_size(gaps) > 0) {
        if (!w->s5 || !*w->s5) {
          buf m;
          vigil__buf_init(&m);
          vigil__buf_puts(&m, "the REMS Patient Monitoring Form has fields missing (");
          size_t i;
          json_array_foreach(gaps, i, g) {
            if (i) vigil__buf_puts(&m, ", ");
            vigil__buf_puts(&m, json_string_value(g) ? json_string_value(g) : "?");
          }
          vigil__buf_puts(&m, "): record the missing fields first, or say why it is sent incomplete "
                              "(incomplete_reason)");
          vigil__http_respond_error(req, 409, "form_incomplete", m.p ? m.p : "form incomplete", "incomplete_reason");
          vigil__buf_free(&m);
          json_decref(f);
          return;
        }
      } else if (why) {
        /* A reason beside `missing: []` would be exported as if the form
         * were incomplete: refused, nothing recorded (docs/safety.md C11). */
        json_decref(f);
        vigil__http_respond_error(
            req, 422, "invalid_field",
            "incomplete_reason is for a form with fields missing; this one has no fields missing: "
            "send it without one",
            "incomplete_reason");
        return;
      }
      json_decref(f);
    }
    rc = why ? vigil_visit_rems_submitted_incomplete(a->e, id, actor, w->s3, w->s4 ? at : 0, s1, s2, why)
             : vigil_visit_rems_submitted(a->e, id, actor, w->s3, w->s4 ? at : 0, s1, s2);
    int status = 200;
    char *body = rc == 0 ? vigil_visit_rems_json(a->e, id) : engine_error_json(a, rc, "visit", 0, &status);
    vigil__api_hold(a, req, rc < 0 ? status : 200, body ? body : strdup("{}"), NULL);
    return;
  }
  case CMD_COURSE_INTEGRATION:
    break; /* below, answered with the patient's courses */
  case CMD_ALLERGY_REMOVAL: {
    /* Answered with the record as the confirmation left it. */
    char *body = NULL;
    rc = vigil_patient_allergy_confirm_removal(a->e, w->patient, actor, s1, s2, &body);
    int status = 200;
    if (rc < 0) body = engine_error_json(a, rc, "patient", 0, &status);
    vigil__api_idem_refer(a, req, 0, w->patient);
    vigil__api_hold(a, req, rc < 0 ? status : 200, body ? body : strdup("{}"), NULL);
    return;
  }
  }
  /* A course alert's acknowledgement or closing answers with its patient's
   * courses (it is of no visit). */
  if ((w->cmd == CMD_ACK && rc == 0 && !visit) || w->cmd == CMD_ALERT_CLOSE) {
    uint64_t course = vigil_alert_course(a->e, id);
    int status = 200;
    const char *patient = rc == 0 && course ? vigil_course_patient(a->e, course) : NULL;
    char *body = patient ? vigil_patient_json(a->e, patient) : NULL;
    if (rc < 0)
      body = engine_error_json(a, rc, "alert", 0, &status);
    else if (!body)
      body = strdup("{}");
    vigil__api_idem_refer(a, req, 0, patient);
    vigil__api_hold(a, req, rc < 0 ? status : 200, body, NULL);
    return;
  }
  if (w->cmd == CMD_COURSE_INTEGRATION) {
    int64_t at = 0;
    if (w->s4 && vigil_time_parse(w->s4, &at) < 0) {
      vigil__http_respond_error(req, 422, "invalid_field",
                                "at is a time such as \"2026-03-02T09:00:00Z\": when the session was held", "at");
      return;
    }
    rc = vigil_course_integration(a->e, id, actor, w->s3, w->s4 ? at : 0, s1);
    int status = 200;
    const char *patient = rc == 0 ? vigil_course_patient(a->e, id) : NULL;
    char *body = patient ? vigil_patient_json(a->e, patient) : NULL;
    if (rc < 0)
      body = engine_error_json(a, rc, "course", 0, &status);
    else if (!body)
      body = strdup("{}");
    vigil__api_hold(a, req, rc < 0 ? status : 200, body, NULL);
    return;
  }
  if (w->cmd == CMD_COURSE_START || w->cmd == CMD_COURSE_CLOSE) {
    /* The patient's courses as the command left them. */
    int status = 200;
    const char *patient = rc == 0 ? vigil_course_patient(a->e, id) : NULL;
    char *body = patient ? vigil_patient_json(a->e, patient) : NULL;
    if (rc < 0)
      body = engine_error_json(a, rc, w->cmd == CMD_COURSE_CLOSE ? "course" : NULL, 0, &status);
    else if (!body)
      body = strdup("{}");
    char location[96];
    snprintf(location, sizeof location, "Location: /api/v1/courses/%llu\r\n", (unsigned long long)id);
    vigil__api_idem_refer(a, req, 0, patient);
    vigil__api_hold(a, req,
                    rc < 0                       ? status
                    : w->cmd == CMD_COURSE_START ? 201
                                                 : 200,
                    body, rc == 0 && w->cmd == CMD_COURSE_START ? location : NULL);
    return;
  }
  if (rc < 0) {
    int status;
    char *err = engine_error_json(a, rc,
                                  w->cmd == CMD_ACK     ? "alert"
                                  : w->cmd == CMD_START ? NULL
                                                        : "visit",
                                  visit, &status);
    vigil__api_hold(a, req, status, err, NULL);
    return;
  }
  /* The visit as this command left it. */
  char *state = vigil_visit_json(a->e, visit);
  if (!state) {
    char tiny[64];
    snprintf(tiny, sizeof tiny, "{\"id\":%llu}", (unsigned long long)visit);
    state = strdup(tiny);
  }
  vigil__api_idem_refer(a, req, visit, NULL);
  if (w->cmd == CMD_START) {
    /* On a node, visit ids count per site: the Location names the site. */
    char location[192];
    snprintf(location, sizeof location, "Location: /api/v1/visits/%llu%s%s\r\n", (unsigned long long)visit,
             a->site ? "?site=" : "", a->site ? a->site : "");
    vigil__api_hold(a, req, 201, state, location);
  } else {
    vigil__api_hold(a, req, 200, state, NULL);
  }
}

static void signed_write(api *a, http_request *req, int ok, void *ctx) {
  write_request *w = ctx;
  if (req && ok) {
    a->idem_current = w->idem;
    run_write(a, req, w);
  } else if (req) {
    vigil__api_site_event(a, "auth.failed", "vigil",
                          json_pack("{s:s, s:s}", "user", w->actor, "reason", "bad_signature_password"));
    vigil__api_hold(a, req, 401,
                    vigil__http_error_json("bad_password", "the password does not match: this step is a signature",
                                           "password", NULL),
                    NULL);
  }
  write_request_free(w);
}

/* 1 when the command enters an item its protocol declares a clinician's
 * (vigil_visit_items_clinician), answered 403 naming it; 0 otherwise (a visit
 * not active is left to the command to refuse). */
static int clinicians_entry(api *a, const write_request *w, http_request *req) {
  const char *name = NULL;
  if (w->cmd == CMD_RECORD) {
    const char *key;
    json_t *value;
    json_object_foreach(w->input, key, value) {
      if (vigil_visit_items_clinician(a->e, w->id, &key, 1, NULL) == 1) {
        name = key;
        break;
      }
    }
  } else if (w->s1 && vigil_visit_items_clinician(a->e, w->id, &w->s1, 1, NULL) == 1) {
    name = w->s1;
  }
  if (!name) return 0;
  char msg[400];
  snprintf(msg, sizeof msg,
           "%.100s is a clinician's entry (the protocol says clinician = true): only a clinician %s it; nothing was "
           "recorded",
           name,
           w->cmd == CMD_AMEND  ? "amends"
           : w->cmd == CMD_SKIP ? "skips"
                                : "records");
  vigil__http_respond_error(req, 403, "forbidden", msg, name);
  return 1;
}

/* A command's route: its permission in the table is the weakest any form
 * of the command needs (permission_of, by its body), so a role without it
 * hears 403 before anything about its body (U9 of the third review). */
static void write_command(api *a, http_request *req, const api_call *c) {
  const user *who = c->who;
  command cmd = (command)c->cmd;
  uint64_t id = c->id;
  /* A retry of a command already answered gets that answer (idempotency.c). */
  idem_entry *idem;
  if (vigil__api_idem_begin(a, req, who, &idem)) return;
  write_request *w = calloc(1, sizeof *w);
  if (!w) {
    vigil__api_idem_end(a, idem);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  w->a = a;
  w->idem = idem;
  w->cmd = cmd;
  w->id = id;
  snprintf(w->actor, sizeof w->actor, "%s", who->name);
  if (cmd == CMD_ALLERGY_REMOVAL && path_patient(req, c, w->patient) < 0) {
    write_request_free(w);
    return;
  }
  w->may_prescribe = vigil__role_may(who->role, PERM_PRESCRIBE);
  w->clinician = vigil__role_may(who->role, PERM_SIGN);
  if (!(w->body = vigil__api_body_object(req)) || parse_write(req, w) < 0) {
    write_request_free(w);
    return;
  }
  int signs;
  permission p = permission_of(a, w, &signs);
  if (!vigil__api_allowed(req, who, p)) {
    write_request_free(w);
    return;
  }
  /* AL6 (docs/safety.md): an item the protocol declares a clinician's
   * (`clinician = true`: the prescriber's evaluation the REMS form reports)
   * is recorded, amended or skipped by a clinician only; anyone else's entry
   * is refused whole, naming it, and nothing of it is recorded. */
  if ((cmd == CMD_RECORD || cmd == CMD_AMEND || cmd == CMD_SKIP) && !vigil__role_may(who->role, PERM_SIGN) &&
      clinicians_entry(a, w, req)) {
    write_request_free(w);
    return;
  }
  /* G3 (docs/safety.md): aborting a visit with an open high alert ends its
   * monitoring while the patient may be deteriorating: a clinician's
   * decision, signed with their password; a nurse is told to call one. */
  if (cmd == CMD_ABORT) {
    char which[700], msg[900];
    int n = vigil_visit_open_high_alerts(a->e, id, which, sizeof which);
    if (n > 0 && !vigil__role_may(who->role, PERM_OVERRIDE)) {
      snprintf(msg, sizeof msg,
               "the visit has %d open high alert%s (%s): only a clinician aborts it, with a reason and their password",
               n, n == 1 ? "" : "s", which);
      vigil__http_respond_error(req, 409, "wrong_state", msg, "visit");
      write_request_free(w);
      return;
    }
    if (n > 0) signs = 1;
    /* M1: after the dose was given, the abort ends the monitoring of a dosed
     * patient (and the session still counts for the minimum interval). */
    if (n == 0 && vigil_visit_dose_given(a->e, id, which, sizeof which)) {
      if (!vigil__role_may(who->role, PERM_OVERRIDE)) {
        snprintf(msg, sizeof msg,
                 "%s: only a clinician aborts the visit after the dose, with a reason and their password", which);
        vigil__http_respond_error(req, 409, "wrong_state", msg, "visit");
        write_request_free(w);
        return;
      }
      signs = 1;
    }
  }
  /* P1: the dose given amended to "not given" is a clinician's, signed:
   * the session still counts as a dose (course.c dose_given_at). */
  if (cmd == CMD_AMEND && (json_is_false(w->input) || json_is_null(w->input))) {
    char why[400];
    if (vigil_visit_amend_undoes_dose(a->e, id, w->s1, why, sizeof why)) {
      if (!vigil__role_may(who->role, PERM_OVERRIDE)) {
        vigil__http_respond_error(req, 403, "forbidden", why, "item");
        write_request_free(w);
        return;
      }
      signs = 1;
    }
  }
  /* M9: a start that says new_patient for a patient spelled like one who has
   * a visit open or a dose within the minimum interval is a clinician's. */
  if ((cmd == CMD_START || cmd == CMD_COURSE_START) && w->new_patient && w->s2) {
    char why[700];
    if (vigil_patient_new_needs_clinician(a->e, w->s2, why, sizeof why)) {
      if (!vigil__role_may(who->role, PERM_OVERRIDE)) {
        vigil__http_respond_error(req, 403, "forbidden", why, "new_patient");
        write_request_free(w);
        return;
      }
      signs = 1;
    }
  }
  /* K3 (docs/safety.md): closing a course that is not complete, or within
   * the minimum interval of its last session, lets the next visit begin a
   * new course: a clinician's decision, signed with their password. */
  if (cmd == CMD_COURSE_CLOSE || (cmd == CMD_ALERT_CLOSE && w->s1 && !strcmp(w->s1, "stopped"))) {
    char why[400];
    uint64_t course = cmd == CMD_COURSE_CLOSE ? id : vigil_alert_course(a->e, id);
    if (course && vigil_course_close_needs_clinician(a->e, course, why, sizeof why)) {
      if (!vigil__role_may(who->role, PERM_OVERRIDE)) {
        vigil__http_respond_error(req, 403, "forbidden", why, "course");
        write_request_free(w);
        return;
      }
      signs = 1;
    }
  }
  /* AN11: an alert raised again, its cause holding, as often as the protocol
   * allows (realert_clinician) is a clinician's to acknowledge, with a reason. */
  if (cmd == CMD_ACK && vigil_alert_for_clinician(a->e, id) && !vigil_alert_carried(a->e, id) &&
      !vigil__role_may(who->role, PERM_SIGN)) {
    vigil__http_respond_error(req, 403, "forbidden",
                              "this alert has been acknowledged and raised again while its cause holds as often as "
                              "the protocol allows: only a clinician acknowledges it, with a reason (AN11)",
                              "alert");
    write_request_free(w);
    return;
  }
  /* A carried alert (a self-harm risk, a course without response) waits for
   * a clinician: only a clinician acknowledges it, with a reason
   * (docs/safety.md, H4), or closes a course's, whatever the reason (AL1:
   * "rescheduled" decides about the course too). Before K9b's check of the
   * new date: who may close it comes first. */
  if ((cmd == CMD_ACK || cmd == CMD_ALERT_CLOSE) && vigil_alert_carried(a->e, id) &&
      !vigil__role_may(who->role, PERM_SIGN)) {
    vigil__http_respond_error(req, 403, "forbidden",
                              cmd == CMD_ACK ? "this alert stays until a clinician assesses it: only a clinician "
                                               "acknowledges it, with a reason"
                                             : "this alert waits for a clinician's decision about the course: only "
                                               "a clinician closes it",
                              "alert");
    write_request_free(w);
    return;
  }
  /* K9b: a missed session is rescheduled within the course's longest
   * interval from its last session; beyond it, by a clinician who signs. */
  if (cmd == CMD_ALERT_CLOSE && w->s1 && !strcmp(w->s1, "rescheduled") && w->s3) {
    char why[400];
    int64_t due = 0, limit = vigil_course_reschedule_limit(a->e, id, why, sizeof why);
    if (limit >= 0 && vigil_time_parse(w->s3, &due) == 0 && due > limit) {
      if (!vigil__role_may(who->role, PERM_OVERRIDE)) {
        vigil__http_respond_error(req, 422, "invalid_field", why, "due");
        write_request_free(w);
        return;
      }
      signs = 1;
    }
  }

  if (!signs) {
    a->idem_current = w->idem;
    run_write(a, req, w);
    write_request_free(w);
    return;
  }
  /* A signature: the signer types their password again. */
  const char *password;
  if (vigil__api_member_string(req, w->body, "password", 0, &password) < 0) {
    write_request_free(w);
    return;
  }
  if (!password) {
    vigil__http_respond_error(req, 401, "password_required", "this step is a signature: give your password again",
                              "password");
    write_request_free(w);
    return;
  }
  vigil__api_check_password(a, req, who->name, who, 1, password, signed_write, w);
}

/* ---- routing ------------------------------------------------------------------ */

static void open_stream(api *a, http_request *req, const api_call *c) {
  /* A resume point of another site (a client that was following a site
   * whose owner died, sent to this node): to the site's owner. */
  const char *last_id = vigil__http_request_header(req, "Last-Event-ID");
  const char *colon = last_id ? strrchr(last_id, ':') : NULL;
  if (colon && a->site && colon - last_id < 80 &&
      (strlen(a->site) != (size_t)(colon - last_id) || memcmp(last_id, a->site, strlen(a->site)))) {
    char site[80];
    snprintf(site, sizeof site, "%.*s", (int)(colon - last_id), last_id);
    if (vigil__api_cluster_redirect_site(a, req, site)) return;
  }
  char token[128], address[64];
  vigil__api_client_address(a, req, address, sizeof address);
  vigil__streams_open(a->streams, req, vigil__api_token(req, token, sizeof token), c->who ? c->who->name : NULL,
                      address);
}

/* AU1: why the session or token that opened a stream no longer allows it
 * (ended, its user disabled, expired, or no longer at this node's site), or
 * NULL while it does. */
static const char *stream_credential_ended(void *ud, const char *session) {
  api *a = ud;
  return vigil__users_session_holds(a->users, session, a->site, vigil__api_wall_ms());
}

/* Methods of a route, and the order an Allow header names them in. */
enum { M_GET = 1, M_HEAD = 2, M_POST = 4, M_DELETE = 8, M_READ = M_GET | M_HEAD };
static const char *const METHOD_NAMES[] = {"GET", "HEAD", "POST", "DELETE"};

/* How a route answers a method it does not take: as each family of routes
 * always has ("this resource allows GET, HEAD"; "method not allowed here";
 * the cluster's "GET or HEAD"). */
enum { REFUSE_NAMED, REFUSE_HERE, REFUSE_CLUSTER };

#define OPEN (-1)          /* a route anyone may use: no sign-in */
#define ROUTE_SEGMENTS 6   /* the most segments a path may have ("/api/v1/a/b/c/d") */
#define ROUTE_TEXT_MAX 255 /* the longest {ref}: a longer one is no route (404) */
/* The most body a route open to all (a sign-in: a name and a password of 256
 * characters, each written as a JSON escape at worst) or a method a path does
 * not take is read for: past it 413, the connection closed (V4). */
#define OPEN_BODY_MAX 8192

/* One route: the methods it takes, its path (segments: a word, {id} a
 * visit's, course's or alert's number, {ref} a protocol version, {user} a
 * user's name, {patient} a patient as sent, {*} any), the weakest
 * permission it needs (checked, with the sign-in, before the handler runs
 * and before anything of the body is read), its handler and its command.
 * allow: methods its 405 names besides its own (as before the table). A
 * route without methods only answers 405 for a path no other route takes. */
typedef struct api_route {
  int methods;
  const char *path;
  int permission;
  api_handler handler;
  int cmd;
  int refuse, allow;
  int node_only; /* served only by a node of a cluster (else 404) */
} api_route;

static void no_route(api *a, http_request *req, const api_call *c) {
  (void)a;
  (void)c;
  vigil__http_respond_error(req, 404, "not_found", "no such resource", NULL);
}

static const api_route routes[] = {
    {M_READ, "/metrics", OPEN, get_metrics, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/healthz", OPEN, get_health, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/cluster", PERM_READ_EVENTS, vigil__api_get_cluster, 0, REFUSE_CLUSTER, 0, 1},
    {M_GET, "/api/v1/events/stream", PERM_READ_EVENTS, open_stream, 0, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/session", OPEN, vigil__api_post_session, 0, REFUSE_HERE, 0, 0},
    {M_READ, "/api/v1/session", PERM_READ_EVENTS, vigil__api_get_session, 0, REFUSE_HERE, 0, 0},
    {M_DELETE, "/api/v1/session", PERM_READ_EVENTS, vigil__api_delete_session, 0, REFUSE_HERE, 0, 0},
    {M_POST, "/api/v1/session/password", PERM_READ_EVENTS, vigil__api_post_own_password, 0, REFUSE_HERE, 0, 0},
    {M_READ, "/api/v1/users", PERM_USERS, vigil__api_get_users, 0, REFUSE_HERE, 0, 0},
    {M_POST, "/api/v1/users", PERM_USERS, vigil__api_post_users, 0, REFUSE_HERE, 0, 0},
    {M_POST, "/api/v1/users/{user}", PERM_USERS, vigil__api_post_user, 0, REFUSE_HERE, 0, 0},
    /* A name longer than any user's names no user: 404 before the sign-in. */
    {M_POST, "/api/v1/users/{*}", OPEN, no_route, 0, REFUSE_HERE, 0, 0},
    {M_POST, "/api/v1/tokens", PERM_USERS, vigil__api_post_tokens, 0, REFUSE_HERE, 0, 0},
    {M_READ, "/api/v1/protocols", PERM_READ_CLINICAL, vigil__api_get_protocols, 0, REFUSE_HERE, 0, 0},
    {M_POST, "/api/v1/protocols", PERM_AUTHOR, vigil__api_post_protocol, 0, REFUSE_HERE, 0, 0},
    {M_POST, "/api/v1/protocols/lint", PERM_AUTHOR, vigil__api_post_lint, 0, REFUSE_HERE, 0, 0},
    {M_READ, "/api/v1/protocols/{ref}", PERM_READ_CLINICAL, vigil__api_get_protocol, 0, REFUSE_HERE, M_POST, 0},
    {M_POST, "/api/v1/protocols/{ref}/approve", PERM_APPROVE, vigil__api_post_approve, 0, REFUSE_HERE, 0, 0},
    {M_READ, "/api/v1/protocols/{ref}/diff", PERM_READ_CLINICAL, vigil__api_get_diff, 0, REFUSE_HERE, 0, 0},
    {0, "/api/v1/protocols/{ref}/{*}", OPEN, NULL, 0, REFUSE_HERE, M_POST, 0},
    {M_READ, "/api/v1/clock", PERM_READ_EVENTS, get_clock, 0, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/clock", PERM_CLOCK, post_clock, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/healthz", OPEN, get_health, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/openapi.json", OPEN, get_openapi, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/events", PERM_READ_EVENTS, get_events, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/plugins", PERM_READ_EVENTS, get_plugins, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/alerts", PERM_READ_CLINICAL, get_alerts, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/visits", PERM_READ_CLINICAL, get_visits, 0, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits", PERM_RECORD, write_command, CMD_START, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/visits/{id}", PERM_READ_CLINICAL, get_visit, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/visits/{id}/events", PERM_READ_EVENTS, get_events, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/visits/{id}/alerts", PERM_READ_CLINICAL, get_alerts, 0, REFUSE_NAMED, 0, 0},
    /* The FHIR Bundle and the REMS form are exports: integrators may have
     * them (roles.c). */
    {M_READ, "/api/v1/visits/{id}/fhir", PERM_EXPORT, get_fhir, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/visits/{id}/rems", PERM_EXPORT, get_rems, 0, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/entries", PERM_RECORD, write_command, CMD_RECORD, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/amend", PERM_RECORD, write_command, CMD_AMEND, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/skip", PERM_RECORD, write_command, CMD_SKIP, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/advance", PERM_RECORD, write_command, CMD_ADVANCE, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/override", PERM_OVERRIDE, write_command, CMD_OVERRIDE, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/discharge", PERM_DISCHARGE, write_command, CMD_DISCHARGE, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/abort", PERM_DISCHARGE, write_command, CMD_ABORT, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/notes", PERM_RECORD, write_command, CMD_NOTE, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/patients", PERM_READ_CLINICAL, get_patients, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/patients/{patient}", PERM_READ_CLINICAL, get_patient, 0, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/patients/{patient}/allergies/confirm-removal", PERM_OVERRIDE, write_command, CMD_ALLERGY_REMOVAL,
     REFUSE_HERE, 0, 0},
    {M_POST, "/api/v1/courses", PERM_RECORD, write_command, CMD_COURSE_START, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/courses/{id}/close", PERM_DISCHARGE, write_command, CMD_COURSE_CLOSE, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/visits/{id}/rems/submitted", PERM_RECORD, write_command, CMD_REMS_SUBMITTED, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/courses/{id}/integration", PERM_RECORD, write_command, CMD_COURSE_INTEGRATION, REFUSE_NAMED, 0,
     0},
    {M_READ, "/api/v1/courses/{id}/fhir", PERM_EXPORT, get_course_fhir, 0, REFUSE_NAMED, 0, 0},
    {M_READ, "/api/v1/alerts/log", PERM_READ_CLINICAL, get_alert_log, 0, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/alerts/{id}/ack", PERM_RECORD, write_command, CMD_ACK, REFUSE_NAMED, 0, 0},
    {M_POST, "/api/v1/alerts/{id}/close", PERM_RECORD, write_command, CMD_ALERT_CLOSE, REFUSE_NAMED, 0, 0},
};

static void not_found(http_request *req) { vigil__http_respond_error(req, 404, "not_found", "no such resource", NULL); }

/* Whether route r shows or changes the site's visits, their alerts, its
 * patients or courses: what a list lacking a visit would misstate. */
static int about_visits(const api_route *r) {
  static const char *const prefixes[] = {"/api/v1/visits", "/api/v1/alerts", "/api/v1/patients", "/api/v1/courses"};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
    size_t n = strlen(prefixes[i]);
    if (!strncmp(r->path, prefixes[i], n) && (r->path[n] == '\0' || r->path[n] == '/')) return 1;
  }
  return 0;
}

/* 1 when every visit of the engine is in memory (those a failed commit took
 * out are read back now if the store answers); else 0, req answered 503
 * store_unavailable: D1 of the second try (docs/deploy.md), during a
 * PostgreSQL outage one failed write emptied GET /visits and /alerts (200,
 * "no patients, no alerts") and made the visit 404. */
static int every_visit_held(api *a, http_request *req) {
  if (vigil_engine_rebuild(a->e) == 0) return 1;
  vigil__http_respond_error(req, 503, "store_unavailable", vigil_engine_errmsg(a->e), NULL);
  return 0;
}

static void method_not_allowed(http_request *req, int refuse, int methods) {
  char allow[40] = "", extra[64], msg[96];
  for (size_t i = 0; i < sizeof METHOD_NAMES / sizeof *METHOD_NAMES; i++)
    if (methods & 1 << i)
      snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", *allow ? ", " : "", METHOD_NAMES[i]);
  snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
  if (refuse == REFUSE_CLUSTER) {
    static const char body[] = "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"GET or HEAD\"}}";
    vigil__http_respond(req, 405, "application/json", body, sizeof body - 1, extra);
    return;
  }
  if (refuse == REFUSE_HERE) {
    vigil__api_reply_free(req, 405, vigil__http_error_json("method_not_allowed", "method not allowed here", NULL, NULL),
                          extra);
    return;
  }
  snprintf(msg, sizeof msg, "this resource allows %s", allow);
  char *body = vigil__http_error_json("method_not_allowed", msg, NULL, NULL);
  if (!body) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  vigil__http_respond(req, 405, "application/json", body, strlen(body), extra);
  free(body);
}

/* The segments of a path ("/api/v1/visits/7": api, v1, visits, 7), at
 * most ROUTE_SEGMENTS; -1 for an empty segment (a trailing slash names
 * nothing) or more. */
static int segments(const char *path, const char *seg[ROUTE_SEGMENTS], size_t len[ROUTE_SEGMENTS]) {
  if (*path != '/') return -1;
  int n = 0;
  for (const char *p = path + 1;;) {
    size_t l = strcspn(p, "/");
    if (l == 0 || n == ROUTE_SEGMENTS) return -1;
    seg[n] = p;
    len[n++] = l;
    if (!p[l]) return n;
    p += l + 1;
  }
}

static int is(const char *s, size_t n, const char *word) { return strlen(word) == n && !memcmp(s, word, n); }

/* Whether the path's segments are those of r's path; fills c. */
static int matches(const api_route *r, const char *const *seg, const size_t *len, int n, api_call *c) {
  const char *p = r->path + 1;
  memset(c, 0, sizeof *c);
  for (int i = 0; i < n; i++, p++) {
    size_t l = strcspn(p, "/");
    if (l == 0) return 0; /* the route's path is shorter */
    if (p[0] != '{') {
      if (l != len[i] || memcmp(p, seg[i], l)) return 0;
    } else if (!strncmp(p, "{id}", l)) {
      if (!(c->id = parse_id(seg[i], len[i]))) return 0;
    } else if (strncmp(p, "{*}", l)) {
      size_t max = !strncmp(p, "{user}", l) ? USER_NAME_MAX : !strncmp(p, "{ref}", l) ? ROUTE_TEXT_MAX : SIZE_MAX;
      if (len[i] > max) return 0;
      c->seg = seg[i];
      c->seg_len = len[i];
      if (len[i] < sizeof c->text) memcpy(c->text, seg[i], len[i]);
    }
    p += l;
    if (!*p) return i == n - 1;
  }
  return 0;
}

/* Answers req by the first route for its path and method: 405 when routes
 * take the path but not the method, 404 on a cluster's route elsewhere, 401
 * or 403 without the route's permission, else the handler. 0 when no route
 * takes the path. */
static int dispatch(api *a, http_request *req, const char *const *seg, const size_t *len, int n) {
  const char *m = vigil__http_request_method(req);
  int method = !strcmp(m, "GET")      ? M_GET
               : !strcmp(m, "HEAD")   ? M_HEAD
               : !strcmp(m, "POST")   ? M_POST
               : !strcmp(m, "DELETE") ? M_DELETE
                                      : 0;
  const api_route *refusing = NULL;
  int allow = 0, fallback = 0;
  api_call c;
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
    const api_route *r = &routes[i];
    if (!matches(r, seg, len, n, &c)) continue;
    if (!r->methods) {
      if (!refusing) refusing = r, fallback = r->allow;
      continue;
    }
    if (!(r->methods & method)) {
      if (!refusing || !allow) refusing = r;
      allow |= r->methods | r->allow;
      continue;
    }
    if (r->node_only && !a->site) {
      vigil__http_respond_error(req, 404, "not_found", "this server is not a node of a cluster (docs/deploy.md)", NULL);
      return 1;
    }
    if (r->permission != OPEN && !(c.who = vigil__api_user(a, req, (permission)r->permission))) return 1;
    if (c.who && vigil__api_is_site_route(req) && !vigil__api_site_allowed(a, req, c.who)) return 1;
    if (about_visits(r) && !every_visit_held(a, req)) return 1;
    c.cmd = r->cmd;
    r->handler(a, req, &c);
    return 1;
  }
  if (!refusing) return 0;
  method_not_allowed(req, refusing->refuse, allow ? allow : fallback);
  return 1;
}

/* A request with a body, on its headers (http.h head_check), before any of
 * its body is read (docs/security.md V4): to no route, 404 now; to a route
 * open to all (a sign-in) or one that does not take its method (405 after
 * it), a body of OPEN_BODY_MAX at most; to a route that needs a sign-in,
 * without a valid session, 401 now; with one whose role lacks the route's
 * permission (a nurse's lint), 403 now. */
int vigil__api_head_check(void *ud, http_request *req, int *status, const char **code, const char **message) {
  api *a = ud;
  const char *seg[ROUTE_SEGMENTS];
  size_t len[ROUTE_SEGMENTS];
  const char *path = vigil__http_request_path(req);
  int n = segments(path, seg, len);
  /* The body counts against its client's share of the bodies held (Z3):
   * the address a trusted proxy forwarded, not the proxy's. */
  char address[64];
  vigil__api_client_address(a, req, address, sizeof address);
  vigil__http_request_hold_as(req, address, NULL);
  if (n < 3 || !is(seg[0], len[0], "api") || !is(seg[1], len[1], "v1")) {
    /* /metrics, /healthz and the workstation's files take GET and HEAD only. */
    vigil__http_request_limit_body(req, OPEN_BODY_MAX);
    return 0;
  }
  const char *m = vigil__http_request_method(req);
  int method = !strcmp(m, "POST") ? M_POST : !strcmp(m, "DELETE") ? M_DELETE : !strcmp(m, "GET") ? M_GET : 0;
  api_call c;
  const api_route *r = NULL;
  int path_taken = 0;
  for (size_t i = 0; i < sizeof routes / sizeof *routes && !r; i++) {
    if (!matches(&routes[i], seg, len, n, &c) || routes[i].handler == no_route) continue;
    path_taken = 1;
    if (routes[i].methods & method) r = &routes[i];
  }
  if (!path_taken || (r && r->node_only && !a->site)) {
    *status = 404;
    *code = "not_found";
    *message = r ? "this server is not a node of a cluster (docs/deploy.md)" : "no such resource";
    return 1;
  }
  if (!r || r->permission == OPEN) {
    vigil__http_request_limit_body(req, OPEN_BODY_MAX);
    return 0;
  }
  /* A valid session: read on. If its cookie came cross-site the same-site
   * rule refuses it after the body (403 and its event), bounded by
   * max_buffered_body_mb; a made-up cookie is no session, so it is 401 here
   * whatever its origin (the second security review held bodies with one). */
  int had_token;
  const user *who = vigil__api_session_user(a, req, &had_token);
  if (who) vigil__http_request_hold_as(req, address, who->name); /* and against the user's, all sessions together */
  if (who && vigil__role_may(who->role, (permission)r->permission)) return 0;
  /* A role without the route's permission: 403 now, its body unread (Y9);
   * a cross-site one reads on and is refused after as before, with its event. */
  if (who && vigil__api_cross_site(a, req)) return 0;
  if (who) {
    *status = 403;
    *code = "forbidden";
    *message = vigil__api_forbidden(who, (permission)r->permission, a->head_refusal, sizeof a->head_refusal);
    return 1;
  }
  a->stats.refused_unauthenticated++;
  *status = 401;
  *code = "unauthenticated";
  *message = had_token ? "the session has ended: sign in again" : "sign in first (POST /api/v1/session)";
  return 1;
}

static void route(api *a, http_request *req) {
  const char *m = vigil__http_request_method(req);
  const char *path = vigil__http_request_path(req);
  /* Reads wait while a batch is open: nothing not yet durable is shown. */
  if ((!strcmp(m, "GET") || !strcmp(m, "HEAD")) && a->batch) {
    if (a->n_reads == a->cap_reads) {
      size_t cap = a->cap_reads ? a->cap_reads * 2 : 16;
      http_request **r = realloc(a->reads, cap * sizeof *r);
      if (!r) {
        vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
        return;
      }
      a->reads = r;
      a->cap_reads = cap;
    }
    a->reads[a->n_reads++] = req;
    return;
  }
  const char *seg[ROUTE_SEGMENTS];
  size_t len[ROUTE_SEGMENTS];
  int n = segments(path, seg, len);
  int in_api = n >= 3 && is(seg[0], len[0], "api") && is(seg[1], len[1], "v1");
  /* /metrics and /healthz: before the workstation's files and the same-site check. */
  if (n > 0 && !in_api && dispatch(a, req, seg, len, n)) return;
  if (vigil__ui_owns(path)) {
    vigil__ui_serve(req);
    return;
  }
  if (!vigil__api_same_site(a, req)) return;
  if (!in_api) {
    not_found(req);
    return;
  }
  if (vigil__api_cluster_redirect(a, req, seg[2], len[2])) return;
  if (!dispatch(a, req, seg, len, n)) not_found(req);
}

void vigil__api_handle(void *ud, http_request *req) {
  api *a = ud;
  a->stats.requests++;
  route(a, req);
}

/* ---- life ------------------------------------------------------------------------ */

static void api_free_parts(api *a) {
  free(a->uploads_dir);
  free(a->approvals);
  free(a->uploaders);
  for (size_t i = 0; i < a->n_refs; i++)
    free(a->refs[i]);
  free(a->refs);
  for (size_t i = 0; i < a->n_untested; i++)
    free(a->untested[i]);
  free(a->untested);
  for (size_t i = 0; i < a->n_trusted_proxies; i++)
    free(a->trusted_proxies[i]);
  free(a->trusted_proxies);
  json_decref(a->ack_reasons);
  json_decref(a->usual_protocol);
  if (!a->shared_limits) {
    vigil__limiter_free(a->failed_by_name);
    vigil__limiter_free(a->failed_by_address);
    vigil__limiter_free(a->failed_step_up);
    vigil__limiter_free(a->failed_by_device);
  }
  vigil__api_idem_free(a);
  free(a);
}

static void part_done(api *a);

int vigil__api_new(const api_options *o, api **out) {
  api *a = calloc(1, sizeof *a);
  if (!a) return VIGIL_ENOMEM;
  a->up.open_batch = open_batch;
  a->up.part_done = part_done;
  a->e = o->engine;
  a->loop = o->loop;
  a->started = uv_hrtime();
  a->plugins_status = o->plugins_status;
  a->plugins_metrics = o->plugins_metrics;
  a->sites_health = o->sites_health;
  a->plugins_failed = o->plugins_failed;
  a->plugins_ud = o->plugins_ud;
  a->users = o->users;
  a->session_ttl_ms = o->session_ttl_ms > 0 ? o->session_ttl_ms : 12 * 3600 * 1000LL;
  a->idempotency_ttl_ms = o->idempotency_ttl_ms > 0 ? o->idempotency_ttl_ms : 24 * 3600 * 1000LL;
  a->alarm_pause_ms = o->alarm_pause_ms > 0 ? o->alarm_pause_ms : 120 * 1000LL;
  a->simulated_clock = o->simulated_clock;
  a->upload_check_ms = o->upload_check_ms ? o->upload_check_ms : 30000;
  a->max_exports = o->max_concurrent_exports ? o->max_concurrent_exports : API_MAX_CONCURRENT_EXPORTS;
  a->upload_check_memory = o->upload_check_memory ? o->upload_check_memory : (size_t)512 << 20;
  a->store = o->store;
  a->node = o->node;
  a->site = o->site;
  a->refusal_window_ms = o->refusal_window_ms > 0 ? o->refusal_window_ms : 60000;
  a->secure_cookies = o->secure_cookies;
  char err[256];
  if (o->share) {
    a->shared_limits = 1;
    a->failed_by_name = o->share->failed_by_name;
    a->failed_by_address = o->share->failed_by_address;
    a->failed_step_up = o->share->failed_step_up;
    a->failed_by_device = o->share->failed_by_device;
  }
  int ok = (!o->uploads_dir || (a->uploads_dir = strdup(o->uploads_dir))) &&
           vigil__api_load_approvals(a, err, sizeof err) == 0 &&
           (o->share || ((a->failed_by_name = vigil__limiter_new(FAILURES_PER_NAME, FAILURE_WINDOW_MS)) &&
                         (a->failed_by_address = vigil__limiter_new(FAILURES_PER_ADDRESS, FAILURE_WINDOW_MS)) &&
                         (a->failed_step_up = vigil__limiter_new(FAILURES_PER_NAME, FAILURE_WINDOW_MS)) &&
                         (a->failed_by_device = vigil__limiter_new(FAILURES_PER_DEVICE, FAILURE_WINDOW_MS)))) &&
           (!o->n_refs || (a->refs = calloc(o->n_refs, sizeof *a->refs)));
  for (size_t i = 0; ok && i < o->n_refs; i++)
    ok = (a->refs[a->n_refs++] = strdup(o->refs[i])) != NULL;
  if (ok && o->n_untested) ok = (a->untested = calloc(o->n_untested, sizeof *a->untested)) != NULL;
  for (size_t i = 0; ok && i < o->n_untested; i++)
    ok = (a->untested[a->n_untested++] = strdup(o->untested[i])) != NULL;
  if (ok && o->n_trusted_proxies) ok = (a->trusted_proxies = calloc(o->n_trusted_proxies, sizeof(char *))) != NULL;
  for (size_t i = 0; ok && i < o->n_trusted_proxies; i++)
    ok = (a->trusted_proxies[a->n_trusted_proxies++] = strdup(o->trusted_proxies[i])) != NULL;
  ok = ok && (a->ack_reasons = json_array()) != NULL;
  for (size_t i = 0; ok && i < o->n_ack_reasons; i++)
    ok = json_array_append_new(a->ack_reasons, json_string(o->ack_reasons[i])) == 0;
  ok = ok && (a->usual_protocol = o->usual_protocol ? json_string(o->usual_protocol) : json_null()) != NULL;
  streams_options so = {.heartbeat_ms = o->stream_heartbeat_ms,
                        .max_queued = o->stream_max_queued,
                        .per_session = o->streams_per_session,
                        .per_user = o->streams_per_user,
                        .per_address = o->streams_per_address,
                        .site = o->node ? o->site : NULL,
                        .credential_ended = stream_credential_ended,
                        .credential_ud = a};
  if (!ok || vigil__streams_new(a->e, a->loop, &so, &a->streams) < 0) {
    api_free_parts(a);
    return VIGIL_ENOMEM;
  }
  uv_check_init(a->loop, &a->check);
  a->check.data = a;
  uv_idle_init(a->loop, &a->idle);
  a->idle.data = a;
  vigil__api_lane_init(a);
  uv_timer_init(a->loop, &a->refusal_timer);
  a->refusal_timer.data = a;
  *out = a;
  return 0;
}

void vigil__api_stats_get(const api *a, api_stats *out) {
  *out = a->stats;
  streams_stats ss = {0};
  if (a->streams) vigil__streams_stats_get(a->streams, &ss);
  out->subscribers = ss.subscribers;
  out->streams_opened = ss.opened;
  out->streams_dropped = ss.dropped;
}

static void api_free(api *a) {
  void (*done)(void *) = a->closed;
  void *ud = a->closed_ud;
  api_free_parts(a);
  if (done) done(ud);
}

static void part_done(api *a) {
  if (--a->closing == 0) api_free(a);
}

static void on_part_closed(void *ud) { part_done(ud); }

static void on_check_closed(uv_handle_t *h) { part_done(h->data); }

void vigil__api_close(api *a, void (*done)(void *ud), void *ud) {
  vigil__api_refusals_flush(a, 1); /* what the windows still hold, recorded before the last commit */
  vigil__api_flush(a);
  a->closed = done;
  a->closed_ud = ud;
  a->shutting = 1;
  a->closing = 5 + (int)a->checking; /* the handles, and each password check, upload check or child still running */
  vigil__api_children_stop(a);       /* upload checks, a diff: each answered 503 once its child is gone */
  streams *st = a->streams;
  a->streams = NULL;
  vigil__streams_close(st, on_part_closed, a);
  uv_close((uv_handle_t *)&a->check, on_check_closed);
  uv_close((uv_handle_t *)&a->idle, on_check_closed);
  vigil__api_exports_close(a); /* those waiting for a slot: 503 */
  vigil__api_lane_close(a, on_check_closed);
  vigil__api_diffs_close(a);
  uv_close((uv_handle_t *)&a->refusal_timer, on_check_closed);
}
