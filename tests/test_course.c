#define _GNU_SOURCE /* strptime, timegm */
/* test_course.c: a patient's treatment course (core/engine/course.c).
 *
 * Visits of one patient on a protocol that declares a course join it as its
 * sessions, numbered; the course measures each session (PHQ-9 from an item,
 * the dose from a param); rules see the course through visit.course(); the
 * response and remission follow the protocol's thresholds; a closed course
 * leaves the next visit to start a new one; a second open course on the same
 * protocol is refused; and the courses are the fold of the log: an engine
 * started again on the same store shows the same. */
#include <jansson.h>
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

#include "vigil/vigil.h"

#define T0 1767600000000LL /* 2026-01-05T08:00:00Z */
#define HOUR 3600000LL
#define DAY (24 * HOUR)
#define FIXTURE "tests/protocols/course"

static void quiet(void *ud, vigil_log_level level, const char *msg) { (void)ud, (void)level, (void)msg; }

typedef struct fixture {
  char dir[64], db[128];
  vigil_engine *e;
} fixture;

static void open_engine(fixture *f, int64_t at) {
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = at, .db_path = f->db, .log = quiet};
  if (vigil_engine_new(&o, &f->e) < 0) fail_msg("%s", vigil_engine_errmsg(NULL));
  if (vigil_engine_load(f->e, FIXTURE, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(f->e));
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/vigil-course-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  snprintf(f->db, sizeof f->db, "%s/vigil.db", f->dir);
  open_engine(f, T0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  vigil_engine_free(f->e);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0) return -1;
  free(f);
  return 0;
}

static json_t *parse(char *text) {
  if (!text) fail_msg("no JSON");
  json_error_t err;
  json_t *j = json_loads(text, 0, &err);
  if (!j) fail_msg("bad JSON (%s): %s", err.text, text);
  vigil_free(text);
  return j;
}

static json_t *visit_of(vigil_engine *e, uint64_t id) { return parse(vigil_visit_json(e, id)); }

static json_t *patient_of(vigil_engine *e, const char *patient) {
  char *s = vigil_patient_json(e, patient);
  if (!s) fail_msg("patient %s: %s", patient, vigil_engine_errmsg(e));
  return parse(s);
}

/* A session: a visit started at engine time, PHQ-9 recorded, discharged. */
static uint64_t session(vigil_engine *e, const char *patient, int phq9, const char *params) {
  uint64_t id;
  if (vigil_visit_start(e, "course_test", patient, "nurse:ana", params, &id) < 0)
    fail_msg("start: %s", vigil_engine_errmsg(e));
  char entry[64];
  snprintf(entry, sizeof entry, "{\"consent\": true, \"phq9\": %d}", phq9);
  if (vigil_visit_record_json(e, id, "nurse:ana", entry) < 0) fail_msg("record: %s", vigil_engine_errmsg(e));
  return id;
}

static void discharge(vigil_engine *e, uint64_t id) {
  if (vigil_visit_discharge(e, id, "nurse:ana") < 0) fail_msg("discharge: %s", vigil_engine_errmsg(e));
}

static double num(json_t *j, const char *path) {
  json_t *x = json_object_get(j, path);
  if (!json_is_number(x)) fail_msg("%s is not a number", path);
  return json_number_value(x);
}

/* Six sessions of one patient: numbered in order, PHQ-9 and the dose per
 * session, the previous session's values in the visit, the response and the
 * remission by the protocol's thresholds, and the next session's due time. */
static void sessions_measures_response_remission(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  int phq9[] = {20, 16, 11, 9, 6, 4};
  uint64_t ids[6];
  for (int i = 0; i < 6; i++) {
    ids[i] = session(e, "MRN-1", phq9[i], i == 2 ? "{\"dose\": 0.6}" : NULL);
    json_t *v = visit_of(e, ids[i]);
    json_t *c = json_object_get(v, "course");
    assert_non_null(c);
    assert_int_equal((int)num(c, "id"), 1);
    assert_int_equal((int)num(c, "session"), i + 1);
    assert_int_equal((int)num(c, "sessions"), 3);
    assert_string_equal(json_string_value(json_object_get(c, "stage")), i < 3 ? "induction" : "maintenance");
    assert_true(json_is_true(json_object_get(c, "new")) == (i == 0));
    if (i > 0) {
      json_t *prev = json_object_get(json_object_get(c, "previous"), "measures");
      assert_int_equal((int)num(prev, "phq9"), phq9[i - 1]);
      assert_true(num(prev, "dose") == (i - 1 == 2 ? 0.6 : 0.5));
    } else {
      assert_true(json_is_null(json_object_get(c, "previous")));
    }
    json_decref(v);
    discharge(e, ids[i]);
    if (i == 1) {
      /* After two sessions: a fall of 20 %, no response yet, no remission. */
      json_t *p = patient_of(e, "MRN-1");
      json_t *c0 = json_array_get(json_object_get(p, "courses"), 0);
      assert_true(json_is_false(json_object_get(c0, "response")));
      assert_true(json_is_false(json_object_get(c0, "remission")));
      json_decref(p);
    }
    if (i == 3) {
      /* 20 -> 9: a fall of 55 %, a response (50 %); 9 is no remission (< 5). */
      json_t *p = patient_of(e, "MRN-1");
      json_t *c0 = json_array_get(json_object_get(p, "courses"), 0);
      assert_true(json_is_true(json_object_get(c0, "response")));
      assert_true(json_is_false(json_object_get(c0, "remission")));
      json_decref(p);
    }
    if (i == 3) {
      /* The first maintenance session (day 6): the next is due 14 days later. */
      json_t *p = patient_of(e, "MRN-1");
      json_t *c0 = json_array_get(json_object_get(p, "courses"), 0);
      assert_string_equal(json_string_value(json_object_get(c0, "next_due")), "2026-01-25T08:00:00.000Z");
      json_decref(p);
    }
    vigil_engine_advance_to(e, T0 + (i + 1) * 2 * DAY);
  }
  json_t *p = patient_of(e, "MRN-1");
  assert_string_equal(json_string_value(json_object_get(p, "patient")), "MRN-1");
  json_t *courses = json_object_get(p, "courses");
  assert_int_equal(json_array_size(courses), 1);
  json_t *c = json_array_get(courses, 0);
  assert_string_equal(json_string_value(json_object_get(c, "protocol")), "course_test@1.0.0");
  assert_string_equal(json_string_value(json_object_get(c, "status")), "open");
  json_t *sessions = json_object_get(c, "sessions");
  assert_int_equal(json_array_size(sessions), 6);
  for (int i = 0; i < 6; i++) {
    json_t *s = json_array_get(sessions, (size_t)i);
    assert_int_equal((int)num(s, "number"), i + 1);
    assert_int_equal((uint64_t)num(s, "visit"), ids[i]);
    assert_string_equal(json_string_value(json_object_get(s, "status")), "discharged");
  }
  json_t *trend = json_object_get(json_object_get(c, "measures"), "phq9");
  assert_int_equal(json_array_size(trend), 6);
  for (int i = 0; i < 6; i++)
    assert_int_equal((int)num(json_array_get(trend, (size_t)i), "value"), phq9[i]);
  assert_true(json_is_true(json_object_get(c, "response")));
  assert_true(json_is_true(json_object_get(c, "remission"))); /* 4 < 5 */
  /* Maintenance: 14 days apart for two sessions (days 6, 8), then up to 28
   * days: the last session (day 10) + 28 days. */
  assert_string_equal(json_string_value(json_object_get(c, "next_due")), "2026-02-12T08:00:00.000Z");
  json_decref(p);
}

