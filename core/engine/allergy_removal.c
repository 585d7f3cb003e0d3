/* allergy_removal.c: a clinician confirms for good that a kept allergy is
 * removed (docs/safety.md S4).
 *
 * A drug allergy a hospital's list left out is kept on the record, marked
 * removed_by that message (core/host/plugin_host.c), and every visit whose
 * drug it names raises its alert. A clinician who has checked (with the
 * patient, the ward) confirms the removal once: the allergy leaves the
 * record's allergies for allergies_removed, saying who confirmed it, when
 * and why, so the next visit does not raise it. The record's row and the
 * patient.recorded event that says the record as it now stands (actor the
 * clinician, removal_confirmed naming the allergy) are written in one
 * transaction, as the hospital's records are. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "clock.h"
#include "fail.h"
#include "patient_record.h"
#include "reason.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "engine/site.h"
#include "store/event.h"

/* The index in list of the allergy whose code or text is name, or -1. */
static long allergy_named(const json_t *list, const char *name) {
  const json_t *a;
  size_t i;
  json_array_foreach(list, i, a) {
    if (vigil__unicode_same_bare(name, json_string_value(json_object_get(a, "code"))) ||
        vigil__unicode_same_bare(name, json_string_value(json_object_get(a, "text"))))
      return (long)i;
  }
  return -1;
}

/* The record row and the event's data, written together. */
static int write_record(vigil_engine *e, const char *patient, const char *actor, json_t *row, json_t *removed,
                        char **record) {
  char *text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
  json_object_set(row, "removal_confirmed", removed);
  char *data = json_dumps(row, JSON_COMPACT);
  store_kv_write *writes = NULL;
  int rc = text && data ? vigil__kv_write_add(&writes, "patients", patient, text, strlen(text)) : VIGIL_ENOMEM;
  if (rc == 0)
    rc = vigil__site_event_writes(e, "patient.recorded", actor, data, writes);
  else
    vigil__kv_writes_free(writes);
  /* The row as written, for the answer: the store shows it only once the batch is committed. */
  if (rc == 0 && record) {
    *record = text;
    text = NULL;
  }
  free(text);
  free(data);
  return rc == VIGIL_ENOMEM ? vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory") : rc;
}

int vigil_patient_allergy_confirm_removal(vigil_engine *e, const char *patient, const char *actor, const char *allergy,
                                          const char *reason, char **record) {
  if (record) *record = NULL;
  if (!actor || !*actor) return vigil__engine_fail(e, VIGIL_EINVAL, "actor", "who confirms is required");
  if (!allergy || !*allergy)
    return vigil__engine_fail(e, VIGIL_EINVAL, "allergy", "the allergy (its code or text) is required");
  int rc = vigil__reason_check(e, "reason", "a confirmed removal", reason);
  if (rc < 0) return rc;
  json_t *row = vigil__patient_record(e, patient);
  if (!row)
    return vigil__engine_fail(e, VIGIL_ENOENT, "patient", "patient %s has no record from a hospital's system",
                              patient ? patient : "");
  json_t *list = json_object_get(row, "allergies");
  long at = allergy_named(list, allergy);
  json_t *a = at < 0 ? NULL : json_array_get(list, (size_t)at);
  if (!a)
    rc = vigil__engine_fail(e, VIGIL_ENOENT, "allergy", "the record of patient %s has no allergy %s", patient, allergy);
  else if (!json_string_value(json_object_get(a, "removed_by")))
    rc = vigil__engine_fail(e, VIGIL_ESTATE, "allergy",
                            "%s is on the hospital's allergy list (no message left it out): the hospital removes it",
                            allergy);
  if (rc < 0) {
    json_decref(row);
    return rc;
  }
  buf when;
  vigil__buf_init(&when);
  vigil__buf_iso_time(&when, vigil__engine_now(e));
  json_t *gone = json_deep_copy(a);
  json_object_set_new(gone, "removal_confirmed_by", json_string(actor));
  json_object_set_new(gone, "removal_confirmed_at", json_string(when.p ? when.p : ""));
  vigil__buf_free(&when);
  json_object_set_new(gone, "removal_reason", json_string(reason));
  json_array_remove(list, (size_t)at);
  json_t *done = json_object_get(row, "allergies_removed");
  if (!json_is_array(done)) {
    done = json_array();
    json_object_set_new(row, "allergies_removed", done);
  }
  json_array_append(done, gone);
  rc = gone ? write_record(e, patient, actor, row, gone, record)
            : vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory");
  json_decref(gone);
  json_decref(row);
  return rc;
}
