/* value_json.c: JSON text straight to a val, without jansson.
 *
 * Recovery reads every open visit's events back and parses each stored body:
 * through jansson (a json_t tree with a hash table per object, then a val
 * built from it) that was three quarters of the time to recover 5,000 visits
 * (callgrind, vigil-bench M5). This parser builds the val as it reads and
 * gives the same values as json_loads + vigil__val_from_json: numbers as doubles
 * (strtod, correctly rounded, as jansson's integers converted), strings as
 * UTF-8 (escapes decoded, surrogate pairs joined), object keys interned in
 * order. It refuses what jansson refuses: anything but one JSON value with
 * surrounding whitespace, control characters and invalid UTF-8 in strings,
 * lone surrogates, numbers outside JSON's grammar, nesting deeper than
 * values may be. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/intern.h"
#include "base/utf8.h"
#include "base/value_json.h"
#include "vigil/vigil.h"

#define MAX_DEPTH 16

typedef struct parser {
  const char *start, *p, *end;
  char *err;
  size_t errlen;
  buf text; /* a string being decoded */
  int oom;  /* a failure was memory, not the text */
} parser;

static int fail(parser *ps, const char *what) {
  if (!strcmp(what, "out of memory")) ps->oom = 1;
  snprintf(ps->err, ps->errlen, "%s at offset %ld", what, (long)(ps->p - ps->start));
  return -1;
}

static void skip_ws(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static int hex4(parser *ps, unsigned *out) {
  if (ps->end - ps->p < 4) return fail(ps, "bad \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = *ps->p++;
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return fail(ps, "bad \\u escape");
  }
  *out = v;
  return 0;
}

static void put_utf8(buf *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80)
    u[0] = (char)cp, n = 1;
  else if (cp < 0x800)
    u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3f)), u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
  else
    u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3f)), u[2] = (char)(0x80 | (cp >> 6 & 0x3f)),
    u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
  vigil__buf_put(b, u, n);
}

/* A string (ps->p at its opening quote), decoded into ps->text. */
static int string(parser *ps) {
  vigil__buf_reset(&ps->text);
  ps->p++;
  const char *run = ps->p;
  for (;;) {
    if (ps->p >= ps->end) return fail(ps, "unterminated string");
    unsigned char c = (unsigned char)*ps->p;
    if (c == '"') break;
    if (c < 0x20) return fail(ps, "control character in a string");
    if (c >= 0x80) {
      size_t n = vigil__utf8_seq((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
      if (!n) return fail(ps, "invalid UTF-8 in a string");
      ps->p += n;
      continue;
    }
    if (c != '\\') {
      ps->p++;
      continue;
    }
    vigil__buf_put(&ps->text, run, (size_t)(ps->p - run));
    if (ps->end - ps->p < 2) return fail(ps, "unterminated string");
    char e = ps->p[1];
    ps->p += 2;
    switch (e) {
    case '"':
      vigil__buf_putc(&ps->text, '"');
      break;
    case '\\':
      vigil__buf_putc(&ps->text, '\\');
      break;
    case '/':
      vigil__buf_putc(&ps->text, '/');
      break;
    case 'b':
      vigil__buf_putc(&ps->text, '\b');
      break;
    case 'f':
      vigil__buf_putc(&ps->text, '\f');
      break;
    case 'n':
      vigil__buf_putc(&ps->text, '\n');
      break;
    case 'r':
      vigil__buf_putc(&ps->text, '\r');
      break;
    case 't':
      vigil__buf_putc(&ps->text, '\t');
      break;
    case 'u': {
      unsigned cp, lo;
      if (hex4(ps, &cp) < 0) return -1;
      if (cp >= 0xdc00 && cp <= 0xdfff) return fail(ps, "lone surrogate in a string");
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') return fail(ps, "lone surrogate in a string");
        ps->p += 2;
        if (hex4(ps, &lo) < 0) return -1;
        if (lo < 0xdc00 || lo > 0xdfff) return fail(ps, "lone surrogate in a string");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      }
      if (cp == 0) return fail(ps, "\\u0000 in a string");
      put_utf8(&ps->text, cp);
      break;
    }
    default:
      return fail(ps, "bad escape in a string");
    }
    run = ps->p;
  }
  vigil__buf_put(&ps->text, run, (size_t)(ps->p - run));
  ps->p++;
  if (ps->text.oom) return fail(ps, "out of memory");
  return 0;
}

/* A number as JSON's grammar has it, read with strtod. */
static int number(parser *ps, val *out) {
  const char *s = ps->p, *q = s;
  if (q < ps->end && *q == '-') q++;
  if (q < ps->end && *q == '0')
    q++;
  else if (q < ps->end && *q >= '1' && *q <= '9')
    while (q < ps->end && *q >= '0' && *q <= '9')
      q++;
  else
    return fail(ps, "bad number");
  if (q < ps->end && *q == '.') {
    if (++q >= ps->end || *q < '0' || *q > '9') return fail(ps, "bad number");
    while (q < ps->end && *q >= '0' && *q <= '9')
      q++;
  }
  if (q < ps->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < ps->end && (*q == '+' || *q == '-')) q++;
    if (q >= ps->end || *q < '0' || *q > '9') return fail(ps, "bad number");
    while (q < ps->end && *q >= '0' && *q <= '9')
      q++;
  }
  size_t n = (size_t)(q - s);
  /* Whole numbers of up to 15 digits (seq, visit, times, most readings) are
   * exact in a double: no strtod. */
  size_t digits = n - (*s == '-');
  if (digits <= 15 && !memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n)) {
    int64_t x = 0;
    for (const char *d = s + (*s == '-'); d < q; d++)
      x = x * 10 + (*d - '0');
    *out = val_num(*s == '-' ? -(double)x : (double)x);
    ps->p = q;
    return 0;
  }
  char tmp[64], *copy = tmp;
  if (n >= sizeof tmp && !(copy = malloc(n + 1))) return fail(ps, "out of memory");
  memcpy(copy, s, n);
  copy[n] = '\0';
  *out = val_num(strtod(copy, NULL));
  if (copy != tmp) free(copy);
  ps->p = q;
  return 0;
}

