/* plugin_host.c: loads the configured plugins and runs them on the hook bus.
 *
 * Every plugin, C or Lua, goes through the same vigil_api table: a Lua site
 * plugin is a built-in init function (plugin_lua.c) given the file. Each
 * subscription is one engine subscription whose callback here times the
 * plugin's call, counts its failures and slow calls, and hands it the
 * event as a vigil_plugin_event with the event's JSON (built once per
 * event, however many plugins hear it). */
#define _GNU_SOURCE
#include "host/plugin_host.h"

#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "engine/alert_report.h"
#include "engine/inspect.h"
#include "engine/site.h"
#include "store/event.h"
#include "plugin_filter.h"
#include "plugin_lua.h"

#define DEFAULT_SLOW_MS 100
#define MAX_KEY 256

typedef struct host_sub {
  vigil_plugin *p;
  int id; /* the engine's subscription */
  char *pattern;
  vigil_plugin_event_fn fn;
  void *ud;
} host_sub;

typedef struct close_cb {
  void (*fn)(void *ud);
  void *ud;
} close_cb;

/* What a plugin holds of a site's filter: vigil closes those it leaves open. */
struct vigil_filter {
  vigil_plugin *p;
  char *name;
  plugin_filter *impl;
};

typedef struct metric {
  char *name, *type, *help, *labels;
  double value;
} metric;

struct vigil_plugin {
  plugin_host *h;
  char *name, *path, *settings, *ns;
  const char *kind; /* "c" or "lua" */
  void *dl;
  const vigil_plugin_def *def;
  int initializing, running;
  char *error; /* why it was refused */
  host_sub **subs;
  size_t n_subs;
  close_cb *closes;
  size_t n_closes;
  char *(*status_fn)(void *ud);
  void *status_ud;
  metric *metrics;
  size_t n_metrics;
  vigil_filter **filters;
  size_t n_filters;
  uint64_t calls, failures, slow;
  double max_ms;
};

struct plugin_host {
  vigil_engine *e;
  uv_loop_t *loop;
  char *dir; /* the plugin folder */
  uint64_t slow_ns;
  plugin_log_fn log;
  void *log_ud;
  char *timezone; /* site.timezone, NULL: none */
  char *site;     /* a cluster node's site (the label of its /metrics lines), NULL: one server */
  vigil_plugin **plugins;
  size_t n;
  int closed;
};

static const vigil_api api_table;

/* ---- logging ------------------------------------------------------------------- */

