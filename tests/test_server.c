/* test_server.c: the HTTP server, over real sockets.
 *
 * Most tests start the real `vigil serve` (the binary of this build) on a
 * free loopback port with a temporary database, and drive it with the small
 * client of http_client.c: a whole visit, every kind of bad input, slow and
 * idle clients, keep-alive and pipelining, and a restart on the same
 * database. The last tests run the server inside this process, on a loop
 * the test turns itself, to see the group commit: writes of one turn share
 * one commit, and when that commit fails every one of them gets a 503. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "api/api.h"
#include "engine/inspect.h"
#include "engine/site.h"
#include "faulty_vfs.h"
#include "http/http.h"
#include "http_client.h"
#include "auth/users.h"
#include "vigil/vigil.h"

/* Two phases; a high alert when the systolic is above the visit's limit; the
 * first phase's gate wants the last systolic within it. */
static const char *PROTOCOL =
    "local v = require 'vigil'\n"
    "return v.protocol 'api_test' {\n"
    "  version = '1.0.0',\n"
    "  params = { v.param 'sbp_max' { default = 160, unit = 'mm[Hg]', range = { 80, 250 } } },\n"
    "  phases = {\n"
    "    v.phase 'baseline' {\n"
    "      items = {\n"
    "        v.check 'consent' {},\n"
    "        v.number 'weight' { unit = 'kg', range = { 30, 250 } },\n"
    "        v.text 'comment' { required = false },\n"
    "        v.vitals 'vitals' { fields = { 'sbp', 'hr' },\n"
    "          rule = function(x, visit)\n"
    "            if x.sbp > visit.param('sbp_max') then return v.alert.high('SBP above the limit') end\n"
    "          end },\n"
    "      },\n"
    "      gate = function(visit)\n"
    "        local x = visit.value('vitals')\n"
    "        if x and x.sbp <= visit.param('sbp_max') then return true end\n"
    "        return false, 'last systolic above the limit'\n"
    "      end },\n"
    "    v.phase 'recovery' { items = { v.check 'ready' {}, v.text 'note' { required = false } } },\n"
    "  },\n"
    "}\n";

/* The users of every test server, one per role; ACTOR writes by default. */
#define ACTOR "nurse.a"
#define CLINICIAN "doc.b"
#define ADMIN "admin.c"
#define INTEGRATOR "int.d"
#define ADMIN2 "admin.e" /* a second admin, made by the installer too */
#define NOBODY "-"       /* a request without credentials */
#define PASSWORD "correct horse battery"

/* ---- who asks: a token per user, signed in once per server ------------------------ */

static int auth_port; /* the server tokens are for */
static struct { char user[32], token[64]; } tokens[8];
static int n_tokens;

static void forget_tokens(int port) {
  auth_port = port;
  n_tokens = 0;
}

static void remember_token(const char *name, const char *token) {
  assert_true(n_tokens < 8);
  snprintf(tokens[n_tokens].user, sizeof tokens[n_tokens].user, "%s", name);
  snprintf(tokens[n_tokens].token, sizeof tokens[n_tokens].token, "%s", token);
  n_tokens++;
}

/* Signs user in on the current server; its token. */
static const char *sign_in(const char *name) {
  hc_conn c;
  if (hc_connect(&c, auth_port) < 0) fail_msg("cannot connect to sign in");
  char body[160];
  snprintf(body, sizeof body, "{\"user\": \"%s\", \"password\": \"%s\"}", name, PASSWORD);
  hc_response r;
  if (hc_request(&c, "POST", "/api/v1/session", NULL, body, &r) < 0) fail_msg("sign-in: no response");
  hc_close(&c);
  if (r.status != 200) fail_msg("sign-in of %s: %d %s", name, r.status, r.body);
  json_t *j = json_loads(r.body, 0, NULL);
  remember_token(name, json_string_value(json_object_get(j, "token")));
  json_decref(j);
  hc_response_free(&r);
  return tokens[n_tokens - 1].token;
}

/* The token to send for actor (NULL: ACTOR; NOBODY: none). */
static const char *auth_token(const char *actor) {
  if (actor && !strcmp(actor, NOBODY)) return NULL;
  if (!actor) actor = ACTOR;
  for (int i = 0; i < n_tokens; i++)
    if (!strcmp(tokens[i].user, actor)) return tokens[i].token;
  return sign_in(actor);
}

/* ---- a vigil serve process ------------------------------------------------------ */

typedef struct server {
  char root[64], protocols[128], db[160], log[160], conf[160];
  char vigil[4096];
  int simulated; /* on the test clock */
  pid_t pid;
  int port;
  off_t log_from;
} server;

/* <build>/tests/test_server -> <build>/vigil, as test_lint does. */
static int find_vigil(char *out, size_t len) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    slash = strrchr(self, '/');
    if (slash) {
      *slash = '\0';
      if (snprintf(out, len, "%s/vigil", self) < (int)len && access(out, X_OK) == 0) return 0;
    }
  }
  snprintf(out, len, "build/vigil");
  return access(out, X_OK) == 0 ? 0 : -1;
}

static char *read_file(const char *path, off_t from) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  if (n < from) n = from;
  char *text = malloc((size_t)(n - from) + 1);
  fseek(f, from, SEEK_SET);
  size_t got = fread(text, 1, (size_t)(n - from), f);
  text[got] = '\0';
  fclose(f);
  return text;
}

static void print_log(server *s) {
  char *text = read_file(s->log, 0);
  if (text) print_message("---- server log ----\n%s--------------------\n", text);
  free(text);
}

/* The server's vigil.conf (read at its next start). */
static void write_conf(server *s, const char *text) {
  FILE *f = fopen(s->conf, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup(void **state) {
  server *s = calloc(1, sizeof *s);
  strcpy(s->root, "/tmp/vigil-server-XXXXXX");
  assert_non_null(mkdtemp(s->root));
  snprintf(s->protocols, sizeof s->protocols, "%s/protocols", s->root);
  snprintf(s->db, sizeof s->db, "%s/var/vigil.db", s->root);
  snprintf(s->log, sizeof s->log, "%s/server.log", s->root);
  snprintf(s->conf, sizeof s->conf, "%s/vigil.conf", s->root);
  write_conf(s, "");
  char path[256];
  snprintf(path, sizeof path, "%s/api_test", s->protocols);
  assert_int_equal(mkdir(s->protocols, 0700), 0);
  assert_int_equal(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/api_test/protocol.lua", s->protocols);
  FILE *f = fopen(path, "w");
  fputs(PROTOCOL, f);
  fclose(f);
  if (find_vigil(s->vigil, sizeof s->vigil) < 0) fail_msg("the vigil binary is not built");
  /* One user per role, made as an installer would, before the first start. */
  static const char *const people[][2] = {
      {ACTOR, "nurse"}, {CLINICIAN, "clinician"}, {ADMIN, "admin"}, {INTEGRATOR, "integrator"}, {ADMIN2, "admin"}};
  for (size_t i = 0; i < sizeof people / sizeof *people; i++) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "echo '%s' | '%s' user add %s --role %s --password-stdin --db '%s' >/dev/null", PASSWORD,
             s->vigil, people[i][0], people[i][1], s->db);
    if (system(cmd) != 0) fail_msg("%s failed", cmd);
  }
  forget_tokens(0);
  *state = s;
  return 0;
}

static int teardown(void **state) {
  server *s = *state;
  if (s->pid > 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", s->root);
  int rc = system(cmd);
  free(s);
  return rc == 0 ? 0 : -1;
}

/* Starts vigil serve on port 0 and learns its port from the "listening" log line. */
static void start(server *s, const char *idle_timeout) {
  struct stat st;
  s->log_from = stat(s->log, &st) == 0 ? st.st_size : 0;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 2);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    const char *idle = idle_timeout ? idle_timeout : "20";
    /* VIGIL_TEST_SERVE_WRAPPER="valgrind -q --error-exitcode=9": the server under a tool. */
    const char *wrapper = getenv("VIGIL_TEST_SERVE_WRAPPER");
    if (wrapper && *wrapper) {
      char cmd[8192];
      snprintf(cmd, sizeof cmd,
               "exec %s '%s' serve --config '%s' --db '%s' --protocols '%s' --listen 127.0.0.1:0 "
               "--request-timeout 1 --stream-heartbeat 1 --idle-timeout %s --allow-untested %s",
               wrapper, s->vigil, s->conf, s->db, s->protocols, idle,
               s->simulated ? "--clock=simulated --allow-simulated-clock" : "");
      execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    }
    execl(s->vigil, s->vigil, "serve", "--config", s->conf, "--db", s->db, "--protocols", s->protocols, "--listen",
          "127.0.0.1:0", "--request-timeout", "1", "--stream-heartbeat", "1", "--idle-timeout", idle,
          "--allow-untested", s->simulated ? "--clock=simulated" : (char *)NULL, "--allow-simulated-clock",
          (char *)NULL);
    _exit(127);
  }
  s->pid = pid;
  s->port = 0;
  double deadline = hc_now_ms() + 30000;
  while (hc_now_ms() < deadline) {
    char *text = read_file(s->log, s->log_from);
    const char *line = text ? strstr(text, "\"msg\":\"listening\"") : NULL;
    const char *port = line ? strstr(line, "\"port\":") : NULL;
    if (port) s->port = atoi(port + 7);
    free(text);
    if (s->port) {
      auth_port = s->port; /* tokens outlive restarts: they are stored */
      return;
    }
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      s->pid = 0;
      print_log(s);
      fail_msg("vigil serve exited at start (status %d)", status);
    }
    usleep(10000);
  }
  print_log(s);
  fail_msg("vigil serve did not say it was listening");
}

/* SIGTERM, then its exit status (-1: killed after 20 s). */
static int stop(server *s) {
  kill(s->pid, SIGTERM);
  double deadline = hc_now_ms() + 20000;
  int status = 0;
  while (waitpid(s->pid, &status, WNOHANG) == 0) {
    if (hc_now_ms() > deadline) {
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &status, 0);
      s->pid = 0;
      return -1;
    }
    usleep(10000);
  }
  s->pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void stop_clean(server *s) {
  int rc = stop(s);
  if (rc != 0) {
    print_log(s);
    fail_msg("vigil serve exited with %d after SIGTERM", rc);
  }
}

/* ---- requests ----------------------------------------------------------------------- */

typedef struct reply {
  int status;
  json_t *json;
  char text[512];
} reply;

/* One request on a fresh connection. */
static reply call_on(hc_conn *c, const char *method, const char *path, const char *actor, const char *body) {
  reply out = {0};
  hc_response r;
  if (hc_request(c, method, path, auth_token(actor), body, &r) < 0) fail_msg("%s %s: no response", method, path);
  out.status = r.status;
  out.json = json_loads(r.body, 0, NULL);
  snprintf(out.text, sizeof out.text, "%s", r.body);
  if (!out.json) fail_msg("%s %s: not JSON: %s", method, path, r.body);
  hc_response_free(&r);
  return out;
}

static reply call(server *s, const char *method, const char *path, const char *actor, const char *body) {
  hc_conn c;
  if (hc_connect(&c, s->port) < 0) fail_msg("cannot connect to port %d", s->port);
  reply out = call_on(&c, method, path, actor, body);
  hc_close(&c);
  return out;
}

/* GET path as text (malloc'd); its status in *status. */
static char *get_text(server *s, const char *path, int *status, char *type, size_t type_len) {
  hc_conn c;
  if (hc_connect(&c, s->port) < 0) fail_msg("cannot connect");
  hc_response r;
  if (hc_request(&c, "GET", path, auth_token(NULL), NULL, &r) < 0) fail_msg("GET %s: no response", path);
  hc_close(&c);
  *status = r.status;
  if (type) hc_header(&r, "Content-Type", type, type_len);
  char *body = r.body;
  r.body = NULL;
  hc_response_free(&r);
  return body;
}

static void expect(reply *r, int status) {
  if (r->status != status) fail_msg("expected %d, got %d: %s", status, r->status, r->text);
}

/* An error answer: its status, code and field (NULL: null). */
static void expect_error(reply r, int status, const char *code, const char *want_field) {
  expect(&r, status);
  json_t *err = json_object_get(r.json, "error");
  assert_non_null(err);
  assert_string_equal(json_string_value(json_object_get(err, "code")), code);
  assert_true(json_is_string(json_object_get(err, "message")));
  json_t *f = json_object_get(err, "field");
  if (want_field) {
    if (!json_is_string(f)) fail_msg("expected field %s: %s", want_field, r.text);
    assert_string_equal(json_string_value(f), want_field);
  } else if (!json_is_null(f)) {
    fail_msg("expected no field: %s", r.text);
  }
  json_decref(r.json);
}

/* Every alert of the test's server, whatever the time of day it runs. */
#define ALERT_LOG "/api/v1/alerts/log?from=2020-01-01"

static const char *str_at(json_t *j, const char *key) { return json_string_value(json_object_get(j, key)); }

/* An item of a visit's JSON, by id, in any phase. */
static json_t *item_of(json_t *v, const char *id) {
  size_t i, j;
  json_t *ph, *it;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    json_array_foreach(json_object_get(ph, "items"), j, it) if (!strcmp(str_at(it, "id"), id)) return it;
  }
  return NULL;
}

static double item_number(json_t *v, const char *id) {
  json_t *x = json_object_get(item_of(v, id), "value");
  return json_is_number(x) ? json_number_value(x) : -1;
}

static uint64_t start_visit(server *s, const char *patient) {
  char body[256];
  snprintf(body, sizeof body, "{\"protocol\": \"api_test\", \"patient\": \"%s\", \"params\": {\"sbp_max\": 150}}",
           patient);
  reply r = call(s, "POST", "/api/v1/visits", ACTOR, body);
  expect(&r, 201);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r.json, "id"));
  assert_true(id > 0);
  json_decref(r.json);
  return id;
}

