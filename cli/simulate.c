/* simulate.c: vigil simulate PROTOCOL --scenario FILE [--json] [--start TIME] */
#define _GNU_SOURCE /* strptime, timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "scenario.h"
#include "vigil/vigil.h"

typedef struct timeline {
  vigil_engine *e;
  int64_t start;
  int json;
} timeline;

static void clock_of(char *out, size_t n, int64_t ms) {
  int64_t s = ms / 1000;
  snprintf(out, n, "+%02lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
}

static int print_event(void *ud, const vigil_event *ev) {
  timeline *t = ud;
  char *json = vigil_event_json(t->e, ev);
  if (t->json) {
    printf("%s\n", json ? json : "{}");
  } else {
    char at[32];
    clock_of(at, sizeof at, vigil_event_time(ev) - t->start);
    /* The data object, after its "data": key. */
    const char *data = json ? strstr(json, ",\"data\":") : NULL;
    size_t len = data ? strlen(data + 8) : 0;
    printf("%s  %-22s %-14s %.*s\n", at, vigil_event_type(ev), vigil_event_actor(ev), len ? (int)len - 1 : 0,
           data ? data + 8 : "");
  }
  vigil_free(json);
  return 0;
}

static void print_step(void *ud, int64_t at, const char *step, int rc, const char *error) {
  timeline *t = ud;
  if (rc >= 0) return;
  char when[32];
  clock_of(when, sizeof when, at);
  if (t->json)
    printf("{\"refused\":{\"at_ms\":%lld,\"code\":\"%s\"}}\n", (long long)at, vigil_err_name(rc));
  else
    printf("%s  ! refused: %s: %s\n", when, step, error ? error : vigil_strerror(rc));
}

static int parse_time(const char *s, int64_t *ms) {
  struct tm tm = {0};
  const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || (*end && strcmp(end, "Z"))) return -1;
  *ms = (int64_t)timegm(&tm) * 1000;
  return 0;
}

int cmd_simulate(int argc, char **argv) {
  const char *protocol = NULL, *scenario = NULL, *start = "2026-01-05T08:00:00Z";
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scenario") && i + 1 < argc) scenario = argv[++i];
    else if (!strcmp(argv[i], "--start") && i + 1 < argc) start = argv[++i];
    else if (!strcmp(argv[i], "--json")) json = 1;
    else if (argv[i][0] != '-' && !protocol) protocol = argv[i];
    else {
      fprintf(stderr, "vigil simulate: unexpected '%s'\n", argv[i]);
      return 2;
    }
  }
  if (!protocol || !scenario) {
    fprintf(stderr, "usage: vigil simulate PROTOCOL --scenario FILE [--json] [--start 2026-01-05T08:00:00Z]\n");
    return 2;
  }
  int64_t t0;
  if (parse_time(start, &t0) < 0) {
    fprintf(stderr, "vigil simulate: --start takes a UTC time such as 2026-01-05T08:00:00Z\n");
    return 2;
  }
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = t0};
  vigil_engine *e;
  if (vigil_engine_new(&opts, &e) < 0) {
    fprintf(stderr, "vigil simulate: out of memory\n");
    return 1;
  }
  const char *ref;
  int rc = vigil_engine_load(e, protocol, &ref);
  if (rc < 0) {
    fprintf(stderr, "%s\n", vigil_engine_errmsg(e));
    vigil_engine_free(e);
    return 1;
  }
  timeline t = {.e = e, .start = t0, .json = json};
  vigil_engine_subscribe(e, "*", print_event, &t);
  char err[2048];
  uint64_t visit = 0;
  rc = scenario_run(e, ref, scenario, print_step, &t, &visit, err, sizeof err);
  if (rc < 0) fprintf(stderr, "vigil simulate: %s\n", err);
  vigil_engine_free(e);
  return rc < 0 ? 1 : 0;
}
