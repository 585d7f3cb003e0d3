/* audit.c: the audit trail read back from a store file.
 *
 * Each row of the SQLite store's events table carries the previous row's
 * hash and its own, SHA-256 over that and the event's canonical JSON
 * (vigil__store_row_hash). verify walks the chain from seq 1 and names the first
 * row that is wrong and how; show prints one visit's history for a person;
 * export writes a time range for other systems.
 *
 * All three open the file read-only and without the engine's flock, and read
 * inside one transaction: in WAL mode that is one snapshot, so the rows and
 * the head in meta (written in the same transaction as the rows) agree even
 * while an engine goes on appending. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "lang/protocol.h"
#include "store/protocol_version.h"
#include "store/store.h"
#include "vigil/vigil.h"

/* The events that end a visit for recovery, as store/event.h's
 * vigil__event_ends_visit says (e: the events table): a discharge, an abort
 * that left no active alert, the acknowledgement of an aborted visit's last
 * active alert (G3 in docs/safety.md). */
#define AUDIT_ENDS_VISIT                                                                                               \
  "(e.type = 'visit.discharged' OR (e.type = 'visit.aborted' AND "                                                     \
  "COALESCE(json_array_length(e.body, '$.data.alerts'), 0) = 0) OR (e.type = 'alert.acknowledged' AND "                \
  "json_extract(e.body, '$.data.alerts_left') = 0))"

/* The newest store schema this file knows how to read (store_sqlite.c's
 * migrations). A newer file may have moved what the chain covers. */

static int say(char *msg, size_t msglen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int say(char *msg, size_t msglen, int code, const char *fmt, ...) {
  if (msg && msglen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* SQLite's failure as a VIGIL_E* code and a sentence. */
static int db_error(sqlite3 *db, const char *path, const char *doing, char *msg, size_t msglen) {
  int rc = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
  const char *why = db ? sqlite3_errmsg(db) : "out of memory";
  switch (rc & 0xff) {
  case SQLITE_NOMEM:
    return say(msg, msglen, VIGIL_ENOMEM, "%s: out of memory", doing);
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return say(msg, msglen, VIGIL_ECORRUPT, "%s: %s is damaged or is not a vigil database (%s)", doing, path, why);
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return say(msg, msglen, VIGIL_EBUSY, "%s: %s is busy (%s)", doing, path, why);
  case SQLITE_ERROR:
    /* The file said it is a vigil store (its schema version), yet a table
     * or column the store creates is gone: someone altered the schema. */
    if (!strncmp(why, "no such", 7))
      return say(msg, msglen, VIGIL_ECORRUPT, "%s: the tables of %s were altered (%s)", doing, path, why);
    return say(msg, msglen, VIGIL_EIO, "%s: %s (%s)", doing, why, path);
  default:
    return say(msg, msglen, VIGIL_EIO, "%s: %s (%s)", doing, why, path);
  }
}

/* ---- Opening a store to read --------------------------------------------- */

typedef struct reader {
  sqlite3 *db;
  const char *path;
  char *msg;
  size_t msglen;
} reader;

static void reader_close(reader *r) {
  if (!r->db) return;
  sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL); /* ends the read snapshot; nothing was written */
  sqlite3_close(r->db);
  r->db = NULL;
}

static int reader_fail(reader *r, const char *doing) { return db_error(r->db, r->path, doing, r->msg, r->msglen); }

/* file: URI of a path, for SQLite's URI parameters: what a URI gives a
 * meaning to (% ? #) percent-encoded. NULL when out of memory. */
static char *file_uri(const char *path, const char *params) {
  buf b;
  vigil__buf_init(&b);
  vigil__buf_puts(&b, "file:");
  for (const char *p = path; *p; p++)
    if (*p == '%' || *p == '?' || *p == '#')
      vigil__buf_printf(&b, "%%%02X", (unsigned char)*p);
    else
      vigil__buf_putc(&b, *p);
  vigil__buf_printf(&b, "?%s", params);
  return vigil__buf_take(&b);
}

/* Starts the read transaction every query of the call shares, and checks
 * that the file is a vigil store this code can read. The first read is
 * where SQLite finds out whether it can read the file at all. */
static int begin_read(reader *r) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  sqlite3_extended_result_codes(r->db, 1);
  /* A running engine holds the write lock only for the length of a commit. */
  sqlite3_busy_timeout(r->db, 5000);
  if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
    rc = reader_fail(r, "cannot read the database");
  } else {
    int version = sqlite3_column_int(st, 0);
    if (version > STORE_SQLITE_SCHEMA)
      rc = say(r->msg, r->msglen, VIGIL_ENEWER,
               "%s was written by a newer vigil (schema %d; this vigil reads up to %d): audit it with that vigil",
               r->path, version, STORE_SQLITE_SCHEMA);
    else if (version < 1)
      rc = say(r->msg, r->msglen, VIGIL_EINVAL, "%s is not a vigil database (it has no event log)", r->path);
  }
  sqlite3_finalize(st);
  return rc;
}

/* Opens the store read-only: no journal, no migration, no change to the
 * head or state, no lock that would stop an engine. */
static int reader_open(reader *r, const char *path, char *msg, size_t msglen) {
  *r = (reader){.path = path, .msg = msg, .msglen = msglen};
  if (!path) return say(msg, msglen, VIGIL_EINVAL, "no database given");
  if (vigil__store_is_pg(path))
    return say(msg, msglen, VIGIL_EINVAL,
               "a PostgreSQL database (the URI is not repeated: it may hold a password): of the audit's calls "
               "only vigil_audit_verify reads one yet");
  struct stat st;
  if (stat(path, &st) < 0)
    return say(msg, msglen, errno == ENOENT ? VIGIL_ENOENT : VIGIL_EIO, "cannot open %s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return say(msg, msglen, VIGIL_EINVAL, "%s is not a file", path);
  int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
               ? begin_read(r)
               : reader_fail(r, "cannot open the database");
  int code = r->db ? sqlite3_extended_errcode(r->db) & 0xff : SQLITE_OK;
  if (rc < 0 && (code == SQLITE_READONLY || code == SQLITE_CANTOPEN)) {
    /* A write-ahead-log store in a folder we cannot write to (an archive,
     * read-only media): SQLite cannot make the -shm file readers share.
     * With no -wal file holding commits, nothing can be writing it, and it
     * can be read as immutable. */
    reader_close(r);
    buf wal;
    vigil__buf_init(&wal);
    vigil__buf_printf(&wal, "%s-wal", path);
    int wal_holds_commits = wal.p && stat(wal.p, &st) == 0 && st.st_size > 0;
    vigil__buf_free(&wal);
    if (wal_holds_commits)
      return say(msg, msglen, VIGIL_EIO,
                 "cannot read %s: its write-ahead log (%s-wal) holds events, and its folder cannot be written: copy "
                 "the database and its -wal file to a folder that can be",
                 path, path);
    char *uri = file_uri(path, "immutable=1");
    if (!uri) return say(msg, msglen, VIGIL_ENOMEM, "out of memory");
    rc = sqlite3_open_v2(uri, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) == SQLITE_OK
             ? begin_read(r)
             : reader_fail(r, "cannot open the database");
    free(uri);
  }
  if (rc < 0) reader_close(r);
  return rc;
}

static int prepare(reader *r, const char *sql, sqlite3_stmt **st) {
  if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) == SQLITE_OK) return 0;
  return reader_fail(r, "cannot read the database");
}

/* A meta value; "" when the key is absent (*present says which). */
static int read_meta(reader *r, const char *key, char *out, size_t outlen, int *present) {
  sqlite3_stmt *st;
  int rc = prepare(r, "SELECT value FROM meta WHERE key = ?", &st);
  if (rc < 0) return rc;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  out[0] = '\0';
  *present = 0;
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(st, 0);
    snprintf(out, outlen, "%s", v ? v : "");
    *present = 1;
  }
  sqlite3_finalize(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : reader_fail(r, "cannot read the database");
}

/* A decimal number that is all of s. */
static int parse_u64(const char *s, uint64_t *out) {
  if (!*s) return -1;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (*end || errno || *s == '-') return -1;
  *out = x;
  return 0;
}

/* ---- One row ------------------------------------------------------------- */

typedef struct row {
  int64_t seq;
  int64_t time;
  int64_t visit;
  const char *type;
  const char *body;
  size_t body_len;
  const char *prev;
  const char *hash;
} row;

/* Rows of SELECT seq, time, visit, type, body, prev, hash. */
static void row_read(sqlite3_stmt *st, row *w) {
  w->seq = sqlite3_column_int64(st, 0);
  w->time = sqlite3_column_int64(st, 1);
  w->visit = sqlite3_column_int64(st, 2);
  w->type = (const char *)sqlite3_column_text(st, 3);
  w->body = (const char *)sqlite3_column_text(st, 4);
  w->body_len = (size_t)sqlite3_column_bytes(st, 4);
  w->prev = (const char *)sqlite3_column_text(st, 5);
  w->hash = (const char *)sqlite3_column_text(st, 6);
  if (!w->type) w->type = "";
  if (!w->body) w->body = "";
  if (!w->prev) w->prev = "";
  if (!w->hash) w->hash = "";
}

/* The fields of an event's body that the row's columns repeat. */
typedef struct body_fields {
  json_t *json; /* the parsed body; the caller releases it */
  int64_t seq;
  int64_t visit;
  const char *time; /* ISO UTC, as vigil__event_to_json writes it */
  const char *type;
  const char *actor;
  json_t *data;
} body_fields;

/* 0, or -1 when the body is not an event's JSON. */
static int body_parse(const char *body, size_t len, body_fields *f) {
  memset(f, 0, sizeof *f);
  /* Texts may hold NUL (a rule's message is any Lua string). */
  f->json = json_loadb(body, len, JSON_PRESERVE_ORDER | JSON_ALLOW_NUL, NULL);
  json_t *seq = json_object_get(f->json, "seq"), *visit = json_object_get(f->json, "visit");
  f->time = json_string_value(json_object_get(f->json, "time"));
  f->type = json_string_value(json_object_get(f->json, "type"));
  f->actor = json_string_value(json_object_get(f->json, "actor"));
  f->data = json_object_get(f->json, "data");
  if (!json_is_integer(seq) || !json_is_integer(visit) || !f->time || !f->type || !f->actor || !json_is_object(f->data))
    return -1;
  f->seq = json_integer_value(seq);
  f->visit = json_integer_value(visit);
  return 0;
}

static void iso_time(char out[32], int64_t ms) {
  buf b;
  vigil__buf_init(&b);
  vigil__buf_iso_time(&b, ms);
  snprintf(out, 32, "%s", b.p ? b.p : "");
  vigil__buf_free(&b);
}

/* ---- Verify ---------------------------------------------------------------- */

typedef struct verdict {
  uint64_t first_bad;
  char *msg;
  size_t msglen;
} verdict;

