/* test_faults.c: a write or an fsync that fails, or a full disk, under the
 * SQLite store (through the "faulty" VFS of faulty_vfs.c).
 *
 * Whatever write of a commit fails, the command returns VIGIL_EIO with a
 * sentence that says what happened, and nothing of it exists: not in the
 * events table, not in memory (the visit reads as before, an alert it would
 * have raised does not exist, a visit it would have started does not exist
 * and the next start gets its id). Reads go on while writes fail. Once the
 * fault is gone the same command succeeds, and after a restart everything
 * acknowledged is there and the hash chain holds (db_check.c, and
 * vigil_audit_verify). The same for a batch (all of it goes), a start (the
 * protocol's sources or the visit's events), a huge batch that spills into
 * the log before its commit, and the engine's own start. A refused command
 * stays refused when the process dies right after its failed fsync (its
 * frames were in the log). A failed checkpoint is not a failed command. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "db_check.h"
#include "faulty_vfs.h"
#include "vigil/vigil.h"

#define T0 1767600000000LL
#define MINUTE 60000LL

static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'faults' { version = '1.0.0', phases = {\n"
    "  v.phase 'one' { items = {\n"
    "    v.check 'consent' {},\n"
    "    v.text 'note' {},\n"
    "    v.vitals 'vitals' { fields = { 'sbp' }, at = '10m', every = '10m', grace = '5m',\n"
    "      rule = function(x) if x.sbp > 160 then return v.alert.high('SBP high') end end },\n"
    "  } },\n"
    "  v.phase 'two' { items = { v.check 'done' {} } } } }\n";

typedef struct dirs {
  char root[64], protocol[128], db[128];
} dirs;

static int setup(void **state) {
  dirs *d = calloc(1, sizeof *d);
  strcpy(d->root, "/tmp/vigil-faults-XXXXXX");
  assert_non_null(mkdtemp(d->root));
  snprintf(d->protocol, sizeof d->protocol, "%s/faults", d->root);
  snprintf(d->db, sizeof d->db, "%s/vigil.db", d->root);
  char path[200];
  snprintf(path, sizeof path, "mkdir -p %s", d->protocol);
  assert_int_equal(system(path), 0);
  snprintf(path, sizeof path, "%s/protocol.lua", d->protocol);
  FILE *f = fopen(path, "w");
  fputs(PROTOCOL, f);
  fclose(f);
  faulty_vfs_clear();
  *state = d;
  return 0;
}

static int teardown(void **state) {
  dirs *d = *state;
  faulty_vfs_clear();
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", d->root);
  int rc = system(cmd);
  free(d);
  return rc;
}

/* The engine's error log, kept quiet: the failures are expected. */
static void quiet(void *ud, vigil_log_level level, const char *msg) { (void)ud, (void)level, (void)msg; }

static vigil_engine *open_engine(dirs *d, const char *vfs, int64_t now) {
  vigil_options o = {
      .clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = now, .db_path = d->db, .db_vfs = vfs, .log = quiet};
  vigil_engine *e;
  int rc = vigil_engine_new(&o, &e);
  if (rc < 0) fail_msg("open: %s", vigil_engine_errmsg(e));
  assert_int_equal(vigil_engine_load(e, d->protocol, NULL), 0);
  return e;
}

/* A visit's state as JSON, without what depends on "now". NULL: no visit. */
static json_t *state_of(vigil_engine *e, uint64_t id) {
  char *s = vigil_visit_json(e, id);
  if (!s) return NULL;
  json_t *j = json_loads(s, 0, NULL);
  vigil_free(s);
  assert_non_null(j);
  json_object_del(j, "gate");
  return j;
}

typedef struct log_end {
  uint64_t last_seq, alerts;
} log_end;

static int count_event(void *ud, const vigil_event *ev) {
  log_end *l = ud;
  l->last_seq = vigil_event_seq(ev);
  l->alerts += !strcmp(vigil_event_type(ev), "alert.raised");
  return 0;
}

/* The log read back through the engine (the store's scan). */
static log_end log_of(vigil_engine *e) {
  log_end l = {0, 0};
  assert_int_equal(vigil_engine_events(e, 0, count_event, &l), 0);
  return l;
}

