/* store_pg.c: the event log of one site in a PostgreSQL database that many
 * sites (and many vigil nodes) share.
 *
 * One schema holds every site: the sites' heads, the events with a gapless
 * seq per site and the hash chain per site (each row carries the hash of the
 * site's row before it and its own, as in store_sqlite.c), the visits'
 * status, the protocol versions' sources, and the key-value table (users,
 * sessions, plugins' state) that every node shares. Schema changes are
 * numbered migrations, applied under an advisory lock so that two nodes
 * starting together migrate once.
 *
 * An append is one transaction: the site's head moves from the seq and hash
 * this store last wrote to the batch's last ones (zero rows updated: someone
 * else wrote the site's log since; nothing of the batch is written), the
 * rows go in with one INSERT, and COMMIT returns only once PostgreSQL has
 * made the transaction durable (synchronous_commit, docs/deploy.md). When
 * the connection breaks at COMMIT, the outcome is asked of the database
 * after reconnecting: the head says whether the batch is in. */
#include <dirent.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/intern.h"
#include "store/event.h"
#include "store/store.h"
#include "pg_connect.h"
#include "rows.h"

/* Numbered migrations: index i takes the schema from version i to i + 1. */
static const char *const migrations[] = {
    /* 1: the sites' heads, the event log, the visits' status, the protocol
     * versions in use, the key-value table. */
    "CREATE TABLE vigil_sites ("
    "  site text PRIMARY KEY,"
    "  head_seq bigint NOT NULL DEFAULT 0,"
    "  head_hash text NOT NULL DEFAULT '',"
    "  alerts bigint NOT NULL DEFAULT 0,"  /* the highest alert id in the site's log */
    "  state text NOT NULL DEFAULT 'new'," /* running while a store has it open, else stopped */
    "  previous_stop text NOT NULL DEFAULT 'clean',"
    "  failed_commits bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE vigil_events ("
    "  site text NOT NULL REFERENCES vigil_sites (site),"
    "  seq bigint NOT NULL,"
    "  time bigint NOT NULL,"  /* ms since the epoch, UTC */
    "  visit bigint NOT NULL," /* 0 for the site's own events */
    "  type text NOT NULL,"
    "  body text NOT NULL," /* the event, canonical JSON (docs/events.md) */
    "  prev text NOT NULL," /* the site's previous row's hash, '' for the first */
    "  hash text NOT NULL," /* sha256(prev || body), hex */
    "  PRIMARY KEY (site, seq));"
    "CREATE INDEX vigil_events_visit ON vigil_events (site, visit, seq);"
    "CREATE INDEX vigil_events_time ON vigil_events (site, time);"
    "CREATE TABLE vigil_visits (site text NOT NULL, id bigint NOT NULL, status text NOT NULL, PRIMARY KEY (site, id));"
    "CREATE TABLE vigil_protocols ("
    "  sha256 text PRIMARY KEY, ref text NOT NULL, dir text NOT NULL,"
    "  files text NOT NULL," /* JSON [{path, text}], paths within dir */
    "  stored_at bigint NOT NULL);"
    "CREATE TABLE vigil_kv (ns text NOT NULL, key text NOT NULL, value bytea NOT NULL, PRIMARY KEY (ns, key));",
    /* 2: a site's lease: the node that owns it, the epoch its appends are
     * fenced with, until when (the database's clock), where the node answers;
     * and a deadline fired twice refused (item.overdue per item and
     * occurrence, alert.escalated per alert and level). */
    "ALTER TABLE vigil_sites ADD COLUMN owner text, ADD COLUMN epoch bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN lease_until timestamptz, ADD COLUMN advertise text, ADD COLUMN taken_at timestamptz;"
    "CREATE UNIQUE INDEX vigil_overdue_once ON vigil_events"
    "  (site, visit, ((body::jsonb) -> 'data' ->> 'item'), ((body::jsonb) -> 'data' ->> 'occurrence'))"
    "  WHERE type = 'item.overdue';"
    "CREATE UNIQUE INDEX vigil_escalated_once ON vigil_events"
    "  (site, ((body::jsonb) -> 'data' ->> 'alert'), ((body::jsonb) -> 'data' ->> 'level'))"
    "  WHERE type = 'alert.escalated';",
};
#define SCHEMA_VERSION STORE_PG_SCHEMA
_Static_assert(sizeof migrations / sizeof *migrations == STORE_PG_SCHEMA, "one migration per schema version");

/* The advisory lock that makes migrations one at a time ("vigl"). */
#define MIGRATION_LOCK "1986618732"

typedef struct pg_store {
  store base;
  PGconn *c;
  char *uri, *site;
  char where[300]; /* "site S of HOST:PORT/DB", for messages */
  int read_only;
  int in_read; /* a reader's transaction is open */
  char *node;  /* the lease's owner; NULL: a store without a lease (one node) */
  char *advertise;
  int64_t lease_ms;
  int64_t max_offset_ms, offset_ms; /* the node's clock less the database's: the most allowed, the last measured */
  char epoch[24];                   /* the site's epoch when this store claimed it: every append is fenced by it */
  int fenced;                       /* the site was taken: nothing more is written */
  atomic_int self_fenced;           /* the node stopped acting for the site (vigil__store_fence, any thread) */
  uint64_t refusals;                /* appends and renewals refused by the fence (vigil__store_fence_refusals) */
  char broken[512]; /* a part of the schema found gone (a write, a read): every renewal says it, and the node stops */
  char head[65];    /* hash of the site's last row */
  uint64_t head_seq;
  uint64_t max_alert;
  row_hasher *hasher;
  int opened;
} pg_store;

static int fail(int code, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int code, char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

/* The first line of libpq's message. */
static void first_line(const char *msg, char *out, size_t n) {
  snprintf(out, n, "%s", msg && *msg ? msg : "no answer");
  out[strcspn(out, "\n")] = '\0';
}

/* A failed result (or a broken connection) as a VIGIL_E* code and a sentence
 * for people; clears r. */
static int db_fail(pg_store *s, PGresult *r, const char *doing, char *err, size_t errlen) {
  char why[400], state[8] = "08000", constraint[64] = "";
  const char *x = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  if (x) snprintf(state, sizeof state, "%s", x);
  x = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
  if (x) snprintf(constraint, sizeof constraint, "%s", x);
  first_line(r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(s->c), why, sizeof why);
  PQclear(r);
  if (PQstatus(s->c) != CONNECTION_OK || !strncmp(state, "08", 2) || !strncmp(state, "57P", 3))
    return fail(VIGIL_EIO, err, errlen, "%s: cannot reach PostgreSQL for %s (%s)", doing, s->where, why);
  /* A table or column of vigil's schema is gone (dropped by hand, another
   * program's database): no retry brings it back (D2 of the second try). */
  if (!strcmp(state, "42P01") || !strcmp(state, "42703")) {
    fail(VIGIL_ECORRUPT, err, errlen, "%s: %s lacks part of vigil's schema (%s)", doing, s->where, why);
    /* While the node runs too (E6 of the third try: a table dropped then
     * answered every start 503 for ever, /healthz "ok"): the next renewal
     * says it and the node stops (vigil__store_renew). */
    if (!s->broken[0]) snprintf(s->broken, sizeof s->broken, "%s", err);
    return VIGIL_ECORRUPT;
  }
  if (!strcmp(state, "53100"))
    return fail(VIGIL_EIO, err, errlen, "%s: PostgreSQL's disk is full (%s)", doing, s->where);
  if (!strncmp(state, "53", 2) || !strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
    return fail(VIGIL_EBUSY, err, errlen, "%s: PostgreSQL is busy (%s: %s)", doing, s->where, why);
  if (!strcmp(state, "23505") && strstr(constraint, "_once"))
    return fail(VIGIL_EBUSY, err, errlen, "%s: a deadline of %s fired twice (%s): refused", doing, s->site, constraint);
  if (!strcmp(state, "23505"))
    return fail(VIGIL_EBUSY, err, errlen, "%s: another writer wrote %s's log meanwhile (%s)", doing, s->site, why);
  return fail(VIGIL_EIO, err, errlen, "%s: %s (%s)", doing, why, s->where);
}

/* Reconnects once when the connection broke (PostgreSQL restarted, a
 * failover): the next operation may then succeed. */
static void reconnect(pg_store *s) {
  if (PQstatus(s->c) != CONNECTION_OK) PQreset(s->c);
}

/* Runs a statement with text parameters; the result, or NULL after
 * db_fail. */
static PGresult *run(pg_store *s, const char *sql, int n, const char *const *params, ExecStatusType want,
                     const char *doing, int *rc, char *err, size_t errlen) {
  PGresult *r = PQexecParams(s->c, sql, n, NULL, params, NULL, NULL, 0);
  if (r && PQresultStatus(r) == want) return r;
  *rc = db_fail(s, r, doing, err, errlen);
  return NULL;
}

/* A statement without parameters whose rows, if any, are not wanted. */
static int exec(pg_store *s, const char *sql, const char *doing, char *err, size_t errlen) {
  PGresult *r = PQexec(s->c, sql);
  if (r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)) {
    PQclear(r);
    return 0;
  }
  return db_fail(s, r, doing, err, errlen);
}

static void rollback(pg_store *s) {
  if (PQstatus(s->c) == CONNECTION_OK && PQtransactionStatus(s->c) != PQTRANS_IDLE) PQclear(PQexec(s->c, "ROLLBACK"));
}

/* An element of a PostgreSQL array literal: "text" with " and \ escaped. */
static void array_text(buf *b, const char *p, size_t len) {
  vigil__buf_putc(b, b->len && b->p[b->len - 1] != '{' ? ',' : '{');
  vigil__buf_putc(b, '"');
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '"' || p[i] == '\\') vigil__buf_putc(b, '\\');
    vigil__buf_putc(b, p[i]);
  }
  vigil__buf_putc(b, '"');
}

