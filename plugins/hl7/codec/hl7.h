/* hl7.h: a small HL7 v2 codec and MLLP framing, vigil's own (docs/hl7.md:
 * Debian packages no maintained C library for HL7 v2).
 *
 * A message is parsed in place into its segments; fields, repetitions,
 * components and subcomponents are found on demand, by the delimiters the
 * message declares in MSH-1 and MSH-2. Values come back raw (as sent) or
 * unescaped (\F\ \S\ \T\ \R\ \E\, \Xhh..\; \H\ \N\ dropped). Building a
 * message (an ACK) goes through hl7_out, which escapes what it is given.
 *
 * MLLP (the Minimal Lower Layer Protocol) frames each message as 0x0B
 * message 0x1C 0x0D; vigil__mllp_feed cuts a byte stream into frames,
 * however it is split across reads. Nothing here allocates more than a
 * caller's limit, and nothing trusts the input: every function is fuzzed
 * (tests/fuzz/fuzz_hl7.c). */
#ifndef VIGIL_HL7_H
#define VIGIL_HL7_H

#include <stddef.h>

#define HL7_MAX_SEGMENTS 4096

typedef struct hl7_delims {
  char field, comp, rep, esc, sub; /* '|', '^', '~', '\\', '&' as usual */
} hl7_delims;

typedef struct hl7_span {
  const char *p;
  size_t n;
} hl7_span;

typedef struct hl7_msg {
  char *text; /* a copy of the message, owned */
  size_t len;
  hl7_delims d;
  hl7_span *seg; /* each segment without its terminator */
  size_t n_seg;
} hl7_msg;

/* Parses len bytes (one message, segments ended by CR; LF and CR LF are
 * taken as well). 0; or -1 with a sentence in err (m is then empty): no
 * MSH first, delimiters missing, repeated or unusable, too many segments, a
 * NUL byte, a segment id that is not three letters or digits. */
int vigil__hl7_parse(hl7_msg *m, const char *data, size_t len, char *err, size_t errlen);
void vigil__hl7_free(hl7_msg *m);

/* The index of the nth (0-based) segment with id ("PID"), or -1. */
long vigil__hl7_find(const hl7_msg *m, const char *id, int nth);

/* The raw text of SEG-field, its repetition rep (0-based), component comp
 * and subcomponent sub (1-based; comp or sub 0: the whole of the level
 * above). Field numbers are HL7's: MSH-1 is the field separator, MSH-2 the
 * encoding characters (never split). 1 with *out set (maybe empty), 0 when
 * the message does not reach that far (*out empty). */
int vigil__hl7_get(const hl7_msg *m, size_t seg, int field, int rep, int comp, int sub, hl7_span *out);
/* How many repetitions SEG-field has (0: absent or empty). */
int vigil__hl7_reps(const hl7_msg *m, size_t seg, int field);

/* Unescapes raw into out (NUL-terminated, at most outlen - 1 bytes). The
 * length it needed; >= outlen means it was cut. A \X00\ is kept as a NUL,
 * counted in that length: strlen(out) shorter than it means one is there. */
size_t vigil__hl7_unescape(const hl7_delims *d, hl7_span raw, char *out, size_t outlen);
/* vigil__hl7_get and unescape in one: the value, "" when absent. */
size_t vigil__hl7_value(const hl7_msg *m, size_t seg, int field, int rep, int comp, int sub, char *out, size_t outlen);

/* A growing message under construction. */
typedef struct hl7_out {
  char *p;
  size_t n, cap;
  int failed; /* memory ran out: the text is incomplete */
  hl7_delims d;
} hl7_out;

void vigil__hl7_out_init(hl7_out *o, const hl7_delims *d);
void vigil__hl7_out_free(hl7_out *o);
/* Appends raw text as it is (delimiters included). */
void vigil__hl7_out_raw(hl7_out *o, const char *s, size_t n);
/* Appends text with every delimiter, the escape character and CR/LF escaped. */
void vigil__hl7_out_text(hl7_out *o, const char *s);
/* Appends the field separator then the escaped text. */
void vigil__hl7_out_field(hl7_out *o, const char *s);
/* Ends the current segment (CR). */
void vigil__hl7_out_end(hl7_out *o);

/* ---- MLLP ---- */

#define MLLP_START 0x0B
#define MLLP_END 0x1C
#define MLLP_CR 0x0D

typedef struct mllp_reader {
  char *buf;
  size_t n, cap, max; /* max: the largest message taken */
  int in_frame;       /* a 0x0B was seen */
  int saw_end;        /* a 0x1C was seen, a 0x0D is due */
  int skipping;       /* after an error: until the next 0x0B */
  const char *broken; /* a 0x0B inside the frame: refused once, at its end */
} mllp_reader;

/* on_frame(ud, message, len) for each whole frame; on_error(ud, why) for
 * bytes outside a frame, a frame over max or a 0x1C not followed by 0x0D
 * (the reader then skips to the next 0x0B), and once for a frame with a
 * second 0x0B inside, at its end (one answer per frame). During on_error,
 * buf holds the first n bytes of the frame refused (0 outside one), for the
 * answer to name its MSH-10. A callback returning non-zero stops the feed,
 * which returns that value. */
typedef int (*mllp_frame_fn)(void *ud, const char *msg, size_t len);
typedef int (*mllp_error_fn)(void *ud, const char *why);

void vigil__mllp_init(mllp_reader *r, size_t max);
void vigil__mllp_free(mllp_reader *r);
/* 0, a callback's non-zero, or -1 when memory ran out. */
int vigil__mllp_feed(mllp_reader *r, const char *data, size_t len, mllp_frame_fn on_frame, mllp_error_fn on_error,
                     void *ud);
/* Wraps msg in a frame: a malloc'd buffer of *outlen bytes, NULL when memory ran out. */
char *vigil__mllp_wrap(const char *msg, size_t len, size_t *outlen);

#endif
