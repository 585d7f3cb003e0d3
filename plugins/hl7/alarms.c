/* alarms.c: alarms out (alarms.h). Each alert's raise, escalation,
 * acknowledgement and resolution is sent to the site's alarm manager as a
 * PCD-04 ORU^R40 (r40.c), at least once, in order, from the event log: the
 * outbox is the log itself read from a cursor kept in the plugin's durable
 * namespace, moved only when the manager has acknowledged (AA or CA) the
 * message; after a restart the message in flight is sent again with the same
 * control id (MSH-10 "VIGIL-[<site>-]<seq>-<digest>": control_id), which is
 * what a manager deduplicates on. Each acknowledgement is recorded in the plugin's namespace
 * ("ack/<seq>") and counted in the status. A failed attempt (an AE, no
 * answer within ack_timeout_ms, the connection closed while the report
 * waits for its answer) is retried with backoff, at most max_attempts
 * times in all (H6, J3: a manager that answers AE for ever, never answers
 * one report or drops the connection on it would hold every later alarm
 * back), then recorded as refused as AR is; AR is recorded as refused,
 * logged, and the next alert goes. A link that is down
 * (no connection, no ACK within ack_timeout_ms, TCP keep-alive probes lost)
 * is logged at level error, shown in the status and in the gauge
 * vigil_plugin_hl7_alarm_link_up, and retried with backoff. */
#define _GNU_SOURCE
#include "alarms.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "hl7.h"
#include "mllp_link.h"
#include "plugin_common/plugin_common.h"
#include "r40.h"

typedef struct known_visit {
  unsigned long long visit;
  char *patient, *location;
} known_visit;

typedef struct known_alert {
  unsigned long long alert;
  unsigned raised_digest; /* J2: of its alert.raised as the log keeps it (alarm_id) */
  char *patient, *location, *message, *priority, *rule;
  uint64_t acked_seq; /* J4: the seq of its alert.acknowledged, 0 before: its end stays acknowledged */
  /* J4: the vital sign its alert.raised names (`observed`), obs_field NULL when none */
  char *obs_field, *obs_units;
  double reading, low, high;
  int has_low, has_high;
} known_alert;

/* J4: what the reports name of a patient, from their last patient.recorded. */
typedef struct known_patient {
  char *patient, *authority, *family, *given;
} known_patient;

struct alarms {
  vigil_plugin *p;
  const vigil_api *api;
  uv_loop_t *loop;
  unsigned link_alert_after_ms; /* H7: how long the link may be down before the error that says so */
  mllp_link link;               /* the connection, its peer and its backoff (mllp_link.c) */
  int closing, handles;
  uv_timer_t alert;
  int link_alerted; /* H7: the "unreachable since" error said for this outage */
  int unanswered;   /* J3: a report got no answer since the last answer: up again only at an answer (H7) */
  uint64_t cursor, learned;
  /* the message at the head of the line */
  int have_head, in_flight;
  uint64_t head_seq;
  unsigned long long head_alert, head_visit;
  char head_type[32], control[128];
  char *site; /* a cluster node's site (plugin ABI 1.5), NULL on a single server: part of each MSH-10 */
  char *head_msg;
  size_t head_len;
  unsigned
      failed; /* the head's failed attempts: answers asking for it again (AE, CE, ...), none, a closed connection */
  known_visit *visits;
  size_t n_visits, cap_visits;
  known_alert *alerts;
  size_t n_alerts, cap_alerts;
  known_patient *patients;
  size_t n_patients, cap_patients;
  unsigned long long sent, acked, refused, retries;
  long long down_since_ms, last_ack_ms;
  char last_error[640];
};

#define say(a, level, ...) vigil__plugin_say((a)->api, (a)->p, level, __VA_ARGS__)

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* ---- what the reports need to know: each visit's patient and place, each alert's text ---- */

static known_visit *visit_of(alarms *a, unsigned long long v) {
  for (size_t i = a->n_visits; i-- > 0;)
    if (a->visits[i].visit == v) return &a->visits[i];
  return NULL;
}

static known_alert *alert_of(alarms *a, unsigned long long id) {
  for (size_t i = a->n_alerts; i-- > 0;)
    if (a->alerts[i].alert == id) return &a->alerts[i];
  return NULL;
}

