/* fhir.c: one visit as a FHIR R4 Bundle of type "collection":
 *
 *   Questionnaire          the protocol version (canonical url|version), its
 *                          phases as groups and its items as questions;
 *   QuestionnaireResponse  every entry of the visit, amendments applied;
 *   Observation            each vitals reading (LOINC, UCUM), a blood pressure
 *                          panel per reading and a vital-signs panel grouping them;
 *   DetectedIssue          each alert, its acknowledgement as a mitigation;
 *   Provenance             each signature: signature items (a second person's
 *                          check), gate overrides and the discharge.
 *
 * The output is a function of the visit's record only: resource ids are
 * name-based UUIDs (SHA-256 of the visit's start event and the resource's
 * role; the Questionnaire's of the protocol version's fingerprint alone, so
 * every visit of a version names the same one), and the Bundle's timestamp is
 * the time of the visit's last event, so exporting twice gives the same bytes.
 * docs/fhir.md says what goes where. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "export/export.h"

/* Code systems and codes FHIR R4 defines. LOINC codes of single vitals come
 * from the protocol (vigil.lua's vitals fields, docs/clinical/fhir-vitals-codes.md); the panels and the second SpO2
 * code are what the FHIR vital signs profile asks for, from the same table. */
#define LOINC "http://loinc.org"
#define UCUM "http://unitsofmeasure.org"
#define OBSERVATION_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"
#define PARTICIPANT_TYPE "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
#define SIGNATURE_TYPE "urn:iso-astm:E1762-95:2013"
#define LOINC_VITALS_PANEL "85353-1"
#define LOINC_BP_PANEL "85354-9"
#define LOINC_SYSTOLIC "8480-6"
#define LOINC_DIASTOLIC "8462-4"
#define LOINC_SPO2 "59408-5"
#define V2_0203 "http://terminology.hl7.org/CodeSystem/v2-0203" /* identifier types (MR, SS, ...) */
#define ALLERGY_CLINICAL "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
#define LOINC_SPO2_ARTERIAL "2708-6" /* "Oxygen saturation in Arterial blood": the profile's required code */

/* vigil's own names, as URIs. */
#define VIGIL_PROTOCOL_URL "urn:vigil:protocol:"
#define VIGIL_PROTOCOL_SHA256 "urn:vigil:protocol-sha256"
#define VIGIL_VISIT "urn:vigil:visit"
#define VIGIL_PATIENT "urn:vigil:patient"
#define VIGIL_RULE "urn:vigil:rule"
#define VIGIL_ALERT_STATE "urn:vigil:fhir:alert-state"
#define VIGIL_ALERT_LEVEL "urn:vigil:fhir:alert-escalation-level"
#define VIGIL_ALERT_RESOLVED "urn:vigil:fhir:alert-resolved"

typedef struct fhir {
  const visit_record *r;
  json_t *entries;    /* Bundle.entry */
  json_t *subject;    /* the patient, as a Reference */
  char *seed;         /* the visit's start event, for the resources' UUIDs */
  char response[64];  /* the QuestionnaireResponse's fullUrl */
  json_t *recordings; /* the visit's entries, amendments applied (fold_entries) */
} fhir;

/* ---- small builders ------------------------------------------------------------ */

/* "urn:uuid:..." named by `role` within `seed` (RFC 9562 version 8: the bits
 * are SHA-256's, only version and variant are set). */
static void uuid_of(const char *seed, const char *role, char out[64], char id[40]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, (const unsigned char *)seed, strlen(seed));
  crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
  crypto_hash_sha256_update(&st, (const unsigned char *)role, strlen(role));
  crypto_hash_sha256_final(&st, h);
  h[6] = (unsigned char)((h[6] & 0x0f) | 0x80);
  h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
  char hex[33];
  for (int i = 0; i < 16; i++)
    snprintf(hex + 2 * i, 3, "%02x", h[i]);
  snprintf(id, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
  snprintf(out, 64, "urn:uuid:%s", id);
}

void vigil__export_uuid(const char *seed, const char *role, char url[64], char id[40]) { uuid_of(seed, role, url, id); }

/* Adds resource (taking it) under the id named by role within seed; url (may
 * be NULL) receives its fullUrl. */
static void add_in(fhir *f, const char *seed, const char *role, json_t *resource, char url[64]) {
  char full[64], id[40];
  uuid_of(seed, role, full, id);
  json_object_set_new(resource, "id", json_string(id));
  json_array_append_new(f->entries, json_pack("{s:s, s:o}", "fullUrl", full, "resource", resource));
  if (url) memcpy(url, full, sizeof full);
}

/* The same, for a resource of this visit. */
static void add(fhir *f, const char *role, json_t *resource, char url[64]) { add_in(f, f->seed, role, resource, url); }

/* A FHIR decimal: whole numbers without a ".0" that would claim a precision
 * nobody entered. */
static json_t *decimal(double x) {
  if (x == (double)(json_int_t)x && x > -9007199254740992.0 && x < 9007199254740992.0)
    return json_integer((json_int_t)x);
  return json_real(x);
}

