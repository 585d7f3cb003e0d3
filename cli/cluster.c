/* cluster.c: vigil serve as a node of a cluster on PostgreSQL: the claim of
 * its sites (standby until one is free), each lease's renewal, self-fencing
 * per site. */
#include "cluster.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/inspect.h"
#include "store/store.h"

static volatile sig_atomic_t stop_waiting;
static void on_stop_signal(int sig) {
  (void)sig;
  stop_waiting = 1;
}

int64_t vigil__cluster_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t margin(int64_t lease_ms) { return lease_ms / 5 > 200 ? lease_ms / 5 : 200; }

/* The sites this node still acts for: when the last one is fenced, the
 * process ends. */
static atomic_int held;

int vigil__cluster_try(vigil_options *opts, const char *site, vigil_engine **e, int *said, cluster_log_fn log) {
  opts->site = site;
  *e = NULL;
  int rc = vigil_engine_new(opts, e);
  if (rc != VIGIL_EIO && (*said & 4)) {
    log("info", "the database answers claims again", json_pack("{s:s}", "site", site));
    *said &= ~4;
  }
  if (rc == 0) {
    log("info", "claimed the site",
        json_pack("{s:s, s:s, s:I}", "site", site, "node", opts->node, "lease_ms", (json_int_t)opts->lease_ms));
    return 0;
  }
  if (rc == VIGIL_EBUSY) {
    /* A live lease under this node's own name is another process's: two
     * processes were given one --node name, or this node's process before a
     * restart held it (store_pg.c's claim). */
    int twin = strstr(vigil_engine_errmsg(NULL), "another live process named") != NULL;
    if (!(*said & (twin ? 2 : 1)))
      log(twin ? "warn" : "info",
          twin ? "another process holds a live lease under this node's name: its sites are not taken"
               : "site owned by another node",
          json_pack("{s:s, s:s}", "site", site, "error", vigil_engine_errmsg(NULL)));
    *said |= twin ? 2 : 1;
    return rc;
  }
  if (rc == VIGIL_EIO) {
    /* PostgreSQL does not answer (a restart, a failover): a standby waits
     * and tries again, as for a site owned (issue 17's try, C2); said once
     * until a claim gets an answer again (bit 4). */
    if (!(*said & 4))
      log("warn", "cannot reach the database to claim the site: trying again every third of the lease",
          json_pack("{s:s, s:s}", "site", site, "error", vigil_engine_errmsg(NULL)));
    *said |= 4;
    return rc;
  }
  if (rc == VIGIL_ECLOCK) {
    /* C5: this machine's clock is off the database's: no site until it is
     * set right (said once as an error; tried again every round). */
    if (!(*said & 8))
      log("error", "this node's clock is off the database's: it claims no site until it is set right",
          json_pack("{s:s, s:s}", "site", site, "error", vigil_engine_errmsg(NULL)));
    *said |= 8;
    return rc;
  }
  log("error", "cannot open the site", json_pack("{s:s, s:s}", "site", site, "error", vigil_engine_errmsg(NULL)));
  return rc;
}

int vigil__cluster_standby(int64_t lease_ms, const char *sites, int (*claim)(void *ud), void *ud, cluster_log_fn log) {
  struct sigaction sa = {.sa_handler = on_stop_signal}, old_term, old_int;
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  int rc, said = 0;
  /* 2: nothing claimed, not (only) for the sites being owned: the claim said
   * why (D2 of the second try: "every site is owned" was said of a
   * database that could not be reached or that refused the node). */
  while ((rc = claim(ud)) == 0 || rc == 2) {
    if (!said && rc == 0)
      log("info", "standby: every site is owned; waiting for one to be free", json_pack("{s:s}", "sites", sites));
    said |= rc == 0;
    for (int64_t until = vigil__cluster_mono_ms() + lease_ms / 3; vigil__cluster_mono_ms() < until && !stop_waiting;)
      usleep(20000);
    if (stop_waiting) break;
  }
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  return rc == 2 ? 0 : rc; /* stopped while waiting */
}

struct cluster_node {
  uv_timer_t timer;
  /* The engine's store (vigil__engine_store, the same for the engine's
   * life), taken once on the loop: the node holds no engine, so the
   * watchdog thread cannot touch one (docs/reviews/architecture.md, sixth review
   * item 11). */
  store *store;
  int64_t lease_ms;
  _Atomic int64_t fence_at; /* when this node must have stopped acting for the site, monotonic */
  atomic_int fenced;        /* the watchdog fenced the site's store */
  void (*lost)(void *ud);
  void *ud;
  cluster_log_fn log;
  pthread_t watchdog;
  atomic_int quit;
  int failing, gone;
  int broken; /* the site's database lacks part of the schema: no retry brings it back */
  uint64_t renewals, failures;
};

/* A log line as serve.c writes them (time, level, msg), in one write(2):
 * the watchdog's, which must not wait for the loop or a lock. */
static void fence_line(const char *msg) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  time_t secs = ts.tv_sec;
  gmtime_r(&secs, &tm);
  char when[40], line[400];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  int n = snprintf(line, sizeof line, "{\"time\":\"%s.%03dZ\",\"level\":\"error\",\"msg\":\"%s\"}\n", when,
                   (int)(ts.tv_nsec / 1000000), msg);
  if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
  }
}

