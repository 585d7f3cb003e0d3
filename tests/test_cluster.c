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
 * once; the key with another entry is 422. The webhook (a receiver in this
 * test) goes on after the takeover from site a's cursor, which n1 kept in
 * the shared store, not from the beginning nor from site b's. A client of
 * site a's event stream (ids SITE:SEQ) that resumes with Last-Event-ID at
 * a node that does not own the site is sent (307) to n3, which gives it
 * every event after its last one, without a gap. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
static int lease_s = LEASE_S; /* the nodes' lease_time (the --long loop's is shorter) */

/* Vitals due 1 s after the start, overdue 1 s later; readings of "load"
 * whenever the nurse likes. */
static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'takeover' { version = '1.0.0', phases = {\n"
                              "  v.phase 'one' { items = {\n"
                              "    v.vitals 'load' { fields = { 'sbp' }, required = false },\n"
                              "    v.vitals 'vitals' { fields = { 'sbp' }, at = '1s', grace = '1s' },\n"
                              "  } } } }\n";

static pg_cluster pgc;
static char uri[256], cluster_uri[256]; /* the database of the test running; takeover_and_fencing's */

/* The webhook's receiver: each node posts to /NODE; it answers 200, or 503
 * to /n1 while refuse_n1 is set, and keeps the webhook-id (the event's seq
 * in its site) of each post it took, by node. */
#define HOOK_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
static struct {
  pthread_t thread;
  pthread_mutex_t lock;
  int fd, port, running, refuse_n1;
  char taken[4][32768]; /* n1, n2, n3: " 1 2 3 ..." */
  char site[4][16];     /* the Vigil-Site of each node's last post */
} hook = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void hook_take(int c) {
  char req[16384] = "";
  size_t got = 0;
  long want = -1;
  struct pollfd pf = {c, POLLIN, 0};
  while (got < sizeof req - 1 && poll(&pf, 1, 2000) > 0) {
    ssize_t k = recv(c, req + got, sizeof req - 1 - got, 0);
    if (k <= 0) break;
    got += (size_t)k;
    req[got] = '\0';
    char *end = strstr(req, "\r\n\r\n"), *cl = strcasestr(req, "\ncontent-length:");
    if (end && want < 0) want = (long)(end + 4 - req) + (cl ? atol(cl + 16) : 0);
    if (want >= 0 && (long)got >= want) break;
  }
  int node = 0;
  char *id = strcasestr(req, "\nwebhook-id:");
  if (got > 8 && !strncmp(req, "POST /n", 7)) node = req[7] - '0';
  pthread_mutex_lock(&hook.lock);
  int refuse = node == 1 && hook.refuse_n1;
  if (node >= 1 && node <= 3 && id && !refuse) {
    size_t used = strlen(hook.taken[node]);
    snprintf(hook.taken[node] + used, sizeof hook.taken[node] - used, " %ld", atol(id + 12));
    char *site = strcasestr(req, "\nvigil-site: ");
    snprintf(hook.site[node], sizeof hook.site[node], "%.*s", site ? (int)strcspn(site + 13, "\r\n") : 0,
             site ? site + 13 : "");
  }
  pthread_mutex_unlock(&hook.lock);
  const char *answer = refuse ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                              : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  send(c, answer, strlen(answer), MSG_NOSIGNAL);
}

static void *hook_main(void *ud) {
  (void)ud;
  while (__atomic_load_n(&hook.running, __ATOMIC_SEQ_CST)) {
    struct pollfd pf = {hook.fd, POLLIN, 0};
    if (poll(&pf, 1, 50) <= 0) continue;
    int c = accept(hook.fd, NULL, NULL);
    if (c < 0) continue;
    hook_take(c);
    close(c);
  }
  return NULL;
}

static void hook_up(void) {
  hook.fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(hook.fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(hook.fd, 64), 0);
  getsockname(hook.fd, (struct sockaddr *)&a, &len);
  hook.port = ntohs(a.sin_port);
  hook.running = 1;
  assert_int_equal(pthread_create(&hook.thread, NULL, hook_main, NULL), 0);
}

static void hook_down(void) {
  __atomic_store_n(&hook.running, 0, __ATOMIC_SEQ_CST);
  pthread_join(hook.thread, NULL);
  close(hook.fd);
}

/* Whether node took the webhook-id seq (" 5" in " 1 5 9"). */
static int hook_took(int node, long long seq) {
  char want[32];
  snprintf(want, sizeof want, " %lld ", seq);
  static char all[sizeof hook.taken[0] + 2];
  pthread_mutex_lock(&hook.lock);
  snprintf(all, sizeof all, "%s ", hook.taken[node]);
  pthread_mutex_unlock(&hook.lock);
  return strstr(all, want) != NULL;
}

/* The smallest webhook-id node took, or 0. */
static long long hook_first(int node) {
  pthread_mutex_lock(&hook.lock);
  long long first = 0;
  for (const char *p = hook.taken[node]; *p;) {
    long long x = strtoll(p, (char **)&p, 10);
    if (x && (!first || x < first)) first = x;
  }
  pthread_mutex_unlock(&hook.lock);
  return first;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* The node's vigil.conf: its name, the sites it may own. */
static void node_conf(serve_process *s, const char *name, const char *sites) {
  FILE *f = fopen(s->conf, "w");
  assert_non_null(f);
  fprintf(f,
          "listen = \"127.0.0.1:0\"\ndatabase = \"%s\"\nprotocols = \"%s\"\nnode = \"%s\"\n"
          "advertise = \"http://127.0.0.1:1/%s\"\nsites = \"%s\"\nlease_time = %d\nplugin_dir = \"%s\"\n"
          "plugins = { webhook = { start = 'beginning', retry_min = 0.05, retry_max = 0.2, retry_for = 600,\n"
          "  endpoints = { { name = 'hook', url = 'http://127.0.0.1:%d/%s', secret = '" HOOK_SECRET "' } } } }\n",
          uri, s->protocol, name, name, sites, lease_s, s->plugins, hook.port, name);
  fclose(f);
}

static void node_setup(serve_process *s, const char *name, const char *sites) {
  assert_int_equal(serve_setup(s, PROTOCOL), 0);
  node_conf(s, name, sites);
  char cmd[9000]; /* a node claims only sites that exist (C7) */
  snprintf(cmd, sizeof cmd, "'%s' site add '%s' --store '%s' >/dev/null", s->vigil, sites, uri);
  assert_int_equal(system(cmd), 0);
}

/* The nurse every test signs in as, in the test's database. */
static void add_nurse(serve_process *s) {
  char cmd[9000];
  snprintf(cmd, sizeof cmd,
           "echo '" SERVE_PASSWORD "' | '%s' user add " SERVE_USER
           " --role nurse --password-stdin --db '%s' >/dev/null",
           s->vigil, uri);
  assert_int_equal(system(cmd), 0);
}

/* Starts the node without waiting for it to listen (a standby does not). */
static void node_spawn(serve_process *s) {
  struct stat st;
  s->log_from = stat(s->log, &st) == 0 ? st.st_size : 0;
  s->port = 0;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* A test that fails half way must not leave its nodes running (one
     * did, as serve_process.c's children never do). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
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

/* The head of the last stream_open's answer (its Location on a 307). */
static hc_response stream_head;

/* GET /api/v1/events/stream (query: "" or "?..."), Last-Event-ID when not
 * NULL: the status; a 200's head is read and freed, another's kept in
 * stream_head. */
static int stream_open(hc_conn *c, int port, const char *token, const char *query, const char *last_id) {
  char req[512];
  assert_int_equal(hc_connect(c, port), 0);
  snprintf(req, sizeof req,
           "GET /api/v1/events/stream%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
           "Authorization: Bearer %s\r\n%s%s%s\r\n",
           query, token, last_id ? "Last-Event-ID: " : "", last_id ? last_id : "", last_id ? "\r\n" : "");
  assert_int_equal(hc_send_str(c, req), 0);
  assert_int_equal(hc_read(c, &stream_head, 10000), 0);
  int status = stream_head.status;
  if (status == 200) hc_response_free(&stream_head);
  return status;
}

/* The next event's frame id (heartbeats skipped): 0, or -1. */
static int stream_next(hc_conn *c, char *id, size_t len) {
  for (;;) {
    hc_sse ev;
    if (hc_sse_read(c, &ev, 10000) < 0) return -1;
    int data = ev.data != NULL;
    snprintf(id, len, "%s", ev.id);
    hc_sse_free(&ev);
    if (data) return 0;
  }
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

/* The request is answered 307 at location. */
static void assert_moved(serve_process *s, const char *method, const char *path, const char *body,
                         const char *location) {
  hc_conn hc;
  hc_response moved;
  assert_int_equal(hc_connect(&hc, s->port), 0);
  assert_int_equal(hc_request(&hc, method, path, s->token, body, &moved), 0);
  char at[256];
  assert_int_equal(moved.status, 307);
  assert_non_null(hc_header(&moved, "Location", at, sizeof at));
  assert_string_equal(at, location);
  hc_response_free(&moved);
  hc_close(&hc);
}

/* A metric's value in the node's /metrics (-1: not there). */
static double metric(serve_process *s, const char *name) {
  char *body = NULL;
  assert_int_equal(serve_request(s, "GET", "/metrics", NULL, &body), 200);
  char line[300];
  snprintf(line, sizeof line, "\n%s ", name);
  const char *at = strstr(body, line);
  double x = at ? atof(at + strlen(line)) : -1;
  free(body);
  return x;
}

static void takeover_and_fencing(void **state) {
  (void)state;
  memcpy(uri, cluster_uri, sizeof uri);
  serve_process n1, n2, n3;
  /* Each node claims every free site of its list: n1 a, n2 b; n3 lists a
   * only, so it waits for a. */
  node_setup(&n1, "n1", "a");
  node_setup(&n2, "n2", "b");
  node_setup(&n3, "n3", "a");
  add_nurse(&n1);

  node_spawn(&n1);
  assert_true(node_says(&n1, "\"msg\":\"listening\"", 30000));
  node_spawn(&n2);
  assert_true(node_says(&n2, "\"msg\":\"listening\"", 30000));
  node_spawn(&n3);
  assert_true(node_says(&n3, "standby", 30000));
  assert_int_equal(claimed_site(&n1), 'a');
  assert_int_equal(claimed_site(&n2), 'b');

  /* A nurse on n1 (site a): a visit, readings, then n1 dies mid-load. */
  /* The webhook (on each site's owner) has delivered site a's events so
   * far; from now on the receiver refuses n1's posts, so n1's cursor for
   * site a stays here. Site b's owner delivers on, its cursor further on. */
  assert_int_equal(serve_start_visit(&n2, "takeover", "chair-2"), 1);
  for (int k = 0; k < 10; k++)
    assert_int_equal(serve_request(&n2, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 110}}", NULL), 200);
  long long b_head = count("SELECT max(seq) FROM vigil_events WHERE site = 'b'");
  assert_int_equal(serve_request(&n1, "GET", "/api/v1/visits", NULL, NULL), 200); /* signs in: site a's log */
  long long a_delivered = count("SELECT COALESCE(max(seq), 0) FROM vigil_events WHERE site = 'a'");
  assert_true(a_delivered > 0);
  double wait_until = now_ms() + 10000;
  while (!(hook_took(1, a_delivered) && hook_took(2, b_head)) && now_ms() < wait_until)
    usleep(20000);
  assert_true(hook_took(1, a_delivered));
  assert_true(hook_took(2, b_head));
  usleep(300000); /* n1 keeps its cursor once the receiver answered */
  pthread_mutex_lock(&hook.lock);
  hook.refuse_n1 = 1;
  pthread_mutex_unlock(&hook.lock);
  uint64_t v = serve_start_visit(&n1, "takeover", "chair-1");
  assert_int_equal(v, 1);
  /* A client follows site a's event stream on n1 up to here; its ids are
   * SITE:SEQ. It resumes after the takeover (below). */
  long long streamed = count("SELECT max(seq) FROM vigil_events WHERE site = 'a'");
  char last_id[64];
  hc_conn sc;
  assert_int_equal(stream_open(&sc, n1.port, n1.token, "?after=0", NULL), 200);
  for (long long q = 1; q <= streamed; q++) {
    char want[64];
    assert_int_equal(stream_next(&sc, last_id, sizeof last_id), 0);
    snprintf(want, sizeof want, "a:%lld", q);
    assert_string_equal(last_id, want);
  }
  hc_close(&sc);
  double started = now_ms();
  int acked = 0;
  while (now_ms() < started + 400 || acked < 20)
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
  /* n3 took site a over, and the checkpoint that fell due meanwhile fired
   * late after it (the histogram of /metrics). */
  usleep(300000);
  assert_int_equal(metric(&n3, "vigil_site_takeovers_total"), 1);
  assert_int_equal(metric(&n3, "vigil_takeover_timer_lateness_seconds_count"), 1);
  assert_true(metric(&n3, "vigil_takeover_timer_lateness_seconds_sum") > 0);
  assert_int_equal(metric(&n3, "vigil_takeover_timer_lateness_seconds_bucket{le=\"+Inf\"}"), 1);
  assert_moved(&n3, "GET", "/api/v1/visits/1?site=b", NULL, "http://127.0.0.1:1/n2/api/v1/visits/1?site=b");
  /* The retry of the keyed entry, on the new owner: the first answer's
   * status, with the visit as it is there now (the checkpoint's alert
   * came since; the key keeps no body, docs/security.md Y6). */
  hc_response again;
  char replayed[16];
  assert_int_equal(hc_connect(&kc, n3.port), 0);
  assert_int_equal(
      hc_request_keyed(&kc, "POST", "/api/v1/visits/1/entries", n3.token, "retry-after-takeover", keyed_entry, &again),
      0);
  assert_int_equal(again.status, 200);
  assert_int_equal(serve_request(&n3, "GET", "/api/v1/visits/1", NULL, &body), 200);
  assert_string_equal(again.body, body);
  free(body);
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

  /* The webhook went on from site a's cursor on n3: every event of site a
   * n1 could not deliver reached the receiver from n3 (at least once), and
   * n3 began where n1 stopped, not at the beginning nor at site b's cursor. */
  long long a_head = count("SELECT max(seq) FROM vigil_events WHERE site = 'a'");
  wait_until = now_ms() + 15000;
  while (!hook_took(3, a_head) && now_ms() < wait_until)
    usleep(50000);
  for (long long q = a_delivered + 1; q <= a_head; q++)
    if (!hook_took(3, q))
      fail_msg("site a's event %lld never delivered after the takeover (n1 stopped after %lld)", q, a_delivered);
  fprintf(stderr, "# the webhook: n1 delivered site a up to %lld, n3 went on from %lld to %lld\n", a_delivered,
          hook_first(3), a_head);
  assert_true(hook_first(3) > a_delivered - 1 && hook_first(3) <= a_delivered + 1);
  /* Each delivery names its site (webhook-ids count per site). */
  pthread_mutex_lock(&hook.lock);
  assert_string_equal(hook.site[3], "a");
  assert_string_equal(hook.site[2], "b");
  pthread_mutex_unlock(&hook.lock);

  /* The stream's client resumes with Last-Event-ID: sent to n2 (site b's
   * owner) it is sent on to site a's new owner, n3, where it gets every
   * event after the one it saw (n1's last ones, then n3's), without a gap. */
  char location2[256];
  assert_int_equal(stream_open(&sc, n2.port, n2.token, "", last_id), 307);
  assert_non_null(hc_header(&stream_head, "Location", location2, sizeof location2));
  hc_response_free(&stream_head);
  hc_close(&sc);
  assert_string_equal(location2, "http://127.0.0.1:1/n3/api/v1/events/stream");
  assert_int_equal(stream_open(&sc, n3.port, n3.token, "", last_id), 200);
  a_head = count("SELECT max(seq) FROM vigil_events WHERE site = 'a'");
  for (long long q = streamed + 1; q <= a_head; q++) {
    char want[64];
    assert_int_equal(stream_next(&sc, last_id, sizeof last_id), 0);
    snprintf(want, sizeof want, "a:%lld", q);
    assert_string_equal(last_id, want);
  }
  hc_close(&sc);
  fprintf(stderr, "# the stream resumed on n3 after a:%lld, gapless to a:%lld\n", streamed, a_head);

  /* n2 (site b) is stopped until n1, back as a standby, takes site b. */
  /* (visit 1 of site b was started on n2 above) */
  node_conf(&n1, "n1", "b");
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

  /* PostgreSQL killed and restarted under the nodes: postgresql_restarted
   * (a lease long enough for any restart). */

  /* PostgreSQL down for longer than the lease: a node that cannot renew
   * stops on its own before its lease can end (self-fencing on its own
   * monotonic clock), exit status 3, while its site may be another's. */
  assert_int_equal(pg_cluster_stop(&pgc, 1), 0);
  double down = now_ms();
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
    char *text = serve_log(owners[k]); /* the watchdog's line is timed as every other */
    assert_non_null(strstr(text, "\",\"level\":\"error\",\"msg\":\"the site's lease was not renewed in time"));
    assert_non_null(strstr(text, "{\"time\":\"20"));
    const char *fenced = strstr(text, "the site's lease was not renewed in time");
    while (fenced > text && fenced[-1] != '\n')
      fenced--;
    assert_int_equal(strncmp(fenced, "{\"time\":\"", 9), 0);
    free(text);
  }

  serve_cleanup(&n1);
  serve_cleanup(&n2);
  serve_cleanup(&n3);
}

/* A node named name on a new database db, owning site, listening, with
 * visit 1 started (the nurse's). */
static void owner_with_a_visit(serve_process *s, const char *db, const char *name, const char *site) {
  assert_int_equal(pg_cluster_createdb(&pgc, db, uri, sizeof uri), 0);
  node_setup(s, name, site);
  add_nurse(s);
  node_spawn(s);
  assert_true(node_says(s, "\"msg\":\"listening\"", 30000));
  assert_int_equal(serve_start_visit(s, "takeover", "chair-1"), 1);
}

/* PostgreSQL killed (an immediate stop: a crash) and restarted under a
 * running node: the command during the outage fails cleanly (503, nothing
 * recorded), and the node reconnects and goes on. The lease (30 s) is
 * longer than any restart takes on a loaded machine, so the node never
 * self-fences here: an outage that long fails the test, it is not skipped. */
static void postgresql_restarted(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_restart(&pgc), 0); /* takeover_and_fencing left it stopped */
  lease_s = 30;
  serve_process r1;
  owner_with_a_visit(&r1, "restart", "r1", "r");
  assert_int_equal(serve_request(&r1, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 120}}", NULL), 200);
  assert_int_equal(pg_cluster_stop(&pgc, 1), 0);
  double down = now_ms();
  assert_int_equal(serve_request(&r1, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 166}}", NULL), 503);
  assert_int_equal(pg_cluster_restart(&pgc), 0);
  double outage = now_ms() - down;
  fprintf(stderr, "# PostgreSQL was down %.0f ms\n", outage);
  if (outage >= lease_s * 1000 * 4 / 5)
    fail_msg("PostgreSQL took %.0f ms to restart, longer than the node waits before it self-fences", outage);
  assert_int_equal(serve_request(&r1, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 131}}", NULL), 200);
  assert_int_equal(waitpid(r1.pid, NULL, WNOHANG), 0);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%\"sbp\":166%'"), 0);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'r' AND body LIKE '%\"sbp\":131%'"), 1);
  check_chain("r");
  assert_int_equal(serve_stop(&r1, 0), 0);
  serve_cleanup(&r1);
  lease_s = LEASE_S;
}

/* GET path on s: its status, the body in *body (the caller frees it). */
static int get_body(serve_process *s, const char *path, char **body) {
  *body = NULL;
  return serve_request(s, "GET", path, NULL, body);
}

/* D1 of the second try (docs/deploy.md): a command that failed during a
 * PostgreSQL outage took its visit out of memory (it could not be read
 * back), and until PostgreSQL was back the site's board was empty: 200
 * with no visits and no alerts, the visit 404. Reads of a site with a visit
 * not rebuilt answer 503 store_unavailable until it is, never an empty
 * board; once PostgreSQL is back the visit and its alert are there. */
static void reads_during_an_outage_never_show_an_empty_board(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_restart(&pgc), 0);
  lease_s = 30;
  serve_process r;
  owner_with_a_visit(&r, "board", "d1", "d");
  char *body = NULL;
  double deadline = now_ms() + 10000; /* the vitals are overdue 2 s after the start: an alert */
  int status;
  while ((status = get_body(&r, "/api/v1/alerts", &body)) == 200 && strstr(body, "\"alerts\":[]") &&
         now_ms() < deadline) {
    free(body);
    usleep(100000);
  }
  assert_int_equal(status, 200);
  assert_null(strstr(body, "\"alerts\":[]"));
  free(body);
  assert_int_equal(pg_cluster_stop(&pgc, 1), 0);
  double down = now_ms();
  assert_int_equal(serve_request(&r, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 166}}", NULL), 503);
  static const char *const reads[] = {"/api/v1/visits", "/api/v1/alerts", "/api/v1/visits/1"};
  int seen[3];
  char *bodies[3];
  for (int i = 0; i < 3; i++)
    seen[i] = get_body(&r, reads[i], &bodies[i]);
  int health = get_body(&r, "/healthz", &body);
  assert_int_equal(pg_cluster_restart(&pgc), 0);
  fprintf(stderr, "# PostgreSQL was down %.0f ms\n", now_ms() - down);
  for (int i = 0; i < 3; i++) {
    fprintf(stderr, "# GET %s during the outage: %d %s\n", reads[i], seen[i], bodies[i] ? bodies[i] : "");
    assert_int_equal(seen[i], 503);
    assert_non_null(strstr(bodies[i], "\"code\":\"store_unavailable\""));
    free(bodies[i]);
  }
  assert_int_equal(health, 200); /* the health check says degraded, it is not refused */
  assert_non_null(strstr(body, "\"visits_not_rebuilt\":1"));
  free(body);
  /* PostgreSQL back: the board as it was, the failed entry not in it. */
  assert_int_equal(get_body(&r, "/api/v1/visits/1", &body), 200);
  assert_null(strstr(body, "166"));
  free(body);
  assert_int_equal(get_body(&r, "/api/v1/alerts", &body), 200);
  assert_null(strstr(body, "\"alerts\":[]"));
  free(body);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%\"sbp\":166%'"), 0);
  assert_int_equal(serve_stop(&r, 0), 0);
  serve_cleanup(&r);
  lease_s = LEASE_S;
}

