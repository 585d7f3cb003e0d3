/* hl7.c: patients in from a hospital's systems, HL7 v2 ADT over MLLP
 * (docs/hl7.md).
 *
 * A listener on vigil's loop takes MLLP connections; each message is read
 * (adt.c) into a patient record and recorded through vigil's one write path
 * (api->patient_record, plugin ABI 1.4), in one store transaction with the
 * message's key (its sender and control id, MSH-3, MSH-4, MSH-10) in the
 * plugin's namespace. The ACK (AA) goes out when the event reaches the
 * plugin's "patient.*" subscription, that is once it is durable; never
 * before. A message whose key is already stored is a duplicate: it is
 * acknowledged AA and not applied again, also after a restart. A message
 * that cannot be read is refused with AR (or AE: a field's value), logged,
 * and the connection goes on. One message per connection at a time, in the
 * order sent (MLLP's original mode: the sender waits for each ACK). */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "adt.h"
#include "alarms.h"
#include "ehr.h"
#include "authority.h"
#include "hl7.h"
#include "plugin_common/plugin_common.h"
#include "vigil/plugin.h"

#define HL7_VERSION "1.0.0"

typedef struct hl7p hl7p;

typedef struct frame {
  struct frame *next;
  size_t len;
  char data[];
} frame;

typedef struct hl7_conn {
  hl7p *h;
  struct hl7_conn *next;
  uv_tcp_t tcp;
  uv_timer_t timer; /* the wait for durability */
  mllp_reader rd;
  frame *head, *tail; /* messages not yet handled */
  char peer[64];
  int busy;       /* a message is being recorded: its ACK waits for the event */
  int processing; /* in process(): no recursion */
  int closing, handles;
  hl7_msg msg; /* the message being recorded */
  char key[700];
  char patient[ADT_MAX_VALUE + 1];
  uint64_t active_ms;      /* the last bytes read, or the connection's start */
  uint64_t frame_start_ms; /* when the frame being read began (0: none) */
} conn;

struct hl7p {
  vigil_plugin *p;
  const vigil_api *api;
  uv_loop_t *loop;
  uv_tcp_t listener;
  int listening, closing;
  char *host, *app, *facility;
  char *authority; /* H3: the clinic's own assigning authority (PID-3.4), NULL: not named */
  int test_site;   /* H11: plugins.hl7.test_site: MSH-11 T and D taken here (a test or training vigil) */
  int port;
  size_t max_message;
  unsigned ack_timeout_ms;
  unsigned max_connections, n_conns;
  unsigned idle_timeout_ms, frame_timeout_ms; /* A4: 0 never */
  uv_timer_t sweep;                           /* closes idle and stalled connections */
  int sweeping;
  /* AJ3 of docs/deploy.md: the port still held by another process (on one
   * machine, the node that owned the site before a failover): bound again
   * each second, alarms out and the records going on meanwhile. */
  uv_timer_t rebind;
  int rebinding, bound;
  struct sockaddr_storage addr; /* the listener's */
  conn *conns;
  alarms *alarms;  /* alarms out (alarms.c); NULL: not configured */
  ehr *ehr;        /* vitals and scores out to the EHR (ehr.c); NULL: not configured */
  json_t *records; /* patient -> the record as vigil keeps it: read from the log at start, then each patient event */
  /* H14 of docs/hl7.md: 32 bits the system's random source gave this start, in
   * every ACK's control id, for the clock alone does not tell runs apart (the
   * simulated clock resumes where the log is, and the counter starts again) */
  char run[9];
  unsigned long long counter;                                     /* the ACKs' control ids */
  unsigned long long accepted, duplicates, refused, errors, acks; /* this run */
  unsigned long long older;                                       /* older than the record: not applied */
  long long max_future_ms;                                        /* H1: how far MSH-7 may be ahead of vigil's clock */
  hl7_zone *zone; /* J1: the zone of times sent without an offset (timezone, else site.timezone); NULL: UTC */
};

#define say(h, level, ...) vigil__plugin_say((h)->api, (h)->p, level, __VA_ARGS__)

/* ---- answers -------------------------------------------------------------------------------- */

static void conn_close(conn *c);

static void send_ack(conn *c, const hl7_msg *in, const char *code, int err_code, const char *where, const char *text) {
  hl7p *h = c->h;
  char now[32], id[64];
  time_t t = (time_t)(h->api->now_ms(h->p) / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(now, sizeof now, "%Y%m%d%H%M%S+0000", &tm);
  snprintf(id, sizeof id, "VIGIL%lld-%s.%llu", (long long)h->api->now_ms(h->p), h->run, ++h->counter);
  size_t len, flen;
  char *ack = vigil__hl7_ack(in, code, err_code, where, text, h->app, h->facility, id, now, &len);
  char *framed = ack ? vigil__mllp_wrap(ack, len, &flen) : NULL;
  free(ack);
  uv_write_t *w = framed ? malloc(sizeof *w) : NULL;
  if (!w || c->closing) {
    free(framed);
    free(w);
    if (!c->closing) conn_close(c);
    return;
  }
  w->data = framed;
  uv_buf_t b = uv_buf_init(framed, (unsigned)flen);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, vigil__plugin_uv_written) < 0) {
    free(framed);
    free(w);
    conn_close(c);
    return;
  }
  h->acks++;
}

/* ---- the records as vigil keeps them (core/host's patient_record) --------------------------------- */

/* Adds the references of m (a string or a list) to list, each once. */
static void add_refs(json_t *list, const json_t *m) {
  if (json_is_array(m)) {
    for (size_t i = 0; i < json_array_size(m); i++)
      add_refs(list, json_array_get(m, i));
    return;
  }
  if (!json_is_string(m)) return;
  for (size_t i = 0; i < json_array_size(list); i++)
    if (json_equal(json_array_get(list, i), m)) return;
  json_array_append(list, (json_t *)m);
}

/* A patient event's data applied to h->records as vigil applies it to its
 * rows: a record replaces the patient's, keeping the references merged into
 * it; a merge also says merged_into on the prior record. */
