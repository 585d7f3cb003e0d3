/* store_sqlite.c: the event log in one SQLite file per site.
 *
 * WAL mode with synchronous=FULL: append() returns only once its transaction
 * is on disk. Each row carries the hash of the row before it and its own
 * (SHA-256 over the previous hash and the event's canonical JSON), so any
 * edit, deletion, insertion or reordering breaks the chain (audit.c checks
 * it). One process at a time: the file is locked with flock for as long as
 * the store is open, and readers (vigil audit) open it read-only. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "store/event.h"
#include "base/intern.h"
#include "store/store.h"
#include "rows.h"
#include "store_sqlite.h"

/* Numbered migrations: index i takes the schema from version i to i + 1. */
static const char *const migrations[] = {
    /* 1: the event log, the visits' status (derived, for recovery), the
     * protocol versions in use, and the store's own state. */
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"  /* ms since the epoch, UTC */
    "  visit INTEGER NOT NULL," /* 0 for the engine's own events */
    "  type TEXT NOT NULL,"
    "  body TEXT NOT NULL," /* the event, canonical JSON (docs/events.md) */
    "  prev TEXT NOT NULL," /* the previous row's hash, '' for the first */
    "  hash TEXT NOT NULL"  /* sha256(prev || body), hex */
    ");"
    "CREATE INDEX events_visit ON events(visit, seq);"
    "CREATE INDEX events_time ON events(time);"
    "CREATE TABLE visits (id INTEGER PRIMARY KEY, status TEXT NOT NULL);"
    "CREATE TABLE protocols ("
    "  sha256 TEXT PRIMARY KEY, ref TEXT NOT NULL, dir TEXT NOT NULL,"
    "  files TEXT NOT NULL," /* JSON [{path, text}], paths within dir */
    "  stored_at INTEGER NOT NULL);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 2: the key-value table (store.h): users, sessions, plugins' state. */
    "CREATE TABLE kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;",
};
#define SCHEMA_VERSION STORE_SQLITE_SCHEMA
_Static_assert(sizeof migrations / sizeof *migrations == SCHEMA_VERSION, "one migration per schema version");
_Static_assert(sizeof migrations / sizeof *migrations == STORE_SQLITE_SCHEMA, "one migration per schema version");

typedef struct sqlite_store {
  store base;
  sqlite3 *db;
  int lock_fd;
  int read_only; /* a reader (vigil__store_sqlite_read): appends are refused */
  char *path;
  char head[65]; /* hash of the last row */
  uint64_t head_seq;
  uint64_t max_alert; /* highest alert id in the log */
  sqlite3_stmt *insert, *visit_start, *visit_end, *set_meta;
  sqlite3_stmt *kv_get, *kv_scan; /* kept: a start reads the patients' rows (issue 16) */
  row_hasher *hasher;
  uint64_t failed_commits; /* appends that failed, ever (meta failed_commits) */
  int opened;              /* fully open: closing marks the store stopped */
  int held;                /* in held_files */
  dev_t dev;               /* the file's identity */
  ino_t ino;
} sqlite_store;

/* The files this process holds as stores, by identity.
 *
 * Closing any descriptor of a file drops every POSIX lock the process holds
 * on it, SQLite's own included, and SQLite's WAL depends on them: a
 * connection that closes takes the exclusive lock to learn whether it is the
 * last one and, if so, checkpoints and deletes the WAL. A second open of a
 * file this process already holds used to fail at flock (EWOULDBLOCK, as it
 * should) and close its descriptor, silently unlocking the first store: the
 * next process to close a connection to the file (vigil audit, the sqlite3
 * shell) then deleted the WAL the engine was still writing to, and every
 * commit after that was lost when the engine died (test_crash,
 * a_refused_second_open_costs_the_first_nothing). So that case is refused by
 * the file's identity, before anything opens it; the mutex makes the check,
 * the open and the flock one step for threads. */
