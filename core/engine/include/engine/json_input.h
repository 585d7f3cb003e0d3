/* json_input.h: the commands that take what a request said as JSON the
 * server has parsed already (jansson), so that a body is parsed once: the
 * server checks its shape and hands the engine the same values, which the
 * engine reads as vigil.h's *_json functions read their text (those parse
 * their text and do the same). Each is one all-or-nothing command, as its
 * vigil.h twin. The values are only read; the caller keeps them. */
#ifndef VIGIL_ENGINE_JSON_INPUT_H
#define VIGIL_ENGINE_JSON_INPUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/vigil.h"

/* vigil_visit_record_json: values is {"item": value, "vitals": {...}, "observed_at": "..."};
 * clinician: the caller says the actor is a clinician (the event's
 * `clinician`, visit.changes: docs/safety.md AW1), which
 * vigil_visit_record_json never says. */
int vigil__visit_record_value(vigil_engine *e, uint64_t visit, const char *actor, int clinician, const json_t *values);
/* vigil_visit_amend_json: value is the item's new value (any JSON value);
 * clinician: the caller says the actor is a clinician (the event's
 * `clinician`, visit.amended: docs/safety.md U6), which vigil_visit_amend_json
 * never says. */
int vigil__visit_amend_value(vigil_engine *e, uint64_t visit, const char *actor, int clinician, const char *item,
                             const json_t *value, const char *reason);
/* vigil_visit_start_ex: params is an object of name: value, or NULL. */
int vigil__visit_start_value(vigil_engine *e, const char *protocol, const char *patient, const char *location,
                             const char *actor, const json_t *params, const char *override_reason, int new_patient,
                             uint64_t *visit_id);
/* vigil_protocol_prescribed: params is an object of name: value, or NULL. */
int vigil__protocol_prescribed_value(vigil_engine *e, const char *protocol, const json_t *params, char *name,
                                     size_t len);

#endif