/* Rules see the course: the previous and first session's PHQ-9 in a note,
 * and a session sooner than the minimum interval holds the phase. */
static void rules_see_the_course(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  uint64_t a = session(e, "MRN-2", 18, NULL);
  discharge(e, a);
  vigil_engine_advance_to(e, T0 + 12 * HOUR); /* half a day later: too soon */
  uint64_t b = session(e, "MRN-2", 14, NULL);
  json_t *v = visit_of(e, b);
  json_t *gate = json_object_get(v, "gate");
  assert_true(json_is_false(json_object_get(gate, "ok")));
  const char *reason = json_string_value(json_array_get(json_object_get(gate, "reasons"), 0));
  assert_non_null(reason);
  assert_non_null(strstr(reason, "session 2 comes 12 h 00 min after session 1"));
  assert_non_null(strstr(reason, "minimum interval is 1 day:"));
  json_decref(v);
  char *events = vigil_query_events_json(e, 0, b, 0);
  assert_non_null(strstr(events, "PHQ-9 14 at session 2 of 3 (previous 18, first 18)"));
  vigil_free(events);
}

/* docs/safety.md AS6: three minutes short of the minimum interval said
 * "comes 1.00 days after ... the minimum interval is 1 days: it holds". */
static void a_session_just_short_of_the_interval_says_so(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  discharge(e, session(e, "MRN-AS6", 18, NULL));
  vigil_engine_advance_to(e, T0 + 12 * HOUR);
  uint64_t b = session(e, "MRN-AS6", 14, NULL);
  json_t *v = visit_of(e, b);
  const char *reason = json_string_value(json_array_get(json_object_get(json_object_get(v, "gate"), "reasons"), 0));
  const char *until = reason ? strstr(reason, "holds until ") : NULL;
  assert_non_null(until);
  struct tm tm = {0};
  assert_non_null(strptime(until + strlen("holds until "), "%Y-%m-%dT%H:%M:%S", &tm));
  int64_t end = (int64_t)timegm(&tm) * 1000;
  json_decref(v);
  vigil_engine_advance_to(e, end - 3 * 60000);
  v = visit_of(e, b);
  reason = json_string_value(json_array_get(json_object_get(json_object_get(v, "gate"), "reasons"), 0));
  assert_non_null(reason);
  if (!strstr(reason, "comes 23 h 57 min after session 1") || !strstr(reason, "minimum interval is 1 day:"))
    fail_msg("three minutes short of the interval: %s", reason);
  json_decref(v);
}

static const char *str(json_t *j, const char *key) { return json_string_value(json_object_get(j, key)); }

static json_t *course_of(vigil_engine *e, const char *patient) {
  json_t *p = patient_of(e, patient);
  json_t *c = json_incref(json_array_get(json_object_get(p, "courses"), 0));
  json_decref(p);
  return c;
}

/* G9 (docs/safety.md): one open session of a course at a time. A second
 * visit of the patient while one is open is refused naming it, unless a
 * clinician gives a reason, which the course keeps. */
