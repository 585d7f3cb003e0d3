/* value.c: immutable, reference-counted values. */
#include "base/value.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static obj *obj_new(uint32_t n, size_t payload) {
  obj *o = malloc(sizeof *o + payload);
  if (!o) return NULL;
  o->refs = 1;
  o->n = n;
  return o;
}

int vigil__val_ok(val v) { return !val_is_obj(v) || v.u.o != NULL; }

int vigil__val_whole(val v) {
  if (!vigil__val_ok(v)) return 0;
  if (v.type == VAL_RECORD) {
    for (uint32_t i = 0; i < v.u.o->n; i++)
      if (!val_fields(v)[i].key || !vigil__val_whole(val_fields(v)[i].v)) return 0;
  } else if (v.type == VAL_LIST) {
    for (uint32_t i = 0; i < v.u.o->n; i++)
      if (!vigil__val_whole(val_items(v)[i])) return 0;
  }
  return 1;
}

val vigil__val_string(const char *s, size_t n) {
  obj *o = obj_new((uint32_t)n, n + 1);
  if (!o) return (val){.type = VAL_STRING, .u.o = NULL};
  memcpy(o + 1, s, n);
  ((char *)(o + 1))[n] = '\0';
  return (val){.type = VAL_STRING, .u.o = o};
}

val vigil__val_cstring(const char *s) { return vigil__val_string(s, strlen(s)); }

val vigil__val_record(uint32_t n) {
  obj *o = obj_new(n, n * sizeof(field));
  val v = {.type = VAL_RECORD, .u.o = o};
  if (o) memset(val_fields(v), 0, n * sizeof(field));
  return v;
}

val vigil__val_recordv(uint32_t n, ...) {
  val r = vigil__val_record(n);
  /* A field that failed (a value or a key that could not be made) fails the
   * whole record: a record is never missing part of what it was given. */
  int whole = vigil__val_ok(r);
  va_list ap;
  va_start(ap, n);
  for (uint32_t i = 0; i < n; i++) {
    const char *k = va_arg(ap, const char *);
    val v = va_arg(ap, val);
    whole = whole && k && vigil__val_ok(v);
    if (vigil__val_ok(r)) {
      val_fields(r)[i].key = k;
      val_fields(r)[i].v = v;
    } else {
      vigil__val_release(v);
    }
  }
  va_end(ap);
  if (whole) return r;
  vigil__val_release(r);
  return (val){.type = VAL_RECORD, .u.o = NULL};
}

val vigil__val_list(uint32_t n) {
  obj *o = obj_new(n, n * sizeof(val));
  val v = {.type = VAL_LIST, .u.o = o};
  if (o) memset(val_items(v), 0, n * sizeof(val));
  return v;
}

val vigil__val_retain(val v) {
  if (val_is_obj(v) && v.u.o) v.u.o->refs++;
  return v;
}

void vigil__val_release(val v) {
  if (!val_is_obj(v) || !v.u.o || --v.u.o->refs > 0) return;
  if (v.type == VAL_RECORD) {
    for (uint32_t i = 0; i < v.u.o->n; i++)
      vigil__val_release(val_fields(v)[i].v);
  } else if (v.type == VAL_LIST) {
    for (uint32_t i = 0; i < v.u.o->n; i++)
      vigil__val_release(val_items(v)[i]);
  }
  free(v.u.o);
}

val *vigil__val_get(val rec, const char *key) {
  if (rec.type != VAL_RECORD || !rec.u.o) return NULL;
  field *f = val_fields(rec);
  for (uint32_t i = 0; i < rec.u.o->n; i++)
    if (f[i].key == key) return &f[i].v;
  return NULL;
}

const char *vigil__val_text_of(val rec, const char *key) {
  const val *x = vigil__val_get(rec, key);
  return x ? val_text(*x) : NULL;
}

/* Structural, allocating nothing: a comparison that could run out of memory
 * would say "changed" for want of it, and a clinician's signature would be
 * voided by a change that is not there (fourth review, item 1). An atom and
 * a string of the same text are the same value (they are written the same). */
int vigil__val_same(val a, val b) {
  const char *ta = val_text(a), *tb = val_text(b);
  if (ta || tb) {
    if (!ta || !tb || !vigil__val_ok(a) || !vigil__val_ok(b)) return 0;
    size_t na = a.type == VAL_STRING ? a.u.o->n : strlen(ta), nb = b.type == VAL_STRING ? b.u.o->n : strlen(tb);
    return na == nb && !memcmp(ta, tb, na);
  }
  if (a.type != b.type) return 0;
  switch (a.type) {
  case VAL_NIL:
    return 1;
  case VAL_BOOL:
    return a.u.b == b.u.b;
  case VAL_NUMBER:
    return a.u.num == b.u.num;
  case VAL_RECORD:
    /* The same keys with the same values, in whatever order. */
    if (!a.u.o || !b.u.o || a.u.o->n != b.u.o->n) return a.u.o == b.u.o;
    for (uint32_t i = 0; i < a.u.o->n; i++) {
      const val *o = vigil__val_get(b, val_fields(a)[i].key);
      if (!o || !vigil__val_same(val_fields(a)[i].v, *o)) return 0;
    }
    return 1;
  case VAL_LIST:
    if (!a.u.o || !b.u.o || a.u.o->n != b.u.o->n) return a.u.o == b.u.o;
    for (uint32_t i = 0; i < a.u.o->n; i++)
      if (!vigil__val_same(val_items(a)[i], val_items(b)[i])) return 0;
    return 1;
  default:
    return 0;
  }
}

void vigil__val_to_json(buf *b, val v) {
  switch (v.type) {
  case VAL_NIL:
    vigil__buf_puts(b, "null");
    return;
  case VAL_BOOL:
    vigil__buf_puts(b, v.u.b ? "true" : "false");
    return;
  case VAL_NUMBER:
    vigil__buf_json_number(b, v.u.num);
    return;
  case VAL_ATOM:
    vigil__buf_json_string(b, v.u.s);
    return;
  case VAL_STRING:
    vigil__buf_json_string_n(b, val_str(v), v.u.o->n);
    return;
  case VAL_RECORD:
    vigil__buf_putc(b, '{');
    for (uint32_t i = 0; i < v.u.o->n; i++) {
      if (i) vigil__buf_putc(b, ',');
      vigil__buf_json_string(b, val_fields(v)[i].key);
      vigil__buf_putc(b, ':');
      vigil__val_to_json(b, val_fields(v)[i].v);
    }
    vigil__buf_putc(b, '}');
    return;
  case VAL_LIST:
    vigil__buf_putc(b, '[');
    for (uint32_t i = 0; i < v.u.o->n; i++) {
      if (i) vigil__buf_putc(b, ',');
      vigil__val_to_json(b, val_items(v)[i]);
    }
    vigil__buf_putc(b, ']');
    return;
  }
}
