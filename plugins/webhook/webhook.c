/* webhook.c: POSTs vigil's events to integrators' URLs, signed, at least
 * once, in order.
 *
 * The outbox is the event log itself: each endpoint keeps a cursor (the
 * last seq it is done with) in the plugin's durable key-value namespace and
 * reads the log from there, so nothing is copied and nothing is lost when
 * vigil stops, crashes or the receiver is down. An endpoint sends one event
 * at a time, in seq order (hence in order per visit), and moves its cursor
 * only after a 2xx answer: after a restart the event in flight is sent again
 * with the same webhook-id (its seq and digest), which is what receivers deduplicate
 * on. A failed send is retried with exponential backoff; an event that
 * still fails after `retry_for` (24 hours) is dead-lettered (kept in the
 * namespace, shown in GET /api/v1/plugins and /metrics) and the endpoint
 * moves on.
 *
 * An endpoint may take only some events: `types` (patterns of event types)
 * and `where`, a site's Lua predicate (plugin_dir/NAME.lua, opened through
 * vigil's filter_open). The predicate is asked when the endpoint reads the
 * event from its cursor, and it sees the event's visit as it was at that
 * event, so after a restart the events past the cursor are decided again,
 * and the same way. A predicate that fails on an event sends it anyway
 * (`where_error = "send"`, the default: one message too many rather than an
 * alert lost) or dead-letters it (`"dead_letter"`). docs/plugins.md has the
 * settings. */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <uv.h>

#include "plugin_common/plugin_common.h"
#include "poster.h"
#include "sign.h"
#include "vigil/plugin.h"

#define WEBHOOK_VERSION "1.0.0"
#define MAX_ENDPOINTS 32
#define MAX_SHOWN_DEAD 100

typedef struct webhook webhook;

typedef struct endpoint {
  webhook *w;
  char *name, *url;
  unsigned char *key;
  size_t keylen;
  vigil__plugin_types types;
  long timeout_ms;
  vigil_filter *where; /* NULL: every event of its types */
  char *where_name;
  int where_dead_letter; /* a failing predicate dead-letters the event (else it is sent) */
  uint64_t cursor;       /* every event up to here is delivered, dead-lettered or not for this endpoint */
  uint64_t backlog;      /* events after the cursor when last published: /metrics and the status show this one figure */
  /* The event at the head of the line, once read from the log. */
  int have_head;
  uint64_t head_seq, head_visit;
  char head_type[64];
  char *head_json;
  size_t head_len;
  int head_where_failed; /* its where failed and where_error says dead_letter */
  /* Its failed attempts (kept in the store: a restart does not reset the 24 hours). */
  uint32_t attempts;
  int64_t first_failed_ms, next_try_ms;
  char last_error[256];
  int in_flight;
  uv_timer_t retry;
  uint64_t delivered, failed, dead;
  uint64_t where_skipped, where_errors; /* this run */
} endpoint;

struct webhook {
  vigil_plugin *p;
  const vigil_api *api;
  poster *poster;
  endpoint *eps;
  size_t n_eps;
  double retry_for_ms, retry_min_ms, retry_max_ms;
  int closing;
  unsigned open_handles;
};

static int64_t wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

#define say(w, level, ...) vigil__plugin_say((w)->api, (w)->p, level, __VA_ARGS__)

static int wanted(const endpoint *ep, const char *type) {
  return vigil__plugin_types_wanted(&ep->types, ep->w->api, ep->w->p, type);
}

/* ---- what is kept in the store ----------------------------------------------------- */

static void key_of(char *out, size_t len, const char *what, const endpoint *ep) {
  snprintf(out, len, "%s/%s", what, ep->name);
}

static int save_cursor(endpoint *ep) {
  char key[128];
  key_of(key, sizeof key, "cursor", ep);
  return vigil__plugin_cursor_save(ep->w->api, ep->w->p, key, ep->cursor);
}

static void save_retry(endpoint *ep) {
  char key[128];
  key_of(key, sizeof key, "retry", ep);
  if (!ep->attempts) {
    ep->w->api->kv_put(ep->w->p, key, NULL, 0);
    return;
  }
  json_t *j = json_pack("{s:I, s:i, s:I, s:s}", "seq", (json_int_t)ep->head_seq, "attempts", (int)ep->attempts,
                        "first_failed_ms", (json_int_t)ep->first_failed_ms, "error", ep->last_error);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  if (text) ep->w->api->kv_put(ep->w->p, key, text, strlen(text));
  free(text);
  json_decref(j);
}

