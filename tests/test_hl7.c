/* test_hl7.c: the hl7 plugin (HL7 v2 ADT over MLLP, docs/hl7.md) against a
 * real `vigil serve`, with the test's own MLLP client.
 *
 *   - a_patient_in: ADT^A01 is acknowledged AA naming its control id, and
 *     the patient's record (name, birth date, sex, MRN and other
 *     identifiers, allergies) is in GET /api/v1/patients/{patient};
 *     kill -9 right after each of a run of AAs loses none of them;
 *   - duplicates_across_restarts: the same control id again is AA and not
 *     applied again, also after a restart; A08 updates the record;
 *   - malformed_refused: bytes outside a frame, a broken MSH, an unsupported
 *     message, a bad date of birth: AR or AE with the reason in MSA-3 and
 *     ERR, logged, nothing recorded, and the next good message is AA;
 *   - a40_merges: the prior patient's record says merged_into and the
 *     survivor's merged_from.
 *
 * `test_hl7 interop` (ctest hl7_interop) runs the same kinds of cases with
 * an independent HL7 v2 implementation from npm (node-hl7-client builds
 * the messages, sends them over MLLP and parses vigil's ACKs;
 * tests/hl7/interop.cjs), with a restart in between. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "adt.h"
#include "authority.h"
#include "hl7.h"
#include "http_client.h"
#include "serve_process.h"

static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'chair' {\n"
                              "  version = '1.0.0',\n"
                              "  phases = { v.phase 'one' { items = {\n"
                              "    v.vitals 'vitals' { fields = { 'sbp' } },\n"
                              "  } } },\n"
                              "}\n";

typedef struct fixture {
  serve_process s;
  int port;
} fixture;

/* vigil with the hl7 plugin listening on a port of its own: before (Lua
 * of vigil.conf) then plugins.hl7 with more settings after its port. */
static int setup_with(void **state, const char *before, const char *more) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || serve_setup(&f->s, PROTOCOL) < 0) return -1;
  f->port = hc_free_port();
  char extra[512];
  snprintf(extra, sizeof extra, "%splugins = { hl7 = { port = %d, %s } }\n", before, f->port, more);
  serve_configure(&f->s, extra);
  if (serve_start(&f->s) < 0) return -1;
  *state = f;
  return 0;
}

static int setup(void **state) { return setup_with(state, "", "application = 'VIGIL', facility = 'CLINIC'"); }

static int teardown(void **state) {
  fixture *f = *state;
  serve_cleanup(&f->s);
  free(f);
  return 0;
}

/* ---- an MLLP client ---- */

static int mllp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 100; i++) {
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    usleep(50000);
  }
  close(fd);
  return -1;
}

/* Reads one framed answer (10 s at most): malloc'd, unframed; NULL on none. */
static char *read_ack(int fd) {
  static char buf[65536];
  size_t n = 0;
  /* One byte at a time: two answers sent back to back may arrive in one
   * read, and the second belongs to the next call. */
  while (n < sizeof buf - 1) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 10000) <= 0) return NULL;
    ssize_t k = read(fd, buf + n, 1);
    if (k <= 0) return NULL;
    n += (size_t)k;
    if (n >= 3 && buf[n - 2] == MLLP_END && buf[n - 1] == MLLP_CR) break;
  }
  if (n < 3 || buf[0] != MLLP_START) return NULL;
  return strndup(buf + 1, n - 3);
}

static void send_raw(int fd, const char *bytes, size_t len) { assert_int_equal(write(fd, bytes, len), (ssize_t)len); }

/* Sends msg framed; the ACK parsed into *ack (vigil__hl7_free after). */
static void exchange(int fd, const char *msg, hl7_msg *ack) {
  size_t len;
  char *framed = vigil__mllp_wrap(msg, strlen(msg), &len);
  send_raw(fd, framed, len);
  free(framed);
  char *text = read_ack(fd);
  assert_non_null(text);
  char err[256];
  if (vigil__hl7_parse(ack, text, strlen(text), err, sizeof err) < 0) fail_msg("the ACK does not parse: %s", err);
  free(text);
}

static void field_is(const hl7_msg *m, const char *seg, int f, int c, const char *want) {
  char v[512];
  long i = vigil__hl7_find(m, seg, 0);
  if (i < 0) fail_msg("no %s in the ACK", seg);
  vigil__hl7_value(m, (size_t)i, f, 0, c, 0, v, sizeof v);
  if (strcmp(v, want)) fail_msg("%s-%d.%d is '%s', not '%s'", seg, f, c, v, want);
}

static void field_has(const hl7_msg *m, const char *seg, int f, int c, const char *part) {
  char v[512];
  long i = vigil__hl7_find(m, seg, 0);
  if (i < 0) fail_msg("no %s in the ACK", seg);
  vigil__hl7_value(m, (size_t)i, f, 0, c, 0, v, sizeof v);
  if (!strstr(v, part)) fail_msg("%s-%d.%d is '%s', without '%s'", seg, f, c, v, part);
}

/* Sends msg on a new connection and checks MSA-1 and MSA-2. */
static void expect_ack(fixture *f, const char *msg, const char *code, const char *control, hl7_msg *ack) {
  int fd = mllp_connect(f->port);
  assert_true(fd >= 0);
  exchange(fd, msg, ack);
  close(fd);
  field_is(ack, "MSA", 1, 0, code);
  field_is(ack, "MSA", 2, 0, control);
}

static json_t *get_json(fixture *f, const char *path, int want_status) {
  char *body = NULL;
  int st = serve_request(&f->s, "GET", path, NULL, &body);
  if (st != want_status) fail_msg("GET %s: %d, not %d: %s", path, st, want_status, body ? body : "");
  json_t *j = json_loads(body ? body : "null", JSON_DECODE_ANY, NULL);
  free(body);
  assert_non_null(j);
  return j;
}

static int count_events(fixture *f, const char *type) {
  json_t *j = get_json(f, "/api/v1/events?after=0&limit=1000", 200);
  int n = 0;
  size_t i;
  json_t *ev;
  json_array_foreach(json_object_get(j, "events"), i, ev) n +=
      !strcmp(json_string_value(json_object_get(ev, "type")), type);
  json_decref(j);
  return n;
}

static const char *text_at(json_t *j, const char *path) {
  char p[256];
  snprintf(p, sizeof p, "%s", path);
  json_t *cur = j;
  for (char *k = strtok(p, "."); k && cur; k = strtok(NULL, "."))
    cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(k)) : json_object_get(cur, k);
  return cur ? json_string_value(cur) : NULL;
}

static void text_is(json_t *j, const char *path, const char *want) {
  const char *got = text_at(j, path);
  if (!got || strcmp(got, want)) {
    char *d = json_dumps(j, 0);
    fail_msg("%s is '%s', not '%s' in %s", path, got ? got : "(none)", want, d);
  }
}

#define A01                                                                                                            \
  "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01^ADT_A01|%s|P|2.5.1\r"                                       \
  "EVN|A01|20260105120000\r"                                                                                           \
  "PID|1||%s^^^HOSP^MR~999-88-7777^^^SSA^SS||DOE^JANE^Q||19800214|F\r"                                                 \
  "AL1|1|DA|PCN^Penicillin^L|SV|Hives~Rash\r"                                                                          \
  "AL1|2|FA|^Peanut \\T\\ tree nuts\r"

/* A new visit of patient exported as FHIR (`vigil export fhir`): the Bundle. */
static json_t *export_visit(fixture *f, const char *patient) {
  uint64_t visit = serve_start_visit(&f->s, "chair", patient);
  assert_true(visit > 0);
  char cmd[9000], out[128];
  snprintf(out, sizeof out, "%s/bundle.json", f->s.root);
  snprintf(cmd, sizeof cmd, "'%s' export fhir %llu --db '%s/vigil.db' > '%s'", f->s.vigil, (unsigned long long)visit,
           f->s.root, out);
  assert_int_equal(system(cmd), 0);
  json_t *b = json_load_file(out, 0, NULL);
  assert_non_null(b);
  return b;
}

/* b written to VIGIL_FHIR_OUT/name, when set, for the FHIR R4 schema check
 * (ctest fhir_schema). */
static void keep_bundle(json_t *b, const char *name) {
  const char *dir = getenv("VIGIL_FHIR_OUT");
  if (dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(json_dump_file(b, path, JSON_COMPACT), 0);
  }
}

/* A visit of the patient exported as FHIR: the Bundle's Patient and
 * AllergyIntolerance say the record. */
static void fhir_has_the_record(fixture *f) {
  json_t *b = export_visit(f, "123456");
  json_t *pat = NULL, *allergy = NULL, *e;
  size_t i;
  json_array_foreach(json_object_get(b, "entry"), i, e) {
    const char *rt = text_at(e, "resource.resourceType");
    if (!strcmp(rt, "Patient")) pat = json_object_get(e, "resource");
    if (!strcmp(rt, "AllergyIntolerance") && !allergy) allergy = json_object_get(e, "resource");
  }
  if (!pat || !allergy) fail_msg("no Patient or AllergyIntolerance in %s", json_dumps(b, 0));
  text_is(pat, "name.0.family", "DOE");
  text_is(pat, "name.0.given.0", "JANE");
  text_is(pat, "gender", "female");
  text_is(pat, "birthDate", "1980-02-14");
  text_is(pat, "identifier.0.value", "123456");
  text_is(pat, "identifier.2.value", "999-88-7777");
  text_is(pat, "identifier.2.type.coding.0.code", "SS");
  text_is(allergy, "code.text", "Penicillin");
  text_is(allergy, "criticality", "high");
  text_is(allergy, "category.0", "medication");
  text_is(allergy, "reaction.0.manifestation.1.text", "Rash");
  text_is(allergy, "patient.identifier.value", "123456");
  keep_bundle(b, "hl7-patient.json");
  json_decref(b);
}

/* The Bundle's AllergyIntolerance whose code.text is text, or NULL. */
static json_t *bundle_allergy(json_t *b, const char *text) {
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(b, "entry"), i, e) {
    const char *rt = text_at(e, "resource.resourceType"), *t = text_at(e, "resource.code.text");
    if (!strcmp(rt, "AllergyIntolerance") && t && !strcmp(t, text)) return json_object_get(e, "resource");
  }
  return NULL;
}

/* msg sent and taken: AA naming control. */
static void taken(fixture *f, const char *msg, const char *control) {
  hl7_msg ack;
  expect_ack(f, msg, "AA", control, &ack);
  vigil__hl7_free(&ack);
}

/* The A01 of patient (Penicillin and Peanut) sent and taken. */
static void a01_taken(fixture *f, const char *control, const char *patient) {
  char msg[1024];
  snprintf(msg, sizeof msg, A01, control, patient);
  taken(f, msg, control);
}

/* S4 (docs/safety.md): a visit's FHIR Bundle read the last message's
 * allergies, not the record's: an allergy vigil keeps (Q6: an A08 without
 * AL1; S4 (b): an A08 whose list leaves a drug allergy out) was missing from
 * its AllergyIntolerances. Fails without the control (no Penicillin in the
 * Bundle after the A08). */
static void fhir_has_the_kept_allergies(void **state) {
  fixture *f = *state;
  /* Q6: A01 with Penicillin and Peanut, then an A08 without AL1. */
  a01_taken(f, "KQ1", "KEPT-Q");
  taken(f,
        "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105130000||ADT^A08^ADT_A01|KQ2|P|2.5.1\r"
        "PID|1||KEPT-Q^^^HOSP^MR||DOE^JANE||19800214|F\r",
        "KQ2");
  json_t *b = export_visit(f, "KEPT-Q");
  if (!bundle_allergy(b, "Penicillin") || !bundle_allergy(b, "Peanut & tree nuts"))
    fail_msg("the Bundle after an A08 without AL1 lost the kept allergies: %s", json_dumps(b, 0));
  json_decref(b);

  /* S4 (b): A01 with Penicillin and Peanut, then an A08 listing only Peanut. */
  a01_taken(f, "KB1", "KEPT-B");
  taken(f,
        "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105130000||ADT^A08^ADT_A01|KB2|P|2.5.1\r"
        "PID|1||KEPT-B^^^HOSP^MR||DOE^JANE||19800214|F\r"
        "AL1|1|FA|^Peanut \\T\\ tree nuts\r",
        "KB2");
  b = export_visit(f, "KEPT-B");
  json_t *pcn = bundle_allergy(b, "Penicillin");
  if (!pcn) fail_msg("the Bundle after an A08 listing only Peanut lost the kept Penicillin: %s", json_dumps(b, 0));
  text_is(pcn, "clinicalStatus.coding.0.code", "active");
  text_is(pcn, "criticality", "high");
  const char *note = text_at(pcn, "note.0.text");
  if (!note || !strstr(note, "message KB2 left this allergy out"))
    fail_msg("the kept Penicillin does not say which message left it out: %s", json_dumps(pcn, 0));
  assert_non_null(bundle_allergy(b, "Peanut & tree nuts"));
  assert_null(text_at(bundle_allergy(b, "Peanut & tree nuts"), "note.0.text"));
  keep_bundle(b, "hl7-kept-allergy.json");
  json_decref(b);
}

static void a_patient_in(void **state) {
  fixture *f = *state;
  char msg[1024];
  hl7_msg ack;
  snprintf(msg, sizeof msg, A01, "MSG0001", "123456");
  expect_ack(f, msg, "AA", "MSG0001", &ack);
  field_is(&ack, "MSH", 9, 1, "ACK");
  field_is(&ack, "MSH", 9, 2, "A01");
  field_is(&ack, "MSH", 3, 1, "VIGIL");
  field_is(&ack, "MSH", 5, 1, "HIS");
  field_has(&ack, "MSA", 3, 0, "recorded: patient 123456");
  assert_int_equal(vigil__hl7_find(&ack, "ERR", 0), -1);
  vigil__hl7_free(&ack);

  json_t *p = get_json(f, "/api/v1/patients/123456", 200);
  text_is(p, "patient", "123456");
  text_is(p, "demographics.name.family", "DOE");
  text_is(p, "demographics.name.given", "JANE");
  text_is(p, "demographics.name.middle", "Q");
  text_is(p, "demographics.birth_date", "1980-02-14");
  text_is(p, "demographics.sex", "F");
  text_is(p, "demographics.mrn", "123456");
  text_is(p, "demographics.identifiers.1.value", "999-88-7777");
  text_is(p, "demographics.identifiers.1.type", "SS");
  text_is(p, "demographics.identifiers.1.authority", "SSA");
  text_is(p, "demographics.source.control_id", "MSG0001");
  text_is(p, "allergies.0.code", "PCN");
  text_is(p, "allergies.0.text", "Penicillin");
  text_is(p, "allergies.0.severity", "SV");
  text_is(p, "allergies.0.reactions.1", "Rash");
  text_is(p, "allergies.1.text", "Peanut & tree nuts");
  text_is(p, "allergies.1.type", "FA");
  assert_int_equal(json_array_size(json_object_get(p, "courses")), 0);
  json_decref(p);
  /* a patient no system has sent, with no course: 404 as before */
  json_decref(get_json(f, "/api/v1/patients/nobody", 404));
  fhir_has_the_record(f);

  /* Each AA is durable when sent: kill -9 right after it loses nothing. */
  for (int i = 0; i < 5; i++) {
    char control[32], patient[32];
    snprintf(control, sizeof control, "K%d", i);
    snprintf(patient, sizeof patient, "P%d", i);
    snprintf(msg, sizeof msg, A01, control, patient);
    expect_ack(f, msg, "AA", control, &ack);
    vigil__hl7_free(&ack);
    serve_stop(&f->s, 1);
    assert_int_equal(serve_start(&f->s), 0);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/patients/%s", patient);
    json_t *j = get_json(f, path, 200);
    text_is(j, "demographics.source.control_id", control);
    json_decref(j);
  }
}

static void refused_unrecorded(fixture *f, const char *msg, const char *control, const char *type, const char *part,
                               const char *seg, const char *field, const char *code);
static void err_is(const hl7_msg *ack, const char *seg, const char *field, const char *code);