static int tampered(verdict *v, uint64_t seq, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int tampered(verdict *v, uint64_t seq, const char *fmt, ...) {
  v->first_bad = seq;
  if (v->msg && v->msglen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, v->msglen, fmt, ap);
    va_end(ap);
  }
  return VIGIL_ECORRUPT;
}

/* The position of another row whose body says it is event seq, or 0. The
 * canonical body starts with {"seq":N, so a prefix comparison finds it. */
static int64_t row_claiming(reader *r, int64_t seq, int64_t except) {
  char prefix[48];
  int n = snprintf(prefix, sizeof prefix, "{\"seq\":%lld,", (long long)seq);
  sqlite3_stmt *st;
  if (prepare(r, "SELECT seq FROM events WHERE substr(body, 1, ?1) = ?2 AND seq != ?3 ORDER BY seq LIMIT 1", &st) < 0)
    return 0;
  sqlite3_bind_int(st, 1, n);
  sqlite3_bind_text(st, 2, prefix, n, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, except);
  int64_t at = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return at;
}

/* The stored hash of the row at position seq; -1 if there is none. */
static int row_hash_at(reader *r, int64_t seq, char out[65]) {
  sqlite3_stmt *st;
  if (prepare(r, "SELECT hash FROM events WHERE seq = ?", &st) < 0) return -1;
  sqlite3_bind_int64(st, 1, seq);
  int found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0);
  if (found) snprintf(out, 65, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return found ? 0 : -1;
}

typedef struct chain {
  row_hasher *hasher;
  int64_t expected;   /* the seq the next row must have */
  char last_hash[65]; /* the previous row's stored hash ("" before the first) */
  uint64_t max_alert; /* the highest alert id raised in the log, and where */
  int64_t max_alert_seq;
} chain;

/* Checks one row against the chain so far; 0 when it links on. */
static int check_row(reader *r, chain *c, const row *w, verdict *v) {
  unsigned long long s = (unsigned long long)w->seq;
  if (w->seq < c->expected) {
    /* The store's primary key forbids this; a rebuilt table does not. */
    if (w->seq < 1)
      return tampered(v, 1, "an event was inserted before event 1 (with sequence number %lld)", (long long)w->seq);
    return tampered(v, s, "an event was inserted at %llu (a second row with that sequence number)", s);
  }
  if (w->seq > c->expected) {
    unsigned long long want = (unsigned long long)c->expected;
    int64_t moved = row_claiming(r, c->expected, 0);
    if (moved)
      return tampered(v, want, "event %llu is out of order: it was moved to position %lld", want, (long long)moved);
    if (s - want == 1) return tampered(v, want, "event %llu is missing (deleted)", want);
    return tampered(v, want, "events %llu to %llu are missing (deleted)", want, s - 1);
  }

  body_fields f;
  int rc = 0;
  if (body_parse(w->body, w->body_len, &f) < 0) {
    rc = tampered(v, s, "event %llu was edited: its body is no longer an event's JSON", s);
  } else if (f.seq != w->seq) {
    unsigned long long b = (unsigned long long)f.seq;
    if (f.seq < w->seq) {
      /* Positions before this one all chained, position b too. Either rows
       * were inserted from b on and the real event b moved up here intact
       * (its own hash still holds), or event b was copied over this row. */
      char hash[65], at_b[65];
      int intact = vigil__row_hash(c->hasher, w->prev, w->body, w->body_len, hash) == 0 && !strcmp(hash, w->hash);
      if (!hash[0])
        rc = say(v->msg, v->msglen, VIGIL_ENOMEM, "cannot compute a hash");
      else if (!intact || (row_hash_at(r, f.seq, at_b) == 0 && !strcmp(at_b, w->hash)))
        rc = tampered(v, s, "event %llu was edited: it was overwritten with a copy of event %llu", s, b);
      else
        rc = tampered(v, b, "an event was inserted at %llu: the event that had sequence number %llu is now at %llu", b,
                      b, s);
    } else {
      int64_t at = row_claiming(r, w->seq, w->seq);
      if (at)
        rc = tampered(v, s, "event %llu is out of order: it is at position %lld, and position %llu holds event %llu", s,
                      (long long)at, s, b);
      else if (row_claiming(r, f.seq, w->seq) == f.seq)
        rc = tampered(v, s, "event %llu was edited: it was overwritten with a copy of event %llu", s, b);
      else
        rc = tampered(v, s, "event %llu is missing (deleted, and the events after it renumbered to hide the gap)", s);
    }
  } else {
    char when[32];
    iso_time(when, w->time);
    /* The columns are not hashed; the body is. Where they differ, a column was edited. */
    if (f.visit != w->visit)
      rc = tampered(v, s, "event %llu was edited: its visit column says %lld but its hashed body says %lld", s,
                    (long long)w->visit, (long long)f.visit);
    else if (strcmp(f.type, w->type))
      rc = tampered(v, s, "event %llu was edited: its type column says %s but its hashed body says %s", s, w->type,
                    f.type);
    else if (strcmp(f.time, when))
      rc =
          tampered(v, s, "event %llu was edited: its time column says %s but its hashed body says %s", s, when, f.time);
  }
  if (rc == 0) {
    char hash[65];
    if (vigil__row_hash(c->hasher, w->prev, w->body, w->body_len, hash) < 0)
      rc = say(v->msg, v->msglen, VIGIL_ENOMEM, "cannot compute a hash");
    else if (strcmp(hash, w->hash))
      rc = tampered(v, s, "event %llu was edited: its body no longer matches its hash", s);
    else if (strcmp(w->prev, c->last_hash)) {
      /* The row is consistent with itself, so its prev is what was hashed
       * when it was written: the row before it changed its hash. */
      if (s == 1)
        rc = tampered(v, 1, "event 1 was edited: it links to an event before the first");
      else
        rc = tampered(v, s - 1,
                      "event %llu was edited and its hash recomputed: event %llu still links to its earlier hash",
                      s - 1, s);
    }
  }
  if (rc == 0 && !strcmp(f.type, "alert.raised")) {
    json_t *id = json_object_get(f.data, "alert");
    if (json_is_integer(id) && (uint64_t)json_integer_value(id) > c->max_alert) {
      c->max_alert = (uint64_t)json_integer_value(id);
      c->max_alert_seq = w->seq;
    }
  }
  json_decref(f.json);
  if (rc < 0) return rc;
  snprintf(c->last_hash, sizeof c->last_hash, "%s", w->hash);
  c->expected++;
  return 0;
}

/* The head in meta is written with the rows: it must name the last one. */
static int check_head(reader *r, const chain *c, verdict *v) {
  char seq_text[32], hash[80];
  int has_seq, has_hash, rc;
  if ((rc = read_meta(r, "head_seq", seq_text, sizeof seq_text, &has_seq)) < 0 ||
      (rc = read_meta(r, "head_hash", hash, sizeof hash, &has_hash)) < 0)
    return rc;
  unsigned long long last = (unsigned long long)(c->expected - 1);
  if (!has_seq && !has_hash) {
    if (last == 0) return 0; /* a store that never held an event */
    return tampered(v, last, "the log's head (head_seq and head_hash in meta) is missing: it was deleted");
  }
  uint64_t head;
  if (!has_seq || parse_u64(seq_text, &head) < 0)
    return tampered(v, last, "the log's head was edited: head_seq is '%s'", seq_text);
  if (head > last) {
    if (last == 0)
      return tampered(v, 1, "the log is empty but its head says %llu: every event was deleted",
                      (unsigned long long)head);
    return tampered(v, last + 1, "the log ends at %llu but its head says %llu: the last events were deleted", last,
                    (unsigned long long)head);
  }
  if (head < last)
    return tampered(v, head + 1, "an event was inserted at %llu: the log goes on past its head (%llu)",
                    (unsigned long long)head + 1, (unsigned long long)head);
  if (strcmp(hash, c->last_hash))
    return tampered(v, last,
                    "event %llu does not match the head's hash: it was edited and its hash recomputed, or the events "
                    "after it were deleted and the head rewritten",
                    last);
  return 0;
}

