/* test_course_http.c: a patient's course over the HTTP API of a real
 * `vigil serve` (tests/protocols/course's protocol): the sessions and the
 * PHQ-9 trend at GET /api/v1/patients/{patient}, a patient's visits listed
 * with every status, a second open course refused (409), a course closed with
 * a reason (and a nurse's close without one refused), its FHIR Bundle, an unknown patient 404
 * and a bad due filter 400; a missed session's course alert (listed, escalated,
 * acknowledged, closed by a visit, rescheduled, stopped), a non-response after
 * the induction series, and a missed session's deadline across restarts; an
 * open session's visit the same after a restart (its readings and alerts
 * folded once, not again on top of what the courses read).
 *
 * Every server runs on the simulated clock (--clock=simulated), moved by an
 * admin's POST /api/v1/clock, whose answer comes once every deadline on the
 * way is durable: what is due when does not depend on how loaded the machine
 * is (on the real clock, a 2 s interval and a 1 s grace failed under load). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "http_client.h"
#include "serve_process.h"

#define CLINICIAN "dr.c"
/* The admin who moves the test clock (an admin enters no clinical data). */
#define CLOCK_ADMIN "clock.admin"

static const char PROTOCOL[] =
    "-- A small visit protocol with a course, for test_course.c: three induction\n"
    "-- sessions two days apart (at least one second apart), then maintenance every\n"
    "-- 14 days; PHQ-9 and the dose measured at each session.\n"
    "local v = require \"vigil\"\n"
    "\n"
    "local fmt = string.format\n"
    "\n"
    "return v.protocol \"course_test\" {\n"
    "  version = \"1.0.0\",\n"
    "  title = \"Course test\",\n"
    "  params = {\n"
    "    v.param \"dose\" { title = \"Dose\", default = 0.5, unit = \"mg/kg\", range = { 0.1, 1.0 } },\n"
    "  },\n"
    "  course = v.course {\n"
    "    sessions = 3, within = \"10d\", min_interval = \"1s\", interval = \"2d\", grace = \"1d\",\n"
    "    maintenance = { interval = \"14d\" },\n"
    "    measures = { phq9 = { item = \"session.phq9\" }, dose = { param = \"dose\" } },\n"
    "    response = { measure = \"phq9\", fall_pct = 50 },\n"
    "    remission = { measure = \"phq9\", below = 5 },\n"
    "  },\n"
    "  phases = {\n"
    "    v.phase \"session\" {\n"
    "      items = {\n"
    "        -- Sooner than the course's minimum interval since the last completed\n"
    "        -- session, the engine holds this first phase for a clinician itself.\n"
    "        v.check \"consent\" { title = \"Consent\" },\n"
    "        v.number \"phq9\" {\n"
    "          title = \"PHQ-9 total\", unit = \"{score}\", range = { 0, 27 },\n"
    "          rule = function(x, visit)\n"
    "            local c = visit.course()\n"
    "            local before, first = c and c.previous(\"phq9\"), c and c.first(\"phq9\")\n"
    "            if before then\n"
    "              return v.note(fmt(\"PHQ-9 %d at session %d of %d (previous %d, first %d)\", x, c.session, "
    "c.sessions,\n"
    "                                before, first))\n"
    "            end\n"
    "          end,\n"
    "        },\n"
    "      },\n"
    "    },\n"
    "  },\n"
    "}\n"
    "\n";

/* Discharges a visit (a signature: the nurse's password): the status. On
 * the simulated clock a course's minimum interval (G9) holds its gate until
 * a test moves the clock past it: waiting would change nothing. */
static int discharge(serve_process *s, uint64_t id) {
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/discharge", (unsigned long long)id);
  return serve_request(s, "POST", path, "{\"password\": \"" SERVE_PASSWORD "\"}", NULL);
}

/* Adds a user with role (before the server starts). */
static void add_user(serve_process *s, const char *user, const char *role) {
  char cmd[8800];
  snprintf(cmd, sizeof cmd,
           "echo '" SERVE_PASSWORD "' | '%s' user add %s --role %s --password-stdin --db '%s/vigil.db' >/dev/null",
           s->vigil, user, role, s->root);
  if (system(cmd) != 0) fail_msg("%s failed", cmd);
}

/* Adds the clinician the tests sign as and the clock's admin. */
static void add_clinician(serve_process *s) {
  add_user(s, CLINICIAN, "clinician");
  add_user(s, CLOCK_ADMIN, "admin");
}

/* Starts the server (again) on the simulated clock; a restart resumes it
 * where the log is, or at wall time when that is later (G11, L6). */
static void start_simulated(serve_process *s) {
  static const char *const args[] = {"--allow-untested", "--clock=simulated", "--allow-simulated-clock", NULL};
  if (serve_start_args(s, args) < 0) fail();
}

/* One request as user (signed in now): the status, the body in *out. */
static int as_user(serve_process *s, const char *user, const char *method, const char *path, const char *body,
                   char **out) {
  hc_conn c;
  hc_response r;
  char token[64] = "", sign_in[128];
  if (out) *out = NULL;
  snprintf(sign_in, sizeof sign_in, "{\"user\": \"%s\", \"password\": \"" SERVE_PASSWORD "\"}", user);
  assert_int_equal(hc_connect(&c, s->port), 0);
  assert_int_equal(hc_request(&c, "POST", "/api/v1/session", NULL, sign_in, &r), 0);
  hc_close(&c);
  const char *t = r.status == 200 ? strstr(r.body, "\"token\":\"") : NULL;
  if (!t) fail_msg("sign-in of %s: %d %s", user, r.status, r.body);
  snprintf(token, sizeof token, "%.43s", t + 9);
  hc_response_free(&r);
  assert_int_equal(hc_connect(&c, s->port), 0);
  int status = hc_request(&c, method, path, token, body, &r) == 0 ? r.status : -1;
  hc_close(&c);
  if (status >= 0) {
    if (out) *out = strdup(r.body);
    hc_response_free(&r);
  }
  return status;
}

/* One request as the clinician. */
static int as_clinician(serve_process *s, const char *method, const char *path, const char *body, char **out) {
  return as_user(s, CLINICIAN, method, path, body, out);
}

/* Moves the simulated clock forward by (as "3s"); every deadline on the way
 * has fired, durably, when this returns. */
static void advance(serve_process *s, const char *by) {
  char body[64], *text = NULL;
  snprintf(body, sizeof body, "{\"advance\": \"%s\"}", by);
  int status = as_user(s, CLOCK_ADMIN, "POST", "/api/v1/clock", body, &text);
  if (status != 200) fail_msg("advance %s: %d %s", by, status, text ? text : "");
  free(text);
}

