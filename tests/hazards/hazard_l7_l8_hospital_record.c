/* L7 and L8 (docs/safety.md; A1 and A5 in docs/hl7.md).
 *
 * L7: after an
 * ADT with AL1|1|DA|KET^Ketamine^L|SV|Anaphylaxis, a ketamine visit started
 * without a word; the allergy was in the API only.
 *
 * End to end: a real `vigil serve` with the hl7 plugin's MLLP listener, the
 * bundled ketamine_iv (drug = { names = { "ketamine", ... } }) on the
 * simulated clock. The record comes in over MLLP; the visit's start raises a
 * high, carried alert naming the allergy that holds screening (409
 * gate_not_met naming it); a nurse cannot acknowledge it away, a clinician
 * acknowledges it with a reason and the hold is gone. A patient allergic to
 * penicillin only gets no alert; an A08 adding a ketamine allergy during
 * that patient's open visit raises it then. Fails without the control
 * (core/engine/patient_record.c: no alert, the gate names no allergy).
 *
 * L8: a merge (A40) of a patient with an open visit left two patients
 * running, and a visit for the merged reference was taken without a word.
 * Here a visit for the merged reference is 409 merged_patient naming the
 * survivor; the survivor's visit is 409 while the merged reference's visit
 * is open; once that session completed, the survivor's next session's first
 * gate holds for the course's minimum interval, naming the merge. Fails
 * without the control (201 each). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "alarm_serve.h"

static int hl7_port;

static int setup(void **state) {
  alarm_serve *a = calloc(1, sizeof *a);
  const char *protocols[] = {"@ketamine_iv"};
  char extra[128];
  hl7_port = hc_free_port();
  snprintf(extra, sizeof extra, "plugins = { hl7 = { port = %d } }", hl7_port);
  if (!a || alarm_start_with(a, protocols, 1, extra) < 0) {
    if (a) serve_cleanup(&a->s);
    free(a);
    return -1;
  }
  *state = a;
  return 0;
}

/* Sends one ADT message over MLLP: its ACK's MSA-1 ("AA"), or "" when none came. */
static const char *send_adt(const char *msg) {
  static char code[3];
  code[0] = '\0';
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hl7_port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int up = -1;
  for (int i = 0; i < 100 && up < 0; i++)
    if ((up = connect(fd, (struct sockaddr *)&sa, sizeof sa)) < 0) usleep(50000);
  char framed[4096];
  int n = snprintf(framed, sizeof framed, "\x0b%s\x1c\r", msg);
  if (up == 0 && write(fd, framed, (size_t)n) == n) {
    char buf[4096];
    size_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (got < sizeof buf - 1 && poll(&p, 1, 10000) > 0) {
      ssize_t k = read(fd, buf + got, sizeof buf - 1 - got);
      if (k <= 0) break;
      got += (size_t)k;
      if (got >= 2 && buf[got - 2] == 0x1c) break;
    }
    buf[got] = '\0';
    const char *msa = strstr(buf, "MSA|");
    if (msa) snprintf(code, sizeof code, "%.2s", msa + 4);
  }
  close(fd);
  return code;
}

#define ADT(event, control, patient, al1)                                                                              \
  "MSH|^~\\&|HIS|WARD|VIGIL||20260105120000||ADT^" event "^ADT_A01|" control "|P|2.5.1\r"                              \
  "EVN|" event "|20260105120000\r"                                                                                     \
  "PID|1||" patient "^^^HOSP^MR||DOE^JANE||19800214|F\r" al1

static uint64_t start(alarm_serve *a, const char *patient) {
  char body[256];
  snprintf(body, sizeof body, "{\"protocol\": \"ketamine_iv\", \"patient\": \"%s\", \"params\": {\"weight\": 70}}",
           patient);
  json_t *r;
  assert_int_equal(alarm_call(a, NULL, "POST", "/api/v1/visits", body, &r), 201);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  return id;
}

/* POST /visits/{id}/advance as the nurse: the status and the refusal's text. */
static int advance(alarm_serve *a, uint64_t visit, char *text, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/advance", (unsigned long long)visit);
  json_t *r = NULL;
  int status = alarm_call(a, NULL, "POST", path, "{}", &r);
  char *all = r ? json_dumps(r, 0) : NULL;
  snprintf(text, len, "%s", all ? all : "");
  free(all);
  json_decref(r);
  return status;
}