static reply visit_cmd(server *s, uint64_t id, const char *cmd, const char *body) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/%s", (unsigned long long)id, cmd);
  return call(s, "POST", path, ACTOR, body);
}

static reply get_visit(server *s, uint64_t id) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  return call(s, "GET", path, NULL, NULL);
}

static int list_has(json_t *list, uint64_t id) {
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) if ((uint64_t)json_integer_value(json_object_get(x, "id")) == id) return 1;
  return 0;
}

static int visits_query_has(server *s, const char *query, uint64_t id) {
  char path[256];
  snprintf(path, sizeof path, "/api/v1/visits%s", query);
  reply r = call(s, "GET", path, NULL, NULL);
  expect(&r, 200);
  int has = list_has(json_object_get(r.json, "visits"), id);
  json_decref(r.json);
  return has;
}

/* ---- a whole visit -------------------------------------------------------------------- */

static void test_whole_visit(void **state) {
  server *s = *state;
  start(s, NULL);
  reply r = call(s, "GET", "/healthz", NULL, NULL);
  expect(&r, 200);
  assert_string_equal(str_at(r.json, "status"), "ok");
  json_decref(r.json);
  r = call(s, "GET", "/api/v1/protocols", NULL, NULL);
  expect(&r, 200);
  json_t *p = json_array_get(json_object_get(r.json, "protocols"), 0);
  assert_string_equal(str_at(p, "ref"), "api_test@1.0.0");
  assert_true(json_is_true(json_object_get(p, "default")));
  json_decref(r.json);
  r = call(s, "GET", "/api/v1/openapi.json", NULL, NULL);
  expect(&r, 200);
  assert_non_null(str_at(r.json, "openapi"));
  assert_non_null(json_object_get(json_object_get(r.json, "paths"), "/api/v1/visits/{id}/entries"));
  json_decref(r.json);

  uint64_t id = start_visit(s, "MRN-1");
  /* The baseline, with a systolic above this visit's limit: an alert. */
  r = visit_cmd(s, id, "entries", "{\"consent\": true, \"weight\": 70, \"vitals\": {\"sbp\": 170, \"hr\": 80}}");
  expect(&r, 200);
  json_t *alerts = json_object_get(r.json, "alerts");
  assert_int_equal(json_array_size(alerts), 1);
  json_t *al = json_array_get(alerts, 0);
  assert_string_equal(str_at(al, "state"), "active");
  assert_string_equal(str_at(al, "priority"), "high");
  uint64_t alert_id = (uint64_t)json_integer_value(json_object_get(al, "id"));
  json_decref(r.json);
  r = get_visit(s, id);
  expect(&r, 200);
  assert_string_equal(str_at(json_array_get(json_object_get(r.json, "alerts"), 0), "state"), "active");
  json_decref(r.json);
  assert_true(visits_query_has(s, "?alerts=active", id));
  assert_true(visits_query_has(s, "?phase=baseline", id));
  assert_false(visits_query_has(s, "?phase=recovery", id));
  r = call(s, "GET", "/api/v1/alerts", NULL, NULL);
  expect(&r, 200);
  assert_true(list_has(json_object_get(r.json, "alerts"), alert_id));
  json_decref(r.json);
  /* Prometheus sees it too. */
  int status;
  char ctype[128];
  char *metrics = get_text(s, "/metrics", &status, ctype, sizeof ctype);
  assert_int_equal(status, 200);
  assert_non_null(strstr(ctype, "text/plain"));
  assert_non_null(strstr(metrics, "\nvigil_visits_active 1\n"));
  assert_non_null(strstr(metrics, "\nvigil_alerts_active{priority=\"high\"} 1\n"));
  assert_non_null(strstr(metrics, "# TYPE vigil_commit_duration_seconds histogram\n"));
  /* Three commits: the nurse's sign-in, the start, the entry. */
  assert_non_null(strstr(metrics, "\nvigil_commit_duration_seconds_count 3\n"));
  assert_non_null(strstr(metrics, "vigil_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
  free(metrics);

  /* The gate holds the visit, and says why. */
  r = visit_cmd(s, id, "advance", NULL);
  expect(&r, 409);
  json_t *err = json_object_get(r.json, "error");
  assert_string_equal(str_at(err, "code"), "gate_not_met");
  assert_string_equal(json_string_value(json_array_get(json_object_get(err, "reasons"), 0)),
                      "last systolic above the limit");
  json_decref(r.json);

  /* Acknowledged once; a second time is a conflict. */
  char path[128];
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alert_id);
  r = call(s, "POST", path, ACTOR, "{\"reason\": \"seen, rechecking\"}");
  expect(&r, 200);
  al = json_array_get(json_object_get(r.json, "alerts"), 0);
  assert_string_equal(str_at(al, "state"), "acknowledged");
  assert_string_equal(str_at(al, "acknowledged_by"), ACTOR);
  json_decref(r.json);
  expect_error(call(s, "POST", path, ACTOR, "{}"), 409, "wrong_state", "alert");
  assert_false(visits_query_has(s, "?alerts=active", id));
  assert_true(visits_query_has(s, "?alerts=open", id));

  r = visit_cmd(s, id, "entries", "{\"vitals\": {\"sbp\": 130, \"hr\": 72}}");
  expect(&r, 200);
  json_decref(r.json);
  r = visit_cmd(s, id, "amend", "{\"item\": \"weight\", \"value\": 72, \"reason\": \"re-weighed\"}");
  expect(&r, 200);
  json_decref(r.json);
  r = visit_cmd(s, id, "advance", "{}");
  expect(&r, 200);
  assert_string_equal(str_at(r.json, "phase"), "recovery");
  json_decref(r.json);
  assert_true(visits_query_has(s, "?phase=recovery", id));

  /* Discharge is a signature: the password again; and it wants the last
   * phase's required items. */
  expect_error(visit_cmd(s, id, "discharge", NULL), 401, "password_required", "password");
  expect_error(visit_cmd(s, id, "discharge", "{\"password\": \"not it\"}"), 401, "bad_password", "password");
  expect_error(visit_cmd(s, id, "discharge", "{\"password\": \"" PASSWORD "\"}"), 409, "gate_not_met", "gate");
  r = visit_cmd(s, id, "skip", "{\"item\": \"note\", \"reason\": \"nothing to note\"}");
  expect(&r, 200);
  json_decref(r.json);
  r = visit_cmd(s, id, "entries", "{\"ready\": true}");
  expect(&r, 200);
  json_decref(r.json);
  r = visit_cmd(s, id, "discharge", "{\"password\": \"" PASSWORD "\"}");
  expect(&r, 200);
  assert_string_equal(str_at(r.json, "status"), "discharged");
  json_decref(r.json);
  expect_error(visit_cmd(s, id, "entries", "{\"ready\": true}"), 409, "wrong_state", "visit");
  assert_false(visits_query_has(s, "", id));
  assert_true(visits_query_has(s, "?status=discharged", id));
  assert_true(visits_query_has(s, "?status=all", id));

  /* Another visit is aborted, a third one overridden through its gate. */
  uint64_t second = start_visit(s, "MRN-2");
  r = visit_cmd(s, second, "abort", "{\"reason\": \"patient declined\"}");
  expect(&r, 200);
  assert_string_equal(str_at(r.json, "status"), "aborted");
  json_decref(r.json);
  uint64_t third = start_visit(s, "MRN-3");
  /* Overriding a gate is a clinician's signature. */
  const char *override = "{\"reason\": \"clinician decision\", \"password\": \"" PASSWORD "\"}";
  snprintf(path, sizeof path, "/api/v1/visits/%llu/override", (unsigned long long)third);
  expect_error(call(s, "POST", path, ACTOR, override), 403, "forbidden", NULL);
  /* ... which names each required item it passes unrecorded (docs/safety.md V1). */
  expect_error(call(s, "POST", path, CLINICIAN, override), 422, "invalid_argument", "items");
  r = call(s, "POST", path, CLINICIAN,
           "{\"reason\": \"clinician decision\", \"password\": \"" PASSWORD
           "\", \"items\": [\"baseline.consent\", \"baseline.weight\", \"baseline.vitals\"]}");
  expect(&r, 200);
  assert_string_equal(str_at(r.json, "phase"), "recovery");
  assert_int_equal(json_array_size(json_object_get(r.json, "passed_by_override")), 3);
  json_decref(r.json);
  assert_true(visits_query_has(s, "?status=aborted", second));
  assert_true(visits_query_has(s, "?patient=MRN-3", third));
  assert_false(visits_query_has(s, "?patient=MRN-3", second));

  /* The whole log, page by page: gap-free, each write named by its actor. */
  uint64_t after = 0, expect_seq = 1;
  int pages = 0, acked = 0, discharged = 0;
  for (;;) {
    snprintf(path, sizeof path, "/api/v1/events?after=%llu&limit=4", (unsigned long long)after);
    r = call(s, "GET", path, NULL, NULL);
    expect(&r, 200);
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(r.json, "events"), i, ev) {
      assert_int_equal(json_integer_value(json_object_get(ev, "seq")), expect_seq++);
      const char *type = str_at(ev, "type");
      if (!strcmp(type, "alert.acknowledged")) acked++, assert_string_equal(str_at(ev, "actor"), ACTOR);
      if (!strcmp(type, "visit.discharged")) discharged++;
    }
    after = (uint64_t)json_integer_value(json_object_get(r.json, "next"));
    int more = json_is_true(json_object_get(r.json, "more"));
    pages++;
    json_decref(r.json);
    if (!more) break;
  }
  assert_true(pages > 3);
  assert_int_equal(acked, 1);
  assert_int_equal(discharged, 1);
  /* One visit's events. */
  snprintf(path, sizeof path, "/api/v1/visits/%llu/events", (unsigned long long)second);
  r = call(s, "GET", path, NULL, NULL);
  expect(&r, 200);
  assert_int_equal(json_array_size(json_object_get(r.json, "events")), 2);
  json_decref(r.json);
  /* The discharged visit as a FHIR Bundle (test_export checks its content). */
  int fhir_status;
  char type[64] = "";
  snprintf(path, sizeof path, "/api/v1/visits/%llu/fhir", (unsigned long long)id);
  char *text = get_text(s, path, &fhir_status, type, sizeof type);
  assert_int_equal(fhir_status, 200);
  assert_string_equal(type, "application/fhir+json");
  json_t *bundle = json_loads(text, 0, NULL);
  assert_string_equal(str_at(bundle, "resourceType"), "Bundle");
  json_t *qr = json_object_get(json_array_get(json_object_get(bundle, "entry"), 1), "resource");
  assert_string_equal(str_at(qr, "resourceType"), "QuestionnaireResponse");
  assert_string_equal(str_at(qr, "status"), "completed");
  json_decref(bundle);
  free(text);
  stop_clean(s);
}

/* An esketamine session's REMS form over HTTP, as JSON and as CSV, for
 * whoever may export; a visit of another protocol is refused with what its
 * protocol lacks. */
static void test_rems_export(void **state) {
  server *s = *state;
  char cmd[1024], path[128], type[64] = "";
  snprintf(cmd, sizeof cmd, "cp -r protocols/esketamine_rems %s/", s->protocols);
  assert_int_equal(system(cmd), 0);
  start(s, NULL);
  reply r = call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": \"esketamine_rems\", \"patient\": \"MRN-7\"}");
  expect(&r, 201);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r.json, "id"));
  json_decref(r.json);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems", (unsigned long long)id);
  r = call(s, "GET", path, INTEGRATOR, NULL);
  expect(&r, 200);
  assert_true(json_is_object(r.json));
  json_decref(r.json);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems?format=csv", (unsigned long long)id);
  int status;
  char *csv = get_text(s, path, &status, type, sizeof type);
  assert_int_equal(status, 200);
  assert_string_equal(type, "text/csv; charset=utf-8");
  const char *row = strstr(csv, "\r\n");
  assert_non_null(row);
  assert_non_null(strstr(row + 2, "\r\n")); /* a header line and one row */
  free(csv);
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems?format=pdf", (unsigned long long)id);
  expect_error(call(s, "GET", path, ACTOR, NULL), 400, "invalid_query", "format");
  uint64_t other = start_visit(s, "MRN-8");
  snprintf(path, sizeof path, "/api/v1/visits/%llu/rems", (unsigned long long)other);
  expect_error(call(s, "GET", path, ACTOR, NULL), 422, "not_exportable", NULL);
  expect_error(call(s, "GET", "/api/v1/visits/999/rems", INTEGRATOR, NULL), 404, "not_found", "visit");
  stop_clean(s);
}

/* ---- users and roles -------------------------------------------------------------------- */

/* The types of the events after seq, space-separated. */
static void event_types_after(server *s, uint64_t after, char *out, size_t len) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/events?after=%llu&limit=1000", (unsigned long long)after);
  reply r = call(s, "GET", path, ADMIN, NULL);
  expect(&r, 200);
  size_t i, n = 0;
  json_t *ev;
  out[0] = '\0';
  json_array_foreach(json_object_get(r.json, "events"), i, ev) n +=
      (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", n ? " " : "", str_at(ev, "type"));
  json_decref(r.json);
}

static uint64_t last_seq_now(server *s) {
  reply r = call(s, "GET", "/api/v1/events?limit=1", ADMIN, NULL);
  uint64_t seq = (uint64_t)json_integer_value(json_object_get(r.json, "last_seq"));
  json_decref(r.json);
  return seq;
}

