/* utf8.h: the one UTF-8 validator of vigil (RFC 3629).
 *
 * Well-formed means what the Unicode standard (table 3-7) allows: no
 * overlong forms (C0, C1, E0 80..9F, F0 80..8F), no surrogates (ED A0..BF)
 * and nothing past U+10FFFF (F4 90.., F5..FF). Every check of text from
 * outside (query parameters, JSON strings, error messages) uses these. */
#ifndef VIGIL_UTF8_H
#define VIGIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1 to 4) of the well-formed sequence at p, of which avail
 * bytes may be read; 0 if it is not one. */
size_t vigil__utf8_seq(const unsigned char *p, size_t avail);
/* Whether s[0..n) is well-formed UTF-8 (NUL bytes are allowed). */
int vigil__utf8_valid_n(const char *s, size_t n);
/* Whether the NUL-terminated s is well-formed UTF-8. */
int vigil__utf8_valid(const char *s);
/* The code point of the well-formed sequence at p and its length in *len;
 * 0 with *len 0 if it is not one. */
uint32_t vigil__utf8_decode(const unsigned char *p, size_t avail, size_t *len);
/* The characters (code points) of UTF-8 text of len bytes: its bytes that
 * do not continue a sequence. Every length limit of a text counts these
 * (the API's and the engine's, docs/security.md S9), not bytes. */
size_t vigil__utf8_chars(const char *s, size_t len);

/* What a person cannot see in a name or a reason (docs/security.md T7, T8):
 * a control character (C0, DEL, C1); an invisible one, i.e. a format
 * character (Unicode's Cf: the bidi controls U+202A..U+202E and
 * U+2066..U+2069, the zero widths U+200B..U+200F and U+2060..U+2064,
 * U+FEFF, the soft hyphen, tags...) or one shown as nothing (variation
 * selectors, fillers, U+034F); white space beyond ASCII's (U+00A0,
 * U+2000..U+200A, U+2028, U+3000...). */
int vigil__unicode_control(uint32_t cp); /* Cc */
int vigil__unicode_invisible(uint32_t cp);
int vigil__unicode_space(uint32_t cp);
/* Each by Unicode's general category (libutf8proc's tables, not ours):
 * invisible is Cf, or shown as nothing (fillers, variation selectors);
 * space is Zs, Zl, Zp and ASCII's white space. */
/* A combining mark (Unicode's Mn, Me, Mc), which shows on what precedes it. */
int vigil__unicode_combining(uint32_t cp);
/* A character that says nothing in a reason (docs/safety.md K7): a
 * nonspacing or enclosing mark (Mn, Me: in every script), a format,
 * control, surrogate, private-use or unassigned code point (Cf, Cc, Cs,
 * Co, Cn), white space (Zs, Zl, Zp), the Braille blank U+2800 and what
 * is shown as nothing (the Hangul fillers, variation selectors). */
int vigil__unicode_says_nothing(uint32_t cp);
/* A letter or digit of any script (Lu, Ll, Lt, Lo, Nd, Nl, No): not a
 * modifier letter (Lm: U+02D0, U+3005), a symbol (So: U+2605, emoji) or
 * punctuation (Po: U+2022, U+2026), which say nothing alone (the fourth
 * independent review, V2). */
int vigil__unicode_letter_or_digit(uint32_t cp);
/* s folded for comparing identifiers (docs/safety.md K2): Unicode
 * compatibility normalisation (NFKC: full-width digits are digits), case
 * folding, the default ignorables removed, and dashes and spaces lumped
 * (U+2011 is '-'). malloc'd; NULL when s is not UTF-8 or out of memory. */
char *vigil__unicode_fold(const char *s);
/* The same with the marks taken off their letters (Kétamine is ketamine):
 * for names compared as words, not identifiers (docs/safety.md N4). */
char *vigil__unicode_fold_bare(const char *s);
/* Whether a and b, neither NULL nor empty, are one name folded with the
 * marks off their letters (KETAMINE is Ketamine, Kétamine too); 0 when out
 * of memory. */
int vigil__unicode_same_bare(const char *a, const char *b);
/* s's confusable skeleton (Unicode's UTS #39, by Debian's ICU) of its
 * fold in capitals, after its nonspacing and enclosing marks and emoji
 * skin-tone modifiers are dropped and its digits of any script (and a
 * letter number of one digit, Roman numeral two) made ASCII digits: two
 * identifiers with the same one look alike across scripts and case ("\u041cRN-200", Cyrillic capital EM, and
 * "mrn-2\u03bf0", Greek small omicron, are "MRN-2OO" as "MRN-200" is; docs/safety.md L5). malloc'd; NULL when s is not
 * UTF-8, ICU has no data or out of memory. */
char *vigil__unicode_skeleton(const char *s);
/* The value of a digit of any script (0-9: Nd, and a letter number of one
 * digit's value, Roman numeral two), as the keys below read it; -1 for any
 * other character. */
int vigil__unicode_digit(uint32_t cp);
/* A patient reference's look-alike keys (docs/safety.md K2, L5;
 * docs/workstation.md X1): the two above without the separators of its
 * parts (space, '-', '_', '.', '/', and what they make a dash-like or a
 * blank), so MRN-1003, MRN 1003, MRN_1003, MRN1003 and MRN-1003. meet.
 * malloc'd; NULL as the two above. */
char *vigil__unicode_id_fold(const char *s);
char *vigil__unicode_id_skeleton(const char *s);
/* The same two by utf8proc's and ICU's whole way, whatever s is: the two
 * above take it but for printable ASCII, which they key character by
 * character (issue 16; test_unicode_keys compares them). */
char *vigil__unicode_fold_full(const char *s);
/* Opens ICU's spoof checker and case map and makes the kept ASCII keys, once
 * for the process: 0, or -1 when ICU could not (out of memory, no data; tried
 * again by the next call). An engine's start calls it, so that a command
 * never is ICU's first use. vigil__unicode_ready: 1 once it has. */
int vigil__unicode_open(void);
int vigil__unicode_ready(void);
char *vigil__unicode_skeleton_full(const char *s);

/* Why s cannot be an identifier shown to staff (a patient, a location:
 * docs/security.md U6, U7), as words following its name ("is blank",
 * "may not contain ..."), or NULL if it can: not UTF-8; a control,
 * format or bidi character, a line or paragraph separator (U+2028,
 * U+2029), a noncharacter (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF), a private-use
 * character or U+FFFD; a character that stands for a whole phrase (U+FDFD,
 * U+FDFE, U+FDFF, U+FD40..U+FD4F, or a compatibility form longer than 6
 * characters: U+FDFA, U+FDFB); a combining mark
 * first; nothing shown but white
 * space, fillers and the Braille blank U+2800. */
const char *vigil__unicode_id_problem(const char *s);

#endif