static void duplicates_across_restarts(void **state) {
  fixture *f = *state;
  char msg[1024];
  hl7_msg ack;
  snprintf(msg, sizeof msg, A01, "DUP1", "555");
  expect_ack(f, msg, "AA", "DUP1", &ack);
  vigil__hl7_free(&ack);
  assert_int_equal(count_events(f, "patient.recorded"), 1);
  /* the same message on the same connection, then on another */
  int fd = mllp_connect(f->port);
  exchange(fd, msg, &ack);
  field_is(&ack, "MSA", 1, 0, "AA");
  field_has(&ack, "MSA", 3, 0, "duplicate");
  vigil__hl7_free(&ack);
  exchange(fd, msg, &ack);
  field_is(&ack, "MSA", 1, 0, "AA");
  vigil__hl7_free(&ack);
  close(fd);
  assert_int_equal(count_events(f, "patient.recorded"), 1);
  /* after a restart too */
  assert_int_equal(serve_stop(&f->s, 0), 0);
  assert_int_equal(serve_start(&f->s), 0);
  expect_ack(f, msg, "AA", "DUP1", &ack);
  field_has(&ack, "MSA", 3, 0, "duplicate");
  vigil__hl7_free(&ack);
  assert_int_equal(count_events(f, "patient.recorded"), 1);
  /* H10 (docs/hl7.md): sent again with a new MSH-7 it is the same message */
  char again[1024];
  snprintf(again, sizeof again, "%s", msg);
  memcpy(strstr(again, "20260105120000"), "20260105120500", 14);
  expect_ack(f, again, "AA", "DUP1", &ack);
  field_has(&ack, "MSA", 3, 0, "duplicate");
  vigil__hl7_free(&ack);
  /* H10: the control id of another message (a sender whose counter started
   * again) was AA "duplicate" and lost: now AE 205 naming MSH-10, logged at
   * warning, nothing recorded */
  char reused[1024];
  snprintf(reused, sizeof reused, A01, "DUP1", "557");
  refused_unrecorded(f, reused, "DUP1", "patient.recorded", "MSH-10 control id DUP1 was used by another message", "MSH",
                     "10", "205");
  json_decref(get_json(f, "/api/v1/patients/557", 404));
  char *log = serve_log(&f->s);
  if (!strstr(log, "refused message DUP1")) fail_msg("the reused control id not logged: %s", log);
  free(log);
  /* H12 (docs/hl7.md): a date of birth known to the year or the month is
   * kept with its precision, the record (its allergies) not refused */
  const char *dobs[][2] = {{"1980", "1980"}, {"198001", "1980-01"}};
  for (int i = 0; i < 2; i++) {
    char dob_msg[1024], control[16];
    snprintf(control, sizeof control, "DOB%d", i);
    snprintf(dob_msg, sizeof dob_msg, A01, control, "559");
    char *at = strstr(dob_msg, "19800214");
    memmove(at + strlen(dobs[i][0]), at + 8, strlen(at + 8) + 1);
    memcpy(at, dobs[i][0], strlen(dobs[i][0]));
    if (i) memcpy(strstr(dob_msg, "20260105120000"), "20260105120100", 14);
    hl7_msg dack;
    expect_ack(f, dob_msg, "AA", control, &dack);
    vigil__hl7_free(&dack);
    json_t *p559 = get_json(f, "/api/v1/patients/559", 200);
    text_is(p559, "demographics.birth_date", dobs[i][1]);
    assert_int_equal(json_array_size(json_object_get(p559, "allergies")), 2);
    json_decref(p559);
  }
  /* H11 (docs/hl7.md): MSH-11 T and D never reach live records (not a test
   * site); MSH-12 outside the known v2 versions is refused */
  const char *ids[] = {"T", "D"};
  for (int i = 0; i < 2; i++) {
    char test_msg[1024], control[16];
    snprintf(control, sizeof control, "TST%d", i);
    snprintf(test_msg, sizeof test_msg, A01, control, "558");
    *(strstr(test_msg, "|P|2.5.1") + 1) = ids[i][0];
    hl7_msg tack;
    int before = count_events(f, "patient.recorded");
    expect_ack(f, test_msg, "AR", control, &tack);
    field_has(&tack, "MSA", 3, 0, "MSH-11");
    err_is(&tack, "MSH", "11", "202");
    vigil__hl7_free(&tack);
    assert_int_equal(count_events(f, "patient.recorded"), before);
  }
  char foo[1024];
  snprintf(foo, sizeof foo, A01, "TST9", "558");
  memcpy(strstr(foo, "|2.5.1"), "|2.foo", 6);
  expect_ack(f, foo, "AR", "TST9", &ack);
  err_is(&ack, "MSH", "12", "203");
  vigil__hl7_free(&ack);
  json_decref(get_json(f, "/api/v1/patients/558", 404));
  /* A08 with a new control id: the record as the message says (its allergies kept: no AL1) */
  const char *a08 = "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105130000||ADT^A08^ADT_A01|DUP2|P|2.5.1\r"
                    "PID|1||555^^^HOSP^MR||ROE^JANE||19800214|F\r";
  expect_ack(f, a08, "AA", "DUP2", &ack);
  vigil__hl7_free(&ack);
  json_t *p = get_json(f, "/api/v1/patients/555", 200);
  text_is(p, "demographics.name.family", "ROE");
  /* Q6 (docs/safety.md): an A08 without AL1 says nothing of allergies: the recorded ones stay. */
  assert_int_equal(json_array_size(json_object_get(p, "allergies")), 2);
  json_decref(p);
  assert_int_equal(count_events(f, "patient.recorded"), 4); /* and 559's two (H12) */
  /* the same control id from another sender is another message */
  char other[1024];
  snprintf(other, sizeof other, A01, "DUP1", "556");
  memcpy(other + strlen("MSH|^~\\&|"), "LAB", 3);
  expect_ack(f, other, "AA", "DUP1", &ack);
  field_has(&ack, "MSA", 3, 0, "recorded");
  vigil__hl7_free(&ack);
  assert_int_equal(count_events(f, "patient.recorded"), 5);
}

static void malformed_refused(void **state) {
  fixture *f = *state;
  hl7_msg ack;
  /* bytes outside a frame: AR, and the connection goes on */
  int fd = mllp_connect(f->port);
  send_raw(fd, "GET / HTTP/1.1\r\n\r\n", 18);
  char *text = read_ack(fd);
  assert_non_null(text);
  char err[256];
  assert_int_equal(vigil__hl7_parse(&ack, text, strlen(text), err, sizeof err), 0);
  free(text);
  field_is(&ack, "MSA", 1, 0, "AR");
  field_has(&ack, "MSA", 3, 0, "outside an MLLP frame");
  vigil__hl7_free(&ack);
  /* a broken MSH (a delimiter twice): AR naming its control id */
  exchange(fd, "MSH|^^\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|BAD1|P|2.5\rPID|1||9^^^H^MR\r", &ack);
  field_is(&ack, "MSA", 1, 0, "AR");
  field_is(&ack, "MSA", 2, 0, "BAD1");
  field_has(&ack, "MSA", 3, 0, "used twice");
  field_is(&ack, "ERR", 3, 1, "100");
  vigil__hl7_free(&ack);
  /* not ADT: AR 200; an event not taken: AR 201 */
  exchange(fd, "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|1||ORU^R01|BAD2|P|2.5\rPID|1||9^^^H^MR\r", &ack);
  field_is(&ack, "MSA", 1, 0, "AR");
  field_is(&ack, "ERR", 3, 1, "200");
  vigil__hl7_free(&ack);
  exchange(fd, "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A03|BAD3|P|2.5\rPID|1||9^^^H^MR\r", &ack);
  field_is(&ack, "MSA", 1, 0, "AR");
  field_is(&ack, "ERR", 3, 1, "201");
  vigil__hl7_free(&ack);
  /* a bad date of birth, a sex not in table 0001, no identifier: AE with the field in ERR-2 */
  exchange(fd, "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|BAD4|P|2.5\rPID|1||9^^^H^MR||X^Y||19800230|F\r",
           &ack);
  field_is(&ack, "MSA", 1, 0, "AE");
  field_has(&ack, "MSA", 3, 0, "PID-7");
  field_is(&ack, "ERR", 2, 1, "PID");
  field_is(&ack, "ERR", 2, 3, "7");
  field_is(&ack, "ERR", 3, 1, "102");
  field_is(&ack, "ERR", 4, 0, "E");
  vigil__hl7_free(&ack);
  exchange(fd, "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|BAD5|P|2.5\rPID|1||9^^^H^MR||X^Y||19800210|Q\r",
           &ack);
  field_is(&ack, "MSA", 1, 0, "AE");
  field_is(&ack, "ERR", 3, 1, "103");
  vigil__hl7_free(&ack);
  exchange(fd, "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|BAD6|P|2.5\rPID|1||||X^Y\r", &ack);
  field_is(&ack, "MSA", 1, 0, "AE");
  field_is(&ack, "ERR", 3, 1, "101");
  vigil__hl7_free(&ack);
  /* not UTF-8 */
  exchange(fd, "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|BAD7|P|2.5\rPID|1||9^^^H^MR||M\xfcller\r",
           &ack);
  field_is(&ack, "MSA", 1, 0, "AE");
  field_has(&ack, "MSA", 3, 0, "UTF-8");
  vigil__hl7_free(&ack);
  /* a patient reference vigil refuses (U+2028 in it, docs/safety.md U6): the
   * engine does not record it, so the answer is AE, never AA; a permanent
   * refusal, 102 with the field, not 207's "send it again" (A9) */
  exchange(fd,
           "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|BAD8|P|2.5\rPID|1||A\xe2\x80\xa8"
           "B^^^H^MR||X^Y\r",
           &ack);
  field_is(&ack, "MSA", 1, 0, "AE");
  field_is(&ack, "ERR", 3, 1, "102");
  field_is(&ack, "ERR", 2, 3, "3");
  vigil__hl7_free(&ack);
  /* 0x1C without 0x0D, then a good message on the same connection */
  send_raw(fd, "\x0bMSH|^~\\&|x\x1cZ", 13);
  text = read_ack(fd);
  assert_non_null(text);
  assert_non_null(strstr(text, "not followed by 0x0D"));
  free(text);
  char msg[1024];
  snprintf(msg, sizeof msg, A01, "GOOD1", "777");
  exchange(fd, msg, &ack);
  field_is(&ack, "MSA", 1, 0, "AA");
  vigil__hl7_free(&ack);
  close(fd);
  assert_int_equal(count_events(f, "patient.recorded"), 1);
  json_decref(get_json(f, "/api/v1/patients/9", 404));
  char *log = serve_log(&f->s);
  assert_non_null(strstr(log, "refused message BAD4"));
  assert_non_null(strstr(log, "refused a message from 127.0.0.1"));
  free(log);
  json_decref(get_json(f, "/healthz", 200));
}

static void a40_merges(void **state) {
  fixture *f = *state;
  char msg[1024];
  hl7_msg ack;
  snprintf(msg, sizeof msg, A01, "M1", "OLD1");
  expect_ack(f, msg, "AA", "M1", &ack);
  vigil__hl7_free(&ack);
  const char *a40 = "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105140000||ADT^A40^ADT_A39|M2|P|2.5.1\r"
                    "EVN|A40|20260105140000\r"
                    "PID|1||NEW1^^^HOSP^MR||DOE^JANE||19800214|F\r"
                    "MRG|OLD1^^^HOSP^MR\r";
  expect_ack(f, a40, "AA", "M2", &ack);
  vigil__hl7_free(&ack);
  json_t *old = get_json(f, "/api/v1/patients/OLD1", 200);
  text_is(old, "demographics.merged_into", "NEW1");
  json_decref(old);
  json_t *now = get_json(f, "/api/v1/patients/NEW1", 200);
  text_is(now, "demographics.merged_from.0", "OLD1");
  text_is(now, "demographics.name.family", "DOE");
  json_decref(now);
  assert_int_equal(count_events(f, "patient.merged"), 1);
  /* a merge into itself is refused */
  const char *self =
      "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A40|M3|P|2.5.1\rPID|1||NEW1^^^H^MR\rMRG|NEW1\r";
  expect_ack(f, self, "AE", "M3", &ack);
  vigil__hl7_free(&ack);
  assert_int_equal(count_events(f, "patient.merged"), 1);
  /* H9 (docs/hl7.md): two PID/MRG groups were AA with only the first merge
   * applied: now the whole is refused, none applied */
  const char *two = "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105150000||ADT^A40^ADT_A39|M4|P|2.5.1\r"
                    "EVN|A40|20260105150000\r"
                    "PID|1||NEW1^^^HOSP^MR\rMRG|OLD7^^^HOSP^MR\r"
                    "PID|2||NEW1^^^HOSP^MR\rMRG|OLD8^^^HOSP^MR\r";
  expect_ack(f, two, "AE", "M4", &ack);
  field_has(&ack, "MSA", 3, 0, "more than one PID/MRG group");
  vigil__hl7_free(&ack);
  assert_int_equal(count_events(f, "patient.merged"), 1);
  /* J5 (docs/hl7.md): an MSH-10 that is not UTF-8 was AE (found when the
   * source was kept), where an MSH problem is AR: the message not read */
  char latin1[1024];
  snprintf(latin1, sizeof latin1, A01, "M\xe9", "OLD10");
  expect_ack(f, latin1, "AR", "M\xe9", &ack);
  err_is(&ack, "MSH", "10", "102");
  vigil__hl7_free(&ack);
  json_decref(get_json(f, "/api/v1/patients/OLD10", 404));
  /* J5 (docs/hl7.md): MRG before PID was AA, the segment order unchecked:
   * now AE 100 (segment sequence) at MRG, nothing merged */
  const char *reversed = "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105160000||ADT^A40^ADT_A39|M5|P|2.5.1\r"
                         "EVN|A40|20260105160000\r"
                         "MRG|OLD9^^^HOSP^MR\rPID|1||NEW1^^^HOSP^MR\r";
  refused_unrecorded(f, reversed, "M5", "patient.merged", "MRG before PID", "MRG", "", "100");
  json_decref(get_json(f, "/api/v1/patients/OLD9", 404));
}

/* ---- the interface engineer's findings (docs/hl7.md, A2 to A9) ---- */

#define ADT(event, control, when, pid, rest)                                                                           \
  "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|" when "||ADT^" event "|" control "|P|2.5.1\rPID|1||" pid "\r" rest

/* The next ACK on fd, parsed, with MSA-1, MSA-2 and a part of MSA-3 checked. */
static void next_ack(int fd, const char *code, const char *control, const char *part) {
  hl7_msg ack;
  char *text = read_ack(fd), err[256];
  assert_non_null(text);
  assert_int_equal(vigil__hl7_parse(&ack, text, strlen(text), err, sizeof err), 0);
  free(text);
  field_is(&ack, "MSA", 1, 0, code);
  field_is(&ack, "MSA", 2, 0, control);
  field_has(&ack, "MSA", 3, 0, part);
  vigil__hl7_free(&ack);
}

/* ERR-2's segment and field and ERR-3's code of an ACK. */
static void err_is(const hl7_msg *ack, const char *seg, const char *field, const char *code) {
  field_is(ack, "ERR", 2, 1, seg);
  field_is(ack, "ERR", 2, 3, field);
  field_is(ack, "ERR", 3, 1, code);
}

/* msg is AE with part in MSA-3 and ERR-2, ERR-3 at seg, field, code, and
 * no event of type recorded. */
static void refused_unrecorded(fixture *f, const char *msg, const char *control, const char *type, const char *part,
                               const char *seg, const char *field, const char *code) {
  hl7_msg ack;
  int before = count_events(f, type);
  expect_ack(f, msg, "AE", control, &ack);
  field_has(&ack, "MSA", 3, 0, part);
  err_is(&ack, seg, field, code);
  vigil__hl7_free(&ack);
  assert_int_equal(count_events(f, type), before);
}