static int ack(alarm_serve *a, const char *who, uint64_t alert, const char *body) {
  char path[64];
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alert);
  return alarm_call(a, who, "POST", path, body, NULL);
}

static void a_drug_allergy_on_the_record_holds_the_visit(void **state) {
  alarm_serve *a = *state;
  char text[16384], want[64];
  assert_string_equal(send_adt(ADT("A01", "L7-1", "MRN-L7",
                                   "AL1|1|DA|KET^Ketamine^L|SV|Anaphylaxis\rAL1|2|DA|PCN^Penicillin^L|MI|Rash\r")),
                      "AA");
  uint64_t id = start(a, "MRN-L7");
  json_t *al = alarm_latest(a, id, "patient.allergy");
  if (!al) fail_msg("no allergy alert at the start of a ketamine visit for a patient allergic to ketamine");
  assert_string_equal(alarm_str(al, "priority"), "high");
  assert_non_null(strstr(alarm_str(al, "message"), "Ketamine"));
  assert_non_null(strstr(alarm_str(al, "message"), "Anaphylaxis"));
  assert_null(strstr(alarm_str(al, "message"), "Penicillin")); /* only what names the drug */
  assert_int_equal(alarm_count(a, id, NULL), 1);

  /* It holds screening. */
  snprintf(want, sizeof want, "high alert %llu", (unsigned long long)alarm_id(al));
  assert_int_equal(advance(a, id, text, sizeof text), 409);
  if (!strstr(text, want)) fail_msg("the refusal does not name %s: %s", want, text);

  /* Seen is not enough: a clinician's reason. */
  assert_int_equal(ack(a, NULL, alarm_id(al), "{\"reason\": \"seen it\"}"), 403);
  assert_int_equal(ack(a, ALARM_CLINICIAN, alarm_id(al), "{}"), 422);
  assert_int_equal(ack(a, ALARM_CLINICIAN, alarm_id(al),
                       "{\"reason\": \"not an allergy: nausea in 2019, discussed with the patient\"}"),
                   200);
  assert_int_equal(advance(a, id, text, sizeof text), 409);                                 /* screening is not done, */
  if (strstr(text, want)) fail_msg("the acknowledged allergy alert still holds: %s", text); /* but not for it */
  json_decref(al);
}

static void a_record_during_the_visit_raises_it(void **state) {
  alarm_serve *a = *state;
  assert_string_equal(send_adt(ADT("A01", "L7-2", "MRN-L7B", "AL1|1|DA|PCN^Penicillin^L|SV|Hives\r")), "AA");
  uint64_t id = start(a, "MRN-L7B");
  assert_int_equal(alarm_count(a, id, NULL), 0); /* penicillin: nothing to say */
  assert_string_equal(
      send_adt(ADT("A08", "L7-3", "MRN-L7B",
                   "AL1|1|DA|PCN^Penicillin^L|SV|Hives\rAL1|2|DA|^esketamine nasal spray|MO|Hallucinations\r")),
      "AA");
  json_t *al = alarm_latest(a, id, "patient.allergy");
  if (!al) fail_msg("an A08 with a ketamine allergy during the open visit raised nothing");
  assert_string_equal(alarm_str(al, "priority"), "high");
  assert_non_null(strstr(alarm_str(al, "message"), "esketamine nasal spray"));
  /* The same record again raises it once. */
  assert_string_equal(
      send_adt(ADT("A08", "L7-4", "MRN-L7B",
                   "AL1|1|DA|PCN^Penicillin^L|SV|Hives\rAL1|2|DA|^esketamine nasal spray|MO|Hallucinations\r")),
      "AA");
  assert_int_equal(alarm_count(a, id, NULL), 1);
  json_decref(al);
}

#define OBS                                                                                                            \
  "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\", "                 \
  "\"dissociation\": \"none\"}"
#define FIT                                                                                                            \
  "{\"aldrete\": {\"activity\": 2, \"respiration\": 2, \"circulation\": 2, \"consciousness\": 2, \"spo2\": 2},"        \
  " \"responsible_adult\": true, \"no_driving_advice\": true, \"written_instructions\": true}"