static void test_users_and_roles(void **state) {
  server *s = *state;
  start(s, NULL);
  auth_token(CLINICIAN); /* signed in before anything below */
  /* Who am I, and what may I do. */
  reply r = call(s, "GET", "/api/v1/session", ACTOR, NULL);
  expect(&r, 200);
  assert_string_equal(str_at(json_object_get(r.json, "user"), "role"), "nurse");
  assert_null(strstr(r.text, "\"override\""));
  assert_non_null(strstr(r.text, "\"record\""));
  json_decref(r.json);
  /* A nurse manages no users; an integrator's token reads events only. */
  expect_error(call(s, "POST", "/api/v1/users", ACTOR, "{\"name\": \"x\", \"role\": \"nurse\"}"), 403, "forbidden",
               NULL);
  expect_error(call(s, "POST", "/api/v1/visits", INTEGRATOR, "{\"protocol\": \"api_test\", \"patient\": \"I\"}"), 403,
               "forbidden", NULL);
  expect_error(call(s, "GET", "/api/v1/visits", INTEGRATOR, NULL), 403, "forbidden", NULL);
  /* ... and exports: past the permission check, to the visit's absence. */
  expect_error(call(s, "GET", "/api/v1/visits/999/fhir", INTEGRATOR, NULL), 404, "not_found", "visit");
  r = call(s, "GET", "/api/v1/events?limit=1", INTEGRATOR, NULL);
  expect(&r, 200);
  json_decref(r.json);
  /* An admin reads but enters no clinical data; the test clock is only for a simulated clock. */
  expect_error(call(s, "POST", "/api/v1/visits", ADMIN, "{\"protocol\": \"api_test\", \"patient\": \"A\"}"), 403,
               "forbidden", NULL);
  expect_error(call(s, "POST", "/api/v1/clock", ADMIN, "{\"advance\": \"5m\"}"), 409, "needs_simulated_clock", NULL);
  expect_error(call(s, "POST", "/api/v1/clock", ACTOR, "{\"advance\": \"5m\"}"), 403, "forbidden", NULL);

  /* An admin makes a user, who signs in with the password they were given. */
  uint64_t before = last_seq_now(s);
  r = call(s, "POST", "/api/v1/users", ADMIN,
           "{\"name\": \"eve.n\", \"role\": \"clinician\", \"admin_password\": \"" PASSWORD "\"}");
  expect(&r, 201);
  const char *given = str_at(r.json, "password");
  assert_non_null(given);
  char body[256];
  snprintf(body, sizeof body, "{\"user\": \"eve.n\", \"password\": \"%s\"}", given);
  json_decref(r.json);
  expect_error(call(s, "POST", "/api/v1/users", ADMIN, "{\"name\": \"eve.n\", \"role\": \"nurse\"}"), 409,
               "already_exists", "name");
  expect_error(call(s, "POST", "/api/v1/users", ADMIN, "{\"name\": \"Bad Name\", \"role\": \"nurse\"}"), 422,
               "invalid_field", "name");
  expect_error(call(s, "POST", "/api/v1/users", ADMIN, "{\"name\": \"z\", \"role\": \"surgeon\"}"), 422,
               "invalid_field", "role");
  r = call(s, "POST", "/api/v1/session", NOBODY, body);
  expect(&r, 200);
  char eve[64];
  snprintf(eve, sizeof eve, "%s", str_at(r.json, "token"));
  json_decref(r.json);
  remember_token("eve.n", eve);
  r = call(s, "GET", "/api/v1/session", "eve.n", NULL);
  expect(&r, 200);
  json_decref(r.json);
  /* A change refused in part is refused in whole. */
  expect_error(call(s, "POST", "/api/v1/users/eve.n", ADMIN, "{\"disabled\": true, \"password\": \"short\"}"), 422,
               "invalid_field", "password");
  r = call(s, "GET", "/api/v1/session", "eve.n", NULL);
  expect(&r, 200);
  json_decref(r.json);
  /* Disabled: the session ends at once, and so do new sign-ins. */
  r = call(s, "POST", "/api/v1/users/eve.n", ADMIN, "{\"disabled\": true, \"admin_password\": \"" PASSWORD "\"}");
  expect(&r, 200);
  json_decref(r.json);
  expect_error(call(s, "GET", "/api/v1/session", "eve.n", NULL), 401, "unauthenticated", NULL);
  expect_error(call(s, "POST", "/api/v1/session", NOBODY, body), 401, "bad_credentials", NULL);
  r = call(s, "GET", "/api/v1/users", ADMIN, NULL);
  expect(&r, 200);
  assert_non_null(strstr(r.text, "\"name\":\"eve.n\",\"role\":\"clinician\",\"disabled\":true"));
  json_decref(r.json);

  /* Failed sign-ins are events, and five of them close the door for a while. */
  for (int i = 0; i < 5; i++)
    expect_error(call(s, "POST", "/api/v1/session", NOBODY, "{\"user\": \"doc.b\", \"password\": \"guess\"}"), 401,
                 "bad_credentials", NULL);
  expect_error(call(s, "POST", "/api/v1/session", NOBODY, "{\"user\": \"doc.b\", \"password\": \"" PASSWORD "\"}"), 429,
               "too_many_attempts", NULL);
  char types[2048];
  event_types_after(s, before, types, sizeof types);
  assert_string_equal(types, "user.created session.started user.changed auth.failed auth.failed auth.failed "
                             "auth.failed auth.failed auth.failed");
  /* The doctor's session from before still works; signing out ends it. */
  r = call(s, "GET", "/api/v1/session", CLINICIAN, NULL);
  expect(&r, 200);
  json_decref(r.json);
  r = call(s, "DELETE", "/api/v1/session", CLINICIAN, NULL);
  expect(&r, 200);
  json_decref(r.json);
  expect_error(call(s, "GET", "/api/v1/session", CLINICIAN, NULL), 401, "unauthenticated", NULL);
  /* A token for an integrator only, shown once; it reads the stream. */
  expect_error(call(s, "POST", "/api/v1/tokens", ADMIN, "{\"user\": \"nurse.a\"}"), 422, "invalid_field", "user");
  r = call(s, "POST", "/api/v1/tokens", ADMIN, "{\"user\": \"int.d\", \"admin_password\": \"" PASSWORD "\"}");
  expect(&r, 201);
  assert_int_equal(strlen(str_at(r.json, "token")), USER_TOKEN_LEN);
  remember_token("int.d.token", str_at(r.json, "token"));
  json_decref(r.json);
  /* The token reads the log and its stream, and writes nothing. */
  r = call(s, "GET", "/api/v1/events?limit=1", "int.d.token", NULL);
  expect(&r, 200);
  json_decref(r.json);
  expect_error(call(s, "POST", "/api/v1/visits", "int.d.token", "{\"protocol\": \"api_test\", \"patient\": \"T\"}"),
               403, "forbidden", NULL);
  expect_error(call(s, "POST", "/api/v1/alerts/1/ack", "int.d.token", NULL), 403, "forbidden", NULL);
  stop_clean(s);
}

/* ---- vigil user ------------------------------------------------------------------------------ */

/* Runs `vigil user ARGS --db DB` (stdin: input, when not NULL); its output in out, its exit status. */
static int user_command(server *s, const char *args, const char *input, char *out, size_t len) {
  char cmd[8800];
  snprintf(cmd, sizeof cmd, "%s%s%s'%s' user %s --db '%s' 2>&1", input ? "echo '" : "", input ? input : "",
           input ? "' | " : "", s->vigil, args, s->db);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, len - 1, p);
  out[n] = '\0';
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_user_command(void **state) {
  server *s = *state;
  char out[2048];
  /* A generated password is shown once and signs in. */
  assert_int_equal(user_command(s, "add fay.n --role nurse", NULL, out, sizeof out), 0);
  const char *shown = strstr(out, "shown once: ");
  assert_non_null(shown);
  char password[64];
  snprintf(password, sizeof password, "%.24s", shown + 12);
  assert_int_equal(user_command(s, "add fay.n --role nurse", NULL, out, sizeof out), 1);
  assert_non_null(strstr(out, "exists already"));
  assert_int_equal(user_command(s, "add x --role surgeon", NULL, out, sizeof out), 2);
  assert_int_equal(user_command(s, "passwd fay.n --password-stdin", "short", out, sizeof out), 2);
  assert_non_null(strstr(out, "at least 10 characters"));
  assert_int_equal(user_command(s, "list", NULL, out, sizeof out), 0);
  assert_non_null(strstr(out, "fay.n"));
  assert_int_equal(user_command(s, "token nurse.a", NULL, out, sizeof out), 1); /* tokens are for integrators */
  start(s, NULL);
  char body[160];
  snprintf(body, sizeof body, "{\"user\": \"fay.n\", \"password\": \"%s\"}", password);
  reply r = call(s, "POST", "/api/v1/session", NOBODY, body);
  expect(&r, 200);
  /* vigil serve with no vigil.conf: a sign-in lasts session_hours' default, 12 h. */
  assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in_s")), 12 * 3600);
  json_decref(r.json);
  /* While the server holds the database, the command says where to go instead. */
  assert_int_equal(user_command(s, "disable fay.n", NULL, out, sizeof out), 1);
  assert_non_null(strstr(out, "/api/v1/users"));
  stop_clean(s);
  assert_int_equal(user_command(s, "disable fay.n", NULL, out, sizeof out), 0);
  start(s, NULL);
  expect_error(call(s, "POST", "/api/v1/session", NOBODY, body), 401, "bad_credentials", NULL);
  char types[4096];
  event_types_after(s, 0, types, sizeof types);
  assert_non_null(strstr(types, "user.created user.created user.created user.created user.created"));
  assert_non_null(strstr(types, "user.changed"));
  stop_clean(s);
}

/* ---- protocol versions ------------------------------------------------------------------- */

/* PROTOCOL as an upload body, at another version (and a comment to change its sources). */
static char *upload_body(const char *version, const char *comment) {
  char *lua = strdup(PROTOCOL);
  char *v = strstr(lua, "'1.0.0'");
  memcpy(v + 1, version, 5);
  char *text = NULL;
  assert_true(asprintf(&text, "-- %s\n%s", comment, lua) > 0);
  /* A version comes with its specs (G10: one without is refused). */
  json_t *body = json_pack("{s:{s:s, s:s}}", "files", "protocol.lua", text, "specs/starts_spec.lua",
                           "return spec 'starts' { expect '0m' { phase = 'baseline' } }\n");
  char *out = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  free(text);
  free(lua);
  return out;
}

static const char *visit_protocol(reply r) {
  static char ref[64];
  snprintf(ref, sizeof ref, "%s", str_at(r.json, "protocol"));
  json_decref(r.json);
  return ref;
}

/* GET /api/v1/protocols: of api_test's versions, only want is "default"
 * (what a bare id starts: the newest approved). */
static void expect_default(server *s, const char *want) {
  reply r = call(s, "GET", "/api/v1/protocols", ACTOR, NULL);
  expect(&r, 200);
  size_t i, defaults = 0;
  json_t *p;
  json_array_foreach(json_object_get(r.json, "protocols"), i, p) {
    if (!json_is_true(json_object_get(p, "default"))) continue;
    defaults++;
    if (strcmp(str_at(p, "ref"), want)) fail_msg("%s is default, not %s", str_at(p, "ref"), want);
  }
  assert_int_equal(defaults, 1);
  json_decref(r.json);
}

/* upload (a body of files) with one file set to text: a new body. */
static char *upload_with(const char *upload, const char *path, const char *text) {
  json_t *body = json_loads(upload, 0, NULL);
  json_object_set_new(json_object_get(body, "files"), path, json_string(text));
  char *out = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  return out;
}

/* POST an approval, asked again while it is 503 diff_pending (AM2: the
 * diff it shows is computed in a child, not on the loop; Retry-After says
 * 1 s, a test asks every 50 ms), for up to a minute. */
static reply approval(server *s, const char *path, const char *actor, const char *body) {
  for (int i = 0;; i++) {
    reply r = call(s, "POST", path, actor, body);
    const char *code = r.status == 503 ? str_at(json_object_get(r.json, "error"), "code") : NULL;
    if (!code || strcmp(code, "diff_pending") || i == 1200) return r;
    json_decref(r.json);
    usleep(50 * 1000);
  }
}