static void learn(hl7p *h, const char *type, json_t *data) {
  const char *patient = json_string_value(json_object_get(data, "patient"));
  if (!patient || !h->records) return;
  int merged = !strcmp(type, "patient.merged");
  const char *from = json_string_value(json_object_get(data, "merged_from"));
  json_t *row = json_deep_copy(data), *list = json_array(), *old = json_object_get(h->records, patient);
  if (!row || !list) {
    json_decref(row);
    json_decref(list);
    return;
  }
  json_object_del(row, "merged_from");
  add_refs(list, json_object_get(old, "merged_from"));
  json_t *prior = merged && from ? json_object_get(h->records, from) : NULL;
  if (merged) {
    add_refs(list, json_object_get(prior, "merged_from"));
    add_refs(list, json_object_get(data, "merged_from"));
  }
  if (json_array_size(list)) json_object_set(row, "merged_from", list);
  json_decref(list);
  if (merged && from) {
    json_t *p = prior ? json_deep_copy(prior) : json_pack("{s:s}", "patient", from);
    if (p) {
      json_object_set_new(p, "merged_into", json_string(patient));
      json_object_set_new(h->records, from, p);
    }
  }
  json_object_set_new(h->records, patient, row);
}

static int learn_event(void *ud, const vigil_plugin_event *ev) {
  hl7p *h = ud;
  if (strncmp(ev->type, "patient.", 8)) return 0;
  json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);
  json_t *data = json_object_get(j, "data");
  if (json_is_object(data)) learn(h, ev->type, data);
  json_decref(j);
  return 0;
}

/* H1: the latest message time vigil believes, for a time read from MSH-7:
 * max_future_ms past vigil's clock (two systems' clocks are never quite
 * one), and 14 hours more for a time without a zone offset, which may be the
 * sender's local time read as UTC (UTC+14 is the furthest zone) when the
 * site names no zone to read it in (J1). A time
 * later than that is a typo or a wrong clock, and would outrank every later
 * update of the patient. */
static int in_future(hl7p *h, long long t, int zoned) {
  long long limit = (long long)h->api->now_ms(h->p) + h->max_future_ms + (zoned || h->zone ? 0 : 14LL * 3600 * 1000);
  return t > limit;
}

/* ---- a message ------------------------------------------------------------------------------------- */

static conn *pending_with(hl7p *h, const char *key) {
  for (conn *c = h->conns; c; c = c->next)
    if (c->busy && !strcmp(c->key, key)) return c;
  return NULL;
}

static void done_waiting(conn *c) {
  c->busy = 0;
  uv_timer_stop(&c->timer);
  vigil__hl7_free(&c->msg);
}

static void process(conn *c);
static int stale(hl7p *h, conn *c, const hl7_msg *m, const adt_result *r, const char *control);
static int merge_refused(hl7p *h, adt_result *r);
static int merged_away(hl7p *h, adt_result *r);

/* H10: what a message says, for its control id's stored key: MSH-9 and
 * every segment after MSH, so that a message sent again (MSH-7 made anew
 * by some senders) is the same and a sender whose counter started again
 * is not. */
static unsigned content_digest(const hl7_msg *m, const char *data, size_t len) {
  char type[ADT_MAX_VALUE + 1] = "";
  vigil__hl7_value(m, 0, 9, 0, 0, 0, type, sizeof type);
  size_t at = 0;
  while (at < len && data[at] != '\r' && data[at] != '\n')
    at++;
  while (len > at && (data[len - 1] == '\r' || data[len - 1] == '\n'))
    len--;
  return vigil__plugin_digest32(type, strlen(type)) ^ vigil__plugin_digest32(data + at, len - at);
}

/* The stored value of a message's key: its event type and content digest
 * ("patient.recorded 1a2b3c4d"); a value kept before H10 has no digest. */
static int same_content(const void *old, size_t oldlen, unsigned digest) {
  const char *sp = memchr(old, ' ', oldlen);
  if (!sp) return 1; /* kept before H10: nothing to tell them apart by */
  char had[16];
  size_t n = oldlen - (size_t)(sp + 1 - (const char *)old);
  if (n >= sizeof had) return 0;
  memcpy(had, sp + 1, n);
  had[n] = 0;
  return strtoul(had, NULL, 16) == digest;
}

