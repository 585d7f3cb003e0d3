/* test_crash.c: kill -9 at random moments loses nothing acknowledged.
 *
 * Each round forks a child that opens the engine on one SQLite file (the
 * same file every round, so the log grows and recovery runs again and again)
 * and runs a write load from many visits on the simulated clock: visits
 * start, record vitals (some raise alerts), advance, are discharged or
 * aborted, alerts are acknowledged, time moves and deadlines fire; commands
 * run one by one or in batches of varying size (vigil_engine_begin/commit:
 * one transaction each, group commit); protocol versions are approved (a
 * site event whose approval row the store writes in the same transaction)
 * and users created (a site event carrying the user's row, written in its
 * transaction); verify after each kill finds neither without the other. The child reports on a pipe (one
 * write() per message, atomic):
 *   - EV seq fnv: an event it heard from the bus (published only once
 *     durable), with a hash of its canonical JSON;
 *   - TAG tag n: the transaction about to commit holds n recordings carrying
 *     the number `tag` (each recording carries its transaction's tag);
 *   - ACK seq tag: a command or commit returned 0 (acknowledged), with the
 *     highest seq heard then and its transaction's tag (0: none).
 * The parent kills it with SIGKILL after a random delay, then checks the
 * file with plain SQLite (db_check.c): integrity_check ok, seqs 1..n without
 * a gap, the hash chain, the store's bookkeeping; every acknowledged seq is
 * there, every event heard is there byte for byte, and every tag in the log
 * has exactly as many recordings as its transaction held (a transaction is
 * all or nothing), all of them when it was acknowledged; vigil_audit_verify
 * (`vigil audit verify`) passes. Then it opens an
 * engine on the file (recovery must succeed), at the time of the last event
 * or half an hour later, and checks that every open visit is back, that
 * every deadline due by then has fired (the next one is later), that visits
 * with a scheduled item have their deadline armed, and after the half hour
 * that each visit under observation got its overdue checkpoint; a clean
 * restart then gives back every open visit exactly (its JSON state). The
 * next child goes on from there.
 *
 * 60 kills by default (about 20 s on 2 cores); `test_crash --long` or
 * VIGIL_CRASH_LONG=1: 1,000 (about 4 min). VIGIL_CRASH_KILLS=n sets the
 * number, VIGIL_CRASH_SEED=s the seed (printed at start and at the end; it
 * fixes the load's choices and the delays, while where a delay lands
 * depends on timing). Under AddressSanitizer 30 kills; under valgrind
 * (VIGIL_TEST_SLOW) 6, with longer delays.
 *
 * Also: a second engine refused on a file this process has open costs the
 * first one nothing (its commits survive a crash although another process
 * opened and closed the file meanwhile). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "db_check.h"
#include "engine/site.h"
#include "store/event.h"
#include "vigil/vigil.h"

#define T0 1767600000000LL
#define MINUTE 60000LL

static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'crash' { version = '1.0.0', defaults = { escalate = '4m', grace = '2m' }, phases = {\n"
    "  v.phase 'obs' { items = {\n"
    "    v.check 'consent' {},\n"
    "    v.number 'tag' { unit = '1', range = { 0, 1e15 }, required = false },\n"
    "    v.vitals 'vitals' { fields = { 'sbp', 'hr' }, at = '5m', every = '5m',\n"
    "      rule = function(x) if x.sbp > 160 then return v.alert.high('SBP high') end end },\n"
    "  } },\n"
    "  v.phase 'rest' { duration = { max = '20m' }, items = {\n"
    "    v.number 'tag' { unit = '1', range = { 0, 1e15 }, required = false },\n"
    "    v.check 'done' {},\n"
    "  } } } }\n";

/* ---- settings -------------------------------------------------------------- */

/* Under AddressSanitizer every round is about twice as slow: half the kills
 * (the normal build's run is the one with at least 50). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static struct {
  int kills;
  uint64_t seed;
  int slow;       /* valgrind */
  int full_every; /* recompute the whole chain every n rounds (else from the last checked row) */
  char root[64], protocol[128], db[128];
} cfg;

#define TAG_ROUND 1000000ULL /* tag = round * TAG_ROUND + transaction number */

/* ---- messages -------------------------------------------------------------- */

enum { MSG_OPEN = 1, MSG_EV, MSG_TAG, MSG_ACK, MSG_CLOSING };

typedef struct msg {
  uint32_t kind, pad;
  uint64_t a, b;
} msg;

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h;
}

/* ---- the child: a write load ----------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 2685821657736338717ULL;
}

static uint64_t below(uint64_t *s, uint64_t n) { return n ? rng_next(s) % n : 0; }

#define MAX_OPEN 48
#define MAX_ALERTS 256

typedef struct load {
  vigil_engine *e;
  int fd;
  uint64_t rng;
  uint64_t round, tx;       /* transactions so far: tag = round * TAG_ROUND + tx */
  uint64_t heard;           /* highest seq heard on the bus */
  uint64_t visit[MAX_OPEN]; /* open visits (durable view) */
  int rest[MAX_OPEN];       /* in the second phase */
  int n_open;
  uint64_t alert[MAX_ALERTS]; /* open alerts (durable view) */
  int n_alerts;
  int64_t now;
  uint64_t patients;
} load;

