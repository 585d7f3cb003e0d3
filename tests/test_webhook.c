/* test_webhook.c: the webhook plugin against a real receiver on loopback.
 *
 * The receiver (a thread of this test, plain sockets) checks every
 * Standard Webhooks signature with the endpoint's secret and records what
 * arrives. It is taken down while the nurses go on recording, vigil is
 * killed and started again in between, and the receiver comes back: every
 * event must then have arrived, in order per visit, each duplicate with the
 * same id and body. A second test points an endpoint at a closed port with
 * a short retry period: its events are dead-lettered and shown in
 * GET /api/v1/plugins and /metrics. The others route with a site's `where`
 * filter: a pager endpoint gets only Room 2's high alerts, across an outage
 * and a restart, while a ward endpoint gets every alert; a filter that fails
 * sends or dead-letters as its endpoint says; a broken one is refused. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "serve_process.h"

/* A high alert when the systolic is above 160; it resolves when it is not. */
static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'hook' {\n"
    "  version = '1.0.0',\n"
    "  phases = { v.phase 'one' { items = {\n"
    "    v.vitals 'vitals' { fields = { 'sbp' }, rule = function(x)\n"
    "      if x.sbp > 160 then return v.alert.high('SBP high', { latching = false }) end end },\n"
    "  } } },\n"
    "}\n";

/* Two secrets, as integrators get them: whsec_ and base64. */
#define SECRET_ALL "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_ALERTS "whsec_c2Vjb25kIHNlY3JldCBvZiB0aGUgYWxlcnRzIGVuZHBvaW50"

/* ---- the receiver ----------------------------------------------------------------- */

typedef enum mode { UP, DROP_ONCE } mode;

typedef struct receipt {
  char path[32], id[32];
  char *body;
  int verified;
  long long timestamp;
} receipt;

typedef struct receiver {
  pthread_t thread;
  pthread_mutex_t lock;
  int port, fd, running;
  mode mode;
  receipt *r;
  size_t n, cap;
} receiver;

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static const char *header(const char *head, const char *name, char *out, size_t len) {
  const char *p = head;
  size_t n = strlen(name);
  while ((p = strchr(p, '\n'))) {
    p++;
    if (!strncasecmp(p, name, n) && p[n] == ':') {
      p += n + 1;
      while (*p == ' ')
        p++;
      size_t k = strcspn(p, "\r\n");
      snprintf(out, len, "%.*s", (int)k, p);
      return out;
    }
  }
  return NULL;
}

/* What the receiver's integrator would do: recompute the signature. */
static int verify(const char *path, const char *id, const char *ts, const char *sig, const char *body, size_t len) {
  const char *secret = !strcmp(path, "/alerts") ? SECRET_ALERTS : SECRET_ALL;
  unsigned char key[64];
  size_t keylen;
  if (sodium_base642bin(key, sizeof key, secret + 6, strlen(secret + 6), NULL, &keylen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return 0;
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, key, keylen);
  char prefix[128];
  int n = snprintf(prefix, sizeof prefix, "%s.%s.", id, ts);
  crypto_auth_hmacsha256_update(&st, (unsigned char *)prefix, (unsigned long long)n);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
  crypto_auth_hmacsha256_final(&st, mac);
  char b64[64], want[80];
  sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
  snprintf(want, sizeof want, "v1,%s", b64);
  return !strcmp(sig, want);
}

static void serve_one(receiver *rc, int c) {
  char buf[65536];
  size_t got = 0;
  char *end = NULL;
  struct pollfd pf = {c, POLLIN, 0};
  long body_len = -1;
  while (got < sizeof buf - 1 && poll(&pf, 1, 2000) > 0) {
    ssize_t k = recv(c, buf + got, sizeof buf - 1 - got, 0);
    if (k <= 0) break;
    got += (size_t)k;
    buf[got] = '\0';
    if (!end && (end = strstr(buf, "\r\n\r\n"))) {
      char v[32];
      body_len = header(buf, "Content-Length", v, sizeof v) ? atol(v) : 0;
    }
    if (end && (long)(got - (size_t)(end + 4 - buf)) >= body_len) break;
  }
  if (!end) return;
  char path[32] = "", id[32] = "", ts[32] = "", sig[128] = "";
  sscanf(buf, "POST %31s", path);
  header(buf, "webhook-id", id, sizeof id);
  header(buf, "webhook-timestamp", ts, sizeof ts);
  header(buf, "webhook-signature", sig, sizeof sig);
  const char *body = end + 4;
  pthread_mutex_lock(&rc->lock);
  if (rc->n == rc->cap) {
    rc->cap = rc->cap ? rc->cap * 2 : 64;
    rc->r = realloc(rc->r, rc->cap * sizeof *rc->r);
  }
  receipt *r = &rc->r[rc->n++];
  snprintf(r->path, sizeof r->path, "%s", path);
  snprintf(r->id, sizeof r->id, "%s", id);
  r->body = strndup(body, (size_t)body_len);
  r->verified = verify(path, id, ts, sig, body, (size_t)body_len);
  r->timestamp = atoll(ts);
  mode m = rc->mode;
  if (m == DROP_ONCE) rc->mode = UP;
  pthread_mutex_unlock(&rc->lock);
  /* DROP_ONCE: taken in, but the answer is lost: vigil must send it again. */
  if (m == UP) {
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    send(c, ok, strlen(ok), MSG_NOSIGNAL);
  }
}

static void *receiver_main(void *ud) {
  receiver *rc = ud;
  while (__atomic_load_n(&rc->running, __ATOMIC_SEQ_CST)) {
    struct pollfd pf = {rc->fd, POLLIN, 0};
    if (poll(&pf, 1, 50) <= 0) continue;
    int c = accept(rc->fd, NULL, NULL);
    if (c < 0) continue;
    serve_one(rc, c);
    close(c);
  }
  return NULL;
}

static void receiver_up(receiver *rc) {
  rc->fd = listen_on(rc->port);
  assert_true(rc->fd >= 0);
  if (!rc->port) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(rc->fd, (struct sockaddr *)&a, &len);
    rc->port = ntohs(a.sin_port);
  }
  rc->running = 1;
  assert_int_equal(pthread_create(&rc->thread, NULL, receiver_main, rc), 0);
}

/* Down: the port refuses connections. */
static void receiver_down(receiver *rc) {
  __atomic_store_n(&rc->running, 0, __ATOMIC_SEQ_CST);
  pthread_join(rc->thread, NULL);
  close(rc->fd);
}

static size_t receipts(receiver *rc) {
  pthread_mutex_lock(&rc->lock);
  size_t n = rc->n;
  pthread_mutex_unlock(&rc->lock);
  return n;
}

/* ---- vigil ---------------------------------------------------------------------- */

typedef struct fixture {
  serve_process s;
  receiver rc;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (serve_setup(&f->s, PROTOCOL) < 0) return -1;
  pthread_mutex_init(&f->rc.lock, NULL);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->rc.running) receiver_down(&f->rc);
  for (size_t i = 0; i < f->rc.n; i++)
    free(f->rc.r[i].body);
  free(f->rc.r);
  pthread_mutex_destroy(&f->rc.lock);
  serve_cleanup(&f->s);
  free(f);
  return 0;
}

