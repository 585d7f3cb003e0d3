/* limiter.c: failures per key in a sliding window (limiter.h). */
#include "auth/limiter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024
#define MAX_FAILURES 32 /* the highest max a limiter may have (api_internal.h's are 5 and 20) */

typedef struct slot {
  char key[80];
  int64_t at[MAX_FAILURES]; /* the failures within the window, oldest first */
  unsigned n;
} slot;

struct limiter {
  unsigned max;
  int64_t window_ms;
  slot slots[SLOTS];
};

limiter *vigil__limiter_new(unsigned max, int64_t window_ms) {
  limiter *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->max = max < 1 ? 1 : max > MAX_FAILURES ? MAX_FAILURES : max;
  l->window_ms = window_ms;
  return l;
}

void vigil__limiter_free(limiter *l) { free(l); }

/* Drops the failures that left the window. */
static void expire(limiter *l, slot *s, int64_t now_ms) {
  unsigned k = 0;
  while (k < s->n && s->at[k] <= now_ms - l->window_ms)
    k++;
  memmove(s->at, s->at + k, (s->n - k) * sizeof *s->at);
  s->n -= k;
}

static slot *find(limiter *l, const char *key) {
  for (unsigned i = 0; i < SLOTS; i++)
    if (l->slots[i].n && !strncmp(l->slots[i].key, key, sizeof l->slots[i].key - 1)) return &l->slots[i];
  return NULL;
}

int64_t vigil__limiter_wait(limiter *l, const char *key, int64_t now_ms) {
  slot *s = find(l, key);
  if (!s) return 0;
  expire(l, s, now_ms);
  return s->n >= l->max ? s->at[s->n - l->max] + l->window_ms - now_ms : 0;
}

void vigil__limiter_fail(limiter *l, const char *key, int64_t now_ms) {
  slot *s = find(l, key);
  if (!s) { /* a free slot, else the one failed longest ago */
    s = &l->slots[0];
    for (unsigned i = 0; i < SLOTS && s->n; i++)
      if (!l->slots[i].n || l->slots[i].at[l->slots[i].n - 1] < s->at[s->n - 1]) s = &l->slots[i];
    s->n = 0;
    snprintf(s->key, sizeof s->key, "%s", key);
  }
  expire(l, s, now_ms);
  if (s->n == MAX_FAILURES) {
    memmove(s->at, s->at + 1, (MAX_FAILURES - 1) * sizeof *s->at);
    s->n--;
  }
  s->at[s->n++] = now_ms;
}

void vigil__limiter_clear(limiter *l, const char *key) {
  slot *s = find(l, key);
  if (s) s->n = 0;
}