static void child_die(const char *what, vigil_engine *e, int rc) {
  fprintf(stderr, "test_crash child: %s: %s (%s)\n", what, e ? vigil_engine_errmsg(e) : "", vigil_err_name(rc));
  _exit(3);
}

static void send_msg(load *l, uint32_t kind, uint64_t a, uint64_t b) {
  msg m = {kind, 0, a, b};
  const char *p = (const char *)&m;
  size_t left = sizeof m;
  while (left) { /* one write in practice: sizeof m < PIPE_BUF is atomic */
    ssize_t n = write(l->fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(4); /* the parent is gone */
    p += n;
    left -= (size_t)n;
  }
}

static int find_visit(load *l, uint64_t id) {
  for (int i = 0; i < l->n_open; i++)
    if (l->visit[i] == id) return i;
  return -1;
}

static void drop_alert(load *l, uint64_t id) {
  for (int i = 0; i < l->n_alerts; i++)
    if (l->alert[i] == id) {
      l->alert[i] = l->alert[--l->n_alerts];
      return;
    }
}

/* Follows what is durable: open visits and their phase, open alerts. */
static void track(load *l, const vigil_event *ev, const char *json) {
  const char *type = vigil_event_type(ev);
  uint64_t visit = vigil_event_visit(ev);
  if (!strcmp(type, "visit.started")) {
    if (l->n_open < MAX_OPEN) {
      l->visit[l->n_open] = visit;
      l->rest[l->n_open++] = 0;
    }
  } else if (!strcmp(type, "phase.entered")) {
    int i = find_visit(l, visit);
    if (i >= 0) l->rest[i] = 1;
  } else if (!strcmp(type, "visit.discharged") || !strcmp(type, "visit.aborted")) {
    int i = find_visit(l, visit);
    if (i >= 0) {
      l->visit[i] = l->visit[--l->n_open];
      l->rest[i] = l->rest[l->n_open];
    }
  } else if (!strncmp(type, "alert.", 6)) {
    const char *p = strstr(json, "\"alert\":");
    uint64_t id = p ? strtoull(p + 8, NULL, 10) : 0;
    if (!strcmp(type, "alert.raised") && l->n_alerts < MAX_ALERTS)
      l->alert[l->n_alerts++] = id;
    else if (!strcmp(type, "alert.acknowledged") || !strcmp(type, "alert.resolved"))
      drop_alert(l, id);
  }
}

static int on_event(void *ud, const vigil_event *ev) {
  load *l = ud;
  char *json = vigil_event_json(l->e, ev);
  if (!json) _exit(5);
  uint64_t seq = vigil_event_seq(ev);
  if (seq != l->heard + 1) {
    fprintf(stderr, "test_crash child: heard seq %" PRIu64 " after %" PRIu64 "\n", seq, l->heard);
    _exit(3);
  }
  l->heard = seq;
  send_msg(l, MSG_EV, seq, fnv1a(json, strlen(json)));
  track(l, ev, json);
  free(json);
  return 0;
}

/* Where things stand when the child starts: the open visits and their phase,
 * their open alerts, the last seq (read with SQLite: scanning the whole log
 * through the engine would make each start slower as the log grows). */
static void catch_up(load *l) {
  sqlite3 *db;
  sqlite3_stmt *st;
  if (sqlite3_open_v2(cfg.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) child_die("catch up", NULL, 0);
  const char *sql[] = {
      "SELECT COALESCE(MAX(seq), 0) FROM events",
      "SELECT v.id, EXISTS (SELECT 1 FROM events e WHERE e.visit = v.id AND e.type = 'phase.entered') "
      "FROM visits v WHERE v.status = 'active' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.visit = v.id AND "
      "e.type = 'visit.aborted')", /* aborted with active alerts: still folded at start (G3), not open */
      "SELECT json_extract(body, '$.data.alert') FROM events WHERE type = 'alert.raised' AND visit IN "
      "(SELECT id FROM visits WHERE status = 'active') EXCEPT SELECT json_extract(body, '$.data.alert') FROM events "
      "WHERE type IN ('alert.acknowledged', 'alert.resolved') AND visit IN (SELECT id FROM visits WHERE status = "
      "'active')",
  };
  for (int q = 0; q < 3; q++) {
    if (sqlite3_prepare_v2(db, sql[q], -1, &st, NULL) != SQLITE_OK) child_die(sqlite3_errmsg(db), NULL, 0);
    while (sqlite3_step(st) == SQLITE_ROW) {
      uint64_t x = (uint64_t)sqlite3_column_int64(st, 0);
      if (q == 0)
        l->heard = x;
      else if (q == 1 && l->n_open < MAX_OPEN) {
        l->visit[l->n_open] = x;
        l->rest[l->n_open++] = sqlite3_column_int(st, 1);
      } else if (q == 2 && l->n_alerts < MAX_ALERTS)
        l->alert[l->n_alerts++] = x;
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
}

/* Refusals the load can meet by itself (a batch moves a visit on before a
 * later command of the same batch, a gate holds): fine. Anything else is a
 * failure of the engine. */
static int refused(int rc) { return rc == VIGIL_ESTATE || rc == VIGIL_EGATE || rc == VIGIL_ENOENT; }

static void check(load *l, const char *what, int rc) {
  if (rc < 0 && !refused(rc)) child_die(what, l->e, rc);
}

/* One command. tag: the transaction's tag for recordings; returns how many
 * recordings carrying it the command made (0 or 1). */
static int one_command(load *l, uint64_t tag) {
  vigil_engine *e = l->e;
  uint64_t r = below(&l->rng, 100);
  int i = l->n_open ? (int)below(&l->rng, (uint64_t)l->n_open) : -1;
  char json[256];
  int rc;
  if (i < 0 || (l->n_open < MAX_OPEN - 8 && r < 8) || l->n_open < 4) {
    char patient[32];
    snprintf(patient, sizeof patient, "chair-%" PRIu64, ++l->patients);
    uint64_t id;
    check(l, "start", vigil_visit_start(e, "crash", patient, "nurse:ana", NULL, &id));
    return 0;
  }
  uint64_t v = l->visit[i];
  if (r < 50) {
    if (l->rest[i])
      snprintf(json, sizeof json, "{\"tag\": %" PRIu64 ", \"done\": true}", tag);
    else
      snprintf(json, sizeof json, "{\"tag\": %" PRIu64 ", \"vitals\": {\"sbp\": %d, \"hr\": %d}}", tag,
               100 + (int)below(&l->rng, 70), 55 + (int)below(&l->rng, 50));
    rc = vigil_visit_record_json(e, v, "nurse:ana", json);
    check(l, "record", rc);
    return rc == 0;
  }
  if (r < 56) {
    snprintf(json, sizeof json, "{\"tag\": %" PRIu64 ", \"consent\": true}", tag);
    if (l->rest[i]) snprintf(json, sizeof json, "{\"tag\": %" PRIu64 "}", tag);
    rc = vigil_visit_record_json(e, v, "nurse:ben", json);
    check(l, "record", rc);
    return rc == 0;
  }
  if (r < 64) {
    check(l, "advance", vigil_visit_advance(e, v, "nurse:ana"));
    return 0;
  }
  if (r < 68) {
    check(l, "override", vigil_visit_override(e, v, "dr:kim", "reviewed"));
    return 0;
  }
  if (r < 71) {
    check(l, "abort", vigil_visit_abort(e, v, "nurse:ana", "patient left"));
    return 0;
  }
  if (r < 82) {
    if (l->n_alerts) {
      uint64_t a = l->alert[below(&l->rng, (uint64_t)l->n_alerts)];
      rc = vigil_alert_ack(e, a, "nurse:ana", below(&l->rng, 2) ? "seen" : NULL);
      check(l, "ack", rc);
      if (rc < 0) drop_alert(l, a);
    }
    return 0;
  }
  if (r < 85) {
    /* An approval of a protocol version: the store writes its row in the
     * event's own transaction, so that verify (after every kill) finds
     * neither without the other. */
    char sha[65], fields[160];
    uint64_t x = rng_next(&l->rng);
    snprintf(sha, sizeof sha, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, x, tag, x ^ tag, l->now);
    snprintf(fields, sizeof fields, "{\"ref\":\"crash@1.%" PRIu64 ".0\",\"sha256\":\"%s\"}", tag, sha);
    check(l, "approve", vigil_site_event(e, "protocol.approved", "admin.a", fields));
    /* A user's creation: its row goes with its event, in its transaction
     * (vigil__site_event_writes), so that verify finds neither without the
     * other either. */
    char name[48], row[128];
    snprintf(name, sizeof name, "u%016" PRIx64, x);
    snprintf(fields, sizeof fields, "{\"user\":\"%s\",\"role\":\"nurse\"}", name);
    snprintf(row, sizeof row, "{\"role\":\"nurse\",\"hash\":\"-\",\"disabled\":false,\"created_ms\":%" PRId64 "}",
             l->now);
    store_kv_write *w = NULL;
    if (vigil__kv_write_add(&w, "user", name, row, strlen(row)) < 0) child_die("user row", e, VIGIL_ENOMEM);
    check(l, "user", vigil__site_event_writes(e, "user.created", "admin.a", fields, w));
    return 0;
  }
  l->now += 1000 * (int64_t)(1 + below(&l->rng, 90));
  check(l, "advance_to", vigil_engine_advance_to(e, l->now));
  return 0;
}

static void quiet(void *ud, vigil_log_level level, const char *m) {
  if (level == VIGIL_LOG_ERROR) fprintf(stderr, "test_crash child: engine: %s\n", m);
}

/* Opens the engine (recovery) and says so; after a restart within the child,
 * first reports what the recovery wrote (durable: it committed). */
static void child_open(load *l) {
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = l->now, .db_path = cfg.db, .log = quiet};
  int rc = vigil_engine_new(&o, &l->e);
  if (rc < 0) child_die("open", l->e, rc);
  if (!l->heard)
    catch_up(l);
  else if ((rc = vigil_engine_events(l->e, l->heard, on_event, l)) < 0)
    child_die("events", l->e, rc);
  send_msg(l, MSG_OPEN, l->heard, 0);
  send_msg(l, MSG_ACK, l->heard, 0);
  if ((rc = vigil_engine_load(l->e, cfg.protocol, NULL)) < 0) child_die("load", l->e, rc);
  if (vigil_engine_subscribe(l->e, "*", on_event, l) <= 0) child_die("subscribe", l->e, 0);
}

static void child_run(int fd, uint64_t round, uint64_t seed, int64_t start) {
  static load l; /* static: the child is a fresh process image in all but name */
  memset(&l, 0, sizeof l);
  l.fd = fd;
  l.round = round;
  l.rng = seed * 0x9e3779b97f4a7c15ULL + round + 1;
  l.now = start;
  l.patients = round * 1000;
  child_open(&l);
  time_t t0 = time(NULL);
  int rc;
  for (;;) {
    if (getppid() == 1 || time(NULL) - t0 > 120) _exit(0); /* orphaned: the parent died */
    uint64_t tag = round * TAG_ROUND + ++l.tx;
    uint64_t what = below(&l.rng, 1000);
    if (what < 6) {
      /* Now and then a clean stop and a start within the child: kills also
       * fall while the store closes and opens. */
      send_msg(&l, MSG_CLOSING, l.heard, 0);
      vigil_engine_free(l.e);
      child_open(&l);
    } else if (what < 400) {
      /* A batch: 2-32 commands, one transaction. */
      int n = 2 + (int)below(&l.rng, 31), records = 0;
      vigil_engine_begin(l.e);
      for (int k = 0; k < n; k++)
        records += one_command(&l, tag);
      send_msg(&l, MSG_TAG, tag, (uint64_t)records);
      if ((rc = vigil_engine_commit(l.e)) < 0) child_die("commit", l.e, rc);
      send_msg(&l, MSG_ACK, l.heard, tag);
    } else {
      /* One command, its own transaction: a recording is declared before. */
      send_msg(&l, MSG_TAG, tag, 1);
      if (one_command(&l, tag))
        send_msg(&l, MSG_ACK, l.heard, tag);
      else
        send_msg(&l, MSG_ACK, l.heard, 0);
    }
  }
}

/* ---- the parent: kill, check, recover -------------------------------------- */

typedef struct round_log {
  uint64_t round;
  int opened;        /* the child got as far as opening the engine */
  int running;       /* ... and was not closing it (the store is marked running) */
  int restarts;      /* clean stops and starts within the child */
  uint64_t open_seq; /* the last seq when it had opened */
  uint64_t acked;    /* the highest acknowledged seq */
  uint64_t ev_base;  /* ev[i] is the hash of seq ev_base + 1 + i */
  uint64_t *ev;
  size_t n_ev, cap_ev;
  uint64_t *declared; /* declared[tx]: recordings of transaction tx, +1 (0: not declared) */
  uint8_t *acked_tx;
  uint64_t *found; /* found[tx]: recordings carrying its tag in the log */
  size_t cap_tx;
  uint64_t max_tx;
} round_log;

typedef struct totals {
  int kills, killed_opening, torn_batches_absent, unacked_present, acked_tx, restarts, hot_journals;
  uint64_t events, recovered_visits, overdue_checked;
  double check_s, reopen_s;
} totals;

static void grow_tx(round_log *r, uint64_t tx) {
  if (tx < r->cap_tx) return;
  size_t cap = r->cap_tx ? r->cap_tx : 1024;
  while (cap <= tx)
    cap *= 2;
  r->declared = realloc(r->declared, cap * sizeof *r->declared);
  r->acked_tx = realloc(r->acked_tx, cap);
  r->found = realloc(r->found, cap * sizeof *r->found);
  assert_non_null(r->declared);
  assert_non_null(r->acked_tx);
  assert_non_null(r->found);
  memset(r->declared + r->cap_tx, 0, (cap - r->cap_tx) * sizeof *r->declared);
  memset(r->acked_tx + r->cap_tx, 0, cap - r->cap_tx);
  memset(r->found + r->cap_tx, 0, (cap - r->cap_tx) * sizeof *r->found);
  r->cap_tx = cap;
}

static void take_msg(round_log *r, const msg *m) {
  switch (m->kind) {
  case MSG_OPEN:
    if (!r->opened) r->open_seq = r->ev_base = m->a;
    r->opened = r->running = 1;
    break;
  case MSG_CLOSING:
    r->running = 0;
    r->restarts++;
    break;
  case MSG_EV:
    if (m->a != r->ev_base + 1 + r->n_ev)
      fail_msg("round %" PRIu64 ": heard seq %" PRIu64 " out of order", r->round, m->a);
    if (r->n_ev == r->cap_ev) {
      r->cap_ev = r->cap_ev ? r->cap_ev * 2 : 4096;
      assert_non_null(r->ev = realloc(r->ev, r->cap_ev * sizeof *r->ev));
    }
    r->ev[r->n_ev++] = m->b;
    break;
  case MSG_TAG: {
    uint64_t tx = m->a - r->round * TAG_ROUND;
    grow_tx(r, tx);
    r->declared[tx] = m->b + 1;
    if (tx > r->max_tx) r->max_tx = tx;
    break;
  }
  case MSG_ACK:
    if (m->a > r->acked) r->acked = m->a;
    if (m->b) {
      uint64_t tx = m->b - r->round * TAG_ROUND;
      grow_tx(r, tx);
      r->acked_tx[tx] = 1;
    }
    break;
  default:
    fail_msg("round %" PRIu64 ": unknown message %u", r->round, m->kind);
  }
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what the child says until the deadline (ms, monotonic; -1: none), or
 * EOF (returns 1), or with until_open once the child has opened the engine. */
static int read_msgs(int fd, round_log *r, char *pend, size_t *npend, int64_t until_ms, int until_open) {
  for (;;) {
    if (until_open && r->opened) return 0;
    int timeout = -1;
    if (until_ms >= 0) {
      int64_t now = mono_ms();
      if (now >= until_ms) return 0;
      timeout = (int)(until_ms - now);
    }
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return 0;
    ssize_t got = read(fd, pend + *npend, 65536 - *npend);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return 1; /* EOF: the child is gone */
    *npend += (size_t)got;
    size_t off = 0;
    for (; *npend - off >= sizeof(msg); off += sizeof(msg)) {
      msg m;
      memcpy(&m, pend + off, sizeof m);
      take_msg(r, &m);
    }
    memmove(pend, pend + off, *npend - off);
    *npend -= off;
  }
}

typedef struct row_ctx {
  round_log *r;
  uint64_t checked; /* rows up to this one were looked at in earlier rounds */
} row_ctx;

/* Every new row: heard events byte for byte, recordings counted by tag. */
static int on_row(void *ud, uint64_t seq, int64_t time, uint64_t visit, const char *type, const char *body,
                  db_report *rep) {
  round_log *r = ((row_ctx *)ud)->r;
  if (seq <= ((row_ctx *)ud)->checked) return 0;
  if (seq > r->ev_base && seq <= r->ev_base + r->n_ev && r->opened) {
    uint64_t h = fnv1a(body, strlen(body));
    if (h != r->ev[seq - r->ev_base - 1]) {
      snprintf(rep->error, sizeof rep->error, "row %" PRIu64 " is not the event the child heard: %.200s", seq, body);
      return 1;
    }
  }
  if (!strcmp(type, "item.recorded")) {
    const char *p = strstr(body, "\"tag\":");
    if (p) {
      uint64_t tag = (uint64_t)strtod(p + 6, NULL);
      if (tag / TAG_ROUND != r->round) {
        snprintf(rep->error, sizeof rep->error, "row %" PRIu64 " carries tag %" PRIu64 " of another round", seq, tag);
        return 1;
      }
      uint64_t tx = tag % TAG_ROUND;
      grow_tx(r, tx);
      r->found[tx]++;
    }
  }
  return 0;
}

static double seconds_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

typedef struct open_visit {
  uint64_t id;
  /* Still in the first phase, whose vitals are due every 5 minutes, and
   * its schedule not stopped (K8: after missed checkpoints it stops, and
   * once its alert has escalated to the last level nothing more is due). */
  int obs;
} open_visit;

/* The open visits, as the file says. */
static size_t open_visits(open_visit **out) {
  size_t n = 0, cap = 64;
  open_visit *v = malloc(cap * sizeof *v);
  *out = v;
  if (access(cfg.db, F_OK) < 0) return 0; /* killed before the first start created it */
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(cfg.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db,
                         "SELECT v.id, NOT EXISTS (SELECT 1 FROM events e WHERE e.visit = v.id AND "
                         "(e.type = 'phase.entered' OR (e.type = 'alert.raised' AND "
                         "json_extract(e.body, '$.data.key') LIKE 'unmonitored:%'))) "
                         "FROM visits v WHERE v.status = 'active' AND NOT EXISTS "
                         "(SELECT 1 FROM events e WHERE e.visit = v.id AND e.type = 'visit.aborted') ORDER BY v.id",
                         -1, &st, NULL) != SQLITE_OK) {
    /* Killed before the first start committed the schema, or while it
     * switched the file to WAL (db_check saw it): there is nothing yet. */
    if (!strstr(sqlite3_errmsg(db), "no such table") && sqlite3_extended_errcode(db) != SQLITE_READONLY_ROLLBACK)
      fail_msg("%s: %s", cfg.db, sqlite3_errmsg(db));
    sqlite3_close(db);
    return 0;
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
    v[n].id = (uint64_t)sqlite3_column_int64(st, 0);
    v[n++].obs = sqlite3_column_int(st, 1);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  *out = v;
  return n;
}

/* How many events of `type` for `visit` the file holds after seq. */
static int count_after(sqlite3 *db, uint64_t after, uint64_t visit, const char *type) {
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM events WHERE seq > ? AND visit = ? AND type = ?", -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)visit);
  sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
  int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  return n;
}

/* Whether the visit's schedule stopped after its missed checkpoints (K8). */
static int unmonitored(sqlite3 *db, uint64_t visit) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT COUNT(*) FROM events WHERE visit = ? AND type = 'alert.raised' "
                                      "AND json_extract(body, '$.data.key') LIKE 'unmonitored:%'",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, (sqlite3_int64)visit);
  int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  return n > 0;
}

static void quiet_parent(void *ud, vigil_log_level level, const char *m) {
  if (level == VIGIL_LOG_ERROR) fprintf(stderr, "test_crash: engine: %s\n", m);
}

/* Opens an engine on the file at `at` (recovery), checks what it rebuilt;
 * then again (a clean stop and start): the same visits, exactly. */
static void reopen(uint64_t round, int64_t at, int jumped, int child_running, uint64_t last_seq, totals *t) {
  open_visit *ov;
  size_t n = open_visits(&ov);
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = at, .db_path = cfg.db, .log = quiet_parent};
  vigil_engine *e;
  int rc = vigil_engine_new(&o, &e);
  if (rc < 0)
    fail_msg("round %" PRIu64 ": the engine does not start after the kill: %s", round, vigil_engine_errmsg(e));
  /* What fell due while it was down fires once asked (vigil.h). */
  if (vigil_engine_fire_due(e) < 0)
    fail_msg("round %" PRIu64 ": the deadlines that passed do not fire: %s", round, vigil_engine_errmsg(e));
  vigil_stats st;
  vigil_engine_stats(e, &st);
  if (st.visits_active != n)
    fail_msg("round %" PRIu64 ": %zu visits are open in the file, %" PRIu64 " after recovery", round, n,
             st.visits_active);
  int any_obs = 0;
  char **state = calloc(n + 1, sizeof *state);
  assert_non_null(state);
  for (size_t i = 0; i < n; i++) {
    char *j = vigil_visit_json(e, ov[i].id);
    if (!j || !strstr(j, "\"status\":\"active\""))
      fail_msg("round %" PRIu64 ": visit %" PRIu64 " is not rebuilt as open: %.300s", round, ov[i].id,
               j ? j : "(none)");
    state[i] = j;
    any_obs |= ov[i].obs;
  }
  int64_t next = vigil_engine_next_deadline(e);
  if (next <= at)
    fail_msg("round %" PRIu64 ": a deadline due at %" PRId64 " did not fire at start (now %" PRId64 ")", round, next,
             at);
  if (any_obs && next == INT64_MAX)
    fail_msg("round %" PRIu64 ": visits under observation are open but no deadline is armed", round);
  vigil_engine_free(e);
  t->recovered_visits += n;

  /* A clean restart at the same time gives back every visit exactly: the
   * state the recovery rebuilt is the fold of the log, nothing else. */
  if ((rc = vigil_engine_new(&o, &e)) < 0)
    fail_msg("round %" PRIu64 ": the engine does not start again: %s", round, vigil_engine_errmsg(e));
  for (size_t i = 0; i < n; i++) {
    char *j = vigil_visit_json(e, ov[i].id);
    if (!j || strcmp(j, state[i]) != 0)
      fail_msg("round %" PRIu64 ": visit %" PRIu64 " differs after a clean restart:\n%s\n%s", round, ov[i].id, state[i],
               j ? j : "(none)");
    vigil_free(j);
    vigil_free(state[i]);
  }
  free(state);
  if (vigil_engine_next_deadline(e) != next)
    fail_msg("round %" PRIu64 ": the next deadline moved with a clean restart", round);
  vigil_engine_free(e);

  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(cfg.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  /* The start is recorded, saying the last run did not stop cleanly (if the
   * child got as far as marking the store running). */
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT type, body FROM events WHERE seq = ?", -1, &q, NULL), SQLITE_OK);
  sqlite3_bind_int64(q, 1, (sqlite3_int64)(last_seq + 1));
  if (last_seq > 0) {
    if (sqlite3_step(q) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(q, 0), "engine.started") != 0 ||
        (child_running && !strstr((const char *)sqlite3_column_text(q, 1), "\"unclean\":true")))
      fail_msg("round %" PRIu64 ": seq %" PRIu64 " should be engine.started after an unclean stop", round,
               last_seq + 1);
  }
  sqlite3_finalize(q);
  /* Half an hour later: every visit under observation missed a checkpoint
   * while the engine was down, and that fired at start. */
  if (jumped)
    for (size_t i = 0; i < n; i++) {
      if (!ov[i].obs) continue;
      /* Unless its schedule stopped after its missed checkpoints (K8 in
       * docs/safety.md: one high alert says so, and nothing more is due). */
      if (count_after(db, last_seq, ov[i].id, "item.overdue") < 1 && !unmonitored(db, ov[i].id))
        fail_msg("round %" PRIu64 ": visit %" PRIu64 " missed its checkpoints but no item.overdue fired at start",
                 round, ov[i].id);
      t->overdue_checked++;
    }
  sqlite3_close(db);
  free(ov);
}

static void kill_and_recover(void **state) {
  (void)state;
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  totals t = {0};
  uint64_t checked = 0; /* rows checked so far, and the last one's hash */
  char checked_hash[65] = "";
  int64_t at = T0; /* where the next child's clock starts */
  int min_ms = cfg.slow ? 100 : 1, max_ms = cfg.slow ? 2000 : 80;
  int64_t open_ms = cfg.slow ? 2000 : 20;
  uint64_t rng = cfg.seed ^ 0x5bd1e995;
  print_message("test_crash: %d kills, seed %" PRIu64 " (VIGIL_CRASH_SEED=%" PRIu64 " to reproduce)\n", cfg.kills,
                cfg.seed, cfg.seed);
  for (int round = 1; round <= cfg.kills; round++) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      child_run(fds[1], (uint64_t)round, cfg.seed, at);
      _exit(0);
    }
    close(fds[1]);
    round_log r = {.round = (uint64_t)round};
    static char pend[65536];
    size_t npend = 0;
    /* One kill in eight falls at a random moment of the start (recovery);
     * the others during the load, a random time after the start. */
    int during_open = below(&rng, 8) == 0;
    int eof = 0;
    if (during_open) {
      eof = read_msgs(fds[0], &r, pend, &npend, mono_ms() + (int)below(&rng, (uint64_t)open_ms + 1), 0);
    } else {
      int64_t t_fork = mono_ms();
      eof = read_msgs(fds[0], &r, pend, &npend, t_fork + 60000, 1);
      if (!r.opened) fail_msg("round %d: the child did not open the engine within a minute", round);
      open_ms = (open_ms * 3 + (mono_ms() - t_fork)) / 4; /* how long a start takes, roughly */
      int delay = min_ms + (int)below(&rng, (uint64_t)(max_ms - min_ms + 1));
      if (!eof) eof = read_msgs(fds[0], &r, pend, &npend, mono_ms() + delay, 0);
    }
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!eof) read_msgs(fds[0], &r, pend, &npend, -1, 0);
    close(fds[0]);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
      fail_msg("round %d: the child ended by itself (status %d) before the kill", round, status);
    t.kills++;
    t.killed_opening += !r.opened;

    /* The file, with plain SQLite. */
    struct timespec c0;
    clock_gettime(CLOCK_MONOTONIC, &c0);
    int full = cfg.full_every && round % cfg.full_every == 0;
    row_ctx ctx = {&r, checked};
    db_report rep;
    /* The heard events and tags are in the rows after the last checked one.
     * Every round, everything is checked over the whole file; in --long only
     * every 100 rounds (the log grows to ~400k events): otherwise the chain
     * from the last checked row (whose hash must not have changed) and the
     * bookkeeping of the new rows, integrity_check every 10 rounds. */
    int flags = full || round % 10 == 0 ? 0 : DB_CHECK_NO_INTEGRITY;
    int crc = db_check(cfg.db, full ? 0 : checked, full ? NULL : checked_hash, flags, on_row, &ctx, &rep);
    if (crc == DB_CHECK_HOT_JOURNAL && checked == 0 && r.acked == 0) {
      /* Killed while the first start switched the new file to WAL: nothing
       * was acknowledged, and the next start (a writer) rolls it back. */
      t.hot_journals++;
      memset(&rep, 0, sizeof rep);
    } else if (crc < 0)
      fail_msg("round %d (seed %" PRIu64 "): %s", round, cfg.seed, rep.error);
    if (rep.last_seq < checked) fail_msg("round %d: the log shrank", round);
    /* And what `vigil audit verify` says (in --long, with the full checks). */
    if (full && rep.last_seq > 0) {
      char amsg[1024];
      uint64_t audited = 0, first_bad = 0;
      int arc = vigil_audit_verify(cfg.db, &audited, &first_bad, amsg, sizeof amsg);
      if (arc != 0 || audited != rep.last_seq)
        fail_msg("round %d (seed %" PRIu64 "): vigil audit verify: %s (%s, %" PRIu64 " events, first bad %" PRIu64 ")",
                 round, cfg.seed, amsg, vigil_err_name(arc), audited, first_bad);
    }
    if (rep.last_seq < r.acked)
      fail_msg("round %d (seed %" PRIu64 "): seq %" PRIu64 " was acknowledged but the log ends at %" PRIu64, round,
               cfg.seed, r.acked, rep.last_seq);
    if (r.opened && rep.last_seq < r.ev_base + r.n_ev)
      fail_msg("round %d: seq %" PRIu64 " was published but the log ends at %" PRIu64, round, r.ev_base + r.n_ev,
               rep.last_seq);
    for (uint64_t tx = 1; tx <= r.max_tx || tx < r.cap_tx; tx++) {
      if (tx >= r.cap_tx) break;
      uint64_t declared = r.declared[tx];
      if (!declared && r.found[tx]) fail_msg("round %d: tag %" PRIu64 " was never declared", round, tx);
      if (!declared) continue;
      if (r.found[tx] != 0 && r.found[tx] != declared - 1)
        fail_msg("round %d (seed %" PRIu64 "): transaction %" PRIu64 " is half there: %" PRIu64 " of %" PRIu64
                 " recordings",
                 round, cfg.seed, tx, r.found[tx], declared - 1);
      if (r.acked_tx[tx] && r.found[tx] != declared - 1)
        fail_msg("round %d (seed %" PRIu64 "): transaction %" PRIu64 " was acknowledged but %" PRIu64 " of %" PRIu64
                 " recordings are there",
                 round, cfg.seed, tx, r.found[tx], declared - 1);
      t.acked_tx += r.acked_tx[tx];
      if (tx == r.max_tx && !r.acked_tx[tx] && declared > 1) {
        if (r.found[tx])
          t.unacked_present++;
        else
          t.torn_batches_absent++;
      }
    }
    t.check_s += seconds_since(&c0);
    t.events = rep.last_seq;

    /* Recovery: at the last event's time, or (every other round) half an
     * hour later, so that deadlines passed while the engine was down. */
    clock_gettime(CLOCK_MONOTONIC, &c0);
    int jump = round % 2;
    at = (rep.max_time > at ? rep.max_time : at) + (jump ? 30 * MINUTE + 1 : 0);
    reopen((uint64_t)round, at, jump, r.running, rep.last_seq, &t);
    t.restarts += r.restarts;
    t.reopen_s += seconds_since(&c0);
    checked = rep.last_seq;
    memcpy(checked_hash, rep.last_hash, sizeof checked_hash);
    free(r.ev);
    free(r.declared);
    free(r.acked_tx);
    free(r.found);
  }
  db_report rep;
  if (db_check(cfg.db, 0, NULL, 0, NULL, NULL, &rep) < 0) fail_msg("at the end: %s", rep.error);
  print_message("test_crash: %d kills (%d while the engine was opening; %d clean restarts within children) in %.1f s, "
                "seed %" PRIu64 "; log of %" PRIu64
                " events; %d transactions acknowledged; the killed transaction was there unacknowledged %d times, "
                "absent %d times; %" PRIu64 " open visits recovered, %" PRIu64
                " overdue checkpoints fired at start%s; checking %.1f s, recovering %.1f s\n",
                t.kills, t.killed_opening, t.restarts, seconds_since(&started), cfg.seed, rep.last_seq, t.acked_tx,
                t.unacked_present, t.torn_batches_absent, t.recovered_visits, t.overdue_checked,
                t.hot_journals ? "; killed once while the first start switched the file to WAL" : "", t.check_s,
                t.reopen_s);
}

