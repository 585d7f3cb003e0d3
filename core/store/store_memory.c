/* store_memory.c: events kept in RAM, never on disk.
 *
 * For simulations, tests and the in-memory benchmark: nothing survives the
 * process, so there is nothing to recover and no protocol to keep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/intern.h"
#include "store/event.h"
#include "store/store.h"

typedef struct kv_entry {
  char *ns, *key;
  void *value;
  size_t len;
} kv_entry;

/* An event as the store keeps it: its fields, its data shared with the
 * engine's (retained). The engine frees its own event once published, so a
 * kept one is 56 bytes in one array rather than a 72-byte block of its own
 * (an 80-byte one of malloc's) and a pointer to it (issue 16: memory per live
 * visit). No JSON is kept: a reader's memo is made on the event it is lent
 * (deliver) and freed after. */
typedef struct kept_event {
  uint64_t seq;
  int64_t time;
  uint64_t visit;
  const char *actor; /* interned */
  val data;
  uint16_t type;
} kept_event;

typedef struct memory_store {
  store base;
  kept_event *log;
  size_t n, cap;
  kv_entry *kv; /* unordered; a simulation keeps a handful */
  size_t n_kv;
} memory_store;

static int mem_kv_put(store *s, const char *ns, const char *key, const void *value, size_t len, char *err,
                      size_t errlen);
static kv_entry *kv_find(memory_store *m, const char *ns, const char *key);

/* A protocol.approved event's approval row, as store_sqlite.c derives it. */
static int approval_row(store *s, const vigil_event *ev, char *err, size_t errlen) {
  const val *ref = vigil__val_get(ev->data, K(ref)), *sha = vigil__val_get(ev->data, K(sha256));
  const char *r = ref ? val_text(*ref) : NULL, *h = sha ? val_text(*sha) : NULL;
  if (!r || !h) return 0;
  buf b;
  vigil__buf_init(&b);
  vigil__buf_puts(&b, "{\"ref\":");
  vigil__buf_json_string(&b, r);
  vigil__buf_puts(&b, ",\"by\":");
  vigil__buf_json_string(&b, ev->actor ? ev->actor : "");
  vigil__buf_puts(&b, ",\"at_ms\":");
  vigil__buf_put_int(&b, ev->time);
  vigil__buf_putc(&b, '}');
  int rc = b.oom ? VIGIL_ENOMEM : mem_kv_put(s, "approval", h, b.p, b.len, err, errlen);
  vigil__buf_free(&b);
  return rc;
}

static int mem_append(store *s, vigil_event *const *evs, size_t n, char *err, size_t errlen) {
  memory_store *m = (memory_store *)s;
  for (size_t i = 0; i < n; i++) /* a creation of a key there: nothing is kept */
    for (const store_kv_write *w = evs[i]->kv; w; w = w->next)
      if (w->create && w->value && kv_find(m, w->ns, w->key)) return vigil__kv_exists_fail(w, err, errlen);
  for (size_t i = 0; i < n; i++) {
    int rc = evs[i]->type == EV_PROTOCOL_APPROVED ? approval_row(s, evs[i], err, errlen) : 0;
    for (const store_kv_write *w = evs[i]->kv; w && rc == 0; w = w->next)
      rc = mem_kv_put(s, w->ns, w->key, w->value, w->len, err, errlen);
    if (rc < 0) return rc;
  }
  if (m->n + n > m->cap) {
    kept_event *log = vigil__grow(m->log, m->cap, m->n + n, sizeof *log, 1024, &m->cap);
    if (!log) {
      snprintf(err, errlen, "out of memory keeping events");
      return VIGIL_ENOMEM;
    }
    m->log = log;
  }
  for (size_t i = 0; i < n; i++) {
    const vigil_event *ev = evs[i];
    m->log[m->n++] = (kept_event){.seq = ev->seq,
                                  .time = ev->time,
                                  .visit = ev->visit,
                                  .actor = ev->actor,
                                  .data = vigil__val_retain(ev->data),
                                  .type = ev->type};
  }
  return 0;
}

/* Lends a kept event to fn as a vigil_event, for the call only (as the
 * databases' scans lend the rows they read); 1 when fn says stop. */
static int deliver(const kept_event *k, store_event_fn fn, void *ud) {
  vigil_event ev = {
      .seq = k->seq, .time = k->time, .visit = k->visit, .actor = k->actor, .data = k->data, .type = k->type};
  return fn(ud, &ev); /* its JSON, if a reader wants it, made by the reader (vigil__event_json_read) */
}

