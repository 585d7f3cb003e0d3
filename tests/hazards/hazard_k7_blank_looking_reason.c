/* K7 (docs/safety.md, found by the third independent try, its #7): reasons
 * that display blank were accepted: three Braille blanks (U+2800) as a skip
 * and an override reason, one letter and two combining marks ("a\u0301\u0301").
 *
 * End to end against a real `vigil serve`: a clinician's override whose reason
 * is Braille blanks, Hangul fillers or a letter with combining marks is 422 on
 * reason, as is one letter and two marks of any script (Unicode's Mn, Me
 * by libutf8proc's tables, not hand-listed blocks); "typo" is taken. Fails
 * without the control (engine.c, the reason rule: vigil__unicode_says_nothing).
 *
 * M7 (the fifth independent try): reasons that say nothing were taken: a
 * course closed with spaces or three U+200B, a course alert's why (in
 * test_course_http), amendments, overrides and acknowledgements with "a..",
 * "n/a", "xxx", "123", a CR LF and a forged log line, ESC or U+0085. One
 * rule (vigil__reason_check) for every reason: control characters refused,
 * at least 4 letters or digits of any script, not one character repeated,
 * not a placeholder; each case below is 422 on its field, nothing recorded.
 * Fails without the control at the first of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

#define SCREENING_Q9_2                                                                                                 \
  "{\"consent\": true, \"ci_hypertension\": \"no\", \"ci_vascular\": \"no\", \"ci_psychosis\": \"no\","                \
  " \"ci_hypersensitivity\": \"no\", \"pregnancy\": \"not applicable\", \"substance_use\": \"no\","                    \
  " \"ride_confirmed\": true, \"baseline\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 70, \"spo2\": 98, \"rr\": 14},"        \
  " \"dose\": 35, \"phq9\": {\"q1\": 2, \"q2\": 2, \"q3\": 1, \"q4\": 1, \"q5\": 0, \"q6\": 1, \"q7\": 1, \"q8\": 0,"  \
  " \"q9\": 2}}"

/* M7: reasons that say nothing, as JSON string contents. */
static const char *const empty_reasons[] = {"a..",
                                            "1..",
                                            ".a.",
                                            "n/a",
                                            "N/A!",
                                            "ok.",
                                            "okay",
                                            "none",
                                            "test",
                                            "asdf",
                                            "xxx",
                                            "xxxx",
                                            "123",
                                            "1111",
                                            "abc\\r\\nseq 99 doc1 override approved",
                                            "\\u001b\\u001b\\u001babc",
                                            "\\u0085abc",
                                            "spoke\\twith them",
                                            "\\u200b\\u200b\\u200b",
                                            "   "};
#define N_EMPTY (sizeof empty_reasons / sizeof *empty_reasons)

/* The error's field of answer r (then released). */
static void refused_on(json_t *r, const char *field) {
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "field")), field);
  json_decref(r);
}