static void load_state(endpoint *ep, uint64_t start) {
  webhook *w = ep->w;
  char key[128];
  void *val;
  size_t len;
  key_of(key, sizeof key, "cursor", ep);
  /* A new endpoint starts where the log is now (or at its beginning, if
   * the settings ask), and remembers that at once. */
  ep->cursor = vigil__plugin_cursor_open(w->api, w->p, key, start);
  key_of(key, sizeof key, "retry", ep);
  if (w->api->kv_get(w->p, key, &val, &len) == 0) {
    json_t *j = json_loadb(val, len, 0, NULL);
    w->api->free(val);
    if ((uint64_t)json_integer_value(json_object_get(j, "seq")) > ep->cursor) {
      ep->attempts = (uint32_t)json_integer_value(json_object_get(j, "attempts"));
      ep->first_failed_ms = json_integer_value(json_object_get(j, "first_failed_ms"));
      snprintf(ep->last_error, sizeof ep->last_error, "%s", json_string_value(json_object_get(j, "error")) ?: "");
    }
    json_decref(j);
  }
}

typedef struct dead_count {
  const char *prefix;
  size_t plen;
  uint64_t n;
  json_t *list; /* or NULL: only count */
} dead_count;

static int on_dead(void *ud, const char *key, const void *value, size_t len) {
  dead_count *d = ud;
  if (strncmp(key, d->prefix, d->plen)) return 0;
  d->n++;
  if (d->list && json_array_size(d->list) < MAX_SHOWN_DEAD) {
    json_t *j = json_loadb(value, len, 0, NULL);
    if (j) json_array_append_new(d->list, j);
  }
  return 0;
}

/* ---- metrics ---------------------------------------------------------------------- */

/* The backlog alone, from the log's head and the cursor: at every event, so
 * it is fresh while the endpoint is down too (W S10), without the other
 * figures, which change only when the endpoint is tried. */
static void publish_backlog(endpoint *ep) {
  webhook *w = ep->w;
  char labels[160];
  snprintf(labels, sizeof labels, "endpoint=\"%s\"", ep->name);
  ep->backlog = vigil__plugin_backlog(w->api, w->p, ep->cursor);
  w->api->metric_set(w->p, "backlog_events", "gauge",
                     "Events after the endpoint's cursor (an upper bound of what it still has to send).", labels,
                     (double)ep->backlog);
}

static void publish_metrics(endpoint *ep) {
  webhook *w = ep->w;
  char labels[160];
  snprintf(labels, sizeof labels, "endpoint=\"%s\"", ep->name);
  publish_backlog(ep);
  w->api->metric_set(w->p, "delivered_total", "counter", "Events delivered (a 2xx answer), this run.", labels,
                     (double)ep->delivered);
  w->api->metric_set(w->p, "failed_attempts_total", "counter", "Sends that failed and will be retried, this run.",
                     labels, (double)ep->failed);
  w->api->metric_set(w->p, "dead_letters", "gauge", "Events given up on after the retry period (stored).", labels,
                     (double)ep->dead);
  w->api->metric_set(w->p, "retry_attempts", "gauge", "Failed attempts of the event at the head of the line.", labels,
                     (double)ep->attempts);
}

/* ---- sending ------------------------------------------------------------------------ */

static void pump(endpoint *ep);

typedef struct head_search {
  endpoint *ep;
  uint64_t scanned;
} head_search;