static json_t *coding(const char *system, const char *code, const char *display) {
  json_t *c = json_pack("{s:s, s:s}", "system", system, "code", code);
  if (display && *display) json_object_set_new(c, "display", json_string(display));
  return c;
}

static json_t *concept(json_t *one_coding, const char *text) {
  json_t *c = json_pack("{s:[o]}", "coding", one_coding);
  if (text && *text) json_object_set_new(c, "text", json_string(text));
  return c;
}

static json_t *who(const char *actor) { return json_pack("{s:s}", "display", actor); }

static json_t *reference(const char *url, const char *display) {
  json_t *r = json_pack("{s:s}", "reference", url);
  if (display && *display) json_object_set_new(r, "display", json_string(display));
  return r;
}

static int is_group(const char *kind) { return !strcmp(kind, "vitals") || !strcmp(kind, "score"); }

static const char *title_of(json_t *o) {
  const char *t = vigil__export_str(o, "title");
  return *t ? t : vigil__export_str(o, o && json_object_get(o, "name") ? "name" : "id");
}

/* ---- the entries, amendments applied -------------------------------------------- */

/* [{qid, phase, item, kind, value, time, actor, amended}] in the order
 * recorded; an amendment replaces the value of the item's latest entry and
 * is kept beside it ({previous, reason, time, actor}). */
static json_t *fold_entries(const visit_record *r) {
  json_t *out = json_array();
  size_t i;
  json_t *ev;
  json_array_foreach(r->events, i, ev) {
    const char *type = vigil__export_str(ev, "type");
    json_t *d = json_object_get(ev, "data");
    if (!strcmp(type, "item.recorded")) {
      const char *phase = vigil__export_str(d, "phase"), *key;
      json_t *value;
      json_object_foreach(json_object_get(d, "values"), key, value) {
        char qid[256];
        snprintf(qid, sizeof qid, "%s.%s", phase, key);
        json_t *item = vigil__visit_record_item(r, qid);
        if (!item) continue;
        /* A late entry's clinical time is when it was observed (AL4). */
        json_t *at = json_object_get(d, "observed_at");
        int64_t t = json_is_integer(at) ? (int64_t)json_integer_value(at)
                                        : vigil__export_parse_time(vigil__export_str(ev, "time"));
        json_t *rec =
            json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:O, s:I, s:b}", "qid", qid, "phase", phase, "item", key, "kind",
                      vigil__export_str(item, "kind"), "value", value, "time", json_object_get(ev, "time"), "actor",
                      json_object_get(ev, "actor"), "t", (json_int_t)t, "late", json_is_integer(at));
        if (json_is_integer(at)) {
          buf iso;
          vigil__buf_init(&iso);
          vigil__buf_iso_time(&iso, t);
          char *observed = vigil__buf_take(&iso);
          json_object_set_new(rec, "observed", json_string(observed ? observed : ""));
          free(observed);
        }
        json_array_append_new(out, rec);
      }
    } else if (!strcmp(type, "item.amended")) {
      /* The entry the engine amends: the one observed last (AL4). */
      json_t *rec = vigil__export_latest_observed(out, "qid", vigil__export_str(d, "item"));
      if (rec) {
        json_object_set_new(rec, "amended",
                            json_pack("{s:O, s:O, s:O, s:O}", "previous", json_object_get(rec, "value"), "reason",
                                      json_object_get(d, "reason"), "time", json_object_get(ev, "time"), "actor",
                                      json_object_get(ev, "actor")));
        json_object_set(rec, "value", json_object_get(d, "value"));
      }
    }
  }
  return out;
}

/* ---- Questionnaire ------------------------------------------------------------------ */

static const char *question_type(const char *kind) {
  if (!strcmp(kind, "check") || !strcmp(kind, "signature")) return "boolean";
  if (!strcmp(kind, "number")) return "decimal";
  if (!strcmp(kind, "choice")) return "choice";
  if (!strcmp(kind, "text")) return "string";
  return "group";
}

static void answer_options(json_t *q, json_t *options) {
  if (!json_array_size(options)) return;
  json_t *list = json_array();
  size_t i;
  json_t *o;
  json_array_foreach(options, i, o) { json_array_append_new(list, json_pack("{s:O}", "valueString", o)); }
  json_object_set_new(q, "answerOption", list);
}

/* A field of a vitals or score item as a question of its group. */
static json_t *field_question(const char *qid, const char *item_kind, json_t *field) {
  char link[320];
  const char *name = vigil__export_str(field, "name"), *kind = vigil__export_str(field, "kind");
  snprintf(link, sizeof link, "%s.%s", qid, name);
  const char *type = !strcmp(kind, "check") ? "boolean" : !strcmp(kind, "choice") ? "choice" : "decimal";
  if (!strcmp(item_kind, "score") && strcmp(name, "total") != 0) type = "integer";
  json_t *q = json_pack("{s:s, s:s, s:s}", "linkId", link, "text", title_of(field), "type", type);
  if (*vigil__export_str(field, "loinc"))
    json_object_set_new(q, "code", json_pack("[o]", coding(LOINC, vigil__export_str(field, "loinc"), title_of(field))));
  if (json_is_true(json_object_get(field, "required"))) json_object_set_new(q, "required", json_true());
  if (!strcmp(name, "total") && !strcmp(item_kind, "score")) json_object_set_new(q, "readOnly", json_true());
  answer_options(q, json_object_get(field, "options"));
  return q;
}

