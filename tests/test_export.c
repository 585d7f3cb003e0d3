/* test_export.c: a visit's record exported as a FHIR R4 Bundle and as the
 * REMS Patient Monitoring Form's data, for every bundled scenario of both
 * protocols, in process and through `vigil export` on a real store file.
 *
 * With VIGIL_FHIR_OUT set to a folder, each scenario's Bundle is also written
 * there as PROTOCOL-SCENARIO.json, for the schema check (tests/fhir/). */
#define _GNU_SOURCE /* mkdtemp, readlink */
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "export/export.h"
#include "author/scenario.h"
#include "protocol_copy.h"
#include "vigil_binary.h"
#include "vigil/vigil.h"

#define T0 1767600000000LL /* 2026-01-05T08:00:00Z */

typedef struct expected {
  const char *protocol, *scenario;
  int vitals_readings; /* vitals entries with a systolic and a diastolic */
  int spo2_readings;   /* vitals entries with an SpO2 */
  int alerts;          /* DetectedIssues */
  int acknowledged;    /* ... with a mitigation */
  int signatures;      /* Provenances: signature items, overrides, the discharge */
} expected;

/* Counted from the scenario files' own headers and steps. */
static const expected SCENARIOS[] = {
    {"ketamine_iv", "uneventful", 9, 9, 0, 0, 2},
    {"ketamine_iv", "hypertensive_episode", 10, 10, 4, 3, 2}, /* + bp_rise raised again and acknowledged (AN11) */
    {"ketamine_iv", "missed_checkpoint", 8, 8, 1, 1, 3},      /* + the override of the missed checkpoint (G8) */
    {"ketamine_iv", "not_fit_for_discharge", 9, 9, 0, 0, 2},
    {"esketamine_rems", "uneventful", 3, 9, 0, 0, 1},
    {"esketamine_rems", "hypertension_at_40", 5, 9, 3, 3, 2}, /* + the prescriber's review of the BP (AG7) */
    {"esketamine_rems", "prolonged_sedation", 3, 10, 4, 4, 1},
    {"esketamine_rems", "missed_bp_check", 3, 9, 1, 1, 2}, /* + the override of the missed BP (G8) */
};

static void quiet(void *ud, vigil_log_level level, const char *msg) {}

/* Runs a bundled scenario on a new engine (a store file at db, or memory). */
/* A bundled protocol's scenario on a new engine: the engine; *visit its
 * visit, *loaded (NULL: not wanted) the protocol's reference. */
static vigil_engine *run_scenario_of(const char *protocol, const char *scenario, const char *db, uint64_t *visit,
                                     const char **loaded) {
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = db, .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  char dir[256], path[512], err[1024];
  snprintf(dir, sizeof dir, "protocols/%s", protocol);
  const char *ref;
  if (vigil_engine_load(e, dir, &ref) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  snprintf(path, sizeof path, "%s/scenarios/%s.lua", dir, scenario);
  if (vigil__scenario_run(e, ref, path, NULL, NULL, visit, err, sizeof err) < 0) fail_msg("%s: %s", scenario, err);
  if (loaded) *loaded = ref;
  return e;
}

static vigil_engine *run_scenario(const char *protocol, const char *scenario, const char *db, uint64_t *visit) {
  return run_scenario_of(protocol, scenario, db, visit, NULL);
}

static char *fhir_of(vigil_engine *e, uint64_t visit) {
  char *out = NULL, err[1024];
  if (vigil__export_fhir(e, visit, &out, err, sizeof err) < 0) fail_msg("export_fhir: %s", err);
  return out;
}

static int has_coding(json_t *concept, const char *system, const char *code) {
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(concept, "coding"), i, c) {
    if (!strcmp(vigil__export_str(c, "system"), system) && !strcmp(vigil__export_str(c, "code"), code)) return 1;
  }
  return 0;
}

