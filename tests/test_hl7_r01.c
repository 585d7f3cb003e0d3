/* test_hl7_r01.c: a vitals reading as ORU^R01 (plugins/hl7/r01.c,
 * docs/hl7.md "Vitals and scores out"), read back by the codec:
 *
 *   - a_reading_as_r01: MSH, the patient from the ADT record, the chair and
 *     visit, the reading's OBR, one OBX per value with its LOINC code, UCUM
 *     unit, F and the time it was observed;
 *   - a_correction_and_local_codes: an amendment is C in OBR-25 and OBX-11; a
 *     field with no LOINC code goes as the protocol's field, a local code; a
 *     finding is ST; text with delimiters reads back as itself;
 *   - an_escalation_as_r40: the alarm report (plugins/hl7/r40.c) of an
 *     escalation says its level, its long text is TX, the patient's
 *     authority and name are those of the ADT record, the chair an
 *     outpatient's (J4 of docs/hl7.md);
 *   - a_vital_alarm_as_r40: a vital sign's alarm is a limit alarm (OBX 1
 *     MDC_EVT_LO_LT_LIM or MDC_EVT_HI_GT_LIM) whose source, OBX 2, is the
 *     observation: MDC code, NM reading, unit, limits in OBX-7, L or H (J4);
 *   - parsed_by_node_hl7_client (ctest hl7_r01_interop, `test_hl7_r01
 *     interop`): the same messages read by an independent parser,
 *     node-hl7-client's (tests/hl7/parse.cjs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "hl7.h"
#include "r01.h"
#include "r40.h"

static void value_is(const hl7_msg *m, const char *seg, long nth, int f, int c, const char *want) {
  char out[256];
  long at = vigil__hl7_find(m, seg, (size_t)nth);
  if (at < 0) fail_msg("no %s number %ld", seg, nth + 1);
  vigil__hl7_value(m, (size_t)at, f, 0, c, 0, out, sizeof out);
  if (strcmp(out, want)) fail_msg("%s-%d.%d (0: the whole field) is '%s', not '%s'", seg, f, c, out, want);
}

/* Each "SEG-F=value", "SEG-F.C=value" or "SEG[n]-F.C=value" (the nth
 * such segment, from 1; C 0 or absent: the whole field) of spec, separated
 * by ';', as msg reads. */
static void fields_are(const hl7_msg *m, const char *spec) {
  for (const char *at = spec; *at;) {
    char seg[4], value[256];
    long nth = 1;
    int field = 0, comp = 0, used = 0;
    if (sscanf(at, "%3[A-Z0-9]%n", seg, &used) != 1) fail_msg("bad spec at '%s'", at);
    at += used;
    if (sscanf(at, "[%ld]%n", &nth, &used) == 1) at += used;
    if (sscanf(at, "-%d%n", &field, &used) != 1) fail_msg("bad spec at '%s'", at);
    at += used;
    if (sscanf(at, ".%d%n", &comp, &used) == 1) at += used;
    if (*at++ != '=') fail_msg("bad spec before '%s'", at);
    size_t n = strcspn(at, ";");
    snprintf(value, sizeof value, "%.*s", (int)n, at);
    value_is(m, seg, nth - 1, field, comp, value);
    at += n + (at[n] == ';');
  }
}

static char *build(const r01_reading *r, hl7_msg *m) {
  size_t len;
  char *msg = vigil__hl7_r01(r, "VIGIL", "CLINIC", "EHR", "HOSP", "VIGIL-R01-42", "20260105083100+0000", &len);
  assert_non_null(msg);
  char err[256];
  if (vigil__hl7_parse(m, msg, len, err, sizeof err) < 0) fail_msg("the R01 does not parse: %s\n%s", err, msg);
  return msg;
}

static const r01_value READING_VALUES[] = {{"sbp", "Systolic BP", "8480-6", "mm[Hg]", "182", 1},
                                           {"spo2", "SpO2", "59408-5", "%", "97", 1}};
static const r01_value AMENDED_VALUES[] = {{"moaas", "MOAA/S", NULL, NULL, "4", 1},
                                           {"note", "Airway", "", "", "jaw thrust | 2^3 & more", 0}};
/* a checkpoint's vitals, the patient known from an ADT record */
static const r01_reading READING = {.patient = "123456",
                                    .family = "DOE",
                                    .given = "JANE",
                                    .birth_date = "1980-02-14",
                                    .sex = "F",
                                    .location = "Chair 2",
                                    .visit = 7,
                                    .item = "vitals",
                                    .item_title = "Vital signs",
                                    .seq = 42,
                                    .observed = "20260105083000+0000",
                                    .values = READING_VALUES,
                                    .n_values = 2};
