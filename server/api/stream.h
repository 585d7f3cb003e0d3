/* stream.h: the live event stream, GET /api/v1/events/stream, as
 * Server-Sent Events.
 *
 * Each event goes out as `id: SEQ` (on a node of a cluster `id: SITE:SEQ`,
 * docs/http.md) and `data: {the event's JSON}`. A
 * subscriber starts after a sequence number (Last-Event-ID, or ?after=; by
 * default: from now on) and first gets what the durable log holds after it,
 * a chunk at a time as it reads, then live events as they become durable: it
 * misses nothing and gets nothing twice, across server restarts too. Filters:
 * ?types=alert.*,visit.discharged and ?visit=ID. A comment line goes out as a
 * heartbeat; a subscriber that falls too far behind is dropped with an
 * `event: dropped` saying why, so no subscriber can make memory grow without
 * bound. */
#ifndef VIGIL_STREAM_H
#define VIGIL_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http/http.h"
#include "vigil/vigil.h"

typedef struct streams streams;

typedef struct streams_options {
  uint64_t heartbeat_ms; /* 0: 15 s */
  size_t max_queued;     /* bytes a subscriber may be behind before it is dropped; 0: 1 MiB */
  unsigned per_session;  /* streams open at once with one session or token (429 past it); 0: 4 */
  unsigned per_user;     /* ... with all the sessions and tokens of one user (429 past it; Z8); 0: 8 */
  unsigned per_address;  /* streams open at once from one client address, behind a trusted proxy too; 0: 64 */
  /* The site of a cluster node (borrowed): frames' ids are SITE:SEQ, as the
   * log's seq counts per site. NULL: one server, ids are SEQ. */
  const char *site;
  /* AU1: NULL while the session or token that opened a stream (its key as
   * vigil__streams_open was given it) still allows it, else why not: asked
   * before every write to a stream, which ends, saying why, when it does
   * not. NULL: streams are not checked (a test's). */
  const char *(*credential_ended)(void *ud, const char *session);
  void *credential_ud;
} streams_options;

int vigil__streams_new(vigil_engine *e, uv_loop_t *loop, const streams_options *o, streams **out);

/* Answers req with a stream (or an error). session: the session's or
 * token's key the request came with (NULL: none); user: whose it is (NULL:
 * none); address: the client's address (X-Forwarded-For read past trusted
 * proxies). */
void vigil__streams_open(streams *s, http_request *req, const char *session, const char *user, const char *address);

unsigned vigil__streams_count(const streams *s);

typedef struct streams_stats {
  unsigned subscribers;
  uint64_t opened, dropped;
} streams_stats;
void vigil__streams_stats_get(const streams *s, streams_stats *out);

/* Ends every stream and closes the timers; done(ud) once closed, then s is freed. */
void vigil__streams_close(streams *s, void (*done)(void *ud), void *ud);

#endif
