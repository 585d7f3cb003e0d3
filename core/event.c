/* event.c: event types and their JSON form. */
#include "event.h"

#include <string.h>

#include "vigil/vigil.h"

static const char *const names[EV_COUNT] = {
#define VIGIL_EVENT_NAME_(name, str) str,
    VIGIL_EVENT_TYPES(VIGIL_EVENT_NAME_)
#undef VIGIL_EVENT_NAME_
};

const char *event_type_name(event_type t) { return t < EV_COUNT ? names[t] : "unknown"; }

int event_type_parse(const char *s) {
  for (int i = 0; i < EV_COUNT; i++)
    if (!strcmp(names[i], s)) return i;
  return -1;
}

void event_to_json(buf *b, const struct vigil_event *ev) {
  buf_printf(b, "{\"seq\":%llu,\"time\":\"", (unsigned long long)ev->seq);
  buf_iso_time(b, ev->time);
  buf_printf(b, "\",\"visit\":%llu,\"type\":\"%s\",\"actor\":", (unsigned long long)ev->visit,
             names[ev->type]);
  buf_json_string(b, ev->actor ? ev->actor : "");
  buf_puts(b, ",\"data\":");
  val_to_json(b, ev->data);
  buf_putc(b, '}');
}

uint64_t vigil_event_seq(const vigil_event *ev) { return ev->seq; }
int64_t vigil_event_time(const vigil_event *ev) { return ev->time; }
uint64_t vigil_event_visit(const vigil_event *ev) { return ev->visit; }
const char *vigil_event_type(const vigil_event *ev) { return event_type_name((event_type)ev->type); }
const char *vigil_event_actor(const vigil_event *ev) { return ev->actor; }

char *vigil_event_json(const vigil_engine *e, const vigil_event *ev) {
  (void)e;
  buf b;
  buf_init(&b);
  event_to_json(&b, ev);
  return buf_take(&b);
}