static void array_int(buf *b, long long x) {
  vigil__buf_putc(b, b->len && b->p[b->len - 1] != '{' ? ',' : '{');
  vigil__buf_put_int(b, x);
}

static void array_end(buf *b) {
  if (!b->len) vigil__buf_putc(b, '{');
  vigil__buf_putc(b, '}');
  vigil__buf_putc(b, '\0');
}

/* The approval row of a protocol.approved event ({ref, by, at_ms}, as
 * store_sqlite.c writes it), in the event's transaction. */
static int approval_row(pg_store *s, const vigil_event *ev, buf *b, char *err, size_t errlen) {
  const char *h;
  int is = vigil__approval_row(b, ev, &h);
  if (is <= 0) return is < 0 ? fail(VIGIL_ENOMEM, err, errlen, "out of memory") : 0;
  const char *p[2] = {h, b->p};
  int lens[2] = {0, (int)b->len}, fmts[2] = {0, 1};
  PGresult *res = PQexecParams(s->c,
                               "INSERT INTO vigil_kv (ns, key, value) VALUES ('approval', $1, $2) "
                               "ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value",
                               2, NULL, p, lens, fmts, 0);
  if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
    PQclear(res);
    return 0;
  }
  return db_fail(s, res, "cannot write events", err, errlen);
}

/* Reads the site's head from the database. */
static int read_head(pg_store *s, uint64_t *seq, char hash[65], uint64_t *alerts, char *err, size_t errlen) {
  int rc = 0;
  const char *p[1] = {s->site};
  PGresult *r = run(s, "SELECT head_seq, head_hash, alerts FROM vigil_sites WHERE site = $1", 1, p, PGRES_TUPLES_OK,
                    "cannot read the site's head", &rc, err, errlen);
  if (!r) return rc;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return fail(VIGIL_ENOENT, err, errlen, "%s has no row in vigil_sites", s->where);
  }
  *seq = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
  snprintf(hash, 65, "%s", PQgetvalue(r, 0, 1));
  if (alerts) *alerts = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
  PQclear(r);
  return 0;
}

/* Everything of one append but BEGIN and COMMIT. */
static int kv_create(pg_store *s, const store_kv_write *w, char *err, size_t errlen);
static int kv_write(pg_store *s, const char *ns, const char *key, const void *value, size_t len, char *err,
                    size_t errlen);

static int append_rows(pg_store *s, vigil_event *const *evs, size_t n, char head[65], uint64_t *max_alert, char *err,
                       size_t errlen) {
  buf seqs, times, visits, types, bodies, prevs, hashes, b;
  buf *all[] = {&seqs, &times, &visits, &types, &bodies, &prevs, &hashes, &b};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    vigil__buf_init(all[i]);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    vigil_event *ev = evs[i];
    /* Its JSON is built here once and kept with it (store_sqlite.c). */
    size_t len = 0;
    const char *json = vigil__event_json_build(ev) == 0 ? ev->json : NULL;
    if (json) len = ev->json_len;
    char hash[65];
    if (!json)
      rc = fail(VIGIL_ENOMEM, err, errlen, "out of memory encoding event %llu", (unsigned long long)ev->seq);
    else if (vigil__row_hash(s->hasher, head, json, len, hash) < 0)
      rc = fail(VIGIL_EIO, err, errlen, "cannot hash event %llu", (unsigned long long)ev->seq);
    if (rc < 0) break;
    const char *type = vigil__event_type_name((event_type)ev->type);
    array_int(&seqs, (long long)ev->seq);
    array_int(&times, ev->time);
    array_int(&visits, (long long)ev->visit);
    array_text(&types, type, strlen(type));
    array_text(&bodies, json, len);
    array_text(&prevs, head, strlen(head));
    array_text(&hashes, hash, 64);
    memcpy(head, hash, 65);
    if (ev->type == EV_ALERT_RAISED) {
      val *id = vigil__val_get(ev->data, K(alert));
      if (id && id->type == VAL_NUMBER && (uint64_t)id->u.num > *max_alert) *max_alert = (uint64_t)id->u.num;
    }
  }
  for (size_t i = 0; i < 7 && rc == 0; i++) {
    array_end(all[i]);
    if (all[i]->oom) rc = fail(VIGIL_ENOMEM, err, errlen, "out of memory writing events");
  }
  char prev_seq[32], last_seq[32], alerts[32];
  snprintf(prev_seq, sizeof prev_seq, "%llu", (unsigned long long)s->head_seq);
  snprintf(last_seq, sizeof last_seq, "%llu", (unsigned long long)evs[n - 1]->seq);
  snprintf(alerts, sizeof alerts, "%llu", (unsigned long long)*max_alert);
  /* The head moves first, fenced by the epoch this store claimed the site
   * with: zero rows means the site was claimed since (or its log moved on
   * without us), and nothing of the batch is written. */
  if (rc == 0) {
    const char *p[] = {s->site, last_seq, head, alerts, prev_seq, s->head, s->epoch};
    PGresult *r = run(s,
                      "UPDATE vigil_sites SET head_seq = $2, head_hash = $3, alerts = GREATEST(alerts, $4::bigint) "
                      "WHERE site = $1 AND head_seq = $5 AND head_hash = $6 AND epoch = $7",
                      7, p, PGRES_COMMAND_OK, "cannot write events", &rc, err, errlen);
    if (r && strcmp(PQcmdTuples(r), "1") != 0) {
      s->fenced = 1;
      s->refusals++;
      rc = fail(VIGIL_EBUSY, err, errlen,
                "cannot write events: %s was taken by another node (fenced: this node's epoch %s is past)", s->site,
                s->epoch);
    }
    PQclear(r);
  }
  if (rc == 0) {
    const char *p[] = {s->site, seqs.p, times.p, visits.p, types.p, bodies.p, prevs.p, hashes.p};
    PQclear(run(s,
                "INSERT INTO vigil_events (site, seq, time, visit, type, body, prev, hash) "
                "SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], "
                "$7::text[], $8::text[])",
                8, p, PGRES_COMMAND_OK, "cannot write events", &rc, err, errlen));
  }
  /* The visits' status, for recovery to find the open ones quickly; the
   * approvals' rows. */
  for (size_t i = 0; i < n && rc == 0; i++) {
    const vigil_event *ev = evs[i];
    char id[32];
    snprintf(id, sizeof id, "%llu", (unsigned long long)ev->visit);
    const char *p[] = {s->site, id};
    if (ev->type == EV_VISIT_STARTED)
      PQclear(run(s, "INSERT INTO vigil_visits (site, id, status) VALUES ($1, $2, 'active') ON CONFLICT DO NOTHING", 2,
                  p, PGRES_COMMAND_OK, "cannot write events", &rc, err, errlen));
    else if (vigil__event_ends_visit(ev))
      PQclear(run(s, "UPDATE vigil_visits SET status = 'closed' WHERE site = $1 AND id = $2", 2, p, PGRES_COMMAND_OK,
                  "cannot write events", &rc, err, errlen));
    else if (ev->type == EV_PROTOCOL_APPROVED)
      rc = approval_row(s, ev, &b, err, errlen);
    /* The key-value rows the event carries (a user's, a session's): in its
     * transaction, so that neither is kept without the other. */
    for (const store_kv_write *w = ev->kv; w && rc == 0; w = w->next)
      rc = w->create && w->value ? kv_create(s, w, err, errlen)
                                 : kv_write(s, w->ns, w->key, w->value, w->len, err, errlen);
  }
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    vigil__buf_free(all[i]);
  return rc;
}

