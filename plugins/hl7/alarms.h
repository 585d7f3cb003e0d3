/* alarms.h: alarms out, vigil as an IHE PCD ACM Alert Reporter (PCD-04
 * ORU^R40 over MLLP to the site's alarm manager; docs/hl7.md). */
#ifndef VIGIL_HL7_ALARMS_H
#define VIGIL_HL7_ALARMS_H

#include <jansson.h>

#include "vigil/plugin.h"

typedef struct alarms alarms;

/* Reads settings (the plugin's "alarms" object), subscribes, and starts
 * sending from its cursor. Only during init. 0, or a negative code with a
 * sentence in *err (malloc'd). On failure a is NULL and nothing is left. */
int vigil__hl7_alarms_start(vigil_plugin *p, const vigil_api *api, json_t *settings, alarms **a, char **err);
/* Closes its handles; its memory goes when they are closed. */
void vigil__hl7_alarms_close(alarms *a);
/* Its part of the plugin's status (a new reference). */
json_t *vigil__hl7_alarms_status(alarms *a);

#endif
