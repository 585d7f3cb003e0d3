/* mllp_link.h: one outgoing MLLP connection with its backoff, for the
 * senders of the hl7 plugin (alarms.c: ORU^R40 to an alarm manager; ehr.c:
 * ORU^R01 to an EHR). The link connects, writes a framed message and starts
 * the wait for its answer, cuts the answers into frames, and after a failure
 * tries again after a doubling backoff. What a failure means (a down link, a
 * failed attempt of the message in flight) is the sender's to decide: the
 * link says what happened through its callbacks. The struct is the sender's
 * to embed; its fields are read by the sender, changed through the calls
 * (but attempts, the backoff's exponent, which the sender sets). The link
 * owns its peer (mllp_peer: where, who, the timing), which the sender reads
 * from its settings once and hands over. */
#ifndef VIGIL_HL7_MLLP_LINK_H
#define VIGIL_HL7_MLLP_LINK_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "hl7.h"

typedef struct mllp_link_ops {
  /* Connected: send what waits. */
  void (*connected)(void *ud);
  /* The connection could not be made, or was closed by the peer or an
   * error (why says which); waiting: an answer was awaited then. The sender
   * calls vigil__mllp_link_drop. */
  void (*failed)(void *ud, int waiting, const char *why);
  /* A whole frame read from the peer (an answer). */
  int (*frame)(void *ud, const char *msg, size_t len);
  /* The backoff elapsed while connected: send the message again. */
  void (*retry)(void *ud);
  /* No answer within the timeout given to vigil__mllp_link_send. */
  void (*no_answer)(void *ud);
  /* After vigil__mllp_link_close: every handle of the link is closed. */
  void (*closed)(void *ud);
} mllp_link_ops;

/* A sender's peer as its settings say (plugins.hl7.alarms, plugins.hl7.ehr,
 * with their defaults): where, who (MSH-3 to MSH-6 of what it sends), the
 * link's timing, and how many failed attempts a message may have before the
 * sender sets it aside (H6, J3, K3: max_attempts). The texts are its own
 * (malloc'd). */
typedef struct mllp_peer {
  int port;
  char *host, *app, *facility, *to_app, *to_facility;
  unsigned ack_timeout_ms, retry_min_ms, retry_max_ms, keepalive_s, max_attempts;
} mllp_peer;

typedef struct mllp_link {
  uv_loop_t *loop;
  mllp_peer peer;    /* the link's own, from vigil__mllp_link_init */
  const char *name;  /* "the manager", "the EHR": in the reasons it gives */
  unsigned attempts; /* the backoff's exponent: the sender's (0 after an answer) */
  int connected, connecting, closing, handles;
  uv_tcp_t *tcp;
  uv_connect_t creq;
  uv_timer_t retry, wait;
  mllp_reader rd;
  const mllp_link_ops *ops;
  void *ud;
} mllp_link;

/* Reads a sender's peer from its settings s (an object): the peer's keys
 * (port, host, application, facility, to_application, to_facility,
 * ack_timeout_ms, retry_min_ms, retry_max_ms, keepalive_seconds,
 * max_attempts) and the
 * sender's own, more (NULL-terminated, or NULL), are every key s may have
 * (another is refused by name, H8); where ("plugins.hl7.alarms") names them
 * in a refusal; port_is says what the port is ("the alarm manager's MLLP
 * port"). 0; VIGIL_EINVAL with the sentence in *err (malloc'd); -1 when
 * memory ran out. *out is its to free (vigil__mllp_peer_free) on 0 only. */
int vigil__mllp_peer_read(json_t *s, const char *where, const char *port_is, const char *const *more, mllp_peer *out,
                          char **err);
/* Frees its texts. */
void vigil__mllp_peer_free(mllp_peer *peer);
/* Takes the peer over (*peer is then empty: the link frees it when closed)
 * and starts its timers (not connected yet); name says what the peer is in
 * the reasons the link gives ("the EHR"). */
void vigil__mllp_link_init(mllp_link *l, uv_loop_t *loop, mllp_peer *peer, const char *name, const mllp_link_ops *ops,
                           void *ud);
/* Connects unless connected, connecting, closing or a connection is still
 * closing; ops->connected, or ops->failed. */
void vigil__mllp_link_connect(mllp_link *l);
/* Writes the framed message (copied) and waits timeout_ms for its answer
 * (ops->frame, or ops->no_answer). 0, or negative: not written. */
int vigil__mllp_link_send(mllp_link *l, const char *framed, size_t len, unsigned timeout_ms);
/* The message at the head of a sender's line: sent when connected (1),
 * else a connection started (0); -1 memory ran out (tried again at the
 * sender's next kick), -2 not written (the sender's link is down). */
int vigil__mllp_link_offer(mllp_link *l, const char *framed, size_t len, unsigned timeout_ms);
/* The answer is in: the wait ends. */
void vigil__mllp_link_answered(mllp_link *l);
/* 1 while an answer is awaited. */
int vigil__mllp_link_waiting(const mllp_link *l);
/* The connection is given up: closed, one attempt more, and tried again
 * (connected again, then ops->connected) after the backoff. */
void vigil__mllp_link_drop(mllp_link *l);
/* The backoff's next delay, in ms. */
unsigned vigil__mllp_link_backoff(const mllp_link *l);
/* ops->retry (connected) or a new connection after the backoff. */
void vigil__mllp_link_retry_later(mllp_link *l);
/* Closes every handle; ops->closed when they are. */
void vigil__mllp_link_close(mllp_link *l);

#endif
