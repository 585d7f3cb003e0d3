/* protocols.h: the protocol versions an engine has loaded (protocols.c).
 * Private to core/engine/ (docs/architecture.md); the rooms above find one
 * through engine/inspect.h. */
#ifndef VIGIL_CORE_ENGINE_PROTOCOLS_H
#define VIGIL_CORE_ENGINE_PROTOCOLS_H

#include "model.h"

/* The loaded version with this fingerprint, loading it from the store if needed. */
protocol *vigil__engine_protocol_by_sha(vigil_engine *e, const char *sha256, int *rc, char *err, size_t errlen);

#endif
