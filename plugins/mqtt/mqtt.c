/* mqtt.c: publishes vigil's alerts to an MQTT broker (libmosquitto).
 *
 * Topics (prefix "vigil/v1" by default, site from the settings):
 *   <prefix>/<site>/alert/<priority>  alert.raised and alert.escalated, whose
 *                                     data carry the priority (high, medium, low)
 *   <prefix>/<site>/event/<type>      every other event the settings ask for
 *   <prefix>/<site>/state/alerts      the alerts now, by priority: retained
 * Messages are the events' JSON (docs/events.md), QoS 1, never retained: a
 * subscriber arriving later must not take an old alert for a new one. Only
 * state is retained.
 *
 * Nothing is lost across restarts or broker outages: a cursor in the store
 * (plugin.mqtt) moves over an event only once the broker has acknowledged it
 * (PUBACK) along with every event before it, and at start the plugin
 * publishes from the cursor. Duplicates carry the same seq.
 *
 * `where` names a site's filter (plugin_dir/NAME.lua): of the events of
 * `types`, only those it returns true for are published. It is asked as the
 * outbox reads the event and decides from the log alone, so what is
 * published again after a restart is what would have been. An event the
 * filter fails on is published (vigil logs and counts the failure): a
 * message too many rather than an alert lost.
 *
 * libmosquitto runs on vigil's loop: its socket under a uv_poll_t, its
 * keepalive under a uv_timer_t, reconnections under another with backoff.
 * The broker's name is resolved with a blocking call when (re)connecting:
 * give an address or a name in /etc/hosts.
 *
 * With tls = { ca_file, ... } the connection is TLS, through libmosquitto's
 * own TLS functions only: the broker's certificate must chain to ca_file and
 * name the host (unless insecure), and cert_file / key_file are the client's
 * certificate for brokers that ask for one. */
#define _GNU_SOURCE
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "plugin_common/plugin_common.h"
#include "vigil/plugin.h"

#define MQTT_VERSION "1.0.0"
#define WINDOW 64 /* messages in flight at most */

typedef struct inflight {
  int mid;
  uint64_t seq;
  int acked;
} inflight;

typedef struct mqtt {
  vigil_plugin *p;
  const vigil_api *api;
  uv_loop_t *loop;
  struct mosquitto *m;
  char *host, *site, *prefix, *client_id;
  int port, keepalive;
  vigil__plugin_types types;
  vigil_filter *where;
  char *where_name;
  double retry_min_ms, retry_max_ms, retry_ms;
  /* the connection */
  uv_poll_t *poll;
  uv_timer_t misc, reconnect;
  int connected, closing;
  unsigned open_handles;
  /* the outbox */
  uint64_t cursor, sent;
  inflight window[WINDOW];
  size_t n_window;
  uint64_t published, acked, reconnects;
  uint64_t state_seq; /* the log's last seq when the state was last published */
  char last_error[256];
  int tls;
  char detail[200]; /* why the last attempt failed, in libmosquitto's words (TLS) or the broker's (CONNACK) */
} mqtt;

#define say(q, level, ...) vigil__plugin_say((q)->api, (q)->p, level, __VA_ARGS__)

static void publish_metrics(mqtt *q) {
  q->api->metric_set(q->p, "connected", "gauge", "1 while connected to the broker.", NULL, q->connected);
  q->api->metric_set(q->p, "published_total", "counter", "Messages handed to the broker, this run.", NULL,
                     (double)q->published);
  q->api->metric_set(q->p, "acknowledged_total", "counter", "Messages the broker acknowledged, this run.", NULL,
                     (double)q->acked);
  q->api->metric_set(q->p, "reconnects_total", "counter", "Connections lost and tried again, this run.", NULL,
                     (double)q->reconnects);
  q->api->metric_set(q->p, "backlog_events", "gauge", "Events after the cursor (an upper bound of what is unsent).",
                     NULL, (double)vigil__plugin_backlog(q->api, q->p, q->cursor));
}

