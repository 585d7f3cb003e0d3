/* K7 (docs/safety.md, found by the third independent try, its #7): reasons
 * that display blank were accepted: three Braille blanks (U+2800) as a skip
 * and an override reason, one letter and two combining marks ("a\u0301\u0301").
 *
 * End to end against a real `vigil serve`: a clinician's override whose reason
 * is Braille blanks, Hangul fillers or a letter with combining marks is 422 on
 * reason, as is one letter and two marks of any script (Unicode's Mn, Me
 * by libutf8proc's tables, not hand-listed blocks); "typo" is taken. Fails
 * without the control (engine.c, vigil__reason_ok: vigil__unicode_says_nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

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
  assert_int_equal(
      visit_do(&s, &doc, id, "override",
               "{\"reason\": \"\\u03bb\\u03ac\\u03b8\\u03bf\\u03c2\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
      200);
  assert_int_equal(visit_do(&s, &doc, id, "override",
                            "{\"reason\": \"\\u8aa4\\u5165\\u529b\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
  assert_int_equal(
      visit_do(&s, &doc, id, "override", "{\"reason\": \"typo\", \"password\": \"" SERVE_PASSWORD "\"}", NULL), 200);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_blank_looking_reasons_are_refused)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