/* Runs a query whose first row, if any, is a problem: (number, number). */
static int first_problem(reader *r, const char *sql, int64_t *a, int64_t *b, int *found) {
  sqlite3_stmt *st;
  int rc = prepare(r, sql, &st);
  if (rc < 0) return rc;
  int step = sqlite3_step(st);
  *found = step == SQLITE_ROW;
  if (*found) {
    *a = sqlite3_column_int64(st, 0);
    *b = sqlite3_column_count(st) > 1 ? sqlite3_column_int64(st, 1) : 0;
  }
  sqlite3_finalize(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : reader_fail(r, "cannot read the database");
}

/* The store keeps derived state in the same transactions as the rows: the
 * highest alert id, and each visit's status (which recovery trusts to find
 * open visits). Deleting the last events and rewriting the head leaves a
 * chain that is whole, but these still remember what was there. */
static int check_derived(reader *r, const chain *c, verdict *v) {
  unsigned long long next = (unsigned long long)c->expected; /* one past the last event */
  char text[32];
  int present, found, rc;
  int64_t a, b;
  uint64_t alerts = 0;
  if ((rc = read_meta(r, "alerts", text, sizeof text, &present)) < 0) return rc;
  if (present && parse_u64(text, &alerts) < 0)
    return tampered(v, next - 1, "the log's head was edited: its alert count is '%s'", text);
  if (alerts > c->max_alert)
    return tampered(v, next,
                    "alert %llu was raised but the log has no event for it: the last events were deleted and the head "
                    "rewritten",
                    (unsigned long long)alerts);
  if (alerts < c->max_alert)
    return tampered(v, (uint64_t)c->max_alert_seq,
                    "the log's head was edited: it counts %llu alerts but event %lld raised alert %llu",
                    (unsigned long long)alerts, (long long)c->max_alert_seq, (unsigned long long)c->max_alert);

  if ((rc = first_problem(r,
                          "SELECT id FROM visits v WHERE NOT EXISTS (SELECT 1 FROM events e "
                          "WHERE e.visit = v.id AND e.type = 'visit.started') ORDER BY id LIMIT 1",
                          &a, &b, &found)) < 0)
    return rc;
  if (found)
    return tampered(v, next,
                    "visit %lld was started but the log has no event for it: the last events were deleted and the head "
                    "rewritten",
                    (long long)a);
  if ((rc = first_problem(r,
                          "SELECT id FROM visits v WHERE status = 'closed' AND NOT EXISTS (SELECT 1 FROM events e "
                          "WHERE e.visit = v.id AND " AUDIT_ENDS_VISIT ") ORDER BY id LIMIT 1",
                          &a, &b, &found)) < 0)
    return rc;
  if (found)
    return tampered(v, next,
                    "visit %lld was closed but the log has no discharge or abort for it: the last events were deleted "
                    "and the head rewritten",
                    (long long)a);
  if ((rc = first_problem(r,
                          "SELECT seq, visit FROM events e WHERE type = 'visit.started' AND NOT EXISTS "
                          "(SELECT 1 FROM visits v WHERE v.id = e.visit) ORDER BY seq LIMIT 1",
                          &a, &b, &found)) < 0)
    return rc;
  if (found)
    return tampered(v, (uint64_t)a,
                    "visit %lld's status row was deleted (a restart would not resume it; it started at event %lld)",
                    (long long)b, (long long)a);
  if ((rc = first_problem(r,
                          "SELECT e.seq, e.visit FROM events e JOIN visits v ON v.id = e.visit "
                          "WHERE " AUDIT_ENDS_VISIT " AND v.status != 'closed' "
                          "ORDER BY e.seq LIMIT 1",
                          &a, &b, &found)) < 0)
    return rc;
  if (found)
    return tampered(v, (uint64_t)a, "visit %lld's status was edited: it ended at event %lld but is marked open",
                    (long long)b, (long long)a);
  return 0;
}

/* A query whose first row, if any, is a difference: up to four text columns
 * (NULL as ""), and the seq of the event it concerns in column 0. */
typedef struct difference {
  int found;
  int64_t seq;
  char text[4][160];
} difference;

static int first_difference(reader *r, const char *sql, difference *d) {
  sqlite3_stmt *st;
  int rc = prepare(r, sql, &st);
  if (rc < 0) return rc;
  int step = sqlite3_step(st);
  memset(d, 0, sizeof *d);
  d->found = step == SQLITE_ROW;
  for (int i = 0; d->found && i < 5 && i < sqlite3_column_count(st); i++) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    if (i == 0)
      d->seq = sqlite3_column_int64(st, 0);
    else
      snprintf(d->text[i - 1], sizeof d->text[i - 1], "%s", t ? t : "");
  }
  sqlite3_finalize(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : reader_fail(r, "cannot read the database");
}

/* What a fold of the log gives, against the tables derived from it in the
 * events' own transactions: each visit's status, the approvals of protocol
 * versions (check_users does the users). A
 * restart trusts these tables (an edited status drops a visit and its
 * alerts from the board), so an edit of one is an edit of the record. */
static int check_fold(reader *r, verdict *v) {
  difference d;
  int rc;
  /* Visits: 'closed' once discharged, or aborted with no active alert left
   * (AUDIT_ENDS_VISIT), else 'active'. */
  if ((rc = first_difference(r,
                             "SELECT (SELECT MIN(seq) FROM events e WHERE e.visit = f.id), f.id, f.status, f.want "
                             "FROM (SELECT v.id, v.status, CASE WHEN EXISTS (SELECT 1 FROM events e WHERE "
                             "e.visit = v.id AND " AUDIT_ENDS_VISIT ") THEN 'closed' "
                             "ELSE 'active' END AS want FROM visits v) f WHERE f.status IS NOT f.want "
                             "ORDER BY f.id LIMIT 1",
                             &d)) < 0)
    return rc;
  if (d.found)
    return tampered(v, (uint64_t)d.seq,
                    "the derived state was edited: visit %s's status is '%s' but its events make it '%s' (a restart "
                    "would %s it)",
                    d.text[0], d.text[1], d.text[2], !strcmp(d.text[2], "active") ? "not resume" : "resume");
  /* Approvals: one row per protocol.approved event, with its ref and approver. */
  if ((rc = first_difference(
           r,
           "SELECT e.seq, json_extract(e.body, '$.data.sha256'), json_extract(e.body, '$.data.ref'), "
           "json_extract(e.body, '$.actor') FROM events e WHERE e.type = 'protocol.approved' AND NOT EXISTS "
           "(SELECT 1 FROM kv WHERE kv.ns = 'approval' AND kv.key = json_extract(e.body, '$.data.sha256') AND "
           "json_extract(CAST(kv.value AS TEXT), '$.ref') IS json_extract(e.body, '$.data.ref') AND "
           "json_extract(CAST(kv.value AS TEXT), '$.by') IS json_extract(e.body, '$.actor')) ORDER BY e.seq LIMIT 1",
           &d)) < 0)
    return rc;
  if (d.found)
    return tampered(v, (uint64_t)d.seq,
                    "the derived state was edited: event %lld approved %s (by %s) but the approvals table has no such "
                    "approval",
                    (long long)d.seq, d.text[1], d.text[2]);
  if ((rc = first_difference(r,
                             "SELECT 0, kv.key, json_extract(CAST(kv.value AS TEXT), '$.ref') FROM kv WHERE kv.ns = "
                             "'approval' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.type = 'protocol.approved' "
                             "AND json_extract(e.body, '$.data.sha256') = kv.key) ORDER BY kv.key LIMIT 1",
                             &d)) < 0)
    return rc;
  if (d.found)
    return tampered(v, 0,
                    "the derived state was edited: protocol %s (fingerprint %.12s...) is approved but the log has no "
                    "protocol.approved event for it",
                    d.text[1], d.text[0]);
  return 0;
}

/* Users: each made by a user.created event with its role, each event's user
 * there, disabled as the user's last user.changed says. A user's row is
 * written in its event's transaction (server/auth/users.c), so a difference
 * is an edit; vigil serve's start makes the users the log's (T6). */
static int check_users(reader *r, verdict *v) {
  difference d;
  int rc;
  if ((rc = first_difference(r,
                             "SELECT 0, kv.key, json_extract(CAST(kv.value AS TEXT), '$.role') FROM kv WHERE kv.ns = "
                             "'user' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.type = 'user.created' AND "
                             "json_extract(e.body, '$.data.user') = kv.key AND json_extract(e.body, '$.data.role') IS "
                             "json_extract(CAST(kv.value AS TEXT), '$.role')) ORDER BY kv.key LIMIT 1",
                             &d)) < 0)
    return rc;
  if (d.found)
    return tampered(v, 0,
                    "the derived state was edited: user %s (role %s) is in the users table but the log has no "
                    "user.created event for them with that role",
                    d.text[0], d.text[1]);
  if ((rc = first_difference(r,
                             "SELECT e.seq, json_extract(e.body, '$.data.user') FROM events e WHERE e.type = "
                             "'user.created' AND NOT EXISTS (SELECT 1 FROM kv WHERE kv.ns = 'user' AND kv.key = "
                             "json_extract(e.body, '$.data.user')) ORDER BY e.seq LIMIT 1",
                             &d)) < 0)
    return rc;
  if (d.found)
    return tampered(v, (uint64_t)d.seq,
                    "the derived state was edited: event %lld created user %s, who is missing from the users table",
                    (long long)d.seq, d.text[0]);
  if ((rc = first_difference(
           r,
           "SELECT COALESCE(f.last, 0), f.name, f.has, COALESCE((SELECT CASE WHEN json_extract(e.body, "
           "'$.data.disabled') THEN 'disabled' ELSE 'enabled' END FROM events e WHERE e.seq = f.last), 'enabled') "
           "AS want FROM (SELECT kv.key AS name, CASE WHEN json_extract(CAST(kv.value AS TEXT), '$.disabled') "
           "THEN 'disabled' ELSE 'enabled' END AS has, (SELECT MAX(e.seq) FROM events e WHERE e.type = "
           "'user.changed' AND json_extract(e.body, '$.data.user') = kv.key AND json_type(e.body, "
           "'$.data.disabled') IS NOT NULL) AS last FROM kv WHERE kv.ns = 'user') f WHERE f.has IS NOT want "
           "ORDER BY f.name LIMIT 1",
           &d)) < 0)
    return rc;
  if (d.found)
    return tampered(v, (uint64_t)d.seq,
                    "the derived state was edited: user %s is %s in the users table but the log makes them %s",
                    d.text[0], d.text[1], !strcmp(d.text[1], "enabled") ? "disabled" : "enabled");
  return 0;
}

/* ---- credentials (U2) ------------------------------------------------------------ */

void vigil_audit_credential_digest(const unsigned char key[32], const char *kind, const char *a, const char *b,
                                   char out[65]) {
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, key, 32);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)kind, strlen(kind) + 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)a, strlen(a) + 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)b, strlen(b));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(out, 65, mac, sizeof mac);
}

int vigil_audit_credential_key(const char *db_path, int create, unsigned char key[32], char *msg, size_t msglen) {
  char path[4200];
  snprintf(path, sizeof path, "%s-credentials.key", db_path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, key, 32);
    close(fd);
    if (n != 32) return say(msg, msglen, VIGIL_ECORRUPT, "the credential key %s is not 32 bytes", path);
    return 0;
  }
  if (errno != ENOENT) return say(msg, msglen, VIGIL_EIO, "cannot read %s: %s", path, strerror(errno));
  if (!create) return say(msg, msglen, VIGIL_ENOENT, "the credential key %s is missing", path);
  if (sodium_init() < 0) return say(msg, msglen, VIGIL_ENOMEM, "out of memory");
  randombytes_buf(key, 32);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return say(msg, msglen, VIGIL_EIO, "cannot create %s: %s", path, strerror(errno));
  int ok = write(fd, key, 32) == 32 && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(path);
    return say(msg, msglen, VIGIL_EIO, "cannot write %s", path);
  }
  return 1;
}

/* The events of sessions (docs/security.md U2, V3): each start (a
 * session.started, an API token's user.changed token_issued) and end
 * (session.ended) by the digest of its row, and each event of a user that
 * ends their sessions (a password change but of the session kept, the user
 * disabled). */
typedef struct session_event {
  char digest[64];
  int64_t seq, time, ttl; /* ttl: -1 when the event does not say (before V3) */
  int kind;               /* 0 a session started, 1 a token issued, 2 ended */
} session_event;

typedef struct user_ending {
  char user[72];
  int64_t seq;
  int disabled;  /* else a password change */
  char kept[65]; /* the digest of the session that changed it, "" none */
} user_ending;

