/* reason.c: the one rule for a reason a person gives (docs/safety.md G2, K7,
 * M7): an acknowledgement, an override, an amendment, a skip, an abort, a
 * course's close and its alerts' why all say why through here. */
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "model.h"
#include "fail.h"
#include "base/utf8.h"

/* vigil.conf's reason_placeholders when the site gives none (docs/config.md):
 * words that fill a reason without saying why (M7). */
static const char *const default_placeholders[] = {
    "n/a",     "na",    "none", "nil",       "null",      "nothing", "ok",     "okay",     "fine", "test",
    "testing", "xxx",   "asdf", "qwerty",    "abc",       "abcd",    "123",    "1234",     "blah", "todo",
    "tbd",     "dummy", "same", "no reason", "see above", "other",   "reason", "whatever", "done",
};

/* The letters and digits of folded text s (NFKC, case folded), in key:
 * what a reason says, without its punctuation, spaces and marks. key has
 * room for strlen(s) + 1 bytes; returns how many letters and digits. */
static size_t reason_key(const char *s, char *key, int *one_char) {
  size_t n = 0, k = 0;
  uint32_t first = 0;
  *one_char = 1;
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    size_t len;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &len);
    if (!len) cp = *c, len = 1;
    if (vigil__unicode_letter_or_digit(cp)) {
      if (!n)
        first = cp;
      else if (cp != first)
        *one_char = 0;
      memmove(key + k, c, len);
      k += len;
      n++;
    }
    c += len;
  }
  key[k] = 0;
  return n;
}

/* Whether the letters and digits of placeholder p, folded, are key's. */
static int placeholder_is(const char *p, const char *key) {
  char *f = vigil__unicode_fold(p);
  if (!f) return 0;
  int one;
  reason_key(f, f, &one); /* the key is never longer than the text it is read from */
  int same = !strcmp(f, key);
  free(f);
  return same;
}

/* The one reason rule (docs/safety.md G2, K7, M7), for every reason a
 * person gives: a control character (C0, C1: CR, LF, ESC, U+0085) is
 * refused outright; the reason needs VIGIL__REASON_MIN letters or digits of
 * any script (marks, symbols, punctuation, white space and characters shown
 * as nothing do not count), not all one character, and is not a
 * placeholder (the site's reason_placeholders, compared folded and without
 * punctuation). NULL if reason says something, else what is wrong with it;
 * *oom is set when that could not be decided. */
static const char *reason_problem(const vigil_engine *e, const char *reason, int *oom) {
  *oom = 0;
  if (!reason || !*reason) return "is missing";
  for (const unsigned char *c = (const unsigned char *)reason; *c;) {
    size_t n;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &n);
    if (!n) return "is not UTF-8";
    if (vigil__unicode_control(cp))
      return "has a control character (a line break, a tab, ESC, U+0085...), which a reason may not hold";
    c += n;
  }
  char *f = vigil__unicode_fold(reason);
  if (!f) return *oom = 1, "could not be read (out of memory)";
  int one_char;
  size_t letters = reason_key(f, f, &one_char);
  const char *problem = NULL;
  if (letters < VIGIL__REASON_MIN)
    problem = "has too few letters or digits";
  else if (one_char)
    problem = "is one character repeated";
  else {
    const char *const *list = e->opts.reason_placeholders ? e->opts.reason_placeholders : default_placeholders;
    size_t n = e->opts.reason_placeholders ? e->opts.n_reason_placeholders
                                           : sizeof default_placeholders / sizeof *default_placeholders;
    for (size_t i = 0; i < n && !problem; i++)
      if (list[i] && placeholder_is(list[i], f))
        problem = "is a placeholder (the site's reason_placeholders: n/a, none, test...)";
  }
  free(f);
  return problem;
}

int vigil__reason_check(vigil_engine *e, const char *about, const char *what, const char *reason) {
  int oom;
  const char *problem = reason_problem(e, reason, &oom);
  if (!problem) return 0;
  if (oom) return VIGIL_ENOMEM;
  return vigil__engine_fail(e, VIGIL_EINVAL, about,
                            "%s needs a %s that says why (at least %d letters or digits, not one character repeated, "
                            "not a placeholder, no control characters): this one %s",
                            what, about, VIGIL__REASON_MIN, problem);
}