static void test_protocol_versions(void **state) {
  server *s = *state;
  start(s, NULL);
  char *v11 = upload_body("1.1.0", "the next version");
  /* G10 (docs/safety.md): the same version without its specs is refused, not kept. */
  json_t *bare = json_loads(v11, 0, NULL);
  json_object_del(json_object_get(bare, "files"), "specs/starts_spec.lua");
  char *untested = json_dumps(bare, JSON_COMPACT);
  json_decref(bare);
  expect_error(call(s, "POST", "/api/v1/protocols", CLINICIAN, untested), 422, "specs_missing", "files");
  free(untested);
  /* Only authors upload; a new version is kept, loaded, and not yet usable. */
  expect_error(call(s, "POST", "/api/v1/protocols", ACTOR, v11), 403, "forbidden", NULL);
  reply r = call(s, "POST", "/api/v1/protocols", CLINICIAN, v11);
  expect(&r, 201);
  assert_string_equal(str_at(r.json, "ref"), "api_test@1.1.0");
  assert_true(json_is_null(json_object_get(r.json, "approved")));
  json_decref(r.json);
  const char *start11 = "{\"protocol\": \"api_test@1.1.0\", \"patient\": \"V\"}";
  expect_error(call(s, "POST", "/api/v1/visits", ACTOR, start11), 409, "not_approved", "protocol");
  r = call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": \"api_test\", \"patient\": \"V\"}");
  expect(&r, 201);
  assert_string_equal(visit_protocol(r), "api_test@1.0.0");
  /* The same version with other sources is refused; the same sources again change nothing. */
  char *other = upload_body("1.1.0", "something else");
  expect_error(call(s, "POST", "/api/v1/protocols", CLINICIAN, other), 409, "version_exists", "files");
  r = call(s, "POST", "/api/v1/protocols", CLINICIAN, v11);
  expect(&r, 200);
  json_decref(r.json);
  /* AC9: a changed spec, or a helper more that protocol.lua does not
   * require, are other sources too, though not in the fingerprint. */
  char *spec =
      upload_with(v11, "specs/starts_spec.lua", "return spec 'starts' { expect '0m' { phase = 'baseline' } }\n-- x\n");
  char *helper = upload_with(v11, "unused_helper.lua", "return {}\n");
  expect_error(call(s, "POST", "/api/v1/protocols", CLINICIAN, spec), 409, "version_exists", "files");
  expect_error(call(s, "POST", "/api/v1/protocols", CLINICIAN, helper), 409, "version_exists", "files");
  free(spec);
  free(helper);
  /* AC8: the unapproved 1.1.0 is not what a bare id starts. */
  expect_default(s, "api_test@1.0.0");
  /* Broken sources: every problem as file:line, nothing kept; lint says the same. */
  const char *broken = "{\"files\": {\"protocol.lua\": \"local v = require 'vigil'\\nreturn v.protocol 'x' {\\n"
                       "  version = 'one', phases = {} }\\n\"}}";
  r = call(s, "POST", "/api/v1/protocols", CLINICIAN, broken);
  expect(&r, 422);
  json_t *problems = json_object_get(json_object_get(r.json, "error"), "problems");
  assert_true(json_array_size(problems) >= 1);
  assert_non_null(strstr(str_at(json_array_get(problems, 0), "where"), "protocol.lua:"));
  json_decref(r.json);
  r = call(s, "POST", "/api/v1/protocols/lint", CLINICIAN, broken);
  expect(&r, 200);
  assert_true(json_array_size(json_object_get(r.json, "problems")) >= 1);
  json_decref(r.json);
  expect_error(call(s, "POST", "/api/v1/protocols", CLINICIAN, "{\"files\": {\"../x.lua\": \"\"}}"), 422,
               "invalid_field", "files");
  /* Approving is an admin's signature. */
  const char *approve = "/api/v1/protocols/api_test@1.1.0/approve";
  expect_error(call(s, "POST", approve, ACTOR, "{\"password\": \"" PASSWORD "\"}"), 403, "forbidden", NULL);
  expect_error(call(s, "POST", approve, CLINICIAN, "{\"password\": \"" PASSWORD "\"}"), 403, "forbidden", NULL);
  /* AM2: its diff not read yet, it is computed in a child: 503
   * diff_pending with Retry-After, nothing approved; asked again once it
   * is kept, the approval goes on. */
  r = call(s, "POST", approve, ADMIN, "{}");
  expect_error(r, 503, "diff_pending", NULL);
  expect_error(approval(s, approve, ADMIN, "{}"), 401, "password_required", "password");
  expect_error(approval(s, approve, ADMIN, "{\"password\": \"nope\"}"), 401, "bad_password", "password");
  r = approval(s, approve, ADMIN, "{\"password\": \"" PASSWORD "\"}");
  expect(&r, 200);
  assert_string_equal(str_at(json_object_get(r.json, "approved"), "by"), ADMIN);
  json_decref(r.json);
  expect_error(call(s, "POST", approve, ADMIN, "{\"password\": \"" PASSWORD "\"}"), 409, "wrong_state", NULL);
  /* Now a bare id starts on the newest approved version, also after a restart. */
  stop_clean(s);
  start(s, NULL);
  r = call(s, "GET", "/api/v1/protocols/api_test", ACTOR, NULL);
  expect(&r, 200);
  assert_string_equal(str_at(r.json, "ref"), "api_test@1.1.0");
  json_decref(r.json);
  r = call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": \"api_test\", \"patient\": \"W\"}");
  expect(&r, 201);
  assert_string_equal(visit_protocol(r), "api_test@1.1.0");
  expect_default(s, "api_test@1.1.0");
  char types[4096];
  event_types_after(s, 0, types, sizeof types);
  assert_non_null(strstr(types, "protocol.uploaded"));
  assert_non_null(strstr(types, "protocol.approved"));
  /* K6: a version that removes a safety control (here the baseline's gate) is
   * approved only with it confirmed (confirm_weakened), as the prescription. */
  char *lua = strdup(PROTOCOL);
  memcpy(strstr(lua, "'1.0.0'") + 1, "1.2.0", 5);
  char *gate = strstr(lua, "      gate = function(visit)"), *end = strstr(gate, "      end },\n") + 13;
  memmove(gate, "    },\n", 7);
  memmove(gate + 7, end, strlen(end) + 1);
  json_t *body = json_pack("{s:{s:s, s:s}}", "files", "protocol.lua", lua, "specs/starts_spec.lua",
                           "return spec 'starts' { expect '0m' { phase = 'baseline' } }\n");
  char *v12 = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  free(lua);
  r = call(s, "POST", "/api/v1/protocols", CLINICIAN, v12);
  expect(&r, 201);
  json_decref(r.json);
  r = call(s, "GET", "/api/v1/protocols/api_test@1.2.0/diff", CLINICIAN, NULL);
  expect(&r, 200);
  json_t *weakened = json_object_get(r.json, "weakened");
  assert_int_equal(json_array_size(weakened), 1);
  assert_string_equal(json_string_value(json_array_get(weakened, 0)),
                      "phase baseline: its gate condition removed (was protocol.lua:17-21)");
  json_decref(r.json);
  const char *approve12 = "/api/v1/protocols/api_test@1.2.0/approve";
  r = approval(s, approve12, ADMIN, "{\"password\": \"" PASSWORD "\"}");
  expect(&r, 422);
  json_t *err = json_object_get(r.json, "error");
  assert_string_equal(str_at(err, "code"), "confirmation_required");
  assert_string_equal(str_at(err, "field"), "confirm_weakened");
  assert_int_equal(json_array_size(json_object_get(err, "reasons")), 1);
  json_decref(r.json);
  expect_error(approval(s, approve12, ADMIN, "{\"password\": \"" PASSWORD "\", \"confirm_weakened\": \"yes\"}"), 422,
               "value_refused", "confirm_weakened");
  r = approval(s, approve12, ADMIN, "{\"password\": \"" PASSWORD "\", \"confirm_weakened\": true}");
  expect(&r, 200);
  json_decref(r.json);
  /* V5: an admin may upload, but whoever uploaded a version does not approve
   * it: a second person does (409 naming the uploader, who is listed). */
  char *v13 = upload_body("1.3.0", "an admin's own");
  r = call(s, "POST", "/api/v1/protocols", ADMIN, v13);
  expect(&r, 201);
  json_decref(r.json);
  r = call(s, "GET", "/api/v1/protocols/api_test@1.3.0", ADMIN, NULL);
  expect(&r, 200);
  assert_string_equal(str_at(r.json, "uploaded_by"), ADMIN);
  json_decref(r.json);
  const char *approve13 = "/api/v1/protocols/api_test@1.3.0/approve";
  r = call(s, "POST", approve13, ADMIN, "{\"password\": \"" PASSWORD "\"}");
  expect(&r, 409);
  assert_string_equal(str_at(json_object_get(r.json, "error"), "code"), "uploader_approves");
  assert_string_equal(str_at(json_object_get(r.json, "error"), "uploaded_by"), ADMIN);
  assert_non_null(strstr(str_at(json_object_get(r.json, "error"), "message"), ADMIN " uploaded api_test@1.3.0"));
  json_decref(r.json);
  /* S2: nor does an admin the uploader created, directly or through
   * another, nor the admin who created the uploader. */
  r = call(s, "POST", "/api/v1/users", ADMIN,
           "{\"name\": \"admin.two\", \"role\": \"admin\", \"password\": \"" PASSWORD
           "\", \"admin_password\": \"" PASSWORD "\"}");
  expect(&r, 201);
  json_decref(r.json);
  r = call(s, "POST", "/api/v1/users", "admin.two",
           "{\"name\": \"admin.three\", \"role\": \"admin\", \"password\": \"" PASSWORD
           "\", \"admin_password\": \"" PASSWORD "\"}");
  expect(&r, 201);
  json_decref(r.json);
  static const char *const made[][2] = {{"admin.two", "created your account"}, {"admin.three", "created your account"}};
  for (size_t i = 0; i < sizeof made / sizeof *made; i++) {
    r = call(s, "POST", approve13, made[i][0], "{\"password\": \"" PASSWORD "\"}");
    expect(&r, 409);
    assert_string_equal(str_at(json_object_get(r.json, "error"), "code"), "uploader_approves");
    if (!strstr(str_at(json_object_get(r.json, "error"), "message"), made[i][1]))
      fail_msg("%s: %s", made[i][0], r.text);
    json_decref(r.json);
  }
  char *v14 = upload_body("1.4.0", "a made admin's own");
  r = call(s, "POST", "/api/v1/protocols", "admin.three", v14);
  expect(&r, 201);
  json_decref(r.json);
  r = call(s, "POST", "/api/v1/protocols/api_test@1.4.0/approve", ADMIN, "{\"password\": \"" PASSWORD "\"}");
  expect(&r, 409);
  if (!strstr(str_at(json_object_get(r.json, "error"), "message"), "you created their account")) fail_msg("%s", r.text);
  json_decref(r.json);
  free(v14);
  /* A second admin the installer made approves it. */
  r = approval(s, approve13, ADMIN2, "{\"password\": \"" PASSWORD "\"}");
  expect(&r, 200);
  assert_string_equal(str_at(json_object_get(r.json, "approved"), "by"), ADMIN2);
  json_decref(r.json);
  /* AI2: a rule weakened on what no case of the diff varies (the visit's
   * id) is not named weakened; its changed code is (code_changed), and
   * approving needs it confirmed (confirm_code_changed). */
  char *v15 = upload_body("1.5.0", "the limit for the first visits only");
  char *rule = strstr(v15, "if x.sbp > visit.param('sbp_max')");
  assert_non_null(rule);
  memcpy(rule, "if visit.id() < 21 and x.sbp >160", 33); /* as long as what it replaces */
  r = call(s, "POST", "/api/v1/protocols", CLINICIAN, v15);
  expect(&r, 201);
  json_decref(r.json);
  r = call(s, "GET", "/api/v1/protocols/api_test@1.5.0/diff", CLINICIAN, NULL);
  expect(&r, 200);
  assert_int_equal(json_array_size(json_object_get(r.json, "weakened")), 0);
  json_t *code = json_object_get(r.json, "code_changed");
  assert_int_equal(json_array_size(code), 1);
  assert_non_null(strstr(json_string_value(json_array_get(code, 0)), "rule baseline.vitals: its code"));
  json_decref(r.json);
  const char *approve15 = "/api/v1/protocols/api_test@1.5.0/approve";
  r = approval(s, approve15, ADMIN2, "{\"password\": \"" PASSWORD "\"}");
  expect(&r, 422);
  assert_string_equal(str_at(json_object_get(r.json, "error"), "field"), "confirm_code_changed");
  json_decref(r.json);
  r = approval(s, approve15, ADMIN2, "{\"password\": \"" PASSWORD "\", \"confirm_code_changed\": true}");
  expect(&r, 200);
  json_decref(r.json);
  free(v15);
  free(v13);
  free(v12);
  free(v11);
  free(other);
  stop_clean(s);
}

/* ---- the site: today, escalation, the test clock -------------------------------------- */

