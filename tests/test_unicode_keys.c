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

#include <sys/wait.h>
#include <unistd.h>

#include "base/utf8.h"
#include "vigil/vigil.h"

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

/* AA4: a dash or a dot outside ASCII, by Unicode's confusables (and the few
 * they lack): a dash is '-', a dot is left out; the long dash's modifier
 * letter and a Hangul vowel inside its syllable are not dashes. */
static void dashes_and_dots(void **state) {
  (void)state;
  static const char *const alike[] = {
      "MRN\xcb\x97"
      "500",                 /* U+02D7 */
      "MRN-500\xe2\x88\x99", /* U+2219 */
      "MRN-500\xe2\x88\xb6", /* U+2236 */
      "MRN-500\xe3\x86\x8d", /* U+318D */
      "MRN-500\xe2\x97\x8f", /* U+25CF */
      "MRN-500\xe2\xa6\x81", /* U+2981 */
      "MRN\xe4\xb8\x80"
      "500", /* U+4E00 */
      "MRN\xe2\x8e\xaf"
      "500", /* U+23AF */
      "MRN\xe1\xa0\x86"
      "500", /* U+1806 */
      "MRN\xe2\x80\x94"
      "500", /* U+2014 */
  };
  char *want = vigil__unicode_skeleton("MRN-500");
  assert_non_null(want);
  for (size_t i = 0; i < sizeof alike / sizeof *alike; i++) {
    char *k = vigil__unicode_skeleton(alike[i]);
    if (!k || strcmp(k, want)) fail_msg("%zu: \"%s\" vs \"%s\"", i, k ? k : "(null)", want);
    free(k);
  }
  /* U+30FC lengthens (X3): left out, not a dash. */
  char *a = vigil__unicode_skeleton("MRN\xe3\x83\xbc"
                                    "500"),
       *b = vigil__unicode_skeleton("MRN500");
  assert_non_null(a);
  assert_string_equal(a, b);
  free(a), free(b);
  /* A Hangul syllable typed as its jamo (U+1100 U+1173) is its syllable U+ADF8. */
  a = vigil__unicode_skeleton("\xe1\x84\x80\xe1\x85\xb3 7"), b = vigil__unicode_skeleton("\xea\xb7\xb8 7");
  assert_non_null(a);
  assert_string_equal(a, b);
  free(a), free(b), free(want);
}

/* AB5: the dash-likes AA4's confusables and list missed, each between
 * MRN and 900, is MRN-900's key: strokes by category (So, Sm, Pd; the
 * fullwidth tilde as the wave dash it is drawn as), and a letter or space
 * of a script excluded from identifiers (the Ogham space mark, Coptic) in an
 * id of ASCII letters. Fails without it ("MRN 900" and the others keep
 * their own key). What is not a stroke keeps its key: drawn as ASCII
 * (U+2215 as '/', fullwidth parentheses), a Braille dot and the blanks
 * (Z5, Y2), a letter of a script in use, and a name written in an excluded
 * script alone (no ASCII letter) is not turned into dashes. */