static void interface_findings(void **state) {
  fixture *f = *state;
  hl7_msg ack;
  /* A2: an A40 keeps the survivor's record (ADT_A39 carries no AL1) and links the merged reference. */
  expect_ack(f, ADT("A01", "F1", "20260105120000", "SURV^^^H^MR||DOE^JANE", "AL1|1|DA|KET^Ketamine|SV|Anaphylaxis\r"),
             "AA", "F1", &ack);
  vigil__hl7_free(&ack);
  expect_ack(f, ADT("A40", "F2", "20260105130000", "SURV^^^H^MR||DOE^JANE", "MRG|PRIOR^^^H^MR\r"), "AA", "F2", &ack);
  vigil__hl7_free(&ack);
  json_t *p = get_json(f, "/api/v1/patients/SURV", 200);
  if (json_array_size(json_object_get(p, "allergies")) != 1)
    fail_msg("the merge lost the survivor's allergies: %s", json_dumps(p, 0));
  text_is(p, "allergies.0.text", "Ketamine");
  text_is(p, "demographics.merged_from.0", "PRIOR");
  json_decref(p);
  p = get_json(f, "/api/v1/patients/PRIOR", 200);
  text_is(p, "demographics.merged_into", "SURV");
  json_decref(p);

  /* A6: the merge back (PRIOR survivor, SURV merged) would be a circle: AE, nothing recorded. */
  refused_unrecorded(f, ADT("A40", "F3", "20260105140000", "PRIOR^^^H^MR", "MRG|SURV^^^H^MR\r"), "F3", "patient.merged",
                     "circular", "MRG", "1", "102");
  p = get_json(f, "/api/v1/patients/PRIOR", 200);
  text_is(p, "demographics.merged_into", "SURV");
  assert_null(json_object_get(json_object_get(p, "demographics"), "merged_from"));
  json_decref(p);

  /* A3: an A08 older (MSH-7) than the record is acknowledged and not applied. */
  int records = count_events(f, "patient.recorded");
  expect_ack(f, ADT("A08", "F4", "20250105120000", "SURV^^^H^MR||DOE^JANE", ""), "AA", "F4", &ack);
  field_has(&ack, "MSA", 3, 0, "not applied");
  vigil__hl7_free(&ack);
  assert_int_equal(count_events(f, "patient.recorded"), records);
  p = get_json(f, "/api/v1/patients/SURV", 200);
  assert_int_equal(json_array_size(json_object_get(p, "allergies")), 1);
  json_decref(p);
  /* a newer one is applied (the same time in another zone is not older) */
  expect_ack(f, ADT("A08", "F5", "20260105150000+0100", "SURV^^^H^MR||DOE^JANE", ""), "AA", "F5", &ack);
  field_has(&ack, "MSA", 3, 0, "recorded");
  vigil__hl7_free(&ack);

  /* H4: an A08 for the merged-away PRIOR is refused naming the survivor; the merge stands, no visit for PRIOR */
  refused_unrecorded(f, ADT("A08", "F5B", "20260105160000", "PRIOR^^^H^MR||DOE^JANE", ""), "F5B", "patient.recorded",
                     "merged into SURV", "PID", "3", "204");
  p = get_json(f, "/api/v1/patients/PRIOR", 200);
  text_is(p, "demographics.merged_into", "SURV");
  json_decref(p);
  assert_int_equal(
      serve_request(&f->s, "POST", "/api/v1/visits", "{\"protocol\": \"chair\", \"patient\": \"PRIOR\"}", NULL), 409);

  /* A7: white space at either end of PID-3: AE 102 at PID-3 (docs/hl7.md's conformance statement). */
  const char *padded[] = {ADT("A01", "F6", "20260105120000", " MRN7^^^H^MR", ""),
                          ADT("A01", "F7", "20260105120000", "MRN7 ^^^H^MR", "")};
  for (int i = 0; i < 2; i++) {
    expect_ack(f, padded[i], "AE", i ? "F7" : "F6", &ack);
    field_has(&ack, "MSA", 3, 0, "white space");
    err_is(&ack, "PID", "3", "102");
    vigil__hl7_free(&ack);
  }

  /* A8: a NUL or control in any field, and a name with what staff would not see: AE 102 at the field. */
  const struct {
    const char *msg, *control, *field;
  } hidden[] = {
      {ADT("A01", "F8", "20260105120000", "MRN\\X00\\77^^^H^MR", ""), "F8", "3"},
      {ADT("A01", "F9", "20260105120000", "MRN8^^^H^MR||DOE\\X1B\\[31m^JANE", ""), "F9", "5"},    /* ESC */
      {ADT("A01", "F10", "20260105120000", "MRN8^^^H^MR||DOE^JA\xe2\x80\xaeNE", ""), "F10", "5"}, /* U+202E */
      {ADT("A01", "F11", "20260105120000", "MRN8^^^H^MR||DOE\xe2\x80\x8b^JANE", ""), "F11", "5"}, /* U+200B */
  };
  for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++) {
    expect_ack(f, hidden[i].msg, "AE", hidden[i].control, &ack);
    err_is(&ack, "PID", hidden[i].field, "102");
    vigil__hl7_free(&ack);
  }
  json_decref(get_json(f, "/api/v1/patients/MRN77", 404));
  json_decref(get_json(f, "/api/v1/patients/MRN8", 404));

  /* A9: a frame with a second 0x0B is answered once, naming the first MSH-10; the next message is answered as its own.
   */
  int fd = mllp_connect(f->port);
  const char *twice[] = {
      "\x0bMSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|F12|P|2.5.1\rPID|1||X1^^^H^MR\r",
      "\x0bMSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|F13|P|2.5.1\rPID|1||X2^^^H^MR\r\x1c\r"};
  for (int i = 0; i < 2; i++)
    send_raw(fd, twice[i], strlen(twice[i]));
  char msg[1024];
  snprintf(msg, sizeof msg, A01, "F14", "X3");
  size_t len;
  char *framed = vigil__mllp_wrap(msg, strlen(msg), &len);
  send_raw(fd, framed, len);
  free(framed);
  next_ack(fd, "AR", "F12", "inside another");
  next_ack(fd, "AA", "F14", "recorded");
  close(fd);
  json_decref(get_json(f, "/api/v1/patients/X2", 404));
}

/* H1, H2 (docs/hl7.md): MSH-7 orders a patient's updates (A3), so it is
 * required and read; a time further in the future than max_future_ms is
 * refused, and a record kept with one orders nothing. */
static void when_now(char out[32], long long ahead_s, const char *zone) {
  time_t t = time(NULL) + (time_t)ahead_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y%m%d%H%M%S", &tm);
  strcat(out, zone);
}

/* Sends fmt (its MSH-7 a %s) with the time ahead_s from now in zone, and
 * checks the answer's MSA-1, MSA-2 and a part of MSA-3. */
static void timed_ack(fixture *f, const char *fmt, long long ahead_s, const char *zone, const char *code,
                      const char *control, const char *part) {
  char when[32], msg[512];
  hl7_msg ack;
  when_now(when, ahead_s, zone);
  snprintf(msg, sizeof msg, fmt, when);
  expect_ack(f, msg, code, control, &ack);
  field_has(&ack, "MSA", 3, 0, part);
  vigil__hl7_free(&ack);
}

/* vigil started again with more hl7 settings (Lua, after the port). */
static void restart_with(fixture *f, const char *more) {
  char extra[256];
  snprintf(extra, sizeof extra, "plugins = { hl7 = { port = %d, %s } }\n", f->port, more);
  assert_int_equal(serve_stop(&f->s, 0), 0);
  serve_configure(&f->s, extra);
  assert_int_equal(serve_start(&f->s), 0);
}