static json_t *item_question(json_t *item, const char *phase) {
  char qid[256];
  const char *kind = vigil__export_str(item, "kind");
  snprintf(qid, sizeof qid, "%s.%s", phase, vigil__export_str(item, "id"));
  /* Every item repeats: vigil keeps each new entry of an item beside the
   * earlier ones (a re-scored Aldrete, a vitals round). */
  json_t *fields = json_object_get(item, "fields");
  /* A signature with an outcome (options) is answered with one of them. */
  if (!strcmp(kind, "signature") && json_array_size(json_object_get(json_array_get(fields, 0), "options")))
    kind = "choice";
  json_t *q = json_pack("{s:s, s:s, s:s, s:b, s:b}", "linkId", qid, "text", title_of(item), "type", question_type(kind),
                        "required", json_is_true(json_object_get(item, "required")), "repeats", 1);
  if (is_group(kind)) {
    json_t *children = json_array();
    size_t i;
    json_t *fl;
    json_array_foreach(fields, i, fl) { json_array_append_new(children, field_question(qid, kind, fl)); }
    json_object_set_new(q, "item", children);
  } else {
    answer_options(q, json_object_get(json_array_get(fields, 0), "options"));
  }
  return q;
}

static void questionnaire(fhir *f) {
  const visit_record *r = f->r;
  char canonical[256];
  snprintf(canonical, sizeof canonical, VIGIL_PROTOCOL_URL "%s", vigil__export_str(r->protocol, "id"));
  json_t *q = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:s, s:s, s:s}", "resourceType", "Questionnaire", "url", canonical,
                        "identifier", "system", VIGIL_PROTOCOL_SHA256, "value",
                        vigil__export_str(r->protocol, "sha256"), "version", vigil__export_str(r->protocol, "version"),
                        "title", title_of(r->protocol), "status", "active");
  if (*vigil__export_str(r->protocol, "description"))
    json_object_set_new(q, "description", json_string(vigil__export_str(r->protocol, "description")));
  json_t *groups = json_array();
  size_t i, j;
  json_t *ph, *it;
  json_array_foreach(json_object_get(r->visit, "phases"), i, ph) {
    json_t *items = json_array();
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      json_array_append_new(items, item_question(it, vigil__export_str(ph, "id")));
    }
    json_array_append_new(groups, json_pack("{s:s, s:s, s:s, s:o}", "linkId", vigil__export_str(ph, "id"), "text",
                                            title_of(ph), "type", "group", "item", items));
  }
  json_object_set_new(q, "item", groups);
  /* One protocol version, one Questionnaire: its id depends on nothing else. */
  add_in(f, vigil__export_str(r->protocol, "sha256"), "questionnaire", q, NULL);
}

/* ---- QuestionnaireResponse -------------------------------------------------------------- */

static json_t *answer(json_t *v, int integer) {
  if (json_is_boolean(v)) return json_pack("{s:b}", "valueBoolean", json_is_true(v));
  if (json_is_number(v)) {
    double x = json_number_value(v);
    if (integer && x == (double)(json_int_t)x) return json_pack("{s:I}", "valueInteger", (json_int_t)x);
    return json_pack("{s:o}", "valueDecimal", decimal(x));
  }
  if (json_is_string(v)) return json_pack("{s:O}", "valueString", v);
  return NULL;
}

/* One recording of a vitals or score item: a group with its fields. */
static json_t *group_answer(json_t *rec, json_t *item) {
  const char *qid = vigil__export_str(rec, "qid"), *kind = vigil__export_str(item, "kind");
  json_t *children = json_array(), *value = json_object_get(rec, "value");
  size_t i;
  json_t *fl;
  json_array_foreach(json_object_get(item, "fields"), i, fl) {
    const char *name = vigil__export_str(fl, "name");
    json_t *a = answer(json_object_get(value, name), !strcmp(kind, "score") && strcmp(name, "total") != 0);
    if (!a) continue;
    char link[320];
    snprintf(link, sizeof link, "%s.%s", qid, name);
    json_array_append_new(children, json_pack("{s:s, s:s, s:[o]}", "linkId", link, "text", title_of(fl), "answer", a));
  }
  return json_pack("{s:s, s:s, s:o}", "linkId", qid, "text", title_of(item), "item", children);
}

static const char *response_status(const char *visit_status) {
  if (!strcmp(visit_status, "discharged")) return "completed";
  if (!strcmp(visit_status, "aborted")) return "stopped";
  return "in-progress";
}

static const char *last_event_time(const visit_record *r) {
  return vigil__export_str(json_array_get(r->events, json_array_size(r->events) - 1), "time");
}