static int cmp_session_event(const void *a, const void *b) {
  const session_event *x = a, *y = b;
  int c = memcmp(x->digest, y->digest, 64);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_user_ending(const void *a, const void *b) {
  const user_ending *x = a, *y = b;
  int c = strcmp(x->user, y->user);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Room for one more element in *list (n used of *cap): 0, or -1 out of memory. */
static int room_for_one(void **list, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return 0;
  size_t grown_cap = *cap ? *cap * 2 : 16;
  void *grown = realloc(*list, grown_cap * size);
  if (!grown) return -1;
  *list = grown;
  *cap = grown_cap;
  return 0;
}

/* The last time each actor wrote an event, sorted by actor. */
typedef struct actor_time {
  char actor[72];
  int64_t time;
} actor_time;

static int cmp_actor_time(const void *a, const void *b) {
  return strcmp(((const actor_time *)a)->actor, ((const actor_time *)b)->actor);
}

/* Each session row against the events of its session: started by one (its
 * digest), not ended since (signed out, its user's password changed but by
 * it, its user disabled), lasting as its start said. With fn, each row that
 * passes is handed with the expiry the events allow (V3): its life after
 * the later of its start and its user's last event (0: an API token). */
static int check_sessions(reader *r, verdict *v, const unsigned char key[32],
                          void (*fn)(void *ud, const char *row, int64_t expires_ms), void *ud) {
  session_event *ev = NULL;
  user_ending *ends = NULL;
  actor_time *actors = NULL;
  size_t n = 0, cap = 0, n_ends = 0, cap_ends = 0, n_actors = 0, cap_actors = 0;
  sqlite3_stmt *st;
  int rc, step = SQLITE_DONE;
  if ((rc = prepare(
           r,
           "SELECT seq, time, type, json_extract(body, '$.data.session_digest'), json_extract(body, "
           "'$.data.ttl_ms'), json_extract(body, '$.data.user'), json_extract(body, '$.data.password_changed'), "
           "json_extract(body, '$.data.disabled'), json_extract(body, '$.data.kept_session_digest'), "
           "json_extract(body, '$.data.token_issued') FROM events WHERE type IN ('session.started', "
           "'session.ended', 'user.changed') ORDER BY seq",
           &st)) < 0)
    return rc;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *type = (const char *)sqlite3_column_text(st, 2), *dg = (const char *)sqlite3_column_text(st, 3);
    const char *user = (const char *)sqlite3_column_text(st, 5), *kept = (const char *)sqlite3_column_text(st, 8);
    int is_change = type && !strcmp(type, "user.changed");
    if (dg && strlen(dg) == 64 && (!is_change || sqlite3_column_int(st, 9))) {
      if (room_for_one((void **)&ev, n, &cap, sizeof *ev) < 0) {
        step = SQLITE_NOMEM;
        break;
      }
      session_event *e = &ev[n++];
      memcpy(e->digest, dg, 64);
      e->seq = sqlite3_column_int64(st, 0);
      e->time = sqlite3_column_int64(st, 1);
      e->ttl = sqlite3_column_type(st, 4) == SQLITE_INTEGER ? sqlite3_column_int64(st, 4) : -1;
      e->kind = is_change ? 1 : !strcmp(type, "session.ended") ? 2 : 0;
      if (e->kind == 1) e->ttl = 0;
    }
    if (is_change && user && strlen(user) < sizeof ends->user &&
        (sqlite3_column_int(st, 6) || sqlite3_column_int(st, 7))) {
      if (room_for_one((void **)&ends, n_ends, &cap_ends, sizeof *ends) < 0) {
        step = SQLITE_NOMEM;
        break;
      }
      user_ending *u = &ends[n_ends++];
      snprintf(u->user, sizeof u->user, "%s", user);
      u->seq = sqlite3_column_int64(st, 0);
      u->disabled = !sqlite3_column_int(st, 6);
      snprintf(u->kept, sizeof u->kept, "%s", kept && strlen(kept) == 64 ? kept : "");
    }
  }
  sqlite3_finalize(st);
  if (fn && step == SQLITE_DONE) {
    if ((rc = prepare(r, "SELECT json_extract(body, '$.actor'), MAX(time) FROM events GROUP BY 1", &st)) < 0) {
      free(ev);
      free(ends);
      return rc;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      const char *actor = (const char *)sqlite3_column_text(st, 0);
      if (!actor || strlen(actor) >= sizeof actors->actor) continue;
      if (room_for_one((void **)&actors, n_actors, &cap_actors, sizeof *actors) < 0) {
        step = SQLITE_NOMEM;
        break;
      }
      snprintf(actors[n_actors].actor, sizeof actors->actor, "%s", actor);
      actors[n_actors++].time = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
  }
  if (step != SQLITE_DONE) {
    free(ev);
    free(ends);
    free(actors);
    return step == SQLITE_NOMEM ? say(r->msg, r->msglen, VIGIL_ENOMEM, "out of memory")
                                : reader_fail(r, "cannot read the events");
  }
  if (n) qsort(ev, n, sizeof *ev, cmp_session_event);
  if (n_ends) qsort(ends, n_ends, sizeof *ends, cmp_user_ending);
  if (n_actors) qsort(actors, n_actors, sizeof *actors, cmp_actor_time);
  if ((rc = prepare(r,
                    "SELECT kv.key, json_extract(CAST(kv.value AS TEXT), '$.user'), json_extract(CAST(kv.value AS "
                    "TEXT), '$.ttl_ms') FROM kv WHERE kv.ns = 'session' ORDER BY kv.key",
                    &st)) < 0) {
    free(ev);
    free(ends);
    free(actors);
    return rc;
  }
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0), *who = (const char *)sqlite3_column_text(st, 1);
    int64_t row_ttl = sqlite3_column_int64(st, 2);
    char got[65], shown[13];
    vigil_audit_credential_digest(key, "session", k ? k : "", who ? who : "", got);
    snprintf(shown, sizeof shown, "%s", k ? k : "");
    if (!who) who = "nobody";
    /* The first event of this digest (lower bound), which must start it. */
    size_t lo = 0, hi = n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (memcmp(ev[mid].digest, got, 64) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo == n || memcmp(ev[lo].digest, got, 64) || ev[lo].kind == 2) {
      rc = tampered(v, 0,
                    "the derived state was edited: a session of %s (%s...) in the sessions table was not started by "
                    "any event of the log",
                    who, shown);
      break;
    }
    const session_event *start = &ev[lo];
    for (size_t i = lo + 1; rc == 0 && i < n && !memcmp(ev[i].digest, got, 64); i++)
      if (ev[i].kind == 2)
        rc = tampered(v, (uint64_t)ev[i].seq,
                      "the derived state was edited: a session of %s (%s...) in the sessions table was ended by event "
                      "%lld (signed out)",
                      who, shown, (long long)ev[i].seq);
    for (size_t i = 0; rc == 0 && i < n_ends; i++) {
      const user_ending *u = &ends[i];
      if (strcmp(u->user, who) || u->seq < start->seq || (!u->disabled && !strncmp(u->kept, got, 64))) continue;
      rc = tampered(v, (uint64_t)u->seq,
                    "the derived state was edited: a session of %s (%s...) in the sessions table was ended by event "
                    "%lld (%s)",
                    who, shown, (long long)u->seq, u->disabled ? "the user disabled" : "a password change");
    }
    if (rc == 0 && ((start->ttl >= 0 && row_ttl != start->ttl) || (start->kind == 0 && row_ttl <= 0)))
      rc = tampered(v, (uint64_t)start->seq,
                    "the derived state was edited: a session of %s (%s...) in the sessions table lasts %lld ms after "
                    "its last use, but event %lld started it for %lld",
                    who, shown, (long long)row_ttl, (long long)start->seq, (long long)start->ttl);
    if (rc == 0 && fn) {
      int64_t ttl = start->ttl >= 0 ? start->ttl : row_ttl, from = start->time;
      actor_time probe = {.time = 0};
      snprintf(probe.actor, sizeof probe.actor, "%s", who);
      const actor_time *last = n_actors ? bsearch(&probe, actors, n_actors, sizeof *actors, cmp_actor_time) : NULL;
      if (last && last->time > from) from = last->time;
      fn(ud, k, ttl ? from + ttl : 0);
    }
  }
  if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW) rc = reader_fail(r, "cannot read the sessions table");
  sqlite3_finalize(st);
  free(ev);
  free(ends);
  free(actors);
  return rc;
}

/* Each user row's password hash against the digest of its latest event
 * that set it (user.created or a password change), and each session row
 * (an API token's too) against the digests of the sessions the log
 * started. Rows from before the key (their events carry no digest) are
 * users unchecked until their next password change; sessions from before
 * it were ended when the key was made (vigil serve). */
static int check_credentials(reader *r, verdict *v) {
  unsigned char key[32];
  char why[600];
  int rc = vigil_audit_credential_key(r->path, 0, key, why, sizeof why);
  difference d;
  if (rc == VIGIL_ENOENT) { /* none made yet: then no event may carry a digest */
    int e;
    if ((e = first_difference(r,
                              "SELECT seq FROM events WHERE type IN ('user.created', 'user.changed', "
                              "'session.started') AND (json_type(body, '$.data.hash_digest') IS NOT NULL OR "
                              "json_type(body, '$.data.session_digest') IS NOT NULL) ORDER BY seq LIMIT 1",
                              &d)) < 0)
      return e;
    return d.found ? tampered(v, (uint64_t)d.seq, "%s but event %lld carries a credential digest made with it", why,
                              (long long)d.seq)
                   : 0;
  }
  if (rc < 0) return say(r->msg, r->msglen, rc, "%s", why);
  sqlite3_stmt *st, *ev;
  if ((rc = prepare(r,
                    "SELECT kv.key, json_extract(CAST(kv.value AS TEXT), '$.hash') FROM kv WHERE kv.ns = 'user' ORDER "
                    "BY kv.key",
                    &st)) < 0)
    return rc;
  if ((rc = prepare(r,
                    "SELECT seq, json_extract(body, '$.data.hash_digest') FROM events WHERE (type = 'user.created' OR "
                    "(type = 'user.changed' AND json_extract(body, '$.data.password_changed'))) AND "
                    "json_extract(body, '$.data.user') = ? ORDER BY seq DESC LIMIT 1",
                    &ev)) < 0) {
    sqlite3_finalize(st);
    return rc;
  }
  int step;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0), *hash = (const char *)sqlite3_column_text(st, 1);
    if (!name) continue;
    sqlite3_reset(ev);
    sqlite3_bind_text(ev, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(ev) != SQLITE_ROW) continue; /* no event: check_users names it */
    const char *want = (const char *)sqlite3_column_text(ev, 1);
    if (!want) continue; /* set before the key: no digest to check */
    char got[65];
    vigil_audit_credential_digest(key, "user", name, hash ? hash : "", got);
    if (strcmp(got, want))
      rc = tampered(v, (uint64_t)sqlite3_column_int64(ev, 0),
                    "the derived state was edited: user %s's password hash in the users table is not the one event "
                    "%lld set",
                    name, (long long)sqlite3_column_int64(ev, 0));
  }
  if (rc == 0 && step != SQLITE_DONE) rc = reader_fail(r, "cannot read the users table");
  sqlite3_finalize(st);
  sqlite3_finalize(ev);
  if (rc < 0) return rc;
  rc = check_sessions(r, v, key, NULL, NULL);
  sodium_memzero(key, sizeof key);
  return rc;
}

/* A protocol version's fingerprint from its stored files ({path, text},
 * paths within the protocol folder), as protocol.c computes it when loading.
 * 0, or -1 when the files are not such a list. */