static int mem_scan(store *s, uint64_t after, uint64_t visit, store_event_fn fn, void *ud, char *err, size_t errlen) {
  memory_store *m = (memory_store *)s;
  for (size_t i = 0; i < m->n; i++) {
    const kept_event *k = &m->log[i];
    if (k->seq <= after || (visit && k->visit != visit)) continue;
    if (deliver(k, fn, ud)) break;
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

static kv_entry *kv_find(memory_store *m, const char *ns, const char *key) {
  for (size_t i = 0; i < m->n_kv; i++)
    if (!strcmp(m->kv[i].ns, ns) && !strcmp(m->kv[i].key, key)) return &m->kv[i];
  return NULL;
}

static void *copy_value(const void *value, size_t len) {
  char *v = malloc(len + 1);
  if (!v) return NULL;
  if (len) memcpy(v, value, len);
  v[len] = 0;
  return v;
}

static void kv_entry_free(kv_entry *e) {
  free(e->ns);
  free(e->key);
  free(e->value);
}

static int mem_kv_put(store *s, const char *ns, const char *key, const void *value, size_t len, char *err,
                      size_t errlen) {
  memory_store *m = (memory_store *)s;
  kv_entry *e = kv_find(m, ns, key);
  if (!value) {
    if (e) {
      kv_entry_free(e);
      *e = m->kv[--m->n_kv];
    }
    return 0;
  }
  void *v = copy_value(value, len);
  if (!v) return VIGIL_ENOMEM;
  if (!e) {
    kv_entry *kv = realloc(m->kv, (m->n_kv + 1) * sizeof *kv);
    char *n = strdup(ns), *k = strdup(key);
    if (kv) m->kv = kv;
    if (!kv || !n || !k) {
      free(v), free(n), free(k);
      return VIGIL_ENOMEM;
    }
    e = &m->kv[m->n_kv++];
    /* n and k belong to the entry from here on (freed with the store). */
    *e = (kv_entry){n, k, NULL, 0};
    // cppcheck-suppress memleak ; a false finding: n and k are in m->kv now
  }
  free(e->value);
  e->value = v;
  e->len = len;
  return 0;
}

static int mem_kv_get(store *s, const char *ns, const char *key, void **value, size_t *len, char *err, size_t errlen) {
  kv_entry *e = kv_find((memory_store *)s, ns, key);
  if (!e) return VIGIL_ENOENT;
  if (!(*value = copy_value(e->value, e->len))) return VIGIL_ENOMEM;
  *len = e->len;
  return 0;
}

static int by_key(const void *a, const void *b) {
  return strcmp((*(const kv_entry *const *)a)->key, (*(const kv_entry *const *)b)->key);
}

static int mem_kv_scan(store *s, const char *ns, store_kv_fn fn, void *ud, char *err, size_t errlen) {
  memory_store *m = (memory_store *)s;
  size_t n = 0;
  kv_entry **keys = malloc((m->n_kv + 1) * sizeof *keys);
  if (!keys) return VIGIL_ENOMEM;
  for (size_t i = 0; i < m->n_kv; i++)
    if (!strcmp(m->kv[i].ns, ns)) keys[n++] = &m->kv[i];
  qsort(keys, n, sizeof *keys, by_key);
  for (size_t i = 0; i < n; i++)
    if (fn(ud, keys[i]->key, keys[i]->value, keys[i]->len)) break;
  free(keys);
  return 0;
}

static void mem_close(store *s) {
  memory_store *m = (memory_store *)s;
  for (size_t i = 0; i < m->n_kv; i++)
    kv_entry_free(&m->kv[i]);
  free(m->kv);
  for (size_t i = 0; i < m->n; i++)
    vigil__val_release(m->log[i].data);
  free(m->log);
  free(m);
}

static int mem_scan_courses(store *s, store_event_fn fn, void *ud, char *err, size_t errlen) {
  memory_store *m = (memory_store *)s;
  for (size_t i = 0; i < m->n; i++) {
    const kept_event *k = &m->log[i];
    const char *type = vigil__event_type_name((event_type)k->type);
    if (k->visit || (strncmp(type, "course.", 7) != 0 && strncmp(type, "alert.", 6) != 0)) continue;
    if (deliver(k, fn, ud)) break;
  }
  return 0;
}

static const store_ops memory_ops = {mem_append,    mem_scan,    mem_put_protocol, mem_get_protocol,
                                     mem_scan_open, mem_summary, mem_close,        mem_kv_put,
                                     mem_kv_get,    mem_kv_scan, mem_scan_courses};

store *vigil__store_memory_open(void) {
  memory_store *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->base.ops = &memory_ops;
  m->base.keeps_events = 1;
  return &m->base;
}
