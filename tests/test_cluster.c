/* test_cluster.c: three vigil nodes, two sites, one PostgreSQL (a
 * throw-away cluster, pg_cluster.c), the lease 4 s.
 *
 * n1 claims site a, n2 site b, n3 waits as a standby. A nurse records
 * entries on n1 and n1 is killed (SIGKILL) with a checkpoint due 1.5 s
 * later: n3 takes site a over within the lease and a few seconds, every
 * acknowledged entry is in the log, the log is one gapless hash chain, the
 * checkpoint that fell due during the gap fired once, with its lateness, and
 * the nurse's session (signed in on n1) is valid on n3. Then n2 is stopped
 * (SIGSTOP) until n1, started again as a standby, takes site b; an entry
 * sent to n2 before it is continued (SIGCONT) is refused or never answered,
 * never written (fencing), and n2 ends with status 3 (it gave the site up);
 * the entry goes through on n1. GET /api/v1/cluster names each site's owner
 * and epoch; ?site= of another node's site is answered 307 at its owner. PostgreSQL killed and restarted: the
 * command during the outage is refused (503), the nodes go on; PostgreSQL
 * down for longer than the lease: each node stops on its own (status 3)
 * before its lease can end. An entry sent to n1 with an Idempotency-Key
 * and retried on n3 after the takeover gets n1's answer and is recorded
 * once; the key with another entry is 422. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "pg_cluster.h"
#include "serve_process.h"
#include "store/store.h"

#define LEASE_S 4

/* Vitals due 1 s after the start, overdue 1 s later; readings of "load"
 * whenever the nurse likes. */
static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'takeover' { version = '1.0.0', phases = {\n"
                              "  v.phase 'one' { items = {\n"
                              "    v.vitals 'load' { fields = { 'sbp' }, required = false },\n"
                              "    v.vitals 'vitals' { fields = { 'sbp' }, at = '1s', grace = '1s' },\n"
                              "  } } } }\n";

static pg_cluster pgc;
static char uri[256];

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static void node_setup(serve_process *s, const char *name) {
  assert_int_equal(serve_setup(s, PROTOCOL), 0);
  FILE *f = fopen(s->conf, "w");
  assert_non_null(f);
  fprintf(f,
          "listen = \"127.0.0.1:0\"\ndatabase = \"%s\"\nprotocols = \"%s\"\nnode = \"%s\"\n"
          "advertise = \"http://127.0.0.1:1/%s\"\nsites = \"a,b\"\nlease_time = %d\n",
          uri, s->protocol, name, name, LEASE_S);
  fclose(f);
}

/* Starts the node without waiting for it to listen (a standby does not). */
static void node_spawn(serve_process *s) {
  struct stat st;
  s->log_from = stat(s->log, &st) == 0 ? st.st_size : 0;
  s->port = 0;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 2);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    execl(s->vigil, s->vigil, "serve", "--config", s->conf, "--allow-untested", (char *)NULL);
    _exit(127);
  }
  s->pid = pid;
}

/* Waits until the node's log says what; 1, or 0 after timeout_ms. */
static int node_says(serve_process *s, const char *what, int timeout_ms) {
  double deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline) {
    char *text = serve_log(s);
    const char *line = strstr(text, what);
    if (line && !s->port) {
      const char *l = strstr(text, "\"msg\":\"listening\"");
      const char *port = l ? strstr(l, "\"port\":") : NULL;
      if (port) s->port = atoi(port + 7);
    }
    free(text);
    if (line) return 1;
    usleep(20000);
  }
  char *text = serve_log(s);
  fprintf(stderr, "no \"%s\" in:\n%s\n", what, text);
  free(text);
  return 0;
}

static char claimed_site(serve_process *s) {
  char *text = serve_log(s);
  const char *c = strstr(text, "\"msg\":\"claimed the site\",\"site\":\"");
  char site = c ? c[strlen("\"msg\":\"claimed the site\",\"site\":\"")] : '?';
  free(text);
  return site;
}