static json_t *call(fixture *f, const char *method, const char *path, const char *body, int want) {
  char *text;
  int status = serve_request(&f->s, method, path, body, &text);
  if (status != want) fail_msg("%s %s: %d %s", method, path, status, text ? text : "");
  json_t *j = json_loads(text, 0, NULL);
  if (!j) j = json_string(text);
  free(text);
  return j;
}

static uint64_t start_visit(fixture *f, const char *patient) {
  uint64_t id = serve_start_visit(&f->s, "hook", patient);
  assert_true(id > 0);
  return id;
}

static void record(fixture *f, uint64_t visit, int sbp) { assert_int_equal(serve_record_sbp(&f->s, visit, sbp), 200); }

/* Every durable event: [{seq, visit, type}] */
static json_t *all_events(fixture *f) {
  json_t *out = json_array();
  uint64_t after = 0;
  for (;;) {
    char path[96];
    snprintf(path, sizeof path, "/api/v1/events?after=%llu&limit=1000", (unsigned long long)after);
    json_t *page = call(f, "GET", path, NULL, 200);
    json_t *ev;
    size_t i;
    json_array_foreach(json_object_get(page, "events"), i, ev) json_array_append(out, ev);
    after = (uint64_t)json_integer_value(json_object_get(page, "next"));
    int more = json_is_true(json_object_get(page, "more"));
    json_decref(page);
    if (!more) return out;
  }
}

/* The distinct ids that reached path. */
static size_t distinct_at(receiver *rc, const char *path) {
  pthread_mutex_lock(&rc->lock);
  size_t n = 0;
  for (size_t i = 0; i < rc->n; i++) {
    if (strcmp(rc->r[i].path, path)) continue;
    int seen = 0;
    for (size_t k = 0; k < i && !seen; k++)
      seen = !strcmp(rc->r[k].path, path) && !strcmp(rc->r[k].id, rc->r[i].id);
    n += !seen;
  }
  pthread_mutex_unlock(&rc->lock);
  return n;
}

static size_t count_wanted(json_t *events, const char *prefix) {
  size_t n = 0, i;
  json_t *ev;
  json_array_foreach(events, i, ev) n +=
      !prefix || !strncmp(json_string_value(json_object_get(ev, "type")), prefix, strlen(prefix));
  return n;
}

/* Waits until both endpoints have every event they should. */
static void wait_all_delivered(fixture *f, json_t *events) {
  size_t want_all = count_wanted(events, NULL), want_alerts = count_wanted(events, "alert.");
  double deadline = hc_now_ms() + 30000;
  while (hc_now_ms() < deadline) {
    if (distinct_at(&f->rc, "/all") == want_all && distinct_at(&f->rc, "/alerts") == want_alerts) return;
    usleep(20000);
  }
  char *log = serve_log(&f->s);
  fail_msg("not all delivered: /all %zu of %zu, /alerts %zu of %zu\n%s", distinct_at(&f->rc, "/all"), want_all,
           distinct_at(&f->rc, "/alerts"), want_alerts, log);
}

