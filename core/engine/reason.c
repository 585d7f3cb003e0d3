/* reason.c: the one rule for a reason a person gives (docs/safety.md G2, K7,
 * M7): an acknowledgement, an override, an amendment, a skip, an abort, a
 * course's close and its alerts' why all say why through here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "model.h"
#include "fail.h"
#include "base/utf8.h"

/* vigil.conf's reason_placeholders when the site gives none (docs/config.md):
 * words that fill a reason without saying why (M7). */
static const char *const default_placeholders[] = {
    "n/a",  "na",        "none",      "nil",   "null",   "nothing",  "ok",   "okay",    "fine",  "test", "testing",
    "xxx",  "asdf",      "qwerty",    "abc",   "abcd",   "123",      "1234", "blah",    "todo",  "tbd",  "dummy",
    "same", "no reason", "see above", "other", "reason", "whatever", "done", "changed", "given",
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

/* The letters and digits of text's confusable skeleton (UTS #39, as a
 * patient id's: docs/safety.md L5, P5), so a Cyrillic "\u0455" is an "S";
 * the fold's when there is no skeleton (no ICU data). malloc'd, or NULL. */
static char *look_key(const char *text) {
  char *k = vigil__unicode_skeleton(text);
  if (!k) k = vigil__unicode_fold(text);
  if (!k) return NULL;
  int one;
  reason_key(k, k, &one); /* the key is never longer than the text it is read from */
  return k;
}

/* Whether key (a look_key) is made of placeholders one after another: one
 * ("teѕt", Cyrillic dze), one repeated ("test test", "testtest", "ok ok",
 * "na na") or several ("none given", "n/a none"). */
static int placeholders_only(const vigil_engine *e, const char *key, int *oom) {
  const char *const *list = e->opts.reason_placeholders ? e->opts.reason_placeholders : default_placeholders;
  size_t n = e->opts.reason_placeholders ? e->opts.n_reason_placeholders
                                         : sizeof default_placeholders / sizeof *default_placeholders;
  size_t len = strlen(key);
  char **keys = calloc(n ? n : 1, sizeof *keys);
  unsigned char *reach = calloc(len + 1, 1); /* reach[i]: key's first i bytes are placeholders */
  int only = 0;
  if (!keys || !reach) {
    *oom = 1;
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    if (list[i] && !(keys[i] = look_key(list[i]))) {
      *oom = 1;
      goto done;
    }
  reach[0] = 1;
  for (size_t at = 0; at < len; at++) {
    if (!reach[at]) continue;
    for (size_t i = 0; i < n; i++) {
      size_t k = keys[i] ? strlen(keys[i]) : 0;
      if (k && k <= len - at && !memcmp(key + at, keys[i], k)) reach[at + k] = 1;
    }
  }
  only = len > 0 && reach[len];
done:
  for (size_t i = 0; keys && i < n; i++)
    free(keys[i]);
  free(keys);
  free(reach);
  return only;
}

/* How many different letters or digits key has (up to 3), and whether it is
 * one short pattern (of 3 letters or digits at most) said again and again
 * ("abab", "abcabc"). */
static size_t distinct_up_to_3(const char *key) {
  uint32_t seen[3];
  size_t n = 0;
  for (const unsigned char *c = (const unsigned char *)key; *c && n < 3;) {
    size_t len;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &len);
    if (!len) cp = *c, len = 1;
    size_t i = 0;
    while (i < n && seen[i] != cp)
      i++;
    if (i == n) seen[n++] = cp;
    c += len;
  }
  return n;
}

static int short_pattern_repeated(const char *key) {
  size_t len = strlen(key);
  for (size_t unit = 1; unit <= 3 * 4 && unit * 2 <= len; unit++) { /* 3 characters of up to 4 bytes */
    if (len % unit) continue;
    size_t i = unit;
    while (i < len && key[i] == key[i - unit])
      i++;
    if (i == len && vigil__utf8_chars(key, unit) <= 3) return 1;
  }
  return 0;
}

/* The first character a reason may not hold, written "U+202E", into
 * name: a control character (C0, C1: CR, LF, ESC, U+0085), a format or
 * bidi character (Unicode's Cf, which changes how the text around it is
 * shown or hides in it: U+202E, U+200B, U+2066...; the zero-width joiners
 * U+200C and U+200D, which Persian and Indic words need, are let be) and a
 * line or paragraph separator (U+2028, U+2029): P5. NULL when none; "" when
 * reason is not UTF-8. */
static const char *forbidden_char(const char *reason, char *name, size_t len) {
  for (const unsigned char *c = (const unsigned char *)reason; *c;) {
    size_t n;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &n);
    if (!n) return "";
    if (vigil__unicode_control(cp) || cp == 0x2028 || cp == 0x2029 ||
        (vigil__unicode_invisible(cp) && cp != 0x200C && cp != 0x200D)) {
      snprintf(name, len, "U+%04X", (unsigned)cp);
      return name;
    }
    c += n;
  }
  return NULL;
}

/* The one reason rule (docs/safety.md G2, K7, M7, P5), for every reason a
 * person gives: a control, format, bidi or line-separator character is
 * refused outright, naming it; the reason needs VIGIL__REASON_MIN letters
 * or digits of any script (marks, symbols, punctuation, white space and
 * characters shown as nothing do not count), at least 3 different ones and
 * not one short pattern repeated, and is not made of placeholders (the
 * site's reason_placeholders, compared by their look: folded, without
 * punctuation, by the confusable skeleton patient ids are compared by; one
 * or several, repeated or not). NULL if reason says something, else what
 * is wrong with it (in what, when it names a character); *oom is set when
 * that could not be decided. */
static const char *reason_problem(const vigil_engine *e, const char *reason, char *what, size_t len, int *oom) {
  *oom = 0;
  if (!reason || !*reason) return "is missing";
  char ch[16];
  const char *bad = forbidden_char(reason, ch, sizeof ch);
  if (bad && !*bad) return "is not UTF-8";
  if (bad) {
    snprintf(what, len,
             "has the character %s (a control, format, bidi or line-separator character: a line break, a tab, ESC, "
             "U+0085, U+200B, U+202E, U+2028...), which a reason may not hold",
             bad);
    return what;
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
  else if (distinct_up_to_3(f) < 3)
    problem = "has fewer than 3 different letters or digits";
  else if (short_pattern_repeated(f))
    problem = "is one short pattern repeated";
  else {
    char *k = look_key(reason);
    if (!k)
      *oom = 1, problem = "could not be read (out of memory)";
    else if (placeholders_only(e, k, oom))
      problem = "is a placeholder or placeholders repeated (the site's reason_placeholders: n/a, none, test...)";
    else if (*oom)
      problem = "could not be read (out of memory)";
    free(k);
  }
  free(f);
  return problem;
}

int vigil__reason_check(vigil_engine *e, const char *about, const char *what, const char *reason) {
  int oom;
  char named[300];
  const char *problem = reason_problem(e, reason, named, sizeof named, &oom);
  if (!problem) return 0;
  if (oom) return VIGIL_ENOMEM;
  return vigil__engine_fail(e, VIGIL_EINVAL, about,
                            "%s needs a %s that says why (at least %d letters or digits, 3 of them different, not a "
                            "pattern repeated, not a placeholder, no control, format or bidi characters): this one %s",
                            what, about, VIGIL__REASON_MIN, problem);
}
