/* recorder.c: a test plugin at the current ABI level. It writes every event
 * it hears into its key-value namespace ("seen/<seq>" = type), fails on the
 * type its settings name, dawdles on another, and leaves "closed" behind
 * when vigil stops, so test_plugins can read what happened from the store.
 * With `where` it opens that site filter (level 1.3), keeps its answer for
 * every event it hears ("match/<seq>") and, at init, for every event already
 * in the log ("replay/<seq>"), and leaves the filter open for vigil to close
 * when `leave_open` says so. With `report_alerts` (level 1.6) it says, on
 * the loop after the first alert.raised it hears, what an alarm manager
 * would of that alert through alert_reported, wrongly and rightly, and keeps
 * each answer ("report/<case>"), and reads the visit (level 1.7,
 * visit_json): "visit/sbp" is its sbp field's LOINC code and unit,
 * "visit/none" what a visit that is not there gives. "timezone" is the
 * site's time zone as it was at init (level 1.8), "(none)" for none. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "vigil/plugin.h"

typedef struct recorder {
  vigil_plugin *p;
  const vigil_api *api;
  char fail_type[64], slow_type[64];
  int slow_ms;
  unsigned long heard;
  vigil_filter *where;
  int leave_open;
  int report_alerts;     /* 1: report the next alert raised; 0 after */
  uint64_t report_visit; /* the alert reported and its visit */
  unsigned long long report_alert;
  uv_timer_t *report_timer;
} recorder;

static void put_int(recorder *r, const char *key, long v) {
  char text[32];
  snprintf(text, sizeof text, "%ld", v);
  r->api->kv_put(r->p, key, text, strlen(text));
}

static void free_handle(uv_handle_t *h) { free(h); }

/* Not from a subscription's callback: on the loop, as an alarm manager's
 * answer comes. */
static void report_now(uv_timer_t *t) {
  recorder *r = t->data;
  char err[256], key[32];
  put_int(r, "report/other_visit",
          r->api->alert_reported(r->p, r->report_visit - 1, r->report_alert, "{\"status\":\"accepted\"}", NULL, NULL, 0,
                                 err, sizeof err));
  put_int(r, "report/no_alert",
          r->api->alert_reported(r->p, r->report_visit, r->report_alert + 1000, "{\"status\":\"accepted\"}", NULL, NULL,
                                 0, err, sizeof err));
  put_int(r, "report/no_status",
          r->api->alert_reported(r->p, r->report_visit, r->report_alert, "{\"code\":\"AA\"}", NULL, NULL, 0, err,
                                 sizeof err));
  char *visit = r->api->visit_json(r->p, r->report_visit);
  json_t *j = visit ? json_loads(visit, 0, NULL) : NULL, *phase, *item, *fl;
  size_t h, i, k;
  json_array_foreach(json_object_get(j, "phases"), h, phase)
      json_array_foreach(json_object_get(phase, "items"), i, item)
          json_array_foreach(json_object_get(item, "fields"), k, fl) {
    const char *name = json_string_value(json_object_get(fl, "name"));
    if (!name || strcmp(name, "sbp")) continue;
    char text[96];
    snprintf(text, sizeof text, "%s %s", json_string_value(json_object_get(fl, "loinc")) ?: "-",
             json_string_value(json_object_get(fl, "unit")) ?: "-");
    r->api->kv_put(r->p, "visit/sbp", text, strlen(text));
  }
  json_decref(j);
  r->api->free(visit);
  visit = r->api->visit_json(r->p, r->report_visit + 1000);
  put_int(r, "visit/none", visit ? 1 : 0);
  r->api->free(visit);
  snprintf(key, sizeof key, "ack/%llu", r->report_alert);
  put_int(r, "report/accepted",
          r->api->alert_reported(r->p, r->report_visit, r->report_alert, "{\"status\":\"accepted\",\"code\":\"AA\"}",
                                 key, "AA", 2, err, sizeof err));
}

