/* authority.h: one patient number from two registration systems is two
 * patients (docs/hl7.md H3). vigil keys a patient by the number alone
 * (PID-3.1: what visits, courses and the workstation name), so a message
 * whose number vigil already keeps a record of from another assigning
 * authority (PID-3.4) is refused, never applied over that record. */
#ifndef VIGIL_HL7_AUTHORITY_H
#define VIGIL_HL7_AUTHORITY_H

#include <jansson.h>

#include "adt.h"

/* The assigning authority of the identifier that gave record its patient
 * key ("" for one without an authority), or NULL when the record cannot
 * tell (it names no such identifier: a merged-away reference vigil had no
 * record of). A record kept before patient_authority was recorded is read
 * by the rule that keyed it: its first MR identifier of that value, else
 * its first of that value. */
const char *vigil__hl7_record_authority(json_t *record);

/* Whether r's patient (and an A40's prior patient) is of another authority
 * than the record records holds under that key: then r is refused (AE 204
 * at PID-3 or MRG-1, r says why) and 1 is returned. own_authority: the
 * clinic's own (plugins.hl7.authority; NULL or "": none), which an
 * identifier without an authority is read as. */
int vigil__hl7_authority_refused(json_t *records, const char *own_authority, adt_result *r);

#endif