static void one_open_session_at_a_time(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  uint64_t a, b, c;
  assert_int_equal(vigil_visit_start(e, "course_test", "MRN-4", "nurse:ana", NULL, &a), 0);
  assert_int_equal(vigil_visit_start(e, "course_test", "MRN-4", "nurse:bo", NULL, &b), VIGIL_EEXIST);
  char want[64];
  snprintf(want, sizeof want, "has visit %llu open (session 1 of course", (unsigned long long)a);
  assert_non_null(strstr(vigil_engine_errmsg(e), want));
  assert_int_equal(vigil_visit_start_override(e, "course_test", "MRN-4", NULL, "dr:kim", NULL, " . ", &b),
                   VIGIL_EINVAL);
  json_t *co = course_of(e, "MRN-4");
  assert_int_equal(json_array_size(json_object_get(co, "sessions")), 1); /* nothing of the refusals */
  json_decref(co);
  /* Another patient is not held by MRN-4's visit. */
  assert_int_equal(vigil_visit_start(e, "course_test", "MRN-5", "nurse:bo", NULL, &c), 0);
  /* A clinician's reason: the second session starts, beside the first. */
  assert_int_equal(vigil_visit_start_override(e, "course_test", "MRN-4", NULL, "dr:kim", NULL,
                                              "first visit was opened on the wrong chair", &b),
                   0);
  char *events = vigil_query_events_json(e, 0, 0, 0);
  assert_non_null(strstr(events, "first visit was opened on the wrong chair"));
  vigil_free(events);
  /* Ended (aborted or discharged), the visit holds no more. */
  assert_int_equal(vigil_visit_abort(e, a, "nurse:ana", "wrong chair"), 0);
  assert_int_equal(vigil_visit_start(e, "course_test", "MRN-4", "nurse:ana", NULL, &c), VIGIL_EEXIST);
  /* The first aborted counts for nothing: b is the series' first (C13). */
  snprintf(want, sizeof want, "has visit %llu open (session 1 of course", (unsigned long long)b);
  assert_non_null(strstr(vigil_engine_errmsg(e), want));
  assert_int_equal(vigil_visit_abort(e, b, "nurse:ana", "patient unwell today"), 0);
  assert_int_equal(vigil_visit_start(e, "course_test", "MRN-4", "nurse:ana", NULL, &c), 0);
}

/* AR1 (docs/safety.md): the minimum interval runs from the dose. A visit
 * opened the evening before, its dose given the next morning: a session
 * 27 hours after the first visit's start, but 8 hours after its dose, is
 * held (it was not: the interval ran from the visit's start). Folded from the
 * log alike, once the discharged visit is no longer held. */
/* Loads tests/protocols/course_dose (a course that declares its dose_given
 * and dose_recorded items) beside the fixture's protocol. */
static void load_course_dose(vigil_engine *e) {
  if (vigil_engine_load(e, "tests/protocols/course_dose", NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));
}

/* The first reason visit id's gate gives ("" when it is met), kept until
 * the next call. */
static const char *gate_reason(vigil_engine *e, uint64_t id) {
  static char reason[1024];
  json_t *v = visit_of(e, id);
  const char *r = json_string_value(json_array_get(json_object_get(json_object_get(v, "gate"), "reasons"), 0));
  snprintf(reason, sizeof reason, "%s", r ? r : "");
  json_decref(v);
  return reason;
}

static void the_interval_runs_from_the_dose(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  load_course_dose(e);
  uint64_t a, b;
  assert_int_equal(vigil_visit_start(e, "course_dose_test", "MRN-D1", "nurse:ana", NULL, &a), 0);
  vigil_engine_advance_to(e, T0 + 20 * HOUR);
  assert_int_equal(vigil_visit_record_json(e, a, "nurse:ana", "{\"consent\": true, \"given\": 40}"), 0);
  discharge(e, a);
  vigil_engine_advance_to(e, T0 + 28 * HOUR);
  assert_int_equal(vigil_visit_start(e, "course_dose_test", "MRN-D1", "nurse:ana", NULL, &b), 0);
  assert_int_equal(vigil_visit_record_json(e, b, "nurse:ana", "{\"consent\": true}"), 0);
  const char *held = gate_reason(e, b);
  assert_non_null(strstr(held, "session 2 comes 8 h 00 min after session 1"));
  assert_non_null(strstr(held, "it holds until 2026-01-07T04:00:00"));
  /* Restarted: the discharged visit is folded, its dose time kept. */
  vigil_engine_free(f->e);
  open_engine(f, T0 + 28 * HOUR);
  e = f->e;
  load_course_dose(e);
  assert_non_null(strstr(gate_reason(e, b), "session 2 comes 8 h 00 min after session 1"));
  /* The interval from the dose passes: the gate holds no more. */
  vigil_engine_advance_to(e, T0 + 44 * HOUR + 1000);
  assert_string_equal(gate_reason(e, b), "");
}

/* AS5 (docs/safety.md): a session aborted with the dose recorded and no dose
 * given recorded (esketamine's dose and lot, then "vomited after the first
 * device") holds the minimum interval as a dose does; one aborted with
 * nothing of the dose recorded holds nothing. */
static void an_abort_with_the_dose_recorded_holds_the_interval(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  load_course_dose(e);
  uint64_t a, b, c;
  assert_int_equal(vigil_visit_start(e, "course_dose_test", "MRN-D2", "nurse:ana", NULL, &a), 0);
  assert_int_equal(vigil_visit_abort(e, a, "nurse:ana", "patient unwell"), 0);
  vigil_engine_advance_to(e, T0 + HOUR);
  assert_int_equal(vigil_visit_start(e, "course_dose_test", "MRN-D2", "nurse:ana", NULL, &b), 0);
  assert_int_equal(vigil_visit_record_json(e, b, "nurse:ana", "{\"consent\": true}"), 0);
  assert_string_equal(gate_reason(e, b), ""); /* nothing of a dose: no hold */
  assert_int_equal(vigil_visit_record_json(e, b, "nurse:ana", "{\"drawn\": 40}"), 0);
  assert_int_equal(vigil_visit_abort(e, b, "nurse:ana", "vomited after the first device"), 0);
  vigil_engine_advance_to(e, T0 + 2 * HOUR);
  assert_int_equal(vigil_visit_start(e, "course_dose_test", "MRN-D2", "nurse:ana", NULL, &c), 0);
  assert_int_equal(vigil_visit_record_json(e, c, "nurse:ana", "{\"consent\": true}"), 0);
  assert_non_null(strstr(gate_reason(e, c), "the last dose given (its visit aborted since)"));
}