static void strokes_and_excluded_scripts(void **state) {
  (void)state;
  static const char *const alike[] = {
      "MRN\xe1\x9a\x80"
      "900", /* U+1680 OGHAM SPACE MARK */
      "MRN\xf0\x90\x86\x91"
      "900", /* U+10191 ROMAN UNCIA SIGN */
      "MRN\xe2\xb2\xbd"
      "900", /* U+2CBD COPTIC SMALL LETTER CRYPTOGRAMMIC NI */
      "MRN\xe2\x8e\xbc"
      "900", /* U+23BC HORIZONTAL SCAN LINE-7 */
      "MRN\xe2\x8e\xbd"
      "900", /* U+23BD HORIZONTAL SCAN LINE-9 */
      "MRN\xe2\x95\xb4"
      "900", /* U+2574 BOX DRAWINGS LIGHT LEFT */
      "MRN\xe2\x95\xb6"
      "900", /* U+2576 BOX DRAWINGS LIGHT RIGHT */
      "MRN\xef\xbd\x9e"
      "900", /* U+FF5E FULLWIDTH TILDE */
      "MRN\xe3\x80\x9c"
      "900", /* U+301C WAVE DASH */
      "MRN\xe2\x8e\xaf"
      "900", /* U+23AF (AA4's list, by category now) */
      "MRN\xe1\xa0\x86"
      "900", /* U+1806 (the same) */
  };
  char *want = vigil__unicode_skeleton("MRN-900");
  assert_non_null(want);
  for (size_t i = 0; i < sizeof alike / sizeof *alike; i++) {
    char *k = vigil__unicode_skeleton(alike[i]);
    if (!k || strcmp(k, want))
      fail_msg("%zu: \"%s\" is \"%s\", not MRN-900's \"%s\"", i, alike[i], k ? k : "(null)", want);
    free(k);
  }
  /* Not strokes: each keeps the key it had. */
  static const char *const other[][2] = {
      {"MRN\xe2\x88\x95"
       "900",
       "MRN/900"}, /* U+2215 DIVISION SLASH is drawn as '/' */
      {"MRN\xef\xbc\x88"
       "900\xef\xbc\x89",
       "MRN(900)"},                           /* fullwidth parentheses */
      {"MRN-900\xe2\xa0\x81", "MRN-900"},     /* U+2801, a Braille dot: left out (Z5) */
      {"MRN-900\xf0\x9d\x85\x99", "MRN-900"}, /* U+1D159 null notehead: a blank (Y2) */
      {"MRN-900\xd0\x96", "MRN-900\xd0\x96"}, /* a Cyrillic letter stays a letter */
  };
  for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
    char *a = vigil__unicode_skeleton(other[i][0]), *b = vigil__unicode_skeleton(other[i][1]);
    assert_non_null(a);
    assert_non_null(b);
    if (strcmp(a, b)) fail_msg("%zu: \"%s\" is \"%s\", not \"%s\"'s \"%s\"", i, other[i][0], a, other[i][1], b);
    free(a), free(b);
  }
  /* A name in a script excluded from identifiers alone (Mongolian, by
   * Unicode's table) is not dashes: two names, two keys. */
  char *a = vigil__unicode_skeleton("\xe1\xa0\xb0\xe1\xa0\xa0 7"),
       *b = vigil__unicode_skeleton("\xe1\xa0\xb2\xe1\xa0\xa0 7");
  assert_non_null(a);
  assert_non_null(b);
  if (!strcmp(a, b)) fail_msg("two Mongolian names, one key: \"%s\"", a);
  free(a), free(b), free(want);
}

/* docs/workstation.md X1: every separator between a reference's parts, at
 * its ends, or none at all, is one patient reference key (fold and
 * skeleton alike): space, '-', '_', '.', '/', a dash-like (U+2010, U+2014)
 * and a blank (U+3000), these three by the whole way rather than the fast
 * one (printable ASCII). Other digits or letters are still other keys.
 * Fails without it (the keys keeping their separators): fold 1: "MRN 1003"
 * is "mrn 1003", not MRN-1003's "mrn-1003". */
static void separators(void **state) {
  (void)state;
  static const char *const alike[] = {
      "MRN-1003",
      "MRN 1003",
      "MRN_1003",
      "MRN.1003",
      "MRN/1003",
      "MRN-1003.",
      "MRN1003",
      "mrn - 1003",
      "-MRN-1003-",
      "MRN\xe2\x80\x90"
      "1003", /* U+2010 HYPHEN */
      "MRN\xe2\x80\x94"
      "1003", /* U+2014 EM DASH */
      "MRN\xe3\x80\x80"
      "1003", /* U+3000 IDEOGRAPHIC SPACE */
  };
  char *(*const key[2])(const char *) = {vigil__unicode_id_fold, vigil__unicode_id_skeleton};
  for (int way = 0; way < 2; way++) {
    char *want = key[way]("MRN-1003");
    assert_non_null(want);
    for (size_t i = 0; i < sizeof alike / sizeof *alike; i++) {
      char *k = key[way](alike[i]);
      if (!k || strcmp(k, want))
        fail_msg("%s %zu: \"%s\" is \"%s\", not MRN-1003's \"%s\"", way ? "skeleton" : "fold", i, alike[i],
                 k ? k : "(null)", want);
      free(k);
    }
    static const char *const other[] = {"MRN-1004", "MRN-10030", "MRX 1003", "MRN-103"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
      char *k = key[way](other[i]);
      assert_non_null(k);
      if (!strcmp(k, want)) fail_msg("%s: \"%s\" is MRN-1003's key \"%s\"", way ? "skeleton" : "fold", other[i], k);
      free(k);
    }
    free(want);
  }
}

