/* mllp.c: MLLP frames (0x0B message 0x1C 0x0D) cut from a byte stream
 * however it arrives, and made (hl7.h). */
#include <stdlib.h>
#include <string.h>

#include "hl7.h"
#include "plugin_common/plugin_common.h"

void vigil__mllp_init(mllp_reader *r, size_t max) {
  memset(r, 0, sizeof *r);
  r->max = max ? max : (size_t)1 << 20;
}

void vigil__mllp_free(mllp_reader *r) {
  free(r->buf);
  r->buf = NULL;
  r->n = r->cap = 0;
}

static int append(mllp_reader *r, char c) {
  char *p = vigil__plugin_grow(r->buf, &r->cap, r->n + 1, 1, 1024);
  if (!p) return -1;
  r->buf = p;
  r->buf[r->n++] = c;
  return 0;
}

static int error(mllp_reader *r, mllp_error_fn on_error, void *ud, const char *why) {
  r->in_frame = r->saw_end = 0;
  r->skipping = 1;
  r->broken = NULL;
  int rc = on_error ? on_error(ud, why) : 0; /* buf still holds the frame's start */
  r->n = 0;
  return rc;
}

int vigil__mllp_feed(mllp_reader *r, const char *data, size_t len, mllp_frame_fn on_frame, mllp_error_fn on_error,
                     void *ud) {
  int rc;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)data[i];
    if (c == MLLP_START && !r->saw_end) {
      /* A second 0x0B: the frame is refused once, when it ends (A9). */
      if (r->in_frame && !r->skipping) {
        r->broken = "a frame started (0x0B) inside another: the frame is refused whole";
        continue;
      }
      r->in_frame = 1;
      r->skipping = r->saw_end = 0;
      r->n = 0;
      continue;
    }
    if (r->skipping) continue;
    if (!r->in_frame) {
      if (c == '\r' || c == '\n') continue; /* line ends between frames: harmless */
      if ((rc = error(r, on_error, ud, "bytes outside an MLLP frame (a frame starts with 0x0B)"))) return rc;
      continue;
    }
    if (r->saw_end) {
      if (c != MLLP_CR) {
        if ((rc = error(r, on_error, ud, "0x1C not followed by 0x0D"))) return rc;
        if (c == MLLP_START) i--; /* it starts the next frame */
        continue;
      }
      if (r->broken) {
        if ((rc = error(r, on_error, ud, r->broken))) return rc;
        r->skipping = 0; /* the frame ended: the next starts with 0x0B */
        continue;
      }
      r->in_frame = r->saw_end = 0;
      size_t n = r->n;
      r->n = 0;
      if (on_frame && (rc = on_frame(ud, r->buf ? r->buf : "", n))) return rc;
      continue;
    }
    if (c == MLLP_END) {
      r->saw_end = 1;
      continue;
    }
    if (r->broken) continue; /* what follows the second 0x0B is not read */
    if (r->n >= r->max) {
      if ((rc = error(r, on_error, ud, "a message longer than the largest taken"))) return rc;
      continue;
    }
    if (append(r, (char)c) < 0) return -1;
  }
  return 0;
}

char *vigil__mllp_wrap(const char *msg, size_t len, size_t *outlen) {
  char *p = malloc(len + 3);
  if (!p) return NULL;
  p[0] = MLLP_START;
  memcpy(p + 1, msg, len);
  p[len + 1] = MLLP_END;
  p[len + 2] = MLLP_CR;
  *outlen = len + 3;
  return p;
}
