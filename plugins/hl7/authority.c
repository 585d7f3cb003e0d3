/* authority.c: a patient key's assigning authority, checked against the
 * record vigil keeps under that key (authority.h; docs/hl7.md H3). */
#include "authority.h"

#include <stdio.h>
#include <string.h>

const char *vigil__hl7_record_authority(json_t *record) {
  json_t *kept = json_object_get(record, "patient_authority");
  if (json_is_string(kept)) return json_string_value(kept);
  const char *patient = json_string_value(json_object_get(record, "patient"));
  json_t *ids = json_object_get(record, "identifiers"), *id, *first = NULL;
  size_t i;
  if (!patient) return NULL;
  json_array_foreach(ids, i, id) {
    const char *v = json_string_value(json_object_get(id, "value"));
    const char *type = json_string_value(json_object_get(id, "type"));
    if (!v || strcmp(v, patient)) continue;
    if (type && !strcmp(type, "MR")) {
      first = id;
      break;
    }
    if (!first) first = id;
  }
  if (!first) return NULL;
  const char *auth = json_string_value(json_object_get(first, "authority"));
  return auth ? auth : "";
}

/* Whether authorities a and b differ, one without an authority read as the
 * clinic's own when it has named one. */
static int differ(const char *own, const char *a, const char *b) {
  if (own && *own) {
    a = *a ? a : own;
    b = *b ? b : own;
  }
  return strcmp(a, b) != 0;
}

static const char *shown(const char *auth) { return *auth ? auth : "(none)"; }

/* r refused: AE 204 at where, for who (the patient, the prior patient)
 * number of authority auth where vigil's is of had. */
static int refuse(adt_result *r, const char *where, const char *who, const char *field, const char *number,
                  const char *auth, const char *had, const char *not_done) {
  snprintf(r->ack, sizeof r->ack, "AE");
  r->err_code = 204;
  snprintf(r->err_where, sizeof r->err_where, "%s", where);
  if (snprintf(r->err_text, sizeof r->err_text,
               "%s %s of the assigning authority %s (%s) is not vigil's patient %s, who is of %s: one number from two "
               "registration systems is two patients; not %s",
               who, number, shown(auth), field, number, shown(had), not_done) >= (int)sizeof r->err_text)
    r->err_text[sizeof r->err_text - 2] = '.'; /* cut */
  return 1;
}

int vigil__hl7_authority_refused(json_t *records, const char *own_authority, adt_result *r) {
  json_t *rec = json_object_get(records, r->patient);
  const char *had = rec ? vigil__hl7_record_authority(rec) : NULL;
  if (had && differ(own_authority, had, r->authority))
    return refuse(r, "PID^1^3", "patient", "PID-3.4", r->patient, r->authority, had, "recorded");
  if (!r->type || strcmp(r->type, "patient.merged")) return 0;
  json_t *fields = json_loads(r->fields_json, 0, NULL);
  const char *from = json_string_value(json_object_get(fields, "merged_from"));
  rec = from ? json_object_get(records, from) : NULL;
  had = rec ? vigil__hl7_record_authority(rec) : NULL;
  int refused = had && differ(own_authority, had, r->merged_authority) &&
                refuse(r, "MRG^1^1", "prior patient", "MRG-1.4", from, r->merged_authority, had, "merged");
  json_decref(fields);
  return refused;
}
