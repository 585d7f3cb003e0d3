/* engine.h: the engine's internal model, shared by the files of core/engine/
 * and private to them (the rooms above read engine/inspect.h).
 *
 * The path of every change, for a nurse's entry and a timer alike:
 *   command (engine.c) -> protocol rules (evaluate.c) -> events (emit)
 *   -> applied to the visit's state (visit.c, the fold) -> deadlines re-armed
 *   (schedule.c) -> at commit: stored (store), then published to subscribers
 *   and the protocol's hooks (bus.c).
 */
#ifndef VIGIL_ENGINE_H
#define VIGIL_ENGINE_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "store/event.h"
#include "base/heap.h"
#include "lang/protocol.h"
#include "store/store.h"
#include "base/value.h"
#include "engine/inspect.h"
#include "engine/site.h"
#include "vigil/vigil.h"

typedef struct visit visit;

typedef struct reading {
  int64_t at; /* when it was observed: rules, charts and schedules use this */
  val v;
  const char *actor;   /* interned */
  int64_t recorded_at; /* when it was entered: later than at for a late entry */
} reading;

typedef struct item_state {
  reading *r;
  uint32_t n, cap;
  uint32_t sat;             /* occurrences dealt with: satisfied by a reading, or skipped */
  uint32_t overdue;         /* occurrences marked overdue */
  uint32_t passed;          /* occurrences passed over because `when` did not hold at their deadline */
  uint8_t skipped_for_good; /* the skip below covers the whole item, not one occurrence */
  char *skipped;            /* the reason of the latest skip that no reading has followed */
  uint32_t *missed;         /* occurrences that went overdue and were since neither recorded (observed */
  uint32_t n_missed;        /* within their grace) nor skipped: a missed checkpoint (G8) */
} item_state;

/* SRC_COURSE: a patient's course alert (course.c), of no visit. */
typedef enum alert_source { SRC_RULE, SRC_OVERDUE, SRC_PHASE, SRC_TECHNICAL, SRC_HOOK, SRC_COURSE } alert_source;

#define ALERT_MAX_LEVEL 3

struct course;

typedef struct alert {
  uint64_t id;
  visit *visit;          /* NULL for a course alert */
  struct course *course; /* a course alert's course (course.c), else NULL */
  const char *rule;      /* interned: the rule (or item) that raised it */
  const char *key;       /* interned de-duplication key; NULL for per-reading alerts */
  char *message;
  char *latest;    /* what its rule says now of an acknowledged alert's cause, not worse (G7); memory only */
  int32_t item;    /* for overdue alerts (the first item of a checkpoint's), else -1 */
  uint16_t *items; /* an overdue alert's items, all due at one checkpoint */
  uint32_t n_items;
  /* What a rule's alert is about, as the rule said it (a number, or a finding
   * as text): the engine tells a worse reading or a new finding by it. */
  uint8_t has_value;
  double value;
  const char *value_text; /* interned */
  uint64_t follows;       /* the acknowledged alert of the same cause this one announces again, 0: none */
  alert_source source;
  priority prio;
  uint8_t level, latching, acked, cleared;
  uint8_t carry;  /* its rule carries it across phases (docs/safety.md, H4), or an earlier phase's rule raised it */
  uint16_t phase; /* the phase whose rule raised it (an amendment runs a left phase's rules: F4) */
  int64_t raised_at, acked_at, cleared_at, escalated_at, escalate_ms;
  int64_t late_ms; /* a course alert's deadline passed this long before it fired (a restart) */
  const char *acked_by;
} alert;

typedef struct block {
  const char *key; /* interned */
  char *reason;
  int32_t signature; /* the signature item whose recording set it (a clinician's "high: do not dose
                        today"), else -1: only a signature lifts it, never an amendment (K1) */
} block;

/* A signature item's state beside its readings: what it attested when it was
 * signed (the values the signer saw), and why it is void, if a value it
 * attests changed since (signature.c). */
typedef struct signature_state {
  val attests;       /* record {items: {qid: value}, params: {name: value}, calculation: text}; nil: unsigned */
  char *void_reason; /* NULL: the signature stands */
} signature_state;

/* Who recorded or amended an item: nobody of them may sign for it. */
typedef struct hand {
  int32_t item;
  const char *actor; /* interned */
} hand;

