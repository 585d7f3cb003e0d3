/* http.c: HTTP/1.1 connections on libuv, parsed by http-parser.
 *
 * The life of a connection: bytes are fed to its parser; each complete
 * request joins the connection's queue and goes to the handler; answers are
 * written in queue order, whatever order the handler gives them in. The
 * parser pauses when too many requests wait (pipelining cannot grow memory
 * without bound) and resumes as answers are written. A connection that must
 * close (Connection: close, a malformed request, a limit, a timeout) answers
 * what it has, shuts down its side, and reads and drops whatever the client
 * still sends for a moment before closing: a close with unread data would
 * reset the connection and could destroy the answer before the client reads
 * it (the "lingering close" of Apache and nginx).
 *
 * Memory: a connection is freed when both its handles (socket and timer) are
 * closed. A request that went to the handler and is not yet answered
 * outlives its connection if need be: it is then an orphan, freed when
 * answered. */
#define _GNU_SOURCE /* strcasecmp, gmtime_r */
#include "http/http.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h> /* TIOCOUTQ */
#include <sys/resource.h>
#include <time.h>

#include "base/buf.h"
#include "base/utf8.h"

#define LINGER_MS 2000
#define CLOSE_GRACE_MS 5000
#define MAX_HEADERS 100
#define READ_BUF 65536
#define FD_RESERVE 32           /* descriptors kept for the store, uploads and plugins */
#define BODY_RATE_GRACE_MS 2000 /* a body's first seconds, before its rate is asked (a slow start, 100-continue) */
#define BODY_RATE_CHECK_MS 1000
#define UNSENT_CHECK_MS 1000       /* how often answers waiting for the client are looked at (Z10) */
#define UNSENT_PAUSED_CHECK_MS 100 /* ... while reading waits for them to go down */
/* An answer goes to libuv in writes of at most this many bytes, each told
 * done on its own, so that an answer cut short says how much of it was
 * written (to this much: docs/security.md AT6). */
#define ANSWER_SLICE 65536

typedef struct hbuf {
  char *p;
  size_t len, cap;
} hbuf;

typedef struct header {
  hbuf name, value;
} header;

typedef struct conn conn;

/* A response ready to go: its bytes (status line, headers, body), written
 * in slices of ANSWER_SLICE, one uv_write_t each. Its request is kept until
 * every slice is done, then logged (written whole, or cut short: AT6) and
 * freed. */
typedef struct outgoing {
  conn *c;
  http_request *r;
  size_t len, head_len;    /* all its bytes, and those before the body */
  size_t written;          /* of them, in the slices done */
  unsigned slices, issued; /* slices, and those given to libuv */
  unsigned done;           /* of those, told done (or cancelled) */
  int failed;              /* a slice failed, or could not be given */
  uv_write_t *reqs;        /* one a slice */
  char data[];
} outgoing;

/* A streamed answer's bytes, with the uv_write_t that sends them. */
typedef struct wreq {
  uv_write_t w;
  conn *c;
  size_t len;
  char data[];
} wreq;

struct http_request {
  conn *conn; /* NULL: its connection closed before the answer */
  http_server *srv;
  http_request *next;
  uint64_t id;
  uint64_t started_ns;
  char method[16];
  int head; /* HEAD: the answer goes without its body */
  hbuf url, body;
  char *path, *query;
  header *headers;
  unsigned n_headers, cap_headers;
  int keep_alive;
  int close;      /* the connection closes after this answer */
  int dispatched; /* handed to the handler (or answered by the server itself) */
  int answered;
  int logged;    /* its log line is written (http_options.log) */
  int status;    /* the answer's */
  size_t length; /* the answer's body (its Content-Length) */
  outgoing *out; /* the answer, waiting for its turn */
  int streaming; /* a streamed answer is under way: it holds the connection */
  http_stream_closed_fn stream_closed;
  void *stream_ud;
  char remote[64];
  size_t body_held;              /* counted in the server's body_bytes */
  struct body_holder *holder[2]; /* whom body_held counts against too: the client's address, the user */
  size_t body_limit;             /* this request's own (vigil__http_request_limit_body); 0: the server's */
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown;
  http_server *srv;
  http_parser parser;
  http_request *cur;         /* being received */
  uint64_t cur_started;      /* loop time of its first byte */
  size_t head_bytes;         /* of cur's request line and headers, as counted by us */
  int last_was_value;        /* header callbacks: a new field starts a new header */
  int value_ended;           /* the last header value ended at a line's end (then another is obs-fold) */
  int value_at_end;          /* ... or at the end of what was fed: the next byte says */
  const char *fed_end;       /* the end of what feed() hands the parser now */
  int crlf_left;             /* bytes of the CRLF after a chunk's data still to come in the next bytes fed */
  char version[12];          /* the request line after the target (" HTTP/1.1"), which the parser reads loosely */
  unsigned version_n;        /* bytes of it kept */
  int version_open;          /* the request line goes on past what was fed */
  int in_body;               /* cur's headers are complete */
  uint64_t body_started;     /* loop time they were, when cur has a body to come (0: none) */
  http_request *head, *tail; /* complete, waiting for their answers to be written */
  unsigned queued, writing;
  char *stash; /* bytes received but not parsed while the parser is paused */
  size_t stash_len;
  int paused;       /* too many requests wait: the parser and reading are stopped */
  int stop_parsing; /* no more requests on this connection: close once answered */
  int err_status;   /* set by a parser callback that refused the request */
  const char *err_code, *err_msg, *err_field;
  int in_dispatch, reading, shutting, eof, closing, handles;
  uint64_t idle_since;   /* loop time it last had nothing to do (arm_timer) */
  size_t unsent_seen;    /* answer bytes waiting for the client when last looked at (unsent) */
  uint64_t unsent_moved; /* loop time they last went down (or began to wait) */
  int unsent_watch;      /* the timer is set to look at them (arm_timer) */
  char remote[64];
  char ip[48]; /* the client's address, without the port */
  conn *prev, *next;
};

struct http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_timer_t close_timer;
  http_options o;
  http_parser_settings settings;
  conn *conns;
  unsigned n_conns;
  unsigned n_closing; /* of n_conns, closed and waiting for their handles */
  int crowded;        /* open connections reached crowded_connections: idle ones get the short timeout */
  uint64_t next_id;
  int port;
  int closing, listener_open, close_timer_open;
  void (*done)(void *ud);
  void *done_ud;
  char rbuf[READ_BUF];
  int rbuf_busy;
  http_stats stats;
  uint64_t last_notice;        /* loop time of the last descriptor notice */
  uint64_t fd_limit;           /* RLIMIT_NOFILE at the start */
  struct body_holder *holders; /* the addresses and users holding bodies now */
};

/* One client address ("a" kind) or user ("u") holding request bodies, and
 * how many bytes: the shares of max_buffered_body_bytes (Z3). Kept while a
 * request refers to it; there are at most two per connection receiving a
 * body, so a list will do. */
typedef struct body_holder {
  struct body_holder *next;
  uint64_t bytes;
  unsigned refs;
  char kind;
  char key[];
} body_holder;

/* ---- small buffers -------------------------------------------------------- */

