/* utf8.h: the one UTF-8 validator of vigil (RFC 3629).
 *
 * Well-formed means what the Unicode standard (table 3-7) allows: no
 * overlong forms (C0, C1, E0 80..9F, F0 80..8F), no surrogates (ED A0..BF)
 * and nothing past U+10FFFF (F4 90.., F5..FF). Every check of text from
 * outside (query parameters, JSON strings, error messages) uses these. */
#ifndef VIGIL_UTF8_H
#define VIGIL_UTF8_H

#include <stddef.h>

/* The length (1 to 4) of the well-formed sequence at p, of which avail
 * bytes may be read; 0 if it is not one. */
size_t vigil__utf8_seq(const unsigned char *p, size_t avail);
/* Whether s[0..n) is well-formed UTF-8 (NUL bytes are allowed). */
int vigil__utf8_valid_n(const char *s, size_t n);
/* Whether the NUL-terminated s is well-formed UTF-8. */
int vigil__utf8_valid(const char *s);

#endif
