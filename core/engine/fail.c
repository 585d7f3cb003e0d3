/* fail.c: an engine's error (the message and the field a command failed
 * on, for vigil_engine_errmsg) and its log (the embedder's, else stderr).
 * It calls nothing of the engine, so every file may report through it. */
#include <stdarg.h>
#include <stdio.h>

#include "fail.h"
#include "model.h"

int vigil__engine_fail(vigil_engine *e, int code, const char *about, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->errmsg, sizeof e->errmsg, fmt, ap);
  va_end(ap);
  /* Copied, not interned: the field may come from a caller's bad input. */
  snprintf(e->errfield, sizeof e->errfield, "%s", about ? about : "");
  return code;
}

void vigil__engine_log(vigil_engine *e, vigil_log_level level, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (e->opts.log) {
    e->opts.log(e->opts.log_ud, level, msg);
    return;
  }
  static const char *names[] = {"error", "warn", "info"};
  fprintf(stderr, "vigil: %s: %s\n", names[level], msg);
}
