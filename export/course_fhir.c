/* course_fhir.c: a patient's treatment course as a FHIR R4 Bundle of type
 * "collection":
 *
 *   Patient                the course's patient (its reference), whom the
 *                          others name as their subject;
 *   EpisodeOfCare          the course (open: active, closed: finished);
 *   CarePlan               the course protocol's plan (the series, the
 *                          intervals, maintenance), one activity per session
 *                          and one for the next session due;
 *   Encounter              each session (its visit), part of the episode;
 *   Observation            each session's PHQ-9 total (LOINC 44261-6);
 *   QuestionnaireResponse  each session's Spravato REMS Patient Monitoring
 *                          Form data (rems.c), for a protocol that records it;
 *   Procedure              each integration psychotherapy session between
 *                          the sessions, based on the CarePlan;
 *   DetectedIssue          each course alert (a missed session, a non-response).
 *
 * As the visit's Bundle (fhir.c), it is a function of the record only:
 * resource ids are name-based UUIDs of the course's id, start and patient
 * and the resource's role, and the Bundle's timestamp is the latest time the
 * course names, so exporting twice gives the same bytes. docs/fhir.md says
 * what goes where. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"

#define LOINC "http://loinc.org"
#define UCUM "http://unitsofmeasure.org"
#define LOINC_PHQ9_TOTAL "44261-6"
#define OBSERVATION_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"
#define ACT_CODE "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define VIGIL_COURSE "urn:vigil:course"
#define VIGIL_VISIT "urn:vigil:visit"
#define VIGIL_PATIENT "urn:vigil:patient"
#define VIGIL_RULE "urn:vigil:rule"
#define VIGIL_PROTOCOL_URL "urn:vigil:protocol:"
#define VIGIL_REMS_FORM "urn:vigil:rems-patient-monitoring-form"
#define VIGIL_ALERT_STATE "urn:vigil:fhir:alert-state"

/* The course measure exported as PHQ-9 totals. */
#define PHQ9_MEASURE "phq9"

typedef struct course_fhir {
  vigil_engine *e;
  json_t *course;    /* the course, as in vigil_patient_json */
  json_t *entries;   /* Bundle.entry */
  json_t *subject;   /* the patient, as a Reference to the Bundle's Patient */
  char careplan[64]; /* the CarePlan's fullUrl */
  char *seed;        /* names the resources' UUIDs */
  char episode[64];  /* the EpisodeOfCare's fullUrl */
  char latest[40];   /* the latest time the course names, for the Bundle's timestamp */
} course_fhir;

static void add(course_fhir *f, const char *role, json_t *resource, char url[64]) {
  char full[64], id[40];
  vigil__export_uuid(f->seed, role, full, id);
  json_object_set_new(resource, "id", json_string(id));
  json_array_append_new(f->entries, json_pack("{s:s, s:o}", "fullUrl", full, "resource", resource));
  if (url) memcpy(url, full, sizeof full);
}

static json_t *ref(const char *url, const char *display) {
  json_t *r = json_pack("{s:s}", "reference", url);
  if (display && *display) json_object_set_new(r, "display", json_string(display));
  return r;
}

/* Keeps the latest ISO time seen (they all have the same form, so text order is time order). */
static void saw(course_fhir *f, const char *iso) {
  if (iso && *iso && strlen(iso) < sizeof f->latest && strcmp(iso, f->latest) > 0)
    snprintf(f->latest, sizeof f->latest, "%s", iso);
}

static json_t *decimal(double x) {
  if (x == (double)(json_int_t)x && x > -9007199254740992.0 && x < 9007199254740992.0)
    return json_integer((json_int_t)x);
  return json_real(x);
}

static json_t *period(const char *start, const char *end) {
  json_t *p = json_object();
  if (start && *start) json_object_set_new(p, "start", json_string(start));
  if (end && *end) json_object_set_new(p, "end", json_string(end));
  return p;
}

static double plan_num(json_t *plan, const char *key) { return json_number_value(json_object_get(plan, key)); }

/* The plan in words: "6 sessions within 21 days, due every 3 days (at least
 * 1 apart); then maintenance every 14 days". */
