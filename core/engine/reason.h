/* reason.h: the one reason rule (reason.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_REASON_H
#define VIGIL_CORE_ENGINE_REASON_H

#include "model.h"

/* The one reason rule (docs/safety.md M7, G2, K7), for every reason a
 * person gives (field names it: reason, why, override_reason; what says what
 * it is for, "an amendment"): 0 when reason says something; otherwise
 * VIGIL_EINVAL on field saying what is wrong (no control characters; at
 * least VIGIL__REASON_MIN letters or digits of any script, not all one
 * character, not one of the site's reason_placeholders), or VIGIL_ENOMEM. */
#define VIGIL__REASON_MIN 4
int vigil__reason_check(vigil_engine *e, const char *field, const char *what, const char *reason);

#endif
