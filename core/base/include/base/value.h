/* value.h: the values that items hold and events carry.
 *
 * A val is 16 bytes, passed by value: nil, bool, number, or a reference to an
 * immutable, reference-counted object (a string, a record of named fields, or
 * a list). Record keys are interned strings. A visit's readings and the events
 * that recorded them share the same objects.
 */
#ifndef VIGIL_VALUE_H
#define VIGIL_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* VAL_ATOM is an interned string (item ids, phase ids, actors): no allocation,
 * no reference count. Types from VAL_STRING on are reference-counted objects. */
typedef enum val_type { VAL_NIL, VAL_BOOL, VAL_NUMBER, VAL_ATOM, VAL_STRING, VAL_RECORD, VAL_LIST } val_type;

typedef struct obj {
  uint32_t refs;
  uint32_t n; /* string: length; record: fields; list: items */
} obj;

typedef struct val {
  uint8_t type;
  union {
    double num;
    int b;
    const char *s; /* VAL_ATOM */
    obj *o;
  } u;
} val;

typedef struct field {
  const char *key; /* interned */
  val v;
} field;

#define VAL_NIL_ ((val){.type = VAL_NIL})

static inline val val_num(double x) { return (val){.type = VAL_NUMBER, .u.num = x}; }
static inline val val_bool(int b) { return (val){.type = VAL_BOOL, .u.b = !!b}; }
static inline int val_is_obj(val v) { return v.type >= VAL_STRING; }
static inline val val_atom(const char *interned) {
  return interned ? (val){.type = VAL_ATOM, .u.s = interned} : (val){.type = VAL_NIL};
}
static inline const char *val_str(val v) { return (const char *)(v.u.o + 1); }
/* The text of an atom or string, NULL otherwise. */
static inline const char *val_text(val v) {
  return v.type == VAL_ATOM ? v.u.s : v.type == VAL_STRING ? val_str(v) : NULL;
}
static inline field *val_fields(val v) { return (field *)(v.u.o + 1); }
static inline val *val_items(val v) { return (val *)(v.u.o + 1); }
static inline uint32_t val_len(val v) { return val_is_obj(v) ? v.u.o->n : 0; }

/* A record from n (const char *interned_key, val) pairs; the values are
 * moved into it (released if the record cannot be made). */
val vigil__val_recordv(uint32_t n, ...);

/* Constructors return VAL_NIL with .u.o == NULL when out of memory. */
val vigil__val_string(const char *s, size_t n);
val vigil__val_cstring(const char *s);
/* A record with n fields, keys NULL and values nil: fill them before sharing. */
val vigil__val_record(uint32_t n);
val vigil__val_list(uint32_t n);
int vigil__val_ok(val v);    /* not an allocation failure */
int vigil__val_whole(val v); /* nor any value or key inside it */

val vigil__val_retain(val v);
void vigil__val_release(val v);

/* The field of a record (key interned), or NULL. */
val *vigil__val_get(val rec, const char *key);
/* The text of a record's field (key interned): NULL when there is no such
 * field or it is not text (an event's data read back). */
const char *vigil__val_text_of(val rec, const char *key);

/* The same value (structurally, allocating nothing): numbers by value,
 * records by their keys and values in any order, an atom and a string of the
 * same text alike. */
int vigil__val_same(val a, val b);

void vigil__val_to_json(buf *b, val v);

#endif