/* an amendment of a score and a finding, of a patient with no record */
static const r01_reading CORRECTION = {
    .patient = "P1", .visit = 1, .item = "sedation", .seq = 9, .corrected = 1, .values = AMENDED_VALUES, .n_values = 2};

static void a_reading_as_r01(void **state) {
  (void)state;
  hl7_msg m;
  char *msg = build(&READING, &m);
  fields_are(&m, "MSH-9.1=ORU;MSH-9.2=R01;MSH-10=VIGIL-R01-42;MSH-12=2.5.1;MSH-15=AL;PID-3.1=123456;PID-3.5=MR;"
                 "PID-5.1=DOE;PID-5.2=JANE;PID-7=19800214;PID-8=F;PV1-3=Chair 2;PV1-19.1=7;OBR-3.1=42;"
                 "OBR-4.1=vitals;OBR-7=20260105083000+0000;OBR-25=F;OBX-2=NM;OBX-3.1=8480-6;OBX-3.3=LN;OBX-5=182;"
                 "OBX-6.1=mm[Hg];OBX-6.3=UCUM;OBX-11=F;OBX-14=20260105083000+0000;OBX[2]-3.1=59408-5;OBX[2]-5=97;"
                 "OBX[2]-6.1=%");
  vigil__hl7_free(&m);
  free(msg);
}

static void a_correction_and_local_codes(void **state) {
  (void)state;
  hl7_msg m;
  char *msg = build(&CORRECTION, &m);
  /* no record: no name; no observed time given: now */
  fields_are(&m, "PID-5=;OBR-7=20260105083100+0000;OBR-25=C;OBX-3.1=moaas;OBX-3.3=L;OBX-6=;OBX-11=C;OBX[2]-2=ST;"
                 "OBX[2]-5=jaw thrust | 2^3 & more;OBX[2]-11=C");
  vigil__hl7_free(&m);
  free(msg);
}

/* The report of a (r40.c) to the manager AM, sent at 08:31 with MSH-10 control. */
static char *report_of(const r40_alert *a, const char *control, size_t *len) {
  char *msg = vigil__hl7_r40(a, "VIGIL", "CLINIC", "AM", "", control, "20260105083100+0000", len);
  assert_non_null(msg);
  return msg;
}

/* J4 (docs/hl7.md): an escalation's report, of a patient vigil keeps an ADT
 * record of, with a message longer than ST's 199 characters. */
static char long_text[547];
static char *escalation_r40(size_t *len) {
  memset(long_text, 'x', sizeof long_text - 1);
  memcpy(long_text, "SBP very high", 13);
  /* the record's patient, an escalation to level 2 */
  r40_alert a = {.patient = "123456", .authority = "HOSP", .family = "DOE", .given = "JANE", .level = 2};
  a.phase = "escalate";
  a.state = "active";
  a.inactivation = "enabled";
  a.alarm_id = "7-0badcafe";
  a.ns = "VIGIL";
  a.location = "Chair 2";
  a.message = long_text;
  a.priority = "high";
  a.time = "20260105083000+0000";
  return report_of(&a, "VIGIL-14-0badcafe", len);
}

/* An alert that names no vital sign stays as before J4's observation: the
 * generic MDC_EVT_ALARM, the phase in OBX 2. */
#define ESCALATION_FIELDS                                                                                              \
  "PID-3.1=123456;PID-3.4=HOSP;PID-3.5=MR;PID-5.1=DOE;PID-5.2=JANE;PV1-2=O;PV1-3=Chair 2;OBX-2=TX;OBX-8=PH;"           \
  "OBX-3.1=196616;OBX[2]-3.2=MDC_ATTR_EVENT_PHASE;OBX[2]-5=escalate;OBX[5]-2=NM;"                                      \
  "OBX[5]-3.2=vigil-escalation-level;OBX[5]-5=2"

static void an_escalation_as_r40(void **state) {
  (void)state;
  size_t len;
  char *msg = escalation_r40(&len), err[256];
  hl7_msg m;
  if (vigil__hl7_parse(&m, msg, len, err, sizeof err) < 0) fail_msg("the R40 does not parse: %s\n%s", err, msg);
  fields_are(&m, ESCALATION_FIELDS);
  char text[600];
  vigil__hl7_value(&m, (size_t)vigil__hl7_find(&m, "OBX", 0), 5, 0, 0, 0, text, sizeof text);
  assert_string_equal(text, long_text);
  vigil__hl7_free(&m);
  free(msg);
}

