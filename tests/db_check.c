/* db_check.c: see db_check.h. */
#include "db_check.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static int bad(db_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(db_report *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->error, sizeof r->error, fmt, ap);
  va_end(ap);
  return -1;
}

static const char *text(sqlite3_stmt *st, int col) {
  const char *s = (const char *)sqlite3_column_text(st, col);
  return s ? s : "";
}

/* One value of a query that returns one row (or none: ""). */
static int one_text(sqlite3 *db, const char *sql, char *out, size_t len) {
  sqlite3_stmt *st;
  out[0] = '\0';
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) snprintf(out, len, "%s", text(st, 0));
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int check_chain(sqlite3 *db, uint64_t after, const char *after_hash, db_row_fn fn, void *ud, db_report *r) {
  sqlite3_stmt *st;
  char prev[65] = "";
  if (after) {
    if (!after_hash || strlen(after_hash) != 64)
      return bad(r, "db_check: no hash given for row %llu", (unsigned long long)after);
    char sql[128], stored[80];
    snprintf(sql, sizeof sql, "SELECT hash FROM events WHERE seq = %llu", (unsigned long long)after);
    if (one_text(db, sql, stored, sizeof stored) < 0)
      return bad(r, "cannot read row %llu: %s", (unsigned long long)after, sqlite3_errmsg(db));
    if (strcmp(stored, after_hash) != 0)
      return bad(r, "row %llu changed since it was checked (hash %s, was %s)", (unsigned long long)after, stored,
                 after_hash);
    snprintf(prev, sizeof prev, "%s", after_hash);
  }
  if (sqlite3_prepare_v2(db, "SELECT seq, time, visit, type, body, prev, hash FROM events WHERE seq > ? ORDER BY seq",
                         -1, &st, NULL) != SQLITE_OK)
    return bad(r, "cannot read the events: %s", sqlite3_errmsg(db));
  sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
  uint64_t expect = after + 1;
  int rc, res = 0;
  while (res == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
    const char *body = text(st, 4);
    int len = sqlite3_column_bytes(st, 4);
    char hash[65];
    if (seq != expect) {
      res = bad(r, "seq %llu follows %llu: %s", (unsigned long long)seq, (unsigned long long)(expect - 1),
                seq > expect ? "events are missing" : "out of order");
      break;
    }
    if (strcmp(text(st, 5), prev) != 0) {
      res = bad(r, "row %llu: prev is %s, the previous row's hash is %s", (unsigned long long)seq, text(st, 5), prev);
      break;
    }
    vigil__store_row_hash(prev, body, (size_t)len, hash);
    if (strcmp(text(st, 6), hash) != 0) {
      res = bad(r, "row %llu: hash is %s, sha256(prev || body) is %s", (unsigned long long)seq, text(st, 6), hash);
      break;
    }
    char want[64];
    int n = snprintf(want, sizeof want, "{\"seq\":%llu,", (unsigned long long)seq);
    if (strncmp(body, want, (size_t)n) != 0) {
      res = bad(r, "row %llu: the body names another seq: %.60s", (unsigned long long)seq, body);
      break;
    }
    memcpy(prev, hash, sizeof prev);
    int64_t time = sqlite3_column_int64(st, 1);
    r->rows++;
    r->last_seq = seq;
    expect++;
    if (fn && fn(ud, seq, time, (uint64_t)sqlite3_column_int64(st, 2), text(st, 3), body, r) != 0) res = -1;
  }
  if (res == 0 && rc != SQLITE_DONE) res = bad(r, "cannot read the events: %s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  if (res == 0) memcpy(r->last_hash, prev, sizeof prev);
  return res;
}

/* The visits table and the meta rows, against the log (for the visits and
 * alerts of the rows after `after` only, when after > 0). */
static int check_bookkeeping(sqlite3 *db, uint64_t after, db_report *r) {
  char v[128], sql[1024];
  if (r->last_seq) {
    if (one_text(db, "SELECT value FROM meta WHERE key = 'head_seq'", v, sizeof v) < 0 ||
        strtoull(v, NULL, 10) != r->last_seq)
      return bad(r, "meta head_seq is '%s', the last row is %llu", v, (unsigned long long)r->last_seq);
    if (one_text(db, "SELECT value FROM meta WHERE key = 'head_hash'", v, sizeof v) < 0 || strcmp(v, r->last_hash))
      return bad(r, "meta head_hash is '%s', the last row's hash is %s", v, r->last_hash);
  }
  char alerts[64];
  snprintf(sql, sizeof sql,
           "SELECT COALESCE(MAX(CAST(json_extract(body, '$.data.alert') AS INTEGER)), 0) FROM events "
           "WHERE type = 'alert.raised' AND seq > %llu",
           (unsigned long long)after);
  if (one_text(db, "SELECT value FROM meta WHERE key = 'alerts'", v, sizeof v) < 0 ||
      one_text(db, sql, alerts, sizeof alerts) < 0)
    return bad(r, "cannot read the alerts: %s", sqlite3_errmsg(db));
  /* Alert ids grow with seq: the highest is in the newest rows that have one. */
  if ((after == 0 || strcmp(alerts, "0") != 0) && strtoull(v, NULL, 10) != strtoull(alerts, NULL, 10))
    return bad(r, "meta alerts is '%s', the highest alert raised in the log is %s", v, alerts);
  /* Every started visit has its row, with the right status, and no other row exists. */
  char which[160] = "";
  if (after)
    snprintf(which, sizeof which, " AND s.visit IN (SELECT visit FROM events WHERE seq > %llu)",
             (unsigned long long)after);
  snprintf(sql, sizeof sql,
           "SELECT COUNT(*) FROM ("
           " SELECT s.visit AS id, CASE WHEN EXISTS (SELECT 1 FROM events c WHERE c.visit = s.visit AND"
           "   (c.type = 'visit.discharged' OR (c.type = 'visit.aborted' AND"
           "    COALESCE(json_array_length(c.body, '$.data.alerts'), 0) = 0) OR (c.type = 'alert.acknowledged' AND"
           "    json_extract(c.body, '$.data.alerts_left') = 0))) THEN 'closed' ELSE 'active' END AS status"
           " FROM events s WHERE s.type = 'visit.started'%s"
           " EXCEPT SELECT id, status FROM visits)",
           which);
  if (one_text(db, sql, v, sizeof v) < 0) return bad(r, "cannot read the visits: %s", sqlite3_errmsg(db));
  if (strcmp(v, "0") != 0) return bad(r, "%s visits have no row, or a wrong status, in the visits table", v);
  if (one_text(db,
               "SELECT COUNT(*) FROM visits v WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.visit = v.id AND "
               "e.type = 'visit.started')",
               v, sizeof v) < 0 ||
      strcmp(v, "0") != 0)
    return bad(r, "%s rows of the visits table have no visit.started event", v);
  return 0;
}

int db_check(const char *path, uint64_t after, const char *after_hash, int flags, db_row_fn fn, void *ud,
             db_report *r) {
  memset(r, 0, sizeof *r);
  r->last_seq = after;
  /* A first start killed before it created the file: nothing, fine. */
  if (after == 0 && access(path, F_OK) < 0 && errno == ENOENT) return 0;
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    bad(r, "cannot open %s read-only: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return -1;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  int res = 0;
  /* One read transaction: every check sees the same snapshot. */
  if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) res = bad(r, "BEGIN: %s", sqlite3_errmsg(db));
  char ok[256];
  if (!(flags & DB_CHECK_NO_INTEGRITY)) {
    if (res == 0 && one_text(db, "PRAGMA integrity_check", ok, sizeof ok) < 0)
      res = bad(r, "integrity_check: %s", sqlite3_errmsg(db));
    if (res == 0 && strcmp(ok, "ok") != 0) res = bad(r, "integrity_check says: %s", ok);
  }
  /* A file whose first start died before the schema was committed is empty
   * (nothing was ever acknowledged in it): fine, if it is empty through. */
  char tables[32], version[32];
  if (res == 0 &&
      (one_text(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'events'", tables, sizeof tables) < 0 ||
       one_text(db, "PRAGMA user_version", version, sizeof version) < 0))
    res = bad(r, "cannot read the schema: %s", sqlite3_errmsg(db));
  int empty = res == 0 && !strcmp(tables, "0");
  if (empty && (strcmp(version, "0") != 0 || after)) res = bad(r, "the events table is gone (schema %s)", version);
  if (res == 0 && !empty) res = check_chain(db, after, after_hash, fn, ud, r);
  if (res == 0 && !empty) res = check_bookkeeping(db, after, r);
  char t[32];
  if (res == 0 && one_text(db, "SELECT COALESCE(MAX(time), 0) FROM events", t, sizeof t) == 0)
    r->max_time = strtoll(t, NULL, 10);
  /* A first start killed while it switched a new file to WAL leaves a hot
   * rollback journal, which only a writer can roll back. */
  if (res < 0 && sqlite3_extended_errcode(db) == SQLITE_READONLY_ROLLBACK) res = DB_CHECK_HOT_JOURNAL;
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(db);
  return res;
}
