/* alarm_serve.h: what the alarm hazards' tests (H1, H2, H6 in docs/safety.md)
 * share: a real `vigil serve` on a simulated clock (moved only by an admin's
 * POST /api/v1/clock), a nurse, a clinician who can override a gate and an
 * admin, and the calls the tests make over HTTP. Header only: each hazard
 * program includes it beside ../serve_process.c and ../http_client.c. */
#ifndef VIGIL_HAZARDS_ALARM_SERVE_H
#define VIGIL_HAZARDS_ALARM_SERVE_H

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "serve_process.h"

#define ALARM_CLINICIAN "dr.b"
#define ALARM_ADMIN "admin.c"

typedef struct alarm_serve {
  serve_process s;
  char clinician_token[64], admin_token[64];
} alarm_serve;

static inline int alarm_user(alarm_serve *a, const char *name, const char *role) {
  char cmd[9000];
  snprintf(cmd, sizeof cmd,
           "echo '" SERVE_PASSWORD "' | '%s' user add %s --role %s --password-stdin --db '%s/vigil.db' >/dev/null",
           a->s.vigil, name, role, a->s.root);
  return system(cmd) == 0 ? 0 : -1;
}

/* serve_start()'s flags with the simulated clock: deadlines fire only when
 * the test moves time (the protocols are copied without their specs). */
static const char *const alarm_serve_args[] = {"--allow-untested", "--clock=simulated", "--allow-simulated-clock",
                                               NULL};

/* A server with these protocols (folders, copied in as they are: the
 * bundled ones under protocols/ with "@name", a folder by its absolute path
 * ("/..."), or written from Lua text otherwise), on the simulated clock. 0, or -1 with a message printed. */
static inline int alarm_start_with(alarm_serve *a, const char *const *protocols, size_t n, const char *extra_lua);
static inline int alarm_start(alarm_serve *a, const char *const *protocols, size_t n) {
  return alarm_start_with(a, protocols, n, "");
}

/* The same with more settings (Lua) in vigil.conf: a plugin's. */
static inline int alarm_start_with(alarm_serve *a, const char *const *protocols, size_t n, const char *extra_lua) {
  memset(a, 0, sizeof *a);
  if (serve_setup(&a->s, "") < 0) return -1;
  if (alarm_user(a, ALARM_CLINICIAN, "clinician") < 0 || alarm_user(a, ALARM_ADMIN, "admin") < 0) return -1;
  char list[4096] = "";
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    char dir[300], cmd[5000];
    snprintf(dir, sizeof dir, "%s/p%zu", a->s.root, i);
    mkdir(dir, 0700);
    if (protocols[i][0] == '@') {
      /* a copy of a bundled protocol, as a clinic would take it */
      snprintf(cmd, sizeof cmd, "cp protocols/%s/*.lua '%s'/", protocols[i] + 1, dir);
      if (system(cmd) != 0) return -1;
    } else if (protocols[i][0] == '/') {
      snprintf(cmd, sizeof cmd, "cp '%s'/*.lua '%s'/", protocols[i], dir);
      if (system(cmd) != 0) return -1;
    } else {
      snprintf(cmd, sizeof cmd, "%s/protocol.lua", dir);
      FILE *f = fopen(cmd, "w");
      if (!f) return -1;
      fputs(protocols[i], f);
      fclose(f);
    }
    len += (size_t)snprintf(list + len, sizeof list - len, "%s\"%s\"", i ? ", " : "", dir);
  }
  FILE *f = fopen(a->s.conf, "w");
  if (!f) return -1;
  fprintf(f, "listen = \"127.0.0.1:0\"\ndatabase = \"%s/vigil.db\"\nprotocols = { %s }\nplugin_dir = \"%s\"\n%s\n",
          a->s.root, list, a->s.plugins, extra_lua);
  fclose(f);
  return serve_start_args(&a->s, alarm_serve_args);
}

