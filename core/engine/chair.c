/* chair.c: one chair or bay however it is spelled (docs/workstation.md AE6,
 * AK3). The workstation warns before a second patient is started in a
 * chair with an active visit; it compared the chair by letter case and
 * spaces, so "chair1", "Chair 01", "Chair-1", "Chair 1." and a Cyrillic
 * "\u0421hair 1" started beside a patient in "Chair 1" without a word.
 *
 * A chair is read as words and numbers: its parts between separators
 * (spaces, punctuation, anything that is not a letter, digit or mark, and a
 * letter drawn as a dash) are each read as a patient reference is (the same
 * keys: letter case, width, letters and digits of other scripts drawn as
 * ASCII), without the zeros that begin a number ("Chair 01" is Chair 1,
 * "Chair 10" another chair). The parts are then put together without the
 * separators, but two numbers stay two numbers: "Room 1-12" is not "Room
 * 11-2", nor "Chair 1.0" Chair 10 (the evening try of 2026-12-07: dropping
 * every separator made those match). A part of digits and the letters O, o,
 * I and l with a digit among them ("O1", "1O"), or one such letter alone
 * after a word ("Chair l"), is read as the number it looks like: "Chair O1"
 * is Chair 1. */
#include <stdlib.h>
#include <string.h>

#include "chair.h"
#include "base/buf.h"
#include "base/utf8.h"

/* Whether the character cp (its n bytes at c) separates the parts of a
 * chair: not a letter or digit, nor a mark or an invisible character (kept
 * in the part, whose keys drop them); or a letter the look-alike table draws
 * as a dash alone (the CJK one U+4E00, the Hangul eu U+1173). */
static int separates(const unsigned char *c, size_t n, uint32_t cp) {
  if (!vigil__unicode_letter_or_digit(cp)) return !vigil__unicode_combining(cp) && !vigil__unicode_invisible(cp);
  if (cp < 0x80 || vigil__unicode_digit(cp) >= 0) return 0;
  char one[5] = {0};
  memcpy(one, c, n);
  char *drawn = vigil__unicode_skeleton(one);
  int dash = drawn && *drawn && strspn(drawn, "-") == strlen(drawn);
  free(drawn);
  return dash;
}

/* A part written with ASCII digits and the digit-like letters O, o, I, l
 * alone, with a digit among them, or one such letter after a word, in
 * place as the number it looks like. */
static void digit_like(char *part, int after_word) {
  size_t n = strlen(part);
  if (strspn(part, "0123456789OoIl") != n || !(strpbrk(part, "0123456789") || (n == 1 && after_word))) return;
  for (char *c = part; *c; c++)
    if (*c == 'O' || *c == 'o')
      *c = '0';
    else if (*c == 'I' || *c == 'l')
      *c = '1';
}

/* The part without each zero (of any script) that begins a number of more
 * digits, in place: "001" is "1", "0" and "10" stay. -1 when it is not
 * UTF-8. */
static int without_leading_zeros(char *part) {
  char *o = part;
  int in_number = 0;
  for (const unsigned char *c = (const unsigned char *)part; *c;) {
    size_t k, next;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &k);
    if (!k) return -1;
    int digit = vigil__unicode_digit(cp);
    if (digit == 0 && !in_number && c[k]) {
      uint32_t after = vigil__utf8_decode(c + k, strlen((const char *)c + k), &next);
      if (next && vigil__unicode_digit(after) >= 0) {
        c += k; /* a leading zero: the number begins after it */
        continue;
      }
    }
    in_number = digit >= 0;
    memmove(o, c, k);
    o += k;
    c += k;
  }
  *o = 0;
  return 0;
}

/* Whether the part begins (end 0) or ends (end 1) with a digit. */
static int digit_at(const char *part, int end) {
  uint32_t cp = 0;
  for (const unsigned char *c = (const unsigned char *)part; *c;) {
    size_t k;
    uint32_t x = vigil__utf8_decode(c, strlen((const char *)c), &k);
    if (!k) return 0;
    cp = x;
    if (!end) break;
    c += k;
  }
  return *part && vigil__unicode_digit(cp) >= 0;
}

/* The part's two keys added to the location's, after a space when this
 * part and the one before are numbers. 0, -1 when out of memory. */
static int add_part(char *part, int *words, int *number_before, buf *fold, buf *skeleton, int *no_skeleton) {
  digit_like(part, *words > 0);
  if (without_leading_zeros(part) < 0) return -1;
  char *f = vigil__unicode_id_fold(part), *s = vigil__unicode_id_skeleton(part);
  int rc = f ? 0 : -1;
  if (f && *f) { /* a part of marks alone is none */
    int apart = *number_before && digit_at(part, 0);
    if (apart) vigil__buf_putc(fold, ' ');
    vigil__buf_puts(fold, f);
    if (!s) {
      *no_skeleton = 1;
    } else {
      if (apart) vigil__buf_putc(skeleton, ' ');
      vigil__buf_puts(skeleton, s);
    }
    *number_before = digit_at(part, 1);
    ++*words;
  }
  free(f);
  free(s);
  return rc;
}

int vigil__chair_key(const char *location, chair_key *k) {
  k->fold = k->skeleton = NULL;
  size_t n = strlen(location);
  char *part = malloc(n + 1);
  if (!part) return -1;
  buf fold, skeleton;
  vigil__buf_init(&fold);
  vigil__buf_init(&skeleton);
  int words = 0, number_before = 0, no_skeleton = 0, rc = 0;
  size_t len = 0;
  for (const unsigned char *c = (const unsigned char *)location; rc == 0;) {
    size_t cn = 0;
    uint32_t cp = *c ? vigil__utf8_decode(c, strlen((const char *)c), &cn) : 0;
    if (*c && !cn) {
      rc = -1;
      break;
    }
    if (*c && !separates(c, cn, cp)) {
      memcpy(part + len, c, cn);
      len += cn;
    } else if (len) {
      part[len] = 0;
      len = 0;
      rc = add_part(part, &words, &number_before, &fold, &skeleton, &no_skeleton);
    }
    if (!*c) break;
    c += cn;
  }
  free(part);
  vigil__buf_puts(&fold, ""); /* terminated: an empty location's keys are "" */
  vigil__buf_puts(&skeleton, "");
  k->fold = vigil__buf_take(&fold);
  k->skeleton = no_skeleton ? NULL : vigil__buf_take(&skeleton);
  vigil__buf_free(&skeleton);
  if (rc == 0 && k->fold && (no_skeleton || k->skeleton)) return 0;
  vigil__chair_key_free(k);
  return -1;
}

void vigil__chair_key_free(chair_key *k) {
  free(k->fold);
  free(k->skeleton);
  k->fold = k->skeleton = NULL;
}

/* An empty key (a chair written with separators alone) meets no other. */
static int same_key(const char *a, const char *b) { return a && b && *a && !strcmp(a, b); }

int vigil__chair_is(const chair_key *k, const char *location) {
  if (!location) return 0;
  chair_key other;
  if (vigil__chair_key(location, &other) < 0) return 0;
  int same = same_key(k->fold, other.fold) || same_key(k->skeleton, other.skeleton);
  vigil__chair_key_free(&other);
  return same;
}
