/* view.h: the read-only `visit` seen by Lua (view.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_VIEW_H
#define VIGIL_CORE_ENGINE_VIEW_H

#include "model.h"

int vigil__view_install(vigil_engine *e, protocol *p);

#endif