static int find_head(void *ud, const vigil_plugin_event *ev) {
  head_search *s = ud;
  endpoint *ep = s->ep;
  s->scanned = ev->seq;
  if (!wanted(ep, ev->type)) return 0;
  int where_failed = 0;
  if (ep->where) {
    char why[200];
    int match = ep->w->api->filter_test(ep->where, ev, why, sizeof why);
    if (match == 0) {
      ep->where_skipped++;
      return 0;
    }
    if (match < 0) {
      /* vigil has logged it and counted a failure of the plugin. */
      ep->where_errors++;
      where_failed = ep->where_dead_letter;
      if (where_failed) snprintf(ep->last_error, sizeof ep->last_error, "where %s failed: %s", ep->where_name, why);
    }
  }
  char *json = malloc(ev->json_len + 1);
  if (!json) return 1;
  memcpy(json, ev->json, ev->json_len + 1);
  ep->head_json = json;
  ep->head_len = ev->json_len;
  ep->head_seq = ev->seq;
  ep->head_visit = ev->visit;
  snprintf(ep->head_type, sizeof ep->head_type, "%s", ev->type);
  ep->have_head = 1;
  ep->head_where_failed = where_failed;
  return 1;
}

static void drop_head(endpoint *ep) {
  free(ep->head_json);
  ep->head_json = NULL;
  ep->have_head = 0;
  ep->head_where_failed = 0;
  ep->attempts = 0;
  ep->first_failed_ms = 0;
  ep->next_try_ms = 0;
  ep->last_error[0] = '\0';
}

/* 0, or -1 when it could not be kept (the event stays at the head). */
static int dead_letter(endpoint *ep) {
  webhook *w = ep->w;
  char key[160];
  snprintf(key, sizeof key, "dead/%s/%020llu", ep->name, (unsigned long long)ep->head_seq);
  json_t *j = json_pack("{s:s, s:I, s:s, s:I, s:i, s:I, s:I, s:s}", "endpoint", ep->name, "seq",
                        (json_int_t)ep->head_seq, "type", ep->head_type, "visit", (json_int_t)ep->head_visit,
                        "attempts", (int)ep->attempts, "first_failed_ms", (json_int_t)ep->first_failed_ms,
                        "last_failed_ms", (json_int_t)wall_ms(), "error", ep->last_error);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!text || w->api->kv_put(w->p, key, text, strlen(text)) < 0) {
    free(text);
    return -1;
  }
  free(text);
  say(w, VIGIL_PLUGIN_LOG_ERROR, "%s: event %llu (%s) dead-lettered after %u attempt(s): %s", ep->name,
      (unsigned long long)ep->head_seq, ep->head_type, ep->attempts, ep->last_error);
  ep->dead++;
  ep->cursor = ep->head_seq;
  drop_head(ep);
  save_cursor(ep);
  save_retry(ep);
  return 0;
}

static void on_retry_timer(uv_timer_t *t) {
  endpoint *ep = t->data;
  ep->next_try_ms = 0;
  pump(ep);
}

static void on_sent(void *ud, long status, const char *error) {
  endpoint *ep = ud;
  webhook *w = ep->w;
  ep->in_flight = 0;
  if (status >= 200 && status < 300) {
    ep->delivered++;
    ep->cursor = ep->head_seq;
    int had_failed = ep->attempts > 0;
    drop_head(ep);
    if (save_cursor(ep) < 0) say(w, VIGIL_PLUGIN_LOG_ERROR, "%s: cannot keep its cursor: it may send again", ep->name);
    if (had_failed) save_retry(ep);
    publish_metrics(ep);
    pump(ep);
    return;
  }
  ep->failed++;
  ep->attempts++;
  int64_t now = wall_ms();
  if (!ep->first_failed_ms) ep->first_failed_ms = now;
  if (error)
    snprintf(ep->last_error, sizeof ep->last_error, "%s", error);
  else
    snprintf(ep->last_error, sizeof ep->last_error, "HTTP %ld", status);
  if ((double)(now - ep->first_failed_ms) >= w->retry_for_ms && dead_letter(ep) == 0) {
    publish_metrics(ep);
    pump(ep);
    return;
  }
  save_retry(ep);
  /* 1 s, 2 s, 4 s ... up to an hour between attempts (by default). */
  double delay = vigil__plugin_backoff_ms(w->retry_min_ms, w->retry_max_ms, ep->attempts);
  ep->next_try_ms = now + (int64_t)delay;
  if (ep->attempts == 1 || ep->attempts % 10 == 0)
    say(w, VIGIL_PLUGIN_LOG_WARN, "%s: event %llu not delivered (%s); attempt %u, next in %.1f s", ep->name,
        (unsigned long long)ep->head_seq, ep->last_error, ep->attempts, delay / 1000);
  uv_timer_start(&ep->retry, on_retry_timer, (uint64_t)delay, 0);
  publish_metrics(ep);
}

