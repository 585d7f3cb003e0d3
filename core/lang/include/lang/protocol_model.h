/* protocol_model.h: the C structures a protocol version is compiled into
 * (protocol.h loads and frees them). Their own header, so that what reads a
 * loaded protocol without loading one (rule_code.h) need not include the
 * loader that calls it.
 */
#ifndef VIGIL_PROTOCOL_MODEL_H
#define VIGIL_PROTOCOL_MODEL_H

#include <stdint.h>

#include "base/value.h"
#include "lang/sandbox.h"
#include "lang/source_file.h"

typedef enum item_kind {
  KIND_CHECK,
  KIND_NUMBER,
  KIND_CHOICE,
  KIND_TEXT,
  KIND_VITALS,
  KIND_SCORE,
  KIND_SIGNATURE
} item_kind;
typedef enum field_kind { FIELD_CHECK, FIELD_NUMBER, FIELD_CHOICE, FIELD_TEXT } field_kind;
typedef enum priority { PRIORITY_LOW, PRIORITY_MEDIUM, PRIORITY_HIGH } priority;

/* One allowed value of an entered score field, and what it means
 * ("2": "moves 4 extremities"). */
typedef struct score_point {
  double value;
  char *label; /* NULL: the number says it all */
} score_point;

typedef struct field_spec {
  const char *name;  /* interned */
  const char *qname; /* "item.field" (or "item" for single-value items), for messages */
  char *title, *unit, *loinc;
  field_kind kind;
  int has_range;
  double lo, hi;
  const char **options; /* interned */
  uint32_t n_options;
  score_point *points; /* a score field's allowed points, in the form's order */
  uint32_t n_points;
  uint8_t required, computed;
  /* A text field's format (v.text's format): a POSIX extended regular
   * expression the whole value matches, and what it accepts in words; NULL:
   * any text. */
  char *pattern, *pattern_says;
} field_spec;

typedef struct schedule {
  int64_t at, every; /* every == 0: once */
  int64_t grace;
  int64_t until; /* -1: until the phase ends */
  int32_t count; /* -1: unbounded */
} schedule;

typedef struct item_spec {
  const char *id;          /* interned */
  const char *qid;         /* "phase.item", interned */
  const char *overdue_key; /* "overdue:phase.item", interned: its overdue alert's key */
  char *title, *help, *where, *meaning;
  item_kind kind;
  uint16_t phase, index; /* index in protocol->items */
  uint8_t required, scalar, scheduled;
  uint8_t skippable;         /* 0: a skip is refused (`skippable = false`; signatures) */
  uint8_t clinician;         /* 1: only a clinician enters it (`clinician = true`; docs/safety.md AL6) */
  int when_ref, compute_ref; /* LUA_NOREF when absent */
  field_spec *fields;
  uint32_t n_fields;
  schedule sched;
  int32_t of_item; /* signature: the item it confirms, -1 otherwise */
  /* AO1: the check of its phase it is recorded after (`after`: the infusion's
   * stop after its start), -1 none */
  int32_t after_item;
  /* signature: the visit params it attests besides of_item (interned names),
   * and the calculation the signer sees (LUA_NOREF when none) */
  const char **attest_params;
  uint32_t n_attest_params;
  int calc_ref;
  /* signature: the other entries it attests (`items`, indexes: a change of
   * any voids it), and whether its signer must be a second person, neither
   * who recorded nor who amended of_item (`second_person`, default 1; 0 for
   * a clinician's own judgement of an entry, docs/safety.md AN3) */
  int32_t *attest_items;
  uint32_t n_attest_items;
  uint8_t second_person;
  uint16_t *from; /* a computed score: the items it is computed from */
  uint32_t n_from;
  priority overdue_priority;
  int overdue_latching;
  int64_t overdue_escalate;
  uint16_t sched_slot; /* index among the phase's scheduled items */
} item_spec;

typedef struct rule_spec {
  const char *id; /* interned */
  char *where;
  int fn_ref;
  uint16_t *on; /* item indexes */
  uint32_t n_on;
  priority priority;    /* the highest it raises (declared; high when not): its technical alert's */
  int8_t worse;         /* which way its alerts' value worsens: 1 higher, -1 lower, 0 not said */
  double margin;        /* how much further past the last announced value is worse */
  uint64_t runs, fired; /* calls, and calls that returned an outcome (spec coverage) */
  uint8_t carry;        /* its alerts outlive the phase: closed by the rule or a clinician's acknowledgement */
  uint8_t worse_off;    /* `worse = false`: its alerts are never announced again as worse (M4) */
  int8_t
      code_priority; /* the highest its code (and the helpers it calls) raises, a block high; -1 none (rule_code.h) */
} rule_spec;

/* The priority of a failing rule's technical alert (H6): its declared one, or
 * higher when its code raises higher. */
static inline priority vigil__rule_fail_priority(const rule_spec *r) {
  return r->code_priority > (int)r->priority ? (priority)r->code_priority : r->priority;
}