static void message_times(void **state) {
  fixture *f = *state;
  hl7_msg ack;
  int records = count_events(f, "patient.recorded");
  /* H2: empty or unreadable MSH-7: AR, nothing recorded */
  const struct {
    const char *msg, *control, *code;
  } bad[] = {
      {ADT("A08", "U1", "", "T123^^^H^MR||NEW^NAME", ""), "U1", "101"},
      {ADT("A08", "U3", "X", "T123^^^H^MR||NEW^NAME", ""), "U3", "102"},
      {ADT("A08", "U4", "20261306120000", "T123^^^H^MR||NEW^NAME", ""), "U4", "102"},
      {ADT("A08", "U5", "20260105120000+01", "T123^^^H^MR||NEW^NAME", ""), "U5", "102"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    expect_ack(f, bad[i].msg, "AR", bad[i].control, &ack);
    field_has(&ack, "MSA", 3, 0, "MSH-7");
    err_is(&ack, "MSH", "7", bad[i].code);
    vigil__hl7_free(&ack);
  }
  assert_int_equal(count_events(f, "patient.recorded"), records);
  json_decref(get_json(f, "/api/v1/patients/T123", 404));

  /* H1: a year typo (2062) is AE at MSH-7, nothing recorded; a later update with the allergy is applied */
  expect_ack(f, ADT("A01", "FT1", "20620105120000", "FUT1^^^H^MR||DOE^JANE", ""), "AE", "FT1", &ack);
  field_has(&ack, "MSA", 3, 0, "future");
  err_is(&ack, "MSH", "7", "102");
  vigil__hl7_free(&ack);
  json_decref(get_json(f, "/api/v1/patients/FUT1", 404));
  timed_ack(f, ADT("A08", "FT2", "%s", "FUT1^^^H^MR||DOE^JANE", "AL1|1|DA|KET^Ketamine|SV|Anaphylaxis\r"), 0, "+0000",
            "AA", "FT2", "recorded");
  /* an hour ahead with a zone is refused; without one it may be the sender's local time */
  timed_ack(f, ADT("A08", "FT3", "%s", "FUT1^^^H^MR||DOE^JANE", ""), 3600, "+0000", "AE", "FT3", "future");
  timed_ack(f, ADT("A08", "FT4", "%s", "FUT1^^^H^MR||DOE^JANE", ""), 3600, "", "AA", "FT4", "recorded");

  /* a record kept with a future time (taken under a wider max_future_ms) orders nothing once it is narrowed */
  restart_with(f, "max_future_ms = 86400000");
  timed_ack(f, ADT("A01", "FT5", "%s", "FUT2^^^H^MR||DOE^JOHN", ""), 20 * 3600, "+0000", "AA", "FT5", "recorded");
  restart_with(f, "");
  timed_ack(f, ADT("A08", "FT6", "%s", "FUT2^^^H^MR||DOE^JOHN", "AL1|1|DA|KET^Ketamine|SV|Anaphylaxis\r"), 0, "+0000",
            "AA", "FT6", "recorded");
  json_t *p = get_json(f, "/api/v1/patients/FUT2", 200);
  text_is(p, "allergies.0.text", "Ketamine");
  json_decref(p);
}

/* H3 (docs/hl7.md): the patient key and the assigning authority (PID-3.4).
 * 555 of HOSP_A and 555 of HOSP_B are two patients: vigil keys patients by
 * the number, so the second is refused (AE 204), never applied over the
 * first's record (which kept its Ketamine allergy for the other patient). A
 * site that names its own authority (plugins.hl7.authority) takes its bare
 * numbers as its own, and refuses other systems' numbers. */
static void patient_keys_by_authority(void **state) {
  fixture *f = *state;
  hl7_msg ack;
  expect_ack(f,
             ADT("A01", "AU1", "20260105120000", "555^^^HOSP_A^MR||DOE^JANE", "AL1|1|DA|KET^Ketamine|SV|Anaphylaxis\r"),
             "AA", "AU1", &ack);
  vigil__hl7_free(&ack);
  /* another system's 555: refused at PID-3, nothing recorded, the record as it was */
  refused_unrecorded(f, ADT("A01", "AU2", "20260105130000", "555^^^HOSP_B^MR||ROE^RICHARD", ""), "AU2",
                     "patient.recorded", "two registration systems", "PID", "3", "204");
  /* an authority named only by its OID (PID-3.4.2) is another authority too */
  refused_unrecorded(f, ADT("A08", "AU3", "20260105130000", "555^^^&2.16.840.1.113883.19.5&ISO^MR||ROE^RICHARD", ""),
                     "AU3", "patient.recorded", "2.16.840.1.113883.19.5", "PID", "3", "204");
  /* with no authority named by the site, a bare 555 cannot be told from either */
  refused_unrecorded(f, ADT("A08", "AU4", "20260105130000", "555^^^^MR||ROE^RICHARD", ""), "AU4", "patient.recorded",
                     "(none)", "PID", "3", "204");
  /* an A40 of another system's 555 into a new number merges nothing */
  refused_unrecorded(f, ADT("A40", "AU5", "20260105130000", "556^^^HOSP_B^MR||ROE^RICHARD", "MRG|555^^^HOSP_B^MR\r"),
                     "AU5", "patient.merged", "not merged", "MRG", "1", "204");
  json_t *p = get_json(f, "/api/v1/patients/555", 200);
  text_is(p, "demographics.name.family", "DOE");
  text_is(p, "demographics.patient_authority", "HOSP_A");
  text_is(p, "allergies.0.text", "Ketamine");
  assert_null(json_object_get(json_object_get(p, "demographics"), "merged_into"));
  json_decref(p);
  /* the same system again is the same patient */
  expect_ack(f, ADT("A08", "AU6", "20260105140000", "555^^^HOSP_A^MR||DOE^JANE^Q", ""), "AA", "AU6", &ack);
  vigil__hl7_free(&ack);
  /* a record of HOSP_B's 888, taken before the site named its authority */
  expect_ack(f, ADT("A01", "AU7", "20260105120000", "888^^^HOSP_B^MR||ROE^RICHARD", ""), "AA", "AU7", &ack);
  vigil__hl7_free(&ack);

  /* the clinic names its own authority: its bare numbers are its own */
  restart_with(f, "authority = 'HOSP_A'");
  expect_ack(f, ADT("A08", "AU8", "20260105150000", "555^^^^MR||DOE^JANE^Q", ""), "AA", "AU8", &ack);
  field_has(&ack, "MSA", 3, 0, "recorded: patient 555");
  vigil__hl7_free(&ack);
  /* a message with only another system's number is refused, naming the site's authority */
  refused_unrecorded(f, ADT("A01", "AU9", "20260105150000", "777^^^HOSP_B^MR||ROE^RICHARD", ""), "AU9",
                     "patient.recorded", "clinic's own assigning authority 'HOSP_A'", "PID", "3", "204");
  json_decref(get_json(f, "/api/v1/patients/777", 404));
  /* the site's number beside another system's keys the patient */
  expect_ack(f, ADT("A01", "AU10", "20260105150000", "777^^^HOSP_B^MR~778^^^HOSP_A^MR||ROE^RICHARD", ""), "AA", "AU10",
             &ack);
  field_has(&ack, "MSA", 3, 0, "recorded: patient 778");
  vigil__hl7_free(&ack);
  /* the record kept before of HOSP_B's 888 stays reachable, and is not HOSP_A's 888 */
  refused_unrecorded(f, ADT("A08", "AU11", "20260105150000", "888^^^HOSP_A^MR||DOE^JOHN", ""), "AU11",
                     "patient.recorded", "two registration systems", "PID", "3", "204");
  p = get_json(f, "/api/v1/patients/888", 200);
  text_is(p, "demographics.name.family", "ROE");
  json_decref(p);
  /* an A40 whose MRG-1 is another system's number */
  refused_unrecorded(f, ADT("A40", "AU12", "20260105160000", "555^^^HOSP_A^MR||DOE^JANE", "MRG|888^^^HOSP_B^MR\r"),
                     "AU12", "patient.merged", "not the clinic's own", "MRG", "1", "204");
}

/* J1 (docs/hl7.md), the try's messages: an A01 at local UTC+10 without
 * an offset (read as UTC, so ten hours later than it was), then an A08 one
 * second after it with +0000 and a new severe ketamine allergy: "older
 * than the record", and the allergy was dropped with an AA the sender
 * never looks at. A message with allergies that is not applied as older
 * is AE, at MSH-7, and nothing recorded. */
static void older_allergies_refused(void **state) {
  fixture *f = *state;
  hl7_msg ack;
  expect_ack(f, ADT("A01", "J1-1", "20260105200000", "J1P^^^H^MR||DOE^JANE", ""), "AA", "J1-1", &ack);
  vigil__hl7_free(&ack);
  refused_unrecorded(
      f, ADT("A08", "J1-2", "20260105100001+0000", "J1P^^^H^MR||DOE^JANE", "AL1|1|DA|^Ketamine|SV|Anaphylaxis\r"),
      "J1-2", "patient.recorded", "carries allergies", "MSH", "7", "207");
  json_t *p = get_json(f, "/api/v1/patients/J1P", 200);
  assert_int_equal(json_array_size(json_object_get(p, "allergies")), 0);
  json_decref(p);
  /* without allergies it stays A3's: AA, not applied */
  expect_ack(f, ADT("A08", "J1-3", "20260105100002+0000", "J1P^^^H^MR||DOE^JANE", ""), "AA", "J1-3", &ack);
  field_has(&ack, "MSA", 3, 0, "not applied");
  vigil__hl7_free(&ack);
}

/* J1: HL7 v2's DTM without an offset is the sender's local time. The
 * try's feed: an A01 at local UTC+10 without an offset, then an A08 one
 * second later with +0000 carrying a severe ketamine allergy, was "older
 * than the record" (read as UTC) and dropped. With site.timezone set the
 * A08 is newer and applied; plugins.hl7.timezone, when set, is the one
 * read (the other direction: New York's A08 without an offset). */
static int setup_zoned(void **state) {
  return setup_with(state, "site = { timezone = 'Australia/Brisbane' }\n",
                    "application = 'VIGIL', facility = 'CLINIC'");
}

static void allergies_of(fixture *f, const char *patient, size_t want) {
  char path[96];
  snprintf(path, sizeof path, "/api/v1/patients/%s", patient);
  json_t *p = get_json(f, path, 200);
  size_t n = json_array_size(json_object_get(p, "allergies"));
  if (n != want) fail_msg("patient %s has %zu allergies, not %zu", patient, n, want);
  json_decref(p);
}

/* The ACK's MSA-3 (ack freed): "" when the message was applied. */
static void applied(hl7_msg *ack, const char *what) {
  char text[400] = "";
  vigil__hl7_value(ack, (size_t)vigil__hl7_find(ack, "MSA", 0), 3, 0, 0, 0, text, sizeof text);
  vigil__hl7_free(ack);
  if (strstr(text, "not applied")) fail_msg("%s was not applied: %s", what, text);
}

static void local_times_in_the_site_zone(void **state) {
  fixture *f = *state;
  hl7_msg ack;
  expect_ack(f, ADT("A01", "J1L-1", "20260105200000", "J1Q^^^H^MR||DOE^JANE", ""), "AA", "J1L-1", &ack);
  vigil__hl7_free(&ack);
  expect_ack(f,
             ADT("A08", "J1L-2", "20260105100001+0000", "J1Q^^^H^MR||DOE^JANE", "AL1|1|DA|^Ketamine|SV|Anaphylaxis\r"),
             "AA", "J1L-2", &ack);
  applied(&ack, "the A08 one second later");
  allergies_of(f, "J1Q", 1);
  /* one second earlier than the A01 (local 19:59:59) is older: A3 still holds */
  expect_ack(f, ADT("A08", "J1L-3", "20260105095959+0000", "J1Q^^^H^MR||DOE^JANE", ""), "AA", "J1L-3", &ack);
  field_has(&ack, "MSA", 3, 0, "not applied");
  vigil__hl7_free(&ack);
  /* plugins.hl7.timezone over site.timezone: the sender in New York */
  serve_stop(&f->s, 0);
  char extra[256];
  snprintf(extra, sizeof extra,
           "site = { timezone = 'Australia/Brisbane' }\n"
           "plugins = { hl7 = { port = %d, application = 'VIGIL', facility = 'CLINIC', timezone = "
           "'America/New_York' } }\n",
           f->port);
  serve_configure(&f->s, extra);
  assert_int_equal(serve_start(&f->s), 0);
  expect_ack(f, ADT("A01", "J1N-1", "20260105100000+0000", "J1N^^^H^MR||DOE^JOHN", ""), "AA", "J1N-1", &ack);
  vigil__hl7_free(&ack);
  expect_ack(f, ADT("A08", "J1N-2", "20260105050001", "J1N^^^H^MR||DOE^JOHN", "AL1|1|DA|^Ketamine|SV|Anaphylaxis\r"),
             "AA", "J1N-2", &ack);
  applied(&ack, "New York's A08 one second later");
  allergies_of(f, "J1N", 1);
  /* a zone that is not one fails the plugin's init, saying why */
  serve_stop(&f->s, 0);
  snprintf(extra, sizeof extra, "plugins = { hl7 = { port = %d, timezone = 'Mars/Olympus' } }\n", f->port);
  serve_configure(&f->s, extra);
  assert_int_equal(serve_start(&f->s), 0);
  char *text = serve_log(&f->s);
  if (!strstr(text, "plugins.hl7.timezone: 'Mars/Olympus' is not a time zone"))
    fail_msg("no refusal of the zone in the log: %s", text);
  free(text);
}

/* J1: the zone reader (plugins/hl7/zone.c) against the C library's reading
 * of the same tz database (TZ set in this test process), every 7 hours
 * from 1990 to 2060 (past the files' last transition: their POSIX rule),
 * in zones north and south, with and without daylight time; then the wall
 * times the clocks skip and pass twice. */
static void zone_reader_agrees_with_libc(void **state) {
  (void)state;
  const char *zones[] = {"America/New_York", "Australia/Sydney",  "Australia/Brisbane", "Europe/London",
                         "Asia/Kolkata",     "America/Sao_Paulo", "Pacific/Chatham",    "UTC"};
  char *was = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
  for (size_t i = 0; i < sizeof zones / sizeof *zones; i++) {
    hl7_zone *z = NULL;
    char err[300];
    if (vigil__hl7_zone_open(zones[i], &z, err, sizeof err) < 0) fail_msg("%s: %s", zones[i], err);
    setenv("TZ", zones[i], 1);
    tzset();
    for (long long t = 631152000LL; t < 2840140800LL; t += 7 * 3600 + 17) {
      time_t tt = (time_t)t;
      struct tm tm;
      localtime_r(&tt, &tm);
      long got = vigil__hl7_zone_offset(z, t);
      if (got != tm.tm_gmtoff) fail_msg("%s at %lld: offset %ld, the C library's %ld", zones[i], t, got, tm.tm_gmtoff);
      /* and back: a wall time the clocks show once is that instant */
      long long local = t + got;
      if (vigil__hl7_zone_offset(z, t - 86400) == vigil__hl7_zone_offset(z, t + 86400) &&
          vigil__hl7_zone_utc(z, local) != t)
        fail_msg("%s: wall time %lld read as %lld, not %lld", zones[i], local, vigil__hl7_zone_utc(z, local), t);
    }
    vigil__hl7_zone_free(z);
  }
  if (was)
    setenv("TZ", was, 1);
  else
    unsetenv("TZ");
  tzset();
  free(was);
  /* New York, 2026: 02:30 on 8 March is skipped (read at -5, as mktime
   * does: 07:30Z), 01:30 on 1 November comes twice (the first, -4: 05:30Z);
   * 2050 is past the file's transitions */
  hl7_zone *ny = NULL;
  char err[300];
  assert_int_equal(vigil__hl7_zone_open("America/New_York", &ny, err, sizeof err), 0);
  const struct {
    const char *dtm;
    long long utc_ms;
  } cases[] = {
      {"20260105050000", 1767607200000LL},
      {"20260308023000", 1772955000000LL},
      {"20261101013000", 1793511000000LL},
      {"20500705060000", 2540628000000LL},
      {"20260105050000+0000", 1767607200000LL - 5 * 3600000LL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    long long ms;
    int zoned;
    assert_int_equal(vigil__hl7_dtm(cases[i].dtm, ny, &ms, &zoned), 0);
    if (ms != cases[i].utc_ms) fail_msg("%s in New York: %lld, not %lld", cases[i].dtm, ms, cases[i].utc_ms);
  }
  vigil__hl7_zone_free(ny);
  const char *bad[] = {"Mars/Olympus", "../../etc/passwd", "/etc/localtime", "", "Europe"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    hl7_zone *z = NULL;
    if (vigil__hl7_zone_open(bad[i], &z, err, sizeof err) == 0) fail_msg("'%s' opened as a zone", bad[i]);
    assert_null(z);
  }
}

/* H3: a record kept before patient_authority was recorded (an older
 * vigil) is read by the rule that keyed it, its first MR identifier of its
 * number, else its first of that number; a merged-away reference vigil had
 * no record of cannot tell. */
static void record_authority_of_older_records(void **state) {
  (void)state;
  const struct {
    const char *record, *authority;
  } cases[] = {
      {"{\"patient\":\"555\",\"identifiers\":[{\"value\":\"9\",\"authority\":\"SSA\",\"type\":\"SS\"},"
       "{\"value\":\"555\",\"authority\":\"HOSP_B\"},{\"value\":\"555\",\"authority\":\"HOSP_A\",\"type\":\"MR\"}]}",
       "HOSP_A"},
      {"{\"patient\":\"555\",\"identifiers\":[{\"value\":\"555\",\"authority\":\"HOSP_B\"}]}", "HOSP_B"},
      {"{\"patient\":\"555\",\"identifiers\":[{\"value\":\"555\",\"type\":\"MR\"}]}", ""},
      {"{\"patient\":\"555\",\"patient_authority\":\"HOSP_C\",\"identifiers\":[{\"value\":\"555\",\"authority\":"
       "\"HOSP_B\",\"type\":\"MR\"}]}",
       "HOSP_C"},
      {"{\"patient\":\"555\",\"merged_into\":\"556\"}", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_t *r = json_loads(cases[i].record, 0, NULL);
    assert_non_null(r);
    const char *got = vigil__hl7_record_authority(r);
    if (cases[i].authority ? !got || strcmp(got, cases[i].authority) : got != NULL)
      fail_msg("%s: '%s', not '%s'", cases[i].record, got ? got : "(NULL)",
               cases[i].authority ? cases[i].authority : "(NULL)");
    json_decref(r);
  }
}

/* H8 (docs/plugins.md): a misspelt setting of the plugin, or of its
 * alarms, fails the plugin's init with a sentence naming it (logged at
 * level error, the plugin failed; vigil serves on). */
static void unknown_settings_refused(void **state) {
  (void)state;
  const struct {
    const char *extra, *says;
  } cases[] = {
      {"plugins = { hl7 = { prot = 18990, alarms = { port = 18999 } } }\n", "unknown setting 'prot'"},
      {"plugins = { hl7 = { port = 18990, alarms = { port = 18999, acktimeout_ms = 100 } } }\n",
       "unknown setting 'acktimeout_ms'"},
      {"plugins = { hl7 = { port = 18990, ehr = { port = 18998, to_aplication = 'EHR' } } }\n",
       "plugins.hl7.ehr: unknown setting 'to_aplication'"},
      {"plugins = { hl7 = { port = 18990, ehr = { port = 18998, max_attempts = 0 } } }\n",
       "plugins.hl7.ehr.max_attempts: how many failed attempts"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    serve_process p;
    assert_int_equal(serve_setup(&p, PROTOCOL), 0);
    serve_configure(&p, cases[i].extra);
    assert_int_equal(serve_start(&p), 0);
    char *text = serve_log(&p);
    if (!strstr(text, cases[i].says)) fail_msg("no '%s' in the log: %s", cases[i].says, text);
    free(text);
    serve_cleanup(&p);
  }
}

/* A4: an idle connection and a frame that never ends are closed after the
 * site's timeouts (plugins.hl7.idle_timeout_ms, frame_timeout_ms), and at
 * the connection limit the oldest idle connection makes room. */
/* H14 (docs/hl7.md): vigil's ACK control id was VIGIL<ms>.<n>, the engine's
 * time and a counter of the run. On the simulated clock a restart resumes
 * where the log is and the counter starts again, so the first ACK after a
 * restart repeated the last run's first: the id names one ACK no more. */
static void ack_ids_differ_across_restarts(void **state) {
  (void)state;
  fixture f = {0};
  assert_int_equal(serve_setup(&f.s, PROTOCOL), 0);
  char cmd[8800];
  snprintf(cmd, sizeof cmd,
           "echo '" SERVE_PASSWORD "' | '%s' user add clock.admin --role admin --password-stdin --db '%s/vigil.db' "
           ">/dev/null",
           f.s.vigil, f.s.root);
  if (system(cmd) != 0) fail_msg("%s failed", cmd);
  f.port = hc_free_port();
  char extra[256];
  snprintf(extra, sizeof extra, "plugins = { hl7 = { port = %d } }\n", f.port);
  serve_configure(&f.s, extra);
  static const char *const simulated[] = {"--allow-untested", "--clock=simulated", "--allow-simulated-clock", NULL};
  assert_int_equal(serve_start_args(&f.s, simulated), 0);
  /* the clock moved ahead of the wall's, so that the restart resumes it from the log */
  hc_conn c;
  hc_response r;
  assert_int_equal(hc_connect(&c, f.s.port), 0);
  assert_int_equal(hc_request(&c, "POST", "/api/v1/session", NULL,
                              "{\"user\": \"clock.admin\", \"password\": \"" SERVE_PASSWORD "\"}", &r),
                   0);
  hc_close(&c);
  const char *t = r.status == 200 ? strstr(r.body, "\"token\":\"") : NULL;
  if (!t) fail_msg("the admin's sign-in: %d %s", r.status, r.body);
  char token[64];
  snprintf(token, sizeof token, "%.43s", t + 9);
  hc_response_free(&r);
  assert_int_equal(hc_connect(&c, f.s.port), 0);
  assert_int_equal(hc_request(&c, "POST", "/api/v1/clock", token, "{\"advance\": \"1h\"}", &r), 0);
  hc_close(&c);
  if (r.status != 200) fail_msg("the clock not moved: %d %s", r.status, r.body);
  hc_response_free(&r);
  char ids[2][200], msg[1024];
  for (int run = 0; run < 2; run++) {
    char control[16], patient[16];
    snprintf(control, sizeof control, "RUN%d", run);
    snprintf(patient, sizeof patient, "7%d", run);
    snprintf(msg, sizeof msg, A01, control, patient);
    hl7_msg ack;
    expect_ack(&f, msg, "AA", control, &ack);
    vigil__hl7_value(&ack, 0, 10, 0, 0, 0, ids[run], sizeof ids[run]);
    vigil__hl7_free(&ack);
    if (run == 0) {
      assert_int_equal(serve_stop(&f.s, 0), 0);
      assert_int_equal(serve_start_args(&f.s, simulated), 0);
    }
  }
  if (!ids[0][0] || !strcmp(ids[0], ids[1])) fail_msg("the ACKs of two runs have one control id (MSH-10) '%s'", ids[0]);
  serve_cleanup(&f.s);
}

static int setup_small(void **state) {
  return setup_with(state, "", "max_connections = 3, idle_timeout_ms = 1500, frame_timeout_ms = 1500");
}

/* Whether the peer closed fd within ms (a read gives 0). */
static int closed_within(int fd, int ms) {
  char b[4096];
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0) return 0;
    ssize_t k = read(fd, b, sizeof b);
    if (k <= 0) return 1;
  }
}

static void timeouts_and_the_limit(void **state) {
  fixture *f = *state;
  hl7_msg ack;
  /* three idle connections fill the limit; a fourth sender is served, the oldest idle closed */
  int idle[3];
  for (int i = 0; i < 3; i++) {
    idle[i] = mllp_connect(f->port);
    assert_true(idle[i] >= 0);
    usleep(100000);
  }
  char msg[1024];
  snprintf(msg, sizeof msg, A01, "T1", "T1");
  expect_ack(f, msg, "AA", "T1", &ack);
  vigil__hl7_free(&ack);
  assert_true(closed_within(idle[0], 1000));
  /* idle ones are closed after idle_timeout_ms */
  assert_true(closed_within(idle[1], 4000));
  assert_true(closed_within(idle[2], 1000));
  for (int i = 0; i < 3; i++)
    close(idle[i]);
  /* a frame begun and never ended: AR naming its MSH-10, closed */
  int fd = mllp_connect(f->port);
  const char *begun = "\x0bMSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01|T2|P|2.5.1\rPID|1||T2";
  send_raw(fd, begun, strlen(begun));
  next_ack(fd, "AR", "T2", "in time");
  assert_true(closed_within(fd, 1000));
  close(fd);
}

/* ---- against node-hl7-client (npm) ---- */

/* Runs interop.cjs with messages (JSON): its output lines, parsed (a JSON array). */
static json_t *npm_send(fixture *f, const char *messages) {
  const char *nm = getenv("VIGIL_HL7_NODE_MODULES");
  char path[256];
  snprintf(path, sizeof path, "%s/msgs.json", f->s.root);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(messages, fp);
  fclose(fp);
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "node tests/hl7/interop.cjs '%s' send %d \"$(cat '%s')\"", nm, f->port, path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  json_t *lines = json_array();
  char line[4096];
  while (fgets(line, sizeof line, p)) {
    json_t *j = json_loads(line, 0, NULL);
    if (!j) fail_msg("interop.cjs printed '%s'", line);
    json_array_append_new(lines, j);
  }
  int rc = pclose(p);
  if (rc != 0) fail_msg("interop.cjs failed (%d)", rc);
  return lines;
}

static void ack_is(json_t *lines, size_t i, const char *msa1, const char *msa2, const char *msa3_part) {
  json_t *l = json_array_get(lines, i);
  if (!l) fail_msg("no ACK %zu", i);
  text_is(l, "msh9", "ACK");
  text_is(l, "msh9_2", "A01");
  text_is(l, "msa1", msa1);
  text_is(l, "msa2", msa2);
  const char *m3 = text_at(l, "msa3");
  if (msa3_part && (!m3 || !strstr(m3, msa3_part))) fail_msg("MSA-3 '%s' lacks '%s'", m3 ? m3 : "", msa3_part);
}

#define NPM_A01(ctl, mrn, family, dob)                                                                                 \
  "{\"header\":{\"msh_9_1\":\"ADT\",\"msh_9_2\":\"A01\",\"msh_10\":\"" ctl                                             \
  "\",\"msh_11_1\":\"P\",\"msh_12\":\"2.5.1\"},"                                                                       \
  "\"fields\":{\"MSH.3\":\"NODEHIS\",\"MSH.4\":\"WARD\"},\"segments\":[[\"PID\",{\"1\":\"1\",\"3.1\":\"" mrn           \
  "\",\"3.4\":\"HOSP\",\"3.5\":\"MR\",\"5.1\":\"" family "\",\"5.2\":\"ANA\",\"7\":\"" dob "\",\"8\":\"F\"}],"         \
  "[\"AL1\",{\"1\":\"1\",\"2\":\"DA\",\"3.1\":\"SULF\",\"3.2\":\"Sulfonamides\",\"4\":\"MO\",\"5\":\"Rash\"}]]}"

static void npm_client_round_trip(void **state) {
  fixture *f = *state;
  if (!getenv("VIGIL_HL7_NODE_MODULES")) skip();
  json_t *acks =
      npm_send(f, "[" NPM_A01("N1", "900", "SILVA", "19750102") "," NPM_A01("N1", "900", "SILVA", "19750102") "]");
  assert_int_equal(json_array_size(acks), 2);
  ack_is(acks, 0, "AA", "N1", "recorded: patient 900");
  ack_is(acks, 1, "AA", "N1", "duplicate");
  json_decref(acks);
  json_t *p = get_json(f, "/api/v1/patients/900", 200);
  text_is(p, "demographics.name.family", "SILVA");
  text_is(p, "demographics.birth_date", "1975-01-02");
  text_is(p, "allergies.0.text", "Sulfonamides");
  text_is(p, "allergies.0.reactions.0", "Rash");
  json_decref(p);
  assert_int_equal(count_events(f, "patient.recorded"), 1);

  /* a restart in between: the duplicate is still not applied; AE and AR parse there */
  serve_stop(&f->s, 1);
  assert_int_equal(serve_start(&f->s), 0);
  acks = npm_send(
      f, "[" NPM_A01("N1", "900", "SILVA", "19750102") "," NPM_A01(
             "N2", "901", "COSTA",
             "19751340") ","
                         "{\"raw\":\"MSH|^~\\\\&|NODEHIS|WARD|VIGIL||20260101||ADT^A01|N3|P|2.5\\rPID|1||\\r\"}]");
  assert_int_equal(json_array_size(acks), 3);
  ack_is(acks, 0, "AA", "N1", "duplicate");
  ack_is(acks, 1, "AE", "N2", "PID-7");
  text_is(json_array_get(acks, 1), "err3", "102");
  ack_is(acks, 2, "AE", "N3", "PID-3");
  text_is(json_array_get(acks, 2), "err3", "101");
  json_decref(acks);
  assert_int_equal(count_events(f, "patient.recorded"), 1);
  json_decref(get_json(f, "/api/v1/patients/901", 404));
}

/* ---- alarms out: node-hl7-server plays the alarm manager ---- */

/* /api/v1/visits/<visit>/entries (a static buffer). */
static const char *path_of_entries(uint64_t visit) {
  static char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)visit);
  return path;
}