static int hbuf_put(hbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    char *p = vigil__grow(b->p, b->cap, b->len + n + 1, 1, 64, &b->cap);
    if (!p) return -1;
    b->p = p;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static const char *hbuf_str(const hbuf *b) { return b->p ? b->p : ""; }

/* ---- status texts and errors ---------------------------------------------- */

const char *vigil__http_status_text(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 304:
    return "Not Modified";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 307:
    return "Temporary Redirect";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 415:
    return "Unsupported Media Type";
  case 421:
    return "Misdirected Request";
  case 422:
    return "Unprocessable Content";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

int vigil__http_utf8_valid(const char *s) { return vigil__utf8_valid(s); }

/* A JSON string of s, whose invalid bytes (from the network) become '?'. */
static json_t *clean_string(const char *s) {
  if (vigil__http_utf8_valid(s)) return json_string(s);
  char *copy = strdup(s);
  if (!copy) return NULL;
  unsigned char *end = (unsigned char *)copy + strlen(copy);
  for (unsigned char *p = (unsigned char *)copy; *p;) {
    size_t n = vigil__utf8_seq(p, (size_t)(end - p));
    if (!n)
      *p++ = '?';
    else
      p += n;
  }
  json_t *j = json_string(copy);
  free(copy);
  return j;
}

char *vigil__http_error_json(const char *code, const char *message, const char *field, void *extra) {
  json_t *err = json_pack("{s:s, s:o, s:o}", "code", code, "message", clean_string(message ? message : ""), "field",
                          field ? clean_string(field) : json_null());
  if (!err) return NULL;
  if (extra) json_object_update(err, (json_t *)extra);
  json_t *top = json_pack("{s:o}", "error", err);
  char *text = top ? json_dumps(top, JSON_COMPACT) : NULL;
  json_decref(top);
  return text;
}

void vigil__http_respond_error(http_request *req, int status, const char *code, const char *message,
                               const char *field) {
  char *body = vigil__http_error_json(code, message, field, NULL);
  static const char fallback[] =
      "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\",\"field\":null}}";
  if (body)
    vigil__http_respond(req, status, "application/json", body, strlen(body), NULL);
  else
    vigil__http_respond(req, 503, "application/json", fallback, sizeof fallback - 1, NULL);
  free(body);
}

/* ---- requests ------------------------------------------------------------- */

const char *vigil__http_request_method(const http_request *r) { return r->method; }
const char *vigil__http_request_path(const http_request *r) { return r->path ? r->path : ""; }
const char *vigil__http_request_query(const http_request *r) { return r->query ? r->query : ""; }
uint64_t vigil__http_request_id(const http_request *r) { return r->id; }
const char *vigil__http_request_remote(const http_request *r) { return r->remote; }

void vigil__http_request_limit_body(http_request *r, size_t max_bytes) {
  if (max_bytes && max_bytes < r->srv->o.max_body_bytes) r->body_limit = max_bytes;
}

const char *vigil__http_request_body(const http_request *r, size_t *len) {
  if (len) *len = r->body.len;
  return hbuf_str(&r->body);
}

const char *vigil__http_request_header(const http_request *r, const char *name) {
  for (unsigned i = 0; i < r->n_headers; i++)
    if (!strcasecmp(hbuf_str(&r->headers[i].name), name)) return hbuf_str(&r->headers[i].value);
  return NULL;
}

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Decodes s[0..n) (application/x-www-form-urlencoded) into out. */
static int decode(const char *s, size_t n, char *out, size_t outlen) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int ch = (unsigned char)s[i];
    if (ch == '+')
      ch = ' ';
    else if (ch == '%') {
      if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) return -2;
      ch = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
      if (ch == 0) return -2;
      i += 2;
    }
    if (k + 1 >= outlen) return -2;
    out[k++] = (char)ch;
  }
  out[k] = '\0';
  /* Decoded bytes that are not UTF-8 are refused as badly encoded. */
  return vigil__utf8_valid_n(out, k) ? (int)k : -2;
}

int vigil__http_query_param_at(const char *query, const char *name, unsigned k, char *out, size_t outlen) {
  size_t nlen = strlen(name);
  const char *p = query ? query : "";
  while (*p) {
    const char *end = strchr(p, '&');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    size_t klen = eq ? (size_t)(eq - p) : len;
    char key[64];
    if (klen < sizeof key && decode(p, klen, key, sizeof key) >= 0 && strlen(key) == nlen && !memcmp(key, name, nlen) &&
        k-- == 0) {
      if (!eq) return outlen ? (out[0] = '\0', 0) : -2;
      return decode(eq + 1, len - klen - 1, out, outlen);
    }
    p += len;
    if (*p == '&') p++;
  }
  return -1;
}

int vigil__http_query_param(const char *query, const char *name, char *out, size_t outlen) {
  char second[1];
  if (vigil__http_query_param_at(query, name, 1, second, sizeof second) != -1) {
    if (outlen) out[0] = '\0';
    return -3;
  }
  return vigil__http_query_param_at(query, name, 0, out, outlen);
}

int vigil__http_query_twice(http_request *req, const char *name) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s is given more than once: give it once", name);
  vigil__http_respond_error(req, 400, "invalid_query", msg, name);
  return -1;
}

int vigil__http_list_last(const char *list, char *out, size_t len) {
  const char *last = strrchr(list, ',');
  last = last ? last + 1 : list;
  last += strspn(last, " \t");
  size_t n = strlen(last);
  while (n && (last[n - 1] == ' ' || last[n - 1] == '\t'))
    n--;
  if (!n || n >= len) {
    if (len) out[0] = '\0';
    return -1;
  }
  memcpy(out, last, n);
  out[n] = '\0';
  return 0;
}

int vigil__http_address(const char *text, size_t n, char *out, size_t len) {
  while (n && (*text == ' ' || *text == '\t'))
    text++, n--;
  while (n && (text[n - 1] == ' ' || text[n - 1] == '\t'))
    n--;
  if (n >= 2 && text[0] == '"' && text[n - 1] == '"') text++, n -= 2; /* RFC 7239's quoted form */
  char a[64];
  const char *close = n && text[0] == '[' ? memchr(text, ']', n) : NULL;
  const char *colon = memchr(text, ':', n);
  if (close) /* "[v6]" or "[v6]:port" */
    snprintf(a, sizeof a, "%.*s", (int)(close - text - 1), text + 1);
  else if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - text))) /* "v4:port" */
    snprintf(a, sizeof a, "%.*s", (int)(colon - text), text);
  else
    snprintf(a, sizeof a, "%.*s", (int)(n < 63 ? n : 63), text);
  unsigned char bin[16];
  int ok = 0;
  if (inet_pton(AF_INET, a, bin) == 1) {
    ok = inet_ntop(AF_INET, bin, out, (socklen_t)len) != NULL;
  } else if (inet_pton(AF_INET6, a, bin) == 1) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    ok = !memcmp(bin, mapped, 12) ? inet_ntop(AF_INET, bin + 12, out, (socklen_t)len) != NULL
                                  : inet_ntop(AF_INET6, bin, out, (socklen_t)len) != NULL;
  }
  if (!ok) snprintf(out, len, "%.*s", (int)n, text);
  return ok ? 0 : -1;
}

/* The holder kind/key, found or added (with a reference for r), or NULL
 * out of memory. */
static body_holder *holder_ref(http_server *s, char kind, const char *key) {
  body_holder *h = s->holders;
  while (h && (h->kind != kind || strcmp(h->key, key)))
    h = h->next;
  if (!h) {
    size_t n = strlen(key);
    if (!(h = calloc(1, sizeof *h + n + 1))) return NULL;
    h->kind = kind;
    memcpy(h->key, key, n + 1);
    h->next = s->holders;
    s->holders = h;
  }
  h->refs++;
  return h;
}

static void holder_unref(http_server *s, body_holder *h) {
  if (!h || --h->refs) return;
  body_holder **p = &s->holders;
  while (*p != h)
    p = &(*p)->next;
  *p = h->next;
  free(h);
}

static void holders_drop(http_request *r) {
  for (int i = 0; i < 2; i++) {
    if (r->holder[i]) r->holder[i]->bytes -= r->body_held;
    holder_unref(r->srv, r->holder[i]);
    r->holder[i] = NULL;
  }
}

void vigil__http_request_hold_as(http_request *r, const char *address, const char *user) {
  holders_drop(r); /* before any byte is held */
  char ip[64];
  const char *a = address;
  if (!a && r->conn) a = r->conn->ip;
  if (a && a[0]) { /* compared as addresses (X6) */
    if (vigil__http_address(a, strlen(a), ip, sizeof ip) < 0) snprintf(ip, sizeof ip, "%s", a);
    r->holder[0] = holder_ref(r->srv, 'a', ip);
  }
  if (user && user[0]) r->holder[1] = holder_ref(r->srv, 'u', user);
}

static size_t share_of(const http_server *s, int i) {
  return i == 0 ? s->o.max_buffered_body_per_address : s->o.max_buffered_body_per_user;
}

/* What a request's body counts toward max_buffered_body_bytes, and toward
 * its address's and user's shares of it: held from its headers (or
 * chunks) until it is freed or loses its connection. -1 past the whole
 * (503), -2 past a share (429). */
static int body_hold(http_request *r, size_t n) {
  http_server *s = r->srv;
  http_stats *st = &s->stats;
  if (!r->holder[0] && !r->holder[1]) vigil__http_request_hold_as(r, NULL, NULL);
  if (st->body_bytes + n > s->o.max_buffered_body_bytes) {
    st->refused_bodies++;
    return -1;
  }
  for (int i = 0; i < 2; i++)
    if (r->holder[i] && r->holder[i]->bytes + n > share_of(s, i)) {
      st->refused_body_share++;
      return -2;
    }
  st->body_bytes += n;
  r->body_held += n;
  for (int i = 0; i < 2; i++)
    if (r->holder[i]) r->holder[i]->bytes += n;
  if (st->body_bytes > st->body_bytes_max) st->body_bytes_max = st->body_bytes;
  return 0;
}

static void body_release(http_request *r) {
  holders_drop(r);
  r->srv->stats.body_bytes -= r->body_held;
  r->body_held = 0;
}

static void log_answer(http_request *r, size_t written, int whole);

