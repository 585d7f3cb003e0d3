/* ehr.h: vitals and scores out, each reading of a visit's vitals or scores
 * to the EHR as an HL7 v2.5.1 ORU^R01 over MLLP, at least once from the
 * event log (docs/hl7.md, "Vitals and scores out"). */
#ifndef VIGIL_HL7_EHR_H
#define VIGIL_HL7_EHR_H

#include <jansson.h>

#include "vigil/plugin.h"

typedef struct ehr ehr;

/* Reads settings (the plugin's "ehr" object), subscribes, and starts
 * sending from its cursor. Only during init. 0, or a negative code with a
 * sentence in *err (malloc'd); *e is set once it has handles to close. */
int vigil__hl7_ehr_start(vigil_plugin *p, const vigil_api *api, json_t *settings, ehr **e, char **err);
/* Closes its handles; its memory goes when they are closed. */
void vigil__hl7_ehr_close(ehr *e);
/* Its part of the plugin's status (a new reference). */
json_t *vigil__hl7_ehr_status(ehr *e);

#endif
