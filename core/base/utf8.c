/* utf8.c: the UTF-8 validator (utf8.h), and what Unicode says of a
 * character (its general category, NFKC) through Debian's libutf8proc
 * rather than hand tables; the confusable skeleton (UTS #39) through
 * Debian's ICU. */
#include "base/utf8.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucasemap.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/uspoof.h>
#include <utf8proc.h>

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

size_t vigil__utf8_chars(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

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

static utf8proc_category_t category(uint32_t cp) {
  return cp > 0x10ffff ? UTF8PROC_CATEGORY_CN : utf8proc_category((utf8proc_int32_t)cp);
}

/* Shown as nothing though not Cf: the Hangul fillers (Lo), variation
 * selectors and U+034F, U+17B4/5 (Mn), the Mongolian selectors. */
static int shown_as_nothing(uint32_t cp) {
  return cp == 0x034f || cp == 0x115f || cp == 0x1160 || cp == 0x17b4 || cp == 0x17b5 ||
         (cp >= 0x180b && cp <= 0x180f) || cp == 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xffa0 ||
         (cp >= 0xe0100 && cp <= 0xe01ef);
}

int vigil__unicode_invisible(uint32_t cp) { return category(cp) == UTF8PROC_CATEGORY_CF || shown_as_nothing(cp); }

int vigil__unicode_space(uint32_t cp) {
  utf8proc_category_t c = category(cp);
  return (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL ||
         c == UTF8PROC_CATEGORY_ZP;
}

int vigil__unicode_combining(uint32_t cp) {
  utf8proc_category_t c = category(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_MC;
}

int vigil__unicode_letter_or_digit(uint32_t cp) {
  switch (category(cp)) {
  case UTF8PROC_CATEGORY_LU:
  case UTF8PROC_CATEGORY_LL:
  case UTF8PROC_CATEGORY_LT:
  case UTF8PROC_CATEGORY_LO:
  case UTF8PROC_CATEGORY_ND:
  case UTF8PROC_CATEGORY_NL:
  case UTF8PROC_CATEGORY_NO:
    return !shown_as_nothing(cp); /* the Hangul fillers are Lo */
  default:
    return 0;
  }
}

/* A symbol drawn as an empty cell: the Braille blank U+2800 and the musical
 * null notehead U+1D159 (So), which no category tells from a visible one. */
static int blank_symbol(uint32_t cp) { return cp == 0x2800 || cp == 0x1d159; }

int vigil__unicode_says_nothing(uint32_t cp) {
  switch (category(cp)) {
  case UTF8PROC_CATEGORY_MN: /* shown only on the letter before: every script's, Indic vowel signs too */
  case UTF8PROC_CATEGORY_ME:
  case UTF8PROC_CATEGORY_CF:
  case UTF8PROC_CATEGORY_CC:
  case UTF8PROC_CATEGORY_CS:
  case UTF8PROC_CATEGORY_CO:
  case UTF8PROC_CATEGORY_CN:
  case UTF8PROC_CATEGORY_ZS:
  case UTF8PROC_CATEGORY_ZL:
  case UTF8PROC_CATEGORY_ZP:
    return 1;
  default:
    return blank_symbol(cp) || shown_as_nothing(cp) || vigil__unicode_space(cp);
  }
}

static char *fold_with(const char *s, int more) {
  utf8proc_uint8_t *out = NULL;
  utf8proc_ssize_t n =
      utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
                   (utf8proc_option_t)(UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                                       UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_LUMP | more));
  if (n < 0) {
    free(out);
    return NULL;
  }
  return (char *)out;
}

char *vigil__unicode_fold_full(const char *s) { return fold_with(s, 0); }

char *vigil__unicode_fold_bare(const char *s) { return fold_with(s, UTF8PROC_STRIPMARK); }

int vigil__unicode_same_bare(const char *a, const char *b) {
  char *x = a && *a ? vigil__unicode_fold_bare(a) : NULL, *y = b && *b ? vigil__unicode_fold_bare(b) : NULL;
  int same = x && y && !strcmp(x, y);
  free(x);
  free(y);
  return same;
}

/* ICU's spoof checker and upper-casing map, opened once: their const
 * functions may be called from any thread. Opened by vigil__unicode_open at
 * an engine's start (fourth review, item 2): ICU's first allocations are
 * then the start's, never a command's halfway through; and an open that
 * failed is tried again by the next start instead of staying failed. */
static USpoofChecker *spoof;
static UCaseMap *upper_map;
static atomic_int icu_ready;
static pthread_mutex_t icu_lock = PTHREAD_MUTEX_INITIALIZER;

static void icu_open(void) {
  UErrorCode st = U_ZERO_ERROR;
  USpoofChecker *sc = uspoof_open(&st);
  if (U_FAILURE(st)) return;
  UCaseMap *cm = ucasemap_open("", 0, &st);
  if (U_FAILURE(st)) {
    uspoof_close(sc);
    return;
  }
  spoof = sc;
  upper_map = cm;
}

static void ascii_open(void);

int vigil__unicode_open(void) {
  if (atomic_load_explicit(&icu_ready, memory_order_acquire)) return 0;
  pthread_mutex_lock(&icu_lock);
  if (!atomic_load_explicit(&icu_ready, memory_order_relaxed)) {
    if (!spoof) icu_open();
    /* The kept ASCII keys are made here too: their making is ICU's first
     * skeleton and upper-casing (its data loaded). */
    if (spoof) {
      ascii_open();
      atomic_store_explicit(&icu_ready, 1, memory_order_release);
    }
  }
  int ready = atomic_load_explicit(&icu_ready, memory_order_relaxed);
  pthread_mutex_unlock(&icu_lock);
  return ready ? 0 : -1;
}

int vigil__unicode_ready(void) { return atomic_load_explicit(&icu_ready, memory_order_acquire); }

/* s in capitals (upper-casing) or its skeleton, in a buffer grown as ICU
 * asks; NULL on failure. */
static char *icu_map(const char *s, int to_skeleton) {
  int32_t cap = 64;
  for (;;) {
    char *buf = malloc((size_t)cap);
    if (!buf) return NULL;
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = to_skeleton ? uspoof_getSkeletonUTF8(spoof, 0, s, -1, buf, cap, &st)
                            : ucasemap_utf8ToUpper(upper_map, buf, cap, s, -1, &st);
    if (st == U_BUFFER_OVERFLOW_ERROR && n >= cap) {
      free(buf);
      cap = n + 1;
      continue;
    }
    if (U_FAILURE(st) || n >= cap) {
      free(buf);
      return NULL;
    }
    buf[n] = 0;
    return buf;
  }
}

/* A character outside ASCII that an id shows as a tick, a dot or a small
 * raised letter beside its letters and digits, judged as typed, before the
 * compatibility fold turns some into ASCII (Z5): the modifier letters (Lm:
 * U+02BC, U+1D5B, a superscript letter standing in for one too) and
 * modifier symbols (Sk: U+02C6), the other punctuation (Po: the dots U+00B7,
 * U+2024, U+30FB and every script's full stops, bullets and separators),
 * and the Braille patterns (So: U+2801 is one dot). ASCII punctuation is
 * kept here (X3, K2); a patient reference's keys then leave out its ASCII
 * separators (unseparated, docs/workstation.md X1), so MRN-500. meets
 * MRN-500 as MRN-500 followed by U+2024 does. */
static int decoration(uint32_t cp, int8_t type) {
  return cp >= 0x80 && (type == U_MODIFIER_LETTER || type == U_MODIFIER_SYMBOL || type == U_OTHER_PUNCTUATION ||
                        (cp >= 0x2800 && cp <= 0x28ff));
}

/* Look-alikes of a dot that Unicode's confusables (ICU 72, Unicode 15) do
 * not list, found by review (AA4), each with the prototype of the table's
 * class it is drawn like, so that look_alike_sign treats them as the
 * table's own. (The dashes AA4 listed here, U+1806 and U+23AF, are strokes
 * by category now: stroke, AB5.) */
static const struct {
  uint32_t cp, like;
} MORE_CONFUSABLES[] = {
    {0x25cf, 0xb7}, /* BLACK CIRCLE */
    {0x2981, 0xb7}, /* Z NOTATION SPOT */
    {0x318d, 0xb7}, /* HANGUL LETTER ARAEA: the table takes it for the jamo U+119E, drawn as a dot */
};

enum { SIGN_NONE, SIGN_DASH, SIGN_DOT };

/* Whether a character outside ASCII is a stroke between an id's parts
 * (AB5): dash punctuation (Pd), a math symbol (Sm) or another symbol (So),
 * which an id written with a keyboard's letters, digits and punctuation has
 * no use for, whatever it is drawn like: box drawings and scan lines
 * (U+2574, U+23BC), the Roman uncia U+10191, the wave dash U+301C, the
 * Mongolian soft hyphen U+1806. Unicode's confusables list them one by one
 * and miss many (AA4 needed a list beside them); a category misses none.
 * Not the Braille patterns, and nothing that is shown as nothing or as a
 * blank (U+2800, U+1D159: Y2 drops them), nor Sk (Z5's decoration). */
static int stroke(uint32_t cp) {
  int8_t t = u_charType((UChar32)cp);
  return cp >= 0x80 && !(cp >= 0x2800 && cp <= 0x28ff) && !vigil__unicode_says_nothing(cp) &&
         (t == U_DASH_PUNCTUATION || t == U_MATH_SYMBOL || t == U_OTHER_SYMBOL);
}

/* Whether a character outside ASCII, in an id written with ASCII letters,
 * is a letter or a space of a script Unicode excludes from identifiers
 * (UAX #31 table 4, ICU's script usage: Ogham, Coptic, Runic, Gothic, ...:
 * historic, no clinic's names), which the confusables do not read as ASCII
 * letters or digits (AB5): it stands in the place of a separator, as the
 * Ogham space mark U+1680 (a space drawn as a line) and the Coptic U+2CBD
 * do in MRN-900. A name written in such a script alone (Mongolian is one
 * by that table) has no ASCII letter and is left as it is. */
static int excluded_script_sign(const unsigned char *c, size_t len, uint32_t cp, int8_t type) {
  if (cp < 0x80 || !(type == U_UPPERCASE_LETTER || type == U_LOWERCASE_LETTER || type == U_TITLECASE_LETTER ||
                     type == U_OTHER_LETTER || type == U_SPACE_SEPARATOR))
    return 0;
  UErrorCode st = U_ZERO_ERROR;
  UScriptCode script = uscript_getScript((UChar32)cp, &st);
  if (U_FAILURE(st) || uscript_getUsage(script) != USCRIPT_USAGE_EXCLUDED) return 0;
  char key[16];
  int32_t n = uspoof_getSkeletonUTF8(spoof, 0, (const char *)c, (int32_t)len, key, sizeof key, &st);
  if (U_FAILURE(st) || n <= 0 || n >= (int32_t)sizeof key) return 1;
  for (int32_t i = 0; i < n; i++)
    if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') || (key[i] >= '0' && key[i] <= '9')))
      return 1;
  return 0; /* read as ASCII: the fold and the skeleton take it for those */
}

/* Whether a character outside ASCII, as typed, is drawn as a dash or a dot,
 * by Unicode's confusables (AA4): its skeleton alone is the prototype of the
 * hyphen-minus (U+02D7, U+2212, U+2010, U+06D4), of the long dash U+30FC
 * (U+2014, U+2015, U+FF0D, U+2500, CJK U+4E00 and U+2F00 "one"), of the
 * middle dot U+00B7 (U+2219, U+2022, U+30FB, U+A78F), of the full stop
 * (U+2024, U+0701) or of the colon (U+2236, U+0589, U+FF1A). A dash is a
 * dash ('-') in the key; a dot leaves it, as Z5's dots do. Not the modifier
 * letters of the long dash (U+30FC, U+FF70), which lengthen a vowel (X3),
 * nor a Hangul jamo that joins into a syllable (U+1173 "eu" is drawn as a
 * long dash alone, never inside its syllable), nor a digit: the table draws
 * the Arabic-Indic zero U+0660 as a full stop, but it is a zero (L5: MRN-٢٠٠
 * is MRN-200, read by its digits below). */
static int look_alike_sign(const unsigned char *c, size_t len, uint32_t cp, int8_t type) {
  if (cp < 0x80 || type == U_MODIFIER_LETTER || type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER ||
      u_getIntPropertyValue((UChar32)cp, UCHAR_HANGUL_SYLLABLE_TYPE) != U_HST_NOT_APPLICABLE)
    return SIGN_NONE;
  uint32_t like = 0;
  for (size_t i = 0; i < sizeof MORE_CONFUSABLES / sizeof *MORE_CONFUSABLES && !like; i++)
    if (MORE_CONFUSABLES[i].cp == cp) like = MORE_CONFUSABLES[i].like;
  if (!like) {
    char key[16];
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = uspoof_getSkeletonUTF8(spoof, 0, (const char *)c, (int32_t)len, key, sizeof key, &st);
    if (U_FAILURE(st) || n <= 0 || n >= (int32_t)sizeof key) return stroke(cp) ? SIGN_DASH : SIGN_NONE;
    size_t k;
    like = vigil__utf8_decode((const unsigned char *)key, (size_t)n, &k);
    if (k != (size_t)n) { /* more than one character: none of these, unless a stroke the table reads as no ASCII */
      for (int32_t i = 0; i < n; i++)
        if ((unsigned char)key[i] >= 0x80) return stroke(cp) ? SIGN_DASH : SIGN_NONE;
      return SIGN_NONE;
    }
  }
  if (like == '-' || like == 0x30fc) return SIGN_DASH;
  if (like == 0xb7 || like == '.' || like == ':') return SIGN_DOT;
  /* Drawn as ASCII (U+2215 as '/', U+00D7 as 'x'): the fold's and the
   * skeleton's, as before. Else a stroke as typed, or as drawn: the
   * fullwidth tilde U+FF5E is the wave dash U+301C by the table (its
   * compatibility fold, '~', is not how it looks beside letters). */
  if (like < 0x80) return SIGN_NONE;
  return stroke(cp) || stroke(like) ? SIGN_DASH : SIGN_NONE;
}

/* Characters drawn as an ASCII dash or letter that Unicode's confusables
 * (ICU 72) leave as they are, found by review (AH6), in an id written with
 * ASCII letters: the Canadian syllabics final short horizontal stroke
 * U+1428 (a dash), the CJK radical U+4E28 (a vertical stroke: the table's
 * l, which a 1 is too), and the Hangul vowel U+1173 "eu" where it cannot
 * join a syllable (after anything but a leading consonant, it is drawn
 * alone as a long dash; look_alike_sign leaves jamo alone). The character
 * it stands for, or 0. */
static char drawn_as_ascii(uint32_t cp, uint32_t before) {
  if (cp == 0x1428) return '-';
  if (cp == 0x4e28) return 'l';
  if (cp == 0x1173 && !((before >= 0x1100 && before <= 0x115f) || (before >= 0xa960 && before <= 0xa97f))) return '-';
  return 0;
}

/* The ASCII letters and digits one character (c, len bytes) is drawn as by
 * Unicode's confusables, as typed, into out (at most len bytes, so never
 * longer than the character): their length, or 0 when it is drawn as
 * anything else. */
static size_t drawn_letters(const unsigned char *c, size_t len, char *out) {
  char key[16];
  UErrorCode st = U_ZERO_ERROR;
  int32_t n = uspoof_getSkeletonUTF8(spoof, 0, (const char *)c, (int32_t)len, key, sizeof key, &st);
  if (U_FAILURE(st) || n <= 0 || (size_t)n > len || n >= (int32_t)sizeof key) return 0;
  for (int32_t i = 0; i < n; i++)
    if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') || (key[i] >= '0' && key[i] <= '9')))
      return 0;
  memcpy(out, key, (size_t)n);
  return (size_t)n;
}

/* Whether a character outside ASCII that decoration would drop is drawn as
 * an ASCII letter or digit by the confusables: the Hebrew paseq U+05C0 is
 * the table's l, so it stands for a 1 or an l, not a dot (AH6). Only other
 * punctuation (Po); a modifier letter standing in for a letter stays Z5's. */
static int punctuation_drawn_as_letter(const unsigned char *c, size_t len, int8_t type) {
  char one[4];
  return type == U_OTHER_PUNCTUATION && drawn_letters(c, len, one) == 1;
}

/* The ASCII digit a digit of any script stands for by its value (Nd:
 * Arabic-Indic, Devanagari, Gurmukhi, ...; a letter number of one digit's
 * value, Roman numeral two), or -1. */
static int digit_value(uint32_t cp, int8_t type) {
  if (type != U_DECIMAL_DIGIT_NUMBER && type != U_LETTER_NUMBER) return -1;
  double value = u_getNumericValue((UChar32)cp);
  return value >= 0 && value <= 9 && value == (int)value ? (int)value : -1;
}

int vigil__unicode_digit(uint32_t cp) { return digit_value(cp, u_charType((UChar32)cp)); }

/* docs/security.md AM6: a letter or digit outside ASCII that Unicode's
 * confusables draw as ASCII letters or digits is read as drawn, as typed,
 * before the fold: the fold made the Greek capital Nu U+039D, Upsilon
 * U+03A5 and the lunate sigma U+03F9 the small nu, upsilon and sigma, which
 * the table draws as v, u and o, so MR\u039D-903 was another patient than
 * MRN-903. A digit drawn as another one (the Gurmukhi one U+0A67 is the
 * table's 9, the Bengali four U+09EA its 8) is read as drawn here and by
 * its value in the fold (vigil__unicode_id_fold), so it meets both. Not
 * the modifier letters (Lm: X3, Z5 decide them). */
static size_t letter_drawn_as_ascii(const unsigned char *c, size_t len, uint32_t cp, int8_t type, char *out) {
  if (cp < 0x80 || !(type == U_UPPERCASE_LETTER || type == U_LOWERCASE_LETTER || type == U_TITLECASE_LETTER ||
                     type == U_OTHER_LETTER || type == U_DECIMAL_DIGIT_NUMBER))
    return 0;
  return drawn_letters(c, len, out);
}

/* s without what only changes the look of the character before it
 * (nonspacing and enclosing marks, the emoji skin-tone modifiers) or
 * decorates the id (decoration, a dot: look_alike_sign), each dash-like as
 * '-', each letter or digit the confusables draw as ASCII as those
 * (letter_drawn_as_ascii, AM6), and each other digit of any script
 * (digit_value) as its ASCII digit; malloc'd, NULL when s is not UTF-8 or
 * out of memory. */
static char *plain(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n + 1), *o = out;
  if (!out) return NULL;
  int ascii_letters = 0; /* excluded_script_sign applies to ids written with them */
  for (const char *a = s; *a && !ascii_letters; a++)
    ascii_letters = (*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z');
  uint32_t before = 0;
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    size_t k;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &k);
    if (!k) {
      free(out);
      return NULL;
    }
    int8_t type = u_charType((UChar32)cp);
    int digit = digit_value(cp, type);
    char drawn = ascii_letters ? drawn_as_ascii(cp, before) : 0, letters[4];
    int sign = drawn == '-' || (ascii_letters && excluded_script_sign(c, k, cp, type))
                   ? SIGN_DASH
                   : look_alike_sign(c, k, cp, type);
    size_t as_letters = sign == SIGN_NONE && !drawn ? letter_drawn_as_ascii(c, k, cp, type, letters) : 0;
    if (sign == SIGN_DASH) {
      *o++ = '-';
    } else if (drawn) {
      *o++ = drawn;
    } else if (as_letters) {
      memcpy(o, letters, as_letters);
      o += as_letters;
    } else if (sign == SIGN_DOT || type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
               (cp >= 0x1f3fb && cp <= 0x1f3ff) || (decoration(cp, type) && !punctuation_drawn_as_letter(c, k, type))) {
      /* dropped */
    } else if (digit >= 0) {
      *o++ = (char)('0' + digit);
    } else {
      memcpy(o, c, k); /* never longer than the character it replaces */
      o += k;
    }
    before = cp;
    c += k;
  }
  *o = 0;
  return out;
}

