/* test_value_json.c: vigil__val_parse_json (core/value_json.c), which recovery uses
 * to read stored events back, gives what jansson + vigil__val_from_json gave for
 * every text, and refuses what jansson refuses. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/intern.h"
#include "lang/value_convert.h"

static int setup(void **state) {
  (void)state;
  return vigil__intern_retain();
}

static int teardown(void **state) {
  (void)state;
  vigil__intern_release();
  return 0;
}

/* A val's canonical JSON (malloc'd), the val released. */
static char *canonical(val v) {
  buf b;
  vigil__buf_init(&b);
  vigil__val_to_json(&b, v);
  vigil__val_release(v);
  vigil__buf_putc(&b, '\0');
  return b.p;
}

/* The canonical JSON of a parsed text, by either road; NULL if refused. */
static char *by_jansson(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, JSON_PRESERVE_ORDER | JSON_DECODE_ANY, &e);
  val v;
  char err[200];
  if (!j || vigil__val_from_json(j, &v, err, sizeof err) < 0) {
    json_decref(j);
    return NULL;
  }
  json_decref(j);
  return canonical(v);
}

static char *by_parser(const char *text) {
  val v;
  char err[200] = "";
  if (vigil__val_parse_json(text, strlen(text), &v, err, sizeof err) < 0) {
    assert_true(err[0] != '\0');
    return NULL;
  }
  return canonical(v);
}

static void same(const char *text) {
  char *a = by_jansson(text), *b = by_parser(text);
  if (!a || !b || strcmp(a, b)) fail_msg("%s: jansson %s, parser %s", text, a ? a : "(refused)", b ? b : "(refused)");
  free(a);
  free(b);
}

static void both_refuse(const char *text) {
  char *a = by_jansson(text), *b = by_parser(text);
  if (a || b) fail_msg("%s: jansson %s, parser %s", text, a ? a : "(refused)", b ? b : "(refused)");
}

static void stored_events_read_the_same(void **state) {
  (void)state;
  same("{\"seq\":12,\"time\":\"2025-01-01T00:15:00.000Z\",\"visit\":3,\"type\":\"item.recorded\",\"actor\":\"bench\","
       "\"data\":{\"item\":\"visit.vitals\",\"value\":{\"sbp\":171,\"spo2\":97,\"hr\":88},\"by\":\"bench\"}}");
  same("{\"seq\":1,\"actor\":\"vigil\",\"data\":{\"reasons\":[\"last vitals out of range\"],\"ok\":false,\"x\":null}}");
  same("  [1, -2, 3.5, -0.25, 1e3, 2E-2, 0, -0, 123456789012345, 0.1, 1.7976931348623157e308, 5e-324]  ");
  same("{\"a\":{\"b\":{\"c\":[[],{},[{}]]}}}");
  same("\"plain\"");
  same("true");
  same("null");
}

static void strings_decode_the_same(void **state) {
  (void)state;
  same("\"quote \\\" backslash \\\\ slash \\/ \\b \\f \\n \\r \\t\"");
  same("\"\\u00e9t\\u00E9 \\u20ac \\ud83d\\ude00 caf\\u00e9\"");
  same("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  same("{\"cl\\u00e9\":\"v\",\"k2\":\"\"}");
}

static void bad_text_is_refused_by_both(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      "   ",
      "{",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{a:1}",
      "[1 2]",
      "01",
      "1.",
      ".5",
      "-",
      "1e",
      "+1",
      "NaN",
      "Infinity",
      "tru",
      "nul",
      "\"abc",
      "\"a\\x\"",
      "\"\\u12\"",
      "\"\\ud800\"",
      "\"\\udc00\"",
      "\"\x01\"",
      "\"\xc3\"",
      "\"\xed\xa0\x80\"",
      "\"\xff\"",
      "1 2",
      "[1] x",
      "\"\\u0000\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    both_refuse(bad[i]);
}

static void nesting_has_a_limit(void **state) {
  (void)state;
  char deep[64] = "";
  for (int i = 0; i < 20; i++)
    strcat(deep, "[");
  for (int i = 0; i < 20; i++)
    strcat(deep, "]");
  assert_null(by_parser(deep));
  assert_null(by_jansson(deep));
  same("[[[[[[1]]]]]]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stored_events_read_the_same),
      cmocka_unit_test(strings_decode_the_same),
      cmocka_unit_test(bad_text_is_refused_by_both),
      cmocka_unit_test(nesting_has_a_limit),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
