/* test_plugins.c: the plugin host with real shared objects (tests/plugins/):
 * one at today's ABI level, one built against the saved level 1.0 header,
 * one whose init fails, two that must be refused before any of their code
 * runs, and a name with no file. The engine has a real SQLite store: what
 * the plugins did is read back from their key-value namespaces. */
#define _GNU_SOURCE
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

#include "engine/inspect.h"
#include "host/plugin_host.h"
#include "vigil/vigil.h"

#define T0 1767600000000LL

/* A high alert when the systolic is above 160. */
static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'plug' {\n"
                              "  version = '1.0.0',\n"
                              "  phases = { v.phase 'one' { items = {\n"
                              "    v.vitals 'vitals' { fields = { 'sbp' }, rule = function(x)\n"
                              "      if x.sbp > 160 then return v.alert.high('SBP high') end end },\n"
                              "  } } },\n"
                              "}\n";

typedef struct fixture {
  char dir[64], plugins[96], db[96];
  uv_loop_t loop;
  vigil_engine *e;
  plugin_host *h;
  char log[16384];
  size_t log_len;
  const char *timezone; /* site.timezone given to the host (level 1.8); NULL: none */
} fixture;

static void capture_log(void *ud, vigil_log_level level, const char *plugin, const char *msg) {
  fixture *f = ud;
  int n = snprintf(f->log + f->log_len, sizeof f->log - f->log_len, "%s: %s\n", plugin ? plugin : "host", msg);
  if (n > 0 && f->log_len + (size_t)n < sizeof f->log) f->log_len += (size_t)n;
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* The plugin folder: links to the built plugins, recorder twice. */
static void link_plugin(fixture *f, const char *target, const char *name) {
  char from[256], to[256];
  snprintf(from, sizeof from, "%s/%s.so", TEST_PLUGIN_DIR, target);
  snprintf(to, sizeof to, "%s/%s.so", f->plugins, name);
  assert_int_equal(symlink(from, to), 0);
}

static void open_engine(fixture *f) {
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = f->db};
  assert_int_equal(vigil_engine_new(&opts, &f->e), 0);
  if (vigil_engine_load(f->e, f->dir, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(f->e));
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/vigil-plugins-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  char path[128];
  snprintf(path, sizeof path, "%s/protocol.lua", f->dir);
  write_file(path, PROTOCOL);
  snprintf(f->plugins, sizeof f->plugins, "%s/plugins", f->dir);
  snprintf(f->db, sizeof f->db, "%s/vigil.db", f->dir);
  assert_int_equal(mkdir(f->plugins, 0755), 0);
  const char *names[] = {"recorder", "old_abi", "bad_init", "wrong_signature", "too_new"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    link_plugin(f, names[i], names[i]);
  link_plugin(f, "recorder", "recorder_b");
  assert_int_equal(uv_loop_init(&f->loop), 0);
  open_engine(f);
  *state = f;
  return 0;
}

static void close_all(fixture *f) {
  vigil__plugin_host_close(f->h);
  vigil_engine_free(f->e);
  f->e = NULL;
  uv_run(&f->loop, UV_RUN_DEFAULT);
  vigil__plugin_host_free(f->h);
  f->h = NULL;
}

static int teardown(void **state) {
  fixture *f = *state;
  close_all(f);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0) return -1;
  free(f);
  return 0;
}

/* The host of a cluster node's site (NULL: a single server's). */
static int start_host_at(fixture *f, const char *plugins_json, uint64_t slow_ms, const char *site) {
  plugin_host_options o = {.engine = f->e,
                           .site = site,
                           .loop = &f->loop,
                           .dir = f->plugins,
                           .plugins_json = plugins_json,
                           .slow_ms = slow_ms,
                           .log = capture_log,
                           .log_ud = f,
                           .timezone = f->timezone};
  char err[512];
  int rc = vigil__plugin_host_new(&o, &f->h, err, sizeof err);
  if (rc < 0) snprintf(f->log, sizeof f->log, "%s", err);
  return rc;
}

static int start_host(fixture *f, const char *plugins_json, uint64_t slow_ms) {
  return start_host_at(f, plugins_json, slow_ms, NULL);
}

/* A plugin's key, as text ("" when absent). */
static const char *kv(fixture *f, const char *plugin, const char *key) {
  static char out[256];
  char ns[64], err[256];
  snprintf(ns, sizeof ns, "plugin.%s", plugin);
  store *s = vigil__engine_store(f->e);
  void *v;
  size_t len;
  out[0] = '\0';
  if (s->ops->kv_get(s, ns, key, &v, &len, err, sizeof err) == 0) {
    snprintf(out, sizeof out, "%.*s", (int)len, (char *)v);
    free(v);
  }
  return out;
}

static uint64_t visit_with_alert(fixture *f) {
  uint64_t id;
  assert_int_equal(vigil_visit_start(f->e, "plug", "chair-1", "nurse:ana", NULL, &id), 0);
  if (vigil_visit_record_json(f->e, id, "nurse:ana", "{\"vitals\": {\"sbp\": 190}}") < 0)
    fail_msg("%s", vigil_engine_errmsg(f->e));
  return id;
}

static json_t *plugin_status(fixture *f, const char *name) {
  char *text = vigil__plugin_host_status_json(f->h);
  json_t *doc = json_loads(text, 0, NULL);
  free(text);
  json_t *list = json_object_get(doc, "plugins"), *p, *found = NULL;
  size_t i;
  json_array_foreach(list, i, p) if (!strcmp(json_string_value(json_object_get(p, "name")), name)) found = p;
  json_incref(found);
  json_decref(doc);
  assert_non_null(found);
  return found;
}

static void test_loads_refuses_and_undoes(void **state) {
  fixture *f = *state;
  assert_int_equal(start_host(f,
                              "{\"recorder\": {}, \"old_abi\": true, \"bad_init\": {}, \"wrong_signature\": {},"
                              " \"too_new\": {}, \"missing\": {}}",
                              0),
                   0);
  unsigned running, failed;
  vigil__plugin_host_counts(f->h, &running, &failed);
  assert_int_equal(running, 2);
  assert_int_equal(failed, 4);
  /* Only the running plugins' subscriptions are on the bus. */
  assert_int_equal(vigil__engine_subscriber_count(f->e), 2);
  assert_non_null(strstr(f->log, "missing: refused"));
  assert_non_null(strstr(f->log, "signature 'vigil-plugin:1:ptr4:long4:size4:le'"));
  assert_non_null(strstr(f->log, "newer than this vigil's"));
  assert_string_equal(kv(f, "wrong_signature", "ran"), "");
  assert_string_equal(kv(f, "too_new", "ran"), "");
  /* bad_init's close callback ran; what it registered is gone. */
  assert_string_equal(kv(f, "bad_init", "bad/undone"), "1");
  json_t *bad = plugin_status(f, "bad_init");
  assert_string_equal(json_string_value(json_object_get(bad, "state")), "failed");
  assert_non_null(strstr(json_string_value(json_object_get(bad, "error")), "its settings say no"));
  assert_null(json_object_get(bad, "status"));
  assert_int_equal(json_array_size(json_object_get(bad, "subscriptions")), 0);
  json_decref(bad);

  visit_with_alert(f);
  uint64_t last = vigil_query_last_seq(f->e);
  assert_true(last >= 3);
  /* The recorder heard every event; the old plugin every alert; bad_init nothing. */
  char key[64];
  int alerts = 0;
  for (uint64_t seq = 1; seq <= last; seq++) {
    snprintf(key, sizeof key, "seen/%010llu", (unsigned long long)seq);
    const char *type = kv(f, "recorder", key);
    if (!*type) continue; /* engine.started comes before the host */
    char copy[64];
    snprintf(copy, sizeof copy, "%s", type);
    snprintf(key, sizeof key, "old/%010llu", (unsigned long long)seq);
    assert_string_equal(kv(f, "old_abi", key), strncmp(copy, "alert.", 6) ? "" : copy);
    alerts += !strncmp(copy, "alert.", 6);
  }
  assert_int_equal(alerts, 1);
  assert_string_equal(kv(f, "bad_init", "bad/heard"), "");
  /* Subscribing after init is refused; a pattern that matches nothing too. */
  assert_string_equal(kv(f, "recorder", "late_subscribe"), "-6");
  assert_string_equal(kv(f, "recorder", "bad_pattern"), "-2");
  assert_string_equal(kv(f, "recorder", "matches"), "101");

  json_t *rec = plugin_status(f, "recorder");
  assert_string_equal(json_string_value(json_object_get(rec, "state")), "running");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "status"), "heard")),
                   json_integer_value(json_object_get(rec, "calls")));
  json_decref(rec);
  char *metrics = vigil__plugin_host_metrics_text(f->h);
  assert_non_null(strstr(metrics, "vigil_plugin_up{plugin=\"recorder\"} 1\n"));
  assert_non_null(strstr(metrics, "vigil_plugin_up{plugin=\"bad_init\"} 0\n"));
  assert_non_null(strstr(metrics, "# TYPE vigil_plugin_recorder_events_total counter\n"));
  assert_non_null(strstr(metrics, "vigil_plugin_recorder_events_total{plugin=\"recorder\"} "));
  assert_null(strstr(metrics, "bad_metric"));
  free(metrics);

  /* Stopping runs the close callbacks while the store is still open. */
  vigil__plugin_host_close(f->h);
  assert_int_equal(vigil__engine_subscriber_count(f->e), 0);
  assert_string_not_equal(kv(f, "recorder", "closed"), "");
}