/* A Latin small capital (U+1D0D, U+0280, U+A731: "LATIN LETTER SMALL
 * CAPITAL M"), which neither case folding nor Unicode's confusables take
 * for its letter: the letter, or 0. */
static char small_capital(uint32_t cp) {
  static const char prefix[] = "LATIN LETTER SMALL CAPITAL ";
  char name[80];
  UErrorCode st = U_ZERO_ERROR;
  int32_t n = u_charName((UChar32)cp, U_UNICODE_CHAR_NAME, name, sizeof name, &st);
  if (U_FAILURE(st) || n != (int32_t)sizeof prefix || strncmp(name, prefix, sizeof prefix - 1)) return 0;
  char c = name[sizeof prefix - 1];
  return c >= 'A' && c <= 'Z' ? c : 0;
}

/* A small letter outside ASCII that Unicode's confusables take for ASCII
 * letters or digits (the Latin alpha U+0251 for a, the script g U+0261):
 * those, at most max bytes, into out; 0 when it is none. Taken before the
 * capitals, whose forms (U+2C6D for U+0251) the table does not know (Z5). */
static int ascii_look_alike(const unsigned char *c, size_t k, char *out, size_t max) {
  if (*c < 0x80 || k > 4) return 0;
  char one[5], key[16];
  memcpy(one, c, k);
  one[k] = 0;
  UErrorCode st = U_ZERO_ERROR;
  int32_t n = uspoof_getSkeletonUTF8(spoof, 0, one, -1, key, sizeof key, &st);
  if (U_FAILURE(st) || n <= 0 || (size_t)n > max) return 0;
  for (int32_t i = 0; i < n; i++)
    if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9'))) return 0;
  memcpy(out, key, (size_t)n);
  out[n] = 0;
  return 1;
}