/* G9: the course's minimum interval since the last completed session holds
 * a session's first gate, until it has passed or a clinician overrides; an
 * aborted session is no dose given and holds nothing. */
static void minimum_interval_holds_the_first_gate(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  uint64_t a = session(e, "MRN-6", 18, NULL);
  discharge(e, a);
  vigil_engine_advance_to(e, T0 + 6 * HOUR);
  uint64_t b = session(e, "MRN-6", 16, NULL);
  assert_int_equal(vigil_visit_advance(e, b, "nurse:ana"), VIGIL_EGATE);
  assert_non_null(strstr(vigil_engine_errmsg(e), "session 2 comes 6 h 00 min after session 1"));
  assert_non_null(strstr(vigil_engine_errmsg(e), "it holds until 2026-01-06T08:00:00"));
  /* Aborted: it counts for nothing, and the next session is held as well,
   * named in the one numbering: the series' second (C13: "session 3"). */
  assert_int_equal(vigil_visit_abort(e, b, "nurse:ana", "came too soon"), 0);
  vigil_engine_advance_to(e, T0 + 12 * HOUR);
  uint64_t c = session(e, "MRN-6", 15, NULL);
  json_t *v = visit_of(e, c);
  json_t *gate = json_object_get(v, "gate");
  assert_true(json_is_false(json_object_get(gate, "ok")));
  assert_non_null(strstr(json_string_value(json_array_get(json_object_get(gate, "reasons"), 0)),
                         "session 2 comes 12 h 00 min after session 1"));
  json_decref(v);
  /* The interval passes: the gate holds no more. */
  vigil_engine_advance_to(e, T0 + DAY + 1000);
  discharge(e, c);
  /* A clinician overrides with a reason: the way past. */
  vigil_engine_advance_to(e, T0 + 30 * HOUR);
  uint64_t d = session(e, "MRN-6", 14, NULL);
  assert_int_equal(vigil_visit_advance(e, d, "nurse:ana"), VIGIL_EGATE);
  assert_int_equal(vigil_visit_override(e, d, "dr:kim", "protocol deviation agreed with the psychiatrist"), 0);
  char *events = vigil_query_events_json(e, 0, d, 0);
  assert_non_null(strstr(events, "minimum interval"));
  vigil_free(events);
}

/* G9: an aborted session keeps its number but counts toward nothing (the
 * series, the measures, the interval); response and remission read the
 * sessions that completed, not two screenings with no infusion between. */
static void aborted_sessions_count_for_nothing(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  /* Two same-day screenings, PHQ-9 17 then 8, no infusion given. */
  uint64_t a = session(e, "MRN-8", 17, "{\"dose\": 0.7}");
  assert_int_equal(vigil_visit_abort(e, a, "nurse:ana", "blood pressure too high today"), 0);
  uint64_t b = session(e, "MRN-8", 8, NULL);
  json_t *c = course_of(e, "MRN-8");
  assert_true(json_is_null(json_object_get(c, "response")));
  assert_true(json_is_null(json_object_get(c, "remission")));
  json_t *s1 = json_array_get(json_object_get(c, "sessions"), 0);
  assert_int_equal((int)num(s1, "number"), 1);
  assert_true(json_is_false(json_object_get(s1, "counts")));
  assert_true(json_is_null(json_object_get(s1, "counted"))); /* C7: counts for nothing */
  assert_int_equal((int)num(json_array_get(json_object_get(c, "sessions"), 1), "counted"), 1);
  json_t *doses = json_object_get(json_object_get(c, "measures"), "dose");
  assert_int_equal(json_array_size(doses), 1); /* session 2's, not the aborted 0.7 */
  assert_true(num(json_array_get(doses, 0), "value") == 0.5);
  json_decref(c);
  /* The visit's course: no previous session, session 2 the series' first. */
  json_t *v = visit_of(e, b);
  json_t *vc = json_object_get(v, "course");
  assert_int_equal((int)num(vc, "session"), 2);
  assert_int_equal((int)num(vc, "counted"), 1); /* C7: the series' first, "session 1 of 3" */
  assert_true(json_is_null(json_object_get(vc, "previous")));
  json_decref(v);
  discharge(e, b);
  /* Session 3, completed: 8 -> 3 from completed sessions only. */
  vigil_engine_advance_to(e, T0 + 2 * DAY);
  uint64_t d = session(e, "MRN-8", 3, NULL);
  c = course_of(e, "MRN-8");
  assert_true(json_is_null(json_object_get(c, "response"))); /* session 3 has not completed */
  json_decref(c);
  discharge(e, d);
  c = course_of(e, "MRN-8");
  assert_true(json_is_true(json_object_get(c, "response")));  /* 8 -> 3 */
  assert_true(json_is_true(json_object_get(c, "remission"))); /* 3 < 5 */
  /* Three sessions, one aborted: the series (3) is not over. */
  assert_string_equal(str(c, "stage"), "induction");
  assert_string_equal(str(c, "next_due"), "2026-01-09T08:00:00.000Z");
  char *before = json_dumps(c, JSON_SORT_KEYS);
  json_decref(c);
  /* The same after a restart: the ends are in the log. */
  vigil_engine_free(f->e);
  open_engine(f, T0 + 2 * DAY);
  c = course_of(f->e, "MRN-8");
  char *after = json_dumps(c, JSON_SORT_KEYS);
  assert_string_equal(before, after);
  free(before);
  free(after);
  json_decref(c);
}

