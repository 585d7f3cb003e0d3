/* test_hl7_codec.c: the HL7 v2 codec and MLLP framing (plugins/hl7/codec,
 * docs/hl7.md).
 *
 *   - fields_components_repetitions: HL7's numbering (MSH-1 is the field
 *     separator), repetitions, components, subcomponents, absent parts;
 *   - delimiters_from_the_message: a message that declares other delimiters
 *     in MSH-1 and MSH-2 is read by them;
 *   - escapes_both_ways: \F\ \S\ \T\ \R\ \E\ and \Xhh\ read back, and text
 *     with every delimiter written escaped parses back to itself;
 *   - refused_messages: each kind of malformed message gets its sentence;
 *   - mllp_frames: frames cut at every byte, several per read, garbage
 *     outside frames, a 0x1C without 0x0D and an oversized frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7.h"

static const char ADT[] = "MSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01^ADT_A01|MSG0001|P|2.5.1\r"
                          "EVN|A01|20260105120000\r"
                          "PID|1||123456^^^HOSP^MR~999-88-7777^^^SSA^SS||DOE^JANE^Q||19800214|F\r"
                          "AL1|1|DA|PCN^Penicillin^L|SV|Hives&Rash\r";

static void value_is(const hl7_msg *m, long seg, int f, int r, int c, int s, const char *want) {
  char out[256];
  assert_true(seg >= 0);
  vigil__hl7_value(m, (size_t)seg, f, r, c, s, out, sizeof out);
  assert_string_equal(out, want);
}

static void fields_components_repetitions(void **state) {
  (void)state;
  hl7_msg m;
  char err[256];
  assert_int_equal(vigil__hl7_parse(&m, ADT, strlen(ADT), err, sizeof err), 0);
  assert_int_equal(m.n_seg, 4);
  long msh = vigil__hl7_find(&m, "MSH", 0), pid = vigil__hl7_find(&m, "PID", 0), al1 = vigil__hl7_find(&m, "AL1", 0);
  assert_int_equal(msh, 0);
  assert_int_equal(pid, 2);
  assert_int_equal(vigil__hl7_find(&m, "PID", 1), -1);
  value_is(&m, msh, 1, 0, 0, 0, "|");
  value_is(&m, msh, 2, 0, 0, 0, "^~\\&");
  value_is(&m, msh, 3, 0, 1, 0, "HIS");
  value_is(&m, msh, 9, 0, 1, 0, "ADT");
  value_is(&m, msh, 9, 0, 2, 0, "A01");
  value_is(&m, msh, 10, 0, 0, 0, "MSG0001");
  value_is(&m, msh, 12, 0, 0, 0, "2.5.1");
  assert_int_equal(vigil__hl7_reps(&m, (size_t)pid, 3), 2);
  value_is(&m, pid, 3, 0, 1, 0, "123456");
  value_is(&m, pid, 3, 0, 5, 0, "MR");
  value_is(&m, pid, 3, 1, 1, 0, "999-88-7777");
  value_is(&m, pid, 3, 1, 4, 0, "SSA");
  value_is(&m, pid, 5, 0, 2, 0, "JANE");
  value_is(&m, pid, 8, 0, 0, 0, "F");
  value_is(&m, al1, 5, 0, 1, 2, "Rash");
  value_is(&m, al1, 5, 0, 1, 1, "Hives");
  /* beyond the message: absent, empty */
  hl7_span s;
  assert_int_equal(vigil__hl7_get(&m, (size_t)pid, 30, 0, 0, 0, &s), 0);
  assert_int_equal(vigil__hl7_get(&m, (size_t)pid, 3, 2, 0, 0, &s), 0);
  assert_int_equal(vigil__hl7_get(&m, (size_t)pid, 5, 0, 9, 0, &s), 0);
  assert_int_equal(vigil__hl7_get(&m, 99, 1, 0, 0, 0, &s), 0);
  value_is(&m, pid, 2, 0, 0, 0, "");
  assert_int_equal(vigil__hl7_reps(&m, (size_t)pid, 2), 0);
  vigil__hl7_free(&m);
}