typedef enum visit_status { VISIT_ACTIVE, VISIT_DISCHARGED, VISIT_ABORTED } visit_status;

struct visit {
  heap_entry timer; /* first: the heap hands back this pointer */
  uint64_t id;
  protocol *p;
  const char *patient; /* interned */
  char *location;      /* the chair or bay, NULL if not given */
  visit_status status;
  uint16_t phase;
  uint8_t min_reached, max_alerted;
  int64_t started_at, phase_at, ended_at;
  int64_t *phase_start; /* when each phase was entered (0: not yet): a past phase's time window (K4); after items */
  val params;           /* record of every declared param */
  item_state *items;    /* one per protocol item, in the visit's own allocation (visit.c) */
  alert **alerts;
  uint32_t n_alerts, cap_alerts;
  block *blocks;
  uint32_t n_blocks;
  signature_state *sigs; /* one per protocol item, made at the first signature */
  hand *hands;
  uint32_t n_hands;
  /* K8: checkpoints of the current phase missed in a row since its last entry
   * (a reading or a skip), the due time of the latest of them, when the phase
   * was last documented, and the entry that resumed a stopped schedule (the
   * checkpoints before it are passed over, not made overdue one by one). */
  uint32_t missed_run;
  int64_t missed_run_due, documented_at, resumed_at;
  uint64_t last_seq;
};

/* K8: the schedule of the visit's phase stopped after its missed checkpoints. */
static inline int vigil__unmonitored(const visit *v) {
  uint32_t after = v->p->phases[v->phase].unmonitored_after;
  return after > 0 && v->missed_run >= after;
}

/* A patient's course (course.c): the run of sessions their visits make on
 * a protocol that declares a course, folded from the course.* events. */
typedef struct course_session {
  uint64_t visit;
  int64_t at;           /* when its visit started */
  const char *protocol; /* the visit's "id@version", interned */
  double *values;       /* one per measure of the course's protocol; NAN: none yet */
  int64_t *measured_at; /* when each was measured */
  /* How its visit ended (course.session_ended): SESSION_OPEN while it runs.
   * An aborted session keeps its number but counts toward nothing (the
   * series, the measures, the intervals); response and remission read the
   * sessions that completed (docs/safety.md G9). */
  uint8_t ended;
  /* An aborted session's dose: when its dose_given item was recorded, kept
   * in its course.session_ended (0: no dose). It counts for the minimum
   * interval as a completed session does (docs/safety.md M1). */
  int64_t dosed_at;
} course_session;

enum { SESSION_OPEN, SESSION_COMPLETED, SESSION_ABORTED };

typedef struct course {
  heap_entry timer; /* first: e->course_deadlines hands back this pointer */
  uint64_t id;
  protocol *p;         /* the version that started it: its course_spec rules the course */
  const char *patient; /* interned */
  uint8_t closed;
  int64_t started_at, closed_at;
  char *close_reason;
  const char *closed_by; /* interned */
  course_session *sessions;
  uint32_t n_sessions, cap_sessions;
  alert **alerts; /* its course alerts (a missed session, no response), oldest first */
  uint32_t n_alerts, cap_alerts;
  /* A missed session's alert closed as rescheduled: the session is due at
   * resched_to while the course has resched_sessions sessions. */
  int64_t resched_to;
  uint32_t resched_sessions;
} course;

/* Which course a visit is a session of: in visit order (sessions join at
 * their visit's start, and visit ids grow). */
typedef struct course_link {
  uint64_t visit;
  course *c;
  uint32_t session; /* 0-based */
} course_link;

typedef struct subscriber {
  int id;
  uint64_t types; /* bit per event type */
  vigil_event_fn fn;
  void *ud;
} subscriber;

#define ENGINE_CLOSED_KEPT 256