/* The engine's time (ms since the epoch). */
static long long clock_now_ms(serve_process *s) {
  char *text = NULL;
  assert_int_equal(serve_request(s, "GET", "/api/v1/clock", NULL, &text), 200);
  json_t *j = json_loads(text, 0, NULL);
  free(text);
  long long now = (long long)json_integer_value(json_object_get(j, "now_ms"));
  assert_true(json_is_true(json_object_get(j, "simulated")));
  json_decref(j);
  return now;
}

/* The engine's time plus seconds, as an ISO time (whole seconds, UTC). */
static void clock_iso_after(serve_process *s, int seconds, char *out, size_t len) {
  time_t at = (time_t)(clock_now_ms(s) / 1000) + seconds;
  struct tm tm;
  strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&at, &tm));
}

/* A server on protocol's course, with the clinician, on the simulated clock. */
static void serve_course(serve_process *s, const char *protocol) {
  if (serve_setup(s, protocol) < 0) fail();
  add_clinician(s);
  serve_configure(s, "");
  start_simulated(s);
}

static json_t *get(serve_process *s, const char *path, int want) {
  char *text;
  int status = serve_request(s, "GET", path, NULL, &text);
  if (status != want) fail_msg("GET %s: %d, not %d: %s", path, status, want, text ? text : "");
  json_t *j = json_loads(text, 0, NULL);
  free(text);
  return j;
}

static void course_over_http(void **state) {
  (void)state;
  serve_process s;
  serve_course(&s, PROTOCOL);
  int phq9[] = {20, 9};
  uint64_t ids[2];
  for (int i = 0; i < 2; i++) {
    ids[i] = serve_start_visit(&s, "course_test", "MRN-7");
    assert_true(ids[i] > 0);
    char path[64], body[64];
    snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)ids[i]);
    snprintf(body, sizeof body, "{\"consent\": true, \"phq9\": %d}", phq9[i]);
    assert_int_equal(serve_request(&s, "POST", path, body, NULL), 200);
    if (i == 0) {
      /* G9: a second visit while this one is open is refused, naming it; a
       * nurse may not override that (a clinician's signed decision). */
      char *text = NULL, want[64];
      assert_int_equal(
          serve_request(&s, "POST", "/api/v1/visits", "{\"protocol\": \"course_test\", \"patient\": \"MRN-7\"}", &text),
          409);
      snprintf(want, sizeof want, "has visit %llu open", (unsigned long long)ids[0]);
      assert_non_null(strstr(text, want));
      assert_non_null(strstr(text, "already_exists"));
      free(text);
      assert_int_equal(serve_request(&s, "POST", "/api/v1/visits",
                                     "{\"protocol\": \"course_test\", \"patient\": \"MRN-7\", "
                                     "\"override_reason\": \"second chair\", \"password\": \"" SERVE_PASSWORD "\"}",
                                     NULL),
                       403);
      assert_int_equal(serve_request(&s, "POST", "/api/v1/visits",
                                     "{\"protocol\": \"course_test\", \"patient\": \"MRN-7\", "
                                     "\"override_reason\": 7}",
                                     NULL),
                       422);
    } else {
      advance(&s, "1s"); /* the course's minimum interval since session 1 */
    }
    assert_int_equal(discharge(&s, ids[i]), 200);
  }
  json_t *p = get(&s, "/api/v1/patients/MRN-7", 200);
  json_t *c = json_array_get(json_object_get(p, "courses"), 0);
  assert_int_equal(json_array_size(json_object_get(c, "sessions")), 2);
  json_t *trend = json_object_get(json_object_get(c, "measures"), "phq9");
  assert_int_equal(json_array_size(trend), 2);
  assert_int_equal((int)json_number_value(json_object_get(json_array_get(trend, 1), "value")), 9);
  assert_true(json_is_true(json_object_get(c, "response"))); /* 20 -> 9: 55 % */
  assert_true(json_is_false(json_object_get(c, "remission")));
  uint64_t course = (uint64_t)json_integer_value(json_object_get(c, "id"));
  json_decref(p);
  /* The patient's visits, closed ones too, without asking for a status. */
  json_t *vs = get(&s, "/api/v1/visits?patient=MRN-7", 200);
  assert_int_equal(json_array_size(json_object_get(vs, "visits")), 2);
  json_decref(vs);
  char *text = NULL;
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/courses", "{\"protocol\": \"course_test\", \"patient\": \"MRN-7\"}", &text),
      409);
  assert_non_null(strstr(text, "already_exists"));
  free(text);
  char path[64];
  /* The course as a FHIR Bundle: its episode, plan and PHQ-9 totals. */
  snprintf(path, sizeof path, "/api/v1/courses/%llu/fhir", (unsigned long long)course);
  json_t *bundle = get(&s, path, 200);
  text = json_dumps(bundle, JSON_COMPACT);
  assert_non_null(strstr(text, "\"resourceType\":\"EpisodeOfCare\""));
  assert_non_null(strstr(text, "\"resourceType\":\"CarePlan\""));
  assert_non_null(strstr(text, "\"code\":\"44261-6\""));
  assert_non_null(strstr(text, "\"valueInteger\":9"));
  free(text);
  json_decref(bundle);
  json_decref(get(&s, "/api/v1/courses/999/fhir", 404));
  assert_int_equal(serve_request(&s, "POST", path, "{}", NULL), 405);
  snprintf(path, sizeof path, "/api/v1/courses/%llu/close", (unsigned long long)course);
  assert_int_equal(serve_request(&s, "POST", path, "{}", NULL), 422);
  assert_int_equal(serve_request(&s, "POST", "/api/v1/courses/999/close", "{\"reason\": \"x\"}", NULL), 404);
  /* K3: two of its three sessions: not complete, a clinician's close, signed. */
  assert_int_equal(serve_request(&s, "POST", path, "{\"reason\": \"patient moved away\"}", &text), 403);
  assert_non_null(strstr(text, "not complete (2 of its 3 sessions completed)"));
  free(text);
  assert_int_equal(as_clinician(&s, "POST", path, "{\"reason\": \"patient moved away\"}", NULL), 401);
  assert_int_equal(as_clinician(&s, "POST", path,
                                "{\"reason\": \"patient moved away\", \"password\": \"" SERVE_PASSWORD "\"}", &text),
                   200);
  assert_non_null(strstr(text, "patient moved away"));
  free(text);
  assert_int_equal(
      as_clinician(&s, "POST", path, "{\"reason\": \"again\", \"password\": \"" SERVE_PASSWORD "\"}", NULL), 409);
  json_decref(get(&s, "/api/v1/patients/nobody", 404));
  /* The patient in the path is percent-decoded; a + stays a +. */
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/courses", "{\"protocol\": \"course_test\", \"patient\": \"MRN 8/b+c\"}", NULL),
      201);
  p = get(&s, "/api/v1/patients/MRN%208%2Fb+c", 200);
  assert_string_equal(json_string_value(json_object_get(p, "patient")), "MRN 8/b+c");
  json_decref(p);
  json_decref(get(&s, "/api/v1/patients/MRN%2", 404));
  json_decref(get(&s, "/api/v1/patients?due=someday", 400));
  json_t *due = get(&s, "/api/v1/patients?due=overdue", 200);
  assert_int_equal(json_array_size(json_object_get(due, "patients")), 0); /* closed: due no more */
  json_decref(due);
  serve_cleanup(&s);
}

