/* vitals.h: the one table of the vital signs vigil's alarms name to an alarm
 * manager, as IEEE 11073-10101 (MDC) codes (vitals.c; J4 of docs/hl7.md). */
#ifndef VIGIL_HL7_VITALS_H
#define VIGIL_HL7_VITALS_H

typedef struct hl7_vital {
  const char *field;    /* the protocol's vitals field ("spo2") */
  const char *code;     /* its MDC observation, CWE "150456^MDC_PULS_OXIM_SAT_O2^MDC" */
  const char *ucum;     /* the UCUM unit the protocol declares for it ("%") */
  const char *mdc_unit; /* that unit in MDC, CWE "262688^MDC_DIM_PERCENT^MDC" */
} hl7_vital;

/* The vital of a vitals field, or NULL when the table has none. */
const hl7_vital *vigil__hl7_vital(const char *field);

#endif