static PGresult *query(const char *sql) {
  PGconn *c = PQconnectdb(uri);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
  PQfinish(c);
  return r;
}

static long long count(const char *sql) {
  PGresult *r = query(sql);
  long long n = atoll(PQgetvalue(r, 0, 0));
  PQclear(r);
  return n;
}

/* A site's log: seq 1, 2, ... and each row chained to the one before. */
static void check_chain(const char *site) {
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT seq, body, prev, hash FROM vigil_events WHERE site = '%s' ORDER BY seq", site);
  PGresult *r = query(sql);
  char prev[65] = "";
  for (int i = 0; i < PQntuples(r); i++) {
    char hash[65];
    assert_int_equal(atoll(PQgetvalue(r, i, 0)), i + 1);
    assert_string_equal(PQgetvalue(r, i, 2), prev);
    vigil__store_row_hash(prev, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), hash);
    assert_string_equal(PQgetvalue(r, i, 3), hash);
    memcpy(prev, hash, sizeof prev);
  }
  PQclear(r);
}

static void takeover_and_fencing(void **state) {
  (void)state;
  serve_process n1, n2, n3;
  node_setup(&n1, "n1");
  node_setup(&n2, "n2");
  node_setup(&n3, "n3");
  char cmd[9000];
  snprintf(cmd, sizeof cmd,
           "echo '" SERVE_PASSWORD "' | '%s' user add " SERVE_USER
           " --role nurse --password-stdin --db '%s' >/dev/null",
           n1.vigil, uri);
  assert_int_equal(system(cmd), 0);

  node_spawn(&n1);
  assert_true(node_says(&n1, "\"msg\":\"listening\"", 30000));
  node_spawn(&n2);
  assert_true(node_says(&n2, "\"msg\":\"listening\"", 30000));
  node_spawn(&n3);
  assert_true(node_says(&n3, "standby", 30000));
  assert_int_equal(claimed_site(&n1), 'a');
  assert_int_equal(claimed_site(&n2), 'b');

  /* A nurse on n1 (site a): a visit, readings, then n1 dies mid-load. */
  uint64_t v = serve_start_visit(&n1, "takeover", "chair-1");
  assert_int_equal(v, 1);
  double started = now_ms();
  int acked = 0;
  while (now_ms() < started + 400)
    if (serve_request(&n1, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 120}}", NULL) == 200) acked++;
  assert_true(acked > 0);
  /* One more with an Idempotency-Key: its retry after the takeover, on n3,
   * gets this answer and records nothing (the key is in the shared store,
   * written with the entry's events). */
  const char *keyed_entry = "{\"load\": {\"sbp\": 149}}";
  hc_conn kc;
  hc_response first;
  assert_int_equal(hc_connect(&kc, n1.port), 0);
  assert_int_equal(
      hc_request_keyed(&kc, "POST", "/api/v1/visits/1/entries", n1.token, "retry-after-takeover", keyed_entry, &first),
      0);
  hc_close(&kc);
  assert_int_equal(first.status, 200);
  acked++;
  serve_stop(&n1, 1);
  double killed = now_ms();

  /* n3 takes site a over. */
  assert_true(node_says(&n3, "\"msg\":\"listening\"", (LEASE_S + 10) * 1000));
  double took = now_ms() - killed;
  fprintf(stderr, "# takeover after %.0f ms (lease %d s)\n", took, LEASE_S);
  assert_true(took < (LEASE_S + 5) * 1000);
  assert_int_equal(claimed_site(&n3), 'a');
  /* The session n1 gave is valid on n3: sessions live in the store. */
  memcpy(n3.token, n1.token, sizeof n3.token);
  char *body = NULL;
  assert_int_equal(serve_request(&n3, "GET", "/api/v1/visits/1", NULL, &body), 200);
  free(body);
  /* Any node tells who owns what; a request about another node's site is
   * sent to its owner. */
  assert_int_equal(serve_request(&n3, "GET", "/api/v1/cluster", NULL, &body), 200);
  json_t *cl = json_loads(body, 0, NULL);
  free(body);
  assert_string_equal(json_string_value(json_object_get(cl, "site")), "a");
  json_t *sites = json_object_get(cl, "sites"), *x;
  size_t i;
  int seen = 0;
  json_array_foreach(sites, i, x) {
    const char *name = json_string_value(json_object_get(x, "site"));
    const char *owner = json_string_value(json_object_get(x, "owner"));
    if (!strcmp(name, "a")) seen += !strcmp(owner, "n3") && json_integer_value(json_object_get(x, "epoch")) == 2;
    if (!strcmp(name, "b")) seen += !strcmp(owner, "n2") && json_integer_value(json_object_get(x, "lease_ms")) > 0;
  }
  assert_int_equal(seen, 2);
  json_decref(cl);
  assert_int_equal(serve_request(&n3, "GET", "/metrics", NULL, &body), 200);
  const char *renewals = strstr(body, "\nvigil_lease_renewals_total ");
  assert_non_null(renewals);
  assert_true(atoi(renewals + strlen("\nvigil_lease_renewals_total ")) > 0);
  free(body);
  hc_conn hc;
  hc_response moved;
  assert_int_equal(hc_connect(&hc, n3.port), 0);
  assert_int_equal(hc_request(&hc, "GET", "/api/v1/visits/1?site=b", n3.token, NULL, &moved), 0);
  char location[256];
  assert_int_equal(moved.status, 307);
  assert_non_null(hc_header(&moved, "Location", location, sizeof location));
  assert_string_equal(location, "http://127.0.0.1:1/n2/api/v1/visits/1?site=b");
  hc_response_free(&moved);
  hc_close(&hc);
  /* The retry of the keyed entry, on the new owner: the first answer. */
  hc_response again;
  char replayed[16];
  assert_int_equal(hc_connect(&kc, n3.port), 0);
  assert_int_equal(
      hc_request_keyed(&kc, "POST", "/api/v1/visits/1/entries", n3.token, "retry-after-takeover", keyed_entry, &again),
      0);
  assert_int_equal(again.status, 200);
  assert_string_equal(again.body, first.body);
  assert_non_null(hc_header(&again, "Idempotent-Replayed", replayed, sizeof replayed));
  hc_response_free(&again);
  /* The same key with another entry: 422, nothing recorded. */
  assert_int_equal(hc_request_keyed(&kc, "POST", "/api/v1/visits/1/entries", n3.token, "retry-after-takeover",
                                    "{\"load\": {\"sbp\": 150}}", &again),
                   0);
  assert_int_equal(again.status, 422);
  hc_response_free(&again);
  hc_close(&kc);
  hc_response_free(&first);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'a' AND body LIKE '%\"sbp\":149%'"), 1);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%\"sbp\":150%'"), 0);

  /* Every acknowledged reading is there (one more if n1 died between its
   * commit and its answer); the checkpoint fired once, late. */
  long long readings = count("SELECT count(*) FROM vigil_events WHERE site = 'a' AND type = 'item.recorded'");
  assert_true(readings >= acked && readings <= acked + 1);
  usleep(1000000);
  PGresult *r = query("SELECT body FROM vigil_events WHERE site = 'a' AND type = 'item.overdue'");
  assert_int_equal(PQntuples(r), 1);
  json_t *overdue = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
  PQclear(r);
  json_int_t late = json_integer_value(json_object_get(json_object_get(overdue, "data"), "late_ms"));
  fprintf(stderr, "# the checkpoint fired %lld ms late, after the takeover\n", (long long)late);
  assert_true(late > 0);
  json_decref(overdue);
  check_chain("a");
  /* n3 said it took over after an unclean stop (n1 died). */
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'a' AND type = 'engine.started' "
                         "AND body LIKE '%\"unclean\":true%'"),
                   1);

  /* n2 (site b) is stopped until n1, back as a standby, takes site b. */
  uint64_t w = serve_start_visit(&n2, "takeover", "chair-2");
  assert_int_equal(w, 1);
  node_spawn(&n1);
  assert_true(node_says(&n1, "standby", 30000));
  kill(n2.pid, SIGSTOP);
  assert_true(node_says(&n1, "\"msg\":\"listening\"", (LEASE_S + 10) * 1000));
  assert_int_equal(claimed_site(&n1), 'b');
  hc_conn c;
  assert_int_equal(hc_connect(&c, n2.port), 0);
  char *req = hc_format("POST", "/api/v1/visits/1/entries", n2.token, "{\"load\": {\"sbp\": 177}}");
  assert_int_equal(hc_send_str(&c, req), 0);
  free(req);
  kill(n2.pid, SIGCONT);
  hc_response resp = {0};
  int got = hc_read(&c, &resp, 10000);
  if (got == 0) {
    fprintf(stderr, "# the stopped owner answered %d\n", resp.status);
    assert_int_equal(resp.status, 503);
    hc_response_free(&resp);
  }
  hc_close(&c);
  int status = 0;
  assert_int_equal(waitpid(n2.pid, &status, 0), n2.pid);
  n2.pid = 0;
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 3);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%\"sbp\":177%'"), 0);
  memcpy(n1.token, n2.token, sizeof n1.token);
  assert_int_equal(serve_request(&n1, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 177}}", NULL), 200);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'b' AND body LIKE '%\"sbp\":177%'"), 1);
  check_chain("b");

  /* PostgreSQL killed and restarted: the command during the outage fails
   * cleanly (503, nothing recorded), and the nodes reconnect and go on. */
  assert_int_equal(pg_cluster_stop(&pgc, 1), 0);
  double down = now_ms();
  assert_int_equal(serve_request(&n3, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 166}}", NULL), 503);
  assert_int_equal(pg_cluster_restart(&pgc), 0);
  double outage = now_ms() - down;
  fprintf(stderr, "# PostgreSQL was down %.0f ms\n", outage);
  if (outage < (LEASE_S * 1000) * 3 / 5) { /* shorter than a node waits before it self-fences */
    assert_int_equal(serve_request(&n3, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 131}}", NULL), 200);
    assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%\"sbp\":166%'"), 0);
    assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'a' AND body LIKE '%\"sbp\":131%'"), 1);
  }

  /* PostgreSQL down for longer than the lease: a node that cannot renew
   * stops on its own before its lease can end (self-fencing on its own
   * monotonic clock), exit status 3, while its site may be another's. */
  usleep(LEASE_S * 1000000 / 3 + 200000); /* a renewal since the restart */
  assert_int_equal(pg_cluster_stop(&pgc, 1), 0);
  down = now_ms();
  serve_process *owners[] = {&n1, &n3};
  for (int k = 0; k < 2; k++) {
    status = 0;
    while (waitpid(owners[k]->pid, &status, WNOHANG) == 0 && now_ms() < down + (LEASE_S + 5) * 1000)
      usleep(20000);
    double gone = now_ms() - down;
    fprintf(stderr, "# a node without PostgreSQL stopped after %.0f ms\n", gone);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_true(gone < LEASE_S * 1000);
    owners[k]->pid = 0;
  }

  serve_cleanup(&n1);
  serve_cleanup(&n2);
  serve_cleanup(&n3);
}

static int group_setup(void **state) {
  (void)state;
  if (pg_cluster_start(&pgc) < 0) return -1;
  return pg_cluster_createdb(&pgc, "cluster", uri, sizeof uri);
}

static int group_teardown(void **state) {
  (void)state;
  pg_cluster_cleanup(&pgc);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(takeover_and_fencing)};
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
