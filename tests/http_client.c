/* http_client.c: see http_client.h. */
#define _GNU_SOURCE /* strcasestr, memmem */
#include "http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void (*pump_fn)(void *ud);
static void *pump_ud;

void hc_set_pump(void (*pump)(void *ud), void *ud) {
  pump_fn = pump;
  pump_ud = ud;
}

double hc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

int hc_connect(hc_conn *c, int port) { return hc_connect_rcvbuf(c, port, 0); }

int hc_connect_rcvbuf(hc_conn *c, int port, int rcvbuf) {
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  if (rcvbuf > 0) setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return 0;
}

void hc_close(hc_conn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  free(c->buf);
  c->buf = NULL;
  c->len = c->cap = 0;
}

/* Waits until fd is ready for events (or the time is up): 1 ready, 0 not. */
static int wait_fd(int fd, short events, double deadline) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = events};
    double left = deadline - hc_now_ms();
    if (left < 0) left = 0;
    int n = poll(&p, 1, pump_fn ? 0 : (int)left);
    if (n > 0) return 1;
    if (n < 0 && errno != EINTR) return 0;
    if (hc_now_ms() >= deadline) return 0;
    if (pump_fn) pump_fn(pump_ud);
  }
}

int hc_send(hc_conn *c, const char *data, size_t len) {
  double deadline = hc_now_ms() + 20000;
  while (len > 0) {
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_fd(c->fd, POLLOUT, deadline)) return -1;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int hc_send_str(hc_conn *c, const char *data) { return hc_send(c, data, strlen(data)); }

int hc_exchange(int port, const char *request, hc_response *r, int timeout_ms) {
  hc_conn c;
  if (hc_connect(&c, port) < 0) return -1;
  int rc = hc_send_str(&c, request) < 0 || hc_read(&c, r, timeout_ms) < 0 ? -1 : 0;
  hc_close(&c);
  return rc;
}

/* Receives more into c->buf: 1 got some, 0 closed, -1 timeout or error. */
static int receive(hc_conn *c, double deadline) {
  if (c->eof) return 0;
  if (!wait_fd(c->fd, POLLIN, deadline)) return -1;
  if (c->cap - c->len < 65536) {
    size_t cap = c->cap ? c->cap * 2 : 131072;
    char *p = realloc(c->buf, cap);
    if (!p) return -1;
    c->buf = p;
    c->cap = cap;
  }
  ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
  if (n < 0 && errno == EINTR) return receive(c, deadline);
  if (n <= 0) {
    c->eof = 1; /* an orderly close, or a reset */
    return 0;
  }
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  return 1;
}

static void consume(hc_conn *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

const char *hc_header(const hc_response *r, const char *name, char *out, size_t len) {
  size_t nl = strlen(name);
  const char *p = r->head ? strstr(r->head, "\r\n") : NULL;
  while (p && p[2]) {
    p += 2;
    if (!strncasecmp(p, name, nl) && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (*v == ' ')
        v++;
      const char *end = strstr(v, "\r\n");
      size_t vl = end ? (size_t)(end - v) : strlen(v);
      if (vl >= len) vl = len - 1;
      memcpy(out, v, vl);
      out[vl] = '\0';
      return out;
    }
    p = strstr(p, "\r\n");
  }
  return NULL;
}

int hc_read(hc_conn *c, hc_response *r, int timeout_ms) {
  memset(r, 0, sizeof *r);
  double deadline = hc_now_ms() + timeout_ms;
  for (;;) {
    char *end = c->buf ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
    if (end) {
      size_t head_len = (size_t)(end - c->buf) + 4;
      if (sscanf(c->buf, "HTTP/1.%*d %d", &r->status) != 1) return -1;
      r->head = strndup(c->buf, head_len - 2);
      char cl[32];
      size_t body_len = hc_header(r, "Content-Length", cl, sizeof cl) ? strtoul(cl, NULL, 10) : 0;
      if (r->status == 204 || r->status == 304) body_len = 0; /* never a body, whatever Content-Length says */
      if (r->status == 100) {                                 /* an interim answer: the real one follows */
        hc_response_free(r);
        consume(c, head_len);
        continue;
      }
      while (c->len < head_len + body_len) {
        if (receive(c, deadline) <= 0) {
          hc_response_free(r);
          return -1;
        }
      }
      r->body = malloc(body_len + 1);
      memcpy(r->body, c->buf + head_len, body_len);
      r->body[body_len] = '\0';
      r->body_len = body_len;
      consume(c, head_len + body_len);
      return 0;
    }
    if (receive(c, deadline) <= 0) return -1;
  }
}

void hc_response_free(hc_response *r) {
  free(r->head);
  free(r->body);
  memset(r, 0, sizeof *r);
}

char *hc_format(const char *method, const char *path, const char *token, const char *body) {
  size_t n = strlen(path) + (token ? strlen(token) : 0) + (body ? strlen(body) : 0) + 256;
  char *out = malloc(n);
  int k = snprintf(out, n, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path);
  if (token) k += snprintf(out + k, n - (size_t)k, "Authorization: Bearer %s\r\n", token);
  if (body)
    k += snprintf(out + k, n - (size_t)k, "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
  snprintf(out + k, n - (size_t)k, "\r\n%s", body ? body : "");
  return out;
}

/* Sends a request's text (taken: freed) and reads its response. */
static int send_and_read(hc_conn *c, char *text, hc_response *r) {
  int rc = hc_send_str(c, text);
  free(text);
  if (rc < 0) {
    memset(r, 0, sizeof *r);
    return -1;
  }
  return hc_read(c, r, 20000);
}

int hc_request(hc_conn *c, const char *method, const char *path, const char *token, const char *body, hc_response *r) {
  return send_and_read(c, hc_format(method, path, token, body), r);
}

int hc_request_keyed(hc_conn *c, const char *method, const char *path, const char *token, const char *key,
                     const char *body, hc_response *r) {
  char *text = hc_format(method, path, token, body);
  const char *rest = strstr(text, "\r\n") + 2; /* after the request line */
  size_t n = strlen(text) + strlen(key) + 32;
  char *keyed = malloc(n);
  snprintf(keyed, n, "%.*sIdempotency-Key: %s\r\n%s", (int)(rest - text), text, key, rest);
  free(text);
  return send_and_read(c, keyed, r);
}

int hc_wait_closed(hc_conn *c, int timeout_ms) {
  double deadline = hc_now_ms() + timeout_ms;
  for (;;) {
    int rc = receive(c, deadline);
    if (rc == 0) return 1;
    if (rc < 0) return 0;
  }
}

int hc_sse_read(hc_conn *c, hc_sse *ev, int timeout_ms) {
  memset(ev, 0, sizeof *ev);
  double deadline = hc_now_ms() + timeout_ms;
  char *end;
  while (!(end = c->buf ? memmem(c->buf, c->len, "\n\n", 2) : NULL))
    if (receive(c, deadline) <= 0) return -1;
  size_t frame_len = (size_t)(end - c->buf) + 2;
  char *frame = strndup(c->buf, frame_len - 2);
  consume(c, frame_len);
  int fields = 0;
  for (char *line = strtok(frame, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == ':') continue;
    fields++;
    char *colon = strchr(line, ':');
    const char *value = colon ? colon + 1 + (colon[1] == ' ') : "";
    if (colon) *colon = '\0';
    if (!strcmp(line, "id"))
      snprintf(ev->id, sizeof ev->id, "%s", value);
    else if (!strcmp(line, "event"))
      snprintf(ev->event, sizeof ev->event, "%s", value);
    else if (!strcmp(line, "data")) {
      size_t old = ev->data ? strlen(ev->data) : 0, add = strlen(value);
      char *d = realloc(ev->data, old + add + 2);
      if (old) d[old++] = '\n';
      memcpy(d + old, value, add + 1);
      ev->data = d;
    }
  }
  ev->comment = fields == 0;
  free(frame);
  return 0;
}

void hc_sse_free(hc_sse *ev) {
  free(ev->data);
  memset(ev, 0, sizeof *ev);
}

int hc_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}