static void response(fhir *f) {
  const visit_record *r = f->r;
  char canonical[256], visit_id[32];
  snprintf(canonical, sizeof canonical, VIGIL_PROTOCOL_URL "%s|%s", vigil__export_str(r->protocol, "id"),
           vigil__export_str(r->protocol, "version"));
  snprintf(visit_id, sizeof visit_id, "%lld", (long long)json_integer_value(json_object_get(r->visit, "id")));
  json_t *qr = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:O, s:s}", "resourceType", "QuestionnaireResponse",
                         "identifier", "system", VIGIL_VISIT, "value", visit_id, "questionnaire", canonical, "status",
                         response_status(vigil__export_str(r->visit, "status")), "subject", f->subject, "authored",
                         last_event_time(r));
  json_t *groups = json_array();
  size_t i, j, k;
  json_t *ph, *it, *rec;
  json_array_foreach(json_object_get(r->visit, "phases"), i, ph) {
    const char *phase = vigil__export_str(ph, "id");
    json_t *items = json_array();
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      char qid[256];
      snprintf(qid, sizeof qid, "%s.%s", phase, vigil__export_str(it, "id"));
      int group = is_group(vigil__export_str(it, "kind"));
      json_t *answers = json_array();
      json_array_foreach(f->recordings, k, rec) {
        if (strcmp(vigil__export_str(rec, "qid"), qid) != 0) continue;
        if (group) {
          json_array_append_new(items, group_answer(rec, it));
        } else {
          json_t *a = answer(json_object_get(rec, "value"), 0);
          if (a) json_array_append_new(answers, a);
        }
      }
      if (json_array_size(answers))
        json_array_append_new(items,
                              json_pack("{s:s, s:s, s:O}", "linkId", qid, "text", title_of(it), "answer", answers));
      json_decref(answers);
    }
    if (json_array_size(items))
      json_array_append_new(groups, json_pack("{s:s, s:s, s:o}", "linkId", phase, "text", title_of(ph), "item", items));
    else
      json_decref(items);
  }
  json_object_set_new(qr, "item", groups);
  add(f, "response", qr, f->response);
}

/* ---- Observations ------------------------------------------------------------------------- */

static json_t *quantity(double value, const char *ucum) {
  return json_pack("{s:o, s:s, s:s, s:s}", "value", decimal(value), "unit", ucum, "system", UCUM, "code", ucum);
}

/* Effective when the reading was observed; a late entry's `issued` is when it
 * was typed (docs/safety.md AL4: the typed time had been given as the
 * clinical one). */