static known_patient *patient_of(alarms *a, const char *patient) {
  for (size_t i = 0; patient && i < a->n_patients; i++)
    if (!strcmp(a->patients[i].patient, patient)) return &a->patients[i];
  return NULL;
}

/* A patient.recorded: the record's authority and name, the last one's. */
static void learn_patient(alarms *a, json_t *d) {
  const char *patient = json_string_value(json_object_get(d, "patient"));
  if (!patient) return;
  known_patient *k = patient_of(a, patient);
  if (!k) {
    known_patient *grown = vigil__plugin_grow(a->patients, &a->cap_patients, a->n_patients + 1, sizeof *grown, 64);
    if (grown) a->patients = grown;
    if (a->n_patients >= a->cap_patients || !(a->patients[a->n_patients].patient = strdup(patient))) return;
    k = &a->patients[a->n_patients++];
    k->authority = k->family = k->given = NULL;
  }
  json_t *name = json_object_get(d, "name");
  free(k->authority), free(k->family), free(k->given);
  k->authority = dup_or_empty(json_string_value(json_object_get(d, "patient_authority")));
  k->family = dup_or_empty(json_string_value(json_object_get(name, "family")));
  k->given = dup_or_empty(json_string_value(json_object_get(name, "given")));
}

/* J4: alert.raised's `observed` ({field, reading, units, limit: {low,
 * high}}): kept whole or not at all, so that a report never names half an
 * observation. */
static void learn_observed(known_alert *al, json_t *o) {
  json_t *limit = json_object_get(o, "limit"), *low = json_object_get(limit, "low");
  json_t *high = json_object_get(limit, "high"), *reading = json_object_get(o, "reading");
  const char *field = json_string_value(json_object_get(o, "field"));
  al->obs_field = al->obs_units = NULL;
  if (!field || !json_is_number(reading) || (!json_is_number(low) && !json_is_number(high))) return;
  al->has_low = json_is_number(low), al->has_high = json_is_number(high);
  al->low = json_number_value(low), al->high = json_number_value(high);
  al->reading = json_number_value(reading);
  al->obs_units = dup_or_empty(json_string_value(json_object_get(o, "units")));
  al->obs_field = al->obs_units ? strdup(field) : NULL;
}

static void learn(alarms *a, const vigil_plugin_event *ev) {
  if (ev->seq <= a->learned) return;
  a->learned = ev->seq;
  int started = !strcmp(ev->type, "visit.started"), raised = !strcmp(ev->type, "alert.raised");
  int escalated = !strcmp(ev->type, "alert.escalated"), acked = !strcmp(ev->type, "alert.acknowledged");
  int recorded = !strcmp(ev->type, "patient.recorded");
  if (!started && !raised && !escalated && !acked && !recorded) return;
  json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);
  json_t *d = json_object_get(j, "data");
  if (recorded) {
    learn_patient(a, d);
  } else if (acked) {
    known_alert *al = alert_of(a, (unsigned long long)json_integer_value(json_object_get(d, "alert")));
    if (al && !al->acked_seq) al->acked_seq = ev->seq;
  } else if (started) {
    known_visit *grown = vigil__plugin_grow(a->visits, &a->cap_visits, a->n_visits + 1, sizeof *grown, 64);
    if (grown) a->visits = grown;
    if (a->n_visits < a->cap_visits) {
      known_visit *v = &a->visits[a->n_visits++];
      v->visit = (unsigned long long)ev->visit;
      v->patient = dup_or_empty(json_string_value(json_object_get(d, "patient")));
      v->location = dup_or_empty(json_string_value(json_object_get(d, "location")));
    }
  } else if (raised) {
    known_alert *grown = vigil__plugin_grow(a->alerts, &a->cap_alerts, a->n_alerts + 1, sizeof *grown, 64);
    if (grown) a->alerts = grown;
    if (a->n_alerts < a->cap_alerts) {
      known_alert *al = &a->alerts[a->n_alerts++];
      known_visit *v = visit_of(a, (unsigned long long)ev->visit);
      const char *patient = json_string_value(json_object_get(d, "patient")); /* a course alert's */
      al->alert = (unsigned long long)json_integer_value(json_object_get(d, "alert"));
      al->raised_digest = vigil__plugin_digest32(ev->json, ev->json_len);
      al->patient = dup_or_empty(patient ? patient : v ? v->patient : "");
      al->location = dup_or_empty(v ? v->location : "");
      al->message = dup_or_empty(json_string_value(json_object_get(d, "message")));
      al->priority = dup_or_empty(json_string_value(json_object_get(d, "priority")));
      al->rule = dup_or_empty(json_string_value(json_object_get(d, "rule")));
      al->acked_seq = 0;
      learn_observed(al, json_object_get(d, "observed"));
    }
  } else {
    known_alert *al = alert_of(a, (unsigned long long)json_integer_value(json_object_get(d, "alert")));
    const char *priority = json_string_value(json_object_get(d, "priority"));
    if (al && priority) {
      free(al->priority);
      al->priority = strdup(priority);
    }
  }
  json_decref(j);
}

