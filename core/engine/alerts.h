/* alerts.h: raising, resolving, escalating (alerts.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_ALERTS_H
#define VIGIL_CORE_ENGINE_ALERTS_H

#include "model.h"
#include "outcome.h"

const char *vigil__priority_atom(priority p);         /* interned "high", "medium", "low" */
const char *vigil__alert_source_name(alert_source s); /* interned "rule", "overdue", ... */
const char *vigil__alert_state_name(const alert *a);  /* "active", "acknowledged", "resolved", "closed" */
/* What else an alert.raised may say: the rule's value, the alert it
 * announces again, the items of a checkpoint (n_items > 1). */
typedef struct alert_more {
  int has_value;
  double value;
  const char *value_text;
  uint64_t follows;
  const int *items;
  int n_items;
  const char *phase;   /* raised by a rule of this phase, which the visit has left (an amendment); NULL: the visit's */
  int carry;           /* carried whatever its rule says: a high alert an amendment would have resolved (G6) */
  uint32_t realert;    /* AN11: raised again, acknowledged and still so, the how-manieth time running */
  int clinician;       /* AN11: only a clinician acknowledges it (realert_clinician reached) */
  const observed *obs; /* the vital sign it is about (J4 of docs/hl7.md); NULL or obs->field NULL: none */
  int latch;           /* AP3: 0: the protocol's defaults.latch for its priority, 1: it latches, -1: it does not */
} alert_more;
alert *vigil__raise_alert(vigil_engine *e, visit *v, alert_source src, const char *rule, const char *key, priority prio,
                          const char *message, int latching, int64_t escalate, int32_t item, const alert_more *more);
/* The open overdue alert (not resolved) that covers an item, or NULL. */
alert *vigil__overdue_alert(const visit *v, int item);
void vigil__resolve_alert(vigil_engine *e, alert *a);
/* Applies what a rule of phase returned: raises new alerts, sets blocks and
 * notes, and resolves what the rule no longer says (a carried alert only when
 * the rule ran on a signature: assessed, F5 in docs/safety.md). */
void vigil__apply_outcomes(vigil_engine *e, visit *v, int phase, const char *rule, outcomes *o, alert_source src,
                           int resolve_missing, int assessed);

#endif
