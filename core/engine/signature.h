/* signature.h: what a signature attests, who may sign, and voiding
 * (signature.c). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_SIGNATURE_H
#define VIGIL_CORE_ENGINE_SIGNATURE_H

#include "model.h"

/* What signing sig now would attest: {items, params, calculation}. */
int vigil__signature_attests(vigil_engine *e, visit *v, const item_spec *sig, val *out);
/* 0 when actor may sign sig: they recorded or amended none of what it attests. */
int vigil__signature_check_signer(vigil_engine *e, visit *v, const item_spec *sig, const char *actor);
/* After a value changed: voids (an event) each standing signature whose
 * attested values are no longer the visit's. */
void vigil__signatures_review(vigil_engine *e, visit *v, const char *who);
/* Why sig (an item index) is void, or NULL when it stands or is unsigned. */
const char *vigil__signature_void(const visit *v, int item);
/* AI1: 1 when sig (an item index) is a signature of a phase the visit has
 * left that a change since requires (its `when` holds now), unrecorded and
 * not passed by an override: it is owed, recorded from the current phase. */
int vigil__signature_owed(vigil_engine *e, visit *v, int item);

#endif