static void save_cursor(mqtt *q) { vigil__plugin_cursor_save(q->api, q->p, "cursor", q->cursor); }

/* ---- the socket on the loop ---------------------------------------------------------- */

static void lost(mqtt *q, const char *why);
static void pump(mqtt *q);

static void on_poll_closed(uv_handle_t *h);
static void on_socket(uv_poll_t *h, int status, int events);

static void stop_poll(mqtt *q) {
  if (!q->poll) return;
  uv_poll_stop(q->poll);
  uv_close((uv_handle_t *)q->poll, on_poll_closed);
  q->poll = NULL;
}

static void watch(mqtt *q) {
  if (!q->poll) return;
  int events = UV_READABLE | (mosquitto_want_write(q->m) ? UV_WRITABLE : 0);
  uv_poll_start(q->poll, events, on_socket);
}

/* libmosquitto before 2.0.22 takes a socket that failed during the TLS
 * handshake (refused, or closed by the broker) for a handshake still under
 * way, and would be called again at once, forever: the socket is looked at
 * first. NULL while it may still be alive. */
static const char *tls_socket_dead(mqtt *q, int events) {
  if (!q->tls || q->connected || !(events & UV_READABLE)) return NULL;
  char c;
  ssize_t n = recv(mosquitto_socket(q->m), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) return NULL;
  return n == 0 ? "refused, or closed before TLS was set up" : strerror(errno);
}

static void on_socket(uv_poll_t *h, int status, int events) {
  mqtt *q = h->data;
  int rc = MOSQ_ERR_SUCCESS;
  const char *dead = status < 0 ? NULL : tls_socket_dead(q, events);
  if (dead) {
    lost(q, dead);
    return;
  }
  if (status < 0)
    rc = MOSQ_ERR_CONN_LOST;
  else {
    if (events & UV_READABLE) rc = mosquitto_loop_read(q->m, 1);
    if (rc == MOSQ_ERR_SUCCESS && (events & UV_WRITABLE)) rc = mosquitto_loop_write(q->m, 1);
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    lost(q, status < 0 ? uv_strerror(status) : mosquitto_strerror(rc));
    return;
  }
  watch(q);
}

static int open_poll(mqtt *q) {
  int fd = mosquitto_socket(q->m);
  if (fd < 0) return -1;
  q->poll = malloc(sizeof *q->poll);
  if (!q->poll || uv_poll_init_socket(q->loop, q->poll, fd) < 0) {
    free(q->poll);
    q->poll = NULL;
    return -1;
  }
  q->poll->data = q;
  q->open_handles++;
  watch(q);
  return 0;
}

static void on_reconnect_timer(uv_timer_t *t);

static void connect_now(mqtt *q) {
  q->detail[0] = '\0';
  int rc = q->reconnects || q->connected ? mosquitto_reconnect_async(q->m)
                                         : mosquitto_connect_async(q->m, q->host, q->port, q->keepalive);
  if (rc == MOSQ_ERR_SUCCESS && open_poll(q) == 0) return;
  lost(q, rc == MOSQ_ERR_ERRNO ? "cannot connect" : mosquitto_strerror(rc));
}

/* libmosquitto says why a TLS connection failed only in its log ("OpenSSL
 * Error[0]: ... certificate verify failed", "Error: host name verification
 * failed."): its first error since the attempt began is kept for the reason
 * that the log and the status show. */
static void on_library_log(struct mosquitto *m, void *ud, int level, const char *text) {
  mqtt *q = ud;
  if (level == MOSQ_LOG_ERR && !q->detail[0]) snprintf(q->detail, sizeof q->detail, "%s", text);
}

static void note_error(mqtt *q, const char *why) {
  if (q->detail[0])
    snprintf(q->last_error, sizeof q->last_error, "%s (%s)", why, q->detail);
  else
    snprintf(q->last_error, sizeof q->last_error, "%s", why);
}

