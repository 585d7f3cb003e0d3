/* stream.c: Server-Sent Events from the event log (see stream.h).
 *
 * Every subscriber is either replaying (sending what the durable log holds
 * after its position, a chunk at a time while its connection keeps up) or
 * live (sending each event the engine publishes). The switch is safe because
 * the engine publishes an event only after it is durable, and publishes
 * everything durable before the loop runs anything else: once a replay
 * finds nothing more in the log, every later event will be published to it.
 * A replaying subscriber ignores live events (the log has them), and a live
 * one skips any sequence number it has passed already. */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "store/event.h"

#define CHUNK 256
#define PUMP_MS 10

typedef struct stream stream;

struct stream {
  streams *owner;
  http_request *req;
  uint64_t last; /* the last sequence number passed (sent or filtered out) */
  uint64_t visit;
  char *types;          /* "alert.*,visit.discharged", or NULL: every type */
  int live, busy, gone; /* busy: in a call that may learn the client is gone */
  char session[64];     /* the session's or token's key, or "" */
  char address[64];     /* the client's address */
  char user[72];        /* whose session or token it is, or "" */
  stream *prev, *next;
};

struct streams {
  vigil_engine *e;
  uv_loop_t *loop;
  uv_timer_t heartbeat, pump;
  int sub;
  streams_options o;
  stream *list;
  unsigned n;
  uint64_t opened, dropped;
  int closing, handles;
  void (*done)(void *ud);
  void *done_ud;
};

typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sbuf_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* id: SEQ, or SITE:SEQ on a node of a cluster (seq counts per site). */
static void sbuf_frame(sbuf *b, const char *site, uint64_t seq, const char *json) {
  char id[120];
  int n = snprintf(id, sizeof id, "id: %s%s%llu\ndata: ", site ? site : "", site ? ":" : "", (unsigned long long)seq);
  sbuf_put(b, id, (size_t)n);
  sbuf_put(b, json, strlen(json));
  sbuf_put(b, "\n\n", 2);
}

/* ---- filters -------------------------------------------------------------------- */

static int pattern_matches(const char *pat, size_t n, const char *type) {
  if (n == 1 && pat[0] == '*') return 1;
  if (n >= 2 && pat[n - 1] == '*' && pat[n - 2] == '.') return !strncmp(type, pat, n - 1);
  return strlen(type) == n && !memcmp(type, pat, n);
}

static int wanted(const stream *st, const vigil_event *ev) {
  if (st->visit && vigil_event_visit(ev) != st->visit) return 0;
  if (!st->types) return 1;
  const char *type = vigil_event_type(ev);
  for (const char *p = st->types; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n && pattern_matches(p, n, type)) return 1;
    p += n + (comma ? 1 : 0);
  }
  return 0;
}

/* Patterns are event types, "prefix.*" or "*", separated by commas. */
static int types_valid(const char *t) {
  size_t n = strlen(t);
  /* No empty element (Z7: "visit.started," was taken where "," was not). */
  if (n == 0 || n > 512 || t[0] == ',' || t[n - 1] == ',' || strstr(t, ",,")) return 0;
  for (const char *p = t; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || *p == '.' || *p == '_' || *p == '*' || *p == ',')) return 0;
  return 1;
}

/* The first pattern of t that matches no event type (into out), or 0 when
 * every one matches some: a misspelt type would otherwise be a stream that
 * stays silent forever. */
static int unknown_type(const char *t, char *out, size_t outlen) {
  for (const char *p = t; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    int known = 0;
    for (int i = 0; n && i < EV_COUNT && !known; i++)
      known = pattern_matches(p, n, vigil__event_type_name((event_type)i));
    if (!known) {
      snprintf(out, outlen, "%.*s", (int)(n < 200 ? n : 200), p);
      return 1;
    }
    p += n + (comma ? 1 : 0);
  }
  return 0;
}

/* ---- life of a stream ------------------------------------------------------------ */

static void stream_end(stream *st) {
  streams *s = st->owner;
  if (st->prev)
    st->prev->next = st->next;
  else
    s->list = st->next;
  if (st->next) st->next->prev = st->prev;
  s->n--;
  vigil__http_stream_end(st->req);
  free(st->types);
  free(st);
}

static void on_closed(void *ud, http_request *req) {
  stream *st = ud;
  if (st->busy) {
    st->gone = 1; /* whoever is busy with it ends it */
    return;
  }
  stream_end(st);
}

/* 0, or -1 when the client is gone: st is then ended (freed). */
static int stream_write(stream *st, const char *data, size_t len) {
  st->busy = 1;
  vigil__http_stream_write(st->req, data, len);
  st->busy = 0;
  if (!st->gone) return 0;
  stream_end(st);
  return -1;
}