/* The same course in seconds, for "no one is lost" in a few seconds of the
 * simulated clock: three sessions 2 s apart (grace 1 s), maintenance every
 * hour, alerts escalating after 2 s. */
static const char FAST[] =
    "local v = require \"vigil\"\n"
    "return v.protocol \"course_fast\" {\n"
    "  version = \"1.0.0\",\n"
    "  title = \"Course in seconds\",\n"
    "  defaults = { escalate = \"2s\" },\n"
    "  course = v.course {\n"
    "    sessions = 3, within = \"1h\", min_interval = \"1s\", interval = \"2s\", grace = \"1s\",\n"
    "    maintenance = { interval = \"1h\" },\n"
    "    measures = { phq9 = { item = \"session.phq9\" } },\n"
    "    response = { measure = \"phq9\", fall_pct = 50 },\n"
    "    remission = { measure = \"phq9\", below = 5 },\n"
    "  },\n"
    "  phases = {\n"
    "    v.phase \"session\" {\n"
    "      items = { v.number \"phq9\" { title = \"PHQ-9 total\", unit = \"{score}\", range = { 0, 27 } } },\n"
    "    },\n"
    "  },\n"
    "}\n";

/* The course alerts of one patient: rule, state (of the open ones, or all). */
static json_t *course_alerts(serve_process *s, const char *patient) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/patients/%s", patient);
  json_t *p = get(s, path, 200);
  json_t *a = json_incref(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "alerts"));
  json_decref(p);
  return a;
}

/* The alerts GET /api/v1/alerts lists (active and acknowledged) for patient. */
static json_t *listed(serve_process *s, const char *patient) {
  json_t *all = get(s, "/api/v1/alerts?state=open", 200), *mine = json_array();
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(all, "alerts"), i, a) {
    if (!strcmp(json_string_value(json_object_get(a, "patient")) ?: "", patient)) json_array_append(mine, a);
  }
  json_decref(all);
  return mine;
}

/* Moves the clock by `by`, then the patient's course has n alerts (closed
 * ones too): raised by the deadlines on the way, none more. */
static void advance_to_alerts(serve_process *s, const char *by, const char *patient, size_t n) {
  advance(s, by);
  json_t *a = course_alerts(s, patient);
  size_t k = json_array_size(a);
  json_decref(a);
  if (k != n) fail_msg("%s after %s: %zu course alerts, not %zu", patient, by, k, n);
}

/* The alert log from a fixed day (its default is today: a run near
 * midnight would cross it). */
#define ALERT_LOG "/api/v1/alerts/log?from=2020-01-01"

static uint64_t session(serve_process *s, const char *patient, int phq9) {
  uint64_t id = serve_start_visit(s, "course_fast", patient);
  assert_true(id > 0);
  char path[96], body[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)id);
  snprintf(body, sizeof body, "{\"phq9\": %d}", phq9);
  assert_int_equal(serve_request(s, "POST", path, body, NULL), 200);
  assert_int_equal(discharge(s, id), 200);
  return id;
}

static const char *text_at(json_t *array, size_t i, const char *key) {
  return json_string_value(json_object_get(json_array_get(array, i), key)) ?: "";
}

/* No one is lost: a missed session raises a course alert for the patient
 * (no visit), listed by GET /api/v1/alerts, escalated, acknowledged, closed
 * by the next visit; closed as rescheduled (missing the new date raises it
 * again) and as stopped (the course closes); bad closes refused. */