static uint64_t last_seq(vigil_engine *e) { return log_of(e).last_seq; }

/* The file holds exactly the events 1..last, chained, and is sound. */
static void check_file(dirs *d, uint64_t last) {
  db_report r;
  if (db_check(d->db, 0, NULL, 0, NULL, NULL, &r) < 0) fail_msg("%s: %s", d->db, r.error);
  if (r.last_seq != last)
    fail_msg("%s ends at seq %llu, expected %llu", d->db, (unsigned long long)r.last_seq, (unsigned long long)last);
  char msg[1024];
  uint64_t events = 0;
  if (vigil_audit_verify(d->db, &events, NULL, msg, sizeof msg) != 0 || events != last)
    fail_msg("vigil audit verify: %s (%llu events)", msg, (unsigned long long)events);
}

#define MAX_VISITS 8

/* What must not change when a command fails. */
typedef struct snapshot {
  json_t *visit[MAX_VISITS + 1];
  uint64_t n_visits; /* visits 1..n_visits exist */
  uint64_t last_seq;
  uint64_t alerts; /* alerts raised so far: the next one would be alerts + 1 */
  vigil_stats stats;
} snapshot;

static void take(vigil_engine *e, uint64_t n_visits, snapshot *s) {
  memset(s, 0, sizeof *s);
  s->n_visits = n_visits;
  for (uint64_t i = 1; i <= n_visits; i++)
    assert_non_null(s->visit[i] = state_of(e, i));
  log_end l = log_of(e);
  s->last_seq = l.last_seq;
  s->alerts = l.alerts;
  vigil_engine_stats(e, &s->stats);
}

static void release(snapshot *s) {
  for (int i = 0; i <= MAX_VISITS; i++)
    json_decref(s->visit[i]);
  memset(s, 0, sizeof *s);
}

/* The engine, in memory and on disk, is exactly as in s. */
static void unchanged(dirs *d, vigil_engine *e, const snapshot *s) {
  for (uint64_t i = 1; i <= s->n_visits; i++) {
    json_t *now = state_of(e, i);
    if (!json_equal(now, s->visit[i])) {
      char *a = json_dumps(s->visit[i], JSON_INDENT(1)), *b = json_dumps(now, JSON_INDENT(1));
      fail_msg("visit %llu changed although its command failed:\nbefore: %s\nafter: %s", (unsigned long long)i, a, b);
    }
    json_decref(now);
  }
  /* A visit the failed command started does not exist. */
  assert_null(vigil_visit_json(e, s->n_visits + 1));
  /* An alert it raised does not exist (acknowledging it finds nothing). */
  assert_int_equal(vigil_alert_ack(e, s->alerts + 1, "nurse:ana", NULL), VIGIL_ENOENT);
  vigil_stats st;
  vigil_engine_stats(e, &st);
  assert_int_equal(st.events, s->stats.events);
  assert_int_equal(st.visits_active, s->stats.visits_active);
  assert_int_equal(st.alerts_active, s->stats.alerts_active);
  assert_int_equal(last_seq(e), s->last_seq);
  check_file(d, s->last_seq);
}

/* rc and the message of a command that met a fault. */
static void failed_cleanly(vigil_engine *e, int rc, const char *expect) {
  if (rc != VIGIL_EIO) fail_msg("expected VIGIL_EIO, got %d (%s)", rc, vigil_engine_errmsg(e));
  const char *msg = vigil_engine_errmsg(e);
  if (!strstr(msg, expect) || !strstr(msg, "nothing was recorded"))
    fail_msg("the message \"%s\" should say \"%s\" and \"nothing was recorded\"", msg, expect);
}

static int alert_exists(vigil_engine *e, uint64_t visit, const char *message) {
  char *s = vigil_visit_json(e, visit);
  int found = s && strstr(s, message) != NULL;
  vigil_free(s);
  return found;
}

/* Two visits: A (consent given, at its 10-minute checkpoint) and B (vitals
 * recorded). The command under test records A's vitals with SBP 170: one
 * item.recorded event and one alert. */
