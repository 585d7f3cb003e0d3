/* vigil.h: embed the vigil engine.
 *
 * The engine loads clinical protocols written in Lua and runs each patient
 * visit as a timed checklist. Everything that happens is an event; a visit's
 * state is the fold of its events. Subscribers hear each event once it is
 * durable.
 *
 * Conventions (as libuv's): functions return 0 or a negative VIGIL_E* code;
 * vigil_engine_errmsg() tells what went wrong in the last failed call, in a
 * sentence fit for a person. Strings returned by the engine stay valid until
 * the next call into the engine unless said otherwise.
 *
 * Threads: every call into the library (every engine's, and vigil_lint's)
 * is made from one thread, the one that runs the engines' loop, as libuv's
 * loop is one thread's. They share the process's interned strings (item,
 * phase and field names), kept without a lock because every event's keys go
 * through them; for work in parallel, use separate processes (as `vigil
 * serve` runs a protocol diff: docs/architecture.md). While an engine
 * lives, a call from another thread is refused, not let corrupt them:
 * vigil_engine_new, vigil_lint, the commands (vigil_visit_*,
 * vigil_alert_*, ...), vigil_engine_commit, the clock's moves and
 * vigil_engine_events answer VIGIL_ESTATE and do nothing. The reads and vigil_engine_free are not
 * checked: from another thread they are the caller's race.
 *
 * The loop: with the real clock, deadlines (checkpoints due, overdue,
 * escalations) fire only while that libuv loop runs (opts->loop, else
 * uv_default_loop()); a host that does not run it gets no overdue alerts.
 */
#ifndef VIGIL_H
#define VIGIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What libvigil.so exports: the functions declared here, and nothing else
 * (its objects are built with -fvisibility=hidden; docs/architecture.md). */
#if defined(__GNUC__) || defined(__clang__)
#define VIGIL_EXPORT __attribute__((visibility("default")))
#else
#define VIGIL_EXPORT
#endif

#define VIGIL_VERSION_MAJOR 0
#define VIGIL_VERSION_MINOR 1
#define VIGIL_VERSION_PATCH 0
#define VIGIL_VERSION_STRING "0.1.0"

/* Error codes: one list (errors.h, which plugin.h shares), from which
 * vigil_strerror and vigil_err_name come. */
#include "errors.h"

/* "protocol error", and "EPROTOCOL". */
VIGIL_EXPORT const char *vigil_strerror(int err);
VIGIL_EXPORT const char *vigil_err_name(int err);

typedef struct vigil_engine vigil_engine;
typedef struct vigil_event vigil_event;

typedef enum vigil_clock_kind {
  VIGIL_CLOCK_REAL = 0,     /* UTC wall time, libuv timers */
  VIGIL_CLOCK_SIMULATED = 1 /* jumps from deadline to deadline */
} vigil_clock_kind;

typedef enum vigil_log_level { VIGIL_LOG_ERROR = 0, VIGIL_LOG_WARN = 1, VIGIL_LOG_INFO = 2 } vigil_log_level;

typedef void (*vigil_log_fn)(void *ud, vigil_log_level level, const char *msg);

/* The default of vigil_options.max_readings_per_visit: about seven times a
 * 12-hour visit with vitals, sedation and dissociation every 5 minutes
 * (docs/safety.md H17). */
#define VIGIL_MAX_READINGS_PER_VISIT 3000
/* The defaults of vigil_options.max_notes_per_visit and
 * max_amendments_per_visit (docs/security.md AQ7): a note every 5 minutes of
 * a 12-hour visit is 144, and a bundled ketamine visit records about 100
 * readings, each amended at most once or twice. */
#define VIGIL_MAX_NOTES_PER_VISIT 1000
#define VIGIL_MAX_AMENDMENTS_PER_VISIT 1000
/* The default of vigil_options.refusal_window_ms (docs/security.md AT5), the
 * same as the server's window for cross-site refusals (T3): a nurse who tries
 * again after a minute is recorded again. */
#define VIGIL_REFUSAL_WINDOW_MS 60000