/* The connection is gone (or never came): try again after a while. */
static void lost(mqtt *q, const char *why) {
  stop_poll(q);
  int was = q->connected;
  q->connected = 0;
  if (q->closing) return;
  note_error(q, why);
  if (was || q->retry_ms == 0)
    say(q, VIGIL_PLUGIN_LOG_WARN, "broker %s:%d: %s; trying again", q->host, q->port, q->last_error);
  q->retry_ms = q->retry_ms ? q->retry_ms * 2 : q->retry_min_ms;
  if (q->retry_ms > q->retry_max_ms) q->retry_ms = q->retry_max_ms;
  q->reconnects++;
  /* Unacknowledged messages are sent again from the cursor once connected. */
  q->n_window = 0;
  q->sent = q->cursor;
  publish_metrics(q);
  uv_timer_start(&q->reconnect, on_reconnect_timer, (uint64_t)q->retry_ms, 0);
}

static void on_reconnect_timer(uv_timer_t *t) { connect_now(t->data); }

static void on_misc(uv_timer_t *t) {
  mqtt *q = t->data;
  if (!q->poll) return;
  int rc = mosquitto_loop_misc(q->m);
  if (rc != MOSQ_ERR_SUCCESS) {
    lost(q, mosquitto_strerror(rc));
    return;
  }
  watch(q);
}

/* ---- publishing ---------------------------------------------------------------------- */

/* force: on (re)connecting; otherwise only when the log has moved since. */
static void publish_state(mqtt *q, int force) {
  if (!q->connected) return;
  uint64_t last = q->api->last_seq(q->p);
  if (!force && last == q->state_seq) return;
  q->state_seq = last;
  uint64_t active[3], open[3];
  q->api->alert_counts(q->p, active, open);
  char topic[512], body[256];
  snprintf(topic, sizeof topic, "%s/%s/state/alerts", q->prefix, q->site);
  int n = snprintf(body, sizeof body,
                   "{\"active\":{\"high\":%llu,\"medium\":%llu,\"low\":%llu},"
                   "\"open\":{\"high\":%llu,\"medium\":%llu,\"low\":%llu},\"seq\":%llu}",
                   (unsigned long long)active[2], (unsigned long long)active[1], (unsigned long long)active[0],
                   (unsigned long long)open[2], (unsigned long long)open[1], (unsigned long long)open[0],
                   (unsigned long long)last);
  mosquitto_publish(q->m, NULL, topic, n, body, 1, true);
}

/* The topic of an event: alerts that carry a priority go by it. */
static void topic_of(mqtt *q, const vigil_plugin_event *ev, char *out, size_t len) {
  const char *prio = NULL;
  json_t *j = NULL;
  if (!strcmp(ev->type, "alert.raised") || !strcmp(ev->type, "alert.escalated")) {
    j = json_loadb(ev->json, ev->json_len, 0, NULL);
    prio = json_string_value(json_object_get(json_object_get(j, "data"), "priority"));
  }
  if (prio)
    snprintf(out, len, "%s/%s/alert/%s", q->prefix, q->site, prio);
  else
    snprintf(out, len, "%s/%s/event/%s", q->prefix, q->site, ev->type);
  json_decref(j);
}

static int publish_one(void *ud, const vigil_plugin_event *ev) {
  mqtt *q = ud;
  if (q->n_window == WINDOW || !q->connected) return 1;
  q->sent = ev->seq;
  if (!vigil__plugin_types_wanted(&q->types, q->api, q->p, ev->type) ||
      (q->where && q->api->filter_test(q->where, ev, NULL, 0) == 0)) {
    /* Not for the broker; it counts as done once everything before it is. */
    q->window[q->n_window++] = (inflight){.mid = -1, .seq = ev->seq, .acked = 1};
    return 0;
  }
  char topic[512];
  topic_of(q, ev, topic, sizeof topic);
  int mid;
  int rc = mosquitto_publish(q->m, &mid, topic, (int)ev->json_len, ev->json, 1, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    q->sent = ev->seq - 1;
    snprintf(q->last_error, sizeof q->last_error, "%s", mosquitto_strerror(rc));
    return 1;
  }
  q->window[q->n_window++] = (inflight){.mid = mid, .seq = ev->seq, .acked = 0};
  q->published++;
  return 0;
}