static vigil_engine *two_visits(dirs *d, const char *vfs) {
  vigil_engine *e = open_engine(d, vfs, T0);
  uint64_t a, b;
  assert_int_equal(vigil_visit_start(e, "faults", "chair-1", "nurse:ana", NULL, &a), 0);
  assert_int_equal(vigil_visit_start(e, "faults", "chair-2", "nurse:ana", NULL, &b), 0);
  assert_int_equal(a, 1);
  assert_int_equal(b, 2);
  assert_int_equal(vigil_visit_record_json(e, a, "nurse:ana", "{\"consent\": true}"), 0);
  assert_int_equal(vigil_engine_advance_to(e, T0 + 10 * MINUTE), 0);
  assert_int_equal(vigil_visit_record_json(e, b, "nurse:ana", "{\"vitals\": {\"sbp\": 120}}"), 0);
  return e;
}

static const char *HIGH = "{\"vitals\": {\"sbp\": 170}}";

/* Fails the 1st, then the 2nd, ... write (or sync) of the same command until
 * it has none left to fail, checking each time that nothing of it exists. */
static void every_fault_of_one_command(dirs *d, faulty_op op, int err, const char *expect) {
  vigil_engine *e = two_visits(d, FAULTY_VFS_NAME);
  snapshot before;
  take(e, 2, &before);
  int failures = 0;
  for (int n = 1;; n++) {
    if (n > 100) fail_msg("the command kept failing");
    faulty_vfs_arm(op, n, err, 0);
    int rc = vigil_visit_record_json(e, 1, "nurse:ana", HIGH);
    int injected = faulty_vfs_failures();
    faulty_vfs_clear();
    if (rc == 0) {
      assert_int_equal(injected, 0); /* the command had fewer than n */
      break;
    }
    assert_int_equal(injected, 1);
    failed_cleanly(e, rc, expect);
    assert_false(alert_exists(e, 1, "SBP high"));
    unchanged(d, e, &before);
    failures++;
  }
  assert_true(failures >= 1);
  print_message("the command failed cleanly at each of its %d %s\n", failures,
                op == FAULTY_WRITE ? "writes" : "fsyncs");
  /* The same command, without the fault: all of it, right after what was there. */
  assert_true(alert_exists(e, 1, "SBP high"));
  assert_int_equal(last_seq(e), before.last_seq + 2); /* item.recorded, alert.raised */
  check_file(d, before.last_seq + 2);
  json_t *a = state_of(e, 1), *b = state_of(e, 2);
  assert_true(json_equal(b, before.visit[2]));
  vigil_engine_free(e);

  /* After a restart (and without the shim) everything acknowledged is there. */
  e = open_engine(d, NULL, T0 + 10 * MINUTE);
  json_t *a2 = state_of(e, 1), *b2 = state_of(e, 2);
  assert_true(json_equal(a, a2));
  assert_true(json_equal(b, b2));
  vigil_engine_free(e);
  check_file(d, before.last_seq + 3); /* and engine.started */
  json_decref(a);
  json_decref(b);
  json_decref(a2);
  json_decref(b2);
  release(&before);
}

static void disk_full_on_any_write(void **state) {
  every_fault_of_one_command(*state, FAULTY_WRITE, SQLITE_FULL, "the disk is full");
}

static void io_error_on_any_write(void **state) {
  every_fault_of_one_command(*state, FAULTY_WRITE, SQLITE_IOERR_WRITE, "input/output error");
}

static void io_error_on_fsync(void **state) {
  every_fault_of_one_command(*state, FAULTY_SYNC, SQLITE_IOERR_FSYNC, "input/output error");
}

/* The disk stays full for a while: every write fails, reads go on, and when
 * there is room again the engine carries on where it was. */
