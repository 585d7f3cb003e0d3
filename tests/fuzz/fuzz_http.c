/* fuzz_http.c: libFuzzer target for the HTTP server's request parsing and
 * the API's routing (docs/fuzzing.md).
 *
 * The real server (server/http.c) with the real API (server/api*.c) over an
 * engine whose events stay in memory, on one libuv loop in this process,
 * listening on a free loopback port. Each input is one client's whole
 * stream: it connects, writes the input, half-closes, and reads until the
 * server closes. Nothing of the server is bypassed, so what a fuzz input
 * reaches is what a client on the network reaches.
 *
 * Most of the API wants a signed-in user: the users nurse, dr (clinician)
 * and admin have sessions made at start, and an input's "@nurse@", "@dr@"
 * and "@admin@" are replaced by their tokens before it is sent (the seeds use
 * them in "Authorization: Bearer @nurse@"). Their stored password hashes
 * match no password, so a signature or a sign-in is refused at once, without
 * argon2's deliberate slowness.
 *
 * Besides the sanitizers, every input checks that the server's answers are a
 * well-formed sequence of HTTP/1.1 responses and that none is a 500: any
 * input, however broken, gets a 4xx or a 503 (out of memory). With
 * FUZZ_HTTP_SHOW set in the environment the answers are printed too (to see
 * what an input from the corpus gets). */
#define _GNU_SOURCE /* memmem */
#include <http_parser.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "api/api.h"
#include "engine/inspect.h"
#include "http/http.h"
#include "auth/users.h"
#include "vigil/vigil.h"

/* Sessions are checked on the wall clock (api_users.c), whatever the engine's. */
static int64_t wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

#define N_USERS 3
static const char *const USER_NAMES[N_USERS] = {"nurse", "dr", "admin"};
static const role USER_ROLES[N_USERS] = {ROLE_NURSE, ROLE_CLINICIAN, ROLE_ADMIN};

static struct {
  uv_loop_t loop;
  vigil_engine *e;
  users *users;
  api *api;
  http_server *http;
  char uploads[64];
  char marker[N_USERS][16]; /* "@nurse@" */
  char token[N_USERS][USER_TOKEN_LEN + 1];
} F;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_http: %s: %s\n", what, detail ? detail : "");
  abort();
}

