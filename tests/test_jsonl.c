/* test_jsonl.c: the jsonl plugin (plugins/jsonl), loaded by the plugin host
 * into an engine with a real SQLite store: every event a line, in order,
 * rotated by size, and after the plugin was away (vigil stopped, a crash
 * that tore the last line) the file goes on from where it ended with
 * nothing missing and nothing doubled; with a site's `where` filter, only
 * the events it takes, the same live and after an absence; after the
 * database is restored from a backup, the new life's events are written
 * though their seqs are already in the file (AF3). */
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

#include "host/plugin_host.h"
#include "vigil/vigil.h"

#define T0 1767600000000LL

static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'lines' {\n"
    "  version = '1.0.0',\n"
    "  phases = { v.phase 'one' { items = {\n"
    "    v.vitals 'vitals' { fields = { 'sbp' }, rule = function(x)\n"
    "      if x.sbp > 160 then return v.alert.high('SBP high', { latching = false }) end end },\n"
    "  } } },\n"
    "}\n";

typedef struct fixture {
  char dir[64], plugins[96], db[96], file[128];
  uv_loop_t loop;
  vigil_engine *e;
  plugin_host *h;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/vigil-jsonl-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  char path[256];
  snprintf(path, sizeof path, "%s/protocol.lua", f->dir);
  FILE *fp = fopen(path, "w");
  fputs(PROTOCOL, fp);
  fclose(fp);
  snprintf(f->plugins, sizeof f->plugins, "%s/plugins", f->dir);
  snprintf(f->db, sizeof f->db, "%s/vigil.db", f->dir);
  snprintf(f->file, sizeof f->file, "%s/events.jsonl", f->dir);
  assert_int_equal(mkdir(f->plugins, 0755), 0);
  snprintf(path, sizeof path, "%s/jsonl.so", f->plugins);
  assert_int_equal(symlink(VIGIL_BUILT_PLUGINS "/jsonl.so", path), 0);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = f->db};
  assert_int_equal(vigil_engine_new(&opts, &f->e), 0);
  if (vigil_engine_load(f->e, f->dir, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(f->e));
  *state = f;
  return 0;
}

static void stop_host(fixture *f) {
  vigil__plugin_host_close(f->h);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  vigil__plugin_host_free(f->h);
  f->h = NULL;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->h) stop_host(f);
  vigil_engine_free(f->e);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0) return -1;
  free(f);
  return 0;
}

static void start_host(fixture *f, const char *extra) {
  char json[512];
  snprintf(json, sizeof json, "{\"jsonl\": {\"path\": \"%s\", \"start\": \"beginning\"%s}}", f->file, extra);
  plugin_host_options o = {.engine = f->e, .loop = &f->loop, .dir = f->plugins, .plugins_json = json};
  char err[256];
  assert_int_equal(vigil__plugin_host_new(&o, &f->h, err, sizeof err), 0);
  unsigned running, failed;
  vigil__plugin_host_counts(f->h, &running, &failed);
  assert_int_equal(running, 1);
}

static void nurse_work_as(fixture *f, const char *nurse, int entries) {
  uint64_t id;
  assert_int_equal(vigil_visit_start(f->e, "lines", "chair-1", nurse, NULL, &id), 0);
  for (int i = 0; i < entries; i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"vitals\": {\"sbp\": %d}}", i % 3 ? 120 : 190);
    if (vigil_visit_record_json(f->e, id, nurse, json) < 0) fail_msg("%s", vigil_engine_errmsg(f->e));
  }
}

static void nurse_work(fixture *f, int entries) { nurse_work_as(f, "nurse:ana", entries); }

typedef struct seen {
  uint64_t *seqs;
  size_t n;
  fixture *f;
} seen;

/* Reads one file's lines: each must be exactly the stored event's JSON. */
static void read_lines(seen *s, const char *path) {
  FILE *fp = fopen(path, "r");
  if (!fp) return;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, fp)) > 0) {
    assert_int_equal(line[n - 1], '\n');
    line[n - 1] = '\0';
    json_t *ev = json_loads(line, 0, NULL);
    assert_non_null(ev);
    s->seqs = realloc(s->seqs, (s->n + 1) * sizeof *s->seqs);
    s->seqs[s->n++] = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
    json_decref(ev);
  }
  free(line);
  fclose(fp);
}

/* All files, oldest first: every seq from the first kept one to the last, once. */
static void check_files(fixture *f, int rotated, uint64_t want_last) {
  seen s = {0};
  char path[160];
  for (int i = rotated; i >= 1; i--) {
    snprintf(path, sizeof path, "%s.%d", f->file, i);
    read_lines(&s, path);
  }
  read_lines(&s, f->file);
  assert_true(s.n > 0);
  for (size_t i = 1; i < s.n; i++)
    if (s.seqs[i] != s.seqs[i - 1] + 1)
      fail_msg("line %zu: seq %llu after %llu", i, (unsigned long long)s.seqs[i], (unsigned long long)s.seqs[i - 1]);
  assert_int_equal(s.seqs[s.n - 1], want_last);
  free(s.seqs);
}

