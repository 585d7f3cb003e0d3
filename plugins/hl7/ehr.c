/* ehr.c: vitals and scores out (ehr.h). Each item.recorded of items with
 * numeric fields (a checkpoint's vitals, a score) goes to the EHR as an
 * ORU^R01 (r01.c) with result status F, each item.amended of one as an
 * ORU^R01 with C, at least once, in the log's order, over MLLP
 * (mllp_link.c). The outbox is the event log read from a cursor in the
 * plugin's durable namespace (`ehr/cursor`), moved only when the EHR
 * answers AA or CA; one message in flight. AE, CE (any other answer), no
 * answer within ack_timeout_ms or the connection closed while it waits: a
 * failed attempt, sent again after the backoff with the same MSH-10
 * ("VIGIL-R01-[<site>-]<seq>-<digest>", the same after a restart), on which
 * an EHR deduplicates; after max_attempts of them (K3, as the alarm
 * reporter's H6 and J3) set aside as a refusal is. AR or CR: refused for
 * good, logged at level error, kept as `ehr/refused/<seq>` and in the
 * status, and the next one goes (the same message would be refused again). The fields' titles, LOINC codes and UCUM
 * units come from the protocol through api->visit_json (the mapping the
 * FHIR export reads); the patient's authority, name, birth date and sex from
 * their last patient.recorded in the log (followed as it grows, as the
 * alarm reporter does). A correction names the reading it corrects (K1):
 * OBR-3 the filler number the original went with, OBR-7 and OBX-14 when that
 * reading was observed; the sender follows each open visit's latest reading
 * of each item in the log, as the engine keeps it, to know which. */
#define _GNU_SOURCE
#include "ehr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "hl7.h"
#include "mllp_link.h"
#include "plugin_common/plugin_common.h"
#include "r01.h"

/* What an R01 names of a patient: their last patient.recorded. */
typedef struct ehr_patient {
  char *patient, *authority, *family, *given, *birth_date, *sex;
} ehr_patient;

/* A visit's visit_json, decoded: read once per visit and kept (the last few). */
#define EHR_VISITS 8
typedef struct ehr_visit {
  unsigned long long id;
  json_t *j;
} ehr_visit;

/* K1: an open visit's item, its latest reading (the one observed last, as
 * the engine orders them: a late entry goes before the readings observed
 * after it) and the entry (item.recorded) that recorded it. */
typedef struct ehr_latest {
  unsigned long long visit;
  char *item; /* "phase.item" */
  int64_t at; /* observed, ms */
  uint64_t entry;
} ehr_latest;

/* K1: an amendment not sent yet, and the entry whose reading it corrects. */
typedef struct ehr_amended {
  uint64_t seq, entry;
} ehr_amended;

struct ehr {
  vigil_plugin *p;
  const vigil_api *api;
  char *site;
  mllp_link link; /* the connection, its peer (host, port, MSH-3 to MSH-6, timing) and its backoff */
  int closing;
  uint64_t cursor, learned;
  /* the message at the head of the line */
  int have_head, in_flight;
  unsigned failed; /* K3: the head's failed attempts (an AE, CE..., no answer, the connection closed) */
  uint64_t head_seq;
  char head_type[32], control[160];
  char *head_msg;
  size_t head_len;
  /* the event picked from the log, copied out of events_after's callback */
  uint64_t ev_seq, ev_visit;
  char ev_type[32];
  char *ev_json;
  size_t ev_len;
  ehr_patient *patients;
  size_t n_patients, cap_patients;
  ehr_visit visits[EHR_VISITS];
  size_t next_visit;
  ehr_latest *latest;
  size_t n_latest, cap_latest;
  ehr_amended *amended;
  size_t n_amended, cap_amended;
  unsigned long long sent, accepted, refused, retries, skipped;
  long long down_since_ms;
  char last_error[640], last_refusal[640];
};

#define say(e, level, ...) vigil__plugin_say((e)->api, (e)->p, level, __VA_ARGS__)

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* ---- the patients, from the log ---- */

static ehr_patient *patient_of(ehr *e, const char *patient) {
  for (size_t i = 0; patient && i < e->n_patients; i++)
    if (!strcmp(e->patients[i].patient, patient)) return &e->patients[i];
  return NULL;
}

static void free_patient(ehr_patient *k) {
  free(k->authority), free(k->family), free(k->given), free(k->birth_date), free(k->sex);
}

/* A patient.recorded (and a patient.merged of a survivor vigil kept no
 * record of: it carries the A40's PID): the record's authority and
 * demographics, the last one's. */
