/* http.h: a small HTTP/1.1 server on a libuv loop.
 *
 * Requests are parsed with http-parser (Debian's libhttp-parser-dev). Each
 * connection has limits (the request line and headers together, the body),
 * keep-alive, an idle timeout and a slow-client timeout, and answers
 * pipelined requests in the order they came.
 *
 * The server knows nothing of vigil: it hands every complete request to one
 * handler, which answers it with vigil__http_respond(), at once or later (a write
 * waits for its group commit). Every request is answered exactly once; the
 * request stays valid until then, even if its client has gone away (the
 * answer is then dropped).
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct http_server http_server;
typedef struct http_request http_request;

/* Called once per complete request, in the order of each connection. */
typedef void (*http_handler_fn)(void *ud, http_request *req);

/* What a request's log line says of its answer (http_log_fn). */
typedef struct http_log_entry {
  int status;
  size_t body_bytes; /* of its body, written to the socket (none for HEAD or 304) */
  size_t length;     /* its body's whole length (Content-Length) */
  double ms;         /* from the request's first byte until the answer was written, or cut short */
  /* The connection closed before the whole answer was written to it (the
   * client went, or stopped reading): body_bytes is what was, to 64 KiB,
   * as nginx's $request_completion (docs/security.md AT6). */
  int aborted;
} http_log_entry;

/* Called once per answered request: when its answer is written to the
 * socket whole, or was cut short (its connection closed first); a streamed
 * answer when it starts. */
typedef void (*http_log_fn)(void *ud, const http_request *req, const http_log_entry *e);

typedef struct http_options {
  const char *host;      /* NULL: 127.0.0.1 */
  int port;              /* 0: any free port (see vigil__http_server_port) */
  size_t max_head_bytes; /* request line and headers; 0: 16 KiB (more: 431) */
  size_t max_body_bytes; /* 0: 1 MiB (more: 413) */
  /* Request body bytes held at once by all connections (a body's
   * Content-Length is counted from its headers, a chunked one as it comes):
   * past it 503 busy and the connection closed (docs/security.md V4). 0: 64 MiB. */
  size_t max_buffered_body_bytes;
  /* The share of it one client address, and one signed-in user (all their
   * sessions and tokens together), may hold: past either 429
   * too_many_bodies on the headers and the connection closed, its body
   * unread, so that one address or one user's token cannot take every
   * body's room and stall everyone's writes (docs/security.md Z3). The
   * address is the connection's unless head_check names the client
   * (vigil__http_request_hold_as: the one a trusted proxy forwarded).
   * 0: a quarter of max_buffered_body_bytes, at least max_body_bytes. */
  size_t max_buffered_body_per_address;
  size_t max_buffered_body_per_user;
  /* Called when a request with a body has its headers, before any of the
   * body is read: non-zero refuses it with *status, *code and *message
   * (static text), and the connection closes, its body unread (no route; a
   * route that needs a signed-in user and no valid session: V4); it may
   * lower the request's body limit (vigil__http_request_limit_body). NULL: none. */
  int (*head_check)(void *ud, http_request *req, int *status, const char **code, const char **message);
  void *head_check_ud;
  uint64_t idle_timeout_ms;    /* a connection with nothing to do; 0: 30 s */
  uint64_t request_timeout_ms; /* from a request's first byte to its last; 0: 10 s (then 408) */
  /* From a request's first byte to the end of its headers, else 408
   * headers_too_slow and the connection closed: headers sent a byte at a
   * time held a connection (which is not idle, so not closed at
   * max_connections) for the whole request_timeout (docs/security.md Z9).
   * 0: 5 s. */
  uint64_t header_timeout_ms;
  /* A body must come at this many bytes a second at least, counted from its
   * headers once BODY_RATE_GRACE_MS have passed, else 408 body_too_slow and
   * the connection closed, its bytes given back (a slowloris on bodies holds
   * its share of max_buffered_body_bytes for seconds, not the whole
   * request_timeout; docs/security.md Z3). 0: 8 KiB a second. */
  uint64_t min_body_bytes_per_s;
  unsigned max_pipeline; /* requests of one connection waiting for answers; 0: 16 */
  /* Answer bytes of one connection the client has not taken yet (written
   * but not accepted by the socket): past it no more requests are read
   * until they go down, so a client that pipelines large pages and reads
   * nothing holds at most this much, not max_pipeline answers of any size
   * (docs/security.md Z10). 0: 1 MiB. */
  size_t max_unsent_answer_bytes;
  /* A connection whose unsent answer bytes have not gone down for this long
   * is closed (the client reads nothing). 0: 10 s. */
  uint64_t unsent_answer_timeout_ms;
  http_handler_fn handler;
  void *handler_ud;
  http_log_fn log; /* NULL: none */
  void *log_ud;
  unsigned max_connections;             /* open at once; 0: 1024 (then the one idle longest is closed, or 503) */
  unsigned max_connections_per_address; /* from one client address; 0: 64 (more: 503, closed) */
  unsigned crowded_connections;         /* open at once from which idle ones close sooner; 0: 3/4 of max */
  uint64_t crowded_idle_timeout_ms;     /* the idle timeout then; 0: 5 s */
  const char *const *unlimited;         /* addresses without the per-address limit (trusted proxies) */
  size_t n_unlimited;
  /* Called (at most every 10 s) when connections cannot be accepted: the
   * process is out of file descriptors. NULL: none. */
  void (*notice)(void *ud, const char *message);
  void *notice_ud;
  /* The names this server answers to: a request whose Host (without its
   * port) names another is 421 misdirected_request, against DNS rebinding
   * (vigil.conf server_names). NULL: any. With any_address_literal, a Host
   * that is an IP address is taken too (listening on every address: an
   * address cannot be rebound). */
  const char *const *server_names;
  size_t n_server_names;
  int any_address_literal;
  /* Cookies that a request may carry once: one of them named twice in the
   * Cookie line is 400 bad_request, field Cookie (docs/security.md Z6: a
   * cookie planted for a sibling host or a narrower path, which the browser
   * sends first, would otherwise be the one read). NULL: none. */
  const char *const *cookies_once;
  size_t n_cookies_once;
} http_options;

