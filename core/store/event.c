/* event.c: event types and their JSON form. */
#include "store/event.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/intern.h"
#include "lang/value_convert.h"
#include "vigil/vigil.h"

static const char *const names[EV_COUNT] = {
#define VIGIL_EVENT_NAME_(name, str) str,
    VIGIL_EVENT_TYPES(VIGIL_EVENT_NAME_)
#undef VIGIL_EVENT_NAME_
};

const char *vigil__event_type_name(event_type t) { return t < EV_COUNT ? names[t] : "unknown"; }

int vigil__event_type_parse(const char *s) {
  for (int i = 0; i < EV_COUNT; i++)
    if (!strcmp(names[i], s)) return i;
  return -1;
}

int vigil__event_ends_visit(const struct vigil_event *ev) {
  if (ev->type == EV_VISIT_DISCHARGED) return 1;
  if (ev->type == EV_VISIT_ABORTED) {
    val *alerts = vigil__val_get(ev->data, K(alerts));
    return !alerts || alerts->type != VAL_LIST || alerts->u.o->n == 0;
  }
  if (ev->type == EV_ALERT_ACKNOWLEDGED && ev->visit) {
    val *left = vigil__val_get(ev->data, K(alerts_left));
    return left && left->type == VAL_NUMBER && left->u.num == 0;
  }
  return 0;
}

void vigil__event_to_json(buf *b, const struct vigil_event *ev) {
  /* Every durable event goes through here: no printf. */
  vigil__buf_puts(b, "{\"seq\":");
  vigil__buf_put_int(b, (long long)ev->seq);
  vigil__buf_puts(b, ",\"time\":\"");
  vigil__buf_iso_time(b, ev->time);
  vigil__buf_puts(b, "\",\"visit\":");
  vigil__buf_put_int(b, (long long)ev->visit);
  vigil__buf_puts(b, ",\"type\":\"");
  vigil__buf_puts(b, names[ev->type]);
  vigil__buf_puts(b, "\",\"actor\":");
  vigil__buf_json_string(b, ev->actor ? ev->actor : "");
  vigil__buf_puts(b, ",\"data\":");
  vigil__val_to_json(b, ev->data);
  vigil__buf_putc(b, '}');
}

int vigil__event_from_row(struct vigil_event *ev, uint64_t seq, int64_t time, uint64_t visit, const char *type,
                          const char *body, char *err, size_t errlen) {
  int t = type ? vigil__event_type_parse(type) : -1;
  /* Straight to a val (value_json.c): recovery parses every open visit's events. */
  char why[200] = "";
  val row = VAL_NIL_;
  int prc = body ? vigil__val_parse_json(body, strlen(body), &row, why, sizeof why) : -1;
  int parsed = prc == 0;
  const char *data_key = vigil__intern("data");
  if (prc == VIGIL_ENOMEM || (parsed && !data_key)) {
    snprintf(err, errlen, "out of memory reading event %llu", (unsigned long long)seq);
    vigil__val_release(row);
    return VIGIL_ENOMEM;
  }
  val *data = parsed && row.type == VAL_RECORD && data_key ? vigil__val_get(row, data_key) : NULL;
  val *actor = parsed && row.type == VAL_RECORD ? vigil__val_get(row, K(actor)) : NULL;
  const char *actor_text = actor && actor->type == VAL_STRING ? val_str(*actor) : NULL;
  if (t < 0 || !data || !actor_text) {
    snprintf(err, errlen, "event %llu cannot be read (%s)", (unsigned long long)seq,
             t < 0    ? "unknown type"
             : parsed ? "no data or actor"
                      : why);
    vigil__val_release(row);
    return -1;
  }
  ev->seq = seq;
  ev->time = time;
  ev->visit = visit;
  ev->type = (uint16_t)t;
  ev->kv = NULL;
  ev->json = NULL;
  ev->json_len = 0;
  ev->lent = NULL;
  ev->actor = vigil__intern(actor_text);
  ev->data = ev->actor ? vigil__val_retain(*data) : VAL_NIL_;
  vigil__val_release(row);
  if (!ev->actor) snprintf(err, errlen, "out of memory reading event %llu", (unsigned long long)seq);
  return ev->actor ? 0 : VIGIL_ENOMEM;
}