static void missed_session_over_http(void **state) {
  (void)state;
  serve_process s;
  serve_course(&s, FAST);
  session(&s, "MRN-L", 20);
  /* Due 2 s after the session, grace 1 s: the alert comes at 3 s. */
  advance(&s, "2s");
  json_t *none = listed(&s, "MRN-L");
  assert_int_equal(json_array_size(none), 0); /* within its grace */
  json_decref(none);
  advance_to_alerts(&s, "1s", "MRN-L", 1);
  json_t *mine = listed(&s, "MRN-L");
  assert_int_equal(json_array_size(mine), 1);
  json_t *a = json_array_get(mine, 0);
  assert_true(json_is_null(json_object_get(a, "visit")));
  assert_string_equal(text_at(mine, 0, "source"), "course");
  assert_string_equal(text_at(mine, 0, "rule"), "missed_session");
  assert_non_null(strstr(text_at(mine, 0, "message"), "call the patient"));
  uint64_t id = (uint64_t)json_integer_value(json_object_get(a, "id"));
  json_decref(mine);
  /* Unacknowledged, it escalates after the protocol's 2 s. */
  advance(&s, "2s");
  mine = listed(&s, "MRN-L");
  int level = (int)json_integer_value(json_object_get(json_array_get(mine, 0), "level"));
  json_decref(mine);
  assert_true(level >= 1);
  char path[96], *text = NULL;
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)id);
  assert_int_equal(serve_request(&s, "POST", path, "{}", &text), 200);
  assert_non_null(strstr(text, "\"acknowledged\""));
  free(text);
  /* The patient comes: the alert closes (listed no more). */
  session(&s, "MRN-L", 18);
  mine = listed(&s, "MRN-L");
  assert_int_equal(json_array_size(mine), 0);
  json_decref(mine);
  json_t *all = course_alerts(&s, "MRN-L");
  assert_string_equal(text_at(all, 0, "state"), "closed");
  json_decref(all);

  /* Missed again: closed as rescheduled, with who and why and a new date. */
  advance_to_alerts(&s, "3s", "MRN-L", 2);
  all = course_alerts(&s, "MRN-L");
  id = (uint64_t)json_integer_value(json_object_get(json_array_get(all, 1), "id"));
  assert_int_equal((int)json_integer_value(json_object_get(json_array_get(all, 1), "session")), 3);
  json_decref(all);
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/close", (unsigned long long)id);
  assert_int_equal(serve_request(&s, "POST", path, "{\"reason\": \"bored\", \"why\": \"x\"}", NULL), 422);
  assert_int_equal(serve_request(&s, "POST", path, "{\"reason\": \"rescheduled\"}", NULL), 422);
  assert_int_equal(serve_request(&s, "POST", path,
                                 "{\"reason\": \"rescheduled\", \"why\": \"phoned: ill\", \"due\": \"2001-01-01\"}",
                                 NULL),
                   422);
  assert_int_equal(serve_request(&s, "POST", path,
                                 "{\"reason\": \"rescheduled\", \"why\": \"phoned: ill\", \"due\": \"soon\"}", NULL),
                   422);
  /* M7 (docs/safety.md): a why that says nothing, as every reason. */
  static const char *const empty_whys[] = {"   ", "\\u200b", "\\u200b\\u200b\\u200b",   "n/a",
                                           "a..", "xxxx",    "ill\\r\\nseq 99 override"};
  for (size_t i = 0; i < sizeof empty_whys / sizeof *empty_whys; i++) {
    char bad[200], *answer = NULL;
    snprintf(bad, sizeof bad, "{\"reason\": \"stopped\", \"why\": \"%s\", \"password\": \"" SERVE_PASSWORD "\"}",
             empty_whys[i]);
    assert_int_equal(as_clinician(&s, "POST", path, bad, &answer), 422);
    assert_non_null(strstr(answer, "\"field\":\"why\""));
    free(answer);
    char due[32]; /* within the course's interval (2 s in its induction) */
    clock_iso_after(&s, 1, due, sizeof due);
    snprintf(bad, sizeof bad, "{\"reason\": \"rescheduled\", \"why\": \"%s\", \"due\": \"%s\"}", empty_whys[i], due);
    assert_int_equal(serve_request(&s, "POST", path, bad, &answer), 422);
    if (!strstr(answer, "\"field\":\"why\"")) fail_msg("%s", answer);
    free(answer);
  }
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/alerts/999/close", "{\"reason\": \"stopped\", \"why\": \"x\"}", NULL), 404);
  char when[32], body[256];
  clock_iso_after(&s, 2, when, sizeof when);
  snprintf(body, sizeof body, "{\"reason\": \"rescheduled\", \"why\": \"phoned: ill, comes later\", \"due\": \"%s\"}",
           when);
  assert_int_equal(serve_request(&s, "POST", path, body, &text), 200);
  json_t *p = json_loads(text, 0, NULL);
  free(text);
  json_t *c = json_array_get(json_object_get(p, "courses"), 0);
  assert_int_equal(strncmp(json_string_value(json_object_get(c, "next_due")) ?: "", when, 19), 0);
  json_decref(p);
  assert_int_equal(serve_request(&s, "POST", path, body, NULL), 409); /* closed already */
  /* The new date passes too (with its grace: 3 s at most): raised again. */
  advance_to_alerts(&s, "3s", "MRN-L", 3);
  all = course_alerts(&s, "MRN-L");
  id = (uint64_t)json_integer_value(json_object_get(json_array_get(all, 2), "id"));
  json_decref(all);
  /* Stopped: the alert and the course close. */
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/close", (unsigned long long)id);
  /* K3: stopping an incomplete course is a clinician's, signed. */
  assert_int_equal(serve_request(&s, "POST", path, "{\"reason\": \"stopped\", \"why\": \"moved away\"}", &text), 403);
  assert_non_null(strstr(text, "not complete"));
  free(text);
  assert_int_equal(
      as_clinician(&s, "POST", path,
                   "{\"reason\": \"stopped\", \"why\": \"moved away\", \"password\": \"" SERVE_PASSWORD "\"}", &text),
      200);
  assert_non_null(strstr(text, "\"status\":\"closed\""));
  assert_non_null(strstr(text, "stopped: moved away"));
  free(text);
  mine = listed(&s, "MRN-L");
  assert_int_equal(json_array_size(mine), 0);
  json_decref(mine);
  /* The alert log names the patient of each course alert. */
  json_t *log = get(&s, ALERT_LOG, 200);
  size_t i, n = 0;
  json_t *row;
  json_array_foreach(json_object_get(log, "alerts"), i, row) {
    n += !strcmp(json_string_value(json_object_get(row, "patient")) ?: "", "MRN-L");
  }
  assert_int_equal(n, 3);
  json_decref(log);
  serve_cleanup(&s);
}

/* A non-response after the induction series, and a missed session's
 * deadline across restarts: armed from the log, fired once, late. */
static void non_response_and_restart(void **state) {
  (void)state;
  serve_process s;
  serve_course(&s, FAST);
  session(&s, "MRN-N", 20);
  advance(&s, "1s"); /* the minimum interval; within the 2 s interval */
  session(&s, "MRN-N", 18);
  json_t *all = course_alerts(&s, "MRN-N");
  assert_int_equal(json_array_size(all), 0);
  json_decref(all);
  advance(&s, "1s");
  session(&s, "MRN-N", 14); /* 20 -> 14: a fall of 30 %, not the protocol's 50 % */
  all = course_alerts(&s, "MRN-N");
  assert_int_equal(json_array_size(all), 1);
  assert_string_equal(text_at(all, 0, "rule"), "non_response");
  assert_non_null(strstr(text_at(all, 0, "message"), "the clinician decides"));
  json_decref(all);

  /* A restart past a due time fires it once, with its lateness. */
  session(&s, "MRN-R", 20);
  long long stopped_at = clock_now_ms(&s);
  assert_int_equal(serve_stop(&s, 0), 0);
  /* Due at 2 s, grace 1 s: missed while down. The restarted clock is wall
   * time (later than the log's), so wait until the wall is past it. */
  while ((long long)time(NULL) * 1000 <= stopped_at + 4000)
    usleep(100000);
  start_simulated(&s);
  all = course_alerts(&s, "MRN-R");
  assert_int_equal(json_array_size(all), 1);
  assert_string_equal(text_at(all, 0, "rule"), "missed_session");
  assert_true(json_integer_value(json_object_get(json_array_get(all, 0), "late_ms")) > 0);
  json_decref(all);
  json_t *log = get(&s, ALERT_LOG, 200);
  size_t i;
  json_t *row;
  int n = 0;
  json_array_foreach(json_object_get(log, "alerts"), i, row) {
    if (strcmp(json_string_value(json_object_get(row, "patient")) ?: "", "MRN-R") != 0) continue;
    n++;
  }
  json_decref(log);
  assert_int_equal(n, 1);
  char *text = serve_log(&s);
  assert_non_null(strstr(text, "recovered"));
  free(text);
  assert_int_equal(serve_stop(&s, 0), 0);
  start_simulated(&s);
  all = course_alerts(&s, "MRN-R");
  assert_int_equal(json_array_size(all), 1); /* not raised again */
  json_decref(all);
  serve_cleanup(&s);
}