struct vigil_engine {
  vigil_options opts;
  /* clock */
  int64_t time_floor; /* the newest event time folded or emitted: time never goes back before it (G11) */
  int64_t sim_now;
  int64_t wall_base;
  uint64_t hr_base;
  uv_loop_t *loop;
  uv_timer_t *uv_timer;
  /* protocols, visits, alerts (visits and alerts by id - 1) */
  protocol **protocols;
  uint32_t n_protocols;
  visit **visits;
  uint64_t n_visits, cap_visits;
  alert **alerts;
  uint64_t n_alerts, cap_alerts;
  /* The closed visits in memory, oldest first (a ring): a closed visit is
   * folded again from the log when asked for, so only the last
   * ENGINE_CLOSED_KEPT of them stay. */
  uint64_t closed[ENGINE_CLOSED_KEPT];
  uint32_t closed_next;
  heap deadlines;
  /* patients' courses, by id - 1 (never dropped: they are few and small),
   * and each session's link from its visit */
  course **courses;
  uint64_t n_courses, cap_courses;
  course_link *links;
  uint64_t n_links, cap_links;
  int courses_stale;     /* an undo could not fold them again: folded at their next use */
  heap course_deadlines; /* one entry per open course with anything due */
  /* The patients known (patient_index.c, K2 and L5): an open-addressed
   * table by the interned patient (its spelling keys, courses and held
   * visits), and one by interned spelling key (the patients spelled so);
   * caps powers of two (0: none yet). spare_*: the last start's patient and
   * keys, kept for its entry. */
  struct spelling *spellings;
  uint32_t n_spellings, cap_spellings;
  struct alike *alikes;
  uint32_t n_alikes, cap_alikes;
  char *spare_patient, *spare_folded, *spare_skeleton;
  /* events: the current batch, and where they become durable */
  uint64_t seq;
  vigil_event **pending;
  size_t n_pending, cap_pending;
  struct store *store;
  uint64_t durable_seq, durable_visits, durable_alerts; /* what the store holds */
  int64_t retry_ms, retry_at;                           /* after a failed commit: back off the real clock's timer */
  int batch;
  int publishing;
  int hook_depth;
  /* A command is all or nothing (command.c). oom: an event could not be made,
   * or not applied in full, since the command began: it fails and its events
   * are undone. command_depth: commands calling commands count once. */
  int oom;
  int command_depth;
  /* the hook bus */
  subscriber *subs;
  uint32_t n_subs;
  int next_sub;
  /* G6 (docs/safety.md): while an amendment runs its rules, what an alert
   * they resolve says of it ("resolved by the amendment of ..."), else NULL. */
  const char *resolved_by;
  /* Lua calls */
  visit *cur;
  uint16_t view_phase1; /* 1 + the phase whose rule runs when it is not the visit's (an amendment); 0: the visit's */
  /* A late entry's rules (G4 in docs/safety.md): late_at, when its readings
   * were observed (0: not a late entry), named in the alerts they raise;
   * late_findings, its reading is not the newest: what the rules say is a
   * finding about that reading (an alert to acknowledge), never a change of
   * the current state (no block, nothing resolved); view_now, the time the
   * view's rules see then (the observed time; 0: the engine's). */
  int64_t late_at, view_now;
  int late_findings;
  /* errors and counters */
  char errmsg[2048];
  char errfield[256]; /* empty: none */
  vigil_stats stats;
};

/* commands.c: what each command does; command.c makes each all or nothing
 * and gives it its public name (vigil_visit_record is vigil__cmd_visit_record). */
/* patient_index.c: the patients known (of a course, or of a visit held in
 * e->visits), by reference and by spelling (docs/safety.md K2, L5). */
void vigil__patients_free(vigil_engine *e);
/* A visit of patient is held (its start applied) / leaves memory; 0 or VIGIL_ENOMEM. */
int vigil__patients_hold_visit(vigil_engine *e, const char *patient, uint64_t visit);
void vigil__patients_drop_visit(vigil_engine *e, const char *patient, uint64_t visit);
/* The ids of patient's held visits, ascending (*n of them). */
const uint64_t *vigil__patients_visits(const vigil_engine *e, const char *patient, uint32_t *n);
/* A course of patient (interned) is made / freed; 0 or VIGIL_ENOMEM. */
int vigil__patients_add_course(vigil_engine *e, const char *patient, uint64_t course);
void vigil__patients_drop_course(vigil_engine *e, const char *patient);
/* A known patient other than patient whose fold or confusable skeleton is
 * patient's (the one with the first course, else the first held visit), or
 * NULL: none when patient itself is known. */
const char *vigil__patients_similar(vigil_engine *e, const char *patient);
/* params: the start's params already parsed (an object), or NULL: then
 * params_json (NULL: none) is parsed here; the same for an amendment's value. */