static int pg_append(store *base, vigil_event *const *evs, size_t n, char *err, size_t errlen) {
  pg_store *s = (pg_store *)base;
  if (s->read_only) return fail(VIGIL_ESTATE, err, errlen, "%s is open for reading only", s->where);
  if (s->fenced) {
    s->refusals++;
    return fail(VIGIL_EBUSY, err, errlen, "cannot write events: %s was taken by another node (fenced at epoch %s)",
                s->site, s->epoch);
  }
  if (atomic_load(&s->self_fenced)) {
    s->refusals++;
    return fail(VIGIL_EBUSY, err, errlen,
                "cannot write events: this node stopped acting for %s (its lease was not renewed in time)", s->site);
  }
  if (n == 0) return 0;
  /* Gapless: the batch follows the head, one by one. */
  for (size_t i = 0; i < n; i++)
    if (evs[i]->seq != s->head_seq + 1 + i)
      return fail(VIGIL_EINVAL, err, errlen, "event %llu does not follow %llu in %s's log",
                  (unsigned long long)evs[i]->seq, (unsigned long long)(s->head_seq + i), s->site);
  reconnect(s);
  int rc = exec(s, "BEGIN", "cannot write events", err, errlen);
  if (rc < 0) return rc;
  char head[65];
  memcpy(head, s->head, sizeof head);
  uint64_t max_alert = s->max_alert;
  rc = append_rows(s, evs, n, head, &max_alert, err, errlen);
  if (rc < 0) {
    rollback(s);
    return rc;
  }
  PGresult *r = PQexec(s->c, "COMMIT");
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
    rc = db_fail(s, r, "cannot commit events", err, errlen);
    /* The answer to COMMIT was lost: whether it happened, the site's head
     * says (once the database can be reached again). */
    reconnect(s);
    uint64_t seq;
    char hash[65];
    char why[512];
    if (PQstatus(s->c) == CONNECTION_OK && read_head(s, &seq, hash, NULL, why, sizeof why) == 0) {
      if (seq == evs[n - 1]->seq && !strcmp(hash, head)) rc = 0; /* it did */
    } else if (rc == 0)
      rc = VIGIL_EIO;
    if (rc < 0) {
      rollback(s);
      return rc;
    }
  } else
    PQclear(r);
  memcpy(s->head, head, sizeof head);
  s->head_seq = evs[n - 1]->seq;
  s->max_alert = max_alert;
  return 0;
}

/* Runs a query whose rows are (seq, time, visit, type, body) and hands each
 * to fn. All rows are read first: fn may use the store (a protocol's
 * sources). */
static int scan_query(pg_store *s, const char *sql, int n, const char *const *params, store_event_fn fn, void *ud,
                      char *err, size_t errlen) {
  reconnect(s);
  int rc = 0;
  PGresult *r = run(s, sql, n, params, PGRES_TUPLES_OK, "cannot read events", &rc, err, errlen);
  if (!r) return rc;
  int rows = PQntuples(r);
  for (int i = 0; i < rows; i++) {
    int got = vigil__event_row_deliver(strtoull(PQgetvalue(r, i, 0), NULL, 10), strtoll(PQgetvalue(r, i, 1), NULL, 10),
                                       strtoull(PQgetvalue(r, i, 2), NULL, 10), PQgetvalue(r, i, 3),
                                       PQgetvalue(r, i, 4), fn, ud, err, errlen);
    if (got < 0) rc = got;
    if (got) break;
  }
  PQclear(r);
  return rc;
}

static int pg_scan(store *base, uint64_t after, uint64_t visit, store_event_fn fn, void *ud, char *err, size_t errlen) {
  pg_store *s = (pg_store *)base;
  char a[32], v[32];
  snprintf(a, sizeof a, "%llu", (unsigned long long)after);
  snprintf(v, sizeof v, "%llu", (unsigned long long)visit);
  const char *p[] = {s->site, a, v};
  if (visit)
    return scan_query(s,
                      "SELECT seq, time, visit, type, body FROM vigil_events "
                      "WHERE site = $1 AND visit = $3 AND seq > $2 ORDER BY seq",
                      3, p, fn, ud, err, errlen);
  return scan_query(s,
                    "SELECT seq, time, visit, type, body FROM vigil_events WHERE site = $1 AND seq > $2 ORDER BY seq",
                    2, p, fn, ud, err, errlen);
}

static int pg_scan_open(store *base, store_event_fn fn, void *ud, char *err, size_t errlen) {
  pg_store *s = (pg_store *)base;
  const char *p[] = {s->site};
  return scan_query(s,
                    "SELECT e.seq, e.time, e.visit, e.type, e.body FROM vigil_events e "
                    "JOIN vigil_visits v ON v.site = e.site AND v.id = e.visit "
                    "WHERE e.site = $1 AND v.status = 'active' ORDER BY e.seq",
                    1, p, fn, ud, err, errlen);
}

static int pg_put_protocol(store *base, const protocol *p, char *err, size_t errlen) {
  pg_store *s = (pg_store *)base;
  char *text = vigil__sources_to_json(p);
  if (!text) return fail(VIGIL_ENOMEM, err, errlen, "out of memory storing %s", p->ref);
  reconnect(s);
  int rc = 0;
  const char *params[] = {p->sha256, p->ref, p->sb->dir, text};
  PQclear(run(s,
              "INSERT INTO vigil_protocols (sha256, ref, dir, files, stored_at) "
              "VALUES ($1, $2, $3, $4, (extract(epoch FROM now()) * 1000)::bigint) ON CONFLICT DO NOTHING",
              4, params, PGRES_COMMAND_OK, "cannot store the protocol", &rc, err, errlen));
  free(text);
  return rc;
}

static int pg_get_protocol(store *base, const char *sha256, char **dir, source_file **out, uint32_t *n, char *err,
                           size_t errlen) {
  pg_store *s = (pg_store *)base;
  *out = NULL;
  *n = 0;
  *dir = NULL;
  reconnect(s);
  int rc = 0;
  const char *p[] = {sha256};
  PGresult *r = run(s, "SELECT dir, files FROM vigil_protocols WHERE sha256 = $1", 1, p, PGRES_TUPLES_OK,
                    "cannot read the protocol", &rc, err, errlen);
  if (!r) return rc;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return fail(VIGIL_ENOENT, err, errlen, "protocol version %s is not in %s", sha256, s->where);
  }
  rc = vigil__sources_from_json(PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0), sha256, dir, out, n, err, errlen);
  PQclear(r);
  return rc;
}