/* C2 of the independent try (docs/deploy.md): a standby whose claim finds
 * PostgreSQL down (a restart, a failover) waits and tries again; it used
 * to exit with status 1 at its first claim during the outage. Once the
 * database is back it takes the site when its owner stops. */
static void a_standby_outlives_a_postgresql_restart(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "blip", uri, sizeof uri), 0);
  lease_s = 6; /* a claim every 2 s */
  serve_process owner, standby;
  node_setup(&owner, "b1", "b");
  node_setup(&standby, "b2", "b");
  add_nurse(&owner);
  node_spawn(&owner);
  assert_true(node_says(&owner, "\"msg\":\"listening\"", 30000));
  node_spawn(&standby);
  assert_true(node_says(&standby, "site owned by another node", 30000));
  assert_int_equal(pg_cluster_stop(&pgc, 0), 0);
  int said = node_says(&standby, "cannot reach the database to claim the site", 5000);
  assert_int_equal(pg_cluster_restart(&pgc), 0);
  assert_true(said);
  assert_int_equal(waitpid(standby.pid, NULL, WNOHANG), 0); /* still there */
  assert_true(node_says(&standby, "the database answers claims again", 10000));
  /* The owner may have fenced itself (the outage, with a restart, can pass
   * four fifths of the lease): either way the standby takes the site. */
  serve_stop(&owner, 0);
  assert_true(node_says(&standby, "\"msg\":\"claimed the site\"", 20000));
  assert_true(node_says(&standby, "\"msg\":\"listening\"", 10000));
  assert_int_equal(serve_stop(&standby, 0), 0);
  serve_cleanup(&owner);
  serve_cleanup(&standby);
  lease_s = LEASE_S;
}