typedef struct vigil_options {
  vigil_clock_kind clock;
  int64_t sim_start_ms;            /* simulated clock: start time, ms since epoch (UTC) */
  void *loop;                      /* real clock: a uv_loop_t*, or NULL for the default loop */
  size_t lua_memory_cap;           /* per protocol version; 0: 32 MiB */
  uint64_t lua_instruction_budget; /* per call into Lua; 0: 10 million */
  /* Per entry (a command, a visit's deadlines firing), across all its calls
   * into Lua: the rules past it fail as a failing rule does; 0: twice the
   * per-call budget (docs/protocols.md, docs/security.md AC3). */
  uint64_t lua_entry_budget;
  /* Wall time per call into a loaded protocol's Lua (rules, conditions,
   * scores, hooks), ms; 0: 2000. A call stopped by it is a technical alert
   * that says the limit and the time taken. vigil serve sets the site's
   * (vigil.conf rule_time_limit_ms, 50 by default): a live ward cannot wait. */
  uint32_t lua_time_limit_ms;
  /* Wall time of one entry's calls into Lua together, ms: the calls past it
   * fail as a failing rule does; 0: four times the per-call limit
   * (docs/security.md AH1). */
  uint32_t lua_entry_time_limit_ms;
  /* The event store: a SQLite file's path, or a PostgreSQL URI
   * (postgresql://...) for a store many sites and nodes share; NULL: events
   * in memory only. */
  const char *db_path;
  const char *db_vfs; /* a SQLite VFS name (fault-injection tests); NULL: default */
  vigil_log_fn log;   /* NULL: stderr */
  void *log_ud;
  /* The site's escalation: the longest an unacknowledged alert waits before
   * it escalates a level (ms), whatever its protocol says (a protocol may
   * escalate sooner); 0: the protocols decide. */
  int64_t escalate_ms;
  /* The same per priority, [0] low, [1] medium, [2] high (0: escalate_ms):
   * a site may let a low alert wait longer than a high one. */
  int64_t escalate_by_priority_ms[3];
  /* Reads db_path as it is, beside a running engine (vigil export): one
   * moment of the log, recovered but not acted on (no engine.started, no
   * deadline fired); every command fails (VIGIL_ESTATE). */
  int read_only;
  /* In a PostgreSQL store, the site whose log this engine keeps; NULL:
   * "default". A SQLite store holds one site: this is not used. */
  const char *site;
  /* PostgreSQL: the node that claims the site's lease (NULL: no lease; the
   * engine is the site's only writer), the URL where it answers, and the
   * lease's length in ms (0: 10 s). A site another node holds is refused
   * (VIGIL_EBUSY); once another node claims it, this engine's commands fail
   * (VIGIL_EBUSY: fenced) and nothing more of it is written. */
  const char *node, *advertise;
  int64_t lease_ms;
  /* PostgreSQL with a node: how far this machine's wall clock may be from
   * the database's (ms; 0: 2000). Past it the site is not claimed (the
   * claim fails with VIGIL_ECLOCK), or is given up at a renewal: a node's
   * clock stamps the events and decides when deadlines fall due. */
  int64_t max_clock_offset_ms;
  /* Reasons that say nothing, refused wherever a person gives a reason
   * (docs/safety.md M7), compared folded and without punctuation ("N/A"
   * is "n/a"): n_reason_placeholders strings, borrowed for the engine's
   * life. NULL: the default list (n/a, none, ok, test, xxx, asdf...;
   * vigil.conf reason_placeholders, docs/config.md). */
  const char *const *reason_placeholders;
  size_t n_reason_placeholders;
  /* The most readings one visit holds, every item's together (an entry of n
   * items adds n): an entry past it is refused whole (VIGIL_ESTATE on field
   * "max_readings_per_visit", nothing recorded) and logged; notes are still
   * taken. 0: VIGIL_MAX_READINGS_PER_VISIT (vigil.conf max_readings_per_visit;
   * docs/safety.md H17, docs/security.md AM3). */
  uint32_t max_readings_per_visit;
  /* The most notes (note.written) and amendments (item.amended) one visit
   * holds: past either the note or amendment is refused the same way
   * (VIGIL_ESTATE on field "max_notes_per_visit" or
   * "max_amendments_per_visit", nothing recorded) and logged. 0:
   * VIGIL_MAX_NOTES_PER_VISIT, VIGIL_MAX_AMENDMENTS_PER_VISIT (vigil.conf;
   * docs/security.md AQ7). */
  uint32_t max_notes_per_visit, max_amendments_per_visit;
  /* A refused advance or discharge identical to the visit's last stored
   * gate.blocked (the same phase, the same reasons) less than this many ms
   * after it is refused as ever but not stored again: it is counted, and the
   * next gate.blocked stored carries the count (`repeats`, docs/events.md).
   * 0: VIGIL_REFUSAL_WINDOW_MS (vigil.conf refusal_window_seconds;
   * docs/security.md AT5). */
  int64_t refusal_window_ms;
} vigil_options;

/* Creates an engine. opts may be NULL (real clock, default limits, events in
 * memory). With opts->db_path the engine opens (or creates) that store and
 * recovers every open visit from it: protocols as they were stored, state as
 * the fold of the log, deadlines re-armed. Those that passed while it was
 * down are not fired inside this call, where nothing can have subscribed:
 * vigil_engine_fire_due fires them, in order and each with its lateness, once
 * the embedder has subscribed; else the real clock's timer fires them at the
 * loop's first turn (uv_run), the simulated clock at its first move or
 * command. On
 * failure *out is NULL, nothing is left to free, and vigil_engine_errmsg(NULL)
 * says why (until the next failed start on the same thread). */
VIGIL_EXPORT int vigil_engine_open(const vigil_options *opts, size_t opts_size, vigil_engine **out);
/* vigil_options grows at its end, and each field's default is 0 (as Linux's
 * openat2 and clone3 structs do): a program passes the size of the struct it
 * was built with, and the library reads that much and takes the defaults of
 * the fields it did not know of. So a program built against an older vigil.h
 * runs on a newer libvigil.so, and never has the library read past its
 * struct. A struct larger than the library knows is VIGIL_EINVAL unless
 * what lies past the known fields is all zero (a newer program asking for a
 * setting this library does not have). vigil_engine_new passes the size. */
static inline int vigil_engine_new(const vigil_options *opts, vigil_engine **out) {
  return vigil_engine_open(opts, opts ? sizeof *opts : 0, out);
}
/* Frees an engine; it may be called from inside a callback of its loop (it
 * runs no loop), and from inside a subscriber or a vigil_engine_events
 * function of this engine: then the engine is freed when the call that
 * published ends (its result is still returned), and no later subscriber
 * hears the event. With the real clock its libuv timer is closed, and freed
 * by the loop's next turn, as any libuv handle: run the loop (uv_run) before
 * uv_loop_close, also after a vigil_engine_new that failed. */
VIGIL_EXPORT void vigil_engine_free(vigil_engine *e);

/* The message of the last failed call, and the field it concerns (or NULL).
 * With e NULL: why the last vigil_engine_new failed. */
VIGIL_EXPORT const char *vigil_engine_errmsg(const vigil_engine *e);
VIGIL_EXPORT const char *vigil_engine_errfield(const vigil_engine *e);

/* ---- Protocols ---------------------------------------------------------- */

/* Loads a protocol from a file or a folder holding protocol.lua. On success
 * *ref (may be NULL) points at "id@version", valid while the engine lives.
 * On failure every problem is in vigil_engine_errmsg, one per line, each as
 * "file:line: message". */
VIGIL_EXPORT int vigil_engine_load(vigil_engine *e, const char *path, const char **ref);

