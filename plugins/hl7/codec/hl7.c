/* hl7.c: HL7 v2 messages parsed in place, values found on demand and
 * unescaped; messages built with every delimiter escaped (hl7.h). */
#include "hl7.h"
#include "plugin_common/plugin_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(hl7_msg *m, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(hl7_msg *m, char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  vigil__hl7_free(m);
  return -1;
}

static int is_delimiter_char(char c) {
  /* printable ASCII that is neither a letter, a digit nor a space */
  return c > 0x20 && c < 0x7f && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

static int is_id_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

static char shown(char c) { return (c > 0x20 && c < 0x7f) ? c : '?'; }

int vigil__hl7_parse(hl7_msg *m, const char *data, size_t len, char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  if (len < 8 || memcmp(data, "MSH", 3) != 0)
    return fail(m, err, errlen, "not an HL7 v2 message: it does not start with an MSH segment");
  if (memchr(data, '\0', len)) return fail(m, err, errlen, "the message holds a NUL byte");
  hl7_delims d = {.field = data[3]};
  size_t i = 4, k = 0;
  char enc[5];
  while (i < len && data[i] != d.field && data[i] != '\r' && data[i] != '\n') {
    if (k == 5) return fail(m, err, errlen, "MSH-2 (encoding characters) has more than 5 characters");
    enc[k++] = data[i++];
  }
  if (k < 4)
    return fail(m, err, errlen,
                "MSH-2 (encoding characters) needs 4 characters (component, repetition, escape, "
                "subcomponent), it has %zu",
                k);
  if (i >= len || data[i] != d.field) return fail(m, err, errlen, "MSH ends after its encoding characters");
  d.comp = enc[0];
  d.rep = enc[1];
  d.esc = enc[2];
  d.sub = enc[3];
  char all[6] = {d.field, enc[0], enc[1], enc[2], enc[3], k == 5 ? enc[4] : '\0'};
  for (size_t a = 0; a < k + 1; a++) {
    if (!is_delimiter_char(all[a]))
      return fail(m, err, errlen, "MSH-1/MSH-2: '%c' (0x%02x) cannot be a delimiter", shown(all[a]),
                  (unsigned)(unsigned char)all[a]);
    for (size_t b = a + 1; b < k + 1; b++)
      if (all[a] == all[b]) return fail(m, err, errlen, "MSH-1/MSH-2: the delimiter '%c' is used twice", all[a]);
  }
  m->text = malloc(len + 1);
  if (!m->text) return fail(m, err, errlen, "out of memory");
  memcpy(m->text, data, len);
  m->text[len] = '\0';
  m->len = len;
  m->d = d;
  size_t cap = 16;
  m->seg = malloc(cap * sizeof *m->seg);
  if (!m->seg) return fail(m, err, errlen, "out of memory");
  size_t start = 0;
  for (size_t p = 0; p <= len; p++) {
    if (p < len && m->text[p] != '\r' && m->text[p] != '\n') continue;
    if (p > start) { /* empty lines (CR LF, a trailing CR) are no segments */
      const char *s = m->text + start;
      size_t n = p - start;
      if (n < 3 || !is_id_char(s[0]) || !is_id_char(s[1]) || !is_id_char(s[2]) || (n > 3 && s[3] != d.field))
        return fail(m, err, errlen, "segment %zu: its id is not three capital letters or digits followed by '%c'",
                    m->n_seg + 1, d.field);
      if (m->n_seg > 0 && memcmp(s, "MSH", 3) == 0)
        return fail(m, err, errlen, "segment %zu: a second MSH (one message per frame; batches are not taken)",
                    m->n_seg + 1);
      if (m->n_seg == HL7_MAX_SEGMENTS) return fail(m, err, errlen, "more than %d segments", HL7_MAX_SEGMENTS);
      hl7_span *grown = vigil__plugin_grow(m->seg, &cap, m->n_seg + 1, sizeof *m->seg, 0);
      if (!grown) return fail(m, err, errlen, "out of memory");
      m->seg = grown;
      m->seg[m->n_seg].p = s;
      m->seg[m->n_seg].n = n;
      m->n_seg++;
    }
    start = p + 1;
  }
  return 0;
}

void vigil__hl7_free(hl7_msg *m) {
  free(m->text);
  free(m->seg);
  memset(m, 0, sizeof *m);
}

long vigil__hl7_find(const hl7_msg *m, const char *id, int nth) {
  for (size_t i = 0; i < m->n_seg; i++)
    if (memcmp(m->seg[i].p, id, 3) == 0 && nth-- == 0) return (long)i;
  return -1;
}

/* The index-th (0-based) piece of s cut at c; 1 when there is one. */
static int piece(hl7_span s, char c, int index, hl7_span *out) {
  const char *p = s.p, *end = s.p + s.n;
  for (int k = 0; k < index; k++) {
    const char *q = memchr(p, c, (size_t)(end - p));
    if (!q) {
      out->p = end;
      out->n = 0;
      return 0;
    }
    p = q + 1;
  }
  const char *q = memchr(p, c, (size_t)(end - p));
  out->p = p;
  out->n = (size_t)((q ? q : end) - p);
  return 1;
}

/* SEG-field whole (all repetitions). */
static int field_of(const hl7_msg *m, size_t seg, int field, hl7_span *out) {
  out->p = "";
  out->n = 0;
  if (seg >= m->n_seg || field < 1) return 0;
  hl7_span s = m->seg[seg];
  int msh = memcmp(s.p, "MSH", 3) == 0;
  if (msh && field == 1) {
    out->p = s.p + 3;
    out->n = 1;
    return 1;
  }
  return piece(s, m->d.field, msh ? field - 1 : field, out);
}

int vigil__hl7_get(const hl7_msg *m, size_t seg, int field, int rep, int comp, int sub, hl7_span *out) {
  hl7_span f;
  if (!field_of(m, seg, field, &f) || rep < 0 || comp < 0 || sub < 0) {
    out->p = "";
    out->n = 0;
    return 0;
  }
  if (field <= 2 && seg < m->n_seg && memcmp(m->seg[seg].p, "MSH", 3) == 0) { /* MSH-1, MSH-2: never split */
    *out = (rep == 0 && comp <= 1 && sub <= 1) ? f : (hl7_span){"", 0};
    return rep == 0 && comp <= 1 && sub <= 1;
  }
  hl7_span r, c;
  if (!piece(f, m->d.rep, rep, &r)) {
    *out = r;
    return 0;
  }
  if (comp == 0) {
    *out = r;
    return 1;
  }
  if (!piece(r, m->d.comp, comp - 1, &c)) {
    *out = c;
    return 0;
  }
  if (sub == 0) {
    *out = c;
    return 1;
  }
  return piece(c, m->d.sub, sub - 1, out);
}

int vigil__hl7_reps(const hl7_msg *m, size_t seg, int field) {
  hl7_span f;
  if (!field_of(m, seg, field, &f) || f.n == 0) return 0;
  int n = 1;
  for (size_t i = 0; i < f.n; i++)
    if (f.p[i] == m->d.rep) n++;
  return n;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static void put(char *out, size_t outlen, size_t *n, char c) {
  if (*n + 1 < outlen) out[*n] = c;
  (*n)++;
}

size_t vigil__hl7_unescape(const hl7_delims *d, hl7_span raw, char *out, size_t outlen) {
  size_t n = 0;
  for (size_t i = 0; i < raw.n; i++) {
    char c = raw.p[i];
    const char *close = c == d->esc ? memchr(raw.p + i + 1, d->esc, raw.n - i - 1) : NULL;
    if (!close) {
      put(out, outlen, &n, c);
      continue;
    }
    const char *s = raw.p + i + 1;
    size_t len = (size_t)(close - s);
    int known = 1;
    if (len == 1 && *s == 'F')
      put(out, outlen, &n, d->field);
    else if (len == 1 && *s == 'S')
      put(out, outlen, &n, d->comp);
    else if (len == 1 && *s == 'T')
      put(out, outlen, &n, d->sub);
    else if (len == 1 && *s == 'R')
      put(out, outlen, &n, d->rep);
    else if (len == 1 && *s == 'E')
      put(out, outlen, &n, d->esc);
    else if (len == 1 && (*s == 'H' || *s == 'N')) { /* highlighting on, off: no text */
    } else if (len == 3 && memcmp(s, ".br", 3) == 0)
      put(out, outlen, &n, '\n');
    else if (len >= 3 && *s == 'X' && (len - 1) % 2 == 0) {
      for (size_t h = 1; h < len; h += 2)
        if (hexval(s[h]) < 0 || hexval(s[h + 1]) < 0) known = 0;
      for (size_t h = 1; known && h < len; h += 2) {
        char b = (char)(hexval(s[h]) * 16 + hexval(s[h + 1]));
        put(out, outlen, &n, b); /* a NUL too: the length returned counts it, so a reader sees it (A8) */
      }
    } else
      known = 0;
    if (!known) { /* not an escape we know: kept as sent */
      put(out, outlen, &n, c);
      continue;
    }
    i += len + 1;
  }
  if (outlen) out[n < outlen ? n : outlen - 1] = '\0';
  return n;
}

size_t vigil__hl7_value(const hl7_msg *m, size_t seg, int field, int rep, int comp, int sub, char *out, size_t outlen) {
  hl7_span s;
  vigil__hl7_get(m, seg, field, rep, comp, sub, &s);
  if (field <= 2 && seg < m->n_seg && memcmp(m->seg[seg].p, "MSH", 3) == 0) { /* delimiters are not escaped */
    size_t n = s.n < outlen ? s.n : (outlen ? outlen - 1 : 0);
    if (outlen) {
      memcpy(out, s.p, n);
      out[n] = '\0';
    }
    return s.n;
  }
  return vigil__hl7_unescape(&m->d, s, out, outlen);
}

/* ---- building ---- */

void vigil__hl7_out_init(hl7_out *o, const hl7_delims *d) {
  memset(o, 0, sizeof *o);
  o->d = d ? *d : (hl7_delims){'|', '^', '~', '\\', '&'};
}

void vigil__hl7_out_free(hl7_out *o) {
  free(o->p);
  o->p = NULL;
  o->n = o->cap = 0;
}

void vigil__hl7_out_raw(hl7_out *o, const char *s, size_t n) {
  if (o->failed) return;
  char *p = vigil__plugin_grow(o->p, &o->cap, o->n + n + 1, 1, 256);
  if (!p) {
    o->failed = 1;
    return;
  }
  o->p = p;
  memcpy(o->p + o->n, s, n);
  o->n += n;
  o->p[o->n] = '\0';
}

void vigil__hl7_out_text(hl7_out *o, const char *s) {
  for (; s && *s; s++) {
    char c = *s, e = 0;
    if (c == o->d.field)
      e = 'F';
    else if (c == o->d.comp)
      e = 'S';
    else if (c == o->d.rep)
      e = 'R';
    else if (c == o->d.sub)
      e = 'T';
    else if (c == o->d.esc)
      e = 'E';
    if (e) {
      char seq[3] = {o->d.esc, e, o->d.esc};
      vigil__hl7_out_raw(o, seq, 3);
    } else if (c == '\r' || c == '\n') {
      char seq[5] = {o->d.esc, 'X', '0', c == '\r' ? 'D' : 'A', o->d.esc};
      vigil__hl7_out_raw(o, seq, 5);
    } else
      vigil__hl7_out_raw(o, &c, 1);
  }
}

void vigil__hl7_out_field(hl7_out *o, const char *s) {
  vigil__hl7_out_raw(o, &o->d.field, 1);
  vigil__hl7_out_text(o, s);
}

void vigil__hl7_out_end(hl7_out *o) { vigil__hl7_out_raw(o, "\r", 1); }
