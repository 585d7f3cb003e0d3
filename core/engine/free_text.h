/* free_text.h: the rule for free text a person writes that is not a reason
 * (a nursing note, an integration session's note, a REMS submission's
 * method and reference). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_FREE_TEXT_H
#define VIGIL_CORE_ENGINE_FREE_TEXT_H

#include <stddef.h>

#include "model.h"

/* 0 when text (field name) holds something other than white space, at most
 * max characters, and no control characters (line breaks and tabs allowed
 * when lines); otherwise VIGIL_EINVAL on name saying which. */
int vigil__free_text_check(vigil_engine *e, const char *name, const char *text, size_t max, int lines);

#endif