/* cmocka setup and teardown of a test on these protocols (as alarm_start
 * takes them), and on the bundled ketamine_iv: one server per test, so that
 * no test sees another's visits. */
static inline int alarm_setup_protocols(void **state, const char *const *protocols, size_t n) {
  alarm_serve *a = calloc(1, sizeof *a);
  if (!a || alarm_start(a, protocols, n) < 0) {
    if (a) serve_cleanup(&a->s);
    free(a);
    return -1;
  }
  *state = a;
  return 0;
}

static inline int alarm_setup_ketamine(void **state) {
  const char *protocols[] = {"@ketamine_iv"};
  return alarm_setup_protocols(state, protocols, 1);
}

/* The same on the bundled esketamine_rems. */
static inline int alarm_setup_esketamine(void **state) {
  const char *protocols[] = {"@esketamine_rems"};
  return alarm_setup_protocols(state, protocols, 1);
}

/* esketamine_rems's pre-dose answers, all clear but PHQ-9 item 9 (q9), with calm vitals. */
#define ALARM_ESKETAMINE_PREDOSE(q9)                                                                                   \
  "{\"consent\": true, \"ci_vascular\": \"no\", \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"neither\","          \
  " \"substance_use\": \"no\", \"self_harm_thoughts\": \"" #q9 "\", \"comed_benzodiazepine\": \"no\","                 \
  " \"comed_hypnotic\": \"no\", \"comed_psychostimulant\": \"no\", \"comed_maoi\": \"no\", \"ride_confirmed\": true,"  \
  " \"prescriber_on_site\": true, \"pulse_oximeter\": true,"                                                           \
  " \"predose_vitals\": {\"sbp\": 128, \"dbp\": 78, \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"

/* The same, item 9 0, with the pre-dose BP sbp/dbp (AG7, AN2, AN3: above the 140/90 guide). */
#define ALARM_ESKETAMINE_PREDOSE_BP(sbp, dbp)                                                                          \
  "{\"consent\": true, \"ci_vascular\": \"no\", \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"neither\","          \
  " \"substance_use\": \"no\", \"self_harm_thoughts\": \"0\", \"comed_benzodiazepine\": \"no\","                       \
  " \"comed_hypnotic\": \"no\", \"comed_psychostimulant\": \"no\", \"comed_maoi\": \"no\", \"ride_confirmed\": true,"  \
  " \"prescriber_on_site\": true, \"pulse_oximeter\": true,"                                                           \
  " \"predose_vitals\": {\"sbp\": " #sbp ", \"dbp\": " #dbp ", \"hr\": 70, \"spo2\": 98, \"rr\": 14}}"

/* The same on both bundled course protocols (a patient on both: M1, P1, P2). */
static inline int alarm_setup_both(void **state) {
  const char *protocols[] = {"@esketamine_rems", "@ketamine_iv"};
  return alarm_setup_protocols(state, protocols, 2);
}

static inline int alarm_teardown(void **state) {
  alarm_serve *a = *state;
  serve_cleanup(&a->s);
  free(a);
  return 0;
}

static inline const char *alarm_token(alarm_serve *a, const char *user, char *token) {
  if (token[0]) return token;
  hc_conn c;
  hc_response r;
  char body[200];
  snprintf(body, sizeof body, "{\"user\": \"%s\", \"password\": \"" SERVE_PASSWORD "\"}", user);
  if (hc_connect(&c, a->s.port) < 0) return NULL;
  int rc = hc_request(&c, "POST", "/api/v1/session", NULL, body, &r);
  hc_close(&c);
  if (rc < 0) return NULL;
  const char *t = r.status == 200 ? strstr(r.body, "\"token\":\"") : NULL;
  if (t) snprintf(token, 64, "%.43s", t + 9);
  hc_response_free(&r);
  return token[0] ? token : NULL;
}

