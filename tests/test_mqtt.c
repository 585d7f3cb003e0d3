/* test_mqtt.c: the mqtt plugin against a real mosquitto broker, started by
 * the test on a free loopback port (with persistence, so that the test's own
 * subscriber keeps its session across the broker's restart).
 *
 * Alerts arrive under their priority's topic as the events' JSON, QoS 1;
 * other alert events under their type; only the state topic is retained.
 * The broker goes down while alerts are raised, vigil is killed and started
 * again meanwhile, and when the broker is back every alert event arrives,
 * in order per visit. With a site's `where` filter, only Room 2's alerts are
 * published, across the same outage and restart.
 *
 * TLS: the test makes its own CAs and certificates with the openssl command
 * and starts one mosquitto with TLS listeners (a password, a certificate for
 * another name, a client certificate required) beside a clear one for its
 * own subscriber. The plugin delivers over TLS with the right CA; with
 * another CA, or a certificate for another name, the connection is refused,
 * said in the log and the plugin's status, and vigil serves on. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <jansson.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "serve_process.h"

static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'broker' {\n"
    "  version = '1.0.0',\n"
    "  phases = { v.phase 'one' { items = {\n"
    "    v.vitals 'vitals' { fields = { 'sbp' }, rule = function(x)\n"
    "      if x.sbp > 180 then return v.alert.high('SBP very high', { latching = false }) end\n"
    "      if x.sbp > 160 then return v.alert.medium('SBP high', { latching = false }) end\n"
    "    end },\n"
    "  } } },\n"
    "}\n";

/* ---- the broker -------------------------------------------------------------------- */

typedef struct broker {
  char conf[160], log[160];
  int port;
  pid_t pid;
} broker;

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, (struct sockaddr *)&a, sizeof a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

static const char *mosquitto_path(void) {
  static const char *paths[] = {"/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
    if (access(paths[i], X_OK) == 0) return paths[i];
  return NULL;
}

static void broker_start(broker *b) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    FILE *log = fopen(b->log, "a");
    if (log) dup2(fileno(log), 2);
    execl(mosquitto_path(), "mosquitto", "-c", b->conf, (char *)NULL);
    _exit(127);
  }
  b->pid = pid;
  /* Listening when a connection is accepted. */
  for (int i = 0; i < 500; i++) {
    hc_conn c;
    if (hc_connect(&c, b->port) == 0) {
      hc_close(&c);
      return;
    }
    usleep(10000);
  }
  fail_msg("mosquitto did not start (see %s)", b->log);
}

static void broker_stop(broker *b) {
  kill(b->pid, SIGTERM);
  waitpid(b->pid, NULL, 0);
  b->pid = 0;
}

/* ---- a subscriber ------------------------------------------------------------------ */

typedef struct message {
  char *topic, *payload;
  int retained, qos;
} message;

typedef struct subscriber {
  struct mosquitto *m;
  pthread_mutex_t lock;
  message *msgs;
  size_t n, cap;
  int subscribed;
} subscriber;

static void sub_on_connect(struct mosquitto *m, void *ud, int rc) {
  if (rc == 0) mosquitto_subscribe(m, NULL, "vigil/#", 1);
}

static void sub_on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos) {
  subscriber *s = ud;
  pthread_mutex_lock(&s->lock);
  s->subscribed = 1;
  pthread_mutex_unlock(&s->lock);
}

static void sub_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
  subscriber *s = ud;
  pthread_mutex_lock(&s->lock);
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->msgs = realloc(s->msgs, s->cap * sizeof *s->msgs);
  }
  s->msgs[s->n++] =
      (message){strdup(msg->topic), strndup(msg->payload, (size_t)msg->payloadlen), msg->retain, msg->qos};
  pthread_mutex_unlock(&s->lock);
}