static void request_free(http_request *r) {
  if (!r) return;
  log_answer(r, 0, 0);          /* answered and freed unwritten: its connection closed first */
  if (r->conn) body_release(r); /* one without its connection gave its bytes back then */
  holders_drop(r);
  free(r->url.p);
  free(r->body.p);
  for (unsigned i = 0; i < r->n_headers; i++) {
    free(r->headers[i].name.p);
    free(r->headers[i].value.p);
  }
  free(r->headers);
  free(r->path);
  free(r->query);
  if (r->out) free(r->out->reqs);
  free(r->out);
  free(r);
}

static http_request *request_new(conn *c) {
  http_request *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->conn = c;
  r->srv = c->srv;
  r->id = ++c->srv->next_id;
  r->started_ns = uv_hrtime();
  r->keep_alive = 1;
  memcpy(r->remote, c->remote, sizeof r->remote);
  return r;
}

/* ---- connections ------------------------------------------------------------ */

static void conn_close(conn *c);
static void flush(conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b);
static void feed(conn *c, const char *data, size_t len);
static void dispatch(conn *c);
static void maybe_finish(http_server *s);

static void enqueue(conn *c, http_request *r) {
  r->next = NULL;
  if (c->tail)
    c->tail->next = r;
  else
    c->head = r;
  c->tail = r;
  c->queued++;
}

static int has_unanswered(const conn *c) {
  for (const http_request *r = c->head; r; r = r->next)
    if (!r->answered) return 1;
  return 0;
}

static void on_timer(uv_timer_t *t);

/* Answer bytes written to c that the client has not taken yet: those
 * libuv holds, and those the kernel holds unacknowledged (TIOCOUTQ: on
 * loopback a socket takes megabytes, so libuv's queue alone stays empty),
 * noting when they last went down: a whole write done (on_write), or fewer
 * waiting than at the last look. */
static size_t unsent(conn *c) {
  size_t n = 0;
  if (!c->closing) {
    n = uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
    uv_os_fd_t fd;
    int q = 0;
    if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) == 0 && ioctl(fd, TIOCOUTQ, &q) == 0 && q > 0) n += (size_t)q;
  }
  if (!c->unsent_seen || n < c->unsent_seen) c->unsent_moved = uv_now(c->srv->loop);
  c->unsent_seen = n;
  return n;
}

/* One timer per connection, for whichever deadline matters now. */
static void arm_timer(conn *c) {
  if (c->closing || c->shutting) return;
  c->unsent_watch = 0;
  http_server *s = c->srv;
  uint64_t now = uv_now(s->loop);
  if (c->cur) {
    uint64_t due = c->cur_started + s->o.request_timeout_ms;
    /* Headers still coming: their own, shorter deadline (Z9). */
    if (!c->in_body && c->cur_started + s->o.header_timeout_ms < due) due = c->cur_started + s->o.header_timeout_ms;
    /* A body coming: its rate is looked at every second too. */
    if (c->body_started && due > now + BODY_RATE_CHECK_MS) due = now + BODY_RATE_CHECK_MS;
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
  } else if (has_unanswered(c)) {
    uv_timer_stop(&c->timer); /* the server is the one working */
  } else if (unsent(c)) {     /* the client is the one to move */
    c->unsent_watch = 1;
    uv_timer_start(&c->timer, on_timer, c->paused ? UNSENT_PAUSED_CHECK_MS : UNSENT_CHECK_MS, 0);
    return;
  } else {
    c->idle_since = now;
    uint64_t idle = s->o.idle_timeout_ms;
    if (s->crowded && s->o.crowded_idle_timeout_ms < idle) idle = s->o.crowded_idle_timeout_ms;
    uv_timer_start(&c->timer, on_timer, idle, 0);
  }
}

/* Idle: open, not closing, nothing received and nothing to answer. */
static int conn_idle(const conn *c) { return !c->closing && !c->shutting && !c->cur && !c->head; }

/* Open connections reached crowded_connections (or left it): an idle one
 * keeps the short idle timeout from when it became idle. */
static void set_crowded(http_server *s) {
  int crowded = s->n_conns - s->n_closing >= s->o.crowded_connections;
  if (crowded == s->crowded) return;
  s->crowded = crowded;
  if (!crowded) return;
  uint64_t now = uv_now(s->loop);
  for (conn *c = s->conns; c; c = c->next) {
    if (!conn_idle(c) || !c->reading) continue;
    uint64_t due = c->idle_since + s->o.crowded_idle_timeout_ms;
    if (due < c->idle_since + s->o.idle_timeout_ms) uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
  }
}

static void on_handle_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->handles > 0) return;
  http_server *s = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  s->n_closing--;
  free(c->stash);
  free(c);
  set_crowded(s);
  maybe_finish(s);
}

static void conn_close(conn *c) {
  if (c->closing) return;
  c->closing = 1;
  c->srv->n_closing++;
  request_free(c->cur);
  c->cur = NULL;
  http_request *stream = NULL;
  for (http_request *r = c->head, *next; r; r = next) {
    next = r->next;
    if (r->streaming) stream = r;
    if (r->dispatched && !r->answered) {
      body_release(r);
      r->conn = NULL; /* answered later, and then freed */
    } else
      request_free(r);
  }
  c->head = c->tail = NULL;
  c->queued = 0;
  /* Its owner learns that the stream is over (and then ends it). */
  if (stream && stream->stream_closed) stream->stream_closed(stream->stream_ud, stream);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  conn *c = req->data;
  if (c->closing) return;
  if (status < 0 || c->eof) {
    conn_close(c);
    return;
  }
  /* Read and drop what the client still sends, for a moment. */
  if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = 1;
  uv_timer_start(&c->timer, on_timer, LINGER_MS, 0);
}

static void begin_shutdown(conn *c) {
  if (c->shutting || c->closing) return;
  c->shutting = 1;
  c->shutdown.data = c;
  /* A client that reads nothing would hold the shutdown forever: it has
   * the idle timeout to take what is queued. */
  uv_timer_start(&c->timer, on_timer, c->srv->o.idle_timeout_ms, 0);
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0) conn_close(c);
}

static void on_write(uv_write_t *w, int status);
static void on_answer_write(uv_write_t *req, int status);

/* The log line of an answered request, once (http_options.log): written
 * bytes of its answer, whole or not (AT6). */
static void log_answer(http_request *r, size_t written, int whole) {
  if (r->logged || !r->answered) return;
  r->logged = 1;
  http_server *s = r->srv;
  if (!s->o.log) return;
  const outgoing *w = r->out;
  size_t head = w ? w->head_len : 0, body = w ? w->len - w->head_len : 0;
  size_t sent = written > head ? written - head : 0;
  http_log_entry e = {.status = r->status,
                      .body_bytes = sent < body ? sent : body,
                      .length = r->length,
                      .ms = (double)(uv_hrtime() - r->started_ns) / 1e6,
                      .aborted = !whole};
  s->o.log(s->o.log_ud, r, &e);
}

/* Every slice of w is done: its request is logged and freed. */
static void answer_done(outgoing *w) {
  http_request *r = w->r;
  log_answer(r, w->written, !w->failed && w->written == w->len);
  request_free(r); /* frees w, its out */
}

/* Gives w's slices to libuv; its request (out of the connection's queue) is
 * freed once they are done (on_answer_write). -1 when one could not be
 * given: the connection is to be closed. */
static int answer_write(conn *c, outgoing *w) {
  c->writing++;
  for (; w->issued < w->slices; w->issued++) {
    size_t at = (size_t)w->issued * ANSWER_SLICE, n = w->len - at < ANSWER_SLICE ? w->len - at : ANSWER_SLICE;
    uv_buf_t b = uv_buf_init(w->data + at, (unsigned)n);
    w->reqs[w->issued].data = w;
    if (uv_write(&w->reqs[w->issued], (uv_stream_t *)&c->tcp, &b, 1, on_answer_write) < 0) {
      w->failed = 1;
      if (!w->issued) { /* none will be told done */
        c->writing--;
        answer_done(w);
      }
      return -1;
    }
  }
  /* libuv wrote it all at once (nothing waits in its queue): logged now,
   * not a loop's turn later. */
  if (!uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp)) log_answer(w->r, w->len, 1);
  return 0;
}

static void flush(conn *c) {
  if (c->in_dispatch || c->closing) return;
  while (c->head && c->head->answered) {
    http_request *r = c->head;
    c->head = r->next;
    if (!c->head) c->tail = NULL;
    c->queued--;
    int close_after = r->close;
    outgoing *w = r->out;
    if (!w) {
      request_free(r);
    } else { /* kept with its answer until written: its body is given back now */
      body_release(r);
      r->conn = NULL;
      r->next = NULL;
      if (answer_write(c, w) < 0) {
        conn_close(c);
        return;
      }
    }
    if (close_after) {
      /* Whatever was received after this request is not answered. */
      c->stop_parsing = 1;
      for (http_request *q = c->head, *next; q; q = next) {
        next = q->next;
        if (q->dispatched && !q->answered) {
          body_release(q);
          q->conn = NULL;
        } else
          request_free(q);
      }
      c->head = c->tail = NULL;
      c->queued = 0;
      request_free(c->cur);
      c->cur = NULL;
    }
  }
  if (c->stop_parsing && !c->head && !c->cur) {
    begin_shutdown(c);
    return;
  }
  /* Answers the client has not taken past their bytes' limit: nothing more
   * is read until they go down (on_write resumes), not only past their
   * count (Z10). */
  if (!c->paused && unsent(c) >= c->srv->o.max_unsent_answer_bytes) {
    c->paused = 1;
    http_parser_pause(&c->parser, 1);
    if (c->reading) {
      uv_read_stop((uv_stream_t *)&c->tcp);
      c->reading = 0;
    }
  }
  arm_timer(c);
}