/* AF4 of the integrator's try: a node claims its site, then loads its
 * protocols, and the loop renews nothing meanwhile; a load longer than four
 * fifths of the lease fenced the node at every start (status 3). Here the
 * node loads eight copies of the bundled ketamine_iv (with their specs)
 * under a lease of 2 s: it must serve its site, and go on serving. */
static void a_node_slow_to_load_keeps_its_site(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "slowload", uri, sizeof uri), 0);
  lease_s = 2;
  serve_process n;
  node_setup(&n, "s1", "slow");
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "mkdir -p %s/many && cp -r protocols/_meta %s/many/ && for i in 1 2 3 4 5 6 7 8; do "
           "cp -r protocols/ketamine_iv %s/many/k$i && "
           "sed -i 's/return v.protocol \"ketamine_iv\"/return v.protocol \"k'$i'\"/' %s/many/k$i/protocol.lua; done",
           n.root, n.root, n.root, n.root);
  assert_int_equal(system(cmd), 0);
  snprintf(n.protocol, sizeof n.protocol, "%s/many", n.root);
  node_conf(&n, "s1", "slow");
  add_nurse(&n);
  node_spawn(&n);
  assert_true(node_says(&n, "\"msg\":\"claimed the site\"", 30000));
  double claimed = now_ms();
  assert_true(node_says(&n, "\"msg\":\"listening\"", 180000));
  double loaded = now_ms() - claimed;
  fprintf(stderr, "# from the claim to listening: %.0f ms (the fence, unrenewed: %d ms)\n", loaded, lease_s * 800);
  usleep(1000 * 1000); /* half a lease of serving: renewals, no fence */
  assert_int_equal(waitpid(n.pid, NULL, WNOHANG), 0);
  char *text = serve_log(&n);
  if (strstr(text, "not renewed in time")) fail_msg("the node fenced itself after loading:\n%s", text);
  free(text);
  assert_int_equal(serve_stop(&n, 0), 0);
  serve_cleanup(&n);
  lease_s = LEASE_S;
}

/* C2 of the independent try (owners): an owner rides out any PostgreSQL
 * outage shorter than half the lease, whenever it begins (docs/deploy.md,
 * Leases). The database is frozen (every process of it stopped: it answers
 * nothing, as a hung machine or a network that drops every packet) for half
 * the lease, from just before a renewal is due: the worst moment, for the
 * fence counts from the start of the last renewal that succeeded. The
 * owner is still there afterwards and records an entry. Renewing every
 * third of the lease, it fenced itself 47% of the lease into the outage. */
static void an_owner_rides_out_an_outage_of_half_the_lease(void **state) {
  (void)state;
  lease_s = 20; /* the outage 10 s */
  serve_process o;
  owner_with_a_visit(&o, "outage", "o1", "o");
  /* Two renewals seen: how often they come, and when the next one is due. */
  double seen[2], was = metric(&o, "vigil_lease_renewals_total");
  for (int i = 0; i < 2; i++) {
    double now, deadline = now_ms() + lease_s * 1000;
    while ((now = metric(&o, "vigil_lease_renewals_total")) == was && now_ms() < deadline)
      usleep(10000);
    assert_true(now > was);
    seen[i] = now_ms();
    was = now;
  }
  double every = seen[1] - seen[0], due = seen[1] + every;
  while (now_ms() < due - 150)
    usleep(5000);
  assert_int_equal(pg_cluster_pause(&pgc, 1), 0);
  double began = now_ms();
  while (now_ms() < began + lease_s * 1000 / 2)
    usleep(10000);
  assert_int_equal(pg_cluster_pause(&pgc, 0), 0);
  fprintf(stderr, "# renewals every %.0f ms; PostgreSQL frozen for %.0f ms from %.0f ms before one was due\n", every,
          now_ms() - began, due - began);
  assert_int_equal(waitpid(o.pid, NULL, WNOHANG), 0); /* not fenced: still there */
  assert_int_equal(serve_request(&o, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 121}}", NULL), 200);
  char *text = serve_log(&o);
  assert_null(strstr(text, "was not renewed in time"));
  free(text);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'o' AND body LIKE '%\"sbp\":121%'"), 1);
  assert_int_equal(serve_stop(&o, 0), 0);
  serve_cleanup(&o);
  lease_s = LEASE_S;
}

/* Starts the node under libfaketime (lib), its wall clock as the variable
 * name says (FAKETIME: an offset; FAKETIME_TIMESTAMP_FILE: a file holding
 * one, read again every second), its monotonic clock real. */
static void node_spawn_faked(serve_process *s, const char *lib, const char *name, const char *value) {
  setenv("LD_PRELOAD", lib, 1);
  setenv(name, value, 1);
  setenv("FAKETIME_CACHE_DURATION", "1", 1);
  setenv("DONT_FAKE_MONOTONIC", "1", 1);
  node_spawn(s);
  unsetenv("LD_PRELOAD");
  unsetenv(name);
  unsetenv("FAKETIME_CACHE_DURATION");
  unsetenv("DONT_FAKE_MONOTONIC");
}

/* C5 of the independent try: a node whose wall clock is 30 min ahead of
 * the database's (libfaketime; its monotonic clock real) claims no site,
 * says why, and a node with a right clock takes the site. */
static void a_node_whose_clock_is_off_claims_no_site(void **state) {
  (void)state;
  const char *lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
  if (access(lib, R_OK) != 0) skip();
#if defined(__SANITIZE_ADDRESS__)
  /* The sanitizer's runtime must come first among the libraries: a preloaded
   * libfaketime stops the node before it starts. The plain build runs it. */
  skip();
#endif
  assert_int_equal(pg_cluster_createdb(&pgc, "clock", uri, sizeof uri), 0);
  serve_process off, right;
  node_setup(&off, "k1", "k");
  node_setup(&right, "k2", "k");
  add_nurse(&off);
  node_spawn_faked(&off, lib, "FAKETIME", "+30m");
  assert_true(node_says(&off, "this node's clock is off the database's", 30000));
  assert_int_equal(count("SELECT count(*) FROM vigil_sites WHERE owner = 'k1'"), 0);
  assert_int_equal(waitpid(off.pid, NULL, WNOHANG), 0); /* waits, as a standby */
  usleep(200000);
  char *said = serve_log(&off); /* D2 of the second try: the site is free, not owned */
  assert_null(strstr(said, "every site is owned"));
  free(said);
  node_spawn(&right);
  assert_true(node_says(&right, "\"msg\":\"listening\"", 30000));
  assert_int_equal(count("SELECT count(*) FROM vigil_sites WHERE owner = 'k2'"), 1);
  assert_int_equal(serve_stop(&right, 0), 0);
  serve_stop(&off, 0);
  serve_cleanup(&off);
  serve_cleanup(&right);
}

/* C5 of the independent try, at a renewal: a node whose wall clock goes
 * 30 min ahead while it owns a site (libfaketime reading its offset from a
 * file the test rewrites) gives the site up at its next renewal: the lease
 * freed (no owner), nothing more written by it, and, the site its only one,
 * it stops (status 3) saying why; a node with a right clock takes the site
 * without waiting for the lease to run out. */
static void a_node_whose_clock_goes_off_gives_its_site_up(void **state) {
  (void)state;
  const char *lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
  if (access(lib, R_OK) != 0) skip();
#if defined(__SANITIZE_ADDRESS__)
  skip(); /* as a_node_whose_clock_is_off_claims_no_site */
#endif
  assert_int_equal(pg_cluster_createdb(&pgc, "drift", uri, sizeof uri), 0);
  lease_s = 30; /* renewals every 3 s; the lease would hold 30 s */
  serve_process drift, right;
  node_setup(&drift, "g1", "g");
  node_setup(&right, "g2", "g");
  add_nurse(&drift);
  char offset_file[300];
  snprintf(offset_file, sizeof offset_file, "%s.faketime", drift.conf);
  FILE *f = fopen(offset_file, "w");
  assert_non_null(f);
  fputs("+0\n", f);
  fclose(f);
  node_spawn_faked(&drift, lib, "FAKETIME_TIMESTAMP_FILE", offset_file);
  assert_true(node_says(&drift, "\"msg\":\"listening\"", 30000));
  assert_int_equal(count("SELECT count(*) FROM vigil_sites WHERE site = 'g' AND owner = 'g1'"), 1);
  node_spawn(&right);
  assert_true(node_says(&right, "site owned by another node", 30000));
  f = fopen(offset_file, "w");
  assert_non_null(f);
  fputs("+30m\n", f);
  fclose(f);
  double went_off = now_ms();
  assert_true(node_says(&drift, "this node's clock is +18", 15000));
  int status = -1;
  for (double deadline = now_ms() + 15000; now_ms() < deadline; usleep(20000))
    if (waitpid(drift.pid, &status, WNOHANG) == drift.pid) break;
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 3);
  drift.pid = 0;
  assert_true(node_says(&right, "\"msg\":\"claimed the site\"", 20000));
  double taken = now_ms() - went_off;
  /* Stopped only once it serves (SIGTERM is handled from then on), as the
   * standby of a_standby_outlives_a_postgresql_restart. */
  assert_true(node_says(&right, "\"msg\":\"listening\"", 10000));
  fprintf(stderr, "# the clock went off; the site taken by the right node %.0f ms later (lease %d s)\n", taken,
          lease_s);
  assert_true(taken < 20000); /* given up: its lease ran at least 27 s more */
  assert_int_equal(count("SELECT count(*) FROM vigil_sites WHERE site = 'g' AND owner = 'g2'"), 1);
  assert_int_equal(serve_stop(&right, 0), 0);
  unlink(offset_file);
  serve_cleanup(&drift);
  serve_cleanup(&right);
  lease_s = LEASE_S;
}

/* A server on a new database named db, with vigil.conf's listen, database,
 * protocols and extra, is refused while starting: status 2, saying says. */
static void assert_refused(const char *db, const char *extra, const char *says) {
  assert_int_equal(pg_cluster_createdb(&pgc, db, uri, sizeof uri), 0);
  serve_process p;
  assert_int_equal(serve_setup(&p, PROTOCOL), 0);
  FILE *f = fopen(p.conf, "w");
  assert_non_null(f);
  fprintf(f, "listen = \"127.0.0.1:0\"\ndatabase = \"%s\"\nprotocols = \"%s\"\n%s", uri, p.protocol, extra);
  fclose(f);
  assert_true(serve_start(&p) < 0);
  assert_int_equal(p.exit_status, 2);
  char *text = serve_log(&p);
  assert_non_null(strstr(text, says));
  free(text);
  serve_cleanup(&p);
}

/* C6 of the independent try (in part): --sites without --node was ignored
 * without a word; it is refused (status 2), saying why. */
static void sites_without_a_node_are_refused(void **state) {
  (void)state;
  assert_refused("nonode", "sites = \"north\"\n", "--sites (vigil.conf sites) names the sites of a node");
}

/* E9 of the third try: lease_time 0.1 or 0.5 passed the check, and the node
 * fenced itself at every start (a restart loop): at least 2 seconds. */
static void a_lease_shorter_than_two_seconds_is_refused(void **state) {
  (void)state;
  assert_refused("shortlease", "node = \"x1\"\nsites = \"north\"\nlease_time = 0.5\n",
                 "lease_time is at least 2 seconds");
}

/* C6 of the independent try: a server without --node on PostgreSQL held
 * its site with no lease, so a second server took the site from it and
 * fenced it (while its /healthz said ok). Every process on PostgreSQL must
 * be a node: without --node it is refused (status 2), saying why. */
static void a_server_without_a_node_on_postgresql_is_refused(void **state) {
  (void)state;
  assert_refused("unnamed", "", "give this process its node name with --node NAME");
}

/* C7 of the independent try: a typo in --sites made a permanent empty
 * site. A node claims only sites that exist (vigil site add): one whose
 * list names another is refused (status 2), naming it and the command that
 * creates it, and no such site is made. */