static int fingerprint_files(json_t *files, char out[65]) {
  size_t n = json_array_size(files);
  if (!json_is_array(files)) return -1;
  source_file *src = calloc(n ? n : 1, sizeof *src);
  if (!src) return -1;
  for (size_t i = 0; i < n; i++) {
    json_t *f = json_array_get(files, i), *text = json_object_get(f, "text");
    /* Borrowed, read only: vigil__protocol_fingerprint never writes them. */
    src[i].path = (char *)json_string_value(json_object_get(f, "path"));
    src[i].text = (char *)json_string_value(text);
    src[i].len = json_string_length(text);
    if (!src[i].path || !src[i].text) {
      free(src);
      return -1;
    }
  }
  vigil__protocol_fingerprint(src, (uint32_t)n, NULL, out);
  free(src);
  return 0;
}

/* The first visit.started event that names a protocol version, or 0. */
static int64_t first_visit_on(reader *r, const char *sha256) {
  char needle[96];
  snprintf(needle, sizeof needle, "\"sha256\":\"%s\"", sha256);
  sqlite3_stmt *st;
  if (prepare(r, "SELECT seq FROM events WHERE type = 'visit.started' AND instr(body, ?) > 0 ORDER BY seq LIMIT 1",
              &st) < 0)
    return 0;
  sqlite3_bind_text(st, 1, needle, -1, SQLITE_STATIC);
  int64_t seq = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return seq;
}

/* A visit resumes after a restart on the protocol sources stored with it,
 * so those sources are part of the record: each must still match the
 * fingerprint its visits name (this; also at vigil serve's start), and none
 * may be missing (check_protocols). */
static int check_stored_sources(reader *r, verdict *v) {
  sqlite3_stmt *st;
  int rc = prepare(r, "SELECT sha256, ref, files FROM protocols ORDER BY stored_at, sha256", &st);
  if (rc < 0) return rc;
  int step = SQLITE_DONE;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *sha = (const char *)sqlite3_column_text(st, 0), *ref = (const char *)sqlite3_column_text(st, 1);
    const char *text = (const char *)sqlite3_column_text(st, 2);
    json_t *files = text ? json_loads(text, 0, NULL) : NULL;
    char actual[65];
    if (!sha) sha = "";
    if (fingerprint_files(files, actual) < 0 || strcmp(actual, sha)) {
      char short_sha[13];
      snprintf(short_sha, sizeof short_sha, "%s", sha);
      rc = tampered(v, (uint64_t)first_visit_on(r, sha),
                    "the stored sources of protocol %s (fingerprint %s...) were edited: they no longer match their "
                    "fingerprint",
                    ref ? ref : "?", short_sha);
    }
    json_decref(files);
  }
  if (rc == 0 && step != SQLITE_DONE) rc = reader_fail(r, "cannot read the database");
  sqlite3_finalize(st);
  return rc;
}

static int check_protocols(reader *r, verdict *v) {
  int rc = check_stored_sources(r, v);
  if (rc < 0) return rc;
  int64_t seq, unused;
  int found;
  if ((rc = first_problem(
           r,
           "SELECT seq, 0 FROM events e WHERE type = 'visit.started' AND NOT EXISTS (SELECT 1 FROM "
           "protocols p WHERE instr(e.body, '\"sha256\":\"' || p.sha256 || '\"') > 0) ORDER BY seq LIMIT 1",
           &seq, &unused, &found)) < 0)
    return rc;
  if (found)
    return tampered(v, (uint64_t)seq,
                    "the protocol version of the visit started at event %lld was deleted from the store (a restart "
                    "could not resume it)",
                    (long long)seq);
  return 0;
}

static void first_load_problem(void *ud, const char *where, const char *message) {
  char *out = ud;
  (void)where;
  if (!out[0]) snprintf(out, 160, "%s", message);
}

/* An approved upload is a folder beside the database (protocol_uploads/
 * <id@version>, server/api/api_protocols.c) that vigil serve loads at each
 * start: its sources must still be the ones the protocol.approved event
 * names by fingerprint (V6 of the fourth review: an edit made it silently
 * unapproved). A folder that is gone is not looked for (a copy of the
 * database alone is verified too). */
static int check_uploads(reader *r, verdict *v) {
  char dir[4096];
  vigil__protocol_uploads_dir(r->path, dir, sizeof dir);
  sqlite3_stmt *st;
  int rc = prepare(r,
                   "SELECT seq, json_extract(body, '$.data.ref'), json_extract(body, '$.data.sha256') FROM events "
                   "WHERE type = 'protocol.approved' ORDER BY seq",
                   &st);
  if (rc < 0) return rc;
  int step = SQLITE_DONE;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    long long seq = sqlite3_column_int64(st, 0);
    const char *ref = (const char *)sqlite3_column_text(st, 1), *sha = (const char *)sqlite3_column_text(st, 2);
    char folder[4400], problem[160] = "";
    struct stat sb;
    if (!ref || !sha || strchr(ref, '/') || strstr(ref, "..") ||
        snprintf(folder, sizeof folder, "%s/%s", dir, ref) >= (int)sizeof folder || stat(folder, &sb) < 0 ||
        !S_ISDIR(sb.st_mode))
      continue;
    protocol *p = vigil__protocol_load(folder, 0, 0, first_load_problem, problem);
    if (!p)
      rc = tampered(v, (uint64_t)seq,
                    "the approved upload %s (%s) was edited on disk: it no longer loads (%s), and event %lld approved "
                    "fingerprint %.12s...",
                    ref, folder, problem, seq, sha);
    else if (strcmp(p->sha256, sha))
      rc = tampered(v, (uint64_t)seq,
                    "the approved upload %s (%s) was edited on disk: its sources are not the ones event %lld approved "
                    "(fingerprint %.12s..., now %.12s...)",
                    ref, folder, seq, sha, p->sha256);
    vigil__protocol_free(p);
  }
  if (rc == 0 && step != SQLITE_DONE) rc = reader_fail(r, "cannot read the events");
  sqlite3_finalize(st);
  return rc;
}

/* The protocol.uploaded event of this upload folder's name and sources:
 * its seq, or 0 (and in *other the seq of an event of the name with other
 * sources, or 0). */
static int64_t uploaded_event(reader *r, const char *ref, const char *sha256, int64_t *other) {
  sqlite3_stmt *st;
  *other = 0;
  if (prepare(r,
              "SELECT seq, json_extract(body, '$.data.sha256') = ?2 FROM events WHERE type = 'protocol.uploaded' AND "
              "json_extract(body, '$.data.ref') = ?1 ORDER BY 2 DESC, seq LIMIT 1",
              &st) < 0)
    return -1;
  sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, sha256 ? sha256 : "", -1, SQLITE_STATIC);
  int64_t seq = 0;
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW && sqlite3_column_int(st, 1))
    seq = sqlite3_column_int64(st, 0);
  else if (step == SQLITE_ROW)
    *other = sqlite3_column_int64(st, 0);
  else if (step != SQLITE_DONE)
    seq = -1;
  sqlite3_finalize(st);
  return seq;
}

/* Every folder in protocol_uploads is loaded by vigil serve at start, so
 * each must be the sources its protocol.uploaded event records (Y1 of the
 * third review: a folder placed there by hand, or an unapproved upload
 * edited on disk, was loaded, listed and approved). What a crash left
 * half-written (.incoming-*) is not a version; the api removes it. */
static int check_upload_folders(reader *r, verdict *v) {
  char dir[4096];
  vigil__protocol_uploads_dir(r->path, dir, sizeof dir);
  DIR *d = opendir(dir);
  if (!d) return 0; /* none */
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char folder[4400], problem[160] = "";
    snprintf(folder, sizeof folder, "%s/%s", dir, de->d_name);
    protocol *p = vigil__protocol_load(folder, 0, 0, first_load_problem, problem);
    int64_t other = 0, seq = p ? uploaded_event(r, de->d_name, p->sha256, &other) : 0;
    if (seq < 0)
      rc = reader_fail(r, "cannot read the events");
    else if (!p)
      rc = tampered(v, 0, "the upload folder %s (%s) does not load (%s)", de->d_name, folder, problem);
    else if (!seq && other)
      rc = tampered(v, (uint64_t)other,
                    "the upload %s (%s) was edited on disk: its sources are not the ones event %lld recorded as "
                    "uploaded (now %.12s...)",
                    de->d_name, folder, (long long)other, p->sha256);
    else if (!seq)
      rc = tampered(v, 0,
                    "the upload folder %s (%s) was not uploaded: no protocol.uploaded event records it (placed there "
                    "by hand?); remove it or upload the version",
                    de->d_name, folder);
    vigil__protocol_free(p);
  }
  closedir(d);
  return rc;
}

int vigil_audit_verify(const char *db_path, uint64_t *events, uint64_t *first_bad_seq, char *msg, size_t msglen) {
  if (events) *events = 0;
  if (first_bad_seq) *first_bad_seq = 0;
  if (vigil__store_is_pg(db_path)) {
    /* A cluster's database: every site's chain, as vigil audit verify
     * checks it (the message names the site of a first bad event). */
    char uploads[4200];
    vigil__protocol_uploads_dir(db_path, uploads, sizeof uploads);
    return vigil__store_pg_verify(db_path, uploads, 1, events, NULL, 0, first_bad_seq, msg, msglen);
  }
  reader r;
  int rc = reader_open(&r, db_path, msg, msglen);
  if (rc < 0) return rc;
  verdict v = {.msg = msg, .msglen = msglen};
  chain c = {.expected = 1, .hasher = vigil__row_hasher_new()};
  sqlite3_stmt *st;
  if (!c.hasher) {
    rc = say(msg, msglen, VIGIL_ENOMEM, "out of memory");
    goto done;
  }
  if ((rc = prepare(&r, "SELECT seq, time, visit, type, body, prev, hash FROM events ORDER BY seq", &st)) < 0)
    goto done;
  int step = SQLITE_DONE;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    row w;
    row_read(st, &w);
    if ((rc = check_row(&r, &c, &w, &v)) < 0) break;
  }
  if (rc == 0 && step != SQLITE_DONE) rc = reader_fail(&r, "cannot read the events");
  sqlite3_finalize(st);
  if (rc == 0) rc = check_head(&r, &c, &v);
  if (rc == 0) rc = check_derived(&r, &c, &v);
  if (rc == 0) rc = check_fold(&r, &v);
  if (rc == 0) rc = check_users(&r, &v);
  if (rc == 0) rc = check_credentials(&r, &v);
  if (rc == 0) rc = check_protocols(&r, &v);
  if (rc == 0) rc = check_uploads(&r, &v);
  if (rc == 0) rc = check_upload_folders(&r, &v);
  if (rc == 0) {
    /* The chain covers what the rows say; SQLite's own check covers the
     * pages under them (and the indexes that show and export use). */
    sqlite3_stmt *ic;
    if ((rc = prepare(&r, "PRAGMA quick_check(1)", &ic)) == 0) {
      step = sqlite3_step(ic);
      const char *res = step == SQLITE_ROW ? (const char *)sqlite3_column_text(ic, 0) : NULL;
      if (step != SQLITE_ROW)
        rc = reader_fail(&r, "cannot check the database file");
      else if (!res || strcmp(res, "ok"))
        rc = tampered(&v, 0, "the database file is damaged: %s", res ? res : "?");
      sqlite3_finalize(ic);
    }
  }
  if (rc == 0) {
    unsigned long long n = (unsigned long long)(c.expected - 1);
    say(msg, msglen, 0, "%llu event%s, chain intact", n, n == 1 ? "" : "s");
    if (events) *events = n;
  }
  if (rc == VIGIL_ECORRUPT && first_bad_seq) *first_bad_seq = v.first_bad;