static int pg_summary(store *base, uint64_t *last_seq, uint64_t *visits, uint64_t *alerts, int *unclean, char *err,
                      size_t errlen) {
  pg_store *s = (pg_store *)base;
  *last_seq = s->head_seq;
  *alerts = s->max_alert;
  reconnect(s);
  int rc = 0;
  const char *p[] = {s->site};
  PGresult *r = run(s,
                    "SELECT (SELECT COALESCE(MAX(id), 0) FROM vigil_visits WHERE site = $1), "
                    "(SELECT previous_stop FROM vigil_sites WHERE site = $1)",
                    1, p, PGRES_TUPLES_OK, "cannot read the store", &rc, err, errlen);
  if (!r) return rc;
  *visits = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
  *unclean = !strcmp(PQgetvalue(r, 0, 1), "unclean");
  PQclear(r);
  return 0;
}

static void set_state(pg_store *s, const char *state) {
  const char *p[] = {s->site, state};
  PQclear(PQexecParams(s->c, "UPDATE vigil_sites SET state = $2 WHERE site = $1", 2, NULL, p, NULL, NULL, 0));
}

static void pg_close(store *base) {
  pg_store *s = (pg_store *)base;
  if (s->c) {
    if (s->opened && !s->fenced && PQstatus(s->c) == CONNECTION_OK) {
      set_state(s, "stopped");
      /* A clean stop gives the site up at once: another node may claim it
       * without waiting for the lease to run out. */
      const char *p[] = {s->site, s->epoch};
      if (s->node)
        PQclear(PQexecParams(s->c,
                             "UPDATE vigil_sites SET owner = NULL, lease_until = NULL WHERE site = $1 AND epoch = $2",
                             2, NULL, p, NULL, NULL, 0));
    }
    PQfinish(s->c);
  }
  vigil__row_hasher_free(s->hasher);
  free(s->uri);
  free(s->site);
  free(s->node);
  free(s->advertise);
  free(s);
}

/* A create write (store_kv_write's create): the row goes in only if its
 * key is not there, in the append's transaction; otherwise the append is
 * refused whole (VIGIL_EEXIST). */
static int kv_create(pg_store *s, const store_kv_write *w, char *err, size_t errlen) {
  const char *p[] = {w->ns, w->key, w->len ? w->value : ""};
  int lens[] = {0, 0, (int)w->len}, fmts[] = {0, 0, 1};
  PGresult *r =
      PQexecParams(s->c, "INSERT INTO vigil_kv (ns, key, value) VALUES ($1, $2, $3) ON CONFLICT (ns, key) DO NOTHING",
                   3, NULL, p, lens, fmts, 0);
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) return db_fail(s, r, "cannot write", err, errlen);
  int made = !strcmp(PQcmdTuples(r), "1");
  PQclear(r);
  return made ? 0 : vigil__kv_exists_fail(w, err, errlen);
}

static int kv_write(pg_store *s, const char *ns, const char *key, const void *value, size_t len, char *err,
                    size_t errlen) {
  const char *p[] = {ns, key, value ? (len ? value : "") : NULL};
  int lens[] = {0, 0, (int)len}, fmts[] = {0, 0, 1};
  PGresult *r = PQexecParams(s->c,
                             value ? "INSERT INTO vigil_kv (ns, key, value) VALUES ($1, $2, $3) "
                                     "ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value"
                                   : "DELETE FROM vigil_kv WHERE ns = $1 AND key = $2",
                             value ? 3 : 2, NULL, p, lens, fmts, 0);
  if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
    PQclear(r);
    return 0;
  }
  return db_fail(s, r, "cannot write", err, errlen);
}

static int pg_kv_put(store *base, const char *ns, const char *key, const void *value, size_t len, char *err,
                     size_t errlen) {
  pg_store *s = (pg_store *)base;
  if (s->read_only) return fail(VIGIL_ESTATE, err, errlen, "%s is open for reading only", s->where);
  reconnect(s);
  return kv_write(s, ns, key, value, len, err, errlen);
}

/* A malloc'd copy of a binary column, NUL-terminated beyond its length. */
static void *column_copy(PGresult *r, int row, int col, size_t *len) {
  size_t n = (size_t)PQgetlength(r, row, col);
  char *v = malloc(n + 1);
  if (!v) return NULL;
  if (n) memcpy(v, PQgetvalue(r, row, col), n);
  v[n] = 0;
  *len = n;
  return v;
}

static int pg_kv_get(store *base, const char *ns, const char *key, void **value, size_t *len, char *err,
                     size_t errlen) {
  pg_store *s = (pg_store *)base;
  reconnect(s);
  const char *p[] = {ns, key};
  PGresult *r = PQexecParams(s->c, "SELECT value FROM vigil_kv WHERE ns = $1 AND key = $2", 2, NULL, p, NULL, NULL, 1);
  if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) return db_fail(s, r, "cannot read", err, errlen);
  int rc = PQntuples(r) == 1 ? ((*value = column_copy(r, 0, 0, len)) ? 0 : VIGIL_ENOMEM) : VIGIL_ENOENT;
  PQclear(r);
  return rc;
}

static int pg_kv_scan(store *base, const char *ns, store_kv_fn fn, void *ud, char *err, size_t errlen) {
  pg_store *s = (pg_store *)base;
  reconnect(s);
  const char *p[] = {ns};
  /* Binary results; keys compared as bytes, as SQLite orders them. */
  PGresult *r = PQexecParams(s->c, "SELECT key, value FROM vigil_kv WHERE ns = $1 ORDER BY key COLLATE \"C\"", 1, NULL,
                             p, NULL, NULL, 1);
  if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) return db_fail(s, r, "cannot read", err, errlen);
  int rows = PQntuples(r);
  for (int i = 0; i < rows; i++) {
    size_t klen = (size_t)PQgetlength(r, i, 0);
    char *key = malloc(klen + 1);
    if (!key) {
      PQclear(r);
      return fail(VIGIL_ENOMEM, err, errlen, "out of memory");
    }
    memcpy(key, PQgetvalue(r, i, 0), klen);
    key[klen] = '\0';
    int stop = fn(ud, key, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
    free(key);
    if (stop) break;
  }
  PQclear(r);
  return 0;
}

static int pg_scan_courses(store *base, store_event_fn fn, void *ud, char *err, size_t errlen) {
  pg_store *s = (pg_store *)base;
  const char *p[] = {s->site};
  /* The site's own events (visit 0) of the course types, and the course
   * alerts' (alert events of no visit). */
  return scan_query(s,
                    "SELECT seq, time, visit, type, body FROM vigil_events "
                    "WHERE site = $1 AND visit = 0 AND (type LIKE 'course.%' OR type LIKE 'alert.%') ORDER BY seq",
                    1, p, fn, ud, err, errlen);
}

static const store_ops pg_ops = {pg_append, pg_scan,   pg_put_protocol, pg_get_protocol, pg_scan_open,   pg_summary,
                                 pg_close,  pg_kv_put, pg_kv_get,       pg_kv_scan,      pg_scan_courses};

/* Brings the schema up to this vigil's, one migration at a time under the
 * advisory lock; a reader changes nothing and needs it current already. */
static int migrate(pg_store *s, char *err, size_t errlen) {
  int rc = 0;
  if (!s->read_only && ((rc = exec(s, "BEGIN", "cannot migrate the database", err, errlen)) < 0 ||
                        (rc = exec(s, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", "cannot migrate the database",
                                   err, errlen)) < 0 ||
                        (rc = exec(s, "CREATE TABLE IF NOT EXISTS vigil_schema (version integer NOT NULL)",
                                   "cannot migrate the database", err, errlen)) < 0))
    goto out;
  PGresult *r = PQexec(s->c, "SELECT COALESCE(MAX(version), 0) FROM vigil_schema");
  if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (s->read_only && state && !strcmp(state, "42P01")) { /* no such table */
      PQclear(r);
      rc = fail(VIGIL_ENOENT, err, errlen, "%s holds no vigil schema", s->where);
    } else
      rc = db_fail(s, r, "cannot open the database", err, errlen);
    goto out;
  }
  int version = atoi(PQgetvalue(r, 0, 0));
  PQclear(r);
  if (version > SCHEMA_VERSION) {
    rc = fail(VIGIL_ENEWER, err, errlen,
              "%s was written by a newer vigil (schema %d; this vigil knows up to %d): upgrade vigil to open it",
              s->where, version, SCHEMA_VERSION);
    goto out;
  }
  if (s->read_only) {
    if (version < SCHEMA_VERSION)
      rc = fail(VIGIL_EINVAL, err, errlen,
                "%s was written by an older vigil (schema %d; this vigil writes %d): start vigil serve on it once to "
                "upgrade it, then read it",
                s->where, version, SCHEMA_VERSION);
    return rc;
  }
  for (int v = version; v < SCHEMA_VERSION && rc == 0; v++) {
    char set[96];
    snprintf(set, sizeof set, "DELETE FROM vigil_schema; INSERT INTO vigil_schema VALUES (%d)", v + 1);
    // cppcheck-suppress arrayIndexOutOfBounds
    if ((rc = exec(s, migrations[v], "cannot migrate the database", err, errlen)) == 0)
      rc = exec(s, set, "cannot migrate the database", err, errlen);
  }
  if (rc == 0) rc = exec(s, "COMMIT", "cannot migrate the database", err, errlen);