/* An open session of a course, its visit as it was after a restart and
 * after a second one: each event folded once. Found by an independent try
 * (2026-12-06): for a while each restart folded an open visit's events again
 * on top of those the courses' fold had read (an item's count 1 became 2,
 * its alerts listed twice, an acknowledged alert's twin still holding the
 * gate), and the log said "recovered 0 open visits". */
static void an_open_session_is_the_same_after_restarts(void **state) {
  (void)state;
  serve_process s;
  serve_course(&s, PROTOCOL);
  char *text = NULL;
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/visits", "{\"protocol\": \"course_test\", \"patient\": \"MRN-RS\"}", &text),
      201);
  json_t *v = json_loads(text, 0, NULL);
  free(text);
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%lld", (long long)json_integer_value(json_object_get(v, "id")));
  json_decref(v);
  char entries[128];
  snprintf(entries, sizeof entries, "%s/entries", path);
  assert_int_equal(serve_request(&s, "POST", entries, "{\"consent\": true, \"phq9\": 20}", NULL), 200);
  json_t *before = get(&s, path, 200);
  for (int restart = 1; restart <= 2; restart++) {
    assert_int_equal(serve_stop(&s, 0), 0);
    start_simulated(&s);
    json_t *after = get(&s, path, 200);
    if (!json_equal(before, after)) {
      char *x = json_dumps(before, JSON_COMPACT), *y = json_dumps(after, JSON_COMPACT);
      fail_msg("restart %d changed the open visit:\n%s\n%s", restart, x, y);
    }
    json_decref(after);
    char *log = serve_log(&s);
    if (!strstr(log, "recovered 1 open visits")) fail_msg("restart %d: %s", restart, log);
    free(log);
  }
  json_decref(before);
  serve_cleanup(&s);
}

#define FOUR_ACUTES "\\u0301\\u0301\\u0301\\u0301"

/* A start at path (visits or courses) for patient, spelled like one with a
 * visit open, saying new_patient: 422 when it is not true or false, 403 for
 * the nurse, 201 for a clinician with their password (M9). */
static void new_patient_is_a_clinicians(serve_process *s, const char *path, const char *patient) {
  char body[256], *text;
  snprintf(body, sizeof body, "{\"protocol\": \"course_fast\", \"patient\": \"%s\", \"new_patient\": 1}", patient);
  assert_int_equal(serve_request(s, "POST", path, body, NULL), 422);
  snprintf(body, sizeof body, "{\"protocol\": \"course_fast\", \"patient\": \"%s\", \"new_patient\": true}", patient);
  assert_int_equal(serve_request(s, "POST", path, body, &text), 403);
  assert_non_null(strstr(text, "only a clinician"));
  free(text);
  snprintf(body, sizeof body,
           "{\"protocol\": \"course_fast\", \"patient\": \"%s\", \"new_patient\": true, \"password\": "
           "\"" SERVE_PASSWORD "\"}",
           patient);
  assert_int_equal(as_clinician(s, "POST", path, body, &text), 201);
  free(text);
}

/* Each of the n patients (JSON string contents) starts no visit: 409
 * similar_patient, the message naming `existing`. */
static void all_similar(serve_process *s, const char *const *patients, size_t n, const char *existing) {
  for (size_t i = 0; i < n; i++) {
    char body[256], *text = NULL;
    snprintf(body, sizeof body, "{\"protocol\": \"course_fast\", \"patient\": \"%s\"}", patients[i]);
    int status = serve_request(s, "POST", "/api/v1/visits", body, &text);
    if (status != 409 || !strstr(text, "similar_patient") || !strstr(text, existing))
      fail_msg("%s: %d %s", patients[i], status, text ? text : "");
    free(text);
  }
}

/* K2: a patient with white space around it is 422; one spelled like an
 * existing patient but for letter case (L5: or drawn alike in another
 * script) is 409 similar_patient naming them,
 * unless the start says new_patient. K9b: a nurse reschedules a missed
 * session within the course's longest interval from its last session (422
 * on due beyond it); beyond it a clinician does, signed. */