done:
  vigil__row_hasher_free(c.hasher);
  reader_close(&r);
  return rc;
}

int vigil_audit_verify_since(const char *db_path, uint64_t from_seq, const char *from_hash, uint64_t *head_seq,
                             char head_hash[65], char *msg, size_t msglen) {
  if (head_seq) *head_seq = 0;
  if (head_hash) head_hash[0] = '\0';
  reader r;
  int rc = reader_open(&r, db_path, msg, msglen);
  if (rc < 0) return rc;
  verdict v = {.msg = msg, .msglen = msglen};
  chain c = {.expected = (int64_t)from_seq + 1, .hasher = vigil__row_hasher_new()};
  sqlite3_stmt *st = NULL;
  if (!c.hasher) {
    rc = say(msg, msglen, VIGIL_ENOMEM, "out of memory");
    goto done;
  }
  if (from_seq) {
    /* The row verified last time must still be there, with the hash it had
     * then, and still be consistent with itself. */
    unsigned long long n = (unsigned long long)from_seq;
    if ((rc = prepare(&r, "SELECT prev, body, hash FROM events WHERE seq = ?", &st)) < 0) goto done;
    sqlite3_bind_int64(st, 1, (int64_t)from_seq);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
      const char *prev = (const char *)sqlite3_column_text(st, 0), *hash = (const char *)sqlite3_column_text(st, 2);
      const char *body = (const char *)sqlite3_column_text(st, 1);
      size_t len = (size_t)sqlite3_column_bytes(st, 1);
      char again[65];
      if (!prev || !hash || !body || vigil__row_hash(c.hasher, prev, body, len, again) < 0 || strcmp(again, hash))
        rc = tampered(&v, n, "event %llu was edited: its body no longer matches its hash", n);
      else if (strcmp(hash, from_hash))
        rc = tampered(&v, n,
                      "event %llu is not the event verified before (its hash was %.16s..., it is %.16s...): the log "
                      "was rewritten up to it",
                      n, from_hash, hash);
      else
        snprintf(c.last_hash, sizeof c.last_hash, "%s", hash);
    } else if (step == SQLITE_DONE) {
      rc = tampered(&v, n, "event %llu, verified before, is missing: events were deleted", n);
    } else {
      rc = reader_fail(&r, "cannot read the events");
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc < 0) goto done;
  }
  if ((rc = prepare(&r, "SELECT seq, time, visit, type, body, prev, hash FROM events WHERE seq > ? ORDER BY seq",
                    &st)) < 0)
    goto done;
  sqlite3_bind_int64(st, 1, (int64_t)from_seq);
  int step = SQLITE_DONE;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    row w;
    row_read(st, &w);
    if ((rc = check_row(&r, &c, &w, &v)) < 0) break;
  }
  if (rc == 0 && step != SQLITE_DONE) rc = reader_fail(&r, "cannot read the events");
  sqlite3_finalize(st);
  if (rc == 0) rc = check_head(&r, &c, &v);
  if (rc == 0) {
    unsigned long long n = (unsigned long long)(c.expected - 1) - from_seq;
    say(msg, msglen, 0, "%llu event%s after event %llu, chain intact", n, n == 1 ? "" : "s",
        (unsigned long long)from_seq);
    if (head_seq) *head_seq = (uint64_t)(c.expected - 1);
    if (head_hash) snprintf(head_hash, 65, "%s", c.last_hash);
  }
done:
  vigil__row_hasher_free(c.hasher);
  reader_close(&r);
  return rc;
}

/* ---- Anchors ----------------------------------------------------------------- */

/* What an anchor's signature covers: its version, the head and the time. */
static void anchor_message(char *out, size_t n, uint64_t seq, const char *hash, const char *time) {
  snprintf(out, n, "vigil anchor 1\nseq %llu\nhash %s\ntime %s\n", (unsigned long long)seq, hash, time);
}

int vigil_audit_anchor(const char *db_path, const unsigned char secret_key[64], char **anchor, char *msg,
                       size_t msglen) {
  *anchor = NULL;
  if (sodium_init() < 0) return say(msg, msglen, VIGIL_ENOMEM, "libsodium cannot start");
  /* An anchor vouches for the chain up to the head: the whole log is
   * verified first, else a broken chain would be signed as good. */
  uint64_t events = 0, bad = 0;
  int rc = vigil_audit_verify(db_path, &events, &bad, msg, msglen);
  if (rc < 0) return rc;
  uint64_t head;
  char hash[65], err[256];
  if ((rc = vigil_audit_verify_since(db_path, 0, "", &head, hash, err, sizeof err)) < 0)
    return say(msg, msglen, rc, "%s", err);
  if (head == 0) return say(msg, msglen, VIGIL_EINVAL, "%s holds no event to anchor", db_path);
  char when[32], text[256], sig_hex[2 * crypto_sign_BYTES + 1], pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
  iso_time(when, (int64_t)time(NULL) * 1000);
  anchor_message(text, sizeof text, head, hash, when);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text), secret_key);
  sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
  /* The public key is the second half of libsodium's secret key. */
  sodium_bin2hex(pk_hex, sizeof pk_hex, secret_key + 32, crypto_sign_PUBLICKEYBYTES);
  json_t *j = json_pack("{s:i, s:I, s:s, s:s, s:s, s:s}", "vigil_anchor", 1, "seq", (json_int_t)head, "hash", hash,
                        "time", when, "public_key", pk_hex, "signature", sig_hex);
  *anchor = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!*anchor) return say(msg, msglen, VIGIL_ENOMEM, "out of memory");
  return say(msg, msglen, 0, "event %llu, hash %s", (unsigned long long)head, hash);
}

int vigil_audit_verify_anchor(const char *db_path, const char *anchor, const unsigned char public_key[32],
                              uint64_t *first_bad_seq, char *msg, size_t msglen) {
  if (first_bad_seq) *first_bad_seq = 0;
  if (sodium_init() < 0) return say(msg, msglen, VIGIL_ENOMEM, "libsodium cannot start");
  json_t *j = json_loads(anchor, 0, NULL);
  json_t *seq = json_object_get(j, "seq");
  const char *hash = json_string_value(json_object_get(j, "hash"));
  const char *when = json_string_value(json_object_get(j, "time"));
  const char *sig_hex = json_string_value(json_object_get(j, "signature"));
  unsigned char sig[crypto_sign_BYTES];
  size_t sig_len = 0;
  int rc = 0;
  if (!json_is_integer(seq) || json_integer_value(seq) < 1 || !hash || strlen(hash) != 64 || !when || !sig_hex ||
      sodium_hex2bin(sig, sizeof sig, sig_hex, strlen(sig_hex), NULL, &sig_len, NULL) != 0 || sig_len != sizeof sig) {
    rc = say(msg, msglen, VIGIL_EINVAL, "not a vigil anchor (vigil audit anchor writes one)");
  } else {
    char text[256];
    anchor_message(text, sizeof text, (uint64_t)json_integer_value(seq), hash, when);
    if (crypto_sign_verify_detached(sig, (const unsigned char *)text, strlen(text), public_key) != 0) {
      rc = say(msg, msglen, VIGIL_EINVAL,
               "the anchor's signature does not match the site's public key: it was altered, or made with another key");
    } else {
      uint64_t head;
      char err[1024];
      rc = vigil_audit_verify_since(db_path, (uint64_t)json_integer_value(seq), hash, &head, NULL, err, sizeof err);
      unsigned long long s = (unsigned long long)json_integer_value(seq);
      if (rc == VIGIL_ECORRUPT) {
        if (first_bad_seq) *first_bad_seq = s;
        rc = say(msg, msglen, VIGIL_ECORRUPT, "the log no longer holds the head anchored at %s (event %llu): %s", when,
                 s, err);
      } else if (rc == 0) {
        say(msg, msglen, 0, "the log holds event %llu as anchored at %s, and the chain from it to event %llu is intact",
            s, when, (unsigned long long)head);
      } else {
        say(msg, msglen, rc, "%s", err);
      }
    }
  }
  json_decref(j);
  return rc;
}

int vigil_audit_users(const char *db_path, void (*fn)(void *ud, const char *name, const char *role, int disabled),
                      void *ud, char *msg, size_t msglen) {
  reader r;
  int rc = reader_open(&r, db_path, msg, msglen);
  if (rc < 0) return rc;
  sqlite3_stmt *st;
  if ((rc = prepare(&r,
                    "SELECT json_extract(c.body, '$.data.user'), json_extract(c.body, '$.data.role'), COALESCE((SELECT "
                    "json_extract(e.body, '$.data.disabled') FROM events e WHERE e.type = 'user.changed' AND "
                    "json_extract(e.body, '$.data.user') = json_extract(c.body, '$.data.user') AND "
                    "json_type(e.body, '$.data.disabled') IS NOT NULL ORDER BY e.seq DESC LIMIT 1), 0) FROM events c "
                    "WHERE c.type = 'user.created' ORDER BY c.seq",
                    &st)) == 0) {
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      const char *name = (const char *)sqlite3_column_text(st, 0), *role = (const char *)sqlite3_column_text(st, 1);
      if (name && role) fn(ud, name, role, sqlite3_column_int(st, 2) != 0);
    }
    if (step != SQLITE_DONE) rc = reader_fail(&r, "cannot read the events");
    sqlite3_finalize(st);
  }
  if (rc == 0) say(msg, msglen, 0, "users read from the log");
  reader_close(&r);
  return rc;
}

int vigil_audit_user_rows(const char *db_path, void (*fn)(void *ud, const char *name, const char *role), void *ud,
                          char *msg, size_t msglen) {
  reader r;
  int rc = reader_open(&r, db_path, msg, msglen);
  if (rc < 0) return rc;
  sqlite3_stmt *st;
  if ((rc = prepare(&r,
                    "SELECT kv.key, json_extract(CAST(kv.value AS TEXT), '$.role') FROM kv WHERE kv.ns = 'user' ORDER "
                    "BY kv.key",
                    &st)) == 0) {
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      const char *name = (const char *)sqlite3_column_text(st, 0);
      if (name) fn(ud, name, (const char *)sqlite3_column_text(st, 1));
    }
    if (step != SQLITE_DONE) rc = reader_fail(&r, "cannot read the users table");
    sqlite3_finalize(st);
  }
  if (rc == 0) say(msg, msglen, 0, "users table read");
  reader_close(&r);
  return rc;
}