static void test_site_day_and_escalation(void **state) {
  server *s = *state;
  s->simulated = 1;
  write_conf(
      s, "site = { name = 'Test clinic', timezone = 'Europe/London', escalate_after = { high = 120, low = 900 } }\n");
  start(s, NULL);
  uint64_t id = start_visit(s, "MRN-T");
  /* Where a patient sits is said at the start, and shown. */
  reply c = call(s, "POST", "/api/v1/visits", ACTOR,
                 "{\"protocol\": \"api_test\", \"patient\": \"MRN-C\", \"location\": \"Chair 3\"}");
  expect(&c, 201);
  assert_string_equal(str_at(c.json, "location"), "Chair 3");
  uint64_t in3 = (uint64_t)json_integer_value(json_object_get(c.json, "id"));
  json_decref(c.json);
  /* The visits in a chair however it is spelled (docs/workstation.md AK3):
   * letter case, separators, a trailing dot, leading zeros, a Cyrillic
   * capital Es for the C; not another number or another word. */
  static const char *const same[] = {"Chair%203",  "chair3",    "CHAIR%2003",    "Chair-3",
                                     "Chair%203.", "Chair_003", "%D0%A1hair%203"};
  static const char *const other[] = {"Chair%2030", "Chair%202", "Chair%2013", "Bay%203", "Chair", "..."};
  for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
    char query[64];
    snprintf(query, sizeof query, "?location=%s", same[i]);
    if (!visits_query_has(s, query, in3)) fail_msg("?location=%s does not list the visit in \"Chair 3\"", same[i]);
  }
  for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
    char query[64];
    snprintf(query, sizeof query, "?location=%s", other[i]);
    if (visits_query_has(s, query, in3)) fail_msg("?location=%s lists the visit in \"Chair 3\"", other[i]);
  }
  assert_false(visits_query_has(s, "?location=Chair%203&status=discharged", in3));
  expect_error(call(s, "GET", "/api/v1/visits?location=%C3%28", NULL, NULL), 400, "invalid_query", "location");
  c = call(s, "GET", "/api/v1/visits?patient=MRN-C", NULL, NULL);
  assert_string_equal(str_at(json_array_get(json_object_get(c.json, "visits"), 0), "location"), "Chair 3");
  json_decref(c.json);
  expect_error(
      call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": \"api_test\", \"patient\": \"X\", \"location\": \"\"}"),
      422, "invalid_field", "location");
  reply r = visit_cmd(s, id, "entries", "{\"consent\": true, \"vitals\": {\"sbp\": 170, \"hr\": 80}}");
  expect(&r, 200);
  json_decref(r.json);
  assert_true(visits_query_has(s, "?today=true", id));
  expect_error(call(s, "GET", "/api/v1/visits?today=maybe", NULL, NULL), 400, "invalid_query", "today");
  /* The protocol escalates after five minutes; the site wants two at most
   * for a high alert (as this one is). */
  expect_error(call(s, "POST", "/api/v1/clock", ACTOR, "{\"advance\": \"3m\"}"), 403, "forbidden", NULL);
  expect_error(call(s, "POST", "/api/v1/clock", ADMIN, "{\"advance\": \"soon\"}"), 422, "invalid_field", "advance");
  r = call(s, "POST", "/api/v1/clock", ADMIN, "{\"advance\": \"3m\"}");
  expect(&r, 200);
  assert_true(json_is_true(json_object_get(r.json, "simulated")));
  json_decref(r.json);
  r = call(s, "GET", "/api/v1/alerts", NULL, NULL);
  expect(&r, 200);
  json_t *al = json_array_get(json_object_get(r.json, "alerts"), 0);
  assert_int_equal(json_integer_value(json_object_get(al, "level")), 1);
  char path[128], escalated[40];
  assert_non_null(str_at(al, "escalated_at"));
  snprintf(escalated, sizeof escalated, "%s", str_at(al, "escalated_at"));
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/ack", (long long)json_integer_value(json_object_get(al, "id")));
  json_decref(r.json);
  /* The visit shows its alerts as the list does, by the same writer (issue 12): escalated_at too. */
  char visit_path[64];
  snprintf(visit_path, sizeof visit_path, "/api/v1/visits/%llu", (unsigned long long)id);
  reply v = call(s, "GET", visit_path, NULL, NULL);
  expect(&v, 200);
  const char *shown = str_at(json_array_get(json_object_get(v.json, "alerts"), 0), "escalated_at");
  if (!shown || strcmp(shown, escalated)) fail_msg("the visit's alert: escalated_at %s, not %s", shown, escalated);
  json_decref(v.json);
  r = call(s, "POST", path, ACTOR, "{\"reason\": \"repeated, cuff too small\"}");
  expect(&r, 200);
  json_decref(r.json);
  /* The alert log: the whole life of each alert, and who. From a fixed
   * day, not the default (midnight today): a run near midnight crossed it
   * with the clock's moves and found the log empty. */
  r = call(s, "GET", ALERT_LOG, NULL, NULL);
  expect(&r, 200);
  al = json_array_get(json_object_get(r.json, "alerts"), 0);
  assert_string_equal(str_at(al, "patient"), "MRN-T");
  assert_string_equal(str_at(al, "raised_by"), "vigil");
  assert_int_equal(json_array_size(json_object_get(al, "escalations")), 1);
  assert_string_equal(str_at(al, "acknowledged_by"), ACTOR);
  assert_string_equal(str_at(al, "acknowledged_reason"), "repeated, cuff too small");
  json_decref(r.json);
  /* A page at a time (limit, after, next), as the other lists: three more
   * alerts, read two by two, are the whole log in order, each page's alerts
   * with their whole life. */
  for (int k = 0; k < 3; k++) {
    char patient[16];
    snprintf(patient, sizeof patient, "MRN-P%d", k);
    uint64_t more = start_visit(s, patient);
    r = visit_cmd(s, more, "entries", "{\"consent\": true, \"vitals\": {\"sbp\": 175, \"hr\": 80}}");
    expect(&r, 200);
    json_decref(r.json);
  }
  r = call(s, "GET", ALERT_LOG, NULL, NULL);
  expect(&r, 200);
  json_t *whole = json_incref(json_object_get(r.json, "alerts"));
  assert_true(json_is_null(json_object_get(r.json, "next")));
  json_decref(r.json);
  assert_true(json_array_size(whole) >= 4);
  size_t seen = 0;
  long long after = 0;
  for (int page = 0;; page++) {
    char q[96];
    snprintf(q, sizeof q, ALERT_LOG "&limit=2&after=%lld", after);
    r = call(s, "GET", q, NULL, NULL);
    expect(&r, 200);
    json_t *rows = json_object_get(r.json, "alerts");
    assert_true(json_array_size(rows) <= 2);
    for (size_t k = 0; k < json_array_size(rows); k++, seen++)
      assert_true(json_equal(json_array_get(rows, k), json_array_get(whole, seen)));
    json_t *next = json_object_get(r.json, "next");
    if (json_is_null(next)) {
      json_decref(r.json);
      break;
    }
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(json_integer_value(next), json_integer_value(json_object_get(json_array_get(rows, 1), "id")));
    after = json_integer_value(next);
    json_decref(r.json);
    assert_true(page < 10);
  }
  assert_int_equal(seen, json_array_size(whole));
  json_decref(whole);
  expect_error(call(s, "GET", "/api/v1/alerts/log?limit=many", NULL, NULL), 400, "invalid_query", "limit");
  expect_error(call(s, "GET", "/api/v1/alerts/log?from=yesterday", NULL, NULL), 400, "invalid_query", "from");
  r = call(s, "GET", "/api/v1/alerts/log?from=2020-01-01&to=2020-01-02", NULL, NULL);
  expect(&r, 200);
  assert_int_equal(json_array_size(json_object_get(r.json, "alerts")), 0);
  json_decref(r.json);
  /* A day later the visit is no longer today's. */
  r = call(s, "POST", "/api/v1/clock", ADMIN, "{\"advance\": \"1d\"}");
  expect(&r, 200);
  json_decref(r.json);
  assert_false(visits_query_has(s, "?today=true", id));
  assert_true(visits_query_has(s, "", id));
  stop_clean(s);
  /* A wrong time zone, or a priority that is not one, is refused at start,
   * with where it was set. */
  write_conf(s, "\nsite = { timezone = 'Mars/Olympus' }\n");
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "'%s' serve --config '%s' --db '%s' --listen 127.0.0.1:0 2>&1 | grep -q '%s:2: site'",
           s->vigil, s->conf, s->db, s->conf);
  assert_int_equal(system(cmd), 0);
  write_conf(s, "\n\nsite = { escalate_after = { urgent = 60 } }\n");
  snprintf(cmd, sizeof cmd,
           "'%s' serve --config '%s' --db '%s' --listen 127.0.0.1:0 2>&1 | grep -q '%s:3: site.escalate_after is'",
           s->vigil, s->conf, s->db, s->conf);
  assert_int_equal(system(cmd), 0);
  /* AJ2: a misspelt key of site (timezon) is refused, not taken as nothing. */
  write_conf(s, "\nsite = { name = 'x', timezon = 'Australia/Brisbane' }\n");
  snprintf(
      cmd, sizeof cmd,
      "'%s' serve --config '%s' --db '%s' --listen 127.0.0.1:0 2>&1 | grep -q '%s:2: site.timezon is not a setting'",
      s->vigil, s->conf, s->db, s->conf);
  assert_int_equal(system(cmd), 0);
  /* AJ1: on a node of east and west, a plugin's settings for "wset" are
   * refused at start (they were ignored: west's alarms went to east's
   * receiver); refused before the store is reached, so no PostgreSQL here. */
  write_conf(s, "\nplugins = { jsonl = { path = 'x.jsonl', sites = { east = { path = 'e.jsonl' }, wset = { path = "
                "'w.jsonl' } } } }\n");
  snprintf(cmd, sizeof cmd,
           "timeout 60 '%s' serve --config '%s' --store postgresql://vigil@127.0.0.1:1/vigil --node n1 --sites "
           "east,west --listen 127.0.0.1:0 2>&1 | grep -q \"plugins.jsonl.sites.wset: 'wset' is not one of this "
           "node's sites (east,west)\"",
           s->vigil, s->conf);
  assert_int_equal(system(cmd), 0);
  write_conf(s, "\nplugins = { jsonl = { path = 'x.jsonl', sites = { east = { path = 'e.jsonl' } } } }\n");
  snprintf(cmd, sizeof cmd,
           "timeout 10 '%s' serve --config '%s' --store postgresql://vigil@127.0.0.1:1/vigil --node n1 --sites "
           "east,west --listen 127.0.0.1:0 2>&1 | grep -q 'cannot reach the database to claim the site'",
           s->vigil, s->conf);
  assert_int_equal(system(cmd), 0); /* past the settings, trying the store */
}

/* ---- bad input ------------------------------------------------------------------------ */

/* Sends raw bytes on a new connection; returns the response's status (0:
 * none) and whether the server then closed the connection. */
static int raw_exchange(server *s, const char *data, size_t len, int *closed, char *body, size_t body_len) {
  hc_conn c;
  if (hc_connect(&c, s->port) < 0) fail_msg("cannot connect");
  hc_send(&c, data, len);
  hc_response r;
  int status = 0;
  if (hc_read(&c, &r, 10000) == 0) {
    status = r.status;
    if (body) snprintf(body, body_len, "%s", r.body);
    hc_response_free(&r);
  }
  if (closed) *closed = hc_wait_closed(&c, 5000);
  hc_close(&c);
  return status;
}

static void test_bad_input(void **state) {
  server *s = *state;
  start(s, NULL);
  int closed;
  char body[512];
  /* Malformed request lines: 400 and the connection closes. */
  const char *bad[] = {"BREW /pot HTTP/1.1\r\n\r\n",
                       "GET\r\n\r\n",
                       "GET /a b HTTP/1.1\r\n\r\n",
                       "GET healthz HTTP/1.1\r\n\r\n",
                       "GET /healthz HTTP/1.1 x\r\n\r\n",
                       "\x01\x02\r\n\r\n",
                       "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
                       "POST /api/v1/visits HTTP/1.1\r\nContent-Length: ten\r\n\r\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int status = raw_exchange(s, bad[i], strlen(bad[i]), &closed, body, sizeof body);
    if (status != 400) fail_msg("%s: got %d", bad[i], status);
    assert_non_null(strstr(body, "\"code\":\"bad_request\""));
    assert_true(closed);
  }
  /* HTTP/0.9 (no version): 505. */
  assert_int_equal(raw_exchange(s, "GET /healthz\r\n\r\n", 16, &closed, body, sizeof body), 505);
  assert_true(closed);
  /* Headers over 16 KiB: 431. */
  size_t big = 20000;
  char *req = malloc(big + 256);
  int n = sprintf(req, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ");
  memset(req + n, 'a', big);
  n += (int)big;
  n += sprintf(req + n, "\r\n\r\n");
  assert_int_equal(raw_exchange(s, req, (size_t)n, &closed, body, sizeof body), 431);
  assert_non_null(strstr(body, "headers_too_large"));
  assert_true(closed);
  /* Many small headers add up the same way. */
  n = sprintf(req, "GET /healthz HTTP/1.1\r\n");
  for (int i = 0; i < 99; i++)
    n += sprintf(req + n, "X-%d: %0170d\r\n", i, 0);
  n += sprintf(req + n, "\r\n");
  assert_int_equal(raw_exchange(s, req, (size_t)n, &closed, NULL, 0), 431);
  free(req);
  /* A body over 1 MiB: 413 as soon as its length is known, or as it grows. */
  const char *huge = "POST /api/v1/visits HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\n\r\n{\"a\":";
  assert_int_equal(raw_exchange(s, huge, strlen(huge), &closed, body, sizeof body), 413);
  assert_non_null(strstr(body, "body_too_large"));
  assert_true(closed);
  size_t chunk = 256 * 1024;
  char *chunked = malloc(5 * (chunk + 32) + 256);
  /* Signed in: without a session it is 401 on its headers (V4). */
  n = sprintf(chunked,
              "POST /api/v1/visits HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              auth_token(NULL));
  for (int i = 0; i < 5; i++) {
    n += sprintf(chunked + n, "%zx\r\n", chunk);
    memset(chunked + n, ' ', chunk);
    n += (int)chunk;
    n += sprintf(chunked + n, "\r\n");
  }
  n += sprintf(chunked + n, "0\r\n\r\n");
  assert_int_equal(raw_exchange(s, chunked, (size_t)n, &closed, NULL, 0), 413);
  free(chunked);

  /* JSON that does not parse, and JSON of the wrong shape. */
  expect_error(call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": "), 400, "invalid_json", NULL);
  expect_error(call(s, "POST", "/api/v1/visits", ACTOR, "[1, 2]"), 400, "invalid_json", NULL);
  expect_error(call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": 5, \"patient\": \"x\"}"), 422, "invalid_field",
               "protocol");
  expect_error(call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": \"api_test\", \"patient\": true}"), 422,
               "invalid_field", "patient");
  expect_error(
      call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": \"api_test\", \"patient\": \"p\", \"params\": 3}"), 422,
      "invalid_field", "params");
  expect_error(call(s, "POST", "/api/v1/visits", ACTOR,
                    "{\"protocol\": \"api_test\", \"patient\": \"p\", \"params\": {\"sbp_max\": \"high\"}}"),
               422, "value_refused", "sbp_max");
  expect_error(call(s, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": \"nothing\", \"patient\": \"p\"}"), 422,
               "unknown_reference", "protocol");
  uint64_t id = start_visit(s, "MRN-9");
  expect_error(visit_cmd(s, id, "entries", "{\"weight\": \"seventy\"}"), 422, "value_refused", "weight");
  expect_error(visit_cmd(s, id, "entries", "{\"weight\": 900}"), 422, "value_refused", "weight");
  expect_error(visit_cmd(s, id, "entries", "{\"no_such_item\": 1}"), 422, "unknown_reference", "no_such_item");
  expect_error(visit_cmd(s, id, "entries", "{}"), 422, "invalid_field", NULL);
  expect_error(visit_cmd(s, id, "amend", "{\"item\": \"weight\", \"value\": 70, \"reason\": 3}"), 422, "invalid_field",
               "reason");
  expect_error(visit_cmd(s, id, "abort", "{}"), 422, "invalid_field", "reason");
  expect_error(visit_cmd(s, id, "amend", "{\"item\": \"weight\", \"value\": 70, \"reason\": \"r\"}"), 409,
               "wrong_state", "item");
  /* Unknown things. */
  expect_error(call(s, "GET", "/api/v1/visits/999", NULL, NULL), 404, "not_found", "visit");
  expect_error(call(s, "GET", "/api/v1/visits/999/fhir", NULL, NULL), 404, "not_found", "visit");
  expect_error(visit_cmd(s, 999, "entries", "{\"weight\": 70}"), 404, "not_found", "visit");
  expect_error(call(s, "POST", "/api/v1/alerts/999/ack", ACTOR, NULL), 404, "not_found", "alert");
  expect_error(call(s, "GET", "/api/v1/visits/abc", NULL, NULL), 404, "not_found", NULL);
  expect_error(call(s, "GET", "/api/v1/nothing", NULL, NULL), 404, "not_found", NULL);
  expect_error(call(s, "GET", "/api/v1/visits/", NULL, NULL), 404, "not_found", NULL);
  expect_error(call(s, "GET", "/api/v1/visits/999/events", NULL, NULL), 404, "not_found", "visit");
  /* No credentials, wrong method, bad queries. */
  expect_error(visit_cmd(s, id, "advance", NULL), 409, "gate_not_met", "gate");
  expect_error(call(s, "POST", "/api/v1/visits", NOBODY, "{}"), 401, "unauthenticated", NULL);
  expect_error(call(s, "GET", "/api/v1/visits", NOBODY, NULL), 401, "unauthenticated", NULL);
  expect_error(call(s, "POST", "/api/v1/session", NOBODY, "{\"user\": 1, \"password\": \"x\"}"), 422, "invalid_field",
               "user");
  expect_error(call(s, "GET", "/api/v1/visits?status=%C3%28", NULL, NULL), 400, "invalid_query", "status");
  reply r = call(s, "DELETE", "/api/v1/visits/1", NULL, NULL);
  expect(&r, 405);
  json_decref(r.json);
  expect_error(call(s, "GET", "/api/v1/visits?status=bogus", NULL, NULL), 400, "invalid_query", "status");
  expect_error(call(s, "GET", "/api/v1/visits?after=x", NULL, NULL), 400, "invalid_query", "after");
  expect_error(call(s, "GET", "/api/v1/events?limit=-1", NULL, NULL), 400, "invalid_query", "limit");
  expect_error(call(s, "GET", "/api/v1/alerts?state=all", NULL, NULL), 400, "invalid_query", "state");
  /* And after all this, the server still serves. */
  r = call(s, "GET", "/healthz", NULL, NULL);
  expect(&r, 200);
  json_decref(r.json);
  stop_clean(s);
}