/* `within`: an induction series not complete within its window raises a
 * course alert for the clinician (once, after the missed session's), which
 * closes when the series completes. */
static void series_not_complete_within_its_window(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  discharge(e, session(e, "MRN-9", 20, NULL));
  vigil_engine_advance_to(e, T0 + 2 * DAY);
  discharge(e, session(e, "MRN-9", 18, NULL));
  vigil_engine_advance_to(e, T0 + 10 * DAY - 1000); /* within 10 days: no such alert yet */
  json_t *c = course_of(e, "MRN-9");
  json_t *alerts = json_object_get(c, "alerts");
  assert_int_equal(json_array_size(alerts), 1);
  assert_string_equal(str(json_array_get(alerts, 0), "rule"), "missed_session");
  assert_string_equal(str(json_array_get(alerts, 0), "priority"), "high"); /* the protocol's priorities */
  json_decref(c);
  vigil_engine_advance_to(e, T0 + 10 * DAY + HOUR);
  c = course_of(e, "MRN-9");
  alerts = json_object_get(c, "alerts");
  assert_int_equal(json_array_size(alerts), 2);
  json_t *late = json_array_get(alerts, 1);
  assert_string_equal(str(late, "rule"), "series_incomplete");
  assert_string_equal(str(late, "state"), "active");
  assert_string_equal(str(late, "priority"), "low");
  assert_non_null(strstr(str(late, "message"), "not complete within 10 days of its first session (2026-01-05): 2 of "
                                               "3 sessions completed"));
  json_decref(c);
  vigil_engine_advance_to(e, T0 + 11 * DAY);
  discharge(e, session(e, "MRN-9", 15, NULL));
  c = course_of(e, "MRN-9");
  alerts = json_object_get(c, "alerts");
  assert_int_equal(json_array_size(alerts), 3); /* raised once; then 20 -> 15 is no response */
  assert_string_equal(str(json_array_get(alerts, 1), "state"), "closed");
  assert_string_equal(str(json_array_get(alerts, 2), "rule"), "non_response");
  json_decref(c);
}

/* A closed course: the next visit starts a new one; two open courses on one
 * protocol for one patient are refused. */
static void closed_course_and_a_second_open_one(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  uint64_t course;
  assert_int_equal(vigil_course_start(e, "course_test", "MRN-3", "dr:kim", &course), 0);
  assert_int_equal(vigil_course_start(e, "course_test", "MRN-3", "dr:kim", NULL), VIGIL_EEXIST);
  uint64_t a = session(e, "MRN-3", 10, NULL);
  json_t *v = visit_of(e, a);
  assert_int_equal((uint64_t)num(json_object_get(v, "course"), "id"), course);
  json_decref(v);
  discharge(e, a);
  assert_int_equal(vigil_course_close(e, course, "dr:kim", ""), VIGIL_EINVAL);
  assert_int_equal(vigil_course_close(e, course + 99, "dr:kim", "moved"), VIGIL_ENOENT);
  assert_int_equal(vigil_course_close(e, course, "dr:kim", "moved away"), 0);
  assert_int_equal(vigil_course_close(e, course, "dr:kim", "moved away"), VIGIL_ESTATE);
  vigil_engine_advance_to(e, T0 + 5 * DAY);
  uint64_t b = session(e, "MRN-3", 12, NULL);
  v = visit_of(e, b);
  json_t *c = json_object_get(v, "course");
  assert_true(num(c, "id") > (double)course);
  assert_int_equal((int)num(c, "session"), 1);
  assert_true(json_is_true(json_object_get(c, "new")));
  json_decref(v);
  json_t *p = patient_of(e, "MRN-3");
  json_t *first = json_array_get(json_object_get(p, "courses"), 0);
  assert_string_equal(json_string_value(json_object_get(first, "status")), "closed");
  json_t *closed = json_object_get(first, "closed");
  assert_string_equal(json_string_value(json_object_get(closed, "by")), "dr:kim");
  assert_string_equal(json_string_value(json_object_get(closed, "reason")), "moved away");
  assert_true(json_is_null(json_object_get(first, "next_due")));
  json_decref(p);
  assert_null(vigil_patient_json(e, "nobody"));
}

/* The courses are the fold of the log: a new engine on the same store shows
 * each patient's courses exactly as the one that wrote it. */
static void courses_fold_from_the_log(void **state) {
  fixture *f = *state;
  sessions_measures_response_remission(state);
  closed_course_and_a_second_open_one(state);
  char *before1 = vigil_patient_json(f->e, "MRN-1"), *before3 = vigil_patient_json(f->e, "MRN-3");
  int64_t now = T0 + 12 * DAY;
  vigil_engine_advance_to(f->e, now);
  vigil_engine_free(f->e);
  open_engine(f, now);
  char *after1 = vigil_patient_json(f->e, "MRN-1"), *after3 = vigil_patient_json(f->e, "MRN-3");
  assert_non_null(after1);
  assert_string_equal(before1, after1);
  assert_string_equal(before3, after3);
  /* And a session after the restart joins the same course as its seventh. */
  uint64_t id = session(f->e, "MRN-1", 3, NULL);
  json_t *v = visit_of(f->e, id);
  assert_int_equal((int)num(json_object_get(v, "course"), "session"), 7);
  json_decref(v);
  vigil_free(before1);
  vigil_free(before3);
  vigil_free(after1);
  vigil_free(after3);
}