/* The versions loaded now, in load order: fn(ud, "id@version", id,
 * version, sha256) for each. */
typedef void (*vigil_protocol_fn)(void *ud, const char *ref, const char *id, const char *version, const char *sha256);
VIGIL_EXPORT void vigil_engine_protocols(vigil_engine *e, vigil_protocol_fn fn, void *ud);
/* "2026-01-05", "2026-01-05T08:00[:00[.250]]" then "Z", "+01:00", "-0500"
 * or nothing (UTC); a space may stand for the T. 0 with ms since the epoch,
 * or -1 when it is not such a time (or no such day). */
VIGIL_EXPORT int vigil_time_parse(const char *iso, int64_t *ms);

/* Compares two MAJOR.MINOR.PATCH versions: <0, 0, >0. */
VIGIL_EXPORT int vigil_version_compare(const char *a, const char *b);

/* Checks a protocol without an engine: calls fn for every problem found and
 * returns how many there were (0: clean), or a negative error. */
typedef void (*vigil_problem_fn)(void *ud, const char *where, const char *message);
VIGIL_EXPORT int vigil_lint(const char *path, vigil_problem_fn fn, void *ud);
/* The same, and when the protocol is clean its "id@version" into ref and
 * its fingerprint (hex SHA-256 of its sources) into sha256. */
VIGIL_EXPORT int vigil_lint_identify(const char *path, vigil_problem_fn fn, void *ud, char *ref, size_t reflen,
                                     char sha256[65]);

/* ---- Visits -------------------------------------------------------------- */

/* One value in a record command. item names the item ("phase.item" or the
 * item of the visit's current phase); field names a field of a vitals or
 * score item and is NULL for single-value items. */
typedef enum vigil_input_type { VIGIL_INPUT_NUMBER, VIGIL_INPUT_BOOL, VIGIL_INPUT_STRING } vigil_input_type;

typedef struct vigil_input {
  const char *item;
  const char *field;
  vigil_input_type type;
  double number;
  int boolean;
  const char *string;
} vigil_input;

/* Starts a visit. protocol is "id" (the newest loaded version) or
 * "id@version"; params_json is a JSON object or NULL. */
VIGIL_EXPORT int vigil_visit_start(vigil_engine *e, const char *protocol, const char *patient, const char *actor,
                                   const char *params_json, uint64_t *visit_id);
/* The same with where the patient sits (a chair or bay: 1 to 64
 * characters; NULL: not said), shown with the visit. */
VIGIL_EXPORT int vigil_visit_start_at(vigil_engine *e, const char *protocol, const char *patient, const char *location,
                                      const char *actor, const char *params_json, uint64_t *visit_id);
/* The same, with a clinician's reason to start it although the patient has
 * a visit open on a protocol of the same course (refused without one:
 * VIGIL_EEXIST naming that visit; docs/safety.md G9). NULL: no override. */
VIGIL_EXPORT int vigil_visit_start_override(vigil_engine *e, const char *protocol, const char *patient,
                                            const char *location, const char *actor, const char *params_json,
                                            const char *override_reason, uint64_t *visit_id);
/* The same, with new_patient 1 when the start says the patient is new
 * although their reference equals an existing patient's but for letter
 * case (refused without it: VIGIL_EEXIST on field new_patient naming the
 * existing patient; docs/safety.md K2). */
VIGIL_EXPORT int vigil_visit_start_ex(vigil_engine *e, const char *protocol, const char *patient, const char *location,
                                      const char *actor, const char *params_json, const char *override_reason,
                                      int new_patient, uint64_t *visit_id);
/* 1 when params_json sets a param that protocol marks `prescribed` to
 * anything but its default (its name into name): only a clinician may start
 * such a visit (docs/safety.md, H5). 0 otherwise. VIGIL_EINVAL (field
 * "params") when params_json is not a JSON object, or gives a key twice, as
 * the start refuses it. */
VIGIL_EXPORT int vigil_protocol_prescribed(vigil_engine *e, const char *protocol, const char *params_json, char *name,
                                           size_t len);

/* Records one or more items of the current phase as one entry: all are
 * validated first, and nothing is recorded if any is refused. */
VIGIL_EXPORT int vigil_visit_record(vigil_engine *e, uint64_t visit, const char *actor, const vigil_input *in,
                                    size_t n);
/* The same, from a JSON object {"item": value, "vitals": {"sbp": 120, ...}}. */
VIGIL_EXPORT int vigil_visit_record_json(vigil_engine *e, uint64_t visit, const char *actor, const char *json);

/* Whether an entry of these items needs a signature: 1 when one of them is a
 * `signature` item of the visit's protocol (a server then asks the signer's
 * password again), 0 when none is, a negative code when the visit is not
 * active. Names that are no item are left to the record to refuse. */
VIGIL_EXPORT int vigil_visit_items_sign(vigil_engine *e, uint64_t visit, const char *const *items, size_t n);

/* Whether an entry, amendment or skip of these items is a clinician's only:
 * 1 when one of them is an item its protocol declares `clinician = true` (the
 * prescriber's own judgement, docs/safety.md AL6; a server refuses it to
 * another role), with its index in items in *which; 0 when none is, a
 * negative code when the visit is not active. */
VIGIL_EXPORT int vigil_visit_items_clinician(vigil_engine *e, uint64_t visit, const char *const *items, size_t n,
                                             size_t *which);

/* Replaces the latest value of an item; the old value stays in the history. */
VIGIL_EXPORT int vigil_visit_amend_json(vigil_engine *e, uint64_t visit, const char *actor, const char *item,
                                        const char *value_json, const char *reason);
VIGIL_EXPORT int vigil_visit_skip(vigil_engine *e, uint64_t visit, const char *actor, const char *item,
                                  const char *reason);