/* ---- the link -------------------------------------------------------------------------------------- */

static void next(alarms *a);
static unsigned backoff(alarms *a) { return vigil__mllp_link_backoff(&a->link); }

/* H7: the link is up when it is connected and answers: a manager that
 * accepts the connection and never answers is down from its first
 * unanswered report on (down_since_ms is kept across the reconnects), up
 * again at an answer, or at a connection with nothing to ask it. */
static int link_up(const alarms *a) { return a->link.connected && !a->down_since_ms; }

static void publish_link(alarms *a) {
  a->api->metric_set(a->p, "alarm_link_up", "gauge", "1 when the alarm manager's MLLP link is up and answers", NULL,
                     link_up(a) ? 1 : 0);
  a->api->metric_set(a->p, "alarm_link_alert", "gauge",
                     "1 when the alarm manager's link has been down longer than link_alert_after_ms", NULL,
                     a->link_alerted ? 1 : 0);
}

/* H7: down longer than the grace (a reconnect after one lost connection
 * is no alarm): said at level error, once an outage, and in the status. */
static void on_link_alert(uv_timer_t *t) {
  alarms *a = t->data;
  if (a->closing || !a->down_since_ms || a->link_alerted) return;
  a->link_alerted = 1;
  time_t since = (time_t)(a->down_since_ms / 1000);
  struct tm tm;
  gmtime_r(&since, &tm);
  say(a, VIGIL_PLUGIN_LOG_ERROR,
      "alarm manager %s:%d unreachable since %02d:%02d UTC: alarms are not reaching nurse call or pagers (%s)",
      a->link.peer.host, a->link.peer.port, tm.tm_hour, tm.tm_min, a->last_error);
  publish_link(a);
}

/* The manager answered, or was connected with nothing to ask: the link is up. */
static void link_answers(alarms *a) {
  if (!a->down_since_ms) return;
  say(a, VIGIL_PLUGIN_LOG_INFO, "alarm manager %s:%d: link up again%s", a->link.peer.host, a->link.peer.port,
      a->link_alerted ? " (the unreachable alarm resolved)" : "");
  a->down_since_ms = 0;
  a->link_alerted = 0;
  a->link.attempts = 0;
  uv_timer_stop(&a->alert);
  publish_link(a);
}

/* H6: how far behind the reporter is, and how often it sent again, for the
 * site's monitoring (a link that is up can still hold alarms back). */
static void publish_measures(alarms *a) {
  a->api->metric_set(a->p, "alarm_backlog", "gauge",
                     "Events after the alarm reporter's cursor: an upper bound of the alarm reports not yet answered",
                     NULL, (double)vigil__plugin_backlog(a->api, a->p, a->cursor));
  a->api->metric_set(a->p, "alarm_retries", "counter",
                     "Alarm reports sent again after a failed attempt (AE, CE, no answer, the connection closed) or "
                     "an answer not recorded, this run",
                     NULL, (double)a->retries);
  a->api->metric_set(a->p, "alarm_refused", "counter",
                     "Alarm reports recorded as refused (AR, CR, or max_attempts failed attempts), this run", NULL,
                     (double)a->refused);
}

