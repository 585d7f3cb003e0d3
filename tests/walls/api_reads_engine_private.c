/* A layer break that must not compile: the API uses the engine through
 * vigil.h and engine/inspect.h; the engine's private model (model.h, in
 * core/engine/ beside its sources, with each file's private header) is not
 * on any other room's include path. Named as it would be if it were made
 * public (moved into core/engine/include/engine/): by its bare name, the
 * compiler would miss it after such a move and this test pass all the same;
 * so named, the move makes it compile and the test fail (and `make lint`
 * refuses the move: scripts/room-plan). */
#include "engine/model.h"

int wall_breach(void) { return 0; }