static void send_head(endpoint *ep) {
  webhook *w = ep->w;
  char id[32], stamp[32], sig[128];
  char h_id[64], h_stamp[64], h_sig[160], h_site[120];
  /* E4: the seq and 32 bits of FNV-1a over the body (the event as the log
   * keeps it): the same on every attempt, after restarts too, and another
   * for a restored database's new event of a seq already sent, which a
   * receiver deduplicating on the id would otherwise drop (as H5's MSH-10). */
  snprintf(id, sizeof id, "%llu-%08x", (unsigned long long)ep->head_seq,
           vigil__plugin_digest32(ep->head_json, ep->head_len));
  int64_t ts = wall_ms() / 1000;
  snprintf(stamp, sizeof stamp, "%lld", (long long)ts);
  vigil__webhook_sign(ep->key, ep->keylen, id, ts, ep->head_json, ep->head_len, sig, sizeof sig);
  snprintf(h_id, sizeof h_id, "webhook-id: %s", id);
  snprintf(h_stamp, sizeof h_stamp, "webhook-timestamp: %s", stamp);
  snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
  /* On a node of a cluster webhook-ids (seq) count per site: the site is
   * named beside them, so a receiver of several sites keeps them apart. */
  const char *site = w->api->site(w->p);
  snprintf(h_site, sizeof h_site, "Vigil-Site: %.100s", site ? site : "");
  const char *headers[] = {"Content-Type: application/json",
                           "User-Agent: vigil-webhook/" WEBHOOK_VERSION,
                           "Vigil-Event-Schema: 1",
                           h_id,
                           h_stamp,
                           h_sig,
                           h_site};
  size_t n_headers = sizeof headers / sizeof *headers - (site ? 0 : 1);
  if (vigil__webhook_poster_post(w->poster, ep->url, headers, n_headers, ep->head_json, ep->head_len, ep->timeout_ms,
                                 on_sent, ep) < 0) {
    on_sent(ep, 0, "cannot make the request (out of memory?)");
    return;
  }
  ep->in_flight = 1;
}

/* Sends the next event, unless one is on its way or waiting for its retry. */
static void pump(endpoint *ep) {
  webhook *w = ep->w;
  for (;;) {
    if (w->closing || ep->in_flight || ep->next_try_ms) return;
    if (!ep->have_head) {
      head_search s = {ep, ep->cursor};
      if (w->api->events_after(w->p, ep->cursor, find_head, &s) < 0)
        return; /* logged by vigil; the next event retries */
      if (!ep->have_head) {
        /* Nothing for this endpoint up to the end of the log. */
        if (s.scanned > ep->cursor) ep->cursor = s.scanned;
        publish_metrics(ep);
        return;
      }
      if (ep->head_seq - 1 > ep->cursor) ep->cursor = ep->head_seq - 1; /* skipped events are not its */
    }
    if (!ep->head_where_failed) break;
    /* Its where failed and the settings say dead_letter: kept, shown, not sent. */
    ep->first_failed_ms = wall_ms();
    if (dead_letter(ep) < 0) return; /* the store refused: the next event tries again */
    publish_metrics(ep);
  }
  send_head(ep);
}

static int on_event(void *ud, const vigil_plugin_event *ev) {
  endpoint *ep = ud;
  if (ev->seq > ep->cursor) pump(ep);
  publish_backlog(ep);
  return 0;
}

/* Every other event: the cursor moves past it when nothing is waiting, so
 * that a filtered endpoint's backlog counts what it still has to send, and
 * the figure published is fresh (one figure for /metrics and the status). */
static int on_other_event(void *ud, const vigil_plugin_event *ev) {
  endpoint *ep = ud;
  if (!wanted(ep, ev->type) && ev->seq > ep->cursor) pump(ep);
  if (!wanted(ep, ev->type)) publish_backlog(ep);
  return 0;
}

/* ---- status ------------------------------------------------------------------------ */

/* The URL as the status shows it: without user:password@ or ?query, where
 * integrators sometimes put credentials. */