/* What /metrics says of the connections. */
typedef struct http_stats {
  unsigned connections;         /* open now */
  uint64_t refused_per_address; /* over max_connections_per_address */
  uint64_t refused_total;       /* over max_connections, none idle to close */
  uint64_t closed_idle;         /* idle ones closed at max_connections to make room */
  uint64_t refused_descriptors; /* file descriptors nearly exhausted (a reserve is kept for the store) */
  uint64_t accept_failures;     /* accept() failed: out of file descriptors (EMFILE, ENFILE) or memory */
  int descriptors_exhausted;    /* the last connection was refused, or not accepted, for want of descriptors */
  uint64_t body_bytes;          /* request body bytes held now (max_buffered_body_bytes) */
  uint64_t body_bytes_max;      /* the most held at once since the start */
  uint64_t refused_bodies;      /* requests refused 503 over max_buffered_body_bytes */
  uint64_t refused_body_share;  /* requests refused 429 over an address's or a user's share of it */
  uint64_t refused_at_head;     /* requests refused by head_check before their body was read */
  uint64_t closed_unread;       /* connections closed because the client took none of its answers (Z10) */
} http_stats;

void vigil__http_server_stats(const http_server *s, http_stats *out);
/* Whether req's client has gone (its connection closed before the answer):
 * an answer is then dropped, so a costly one need not be made. */
int vigil__http_request_gone(const http_request *req);
/* The server a request came to. */
http_server *vigil__http_request_server(const http_request *r);

/* Binds and listens. On failure returns a negative libuv error with a
 * sentence in err. */
int vigil__http_server_start(uv_loop_t *loop, const http_options *opts, http_server **out, char *err, size_t errlen);

/* The port the server listens on. */
int vigil__http_server_port(const http_server *s);

/* Stops accepting. Idle connections close at once; the others once the
 * answers of the requests they sent are written (a request still being
 * received is dropped); whatever is left after 5 s is closed anyway. Then
 * done(ud) is called and the server is freed. */
void vigil__http_server_close(http_server *s, void (*done)(void *ud), void *ud);

/* ---- requests ------------------------------------------------------------ */

const char *vigil__http_request_method(const http_request *r); /* "GET"; HEAD is answered as GET without the body */
const char *vigil__http_request_path(const http_request *r);   /* "/api/v1/visits", without the query */
const char *vigil__http_request_query(const http_request *r);  /* "status=active" (raw), or "" */
/* A header's value (name without regard to case), or NULL. */
const char *vigil__http_request_header(const http_request *r, const char *name);
const char *vigil__http_request_body(const http_request *r, size_t *len); /* NUL-terminated */
uint64_t vigil__http_request_id(const http_request *r);                   /* per server, from 1 */
const char *vigil__http_request_remote(const http_request *r);            /* "127.0.0.1:53422" */