static void configure(fixture *f) {
  char extra[2048];
  snprintf(extra, sizeof extra,
           "plugins = { webhook = {\n"
           "  start = 'beginning', retry_min = 0.05, retry_max = 0.2,\n"
           "  endpoints = {\n"
           "    { name = 'all', url = 'http://127.0.0.1:%d/all', secret = '" SECRET_ALL "' },\n"
           "    { name = 'alerts', url = 'http://127.0.0.1:%d/alerts', secret = '" SECRET_ALERTS "',\n"
           "      types = 'alert.*' },\n"
           "  },\n"
           "} }\n",
           f->rc.port, f->rc.port);
  serve_configure(&f->s, extra);
}

/* 64-bit FNV-1a over the body, its halves xor'ed: the receiver's own
 * reckoning of the digest in a webhook-id (E4). */
static unsigned fnv1a(const char *body) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char *c = (const unsigned char *)body; *c; c++)
    h = (h ^ *c) * 1099511628211ull;
  return (unsigned)(h ^ (h >> 32));
}

/* E4: the id a receiver should see for an event: "<seq>-<digest>". */
static void id_of(const char *body, uint64_t seq, char id[32]) {
  snprintf(id, 32, "%llu-%08x", (unsigned long long)seq, fnv1a(body));
}

/* Returns how many duplicates came. */
static size_t check_receipts(fixture *f, json_t *events, const char *path, const char *prefix) {
  receiver *rc = &f->rc;
  int64_t now = (int64_t)time(NULL);
  size_t duplicates = 0;
  /* Per visit, the last seq whose first copy arrived. */
  uint64_t last_of[64] = {0};
  for (size_t i = 0; i < rc->n; i++) {
    receipt *r = &rc->r[i];
    if (strcmp(r->path, path)) continue;
    if (!r->verified) fail_msg("%s: event %s: the signature does not verify", path, r->id);
    assert_true(r->timestamp > now - 300 && r->timestamp <= now + 5);
    json_t *ev = json_loads(r->body, 0, NULL);
    assert_non_null(ev);
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
    uint64_t visit = (uint64_t)json_integer_value(json_object_get(ev, "visit"));
    char id[32];
    id_of(r->body, seq, id);
    assert_string_equal(r->id, id); /* the id is the event's seq and the digest of it */
    if (prefix) assert_int_equal(strncmp(json_string_value(json_object_get(ev, "type")), prefix, strlen(prefix)), 0);
    json_decref(ev);
    int first = 1;
    for (size_t k = 0; k < i && first; k++) {
      if (strcmp(rc->r[k].path, path) || strcmp(rc->r[k].id, r->id)) continue;
      first = 0;
      assert_string_equal(rc->r[k].body, r->body); /* a duplicate is the same message */
      duplicates++;
    }
    assert_true(visit < 64);
    if (first) {
      if (seq <= last_of[visit])
        fail_msg("%s: event %llu of visit %llu arrived after %llu", path, (unsigned long long)seq,
                 (unsigned long long)visit, (unsigned long long)last_of[visit]);
      last_of[visit] = seq;
    }
  }
  /* Every event the endpoint wants is there (distinct ids == events wanted). */
  assert_int_equal(distinct_at(rc, path), count_wanted(events, prefix));
  return duplicates;
}