int vigil__cmd_visit_start_at(vigil_engine *e, const char *ref, const char *patient, const char *location,
                              const char *actor, const char *params_json, const json_t *params,
                              const char *override_reason, int new_patient, uint64_t *visit_id);
int vigil__cmd_visit_record(vigil_engine *e, uint64_t id, const char *actor, const vigil_input *in, size_t n);
int vigil__cmd_visit_record_at(vigil_engine *e, uint64_t id, const char *actor, const vigil_input *in, size_t n,
                               int64_t observed_at);
/* vigil__cmd_visit_record_at as one all-or-nothing command (command.c). */
int vigil__visit_record_at(vigil_engine *e, uint64_t id, const char *actor, const vigil_input *in, size_t n,
                           int64_t observed_at);
int vigil__cmd_visit_amend_json(vigil_engine *e, uint64_t id, const char *actor, const char *ref,
                                const char *value_json, const json_t *value, const char *reason);
int vigil__cmd_visit_skip(vigil_engine *e, uint64_t id, const char *actor, const char *ref, const char *reason);
int vigil__cmd_visit_advance(vigil_engine *e, uint64_t id, const char *actor);
int vigil__cmd_visit_override(vigil_engine *e, uint64_t id, const char *actor, const char *reason);
int vigil__cmd_visit_discharge(vigil_engine *e, uint64_t id, const char *actor);
int vigil__cmd_visit_abort(vigil_engine *e, uint64_t id, const char *actor, const char *reason);
int vigil__cmd_alert_ack(vigil_engine *e, uint64_t id, const char *actor, const char *reason);
/* writes: key-value rows the event carries (store_kv_write), taken. */
int vigil__cmd_site_event(vigil_engine *e, const char *type, const char *actor, const char *fields_json,
                          store_kv_write *writes);
int vigil__cmd_course_start(vigil_engine *e, const char *ref, const char *patient, const char *actor,
                            uint64_t *course_id);
int vigil__cmd_course_close(vigil_engine *e, uint64_t id, const char *actor, const char *reason);

