/* G2 (docs/safety.md, found by the second independent try, its #7): a
 * clinician overrode the gate with the reason " ", then ".", and the
 * gate.overridden event kept a reason that says nothing.
 *
 * End to end against a real `vigil serve` on the bundled ketamine_iv: an
 * override, an abort, an amendment and a skip whose reason is blank, white
 * space only, or fewer than three characters that are not blank with no
 * letter or digit ("." "--") are refused (422, field reason) and nothing is
 * recorded (the visit's history does not grow); a short real reason ("typo")
 * is taken. Fails without the control (engine.c, vigil__reason_ok, used by
 * the commands in commands.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hazard_people.h"

static void test_a_reason_that_says_nothing_is_refused(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(people_serve(&s), 0);
  person nurse = {NURSE, ""}, doc = {CLINICIAN, ""};
  json_t *r;

  assert_int_equal(as(&s, &nurse, "POST", "/api/v1/visits",
                      "{\"protocol\": \"ketamine_iv\", \"patient\": \"G2\", \"params\": {\"weight\": 70}}", &r),
                   201);
  json_int_t id = json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  assert_int_equal(visit_do(&s, &nurse, id, "entries", "{\"dose\": 35}", NULL), 200);
  size_t before = history_len(&s, &doc, id);
  assert_true(before > 0);

  static const char *blank[] = {"", " ", "   \\t\\n ", ".", "--", "x"};
  for (size_t i = 0; i < sizeof blank / sizeof blank[0]; i++) {
    char body[256];
    snprintf(body, sizeof body, "{\"reason\": \"%s\", \"password\": \"" SERVE_PASSWORD "\"}", blank[i]);
    assert_int_equal(visit_do(&s, &doc, id, "override", body, &r), 422);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "field")), "reason");
    json_decref(r);
    snprintf(body, sizeof body, "{\"reason\": \"%s\"}", blank[i]);
    assert_int_equal(visit_do(&s, &nurse, id, "abort", body, &r), 422);
    json_decref(r);
    snprintf(body, sizeof body, "{\"item\": \"dose\", \"value\": 36, \"reason\": \"%s\"}", blank[i]);
    assert_int_equal(visit_do(&s, &nurse, id, "amend", body, &r), 422);
    json_decref(r);
    snprintf(body, sizeof body, "{\"item\": \"ride_confirmed\", \"reason\": \"%s\"}", blank[i]);
    int st = visit_do(&s, &nurse, id, "skip", body, &r);
    assert_true(st == 422);
    json_decref(r);
  }
  /* Nothing of it was recorded. */
  assert_int_equal(history_len(&s, &doc, id), before);
  json_t *v = visit_get(&s, &nurse, id);
  assert_string_equal(json_string_value(json_object_get(v, "status")), "active");
  assert_int_equal(json_integer_value(json_object_get(visit_item(v, "screening", "dose"), "value")), 35);
  json_decref(v);

  /* A short reason that says something is taken. */
  assert_int_equal(visit_do(&s, &nurse, id, "amend", "{\"item\": \"dose\", \"value\": 36, \"reason\": \"typo\"}", NULL),
                   200);
  assert_int_equal(visit_override_naming_items(
                       &s, &doc, id, "{\"reason\": \"reviewed\", \"password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_a_reason_that_says_nothing_is_refused)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