static void spelling_and_reschedule_over_http(void **state) {
  (void)state;
  serve_process s;
  serve_course(&s, FAST);
  uint64_t first = serve_start_visit(&s, "course_fast", "MRN-S");
  assert_true(first > 0);
  char *text = NULL;
  const char *padded[] = {"{\"protocol\": \"course_fast\", \"patient\": \" MRN-S\"}",
                          "{\"protocol\": \"course_fast\", \"patient\": \"MRN-S \"}",
                          "{\"protocol\": \"course_fast\", \"patient\": \"MRN-S\\u00a0\"}"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(serve_request(&s, "POST", "/api/v1/visits", padded[i], &text), 422);
    assert_non_null(strstr(text, "\"field\":\"patient\""));
    assert_non_null(strstr(text, "white space"));
    free(text);
  }
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/visits", "{\"protocol\": \"course_fast\", \"patient\": \"mrn-s\"}", &text),
      409);
  assert_non_null(strstr(text, "similar_patient"));
  assert_non_null(strstr(text, "existing patient MRN-S"));
  free(text);
  /* U1: a non-breaking hyphen (U+2011), full-width letters, a
   * hyphen (U+2010): the same patient under NFKC and case folding. */
  /* L5: letters of other scripts that look the same (UTS #39's
   * confusable skeleton): Cyrillic capital EM, Cyrillic DZE for S, both
   * with a Cyrillic small em, Greek capital MU. */
  static const char *const alike[] = {
      "MRN\\u2011S", "\\uff2d\\uff32\\uff2e-\\uff33", "mrn\\u2010s", "\\u041cRN-S", "MRN-\\u0405", "\\u043crn-\\u0405",
      "\\u039cRN-S"};
  all_similar(&s, alike, sizeof alike / sizeof *alike, "existing patient MRN-S");
  /* L5: a zero, an O of Latin, Greek or Cyrillic: one look; so are marks
   * over the last digit (one, sixteen), a skin-tone modifier, a Roman
   * numeral two, Arabic-Indic digits, a Greek capital MU (the security
   * review's spellings). */
  assert_true(serve_start_visit(&s, "course_fast", "MRN-200") > 0);
  static const char *const look[] = {
      "\\u041cRN-200",  "MRN-2\\u039f0",       "mrn-2\\u03bf\\u043e",   "MRN-2OO",       "MRN-200\\u0301",
      "MRN-200\\u0338", "MRN-200" FOUR_ACUTES, "MRN-200\\ud83c\\udffb", "MRN-\\u2161OO", "MRN-\\u0662\\u0660\\u0660",
      "\\u039cRN-200"};
  all_similar(&s, look, sizeof look / sizeof *look, "existing patient MRN-200");
  /* The sixth try: a small l for a one (Unicode's table makes 1, I and l one
   * look; a case fold before the skeleton made l an L and lost it). */
  assert_true(serve_start_visit(&s, "course_fast", "ES-100") > 0);
  static const char *const one[] = {"ES-l00", "ES-I00", "es-1OO", "Es-lOo"};
  all_similar(&s, one, sizeof one / sizeof *one, "existing patient ES-100");
  /* MRN-200 has a visit open: new_patient is a clinician's (M9). */
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/visits",
                    "{\"protocol\": \"course_fast\", \"patient\": \"\\u041cRN-200\", \"new_patient\": true}", &text),
      403);
  free(text);
  assert_int_equal(as_clinician(&s, "POST", "/api/v1/visits",
                                "{\"protocol\": \"course_fast\", \"patient\": \"\\u041cRN-200\", \"new_patient\": "
                                "true, \"password\": \"" SERVE_PASSWORD "\"}",
                                &text),
                   201);
  free(text);
  assert_true(serve_start_visit(&s, "course_fast", "MRN-201") > 0);
  new_patient_is_a_clinicians(&s, "/api/v1/visits", "mrn-s");
  /* The exact spelling is still held by its open visit. */
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/visits", "{\"protocol\": \"course_fast\", \"patient\": \"MRN-S\"}", &text),
      409);
  assert_non_null(strstr(text, "already_exists"));
  free(text);

  session(&s, "MRN-Q", 20);
  advance_to_alerts(&s, "3s", "MRN-Q", 1);
  json_t *all = course_alerts(&s, "MRN-Q");
  uint64_t id = (uint64_t)json_integer_value(json_object_get(json_array_get(all, 0), "id"));
  json_decref(all);
  char path[96];
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/close", (unsigned long long)id);
  const char *far = "{\"reason\": \"rescheduled\", \"why\": \"phoned: away\", \"due\": \"2029-01-01\"}";
  assert_int_equal(serve_request(&s, "POST", path, far, &text), 422);
  assert_non_null(strstr(text, "\"field\":\"due\""));
  assert_non_null(strstr(text, "the course's interval")); /* in its induction (P9) */
  free(text);
  all = course_alerts(&s, "MRN-Q");
  assert_string_equal(text_at(all, 0, "state"), "active"); /* nothing recorded */
  json_decref(all);
  assert_int_equal(as_clinician(&s, "POST", path, far, NULL), 401);
  assert_int_equal(as_clinician(&s, "POST", path,
                                "{\"reason\": \"rescheduled\", \"why\": \"phoned: away\", \"due\": \"2029-01-01\", "
                                "\"password\": \"" SERVE_PASSWORD "\"}",
                                &text),
                   200);
  json_t *p = json_loads(text, 0, NULL);
  free(text);
  json_t *c = json_array_get(json_object_get(p, "courses"), 0);
  assert_int_equal(strncmp(json_string_value(json_object_get(c, "next_due")) ?: "", "2029-01-01", 10), 0);
  json_decref(p);
  serve_cleanup(&s);
}

/* A second course protocol whose minimum interval is a day (course_fast's
 * is a second). */
static const char SLOW[] =
    "local v = require \"vigil\"\n"
    "return v.protocol \"course_slow\" {\n"
    "  version = \"1.0.0\",\n"
    "  title = \"Another course\",\n"
    "  course = v.course {\n"
    "    sessions = 3, within = \"10d\", min_interval = \"1d\", interval = \"2d\", grace = \"1d\",\n"
    "    measures = { phq9 = { item = \"session.phq9\" } },\n"
    "  },\n"
    "  phases = {\n"
    "    v.phase \"session\" {\n"
    "      items = { v.number \"phq9\" { title = \"PHQ-9 total\", unit = \"{score}\", range = { 0, 27 } } },\n"
    "    },\n"
    "  },\n"
    "}\n";

/* A server on course_fast and course_slow, with the clinician, on the
 * simulated clock. */
static void serve_fast_and_slow(serve_process *s) {
  if (serve_setup(s, FAST) < 0) fail();
  char dir[300], path[400], extra[700];
  snprintf(dir, sizeof dir, "%s/slow", s->root);
  mkdir(dir, 0700);
  snprintf(path, sizeof path, "%s/protocol.lua", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(SLOW, f);
  fclose(f);
  snprintf(extra, sizeof extra, "protocols = { \"%s\", \"%s\" }", s->protocol, dir);
  add_clinician(s);
  serve_configure(s, extra);
  start_simulated(s);
}

/* G9 across protocols: with a course_fast visit open, a course_slow visit of
 * the same patient (another course, as esketamine beside ketamine) is 409
 * naming the open visit and its protocol, or a clinician's signed override
 * kept in visit.started; once it completed, the course_slow session's first
 * gate holds for the longer minimum interval of the two. */
static void one_open_visit_whatever_the_protocol(void **state) {
  (void)state;
  serve_process s;
  serve_fast_and_slow(&s);
  char path[400];
  uint64_t a = serve_start_visit(&s, "course_fast", "MRN-200");
  assert_true(a > 0);
  char *text = NULL, want[64];
  const char *slow = "{\"protocol\": \"course_slow\", \"patient\": \"MRN-200\"}";
  assert_int_equal(serve_request(&s, "POST", "/api/v1/visits", slow, &text), 409);
  snprintf(want, sizeof want, "has visit %llu open (course_fast@1.0.0)", (unsigned long long)a);
  assert_non_null(strstr(text, want));
  assert_non_null(strstr(text, "already_exists"));
  free(text);
  /* The way past: a clinician's signed reason, kept with the start. */
  assert_int_equal(as_clinician(&s, "POST", "/api/v1/visits",
                                "{\"protocol\": \"course_slow\", \"patient\": \"MRN-200\", "
                                "\"override_reason\": \"second chair agreed\", \"password\": \"" SERVE_PASSWORD "\"}",
                                &text),
                   201);
  json_t *j = json_loads(text, 0, NULL);
  free(text);
  uint64_t b = (uint64_t)json_integer_value(json_object_get(j, "id"));
  json_decref(j);
  assert_true(b > a);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events", (unsigned long long)b);
  assert_int_equal(as_clinician(&s, "GET", path, NULL, &text), 200);
  snprintf(want, sizeof want, "\"concurrent\":%llu", (unsigned long long)a);
  assert_non_null(strstr(text, want));
  assert_non_null(strstr(text, "second chair agreed"));
  free(text);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/abort", (unsigned long long)b);
  assert_int_equal(as_clinician(&s, "POST", path, "{\"reason\": \"started beside visit a\"}", NULL), 200);

  /* Session 1 of course_fast completes: course_slow's first gate holds. */
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)a);
  assert_int_equal(serve_request(&s, "POST", path, "{\"phq9\": 20}", NULL), 200);
  assert_int_equal(discharge(&s, a), 200);
  uint64_t c = serve_start_visit(&s, "course_slow", "MRN-200");
  assert_true(c > 0);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)c);
  assert_int_equal(serve_request(&s, "POST", path, "{\"phq9\": 19}", NULL), 200);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/discharge", (unsigned long long)c);
  assert_int_equal(serve_request(&s, "POST", path, "{\"password\": \"" SERVE_PASSWORD "\"}", &text), 409);
  assert_non_null(strstr(text, "a dose on another course protocol"));
  assert_non_null(strstr(text, "course_fast@1.0.0"));
  assert_non_null(strstr(text, "the minimum interval is 1 day:"));
  free(text);
  serve_cleanup(&s);
}