static void a_node_refuses_a_site_that_does_not_exist(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "typo", uri, sizeof uri), 0);
  serve_process p;
  node_setup(&p, "t1", "north");
  add_nurse(&p);
  node_conf(&p, "t1", "nrth");
  assert_true(serve_start(&p) < 0);
  assert_int_equal(p.exit_status, 2);
  char *text = serve_log(&p);
  assert_non_null(strstr(text, "site nrth does not exist in this database: create it with 'vigil site add nrth"));
  free(text);
  assert_int_equal(count("SELECT count(*) FROM vigil_sites WHERE site = 'nrth'"), 0);
  assert_int_equal(count("SELECT count(*) FROM vigil_sites WHERE site = 'north'"), 1);
  serve_cleanup(&p);
}

/* Runs the shell command made of fmt: its exit status. */
static int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int shell(const char *fmt, ...) {
  char cmd[9000];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int status = system(cmd);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* D4 of the second try: on PostgreSQL, vigil export fhir 1 read site
 * default's visit 1 ("no such visit", though sites had one), with no way
 * to name the site; vigil audit show 1 said "No such file or directory".
 * The export names its site (--site) or is refused saying so (status 2);
 * audit show says it is not built there (status 2). */
static void the_cli_names_a_site_on_postgresql(void **state) {
  (void)state;
  lease_s = 30;
  serve_process s;
  owner_with_a_visit(&s, "exports", "x1", "x");
  assert_int_equal(serve_stop(&s, 0), 0);
  assert_int_equal(shell("'%s' export fhir 1 --db '%s' >/dev/null 2>&1", s.vigil, uri), 2);
  assert_int_equal(shell("'%s' export fhir 1 --db '%s' 2>&1 | grep -q 'name the site with --site SITE'", s.vigil, uri),
                   0);
  assert_int_equal(shell("'%s' export fhir 1 --db '%s' --site x | grep -q Bundle", s.vigil, uri), 0);
  assert_int_equal(shell("'%s' audit show 1 --db '%s' >/dev/null 2>&1", s.vigil, uri), 2);
  assert_int_equal(
      shell("'%s' audit show 1 --db '%s' 2>&1 | grep -q 'on PostgreSQL it is not built yet'", s.vigil, uri), 0);
  serve_cleanup(&s);
  lease_s = LEASE_S;
}

static void exec_sql(const char *sql);

/* A node t2 of site north on database db, whose vigil.conf's database is
 * the URI with extra appended (or the database's own when extra is NULL):
 * it stops while starting, with status, its log saying says and never
 * that every site is owned (D2 of the second try). */
static void assert_stops(const char *db, const char *sql, const char *extra, int status, const char *says) {
  assert_int_equal(pg_cluster_createdb(&pgc, db, uri, sizeof uri), 0);
  serve_process p;
  node_setup(&p, "t2", "north");
  if (sql) exec_sql(sql);
  char good[sizeof uri];
  snprintf(good, sizeof good, "%s", uri);
  if (extra) snprintf(uri + strlen(uri), sizeof uri - strlen(uri), "%s", extra);
  node_conf(&p, "t2", "north");
  snprintf(uri, sizeof uri, "%s", good);
  double began = now_ms();
  assert_true(serve_start(&p) < 0);
  fprintf(stderr, "# %s: status %d after %.0f ms\n", db, p.exit_status, now_ms() - began);
  char *text = serve_log(&p);
  if (!strstr(text, says)) fprintf(stderr, "no \"%s\" in:\n%s\n", says, text);
  assert_non_null(strstr(text, says));
  assert_null(strstr(text, "every site is owned"));
  assert_null(strstr(text, "cannot reach the database"));
  free(text);
  assert_int_equal(p.exit_status, status);
  serve_cleanup(&p);
}

/* D2 of the second try: a role or a database that does not exist, an
 * option libpq refuses, a table of the schema dropped were each taken for
 * an outage: the node said it could not reach the database, then "every
 * site is owned" (false), and waited for ever. Each stops the start: status
 * 2 for a setting to correct (naming it), 1 for a damaged schema. */
static void a_misconfigured_node_stops_saying_why(void **state) {
  (void)state;
  assert_stops("norole", NULL, "?user=nosuchrole", 2, "28000: role \\\"nosuchrole\\\" does not exist");
  assert_stops("nodb", NULL, "x", 2, "3D000: database \\\"nodbx\\\" does not exist");
  assert_stops("bogus", NULL, "?sslmode=bogus", 2, "invalid sslmode value");
  assert_stops("dropped", "DROP TABLE vigil_visits", NULL, 1, "lacks part of vigil's schema");
}

/* AJ4 of the seventh try: over a Unix socket (host=/folder), a socket file
 * that is not there (PostgreSQL restarting, or not yet started) made a
 * standby or a starting node stop with status 2, "correct the role,
 * password, database or options", where over TCP it waits and tries again.
 * Here the socket folder is the test cluster's, its port one nobody listens
 * on: the node says it cannot reach the database and waits. */
static void a_missing_socket_is_an_outage(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "sockets", uri, sizeof uri), 0);
  serve_process p;
  node_setup(&p, "t3", "north");
  char good[sizeof uri];
  snprintf(good, sizeof good, "%s", uri);
  snprintf(uri, sizeof uri, "postgresql://vigil@/sockets?host=%s&port=1", pgc.root);
  node_conf(&p, "t3", "north");
  snprintf(uri, sizeof uri, "%s", good);
  node_spawn(&p);
  assert_true(node_says(&p, "cannot reach the database", 30000));
  char *text = serve_log(&p);
  assert_null(strstr(text, "refuses the connection"));
  free(text);
  assert_int_equal(serve_stop(&p, 0), 0); /* still running: waiting, not stopped */
  serve_cleanup(&p);
}

/* C8 of the independent try: the first admin's password was printed on
 * standard error among the JSON log lines (a service manager keeps them in
 * its journal). It is written to ./var/admin-password with PostgreSQL
 * (beside the file with SQLite), mode 0600, before the user is made; the
 * log names the file, never the password, which signs in. */