/* Moves the cursor over the acknowledged start of the window. */
static void advance(mqtt *q) {
  size_t done = 0;
  while (done < q->n_window && q->window[done].acked)
    done++;
  if (!done) return;
  q->cursor = q->window[done - 1].seq;
  memmove(q->window, q->window + done, (q->n_window - done) * sizeof *q->window);
  q->n_window -= done;
  save_cursor(q);
}

static void pump(mqtt *q) {
  if (!q->connected || q->closing || q->n_window == WINDOW) return;
  q->api->events_after(q->p, q->sent, publish_one, q);
  advance(q);
  watch(q);
}

/* ---- libmosquitto's callbacks (they run inside loop_read / loop_write) ---------------- */

static void on_connect(struct mosquitto *m, void *ud, int rc) {
  mqtt *q = ud;
  if (rc != 0) {
    snprintf(q->last_error, sizeof q->last_error, "%s", mosquitto_connack_string(rc));
    snprintf(q->detail, sizeof q->detail, "%s", mosquitto_connack_string(rc));
    say(q, VIGIL_PLUGIN_LOG_ERROR, "broker %s:%d refused the connection: %s", q->host, q->port, q->last_error);
    return; /* it disconnects; lost() follows */
  }
  q->connected = 1;
  q->retry_ms = 0;
  q->last_error[0] = q->detail[0] = '\0';
  say(q, VIGIL_PLUGIN_LOG_INFO, "connected to %s:%d", q->host, q->port);
  publish_state(q, 1);
  pump(q);
  publish_metrics(q);
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc) {
  mqtt *q = ud;
  q->connected = 0;
}

static void on_publish(struct mosquitto *m, void *ud, int mid) {
  mqtt *q = ud;
  for (size_t i = 0; i < q->n_window; i++)
    if (q->window[i].mid == mid) {
      q->window[i].acked = 1;
      q->acked++;
      break;
    }
  advance(q);
  pump(q);
}

static int on_event(void *ud, const vigil_plugin_event *ev) {
  mqtt *q = ud;
  if (!strncmp(ev->type, "alert.", 6) || !strncmp(ev->type, "visit.", 6)) publish_state(q, 0);
  pump(q);
  publish_metrics(q);
  return 0;
}

/* ---- status, life ------------------------------------------------------------------- */

static char *status(void *ud) {
  mqtt *q = ud;
  json_t *s = json_pack("{s:s, s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s}", "host", q->host, "port", q->port,
                        "client_id", q->client_id, "connected", q->connected, "cursor", (json_int_t)q->cursor,
                        "in_flight", (json_int_t)q->n_window, "published", (json_int_t)q->published, "acknowledged",
                        (json_int_t)q->acked, "reconnects", (json_int_t)q->reconnects, "last_error", q->last_error);
  if (s && q->where_name) json_object_set_new(s, "where", json_string(q->where_name));
  if (s) json_object_set_new(s, "tls", json_boolean(q->tls));
  char *text = s ? json_dumps(s, JSON_COMPACT) : NULL;
  json_decref(s);
  return text;
}

static void free_all(mqtt *q) {
  if (q->m) mosquitto_destroy(q->m);
  vigil__plugin_types_free(&q->types);
  free(q->host), free(q->site), free(q->prefix), free(q->client_id), free(q->where_name);
  free(q);
  mosquitto_lib_cleanup();
}

static void on_part_closed(mqtt *q) {
  if (--q->open_handles == 0) free_all(q);
}
static void on_poll_closed(uv_handle_t *h) {
  mqtt *q = h->data;
  free(h);
  on_part_closed(q);
}
static void on_timer_closed(uv_handle_t *h) { on_part_closed(h->data); }