static void shown_url(const char *url, char *out, size_t len) {
  const char *sep = strstr(url, "://");
  size_t scheme = sep ? (size_t)(sep + 3 - url) : 0;
  const char *host = url + scheme;
  const char *at = strchr(host, '@'), *slash = strchr(host, '/');
  if (at && (!slash || at < slash)) host = at + 1;
  size_t rest = strcspn(host, "?#");
  snprintf(out, len, "%.*s%.*s%s", (int)scheme, url, (int)rest, host, host[rest] ? "?…" : "");
}

static char *status(void *ud) {
  webhook *w = ud;
  json_t *eps = json_array(), *dead = json_array();
  for (size_t i = 0; i < w->n_eps; i++) {
    endpoint *ep = &w->eps[i];
    /* The backlog as it is now, the same figure /metrics then shows (W S10). */
    publish_backlog(ep);
    json_t *types = json_array();
    for (size_t t = 0; t < ep->types.n; t++)
      json_array_append_new(types, json_string(ep->types.pattern[t]));
    char url[512];
    shown_url(ep->url, url, sizeof url);
    json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:I, s:b, s:i, s:I, s:I, s:I}", "name", ep->name, "url", url, "types",
                          types, "cursor", (json_int_t)ep->cursor, "backlog", (json_int_t)ep->backlog, "in_flight",
                          ep->in_flight, "attempts", (int)ep->attempts, "delivered", (json_int_t)ep->delivered,
                          "failed_attempts", (json_int_t)ep->failed, "dead_letters", (json_int_t)ep->dead);
    if (o && ep->where_name) {
      json_object_set_new(o, "where", json_string(ep->where_name));
      json_object_set_new(o, "where_error", json_string(ep->where_dead_letter ? "dead_letter" : "send"));
      json_object_set_new(o, "where_skipped", json_integer((json_int_t)ep->where_skipped));
      json_object_set_new(o, "where_errors", json_integer((json_int_t)ep->where_errors));
    }
    if (o && ep->attempts) {
      json_object_set_new(o, "head", json_integer((json_int_t)ep->head_seq));
      json_object_set_new(o, "last_error", json_string(ep->last_error));
      json_object_set_new(o, "first_failed_ms", json_integer(ep->first_failed_ms));
      if (ep->next_try_ms) json_object_set_new(o, "next_try_ms", json_integer(ep->next_try_ms));
    }
    json_array_append_new(eps, o);
  }
  dead_count d = {"dead/", 5, 0, dead};
  w->api->kv_scan(w->p, on_dead, &d);
  json_t *doc =
      json_pack("{s:o, s:o, s:I}", "endpoints", eps, "dead_letters", dead, "dead_letters_total", (json_int_t)d.n);
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  return text;
}

/* ---- life ------------------------------------------------------------------------- */

static void free_all(webhook *w) {
  for (size_t i = 0; i < w->n_eps; i++) {
    endpoint *ep = &w->eps[i];
    free(ep->name), free(ep->url), free(ep->key), free(ep->head_json), free(ep->where_name);
    vigil__plugin_types_free(&ep->types);
  }
  free(w->eps);
  free(w);
  curl_global_cleanup();
}

static void on_part_closed(webhook *w) {
  if (--w->open_handles == 0) free_all(w);
}
static void on_timer_closed(uv_handle_t *h) { on_part_closed(((endpoint *)h->data)->w); }
static void on_poster_closed(void *ud) { on_part_closed(ud); }

/* Filters are vigil's: given back before the plugin's memory goes. */
static void close_filters(webhook *w) {
  for (size_t i = 0; i < w->n_eps; i++) {
    w->api->filter_close(w->eps[i].where);
    w->eps[i].where = NULL;
  }
}

/* What is in flight is abandoned: its cursor has not moved, so it is sent
 * again (same webhook-id) after the restart. */
static void on_close(void *ud) {
  webhook *w = ud;
  w->closing = 1;
  close_filters(w);
  w->open_handles = 1 + (unsigned)w->n_eps;
  for (size_t i = 0; i < w->n_eps; i++) {
    save_cursor(&w->eps[i]);
    uv_close((uv_handle_t *)&w->eps[i].retry, on_timer_closed);
  }
  vigil__webhook_poster_close(w->poster, on_poster_closed, w);
}