static void test_reasons_that_say_nothing_are_refused(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;
  char body[512], path[96];
  /* A visit with the carried self-harm alert (PHQ-9 item 9 scored 2). */
  assert_int_equal(as(&s, &nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"M7\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", SCREENING_Q9_2, NULL), 200);
  json_t *v = visit_get(&s, &nurse, id), *a;
  json_int_t alert = 0;
  size_t i;
  json_array_foreach(json_object_get(v, "alerts"), i, a) {
    if (!strcmp(json_string_value(json_object_get(a, "rule")), "self_harm"))
      alert = json_integer_value(json_object_get(a, "id"));
  }
  json_decref(v);
  assert_true(alert > 0);
  /* A second visit, nothing recorded, for the skips. */
  assert_int_equal(as(&s, &nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"M7b\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id2 = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  size_t before2 = history_len(&s, &doc, id2);
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/ack", (long long)alert);
  size_t before = history_len(&s, &doc, id);
  for (i = 0; i < N_EMPTY; i++) {
    snprintf(body, sizeof body, "{\"reason\": \"%s\", \"password\": \"" SERVE_PASSWORD "\"}", empty_reasons[i]);
    print_message("reason \"%s\"\n", empty_reasons[i]);
    assert_int_equal(visit_do(&s, &doc, id, "override", body, &r), 422);
    refused_on(r, "reason");
    assert_int_equal(as(&s, &doc, "POST", path, body, &r), 422);
    refused_on(r, "reason");
    snprintf(body, sizeof body, "{\"item\": \"dose\", \"value\": 36, \"reason\": \"%s\"}", empty_reasons[i]);
    assert_int_equal(visit_do(&s, &nurse, id, "amend", body, &r), 422);
    refused_on(r, "reason");
    snprintf(body, sizeof body, "{\"item\": \"ride_confirmed\", \"reason\": \"%s\"}", empty_reasons[i]);
    if (visit_do(&s, &nurse, id2, "skip", body, &r) != 422) fail_msg("skip: %s", json_dumps(r, 0));
    refused_on(r, "reason");
    snprintf(body, sizeof body, "{\"reason\": \"%s\"}", empty_reasons[i]);
    assert_int_equal(visit_do(&s, &nurse, id2, "abort", body, &r), 422);
    refused_on(r, "reason");
  }
  assert_int_equal(history_len(&s, &doc, id), before); /* nothing of it recorded */
  assert_int_equal(history_len(&s, &doc, id2), before2);
  /* Reasons that say something are taken, in any script: Greek (4 letters)
   * and Japanese (4). */
  assert_int_equal(as(&s, &doc, "POST", path, "{\"reason\": \"\u03c0\u03cc\u03bd\u03bf\u03c2\"}", NULL), 200);
  assert_int_equal(visit_do(&s, &nurse, id, "amend",
                            "{\"item\": \"dose\", \"value\": 36, \"reason\": \"\u5165\u529b\u8aa4\u308a\"}", NULL),
                   200);

  /* A course closed with a reason that says nothing. */
  assert_int_equal(
      as(&s, &nurse, "POST", "/api/v1/courses", "{\"protocol\": \"ketamine_iv\", \"patient\": \"M7-course\"}", &r),
      201);
  json_decref(r);
  assert_int_equal(as(&s, &nurse, "GET", "/api/v1/patients/M7-course", NULL, &r), 200);
  json_int_t course = json_integer_value(json_object_get(json_array_get(json_object_get(r, "courses"), 0), "id"));
  json_decref(r);
  assert_true(course > 0);
  snprintf(path, sizeof path, "/api/v1/courses/%lld/close", (long long)course);
  for (i = 0; i < N_EMPTY; i++) {
    snprintf(body, sizeof body, "{\"reason\": \"%s\", \"password\": \"" SERVE_PASSWORD "\"}", empty_reasons[i]);
    assert_int_equal(as(&s, &doc, "POST", path, body, &r), 422);
    refused_on(r, "reason");
  }
  assert_int_equal(as(&s, &doc, "POST", path,
                      "{\"reason\": \"moved to another clinic\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
  serve_cleanup(&s);
}

static void test_blank_looking_reasons_are_refused(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;
  assert_int_equal(as(&s, &nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"K7\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  /* And marks outside the blocks once listed (K7 residual): Devanagari's
   * vowel sign U+0941 and Tibetan's U+0F7A (Mn),
   * Thai's U+0E48 (Mn), an unassigned code point. */
  const char *blank[] = {"\\u2800\\u2800\\u2800", "a\\u0301\\u0301", "\\u3164\\u3164\\u3164", "\\u115f\\uffa0x",
                         "a\\u0941\\u0941", "b\\u0f7a\\u0f7a", "c\\u0e48\\u0e48", "d\\u0378\\u0378",
                         /* V2: symbols, punctuation and modifier letters only */
                         "\\u2022\\u2022\\u2022", "\\u2026\\u2026\\u2026", "\\u2605\\u2605\\u2605",
                         "\\u02d0\\u02d0\\u02d0", "\\u3005\\u3005\\u3005",
                         "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"};
  for (size_t i = 0; i < sizeof blank / sizeof *blank; i++) {
    char body[256];
    snprintf(body, sizeof body, "{\"reason\": \"%s\", \"password\": \"" SERVE_PASSWORD "\"}", blank[i]);
    assert_int_equal(visit_do(&s, &doc, id, "override", body, &r), 422);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "field")), "reason");
    json_decref(r);
  }
  /* A reason in another script is a reason: Greek, then Japanese. */
  assert_int_equal(visit_override_naming_items(
                       &s, &doc, id,
                       "{\"reason\": \"\\u03bb\\u03ac\\u03b8\\u03bf\\u03c2\", \"password\": \"" SERVE_PASSWORD "\"}",
                       NULL),
                   200);
  assert_int_equal(
      visit_override_naming_items(
          &s, &doc, id, "{\"reason\": \"\\u5165\\u529b\\u8aa4\\u308a\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
      200);
  assert_int_equal(
      visit_override_naming_items(&s, &doc, id, "{\"reason\": \"typo\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
      200);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_blank_looking_reasons_are_refused),
                                     cmocka_unit_test(test_reasons_that_say_nothing_are_refused)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