/* The filter is vigil's: given back before the plugin's memory goes. */
static void close_filter(mqtt *q) {
  q->api->filter_close(q->where);
  q->where = NULL;
}

static void on_close(void *ud) {
  mqtt *q = ud;
  q->closing = 1;
  close_filter(q);
  save_cursor(q);
  if (q->connected) {
    mosquitto_disconnect(q->m);
    mosquitto_loop_write(q->m, 1); /* a polite DISCONNECT, if the socket takes it */
  }
  stop_poll(q);
  uv_close((uv_handle_t *)&q->misc, on_timer_closed);
  uv_close((uv_handle_t *)&q->reconnect, on_timer_closed);
}

/* ---- TLS settings ------------------------------------------------------------------- */

/* NULL when path is a regular file vigil can read; otherwise why not. An
 * encrypted key is refused here: libmosquitto would ask for its passphrase
 * on the terminal, and a server has none. */
static const char *unreadable(const char *path, int is_key) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return strerror(errno);
  struct stat st;
  const char *why = NULL;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) why = "not a regular file";
  char head[8192];
  ssize_t n = why || !is_key ? 0 : read(fd, head, sizeof head - 1);
  if (n < 0) why = strerror(errno);
  if (n > 0) {
    head[n] = '\0';
    if (strstr(head, "ENCRYPTED")) why = "the key is encrypted (give it unencrypted, readable by vigil alone)";
  }
  close(fd);
  return why;
}

/* A path under tls: a string naming a readable file, or absent. */
static int tls_file(json_t *tls, const char *key, int is_key, const char **out, char **err) {
  json_t *v = json_object_get(tls, key);
  *out = NULL;
  if (!v) return 0;
  if (!json_is_string(v) || !*json_string_value(v))
    return vigil__plugin_refuse(err, "plugins.mqtt.tls.%s: a file name (PEM)", key);
  const char *why = unreadable(json_string_value(v), is_key);
  if (why) return vigil__plugin_refuse(err, "plugins.mqtt.tls.%s: cannot read %s: %s", key, json_string_value(v), why);
  *out = json_string_value(v);
  return 0;
}

/* No passphrase: unreadable() has refused encrypted keys already. */
static int no_passphrase(char *buf, int size, int rwflag, void *ud) { return 0; }

/* tls = { ca_file, cert_file, key_file, insecure }. The broker's certificate
 * is always checked (SSL_VERIFY_PEER, which is 1 in libmosquitto's API);
 * insecure skips only the check of its name against host. */
