/* adt.h: what the hl7 plugin makes of an ADT message, and the ACK it
 * answers with (docs/hl7.md has the conformance statement). Pure functions
 * of the message: the plugin, its tests and the fuzz target share them. */
#ifndef VIGIL_HL7_ADT_H
#define VIGIL_HL7_ADT_H

#include <stddef.h>

#include "hl7.h"
#include "zone.h"

#define ADT_MAX_VALUE 200 /* bytes of one value, unescaped */

typedef struct adt_result {
  char ack[3];        /* "AA": fields_json holds the record; "AE" or "AR": refused */
  int err_code;       /* HL7 table 0357: 100 segment, 101 required field, 102 data type, 103 table value,
                         200 message type, 201 event, 203 version, 207 internal */
  char err_where[32]; /* ERR-2 as sent: "PID^1^3" */
  char err_text[300]; /* ERR-8 and MSA-3 */
  const char *type;   /* "patient.recorded" or "patient.merged" */
  char *fields_json;  /* malloc'd (free()) */
  char key[700];      /* the message's key for duplicates: "msg/" sender "/" control id */
  char patient[ADT_MAX_VALUE + 1];
  char authority[ADT_MAX_VALUE + 1];        /* the assigning authority of the PID-3 that gave patient ("": none) */
  char merged_authority[ADT_MAX_VALUE + 1]; /* an A40's: MRG-1's */
} adt_result;

/* Reads one ADT^A01/A04/A08/A40 message (docs/hl7.md). own_authority: the
 * clinic's own assigning authority (plugins.hl7.authority; NULL or "": not
 * set): the patient is then keyed by an identifier of it or of none, and a
 * message with only other authorities' is refused (H3). */
void vigil__hl7_adt_read(const hl7_msg *m, const char *own_authority, adt_result *r);
void vigil__hl7_adt_free(adt_result *r);

/* HL7's DTM, YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ], as ms since
 * the epoch in UTC (a zone offset applied; none: the sender's local time,
 * read in zone, or as UTC when zone is NULL: J1), *zoned whether it had an
 * offset. 0, or -1 when v is not one (H2). */
int vigil__hl7_dtm(const char *v, const hl7_zone *zone, long long *ms, int *zoned);

/* A message that does not parse, read leniently for its ACK: its first line
 * with its own field separator, the standard encoding characters and every
 * other delimiter made plain, so that MSA-2 can name its MSH-10. m, or NULL
 * when not even that is an MSH (vigil__hl7_free(m) after). */
hl7_msg *vigil__hl7_lenient_msh(const char *data, size_t len, hl7_msg *m);

/* The ACK to in (NULL: a message that could not be parsed), unframed and
 * malloc'd (*len bytes, NUL-terminated), or NULL when memory ran out. code:
 * "AA", "AE", "AR"; err_code 0 for no ERR segment; where may be NULL;
 * text: MSA-3 and ERR-8. app, facility: MSH-3, MSH-4; control_id: MSH-10
 * of the ACK; now: its MSH-7 (YYYYMMDDHHMMSS). */
char *vigil__hl7_ack(const hl7_msg *in, const char *code, int err_code, const char *where, const char *text,
                     const char *app, const char *facility, const char *control_id, const char *now, size_t *len);

#endif