static void a_full_disk_stops_writes_not_reads(void **state) {
  dirs *d = *state;
  vigil_engine *e = two_visits(d, FAULTY_VFS_NAME);
  snapshot before;
  take(e, 2, &before);
  faulty_vfs_arm(FAULTY_WRITE, 1, SQLITE_FULL, 1);
  failed_cleanly(e, vigil_visit_record_json(e, 1, "nurse:ana", HIGH), "the disk is full");
  failed_cleanly(e, vigil_visit_record_json(e, 2, "nurse:ana", "{\"vitals\": {\"sbp\": 130}}"), "the disk is full");
  uint64_t c = 0;
  failed_cleanly(e, vigil_visit_start(e, "faults", "chair-3", "nurse:ana", NULL, &c), "the disk is full");
  failed_cleanly(e, vigil_visit_abort(e, 2, "nurse:ana", "patient left"), "the disk is full");
  /* Time goes on: B's 20-minute checkpoint goes overdue at 25, but that
   * cannot be recorded either. */
  failed_cleanly(e, vigil_engine_advance_to(e, T0 + 26 * MINUTE), "the disk is full");
  /* Reads: every visit as it was, the log as it was. */
  unchanged(d, e, &before);
  assert_true(faulty_vfs_failures() >= 5);
  faulty_vfs_clear();

  /* Room again: the overdue deadline fires, and the same commands succeed. */
  assert_int_equal(vigil_engine_advance_to(e, T0 + 26 * MINUTE), 0);
  assert_int_equal(vigil_visit_record_json(e, 1, "nurse:ana", HIGH), 0);
  assert_int_equal(vigil_visit_start(e, "faults", "chair-3", "nurse:ana", NULL, &c), 0);
  assert_int_equal(c, 3);
  assert_true(alert_exists(e, 1, "SBP high"));
  char *b = vigil_visit_json(e, 2);
  assert_non_null(strstr(b, "vitals overdue"));
  vigil_free(b);
  json_t *after[4];
  for (int i = 1; i <= 3; i++)
    after[i] = state_of(e, i);
  uint64_t last = last_seq(e);
  vigil_engine_free(e);

  e = open_engine(d, NULL, T0 + 26 * MINUTE);
  for (int i = 1; i <= 3; i++) {
    json_t *j = state_of(e, i);
    assert_true(json_equal(j, after[i]));
    json_decref(j);
    json_decref(after[i]);
  }
  vigil_engine_free(e);
  check_file(d, last + 1);
  release(&before);
}

/* Commands between begin and commit are one transaction: a fault at commit
 * drops them all, whichever write it hits. */
static void a_failed_batch_drops_all_of_it(void **state) {
  dirs *d = *state;
  vigil_engine *e = two_visits(d, FAULTY_VFS_NAME);
  snapshot before;
  take(e, 2, &before);
  int failures = 0;
  for (int n = 1;; n++) {
    if (n > 100) fail_msg("the batch kept failing");
    vigil_engine_begin(e);
    uint64_t c = 0;
    assert_int_equal(vigil_visit_record_json(e, 1, "nurse:ana", HIGH), 0);
    assert_int_equal(vigil_visit_record_json(e, 2, "nurse:ana", "{\"vitals\": {\"sbp\": 130}}"), 0);
    assert_int_equal(vigil_visit_start(e, "faults", "chair-3", "nurse:ana", NULL, &c), 0);
    assert_int_equal(c, 3);
    assert_int_equal(vigil_visit_record_json(e, c, "nurse:ana", "{\"consent\": true}"), 0);
    faulty_vfs_arm(FAULTY_WRITE, n, SQLITE_FULL, 0);
    int rc = vigil_engine_commit(e);
    int injected = faulty_vfs_failures();
    faulty_vfs_clear();
    if (rc == 0) {
      assert_int_equal(injected, 0);
      break;
    }
    assert_int_equal(injected, 1);
    failed_cleanly(e, rc, "the disk is full");
    assert_false(alert_exists(e, 1, "SBP high"));
    unchanged(d, e, &before); /* visit 3 included: it does not exist */
    failures++;
  }
  assert_true(failures >= 2);
  print_message("the batch failed whole at each of its %d writes\n", failures);
  /* All of the batch: 2 recordings and an alert, a start and its phase, a consent. */
  assert_true(alert_exists(e, 1, "SBP high"));
  json_t *c = state_of(e, 3);
  assert_non_null(c);
  assert_string_equal(json_string_value(json_object_get(c, "status")), "active");
  json_decref(c);
  uint64_t last = last_seq(e);
  assert_true(last >= before.last_seq + 5);
  check_file(d, last);
  vigil_engine_free(e);
  e = open_engine(d, NULL, T0 + 10 * MINUTE);
  assert_true(alert_exists(e, 1, "SBP high"));
  assert_non_null(c = state_of(e, 3));
  json_decref(c);
  vigil_engine_free(e);
  check_file(d, last + 1);
  release(&before);
}