/* ---- slow and idle clients ---------------------------------------------------------------- */

static void test_slow_client(void **state) {
  server *s = *state;
  start(s, "3");
  /* A client that sends half a request and stops... */
  hc_conn slow;
  assert_int_equal(hc_connect(&slow, s->port), 0);
  hc_send_str(&slow, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wait");
  double t0 = hc_now_ms();
  /* ...while another is served normally. */
  hc_conn other;
  assert_int_equal(hc_connect(&other, s->port), 0);
  for (int i = 0; i < 5; i++) {
    reply r = call_on(&other, "GET", "/healthz", NULL, NULL);
    expect(&r, 200);
    json_decref(r.json);
  }
  hc_close(&other);
  /* The slow one gets 408 once its second is up, and is closed. */
  hc_response resp;
  assert_int_equal(hc_read(&slow, &resp, 10000), 0);
  double waited = hc_now_ms() - t0;
  assert_int_equal(resp.status, 408);
  assert_non_null(strstr(resp.body, "request_timeout"));
  hc_response_free(&resp);
  assert_true(hc_wait_closed(&slow, 5000));
  hc_close(&slow);
  if (waited < 800 || waited > 8000) fail_msg("408 after %.0f ms (the request timeout is 1 s)", waited);

  /* A client that connects and says nothing is closed after the idle timeout. */
  hc_conn idle;
  assert_int_equal(hc_connect(&idle, s->port), 0);
  t0 = hc_now_ms();
  assert_true(hc_wait_closed(&idle, 15000));
  waited = hc_now_ms() - t0;
  assert_int_equal(idle.len, 0); /* no answer: nothing was asked */
  hc_close(&idle);
  if (waited < 2500) fail_msg("closed after %.0f ms (the idle timeout is 3 s)", waited);
  /* So is one that stops after a complete exchange. */
  assert_int_equal(hc_connect(&idle, s->port), 0);
  reply r = call_on(&idle, "GET", "/healthz", NULL, NULL);
  json_decref(r.json);
  assert_true(hc_wait_closed(&idle, 15000));
  hc_close(&idle);
  stop_clean(s);
}

/* ---- keep-alive and pipelining -------------------------------------------------------------- */

static void test_keep_alive(void **state) {
  server *s = *state;
  start(s, NULL);
  uint64_t id = start_visit(s, "MRN-K");
  char path[128];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  char entries[128];
  snprintf(entries, sizeof entries, "%.100s/entries", path);

  /* Several requests, one after the other, on one connection. */
  hc_conn c;
  assert_int_equal(hc_connect(&c, s->port), 0);
  for (int i = 0; i < 5; i++) {
    reply r = call_on(&c, "GET", i % 2 ? "/healthz" : path, NULL, NULL);
    expect(&r, 200);
    json_decref(r.json);
  }
  reply r = call_on(&c, "POST", entries, ACTOR, "{\"weight\": 71}");
  expect(&r, 200);
  json_decref(r.json);

  /* Pipelined in one write: answered in order, and the read after a write
   * sees the write. */
  char *a = hc_format("GET", "/healthz", auth_token(NULL), NULL);
  char *b = hc_format("POST", entries, auth_token(ACTOR), "{\"weight\": 75}");
  char *g = hc_format("GET", path, auth_token(NULL), NULL);
  char *all = malloc(strlen(a) + strlen(b) + strlen(g) + 1);
  sprintf(all, "%s%s%s", a, b, g);
  assert_int_equal(hc_send_str(&c, all), 0);
  free(a);
  free(b);
  free(g);
  free(all);
  hc_response resp;
  assert_int_equal(hc_read(&c, &resp, 10000), 0);
  assert_int_equal(resp.status, 200);
  assert_non_null(strstr(resp.body, "\"status\":\"ok\""));
  hc_response_free(&resp);
  assert_int_equal(hc_read(&c, &resp, 10000), 0);
  assert_int_equal(resp.status, 200);
  assert_non_null(strstr(resp.body, "\"value\":75"));
  hc_response_free(&resp);
  assert_int_equal(hc_read(&c, &resp, 10000), 0);
  assert_int_equal(resp.status, 200);
  assert_non_null(strstr(resp.body, "\"value\":75"));
  hc_response_free(&resp);

  /* More than the pipeline holds (16), in one write: all answered, in order. */
  size_t cap = 64 * 1024, used = 0;
  char *many = malloc(cap);
  for (int i = 0; i < 60; i++) {
    char one[256];
    snprintf(one, sizeof one,
             "GET /api/v1/visits?limit=1&after=%d HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", i,
             auth_token(NULL));
    memcpy(many + used, one, strlen(one));
    used += strlen(one);
  }
  assert_int_equal(hc_send(&c, many, used), 0);
  free(many);
  for (int i = 0; i < 60; i++) {
    if (hc_read(&c, &resp, 10000) < 0) fail_msg("pipelined answer %d missing", i);
    assert_int_equal(resp.status, 200);
    /* Only the first page (after=0) holds the visit. */
    assert_true((strstr(resp.body, "MRN-K") != NULL) == (i == 0 && id == 1));
    hc_response_free(&resp);
  }

  /* Connection: close is honoured. */
  assert_int_equal(hc_send_str(&c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), 0);
  assert_int_equal(hc_read(&c, &resp, 10000), 0);
  char value[64];
  assert_non_null(hc_header(&resp, "Connection", value, sizeof value));
  assert_string_equal(value, "close");
  hc_response_free(&resp);
  assert_true(hc_wait_closed(&c, 5000));
  hc_close(&c);

  /* HTTP/1.0 closes unless asked to keep alive. */
  assert_int_equal(hc_connect(&c, s->port), 0);
  assert_int_equal(hc_send_str(&c, "GET /healthz HTTP/1.0\r\n\r\n"), 0);
  assert_int_equal(hc_read(&c, &resp, 10000), 0);
  assert_int_equal(resp.status, 200);
  hc_response_free(&resp);
  assert_true(hc_wait_closed(&c, 5000));
  hc_close(&c);
  assert_int_equal(hc_connect(&c, s->port), 0);
  assert_int_equal(hc_send_str(&c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
  assert_int_equal(hc_read(&c, &resp, 10000), 0);
  assert_non_null(hc_header(&resp, "Connection", value, sizeof value));
  assert_string_equal(value, "keep-alive");
  hc_response_free(&resp);
  r = call_on(&c, "GET", "/healthz", NULL, NULL);
  expect(&r, 200);
  json_decref(r.json);
  hc_close(&c);

  /* HEAD: the headers of GET, no body. */
  assert_int_equal(hc_connect(&c, s->port), 0);
  assert_int_equal(
      hc_send_str(&c,
                  "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
      0);
  /* hc_read would wait for the announced body: read the head by hand. */
  char head[1024] = "";
  size_t got = 0;
  double deadline = hc_now_ms() + 10000;
  while (!strstr(head, "\r\n\r\n") && hc_now_ms() < deadline) {
    ssize_t k = recv(c.fd, head + got, 1, 0);
    if (k <= 0) break;
    got += (size_t)k;
    head[got] = '\0';
  }
  assert_non_null(strstr(head, "HTTP/1.1 200"));
  assert_non_null(strstr(head, "Content-Length: "));
  assert_int_equal(hc_read(&c, &resp, 10000), 0); /* the GET right after: nothing of HEAD's body in between */
  assert_int_equal(resp.status, 200);
  assert_non_null(strstr(resp.body, "\"status\":\"ok\""));
  hc_response_free(&resp);
  hc_close(&c);
  stop_clean(s);
}

/* ---- a restart ---------------------------------------------------------------------------- */

static void test_restart(void **state) {
  server *s = *state;
  start(s, NULL);
  uint64_t id = start_visit(s, "MRN-R");
  reply r = visit_cmd(s, id, "entries", "{\"consent\": true, \"weight\": 70, \"vitals\": {\"sbp\": 170, \"hr\": 80}}");
  expect(&r, 200);
  json_decref(r.json);
  r = get_visit(s, id);
  expect(&r, 200);
  json_t *before = r.json;
  r = call(s, "GET", "/api/v1/events?limit=1000", NULL, NULL);
  uint64_t last_before = (uint64_t)json_integer_value(json_object_get(r.json, "last_seq"));
  json_decref(r.json);
  stop_clean(s);

  start(s, NULL);
  r = get_visit(s, id);
  expect(&r, 200);
  /* Exactly the same state (what is due is computed, the same too). */
  if (!json_equal(before, r.json)) {
    char *x = json_dumps(before, 0), *y = json_dumps(r.json, 0);
    fail_msg("the visit changed across a restart:\n%s\n%s", x, y);
  }
  json_decref(before);
  json_decref(r.json);
  assert_true(visits_query_has(s, "?alerts=active", id));
  /* The log goes on where it was: the restart is an event, nothing lost. */
  char path[128];
  snprintf(path, sizeof path, "/api/v1/events?after=%llu", (unsigned long long)last_before);
  r = call(s, "GET", path, NULL, NULL);
  expect(&r, 200);
  json_t *first = json_array_get(json_object_get(r.json, "events"), 0);
  assert_int_equal(json_integer_value(json_object_get(first, "seq")), last_before + 1);
  assert_string_equal(str_at(first, "type"), "engine.started");
  json_decref(r.json);
  r = visit_cmd(s, id, "entries", "{\"vitals\": {\"sbp\": 120, \"hr\": 70}}");
  expect(&r, 200);
  /* The high alert resolved but latches: until someone acknowledges it, it holds the
   * phase (docs/safety.md, H12). */
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/ack",
           (long long)json_integer_value(json_object_get(json_array_get(json_object_get(r.json, "alerts"), 0), "id")));
  json_decref(r.json);
  r = call(s, "POST", path, ACTOR, "{\"reason\": \"seen\"}");
  expect(&r, 200);
  json_decref(r.json);
  r = visit_cmd(s, id, "advance", NULL);
  expect(&r, 200);
  json_decref(r.json);
  stop_clean(s);

  /* A second server on the same database is refused, and the first still serves. */
  start(s, NULL);
  pid_t first_pid = s->pid;
  int first_port = s->port;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    execl(s->vigil, s->vigil, "serve", "--db", s->db, "--protocols", s->protocols, "--listen", "127.0.0.1:0",
          "--allow-untested", (char *)NULL);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 1);
  s->pid = first_pid;
  s->port = first_port;
  r = get_visit(s, id);
  expect(&r, 200);
  assert_string_equal(str_at(r.json, "phase"), "recovery");
  json_decref(r.json);
  stop_clean(s);
}

/* ---- the event stream ------------------------------------------------------------------------ */

/* Opens GET /api/v1/events/stream{query} and reads its head. */
static void open_stream(hc_conn *c, int port, const char *query, const char *last_event_id) {
  if (hc_connect(c, port) < 0) fail_msg("cannot connect");
  char req[512];
  snprintf(req, sizeof req,
           "GET /api/v1/events/stream%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
           "Authorization: Bearer %s\r\n%s%s%s\r\n",
           query, auth_token(INTEGRATOR), last_event_id ? "Last-Event-ID: " : "", last_event_id ? last_event_id : "",
           last_event_id ? "\r\n" : "");
  assert_int_equal(hc_send_str(c, req), 0);
  hc_response r;
  assert_int_equal(hc_read(c, &r, 10000), 0);
  assert_int_equal(r.status, 200);
  char type[64];
  assert_non_null(hc_header(&r, "Content-Type", type, sizeof type));
  assert_non_null(strstr(type, "text/event-stream"));
  hc_response_free(&r);
}

/* The next event (heartbeats and the like skipped), as JSON; NULL if none
 * came in time or the stream ended. */
static json_t *next_event(hc_conn *c, int timeout_ms) {
  double deadline = hc_now_ms() + timeout_ms;
  for (;;) {
    hc_sse ev;
    int left = (int)(deadline - hc_now_ms());
    if (left <= 0 || hc_sse_read(c, &ev, left) < 0) return NULL;
    if (!ev.data) {
      hc_sse_free(&ev);
      continue;
    }
    json_t *j = json_loads(ev.data, 0, NULL);
    if (!j) fail_msg("not JSON: %s", ev.data);
    /* The frame's id is the event's sequence number. */
    if (*ev.id) assert_int_equal(strtoull(ev.id, NULL, 10), json_integer_value(json_object_get(j, "seq")));
    if (*ev.event) json_object_set_new(j, "sse_event", json_string(ev.event));
    hc_sse_free(&ev);
    return j;
  }
}

static uint64_t seq_of(json_t *ev) { return (uint64_t)json_integer_value(json_object_get(ev, "seq")); }

static uint64_t last_seq(server *s) {
  reply r = call(s, "GET", "/api/v1/events?after=0&limit=1", NULL, NULL);
  expect(&r, 200);
  uint64_t n = (uint64_t)json_integer_value(json_object_get(r.json, "last_seq"));
  json_decref(r.json);
  return n;
}

static void test_stream(void **state) {
  server *s = *state;
  start(s, NULL);
  auth_token(INTEGRATOR); /* signed in first: the sign-in is an event too */
  uint64_t id = start_visit(s, "MRN-S");
  reply r = visit_cmd(s, id, "entries", "{\"consent\": true, \"vitals\": {\"sbp\": 170, \"hr\": 80}}");
  expect(&r, 200);
  uint64_t alert_id =
      (uint64_t)json_integer_value(json_object_get(json_array_get(json_object_get(r.json, "alerts"), 0), "id"));
  json_decref(r.json);
  uint64_t last = last_seq(s);
  assert_true(last >= 3);

  /* From the start: the log first, in order, then what happens next, live. */
  hc_conn all;
  open_stream(&all, s->port, "?after=0", NULL);
  for (uint64_t seq = 1; seq <= last; seq++) {
    json_t *ev = next_event(&all, 10000);
    if (!ev) fail_msg("event %llu missing from the replay", (unsigned long long)seq);
    assert_int_equal(seq_of(ev), seq);
    json_decref(ev);
  }
  r = visit_cmd(s, id, "entries", "{\"weight\": 70}");
  expect(&r, 200);
  json_decref(r.json);
  json_t *ev = next_event(&all, 10000);
  assert_non_null(ev);
  assert_int_equal(seq_of(ev), last + 1);
  assert_string_equal(str_at(ev, "type"), "item.recorded");
  assert_string_equal(str_at(ev, "actor"), ACTOR);
  json_decref(ev);
  /* Heartbeats keep the connection alive (every second here). */
  int beats = 0;
  double until = hc_now_ms() + 5000;
  while (!beats && hc_now_ms() < until) {
    hc_sse f;
    if (hc_sse_read(&all, &f, 3000) < 0) break;
    beats += f.comment;
    hc_sse_free(&f);
  }
  assert_true(beats > 0);

  /* Only alerts. */
  hc_conn alerts;
  open_stream(&alerts, s->port, "?after=0&types=alert.*", NULL);
  ev = next_event(&alerts, 10000);
  assert_non_null(ev);
  assert_string_equal(str_at(ev, "type"), "alert.raised");
  json_decref(ev);
  char path[128];
  snprintf(path, sizeof path, "/api/v1/alerts/%llu/ack", (unsigned long long)alert_id);
  r = call(s, "POST", path, ACTOR, "{\"reason\": \"seen\"}");
  expect(&r, 200);
  json_decref(r.json);
  ev = next_event(&alerts, 10000);
  assert_non_null(ev);
  assert_string_equal(str_at(ev, "type"), "alert.acknowledged");
  json_decref(ev);
  hc_close(&alerts);

  /* One visit's, from a Last-Event-ID (which wins over ?after=). */
  uint64_t other = start_visit(s, "MRN-T");
  hc_conn one;
  open_stream(&one, s->port, "?after=0&visit=2", "1");
  ev = next_event(&one, 10000);
  assert_non_null(ev);
  assert_int_equal(json_integer_value(json_object_get(ev, "visit")), other);
  assert_string_equal(str_at(ev, "type"), "visit.started");
  json_decref(ev);
  hc_close(&one);

  /* Without a position: from now on. */
  hc_conn now;
  open_stream(&now, s->port, "", NULL);
  uint64_t before = last_seq(s);
  r = visit_cmd(s, other, "abort", "{\"reason\": \"patient left early\"}");
  expect(&r, 200);
  json_decref(r.json);
  ev = next_event(&now, 10000);
  assert_non_null(ev);
  assert_int_equal(seq_of(ev), before + 1);
  assert_string_equal(str_at(ev, "type"), "visit.aborted");
  json_decref(ev);
  hc_close(&now);

  /* The first stream saw all of it, each event once, in order. */
  for (uint64_t seq = last + 2; seq <= before + 1; seq++) {
    ev = next_event(&all, 10000);
    if (!ev) fail_msg("live event %llu missing", (unsigned long long)seq);
    assert_int_equal(seq_of(ev), seq);
    json_decref(ev);
  }
  hc_close(&all);

  /* A request pipelined behind a stream is not answered inside it. */
  hc_conn piped;
  assert_int_equal(hc_connect(&piped, s->port), 0);
  char two[512];
  snprintf(two, sizeof two,
           "GET /api/v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n"
           "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
           auth_token(NULL));
  assert_int_equal(hc_send_str(&piped, two), 0);
  hc_response head;
  assert_int_equal(hc_read(&piped, &head, 10000), 0);
  assert_int_equal(head.status, 200);
  hc_response_free(&head);

  expect_error(call(s, "GET", "/api/v1/events/stream?types=Alert!", NULL, NULL), 400, "invalid_query", "types");
  expect_error(call(s, "GET", "/api/v1/events/stream?after=x", NULL, NULL), 400, "invalid_query", "after");
  reply h = call(s, "GET", "/healthz", NULL, NULL);
  assert_int_equal(json_integer_value(json_object_get(h.json, "subscribers")), 1); /* the piped one */
  json_decref(h.json);
  stop_clean(s);
  /* The piped stream, to its end: no answer after it. */
  assert_true(hc_wait_closed(&piped, 5000));
  assert_non_null(piped.buf);
  assert_non_null(strstr(piped.buf, ": vigil event stream"));
  assert_null(strstr(piped.buf, "HTTP/1.1"));
  hc_close(&piped);
}

/* A subscriber resumes across a restart: nothing lost, nothing twice. */
static void test_stream_restart(void **state) {
  server *s = *state;
  start(s, NULL);
  auth_token(INTEGRATOR); /* signed in first: the sign-in is an event too */
  uint64_t id = start_visit(s, "MRN-U");
  reply r = visit_cmd(s, id, "entries", "{\"consent\": true}");
  expect(&r, 200);
  json_decref(r.json);
  hc_conn c;
  open_stream(&c, s->port, "?after=0", NULL);
  uint64_t last = 0;
  json_t *ev;
  while ((ev = next_event(&c, 1500))) {
    assert_int_equal(seq_of(ev), last + 1);
    last = seq_of(ev);
    json_decref(ev);
  }
  assert_true(last >= 2);
  /* Stopping ends the stream (the server does not wait for subscribers). */
  double t0 = hc_now_ms();
  stop_clean(s);
  assert_true(hc_wait_closed(&c, 5000));
  assert_true(hc_now_ms() - t0 < 5000);
  hc_close(&c);

  start(s, NULL);
  r = visit_cmd(s, id, "entries", "{\"weight\": 80}");
  expect(&r, 200);
  json_decref(r.json);
  char from[32];
  snprintf(from, sizeof from, "%llu", (unsigned long long)last);
  open_stream(&c, s->port, "", from);
  ev = next_event(&c, 10000);
  assert_non_null(ev);
  assert_int_equal(seq_of(ev), last + 1);
  assert_string_equal(str_at(ev, "type"), "engine.started");
  json_decref(ev);
  ev = next_event(&c, 10000);
  assert_non_null(ev);
  assert_int_equal(seq_of(ev), last + 2);
  assert_string_equal(str_at(ev, "type"), "item.recorded");
  json_decref(ev);
  hc_close(&c);
  stop_clean(s);
}

/* ---- in-process: the group commit ------------------------------------------------------------ */

typedef struct inproc {
  size_t stream_max_queued; /* set before setup: 0 for the default */
  char root[64], db[128], protocol[128];
  uv_loop_t loop;
  uv_timer_t guard;
  vigil_engine *e;
  users *users;
  api *api;
  http_server *http;
  int port;
} inproc;

static int64_t api_wall_ms_for_tests(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void noop_timer(uv_timer_t *t) { (void)t; }

/* One turn of the server's loop; the guard timer makes sure it returns. */
static void pump(void *ud) {
  inproc *p = ud;
  uv_timer_start(&p->guard, noop_timer, 5, 0);
  uv_run(&p->loop, UV_RUN_ONCE);
}

static int inproc_setup_with(void **state, size_t stream_max_queued) {
  inproc *p = calloc(1, sizeof *p);
  p->stream_max_queued = stream_max_queued;
  strcpy(p->root, "/tmp/vigil-inproc-XXXXXX");
  assert_non_null(mkdtemp(p->root));
  snprintf(p->db, sizeof p->db, "%s/vigil.db", p->root);
  snprintf(p->protocol, sizeof p->protocol, "%s/protocol.lua", p->root);
  FILE *f = fopen(p->protocol, "w");
  fputs(PROTOCOL, f);
  fclose(f);
  assert_int_equal(faulty_vfs_register(), SQLITE_OK);
  faulty_vfs_clear();
  assert_int_equal(uv_loop_init(&p->loop), 0);
  uv_timer_init(&p->loop, &p->guard);
  vigil_options o = {.clock = VIGIL_CLOCK_REAL, .loop = &p->loop, .db_path = p->db, .db_vfs = FAULTY_VFS_NAME};
  if (vigil_engine_new(&o, &p->e) < 0) fail_msg("%s", vigil_engine_errmsg(p->e));
  const char *ref;
  if (vigil_engine_load(p->e, p->protocol, &ref) < 0) fail_msg("%s", vigil_engine_errmsg(p->e));
  /* A signed-in nurse, made directly: no password is ever checked here. */
  char err[256], token[USER_TOKEN_LEN + 1];
  assert_int_equal(vigil__users_open(vigil__engine_store(p->e), &p->users, err, sizeof err), 0);
  assert_int_equal(vigil__users_add(p->users, ACTOR, ROLE_NURSE, NULL, "-", 0, err, sizeof err), 0);
  assert_int_equal(vigil__users_session_new(p->users, ACTOR, api_wall_ms_for_tests(), 3600000, token, err, sizeof err),
                   0);
  /* Their rows go with the user's event, as the server's own changes do. */
  assert_int_equal(vigil__site_event_writes(p->e, "user.created", "vigil",
                                            "{\"user\":\"" ACTOR "\",\"role\":\"nurse\"}",
                                            vigil__users_take_writes(p->users)),
                   0);
  vigil__users_settle(p->users, 1);
  forget_tokens(0);
  remember_token(ACTOR, token);
  api_options ao = {.engine = p->e,
                    .loop = &p->loop,
                    .refs = &ref, /* installed: approved */
                    .n_refs = 1,
                    .stream_max_queued = p->stream_max_queued,
                    .users = p->users};
  assert_int_equal(vigil__api_new(&ao, &p->api), 0);
  http_options ho = {.handler = vigil__api_handle, .handler_ud = p->api};
  if (vigil__http_server_start(&p->loop, &ho, &p->http, err, sizeof err) < 0) fail_msg("%s", err);
  p->port = vigil__http_server_port(p->http);
  auth_port = p->port;
  hc_set_pump(pump, p);
  *state = p;
  return 0;
}

static int inproc_setup(void **state) { return inproc_setup_with(state, 0); }
static int inproc_setup_small_streams(void **state) { return inproc_setup_with(state, 64 * 1024); }

static void on_closed(void *ud) { (*(int *)ud)++; }

static int inproc_teardown(void **state) {
  inproc *p = *state;
  faulty_vfs_clear();
  int closed = 0;
  vigil__http_server_close(p->http, on_closed, &closed);
  while (closed < 1)
    pump(p);
  vigil__api_close(p->api, on_closed, &closed);
  while (closed < 2)
    pump(p);
  hc_set_pump(NULL, NULL);
  vigil__users_close(p->users);
  vigil_engine_free(p->e);
  uv_close((uv_handle_t *)&p->guard, NULL);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&p->loop), 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", p->root);
  int rc = system(cmd);
  free(p);
  return rc == 0 ? 0 : -1;
}

/* n connections, each accepted and answered once already, so that what they
 * send next arrives in the same turn of the loop. */
static void open_conns(inproc *p, hc_conn *c, int n) {
  for (int i = 0; i < n; i++) {
    assert_int_equal(hc_connect(&c[i], p->port), 0);
    reply r = call_on(&c[i], "GET", "/healthz", NULL, NULL);
    expect(&r, 200);
    json_decref(r.json);
  }
}

/* Sends one request on each connection without turning the loop, then reads
 * every answer. */
static void send_all_then_read(inproc *p, hc_conn *c, char **reqs, int n, hc_response *out) {
  void (*saved)(void *) = pump;
  hc_set_pump(NULL, NULL); /* nothing runs the loop while sending */
  for (int i = 0; i < n; i++)
    assert_int_equal(hc_send_str(&c[i], reqs[i]), 0);
  usleep(20000); /* all in the server's sockets before its next turn */
  hc_set_pump(saved, p);
  for (int i = 0; i < n; i++)
    assert_int_equal(hc_read(&c[i], &out[i], 10000), 0);
}

static uint64_t inproc_start_visit(inproc *p, hc_conn *c) {
  reply r = call_on(c, "POST", "/api/v1/visits", ACTOR, "{\"protocol\": \"api_test\", \"patient\": \"G\"}");
  expect(&r, 201);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(r.json, "id"));
  json_decref(r.json);
  return id;
}

static void test_group_commit(void **state) {
  inproc *p = *state;
  hc_conn c[4];
  open_conns(p, c, 4);
  uint64_t ids[4];
  for (int i = 0; i < 4; i++)
    ids[i] = inproc_start_visit(p, &c[i]);
  api_stats before;
  vigil__api_stats_get(p->api, &before);
  char *reqs[4];
  for (int i = 0; i < 4; i++) {
    char path[64];
    snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)ids[i]);
    reqs[i] = hc_format("POST", path, auth_token(ACTOR), "{\"weight\": 80}");
  }
  hc_response out[4];
  send_all_then_read(p, c, reqs, 4, out);
  api_stats after;
  vigil__api_stats_get(p->api, &after);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(out[i].status, 200);
    assert_non_null(strstr(out[i].body, "\"value\":80"));
    hc_response_free(&out[i]);
  }
  /* Four writes from four clients, one commit. */
  assert_int_equal(after.commits - before.commits, 1);
  assert_int_equal(after.commit_failures, 0);

  /* The commit fails: every write of the turn is refused, none is recorded. */
  faulty_vfs_arm(FAULTY_WRITE, 1, SQLITE_FULL, 1);
  for (int i = 0; i < 4; i++) {
    char path[64];
    free(reqs[i]);
    snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)ids[i]);
    reqs[i] = hc_format("POST", path, auth_token(ACTOR), "{\"weight\": 99}");
  }
  send_all_then_read(p, c, reqs, 4, out);
  faulty_vfs_clear();
  for (int i = 0; i < 4; i++) {
    assert_int_equal(out[i].status, 503);
    assert_non_null(strstr(out[i].body, "\"code\":\"commit_failed\""));
    hc_response_free(&out[i]);
    free(reqs[i]);
  }
  vigil__api_stats_get(p->api, &after);
  assert_int_equal(after.commit_failures, 1);
  for (int i = 0; i < 4; i++) {
    char path[64];
    snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)ids[i]);
    reply r = call_on(&c[i], "GET", path, NULL, NULL);
    expect(&r, 200);
    assert_true(item_number(r.json, "weight") == 80);
    json_decref(r.json);
    /* And the next write goes through. */
    snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)ids[i]);
    r = call_on(&c[i], "POST", path, ACTOR, "{\"weight\": 81}");
    expect(&r, 200);
    json_decref(r.json);
  }
  /* What the log holds: only durable events, gap-free. */
  reply r = call_on(&c[0], "GET", "/api/v1/events?limit=1000", NULL, NULL);
  expect(&r, 200);
  size_t i;
  json_t *ev;
  json_array_foreach(json_object_get(r.json, "events"), i, ev) {
    assert_int_equal(json_integer_value(json_object_get(ev, "seq")), i + 1);
    json_t *weight = json_object_get(json_object_get(json_object_get(ev, "data"), "values"), "weight");
    if (weight) assert_int_not_equal(json_integer_value(weight), 99);
  }
  json_decref(r.json);
  for (int k = 0; k < 4; k++)
    hc_close(&c[k]);
}

