/* bus.h: the in-process bus: durable events published to subscribers
 * (bus.c). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_BUS_H
#define VIGIL_CORE_ENGINE_BUS_H

#include "model.h"

void vigil__bus_publish(vigil_engine *e, const vigil_event *ev);

#endif