/* The key of way: MRN-903's for each of alike, not for another number. */
static void keyed_alike(char *(*way)(const char *), const char *of, const char *const *alike, size_t n,
                        const char *other) {
  char *want = way(of), *not = way(other);
  assert_non_null(want);
  assert_non_null(not );
  if (!strcmp(want, not )) fail_msg("\"%s\" is %s's key \"%s\"", other, of, not );
  for (size_t i = 0; i < n; i++) {
    char *k = way(alike[i]);
    if (!k || strcmp(k, want))
      fail_msg("%zu: \"%s\" is \"%s\", not %s's \"%s\"", i, alike[i], k ? k : "(null)", of, want);
    free(k);
  }
  free(want);
  free(not );
}

/* docs/security.md AH6: with MRN-903 open, the ASCII MRN+903, MRN:903,
 * MRN#903 ... were other patients while their fullwidth forms were
 * look-alikes; every ASCII punctuation mark is a separator now (both keys).
 * U+1428 and a lone U+1173 in the dash's place, U+4E28 and U+05C0 in the
 * 1's (skeleton); a Hangul eu after its leading consonant stays a letter.
 * Fails without it: fold 0: "MRN+903" is "mrn+903", not MRN-903's "mrn903". */
static void punctuation_and_strokes_of_the_eighth_try(void **state) {
  (void)state;
  static const char *const ascii[] = {"MRN+903",  "MRN:903",  "MRN#903",  "MRN,903", "MRN~903", "MRN;903",
                                      "MRN(903)", "MRN!903",  "MRN*903",  "MRN=903", "MRN'903", "MRN\"903",
                                      "MRN[903]", "MRN{903}", "MRN<903>", "MRN@903", "MRN$903", "MRN%903",
                                      "MRN&903",  "MRN?903",  "MRN^903",  "MRN`903", "MRN|903", "MRN\\903"};
  keyed_alike(vigil__unicode_id_fold, "MRN-903", ascii, sizeof ascii / sizeof *ascii, "MRN-904");
  static const char *const drawn[] = {
      "MRN\xef\xbc\x8b"
      "903", /* U+FF0B FULLWIDTH PLUS SIGN */
      "MRN\xef\xbc\x83"
      "903", /* U+FF03 FULLWIDTH NUMBER SIGN */
      "MRN\xe1\x90\xa8"
      "903", /* U+1428 CANADIAN SYLLABICS FINAL SHORT HORIZONTAL STROKE */
      "MRN\xe1\x85\xb3"
      "903", /* U+1173 HANGUL JUNGSEONG EU, alone */
      "MRN+903",
  };
  keyed_alike(vigil__unicode_id_skeleton, "MRN-903", drawn, sizeof drawn / sizeof *drawn, "MRN-904");
  static const char *const one[] = {"MRN-\xe4\xb8\xa8"
                                    "904", /* U+4E28, the CJK vertical stroke */
                                    "MRN-\xd7\x80"
                                    "904", /* U+05C0 HEBREW PUNCTUATION PASEQ */
                                    "MRN-l904"};
  keyed_alike(vigil__unicode_id_skeleton, "MRN-1904", one, sizeof one / sizeof *one, "MRN-904");
  /* Eu after its leading consonant s (U+1109) makes the syllable su: a letter. */
  char *syllable = vigil__unicode_id_skeleton("MRN\xe1\x84\x89\xe1\x85\xb3"
                                              "903"),
       *alone = vigil__unicode_id_skeleton("MRN\xe1\x84\x89"
                                           "903");
  assert_non_null(syllable);
  assert_non_null(alone);
  if (!strcmp(syllable, alone)) fail_msg("a Hangul syllable's vowel was taken for a dash: \"%s\"", syllable);
  free(syllable);
  free(alone);
}