/* The link's handles and the alert timer: the memory goes with the last. */
static void gone(alarms *a) {
  if (--a->handles > 0) return;
  for (size_t i = 0; i < a->n_visits; i++)
    free(a->visits[i].patient), free(a->visits[i].location);
  for (size_t i = 0; i < a->n_alerts; i++)
    free(a->alerts[i].patient), free(a->alerts[i].location), free(a->alerts[i].message), free(a->alerts[i].priority),
        free(a->alerts[i].rule), free(a->alerts[i].obs_field), free(a->alerts[i].obs_units);
  for (size_t i = 0; i < a->n_patients; i++)
    free(a->patients[i].patient), free(a->patients[i].authority), free(a->patients[i].family),
        free(a->patients[i].given);
  free(a->visits);
  free(a->alerts);
  free(a->patients);
  free(a->head_msg);
  free(a->site);
  free(a);
}

static void on_alert_closed(uv_handle_t *h) { gone(h->data); }
static void on_link_closed(void *ud) { gone(ud); }

/* The backoff elapsed on a connected link: the report goes again. */
static void on_retry(void *ud) {
  alarms *a = ud;
  if (a->closing) return;
  a->in_flight = 0; /* sent again */
  next(a);
}

/* The link is down: say it once, close, try again later. */
static void link_down(alarms *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void link_down(alarms *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->last_error, sizeof a->last_error, fmt, ap);
  va_end(ap);
  if (!a->down_since_ms) {
    a->down_since_ms = a->api->now_ms(a->p);
    say(a, VIGIL_PLUGIN_LOG_ERROR, "alarm manager %s:%d: link down: %s", a->link.peer.host, a->link.peer.port,
        a->last_error);
    if (!a->closing) uv_timer_start(&a->alert, on_link_alert, a->link_alert_after_ms, 0);
  }
  a->in_flight = 0;
  vigil__mllp_link_drop(&a->link);
  publish_link(a);
}

static int record_ack(alarms *a, const char *code, const char *text);
static void head_done(alarms *a);
static void publish_measures(alarms *a);

/* J3: the report in flight got no answer ("no answer") or the connection
 * was closed while it waited for one ("connection closed"): a failed
 * attempt, as an AE is (H6). It is sent again (after the reconnect the
 * link's own backoff brings) until max_attempts, then recorded as refused
 * with the reason in place of the manager's MSA-3, and the next report
 * goes: one report a manager chokes on never holds the alarms after it.
 * The link's state is H7's (link_down), not changed here. */
static void attempt_failed(alarms *a, const char *reason) {
  if (!a->have_head || !a->in_flight) return;
  if (++a->failed < a->link.peer.max_attempts) {
    a->retries++;
    publish_measures(a);
    return;
  }
  if (record_ack(a, "", reason) < 0) { /* not kept: the report goes again, its refusal with it */
    a->retries++;
    say(a, VIGIL_PLUGIN_LOG_ERROR, "alarm manager: %s; sent again after the reconnect", a->last_error);
    publish_measures(a);
    return;
  }
  a->refused++;
  say(a, VIGIL_PLUGIN_LOG_ERROR,
      "alarm manager: %s (%s of alert %llu) failed %u times, the last: %s; recorded as refused (max_attempts), the "
      "next report goes",
      a->control, a->head_type, a->head_alert, a->failed, reason);
  head_done(a);
}

static void on_wait(void *ud) {
  alarms *a = ud;
  a->unanswered = 1;
  attempt_failed(a, "no answer");
  link_down(a, "no ACK to %s within %u ms", a->control, a->link.peer.ack_timeout_ms);
}

/* The manager's answer, kept as ack/<seq> and, from plugin ABI 1.6 on, as
 * an alert.reported event in the alert's visit's history, the key in the
 * event's transaction: an answer already kept (the report was sent again
 * after a restart that came between the event and the cursor) is not
 * recorded twice. 0; or negative when the event could not be recorded, and
 * then the report is sent again later (its answer is not lost). */