static void test_every_event_arrives_across_outage_and_restart(void **state) {
  fixture *f = *state;
  receiver_up(&f->rc);
  configure(f);
  assert_int_equal(serve_start(&f->s), 0);
  uint64_t a = start_visit(f, "chair-1"), b = start_visit(f, "chair-2");
  record(f, a, 120);
  record(f, b, 190);
  record(f, a, 185);
  record(f, b, 130);
  json_t *events = all_events(f);
  wait_all_delivered(f, events);
  json_decref(events);

  /* An answer lost on the way: the same event comes again. */
  pthread_mutex_lock(&f->rc.lock);
  f->rc.mode = DROP_ONCE;
  pthread_mutex_unlock(&f->rc.lock);
  record(f, a, 125);
  events = all_events(f);
  wait_all_delivered(f, events);
  json_decref(events);

  /* The receiver goes down; the nurses go on; vigil dies and comes back. */
  receiver_down(&f->rc);
  size_t before = receipts(&f->rc);
  for (int i = 0; i < 3; i++) {
    record(f, a, i % 2 ? 170 : 110);
    record(f, b, i % 2 ? 120 : 200);
  }
  usleep(300000); /* several retries fail meanwhile */
  assert_int_equal(serve_stop(&f->s, 1), SIGKILL);
  assert_int_equal(serve_start(&f->s), 0);
  record(f, a, 190);
  record(f, b, 140);
  usleep(200000);
  assert_int_equal(receipts(&f->rc), before);
  receiver_up(&f->rc);
  events = all_events(f);
  wait_all_delivered(f, events);

  size_t duplicates = check_receipts(f, events, "/all", NULL) + check_receipts(f, events, "/alerts", "alert.");
  assert_true(duplicates >= 1);
  json_decref(events);

  /* Delivered and nothing left over. */
  json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
  json_t *eps =
      json_object_get(json_object_get(json_array_get(json_object_get(st, "plugins"), 0), "status"), "endpoints");
  assert_int_equal(json_array_size(eps), 2);
  for (size_t i = 0; i < 2; i++)
    assert_int_equal(json_integer_value(json_object_get(json_array_get(eps, i), "dead_letters")), 0);
  json_decref(st);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

static void test_dead_letters_after_the_retry_period(void **state) {
  fixture *f = *state;
  /* A port that nothing listens on: bound, never accepted, then closed. */
  int fd = listen_on(0);
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  int port = ntohs(sa.sin_port);
  close(fd);
  char extra[1024];
  snprintf(extra, sizeof extra,
           "plugins = { webhook = { start = 'beginning', retry_for = 0.3, retry_min = 0.05, retry_max = 0.1,\n"
           "  endpoints = { { name = 'gone', url = 'http://who:pw@127.0.0.1:%d/x?key=s3cret', secret = '" SECRET_ALL
           "',\n"
           "                  types = 'visit.*' } } } }\n",
           port);
  serve_configure(&f->s, extra);
  assert_int_equal(serve_start(&f->s), 0);
  start_visit(f, "chair-1");
  start_visit(f, "chair-2");
  double deadline = hc_now_ms() + 20000;
  json_int_t dead = 0;
  while (hc_now_ms() < deadline && dead < 2) {
    json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
    json_t *status = json_object_get(json_array_get(json_object_get(st, "plugins"), 0), "status");
    dead = json_integer_value(json_object_get(status, "dead_letters_total"));
    if (dead == 2) {
      json_t *d = json_array_get(json_object_get(status, "dead_letters"), 0);
      assert_string_equal(json_string_value(json_object_get(d, "endpoint")), "gone");
      assert_string_equal(json_string_value(json_object_get(d, "type")), "visit.started");
      assert_true(json_integer_value(json_object_get(d, "attempts")) >= 2);
      assert_non_null(json_string_value(json_object_get(d, "error")));
      /* Credentials in the URL are not shown. */
      char want[64];
      snprintf(want, sizeof want, "http://127.0.0.1:%d/x?…", port);
      json_t *ep = json_array_get(json_object_get(status, "endpoints"), 0);
      assert_string_equal(json_string_value(json_object_get(ep, "url")), want);
    }
    json_decref(st);
    usleep(50000);
  }
  assert_int_equal(dead, 2);
  json_t *m = call(f, "GET", "/metrics", NULL, 200);
  assert_non_null(
      strstr(json_string_value(m), "vigil_plugin_webhook_dead_letters{plugin=\"webhook\",endpoint=\"gone\"} 2\n"));
  json_decref(m);
  /* Dead letters are kept: still counted after a restart. */
  assert_int_equal(serve_stop(&f->s, 0), 0);
  assert_int_equal(serve_start(&f->s), 0);
  json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
  json_t *ep = json_array_get(
      json_object_get(json_object_get(json_array_get(json_object_get(st, "plugins"), 0), "status"), "endpoints"), 0);
  assert_int_equal(json_integer_value(json_object_get(ep, "dead_letters")), 2);
  json_decref(st);
}

/* While an endpoint is down (waiting to retry), its backlog in
 * /api/v1/plugins and /metrics is one figure that follows the log (W S10).
 * Before: both kept the figure of the last attempt while visits went on. */
static void test_backlog_follows_the_log_while_down(void **state) {
  fixture *f = *state;
  int fd = listen_on(0);
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  int port = ntohs(sa.sin_port);
  close(fd);
  char extra[1024];
  snprintf(extra, sizeof extra,
           "plugins = { webhook = { start = 'beginning', retry_for = 600, retry_min = 30, retry_max = 60,\n"
           "  endpoints = { { name = 'down', url = 'http://127.0.0.1:%d/x', secret = '" SECRET_ALL "' } } } }\n",
           port);
  serve_configure(&f->s, extra);
  assert_int_equal(serve_start(&f->s), 0);
  start_visit(f, "chair-1");
  usleep(500000); /* the first attempt failed: the next is 30 s away */
  json_int_t before = -1;
  for (int round = 0; round < 2; round++) {
    if (round) {
      for (int i = 0; i < 5; i++)
        start_visit(f, "chair-2");
      usleep(300000);
    }
    json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
    json_t *m = call(f, "GET", "/metrics", NULL, 200);
    json_t *ep = json_array_get(
        json_object_get(json_object_get(json_array_get(json_object_get(st, "plugins"), 0), "status"), "endpoints"), 0);
    json_int_t backlog = json_integer_value(json_object_get(ep, "backlog"));
    char want[160];
    snprintf(want, sizeof want, "vigil_plugin_webhook_backlog_events{plugin=\"webhook\",endpoint=\"down\"} %lld\n",
             (long long)backlog);
    if (!strstr(json_string_value(m), want)) fail_msg("/metrics does not say %s:\n%s", want, json_string_value(m));
    if (round && backlog < before + 5)
      fail_msg("the backlog did not follow the log: %lld before 5 visits, %lld after", (long long)before,
               (long long)backlog);
    before = backlog;
    json_decref(m);
    json_decref(st);
  }
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* A webhook without a secret is refused, and vigil serves on. */
static void test_unsigned_endpoint_refused(void **state) {
  fixture *f = *state;
  serve_configure(&f->s, "plugins = { webhook = { endpoints = { { name = 'x', url = 'http://127.0.0.1:9/' } } } }\n");
  assert_int_equal(serve_start(&f->s), 0);
  json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
  json_t *p = json_array_get(json_object_get(st, "plugins"), 0);
  assert_string_equal(json_string_value(json_object_get(p, "state")), "failed");
  assert_non_null(strstr(json_string_value(json_object_get(p, "error")), "want a secret"));
  json_decref(st);
  start_visit(f, "chair-1");
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* AF6 of the integrator's try: `start` inside an endpoint (it is the
 * plugin's setting) was silently ignored, and the endpoint started from now
 * instead of the beginning. A setting the plugin does not know is refused,
 * naming it, at the top and in an endpoint; vigil serves on. */
static void test_misplaced_setting_refused(void **state) {
  fixture *f = *state;
  static const char *const confs[][2] = {
      {"plugins = { webhook = { endpoints = { { name = 'x', url = 'http://127.0.0.1:9/', secret = '" SECRET_ALL
       "', start = 'beginning' } } } }\n",
       "plugins.webhook.endpoints[1]: unknown setting 'start'"},
      {"plugins = { webhook = { timeout = 2, endpoints = { { name = 'x', url = 'http://127.0.0.1:9/', secret = "
       "'" SECRET_ALL "' } } } }\n",
       "plugins.webhook: unknown setting 'timeout'"},
  };
  for (size_t i = 0; i < sizeof confs / sizeof *confs; i++) {
    serve_configure(&f->s, confs[i][0]);
    assert_int_equal(serve_start(&f->s), 0);
    json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
    json_t *p = json_array_get(json_object_get(st, "plugins"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "failed");
    const char *error = json_string_value(json_object_get(p, "error"));
    if (!error || !strstr(error, confs[i][1])) fail_msg("refused with '%s', not '%s'", error, confs[i][1]);
    json_decref(st);
    assert_int_equal(serve_stop(&f->s, 0), 0);
  }
}

/* ---- where: a site's filter ------------------------------------------------------- */

/* A plugin folder of the test's own: the built webhook, and the site's Lua files. */
static void site_folder(fixture *f, char *dir, size_t len) {
  snprintf(dir, len, "%s/site", f->s.root);
  assert_int_equal(mkdir(dir, 0700), 0);
  char from[4400], to[256];
  snprintf(from, sizeof from, "%s/webhook.so", f->s.plugins);
  snprintf(to, sizeof to, "%s/webhook.so", dir);
  assert_int_equal(symlink(from, to), 0);
}

static void site_file(const char *dir, const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s.lua", dir, name);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* vigil.conf with the site folder and these endpoints (Lua, %d: the receiver's port). */
static void configure_site(fixture *f, const char *dir, const char *endpoints_fmt) {
  char endpoints[1024], extra[2048];
  snprintf(endpoints, sizeof endpoints, endpoints_fmt, f->rc.port, f->rc.port);
  snprintf(extra, sizeof extra,
           "plugin_dir = '%s'\n"
           "plugins = { webhook = {\n"
           "  start = 'beginning', retry_min = 0.05, retry_max = 0.2,\n"
           "  endpoints = {\n%s  },\n"
           "} }\n",
           dir, endpoints);
  serve_configure(&f->s, extra);
}

/* The room-2 pager of docs/plugins.md. */
static const char *ROOM2_LUA = "-- room2_high.lua: high alerts of the chairs of Room 2.\n"
                               "return function(event, visit)\n"
                               "  return event.data.priority == 'high' and visit ~= nil\n"
                               "    and (visit.location or ''):match('^Room 2') ~= nil\n"
                               "end\n";

static uint64_t start_visit_in(fixture *f, const char *patient, const char *location) {
  uint64_t id = serve_start_visit_at(&f->s, "hook", patient, location);
  assert_true(id > 0 && id < 64);
  return id;
}

/* The seqs of the alert events, and of those the pager wants: high, in a
 * visit whose location starts with "Room 2" (room2[visit]). */
static void alert_seqs(json_t *events, const int *room2, json_t *all, json_t *paged) {
  size_t i;
  json_t *ev;
  json_array_foreach(events, i, ev) {
    if (strncmp(json_string_value(json_object_get(ev, "type")), "alert.", 6)) continue;
    json_int_t seq = json_integer_value(json_object_get(ev, "seq"));
    json_array_append_new(all, json_integer(seq));
    const char *prio = json_string_value(json_object_get(json_object_get(ev, "data"), "priority"));
    if (prio && !strcmp(prio, "high") && room2[json_integer_value(json_object_get(ev, "visit"))])
      json_array_append_new(paged, json_integer(seq));
  }
}

/* Whether the ids that reached path are exactly seqs (duplicates aside). */
static int received_exactly(receiver *rc, const char *path, json_t *seqs) {
  size_t want = json_array_size(seqs);
  if (distinct_at(rc, path) != want) return 0;
  pthread_mutex_lock(&rc->lock);
  int ok = 1;
  for (size_t i = 0; i < rc->n && ok; i++) {
    if (strcmp(rc->r[i].path, path)) continue;
    int found = 0;
    for (size_t k = 0; k < want && !found; k++)
      found = atoll(rc->r[i].id) == json_integer_value(json_array_get(seqs, k));
    ok = found;
  }
  pthread_mutex_unlock(&rc->lock);
  return ok;
}

static void wait_routed(fixture *f, const int *room2, size_t *n_paged) {
  double deadline = hc_now_ms() + 30000;
  json_t *events = NULL, *all = NULL, *paged = NULL;
  while (hc_now_ms() < deadline) {
    json_decref(events), json_decref(all), json_decref(paged);
    events = all_events(f), all = json_array(), paged = json_array();
    alert_seqs(events, room2, all, paged);
    if (received_exactly(&f->rc, "/ward", all) && received_exactly(&f->rc, "/pager", paged)) break;
    usleep(20000);
  }
  int ok = received_exactly(&f->rc, "/ward", all) && received_exactly(&f->rc, "/pager", paged);
  if (!ok) {
    char *log = serve_log(&f->s);
    fail_msg("/ward %zu of %zu alerts, /pager %zu (want exactly %zu)\n%s", distinct_at(&f->rc, "/ward"),
             json_array_size(all), distinct_at(&f->rc, "/pager"), json_array_size(paged), log);
  }
  /* Each in order per visit, signed, the id its seq. */
  check_receipts(f, events, "/ward", "alert.");
  *n_paged = json_array_size(paged);
  json_decref(events), json_decref(all), json_decref(paged);
}

static void test_where_routes_one_rooms_high_alerts(void **state) {
  fixture *f = *state;
  char dir[128];
  site_folder(f, dir, sizeof dir);
  site_file(dir, "room2_high", ROOM2_LUA);
  receiver_up(&f->rc);
  configure_site(
      f, dir,
      "    { name = 'ward', url = 'http://127.0.0.1:%d/ward', secret = '" SECRET_ALL "', types = 'alert.*' },\n"
      "    { name = 'pager', url = 'http://127.0.0.1:%d/pager', secret = '" SECRET_ALL "', types = 'alert.*',\n"
      "      where = 'room2_high' },\n");
  assert_int_equal(serve_start(&f->s), 0);
  int room2[64] = {0};
  uint64_t a = start_visit_in(f, "p-1", "Room 2 / chair 1"), b = start_visit_in(f, "p-2", "Room 3 / chair 1");
  uint64_t c = start_visit_in(f, "p-3", "Room 2 / chair 4");
  room2[a] = room2[c] = 1;
  record(f, a, 190); /* high, Room 2: paged */
  record(f, b, 195); /* high, Room 3: not */
  record(f, a, 120); /* resolved: no priority, not paged */
  size_t paged;
  wait_routed(f, room2, &paged);
  assert_int_equal(paged, 1);

  /* The receiver goes down; alerts go on; vigil dies and comes back. */
  receiver_down(&f->rc);
  record(f, b, 120);
  record(f, c, 200);
  record(f, b, 185);
  usleep(200000);
  assert_int_equal(serve_stop(&f->s, 1), SIGKILL);
  assert_int_equal(serve_start(&f->s), 0);
  record(f, a, 199);
  record(f, c, 110);
  receiver_up(&f->rc);
  wait_routed(f, room2, &paged);
  assert_int_equal(paged, 3);

  json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
  json_t *p = json_array_get(json_object_get(st, "plugins"), 0);
  json_t *pager = json_array_get(json_object_get(json_object_get(p, "status"), "endpoints"), 1);
  assert_string_equal(json_string_value(json_object_get(pager, "where")), "room2_high");
  assert_int_equal(json_integer_value(json_object_get(pager, "where_errors")), 0);
  assert_int_equal(json_integer_value(json_object_get(p, "failures")), 0);
  json_decref(st);

  /* Events neither endpoint wants (visits, entries) come after their last
   * alert: each endpoint's backlog is the same figure in /api/v1/plugins and
   * /metrics, and it is 0, since nothing is left to send. Before: the
   * status counted every event after the cursor (tens), /metrics 0. */
  uint64_t d = start_visit_in(f, "p-4", "Room 4 / chair 1");
  record(f, d, 120);
  record(f, d, 121);
  usleep(300000);
  st = call(f, "GET", "/api/v1/plugins", NULL, 200);
  json_t *m = call(f, "GET", "/metrics", NULL, 200);
  json_t *eps =
      json_object_get(json_object_get(json_array_get(json_object_get(st, "plugins"), 0), "status"), "endpoints");
  for (size_t i = 0; i < 2; i++) {
    json_t *ep = json_array_get(eps, i);
    const char *name = json_string_value(json_object_get(ep, "name"));
    char want[160];
    snprintf(want, sizeof want, "vigil_plugin_webhook_backlog_events{plugin=\"webhook\",endpoint=\"%s\"} %lld\n", name,
             (long long)json_integer_value(json_object_get(ep, "backlog")));
    if (!strstr(json_string_value(m), want)) fail_msg("/metrics does not say %s:\n%s", want, json_string_value(m));
    assert_int_equal(json_integer_value(json_object_get(ep, "backlog")), 0);
  }
  /* The whole of /metrics, the server's and the plugin's, as Prometheus reads it. */
  if (system("command -v promtool > /dev/null 2>&1") == 0) {
    FILE *pt = popen("promtool check metrics > /dev/null 2>&1", "w");
    assert_non_null(pt);
    fputs(json_string_value(m), pt);
    if (pclose(pt) != 0) fail_msg("promtool check metrics refuses /metrics:\n%s", json_string_value(m));
  } else {
    print_message("promtool is not installed (the prometheus package): its check is skipped\n");
  }
  json_decref(m);
  json_decref(st);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* A filter that fails on an event: `send` (the default) sends it anyway,
 * `dead_letter` keeps it as a dead letter; both log file:line and count. */
static void test_where_failure_sends_or_dead_letters(void **state) {
  fixture *f = *state;
  char dir[128];
  site_folder(f, dir, sizeof dir);
  site_file(dir, "strict",
            "return function(event, visit)\n"
            "  if visit.patient == 'boom' then error('no route for this patient') end\n"
            "  return false\n"
            "end\n");
  receiver_up(&f->rc);
  configure_site(
      f, dir,
      "    { name = 'sent', url = 'http://127.0.0.1:%d/sent', secret = '" SECRET_ALL "', types = 'alert.raised',\n"
      "      where = 'strict' },\n"
      "    { name = 'kept', url = 'http://127.0.0.1:%d/kept', secret = '" SECRET_ALL "', types = 'alert.raised',\n"
      "      where = 'strict', where_error = 'dead_letter' },\n");
  assert_int_equal(serve_start(&f->s), 0);
  uint64_t calm = start_visit_in(f, "calm", "Room 1"), boom = start_visit_in(f, "boom", "Room 1");
  record(f, calm, 190);
  record(f, boom, 190);
  record(f, calm, 120);
  record(f, calm, 190);
  double deadline = hc_now_ms() + 20000;
  json_int_t dead = 0;
  while (hc_now_ms() < deadline && (distinct_at(&f->rc, "/sent") < 1 || dead < 1)) {
    json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
    dead = json_integer_value(json_object_get(
        json_object_get(json_array_get(json_object_get(st, "plugins"), 0), "status"), "dead_letters_total"));
    json_decref(st);
    usleep(20000);
  }
  usleep(200000); /* anything else would have come by now */
  /* Only boom's alert, which the filter could not decide, went to `sent`. */
  assert_int_equal(distinct_at(&f->rc, "/sent"), 1);
  assert_int_equal(distinct_at(&f->rc, "/kept"), 0);
  pthread_mutex_lock(&f->rc.lock);
  json_t *sent = json_loads(f->rc.r[0].body, 0, NULL);
  pthread_mutex_unlock(&f->rc.lock);
  assert_int_equal(json_integer_value(json_object_get(sent, "visit")), boom);
  json_decref(sent);
  json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
  json_t *p = json_array_get(json_object_get(st, "plugins"), 0), *status = json_object_get(p, "status");
  assert_int_equal(json_integer_value(json_object_get(status, "dead_letters_total")), 1);
  json_t *d = json_array_get(json_object_get(status, "dead_letters"), 0);
  assert_string_equal(json_string_value(json_object_get(d, "endpoint")), "kept");
  assert_int_equal(json_integer_value(json_object_get(d, "visit")), boom);
  assert_non_null(strstr(json_string_value(json_object_get(d, "error")), "strict.lua:2: no route for this patient"));
  assert_int_equal(json_integer_value(json_object_get(p, "failures")), 2);
  json_decref(st);
  json_t *m = call(f, "GET", "/metrics", NULL, 200);
  assert_non_null(strstr(json_string_value(m), "vigil_plugin_failures_total{plugin=\"webhook\"} 2\n"));
  json_decref(m);
  char *log = serve_log(&f->s);
  assert_non_null(strstr(log, "filter strict on event"));
  free(log);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* A filter file that does not load fails the plugin with file:line; vigil serves on. */
static void test_broken_where_refused(void **state) {
  fixture *f = *state;
  char dir[128];
  site_folder(f, dir, sizeof dir);
  site_file(dir, "broken", "return function(event, visit)\n  return event.data.priority ==\nend\n");
  configure_site(
      f, dir, "    { name = 'pager', url = 'http://127.0.0.1:%d/', secret = '" SECRET_ALL "', where = 'broken' },\n");
  assert_int_equal(serve_start(&f->s), 0);
  json_t *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
  json_t *p = json_array_get(json_object_get(st, "plugins"), 0);
  assert_string_equal(json_string_value(json_object_get(p, "state")), "failed");
  const char *error = json_string_value(json_object_get(p, "error"));
  assert_non_null(strstr(error, "endpoints[1] (pager): where: "));
  /* By its name in the plugin folder, never the server's path (X6). */
  assert_non_null(strstr(error, "where: broken.lua:3: unexpected symbol near 'end'"));
  assert_null(strstr(error, f->s.root));
  json_decref(st);
  start_visit(f, "chair-1");
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* E4 (docs/deploy.md): after a restore from a backup the new events took
 * the sequence numbers of the lost ones, and so their webhook-ids: a
 * receiver deduplicating on them (as docs/plugins.md says) dropped the
 * new events, alerts included. A site restored from a copy of its
 * database taken before its first visit starts another: its events of the
 * same seqs come with other ids, each "<seq>-<digest of the body>". */
static void test_ids_differ_after_a_restore(void **state) {
  fixture *f = *state;
  receiver_up(&f->rc);
  configure(f);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "cp '%s/vigil.db' '%s/backup.db'", f->s.root, f->s.root);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(serve_start(&f->s), 0);
  record(f, start_visit(f, "chair-1"), 190);
  json_t *events = all_events(f);
  wait_all_delivered(f, events);
  size_t first_life = json_array_size(events);
  json_decref(events);
  assert_int_equal(serve_stop(&f->s, 0), 0);
  size_t before = receipts(&f->rc);
  snprintf(cmd, sizeof cmd, "rm -f '%s/vigil.db-wal' '%s/vigil.db-shm' && cp '%s/backup.db' '%s/vigil.db'", f->s.root,
           f->s.root, f->s.root, f->s.root);
  assert_int_equal(system(cmd), 0);
  f->s.token[0] = '\0'; /* the session was not in the backup */
  assert_int_equal(serve_start(&f->s), 0);
  record(f, start_visit(f, "chair-2"), 195);
  events = all_events(f);
  /* the restored log's every event at /all again (start = 'beginning') */
  size_t want = json_array_size(events), got = 0;
  double deadline = hc_now_ms() + 30000;
  while (got < want && hc_now_ms() < deadline) {
    pthread_mutex_lock(&f->rc.lock);
    got = 0;
    for (size_t i = before; i < f->rc.n; i++)
      got += !strcmp(f->rc.r[i].path, "/all");
    pthread_mutex_unlock(&f->rc.lock);
    if (got < want) usleep(20000);
  }
  if (got < want) fail_msg("%zu events of the restored log reached /all, not %zu", got, want);
  /* the seqs of the two lives meet; no two different events share an id */
  size_t same_seq = 0;
  pthread_mutex_lock(&f->rc.lock);
  for (size_t i = 0; i < f->rc.n; i++)
    for (size_t k = 0; k < i; k++) {
      receipt *x = &f->rc.r[i], *y = &f->rc.r[k];
      if (strcmp(x->path, y->path) || atoll(x->id) != atoll(y->id) || !strcmp(x->body, y->body)) continue;
      same_seq++;
      if (!strcmp(x->id, y->id))
        fail_msg("%s: two events sent under one webhook-id '%s' (the second after the restore)", x->path, x->id);
    }
  pthread_mutex_unlock(&f->rc.lock);
  if (!same_seq)
    fail_msg("no events of the two lives (%zu events before) share a seq: the test shows no reuse", first_life);
  for (size_t i = 0; i < f->rc.n; i++) {
    json_t *ev = json_loads(f->rc.r[i].body, 0, NULL);
    char id[32];
    id_of(f->rc.r[i].body, (uint64_t)json_integer_value(json_object_get(ev, "seq")), id);
    assert_string_equal(f->rc.r[i].id, id);
    json_decref(ev);
  }
  json_decref(events);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_every_event_arrives_across_outage_and_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_letters_after_the_retry_period, setup, teardown),
      cmocka_unit_test_setup_teardown(test_misplaced_setting_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_backlog_follows_the_log_while_down, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unsigned_endpoint_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_where_routes_one_rooms_high_alerts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_where_failure_sends_or_dead_letters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broken_where_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ids_differ_after_a_restore, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
