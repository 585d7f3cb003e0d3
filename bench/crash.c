/* crash.c: vigil-bench --mode m5, crash and recover.
 *
 * A child process runs the M2 timeline (durable, group commit) up to
 * t = 60 min simulated, when every visit is in flight, and tells the parent
 * through a pipe what its subscribers heard (every event committed so far)
 * and where the timeline stands. It then opens one more transaction, does
 * its commands and, before committing, tells the parent again and waits: the
 * parent kills it with SIGKILL there, with that work in memory only, never
 * acknowledged. The parent then opens the store with a new engine (the
 * recovery, timed: vigil_engine_new folds every open visit from the log and
 * re-arms its deadlines), checks that the log holds exactly the events heard
 * (none lost, none twice: as many rows as events heard, sequence numbers
 * without a gap), and finishes the timeline from where the last commit left
 * it, redoing the lost transaction's commands. Heard before the kill plus
 * heard after must give the workload's checksums, and so must the store. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "measure.h"
#include "modes.h"
#include "timeline.h"

/* What the child tells the parent, twice: at the last commit before the
 * kill, and once the transaction the kill will lose is under way. */
typedef struct report {
  counts heard;
  uint64_t cursor[ACT_COUNT];
  uint64_t in_flight; /* commands done in the open transaction */
  int ok;
} report;

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static vigil_engine *open_engine(const char *db, int64_t start_ms) {
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = start_ms, .db_path = db, .db_vfs = BENCH_VFS};
  vigil_engine *e;
  int rc = vigil_engine_new(&opts, &e);
  if (rc < 0) {
    fprintf(stderr, "vigil-bench: cannot open the engine on %s: %s: %s\n", db, vigil_strerror(rc),
            e ? vigil_engine_errmsg(e) : "");
    vigil_engine_free(e);
    return NULL;
  }
  return e;
}

/* The child: up to t = 60 min, then a transaction left open. Never returns. */
static void child(const bench_args *a, const char *db, uint64_t *ids, int out) {
  report rep = {.ok = 0};
  vigil_engine *e = open_engine(db, SIM_ORIGIN_MS);
  const char *ref;
  if (!e || vigil_engine_load(e, a->protocol, &ref) < 0 || counts_subscribe(e, &rep.heard) < 0) {
    if (e) fprintf(stderr, "vigil-bench: child: %s\n", vigil_engine_errmsg(e));
    write_all(out, &rep, sizeof rep);
    _exit(2);
  }
  const int64_t live_at = SIM_ORIGIN_MS + WL_SPREAD_MS;
  run r = {.e = e, .protocol = ref, .n = a->n, .visit_ids = ids, .batch_max = a->batch};
  int rc = run_timeline(&r, live_at, NULL);
  /* Deadlines due by t = 60 min fire and commit, outside any transaction. */
  if (rc == 0 && (rc = vigil_engine_advance_to(e, live_at)) < 0) engine_error(&r, "moving the clock", 0, rc);
  /* The parent finishes with visit ids found by index. */
  for (uint64_t i = 0; rc == 0 && i < a->n; i++)
    if (ids[i] != i + 1) {
      fprintf(stderr, "vigil-bench: child: visit index %" PRIu64 " has id %" PRIu64 "\n", i, ids[i]);
      rc = -1;
    }
  memcpy(rep.cursor, r.cursor, sizeof rep.cursor);
  rep.ok = rc == 0;
  if (write_all(out, &rep, sizeof rep) < 0 || rc < 0) _exit(2);
  /* The transaction the kill loses: the next commands of the timeline. */
  vigil_engine_begin(e);
  int64_t at;
  int act;
  while (rep.in_flight < a->batch && (act = next_act(&r, &at)) >= 0) {
    if (vigil_engine_advance_to(e, at) < 0 || do_act(&r, act) < 0) break;
    rep.in_flight += act == ACT_START ? 2 : 1;
  }
  write_all(out, &rep, sizeof rep);
  for (;;)
    pause(); /* SIGKILL comes here */
}