out:
  if (rc < 0) rollback(s);
  return rc;
}

int vigil__store_is_pg(const char *uri) {
  return uri && (!strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11));
}

/* HOST:PORT/DB of a connection, for messages (never the password). */
static void describe(pg_store *s) {
  const char *host = PQhost(s->c), *port = PQport(s->c), *db = PQdb(s->c);
  snprintf(s->where, sizeof s->where, "site %s of PostgreSQL %s:%s/%s", s->site, host && *host ? host : "local",
           port ? port : "", db ? db : "");
}

/* A connection that failed: VIGIL_EINVAL when the settings must be
 * corrected (D2 of the second try, docs/deploy.md), else VIGIL_EIO (tried
 * again). */
static int refused(pg_store *s, int permanent, const char *why, char *err, size_t errlen) {
  if (permanent)
    return fail(VIGIL_EINVAL, err, errlen,
                "PostgreSQL refuses the connection for %s: %s: correct the role, password, database or options of "
                "the database URI (--store, vigil.conf database); trying again would not help",
                s->where, why);
  return fail(VIGIL_EIO, err, errlen, "cannot connect to PostgreSQL for %s: %s", s->where, why);
}

/* Claims the site's lease: a new epoch, for this node (or for no node: a
 * store without a lease), if the site has no owner or its lease ran out by
 * the database's clock. A live lease is its claim's alone, whatever the
 * name: each claim's epoch is what renewals and appends are matched by, so
 * a second process started with a live node's name does not take its sites
 * (it is refused, and told so, until that lease runs out). */
static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* C5 of issue 17's try (docs/deploy.md, Clocks): the node's wall clock
 * stamps the site's events and decides when its deadlines fall due, so a
 * node whose clock is off the database's by more than max_offset_ms owns no
 * site. Measured against clock_timestamp() at the middle of the round trip. */
static int check_clock(pg_store *s, const char *doing, char *err, size_t errlen) {
  int rc = 0;
  int64_t before = wall_ms();
  PGresult *r = run(s, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", 0, NULL, PGRES_TUPLES_OK, doing,
                    &rc, err, errlen);
  if (!r) return rc;
  int64_t after = wall_ms();
  s->offset_ms = (before + after) / 2 - strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  int64_t off = s->offset_ms < 0 ? -s->offset_ms : s->offset_ms;
  if (off <= s->max_offset_ms) return 0;
  return fail(VIGIL_ECLOCK, err, errlen,
              "%s: this node's clock is %+.1f s off the database's (at most %.1f s, max_clock_offset): set it "
              "right (NTP)",
              doing, (double)s->offset_ms / 1000, (double)s->max_offset_ms / 1000);
}

static int claim(pg_store *s, char *err, size_t errlen) {
  if (s->node) {
    char doing[160];
    snprintf(doing, sizeof doing, "site %s not claimed", s->site);
    int rc = check_clock(s, doing, err, errlen);
    if (rc < 0) return rc;
  }
  char lease[32];
  snprintf(lease, sizeof lease, "%lld", (long long)s->lease_ms);
  const char *p[] = {s->site, s->node, s->advertise, lease};
  int rc = 0;
  PGresult *r =
      run(s,
          "UPDATE vigil_sites SET owner = $2, advertise = $3, epoch = epoch + 1, taken_at = clock_timestamp(), "
          "lease_until = CASE WHEN $2::text IS NULL THEN NULL "
          "  ELSE clock_timestamp() + $4::bigint * interval '1 millisecond' END "
          "WHERE site = $1 AND (owner IS NULL OR lease_until IS NULL OR lease_until < clock_timestamp()) "
          "RETURNING epoch",
          4, p, PGRES_TUPLES_OK, "cannot claim the site", &rc, err, errlen);
  if (!r) return rc;
  if (PQntuples(r) == 1) {
    snprintf(s->epoch, sizeof s->epoch, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
  }
  PQclear(r);
  r = run(s,
          "SELECT owner, COALESCE(advertise, ''), "
          "(extract(epoch FROM lease_until - clock_timestamp()) * 1000)::bigint FROM vigil_sites WHERE site = $1",
          1, p, PGRES_TUPLES_OK, "cannot claim the site", &rc, err, errlen);
  if (!r) return rc;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return fail(VIGIL_ENOENT, err, errlen,
                "site %s does not exist in this database: create it with 'vigil site add %s --store URI' "
                "(docs/deploy.md), or correct the node's sites",
                s->site, s->site);
  }
  const char *owner = PQgetvalue(r, 0, 0);
  if (s->node && !strcmp(owner, s->node))
    rc = fail(VIGIL_EBUSY, err, errlen,
              "site %s is held by another live process named %s (%s) for another %s ms: not taken. Two processes "
              "must not share a --node name; a node restarted after a crash takes its sites back once its old "
              "lease runs out",
              s->site, owner, PQntuples(r) ? PQgetvalue(r, 0, 1) : "", PQntuples(r) ? PQgetvalue(r, 0, 2) : "?");
  else
    rc = fail(VIGIL_EBUSY, err, errlen, "site %s is owned by node %s (%s) for another %s ms", s->site, owner,
              PQntuples(r) ? PQgetvalue(r, 0, 1) : "", PQntuples(r) ? PQgetvalue(r, 0, 2) : "?");
  PQclear(r);
  return rc;
}

int vigil__store_renew(store *base, char *err, size_t errlen) {
  if (base->ops != &pg_ops) return 0;
  pg_store *s = (pg_store *)base;
  if (!s->node) return 0;
  if (s->fenced)
    return fail(VIGIL_EBUSY, err, errlen, "site %s was taken by another node (epoch %s is past)", s->site, s->epoch);
  if (atomic_load(&s->self_fenced))
    return fail(VIGIL_EBUSY, err, errlen, "this node stopped acting for site %s: its lease was not renewed in time",
                s->site);
  if (s->broken[0]) return fail(VIGIL_ECORRUPT, err, errlen, "%s", s->broken);
  reconnect(s);
  char lease[32];
  snprintf(lease, sizeof lease, "%lld", (long long)s->lease_ms);
  const char *p[] = {s->site, s->node, s->epoch, lease};
  int rc = 0;
  PGresult *r = run(s,
                    "UPDATE vigil_sites SET lease_until = clock_timestamp() + $4::bigint * interval '1 millisecond' "
                    "WHERE site = $1 AND owner = $2 AND epoch = $3",
                    4, p, PGRES_COMMAND_OK, "cannot renew the lease", &rc, err, errlen);
  if (!r) return rc;
  if (strcmp(PQcmdTuples(r), "1") != 0) {
    s->fenced = 1;
    s->refusals++;
    rc = fail(VIGIL_EBUSY, err, errlen, "site %s was taken by another node (epoch %s is past)", s->site, s->epoch);
  }
  PQclear(r);
  char doing[160];
  snprintf(doing, sizeof doing, "site %s given up", s->site);
  if (rc == 0 && check_clock(s, doing, err, errlen) == VIGIL_ECLOCK) {
    /* The clock went off while this node owned the site: nothing more of
     * it is written here, and the lease is freed for a node whose clock is
     * right (it claims it at its next round). */
    atomic_store(&s->self_fenced, 1);
    const char *q[] = {s->site, s->epoch};
    char ignored[256];
    int grc = 0;
    PQclear(run(s, "UPDATE vigil_sites SET owner = NULL, lease_until = NULL WHERE site = $1 AND epoch = $2", 2, q,
                PGRES_COMMAND_OK, doing, &grc, ignored, sizeof ignored));
    rc = VIGIL_EBUSY;
  }
  return rc;
}