static void resume(conn *c);

/* A write of c's is done (an answer's last slice, a stream's bytes). */
static void write_done(conn *c, int status) {
  c->writing--;
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  c->unsent_moved = uv_now(c->srv->loop); /* the client took a whole answer */
  if (c->paused && c->queued + c->writing < c->srv->o.max_pipeline && unsent(c) < c->srv->o.max_unsent_answer_bytes)
    resume(c);
  else
    arm_timer(c);
}

static void on_write(uv_write_t *w, int status) {
  wreq *wr = (wreq *)w;
  conn *c = wr->c;
  free(wr);
  write_done(c, status);
}

/* A slice of an answer done (or failed, or cancelled as its connection
 * closed): the last one ends the answer. */
static void on_answer_write(uv_write_t *req, int status) {
  outgoing *w = req->data;
  conn *c = w->c;
  if (status == 0) {
    size_t at = (size_t)(req - w->reqs) * ANSWER_SLICE;
    w->written += w->len - at < ANSWER_SLICE ? w->len - at : ANSWER_SLICE;
  } else {
    w->failed = 1;
  }
  if (++w->done < w->issued) {
    if (status < 0 && !c->closing) conn_close(c); /* the others are cancelled */
    return;
  }
  answer_done(w);
  write_done(c, status);
}

/* A complete answer: status line, headers, body. */
static outgoing *build_response(http_request *r, int status, const char *content_type, const char *body, size_t len,
                                const char *extra) {
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  const char *connection = r->close || r->srv->closing ? "Connection: close\r\n"
                           : r->keep_alive == 2        ? "Connection: keep-alive\r\n"
                                                       : "";
  /* no-store unless the caller says otherwise (the app's files are cached
   * and revalidated: server/ui.c). */
  const char *cache = extra && strstr(extra, "Cache-Control:") ? "" : "Cache-Control: no-store\r\n";
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: vigil\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "%sX-Content-Type-Options: nosniff\r\n%s",
                   status, vigil__http_status_text(status), date, content_type ? content_type : "application/json", len,
                   cache, connection);
  if (n < 0 || (size_t)n >= sizeof head) return NULL;
  size_t extra_len = extra ? strlen(extra) : 0;
  /* A 304 has no body; its Content-Length is that of the file it stands for. */
  size_t body_len = r->head || status == 304 ? 0 : len;
  size_t total = (size_t)n + extra_len + 2 + body_len;
  outgoing *w = malloc(sizeof *w + total);
  if (!w) return NULL;
  *w = (outgoing){.c = r->conn, .r = r, .len = total, .head_len = total - body_len};
  w->slices = (unsigned)((total + ANSWER_SLICE - 1) / ANSWER_SLICE);
  if (!(w->reqs = calloc(w->slices, sizeof *w->reqs))) {
    free(w);
    return NULL;
  }
  char *p = w->data;
  memcpy(p, head, (size_t)n);
  p += n;
  if (extra_len) memcpy(p, extra, extra_len);
  p += extra_len;
  memcpy(p, "\r\n", 2);
  p += 2;
  if (body_len) memcpy(p, body, body_len);
  return w;
}

void vigil__http_respond(http_request *r, int status, const char *content_type, const char *body, size_t len,
                         const char *extra_headers) {
  if (!r || r->answered) return;
  r->answered = 1;
  r->status = status;
  r->length = len;
  conn *c = r->conn;
  if (!c) {
    request_free(r); /* logged as not written */
    return;
  }
  r->out = build_response(r, status, content_type, body, len, extra_headers);
  if (!r->out) {
    /* Out of memory: the client sees the connection close, not a wrong answer. */
    conn_close(c);
    return;
  }
  flush(c);
}

/* The server's own answer to a request it refuses (malformed, too large,
 * too slow): the connection closes after it. */
static void refuse(conn *c, int status, const char *code, const char *message, const char *field) {
  http_request *r = c->cur;
  c->cur = NULL;
  if (!r && !(r = request_new(c))) {
    conn_close(c);
    return;
  }
  r->dispatched = 1;
  r->close = 1;
  r->keep_alive = 0;
  enqueue(c, r);
  c->stop_parsing = 1;
  free(c->stash);
  c->stash = NULL;
  c->stash_len = 0;
  vigil__http_respond_error(r, status, code, message, field);
}

/* ---- parser callbacks --------------------------------------------------------- */

static int head_limit(conn *c, size_t n) {
  c->head_bytes += n;
  if (c->head_bytes <= c->srv->o.max_head_bytes) return 0;
  c->err_status = 431;
  c->err_code = "headers_too_large";
  c->err_msg = "the request line and headers are larger than the limit";
  return -1;
}

static int oom(conn *c) {
  c->err_status = 503;
  c->err_code = "out_of_memory";
  c->err_msg = "out of memory";
  return -1;
}

static int bodies_full(conn *c, int why) {
  if (why == -2) { /* one address's or user's share (Z3) */
    c->err_status = 429;
    c->err_code = "too_many_bodies";
    c->err_msg = "this client address or user holds its share of the request bodies being received "
                 "(max_buffered_body_per_address_mb, max_buffered_body_per_user_mb): try again when they are done";
    return -1;
  }
  c->err_status = 503;
  c->err_code = "busy";
  c->err_msg = "the server holds as many request bodies as it may (max_buffered_body_mb): try again";
  return -1;
}

static int on_message_begin(http_parser *p) {
  conn *c = p->data;
  request_free(c->cur);
  if (!(c->cur = request_new(c))) return oom(c);
  c->cur_started = uv_now(c->srv->loop);
  c->head_bytes = 0;
  c->version_n = 0;
  c->version_open = c->in_body = 0;
  c->body_started = 0;
  c->last_was_value = c->value_ended = c->value_at_end = 0;
  arm_timer(c);
  return 0;
}

/* Keeps the bytes of the request line after its target, up to its end. */
static void keep_version(conn *c, const char *at, const char *end) {
  while (c->version_open && at < end) {
    if (*at == '\r' || *at == '\n' || c->version_n == sizeof c->version - 1)
      c->version_open = 0;
    else
      c->version[c->version_n++] = *at++;
  }
  c->version[c->version_n] = '\0';
}

static int on_url(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (head_limit(c, len) < 0) return -1;
  c->version_n = 0;
  c->version_open = 1;
  keep_version(c, at + len, c->fed_end);
  return hbuf_put(&c->cur->url, at, len) < 0 ? oom(c) : 0;
}

static int bad_head(conn *c, const char *why, const char *field) {
  c->err_status = 400;
  c->err_code = "bad_request";
  c->err_msg = why;
  c->err_field = field;
  return -1;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  http_request *r = c->cur;
  c->value_ended = c->value_at_end = 0;
  if (head_limit(c, len + 4) < 0) return -1; /* ": " and CRLF */
  if (c->last_was_value || r->n_headers == 0) {
    if (r->n_headers == MAX_HEADERS) {
      c->err_status = 431;
      c->err_code = "headers_too_large";
      c->err_msg = "too many header fields";
      return -1;
    }
    if (r->n_headers == r->cap_headers) {
      unsigned cap = r->cap_headers ? r->cap_headers * 2 : 8;
      header *h = realloc(r->headers, cap * sizeof *h);
      if (!h) return oom(c);
      r->headers = h;
      r->cap_headers = cap;
    }
    memset(&r->headers[r->n_headers++], 0, sizeof(header));
    c->last_was_value = 0;
  }
  return hbuf_put(&r->headers[r->n_headers - 1].name, at, len) < 0 ? oom(c) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  http_request *r = c->cur;
  if (head_limit(c, len) < 0) return -1;
  /* A second piece of one value after its line ended is a continuation
   * line (obs-fold, RFC 9112 section 5.2): refused, as a proxy in front
   * may read it otherwise. A value cut by the end of what was fed goes on
   * with the next bytes (feed() looks at the first). */
  if (c->last_was_value && c->value_ended)
    return bad_head(c, "a header line continued on the next line (obs-fold)", NULL);
  c->last_was_value = 1;
  c->value_at_end = at + len >= c->fed_end;
  c->value_ended = !c->value_at_end && (at[len] == '\r' || at[len] == '\n');
  return hbuf_put(&r->headers[r->n_headers - 1].value, at, len) < 0 ? oom(c) : 0;
}