/* engine.c */
int vigil__engine_fail(vigil_engine *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int64_t vigil__engine_now(const vigil_engine *e);
/* The one reason rule (docs/safety.md M7, G2, K7), for every reason a
 * person gives (field names it: reason, why, override_reason; what says what
 * it is for, "an amendment"): 0 when reason says something; otherwise
 * VIGIL_EINVAL on field saying what is wrong (no control characters; at
 * least VIGIL__REASON_MIN letters or digits of any script, not all one
 * character, not one of the site's reason_placeholders), or VIGIL_ENOMEM. */
#define VIGIL__REASON_MIN 4
int vigil__reason_check(vigil_engine *e, const char *field, const char *what, const char *reason);
/* Creates an event for v, applies it to v's state and queues it for commit.
 * data is moved into the event. Returns the event or NULL (out of memory). */
vigil_event *vigil__emit(vigil_engine *e, visit *v, event_type type, const char *actor, val data);
/* Re-arms v's deadline and, outside a batch, commits: how every command ends. */
int vigil__engine_done(vigil_engine *e, visit *v);
/* The engine's store, for what lives beside the log (store.h's key-value
 * table: users and sessions, plugins' state). */

/* A visit by id; a closed one that is not in memory is folded from the store. */
visit *vigil__engine_visit(vigil_engine *e, uint64_t id);
/* Frees a visit and forgets its alerts and deadline. */
void vigil__engine_drop_visit(vigil_engine *e, visit *v);
int vigil__engine_grow_visits(vigil_engine *e, uint64_t n);
int vigil__engine_grow_alerts(vigil_engine *e, uint64_t n);

/* recover.c: state from the log */
/* Rebuilds every open visit from the store at start, re-arms deadlines and
 * fires those that passed. */
int vigil__engine_recover(vigil_engine *e, char *err, size_t errlen);
/* After a failed append: forget what was not made durable. */
void vigil__engine_rollback(vigil_engine *e);
/* Where the engine stands between two commands: undoing to a mark forgets
 * every event emitted since (not yet durable) and folds the visits they
 * touched again, from the log and the events still pending before the mark. */
typedef struct engine_mark {
  size_t n_pending;
  uint64_t seq, n_visits, n_alerts;
} engine_mark;
engine_mark vigil__engine_mark(const vigil_engine *e);
/* Visit id as the log and the first n_kept pending events make it; NULL when
 * it cannot be folded now (logged; vigil__engine_visit tries again). */
visit *vigil__engine_refold(vigil_engine *e, uint64_t id, size_t n_kept);
void vigil__engine_undo(vigil_engine *e, const engine_mark *m);
/* The loaded version with this fingerprint, loading it from the store if needed. */
protocol *vigil__engine_protocol_by_sha(vigil_engine *e, const char *sha256, char *err, size_t errlen);
int vigil__engine_add_protocol(vigil_engine *e, protocol *p);
void vigil__engine_log(vigil_engine *e, vigil_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* entry.c: what a nurse enters, checked */
int vigil__entry_check_scalar(vigil_engine *e, const char *what, const field_spec *f, const vigil_input *in, val *out);
/* One item's value from the inputs that name it (actor: who enters it). */
int vigil__entry_build_value(vigil_engine *e, visit *v, const item_spec *it, const vigil_input *in, size_t n,
                             const char *actor, val *out);
/* JSON {"item": value, "vitals": {"sbp": 120}} as inputs that point into it. */
int vigil__entry_inputs_from_json(vigil_engine *e, const char *item, const json_t *x, vigil_input *in, size_t cap,
                                  size_t *n);
json_t *vigil__entry_parse_json(vigil_engine *e, const char *text, const char *about, int *rc);

/* visit.c: state and the fold */
visit *vigil__visit_new(vigil_engine *e, uint64_t id, protocol *p);
void vigil__visit_free(vigil_engine *e, visit *v);
void vigil__visit_apply(vigil_engine *e, visit *v, const vigil_event *ev);
const reading *vigil__visit_latest(const visit *v, int item);
alert *vigil__visit_find_alert(const visit *v, const char *key);
int vigil__alert_is_open(const alert *a); /* not yet closed: shown to the nurse */
/* Open and not acknowledged: someone must still look at it. */
int vigil__alert_is_active(const alert *a);
val vigil__visit_param(const visit *v, const char *name);

/* schedule.c: deadlines */
void vigil__schedule_visit(vigil_engine *e, visit *v);
/* Handles every deadline of v that is due at engine time, in order. */
int vigil__visit_tick(vigil_engine *e, visit *v); /* 0, or VIGIL_ENOMEM with its events undone */
/* The occurrence of a scheduled item that is next due, or -1. */
int64_t vigil__item_next_due(const visit *v, const item_spec *it, uint32_t *occurrence);
/* A repeating item (`every`): a skip covers one of its occurrences. */
static inline int item_repeats(const item_spec *it) { return it->scheduled && it->sched.every > 0; }
/* The occurrence of a repeating item that a skip at `at` covers: the latest
 * one due by then (with any earlier one still open, as a late reading would
 * cover them), else the next one. -1 when none is left. */
int64_t vigil__item_skip_occurrence(const visit *v, const item_spec *it, int64_t at);
void vigil__clock_arm(vigil_engine *e);

/* evaluate.c: calls into the protocol's Lua */
typedef enum outcome_kind { OUT_ALERT, OUT_BLOCK, OUT_NOTE } outcome_kind;
typedef struct outcome {
  outcome_kind kind;
  priority prio;
  char *message;
  const char *id; /* interned, optional */
  int latching;   /* -1: the protocol's default */
  int per_reading;
  int64_t escalate; /* -1: the default */
  int has_value;    /* value: a number; value_text: a finding */
  double value;
  const char *value_text; /* interned */
} outcome;
typedef struct outcomes {
  outcome v[16];
  int n;
  int failed; /* the call raised an error */
  char error[1024];
} outcomes;

void vigil__eval_rules(vigil_engine *e, visit *v, const int *items, int n_items);
/* The rules of phase (the visit's, or one it has left: an amendment of that
 * phase's item, F4 in docs/safety.md) on the items that changed. */
void vigil__eval_rules_of(vigil_engine *e, visit *v, int phase, const int *items, int n_items);
/* Scores computed from other items follow them: the engine records a new
 * total when one of their sources changed and the total did. */
void vigil__eval_scores(vigil_engine *e, visit *v, const int *changed, int n);
int vigil__eval_when(vigil_engine *e, visit *v, const item_spec *it);
/* 1: the gate holds; 0: it does not, with the reason in reason. */
int vigil__eval_gate(vigil_engine *e, visit *v, char *reason, size_t len);
int vigil__eval_compute(vigil_engine *e, visit *v, const item_spec *it, val record, double *total, char *err,
                        size_t errlen);
/* Where a call into the protocol failed, "file:line" into pos: the error's
 * own position when it names one of the protocol's files, else `where` (the
 * declaration of what failed). Returns the error's message without it. */
const char *vigil__eval_error_where(const protocol *p, const char *error, const char *where, char *pos, size_t len);
void vigil__eval_hooks(vigil_engine *e, const vigil_event *ev);
/* Calls fn_ref(visit), which returns text (a signature's calculation). */
int vigil__eval_text(vigil_engine *e, visit *v, int fn_ref, char *out, size_t len, char *err, size_t errlen);
void vigil__outcomes_free(outcomes *o);

/* alerts.c: raising, resolving, escalating */
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
  const char *phase; /* raised by a rule of this phase, which the visit has left (an amendment); NULL: the visit's */
  int carry;         /* carried whatever its rule says: a high alert an amendment would have resolved (G6) */
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

/* view.c: the read-only `visit` seen by Lua */
int vigil__view_install(vigil_engine *e, protocol *p);

/* bus.c */
void vigil__bus_publish(vigil_engine *e, const vigil_event *ev);

/* visit_json.c: `,"location":"..."` (null when not said), in a visit and its summary. */
void vigil__location_field(buf *b, const visit *v);
/* visit_json.c: `,"range":[lo,hi],"options":[...]` of a field or param, when it has them. */
void vigil__limits_json(buf *b, int has_range, double lo, double hi, const char *const *options, uint32_t n_options);

/* signature.c: what a signature attests, who may sign, and voiding */
/* What signing sig now would attest: {items, params, calculation}. */
int vigil__signature_attests(vigil_engine *e, visit *v, const item_spec *sig, val *out);
/* 0 when actor may sign sig: they recorded or amended none of what it attests. */
int vigil__signature_check_signer(vigil_engine *e, visit *v, const item_spec *sig, const char *actor);
/* After a value changed: voids (an event) each standing signature whose
 * attested values are no longer the visit's. */
void vigil__signatures_review(vigil_engine *e, visit *v, const char *who);
/* Why sig (an item index) is void, or NULL when it stands or is unsigned. */
const char *vigil__signature_void(const visit *v, int item);

/* prescription.c: params as a prescription (H5) */
int vigil__val_same(val a, val b);
/* 0 when the params (a record) keep every `less_than` of p; else the error, naming both. */
int vigil__params_check_relations(vigil_engine *e, const protocol *p, val params);
/* `,"changed_params":[...]`: every param whose value is not its default. */
void vigil__changed_params_field(buf *b, const visit *v);
/* text with each {param} replaced by the visit's value (into out), or text itself. */
const char *vigil__visit_text(const visit *v, const char *text, char *out, size_t len);

/* course.c: patients' courses */
/* Applies one course.* event to the courses: 0, VIGIL_ENOMEM (e->oom set) or
 * VIGIL_ECORRUPT (an event that does not fit, logged). */
int vigil__course_apply(vigil_engine *e, const vigil_event *ev);
/* Folds every course from the store's course events and the first n_kept
 * pending events (at start, and after an undo dropped course events). */
int vigil__courses_fold(vigil_engine *e, size_t n_kept, char *err, size_t errlen);
void vigil__courses_free(vigil_engine *e);
/* A visit that just started joins its patient's open course on a protocol
 * that names its own, or starts one when its protocol declares a course. */
int vigil__course_join(vigil_engine *e, visit *v, const char *actor, const char *override_reason, uint64_t concurrent);
/* 1 with why when patient (interned) had a session that counts as a dose
 * within its course's minimum interval of now (M9), 0 otherwise. */
int vigil__course_recent_dose(vigil_engine *e, const char *patient, char *why, size_t len);
/* Before a visit of patient on p starts: 0, or fails (VIGIL_EEXIST naming
 * it) when the patient has a visit open on a protocol of the same course,
 * unless override_reason (a clinician's) is given; *concurrent: that visit. */
/* patient_record.c (docs/safety.md L7, L8): the patient's record (the store's
 * "patients" row, decoded; NULL: none); an allergy on it that names the
 * visit's drug raised as a high carried alert, at the start and when a
 * record (patient.recorded or patient.merged's fields) arrives. */
json_t *vigil__patient_record(vigil_engine *e, const char *patient);
/* N3: the reference of a record spelled like patient (its fold or its
 * skeleton, as K2 and L5 compare), when patient has none of its own: malloc'd,
 * or NULL. vigil__patient_record_spelled: patient's record, else that one's. */
char *vigil__patient_record_alike(vigil_engine *e, const char *patient);
json_t *vigil__patient_record_spelled(vigil_engine *e, const char *patient);
int vigil__allergy_visit_start(vigil_engine *e, visit *v);
int vigil__allergy_recorded(vigil_engine *e, const char *fields_json);
/* L8: VIGIL_EEXIST (field merged_into) when the record says patient was
 * merged into another; the one-open-visit check (G9) for each reference
 * merged into patient; 1 with the reason in text when a session of a
 * merged reference's course holds v's first gate (the minimum interval). */
int vigil__patient_merged_into(vigil_engine *e, const char *patient);
int vigil__patient_merged_check_start(vigil_engine *e, const protocol *p, const char *patient,
                                      const char *override_reason, uint64_t *concurrent);
int vigil__patient_merged_gate(vigil_engine *e, visit *v, char *text, size_t len);
int vigil__course_check_start(vigil_engine *e, const protocol *p, const char *patient, const char *override_reason,
                              uint64_t *concurrent);
/* A session's visit was discharged (aborted: 0) or aborted (1): course.session_ended. */
int vigil__course_session_end(vigil_engine *e, visit *v, int aborted);
/* 1 with the reason in text when the course's minimum interval since its
 * last completed session holds visit v's first gate, else 0. */
int vigil__course_gate(vigil_engine *e, visit *v, char *text, size_t len);
/* Emits course.measured for each measure whose value in visit v changed. */
void vigil__course_sync(vigil_engine *e, visit *v);
/* The course visit id is a session of (and its 0-based number), or NULL. */
course *vigil__course_of_visit(const vigil_engine *e, uint64_t vid, uint32_t *session);
/* `,"course":{...}` of a visit's JSON (nothing when it is in none). */
void vigil__course_visit_field(vigil_engine *e, buf *b, const visit *v);
/* Pushes visit.course()'s table for the visit being evaluated (nil: none). */
int vigil__course_push_view(lua_State *L, vigil_engine *e, const visit *v);

/* Whether ev is a course's: a course.* event, or an alert event of no visit
 * (a course alert). scan_courses gives exactly these. */
static inline int vigil__is_course_event(const vigil_event *ev) {
  return !ev->visit && ((ev->type >= EV_COURSE_STARTED && ev->type <= EV_COURSE_CLOSED) ||
                        (ev->type >= EV_ALERT_RAISED && ev->type <= EV_ALERT_RESOLVED));
}
/* Arms course c's deadline (its next session's, past the grace; its alerts'
 * escalations), or takes it off. */
void vigil__schedule_course(vigil_engine *e, course *c);
/* Handles every deadline of c due at engine time: 0, or VIGIL_ENOMEM with
 * its events undone (c is folded again: do not touch it). */
int vigil__course_tick(vigil_engine *e, course *c);
int vigil__cmd_course_alert_close(vigil_engine *e, uint64_t alert, const char *actor, const char *reason,
                                  const char *why, int64_t due);
/* The earliest deadline of a visit or a course, and its firing. */
heap_entry *vigil__deadline_min(const vigil_engine *e);
int vigil__deadline_tick(vigil_engine *e, heap_entry *h);

/* gate.c: what stops a visit from leaving its phase */
int vigil__gate_reasons(vigil_engine *e, visit *v, val *reasons);
/* N7: 1 when item (an index) is of the phase that gives the dose, not an
 * observation nor a signature, the dose is not given yet and a hold is open
 * (a carried alert, a void signature, a rule's block): text names them. */
int vigil__dose_hold(visit *v, int item, char *text, size_t len);

#endif