static int read_tls(mqtt *q, json_t *s, int has_username, char **err) {
  static const char *known[] = {"ca_file", "cert_file", "key_file", "insecure"};
  json_t *tls = json_object_get(s, "tls");
  if (!tls) {
    if (has_username)
      say(q, VIGIL_PLUGIN_LOG_WARN,
          "plugins.mqtt.username and password go to the broker in clear text: set plugins.mqtt.tls");
    return 0;
  }
  if (json_is_array(tls) && json_array_size(tls) == 0) tls = NULL; /* tls = {} */
  if (tls && !json_is_object(tls))
    return vigil__plugin_refuse(
        err, "plugins.mqtt.tls: a table { ca_file = \"...\", cert_file = ..., key_file = ..., insecure = false }");
  const char *key;
  json_t *v;
  json_object_foreach(tls, key, v) {
    size_t i = 0;
    while (i < sizeof known / sizeof *known && strcmp(key, known[i]))
      i++;
    if (i == sizeof known / sizeof *known)
      return vigil__plugin_refuse(err, "plugins.mqtt.tls.%s: not a setting (ca_file, cert_file, key_file, insecure)",
                                  key);
  }
  const char *ca, *cert, *pkey;
  int rc;
  if ((rc = tls_file(tls, "ca_file", 0, &ca, err)) < 0 || (rc = tls_file(tls, "cert_file", 0, &cert, err)) < 0 ||
      (rc = tls_file(tls, "key_file", 1, &pkey, err)) < 0)
    return rc;
  if (!ca)
    return vigil__plugin_refuse(
        err, "plugins.mqtt.tls.ca_file: required, the CA certificate (PEM) that signed the broker's");
  if (!cert != !pkey)
    return vigil__plugin_refuse(
        err, "plugins.mqtt.tls.%s: required with %s (the client's certificate and its key go together)",
        cert ? "key_file" : "cert_file", cert ? "cert_file" : "key_file");
  json_t *insecure = json_object_get(tls, "insecure");
  if (insecure && !json_is_boolean(insecure))
    return vigil__plugin_refuse(err, "plugins.mqtt.tls.insecure: true or false");
  if (mosquitto_tls_set(q->m, ca, NULL, cert, pkey, no_passphrase) != MOSQ_ERR_SUCCESS ||
      mosquitto_tls_opts_set(q->m, 1, NULL, NULL) != MOSQ_ERR_SUCCESS)
    return vigil__plugin_refuse(err, "plugins.mqtt.tls: refused by libmosquitto");
  if (json_is_true(insecure)) {
    if (mosquitto_tls_insecure_set(q->m, true) != MOSQ_ERR_SUCCESS)
      return vigil__plugin_refuse(err, "plugins.mqtt.tls.insecure: refused by libmosquitto");
    say(q, VIGIL_PLUGIN_LOG_WARN,
        "plugins.mqtt.tls.insecure: the broker's certificate is not checked against the name %s; any certificate "
        "from %s passes",
        q->host, ca);
  }
  mosquitto_log_callback_set(q->m, on_library_log);
  q->tls = 1;
  return 0;
}

/* A topic level: no wildcard, no separator. */
static int topic_safe(const char *s) { return s && *s && !strpbrk(s, "+#/") && strlen(s) <= 64; }

static int read_settings(mqtt *q, json_t *s, char **err) {
  /* AF6: a misspelt or misplaced setting is refused, not silently ignored (H8). */
  static const char *const known[] = {"host",      "port",      "site",      "prefix",   "types",
                                      "where",     "client_id", "username",  "password", "tls",
                                      "keepalive", "retry_min", "retry_max", NULL};
  if (vigil__plugin_known_settings(s, known, "plugins.mqtt", err) < 0) return VIGIL_EINVAL;
  const char *host = json_string_value(json_object_get(s, "host"));
  const char *site = json_string_value(json_object_get(s, "site"));
  const char *prefix = json_string_value(json_object_get(s, "prefix"));
  const char *id = json_string_value(json_object_get(s, "client_id"));
  json_t *port = json_object_get(s, "port"), *keepalive = json_object_get(s, "keepalive");
  q->port = port ? (int)json_integer_value(port) : json_object_get(s, "tls") ? 8883 : 1883;
  q->keepalive = keepalive ? (int)json_integer_value(keepalive) : 30;
  if (q->port <= 0 || q->port > 65535)
    return vigil__plugin_refuse(err, "plugins.mqtt.port: want 1 to 65535 (default 1883, 8883 with tls)");
  if (q->keepalive < 5 || q->keepalive > 3600)
    return vigil__plugin_refuse(err, "plugins.mqtt.keepalive: want 5 to 3600 seconds");
  if (site && !topic_safe(site))
    return vigil__plugin_refuse(err, "plugins.mqtt.site: one topic level, without '/', '+' or '#'");
  if (prefix && (!*prefix || strpbrk(prefix, "+#")))
    return vigil__plugin_refuse(err, "plugins.mqtt.prefix: a topic without '+' or '#' (default vigil/v1)");
  if (!(q->host = strdup(host ? host : "127.0.0.1")) || !(q->site = strdup(site ? site : "vigil")) ||
      !(q->prefix = strdup(prefix ? prefix : "vigil/v1")))
    return -1;
  if (asprintf(&q->client_id, "%s", id ? id : "") < 0) return -1;
  if (!id) {
    free(q->client_id);
    if (asprintf(&q->client_id, "vigil-%s", q->site) < 0) return -1;
  }
  json_t *rmin = json_object_get(s, "retry_min"), *rmax = json_object_get(s, "retry_max");
  q->retry_min_ms = (rmin ? json_number_value(rmin) : 1) * 1000;
  q->retry_max_ms = (rmax ? json_number_value(rmax) : 60) * 1000;
  if (!(q->retry_min_ms > 0) || q->retry_max_ms < q->retry_min_ms)
    return vigil__plugin_refuse(err, "plugins.mqtt.retry_min, retry_max: seconds, 0 < retry_min <= retry_max");
  int rc = vigil__plugin_types_read(&q->types, json_object_get(s, "types"), "alert.*", "plugins.mqtt.types", err);
  if (rc < 0) return rc;
  for (size_t i = 0; i < q->types.n; i++)
    if (q->api->type_matches(q->p, q->types.pattern[i], "alert.raised") < 0)
      return vigil__plugin_refuse(err, "plugins.mqtt.types[%zu]: not a pattern of event types", i + 1);
  const char *user = json_string_value(json_object_get(s, "username"));
  const char *pass = json_string_value(json_object_get(s, "password"));
  json_t *where = json_object_get(s, "where");
  if (where &&
      (rc = vigil__plugin_where_open(q->api, q->p, where, "plugins.mqtt.where", &q->where_name, &q->where, err)) < 0)
    return rc;
  q->m = mosquitto_new(q->client_id, true, q);
  if (!q->m) return vigil__plugin_refuse(err, "cannot make an MQTT client (out of memory?)");
  if (user && mosquitto_username_pw_set(q->m, user, pass) != MOSQ_ERR_SUCCESS)
    return vigil__plugin_refuse(err, "plugins.mqtt.username: refused by libmosquitto");
  return read_tls(q, s, user != NULL, err);
}