/* Leaves the current phase if its gate holds (VIGIL_EGATE otherwise, with the
 * reasons in errmsg, and a gate.blocked event). Leaving the last phase
 * discharges the visit. */
VIGIL_EXPORT int vigil_visit_advance(vigil_engine *e, uint64_t visit, const char *actor);
/* Leaves the current phase although its gate does not hold. A rule's hold
 * (a block) standing in the phase is passed only when the override names it:
 * vigil_visit_override names none (VIGIL_ESTATE while one stands);
 * vigil_visit_override_holds names each by its rule (the visit's blocks'
 * "rule"), VIGIL_EINVAL for a name of no standing hold (docs/safety.md Q5). */
VIGIL_EXPORT int vigil_visit_override(vigil_engine *e, uint64_t visit, const char *actor, const char *reason);
VIGIL_EXPORT int vigil_visit_override_holds(vigil_engine *e, uint64_t visit, const char *actor, const char *reason,
                                            const char *const *holds, size_t n_holds);
/* As vigil_visit_override_holds, and each required item of the phase it
 * passes unrecorded (or its signature void) is named in items by its entry
 * ("screening.dose_check"): VIGIL_EINVAL naming the first not named, or a
 * name of no such item (docs/safety.md V1). The server's override route.
 * Whichever way, the gate.overridden event lists them ("items") and the
 * visit shows them passed by override for the rest of the visit. */
VIGIL_EXPORT int vigil_visit_override_confirmed(vigil_engine *e, uint64_t visit, const char *actor, const char *reason,
                                                const char *const *holds, size_t n_holds, const char *const *items,
                                                size_t n_items);
/* Leaves the last phase (VIGIL_ESTATE in an earlier phase). */
VIGIL_EXPORT int vigil_visit_discharge(vigil_engine *e, uint64_t visit, const char *actor);
VIGIL_EXPORT int vigil_visit_abort(vigil_engine *e, uint64_t visit, const char *actor, const char *reason);
/* How many open high alerts the visit has (H12: not acknowledged, or
 * acknowledged while their condition holds), listed into text ("alert 13:
 * SpO2 80% ..."); 0 when none or no such visit. A server lets only a
 * clinician abort such a visit (G3 in docs/safety.md). */
VIGIL_EXPORT int vigil_visit_open_high_alerts(vigil_engine *e, uint64_t visit, char *text, size_t len);
/* 1 with the item into text when the visit is a course's session whose dose
 * was given (an item its course's dose_given names is recorded), 0 otherwise.
 * A server lets only a clinician abort such a visit (M1 in docs/safety.md). */
VIGIL_EXPORT int vigil_visit_dose_given(vigil_engine *e, uint64_t visit, char *text, size_t len);
/* 1 with why into text when item (as an amendment names it) is a dose_given
 * item of the visit's course recorded as given: an amendment of it to false
 * or null is a clinician's, signed (P1 in docs/safety.md); 0 otherwise. */
VIGIL_EXPORT int vigil_visit_amend_undoes_dose(vigil_engine *e, uint64_t visit, const char *item, char *text,
                                               size_t len);
/* 1 with why when a start for patient with new_patient is a clinician's
 * (M9 in docs/safety.md): the patient is spelled like an existing one who
 * has a visit open or a dose given within its course's minimum interval. */
VIGIL_EXPORT int vigil_patient_new_needs_clinician(vigil_engine *e, const char *patient, char *why, size_t len);

/* Acknowledges one alert; it silences only that alert. */
VIGIL_EXPORT int vigil_alert_ack(vigil_engine *e, uint64_t alert, const char *actor, const char *reason);
/* 1 if alert id is carried (its rule's `carry`: a self-harm risk): it closes
 * only when its rule no longer says it or when a clinician acknowledges it
 * with a reason (docs/safety.md, H4). */
VIGIL_EXPORT int vigil_alert_carried(vigil_engine *e, uint64_t id);
/* 1 if alert id was raised again, its cause holding after acknowledgements,
 * as often as the protocol's defaults.realert_clinician: only a clinician
 * acknowledges it, with a reason (docs/safety.md, AN11). */
VIGIL_EXPORT int vigil_alert_for_clinician(vigil_engine *e, uint64_t id);

/* The visit's whole state as JSON (malloc'd; free with vigil_free), or NULL. */
VIGIL_EXPORT char *vigil_visit_json(vigil_engine *e, uint64_t visit);
VIGIL_EXPORT void vigil_free(void *p);

/* ---- Time ---------------------------------------------------------------- */

VIGIL_EXPORT int64_t vigil_engine_now(const vigil_engine *e);           /* ms since epoch (UTC) */
VIGIL_EXPORT int64_t vigil_engine_next_deadline(const vigil_engine *e); /* INT64_MAX if none */
/* Fires now, in order, every deadline due by vigil_engine_now: after
 * vigil_engine_new and the embedder's subscriptions, what fell due while
 * the engine was down (which vigil_engine_new arms but does not fire), on
 * either clock. 0 once their events are durable; on failure nothing of them
 * is kept and they are due again. */
VIGIL_EXPORT int vigil_engine_fire_due(vigil_engine *e);
/* Simulated clock: moves time to `to`, firing every deadline on the way in
 * order, each at its own time. Between moves, a deadline that a commit made
 * due now (a course's close lets another course's alert come, AD1 in
 * docs/safety.md) fires after that commit, as on the real clock. */
VIGIL_EXPORT int vigil_engine_advance_to(vigil_engine *e, int64_t to);
/* The same moved by someone (POST /api/v1/clock): a clock.advanced event
 * (actor, from, by) at `to` follows the deadlines' events, so a restart
 * resumes the clock where it was moved to (docs/safety.md L6). */
VIGIL_EXPORT int vigil_engine_clock_advance(vigil_engine *e, int64_t to, const char *actor);

/* ---- Batching ------------------------------------------------------------ */

/* Commands between begin and commit are made durable, and published, together
 * (one store transaction). Outside a batch every command commits itself. */
