/* limiter.c: attempts per key in a sliding window (limiter.h). */
#include "auth/limiter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024
#define MAX_FAILURES 32 /* the highest max a limiter may have (api_internal.h's are 5 and 20) */

typedef struct slot {
  char key[80];
  int64_t at[MAX_FAILURES];   /* the attempts within the window, oldest first */
  uint64_t id[MAX_FAILURES];  /* each one's ticket */
  uint64_t end[MAX_FAILURES]; /* when a failure ended (l->seq), 0 while in flight */
  unsigned n;
} slot;

struct limiter {
  unsigned max;
  int64_t window_ms;
  uint64_t seq; /* tickets and ends, in the order they happened */
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

static void drop(slot *s, unsigned k) {
  memmove(s->at + k, s->at + k + 1, (s->n - k - 1) * sizeof *s->at);
  memmove(s->id + k, s->id + k + 1, (s->n - k - 1) * sizeof *s->id);
  memmove(s->end + k, s->end + k + 1, (s->n - k - 1) * sizeof *s->end);
  s->n--;
}

/* Drops the attempts that left the window. */
static void expire(limiter *l, slot *s, int64_t now_ms) {
  while (s->n && s->at[0] <= now_ms - l->window_ms)
    drop(s, 0);
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
  if (s->n < l->max) return 0;
  int64_t wait = s->at[s->n - l->max] + l->window_ms - now_ms;
  return wait > 0 ? wait : 1;
}

uint64_t vigil__limiter_admit(limiter *l, const char *key, int64_t now_ms) {
  slot *s = find(l, key);
  if (!s) {
    /* A free slot, else the one whose last attempt is oldest among those
     * not at the limit: a flood of new keys must not evict a name it is
     * locking (else rotating keys would reset a victim's failures). Only
     * when every slot is at its limit does the one ending soonest go. */
    slot *idle = NULL, *locked = NULL;
    for (unsigned i = 0; i < SLOTS; i++) {
      slot *x = &l->slots[i];
      if (x->n) expire(l, x, now_ms);
      if (!x->n) {
        idle = x;
        break;
      }
      if (x->n < l->max) {
        if (!idle || x->at[x->n - 1] < idle->at[idle->n - 1]) idle = x;
      } else if (!locked || x->at[x->n - l->max] < locked->at[locked->n - l->max])
        locked = x;
    }
    s = idle ? idle : locked;
    s->n = 0;
    snprintf(s->key, sizeof s->key, "%s", key);
  }
  expire(l, s, now_ms);
  if (s->n == MAX_FAILURES) drop(s, 0);
  s->at[s->n] = now_ms;
  s->id[s->n] = ++l->seq;
  s->end[s->n] = 0;
  return s->id[s->n++];
}

void vigil__limiter_fail(limiter *l, const char *key, int64_t now_ms) {
  vigil__limiter_settle(l, key, vigil__limiter_admit(l, key, now_ms), 0, 0);
}

void vigil__limiter_settle(limiter *l, const char *key, uint64_t ticket, int ok, int forget_earlier) {
  slot *s = find(l, key);
  if (!s) return; /* its slot went to another key, or it left the window */
  for (unsigned k = 0; k < s->n; k++)
    if (s->id[k] == ticket) {
      if (ok)
        drop(s, k);
      else
        s->end[k] = ++l->seq;
      break;
    }
  if (ok && forget_earlier) /* the failures that had ended when this attempt was admitted */
    for (unsigned k = s->n; k-- > 0;)
      if (s->end[k] && s->end[k] < ticket) drop(s, k);
}