static void test_lines_in_order_and_rotated(void **state) {
  fixture *f = *state;
  start_host(f, ", \"max_bytes\": 4096, \"keep\": 50");
  nurse_work(f, 40);
  char path[160];
  struct stat st;
  snprintf(path, sizeof path, "%s.1", f->file);
  assert_int_equal(stat(path, &st), 0); /* rotated at least once */
  assert_true(st.st_size <= 4096);
  int rotated = 0;
  for (;; rotated++) {
    snprintf(path, sizeof path, "%s.%d", f->file, rotated + 1);
    if (stat(path, &st) != 0) break;
  }
  check_files(f, rotated, vigil_query_last_seq(f->e));
  /* The first line is the log's first event. */
  snprintf(path, sizeof path, "%s.%d", f->file, rotated);
  FILE *fp = fopen(path, "r");
  char line[4096];
  assert_non_null(fgets(line, sizeof line, fp));
  fclose(fp);
  assert_int_equal(strncmp(line, "{\"seq\":1,", 9), 0);
}

static void test_keeps_only_keep_files(void **state) {
  fixture *f = *state;
  start_host(f, ", \"max_bytes\": 4096, \"keep\": 2");
  nurse_work(f, 60);
  char path[160];
  struct stat st;
  snprintf(path, sizeof path, "%s.2", f->file);
  assert_int_equal(stat(path, &st), 0);
  snprintf(path, sizeof path, "%s.3", f->file);
  assert_int_not_equal(stat(path, &st), 0);
  check_files(f, 2, vigil_query_last_seq(f->e));
}

static void test_goes_on_after_an_absence_and_a_torn_line(void **state) {
  fixture *f = *state;
  start_host(f, "");
  nurse_work(f, 5);
  stop_host(f);
  /* vigil runs on without the plugin; then a crash left half a line. */
  nurse_work(f, 5);
  FILE *fp = fopen(f->file, "a");
  fputs("{\"seq\":99999,\"time\":\"2026-", fp);
  fclose(fp);
  start_host(f, "");
  nurse_work(f, 2);
  check_files(f, 0, vigil_query_last_seq(f->e));
}

/* where: the raised alerts of active visits in phase one, written live and
 * caught up after vigil ran on without the plugin. */
static void test_where_writes_only_what_the_filter_takes(void **state) {
  fixture *f = *state;
  char path[160];
  snprintf(path, sizeof path, "%s/raised.lua", f->plugins);
  FILE *fp = fopen(path, "w");
  fputs("return function(event, visit)\n"
        "  return event.type == 'alert.raised' and visit.phase == 'one' and visit.status == 'active'\n"
        "end\n",
        fp);
  fclose(fp);
  start_host(f, ", \"where\": \"raised\"");
  nurse_work(f, 6);
  stop_host(f);
  nurse_work(f, 6);
  start_host(f, ", \"where\": \"raised\"");
  nurse_work(f, 3);
  seen s = {0};
  read_lines(&s, f->file);
  char *text = vigil_query_events_json(f->e, 0, 0, 1000);
  json_t *doc = json_loads(text, 0, NULL), *ev;
  free(text);
  size_t i, k = 0;
  json_array_foreach(json_object_get(doc, "events"), i, ev) {
    if (strcmp(json_string_value(json_object_get(ev, "type")), "alert.raised")) continue;
    assert_true(k < s.n);
    assert_int_equal(s.seqs[k++], json_integer_value(json_object_get(ev, "seq")));
  }
  assert_int_equal(k, s.n);
  assert_int_equal(k, 2 + 2 + 1); /* entries 0 and 3 of each visit are high */
  json_decref(doc);
  free(s.seqs);
}

/* E3 (docs/deploy.md): on a node of a cluster each site has its own
 * plugin instance and its own seqs, and two sites' lines met in one file
 * with nothing to tell them apart. Two sites' instances write one file;
 * then north goes on alone, and south, back, finds its own last line
 * behind north's newer ones: each line names its site first, and each
 * site's seqs run whole and in order. */
static plugin_host *start_site(fixture *f, const char *site) {
  char json[512];
  snprintf(json, sizeof json, "{\"jsonl\": {\"path\": \"%s\", \"start\": \"beginning\"}}", f->file);
  plugin_host_options o = {.engine = f->e, .loop = &f->loop, .dir = f->plugins, .plugins_json = json, .site = site};
  char err[256];
  plugin_host *h = NULL;
  assert_int_equal(vigil__plugin_host_new(&o, &h, err, sizeof err), 0);
  return h;
}

static void stop_site(fixture *f, plugin_host *h) {
  vigil__plugin_host_close(h);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  vigil__plugin_host_free(h);
}