static void test_failing_and_slow_callbacks(void **state) {
  fixture *f = *state;
  /* recorder fails on visit.started and dawdles on item.recorded; recorder_b
   * (the same code) must hear everything regardless. */
  assert_int_equal(start_host(f,
                              "{\"recorder\": {\"fail_type\": \"visit.started\", \"slow_type\": \"item.recorded\","
                              " \"slow_ms\": 60}, \"recorder_b\": {}}",
                              20),
                   0);
  visit_with_alert(f);
  json_t *a = plugin_status(f, "recorder"), *b = plugin_status(f, "recorder_b");
  assert_int_equal(json_integer_value(json_object_get(a, "failures")), 1);
  /* At least the dawdling one (a store write may be slow too on a busy disk). */
  assert_true(json_integer_value(json_object_get(a, "slow_calls")) >= 1);
  assert_int_equal(json_integer_value(json_object_get(b, "failures")), 0);
  assert_int_equal(json_integer_value(json_object_get(b, "calls")), json_integer_value(json_object_get(a, "calls")));
  json_decref(a);
  json_decref(b);
  assert_non_null(strstr(f->log, "recorder: failed (-1) on event"));
  assert_non_null(strstr(f->log, "(item.recorded): callbacks must not block the loop"));
  char *metrics = vigil__plugin_host_metrics_text(f->h);
  assert_non_null(strstr(metrics, "vigil_plugin_failures_total{plugin=\"recorder\"} 1\n"));
  assert_non_null(strstr(metrics, "vigil_plugin_slow_calls_total{plugin=\"recorder\"} "));
  free(metrics);
}