static int count_code(json_t *bundle, const char *type, const char *loinc) {
  int n = 0;
  size_t i;
  json_t *en;
  json_array_foreach(json_object_get(bundle, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (strcmp(vigil__export_str(r, "resourceType"), type) != 0) continue;
    if (!loinc || has_coding(json_object_get(r, "code"), "http://loinc.org", loinc)) n++;
  }
  return n;
}

static json_t *first_of(json_t *bundle, const char *type) {
  size_t i;
  json_t *en;
  json_array_foreach(json_object_get(bundle, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (!strcmp(vigil__export_str(r, "resourceType"), type)) return r;
  }
  return NULL;
}

/* Every reference inside the Bundle names one of its entries. */
static void references_resolve(json_t *bundle, json_t *node) {
  if (json_is_array(node)) {
    size_t i;
    json_t *x;
    json_array_foreach(node, i, x) references_resolve(bundle, x);
    return;
  }
  if (!json_is_object(node)) return;
  const char *ref = json_string_value(json_object_get(node, "reference"));
  if (ref) {
    size_t i;
    json_t *en;
    int found = 0;
    json_array_foreach(json_object_get(bundle, "entry"), i, en) found |= !strcmp(vigil__export_str(en, "fullUrl"), ref);
    if (!found) fail_msg("reference %s names no entry of the Bundle", ref);
  }
  const char *k;
  json_t *x;
  json_object_foreach(node, k, x) references_resolve(bundle, x);
}

static void check_bundle(const expected *x, const char *text) {
  json_error_t jerr;
  json_t *b = json_loads(text, 0, &jerr);
  if (!b) fail_msg("%s/%s: not JSON: %s", x->protocol, x->scenario, jerr.text);
  assert_string_equal(vigil__export_str(b, "resourceType"), "Bundle");
  assert_string_equal(vigil__export_str(b, "type"), "collection");

  /* The protocol version, and the entries that answer it. */
  json_t *q = first_of(b, "Questionnaire"), *qr = first_of(b, "QuestionnaireResponse");
  assert_non_null(q);
  assert_non_null(qr);
  char canonical[128];
  snprintf(canonical, sizeof canonical, "urn:vigil:protocol:%s", x->protocol);
  assert_string_equal(vigil__export_str(q, "url"), canonical);
  /* the bundled protocol's version, as its protocol.lua declares it */
  char folder[128];
  snprintf(folder, sizeof folder, "protocols/%s", x->protocol);
  const char *version = protocol_copy_version(folder);
  assert_string_equal(vigil__export_str(q, "version"), version);
  snprintf(canonical, sizeof canonical, "urn:vigil:protocol:%s|%s", x->protocol, version);
  assert_string_equal(vigil__export_str(qr, "questionnaire"), canonical);
  assert_string_equal(vigil__export_str(qr, "status"), "completed");

  /* Vitals: a blood pressure panel per reading, its parts in mm[Hg]; SpO2
   * under both codes the vital signs profile names; a vital-signs panel. */
  if (count_code(b, "Observation", "85354-9") != x->vitals_readings)
    fail_msg("%s/%s: %d blood pressure panels, expected %d", x->protocol, x->scenario,
             count_code(b, "Observation", "85354-9"), x->vitals_readings);
  if (count_code(b, "Observation", "59408-5") != x->spo2_readings ||
      count_code(b, "Observation", "2708-6") != x->spo2_readings)
    fail_msg("%s/%s: %d SpO2 observations, expected %d", x->protocol, x->scenario,
             count_code(b, "Observation", "59408-5"), x->spo2_readings);
  assert_true(count_code(b, "Observation", "85353-1") >= x->vitals_readings);
  size_t i;
  json_t *en;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (!has_coding(json_object_get(r, "code"), "http://loinc.org", "85354-9")) continue;
    json_t *sys = json_array_get(json_object_get(r, "component"), 0);
    assert_true(has_coding(json_object_get(sys, "code"), "http://loinc.org", "8480-6"));
    json_t *qty = json_object_get(sys, "valueQuantity");
    assert_true(json_is_integer(json_object_get(qty, "value"))); /* 130, not 130.0 */
    assert_string_equal(vigil__export_str(qty, "system"), "http://unitsofmeasure.org");
    assert_string_equal(vigil__export_str(qty, "code"), "mm[Hg]");
  }

  /* Alerts, with their acknowledgement; signatures. */
  assert_int_equal(count_code(b, "DetectedIssue", NULL), x->alerts);
  int mitigated = 0;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    mitigated += !strcmp(vigil__export_str(r, "resourceType"), "DetectedIssue") && json_object_get(r, "mitigation");
  }
  assert_int_equal(mitigated, x->acknowledged);
  assert_int_equal(count_code(b, "Provenance", NULL), x->signatures);
  references_resolve(b, json_object_get(b, "entry"));
  json_decref(b);
}

static void write_out(const expected *x, const char *text) {
  const char *dir = getenv("VIGIL_FHIR_OUT");
  if (!dir || !*dir) return;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s-%s.json", dir, x->protocol, x->scenario);
  FILE *f = fopen(path, "w");
  if (!f) fail_msg("cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

/* The id of the first resource of that type. */
static void id_of(const char *bundle_text, const char *type, char *out, size_t n) {
  json_t *b = json_loads(bundle_text, 0, NULL);
  snprintf(out, n, "%s", vigil__export_str(first_of(b, type), "id"));
  json_decref(b);
}

static void fhir_bundles_of_every_scenario(void **state) {
  char questionnaire[2][64] = {"", ""}, responses[8][64];
  size_t n = sizeof SCENARIOS / sizeof *SCENARIOS;
  assert_true(n <= 8);
  for (size_t i = 0; i < n; i++) {
    const expected *x = &SCENARIOS[i];
    uint64_t visit;
    vigil_engine *e = run_scenario(x->protocol, x->scenario, NULL, &visit);
    char *a = fhir_of(e, visit), *again = fhir_of(e, visit);
    assert_string_equal(a, again); /* a function of the record alone */
    check_bundle(x, a);
    write_out(x, a);
    /* One Questionnaire per protocol version, whichever visit exports it; a
     * response per visit. */
    char id[64];
    int k = strcmp(x->protocol, "ketamine_iv") != 0;
    id_of(a, "Questionnaire", id, sizeof id);
    if (!questionnaire[k][0]) snprintf(questionnaire[k], sizeof questionnaire[k], "%s", id);
    assert_string_equal(id, questionnaire[k]);
    id_of(a, "QuestionnaireResponse", responses[i], sizeof responses[i]);
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(responses[i], responses[j]);
    free(a);
    free(again);
    vigil_engine_free(e);
  }
  assert_string_not_equal(questionnaire[0], questionnaire[1]);
}

/* The ketamine visit's dose check is a signature item: a Provenance with the
 * second person as verifier, naming the entry confirmed. */
static void a_signature_is_a_provenance(void **state) {
  uint64_t visit;
  vigil_engine *e = run_scenario("ketamine_iv", "uneventful", NULL, &visit);
  char *text = fhir_of(e, visit);
  json_t *b = json_loads(text, 0, NULL);
  size_t i;
  json_t *en;
  int seen = 0;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (strcmp(vigil__export_str(r, "resourceType"), "Provenance") != 0) continue;
    json_t *sig = json_array_get(json_object_get(r, "signature"), 0);
    if (strcmp(vigil__export_str(json_array_get(json_object_get(sig, "type"), 0), "code"), "1.2.840.10065.1.12.1.5") !=
        0)
      continue;
    seen++;
    assert_string_equal(vigil__export_str(json_object_get(sig, "who"), "display"), "nurse:ben");
    assert_string_equal(vigil__export_str(r, "recorded"), "2026-01-05T08:05:00.000Z");
    json_t *what = json_object_get(json_array_get(json_object_get(r, "entity"), 0), "what");
    assert_string_equal(vigil__export_str(what, "display"), "screening.dose");
  }
  assert_int_equal(seen, 1);
  json_decref(b);
  free(text);
  vigil_engine_free(e);
}

/* An amended answer shows amended in the response; an acknowledged alert
 * says who acknowledged it and when (the co-medication's, at 1 minute: the
 * form's contradicted answer is a block since 1.5.1, docs/safety.md N6). */
static void amendments_and_acknowledgements(void **state) {
  uint64_t visit;
  vigil_engine *e = run_scenario("esketamine_rems", "prolonged_sedation", NULL, &visit);
  char *text = fhir_of(e, visit);
  json_t *b = json_loads(text, 0, NULL);
  size_t i, j, k;
  json_t *en, *group, *item;
  const char *answer = NULL;
  json_t *qr = first_of(b, "QuestionnaireResponse");
  json_array_foreach(json_object_get(qr, "item"), i, group) {
    json_array_foreach(json_object_get(group, "item"), j, item) {
      if (strcmp(vigil__export_str(item, "linkId"), "discharge.sedation_occurred") != 0) continue;
      json_t *a;
      json_array_foreach(json_object_get(item, "answer"), k, a) answer = vigil__export_str(a, "valueString");
    }
  }
  assert_non_null(answer);
  assert_string_equal(answer, "yes");
  int found = 0;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (!has_coding(json_object_get(r, "code"), "urn:vigil:rule", "comed_benzodiazepine")) continue;
    found = 1;
    assert_string_equal(vigil__export_str(r, "severity"), "low");
    json_t *m = json_array_get(json_object_get(r, "mitigation"), 0);
    assert_string_equal(vigil__export_str(m, "date"), "2026-01-05T08:01:00.000Z");
    assert_string_equal(vigil__export_str(json_object_get(m, "author"), "display"), "dr:kim");
  }
  assert_true(found);
  json_decref(b);
  free(text);
  vigil_engine_free(e);
}