int vigil_audit_check_state(const char *db_path, char *msg, size_t msglen) {
  reader r;
  int rc = reader_open(&r, db_path, msg, msglen);
  if (rc < 0) return rc;
  verdict v = {.msg = msg, .msglen = msglen};
  chain c = {.expected = 1};
  sqlite3_stmt *st;
  /* What the walk of the chain would have found: the last seq, and the
   * highest alert raised and where. */
  if ((rc = prepare(&r,
                    "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), a.seq, a.id FROM (SELECT seq, "
                    "CAST(json_extract(body, '$.data.alert') AS INTEGER) AS id FROM events WHERE type = "
                    "'alert.raised' UNION ALL SELECT 0, 0) a ORDER BY a.id DESC, a.seq LIMIT 1",
                    &st)) == 0) {
    if (sqlite3_step(st) == SQLITE_ROW) {
      c.expected = sqlite3_column_int64(st, 0) + 1;
      c.max_alert_seq = sqlite3_column_int64(st, 1);
      c.max_alert = (uint64_t)sqlite3_column_int64(st, 2);
    } else {
      rc = reader_fail(&r, "cannot read the events");
    }
    sqlite3_finalize(st);
  }
  if (rc == 0) rc = check_derived(&r, &c, &v);
  if (rc == 0) rc = check_fold(&r, &v);
  if (rc == 0) rc = check_credentials(&r, &v);
  if (rc == 0) rc = check_stored_sources(&r, &v);
  if (rc == 0) rc = check_uploads(&r, &v);
  if (rc == 0) rc = check_upload_folders(&r, &v);
  if (rc == 0) say(msg, msglen, 0, "the derived state matches the log");
  reader_close(&r);
  return rc;
}

int vigil_audit_sessions(const char *db_path, void (*fn)(void *ud, const char *row, int64_t expires_ms), void *ud,
                         char *msg, size_t msglen) {
  unsigned char key[32];
  int rc = vigil_audit_credential_key(db_path, 0, key, msg, msglen);
  if (rc == VIGIL_ENOENT) return say(msg, msglen, 0, "no credential key: the sessions have no digests");
  if (rc < 0) return rc;
  reader r;
  if ((rc = reader_open(&r, db_path, msg, msglen)) < 0) {
    sodium_memzero(key, sizeof key);
    return rc;
  }
  verdict v = {.msg = msg, .msglen = msglen};
  rc = check_sessions(&r, &v, key, fn, ud);
  sodium_memzero(key, sizeof key);
  if (rc == 0) say(msg, msglen, 0, "sessions read");
  reader_close(&r);
  return rc;
}

/* ---- Writing out --------------------------------------------------------- */

typedef struct out {
  vigil_audit_write_fn write;
  void *ud;
  buf b;
  int failed;
} out;

/* Hands what is buffered to the writer. */
static void out_flush(out *o) {
  if (!o->failed && o->b.oom) o->failed = VIGIL_ENOMEM;
  if (!o->failed && o->b.len && o->write(o->ud, o->b.p, o->b.len)) o->failed = VIGIL_EIO;
  vigil__buf_reset(&o->b);
}

static int out_finish(out *o, char *msg, size_t msglen) {
  out_flush(o);
  vigil__buf_free(&o->b);
  if (o->failed == VIGIL_ENOMEM) return say(msg, msglen, VIGIL_ENOMEM, "out of memory");
  if (o->failed) return say(msg, msglen, VIGIL_EIO, "the output could not be written");
  return 0;
}

/* The one printer of the log's rows: the events the query selects (its
 * columns seq, time, visit, type, body, prev, hash; ?1 and ?2 bound to a
 * and b), each handed to put with the output's buffer, which goes to the
 * writer once it holds flush_at bytes (0: after every row). *n counts the
 * rows. vigil audit show and export print through here. */
typedef void (*put_row_fn)(void *ud, buf *b, const row *w, uint64_t n);

static int print_rows(const char *db_path, const char *sql, int64_t a, int64_t b, const char *head, put_row_fn put,
                      void *put_ud, size_t flush_at, vigil_audit_write_fn write, void *ud, uint64_t *n, char *msg,
                      size_t msglen) {
  *n = 0;
  if (!write) return say(msg, msglen, VIGIL_EINVAL, "no writer given");
  reader r;
  int rc = reader_open(&r, db_path, msg, msglen);
  if (rc < 0) return rc;
  sqlite3_stmt *st;
  if ((rc = prepare(&r, sql, &st)) < 0) {
    reader_close(&r);
    return rc;
  }
  sqlite3_bind_int64(st, 1, a);
  if (sqlite3_bind_parameter_count(st) > 1) sqlite3_bind_int64(st, 2, b);
  out o = {.write = write, .ud = ud};
  vigil__buf_init(&o.b);
  if (head) vigil__buf_puts(&o.b, head);
  int step = SQLITE_DONE;
  while (!o.failed && (step = sqlite3_step(st)) == SQLITE_ROW) {
    row w;
    row_read(st, &w);
    put(put_ud, &o.b, &w, (*n)++);
    if (o.b.len >= flush_at) out_flush(&o);
  }
  if (!o.failed && step != SQLITE_DONE) rc = reader_fail(&r, "cannot read the events");
  sqlite3_finalize(st);
  reader_close(&r);
  int orc = out_finish(&o, msg, msglen);
  return rc < 0 ? rc : orc;
}

/* ---- Show: a visit's history for a person ---------------------------------- */

/* A string that reads plainly without quotes: a word, an id, a number. */
static int is_plain_word(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("_.:-@/", *s)))
      return 0;
  return 1;
}

/* Client text printed as it came (a reason, a patient) may hold control
 * characters: a line feed would forge a line of the history, an escape
 * sequence would drive the auditor's terminal. Every control character in
 * b from `from` on is written as \xHH (\n, \r, \t as such) instead; a
 * character that shows as nothing or turns the text around (U+200B,
 * U+202E: data stored before T8 refused them) and a line or paragraph
 * separator (U+2028, U+2029: before U7) as \u{HHHH}, and a byte that
 * is not UTF-8 as \xHH. */
static int shown_as_is(const unsigned char *p, size_t avail, size_t *n) {
  uint32_t cp = vigil__utf8_decode(p, avail, n);
  return *n && !vigil__unicode_control(cp) && !vigil__unicode_invisible(cp) && cp != 0x2028 && cp != 0x2029;
}

static void escape_controls(buf *b, size_t from) {
  if (b->oom || b->len <= from) return;
  size_t n = b->len - from, bad = 0, k;
  for (size_t i = from; i < b->len; i += k ? k : 1)
    bad += !shown_as_is((const unsigned char *)b->p + i, b->len - i, &k);
  if (!bad) return;
  char *copy = malloc(n);
  if (!copy) {
    b->oom = 1;
    return;
  }
  memcpy(copy, b->p + from, n);
  b->len = from;
  for (size_t i = 0; i < n; i += k ? k : 1) {
    const unsigned char *p = (const unsigned char *)copy + i;
    if (shown_as_is(p, n - i, &k)) {
      vigil__buf_put(b, (const char *)p, k);
      continue;
    }
    if (k > 1) /* a well-formed character that shows as nothing, or C1 */
      vigil__buf_printf(b, "\\u{%04X}", (unsigned)vigil__utf8_decode(p, n - i, &k));
    else if (*p == '\n')
      vigil__buf_puts(b, "\\n");
    else if (*p == '\r')
      vigil__buf_puts(b, "\\r");
    else if (*p == '\t')
      vigil__buf_puts(b, "\\t");
    else
      vigil__buf_printf(b, "\\x%02x", *p);
  }
  free(copy);
}

static void put_text(buf *b, const char *s) {
  if (is_plain_word(s))
    vigil__buf_puts(b, s);
  else
    vigil__buf_json_string(b, s);
}

/* A value as a nurse would say it: 35, yes, "two words", sbp 184, dbp 104. */
static void put_value(buf *b, json_t *x) {
  const char *key;
  json_t *y;
  size_t i, n = 0;
  switch (json_typeof(x)) {
  case JSON_NULL:
    vigil__buf_puts(b, "(none)");
    break;
  case JSON_TRUE:
    vigil__buf_puts(b, "yes");
    break;
  case JSON_FALSE:
    vigil__buf_puts(b, "no");
    break;
  case JSON_INTEGER:
    vigil__buf_printf(b, "%lld", (long long)json_integer_value(x));
    break;
  case JSON_REAL:
    vigil__buf_json_number(b, json_real_value(x));
    break;
  case JSON_STRING:
    put_text(b, json_string_value(x));
    break;
  case JSON_OBJECT:
    json_object_foreach(x, key, y) {
      vigil__buf_printf(b, "%s%s ", n++ ? ", " : "", key);
      put_value(b, y);
    }
    if (!n) vigil__buf_puts(b, "(empty)");
    break;
  case JSON_ARRAY:
    vigil__buf_putc(b, '[');
    json_array_foreach(x, i, y) {
      if (i) vigil__buf_puts(b, ", ");
      put_value(b, y);
    }
    vigil__buf_putc(b, ']');
    break;
  }
}

static const char *text_of(json_t *data, const char *key) {
  const char *s = json_string_value(json_object_get(data, key));
  return s ? s : "?";
}

static long long number_of(json_t *data, const char *key) {
  json_t *x = json_object_get(data, key);
  return json_is_integer(x) ? (long long)json_integer_value(x) : json_is_real(x) ? (long long)json_real_value(x) : 0;
}

static void put_reason(buf *b, json_t *data) {
  const char *reason = json_string_value(json_object_get(data, "reason"));
  if (reason) vigil__buf_printf(b, " (reason: %s)", reason);
}

/* A list of texts joined with "; ". */
static void put_list(buf *b, json_t *list) {
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) {
    if (i) vigil__buf_puts(b, "; ");
    if (json_is_string(x))
      vigil__buf_puts(b, json_string_value(x));
    else
      put_value(b, x);
  }
}

static void put_clock(buf *b, const char *fmt, int64_t ms, int utc) {
  time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm;
  char text[64];
  if (utc)
    gmtime_r(&secs, &tm);
  else
    localtime_r(&secs, &tm);
  if (!strftime(text, sizeof text, fmt, &tm)) text[0] = '\0';
  vigil__buf_puts(b, text);
}