int vigil__event_row_deliver(uint64_t seq, int64_t time, uint64_t visit, const char *type, const char *body,
                             int (*fn)(void *ud, const struct vigil_event *ev), void *ud, char *err, size_t errlen) {
  vigil_event ev;
  int bad = vigil__event_from_row(&ev, seq, time, visit, type, body, err, errlen);
  if (bad < 0) return bad == VIGIL_ENOMEM ? VIGIL_ENOMEM : VIGIL_ECORRUPT;
  int stop = fn(ud, &ev);
  vigil__event_clear(&ev);
  return stop ? 1 : 0;
}

uint64_t vigil_event_seq(const vigil_event *ev) { return ev->seq; }
int64_t vigil_event_time(const vigil_event *ev) { return ev->time; }
uint64_t vigil_event_visit(const vigil_event *ev) { return ev->visit; }
const char *vigil_event_type(const vigil_event *ev) { return vigil__event_type_name((event_type)ev->type); }
const char *vigil_event_actor(const vigil_event *ev) { return ev->actor; }

/* The canonical JSON made now, its length in *len. */
static char *json_made(const struct vigil_event *ev, size_t *len) {
  buf b;
  vigil__buf_init(&b);
  vigil__event_to_json(&b, ev);
  *len = b.len;
  return vigil__buf_take(&b);
}

int vigil__event_json_build(struct vigil_event *ev) {
  if (ev->json) return 0;
  size_t n;
  char *text = json_made(ev, &n);
  if (!text) return VIGIL_ENOMEM;
  ev->json = text;
  ev->json_len = n;
  return 0;
}

const char *vigil__event_json_read(const struct vigil_event *ev, size_t *len, char **copy) {
  *copy = NULL;
  if (!ev->json && ev->lent) (void)vigil__event_json_build(ev->lent); /* out of memory: a copy below */
  size_t n = ev->json_len;
  const char *text = ev->json;
  if (!text) text = *copy = json_made(ev, &n);
  if (len) *len = n;
  return text;
}

void vigil__event_clear(struct vigil_event *ev) {
  vigil__val_release(ev->data);
  vigil__kv_writes_free(ev->kv);
  free(ev->json);
  ev->data = VAL_NIL_;
  ev->kv = NULL;
  ev->json = NULL;
}

char *vigil_event_json(const vigil_engine *e, const vigil_event *ev) {
  (void)e;
  size_t len;
  char *made;
  const char *text = vigil__event_json_read(ev, &len, &made);
  if (made || !text) return made; /* made for this call: the caller's */
  char *copy = malloc(len + 1);
  if (copy) memcpy(copy, text, len + 1);
  return copy;
}

int vigil__kv_write_add(store_kv_write **list, const char *ns, const char *key, const void *value, size_t len) {
  store_kv_write *w = calloc(1, sizeof *w);
  if (w) {
    w->ns = strdup(ns);
    w->key = strdup(key);
    w->value = value ? malloc(len + 1) : NULL;
    w->len = value ? len : 0;
  }
  if (!w || !w->ns || !w->key || (value && !w->value)) {
    vigil__kv_writes_free(w);
    return VIGIL_ENOMEM;
  }
  if (value) {
    if (len) memcpy(w->value, value, len);
    ((char *)w->value)[len] = '\0';
  }
  while (*list)
    list = &(*list)->next;
  *list = w;
  return 0;
}

int vigil__kv_exists_fail(const store_kv_write *w, char *err, size_t errlen) {
  snprintf(err, errlen, "%s '%s' exists already (created meanwhile, perhaps on another node)",
           !strcmp(w->ns, "user") ? "user" : w->ns, w->key);
  return VIGIL_EEXIST;
}

void vigil__kv_writes_free(store_kv_write *w) {
  while (w) {
    store_kv_write *next = w->next;
    free(w->ns);
    free(w->key);
    free(w->value);
    free(w);
    w = next;
  }
}