static void learn_patient(ehr *e, json_t *d, int merged) {
  const char *patient = json_string_value(json_object_get(d, "patient"));
  if (!patient) return;
  ehr_patient *k = patient_of(e, patient);
  if (k && merged) return; /* the survivor's record is kept as it was (A2) */
  if (!k) {
    ehr_patient *grown = vigil__plugin_grow(e->patients, &e->cap_patients, e->n_patients + 1, sizeof *grown, 64);
    if (grown) e->patients = grown;
    if (e->n_patients >= e->cap_patients || !(e->patients[e->n_patients].patient = strdup(patient))) return;
    k = &e->patients[e->n_patients++];
  } else
    free_patient(k);
  json_t *name = json_object_get(d, "name");
  k->authority = dup_or_empty(json_string_value(json_object_get(d, "patient_authority")));
  k->family = dup_or_empty(json_string_value(json_object_get(name, "family")));
  k->given = dup_or_empty(json_string_value(json_object_get(name, "given")));
  k->birth_date = dup_or_empty(json_string_value(json_object_get(d, "birth_date")));
  k->sex = dup_or_empty(json_string_value(json_object_get(d, "sex")));
}

/* ---- the readings amendments correct, from the log (K1) ---- */

static ehr_latest *latest_of(ehr *e, unsigned long long visit, const char *item) {
  for (size_t i = 0; item && i < e->n_latest; i++)
    if (e->latest[i].visit == visit && !strcmp(e->latest[i].item, item)) return &e->latest[i];
  return NULL;
}

/* An entry's reading of item, observed at `at` and typed at `typed`: the
 * item's latest unless one observed later (or at the same time, for a late
 * entry: a tie is not newer) is there already, as the engine orders them
 * (core/engine/visit.c add_reading). */
static void learn_reading(ehr *e, unsigned long long visit, const char *item, int64_t at, int64_t typed,
                          uint64_t entry) {
  ehr_latest *l = latest_of(e, visit, item);
  if (l && (l->at > at || (l->at == at && at < typed))) return;
  if (!l) {
    ehr_latest *grown = vigil__plugin_grow(e->latest, &e->cap_latest, e->n_latest + 1, sizeof *grown, 64);
    if (grown) e->latest = grown;
    if (e->n_latest >= e->cap_latest || !(e->latest[e->n_latest].item = strdup(item))) return;
    l = &e->latest[e->n_latest++];
    l->visit = visit;
  }
  l->at = at;
  l->entry = entry;
}

/* A visit discharged or aborted is amended no more: its readings go. */
static void forget_visit(ehr *e, unsigned long long visit) {
  for (size_t i = e->n_latest; i-- > 0;)
    if (e->latest[i].visit == visit) {
      free(e->latest[i].item);
      e->latest[i] = e->latest[--e->n_latest];
    }
}

/* An amendment after the cursor: the entry of the reading it corrects, the
 * item's latest when it was amended (amending changes a reading's value,
 * never which reading is the latest). */
static void learn_amendment(ehr *e, const vigil_plugin_event *ev, const char *item) {
  const ehr_latest *l = latest_of(e, (unsigned long long)ev->visit, item);
  if (!l || ev->seq <= e->cursor) return;
  ehr_amended *grown = vigil__plugin_grow(e->amended, &e->cap_amended, e->n_amended + 1, sizeof *grown, 16);
  if (grown) e->amended = grown;
  if (e->n_amended < e->cap_amended) e->amended[e->n_amended++] = (ehr_amended){.seq = ev->seq, .entry = l->entry};
}

/* The entry whose reading the amendment seq corrects, 0 when unknown; the
 * amendments before it are sent (or set aside) and forgotten. */
static uint64_t amended_entry(ehr *e, uint64_t seq) {
  size_t done = 0;
  while (done < e->n_amended && e->amended[done].seq < seq)
    done++;
  memmove(e->amended, e->amended + done, (e->n_amended - done) * sizeof *e->amended);
  e->n_amended -= done;
  return e->n_amended && e->amended[0].seq == seq ? e->amended[0].entry : 0;
}

static void learn_readings(ehr *e, const vigil_plugin_event *ev, json_t *d) {
  const char *phase = json_string_value(json_object_get(d, "phase")), *item;
  json_t *at = json_object_get(d, "observed_at"), *value;
  int64_t observed = json_is_integer(at) ? (int64_t)json_integer_value(at) : ev->time_ms;
  char qid[256];
  json_object_foreach(json_object_get(d, "values"), item, value) {
    (void)value;
    if (phase && (size_t)snprintf(qid, sizeof qid, "%s.%s", phase, item) < sizeof qid)
      learn_reading(e, (unsigned long long)ev->visit, qid, observed, ev->time_ms, ev->seq);
  }
}