/* After a restart a plugin reads the log from wherever its cursor was. The
 * site's time zone (level 1.8) is what the host was given, NULL for none. */
static void test_replay_after_restart(void **state) {
  fixture *f = *state;
  assert_int_equal(start_host(f, "{\"recorder\": {}}", 0), 0);
  assert_string_equal(kv(f, "recorder", "timezone"), "(none)");
  visit_with_alert(f);
  uint64_t last = vigil_query_last_seq(f->e);
  close_all(f);
  open_engine(f);
  f->timezone = "Australia/Brisbane";
  assert_int_equal(start_host(f, "{\"recorder\": {}}", 0), 0);
  assert_string_equal(kv(f, "recorder", "timezone"), "Australia/Brisbane");
  char want[32];
  snprintf(want, sizeof want, "%llu", (unsigned long long)vigil_query_last_seq(f->e));
  assert_true(vigil_query_last_seq(f->e) >= last);
  assert_string_equal(kv(f, "recorder", "events_before_init"), want);
  assert_string_equal(kv(f, "recorder", "last_seq_at_init"), want);
}

/* Level 1.6: alert_reported records an answer about an alert in its visit's
 * history, with the plugin's key in its transaction, and refuses one named
 * with another visit, an alert that is not there, fields without a status,
 * and a call during init. */
