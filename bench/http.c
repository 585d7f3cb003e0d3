/* vigil-http-bench: the HTTP API over loopback, in one run.
 *
 * Starts `vigil serve` on a free port of 127.0.0.1 with a temporary database
 * and the workload protocol (bench/workload), starts visits, then
 *   1. with wrk: requests/s and latency for GET /api/v1/visits/{id} and for
 *      POST /api/v1/visits/{id}/entries (in-range vitals; every answer waits
 *      for its group commit), wrk scripts bench/http_get.lua, http_post.lua;
 *   2. opens S event-stream subscribers (GET /api/v1/events/stream, one
 *      socket each, all read with poll() here), records vitals that raise an
 *      alert (systolic 170 > sbp_max 160) at a steady rate, one command at a
 *      time, and measures for each alert its delay to every subscriber.
 * One JSON line per measurement on stdout. Stops the server with SIGTERM and
 * removes the temporary folder. Requests go to 127.0.0.1 only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"

#ifndef VIGIL_BENCH_PROTOCOL
#define VIGIL_BENCH_PROTOCOL "bench/workload"
#endif
#ifndef VIGIL_BENCH_SRC
#define VIGIL_BENCH_SRC "bench"
#endif
#ifndef VIGIL_BENCH_SERVE
#define VIGIL_BENCH_SERVE "build/vigil"
#endif

static struct {
  const char *vigil, *wrk, *scripts, *protocol;
  int visits, threads, connections, subscribers, alerts;
  double seconds, rate;
  int skip_wrk;
} opt = {VIGIL_BENCH_SERVE, "wrk", VIGIL_BENCH_SRC, VIGIL_BENCH_PROTOCOL, 100, 2, 50, 100, 200, 10.0, 20.0, 0};

static int port;
static pid_t server = -1;
static char token[64]; /* the bench user's session */
static char *tmp;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "vigil-http-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (server > 0) {
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
  }
  if (tmp) bench_rmtree(tmp);
  exit(1);
}

static double now_real(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- a small blocking HTTP/1.1 client ---------------------------------- */

static int dial(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect 127.0.0.1:%d: %s", port, strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write: %s", strerror(errno));
    p += w;
    n -= (size_t)w;
  }
}

static int format_request(char *out, size_t cap, const char *method, const char *path, const char *body) {
  int n;
  if (body)
    n = snprintf(out, cap,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 method, path, port, token, strlen(body), body);
  else
    n = snprintf(out, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n\r\n", method, path,
                 port, token);
  if (n < 0 || (size_t)n >= cap) die("request too long");
  return n;
}

/* If buf[0..len) holds a whole response, its length, status and body. */
static size_t response_complete(const char *buf, size_t len, int *status, const char **body, size_t *blen) {
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t hlen = (size_t)(end - buf) + 4;
  size_t cl = 0;
  for (const char *p = buf; p < end; p++) {
    if ((p == buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) cl = strtoul(p + 15, NULL, 10);
  }
  if (len < hlen + cl) return 0;
  *status = atoi(buf + 9);
  *body = buf + hlen;
  *blen = cl;
  return hlen + cl;
}

/* One request on a keep-alive connection; the body, NUL-terminated, malloc'd. */
static char *http(int fd, const char *method, const char *path, const char *body, int *status) {
  char req[4096];
  int n = format_request(req, sizeof req, method, path, body);
  send_all(fd, req, (size_t)n);
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    const char *b;
    size_t blen;
    if (response_complete(buf, len, status, &b, &blen)) {
      char *out = malloc(blen + 1);
      memcpy(out, b, blen);
      out[blen] = 0;
      free(buf);
      return out;
    }
    if (len == cap) buf = realloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("read %s %s: %s", method, path, r ? strerror(errno) : "closed");
    len += (size_t)r;
  }
}

static double metric(int fd, const char *name) {
  int st;
  char *m = http(fd, "GET", "/metrics", NULL, &st);
  double v = -1;
  size_t nl = strlen(name);
  for (char *p = m; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
      v = strtod(p + nl + 1, NULL);
      break;
    }
  }
  free(m);
  return v;
}

/* ---- the server ---------------------------------------------------------- */

