/* patient_record.c: the patient's hospital record where it matters to safety
 * (docs/safety.md L7, L8).
 *
 * L7: an allergy on the record (patient.recorded, the hl7 plugin's ADT feed)
 * whose substance names the drug the visit's protocol gives (its `drug`:
 * names and codes, protocol data) is a high, carried alert on the visit,
 * raised when the visit starts, or when a record arrives while the visit is
 * open. It holds the phase (H12) until a clinician acknowledges it with a
 * reason, as every carried alert does.
 *
 * L8: a reference the record says was merged into another takes no new
 * visit; the references a merge joined are one patient for the one open
 * visit of a course (G9). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patient_record.h"
#include "model.h"
#include "alerts.h"
#include "clock.h"
#include "course.h"
#include "fail.h"
#include "base/intern.h"
#include "base/utf8.h"

#define ALLERGY_RULE "patient.allergy"

json_t *vigil__patient_record(vigil_engine *e, const char *patient) {
  void *value = NULL;
  size_t len = 0;
  char err[256];
  if (!patient || !*patient || !e->store || !e->store->ops->kv_get) return NULL;
  if (e->store->ops->kv_get(e->store, "patients", patient, &value, &len, err, sizeof err) < 0) return NULL;
  json_t *j = json_loadb(value, len, 0, NULL);
  free(value);
  if (j && !json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* ---- N3: a record under another spelling -------------------------------- */

typedef struct alike_scan {
  const char *patient;
  int keyed; /* folded and skeleton made: at the first record, not for a store without any (issue 16) */
  char *folded, *skeleton;
  char *found;
} alike_scan;

/* Whether key is spelled like the folded and skeleton keys given. */
static int keys_alike(const char *key, const char *folded, const char *skeleton) {
  char *f = folded ? vigil__unicode_id_fold(key) : NULL, *k = skeleton ? vigil__unicode_id_skeleton(key) : NULL;
  int same = (f && !strcmp(f, folded)) || (k && !strcmp(k, skeleton));
  free(f);
  free(k);
  return same;
}

/* Whether a and b are one reference spelled alike (equal, or the same fold or skeleton). */
static int spelled_alike(const char *a, const char *b) {
  if (!strcmp(a, b)) return 1;
  char *f = vigil__unicode_id_fold(b), *k = vigil__unicode_id_skeleton(b);
  int same = keys_alike(a, f, k);
  free(f);
  free(k);
  return same;
}

static int alike_record(void *ud, const char *key, const void *value, size_t len) {
  (void)value, (void)len;
  alike_scan *s = ud;
  if (!strcmp(key, s->patient)) return 0;
  if (!s->keyed) {
    s->keyed = 1;
    s->folded = vigil__unicode_id_fold(s->patient);
    s->skeleton = vigil__unicode_id_skeleton(s->patient);
  }
  if (!keys_alike(key, s->folded, s->skeleton)) return 0;
  s->found = strdup(key);
  return 1;
}

char *vigil__patient_record_alike(vigil_engine *e, const char *patient) {
  if (!patient || !*patient || !e->store || !e->store->ops->kv_scan) return NULL;
  alike_scan s = {.patient = patient};
  char err[256];
  e->store->ops->kv_scan(e->store, "patients", alike_record, &s, err, sizeof err);
  free(s.folded);
  free(s.skeleton);
  return s.found;
}

/* A hospital's record is the patient's whatever the case or look-alike
 * characters a start spells its reference with (the survivor of a merge as
 * mg-b for MG-B): its merges, its allergies. */
json_t *vigil__patient_record_found(vigil_engine *e, const char *patient, char **alike) {
  json_t *j = vigil__patient_record(e, patient);
  char *other = !j || alike ? vigil__patient_record_alike(e, patient) : NULL;
  if (!j && other) j = vigil__patient_record(e, other);
  if (alike)
    *alike = other;
  else
    free(other);
  return j;
}

/* Whether hay holds needle, both folded with the marks off their letters
 * (Kétamine holds ketamine, KETAMIN holds ketamin: N4). */
static int names_word(const char *hay, const char *needle) {
  char *h = vigil__unicode_fold_bare(hay), *n = vigil__unicode_fold_bare(needle);
  int in = h && n && *n && strstr(h, n);
  free(h);
  free(n);
  return in;
}

/* The drug name or code of p that allergy names, or NULL. */
static const char *names_drug(const protocol *p, const json_t *allergy) {
  const char *code = json_string_value(json_object_get(allergy, "code"));
  const char *text = json_string_value(json_object_get(allergy, "text"));
  for (uint32_t i = 0; code && i < p->n_drug_codes; i++)
    if (vigil__unicode_same_bare(code, p->drug_codes[i])) return p->drug_codes[i];
  for (uint32_t i = 0; i < p->n_drug_names; i++)
    if ((text && names_word(text, p->drug_names[i])) || (code && names_word(code, p->drug_names[i])))
      return p->drug_names[i];
  return NULL;
}