static void handle(conn *c, const char *data, size_t len) {
  hl7p *h = c->h;
  char err[300];
  hl7_msg m;
  if (vigil__hl7_parse(&m, data, len, err, sizeof err) < 0) {
    hl7_msg lm;
    hl7_msg *in = vigil__hl7_lenient_msh(data, len, &lm);
    char control[ADT_MAX_VALUE + 1] = "";
    if (in) vigil__hl7_value(in, 0, 10, 0, 0, 0, control, sizeof control);
    h->refused++;
    say(h, VIGIL_PLUGIN_LOG_WARN, "refused a message from %s (control id '%s'): %s", c->peer, control, err);
    send_ack(c, in, "AR", 100, "MSH", err);
    if (in) vigil__hl7_free(in);
    return;
  }
  adt_result r;
  vigil__hl7_adt_read(&m, h->authority, &r);
  char control[ADT_MAX_VALUE + 1], when[ADT_MAX_VALUE + 1];
  vigil__hl7_value(&m, 0, 10, 0, 0, 0, control, sizeof control);
  vigil__hl7_value(&m, 0, 7, 0, 1, 0, when, sizeof when);
  long long t;
  int zoned;
  char processing[ADT_MAX_VALUE + 1] = "";
  vigil__hl7_value(&m, 0, 11, 0, 1, 0, processing, sizeof processing);
  int test_message = !strcmp(processing, "T") || !strcmp(processing, "D");
  if (!strcmp(r.ack, "AA") && strcmp(processing, "P") && !(test_message && h->test_site)) {
    /* H11: a test or training message never reaches live records */
    snprintf(r.ack, sizeof r.ack, "AR");
    r.err_code = 202;
    snprintf(r.err_where, sizeof r.err_where, "MSH^1^11");
    snprintf(r.err_text, sizeof r.err_text,
             "MSH-11 (processing id) '%.20s' is not P (production)%s: not applied to live records", processing,
             test_message ? " and this is not a test site (plugins.hl7.test_site)" : "");
  } else if (!strcmp(r.ack, "AA") && vigil__hl7_dtm(when, h->zone, &t, &zoned) == 0 && in_future(h, t, zoned)) {
    snprintf(r.ack, sizeof r.ack, "AE");
    r.err_code = 102;
    snprintf(r.err_where, sizeof r.err_where, "MSH^1^7");
    snprintf(r.err_text, sizeof r.err_text,
             "MSH-7 (date/time of message) %.40s is in the future (more than max_future_ms, %lld ms, ahead of "
             "vigil's clock%s): check the sender's clock and send it again",
             when, h->max_future_ms, zoned || h->zone ? "" : ", 14 hours more for a time without a zone offset");
  }
  if (strcmp(r.ack, "AA")) {
    h->refused++;
    say(h, VIGIL_PLUGIN_LOG_WARN, "refused message %s from %s with %s: %s", control, c->peer, r.ack, r.err_text);
    send_ack(c, &m, r.ack, r.err_code, r.err_where, r.err_text);
    vigil__hl7_adt_free(&r);
    vigil__hl7_free(&m);
    return;
  }
  void *old;
  size_t oldlen;
  int got = h->api->kv_get(h->p, r.key, &old, &oldlen);
  unsigned digest = content_digest(&m, data, len);
  if (got == 0 && !same_content(old, oldlen, digest)) {
    /* H10: the control id of another message (a sender's counter started
     * again): dropped as a duplicate it would be lost without a word */
    h->api->free(old);
    h->refused++;
    snprintf(err, sizeof err,
             "MSH-10 control id %.60s was used by another message from this sender, with other content: not applied; "
             "send it with a new control id",
             control);
    say(h, VIGIL_PLUGIN_LOG_WARN, "refused message %s from %s with AE: %s", control, c->peer, err);
    send_ack(c, &m, "AE", 205, "MSH^1^10", err);
  } else if (got == 0) {
    h->api->free(old);
    h->duplicates++;
    say(h, VIGIL_PLUGIN_LOG_INFO, "message %s from %s is a duplicate: acknowledged, not applied again", control,
        c->peer);
    snprintf(err, sizeof err, "duplicate of message %s, already recorded: not applied again", control);
    send_ack(c, &m, "AA", 0, NULL, err);
  } else if (got != VIGIL_ENOENT) {
    h->errors++;
    send_ack(c, &m, "AE", 207, NULL, "cannot read vigil's store: send the message again later");
  } else if (pending_with(h, r.key)) {
    h->errors++;
    send_ack(c, &m, "AE", 207, NULL, "the same message is being recorded from another connection: send it again");
  } else if (vigil__hl7_authority_refused(h->records, h->authority, &r)) {
    /* H3: one number from two registration systems is two patients */
    h->refused++;
    say(h, VIGIL_PLUGIN_LOG_WARN, "refused message %s from %s with %s: %s", control, c->peer, r.ack, r.err_text);
    send_ack(c, &m, r.ack, r.err_code, r.err_where, r.err_text);
  } else if (merged_away(h, &r)) {
    h->refused++;
    say(h, VIGIL_PLUGIN_LOG_WARN, "refused message %s from %s with %s: %s", control, c->peer, r.ack, r.err_text);
    send_ack(c, &m, r.ack, r.err_code, r.err_where, r.err_text);
  } else if (stale(h, c, &m, &r, control)) {
    /* acknowledged, not applied (A3) */
  } else if (merge_refused(h, &r)) {
    h->refused++;
    say(h, VIGIL_PLUGIN_LOG_WARN, "refused message %s from %s with %s: %s", control, c->peer, r.ack, r.err_text);
    send_ack(c, &m, r.ack, r.err_code, r.err_where, r.err_text);
  } else {
    c->busy = 1;
    c->msg = m; /* kept for its ACK */
    memset(&m, 0, sizeof m);
    snprintf(c->key, sizeof c->key, "%s", r.key);
    snprintf(c->patient, sizeof c->patient, "%s", r.patient);
    char value[400];
    snprintf(value, sizeof value, "%s %08x", r.type, digest);
    /* Outside a batch the event is durable, and comes to on_patient_event,
     * before this returns. */
    int rc = h->api->patient_record(h->p, r.type, r.fields_json, r.key, value, strlen(value), err, sizeof err);
    if (rc == VIGIL_EINVAL && c->busy) {
      /* vigil refused a value (the patient reference): permanent, so not
       * 207's "send it again" (A9) */
      h->refused++;
      const char *where = !strncmp(err, "merged_from", 11) ? "MRG^1^1" : "PID^1^3";
      char text[400];
      snprintf(text, sizeof text, "%s refused: %s", !strcmp(where, "MRG^1^1") ? "MRG-1" : "PID-3", err);
      say(h, VIGIL_PLUGIN_LOG_WARN, "refused message %s from %s with AE: %s", control, c->peer, text);
      send_ack(c, &c->msg, "AE", 102, where, text);
      done_waiting(c);
    } else if (rc < 0 && c->busy) {
      h->errors++;
      say(h, VIGIL_PLUGIN_LOG_ERROR, "message %s from %s not recorded: %s", control, c->peer, err);
      send_ack(c, &c->msg, "AE", 207, NULL, err);
      done_waiting(c);
    }
  }
  vigil__hl7_adt_free(&r);
  vigil__hl7_free(&m);
}

/* H4: an A01, A04 or A08 for a reference an A40 merged into another is
 * refused (AE 204 at PID-3, naming the survivor): applied, it would replace
 * the record that says merged_into, and a visit for the old reference would
 * be taken again (L8). Applying it to the survivor instead would put the
 * old reference's demographics and allergy list over the survivor's on a
 * message that never named it; the sender is to send it for the survivor. 1
 * when refused. */
