/* msh.h: the MSH segment of the messages vigil sends on its own (an alarm
 * report, a reading for an EHR), as opposed to its ACKs (adt.c). */
#ifndef VIGIL_HL7_MSH_H
#define VIGIL_HL7_MSH_H

#include "hl7.h"

/* MSH with the default delimiters: app, facility (MSH-3, MSH-4), to_app,
 * to_facility (MSH-5, MSH-6), now (MSH-7), type (MSH-9, written as given:
 * "ORU^R40^ORU_R40"), control_id (MSH-10), then MSH-11 `P`, version
 * (MSH-12), MSH-15 `AL`, MSH-16 `NE`, MSH-18 `UNICODE UTF-8` and tail (the
 * fields after MSH-18 as written, "" for none), and the segment's end. */
void vigil__hl7_msh(hl7_out *o, const char *app, const char *facility, const char *to_app, const char *to_facility,
                    const char *now, const char *type, const char *control_id, const char *version, const char *tail);

#endif
