/* limiter.h: how many times something failed lately, to slow down guessing.
 *
 * Failed sign-ins are counted per key (a user name, a client address) in a
 * sliding window; once a key has failed `max` times within it, it is refused
 * until the oldest failure leaves the window. A fixed-size table: when it is
 * full, the key whose last failure is oldest makes room, so a flood of new
 * keys cannot grow memory. */
#ifndef VIGIL_LIMITER_H
#define VIGIL_LIMITER_H

#include <stdint.h>

typedef struct limiter limiter;

limiter *vigil__limiter_new(unsigned max, int64_t window_ms);
void vigil__limiter_free(limiter *l);
/* 0 if key may try now, else the ms until it may. */
int64_t vigil__limiter_wait(limiter *l, const char *key, int64_t now_ms);
void vigil__limiter_fail(limiter *l, const char *key, int64_t now_ms);
/* A success forgets the key's failures. */
void vigil__limiter_clear(limiter *l, const char *key);

#endif