/* One request as `who` (NULL: the nurse): the status, the body parsed into *out when given. */
static inline int alarm_call(alarm_serve *a, const char *who, const char *method, const char *path, const char *body,
                             json_t **out) {
  if (out) *out = NULL;
  char *text = NULL;
  int status;
  if (!who) {
    status = serve_request(&a->s, method, path, body, &text);
  } else {
    const char *token = alarm_token(a, who, !strcmp(who, ALARM_ADMIN) ? a->admin_token : a->clinician_token);
    hc_conn c;
    hc_response r;
    if (!token || hc_connect(&c, a->s.port) < 0) return -1;
    status = hc_request(&c, method, path, token, body, &r) == 0 ? r.status : -1;
    if (status >= 0) {
      text = strdup(r.body);
      hc_response_free(&r);
    }
    hc_close(&c);
  }
  if (out && text) *out = json_loads(text, 0, NULL);
  if (status >= 400) fprintf(stderr, "%s %s: %d %s\n", method, path, status, text ? text : "");
  free(text);
  return status;
}

/* POST /visits with body as who (NULL: the nurse): the new visit's id, or 0
 * when it is refused. */
static inline uint64_t alarm_visit_as(alarm_serve *a, const char *who, const char *body) {
  json_t *r;
  if (alarm_call(a, who, "POST", "/api/v1/visits", body, &r) != 201) {
    json_decref(r);
    return 0;
  }
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  return id;
}

static inline uint64_t alarm_visit(alarm_serve *a, const char *protocol, const char *params_json) {
  /* A patient of its own: two open visits of one patient on a protocol with
   * a course are refused (docs/safety.md G9). */
  static int n;
  char body[512];
  snprintf(body, sizeof body, "{\"protocol\": \"%s\", \"patient\": \"MRN-H%d\", \"params\": %s}", protocol, ++n,
           params_json ? params_json : "{}");
  return alarm_visit_as(a, NULL, body);
}

/* The visit's JSON (GET /visits/{id}, as the clinician), malloc'd, or NULL. */
static inline char *alarm_visit_text(alarm_serve *a, uint64_t id) {
  char path[64];
  json_t *r = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  if (alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &r) != 200) return NULL;
  char *text = json_dumps(r, JSON_COMPACT);
  json_decref(r);
  return text;
}

/* POST /visits/{id}/{what} as who (NULL: the nurse): the status. */
static inline int alarm_cmd(alarm_serve *a, const char *who, uint64_t visit, const char *what, const char *body) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/%s", (unsigned long long)visit, what);
  return alarm_call(a, who, "POST", path, body, NULL);
}

/* POST /visits/{id}/{what} as who (NULL: the nurse): the status, and the error's message in msg. */
static inline int alarm_cmd_msg(alarm_serve *a, const char *who, uint64_t visit, const char *what, const char *body,
                                char *msg, size_t len) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/%s", (unsigned long long)visit, what);
  json_t *r = NULL;
  int status = alarm_call(a, who, "POST", path, body, &r);
  const char *m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
  snprintf(msg, len, "%s", m ? m : "");
  json_decref(r); /* m is r's: read msg from here on */
  /* What a nurse reads: a reason that ends its own sentence is joined with
   * one full stop, not two ("... a clinician's review.. Nothing was recorded").
   * Not a range in an item's title ("MOAA/S, 5 alert .. 0 no response"). */
  for (const char *p = strstr(msg, ".. "); p; p = strstr(p + 1, ".. "))
    if (p > msg && p[-1] != ' ') fail_msg("a refusal reads with a doubled full stop: %s", msg);
  return status;
}

static inline int alarm_record(alarm_serve *a, uint64_t visit, const char *entry) {
  return alarm_cmd(a, NULL, visit, "entries", entry);
}

/* The visit's JSON (GET /visits/{id}, as the clinician; the caller
 * decrefs it), or the test fails. */
static inline json_t *alarm_visit_json(alarm_serve *a, uint64_t visit) {
  char path[64];
  json_t *v = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)visit);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &v), 200);
  return v;
}