VIGIL_EXPORT void vigil_engine_begin(vigil_engine *e);
VIGIL_EXPORT int vigil_engine_commit(vigil_engine *e);

/* ---- Events and the hook bus --------------------------------------------- */

VIGIL_EXPORT uint64_t vigil_event_seq(const vigil_event *ev);
VIGIL_EXPORT int64_t vigil_event_time(const vigil_event *ev);
VIGIL_EXPORT uint64_t vigil_event_visit(const vigil_event *ev);
VIGIL_EXPORT const char *vigil_event_type(const vigil_event *ev); /* "alert.raised" */
VIGIL_EXPORT const char *vigil_event_actor(const vigil_event *ev);
/* The event as one JSON object (malloc'd; free with vigil_free). */
VIGIL_EXPORT char *vigil_event_json(const vigil_engine *e, const vigil_event *ev);

/* A subscriber returns 0, or non-zero to report a failure (logged and
 * counted; the other subscribers still run). A subscriber may issue
 * commands (a note on the alert it hears): outside a batch of its own
 * (vigil_engine_begin) each is committed at once, in its own store
 * transaction, and answers for itself: 0 only once its events are durable,
 * else the store's failure with nothing of it recorded. The event being
 * heard is durable already and its call's result is its own. The command's
 * events are heard after those being published, in order. */
typedef int (*vigil_event_fn)(void *ud, const vigil_event *ev);

/* pattern: "*", "alert.*" or an exact type. Returns a subscription id > 0.
 * A subscriber may subscribe and unsubscribe (itself or another) while it
 * hears an event: one removed then hears nothing more, one added hears the
 * next event, not this one, and every other subscriber still hears it. */
VIGIL_EXPORT int vigil_engine_subscribe(vigil_engine *e, const char *pattern, vigil_event_fn fn, void *ud);
VIGIL_EXPORT int vigil_engine_unsubscribe(vigil_engine *e, int subscription);

/* Records a site event: what happens at the site rather than in a visit
 * (a sign-in, a failed one, a user created or changed). type is one of
 * "session.started", "session.ended", "auth.failed", "user.created",
 * "user.changed", "protocol.uploaded", "protocol.approved" (docs/events.md); fields_json a JSON object of its fields,
 * or NULL. It goes into the same log as visit events (visit 0), is chained
 * and published like them, and is durable at the batch's commit (at once
 * outside a batch). Never a password, a hash or a token. */
VIGIL_EXPORT int vigil_site_event(vigil_engine *e, const char *type, const char *actor, const char *fields_json);

/* Calls fn for every stored event with seq > after, in order. */
VIGIL_EXPORT int vigil_engine_events(vigil_engine *e, uint64_t after, vigil_event_fn fn, void *ud);

typedef struct vigil_stats {
  uint64_t events;
  uint64_t visits_active;
  uint64_t alerts_active;
  uint64_t subscriber_failures;
  uint64_t lua_calls;
  size_t lua_bytes; /* all protocol states together */
  /* Visits a failed commit took out of memory that could not be read back
   * from the store yet (it did not answer): rebuilt, and their deadlines
   * armed again, as soon as it does. Not 0: the engine is degraded. */
  uint64_t visits_not_rebuilt;
  /* Batches of events written to the store, every writer's (a command's,
   * a deadline's timer, a hook's), and those the store refused (nothing of
   * them recorded): E5 of the third try, timer writes were counted nowhere. */
  uint64_t writes, write_failures;
} vigil_stats;
VIGIL_EXPORT void vigil_engine_stats(const vigil_engine *e, vigil_stats *out);
/* Folds again the visits counted in visits_not_rebuilt: 0 when every visit
 * is in memory; VIGIL_EIO while the store still does not answer, or
 * VIGIL_ENOMEM when one left memory for want of it (until a restart), with
 * the engine's message. While it fails, a list of the engine's visits or
 * alerts lacks those visits: show none (D1, docs/deploy.md: an empty board
 * reads as "no patients, no alerts"). Every command tries it first. */
VIGIL_EXPORT int vigil_engine_rebuild(vigil_engine *e);

/* ---- Audit --------------------------------------------------------------- */

/* The audit reads a store file (vigil_options.db_path) directly, read-only
 * and without the engine's lock, so it works while an engine has the file
 * open; each call reads one consistent snapshot. No engine is needed.
 * docs/audit.md tells what each check means. */

/* Receives the audit's output, piece by piece; returns 0, or non-zero to
 * stop (the call then fails with VIGIL_EIO). */
typedef int (*vigil_audit_write_fn)(void *ud, const char *text, size_t len);

/* Checks the hash chain of every event and the store's head. Returns 0 when
 * intact (msg: "N events, chain intact"); VIGIL_ECORRUPT when the log was
 * tampered with or damaged, with msg saying what ("event 12 was edited: ...")
 * and *first_bad_seq the first sequence number that is wrong (0 when the
 * damage is outside the events, e.g. a stored protocol's sources); another
 * negative code when the file cannot be checked (VIGIL_ENOENT: no such file,
 * VIGIL_EINVAL: not a vigil database, VIGIL_ENEWER, VIGIL_EIO, VIGIL_EBUSY).
 * events and first_bad_seq may be NULL. db_path may be a PostgreSQL URI
 * (postgresql://..., a cluster's database, docs/deploy.md): every site's
 * chain and visits' table, the users and the upload folders
 * (var/protocol_uploads under the working directory, as vigil serve keeps
 * them) are checked as `vigil audit verify` checks them, in one read-only
 * transaction while the nodes go on writing; msg ("N sites, M events, every
 * chain intact") names the site of a bad event, whose seq (within that
 * site) is *first_bad_seq; VIGIL_EIO when PostgreSQL cannot be reached,
 * VIGIL_ENOENT when it holds no site yet. The other vigil_audit_ calls read
 * a SQLite file only (VIGIL_EINVAL for a URI, saying so). */
