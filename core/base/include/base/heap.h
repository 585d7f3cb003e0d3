/* heap.h: the engine-wide deadline heap.
 *
 * One entry per visit that has anything due (the earliest of its deadlines),
 * in a binary min-heap. Each entry knows its own position, so a visit's
 * deadline moves in O(log n) and the engine never holds one timer handle
 * per visit. The heap's slots hold each entry's due time beside its
 * pointer, so that sifting compares without reading the entries (visits
 * spread over the whole of memory: at 100,000 visits each comparison was a
 * cache miss, issue 16); an entry is read only for its tie, when two are
 * due at the same time, and written when it moves.
 */
#ifndef VIGIL_HEAP_H
#define VIGIL_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE UINT32_MAX

typedef struct heap_entry {
  int64_t due;
  uint64_t tie;   /* visits due at the same time fire in start order */
  uint32_t index; /* position in the heap, HEAP_NONE when not in it */
} heap_entry;

typedef struct heap_slot {
  int64_t due; /* a copy of the entry's, which changes only through vigil__heap_set */
  heap_entry *e;
} heap_slot;

typedef struct heap {
  heap_slot *v;
  uint32_t n, cap;
} heap;

/* Puts e in the heap at e->due, or moves it there if it is in already. */
int vigil__heap_set(heap *h, heap_entry *e, int64_t due);
void vigil__heap_remove(heap *h, heap_entry *e);
static inline heap_entry *heap_min(const heap *h) { return h->n ? h->v[0].e : NULL; }
void vigil__heap_free(heap *h);

#endif