static void plan_text(json_t *plan, char *out, size_t n) {
  char more[256] = "";
  json_t *mi = json_object_get(plan, "maintenance_interval_days");
  if (json_is_number(mi)) {
    long long ms = (long long)json_integer_value(json_object_get(plan, "maintenance_sessions"));
    json_t *mx = json_object_get(plan, "maintenance_max_interval_days");
    if (ms > 0 && json_is_number(mx))
      snprintf(more, sizeof more, "; then %lld maintenance sessions every %g days, then at most every %g days", ms,
               json_number_value(mi), json_number_value(mx));
    else
      snprintf(more, sizeof more, "; then maintenance every %g days", json_number_value(mi));
  }
  snprintf(out, n, "%lld sessions within %g days, due every %g days (at least %g days apart)%s",
           (long long)json_integer_value(json_object_get(plan, "sessions")), plan_num(plan, "within_days"),
           plan_num(plan, "interval_days"), plan_num(plan, "min_interval_days"), more);
}

static const char *encounter_status(const char *visit_status) {
  if (!strcmp(visit_status, "discharged")) return "finished";
  if (!strcmp(visit_status, "aborted")) return "cancelled";
  return "in-progress";
}

static const char *activity_status(const char *visit_status) {
  if (!strcmp(visit_status, "discharged")) return "completed";
  if (!strcmp(visit_status, "aborted")) return "stopped";
  return "in-progress";
}

/* The value of course measure `name` at session `number`, or NULL. */
static json_t *measure_at(json_t *course, const char *name, json_int_t number) {
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(json_object_get(course, "measures"), name), i, m) {
    if (json_integer_value(json_object_get(m, "session")) == number) return m;
  }
  return NULL;
}

/* ---- the REMS form of a session ------------------------------------------------ */

static json_t *rems_answer(json_t *v) {
  if (json_is_boolean(v)) return json_pack("{s:b}", "valueBoolean", json_is_true(v));
  if (json_is_integer(v)) return json_pack("{s:I}", "valueInteger", json_integer_value(v));
  if (json_is_real(v)) return json_pack("{s:o}", "valueDecimal", decimal(json_real_value(v)));
  if (json_is_string(v) && *json_string_value(v)) return json_pack("{s:O}", "valueString", v);
  return NULL;
}

/* The form's fields as items (a blood pressure as a group of its parts);
 * fields without a value are left out ("missing" lists them). */
static json_t *rems_items(json_t *form, const char *prefix) {
  json_t *items = json_array(), *v;
  const char *key;
  json_object_foreach(form, key, v) {
    if (!strcmp(key, "form") || !strcmp(key, "missing")) continue;
    char link[256], inner[260];
    snprintf(link, sizeof link, "%s%s", prefix, key);
    if (json_is_object(v)) {
      snprintf(inner, sizeof inner, "%s.", link);
      json_t *children = rems_items(v, inner);
      if (json_array_size(children))
        json_array_append_new(items, json_pack("{s:s, s:s, s:o}", "linkId", link, "text", key, "item", children));
      else
        json_decref(children);
      continue;
    }
    json_t *a = rems_answer(v);
    if (a) json_array_append_new(items, json_pack("{s:s, s:s, s:[o]}", "linkId", link, "text", key, "answer", a));
  }
  return items;
}

