/* bus.c: the hook bus. In-process subscribers hear every event whose type
 * matches their pattern, in order, once it is durable. A subscriber that
 * fails is logged and counted and does not stop the others. A subscriber
 * may subscribe or unsubscribe (itself or another) while it hears: the
 * publish walks the entries by index over the count it began with (one
 * added now hears the next event), and an entry removed meanwhile is only
 * marked and dropped after the outermost publish (sixth review, item 4). */
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "model.h"
#include "fail.h"

static int pattern_types(const char *pattern, uint64_t *types) {
  *types = 0;
  if (!strcmp(pattern, "*")) {
    *types = (1ull << EV_COUNT) - 1;
    return 0;
  }
  size_t n = strlen(pattern);
  int prefix = n >= 2 && !strcmp(pattern + n - 2, ".*");
  for (int t = 0; t < EV_COUNT; t++) {
    const char *name = vigil__event_type_name((event_type)t);
    if (prefix ? (!strncmp(name, pattern, n - 1)) : !strcmp(name, pattern)) *types |= 1ull << t;
  }
  return *types ? 0 : -1;
}

int vigil__bus_pattern_match(const char *pattern, const char *type) {
  uint64_t types;
  if (pattern_types(pattern, &types) < 0) return VIGIL_EINVAL;
  int t = vigil__event_type_parse(type);
  return t >= 0 && (types >> t & 1);
}

int vigil_engine_subscribe(vigil_engine *e, const char *pattern, vigil_event_fn fn, void *ud) {
  uint64_t types;
  if (!pattern || !fn)
    return vigil__engine_fail(e, VIGIL_EINVAL, "pattern", "a subscription needs a pattern and a function");
  if (pattern_types(pattern, &types) < 0)
    return vigil__engine_fail(e, VIGIL_EINVAL, "pattern",
                              "'%s' matches no event type (try \"*\", \"alert.*\" or \"item.overdue\")", pattern);
  subscriber *s = realloc(e->subs, (e->n_subs + 1) * sizeof *s);
  if (!s) return VIGIL_ENOMEM;
  e->subs = s;
  s[e->n_subs] = (subscriber){.id = e->next_sub++, .types = types, .fn = fn, .ud = ud};
  return s[e->n_subs++].id;
}

int vigil_engine_unsubscribe(vigil_engine *e, int id) {
  for (uint32_t i = 0; i < e->n_subs; i++) {
    if (e->subs[i].id != id || !e->subs[i].fn) continue;
    if (e->bus_depth > 0) { /* a publish walks the array: mark, compact after it */
      e->subs[i].fn = NULL;
      e->subs_removed = 1;
      return 0;
    }
    memmove(&e->subs[i], &e->subs[i + 1], (e->n_subs - i - 1) * sizeof *e->subs);
    e->n_subs--;
    return 0;
  }
  return vigil__engine_fail(e, VIGIL_ENOENT, "subscription", "no subscription %d", id);
}

static void drop_removed(vigil_engine *e) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < e->n_subs; i++)
    if (e->subs[i].fn) e->subs[kept++] = e->subs[i];
  e->n_subs = kept;
  e->subs_removed = 0;
}

void vigil__bus_publish(vigil_engine *e, const vigil_event *ev) {
  uint64_t bit = 1ull << ev->type;
  uint32_t n = e->n_subs; /* one subscribed while this runs hears the next event */
  e->bus_depth++;
  /* By index, re-read each time: a subscriber may grow (move) the array.
   * One that freed the engine stops the others (lifetime.h). */
  for (uint32_t i = 0; i < n && !e->free_when_done; i++) {
    subscriber s = e->subs[i];
    if (!s.fn || !(s.types & bit)) continue;
    int rc = s.fn(s.ud, ev);
    if (rc != 0) {
      e->stats.subscriber_failures++;
      vigil__engine_log(e, VIGIL_LOG_WARN, "subscriber %d failed (%d) on event %llu (%s)", s.id, rc,
                        (unsigned long long)ev->seq, vigil__event_type_name((event_type)ev->type));
    }
  }
  if (--e->bus_depth == 0 && e->subs_removed) drop_removed(e);
}