static void test_alert_reported(void **state) {
  fixture *f = *state;
  assert_int_equal(start_host(f, "{\"recorder\": {\"report_alerts\": true}}", 0), 0);
  assert_string_equal(kv(f, "recorder", "report/in_init"), "-6"); /* VIGIL_ESTATE */
  uint64_t other; /* the visit before, which the recorder names wrongly */
  assert_int_equal(vigil_visit_start(f->e, "plug", "chair-0", "nurse:ana", NULL, &other), 0);
  uint64_t visit = visit_with_alert(f);
  assert_int_equal(visit, other + 1);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_string_equal(kv(f, "recorder", "report/other_visit"), "-3"); /* VIGIL_ENOENT */
  assert_string_equal(kv(f, "recorder", "report/no_alert"), "-3");
  assert_string_equal(kv(f, "recorder", "report/no_status"), "-2"); /* VIGIL_EINVAL */
  assert_string_equal(kv(f, "recorder", "report/accepted"), "0");
  /* level 1.7: the visit as the API gives it, with the protocol's codes */
  assert_string_equal(kv(f, "recorder", "visit/sbp"), "8480-6 mm[Hg]");
  assert_string_equal(kv(f, "recorder", "visit/none"), "0");
  assert_non_null(strstr(f->log, "cannot record alert.reported"));
  /* one event, in the visit's history, naming the alert; the key with it */
  char *text = vigil_query_events_json(f->e, 0, visit, 1000);
  json_t *events = json_loads(text, 0, NULL), *ev, *found = NULL;
  free(text);
  size_t i;
  int n = 0;
  json_array_foreach(json_is_array(events) ? events : json_object_get(events, "events"), i, ev) {
    if (strcmp(json_string_value(json_object_get(ev, "type")), "alert.reported")) continue;
    n++;
    found = ev;
  }
  assert_int_equal(n, 1);
  json_t *d = json_object_get(found, "data");
  assert_string_equal(json_string_value(json_object_get(d, "status")), "accepted");
  assert_string_equal(json_string_value(json_object_get(found, "actor")), "recorder");
  char key[32];
  snprintf(key, sizeof key, "ack/%lld", (long long)json_integer_value(json_object_get(d, "alert")));
  assert_string_equal(kv(f, "recorder", key), "AA");
  json_decref(events);
}

static void test_configuration_errors(void **state) {
  fixture *f = *state;
  assert_int_equal(start_host(f, "{\"../recorder\": {}}", 0), VIGIL_EINVAL);
  assert_non_null(strstr(f->log, "'../recorder' is not a plugin name"));
  assert_int_equal(start_host(f, "[\"recorder\"]", 0), VIGIL_EINVAL);
  assert_int_equal(start_host(f, "{\"recorder\": 3}", 0), VIGIL_EINVAL);
  /* No folder, no plugins: naming one is an error, naming none is fine. */
  plugin_host_options o = {.engine = f->e, .loop = &f->loop, .plugins_json = "{\"recorder\": {}}"};
  char err[256];
  assert_int_equal(vigil__plugin_host_new(&o, &f->h, err, sizeof err), VIGIL_EINVAL);
  assert_non_null(strstr(err, "no plugin_dir"));
  o.plugins_json = NULL;
  assert_int_equal(vigil__plugin_host_new(&o, &f->h, err, sizeof err), 0);
  unsigned running, failed;
  vigil__plugin_host_counts(f->h, &running, &failed);
  assert_int_equal(running + failed, 0);
  char *metrics = vigil__plugin_host_metrics_text(f->h);
  assert_string_equal(metrics, "");
  free(metrics);
}

/* Settings per site (docs/plugins.md; AF1 of docs/deploy.md: a node's two
 * sites' hl7 plugins had one port between them): on a node, the plugin's
 * `sites.<site>` table over its own settings; `sites` given to a single
 * server, or not a table of tables, refuses the plugin, saying so. */