static void sub_start(subscriber *s, const char *id, int port) {
  pthread_mutex_init(&s->lock, NULL);
  /* A persistent session: what is published while it is away waits for it. */
  s->m = mosquitto_new(id, false, s);
  assert_non_null(s->m);
  mosquitto_connect_callback_set(s->m, sub_on_connect);
  mosquitto_subscribe_callback_set(s->m, sub_on_subscribe);
  mosquitto_message_callback_set(s->m, sub_on_message);
  mosquitto_reconnect_delay_set(s->m, 1, 1, false);
  assert_int_equal(mosquitto_connect(s->m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
  assert_int_equal(mosquitto_loop_start(s->m), MOSQ_ERR_SUCCESS);
  for (int i = 0; i < 500; i++) {
    pthread_mutex_lock(&s->lock);
    int done = s->subscribed;
    pthread_mutex_unlock(&s->lock);
    if (done) return;
    usleep(10000);
  }
  fail_msg("the test's subscriber did not subscribe");
}

static void sub_stop(subscriber *s) {
  if (!s->m) return;
  mosquitto_disconnect(s->m);
  mosquitto_loop_stop(s->m, true);
  mosquitto_destroy(s->m);
  s->m = NULL;
  for (size_t i = 0; i < s->n; i++)
    free(s->msgs[i].topic), free(s->msgs[i].payload);
  free(s->msgs);
  pthread_mutex_destroy(&s->lock);
}

/* ---- fixture and vigil -------------------------------------------------------------- */

typedef struct fixture {
  serve_process s;
  broker b;
  subscriber sub, late;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (serve_setup(&f->s, PROTOCOL) < 0) return -1;
  f->b.port = free_port();
  snprintf(f->b.conf, sizeof f->b.conf, "%s/mosquitto.conf", f->s.root);
  snprintf(f->b.log, sizeof f->b.log, "%s/mosquitto.log", f->s.root);
  FILE *fp = fopen(f->b.conf, "w");
  /* Run as root, mosquitto would become the user "mosquitto", who cannot
   * write its persistence file in the test's folder: stay who we are. */
  struct passwd *me = getpwuid(geteuid());
  fprintf(fp,
          "listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n"
          "log_dest stderr\nuser %s\n",
          f->b.port, f->s.root, me ? me->pw_name : "root");
  fclose(fp);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  serve_stop(&f->s, 1);
  sub_stop(&f->sub);
  sub_stop(&f->late);
  if (f->b.pid) broker_stop(&f->b);
  serve_cleanup(&f->s);
  free(f);
  return 0;
}

static char *call(fixture *f, const char *method, const char *path, const char *body, int want) {
  char *text;
  int status = serve_request(&f->s, method, path, body, &text);
  if (status != want) fail_msg("%s %s: %d %s", method, path, status, text ? text : "");
  return text;
}

static uint64_t start_visit(fixture *f, const char *patient) {
  uint64_t id = serve_start_visit(&f->s, "broker", patient);
  assert_true(id > 0);
  return id;
}

static void record(fixture *f, uint64_t visit, int sbp) { assert_int_equal(serve_record_sbp(&f->s, visit, sbp), 200); }

/* The alert events in the log. */
static json_t *alert_events(fixture *f) {
  char *text = call(f, "GET", "/api/v1/events?after=0&limit=1000", NULL, 200);
  json_t *page = json_loads(text, 0, NULL), *out = json_array(), *ev;
  free(text);
  size_t i;
  json_array_foreach(json_object_get(page, "events"), i,
                     ev) if (!strncmp(json_string_value(json_object_get(ev, "type")), "alert.", 6))
      json_array_append(out, ev);
  json_decref(page);
  return out;
}

/* Distinct seqs of the event messages received. */
static size_t distinct_events(subscriber *s) {
  pthread_mutex_lock(&s->lock);
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (strstr(s->msgs[i].topic, "/state/")) continue;
    int seen = 0;
    for (size_t k = 0; k < i && !seen; k++)
      seen = !strstr(s->msgs[k].topic, "/state/") && !strcmp(s->msgs[k].payload, s->msgs[i].payload);
    n += !seen;
  }
  pthread_mutex_unlock(&s->lock);
  return n;
}

static void wait_for(fixture *f, size_t want) {
  for (int i = 0; i < 1500 && distinct_events(&f->sub) < want; i++)
    usleep(20000);
  if (distinct_events(&f->sub) != want) {
    char *log = serve_log(&f->s);
    char *st = call(f, "GET", "/api/v1/plugins", NULL, 200);
    fprintf(stderr, "---- vigil's log ----\n%s\n---- plugins ----\n%s\n", log, st);
    free(log);
    free(st);
    pthread_mutex_lock(&f->sub.lock);
    for (size_t i = 0; i < f->sub.n; i++)
      fprintf(stderr, "%s %.80s\n", f->sub.msgs[i].topic, f->sub.msgs[i].payload);
    pthread_mutex_unlock(&f->sub.lock);
    fail_msg("%zu alert events of %zu arrived", distinct_events(&f->sub), want);
  }
}

static void configure(fixture *f) {
  char extra[512];
  snprintf(extra, sizeof extra,
           "plugins = { mqtt = { port = %d, site = 'north', retry_min = 0.1, retry_max = 0.3, keepalive = 5 } }\n",
           f->b.port);
  serve_configure(&f->s, extra);
}

/* vigil_alerts_active{priority="p"} from /metrics. */
static long metric_active(fixture *f, const char *prio) {
  char *text = call(f, "GET", "/metrics", NULL, 200), key[64];
  snprintf(key, sizeof key, "vigil_alerts_active{priority=\"%s\"} ", prio);
  const char *at = strstr(text, key);
  long v = at ? atol(at + strlen(key)) : -1;
  free(text);
  return v;
}

static void check_messages(fixture *f, json_t *events) {
  subscriber *s = &f->sub;
  uint64_t last_of[16] = {0};
  for (size_t i = 0; i < s->n; i++) {
    message *m = &s->msgs[i];
    if (strstr(m->topic, "/state/")) continue;
    assert_false(m->retained); /* events are never retained */
    json_t *ev = json_loads(m->payload, 0, NULL);
    assert_non_null(ev);
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *prio = json_string_value(json_object_get(json_object_get(ev, "data"), "priority"));
    char want[128];
    if (!strcmp(type, "alert.raised") || !strcmp(type, "alert.escalated"))
      snprintf(want, sizeof want, "vigil/v1/north/alert/%s", prio);
    else
      snprintf(want, sizeof want, "vigil/v1/north/event/%s", type);
    assert_string_equal(m->topic, want);
    /* The payload is the event as the log has it. */
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
    uint64_t visit = (uint64_t)json_integer_value(json_object_get(ev, "visit"));
    json_t *stored = json_array_get(events, 0);
    size_t k;
    json_array_foreach(events, k,
                       stored) if ((uint64_t)json_integer_value(json_object_get(stored, "seq")) == seq) break;
    assert_true(json_equal(stored, ev));
    assert_true(visit < 16);
    int first = 1;
    for (size_t j = 0; j < i && first; j++)
      first = strcmp(s->msgs[j].payload, m->payload) != 0;
    if (first) {
      assert_true(seq > last_of[visit]); /* in order per visit */
      last_of[visit] = seq;
    }
    json_decref(ev);
  }
}

static void test_alerts_reach_the_broker_across_outage_and_restart(void **state) {
  fixture *f = *state;
  if (!mosquitto_path()) {
    print_message("mosquitto is not installed (scripts/install-deps installs it): skipped\n");
    skip();
  }
  broker_start(&f->b);
  sub_start(&f->sub, "vigil-test-sub", f->b.port);
  configure(f);
  assert_int_equal(serve_start(&f->s), 0);
  uint64_t a = start_visit(f, "chair-1");
  record(f, a, 190);
  record(f, a, 170);
  record(f, a, 120);
  json_t *events = alert_events(f);
  assert_true(json_array_size(events) >= 2);
  wait_for(f, json_array_size(events));
  json_decref(events);

  /* The broker goes; alerts go on; vigil dies and comes back meanwhile. */
  broker_stop(&f->b);
  record(f, a, 195);
  uint64_t b = start_visit(f, "chair-2");
  record(f, b, 175);
  assert_int_equal(serve_stop(&f->s, 1), SIGKILL);
  assert_int_equal(serve_start(&f->s), 0);
  record(f, b, 185);
  usleep(300000);
  broker_start(&f->b);
  events = alert_events(f);
  wait_for(f, json_array_size(events));
  check_messages(f, events);
  json_decref(events);

  /* A newcomer gets the state, retained, and no old alert. */
  usleep(200000);
  sub_start(&f->late, "vigil-test-late", f->b.port);
  usleep(300000);
  pthread_mutex_lock(&f->late.lock);
  int saw_state = 0;
  for (size_t i = 0; i < f->late.n; i++) {
    message *m = &f->late.msgs[i];
    assert_true(m->retained);
    assert_string_equal(m->topic, "vigil/v1/north/state/alerts");
    json_t *st = json_loads(m->payload, 0, NULL);
    json_t *active = json_object_get(st, "active");
    pthread_mutex_unlock(&f->late.lock);
    assert_int_equal(json_integer_value(json_object_get(active, "high")), metric_active(f, "high"));
    assert_int_equal(json_integer_value(json_object_get(active, "medium")), metric_active(f, "medium"));
    pthread_mutex_lock(&f->late.lock);
    json_decref(st);
    saw_state = 1;
  }
  pthread_mutex_unlock(&f->late.lock);
  assert_true(saw_state);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

static uint64_t start_visit_in(fixture *f, const char *patient, const char *location) {
  uint64_t id = serve_start_visit_at(&f->s, "broker", patient, location);
  assert_true(id > 0);
  return id;
}

static void test_where_publishes_only_one_rooms_alerts(void **state) {
  fixture *f = *state;
  if (!mosquitto_path()) {
    print_message("mosquitto is not installed (scripts/install-deps installs it): skipped\n");
    skip();
  }
  /* A plugin folder of the test's own: the built mqtt plugin and the filter. */
  char dir[128], path[4400];
  snprintf(dir, sizeof dir, "%s/site", f->s.root);
  assert_int_equal(mkdir(dir, 0700), 0);
  snprintf(path, sizeof path, "%s/mqtt.so", f->s.plugins);
  char link[160];
  snprintf(link, sizeof link, "%s/mqtt.so", dir);
  assert_int_equal(symlink(path, link), 0);
  snprintf(path, sizeof path, "%s/room2.lua", dir);
  FILE *fp = fopen(path, "w");
  fputs("return function(event, visit) return (visit and visit.location or ''):match('^Room 2') ~= nil end\n", fp);
  fclose(fp);
  char extra[768];
  snprintf(extra, sizeof extra,
           "plugin_dir = '%s'\n"
           "plugins = { mqtt = { port = %d, site = 'north', retry_min = 0.1, retry_max = 0.3, keepalive = 5,\n"
           "                     where = 'room2' } }\n",
           dir, f->b.port);
  serve_configure(&f->s, extra);
  broker_start(&f->b);
  sub_start(&f->sub, "vigil-test-sub", f->b.port);
  assert_int_equal(serve_start(&f->s), 0);
  uint64_t a = start_visit_in(f, "p-1", "Room 2 / chair 1"), b = start_visit_in(f, "p-2", "Room 3 / chair 1");
  record(f, b, 190);
  record(f, a, 190);
  record(f, b, 120);
  record(f, a, 120);
  broker_stop(&f->b);
  record(f, a, 170);
  record(f, b, 170);
  assert_int_equal(serve_stop(&f->s, 1), SIGKILL);
  assert_int_equal(serve_start(&f->s), 0);
  record(f, b, 195);
  record(f, a, 195);
  broker_start(&f->b);
  /* Every alert event of visit a, none of b's. */
  json_t *events = alert_events(f), *ev, *of_a = json_array();
  size_t i;
  json_array_foreach(events, i, ev) if ((uint64_t)json_integer_value(json_object_get(ev, "visit")) == a)
      json_array_append(of_a, ev);
  if (json_array_size(of_a) < 3 || json_array_size(of_a) >= json_array_size(events))
    fail_msg("%zu alert events of visit a, %zu in all", json_array_size(of_a), json_array_size(events));
  wait_for(f, json_array_size(of_a));
  usleep(300000); /* b's would have come by now */
  assert_int_equal(distinct_events(&f->sub), json_array_size(of_a));
  check_messages(f, of_a);
  json_decref(of_a);
  json_decref(events);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* ---- TLS ----------------------------------------------------------------------------- */

/* What every TLS test shares, made once: the certificates, one broker and
 * the test's subscriber on the broker's clear listener. */
typedef struct tls_env {
  char dir[64];
  broker b;             /* b.port: the clear listener, for the test's subscriber */
  int tls_port;         /* the broker's certificate for 127.0.0.1; a password */
  int other_name_port;  /* a certificate from the same CA for broker.invalid */
  int client_cert_port; /* the broker's certificate; the client must show one */
  subscriber sub;
  int skipped;
} tls_env;

static tls_env env;

/* Two CAs, certificates for the broker under two names, one for the
 * client; EC keys, which openssl makes at once. */
static const char *CERTS_SH =
    "set -e\n"
    "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1.key\"; }\n"
    "ca() { key \"$1\"; openssl req -x509 -new -key \"$1.key\" -subj \"/CN=$2\" -days 2 -out \"$1.pem\"; }\n"
    "leaf() {\n"
    "  key \"$1\"\n"
    "  openssl req -new -key \"$1.key\" -subj \"/CN=$2\" -out \"$1.csr\"\n"
    "  printf 'subjectAltName=%s\\nextendedKeyUsage=%s\\n' \"$3\" \"$4\" > \"$1.ext\"\n"
    "  openssl x509 -req -in \"$1.csr\" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile \"$1.ext\" "
    "-out \"$1.pem\"\n"
    "}\n"
    "ca ca 'vigil test CA'\n"
    "ca rogue 'another CA'\n"
    "leaf server 127.0.0.1 'IP:127.0.0.1,DNS:localhost' serverAuth\n"
    "leaf other broker.invalid 'DNS:broker.invalid' serverAuth\n"
    "leaf client vigil-north 'DNS:vigil-north' clientAuth\n"
    "mosquitto_passwd -c -b passwd vigil 'broker secret'\n";

static int run_in(const char *dir, const char *script, const char *log) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cd '%s' && sh -c \"$VIGIL_TEST_SCRIPT\" >>'%s' 2>&1", dir, log);
  setenv("VIGIL_TEST_SCRIPT", script, 1);
  int rc = system(cmd);
  unsetenv("VIGIL_TEST_SCRIPT");
  return rc;
}

static int command_exists(const char *name) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

static int tls_group_setup(void **state) {
  if (!mosquitto_path() || !command_exists("openssl") || !command_exists("mosquitto_passwd")) {
    env.skipped = 1;
    return 0;
  }
  strcpy(env.dir, "/tmp/vigil-mqtt-tls-XXXXXX");
  if (!mkdtemp(env.dir)) return -1;
  snprintf(env.b.conf, sizeof env.b.conf, "%s/mosquitto.conf", env.dir);
  snprintf(env.b.log, sizeof env.b.log, "%s/mosquitto.log", env.dir);
  if (run_in(env.dir, CERTS_SH, env.b.log) != 0) {
    fprintf(stderr, "cannot make the test's certificates (see %s)\n", env.b.log);
    return -1;
  }
  /* Four different ports: free_port() may give one twice. */
  int *ports[] = {&env.b.port, &env.tls_port, &env.other_name_port, &env.client_cert_port};
  for (size_t i = 0; i < 4; i++)
    for (int taken = 1; taken;) {
      *ports[i] = free_port();
      taken = 0;
      for (size_t k = 0; k < i; k++)
        taken |= *ports[k] == *ports[i];
    }
  struct passwd *me = getpwuid(geteuid());
  FILE *fp = fopen(env.b.conf, "w");
  if (!fp) return -1;
  const char *d = env.dir;
  fprintf(fp,
          "per_listener_settings true\nlog_dest stderr\nuser %s\npersistence true\npersistence_location %s/\n"
          "listener %d 127.0.0.1\nallow_anonymous true\n"
          "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\nkeyfile %s/server.key\n"
          "allow_anonymous false\npassword_file %s/passwd\n"
          "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/other.pem\nkeyfile %s/other.key\n"
          "allow_anonymous true\n"
          "listener %d 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\nkeyfile %s/server.key\n"
          "require_certificate true\nuse_identity_as_username true\nallow_anonymous false\n",
          me ? me->pw_name : "root", env.dir, env.b.port, env.tls_port, d, d, d, d, env.other_name_port, d, d, d,
          env.client_cert_port, d, d, d);
  fclose(fp);
  broker_start(&env.b);
  sub_start(&env.sub, "vigil-test-tls-sub", env.b.port);
  return 0;
}

static int tls_group_teardown(void **state) {
  if (env.skipped) return 0;
  sub_stop(&env.sub);
  if (env.b.pid) broker_stop(&env.b);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", env.dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int tls_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || serve_setup(&f->s, PROTOCOL) < 0) return -1;
  *state = f;
  return 0;
}

static int tls_teardown(void **state) {
  fixture *f = *state;
  serve_cleanup(&f->s);
  free(f);
  return 0;
}

static void skip_without_tools(void) {
  if (env.skipped) {
    print_message("mosquitto, mosquitto_passwd or openssl is not installed (scripts/install-deps): skipped\n");
    skip();
  }
}

/* Starts vigil with the mqtt plugin for site at port, and more_lua's
 * settings besides (", tls = { ... }, username = ..."). */
static void start_with(fixture *f, const char *site, int port, const char *more_lua) {
  char extra[4096];
  snprintf(extra, sizeof extra,
           "plugins = { mqtt = { port = %d, site = '%s', retry_min = 0.1, retry_max = 0.3, keepalive = 5%s } }\n", port,
           site, more_lua);
  serve_configure(&f->s, extra);
  assert_int_equal(serve_start(&f->s), 0);
}

/* The mqtt entry of GET /api/v1/plugins (a new reference). */
static json_t *mqtt_entry(fixture *f) {
  char *text = call(f, "GET", "/api/v1/plugins", NULL, 200);
  json_t *doc = json_loads(text, 0, NULL), *p, *out = NULL;
  free(text);
  size_t i;
  json_array_foreach(json_object_get(doc, "plugins"), i,
                     p) if (!strcmp(json_string_value(json_object_get(p, "name")), "mqtt")) out = json_incref(p);
  json_decref(doc);
  assert_non_null(out);
  return out;
}

/* Waits until the plugin is connected (want_connected) or has failed to
 * connect, tries included, more than tries times; the entry then. */
static json_t *wait_mqtt(fixture *f, int want_connected, int tries) {
  for (int i = 0; i < 1000; i++) {
    json_t *p = mqtt_entry(f), *st = json_object_get(p, "status");
    if (want_connected ? json_is_true(json_object_get(st, "connected"))
                       : json_integer_value(json_object_get(st, "reconnects")) > tries &&
                             *json_string_value(json_object_get(st, "last_error")))
      return p;
    json_decref(p);
    usleep(10000);
  }
  json_t *p = mqtt_entry(f);
  char *text = json_dumps(p, 0), *log = serve_log(&f->s);
  fprintf(stderr, "---- vigil's log ----\n%s\n---- mqtt ----\n%s\n", log, text);
  free(text), free(log), json_decref(p);
  fail_msg("the mqtt plugin did not %s", want_connected ? "connect" : "fail to connect");
  return NULL;
}

/* The messages of the shared subscriber under topic: how many, and the
 * last one's qos. */
static size_t received(const char *topic, int *qos) {
  pthread_mutex_lock(&env.sub.lock);
  size_t n = 0;
  for (size_t i = 0; i < env.sub.n; i++)
    if (!strcmp(env.sub.msgs[i].topic, topic)) {
      n++;
      if (qos) *qos = env.sub.msgs[i].qos;
    }
  pthread_mutex_unlock(&env.sub.lock);
  return n;
}

static void wait_received(const char *topic, size_t want) {
  for (int i = 0; i < 1000 && received(topic, NULL) < want; i++)
    usleep(10000);
  assert_int_equal(received(topic, NULL), want);
}

/* One high alert (SBP 190) in a new visit. */
static void raise_high_alert(fixture *f, const char *patient) { record(f, start_visit(f, patient), 190); }

static void assert_log_has(fixture *f, const char *text) {
  char *log = serve_log(&f->s);
  if (!strstr(log, text)) fail_msg("vigil's log lacks \"%s\":\n%s", text, log);
  free(log);
}

#define PASSWORD ", username = 'vigil', password = 'broker secret'"

/* Starts vigil with tls = { ca_file = <the test's folder>/ca_pem<tls_more> }
 * and more besides. */
static void start_tls(fixture *f, const char *site, int port, const char *ca_pem, const char *tls_more,
                      const char *more) {
  char lua[1024];
  snprintf(lua, sizeof lua, ", tls = { ca_file = '%s/%s'%s }%s", env.dir, ca_pem, tls_more, more);
  start_with(f, site, port, lua);
}

/* The plugin cannot connect, for reason: shown in its status, said in the
 * log; it runs on, and has published nothing. */
static void expect_refused(fixture *f, const char *reason) {
  json_t *p = wait_mqtt(f, 0, 0), *st = json_object_get(p, "status");
  assert_string_equal(json_string_value(json_object_get(p, "state")), "running");
  assert_false(json_is_true(json_object_get(st, "connected")));
  const char *why = json_string_value(json_object_get(st, "last_error"));
  if (!strstr(why, reason)) fail_msg("last_error \"%s\", not \"%s\"", why, reason);
  assert_int_equal(json_integer_value(json_object_get(st, "published")), 0);
  json_decref(p);
  assert_log_has(f, reason);
}

static void test_tls_with_the_ca_delivers_qos1(void **state) {
  skip_without_tools();
  fixture *f = *state;
  start_tls(f, "tls-ok", env.tls_port, "ca.pem", "", PASSWORD);
  json_t *p = wait_mqtt(f, 1, 0);
  assert_true(json_is_true(json_object_get(json_object_get(p, "status"), "tls")));
  json_decref(p);
  raise_high_alert(f, "chair-1");
  wait_received("vigil/v1/tls-ok/alert/high", 1);
  int qos = -1;
  received("vigil/v1/tls-ok/alert/high", &qos);
  assert_int_equal(qos, 1); /* the subscriber asked for 1: what arrives at 1 was published at 1 */
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

static void test_tls_wrong_password_is_refused(void **state) {
  skip_without_tools();
  fixture *f = *state;
  start_tls(f, "tls-password", env.tls_port, "ca.pem", "", ", username = 'vigil', password = 'wrong'");
  expect_refused(f, "not authorised");
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* With a CA that did not sign the broker's certificate the handshake fails:
 * logged, shown, and vigil serves on; with the right CA, the alerts raised
 * meanwhile arrive. */
static void test_tls_another_ca_is_refused(void **state) {
  skip_without_tools();
  fixture *f = *state;
  start_tls(f, "tls-rogue", env.tls_port, "rogue.pem", "", PASSWORD);
  raise_high_alert(f, "chair-1");
  expect_refused(f, "certificate verify failed");
  raise_high_alert(f, "chair-2"); /* vigil serves on */
  assert_int_equal(received("vigil/v1/tls-rogue/alert/high", NULL), 0);
  assert_int_equal(serve_stop(&f->s, 0), 0);

  start_tls(f, "tls-rogue", env.tls_port, "ca.pem", "", PASSWORD);
  wait_received("vigil/v1/tls-rogue/alert/high", 2);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* A certificate from the right CA for another name is refused, unless
 * insecure (which is said at start); insecure still wants the right CA. */
static void test_tls_host_name_is_checked_unless_insecure(void **state) {
  skip_without_tools();
  fixture *f = *state;
  start_tls(f, "tls-name", env.other_name_port, "ca.pem", "", "");
  expect_refused(f, "host name verification failed");
  assert_int_equal(serve_stop(&f->s, 0), 0);

  start_tls(f, "tls-name", env.other_name_port, "rogue.pem", ", insecure = true", "");
  expect_refused(f, "certificate verify failed");
  assert_int_equal(serve_stop(&f->s, 0), 0);

  start_tls(f, "tls-name", env.other_name_port, "ca.pem", ", insecure = true", "");
  json_decref(wait_mqtt(f, 1, 0));
  assert_log_has(f, "plugins.mqtt.tls.insecure");
  raise_high_alert(f, "chair-1");
  wait_received("vigil/v1/tls-name/alert/high", 1);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* The broker goes away and comes back: the plugin, refused meanwhile during
 * the TLS handshake, tries again and delivers what was raised. */
static void test_tls_broker_outage(void **state) {
  skip_without_tools();
  fixture *f = *state;
  start_tls(f, "tls-outage", env.tls_port, "ca.pem", "", PASSWORD);
  json_decref(wait_mqtt(f, 1, 0));
  broker_stop(&env.b);
  raise_high_alert(f, "chair-1");
  /* Tried again and again (libmosquitto alone would stay on the dead
   * socket), every time refused. */
  json_t *p = wait_mqtt(f, 0, 3), *st = json_object_get(p, "status");
  assert_false(json_is_true(json_object_get(st, "connected")));
  assert_string_equal(json_string_value(json_object_get(st, "last_error")), "refused, or closed before TLS was set up");
  json_decref(p);
  broker_start(&env.b);
  wait_received("vigil/v1/tls-outage/alert/high", 1);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

static void test_tls_client_certificate(void **state) {
  skip_without_tools();
  fixture *f = *state;
  char more[256];
  snprintf(more, sizeof more, ", cert_file = '%s/client.pem', key_file = '%s/client.key'", env.dir, env.dir);
  start_tls(f, "tls-client", env.client_cert_port, "ca.pem", more, "");
  json_decref(wait_mqtt(f, 1, 0));
  raise_high_alert(f, "chair-1");
  wait_received("vigil/v1/tls-client/alert/high", 1);
  assert_int_equal(serve_stop(&f->s, 0), 0);
}

/* Each bad setting fails the plugin's init with a sentence naming it (and
 * the file); vigil serves on, the plugin shown as failed. */
static void test_tls_bad_settings_fail_init(void **state) {
  skip_without_tools();
  fixture *f = *state;
  char missing[128];
  snprintf(missing, sizeof missing, "%s/no-such-client.pem", env.dir);
  struct {
    char lua[512];
    const char *want1, *want2;
  } cases[] = {
      {"", "plugins.mqtt.tls.cert_file: cannot read ", missing},
      {"", "plugins.mqtt.tls.key_file: required with cert_file", NULL},
      {"", "plugins.mqtt.tls.cafile: not a setting", NULL},
      {", tls = { insecure = true }", "plugins.mqtt.tls.ca_file: required", NULL},
  };
  snprintf(cases[0].lua, sizeof cases[0].lua,
           ", tls = { ca_file = '%s/ca.pem', cert_file = '%s', key_file = '%s/client.key' }", env.dir, missing,
           env.dir);
  snprintf(cases[1].lua, sizeof cases[1].lua, ", tls = { ca_file = '%s/ca.pem', cert_file = '%s/client.pem' }", env.dir,
           env.dir);
  snprintf(cases[2].lua, sizeof cases[2].lua, ", tls = { cafile = '%s/ca.pem' }", env.dir);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    start_with(f, "tls-bad", env.tls_port, cases[i].lua);
    json_t *p = mqtt_entry(f);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "failed");
    const char *error = json_string_value(json_object_get(p, "error"));
    assert_non_null(error);
    if (!strstr(error, cases[i].want1) || (cases[i].want2 && !strstr(error, cases[i].want2)))
      fail_msg("case %zu: %s", i, error);
    json_decref(p);
    raise_high_alert(f, "chair-1"); /* vigil serves on */
    assert_int_equal(serve_stop(&f->s, 0), 0);
  }
}

int main(void) {
  mosquitto_lib_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_alerts_reach_the_broker_across_outage_and_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_where_publishes_only_one_rooms_alerts, setup, teardown),
  };
  const struct CMUnitTest tls_tests[] = {
      cmocka_unit_test_setup_teardown(test_tls_with_the_ca_delivers_qos1, tls_setup, tls_teardown),
      cmocka_unit_test_setup_teardown(test_tls_wrong_password_is_refused, tls_setup, tls_teardown),
      cmocka_unit_test_setup_teardown(test_tls_another_ca_is_refused, tls_setup, tls_teardown),
      cmocka_unit_test_setup_teardown(test_tls_host_name_is_checked_unless_insecure, tls_setup, tls_teardown),
      cmocka_unit_test_setup_teardown(test_tls_broker_outage, tls_setup, tls_teardown),
      cmocka_unit_test_setup_teardown(test_tls_client_certificate, tls_setup, tls_teardown),
      cmocka_unit_test_setup_teardown(test_tls_bad_settings_fail_init, tls_setup, tls_teardown),
  };
  int rc = cmocka_run_group_tests_name("plain", tests, NULL, NULL);
  rc += cmocka_run_group_tests_name("tls", tls_tests, tls_group_setup, tls_group_teardown);
  mosquitto_lib_cleanup();
  return rc;
}