static int init(vigil_plugin *p, const vigil_api *api, char **err) {
  mosquitto_lib_init();
  mqtt *q = calloc(1, sizeof *q);
  json_t *s = json_loads(api->settings(p), 0, NULL);
  if (!q || !s) {
    free(q);
    json_decref(s);
    mosquitto_lib_cleanup();
    return -1;
  }
  q->p = p;
  q->api = api;
  q->loop = api->loop(p);
  int rc = read_settings(q, s, err);
  json_decref(s);
  if (rc < 0) {
    close_filter(q);
    free_all(q);
    return rc;
  }
  mosquitto_connect_callback_set(q->m, on_connect);
  mosquitto_disconnect_callback_set(q->m, on_disconnect);
  mosquitto_publish_callback_set(q->m, on_publish);
  uv_timer_init(q->loop, &q->misc);
  uv_timer_init(q->loop, &q->reconnect);
  q->misc.data = q->reconnect.data = q;
  q->open_handles = 2;
  if ((rc = api->on_close(p, on_close, q)) < 0) {
    on_close(q);
    return rc;
  }
  q->cursor = vigil__plugin_cursor_open(api, p, "cursor", api->last_seq(p)); /* a new site starts now */
  q->sent = q->cursor;
  for (size_t i = 0; i < q->types.n && rc == 0; i++)
    rc = api->subscribe(p, q->types.pattern[i], on_event, q);
  /* The state changes with alerts and with visits that end. */
  if (rc == 0) rc = api->subscribe(p, "alert.*", on_event, q);
  if (rc == 0) rc = api->subscribe(p, "visit.*", on_event, q);
  if (rc == 0) rc = api->on_status(p, status, q);
  if (rc < 0) return rc;
  uv_timer_start(&q->misc, on_misc, 1000, 1000);
  connect_now(q);
  publish_metrics(q);
  return 0;
}

VIGIL_PLUGIN_DEFINE(MQTT_VERSION, init);
