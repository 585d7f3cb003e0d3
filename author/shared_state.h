/* shared_state.h: protocol code that keeps state between calls.
 *
 * One Lua state serves every visit of a protocol version. A rule that
 * assigns a local of its file (an upvalue), or fills a table it closes over,
 * carries what one visit did into the next patient's visit, and into
 * nothing a restart rebuilds (a visit is the fold of its events). Such state
 * cannot be forbidden cheaply while visits run, so `vigil test` looks for it:
 * it takes a fingerprint of everything the protocol's functions reach
 * through their upvalues before the specs run and after, and names an
 * upvalue that changed.
 */
#ifndef VIGIL_SHARED_STATE_H
#define VIGIL_SHARED_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/vigil.h"

/* One upvalue of protocol code, and a hash of everything it reaches. */
typedef struct state_root {
  const void *id;  /* lua_upvalueid: the same variable however many closures share it */
  char where[256]; /* file:line of the function that closes over it */
  char name[64];   /* the local's name */
  uint64_t hash;
} state_root;

typedef struct shared_state {
  state_root *roots;
  size_t n, cap;
} shared_state;

/* Fingerprints the code of every protocol the engine holds. 0, or
 * VIGIL_ENOMEM. */
int vigil__shared_state_take(vigil_engine *e, shared_state *out);
/* The first upvalue of before whose value is not the same in after; NULL
 * when none changed. */
const state_root *vigil__shared_state_changed(const shared_state *before, const shared_state *after);
void vigil__shared_state_free(shared_state *s);
/* The first refused write to a table a protocol's code keeps (AM5: they are
 * read-only once it has loaded), "file:line: cannot set ...", or NULL. */
const char *vigil__shared_state_kept_write(vigil_engine *e);

#endif
