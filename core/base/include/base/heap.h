/* heap.h: the engine-wide deadline heap.
 *
 * One entry per visit that has anything due (the earliest of its deadlines),
 * in a binary min-heap of pointers. Each entry knows its own position, so a
 * visit's deadline moves in O(log n) and the engine never holds one timer
 * handle per visit.
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

typedef struct heap {
  heap_entry **v;
  uint32_t n, cap;
} heap;

/* Puts e in the heap at e->due, or moves it there if it is in already. */
int vigil__heap_set(heap *h, heap_entry *e, int64_t due);
void vigil__heap_remove(heap *h, heap_entry *e);
static inline heap_entry *heap_min(const heap *h) { return h->n ? h->v[0] : NULL; }
void vigil__heap_free(heap *h);

#endif