int64_t vigil__store_clock_offset(store *base) {
  return base && base->ops == &pg_ops ? ((pg_store *)base)->offset_ms : 0;
}

char *vigil__store_sites_json(store *base, char *err, size_t errlen) {
  if (base->ops != &pg_ops) return NULL;
  pg_store *s = (pg_store *)base;
  reconnect(s);
  int rc = 0;
  PGresult *r = run(s,
                    "SELECT COALESCE(json_agg(json_build_object('site', site, 'owner', owner, 'advertise', advertise, "
                    "'epoch', epoch, 'head_seq', head_seq, 'lease_ms', "
                    "(extract(epoch FROM lease_until - clock_timestamp()) * 1000)::bigint, 'taken_ms', "
                    "(extract(epoch FROM taken_at) * 1000)::bigint) ORDER BY site), '[]')::text FROM vigil_sites",
                    0, NULL, PGRES_TUPLES_OK, "cannot read the sites", &rc, err, errlen);
  if (!r) return NULL;
  char *out = strdup(PQgetvalue(r, 0, 0));
  PQclear(r);
  return out;
}

char *vigil__store_site_owner(store *base, const char *site, int *known) {
  if (known) *known = 1; /* unless the database says otherwise */
  if (base->ops != &pg_ops) return NULL;
  pg_store *s = (pg_store *)base;
  reconnect(s);
  const char *p[] = {site};
  PGresult *r = PQexecParams(s->c,
                             "SELECT CASE WHEN owner IS NOT NULL AND advertise IS NOT NULL "
                             "AND lease_until > clock_timestamp() THEN advertise END FROM vigil_sites WHERE site = $1",
                             1, NULL, p, NULL, NULL, 0);
  int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
  if (ok && known) *known = PQntuples(r) == 1;
  char *out = ok && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
  PQclear(r);
  return out;
}

void vigil__store_fence(store *base) {
  if (base && base->ops == &pg_ops) atomic_store(&((pg_store *)base)->self_fenced, 1);
}

uint64_t vigil__store_fence_refusals(store *base) {
  return base && base->ops == &pg_ops ? ((pg_store *)base)->refusals : 0;
}

store *vigil__store_pg_open(const char *uri, const store_site *where, int read_only, int *rc, char *err,
                            size_t errlen) {
  pg_store *s = calloc(1, sizeof *s);
  const char *site = where && where->site && *where->site ? where->site : "default";
  const char *node = where && where->node && *where->node ? where->node : NULL;
  const char *advertise = where && where->advertise ? where->advertise : NULL;
  if (!s || !(s->uri = strdup(uri)) || !(s->site = strdup(site)) || !(s->hasher = vigil__row_hasher_new()) ||
      (node && !(s->node = strdup(node))) || (advertise && !(s->advertise = strdup(advertise)))) {
    if (s) {
      free(s->uri);
      free(s->site);
      free(s->node);
      vigil__row_hasher_free(s->hasher);
    }
    free(s);
    *rc = fail(VIGIL_ENOMEM, err, errlen, "out of memory");
    return NULL;
  }
  s->lease_ms = where && where->lease_ms > 0 ? where->lease_ms : 10000;
  s->max_offset_ms = where && where->max_offset_ms > 0 ? where->max_offset_ms : 2000;
  s->base.ops = &pg_ops;
  s->read_only = read_only;
  char why[400];
  int permanent;
  s->c = vigil__pg_connect(uri, &permanent, why, sizeof why);
  if (!s->c) {
    *rc = fail(VIGIL_ENOMEM, err, errlen, "out of memory");
    goto fail;
  }
  describe(s);
  if (PQstatus(s->c) != CONNECTION_OK) {
    *rc = refused(s, permanent, why, err, errlen);
    goto fail;
  }
  PQclear(PQexec(s->c, "SET client_min_messages = warning"));
  if ((*rc = migrate(s, err, errlen)) < 0) goto fail;
  const char *p[] = {s->site};
  if (read_only) {
    /* One moment of the log for the reader's whole life. */
    if ((*rc = exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "cannot read the database", err, errlen)) < 0)
      goto fail;
    s->in_read = 1;
  } else {
    /* A node claims only sites that exist (C7 of issue 17's try: a typo in
     * --sites made a permanent empty site); vigil site add creates them.
     * The tools without a node (vigil user add: site default) still may. */
    if (!s->node) {
      PGresult *r = run(s, "INSERT INTO vigil_sites (site) VALUES ($1) ON CONFLICT DO NOTHING", 1, p, PGRES_COMMAND_OK,
                        "cannot open the database", rc, err, errlen);
      if (!r) goto fail;
      PQclear(r);
    }
    /* The site is this store's from its claim on: the head read below is
     * the one its appends follow. */
    if ((*rc = claim(s, err, errlen)) < 0) goto fail;
  }
  /* Where the site's chain ends: its head, and the last row must agree. */
  *rc = read_head(s, &s->head_seq, s->head, &s->max_alert, err, errlen);
  if (*rc == VIGIL_ENOENT && read_only) {
    *rc = 0; /* a site never written: an empty log */
  } else if (*rc < 0)
    goto fail;
  PGresult *r = run(s, "SELECT seq, hash FROM vigil_events WHERE site = $1 ORDER BY seq DESC LIMIT 1", 1, p,
                    PGRES_TUPLES_OK, "cannot open the database", rc, err, errlen);
  if (!r) goto fail;
  int has_row = PQntuples(r) == 1;
  uint64_t last_seq = has_row ? strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
  int same = has_row ? !strcmp(PQgetvalue(r, 0, 1), s->head) : s->head[0] == '\0';
  PQclear(r);
  if (last_seq != s->head_seq || !same) {
    *rc = fail(VIGIL_ECORRUPT, err, errlen, "%s: the event log ends at %llu but its head says %llu%s", s->where,
               (unsigned long long)last_seq, (unsigned long long)s->head_seq, same ? "" : " (a different hash)");
    goto fail;
  }
  if (read_only) {
    *rc = 0;
    return &s->base;
  }
  r = run(s,
          "UPDATE vigil_sites SET previous_stop = CASE WHEN state = 'running' THEN 'unclean' ELSE 'clean' END, "
          "state = 'running' WHERE site = $1",
          1, p, PGRES_COMMAND_OK, "cannot open the database", rc, err, errlen);
  if (!r) goto fail;
  PQclear(r);
  *rc = 0;
  s->opened = 1;
  return &s->base;
fail:
  pg_close(&s->base);
  return NULL;
}

int vigil__store_pg_add_site(const char *uri, const char *site, int *created, char *err, size_t errlen) {
  pg_store *s = calloc(1, sizeof *s);
  if (!s || !(s->site = strdup(site))) {
    free(s);
    return fail(VIGIL_ENOMEM, err, errlen, "out of memory");
  }
  s->base.ops = &pg_ops;
  char why[400];
  int permanent;
  s->c = vigil__pg_connect(uri, &permanent, why, sizeof why);
  int rc = 0;
  if (!s->c) {
    rc = fail(VIGIL_ENOMEM, err, errlen, "out of memory");
  } else if (describe(s), PQstatus(s->c) != CONNECTION_OK) {
    rc = refused(s, permanent, why, err, errlen);
  } else if ((rc = migrate(s, err, errlen)) == 0) {
    const char *p[] = {site};
    PGresult *r = run(s, "INSERT INTO vigil_sites (site) VALUES ($1) ON CONFLICT DO NOTHING RETURNING site", 1, p,
                      PGRES_TUPLES_OK, "cannot add the site", &rc, err, errlen);
    if (r) *created = PQntuples(r) == 1;
    PQclear(r);
  }
  pg_close(&s->base);
  return rc;
}