static json_t *observation(fhir *f, json_t *rec, json_t *code) {
  json_t *observed = json_object_get(rec, "observed");
  json_t *o = json_pack("{s:s, s:s, s:[{s:[o]}], s:o, s:O, s:O, s:[o], s:[o]}", "resourceType", "Observation", "status",
                        json_object_get(rec, "amended") ? "amended" : "final", "category", "coding",
                        coding(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs"), "code", code, "subject", f->subject,
                        "effectiveDateTime", observed ? observed : json_object_get(rec, "time"), "performer",
                        who(vigil__export_str(rec, "actor")), "derivedFrom", reference(f->response, NULL));
  if (observed) json_object_set(o, "issued", json_object_get(rec, "time"));
  return o;
}

static json_t *field_named(json_t *item, const char *loinc) {
  size_t i;
  json_t *fl;
  json_array_foreach(json_object_get(item, "fields"), i, fl) {
    if (!strcmp(vigil__export_str(fl, "loinc"), loinc)) return fl;
  }
  return NULL;
}

/* One vitals reading: an Observation per measured field with a LOINC code
 * (systolic and diastolic together as the blood pressure panel), and a
 * vital-signs panel whose members they are. */
static void vitals_observations(fhir *f, json_t *rec, size_t n, json_t *item) {
  json_t *value = json_object_get(rec, "value"), *members = json_array();
  char role[320], url[64];
  json_t *sys = field_named(item, LOINC_SYSTOLIC), *dia = field_named(item, LOINC_DIASTOLIC);
  json_t *sv = sys ? json_object_get(value, vigil__export_str(sys, "name")) : NULL;
  json_t *dv = dia ? json_object_get(value, vigil__export_str(dia, "name")) : NULL;
  int panel = json_is_number(sv) && json_is_number(dv);
  if (panel) {
    json_t *o = observation(f, rec, concept(coding(LOINC, LOINC_BP_PANEL, "Blood pressure panel"), "Blood pressure"));
    json_object_set_new(o, "component",
                        json_pack("[{s:o, s:o}, {s:o, s:o}]", "code",
                                  concept(coding(LOINC, LOINC_SYSTOLIC, title_of(sys)), NULL), "valueQuantity",
                                  quantity(json_number_value(sv), vigil__export_str(sys, "unit")), "code",
                                  concept(coding(LOINC, LOINC_DIASTOLIC, title_of(dia)), NULL), "valueQuantity",
                                  quantity(json_number_value(dv), vigil__export_str(dia, "unit"))));
    snprintf(role, sizeof role, "observation:%zu:%s:bp", n, vigil__export_str(rec, "qid"));
    add(f, role, o, url);
    json_array_append_new(members, reference(url, "Blood pressure"));
  }
  size_t i;
  json_t *fl;
  json_array_foreach(json_object_get(item, "fields"), i, fl) {
    const char *loinc = vigil__export_str(fl, "loinc"), *name = vigil__export_str(fl, "name");
    json_t *x = json_object_get(value, name);
    if (!*loinc || !json_is_number(x)) continue;
    if (panel && (!strcmp(loinc, LOINC_SYSTOLIC) || !strcmp(loinc, LOINC_DIASTOLIC))) continue;
    json_t *code = concept(coding(LOINC, loinc, title_of(fl)), title_of(fl));
    if (!strcmp(loinc, LOINC_SPO2))
      json_array_append_new(json_object_get(code, "coding"),
                            coding(LOINC, LOINC_SPO2_ARTERIAL, "Oxygen saturation in Arterial blood"));
    json_t *o = observation(f, rec, code);
    json_object_set_new(o, "valueQuantity", quantity(json_number_value(x), vigil__export_str(fl, "unit")));
    snprintf(role, sizeof role, "observation:%zu:%s:%s", n, vigil__export_str(rec, "qid"), name);
    add(f, role, o, url);
    json_array_append_new(members, reference(url, title_of(fl)));
  }
  if (!json_array_size(members)) {
    json_decref(members);
    return;
  }
  json_t *o = observation(f, rec, concept(coding(LOINC, LOINC_VITALS_PANEL, "Vital signs panel"), title_of(item)));
  json_object_set_new(o, "hasMember", members);
  snprintf(role, sizeof role, "observation:%zu:%s:panel", n, vigil__export_str(rec, "qid"));
  add(f, role, o, NULL);
}

static void observations(fhir *f) {
  size_t i;
  json_t *rec;
  json_array_foreach(f->recordings, i, rec) {
    if (strcmp(vigil__export_str(rec, "kind"), "vitals") != 0) continue;
    json_t *item = vigil__visit_record_item(f->r, vigil__export_str(rec, "qid"));
    if (item) vitals_observations(f, rec, i, item);
  }
}

/* ---- DetectedIssues ------------------------------------------------------------------------- */

static const char *severity(const char *priority) {
  return !strcmp(priority, "high") ? "high" : !strcmp(priority, "medium") ? "moderate" : "low";
}

static void detected_issues(fhir *f) {
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(f->r->visit, "alerts"), i, a) {
    const char *rule = vigil__export_str(a, "rule");
    json_t *ext =
        json_pack("[{s:s, s:s}, {s:s, s:I}]", "url", VIGIL_ALERT_STATE, "valueCode", vigil__export_str(a, "state"),
                  "url", VIGIL_ALERT_LEVEL, "valueInteger", json_integer_value(json_object_get(a, "level")));
    if (*vigil__export_str(a, "resolved_at"))
      json_array_append_new(ext, json_pack("{s:s, s:s}", "url", VIGIL_ALERT_RESOLVED, "valueDateTime",
                                           vigil__export_str(a, "resolved_at")));
    json_t *d = json_pack(
        "{s:s, s:o, s:s, s:o, s:s, s:O, s:s, s:o, s:s}", "resourceType", "DetectedIssue", "extension", ext, "status",
        "final", "code", concept(coding(VIGIL_RULE, *rule ? rule : "unknown", NULL), *rule ? rule : NULL), "severity",
        severity(vigil__export_str(a, "priority")), "patient", f->subject, "identifiedDateTime",
        vigil__export_str(a, "raised_at"), "author", who("vigil"), "detail", vigil__export_str(a, "message"));
    if (json_is_true(json_object_get(a, "acknowledged")))
      json_object_set_new(d, "mitigation",
                          json_pack("[{s:{s:s}, s:s, s:o}]", "action", "text", "Alert acknowledged", "date",
                                    vigil__export_str(a, "acknowledged_at"), "author",
                                    who(vigil__export_str(a, "acknowledged_by"))));
    char role[64];
    snprintf(role, sizeof role, "alert:%lld", (long long)json_integer_value(json_object_get(a, "id")));
    add(f, role, d, NULL);
  }
}

/* ---- Provenance ---------------------------------------------------------------------------------- */

/* type: the ASTM E1762 signature type (1.2.840.10065.1.12.1.N). */
static void provenance(fhir *f, const char *role, const char *time, const char *actor, const char *participant,
                       const char *type, const char *type_name, const char *activity, json_t *entity) {
  json_t *p =
      json_pack("{s:s, s:[o], s:s, s:{s:s}, s:[{s:o, s:o}], s:[{s:[o], s:s, s:o}]}", "resourceType", "Provenance",
                "target", reference(f->response, "the visit's entries"), "recorded", time, "activity", "text", activity,
                "agent", "type", concept(coding(PARTICIPANT_TYPE, participant, NULL), NULL), "who", who(actor),
                "signature", "type", coding(SIGNATURE_TYPE, type, type_name), "when", time, "who", who(actor));
  if (entity) json_object_set_new(p, "entity", json_pack("[{s:s, s:o}]", "role", "source", "what", entity));
  add(f, role, p, NULL);
}