/* The item of phase in a visit's JSON (a borrowed reference into visit), or NULL. */
static inline json_t *alarm_visit_item(json_t *visit, const char *phase, const char *item) {
  json_t *ph, *it;
  size_t i, j;
  json_array_foreach(json_object_get(visit, "phases"), i, ph) {
    if (strcmp(json_string_value(json_object_get(ph, "id")), phase)) continue;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (!strcmp(json_string_value(json_object_get(it, "id")), item)) return it;
    }
  }
  return NULL;
}

/* The visit's history (GET /visits/{id}/events, as the clinician) as
 * compact JSON text, malloc'd, or the test fails. */
static inline char *alarm_history_text(alarm_serve *a, uint64_t visit) {
  char path[96];
  json_t *h = NULL;
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events", (unsigned long long)visit);
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "GET", path, NULL, &h), 200);
  char *text = json_dumps(h, JSON_COMPACT);
  json_decref(h);
  assert_non_null(text);
  return text;
}

/* The override's "items": each required item it passes unrecorded, as the
 * visit lists them now (gate.unrecorded, docs/safety.md V1), a JSON array
 * in out ("[]" when none). */
static inline const char *alarm_unrecorded(alarm_serve *a, uint64_t visit, char *out, size_t len) {
  json_t *v = alarm_visit_json(a, visit);
  json_t *list = json_object_get(json_object_get(v, "gate"), "unrecorded"), *it;
  size_t i, at = 1;
  snprintf(out, len, "[");
  json_array_foreach(list, i, it) {
    const char *q = json_string_value(json_object_get(it, "item"));
    if (q && at + strlen(q) + 4 < len) at += (size_t)snprintf(out + at, len - at, "%s\"%s\"", i ? "," : "", q);
  }
  snprintf(out + at, len - at, "]");
  json_decref(v);
  return out;
}

/* The clinician leaves the phase though its gate does not hold (a
 * signature), naming each item it passes unrecorded, as reviewed (V1). */
static inline int alarm_override(alarm_serve *a, uint64_t visit) {
  char items[2048], body[2300];
  snprintf(body, sizeof body, "{\"reason\": \"clinician review\", \"password\": \"" SERVE_PASSWORD "\", \"items\": %s}",
           alarm_unrecorded(a, visit, items, sizeof items));
  return alarm_cmd(a, ALARM_CLINICIAN, visit, "override", body);
}

static inline int alarm_advance_clock(alarm_serve *a, const char *by) {
  char body[64];
  snprintf(body, sizeof body, "{\"advance\": \"%s\"}", by);
  return alarm_call(a, ALARM_ADMIN, "POST", "/api/v1/clock", body, NULL);
}

/* POST /alerts/{id}/ack with body as who (NULL: the nurse): the status. */
static inline int alarm_ack_as(alarm_serve *a, const char *who, uint64_t alert, const char *body) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alert);
  return alarm_call(a, who, "POST", path, body, NULL);
}

static inline int alarm_ack(alarm_serve *a, uint64_t alert) {
  return alarm_ack_as(a, NULL, alert, "{\"reason\": \"seen\"}");
}

/* The visit's alerts (GET /visits/{id}), a new reference. */
static inline json_t *alarm_alerts(alarm_serve *a, uint64_t visit) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)visit);
  json_t *v;
  if (alarm_call(a, NULL, "GET", path, NULL, &v) != 200 || !v) return json_array();
  json_t *alerts = json_incref(json_object_get(v, "alerts"));
  json_decref(v);
  return alerts ? alerts : json_array();
}

/* How many of the visit's alerts are in `state` ("active", "acknowledged", ...; NULL: any). */
static inline size_t alarm_count(alarm_serve *a, uint64_t visit, const char *state) {
  json_t *alerts = alarm_alerts(a, visit), *x;
  size_t i, n = 0;
  json_array_foreach(alerts, i, x) {
    if (!state || !strcmp(json_string_value(json_object_get(x, "state")), state)) n++;
  }
  json_decref(alerts);
  return n;
}