static int record_ack(alarms *a, const char *code, const char *text) {
  char key[64], manager[300], err[512] = "";
  snprintf(key, sizeof key, "ack/%llu", (unsigned long long)a->head_seq);
  snprintf(manager, sizeof manager, "%s:%d", a->link.peer.host, a->link.peer.port);
  void *had = NULL;
  size_t had_len = 0;
  if (a->api->kv_get(a->p, key, &had, &had_len) == 0) {
    a->api->free(had);
    return 0;
  }
  int accepted = !strcmp(code, "AA") || !strcmp(code, "CA");
  /* MSA-3 is the manager's text, in whatever it sends: kept only when it is
   * UTF-8, so that it can never hold the line up (an answer that cannot be
   * recorded would be sent for again and again). */
  json_t *said = json_string(text ? text : "");
  if (!said) text = "(MSA-3 not kept: not UTF-8 text)";
  json_decref(said);
  json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "alert", (json_int_t)a->head_alert, "event", a->head_type,
                        "control_id", a->control, "code", code, "text", text ? text : "", "at",
                        (json_int_t)a->api->now_ms(a->p));
  char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  int rc = s ? 0 : -1;
  if (s && a->api->abi_minor >= 6 &&
      a->api->size >= offsetof(vigil_api, alert_reported) + sizeof a->api->alert_reported) {
    json_t *f =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "status", accepted ? "accepted" : "refused", "code", code, "text",
                  text ? text : "", "control_id", a->control, "manager", manager, "report", (json_int_t)a->head_seq);
    char *fs = f ? json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    rc = fs ? a->api->alert_reported(a->p, a->head_visit, a->head_alert, fs, key, s, strlen(s), err, sizeof err) : -1;
    if (rc < 0) snprintf(a->last_error, sizeof a->last_error, "cannot record %s's %s: %s", a->control, code, err);
    if (rc == VIGIL_EINVAL || rc == VIGIL_ENOENT) { /* refused for good: kept here, and the line goes on */
      say(a, VIGIL_PLUGIN_LOG_ERROR, "alarm manager: %s; kept as %s only", a->last_error, key);
      rc = a->api->kv_put(a->p, key, s, strlen(s));
    }
    free(fs);
    json_decref(f);
  } else if (s)
    rc = a->api->kv_put(a->p, key, s, strlen(s));
  free(s);
  json_decref(j);
  return rc;
}

static void save_cursor(alarms *a) { vigil__plugin_cursor_save(a->api, a->p, "alarms/cursor", a->cursor); }

static void head_done(alarms *a) {
  a->cursor = a->head_seq;
  save_cursor(a);
  free(a->head_msg);
  a->head_msg = NULL;
  a->have_head = a->in_flight = 0;
  a->link.attempts = a->failed = 0;
  publish_measures(a);
}

