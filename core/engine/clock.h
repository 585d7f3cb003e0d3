/* clock.h: the engine's time (clock.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_CLOCK_H
#define VIGIL_CORE_ENGINE_CLOCK_H

#include "model.h"

int64_t vigil__engine_now(const vigil_engine *e);

#endif