static int merged_away(hl7p *h, adt_result *r) {
  if (strcmp(r->type, "patient.recorded")) return 0;
  const char *into = json_string_value(json_object_get(json_object_get(h->records, r->patient), "merged_into"));
  if (!into) return 0;
  /* the survivor at the end of the chain (a merged survivor merged again) */
  for (int hops = 0; hops < 1000; hops++) {
    const char *next = json_string_value(json_object_get(json_object_get(h->records, into), "merged_into"));
    if (!next) break;
    into = next;
  }
  snprintf(r->ack, sizeof r->ack, "AE");
  r->err_code = 204;
  snprintf(r->err_where, sizeof r->err_where, "PID^1^3");
  if (snprintf(r->err_text, sizeof r->err_text, "patient %s was merged into %s (A40): send updates for %s; not applied",
               r->patient, into, into) >= (int)sizeof r->err_text)
    r->err_text[sizeof r->err_text - 2] = '.'; /* cut */
  return 1;
}

/* A3: a record message older (MSH-7) than the record vigil has is
 * acknowledged AA and not applied, logged: an A08 replayed late would
 * otherwise take back a newer allergy list. J1: unless it carries
 * allergies (AL1): then AE, for an allergy dropped with an AA is lost
 * without a word (a feed mixing times with and without an offset made a
 * new ketamine allergy look older), and the sender sees an AE. 1 when it
 * was not applied. */
static int stale(hl7p *h, conn *c, const hl7_msg *m, const adt_result *r, const char *control) {
  if (strcmp(r->type, "patient.recorded")) return 0;
  json_t *rec = json_object_get(h->records, r->patient);
  const char *had = json_string_value(json_object_get(json_object_get(rec, "source"), "message_time"));
  char when[ADT_MAX_VALUE + 1];
  vigil__hl7_value(m, 0, 7, 0, 1, 0, when, sizeof when);
  long long now, then;
  int zoned, had_zone;
  if (!had || vigil__hl7_dtm(when, h->zone, &now, &zoned) < 0 || vigil__hl7_dtm(had, h->zone, &then, &had_zone) < 0)
    return 0;
  if (in_future(h, then, had_zone)) {
    /* H1: a record kept with a time in the future (taken before
     * max_future_ms, or with a wider one) orders nothing: this message
     * replaces it, and its own time orders the next ones. */
    say(h, VIGIL_PLUGIN_LOG_WARN,
        "message %s from %s: patient %s's record has a message time in the future (%s): not used to order, replaced",
        control, c->peer, r->patient, had);
    return 0;
  }
  if (now >= then) return 0;
  h->older++;
  char text[600];
  snprintf(text, sizeof text,
           "not applied: the message's time (MSH-7 %s) is older than patient %s's record (%s, message %s)", when,
           r->patient, had,
           json_string_value(json_object_get(json_object_get(rec, "source"), "control_id"))
               ? json_string_value(json_object_get(json_object_get(rec, "source"), "control_id"))
               : "?");
  if (vigil__hl7_find(m, "AL1", 0) >= 0) {
    size_t n = strlen(text);
    snprintf(text + n, sizeof text - n, "; it carries allergies (AL1): check them and send them in a newer message");
    say(h, VIGIL_PLUGIN_LOG_ERROR, "message %s from %s: %s", control, c->peer, text);
    send_ack(c, m, "AE", 207, "MSH^1^7", text);
    return 1;
  }
  say(h, VIGIL_PLUGIN_LOG_WARN, "message %s from %s: %s", control, c->peer, text);
  send_ack(c, m, "AA", 0, NULL, text);
  return 1;
}

/* An A40 (docs/hl7.md): A6, a merge that would close a circle (the
 * survivor was merged into the prior patient, or into one merged into it)
 * is refused AE; A2, the merge keeps the survivor's record (allergies
 * included: ADT_A39 carries none) and only links the prior reference, so
 * r->fields_json becomes the survivor's record with the A40's source and
 * merged_from. 1 when refused (r says why). */
static int merge_refused(hl7p *h, adt_result *r) {
  if (strcmp(r->type, "patient.merged")) return 0;
  json_t *fields = json_loads(r->fields_json, 0, NULL);
  const char *from = json_string_value(json_object_get(fields, "merged_from"));
  if (!fields || !from) {
    json_decref(fields);
    return 0;
  }
  const char *cur = r->patient;
  for (int hops = 0; cur && hops < 1000; hops++) {
    const char *into = json_string_value(json_object_get(json_object_get(h->records, cur), "merged_into"));
    if (into && !strcmp(into, from)) {
      snprintf(r->ack, sizeof r->ack, "AE");
      r->err_code = 102;
      snprintf(r->err_where, sizeof r->err_where, "MRG^1^1");
      if (snprintf(r->err_text, sizeof r->err_text,
                   "circular merge: %s was merged into %s already, so %s cannot be merged into %s (MRG-1)", r->patient,
                   into, from, r->patient) >= (int)sizeof r->err_text)
        r->err_text[sizeof r->err_text - 2] = '.'; /* cut */
      json_decref(fields);
      return 1;
    }
    cur = into;
  }
  json_t *survivor = json_object_get(h->records, r->patient), *prior = json_object_get(h->records, from);
  json_t *rec = survivor ? json_deep_copy(survivor) : json_deep_copy(fields);
  if (rec) {
    json_object_del(rec, "merged_from");
    json_object_del(rec, "merged_into");
    /* No record of the survivor: the prior patient's allergies go with it. */
    if (!survivor && json_object_get(prior, "allergies"))
      json_object_set(rec, "allergies", json_object_get(prior, "allergies"));
    json_object_set(rec, "source", json_object_get(fields, "source"));
    json_object_set_new(rec, "merged_from", json_string(from));
    char *text = json_dumps(rec, JSON_COMPACT);
    if (text) {
      free(r->fields_json);
      r->fields_json = text;
    }
  }
  json_decref(rec);
  json_decref(fields);
  return 0;
}