static int on_ack(void *ud, const char *msg, size_t len) {
  alarms *a = ud;
  hl7_msg m;
  char err[256], code[8], control[128], text[256];
  if (vigil__hl7_parse(&m, msg, len, err, sizeof err) < 0) {
    say(a, VIGIL_PLUGIN_LOG_WARN, "alarm manager: an answer that does not parse: %s", err);
    return 0;
  }
  long msa = vigil__hl7_find(&m, "MSA", 0);
  vigil__hl7_value(&m, msa < 0 ? 0 : (size_t)msa, 1, 0, 0, 0, code, sizeof code);
  vigil__hl7_value(&m, msa < 0 ? 0 : (size_t)msa, 2, 0, 0, 0, control, sizeof control);
  vigil__hl7_value(&m, msa < 0 ? 0 : (size_t)msa, 3, 0, 0, 0, text, sizeof text);
  vigil__hl7_free(&m);
  if (msa < 0 || !a->in_flight || strcmp(control, a->control)) {
    say(a, VIGIL_PLUGIN_LOG_WARN, "alarm manager: an answer to '%s', not to the message in flight '%s'", control,
        a->in_flight ? a->control : "(none)");
    return 0;
  }
  vigil__mllp_link_answered(&a->link);
  a->unanswered = 0;
  link_answers(a);
  int final = !strcmp(code, "AA") || !strcmp(code, "CA") || !strcmp(code, "AR") || !strcmp(code, "CR");
  /* H6: an answer asking for the report again is a failed attempt, and
   * max_attempts of them (J3: with those not answered) a refusal: the
   * manager will not take it, and the alarms after it wait */
  int given_up = !final && ++a->failed >= a->link.peer.max_attempts;
  if ((final || given_up) && record_ack(a, code, text) < 0) { /* not kept: the report goes again, its answer with it */
    a->retries++;
    a->link.attempts++;
    say(a, VIGIL_PLUGIN_LOG_ERROR, "alarm manager: %s; sent again in %u ms", a->last_error, backoff(a));
    vigil__mllp_link_retry_later(&a->link);
  } else if (!strcmp(code, "AA") || !strcmp(code, "CA")) {
    a->acked++;
    a->last_ack_ms = a->api->now_ms(a->p);
    head_done(a);
    next(a);
  } else if (final || given_up) {
    a->refused++;
    if (given_up)
      say(a, VIGIL_PLUGIN_LOG_ERROR,
          "alarm manager answered %s (%s of alert %llu) %u times with %s, the last: %s; recorded as refused "
          "(max_attempts), the next report goes",
          a->control, a->head_type, a->head_alert, a->failed, code, text);
    else
      say(a, VIGIL_PLUGIN_LOG_ERROR, "alarm manager refused %s (%s of alert %llu) with %s: %s", a->control,
          a->head_type, a->head_alert, code, text);
    head_done(a);
    next(a);
  } else { /* AE, CE or anything else: sent again later */
    a->retries++;
    a->link.attempts++;
    snprintf(a->last_error, sizeof a->last_error, "%s answered %s: %s", a->control, code, text);
    say(a, VIGIL_PLUGIN_LOG_WARN, "alarm manager: %s; sent again in %u ms", a->last_error, backoff(a));
    vigil__mllp_link_retry_later(&a->link);
  }
  publish_measures(a);
  return 0;
}

/* The connection failed or was closed: while a report waited for its
 * answer, a failed attempt of it (J3); the link is down. */
static void on_failed(void *ud, int waiting, const char *why) {
  alarms *a = ud;
  if (waiting) attempt_failed(a, "connection closed");
  link_down(a, "%s", why);
}

static void on_connected(void *ud) {
  alarms *a = ud;
  /* up once it answers (H7): down_since_ms and the backoff stay till then */
  publish_link(a);
  next(a);
}

static const mllp_link_ops link_ops = {.connected = on_connected,
                                       .failed = on_failed,
                                       .frame = on_ack,
                                       .retry = on_retry,
                                       .no_answer = on_wait,
                                       .closed = on_link_closed};

/* ---- the outbox ------------------------------------------------------------------------------------ */

static int reported(const char *type) {
  return !strcmp(type, "alert.raised") || !strcmp(type, "alert.escalated") || !strcmp(type, "alert.acknowledged") ||
         !strcmp(type, "alert.resolved");
}

/* "2026-01-05T08:30:00.000Z" as HL7's 20260105083000+0000 */
static void hl7_time(const char *iso, char out[24]) {
  char d[16];
  size_t k = 0;
  for (const char *s = iso; *s && *s != '.' && k < 14; s++)
    if (*s >= '0' && *s <= '9') d[k++] = *s;
  d[k] = '\0';
  snprintf(out, 24, "%s+0000", d);
}

/* H5: the report's MSH-10, which a manager deduplicates on: the same for
 * every attempt of it (after restarts too), and never another report's,
 * though two sites on one manager (or a site whose database was restored
 * from a backup) count their events from the same numbers. So besides the
 * event's seq it carries the site's name on a cluster node and 32 bits of
 * FNV-1a over the event as the log keeps it (its time and content: two
 * events of one seq differ there). */
static void control_id(alarms *a, const vigil_plugin_event *ev) {
  snprintf(a->control, sizeof a->control, "VIGIL-%.64s%s%llu-%08x", a->site ? a->site : "", a->site ? "-" : "",
           (unsigned long long)ev->seq, vigil__plugin_digest32(ev->json, ev->json_len));
}

/* J2: the alarm's identity in OBR-2 and OBR-3, which a manager tracks an
 * alarm by from its start to its end: the same in every report of the
 * alert's life, and never another alarm's, though two sites (or a site whose
 * database was restored from a backup) number their alerts from the same 1.
 * So, as control_id, the site's name on a cluster node and 32 bits of
 * FNV-1a over the alert's alert.raised as the log keeps it. An alert whose
 * raise was not learned (memory ran out) takes this event's digest: an id
 * no other alarm has, rather than one another alarm may have. */