static const char *ALARM_PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'chair' {\n"
    "  version = '1.0.0',\n"
    "  phases = { v.phase 'one' { items = {\n"
    "    v.vitals 'vitals' { fields = { 'sbp' }, rule = function(x)\n"
    "      if x.sbp > 180 then return v.alert.high('SBP very high', { latching = false }) end\n"
    "    end },\n"
    "    v.vitals 'oxygen' { fields = { 'spo2' }, rule = function(x)\n"
    "      if x.spo2 < 90 then\n"
    "        return v.alert.high('SpO2 low', { latching = false, field = 'spo2', reading = x.spo2,\n"
    "                                          limit = { low = 90 } })\n"
    "      end\n"
    "    end },\n"
    "  } } },\n"
    "}\n";

typedef struct manager {
  pid_t pid;
  int port;
  char out[160];
} manager;

/* node-hl7-server running script (tests/hl7/manager.cjs: an alarm
 * manager; ehr.cjs: an EHR), its lines in <root>/manager.jsonl. */
static void peer_start(fixture *f, manager *m, const char *script) {
  snprintf(m->out, sizeof m->out, "%s/manager.jsonl", f->s.root);
  m->pid = fork();
  assert_true(m->pid >= 0);
  if (m->pid == 0) {
    char port[16];
    snprintf(port, sizeof port, "%d", m->port);
    execlp("node", "node", script, getenv("VIGIL_HL7_NODE_MODULES"), port, m->out, (char *)NULL);
    _exit(127);
  }
}

static void manager_start(fixture *f, manager *m) { peer_start(f, m, "tests/hl7/manager.cjs"); }

static void manager_stop(manager *m) {
  if (m->pid <= 0) return;
  kill(m->pid, SIGKILL);
  waitpid(m->pid, NULL, 0);
  m->pid = 0;
}

/* The first line of the manager's file (from line `from` on) that has every
 * key = value of want ("k=v,k=v"), within 20 s; its index in *at. */
static json_t *manager_line(manager *m, size_t from, const char *want, size_t *at) {
  for (int tries = 0; tries < 400; tries++) {
    FILE *fp = fopen(m->out, "r");
    char line[4096];
    size_t i = 0;
    while (fp && fgets(line, sizeof line, fp)) {
      if (i++ < from) continue;
      json_t *j = json_loads(line, 0, NULL);
      char w[512];
      snprintf(w, sizeof w, "%s", want);
      int ok = j != NULL;
      for (char *kv = strtok(w, ","); kv && ok; kv = strtok(NULL, ",")) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        const char *got = json_string_value(json_object_get(j, kv));
        ok = got && !strcmp(got, eq + 1);
      }
      if (ok) {
        fclose(fp);
        if (at) *at = i - 1;
        return j;
      }
      json_decref(j);
    }
    if (fp) fclose(fp);
    usleep(50000);
  }
  fail_msg("the manager never read a message with %s", want);
  return NULL;
}

static fixture alarm_fx, alarm_fx2;
static manager alarm_m;

/* The alert.reported events of alert in the visit's history whose report
 * (the event reported) is report (0: any), waiting up to 5 s for want of
 * them (-1: just count); the last one in *last (a new reference) when asked. */
static int reports_of(fixture *f, uint64_t visit, long long alert, long long report, int want, json_t **last) {
  char path[96];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events", (unsigned long long)visit);
  int n = 0;
  for (int tries = 0; tries < 100; tries++) {
    json_t *j = get_json(f, path, 200);
    json_t *list = json_is_array(j) ? j : json_object_get(j, "events"), *ev;
    size_t i;
    n = 0;
    if (last) *last = NULL;
    json_array_foreach(list, i, ev) {
      json_t *d = json_object_get(ev, "data");
      if (strcmp(json_string_value(json_object_get(ev, "type")), "alert.reported") ||
          json_integer_value(json_object_get(d, "alert")) != alert ||
          (report && json_integer_value(json_object_get(d, "report")) != report))
        continue;
      n++;
      if (last) {
        json_decref(*last);
        *last = json_incref(ev);
      }
    }
    json_decref(j);
    if (want < 0 || n >= want) break;
    if (last) json_decref(*last), *last = NULL;
    usleep(50000);
  }
  return n;
}

/* A failed check leaves neither the manager nor vigil running. */
static int alarms_teardown(void **state) {
  (void)state;
  manager_stop(&alarm_m);
  if (alarm_fx.s.root[0]) serve_cleanup(&alarm_fx.s);
  if (alarm_fx2.s.root[0]) serve_cleanup(&alarm_fx2.s);
  return 0;
}

static void alarms_out(void **state) {
  (void)state;
  if (!getenv("VIGIL_HL7_NODE_MODULES")) skip();
  fixture *f = &alarm_fx;
#define m alarm_m
  assert_int_equal(serve_setup(&f->s, ALARM_PROTOCOL), 0);
  m.port = hc_free_port();
  f->port = hc_free_port();
  char extra[512];
  snprintf(extra, sizeof extra,
           "plugins = { hl7 = { port = %d, alarms = { port = %d, to_application = 'AM', retry_min_ms = 100, "
           "retry_max_ms = 300, ack_timeout_ms = 3000 } } }\n",
           f->port, m.port);
  serve_configure(&f->s, extra);
  manager_start(f, &m);
  json_decref(manager_line(&m, 0, "", NULL)); /* it listens */
  assert_int_equal(serve_start(&f->s), 0);
  /* J4: P1's ADT record (HOSP's, DOE^JANE) names the patient in the reports */
  a01_taken(f, "REC-P1", "P1");
  uint64_t visit = serve_start_visit_at(&f->s, "chair", "P1", "Chair 2");
  assert_true(visit > 0);
  assert_int_equal(serve_record_sbp(&f->s, visit, 200), 200);
  size_t at;
  json_t *l = manager_line(&m, 0, "phase=start,patient=P1", &at);
  text_is(l, "type", "ORU^R40");
  text_is(l, "profile", "IHE_PCD_ACM_001");
  text_is(l, "location", "Chair 2");
  /* J4: an outpatient's chair; the record's authority and name; text as TX */
  text_is(l, "class", "O");
  text_is(l, "authority", "HOSP");
  text_is(l, "family", "DOE");
  text_is(l, "given", "JANE");
  text_is(l, "text_type", "TX");
  text_is(l, "text", "SBP very high");
  text_is(l, "priority", "PH");
  text_is(l, "state", "active");
  text_is(l, "event", "MDC_EVT_ALARM");
  char ack_path[64];
  long long alert1 = atoll(text_at(l, "alert"));
  long long raise_seq = atoll(text_at(l, "control") + strlen("VIGIL-"));
  char control[128];
  snprintf(control, sizeof control, "%s", text_at(l, "control"));
  snprintf(ack_path, sizeof ack_path, "/api/v1/alerts/%lld/ack", alert1); /* OBR-2.1: <alert>-<digest> */
  json_decref(l);
  /* the manager's AA is an event on the alert, in the visit's history */
  json_t *rep = NULL;
  assert_int_equal(reports_of(f, visit, alert1, raise_seq, 1, &rep), 1);
  text_is(rep, "data.status", "accepted");
  text_is(rep, "data.code", "AA");
  text_is(rep, "actor", "hl7");
  char manager_at[48];
  snprintf(manager_at, sizeof manager_at, "127.0.0.1:%d", m.port);
  text_is(rep, "data.control_id", control);
  text_is(rep, "data.manager", manager_at);
  json_decref(rep);
  /* the acknowledgement goes out too */
  assert_int_equal(serve_request(&f->s, "POST", ack_path, "{\"reason\": \"seen\"}", NULL), 200);
  json_decref(manager_line(&m, at, "phase=update,inactivation=acknowledged,patient=P1", &at));
  /* J4: its end, once the reading is normal, stays acknowledged (it said enabled again) */
  assert_int_equal(serve_record_sbp(&f->s, visit, 120), 200);
  json_decref(manager_line(&m, at, "phase=end,state=inactive,inactivation=acknowledged,patient=P1", &at));
  /* J4: a vital sign's alarm is a limit alarm whose source is the reading:
   * the MDC code, the value NM, its unit, the limit, L; the rule's field,
   * reading, units and limit in its alert.raised (`observed`) */
  assert_int_equal(serve_request(&f->s, "POST", path_of_entries(visit), "{\"oxygen\": {\"spo2\": 86}}", NULL), 200);
  l = manager_line(&m, at, "phase=start,patient=P1,text=SpO2 low", &at);
  text_is(l, "event", "MDC_EVT_LO_LT_LIM");
  text_is(l, "source_type", "NM");
  text_is(l, "source", "MDC_PULS_OXIM_SAT_O2");
  text_is(l, "reading", "86");
  text_is(l, "units", "MDC_DIM_PERCENT");
  text_is(l, "limits", ">90");
  text_is(l, "abnormal", "L");
  text_is(l, "state", "active");
  text_is(l, "inactivation", "enabled");
  json_decref(l);
  char *history = NULL;
  char events_path[64];
  snprintf(events_path, sizeof events_path, "/api/v1/visits/%llu/events", (unsigned long long)visit);
  assert_int_equal(serve_request(&f->s, "GET", events_path, NULL, &history), 200);
  if (!strstr(history, "\"observed\":{\"field\":\"spo2\",\"reading\":86,\"units\":\"%\",\"limit\":{\"low\":90}}"))
    fail_msg("no observed in the SpO2 alert's alert.raised: %s", history);
  free(history);
  /* an AR is recorded on the alert as refused, and the next report goes */
  uint64_t v3 = serve_start_visit_at(&f->s, "chair", "AR-1", "Chair 4");
  assert_int_equal(serve_record_sbp(&f->s, v3, 220), 200);
  l = manager_line(&m, at, "phase=start,patient=AR-1,answered=AR", &at);
  long long alert3 = atoll(text_at(l, "alert"));
  json_decref(l);
  assert_int_equal(reports_of(f, v3, alert3, 0, 1, &rep), 1);
  text_is(rep, "data.status", "refused");
  text_is(rep, "data.code", "AR");
  json_decref(rep);

  /* the manager goes away: the link is down, logged and in the status */
  manager_stop(&m);
  uint64_t v2 = serve_start_visit_at(&f->s, "chair", "P2", "Chair 3");
  assert_int_equal(serve_record_sbp(&f->s, v2, 210), 200);
  int down = 0;
  for (int i = 0; i < 100 && !down; i++) {
    char *log = serve_log(&f->s);
    down = strstr(log, "link down") != NULL;
    free(log);
    if (!down) usleep(50000);
  }
  assert_true(down);
  json_t *st = get_json(f, "/api/v1/plugins", 200);
  char *text = json_dumps(st, JSON_COMPACT);
  assert_non_null(strstr(text, "\"link\":\"down\""));
  free(text);
  json_decref(st);
  /* vigil killed meanwhile and started again; then the manager is back: the
   * report of P2's alert arrives (at least once, from the log) */
  serve_stop(&f->s, 1);
  assert_int_equal(serve_start(&f->s), 0);
  size_t lines = at + 1;
  manager_start(f, &m);
  l = manager_line(&m, lines, "phase=start,patient=P2", NULL);
  text_is(l, "location", "Chair 3");
  long long alert2 = atoll(text_at(l, "alert"));
  json_decref(l);
  /* its ACK is recorded: the status counts it and the link is up */
  int up = 0;
  for (int i = 0; i < 100 && !up; i++) {
    st = get_json(f, "/api/v1/plugins", 200);
    text = json_dumps(st, JSON_COMPACT);
    up = strstr(text, "\"link\":\"up\"") && !strstr(text, "\"acknowledged\":0");
    free(text);
    json_decref(st);
    if (!up) usleep(50000);
  }
  assert_true(up);
  /* each answer recorded once on its alert, across the outage and the restart */
  assert_int_equal(reports_of(f, v2, alert2, 0, 1, NULL), 1);
  assert_int_equal(reports_of(f, visit, alert1, raise_seq, -1, NULL), 1);
  assert_int_equal(reports_of(f, visit, alert1, 0, -1, NULL), 3); /* the raise, the acknowledgement, the end */
}
#undef m

