/* msh.c: the MSH of what vigil sends (msh.h). Both the alarm reports and the
 * readings ask for the receiver's accept acknowledgement (AL) and no
 * application acknowledgement (NE): original-mode ACKs on one connection. */
#include "msh.h"

#include <string.h>

void vigil__hl7_msh(hl7_out *o, const char *app, const char *facility, const char *to_app, const char *to_facility,
                    const char *now, const char *type, const char *control_id, const char *version, const char *tail) {
  vigil__hl7_out_raw(o, "MSH|^~\\&", 8);
  vigil__hl7_out_field(o, app);
  vigil__hl7_out_field(o, facility);
  vigil__hl7_out_field(o, to_app);
  vigil__hl7_out_field(o, to_facility);
  vigil__hl7_out_field(o, now);
  vigil__hl7_out_raw(o, "||", 2);
  vigil__hl7_out_raw(o, type, strlen(type));
  vigil__hl7_out_field(o, control_id);
  vigil__hl7_out_raw(o, "|P|", 3);
  vigil__hl7_out_raw(o, version, strlen(version));
  vigil__hl7_out_raw(o, "|||AL|NE||UNICODE UTF-8", 23);
  vigil__hl7_out_raw(o, tail, strlen(tail));
  vigil__hl7_out_end(o);
}