/* POST /visits {patient} for ketamine_iv: the status and the error's code and message. */
static int try_start(alarm_serve *a, const char *patient, char *text, size_t len) {
  char body[256];
  snprintf(body, sizeof body, "{\"protocol\": \"ketamine_iv\", \"patient\": \"%s\", \"params\": {\"weight\": 70}}",
           patient);
  json_t *r = NULL;
  int status = alarm_call(a, NULL, "POST", "/api/v1/visits", body, &r);
  char *all = r ? json_dumps(r, 0) : NULL;
  snprintf(text, len, "%s", all ? all : "");
  free(all);
  json_decref(r);
  return status;
}

static void a_merged_reference_is_the_survivor(void **state) {
  alarm_serve *a = *state;
  char text[16384];
  assert_string_equal(send_adt(ADT("A01", "L8-1", "OLD8", "")), "AA");
  uint64_t old = start(a, "OLD8");
  assert_string_equal(send_adt("MSH|^~\\&|HIS|WARD|VIGIL||20260105140000||ADT^A40^ADT_A39|L8-2|P|2.5.1\r"
                               "EVN|A40|20260105140000\r"
                               "PID|1||NEW8^^^HOSP^MR||DOE^JANE||19800214|F\r"
                               "MRG|OLD8^^^HOSP^MR\r"),
                      "AA");
  /* The merged reference takes no new visit: the survivor is named. */
  assert_int_equal(try_start(a, "OLD8", text, sizeof text), 409);
  if (!strstr(text, "merged_patient") || !strstr(text, "NEW8")) fail_msg("not a merged_patient naming NEW8: %s", text);
  /* One patient: OLD8's open session keeps NEW8 from another. */
  char want[64];
  snprintf(want, sizeof want, "visit %llu open", (unsigned long long)old);
  assert_int_equal(try_start(a, "NEW8", text, sizeof text), 409);
  if (!strstr(text, want)) fail_msg("the refusal does not name OLD8's open visit: %s", text);

  /* OLD8's session completes (screening, infusion and observation
   * overridden by the clinician, an hour of calm vitals, fit to leave). Its
   * infusion started: a session discharged with no dose given counts for no
   * minimum interval (docs/safety.md U4). */
  assert_int_equal(alarm_override(a, old), 200);
  assert_int_equal(alarm_record(a, old, "{\"infusion_started\": true}"), 200);
  assert_int_equal(alarm_override(a, old), 200);
  for (int k = 1; k <= 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, old, OBS), 200);
  }
  assert_int_equal(alarm_override(a, old), 200);
  assert_int_equal(alarm_record(a, old, FIT), 200);
  assert_int_equal(alarm_cmd(a, NULL, old, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}"), 200);

  /* The next session, NEW8's, holds for the course's minimum interval. */
  assert_int_equal(alarm_advance_clock(a, "1h"), 200);
  assert_int_equal(try_start(a, "NEW8", text, sizeof text), 201);
  uint64_t next = (uint64_t)atoll(strstr(text, "\"id\":") + 5);
  assert_int_equal(advance(a, next, text, sizeof text), 409);
  if (!strstr(text, "merged into NEW8") || !strstr(text, "minimum interval"))
    fail_msg("the survivor's session does not hold after the merged reference's: %s", text);
}

/* N4 (docs/safety.md): an allergy to the drug under other names was not
 * alerted (Ketanest, Kétamine, Spravato for a ketamine infusion; RxNorm 6130
 * sent as a code without text, shown as a bare "6130"). The protocol's drug
 * lists the names and codes, compared folded with the marks off; a coded
 * allergy says its code system. A drug that only begins alike (ketorolac)
 * alerts nothing. Fails without the control (no alert for Kétamine). Q6:
 * Ketaset, Ketaject, Vetalar and SNOMED CT 373464007 alike (ketamine_iv 1.6.2;
 * fails without them: no alert for Ketaset). */