/* A manager of our own, for bytes node-hl7-server would not send: its ACK
 * says in MSA-3 text that is not UTF-8 (Latin-1 "café"). The answer is
 * recorded on the alert without that text, and the report is not sent for
 * again and again (it held the line up: the answer could not be kept). */
/* A manager of the test's own: a socket listening on a free port of
 * loopback (its port in *port). */
static int own_manager_listen(int *port) {
  int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
  *port = hc_free_port();
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(ls, 4), 0);
  return ls;
}

/* vigil's connection to the test's own manager ls (20 s at most). */
static int own_manager_accept(int ls) {
  struct pollfd pl = {.fd = ls, .events = POLLIN};
  assert_true(poll(&pl, 1, 20000) == 1);
  int fd = accept(ls, NULL, NULL);
  assert_true(fd >= 0);
  return fd;
}

/* vigil started (as alarm_fx) with alarms out to a manager of the test's
 * own listening on port, with the alarms settings more after it. */
static void vigil_with_own_manager(fixture *f, int port, const char *more) {
  assert_int_equal(serve_setup(&f->s, ALARM_PROTOCOL), 0);
  char extra[256];
  snprintf(extra, sizeof extra, "plugins = { hl7 = { alarms = { port = %d, %s } } }\n", port, more);
  serve_configure(&f->s, extra);
  assert_int_equal(serve_start(&f->s), 0);
}

/* A report as the test's own manager reads it (msg freed): its MSH-10,
 * PID-3.1 and OBR-2.1 (the alert). */
static void report_read(char *msg, char control[160], char patient[64], char alert[32]) {
  hl7_msg m;
  char err[256];
  assert_int_equal(vigil__hl7_parse(&m, msg, strlen(msg), err, sizeof err), 0);
  free(msg);
  vigil__hl7_value(&m, 0, 10, 0, 0, 0, control, 160);
  vigil__hl7_value(&m, (size_t)vigil__hl7_find(&m, "PID", 0), 3, 0, 1, 0, patient, 64);
  vigil__hl7_value(&m, (size_t)vigil__hl7_find(&m, "OBR", 0), 2, 0, 1, 0, alert, 32);
  vigil__hl7_free(&m);
}

/* /metrics has both lines one and two, or the test fails saying what is missing. */
static void metrics_have(fixture *f, const char *one, const char *two, const char *missing) {
  char *body = NULL;
  assert_int_equal(serve_request(&f->s, "GET", "/metrics", NULL, &body), 200);
  if (!strstr(body, one) || !strstr(body, two)) fail_msg("%s in /metrics: %s", missing, body);
  free(body);
}

static void alarms_answer_not_utf8(void **state) {
  (void)state;
  fixture *f = &alarm_fx;
  int port, ls = own_manager_listen(&port);
  vigil_with_own_manager(f, port, "retry_min_ms = 100, retry_max_ms = 300, ack_timeout_ms = 3000");
  uint64_t visit = serve_start_visit_at(&f->s, "chair", "P9", "Chair 9");
  assert_int_equal(serve_record_sbp(&f->s, visit, 200), 200);
  int fd = own_manager_accept(ls);
  /* the raise (what comes before it of the visit is answered the same way) */
  char control[64] = "", alert[32] = "", ack[512];
  while (!alert[0]) {
    char *msg = read_ack(fd);
    assert_non_null(msg);
    hl7_msg m;
    char err[256];
    assert_int_equal(vigil__hl7_parse(&m, msg, strlen(msg), err, sizeof err), 0);
    vigil__hl7_value(&m, 0, 10, 0, 0, 0, control, sizeof control);
    long obr = vigil__hl7_find(&m, "OBR", 0);
    char phase[16] = "";
    vigil__hl7_value(&m, (size_t)vigil__hl7_find(&m, "OBX", 1), 5, 0, 0, 0, phase, sizeof phase);
    if (obr >= 0 && !strcmp(phase, "start")) vigil__hl7_value(&m, (size_t)obr, 2, 0, 1, 0, alert, sizeof alert);
    vigil__hl7_free(&m);
    free(msg);
    int n = snprintf(ack, sizeof ack,
                     "\x0bMSH|^~\\&|AM||VIGIL||20260105083001||ACK^R40^ACK|A-%s|P|2.6\rMSA|AA|%s|caf\xe9\r\x1c\r",
                     control, control);
    send_raw(fd, ack, (size_t)n);
  }
  json_t *rep = NULL;
  assert_int_equal(reports_of(f, visit, atoll(alert), 0, 1, &rep), 1);
  text_is(rep, "data.status", "accepted");
  text_is(rep, "data.text", "(MSA-3 not kept: not UTF-8 text)");
  json_decref(rep);
  close(fd);
  close(ls);
}

/* H6 (docs/hl7.md): a manager that answers AE to one report for ever
 * held every later alarm back (a ketamine allergy alarm never sent) while
 * the link was up. After max_attempts such answers the report is recorded
 * as refused (code AE) and the next one goes; /metrics shows the backlog
 * and the retries. */
static void alarms_answered_ae_for_ever(void **state) {
  (void)state;
  fixture *f = &alarm_fx;
  int port, ls = own_manager_listen(&port);
  vigil_with_own_manager(f, port, "retry_min_ms = 100, retry_max_ms = 200, max_attempts = 3");
  /* AE-1's alert, then P2's: the manager answers AE to every report about AE-1 */
  uint64_t v1 = serve_start_visit_at(&f->s, "chair", "AE-1", "Chair 1");
  assert_int_equal(serve_record_sbp(&f->s, v1, 200), 200);
  uint64_t v2 = serve_start_visit_at(&f->s, "chair", "P2", "Chair 2");
  assert_int_equal(serve_record_sbp(&f->s, v2, 200), 200);
  int fd = own_manager_accept(ls);
  int ae = 0, p2 = 0;
  char alert1[32] = "", first[160] = "";
  while (!p2) {
    char *msg = read_ack(fd);
    if (!msg) fail_msg("no report of P2's alert after %d of AE-1's answered AE: the line is held", ae);
    char control[160] = "", patient[64] = "", alert[32] = "", ack[512];
    report_read(msg, control, patient, alert);
    int mine = !strcmp(patient, "AE-1");
    if (mine) snprintf(alert1, sizeof alert1, "%s", alert);
    /* H5: every attempt of a report has its one MSH-10 */
    if (mine && !*first) snprintf(first, sizeof first, "%s", control);
    if (mine && strcmp(first, control)) fail_msg("AE-1's report sent again as '%s', first as '%s'", control, first);
    ae += mine;
    p2 = !strcmp(patient, "P2");
    if (ae > 10) fail_msg("AE-1's report sent %d times and P2's never: the line is held", ae);
    int n = snprintf(ack, sizeof ack,
                     "\x0bMSH|^~\\&|AM||VIGIL||20260105083001||ACK^R40^ACK|A-%s|P|2.6\rMSA|%s|%s|%s\r\x1c\r", control,
                     mine ? "AE" : "AA", control, mine ? "no pager free, try later" : "");
    send_raw(fd, ack, (size_t)n);
  }
  assert_int_equal(ae, 3);
  /* AE-1's report is recorded as refused, with the manager's last words */
  json_t *rep = NULL;
  assert_int_equal(reports_of(f, v1, atoll(alert1), 0, 1, &rep), 1);
  text_is(rep, "data.status", "refused");
  text_is(rep, "data.code", "AE");
  text_is(rep, "data.text", "no pager free, try later");
  json_decref(rep);
  /* the retries and the backlog in /metrics */
  char *body = NULL;
  assert_int_equal(serve_request(&f->s, "GET", "/metrics", NULL, &body), 200);
  if (!strstr(body, "vigil_plugin_hl7_alarm_retries_total{plugin=\"hl7\"} 2") ||
      !strstr(body, "vigil_plugin_hl7_alarm_refused_total{plugin=\"hl7\"} 1") ||
      !strstr(body, "vigil_plugin_hl7_alarm_backlog{plugin=\"hl7\"}"))
    fail_msg("no alarm retries, refusals or backlog in /metrics: %s", body);
  free(body);
  close(fd);
  close(ls);
}

/* J3 (docs/hl7.md): a report the manager never answered, or dropped the
 * connection on, was sent again for ever and held every later alarm back
 * (max_attempts not applied, retries 0). A manager of the test's own
 * closes the connection on CLOSE-1's report and never answers SILENT-1's;
 * each is sent max_attempts times, recorded as refused with the reason,
 * and P3's report gets through. */
static void alarms_closed_or_unanswered(void **state) {
  (void)state;
  fixture *f = &alarm_fx;
  int port, ls = own_manager_listen(&port);
  vigil_with_own_manager(f, port, "retry_min_ms = 100, retry_max_ms = 200, ack_timeout_ms = 300, max_attempts = 3");
  static const char *const patients[] = {"CLOSE-1", "SILENT-1", "P3"};
  uint64_t visits[3];
  for (int i = 0; i < 3; i++) {
    visits[i] = serve_start_visit_at(&f->s, "chair", patients[i], "Chair 1");
    assert_int_equal(serve_record_sbp(&f->s, visits[i], 200), 200);
  }
  int fd = own_manager_accept(ls), closed = 0, silent = 0, p3 = 0;
  char alerts[2][32] = {"", ""};
  while (!p3) {
    char *msg = read_ack(fd);
    if (!msg) { /* vigil gave up waiting for an answer and closed: it comes back */
      close(fd);
      fd = own_manager_accept(ls);
      continue;
    }
    char control[160] = "", patient[64] = "", alert[32] = "", ack[512];
    report_read(msg, control, patient, alert);
    int mine = !strcmp(patient, "CLOSE-1") ? 0 : !strcmp(patient, "SILENT-1") ? 1 : -1;
    if (mine >= 0) snprintf(alerts[mine], sizeof alerts[mine], "%s", alert);
    p3 = !strcmp(patient, "P3");
    if (closed > 10 || silent > 10)
      fail_msg("CLOSE-1's report sent %d times, SILENT-1's %d and P3's never: the line is held", closed, silent);
    if (mine == 0) { /* the connection closed on it */
      closed++;
      close(fd);
      fd = own_manager_accept(ls);
    } else if (mine == 1) /* never answered: vigil's ack_timeout_ms closes it */
      silent++;
    else {
      int n = snprintf(ack, sizeof ack,
                       "\x0bMSH|^~\\&|AM||VIGIL||20260105083001||ACK^R40^ACK|A-%s|P|2.6\rMSA|AA|%s\r\x1c\r", control,
                       control);
      send_raw(fd, ack, (size_t)n);
    }
  }
  if (closed != 3 || silent != 3)
    fail_msg("CLOSE-1's report sent %d times, SILENT-1's %d: not max_attempts", closed, silent);
  /* each recorded as refused, with the reason */
  static const char *const reasons[] = {"connection closed", "no answer"};
  for (int i = 0; i < 2; i++) {
    json_t *rep = NULL;
    assert_int_equal(reports_of(f, visits[i], atoll(alerts[i]), 0, 1, &rep), 1);
    text_is(rep, "data.status", "refused");
    text_is(rep, "data.text", reasons[i]);
    json_decref(rep);
  }
  /* the retries counted: two of each report's three attempts */
  metrics_have(f, "vigil_plugin_hl7_alarm_retries_total{plugin=\"hl7\"} 4",
               "vigil_plugin_hl7_alarm_refused_total{plugin=\"hl7\"} 2", "not 4 alarm retries and 2 refusals");
  close(fd);
  close(ls);
}

/* H7 (docs/hl7.md): a manager that accepts the connection and never
 * answers looked up (the gauge 1 most of the time, down_since_ms reset at
 * each reconnect) and no alarm said so. Now the link is down from the
 * first unanswered report until an answer, across the reconnects, and
 * after link_alert_after_ms the error "unreachable since" is said once,
 * with link_alert in the status and /metrics. */
static void alarms_manager_never_answers(void **state) {
  (void)state;
  fixture *f = &alarm_fx;
  int port, ls = own_manager_listen(&port);
  vigil_with_own_manager(f, port,
                         "retry_min_ms = 100, retry_max_ms = 200, ack_timeout_ms = 200, link_alert_after_ms = 1500");
  uint64_t visit = serve_start_visit_at(&f->s, "chair", "H7-1", "Chair 7");
  assert_int_equal(serve_record_sbp(&f->s, visit, 200), 200);
  /* take every connection, read what comes, answer nothing, for 3 s; the
   * status sampled meanwhile */
  int fds[64], n_fds = 0, samples = 0, up = 0;
  long long first_down = 0;
  for (int i = 0; i < 30; i++) {
    struct pollfd pl = {.fd = ls, .events = POLLIN};
    while (poll(&pl, 1, 0) == 1 && n_fds < 64)
      fds[n_fds++] = accept(ls, NULL, NULL);
    usleep(100000);
    if (i < 5) continue; /* the first report's ack_timeout_ms */
    json_t *st = get_json(f, "/api/v1/plugins", 200);
    char *text = json_dumps(st, JSON_COMPACT);
    const char *d = strstr(text, "\"down_since_ms\":");
    long long down = d ? atoll(d + strlen("\"down_since_ms\":")) : 0;
    if (!first_down) first_down = down;
    if (down != first_down)
      fail_msg("down_since_ms %lld, then %lld: reset by a reconnect that got no answer", first_down, down);
    samples++;
    up += strstr(text, "\"link\":\"up\"") != NULL;
    free(text);
    json_decref(st);
  }
  if (n_fds < 2) fail_msg("vigil connected %d times in 3 s to a manager that never answers", n_fds);
  if (!first_down || up) fail_msg("the link up in %d of %d samples, down_since_ms %lld", up, samples, first_down);
  json_t *st = get_json(f, "/api/v1/plugins", 200);
  char *text = json_dumps(st, JSON_COMPACT);
  if (!strstr(text, "\"link_alert\":true")) fail_msg("no link_alert after 1500 ms down: %s", text);
  free(text);
  json_decref(st);
  metrics_have(f, "vigil_plugin_hl7_alarm_link_alert{plugin=\"hl7\"} 1",
               "vigil_plugin_hl7_alarm_link_up{plugin=\"hl7\"} 0", "the alarm link not down and alerted");
  /* AJ5 (docs/deploy.md): /healthz said ok meanwhile. */
  st = get_json(f, "/healthz", 200);
  text_is(st, "status", "degraded");
  assert_int_equal(json_integer_value(json_object_get(st, "plugins_degraded")), 1);
  json_decref(st);
  char *log = serve_log(&f->s);
  const char *said = strstr(log, "unreachable since");
  if (!said || strstr(said + 1, "unreachable since")) fail_msg("'unreachable since' not said once: %s", log);
  free(log);
  for (int i = 0; i < n_fds; i++)
    close(fds[i]);
  close(ls);
}

/* AJ3 (docs/deploy.md): a port held by another process (on one machine,
 * the node that owned the site before a failover) refused the plugin for
 * good: ADT in and its alarms out stopped until a restart. Now the plugin
 * runs, says it is degraded (so /healthz does), binds again each second,
 * and takes messages once the port is free. */