static void on_wait_timeout(uv_timer_t *t);

static void process(conn *c) {
  if (c->processing) return;
  c->processing = 1;
  while (!c->busy && c->head && !c->closing) {
    frame *f = c->head;
    c->head = f->next;
    if (!c->head) c->tail = NULL;
    handle(c, f->data, f->len);
    free(f);
    if (c->busy) uv_timer_start(&c->timer, on_wait_timeout, c->h->ack_timeout_ms, 0);
  }
  c->processing = 0;
}

static void on_wait_timeout(uv_timer_t *t) {
  conn *c = t->data;
  if (!c->busy) return;
  c->h->errors++;
  say(c->h, VIGIL_PLUGIN_LOG_ERROR, "message to %s from %s: vigil's store did not confirm it in %u ms", c->key, c->peer,
      c->h->ack_timeout_ms);
  send_ack(c, &c->msg, "AE", 207, NULL, "not confirmed durable in time: send the message again");
  done_waiting(c);
  process(c);
}

/* A patient event is durable: the ACK of the message that brought it. */
static int on_patient_event(void *ud, const vigil_plugin_event *ev) {
  hl7p *h = ud;
  json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);
  if (json_is_object(json_object_get(j, "data"))) learn(h, ev->type, json_object_get(j, "data"));
  json_t *src = json_object_get(json_object_get(j, "data"), "source");
  const char *sender = json_string_value(json_object_get(src, "sender"));
  const char *control = json_string_value(json_object_get(src, "control_id"));
  char key[700];
  conn *c = NULL;
  if (sender && control) {
    snprintf(key, sizeof key, "msg/%s/%s", sender, control);
    c = pending_with(h, key);
  }
  json_decref(j);
  if (!c) return 0; /* another connection's, or one that has closed */
  char text[400];
  snprintf(text, sizeof text, "recorded: patient %s (event %llu)", c->patient, (unsigned long long)ev->seq);
  h->accepted++;
  send_ack(c, &c->msg, "AA", 0, NULL, text);
  done_waiting(c);
  process(c);
  return 0;
}

/* ---- connections ----------------------------------------------------------------------------------- */

/* The plugin's memory, once its listener, sweep timer and connections have closed. */
static void free_when_closed(hl7p *h) {
  if (h->listening || h->conns || h->sweeping || h->rebinding) return;
  free(h->host);
  free(h->app);
  free(h->facility);
  free(h->authority);
  vigil__hl7_zone_free(h->zone);
  json_decref(h->records);
  free(h);
}

static void conn_free(conn *c) {
  hl7p *h = c->h;
  for (conn **pp = &h->conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  h->n_conns--;
  while (c->head) {
    frame *f = c->head;
    c->head = f->next;
    free(f);
  }
  vigil__mllp_free(&c->rd);
  vigil__hl7_free(&c->msg);
  free(c);
  if (h->closing) free_when_closed(h);
}

static void on_conn_part_closed(uv_handle_t *hd) {
  conn *c = hd->data;
  if (--c->handles == 0) conn_free(c);
}

static void conn_close(conn *c) {
  if (c->closing) return;
  c->closing = 1;
  c->busy = 0;
  uv_close((uv_handle_t *)&c->timer, on_conn_part_closed);
  uv_close((uv_handle_t *)&c->tcp, on_conn_part_closed);
}

static int on_frame(void *ud, const char *msg, size_t len) {
  conn *c = ud;
  frame *f = malloc(sizeof *f + len);
  if (!f) return -1;
  f->next = NULL;
  f->len = len;
  memcpy(f->data, msg, len);
  if (c->tail)
    c->tail->next = f;
  else
    c->head = f;
  c->tail = f;
  return 0;
}

static int on_frame_error(void *ud, const char *why) {
  conn *c = ud;
  c->h->refused++;
  say(c->h, VIGIL_PLUGIN_LOG_WARN, "MLLP from %s: %s", c->peer, why);
  /* MSA-2 names the frame's MSH-10 when its start can be read (A9). */
  hl7_msg lm;
  hl7_msg *in = c->rd.n ? vigil__hl7_lenient_msh(c->rd.buf, c->rd.n, &lm) : NULL;
  send_ack(c, in, "AR", 100, NULL, why);
  if (in) vigil__hl7_free(in);
  return 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  conn *c = s->data;
  if (n < 0) {
    free(b->base);
    conn_close(c);
    return;
  }
  int rc = c->closing ? 0 : vigil__mllp_feed(&c->rd, b->base, (size_t)n, on_frame, on_frame_error, c);
  free(b->base);
  c->active_ms = uv_now(c->h->loop);
  /* A frame begun and not ended: its time is counted from its first bytes. */
  if (!c->rd.in_frame)
    c->frame_start_ms = 0;
  else if (!c->frame_start_ms)
    c->frame_start_ms = c->active_ms;
  if (rc < 0) {
    say(c->h, VIGIL_PLUGIN_LOG_ERROR, "out of memory reading from %s: connection closed", c->peer);
    conn_close(c);
    return;
  }
  process(c);
}

/* A4: every second, a connection idle past idle_timeout_ms is closed, and
 * one whose frame has not ended within frame_timeout_ms of its first bytes
 * is refused (AR, naming its MSH-10 when it can be read) and closed. A
 * connection waiting for its message's record to be durable is neither. */
static void on_sweep(uv_timer_t *t) {
  hl7p *h = t->data;
  uint64_t now = uv_now(h->loop);
  conn *next;
  for (conn *c = h->conns; c; c = next) {
    next = c->next;
    if (c->closing || c->busy || c->head) continue;
    if (h->frame_timeout_ms && c->frame_start_ms && now - c->frame_start_ms >= h->frame_timeout_ms) {
      h->refused++;
      say(h, VIGIL_PLUGIN_LOG_WARN,
          "MLLP from %s: a frame not ended within %u ms (frame_timeout_ms): refused, connection closed", c->peer,
          h->frame_timeout_ms);
      hl7_msg lm;
      hl7_msg *in = c->rd.n ? vigil__hl7_lenient_msh(c->rd.buf, c->rd.n, &lm) : NULL;
      send_ack(c, in, "AR", 100, NULL, "the frame did not end (0x1C 0x0D) in time: the connection is closed");
      if (in) vigil__hl7_free(in);
      conn_close(c);
    } else if (h->idle_timeout_ms && !c->rd.in_frame && now - c->active_ms >= h->idle_timeout_ms) {
      say(h, VIGIL_PLUGIN_LOG_INFO, "MLLP from %s: idle for %u ms (idle_timeout_ms): connection closed", c->peer,
          h->idle_timeout_ms);
      conn_close(c);
    }
  }
}

static void on_connection(uv_stream_t *server, int status) {
  hl7p *h = server->data;
  if (status < 0 || h->closing) return;
  conn *c = calloc(1, sizeof *c);
  if (!c) return;
  c->h = h;
  uv_tcp_init(h->loop, &c->tcp);
  uv_timer_init(h->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  vigil__mllp_init(&c->rd, h->max_message);
  c->next = h->conns;
  h->conns = c;
  h->n_conns++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    conn_close(c);
    return;
  }
  struct sockaddr_storage sa;
  int salen = sizeof sa;
  snprintf(c->peer, sizeof c->peer, "?");
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &salen) == 0) {
    char ip[48] = "?";
    int port = 0;
    if (sa.ss_family == AF_INET) {
      uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
    } else if (sa.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
  }
  c->active_ms = uv_now(h->loop);
  if (h->n_conns > h->max_connections) {
    /* A4: the oldest idle connection (no message being read or recorded)
     * makes room, so that idle senders cannot shut the feed out. */
    conn *oldest = NULL;
    for (conn *o = h->conns; o; o = o->next)
      if (o != c && !o->closing && !o->busy && !o->head && !o->rd.in_frame &&
          (!oldest || o->active_ms < oldest->active_ms))
        oldest = o;
    if (!oldest) {
      say(h, VIGIL_PLUGIN_LOG_WARN, "refused a connection from %s: %u connections already, none idle (max_connections)",
          c->peer, h->max_connections);
      conn_close(c);
      return;
    }
    say(h, VIGIL_PLUGIN_LOG_WARN,
        "closed the oldest idle connection, from %s (idle %llu ms), for %s: %u connections (max_connections)",
        oldest->peer, (unsigned long long)(uv_now(h->loop) - oldest->active_ms), c->peer, h->max_connections);
    conn_close(oldest);
  }
  uv_read_start((uv_stream_t *)&c->tcp, vigil__plugin_uv_alloc, on_read);
}