/* Says why, and ends the stream. */
static void drop(stream *st, const char *reason) {
  streams *s = st->owner;
  s->dropped++;
  char frame[512];
  int n = snprintf(frame, sizeof frame, "event: dropped\ndata: {\"reason\":\"%s\"}\n\n", reason);
  if (stream_write(st, frame, (size_t)n) == 0) stream_end(st);
}

/* AU1: a stream is only as alive as the credential that opened it. 1 when
 * it still allows the stream; else 0, after ending the stream with why
 * (event: ended) before anything more is written to it. */
static int credential_holds(stream *st) {
  streams *s = st->owner;
  if (!s->o.credential_ended) return 1;
  const char *why = s->o.credential_ended(s->o.credential_ud, st->session);
  if (!why) return 1;
  char frame[512];
  int n = snprintf(frame, sizeof frame, "event: ended\ndata: {\"reason\":\"%s\"}\n\n", why);
  if (stream_write(st, frame, (size_t)n) == 0) stream_end(st);
  return 0;
}

/* ---- replay from the log, then live ------------------------------------------------ */

typedef struct chunk {
  stream *st;
  sbuf b;
  int n;
} chunk;

static int collect(void *ud, const vigil_event *ev) {
  chunk *c = ud;
  if (c->n == CHUNK) return 1;
  c->n++;
  c->st->last = vigil_event_seq(ev);
  if (!wanted(c->st, ev)) return 0;
  char *made; /* a stored event lent by the scan: its JSON made for this call */
  const char *json = vigil__event_json_read(ev, NULL, &made);
  if (!json) {
    c->b.oom = 1;
    return 1;
  }
  sbuf_frame(&c->b, c->st->owner->o.site, vigil_event_seq(ev), json);
  free(made);
  return 0;
}

/* Sends chunks of the log while the subscriber keeps up; 1 when it is live. */
static int replay(stream *st) {
  streams *s = st->owner;
  while (!st->live) {
    if (vigil__http_stream_queued(st->req) > s->o.max_queued / 4) return 0; /* it reads on: the pump comes back */
    chunk c = {.st = st};
    int rc = vigil_engine_events(s->e, st->last, collect, &c);
    if (rc < 0 || c.b.oom) {
      free(c.b.p);
      drop(st, rc < 0 ? "the event log could not be read" : "out of memory");
      return -1;
    }
    if (c.b.len && (!credential_holds(st) || stream_write(st, c.b.p, c.b.len) < 0)) {
      free(c.b.p);
      return -1; /* gone, and ended */
    }
    free(c.b.p);
    if (c.n < CHUNK) st->live = 1; /* caught up: the engine publishes the rest */
  }
  return 1;
}

static void on_pump(uv_timer_t *t) {
  streams *s = t->data;
  int replaying = 0;
  for (stream *st = s->list, *next; st; st = next) {
    next = st->next;
    if (!st->live && replay(st) == 0) replaying = 1;
  }
  if (!replaying) uv_timer_stop(&s->pump);
}

static int on_event(void *ud, const vigil_event *ev) {
  streams *s = ud;
  uint64_t seq = vigil_event_seq(ev);
  const char *json = NULL; /* the bytes built once for the event (the store's append, the journal) */
  char *made = NULL;       /* made here only if they were not: memory ran out then */
  for (stream *st = s->list, *next; st; st = next) {
    next = st->next;
    if (!st->live || seq <= st->last || !credential_holds(st)) continue;
    st->last = seq;
    if (!wanted(st, ev)) continue;
    if (vigil__http_stream_queued(st->req) > s->o.max_queued) {
      drop(st, "the subscriber fell too far behind; reconnect with Last-Event-ID to resume");
      continue;
    }
    if (!json && !(json = vigil__event_json_read(ev, NULL, &made))) {
      drop(st, "out of memory");
      continue;
    }
    sbuf b = {0};
    sbuf_frame(&b, s->o.site, seq, json);
    if (b.oom)
      drop(st, "out of memory");
    else
      stream_write(st, b.p, b.len);
    free(b.p);
  }
  free(made);
  return 0;
}

static void on_heartbeat(uv_timer_t *t) {
  streams *s = t->data;
  static const char beat[] = ": heartbeat\n\n";
  for (stream *st = s->list, *next; st; st = next) {
    next = st->next;
    if (!credential_holds(st)) continue;
    if (vigil__http_stream_queued(st->req) > s->o.max_queued)
      drop(st, "the subscriber fell too far behind; reconnect with Last-Event-ID to resume");
    else
      stream_write(st, beat, sizeof beat - 1);
  }
}