static int valid_name(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-')) return 0;
  return 1;
}

/* A number of seconds from the settings, as ms. */
static int seconds(json_t *s, const char *key, double dflt, double *out_ms, char **err) {
  json_t *v = json_object_get(s, key);
  if (!v) {
    *out_ms = dflt * 1000;
    return 0;
  }
  if (!json_is_number(v) || !(json_number_value(v) > 0))
    return vigil__plugin_refuse(err, "plugins.webhook.%s: want a number of seconds above 0", key);
  *out_ms = json_number_value(v) * 1000;
  return 0;
}

/* where = "NAME": the site's predicate plugin_dir/NAME.lua; where_error: what a failing one means. */
static int read_where(webhook *w, json_t *e, size_t i, endpoint *ep, char **err) {
  json_t *where = json_object_get(e, "where"), *policy = json_object_get(e, "where_error");
  if (!where && !policy) return 0;
  if (!json_is_string(where))
    return vigil__plugin_refuse(
        err, "plugins.webhook.endpoints[%zu] (%s): where names a Lua file of plugin_dir, without .lua", i + 1,
        ep->name);
  const char *on_error = policy ? json_string_value(policy) : "send";
  if (!on_error || (strcmp(on_error, "send") && strcmp(on_error, "dead_letter")))
    return vigil__plugin_refuse(
        err, "plugins.webhook.endpoints[%zu] (%s): where_error is \"send\" (the default) or \"dead_letter\"", i + 1,
        ep->name);
  ep->where_dead_letter = !strcmp(on_error, "dead_letter");
  char setting[160];
  snprintf(setting, sizeof setting, "plugins.webhook.endpoints[%zu] (%s): where", i + 1, ep->name);
  return vigil__plugin_where_open(w->api, w->p, where, setting, &ep->where_name, &ep->where, err);
}

static int read_endpoint(webhook *w, json_t *e, size_t i, endpoint *ep, char **err) {
  /* AF6: `start` inside an endpoint (it is the plugin's) was silently ignored. */
  static const char *const known[] = {"name", "url", "secret", "types", "timeout", "where", "where_error", NULL};
  char where[64];
  snprintf(where, sizeof where, "plugins.webhook.endpoints[%zu]", i + 1);
  if (vigil__plugin_known_settings(e, known, where, err) < 0) return VIGIL_EINVAL;
  const char *name = json_string_value(json_object_get(e, "name"));
  const char *url = json_string_value(json_object_get(e, "url"));
  const char *secret = json_string_value(json_object_get(e, "secret"));
  if (!valid_name(name))
    return vigil__plugin_refuse(
        err,
        "plugins.webhook.endpoints[%zu]: want a name (a-z, digits, '_', '-'): it keys the endpoint's "
        "cursor, so it must not change",
        i + 1);
  for (size_t k = 0; k < i; k++)
    if (!strcmp(w->eps[k].name, name))
      return vigil__plugin_refuse(err, "plugins.webhook.endpoints[%zu]: a second endpoint named '%s'", i + 1, name);
  if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
    return vigil__plugin_refuse(
        err, "plugins.webhook.endpoints[%zu] (%s): want a url starting with https:// or http://", i + 1, name);
  if (!secret)
    return vigil__plugin_refuse(err, "plugins.webhook.endpoints[%zu] (%s): want a secret: webhooks are signed", i + 1,
                                name);
  ep->w = w;
  if (!(ep->name = strdup(name)) || !(ep->url = strdup(url))) return -1;
  if (vigil__webhook_secret_key(secret, &ep->key, &ep->keylen) < 0)
    return vigil__plugin_refuse(err, "plugins.webhook.endpoints[%zu] (%s): the secret after whsec_ is not base64",
                                i + 1, name);
  if (ep->keylen < 16)
    return vigil__plugin_refuse(err, "plugins.webhook.endpoints[%zu] (%s): the secret is %zu bytes; want at least 16",
                                i + 1, name, ep->keylen);
  char setting[160];
  snprintf(setting, sizeof setting, "plugins.webhook.endpoints[%zu] (%s): types", i + 1, name);
  int rc = vigil__plugin_types_read(&ep->types, json_object_get(e, "types"), "*", setting, err);
  if (rc < 0) return rc;
  double timeout_ms;
  if (seconds(e, "timeout", 10, &timeout_ms, err) < 0) return VIGIL_EINVAL;
  ep->timeout_ms = (long)timeout_ms;
  return read_where(w, e, i, ep, err);
}