typedef struct held_file {
  dev_t dev;
  ino_t ino;
  struct held_file *next;
} held_file;
static held_file *held_files;
static pthread_mutex_t held_mutex = PTHREAD_MUTEX_INITIALIZER;

static int is_held(dev_t dev, ino_t ino) {
  for (held_file *h = held_files; h; h = h->next)
    if (h->dev == dev && h->ino == ino) return 1;
  return 0;
}

static void release_held(sqlite_store *s) {
  if (!s->held) return;
  pthread_mutex_lock(&held_mutex);
  for (held_file **h = &held_files; *h; h = &(*h)->next)
    if ((*h)->dev == s->dev && (*h)->ino == s->ino) {
      held_file *x = *h;
      *h = x->next;
      free(x);
      break;
    }
  pthread_mutex_unlock(&held_mutex);
  s->held = 0;
}

static int fail(int code, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int code, char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

/* SQLite's result as a VIGIL_E* code and a sentence for people. */
static int db_fail(sqlite_store *s, const char *doing, char *err, size_t errlen) {
  int rc = sqlite3_extended_errcode(s->db);
  const char *why = sqlite3_errmsg(s->db);
  switch (rc & 0xff) {
  case SQLITE_FULL:
    return fail(VIGIL_EIO, err, errlen, "%s: the disk is full (%s)", doing, s->path);
  case SQLITE_IOERR:
    return fail(VIGIL_EIO, err, errlen, "%s: input/output error on %s (%s)", doing, s->path, why);
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return fail(VIGIL_EBUSY, err, errlen, "%s: %s is busy (%s)", doing, s->path, why);
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return fail(VIGIL_ECORRUPT, err, errlen, "%s: %s is damaged or is not a vigil database", doing, s->path);
  default:
    return fail(VIGIL_EIO, err, errlen, "%s: %s (%s)", doing, why, s->path);
  }
}

static int exec(sqlite_store *s, const char *sql, const char *doing, char *err, size_t errlen) {
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK) return 0;
  return db_fail(s, doing, err, errlen);
}

