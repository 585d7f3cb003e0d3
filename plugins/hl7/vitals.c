/* vitals.c: vitals.h. The codes are ISO/IEEE 11073-10101's (partition 2,
 * SCADA; units partition 4, dimensions), as IHE PCD-01 and PCD-04 messages of
 * monitors send them; the UCUM units are those vigil.lua's VITALS declares,
 * so that a protocol that declares another unit for a field is not sent under
 * this MDC unit (r40.c sends its UCUM unit then). */
#include "vitals.h"

#include <string.h>

static const hl7_vital VITALS[] = {
    {"sbp", "150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "mm[Hg]", "266016^MDC_DIM_MMHG^MDC"},
    {"dbp", "150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "mm[Hg]", "266016^MDC_DIM_MMHG^MDC"},
    {"hr", "147842^MDC_ECG_HEART_RATE^MDC", "/min", "264864^MDC_DIM_BEAT_PER_MIN^MDC"},
    {"spo2", "150456^MDC_PULS_OXIM_SAT_O2^MDC", "%", "262688^MDC_DIM_PERCENT^MDC"},
    {"rr", "151562^MDC_RESP_RATE^MDC", "/min", "264928^MDC_DIM_RESP_PER_MIN^MDC"},
    {"temp", "150344^MDC_TEMP^MDC", "Cel", "268192^MDC_DIM_DEGC^MDC"},
};

const hl7_vital *vigil__hl7_vital(const char *field) {
  for (size_t i = 0; field && i < sizeof VITALS / sizeof *VITALS; i++)
    if (!strcmp(VITALS[i].field, field)) return &VITALS[i];
  return NULL;
}