/* The fold of an identifier without what a compatibility fold leaves and
 * only lengthens or decorates (X3): the modifier letters (Lm: the Arabic
 * tatweel U+0640, the katakana prolonged sound mark U+30FC, U+02D0, U+3005;
 * those that stand for a letter, such as U+1D39, are that letter after the
 * fold already), and each Latin small capital as its letter; nor what is
 * shown as nothing or as blank (Y2): white space of any kind, inside or at
 * an end (U+0020, U+3000, U+00A0), the Braille blank U+2800, the musical
 * null notehead U+1D159, the fillers, format characters, marks left on a
 * space. In place. */
static void unmodified(char *s) {
  char *o = s;
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    size_t k;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &k);
    char letter = k ? small_capital(cp) : 0;
    if (!k) { /* not after a fold: kept as it is */
      *o++ = (char)*c++;
      continue;
    }
    char ascii[8];
    if (letter)
      *o++ = letter;
    else if (ascii_look_alike(c, k, ascii, k)) {
      size_t n = strlen(ascii); /* never longer than the character it replaces */
      memcpy(o, ascii, n);
      o += n;
    } else if (u_charType((UChar32)cp) != U_MODIFIER_LETTER && !vigil__unicode_says_nothing(cp)) {
      memmove(o, c, k);
      o += k;
    }
    c += k;
  }
  *o = 0;
}