static const char *severity_word(const char *s) {
  if (!s) return NULL;
  return !strcmp(s, "SV") ? "severe" : !strcmp(s, "MO") ? "moderate" : !strcmp(s, "MI") ? "mild" : "severity unknown";
}

/* Raises the allergy's alert on v unless the visit had it already (open or
 * acknowledged: a record sent again does not raise it twice). */
static int raise_one(vigil_engine *e, visit *v, const char *patient, const json_t *allergy, const char *drug) {
  const char *code = json_string_value(json_object_get(allergy, "code"));
  const char *text = json_string_value(json_object_get(allergy, "text"));
  const char *sys = json_string_value(json_object_get(allergy, "system"));
  if (sys && (!strcmp(sys, "L") || !strncmp(sys, "99", 2))) sys = NULL; /* a local code: HL7's L, 99zzz */
  char coded[300] = ""; /* a code says its system (RxNorm 6130, not 6130 alone: N4) */
  if (code) snprintf(coded, sizeof coded, "%s%s%s", sys && *sys ? sys : "", sys && *sys ? " " : "", code);
  char key[300];
  snprintf(key, sizeof key, ALLERGY_RULE "/%.250s", code && *code ? code : text ? text : "");
  const char *k = vigil__intern(key), *rule = vigil__intern(ALLERGY_RULE);
  if (!k || !rule) return VIGIL_ENOMEM;
  for (uint32_t i = 0; i < v->n_alerts; i++)
    if (v->alerts[i]->key == k) return 0;
  char reactions[400] = "";
  size_t used = 0;
  const json_t *list = json_object_get(allergy, "reactions"), *r;
  size_t i;
  json_array_foreach(list, i, r) {
    if (!json_is_string(r) || used >= sizeof reactions) continue;
    used += (size_t)snprintf(reactions + used, sizeof reactions - used, "%s%s", i ? ", " : "", json_string_value(r));
  }
  const char *sev = severity_word(json_string_value(json_object_get(allergy, "severity")));
  /* S4: an allergy a later message left out is kept on the record (core/host/plugin_host.c); the alert says so. */
  const char *removed_by = json_string_value(json_object_get(allergy, "removed_by"));
  char removed[400] = "";
  if (removed_by)
    snprintf(removed, sizeof removed,
             " The hospital's message %.200s left it out of the allergy list; vigil keeps it until a clinician "
             "confirms the removal.",
             removed_by);
  char msg[1600];
  snprintf(msg, sizeof msg,
           "Allergy on the hospital record of patient %s: %s%s%s%s%s%s%s%s.%s %s gives %s: a clinician acknowledges "
           "this alert with a reason before the visit goes on.",
           patient, text ? text : coded, text && code ? " (" : "", text && code ? coded : "", text && code ? ")" : "",
           sev ? ", " : "", sev ? sev : "", *reactions ? ", reaction: " : "", reactions, removed, v->p->id, drug);
  alert_more more = {.carry = 1};
  if (!vigil__raise_alert(e, v, SRC_RULE, rule, k, PRIORITY_HIGH, msg, 1, v->p->escalate, -1, &more))
    return VIGIL_ENOMEM;
  return 0;
}

/* Every allergy of record that names v's drug, raised on v. */
static int check_record(vigil_engine *e, visit *v, const json_t *record) {
  if (!record || (!v->p->n_drug_names && !v->p->n_drug_codes)) return 0;
  const char *patient = json_string_value(json_object_get(record, "patient"));
  const json_t *a;
  size_t i;
  json_array_foreach(json_object_get(record, "allergies"), i, a) {
    const char *drug = json_is_object(a) ? names_drug(v->p, a) : NULL;
    int rc = drug ? raise_one(e, v, patient ? patient : v->patient, a, drug) : 0;
    if (rc < 0) return rc;
  }
  return 0;
}

int vigil__allergy_visit_start(vigil_engine *e, visit *v, const json_t *record) {
  if (!v->p->n_drug_names && !v->p->n_drug_codes) return 0;
  int rc = check_record(e, v, record);
  /* The records of the references merged into it (L8): one patient. */
  const json_t *from;
  size_t i;
  json_array_foreach(json_object_get(record, "merged_from"), i, from) {
    if (rc < 0 || !json_is_string(from)) continue;
    json_t *prior = vigil__patient_record(e, json_string_value(from));
    rc = check_record(e, v, prior);
    json_decref(prior);
  }
  return rc;
}