static void the_drug_under_other_names_and_codes(void **state) {
  alarm_serve *a = *state;
  static const struct {
    const char *patient, *al1, *says;
  } cases[] = {
      {"N4-1", "AL1|1|DA|^K\xc3\xa9tamine|SV|Anaphylaxie\r", "K\xc3\xa9tamine"},
      {"N4-2", "AL1|1|DA|^KETANEST S|MO|Rash\r", "KETANEST S"},
      {"N4-3", "AL1|1|DA|^Spravato nasal spray|SV|Angioedema\r", "Spravato"},
      {"N4-4", "AL1|1|DA|6130^^RXNORM|SV|Anaphylaxis\r", "RXNORM 6130"},
      {"N4-5", "AL1|1|DA|^KETAM\xc3\x8dNA|SV|Anafilaxia\r", "KETAM\xc3\x8dNA"}, /* no name listed with the mark */
      /* Q6: veterinary brands (a record of a patient who works with animals) and SNOMED CT's
       * ketamine (substance), sent as a code without text. */
      {"Q6-1", "AL1|1|DA|^Ketaset|SV|Anaphylaxis\r", "Ketaset"},
      {"Q6-2", "AL1|1|DA|^KETAJECT|MO|Urticaria\r", "KETAJECT"},
      {"Q6-3", "AL1|1|DA|^Vetalar-V|SV|Anaphylaxis\r", "Vetalar-V"},
      {"Q6-4", "AL1|1|DA|373464007^^SCT|SV|Anaphylaxis\r", "SCT 373464007"},
  };
  char msg[512];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(msg, sizeof msg, ADT("A01", "N4-%zu", "%s", "%s"), i, cases[i].patient, cases[i].al1);
    assert_string_equal(send_adt(msg), "AA");
    uint64_t id = start(a, cases[i].patient);
    json_t *al = alarm_latest(a, id, "patient.allergy");
    if (!al) fail_msg("no allergy alert for %s", cases[i].al1);
    if (!strstr(alarm_str(al, "message"), cases[i].says)) fail_msg("said: %s", alarm_str(al, "message"));
    json_decref(al);
  }
  assert_string_equal(send_adt(ADT("A01", "N4-9", "N4-9", "AL1|1|DA|^Ketorolac|MO|Rash\r")), "AA");
  assert_int_equal(alarm_count(a, start(a, "N4-9"), NULL), 0);
}

/* A visit started for patient raises the record's allergy alert. */
static void expect_allergy_alert(alarm_serve *a, const char *patient, const char *otherwise) {
  json_t *al = alarm_latest(a, start(a, patient), "patient.allergy");
  if (!al) fail_msg("%s", otherwise);
  json_decref(al);
}

/* Q6: an A08 without AL1 segments (as many feeds send) wiped a recorded
 * ketamine allergy: the record was a snapshot. Now such an update says nothing
 * about allergies and the recorded ones stay (the record says they were kept);
 * an A08 with AL1 segments is still the whole list. Fails without the control
 * (no allergy alert after the A08). */
static void an_update_without_allergies_keeps_them(void **state) {
  alarm_serve *a = *state;
  assert_string_equal(send_adt(ADT("A01", "Q6-A1", "Q6-A", "AL1|1|DA|^Ketamine|SV|Anaphylaxis\r")), "AA");
  assert_string_equal(send_adt(ADT("A08", "Q6-A2", "Q6-A", "")), "AA");
  expect_allergy_alert(a, "Q6-A", "the A08 without AL1 wiped the ketamine allergy");
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, NULL, "GET", "/api/v1/patients/Q6-A", NULL, &r), 200);
  char *text = json_dumps(r, JSON_COMPACT);
  if (!strstr(text, "the ones recorded before are kept")) fail_msg("the record does not say so: %s", text);
  free(text);
  json_decref(r);
}

/* S4 (docs/safety.md): an A04 without AL1 segments erased a recorded ketamine
 * allergy (Q6 covered only an A08). Any ADT without AL1 says nothing of
 * allergies: the recorded ones stay. Fails without the control (no allergy
 * alert after the A04). */
static void a_registration_without_allergies_keeps_them(void **state) {
  alarm_serve *a = *state;
  assert_string_equal(send_adt(ADT("A01", "S4-A1", "S4-A", "AL1|1|DA|^Ketamine|SV|Anaphylaxis\r")), "AA");
  assert_string_equal(send_adt(ADT("A04", "S4-A2", "S4-A", "")), "AA");
  expect_allergy_alert(a, "S4-A", "the A04 without AL1 wiped the ketamine allergy");
}

/* The allergy of a patient's record (GET /patients/{patient}) whose text is text, or NULL. */
static json_t *record_allergy(json_t *record, const char *text) {
  json_t *al;
  size_t i;
  json_array_foreach(json_object_get(record, "allergies"), i, al) {
    const char *t = json_string_value(json_object_get(al, "text"));
    if (t && !strcmp(t, text)) return al;
  }
  return NULL;
}

