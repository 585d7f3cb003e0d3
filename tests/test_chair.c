/* test_chair: one chair or bay however it is spelled, and two chairs never
 * one (core/engine/chair.c; docs/workstation.md AE6, AK3). The start form's
 * warning of a second patient in a chair with an active visit asks
 * GET /api/v1/visits?location= (test_server's test_site_day_and_escalation),
 * which compares a location with each visit's by these keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chair.h"

/* Whether a and b are one chair, each way round (the keys are the same
 * whichever is the visit's and whichever the query's). */
static int same_chair(const char *a, const char *b) {
  chair_key ka, kb;
  if (vigil__chair_key(a, &ka) < 0 || vigil__chair_key(b, &kb) < 0) fail_msg("no keys for \"%s\" or \"%s\"", a, b);
  int ab = vigil__chair_is(&ka, b), ba = vigil__chair_is(&kb, a);
  if (ab != ba) fail_msg("\"%s\" ~ \"%s\" one way only", a, b);
  vigil__chair_key_free(&ka);
  vigil__chair_key_free(&kb);
  return ab;
}

/* A chair, and spellings of it that must meet it. */
static void same_chair_spelled_otherwise(void **state) {
  (void)state;
  static const char *const pairs[][2] = {
      /* case, spaces, punctuation, leading zeros (AK3) */
      {"Chair 1", "chair1"},
      {"Chair 1", "CHAIR  1"},
      {"Chair 1", "Chair 01"},
      {"Chair 1", "Chair 001"},
      {"Chair 1", "Chair-1"},
      {"Chair 1", "Chair 1."},
      {"Chair 1", "Chair #1"},
      {"Chair 1", "chair_1"},
      /* other scripts: a Cyrillic capital Es, fullwidth letters and digits,
       * Arabic-Indic and Devanagari ones, a circled one */
      {"Chair 1", "\xd0\xa1hair 1"},
      {"Chair 1", "\xef\xbc\xa3\xef\xbd\x88\xef\xbd\x81\xef\xbd\x89\xef\xbd\x92\xe3\x80\x80\xef\xbc\x91"},
      {"Chair 1", "Chair \xd9\xa1"},
      {"Chair 1", "Chair \xe0\xa5\xa7"},
      {"Chair 1", "Chair \xe2\x91\xa0"},
      /* a digit-like letter: O for a zero, l or I for a one (AK3's leftover) */
      {"Chair 1", "Chair O1"},
      {"Chair 1", "Chair o1"},
      {"Chair 1", "Chair l"},
      {"Chair 1", "Chair I"},
      {"Chair 10", "Chair 1O"},
      {"Chair 101", "Chair 1O1"},
      {"Room 1-12", "Room l-12"},
      {"Room 1-12", "Room 1-l2"},
      /* two numbers, however they are set apart */
      {"Room 11-2", "Room 11 2"},
      {"Room 11-2", "Room 11.2"},
      {"Room 11-2", "room 11/2"},
      {"Room 11-2", "Room 011-02"},
      {"Room 1-12", "Room 1 \xe2\x80\x93 12"}, /* an en dash */
      {"Room 1-12", "Room 1\xe4\xb8\x80"
                    "12"}, /* the CJK one, drawn as a dash */
      {"Chair 1.0", "Chair 1-0"},
      {"Bay A-1", "bay a1"},
      {"Bay 1A-2", "Bay 1a2"},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
    if (!same_chair(pairs[i][0], pairs[i][1])) fail_msg("\"%s\" is not \"%s\"", pairs[i][1], pairs[i][0]);
}

/* Two chairs that must stay two: another number, numbers run together or
 * set apart, another word, nothing. */
static void other_chairs(void **state) {
  (void)state;
  static const char *const pairs[][2] = {
      {"Chair 1", "Chair 10"},
      {"Chair 1", "Chair 11"},
      {"Chair 1", "Chair 2"},
      {"Chair 1", "Chair 0"},
      {"Chair 1", "Chair"},
      {"Chair 1", "Bay 1"},
      {"Chair 1", "Chair B1"},
      {"Chair 1", "Chair 1-1"},
      {"Chair 1.0", "Chair 10"},
      {"Chair 1.5", "Chair 15"},
      {"Bay 1-12", "Bay 11-2"},
      {"Room 1-12", "Room 11-2"},
      {"Room 1-12", "Room 11 2"},
      {"Room 1-12", "Room 112"},
      {"Room 1 12", "Room 11.2"},
      {"Chair 3", "Chair 30"},
      {"Chair 3", "Chair 13"},
      {"Chair O", "Chair 1"},
      {"Chair Ol", "Chair 1"},
      {"...", "..."},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
    if (same_chair(pairs[i][0], pairs[i][1])) fail_msg("\"%s\" is taken for \"%s\"", pairs[i][1], pairs[i][0]);
}

/* Not UTF-8: no keys, and no chair is it. */
static void not_utf8(void **state) {
  (void)state;
  chair_key k;
  assert_int_equal(vigil__chair_key("Chair \xc3\x28", &k), -1);
  assert_null(k.fold);
  assert_int_equal(vigil__chair_key("Chair 1", &k), 0);
  assert_false(vigil__chair_is(&k, "Chair \xc3\x28"));
  assert_false(vigil__chair_is(&k, NULL));
  vigil__chair_key_free(&k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_chair_spelled_otherwise),
      cmocka_unit_test(other_chairs),
      cmocka_unit_test(not_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
