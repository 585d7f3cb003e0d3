/* heap.c: an indexed binary min-heap of deadlines. */
#include "base/heap.h"

#include "base/buf.h"

#include <stdlib.h>

static int less(const heap_slot *a, const heap_slot *b) {
  return a->due < b->due || (a->due == b->due && a->e->tie < b->e->tie);
}

static void place(heap *h, uint32_t i, heap_slot s) {
  h->v[i] = s;
  s.e->index = i;
}

static void up(heap *h, uint32_t i) {
  heap_slot s = h->v[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!less(&s, &h->v[parent])) break;
    place(h, i, h->v[parent]);
    i = parent;
  }
  place(h, i, s);
}

static void down(heap *h, uint32_t i) {
  heap_slot s = h->v[i];
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && less(&h->v[c + 1], &h->v[c])) c++;
    if (!less(&h->v[c], &s)) break;
    place(h, i, h->v[c]);
    i = c;
  }
  place(h, i, s);
}

int vigil__heap_set(heap *h, heap_entry *e, int64_t due) {
  if (e->index != HEAP_NONE) {
    int64_t old = e->due;
    e->due = h->v[e->index].due = due;
    if (due < old)
      up(h, e->index);
    else if (due > old)
      down(h, e->index);
    return 0;
  }
  if (h->n == h->cap) {
    size_t cap;
    heap_slot *v = h->n < UINT32_MAX / 2 ? vigil__grow(h->v, h->cap, (size_t)h->n + 1, sizeof *v, 64, &cap) : NULL;
    if (!v) return -1;
    h->v = v;
    h->cap = (uint32_t)cap;
  }
  e->due = due;
  place(h, h->n++, (heap_slot){.due = due, .e = e});
  up(h, e->index);
  return 0;
}

void vigil__heap_remove(heap *h, heap_entry *e) {
  uint32_t i = e->index;
  if (i == HEAP_NONE) return;
  e->index = HEAP_NONE;
  heap_slot last = h->v[--h->n];
  if (i == h->n) return;
  place(h, i, last);
  down(h, i);
  up(h, last.e->index);
}

void vigil__heap_free(heap *h) {
  free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}