static void host_log(plugin_host *h, vigil_log_level level, const vigil_plugin *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void host_log(plugin_host *h, vigil_log_level level, const vigil_plugin *p, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (h->log)
    h->log(h->log_ud, level, p ? p->name : NULL, msg);
  else
    fprintf(stderr, "vigil: %s%s%s%s\n", p ? "plugin " : "", p ? p->name : "", p ? ": " : "", msg);
}

/* ---- events as plugins see them -------------------------------------------------- */

static void fill_event(vigil_plugin_event *pe, const vigil_event *ev, const char *json, size_t len) {
  *pe = (vigil_plugin_event){.size = sizeof *pe,
                             .schema = VIGIL_EVENT_SCHEMA,
                             .seq = vigil_event_seq(ev),
                             .time_ms = vigil_event_time(ev),
                             .visit = vigil_event_visit(ev),
                             .type = vigil_event_type(ev),
                             .actor = vigil_event_actor(ev),
                             .json = json,
                             .json_len = len};
}

/* Runs one plugin callback, timed; its failure is the plugin's, counted and
 * reported, and never the bus's. */
static int call_plugin(vigil_plugin *p, vigil_plugin_event_fn fn, void *ud, const vigil_plugin_event *pe) {
  plugin_host *h = p->h;
  uint64_t t0 = uv_hrtime();
  int rc = fn(ud, pe);
  uint64_t ns = uv_hrtime() - t0;
  double ms = (double)ns / 1e6;
  p->calls++;
  if (ms > p->max_ms) p->max_ms = ms;
  if (ns > h->slow_ns) {
    p->slow++;
    host_log(h, VIGIL_LOG_WARN, p, "took %.1f ms on event %llu (%s): callbacks must not block the loop", ms,
             (unsigned long long)pe->seq, pe->type);
  }
  if (rc != 0) {
    p->failures++;
    host_log(h, VIGIL_LOG_WARN, p, "failed (%d) on event %llu (%s)", rc, (unsigned long long)pe->seq, pe->type);
  }
  return rc;
}

static int on_bus_event(void *ud, const vigil_event *ev) {
  host_sub *s = ud;
  plugin_host *h = s->p->h;
  /* The bytes built for the event once (the store's append, the journal),
   * kept with it. */
  size_t len;
  char *made;
  const char *json = vigil__event_json_read(ev, &len, &made);
  if (!json) {
    s->p->failures++;
    host_log(h, VIGIL_LOG_ERROR, s->p, "out of memory: event %llu not delivered",
             (unsigned long long)vigil_event_seq(ev));
    return 0;
  }
  vigil_plugin_event pe;
  fill_event(&pe, ev, json, len);
  call_plugin(s->p, s->fn, s->ud, &pe);
  free(made);
  return 0; /* counted here, not again by the bus */
}

/* ---- the API table -------------------------------------------------------------------- */

static const char *api_name(vigil_plugin *p) { return p->name; }
static const char *api_settings(vigil_plugin *p) { return p->settings; }

static int api_subscribe(vigil_plugin *p, const char *pattern, vigil_plugin_event_fn fn, void *ud) {
  if (!p->initializing) {
    host_log(p->h, VIGIL_LOG_ERROR, p, "subscribes after init: refused (subscriptions are made during init only)");
    return VIGIL_ESTATE;
  }
  if (!pattern || !fn) return VIGIL_EINVAL;
  host_sub *s = calloc(1, sizeof *s);
  host_sub **grown = realloc(p->subs, (p->n_subs + 1) * sizeof *grown);
  if (!s || !grown || !(s->pattern = strdup(pattern))) {
    if (s) free(s->pattern);
    free(s);
    if (grown) p->subs = grown;
    return VIGIL_ENOMEM;
  }
  p->subs = grown;
  *s = (host_sub){.p = p, .pattern = s->pattern, .fn = fn, .ud = ud};
  int id = vigil_engine_subscribe(p->h->e, pattern, on_bus_event, s);
  if (id < 0) {
    host_log(p->h, VIGIL_LOG_ERROR, p, "%s", vigil_engine_errmsg(p->h->e));
    free(s->pattern);
    free(s);
    return id;
  }
  s->id = id;
  p->subs[p->n_subs++] = s;
  return 0;
}

static int api_on_close(vigil_plugin *p, void (*fn)(void *ud), void *ud) {
  if (!p->initializing) return VIGIL_ESTATE;
  if (!fn) return VIGIL_EINVAL;
  close_cb *grown = realloc(p->closes, (p->n_closes + 1) * sizeof *grown);
  if (!grown) return VIGIL_ENOMEM;
  p->closes = grown;
  p->closes[p->n_closes++] = (close_cb){fn, ud};
  return 0;
}

static void api_log(vigil_plugin *p, vigil_plugin_log_level level, const char *message) {
  vigil_log_level l = level == VIGIL_PLUGIN_LOG_ERROR  ? VIGIL_LOG_ERROR
                      : level == VIGIL_PLUGIN_LOG_WARN ? VIGIL_LOG_WARN
                                                       : VIGIL_LOG_INFO;
  host_log(p->h, l, p, "%s", message ? message : "");
}

static void *api_loop(vigil_plugin *p) { return p->h->loop; }
static int64_t api_now_ms(vigil_plugin *p) { return vigil_engine_now(p->h->e); }
static uint64_t api_last_seq(vigil_plugin *p) { return vigil_query_last_seq(p->h->e); }

typedef struct replay {
  vigil_plugin *p;
  vigil_plugin_event_fn fn;
  void *ud;
  int oom;
} replay;

static int on_stored_event(void *ud, const vigil_event *ev) {
  replay *r = ud;
  size_t len;
  char *made; /* a stored event lent by the scan: its JSON made for this call */
  const char *json = vigil__event_json_read(ev, &len, &made);
  if (!json) {
    r->oom = 1;
    return 1;
  }
  vigil_plugin_event pe;
  fill_event(&pe, ev, json, len);
  int stop = r->fn(r->ud, &pe);
  free(made);
  return stop;
}

static int api_events_after(vigil_plugin *p, uint64_t after, vigil_plugin_event_fn fn, void *ud) {
  if (!fn) return VIGIL_EINVAL;
  replay r = {p, fn, ud, 0};
  int rc = vigil_engine_events(p->h->e, after, on_stored_event, &r);
  if (rc < 0) host_log(p->h, VIGIL_LOG_ERROR, p, "cannot read the event log: %s", vigil_engine_errmsg(p->h->e));
  return rc < 0 ? rc : r.oom ? VIGIL_ENOMEM : 0;
}

static int check_key(vigil_plugin *p, const char *key) {
  if (key && *key && strlen(key) <= MAX_KEY) return 0;
  host_log(p->h, VIGIL_LOG_ERROR, p, "a key must be 1 to %d bytes of text", MAX_KEY);
  return VIGIL_EINVAL;
}

static int api_kv_put(vigil_plugin *p, const char *key, const void *value, size_t len) {
  if (check_key(p, key) < 0) return VIGIL_EINVAL;
  store *s = vigil__engine_store(p->h->e);
  char err[512];
  int rc = s->ops->kv_put(s, p->ns, key, value, len, err, sizeof err);
  if (rc < 0) host_log(p->h, VIGIL_LOG_ERROR, p, "cannot store %s: %s", key, err);
  return rc;
}

static int api_kv_get(vigil_plugin *p, const char *key, void **value, size_t *len) {
  if (check_key(p, key) < 0 || !value || !len) return VIGIL_EINVAL;
  store *s = vigil__engine_store(p->h->e);
  char err[512];
  int rc = s->ops->kv_get(s, p->ns, key, value, len, err, sizeof err);
  if (rc < 0 && rc != VIGIL_ENOENT) host_log(p->h, VIGIL_LOG_ERROR, p, "cannot read %s: %s", key, err);
  return rc;
}

static int api_kv_scan(vigil_plugin *p, vigil_plugin_kv_fn fn, void *ud) {
  if (!fn) return VIGIL_EINVAL;
  store *s = vigil__engine_store(p->h->e);
  char err[512];
  int rc = s->ops->kv_scan(s, p->ns, fn, ud, err, sizeof err);
  if (rc < 0) host_log(p->h, VIGIL_LOG_ERROR, p, "cannot read its keys: %s", err);
  return rc;
}

static void api_free(void *ptr) { free(ptr); }

static int api_on_status(vigil_plugin *p, char *(*fn)(void *ud), void *ud) {
  if (!p->initializing) return VIGIL_ESTATE;
  if (!fn) return VIGIL_EINVAL;
  p->status_fn = fn;
  p->status_ud = ud;
  return 0;
}

static int is_metric_name(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

/* Label pairs as Prometheus reads them: name="value",... with no newline. */
static int is_label_text(const char *s) {
  if (!s) return 1;
  if (strlen(s) > 512) return 0;
  for (; *s; s++)
    if (*s == '\n' || *s == '}' || *s == '{') return 0;
  return 1;
}

/* The families the host writes for every plugin (vigil__plugin_host_metrics_text). */
typedef struct host_metric {
  const char *name, *type, *help;
} host_metric;
static const host_metric host_metrics[] = {
    {"vigil_plugin_up", "gauge", "1 while the plugin runs, 0 when it was refused."},
    {"vigil_plugin_calls_total", "counter", "Events handed to the plugin."},
    {"vigil_plugin_failures_total", "counter", "Plugin callbacks that reported a failure."},
    {"vigil_plugin_slow_calls_total", "counter", "Plugin callbacks that took longer than the slow threshold."},
};

/* A plugin's metric as /metrics names it: vigil_plugin_<plugin>_<name>,
 * the plugin's name with anything but [a-z0-9_] as '_', so that no two
 * plugins (nor a plugin and the host) write the same family. */
static void full_metric_name(const vigil_plugin *p, const char *name, char *out, size_t len) {
  size_t n = (size_t)snprintf(out, len, "vigil_plugin_");
  for (const char *c = p->name; *c && n + 1 < len; c++)
    out[n++] = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ? *c
               : *c >= 'A' && *c <= 'Z'                             ? *c - 'A' + 'a'
                                                                    : '_';
  out[n] = '\0';
  snprintf(out + n, len - n, "_%s", name);
}

static int api_metric_set(vigil_plugin *p, const char *name, const char *type, const char *help, const char *labels,
                          double value) {
  if (!is_metric_name(name) || !type || (strcmp(type, "gauge") && strcmp(type, "counter")) || !is_label_text(labels)) {
    host_log(p->h, VIGIL_LOG_ERROR, p, "metric %s refused: name [a-z0-9_], type gauge or counter, labels k=\"v\"",
             name ? name : "(null)");
    return VIGIL_EINVAL;
  }
  if (!labels) labels = "";
  /* Prometheus's naming: a counter ends in _total, a gauge does not. */
  size_t len = strlen(name);
  int total = len >= 6 && !strcmp(name + len - 6, "_total");
  if (total && !strcmp(type, "gauge")) {
    host_log(p->h, VIGIL_LOG_ERROR, p, "metric %s refused: a gauge's name does not end in _total", name);
    return VIGIL_EINVAL;
  }
  char full[160];
  full_metric_name(p, name, full, sizeof full);
  if (!total && !strcmp(type, "counter")) snprintf(full + strlen(full), sizeof full - strlen(full), "_total");
  for (size_t i = 0; i < p->n_metrics; i++) {
    metric *m = &p->metrics[i];
    if (!strcmp(m->name, full) && !strcmp(m->labels, labels) && !strcmp(m->type, type)) {
      m->value = value;
      return 0;
    }
  }
  /* One family, one type, one plugin: Prometheus (promtool check metrics)
   * refuses a family written twice. */
  const char *clash = NULL;
  for (size_t i = 0; !clash && i < sizeof host_metrics / sizeof *host_metrics; i++)
    if (!strcmp(host_metrics[i].name, full)) clash = "the host's own";
  for (size_t i = 0; !clash && i < p->h->n; i++)
    for (size_t j = 0; !clash && j < p->h->plugins[i]->n_metrics; j++) {
      const metric *m = &p->h->plugins[i]->metrics[j];
      if (strcmp(m->name, full)) continue;
      if (p->h->plugins[i] != p)
        clash = "another plugin's";
      else if (strcmp(m->type, type))
        clash = "a metric of another type of this plugin's";
    }
  if (clash) {
    host_log(p->h, VIGIL_LOG_ERROR, p, "metric %s refused: %s is %s", name, full, clash);
    return VIGIL_EINVAL;
  }
  metric *grown = realloc(p->metrics, (p->n_metrics + 1) * sizeof *grown);
  if (!grown) return VIGIL_ENOMEM;
  p->metrics = grown;
  metric m = {strdup(full), strdup(type), strdup(help ? help : name), strdup(labels), value};
  if (!m.name || !m.type || !m.help || !m.labels) {
    free(m.name), free(m.type), free(m.help), free(m.labels);
    return VIGIL_ENOMEM;
  }
  for (char *c = m.help; *c; c++)
    if (*c == '\n') *c = ' ';
  p->metrics[p->n_metrics++] = m;
  return 0;
}

static int api_type_matches(vigil_plugin *p, const char *pattern, const char *type) {
  return pattern && type ? vigil__bus_pattern_match(pattern, type) : VIGIL_EINVAL;
}

static void api_alert_counts(vigil_plugin *p, uint64_t active[3], uint64_t open[3]) {
  vigil_query_counts c;
  vigil_query_count(p->h->e, &c);
  for (int i = 0; i < 3; i++) {
    if (active) active[i] = c.alerts_active[i];
    if (open) open[i] = c.alerts_open[i];
  }
}

static int api_filter_open(vigil_plugin *p, const char *name, vigil_filter **out, char *err, size_t errlen) {
  if (!out || !err || !errlen) return VIGIL_EINVAL;
  *out = NULL;
  if (!p->initializing) {
    snprintf(err, errlen, "filters are opened during init only");
    return VIGIL_ESTATE;
  }
  vigil_filter *f = calloc(1, sizeof *f);
  vigil_filter **grown = f ? realloc(p->filters, (p->n_filters + 1) * sizeof *grown) : NULL;
  if (grown) p->filters = grown;
  if (!grown || !(f->name = strdup(name ? name : ""))) {
    free(f);
    snprintf(err, errlen, "out of memory");
    return VIGIL_ENOMEM;
  }
  int rc = vigil__plugin_filter_open(p->h->e, p->h->dir, name, &f->impl, err, errlen);
  if (rc < 0) {
    free(f->name);
    free(f);
    return rc;
  }
  f->p = p;
  p->filters[p->n_filters++] = f;
  *out = f;
  return 0;
}

/* A failing predicate is the plugin's failure: logged where and why, and counted. */
static int api_filter_test(vigil_filter *f, const vigil_plugin_event *ev, char *err, size_t errlen) {
  if (!f || !ev) return -1;
  char why[1024];
  int rc = vigil__plugin_filter_test(f->impl, ev, why, sizeof why);
  if (rc < 0) {
    f->p->failures++;
    host_log(f->p->h, VIGIL_LOG_WARN, f->p, "filter %s on event %llu (%s): %s", f->name, (unsigned long long)ev->seq,
             ev->type, why);
    if (err && errlen) snprintf(err, errlen, "%s", why);
  }
  return rc;
}

static void api_filter_close(vigil_filter *f) {
  if (!f) return;
  vigil_plugin *p = f->p;
  for (size_t i = 0; i < p->n_filters; i++)
    if (p->filters[i] == f) {
      p->filters[i] = p->filters[--p->n_filters];
      break;
    }
  vigil__plugin_filter_close(f->impl);
  free(f->name);
  free(f);
}

/* ---- level 1.4: patients from a hospital's systems ---------------------------------------------- */

/* The patient's record row ("patients" namespace), parsed; NULL when none. */
static json_t *patient_row(store *s, const char *patient) {
  void *value = NULL;
  size_t len = 0;
  char err[256];
  if (s->ops->kv_get(s, "patients", patient, &value, &len, err, sizeof err) < 0) return NULL;
  json_t *row = json_loadb(value, len, 0, NULL);
  free(value);
  if (!json_is_object(row)) {
    json_decref(row);
    return NULL;
  }
  return row;
}

/* Adds each text of from's merged_from to list, once. */
static void merged_from_add(json_t *list, json_t *from) {
  json_t *m = json_is_object(from) ? json_object_get(from, "merged_from") : from;
  if (json_is_string(m)) {
    for (size_t i = 0; i < json_array_size(list); i++)
      if (json_equal(json_array_get(list, i), m)) return;
    json_array_append(list, m);
    return;
  }
  for (size_t i = 0; i < json_array_size(m); i++)
    merged_from_add(list, json_array_get(m, i));
}

static int add_row(store_kv_write **w, const char *patient, json_t *row) {
  char *text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
  int rc = text ? vigil__kv_write_add(w, "patients", patient, text, strlen(text)) : VIGIL_ENOMEM;
  free(text);
  return rc;
}

/* Whether list names allergy: the same code, or the same text. */
static int lists_allergy(const json_t *list, const json_t *allergy) {
  const char *code = json_string_value(json_object_get(allergy, "code"));
  const char *text = json_string_value(json_object_get(allergy, "text"));
  const json_t *a;
  size_t i;
  json_array_foreach(list, i, a) {
    if (vigil__unicode_same_bare(code, json_string_value(json_object_get(a, "code"))) ||
        vigil__unicode_same_bare(text, json_string_value(json_object_get(a, "text"))))
      return 1;
  }
  return 0;
}

/* S4 (docs/safety.md): a drug allergy (AL1-2 DA, or of no type) recorded
 * before that the update's list leaves out is kept, marked `removed_by` the
 * message that left it out (the first such), so a visit still raises its
 * alert and a clinician decides. A hospital list that drops an allergy is as
 * likely a feed's or a clerk's slip as a clinical decision, and an allergy to
 * the drug given is the harm. Other allergies follow the list. */
static void keep_dropped_drug_allergies(json_t *row, const json_t *old, const json_t *fields) {
  json_t *list = json_object_get(row, "allergies");
  const char *control = json_string_value(json_object_get(json_object_get(fields, "source"), "control_id"));
  const json_t *a;
  size_t i, kept = 0;
  json_array_foreach(json_object_get(old, "allergies"), i, a) {
    const char *type = json_string_value(json_object_get(a, "type"));
    if (!json_is_object(a) || (type && *type && strcmp(type, "DA")) || lists_allergy(list, a)) continue;
    json_t *copy = json_deep_copy(a);
    if (!json_object_get(copy, "removed_by"))
      json_object_set_new(copy, "removed_by", json_string(control ? control : "an update without a control id"));
    json_array_append_new(list, copy);
    kept++;
  }
  if (kept)
    json_object_set_new(row, "allergies_kept",
                        json_string("this update's allergy list left out drug allergies recorded before: they are "
                                    "kept, each marked removed_by, and a visit still raises their alert until a "
                                    "clinician acknowledges it with a reason"));
}

static int record_fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int record_fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return rc;
}

static int api_patient_record(vigil_plugin *p, const char *type, const char *fields_json, const char *kv_key,
                              const void *kv_value, size_t kv_len, char *err, size_t errlen) {
  if (p->initializing) return record_fail(err, errlen, VIGIL_ESTATE, "not during init");
  int merged = type && !strcmp(type, "patient.merged");
  if (!type || (!merged && strcmp(type, "patient.recorded")))
    return record_fail(err, errlen, VIGIL_EINVAL, "'%s' is not patient.recorded or patient.merged", type ? type : "");
  if (kv_key && check_key(p, kv_key) < 0) return record_fail(err, errlen, VIGIL_EINVAL, "kv_key: 1 to 256 bytes");
  json_t *fields = fields_json ? json_loads(fields_json, 0, NULL) : NULL;
  const char *patient = json_string_value(json_object_get(fields, "patient"));
  const char *from = json_string_value(json_object_get(fields, "merged_from"));
  const char *problem = patient ? vigil__unicode_id_problem(patient) : "is missing";
  int rc = 0;
  if (!json_is_object(fields))
    rc = record_fail(err, errlen, VIGIL_EINVAL, "the fields are not a JSON object");
  else if (problem || strlen(patient) > 200)
    rc = record_fail(err, errlen, VIGIL_EINVAL, "patient %s", problem ? problem : "is longer than 200 bytes");
  else if (merged && (!from || vigil__unicode_id_problem(from) || !strcmp(from, patient) || strlen(from) > 200))
    rc = record_fail(err, errlen, VIGIL_EINVAL, "merged_from must name another patient");
  if (rc < 0) {
    json_decref(fields);
    return rc;
  }
  store *s = vigil__engine_store(p->h->e);
  store_kv_write *writes = NULL;
  /* The surviving record keeps every reference merged into it. */
  json_t *row = json_deep_copy(fields), *list = json_array(), *old = patient_row(s, patient);
  json_object_del(row, "merged_from");
  /* Q6 (docs/safety.md): a record that says nothing of allergies (an A08
   * without AL1) keeps the recorded ones, and says so. */
  if (!json_object_get(row, "allergies") && json_array_size(json_object_get(old, "allergies"))) {
    json_object_set(row, "allergies", json_object_get(old, "allergies"));
    json_object_set_new(row, "allergies_kept",
                        json_string("this update named no allergies: the ones recorded before "
                                    "are kept"));
  } else if (json_is_array(json_object_get(row, "allergies"))) {
    keep_dropped_drug_allergies(row, old, fields);
  }
  /* S4: the removals a clinician confirmed stay on the record (who, when, why). */
  if (json_is_array(json_object_get(old, "allergies_removed")))
    json_object_set(row, "allergies_removed", json_object_get(old, "allergies_removed"));
  merged_from_add(list, old);
  json_t *prior = merged ? patient_row(s, from) : NULL;
  if (merged) {
    merged_from_add(list, prior);
    merged_from_add(list, json_object_get(fields, "merged_from"));
  }
  if (json_array_size(list)) json_object_set(row, "merged_from", list);
  rc = add_row(&writes, patient, row);
  if (rc == 0 && merged) {
    if (!prior) prior = json_pack("{s:s}", "patient", from);
    json_object_set_new(prior, "merged_into", json_string(patient));
    rc = add_row(&writes, from, prior);
  }
  if (rc == 0 && kv_key) rc = vigil__kv_write_add(&writes, p->ns, kv_key, kv_value ? kv_value : "", kv_len);
  /* S4: the event says the allergies as vigil holds them (those kept by Q6
   * or S4 (b) included, allergies_kept saying why), so what reads the event
   * (a visit's FHIR export, docs/fhir.md) shows the record, not the message. */
  char *data = NULL;
  if (rc == 0 && json_object_get(row, "allergies_kept")) {
    json_object_set(fields, "allergies", json_object_get(row, "allergies"));
    json_object_set(fields, "allergies_kept", json_object_get(row, "allergies_kept"));
    if (!(data = json_dumps(fields, JSON_COMPACT))) rc = VIGIL_ENOMEM;
  }
  json_decref(row);
  json_decref(list);
  json_decref(old);
  json_decref(prior);
  json_decref(fields);
  if (rc < 0) {
    free(data);
    vigil__kv_writes_free(writes);
    return record_fail(err, errlen, VIGIL_ENOMEM, "out of memory");
  }
  rc = vigil__site_event_writes(p->h->e, type, p->name, data ? data : fields_json, writes);
  free(data);
  if (rc < 0) {
    record_fail(err, errlen, rc, "%s", vigil_engine_errmsg(p->h->e));
    host_log(p->h, VIGIL_LOG_ERROR, p, "cannot record %s: %s", type, vigil_engine_errmsg(p->h->e));
  }
  return rc;
}

/* The site of a cluster node's plugin: what its namespace names after '@'
 * (plugin.NAME@SITE), NULL on a single server. */
static const char *api_site(vigil_plugin *p) {
  const char *at = p->ns ? strchr(p->ns, '@') : NULL;
  return at ? at + 1 : NULL;
}

/* An alarm manager's answer about an alert, in the alert's visit's history
 * (engine/alert_report.h), with the plugin's key in its transaction. */
static int api_alert_reported(vigil_plugin *p, uint64_t visit, uint64_t alert, const char *fields_json,
                              const char *kv_key, const void *kv_value, size_t kv_len, char *err, size_t errlen) {
  if (p->initializing) return record_fail(err, errlen, VIGIL_ESTATE, "not during init");
  if (kv_key && check_key(p, kv_key) < 0) return record_fail(err, errlen, VIGIL_EINVAL, "kv_key: 1 to 256 bytes");
  store_kv_write *writes = NULL;
  if (kv_key && vigil__kv_write_add(&writes, p->ns, kv_key, kv_value ? kv_value : "", kv_len) < 0)
    return record_fail(err, errlen, VIGIL_ENOMEM, "out of memory");
  int rc = vigil__alert_reported(p->h->e, visit, alert, p->name, fields_json, writes);
  if (rc < 0) {
    record_fail(err, errlen, rc, "%s", vigil_engine_errmsg(p->h->e));
    host_log(p->h, VIGIL_LOG_ERROR, p, "cannot record alert.reported of alert %llu: %s", (unsigned long long)alert,
             vigil_engine_errmsg(p->h->e));
  }
  return rc;
}

/* The visit as GET /api/v1/visits/{id} gives it, for a plugin that writes
 * what the visit holds to another system with the protocol's codes. */
static char *api_visit_json(vigil_plugin *p, uint64_t visit) { return vigil_visit_json(p->h->e, visit); }

/* The site's time zone (site.timezone), for a plugin reading times sent
 * without an offset: the site's, not the machine's. */
static const char *api_timezone(vigil_plugin *p) { return p->h->timezone; }

static const vigil_api api_table = {
    .abi_major = VIGIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VIGIL_PLUGIN_ABI_MINOR,
    .size = sizeof(vigil_api),
    .name = api_name,
    .settings = api_settings,
    .subscribe = api_subscribe,
    .on_close = api_on_close,
    .log = api_log,
    .loop = api_loop,
    .now_ms = api_now_ms,
    .last_seq = api_last_seq,
    .events_after = api_events_after,
    .kv_put = api_kv_put,
    .kv_get = api_kv_get,
    .kv_scan = api_kv_scan,
    .free = api_free,
    .on_status = api_on_status,
    .metric_set = api_metric_set,
    .type_matches = api_type_matches,
    .alert_counts = api_alert_counts,
    .filter_open = api_filter_open,
    .filter_test = api_filter_test,
    .filter_close = api_filter_close,
    .patient_record = api_patient_record,
    .site = api_site,
    .alert_reported = api_alert_reported,
    .visit_json = api_visit_json,
    .timezone = api_timezone,
};

/* ---- loading -------------------------------------------------------------------------- */

static void undo(vigil_plugin *p) {
  /* Close callbacks first, newest first: they may still use what they registered. */
  for (size_t i = p->n_closes; i-- > 0;)
    p->closes[i].fn(p->closes[i].ud);
  p->n_closes = 0;
  while (p->n_filters)
    api_filter_close(p->filters[p->n_filters - 1]);
  for (size_t i = 0; i < p->n_subs; i++) {
    vigil_engine_unsubscribe(p->h->e, p->subs[i]->id);
    free(p->subs[i]->pattern);
    free(p->subs[i]);
  }
  p->n_subs = 0;
  p->status_fn = NULL;
  for (size_t i = 0; i < p->n_metrics; i++)
    free(p->metrics[i].name), free(p->metrics[i].type), free(p->metrics[i].help), free(p->metrics[i].labels);
  p->n_metrics = 0;
}

static void refuse(vigil_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(vigil_plugin *p, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  free(p->error);
  p->error = strdup(msg);
  host_log(p->h, VIGIL_LOG_ERROR, p, "refused: %s", msg);
}

/* A Lua site plugin is a plugin whose init is vigil__plugin_lua_init with
 * the file it was found in. */
static int lua_init(vigil_plugin *p, const vigil_api *api, char **err) {
  return vigil__plugin_lua_init(p, api, p->path, err);
}
static const vigil_plugin_def lua_def = {VIGIL_PLUGIN_ABI_MAJOR, VIGIL_PLUGIN_ABI_MINOR, VIGIL_PLUGIN_SIGNATURE,
                                         VIGIL_VERSION_STRING, lua_init};

/* Reads the entry of a shared object and checks it before running any of it. */
static const vigil_plugin_def *open_shared(vigil_plugin *p) {
  dlerror();
  /* Never unmapped, even by dlclose: the libraries a plugin brings (libcurl,
   * OpenSSL, libmosquitto) leave exit handlers and thread-local destructors
   * behind that would then point at nothing when the process ends. */
  p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!p->dl) {
    refuse(p, "cannot load %s: %s", p->path, dlerror());
    return NULL;
  }
  const vigil_plugin_def *d = dlsym(p->dl, "vigil_plugin_entry");
  if (!d) {
    refuse(p, "%s has no vigil_plugin_entry: not a vigil plugin (see docs/plugins.md)", p->path);
    return NULL;
  }
  if (d->abi_major != VIGIL_PLUGIN_ABI_MAJOR) {
    refuse(p, "%s was built for plugin ABI %u.%u; this vigil has %d.%d", p->path, d->abi_major, d->abi_minor,
           VIGIL_PLUGIN_ABI_MAJOR, VIGIL_PLUGIN_ABI_MINOR);
    return NULL;
  }
  if (d->abi_minor > VIGIL_PLUGIN_ABI_MINOR) {
    refuse(p, "%s needs plugin ABI %u.%u, newer than this vigil's %d.%d: upgrade vigil", p->path, d->abi_major,
           d->abi_minor, VIGIL_PLUGIN_ABI_MAJOR, VIGIL_PLUGIN_ABI_MINOR);
    return NULL;
  }
  if (!d->signature || strcmp(d->signature, VIGIL_PLUGIN_SIGNATURE)) {
    refuse(p, "%s was built with signature '%s', this vigil has '%s': rebuild it here", p->path,
           d->signature ? d->signature : "(none)", VIGIL_PLUGIN_SIGNATURE);
    return NULL;
  }
  if (!d->init) {
    refuse(p, "%s has no init function", p->path);
    return NULL;
  }
  return d;
}

static void load_one(plugin_host *h, vigil_plugin *p, const char *dir) {
  struct stat st;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.so", dir, p->name);
  const vigil_plugin_def *d = NULL;
  if (stat(path, &st) == 0) {
    p->kind = "c";
    p->path = strdup(path);
    if (p->path) d = open_shared(p);
  } else {
    snprintf(path, sizeof path, "%s/%s.lua", dir, p->name);
    if (stat(path, &st) != 0) {
      refuse(p, "neither %s/%s.so nor %s/%s.lua exists", dir, p->name, dir, p->name);
      return;
    }
    p->kind = "lua";
    p->path = strdup(path);
    d = &lua_def;
  }
  if (!p->path) refuse(p, "out of memory");
  if (!d) return;
  p->def = d;
  char *err = NULL;
  p->initializing = 1;
  int rc = d->init(p, &api_table, &err);
  p->initializing = 0;
  if (rc != 0) {
    refuse(p, "init failed (%s): %s", rc < 0 ? vigil_err_name(rc) : "error", err ? err : "(no reason given)");
    undo(p);
  } else {
    p->running = 1;
    host_log(h, VIGIL_LOG_INFO, p, "loaded %s %s (%s), %zu subscription%s", p->kind, d->version ? d->version : "",
             p->path, p->n_subs, p->n_subs == 1 ? "" : "s");
  }
  free(err);
}

static int valid_name(const char *s) {
  if (!*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-')) return 0;
  return 1;
}

static int by_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return VIGIL_EINVAL;
}

/* The settings a plugin gets (JSON text, malloc'd): its table in
 * vigil.conf, and on a node of a cluster the table `sites[site]` over it,
 * setting by setting (a table such as the hl7 plugin's `alarms` replaced
 * whole), `sites` itself left out. A node serving several sites runs each
 * site's plugins in one process: a setting that must differ between them
 * (the hl7 plugin's listener port, AF1 of docs/deploy.md) is given per
 * site there. NULL with why set when `sites` is not a table of tables, or
 * is given to a single server (one site: nothing to choose between, and a
 * setting never silently ignored, H8 of docs/hl7.md); NULL with why empty:
 * out of memory. */
static char *site_settings(json_t *s, const char *name, const char *site, char *why, size_t whylen) {
  if (!json_is_object(s)) return strdup("{}");
  json_t *sites = json_object_get(s, "sites");
  if (!sites) return json_dumps(s, JSON_COMPACT);
  if (!site) {
    snprintf(why, whylen,
             "plugins.%s.sites: settings per site apply on a node of a cluster (`sites` in vigil.conf); this "
             "server has one site: give them in plugins.%s itself",
             name, name);
    return NULL;
  }
  if (!json_is_object(sites)) {
    snprintf(why, whylen, "plugins.%s.sites: want a table of site names, each with its settings", name);
    return NULL;
  }
  const char *key;
  json_t *one;
  json_object_foreach(sites, key, one) {
    if (!json_is_object(one)) {
      snprintf(why, whylen, "plugins.%s.sites.%s: want a table of the plugin's settings for that site", name, key);
      return NULL;
    }
  }
  json_t *mine = json_deep_copy(s);
  char *text = NULL;
  if (mine && json_object_del(mine, "sites") == 0) {
    json_t *over = json_object_get(sites, site);
    if (!over || json_object_update(mine, over) == 0) text = json_dumps(mine, JSON_COMPACT);
  }
  json_decref(mine);
  return text;
}

static int in_list(const char *csv, const char *name) {
  size_t n = strlen(name);
  for (const char *p = csv; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
    if (strcspn(p, ",") == n && !strncmp(p, name, n)) return 1;
  return 0;
}

int vigil__plugin_sites_check(const char *plugins_json, const char *sites_csv, char *err, size_t errlen) {
  json_t *cfg = plugins_json ? json_loads(plugins_json, 0, NULL) : NULL;
  const char *plugin, *site;
  json_t *settings, *one;
  int rc = 0;
  json_object_foreach(cfg, plugin, settings) {
    json_object_foreach(json_object_get(settings, "sites"), site, one) {
      if (in_list(sites_csv, site)) continue;
      rc = fail(err, errlen,
                "plugins.%s.sites.%s: '%s' is not one of this node's sites (%s): a misspelling? A site's settings "
                "are used only on a node that serves it",
                plugin, site, site, sites_csv);
      break;
    }
    if (rc < 0) break;
  }
  json_decref(cfg);
  return rc;
}

int vigil__plugin_host_new(const plugin_host_options *o, plugin_host **out, char *err, size_t errlen) {
  *out = NULL;
  json_t *cfg = NULL;
  if (o->plugins_json) {
    json_error_t je;
    cfg = json_loads(o->plugins_json, 0, &je);
    if (!cfg || !json_is_object(cfg)) {
      json_decref(cfg);
      return fail(err, errlen, "plugins: want a table of plugin names and their settings");
    }
  }
  size_t n = cfg ? json_object_size(cfg) : 0;
  const char **names = n ? calloc(n, sizeof *names) : NULL;
  size_t k = 0;
  const char *key;
  json_t *value;
  int rc = 0;
  json_object_foreach(cfg, key, value) {
    if (!valid_name(key))
      rc = fail(err, errlen, "plugins: '%s' is not a plugin name (letters a-z, digits, '_' and '-')", key);
    else if (!json_is_object(value) && !json_is_true(value))
      rc = fail(err, errlen, "plugins.%s: want a table of settings (or true)", key);
    if (rc < 0) break;
    if (names) names[k++] = key;
  }
  if (rc == 0 && n && !o->dir)
    rc = fail(err, errlen, "plugins are named but no plugin_dir is set: plugins load only from that folder");
  if (rc < 0) {
    free(names);
    json_decref(cfg);
    return rc;
  }
  plugin_host *h = calloc(1, sizeof *h);
  if (!h || (n && (!names || !(h->plugins = calloc(n, sizeof *h->plugins))))) {
    free(h);
    free(names);
    json_decref(cfg);
    return fail(err, errlen, "out of memory");
  }
  h->e = o->engine;
  h->loop = o->loop;
  if ((o->dir && !(h->dir = strdup(o->dir))) || (o->timezone && !(h->timezone = strdup(o->timezone))) ||
      (o->site && !(h->site = strdup(o->site)))) {
    free(h->dir);
    free(h->timezone);
    free(h->plugins);
    free(h);
    free(names);
    json_decref(cfg);
    return fail(err, errlen, "out of memory");
  }
  h->slow_ns = (o->slow_ms ? o->slow_ms : DEFAULT_SLOW_MS) * 1000000ull;
  h->log = o->log;
  h->log_ud = o->log_ud;
  if (n) qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    vigil_plugin *p = calloc(1, sizeof *p);
    if (!p) break;
    h->plugins[h->n++] = p;
    p->h = h;
    p->kind = "c";
    json_t *s = json_object_get(cfg, names[i]);
    char why[512] = "";
    p->name = strdup(names[i]);
    p->settings = site_settings(s, names[i], o->site, why, sizeof why);
    /* A cluster node's plugin keeps its rows (cursors, dead letters) per
     * site, in the store every node shares: the node that takes the site
     * over goes on from where the site's last owner stopped. */
    size_t nslen = strlen(names[i]) + sizeof "plugin.@" + (o->site ? strlen(o->site) : 0);
    if ((p->ns = malloc(nslen)))
      snprintf(p->ns, nslen, "plugin.%s%s%s", names[i], o->site ? "@" : "", o->site ? o->site : "");
    if (!p->name || !p->settings || !p->ns) {
      if (!p->name) p->name = strdup("?");
      refuse(p, "%s", *why ? why : "out of memory");
      continue;
    }
    load_one(h, p, o->dir);
  }
  free(names);
  json_decref(cfg);
  *out = h;
  return 0;
}

void vigil__plugin_host_counts(const plugin_host *h, unsigned *running, unsigned *failed) {
  *running = *failed = 0;
  for (size_t i = 0; h && i < h->n; i++)
    h->plugins[i]->running ? (*running)++ : (*failed)++;
}

unsigned vigil__plugin_host_degraded(const plugin_host *h) {
  unsigned n = 0;
  for (size_t i = 0; h && i < h->n; i++) {
    const vigil_plugin *p = h->plugins[i];
    if (!p->running || !p->status_fn) continue;
    char *text = p->status_fn(p->status_ud);
    json_t *st = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (json_is_string(json_object_get(st, "degraded"))) n++;
    json_decref(st);
  }
  return n;
}

void vigil__plugin_host_close(plugin_host *h) {
  if (!h || h->closed) return;
  h->closed = 1;
  for (size_t i = h->n; i-- > 0;) {
    vigil_plugin *p = h->plugins[i];
    if (p->running) undo(p);
    p->running = 0;
  }
}

void vigil__plugin_host_free(plugin_host *h) {
  if (!h) return;
  vigil__plugin_host_close(h);
  for (size_t i = 0; i < h->n; i++) {
    vigil_plugin *p = h->plugins[i];
    undo(p);
    if (p->dl) dlclose(p->dl);
    free(p->subs);
    free(p->closes);
    free(p->metrics);
    free(p->filters);
    free(p->name), free(p->path), free(p->settings), free(p->ns), free(p->error);
    free(p);
  }
  free(h->plugins);
  free(h->dir);
  free(h->timezone);
  free(h->site);
  free(h);
}

/* ---- what the server shows ---------------------------------------------------------- */

/* text without the plugin folder's path: what /api/v1/plugins shows names
 * a plugin's file by its name in the folder, never where the server keeps
 * it (X6); the log keeps the whole path. malloc'd, or NULL. */
static char *without_dir(const plugin_host *h, const char *text) {
  char *out = text ? strdup(text) : NULL;
  if (out) vigil__text_drop_dir(out, h->dir);
  return out;
}

char *vigil__plugin_host_status_json(plugin_host *h) {
  json_t *list = json_array();
  for (size_t i = 0; h && list && i < h->n; i++) {
    vigil_plugin *p = h->plugins[i];
    char *file = without_dir(h, p->path), *error = without_dir(h, p->error);
    json_t *subs = json_array();
    for (size_t j = 0; subs && j < p->n_subs; j++)
      json_array_append_new(subs, json_string(p->subs[j]->pattern));
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:o*, s:I, s:I, s:I, s:f}", "name", p->name, "kind", p->kind,
                          "path", file, "version", p->def ? p->def->version : NULL, "state",
                          p->running  ? "running"
                          : h->closed ? "closed"
                                      : "failed",
                          "subscriptions", subs, "calls", (json_int_t)p->calls, "failures", (json_int_t)p->failures,
                          "slow_calls", (json_int_t)p->slow, "max_call_ms", p->max_ms);
    if (o && error) json_object_set_new(o, "error", json_string(error));
    free(file);
    free(error);
    if (o && p->running && p->status_fn) {
      char *text = p->status_fn(p->status_ud);
      json_t *st = text ? json_loads(text, 0, NULL) : NULL;
      free(text);
      json_object_set_new(o, "status", st ? st : json_null());
    }
    json_array_append_new(list, o);
  }
  json_t *doc = list ? json_pack("{s:o}", "plugins", list) : NULL;
  char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
  json_decref(doc);
  return text;
}

