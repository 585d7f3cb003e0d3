/* model.h: the engine's model: a visit (its items' readings, alerts, blocks,
 * signatures, who recorded what), a patient's course, and the engine itself
 * (struct vigil_engine). Types only, and two inline readings of them. Private
 * to core/engine/: the rooms above read engine/inspect.h and vigil.h. Each
 * concept's functions are in a header of its own beside it (clock.h, visit.h,
 * schedule.h, alerts.h, evaluate.h, commands.h, course.h, recover.h, bus.h...);
 * engine.h is the engine object's (engine.c). */
#ifndef VIGIL_CORE_ENGINE_MODEL_H
#define VIGIL_CORE_ENGINE_MODEL_H

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

/* What the rules may do with the reading they run on (late_entry.c; G4, K4,
 * R1, R2 in docs/safety.md). One judgement, three cases:
 * LATE_NONE: it is the patient's state now (the newest observed): its rules
 *   raise and resolve alerts, set and lift blocks.
 * LATE_FINDING: a reading observed before the newest (of its item, or of
 *   the vitals one rule reads, R2), or a left phase's (K4): what they say is
 *   a finding about it (an alert to acknowledge), nothing set, lifted or
 *   resolved.
 * LATE_FINDING_HOLDS: a late entry of a phase the visit has left whose
 *   readings are the newest of their items (R1): its alerts are findings,
 *   the blocks its rules say are set (as its amendment would, F4), none
 *   lifted, nothing resolved. */
typedef enum { LATE_NONE, LATE_FINDING, LATE_FINDING_HOLDS } late_judgement;

typedef struct reading {
  int64_t at; /* when it was observed: rules, charts and schedules use this */
  val v;
  const char *actor;   /* interned */
  int64_t recorded_at; /* when it was entered: later than at for a late entry */
  /* The order of recording, whatever the times (the clock may not move
   * between two entries, an entry may be back-dated): the log seq of the
   * entry that recorded it, and of the entry or amendment that last changed
   * its value (docs/safety.md AS1, AS3; visit.recorded_seq). */
  uint64_t entered_seq, changed_seq;
  uint8_t clinician; /* the entry's `clinician`: the server said its author is one (AW1, visit.changes) */
} reading;