typedef struct phase_spec {
  const char *id; /* interned */
  char *title, *help, *where;
  int64_t min, max; /* -1: none */
  int gate_ref;
  int before_dose_ref;            /* AN13: the dosing phase's check at each dose entry while the dose is not given */
  uint8_t hold_missed;            /* `missed = "hold"`: a missed checkpoint holds the gate (G8) */
  uint32_t unmonitored_after;     /* missed checkpoints in a row after which its schedule stops (K8) */
  uint8_t unacknowledged_allowed; /* unacknowledged = "allow": left with medium/low alerts open (L4) */
  int32_t timed_from;             /* P7: the check whose recording (yes) starts the phase's clock; -1: entering it */
  uint16_t first_item, n_items;   /* items[first_item .. first_item + n_items) */
  uint16_t n_scheduled;
  rule_spec *rules;
  uint32_t n_rules;
} phase_spec;

typedef struct param_spec {
  const char *name; /* interned */
  char *title, *unit;
  field_kind kind;
  int has_range;
  double lo, hi;
  const char **options;
  uint32_t n_options;
  uint8_t required;
  uint8_t prescribed;     /* part of the prescription: only a clinician changes it */
  const char **less_than; /* relations: this param < each of these (interned names) */
  uint32_t n_less_than;
  val def;
} param_spec;

enum { HOOK_ALERT, HOOK_PHASE_ENTER, HOOK_PHASE_EXIT, HOOK_OVERDUE, HOOK_COUNT };

/* One measure of a course: a number taken from each session's visit, from
 * an item (its field, or its single value) or from a param. */
typedef struct course_measure {
  const char *name;  /* interned */
  const char *item;  /* "phase.item", interned; NULL for a param */
  const char *field; /* interned; NULL: the item's single value */
  const char *param; /* interned; NULL for an item */
  /* "phase.item", interned, read while `item` has no value (the dose drawn up
   * until the dose given is recorded: docs/workstation.md X3); NULL: none. */
  const char *otherwise;
} course_measure;

/* A protocol's course (v.course): the series its visits make for one
 * patient. Durations in ms; 0: not declared. */
typedef struct course_spec {
  const char **visits; /* interned protocol ids whose visits join the course */
  uint32_t n_visits;
  /* The items ("phase.item", interned) whose recording means the dose was
   * given: the session counts for the minimum interval from then (M1). */
  const char **dose_given;
  uint32_t n_dose_given;
  /* Items recorded before the dose is given (a dose and its lot) that say it
   * was given once the visit has left their phase (AG2). */
  const char **dose_recorded;
  uint32_t n_dose_recorded;
  int32_t sessions; /* the induction series */
  int64_t within, min_interval, interval, grace;
  int64_t maintenance_interval, maintenance_max; /* 0: no maintenance */
  int32_t maintenance_sessions; /* maintenance sessions due `interval` apart before max_interval applies */
  /* The course alerts' priorities ("high", "medium", "low"; interned). */
  const char *priority_missed, *priority_non_response, *priority_series, *priority_rems_form;
  /* The REMS Patient Monitoring Form of each completed session (rems_form):
   * due rems_form_due after the session's start, its course alert raised
   * rems_form_alert after it while not submitted; 0: no form. */
  int64_t rems_form_due, rems_form_alert;
  course_measure *measures;
  uint32_t n_measures;
  const char *response_measure; /* interned, NULL: no response computed */
  double response_fall_pct;
  const char *remission_measure; /* interned, NULL: no remission computed */
  double remission_below;
  char *where; /* "file:line" of the declaration */
} course_spec;

typedef struct protocol {
  char *id, *version, *ref, *title, *description;
  source_file *stored; /* the sources it was loaded from, when not the disk */
  uint32_t n_stored;
  char sha256[65];                 /* hex SHA-256 of the sources: the version's fingerprint */
  const char *ref_atom, *sha_atom; /* the same, interned, for events */
  val defaults;                    /* record of every param with a default, shared by visits that give none */
  source_file *sources;
  uint32_t n_sources;
  sandbox *sb;
  phase_spec *phases;
  uint32_t n_phases;
  item_spec *items;
  uint32_t n_items;
  param_spec *params;
  uint32_t n_params;
  int hooks[HOOK_COUNT];
  int64_t escalate; /* default escalation interval, 0: none */
  int latching;     /* default latching */
  /* AP3: alerts of this priority and above latch fully (IEC 60601-1-8): not acknowledged,
   * they stay active and escalate after their cause clears; -1: none */
  int latch_from;
  int escalation_raises_priority; /* escalation also raises the priority a step (default: only the level) */
  int64_t realert_after;      /* an acknowledged alert whose cause holds is raised again this long after, 0: never */
  uint32_t realert_clinician; /* from this many raisings again, only a clinician acknowledges it; 0: never */
  uint32_t max_scheduled;     /* most scheduled items in one phase */
  int view_ref;               /* the `visit` view table handed to Lua */
  course_spec *course;        /* its visits' course, NULL when it declares none */
  const char **drug_names;    /* the drug it gives (interned), matched against the patient's allergies */
  const char **drug_codes;
  uint32_t n_drug_names, n_drug_codes;
  int stored_in_log; /* the engine's store keeps its sources already */
} protocol;

#endif
