/* lifetime.c: an engine freed from inside its own call. A subscriber may
 * free the engine on an event (vigil.h), while the command, commit, clock
 * move or timer that published it is still running and will read the
 * engine on its way out. So vigil_engine_free there only marks it
 * (free_when_done), and the outermost entry frees it as it returns, as a
 * libuv handle is freed after its callbacks (sixth review, item 1). It calls
 * nothing of the engine but through e->up. */
#include "lifetime.h"
#include "model.h"

void vigil__engine_enter(vigil_engine *e) { e->calls++; }

int vigil__engine_leave(vigil_engine *e, int rc) {
  if (--e->calls == 0 && e->free_when_done) e->up.free(e);
  return rc;
}
