/* test_plugin_common: the plugins' shared code (plugins/common): growth,
 * backoff, the types and start settings, cursors kept in the plugin's
 * namespace, against a small stand-in of vigil's plugin API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin_common/plugin_common.h"

/* ---- a stand-in of vigil_api: one kv slot, prefix patterns -------------------------------- */

static char kv_key[64], kv_val[64];
static size_t kv_len;
static int kv_set;

static int fake_kv_put(vigil_plugin *p, const char *key, const void *value, size_t len) {
  snprintf(kv_key, sizeof kv_key, "%s", key);
  memcpy(kv_val, value, len);
  kv_len = len;
  kv_set = 1;
  return 0;
}

static int fake_kv_get(vigil_plugin *p, const char *key, void **value, size_t *len) {
  if (!kv_set || strcmp(key, kv_key)) return -3;
  *value = malloc(kv_len); /* not NUL-terminated: the cursor must not read past it */
  memcpy(*value, kv_val, kv_len);
  *len = kv_len;
  return 0;
}

static uint64_t fake_last_seq(vigil_plugin *p) { return 40; }

static int fake_type_matches(vigil_plugin *p, const char *pattern, const char *type) {
  if (!strcmp(pattern, "*")) return 1;
  size_t n = strlen(pattern);
  if (n > 2 && !strcmp(pattern + n - 2, ".*")) return !strncmp(type, pattern, n - 1);
  return !strcmp(pattern, type);
}

static void fake_free(void *ptr) { free(ptr); }

static const vigil_api api = {.kv_put = fake_kv_put,
                              .kv_get = fake_kv_get,
                              .last_seq = fake_last_seq,
                              .type_matches = fake_type_matches,
                              .free = fake_free};

/* ---- the tests ------------------------------------------------------------------------------ */

static void growth_doubles_from_first_and_refuses_overflow(void **state) {
  size_t cap = 0;
  int *v = vigil__plugin_grow(NULL, &cap, 1, sizeof *v, 4);
  assert_non_null(v);
  assert_int_equal(cap, 4);
  assert_ptr_equal(vigil__plugin_grow(v, &cap, 4, sizeof *v, 4), v); /* room already */
  v = vigil__plugin_grow(v, &cap, 5, sizeof *v, 4);
  assert_non_null(v);
  assert_int_equal(cap, 8);
  v = vigil__plugin_grow(v, &cap, 33, sizeof *v, 4);
  assert_int_equal(cap, 64);
  v[63] = 1;
  /* A size that would overflow: NULL, and the array and its capacity are left as they were. */
  assert_null(vigil__plugin_grow(v, &cap, (size_t)-1 / 2, sizeof *v, 4));
  assert_int_equal(cap, 64);
  assert_int_equal(v[63], 1);
  free(v);
}

static void backoff_doubles_up_to_the_most(void **state) {
  assert_true(vigil__plugin_backoff_ms(1000, 60000, 0) == 1000);
  assert_true(vigil__plugin_backoff_ms(1000, 60000, 1) == 1000);
  assert_true(vigil__plugin_backoff_ms(1000, 60000, 2) == 2000);
  assert_true(vigil__plugin_backoff_ms(1000, 60000, 4) == 8000);
  assert_true(vigil__plugin_backoff_ms(1000, 60000, 7) == 60000);
  assert_true(vigil__plugin_backoff_ms(1000, 60000, 4000000000u) == 60000);
}

static void types_are_a_pattern_or_a_list(void **state) {
  char *err = NULL;
  vigil__plugin_types t = {0};
  assert_int_equal(vigil__plugin_types_read(&t, NULL, "alert.*", "plugins.x.types", &err), 0);
  assert_int_equal(t.n, 1);
  assert_true(vigil__plugin_types_wanted(&t, &api, NULL, "alert.raised"));
  assert_false(vigil__plugin_types_wanted(&t, &api, NULL, "item.overdue"));
  vigil__plugin_types_free(&t);

  json_t *list = json_pack("[s, s]", "item.overdue", "visit.*");
  assert_int_equal(vigil__plugin_types_read(&t, list, "*", "plugins.x.types", &err), 0);
  assert_int_equal(t.n, 2);
  assert_true(vigil__plugin_types_wanted(&t, &api, NULL, "visit.started"));
  assert_false(vigil__plugin_types_wanted(&t, &api, NULL, "alert.raised"));
  vigil__plugin_types_free(&t);
  json_decref(list);

  json_t *bad = json_pack("[s, i]", "alert.*", 3);
  assert_int_equal(vigil__plugin_types_read(&t, bad, "*", "plugins.x.types", &err), -2);
  assert_string_equal(err, "plugins.x.types[2] is not text");
  free(err);
  vigil__plugin_types_free(&t);
  json_decref(bad);

  json_t *number = json_integer(3);
  assert_int_equal(vigil__plugin_types_read(&t, number, "*", "plugins.x.types", &err), -2);
  assert_string_equal(err, "plugins.x.types: a pattern (\"alert.*\") or a list of them");
  free(err);
  json_decref(number);
}

static void start_is_now_or_beginning(void **state) {
  char *err = NULL;
  int from_beginning = -1;
  assert_int_equal(vigil__plugin_start_read(NULL, "plugins.x.start", &from_beginning, &err), 0);
  assert_int_equal(from_beginning, 0);
  json_t *s = json_string("beginning");
  assert_int_equal(vigil__plugin_start_read(s, "plugins.x.start", &from_beginning, &err), 0);
  assert_int_equal(from_beginning, 1);
  json_decref(s);
  s = json_string("yesterday");
  assert_int_equal(vigil__plugin_start_read(s, "plugins.x.start", &from_beginning, &err), -2);
  assert_non_null(strstr(err, "plugins.x.start: \"now\" (the default) or \"beginning\" of the log, not 'yesterday'"));
  free(err);
  json_decref(s);
}

static void a_cursor_is_kept_and_a_new_one_starts_where_it_is_told(void **state) {
  kv_set = 0;
  uint64_t seq = 0;
  assert_int_equal(vigil__plugin_cursor_load(&api, NULL, "cursor", &seq), 0);
  /* A new cursor starts at the given seq and is kept at once. */
  assert_int_equal(vigil__plugin_cursor_open(&api, NULL, "cursor", 40), 40);
  assert_int_equal(kv_set, 1);
  assert_string_equal(kv_key, "cursor");
  assert_int_equal(vigil__plugin_cursor_save(&api, NULL, "cursor", 12345678901234ULL), 0);
  assert_int_equal(vigil__plugin_cursor_open(&api, NULL, "cursor", 40), 12345678901234ULL);
  assert_int_equal(vigil__plugin_cursor_load(&api, NULL, "cursor", &seq), 1);
  assert_int_equal(seq, 12345678901234ULL);
  assert_int_equal(vigil__plugin_backlog(&api, NULL, 30), 10);
  assert_int_equal(vigil__plugin_backlog(&api, NULL, 50), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(growth_doubles_from_first_and_refuses_overflow),
      cmocka_unit_test(backoff_doubles_up_to_the_most),
      cmocka_unit_test(types_are_a_pattern_or_a_list),
      cmocka_unit_test(start_is_now_or_beginning),
      cmocka_unit_test(a_cursor_is_kept_and_a_new_one_starts_where_it_is_told),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