static int on_event(void *ud, const vigil_plugin_event *ev) {
  recorder *r = ud;
  if (r->report_alerts == 1 && !strcmp(ev->type, "alert.raised")) {
    json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);
    r->report_alert = (unsigned long long)json_integer_value(json_object_get(json_object_get(j, "data"), "alert"));
    json_decref(j);
    r->report_visit = ev->visit;
    r->report_alerts = 0;
    uv_timer_start(r->report_timer, report_now, 0, 0);
  }
  char key[64];
  snprintf(key, sizeof key, "seen/%010llu", (unsigned long long)ev->seq);
  r->api->kv_put(r->p, key, ev->type, strlen(ev->type));
  r->heard++;
  if (r->where) {
    snprintf(key, sizeof key, "match/%010llu", (unsigned long long)ev->seq);
    put_int(r, key, r->api->filter_test(r->where, ev, NULL, 0));
  }
  r->api->metric_set(r->p, "events", "counter", "Events the recorder heard.", NULL, (double)r->heard);
  /* A name the host's own metrics have (vigil_plugin_calls_total): /metrics
   * must show it as this plugin's, not as a second family of the host's. */
  r->api->metric_set(r->p, "calls_total", "counter", "Events heard, counted again.", NULL, (double)r->heard);
  /* What vigil hands over is the whole event as JSON, the same as the stream's. */
  json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);
  int ok = j && (uint64_t)json_integer_value(json_object_get(j, "seq")) == ev->seq &&
           !strcmp(json_string_value(json_object_get(j, "type")), ev->type) && ev->schema == VIGIL_EVENT_SCHEMA;
  json_decref(j);
  if (!ok) return VIGIL_EINVAL;
  if (r->heard == 1) put_int(r, "late_subscribe", r->api->subscribe(r->p, "*", on_event, r));
  if (!strcmp(ev->type, r->slow_type)) {
    struct timespec ts = {r->slow_ms / 1000, (long)(r->slow_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  return strcmp(ev->type, r->fail_type) ? 0 : -1;
}

static int count_event(void *ud, const vigil_plugin_event *ev) {
  (*(long *)ud)++;
  return 0;
}

static char *status(void *ud) {
  recorder *r = ud;
  char *text = malloc(64);
  if (text) snprintf(text, 64, "{\"heard\":%lu}", r->heard);
  return text;
}

typedef struct replay {
  recorder *r;
  char (*keys)[32];
  long *answers;
  size_t n;
} replay;

/* kv_put is not for an events_after callback: the answers are kept first. */
static int replay_one(void *ud, const vigil_plugin_event *ev) {
  replay *rp = ud;
  char(*keys)[32] = realloc(rp->keys, (rp->n + 1) * sizeof *keys);
  long *answers = realloc(rp->answers, (rp->n + 1) * sizeof *answers);
  if (keys) rp->keys = keys;
  if (answers) rp->answers = answers;
  if (!keys || !answers) return 1;
  snprintf(rp->keys[rp->n], sizeof *rp->keys, "replay/%010llu", (unsigned long long)ev->seq);
  rp->answers[rp->n++] = rp->r->api->filter_test(rp->r->where, ev, NULL, 0);
  return 0;
}

static void on_close(void *ud) {
  recorder *r = ud;
  if (r->report_timer) uv_close((uv_handle_t *)r->report_timer, free_handle);
  if (!r->leave_open) r->api->filter_close(r->where);
  put_int(r, "closed", (long)r->heard);
  free(r);
}

static int init(vigil_plugin *p, const vigil_api *api, char **err) {
  recorder *r = calloc(1, sizeof *r);
  if (!r) return VIGIL_ENOMEM;
  r->p = p;
  r->api = api;
  json_t *s = json_loads(api->settings(p), 0, NULL);
  snprintf(r->fail_type, sizeof r->fail_type, "%s", json_string_value(json_object_get(s, "fail_type")) ?: "");
  snprintf(r->slow_type, sizeof r->slow_type, "%s", json_string_value(json_object_get(s, "slow_type")) ?: "");
  r->slow_ms = (int)json_integer_value(json_object_get(s, "slow_ms"));
  r->leave_open = json_is_true(json_object_get(s, "leave_open"));
  r->report_alerts = json_is_true(json_object_get(s, "report_alerts"));
  char where[64];
  snprintf(where, sizeof where, "%s", json_string_value(json_object_get(s, "where")) ?: "");
  json_decref(s);
  int rc = api->on_close(p, on_close, r);
  if (rc < 0) {
    free(r);
    return rc;
  }
  if (r->report_alerts) {
    char why[256];
    put_int(r, "report/in_init",
            api->alert_reported(p, 1, 1, "{\"status\":\"accepted\"}", NULL, NULL, 0, why, sizeof why));
    if (!(r->report_timer = malloc(sizeof *r->report_timer))) return VIGIL_ENOMEM;
    uv_timer_init(api->loop(p), r->report_timer);
    r->report_timer->data = r;
  }
  if (*where) {
    char why[1024];
    if ((rc = api->filter_open(p, where, &r->where, why, sizeof why)) < 0) {
      *err = strdup(why);
      return rc;
    }
    replay rp = {r, NULL, NULL, 0};
    api->events_after(p, 0, replay_one, &rp);
    for (size_t i = 0; i < rp.n; i++)
      put_int(r, rp.keys[i], rp.answers[i]);
    free(rp.keys);
    free(rp.answers);
  }
  put_int(r, "bad_pattern", api->subscribe(p, "nothing.*", on_event, r));
  long before = 0;
  api->events_after(p, 0, count_event, &before);
  put_int(r, "events_before_init", before);
  put_int(r, "last_seq_at_init", (long)api->last_seq(p));
  /* Level 1.8: the site's time zone */
  const char *zone = api->timezone(p);
  api->kv_put(p, "timezone", zone ? zone : "(none)", strlen(zone ? zone : "(none)"));
  /* Level 1.2: the bus's own pattern matching. */
  put_int(r, "matches",
          api->type_matches(p, "alert.*", "alert.raised") * 100 +
              api->type_matches(p, "alert.*", "item.recorded") * 10 +
              (api->type_matches(p, "nothing.*", "alert.raised") == -2));
  api->on_status(p, status, r);
  return api->subscribe(p, "*", on_event, r);
}

VIGIL_PLUGIN_DEFINE("1.0.0", init);