/* 0: added or the protocol records no REMS form; <0: the export failed. */
static int rems_form(course_fhir *f, uint64_t visit, const char *encounter, const char *authored, json_int_t number,
                     char *err, size_t errlen) {
  char *text = NULL;
  int rc = vigil__export_rems(f->e, visit, 0, &text, err, errlen);
  if (rc == VIGIL_EPROTOCOL) return 0; /* not a REMS protocol's session */
  if (rc < 0) return rc;
  json_t *form = json_loads(text, 0, NULL);
  free(text);
  if (!form) {
    snprintf(err, errlen, "the REMS form of visit %llu could not be read", (unsigned long long)visit);
    return VIGIL_EIO;
  }
  char visit_id[32], role[64];
  snprintf(visit_id, sizeof visit_id, "%llu", (unsigned long long)visit);
  /* FHIR R4's QuestionnaireResponse status: completed when every field has
   * a value; in-progress while the session owes its form (form_due_by:
   * discharged, or aborted after its dose, C5); stopped for a session
   * aborted before its dose, which owes none ("partially filled out ... and
   * abandoned"). */
  int complete = json_array_size(json_object_get(form, "missing")) == 0;
  int owed = json_is_string(json_object_get(form, "form_due_by"));
  int ended = !strcmp(vigil__export_str(form, "status"), "aborted");
  json_t *qr =
      json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:O, s:o, s:o}", "resourceType", "QuestionnaireResponse", "identifier",
                "system", VIGIL_VISIT, "value", visit_id, "questionnaire", VIGIL_REMS_FORM, "status",
                complete         ? "completed"
                : !owed && ended ? "stopped"
                                 : "in-progress",
                "subject", f->subject, "encounter", ref(encounter, NULL), "item", rems_items(form, ""));
  if (authored && *authored) json_object_set_new(qr, "authored", json_string(authored));
  snprintf(role, sizeof role, "rems:%lld", (long long)number);
  add(f, role, qr, NULL);
  json_decref(form);
  return 0;
}

/* ---- the sessions --------------------------------------------------------------- */

/* A session in words, as the patient page and the visit say it (docs/safety.md
 * C7): "Session 6 of 6" counts the sessions that count (`counted`: an aborted
 * one counts for nothing), past the series "Maintenance session 2 (session
 * 8)", and the course's own number when an aborted one came before ("...;
 * visit 7 of the course"); an aborted one "Aborted visit 3 of the course
 * (counts for nothing)". */
static void session_place(json_t *s, json_int_t of, char *out, size_t n) {
  json_int_t number = json_integer_value(json_object_get(s, "number"));
  json_t *counted = json_object_get(s, "counted");
  if (json_is_true(json_object_get(s, "no_dose"))) { /* AD3: discharged, not aborted */
    snprintf(out, n, "Visit %lld of the course, no dose given (counts for nothing)", (long long)number);
    return;
  }
  if (!json_is_integer(counted)) {
    snprintf(out, n, "Aborted visit %lld of the course (counts for nothing)", (long long)number);
    return;
  }
  json_int_t k = json_integer_value(counted);
  char course[64] = "";
  if (k != number) snprintf(course, sizeof course, "; visit %lld of the course", (long long)number);
  if (k <= of)
    snprintf(out, n, "Session %lld of %lld%s", (long long)k, (long long)of, course);
  else
    snprintf(out, n, "Maintenance session %lld (session %lld%s)", (long long)(k - of), (long long)k, course);
}

/* Whether the visit's item that course measure `name` is read from was
 * amended (FHIR R4's Observation.status amended: "subsequent to being
 * final, the observation has been modified"; C8: an amended PHQ-9 was
 * exported final). A measure read from a param is never amended. */
static int measure_amended(json_t *course, const visit_record *r, const char *name) {
  const char *item =
      vigil__export_str(json_object_get(json_object_get(json_object_get(course, "plan"), "measures"), name), "item");
  size_t i;
  json_t *ev;
  json_array_foreach(r->events, i, ev) {
    if (*item && !strcmp(vigil__export_str(ev, "type"), "item.amended") &&
        !strcmp(vigil__export_str(json_object_get(ev, "data"), "item"), item))
      return 1;
  }
  return 0;
}

/* How many of the course's sessions count (not aborted). */
static json_int_t sessions_counted(json_t *course) {
  json_int_t k = 0;
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(course, "sessions"), i, s) k += json_is_integer(json_object_get(s, "counted"));
  return k;
}

