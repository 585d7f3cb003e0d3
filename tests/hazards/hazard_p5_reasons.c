/* P5 (docs/safety.md, the seventh independent try): M7 and K7's reasons that
 * say nothing passed: Cyrillic look-alikes of placeholders ("te\u0455t"),
 * placeholders repeated ("test test", "testtest", "asdfasdf", "ok ok",
 * "na na"), "none given", "abab", "aaab", "zzzz1", "changed", on every
 * reason path; format, bidi and line-separator characters (U+2028, U+2029,
 * U+202E, U+200B) inside a reason were taken.
 *
 * End to end against a real `vigil serve` with the bundled ketamine_iv:
 * each is 422 on its field for an amendment, a clinician's override, an
 * abort, a start's override_reason and a course's close, nothing recorded,
 * and the character is named; real reasons in Greek, Japanese and Persian
 * (with its zero-width non-joiner) are taken. Fails without the control
 * (core/engine/reason.c: look_key, placeholders_only, distinct_up_to_3,
 * short_pattern_repeated, forbidden_char) at the first case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

/* As JSON string contents. */
static const char *const empty_reasons[] = {
    "te\\u0455t", "\\u0442est", "test test", "testtest", "asdfasdf", "ok ok",   "na na",       "none given",
    "abab",       "aaab",       "zzzz1",     "changed",  "abcabc",   "N/A n/a", "Test. Test.",
};
#define N_EMPTY (sizeof empty_reasons / sizeof *empty_reasons)

/* A real reason with one character a reason may not hold, and its name. */
static const char *const hidden[][2] = {
    {"patient asked\\u2028seq 99 override", "U+2028"},
    {"patient asked\\u2029to stop", "U+2029"},
    {"dose \\u202eslipped", "U+202E"},
    {"dose\\u200b entered twice", "U+200B"},
    {"dose entered \\u2066twice\\u2069", "U+2066"},
};
#define N_HIDDEN (sizeof hidden / sizeof *hidden)

/* The error of answer r (then released) is on field, its message saying
 * `says` when not NULL. */
static void refused_on(json_t *r, const char *field, const char *says) {
  json_t *err = json_object_get(r, "error");
  assert_string_equal(json_string_value(json_object_get(err, "field")), field);
  if (says) assert_non_null(strstr(json_string_value(json_object_get(err, "message")), says));
  json_decref(r);
}

static void each_path(serve_process *s, person *nurse, person *doc, json_int_t id, json_int_t course,
                      const char *reason, const char *says) {
  char body[512], path[96];
  json_t *r;
  print_message("reason \"%s\"\n", reason);
  snprintf(body, sizeof body, "{\"item\": \"dose\", \"value\": 36, \"reason\": \"%s\"}", reason);
  assert_int_equal(visit_do(s, nurse, id, "amend", body, &r), 422);
  refused_on(r, "reason", says);
  snprintf(body, sizeof body, "{\"reason\": \"%s\", \"password\": \"" SERVE_PASSWORD "\"}", reason);
  assert_int_equal(visit_do(s, doc, id, "override", body, &r), 422);
  refused_on(r, "reason", says);
  assert_int_equal(visit_do(s, nurse, id, "abort", body, &r), 422);
  refused_on(r, "reason", says);
  snprintf(path, sizeof path, "/api/v1/courses/%lld/close", (long long)course);
  assert_int_equal(as(s, doc, "POST", path, body, &r), 422);
  refused_on(r, "reason", says);
  /* A clinician's start beside the open visit, with an override_reason. */
  snprintf(body, sizeof body,
           "{\"protocol\": \"ketamine_iv\", \"patient\": \"P5\", \"params\": {\"weight\": 70}, \"override_reason\": "
           "\"%s\", \"password\": \"" SERVE_PASSWORD "\"}",
           reason);
  assert_int_equal(as(s, doc, "POST", "/api/v1/visits", body, &r), 422);
  refused_on(r, "override_reason", says);
}

static void test_reasons_that_still_said_nothing(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;
  json_int_t id = ketamine_visit_of(&s, &nurse, "P5");
  assert_true(id > 0);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", "{\"dose\": 35}", NULL), 200);
  assert_int_equal(as(&s, &nurse, "GET", "/api/v1/patients/P5", NULL, &r), 200);
  json_int_t course = json_integer_value(json_object_get(json_array_get(json_object_get(r, "courses"), 0), "id"));
  json_decref(r);
  assert_true(course > 0);
  size_t before = history_len(&s, &doc, id);
  for (size_t i = 0; i < N_EMPTY; i++)
    each_path(&s, &nurse, &doc, id, course, empty_reasons[i], NULL);
  for (size_t i = 0; i < N_HIDDEN; i++)
    each_path(&s, &nurse, &doc, id, course, hidden[i][0], hidden[i][1]);
  assert_int_equal(history_len(&s, &doc, id), before); /* nothing of it recorded */
  /* Reasons that say something are taken, in any script: Greek, Japanese,
   * and Persian with its zero-width non-joiner (U+200C). */
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"dose\", \"value\": 36, \"reason\": \"\u03c0\u03cc\u03bd\u03bf\u03c2\"}",
                            NULL),
                   200);
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"dose\", \"value\": 37, \"reason\": \"\u5165\u529b\u8aa4\u308a\"}", NULL),
                   200);
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"dose\", \"value\": 38, \"reason\": \"\u0646\u0645\u06cc\u200c\u062e\u0648"
                            "\u0627\u0647\u062f\"}",
                            NULL),
                   200);
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"dose\", \"value\": 35, \"reason\": \"test dose was entered twice\"}", NULL),
                   200);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_reasons_that_still_said_nothing)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