static int literal(parser *ps, const char *word, val v, val *out) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) return fail(ps, "unexpected character");
  ps->p += n;
  *out = v;
  return 0;
}

static int value(parser *ps, val *out, int depth);

/* Members are gathered in a growing array, then moved into a record or list
 * of the right size. */
typedef struct gather {
  field *f;
  size_t n, cap;
} gather;

static int gather_add(parser *ps, gather *g, const char *key, val v) {
  if (g->n == g->cap) {
    size_t cap;
    field *f = vigil__grow(g->f, g->cap, g->n + 1, sizeof *f, 8, &cap);
    if (!f) {
      vigil__val_release(v);
      return fail(ps, "out of memory");
    }
    g->f = f;
    g->cap = cap;
  }
  g->f[g->n++] = (field){.key = key, .v = v};
  return 0;
}

static void gather_release(gather *g) {
  for (size_t i = 0; i < g->n; i++)
    vigil__val_release(g->f[i].v);
  free(g->f);
}

static int container(parser *ps, val *out, int depth, int object) {
  char close = object ? '}' : ']';
  gather g = {NULL, 0, 0};
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == close)
    ps->p++;
  else
    for (;;) {
      const char *key = NULL;
      if (object) {
        if (ps->p >= ps->end || *ps->p != '"') goto bad;
        if (string(ps) < 0) goto fail;
        if (memchr(ps->text.p ? ps->text.p : "", '\0', ps->text.len)) goto bad;
        if (!(key = vigil__intern_n(ps->text.p ? ps->text.p : "", ps->text.len))) {
          fail(ps, "out of memory");
          goto fail;
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p++ != ':') goto bad;
        skip_ws(ps);
      }
      val v;
      if (value(ps, &v, depth + 1) < 0 || gather_add(ps, &g, key, v) < 0) goto fail;
      skip_ws(ps);
      if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        skip_ws(ps);
        continue;
      }
      if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        break;
      }
      goto bad;
    }
  *out = object ? vigil__val_record((uint32_t)g.n) : vigil__val_list((uint32_t)g.n);
  if (!vigil__val_ok(*out)) {
    fail(ps, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < g.n; i++) {
    if (object)
      val_fields(*out)[i] = g.f[i];
    else
      val_items(*out)[i] = g.f[i].v;
  }
  free(g.f);
  return 0;
bad:
  fail(ps, object ? "bad object" : "bad array");
fail:
  gather_release(&g);
  return -1;
}

static int value(parser *ps, val *out, int depth) {
  if (depth >= MAX_DEPTH) return fail(ps, "value nested too deeply");
  if (ps->p >= ps->end) return fail(ps, "unexpected end");
  switch (*ps->p) {
  case '{':
    return container(ps, out, depth, 1);
  case '[':
    return container(ps, out, depth, 0);
  case '"':
    if (string(ps) < 0) return -1;
    *out = vigil__val_string(ps->text.p ? ps->text.p : "", ps->text.len);
    return vigil__val_ok(*out) ? 0 : fail(ps, "out of memory");
  case 't':
    return literal(ps, "true", val_bool(1), out);
  case 'f':
    return literal(ps, "false", val_bool(0), out);
  case 'n':
    return literal(ps, "null", VAL_NIL_, out);
  default:
    return number(ps, out);
  }
}

int vigil__val_parse_json(const char *text, size_t len, val *out, char *err, size_t errlen) {
  parser ps = {.start = text, .p = text, .end = text + len, .err = err, .errlen = errlen};
  vigil__buf_init(&ps.text);
  *out = VAL_NIL_;
  skip_ws(&ps);
  int rc = value(&ps, out, 0);
  if (rc == 0) {
    skip_ws(&ps);
    if (ps.p != ps.end) {
      vigil__val_release(*out);
      *out = VAL_NIL_;
      rc = fail(&ps, "text after the value");
    }
  }
  vigil__buf_free(&ps.text);
  return rc < 0 && ps.oom ? VIGIL_ENOMEM : rc;
}