static void a_held_port_is_tried_again(void **state) {
  (void)state;
  fixture f = {0};
  assert_int_equal(serve_setup(&f.s, PROTOCOL), 0);
  f.port = hc_free_port();
  int held = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* not the server's too */
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f.port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(held, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(held, 1), 0);
  char extra[200];
  snprintf(extra, sizeof extra, "plugins = { hl7 = { port = %d, application = 'VIGIL', facility = 'CLINIC' } }\n",
           f.port);
  serve_configure(&f.s, extra);
  assert_int_equal(serve_start(&f.s), 0);
  json_t *h = get_json(&f, "/healthz", 200);
  text_is(h, "status", "degraded");
  assert_int_equal(json_integer_value(json_object_get(h, "plugins_degraded")), 1);
  assert_int_equal(json_integer_value(json_object_get(h, "plugins_failed")), 0);
  json_decref(h);
  json_t *st = get_json(&f, "/api/v1/plugins", 200);
  char *text = json_dumps(st, JSON_COMPACT);
  if (!strstr(text, "\"state\":\"running\"") || !strstr(text, "is in use (another process"))
    fail_msg("the plugin not running and degraded: %s", text);
  free(text);
  json_decref(st);
  close(held);
  int free_now = 0;
  for (int i = 0; i < 200 && !free_now; i++) { /* bound again within a second or two; 20 s at most */
    char *log = serve_log(&f.s);
    free_now = strstr(log, "the port is free now") != NULL;
    /* never "MLLP listener on ... (HL7 v2 ADT ...)" while the port was in use */
    if (strstr(log, "(HL7 v2 ADT")) fail_msg("said listening while the port was in use: %s", log);
    free(log);
    if (!free_now) usleep(100000);
  }
  assert_true(free_now);
  a01_taken(&f, "AJ3-1", "AJ3PAT");
  h = get_json(&f, "/healthz", 200);
  text_is(h, "status", "ok");
  char *page = NULL;
  assert_int_equal(serve_request(&f.s, "GET", "/metrics", NULL, &page), 200);
  assert_non_null(strstr(page, "\nvigil_plugin_hl7_listening{plugin=\"hl7\"} 1\n"));
  free(page);
  json_decref(h);
  serve_cleanup(&f.s);
}

/* H5 (docs/hl7.md): two sites on one alarm manager, which deduplicates on
 * MSH-10, counted their reports' control ids from the same numbers
 * (VIGIL-<seq>): the second site's first alarm was taken for the first's
 * and dropped. Two vigils raise their first alert at the same seq: the ids
 * differ, each VIGIL-<seq>-<digest>. */
static void alarm_ids_differ_between_sites(void **state) {
  (void)state;
  int port, ls = own_manager_listen(&port);
  fixture *sites[2] = {&alarm_fx, &alarm_fx2};
  char ids[2][128];
  int fds[2];
  for (int i = 0; i < 2; i++) {
    vigil_with_own_manager(sites[i], port, "retry_min_ms = 100, retry_max_ms = 300");
    uint64_t visit = serve_start_visit_at(&sites[i]->s, "chair", "P1", "Chair 1");
    assert_int_equal(serve_record_sbp(&sites[i]->s, visit, 200), 200);
    fds[i] = own_manager_accept(ls);
    char *msg = read_ack(fds[i]), err[256], ack[512];
    assert_non_null(msg);
    hl7_msg m;
    assert_int_equal(vigil__hl7_parse(&m, msg, strlen(msg), err, sizeof err), 0);
    free(msg);
    vigil__hl7_value(&m, 0, 10, 0, 0, 0, ids[i], sizeof ids[i]);
    vigil__hl7_free(&m);
    int n =
        snprintf(ack, sizeof ack, "\x0bMSH|^~\\&|AM||VIGIL||20260105083001||ACK^R40^ACK|A-%s|P|2.6\rMSA|AA|%s\r\x1c\r",
                 ids[i], ids[i]);
    send_raw(fds[i], ack, (size_t)n);
  }
  /* the same seq (what made them collide), another id */
  if (strncmp(ids[0], "VIGIL-", 6) || atoll(ids[0] + 6) != atoll(ids[1] + 6))
    fail_msg("the sites' first reports are not of one seq ('%s', '%s'): the test shows no collision", ids[0], ids[1]);
  if (!strcmp(ids[0], ids[1])) fail_msg("two sites sent the same MSH-10 '%s' to one manager", ids[0]);
  const char *digest = strchr(ids[0] + 6, '-');
  if (!digest || strlen(digest + 1) != 8) fail_msg("'%s' is not VIGIL-<seq>-<digest>", ids[0]);
  for (int i = 0; i < 2; i++)
    close(fds[i]);
  close(ls);
}

/* The first report a vigil sends the test's own manager (listening on ls),
 * answered AA: its OBR-2 and OBR-3 whole (EI: "<id>^<namespace>"). *fd
 * keeps the connection for the caller to close. */
static void first_alarm(int ls, int *fd, char obr2[200], char obr3[200]) {
  *fd = own_manager_accept(ls);
  char *msg = read_ack(*fd), err[256], control[160], ack[512];
  assert_non_null(msg);
  hl7_msg m;
  assert_int_equal(vigil__hl7_parse(&m, msg, strlen(msg), err, sizeof err), 0);
  free(msg);
  vigil__hl7_value(&m, 0, 10, 0, 0, 0, control, sizeof control);
  long obr = vigil__hl7_find(&m, "OBR", 0);
  assert_true(obr >= 0);
  char id[128], ns[64];
  for (int k = 2; k <= 3; k++) {
    vigil__hl7_value(&m, (size_t)obr, (size_t)k, 0, 1, 0, id, sizeof id);
    vigil__hl7_value(&m, (size_t)obr, (size_t)k, 0, 2, 0, ns, sizeof ns);
    snprintf(k == 2 ? obr2 : obr3, 200, "%s^%s", id, ns);
  }
  vigil__hl7_free(&m);
  int n =
      snprintf(ack, sizeof ack, "\x0bMSH|^~\\&|AM||VIGIL||20260105083001||ACK^R40^ACK|A-%s|P|2.6\rMSA|AA|%s\r\x1c\r",
               control, control);
  send_raw(*fd, ack, (size_t)n);
}

/* J2 (docs/hl7.md): the alarm's identity, OBR-2 and OBR-3, was
 * "<alert>^VIGIL" whatever the site: two sites' alert 1 were one alarm to
 * the manager (an `end` of one silenced the other), and so were a restored
 * database's new alert 2 and the lost one. Two vigils raise their alert 1;
 * then the second is restored from a copy of its database taken before and
 * raises its alert 1 again: three alarms, three ids, each
 * "<alert>-<digest>" with alarms.application as its namespace. */
static void alarm_ids_differ_between_sites_and_restores(void **state) {
  (void)state;
  int port, ls = own_manager_listen(&port);
  fixture *sites[2] = {&alarm_fx, &alarm_fx2};
  const char *more[2] = {"retry_min_ms = 100, retry_max_ms = 300, application = 'NORTH'",
                         "retry_min_ms = 100, retry_max_ms = 300"};
  const char *who[3] = {"site A's alert", "site B's alert", "site B's alert after the restore"};
  char ids[3][2][200], backup[200], cmd[700];
  int fds[3];
  for (int i = 0; i < 3; i++) {
    fixture *f = sites[i < 2 ? i : 1];
    if (i < 2) {
      assert_int_equal(serve_setup(&f->s, ALARM_PROTOCOL), 0);
      if (i == 1) { /* the backup: the database as the site began */
        snprintf(backup, sizeof backup, "%s/backup.db", f->s.root);
        snprintf(cmd, sizeof cmd, "cp '%s/vigil.db' '%s'", f->s.root, backup);
        assert_int_equal(system(cmd), 0);
      }
      char extra[256];
      snprintf(extra, sizeof extra, "plugins = { hl7 = { alarms = { port = %d, %s } } }\n", port, more[i]);
      serve_configure(&f->s, extra);
      assert_int_equal(serve_start(&f->s), 0);
    } else { /* the restore */
      assert_int_equal(serve_stop(&f->s, 0), 0);
      snprintf(cmd, sizeof cmd, "rm -f '%s/vigil.db-wal' '%s/vigil.db-shm' && cp '%s' '%s/vigil.db'", f->s.root,
               f->s.root, backup, f->s.root);
      assert_int_equal(system(cmd), 0);
      f->s.token[0] = '\0'; /* the session was not in the backup */
      assert_int_equal(serve_start(&f->s), 0);
    }
    uint64_t visit = serve_start_visit_at(&f->s, "chair", "P1", "Chair 1");
    assert_int_equal(serve_record_sbp(&f->s, visit, 200), 200);
    first_alarm(ls, &fds[i], ids[i][0], ids[i][1]);
    if (strcmp(ids[i][0], ids[i][1])) fail_msg("OBR-2 '%s' and OBR-3 '%s' differ", ids[i][0], ids[i][1]);
    const char *ns = strchr(ids[i][0], '^'), *dash = strchr(ids[i][0], '-');
    if (strcmp(ns + 1, i == 0 ? "NORTH" : "VIGIL"))
      fail_msg("OBR-2 '%s': the namespace is not alarms.application ('%s')", ids[i][0], i == 0 ? "NORTH" : "VIGIL");
    if (!dash || dash > ns || ns - dash - 1 != 8) fail_msg("OBR-2 '%s' is not <alert>-<digest>^<namespace>", ids[i][0]);
  }
  /* the same alert (what made them collide), three alarms */
  if (atoll(ids[0][0]) != atoll(ids[1][0]) || atoll(ids[1][0]) != atoll(ids[2][0]))
    fail_msg("the alerts are not of one number ('%s', '%s', '%s'): the test shows no collision", ids[0][0], ids[1][0],
             ids[2][0]);
  for (int i = 0; i < 3; i++)
    for (int k = i + 1; k < 3; k++)
      if (!strncmp(ids[i][0], ids[k][0], (size_t)(strchr(ids[i][0], '^') - ids[i][0])))
        fail_msg("%s and %s sent one alarm id '%s'", who[i], who[k], ids[i][0]);
  for (int i = 0; i < 3; i++)
    close(fds[i]);
  close(ls);
}

/* ---- results out: node-hl7-server plays the EHR (ctest hl7_ehr_interop) ---- */

static const char *EHR_PROTOCOL = "local v = require 'vigil'\n"
                                  "return v.protocol 'chair' {\n"
                                  "  version = '1.0.0',\n"
                                  "  phases = { v.phase 'one' { items = {\n"
                                  "    v.vitals 'vitals' { fields = { 'sbp', 'spo2' } },\n"
                                  "    v.number 'weight' { title = 'Body weight', unit = 'kg', range = { 20, 300 },\n"
                                  "                        required = false },\n"
                                  "    v.score 'pain' { title = 'Pain score', required = false, fields = {\n"
                                  "      { 'intensity', title = 'Intensity', points = { 0, 1, 2, 3 } },\n"
                                  "      { 'sleep', points = { 0, 1 } } } },\n"
                                  "    v.check 'consent' { required = false },\n"
                                  "  } } },\n"
                                  "}\n";

/* The EHR's lines (from line from on) for which want ("k=v,...") holds:
 * how many, each answered AA counted in *aa (each control id's AAs: the
 * most of any one in *most_aa). */
static size_t ehr_lines(manager *m, const char *want, size_t *aa, size_t *most_aa) {
  FILE *fp = fopen(m->out, "r");
  char line[8192];
  size_t n = 0;
  json_t *seen = json_object();
  if (aa) *aa = 0;
  if (most_aa) *most_aa = 0;
  while (fp && fgets(line, sizeof line, fp)) {
    json_t *j = json_loads(line, 0, NULL);
    char w[512];
    snprintf(w, sizeof w, "%s", want);
    int ok = j && json_object_get(j, "control");
    for (char *kv = strtok(w, ","); kv && ok; kv = strtok(NULL, ",")) {
      char *eq = strchr(kv, '=');
      *eq = '\0';
      const char *got = json_string_value(json_object_get(j, kv));
      ok = got && !strcmp(got, eq + 1);
    }
    if (ok) {
      n++;
      if (!strcmp(text_at(j, "answered"), "AA")) {
        const char *c = text_at(j, "control");
        json_int_t k = json_integer_value(json_object_get(seen, c)) + 1;
        json_object_set_new(seen, c, json_integer(k));
        if (aa) (*aa)++;
        if (most_aa && (size_t)k > *most_aa) *most_aa = (size_t)k;
      }
    }
    json_decref(j);
  }
  if (fp) fclose(fp);
  json_decref(seen);
  return n;
}

/* A file's text (a static buffer), for a failure to show. */
static const char *file_text(const char *path) {
  static char text[65536];
  FILE *fp = fopen(path, "r");
  size_t n = fp ? fread(text, 1, sizeof text - 1, fp) : 0;
  text[n] = '\0';
  if (fp) fclose(fp);
  return text;
}

/* The plugin's status, plugins[].status.ehr, as text (malloc'd). */
static char *ehr_status(fixture *f) {
  json_t *st = get_json(f, "/api/v1/plugins", 200);
  char *text = json_dumps(st, JSON_COMPACT);
  json_decref(st);
  return text;
}

/* When the visit started, as vigil gives it ("2026-01-05T08:30:00.123Z";
 * a static buffer). */
static const char *iso_started(fixture *f, uint64_t visit) {
  static char iso[40];
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)visit);
  json_t *v = get_json(f, path, 200);
  snprintf(iso, sizeof iso, "%s", text_at(v, "started_at") ? text_at(v, "started_at") : "");
  json_decref(v);
  return iso;
}

/* The same as HL7's DTM, as vigil sends it (20260105083000+0000). */
static void hl7_time_of(fixture *f, uint64_t visit, char out[24]) {
  const char *iso = iso_started(f, visit);
  size_t k = 0;
  for (const char *s = iso; *s && *s != '.' && k < 14; s++)
    if (*s >= '0' && *s <= '9') out[k++] = *s;
  snprintf(out + k, 24 - k, "+0000");
}

/* The index ("0", "1", ...; a static buffer) of the EHR line's OBR of item. */
static const char *order_with(json_t *line, const char *item) {
  static char at[24];
  json_t *o;
  size_t i;
  json_array_foreach(json_object_get(line, "orders"), i, o) {
    const char *it = json_string_value(json_object_get(o, "item"));
    if (it && !strcmp(it, item)) {
      snprintf(at, sizeof at, "%zu", i);
      return at;
    }
  }
  char *d = json_dumps(line, 0);
  fail_msg("no OBR of %s in %s", item, d);
  return NULL;
}

/* K2: the title (OBX-3.2) of the EHR line's OBX of code is want. */
static void obx_title_is(json_t *line, const char *code, const char *want) {
  json_t *o;
  size_t i;
  json_array_foreach(json_object_get(line, "obx"), i, o) {
    const char *c = json_string_value(json_object_get(o, "code"));
    const char *title = json_string_value(json_object_get(o, "title"));
    if (!c || strcmp(c, code)) continue;
    if (!title || strcmp(title, want))
      fail_msg("the local code %s^%s^L has not its title '%s'", code, title ? title : "", want);
    return;
  }
  char *d = json_dumps(line, 0);
  fail_msg("no OBX of %s in %s", code, d);
}

static int record_entry(fixture *f, uint64_t visit, const char *body) {
  return serve_request(&f->s, "POST", path_of_entries(visit), body, NULL);
}

/* Vitals and scores out (docs/hl7.md, issue 18 item 4): each reading of a
 * visit's numeric items reaches the EHR as an ORU^R01 that node-hl7-server
 * parses, with the patient's ADT record, the protocol's LOINC codes and
 * UCUM units; an amendment as C under the filler number and observed time
 * of the reading it corrects (K1); an AE is sent again with the same MSH-10,
 * an AR is not and the next goes; an outage of the EHR, and vigil killed
 * meanwhile, lose nothing; a kill -9 with results waiting sends nothing
 * twice but the one in flight. */
/* vigil with the test protocol and results out (more: further ehr
 * settings, "" or ", k = v") to node-hl7-server as the EHR (ehr.cjs). */
