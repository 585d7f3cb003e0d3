/* amend_only.h: which recorded answers are changed only by an amendment
 * (G1, U11 in docs/safety.md): amend_only.c. Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_AMEND_ONLY_H
#define VIGIL_CORE_ENGINE_AMEND_ONLY_H

#include "model.h"

/* Whether a changed value of item (an index of v's protocol, not a
 * signature) is refused by an entry, 409 naming /amend: it has a value, it
 * is not a reading that repeats (vitals, scheduled), and it holds the gate
 * (its rule's block is set) or is a one-off answer (or a check of the
 * course's dose_given items, once recorded yes: AI5). The entry's check and
 * the visit's JSON (`amend_only`: the workstation offers Amend, not "Record
 * again") ask the same. */
int vigil__item_amend_only(const visit *v, int item);

#endif