static char *skeleton_whole(const char *s);

char *vigil__unicode_skeleton_full(const char *s) { return vigil__unicode_open() < 0 ? NULL : skeleton_whole(s); }

/* The skeleton by ICU's whole way, ICU open. */
static char *skeleton_whole(const char *s) {
  char *bare = plain(s);
  char *folded = bare ? vigil__unicode_fold_full(bare) : NULL;
  free(bare);
  if (folded) unmodified(folded);
  /* In capitals, then the skeleton, twice: Unicode's table maps 1, I and l
   * alike to a small "l", which capitals must meet again (a small l typed
   * for a one was an L, and a one the table's l). */
  char *key = folded;
  for (int round = 0; round < 2 && key; round++) {
    char *up = icu_map(key, 0);
    free(key);
    key = up ? icu_map(up, 1) : NULL;
    free(up);
  }
  return key;
}

/* Issue 16: a start computes its patient's fold and skeleton (K2, L5),
 * and utf8proc's and ICU's ways cost thousands of instructions a
 * character. On printable ASCII (every reference a clinic's MRNs make) both
 * ways go character by character (NFD and NFKC leave ASCII alone, the case
 * maps and the confusable table map each character on its own), so a
 * string's key is its characters' keys one after another: each character's
 * made once by the whole way, kept when it is ASCII again. A character whose
 * key is not ASCII, or any other, takes the whole way (test_unicode_keys
 * compares the two on every pair of printable ASCII characters). */
