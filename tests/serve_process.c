/* serve_process.c: a `vigil serve` child process for the plugins' tests. */
#define _GNU_SOURCE
#include "serve_process.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static char *read_from(const char *path, off_t from) {
  FILE *f = fopen(path, "r");
  if (!f) return calloc(1, 1);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  if (n < from) n = from;
  char *text = malloc((size_t)(n - from) + 1);
  fseek(f, from, SEEK_SET);
  size_t got = text ? fread(text, 1, (size_t)(n - from), f) : 0;
  if (text) text[got] = '\0';
  fclose(f);
  return text;
}

char *serve_log(const serve_process *s) { return read_from(s->log, s->log_from); }

int serve_setup(serve_process *s, const char *protocol_lua) {
  memset(s, 0, sizeof *s);
  strcpy(s->root, "/tmp/vigil-plugin-XXXXXX");
  if (!mkdtemp(s->root)) return -1;
  snprintf(s->conf, sizeof s->conf, "%s/vigil.conf", s->root);
  snprintf(s->log, sizeof s->log, "%s/serve.log", s->root);
  snprintf(s->protocol, sizeof s->protocol, "%s/protocol", s->root);
  char path[256];
  mkdir(s->protocol, 0700);
  snprintf(path, sizeof path, "%s/protocol.lua", s->protocol);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(protocol_lua, f);
  fclose(f);
  /* <build>/tests/test_x -> <build>/vigil and <build>/plugins */
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = '\0';
  for (int i = 0; i < 2; i++) {
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = '\0';
  }
  snprintf(s->vigil, sizeof s->vigil, "%s/vigil", self);
  snprintf(s->plugins, sizeof s->plugins, "%s/plugins", self);
  if (access(s->vigil, X_OK) != 0) {
    fprintf(stderr, "%s is not built\n", s->vigil);
    return -1;
  }
  /* The nurse the tests act as, made as an installer would. */
  char cmd[8800];
  snprintf(cmd, sizeof cmd,
           "echo '" SERVE_PASSWORD "' | '%s' user add " SERVE_USER
           " --role nurse --password-stdin --db '%s/vigil.db' >/dev/null",
           s->vigil, s->root);
  if (system(cmd) != 0) {
    fprintf(stderr, "%s failed\n", cmd);
    return -1;
  }
  return 0;
}

void serve_configure(serve_process *s, const char *extra_lua) {
  FILE *f = fopen(s->conf, "w");
  if (!f) return;
  fprintf(f, "listen = \"127.0.0.1:0\"\ndatabase = \"%s/vigil.db\"\nprotocols = \"%s\"\nplugin_dir = \"%s\"\n%s\n",
          s->root, s->protocol, s->plugins, extra_lua);
  fclose(f);
}

int serve_start(serve_process *s) {
  /* The tests' protocols are written without specs (docs/safety.md, G10). */
  static const char *const untested[] = {"--allow-untested", NULL};
  return serve_start_args(s, untested);
}

int serve_start_args(serve_process *s, const char *const *args) {
  struct stat st;
  s->log_from = stat(s->log, &st) == 0 ? st.st_size : 0;
  s->exit_status = -1;
  const char *argv[32] = {s->vigil, "serve", "--config", s->conf};
  int argc = 4;
  for (int i = 0; args && args[i] && argc < 31; i++)
    argv[argc++] = args[i];
  argv[argc] = NULL;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* A test that fails (or is killed) half way must not leave its server running. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 2);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    /* VIGIL_TEST_SERVE_WRAPPER="valgrind -q --error-exitcode=9": vigil and its plugins under a tool. */
    const char *wrapper = getenv("VIGIL_TEST_SERVE_WRAPPER");
    if (wrapper && *wrapper) {
      char cmd[9000];
      int n = snprintf(cmd, sizeof cmd, "exec %s '%s' serve --config '%s'", wrapper, s->vigil, s->conf);
      for (int i = 4; i < argc && n > 0 && (size_t)n < sizeof cmd; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s'", argv[i]);
      execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    }
    execv(s->vigil, (char *const *)argv);
    _exit(127);
  }
  s->pid = pid;
  s->port = 0;
  double deadline = now_ms() + 30000;
  while (now_ms() < deadline) {
    char *text = serve_log(s);
    const char *line = text ? strstr(text, "\"msg\":\"listening\"") : NULL;
    const char *port = line ? strstr(line, "\"port\":") : NULL;
    if (port) s->port = atoi(port + 7);
    free(text);
    if (s->port) return 0;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      s->pid = 0;
      s->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    usleep(10000);
  }
  if (s->pid > 0) { /* still starting after 30 s: do not leave it behind */
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
  }
  char *text = serve_log(s);
  fprintf(stderr, "vigil serve did not start:\n%s\n", text);
  free(text);
  return -1;
}