static int set_meta(sqlite_store *s, const char *key, const char *value) {
  sqlite3_reset(s->set_meta);
  sqlite3_bind_text(s->set_meta, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(s->set_meta, 2, value, -1, SQLITE_STATIC);
  return sqlite3_step(s->set_meta) == SQLITE_DONE ? 0 : -1;
}

static int get_meta(sqlite_store *s, const char *key, char *out, size_t outlen) {
  sqlite3_stmt *st;
  out[0] = '\0';
  if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK) return -1;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* After a failed append. When it is the fsync of the commit that fails, the
 * transaction's frames are already written in the WAL file, commit frame
 * included: this connection does not count them (the WAL index was not
 * updated), but if the process dies before its next write, the next start
 * rebuilds the index from the file, finds them valid and replays them,
 * bringing back events the caller was told were not recorded (test_faults,
 * a_failed_fsync_then_a_crash). A small write now lands on the same frames
 * (it starts where the failed one started) and breaks their checksum chain,
 * so recovery stops before them. If its own fsync fails too, all that can
 * come back is this counter. If it cannot be written at all, neither could
 * the failed transaction's frames have been (a full disk), or the next
 * append covers them. */
static void cover_failed_frames(sqlite_store *s) {
  char num[32];
  snprintf(num, sizeof num, "%llu", (unsigned long long)++s->failed_commits);
  set_meta(s, "failed_commits", num);
  sqlite3_reset(s->set_meta);
}

/* A protocol.approved event's approval row (namespace "approval", by
 * fingerprint: {ref, by, at_ms}), written in the event's own transaction so
 * that neither can exist without the other. 0, or -1. */
static int approval_row(sqlite_store *s, const vigil_event *ev, buf *b) {
  const char *h;
  int is = vigil__approval_row(b, ev, &h);
  if (is <= 0) return is;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO kv (ns, key, value) VALUES ('approval', ?, ?)", -1, &st,
                         NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
  sqlite3_bind_blob64(st, 2, b->p, b->len, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
  sqlite3_finalize(st);
  return rc;
}

static int sq_kv_put(store *base, const char *ns, const char *key, const void *value, size_t len, char *err,
                     size_t errlen);
static int sq_kv_create(sqlite_store *s, const store_kv_write *w, char *err, size_t errlen);

static int sq_append(store *base, vigil_event *const *evs, size_t n, char *err, size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  if (s->read_only) return fail(VIGIL_ESTATE, err, errlen, "%s is open for reading only", s->path);
  int rc = exec(s, "BEGIN IMMEDIATE", "cannot write events", err, errlen);
  if (rc < 0) return rc;
  char head[65];
  memcpy(head, s->head, sizeof head);
  uint64_t max_alert = s->max_alert;
  buf b;
  vigil__buf_init(&b);
  for (size_t i = 0; i < n && rc == 0; i++) {
    vigil_event *ev = evs[i];
    /* Its JSON is built here once and kept with it: the stream and the
     * plugins are handed these bytes once it is durable. */
    size_t len = 0;
    const char *json = vigil__event_json_build(ev) == 0 ? ev->json : NULL;
    if (json) len = ev->json_len;
    if (!json) {
      rc = fail(VIGIL_ENOMEM, err, errlen, "out of memory encoding event %llu", (unsigned long long)ev->seq);
      break;
    }
    char hash[65];
    if (vigil__row_hash(s->hasher, head, json, len, hash) < 0) {
      rc = fail(VIGIL_EIO, err, errlen, "cannot hash event %llu", (unsigned long long)ev->seq);
      break;
    }
    sqlite3_stmt *st = s->insert;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)ev->seq);
    sqlite3_bind_int64(st, 2, ev->time);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)ev->visit);
    sqlite3_bind_text(st, 4, vigil__event_type_name((event_type)ev->type), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, json, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, head, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
      rc = db_fail(s, "cannot write events", err, errlen);
      break;
    }
    memcpy(head, hash, sizeof head);
    /* The visits' status, for recovery to find the open ones quickly. */
    sqlite3_stmt *vs = NULL;
    if (ev->type == EV_VISIT_STARTED)
      vs = s->visit_start;
    else if (vigil__event_ends_visit(ev))
      vs = s->visit_end;
    if (vs) {
      sqlite3_reset(vs);
      sqlite3_bind_int64(vs, 1, (sqlite3_int64)ev->visit);
      if (sqlite3_step(vs) != SQLITE_DONE) rc = db_fail(s, "cannot write events", err, errlen);
    }
    if (rc == 0 && ev->type == EV_PROTOCOL_APPROVED && approval_row(s, ev, &b) < 0)
      rc = db_fail(s, "cannot write events", err, errlen);
    /* The key-value rows the event carries (a user's, a session's): in its
     * transaction, so that neither is kept without the other. */
    for (const store_kv_write *w = ev->kv; w && rc == 0; w = w->next)
      rc = w->create && w->value ? sq_kv_create(s, w, err, errlen)
                                 : sq_kv_put(base, w->ns, w->key, w->value, w->len, err, errlen);
    if (ev->type == EV_ALERT_RAISED) {
      val *id = vigil__val_get(ev->data, K(alert));
      if (id && id->type == VAL_NUMBER && (uint64_t)id->u.num > max_alert) max_alert = (uint64_t)id->u.num;
    }
  }
  vigil__buf_free(&b);
  char num[32];
  if (rc == 0) {
    snprintf(num, sizeof num, "%llu", (unsigned long long)evs[n - 1]->seq);
    if (set_meta(s, "head_seq", num) < 0 || set_meta(s, "head_hash", head) < 0)
      rc = db_fail(s, "cannot write events", err, errlen);
  }
  if (rc == 0 && max_alert != s->max_alert) {
    snprintf(num, sizeof num, "%llu", (unsigned long long)max_alert);
    if (set_meta(s, "alerts", num) < 0) rc = db_fail(s, "cannot write events", err, errlen);
  }
  if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = db_fail(s, "cannot commit events", err, errlen);
  if (rc < 0) {
    /* Nothing of this transaction stays: neither on disk nor in our head. */
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    cover_failed_frames(s);
    return rc;
  }
  memcpy(s->head, head, sizeof head);
  s->head_seq = evs[n - 1]->seq;
  s->max_alert = max_alert;
  return 0;
}