static void test_settings_per_site(void **state) {
  fixture *f = *state;
  const char *cfg = "{\"recorder\": {\"fail_type\": \"visit.started\", \"sites\": {\"north\": {\"fail_type\": \"\"}}}}";
  const char *sites[] = {"north", "south"};
  const char *patients[] = {"chair-n", "chair-s"};
  unsigned running, failed;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(start_host_at(f, cfg, 0, sites[i]), 0);
    vigil__plugin_host_counts(f->h, &running, &failed);
    assert_int_equal(running, 1);
    uint64_t id;
    assert_int_equal(vigil_visit_start(f->e, "plug", patients[i], "nurse:ana", NULL, &id), 0);
    json_t *rec = plugin_status(f, "recorder");
    /* north's fail_type is its own (""), south's the plugin's. */
    assert_int_equal(json_integer_value(json_object_get(rec, "failures")), i == 0 ? 0 : 1);
    json_decref(rec);
    close_all(f);
    open_engine(f);
  }
  /* Refused: on a single server (no site), or not a table of tables. */
  static const struct {
    const char *json, *site, *says;
  } refused[] = {
      {NULL, NULL, "plugins.recorder.sites: settings per site apply on a node of a cluster"},
      {"{\"recorder\": {\"sites\": {\"north\": 3}}}", "south",
       "plugins.recorder.sites.north: want a table of the plugin's settings"},
      {"{\"recorder\": {\"sites\": [1]}}", "south", "plugins.recorder.sites: want a table of site names"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    f->log_len = 0;
    assert_int_equal(start_host_at(f, refused[i].json ? refused[i].json : cfg, 0, refused[i].site), 0);
    vigil__plugin_host_counts(f->h, &running, &failed);
    assert_int_equal(failed, 1);
    if (!strstr(f->log, refused[i].says)) fail_msg("no '%s' in %s", refused[i].says, f->log);
    close_all(f);
    open_engine(f);
  }
}

/* A Lua site plugin: counts alerts by priority, keeps the last one, warns
 * on high ones; fails on visit.started and loops forever on item.recorded
 * when its settings say so. */
static const char *SITE_LUA = "local seen = 0\n"
                              "return {\n"
                              "  on = {\n"
                              "    [\"alert.raised\"] = function(event, ctx)\n"
                              "      seen = seen + 1\n"
                              "      ctx.count('alerts_by_priority', { priority = event.data.priority })\n"
                              "      ctx.count('events')\n"
                              "      ctx.put('last_alert', tostring(event.seq))\n"
                              "      ctx.put('seen', tostring(seen))\n"
                              "      if event.data.priority == 'high' then\n"
                              "        ctx.warn('high alert in visit ' .. event.visit .. ': ' .. event.data.message)\n"
                              "      end\n"
                              "    end,\n"
                              "    [\"visit.started\"] = function(event, ctx)\n"
                              "      if ctx.settings.fail_on_start then error('told to fail') end\n"
                              "    end,\n"
                              "    [\"item.recorded\"] = function(event, ctx)\n"
                              "      if ctx.settings.loop then while true do end end\n"
                              "    end,\n"
                              "  },\n"
                              "}\n";

static void write_plugin(fixture *f, const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s.lua", f->plugins, name);
  write_file(path, text);
}

/* /metrics as Prometheus reads it: each family's TYPE once, before its
 * samples, no sample of an undeclared family; and promtool check metrics
 * passes where promtool is installed (the prometheus package,
 * scripts/install-deps). Before: a plugin's calls_total was written as a
 * second vigil_plugin_calls_total family, which promtool refuses. */
static void expect_valid_exposition(const char *metrics) {
  char families[64][128];
  size_t n = 0;
  const char *line = metrics;
  while (*line) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char name[128] = "";
    if (!strncmp(line, "# TYPE ", 7)) {
      snprintf(name, sizeof name, "%.*s", (int)strcspn(line + 7, " "), line + 7);
      for (size_t i = 0; i < n; i++)
        if (!strcmp(families[i], name)) fail_msg("family %s declared twice:\n%s", name, metrics);
      assert_true(n < 64);
      snprintf(families[n++], sizeof families[0], "%s", name);
    } else if (line[0] != '#' && len) {
      snprintf(name, sizeof name, "%.*s", (int)strcspn(line, "{ "), line);
      int declared = 0;
      for (size_t i = 0; i < n; i++)
        declared |= !strcmp(families[i], name);
      if (!declared) fail_msg("sample of undeclared family %s:\n%s", name, metrics);
    }
    line += len + (end ? 1 : 0);
  }
  if (system("command -v promtool > /dev/null 2>&1") != 0) {
    print_message("promtool is not installed (the prometheus package): its check is skipped\n");
    return;
  }
  char out[4096] = "", cmd[128];
  char path[] = "/tmp/vigil-promtool-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof cmd, "promtool check metrics > %s 2>&1", path);
  FILE *p = popen(cmd, "w");
  assert_non_null(p);
  fputs(metrics, p);
  int rc = pclose(p);
  FILE *o = fopen(path, "r");
  size_t got = o ? fread(out, 1, sizeof out - 1, o) : 0;
  out[got] = '\0';
  if (o) fclose(o);
  unlink(path);
  if (rc != 0) fail_msg("promtool check metrics refuses: %s", out);
}

