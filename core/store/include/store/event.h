/* event.h: the immutable facts a visit is made of.
 *
 * An event's data is a record (value.h) whose shape each type documents in
 * docs/events.md. A visit's state is the fold of its events (visit.c); the
 * event log is also the audit trail and the integration feed.
 */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include <stdint.h>

#include "base/buf.h"
#include "base/value.h"

#define VIGIL_EVENT_TYPES(X)                                                                                           \
  X(VISIT_STARTED, "visit.started")                                                                                    \
  X(PHASE_ENTERED, "phase.entered")                                                                                    \
  X(PHASE_MINIMUM_REACHED, "phase.minimum_reached")                                                                    \
  X(ITEM_RECORDED, "item.recorded")                                                                                    \
  X(ITEM_AMENDED, "item.amended")                                                                                      \
  X(ITEM_SKIPPED, "item.skipped")                                                                                      \
  X(ITEM_OVERDUE, "item.overdue")                                                                                      \
  X(ITEM_NOT_APPLICABLE, "item.not_applicable")                                                                        \
  X(GATE_BLOCKED, "gate.blocked")                                                                                      \
  X(GATE_OVERRIDDEN, "gate.overridden")                                                                                \
  X(ALERT_RAISED, "alert.raised")                                                                                      \
  X(ALERT_ACKNOWLEDGED, "alert.acknowledged")                                                                          \
  X(ALERT_ESCALATED, "alert.escalated")                                                                                \
  X(ALERT_RESOLVED, "alert.resolved")                                                                                  \
  X(BLOCK_SET, "block.set")                                                                                            \
  X(BLOCK_CLEARED, "block.cleared")                                                                                    \
  X(NOTE_ADDED, "note.added")                                                                                          \
  X(NOTE_WRITTEN, "note.written")                                                                                      \
  X(VISIT_DISCHARGED, "visit.discharged")                                                                              \
  X(VISIT_ABORTED, "visit.aborted")                                                                                    \
  X(ENGINE_STARTED, "engine.started")                                                                                  \
  X(SESSION_STARTED, "session.started")                                                                                \
  X(SESSION_ENDED, "session.ended")                                                                                    \
  X(AUTH_FAILED, "auth.failed")                                                                                        \
  X(USER_CREATED, "user.created")                                                                                      \
  X(USER_CHANGED, "user.changed")                                                                                      \
  X(PROTOCOL_UPLOADED, "protocol.uploaded")                                                                            \
  X(PROTOCOL_APPROVED, "protocol.approved")                                                                            \
  X(SIGNATURE_VOIDED, "signature.voided")                                                                              \
  X(COURSE_STARTED, "course.started")                                                                                  \
  X(COURSE_SESSION_ADDED, "course.session_added")                                                                      \
  X(COURSE_MEASURED, "course.measured")                                                                                \
  X(COURSE_SESSION_ENDED, "course.session_ended")                                                                      \
  X(COURSE_REMS_SUBMITTED, "course.rems_submitted")                                                                    \
  X(COURSE_INTEGRATION, "course.integration")                                                                          \
  X(COURSE_CLOSED, "course.closed")                                                                                    \
  X(PATIENT_RECORDED, "patient.recorded")                                                                              \
  X(PATIENT_MERGED, "patient.merged")                                                                                  \
  X(CLOCK_ADVANCED, "clock.advanced")                                                                                  \
  X(ALERT_REPORTED, "alert.reported")

typedef enum event_type {
#define VIGIL_EVENT_ENUM_(name, str) EV_##name,
  VIGIL_EVENT_TYPES(VIGIL_EVENT_ENUM_)
#undef VIGIL_EVENT_ENUM_
      EV_COUNT
} event_type;

/* A write of the store's key-value table that belongs to an event (a user's
 * row with a user.created, a session's with session.started): the store
 * makes it in the event's own transaction, so neither is durable without the
 * other (docs/security.md T6). value NULL deletes the key. A list, owned by
 * the event that carries it; not part of the event's JSON nor of its hash. */
