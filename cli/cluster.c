/* cluster.c: vigil serve as a node of a cluster on PostgreSQL: the claim of
 * a site (standby until one is free), the lease's renewal, self-fencing. */
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

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time at which this node must have stopped acting, on the monotonic
 * clock: from the start of the last successful claim or renewal. */
static _Atomic int64_t fence_at;

static int64_t margin(int64_t lease_ms) { return lease_ms / 5 > 200 ? lease_ms / 5 : 200; }

int vigil__cluster_claim(vigil_options *opts, const char *sites, char *site_buf, size_t n, vigil_engine **e,
                         cluster_log_fn log) {
  struct sigaction sa = {.sa_handler = on_stop_signal}, old_term, old_int;
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  int rc = 0, said = 0;
  *e = NULL;
  for (;;) {
    const char *p = sites;
    int busy = 0;
    while (*p && !*e) {
      size_t len = strcspn(p, ",");
      snprintf(site_buf, n, "%.*s", (int)len, p);
      p += len + (p[len] == ',');
      opts->site = site_buf;
      int64_t started = mono_ms();
      rc = vigil_engine_new(opts, e);
      if (rc == 0) {
        atomic_store(&fence_at, started + opts->lease_ms - margin(opts->lease_ms));
        log("info", "claimed the site",
            json_pack("{s:s, s:s, s:I}", "site", site_buf, "node", opts->node, "lease_ms", (json_int_t)opts->lease_ms));
        goto out;
      }
      if (rc != VIGIL_EBUSY) {
        log("error", "cannot open the site",
            json_pack("{s:s, s:s}", "site", site_buf, "error", vigil_engine_errmsg(NULL)));
        goto out;
      }
      busy++;
      if (!said) log("info", "site owned by another node", json_pack("{s:s}", "error", vigil_engine_errmsg(NULL)));
    }
    if (!said)
      log("info", "standby: every site is owned; waiting for one to be free", json_pack("{s:s}", "sites", sites));
    said = 1;
    for (int64_t until = mono_ms() + opts->lease_ms / 3; mono_ms() < until && !stop_waiting;)
      usleep(20000);
    if (stop_waiting) {
      rc = 1;
      goto out;
    }
  }
out:
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  return rc;
}

struct cluster_node {
  uv_timer_t timer;
  vigil_engine *e;
  int64_t lease_ms;
  void (*lost)(void *ud);
  void *ud;
  cluster_log_fn log;
  pthread_t watchdog;
  atomic_int quit;
  int failing;
  uint64_t renewals, failures;
};

static void *watchdog(void *ud) {
  cluster_node *n = ud;
  while (!atomic_load(&n->quit)) {
    if (mono_ms() >= atomic_load(&fence_at)) {
      /* The lease may be another node's soon: not one more alarm or hook
       * from here. A plain write: the loop may be what is stuck. */
      static const char msg[] = "{\"level\":\"error\",\"msg\":\"the site's lease was not renewed in time: stopping "
                                "before it can end (self-fencing)\"}\n";
      if (write(2, msg, sizeof msg - 1) < 0) {
      }
      _exit(3);
    }
    usleep(20000);
  }
  return NULL;
}

static void renew(uv_timer_t *t) {
  cluster_node *n = t->data;
  char err[512];
  int64_t started = mono_ms();
  int rc = vigil__store_renew(vigil__engine_store(n->e), err, sizeof err);
  if (rc == 0) {
    atomic_store(&fence_at, started + n->lease_ms - margin(n->lease_ms));
    n->renewals++;
    if (n->failing) n->log("info", "lease renewed again", NULL);
    n->failing = 0;
    return;
  }
  n->failures++;
  if (rc == VIGIL_EBUSY) {
    n->log("error", "the site was taken by another node: stopping", json_pack("{s:s}", "error", err));
    uv_timer_stop(t);
    n->lost(n->ud);
    return;
  }
  if (!n->failing) n->log("warn", "cannot renew the lease", json_pack("{s:s}", "error", err));
  n->failing = 1;
}

cluster_node *vigil__cluster_start(uv_loop_t *loop, vigil_engine *e, int64_t lease_ms, void (*lost)(void *ud), void *ud,
                                   cluster_log_fn log) {
  cluster_node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  *n = (cluster_node){.e = e, .lease_ms = lease_ms, .lost = lost, .ud = ud, .log = log};
  if (pthread_create(&n->watchdog, NULL, watchdog, n) != 0) {
    free(n);
    return NULL;
  }
  uv_timer_init(loop, &n->timer);
  n->timer.data = n;
  uint64_t every = (uint64_t)(lease_ms / 3 > 0 ? lease_ms / 3 : 1);
  uv_timer_start(&n->timer, renew, 0, every);
  return n;
}

void vigil__cluster_counts(const cluster_node *n, uint64_t *renewals, uint64_t *failures) {
  *renewals = n ? n->renewals : 0;
  *failures = n ? n->failures : 0;
}

static void on_closed(uv_handle_t *h) { free(h->data); }

void vigil__cluster_stop(cluster_node *n) {
  if (!n) return;
  atomic_store(&n->quit, 1);
  pthread_join(n->watchdog, NULL);
  uv_close((uv_handle_t *)&n->timer, on_closed);
}