static void test_cluster_lines_name_their_site(void **state) {
  fixture *f = *state;
  plugin_host *north = start_site(f, "north"), *south = start_site(f, "south");
  nurse_work(f, 4);
  stop_site(f, south);
  nurse_work(f, 3);
  stop_site(f, north);
  south = start_site(f, "south");
  stop_site(f, south);
  uint64_t last = vigil_query_last_seq(f->e);
  FILE *fp = fopen(f->file, "r");
  assert_non_null(fp);
  char *line = NULL;
  size_t cap = 0, n_lines = 0;
  uint64_t got[2] = {0, 0};
  const char *sites[2] = {"north", "south"};
  while (getline(&line, &cap, fp) > 0) {
    n_lines++;
    if (strncmp(line, "{\"site\":\"", 9)) fail_msg("line %zu does not name its site first: %.80s", n_lines, line);
    json_t *ev = json_loads(line, 0, NULL);
    assert_non_null(ev);
    const char *site = json_string_value(json_object_get(ev, "site"));
    int k = site && !strcmp(site, "north") ? 0 : site && !strcmp(site, "south") ? 1 : -1;
    if (k < 0) fail_msg("line %zu names site '%s'", n_lines, site ? site : "(none)");
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
    if (seq != got[k] + 1)
      fail_msg("%s: seq %llu after %llu (line %zu)", sites[k], (unsigned long long)seq, (unsigned long long)got[k],
               n_lines);
    got[k] = seq;
    json_decref(ev);
  }
  free(line);
  fclose(fp);
  for (int k = 0; k < 2; k++)
    if (got[k] != last)
      fail_msg("%s's lines end at seq %llu, not %llu", sites[k], (unsigned long long)got[k], (unsigned long long)last);
}

/* vigil stopped, its database closed; then opened again (from the same file). */
static void reopen_engine(fixture *f) {
  vigil_engine_free(f->e);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = f->db};
  assert_int_equal(vigil_engine_new(&opts, &f->e), 0);
  if (vigil_engine_load(f->e, f->dir, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(f->e));
}

static void copy_file(const char *from, const char *to) {
  char cmd[320];
  snprintf(cmd, sizeof cmd, "cp %s %s", from, to);
  assert_int_equal(system(cmd), 0);
}

typedef struct log_lines {
  vigil_engine *e;
  char **json;
  size_t n;
} log_lines;

static int keep_event(void *ud, const vigil_event *ev) {
  log_lines *l = ud;
  l->json = realloc(l->json, (l->n + 1) * sizeof *l->json);
  return (l->json[l->n++] = vigil_event_json(l->e, ev)) ? 0 : -1;
}

/* AF3: the backup is taken after the first work; the old life goes on past
 * it (its lines in the file), then the database is put back and a new life
 * writes events under the same seqs. The file must end with every event of
 * the new life after the backup, as the log holds it, in order. */
static void test_a_restored_database_is_written_again(void **state) {
  fixture *f = *state;
  start_host(f, "");
  nurse_work(f, 3);
  stop_host(f);
  reopen_engine(f); /* closed cleanly: the database file holds it all */
  uint64_t backup_seq = vigil_query_last_seq(f->e);
  char backup[160];
  snprintf(backup, sizeof backup, "%s/backup.db", f->dir);
  copy_file(f->db, backup);
  start_host(f, "");
  nurse_work(f, 8); /* the old life, past the backup */
  stop_host(f);
  uint64_t old_last = vigil_query_last_seq(f->e);
  vigil_engine_free(f->e);
  f->e = NULL;
  uv_run(&f->loop, UV_RUN_DEFAULT);
  copy_file(backup, f->db);
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = f->db};
  assert_int_equal(vigil_engine_new(&opts, &f->e), 0);
  if (vigil_engine_load(f->e, f->dir, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(f->e));
  assert_true(vigil_query_last_seq(f->e) >= backup_seq); /* and what its start wrote */
  start_host(f, "");
  nurse_work_as(f, "nurse:bo", 3); /* the new life: other events under the old life's seqs */
  stop_host(f);
  uint64_t head = vigil_query_last_seq(f->e);
  assert_true(head > backup_seq && head < old_last);

  log_lines want = {.e = f->e};
  assert_int_equal(vigil_engine_events(f->e, backup_seq, keep_event, &want), 0);
  assert_int_equal(want.n, head - backup_seq);
  FILE *fp = fopen(f->file, "r");
  assert_non_null(fp);
  char *line = NULL, **lines = NULL;
  size_t cap = 0, n = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, fp)) > 0) {
    line[len - 1] = '\0';
    lines = realloc(lines, (n + 1) * sizeof *lines);
    lines[n++] = strdup(line);
  }
  free(line);
  fclose(fp);
  if (n < want.n) fail_msg("%zu lines in the file, fewer than the %zu events of the new life", n, want.n);
  for (size_t i = 0; i < want.n; i++)
    if (strcmp(lines[n - want.n + i], want.json[i]))
      fail_msg("the new life's event %llu is not in the file where it should be (line %zu: %.80s)",
               (unsigned long long)(backup_seq + 1 + i), n - want.n + i + 1, lines[n - want.n + i]);
  for (size_t i = 0; i < n; i++)
    free(lines[i]);
  for (size_t i = 0; i < want.n; i++)
    vigil_free(want.json[i]);
  free(lines);
  free(want.json);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_lines_in_order_and_rotated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keeps_only_keep_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_goes_on_after_an_absence_and_a_torn_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_where_writes_only_what_the_filter_takes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cluster_lines_name_their_site, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_restored_database_is_written_again, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