static int sessions(course_fhir *f, json_t *plan_activities, char *err, size_t errlen) {
  json_t *course = f->course;
  json_int_t of = json_integer_value(json_object_get(json_object_get(course, "plan"), "sessions"));
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(course, "sessions"), i, s) {
    json_int_t number = json_integer_value(json_object_get(s, "number"));
    uint64_t visit = (uint64_t)json_integer_value(json_object_get(s, "visit"));
    visit_record r;
    int rc = vigil__visit_record_load(f->e, visit, &r, err, errlen);
    if (rc < 0) return rc;
    const char *status = vigil__export_str(r.visit, "status");
    const char *start = vigil__export_str(s, "started_at");
    const char *end = vigil__visit_record_event_time(&r, "visit.discharged", NULL, NULL);
    if (!end) end = vigil__visit_record_event_time(&r, "visit.aborted", NULL, NULL);
    saw(f, start);
    saw(f, end);
    char what[512], visit_id[32], role[64], encounter[64], place[160];
    const char *title = vigil__export_str(r.protocol, "title");
    session_place(s, of, place, sizeof place);
    snprintf(what, sizeof what, "%s: %s (%s)", place, *title ? title : vigil__export_str(s, "protocol"),
             vigil__export_str(s, "protocol"));
    snprintf(visit_id, sizeof visit_id, "%llu", (unsigned long long)visit);
    json_t *enc = json_pack(
        "{s:s, s:[{s:s, s:s}], s:s, s:o, s:[{s:s}], s:O, s:[o], s:o}", "resourceType", "Encounter", "identifier",
        "system", VIGIL_VISIT, "value", visit_id, "status", encounter_status(status), "class",
        json_pack("{s:s, s:s, s:s}", "system", ACT_CODE, "code", "AMB", "display", "ambulatory"), "type", "text", what,
        "subject", f->subject, "episodeOfCare", ref(f->episode, NULL), "period", period(start, end));
    snprintf(role, sizeof role, "session:%lld", (long long)number);
    add(f, role, enc, encounter);

    /* The session in the plan: what was done, and the dose measured, with
     * its unit, and said to be the dose drawn up when the dose given was
     * not recorded (the measure's `otherwise`: docs/safety.md AD4). */
    char description[800];
    json_t *dose = measure_at(course, "dose", number);
    const char *unit = vigil__export_str(
        json_object_get(json_object_get(json_object_get(course, "plan"), "measures"), "dose"), "unit");
    const char *from = dose ? vigil__export_str(dose, "from") : "";
    if (dose)
      snprintf(description, sizeof description, "%s; dose %g%s%s%s%s%s", what,
               json_number_value(json_object_get(dose, "value")), *unit ? " " : "", unit, *from ? " (from " : "", from,
               *from ? ", the dose given not recorded)" : "");
    else
      snprintf(description, sizeof description, "%s", what);
    json_array_append_new(plan_activities,
                          json_pack("{s:[o], s:{s:s, s:s, s:o}}", "outcomeReference", ref(encounter, what), "detail",
                                    "status",
                                    /* AD3: a visit with no dose given did not complete its session */
                                    json_is_true(json_object_get(s, "no_dose")) ? "stopped" : activity_status(status),
                                    "description", description, "scheduledPeriod", period(start, end)));

    /* The PHQ-9 total of the session, when it counts (an aborted session measures nothing). */
    json_t *phq9 = measure_at(course, PHQ9_MEASURE, number);
    if (phq9) {
      double total = json_number_value(json_object_get(phq9, "value"));
      const char *at = vigil__export_str(phq9, "at");
      saw(f, at);
      json_t *o = json_pack(
          "{s:s, s:s, s:[{s:[{s:s, s:s, s:s}]}], s:{s:[{s:s, s:s, s:s}], s:s}, s:O, s:o, s:s}", "resourceType",
          "Observation", "status", measure_amended(course, &r, PHQ9_MEASURE) ? "amended" : "final", "category",
          "coding", "system", OBSERVATION_CATEGORY, "code", "survey", "display", "Survey", "code", "coding", "system",
          LOINC, "code", LOINC_PHQ9_TOTAL, "display",
          "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "text", "PHQ-9 total", "subject",
          f->subject, "encounter", ref(encounter, NULL), "effectiveDateTime", *at ? at : start);
      if (total == (double)(json_int_t)total)
        json_object_set_new(o, "valueInteger", json_integer((json_int_t)total));
      else
        json_object_set_new(o, "valueQuantity",
                            json_pack("{s:o, s:s, s:s, s:s}", "value", decimal(total), "unit", "{score}", "system",
                                      UCUM, "code", "{score}"));
      snprintf(role, sizeof role, "phq9:%lld", (long long)number);
      add(f, role, o, NULL);
    }
    rc = rems_form(f, visit, encounter, end ? end : start, number, err, errlen);
    vigil__visit_record_free(&r);
    if (rc < 0) return rc;
  }
  return 0;
}

