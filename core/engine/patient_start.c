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

int vigil__patient_check_start(vigil_engine *e, const char *patient, int new_patient) {
  /* A reference the hospital merged into another is that one (L8). */
  int rc = vigil__patient_merged_into(e, patient);
  if (rc < 0) return rc;

  /* A reference spelled like an existing patient's is that patient, unless
   * the start says it is a new one (docs/safety.md K2). */
  const char *like = vigil__patients_similar(e, patient);
  if (like && !new_patient) {
    /* What matched (X3): the fold (case, width, dashes) or only the look. */
    char *a = vigil__unicode_fold(patient), *b = vigil__unicode_fold(like);
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
  /* ... or like a hospital record's, when it has none of its own (N3). */
  char *record_like = like || new_patient ? NULL : vigil__patient_record_alike(e, patient);
  if (record_like) {
    rc = vigil__engine_fail(e, VIGIL_EEXIST, "new_patient",
                            "patient %s is spelled like patient %s of the hospital's record (letter case aside): start "
                            "the visit for %s, or say new_patient: true if this is another patient",
                            patient, record_like, record_like);
    free(record_like);
    return rc;
  }
  return 0;
}