/* K3: a closed course does not reset the minimum interval (the patient's
 * last completed session on the protocol, of any course, holds the new
 * course's first gate); closing a course that is not complete, or within
 * the interval, is a clinician's; the new course shows the previous one's
 * baseline. K2: a patient spelled like an existing one but for letter case
 * is refused (VIGIL_EEXIST on new_patient) unless the start says it is new,
 * which its visit.started keeps. */
static void a_new_course_keeps_the_interval_and_the_baseline(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  char why[400];
  uint64_t a = session(e, "MRN-30", 16, NULL);
  json_t *v = visit_of(e, a);
  uint64_t course = (uint64_t)num(json_object_get(v, "course"), "id");
  json_decref(v);
  assert_int_equal(vigil_course_close_needs_clinician(e, course, why, sizeof why), 1); /* a session open */
  discharge(e, a);
  assert_int_equal(vigil_course_close_needs_clinician(e, course, why, sizeof why), 1);
  assert_non_null(strstr(why, "not complete (1 of its 3 sessions completed)"));
  vigil_engine_advance_to(e, T0 + 2 * HOUR);
  assert_int_equal(vigil_course_close(e, course, "dr:kim", "restart course"), 0);
  uint64_t b = session(e, "MRN-30", 8, NULL);
  v = visit_of(e, b);
  json_t *c = json_object_get(v, "course");
  assert_true(num(c, "id") > (double)course);
  assert_int_equal((int)num(c, "session"), 1);
  json_t *pc = json_object_get(c, "previous_course");
  assert_int_equal((uint64_t)num(pc, "id"), course);
  assert_int_equal((int)num(json_object_get(pc, "first"), "phq9"), 16);
  json_decref(v);
  assert_int_equal(vigil_visit_advance(e, b, "nurse:ana"), VIGIL_EGATE);
  char want[80];
  snprintf(want, sizeof want, "after session 1 of course %llu", (unsigned long long)course);
  assert_non_null(strstr(vigil_engine_errmsg(e), want));
  assert_non_null(strstr(vigil_engine_errmsg(e), "it holds until 2026-01-06T08:00:00"));
  json_t *p = patient_of(e, "MRN-30");
  pc = json_object_get(json_array_get(json_object_get(p, "courses"), 1), "previous_course");
  assert_int_equal((int)num(json_object_get(pc, "first"), "phq9"), 16);
  json_decref(p);

  /* K2: another spelling of MRN-30 is MRN-30, unless said to be new. */
  uint64_t x;
  assert_int_equal(vigil_visit_start(e, "course_test", "mrn-30", "nurse:ana", NULL, &x), VIGIL_EEXIST);
  assert_string_equal(vigil_engine_errfield(e), "new_patient");
  assert_non_null(strstr(vigil_engine_errmsg(e), "existing patient MRN-30"));
  assert_int_equal(vigil_visit_start(e, "course_test", "Mrn-30", "nurse:ana", NULL, &x), VIGIL_EEXIST);
  assert_int_equal(vigil_visit_start_ex(e, "course_test", "mrn-30", NULL, "nurse:ana", NULL, NULL, 1, &x), 0);
  char *events = vigil_query_events_json(e, 0, x, 0);
  assert_non_null(strstr(events, "\"new_patient\":true"));
  vigil_free(events);
  assert_null(vigil_patient_json(e, "mrn-31")); /* nothing of the refusals */
}

/* X3 (docs/workstation.md): the course's session dose was the dose drawn up,
 * not the dose given (44 mg drawn, 36 given: the patient page said 44). A
 * measure with `otherwise` reads its item (the dose given) when recorded and
 * its otherwise item (the dose drawn up) until then, saying so ("from"). */
static void the_dose_given_is_the_session_dose(void **state) {
  fixture *f = *state;
  uint64_t id = session(f->e, "MRN-X3", 20, NULL);
  assert_int_equal(vigil_visit_record_json(f->e, id, "nurse:ana", "{\"drawn\": 44}"), 0);
  json_t *p = patient_of(f->e, "MRN-X3");
  json_t *given =
      json_object_get(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "measures"), "given");
  assert_int_equal(json_array_size(given), 1);
  assert_true(num(json_array_get(given, 0), "value") == 44);
  assert_string_equal(str(json_array_get(given, 0), "from"), "session.drawn"); /* marked as the dose drawn up */
  json_decref(p);
  assert_int_equal(vigil_visit_record_json(f->e, id, "nurse:ana", "{\"given\": 36}"), 0);
  discharge(f->e, id);
  p = patient_of(f->e, "MRN-X3");
  given = json_object_get(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "measures"), "given");
  assert_int_equal(json_array_size(given), 1);
  assert_true(num(json_array_get(given, 0), "value") == 36);
  assert_null(json_object_get(json_array_get(given, 0), "from"));
  json_decref(p);
  /* Folded from the log alike. */
  vigil_engine_free(f->e);
  open_engine(f, T0);
  p = patient_of(f->e, "MRN-X3");
  given = json_object_get(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "measures"), "given");
  assert_true(num(json_array_get(given, 0), "value") == 36);
  assert_null(json_object_get(json_array_get(given, 0), "from"));
  json_decref(p);
}

/* AO4 (docs/safety.md): a REMS form's status and its alert agree at the
 * deadline's very instant. The alert escalates to "was due by" at the
 * deadline; the form's status said "due" until a millisecond after it. */