static void delimiters_from_the_message(void **state) {
  (void)state;
  static const char odd[] = "MSH#*!/$#HIS#WARD###20260105##ADT*A08#M2#P#2.5\n"
                            "PID#1##77!78****MR##ROE/S/X*JO\n";
  hl7_msg m;
  char err[256];
  assert_int_equal(vigil__hl7_parse(&m, odd, strlen(odd), err, sizeof err), 0);
  assert_int_equal(m.d.field, '#');
  assert_int_equal(m.d.comp, '*');
  assert_int_equal(m.d.rep, '!');
  assert_int_equal(m.d.esc, '/');
  assert_int_equal(m.d.sub, '$');
  value_is(&m, 0, 9, 0, 2, 0, "A08");
  value_is(&m, 1, 3, 0, 0, 0, "77");
  value_is(&m, 1, 3, 1, 1, 0, "78");
  value_is(&m, 1, 3, 1, 5, 0, "MR");
  value_is(&m, 1, 5, 0, 1, 0, "ROE*X"); /* its escape character, its component separator */
  value_is(&m, 1, 5, 0, 2, 0, "JO");
  vigil__hl7_free(&m);
}

static void escapes_both_ways(void **state) {
  (void)state;
  static const char esc[] = "MSH|^~\\&|A|B|C|D|1||ADT^A08|E1|P|2.5\r"
                            "NTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41\\\\H\\g\\N\\\\.br\\h\\Q\\\r";
  hl7_msg m;
  char err[256];
  assert_int_equal(vigil__hl7_parse(&m, esc, strlen(esc), err, sizeof err), 0);
  value_is(&m, 1, 3, 0, 0, 0, "a|b^c&d~e\\fAg\nh\\Q\\");
  /* a value cut to the buffer still ends in NUL and says what it needed */
  char small[4];
  assert_int_equal(vigil__hl7_value(&m, 1, 3, 0, 0, 0, small, sizeof small), strlen("a|b^c&d~e\\fAg\nh\\Q\\"));
  assert_string_equal(small, "a|b");
  vigil__hl7_free(&m);

  hl7_out o;
  vigil__hl7_out_init(&o, NULL);
  vigil__hl7_out_raw(&o, "MSH|^~\\&|A|B|C|D|1||ACK|E2|P|2.5", strlen("MSH|^~\\&|A|B|C|D|1||ACK|E2|P|2.5"));
  vigil__hl7_out_end(&o);
  vigil__hl7_out_raw(&o, "NTE|1|", 6);
  const char *text = "x|y^z&w~v\\u\rline";
  vigil__hl7_out_field(&o, text);
  vigil__hl7_out_end(&o);
  assert_false(o.failed);
  assert_null(strstr(o.p + strlen("MSH|^~\\&"), "^z")); /* no bare delimiter got through */
  assert_int_equal(vigil__hl7_parse(&m, o.p, o.n, err, sizeof err), 0);
  assert_int_equal(m.n_seg, 2);
  value_is(&m, 1, 3, 0, 0, 0, text);
  vigil__hl7_free(&m);
  vigil__hl7_out_free(&o);
}

static void refused(const char *msg, const char *says) {
  hl7_msg m;
  char err[256] = "";
  assert_int_equal(vigil__hl7_parse(&m, msg, strlen(msg), err, sizeof err), -1);
  if (!strstr(err, says)) fail_msg("'%s' gave '%s', not '%s'", msg, err, says);
  assert_null(m.text);
}