/* A batch too big for SQLite's page cache (2 MB by default): its pages
 * spill into the log while the events are being inserted, so the fault hits
 * an INSERT rather than the COMMIT. All of it goes, and the store goes on. */
static void a_fault_while_a_huge_batch_spills(void **state) {
  dirs *d = *state;
  vigil_engine *e = two_visits(d, FAULTY_VFS_NAME);
  snapshot before;
  take(e, 2, &before);
  char *json = malloc(20100);
  assert_non_null(json);
  strcpy(json, "{\"note\": \"");
  memset(json + 10, 'x', 20000);
  strcpy(json + 20010, "\"}");
  int in_insert = 0;
  for (int n = 1; n <= 401; n += 400) {
    vigil_engine_begin(e);
    for (int i = 0; i < 200; i++)
      assert_int_equal(vigil_visit_record_json(e, 2, "nurse:ana", json), 0);
    faulty_vfs_arm(FAULTY_WRITE, n, SQLITE_FULL, 0);
    int rc = vigil_engine_commit(e);
    int injected = faulty_vfs_failures(), writes = faulty_vfs_writes();
    faulty_vfs_clear();
    if (rc == 0) fail_msg("the batch was written without meeting write %d (%d writes)", n, writes);
    assert_int_equal(injected, 1);
    failed_cleanly(e, rc, "the disk is full");
    in_insert += strstr(vigil_engine_errmsg(e), "cannot write events") != NULL;
    unchanged(d, e, &before);
  }
  assert_true(in_insert > 0); /* not only at COMMIT */
  /* Without the fault: the whole batch, then the store goes on. */
  vigil_engine_begin(e);
  for (int i = 0; i < 200; i++)
    assert_int_equal(vigil_visit_record_json(e, 2, "nurse:ana", json), 0);
  faulty_vfs_clear(); /* counting */
  assert_int_equal(vigil_engine_commit(e), 0);
  print_message("a batch of 200 entries of 20 kB: %d writes\n", faulty_vfs_writes());
  assert_int_equal(vigil_visit_record_json(e, 1, "nurse:ana", HIGH), 0);
  uint64_t last = last_seq(e);
  assert_int_equal(last, before.last_seq + 200 + 2);
  check_file(d, last);
  free(json);
  vigil_engine_free(e);
  release(&before);
}

/* A full disk while starting a visit, whether it hits storing the protocol's
 * sources (the first visit on it) or the visit's events: the visit does not
 * exist and the next start gets its id. */
