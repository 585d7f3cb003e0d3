/* command.c: every command is all or nothing.
 *
 * A command emits its events one by one and folds each into its visit as it
 * goes (commands.c). When memory runs out part way, an event could not be
 * made or a visit could not take all of one (e->oom): the command then fails
 * with VIGIL_ENOMEM, the events it emitted are undone and the visits they
 * touched are folded again, so the engine holds exactly the fold of its log
 * and of the events still pending from earlier commands of the batch. A
 * command that fails for another reason keeps what it chose to record (a
 * refused gate records gate.blocked). These are the commands' public faces;
 * a command calling another counts once (commands.c calls its body,
 * vigil__cmd_*, never a face). */
#include <jansson.h>

#include "model.h"
#include "commands.h"
#include "course.h"
#include "entry.h"
#include "evaluate.h"
#include "fail.h"
#include "journal.h"
#include "lifetime.h"
#include "note.h"
#include "schedule.h"
#include "engine/json_input.h"
#include "engine/alert_report.h"

/* 0, or the command is refused: a visit a failed commit took out of memory
 * cannot be read back (the store does not answer), and the command would
 * not see it (D1, docs/deploy.md: a start for a look-alike of its patient,
 * K2, or a second session of its course, G9, would pass unseen). */
static int command_begin(vigil_engine *e, engine_mark *m) {
  vigil__engine_enter(e); /* its subscribers may free it (lifetime.h) */
  if (e->command_depth++ > 0) return 0;
  e->command_pool = vigil__lua_pool_arm(e); /* the entry's one budget for its rules (AC3) */
  *m = vigil__engine_mark(e);
  e->oom = 0;
  /* Before anything is recorded: a deadline it sets has a timer to fire it
   * (sixth review, item 3); refused, it records nothing. */
  int timer = vigil__clock_timer(e);
  if (timer < 0) return timer;
  if (!e->n_unfolded) return 0;
  int rc = vigil_engine_rebuild(e);
  return rc == VIGIL_EIO ? rc : 0; /* one lost for want of memory stops nothing until a restart */
}

static int command_settle(vigil_engine *e, const engine_mark *m, int rc) {
  if (--e->command_depth > 0) return rc;
  vigil__lua_pool_disarm(e, e->command_pool);
  /* Out of memory said either way (e->oom, or a call that returned it): the
   * command undoes all of it, and ids it took (a visit's) are given back. */
  if (!e->oom && rc != VIGIL_ENOMEM) return rc;
  e->oom = 0;
  vigil__engine_undo(e, m);
  return vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory; nothing of this command was recorded");
}

/* e is not used after: a subscriber may have freed it (lifetime.h). */
static int command_end(vigil_engine *e, const engine_mark *m, int rc) {
  return vigil__engine_leave(e, command_settle(e, m, rc));
}

#define COMMAND(call)                                                                                                  \
  do {                                                                                                                 \
    int here_ = vigil__engine_here(e); /* before it touches anything of e */                                           \
    if (here_ < 0) return here_;                                                                                       \
    engine_mark mark;                                                                                                  \
    int refused_ = command_begin(e, &mark);                                                                            \
    return command_end(e, &mark, refused_ < 0 ? refused_ : (call));                                                    \
  } while (0)

int vigil_visit_start_at(vigil_engine *e, const char *ref, const char *patient, const char *location, const char *actor,
                         const char *params_json, uint64_t *visit_id) {
  COMMAND(vigil__cmd_visit_start_at(e, ref, patient, location, actor, params_json, NULL, NULL, 0, visit_id));
}

int vigil_visit_start(vigil_engine *e, const char *ref, const char *patient, const char *actor, const char *params_json,
                      uint64_t *visit_id) {
  return vigil_visit_start_at(e, ref, patient, NULL, actor, params_json, visit_id);
}

int vigil_visit_start_override(vigil_engine *e, const char *ref, const char *patient, const char *location,
                               const char *actor, const char *params_json, const char *override_reason,
                               uint64_t *visit_id) {
  COMMAND(vigil__cmd_visit_start_at(e, ref, patient, location, actor, params_json, NULL, override_reason, 0, visit_id));
}

int vigil_visit_start_ex(vigil_engine *e, const char *ref, const char *patient, const char *location, const char *actor,
                         const char *params_json, const char *override_reason, int new_patient, uint64_t *visit_id) {
  COMMAND(vigil__cmd_visit_start_at(e, ref, patient, location, actor, params_json, NULL, override_reason, new_patient,
                                    visit_id));
}

int vigil_visit_record(vigil_engine *e, uint64_t id, const char *actor, const vigil_input *in, size_t n) {
  COMMAND(vigil__cmd_visit_record(e, id, actor, in, n));
}

/* The same with an entry's observed_at (a late entry; -1: now). */
static int record_at(vigil_engine *e, uint64_t id, const char *actor, int clinician, const vigil_input *in, size_t n,
                     int64_t observed_at) {
  COMMAND(vigil__cmd_visit_record_at(e, id, actor, clinician, in, n, observed_at));
}

#define MAX_INPUTS 256

/* The entry's JSON is read before the command begins: a refused one records nothing. */
int vigil__visit_record_value(vigil_engine *e, uint64_t id, const char *actor, int clinician, const json_t *values) {
  vigil_input in[MAX_INPUTS];
  size_t n = 0;
  int64_t observed_at = -1;
  int rc = vigil__cmd_values_inputs(e, values, in, MAX_INPUTS, &n, &observed_at);
  return rc < 0 ? rc : record_at(e, id, actor, clinician, in, n, observed_at);
}