static void *watchdog(void *ud) {
  cluster_node *n = ud;
  while (!atomic_load(&n->quit)) {
    if (!atomic_load(&n->fenced) && vigil__cluster_mono_ms() >= atomic_load(&n->fence_at)) {
      /* The lease may be another node's soon: nothing more of the site
       * becomes durable here, so not one more alarm or hook of it. The
       * loop may be what is stuck: the store is fenced from this thread,
       * and with no site left the process ends. Plain writes. */
      vigil__store_fence(n->store);
      atomic_store(&n->fenced, 1);
      if (atomic_fetch_sub(&held, 1) <= 1) {
        fence_line("the site's lease was not renewed in time: stopping before it can end (self-fencing)");
        _exit(3);
      }
      fence_line("a site's lease was not renewed in time: its store is fenced (self-fencing); the node's other sites "
                 "go on");
    }
    usleep(20000);
  }
  return NULL;
}

static void renew(uv_timer_t *t) {
  cluster_node *n = t->data;
  char err[512];
  int64_t started = vigil__cluster_mono_ms();
  int rc = vigil__store_renew(n->store, err, sizeof err);
  if (rc == 0) {
    atomic_store(&n->fence_at, started + n->lease_ms - margin(n->lease_ms));
    n->renewals++;
    if (n->failing) n->log("info", "lease renewed again", NULL);
    n->failing = 0;
    return;
  }
  n->failures++;
  if (rc == VIGIL_ECORRUPT) {
    /* A write or a read of the site met a table or a column of the schema
     * gone (E6 of the third try): as at the start (D2), the node stops,
     * saying why, rather than answer every command 503 for ever. */
    n->log("error", "the database lacks part of vigil's schema: the node stops (restore the schema or the database)",
           json_pack("{s:s}", "error", err));
    uv_timer_stop(t);
    n->broken = 1;
    if (!n->gone) {
      n->gone = 1;
      n->lost(n->ud);
    }
    return;
  }
  if (rc == VIGIL_EBUSY) {
    n->log("error", "the site was taken by another node, or fenced: this node stops acting for it",
           json_pack("{s:s}", "error", err));
    uv_timer_stop(t);
    if (!n->gone) {
      n->gone = 1;
      n->lost(n->ud);
    }
    return;
  }
  if (!n->failing) n->log("warn", "cannot renew the lease", json_pack("{s:s}", "error", err));
  n->failing = 1;
}

int vigil__cluster_start(uv_loop_t *loop, vigil_engine *e, int64_t lease_ms, int64_t claimed_ms, void (*lost)(void *ud),
                         void *ud, cluster_log_fn log, cluster_node **out, char *err, size_t errlen) {
  *out = NULL;
  /* AF4 of the integrator's try: a node claims its sites, then loads their
   * protocols on the loop, which renews nothing meanwhile; a load longer
   * than four fifths of the lease (a slow or busy machine) fenced the node
   * at every start. Renewing first makes the fence count from now. The
   * lease may have run out while loading: the renewal still holds if no
   * other node claimed the site (its epoch is this node's), and is refused
   * if one did; what the engine wrote meanwhile was fenced by the epoch. */
  int64_t from = claimed_ms, started = vigil__cluster_mono_ms();
  int rc = vigil__store_renew(vigil__engine_store(e), err, errlen);
  if (rc == VIGIL_EBUSY || rc == VIGIL_ECORRUPT) return rc;
  if (rc == 0) from = started; /* else PostgreSQL unreachable now: the claim's time stands, the renewals go on */
  cluster_node *n = calloc(1, sizeof *n);
  if (!n) return -1;
  n->store = vigil__engine_store(e);
  n->lease_ms = lease_ms;
  n->lost = lost;
  n->ud = ud;
  n->log = log;
  atomic_store(&n->fence_at, from + lease_ms - margin(lease_ms));
  if (rc == 0) n->renewals++;
  atomic_fetch_add(&held, 1);
  if (pthread_create(&n->watchdog, NULL, watchdog, n) != 0) {
    atomic_fetch_sub(&held, 1);
    free(n);
    return -1;
  }
  uv_timer_init(loop, &n->timer);
  n->timer.data = n;
  /* C2 of issue 17's try: the fence counts from the start of the last
   * renewal that succeeded, so an outage that begins just before a renewal
   * is due is ridden out for four fifths of the lease less one interval.
   * Every tenth of the lease, that is at least seven tenths whenever it
   * begins: an outage shorter than half the lease never fences an owner
   * (docs/deploy.md, Leases; a third left only 47%). */
  uint64_t every = (uint64_t)(lease_ms / 10 > 0 ? lease_ms / 10 : 1);
  uv_timer_start(&n->timer, renew, rc == 0 ? every : 0, every);
  *out = n;
  return 0;
}

int vigil__cluster_broken(const cluster_node *n) { return n && n->broken; }

void vigil__cluster_counts(const cluster_node *n, uint64_t *renewals, uint64_t *failures) {
  *renewals = n ? n->renewals : 0;
  *failures = n ? n->failures : 0;
}

static void on_closed(uv_handle_t *h) { free(h->data); }

void vigil__cluster_stop(cluster_node *n) {
  if (!n) return;
  atomic_store(&n->quit, 1);
  pthread_join(n->watchdog, NULL);
  if (!atomic_load(&n->fenced)) atomic_fetch_sub(&held, 1);
  uv_close((uv_handle_t *)&n->timer, on_closed);
}