/* ---- opening ------------------------------------------------------------------------ */

/* A whole decimal number, or -1. */
static int parse_u64(const char *v, uint64_t *out) {
  size_t n = strlen(v);
  if (n == 0 || n > 19) return -1;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  *out = x;
  return 0;
}

void vigil__streams_open(streams *s, http_request *req, const char *session, const char *user, const char *address) {
  if (s->closing) {
    vigil__http_respond_error(req, 503, "stopping", "the server is stopping", NULL);
    return;
  }
  /* A stream holds its connection for as long as it lives: one session
   * (or token) may hold only so many, and one client address as many as
   * connections_per_address, also when it comes through a trusted proxy,
   * whose own address has no limit (W S8). */
  unsigned of_session = 0, of_address = 0, of_user = 0;
  for (const stream *o = s->list; o; o = o->next) {
    of_session += session && *session && !strcmp(o->session, session);
    of_user += user && *user && !strcmp(o->user, user);
    of_address += address && *address && !strcmp(o->address, address);
  }
  /* A user signing in again gets another session, not four more streams (Z8). */
  int by_session = of_session >= s->o.per_session;
  if (by_session || of_user >= s->o.per_user) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s %u event streams open %s: close one (another %s?) first",
             by_session ? "this session already has" : "you already have", by_session ? of_session : of_user,
             by_session ? "(streams_per_session)" : "in your sessions (streams_per_user)",
             by_session ? "tab" : "screen");
    vigil__http_respond_error(req, 429, "too_many_streams", msg, NULL);
    return;
  }
  if (of_address >= s->o.per_address) {
    vigil__http_respond_error(req, 503, "too_many_connections",
                              "too many connections from this address (connections_per_address)", NULL);
    return;
  }
  const char *query = vigil__http_request_query(req);
  char v[520];
  uint64_t after = vigil_query_last_seq(s->e), visit = 0;
  /* A reconnecting EventSource sends Last-Event-ID: it wins over ?after=. */
  const char *last_id = vigil__http_request_header(req, "Last-Event-ID");
  int n;
  if (last_id && *last_id) {
    /* A node's ids name their site (SITE:SEQ): another site's id was sent
     * to its owner before this (vigil__api_cluster_redirect_site). */
    const char *colon = strrchr(last_id, ':');
    size_t site_len = colon ? (size_t)(colon - last_id) : 0;
    int same_site = !colon || (s->o.site && strlen(s->o.site) == site_len && !memcmp(last_id, s->o.site, site_len));
    if (!same_site || parse_u64(colon ? colon + 1 : last_id, &after) < 0) {
      vigil__http_respond_error(req, 400, "invalid_header",
                                "Last-Event-ID must be an event's id as the stream gave it (SEQ, or SITE:SEQ on a "
                                "node of a cluster)",
                                "Last-Event-ID");
      return;
    }
  } else if ((n = vigil__http_query_param(query, "after", v, sizeof v)) != -1) {
    if (n == -3) {
      vigil__http_query_twice(req, "after");
      return;
    }
    if (n < 0 || parse_u64(v, &after) < 0) {
      vigil__http_respond_error(req, 400, "invalid_query", "after must be a whole number", "after");
      return;
    }
  }
  if ((n = vigil__http_query_param(query, "visit", v, sizeof v)) == -3) {
    vigil__http_query_twice(req, "visit");
    return;
  }
  if (n != -1 && (n < 0 || parse_u64(v, &visit) < 0)) {
    vigil__http_respond_error(req, 400, "invalid_query", "visit must be a visit's id", "visit");
    return;
  }
  if (visit && vigil_query_visit_status(s->e, visit, NULL) == VIGIL_ENOENT) { /* it would wait for ever */
    snprintf(v, sizeof v, "no visit %llu", (unsigned long long)visit);
    vigil__http_respond_error(req, 404, "not_found", v, "visit");
    return;
  }
  /* ?types= given more than once: each is checked, and they add up (a
   * misspelt one is 422 wherever it stands). */
  buf joined;
  vigil__buf_init(&joined);
  for (unsigned k = 0; (n = vigil__http_query_param_at(query, "types", k, v, sizeof v)) != -1; k++) {
    if (n < 0 || !types_valid(v)) {
      vigil__http_respond_error(req, 400, "invalid_query",
                                "types is a list of event types, prefix.* or *, comma-separated", "types");
      vigil__buf_free(&joined);
      return;
    }
    char bad[210];
    if (unknown_type(v, bad, sizeof bad)) {
      char msg[300];
      snprintf(msg, sizeof msg, "'%s' matches no event type (docs/events.md lists them)", bad);
      vigil__http_respond_error(req, 422, "unknown_type", msg, "types");
      vigil__buf_free(&joined);
      return;
    }
    vigil__buf_printf(&joined, "%s%s", joined.len ? "," : "", v);
  }
  if (joined.oom) {
    vigil__buf_free(&joined);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  char *types = NULL;
  if (joined.len)
    types = vigil__buf_take(&joined);
  else
    vigil__buf_free(&joined);
  /* A resume point past the end of the log would wait, silently, for events
   * that are not coming (the log was restored from an older backup, or the
   * number is made up). */
  uint64_t last = vigil_query_last_seq(s->e);
  if (after > last) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s %llu is ahead of the event log, whose last event is %llu",
             last_id && *last_id ? "Last-Event-ID" : "after", (unsigned long long)after, (unsigned long long)last);
    vigil__http_respond_error(req, 409, "ahead_of_log", msg, last_id && *last_id ? "Last-Event-ID" : "after");
    free(types);
    return;
  }
  stream *st = calloc(1, sizeof *st);
  if (!st) {
    free(types);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  st->owner = s;
  st->req = req;
  snprintf(st->session, sizeof st->session, "%s", session ? session : "");
  snprintf(st->address, sizeof st->address, "%s", address ? address : "");
  snprintf(st->user, sizeof st->user, "%s", user ? user : "");
  st->last = after;
  st->visit = visit;
  st->types = types;
  st->busy = 1;
  int rc = vigil__http_stream_begin(req, 200, "text/event-stream; charset=utf-8", "X-Accel-Buffering: no\r\n",
                                    on_closed, st);
  if (rc < 0) {
    free(types);
    free(st);
    if (rc == UV_EBUSY)
      vigil__http_respond_error(req, 400, "bad_request",
                                "an event stream cannot wait behind other requests on its connection", NULL);
    else
      vigil__http_respond_error(req, 503, "unavailable", "the connection is closing", NULL);
    return;
  }
  st->next = s->list;
  if (s->list) s->list->prev = st;
  s->list = st;
  s->n++;
  s->opened++;
  st->busy = 0;
  if (st->gone) {
    stream_end(st);
    return;
  }
  static const char hello[] = "retry: 2000\n: vigil event stream\n\n";
  if (stream_write(st, hello, sizeof hello - 1) < 0) return;
  if (replay(st) == 0 && !uv_is_active((uv_handle_t *)&s->pump)) uv_timer_start(&s->pump, on_pump, PUMP_MS, PUMP_MS);
}