/* docs/security.md AM6: Greek capital Nu (U+039D) for N, Upsilon (U+03A5)
 * for Y and the lunate sigma U+03F9 for C were other patients: the fold made
 * them small letters first (nu, upsilon, sigma), which the confusables draw
 * as v, u and o. Each is now the ASCII capital it is drawn as, either way
 * round (the open visit's reference the Greek one). The Gurmukhi digit one
 * U+0A67, drawn as a 9 (the table's), is a 9 in the skeleton and still a 1
 * in the fold. Fails without it: 0: "MR\u039D-903" is "MRV9O3", not
 * MRN-903's "MRN9O3". */
static void capitals_and_digits_drawn_as_others(void **state) {
  (void)state;
  static const char *const n[] = {"MR\xce\x9d-903", /* U+039D GREEK CAPITAL LETTER NU */
                                  "\xce\x9cR\xce\x9d-903", "mr\xce\x9d-903",
                                  "MRN-\xe0\xa9\xa7"
                                  "03"}; /* U+0A67 GURMUKHI DIGIT ONE */
  keyed_alike(vigil__unicode_id_skeleton, "MRN-903", n, sizeof n / sizeof *n, "MRV-903");
  static const char *const ascii[] = {"MRN-903"};
  keyed_alike(vigil__unicode_id_skeleton, "MR\xce\x9d-903", ascii, 1, "MRV-903");
  static const char *const letters[] = {
      "ABCEHIJKMNOPSTX\xce\xa5Z-77", /* U+03A5 GREEK CAPITAL LETTER UPSILON */
      "AB\xcf\xb9"
      "EHIJKMNOPSTXYZ-77", /* U+03F9 GREEK CAPITAL LUNATE SIGMA SYMBOL */
      "ABCEHIJKM\xce\x9dOPSTXYZ-77",
      "AB\xcf\xb9"
      "EHIJKM\xce\x9dOPSTX\xce\xa5Z-77",
      "\xce\x91\xce\x92\xcf\xb9\xce\x95\xce\x97\xce\x99JKM\xce\x9d\xce\x9fP\xd0\x85TX\xce\xa5Z-77"};
  keyed_alike(vigil__unicode_id_skeleton, "ABCEHIJKMNOPSTXYZ-77", letters, sizeof letters / sizeof *letters,
              "ABOEHIJKMVOPSTXUZ-77");
  static const char *const plain_ascii[] = {"ABCEHIJKMNOPSTXYZ-77"};
  keyed_alike(vigil__unicode_id_skeleton,
              "AB\xcf\xb9"
              "EHIJKM\xce\x9dOPSTX\xce\xa5Z-77",
              plain_ascii, 1, "ABCEHIJKMNOPSTXYZ-78");
  /* The digit's value still meets the one in the fold (L5's reading). */
  static const char *const one[] = {"MRN-\xe0\xa9\xa7"
                                    "904"};
  keyed_alike(vigil__unicode_id_fold, "MRN-1904", one, 1, "MRN-9904");
}

/* Fourth review item 2: an engine's start opens ICU, so that no command is
 * its first use (an allocation failing inside ICU's first open crashed a
 * visit start). In a child: nothing in this process has used ICU before.
 * Fails without it (vigil_engine_new not calling vigil__unicode_open): "ICU
 * not open after vigil_engine_new". */
static void an_engine_opens_icu(void **state) {
  (void)state;
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (vigil__unicode_ready()) {
      fprintf(stderr, "ICU open before any engine: the case proves nothing\n");
      _exit(1);
    }
    vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = 1767600000000LL};
    vigil_engine *e = NULL;
    if (vigil_engine_new(&o, &e) != 0) _exit(2);
    int ready = vigil__unicode_ready();
    vigil_engine_free(e);
    if (!ready) fprintf(stderr, "ICU not open after vigil_engine_new\n");
    _exit(ready ? 0 : 1);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(an_engine_opens_icu), /* first: before any case uses ICU */
      cmocka_unit_test(every_ascii_pair),
      cmocka_unit_test(references_and_look_alikes),
      cmocka_unit_test(dashes_and_dots),
      cmocka_unit_test(strokes_and_excluded_scripts),
      cmocka_unit_test(separators),
      cmocka_unit_test(punctuation_and_strokes_of_the_eighth_try),
      cmocka_unit_test(capitals_and_digits_drawn_as_others),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
