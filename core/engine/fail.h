/* fail.h: an engine's error and its log (fail.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_FAIL_H
#define VIGIL_CORE_ENGINE_FAIL_H

#include "model.h"

int vigil__engine_fail(vigil_engine *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void vigil__engine_log(vigil_engine *e, vigil_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