static void refused_messages(void **state) {
  (void)state;
  refused("", "MSH");
  refused("PID|1||x\r", "MSH");
  refused("MSH|^~|A\r", "needs 4 characters");
  refused("MSH|^~\\&", "ends after");
  refused("MSH|^~\\&#!|A\r", "more than 5");
  refused("MSH|^^\\&|A\r", "used twice");
  refused("MSH|^~\\a|A\r", "cannot be a delimiter");
  refused("MSH\x01^~\\&\x01"
          "A\r",
          "cannot be a delimiter");
  refused("MSH|^~\\&|A\rpid|1\r", "segment 2");
  refused("MSH|^~\\&|A\rPI\r", "segment 2");
  refused("MSH|^~\\&|A\rPIDX\r", "segment 2");
  refused("MSH|^~\\&|A\rMSH|^~\\&|B\r", "second MSH");
  char nul[] = "MSH|^~\\&|A\rPID|1\r";
  nul[12] = '\0';
  hl7_msg m;
  char err[256];
  assert_int_equal(vigil__hl7_parse(&m, nul, sizeof nul - 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "NUL"));
  /* too many segments */
  size_t n = 8 + 5 * (HL7_MAX_SEGMENTS + 1) + 1;
  char *big = malloc(n + 1);
  assert_non_null(big);
  strcpy(big, "MSH|^~\\&|");
  for (int i = 0; i < HL7_MAX_SEGMENTS; i++)
    strcat(big + strlen(big), "\rNTE|");
  assert_int_equal(vigil__hl7_parse(&m, big, strlen(big), err, sizeof err), -1);
  assert_non_null(strstr(err, "more than"));
  free(big);
}

typedef struct seen {
  char frames[8][64];
  int n_frames;
  char errors[8][80];
  int n_errors;
} seen;

static int on_frame(void *ud, const char *msg, size_t len) {
  seen *s = ud;
  assert_true(len < 64);
  if (s->n_frames < 8) memcpy(s->frames[s->n_frames], msg, len), s->frames[s->n_frames][len] = '\0';
  s->n_frames++;
  return 0;
}

static int on_error(void *ud, const char *why) {
  seen *s = ud;
  if (s->n_errors < 8) snprintf(s->errors[s->n_errors], 80, "%s", why);
  s->n_errors++;
  return 0;
}

static void mllp_frames(void **state) {
  (void)state;
  const char stream[] = "\x0b"
                        "one\r"
                        "\x1c\r\r\n\x0b"
                        "two\x1c\r";
  /* whole, then cut at every byte */
  for (size_t cut = 0; cut <= sizeof stream - 1; cut++) {
    seen s = {0};
    mllp_reader r;
    vigil__mllp_init(&r, 1024);
    assert_int_equal(vigil__mllp_feed(&r, stream, cut, on_frame, on_error, &s), 0);
    assert_int_equal(vigil__mllp_feed(&r, stream + cut, sizeof stream - 1 - cut, on_frame, on_error, &s), 0);
    assert_int_equal(s.n_frames, 2);
    assert_int_equal(s.n_errors, 0);
    assert_string_equal(s.frames[0], "one\r");
    assert_string_equal(s.frames[1], "two");
    vigil__mllp_free(&r);
  }
  /* garbage, a 0x1C without 0x0D followed by a good frame, a frame too long, a good one */
  const char bad[] = "GET / HTTP/1.1\r\n"
                     "\x0b"
                     "x\x1cy"
                     "\x0b"
                     "ok\x1c\r"
                     "\x0b"
                     "0123456789ABCDEFG\x1c\r"
                     "\x0b"
                     "\x0b"
                     "last\x1c\r";
  seen s = {0};
  mllp_reader r;
  vigil__mllp_init(&r, 16);
  assert_int_equal(vigil__mllp_feed(&r, bad, sizeof bad - 1, on_frame, on_error, &s), 0);
  assert_int_equal(s.n_frames, 1); /* "last" came after a second 0x0B: one refusal for its frame (A9) */
  assert_string_equal(s.frames[0], "ok");
  assert_int_equal(s.n_errors, 4);
  assert_non_null(strstr(s.errors[0], "outside"));
  assert_non_null(strstr(s.errors[1], "not followed by 0x0D"));
  assert_non_null(strstr(s.errors[2], "longer"));
  assert_non_null(strstr(s.errors[3], "inside another"));
  vigil__mllp_free(&r);

  size_t n;
  char *w = vigil__mllp_wrap("abc", 3, &n);
  assert_int_equal(n, 6);
  assert_memory_equal(w,
                      "\x0b"
                      "abc\x1c\r",
                      6);
  free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fields_components_repetitions),
      cmocka_unit_test(delimiters_from_the_message),
      cmocka_unit_test(escapes_both_ways),
      cmocka_unit_test(refused_messages),
      cmocka_unit_test(mllp_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