int vigil_visit_record_json(vigil_engine *e, uint64_t id, const char *actor, const char *json) {
  int rc = 0;
  json_t *j = vigil__entry_parse_json(e, json, "values", &rc);
  if (!j) return rc;
  rc = vigil__visit_record_value(e, id, actor, 0, j);
  json_decref(j);
  return rc;
}

int vigil_visit_amend_json(vigil_engine *e, uint64_t id, const char *actor, const char *ref, const char *value_json,
                           const char *reason) {
  COMMAND(vigil__cmd_visit_amend_json(e, id, actor, 0, ref, value_json, NULL, reason));
}

int vigil__visit_start_value(vigil_engine *e, const char *ref, const char *patient, const char *location,
                             const char *actor, const json_t *params, const char *override_reason, int new_patient,
                             uint64_t *visit_id) {
  COMMAND(vigil__cmd_visit_start_at(e, ref, patient, location, actor, NULL, params, override_reason, new_patient,
                                    visit_id));
}

int vigil__visit_amend_value(vigil_engine *e, uint64_t id, const char *actor, int clinician, const char *ref,
                             const json_t *value, const char *reason) {
  COMMAND(vigil__cmd_visit_amend_json(e, id, actor, clinician, ref, NULL, value, reason));
}

int vigil_visit_skip(vigil_engine *e, uint64_t id, const char *actor, const char *ref, const char *reason) {
  COMMAND(vigil__cmd_visit_skip(e, id, actor, ref, reason));
}

int vigil_visit_advance(vigil_engine *e, uint64_t id, const char *actor) {
  COMMAND(vigil__cmd_visit_advance(e, id, actor));
}

int vigil_visit_override(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  COMMAND(vigil__cmd_visit_override(e, id, actor, reason, NULL, 0, NULL, 0, 0));
}

int vigil_visit_override_holds(vigil_engine *e, uint64_t id, const char *actor, const char *reason,
                               const char *const *holds, size_t n_holds) {
  COMMAND(vigil__cmd_visit_override(e, id, actor, reason, holds, n_holds, NULL, 0, 0));
}

int vigil_visit_override_confirmed(vigil_engine *e, uint64_t id, const char *actor, const char *reason,
                                   const char *const *holds, size_t n_holds, const char *const *items, size_t n_items) {
  COMMAND(vigil__cmd_visit_override(e, id, actor, reason, holds, n_holds, items, n_items, 1));
}

int vigil_visit_discharge(vigil_engine *e, uint64_t id, const char *actor) {
  COMMAND(vigil__cmd_visit_discharge(e, id, actor));
}

int vigil_visit_abort(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  COMMAND(vigil__cmd_visit_abort(e, id, actor, reason));
}

int vigil_alert_ack(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  COMMAND(vigil__cmd_alert_ack(e, id, actor, reason));
}

int vigil_course_start(vigil_engine *e, const char *ref, const char *patient, const char *actor, uint64_t *course_id) {
  COMMAND(vigil__cmd_course_start(e, ref, patient, actor, 0, course_id));
}

int vigil_course_start_ex(vigil_engine *e, const char *ref, const char *patient, const char *actor, int new_patient,
                          uint64_t *course_id) {
  COMMAND(vigil__cmd_course_start(e, ref, patient, actor, new_patient, course_id));
}

int vigil_course_close(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  COMMAND(vigil__cmd_course_close(e, id, actor, reason));
}

int vigil_course_alert_close(vigil_engine *e, uint64_t alert_id, const char *actor, const char *reason, const char *why,
                             int64_t due_ms) {
  COMMAND(vigil__cmd_course_alert_close(e, alert_id, actor, reason, why, due_ms));
}

int vigil_visit_rems_submitted(vigil_engine *e, uint64_t id, const char *actor, const char *by, int64_t at_ms,
                               const char *method, const char *reference) {
  COMMAND(vigil__cmd_course_rems_submitted(e, id, actor, by, at_ms, method, reference, NULL));
}

int vigil_visit_rems_submitted_incomplete(vigil_engine *e, uint64_t id, const char *actor, const char *by,
                                          int64_t at_ms, const char *method, const char *reference,
                                          const char *incomplete_reason) {
  COMMAND(vigil__cmd_course_rems_submitted(e, id, actor, by, at_ms, method, reference, incomplete_reason));
}

int vigil_course_integration(vigil_engine *e, uint64_t id, const char *actor, const char *by, int64_t at_ms,
                             const char *note) {
  COMMAND(vigil__cmd_course_integration(e, id, actor, by, at_ms, note));
}

int vigil_visit_note(vigil_engine *e, uint64_t id, const char *actor, const char *note) {
  COMMAND(vigil__cmd_visit_note(e, id, actor, note));
}

int vigil_site_event(vigil_engine *e, const char *type, const char *actor, const char *fields_json) {
  COMMAND(vigil__cmd_site_event(e, type, actor, fields_json, NULL));
}

int vigil__site_event_writes(vigil_engine *e, const char *type, const char *actor, const char *fields_json,
                             store_kv_write *writes) {
  COMMAND(vigil__cmd_site_event(e, type, actor, fields_json, writes));
}

int vigil__alert_reported(vigil_engine *e, uint64_t visit_id, uint64_t alert_id, const char *actor,
                          const char *fields_json, store_kv_write *writes) {
  COMMAND(vigil__cmd_alert_reported(e, visit_id, alert_id, actor, fields_json, writes));
}