static void disk_full_while_starting_a_visit(void **state) {
  dirs *d = *state;
  vigil_engine *e = open_engine(d, FAULTY_VFS_NAME, T0);
  snapshot before;
  take(e, 0, &before);
  uint64_t id = 0;
  faulty_vfs_arm(FAULTY_WRITE, 1, SQLITE_FULL, 1);
  int rc = vigil_visit_start(e, "faults", "chair-1", "nurse:ana", NULL, &id);
  faulty_vfs_clear();
  /* Storing the sources failed: its own sentence (the command recorded nothing). */
  assert_int_equal(rc, VIGIL_EIO);
  assert_non_null(strstr(vigil_engine_errmsg(e), "the disk is full"));
  assert_null(vigil_visit_json(e, 1));
  assert_int_equal(last_seq(e), before.last_seq);
  check_file(d, before.last_seq);
  assert_int_equal(vigil_visit_start(e, "faults", "chair-1", "nurse:ana", NULL, &id), 0);
  assert_int_equal(id, 1);
  release(&before);

  /* The sources are stored now: the fault hits the visit's own events. */
  take(e, 1, &before);
  int failures = 0;
  for (int n = 1;; n++) {
    if (n > 100) fail_msg("the start kept failing");
    faulty_vfs_arm(FAULTY_WRITE, n, SQLITE_FULL, 0);
    rc = vigil_visit_start(e, "faults", "chair-2", "nurse:ana", NULL, &id);
    int injected = faulty_vfs_failures();
    faulty_vfs_clear();
    if (rc == 0) break;
    assert_int_equal(injected, 1);
    failed_cleanly(e, rc, "the disk is full");
    unchanged(d, e, &before); /* visit 2 does not exist */
    failures++;
  }
  assert_true(failures >= 1);
  assert_int_equal(id, 2);
  uint64_t last = last_seq(e);
  vigil_engine_free(e);
  e = open_engine(d, NULL, T0);
  json_t *j = state_of(e, 2);
  assert_non_null(j);
  json_decref(j);
  assert_null(vigil_visit_json(e, 3));
  assert_int_equal(vigil_visit_start(e, "faults", "chair-3", "nurse:ana", NULL, &id), 0);
  assert_int_equal(id, 3);
  last = last_seq(e);
  vigil_engine_free(e);
  check_file(d, last);
  release(&before);
}

/* The fsync of a commit fails and the engine stops before the disk is back:
 * the command was refused; after the restart it is either not there at all,
 * or there whole (its frames may have reached the disk: an fsync error leaves
 * that unknown), never in part, and the file is sound. */
static void a_failed_fsync_then_a_stop(void **state) {
  dirs *d = *state;
  vigil_engine *e = two_visits(d, FAULTY_VFS_NAME);
  snapshot before;
  take(e, 2, &before);
  faulty_vfs_arm(FAULTY_SYNC, 1, SQLITE_IOERR_FSYNC, 1);
  failed_cleanly(e, vigil_visit_record_json(e, 1, "nurse:ana", HIGH), "input/output error");
  unchanged(d, e, &before);
  vigil_engine_free(e); /* closing cannot checkpoint either */
  faulty_vfs_clear();

  e = open_engine(d, NULL, T0 + 10 * MINUTE);
  json_t *a = state_of(e, 1), *b = state_of(e, 2);
  assert_true(json_equal(b, before.visit[2]));
  int whole = alert_exists(e, 1, "SBP high");
  uint64_t last = last_seq(e);
  if (whole)
    assert_int_equal(last, before.last_seq + 3);
  else {
    assert_true(json_equal(a, before.visit[1]));
    assert_int_equal(last, before.last_seq + 1);
  }
  print_message("after a failed fsync and a stop, the refused command is %s\n",
                whole ? "there (its frames reached the disk)" : "not there");
  vigil_engine_free(e);
  check_file(d, last);
  json_decref(a);
  json_decref(b);
  release(&before);
}

/* The fsync of a commit fails, and then the process dies (kill -9) without
 * closing anything: the command was refused, so after the restart it is not
 * there, although its frames were written to the log before the fsync. With
 * sticky, every fsync fails until the end (two commands are refused). */
static void fsync_fails_then_a_crash(dirs *d, int sticky) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    vigil_engine *e = two_visits(d, FAULTY_VFS_NAME);
    uint64_t last = last_seq(e);
    faulty_vfs_arm(FAULTY_SYNC, 1, SQLITE_IOERR_FSYNC, sticky);
    int ok = vigil_visit_record_json(e, 1, "nurse:ana", HIGH) == VIGIL_EIO;
    if (sticky)
      ok &= vigil_visit_start(e, "faults", "chair-3", "nurse:ana", NULL, NULL) == VIGIL_EIO;
    else {
      faulty_vfs_clear();
      /* A refusal the engine meets without writing: the disk is fine again. */
      ok &= vigil_visit_record_json(e, 1, "nurse:ana", "{\"vitals\": {\"sbp\": 999}}") == VIGIL_EVALUE;
    }
    uint64_t report[2] = {(uint64_t)ok, last};
    if (write(fds[1], report, sizeof report) != sizeof report) _exit(2);
    pause(); /* killed here */
    _exit(0);
  }
  close(fds[1]);
  uint64_t report[2];
  assert_int_equal(read(fds[0], report, sizeof report), sizeof report);
  close(fds[0]);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  assert_true(report[0]); /* the commands failed with VIGIL_EIO */
  check_file(d, report[1]);
  vigil_engine *e = open_engine(d, NULL, T0 + 10 * MINUTE);
  assert_false(alert_exists(e, 1, "SBP high"));
  assert_null(vigil_visit_json(e, 3));
  assert_int_equal(last_seq(e), report[1] + 1); /* engine.started only */
  vigil_engine_free(e);
  check_file(d, report[1] + 1);
}