static void the_first_admin_password_is_in_a_file_only_its_owner_reads(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "first", uri, sizeof uri), 0);
  serve_process p;
  node_setup(&p, "f1", "f"); /* no nurse: the first start makes the admin */
  unlink("var/admin-password");
  node_spawn(&p);
  assert_true(node_says(&p, "\"msg\":\"listening\"", 30000));
  struct stat st;
  assert_int_equal(stat("var/admin-password", &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char password[64] = "", body[200];
  FILE *f = fopen("var/admin-password", "r");
  assert_non_null(f);
  assert_non_null(fgets(password, sizeof password, f));
  fclose(f);
  password[strcspn(password, "\n")] = '\0';
  assert_int_equal(strlen(password), 24);
  char *text = serve_log(&p);
  assert_null(strstr(text, password));
  assert_non_null(strstr(text, "var/admin-password"));
  free(text);
  hc_conn hc;
  hc_response r;
  snprintf(body, sizeof body, "{\"user\": \"admin\", \"password\": \"%s\"}", password);
  assert_int_equal(hc_connect(&hc, p.port), 0);
  assert_int_equal(hc_request(&hc, "POST", "/api/v1/session", NULL, body, &r), 0);
  assert_int_equal(r.status, 200);
  hc_response_free(&r);
  hc_close(&hc);
  assert_int_equal(serve_stop(&p, 0), 0);
  unlink("var/admin-password");
  serve_cleanup(&p);
}

static void exec_sql(const char *sql) {
  PGconn *c = PQconnectdb(uri);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

/* Whether the node's log says it claimed site. */
static int has_claimed(serve_process *s, const char *site) {
  char *text = serve_log(s), what[80];
  snprintf(what, sizeof what, "\"msg\":\"claimed the site\",\"site\":\"%s\"", site);
  int yes = strstr(text, what) != NULL;
  free(text);
  return yes;
}

/* One node owns several sites (n4: c and d), each with its own log and
 * lease; a visit names its site in its start's body. When another node
 * takes d, n4 stops acting for d alone and goes on with c; a node already
 * serving a site of its own (n5: e) takes d over when it is free, and the
 * checkpoint that fell due while no node had d fires late, once. */
/* GET path on s answers status with each of has (NULL-ended) in its body. */
static void assert_answer_has(serve_process *s, const char *path, int status, const char *const *has) {
  char *body = NULL;
  assert_int_equal(serve_request(s, "GET", path, NULL, &body), status);
  for (; *has; has++)
    if (!strstr(body, *has)) fail_msg("GET %s: no %s in %s", path, *has, body);
  free(body);
}

static void several_sites_per_node(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "sites", uri, sizeof uri), 0);
  serve_process n4, n5;
  node_setup(&n4, "n4", "c,d");
  node_setup(&n5, "n5", "e,d");
  add_nurse(&n4);
  node_spawn(&n4);
  assert_true(node_says(&n4, "\"msg\":\"listening\"", 30000));
  assert_true(has_claimed(&n4, "c"));
  assert_true(has_claimed(&n4, "d"));
  node_spawn(&n5);
  assert_true(node_says(&n5, "\"msg\":\"listening\"", 30000));
  assert_true(has_claimed(&n5, "e"));
  assert_false(has_claimed(&n5, "d"));
  assert_int_equal(metric(&n4, "vigil_sites_held"), 2);

  /* A start names its site in its body; without one, the node's first. */
  char *body = NULL;
  assert_int_equal(serve_request(&n4, "POST", "/api/v1/visits",
                                 "{\"protocol\": \"takeover\", \"patient\": \"chair-d\", \"site\": \"d\"}", &body),
                   201);
  free(body);
  assert_int_equal(serve_start_visit(&n4, "takeover", "chair-c"), 1);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'd' AND type = 'visit.started' "
                         "AND body LIKE '%chair-d%'"),
                   1);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'c' AND type = 'visit.started' "
                         "AND body LIKE '%chair-c%'"),
                   1);
  /* Another node's site: 307 at its owner, body and all; no such site: 422. */
  assert_moved(&n4, "POST", "/api/v1/visits", "{\"protocol\": \"takeover\", \"patient\": \"chair-e\", \"site\": \"e\"}",
               "http://127.0.0.1:1/n5/api/v1/visits");
  /* The clock is a site's (C8): another node's site's clock is its owner's
   * (it was this node's first site's). */
  assert_moved(&n4, "GET", "/api/v1/clock?site=e", NULL, "http://127.0.0.1:1/n5/api/v1/clock?site=e");
  /* /healthz shows this node's clock less the database's (C5), as /metrics. */
  assert_int_equal(serve_request(&n4, "GET", "/healthz", NULL, &body), 200);
  const char *offset = strstr(body, "\"clock_offset_s\":");
  assert_non_null(offset);
  double off_s = atof(offset + strlen("\"clock_offset_s\":"));
  assert_true(off_s > -2 && off_s < 2);
  free(body);
  assert_int_equal(serve_request(&n4, "POST", "/api/v1/visits",
                                 "{\"protocol\": \"takeover\", \"patient\": \"chair-z\", \"site\": \"zz\"}", &body),
                   422);
  assert_non_null(strstr(body, "unknown_site"));
  free(body);
  assert_int_equal(serve_request(&n4, "POST", "/api/v1/visits",
                                 "{\"protocol\": \"takeover\", \"patient\": \"chair-z\", \"site\": 7}", &body),
                   422);
  free(body);
  /* Site d's visit, read through ?site=d on the node that owns both. */
  assert_int_equal(serve_request(&n4, "GET", "/api/v1/visits/1?site=d", NULL, &body), 200);
  assert_non_null(strstr(body, "chair-d"));
  free(body);
  assert_int_equal(serve_request(&n4, "GET", "/api/v1/visits/1", NULL, &body), 200);
  assert_non_null(strstr(body, "chair-c"));
  free(body);
  /* E1 of the third try: a patient's page and a course name their site
   * like a visit's (the workstation sends ?site= on every call): another
   * node's site is 307 at its owner (they were the node's first site's:
   * 404 and 422 here). */
  assert_moved(&n4, "GET", "/api/v1/patients/chair-e?site=e", NULL,
               "http://127.0.0.1:1/n5/api/v1/patients/chair-e?site=e");
  assert_moved(&n4, "POST", "/api/v1/courses?site=e", "{}", "http://127.0.0.1:1/n5/api/v1/courses?site=e");
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%chair-z%'"), 0);

  /* C3 of the independent try: a command with an Idempotency-Key and no
   * site (n4's first site, c), retried on n5 (first site e): not e's visit,
   * not run again there, but 409 site_mismatch naming c; a retry on n4 is
   * the first answer, naming its site. */
  const char *keyed = "{\"protocol\": \"takeover\", \"patient\": \"chair-k\"}";
  hc_conn kc;
  hc_response r;
  char site[16];
  assert_int_equal(hc_connect(&kc, n4.port), 0);
  assert_int_equal(hc_request_keyed(&kc, "POST", "/api/v1/visits", n4.token, "start-k", keyed, &r), 0);
  assert_int_equal(r.status, 201);
  hc_response_free(&r);
  assert_int_equal(hc_request_keyed(&kc, "POST", "/api/v1/visits", n4.token, "start-k", keyed, &r), 0);
  assert_int_equal(r.status, 201);
  assert_non_null(hc_header(&r, "Vigil-Site", site, sizeof site));
  assert_string_equal(site, "c");
  hc_response_free(&r);
  hc_close(&kc);
  assert_int_equal(serve_request(&n5, "GET", "/api/v1/visits", NULL, NULL), 200); /* signs in */
  assert_int_equal(hc_connect(&kc, n5.port), 0);
  assert_int_equal(hc_request_keyed(&kc, "POST", "/api/v1/visits", n5.token, "start-k", keyed, &r), 0);
  assert_int_equal(r.status, 409);
  assert_non_null(strstr(r.body, "site_mismatch"));
  assert_non_null(strstr(r.body, "?site=c"));
  hc_response_free(&r);
  hc_close(&kc);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE type = 'visit.started' AND body LIKE '%chair-k%'"),
                   1);

  /* C4: a stream resumed by Last-Event-ID alone, of n4's second site d:
   * served by n4's d (it was a 307 to n4 itself). */
  assert_int_equal(stream_open(&kc, n4.port, n4.token, "", "d:1"), 200);
  hc_close(&kc);

  /* E5 of the third try: /healthz and /metrics were the node's first
   * site's alone. /healthz?site=d is d's (one visit; c has two), a site
   * another node acts for is not healthy here, and /healthz covers every
   * site; /metrics counts each site under its label. */
  assert_answer_has(&n4, "/healthz?site=d", 200, (const char *[]){"\"visits_active\":1,", "\"site\":\"d\"", NULL});
  assert_answer_has(&n4, "/healthz?site=e", 503, (const char *[]){"\"status\":\"not_served\"", NULL});
  assert_answer_has(&n4, "/healthz", 200,
                    (const char *[]){"\"visits_active\":2,", "\"sites\":{\"c\":{\"status\":\"ok\",\"visits_active\":2,",
                                     "\"d\":{\"status\":\"ok\",\"visits_active\":1,", NULL});
  assert_int_equal(serve_request(&n4, "GET", "/metrics", NULL, &body), 200);
  assert_non_null(strstr(body, "\nvigil_site_visits_active{site=\"c\"} 2\n"));
  assert_non_null(strstr(body, "\nvigil_site_visits_active{site=\"d\"} 1\n"));
  assert_non_null(strstr(body, "\nvigil_site_store_writes_total{site=\"d\",outcome=\"failed\"} 0\n"));
  assert_null(strstr(body, "\nvigil_site_store_writes_total{site=\"d\",outcome=\"committed\"} 0\n"));
  free(body);

  /* Another node claims d (a new epoch; its checkpoint, due 2 s after its
   * start, not fired yet on a quiet machine: under valgrind on a loaded one
   * the checks above take longer, and n4, still d's owner, fires it first):
   * n4 stops acting for d alone. */
  int fired_before = count("SELECT count(*) FROM vigil_events WHERE site = 'd' AND type = 'item.overdue'");
  if (fired_before)
    fprintf(stderr, "# d's checkpoint fell due and fired on n4 before the claim: the takeover's lateness goes "
                    "unchecked this run\n");
  exec_sql("UPDATE vigil_sites SET owner = 'thief', epoch = epoch + 1, advertise = 'http://127.0.0.1:1/thief', "
           "lease_until = clock_timestamp() + interval '1 hour' WHERE site = 'd'");
  double stolen = now_ms();
  assert_true(node_says(&n4, "\"msg\":\"stopped acting for the site\",\"site\":\"d\"", LEASE_S * 1000));
  assert_int_equal(waitpid(n4.pid, NULL, WNOHANG), 0); /* n4 runs on */
  assert_int_equal(serve_request(&n4, "POST", "/api/v1/visits/1/entries", "{\"load\": {\"sbp\": 121}}", NULL), 200);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'c' AND body LIKE '%\"sbp\":121%'"), 1);
  assert_int_equal(serve_request(&n4, "POST", "/api/v1/visits/1/entries?site=d", "{\"load\": {\"sbp\": 122}}", NULL),
                   307);
  assert_int_equal(metric(&n4, "vigil_sites_held"), 1);
  assert_true(metric(&n4, "vigil_fencing_refusals_total") >= 1);
  /* Nothing of d was written by n4 after it was taken. */
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%\"sbp\":122%'"), 0);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'd' AND type = 'item.overdue'"), fired_before);

  /* d is free again, its checkpoint overdue meanwhile: n5, serving e,
   * takes it over and fires it once, late (n4, which lists d too, has
   * stopped: it would race n5 for d). */
  assert_int_equal(serve_stop(&n4, 0), 0);
  while (now_ms() < stolen + 2500)
    usleep(50000);
  exec_sql("UPDATE vigil_sites SET owner = NULL, lease_until = NULL WHERE site = 'd'");
  assert_true(node_says(&n5, "\"msg\":\"claimed the site\",\"site\":\"d\"", LEASE_S * 1000));
  usleep(500000);
  assert_int_equal(serve_request(&n5, "GET", "/api/v1/visits/1?site=d", NULL, &body), 200);
  free(body);
  /* Fired once in all: by n5, late, or (fired_before) by n4 in time. */
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'd' AND type = 'item.overdue'"), 1);
  assert_int_equal(metric(&n5, "vigil_sites_held"), 2);
  assert_int_equal(metric(&n5, "vigil_site_takeovers_total"), 1);
  if (!fired_before) {
    assert_int_equal(metric(&n5, "vigil_takeover_timer_lateness_seconds_count"), 1);
    assert_true(metric(&n5, "vigil_takeover_timer_lateness_seconds_sum") > 0);
  }
  check_chain("c");
  check_chain("d");
  check_chain("e");
  assert_int_equal(serve_stop(&n5, 0), 0);
  serve_cleanup(&n4);
  serve_cleanup(&n5);
}

/* A node's vigil.conf with the hl7 plugin alone, its settings hl7. */
static void hl7_node_conf(serve_process *s, const char *name, const char *sites, const char *hl7) {
  FILE *f = fopen(s->conf, "w");
  assert_non_null(f);
  fprintf(f,
          "listen = \"127.0.0.1:0\"\ndatabase = \"%s\"\nprotocols = \"%s\"\nnode = \"%s\"\n"
          "advertise = \"http://127.0.0.1:1/%s\"\nsites = \"%s\"\nlease_time = %d\nplugin_dir = \"%s\"\n"
          "plugins = { hl7 = { %s } }\n",
          uri, s->protocol, name, name, sites, lease_s, s->plugins, hl7);
  fclose(f);
}

/* Sends an A01 of patient over MLLP to port: 1 when its ACK is AA. */
static int mllp_a01(int port, const char *control, const char *patient) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  char msg[512], ack[4096] = "";
  int n = snprintf(msg, sizeof msg,
                   "\x0bMSH|^~\\&|HIS|WARD|VIGIL|CLINIC|20260105120000||ADT^A01^ADT_A01|%s|P|2.5.1\r"
                   "PID|1||%s^^^^MR||DOE^JANE||19800214|F\r\x1c\r",
                   control, patient);
  size_t got = 0;
  if (write(fd, msg, (size_t)n) == n)
    while (got < sizeof ack - 1 && !strstr(ack, "\x1c\r")) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      ssize_t k = poll(&p, 1, 10000) == 1 ? read(fd, ack + got, sizeof ack - 1 - got) : 0;
      if (k <= 0) break;
      got += (size_t)k;
      ack[got] = '\0';
    }
  close(fd);
  char want[128];
  snprintf(want, sizeof want, "MSA|AA|%s|", control);
  return strstr(ack, want) != NULL;
}

/* AF1 and AF2 of docs/deploy.md (the integrator's try): a node serving
 * two sites started the hl7 plugin's ADT listener for its first site only
 * (the second's refused, "address already in use": one port per node), so
 * that site's alarms and feed were lost while /healthz?site= said ok, and
 * /plugins?site= and /metrics showed the first site's plugin. Now a
 * plugin refused makes its site degraded, /plugins?site= and /metrics are
 * each site's, and plugins.hl7.sites gives the second site its own port:
 * each listener records into its own site's log. */
static void a_plugin_per_site_on_one_node(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "plugin_sites", uri, sizeof uri), 0);
  int port_f = hc_free_port(), port_g = hc_free_port();
  while (port_g == port_f)
    port_g = hc_free_port();
  serve_process n;
  node_setup(&n, "n6", "f,g");
  add_nurse(&n);
  char hl7[128];
  snprintf(hl7, sizeof hl7, "port = %d", port_f);
  hl7_node_conf(&n, "n6", "f,g", hl7);
  node_spawn(&n);
  assert_true(node_says(&n, "\"msg\":\"listening\"", 30000));
  assert_true(has_claimed(&n, "f"));
  assert_true(has_claimed(&n, "g"));
  /* One port for both: g's listener waits for the port (tried again each
   * second, AJ3), and says so. */
  assert_answer_has(&n, "/healthz?site=g", 200,
                    (const char *[]){"\"status\":\"degraded\"", "\"plugins_degraded\":1", "\"site\":\"g\"", NULL});
  assert_answer_has(&n, "/healthz?site=f", 200, (const char *[]){"\"status\":\"ok\"", "\"plugins_failed\":0", NULL});
  assert_answer_has(
      &n, "/healthz", 200,
      (const char *[]){"\"status\":\"degraded\"", "\"f\":{\"status\":\"ok\"", "\"g\":{\"status\":\"degraded\"", NULL});
  assert_answer_has(&n, "/api/v1/plugins?site=g", 200,
                    (const char *[]){"\"state\":\"running\"", "is in use (another process", NULL});
  assert_answer_has(&n, "/api/v1/plugins?site=f", 200, (const char *[]){"\"state\":\"running\"", NULL});
  assert_answer_has(&n, "/metrics", 200,
                    (const char *[]){"\nvigil_plugin_hl7_listening{plugin=\"hl7\",site=\"f\"} 1\n",
                                     "\nvigil_plugin_hl7_listening{plugin=\"hl7\",site=\"g\"} 0\n", NULL});
  char *text = serve_log(&n);
  const char *refused = strstr(text, "address already in use; trying again");
  assert_non_null(refused);
  const char *eol = strchr(refused, '\n');
  const char *site = strstr(refused, "\"plugin\":\"hl7\",\"site\":\"g\"");
  assert_true(site && (!eol || site < eol));
  free(text);
  assert_int_equal(serve_stop(&n, 0), 0);

  /* g's own port in plugins.hl7.sites: both listen, each into its site. */
  snprintf(hl7, sizeof hl7, "port = %d, sites = { g = { port = %d } }", port_f, port_g);
  hl7_node_conf(&n, "n6", "f,g", hl7);
  node_spawn(&n);
  assert_true(node_says(&n, "\"msg\":\"listening\"", 30000));
  assert_answer_has(
      &n, "/healthz", 200,
      (const char *[]){"\"status\":\"ok\"", "\"f\":{\"status\":\"ok\"", "\"g\":{\"status\":\"ok\"", NULL});
  assert_answer_has(&n, "/api/v1/plugins?site=g", 200, (const char *[]){"\"state\":\"running\"", NULL});
  assert_true(mllp_a01(port_f, "F-1", "PAT-F"));
  assert_true(mllp_a01(port_g, "G-1", "PAT-G"));
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'f' AND type = 'patient.recorded' AND body "
                         "LIKE '%PAT-F%'"),
                   1);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'g' AND type = 'patient.recorded' AND body "
                         "LIKE '%PAT-G%'"),
                   1);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE type = 'patient.recorded'"), 2);
  assert_answer_has(&n, "/metrics", 200,
                    (const char *[]){"\nvigil_plugin_up{plugin=\"hl7\",site=\"f\"} 1\n",
                                     "\nvigil_plugin_up{plugin=\"hl7\",site=\"g\"} 1\n", NULL});
  /* Two sites' plugins on one page: each family once (promtool refuses a
   * family written twice). */
  char *page = NULL;
  assert_int_equal(serve_request(&n, "GET", "/metrics", NULL, &page), 200);
  if (system("command -v promtool > /dev/null 2>&1") == 0) {
    FILE *pt = popen("promtool check metrics > /dev/null 2>&1", "w");
    assert_non_null(pt);
    fputs(page, pt);
    if (pclose(pt) != 0) fail_msg("promtool check metrics refuses the node's /metrics:\n%s", page);
  } else {
    print_message("promtool is not installed (the prometheus package): its check is skipped\n");
  }
  free(page);
  assert_int_equal(serve_stop(&n, 0), 0);
  serve_cleanup(&n);
}