VIGIL_EXPORT int vigil_audit_verify(const char *db_path, uint64_t *events, uint64_t *first_bad_seq, char *msg,
                                    size_t msglen);

/* The hash chain from a point verified before: the row at from_seq must
 * still have from_hash (and match it), and every row after it must chain
 * on to the store's head, as vigil_audit_verify checks them (from_seq 0:
 * every row). Rows before from_seq are not read: what vigil serve checks at
 * start, from the head it verified at its last start, so that a big log
 * does not make the start slow. 0 with the head in *head_seq and head_hash;
 * VIGIL_ECORRUPT with the message and the first bad seq's sentence as
 * vigil_audit_verify gives it; another negative code when the file cannot
 * be read. head_seq and head_hash may be NULL. */
VIGIL_EXPORT int vigil_audit_verify_since(const char *db_path, uint64_t from_seq, const char *from_hash,
                                          uint64_t *head_seq, char head_hash[65], char *msg, size_t msglen);

/* An anchor of the log's head: after verifying the whole log, one line of
 * JSON (*anchor, freed with free) naming the head's seq and hash and the
 * time, signed with the site's Ed25519 key (libsodium's 64-byte secret
 * key, kept outside the database). Kept elsewhere, it lets a later verify
 * find a rewrite of the whole chain. 0; VIGIL_ECORRUPT when the log does
 * not verify (msg as vigil_audit_verify); another negative code. */
VIGIL_EXPORT int vigil_audit_anchor(const char *db_path, const unsigned char secret_key[64], char **anchor, char *msg,
                                    size_t msglen);
/* Checks an anchor: signed by public_key, and the log still holds its
 * head (the same hash at the same seq) with an intact chain from there to
 * today's head. 0; VIGIL_ECORRUPT (first_bad_seq: the anchored seq) when
 * the log no longer holds it; VIGIL_EINVAL when the anchor is not one or
 * its signature does not match; another negative code. */
VIGIL_EXPORT int vigil_audit_verify_anchor(const char *db_path, const char *anchor, const unsigned char public_key[32],
                                           uint64_t *first_bad_seq, char *msg, size_t msglen);

/* The tables a restart trusts (visits' status, the alert count, approvals)
 * against what a fold of the log gives, the stored protocol sources against
 * their fingerprints and the approved uploads beside the database against
 * their approvals, without walking the hash
 * chain: what vigil serve checks before it starts. 0 when they match;
 * VIGIL_ECORRUPT with the same message vigil_audit_verify gives for the
 * first difference; another negative code when the file cannot be read. */
VIGIL_EXPORT int vigil_audit_check_state(const char *db_path, char *msg, size_t msglen);

/* The sessions table's rows as their events allow them (docs/security.md
 * V3): each row that vigil_audit_check_state passes is handed to fn with
 * the expiry its events allow: its life (ttl_ms of its session.started)
 * after the later of its start and the last event its user wrote; 0 for an
 * API token, which does not expire. A row's own expiry, which a sign-in's
 * use extends without an event, is believed only up to that. Nothing is
 * handed without a credential key. 0, VIGIL_ECORRUPT as the check, or
 * another negative code with a sentence. */
VIGIL_EXPORT int vigil_audit_sessions(const char *db_path, void (*fn)(void *ud, const char *row, int64_t expires_ms),
                                      void *ud, char *msg, size_t msglen);

/* The users as the log makes them: fn(ud, name, role, disabled) for each
 * user.created event's user (its role), disabled as the user's last
 * user.changed with `disabled` says. What vigil serve believes of users'
 * roles and states at start (docs/security.md T6); the users table keeps
 * only their password hashes. 0, or a negative code with a sentence. */
VIGIL_EXPORT int vigil_audit_users(const char *db_path,
                                   void (*fn)(void *ud, const char *name, const char *role, int disabled), void *ud,
                                   char *msg, size_t msglen);
/* The users table's rows as stored: fn(ud, name, role) for each (role NULL
 * when the row has none), so that vigil serve finds at start a row whose
 * role is none the log gave (docs/security.md U8). 0, or a negative code. */
VIGIL_EXPORT int vigil_audit_user_rows(const char *db_path, void (*fn)(void *ud, const char *name, const char *role),
                                       void *ud, char *msg, size_t msglen);

/* The credential key of a SQLite store (docs/security.md U2): 32 random
 * bytes in the file DB-credentials.key beside the database (mode 0600),
 * never in the database. The log's user.created and password changes
 * carry a keyed digest of the user's password hash, and session.started
 * and token issues one of the session's row (its token's SHA-256 and
 * owner), so a row edited in the database matches no event and one made
 * to match needs the key. With create, a missing file is made (1 then).
 * 0 or 1; VIGIL_ENOENT when missing and not created; another negative code
 * with a sentence. */
VIGIL_EXPORT int vigil_audit_credential_key(const char *db_path, int create, unsigned char key[32], char *msg,
                                            size_t msglen);
/* The digest of a credential row as hex: HMAC-SHA-256 under key of kind
 * ("user" or "session"), a NUL, a (the user's name, or the session's
 * key), a NUL and b (the password hash, or the session's user). */
VIGIL_EXPORT void vigil_audit_credential_digest(const unsigned char key[32], const char *kind, const char *a,
                                                const char *b, char out[65]);

/* One visit's history for a person: each event with its sequence number,
 * time (UTC and local, by TZ), who, and what; amendments show the old value
 * and the new one and the reason. VIGIL_ENOENT if the visit has no events. */
VIGIL_EXPORT int vigil_audit_show(const char *db_path, uint64_t visit, vigil_audit_write_fn write, void *ud, char *msg,
                                  size_t msglen);

