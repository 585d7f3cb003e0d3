/* commands.h: what each command does; command.c makes each all or nothing and
 * gives it its public name (vigil_visit_record is vigil__cmd_visit_record)
 * (commands.c). Private to core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_COMMANDS_H
#define VIGIL_CORE_ENGINE_COMMANDS_H

#include <jansson.h>

#include "model.h"

/* How every command on a visit (or NULL) ends: v's course sync and deadline,
 * then, outside a batch, the commit. */
int vigil__engine_done(vigil_engine *e, visit *v);
/* params: the start's params already parsed (an object), or NULL: then
 * params_json (NULL: none) is parsed here; the same for an amendment's value. */
int vigil__cmd_visit_start_at(vigil_engine *e, const char *ref, const char *patient, const char *location,
                              const char *actor, const char *params_json, const json_t *params,
                              const char *override_reason, int new_patient, uint64_t *visit_id);
int vigil__cmd_visit_record(vigil_engine *e, uint64_t id, const char *actor, const vigil_input *in, size_t n);
/* clinician: the caller says the actor is a clinician (the event's
 * `clinician`, visit.changes: docs/safety.md AW1), which vigil.h's never say. */
int vigil__cmd_visit_record_at(vigil_engine *e, uint64_t id, const char *actor, int clinician, const vigil_input *in,
                               size_t n, int64_t observed_at);
/* An entry's JSON object of item: value (and "observed_at") as inputs
 * (at most max; their strings point into values, which must outlive them)
 * and the time it was observed (-1: now): 0, or fails naming the field. */
int vigil__cmd_values_inputs(vigil_engine *e, const json_t *values, vigil_input *in, size_t max, size_t *n,
                             int64_t *observed_at);
/* clinician: the caller says the actor is a clinician (the event's
 * `clinician`: visit.amended, docs/safety.md U6). */
int vigil__cmd_visit_amend_json(vigil_engine *e, uint64_t id, const char *actor, int clinician, const char *ref,
                                const char *value_json, const json_t *value, const char *reason);
int vigil__cmd_visit_skip(vigil_engine *e, uint64_t id, const char *actor, const char *ref, const char *reason);
int vigil__cmd_visit_advance(vigil_engine *e, uint64_t id, const char *actor);
/* Q5, V1 (docs/safety.md): the holds it passes, named; the required items
 * it passes unrecorded, each named in items when confirm_items. */
int vigil__cmd_visit_override(vigil_engine *e, uint64_t id, const char *actor, const char *reason,
                              const char *const *holds, size_t n_holds, const char *const *items, size_t n_items,
                              int confirm_items);
int vigil__cmd_visit_discharge(vigil_engine *e, uint64_t id, const char *actor);
int vigil__cmd_visit_abort(vigil_engine *e, uint64_t id, const char *actor, const char *reason);
int vigil__cmd_alert_ack(vigil_engine *e, uint64_t id, const char *actor, const char *reason);
/* writes: key-value rows the event carries (store_kv_write), taken. */
int vigil__cmd_site_event(vigil_engine *e, const char *type, const char *actor, const char *fields_json,
                          store_kv_write *writes);
/* H17, AM3, AQ7: 0 when v holding `held` things (readings, notes,
 * amendments) takes `adding` more within limit; else logs the refusal and
 * fails VIGIL_ESTATE on field setting (the vigil.conf name of the limit),
 * its message naming what (e.g. "an entry"), the limit and the advice. */
int vigil__visit_full(vigil_engine *e, const visit *v, const char *what, const char *things, uint64_t held,
                      uint32_t adding, uint32_t limit, const char *setting, const char *advice);
/* alert_report.c (engine/alert_report.h) */
int vigil__cmd_alert_reported(vigil_engine *e, uint64_t visit_id, uint64_t alert_id, const char *actor,
                              const char *fields_json, store_kv_write *writes);

#endif