static char *dup_part(const char *s, size_t off, size_t len) {
  char *out = malloc(len + 1);
  if (!out) return NULL;
  memcpy(out, s + off, len);
  out[len] = '\0';
  return out;
}

static int unlimited(const http_server *s, const char *ip);

/* Whether host (a Host header: name or address, and maybe a port) is one of
 * the server's names. any_port: the port is not ours to check (a trusted
 * proxy's X-Forwarded-Host names the port the browser used on the proxy). */
static int known_host(const http_server *s, const char *host, int any_port) {
  size_t n = strlen(host);
  if (host[0] == '[') { /* [v6]:port */
    const char *close = strchr(host, ']');
    n = close ? (size_t)(close - host) + 1 : n;
  } else {
    const char *colon = strrchr(host, ':');
    if (colon) n = (size_t)(colon - host);
  }
  /* A port, when the Host gives one, is the one listened on (U9). */
  if (host[n] == ':') {
    const char *port = host + n + 1;
    if (!*port || strlen(port) > 5 || port[strspn(port, "0123456789")] || (!any_port && atoi(port) != s->port))
      return 0;
  } else if (host[n]) {
    return 0;
  }
  for (size_t i = 0; i < s->o.n_server_names; i++)
    if (strlen(s->o.server_names[i]) == n && !strncasecmp(s->o.server_names[i], host, n)) return 1;
  if (!s->o.any_address_literal) return 0;
  char addr[64];
  unsigned char bin[16];
  if (host[0] == '[' && n >= 2 && n - 2 < sizeof addr) {
    snprintf(addr, sizeof addr, "%.*s", (int)(n - 2), host + 1);
    return uv_inet_pton(AF_INET6, addr, bin) == 0;
  }
  if (n >= sizeof addr) return 0;
  snprintf(addr, sizeof addr, "%.*s", (int)n, host);
  return uv_inet_pton(AF_INET, addr, bin) == 0;
}

/* Several lines of a list header are one list, in their order (RFC 9110
 * section 5.3): the later lines are appended to the first, ", " between, so
 * whoever reads it (the client's address behind trusted proxies, from the
 * right: docs/security.md W S3) sees the list a proxy meant. */
static int fold_list_header(conn *c, http_request *r, const char *name) {
  unsigned first = r->n_headers, k = 0;
  for (unsigned i = 0; i < r->n_headers; i++) {
    if (strcasecmp(hbuf_str(&r->headers[i].name), name)) {
      r->headers[k++] = r->headers[i];
      continue;
    }
    if (first == r->n_headers) {
      first = k;
      r->headers[k++] = r->headers[i];
      continue;
    }
    hbuf *v = &r->headers[first].value;
    int bad = hbuf_put(v, ", ", 2) < 0 || hbuf_put(v, hbuf_str(&r->headers[i].value), r->headers[i].value.len) < 0;
    free(r->headers[i].name.p);
    free(r->headers[i].value.p);
    if (bad) {
      for (unsigned j = i + 1; j < r->n_headers; j++)
        r->headers[k++] = r->headers[j];
      r->n_headers = k;
      return oom(c);
    }
  }
  r->n_headers = k;
  return 0;
}

/* Whether the entries of a trusted proxy's X-Forwarded-For that are read
 * (from the right: the proxies', then the client's, where reading stops;
 * what the client wrote before its own is never read) are IP addresses (Y8:
 * "not-an-ip" or 63 digits were each a client of their own for the limits
 * and recorded as the address in auth.failed). 1 when none is given. */
static int forwarded_for_addresses(const http_server *s, const char *xff) {
  for (size_t end = xff ? strlen(xff) : 0; xff;) {
    size_t start = end;
    while (start > 0 && xff[start - 1] != ',')
      start--;
    char hop[64];
    if (vigil__http_address(xff + start, end - start, hop, sizeof hop) < 0) return 0;
    if (!unlimited(s, hop) || !start) return 1;
    end = start - 1;
  }
  return 1;
}

/* Whether the Cookie line names one of the server's cookies_once twice
 * (Z6). Pairs are "name=value" separated by ";" and blanks (RFC 6265 5.4). */
static int cookie_twice(const http_server *s, const char *cookies) {
  for (size_t k = 0; cookies && k < s->o.n_cookies_once; k++) {
    const char *name = s->o.cookies_once[k];
    size_t nl = strlen(name);
    unsigned seen = 0;
    for (const char *p = cookies; *p;) {
      p += strspn(p, " \t;");
      size_t n = strcspn(p, ";");
      size_t end = n;
      const char *eq = memchr(p, '=', n);
      if (eq) end = (size_t)(eq - p);
      while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
        end--;
      if (end == nl && !memcmp(p, name, nl) && ++seen > 1) return 1;
      p += n;
    }
  }
  return 0;
}

static int body_too_large(conn *c) {
  c->err_status = 413;
  c->err_code = "body_too_large";
  c->err_msg = c->cur && c->cur->body_limit ? "the request body is larger than this resource takes"
                                            : "the request body is larger than the limit";
  return -1;
}

