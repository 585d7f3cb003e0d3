/* test_limiter.c: the guessing limiter's table (server/auth/limiter.c).
 *
 *   - a_flood_of_keys_does_not_free_a_locked_name: a name at its limit stays
 *     limited while an attacker rotates more keys than the table holds (T3
 *     of the second security review: the oldest key was evicted, resetting
 *     the victim's failures);
 *   - keys_past_the_table_still_count: a flood of new keys still meets the
 *     limit itself, and idle keys make room. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "auth/limiter.h"

#define WINDOW (15 * 60 * 1000LL)

static void a_flood_of_keys_does_not_free_a_locked_name(void **state) {
  (void)state;
  limiter *l = vigil__limiter_new(5, WINDOW);
  assert_non_null(l);
  int64_t now = 1000000;
  for (int i = 0; i < 5; i++)
    vigil__limiter_fail(l, "dr.osei", now++);
  assert_true(vigil__limiter_wait(l, "dr.osei", now) > 0);
  /* 5000 other names, one failure each, after the victim's: the victim is the oldest. */
  char key[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "rotating.%d", i);
    vigil__limiter_fail(l, key, ++now);
  }
  assert_true(vigil__limiter_wait(l, "dr.osei", now) > 0);
  /* And after them, still four more names at their limit each do not free it either. */
  for (int k = 0; k < 4; k++) {
    snprintf(key, sizeof key, "locked.%d", k);
    for (int i = 0; i < 5; i++)
      vigil__limiter_fail(l, key, ++now);
    assert_true(vigil__limiter_wait(l, key, now) > 0);
  }
  assert_true(vigil__limiter_wait(l, "dr.osei", now) > 0);
  /* Its window still ends. */
  assert_int_equal(vigil__limiter_wait(l, "dr.osei", now + WINDOW), 0);
  vigil__limiter_free(l);
}

static void keys_past_the_table_still_count(void **state) {
  (void)state;
  limiter *l = vigil__limiter_new(3, WINDOW);
  int64_t now = 1000000;
  char key[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(key, sizeof key, "k.%d", i);
    vigil__limiter_fail(l, key, ++now);
  }
  for (int i = 0; i < 3; i++)
    vigil__limiter_fail(l, "new.one", ++now);
  assert_true(vigil__limiter_wait(l, "new.one", now) > 0);
  vigil__limiter_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_flood_of_keys_does_not_free_a_locked_name),
      cmocka_unit_test(keys_past_the_table_still_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