/* A site plugin whose metric, prefixed with its name, is one of the host's own families. */
static const char *CALLS_LUA =
    "return { on = { [\"alert.raised\"] = function(event, ctx) ctx.count('calls_total') end } }\n";

static void test_lua_site_plugin(void **state) {
  fixture *f = *state;
  write_plugin(f, "site", SITE_LUA);
  write_plugin(f, "slow", CALLS_LUA);
  assert_int_equal(
      start_host(f, "{\"site\": {\"fail_on_start\": true, \"loop\": true}, \"recorder\": {}, \"slow\": {}}", 0), 0);
  unsigned running, failed;
  vigil__plugin_host_counts(f->h, &running, &failed);
  assert_int_equal(running, 3);
  json_t *site = plugin_status(f, "site");
  assert_string_equal(json_string_value(json_object_get(site, "kind")), "lua");
  assert_int_equal(json_array_size(json_object_get(site, "subscriptions")), 3);
  json_decref(site);
  uint64_t before = vigil_query_last_seq(f->e);
  visit_with_alert(f);
  /* The alert went through the plugin's own code. */
  char key[32];
  uint64_t alert_seq = 0;
  for (uint64_t seq = before + 1; seq <= vigil_query_last_seq(f->e); seq++) {
    snprintf(key, sizeof key, "seen/%010llu", (unsigned long long)seq);
    if (!strcmp(kv(f, "recorder", key), "alert.raised")) alert_seq = seq;
  }
  char want[32];
  snprintf(want, sizeof want, "%llu", (unsigned long long)alert_seq);
  assert_string_equal(kv(f, "site", "last_alert"), want);
  assert_string_equal(kv(f, "site", "seen"), "1");
  assert_non_null(strstr(f->log, "site: high alert in visit 1: SBP high"));
  char *metrics = vigil__plugin_host_metrics_text(f->h);
  assert_non_null(strstr(metrics, "vigil_plugin_site_alerts_by_priority_total{plugin=\"site\",priority=\"high\"} 1\n"));
  /* Names two plugins, or a plugin and the host, both use are each their own. */
  assert_non_null(strstr(metrics, "vigil_plugin_site_events_total{plugin=\"site\"} 1\n"));
  assert_non_null(strstr(metrics, "# TYPE vigil_plugin_recorder_events_total counter\n"));
  assert_non_null(strstr(metrics, "# TYPE vigil_plugin_recorder_calls_total counter\n"));
  assert_non_null(strstr(metrics, "vigil_plugin_recorder_calls_total{plugin=\"recorder\"} "));
  /* A plugin whose metric would be one of the host's families is refused it. */
  assert_non_null(strstr(f->log, "metric calls_total refused: vigil_plugin_slow_calls_total is the host's own"));
  expect_valid_exposition(metrics);
  free(metrics);
  /* Its error and its endless loop each failed one call, with where and why. */
  assert_non_null(strstr(f->log, "site: on visit.started (event"));
  assert_non_null(strstr(f->log, "site.lua:15: told to fail"));
  assert_non_null(strstr(f->log, "instruction budget"));
  site = plugin_status(f, "site");
  assert_int_equal(json_integer_value(json_object_get(site, "failures")), 2);
  json_decref(site);
  /* The other plugin heard every event regardless. */
  json_t *rec = plugin_status(f, "recorder");
  assert_int_equal(json_integer_value(json_object_get(rec, "calls")), vigil_query_last_seq(f->e) - before);
  assert_int_equal(json_integer_value(json_object_get(rec, "failures")), 0);
  json_decref(rec);
}