/* What an event did, in words; the data are the type's (docs/events.md). */
static void put_what(buf *b, const char *type, json_t *d) {
  if (!strcmp(type, "visit.started")) {
    vigil__buf_printf(b, "started the visit: patient %s, protocol %s, first phase %s", text_of(d, "patient"),
                      text_of(d, "protocol"), text_of(d, "phase"));
    json_t *params = json_object_get(d, "params");
    if (json_object_size(params)) {
      vigil__buf_puts(b, ", params: ");
      put_value(b, params);
    }
  } else if (!strcmp(type, "phase.entered")) {
    vigil__buf_printf(b, "entered phase %s (from %s)", text_of(d, "phase"), text_of(d, "from"));
  } else if (!strcmp(type, "phase.minimum_reached")) {
    vigil__buf_printf(b, "phase %s reached its minimum duration", text_of(d, "phase"));
  } else if (!strcmp(type, "item.recorded")) {
    const char *item;
    json_t *x;
    size_t n = 0;
    vigil__buf_puts(b, "recorded ");
    /* A late entry: the row's time is when it was typed; when it was observed
     * is the clinical time (a dose ticked at 02:00 as given at 23:45: AL4). */
    if (json_is_number(json_object_get(d, "observed_at"))) {
      int64_t observed = (int64_t)json_number_value(json_object_get(d, "observed_at"));
      vigil__buf_puts(b, "late (observed ");
      put_clock(b, "%Y-%m-%d %H:%M:%S UTC", observed, 1);
      vigil__buf_puts(b, ", ");
      put_clock(b, "%Y-%m-%d %H:%M:%S %Z", observed, 0);
      vigil__buf_puts(b, ") ");
    }
    json_object_foreach(json_object_get(d, "values"), item, x) {
      vigil__buf_printf(b, "%s%s: ", n++ ? "; " : "", item);
      put_value(b, x);
    }
    /* A signature says what it attested, as the signer saw it. */
    json_object_foreach(json_object_get(d, "attests"), item, x) {
      vigil__buf_printf(b, "; %s attests ", item);
      put_value(b, x);
    }
  } else if (!strcmp(type, "signature.voided")) {
    vigil__buf_printf(b, "signature %s void: %s", text_of(d, "item"), text_of(d, "reason"));
  } else if (!strcmp(type, "item.amended")) {
    /* Both values, always: an amendment never hides what was there. */
    vigil__buf_printf(b, "amended %s: ", text_of(d, "item"));
    put_value(b, json_object_get(d, "previous"));
    vigil__buf_puts(b, " \xe2\x86\x92 ");
    put_value(b, json_object_get(d, "value"));
    put_reason(b, d);
  } else if (!strcmp(type, "item.skipped")) {
    vigil__buf_printf(b, "skipped %s", text_of(d, "item"));
    if (json_object_get(d, "occurrence")) vigil__buf_printf(b, " (due time %lld only)", number_of(d, "occurrence") + 1);
    put_reason(b, d);
  } else if (!strcmp(type, "item.overdue")) {
    vigil__buf_printf(b, "%s is overdue (due ", text_of(d, "item"));
    put_clock(b, "%H:%M:%S UTC", number_of(d, "due"), 1);
    vigil__buf_printf(b, ", due time %lld)", number_of(d, "occurrence") + 1);
  } else if (!strcmp(type, "item.not_applicable")) {
    vigil__buf_printf(b, "%s did not apply at due time %lld (due ", text_of(d, "item"), number_of(d, "occurrence") + 1);
    put_clock(b, "%H:%M:%S UTC", number_of(d, "due"), 1);
    vigil__buf_puts(b, "): its condition did not hold, so it was not overdue");
  } else if (!strcmp(type, "gate.blocked")) {
    vigil__buf_printf(b, "gate blocked leaving phase %s: ", text_of(d, "phase"));
    put_list(b, json_object_get(d, "reasons"));
  } else if (!strcmp(type, "gate.overridden")) {
    vigil__buf_printf(b, "overrode the gate of phase %s", text_of(d, "phase"));
    put_reason(b, d);
    if (json_array_size(json_object_get(d, "reasons"))) {
      vigil__buf_puts(b, "; it did not hold: ");
      put_list(b, json_object_get(d, "reasons"));
    }
  } else if (!strcmp(type, "alert.raised")) {
    vigil__buf_printf(b, "raised alert %lld (%s, %s): %s", number_of(d, "alert"), text_of(d, "priority"),
                      text_of(d, "rule"), text_of(d, "message"));
  } else if (!strcmp(type, "alert.acknowledged")) {
    vigil__buf_printf(b, "acknowledged alert %lld", number_of(d, "alert"));
    put_reason(b, d);
  } else if (!strcmp(type, "alert.escalated")) {
    vigil__buf_printf(b, "escalated alert %lld to level %lld (priority %s)", number_of(d, "alert"),
                      number_of(d, "level"), text_of(d, "priority"));
  } else if (!strcmp(type, "alert.resolved")) {
    vigil__buf_printf(b, "alert %lld resolved (its cause cleared)", number_of(d, "alert"));
  } else if (!strcmp(type, "block.set")) {
    vigil__buf_printf(b, "rule %s holds the phase: %s", text_of(d, "rule"), text_of(d, "reason"));
  } else if (!strcmp(type, "block.cleared")) {
    vigil__buf_printf(b, "rule %s no longer holds the phase", text_of(d, "rule"));
  } else if (!strcmp(type, "note.added")) {
    vigil__buf_printf(b, "note from rule %s: %s", text_of(d, "rule"), text_of(d, "message"));
  } else if (!strcmp(type, "visit.discharged")) {
    vigil__buf_printf(b, "discharged the patient (from phase %s)", text_of(d, "phase"));
  } else if (!strcmp(type, "visit.aborted")) {
    vigil__buf_puts(b, "aborted the visit");
    put_reason(b, d);
  } else {
    /* A type this vigil does not describe: say it as it is stored. */
    vigil__buf_printf(b, "%s: ", type);
    put_value(b, d);
  }
}

/* One line of a visit's history (the heading before the first). */
static void put_show_row(void *ud, buf *b, const row *w, uint64_t n) {
  uint64_t visit = *(const uint64_t *)ud;
  body_fields f;
  int readable = body_parse(w->body, w->body_len, &f) == 0;
  if (n == 0) {
    size_t head = b->len;
    vigil__buf_printf(b, "Visit %llu", (unsigned long long)visit);
    if (readable && !strcmp(f.type, "visit.started"))
      vigil__buf_printf(b, ": patient %s, protocol %s", text_of(f.data, "patient"), text_of(f.data, "protocol"));
    escape_controls(b, head);
    vigil__buf_puts(b, "\nTimes are UTC, then local (");
    put_clock(b, "%Z", w->time, 0);
    vigil__buf_puts(b, "). An amendment shows the earlier value, then the new one.\n\n");
    vigil__buf_printf(b, "%6s  %-19s  %-23s  %-16s  %s\n", "seq", "UTC", "local", "who", "what");
  }
  size_t line = b->len;
  vigil__buf_printf(b, "%6lld  ", (long long)w->seq);
  put_clock(b, "%Y-%m-%d %H:%M:%S", w->time, 1);
  vigil__buf_puts(b, "  ");
  size_t at = b->len;
  put_clock(b, "%Y-%m-%d %H:%M:%S %Z", w->time, 0);
  while (b->len < at + 23)
    vigil__buf_putc(b, ' ');
  vigil__buf_printf(b, "  %-16s  ", readable ? f.actor : "?");
  if (readable)
    put_what(b, w->type, f.data);
  else
    vigil__buf_puts(b, "(this event's stored body cannot be read: run vigil audit verify)");
  escape_controls(b, line);
  vigil__buf_putc(b, '\n');
  json_decref(f.json);
}

int vigil_audit_show(const char *db_path, uint64_t visit, vigil_audit_write_fn write, void *ud, char *msg,
                     size_t msglen) {
  tzset(); /* the local times follow TZ as it is now */
  uint64_t n;
  int rc =
      print_rows(db_path, "SELECT seq, time, visit, type, body, prev, hash FROM events WHERE visit = ?1 ORDER BY seq",
                 (int64_t)visit, 0, NULL, put_show_row, &visit, 0, write, ud, &n, msg, msglen);
  if (rc < 0) return rc;
  if (n == 0)
    return say(msg, msglen, VIGIL_ENOENT, "visit %llu has no events in %s", (unsigned long long)visit, db_path);
  return 0;
}

/* ---- Export ---------------------------------------------------------------- */

/* The data object's text exactly as stored: canonical bodies end with
 * ,"data":{...}} and no string can hold `,"` unescaped, so the first
 * ,"data": is the key. NULL when the body is not canonical. */
static const char *stored_data(const char *body, size_t len, size_t *n) {
  const char *key = strstr(body, ",\"data\":");
  if (!key || len < 2 || body[len - 1] != '}') return NULL;
  const char *start = key + 8;
  if (start >= body + len - 1) return NULL;
  *n = (size_t)(body + len - 1 - start);
  return start;
}

static void put_csv_row(void *ud, buf *b, const row *w, uint64_t nth) {
  char when[32];
  iso_time(when, w->time);
  vigil__buf_printf(b, "%lld,%s,%lld,", (long long)w->seq, when, (long long)w->visit);
  vigil__buf_csv_field(b, w->type, strlen(w->type));
  vigil__buf_putc(b, ',');
  body_fields f;
  size_t n = 0;
  const char *data = NULL;
  if (body_parse(w->body, w->body_len, &f) == 0) {
    vigil__buf_csv_field(b, f.actor, strlen(f.actor));
    data = stored_data(w->body, w->body_len, &n);
    if (!data) {
      char *text = json_dumps(f.data, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
      if (text) vigil__buf_csv_field(b, text, strlen(text));
      free(text);
    }
  }
  vigil__buf_putc(b, ',');
  if (data) vigil__buf_csv_field(b, data, n);
  json_decref(f.json);
  vigil__buf_puts(b, "\r\n");
}

static void put_jsonl_row(void *ud, buf *b, const row *w, uint64_t n) {
  vigil__buf_put(b, w->body, w->body_len);
  vigil__buf_putc(b, '\n');
}

int vigil_audit_export(const char *db_path, const char *format, int64_t from_ms, int64_t to_ms,
                       vigil_audit_write_fn write, void *ud, char *msg, size_t msglen) {
  int csv = format && !strcmp(format, "csv");
  if (!csv && !(format && !strcmp(format, "jsonl")))
    return say(msg, msglen, VIGIL_EINVAL, "the export format is csv or jsonl, not '%s'", format ? format : "");
  uint64_t n;
  /* Large exports go out in pieces rather than all in memory. */
  return print_rows(db_path,
                    "SELECT seq, time, visit, type, body, prev, hash FROM events "
                    "WHERE time >= ?1 AND time < ?2 ORDER BY seq",
                    from_ms, to_ms, csv ? "seq,time,visit,type,actor,data\r\n" : NULL,
                    csv ? put_csv_row : put_jsonl_row, NULL, 64 * 1024, write, ud, &n, msg, msglen);
}
