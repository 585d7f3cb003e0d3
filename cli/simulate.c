/* simulate.c: vigil simulate PROTOCOL --scenario FILE [--json] [--start TIME] */
#define _GNU_SOURCE /* strptime, timegm */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "author/scenario.h"
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

/* "sbp 134, dbp 84" for a record, the value itself otherwise. */
static void value_text(char *out, size_t n, json_t *v) {
  if (json_is_object(v)) {
    size_t used = 0;
    const char *k;
    json_t *x;
    out[0] = '\0';
    json_object_foreach(v, k, x) {
      char one[128];
      value_text(one, sizeof one, x);
      int w = snprintf(out + used, n - used, "%s%s %s", used ? ", " : "", k, one);
      if (w < 0 || (size_t)w >= n - used) break;
      used += (size_t)w;
    }
    return;
  }
  char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  snprintf(out, n, "%s", t ? t : "?");
  free(t);
}

static const char *str(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static long long num(json_t *o, const char *k) { return (long long)json_number_value(json_object_get(o, k)); }

/* One line a person can read at a glance. */
static void summary(char *out, size_t n, const char *type, json_t *d) {
  char v[512] = "";
  if (!strcmp(type, "visit.started")) {
    value_text(v, sizeof v, json_object_get(d, "params"));
    snprintf(out, n, "%s for %s (%s)", str(d, "protocol"), str(d, "patient"), v);
  } else if (!strcmp(type, "phase.entered")) {
    snprintf(out, n, "-> %s", str(d, "phase"));
  } else if (!strcmp(type, "phase.minimum_reached")) {
    snprintf(out, n, "%s: minimum time reached", str(d, "phase"));
  } else if (!strcmp(type, "item.recorded")) {
    value_text(v, sizeof v, json_object_get(d, "values"));
    snprintf(out, n, "%s", v);
  } else if (!strcmp(type, "item.amended")) {
    char was[256];
    value_text(was, sizeof was, json_object_get(d, "previous"));
    value_text(v, sizeof v, json_object_get(d, "value"));
    snprintf(out, n, "%s: %s -> %s (%s)", str(d, "item"), was, v, str(d, "reason"));
  } else if (!strcmp(type, "item.skipped")) {
    if (json_object_get(d, "occurrence"))
      snprintf(out, n, "%s (occurrence %lld): %s", str(d, "item"), num(d, "occurrence") + 1, str(d, "reason"));
    else
      snprintf(out, n, "%s: %s", str(d, "item"), str(d, "reason"));
  } else if (!strcmp(type, "item.overdue") || !strcmp(type, "item.not_applicable")) {
    snprintf(out, n, "%s (occurrence %lld)", str(d, "item"), num(d, "occurrence") + 1);
  } else if (!strcmp(type, "gate.blocked") || !strcmp(type, "gate.overridden")) {
    size_t i, used = 0;
    json_t *r;
    json_array_foreach(json_object_get(d, "reasons"), i, r) {
      int w = snprintf(v + used, sizeof v - used, "%s%s", i ? "; " : "", json_string_value(r));
      if (w < 0 || (size_t)w >= sizeof v - used) break;
      used += (size_t)w;
    }
    if (!strcmp(type, "gate.blocked"))
      snprintf(out, n, "%s: %s", str(d, "phase"), v);
    else
      snprintf(out, n, "%s: %s (was: %s)", str(d, "phase"), str(d, "reason"), v);
  } else if (!strcmp(type, "alert.raised")) {
    snprintf(out, n, "#%lld %s [%s] %s", num(d, "alert"), str(d, "priority"), str(d, "rule"), str(d, "message"));
  } else if (!strcmp(type, "alert.escalated")) {
    snprintf(out, n, "#%lld level %lld, %s", num(d, "alert"), num(d, "level"), str(d, "priority"));
  } else if (!strncmp(type, "alert.", 6)) {
    snprintf(out, n, "#%lld%s%s", num(d, "alert"), *str(d, "reason") ? ": " : "", str(d, "reason"));
  } else if (!strcmp(type, "block.set")) {
    snprintf(out, n, "[%s] %s", str(d, "rule"), str(d, "reason"));
  } else if (!strcmp(type, "block.cleared")) {
    snprintf(out, n, "[%s]", str(d, "rule"));
  } else if (!strcmp(type, "note.added")) {
    snprintf(out, n, "[%s] %s", str(d, "rule"), str(d, "message"));
  } else if (!strcmp(type, "visit.discharged")) {
    snprintf(out, n, "from %s", str(d, "phase"));
  } else if (!strcmp(type, "visit.aborted")) {
    snprintf(out, n, "%s", str(d, "reason"));
  } else {
    value_text(out, n, d);
  }
}

static int print_event(void *ud, const vigil_event *ev) {
  timeline *t = ud;
  char *json = vigil_event_json(t->e, ev);
  if (t->json) {
    printf("%s\n", json ? json : "{}");
  } else {
    char at[32], line[1024] = "";
    clock_of(at, sizeof at, vigil_event_time(ev) - t->start);
    json_t *j = json ? json_loads(json, JSON_PRESERVE_ORDER, NULL) : NULL;
    summary(line, sizeof line, vigil_event_type(ev), json_object_get(j, "data"));
    json_decref(j);
    printf("%s  %-22s %-12s %s\n", at, vigil_event_type(ev), vigil_event_actor(ev), line);
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

int vigil__cmd_simulate(int argc, char **argv) {
  const char *protocol = NULL, *scenario = NULL, *start = "2026-01-05T08:00:00Z";
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
      scenario = argv[++i];
    else if (!strcmp(argv[i], "--start") && i + 1 < argc)
      start = argv[++i];
    else if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (argv[i][0] != '-' && !protocol)
      protocol = argv[i];
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
  rc = vigil__scenario_run(e, ref, scenario, print_step, &t, &visit, err, sizeof err);
  if (rc < 0) fprintf(stderr, "vigil simulate: %s\n", err);
  vigil_engine_free(e);
  return rc < 0 ? 1 : 0;
}
