/* buf.c: a growable byte buffer, and JSON written into it. */
#include "base/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *vigil__grow(void *p, size_t cap, size_t need, size_t elem, size_t first, size_t *new_cap) {
  if (need <= cap && p) {
    *new_cap = cap;
    return p;
  }
  size_t n = cap ? cap : (first ? first : 1);
  while (n < need) {
    if (n > (size_t)-1 / 2) return NULL;
    n *= 2;
  }
  if (!elem || n > (size_t)-1 / elem) return NULL;
  void *grown = realloc(p, n * elem);
  if (grown) *new_cap = n;
  return grown;
}

void vigil__buf_init(buf *b) { memset(b, 0, sizeof *b); }

void vigil__buf_free(buf *b) {
  free(b->p);
  vigil__buf_init(b);
}

void vigil__buf_reset(buf *b) {
  b->len = 0;
  if (b->p) b->p[0] = '\0';
}

static int buf_reserve(buf *b, size_t extra) {
  if (b->oom) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  char *p = extra < (size_t)-1 - b->len - 1 ? vigil__grow(b->p, b->cap, b->len + extra + 1, 1, 64, &b->cap) : NULL;
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  return 0;
}

char *vigil__buf_take(buf *b) {
  if (b->oom || buf_reserve(b, 0) < 0) {
    vigil__buf_free(b);
    return NULL;
  }
  char *p = b->p;
  vigil__buf_init(b);
  return p;
}

void vigil__buf_put(buf *b, const char *s, size_t n) {
  if (buf_reserve(b, n) < 0) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void vigil__buf_puts(buf *b, const char *s) { vigil__buf_put(b, s, strlen(s)); }

void vigil__buf_putc(buf *b, char c) { vigil__buf_put(b, &c, 1); }

void vigil__buf_vprintf(buf *b, const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, aq);
  va_end(aq);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    vigil__buf_put(b, small, (size_t)n);
    return;
  }
  if (buf_reserve(b, (size_t)n) < 0) return;
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void vigil__buf_printf(buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vigil__buf_vprintf(b, fmt, ap);
  va_end(ap);
}

void vigil__buf_json_string_n(buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  vigil__buf_putc(b, '"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    vigil__buf_put(b, s + run, i - run);
    run = i + 1;
    switch (c) {
    case '"':
      vigil__buf_put(b, "\\\"", 2);
      break;
    case '\\':
      vigil__buf_put(b, "\\\\", 2);
      break;
    case '\n':
      vigil__buf_put(b, "\\n", 2);
      break;
    case '\r':
      vigil__buf_put(b, "\\r", 2);
      break;
    case '\t':
      vigil__buf_put(b, "\\t", 2);
      break;
    default: {
      char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      vigil__buf_put(b, u, 6);
    }
    }
  }
  vigil__buf_put(b, s + run, n - run);
  vigil__buf_putc(b, '"');
}

void vigil__buf_json_string(buf *b, const char *s) { vigil__buf_json_string_n(b, s, strlen(s)); }

void vigil__buf_json_number(buf *b, double x) {
  if (!isfinite(x)) {
    vigil__buf_puts(b, "null");
    return;
  }
  if (x == (double)(int64_t)x && fabs(x) < 1e15) {
    vigil__buf_put_int(b, (long long)x);
    return;
  }
  /* Shortest of %.15g and %.17g that reads back as the same double. */
  char s[32];
  snprintf(s, sizeof s, "%.15g", x);
  if (strtod(s, NULL) != x) snprintf(s, sizeof s, "%.17g", x);
  vigil__buf_puts(b, s);
}

void vigil__buf_put_int(buf *b, long long x) {
  char s[24], *p = s + sizeof s;
  /* Through unsigned, so that LLONG_MIN negates. */
  unsigned long long u = x < 0 ? 0ull - (unsigned long long)x : (unsigned long long)x;
  do
    *--p = (char)('0' + u % 10);
  while ((u /= 10) > 0);
  if (x < 0) *--p = '-';
  vigil__buf_put(b, p, (size_t)(s + sizeof s - p));
}

static void put_digits(char *p, int value, int width) {
  for (int i = width - 1; i >= 0; i--, value /= 10)
    p[i] = (char)('0' + value % 10);
}

void vigil__buf_iso_time(buf *b, int64_t ms) {
  /* Every event carries one; consecutive events mostly share their second,
   * so the calendar part is kept from the last call. */
  static _Thread_local int64_t last_secs = INT64_MIN;
  static _Thread_local char text[24] = "0000-00-00T00:00:00.000Z";
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (secs != last_secs) {
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    put_digits(text, tm.tm_year + 1900, 4);
    put_digits(text + 5, tm.tm_mon + 1, 2);
    put_digits(text + 8, tm.tm_mday, 2);
    put_digits(text + 11, tm.tm_hour, 2);
    put_digits(text + 14, tm.tm_min, 2);
    put_digits(text + 17, tm.tm_sec, 2);
    last_secs = secs;
  }
  put_digits(text + 20, (int)(ms - secs * 1000), 3);
  vigil__buf_put(b, text, sizeof text);
}

/* One CSV field, quoted when it holds a comma, a quote or a line break
 * (RFC 4180): quotes inside are doubled. */
/* A plain decimal number ("-5", "37.5"): a spreadsheet reads it as a number,
 * never as a formula, so a leading minus stays. */
static int plain_number(const char *s, size_t n) {
  size_t i = s[0] == '-' ? 1 : 0, digits = 0, dots = 0;
  for (; i < n; i++)
    if (s[i] >= '0' && s[i] <= '9')
      digits++;
    else if (s[i] == '.' && !dots++)
      continue;
    else
      return 0;
  return digits > 0;
}

void vigil__buf_csv_field(buf *b, const char *s, size_t n) {
  /* A cell a spreadsheet would run as a formula (OWASP, CSV injection):
   * a quote first makes it text, and the field is quoted. */
  int formula = n && s[0] && strchr("=+-@\t\r", s[0]) && !plain_number(s, n);
  if (!formula && !memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
    vigil__buf_put(b, s, n);
    return;
  }
  vigil__buf_putc(b, '"');
  if (formula) vigil__buf_putc(b, '\'');
  size_t run = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '"') {
      vigil__buf_put(b, s + run, i + 1 - run);
      vigil__buf_putc(b, '"');
      run = i + 1;
    }
  vigil__buf_put(b, s + run, n - run);
  vigil__buf_putc(b, '"');
}

void vigil__text_drop_dir(char *text, const char *dir) {
  size_t dl = dir ? strlen(dir) : 0;
  if (!dl || !strcmp(dir, ".")) return;
  char *out = text;
  for (const char *in = text; *in;) {
    if (!strncmp(in, dir, dl) && in[dl] == '/')
      in += dl + 1;
    else
      *out++ = *in++;
  }
  *out = '\0';
}