/* The sbp values of a visit's readings of "load" in site x's log. */
static int recorded_values(uint64_t visit, int *out, int max) {
  char sql[200];
  snprintf(sql, sizeof sql,
           "SELECT body FROM vigil_events WHERE site = 'x' AND visit = %llu AND type = 'item.recorded' ORDER BY seq",
           (unsigned long long)visit);
  PGresult *r = query(sql);
  int n = 0;
  for (int i = 0; i < PQntuples(r) && n < max; i++) {
    json_t *ev = json_loads(PQgetvalue(r, i, 0), 0, NULL);
    json_t *v = json_object_get(json_object_get(json_object_get(json_object_get(ev, "data"), "values"), "load"), "sbp");
    if (json_is_number(v)) out[n++] = (int)json_number_value(v);
    json_decref(ev);
  }
  PQclear(r);
  return n;
}

static int by_value(const void *a, const void *b) { return *(const double *)a < *(const double *)b ? -1 : 1; }

/* --long: the owner of site x SIGKILLed again and again (200 times, or
 * VIGIL_CLUSTER_TAKEOVERS) while a nurse records readings on it, the other
 * node taking over each time, with test_crash's checks: every acknowledged
 * reading is in the log once (and at most the one in flight besides), the
 * log is gapless and one hash chain, the checkpoint of the round's visit,
 * due while no node had the site, fired exactly once, late, no deadline
 * fired twice, every takeover said it followed an unclean stop; then the
 * killed node comes back as the standby. Prints the takeover times. */
static void takeover_loop(void **state) {
  (void)state;
  const char *env = getenv("VIGIL_CLUSTER_TAKEOVERS");
  int rounds = env && atoi(env) > 0 ? atoi(env) : 200;
  lease_s = 2;
  assert_int_equal(pg_cluster_createdb(&pgc, "long", uri, sizeof uri), 0);
  serve_process nodes[2];
  node_setup(&nodes[0], "p", "x");
  node_setup(&nodes[1], "q", "x");
  add_nurse(&nodes[0]);
  node_spawn(&nodes[0]);
  assert_true(node_says(&nodes[0], "\"msg\":\"listening\"", 30000));
  node_spawn(&nodes[1]);
  assert_true(node_says(&nodes[1], "standby", 30000));
  double *took = calloc((size_t)rounds, sizeof *took), late_sum = 0;
  long long acked_total = 0, extra_total = 0;
  int owner = 0;
  srand((unsigned)time(NULL));
  for (int round = 0; round < rounds; round++) {
    serve_process *o = &nodes[owner], *sb = &nodes[1 - owner];
    char patient[32];
    snprintf(patient, sizeof patient, "chair-%d", round);
    uint64_t v = serve_start_visit(o, "takeover", patient);
    assert_true(v > 0);
    /* Readings for 100 to 600 ms (at most 150: sbp 50 to 199, one value
     * each), then SIGKILL, the checkpoint 1 s after the start due in the gap. */
    int acked[150], n_acked = 0, next = 50;
    double until = now_ms() + 100 + rand() % 500;
    char path[64], body[64];
    snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)v);
    while (now_ms() < until && next < 200) {
      snprintf(body, sizeof body, "{\"load\": {\"sbp\": %d}}", next);
      int status = serve_request(o, "POST", path, body, NULL);
      if (status == 200)
        acked[n_acked++] = next;
      else
        fail_msg("round %d: a reading answered %d before the kill", round, status);
      next++;
    }
    serve_stop(o, 1);
    double killed = now_ms();
    assert_true(node_says(sb, "\"msg\":\"listening\"", (lease_s + 10) * 1000));
    took[round] = now_ms() - killed;
    memcpy(sb->token, o->token, sizeof sb->token); /* the nurse's session, valid on every node */
    /* Every acknowledged reading once; besides them at most the next one
     * (in flight at the kill). */
    int got[400], n_got = recorded_values(v, got, 400);
    int extra = 0;
    for (int i = 0; i < n_acked; i++) {
      int times = 0;
      for (int k = 0; k < n_got; k++)
        times += got[k] == acked[i];
      if (times != 1) fail_msg("round %d: acknowledged reading %d is in the log %d times", round, acked[i], times);
    }
    for (int k = 0; k < n_got; k++) {
      int was_acked = 0;
      for (int i = 0; i < n_acked; i++)
        was_acked |= got[k] == acked[i];
      if (!was_acked && got[k] == next)
        extra++;
      else if (!was_acked)
        fail_msg("round %d: reading %d is in the log but was never sent", round, got[k]);
    }
    assert_true(extra <= 1);
    acked_total += n_acked;
    extra_total += extra;
    /* The checkpoint, due during the gap, fired once, late. */
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*), COALESCE(max(((body::jsonb) -> 'data' ->> 'late_ms')::bigint), 0) FROM vigil_events "
             "WHERE site = 'x' AND visit = %llu AND type = 'item.overdue'",
             (unsigned long long)v);
    double wait_until = now_ms() + 5000;
    PGresult *r = query(sql);
    while (atoll(PQgetvalue(r, 0, 0)) == 0 && now_ms() < wait_until) {
      PQclear(r);
      usleep(50000);
      r = query(sql);
    }
    if (atoll(PQgetvalue(r, 0, 0)) != 1)
      fail_msg("round %d: the checkpoint fired %s times", round, PQgetvalue(r, 0, 0));
    late_sum += atof(PQgetvalue(r, 0, 1));
    PQclear(r);
    assert_int_equal(count("SELECT count(*) - count(DISTINCT (visit, (body::jsonb) -> 'data' ->> 'item', "
                           "(body::jsonb) -> 'data' ->> 'occurrence')) FROM vigil_events "
                           "WHERE site = 'x' AND type = 'item.overdue'"),
                     0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil_events WHERE site = 'x' AND type = 'engine.started' "
             "AND body LIKE '%%\"unclean\":true%%'");
    assert_int_equal(count(sql), round + 1);
    if (round % 10 == 9 || round == rounds - 1) check_chain("x");
    /* The killed node comes back as the standby. */
    node_spawn(o);
    assert_true(node_says(o, "standby", 30000));
    owner = 1 - owner;
    if (round % 10 == 9) fprintf(stderr, "# %d takeovers\n", round + 1);
  }
  qsort(took, (size_t)rounds, sizeof *took, by_value);
  fprintf(stderr,
          "# %d takeovers (lease %d s): took %.0f ms at least, %.0f median, %.0f at most; %lld readings "
          "acknowledged, all there, %lld more in flight at a kill; the checkpoints fired %.0f ms late on "
          "average\n",
          rounds, lease_s, took[0], took[rounds / 2], took[rounds - 1], acked_total, extra_total, late_sum / rounds);
  free(took);
  serve_stop(&nodes[owner], 0);
  serve_stop(&nodes[1 - owner], 0);
  serve_cleanup(&nodes[0]);
  serve_cleanup(&nodes[1]);
  lease_s = LEASE_S;
}

/* A request with a token of one's own (NULL: none): the status, the body in
 * *out when out is not NULL. */
static int as(serve_process *s, const char *token, const char *method, const char *path, const char *body, char **out) {
  hc_conn c;
  hc_response r;
  if (out) *out = NULL;
  assert_int_equal(hc_connect(&c, s->port), 0);
  int status = hc_request(&c, method, path, token, body, &r) == 0 ? r.status : -1;
  if (status >= 0) {
    if (out) *out = strdup(r.body);
    hc_response_free(&r);
  }
  hc_close(&c);
  return status;
}

/* Signs name in on the node: the status; the token in token (64 bytes). */
static int sign_in(serve_process *s, const char *name, const char *password, char *token) {
  char body[256], *text = NULL;
  snprintf(body, sizeof body, "{\"user\": \"%s\", \"password\": \"%s\"}", name, password);
  int status = as(s, NULL, "POST", "/api/v1/session", body, &text);
  const char *t = text && status == 200 ? strstr(text, "\"token\":\"") : NULL;
  token[0] = '\0';
  if (t) snprintf(token, 64, "%.43s", t + 9);
  free(text);
  return status;
}

/* Waits until the request answers want; the ms it took, or -1 after
 * timeout_ms. */
static double until_status(serve_process *s, const char *token, const char *path, int want, int timeout_ms) {
  double from = now_ms();
  while (now_ms() < from + timeout_ms) {
    if (as(s, token, "GET", path, NULL, NULL) == want) return now_ms() - from;
    usleep(20000);
  }
  return -1;
}

/* Users, sessions and tokens are the cluster's, not a node's: what one node
 * changes holds on the others while they run (docs/deploy.md, "Users and
 * sessions on every node"). A user created on u1 signs in on u2 at once, and
 * a session started on u1 is valid on u2 at once (read-through); a second
 * creation of that name on u2, which has not read it yet, is 409 and the
 * stored user stays as it was (the store refuses it); disabling a user on u1
 * ends their sessions on u2 within a second and a half, and a new password
 * set on u1 holds on u2 as soon. */