static const char rems_protocol[] =
    "local v = require \"vigil\"\n"
    "return v.protocol \"rems_test\" {\n"
    "  version = \"1.0.0\", title = \"REMS form test\",\n"
    "  course = v.course { sessions = 2, within = \"10d\", min_interval = \"1d\", interval = \"3d\", grace = \"1d\",\n"
    "                      rems_form = { due = \"7d\", alert = \"5d\" } },\n"
    "  phases = { v.phase \"session\" { items = { v.check \"consent\" { title = \"Consent\" } } } },\n"
    "}\n";

static json_t *rems_form_of(json_t *p) {
  json_t *forms = json_object_get(json_array_get(json_object_get(p, "courses"), 0), "rems_forms");
  assert_int_equal(json_array_size(forms), 1);
  return json_array_get(forms, 0);
}

static json_t *rems_alert_of(json_t *p) {
  json_t *alerts = json_object_get(json_array_get(json_object_get(p, "courses"), 0), "alerts");
  for (size_t i = 0; i < json_array_size(alerts); i++)
    if (!strcmp(str(json_array_get(alerts, i), "rule"), "rems_form")) return json_array_get(alerts, i);
  fail_msg("no rems_form alert");
  return NULL;
}

static void rems_form_overdue_when_its_alert_says_so(void **state) {
  fixture *f = *state;
  char dir[160], path[192], db[160];
  snprintf(dir, sizeof dir, "%s/rems_test", f->dir);
  snprintf(path, sizeof path, "%s/protocol.lua", dir);
  snprintf(db, sizeof db, "%s/rems.db", f->dir);
  if (mkdir(dir, 0700) < 0) fail_msg("mkdir %s", dir);
  FILE *out = fopen(path, "w");
  if (!out || fputs(rems_protocol, out) < 0 || fclose(out) != 0) fail_msg("writing %s", path);
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = db, .log = quiet};
  vigil_engine *e;
  if (vigil_engine_new(&o, &e) < 0) fail_msg("%s", vigil_engine_errmsg(NULL));
  if (vigil_engine_load(e, dir, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  uint64_t id;
  if (vigil_visit_start(e, "rems_test", "MRN-AO4", "nurse:ana", NULL, &id) < 0)
    fail_msg("start: %s", vigil_engine_errmsg(e));
  assert_int_equal(vigil_visit_record_json(e, id, "nurse:ana", "{\"consent\": true}"), 0);
  discharge(e, id);

  /* A millisecond before the deadline: due, and the alert says so. */
  vigil_engine_advance_to(e, T0 + 7 * DAY - 1);
  json_t *p = patient_of(e, "MRN-AO4");
  assert_string_equal(str(rems_form_of(p), "status"), "due");
  assert_non_null(strstr(str(rems_alert_of(p), "message"), "it is due by"));
  json_decref(p);

  /* At the deadline: the alert was due by, and the form is overdue. */
  vigil_engine_advance_to(e, T0 + 7 * DAY);
  p = patient_of(e, "MRN-AO4");
  assert_non_null(strstr(str(rems_alert_of(p), "message"), "was due by"));
  assert_string_equal(str(rems_alert_of(p), "priority"), "high");
  assert_string_equal(str(rems_form_of(p), "status"), "overdue");
  json_t *due = json_object_get(p, "forms_due");
  assert_string_equal(str(json_array_get(due, 0), "status"), "overdue");
  json_decref(p);
  vigil_engine_free(e);
}

/* AO4's sibling: a missed session is overdue (the course's `overdue`, the
 * ?due=overdue list) from the instant its missed_session alert is raised
 * (its due time plus the grace), not a millisecond later. */
static void missed_session_overdue_when_its_alert_is_raised(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  discharge(e, session(e, "MRN-AO4M", 20, NULL)); /* the next due in 2 days, a day's grace */
  for (int at = 0; at < 2; at++) {
    vigil_engine_advance_to(e, T0 + 3 * DAY - 1 + at);
    json_t *c = course_of(e, "MRN-AO4M");
    assert_int_equal(json_array_size(json_object_get(c, "alerts")), (size_t)at);
    assert_int_equal(json_is_true(json_object_get(c, "overdue")), at);
    json_decref(c);
    json_t *due = parse(vigil_patients_due_json(e, T0 + 30 * DAY, 1));
    assert_int_equal(json_array_size(json_object_get(due, "patients")), (size_t)at);
    json_decref(due);
  }
}

/* AR2 (docs/safety.md): a missed-session alert raised while the session's
 * visit sat open with no dose given closes when that dose is given, saying
 * why in the alert log, and the next session is due from that session: the
 * patient is not listed overdue beside a session discharged. */
static void a_dose_given_closes_the_missed_session_alert(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  load_course_dose(e);
  uint64_t a, b;
  assert_int_equal(vigil_visit_start(e, "course_dose_test", "MRN-AR2", "nurse:ana", NULL, &a), 0);
  assert_int_equal(vigil_visit_record_json(e, a, "nurse:ana", "{\"consent\": true, \"given\": 40}"), 0);
  discharge(e, a);
  /* Session 2 (due in 2 days) opened 2 hours late and left a day (the
   * grace) with no dose: the missed-session alert says so. */
  vigil_engine_advance_to(e, T0 + 2 * DAY + 2 * HOUR);
  assert_int_equal(vigil_visit_start(e, "course_dose_test", "MRN-AR2", "nurse:ana", NULL, &b), 0);
  assert_int_equal(vigil_visit_record_json(e, b, "nurse:ana", "{\"consent\": true}"), 0);
  vigil_engine_advance_to(e, T0 + 3 * DAY + 3 * HOUR);
  json_t *c = course_of(e, "MRN-AR2");
  assert_int_equal(json_array_size(json_object_get(c, "alerts")), 1);
  json_t *alert = json_array_get(json_object_get(c, "alerts"), 0);
  assert_string_equal(str(alert, "rule"), "missed_session");
  assert_string_equal(str(alert, "state"), "active");
  assert_non_null(strstr(str(alert, "message"), "with no dose given"));
  json_decref(c);
  /* The dose given an hour later: the alert closes, saying why. */
  vigil_engine_advance_to(e, T0 + 3 * DAY + 4 * HOUR);
  assert_int_equal(vigil_visit_record_json(e, b, "nurse:ana", "{\"given\": 40}"), 0);
  c = course_of(e, "MRN-AR2");
  assert_int_equal(json_array_size(json_object_get(c, "alerts")), 1);
  assert_string_not_equal(str(json_array_get(json_object_get(c, "alerts"), 0), "state"), "active");
  json_decref(c);
  json_t *log = parse(vigil_query_alert_log_json(e, 0, T0 + 30 * DAY, 0, 0));
  json_t *row = json_array_get(json_object_get(log, "alerts"), 0);
  assert_string_equal(str(row, "rule"), "missed_session");
  if (!str(row, "resolved_reason")) fail_msg("no resolved_reason: %s", str(row, "resolved_at") ? "resolved" : "open");
  assert_string_equal(str(row, "resolved_reason"), "dose_given");
  json_decref(log);
  discharge(e, b);
  /* Session 3 is due the interval (2 days) after session 2, not overdue
   * with its alert closed. */
  vigil_engine_advance_to(e, T0 + 4 * DAY);
  c = course_of(e, "MRN-AR2");
  assert_string_equal(str(c, "next_due"), "2026-01-09T10:00:00.000Z");
  assert_false(json_is_true(json_object_get(c, "overdue")));
  assert_int_equal(json_array_size(json_object_get(c, "alerts")), 1);
  json_decref(c);
  json_t *due = parse(vigil_patients_due_json(e, T0 + 30 * DAY, 1));
  assert_int_equal(json_array_size(json_object_get(due, "patients")), 0);
  json_decref(due);
  /* Folded from the log alike. */
  vigil_engine_free(f->e);
  open_engine(f, T0 + 4 * DAY);
  e = f->e;
  load_course_dose(e);
  c = course_of(e, "MRN-AR2");
  assert_string_equal(str(c, "next_due"), "2026-01-09T10:00:00.000Z");
  assert_int_equal(json_array_size(json_object_get(c, "alerts")), 1);
  assert_string_not_equal(str(json_array_get(json_object_get(c, "alerts"), 0), "state"), "active");
  json_decref(c);
}

/* AR7: the due list's last_session_at is the last session that counts (the
 * one its next_due runs from), not an aborted visit's start. */
static void the_due_list_names_the_last_session_given(void **state) {
  fixture *f = *state;
  vigil_engine *e = f->e;
  discharge(e, session(e, "MRN-AR7", 20, NULL));
  vigil_engine_advance_to(e, T0 + DAY);
  uint64_t b;
  assert_int_equal(vigil_visit_start(e, "course_test", "MRN-AR7", "nurse:ana", NULL, &b), 0);
  assert_int_equal(vigil_visit_abort(e, b, "nurse:ana", "started by mistake"), 0);
  json_t *due = parse(vigil_patients_due_json(e, T0 + 30 * DAY, 0));
  json_t *row = json_array_get(json_object_get(due, "patients"), 0);
  assert_string_equal(str(row, "patient"), "MRN-AR7");
  assert_int_equal((int)num(row, "sessions"), 2);
  assert_string_equal(str(row, "last_session_at"), "2026-01-05T08:00:00.000Z");
  json_decref(due);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(sessions_measures_response_remission, setup, teardown),
      cmocka_unit_test_setup_teardown(the_dose_given_is_the_session_dose, setup, teardown),
      cmocka_unit_test_setup_teardown(rules_see_the_course, setup, teardown),
      cmocka_unit_test_setup_teardown(a_session_just_short_of_the_interval_says_so, setup, teardown),
      cmocka_unit_test_setup_teardown(the_interval_runs_from_the_dose, setup, teardown),
      cmocka_unit_test_setup_teardown(an_abort_with_the_dose_recorded_holds_the_interval, setup, teardown),
      cmocka_unit_test_setup_teardown(closed_course_and_a_second_open_one, setup, teardown),
      cmocka_unit_test_setup_teardown(one_open_session_at_a_time, setup, teardown),
      cmocka_unit_test_setup_teardown(minimum_interval_holds_the_first_gate, setup, teardown),
      cmocka_unit_test_setup_teardown(aborted_sessions_count_for_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(series_not_complete_within_its_window, setup, teardown),
      cmocka_unit_test_setup_teardown(courses_fold_from_the_log, setup, teardown),
      cmocka_unit_test_setup_teardown(a_new_course_keeps_the_interval_and_the_baseline, setup, teardown),
      cmocka_unit_test_setup_teardown(rems_form_overdue_when_its_alert_says_so, setup, teardown),
      cmocka_unit_test_setup_teardown(missed_session_overdue_when_its_alert_is_raised, setup, teardown),
      cmocka_unit_test_setup_teardown(a_dose_given_closes_the_missed_session_alert, setup, teardown),
      cmocka_unit_test_setup_teardown(the_due_list_names_the_last_session_given, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