/* AD1 (docs/safety.md): a patient with two courses overdue has one
 * missed-session alert (M10); once a clinician closes the course that has
 * it, the other's comes at once, on the simulated clock as on the real one
 * (it waited for the next move of the clock, or a restart). */
static void closing_one_course_alerts_the_other_at_once(void **state) {
  (void)state;
  serve_process s;
  serve_fast_and_slow(&s);
  char path[400], *text = NULL;
  uint64_t ids[2];
  const char *const protocols[2] = {"course_fast", "course_slow"};
  for (int i = 0; i < 2; i++) {
    char body[128];
    snprintf(body, sizeof body, "{\"protocol\": \"%s\", \"patient\": \"MRN-AD1\"}", protocols[i]);
    assert_int_equal(serve_request(&s, "POST", "/api/v1/courses", body, &text), 201);
    /* The answer is the patient's courses: this protocol's is the id. */
    json_t *j = json_loads(text, 0, NULL), *c;
    free(text);
    size_t k;
    ids[i] = 0;
    json_array_foreach(json_object_get(j, "courses"), k, c) {
      if (!strncmp(json_string_value(json_object_get(c, "protocol")) ?: "", protocols[i], strlen(protocols[i])))
        ids[i] = (uint64_t)json_integer_value(json_object_get(c, "id"));
    }
    json_decref(j);
    assert_true(ids[i] > 0);
  }
  /* course_fast is overdue at 3 s, course_slow at 3 days: one alert. */
  advance(&s, "3s");
  advance(&s, "3d");
  advance(&s, "1h");
  json_t *mine = listed(&s, "MRN-AD1");
  assert_int_equal(json_array_size(mine), 1);
  assert_int_equal((uint64_t)json_integer_value(json_object_get(json_array_get(mine, 0), "course")), ids[0]);
  json_decref(mine);
  snprintf(path, sizeof path, "/api/v1/courses/%llu/close", (unsigned long long)ids[0]);
  assert_int_equal(as_clinician(&s, "POST", path,
                                "{\"reason\": \"moved to the other course\", \"password\": \"" SERVE_PASSWORD "\"}",
                                NULL),
                   200);
  /* No clock move: course_slow's alert is there now. */
  mine = listed(&s, "MRN-AD1");
  if (json_array_size(mine) != 1)
    fail_msg("after the close, %zu alerts listed for MRN-AD1, not course_slow's one", json_array_size(mine));
  assert_int_equal((uint64_t)json_integer_value(json_object_get(json_array_get(mine, 0), "course")), ids[1]);
  assert_string_equal(text_at(mine, 0, "rule"), "missed_session");
  json_decref(mine);
  serve_cleanup(&s);
}

/* Integration psychotherapy sessions between the infusions: recorded on the
 * course (POST /api/v1/courses/{id}/integration), listed in time order with
 * the session they follow, kept across a restart, in the course's FHIR
 * Bundle as a Procedure on the Bundle's Patient; bad input 404/422/409. */
static void integration_sessions_over_http(void **state) {
  (void)state;
  serve_process s;
  serve_course(&s, PROTOCOL);
  uint64_t first = serve_start_visit(&s, "course_test", "MRN-I");
  assert_true(first > 0);
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)first);
  assert_int_equal(serve_request(&s, "POST", path, "{\"consent\": true, \"phq9\": 18}", NULL), 200);
  assert_int_equal(discharge(&s, first), 200);
  char *text = NULL;
  assert_int_equal(serve_request(&s, "POST", "/api/v1/courses/1/integration",
                                 "{\"note\": \"Integration: talked through the first infusion\", \"by\": \"dr lee\"}",
                                 &text),
                   200);
  json_t *p = json_loads(text, 0, NULL);
  free(text);
  json_t *in = json_object_get(json_array_get(json_object_get(p, "courses"), 0), "integration");
  assert_int_equal(json_array_size(in), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(in, 0), "after_session")), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(in, 0), "by")), "dr lee");
  assert_string_equal(json_string_value(json_object_get(json_array_get(in, 0), "recorded_by")), SERVE_USER);
  json_decref(p);
  /* Bad input: nothing recorded. */
  static const char *const bad[] = {"{}",
                                    "{\"note\": \"   \"}",
                                    "{\"note\": 5}",
                                    "{\"note\": \"x\", \"at\": \"2099-01-01T00:00:00Z\"}",
                                    "{\"note\": \"x\", \"at\": \"2001-01-01T00:00:00Z\"}",
                                    "{\"note\": \"x\", \"at\": \"soon\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int status = serve_request(&s, "POST", "/api/v1/courses/1/integration", bad[i], NULL);
    if (status != 422) fail_msg("%s: %d", bad[i], status);
  }
  assert_int_equal(serve_request(&s, "POST", "/api/v1/courses/99/integration", "{\"note\": \"x\"}", NULL), 404);
  /* The second session: the integration session sits between the two. */
  advance(&s, "1s"); /* the course's minimum interval */
  uint64_t second = serve_start_visit(&s, "course_test", "MRN-I");
  assert_true(second > 0);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)second);
  assert_int_equal(serve_request(&s, "POST", path, "{\"consent\": true, \"phq9\": 12}", NULL), 200);
  assert_int_equal(discharge(&s, second), 200);
  /* Kept across a restart. */
  assert_int_equal(serve_stop(&s, 0), 0);
  start_simulated(&s);
  p = get(&s, "/api/v1/patients/MRN-I", 200);
  json_t *c = json_array_get(json_object_get(p, "courses"), 0);
  in = json_object_get(c, "integration");
  assert_int_equal(json_array_size(in), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(in, 0), "after_session")), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(in, 0), "note")),
                      "Integration: talked through the first infusion");
  json_decref(p);
  /* The FHIR Bundle: a Procedure on the Bundle's Patient, the Encounters' subject too. */
  json_t *b = get(&s, "/api/v1/courses/1/fhir", 200);
  size_t i;
  json_t *en;
  const char *patient_url = NULL;
  int procedures = 0;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (!strcmp(json_string_value(json_object_get(r, "resourceType")), "Patient"))
      patient_url = json_string_value(json_object_get(en, "fullUrl"));
  }
  assert_non_null(patient_url);
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    const char *type = json_string_value(json_object_get(r, "resourceType"));
    if (!strcmp(type, "Encounter") || !strcmp(type, "Procedure"))
      assert_string_equal(json_string_value(json_object_get(json_object_get(r, "subject"), "reference")), patient_url);
    if (!strcmp(type, "EpisodeOfCare"))
      assert_string_equal(json_string_value(json_object_get(json_object_get(r, "patient"), "reference")), patient_url);
    procedures += !strcmp(type, "Procedure");
  }
  assert_int_equal(procedures, 1);
  json_decref(b);
  /* A closed course takes none. */
  assert_int_equal(as_clinician(&s, "POST", "/api/v1/courses/1/close",
                                "{\"reason\": \"moved to another clinic\", \"password\": \"" SERVE_PASSWORD "\"}",
                                NULL),
                   200);
  assert_int_equal(serve_request(&s, "POST", "/api/v1/courses/1/integration", "{\"note\": \"late\"}", &text), 409);
  assert_non_null(strstr(text, "is closed"));
  free(text);
  serve_cleanup(&s);
}