int vigil__allergy_recorded(vigil_engine *e, const char *fields_json) {
  json_t *record = fields_json ? json_loads(fields_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
  const char *patient = json_string_value(json_object_get(record, "patient"));
  const char *from = json_string_value(json_object_get(record, "merged_from"));
  int rc = 0;
  for (uint64_t i = 0; patient && rc == 0 && i < e->n_visits; i++) {
    visit *v = e->visits[i];
    if (!v || v->status != VISIT_ACTIVE || !v->patient) continue;
    /* The visit of a reference spelled like the record's (h-5 for H-5: N3). */
    if (!spelled_alike(v->patient, patient) && !(from && spelled_alike(v->patient, from))) continue;
    rc = check_record(e, v, record);
  }
  json_decref(record);
  return rc;
}

/* ---- L8: merged references ---------------------------------------------- */

int vigil__patient_merged_into(vigil_engine *e, const char *patient, const json_t *record) {
  const char *into = json_string_value(json_object_get(record, "merged_into"));
  int rc = 0;
  if (into)
    rc = vigil__engine_fail(e, VIGIL_EEXIST, "merged_into",
                            "patient %s was merged into patient %s by the hospital (HL7 A40): start the visit for %s",
                            patient, into, into);
  return rc;
}

int vigil__patient_merged_check_start(vigil_engine *e, const protocol *p, const char *patient, const json_t *record,
                                      const char *override_reason, uint64_t *concurrent) {
  const json_t *from;
  size_t i;
  int rc = 0;
  json_array_foreach(json_object_get(record, "merged_from"), i, from) {
    if (rc < 0 || *concurrent || !json_is_string(from)) continue;
    /* The one open visit of a course (G9), with the merged reference's
     * visits and sessions: they are the same patient's. */
    rc = vigil__course_check_start(e, p, json_string_value(from), override_reason, concurrent);
    if (rc < 0 && !strncmp(e->errmsg, "patient ", 8)) {
      char msg[sizeof e->errmsg + 256];
      snprintf(msg, sizeof msg, "%s (patient %s was merged into %s by the hospital: one patient)", e->errmsg,
               json_string_value(from), patient);
      rc = vigil__engine_fail(e, rc, "patient", "%s", msg);
    }
  }
  return rc;
}

int vigil__patient_merged_gate(vigil_engine *e, visit *v, char *text, size_t len) {
  uint32_t n;
  course *c = v->phase == 0 ? vigil__course_of_visit(e, v->id, &n) : NULL;
  if (!c || !c->p->course) return 0;
  json_t *record = vigil__patient_record(e, v->patient);
  const json_t *from;
  size_t i;
  const course_session *last = NULL;
  const course *of = NULL;
  uint32_t number = 0; /* last's, 0-based */
  int64_t until = 0;
  const char *who = NULL;
  json_array_foreach(json_object_get(record, "merged_from"), i, from) {
    const char *ref = json_string_value(from);
    const char *pat = ref ? vigil__intern_find(ref, strlen(ref)) : NULL;
    for (uint64_t k = 0; pat && k < e->n_courses; k++) {
      const course *o = e->courses[k];
      if (o->patient != pat || !o->p->course) continue;
      int64_t hold = o->p->course->min_interval > c->p->course->min_interval ? o->p->course->min_interval
                                                                             : c->p->course->min_interval;
      for (uint32_t s = 0; s < o->n_sessions; s++) {
        const course_session *x = &o->sessions[s];
        if (x->ended != SESSION_COMPLETED || hold <= 0 || x->at + hold <= until) continue;
        last = x, of = o, number = s, until = x->at + hold, who = o->patient;
      }
    }
  }
  int64_t now = vigil__engine_now(e);
  int held = last && now < until;
  if (held) {
    buf b;
    vigil__buf_init(&b);
    vigil__buf_iso_time(&b, until);
    char this_one[64], that_one[64]; /* in the one numbering (docs/safety.md C13) */
    vigil__course_session_words(c, n, this_one, sizeof this_one);
    vigil__course_session_words(of, number, that_one, sizeof that_one);
    char span[40], interval[40];
    vigil__course_span_words(now - last->at, span, sizeof span);
    vigil__course_interval_words(until - last->at, interval, sizeof interval);
    snprintf(text, len,
             "%s comes %s after %s of course %llu (visit %llu) of patient %s, merged into %s "
             "by the hospital (one patient), and the minimum interval is %s: it holds until %s, or a clinician "
             "overrides with a reason",
             this_one, span, that_one, (unsigned long long)of->id, (unsigned long long)last->visit, who, v->patient,
             interval, b.p ? b.p : "?");
    vigil__buf_free(&b);
  }
  json_decref(record);
  return held;
}
