/* fuzz_hl7.c: libFuzzer target for the hl7 plugin's HL7 v2 codec, MLLP
 * framing and ADT reading (plugins/hl7, docs/hl7.md, docs/fuzzing.md).
 *
 * Each input is read twice: as one message, and as an MLLP byte stream
 * whose frames are each a message. Every message is parsed, every field,
 * repetition, component and subcomponent of it unescaped, read as an ADT
 * message, and answered with an ACK (or, when it does not parse, with the AR
 * the plugin sends). Besides the sanitizers, every input checks that each
 * ACK parses with our own codec, says in MSA-1 what the reading decided, and
 * names in MSA-2 the message's control id. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adt.h"
#include "authority.h"
#include "hl7.h"
#include "r01.h"
#include "r40.h"

static void must(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_hl7: %s\n", what);
    abort();
  }
}

static void check_ack(const char *ack, size_t len, const char *code, const char *control) {
  hl7_msg a;
  char err[300], v[ADT_MAX_VALUE + 1];
  must(ack != NULL, "no ACK (out of memory?)");
  must(vigil__hl7_parse(&a, ack, len, err, sizeof err) == 0, "an ACK does not parse");
  long msa = vigil__hl7_find(&a, "MSA", 0);
  must(msa == 1, "the ACK's second segment is not MSA");
  vigil__hl7_value(&a, (size_t)msa, 1, 0, 0, 0, v, sizeof v);
  must(!strcmp(v, code), "MSA-1 is not the code decided");
  vigil__hl7_value(&a, (size_t)msa, 2, 0, 0, 0, v, sizeof v);
  if (control) must(!strcmp(v, control), "MSA-2 is not the message's control id");
  vigil__hl7_value(&a, 0, 9, 0, 1, 0, v, sizeof v);
  must(!strcmp(v, "ACK"), "MSH-9 of the ACK is not ACK");
  vigil__hl7_free(&a);
}

static void one_message(const char *data, size_t len) {
  hl7_msg m;
  char err[300], v[64];
  size_t len_ack;
  if (vigil__hl7_parse(&m, data, len, err, sizeof err) < 0) {
    hl7_msg lm;
    hl7_msg *in = vigil__hl7_lenient_msh(data, len, &lm);
    char *ack = vigil__hl7_ack(in, "AR", 100, "MSH", err, "VIGIL", "", "1", "20260101000000", &len_ack);
    char control[ADT_MAX_VALUE + 1] = "";
    if (in) vigil__hl7_value(in, 0, 10, 0, 0, 0, control, sizeof control);
    check_ack(ack, len_ack, "AR", strlen(control) <= ADT_MAX_VALUE ? control : NULL);
    free(ack);
    if (in) vigil__hl7_free(in);
    return;
  }
  for (size_t s = 0; s < m.n_seg; s++)
    for (int f = 1; f <= 12; f++) {
      int reps = vigil__hl7_reps(&m, s, f);
      for (int r = 0; r < reps && r < 4; r++)
        for (int c = 0; c <= 3; c++)
          for (int sub = 0; sub <= 2; sub++)
            vigil__hl7_value(&m, s, f, r, c, sub, v, sizeof v);
    }
  adt_result r;
  vigil__hl7_adt_read(&m, NULL, &r);
  must(!strcmp(r.ack, "AA") == (r.fields_json != NULL), "an AA without a record, or a record refused");
  /* H3: read again as a clinic that names its own authority; a record it
   * takes, checked against one of that key from another authority, is refused */
  adt_result own;
  vigil__hl7_adt_read(&m, "HOSP", &own);
  must(!strcmp(own.ack, "AA") == (own.fields_json != NULL), "an AA without a record, or a record refused (HOSP)");
  json_t *records = own.fields_json
                        ? json_pack("{s:{s:s, s:s}}", own.patient, "patient", own.patient, "patient_authority", "OTHER")
                        : NULL;
  if (records)
    must(vigil__hl7_authority_refused(records, "HOSP", &own) == 1 && own.err_code == 204,
         "a patient taken over another authority's record of its number");
  json_decref(records);
  vigil__hl7_adt_free(&own);
  char control[ADT_MAX_VALUE + 2];
  size_t n = vigil__hl7_value(&m, 0, 10, 0, 0, 0, control, sizeof control);
  char *ack =
      vigil__hl7_ack(&m, r.ack, r.err_code, r.err_where, r.err_text, "VIGIL", "", "1", "20260101000000", &len_ack);
  /* MSA-2 carries the control id, escaped and read back, unless it has a
   * CR or LF (written as \X0D\, read back the same) */
  check_ack(ack, len_ack, r.ack, n <= ADT_MAX_VALUE && !strpbrk(control, "\r\n") ? control : NULL);
  free(ack);
  vigil__hl7_adt_free(&r);
  vigil__hl7_free(&m);
}