/* ---- the plugin -------------------------------------------------------------------------------------- */

static char *status(void *ud) {
  hl7p *h = ud;
  char why[400] = "";
  json_t *alarm_link = h->alarms ? vigil__hl7_alarms_status(h->alarms) : NULL;
  if (h->port && !h->bound)
    snprintf(why, sizeof why,
             "no MLLP listener: %s:%d is in use (another process, or another site's listener on this node); trying "
             "again each second",
             h->host, h->port);
  if (json_is_true(json_object_get(alarm_link, "link_alert")))
    snprintf(why + strlen(why), sizeof why - strlen(why),
             "%sthe alarm manager has been unreachable longer than "
             "link_alert_after_ms: alarms wait",
             why[0] ? "; " : "");
  json_t *j =
      json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I}", "host", h->host, "port", h->port, "connections",
                (int)h->n_conns, "recorded", (json_int_t)h->accepted, "duplicates", (json_int_t)h->duplicates,
                "refused", (json_int_t)h->refused, "errors", (json_int_t)h->errors, "acks", (json_int_t)h->acks);
  json_object_set_new(j, "older", json_integer((json_int_t)h->older));
  json_object_set_new(j, "timezone", json_string(h->zone ? vigil__hl7_zone_name(h->zone) : "UTC"));
  if (h->port == 0) json_object_set_new(j, "port", json_null());
  if (alarm_link) json_object_set_new(j, "alarms", alarm_link);
  if (h->ehr) json_object_set_new(j, "ehr", vigil__hl7_ehr_status(h->ehr));
  json_object_set_new(j, "listening", json_boolean(h->bound));
  /* /healthz counts a plugin whose status says degraded (AJ3, AJ5). */
  if (why[0]) json_object_set_new(j, "degraded", json_string(why));
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return s;
}

static void on_sweep_closed(uv_handle_t *hd) {
  hl7p *h = hd->data;
  h->sweeping = 0;
  free_when_closed(h);
}

static void on_rebind_closed(uv_handle_t *hd) {
  hl7p *h = hd->data;
  h->rebinding = 0;
  free_when_closed(h);
}

static void on_listener_closed(uv_handle_t *hd) {
  hl7p *h = hd->data;
  h->listening = 0;
  free_when_closed(h);
}

static void on_close(void *ud) {
  hl7p *h = ud;
  h->closing = 1;
  vigil__hl7_alarms_close(h->alarms);
  h->alarms = NULL;
  vigil__hl7_ehr_close(h->ehr);
  h->ehr = NULL;
  conn *next;
  for (conn *c = h->conns; c; c = next) {
    next = c->next;
    conn_close(c);
  }
  if (h->sweeping) uv_close((uv_handle_t *)&h->sweep, on_sweep_closed);
  if (h->rebinding) uv_close((uv_handle_t *)&h->rebind, on_rebind_closed);
  uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}