static void a_failed_fsync_then_a_crash(void **state) { fsync_fails_then_a_crash(*state, 0); }
static void failing_fsyncs_then_a_crash(void **state) { fsync_fails_then_a_crash(*state, 1); }

/* A full disk while the engine starts: one clear sentence, and it starts once
 * there is room. */
static void disk_full_at_start(void **state) {
  dirs *d = *state;
  vigil_engine *e = two_visits(d, NULL);
  vigil_engine_free(e);
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED,
                     .sim_start_ms = T0 + 30 * MINUTE,
                     .db_path = d->db,
                     .db_vfs = FAULTY_VFS_NAME,
                     .log = quiet};
  faulty_vfs_arm(FAULTY_WRITE, 1, SQLITE_FULL, 1);
  assert_int_equal(vigil_engine_new(&o, &e), VIGIL_EIO);
  assert_non_null(strstr(vigil_engine_errmsg(e), "the disk is full"));
  vigil_engine_free(e);
  faulty_vfs_clear();
  db_report r;
  if (db_check(d->db, 0, NULL, 0, NULL, NULL, &r) < 0) fail_msg("%s", r.error);
  uint64_t last = r.last_seq;
  assert_int_equal(vigil_engine_new(&o, &e), 0);
  /* The deadlines that passed while it could not start fire once asked
   * (not inside vigil_engine_new: vigil.h). */
  assert_int_equal(vigil_engine_fire_due(e), 0);
  char *a = vigil_visit_json(e, 1);
  assert_non_null(strstr(a, "vitals overdue"));
  vigil_free(a);
  vigil_engine_free(e);
  if (db_check(d->db, 0, NULL, 0, NULL, NULL, &r) < 0) fail_msg("%s", r.error);
  assert_true(r.last_seq > last);
}

/* What a hook adds on hearing a command's events (a note for a high alert)
 * commits with them, in one transaction (journal.c): whichever write fails,
 * the command's answer tells the truth, success exactly when its events are
 * durable, and the hook's note is there exactly when its alert is (a note
 * lost after its alert was stored was the second review's item 1). */