typedef struct store_kv_write {
  struct store_kv_write *next;
  char *ns, *key;
  void *value; /* NULL: delete */
  size_t len;
  /* A new key (a user's creation): the store refuses the whole transaction
   * with VIGIL_EEXIST when ns/key is there already, in the same transaction
   * as its check, so that two nodes creating one name cannot both succeed. */
  int create;
} store_kv_write;

struct vigil_event {
  uint64_t seq;
  int64_t time; /* ms since epoch, UTC */
  uint64_t visit;
  const char *actor; /* interned */
  val data;          /* a record */
  uint16_t type;
  store_kv_write *kv; /* written with the event (NULL: none) */
  /* Its canonical JSON (vigil__event_to_json), built once by the event's
   * owner (vigil__event_json_build: a database's append, the journal before
   * it publishes the event to subscribers) and kept: the row the store
   * hashes, and the bytes the event stream and the plugins are handed. A
   * reader, which holds the event const, never writes it
   * (vigil__event_json_read). NULL: not built. */
  char *json;
  size_t json_len;
  /* The event itself, writable, while its owner publishes it (the journal
   * lends it for that time, NULL otherwise): the first reader that wants the
   * JSON builds it through this once for every later reader, so an event no
   * subscriber reads as JSON is never serialised (issue 16: it was 27 % of
   * an in-memory run's instructions). */
  struct vigil_event *lent;
};

/* A new write of ns/key (value NULL: a deletion), appended to *list in
 * order; 0 or VIGIL_ENOMEM (the list unchanged). */
int vigil__kv_write_add(store_kv_write **list, const char *ns, const char *key, const void *value, size_t len);
void vigil__kv_writes_free(store_kv_write *w);
/* The sentence of a create write refused because its key exists. */
int vigil__kv_exists_fail(const store_kv_write *w, char *err, size_t errlen);

const char *vigil__event_type_name(event_type t);
/* -1 if s names no type. */
int vigil__event_type_parse(const char *s);
/* Whether ev ends its visit for recovery (the store's status 'closed'): a
 * discharge, an abort that leaves no active alert (`alerts`, G3 in
 * docs/safety.md), or the acknowledgement of an aborted visit's last active
 * alert (`alerts_left` 0). An aborted visit with active alerts is folded at
 * start, for its alerts to escalate until acknowledged. */
int vigil__event_ends_visit(const struct vigil_event *ev);
/* The canonical JSON of an event: the store keeps it and hashes it. */
void vigil__event_to_json(buf *b, const struct vigil_event *ev);
/* The event's canonical JSON built and kept with it (ev->json), by the one
 * that owns the event (a store's append, the journal): 0, or VIGIL_ENOMEM
 * (nothing kept). Built already: 0 at once. */
int vigil__event_json_build(struct vigil_event *ev);
/* The event's canonical JSON for a reader, who holds it const: the bytes
 * kept with it (*copy NULL); built and kept now while its owner lends it
 * (ev->lent); else a copy made now (in *copy, which the reader frees). len (may be NULL) its length. NULL when memory
 * ran out. */
const char *vigil__event_json_read(const struct vigil_event *ev, size_t *len, char **copy);
/* Releases what an event holds (its data, its key-value writes, its JSON),
 * not the event itself. */
void vigil__event_clear(struct vigil_event *ev);
/* An event from a stored row (its data parsed from body). Returns 0, or -1
 * with a reason in err (VIGIL_ENOMEM when memory ran out: the row may be
 * fine). The caller releases ev->data. */
int vigil__event_from_row(struct vigil_event *ev, uint64_t seq, int64_t time, uint64_t visit, const char *type,
                          const char *body, char *err, size_t errlen);
/* A stored row read (vigil__event_from_row) and handed to fn(ud, ev), the
 * one way both stores' scans read their rows: 0 to go on, 1 when fn asked
 * to stop, VIGIL_ENOMEM or VIGIL_ECORRUPT with a reason in err. */
int vigil__event_row_deliver(uint64_t seq, int64_t time, uint64_t visit, const char *type, const char *body,
                             int (*fn)(void *ud, const struct vigil_event *ev), void *ud, char *err, size_t errlen);

#endif