/* The newest alert of the visit from rule (any state), a new reference, or NULL. */
static inline json_t *alarm_latest(alarm_serve *a, uint64_t visit, const char *rule) {
  json_t *alerts = alarm_alerts(a, visit), *x, *found = NULL;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (!strcmp(json_string_value(json_object_get(x, "rule")), rule)) found = x;
  }
  if (found) json_incref(found);
  json_decref(alerts);
  return found;
}

static inline const char *alarm_str(const json_t *alert, const char *key) {
  const char *s = json_string_value(json_object_get(alert, key));
  return s ? s : "";
}

static inline uint64_t alarm_id(const json_t *alert) {
  return (uint64_t)json_integer_value(json_object_get(alert, "id"));
}

/* Fails unless the newest alert of the visit from rule is in state ("active", "acknowledged", "closed", ...). */
static inline void alarm_expect_state(alarm_serve *a, uint64_t visit, const char *rule, const char *state) {
  json_t *x = alarm_latest(a, visit, rule);
  if (!x) fail_msg("no %s alert", rule);
  if (strcmp(alarm_str(x, "state"), state)) fail_msg("%s is %s, not %s", rule, alarm_str(x, "state"), state);
  json_decref(x);
}

/* Acknowledges every active alert of the visit, as the clinician. */
static inline void alarm_ack_all(alarm_serve *a, uint64_t visit) {
  json_t *alerts = alarm_alerts(a, visit), *x;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (strcmp(alarm_str(x, "state"), "active")) continue;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alarm_id(x));
    assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", path, "{\"reason\": \"seen and assessed\"}", NULL), 200);
  }
  json_decref(alerts);
}

/* The visit is in this phase, or the test fails saying where it is. */
static inline void alarm_expect_phase(alarm_serve *a, uint64_t visit, const char *phase) {
  json_t *v = alarm_visit_json(a, visit);
  const char *now = json_string_value(json_object_get(v, "phase"));
  if (!now || strcmp(now, phase)) fail_msg("in %s, not %s", now ? now : "?", phase);
  json_decref(v);
}

/* ketamine_iv's screening answers, all clear, with a calm baseline and 35 mg drawn up (70 kg at 0.5 mg/kg). */
/* ketamine_iv's screening answers, all clear, with the baseline sbp/dbp. */
#define ALARM_KETAMINE_SCREENING_BP(sbp, dbp)                                                                          \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": " #sbp ", \"dbp\": " #dbp ", \"hr\": 70, \"spo2\": 98,"          \
  " \"rr\": 14}, \"dose\": 35, \"phq9\": {\"q1\": 0, \"q2\": 0, \"q3\": 0, \"q4\": 0, \"q5\": 0, \"q6\": 0,"           \
  " \"q7\": 0, \"q8\": 0, \"q9\": 0}}"
#define ALARM_KETAMINE_SCREENING ALARM_KETAMINE_SCREENING_BP(128, 80)

/* One reading of the vitals item `item` at sbp/dbp (HR 80, SpO2 98, RR 14), `after` (a
 * duration) from now, or now (NULL). */
static inline void alarm_bp(alarm_serve *a, uint64_t visit, const char *item, const char *after, int sbp, int dbp) {
  char body[200];
  if (after) assert_int_equal(alarm_advance_clock(a, after), 200);
  snprintf(body, sizeof body, "{\"%s\": {\"sbp\": %d, \"dbp\": %d, \"hr\": 80, \"spo2\": 98, \"rr\": 14}}", item, sbp,
           dbp);
  assert_int_equal(alarm_record(a, visit, body), 200);
}

/* A ketamine_iv visit (70 kg) with these screening entries, in screening. */
static inline uint64_t alarm_ketamine_screened(alarm_serve *a, const char *screening) {
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, screening), 200);
  return id;
}