static void a_hooks_note_commits_with_the_command(void **state) {
  dirs *d = *state;
  char dir[200], path[260];
  snprintf(dir, sizeof dir, "%s/hooked", d->root);
  snprintf(path, sizeof path, "mkdir -p %s", dir);
  assert_int_equal(system(path), 0);
  snprintf(path, sizeof path, "%s/protocol.lua", dir);
  FILE *f = fopen(path, "w");
  fputs("local v = require 'vigil'\n"
        "return v.protocol 'hooked' { version = '1.0.0',\n"
        "  on = { alert = function(a) return v.note('tell the clinician') end },\n"
        "  phases = { v.phase 'one' { items = { v.vitals 'vitals' { fields = { 'sbp' },\n"
        "    rule = function(x) if x.sbp > 160 then return v.alert.high('SBP high') end end } } } } }\n",
        f);
  fclose(f);
  int injected = 1, refused = 0;
  for (int n = 1; injected && n < 100; n++) {
    unlink(d->db);
    vigil_options o = {
        .clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = d->db, .db_vfs = FAULTY_VFS_NAME, .log = quiet};
    vigil_engine *e;
    assert_int_equal(vigil_engine_new(&o, &e), 0);
    assert_int_equal(vigil_engine_load(e, dir, NULL), 0);
    uint64_t id;
    assert_int_equal(vigil_visit_start(e, "hooked", "chair", "nurse:ana", NULL, &id), 0);
    faulty_vfs_arm(FAULTY_WRITE, n, SQLITE_FULL, 0);
    int rc = vigil_visit_record_json(e, id, "nurse:ana", "{\"vitals\": {\"sbp\": 170}}");
    injected = faulty_vfs_failures();
    faulty_vfs_clear();
    char *state_text = vigil_visit_json(e, id);
    char *events = vigil_query_events_json(e, 0, id, 1000);
    int has_alert = strstr(state_text, "SBP high") != NULL, has_note = strstr(events, "tell the clinician") != NULL;
    vigil_free(state_text);
    vigil_free(events);
    if ((rc == 0) != has_alert)
      fail_msg("write %d failed: the command said %d but the alert %s", n, rc, has_alert ? "exists" : "does not");
    if (has_note != has_alert)
      fail_msg("write %d failed: the alert %s but the hook's note %s", n, has_alert ? "exists" : "does not",
               has_note ? "does" : "does not");
    refused += rc < 0;
    vigil_engine_free(e);
  }
  assert_true(refused > 0); /* the commit's writes were failed */
}

/* SQLite copies the log into the database file (a checkpoint) after a commit
 * once the log is long: that copy failing does not undo the commit, so the
 * command it followed succeeded, and the engine goes on. */
static void a_failed_checkpoint_is_not_a_failed_command(void **state) {
  dirs *d = *state;
  vigil_engine *e = two_visits(d, FAULTY_VFS_NAME);
  uint64_t first = last_seq(e);
  faulty_vfs_arm_on(FAULTY_DB_FILE, FAULTY_WRITE, 1, SQLITE_FULL, 1);
  int acked = 0, during = 0;
  for (int i = 0; i < 3000 && during < 20; i++) {
    int rc = vigil_visit_record_json(e, 2, "nurse:ana", "{\"vitals\": {\"sbp\": 120}}");
    if (rc < 0)
      fail_msg("command %d, with %d checkpoint writes failed so far: %s", i, faulty_vfs_failures(),
               vigil_engine_errmsg(e));
    acked++;
    during += faulty_vfs_failures() > 0;
  }
  if (!during) fail_msg("no checkpoint after %d commands", acked);
  print_message("%d commands acknowledged, the last %d while checkpoints failed\n", acked, during);
  uint64_t last = last_seq(e);
  check_file(d, last);
  faulty_vfs_clear();
  /* Room again: the next checkpoint works, nothing is lost. */
  for (int i = 0; i < 5; i++)
    assert_int_equal(vigil_visit_record_json(e, 2, "nurse:ana", "{\"vitals\": {\"sbp\": 121}}"), 0);
  json_t *b = state_of(e, 2);
  last = last_seq(e);
  vigil_engine_free(e);
  e = open_engine(d, NULL, T0 + 10 * MINUTE);
  json_t *b2 = state_of(e, 2);
  assert_true(json_equal(b, b2));
  assert_int_equal(last, first + (uint64_t)acked + 5); /* one item.recorded each */
  vigil_engine_free(e);
  check_file(d, last + 1);
  json_decref(b);
  json_decref(b2);
}

int main(void) {
  if (faulty_vfs_register() != SQLITE_OK) {
    fprintf(stderr, "cannot register the faulty VFS\n");
    return 1;
  }
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(disk_full_on_any_write),
      T(io_error_on_any_write),
      T(io_error_on_fsync),
      T(a_full_disk_stops_writes_not_reads),
      T(a_failed_batch_drops_all_of_it),
      T(a_fault_while_a_huge_batch_spills),
      T(disk_full_while_starting_a_visit),
      T(a_failed_fsync_then_a_stop),
      T(a_failed_fsync_then_a_crash),
      T(failing_fsyncs_then_a_crash),
      T(disk_full_at_start),
      T(a_failed_checkpoint_is_not_a_failed_command),
      T(a_hooks_note_commits_with_the_command),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
