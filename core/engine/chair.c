/* chair.c: one chair or bay however it is spelled (docs/workstation.md AE6,
 * AK3). The workstation warns before a second patient is started in a
 * chair with an active visit; it compared the chair by letter case and
 * spaces, so "chair1", "Chair 01", "Chair-1", "Chair 1." and a Cyrillic
 * "\u0421hair 1" started beside a patient in "Chair 1" without a word. A
 * chair is now read as a patient reference is (the same keys: letter case,
 * width, separators and punctuation, letters of other scripts drawn as
 * ASCII), and beyond it a number's leading zeros are not read: a clinic
 * writes "Chair 01" for Chair 1, and "Chair 10" is another chair. */
#include <stdlib.h>
#include <string.h>

#include "chair.h"
#include "base/utf8.h"

/* A copy of s without each zero (of any script) that begins a number of
 * more digits: "Chair 001" is "Chair 1", "Chair 0" and "Chair 10" stay.
 * NULL when s is not UTF-8 or out of memory. */
static char *without_leading_zeros(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n + 1), *o = out;
  if (!out) return NULL;
  int in_number = 0;
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    size_t k, next;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &k);
    if (!k) {
      free(out);
      return NULL;
    }
    int digit = vigil__unicode_digit(cp);
    if (digit == 0 && !in_number && c[k]) {
      uint32_t after = vigil__utf8_decode(c + k, strlen((const char *)c + k), &next);
      if (next && vigil__unicode_digit(after) >= 0) {
        c += k; /* a leading zero: the number begins after it */
        continue;
      }
    }
    in_number = digit >= 0;
    memcpy(o, c, k);
    o += k;
    c += k;
  }
  *o = 0;
  return out;
}

int vigil__chair_key(const char *location, chair_key *k) {
  k->fold = k->skeleton = NULL;
  char *plain = without_leading_zeros(location);
  if (!plain) return -1;
  k->fold = vigil__unicode_id_fold(plain);
  k->skeleton = vigil__unicode_id_skeleton(plain);
  free(plain);
  if (k->fold) return 0;
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
