/* hazard_restart.h: stopping and starting again the `vigil serve` of an
 * alarm_serve.h test on the same database, with the simulated clock, as a
 * ward's server is restarted (G3, G11 in docs/safety.md). Header only. */
#ifndef VIGIL_HAZARDS_RESTART_H
#define VIGIL_HAZARDS_RESTART_H

#include "alarm_serve.h"

/* SIGTERM, then the same command line again; its sessions are stored and
 * outlive the restart. 0, or -1 with the log printed. */
static inline int alarm_restart(alarm_serve *a) {
  if (serve_stop(&a->s, 0) < 0) return -1;
  a->s.port = 0;
  return serve_start_args(&a->s, alarm_serve_args);
}

/* The engine's time (GET /api/v1/clock), ms; -1 when not answered. */
static inline long long alarm_now(alarm_serve *a) {
  json_t *r;
  if (alarm_call(a, NULL, "GET", "/api/v1/clock", NULL, &r) != 200 || !r) return -1;
  long long now = (long long)json_integer_value(json_object_get(r, "now_ms"));
  json_decref(r);
  return now;
}

/* Whether GET path lists an entry whose "id" is id under key. */
static inline int alarm_lists(alarm_serve *a, const char *path, const char *key, uint64_t id) {
  json_t *r, *x;
  size_t i;
  int found = 0;
  if (alarm_call(a, NULL, "GET", path, NULL, &r) != 200 || !r) return 0;
  json_array_foreach(json_object_get(r, key), i, x) {
    if ((uint64_t)json_integer_value(json_object_get(x, "id")) == id) found = 1;
  }
  json_decref(r);
  return found;
}

#endif