/* A second engine on a file this process has open is refused (EBUSY). The
 * refusal must not cost the first one anything: closing a descriptor of the
 * file drops every POSIX lock this process holds on it, SQLite's included,
 * and without its lock the engine's WAL can be checkpointed and deleted by
 * the next process that closes a connection to the file, taking later
 * commits with it when the engine dies. */
static void a_refused_second_open_costs_the_first_nothing(void **state) {
  (void)state;
  int up[2], down[2];
  assert_int_equal(pipe(up), 0);
  assert_int_equal(pipe(down), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = cfg.db, .log = quiet};
    vigil_engine *e, *other;
    uint64_t id = 0;
    if (vigil_engine_new(&o, &e) < 0 || vigil_engine_load(e, cfg.protocol, NULL) < 0 ||
        vigil_visit_start(e, "crash", "chair-1", "nurse:ana", NULL, &id) < 0)
      _exit(2);
    if (vigil_engine_new(&o, &other) != VIGIL_EBUSY) _exit(3);
    vigil_engine_free(other);
    char c = 0;
    if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1) _exit(4); /* another process reads the file */
    for (int i = 0; i < 5; i++)
      if (vigil_visit_start(e, "crash", "chair-n", "nurse:ana", NULL, &id) < 0) _exit(5);
    if (write(up[1], &id, sizeof id) != sizeof id) _exit(6);
    pause(); /* killed here, with everything acknowledged */
    _exit(0);
  }
  char c;
  assert_int_equal(read(up[0], &c, 1), 1);
  /* Another process (as `vigil audit`, or the sqlite3 shell) reads and closes. */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(cfg.db, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "SELECT COUNT(*) FROM events", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  char wal[160];
  snprintf(wal, sizeof wal, "%s-wal", cfg.db);
  int wal_there = access(wal, F_OK) == 0;
  assert_int_equal(write(down[1], &c, 1), 1);
  uint64_t acked = 0;
  assert_int_equal(read(up[0], &acked, sizeof acked), sizeof acked);
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(acked, 6);
  if (!wal_there) print_message("the engine's WAL was deleted under it by another process\n");
  db_report rep;
  if (db_check(cfg.db, 0, NULL, 0, NULL, NULL, &rep) < 0) fail_msg("%s", rep.error);
  assert_int_equal(sqlite3_open_v2(cfg.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM visits", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int visits = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (visits != 6) fail_msg("6 visits were acknowledged, %d are in the file after the crash", visits);
  assert_true(wal_there);
  close(up[0]), close(up[1]), close(down[0]), close(down[1]);
}

static int setup(void **state) {
  (void)state;
  strcpy(cfg.root, "/tmp/vigil-crash-XXXXXX");
  assert_non_null(mkdtemp(cfg.root));
  snprintf(cfg.protocol, sizeof cfg.protocol, "%s/crash", cfg.root);
  snprintf(cfg.db, sizeof cfg.db, "%s/vigil.db", cfg.root);
  char path[200];
  snprintf(path, sizeof path, "mkdir -p %s", cfg.protocol);
  assert_int_equal(system(path), 0);
  snprintf(path, sizeof path, "%s/protocol.lua", cfg.protocol);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(PROTOCOL, f);
  fclose(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (getenv("VIGIL_CRASH_KEEP")) {
    fprintf(stderr, "test_crash: kept %s\n", cfg.root);
    return 0;
  }
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", cfg.root);
  return system(cmd);
}

int main(int argc, char **argv) {
  const char *env;
  int is_long = (env = getenv("VIGIL_CRASH_LONG")) && *env && strcmp(env, "0") != 0;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--long")) is_long = 1;
  cfg.slow = getenv("VIGIL_TEST_SLOW") != NULL;
  cfg.kills = is_long ? 1000 : cfg.slow ? 6 : SANITIZED ? 30 : 60;
  if ((env = getenv("VIGIL_CRASH_KILLS")) && atoi(env) > 0) cfg.kills = atoi(env);
  cfg.full_every = is_long ? 100 : 1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  cfg.seed = (env = getenv("VIGIL_CRASH_SEED")) ? strtoull(env, NULL, 10) : (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_refused_second_open_costs_the_first_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(kill_and_recover, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