static void users_on_every_node(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "users", uri, sizeof uri), 0);
  serve_process u1, u2;
  node_setup(&u1, "u1", "f");
  node_setup(&u2, "u2", "g");
  add_nurse(&u1);
  char cmd[9000];
  snprintf(cmd, sizeof cmd,
           "echo '" SERVE_PASSWORD "' | '%s' user add boss --role admin --password-stdin --db '%s' >/dev/null",
           u1.vigil, uri);
  assert_int_equal(system(cmd), 0);
  node_spawn(&u1);
  assert_true(node_says(&u1, "\"msg\":\"listening\"", 30000));
  node_spawn(&u2);
  assert_true(node_says(&u2, "\"msg\":\"listening\"", 30000));
  char boss1[64], boss2[64], eve1[64], eve2[64], nurse2[64];
  assert_int_equal(sign_in(&u1, "boss", SERVE_PASSWORD, boss1), 200);
  assert_int_equal(sign_in(&u2, "boss", SERVE_PASSWORD, boss2), 200);

  /* Made on u1, known on u2 at once: a sign-in, and u1's session. */
  assert_int_equal(as(&u1, boss1, "POST", "/api/v1/users",
                      "{\"name\": \"eve\", \"role\": \"nurse\", \"password\": \"eve's password\", \"admin_password\": "
                      "\"" SERVE_PASSWORD "\"}",
                      NULL),
                   201);
  assert_int_equal(sign_in(&u1, "eve", "eve's password", eve1), 200);
  assert_int_equal(as(&u2, eve1, "GET", "/api/v1/session", NULL, NULL), 200);
  assert_int_equal(sign_in(&u2, "eve", "eve's password", eve2), 200);

  /* A name u1 made a moment ago, made again on u2 as an admin: refused. */
  assert_int_equal(as(&u1, boss1, "POST", "/api/v1/users",
                      "{\"name\": \"zed\", \"role\": \"nurse\", \"password\": \"zed's password\", \"admin_password\": "
                      "\"" SERVE_PASSWORD "\"}",
                      NULL),
                   201);
  char *body = NULL;
  assert_int_equal(as(&u2, boss2, "POST", "/api/v1/users",
                      "{\"name\": \"zed\", \"role\": \"admin\", \"password\": \"mallory's own\", \"admin_password\": "
                      "\"" SERVE_PASSWORD "\"}",
                      &body),
                   409);
  assert_non_null(strstr(body, "already_exists"));
  free(body);
  assert_int_equal(count("SELECT count(*) FROM vigil_kv WHERE ns = 'user' AND key = 'zed' "
                         "AND convert_from(value, 'UTF8') LIKE '%\"role\":\"nurse\"%'"),
                   1);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE type = 'user.created' AND body LIKE '%\"zed\"%'"), 1);
  char zed[64];
  assert_int_equal(sign_in(&u2, "zed", "mallory's own", zed), 401);

  /* Disabled on u1: eve's sessions end on u2 too, and she cannot sign in
   * there again. */
  assert_int_equal(as(&u1, boss1, "POST", "/api/v1/users/eve",
                      "{\"disabled\": true, \"admin_password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
  double ended = until_status(&u2, eve2, "/api/v1/session", 401, 5000);
  fprintf(stderr, "# a user disabled on u1: their session on u2 ended %.0f ms later\n", ended);
  assert_true(ended >= 0 && ended < 1500);
  assert_int_equal(as(&u2, eve1, "GET", "/api/v1/session", NULL, NULL), 401);
  assert_int_equal(sign_in(&u2, "eve", "eve's password", eve2), 401);

  /* A new password set on u1: the nurse's session on u2 ends, the new
   * password signs in on u2, the old one no longer. */
  assert_int_equal(sign_in(&u2, SERVE_USER, SERVE_PASSWORD, nurse2), 200);
  assert_int_equal(as(&u1, boss1, "POST", "/api/v1/users/" SERVE_USER,
                      "{\"password\": \"a new password\", \"admin_password\": \"" SERVE_PASSWORD "\"}", NULL),
                   200);
  ended = until_status(&u2, nurse2, "/api/v1/session", 401, 5000);
  assert_true(ended >= 0 && ended < 1500);
  assert_int_equal(sign_in(&u2, SERVE_USER, "a new password", nurse2), 200);
  assert_int_equal(sign_in(&u2, SERVE_USER, SERVE_PASSWORD, nurse2), 401);

  /* A second process given u1's name, u1 alive: it takes nothing of u1's
   * (the lease is its claim's, not the name's) and says why; u1 goes on. */
  long long epoch = count("SELECT epoch FROM vigil_sites WHERE site = 'f'");
  serve_process twin;
  node_setup(&twin, "u1", "f");
  node_spawn(&twin);
  assert_true(node_says(&twin, "another process holds a live lease under this node's name", 10000));
  usleep(LEASE_S * 1000000 / 2);
  assert_int_equal(count("SELECT epoch FROM vigil_sites WHERE site = 'f'"), epoch);
  assert_int_equal(as(&u1, boss1, "GET", "/api/v1/users", NULL, NULL), 200);
  char nurse1[64];
  assert_int_equal(sign_in(&u1, SERVE_USER, "a new password", nurse1), 200);
  assert_int_equal(
      as(&u1, nurse1, "POST", "/api/v1/visits", "{\"protocol\": \"takeover\", \"patient\": \"chair-f\"}", NULL), 201);
  assert_int_equal(waitpid(u1.pid, NULL, WNOHANG), 0);
  assert_int_equal(serve_stop(&twin, 0), 0);
  serve_cleanup(&twin);

  /* A visit's Location names its site (ids count per site); a stream's
   * resume point of one site with ?site= naming another is refused on
   * either owner (not sent back and forth); a 307 says Temporary Redirect;
   * an integrator's token reads GET /api/v1/cluster (to find a site's
   * owner: clients drop Authorization on a redirect to another host). */
  hc_conn hc;
  hc_response r;
  char header[256];
  assert_int_equal(hc_connect(&hc, u1.port), 0);
  assert_int_equal(
      hc_request(&hc, "POST", "/api/v1/visits", nurse1, "{\"protocol\": \"takeover\", \"patient\": \"x\"}", &r), 0);
  hc_close(&hc);
  assert_int_equal(r.status, 201);
  assert_non_null(hc_header(&r, "Location", header, sizeof header));
  assert_string_equal(header, "/api/v1/visits/2?site=f");
  hc_response_free(&r);
  serve_process *owners[] = {&u1, &u2};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(stream_open(&hc, owners[k]->port, nurse1, "?site=g", "f:1"), 409);
    assert_non_null(strstr(stream_head.body, "site_mismatch"));
    hc_response_free(&stream_head);
    hc_close(&hc);
  }
  assert_int_equal(hc_connect(&hc, u1.port), 0);
  assert_int_equal(hc_request(&hc, "GET", "/api/v1/visits/1?site=g", nurse1, NULL, &r), 0);
  hc_close(&hc);
  assert_int_equal(r.status, 307);
  assert_non_null(strstr(r.head, "HTTP/1.1 307 Temporary Redirect\r\n"));
  hc_response_free(&r);
  assert_int_equal(as(&u2, boss2, "POST", "/api/v1/users",
                      "{\"name\": \"feed\", \"role\": \"integrator\", \"admin_password\": \"" SERVE_PASSWORD "\"}",
                      NULL),
                   201);
  assert_int_equal(as(&u1, boss1, "POST", "/api/v1/tokens",
                      "{\"user\": \"feed\", \"admin_password\": \"" SERVE_PASSWORD "\"}", &body),
                   201);
  const char *t = strstr(body, "\"token\":\"");
  assert_non_null(t);
  char feed[64];
  snprintf(feed, sizeof feed, "%.43s", t + 9);
  free(body);
  assert_int_equal(as(&u2, feed, "GET", "/api/v1/cluster", NULL, &body), 200);
  assert_non_null(strstr(body, "\"site\":\"f\""));
  free(body);

  assert_int_equal(serve_stop(&u1, 0), 0);
  assert_int_equal(serve_stop(&u2, 0), 0);
  serve_cleanup(&u1);
  serve_cleanup(&u2);
}

/* Runs the vigil CLI with args (and input on its standard input when not
 * NULL) against the test's database: its exit status. */
static int vigil_cli(serve_process *s, const char *input, const char *args) {
  char cmd[9000];
  snprintf(cmd, sizeof cmd, "%s%s%s'%s' %s --db '%s' >/dev/null", input ? "echo '" : "", input ? input : "",
           input ? "' | " : "", s->vigil, args, uri);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* D3 of docs/deploy.md: users and tokens were the chain's, so a nurse of
 * one clinic read another's patients (GET /visits?site=south, its FHIR
 * export, 200). A user works at their sites (vigil user --sites, the users
 * API), a token at its user's or fewer: a request about another site is 403
 * site_forbidden naming it, recorded in that site's log (auth.failed); a
 * user of every site (the default) reads both; sign-in works anywhere. */
static void a_user_works_at_their_sites(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "site_access", uri, sizeof uri), 0);
  serve_process n;
  node_setup(&n, "s1", "north,south");
  add_nurse(&n); /* nurse.a: every site */
  assert_int_equal(vigil_cli(&n, SERVE_PASSWORD, "user add nurse.n --role nurse --sites north --password-stdin"), 0);
  assert_int_equal(vigil_cli(&n, SERVE_PASSWORD, "user add boss --role admin --password-stdin"), 0);
  assert_int_equal(vigil_cli(&n, SERVE_PASSWORD, "user add feed --role integrator --password-stdin"), 0);
  assert_int_equal(vigil_cli(&n, NULL, "user add x --role nurse --sites 'north,so uth'"), 2);
  assert_int_equal(vigil_cli(&n, NULL, "user sites nurse.a"), 2); /* --sites goes with it */
  /* An integrator's token for north only, printed once. */
  char cmd[9000], feed[64] = "";
  snprintf(cmd, sizeof cmd, "'%s' user token feed --sites north --db '%s'", n.vigil, uri);
  FILE *out = popen(cmd, "r");
  assert_non_null(out);
  char line[256];
  while (fgets(line, sizeof line, out))
    if (strlen(line) == 43 + 1) snprintf(feed, sizeof feed, "%.43s", line);
  assert_int_equal(pclose(out), 0);
  assert_int_equal(strlen(feed), 43);
  node_spawn(&n);
  assert_true(node_says(&n, "\"msg\":\"listening\"", 30000));
  assert_int_equal(serve_start_visit(&n, "takeover", "chair-north"), 1);
  char *body = NULL;
  assert_int_equal(serve_request(&n, "POST", "/api/v1/visits",
                                 "{\"protocol\": \"takeover\", \"patient\": \"chair-south\", \"site\": \"south\"}",
                                 &body),
                   201);
  free(body);

  /* North's nurse signs in on this node (sign-in is not a site's), reads
   * north, and none of south: its visit, export, lists and stream. */
  char nn[64];
  assert_int_equal(sign_in(&n, "nurse.n", SERVE_PASSWORD, nn), 200);
  assert_int_equal(as(&n, nn, "GET", "/api/v1/visits/1?site=north", NULL, &body), 200);
  assert_non_null(strstr(body, "chair-north"));
  free(body);
  static const char *const south[] = {"/api/v1/visits/1?site=south",      "/api/v1/visits/1/fhir?site=south",
                                      "/api/v1/visits?site=south",        "/api/v1/alerts?site=south",
                                      "/api/v1/events/stream?site=south", "/api/v1/patients/chair-south?site=south"};
  for (size_t i = 0; i < sizeof south / sizeof *south; i++) {
    assert_int_equal(as(&n, nn, "GET", south[i], NULL, &body), 403);
    assert_non_null(strstr(body, "\"code\":\"site_forbidden\""));
    assert_non_null(strstr(body, "\"site\":\"south\""));
    assert_null(strstr(body, "chair-south"));
    free(body);
  }
  assert_int_equal(as(&n, nn, "POST", "/api/v1/visits/1/entries?site=south", "{\"load\": {\"sbp\": 131}}", &body), 403);
  free(body);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%\"sbp\":131%'"), 0);
  /* Recorded in south's log, the first refusal at once (the rest of the
   * window coalesced, as every refusal). */
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'south' AND type = 'auth.failed' "
                         "AND body LIKE '%site_forbidden%' AND body LIKE '%nurse.n%'"),
                   1);
  /* A user of every site reads both. */
  assert_int_equal(serve_request(&n, "GET", "/api/v1/visits/1?site=south", NULL, &body), 200);
  assert_non_null(strstr(body, "chair-south"));
  free(body);
  assert_int_equal(serve_request(&n, "GET", "/api/v1/visits/1/fhir?site=south", NULL, &body), 200);
  free(body);
  /* The token carries its own fewer sites. */
  assert_int_equal(as(&n, feed, "GET", "/api/v1/events?site=north", NULL, &body), 200);
  free(body);
  assert_int_equal(as(&n, feed, "GET", "/api/v1/events?site=south", NULL, &body), 403);
  assert_non_null(strstr(body, "site_forbidden"));
  free(body);

  /* An admin gives north's nurse south too: shown in GET users, and it
   * holds at once. */
  char boss[64];
  assert_int_equal(sign_in(&n, "boss", SERVE_PASSWORD, boss), 200);
  assert_int_equal(as(&n, boss, "POST", "/api/v1/users/nurse.n",
                      "{\"sites\": [\"north\", \"bogus site\"], \"admin_password\": \"" SERVE_PASSWORD "\"}", &body),
                   422);
  free(body);
  assert_int_equal(as(&n, boss, "POST", "/api/v1/users/nurse.n",
                      "{\"sites\": [\"north\", \"south\"], \"admin_password\": \"" SERVE_PASSWORD "\"}", &body),
                   200);
  assert_non_null(strstr(body, "\"sites\":[\"north\",\"south\"]"));
  free(body);
  assert_int_equal(as(&n, boss, "GET", "/api/v1/users", NULL, &body), 200);
  assert_non_null(strstr(body, "\"name\":\"nurse.n\",\"role\":\"nurse\",\"disabled\":false"));
  assert_non_null(strstr(body, "\"sites\":[\"north\",\"south\"]"));
  assert_non_null(strstr(body, "\"sites\":[\"*\"]"));
  free(body);
  assert_int_equal(as(&n, nn, "GET", "/api/v1/visits/1?site=south", NULL, &body), 200);
  free(body);
  /* A token asked for a site its user does not work at is refused. */
  assert_int_equal(as(&n, boss, "POST", "/api/v1/users/feed",
                      "{\"sites\": \"north\", \"admin_password\": \"" SERVE_PASSWORD "\"}", &body),
                   200);
  free(body);
  assert_int_equal(as(&n, boss, "POST", "/api/v1/tokens",
                      "{\"user\": \"feed\", \"sites\": [\"south\"], \"admin_password\": \"" SERVE_PASSWORD "\"}",
                      &body),
                   422);
  free(body);
  assert_int_equal(serve_stop(&n, 0), 0);
  serve_cleanup(&n);
}