/* ---- vigil audit verify on PostgreSQL (store.h) ------------------------------------ */

/* What the log says of each visit of a site, as the store's visits table
 * derives it: 'a' started, 'c' ended (vigil__event_ends_visit), 0 never
 * started. Indexed by visit id (ids count from 1 per site). */
typedef struct visit_states {
  char *of;
  size_t cap;
  int oom;
} visit_states;

static int visit_state(void *ud, const vigil_event *ev) {
  visit_states *v = ud;
  int ends = ev->type != EV_VISIT_STARTED && vigil__event_ends_visit(ev);
  if (!ev->visit || (ev->type != EV_VISIT_STARTED && !ends)) return 0;
  if (ev->visit >= v->cap) {
    size_t cap = ev->visit + 1 > v->cap * 2 ? ev->visit + 1 : v->cap * 2;
    char *grown = realloc(v->of, cap);
    if (!grown) {
      v->oom = 1;
      return 1;
    }
    memset(grown + v->cap, 0, cap - v->cap);
    v->of = grown;
    v->cap = cap;
  }
  if (ends)
    v->of[ev->visit] = 'c';
  else if (!v->of[ev->visit])
    v->of[ev->visit] = 'a';
  return 0;
}

typedef struct verdict_pg {
  char *msg;
  size_t msglen;
  char *site;
  size_t sitelen;
  uint64_t *seq;
} verdict_pg;

static int tampered_pg(verdict_pg *v, const char *site, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int tampered_pg(verdict_pg *v, const char *site, uint64_t seq, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->msg, v->msglen, fmt, ap);
  va_end(ap);
  if (v->site) snprintf(v->site, v->sitelen, "%s", site ? site : "");
  if (v->seq) *v->seq = seq;
  return VIGIL_ECORRUPT;
}

/* One site's chain (gapless seq from 1, each row's prev the row before's
 * hash, its hash that of prev and body), its head, and its visits' table. */
static int verify_site(pg_store *s, const char *site, const char *head_seq, const char *head_hash, row_hasher *h,
                       uint64_t *events, verdict_pg *v) {
  char prev[65] = "", after[32] = "0";
  uint64_t expected = 1;
  visit_states vs = {0};
  int rc = 0;
  for (int more = 1; more && rc == 0;) {
    const char *p[] = {site, after};
    PGresult *r = run(s,
                      "SELECT seq, time, visit, type, body, prev, hash FROM vigil_events WHERE site = $1 AND seq > $2 "
                      "ORDER BY seq LIMIT 5000",
                      2, p, PGRES_TUPLES_OK, "cannot read the events", &rc, v->msg, v->msglen);
    if (!r) break;
    int rows = PQntuples(r);
    more = rows == 5000;
    for (int i = 0; i < rows && rc == 0; i++) {
      uint64_t seq = strtoull(PQgetvalue(r, i, 0), NULL, 10);
      const char *body = PQgetvalue(r, i, 4);
      char hash[65];
      if (seq != expected)
        rc = tampered_pg(v, site, expected, "site %s: event %llu is missing (the next is %llu)", site,
                         (unsigned long long)expected, (unsigned long long)seq);
      else if (strcmp(PQgetvalue(r, i, 5), prev))
        rc = tampered_pg(v, site, seq,
                         "site %s: event %llu does not follow the event before it (its prev is not "
                         "that event's hash)",
                         site, (unsigned long long)seq);
      else if (vigil__row_hash(h, prev, body, (size_t)PQgetlength(r, i, 4), hash) < 0)
        rc = fail(VIGIL_ENOMEM, v->msg, v->msglen, "cannot hash event %llu", (unsigned long long)seq);
      else if (strcmp(hash, PQgetvalue(r, i, 6)))
        rc = tampered_pg(v, site, seq, "site %s: event %llu was edited (its hash is not that of its body)", site,
                         (unsigned long long)seq);
      if (rc < 0) break;
      char why[256];
      if (vigil__event_row_deliver(seq, strtoll(PQgetvalue(r, i, 1), NULL, 10), strtoull(PQgetvalue(r, i, 2), NULL, 10),
                                   PQgetvalue(r, i, 3), body, visit_state, &vs, why, sizeof why) < 0)
        rc = tampered_pg(v, site, seq, "site %s: event %llu cannot be read: %s", site, (unsigned long long)seq, why);
      else if (vs.oom)
        rc = fail(VIGIL_ENOMEM, v->msg, v->msglen, "out of memory");
      memcpy(prev, hash, sizeof prev);
      expected++;
      snprintf(after, sizeof after, "%llu", (unsigned long long)seq);
    }
    PQclear(r);
  }
  *events += expected - 1;
  if (rc == 0 && (expected - 1 != strtoull(head_seq, NULL, 10) || strcmp(prev, head_hash)))
    rc = tampered_pg(v, site, expected - 1, "site %s: the log ends at event %llu but the site's head says %s%s", site,
                     (unsigned long long)(expected - 1), head_seq, strcmp(prev, head_hash) ? " (another hash)" : "");
  /* The visits' table is what the log makes it. */
  const char *p[] = {site};
  PGresult *r = rc == 0 ? run(s, "SELECT id, status FROM vigil_visits WHERE site = $1 ORDER BY id", 1, p,
                              PGRES_TUPLES_OK, "cannot read the visits", &rc, v->msg, v->msglen)
                        : NULL;
  size_t rows = r ? (size_t)PQntuples(r) : 0, started = 0;
  for (size_t i = 0; i < vs.cap; i++)
    started += vs.of[i] != 0;
  for (size_t i = 0; r && i < rows && rc == 0; i++) {
    uint64_t id = strtoull(PQgetvalue(r, (int)i, 0), NULL, 10);
    char want = id < vs.cap ? vs.of[id] : 0;
    const char *status = PQgetvalue(r, (int)i, 1);
    if (!want)
      rc = tampered_pg(v, site, 0, "site %s: visit %llu is in the visits table but the log never started it", site,
                       (unsigned long long)id);
    else if ((want == 'a') != !strcmp(status, "active"))
      rc = tampered_pg(v, site, 0, "site %s: visit %llu is %s in the visits table but %s by the log", site,
                       (unsigned long long)id, status, want == 'a' ? "open" : "closed");
  }
  if (r && rc == 0 && rows != started)
    rc = tampered_pg(v, site, 0, "site %s: the log started %zu visits but the visits table has %zu", site, started,
                     rows);
  PQclear(r);
  free(vs.of);
  return rc;
}

/* The first row of a query that finds a difference: 1 with r kept, 0, or < 0. */
static int first_row(pg_store *s, const char *sql, PGresult **r, verdict_pg *v) {
  int rc = 0;
  *r = run(s, sql, 0, NULL, PGRES_TUPLES_OK, "cannot read the database", &rc, v->msg, v->msglen);
  if (!*r) return rc;
  if (PQntuples(*r) > 0) return 1;
  PQclear(*r);
  *r = NULL;
  return 0;
}

/* The users' rows are what the log made them (docs/security.md T6): each
 * row created by a user.created event with its role, each created user
 * there, and (disabled) disabled as the last user.changed that set it says
 * (the last by the events' times: the sites' logs have no common order). */