/* 56 bytes, one per protocol item in each visit (issue 16: it was 64). */
typedef struct item_state {
  /* The readings, in an array of room for n rounded up to a power of two
   * (add_reading, visit.c): most items are recorded once. */
  reading *r;
  uint32_t n;
  uint32_t sat;             /* occurrences dealt with: satisfied by a reading, or skipped */
  uint32_t overdue;         /* occurrences marked overdue */
  uint32_t passed;          /* occurrences passed over because `when` did not hold at their deadline */
  uint8_t skipped_for_good; /* the skip below covers the whole item, not one occurrence */
  uint32_t n_missed;        /* how many missed below */
  char *skipped;            /* the reason of the latest skip that no reading has followed */
  uint32_t *missed;         /* occurrences that went overdue and were since neither recorded (observed
                               within their grace) nor skipped: a missed checkpoint (G8) */
  int64_t given_at;         /* when the first reading that said something (neither false, null nor 0:
                               vigil__val_says_given) was observed, kept when amended since: the dose
                               given stays given (P1); 0: none */
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
  char *latest; /* what its rule says now of the cause, when other words (G7, AP4); memory only */
  /* A technical alert's failures while it is open (AB4): how many (1: the one
   * that raised it), the last one's words and time, and when the log last
   * said so. Memory only, as `latest`: the alert's event says the first. */
  uint32_t failures;
  char *last_failure;
  int64_t last_failed_at, failure_logged_at;
  int32_t item;    /* for overdue alerts (the first item of a checkpoint's), else -1 */
  uint16_t *items; /* an overdue alert's items, all due at one checkpoint */
  uint32_t n_items;
  /* What a rule's alert is about, as the rule said it (a number, or a finding
   * as text): the engine tells a worse reading or a new finding by it. */
  uint8_t has_value;
  double value;
  const char *value_text; /* interned */
  uint64_t follows;       /* the acknowledged alert of the same cause this one announces again, 0: none */
  /* AN11: it raises again, its cause still holding, the acknowledged alert it
   * follows: the how-manieth time running (0: not raised again); from the
   * protocol's realert_clinician on, only a clinician acknowledges it. */
  uint32_t realert;
  uint8_t clinician;
  alert_source source;
  priority prio;
  uint8_t level, latching, acked, cleared;
  /* AP3 (docs/safety.md): it latches as IEC 60601-1-8's latching alarms do: not acknowledged,
   * it stays active and escalates after its cause clears, until someone acknowledges it. */
  uint8_t latch;
  uint8_t carry; /* its rule carries it across phases (docs/safety.md, H4), or an earlier phase's rule raised it */
  /* S2, T1: a left phase's rule that does not carry raised it on a reading
   * (vitals, MOAA/S, any item; a late entry or an amendment): its condition
   * is that reading's, so an acknowledgement does
   * not close it; a newer reading its rule is quiet on, or leaving the
   * current phase, resolves it, as for the phase's own alerts (visit.c). */
  uint8_t left_reading;
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

/* V1 (docs/safety.md): a required item a clinician's override passed
 * unrecorded (or its signature void), flagged for the rest of the visit.
 * Kept beside the items, not in each item's state: rare, and a live visit's
 * memory is counted (issue 16). */
typedef struct passed_item {
  int64_t at;        /* the override's time */
  const char *actor; /* who (the event's actor) */
  uint32_t item;     /* index in protocol->items */
  uint32_t n_then;   /* its readings then (a void signature has some): more since, recorded since */
} passed_item;

/* A signature item's state beside its readings: what it attested when it was
 * signed (the values the signer saw), and why it is void, if a value it
 * attests changed since (signature.c). */
typedef struct signature_state {
  val attests;       /* record {items: {qid: value}, params: {name: value}, calculation: text}; nil: unsigned */
  char *void_reason; /* NULL: the signature stands */
} signature_state;

/* U6, AQ2 (docs/safety.md): an amendment of a reading, kept beside the
 * items (rare, as passed_item): who made it, whether a clinician, and the
 * value it replaced (visit.amended), and where in the log (seq: the value a
 * reading had before it, visit.changes, AW2). A reading is named by its item
 * and the seq of the entry that recorded it (an entry records an item once). */
typedef struct amendment {
  uint64_t seq, entered_seq;
  int64_t at; /* when it was made (the event's time) */
  uint32_t item;
  uint8_t clinician; /* the event's `clinician`: the server said the amender is one */
  const char *actor; /* interned */
  val previous;
} amendment;

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
  uint32_t closed_write; /* the engine's ring write that last named it closed (recover.c, keep_closed) */
  passed_item *passed;   /* V1: what overrides passed unrecorded, in the order passed */
  uint32_t n_passed;
  signature_state *sigs; /* one per protocol item, made at the first signature */
  hand *hands;
  uint32_t n_hands;
  uint32_t n_notes, n_amendments; /* note.written and item.amended events (AQ7: bounded, commands.c visit_full) */
  amendment *amends;              /* U6: each item.amended folded, in the order made */
  uint32_t n_amends;
  /* AT5: the data of the visit's last gate.blocked and its time (folded), and
   * how many refusals identical to it were not stored since (commands.c
   * repeated_refusal; memory only: a restart or a refold forgets them). */
  val blocked;
  int64_t blocked_at;
  uint32_t blocked_repeats;
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
  /* Each measure's value read from its `otherwise` item (the dose drawn up,
   * no dose given recorded: docs/workstation.md X3), not its own item. */
  uint8_t *from_otherwise;
  /* How its visit ended (course.session_ended): SESSION_OPEN while it runs.
   * An aborted session keeps its number but counts toward nothing (the
   * series, the measures, the intervals); response and remission read the
   * sessions that completed (docs/safety.md G9). */
  uint8_t ended;
  /* When its dose_given item was recorded, kept in its course.session_ended
   * (0: no dose, or a completed session ended before the end kept it). An
   * aborted session with a dose counts for the minimum interval as a
   * completed one does (docs/safety.md M1); the interval runs from the dose
   * (AR1). */
  int64_t dosed_at;
  /* Its visit discharged with none of the course's dose_given items recorded
   * (the infusion's start passed by a clinician's override): no dose was
   * given, so it ended as an aborted session counts (SESSION_ABORTED, no
   * dose), its course.session_ended `completed` with `no_dose` (docs/safety.md U4). */
  uint8_t no_dose;
  int64_t ended_at; /* when its course.session_ended was written (0: open) */
  /* Its REMS Patient Monitoring Form recorded as submitted (course.rems_submitted):
   * when it was sent (0: not yet), who sent it, how, the REMS's reference, and
   * who recorded it when. */
  int64_t rems_sent_at, rems_recorded_at;
  const char *rems_by, *rems_method, *rems_recorded_by; /* interned */
  char *rems_reference;
  char *rems_incomplete; /* why it was sent with fields missing; NULL: complete */
} course_session;

enum { SESSION_OPEN, SESSION_COMPLETED, SESSION_ABORTED };

/* An integration psychotherapy session between a course's sessions
 * (course.integration): when it was held, who held it, a note, and who
 * recorded it when. */
typedef struct course_integration {
  int64_t at, recorded_at;
  const char *by, *recorded_by; /* interned */
  char *note;
} course_integration;

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
  course_integration *integration; /* in the order they were held (at), then recorded */
  uint32_t n_integration, cap_integration;
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

/* What the journal (journal.c) calls up to, as libuv's handles call their
 * callbacks, so that it names nothing above it: vigil_engine_new sets them. */