static int on_frame(void *ud, const char *msg, size_t len) {
  (void)ud;
  one_message(msg, len);
  return 0;
}

/* A message vigil built (what: "R40", "R01") from text: it parses, has at
 * least min_obx OBX, and the first one's OBX-5 reads back as text. Frees it. */
static void reads_back(char *msg, size_t len, const char *what, int min_obx, const char *text) {
  char back[ADT_MAX_VALUE + 1], err[300];
  hl7_msg m;
  must(msg != NULL, what);
  must(vigil__hl7_parse(&m, msg, len, err, sizeof err) == 0, what);
  long obx = vigil__hl7_find(&m, "OBX", 0);
  must(obx >= 0 && vigil__hl7_find(&m, "OBX", min_obx - 1) >= 0, what);
  vigil__hl7_value(&m, (size_t)obx, 5, 0, 0, 0, back, sizeof back);
  must(!strcmp(back, text), what);
  vigil__hl7_free(&m);
  free(msg);
}

/* The input up to its first NUL, 200 bytes at most. */
static void input_text(const char *data, size_t size, char text[ADT_MAX_VALUE + 1]) {
  size_t n = size < ADT_MAX_VALUE ? size : ADT_MAX_VALUE;
  memcpy(text, data, n);
  text[n] = '\0';
}

/* An alarm report whose message text and patient are the input, and one of
 * a vital sign whose field and unit are the input too. */
static void alarm_report(const char *data, size_t size) {
  char text[ADT_MAX_VALUE + 1];
  input_text(data, size, text);
  r40_alert a = {.alarm_id = "7-0badcafe",
                 .ns = "VIGIL",
                 .patient = text,
                 .location = "Chair 1",
                 .message = text,
                 .priority = "high",
                 .rule = "r",
                 .phase = "start",
                 .state = "active",
                 .inactivation = "enabled",
                 .time = "20260101000000+0000"};
  size_t len = 0;
  char *msg = vigil__hl7_r40(&a, "VIGIL", "", "AM", "", "VIGIL-1", "20260101000000+0000", &len);
  reads_back(msg, len, "an R40 that is missing, does not parse, lacks its four OBX or loses the alert's text", 4, text);
  /* J4: a vital sign's alarm whose field and unit are the input (a field
   * the MDC table does not know: sent as a local code and a UCUM unit) */
  a.obs.field = a.obs.units = text;
  a.obs.reading = 88, a.obs.has_low = 1, a.obs.low = 92;
  msg = vigil__hl7_r40(&a, "VIGIL", "", "AM", "", "VIGIL-2", "20260101000000+0000", &len);
  reads_back(msg, len, "a vital sign's R40 that is missing, does not parse, lacks its five OBX or loses the text", 5,
             text);
}

/* A vitals reading whose value, unit, code, patient, name, location and item
 * are the input. */
static void vitals_report(const char *data, size_t size) {
  char text[ADT_MAX_VALUE + 1];
  input_text(data, size, text);
  r01_value v = {"f", text, text, text, text, 0};
  r01_reading r = {.patient = text, .family = text, .location = text, .item = text, .values = &v, .n_values = 1};
  size_t len = 0;
  char *msg = vigil__hl7_r01(&r, "VIGIL", "", "EHR", "", "VIGIL-R01-1", "20260101000000+0000", &len);
  reads_back(msg, len, "an R01 that is missing, does not parse, lacks its OBX or loses the value", 1, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  one_message((const char *)data, size);
  alarm_report((const char *)data, size);
  vitals_report((const char *)data, size);
  mllp_reader r;
  vigil__mllp_init(&r, 4096);
  /* cut where the first byte says, to cross reads */
  size_t cut = size ? data[0] % (size + 1) : 0;
  vigil__mllp_feed(&r, (const char *)data, cut, on_frame, NULL, NULL);
  vigil__mllp_feed(&r, (const char *)data + cut, size - cut, on_frame, NULL, NULL);
  vigil__mllp_free(&r);
  return 0;
}