static void remove_uploads(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", F.uploads);
  if (system(cmd) != 0) fprintf(stderr, "fuzz_http: could not remove %s\n", F.uploads);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  signal(SIGPIPE, SIG_IGN);
  if (uv_loop_init(&F.loop) < 0) die("uv_loop_init", NULL);
  /* The simulated clock: deadlines fire only when an admin advances it. */
  vigil_options o = {
      .clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = 1767261600000 /* 2026-01-01T10:00Z */, .loop = &F.loop};
  if (vigil_engine_new(&o, &F.e) < 0) die("engine", vigil_engine_errmsg(F.e));
  const char *ref;
  if (vigil_engine_load(F.e, VIGIL_SOURCE_DIR "/protocols/ketamine_iv", &ref) < 0)
    die("protocols/ketamine_iv", vigil_engine_errmsg(F.e));
  char err[256];
  if (vigil__users_open(vigil__engine_store(F.e), &F.users, err, sizeof err) < 0) die("users", err);
  for (int i = 0; i < N_USERS; i++) {
    if (vigil__users_add(F.users, USER_NAMES[i], USER_ROLES[i], NULL, "-", 0, err, sizeof err) < 0 ||
        vigil__users_session_new(F.users, USER_NAMES[i], wall_ms(), 24 * 3600 * 1000, F.token[i], err, sizeof err) < 0)
      die(USER_NAMES[i], err);
    snprintf(F.marker[i], sizeof F.marker[i], "@%s@", USER_NAMES[i]);
  }
  vigil__users_settle(F.users, 1); /* in memory only: no events, no rows */
  snprintf(F.uploads, sizeof F.uploads, "/tmp/vigil-fuzz-XXXXXX");
  if (!mkdtemp(F.uploads)) die("mkdtemp", F.uploads);
  atexit(remove_uploads);
  api_options ao = {.engine = F.e,
                    .loop = &F.loop,
                    .refs = &ref,
                    .n_refs = 1,
                    .users = F.users,
                    .simulated_clock = 1,
                    .store = vigil__engine_store(F.e),
                    .uploads_dir = F.uploads,
                    /* an upload is checked in a child process: a short limit keeps a slow one brief */
                    .upload_check_ms = 3000,
                    /* the fuzzer's own address: X-Forwarded-For is parsed */
                    .trusted_proxies = (const char *const[]){"127.0.0.1"},
                    .n_trusted_proxies = 1};
  if (vigil__api_new(&ao, &F.api) < 0) die("api_new", "out of memory");
  /* Short timeouts: an input that leaves a request unfinished ends with the
   * client's half-close anyway, but one the server waits on must not stall
   * the fuzzer for long. */
  /* As vigil serve: bodies checked on their headers (V4, Y9), the fuzzer's
   * address a trusted proxy (X-Forwarded-For must name addresses, Y8), and
   * the server's names for Host and a proxy's X-Forwarded-Host (421, Y5). */
  static const char *const trusted[] = {"127.0.0.1"};
  static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};
  http_options ho = {.handler = vigil__api_handle,
                     .handler_ud = F.api,
                     .idle_timeout_ms = 2000,
                     .request_timeout_ms = 2000,
                     .head_check = vigil__api_head_check,
                     .head_check_ud = F.api,
                     .unlimited = trusted,
                     .n_unlimited = 1,
                     .server_names = names,
                     .n_server_names = 3};
  if (vigil__http_server_start(&F.loop, &ho, &F.http, err, sizeof err) < 0) die("http_server_start", err);
  return 0;
}

/* ---- one client ----------------------------------------------------------- */

typedef struct client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  uv_shutdown_t shutdown;
  uv_buf_t out;
  char *in; /* what the server answered */
  size_t in_len, in_cap;
  int closed;
} client;

static void on_client_closed(uv_handle_t *h) { ((client *)h->data)->closed = 1; }

static void client_close(client *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  client *c = h->data;
  if (c->in_cap - c->in_len < 65536) {
    size_t cap = c->in_cap * 2 + 65536;
    char *p = realloc(c->in, cap);
    if (!p) die("realloc", "out of memory");
    c->in = p;
    c->in_cap = cap;
  }
  *b = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  client *c = s->data;
  if (n > 0) c->in_len += (size_t)n;
  if (n < 0) client_close(c); /* EOF, or a reset after the server refused the rest */
}

static void on_shutdown(uv_shutdown_t *req, int status) {}

static void on_write(uv_write_t *w, int status) {
  client *c = w->data;
  if (status < 0) return; /* the server closed first: what it answered is still read */
  c->shutdown.data = c;
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0) client_close(c);
}

static void on_connect(uv_connect_t *req, int status) {
  client *c = req->data;
  if (status < 0) die("connect", uv_strerror(status));
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) die("uv_read_start", NULL);
  c->write.data = c;
  if (c->out.len == 0)
    on_write(&c->write, 0);
  else if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &c->out, 1, on_write) < 0)
    client_close(c);
}

/* ---- the answers ------------------------------------------------------------ */

typedef struct answers {
  int status;
  unsigned count;
} answers;

static int on_status_complete(http_parser *p) {
  answers *a = p->data;
  a->count++;
  if (p->status_code == 500) die("the server answered 500", NULL);
  return 0;
}

/* The server's answers must parse as responses. A HEAD's answer has a
 * Content-Length and no body, which a response parser cannot know: the
 * check stops at the first answer to a HEAD. */