/* S4 (b) (docs/safety.md): an A08 whose AL1 list named only Peanut, after an
 * A01 with Ketamine, replaced the list: the ketamine allergy was gone and a
 * ketamine visit started without a word. A recorded drug allergy that an
 * update's list leaves out is kept, marked removed_by the update's control
 * id, and the visit's allergy alert is raised, saying so, until a clinician
 * acknowledges it with a reason (a nurse: 403); a food allergy left out is
 * not kept; a list that names the drug allergy again clears the mark. Fails
 * without the control (no allergy alert after the A08). */
static void a_list_that_drops_a_drug_allergy_keeps_it(void **state) {
  alarm_serve *a = *state;
  assert_string_equal(
      send_adt(ADT("A01", "S4-B1", "S4-B", "AL1|1|DA|KET^Ketamine^L|SV|Anaphylaxis\rAL1|2|FA|^Strawberry|MI|Hives\r")),
      "AA");
  assert_string_equal(send_adt(ADT("A08", "S4-B2", "S4-B", "AL1|1|FA|^Peanut|MO|Hives\r")), "AA");
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, NULL, "GET", "/api/v1/patients/S4-B", NULL, &r), 200);
  json_t *ket = record_allergy(r, "Ketamine");
  if (!ket) fail_msg("the A08 listing only Peanut wiped the ketamine allergy from the record");
  assert_string_equal(json_string_value(json_object_get(ket, "removed_by")), "S4-B2");
  assert_non_null(record_allergy(r, "Peanut"));
  assert_null(record_allergy(r, "Strawberry")); /* a food allergy follows the list */
  json_decref(r);

  uint64_t id = start(a, "S4-B");
  json_t *al = alarm_latest(a, id, "patient.allergy");
  if (!al) fail_msg("the A08 listing only Peanut wiped the ketamine allergy: no alert at the visit's start");
  assert_string_equal(alarm_str(al, "priority"), "high");
  if (!strstr(alarm_str(al, "message"), "message S4-B2 left it out"))
    fail_msg("the alert does not say which message left the allergy out: %s", alarm_str(al, "message"));
  assert_int_equal(ack(a, NULL, alarm_id(al), "{\"reason\": \"the hospital removed it\"}"), 403);
  assert_int_equal(ack(a, ALARM_CLINICIAN, alarm_id(al),
                       "{\"reason\": \"removal confirmed with the patient and the ward: nausea, not allergy\"}"),
                   200);
  json_decref(al);

  /* Listed again, the allergy is the hospital's as sent: no mark. */
  assert_string_equal(send_adt(ADT("A08", "S4-B3", "S4-B", "AL1|1|DA|KET^Ketamine^L|SV|Anaphylaxis\r")), "AA");
  assert_int_equal(alarm_call(a, NULL, "GET", "/api/v1/patients/S4-B", NULL, &r), 200);
  ket = record_allergy(r, "Ketamine");
  assert_non_null(ket);
  assert_null(json_object_get(ket, "removed_by"));
  assert_null(record_allergy(r, "Peanut"));
  json_decref(r);
}

/* POST /patients/{patient}/allergies/confirm-removal as who (NULL: the
 * nurse) with body: the status, the answer in *r when r. */
static int confirm_removal(alarm_serve *a, const char *who, const char *patient, const char *body, json_t **r) {
  char path[256];
  snprintf(path, sizeof path, "/api/v1/patients/%s/allergies/confirm-removal", patient);
  return alarm_call(a, who, "POST", path, body, r);
}

/* S4 (docs/safety.md), the record-level confirmation: a clinician's
 * acknowledgement of a kept allergy's alert was the only confirmation, visit
 * by visit, so a removal confirmed at one visit alerted again at the next. A
 * clinician confirms the removal for good on the patient's record, signed
 * (a nurse: 403; no password: 401): the allergy leaves the record's
 * allergies for allergies_removed, saying who and why, a patient.recorded
 * event whose actor is the clinician says so, the next visit raises no
 * alert, and a later list that leaves it out again does not bring it back.
 * An allergy still on the hospital's list is the hospital's to remove (409).
 * Fails without the control (404: no such route; the visit raises it). */