static void head(buf *b, const char *name, const char *type, const char *help) {
  vigil__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The labels every line of a plugin p of h has: its name, and on a node
 * its site (AF2 of docs/deploy.md: a node's second site's hl7 plugin was
 * not in /metrics at all). */
static void line_labels(buf *b, const plugin_host *h, const vigil_plugin *p) {
  vigil__buf_printf(b, "plugin=\"%s\"", p->name);
  if (h->site) vigil__buf_printf(b, ",site=\"%s\"", h->site);
}

/* Is the family name the metric (i, j) of hosts[k] the first of its name
 * in the order hosts, plugins, metrics? */
static int first_of_name(plugin_host *const *hosts, size_t k, size_t i, size_t j) {
  const char *name = hosts[k]->plugins[i]->metrics[j].name;
  for (size_t k2 = 0; k2 <= k; k2++)
    for (size_t i2 = 0; i2 < (k2 == k ? i + 1 : hosts[k2]->n); i2++) {
      const vigil_plugin *p = hosts[k2]->plugins[i2];
      for (size_t j2 = 0; j2 < (k2 == k && i2 == i ? j : p->n_metrics); j2++)
        if (!strcmp(p->metrics[j2].name, name)) return 0;
    }
  return 1;
}

char *vigil__plugin_hosts_metrics_text(plugin_host *const *hosts, size_t n_hosts) {
  size_t n = 0;
  for (size_t k = 0; k < n_hosts; k++)
    n += hosts[k] ? hosts[k]->n : 0;
  if (!n) return strdup("");
  buf b;
  vigil__buf_init(&b);
  const host_metric *own = host_metrics;
  for (size_t m = 0; m < sizeof host_metrics / sizeof *host_metrics; m++) {
    head(&b, own[m].name, own[m].type, own[m].help);
    for (size_t k = 0; k < n_hosts; k++)
      for (size_t i = 0; hosts[k] && i < hosts[k]->n; i++) {
        vigil_plugin *p = hosts[k]->plugins[i];
        uint64_t v = m == 0 ? (uint64_t)p->running : m == 1 ? p->calls : m == 2 ? p->failures : p->slow;
        vigil__buf_printf(&b, "%s{", own[m].name);
        line_labels(&b, hosts[k], p);
        vigil__buf_printf(&b, "} %llu\n", (unsigned long long)v);
      }
  }
  /* The plugins' own, grouped by name (a name's HELP and TYPE once, over
   * every site's plugins). */
  for (size_t k = 0; k < n_hosts; k++)
    for (size_t i = 0; hosts[k] && i < hosts[k]->n; i++)
      for (size_t j = 0; j < hosts[k]->plugins[i]->n_metrics; j++) {
        const metric *m = &hosts[k]->plugins[i]->metrics[j];
        if (!first_of_name(hosts, k, i, j)) continue;
        const char *full = m->name; /* vigil_plugin_<plugin>_<name>: one plugin's */
        head(&b, full, m->type, m->help);
        for (size_t k2 = k; k2 < n_hosts; k2++)
          for (size_t i2 = k2 == k ? i : 0; hosts[k2] && i2 < hosts[k2]->n; i2++)
            for (size_t j2 = 0; j2 < hosts[k2]->plugins[i2]->n_metrics; j2++) {
              const metric *x = &hosts[k2]->plugins[i2]->metrics[j2];
              if (strcmp(x->name, m->name)) continue;
              vigil__buf_printf(&b, "%s{", full);
              line_labels(&b, hosts[k2], hosts[k2]->plugins[i2]);
              vigil__buf_printf(&b, "%s%s} %.17g\n", *x->labels ? "," : "", x->labels, x->value);
            }
      }
  return vigil__buf_take(&b);
}

char *vigil__plugin_host_metrics_text(plugin_host *h) { return vigil__plugin_hosts_metrics_text(&h, 1); }