static char *ascii_keys[2][128]; /* [0] fold, [1] skeleton; NULL: take the whole way */

static void ascii_open(void) {
  for (int c = 0x20; c < 0x7f; c++) {
    char one[2] = {(char)c, 0};
    for (int way = 0; way < 2; way++) {
      char *k = way ? skeleton_whole(one) : vigil__unicode_fold_full(one);
      for (const char *x = k; x && *x; x++)
        if ((unsigned char)*x < 0x20 || (unsigned char)*x >= 0x7f) {
          free(k);
          k = NULL;
          break;
        }
      ascii_keys[way][c] = k;
    }
  }
}

/* 1 with *out (NULL: out of memory) when every character of s has its key
 * of this way kept; 0: s takes the whole way. */
static int ascii_key(const char *s, int way, char **out) {
  if (vigil__unicode_open() < 0) return 0;
  size_t n = 0;
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c >= 0x80 || !ascii_keys[way][*c]) return 0;
    n += strlen(ascii_keys[way][*c]);
  }
  char *o = *out = malloc(n + 1);
  for (const unsigned char *c = (const unsigned char *)s; o && *c; c++) {
    size_t k = strlen(ascii_keys[way][*c]);
    memcpy(o, ascii_keys[way][*c], k);
    o += k;
  }
  if (o) *o = 0;
  return 1;
}