static void a_confirmed_removal_stays_removed(void **state) {
  alarm_serve *a = *state;
  assert_string_equal(send_adt(ADT("A01", "S4-C1", "S4-C", "AL1|1|DA|KET^Ketamine^L|SV|Anaphylaxis\r")), "AA");
  assert_string_equal(send_adt(ADT("A08", "S4-C2", "S4-C", "AL1|1|FA|^Peanut|MO|Hives\r")), "AA");
  const char *why = "{\"allergy\": \"ketamine\", \"reason\": \"checked with the patient and the ward: nausea in "
                    "2019, not an allergy\"";
  char body[512];
  snprintf(body, sizeof body, "%s}", why);
  int st = confirm_removal(a, NULL, "S4-C", body, NULL);
  if (st == 404) fail_msg("no record-level confirmation of a kept allergy's removal (404)");
  assert_int_equal(st, 403);                                                      /* a nurse */
  assert_int_equal(confirm_removal(a, ALARM_CLINICIAN, "S4-C", body, NULL), 401); /* no password */
  assert_int_equal(confirm_removal(a, ALARM_CLINICIAN, "S4-C",
                                   "{\"allergy\": \"Peanut\", \"reason\": \"the hospital's list names it\", "
                                   "\"password\": \"" SERVE_PASSWORD "\"}",
                                   NULL),
                   409); /* on the hospital's list */
  assert_int_equal(confirm_removal(a, ALARM_CLINICIAN, "S4-C",
                                   "{\"allergy\": \"Latex\", \"reason\": \"not on this record at all\", "
                                   "\"password\": \"" SERVE_PASSWORD "\"}",
                                   NULL),
                   422);
  snprintf(body, sizeof body, "%s, \"password\": \"" SERVE_PASSWORD "\"}", why);
  json_t *r = NULL;
  assert_int_equal(confirm_removal(a, ALARM_CLINICIAN, "S4-C", body, &r), 200);
  assert_null(record_allergy(r, "Ketamine"));
  json_t *gone = json_array_get(json_object_get(r, "allergies_removed"), 0);
  assert_string_equal(json_string_value(json_object_get(gone, "text")), "Ketamine");
  assert_string_equal(json_string_value(json_object_get(gone, "removal_confirmed_by")), ALARM_CLINICIAN);
  assert_string_equal(json_string_value(json_object_get(gone, "removed_by")), "S4-C2");
  assert_non_null(strstr(json_string_value(json_object_get(gone, "removal_reason")), "nausea in 2019"));
  json_decref(r);

  /* The event says who confirmed it. */
  assert_int_equal(alarm_call(a, ALARM_ADMIN, "GET", "/api/v1/events?after=0&limit=1000", NULL, &r), 200);
  json_t *events = json_object_get(r, "events"), *last = NULL, *ev;
  size_t i;
  json_array_foreach(events, i, ev) {
    if (!strcmp(json_string_value(json_object_get(ev, "type")), "patient.recorded")) last = ev;
  }
  assert_non_null(last);
  assert_string_equal(json_string_value(json_object_get(last, "actor")), ALARM_CLINICIAN);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(json_object_get(last, "data"), "removal_confirmed"), "text")),
      "Ketamine");
  json_decref(r);

  /* The next visit raises no alert; a list that leaves it out again does not bring it back. */
  uint64_t id = start(a, "S4-C");
  json_t *al = alarm_latest(a, id, "patient.allergy");
  if (al) fail_msg("the confirmed removal alerted again at the next visit: %s", alarm_str(al, "message"));
  assert_string_equal(send_adt(ADT("A08", "S4-C3", "S4-C", "AL1|1|FA|^Peanut|MO|Hives\r")), "AA");
  assert_int_equal(alarm_call(a, NULL, "GET", "/api/v1/patients/S4-C", NULL, &r), 200);
  assert_null(record_allergy(r, "Ketamine"));
  gone = json_array_get(json_object_get(json_object_get(r, "demographics"), "allergies_removed"), 0);
  if (!gone) fail_msg("the next message lost who confirmed the removal: %s", json_dumps(r, 0));
  assert_string_equal(json_string_value(json_object_get(gone, "removal_confirmed_by")), ALARM_CLINICIAN);
  json_decref(r);
}

/* N3 (docs/safety.md): a lower-case spelling of a merge's survivor (mg-b for
 * MG-B, MG-A merged into it with a visit open) started a visit (201) and its
 * banner said "no hospital record". The record is the patient's whatever the
 * case or look-alike characters of its reference: the start is refused as
 * spelled like the record's patient (409 similar_patient naming it), and with
 * new_patient: true the merged reference's open visit still holds it (409
 * naming it); the merged reference spelled otherwise is the survivor; the
 * record lookup gives the record, saying whose; an allergy on it alerts.
 * Fails without the control (201 at mg-b, a null record). */