static void provenances(fhir *f) {
  size_t i;
  json_t *rec, *ev;
  char role[320], text[1024];
  /* Signature items: a second person verifies another's entry. */
  json_array_foreach(f->recordings, i, rec) {
    json_t *signed_value = json_object_get(rec, "value"); /* true, or a signature's outcome */
    if (strcmp(vigil__export_str(rec, "kind"), "signature") != 0 ||
        !(json_is_true(signed_value) || json_is_string(signed_value)))
      continue;
    json_t *item = vigil__visit_record_item(f->r, vigil__export_str(rec, "qid"));
    snprintf(text, sizeof text, "%s (%s)", vigil__export_str(item, "meaning"), vigil__export_str(item, "of"));
    snprintf(role, sizeof role, "signature:%zu:%s", i, vigil__export_str(rec, "qid"));
    provenance(f, role, vigil__export_str(rec, "time"), vigil__export_str(rec, "actor"), "verifier",
               "1.2.840.10065.1.12.1.5", "Verification Signature", text, who(vigil__export_str(item, "of")));
  }
  /* A clinician's decisions: leaving a phase against its gate, and discharge. */
  json_array_foreach(f->r->events, i, ev) {
    const char *type = vigil__export_str(ev, "type");
    json_t *d = json_object_get(ev, "data");
    if (!strcmp(type, "gate.overridden"))
      snprintf(text, sizeof text, "Gate of phase %s overridden: %s", vigil__export_str(d, "phase"),
               vigil__export_str(d, "reason"));
    else if (!strcmp(type, "visit.discharged"))
      snprintf(text, sizeof text, "Discharged from phase %s", vigil__export_str(d, "phase"));
    else
      continue;
    snprintf(role, sizeof role, "event:%lld", (long long)json_integer_value(json_object_get(ev, "seq")));
    provenance(f, role, vigil__export_str(ev, "time"), vigil__export_str(ev, "actor"), "author",
               "1.2.840.10065.1.12.1.1", "Author's Signature", text, NULL);
  }
}

/* ---- Patient and AllergyIntolerance (docs/hl7.md) ------------------------------------------------ */

/* The patient's record as vigil held it at the visit's last event (so
 * exporting again gives the same bytes): the last patient.recorded or
 * patient.merged, whose allergies are the record's, those vigil kept that the
 * message left out included (core/host/plugin_host.c, docs/safety.md Q6, S4). */
typedef struct record_find {
  vigil_engine *e;
  const char *patient;
  uint64_t until;
  json_t *data; /* the last patient.recorded or patient.merged data of the patient */
} record_find;

static int find_record(void *ud, const vigil_event *ev) {
  record_find *rf = ud;
  if (vigil_event_seq(ev) > rf->until) return 1;
  const char *type = vigil_event_type(ev);
  if (strcmp(type, "patient.recorded") && strcmp(type, "patient.merged")) return 0;
  char *text = vigil_event_json(rf->e, ev);
  json_t *j = text ? json_loads(text, 0, NULL) : NULL;
  vigil_free(text);
  json_t *d = json_object_get(j, "data");
  if (!strcmp(vigil__export_str(d, "patient"), rf->patient)) {
    json_decref(rf->data);
    rf->data = json_incref(d);
  }
  json_decref(j);
  return 0;
}

static const char *gender(const char *sex) {
  return !strcmp(sex, "F")                        ? "female"
         : !strcmp(sex, "M")                      ? "male"
         : !strcmp(sex, "O") || !strcmp(sex, "A") ? "other"
                                                  : "unknown";
}

/* The patient's record (the data of its last patient.recorded or
 * patient.merged up to the visit's last event), or NULL: read from the
 * engine, so on the loop. */
static json_t *patient_record(vigil_engine *e, const visit_record *r) {
  json_t *events = r->events;
  record_find rf = {.e = e,
                    .patient = vigil__export_str(r->visit, "patient"),
                    .until = (uint64_t)json_integer_value(
                        json_object_get(json_array_get(events, json_array_size(events) - 1), "seq"))};
  vigil_engine_events(e, 0, find_record, &rf);
  return rf.data;
}

