/* store_memory.c: events kept in RAM, never on disk.
 *
 * For simulations, tests and the in-memory benchmark: nothing survives the
 * process, so there is nothing to recover and no protocol to keep. */
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "store.h"

typedef struct memory_store {
  store base;
  vigil_event **log;
  size_t n, cap;
} memory_store;

static int mem_append(store *s, vigil_event *const *evs, size_t n, char *err, size_t errlen) {
  memory_store *m = (memory_store *)s;
  if (m->n + n > m->cap) {
    size_t cap = m->cap ? m->cap : 1024;
    while (cap < m->n + n) cap *= 2;
    vigil_event **log = realloc(m->log, cap * sizeof *log);
    if (!log) return VIGIL_ENOMEM;
    m->log = log;
    m->cap = cap;
  }
  memcpy(m->log + m->n, evs, n * sizeof *evs);
  m->n += n;
  return 0;
}

static int mem_scan(store *s, uint64_t after, uint64_t visit, store_event_fn fn, void *ud, char *err, size_t errlen) {
  memory_store *m = (memory_store *)s;
  for (size_t i = 0; i < m->n; i++) {
    const vigil_event *ev = m->log[i];
    if (ev->seq <= after || (visit && ev->visit != visit)) continue;
    if (fn(ud, ev)) break;
  }
  return 0;
}

static int mem_put_protocol(store *s, const protocol *p, char *err, size_t errlen) { return 0; }

static int mem_get_protocol(store *s, const char *sha256, char **dir, source_file **files, uint32_t *n, char *err,
                            size_t errlen) {
  return VIGIL_ENOENT;
}

static int mem_scan_open(store *s, store_event_fn fn, void *ud, char *err, size_t errlen) { return 0; }

static int mem_summary(store *s, uint64_t *last_seq, uint64_t *visits, uint64_t *alerts, int *unclean, char *err,
                       size_t errlen) {
  *last_seq = *visits = *alerts = 0;
  *unclean = 0;
  return 0;
}

static void mem_close(store *s) {
  memory_store *m = (memory_store *)s;
  for (size_t i = 0; i < m->n; i++) {
    val_release(m->log[i]->data);
    free(m->log[i]);
  }
  free(m->log);
  free(m);
}

static const store_ops memory_ops = {mem_append, mem_scan, mem_put_protocol, mem_get_protocol,
                                     mem_scan_open, mem_summary, mem_close};

store *store_memory_open(void) {
  memory_store *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->base.ops = &memory_ops;
  m->base.keeps_events = 1;
  return &m->base;
}