static void learn(ehr *e, const vigil_plugin_event *ev) {
  if (ev->seq <= e->learned) return;
  e->learned = ev->seq;
  int recorded = !strcmp(ev->type, "patient.recorded"), merged = !strcmp(ev->type, "patient.merged");
  int entry = !strcmp(ev->type, "item.recorded"), amendment = !strcmp(ev->type, "item.amended");
  if (!strcmp(ev->type, "visit.discharged") || !strcmp(ev->type, "visit.aborted"))
    forget_visit(e, (unsigned long long)ev->visit);
  if (!recorded && !merged && !entry && !amendment) return;
  json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL), *d = json_object_get(j, "data");
  if (entry)
    learn_readings(e, ev, d);
  else if (amendment)
    learn_amendment(e, ev, json_string_value(json_object_get(d, "item")));
  else
    learn_patient(e, d, merged);
  json_decref(j);
}

/* ---- the link ---- */

static void next(ehr *e);

static void publish(ehr *e) {
  e->api->metric_set(e->p, "ehr_link_up", "gauge", "1 when the EHR's MLLP link is up and answers", NULL,
                     e->link.connected && !e->down_since_ms ? 1 : 0);
  e->api->metric_set(e->p, "ehr_backlog", "gauge",
                     "Events after the EHR sender's cursor: an upper bound of the results not yet accepted", NULL,
                     (double)vigil__plugin_backlog(e->api, e->p, e->cursor));
  e->api->metric_set(e->p, "ehr_refused", "counter",
                     "Results set aside: refused by the EHR (AR, CR) or max_attempts failed attempts, this run", NULL,
                     (double)e->refused);
  e->api->metric_set(e->p, "ehr_retries", "counter",
                     "Results sent again after a failed attempt (AE, CE, no answer, the connection closed), this run",
                     NULL, (double)e->retries);
}

/* The link is down: said once an outage, closed, tried again after the
 * backoff; the message in flight goes again then, with its MSH-10. */
static void link_down(ehr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void link_down(ehr *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->last_error, sizeof e->last_error, fmt, ap);
  va_end(ap);
  if (!e->down_since_ms) {
    e->down_since_ms = e->api->now_ms(e->p);
    say(e, VIGIL_PLUGIN_LOG_ERROR, "EHR %s:%d: link down: %s (results wait, none lost)", e->link.peer.host,
        e->link.peer.port, e->last_error);
  }
  e->in_flight = 0;
  vigil__mllp_link_drop(&e->link);
  publish(e);
}

/* The EHR answered, or was connected with nothing to send: the link is up
 * (the backoff starts again; an AE's goes on doubling, as the alarm
 * reporter's). */
static void link_answers(ehr *e) {
  if (!e->down_since_ms) return;
  say(e, VIGIL_PLUGIN_LOG_INFO, "EHR %s:%d: link up again", e->link.peer.host, e->link.peer.port);
  e->down_since_ms = 0;
  e->link.attempts = 0;
}

static int attempt_failed(ehr *e, const char *code, const char *text);

/* The connection failed or was closed: while a result waited for its
 * answer, a failed attempt of it (K3); the link is down. */
static void on_failed(void *ud, int waiting, const char *why) {
  ehr *e = ud;
  if (waiting && e->in_flight) attempt_failed(e, "", "connection closed");
  link_down(e, "%s", why);
}

static void on_no_answer(void *ud) {
  ehr *e = ud;
  if (e->in_flight) attempt_failed(e, "", "no answer");
  link_down(e, "no ACK to %s within %u ms", e->control, e->link.peer.ack_timeout_ms);
}

static void on_connected(void *ud) {
  ehr *e = ud;
  publish(e);
  next(e);
}

static void on_retry(void *ud) {
  ehr *e = ud;
  if (e->closing) return;
  e->in_flight = 0; /* sent again */
  next(e);
}

static void on_closed(void *ud) {
  ehr *e = ud;
  for (size_t i = 0; i < e->n_patients; i++)
    free(e->patients[i].patient), free_patient(&e->patients[i]);
  free(e->patients);
  for (size_t i = 0; i < EHR_VISITS; i++)
    json_decref(e->visits[i].j);
  for (size_t i = 0; i < e->n_latest; i++)
    free(e->latest[i].item);
  free(e->latest), free(e->amended);
  free(e->head_msg), free(e->ev_json);
  free(e->site);
  free(e);
}

static void head_done(ehr *e) {
  e->cursor = e->head_seq;
  vigil__plugin_cursor_save(e->api, e->p, "ehr/cursor", e->cursor);
  free(e->head_msg);
  e->head_msg = NULL;
  e->have_head = e->in_flight = 0;
  e->link.attempts = e->failed = 0;
  publish(e);
}