static void alarm_id(alarms *a, const known_alert *al, const vigil_plugin_event *ev, unsigned long long alert,
                     char out[128]) {
  snprintf(out, 128, "%.64s%s%llu-%08x", a->site ? a->site : "", a->site ? "-" : "", alert,
           al ? al->raised_digest : vigil__plugin_digest32(ev->json, ev->json_len));
}

static int pick(void *ud, const vigil_plugin_event *ev) {
  alarms *a = ud;
  if (!reported(ev->type)) {
    a->cursor = ev->seq; /* nothing to send for it */
    return 0;
  }
  json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);
  json_t *d = json_object_get(j, "data");
  unsigned long long id = (unsigned long long)json_integer_value(json_object_get(d, "alert"));
  known_alert *al = alert_of(a, id);
  char when[24], now[24];
  hl7_time(json_string_value(json_object_get(j, "time")) ? json_string_value(json_object_get(j, "time")) : "", when);
  time_t t = (time_t)(a->api->now_ms(a->p) / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(now, sizeof now, "%Y%m%d%H%M%S+0000", &tm);
  int raised = !strcmp(ev->type, "alert.raised"), resolved = !strcmp(ev->type, "alert.resolved");
  int acked = !strcmp(ev->type, "alert.acknowledged");
  char ident[128];
  alarm_id(a, al, ev, id, ident);
  const known_patient *who = patient_of(a, al ? al->patient : NULL);
  /* J4: the end of an acknowledged alarm stays acknowledged (it said enabled again) */
  int was_acked = al && al->acked_seq && al->acked_seq < ev->seq;
  r40_alert r = {.alarm_id = ident,
                 .ns = a->link.peer.app,
                 .patient = al ? al->patient : "",
                 .authority = who ? who->authority : NULL,
                 .family = who ? who->family : NULL,
                 .given = who ? who->given : NULL,
                 .level =
                     !strcmp(ev->type, "alert.escalated") ? (int)json_integer_value(json_object_get(d, "level")) : 0,
                 .location = al ? al->location : "",
                 .message = al ? al->message : "",
                 .priority = al ? al->priority : "",
                 .rule = al ? al->rule : "",
                 .phase = raised     ? "start"
                          : resolved ? "end"
                          : acked    ? "update"
                                     : "escalate",
                 .state = resolved ? "inactive" : "active",
                 .inactivation = acked || (resolved && was_acked) ? "acknowledged" : "enabled",
                 .time = when};
  if (al && al->obs_field) { /* J4: a vital sign's alarm: its observation, in every report of its life */
    r.obs.field = al->obs_field;
    r.obs.units = al->obs_units;
    r.obs.reading = al->reading;
    r.obs.has_low = al->has_low, r.obs.has_high = al->has_high;
    r.obs.low = al->low, r.obs.high = al->high;
  }
  control_id(a, ev);
  free(a->head_msg);
  size_t len;
  char *msg = vigil__hl7_r40(&r, a->link.peer.app, a->link.peer.facility, a->link.peer.to_app, a->link.peer.to_facility,
                             a->control, now, &len);
  a->head_msg = msg ? vigil__mllp_wrap(msg, len, &a->head_len) : NULL;
  free(msg);
  json_decref(j);
  if (!a->head_msg) return 1; /* out of memory: tried again at the next kick */
  a->have_head = 1;
  a->head_seq = ev->seq;
  a->head_alert = id;
  a->head_visit = (unsigned long long)ev->visit;
  snprintf(a->head_type, sizeof a->head_type, "%s", ev->type);
  return 1;
}

static void next(alarms *a) {
  if (a->closing || a->in_flight) return;
  if (!a->have_head) {
    uint64_t was = a->cursor;
    a->api->events_after(a->p, a->cursor, pick, a);
    if (!a->have_head && a->cursor != was) save_cursor(a);
  }
  if (!a->have_head) {
    /* J3: a manager whose report was given up unanswered is not up for
     * having nothing more to ask it */
    if (a->link.connected && !a->unanswered) link_answers(a);
    return;
  }
  int rc = vigil__mllp_link_offer(&a->link, a->head_msg, a->head_len, a->link.peer.ack_timeout_ms);
  if (rc == -2) link_down(a, "cannot write");
  a->in_flight = rc > 0;
  a->sent += rc > 0;
}

