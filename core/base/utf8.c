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

uint32_t vigil__utf8_decode(const unsigned char *p, size_t avail, size_t *len) {
  size_t n = vigil__utf8_seq(p, avail);
  *len = n;
  if (!n) return 0;
  if (n == 1) return p[0];
  uint32_t cp = p[0] & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
  for (size_t i = 1; i < n; i++)
    cp = cp << 6 | (p[i] & 0x3f);
  return cp;
}

int vigil__unicode_control(uint32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

int vigil__unicode_invisible(uint32_t cp) {
  static const uint32_t ranges[][2] = {
      {0x00ad, 0x00ad},   {0x034f, 0x034f},   {0x0600, 0x0605},   {0x061c, 0x061c},   {0x06dd, 0x06dd},
      {0x070f, 0x070f},   {0x0890, 0x0891},   {0x08e2, 0x08e2},   {0x115f, 0x1160},   {0x17b4, 0x17b5},
      {0x180b, 0x180f},   {0x200b, 0x200f},   {0x202a, 0x202e},   {0x2060, 0x2064},   {0x2066, 0x206f},
      {0x3164, 0x3164},   {0xfe00, 0xfe0f},   {0xfeff, 0xfeff},   {0xffa0, 0xffa0},   {0xfff9, 0xfffb},
      {0x110bd, 0x110bd}, {0x110cd, 0x110cd}, {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a},
      {0xe0001, 0xe0001}, {0xe0020, 0xe007f}, {0xe0100, 0xe01ef},
  };
  for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++)
    if (cp >= ranges[i][0] && cp <= ranges[i][1]) return 1;
  return 0;
}

int vigil__unicode_space(uint32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

int vigil__unicode_combining(uint32_t cp) {
  static const uint32_t ranges[][2] = {
      {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd},   {0x05bf, 0x05bf},   {0x05c1, 0x05c2},   {0x05c4, 0x05c5},
      {0x05c7, 0x05c7}, {0x0610, 0x061a}, {0x064b, 0x065f},   {0x0670, 0x0670},   {0x06d6, 0x06dc},   {0x06df, 0x06e4},
      {0x06e7, 0x06e8}, {0x06ea, 0x06ed}, {0x0711, 0x0711},   {0x0730, 0x074a},   {0x07a6, 0x07b0},   {0x07eb, 0x07f3},
      {0x0816, 0x082d}, {0x0859, 0x085b}, {0x0898, 0x089f},   {0x08ca, 0x08e1},   {0x08e3, 0x0903},   {0x093a, 0x093c},
      {0x093e, 0x094f}, {0x0951, 0x0957}, {0x0962, 0x0963},   {0x0981, 0x0983},   {0x09bc, 0x09d7},   {0x0a01, 0x0a03},
      {0x0a3c, 0x0a51}, {0x0a81, 0x0a83}, {0x0abc, 0x0acd},   {0x0b01, 0x0b03},   {0x0b3c, 0x0b57},   {0x0bbe, 0x0bcd},
      {0x0c00, 0x0c04}, {0x0c3c, 0x0c56}, {0x0d00, 0x0d03},   {0x0d3b, 0x0d4d},   {0x0e31, 0x0e31},   {0x0e34, 0x0e3a},
      {0x0e47, 0x0e4e}, {0x0eb1, 0x0eb1}, {0x0eb4, 0x0ebc},   {0x0ec8, 0x0ece},   {0x0f71, 0x0f84},   {0x102b, 0x103e},
      {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff}, {0x20d0, 0x20f0},   {0x302a, 0x302f},   {0x3099, 0x309a},   {0xa66f, 0xa672},
      {0xa674, 0xa67d}, {0xfe20, 0xfe2f}, {0x1d165, 0x1d169}, {0x1d16d, 0x1d172}, {0x1d17b, 0x1d182},
  };
  for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++)
    if (cp >= ranges[i][0] && cp <= ranges[i][1]) return 1;
  return 0;
}

const char *vigil__unicode_id_problem(const char *s) {
  int shown = 0, first = 1;
  for (const unsigned char *c = (const unsigned char *)s; *c; first = 0) {
    size_t n;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &n);
    if (!n) return "is not UTF-8";
    c += n;
    if (vigil__unicode_control(cp)) return "may not contain control characters (line breaks, tabs, escapes)";
    if (cp == 0x2028 || cp == 0x2029) return "may not contain line or paragraph separators (U+2028, U+2029)";
    if (vigil__unicode_invisible(cp))
      return "may not contain invisible or direction-changing characters (such as U+200B, U+202E)";
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
      return "may not contain noncharacters (such as U+FFFE, U+FFFF, U+FDD0)";
    if ((cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xf0000) return "may not contain private-use characters";
    if (cp == 0xfffd) return "may not contain the replacement character U+FFFD";
    if (first && vigil__unicode_combining(cp)) return "may not start with a combining mark (such as U+0301)";
    shown += !vigil__unicode_space(cp) && cp != 0x2800;
  }
  return shown ? NULL : "is blank";
}