/* J4 (docs/hl7.md): a vital sign's alarm, as alert.raised's `observed`
 * says it, is a limit alarm as IHE PCD ACM sends a monitor's. */
static char *vital_r40(const char *field, const char *units, double reading, int has_low, double low, int has_high,
                       double high, size_t *len) {
  r40_alert a = {.patient = "123456",
                 .alarm_id = "9-0badcafe",
                 .ns = "VIGIL",
                 .location = "Chair 2",
                 .message = "SpO2 88% is below 92%",
                 .priority = "high",
                 .phase = "start",
                 .state = "active",
                 .inactivation = "enabled",
                 .rule = "spo2_low",
                 .time = "20260105083000+0000",
                 .obs = {.field = field,
                         .units = units,
                         .reading = reading,
                         .has_low = has_low,
                         .low = low,
                         .has_high = has_high,
                         .high = high}};
  return report_of(&a, "VIGIL-15-0badcafe", len);
}

#define LOW_SPO2_FIELDS                                                                                                \
  "OBX-2=TX;OBX-3.1=196672;OBX-3.2=MDC_EVT_LO_LT_LIM;OBX-5=SpO2 88% is below 92%;OBX-8=PH;OBX[2]-2=NM;"                \
  "OBX[2]-3.1=150456;OBX[2]-3.2=MDC_PULS_OXIM_SAT_O2;OBX[2]-3.3=MDC;OBX[2]-5=88;OBX[2]-6.1=262688;"                    \
  "OBX[2]-6.2=MDC_DIM_PERCENT;OBX[2]-7=>92;OBX[2]-8=L;OBX[2]-11=F;OBX[3]-3.2=MDC_ATTR_EVENT_PHASE;OBX[3]-5=start;"     \
  "OBX[4]-5=active;OBX[5]-5=enabled;OBX[6]-3.2=vigil-rule;OBX[6]-5=spo2_low"

/* The vital alarm's report (vital_r40's arguments) as the codec reads it
 * has each "SEG-F.C=value" of spec. */
static void vital_reads(const char *field, const char *units, double reading, int has_low, double low, int has_high,
                        double high, const char *spec) {
  size_t len;
  char err[256];
  hl7_msg m;
  char *msg = vital_r40(field, units, reading, has_low, low, has_high, high, &len);
  if (vigil__hl7_parse(&m, msg, len, err, sizeof err) < 0) fail_msg("the R40 does not parse: %s\n%s", err, msg);
  fields_are(&m, spec);
  vigil__hl7_free(&m);
  free(msg);
}

static void a_vital_alarm_as_r40(void **state) {
  (void)state;
  vital_reads("spo2", "%", 88, 1, 92, 0, 0, LOW_SPO2_FIELDS);
  /* above a high limit; both limits as a range */
  vital_reads("rr", "/min", 27, 0, 0, 1, 25,
              "OBX-3.2=MDC_EVT_HI_GT_LIM;OBX[2]-3.2=MDC_RESP_RATE;OBX[2]-5=27;OBX[2]-6.2=MDC_DIM_RESP_PER_MIN;"
              "OBX[2]-7=<25;OBX[2]-8=H");
  vital_reads("sbp", "mm[Hg]", 85.5, 1, 90, 1, 180,
              "OBX-3.2=MDC_EVT_LO_LT_LIM;OBX[2]-3.1=150021;OBX[2]-5=85.5;OBX[2]-6.2=MDC_DIM_MMHG;OBX[2]-7=90-180;"
              "OBX[2]-8=L");
  /* a unit the table does not expect for the field (a field it does not
   * know goes so too): the protocol's field as a local code, its UCUM unit */
  vital_reads("temp", "[degF]", 101.2, 0, 0, 1, 100.4,
              "OBX[2]-3.1=temp;OBX[2]-3.3=L;OBX[2]-6.1=[degF];OBX[2]-6.3=UCUM;OBX[2]-7=<100.4;OBX[2]-8=H");
}

/* Each "PATH=value" of spec (node-hl7-client's paths: "OBX.3.1" of the
 * first OBX, "OBX[2].5" of the second), separated by ';', as
 * node-hl7-client's own parser reads msg (tests/hl7/parse.cjs). Frees msg. */