static int on_event(void *ud, const vigil_plugin_event *ev) {
  alarms *a = ud;
  learn(a, ev);
  if (reported(ev->type)) next(a);
  publish_measures(a);
  return 0;
}

static int learn_all(void *ud, const vigil_plugin_event *ev) {
  learn(ud, ev);
  return 0;
}

/* ---- settings and life ----------------------------------------------------------------------------- */

int vigil__hl7_alarms_start(vigil_plugin *p, const vigil_api *api, json_t *s, alarms **out, char **err) {
  *out = NULL;
  static const char *const more[] = {"link_alert_after_ms", NULL};
  mllp_peer peer;
  int rc = vigil__mllp_peer_read(s, "plugins.hl7.alarms", "the alarm manager's MLLP port", more, &peer, err);
  if (rc < 0) return rc;
  json_t *grace = json_object_get(s, "link_alert_after_ms");
  if (grace && (!json_is_integer(grace) || json_integer_value(grace) < 1 || json_integer_value(grace) > 3600000))
    rc = vigil__plugin_refuse(err, "plugins.hl7.alarms.link_alert_after_ms: a whole number, 1 to 3600000");
  alarms *a = rc < 0 ? NULL : calloc(1, sizeof *a);
  if (!a) {
    vigil__mllp_peer_free(&peer);
    return rc < 0 ? rc : -1;
  }
  a->p = p;
  a->api = api;
  a->loop = api->loop(p);
  a->link_alert_after_ms = grace ? (unsigned)json_integer_value(grace) : 30000;
  const char *site =
      api->abi_minor >= 5 && api->size >= offsetof(vigil_api, site) + sizeof api->site ? api->site(p) : NULL;
  a->site = site ? strdup(site) : NULL;
  vigil__mllp_link_init(&a->link, a->loop, &peer, "the manager", &link_ops, a);
  uv_timer_init(a->loop, &a->alert);
  a->alert.data = a;
  a->handles = 2; /* the link, the alert timer */
  /* the cursor: a new site starts now */
  a->cursor = vigil__plugin_cursor_open(api, p, "alarms/cursor", api->last_seq(p));
  /* who and where each alert is about: from the whole log once, then as it grows */
  api->events_after(p, 0, learn_all, a);
  rc = api->subscribe(p, "alert.*", on_event, a);
  if (rc == 0) rc = api->subscribe(p, "visit.started", on_event, a);
  if (rc == 0) rc = api->subscribe(p, "patient.recorded", on_event, a);
  *out = a;
  if (rc < 0) return rc;
  say(a, VIGIL_PLUGIN_LOG_INFO, "alarms out: ORU^R40 to %s:%d, from event %llu", a->link.peer.host, a->link.peer.port,
      (unsigned long long)a->cursor);
  publish_link(a);
  publish_measures(a);
  vigil__mllp_link_connect(&a->link);
  next(a);
  return 0;
}

void vigil__hl7_alarms_close(alarms *a) {
  if (!a || a->closing) return;
  a->closing = 1;
  vigil__mllp_link_close(&a->link);
  uv_close((uv_handle_t *)&a->alert, on_alert_closed);
}

json_t *vigil__hl7_alarms_status(alarms *a) {
  return json_pack("{s:s, s:i, s:s, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "host", a->link.peer.host, "port",
                   a->link.peer.port, "link", link_up(a) ? "up" : "down", "down_since_ms", (json_int_t)a->down_since_ms,
                   "link_alert", a->link_alerted, "sent", (json_int_t)a->sent, "acknowledged", (json_int_t)a->acked,
                   "refused", (json_int_t)a->refused, "retries", (json_int_t)a->retries, "cursor",
                   (json_int_t)a->cursor, "backlog", (json_int_t)vigil__plugin_backlog(a->api, a->p, a->cursor),
                   "last_error", a->last_error);
}