static int on_headers_complete(http_parser *p) {
  conn *c = p->data;
  http_request *r = c->cur;
  http_server *s = c->srv;
  c->in_body = 1;
  snprintf(r->method, sizeof r->method, "%s", http_method_str((enum http_method)p->method));
  r->head = p->method == HTTP_HEAD;
  /* The parser takes any three characters after the H of HTTP: RFC 9112
   * section 2.3's name is exact ("HTTX/1.1" is not a request), and its
   * versions here are 1.0 and 1.1 (U9). */
  if (p->http_major == 1 && strncmp(c->version, " HTTP/1.", 8) != 0)
    return bad_head(c, "the request line does not end in HTTP/1.1 or HTTP/1.0", NULL);
  if (p->http_major != 1 || p->http_minor > 1) {
    /* HTTP/0.9 (no version at all) and anything after 1.1 are not spoken here. */
    c->err_status = 505;
    c->err_code = "http_version_not_supported";
    c->err_msg = "only HTTP/1.1 and HTTP/1.0 are served";
    return -1;
  }
  /* RFC 9112 section 3.2: an HTTP/1.1 request has exactly one Host, and
   * a request to this server names it (an empty Host is for a target
   * without an authority, which no route here is). Origin and Referer
   * decide whether a cookie-signed change is same-site, Authorization who
   * asks: two of one would let the first and the last disagree. */
  static const char *const once[] = {"Host",   "Origin",        "Referer",        "Authorization",
                                     "Cookie", "Last-Event-ID", "Idempotency-Key"};
  for (size_t k = 0; k < sizeof once / sizeof *once; k++) {
    unsigned seen = 0, empty = 0;
    for (unsigned i = 0; i < r->n_headers; i++)
      if (!strcasecmp(hbuf_str(&r->headers[i].name), once[k])) {
        const char *v = hbuf_str(&r->headers[i].value);
        seen++;
        empty |= v[strspn(v, " \t")] == '\0';
      }
    const char *why = NULL;
    static const char *const twice[] = {"more than one Host header",           "more than one Origin header",
                                        "more than one Referer header",        "more than one Authorization header",
                                        "more than one Cookie header",         "more than one Last-Event-ID header",
                                        "more than one Idempotency-Key header"};
    if (seen > 1)
      why = twice[k];
    else if (k == 0 && empty)
      why = "the Host header is empty";
    else if (k == 0 && !seen && p->http_minor >= 1)
      why = "an HTTP/1.1 request needs a Host header";
    if (why) {
      c->err_status = 400;
      c->err_code = "bad_request";
      c->err_msg = why;
      c->err_field = once[k];
      return -1;
    }
  }
  if (cookie_twice(s, vigil__http_request_header(r, "Cookie")))
    return bad_head(c, "a cookie is named twice in the Cookie header", "Cookie");
  /* RFC 9112: no white space between a field's name and its colon (the
   * parser keeps it in the name: "Host : evil"); a body's framing is
   * Content-Length or chunked, never both, and no other coding. */
  unsigned te = 0;
  for (unsigned i = 0; i < r->n_headers; i++) {
    const char *name = hbuf_str(&r->headers[i].name);
    if (name[strcspn(name, " \t")]) return bad_head(c, "white space in a header's name (before its colon)", NULL);
    if (strcasecmp(name, "Transfer-Encoding")) continue;
    const char *v = hbuf_str(&r->headers[i].value);
    size_t from = strspn(v, " \t"), n = strlen(v);
    while (n > from && (v[n - 1] == ' ' || v[n - 1] == '\t'))
      n--;
    if (++te > 1 || n - from != 7 || strncasecmp(v + from, "chunked", 7))
      return bad_head(c, "Transfer-Encoding may only be chunked, once", "Transfer-Encoding");
  }
  if (te && vigil__http_request_header(r, "Content-Length"))
    return bad_head(c, "both Content-Length and Transfer-Encoding", "Transfer-Encoding");
  if (fold_list_header(c, r, "X-Forwarded-For") < 0 || fold_list_header(c, r, "X-Forwarded-Host") < 0) return -1;
  if (c->ip[0] && unlimited(s, c->ip) && !forwarded_for_addresses(s, vigil__http_request_header(r, "X-Forwarded-For")))
    return bad_head(c, "X-Forwarded-For names something that is not an IP address", "X-Forwarded-For");
  r->keep_alive = http_should_keep_alive(p) && !p->upgrade;
  /* An HTTP/1.0 client that asked for keep-alive is told it got it. */
  if (r->keep_alive && p->http_major == 1 && p->http_minor == 0) r->keep_alive = 2;
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(hbuf_str(&r->url), r->url.len, p->method == HTTP_CONNECT, &u) != 0) {
    c->err_status = 400;
    c->err_code = "bad_request";
    c->err_msg = "the request target is not a valid URL";
    return -1;
  }
  const char *url = hbuf_str(&r->url);
  r->path = (u.field_set & (1 << UF_PATH)) ? dup_part(url, u.field_data[UF_PATH].off, u.field_data[UF_PATH].len)
                                           : dup_part("/", 0, 1);
  r->query = (u.field_set & (1 << UF_QUERY)) ? dup_part(url, u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
                                             : dup_part("", 0, 0);
  if (!r->path || !r->query) return oom(c);
  const char *host = vigil__http_request_header(r, "Host");
  /* An absolute-form target names the server itself: it must be the Host's. */
  if (u.field_set & (1 << UF_HOST)) {
    size_t start = u.field_data[UF_HOST].off, end = start + u.field_data[UF_HOST].len;
    if (start > 0 && url[start - 1] == '[') start--, end++; /* an IPv6 address's brackets */
    if (u.field_set & (1 << UF_PORT)) end = u.field_data[UF_PORT].off + u.field_data[UF_PORT].len;
    if (!host || strlen(host) != end - start || strncasecmp(host, url + start, end - start))
      return bad_head(c, "the request target names another host than the Host header", "Host");
  }
  if (host && s->o.server_names && !known_host(s, host, 0)) {
    c->err_status = 421;
    c->err_code = "misdirected_request";
    c->err_msg = "this server does not answer to that name (Host): see server_names in vigil.conf";
    c->err_field = "Host";
    return -1;
  }
  /* The host a trusted proxy says the browser addressed is the one that
   * counts (the same-site check reads it): one of the server's names too
   * (Y5). Its last value, the one the proxy added. */
  const char *fwd = c->ip[0] && unlimited(s, c->ip) ? vigil__http_request_header(r, "X-Forwarded-Host") : NULL;
  char fhost[256];
  if (fwd && s->o.server_names && (vigil__http_list_last(fwd, fhost, sizeof fhost) < 0 || !known_host(s, fhost, 1))) {
    c->err_status = 421;
    c->err_code = "misdirected_request";
    c->err_msg = "this server does not answer to the name the proxy forwarded (X-Forwarded-Host): see server_names "
                 "in vigil.conf";
    c->err_field = "X-Forwarded-Host";
    return -1;
  }
  if (p->content_length != ULLONG_MAX && p->content_length > s->o.max_body_bytes) return body_too_large(c);
  /* A request with a body that will be refused anyway is refused now, its
   * body unread; one that is read counts toward the bodies held at once (V4). */
  int has_body = (p->content_length != ULLONG_MAX && p->content_length > 0) || (p->flags & F_CHUNKED);
  if (has_body && s->o.head_check &&
      s->o.head_check(s->o.head_check_ud, r, &c->err_status, &c->err_code, &c->err_msg)) {
    s->stats.refused_at_head++;
    return -1;
  }
  if (r->body_limit && p->content_length != ULLONG_MAX && p->content_length > r->body_limit) {
    s->stats.refused_at_head++;
    return body_too_large(c);
  }
  int held;
  if (p->content_length != ULLONG_MAX && p->content_length > 0 && (held = body_hold(r, (size_t)p->content_length)) < 0)
    return bodies_full(c, held);
  if (has_body) { /* its rate is asked from now on (min_body_bytes_per_s) */
    c->body_started = uv_now(s->loop);
    arm_timer(c);
  }
  /* A client waiting for leave to send its body gets it, unless an answer
   * before this one is still due (it sends after its own timeout then). */
  const char *expect = vigil__http_request_header(r, "Expect");
  if (expect && !strcasecmp(expect, "100-continue") && !c->head && c->writing == 0) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    wreq *w = malloc(sizeof *w + sizeof cont);
    if (w) {
      memcpy(w->data, cont, sizeof cont - 1);
      w->len = sizeof cont - 1;
      w->c = c;
      uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
      if (uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0)
        free(w);
      else
        c->writing++;
    }
  }
  return 0;
}

static int bad_chunk_end(conn *c) {
  c->err_status = 400;
  c->err_code = "bad_request";
  c->err_msg = "malformed request: a chunk's data is not followed by CRLF";
  c->err_field = NULL;
  return -1;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  http_request *r = c->cur;
  if (r->body.len + len > (r->body_limit ? r->body_limit : c->srv->o.max_body_bytes)) return body_too_large(c);
  /* A chunk's data ends with CRLF (RFC 9112 7.1): the parser, built
   * lenient, takes any two bytes there. */
  if ((p->flags & F_CHUNKED) && p->content_length == 0) {
    const char *end = at + len;
    size_t have = end < c->fed_end ? (size_t)(c->fed_end - end) : 0;
    if (have > 2) have = 2;
    if (memcmp(end, "\r\n", have)) return bad_chunk_end(c);
    c->crlf_left = 2 - (int)have;
  }
  /* A chunked body counts as it comes (a Content-Length one from its headers). */
  int held;
  if (r->body.len + len > r->body_held && (held = body_hold(r, r->body.len + len - r->body_held)) < 0)
    return bodies_full(c, held);
  return hbuf_put(&r->body, at, len) < 0 ? oom(c) : 0;
}

static int on_message_complete(http_parser *p) {
  conn *c = p->data;
  http_request *r = c->cur;
  c->cur = NULL;
  if (!r->body.p && hbuf_put(&r->body, "", 0) < 0) {
    request_free(r);
    return oom(c);
  }
  enqueue(c, r);
  /* No more requests after one that closes; no more than the pipeline holds. */
  if (!r->keep_alive) {
    r->close = 1;
    c->stop_parsing = 1;
    http_parser_pause(p, 1);
  } else if (c->queued + c->writing >= c->srv->o.max_pipeline ||
             unsent(c) >= c->srv->o.max_unsent_answer_bytes) { /* by count, and by bytes not taken (Z10) */
    c->paused = 1;
    http_parser_pause(p, 1);
  }
  return 0;
}

/* ---- reading and feeding ---------------------------------------------------- */

static int stash(conn *c, const char *data, size_t len) {
  char *p = realloc(c->stash, c->stash_len + len);
  if (!p) return -1;
  memcpy(p + c->stash_len, data, len);
  c->stash = p;
  c->stash_len += len;
  return 0;
}

static void feed(conn *c, const char *data, size_t len) {
  http_server *s = c->srv;
  while (len > 0 && !c->closing && !c->stop_parsing) {
    if (c->paused) {
      if (stash(c, data, len) < 0) conn_close(c);
      return;
    }
    /* A header value cut at the end of the last bytes: had its line ended? */
    if (c->value_at_end) c->value_ended = data[0] == '\r' || data[0] == '\n';
    c->value_at_end = 0;
    if (c->crlf_left) { /* the rest of the CRLF after a chunk's data, cut by the last read */
      size_t n = len < (size_t)c->crlf_left ? len : (size_t)c->crlf_left;
      if (memcmp(data, "\r\n" + (2 - c->crlf_left), n)) {
        bad_chunk_end(c);
        refuse(c, c->err_status, c->err_code, c->err_msg, c->err_field);
        return;
      }
      c->crlf_left -= (int)n;
    }
    c->fed_end = data + len;
    keep_version(c, data, data + len); /* the request line's end, cut by the last read */
    size_t n = http_parser_execute(&c->parser, &s->settings, data, len);
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (err == HPE_PAUSED) {
      data += n;
      len -= n;
      continue; /* stashed above, or dropped after a closing request */
    }
    if (err != HPE_OK) {
      if (c->err_status)
        refuse(c, c->err_status, c->err_code, c->err_msg, c->err_field);
      else if (err == HPE_INVALID_CONTENT_LENGTH && c->in_body)
        /* The parser names the header for a chunk size past 2^64 too. */
        refuse(c, 400, "bad_request", "a chunk size is too large", NULL);
      else if (err == HPE_HEADER_OVERFLOW)
        refuse(c, 431, "headers_too_large", "the request line and headers are larger than the limit", NULL);
      else {
        char msg[160];
        snprintf(msg, sizeof msg, "malformed request: %s", http_errno_description(err));
        refuse(c, 400, "bad_request", msg, NULL);
      }
      return;
    }
    if (n < len && c->parser.upgrade) {
      /* Another protocol follows (Upgrade, CONNECT): not ours. */
      c->stop_parsing = 1;
      return;
    }
    break;
  }
}

