/* http_client.h: a tiny blocking HTTP/1.1 client over plain sockets, for the
 * server's tests (libcurl is not a dependency). It reads responses with a
 * Content-Length body, keeps what follows for the next one (pipelining), and
 * tells when the server closed the connection.
 *
 * When the server runs in the test's own thread, hc_set_pump() gives a
 * function that runs the server's loop once: the client calls it instead of
 * sleeping while it waits. */
#ifndef VIGIL_TESTS_HTTP_CLIENT_H
#define VIGIL_TESTS_HTTP_CLIENT_H

#include <stddef.h>

typedef struct hc_conn {
  int fd;
  char *buf; /* received, not yet consumed */
  size_t len, cap;
  int eof; /* the server closed (or reset) the connection */
} hc_conn;

typedef struct hc_response {
  int status;
  char *head; /* status line and headers */
  char *body; /* NUL-terminated */
  size_t body_len;
} hc_response;

void hc_set_pump(void (*pump)(void *ud), void *ud);

/* 0, or -1. */
int hc_connect(hc_conn *c, int port);
/* The same with a small receive buffer (bytes; a client slow to read). */
int hc_connect_rcvbuf(hc_conn *c, int port, int rcvbuf);
void hc_close(hc_conn *c);
int hc_send(hc_conn *c, const char *data, size_t len);
int hc_send_str(hc_conn *c, const char *data);

/* Reads one response: 0; -1 on a timeout, a malformed response, or the
 * connection closing before a whole response. */
int hc_read(hc_conn *c, hc_response *r, int timeout_ms);
void hc_response_free(hc_response *r);
/* Sends the raw request text on a new connection to port, reads its
 * response and closes: 0, or -1 (no connection or no answer). */
int hc_exchange(int port, const char *request, hc_response *r, int timeout_ms);
/* A loopback port free a moment ago (for a server a test starts), or -1. */
int hc_free_port(void);
/* A header's value (copied into out), or NULL. */
const char *hc_header(const hc_response *r, const char *name, char *out, size_t len);

/* Sends one request (token and body may be NULL; a token goes as
 * "Authorization: Bearer") and reads its response. */
int hc_request(hc_conn *c, const char *method, const char *path, const char *token, const char *body, hc_response *r);
/* The same with an Idempotency-Key header. */
int hc_request_keyed(hc_conn *c, const char *method, const char *path, const char *token, const char *key,
                     const char *body, hc_response *r);
/* The same, as text: "METHOD PATH HTTP/1.1" with Host, the token, and the
 * body's Content-Length. malloc'd. */
char *hc_format(const char *method, const char *path, const char *token, const char *body);

/* 1 if the server closed the connection within timeout_ms (data received
 * first is kept), else 0. */
int hc_wait_closed(hc_conn *c, int timeout_ms);

/* One Server-Sent Events frame: its id, event and data (NULL if none), or
 * comment set for a frame of comments only (a heartbeat). */
typedef struct hc_sse {
  char id[32], event[64];
  char *data;
  int comment;
} hc_sse;

/* The next frame of an event stream whose head hc_read has read: 0, or -1 on
 * a timeout or the stream closing. */
int hc_sse_read(hc_conn *c, hc_sse *ev, int timeout_ms);
void hc_sse_free(hc_sse *ev);

/* Milliseconds on a monotonic clock. */
double hc_now_ms(void);

#endif
