/* lifetime.c: an engine freed from inside its own call. A subscriber may
 * free the engine on an event (vigil.h), while the command, commit, clock
 * move or timer that published it is still running and will read the
 * engine on its way out. So vigil_engine_free there only marks it
 * (free_when_done), and the outermost entry frees it as it returns, as a
 * libuv handle is freed after its callbacks (sixth review, item 1). It calls
 * nothing of the engine but through e->up. */
#include "lifetime.h"
#include "model.h"
#include "fail.h"
#include "base/intern.h"

int vigil__engine_here(vigil_engine *e) {
  if (vigil__intern_here()) return 0;
  return vigil__engine_fail(e, VIGIL_ESTATE, NULL,
                            "called from a thread that is not the one the engines run on (every call into vigil is "
                            "made from one thread: vigil.h); nothing was done");
}

void vigil__engine_enter(vigil_engine *e) { e->calls++; }

int vigil__engine_leave(vigil_engine *e, int rc) {
  if (--e->calls == 0 && e->free_when_done) e->up.free(e);
  return rc;
}