/* AR or CR (the EHR refused it), or max_attempts failed attempts (K3: code
 * the last answer's MSA-1, empty for no answer or a closed connection, text
 * its MSA-3 or that reason): the result is set aside, kept in the plugin's
 * namespace as ehr/refused/<seq>, said at level error and in the status; the
 * next one goes. */
static void set_aside(ehr *e, const char *code, const char *text) {
  char key[64];
  snprintf(key, sizeof key, "ehr/refused/%llu", (unsigned long long)e->head_seq);
  json_t *said = json_string(text);
  if (!said) text = "(MSA-3 not kept: not UTF-8 text)";
  json_decref(said);
  int refusal = !strcmp(code, "AR") || !strcmp(code, "CR");
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "event", e->head_type, "control_id", e->control, "code", code,
                        "text", text, "attempts", (int)e->failed + refusal, "at", (json_int_t)e->api->now_ms(e->p));
  char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (s) e->api->kv_put(e->p, key, s, strlen(s));
  free(s);
  json_decref(j);
  e->refused++;
  unsigned long long seq = e->head_seq;
  if (refusal) {
    snprintf(e->last_refusal, sizeof e->last_refusal, "%s (%s %llu) refused with %s: %s", e->control, e->head_type, seq,
             code, text);
    say(e, VIGIL_PLUGIN_LOG_ERROR, "EHR refused %s (%s %llu) with %s: %s; not sent again, the next result goes",
        e->control, e->head_type, seq, code, text);
  } else {
    snprintf(e->last_refusal, sizeof e->last_refusal,
             "%s (%s %llu) set aside after %u failed attempts, the last: %s%s%s", e->control, e->head_type, seq,
             e->failed, code, *code ? ": " : "", text);
    if (*code)
      say(e, VIGIL_PLUGIN_LOG_ERROR,
          "EHR answered %s (%s %llu) %u times with %s, the last: %s; set aside (max_attempts), the next result goes",
          e->control, e->head_type, seq, e->failed, code, text);
    else
      say(e, VIGIL_PLUGIN_LOG_ERROR,
          "EHR: %s (%s %llu) failed %u times, the last: %s; set aside (max_attempts), the next result goes", e->control,
          e->head_type, seq, e->failed, text);
  }
  head_done(e);
}

/* K3 (as the alarm reporter's H6, J3): the result in flight failed an
 * attempt (an answer asking for it again, no answer, the connection closed
 * while it waited): counted in retries, and sent again, until max_attempts;
 * then set aside (1), so that one result an EHR chokes on never holds the
 * ones after it. */
static int attempt_failed(ehr *e, const char *code, const char *text) {
  if (!e->have_head) return 0;
  if (++e->failed < e->link.peer.max_attempts) {
    e->retries++;
    return 0;
  }
  set_aside(e, code, text);
  return 1;
}

static int on_ack(void *ud, const char *msg, size_t len) {
  ehr *e = ud;
  hl7_msg m;
  char err[256], code[8], control[160], text[256];
  if (vigil__hl7_parse(&m, msg, len, err, sizeof err) < 0) {
    say(e, VIGIL_PLUGIN_LOG_WARN, "EHR: an answer that does not parse: %s", err);
    return 0;
  }
  long msa = vigil__hl7_find(&m, "MSA", 0);
  vigil__hl7_value(&m, msa < 0 ? 0 : (size_t)msa, 1, 0, 0, 0, code, sizeof code);
  vigil__hl7_value(&m, msa < 0 ? 0 : (size_t)msa, 2, 0, 0, 0, control, sizeof control);
  vigil__hl7_value(&m, msa < 0 ? 0 : (size_t)msa, 3, 0, 0, 0, text, sizeof text);
  vigil__hl7_free(&m);
  if (msa < 0 || !e->in_flight || strcmp(control, e->control)) {
    say(e, VIGIL_PLUGIN_LOG_WARN, "EHR: an answer to '%s', not to the message in flight '%s'", control,
        e->in_flight ? e->control : "(none)");
    return 0;
  }
  vigil__mllp_link_answered(&e->link);
  link_answers(e);
  if (!strcmp(code, "AA") || !strcmp(code, "CA")) {
    e->accepted++;
    head_done(e);
    next(e);
  } else if (!strcmp(code, "AR") || !strcmp(code, "CR")) {
    set_aside(e, code, text);
    next(e);
  } else if (attempt_failed(e, code, text)) { /* AE, CE or anything else, max_attempts times (K3) */
    next(e);
  } else { /* AE, CE or anything else: the same message again, after the backoff */
    e->link.attempts++;
    snprintf(e->last_error, sizeof e->last_error, "%s answered %s: %s", e->control, code, text);
    say(e, VIGIL_PLUGIN_LOG_WARN, "EHR: %s; sent again in %u ms", e->last_error, vigil__mllp_link_backoff(&e->link));
    vigil__mllp_link_retry_later(&e->link);
  }
  publish(e);
  return 0;
}

