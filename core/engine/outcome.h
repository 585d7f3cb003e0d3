/* outcome.h: what a call into the protocol's rules returned (evaluate.c makes
 * it, alerts.c applies it): a type two units share, in a header of its own.
 * Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_OUTCOME_H
#define VIGIL_CORE_ENGINE_OUTCOME_H

#include "model.h"

/* J4 of docs/hl7.md: the vital sign an alert is about, as the rule said it
 * (v.alert.* field, reading, limit; units the field's own): what an alarm
 * manager shows beside the words. field NULL: the alert says none. */
typedef struct observed {
  const char *field, *units; /* interned */
  double reading;
  int has_low, has_high;
  double low, high; /* it alerts below low, above high */
} observed;

typedef enum outcome_kind { OUT_ALERT, OUT_BLOCK, OUT_NOTE } outcome_kind;
typedef struct outcome {
  outcome_kind kind;
  priority prio;
  char *message;
  const char *id; /* interned, optional */
  int latching;   /* -1: the protocol's default */
  int latch;      /* AP3: -1: the protocol's default (defaults.latch), 0: no, 1: yes */
  int per_reading;
  int64_t escalate; /* -1: the default */
  int has_value;    /* value: a number; value_text: a finding */
  double value;
  const char *value_text; /* interned */
  observed obs;           /* J4 of docs/hl7.md: the vital sign it is about, obs.field NULL when none */
} outcome;
typedef struct outcomes {
  outcome v[16];
  int n;
  int failed; /* the call raised an error */
  int oom;    /* what it returned could not be read in full: out of memory (not the rule's error) */
  char error[1024];
} outcomes;

#endif