static int init(vigil_plugin *p, const vigil_api *api, char **err) {
  if (sodium_init() < 0) return vigil__plugin_refuse(err, "libsodium cannot start");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return vigil__plugin_refuse(err, "libcurl cannot start");
  webhook *w = calloc(1, sizeof *w);
  json_t *s = json_loads(api->settings(p), 0, NULL);
  if (!w || !s) {
    free(w);
    json_decref(s);
    curl_global_cleanup();
    return -1;
  }
  w->p = p;
  w->api = api;
  int rc = 0;
  json_t *list = json_object_get(s, "endpoints");
  json_t *start = json_object_get(s, "start");
  int from_beginning = 0;
  size_t n = json_array_size(list);
  static const char *const known[] = {"endpoints", "start", "retry_min", "retry_max", "retry_for", NULL};
  if (vigil__plugin_known_settings(s, known, "plugins.webhook", err) < 0)
    rc = VIGIL_EINVAL;
  else if (!json_is_array(list) || !n || n > MAX_ENDPOINTS)
    rc = vigil__plugin_refuse(
        err, "plugins.webhook: want endpoints = { { name = ..., url = ..., secret = ... }, ... } (1 to %d)",
        MAX_ENDPOINTS);
  else if (vigil__plugin_start_read(start, "plugins.webhook.start", &from_beginning, err) < 0)
    rc = VIGIL_EINVAL;
  else if (seconds(s, "retry_for", 86400, &w->retry_for_ms, err) < 0 ||
           seconds(s, "retry_min", 1, &w->retry_min_ms, err) < 0 ||
           seconds(s, "retry_max", 3600, &w->retry_max_ms, err) < 0)
    rc = VIGIL_EINVAL;
  else if (!(w->eps = calloc(n, sizeof *w->eps)))
    rc = VIGIL_ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = read_endpoint(w, json_array_get(list, i), i, &w->eps[i], err);
    w->n_eps = i + 1;
  }
  json_decref(s);
  if (rc == 0 && !(w->poster = vigil__webhook_poster_new(api->loop(p)))) rc = VIGIL_ENOMEM;
  if (rc < 0) {
    close_filters(w);
    free_all(w); /* no handle was opened yet */
    return rc;
  }
  /* From here on, on_close undoes everything. */
  for (size_t i = 0; i < w->n_eps; i++) {
    uv_timer_init(api->loop(p), &w->eps[i].retry);
    w->eps[i].retry.data = &w->eps[i];
  }
  if ((rc = api->on_close(p, on_close, w)) < 0) {
    on_close(w);
    return rc;
  }
  uint64_t from = from_beginning ? 0 : api->last_seq(p);
  for (size_t i = 0; i < w->n_eps && rc == 0; i++) {
    endpoint *ep = &w->eps[i];
    load_state(ep, from);
    char prefix[96];
    snprintf(prefix, sizeof prefix, "dead/%s/", ep->name);
    dead_count d = {prefix, strlen(prefix), 0, NULL};
    api->kv_scan(p, on_dead, &d);
    ep->dead = d.n;
    for (size_t t = 0; t < ep->types.n && rc == 0; t++)
      if ((rc = api->subscribe(p, ep->types.pattern[t], on_event, ep)) < 0)
        vigil__plugin_refuse(err,
                             "plugins.webhook.endpoints[%zu] (%s): '%s' matches no event type (try \"*\", \"alert.*\")",
                             i + 1, ep->name, ep->types.pattern[t]);
    if (rc == 0) rc = api->subscribe(p, "*", on_other_event, ep);
    publish_metrics(ep);
  }
  if (rc == 0) rc = api->on_status(p, status, w);
  if (rc < 0) return rc; /* vigil runs on_close */
  /* What was waiting when vigil stopped goes out now. */
  for (size_t i = 0; i < w->n_eps; i++)
    pump(&w->eps[i]);
  return 0;
}

VIGIL_PLUGIN_DEFINE(WEBHOOK_VERSION, init);