static void a_survivor_spelled_otherwise_is_the_survivor(void **state) {
  alarm_serve *a = *state;
  char text[16384], body[256];
  assert_string_equal(send_adt(ADT("A01", "N3-1", "MG-A", "")), "AA");
  uint64_t open = start(a, "MG-A");
  assert_string_equal(send_adt("MSH|^~\\&|HIS|WARD|VIGIL||20260105140000||ADT^A40^ADT_A39|N3-2|P|2.5.1\r"
                               "EVN|A40|20260105140000\r"
                               "PID|1||MG-B^^^HOSP^MR||DOE^JANE||19800214|F\r"
                               "MRG|MG-A^^^HOSP^MR\r"),
                      "AA");
  assert_int_equal(try_start(a, "mg-b", text, sizeof text), 409);
  if (!strstr(text, "similar_patient") || !strstr(text, "MG-B"))
    fail_msg("mg-b is not refused as spelled like MG-B: %s", text);
  /* Said to be a new patient, it is still one patient with MG-A, whose visit is open. */
  snprintf(
      body, sizeof body,
      "{\"protocol\": \"ketamine_iv\", \"patient\": \"mg-b\", \"new_patient\": true, \"params\": {\"weight\": 70}}");
  json_t *r = NULL;
  assert_int_equal(alarm_call(a, ALARM_CLINICIAN, "POST", "/api/v1/visits", body, &r), 409);
  char *all = r ? json_dumps(r, 0) : NULL;
  char want[64];
  snprintf(want, sizeof want, "visit %llu open", (unsigned long long)open);
  if (!all || !strstr(all, want)) fail_msg("mg-b as a new patient does not meet MG-A's open visit: %s", all);
  free(all);
  json_decref(r);
  /* The merged reference, spelled otherwise, is the survivor. */
  assert_int_equal(try_start(a, "mg-a", text, sizeof text), 409);
  if (!strstr(text, "merged_patient") || !strstr(text, "MG-B")) fail_msg("mg-a is not merged into MG-B: %s", text);
  /* The record lookup finds the record, and says whose. */
  assert_int_equal(alarm_call(a, NULL, "GET", "/api/v1/patients/mg-b", NULL, &r), 200);
  json_t *d = json_object_get(r, "demographics");
  if (!json_is_object(d)) fail_msg("no record for mg-b");
  assert_string_equal(json_string_value(json_object_get(d, "record_of")), "MG-B");
  json_decref(r);

  /* An allergy on a record spelled otherwise alerts at the start. */
  assert_string_equal(send_adt(ADT("A01", "N3-3", "AL-N3", "AL1|1|DA|KET^Ketamine^L|SV|Anaphylaxis\r")), "AA");
  snprintf(
      body, sizeof body,
      "{\"protocol\": \"ketamine_iv\", \"patient\": \"al-n3\", \"new_patient\": true, \"params\": {\"weight\": 70}}");
  assert_int_equal(alarm_call(a, NULL, "POST", "/api/v1/visits", body, &r), 201);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r, "id"));
  json_decref(r);
  json_t *al = alarm_latest(a, id, "patient.allergy");
  if (!al) fail_msg("no allergy alert for al-n3, whose record is AL-N3's");
  json_decref(al);
  /* ... and a record arriving during the visit of a reference spelled otherwise (P8). */
  uint64_t during = start(a, "AO-N3");
  assert_string_equal(send_adt(ADT("A08", "N3-4", "ao-n3", "AL1|1|DA|KET^Ketamine^L|SV|Anaphylaxis\r")), "AA");
  al = alarm_latest(a, during, "patient.allergy");
  if (!al) fail_msg("an A08 for ao-n3 raised nothing on AO-N3's open visit");
  json_decref(al);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_drug_allergy_on_the_record_holds_the_visit, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_record_during_the_visit_raises_it, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_merged_reference_is_the_survivor, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(an_update_without_allergies_keeps_them, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_registration_without_allergies_keeps_them, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_list_that_drops_a_drug_allergy_keeps_it, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_confirmed_removal_stays_removed, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(a_survivor_spelled_otherwise_is_the_survivor, setup, alarm_teardown),
      cmocka_unit_test_setup_teardown(the_drug_under_other_names_and_codes, setup, alarm_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