int mode_crash(const bench_args *a) {
  char db[4096];
  snprintf(db, sizeof db, "%s/bench.db", a->dir);
  uint64_t *ids = calloc(a->n, sizeof *ids);
  int fds[2];
  if (!ids || pipe(fds) < 0) {
    fprintf(stderr, "vigil-bench: %s\n", strerror(errno));
    return 2;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "vigil-bench: fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    close(fds[0]);
    child(a, db, ids, fds[1]);
  }
  close(fds[1]);
  report before, flight;
  double t_child = bench_seconds();
  int got = read_all(fds[0], &before, sizeof before) == 0 && before.ok && read_all(fds[0], &flight, sizeof flight) == 0;
  double child_s = bench_seconds() - t_child;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  if (!got) {
    fprintf(stderr, "vigil-bench: the child failed before t = 60 min\n");
    return 2;
  }
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    fprintf(stderr, "vigil-bench: the child was not killed by SIGKILL (status %d)\n", status);
    return 2;
  }

  /* Recovery: a new engine on the store the killed process left. */
  const int64_t live_at = SIM_ORIGIN_MS + WL_SPREAD_MS;
  double cpu0 = bench_cpu_seconds(), t0 = bench_seconds();
  vigil_engine *e = open_engine(db, live_at);
  double recovery_s = bench_seconds() - t0, recovery_cpu = bench_cpu_seconds() - cpu0;
  if (!e) return 2;
  vigil_stats st;
  vigil_engine_stats(e, &st);
  int ok = compare("recovery:", "visits in flight", a->n, st.visits_active);

  /* None lost, none twice: the log is exactly what was heard. */
  stored log = {0, 0, 0, 0, 0};
  if (read_store(db, &log) < 0) ok = 0;
  ok &= compare("recovery:", "events in the log vs heard before the kill", before.heard.events, log.events);
  ok &= compare("recovery:", "last sequence number vs rows", log.rows, log.max_seq);
  ok &= compare("recovery:", "alerts in the log vs heard", before.heard.alerts, log.alerts);

  /* Finish from the last commit; the lost transaction's commands are redone. */
  counts after = {0, 0, 0, 0, 0};
  const char *ref;
  int rc;
  if ((rc = vigil_engine_load(e, a->protocol, &ref)) < 0 || (rc = counts_subscribe(e, &after)) < 0) {
    fprintf(stderr, "vigil-bench: after recovery: %s\n", vigil_engine_errmsg(e));
    return 2;
  }
  for (uint64_t i = 0; i < a->n; i++)
    ids[i] = i + 1;
  run r = {.e = e, .protocol = ref, .n = a->n, .visit_ids = ids, .batch_max = a->batch};
  memcpy(r.cursor, before.cursor, sizeof r.cursor);
  double t1 = bench_seconds();
  if (run_timeline(&r, INT64_MAX, NULL) < 0) return 2;
  double finish_s = bench_seconds() - t1;
  vigil_engine_free(e);

  counts all = {before.heard.events + after.events, before.heard.alerts + after.alerts,
                before.heard.discharged + after.discharged, before.heard.held + after.held,
                before.heard.delivered + after.delivered};
  ok &= counts_ok(a->n, &all);
  if (read_store(db, &log) < 0) ok = 0;
  ok &= compare("store:", "events on disk vs heard", all.events, log.events);
  ok &= compare("store:", "last sequence number vs rows", log.rows, log.max_seq);
  ok &= compare("store:", "alert.raised on disk vs heard", all.alerts, log.alerts);
  ok &= compare("store:", "visit.discharged on disk vs heard", all.discharged, log.discharged);
  int met = recovery_s < 1.0;
  printf("{\"mode\":\"m5\",\"n\":%" PRIu64 ",\"batch_max\":%u,\"child_to_kill_s\":%.3f,\"events_before_kill\":%" PRIu64
         ",\"in_flight_commands_lost\":%" PRIu64 ",\"visits_recovered\":%" PRIu64 ",\"recovery_ms\":%.1f"
         ",\"recovery_cpu_s\":%.3f,\"finish_ms\":%.1f,\"events\":%" PRIu64 ",\"alerts\":%" PRIu64
         ",\"alerts_delivered\":%" PRIu64 ",\"discharged\":%" PRIu64 ",\"stored_events\":%" PRIu64
         ",\"target\":\"recovery_ms < 1000, none lost or twice, checksums unchanged\",\"target_met\":%s"
         ",\"checksums_ok\":%s}\n",
         a->n, a->batch, child_s, before.heard.events, flight.in_flight, st.visits_active, recovery_s * 1e3,
         recovery_cpu, finish_s * 1e3, all.events, all.alerts, all.delivered, all.discharged, log.events,
         met && ok ? "true" : "false", ok ? "true" : "false");
  free(ids);
  return ok ? 0 : 1;
}
