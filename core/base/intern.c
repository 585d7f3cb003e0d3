/* intern.c: interned strings, in one open-addressing hash set.
 *
 * The set is the process's, without a lock: every event's keys go through
 * it. So it has an owner, the thread of the first retain while none is
 * held (vigil.h, Threads: every call from one thread), and answers no other
 * thread (NULL, VIGIL_ESTATE) instead of being corrupted by it (the seventh
 * review's item 5). users is atomic and the retains are under a mutex: the
 * only part other threads may touch. */
#include "base/intern.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/vigil.h"

struct vigil__keys vigil__keys;

static struct {
  char **slots;
  size_t cap, count;
  atomic_int users;
  pthread_t owner; /* set before users leaves 0, by the thread that retained it first */
} table;
static pthread_mutex_t retains = PTHREAD_MUTEX_INITIALIZER;

int vigil__intern_here(void) { return atomic_load(&table.users) == 0 || pthread_equal(table.owner, pthread_self()); }

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static char **lookup(const char *s, size_t n) {
  size_t mask = table.cap - 1;
  for (size_t i = hash(s, n) & mask;; i = (i + 1) & mask) {
    char *x = table.slots[i];
    if (!x || (strncmp(x, s, n) == 0 && x[n] == '\0')) return &table.slots[i];
  }
}

static int grow(void) {
  size_t cap = table.cap ? table.cap * 2 : 1024;
  char **old = table.slots;
  size_t oldcap = table.cap;
  table.slots = calloc(cap, sizeof *table.slots);
  if (!table.slots) {
    table.slots = old;
    return -1;
  }
  table.cap = cap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i]) *lookup(old[i], strlen(old[i])) = old[i];
  free(old);
  return 0;
}

const char *vigil__intern_find(const char *s, size_t n) {
  if (!vigil__intern_here() || !table.cap) return NULL;
  return *lookup(s, n);
}

const char *vigil__intern_n(const char *s, size_t n) {
  if (!vigil__intern_here()) return NULL;
  if ((table.count + 1) * 2 > table.cap && grow() < 0) return NULL;
  char **slot = lookup(s, n);
  // cppcheck-suppress identicalInnerCondition ; a false finding: *slot is the table's slot for s, not a condition above
  if (*slot) return *slot;
  char *copy = malloc(n + 1);
  if (!copy) return NULL;
  memcpy(copy, s, n);
  copy[n] = '\0';
  *slot = copy;
  table.count++;
  return copy;
}

const char *vigil__intern(const char *s) { return vigil__intern_n(s, strlen(s)); }

int vigil__intern_retain(void) {
  pthread_mutex_lock(&retains);
  int held = atomic_load(&table.users) > 0;
  if (held && !pthread_equal(table.owner, pthread_self())) {
    pthread_mutex_unlock(&retains);
    return VIGIL_ESTATE;
  }
  if (!held) table.owner = pthread_self();
  atomic_fetch_add(&table.users, 1);
  pthread_mutex_unlock(&retains);
  if (held) return 0;
#define VIGIL_KEY_INIT_(k)                                                                                             \
  if (!(vigil__keys.k = vigil__intern(#k))) goto fail;
  VIGIL_KEYS(VIGIL_KEY_INIT_)
#undef VIGIL_KEY_INIT_
  return 0;
fail:
  /* Out of memory: this user is not counted (it had been, and the next
   * retain took the half-made keys for made: K(actor) of a freed table). */
  vigil__intern_release();
  return VIGIL_ENOMEM;
}

void vigil__intern_release(void) {
  pthread_mutex_lock(&retains);
  if (atomic_fetch_sub(&table.users, 1) > 1) {
    pthread_mutex_unlock(&retains);
    return;
  }
  for (size_t i = 0; i < table.cap; i++)
    free(table.slots[i]);
  free(table.slots);
  table.slots = NULL;
  table.cap = table.count = 0;
  atomic_store(&table.users, 0);               /* a release without its retain counts no user */
  memset(&vigil__keys, 0, sizeof vigil__keys); /* none points into the freed table */
  pthread_mutex_unlock(&retains);
}