/* A ketamine_iv visit (70 kg) with these screening entries, its dose
 * double-checked by the clinician, advanced into the infusion (not started). */
static inline uint64_t alarm_ketamine_in_infusion(alarm_serve *a, const char *screening) {
  uint64_t id = alarm_ketamine_screened(a, screening);
  assert_int_equal(
      alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"dose_check\": true, \"password\": \"" SERVE_PASSWORD "\"}"),
      200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  return id;
}

/* The same, and the infusion started. */
static inline uint64_t alarm_ketamine_infusing(alarm_serve *a, const char *screening) {
  uint64_t id = alarm_ketamine_in_infusion(a, screening);
  assert_int_equal(alarm_record(a, id, "{\"infusion_started\": true}"), 200);
  return id;
}

/* The same, n calm checkpoints 10 minutes apart, then the infusion stopped
 * with 35 mg given, the visit left in the infusion (AN1, AN11). */
static inline uint64_t alarm_ketamine_stopped(alarm_serve *a, int n) {
  uint64_t id = alarm_ketamine_infusing(a, ALARM_KETAMINE_SCREENING);
  for (int k = 1; k <= n; k++) {
    assert_int_equal(alarm_advance_clock(a, "10m"), 200);
    assert_int_equal(
        alarm_record(a, id,
                     "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\","
                     " \"dissociation\": \"none\"}"),
        200);
  }
  assert_int_equal(alarm_record(a, id, "{\"infusion_stopped\": true, \"volume_infused\": 100, \"dose_given\": 35}"),
                   200);
  return id;
}

/* A ketamine_iv visit (70 kg) overridden by the clinician through screening
 * and the infusion into the observation, whose clock starts now. */
static inline uint64_t alarm_ketamine_in_observation(alarm_serve *a) {
  uint64_t id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(id > 0);
  assert_int_equal(alarm_override(a, id), 200); /* to the infusion */
  assert_int_equal(alarm_override(a, id), 200); /* to the observation */
  return id;
}

/* n checkpoints of the observation (ketamine_iv) or the monitoring
 * (esketamine_rems) from now, the clock moved on by first, then 15 minutes:
 * at each the nurse skips item with a reason and records MOAA/S 5 and no
 * dissociation (U2, AG4: the readings not taken, the patient asleep). */
static inline void alarm_checkpoints_skipped(alarm_serve *a, uint64_t visit, const char *item, const char *first,
                                             int n) {
  char body[160];
  snprintf(body, sizeof body, "{\"item\": \"%s\", \"reason\": \"patient asleep, not disturbed\"}", item);
  for (int k = 0; k < n; k++) {
    assert_int_equal(alarm_advance_clock(a, k ? "15m" : first), 200);
    assert_int_equal(alarm_cmd(a, NULL, visit, "skip", body), 200);
    assert_int_equal(alarm_record(a, visit, "{\"moaas\": \"5\", \"dissociation\": \"none\"}"), 200);
  }
}

/* An esketamine_rems visit with these pre-dose entries, judged acceptable by
 * the clinician, advanced into Dosing, and this dosing entry recorded now
 * (not advanced: AN1, AN11). */
static inline uint64_t alarm_esketamine_dosed(alarm_serve *a, const char *predose, const char *dosing) {
  uint64_t id = alarm_visit(a, "esketamine_rems", "{}");
  assert_true(id > 0);
  assert_int_equal(alarm_record(a, id, predose), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"predose_acceptable\": \"yes\"}"), 200);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  assert_int_equal(alarm_record(a, id, dosing), 200);
  return id;
}

/* The same, dosed (56 mg) and advanced into the monitoring. */
static inline uint64_t alarm_esketamine_monitoring(alarm_serve *a, const char *predose) {
  uint64_t id = alarm_esketamine_dosed(
      a, predose, "{\"dose\": \"56 mg\", \"lot_number\": \"EKA2211\", \"devices_administered\": true}");
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  return id;
}

#endif