static int read_settings(hl7p *h, json_t *s, char **err) {
  if (!json_is_object(s)) return vigil__plugin_refuse(err, "plugins.hl7: an object of settings");
  static const char *const known[] = {"port",
                                      "host",
                                      "application",
                                      "facility",
                                      "max_message_bytes",
                                      "ack_timeout_ms",
                                      "max_connections",
                                      "idle_timeout_ms",
                                      "frame_timeout_ms",
                                      "max_future_ms",
                                      "authority",
                                      "test_site",
                                      "timezone",
                                      "alarms",
                                      "ehr",
                                      NULL};
  if (vigil__plugin_known_settings(s, known, "plugins.hl7", err) < 0) return VIGIL_EINVAL;
  json_t *host = json_object_get(s, "host"), *port = json_object_get(s, "port");
  json_t *app = json_object_get(s, "application"), *fac = json_object_get(s, "facility");
  json_t *max = json_object_get(s, "max_message_bytes"), *wait = json_object_get(s, "ack_timeout_ms");
  json_t *conns = json_object_get(s, "max_connections");
  json_t *idle = json_object_get(s, "idle_timeout_ms"), *ftime = json_object_get(s, "frame_timeout_ms");
  json_t *future = json_object_get(s, "max_future_ms");
  json_t *authority = json_object_get(s, "authority");
  json_t *test_site = json_object_get(s, "test_site");
  if (test_site && !json_is_boolean(test_site))
    return vigil__plugin_refuse(err, "plugins.hl7.test_site: true or false (true: MSH-11 T and D messages are taken)");
  if (host && !json_is_string(host))
    return vigil__plugin_refuse(err, "plugins.hl7.host: an address to listen on (\"127.0.0.1\")");
  if (!port && !json_object_get(s, "alarms") && !json_object_get(s, "ehr"))
    return vigil__plugin_refuse(
        err, "plugins.hl7: port (patients in, the MLLP listener), alarms (alarms out) or ehr (results out), or more");
  if (port && (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535))
    return vigil__plugin_refuse(err, "plugins.hl7.port: the TCP port of the MLLP listener, 1 to 65535 (2575 is HL7's)");
  if ((app && !json_is_string(app)) || (fac && !json_is_string(fac)))
    return vigil__plugin_refuse(err, "plugins.hl7.application, facility: text (MSH-3, MSH-4 of vigil's ACKs)");
  if (max && (!json_is_integer(max) || json_integer_value(max) < 1024 || json_integer_value(max) > 16 << 20))
    return vigil__plugin_refuse(err, "plugins.hl7.max_message_bytes: 1024 to 16777216");
  if (wait && (!json_is_integer(wait) || json_integer_value(wait) < 100 || json_integer_value(wait) > 600000))
    return vigil__plugin_refuse(err, "plugins.hl7.ack_timeout_ms: 100 to 600000");
  if (conns && (!json_is_integer(conns) || json_integer_value(conns) < 1 || json_integer_value(conns) > 1000))
    return vigil__plugin_refuse(err, "plugins.hl7.max_connections: 1 to 1000");
  if (idle && (!json_is_integer(idle) || json_integer_value(idle) < 0 || json_integer_value(idle) > 86400000))
    return vigil__plugin_refuse(err, "plugins.hl7.idle_timeout_ms: 0 (never) to 86400000");
  if (ftime && (!json_is_integer(ftime) || json_integer_value(ftime) < 0 || json_integer_value(ftime) > 3600000))
    return vigil__plugin_refuse(err, "plugins.hl7.frame_timeout_ms: 0 (never) to 3600000");
  if (future && (!json_is_integer(future) || json_integer_value(future) < 0 || json_integer_value(future) > 86400000))
    return vigil__plugin_refuse(err, "plugins.hl7.max_future_ms: 0 to 86400000 (how far MSH-7 may be ahead of vigil's "
                                     "clock)");
  if (authority && (!json_is_string(authority) || !*json_string_value(authority) ||
                    strlen(json_string_value(authority)) > ADT_MAX_VALUE))
    return vigil__plugin_refuse(err,
                                "plugins.hl7.authority: the assigning authority (PID-3.4) of the clinic's own "
                                "patient numbers, text of 1 to %d bytes",
                                ADT_MAX_VALUE);
  if (authority && !(h->authority = strdup(json_string_value(authority)))) return -1;
  /* J1: a time without an offset is the sender's local time (HL7 v2 DTM):
   * read in the zone the site names, timezone here, else site.timezone
   * (plugin ABI 1.8); as UTC when neither is set */
  json_t *tz = json_object_get(s, "timezone");
  const char *zone = tz ? json_string_value(tz)
                     : h->api->abi_minor >= 8 && h->api->size >= offsetof(vigil_api, timezone) + sizeof h->api->timezone
                         ? h->api->timezone(h->p)
                         : NULL;
  char zerr[400];
  if (tz && !zone)
    return vigil__plugin_refuse(err, "plugins.hl7.timezone: the zone of times sent without an offset, an IANA name "
                                     "(\"Australia/Brisbane\")");
  if (zone && vigil__hl7_zone_open(zone, &h->zone, zerr, sizeof zerr) < 0)
    return vigil__plugin_refuse(err, "plugins.hl7.timezone%s: %s", tz ? "" : " (site.timezone)", zerr);
  h->host = strdup(host ? json_string_value(host) : "127.0.0.1");
  h->app = strdup(app ? json_string_value(app) : "VIGIL");
  h->facility = strdup(fac ? json_string_value(fac) : "");
  h->port = port ? (int)json_integer_value(port) : 0;
  h->max_message = max ? (size_t)json_integer_value(max) : 1 << 20;
  h->ack_timeout_ms = wait ? (unsigned)json_integer_value(wait) : 10000;
  h->max_connections = conns ? (unsigned)json_integer_value(conns) : 32;
  h->idle_timeout_ms = idle ? (unsigned)json_integer_value(idle) : 300000;
  h->frame_timeout_ms = ftime ? (unsigned)json_integer_value(ftime) : 30000;
  h->max_future_ms = future ? (long long)json_integer_value(future) : 300000;
  h->test_site = json_is_true(test_site);
  if (!h->host || !h->app || !h->facility) return -1;
  return 0;
}

/* Binds and listens: 0, or libuv's error (UV_EADDRINUSE: another process
 * holds the port). A bind that failed leaves the socket unbound, so it is
 * bound again on the same handle. */