/* Every event with from_ms <= time < to_ms (INT64_MIN / INT64_MAX: no
 * bound), in sequence order. format "jsonl": each event's stored canonical
 * JSON, one per line; "csv" (RFC 4180, CRLF line ends): a header, then
 * seq,time (ISO UTC),visit,type,actor,data (data as JSON text). */
VIGIL_EXPORT int vigil_audit_export(const char *db_path, const char *format, int64_t from_ms, int64_t to_ms,
                                    vigil_audit_write_fn write, void *ud, char *msg, size_t msglen);

/* ---- Courses ------------------------------------------------------------- */

/* A patient's treatment course (docs/protocols.md, "Courses"): a visit on a
 * protocol that declares a course joins the patient's open course as its
 * next session, or starts one. vigil_course_start starts one before the
 * first visit (VIGIL_EEXIST when the patient has one open on that protocol
 * already; VIGIL_EINVAL when the protocol declares no course);
 * vigil_course_close closes one with a reason (VIGIL_ESTATE: closed already). */
VIGIL_EXPORT int vigil_course_start(vigil_engine *e, const char *ref, const char *patient, const char *actor,
                                    uint64_t *course_id);
/* The same with a visit start's patient checks and their new_patient
 * (vigil_visit_start_ex; both refuse a look-alike patient: docs/security.md
 * AA1). */
VIGIL_EXPORT int vigil_course_start_ex(vigil_engine *e, const char *ref, const char *patient, const char *actor,
                                       int new_patient, uint64_t *course_id);
VIGIL_EXPORT int vigil_course_close(vigil_engine *e, uint64_t id, const char *actor, const char *reason);
/* 1 with why when closing course id is a clinician's (docs/safety.md K3):
 * its series is not complete, a session is open, or the patient's last
 * completed session is within the minimum interval. 0 otherwise. */
VIGIL_EXPORT int vigil_course_close_needs_clinician(vigil_engine *e, uint64_t id, char *why, size_t len);
/* The latest due time a missed session of course alert `alert` may be
 * rescheduled to without a clinician (K9b), with why it is the limit; -1
 * when the alert is no course's. */
VIGIL_EXPORT int64_t vigil_course_reschedule_limit(vigil_engine *e, uint64_t alert, char *why, size_t len);
/* Closes a course alert (a missed session, a non-response) with a reason:
 * "rescheduled" (the session is due at due_ms, in the future: missing that
 * raises the alert again) or "stopped" (the course closes too), and why, in
 * words. VIGIL_ESTATE: a visit's alert, or closed already. */
VIGIL_EXPORT int vigil_course_alert_close(vigil_engine *e, uint64_t alert, const char *actor, const char *reason,
                                          const char *why, int64_t due_ms);
/* Records that a discharged session's REMS Patient Monitoring Form was sent
 * (docs/rems.md): by (NULL: actor), at_ms (0: now; not in the future, not
 * before the discharge), method ("portal", "fax", "phone") and the REMS's
 * reference. VIGIL_ENOENT no visit; VIGIL_ESTATE a visit that is no
 * discharged session of a course declaring rems_form, or submitted already;
 * VIGIL_EINVAL a bad field (vigil_engine_errfield names it). */
VIGIL_EXPORT int vigil_visit_rems_submitted(vigil_engine *e, uint64_t visit, const char *actor, const char *by,
                                            int64_t at_ms, const char *method, const char *reference);
/* The same for a form sent knowingly with fields missing (the export's
 * "missing"): incomplete_reason says why, recorded in the event and shown in
 * the export (docs/rems.md). The engine does not check the form's fields:
 * the caller does (POST .../rems/submitted refuses an incomplete form
 * without a reason, 409 form_incomplete). */
VIGIL_EXPORT int vigil_visit_rems_submitted_incomplete(vigil_engine *e, uint64_t visit, const char *actor,
                                                       const char *by, int64_t at_ms, const char *method,
                                                       const char *reference, const char *incomplete_reason);
/* {"course", "session", "visit", "session_started_at", "deadline", "status",
 * "submitted"} of a discharged REMS session's form; NULL (VIGIL_ENOENT) for
 * a visit that files none. */
VIGIL_EXPORT char *vigil_visit_rems_json(vigil_engine *e, uint64_t visit);
/* Records an integration psychotherapy session of course id between its
 * sessions (docs/http.md): by (NULL: actor), at_ms (0: now; not in the
 * future, not before the course started), a note (1-2000 characters).
 * VIGIL_ENOENT no course; VIGIL_ESTATE a closed course; VIGIL_EINVAL a bad
 * field (vigil_engine_errfield names it). */
VIGIL_EXPORT int vigil_course_integration(vigil_engine *e, uint64_t id, const char *actor, const char *by,
                                          int64_t at_ms, const char *note);
/* A nursing note on visit id by actor (note.written): free text of 1-2000
 * characters (line breaks and tabs allowed), on a visit in any state (an
 * addendum after its discharge too). VIGIL_ENOENT no visit; VIGIL_EINVAL a
 * blank or too long note, or one with control characters. */
VIGIL_EXPORT int vigil_visit_note(vigil_engine *e, uint64_t id, const char *actor, const char *note);
/* The course a course alert is of, or 0 (a visit's alert, or none). */
VIGIL_EXPORT uint64_t vigil_alert_course(vigil_engine *e, uint64_t alert);
/* {"patient", "courses": [...]} (docs/http.md); NULL with VIGIL_ENOENT when
 * the patient has no course. */
VIGIL_EXPORT char *vigil_patient_json(vigil_engine *e, const char *patient);
/* The patient's record from a hospital's systems (docs/hl7.md): the last
 * patient.recorded or patient.merged's fields (name, birth_date, sex,
 * identifiers, allergies, source), merged_from (the references merged into
 * it) and merged_into (when it was merged into another), as JSON (malloc'd);
 * NULL with VIGIL_ENOENT when no system has sent one. */