static void start_server(void) {
  char proto[4096], db[4200], log[4200], link[4200];
  snprintf(proto, sizeof proto, "%s/protocols", tmp);
  snprintf(db, sizeof db, "%s/vigil.db", tmp);
  snprintf(log, sizeof log, "%s/serve.log", tmp);
  snprintf(link, sizeof link, "%s/workload", proto);
  if (mkdir(proto, 0700) < 0) die("mkdir %s: %s", proto, strerror(errno));
  char *abs = realpath(opt.protocol, NULL);
  if (!abs || symlink(abs, link) < 0) die("protocol %s: %s", opt.protocol, strerror(errno));
  free(abs);
  /* The nurse the benchmark signs in as. */
  char cmd[16384];
  snprintf(cmd, sizeof cmd,
           "echo 'bench password 1' | '%s' user add bench.http --role nurse --password-stdin --db '%s' >/dev/null",
           opt.vigil, db);
  if (system(cmd) != 0) die("cannot create the bench user: %s", cmd);
  server = fork();
  if (server < 0) die("fork: %s", strerror(errno));
  if (server == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) _exit(127);
    dup2(fd, 2);
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 0);
    dup2(nul, 1);
    execl(opt.vigil, opt.vigil, "serve", "--db", db, "--listen", "127.0.0.1:0", "--protocols", proto,
          "--allow-untested", (char *)NULL);
    _exit(127);
  }
  /* The `listening` log line says which port. */
  for (int i = 0; i < 200; i++) {
    FILE *f = fopen(log, "r");
    char line[8192];
    while (f && fgets(line, sizeof line, f)) {
      char *p = strstr(line, "\"msg\":\"listening\"");
      char *q = p ? strstr(line, "\"port\":") : NULL;
      if (q) port = atoi(q + 7);
    }
    if (f) fclose(f);
    if (port > 0) return;
    int st;
    if (waitpid(server, &st, WNOHANG) == server) {
      server = -1;
      die("vigil serve exited (status %d); its log: %s", st, log);
    }
    usleep(50000);
  }
  die("vigil serve did not say it was listening within 10 s");
}

static int stop_server(void) {
  kill(server, SIGTERM);
  int st = 0;
  for (int i = 0; i < 200; i++) {
    if (waitpid(server, &st, WNOHANG) == server) {
      server = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    usleep(50000);
  }
  kill(server, SIGKILL);
  waitpid(server, &st, 0);
  server = -1;
  return -1;
}

/* ---- wrk ------------------------------------------------------------------ */

static int have_wrk(void) {
  if (strchr(opt.wrk, '/')) return access(opt.wrk, X_OK) == 0;
  const char *path = getenv("PATH");
  if (!path) return 0;
  char *dup = strdup(path), *save = NULL;
  int ok = 0;
  for (char *d = strtok_r(dup, ":", &save); d && !ok; d = strtok_r(NULL, ":", &save)) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", d, opt.wrk);
    ok = access(p, X_OK) == 0;
  }
  free(dup);
  return ok;
}