char *vigil__unicode_fold(const char *s) {
  char *k;
  return ascii_key(s, 0, &k) ? k : vigil__unicode_fold_full(s);
}

char *vigil__unicode_skeleton(const char *s) {
  char *k;
  return ascii_key(s, 1, &k) ? k : vigil__unicode_skeleton_full(s);
}

/* An ASCII space or punctuation mark: ! " # $ % & ' ( ) * + , - . / : ; < = >
 * ? @ [ \ ] ^ _ ` { | } ~ (not the C library's ispunct, which follows the
 * locale). */
static int ascii_separator(char c) {
  return c == ' ' || (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

/* docs/workstation.md X1, docs/safety.md K2: the separators a reference's
 * parts are written with, after the keys above (which make the dash-likes
 * '-', AA4 and AB5, and drop the blanks, Y2): ASCII space and every ASCII
 * punctuation mark. A clinic writes one patient's MRN-1003 as "MRN 1003",
 * MRN_1003, MRN1003 or with a dot after it, and no two patients of one site
 * are told apart by the separator alone; so none of them is in the key, and
 * a start spelled with another one is a look-alike (409), which new_patient
 * answers when it really is another patient. Every ASCII mark, not only
 * " -_./" (AH6): the fullwidth MRN＋903, MRN＃903 and MRN：903 met MRN-903
 * (drawn as strokes or dots) while the ASCII MRN+903, MRN#903 and MRN:903,
 * which a shifted key types, did not. In place. */
static void unseparated(char *s) {
  char *o = s;
  for (const char *c = s; *c; c++)
    if (!ascii_separator(*c)) *o++ = *c;
  *o = 0;
}

/* Each digit of any script as its ASCII digit by its value (digit_value),
 * in place: the skeleton reads a digit as drawn when the confusables draw it
 * as another (AM6: the Gurmukhi one U+0A67 is a 9 there), and the fold keeps
 * its value, so MRN-\u0A67904 meets MRN-1904 too. */
static void digits_by_value(char *s) {
  char *o = s;
  for (const unsigned char *c = (const unsigned char *)s; *c;) {
    size_t k;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &k);
    int digit = k > 1 ? digit_value(cp, u_charType((UChar32)cp)) : -1;
    if (!k) k = 1; /* not after a fold: kept as it is */
    if (digit >= 0) {
      *o++ = (char)('0' + digit);
    } else {
      memmove(o, c, k);
      o += k;
    }
    c += k;
  }
  *o = 0;
}

char *vigil__unicode_id_fold(const char *s) {
  char *k = vigil__unicode_fold(s);
  if (k) {
    digits_by_value(k);
    unseparated(k);
  }
  return k;
}

char *vigil__unicode_id_skeleton(const char *s) {
  char *k = vigil__unicode_skeleton(s);
  if (k) unseparated(k);
  return k;
}

/* A character that stands for a whole phrase, drawn as wide as the phrase
 * (S11): the Arabic ligature words without a decomposition (U+FDFD, the
 * basmala; U+FDFE, U+FDFF; the honorifics U+FD40..U+FD4F), and any whose
 * compatibility form is longer than this (U+FDFA is 18 characters, U+FDFB 8). */
#define ID_PHRASE_MAX 6

static int phrase(uint32_t cp) {
  if (cp < 0x80) return 0;
  if (cp == 0xfdfd || cp == 0xfdfe || cp == 0xfdff || (cp >= 0xfd40 && cp <= 0xfd4f)) return 1;
  utf8proc_int32_t out[32];
  int last = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, out, 32, UTF8PROC_COMPAT, &last);
  return n > ID_PHRASE_MAX;
}

/* More combining marks than this on one base make a letter that overflows
 * its line (Zalgo text): no script's letters need more (V6). */
#define ID_MARKS_MAX 4

const char *vigil__unicode_id_problem(const char *s) {
  int shown = 0, first = 1, marks = 0;
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
    if (phrase(cp)) return "may not contain a character that stands for a whole phrase (such as U+FDFD)";
    if (first && vigil__unicode_combining(cp)) return "may not start with a combining mark (such as U+0301)";
    marks = vigil__unicode_combining(cp) ? marks + 1 : 0;
    if (marks > ID_MARKS_MAX) return "may not stack more than 4 combining marks (accents) on one character";
    shown += !vigil__unicode_space(cp) && !blank_symbol(cp);
  }
  return shown ? NULL : "is blank";
}