/* ---- the REMS form ------------------------------------------------------------- */

static json_t *rems_of(vigil_engine *e, uint64_t visit) {
  char *out = NULL, err[1024];
  if (vigil__export_rems(e, visit, 0, &out, err, sizeof err) < 0) fail_msg("export_rems: %s", err);
  json_t *j = json_loads(out, 0, NULL);
  free(out);
  assert_non_null(j);
  return j;
}

static void rems_form_of_a_session(void **state) {
  uint64_t visit;
  vigil_engine *e = run_scenario("esketamine_rems", "uneventful", NULL, &visit);
  json_t *f = rems_of(e, visit);
  assert_string_equal(vigil__export_str(f, "dose"), "56 mg");
  assert_string_equal(vigil__export_str(f, "lot_number"), "EKA2211");
  assert_string_equal(vigil__export_str(f, "benzodiazepines"), "no");
  assert_string_equal(vigil__export_str(f, "maois"), "no");
  assert_string_equal(vigil__export_str(f, "session_date"), "2026-01-05");
  assert_string_equal(vigil__export_str(f, "dosed_at"), "2026-01-05T08:10:00.000Z");
  assert_string_equal(vigil__export_str(f, "vitals_acceptable_before_dosing"), "yes");
  assert_string_equal(vigil__export_str(f, "vitals_acceptable_before_leaving"), "yes");
  json_t *bp = json_object_get(f, "bp_at_40_minutes");
  assert_int_equal(json_number_value(json_object_get(bp, "sbp")), 142);
  assert_int_equal(json_number_value(json_object_get(bp, "dbp")), 88);
  assert_int_equal(json_integer_value(json_object_get(bp, "minutes_after_dosing")), 40);
  assert_int_equal(json_number_value(json_object_get(json_object_get(f, "bp_before_dosing"), "sbp")), 128);
  assert_int_equal(json_number_value(json_object_get(json_object_get(f, "bp_before_leaving"), "sbp")), 126);
  assert_int_equal(json_integer_value(json_object_get(f, "ready_to_leave_minutes_after_dosing")), 121);
  assert_int_equal(json_integer_value(json_object_get(f, "total_minutes_monitored")), 125);
  assert_string_equal(vigil__export_str(f, "sedation_occurred"), "yes");
  assert_string_equal(vigil__export_str(f, "respiratory_depression_occurred"), "no");
  assert_int_equal(json_array_size(json_object_get(f, "missing")), 0);
  json_decref(f);

  char *csv = NULL, err[256], want[1024];
  assert_int_equal(vigil__export_rems(e, visit, 1, &csv, err, sizeof err), 0);
  snprintf(want, sizeof want,
           "visit,patient,protocol,status,session_date,dosed_at,benzodiazepines,"
           "non_benzodiazepine_hypnotics,psychostimulants,maois,dose,lot_number,"
           "vitals_acceptable_before_dosing,bp_before_dosing,bp_at_40_minutes,"
           "bp_at_40_minutes_minutes_after_dosing,bp_before_leaving,vitals_acceptable_before_leaving,"
           "ready_to_leave_minutes_after_dosing,total_minutes_monitored,sedation_occurred,"
           "dissociation_occurred,respiratory_depression_occurred,form_due_by,submitted,submitted_at,"
           "submitted_by,submission_method,submission_reference,submission_incomplete_reason,"
           "submission_recorded_at,missing\r\n"
           "1,room-1,esketamine_rems@%s,discharged,2026-01-05,2026-01-05T08:10:00.000Z,no,no,no,no,"
           "56 mg,EKA2211,yes,128/78,142/88,40,126/80,yes,121,125,yes,yes,no,"
           "2026-01-12T08:00:00.000Z,no,,,,,,,\r\n",
           protocol_copy_version("protocols/esketamine_rems"));
  assert_string_equal(csv, want);
  free(csv);
  vigil_engine_free(e);
}

/* A late 40-minute BP says how late; an open session says what is missing. */
static void rems_form_late_and_unfinished(void **state) {
  uint64_t visit;
  vigil_engine *e = run_scenario("esketamine_rems", "missed_bp_check", NULL, &visit);
  json_t *f = rems_of(e, visit);
  json_t *bp = json_object_get(f, "bp_at_40_minutes");
  assert_int_equal(json_integer_value(json_object_get(bp, "minutes_after_dosing")), 56);
  json_decref(f);

  uint64_t open;
  assert_int_equal(vigil_visit_start(e, "esketamine_rems", "room-9", "nurse:ana", NULL, &open), 0);
  assert_int_equal(vigil_visit_record_json(e, open, "nurse:ana", "{\"comed_maoi\":\"yes\"}"), 0);
  f = rems_of(e, open);
  assert_string_equal(vigil__export_str(f, "status"), "active");
  assert_string_equal(vigil__export_str(f, "maois"), "yes");
  assert_true(json_is_null(json_object_get(f, "total_minutes_monitored")));
  json_t *gaps = json_object_get(f, "missing");
  assert_int_equal(json_array_size(gaps), 16); /* 17 answers and times, MAOIs given */
  assert_string_equal(json_string_value(json_array_get(gaps, 0)), "dosed_at");
  json_decref(f);
  vigil_engine_free(e);
}