typedef struct scan_ctx {
  store_event_fn fn;
  void *ud;
} scan_ctx;

/* Runs a query whose rows are (seq, time, visit, type, body). */
static int scan_query(sqlite_store *s, sqlite3_stmt *st, store_event_fn fn, void *ud, char *err, size_t errlen) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int got = vigil__event_row_deliver((uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                       (uint64_t)sqlite3_column_int64(st, 2), (const char *)sqlite3_column_text(st, 3),
                                       (const char *)sqlite3_column_text(st, 4), fn, ud, err, errlen);
    if (got < 0) {
      sqlite3_finalize(st);
      return got;
    }
    if (got) break;
  }
  int ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
  if (!ok) db_fail(s, "cannot read events", err, errlen);
  sqlite3_finalize(st);
  return ok ? 0 : VIGIL_EIO;
}

static int sq_scan(store *base, uint64_t after, uint64_t visit, store_event_fn fn, void *ud, char *err, size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st;
  const char *sql = visit ? "SELECT seq, time, visit, type, body FROM events WHERE visit = ?2 AND seq > ?1 ORDER BY seq"
                          : "SELECT seq, time, visit, type, body FROM events WHERE seq > ?1 ORDER BY seq";
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(s, "cannot read events", err, errlen);
  sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
  if (visit) sqlite3_bind_int64(st, 2, (sqlite3_int64)visit);
  return scan_query(s, st, fn, ud, err, errlen);
}

static int sq_scan_open(store *base, store_event_fn fn, void *ud, char *err, size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st;
  const char *sql = "SELECT seq, time, visit, type, body FROM events "
                    "WHERE visit IN (SELECT id FROM visits WHERE status = 'active') ORDER BY seq";
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(s, "cannot read events", err, errlen);
  return scan_query(s, st, fn, ud, err, errlen);
}

static int sq_put_protocol(store *base, const protocol *p, char *err, size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  char *text = vigil__sources_to_json(p);
  if (!text) return fail(VIGIL_ENOMEM, err, errlen, "out of memory storing %s", p->ref);
  sqlite3_stmt *st;
  int rc = 0;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT OR IGNORE INTO protocols (sha256, ref, dir, files, stored_at) "
                         "VALUES (?, ?, ?, ?, CAST(strftime('%s','now') AS INTEGER) * 1000)",
                         -1, &st, NULL) != SQLITE_OK)
    rc = db_fail(s, "cannot store the protocol", err, errlen);
  else {
    sqlite3_bind_text(st, 1, p->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, p->sb->dir, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(s, "cannot store the protocol", err, errlen);
    sqlite3_finalize(st);
  }
  free(text);
  return rc;
}

static int sq_get_protocol(store *base, const char *sha256, char **dir, source_file **out, uint32_t *n, char *err,
                           size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;
  *dir = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT dir, files FROM protocols WHERE sha256 = ?", -1, &st, NULL) != SQLITE_OK)
    return db_fail(s, "cannot read the protocol", err, errlen);
  sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? fail(VIGIL_ENOENT, err, errlen, "protocol version %s is not in %s", sha256, s->path)
                             : db_fail(s, "cannot read the protocol", err, errlen);
  }
  rc = vigil__sources_from_json((const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 0),
                                sha256, dir, out, n, err, errlen);
  sqlite3_finalize(st);
  return rc;
}

