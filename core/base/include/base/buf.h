/* buf.h: a growable byte buffer, and JSON written into it. */
#ifndef VIGIL_BUF_H
#define VIGIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
  char *p;
  size_t len, cap;
  int oom; /* an allocation failed: the content is truncated */
} buf;

/* The one growth loop: the array p of cap elements of elem bytes, made
 * room for need (at least 1) of them by doubling from cap (or from first
 * when cap is 0): the array, moved perhaps, with its new capacity in
 * *new_cap; or NULL when out of memory or the size would overflow (p is
 * then untouched). Every growable array and buffer of the rooms grows
 * through here (the plugins, which see no room, through plugins/common). */
void *vigil__grow(void *p, size_t cap, size_t need, size_t elem, size_t first, size_t *new_cap);

void vigil__buf_init(buf *b);
void vigil__buf_free(buf *b);
/* Hands the NUL-terminated content to the caller (NULL after an allocation failure). */
char *vigil__buf_take(buf *b);
void vigil__buf_reset(buf *b);
void vigil__buf_put(buf *b, const char *s, size_t n);
void vigil__buf_puts(buf *b, const char *s);
void vigil__buf_putc(buf *b, char c);
void vigil__buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vigil__buf_vprintf(buf *b, const char *fmt, va_list ap);

/* JSON pieces. */
void vigil__buf_json_string(buf *b, const char *s);
void vigil__buf_json_string_n(buf *b, const char *s, size_t n);
void vigil__buf_json_number(buf *b, double x);
/* A whole number in decimal, without printf: every event row has several. */
void vigil__buf_put_int(buf *b, long long x);
/* 2026-11-21T08:00:00.000Z */
void vigil__buf_iso_time(buf *b, int64_t ms);

/* One CSV field (RFC 4180), quoted when it holds a comma, a quote or a line
 * break; quotes inside are doubled. A field a spreadsheet would take for a
 * formula (first character = + - @, tab or CR, and not a plain number such
 * as -5) gets a ' in front and quotes, as OWASP recommends: every CSV vigil
 * writes goes through here. */
void vigil__buf_csv_field(buf *b, const char *s, size_t n);

/* Takes every "dir/" out of text, in place: a message shown to staff or
 * clients names a file by its path within dir, never where the server
 * keeps it. Nothing when dir is NULL, "" or ".". */
void vigil__text_drop_dir(char *text, const char *dir);

#endif
