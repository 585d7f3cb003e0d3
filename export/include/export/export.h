/* export.h: a visit's record in the formats others file it in: a FHIR R4
 * Bundle (fhir.c) and the data of the Spravato REMS Patient Monitoring Form
 * (rems.c).
 *
 * Exporters are clients of the engine's public API (include/vigil/vigil.h):
 * they read the visit's state (vigil_visit_json), its durable events
 * (vigil_query_events_json) and the protocol's description
 * (vigil_query_protocols_json), never the store itself. Each returns 0 with
 * malloc'd text in *out (free with free()), or a negative VIGIL_E* code with
 * a sentence in err: VIGIL_ENOENT for an unknown visit, VIGIL_EPROTOCOL when
 * the visit's protocol does not record what the export needs. */
#ifndef VIGIL_EXPORT_H
#define VIGIL_EXPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/vigil.h"

/* The FHIR R4 Bundle (type "collection") of one visit, as JSON; docs/fhir.md
 * says what goes where. */
int vigil__export_fhir(vigil_engine *e, uint64_t visit, char **out, char *err, size_t errlen);

/* The same in two steps, so that a server builds the Bundle off its loop
 * (docs/security.md AQ6): the snapshot reads from the engine what the Bundle
 * needs (on the engine's thread: the engine is not thread-safe) and owns it
 * alone; the build reads the snapshot only, never the engine, so it runs on
 * any thread. Errors as vigil__export_fhir's. */
typedef struct fhir_snapshot fhir_snapshot;
int vigil__export_fhir_snapshot(vigil_engine *e, uint64_t visit, fhir_snapshot **out, char *err, size_t errlen);
int vigil__export_fhir_build(const fhir_snapshot *s, char **out, char *err, size_t errlen);
void vigil__export_fhir_snapshot_free(fhir_snapshot *s);
/* The snapshot's small part only (docs/security.md AT3): the visit's state
 * and protocol, taken on the engine's thread, and in *upto the engine's
 * durable seq at that moment; its events and the patient's record are read
 * after it, on any thread, from the log up to *upto (a SQLite store's file
 * read on a connection of its own: store.h vigil__sqlite_read_rows), each
 * row given to vigil__export_fhir_snapshot_row: first the visit's events in
 * order, then the patient.recorded and patient.merged events. So the Bundle
 * is the visit as it was at *upto, whatever is recorded meanwhile. */
int vigil__export_fhir_snapshot_head(vigil_engine *e, uint64_t visit, fhir_snapshot **out, uint64_t *upto, char *err,
                                     size_t errlen);
/* One row of the log (its canonical JSON): 0, or VIGIL_ENOMEM/VIGIL_EIO
 * when it cannot be read. */
int vigil__export_fhir_snapshot_row(fhir_snapshot *s, uint64_t seq, const char *json, size_t len);
/* The visit the snapshot is of. */
uint64_t vigil__export_fhir_snapshot_visit(const fhir_snapshot *s);

/* A patient's treatment course as a FHIR R4 Bundle (type "collection"):
 * EpisodeOfCare, CarePlan, an Encounter per session, the PHQ-9 totals as
 * Observations, each session's REMS form (course_fhir.c); VIGIL_ENOENT for
 * an unknown course. docs/fhir.md says what goes where. */
int vigil__export_course_fhir(vigil_engine *e, uint64_t course, char **out, char *err, size_t errlen);

/* The REMS Patient Monitoring Form data of one esketamine session: a JSON
 * object, or (csv != 0) a CSV header line and one row (RFC 4180, CRLF);
 * docs/rems.md names each field and the protocol item it comes from. */
int vigil__export_rems(vigil_engine *e, uint64_t visit, int csv, char **out, char *err, size_t errlen);

/* ---- shared by the exporters (visit_record.c) ----------------------------- */

/* Everything an exporter reads about one visit, as parsed JSON. */
typedef struct visit_record {
  json_t *visit;    /* vigil_visit_json */
  json_t *events;   /* array: the visit's durable events, in order */
  json_t *protocol; /* the protocol's entry in vigil_query_protocols_json */
} visit_record;

int vigil__visit_record_load(vigil_engine *e, uint64_t visit, visit_record *r, char *err, size_t errlen);
/* The same without the events (r->events an empty array), for a reader
 * that reads them from the log itself: the visit's state and protocol. */
int vigil__visit_record_load_head(vigil_engine *e, uint64_t visit, visit_record *r, char *err, size_t errlen);
void vigil__visit_record_free(visit_record *r);

/* The item "phase.item" in r->visit (NULL if the protocol has none). */
json_t *vigil__visit_record_item(const visit_record *r, const char *qid);

/* The time of the first event of `type` whose data field `key` equals
 * `value` (key NULL: any), as the event's ISO text; NULL if none. */
const char *vigil__visit_record_event_time(const visit_record *r, const char *type, const char *key, const char *value);

/* Of the entries (objects in the order entered, each with its observed time
 * "t" in ms and "late": true for a late entry) whose string member `key` is
 * `value`, the one the engine holds as the latest, which an amendment
 * replaces the value of: the one observed last; of two observed at the same
 * time the one entered first, unless the second is no late entry
 * (core/engine/visit.c add_reading). NULL if none. */
json_t *vigil__export_latest_observed(json_t *entries, const char *key, const char *value);

/* "urn:uuid:..." in url and its bare id, named by role within seed: the
 * name-based UUIDs of the Bundles' resources (fhir.c). */
void vigil__export_uuid(const char *seed, const char *role, char url[64], char id[40]);

/* o's string member key, or "" when absent or not a string. */
const char *vigil__export_str(json_t *o, const char *key);

/* Milliseconds since the epoch of an ISO UTC time "2026-01-05T08:00:00.000Z";
 * -1 if it is not one. */
int64_t vigil__export_parse_time(const char *iso);

#endif
