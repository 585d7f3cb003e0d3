/* utf8.c: the UTF-8 validator (utf8.h). */
#include "base/utf8.h"

#include <string.h>

size_t vigil__utf8_seq(const unsigned char *p, size_t avail) {
  if (avail == 0) return 0;
  unsigned c = p[0];
  if (c < 0x80) return 1;
  size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (!n || avail < n) return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xc0) != 0x80) return 0;
  /* The second byte's range where the first does not settle it. */
  if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
      (c == 0xf4 && p[1] > 0x8f))
    return 0;
  return n;
}

int vigil__utf8_valid_n(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    size_t k = vigil__utf8_seq(p, (size_t)(end - p));
    if (!k) return 0;
    p += k;
  }
  return 1;
}

int vigil__utf8_valid(const char *s) { return vigil__utf8_valid_n(s, strlen(s)); }