static const mllp_link_ops link_ops = {.connected = on_connected,
                                       .failed = on_failed,
                                       .frame = on_ack,
                                       .retry = on_retry,
                                       .no_answer = on_no_answer,
                                       .closed = on_closed};

/* ---- the outbox ---- */

static int sent_out(const char *type) { return !strcmp(type, "item.recorded") || !strcmp(type, "item.amended"); }

/* events_after's callback: the first event after the cursor that may be
 * sent, copied out (visit_json is not for this callback). */
static int pick(void *ud, const vigil_plugin_event *ev) {
  ehr *e = ud;
  if (!sent_out(ev->type)) {
    e->cursor = ev->seq; /* nothing to send for it */
    return 0;
  }
  free(e->ev_json);
  e->ev_json = malloc(ev->json_len ? ev->json_len : 1);
  if (!e->ev_json) return 1;
  memcpy(e->ev_json, ev->json, ev->json_len);
  e->ev_len = ev->json_len;
  e->ev_seq = ev->seq;
  e->ev_visit = ev->visit;
  snprintf(e->ev_type, sizeof e->ev_type, "%s", ev->type);
  return 1;
}

/* The visit as visit_json gives it, kept for the next readings of it. */
static json_t *visit_of(ehr *e, unsigned long long id) {
  for (size_t i = 0; i < EHR_VISITS; i++)
    if (e->visits[i].j && e->visits[i].id == id) return e->visits[i].j;
  char *s = e->api->visit_json(e->p, id);
  json_t *j = s ? json_loads(s, 0, NULL) : NULL;
  e->api->free(s);
  if (!j) return NULL;
  ehr_visit *slot = &e->visits[e->next_visit++ % EHR_VISITS];
  json_decref(slot->j);
  slot->id = id;
  slot->j = j;
  return j;
}

/* The item "phase.item" (or item of phase) of the visit's protocol. */
static json_t *item_of(json_t *visit, const char *phase, const char *item) {
  json_t *ph, *it;
  size_t i, k;
  json_array_foreach(json_object_get(visit, "phases"), i, ph) {
    if (strcmp(json_string_value(json_object_get(ph, "id")) ? json_string_value(json_object_get(ph, "id")) : "", phase))
      continue;
    json_array_foreach(json_object_get(ph, "items"), k, it) {
      const char *id = json_string_value(json_object_get(it, "id"));
      if (id && !strcmp(id, item)) return it;
    }
  }
  return NULL;
}

/* "2026-01-05T08:30:00.000Z" as HL7's 20260105083000+0000 */
static void hl7_time_ms(long long ms, char out[24]) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 24, "%Y%m%d%H%M%S+0000", &tm);
}

static void hl7_time_iso(const char *iso, char out[24]) {
  char d[16];
  size_t k = 0;
  for (const char *s = iso ? iso : ""; *s && *s != '.' && k < 14; s++)
    if (*s >= '0' && *s <= '9') d[k++] = *s;
  d[k] = '\0';
  snprintf(out, 24, "%s+0000", d);
}

/* One value's text: a number as recorded, a finding's text, a check's
 * yes or no. */