static int verify_users(pg_store *s, int disabled, verdict_pg *v) {
  PGresult *r;
  int rc =
      first_row(s,
                "SELECT k.key, convert_from(k.value, 'UTF8')::jsonb ->> 'role' FROM vigil_kv k WHERE k.ns = 'user' "
                "AND NOT EXISTS (SELECT 1 FROM vigil_events e WHERE e.type = 'user.created' AND "
                "(e.body::jsonb) -> 'data' ->> 'user' = k.key AND (e.body::jsonb) -> 'data' ->> 'role' IS NOT "
                "DISTINCT FROM convert_from(k.value, 'UTF8')::jsonb ->> 'role') ORDER BY k.key LIMIT 1",
                &r, v);
  if (rc == 1)
    rc = tampered_pg(v, NULL, 0,
                     "the derived state was edited: user %s (role %s) is in the users table but no site's log has a "
                     "user.created event for them with that role",
                     PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
  PQclear(r);
  if (rc != 0) return rc;
  rc = first_row(s,
                 "SELECT e.site, e.seq, (e.body::jsonb) -> 'data' ->> 'user' FROM vigil_events e WHERE e.type = "
                 "'user.created' AND NOT EXISTS (SELECT 1 FROM vigil_kv k WHERE k.ns = 'user' AND k.key = "
                 "(e.body::jsonb) -> 'data' ->> 'user') ORDER BY e.time, e.site, e.seq LIMIT 1",
                 &r, v);
  if (rc == 1)
    rc = tampered_pg(v, PQgetvalue(r, 0, 0), strtoull(PQgetvalue(r, 0, 1), NULL, 10),
                     "the derived state was edited: event %s of site %s created user %s, who is missing from the "
                     "users table",
                     PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2));
  PQclear(r);
  if (rc != 0 || !disabled) return rc;
  rc = first_row(s,
                 "SELECT name, has, want FROM (SELECT k.key AS name, CASE WHEN (convert_from(k.value, 'UTF8')::jsonb "
                 "->> 'disabled')::boolean THEN 'disabled' ELSE 'enabled' END AS has, COALESCE((SELECT CASE WHEN "
                 "((e.body::jsonb) -> 'data' ->> 'disabled')::boolean THEN 'disabled' ELSE 'enabled' END FROM "
                 "vigil_events e WHERE e.type = 'user.changed' AND (e.body::jsonb) -> 'data' ->> 'user' = k.key AND "
                 "(e.body::jsonb) -> 'data' ->> 'disabled' IS NOT NULL ORDER BY e.time DESC, e.seq DESC LIMIT 1), "
                 "'enabled') AS want FROM vigil_kv k WHERE k.ns = 'user') f WHERE has <> want ORDER BY name LIMIT 1",
                 &r, v);
  if (rc == 1)
    rc = tampered_pg(v, NULL, 0,
                     "the derived state was edited: user %s is %s in the users table but the log makes "
                     "them %s",
                     PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
  PQclear(r);
  return rc;
}

static void first_problem(void *ud, const char *where, const char *message) {
  char *out = ud;
  (void)where;
  if (!out[0]) snprintf(out, 160, "%s", message);
}

/* Every folder of uploads_dir (what vigil serve loads at start) is the
 * sources a protocol.uploaded event of some site recorded (docs/security.md
 * Y1). */
static int verify_uploads(pg_store *s, const char *uploads_dir, verdict_pg *v) {
  DIR *d = uploads_dir ? opendir(uploads_dir) : NULL;
  if (!d) return 0;
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char folder[4400], problem[160] = "";
    snprintf(folder, sizeof folder, "%s/%s", uploads_dir, de->d_name);
    protocol *p = vigil__protocol_load(folder, 0, 0, first_problem, problem);
    if (!p) {
      rc = tampered_pg(v, NULL, 0, "the upload folder %s (%s) does not load (%s)", de->d_name, folder, problem);
      break;
    }
    const char *params[] = {de->d_name, p->sha256};
    PGresult *r = run(s,
                      "SELECT site, seq, (body::jsonb) -> 'data' ->> 'sha256' = $2 FROM vigil_events WHERE type = "
                      "'protocol.uploaded' AND (body::jsonb) -> 'data' ->> 'ref' = $1 ORDER BY 3 DESC, time LIMIT 1",
                      2, params, PGRES_TUPLES_OK, "cannot read the events", &rc, v->msg, v->msglen);
    if (r && PQntuples(r) == 0)
      rc = tampered_pg(v, NULL, 0,
                       "the upload folder %s (%s) was not uploaded: no protocol.uploaded event records it (placed "
                       "there by hand?); remove it or upload the version",
                       de->d_name, folder);
    else if (r && strcmp(PQgetvalue(r, 0, 2), "t"))
      rc = tampered_pg(v, PQgetvalue(r, 0, 0), strtoull(PQgetvalue(r, 0, 1), NULL, 10),
                       "the upload %s (%s) was edited on disk: its sources are not the ones event %s of site %s "
                       "recorded as uploaded (now %.12s...)",
                       de->d_name, folder, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0), p->sha256);
    PQclear(r);
    vigil__protocol_free(p);
  }
  closedir(d);
  return rc;
}

int vigil__store_pg_verify(const char *uri, const char *uploads_dir, int chains, uint64_t *events, char *bad_site,
                           size_t bad_len, uint64_t *bad_seq, char *msg, size_t msglen) {
  pg_store s = {.site = "every site"};
  verdict_pg v = {msg, msglen, bad_site, bad_len, bad_seq};
  uint64_t n = 0, sites = 0;
  if (events) *events = 0;
  if (bad_site && bad_len) bad_site[0] = '\0';
  if (bad_seq) *bad_seq = 0;
  /* The events are read as the engine reads them (their keys interned),
   * with or without an engine alive in this process. */
  if (vigil__intern_retain() < 0) return fail(VIGIL_ENOMEM, msg, msglen, "out of memory");
  s.c = PQconnectdb(uri);
  if (!s.c) {
    vigil__intern_release();
    return fail(VIGIL_ENOMEM, msg, msglen, "out of memory");
  }
  const char *host = PQhost(s.c), *port = PQport(s.c), *db = PQdb(s.c);
  snprintf(s.where, sizeof s.where, "PostgreSQL %s:%s/%s", host && *host ? host : "local", port ? port : "",
           db ? db : "");
  int rc = 0;
  if (PQstatus(s.c) != CONNECTION_OK) {
    char why[400];
    first_line(PQerrorMessage(s.c), why, sizeof why);
    rc = fail(VIGIL_EIO, msg, msglen, "cannot connect to %s: %s", s.where, why);
    goto out;
  }
  PQclear(PQexec(s.c, "SET client_min_messages = warning"));
  s.read_only = 1;
  /* One moment of every site's log: the nodes go on writing meanwhile. */
  if ((rc = migrate(&s, msg, msglen)) < 0 ||
      (rc = exec(&s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "cannot read the database", msg, msglen)) < 0)
    goto out;
  PGresult *r = chains ? run(&s, "SELECT site, head_seq, head_hash FROM vigil_sites ORDER BY site", 0, NULL,
                             PGRES_TUPLES_OK, "cannot read the sites", &rc, msg, msglen)
                       : NULL;
  row_hasher *h = r ? vigil__row_hasher_new() : NULL;
  if (r && !h) rc = fail(VIGIL_ENOMEM, msg, msglen, "out of memory");
  for (int i = 0; r && i < PQntuples(r) && rc == 0; i++, sites++)
    rc = verify_site(&s, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), h, &n, &v);
  vigil__row_hasher_free(h);
  PQclear(r);
  if (rc == 0 && chains && !sites) rc = fail(VIGIL_ENOENT, msg, msglen, "%s has no site yet", s.where);
  if (rc == 0) rc = verify_users(&s, chains, &v);
  if (rc == 0) rc = verify_uploads(&s, uploads_dir, &v);
  if (rc == 0 && chains)
    snprintf(msg, msglen, "%llu site%s, %llu event%s, every chain intact", (unsigned long long)sites,
             sites == 1 ? "" : "s", (unsigned long long)n, n == 1 ? "" : "s");
  else if (rc == 0)
    snprintf(msg, msglen, "the users and the upload folders match the log");
  if (events) *events = n;
out:
  PQfinish(s.c);
  vigil__intern_release();
  return rc;
}

store *vigil__store_open(const char *where, const store_site *site, const char *vfs, int read_only, int *rc, char *err,
                         size_t errlen) {
  if (vigil__store_is_pg(where)) return vigil__store_pg_open(where, site, read_only, rc, err, errlen);
  return read_only ? vigil__store_sqlite_read(where, vfs, rc, err, errlen)
                   : vigil__store_sqlite_open(where, vfs, rc, err, errlen);
}