/* The protocols' sandbox: no io, no unknown globals, patterns checked. */
static void test_lua_site_plugins_refused(void **state) {
  fixture *f = *state;
  write_plugin(f, "uses_io", "local f = io.open('/etc/passwd')\nreturn { on = {} }\n");
  write_plugin(f, "bad_pattern", "return { on = { ['nothing.*'] = function() end } }\n");
  write_plugin(f, "no_table", "return 42\n");
  write_plugin(f, "syntax", "return { on = \n");
  assert_int_equal(start_host(f, "{\"uses_io\": {}, \"bad_pattern\": {}, \"no_table\": {}, \"syntax\": {}}", 0), 0);
  unsigned running, failed;
  vigil__plugin_host_counts(f->h, &running, &failed);
  assert_int_equal(running, 0);
  assert_int_equal(failed, 4);
  assert_int_equal(vigil__engine_subscriber_count(f->e), 0);
  assert_non_null(strstr(f->log, "uses_io.lua:1: unknown global 'io'"));
  assert_non_null(strstr(f->log, "'nothing.*' matches no event type"));
  assert_non_null(strstr(f->log, "no_table.lua: should return { on = "));
  assert_non_null(strstr(f->log, "syntax.lua:2:"));
}

/* A site's filter (api level 1.3): high alerts of Room 2 while the visit is
 * on; it fails (writing to the read-only visit) on the entries of patient
 * "boom". */
static const char *ROOM2_LUA = "-- room2.lua\n"
                               "return function(event, visit)\n"
                               "  if visit and visit.patient == 'boom' and event.type == 'item.recorded' then\n"
                               "    visit.patient = 'changed'\n"
                               "  end\n"
                               "  return event.type == 'alert.raised' and event.data.priority == 'high'\n"
                               "    and visit.status == 'active' and (visit.location or ''):match('^Room 2') ~= nil\n"
                               "end\n";

static uint64_t start_in(fixture *f, const char *patient, const char *location, int sbp) {
  uint64_t id;
  assert_int_equal(vigil_visit_start_at(f->e, "plug", patient, location, "nurse:ana", NULL, &id), 0);
  char entry[64];
  snprintf(entry, sizeof entry, "{\"vitals\": {\"sbp\": %d}}", sbp);
  if (vigil_visit_record_json(f->e, id, "nurse:ana", entry) < 0) fail_msg("%s", vigil_engine_errmsg(f->e));
  return id;
}

/* The seq of the first event of type in visit after seq `after` (0: none). */
static uint64_t seq_of(fixture *f, uint64_t after, uint64_t visit_id, const char *type) {
  char *text = vigil_query_events_json(f->e, after, visit_id, 1000);
  json_t *doc = json_loads(text, 0, NULL), *ev;
  free(text);
  size_t i;
  uint64_t found = 0;
  json_array_foreach(json_object_get(doc, "events"), i, ev) {
    if (!found && !strcmp(json_string_value(json_object_get(ev, "type")), type))
      found = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
  }
  json_decref(doc);
  return found;
}

static const char *answer(fixture *f, const char *plugin, const char *what, uint64_t seq) {
  char key[48];
  snprintf(key, sizeof key, "%s/%010llu", what, (unsigned long long)seq);
  return kv(f, plugin, key);
}