VIGIL_EXPORT char *vigil_patient_record_json(vigil_engine *e, const char *patient);
/* S4 (docs/safety.md): a clinician (actor) confirms for good that the
 * allergy of patient's record whose code or text is allergy, kept because a
 * hospital's message left it out (removed_by), is removed, saying why
 * (reason): it moves to the record's allergies_removed with who, when and
 * why, in a patient.recorded event (actor the clinician, removal_confirmed
 * naming it), and later visits do not raise its alert. VIGIL_ENOENT no record
 * or no such allergy; VIGIL_ESTATE the allergy is on the hospital's list (not
 * removed_by); VIGIL_EINVAL a blank allergy or reason. record (may be NULL):
 * the record as written, as vigil_patient_record_json gives it (malloc'd). */
VIGIL_EXPORT int vigil_patient_allergy_confirm_removal(vigil_engine *e, const char *patient, const char *actor,
                                                       const char *allergy, const char *reason, char **record);
/* The patient of course id, or NULL when there is no such course. */
VIGIL_EXPORT const char *vigil_course_patient(vigil_engine *e, uint64_t id);
/* {"patients": [...]}: each open course whose next session is due before
 * until_ms, or (overdue_only) whose next session is past due and its grace. */
VIGIL_EXPORT char *vigil_patients_due_json(vigil_engine *e, int64_t until_ms, int overdue_only);

/* ---- Queries ------------------------------------------------------------- */

/* Read-only views over a running engine, for the HTTP server and tools.
 * Each returns JSON text (malloc'd; free with vigil_free), or NULL with the
 * reason in vigil_engine_errmsg. They see what the engine holds in memory
 * (inside an open batch that includes what is not yet durable), except
 * vigil_query_events_json, which reads the durable log. docs/http.md shows
 * each shape. */

/* Every loaded protocol version, in load order: id, version, ref, title,
 * sha256, whether "id" alone starts it, phases with their items, params. */
VIGIL_EXPORT char *vigil_query_protocols_json(vigil_engine *e);

typedef struct vigil_visit_filter {
  const char *status;   /* "active" (NULL), "discharged", "aborted", "closed" (either), "all" */
  const char *phase;    /* the current phase's id; NULL: any */
  const char *protocol; /* "id" or "id@version"; NULL: any */
  const char *patient;  /* NULL: any */
  const char *alerts;   /* NULL: any; "active": an alert raised and not acknowledged;
                           "open": an alert still shown (active, acknowledged or resolved) */
  int64_t started_from; /* only visits started at or after this time (ms since the epoch); 0: any */
  uint64_t after;       /* only visits with a greater id (paging) */
  uint32_t limit;       /* 0: 100; at most 1000 */
} vigil_visit_filter;

/* {"visits": [summary...], "next": id or null}: summaries in id order; next
 * is the `after` of the following page (null: this was the last). Listing
 * closed visits reads them back from the store. VIGIL_EINVAL for an unknown
 * status or alerts value. */
VIGIL_EXPORT char *vigil_query_visits_json(vigil_engine *e, const vigil_visit_filter *f);

typedef struct vigil_alert_filter {
  const char *state; /* "active" (NULL): raised, not acknowledged; "open": still shown;
                        "all" (only with visit) */
  uint64_t visit;    /* 0: every visit */
  uint64_t after;    /* only alerts with a greater id */
  uint32_t limit;    /* 0: 100; at most 1000 */
} vigil_alert_filter;

/* {"alerts": [...], "next": id or null}, each alert with its visit and
 * patient. VIGIL_ENOENT for an unknown visit. */
VIGIL_EXPORT char *vigil_query_alerts_json(vigil_engine *e, const vigil_alert_filter *f);

/* The alert log: {"from", "to", "alerts": [...], "next": id or null}, the
 * alerts raised with from_ms <= time < to_ms and an id above after, in every
 * visit (closed ones too), at most limit of them (0: 100; at most 1000) in
 * raise order, each with its raise, every escalation, its acknowledgement
 * (who, when, why) and its resolution, read from the event log; next is the
 * after of the next page (null: none). NULL on failure (vigil_engine_errmsg). */
VIGIL_EXPORT char *vigil_query_alert_log_json(vigil_engine *e, int64_t from_ms, int64_t to_ms, uint64_t after,
                                              uint32_t limit);

/* The visit an alert belongs to (VIGIL_ENOENT if no such alert is known). */
VIGIL_EXPORT int vigil_query_alert_visit(vigil_engine *e, uint64_t alert, uint64_t *visit);

/* Whether a visit exists: 0 with *status "active", "discharged" or
 * "aborted" (status may be NULL), or VIGIL_ENOENT. */
VIGIL_EXPORT int vigil_query_visit_status(vigil_engine *e, uint64_t visit, const char **status);

/* Durable events with seq > after (only visit's when visit != 0), at most
 * limit (0: 100; at most 1000): {"events": [...], "next": the `after` of the
 * following call (the last seq given, or after), "more": whether more are
 * stored already, "last_seq": the newest durable seq}. */
VIGIL_EXPORT char *vigil_query_events_json(vigil_engine *e, uint64_t after, uint64_t visit, uint32_t limit);

/* The newest durable sequence number (0: none yet). */
VIGIL_EXPORT uint64_t vigil_query_last_seq(const vigil_engine *e);

/* What a metrics scrape wants, counted over the visits in memory (every
 * active one is). Alerts by priority: [0] low, [1] medium, [2] high. */
typedef struct vigil_query_counts {
  uint64_t visits_active;
  uint64_t alerts_active[3]; /* raised, not acknowledged */
  uint64_t alerts_open[3];   /* still shown: active, acknowledged or resolved */
  uint64_t last_seq;
} vigil_query_counts;
VIGIL_EXPORT void vigil_query_count(const vigil_engine *e, vigil_query_counts *out);

#ifdef __cplusplus
}
#endif
#endif