/* How many rows of the kv table and events of the log name key (plain SQLite, beside the engine). */
static int db_count(const char *db, const char *query, const char *key) {
  sqlite3 *h;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, query, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

/* A user's creation and an API token (a session) are written with their
 * events, in one transaction (docs/security.md T6): whichever write of it
 * fails, either the answer is 201 and the row and the event are both there,
 * or it is 503 and neither is, and the server forgot the change too (the
 * user is not listed; the same name can be created after). */
static void test_user_rows_go_with_their_events(void **state) {
  inproc *p = *state;
  char err[256], token[USER_TOKEN_LEN + 1], hash[USER_HASH_MAX];
  /* Its password is asked again for each creation and token (AA2). */
  assert_int_equal(vigil__users_hash_password(PASSWORD, hash), 0);
  assert_int_equal(vigil__users_add(p->users, "admin.f", ROLE_ADMIN, NULL, hash, 0, err, sizeof err), 0);
  assert_int_equal(vigil__users_add(p->users, "int.f", ROLE_INTEGRATOR, NULL, "-", 0, err, sizeof err), 0);
  assert_int_equal(
      vigil__users_session_new(p->users, "admin.f", api_wall_ms_for_tests(), 3600000, token, err, sizeof err), 0);
  assert_int_equal(vigil__site_event_writes(p->e, "user.created", "vigil", "{\"user\":\"admin.f\",\"role\":\"admin\"}",
                                            vigil__users_take_writes(p->users)),
                   0);
  vigil__users_settle(p->users, 1);
  remember_token("admin.f", token);
  hc_conn c;
  assert_int_equal(hc_connect(&c, p->port), 0);
  const char *user_rows = "SELECT count(*) FROM kv WHERE ns = 'user' AND key = ?1";
  const char *user_events = "SELECT count(*) FROM events WHERE type = 'user.created' AND "
                            "json_extract(body, '$.data.user') = ?1";
  const char *token_rows = "SELECT count(*) FROM kv WHERE ns = 'session' AND json_extract(CAST(value AS TEXT), "
                           "'$.user') = ?1";
  const char *token_events = "SELECT count(*) FROM events WHERE type = 'user.changed' AND "
                             "json_extract(body, '$.data.user') = ?1 AND json_extract(body, '$.data.token_issued')";
  int refused = 0, created = 0, tokens_given = 0;
  for (int n = 1; n <= 200 && created < 3; n++) {
    char name[32], body[200];
    snprintf(name, sizeof name, "fault.%d", n);
    snprintf(body, sizeof body,
             "{\"name\": \"%s\", \"role\": \"nurse\", \"password\": \"%s\", \"admin_password\": \"%s\"}", name,
             PASSWORD, PASSWORD);
    faulty_vfs_arm(FAULTY_WRITE, n, SQLITE_IOERR_WRITE, 0);
    reply r = call_on(&c, "POST", "/api/v1/users", "admin.f", body);
    faulty_vfs_clear();
    if (r.status != 201 && r.status != 503) fail_msg("fault at write %d: %d %s", n, r.status, r.text);
    int kept = r.status == 201;
    refused += !kept;
    created += kept;
    json_decref(r.json);
    if (db_count(p->db, user_rows, name) != kept || db_count(p->db, user_events, name) != kept)
      fail_msg("fault at write %d: answered %d, but %d user rows and %d user.created events", n, kept ? 201 : 503,
               db_count(p->db, user_rows, name), db_count(p->db, user_events, name));
    r = call_on(&c, "GET", "/api/v1/users", "admin.f", NULL);
    expect(&r, 200);
    int listed = 0;
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(r.json, "users"), i, u) listed |= !strcmp(str_at(u, "name"), name);
    if (listed != kept) fail_msg("fault at write %d: the server's users are not the store's", n);
    json_decref(r.json);
    if (!kept) { /* forgotten: the name is free */
      faulty_vfs_clear();
      r = call_on(&c, "POST", "/api/v1/users", "admin.f", body);
      expect(&r, 201);
      json_decref(r.json);
      assert_int_equal(db_count(p->db, user_rows, name), 1);
    }
    /* An API token: a session made with its event. */
    faulty_vfs_arm(FAULTY_WRITE, n, SQLITE_IOERR_WRITE, 0);
    r = call_on(&c, "POST", "/api/v1/tokens", "admin.f", "{\"user\": \"int.f\", \"admin_password\": \"" PASSWORD "\"}");
    faulty_vfs_clear();
    if (r.status != 201 && r.status != 503) fail_msg("token, fault at write %d: %d %s", n, r.status, r.text);
    tokens_given += r.status == 201;
    json_decref(r.json);
    if (db_count(p->db, token_rows, "int.f") != tokens_given || db_count(p->db, token_events, "int.f") != tokens_given)
      fail_msg("token, fault at write %d: %d given, %d session rows, %d events", n, tokens_given,
               db_count(p->db, token_rows, "int.f"), db_count(p->db, token_events, "int.f"));
  }
  /* The faults did fall on the commits (every write of one, in turn), and then past them. */
  assert_true(refused > 0);
  assert_true(created > 0);
  hc_close(&c);
}