static void test_site_filter(void **state) {
  fixture *f = *state;
  write_plugin(f, "room2", ROOM2_LUA);
  const char *cfg =
      "{\"recorder\": {\"where\": \"room2\"}, \"recorder_b\": {\"where\": \"room2\", \"leave_open\": true}}";
  assert_int_equal(start_host(f, cfg, 0), 0);
  unsigned running, failed;
  vigil__plugin_host_counts(f->h, &running, &failed);
  assert_int_equal(running, 2);
  uint64_t before = vigil_query_last_seq(f->e);
  uint64_t a = start_in(f, "chair-1", "Room 2 / chair 1", 190);
  uint64_t b = start_in(f, "chair-4", "Room 3 / chair 4", 190);
  uint64_t c = start_in(f, "boom", "Room 2 / chair 2", 120);
  uint64_t d = start_in(f, "chair-5", NULL, 190);
  /* Visit a ends after its alert: the alert was still raised while it was on. */
  assert_int_equal(vigil_visit_abort(f->e, a, "dr:kim", "unwell"), 0);
  uint64_t alert_a = seq_of(f, before, a, "alert.raised"), alert_b = seq_of(f, before, b, "alert.raised");
  uint64_t alert_d = seq_of(f, before, d, "alert.raised"), entry_c = seq_of(f, before, c, "item.recorded");
  assert_true(alert_a && alert_b && alert_d && entry_c);
  assert_string_equal(answer(f, "recorder", "match", alert_a), "1");
  assert_string_equal(answer(f, "recorder", "match", alert_b), "0");
  assert_string_equal(answer(f, "recorder", "match", alert_d), "0"); /* no location said */
  assert_string_equal(answer(f, "recorder", "match", entry_c), "-1");
  assert_string_equal(answer(f, "recorder", "match", seq_of(f, before, a, "visit.aborted")), "0");
  /* A failing predicate: logged with file:line and the event, counted. */
  assert_non_null(strstr(f->log, "recorder: filter room2 on event"));
  assert_non_null(strstr(f->log, "room2.lua:4: visit is read-only (tried to set 'patient')"));
  json_t *rec = plugin_status(f, "recorder");
  assert_int_equal(json_integer_value(json_object_get(rec, "failures")), 1);
  json_decref(rec);
  char *metrics = vigil__plugin_host_metrics_text(f->h);
  assert_non_null(strstr(metrics, "vigil_plugin_failures_total{plugin=\"recorder\"} 1\n"));
  free(metrics);

  /* After a restart the same events get the same answers, read from the log. */
  uint64_t last = vigil_query_last_seq(f->e);
  close_all(f);
  f->log_len = 0;
  open_engine(f);
  assert_int_equal(start_host(f, cfg, 0), 0);
  for (uint64_t seq = before + 1; seq <= last; seq++) {
    char was[16];
    snprintf(was, sizeof was, "%s", answer(f, "recorder", "match", seq));
    assert_string_equal(answer(f, "recorder", "replay", seq), was);
  }
  assert_string_equal(answer(f, "recorder", "replay", alert_a), "1");
}

/* A broken filter file fails the plugin's init with file:line; nothing of it stays. */
static void test_site_filter_refused(void **state) {
  fixture *f = *state;
  write_plugin(f, "syntax", "return function(event, visit)\n  return event.\nend\n");
  write_plugin(f, "number", "return 42\n");
  write_plugin(f, "uses_os", "local t = os.time()\nreturn function() return true end\n");
  assert_int_equal(start_host(f,
                              "{\"recorder\": {\"where\": \"syntax\"}, \"recorder_b\": {\"where\": \"missing\"},"
                              " \"old_abi\": {}}",
                              0),
                   0);
  unsigned running, failed;
  vigil__plugin_host_counts(f->h, &running, &failed);
  assert_int_equal(running, 1);
  assert_int_equal(failed, 2);
  assert_int_equal(vigil__engine_subscriber_count(f->e), 1); /* old_abi's only */
  json_t *rec = plugin_status(f, "recorder");
  assert_string_equal(json_string_value(json_object_get(rec, "state")), "failed");
  assert_non_null(strstr(json_string_value(json_object_get(rec, "error")), "syntax.lua:3:"));
  json_decref(rec);
  assert_non_null(strstr(f->log, "missing.lua: no such file"));
  assert_string_equal(kv(f, "recorder", "closed"), "0"); /* its close callback ran */
  close_all(f);
  f->log_len = 0;
  open_engine(f);
  assert_int_equal(
      start_host(f, "{\"recorder\": {\"where\": \"number\"}, \"recorder_b\": {\"where\": \"uses_os\"}}", 0), 0);
  assert_non_null(strstr(f->log, "number.lua:1: should return function(event, visit)"));
  assert_non_null(strstr(f->log, "uses_os.lua:1: unknown global 'os'"));
  vigil__plugin_host_counts(f->h, &running, &failed);
  assert_int_equal(running, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_loads_refuses_and_undoes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failing_and_slow_callbacks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replay_after_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_configuration_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_settings_per_site, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alert_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lua_site_plugin, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lua_site_plugins_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_site_filter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_site_filter_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
