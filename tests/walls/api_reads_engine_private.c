/* A layer break that must not compile: the API uses the engine through
 * vigil.h and engine/inspect.h; the engine's private model (model.h, in
 * core/engine/ beside its sources, with each file's private header) is not
 * on any other room's include path. */
#include "model.h"

int wall_breach(void) { return 0; }