int vigil__sqlite_find_protocol(const char *path, const char *name, char **dir, source_file **files, uint32_t *n,
                                char *err, size_t errlen) {
  *dir = NULL;
  *files = NULL;
  *n = 0;
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "SELECT dir, files, sha256 FROM protocols WHERE ref = ?1 OR sha256 = ?1 "
                         "ORDER BY stored_at DESC LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK) {
    rc =
        fail(VIGIL_EIO, err, errlen, "cannot read the stored protocols: %s", db ? sqlite3_errmsg(db) : "out of memory");
  } else {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
      rc = vigil__sources_from_json((const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 0),
                                    (const char *)sqlite3_column_text(st, 2), dir, files, n, err, errlen);
    else if (step == SQLITE_DONE)
      rc = fail(VIGIL_ENOENT, err, errlen, "no stored protocol version %s", name);
    else
      rc = fail(VIGIL_EIO, err, errlen, "cannot read the stored protocols: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}

static int sq_summary(store *base, uint64_t *last_seq, uint64_t *visits, uint64_t *alerts, int *unclean, char *err,
                      size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  char state[32];
  *last_seq = s->head_seq;
  *alerts = s->max_alert;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, "SELECT COALESCE(MAX(id), 0) FROM visits", -1, &st, NULL) != SQLITE_OK)
    return db_fail(s, "cannot read the store", err, errlen);
  *visits = sqlite3_step(st) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (get_meta(s, "previous_stop", state, sizeof state) < 0) return db_fail(s, "cannot read the store", err, errlen);
  *unclean = !strcmp(state, "unclean");
  return 0;
}

static void sq_close(store *base) {
  sqlite_store *s = (sqlite_store *)base;
  if (s->db) {
    if (s->opened) set_meta(s, "state", "stopped");
    sqlite3_finalize(s->insert);
    sqlite3_finalize(s->visit_start);
    sqlite3_finalize(s->visit_end);
    sqlite3_finalize(s->set_meta);
    sqlite3_finalize(s->kv_get);
    sqlite3_finalize(s->kv_scan);
    sqlite3_close(s->db);
  }
  if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
  release_held(s);
  vigil__row_hasher_free(s->hasher);
  free(s->path);
  free(s);
}

