/* tables.h: the engine's visits and alerts by id, grown (tables.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_TABLES_H
#define VIGIL_CORE_ENGINE_TABLES_H

#include "model.h"

int vigil__engine_grow_visits(vigil_engine *e, uint64_t n);
int vigil__engine_grow_alerts(vigil_engine *e, uint64_t n);

#endif