/* ---- the course alerts ------------------------------------------------------------ */

static void course_alerts(course_fhir *f) {
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(f->course, "alerts"), i, a) {
    const char *rule = vigil__export_str(a, "rule"), *prio = vigil__export_str(a, "priority");
    saw(f, vigil__export_str(a, "raised_at"));
    json_t *d =
        json_pack("{s:s, s:[{s:s, s:s}], s:s, s:{s:[{s:s, s:s}], s:s}, s:s, s:O, s:s, s:{s:s}, s:s, s:[o]}",
                  "resourceType", "DetectedIssue", "extension", "url", VIGIL_ALERT_STATE, "valueCode",
                  vigil__export_str(a, "state"), "status", "final", "code", "coding", "system", VIGIL_RULE, "code",
                  *rule ? rule : "unknown", "text", *rule ? rule : "unknown", "severity",
                  !strcmp(prio, "high")     ? "high"
                  : !strcmp(prio, "medium") ? "moderate"
                                            : "low",
                  "patient", f->subject, "identifiedDateTime", vigil__export_str(a, "raised_at"), "author", "display",
                  "vigil", "detail", vigil__export_str(a, "message"), "implicated", ref(f->episode, "the course"));
    char role[64];
    snprintf(role, sizeof role, "alert:%lld", (long long)json_integer_value(json_object_get(a, "id")));
    add(f, role, d, NULL);
  }
}

/* ---- integration psychotherapy between sessions ------------------------------------ */

/* The session an integration session came after (`after_session`: the
 * course's sessions begun by then) in session_place's words, the numbering
 * the Encounters, the patient page and the course alerts use (docs/safety.md
 * C13: it said "after session 3" where the Encounter said "Session 2 of 8;
 * visit 3 of the course"); "before the first session" when none had begun. */
static void after_place(json_t *course, json_int_t after, char *out, size_t n) {
  json_int_t of = json_integer_value(json_object_get(json_object_get(course, "plan"), "sessions"));
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(course, "sessions"), i, s) {
    if (json_integer_value(json_object_get(s, "number")) != after) continue;
    char place[160];
    session_place(s, of, place, sizeof place);
    if (place[0] >= 'A' && place[0] <= 'Z') place[0] = (char)(place[0] - 'A' + 'a'); /* within a sentence */
    snprintf(out, n, "after %s", place);
    return;
  }
  snprintf(out, n, "before the first session");
}

/* Each integration session as a Procedure: performed at its time, by whom
 * (display only: vigil keeps no practitioners), its note; based on the
 * CarePlan, which has no activity of its own for it. */
static void integration(course_fhir *f) {
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(f->course, "integration"), i, x) {
    const char *at = vigil__export_str(x, "at");
    saw(f, at);
    saw(f, vigil__export_str(x, "recorded_at"));
    char when[200], what[256];
    after_place(f->course, json_integer_value(json_object_get(x, "after_session")), when, sizeof when);
    snprintf(what, sizeof what, "Integration psychotherapy session (%s)", when);
    json_t *p = json_pack("{s:s, s:[o], s:s, s:{s:s}, s:{s:s}, s:O, s:s, s:[{s:{s:s}}], s:[{s:s}]}", "resourceType",
                          "Procedure", "basedOn", ref(f->careplan, "the course's plan"), "status", "completed",
                          "category", "text", "Psychotherapy", "code", "text", what, "subject", f->subject,
                          "performedDateTime", at, "performer", "actor", "display", vigil__export_str(x, "by"), "note",
                          "text", vigil__export_str(x, "note"));
    char role[64];
    snprintf(role, sizeof role, "integration:%zu", i + 1);
    add(f, role, p, NULL);
  }
}