static void check_answers(const char *in, size_t len, const uint8_t *data, size_t size) {
  if (len == 0) return; /* nothing complete was sent, or it was dropped */
  if (len < 9 || memcmp(in, "HTTP/1.1 ", 9)) die("an answer does not start with HTTP/1.1", NULL);
  int has_head = memmem(data, size, "HEAD", 4) != NULL;
  http_parser p;
  http_parser_settings s = {.on_status = NULL, .on_headers_complete = NULL};
  answers a = {0};
  http_parser_init(&p, HTTP_RESPONSE);
  p.data = &a;
  s.on_headers_complete = on_status_complete;
  size_t n = http_parser_execute(&p, &s, in, len);
  if (!has_head && (n != len || HTTP_PARSER_ERRNO(&p) != HPE_OK)) {
    fprintf(stderr, "fuzz_http: answer %u does not parse (%s) at byte %zu of %zu:\n%.*s\n", a.count,
            http_errno_description(HTTP_PARSER_ERRNO(&p)), n, len, (int)(len < 2000 ? len : 2000), in);
    abort();
  }
}

/* ---- an input ----------------------------------------------------------------- */

/* data with each user's marker replaced by that user's token. */
static char *with_tokens(const uint8_t *data, size_t size, size_t *out_len) {
  size_t cap = size + 1, len = 0;
  char *out = malloc(cap);
  if (!out) die("malloc", "out of memory");
  for (size_t i = 0; i < size;) {
    int k = -1;
    for (int u = 0; u < N_USERS && k < 0; u++) {
      size_t m = strlen(F.marker[u]);
      if (size - i >= m && !memcmp(data + i, F.marker[u], m)) k = u;
    }
    const char *piece = k >= 0 ? F.token[k] : (const char *)data + i;
    size_t n = k >= 0 ? USER_TOKEN_LEN : 1;
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      char *p = realloc(out, cap);
      if (!p) die("realloc", "out of memory");
      out = p;
    }
    memcpy(out + len, piece, n);
    len += n;
    i += k >= 0 ? strlen(F.marker[k]) : 1;
  }
  *out_len = len;
  return out;
}

/* An input may sign a user out, or have the admin disable one or set its
 * password: each is put back and signed in again (with a new token) for the
 * next input. */
static void keep_signed_in(void) {
  char err[256];
  for (int i = 0; i < N_USERS; i++) {
    const user *u = vigil__users_find(F.users, USER_NAMES[i]);
    if (!u) die("a user is gone", USER_NAMES[i]);
    if (strcmp(u->hash, "-") && vigil__users_set_hash(F.users, USER_NAMES[i], "-", NULL, err, sizeof err) < 0)
      die(USER_NAMES[i], err);
    if (u->disabled && vigil__users_set_disabled(F.users, USER_NAMES[i], 0, err, sizeof err) < 0)
      die(USER_NAMES[i], err);
    if (!vigil__users_session_check(F.users, F.token[i], wall_ms()) &&
        vigil__users_session_new(F.users, USER_NAMES[i], wall_ms(), 24 * 3600 * 1000, F.token[i], err, sizeof err) < 0)
      die(USER_NAMES[i], err);
  }
  vigil__users_settle(F.users, 1); /* in memory only: no events, no rows */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  client c = {0};
  size_t len;
  char *out = with_tokens(data, size, &len);
  c.out = uv_buf_init(out, (unsigned)len);
  c.tcp.data = c.connect.data = &c;
  uv_tcp_init(&F.loop, &c.tcp);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", vigil__http_server_port(F.http), &addr);
  if (uv_tcp_connect(&c.connect, &c.tcp, (const struct sockaddr *)&addr, on_connect) < 0) die("uv_tcp_connect", NULL);
  /* Until the server has answered everything and closed. */
  while (!c.closed)
    uv_run(&F.loop, UV_RUN_ONCE);
  /* Its side of the connection closes in the turns that follow. */
  for (int i = 0; i < 4; i++)
    uv_run(&F.loop, UV_RUN_NOWAIT);
  if (getenv("FUZZ_HTTP_SHOW")) fprintf(stderr, "%.*s\n", (int)c.in_len, c.in ? c.in : "");
  check_answers(c.in, c.in_len, data, size);
  free(c.in);
  free(out);
  keep_signed_in();
  return 0;
}