static int value_text(json_t *v, char *out, size_t n) {
  if (json_is_integer(v))
    snprintf(out, n, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    snprintf(out, n, "%.15g", json_real_value(v));
  else if (json_is_string(v))
    snprintf(out, n, "%s", json_string_value(v));
  else if (json_is_boolean(v))
    snprintf(out, n, "%s", json_is_true(v) ? "yes" : "no");
  else
    return -1;
  return 0;
}

#define EHR_VALUES 32
#define EHR_READINGS 16

typedef struct reading_buf {
  r01_value values[EHR_VALUES];
  char texts[EHR_VALUES][64];
  char titles[EHR_VALUES][160]; /* K2: a field's title made of its item's */
} reading_buf;

/* K2: a field's title (OBX-3.2, the text of its code): its own; else a
 * number item's one field's, the item's; a score's total, Total; another
 * field of an item, "<the item's title>: <its name>". */
static const char *title_of(json_t *spec, json_t *field, const char *name, char out[160]) {
  const char *own = json_string_value(json_object_get(field, "title"));
  const char *item = json_string_value(json_object_get(spec, "title"));
  if (own && *own) return own;
  if (!strcmp(name, "total")) return "Total";
  if (json_array_size(json_object_get(spec, "fields")) == 1 && item && *item) return item;
  snprintf(out, 160, "%s: %s", item && *item ? item : json_string_value(json_object_get(spec, "id")), name);
  return out;
}

/* The reading of one item (its spec in the visit, its value as recorded):
 * 1 when it has a numeric field with a value, else 0. */
static int reading_of(json_t *spec, json_t *value, r01_reading *r, reading_buf *b) {
  json_t *f;
  size_t i;
  int numeric = 0;
  r->values = b->values;
  r->n_values = 0;
  r->item_title = json_string_value(json_object_get(spec, "title"));
  json_t *fields = json_object_get(spec, "fields");
  int has_total = 0;
  json_array_foreach(fields, i, f) {
    const char *name = json_string_value(json_object_get(f, "name"));
    has_total |= name && !strcmp(name, "total");
    /* a number item's value is the number itself, its one field's */
    json_t *v = json_is_object(value)          ? json_object_get(value, name ? name : "")
                : json_array_size(fields) == 1 ? value
                                               : NULL;
    if (!name || !v || r->n_values >= EHR_VALUES - 1 || value_text(v, b->texts[r->n_values], 64) < 0) continue;
    const char *kind = json_string_value(json_object_get(f, "kind"));
    r01_value *o = &b->values[r->n_values];
    o->name = name;
    o->title = title_of(spec, f, name, b->titles[r->n_values]);
    o->loinc = json_string_value(json_object_get(f, "loinc"));
    o->unit = json_string_value(json_object_get(f, "unit"));
    o->value = b->texts[r->n_values];
    o->numeric = kind && !strcmp(kind, "number") && json_is_number(v);
    numeric |= o->numeric;
    r->n_values++;
  }
  json_t *total = json_is_object(value) ? json_object_get(value, "total") : NULL;
  if (numeric && !has_total && json_is_number(total)) { /* a score's total, a local code */
    r01_value *o = &b->values[r->n_values];
    value_text(total, b->texts[r->n_values], 64);
    *o = (r01_value){.name = "total", .title = "Total", .value = b->texts[r->n_values], .numeric = 1};
    r->n_values++;
  }
  return numeric;
}

/* When the event's reading was observed, as HL7's DTM: a late entry's
 * observed_at, else the event's time. */
static void observed_of(json_t *event, char out[24]) {
  json_t *at = json_object_get(json_object_get(event, "data"), "observed_at");
  if (json_is_integer(at))
    hl7_time_ms((long long)json_integer_value(at), out);
  else
    hl7_time_iso(json_string_value(json_object_get(event, "time")), out);
}

/* The readings of an entry's data ({phase, values: {item: value}}) that are
 * sent: r[k] of the item items[k] ("phase.item"), their number. */
static size_t entry_readings(json_t *visit, json_t *d, r01_reading *r, reading_buf *b, char items[][160]) {
  const char *phase = json_string_value(json_object_get(d, "phase"));
  const char *item;
  json_t *value;
  size_t n = 0;
  json_object_foreach(json_object_get(d, "values"), item, value) {
    json_t *spec = n < EHR_READINGS && phase ? item_of(visit, phase, item) : NULL;
    if (!spec || !reading_of(spec, value, &r[n], &b[n])) continue;
    snprintf(items[n], sizeof items[n], "%s.%s", phase, item);
    n++;
  }
  return n;
}

static int first_event(void *ud, const vigil_plugin_event *ev) {
  json_t **j = ud;
  *j = json_loadb(ev->json, ev->json_len, 0, NULL);
  return 1;
}

/* The event seq as the log keeps it (a new reference), or NULL. */
static json_t *event_at(ehr *e, uint64_t seq) {
  json_t *j = NULL;
  e->api->events_after(e->p, seq - 1, first_event, &j);
  if (j && (uint64_t)json_integer_value(json_object_get(j, "seq")) != seq) json_decref(j), j = NULL;
  return j;
}

/* K1: the correction names the reading it corrects, the entry's: its
 * filler number (*seq, *part: the k-th of the entry's readings sent, 0 the
 * one) and when it was observed; left as they are when the entry is not
 * known (the correction then goes with its own seq and time, logged). r, b, items:
 * room for the entry's readings (overwritten). */
static void corrected(ehr *e, json_t *visit, const char *qid, uint64_t *seq, unsigned *part, char observed[24],
                      r01_reading *r, reading_buf *b, char items[][160]) {
  uint64_t entry = amended_entry(e, e->ev_seq);
  json_t *j = entry ? event_at(e, entry) : NULL;
  if (!j) {
    say(e, VIGIL_PLUGIN_LOG_WARN,
        "EHR: event %llu (item.amended of %s): the reading it corrects is not known; sent "
        "with its own seq and time",
        (unsigned long long)e->ev_seq, qid);
    return;
  }
  size_t n = entry_readings(visit, json_object_get(j, "data"), r, b, items);
  *seq = entry;
  *part = 0;
  for (size_t k = 0; k < n; k++)
    if (!strcmp(items[k], qid)) *part = n > 1 ? (unsigned)(k + 1) : 0;
  observed_of(j, observed);
  json_decref(j);
}

/* The picked event as an R01 in head_msg: 1 made, 0 nothing to send for it
 * (no item with a numeric field), -1 not now (memory, the visit unread). */
static int build(ehr *e) {
  json_t *j = json_loadb(e->ev_json, e->ev_len, 0, NULL), *d = json_object_get(j, "data");
  json_t *visit = j ? visit_of(e, e->ev_visit) : NULL;
  if (!visit) { /* a visit vigil does not know has no codes to send */
    if (j)
      say(e, VIGIL_PLUGIN_LOG_WARN, "EHR: event %llu (%s): no visit %llu to read its fields' codes from; not sent",
          (unsigned long long)e->ev_seq, e->ev_type, (unsigned long long)e->ev_visit);
    json_decref(j);
    return j ? 0 : -1;
  }
  int amended = !strcmp(e->ev_type, "item.amended");
  static r01_reading readings[EHR_READINGS];
  static reading_buf bufs[EHR_READINGS];
  static char items[EHR_READINGS][160];
  size_t n = 0;
  char observed[24], now[24];
  observed_of(j, observed);
  hl7_time_ms((long long)e->api->now_ms(e->p), now);
  uint64_t seq = e->ev_seq; /* OBR-3: the entry's */
  unsigned part = 0;
  const char *patient = json_string_value(json_object_get(visit, "patient"));
  const ehr_patient *who = patient_of(e, patient);
  json_t *loc = json_object_get(visit, "location");
  const char *location = json_is_string(loc) ? json_string_value(loc) : json_string_value(json_object_get(loc, "name"));
  if (amended) { /* {item: "phase.item", value} */
    const char *qid = json_string_value(json_object_get(d, "item"));
    const char *dot = qid ? strchr(qid, '.') : NULL;
    if (dot && (size_t)(dot - qid) < sizeof items[0]) {
      char phase[160];
      snprintf(phase, sizeof phase, "%.*s", (int)(dot - qid), qid);
      json_t *spec = item_of(visit, phase, dot + 1);
      if (spec && json_object_get(d, "value")) corrected(e, visit, qid, &seq, &part, observed, readings, bufs, items);
      if (spec && reading_of(spec, json_object_get(d, "value"), &readings[0], &bufs[0])) {
        snprintf(items[0], sizeof items[0], "%s", qid);
        n = 1;
      }
    }
  } else /* {phase, values: {item: value}} */
    n = entry_readings(visit, d, readings, bufs, items);
  for (size_t k = 0; k < n; k++) {
    r01_reading *r = &readings[k];
    r->patient = patient;
    r->authority = who ? who->authority : NULL;
    r->family = who ? who->family : NULL;
    r->given = who ? who->given : NULL;
    r->birth_date = who ? who->birth_date : NULL;
    r->sex = who ? who->sex : NULL;
    r->location = location;
    r->visit = (unsigned long long)e->ev_visit;
    r->item = items[k];
    r->seq = (unsigned long long)seq;
    r->part = amended ? part : n > 1 ? (unsigned)(k + 1) : 0;
    r->observed = observed;
    r->corrected = amended;
  }
  int made = 0;
  if (n) {
    snprintf(e->control, sizeof e->control, "VIGIL-R01-%.64s%s%llu-%08x", e->site ? e->site : "", e->site ? "-" : "",
             (unsigned long long)e->ev_seq, vigil__plugin_digest32(e->ev_json, e->ev_len));
    size_t len;
    char *msg = vigil__hl7_r01_many(readings, n, e->link.peer.app, e->link.peer.facility, e->link.peer.to_app,
                                    e->link.peer.to_facility, e->control, now, &len);
    free(e->head_msg);
    e->head_msg = msg ? vigil__mllp_wrap(msg, len, &e->head_len) : NULL;
    free(msg);
    made = e->head_msg ? 1 : -1;
  }
  json_decref(j);
  return made;
}

static void next(ehr *e) {
  if (e->closing || e->in_flight) return;
  uint64_t was = e->cursor;
  while (!e->have_head) {
    e->ev_seq = 0;
    e->api->events_after(e->p, e->cursor, pick, e);
    if (!e->ev_seq) { /* nothing to send: the cursor past what was read */
      if (e->cursor != was) vigil__plugin_cursor_save(e->api, e->p, "ehr/cursor", e->cursor);
      break;
    }
    int made = build(e);
    if (made < 0) return; /* tried again at the next kick */
    if (made == 0) {      /* no numeric item in it */
      e->cursor = e->ev_seq;
      e->skipped++;
      continue;
    }
    e->have_head = 1;
    e->head_seq = e->ev_seq;
    snprintf(e->head_type, sizeof e->head_type, "%s", e->ev_type);
    if (e->cursor != was) vigil__plugin_cursor_save(e->api, e->p, "ehr/cursor", e->cursor);
  }
  if (!e->have_head) {
    if (e->link.connected) link_answers(e);
    return;
  }
  int rc = vigil__mllp_link_offer(&e->link, e->head_msg, e->head_len, e->link.peer.ack_timeout_ms);
  if (rc == -2) link_down(e, "cannot write");
  e->in_flight = rc > 0;
  e->sent += rc > 0;
}

static int on_event(void *ud, const vigil_plugin_event *ev) {
  ehr *e = ud;
  learn(e, ev);
  if (sent_out(ev->type)) next(e);
  publish(e);
  return 0;
}

static int learn_all(void *ud, const vigil_plugin_event *ev) {
  learn(ud, ev);
  return 0;
}

/* ---- settings and life ---- */

int vigil__hl7_ehr_start(vigil_plugin *p, const vigil_api *api, json_t *s, ehr **out, char **err) {
  *out = NULL;
  mllp_peer peer;
  int rc = vigil__mllp_peer_read(s, "plugins.hl7.ehr", "the EHR's MLLP port", NULL, &peer, err);
  if (rc < 0) return rc;
  if (api->abi_minor < 7 || api->size < offsetof(vigil_api, visit_json) + sizeof api->visit_json)
    rc = vigil__plugin_refuse(err, "plugins.hl7.ehr: this vigil is older than plugin ABI 1.7 (visit_json), which "
                                   "the EHR sender needs for the fields' codes and units");
  ehr *e = rc < 0 ? NULL : calloc(1, sizeof *e);
  if (!e) {
    vigil__mllp_peer_free(&peer);
    return rc < 0 ? rc : -1;
  }
  e->p = p;
  e->api = api;
  const char *site =
      api->abi_minor >= 5 && api->size >= offsetof(vigil_api, site) + sizeof api->site ? api->site(p) : NULL;
  e->site = site ? strdup(site) : NULL;
  vigil__mllp_link_init(&e->link, api->loop(p), &peer, "the EHR", &link_ops, e);
  *out = e;
  /* the cursor: a new site starts now */
  e->cursor = vigil__plugin_cursor_open(api, p, "ehr/cursor", api->last_seq(p));
  /* the patients' records: from the whole log once, then as it grows */
  if ((rc = api->events_after(p, 0, learn_all, e)) < 0) return rc;
  if ((rc = api->subscribe(p, "item.*", on_event, e)) < 0) return rc;
  if ((rc = api->subscribe(p, "patient.*", on_event, e)) < 0) return rc;
  if ((rc = api->subscribe(p, "visit.*", on_event, e)) < 0) return rc; /* K1: a visit's end */
  say(e, VIGIL_PLUGIN_LOG_INFO, "vitals and scores out: ORU^R01 to the EHR at %s:%d, from event %llu",
      e->link.peer.host, e->link.peer.port, (unsigned long long)e->cursor);
  publish(e);
  vigil__mllp_link_connect(&e->link);
  return 0;
}

void vigil__hl7_ehr_close(ehr *e) {
  if (!e || e->closing) return;
  e->closing = 1;
  vigil__mllp_link_close(&e->link);
}

json_t *vigil__hl7_ehr_status(ehr *e) {
  return json_pack("{s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "host", e->link.peer.host, "port",
                   e->link.peer.port, "link", e->link.connected && !e->down_since_ms ? "up" : "down", "down_since_ms",
                   (json_int_t)e->down_since_ms, "sent", (json_int_t)e->sent, "accepted", (json_int_t)e->accepted,
                   "refused", (json_int_t)e->refused, "retries", (json_int_t)e->retries, "cursor",
                   (json_int_t)e->cursor, "backlog", (json_int_t)vigil__plugin_backlog(e->api, e->p, e->cursor),
                   "last_error", e->last_error, "last_refusal", e->last_refusal);
}