/* Hands every new complete request to the handler, in order. */
static void dispatch(conn *c) {
  http_server *s = c->srv;
  c->in_dispatch++;
  for (;;) {
    http_request *r = c->head;
    while (r && r->dispatched)
      r = r->next;
    if (!r || c->closing) break;
    r->dispatched = 1;
    s->o.handler(s->o.handler_ud, r);
  }
  c->in_dispatch--;
  flush(c);
}

static void resume(conn *c) {
  c->paused = 0;
  http_parser_pause(&c->parser, 0);
  char *data = c->stash;
  size_t len = c->stash_len;
  c->stash = NULL;
  c->stash_len = 0;
  if (len) feed(c, data, len);
  free(data);
  if (c->closing) return;
  if (c->eof && !c->paused) {
    /* The client half-closed while we were paused: what it sent is parsed. */
    request_free(c->cur);
    c->cur = NULL;
    c->stop_parsing = 1;
  }
  dispatch(c);
  if (c->closing) return;
  if (!c->paused && !c->reading && !c->eof) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = 1;
  }
  arm_timer(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  conn *c = h->data;
  http_server *s = c->srv;
  if (s->rbuf_busy) {
    *b = uv_buf_init(NULL, 0);
    return;
  }
  s->rbuf_busy = 1;
  *b = uv_buf_init(s->rbuf, sizeof s->rbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b) {
  conn *c = stream->data;
  http_server *s = c->srv;
  if (b->base == s->rbuf) s->rbuf_busy = 0;
  if (c->closing) return;
  if (nread < 0) {
    c->eof = 1;
    uv_read_stop(stream);
    c->reading = 0;
    if (nread != UV_EOF || c->shutting) {
      conn_close(c);
      return;
    }
    /* The client is done sending: answer what it asked for, then close. A
     * request it did not finish is dropped. */
    if (c->paused) return; /* what is stashed is parsed first (resume) */
    if (c->head && c->head->streaming) {
      conn_close(c); /* the subscriber left */
      return;
    }
    request_free(c->cur);
    c->cur = NULL;
    c->stop_parsing = 1;
    if (!c->head && !c->writing)
      conn_close(c);
    else
      flush(c);
    return;
  }
  if (nread == 0) return;
  if (c->shutting || c->stop_parsing) return; /* lingering: dropped */
  feed(c, b->base, (size_t)nread);
  if (c->closing) return;
  dispatch(c);
  if (c->closing) return;
  if (c->paused && c->reading) {
    uv_read_stop(stream);
    c->reading = 0;
  }
}

static void on_timer(uv_timer_t *t) {
  conn *c = t->data;
  if (c->closing) return;
  if (c->shutting) {
    conn_close(c);
  } else if (c->cur) {
    http_server *s = c->srv;
    uint64_t now = uv_now(s->loop), elapsed = c->body_started ? now - c->body_started : 0;
    if (now >= c->cur_started + s->o.request_timeout_ms) {
      refuse(c, 408, "request_timeout", "the request was not complete in time", NULL);
    } else if (!c->in_body && !c->paused && now >= c->cur_started + s->o.header_timeout_ms) {
      refuse(c, 408, "headers_too_slow",
             "the request line and headers were not complete in time (header_timeout): send them at once", NULL);
    } else if (!c->paused && elapsed >= BODY_RATE_GRACE_MS &&
               c->cur->body.len < s->o.min_body_bytes_per_s * elapsed / 1000) {
      /* Not while the server itself stopped reading (paused): the slow one is then the server. */
      refuse(c, 408, "body_too_slow", "the request body comes too slowly (min_body_rate_kib): send it at once", NULL);
    } else {
      arm_timer(c);
    }
  } else if (c->unsent_watch) {
    http_server *s = c->srv;
    size_t n = unsent(c);
    if (n && uv_now(s->loop) - c->unsent_moved >= s->o.unsent_answer_timeout_ms) {
      s->stats.closed_unread++; /* its answers have not moved: the client reads nothing */
      conn_close(c);
    } else if (c->paused && c->queued + c->writing < s->o.max_pipeline && n < s->o.max_unsent_answer_bytes) {
      resume(c); /* the kernel's part went down: no write of ours tells */
    } else {
      arm_timer(c);
    }
  } else if (!has_unanswered(c)) {
    conn_close(c); /* idle */
  }
}

/* Connections from ip already open (c itself not counted). */
static unsigned from_address(const http_server *s, const conn *c) {
  unsigned n = 0;
  for (const conn *x = s->conns; x; x = x->next)
    if (x != c && !x->closing && !strcmp(x->ip, c->ip)) n++;
  return n;
}

static int unlimited(const http_server *s, const char *ip) {
  for (size_t i = 0; i < s->o.n_unlimited; i++) {
    char a[64];
    vigil__http_address(s->o.unlimited[i], strlen(s->o.unlimited[i]), a, sizeof a);
    if (!strcmp(a, ip)) return 1;
  }
  return 0;
}

/* Tells the site (at most every 10 s) that connections are refused for want of descriptors. */
static void descriptor_notice(http_server *s, const char *why) {
  s->stats.descriptors_exhausted = 1;
  uint64_t now = uv_now(s->loop);
  if (!s->o.notice || (s->last_notice && now - s->last_notice < 10000)) return;
  s->last_notice = now;
  char msg[300];
  snprintf(msg, sizeof msg,
           "cannot accept connections: %s (%u open, file limit %llu; raise the process's file limit, ulimit -n)", why,
           s->n_conns, (unsigned long long)s->fd_limit);
  s->o.notice(s->o.notice_ud, msg);
}

static void on_connection(uv_stream_t *listener, int status) {
  http_server *s = listener->data;
  if (status < 0) {
    s->stats.accept_failures++;
    if (status == UV_EMFILE || status == UV_ENFILE) descriptor_notice(s, uv_strerror(status));
    return;
  }
  if (s->closing) return;
  conn *c = calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
    conn_close(c);
    return;
  }
  /* Descriptors are handed out lowest first: one this high means nearly
   * all are taken. The last ones are kept for the store (a commit that
   * cannot open its journal loses writes), uploads and plugins; libuv
   * itself drops connections it cannot accept without a word. */
  uv_os_fd_t fd;
  if (s->fd_limit && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 && (uint64_t)fd + FD_RESERVE >= s->fd_limit) {
    s->stats.refused_descriptors++;
    descriptor_notice(s, "too many open files");
    conn_close(c);
    return;
  }
  s->stats.descriptors_exhausted = 0;
  uv_tcp_nodelay(&c->tcp, 1);
  struct sockaddr_storage addr;
  int len = sizeof addr;
  snprintf(c->remote, sizeof c->remote, "?");
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &len) == 0) {
    char ip[48] = "?";
    int port = 0;
    if (addr.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&addr, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
      snprintf(c->remote, sizeof c->remote, "[%s]:%d", ip, port);
    } else {
      uv_ip4_name((struct sockaddr_in *)&addr, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
      snprintf(c->remote, sizeof c->remote, "%s:%d", ip, port);
    }
    vigil__http_address(ip, strlen(ip), c->ip, sizeof c->ip); /* ::ffff:10.0.0.1 is 10.0.0.1 */
  }
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  /* One address may not take every connection (a site's setting). */
  if (c->ip[0] && !unlimited(s, c->ip) && from_address(s, c) >= s->o.max_connections_per_address) {
    s->stats.refused_per_address++;
    refuse(c, 503, "too_many_connections", "too many connections from this address; close some and try again", NULL);
    return;
  }
  /* At the limit the one idle longest makes room (a client that holds
   * connections it does not use cannot keep others out); with none idle
   * the newcomer is told why below. */
  int full = s->n_conns - s->n_closing > s->o.max_connections;
  if (full) {
    conn *oldest = NULL;
    for (conn *x = s->conns; x; x = x->next)
      if (x != c && x->reading && conn_idle(x) && (!oldest || x->idle_since <= oldest->idle_since)) oldest = x;
    if (oldest) {
      s->stats.closed_idle++;
      conn_close(oldest);
      full = 0;
    }
  }
  if (full) {
    s->stats.refused_total++;
    refuse(c, 503, "too_many_connections", "the server has too many connections open; try again shortly", NULL);
    return;
  }
  set_crowded(s);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
    conn_close(c);
    return;
  }
  c->reading = 1;
  arm_timer(c);
}