static void npm_reads(char *msg, size_t len, const char *spec) {
  assert_non_null(msg);
  char file[] = "/tmp/vigil-r01-XXXXXX", cmd[4096];
  int fd = mkstemp(file);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, msg, len), (ssize_t)len);
  close(fd);
  free(msg);
  int k = snprintf(cmd, sizeof cmd, "node tests/hl7/parse.cjs '%s' %s", getenv("VIGIL_HL7_NODE_MODULES"), file);
  for (const char *at = spec; *at && k < (int)sizeof cmd;) {
    size_t n = strcspn(at, "="), v = strcspn(at + n, ";");
    k += snprintf(cmd + k, sizeof cmd - (size_t)k, " '%.*s'", (int)n, at);
    at += n + v + (at[n + v] == ';');
  }
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[8192] = "";
  if (!fgets(line, sizeof line, p)) line[0] = '\0';
  int rc = pclose(p);
  unlink(file);
  if (rc != 0) fail_msg("parse.cjs failed (%d)", rc);
  json_t *j = json_loads(line, 0, NULL);
  if (!j) fail_msg("parse.cjs said '%s'", line);
  for (const char *at = spec; *at;) {
    char path[64], want[256];
    size_t n = strcspn(at, "="), v = strcspn(at + n + 1, ";");
    snprintf(path, sizeof path, "%.*s", (int)n, at);
    snprintf(want, sizeof want, "%.*s", (int)v, at + n + 1);
    const char *got = json_string_value(json_object_get(j, path));
    if (!got || strcmp(got, want))
      fail_msg("node-hl7-client reads %s as '%s', not '%s'", path, got ? got : "(null)", want);
    at += n + 1 + v + (at[n + 1 + v] == ';');
  }
  json_decref(j);
}

static void parsed_by_node_hl7_client(void **state) {
  (void)state;
  size_t len = 0;
  char *msg = vigil__hl7_r01(&READING, "VIGIL", "CLINIC", "EHR", "HOSP", "VIGIL-R01-42", "20260105083100+0000", &len);
  npm_reads(msg, len,
            "MSH.9.1=ORU;MSH.9.2=R01;MSH.10=VIGIL-R01-42;MSH.12=2.5.1;PID.3.1=123456;PID.5.1=DOE;PID.7=19800214;"
            "PV1.3=Chair 2;PV1.19.1=7;OBR.3.1=42;OBR.7=20260105083000+0000;OBR.25=F;OBX.2=NM;OBX.3.1=8480-6;"
            "OBX.3.3=LN;OBX.5=182;OBX.6.1=mm[Hg];OBX.6.3=UCUM;OBX.11=F;OBX.14=20260105083000+0000;"
            "OBX[2].3.1=59408-5;OBX[2].5=97");
  msg = vigil__hl7_r01(&CORRECTION, "VIGIL", "CLINIC", "EHR", "HOSP", "VIGIL-R01-9", "20260105083100+0000", &len);
  npm_reads(msg, len,
            "OBR.25=C;OBX.3.1=moaas;OBX.3.3=L;OBX.11=C;OBX[2].2=ST;OBX[2].5=jaw thrust | 2^3 & more;OBX[2].11=C");
  msg = escalation_r40(&len);
  npm_reads(msg, len,
            "MSH.9.1=ORU;MSH.9.2=R40;PID.3.1=123456;PID.3.4=HOSP;PID.5.1=DOE;PID.5.2=JANE;PV1.2=O;OBX.2=TX;"
            "OBX[5].2=NM;OBX[5].3.2=vigil-escalation-level;OBX[5].5=2");
  msg = vital_r40("spo2", "%", 88, 1, 92, 0, 0, &len);
  npm_reads(msg, len,
            "MSH.9.2=R40;OBX.3.1=196672;OBX.3.2=MDC_EVT_LO_LT_LIM;OBX.8=PH;OBX[2].2=NM;OBX[2].3.1=150456;"
            "OBX[2].3.2=MDC_PULS_OXIM_SAT_O2;OBX[2].5=88;OBX[2].6.1=262688;OBX[2].6.2=MDC_DIM_PERCENT;OBX[2].7=>92;"
            "OBX[2].8=L;OBX[3].3.2=MDC_ATTR_EVENT_PHASE;OBX[3].5=start;OBX[4].5=active;OBX[5].5=enabled");
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "interop")) {
    if (!getenv("VIGIL_HL7_NODE_MODULES")) return 77;
    const struct CMUnitTest interop[] = {cmocka_unit_test(parsed_by_node_hl7_client)};
    return cmocka_run_group_tests(interop, NULL, NULL);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_reading_as_r01),
      cmocka_unit_test(a_correction_and_local_codes),
      cmocka_unit_test(an_escalation_as_r40),
      cmocka_unit_test(a_vital_alarm_as_r40),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