/* A node of north and south with nurse.n (north and south) and boss (an
 * admin) made, listening, boss signed in (into boss). */
static void sites_node(serve_process *n, const char *db, const char *name, char boss[64]) {
  assert_int_equal(pg_cluster_createdb(&pgc, db, uri, sizeof uri), 0);
  node_setup(n, name, "north,south");
  add_nurse(n);
  assert_int_equal(vigil_cli(n, SERVE_PASSWORD, "user add nurse.n --role nurse --sites north,south --password-stdin"),
                   0);
  assert_int_equal(vigil_cli(n, SERVE_PASSWORD, "user add boss --role admin --password-stdin"), 0);
  node_spawn(n);
  assert_true(node_says(n, "\"msg\":\"listening\"", 30000));
  assert_int_equal(sign_in(n, "boss", SERVE_PASSWORD, boss), 200);
}

/* AU1 (docs/security.md): nurse.n's ?site=south stream still carried
 * south's events after an admin set her sites to north alone. Now it ends
 * (event: ended) before the next event of south is written to it. */
static void a_stream_ends_when_its_site_is_taken_away(void **state) {
  (void)state;
  serve_process n;
  char boss[64], nn[64], *body = NULL;
  sites_node(&n, "stream_sites", "s2", boss);
  assert_int_equal(sign_in(&n, "nurse.n", SERVE_PASSWORD, nn), 200);
  hc_conn c;
  assert_int_equal(stream_open(&c, n.port, nn, "?site=south", NULL), 200);
  assert_int_equal(as(&n, boss, "POST", "/api/v1/users/nurse.n",
                      "{\"sites\": [\"north\"], \"admin_password\": \"" SERVE_PASSWORD "\"}", &body),
                   200);
  free(body);
  assert_int_equal(serve_request(&n, "POST", "/api/v1/visits",
                                 "{\"protocol\": \"takeover\", \"patient\": \"au1-south\", \"site\": \"south\"}",
                                 &body),
                   201);
  free(body);
  int ended = 0;
  hc_sse ev;
  while (hc_sse_read(&c, &ev, 3000) == 0) {
    if (!strcmp(ev.event, "ended")) ended = 1;
    if (!ev.comment && ev.data && strstr(ev.data, "au1-south"))
      fail_msg("south's event reached a stream of a nurse no longer at south: %s", ev.data);
    hc_sse_free(&ev);
  }
  assert_true(ended);
  assert_true(hc_wait_closed(&c, 1000));
  hc_close(&c);
  assert_int_equal(serve_stop(&n, 0), 0);
  serve_cleanup(&n);
}

/* AU2 (docs/security.md): a malformed sites list failed open: [""],
 * ["north","*"], "north,*", ["*","south"] and "" were each kept as ["*"],
 * every site. Now only "*", ["*"] and [] mean every site; an empty name, *
 * among names, or a site the cluster does not have is 422 naming it, and
 * nothing changes; the CLI's --sites the same, status 2. */
static void a_malformed_sites_list_is_refused(void **state) {
  (void)state;
  serve_process n;
  char boss[64], *body = NULL;
  sites_node(&n, "sites_lists", "s3", boss);
  static const struct {
    const char *sites, *names;
  } bad[] = {
      {"[\"\"]", "empty"}, {"[\"north\", \"*\"]", "*"},       {"\"north,*\"", "*"},    {"[\"*\", \"south\"]", "*"},
      {"\"\"", "empty"},   {"[\"north\", \"east\"]", "east"}, {"\"north,\"", "empty"}, {"[\"north\", \"\"]", "empty"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char req[300];
    snprintf(req, sizeof req, "{\"sites\": %s, \"admin_password\": \"" SERVE_PASSWORD "\"}", bad[i].sites);
    int status = as(&n, boss, "POST", "/api/v1/users/nurse.n", req, &body);
    if (status != 422 || !strstr(body, "\"field\":\"sites\"") || !strstr(body, bad[i].names))
      fail_msg("sites %s: %d %s", bad[i].sites, status, body);
    free(body);
  }
  /* Still north and south, not every site. */
  char nn[64];
  assert_int_equal(sign_in(&n, "nurse.n", SERVE_PASSWORD, nn), 200);
  assert_int_equal(as(&n, nn, "GET", "/api/v1/session", NULL, &body), 200);
  if (!strstr(body, "\"sites\":[\"north\",\"south\"]")) fail_msg("nurse.n's sites changed: %s", body);
  free(body);
  /* "*" alone is every site. */
  assert_int_equal(as(&n, boss, "POST", "/api/v1/users/nurse.n",
                      "{\"sites\": [\"*\"], \"admin_password\": \"" SERVE_PASSWORD "\"}", &body),
                   200);
  assert_non_null(strstr(body, "\"sites\":[\"*\"]"));
  free(body);
  /* The CLI's --sites: 2, nothing made. */
  static const char *const cli_bad[] = {"''", "'north,*'", "'*,south'", "'north,'", "'north,east'"};
  for (size_t i = 0; i < sizeof cli_bad / sizeof *cli_bad; i++) {
    char args[200];
    snprintf(args, sizeof args, "user add x%zu --role nurse --sites %s", i, cli_bad[i]);
    if (vigil_cli(&n, NULL, args) != 2) fail_msg("vigil %s was not refused with status 2", args);
  }
  assert_int_equal(as(&n, boss, "GET", "/api/v1/users", NULL, &body), 200);
  if (strstr(body, "\"name\":\"x")) fail_msg("a user was made: %s", body);
  free(body);
  assert_int_equal(serve_stop(&n, 0), 0);
  serve_cleanup(&n);
}

/* AU3 (docs/security.md): POST /api/v1/visits?site=north with "site":
 * "south" in its body started the visit at north (201). Now the two must
 * agree: 409 site_mismatch, nothing started, as Last-Event-ID against
 * ?site= is; the same site in both is taken. */
static void a_visits_site_in_query_and_body_must_agree(void **state) {
  (void)state;
  serve_process n;
  char boss[64], *body = NULL;
  sites_node(&n, "site_agree", "s4", boss);
  int status = serve_request(&n, "POST", "/api/v1/visits?site=north",
                             "{\"protocol\": \"takeover\", \"patient\": \"au3-chair\", \"site\": \"south\"}", &body);
  if (status != 409 || !strstr(body, "\"code\":\"site_mismatch\""))
    fail_msg("?site=north, south in the body: %d %s", status, body);
  free(body);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%au3-chair%'"), 0);
  assert_int_equal(serve_request(&n, "POST", "/api/v1/visits?site=south",
                                 "{\"protocol\": \"takeover\", \"patient\": \"au3-chair\", \"site\": \"south\"}",
                                 &body),
                   201);
  free(body);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE site = 'south' AND body LIKE '%au3-chair%'"), 1);
  assert_int_equal(serve_stop(&n, 0), 0);
  serve_cleanup(&n);
}

static int group_setup(void **state) {
  (void)state;
  hook_up();
  if (pg_cluster_start(&pgc) < 0) return -1;
  return pg_cluster_createdb(&pgc, "cluster", cluster_uri, sizeof cluster_uri);
}

static int group_teardown(void **state) {
  (void)state;
  hook_down();
  pg_cluster_cleanup(&pgc);
  return 0;
}

/* test_cluster --long (or VIGIL_CLUSTER_LONG=1): the loop of takeovers
 * alone; not run by make check. */
/* E6 of the third try: a table of the schema dropped while a node ran did
 * not stop it: /healthz "ok", every start 503 commit_failed for ever (D2
 * stopped a node only at its start). The write that meets it is refused
 * (503, nothing recorded) and the node stops, status 1, saying why, at its
 * next renewal. */
static void a_schema_table_dropped_while_running_stops_the_node(void **state) {
  (void)state;
  assert_int_equal(pg_cluster_createdb(&pgc, "dropped_live", uri, sizeof uri), 0);
  serve_process n;
  node_setup(&n, "t6", "north");
  add_nurse(&n);
  node_spawn(&n);
  assert_true(node_says(&n, "\"msg\":\"listening\"", 30000));
  assert_int_equal(serve_start_visit(&n, "takeover", "chair-1"), 1);
  exec_sql("DROP TABLE vigil_visits");
  assert_int_equal(
      serve_request(&n, "POST", "/api/v1/visits", "{\"protocol\": \"takeover\", \"patient\": \"chair-2\"}", NULL), 503);
  double began = now_ms();
  assert_true(node_says(&n, "the database lacks part of vigil's schema: the node stops", LEASE_S * 1000));
  int status = 0;
  assert_int_equal(waitpid(n.pid, &status, 0), n.pid);
  n.pid = 0;
  fprintf(stderr, "# stopped %.0f ms after the refused write\n", now_ms() - began);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 1);
  char *text = serve_log(&n);
  assert_non_null(strstr(text, "relation \\\"vigil_visits\\\" does not exist"));
  free(text);
  assert_int_equal(count("SELECT count(*) FROM vigil_events WHERE body LIKE '%chair-2%'"), 0);
  serve_cleanup(&n);
}

int main(int argc, char **argv) {
  const char *env = getenv("VIGIL_CLUSTER_LONG");
  int is_long = env && *env && strcmp(env, "0") != 0;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--long")) is_long = 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(users_on_every_node),
                                     cmocka_unit_test(several_sites_per_node),
                                     cmocka_unit_test(a_plugin_per_site_on_one_node),
                                     cmocka_unit_test(takeover_and_fencing),
                                     cmocka_unit_test(postgresql_restarted),
                                     cmocka_unit_test(reads_during_an_outage_never_show_an_empty_board),
                                     cmocka_unit_test(a_standby_outlives_a_postgresql_restart),
                                     cmocka_unit_test(a_node_slow_to_load_keeps_its_site),
                                     cmocka_unit_test(a_lease_shorter_than_two_seconds_is_refused),
                                     cmocka_unit_test(an_owner_rides_out_an_outage_of_half_the_lease),
                                     cmocka_unit_test(a_node_whose_clock_is_off_claims_no_site),
                                     cmocka_unit_test(a_node_whose_clock_goes_off_gives_its_site_up),
                                     cmocka_unit_test(sites_without_a_node_are_refused),
                                     cmocka_unit_test(a_server_without_a_node_on_postgresql_is_refused),
                                     cmocka_unit_test(the_first_admin_password_is_in_a_file_only_its_owner_reads),
                                     cmocka_unit_test(a_node_refuses_a_site_that_does_not_exist),
                                     cmocka_unit_test(a_misconfigured_node_stops_saying_why),
                                     cmocka_unit_test(a_missing_socket_is_an_outage),
                                     cmocka_unit_test(a_schema_table_dropped_while_running_stops_the_node),
                                     cmocka_unit_test(the_cli_names_a_site_on_postgresql),
                                     cmocka_unit_test(a_user_works_at_their_sites),
                                     cmocka_unit_test(a_stream_ends_when_its_site_is_taken_away),
                                     cmocka_unit_test(a_malformed_sites_list_is_refused),
                                     cmocka_unit_test(a_visits_site_in_query_and_body_must_agree)};
  const struct CMUnitTest long_tests[] = {cmocka_unit_test(takeover_loop)};
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--long") != 0) cmocka_set_test_filter(argv[i]); /* one case by name (a pattern) */
  if (is_long) return cmocka_run_group_tests(long_tests, group_setup, group_teardown);
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