static int bind_listener(hl7p *h) {
  int rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&h->addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
  h->bound = rc == 0;
  h->api->metric_set(h->p, "listening", "gauge",
                     "1 when the MLLP listener is bound; 0 while its port is in use (tried again each second)", NULL,
                     h->bound);
  return rc;
}

static void on_rebind(uv_timer_t *t) {
  hl7p *h = t->data;
  if (h->closing) return;
  int rc = bind_listener(h);
  if (rc == UV_EADDRINUSE) return;
  uv_timer_stop(&h->rebind);
  if (rc < 0)
    say(h, VIGIL_PLUGIN_LOG_ERROR, "cannot listen for MLLP on %s:%d: %s; not trying again", h->host, h->port,
        uv_strerror(rc));
  else
    say(h, VIGIL_PLUGIN_LOG_INFO, "MLLP listener on %s:%d (the port is free now)", h->host, h->port);
}

static int init(vigil_plugin *p, const vigil_api *api, char **err) {
  if (api->abi_minor < 4 || api->size < offsetof(vigil_api, patient_record) + sizeof api->patient_record)
    return vigil__plugin_refuse(err, "the hl7 plugin needs plugin ABI 1.4 (patient_record); this vigil has %u.%u",
                                api->abi_major, api->abi_minor);
  hl7p *h = calloc(1, sizeof *h);
  json_t *s = json_loads(api->settings(p), 0, NULL);
  if (!h || !s) {
    free(h);
    json_decref(s);
    return -1;
  }
  h->p = p;
  h->api = api;
  h->loop = api->loop(p);
  unsigned char run[4];
  if (uv_random(NULL, NULL, run, sizeof run, 0, NULL) < 0) {
    free(h);
    json_decref(s);
    return vigil__plugin_refuse(err, "the hl7 plugin could not read the system's random source for its ACK ids");
  }
  snprintf(h->run, sizeof h->run, "%02x%02x%02x%02x", run[0], run[1], run[2], run[3]);
  int rc = read_settings(h, s, err);
  json_t *alarm_settings = json_incref(json_object_get(s, "alarms"));
  json_t *ehr_settings = json_incref(json_object_get(s, "ehr"));
  json_decref(s);
  if (rc < 0) {
    json_decref(alarm_settings);
    json_decref(ehr_settings);
    free(h->host);
    free(h->app);
    free(h->facility);
    free(h->authority);
    vigil__hl7_zone_free(h->zone);
    json_decref(h->records);
    free(h);
    return rc;
  }
  uv_tcp_init(h->loop, &h->listener);
  h->listener.data = h;
  h->listening = 1;
  if ((rc = api->on_close(p, on_close, h)) < 0) {
    on_close(h);
    json_decref(alarm_settings);
    json_decref(ehr_settings);
    return rc;
  }
  if (alarm_settings) {
    rc = vigil__hl7_alarms_start(p, api, alarm_settings, &h->alarms, err);
    json_decref(alarm_settings);
    if (rc < 0) {
      json_decref(ehr_settings);
      return rc;
    }
  }
  if (ehr_settings) {
    rc = vigil__hl7_ehr_start(p, api, ehr_settings, &h->ehr, err);
    json_decref(ehr_settings);
    if (rc < 0) return rc;
  }
  if (rc == 0 && !h->port) {
    if ((rc = api->on_status(p, status, h)) < 0) return rc;
    say(h, VIGIL_PLUGIN_LOG_INFO, "no MLLP listener (no port): %s out only",
        h->alarms && h->ehr ? "alarms and results"
        : h->alarms         ? "alarms"
                            : "results");
    return 0;
  }
  struct sockaddr_storage sa;
  if (uv_ip4_addr(h->host, h->port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(h->host, h->port, (struct sockaddr_in6 *)&sa) != 0)
    return vigil__plugin_refuse(err, "plugins.hl7.host: '%s' is not an IP address", h->host);
  h->addr = sa;
  if ((rc = bind_listener(h)) == UV_EADDRINUSE) {
    uv_timer_init(h->loop, &h->rebind);
    h->rebind.data = h;
    h->rebinding = 1;
    uv_timer_start(&h->rebind, on_rebind, 1000, 1000);
    uv_unref((uv_handle_t *)&h->rebind);
    say(h, VIGIL_PLUGIN_LOG_ERROR,
        "cannot listen for MLLP on %s:%d: address already in use; trying again each second (alarms out go on; "
        "/healthz says degraded meanwhile)",
        h->host, h->port);
  } else if (rc < 0)
    return vigil__plugin_refuse(err, "cannot listen for MLLP on %s:%d: %s", h->host, h->port, uv_strerror(rc));
  /* The records as they stand, from the log (A2, A3, A6 in docs/hl7.md). */
  if (!(h->records = json_object())) return -1;
  if ((rc = api->events_after(p, 0, learn_event, h)) < 0) return rc;
  if ((rc = api->subscribe(p, "patient.*", on_patient_event, h)) < 0) return rc;
  /* A4: idle and stalled connections swept each second. */
  if (h->idle_timeout_ms || h->frame_timeout_ms) {
    uv_timer_init(h->loop, &h->sweep);
    h->sweep.data = h;
    h->sweeping = 1;
    uv_timer_start(&h->sweep, on_sweep, 1000, 1000);
    uv_unref((uv_handle_t *)&h->sweep);
  }
  if ((rc = api->on_status(p, status, h)) < 0) return rc;
  /* Not said while the port is in use: the line would read as listening
   * right after "cannot listen" (the mid-session try, finding 7). */
  if (h->bound)
    say(h, VIGIL_PLUGIN_LOG_INFO,
        "MLLP listener on %s:%d (HL7 v2 ADT A01, A04, A08, A40; times without an offset in %s)", h->host, h->port,
        h->zone ? vigil__hl7_zone_name(h->zone) : "UTC (no timezone set)");
  return 0;
}

VIGIL_PLUGIN_DEFINE(HL7_VERSION, init);
