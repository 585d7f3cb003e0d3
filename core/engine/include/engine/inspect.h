/* inspect.h: what the rooms above the engine (the plugin host, the author's
 * tools, the server) may read of an engine beyond include/vigil/vigil.h: its
 * store, and the protocol versions it has loaded. The model itself (visits,
 * alerts, the fold) stays private to core/engine/. */
#ifndef VIGIL_ENGINE_INSPECT_H
#define VIGIL_ENGINE_INSPECT_H

#include <stdint.h>

#include "lang/protocol.h"
#include "store/store.h"
#include "vigil/vigil.h"

/* The store the engine appends to (never NULL once created). */
store *vigil__engine_store(vigil_engine *e);
/* The protocol versions loaded, in load order: vigil__engine_protocol(e, i) for i
 * below vigil__engine_protocol_count(e). */
uint32_t vigil__engine_protocol_count(const vigil_engine *e);
protocol *vigil__engine_protocol(vigil_engine *e, uint32_t i);
/* "id@version", or "id" for the newest loaded version; NULL if not loaded. */
protocol *vigil__engine_find_protocol(vigil_engine *e, const char *ref);
/* How many subscriptions the bus holds (plugins subscribe through it). */
uint32_t vigil__engine_subscriber_count(const vigil_engine *e);

/* 1 when type matches a subscription pattern, 0 if not, VIGIL_EINVAL when
 * the pattern matches no type. */
int vigil__bus_pattern_match(const char *pattern, const char *type);

#endif
