/* command.h: a command made all or nothing (command.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_COMMAND_H
#define VIGIL_CORE_ENGINE_COMMAND_H

#include "model.h"

/* vigil__cmd_visit_record_at as one all-or-nothing command (command.c). */
int vigil__visit_record_at(vigil_engine *e, uint64_t id, const char *actor, const vigil_input *in, size_t n,
                           int64_t observed_at);

#endif