typedef struct engine_up {
  /* After each commit: the loop's timer armed for the earliest deadline;
   * on the simulated clock, what is due now fired (vigil__clock_arm,
   * schedule.c). */
  void (*arm)(vigil_engine *e);
  /* After an undo that took course events away: the courses folded again
   * from the log and the first n_kept pending events (vigil__courses_fold,
   * course.c). */
  int (*fold_courses)(vigil_engine *e, size_t n_kept, char *err, size_t errlen);
  /* When the outermost entry ends after a vigil_engine_free from inside it:
   * the engine freed (vigil_engine_free, engine.c; lifetime.c). */
  void (*free)(vigil_engine *e);
} engine_up;

struct vigil_engine {
  vigil_options opts;
  engine_up up;
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
   * ENGINE_CLOSED_KEPT of them stay. closed_writes counts the writes; the
   * next goes to closed_writes % ENGINE_CLOSED_KEPT. */
  uint64_t closed[ENGINE_CLOSED_KEPT];
  uint32_t closed_writes;
  heap deadlines;
  /* patients' courses, by id - 1 (never dropped: they are few and small),
   * and each session's link from its visit */
  course **courses;
  uint64_t n_courses, cap_courses;
  course_link *links;
  uint64_t n_links, cap_links;
  int courses_stale;    /* an undo could not fold them again: folded at their next use */
  int courses_folding;  /* the courses' fold is scanning the store: no visit is read (course.c) */
  int visits_recovered; /* the open visits are held (engine.c): a course may read them */
  /* Visits an undo dropped and could not fold again (the store could not be
   * read: a database outage): folded again and their deadlines re-armed as
   * soon as the store answers (recover.c), never forgotten. unfolded_lost:
   * out of memory recording one (said in the log and the stats for good). */
  uint64_t *unfolded;
  size_t n_unfolded, cap_unfolded;
  int unfolded_lost;
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
  int opened;     /* vigil_engine_open has returned: deadlines may fire (engine.c) */
  int sim_firing; /* the simulated clock firing what a commit made due (schedule.c): not again inside */
  int batch;
  int publishing;
  /* Durable events not yet published (journal.c): a commit's, and those of
   * the commands subscribers issue while they hear them, in seq order. */
  vigil_event **unpublished;
  size_t n_unpublished, cap_unpublished;
  int hook_depth;
  /* A command is all or nothing (command.c). oom: an event could not be made,
   * or not applied in full, since the command began: it fails and its events
   * are undone. command_depth: commands calling commands count once. */
  int oom;
  int command_depth;
  int command_pool; /* the outermost command armed lua_pool (and disarms it) */
  /* the hook bus. bus_depth: publishes in progress; while one runs, an
   * unsubscribed entry is only marked (fn NULL) and the array is compacted
   * after the outermost (bus.c), so the loop over it skips no one. */
  subscriber *subs;
  uint32_t n_subs;
  int bus_depth;
  int subs_removed;
  /* calls: the engine's entries in progress that may call out to the
   * embedder (a command, a commit, a clock move, its timer, an events scan).
   * A vigil_engine_free inside one of them only sets free_when_done; the
   * outermost entry frees the engine on its way out, as a libuv handle is
   * freed after its callbacks (lifetime.c, sixth review item 1). */
  int calls;
  int free_when_done;
  int next_sub;
  /* G6 (docs/safety.md): while an amendment runs its rules, what an alert
   * they resolve says of it ("resolved by the amendment of ..."), else NULL. */
  const char *resolved_by;
  /* Lua calls */
  visit *cur;
  /* One entry's instructions across its calls into Lua (AC3, sandbox.h):
   * armed while a command, a visit's deadlines or a commit's hooks run
   * (vigil__lua_pool_arm, evaluate.c); every loaded protocol's sandbox
   * draws on it. */
  sandbox_pool lua_pool;
  uint16_t view_phase1; /* 1 + the phase whose rule runs when it is not the visit's (an amendment); 0: the visit's */
  /* While rules run, what they may do (late_entry.c, G4 in docs/safety.md):
   * late, the judgement of the reading they run on (late_judgement);
   * late_at, when a late entry's readings were observed (0: not a late
   * entry), named in the alerts they raise; view_now, the time the view's
   * rules see (the observed time of a reading judged as of then; 0: the
   * engine's). */
  late_judgement late;
  int64_t late_at, view_now;
  /* The items of a late entry whose view late_entry.c cut, and how many
   * readings each holds in the record (late_entry.h, vigil__late_record_n). */
  const int *late_items;
  const uint32_t *late_kept;
  int late_n_items;
  /* errors and counters */
  char errmsg[2048];
  char errfield[256]; /* empty: none */
  vigil_stats stats;
};

/* Whether ev is a course's: a course.* event, or an alert event of no visit
 * (a course alert). scan_courses gives exactly these. */
static inline int vigil__is_course_event(const vigil_event *ev) {
  return !ev->visit && ((ev->type >= EV_COURSE_STARTED && ev->type <= EV_COURSE_CLOSED) ||
                        (ev->type >= EV_ALERT_RAISED && ev->type <= EV_ALERT_RESOLVED));
}

#endif