/* From head_check: this request's body may be at most max_bytes (below the
 * server's max_body_bytes): a Content-Length past it is 413 on the headers,
 * a chunked body 413 as soon as it passes it, the connection closed (a
 * route open to all, a method the path does not take: docs/security.md V4). */
void vigil__http_request_limit_body(http_request *r, size_t max_bytes);

/* From head_check: whom this request's body counts against for the shares
 * of max_buffered_body_bytes: the client's address (NULL: the
 * connection's; behind a trusted proxy, the forwarded one) and the
 * signed-in user (NULL: none). */
void vigil__http_request_hold_as(http_request *r, const char *address, const char *user);

/* A query parameter, percent-decoded, into out (NUL-terminated). Returns its
 * length, -1 if absent, -2 if it does not fit or is badly encoded, -3 if it
 * is given more than once (?after=1&after=99999: which one is meant? Z7). */
int vigil__http_query_param(const char *query, const char *name, char *out, size_t outlen);
/* Answers 400 invalid_query "NAME is given more than once" (field name),
 * for a parameter vigil__http_query_param found twice (-3): -1. */
int vigil__http_query_twice(http_request *req, const char *name);
/* The same for the k-th (from 0) of a parameter given more than once. */
int vigil__http_query_param_at(const char *query, const char *name, unsigned k, char *out, size_t outlen);

/* The last element of a list header's value (X-Forwarded-Host's lines are
 * one list, the proxy's value last), without surrounding blanks: 0, or -1
 * when it is empty or does not fit. */
int vigil__http_list_last(const char *list, char *out, size_t len);

/* An IP address as written in a header or a setting (text, n bytes: "10.5.5.5",
 * "10.5.5.5:4444", "[::1]:80", "::ffff:10.5.5.5", RFC 7239's quoted form) in
 * one form (inet_ntop's; an IPv4-mapped IPv6 address as IPv4; no port), so
 * that two spellings of one address compare equal. 0; -1 when it is no
 * address (out then holds the text without surrounding blanks). */
int vigil__http_address(const char *text, size_t n, char *out, size_t len);

/* Answers req. extra_headers: NULL or complete lines ("Location: /x\r\n").
 * The body is copied. */
void vigil__http_respond(http_request *req, int status, const char *content_type, const char *body, size_t len,
                         const char *extra_headers);

/* Answers with {"error": {"code": code, "message": message, "field": field}}
 * (field: null when NULL). */
void vigil__http_respond_error(http_request *req, int status, const char *code, const char *message, const char *field);

/* The JSON text of that error object, malloc'd; extra (may be NULL) is a
 * JSON object whose members are added to "error" (it is not taken). */
char *vigil__http_error_json(const char *code, const char *message, const char *field, void *extra /* json_t* */);

const char *vigil__http_status_text(int status);

/* Whether s is valid UTF-8 (what comes from headers is not checked). */
int vigil__http_utf8_valid(const char *s);

/* ---- streamed answers (Server-Sent Events) ------------------------------- */

/* Called once when a stream is over from the server's side: the client went
 * away, or the server is closing. The owner then calls vigil__http_stream_end (at
 * once or later) and writes no more. */
typedef void (*http_stream_closed_fn)(void *ud, http_request *req);

/* Answers req with a head now and a body written piece by piece until
 * vigil__http_stream_end; the connection closes after it and takes no more
 * requests. req must be the oldest unanswered request of its connection
 * (UV_EBUSY otherwise) and its client still there (UV_ENOTCONN); on an
 * error req is not answered yet (answer it with vigil__http_respond). */
int vigil__http_stream_begin(http_request *req, int status, const char *content_type, const char *extra_headers,
                             http_stream_closed_fn closed, void *ud);
/* Queues data; < 0 when the client is gone. */
int vigil__http_stream_write(http_request *req, const char *data, size_t len);
/* Bytes written but not yet taken by the kernel: how far behind the client is. */
size_t vigil__http_stream_queued(const http_request *req);
/* Ends the stream; req is freed. */
void vigil__http_stream_end(http_request *req);

#endif