int serve_stop(serve_process *s, int hard) {
  if (s->pid <= 0) return -1;
  kill(s->pid, hard ? SIGKILL : SIGTERM);
  int status = -1;
  double deadline = now_ms() + 20000;
  while (now_ms() < deadline) {
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) break;
    usleep(10000);
  }
  if (now_ms() >= deadline) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    status = -1;
  }
  s->pid = 0;
  if (!hard && status != 0) {
    char *text = serve_log(s);
    fprintf(stderr, "vigil serve ended with status %d:\n%s\n", status, text);
    free(text);
  }
  return status;
}

void serve_cleanup(serve_process *s) {
  if (s->pid > 0) serve_stop(s, 1);
  if (!s->root[0]) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", s->root);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", s->root);
}

/* SERVE_USER's session token, signing in the first time (sessions are
 * stored: they outlive restarts). */
static const char *token_of(serve_process *s) {
  if (s->token[0]) return s->token;
  hc_conn c;
  hc_response r;
  if (hc_connect(&c, s->port) < 0) return NULL;
  int rc = hc_request(&c, "POST", "/api/v1/session", NULL,
                      "{\"user\": \"" SERVE_USER "\", \"password\": \"" SERVE_PASSWORD "\"}", &r);
  hc_close(&c);
  if (rc < 0) return NULL;
  const char *t = r.status == 200 ? strstr(r.body, "\"token\":\"") : NULL;
  if (t) snprintf(s->token, sizeof s->token, "%.43s", t + 9);
  hc_response_free(&r);
  return s->token[0] ? s->token : NULL;
}

int serve_request(serve_process *s, const char *method, const char *path, const char *body, char **out) {
  hc_conn c;
  if (out) *out = NULL;
  const char *token = token_of(s);
  if (hc_connect(&c, s->port) < 0) return -1;
  hc_response r;
  int status = hc_request(&c, method, path, token, body, &r) == 0 ? r.status : -1;
  if (status >= 0) {
    if (out) *out = strdup(r.body);
    hc_response_free(&r);
  }
  hc_close(&c);
  return status;
}

uint64_t serve_start_visit(serve_process *s, const char *protocol, const char *patient) {
  return serve_start_visit_at(s, protocol, patient, NULL);
}

uint64_t serve_start_visit_at(serve_process *s, const char *protocol, const char *patient, const char *location) {
  char body[384], *text;
  int n = snprintf(body, sizeof body, "{\"protocol\": \"%s\", \"patient\": \"%s\"", protocol, patient);
  if (location) n += snprintf(body + n, sizeof body - (size_t)n, ", \"location\": \"%s\"", location);
  snprintf(body + n, sizeof body - (size_t)n, "}");
  if (serve_request(s, "POST", "/api/v1/visits", body, &text) != 201) {
    fprintf(stderr, "cannot start a visit: %s\n", text ? text : "no answer");
    free(text);
    return 0;
  }
  json_t *v = json_loads(text, 0, NULL);
  free(text);
  uint64_t id = (uint64_t)json_integer_value(json_object_get(v, "id"));
  json_decref(v);
  return id;
}

int serve_record_sbp(serve_process *s, uint64_t visit, int sbp) {
  char path[64], body[64];
  snprintf(path, sizeof path, "/api/v1/visits/%llu/entries", (unsigned long long)visit);
  snprintf(body, sizeof body, "{\"vitals\": {\"sbp\": %d}}", sbp);
  return serve_request(s, "POST", path, body, NULL);
}