/* Patient and AllergyIntolerance of the patient's record data (NULL: none). */
static void patient_resources(fhir *f, json_t *data, const char *patient) {
  if (!data) return;
  json_t *ids = json_pack("[{s:s, s:s}]", "system", VIGIL_PATIENT, "value", patient);
  size_t i;
  json_t *id;
  json_array_foreach(json_object_get(data, "identifiers"), i, id) {
    const char *auth = vigil__export_str(id, "authority"), *type = vigil__export_str(id, "type");
    char system[300];
    snprintf(system, sizeof system, "urn:vigil:hl7:assigning-authority:%s", *auth ? auth : "unknown");
    json_t *one = json_pack("{s:s, s:s}", "system", system, "value", vigil__export_str(id, "value"));
    if (*type) json_object_set_new(one, "type", concept(coding(V2_0203, type, NULL), NULL));
    json_array_append_new(ids, one);
  }
  json_t *pat = json_pack("{s:s, s:o}", "resourceType", "Patient", "identifier", ids);
  json_t *name = json_object_get(data, "name");
  if (name) {
    json_t *n = json_object(), *given = json_array();
    if (*vigil__export_str(name, "family"))
      json_object_set_new(n, "family", json_string(vigil__export_str(name, "family")));
    if (*vigil__export_str(name, "given")) json_array_append_new(given, json_string(vigil__export_str(name, "given")));
    if (*vigil__export_str(name, "middle"))
      json_array_append_new(given, json_string(vigil__export_str(name, "middle")));
    if (json_array_size(given))
      json_object_set_new(n, "given", given);
    else
      json_decref(given);
    json_object_set_new(pat, "name", json_pack("[o]", n));
  }
  if (*vigil__export_str(data, "sex"))
    json_object_set_new(pat, "gender", json_string(gender(vigil__export_str(data, "sex"))));
  if (*vigil__export_str(data, "birth_date"))
    json_object_set_new(pat, "birthDate", json_string(vigil__export_str(data, "birth_date")));
  /* Named by the patient and the record's event, not by the visit: every
   * visit's Bundle names the same Patient for the same record. */
  char seed[512];
  snprintf(seed, sizeof seed, "%s\n%s", patient, vigil__export_str(json_object_get(data, "source"), "control_id"));
  add_in(f, seed, "patient", pat, NULL);
  json_t *a;
  json_array_foreach(json_object_get(data, "allergies"), i, a) {
    const char *type = vigil__export_str(a, "type"), *sev = vigil__export_str(a, "severity");
    const char *code = vigil__export_str(a, "code"), *system = vigil__export_str(a, "system");
    char sys[300];
    snprintf(sys, sizeof sys, "urn:vigil:hl7:coding-system:%s", *system ? system : "unknown");
    json_t *ai =
        json_pack("{s:s, s:o, s:o}", "resourceType", "AllergyIntolerance", "clinicalStatus",
                  concept(coding(ALLERGY_CLINICAL, "active", "Active"), NULL), "patient", json_deep_copy(f->subject));
    json_t *c = json_object();
    if (*code) json_object_set_new(c, "coding", json_pack("[o]", coding(sys, code, vigil__export_str(a, "text"))));
    if (*vigil__export_str(a, "text")) json_object_set_new(c, "text", json_string(vigil__export_str(a, "text")));
    json_object_set_new(ai, "code", c);
    const char *category = !strcmp(type, "DA") || !strcmp(type, "MA")   ? "medication"
                           : !strcmp(type, "FA")                        ? "food"
                           : !strcmp(type, "EA") || !strcmp(type, "PA") ? "environment"
                                                                        : NULL;
    if (category) json_object_set_new(ai, "category", json_pack("[s]", category));
    if (!strcmp(sev, "SV") || !strcmp(sev, "MO") || !strcmp(sev, "MI") || !strcmp(sev, "U"))
      json_object_set_new(ai, "criticality",
                          json_string(!strcmp(sev, "SV")  ? "high"
                                      : !strcmp(sev, "U") ? "unable-to-assess"
                                                          : "low"));
    json_t *reactions = json_object_get(a, "reactions");
    if (json_array_size(reactions)) {
      json_t *man = json_array(), *r;
      size_t k;
      json_array_foreach(reactions, k, r) { json_array_append_new(man, json_pack("{s:O}", "text", r)); }
      json_object_set_new(ai, "reaction", json_pack("[{s:o}]", "manifestation", man));
    }
    /* S4 (docs/safety.md): an allergy a later message left out, kept by vigil.
     * Still active and unverified either way (refuted would say a clinician
     * disproved it); the note says which message left it out. */
    const char *removed_by = vigil__export_str(a, "removed_by");
    if (*removed_by) {
      char note[400];
      snprintf(note, sizeof note,
               "The hospital's message %.200s left this allergy out of its list; vigil keeps it until a clinician "
               "confirms the removal.",
               removed_by);
      json_object_set_new(ai, "note", json_pack("[{s:s}]", "text", note));
    }
    char role[32];
    snprintf(role, sizeof role, "allergy:%zu", i);
    add_in(f, seed, role, ai, NULL);
  }
}

/* ---- the Bundle ------------------------------------------------------------------------------------ */

struct fhir_snapshot {
  uint64_t visit;
  visit_record r;
  json_t *patient;      /* the patient's record (patient_record), or NULL */
  uint64_t patient_seq; /* read from rows (vigil__export_fhir_snapshot_row): its event's seq */
};

/* The visit's record (head: its state and protocol alone, else its events
 * and the patient's record too) in a new snapshot. */
