/* mllp_link.c: one outgoing MLLP connection and its backoff (mllp_link.h),
 * the transport of the alarm reporter (alarms.c) and the EHR sender
 * (ehr.c). */
#include "mllp_link.h"

#include <stdlib.h>
#include <string.h>

#include "plugin_common/plugin_common.h"

static int resolve(const char *host, int port, struct sockaddr_storage *sa) {
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0) return 0;
  return uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) == 0 ? 0 : -1;
}

static char *text_copy(json_t *s, const char *key, const char *dflt) {
  json_t *v = json_object_get(s, key);
  return strdup(v ? json_string_value(v) : dflt);
}

static unsigned number_or(json_t *s, const char *key, unsigned dflt) {
  json_t *v = json_object_get(s, key);
  return v ? (unsigned)json_integer_value(v) : dflt;
}

void vigil__mllp_peer_free(mllp_peer *peer) {
  free(peer->host), free(peer->app), free(peer->facility), free(peer->to_app), free(peer->to_facility);
  memset(peer, 0, sizeof *peer);
}

int vigil__mllp_peer_read(json_t *s, const char *where, const char *port_is, const char *const *more, mllp_peer *out,
                          char **err) {
  static const char *const peer_keys[] = {
      "port",           "host",         "application",  "facility",          "to_application", "to_facility",
      "ack_timeout_ms", "retry_min_ms", "retry_max_ms", "keepalive_seconds", "max_attempts"};
  enum { n_peer = sizeof peer_keys / sizeof *peer_keys };
  const char *known[n_peer + 8 + 1];
  size_t n = 0;
  for (size_t i = 0; i < n_peer; i++)
    known[n++] = peer_keys[i];
  for (size_t i = 0; more && more[i] && n < n_peer + 8; i++)
    known[n++] = more[i];
  known[n] = NULL;
  memset(out, 0, sizeof *out);
  if (!json_is_object(s)) return vigil__plugin_refuse(err, "%s: an object ({ host, port, ... })", where);
  if (vigil__plugin_known_settings(s, known, where, err) < 0) return VIGIL_EINVAL;
  json_t *port = json_object_get(s, "port");
  if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
    return vigil__plugin_refuse(err, "%s.port: %s, 1 to 65535", where, port_is);
  static const char *const texts[] = {"host", "application", "facility", "to_application", "to_facility"};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
    if (json_object_get(s, texts[i]) && !json_is_string(json_object_get(s, texts[i])))
      return vigil__plugin_refuse(err, "%s.%s: text", where, texts[i]);
  static const char *const numbers[] = {"ack_timeout_ms", "retry_min_ms", "retry_max_ms", "keepalive_seconds"};
  for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
    json_t *v = json_object_get(s, numbers[i]);
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3600000))
      return vigil__plugin_refuse(err, "%s.%s: a whole number, 1 to 3600000", where, numbers[i]);
  }
  json_t *most = json_object_get(s, "max_attempts");
  if (most && (!json_is_integer(most) || json_integer_value(most) < 1 || json_integer_value(most) > 1000))
    return vigil__plugin_refuse(err,
                                "%s.max_attempts: how many failed attempts (AE, CE, no answer, the connection "
                                "closed) a message may have before it is set aside, 1 to 1000",
                                where);
  json_t *host = json_object_get(s, "host");
  const char *where_to = host ? json_string_value(host) : "127.0.0.1";
  struct sockaddr_storage sa;
  if (resolve(where_to, (int)json_integer_value(port), &sa) < 0)
    return vigil__plugin_refuse(err, "%s.host: '%s' is not an IP address", where, where_to);
  out->port = (int)json_integer_value(port);
  out->host = text_copy(s, "host", "127.0.0.1");
  out->app = text_copy(s, "application", "VIGIL");
  out->facility = text_copy(s, "facility", "");
  out->to_app = text_copy(s, "to_application", "");
  out->to_facility = text_copy(s, "to_facility", "");
  out->ack_timeout_ms = number_or(s, "ack_timeout_ms", 10000);
  out->retry_min_ms = number_or(s, "retry_min_ms", 1000);
  out->retry_max_ms = number_or(s, "retry_max_ms", 60000);
  if (out->retry_max_ms < out->retry_min_ms) out->retry_max_ms = out->retry_min_ms;
  out->keepalive_s = number_or(s, "keepalive_seconds", 30);
  out->max_attempts = number_or(s, "max_attempts", 5);
  if (!out->host || !out->app || !out->facility || !out->to_app || !out->to_facility) {
    vigil__mllp_peer_free(out);
    return -1;
  }
  return 0;
}

unsigned vigil__mllp_link_backoff(const mllp_link *l) {
  return (unsigned)vigil__plugin_backoff_ms(l->peer.retry_min_ms, l->peer.retry_max_ms, l->attempts);
}

static void on_retry(uv_timer_t *t) {
  mllp_link *l = t->data;
  if (l->closing) return;
  if (!l->connected)
    vigil__mllp_link_connect(l);
  else
    l->ops->retry(l->ud);
}

void vigil__mllp_link_retry_later(mllp_link *l) {
  if (!l->closing) uv_timer_start(&l->retry, on_retry, vigil__mllp_link_backoff(l), 0);
}