/* ---- the server ------------------------------------------------------------- */

static void free_server(uv_handle_t *h) {
  http_server *s = h->data;
  void (*done)(void *) = s->done;
  void *ud = s->done_ud;
  free(s);
  if (done) done(ud);
}

static void on_listener_closed(uv_handle_t *h) {
  http_server *s = h->data;
  s->listener_open = 0;
  maybe_finish(s);
}

static void maybe_finish(http_server *s) {
  if (!s->closing || s->listener_open || s->conns) return;
  if (s->close_timer_open) {
    s->close_timer_open = 0;
    uv_close((uv_handle_t *)&s->close_timer, free_server);
  }
}

static void on_close_grace(uv_timer_t *t) {
  http_server *s = t->data;
  for (conn *c = s->conns; c; c = c->next)
    conn_close(c);
}

int vigil__http_server_start(uv_loop_t *loop, const http_options *opts, http_server **out, char *err, size_t errlen) {
  *out = NULL;
  http_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return UV_ENOMEM;
  }
  s->loop = loop;
  s->o = *opts;
  if (!s->o.host) s->o.host = "127.0.0.1";
  if (!s->o.max_head_bytes) s->o.max_head_bytes = 16 * 1024;
  if (!s->o.max_body_bytes) s->o.max_body_bytes = 1024 * 1024;
  if (!s->o.max_buffered_body_bytes) s->o.max_buffered_body_bytes = (size_t)64 << 20;
  size_t quarter =
      s->o.max_buffered_body_bytes / 4 > s->o.max_body_bytes ? s->o.max_buffered_body_bytes / 4 : s->o.max_body_bytes;
  if (!s->o.max_buffered_body_per_address) s->o.max_buffered_body_per_address = quarter;
  if (!s->o.max_buffered_body_per_user) s->o.max_buffered_body_per_user = quarter;
  if (!s->o.idle_timeout_ms) s->o.idle_timeout_ms = 30000;
  if (!s->o.request_timeout_ms) s->o.request_timeout_ms = 10000;
  if (!s->o.header_timeout_ms) s->o.header_timeout_ms = 5000;
  if (!s->o.min_body_bytes_per_s) s->o.min_body_bytes_per_s = 8 * 1024;
  if (!s->o.max_pipeline) s->o.max_pipeline = 16;
  if (!s->o.max_unsent_answer_bytes) s->o.max_unsent_answer_bytes = 1u << 20;
  if (!s->o.unsent_answer_timeout_ms) s->o.unsent_answer_timeout_ms = 10000;
  if (!s->o.max_connections) s->o.max_connections = 1024;
  if (!s->o.max_connections_per_address) s->o.max_connections_per_address = 64;
  if (!s->o.crowded_connections) s->o.crowded_connections = s->o.max_connections - s->o.max_connections / 4;
  if (!s->o.crowded_idle_timeout_ms) s->o.crowded_idle_timeout_ms = 5000;
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) s->fd_limit = nofile.rlim_cur;
  s->settings.on_message_begin = on_message_begin;
  s->settings.on_url = on_url;
  s->settings.on_header_field = on_header_field;
  s->settings.on_header_value = on_header_value;
  s->settings.on_headers_complete = on_headers_complete;
  s->settings.on_body = on_body;
  s->settings.on_message_complete = on_message_complete;
  /* The parser's own count covers every byte of the head, separators too;
   * ours (head_limit) is the same limit counted from the callbacks. */
  http_parser_set_max_header_size((uint32_t)s->o.max_head_bytes);

  union {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
  } addr;
  int rc = strchr(s->o.host, ':') ? uv_ip6_addr(s->o.host, s->o.port, &addr.in6)
                                  : uv_ip4_addr(s->o.host, s->o.port, &addr.in4);
  if (rc < 0) {
    snprintf(err, errlen, "%s is not an IP address", s->o.host);
    free(s);
    return rc;
  }
  uv_tcp_init(loop, &s->listener);
  uv_timer_init(loop, &s->close_timer);
  s->listener.data = s->close_timer.data = s;
  s->listener_open = s->close_timer_open = 1;
  s->closing = 1; /* until listening: a failure below only closes the handles */
  if ((rc = uv_tcp_bind(&s->listener, &addr.sa, 0)) < 0 ||
      (rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection)) < 0) {
    snprintf(err, errlen, "cannot listen on %s port %d: %s", s->o.host, s->o.port, uv_strerror(rc));
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    return rc;
  }
  s->closing = 0;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len) == 0)
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
  *out = s;
  return 0;
}

int vigil__http_server_port(const http_server *s) { return s->port; }

void vigil__http_server_stats(const http_server *s, http_stats *out) {
  *out = s->stats;
  out->connections = s->n_conns;
}

http_server *vigil__http_request_server(const http_request *r) { return r->srv; }

int vigil__http_request_gone(const http_request *r) { return !r->conn || r->conn->closing; }

void vigil__http_server_close(http_server *s, void (*done)(void *ud), void *ud) {
  if (s->closing) return;
  s->closing = 1;
  s->done = done;
  s->done_ud = ud;
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
  uv_timer_start(&s->close_timer, on_close_grace, CLOSE_GRACE_MS, 0);
  for (conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if (c->closing) continue;
    if (!c->head && !c->writing) {
      conn_close(c);
      continue;
    }
    request_free(c->cur);
    c->cur = NULL;
    c->stop_parsing = 1;
    free(c->stash);
    c->stash = NULL;
    c->stash_len = 0;
    if (c->head && c->head->streaming && c->head->stream_closed) {
      c->head->stream_closed(c->head->stream_ud, c->head); /* its owner ends it */
      continue;
    }
    flush(c);
  }
}

/* ---- streamed answers ------------------------------------------------------------ */

static int conn_write(conn *c, const char *data, size_t len) {
  wreq *w = malloc(sizeof *w + len);
  if (!w) return UV_ENOMEM;
  memcpy(w->data, data, len);
  w->len = len;
  w->c = c;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  int rc = uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc < 0) {
    free(w);
    return rc;
  }
  c->writing++;
  return 0;
}

int vigil__http_stream_begin(http_request *r, int status, const char *content_type, const char *extra_headers,
                             http_stream_closed_fn closed, void *ud) {
  conn *c = r->conn;
  if (r->answered || r->streaming) return UV_EINVAL;
  if (!c || c->closing || c->shutting) return UV_ENOTCONN;
  if (c->head != r) return UV_EBUSY;
  http_server *s = r->srv;
  r->logged = 1; /* here, at its start: a stream has no end to wait for */
  if (s->o.log)
    s->o.log(s->o.log_ud, r, &(http_log_entry){.status = status, .ms = (double)(uv_hrtime() - r->started_ns) / 1e6});
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  char head[2048];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: vigil\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
                   "X-Content-Type-Options: nosniff\r\nConnection: close\r\n%s\r\n",
                   status, vigil__http_status_text(status), date, content_type, extra_headers ? extra_headers : "");
  if (n < 0 || (size_t)n >= sizeof head) return UV_EINVAL;
  /* The answer ends when the connection does: nothing more is read as
   * requests, and what was pipelined behind this one is not answered. */
  for (http_request *q = r->next, *next; q; q = next) {
    next = q->next;
    if (q->dispatched && !q->answered)
      q->conn = NULL;
    else
      request_free(q);
  }
  r->next = NULL;
  c->tail = r;
  c->queued = 1;
  c->stop_parsing = 1;
  request_free(c->cur);
  c->cur = NULL;
  free(c->stash);
  c->stash = NULL;
  c->stash_len = 0;
  r->streaming = 1;
  r->stream_closed = closed;
  r->stream_ud = ud;
  uv_timer_stop(&c->timer);
  int rc = conn_write(c, head, (size_t)n);
  if (rc < 0) {
    conn_close(c); /* tells the owner */
    return 0;
  }
  return 0;
}

int vigil__http_stream_write(http_request *r, const char *data, size_t len) {
  conn *c = r->conn;
  if (!r->streaming || !c || c->closing || c->shutting) return UV_ENOTCONN;
  if (r->head) return 0;
  int rc = conn_write(c, data, len);
  if (rc < 0) conn_close(c);
  return rc;
}

size_t vigil__http_stream_queued(const http_request *r) {
  conn *c = r->conn;
  return c && !c->closing ? uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) : 0;
}

void vigil__http_stream_end(http_request *r) {
  conn *c = r->conn;
  if (!c) {
    request_free(r); /* its connection is gone already */
    return;
  }
  r->answered = 1;
  r->streaming = 0;
  r->stream_closed = NULL;
  /* It is the head of its connection's queue, and the last. */
  c->head = r->next;
  if (!c->head) c->tail = NULL;
  c->queued--;
  request_free(r);
  c->stop_parsing = 1;
  flush(c);
}