/* ---- the set of streams ------------------------------------------------------------- */

int vigil__streams_new(vigil_engine *e, uv_loop_t *loop, const streams_options *o, streams **out) {
  streams *s = calloc(1, sizeof *s);
  if (!s) return VIGIL_ENOMEM;
  s->e = e;
  s->loop = loop;
  if (o) s->o = *o;
  if (!s->o.heartbeat_ms) s->o.heartbeat_ms = 15000;
  if (!s->o.max_queued) s->o.max_queued = 1024 * 1024;
  if (!s->o.per_session) s->o.per_session = 4;
  if (!s->o.per_user) s->o.per_user = 8;
  if (!s->o.per_address) s->o.per_address = 64;
  s->sub = vigil_engine_subscribe(e, "*", on_event, s);
  if (s->sub <= 0) {
    free(s);
    return VIGIL_ENOMEM;
  }
  uv_timer_init(loop, &s->heartbeat);
  uv_timer_init(loop, &s->pump);
  s->heartbeat.data = s->pump.data = s;
  s->handles = 2;
  uv_timer_start(&s->heartbeat, on_heartbeat, s->o.heartbeat_ms, s->o.heartbeat_ms);
  *out = s;
  return 0;
}

unsigned vigil__streams_count(const streams *s) { return s->n; }

void vigil__streams_stats_get(const streams *s, streams_stats *out) {
  out->subscribers = s->n;
  out->opened = s->opened;
  out->dropped = s->dropped;
}

static void on_timer_closed(uv_handle_t *h) {
  streams *s = h->data;
  if (--s->handles > 0) return;
  void (*done)(void *) = s->done;
  void *ud = s->done_ud;
  free(s);
  if (done) done(ud);
}

void vigil__streams_close(streams *s, void (*done)(void *ud), void *ud) {
  s->closing = 1;
  s->done = done;
  s->done_ud = ud;
  while (s->list)
    stream_end(s->list);
  vigil_engine_unsubscribe(s->e, s->sub);
  uv_close((uv_handle_t *)&s->heartbeat, on_timer_closed);
  uv_close((uv_handle_t *)&s->pump, on_timer_closed);
}
