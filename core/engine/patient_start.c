/* patient_start.c: the patient checks of a start. One implementation for a
 * visit's start and a course's (docs/security.md AA1: a course start that
 * skipped them let a look-alike reference begin a second record of one
 * person, whose visits then matched it exactly). */
#include <stdlib.h>
#include <string.h>

#include "patient_start.h"
#include "fail.h"
#include "patient_index.h"
#include "patient_record.h"
#include "base/utf8.h"

/* The checks, given patient's record (found) and the reference of another
 * record spelled like it (record_like, asked unless new_patient). */
static int checks(vigil_engine *e, const char *patient, int new_patient, const json_t *found, const char *record_like) {
  /* A reference the hospital merged into another is that one (L8). */
  int rc = vigil__patient_merged_into(e, patient, found);
  if (rc < 0) return rc;

  /* A reference spelled like an existing patient's is that patient, unless
   * the start says it is a new one (docs/safety.md K2). */
  const char *like = vigil__patients_similar(e, patient);
  if (like && !new_patient) {
    /* What matched (X3): the fold (case, width, dashes) or only the look. */
    char *a = vigil__unicode_id_fold(patient), *b = vigil__unicode_id_fold(like);
    int folded = a && b && !strcmp(a, b);
    free(a);
    free(b);
    return vigil__engine_fail(e, VIGIL_EEXIST, "new_patient",
                              "patient %s is spelled like existing patient %s (%s): start the visit for %s, or say "
                              "new_patient: true if this is another patient",
                              patient, like,
                              folded ? "the same but for letter case, width, dashes or spaces"
                                     : "they look alike: letters or digits of other scripts, small capitals, "
                                       "accents or marks",
                              like);
  }
  /* ... or like a hospital record's (N3). */
  if (!like && record_like)
    return vigil__engine_fail(e, VIGIL_EEXIST, "new_patient",
                              "patient %s is spelled like patient %s of the hospital's record (letter case aside): "
                              "start the visit for %s, or say new_patient: true if this is another patient",
                              patient, record_like, record_like);
  return 0;
}

int vigil__patient_check_start(vigil_engine *e, const char *patient, int new_patient, json_t **record) {
  /* The hospital's records are read once (issue 16: a start read them all
   * three times, a fresh statement each time, and that was half of it). */
  char *record_like = NULL;
  json_t *found = vigil__patient_record_found(e, patient, new_patient ? NULL : &record_like);
  int rc = checks(e, patient, new_patient, found, record_like);
  free(record_like);
  if (rc == 0 && record)
    *record = found;
  else
    json_decref(found);
  return rc;
}