static void ehr_vigil(fixture *f, manager *em, const char *more) {
  assert_int_equal(serve_setup(&f->s, EHR_PROTOCOL), 0);
  em->port = hc_free_port();
  f->port = hc_free_port();
  char extra[512];
  snprintf(extra, sizeof extra,
           "plugins = { hl7 = { port = %d, ehr = { port = %d, application = 'VIGIL', facility = 'CLINIC', "
           "to_application = 'EHR', to_facility = 'HOSP', retry_min_ms = 100, retry_max_ms = 300, "
           "ack_timeout_ms = 3000%s } } }\n",
           f->port, em->port, more);
  serve_configure(&f->s, extra);
  peer_start(f, em, "tests/hl7/ehr.cjs");
  json_decref(manager_line(em, 0, "", NULL)); /* it listens */
  assert_int_equal(serve_start(&f->s), 0);
}

static void ehr_out(void **state) {
  (void)state;
  if (!getenv("VIGIL_HL7_NODE_MODULES")) skip();
  fixture *f = &alarm_fx;
#define m alarm_m
  ehr_vigil(f, &m, "");
  a01_taken(f, "REC-E1", "E1"); /* HOSP's DOE^JANE, 1980-02-14, F */
  uint64_t visit = serve_start_visit_at(&f->s, "chair", "E1", "Chair 5");
  assert_true(visit > 0);
  /* a check alone is not a result: nothing goes for it */
  assert_int_equal(record_entry(f, visit, "{\"consent\": true}"), 200);
  assert_int_equal(record_entry(f, visit, "{\"vitals\": {\"sbp\": 131, \"spo2\": 97}}"), 200);
  size_t at;
  json_t *l = manager_line(&m, 0, "patient=E1", &at);
  text_is(l, "type", "ORU^R01^ORU_R01");
  text_is(l, "version", "2.5.1");
  text_is(l, "to", "EHR");
  text_is(l, "accept_ack", "AL");
  text_is(l, "authority", "HOSP");
  text_is(l, "id_type", "MR");
  text_is(l, "family", "DOE");
  text_is(l, "given", "JANE");
  text_is(l, "birth_date", "19800214");
  text_is(l, "sex", "F");
  text_is(l, "class", "O");
  text_is(l, "location", "Chair 5");
  text_is(l, "item", "one.vitals");
  text_is(l, "status", "F");
  text_is(l, "obx.0.code", "8480-6");
  text_is(l, "obx.0.system", "LN");
  text_is(l, "obx.0.type", "NM");
  text_is(l, "obx.0.value", "131");
  text_is(l, "obx.0.unit", "mm[Hg]");
  text_is(l, "obx.0.status", "F");
  text_is(l, "obx.1.code", "59408-5");
  text_is(l, "obx.1.value", "97");
  text_is(l, "obx.1.unit", "%");
  if (strncmp(text_at(l, "control"), "VIGIL-R01-", 10)) fail_msg("MSH-10 '%s'", text_at(l, "control"));
  json_decref(l);
  /* K1: a late entry of a reading and a number item (observed when the
   * visit started), then the number amended, and amended again, a second
   * later: each correction (C) names the reading it corrects, OBR-3 the
   * original's filler number (<seq>-<k>: the entry's k-th reading), OBR-7
   * and OBX-14 when that reading was observed, not when it was amended */
  char observed[24];
  hl7_time_of(f, visit, observed);
  char entry[200];
  snprintf(entry, sizeof entry,
           "{\"vitals\": {\"sbp\": 128, \"spo2\": 96}, \"weight\": 70, \"pain\": {\"intensity\": 2, \"sleep\": 1}, "
           "\"observed_at\": \"%s\"}",
           iso_started(f, visit));
  assert_int_equal(record_entry(f, visit, entry), 200);
  l = manager_line(&m, at + 1, "patient=E1,status=F", &at);
  /* K2: each local code with its title: the field's, else a number item's
   * own, a score's total Total, a score field without one the score's */
  obx_title_is(l, "weight", "Body weight");
  obx_title_is(l, "intensity", "Intensity");
  obx_title_is(l, "sleep", "Pain score: sleep");
  obx_title_is(l, "total", "Total");
  const char *wk = order_with(l, "one.weight");
  char filler[64], path[64];
  snprintf(path, sizeof path, "orders.%s.filler", wk);
  snprintf(filler, sizeof filler, "%s", text_at(l, path) ? text_at(l, path) : "");
  if (!strchr(filler, '-')) fail_msg("the entry's weight is OBR-3 '%s', not <seq>-<k> of several readings", filler);
  snprintf(path, sizeof path, "orders.%s.observed", wk);
  text_is(l, path, observed);
  json_decref(l);
  usleep(1100000); /* amended in a later second than the visit started */
  char amend[64];
  snprintf(amend, sizeof amend, "/api/v1/visits/%llu/amend", (unsigned long long)visit);
  for (int kg = 72; kg <= 73; kg++) {
    snprintf(entry, sizeof entry, "{\"item\": \"weight\", \"value\": %d, \"reason\": \"re-weighed\"}", kg);
    assert_int_equal(serve_request(&f->s, "POST", amend, entry, NULL), 200);
    char want[96];
    snprintf(want, sizeof want, "patient=E1,item=one.weight,status=C,value=%d", kg);
    l = manager_line(&m, at + 1, want, &at);
    text_is(l, "obx.0.status", "C");
    if (strcmp(text_at(l, "orders.0.filler") ? text_at(l, "orders.0.filler") : "(none)", filler))
      fail_msg("the correction to %d kg has OBR-3 '%s', not the original's '%s'", kg, text_at(l, "orders.0.filler"),
               filler);
    if (!strcmp(text_at(l, "time"), observed))
      fail_msg("amended at the time observed (%s): the test proves nothing", observed);
    text_is(l, "orders.0.observed", observed);
    text_is(l, "obx.0.observed", observed);
    json_decref(l);
  }

  /* AE: sent again with the same MSH-10, then taken */
  uint64_t vae = serve_start_visit_at(&f->s, "chair", "AE-1", "Chair 6");
  assert_true(vae > 0);
  char *why = NULL;
  if (serve_request(&f->s, "POST", path_of_entries(vae), "{\"vitals\": {\"sbp\": 140, \"spo2\": 97}}", &why) != 200)
    fail_msg("%s", why);
  free(why);
  l = manager_line(&m, at + 1, "patient=AE-1,answered=AE", &at);
  char control[160];
  snprintf(control, sizeof control, "control=%s,answered=AA", text_at(l, "control"));
  json_decref(l);
  json_decref(manager_line(&m, at + 1, control, &at));
  /* AR: refused, not sent again; the next result goes */
  uint64_t var = serve_start_visit_at(&f->s, "chair", "AR-1", "Chair 7");
  assert_int_equal(record_entry(f, var, "{\"vitals\": {\"sbp\": 150, \"spo2\": 97}}"), 200);
  assert_int_equal(record_entry(f, visit, "{\"vitals\": {\"sbp\": 132, \"spo2\": 97}}"), 200);
  json_decref(manager_line(&m, at + 1, "patient=AR-1,answered=AR", &at));
  json_decref(manager_line(&m, at + 1, "patient=E1,value=132,answered=AA", &at));
  if (ehr_lines(&m, "patient=AR-1", NULL, NULL) != 1 || ehr_lines(&m, "patient=AE-1", NULL, NULL) != 2) {
    fprintf(stderr, "%s", file_text(m.out));
    fail_msg("AR-1's result not read once or AE-1's not twice by the EHR (above)");
  }
  char *st = ehr_status(f);
  if (!strstr(st, "\"refused\":1") || !strstr(st, "refused with AR"))
    fail_msg("the status does not say the AR: %s", st);
  free(st);
  char *log = serve_log(&f->s);
  /* K2: the refusal said once ("EHR refused VIGIL-R01-... (...) with AR: ...") */
  const char *said = strstr(log, "EHR refused");
  if (!said || strncmp(said, "EHR refused VIGIL-R01-", 22) || !strstr(said, ") with AR: ") ||
      strstr(said, "refused with AR"))
    fail_msg("the log does not say 'EHR refused VIGIL-R01-... (...) with AR: ...' once: %.*s", said ? 160 : 4,
             said ? said : "none");
  free(log);

  /* the EHR goes away; three readings and the last one's amendment wait;
   * vigil killed meanwhile and started again; the EHR back: all four
   * arrive, in order, the correction naming the last reading (K1: learnt
   * again from the log at the start) */
  manager_stop(&m);
  for (int sbp = 141; sbp <= 143; sbp++) {
    char body[64];
    snprintf(body, sizeof body, "{\"vitals\": {\"sbp\": %d, \"spo2\": 97}}", sbp);
    assert_int_equal(record_entry(f, visit, body), 200);
  }
  assert_int_equal(serve_request(&f->s, "POST", amend,
                                 "{\"item\": \"vitals\", \"value\": {\"sbp\": 144, \"spo2\": 97}, \"reason\": "
                                 "\"misread\"}",
                                 NULL),
                   200);
  int down = 0;
  for (int i = 0; i < 100 && !down; i++) {
    char *text = serve_log(&f->s);
    down = strstr(text, "link down") != NULL;
    free(text);
    if (!down) usleep(50000);
  }
  assert_true(down);
  serve_stop(&f->s, 1);
  assert_int_equal(serve_start(&f->s), 0);
  peer_start(f, &m, "tests/hl7/ehr.cjs");
  json_decref(manager_line(&m, at + 1, "value=141,answered=AA", &at));
  json_decref(manager_line(&m, at + 1, "value=142,answered=AA", &at));
  l = manager_line(&m, at + 1, "value=143,answered=AA", &at);
  snprintf(filler, sizeof filler, "%s", text_at(l, "orders.0.filler") ? text_at(l, "orders.0.filler") : "");
  json_decref(l);
  l = manager_line(&m, at + 1, "value=144,status=C,answered=AA", &at);
  text_is(l, "orders.0.filler", filler);
  json_decref(l);

  /* kill -9 with six results waiting: after the restart each arrives, and
   * none is taken twice but (at most) the one in flight at the kill */
  for (int sbp = 151; sbp <= 156; sbp++) {
    char body[64];
    snprintf(body, sizeof body, "{\"vitals\": {\"sbp\": %d, \"spo2\": 97}}", sbp);
    assert_int_equal(record_entry(f, visit, body), 200);
  }
  serve_stop(&f->s, 1);
  assert_int_equal(serve_start(&f->s), 0);
  for (int sbp = 151; sbp <= 156; sbp++) {
    char want[64];
    snprintf(want, sizeof want, "value=%d,answered=AA", sbp);
    json_decref(manager_line(&m, 0, want, NULL));
  }
  size_t aa = 0, most = 0, twice = 0;
  ehr_lines(&m, "", &aa, &most);
  for (int sbp = 151; sbp <= 156; sbp++) {
    char want[64];
    snprintf(want, sizeof want, "value=%d,answered=AA", sbp);
    twice += ehr_lines(&m, want, NULL, NULL) > 1;
  }
  if (most > 2 || twice > 1) fail_msg("a result taken %zu times; %zu of the six taken twice", most, twice);
  /* before the last kill, every result once: E1 131, 128 with 70, 72, 73, AE-1 140, 132, 141-143, 144 */
  if (aa - 6 - twice != 10) fail_msg("%zu results taken (AA), not 10 + 6 (+%zu in flight)", aa, twice);
}

/* K3 (docs/hl7.md): an EHR that answers AE for ever to one result gets it
 * max_attempts times (the alarms' default, 5), no more: it is then set aside
 * (kept as ehr/refused/<seq>, logged at level error, counted in refused), and
 * the result after it still arrives. */
static void ehr_answered_ae_for_ever(void **state) {
  (void)state;
  if (!getenv("VIGIL_HL7_NODE_MODULES")) skip();
  fixture *f = &alarm_fx;
  ehr_vigil(f, &m, "");
  uint64_t nak = serve_start_visit_at(&f->s, "chair", "NAK-1", "Chair 8");
  uint64_t next = serve_start_visit_at(&f->s, "chair", "E2", "Chair 9");
  assert_true(nak > 0 && next > 0);
  assert_int_equal(record_entry(f, nak, "{\"vitals\": {\"sbp\": 120, \"spo2\": 97}}"), 200);
  assert_int_equal(record_entry(f, next, "{\"vitals\": {\"sbp\": 121, \"spo2\": 97}}"), 200);
  json_t *l = NULL;
  for (int tries = 0; tries < 200 && !l; tries++) { /* 10 s: not manager_line's failure, the count's */
    if (ehr_lines(&m, "patient=E2,value=121,answered=AA", NULL, NULL))
      l = manager_line(&m, 0, "patient=E2,value=121,answered=AA", NULL);
    else
      usleep(50000);
  }
  size_t naks = ehr_lines(&m, "patient=NAK-1,answered=AE", NULL, NULL);
  if (!l) fail_msg("NAK-1's result sent %zu times and E2's never: the line is held", naks);
  json_decref(l);
  if (naks != 5) fail_msg("NAK-1's result sent %zu times, not max_attempts (5)", naks);
  char *st = ehr_status(f);
  if (!strstr(st, "\"refused\":1") || !strstr(st, "\"retries\":4") || !strstr(st, "\"backlog\":0") ||
      !strstr(st, "set aside after 5 failed attempts, the last: AE"))
    fail_msg("the status does not say the result set aside (refused 1, retries 4, backlog 0): %s", st);
  free(st);
  char *log = serve_log(&f->s);
  const char *said = strstr(log, "EHR answered VIGIL-R01-");
  if (!said || !strstr(said, "5 times with AE") || !strstr(said, "max_attempts"))
    fail_msg("the log does not say the result set aside after 5 AEs: %.*s", said ? 200 : 4, said ? said : "none");
  free(log);
}
#undef m

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "ehr")) {
    const struct CMUnitTest ehr[] = {cmocka_unit_test_teardown(ehr_out, alarms_teardown),
                                     cmocka_unit_test_teardown(ehr_answered_ae_for_ever, alarms_teardown)};
    return cmocka_run_group_tests(ehr, NULL, NULL);
  }
  if (argc > 1 && !strcmp(argv[1], "interop")) {
    const struct CMUnitTest interop[] = {
        cmocka_unit_test_setup_teardown(npm_client_round_trip, setup, teardown),
        cmocka_unit_test_teardown(alarms_out, alarms_teardown),
    };
    return cmocka_run_group_tests(interop, NULL, NULL);
  }
  if (argc > 1) cmocka_set_test_filter(argv[1]); /* one case by name, as the other test programs take it */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_patient_in, setup, teardown),
      cmocka_unit_test_setup_teardown(duplicates_across_restarts, setup, teardown),
      cmocka_unit_test_setup_teardown(malformed_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(a40_merges, setup, teardown),
      cmocka_unit_test_setup_teardown(fhir_has_the_kept_allergies, setup, teardown),
      cmocka_unit_test_setup_teardown(interface_findings, setup, teardown),
      cmocka_unit_test_setup_teardown(timeouts_and_the_limit, setup_small, teardown),
      cmocka_unit_test_setup_teardown(message_times, setup, teardown),
      cmocka_unit_test_setup_teardown(patient_keys_by_authority, setup, teardown),
      cmocka_unit_test_setup_teardown(older_allergies_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(local_times_in_the_site_zone, setup_zoned, teardown),
      cmocka_unit_test(zone_reader_agrees_with_libc),
      cmocka_unit_test(record_authority_of_older_records),
      cmocka_unit_test(unknown_settings_refused),
      cmocka_unit_test(ack_ids_differ_across_restarts),
      cmocka_unit_test(a_held_port_is_tried_again),
      cmocka_unit_test_teardown(alarms_answer_not_utf8, alarms_teardown),
      cmocka_unit_test_teardown(alarms_answered_ae_for_ever, alarms_teardown),
      cmocka_unit_test_teardown(alarm_ids_differ_between_sites, alarms_teardown),
      cmocka_unit_test_teardown(alarm_ids_differ_between_sites_and_restores, alarms_teardown),
      cmocka_unit_test_teardown(alarms_manager_never_answers, alarms_teardown),
      cmocka_unit_test_teardown(alarms_closed_or_unanswered, alarms_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