static int sq_kv_put(store *base, const char *ns, const char *key, const void *value, size_t len, char *err,
                     size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st;
  const char *sql =
      value ? "INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)" : "DELETE FROM kv WHERE ns = ? AND key = ?";
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(s, "cannot write", err, errlen);
  sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  if (value) sqlite3_bind_blob64(st, 3, len ? value : "", len, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, "cannot write", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* A create write (store_kv_write's create), in the append's transaction:
 * a key already there refuses the append whole (VIGIL_EEXIST). */
static int sq_kv_create(sqlite_store *s, const store_kv_write *w, char *err, size_t errlen) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, "INSERT INTO kv (ns, key, value) VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
    return db_fail(s, "cannot write", err, errlen);
  sqlite3_bind_text(st, 1, w->ns, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
  sqlite3_bind_blob64(st, 3, w->len ? w->value : "", w->len, SQLITE_STATIC);
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY ? vigil__kv_exists_fail(w, err, errlen)
                                                                         : db_fail(s, "cannot write", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* A malloc'd copy of a blob column, NUL-terminated beyond its length. */
static void *column_copy(sqlite3_stmt *st, int col, size_t *len) {
  size_t n = (size_t)sqlite3_column_bytes(st, col);
  char *v = malloc(n + 1);
  if (!v) return NULL;
  if (n) memcpy(v, sqlite3_column_blob(st, col), n);
  v[n] = 0;
  *len = n;
  return v;
}

/* A kept statement for sql in *slot, prepared at its first use: preparing
 * costs tens of thousands of instructions, more than the read it serves (a
 * visit start reads the patients' rows: issue 16, 2026-12-06). A statement
 * still stepping (a read inside a scan's callback) is not reset under its
 * reader: that caller gets a statement of its own, which done() finalizes. */
static sqlite3_stmt *kept(sqlite_store *s, sqlite3_stmt **slot, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (*slot && !sqlite3_stmt_busy(*slot)) return *slot;
  if (!*slot) {
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) return NULL;
    return *slot;
  }
  return sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK ? st : NULL;
}

/* Gives back a statement of kept(): reset and unbound when it is the kept one. */
static void done(sqlite3_stmt **slot, sqlite3_stmt *st) {
  if (st != *slot) {
    sqlite3_finalize(st);
    return;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

static int sq_kv_get(store *base, const char *ns, const char *key, void **value, size_t *len, char *err,
                     size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = kept(s, &s->kv_get, "SELECT value FROM kv WHERE ns = ? AND key = ?");
  if (!st) return db_fail(s, "cannot read", err, errlen);
  sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    rc = (*value = column_copy(st, 0, len)) ? 0 : VIGIL_ENOMEM;
  else
    rc = rc == SQLITE_DONE ? VIGIL_ENOENT : db_fail(s, "cannot read", err, errlen);
  done(&s->kv_get, st);
  return rc;
}

static int sq_kv_scan(store *base, const char *ns, store_kv_fn fn, void *ud, char *err, size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = kept(s, &s->kv_scan, "SELECT key, value FROM kv WHERE ns = ? ORDER BY key");
  if (!st) return db_fail(s, "cannot read", err, errlen);
  sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if (fn(ud, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 1),
           (size_t)sqlite3_column_bytes(st, 1)))
      break;
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(s, "cannot read", err, errlen);
  done(&s->kv_scan, st);
  return rc;
}

static int sq_scan_courses(store *base, store_event_fn fn, void *ud, char *err, size_t errlen) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st;
  /* Site events (the events_visit index), of the course types, and the
   * course alerts' (alert events of no visit). */
  const char *sql = "SELECT seq, time, visit, type, body FROM events "
                    "WHERE visit = 0 AND (type LIKE 'course.%' OR type LIKE 'alert.%') ORDER BY seq";
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(s, "cannot read events", err, errlen);
  return scan_query(s, st, fn, ud, err, errlen);
}

static const store_ops sqlite_ops = {sq_append, sq_scan,   sq_put_protocol, sq_get_protocol, sq_scan_open,   sq_summary,
                                     sq_close,  sq_kv_put, sq_kv_get,       sq_kv_scan,      sq_scan_courses};

/* Brings the schema up to this vigil's; a reader changes nothing and needs
 * it current already. */
static int migrate(sqlite_store *s, char *err, size_t errlen) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_finalize(st);
    return db_fail(s, "cannot open the database", err, errlen);
  }
  int version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version > SCHEMA_VERSION)
    return fail(VIGIL_ENEWER, err, errlen,
                "%s was written by a newer vigil (schema %d; this vigil knows up to %d): upgrade vigil to open it",
                s->path, version, SCHEMA_VERSION);
  if (s->read_only && version < SCHEMA_VERSION)
    return fail(VIGIL_EINVAL, err, errlen,
                "%s was written by an older vigil (schema %d; this vigil writes %d): start vigil serve on it once to "
                "upgrade it, then read it",
                s->path, version, SCHEMA_VERSION);
  for (int v = version; v < SCHEMA_VERSION; v++) {
    char set[64];
    snprintf(set, sizeof set, "PRAGMA user_version = %d", v + 1);
    if (exec(s, "BEGIN", "cannot migrate", err, errlen) < 0) return VIGIL_EIO;
    /* v < SCHEMA_VERSION, the number of migrations (asserted at the array). */
    // cppcheck-suppress arrayIndexOutOfBounds
    if (sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, set, NULL, NULL, NULL) != SQLITE_OK) {
      int rc = db_fail(s, "cannot migrate the database", err, errlen);
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
    if (exec(s, "COMMIT", "cannot migrate the database", err, errlen) < 0) return VIGIL_EIO;
  }
  return 0;
}

/* read_only: a reader, as vigil export is: no lock (a running engine goes
 * on), no migration, no change to the head or the state, and one read
 * transaction for its whole life, so that everything it reads is one
 * moment of the log however much an engine appends meanwhile. */
static store *open_store(const char *path, const char *vfs, int read_only, int *rc, char *err, size_t errlen) {
  sqlite_store *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(path)) || !(s->hasher = vigil__row_hasher_new())) {
    if (s) free(s->path);
    free(s);
    *rc = fail(VIGIL_ENOMEM, err, errlen, "out of memory");
    return NULL;
  }
  s->base.ops = &sqlite_ops;
  s->lock_fd = -1;
  s->read_only = read_only;
  /* One engine per file: a second one would interleave sequence numbers.
   * Within this process, by the file's identity (see held_files); across
   * processes, by flock. */
  struct stat file;
  if (read_only) {
    if (stat(path, &file) < 0) {
      *rc = fail(errno == ENOENT ? VIGIL_ENOENT : VIGIL_EIO, err, errlen, "cannot open %s: %s", path, strerror(errno));
      goto fail;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, vfs) != SQLITE_OK) {
      *rc = db_fail(s, "cannot open the database", err, errlen);
      goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if ((*rc = exec(s, "BEGIN", "cannot read the database", err, errlen)) < 0) goto fail;
    goto schema;
  }
  pthread_mutex_lock(&held_mutex);
  if (stat(path, &file) == 0 && is_held(file.st_dev, file.st_ino)) {
    pthread_mutex_unlock(&held_mutex);
    *rc = fail(VIGIL_EBUSY, err, errlen, "%s is in use by another vigil process or engine", path);
    goto fail;
  }
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (s->lock_fd < 0) {
    pthread_mutex_unlock(&held_mutex);
    *rc = fail(VIGIL_EIO, err, errlen, "cannot open %s: %s", path, strerror(errno));
    goto fail;
  }
  held_file *h = NULL;
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0 || fstat(s->lock_fd, &file) < 0) {
    int e = errno;
    pthread_mutex_unlock(&held_mutex);
    *rc = e == EWOULDBLOCK ? fail(VIGIL_EBUSY, err, errlen, "%s is in use by another vigil process", path)
                           : fail(VIGIL_EIO, err, errlen, "cannot lock %s: %s", path, strerror(e));
    goto fail;
  }
  if (!(h = malloc(sizeof *h))) {
    pthread_mutex_unlock(&held_mutex);
    *rc = fail(VIGIL_ENOMEM, err, errlen, "out of memory");
    goto fail;
  }
  *h = (held_file){file.st_dev, file.st_ino, held_files};
  held_files = h;
  s->dev = file.st_dev;
  s->ino = file.st_ino;
  s->held = 1;
  pthread_mutex_unlock(&held_mutex);
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) != SQLITE_OK) {
    *rc = db_fail(s, "cannot open the database", err, errlen);
    goto fail;
  }
  sqlite3_extended_result_codes(s->db, 1);
  char mode[16] = "";
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  if (strcmp(mode, "wal") != 0) {
    *rc = db_fail(s, "cannot open the database", err, errlen);
    if (*rc == VIGIL_EIO && !sqlite3_errcode(s->db))
      *rc = fail(VIGIL_EIO, err, errlen, "%s cannot use write-ahead logging", path);
    goto fail;
  }
  if ((*rc = exec(s, "PRAGMA synchronous = FULL", "cannot open the database", err, errlen)) < 0) goto fail;