/* A read waits for an open batch: it never shows what is not durable. */
static void test_read_waits_for_commit(void **state) {
  inproc *p = *state;
  hc_conn c[2];
  open_conns(p, c, 2);
  uint64_t id = inproc_start_visit(p, &c[0]);
  char path[64], entries[96];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  snprintf(entries, sizeof entries, "%s/entries", path);
  faulty_vfs_arm(FAULTY_WRITE, 1, SQLITE_FULL, 1);
  char *reqs[2];
  char *w = hc_format("POST", entries, auth_token(ACTOR), "{\"weight\": 66}");
  char *g = hc_format("GET", path, auth_token(NULL), NULL);
  reqs[0] = malloc(strlen(w) + strlen(g) + 1);
  sprintf(reqs[0], "%s%s", w, g);
  reqs[1] = hc_format("GET", "/healthz", auth_token(NULL), NULL);
  hc_response out[2];
  send_all_then_read(p, c, reqs, 2, out);
  hc_response after_read;
  assert_int_equal(hc_read(&c[0], &after_read, 10000), 0);
  faulty_vfs_clear();
  assert_int_equal(out[0].status, 503);
  /* The GET pipelined after the failed write does not see its value. */
  assert_int_equal(after_read.status, 200);
  assert_null(strstr(after_read.body, "\"value\":66"));
  assert_int_equal(out[1].status, 200);
  hc_response_free(&out[0]);
  hc_response_free(&out[1]);
  hc_response_free(&after_read);
  free(w);
  free(g);
  free(reqs[0]);
  free(reqs[1]);
  hc_close(&c[0]);
  hc_close(&c[1]);
}

/* Answers held for a commit go to clients that may have left meanwhile. */
static void test_client_gone_before_commit(void **state) {
  inproc *p = *state;
  hc_conn c[1];
  open_conns(p, c, 1);
  uint64_t id = inproc_start_visit(p, &c[0]);
  char entries[96];
  snprintf(entries, sizeof entries, "/api/v1/visits/%llu/entries", (unsigned long long)id);
  char *w = hc_format("POST", entries, auth_token(ACTOR), "{\"weight\": 55}");
  hc_set_pump(NULL, NULL);
  assert_int_equal(hc_send_str(&c[0], w), 0);
  hc_close(&c[0]); /* gone before the server's next turn */
  hc_set_pump(pump, p);
  for (int i = 0; i < 20; i++)
    pump(p);
  free(w);
  /* The write was committed all the same, and the server is fine. */
  hc_conn d;
  assert_int_equal(hc_connect(&d, p->port), 0);
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu", (unsigned long long)id);
  reply r = call_on(&d, "GET", path, NULL, NULL);
  expect(&r, 200);
  assert_true(item_number(r.json, "weight") == 55);
  json_decref(r.json);
  hc_close(&d);
}

/* A subscriber that does not read is dropped, with a reason, before it costs
 * more than its limit; the others and the server go on. */
static void test_slow_subscriber_dropped(void **state) {
  inproc *p = *state;
  hc_conn slow;
  assert_int_equal(hc_connect_rcvbuf(&slow, p->port, 4096), 0);
  char req[256];
  snprintf(req, sizeof req, "GET /api/v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n",
           auth_token(NULL));
  assert_int_equal(hc_send_str(&slow, req), 0);
  hc_response head;
  assert_int_equal(hc_read(&slow, &head, 10000), 0);
  assert_int_equal(head.status, 200);
  hc_response_free(&head);
  hc_conn c;
  open_conns(p, &c, 1);
  uint64_t id = inproc_start_visit(p, &c);
  size_t big = 4000; /* the longest text an entry may have (docs/http.md) */
  char *body = malloc(big + 64);
  int n = sprintf(body, "{\"comment\": \"");
  memset(body + n, 'x', big);
  sprintf(body + n + big, "\"}");
  char path[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)id);
  api_stats st;
  int sent = 0;
  for (; sent < 3000; sent++) {
    reply r = call_on(&c, "POST", path, ACTOR, body);
    expect(&r, 200);
    json_decref(r.json);
    vigil__api_stats_get(p->api, &st);
    if (st.streams_dropped) break;
  }
  free(body);
  assert_int_equal(st.streams_dropped, 1);
  assert_int_equal(st.subscribers, 0);
  /* It was dropped long before everything was sent to it (what the kernel
   * holds for the socket, about 3 MB on loopback, comes first). */
  print_message("dropped after %d entries of 4 kB\n", sent + 1);
  assert_true(sent < 1500);
  /* When it reads at last, it learns why, and the stream ends. */
  hc_sse ev;
  int dropped = 0;
  while (hc_sse_read(&slow, &ev, 10000) == 0) {
    if (!strcmp(ev.event, "dropped")) {
      dropped = 1;
      assert_non_null(strstr(ev.data, "behind"));
    }
    hc_sse_free(&ev);
  }
  assert_true(dropped);
  assert_true(slow.eof);
  hc_close(&slow);
  reply r = call_on(&c, "GET", "/healthz", NULL, NULL);
  expect(&r, 200);
  json_decref(r.json);
  hc_close(&c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_whole_visit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rems_export, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
      cmocka_unit_test_setup_teardown(test_users_and_roles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_protocol_versions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_user_command, setup, teardown),
      cmocka_unit_test_setup_teardown(test_site_day_and_escalation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_group_commit, inproc_setup, inproc_teardown),
      cmocka_unit_test_setup_teardown(test_read_waits_for_commit, inproc_setup, inproc_teardown),
      cmocka_unit_test_setup_teardown(test_user_rows_go_with_their_events, inproc_setup, inproc_teardown),
      cmocka_unit_test_setup_teardown(test_client_gone_before_commit, inproc_setup, inproc_teardown),
      cmocka_unit_test_setup_teardown(test_slow_subscriber_dropped, inproc_setup_small_streams, inproc_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