/* A late vitals reading is effective when it was observed, issued when it
 * was typed; an amendment is of the reading the engine amends, the one
 * observed last (docs/safety.md AL4): the export had given the late reading
 * the typed time and the amendment meant for the reading observed after it. */
static void a_late_reading_is_effective_when_observed(void **state) {
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  if (vigil_engine_load(e, "protocols/esketamine_rems", NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  uint64_t visit;
  assert_int_equal(vigil_visit_start(e, "esketamine_rems", "room-8", "nurse:ana", NULL, &visit), 0);
  vigil_engine_advance_to(e, T0 + 10 * 60000);
  assert_int_equal(vigil_visit_record_json(e, visit, "nurse:ana",
                                           "{\"predose_vitals\": {\"sbp\": 128, \"dbp\": 78, \"hr\": 70, \"spo2\": 98,"
                                           " \"rr\": 14}}"),
                   0);
  vigil_engine_advance_to(e, T0 + 12 * 60000);
  assert_int_equal(
      vigil_visit_record_json(e, visit, "nurse:ana",
                              "{\"observed_at\": \"2026-01-05T08:02:00Z\", \"predose_vitals\": {\"sbp\": 136,"
                              " \"dbp\": 84, \"hr\": 72, \"spo2\": 97, \"rr\": 15}}"),
      0);
  if (vigil_visit_amend_json(e, visit, "nurse:ana", "predose_vitals",
                             "{\"sbp\": 126, \"dbp\": 76, \"hr\": 70, \"spo2\": 98, \"rr\": 14}",
                             "the cuff was on the wrong arm, taken again") < 0)
    fail_msg("%s", vigil_engine_errmsg(e));
  char *text = fhir_of(e, visit);
  json_t *b = json_loads(text, 0, NULL), *entries = json_object_get(b, "entry");
  int seen = 0;
  for (size_t n = 0; n < json_array_size(entries); n++) {
    json_t *r = json_object_get(json_array_get(entries, n), "resource");
    if (!has_coding(json_object_get(r, "code"), "http://loinc.org", "85354-9")) continue; /* a BP panel */
    json_t *sbp =
        json_object_get(json_object_get(json_array_get(json_object_get(r, "component"), 0), "valueQuantity"), "value");
    if (!strcmp(vigil__export_str(r, "effectiveDateTime"), "2026-01-05T08:02:00.000Z")) {
      seen |= 1; /* the late one, as taken */
      assert_string_equal(vigil__export_str(r, "issued"), "2026-01-05T08:12:00.000Z");
      assert_string_equal(vigil__export_str(r, "status"), "final");
      assert_int_equal(json_number_value(sbp), 136);
    } else {
      seen |= 2; /* the one at 08:10, amended */
      assert_string_equal(vigil__export_str(r, "effectiveDateTime"), "2026-01-05T08:10:00.000Z");
      assert_null(json_object_get(r, "issued"));
      assert_string_equal(vigil__export_str(r, "status"), "amended");
      assert_int_equal(json_number_value(sbp), 126);
    }
  }
  assert_int_equal(seen, 3);
  json_decref(b);
  free(text);
  vigil_engine_free(e);
}

static void rems_form_refuses_other_protocols(void **state) {
  uint64_t visit;
  vigil_engine *e = run_scenario("ketamine_iv", "uneventful", NULL, &visit);
  char *out = NULL, err[1024], want[256], ref[64];
  assert_int_equal(vigil__export_rems(e, visit, 0, &out, err, sizeof err), VIGIL_EPROTOCOL);
  assert_null(out);
  snprintf(want, sizeof want, "%s does not record the REMS form's items (missing: predose.comed_benzodiazepine",
           protocol_copy_ref("protocols/ketamine_iv", NULL, ref, sizeof ref));
  if (!strstr(err, want)) fail_msg("said: %s", err);
  assert_int_equal(vigil__export_rems(e, 99, 0, &out, err, sizeof err), VIGIL_ENOENT);
  assert_int_equal(vigil__export_fhir(e, 99, &out, err, sizeof err), VIGIL_ENOENT);
  vigil_engine_free(e);
}

/* ---- the command, on a real store file --------------------------------------------- */

static int sh(const char *cmd) {
  int status = system(cmd);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
  p[n] = '\0';
  fclose(f);
  return p;
}

/* What a command that must succeed wrote to path, one line: its newline cut. */
static char *line_of(const char *cmd, const char *path) {
  assert_int_equal(sh(cmd), 0);
  char *got = slurp(path);
  size_t n = strlen(got);
  assert_true(n > 0 && got[n - 1] == '\n');
  got[n - 1] = '\0';
  return got;
}

static int count_one(void *ud, const vigil_event *ev) {
  (void)ev;
  ++*(uint64_t *)ud;
  return 0;
}

static void the_command(void **state) {
  char vigil[PATH_MAX], dir[] = "/tmp/vigil-export-XXXXXX", db[PATH_MAX], out[PATH_MAX], cmd[4 * PATH_MAX];
  if (find_vigil(vigil, sizeof vigil) < 0) skip();
  assert_non_null(mkdtemp(dir));
  snprintf(db, sizeof db, "%s/vigil.db", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  uint64_t visit, open_visit;
  vigil_engine *e = run_scenario("esketamine_rems", "hypertension_at_40", db, &visit);
  char *bundle = fhir_of(e, visit), *csv = NULL, err[256];
  assert_int_equal(vigil__export_rems(e, visit, 1, &csv, err, sizeof err), 0);
  /* A visit still open, its deadlines long past by the real clock: exporting
   * shows the log, it does not act on it. */
  if (vigil_visit_start(e, "esketamine_rems", "MRN-OPEN", "nurse:a", NULL, &open_visit) < 0)
    fail_msg("%s", vigil_engine_errmsg(e));
  uint64_t before = 0, after = 0;
  assert_int_equal(vigil_engine_events(e, 0, count_one, &before), 0);

  /* The same bytes from the file, read back by another process, while the
   * engine (a server, say) still holds it. */
  snprintf(cmd, sizeof cmd, "%s export fhir %llu --db %s > %s", vigil, (unsigned long long)visit, db, out);
  char *got = line_of(cmd, out);
  assert_string_equal(got, bundle);
  free(got);
  snprintf(cmd, sizeof cmd, "%s export rems %llu --csv --db %s > %s", vigil, (unsigned long long)visit, db, out);
  assert_int_equal(sh(cmd), 0);
  got = slurp(out);
  assert_string_equal(got, csv);
  free(got);
  snprintf(cmd, sizeof cmd, "%s export rems %llu --db %s > %s", vigil, (unsigned long long)visit, db, out);
  assert_int_equal(sh(cmd), 0);
  got = slurp(out);
  if (!strstr(got, "\"lot_number\": \"EKA3307\"")) fail_msg("rems said: %s", got);
  free(got);
  snprintf(cmd, sizeof cmd, "%s export fhir %llu --db %s > %s", vigil, (unsigned long long)open_visit, db, out);
  assert_int_equal(sh(cmd), 0);
  vigil_engine_free(e);
  /* Nothing was added: no engine.started, no overdue item, no alert. */
  vigil_options ro = {.db_path = db, .log = quiet, .read_only = 1};
  assert_int_equal(vigil_engine_new(&ro, &e), 0);
  assert_int_equal(vigil_engine_events(e, 0, count_one, &after), 0);
  assert_int_equal(after, before);
  assert_int_equal(vigil_visit_abort(e, open_visit, "nurse:a", "patient left early"),
                   VIGIL_ESTATE); /* a reader records nothing */
  vigil_engine_free(e);

  /* Failures: a visit that is not there, a store that is not there, bad usage. */
  snprintf(cmd, sizeof cmd, "%s export fhir 7 --db %s 2> %s", vigil, db, out);
  assert_int_equal(sh(cmd), 1);
  got = slurp(out);
  if (!strstr(got, "visit 7: no such visit")) fail_msg("said: %s", got);
  free(got);
  snprintf(cmd, sizeof cmd, "%s export fhir 1 --db %s/none.db 2> /dev/null", vigil, dir);
  assert_int_equal(sh(cmd), 1);
  snprintf(cmd, sizeof cmd, "test ! -e %s/none.db", dir);
  assert_int_equal(sh(cmd), 0); /* and it was not created */
  snprintf(cmd, sizeof cmd, "%s export fhir --db %s 2> /dev/null", vigil, db);
  assert_int_equal(sh(cmd), 2);
  snprintf(cmd, sizeof cmd, "%s export pdf 1 --db %s 2> /dev/null", vigil, db);
  assert_int_equal(sh(cmd), 2);
  snprintf(cmd, sizeof cmd, "%s export fhir 1 --csv --db %s 2> /dev/null", vigil, db);
  assert_int_equal(sh(cmd), 2);

  free(bundle);
  free(csv);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
}

/* Every CSV vigil writes goes through vigil__buf_csv_field: a cell a
 * spreadsheet would run as a formula comes out as quoted text (OWASP). */
static void csv_cells_are_never_formulas(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"=1+1", "\"'=1+1\""},
      {"+1", "\"'+1\""},
      {"-1+2", "\"'-1+2\""},
      {"@SUM(A1)", "\"'@SUM(A1)\""},
      {"\tx", "\"'\tx\""},
      {"\rx", "\"'\rx\""},
      {"=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
      {"-5", "-5"}, /* a number stays a number */
      {"-37.5", "-37.5"},
      {"a=b", "a=b"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    buf b;
    vigil__buf_init(&b);
    vigil__buf_csv_field(&b, cases[i][0], strlen(cases[i][0]));
    char *got = vigil__buf_take(&b);
    if (strcmp(got, cases[i][1])) fail_msg("'%s' became '%s', not '%s'", cases[i][0], got, cases[i][1]);
    free(got);
  }
  /* The REMS form of the review: a patient "=1+1". */
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  const char *ref;
  if (vigil_engine_load(e, "protocols/esketamine_rems", &ref) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  uint64_t visit;
  if (vigil_visit_start(e, ref, "=1+1", "nurse:ana", NULL, &visit) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  char *csv = NULL, err[256];
  assert_int_equal(vigil__export_rems(e, visit, 1, &csv, err, sizeof err), 0);
  if (!strstr(csv, "\r\n1,\"'=1+1\",esketamine_rems@")) fail_msg("the patient is a live formula: %s", csv);
  free(csv);
  json_t *f = rems_of(e, visit); /* the JSON form keeps the name as it is */
  assert_string_equal(vigil__export_str(f, "patient"), "=1+1");
  json_decref(f);
  vigil_engine_free(e);
}

/* ---- a patient's course ---------------------------------------------------- */

#define DAY_MS (24 * 3600000LL)

/* Two sessions of the bundled scenario `uneventful`, four days apart, for its
 * patient: their course. Returns the engine; *course its id. */
static vigil_engine *two_sessions(const char *protocol, const char *db, uint64_t *course, json_t **patient) {
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = db, .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  char dir[256], path[512], err[1024];
  snprintf(dir, sizeof dir, "protocols/%s", protocol);
  snprintf(path, sizeof path, "%s/scenarios/uneventful.lua", dir);
  const char *ref;
  if (vigil_engine_load(e, dir, &ref) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  uint64_t visit;
  for (int i = 0; i < 2; i++) {
    if (i) {
      /* An integration psychotherapy session the day after the first session. */
      int64_t after = vigil_engine_now(e);
      vigil_engine_advance_to(e, after + DAY_MS);
      if (vigil_course_integration(e, 1, "nurse:ana", "dr:lee", 0, "Integration: talked through the first session") < 0)
        fail_msg("integration: %s", vigil_engine_errmsg(e));
      vigil_engine_advance_to(e, after + 4 * DAY_MS);
    }
    if (vigil__scenario_run(e, ref, path, NULL, NULL, &visit, err, sizeof err) < 0)
      fail_msg("session %d: %s", i + 1, err);
  }
  char *text = vigil_visit_json(e, visit);
  json_t *v = json_loads(text, 0, NULL);
  vigil_free(text);
  char *pj = vigil_patient_json(e, vigil__export_str(v, "patient"));
  json_decref(v);
  if (!pj) fail_msg("no course: %s", vigil_engine_errmsg(e));
  *patient = json_loads(pj, 0, NULL);
  vigil_free(pj);
  json_t *c = json_array_get(json_object_get(*patient, "courses"), 0);
  assert_int_equal(json_array_size(json_object_get(c, "sessions")), 2);
  *course = (uint64_t)json_integer_value(json_object_get(c, "id"));
  return e;
}

static char *course_fhir_of(vigil_engine *e, uint64_t course) {
  char *out = NULL, err[1024];
  if (vigil__export_course_fhir(e, course, &out, err, sizeof err) < 0) fail_msg("export_course_fhir: %s", err);
  return out;
}

static int count_type(json_t *b, const char *type) { return count_code(b, type, NULL); }

static void write_course(const char *protocol, const char *text) {
  expected x = {.protocol = "course", .scenario = protocol};
  write_out(&x, text);
}

/* The course as EpisodeOfCare + CarePlan: an Encounter per session part of
 * the episode, the PHQ-9 totals as Observations (LOINC 44261-6) with the
 * course's values, the plan's activities (each session and the next due);
 * the esketamine course's sessions carry their REMS form. */
static void course_bundles(void **state) {
  (void)state;
  static const char *const PROTOCOLS[] = {"ketamine_iv", "esketamine_rems"};
  char vigil[PATH_MAX], dir[] = "/tmp/vigil-export-course-XXXXXX", db[PATH_MAX], out[PATH_MAX], cmd[4 * PATH_MAX];
  int cli = find_vigil(vigil, sizeof vigil) == 0;
  assert_non_null(mkdtemp(dir));
  snprintf(out, sizeof out, "%s/out", dir);
  for (size_t k = 0; k < 2; k++) {
    uint64_t course;
    json_t *patient;
    snprintf(db, sizeof db, "%s/%s.db", dir, PROTOCOLS[k]);
    vigil_engine *e = two_sessions(PROTOCOLS[k], db, &course, &patient);
    char *a = course_fhir_of(e, course), *again = course_fhir_of(e, course);
    assert_string_equal(a, again); /* a function of the record alone */
    if (cli) {                     /* the same bytes from `vigil export course`, reading the file */
      snprintf(cmd, sizeof cmd, "%s export course %llu --db %s > %s", vigil, (unsigned long long)course, db, out);
      char *got = line_of(cmd, out);
      assert_string_equal(got, a);
      free(got);
      snprintf(cmd, sizeof cmd, "%s export course %llu --db %s 2>%s", vigil, (unsigned long long)course + 100, db, out);
      assert_int_equal(sh(cmd), 1);
      got = slurp(out);
      if (!strstr(got, "no such course")) fail_msg("vigil export course said: %s", got);
      free(got);
    }
    write_course(PROTOCOLS[k], a);
    json_t *b = json_loads(a, 0, NULL);
    assert_non_null(b);
    assert_string_equal(vigil__export_str(b, "type"), "collection");
    references_resolve(b, json_object_get(b, "entry"));
    assert_int_equal(count_type(b, "EpisodeOfCare"), 1);
    assert_int_equal(count_type(b, "CarePlan"), 1);
    assert_int_equal(count_type(b, "Encounter"), 2);
    /* The patient, whom every resource names by reference; the integration
     * session between the two as a Procedure based on the plan. */
    assert_int_equal(count_type(b, "Patient"), 1);
    assert_int_equal(count_type(b, "Procedure"), 1);
    json_t *proc = first_of(b, "Procedure");
    assert_string_equal(vigil__export_str(proc, "status"), "completed");
    assert_string_equal(vigil__export_str(json_array_get(json_object_get(proc, "note"), 0), "text"),
                        "Integration: talked through the first session");
    assert_non_null(strstr(vigil__export_str(json_object_get(proc, "code"), "text"), "after session 1"));
    assert_string_equal(
        vigil__export_str(json_object_get(json_array_get(json_object_get(proc, "performer"), 0), "actor"), "display"),
        "dr:lee");
    json_t *ep = first_of(b, "EpisodeOfCare"), *plan = first_of(b, "CarePlan");
    assert_non_null(strstr(vigil__export_str(json_object_get(ep, "patient"), "reference"), "urn:uuid:"));
    assert_string_equal(vigil__export_str(ep, "status"), "active");
    assert_string_equal(vigil__export_str(plan, "status"), "active");
    /* Two sessions done, the third due. */
    json_t *acts = json_object_get(plan, "activity");
    assert_int_equal(json_array_size(acts), 3);
    assert_string_equal(vigil__export_str(json_object_get(json_array_get(acts, 0), "detail"), "status"), "completed");
    assert_string_equal(vigil__export_str(json_object_get(json_array_get(acts, 2), "detail"), "status"), "scheduled");
    /* The dose with its unit (AD4: "dose 35", no unit), the dose given. */
    const char *did = vigil__export_str(json_object_get(json_array_get(acts, 0), "detail"), "description");
    if (k == 0 && (!strstr(did, "; dose 35 mg") || strstr(did, "(from "))) fail_msg("session 1's activity: %s", did);
    json_t *c = json_array_get(json_object_get(patient, "courses"), 0);
    assert_string_equal(
        vigil__export_str(json_object_get(json_object_get(json_array_get(acts, 2), "detail"), "scheduledPeriod"),
                          "start"),
        vigil__export_str(c, "next_due"));
    /* Each session's Encounter is of the episode. */
    char episode[80];
    size_t i;
    json_t *en;
    json_array_foreach(json_object_get(b, "entry"), i, en) {
      if (json_object_get(en, "resource") == ep)
        snprintf(episode, sizeof episode, "%s", vigil__export_str(en, "fullUrl"));
    }
    json_array_foreach(json_object_get(b, "entry"), i, en) {
      json_t *r = json_object_get(en, "resource");
      if (strcmp(vigil__export_str(r, "resourceType"), "Encounter")) continue;
      assert_string_equal(vigil__export_str(r, "status"), "finished");
      assert_string_equal(vigil__export_str(json_array_get(json_object_get(r, "episodeOfCare"), 0), "reference"),
                          episode);
    }
    /* The PHQ-9 totals, as the course measured them. */
    json_t *phq9 = json_object_get(json_object_get(c, "measures"), "phq9");
    assert_int_equal(count_code(b, "Observation", "44261-6"), (int)json_array_size(phq9));
    int n = 0;
    json_array_foreach(json_object_get(b, "entry"), i, en) {
      json_t *r = json_object_get(en, "resource");
      if (!has_coding(json_object_get(r, "code"), "http://loinc.org", "44261-6")) continue;
      double want = json_number_value(json_object_get(json_array_get(phq9, (size_t)n), "value"));
      assert_true(json_is_integer(json_object_get(r, "valueInteger")));
      assert_int_equal(json_integer_value(json_object_get(r, "valueInteger")), (json_int_t)want);
      assert_non_null(json_object_get(r, "encounter"));
      n++;
    }
    /* The REMS forms: the esketamine sessions', complete, each of its Encounter. */
    int forms = 0;
    json_array_foreach(json_object_get(b, "entry"), i, en) {
      json_t *r = json_object_get(en, "resource");
      if (strcmp(vigil__export_str(r, "questionnaire"), "urn:vigil:rems-patient-monitoring-form")) continue;
      forms++;
      assert_string_equal(vigil__export_str(r, "status"), "completed");
      assert_non_null(json_object_get(r, "encounter"));
      if (!strstr(a, "\"linkId\":\"bp_at_40_minutes.sbp\"")) fail_msg("no BP at 40 minutes: %s", a);
    }
    if (k == 0) {
      assert_int_equal((int)json_array_size(phq9), 2); /* ketamine_iv measures PHQ-9 at every session */
      assert_int_equal(forms, 0);
    } else {
      assert_int_equal(forms, 2);
    }
    json_decref(b);
    json_decref(patient);
    free(a);
    free(again);
    /* An unknown course. */
    char *none = NULL, err[256];
    assert_int_equal(vigil__export_course_fhir(e, course + 100, &none, err, sizeof err), VIGIL_ENOENT);
    assert_null(none);
    vigil_engine_free(e);
  }
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(sh(cmd), 0);
}

/* A course with an aborted session, closed: the episode finished with its
 * end, the plan completed with nothing scheduled, the aborted session's
 * Encounter cancelled and its activity stopped, and the closing reason said. */
static void course_bundle_closed_with_an_aborted_session(void **state) {
  (void)state;
  uint64_t visit, course;
  vigil_engine *e = run_scenario("ketamine_iv", "uneventful", NULL, &visit);
  vigil_engine_advance_to(e, vigil_engine_now(e) + 4 * DAY_MS);
  if (vigil_visit_start(e, "ketamine_iv", "chair-1", "nurse:ana", "{\"weight\": 70}", &visit) < 0)
    fail_msg("start: %s", vigil_engine_errmsg(e));
  if (vigil_visit_abort(e, visit, "nurse:ana", "patient unwell today") < 0)
    fail_msg("abort: %s", vigil_engine_errmsg(e));
  char *pj = vigil_patient_json(e, "chair-1");
  json_t *p = json_loads(pj, 0, NULL);
  vigil_free(pj);
  course = (uint64_t)json_integer_value(json_object_get(json_array_get(json_object_get(p, "courses"), 0), "id"));
  json_decref(p);
  if (vigil_course_close(e, course, "dr:osei", "moved to another clinic") < 0)
    fail_msg("close: %s", vigil_engine_errmsg(e));
  char *a = course_fhir_of(e, course);
  json_t *b = json_loads(a, 0, NULL);
  references_resolve(b, json_object_get(b, "entry"));
  json_t *ep = first_of(b, "EpisodeOfCare"), *plan = first_of(b, "CarePlan");
  assert_string_equal(vigil__export_str(ep, "status"), "finished");
  assert_true(*vigil__export_str(json_object_get(ep, "period"), "end"));
  /* Closed with one of its six sessions completed: revoked, not completed (C8). */
  assert_string_equal(vigil__export_str(plan, "status"), "revoked");
  if (!strstr(vigil__export_str(plan, "description"), "Closed: moved to another clinic"))
    fail_msg("the plan does not say why it closed: %s", vigil__export_str(plan, "description"));
  json_t *acts = json_object_get(plan, "activity");
  assert_int_equal(json_array_size(acts), 2); /* two sessions, nothing scheduled */
  assert_string_equal(vigil__export_str(json_object_get(json_array_get(acts, 0), "detail"), "status"), "completed");
  assert_string_equal(vigil__export_str(json_object_get(json_array_get(acts, 1), "detail"), "status"), "stopped");
  int cancelled = 0, finished = 0;
  size_t i;
  json_t *en;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (strcmp(vigil__export_str(r, "resourceType"), "Encounter")) continue;
    cancelled += !strcmp(vigil__export_str(r, "status"), "cancelled");
    finished += !strcmp(vigil__export_str(r, "status"), "finished");
  }
  assert_int_equal(cancelled, 1);
  assert_int_equal(finished, 1);
  assert_int_equal(count_code(b, "Observation", "44261-6"), 1); /* the aborted session measured nothing */
  write_course("ketamine_iv-closed", a);
  json_decref(b);
  free(a);
  vigil_engine_free(e);
}

/* The Encounters' texts of a course's sessions, in order, a new array. */
static json_t *encounter_texts(json_t *bundle) {
  json_t *out = json_array(), *en;
  size_t i;
  json_array_foreach(json_object_get(bundle, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (!strcmp(vigil__export_str(r, "resourceType"), "Encounter"))
      json_array_append_new(
          out, json_string(vigil__export_str(
                   json_object_get(r, "type") ? json_array_get(json_object_get(r, "type"), 0) : NULL, "text")));
  }
  return out;
}

/* C7 (docs/safety.md): "Session 7 of 6" with an aborted session in the
 * series. A session is named by its place among the sessions that count
 * (`counted`), as the stage line counts; an aborted one counts for nothing
 * and says so; the course's own number is said when they differ. */
static void course_words_count_the_sessions_that_count(void **state) {
  (void)state;
  uint64_t visit;
  char err[1024];
  const char *ref = NULL;
  vigil_engine *e = run_scenario_of("ketamine_iv", "uneventful", NULL, &visit, &ref);
  vigil_engine_advance_to(e, vigil_engine_now(e) + 3 * DAY_MS);
  if (vigil_visit_start(e, "ketamine_iv", "chair-1", "nurse:ana", "{\"weight\": 70}", &visit) < 0)
    fail_msg("start: %s", vigil_engine_errmsg(e));
  if (vigil_visit_abort(e, visit, "nurse:ana", "patient unwell today") < 0)
    fail_msg("abort: %s", vigil_engine_errmsg(e));
  vigil_engine_advance_to(e, vigil_engine_now(e) + DAY_MS);
  if (vigil__scenario_run(e, ref, "protocols/ketamine_iv/scenarios/uneventful.lua", NULL, NULL, &visit, err,
                          sizeof err) < 0)
    fail_msg("session 3: %s", err);
  /* The visit's course: the course's session 3, the series' second. */
  char *vj = vigil_visit_json(e, visit);
  json_t *v = json_loads(vj, 0, NULL);
  vigil_free(vj);
  json_t *vc = json_object_get(v, "course");
  assert_int_equal(json_integer_value(json_object_get(vc, "session")), 3);
  assert_int_equal(json_integer_value(json_object_get(vc, "counted")), 2);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(vc, "previous"), "counted")), 1);
  json_decref(v);
  /* C13: an integration session after it names it as the Encounter does. */
  if (vigil_course_integration(e, 1, "nurse:ana", "dr:lee", 0, "Integration after the second session") < 0)
    fail_msg("integration: %s", vigil_engine_errmsg(e));
  char *a = course_fhir_of(e, 1);
  json_t *b = json_loads(a, 0, NULL), *texts = encounter_texts(b);
  assert_int_equal(json_array_size(texts), 3);
  assert_non_null(strstr(json_string_value(json_array_get(texts, 0)), "Session 1 of 6: "));
  assert_non_null(
      strstr(json_string_value(json_array_get(texts, 1)), "Aborted visit 2 of the course (counts for nothing)"));
  assert_non_null(strstr(json_string_value(json_array_get(texts, 2)), "Session 2 of 6; visit 3 of the course: "));
  /* The next due is the series' third, not "session 4". */
  json_t *acts = json_object_get(first_of(b, "CarePlan"), "activity");
  assert_string_equal(vigil__export_str(json_object_get(json_array_get(acts, 3), "detail"), "description"),
                      "Session 3, next due");
  assert_string_equal(vigil__export_str(json_object_get(first_of(b, "Procedure"), "code"), "text"),
                      "Integration psychotherapy session (after session 2 of 6; visit 3 of the course)");
  json_decref(texts);
  json_decref(b);
  free(a);
  /* A visit within the minimum interval: its gate names both sessions in
   * the one numbering (it said "session 4 comes ... after session 3"). */
  uint64_t soon;
  if (vigil_visit_start(e, "ketamine_iv", "chair-1", "nurse:ana", "{\"weight\": 70}", &soon) < 0)
    fail_msg("start: %s", vigil_engine_errmsg(e));
  vj = vigil_visit_json(e, soon);
  v = json_loads(vj, 0, NULL);
  vigil_free(vj);
  char *reasons = json_dumps(json_object_get(json_object_get(v, "gate"), "reasons"), 0);
  if (!strstr(reasons, "session 3 comes ") || !strstr(reasons, " after session 2 (visit 3)"))
    fail_msg("gate: %s", reasons);
  free(reasons);
  json_decref(v);
  vigil_engine_free(e);
}

/* C8 (docs/safety.md): a PHQ-9 amended in its session is exported amended,
 * not final; the next session's, not amended, final. */
static void course_amended_phq9_is_amended(void **state) {
  (void)state;
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  if (vigil_engine_load(e, "tests/protocols/course", NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  for (int i = 0; i < 2; i++) {
    uint64_t id;
    vigil_engine_advance_to(e, T0 + i * 2 * DAY_MS);
    if (vigil_visit_start(e, "course_test", "MRN-AM", "nurse:ana", NULL, &id) < 0 ||
        vigil_visit_record_json(e, id, "nurse:ana", "{\"consent\": true, \"phq9\": 20}") < 0 ||
        (i == 0 && vigil_visit_amend_json(e, id, "nurse:ana", "session.phq9", "18", "misread: 18, not 20") < 0) ||
        vigil_visit_discharge(e, id, "nurse:ana") < 0)
      fail_msg("session %d: %s", i + 1, vigil_engine_errmsg(e));
  }
  char *a = course_fhir_of(e, 1);
  json_t *b = json_loads(a, 0, NULL), *en;
  const char *statuses[2] = {NULL, NULL};
  size_t i, k = 0;
  json_array_foreach(json_object_get(b, "entry"), i, en) {
    json_t *r = json_object_get(en, "resource");
    if (!strcmp(vigil__export_str(r, "resourceType"), "Observation") && k < 2)
      statuses[k++] = vigil__export_str(r, "status");
  }
  assert_int_equal(k, 2);
  assert_string_equal(statuses[0], "amended");
  assert_string_equal(statuses[1], "final");
  json_decref(b);
  free(a);
  vigil_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fhir_bundles_of_every_scenario),
      cmocka_unit_test(a_signature_is_a_provenance),
      cmocka_unit_test(amendments_and_acknowledgements),
      cmocka_unit_test(rems_form_of_a_session),
      cmocka_unit_test(rems_form_late_and_unfinished),
      cmocka_unit_test(a_late_reading_is_effective_when_observed),
      cmocka_unit_test(rems_form_refuses_other_protocols),
      cmocka_unit_test(csv_cells_are_never_formulas),
      cmocka_unit_test(the_command),
      cmocka_unit_test(course_bundles),
      cmocka_unit_test(course_bundle_closed_with_an_aborted_session),
      cmocka_unit_test(course_words_count_the_sessions_that_count),
      cmocka_unit_test(course_amended_phq9_is_amended),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