/* ---- the Bundle ------------------------------------------------------------------------ */

/* The course `id` of vigil_patient_json's answer (taken), or NULL. */
static json_t *find_course(json_t *patient, uint64_t id) {
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(patient, "courses"), i, c) {
    if ((uint64_t)json_integer_value(json_object_get(c, "id")) == id) return json_incref(c);
  }
  return NULL;
}

static const char *protocol_title(json_t *protocols, const char *ref_text) {
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(protocols, "protocols"), i, p) {
    if (!strcmp(vigil__export_str(p, "ref"), ref_text)) return vigil__export_str(p, "title");
  }
  return "";
}

int vigil__export_course_fhir(vigil_engine *e, uint64_t id, char **out, char *err, size_t errlen) {
  *out = NULL;
  if (sodium_init() < 0) {
    snprintf(err, errlen, "libsodium could not start");
    return VIGIL_ENOMEM;
  }
  const char *patient = vigil_course_patient(e, id);
  if (!patient) {
    snprintf(err, errlen, "no such course");
    return VIGIL_ENOENT;
  }
  char *text = vigil_patient_json(e, patient);
  json_t *p = text ? json_loads(text, 0, NULL) : NULL;
  vigil_free(text);
  char *ptext = vigil_query_protocols_json(e);
  json_t *protocols = ptext ? json_loads(ptext, 0, NULL) : NULL;
  vigil_free(ptext);
  course_fhir f = {.e = e, .course = find_course(p, id), .entries = json_array()};
  json_decref(p);
  if (!f.course || !protocols || !f.entries) {
    json_decref(f.course);
    json_decref(protocols);
    json_decref(f.entries);
    snprintf(err, errlen, "the course could not be read: %s", vigil_engine_errmsg(e));
    return VIGIL_EIO;
  }
  json_t *c = f.course;
  char course_id[32];
  snprintf(course_id, sizeof course_id, "%llu", (unsigned long long)id);
  const char *who = vigil_course_patient(e, id);
  /* The course's id, start and patient tell it from any other. */
  json_t *seed = json_pack("{s:s, s:O, s:s, s:O}", "course", course_id, "started_at", json_object_get(c, "started_at"),
                           "patient", who, "protocol", json_object_get(c, "protocol"));
  f.seed = seed ? json_dumps(seed, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(seed);
  int rc = 0;
  if (!f.seed) {
    snprintf(err, errlen, "out of memory");
    rc = VIGIL_ENOMEM;
    goto done;
  }
  const char *ref_text = vigil__export_str(c, "protocol");
  const char *title = protocol_title(protocols, ref_text);
  int closed = !strcmp(vigil__export_str(c, "status"), "closed");
  json_t *closing = json_object_get(c, "closed");
  const char *start = vigil__export_str(c, "started_at"), *end = closed ? vigil__export_str(closing, "at") : "";
  saw(&f, start);
  saw(&f, end);
  char canonical[256];
  snprintf(canonical, sizeof canonical, VIGIL_PROTOCOL_URL "%s", ref_text);
  char *at = strrchr(canonical, '@');
  if (at) *at = '|';

  /* The patient first, by its reference (vigil keeps no demographics of its
   * own): the subject every resource below names. */
  char patient_url[64];
  add(&f, "patient",
      json_pack("{s:s, s:[{s:s, s:s}]}", "resourceType", "Patient", "identifier", "system", VIGIL_PATIENT, "value",
                who),
      patient_url);
  f.subject = ref(patient_url, who);
  /* The CarePlan's fullUrl, for what is based on it. */
  char careplan_id[40];
  vigil__export_uuid(f.seed, "careplan", f.careplan, careplan_id);

  /* The EpisodeOfCare next: everything else refers to it. */
  json_t *episode =
      json_pack("{s:s, s:[{s:s, s:s}], s:s, s:[{s:s}], s:O, s:o}", "resourceType", "EpisodeOfCare", "identifier",
                "system", VIGIL_COURSE, "value", course_id, "status", closed ? "finished" : "active", "type", "text",
                *title ? title : ref_text, "patient", f.subject, "period", period(start, end));
  add(&f, "episode", episode, f.episode);

  json_t *activities = json_array();
  rc = sessions(&f, activities, err, errlen);
  if (rc < 0) {
    json_decref(activities);
    goto done;
  }
  /* The next session due, as the plan's activity still to come (whether it
   * is overdue depends on when one asks: the Bundle says only when). */
  const char *due = vigil__export_str(c, "next_due");
  if (*due && !closed) {
    char what[160];
    snprintf(what, sizeof what, "Session %lld, next due", (long long)sessions_counted(c) + 1);
    json_array_append_new(activities, json_pack("{s:{s:s, s:s, s:o}}", "detail", "status", "scheduled", "description",
                                                what, "scheduledPeriod", period(due, NULL)));
  }
  char plan[512], description[1024];
  plan_text(json_object_get(c, "plan"), plan, sizeof plan);
  json_t *th = json_object_get(c, "thresholds");
  json_t *fall = json_object_get(th, "response_fall_pct"), *below = json_object_get(th, "remission_below");
  char judged[256] = "";
  if (json_is_number(fall) || json_is_number(below))
    snprintf(judged, sizeof judged,
             ". Response: PHQ-9 %g %% or more below the first session (%s); remission: below %g (%s)",
             json_number_value(fall),
             json_is_true(json_object_get(c, "response"))    ? "yes"
             : json_is_false(json_object_get(c, "response")) ? "no"
                                                             : "not yet known",
             json_number_value(below),
             json_is_true(json_object_get(c, "remission"))    ? "yes"
             : json_is_false(json_object_get(c, "remission")) ? "no"
                                                              : "not yet known");
  snprintf(description, sizeof description, "%s%s%s%s", plan, judged, closed ? ". Closed: " : "",
           closed ? vigil__export_str(closing, "reason") : "");
  /* FHIR R4's CarePlan.status (RequestStatus: draft, active, on-hold,
   * revoked, completed, entered-in-error, unknown; "stopped" is not one of
   * them): a course closed before its induction series completed is revoked
   * ("terminated prior to the known full completion of the intended
   * actions"), one closed after it completed (maintenance is open-ended)
   * completed (docs/safety.md C8: a course closed early said completed). */
  json_int_t done = 0, series = json_integer_value(json_object_get(json_object_get(c, "plan"), "sessions"));
  size_t k;
  json_t *x;
  json_array_foreach(json_object_get(c, "sessions"), k, x) done +=
      !strcmp(vigil__export_str(x, "status"), "discharged");
  const char *plan_status = !closed ? "active" : done >= series ? "completed" : "revoked";
  json_t *careplan =
      json_pack("{s:s, s:[{s:s, s:s}], s:[s], s:s, s:s, s:s, s:s, s:O, s:o, s:[o]}", "resourceType", "CarePlan",
                "identifier", "system", VIGIL_COURSE, "value", course_id, "instantiatesUri", canonical, "status",
                plan_status, "intent", "plan", "title", *title ? title : ref_text, "description", description,
                "subject", f.subject, "period", period(start, end), "supportingInfo", ref(f.episode, "the course"));
  if (json_array_size(activities))
    json_object_set_new(careplan, "activity", activities);
  else
    json_decref(activities);
  add(&f, "careplan", careplan, NULL);
  integration(&f);
  course_alerts(&f);

  char bundle_url[64], bundle_id[40];
  vigil__export_uuid(f.seed, "bundle", bundle_url, bundle_id);
  json_t *bundle = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:O}", "resourceType", "Bundle", "id", bundle_id,
                             "identifier", "system", VIGIL_COURSE, "value", course_id, "type", "collection",
                             "timestamp", f.latest, "entry", f.entries);
  *out = bundle ? json_dumps(bundle, JSON_COMPACT) : NULL;
  json_decref(bundle);
  if (!*out) {
    snprintf(err, errlen, "out of memory");
    rc = VIGIL_ENOMEM;
  }
done:
  json_decref(f.entries);
  json_decref(f.subject);
  json_decref(f.course);
  json_decref(protocols);
  free(f.seed);
  return rc;
}