static void run_wrk(const char *script, int first, int ctl) {
  char s[4096], t[32], c[32], d[32], url[64], n[32], f[32];
  snprintf(s, sizeof s, "%s/%s", opt.scripts, script);
  snprintf(t, sizeof t, "-t%d", opt.threads);
  snprintf(c, sizeof c, "-c%d", opt.connections);
  snprintf(d, sizeof d, "-d%gs", opt.seconds);
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  snprintf(n, sizeof n, "%d", opt.visits);
  snprintf(f, sizeof f, "%d", first);
  double commits0 = metric(ctl, "vigil_commit_duration_seconds_count");
  double csum0 = metric(ctl, "vigil_commit_duration_seconds_sum");
  double cpu0 = 0;
  int pfd[2];
  if (pipe(pfd) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    close(pfd[1]);
    execlp(opt.wrk, opt.wrk, t, c, d, "--latency", "--timeout", "5s", "-s", s, url, "--", n, f, token, (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  (void)cpu0;
  char out[65536];
  size_t len = 0;
  ssize_t r;
  while ((r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0 || (r < 0 && errno == EINTR))
    len += r > 0 ? (size_t)r : 0;
  close(pfd[0]);
  out[len] = 0;
  int st;
  waitpid(pid, &st, 0);
  double commits = metric(ctl, "vigil_commit_duration_seconds_count") - commits0;
  double csum = metric(ctl, "vigil_commit_duration_seconds_sum") - csum0;
  char *line = strstr(out, "{\"bench\":\"http\"");
  if (!line || !WIFEXITED(st) || WEXITSTATUS(st) != 0) die("wrk %s failed; its output:\n%s", script, out);
  char *end = strchr(line, '\n');
  if (end) *end = 0;
  size_t l = strlen(line);
  if (l && line[l - 1] == '}') line[l - 1] = 0;
  /* requests in the line are "requests":N: commits per request for writes */
  double reqs = 0;
  char *q = strstr(line, "\"requests\":");
  if (q) reqs = strtod(q + 11, NULL);
  printf("%s,\"threads\":%d,\"connections\":%d,\"visits\":%d,\"commits\":%.0f", line, opt.threads, opt.connections,
         opt.visits, commits);
  if (commits > 0)
    printf(",\"requests_per_commit\":%.1f,\"commit_ms_mean\":%.3f", reqs / commits, csum / commits * 1e3);
  printf("}\n");
  fflush(stdout);
}

/* ---- subscribers and alerts --------------------------------------------- */

typedef struct sub {
  int fd;
  char *buf;
  size_t len, cap;
  int headers_done;
  int got; /* alert.raised events so far */
  int dropped;
} sub;

static double *arrive_mono; /* [alert * S + sub] */
static double *event_delay; /* arrival (realtime) - event time, seconds */
static int *arrive_visit;
static long *alert_seq;
static int mismatched;

static double iso_to_epoch(const char *s) {
  struct tm tm = {0};
  int ms = 0;
  if (sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
             &ms) < 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (double)timegm(&tm) + ms / 1e3;
}

/* Frames are separated by a blank line; only `data:` lines of alert.raised. */
static void sub_frames(sub *s, int j, double mono, double real) {
  if (!s->headers_done) {
    char *e = memmem(s->buf, s->len, "\r\n\r\n", 4);
    if (!e) return;
    if (strncmp(s->buf, "HTTP/1.1 200", 12) != 0) die("subscriber %d: %.*s", j, 40, s->buf);
    size_t h = (size_t)(e - s->buf) + 4;
    memmove(s->buf, s->buf + h, s->len - h);
    s->len -= h;
    s->headers_done = 1;
  }
  size_t off = 0;
  for (;;) {
    char *e = memmem(s->buf + off, s->len - off, "\n\n", 2);
    if (!e) break;
    *e = 0;
    char *f = s->buf + off;
    off = (size_t)(e - s->buf) + 2;
    if (strstr(f, "event: dropped")) s->dropped = 1;
    char *d = strstr(f, "data: ");
    if (!d || !strstr(d, "\"type\":\"alert.raised\"")) continue;
    int k = s->got++;
    if (k >= opt.alerts) continue;
    char *tm = strstr(d, "\"time\":\"");
    char *vi = strstr(d, "\"visit\":");
    char *sq = strstr(d, "\"seq\":");
    arrive_mono[(size_t)k * opt.subscribers + j] = mono;
    event_delay[(size_t)k * opt.subscribers + j] = tm ? real - iso_to_epoch(tm + 8) : 0;
    int v = vi ? atoi(vi + 8) : -1;
    if (j == 0) {
      arrive_visit[k] = v;
      alert_seq[k] = sq ? atol(sq + 6) : -1;
    } else if (v != arrive_visit[k] && arrive_visit[k] != 0) {
      mismatched++;
    }
  }
  memmove(s->buf, s->buf + off, s->len - off);
  s->len -= off;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void print_delays(const char *from, bench_samples *x, int missing) {
  printf("{\"bench\":\"http\",\"what\":\"alert_to_subscribers\",\"from\":\"%s\",\"subscribers\":%d,\"alerts\":%d,"
         "\"rate_per_s\":%g,\"samples\":%zu,\"missing\":%d,\"delay_ms_p50\":%.3f,\"delay_ms_p99\":%.3f,"
         "\"delay_ms_max\":%.3f,\"delay_ms_min\":%.3f}\n",
         from, opt.subscribers, opt.alerts, opt.rate, x->n, missing, bench_samples_pct(x, 50) * 1e3,
         bench_samples_pct(x, 99) * 1e3, bench_samples_pct(x, 100) * 1e3, bench_samples_pct(x, 0) * 1e3);
}

static void run_alerts(int first_visit, int ctl) {
  int S = opt.subscribers, K = opt.alerts;
  sub *subs = calloc((size_t)S, sizeof *subs);
  arrive_mono = calloc((size_t)K * S, sizeof *arrive_mono);
  event_delay = calloc((size_t)K * S, sizeof *event_delay);
  arrive_visit = calloc((size_t)K, sizeof *arrive_visit);
  alert_seq = calloc((size_t)K, sizeof *alert_seq);
  double *t_send = calloc((size_t)K, sizeof *t_send), *t_resp = calloc((size_t)K, sizeof *t_resp);
  int *visit_of = calloc((size_t)K, sizeof *visit_of);
  char req[4096];
  int rlen = format_request(req, sizeof req, "GET", "/api/v1/events/stream?types=alert.raised", NULL);
  for (int j = 0; j < S; j++) {
    subs[j].fd = dial();
    subs[j].buf = malloc(subs[j].cap = 65536);
    send_all(subs[j].fd, req, (size_t)rlen);
    set_nonblock(subs[j].fd);
  }
  int w = dial();
  set_nonblock(w);
  struct pollfd *pf = calloc((size_t)S + 1, sizeof *pf);
  for (int j = 0; j < S; j++)
    pf[j] = (struct pollfd){.fd = subs[j].fd, .events = POLLIN};
  pf[S] = (struct pollfd){.fd = w, .events = POLLIN};
  /* Wait for every stream to be open (headers read), as the server counts it. */
  double t_open = bench_seconds();
  for (;;) {
    int all = 1;
    for (int j = 0; j < S; j++)
      all &= subs[j].headers_done;
    if (all && metric(ctl, "vigil_stream_subscribers") >= S) break;
    if (bench_seconds() - t_open > 10) die("subscribers not all open after 10 s");
    poll(pf, (nfds_t)S, 100);
    for (int j = 0; j < S; j++) {
      if (!(pf[j].revents & POLLIN)) continue;
      ssize_t r = read(subs[j].fd, subs[j].buf + subs[j].len, subs[j].cap - subs[j].len);
      if (r > 0) subs[j].len += (size_t)r, sub_frames(&subs[j], j, bench_seconds(), now_real());
    }
  }
  double opened_ms = (bench_seconds() - t_open) * 1e3;
  int sent = 0, answered = 0, outstanding = 0, bad = 0;
  char wbuf[1 << 20];
  size_t wlen = 0;
  double t0 = bench_seconds(), last_resp = 0;
  for (;;) {
    double now = bench_seconds();
    int arrived_all = 1;
    for (int j = 0; j < S; j++)
      arrived_all &= subs[j].got >= K || subs[j].dropped;
    if (answered == K && (arrived_all || now - last_resp > 5)) break;
    if (now - t0 > K / opt.rate + 30) break;
    if (!outstanding && sent < K && now >= t0 + sent / opt.rate) {
      char path[64];
      visit_of[sent] = first_visit + sent % opt.visits;
      snprintf(path, sizeof path, "/api/v1/visits/%d/entries", visit_of[sent]);
      int n = format_request(req, sizeof req, "POST", path, "{\"vitals\":{\"sbp\":170,\"spo2\":98,\"hr\":72}}");
      t_send[sent] = bench_seconds();
      send_all(w, req, (size_t)n); /* small: the socket buffer takes it whole */
      sent++;
      outstanding = 1;
    }
    int timeout_ms = 50;
    if (!outstanding && sent < K) {
      double wait = t0 + sent / opt.rate - bench_seconds();
      timeout_ms = wait <= 0 ? 0 : (int)(wait * 1e3) + 1;
      if (timeout_ms > 50) timeout_ms = 50;
    }
    int n = poll(pf, (nfds_t)S + 1, timeout_ms);
    if (n <= 0) continue;
    /* The writer first: its answer's time is not delayed by reading 100 streams. */
    if (pf[S].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r;
      while ((r = read(w, wbuf + wlen, sizeof wbuf - wlen)) > 0)
        wlen += (size_t)r;
      double mono = bench_seconds();
      if (r == 0) die("the server closed the writer's connection");
      int st;
      const char *b;
      size_t blen, used;
      while (outstanding && (used = response_complete(wbuf, wlen, &st, &b, &blen))) {
        t_resp[answered] = mono;
        if (st != 200) bad++;
        answered++;
        last_resp = mono;
        outstanding = 0;
        memmove(wbuf, wbuf + used, wlen - used);
        wlen -= used;
      }
    }
    for (int j = 0; j < S; j++) {
      if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      sub *s = &subs[j];
      for (;;) {
        if (s->len == s->cap) s->buf = realloc(s->buf, s->cap *= 2);
        ssize_t r = read(s->fd, s->buf + s->len, s->cap - s->len);
        if (r > 0) {
          s->len += (size_t)r;
          sub_frames(s, j, bench_seconds(), now_real());
          continue;
        }
        if (r == 0) {
          s->dropped = 1;
          pf[j].fd = -1;
        }
        break;
      }
    }
  }
  double elapsed = bench_seconds() - t0;
  /* Delays: from the answer (committed) and from the request sent, per
   * subscriber, and from the event's own time (server clock). */
  bench_samples from_resp = {0}, from_send = {0}, from_event = {0}, resp_lat = {0};
  int missing = 0, dropped = 0, early = 0;
  for (int j = 0; j < S; j++)
    dropped += subs[j].dropped;
  for (int k = 0; k < answered; k++) {
    bench_samples_add(&resp_lat, t_resp[k] - t_send[k]);
    if (arrive_visit[k] && arrive_visit[k] != visit_of[k]) mismatched++;
    for (int j = 0; j < S; j++) {
      double a = arrive_mono[(size_t)k * S + j];
      if (a == 0) {
        missing++;
        continue;
      }
      bench_samples_add(&from_resp, a - t_resp[k]);
      early += a < t_resp[k];
      bench_samples_add(&from_send, a - t_send[k]);
      bench_samples_add(&from_event, event_delay[(size_t)k * S + j]);
    }
  }
  printf("{\"bench\":\"http\",\"what\":\"alert_commands\",\"alerts\":%d,\"answered\":%d,\"non_200\":%d,"
         "\"seconds\":%.2f,\"rate_per_s\":%g,\"subscribers\":%d,\"subscribers_open_ms\":%.1f,"
         "\"latency_ms_p50\":%.3f,\"latency_ms_p99\":%.3f,\"latency_ms_max\":%.3f,\"dropped\":%d,"
         "\"visit_mismatches\":%d,\"first_seq\":%ld,\"last_seq\":%ld}\n",
         K, answered, bad, elapsed, opt.rate, S, opened_ms, bench_samples_pct(&resp_lat, 50) * 1e3,
         bench_samples_pct(&resp_lat, 99) * 1e3, bench_samples_pct(&resp_lat, 100) * 1e3, dropped, mismatched,
         alert_seq[0], answered ? alert_seq[answered - 1] : -1);
  print_delays("event_time", &from_event, missing);
  print_delays("answer", &from_resp, missing);
  print_delays("request", &from_send, missing);
  printf("{\"bench\":\"http\",\"what\":\"alert_before_answer\",\"samples\":%zu,\"arrived_before_answer\":%d}\n",
         from_resp.n, early);
  fflush(stdout);
  bench_samples_free(&from_resp);
  bench_samples_free(&from_send);
  bench_samples_free(&from_event);
  bench_samples_free(&resp_lat);
  for (int j = 0; j < S; j++)
    close(subs[j].fd), free(subs[j].buf);
  close(w);
  free(subs), free(pf), free(t_send), free(t_resp), free(visit_of);
  free(arrive_mono), free(event_delay), free(arrive_visit), free(alert_seq);
}

/* ---- main ----------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr, "usage: vigil-http-bench [--vigil PATH] [--wrk PATH] [--scripts DIR] [--protocol DIR]\n"
                  "         [--seconds S] [--threads T] [--connections C] [--visits N]\n"
                  "         [--subscribers S] [--alerts K] [--rate R] [--no-wrk]\n");
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && ++i)
    if (ARG("--vigil"))
      opt.vigil = v;
    else if (ARG("--wrk"))
      opt.wrk = v;
    else if (ARG("--scripts"))
      opt.scripts = v;
    else if (ARG("--protocol"))
      opt.protocol = v;
    else if (ARG("--seconds"))
      opt.seconds = atof(v);
    else if (ARG("--threads"))
      opt.threads = atoi(v);
    else if (ARG("--connections"))
      opt.connections = atoi(v);
    else if (ARG("--visits"))
      opt.visits = atoi(v);
    else if (ARG("--subscribers"))
      opt.subscribers = atoi(v);
    else if (ARG("--alerts"))
      opt.alerts = atoi(v);
    else if (ARG("--rate"))
      opt.rate = atof(v);
    else if (strcmp(a, "--no-wrk") == 0)
      opt.skip_wrk = 1;
    else
      usage();
#undef ARG
  }
  if (opt.visits < 1 || opt.subscribers < 1 || opt.alerts < 1 || opt.rate <= 0 || opt.seconds <= 0 || opt.seconds > 600)
    usage();
  signal(SIGPIPE, SIG_IGN);
  tmp = bench_tempdir(NULL);
  if (!tmp) die("temporary folder: %s", strerror(errno));
  start_server();
  int ctl = dial();
  int st;
  char *session =
      http(ctl, "POST", "/api/v1/session", "{\"user\":\"bench.http\",\"password\":\"bench password 1\"}", &st);
  const char *tok = strstr(session, "\"token\":\"");
  if (st != 200 || !tok) die("sign-in: %d %s", st, session);
  snprintf(token, sizeof token, "%.43s", tok + 9);
  free(session);
  /* Visits 1..N for wrk, N+1..2N for the alerts (so that wrk's visits carry
   * no alerts and the alerts' visits no wrk history). */
  double t = bench_seconds();
  for (int i = 0; i < 2 * opt.visits; i++) {
    char body[128];
    snprintf(body, sizeof body, "{\"protocol\":\"bench_infusion\",\"patient\":\"BENCH-%04d\"}", i + 1);
    char *r = http(ctl, "POST", "/api/v1/visits", body, &st);
    if (st != 201) die("start visit: %d %s", st, r);
    char *id = strstr(r, "\"id\":");
    if (!id || atoi(id + 5) != i + 1) die("start visit: unexpected id in %.80s", r);
    free(r);
  }
  printf("{\"bench\":\"http\",\"what\":\"setup\",\"port\":%d,\"visits_started\":%d,\"seconds\":%.3f,\"wrk\":%s}\n",
         port, 2 * opt.visits, bench_seconds() - t, have_wrk() && !opt.skip_wrk ? "true" : "false");
  fflush(stdout);
  if (!opt.skip_wrk && have_wrk()) {
    run_wrk("http_get.lua", 1, ctl);
    run_wrk("http_post.lua", 1, ctl);
    run_wrk("http_get.lua", 1, ctl); /* again, on visits with a history now */
  } else if (!opt.skip_wrk) {
    fprintf(stderr, "vigil-http-bench: %s not found: skipping the wrk measurements (apt-get install wrk)\n", opt.wrk);
  }
  run_alerts(opt.visits + 1, ctl);
  char log[4096];
  snprintf(log, sizeof log, "%s/serve.log", tmp);
  char db[4096];
  snprintf(db, sizeof db, "%s/vigil.db", tmp);
  double events = metric(ctl, "vigil_events_total");
  close(ctl);
  int rc = stop_server();
  printf("{\"bench\":\"http\",\"what\":\"server\",\"events_total\":%.0f,\"db_bytes\":%lld,\"log_bytes\":%lld,"
         "\"exit_status\":%d}\n",
         events, (long long)bench_file_bytes(db), (long long)bench_file_bytes(log), rc);
  bench_rmtree(tmp);
  free(tmp);
  return rc == 0 ? 0 : 1;
}