static void on_part_closed(uv_handle_t *h) {
  mllp_link *l = h->data;
  if (h == (uv_handle_t *)l->tcp) {
    free(l->tcp);
    l->tcp = NULL;
    /* a retry that came while it was closing found it still there */
    if (!l->closing && !uv_is_active((uv_handle_t *)&l->retry)) vigil__mllp_link_retry_later(l);
  }
  if (--l->handles > 0 || !l->closing) return;
  vigil__mllp_free(&l->rd);
  vigil__mllp_peer_free(&l->peer);
  l->ops->closed(l->ud);
}

static void on_wait(uv_timer_t *t) {
  mllp_link *l = t->data;
  l->ops->no_answer(l->ud);
}

void vigil__mllp_link_init(mllp_link *l, uv_loop_t *loop, mllp_peer *peer, const char *name, const mllp_link_ops *ops,
                           void *ud) {
  memset(l, 0, sizeof *l);
  l->peer = *peer;
  memset(peer, 0, sizeof *peer);
  l->loop = loop;
  l->name = name;
  l->ops = ops;
  l->ud = ud;
  vigil__mllp_init(&l->rd, 1 << 20);
  uv_timer_init(loop, &l->retry);
  uv_timer_init(loop, &l->wait);
  l->retry.data = l->wait.data = l;
  l->handles = 2;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  mllp_link *l = s->data;
  if (n < 0) {
    free(b->base);
    char why[128];
    if (n == UV_EOF)
      snprintf(why, sizeof why, "%s closed the connection", l->name);
    else
      snprintf(why, sizeof why, "%s", uv_strerror((int)n));
    /* waiting for the answer (not for the backoff after an AE) */
    l->ops->failed(l->ud, uv_is_active((uv_handle_t *)&l->wait), why);
    return;
  }
  vigil__mllp_feed(&l->rd, b->base, (size_t)n, l->ops->frame, NULL, l->ud);
  free(b->base);
}

static void on_connect(uv_connect_t *req, int status) {
  mllp_link *l = req->data;
  l->connecting = 0;
  if (l->closing) return;
  if (status < 0) {
    char why[128];
    snprintf(why, sizeof why, "cannot connect: %s", uv_strerror(status));
    l->ops->failed(l->ud, 0, why);
    return;
  }
  l->connected = 1;
  vigil__mllp_free(&l->rd);
  vigil__mllp_init(&l->rd, 1 << 20);
  uv_tcp_keepalive(l->tcp, 1, l->peer.keepalive_s);
  uv_read_start((uv_stream_t *)l->tcp, vigil__plugin_uv_alloc, on_read);
  l->ops->connected(l->ud);
}

void vigil__mllp_link_connect(mllp_link *l) {
  if (l->connected || l->connecting || l->closing || l->tcp) return;
  struct sockaddr_storage sa;
  resolve(l->peer.host, l->peer.port, &sa);
  l->tcp = malloc(sizeof *l->tcp);
  if (!l->tcp) return;
  uv_tcp_init(l->loop, l->tcp);
  l->tcp->data = l;
  l->handles++;
  l->creq.data = l;
  l->connecting = 1;
  int rc = uv_tcp_connect(&l->creq, l->tcp, (struct sockaddr *)&sa, on_connect);
  if (rc < 0) {
    char why[128];
    l->connecting = 0;
    snprintf(why, sizeof why, "cannot connect: %s", uv_strerror(rc));
    l->ops->failed(l->ud, 0, why);
  }
}

int vigil__mllp_link_send(mllp_link *l, const char *framed, size_t len, unsigned timeout_ms) {
  if (!l->connected) return -1;
  uv_write_t *w = malloc(sizeof *w);
  char *copy = malloc(len);
  if (!w || !copy) {
    free(w);
    free(copy);
    return -1;
  }
  memcpy(copy, framed, len);
  w->data = copy;
  uv_buf_t b = uv_buf_init(copy, (unsigned)len);
  if (uv_write(w, (uv_stream_t *)l->tcp, &b, 1, vigil__plugin_uv_written) < 0) {
    free(copy);
    free(w);
    return -2;
  }
  uv_timer_start(&l->wait, on_wait, timeout_ms, 0);
  return 0;
}

int vigil__mllp_link_offer(mllp_link *l, const char *framed, size_t len, unsigned timeout_ms) {
  if (!l->connected) {
    vigil__mllp_link_connect(l);
    return 0;
  }
  int rc = vigil__mllp_link_send(l, framed, len, timeout_ms);
  return rc < 0 ? rc : 1;
}

void vigil__mllp_link_answered(mllp_link *l) { uv_timer_stop(&l->wait); }

int vigil__mllp_link_waiting(const mllp_link *l) { return uv_is_active((const uv_handle_t *)&l->wait); }

void vigil__mllp_link_drop(mllp_link *l) {
  uv_timer_stop(&l->wait);
  l->connected = l->connecting = 0;
  if (l->tcp && !uv_is_closing((uv_handle_t *)l->tcp)) uv_close((uv_handle_t *)l->tcp, on_part_closed);
  l->attempts++;
  vigil__mllp_link_retry_later(l);
}

void vigil__mllp_link_close(mllp_link *l) {
  if (l->closing) return;
  l->closing = 1;
  if (l->tcp && !uv_is_closing((uv_handle_t *)l->tcp)) uv_close((uv_handle_t *)l->tcp, on_part_closed);
  uv_close((uv_handle_t *)&l->retry, on_part_closed);
  uv_close((uv_handle_t *)&l->wait, on_part_closed);
}
