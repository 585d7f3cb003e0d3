/* pg.c: vigil-bench-pg, the PostgreSQL store on a throw-away cluster
 * (tests/pg_cluster.c: initdb in a temporary folder, fsync on, the server's
 * defaults otherwise).
 *
 *   vigil-bench-pg [--n N] [--takeover V]
 *
 * M2 on PostgreSQL: the reference timeline of N visits (timeline.c), durable,
 * up to 1,000 consecutive commands per transaction (group commit), against
 * the same run's plain INSERT rate (rows of the same size, 100 per commit, one
 * statement each). Takeover: V visits started and left open on one node's
 * site, the node stopped, and the time another node takes to claim the site,
 * fold its open visits and arm their deadlines (vigil_engine_new); the wait
 * for the lease to run out (lease_time, up to a third of it more) comes on
 * top when the owner dies instead. One JSON line. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_cluster.h"
#include "timeline.h"

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(pg_cluster *c, const char *what, vigil_engine *e) {
  fprintf(stderr, "vigil-bench-pg: %s: %s\n", what, vigil_engine_errmsg(e));
  pg_cluster_cleanup(c);
  return 2;
}

/* Plain INSERTs of rows like the log's, 100 per transaction: rows/s. */
static double insert_rate(const char *uri, int rows) {
  PGconn *c = PQconnectdb(uri);
  PQclear(PQexec(c, "CREATE TABLE plain (id bigint PRIMARY KEY, body text NOT NULL)"));
  char body[400];
  memset(body, 'x', sizeof body - 1);
  body[sizeof body - 1] = '\0';
  double t0 = seconds();
  for (int i = 0; i < rows; i++) {
    if (i % 100 == 0) PQclear(PQexec(c, "BEGIN"));
    char id[32];
    snprintf(id, sizeof id, "%d", i);
    const char *p[] = {id, body};
    PQclear(PQexecParams(c, "INSERT INTO plain (id, body) VALUES ($1, $2)", 2, NULL, p, NULL, NULL, 0));
    if (i % 100 == 99 || i == rows - 1) PQclear(PQexec(c, "COMMIT"));
  }
  double rate = rows / (seconds() - t0);
  PQfinish(c);
  return rate;
}

int main(int argc, char **argv) {
  uint64_t n = 1000, takeover = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--n"))
      n = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--takeover"))
      takeover = strtoull(argv[i + 1], NULL, 10);
  }
  if (!n || !takeover) {
    fprintf(stderr, "usage: vigil-bench-pg [--n N] [--takeover VISITS]\n");
    return 2;
  }
  pg_cluster c;
  char uri[256];
  if (pg_cluster_start(&c) < 0 || pg_cluster_createdb(&c, "bench", uri, sizeof uri) < 0) return 2;

  /* M2 on PostgreSQL. */
  uint64_t *ids = calloc(n, sizeof *ids);
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = SIM_ORIGIN_MS, .db_path = uri, .site = "m2"};
  vigil_engine *e;
  const char *ref;
  if (!ids || vigil_engine_new(&opts, &e) < 0) return fail(&c, "cannot open the store", NULL);
  if (vigil_engine_load(e, VIGIL_BENCH_PROTOCOL, &ref) < 0) return fail(&c, "cannot load the protocol", e);
  counts k = {.events = 0};
  if (counts_subscribe(e, &k) < 0) return fail(&c, "subscribe", e);
  run r = {.e = e, .protocol = ref, .n = n, .visit_ids = ids, .batch_max = 1000};
  live_sample sample = {.rss_live = -1};
  double t0 = seconds();
  if (run_timeline(&r, INT64_MAX, &sample) < 0) return fail(&c, "the timeline", e);
  double wall = seconds() - t0;
  int ok = counts_ok(n, &k);
  vigil_engine_free(e);
  free(ids);
  double m2 = (double)k.events / wall;
  double plain = insert_rate(uri, (int)(k.events < 20000 ? k.events : 20000));

  /* Takeover of a site with `takeover` open visits. */
  vigil_options o1 = {.clock = VIGIL_CLOCK_SIMULATED,
                      .sim_start_ms = SIM_ORIGIN_MS,
                      .db_path = uri,
                      .site = "t",
                      .node = "n1",
                      .lease_ms = 10000};
  /* A node claims only sites that exist (docs/deploy.md; vigil site add):
   * the M2 store above made the tables. */
  PGconn *add = PQconnectdb(uri);
  PQclear(PQexec(add, "INSERT INTO vigil_sites (site) VALUES ('t') ON CONFLICT DO NOTHING"));
  PQfinish(add);
  if (vigil_engine_new(&o1, &e) < 0) return fail(&c, "cannot claim the site", NULL);
  if (vigil_engine_load(e, VIGIL_BENCH_PROTOCOL, &ref) < 0) return fail(&c, "cannot load the protocol", e);
  vigil_engine_begin(e);
  for (uint64_t i = 0; i < takeover; i++) {
    char patient[32];
    uint64_t id;
    snprintf(patient, sizeof patient, "p%" PRIu64, i);
    if (vigil_visit_start(e, ref, patient, ACTOR, NULL, &id) < 0) return fail(&c, "cannot start a visit", e);
    if (i % 100 == 99) {
      vigil_engine_commit(e);
      vigil_engine_begin(e);
    }
  }
  if (vigil_engine_commit(e) < 0) return fail(&c, "cannot commit", e);
  vigil_engine_free(e); /* a clean stop: the lease is free at once */
  vigil_options o2 = o1;
  o2.node = "n2";
  t0 = seconds();
  if (vigil_engine_new(&o2, &e) < 0) return fail(&c, "cannot take the site over", NULL);
  double took = seconds() - t0;
  vigil_stats st;
  vigil_engine_stats(e, &st);
  vigil_engine_free(e);
  pg_cluster_cleanup(&c);
  ok &= st.visits_active == takeover;
  printf("{\"mode\":\"m2_postgresql\",\"n\":%" PRIu64 ",\"events\":%" PRIu64 ",\"wall_ms\":%.1f,\"events_per_s\":%.0f"
         ",\"batches\":%" PRIu64 ",\"plain_insert_rows_per_s\":%.0f,\"m2_over_plain\":%.2f"
         ",\"takeover_visits\":%" PRIu64 ",\"takeover_ms\":%.1f,\"visits_after_takeover\":%" PRIu64
         ",\"checksums_ok\":%s}\n",
         n, k.events, wall * 1e3, m2, r.batches, plain, m2 / plain, takeover, took * 1e3, st.visits_active,
         ok ? "true" : "false");
  return ok ? 0 : 1;
}
