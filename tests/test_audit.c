/* test_audit.c: the audit trail. A store built through the engine verifies;
 * every kind of tampering (edit, delete in the middle and at the end,
 * reorder, insert, edit with a recomputed hash, ...) on a fresh copy of it
 * is found, with the first bad sequence number; show tells a visit's history
 * with amendments' old and new values; export gives CSV and JSON lines that
 * read back exactly. Also the vigil audit command's exit codes. */
#define _GNU_SOURCE /* setenv, readlink */
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "vigil/vigil.h"
#include "vigil_binary.h"

#define T0 1767600000000LL /* 2026-01-05T08:00:00Z */
#define MINUTE 60000LL

static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'sedation' { version = '1.0.0', phases = {\n"
    "  v.phase 'infusion' { items = {\n"
    "    v.check 'consent' {},\n"
    "    v.number 'dose' { unit = 'mg', range = { 0, 200 } },\n"
    "    v.text 'remark' {},\n"
    "    v.vitals 'vitals' { fields = { 'sbp', 'dbp' },\n"
    "      rule = function(x) if x.sbp > 160 then return v.alert.high('SBP high') end end },\n"
    "  } },\n"
    "  v.phase 'recovery' { items = { v.check 'awake' {} } } } }\n";

/* A remark and an actor that CSV must quote. */
#define REMARK "Calm, said \"fine\"\nthen slept"
#define ACTOR_WITH_COMMA "Doe, Jane \"JD\""
/* A client's text that would forge a line and drive the auditor's terminal. */
/* A right-to-left override and a zero-width space (T8 of the second review). */
#define BIDI_TAIL                                                                                                      \
  "\xe2\x80\xae"                                                                                                       \
  "gnirts"                                                                                                             \
  "\xe2\x80\x8b"                                                                                                       \
  "\xe2\x80\xa8" /* and a line separator (U7 of the third review) */
#define FORGED_TAIL "\x1b[2K\r\n    99  2026-01-05 08:00:00  dr:fake  signed: all fine\x07"

static struct fixture {
  char root[64];
  char pristine[128]; /* the store as the engine left it */
  char copy[128];     /* each case tampers with a fresh copy */
  uint64_t events;    /* how many the pristine store holds */
  uint64_t visit_a, visit_b, visit_c;
} fx;

/* ---- Helpers ---------------------------------------------------------------- */

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  assert_non_null(in);
  assert_non_null(out);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
    assert_int_equal(fwrite(chunk, 1, n, out), n);
  fclose(in);
  assert_int_equal(fclose(out), 0);
}

/* A fresh copy of the pristine store, with no WAL of an earlier case. */
static const char *fresh_copy(void) {
  char side[160];
  snprintf(side, sizeof side, "%s-wal", fx.copy);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", fx.copy);
  unlink(side);
  copy_file(fx.pristine, fx.copy);
  return fx.copy;
}

static void sql(const char *path, const char *fmt, ...) {
  char text[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  char *err = NULL;
  if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", text, err);
  sqlite3_close(db);
}

/* The first column of the first row, as a number or malloc'd text. */
static long long sql_int(const char *path, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  if (sqlite3_prepare_v2(db, text, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", text, sqlite3_errmsg(db));
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long long x = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return x;
}

static char *sql_text(const char *path, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  if (sqlite3_prepare_v2(db, text, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", text, sqlite3_errmsg(db));
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  char *s = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return s;
}

/* Sets one row's body and recomputes its hash over its own prev, as a
 * forger would who knows how rows are hashed. */
static void rewrite_row(const char *path, long long seq, const char *body) {
  char *prev = sql_text(path, "SELECT prev FROM events WHERE seq = %lld", seq);
  char hash[65];
  vigil__store_row_hash(prev, body, strlen(body), hash);
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "UPDATE events SET body = ?, hash = ? WHERE seq = ?", -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, seq);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
  free(prev);
}

/* Replaces the first occurrence of what in s (malloc'd result). */
static char *replace(const char *s, const char *what, const char *with) {
  const char *at = strstr(s, what);
  assert_non_null(at);
  size_t n = strlen(s) - strlen(what) + strlen(with);
  char *r = malloc(n + 1);
  snprintf(r, n + 1, "%.*s%s%s", (int)(at - s), s, with, at + strlen(what));
  return r;
}

static void expect_intact(const char *path) {
  char msg[512];
  uint64_t events = 0, bad = 99;
  int rc = vigil_audit_verify(path, &events, &bad, msg, sizeof msg);
  if (rc != 0) fail_msg("verify failed (%d): %s", rc, msg);
  assert_int_equal(bad, 0);
}

static void expect_tampered(const char *path, uint64_t first_bad, const char *says) {
  char msg[512];
  uint64_t events = 0, bad = 0;
  int rc = vigil_audit_verify(path, &events, &bad, msg, sizeof msg);
  if (rc != VIGIL_ECORRUPT) fail_msg("expected tampering at %llu, got %d: %s", (unsigned long long)first_bad, rc, msg);
  if (bad != first_bad)
    fail_msg("first bad seq %llu, expected %llu: %s", (unsigned long long)bad, (unsigned long long)first_bad, msg);
  if (!strstr(msg, says)) fail_msg("'%s' does not say '%s'", msg, says);
}

/* ---- The store under test ----------------------------------------------------- */

static vigil_engine *engine_at(const char *db, int64_t now) {
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = now, .db_path = db};
  vigil_engine *e;
  if (vigil_engine_new(&o, &e) < 0) fail_msg("engine: %s", vigil_engine_errmsg(e));
  return e;
}

static void ok(vigil_engine *e, int rc) {
  if (rc < 0) fail_msg("%s", vigil_engine_errmsg(e));
}

/* An engine at T0 on a new store `name` in the fixture's folder (its path in
 * db), with the fixture's protocol: a case's own visits. */
static vigil_engine *engine_of_its_own(const char *name, char *db, size_t len) {
  char source[160];
  snprintf(db, len, "%s/%s", fx.root, name);
  snprintf(source, sizeof source, "%s/protocol.lua", fx.root);
  vigil_engine *e = engine_at(db, T0);
  ok(e, vigil_engine_load(e, source, NULL));
  return e;
}

static int group_setup(void **state) {
  strcpy(fx.root, "/tmp/vigil-audit-XXXXXX");
  assert_non_null(mkdtemp(fx.root));
  snprintf(fx.pristine, sizeof fx.pristine, "%s/vigil.db", fx.root);
  snprintf(fx.copy, sizeof fx.copy, "%s/copy.db", fx.root);
  char path[160];
  snprintf(path, sizeof path, "%s/protocol.lua", fx.root);
  FILE *f = fopen(path, "w");
  fputs(PROTOCOL, f);
  fclose(f);

  vigil_engine *e = engine_at(fx.pristine, T0);
  ok(e, vigil_engine_load(e, path, NULL));
  uint64_t a, b, c;
  ok(e, vigil_visit_start(e, "sedation", "chair-1", "nurse:ana", NULL, &a));
  ok(e, vigil_visit_start(e, "sedation", "chair-2", "nurse:ana", NULL, &b));
  ok(e, vigil_visit_record_json(e, a, "nurse:ana", "{\"consent\": true, \"dose\": 35}"));
  vigil_engine_advance_to(e, T0 + 5 * MINUTE);
  ok(e, vigil_visit_record_json(e, a, "nurse:ana", "{\"vitals\": {\"sbp\": 120, \"dbp\": 80}}"));
  ok(e, vigil_visit_record_json(e, b, "nurse:ana", "{\"vitals\": {\"sbp\": 130, \"dbp\": 85}}"));
  vigil_engine_advance_to(e, T0 + 10 * MINUTE);
  ok(e, vigil_visit_amend_json(e, a, "nurse:ben", "dose", "36", "typo"));
  vigil_input remark = {.item = "remark", .type = VIGIL_INPUT_STRING, .string = REMARK};
  ok(e, vigil_visit_record(e, a, ACTOR_WITH_COMMA, &remark, 1));
  vigil_engine_advance_to(e, T0 + 15 * MINUTE);
  ok(e, vigil_visit_record_json(e, a, "nurse:ana", "{\"vitals\": {\"sbp\": 184, \"dbp\": 104}}"));
  ok(e, vigil_alert_ack(e, 1, "dr:cho", "seen, repeat in 5 min"));
  ok(e, vigil_visit_start(e, "sedation", "chair-3", "nurse:dan", NULL, &c));
  assert_int_equal(vigil_visit_advance(e, c, "nurse:dan"), VIGIL_EGATE); /* a gate.blocked event */
  vigil_engine_advance_to(e, T0 + 20 * MINUTE);
  /* The acknowledged SBP alert still holds (docs/safety.md, H12): a clinician overrides. */
  ok(e, vigil_visit_override(e, a, "dr:cho", "reviewed, BP treated"));
  /* The last event closes a visit: the derived visit status remembers it. */
  /* Its actor carries a forged line, terminal escapes and invisible and bidi
   * characters after the name (an independent review put them in a reason,
   * which the engine refuses now: docs/safety.md M7 and P5): show must print
   * them as text. */
  ok(e, vigil_visit_abort(e, b, "nurse:ana" FORGED_TAIL BIDI_TAIL, "patient left"));
  vigil_engine_free(e);

  fx.visit_a = a;
  fx.visit_b = b;
  fx.visit_c = c;
  fx.events = (uint64_t)sql_int(fx.pristine, "SELECT COUNT(*) FROM events");
  assert_true(fx.events >= 12);
  char *last = sql_text(fx.pristine, "SELECT type FROM events ORDER BY seq DESC LIMIT 1");
  assert_string_equal(last, "visit.aborted");
  free(last);
  *state = &fx;
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx.root);
  return system(cmd);
}

/* ---- Verify ---------------------------------------------------------------------- */

static void an_untouched_store_verifies(void **state) {
  (void)state;
  char msg[512];
  uint64_t events = 0, bad = 7;
  assert_int_equal(vigil_audit_verify(fx.pristine, &events, &bad, msg, sizeof msg), 0);
  assert_int_equal(events, fx.events);
  assert_int_equal(bad, 0);
  char want[64];
  snprintf(want, sizeof want, "%llu events, chain intact", (unsigned long long)fx.events);
  assert_string_equal(msg, want);
}

static void verify_only_reads(void **state) {
  (void)state;
  const char *path = fresh_copy();
  char *before =
      sql_text(path, "SELECT group_concat(hash, '') || (SELECT group_concat(key || value) FROM meta) FROM events");
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  char *bytes = malloc((size_t)size);
  fseek(f, 0, SEEK_SET);
  assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  expect_intact(path);
  f = fopen(path, "rb");
  char *after_bytes = malloc((size_t)size + 1);
  assert_int_equal(fread(after_bytes, 1, (size_t)size + 1, f), (size_t)size);
  fclose(f);
  assert_memory_equal(bytes, after_bytes, (size_t)size);
  char *after =
      sql_text(path, "SELECT group_concat(hash, '') || (SELECT group_concat(key || value) FROM meta) FROM events");
  assert_string_equal(before, after);
  free(bytes);
  free(after_bytes);
  free(before);
  free(after);
}

/* (a) One row's body edited in place. */
static void an_edited_body_is_found(void **state) {
  (void)state;
  const char *path = fresh_copy();
  long long k = sql_int(path, "SELECT seq FROM events WHERE body LIKE '%%\"sbp\":120%%'");
  sql(path, "UPDATE events SET body = replace(body, '120', '121') WHERE seq = %lld", k);
  char want[64];
  snprintf(want, sizeof want, "event %lld was edited", k);
  expect_tampered(path, (uint64_t)k, want);
}

/* (b) A row deleted in the middle. */
static void a_deleted_row_is_found(void **state) {
  (void)state;
  const char *path = fresh_copy();
  sql(path, "DELETE FROM events WHERE seq = 5");
  expect_tampered(path, 5, "event 5 is missing (deleted)");
  fresh_copy();
  sql(path, "DELETE FROM events WHERE seq IN (4, 5, 6)");
  expect_tampered(path, 4, "events 4 to 6 are missing (deleted)");
}

/* (c) The last row deleted: with the head left alone, with its sequence
 * number rewritten, and with the whole head rewritten to match. */
static void a_deleted_last_row_is_found(void **state) {
  (void)state;
  const char *path = fresh_copy();
  unsigned long long n = fx.events;
  sql(path, "DELETE FROM events WHERE seq = %llu", n);
  char want[128];
  snprintf(want, sizeof want, "the log ends at %llu but its head says %llu: the last events were deleted", n - 1, n);
  expect_tampered(path, n, want);

  fresh_copy();
  sql(path, "DELETE FROM events WHERE seq = %llu; UPDATE meta SET value = '%llu' WHERE key = 'head_seq'", n, n - 1);
  expect_tampered(path, n - 1, "does not match the head's hash");

  /* A forger who rewrites the head too leaves a chain that is whole; the
   * visit the last event closed is still marked closed. */
  fresh_copy();
  sql(path,
      "DELETE FROM events WHERE seq = %llu; UPDATE meta SET value = '%llu' WHERE key = 'head_seq';"
      "UPDATE meta SET value = (SELECT hash FROM events WHERE seq = %llu) WHERE key = 'head_hash'",
      n, n - 1, n - 1);
  snprintf(want, sizeof want, "visit %llu was closed but the log has no discharge or abort for it",
           (unsigned long long)fx.visit_b);
  expect_tampered(path, n, want);
}

/* (d) Two rows' bodies swapped: the events are out of order. */
static void swapped_rows_are_found(void **state) {
  (void)state;
  const char *path = fresh_copy();
  /* Through a copy: an UPDATE's subquery sees the rows it already changed. */
  sql(path, "CREATE TEMP TABLE t AS SELECT seq, body FROM events WHERE seq IN (4, 9);"
            "UPDATE events SET body = (SELECT body FROM t WHERE t.seq = 13 - events.seq) WHERE seq IN (4, 9)");
  expect_tampered(path, 4, "event 4 is out of order: it is at position 9, and position 4 holds event 9");

  /* One body copied over another: the event it held is gone. */
  fresh_copy();
  sql(path, "UPDATE events SET body = (SELECT body FROM events WHERE seq = 9) WHERE seq = 4");
  expect_tampered(path, 4, "event 4 was edited: it was overwritten with a copy of event 9");
  fresh_copy();
  sql(path, "UPDATE events SET body = (SELECT body FROM events WHERE seq = 4) WHERE seq = 9");
  expect_tampered(path, 9, "event 9 was edited: it was overwritten with a copy of event 4");
  /* The whole row, its hashes too. */
  fresh_copy();
  sql(path, "UPDATE events SET (time, visit, type, body, prev, hash) = "
            "(SELECT time, visit, type, body, prev, hash FROM events WHERE seq = 4) WHERE seq = 9");
  expect_tampered(path, 9, "event 9 was edited: it was overwritten with a copy of event 4");

  /* Whole rows (body, prev and hash) swapped, each consistent in itself. */
  fresh_copy();
  sql(path, "CREATE TEMP TABLE t AS SELECT * FROM events WHERE seq IN (6, 7);"
            "UPDATE events SET body = (SELECT body FROM t WHERE t.seq = 13 - events.seq),"
            " prev = (SELECT prev FROM t WHERE t.seq = 13 - events.seq),"
            " hash = (SELECT hash FROM t WHERE t.seq = 13 - events.seq),"
            " time = (SELECT time FROM t WHERE t.seq = 13 - events.seq),"
            " visit = (SELECT visit FROM t WHERE t.seq = 13 - events.seq),"
            " type = (SELECT type FROM t WHERE t.seq = 13 - events.seq) WHERE seq IN (6, 7)");
  expect_tampered(path, 6, "event 6 is out of order");

  /* One row's sequence number changed: it moved. */
  fresh_copy();
  sql(path, "UPDATE events SET seq = 1000 WHERE seq = 3");
  expect_tampered(path, 3, "event 3 is out of order: it was moved to position 1000");
}

/* (e) A forged event inserted in the middle, the later rows renumbered, its
 * hash computed to chain on from the row before it. */
static void an_inserted_row_is_found(void **state) {
  (void)state;
  const char *path = fresh_copy();
  const long long k = 7;
  sql(path, "UPDATE events SET seq = -(seq + 1) WHERE seq >= %lld; UPDATE events SET seq = -seq WHERE seq < 0", k);
  char *prev = sql_text(path, "SELECT hash FROM events WHERE seq = %lld", k - 1);
  long long time = sql_int(path, "SELECT time FROM events WHERE seq = %lld", k - 1);
  char *iso =
      sql_text(path, "SELECT substr(body, instr(body, '\"time\":\"') + 8, 24) FROM events WHERE seq = %lld", k - 1);
  char body[512], hash[65];
  snprintf(body, sizeof body,
           "{\"seq\":%lld,\"time\":\"%s\",\"visit\":%llu,\"type\":\"note.added\",\"actor\":\"nurse:eve\","
           "\"data\":{\"rule\":\"x\",\"message\":\"patient consented verbally\"}}",
           k, iso, (unsigned long long)fx.visit_a);
  vigil__store_row_hash(prev, body, strlen(body), hash);
  sql(path,
      "INSERT INTO events (seq, time, visit, type, body, prev, hash) VALUES (%lld, %lld, %llu, 'note.added', '%s', "
      "'%s', '%s')",
      k, time, (unsigned long long)fx.visit_a, body, prev, hash);
  expect_tampered(path, (uint64_t)k, "an event was inserted at 7");
  free(prev);
  free(iso);

  /* A forged event after the last, its hash chained on, the head not updated. */
  fresh_copy();
  unsigned long long n = fx.events;
  prev = sql_text(path, "SELECT hash FROM events WHERE seq = %llu", n);
  snprintf(body, sizeof body,
           "{\"seq\":%llu,\"time\":\"2026-01-05T08:30:00.000Z\",\"visit\":%llu,\"type\":\"note.added\","
           "\"actor\":\"nurse:eve\",\"data\":{\"rule\":\"x\",\"message\":\"all fine\"}}",
           n + 1, (unsigned long long)fx.visit_a);
  vigil__store_row_hash(prev, body, strlen(body), hash);
  sql(path, "INSERT INTO events VALUES (%llu, %lld, %llu, 'note.added', '%s', '%s', '%s')", n + 1, T0 + 30 * MINUTE,
      (unsigned long long)fx.visit_a, body, prev, hash);
  char want[64];
  snprintf(want, sizeof want, "an event was inserted at %llu", n + 1);
  expect_tampered(path, n + 1, want);
  free(prev);
}

/* (f) A row edited and its own hash recomputed: the next row still links to
 * the old hash. At the end, the head holds the old hash. */
static void an_edit_with_a_recomputed_hash_is_found(void **state) {
  (void)state;
  const char *path = fresh_copy();
  long long k = sql_int(path, "SELECT seq FROM events WHERE type = 'item.amended'");
  char *body = sql_text(path, "SELECT body FROM events WHERE seq = %lld", k);
  char *forged = replace(body, "\"value\":36", "\"value\":26");
  rewrite_row(path, k, forged);
  char want[128];
  snprintf(want, sizeof want,
           "event %lld was edited and its hash recomputed: event %lld still links to its earlier hash", k, k + 1);
  expect_tampered(path, (uint64_t)k, want);
  free(body);
  free(forged);

  fresh_copy();
  unsigned long long n = fx.events;
  body = sql_text(path, "SELECT body FROM events WHERE seq = %llu", n);
  forged = replace(body, "patient left", "patient fine");
  rewrite_row(path, (long long)n, forged);
  snprintf(want, sizeof want, "event %llu does not match the head's hash", n);
  expect_tampered(path, n, want);
  free(body);
  free(forged);
}

/* The columns beside the body are not hashed: they must agree with it. */
static void an_edited_column_is_found(void **state) {
  (void)state;
  const char *path = fresh_copy();
  sql(path, "UPDATE events SET visit = 99 WHERE seq = 4");
  expect_tampered(path, 4, "event 4 was edited: its visit column says 99");
  fresh_copy();
  sql(path, "UPDATE events SET time = time + 3600000 WHERE seq = 6");
  expect_tampered(path, 6, "event 6 was edited: its time column");
  fresh_copy();
  sql(path, "UPDATE events SET type = 'note.added' WHERE seq = 2");
  expect_tampered(path, 2, "event 2 was edited: its type column");
}

/* A deletion hidden by renumbering the rows after it. */
static void a_deletion_hidden_by_renumbering_is_found(void **state) {
  (void)state;
  const char *path = fresh_copy();
  sql(path, "DELETE FROM events WHERE seq = 5; UPDATE events SET seq = -(seq - 1) WHERE seq > 5;"
            "UPDATE events SET seq = -seq WHERE seq < 0;"
            "UPDATE meta SET value = CAST(value AS INTEGER) - 1 WHERE key = 'head_seq'");
  expect_tampered(path, 5, "event 5 is missing (deleted, and the events after it renumbered");
}

/* What the store keeps beside the log must agree with it. */
static void derived_state_and_protocols_are_checked(void **state) {
  (void)state;
  const char *path = fresh_copy();
  long long aborted = sql_int(path, "SELECT seq FROM events WHERE type = 'visit.aborted'");
  sql(path, "UPDATE visits SET status = 'active' WHERE id = %llu", (unsigned long long)fx.visit_b);
  expect_tampered(path, (uint64_t)aborted, "status was edited");

  fresh_copy();
  sql(path, "DELETE FROM visits WHERE id = %llu", (unsigned long long)fx.visit_c);
  long long started_c = sql_int(path, "SELECT seq FROM events WHERE type = 'visit.started' AND visit = %llu",
                                (unsigned long long)fx.visit_c);
  expect_tampered(path, (uint64_t)started_c, "status row was deleted");

  /* The stored sources a restarted visit would run. */
  fresh_copy();
  sql(path, "UPDATE protocols SET files = replace(files, 'x.sbp > 160', 'x.sbp > 260')");
  expect_tampered(path, 1, "the stored sources of protocol sedation@1.0.0");
  fresh_copy();
  sql(path, "DELETE FROM protocols");
  expect_tampered(path, 1, "was deleted from the store");

  fresh_copy();
  sql(path, "UPDATE meta SET value = '0' WHERE key = 'alerts'");
  long long raised = sql_int(path, "SELECT seq FROM events WHERE type = 'alert.raised'");
  expect_tampered(path, (uint64_t)raised, "it counts 0 alerts");

  fresh_copy();
  sql(path, "DROP TABLE visits");
  char msg[256];
  assert_int_equal(vigil_audit_verify(path, NULL, NULL, msg, sizeof msg), VIGIL_ECORRUPT);
  assert_non_null(strstr(msg, "were altered"));
}

/* Verify folds the log and compares every derived table with what the fold
 * gives: visits' status, approvals, users; naming the first difference. */
static void every_derived_table_is_folded(void **state) {
  (void)state;
  /* The edit of the review: a status no fold gives. */
  const char *path = fresh_copy();
  sql(path, "UPDATE visits SET status = 'x' WHERE id = %llu", (unsigned long long)fx.visit_c);
  long long started_c = sql_int(path, "SELECT seq FROM events WHERE type = 'visit.started' AND visit = %llu",
                                (unsigned long long)fx.visit_c);
  char says[160];
  snprintf(says, sizeof says, "visit %llu's status is 'x' but its events make it 'active'",
           (unsigned long long)fx.visit_c);
  expect_tampered(path, (uint64_t)started_c, says);
  fresh_copy(); /* a closed one: the check of an end marked open names it first */
  sql(path, "UPDATE visits SET status = 'x' WHERE id = %llu", (unsigned long long)fx.visit_b);
  expect_tampered(path, (uint64_t)sql_int(path, "SELECT seq FROM events WHERE type = 'visit.aborted'"),
                  "status was edited");

  /* A store with an approval and users, as a server leaves it. */
  char db[160], copy[160], proto[160];
  snprintf(db, sizeof db, "%s/fold.db", fx.root);
  snprintf(copy, sizeof copy, "%s/fold-copy.db", fx.root);
  snprintf(proto, sizeof proto, "%s/protocol.lua", fx.root);
  vigil_engine *e = engine_at(db, T0);
  ok(e, vigil_engine_load(e, proto, NULL));
  static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  ok(e, vigil_site_event(e, "user.created", "vigil", "{\"user\":\"ana\",\"role\":\"admin\"}"));
  ok(e, vigil_site_event(e, "user.created", "ana", "{\"user\":\"ben\",\"role\":\"nurse\"}"));
  ok(e, vigil_site_event(e, "user.changed", "ana", "{\"user\":\"ben\",\"disabled\":true}"));
  ok(e, vigil_site_event(e, "protocol.approved", "ana",
                         "{\"ref\":\"sedation@2.0.0\",\"sha256\":\""
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                         "\"}"));
  vigil_engine_free(e);
  /* The users' rows are the server's (users.c); the approval's the store derived from its event. */
  sql(db, "INSERT INTO kv VALUES ('user', 'ana', '{\"role\":\"admin\",\"hash\":\"h\",\"disabled\":false}'), "
          "('user', 'ben', '{\"role\":\"nurse\",\"hash\":\"h\",\"disabled\":true}')");
  char *approval = sql_text(db, "SELECT CAST(value AS TEXT) FROM kv WHERE ns = 'approval' AND key = '%s'", sha);
  assert_non_null(strstr(approval, "\"ref\":\"sedation@2.0.0\",\"by\":\"ana\""));
  free(approval);
  expect_intact(db);
  long long approved = sql_int(db, "SELECT seq FROM events WHERE type = 'protocol.approved'");
  long long disabled = sql_int(db, "SELECT seq FROM events WHERE type = 'user.changed'");
  static const struct {
    const char *sql;
    int first_bad; /* 1: the approval's event, 2: the disabling's, 0: none */
    const char *says;
  } edits[] = {
      {"DELETE FROM kv WHERE ns = 'approval'", 1, "approved sedation@2.0.0 (by ana) but the approvals table"},
      {"UPDATE kv SET value = replace(value, '\"ana\"', '\"eve\"') WHERE ns = 'approval'", 1,
       "approved sedation@2.0.0 (by ana)"},
      {"INSERT INTO kv VALUES ('approval', 'ffff', '{\"ref\":\"evil@1.0.0\",\"by\":\"ana\",\"at_ms\":1}')", 0,
       "protocol evil@1.0.0 (fingerprint ffff...) is approved but the log has no protocol.approved event"},
      {"INSERT INTO kv VALUES ('user', 'mallory', '{\"role\":\"admin\",\"hash\":\"h\",\"disabled\":false}')", 0,
       "user mallory (role admin) is in the users table but the log has no user.created"},
      {"UPDATE kv SET value = replace(value, 'nurse', 'admin') WHERE ns = 'user' AND key = 'ben'", 0,
       "user ben (role admin) is in the users table"},
      {"UPDATE kv SET value = replace(value, 'true', 'false') WHERE ns = 'user' AND key = 'ben'", 2,
       "user ben is enabled in the users table but the log makes them disabled"},
      {"DELETE FROM kv WHERE ns = 'user' AND key = 'ana'", -1, "created user ana, who is missing from the users table"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
    copy_file(db, copy);
    sql(copy, "%s", edits[i].sql);
    long long at = edits[i].first_bad == 1   ? approved
                   : edits[i].first_bad == 2 ? disabled
                   : edits[i].first_bad < 0  ? sql_int(copy, "SELECT MIN(seq) FROM events WHERE type = 'user.created'")
                                             : 0;
    expect_tampered(copy, (uint64_t)at, edits[i].says);
  }
}

/* The tamper test of the issue: the sqlite3 program, as anyone with the file would. */
static void the_sqlite3_program_cannot_hide_edits(void **state) {
  (void)state;
  if (access("/usr/bin/sqlite3", X_OK) != 0) skip();
  static const struct {
    const char *sql;
    uint64_t first_bad;
    const char *says;
  } cases[] = {
      {"UPDATE events SET body = replace(body, '\"dose\":35', '\"dose\":3.5') WHERE seq = 3;", 3, "event 3 was edited"},
      {"DELETE FROM events WHERE seq = 8;", 8, "event 8 is missing (deleted)"},
      {"CREATE TEMP TABLE t AS SELECT seq, body FROM events WHERE seq IN (10, 11);"
       "UPDATE events SET body = (SELECT body FROM t WHERE t.seq = 21 - events.seq) WHERE seq IN (10, 11);",
       10, "event 10 is out of order"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *path = fresh_copy();
    char cmd[1024];
    /* The SQL's double quotes escaped for the shell. */
    char escaped[512];
    size_t n = 0;
    for (const char *s = cases[i].sql; *s && n + 2 < sizeof escaped; s++) {
      if (*s == '"') escaped[n++] = '\\';
      escaped[n++] = *s;
    }
    escaped[n] = '\0';
    snprintf(cmd, sizeof cmd, "/usr/bin/sqlite3 '%s' \"%s\"", path, escaped);
    assert_int_equal(system(cmd), 0);
    expect_tampered(path, cases[i].first_bad, cases[i].says);
  }
}

static void files_that_cannot_be_checked_say_why(void **state) {
  (void)state;
  char msg[512], path[160];
  uint64_t bad = 5;
  snprintf(path, sizeof path, "%s/none.db", fx.root);
  assert_int_equal(vigil_audit_verify(path, NULL, &bad, msg, sizeof msg), VIGIL_ENOENT);
  assert_int_equal(bad, 0);
  assert_int_equal(access(path, F_OK), -1); /* and it was not created */

  snprintf(path, sizeof path, "%s/garbage.db", fx.root);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 300; i++)
    fputs("this is not a database at all\n", f);
  fclose(f);
  assert_int_equal(vigil_audit_verify(path, NULL, &bad, msg, sizeof msg), VIGIL_ECORRUPT);
  assert_int_equal(bad, 0);
  assert_non_null(strstr(msg, "is damaged or is not a vigil database"));

  snprintf(path, sizeof path, "%s/other.db", fx.root);
  sql(path, "CREATE TABLE t (x)");
  assert_int_equal(vigil_audit_verify(path, NULL, NULL, msg, sizeof msg), VIGIL_EINVAL);
  assert_non_null(strstr(msg, "is not a vigil database"));

  const char *copy = fresh_copy();
  sql(copy, "PRAGMA user_version = 99");
  assert_int_equal(vigil_audit_verify(copy, NULL, NULL, msg, sizeof msg), VIGIL_ENEWER);
}

/* Verify reads while an engine holds the file (its flock, its WAL). */
static void verify_works_while_an_engine_runs(void **state) {
  (void)state;
  const char *path = fresh_copy();
  vigil_engine *e = engine_at(path, T0 + 30 * MINUTE); /* writes engine.started */
  uint64_t id;
  ok(e, vigil_visit_start(e, "sedation", "chair-4", "nurse:ana", NULL, &id));
  char msg[512];
  uint64_t events = 0;
  assert_int_equal(vigil_audit_verify(path, &events, NULL, msg, sizeof msg), 0);
  assert_int_equal(events, fx.events + 2);
  ok(e, vigil_visit_record_json(e, id, "nurse:ana", "{\"consent\": true}"));
  assert_int_equal(vigil_audit_verify(path, &events, NULL, msg, sizeof msg), 0);
  assert_int_equal(events, fx.events + 3);
  vigil_engine_free(e);
  expect_intact(path);
}

/* ---- Show ---------------------------------------------------------------------- */

typedef struct text {
  char *p;
  size_t len;
} text;

static int collect(void *ud, const char *s, size_t n) {
  text *t = ud;
  char *p = realloc(t->p, t->len + n + 1);
  if (!p) return -1;
  memcpy(p + t->len, s, n);
  t->p = p;
  t->len += n;
  t->p[t->len] = '\0';
  return 0;
}

static int refuse(void *ud, const char *s, size_t n) {
  (void)ud, (void)s, (void)n;
  return -1;
}

static void show_tells_a_visits_history(void **state) {
  (void)state;
  setenv("TZ", "CET-1", 1); /* one hour east of UTC, without tzdata */
  text t = {0};
  char msg[512];
  assert_int_equal(vigil_audit_show(fx.pristine, fx.visit_a, collect, &t, msg, sizeof msg), 0);
  const char *expected[] = {
      "Visit 1: patient chair-1, protocol sedation@1.0.0",
      "2026-01-05 08:00:00  2026-01-05 09:00:00 CET  nurse:ana",
      "recorded consent: yes; dose: 35",
      "recorded vitals: sbp 120, dbp 80",
      /* The amendment keeps the earlier value, and says who, when and why. */
      "2026-01-05 08:10:00  2026-01-05 09:10:00 CET  nurse:ben         amended infusion.dose: 35 \xe2\x86\x92 36 "
      "(reason: typo)",
      "raised alert 1 (high, vitals): SBP high",
      "dr:cho            acknowledged alert 1 (reason: seen, repeat in 5 min)",
      "entered phase recovery (from infusion)",
      "recorded remark: \"Calm, said \\\"fine\\\"\\nthen slept\"",
  };
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
    if (!strstr(t.p, expected[i])) fail_msg("show lacks '%s':\n%s", expected[i], t.p);
  /* Another visit's events stay out. */
  assert_null(strstr(t.p, "patient left"));
  free(t.p);

  t = (text){0};
  assert_int_equal(vigil_audit_show(fx.pristine, fx.visit_c, collect, &t, msg, sizeof msg), 0);
  if (!strstr(t.p, "gate blocked leaving phase infusion: ")) fail_msg("no gate.blocked:\n%s", t.p);
  free(t.p);
  t = (text){0};
  assert_int_equal(vigil_audit_show(fx.pristine, fx.visit_b, collect, &t, msg, sizeof msg), 0);
  if (!strstr(t.p, "aborted the visit (reason: patient left")) fail_msg("no abort:\n%s", t.p);
  /* Client text never reaches the terminal raw: no control character but the
   * line ends show writes itself, and the forged line stays inside its line. */
  for (const char *p = t.p; *p; p++)
    if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f)
      fail_msg("a raw control character 0x%02x in show:\n%s", *p, t.p);
  if (!strstr(t.p, "nurse:ana\\x1b[2K\\r\\n    99")) fail_msg("the forged tail is not escaped:\n%s", t.p);
  /* Nor one that shows as nothing or turns the line around (stored before they were refused). */
  if (strstr(t.p, "\xe2\x80\xae") || strstr(t.p, "\xe2\x80\x8b") || strstr(t.p, "\xe2\x80\xa8"))
    fail_msg("a raw U+202E, U+200B or U+2028 in show:\n%s", t.p);
  if (!strstr(t.p, "\\u{202E}gnirts\\u{200B}\\u{2028}")) fail_msg("the bidi tail is not escaped:\n%s", t.p);
  free(t.p);

  t = (text){0};
  assert_int_equal(vigil_audit_show(fx.pristine, 42, collect, &t, msg, sizeof msg), VIGIL_ENOENT);
  assert_string_equal(msg + strlen(msg) - strlen(fx.pristine), fx.pristine);
  assert_null(t.p);
  assert_int_equal(vigil_audit_show(fx.pristine, fx.visit_a, refuse, NULL, msg, sizeof msg), VIGIL_EIO);
  unsetenv("TZ");
}

/* A late entry's line says when it was observed beside when it was typed:
 * a dose ticked at 02:00 as given at 23:45 showed as 02:00 alone (AL4). */
static void show_gives_a_late_entrys_observed_time(void **state) {
  (void)state;
  setenv("TZ", "CET-1", 1);
  char path[160], msg[512];
  vigil_engine *e = engine_of_its_own("late.db", path, sizeof path);
  uint64_t id;
  ok(e, vigil_visit_start(e, "sedation", "chair-9", "nurse:ana", NULL, &id));
  vigil_engine_advance_to(e, T0 + 30 * MINUTE);
  ok(e,
     vigil_visit_record_json(e, id, "nurse:ana",
                             "{\"observed_at\": \"2026-01-05T08:10:00Z\", \"vitals\": {\"sbp\": 120, \"dbp\": 80}}"));
  ok(e, vigil_visit_record_json(e, id, "nurse:ana", "{\"consent\": true}"));
  vigil_engine_free(e);
  text t = {0};
  assert_int_equal(vigil_audit_show(path, id, collect, &t, msg, sizeof msg), 0);
  const char *expected[] = {
      "2026-01-05 08:30:00  2026-01-05 09:30:00 CET  nurse:ana         recorded late (observed 2026-01-05 08:10:00 "
      "UTC, 2026-01-05 09:10:00 CET) vitals: sbp 120, dbp 80\n",
      /* An entry of now says nothing of it. */
      "2026-01-05 08:30:00  2026-01-05 09:30:00 CET  nurse:ana         recorded consent: yes\n",
  };
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
    if (!strstr(t.p, expected[i])) fail_msg("show lacks '%s':\n%s", expected[i], t.p);
  free(t.p);
  unsetenv("TZ");
}

/* ---- Export ------------------------------------------------------------------- */

/* A CSV reader as strict as RFC 4180: rows of fields, quotes doubled. */
typedef struct csv_row {
  char *field[8];
  int n;
} csv_row;

static int csv_parse(const char *s, csv_row *rows, int max) {
  int n = 0;
  while (*s && n < max) {
    csv_row *r = &rows[n++];
    r->n = 0;
    for (;;) {
      text f = {0};
      collect(&f, "", 0);
      if (*s == '"') {
        for (s++; !(*s == '"' && s[1] != '"'); s++) {
          assert_true(*s != '\0');
          if (*s == '"') s++;
          collect(&f, s, 1);
        }
        s++;
      } else {
        while (*s && *s != ',' && *s != '\r' && *s != '\n')
          collect(&f, s++, 1);
      }
      assert_true(r->n < 8);
      r->field[r->n++] = f.p;
      if (*s == ',') {
        s++;
        continue;
      }
      assert_true(s[0] == '\r' && s[1] == '\n'); /* CRLF ends each row */
      s += 2;
      break;
    }
  }
  return n;
}

static void export_csv_reads_back(void **state) {
  (void)state;
  text t = {0};
  char msg[512];
  assert_int_equal(vigil_audit_export(fx.pristine, "csv", INT64_MIN, INT64_MAX, collect, &t, msg, sizeof msg), 0);
  csv_row rows[64] = {0};
  int n = csv_parse(t.p, rows, 64);
  assert_int_equal(n, (int)fx.events + 1);
  assert_int_equal(rows[0].n, 6);
  assert_string_equal(rows[0].field[0], "seq");
  assert_string_equal(rows[0].field[5], "data");
  int found_remark = 0;
  for (int i = 1; i < n; i++) {
    assert_int_equal(rows[i].n, 6);
    assert_int_equal(atoi(rows[i].field[0]), i);
    char *stored = sql_text(fx.pristine, "SELECT body FROM events WHERE seq = %d", i);
    json_t *body = json_loads(stored, 0, NULL), *data = json_loads(rows[i].field[5], 0, NULL);
    assert_non_null(data);
    assert_true(json_equal(data, json_object_get(body, "data")));
    assert_string_equal(rows[i].field[1], json_string_value(json_object_get(body, "time")));
    assert_string_equal(rows[i].field[3], json_string_value(json_object_get(body, "type")));
    assert_string_equal(rows[i].field[4], json_string_value(json_object_get(body, "actor")));
    if (!strcmp(rows[i].field[4], ACTOR_WITH_COMMA)) {
      found_remark = 1;
      json_t *remark = json_object_get(json_object_get(data, "values"), "remark");
      assert_string_equal(json_string_value(remark), REMARK);
    }
    json_decref(body);
    json_decref(data);
    free(stored);
  }
  assert_true(found_remark);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < rows[i].n; j++)
      free(rows[i].field[j]);
  free(t.p);
}

/* A cell that starts like a formula is exported as text (OWASP, CSV injection). */
static void export_csv_has_no_formulas(void **state) {
  (void)state;
  char db[160], msg[512];
  vigil_engine *e = engine_of_its_own("formula.db", db, sizeof db);
  uint64_t a;
  ok(e, vigil_visit_start(e, "sedation", "chair-1", "=HYPERLINK(\"http://evil.example\")", NULL, &a));
  ok(e, vigil_visit_record_json(e, a, "@SUM(1+1)", "{\"consent\": true}"));
  vigil_engine_free(e);
  text t = {0};
  assert_int_equal(vigil_audit_export(db, "csv", INT64_MIN, INT64_MAX, collect, &t, msg, sizeof msg), 0);
  if (!strstr(t.p, ",\"'=HYPERLINK(\"\"http://evil.example\"\")\",") || !strstr(t.p, ",\"'@SUM(1+1)\","))
    fail_msg("a live formula in the export:\n%s", t.p);
  csv_row rows[8] = {0};
  int n = csv_parse(t.p, rows, 8);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < rows[i].n; j++) {
      if (strchr("=+-@\t\r", rows[i].field[j][0]) && rows[i].field[j][0]) fail_msg("cell '%s'", rows[i].field[j]);
      free(rows[i].field[j]);
    }
  free(t.p);
}

static void export_jsonl_is_the_stored_events(void **state) {
  (void)state;
  text t = {0};
  char msg[512];
  assert_int_equal(vigil_audit_export(fx.pristine, "jsonl", INT64_MIN, INT64_MAX, collect, &t, msg, sizeof msg), 0);
  uint64_t lines = 0;
  char chained[65] = "";
  for (char *line = t.p, *end; line && *line; line = end + 1) {
    end = strchr(line, '\n');
    assert_non_null(end);
    *end = '\0';
    lines++;
    char *stored = sql_text(fx.pristine, "SELECT body FROM events WHERE seq = %llu", (unsigned long long)lines);
    assert_string_equal(line, stored); /* byte for byte: what the hash covers */
    free(stored);
    char next[65];
    vigil__store_row_hash(chained, line, strlen(line), next);
    memcpy(chained, next, sizeof chained);
  }
  assert_int_equal(lines, fx.events);
  /* So anyone can recompute the chain from a whole export, up to the head. */
  char *head = sql_text(fx.pristine, "SELECT value FROM meta WHERE key = 'head_hash'");
  assert_string_equal(chained, head);
  free(head);
  free(t.p);

  /* A range: from inclusive, to exclusive. */
  t = (text){0};
  assert_int_equal(
      vigil_audit_export(fx.pristine, "jsonl", T0 + 5 * MINUTE, T0 + 15 * MINUTE, collect, &t, msg, sizeof msg), 0);
  long long want = sql_int(fx.pristine, "SELECT COUNT(*) FROM events WHERE time >= %lld AND time < %lld",
                           T0 + 5 * MINUTE, T0 + 15 * MINUTE);
  assert_true(want > 0 && want < (long long)fx.events);
  long long got = 0;
  for (char *c = t.p; c && *c; c++)
    got += *c == '\n';
  assert_int_equal(got, want);
  assert_non_null(strstr(t.p, "\"time\":\"2026-01-05T08:05:00.000Z\""));
  assert_null(strstr(t.p, "\"time\":\"2026-01-05T08:15:00.000Z\""));
  free(t.p);

  assert_int_equal(vigil_audit_export(fx.pristine, "xml", INT64_MIN, INT64_MAX, collect, &t, msg, sizeof msg),
                   VIGIL_EINVAL);
}

/* ---- The command ----------------------------------------------------------------- */

static int run(const char *cmd) {
  int status = system(cmd);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A whole file, NUL-terminated (malloc'd). */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  text t = {0};
  collect(&t, "", 0);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    collect(&t, chunk, n);
  fclose(f);
  if (len) *len = t.len;
  return t.p;
}

static void the_command_exits_by_what_it_found(void **state) {
  (void)state;
  char vigil[PATH_MAX], cmd[PATH_MAX * 3], out[160], want[128];
  if (find_vigil(vigil, sizeof vigil) < 0) skip();
  snprintf(out, sizeof out, "%s/out.txt", fx.root);

  snprintf(cmd, sizeof cmd, "%s audit verify %s > %s", vigil, fx.pristine, out);
  assert_int_equal(run(cmd), 0);
  char *said = slurp(out, NULL);
  snprintf(want, sizeof want, "ok: %llu events, chain intact\n", (unsigned long long)fx.events);
  assert_string_equal(said, want);
  free(said);

  const char *path = fresh_copy();
  sql(path, "DELETE FROM events WHERE seq = 6");
  snprintf(cmd, sizeof cmd, "%s audit verify --db %s > %s", vigil, path, out);
  assert_int_equal(run(cmd), 1);
  said = slurp(out, NULL);
  if (!strstr(said, "event 6 is missing (deleted)")) fail_msg("verify said: %s", said);
  free(said);

  snprintf(cmd, sizeof cmd, "%s audit verify %s/none.db 2> %s", vigil, fx.root, out);
  assert_int_equal(run(cmd), 2);

  snprintf(cmd, sizeof cmd, "TZ=UTC0 %s audit show %llu --db %s > %s", vigil, (unsigned long long)fx.visit_a,
           fx.pristine, out);
  assert_int_equal(run(cmd), 0);
  said = slurp(out, NULL);
  if (!strstr(said, "amended infusion.dose: 35 \xe2\x86\x92 36 (reason: typo)")) fail_msg("show said: %s", said);
  free(said);
  snprintf(cmd, sizeof cmd, "%s audit show 42 --db %s 2> /dev/null", vigil, fx.pristine);
  assert_int_equal(run(cmd), 1);
  snprintf(cmd, sizeof cmd, "%s audit show --db %s 2> /dev/null", vigil, fx.pristine);
  assert_int_equal(run(cmd), 2);

  /* 08:05 UTC is 09:05 at +01:00: the same bound written two ways. */
  char other[160];
  snprintf(other, sizeof other, "%s/other.txt", fx.root);
  snprintf(cmd, sizeof cmd,
           "%s audit export --format csv --from 2026-01-05T08:05:00Z --to 2026-01-05T08:15 --db %s > %s", vigil,
           fx.pristine, out);
  assert_int_equal(run(cmd), 0);
  snprintf(cmd, sizeof cmd,
           "%s audit export --db %s --to 2026-01-05T09:15:00.000+01:00 --from 2026-01-05T09:05+0100 --format csv > %s",
           vigil, fx.pristine, other);
  assert_int_equal(run(cmd), 0);
  size_t n1, n2;
  char *a = slurp(out, &n1), *b = slurp(other, &n2);
  assert_int_equal(n1, n2);
  assert_memory_equal(a, b, n1);
  long long rows = 0;
  for (char *c = a; *c; c++)
    rows += *c == '\n';
  /* The remark's line break is inside a quoted field: count rows by CRLF. */
  long long crlf = 0;
  for (char *c = a; c[0] && c[1]; c++)
    crlf += c[0] == '\r' && c[1] == '\n';
  long long want_rows = sql_int(fx.pristine, "SELECT COUNT(*) FROM events WHERE time >= %lld AND time < %lld",
                                T0 + 5 * MINUTE, T0 + 15 * MINUTE);
  assert_int_equal(crlf, want_rows + 1);
  assert_true(rows >= crlf);
  free(a);
  free(b);

  snprintf(cmd, sizeof cmd, "%s audit export --format jsonl --db %s > %s", vigil, fx.pristine, out);
  assert_int_equal(run(cmd), 0);
  said = slurp(out, NULL);
  rows = 0;
  for (char *c = said; *c; c++)
    rows += *c == '\n';
  assert_int_equal(rows, (long long)fx.events);
  free(said);
  snprintf(cmd, sizeof cmd, "%s audit export --format xml --db %s 2> /dev/null", vigil, fx.pristine);
  assert_int_equal(run(cmd), 2);
  snprintf(cmd, sizeof cmd, "%s audit export --format csv --from 2026-02-30 --db %s 2> /dev/null", vigil, fx.pristine);
  assert_int_equal(run(cmd), 2);

  snprintf(cmd, sizeof cmd, "%s help audit > %s", vigil, out);
  assert_int_equal(run(cmd), 0);
  said = slurp(out, NULL);
  assert_non_null(strstr(said, "vigil audit verify [DB]"));
  free(said);
  snprintf(cmd, sizeof cmd, "%s audit --help > /dev/null", vigil);
  assert_int_equal(run(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s audit > /dev/null 2>&1", vigil);
  assert_int_equal(run(cmd), 2); /* no subcommand: the usage */
}

/* ---- Anchors (docs/security.md, S4) ------------------------------------------------ */

/* Rewrites the chain from event k to the head, as someone with write access
 * who knows how rows are hashed would: event k's body changed, and every
 * hash from there recomputed, the head too. */
static void rewrite_chain_from(const char *path, long long k, const char *what, const char *with) {
  char *body = sql_text(path, "SELECT body FROM events WHERE seq = %lld", k);
  char *forged = replace(body, what, with);
  rewrite_row(path, k, forged);
  free(body);
  free(forged);
  for (long long seq = k + 1; seq <= (long long)fx.events; seq++) {
    char *prev = sql_text(path, "SELECT hash FROM events WHERE seq = %lld", seq - 1);
    sql(path, "UPDATE events SET prev = '%s' WHERE seq = %lld", prev, seq);
    free(prev);
    body = sql_text(path, "SELECT body FROM events WHERE seq = %lld", seq);
    rewrite_row(path, seq, body);
    free(body);
  }
  char *head = sql_text(path, "SELECT hash FROM events WHERE seq = %llu", (unsigned long long)fx.events);
  sql(path, "UPDATE meta SET value = '%s' WHERE key = 'head_hash'", head);
  free(head);
}

/* An anchor (the head, signed with a key kept outside the database) finds
 * a rewrite of the whole chain, which verify alone cannot: every hash
 * holds. A forged anchor, or one checked with another key, is refused. */
static void an_anchor_finds_a_rewritten_chain(void **state) {
  (void)state;
  char vigil[PATH_MAX], cmd[PATH_MAX * 4], out[160], key[160], anchor[160];
  if (find_vigil(vigil, sizeof vigil) < 0) skip();
  snprintf(out, sizeof out, "%s/anchor-out.txt", fx.root);
  snprintf(key, sizeof key, "%s/site.key", fx.root);
  snprintf(anchor, sizeof anchor, "%s/anchor.json", fx.root);
  const char *path = fresh_copy();
  snprintf(cmd, sizeof cmd, "%s audit keygen %s > %s", vigil, key, out);
  assert_int_equal(run(cmd), 0);
  assert_int_equal(run(cmd), 1); /* a key is never overwritten */
  snprintf(cmd, sizeof cmd, "%s audit anchor %s --key %s > %s", vigil, path, key, anchor);
  assert_int_equal(run(cmd), 0);
  char *said = slurp(anchor, NULL);
  char want[96];
  snprintf(want, sizeof want, "\"seq\":%llu,", (unsigned long long)fx.events);
  if (!strstr(said, want) || !strstr(said, "\"signature\":\"")) fail_msg("anchor: %s", said);
  free(said);
  snprintf(cmd, sizeof cmd, "%s audit verify %s --anchor %s --public-key %s.pub > %s", vigil, path, anchor, key, out);
  assert_int_equal(run(cmd), 0);
  said = slurp(out, NULL);
  if (!strstr(said, "ok: ") || !strstr(said, "as anchored at")) fail_msg("verify said: %s", said);
  free(said);

  /* The chain rewritten from event 3 on: verify alone finds nothing... */
  long long k = sql_int(path, "SELECT MIN(seq) FROM events WHERE seq >= 3 AND body LIKE '%%\"nurse:ana\"%%'");
  rewrite_chain_from(path, k, "\"nurse:ana\"", "\"nurse:eve\"");
  snprintf(cmd, sizeof cmd, "%s audit verify %s > %s", vigil, path, out);
  assert_int_equal(run(cmd), 0);
  /* ...the anchor does. */
  snprintf(cmd, sizeof cmd, "%s audit verify %s --anchor %s --public-key %s.pub > %s", vigil, path, anchor, key, out);
  assert_int_equal(run(cmd), 1);
  said = slurp(out, NULL);
  snprintf(want, sizeof want, "TAMPERED at event %llu", (unsigned long long)fx.events);
  if (!strstr(said, want) || !strstr(said, "no longer holds the head anchored"))
    fail_msg("verify --anchor said: %s", said);
  free(said);

  /* An anchor signed again by someone else, or checked with another key, is refused. */
  char other[160];
  snprintf(other, sizeof other, "%s/other.key", fx.root);
  snprintf(cmd, sizeof cmd, "%s audit keygen %s > /dev/null && %s audit anchor %s --key %s > %s", vigil, other, vigil,
           path, other, anchor);
  assert_int_equal(run(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s audit verify %s --anchor %s --public-key %s.pub 2> %s", vigil, path, anchor, key, out);
  assert_int_equal(run(cmd), 2);
  said = slurp(out, NULL);
  if (!strstr(said, "does not match the site's public key")) fail_msg("verify said: %s", said);
  free(said);
  snprintf(cmd, sizeof cmd, "%s audit verify %s --anchor %s 2> /dev/null", vigil, path, anchor);
  assert_int_equal(run(cmd), 2); /* without the public key */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(an_untouched_store_verifies),
      cmocka_unit_test(verify_only_reads),
      cmocka_unit_test(an_edited_body_is_found),
      cmocka_unit_test(a_deleted_row_is_found),
      cmocka_unit_test(a_deleted_last_row_is_found),
      cmocka_unit_test(swapped_rows_are_found),
      cmocka_unit_test(an_inserted_row_is_found),
      cmocka_unit_test(an_edit_with_a_recomputed_hash_is_found),
      cmocka_unit_test(an_edited_column_is_found),
      cmocka_unit_test(a_deletion_hidden_by_renumbering_is_found),
      cmocka_unit_test(derived_state_and_protocols_are_checked),
      cmocka_unit_test(every_derived_table_is_folded),
      cmocka_unit_test(the_sqlite3_program_cannot_hide_edits),
      cmocka_unit_test(files_that_cannot_be_checked_say_why),
      cmocka_unit_test(verify_works_while_an_engine_runs),
      cmocka_unit_test(show_tells_a_visits_history),
      cmocka_unit_test(show_gives_a_late_entrys_observed_time),
      cmocka_unit_test(export_csv_reads_back),
      cmocka_unit_test(export_csv_has_no_formulas),
      cmocka_unit_test(export_jsonl_is_the_stored_events),
      cmocka_unit_test(the_command_exits_by_what_it_found),
      cmocka_unit_test(an_anchor_finds_a_rewritten_chain),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