/* AA1 (docs/security.md, the fifth review): with a course and a visit open
 * for MRN-800, a nurse's course start for a look-alike of it was 201 each
 * (lower case, a Cyrillic EM, a minus sign, a modifier apostrophe, a space
 * inside, a combining acute), then a visit for mrn-800 matched that new
 * course exactly: several visits at once for one person. A course start
 * now applies the visit start's patient checks, new_patient with them. */
static void course_start_checks_look_alikes(void **state) {
  (void)state;
  serve_process s;
  char *text;
  serve_course(&s, FAST);
  assert_true(serve_start_visit(&s, "course_fast", "MRN-800") > 0);
  static const char *const alike[] = {"mrn-800",        "\\u041cRN-800", "MRN\\u2212800",
                                      "MRN-800\\u02bc", "MRN-8 00",      "MRN-800\\u0301"};
  for (size_t i = 0; i < sizeof alike / sizeof *alike; i++) {
    char body[160];
    snprintf(body, sizeof body, "{\"protocol\": \"course_fast\", \"patient\": \"%s\"}", alike[i]);
    int status = serve_request(&s, "POST", "/api/v1/courses", body, &text);
    if (status != 409 || !strstr(text, "similar_patient") || !strstr(text, "existing patient MRN-800"))
      fail_msg("course for %s: %d %s", alike[i], status, text);
    free(text);
  }
  /* No second record was begun: the visit for mrn-800 is still refused. */
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/visits", "{\"protocol\": \"course_fast\", \"patient\": \"mrn-800\"}", &text),
      409);
  assert_non_null(strstr(text, "similar_patient"));
  free(text);
  /* new_patient on a course start is the visit start's: a clinician's while
   * MRN-800 has a visit open (M9), a 422 when not true or false. */
  new_patient_is_a_clinicians(&s, "/api/v1/courses", "mrn-800");
  /* An unlike patient's course starts as before. */
  assert_int_equal(
      serve_request(&s, "POST", "/api/v1/courses", "{\"protocol\": \"course_fast\", \"patient\": \"MRN-801\"}", NULL),
      201);
  serve_cleanup(&s);
}

/* AR4 (docs/safety.md): a read by a reference spelled like a known patient
 * (another letter case) names that patient: the 404 of GET /patients/{id}
 * says "did you mean" with `similar`, and an empty visit list carries the
 * same `similar`. Nothing is merged: the patient's own reads are as before. */
static void reads_name_a_look_alike_patient(void **state) {
  (void)state;
  serve_process s;
  serve_course(&s, FAST);
  assert_true(serve_start_visit(&s, "course_fast", "MRN-1001") > 0);
  char *text = NULL;
  assert_int_equal(serve_request(&s, "GET", "/api/v1/patients/mrn-1001", NULL, &text), 404);
  json_t *j = json_loads(text, 0, NULL);
  free(text);
  json_t *err = json_object_get(j, "error");
  assert_string_equal(json_string_value(json_object_get(err, "code")), "not_found");
  assert_string_equal(json_string_value(json_object_get(err, "message")),
                      "no record of patient mrn-1001; did you mean MRN-1001?");
  assert_string_equal(json_string_value(json_array_get(json_object_get(err, "similar"), 0)), "MRN-1001");
  json_decref(j);
  j = get(&s, "/api/v1/visits?patient=mrn-1001", 200);
  assert_int_equal(json_array_size(json_object_get(j, "visits")), 0);
  assert_int_equal(json_array_size(json_object_get(j, "similar")), 1);
  assert_string_equal(json_string_value(json_array_get(json_object_get(j, "similar"), 0)), "MRN-1001");
  json_decref(j);
  /* The patient's own reads: found, no hint. */
  j = get(&s, "/api/v1/visits?patient=MRN-1001", 200);
  assert_int_equal(json_array_size(json_object_get(j, "visits")), 1);
  assert_null(json_object_get(j, "similar"));
  json_decref(j);
  j = get(&s, "/api/v1/patients/MRN-1001", 200);
  assert_int_equal(json_array_size(json_object_get(j, "courses")), 1);
  json_decref(j);
  /* A reference like no one: the 404 and the empty list as before. */
  assert_int_equal(serve_request(&s, "GET", "/api/v1/patients/MRN-9999", NULL, &text), 404);
  assert_null(strstr(text, "similar"));
  free(text);
  j = get(&s, "/api/v1/visits?patient=MRN-9999", 200);
  assert_null(json_object_get(j, "similar"));
  json_decref(j);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(course_over_http),
                                     cmocka_unit_test(missed_session_over_http),
                                     cmocka_unit_test(non_response_and_restart),
                                     cmocka_unit_test(spelling_and_reschedule_over_http),
                                     cmocka_unit_test(one_open_visit_whatever_the_protocol),
                                     cmocka_unit_test(integration_sessions_over_http),
                                     cmocka_unit_test(an_open_session_is_the_same_after_restarts),
                                     cmocka_unit_test(course_start_checks_look_alikes),
                                     cmocka_unit_test(closing_one_course_alerts_the_other_at_once),
                                     cmocka_unit_test(reads_name_a_look_alike_patient)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
