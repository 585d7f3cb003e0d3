/* A breach: the plugins' shared code (plugins/common) reading the engine.
 * plugin_common sees include/vigil/ alone, as the plugins do, so this must
 * not compile (tests/walls/CMakeLists.txt). */
#include "engine/inspect.h"

int wall_plugin_common_reads_engine(void) { return 0; }