schema:
  if ((*rc = migrate(s, err, errlen)) < 0) goto fail;
  if (!read_only &&
      (sqlite3_prepare_v2(s->db, "INSERT INTO events (seq, time, visit, type, body, prev, hash) VALUES (?,?,?,?,?,?,?)",
                          -1, &s->insert, NULL) != SQLITE_OK ||
       sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO visits (id, status) VALUES (?, 'active')", -1, &s->visit_start,
                          NULL) != SQLITE_OK ||
       sqlite3_prepare_v2(s->db, "UPDATE visits SET status = 'closed' WHERE id = ?", -1, &s->visit_end, NULL) !=
           SQLITE_OK ||
       sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", -1, &s->set_meta, NULL) !=
           SQLITE_OK)) {
    *rc = db_fail(s, "cannot open the database", err, errlen);
    goto fail;
  }
  /* Where the chain ends, and whether the last run closed the store. */
  char value[80];
  if (get_meta(s, "head_hash", s->head, sizeof s->head) < 0 || get_meta(s, "head_seq", value, sizeof value) < 0) {
    *rc = db_fail(s, "cannot open the database", err, errlen);
    goto fail;
  }
  s->head_seq = strtoull(value, NULL, 10);
  /* The log must end where its head says: a cheap check that the chain was
   * not cut or rewritten at its end (vigil audit verify checks all of it). */
  sqlite3_stmt *last;
  if (sqlite3_prepare_v2(s->db, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", -1, &last, NULL) !=
      SQLITE_OK) {
    *rc = db_fail(s, "cannot open the database", err, errlen);
    goto fail;
  }
  int has_row = sqlite3_step(last) == SQLITE_ROW;
  uint64_t last_seq = has_row ? (uint64_t)sqlite3_column_int64(last, 0) : 0;
  int same = has_row ? !strcmp((const char *)sqlite3_column_text(last, 1), s->head) : s->head[0] == '\0';
  sqlite3_finalize(last);
  if (last_seq != s->head_seq || !same) {
    *rc = fail(VIGIL_ECORRUPT, err, errlen,
               "%s: the event log ends at %llu but its head says %llu%s: run `vigil audit verify %s`", path,
               (unsigned long long)last_seq, (unsigned long long)s->head_seq, same ? "" : " (a different hash)", path);
    goto fail;
  }
  get_meta(s, "alerts", value, sizeof value);
  s->max_alert = strtoull(value, NULL, 10);
  get_meta(s, "failed_commits", value, sizeof value);
  s->failed_commits = strtoull(value, NULL, 10);
  get_meta(s, "state", value, sizeof value);
  if (read_only) {
    *rc = 0;
    return &s->base;
  }
  if (exec(s, "BEGIN", "cannot open the database", err, errlen) < 0 ||
      set_meta(s, "previous_stop", !strcmp(value, "running") ? "unclean" : "clean") < 0 ||
      set_meta(s, "state", "running") < 0 || exec(s, "COMMIT", "cannot open the database", err, errlen) < 0) {
    *rc = db_fail(s, "cannot open the database", err, errlen);
    goto fail;
  }
  *rc = 0;
  s->opened = 1;
  return &s->base;
fail:
  sq_close(&s->base);
  return NULL;
}