static int snapshot_new(vigil_engine *e, uint64_t visit, int head, fhir_snapshot **out, char *err, size_t errlen) {
  *out = NULL;
  fhir_snapshot *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return VIGIL_ENOMEM;
  }
  int rc = head ? vigil__visit_record_load_head(e, visit, &s->r, err, errlen)
                : vigil__visit_record_load(e, visit, &s->r, err, errlen);
  if (rc < 0) {
    free(s);
    return rc;
  }
  s->visit = visit;
  if (!head) s->patient = patient_record(e, &s->r);
  *out = s;
  return 0;
}

int vigil__export_fhir_snapshot(vigil_engine *e, uint64_t visit, fhir_snapshot **out, char *err, size_t errlen) {
  return snapshot_new(e, visit, 0, out, err, errlen);
}

int vigil__export_fhir_snapshot_head(vigil_engine *e, uint64_t visit, fhir_snapshot **out, uint64_t *upto, char *err,
                                     size_t errlen) {
  *upto = vigil_query_last_seq(e);
  return snapshot_new(e, visit, 1, out, err, errlen);
}

/* As patient_record's find_record: the patient's last record up to the
 * visit's last event, its rows read after the visit's. */
int vigil__export_fhir_snapshot_row(fhir_snapshot *s, uint64_t seq, const char *json, size_t len) {
  json_t *ev = json_loadb(json, len, 0, NULL);
  if (!ev) return VIGIL_EIO;
  if ((uint64_t)json_integer_value(json_object_get(ev, "visit")) == s->visit)
    return json_array_append_new(s->r.events, ev) < 0 ? VIGIL_ENOMEM : 0;
  json_t *events = s->r.events, *d = json_object_get(ev, "data");
  uint64_t until =
      (uint64_t)json_integer_value(json_object_get(json_array_get(events, json_array_size(events) - 1), "seq"));
  const char *type = vigil__export_str(ev, "type");
  if (seq <= until && seq > s->patient_seq && (!strcmp(type, "patient.recorded") || !strcmp(type, "patient.merged")) &&
      !strcmp(vigil__export_str(d, "patient"), vigil__export_str(s->r.visit, "patient"))) {
    json_decref(s->patient);
    s->patient = json_incref(d);
    s->patient_seq = seq;
  }
  json_decref(ev);
  return 0;
}

uint64_t vigil__export_fhir_snapshot_visit(const fhir_snapshot *s) { return s->visit; }

void vigil__export_fhir_snapshot_free(fhir_snapshot *s) {
  if (!s) return;
  json_decref(s->patient);
  vigil__visit_record_free(&s->r);
  free(s);
}

int vigil__export_fhir(vigil_engine *e, uint64_t visit, char **out, char *err, size_t errlen) {
  fhir_snapshot *s;
  *out = NULL;
  int rc = vigil__export_fhir_snapshot(e, visit, &s, err, errlen);
  if (rc < 0) return rc;
  rc = vigil__export_fhir_build(s, out, err, errlen);
  vigil__export_fhir_snapshot_free(s);
  return rc;
}

int vigil__export_fhir_build(const fhir_snapshot *s, char **out, char *err, size_t errlen) {
  *out = NULL;
  if (sodium_init() < 0) {
    snprintf(err, errlen, "libsodium could not start");
    return VIGIL_ENOMEM;
  }
  const visit_record *rp = &s->r;
  uint64_t visit = s->visit;
  const char *patient = vigil__export_str(rp->visit, "patient");
  fhir f = {.r = rp, .entries = json_array(), .recordings = fold_entries(rp)};
  f.subject =
      json_pack("{s:{s:s, s:s}, s:s}", "identifier", "system", VIGIL_PATIENT, "value", patient, "display", patient);
  /* The visit.started event: its sequence number, time, actor, protocol
   * fingerprint, patient and params tell this visit from any other. */
  f.seed = json_dumps(json_array_get(rp->events, 0), JSON_COMPACT | JSON_SORT_KEYS);
  if (!f.seed) {
    json_decref(f.entries);
    json_decref(f.subject);
    json_decref(f.recordings);
    snprintf(err, errlen, "the visit's start could not be read");
    return VIGIL_EIO;
  }

  questionnaire(&f);
  patient_resources(&f, s->patient, patient);
  response(&f);
  observations(&f);
  detected_issues(&f);
  provenances(&f);

  char bundle_url[64], bundle_id[40], visit_id[32];
  uuid_of(f.seed, "bundle", bundle_url, bundle_id);
  snprintf(visit_id, sizeof visit_id, "%llu", (unsigned long long)visit);
  json_t *bundle = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:o}", "resourceType", "Bundle", "id", bundle_id,
                             "identifier", "system", VIGIL_VISIT, "value", visit_id, "type", "collection", "timestamp",
                             last_event_time(rp), "entry", f.entries);
  *out = bundle ? json_dumps(bundle, JSON_COMPACT) : NULL;
  json_decref(bundle);
  json_decref(f.subject);
  json_decref(f.recordings);
  free(f.seed);
  if (!*out) {
    snprintf(err, errlen, "out of memory");
    return VIGIL_ENOMEM;
  }
  return 0;
}
