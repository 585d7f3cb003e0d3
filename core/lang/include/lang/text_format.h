/* text_format.h: a text field's format (v.text's `format`, docs/protocols.md):
 * a POSIX extended regular expression the whole value must match, compiled
 * when the protocol loads and checked when a value is entered (entry.c). */
#ifndef VIGIL_LANG_TEXT_FORMAT_H
#define VIGIL_LANG_TEXT_FORMAT_H

#include <stddef.h>

/* 0 when pattern compiles; -1 with why in err (the load refuses the
 * protocol); -2 when memory ran out (not the protocol's fault). */
int vigil__text_format_check(const char *pattern, char *err, size_t errlen);

/* 1 when the whole of text matches pattern, 0 when not, -1 when pattern does
 * not compile or memory runs out (the load checked it: never a match). */
int vigil__text_format_match(const char *pattern, const char *text);

#endif
