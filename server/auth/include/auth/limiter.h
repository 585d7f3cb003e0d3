/* limiter.h: how many times something failed lately, to slow down guessing.
 *
 * Password checks are counted per key (a user name, a client address) in a
 * sliding window from the moment they are admitted, not when they end, so
 * that a burst of concurrent guesses meets the limit too: once a key has
 * `max` attempts within it (failed, or still in flight), it is refused until
 * the oldest leaves the window. An attempt that succeeds stops counting.
 * A fixed-size table (1024 keys), so a flood of new keys cannot grow
 * memory: when it is full, the key whose last attempt is oldest among those
 * *not* at their limit makes room, so that rotating keys cannot evict (and
 * so reset) a key being limited; only when every key is at its limit does
 * the one whose limit ends soonest go. */
#ifndef VIGIL_LIMITER_H
#define VIGIL_LIMITER_H

#include <stdint.h>

typedef struct limiter limiter;

limiter *vigil__limiter_new(unsigned max, int64_t window_ms);
void vigil__limiter_free(limiter *l);
/* 0 if key may try now, else the ms until it may. */
int64_t vigil__limiter_wait(limiter *l, const char *key, int64_t now_ms);
/* Counts an attempt of key from now on (in flight): its ticket for _settle. */
uint64_t vigil__limiter_admit(limiter *l, const char *key, int64_t now_ms);
/* How the attempt ended: a failure stays counted; a success stops counting,
 * and with forget_earlier also forgets the key's failures that had ended
 * before it was admitted (never those still in flight when it was). */
void vigil__limiter_settle(limiter *l, const char *key, uint64_t ticket, int ok, int forget_earlier);
/* A failure now: _admit then _settle as failed. */
void vigil__limiter_fail(limiter *l, const char *key, int64_t now_ms);

#endif
