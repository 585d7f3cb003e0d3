/* A layer break that must not compile: the HTTP room (server/http) knows
 * nothing of visits, so the engine's headers are not on its include path.
 * tests/walls/CMakeLists.txt builds this as if it were part of that room and
 * expects the build to fail. */
#include "engine/inspect.h"

int wall_breach(void) { return 0; }
