/* A layer break that must not compile: the API uses the engine through
 * vigil.h and engine/inspect.h; the engine's private model (engine.h, in
 * core/engine/ beside its sources) is not on any other room's include path. */
#include "engine.h"

int wall_breach(void) { return 0; }
