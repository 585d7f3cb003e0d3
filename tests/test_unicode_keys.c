/* test_unicode_keys: a patient reference's fold and confusable skeleton
 * (docs/safety.md K2, L5) are the same whether made character by character
 * from the kept keys of printable ASCII (issue 16) or by utf8proc's and
 * ICU's whole way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/utf8.h"

static void same(const char *s) {
  char *fast = vigil__unicode_fold(s), *full = vigil__unicode_fold_full(s);
  if (!fast || !full || strcmp(fast, full)) fail_msg("fold of \"%s\": \"%s\" vs \"%s\"", s, fast, full);
  free(fast), free(full);
  fast = vigil__unicode_skeleton(s), full = vigil__unicode_skeleton_full(s);
  if (!fast || !full || strcmp(fast, full)) fail_msg("skeleton of \"%s\": \"%s\" vs \"%s\"", s, fast, full);
  free(fast), free(full);
}

/* Every pair of printable ASCII characters, so that nothing one character's
 * key does depends on the next (a mark, a case that looks around). */
static void every_ascii_pair(void **state) {
  (void)state;
  char s[3] = {0};
  for (int a = 0x20; a < 0x7f; a++)
    for (int b = 0x20; b < 0x7f; b++) {
      s[0] = (char)a, s[1] = (char)b;
      same(s);
    }
}

static void references_and_look_alikes(void **state) {
  (void)state;
  const char *refs[] = {"MRN-200",
                        "mrn-2OO",
                        "ES-l00",
                        "ES-I00",
                        "es-1OO",
                        "Es-lOo",
                        "bench-12345",
                        "rn m",
                        "Ma\xc3\xaf"
                        "a-7",
                        "\xd0\x9cRN-200",
                        "mrn-2\xce\xbf"
                        "0",
                        "A 1|I",
                        "x\xcc\x81y",
                        ""};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    same(refs[i]);
  /* What the keys are for: look-alikes meet, others do not. */
  char *a = vigil__unicode_skeleton("ES-l00"), *b = vigil__unicode_skeleton("es-100"),
       *c = vigil__unicode_skeleton("ES-200");
  assert_non_null(a);
  assert_string_equal(a, b);
  assert_string_not_equal(a, c);
  free(a), free(b), free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_ascii_pair),
      cmocka_unit_test(references_and_look_alikes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