const char *vigil__store_sqlite_file(const store *base) {
  return base && base->ops == &sqlite_ops ? ((const sqlite_store *)base)->path : NULL;
}

int vigil__sqlite_read_rows(const char *path, uint64_t visit, const char *type, uint64_t upto, store_row_fn fn,
                            void *ud, char *err, size_t errlen) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  const char *sql = visit ? "SELECT seq, body FROM events WHERE visit = ?2 AND seq <= ?1 ORDER BY seq"
                          : "SELECT seq, body FROM events WHERE type = ?3 AND seq <= ?1 ORDER BY seq";
  int step = SQLITE_ERROR;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)upto);
    if (visit) sqlite3_bind_int64(st, 2, (sqlite3_int64)visit);
    if (!visit) sqlite3_bind_text(st, 3, type ? type : "", -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      const char *body = (const char *)sqlite3_column_text(st, 1);
      if (body && fn(ud, (uint64_t)sqlite3_column_int64(st, 0), body, (size_t)sqlite3_column_bytes(st, 1))) {
        step = SQLITE_DONE;
        break;
      }
    }
  }
  int rc = step == SQLITE_DONE ? 0
                               : fail(VIGIL_EIO, err, errlen, "cannot read the events of %s: %s", path,
                                      db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}

store *vigil__store_sqlite_open(const char *path, const char *vfs, int *rc, char *err, size_t errlen) {
  return open_store(path, vfs, 0, rc, err, errlen);
}

store *vigil__store_sqlite_read(const char *path, const char *vfs, int *rc, char *err, size_t errlen) {
  return open_store(path, vfs, 1, rc, err, errlen);
}
