/* visit_record.c: what the exporters read about one visit, gathered through
 * the engine's public queries and parsed once. */
#define _GNU_SOURCE /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/export.h"

#define EVENTS_PAGE 1000 /* the most vigil_query_events_json gives at once */

static int fail(int rc, char *err, size_t errlen, const char *msg, const char *detail) {
  snprintf(err, errlen, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
  return rc;
}

static json_t *parse(char *text) {
  json_t *j = text ? json_loads(text, 0, NULL) : NULL;
  vigil_free(text);
  return j;
}

static int load_protocol(vigil_engine *e, visit_record *r, char *err, size_t errlen);

int vigil__visit_record_load_head(vigil_engine *e, uint64_t visit, visit_record *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  const char *status;
  if (vigil_query_visit_status(e, visit, &status) < 0) return fail(VIGIL_ENOENT, err, errlen, "no such visit", NULL);
  if (!(r->visit = parse(vigil_visit_json(e, visit))) || !(r->events = json_array())) {
    vigil__visit_record_free(r);
    return fail(VIGIL_ENOMEM, err, errlen, "the visit could not be read", vigil_engine_errmsg(e));
  }
  return load_protocol(e, r, err, errlen);
}

int vigil__visit_record_load(vigil_engine *e, uint64_t visit, visit_record *r, char *err, size_t errlen) {
  int rc = vigil__visit_record_load_head(e, visit, r, err, errlen);
  if (rc < 0) return rc;
  /* Its events, page by page, from the durable log. */
  uint64_t after = 0;
  for (;;) {
    json_t *page = parse(vigil_query_events_json(e, after, visit, EVENTS_PAGE));
    if (!page || !r->events) {
      json_decref(page);
      vigil__visit_record_free(r);
      return fail(VIGIL_EIO, err, errlen, "the visit's events could not be read", vigil_engine_errmsg(e));
    }
    json_array_extend(r->events, json_object_get(page, "events"));
    after = (uint64_t)json_integer_value(json_object_get(page, "next"));
    int more = json_is_true(json_object_get(page, "more"));
    json_decref(page);
    if (!more) break;
  }
  return 0;
}

/* The protocol version the visit runs on. */
static int load_protocol(vigil_engine *e, visit_record *r, char *err, size_t errlen) {
  json_t *all = parse(vigil_query_protocols_json(e));
  const char *ref = json_string_value(json_object_get(r->visit, "protocol"));
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(all, "protocols"), i, p) {
    if (ref && !strcmp(ref, vigil__export_str(p, "ref"))) {
      r->protocol = json_incref(p);
      break;
    }
  }
  json_decref(all);
  if (!r->protocol) {
    vigil__visit_record_free(r);
    return fail(VIGIL_EIO, err, errlen, "the visit's protocol is not loaded", ref);
  }
  return 0;
}

void vigil__visit_record_free(visit_record *r) {
  json_decref(r->visit);
  json_decref(r->events);
  json_decref(r->protocol);
  memset(r, 0, sizeof *r);
}

json_t *vigil__visit_record_item(const visit_record *r, const char *qid) {
  const char *dot = strchr(qid, '.');
  if (!dot) return NULL;
  size_t n = (size_t)(dot - qid);
  size_t i, j;
  json_t *ph, *it;
  json_array_foreach(json_object_get(r->visit, "phases"), i, ph) {
    const char *id = json_string_value(json_object_get(ph, "id"));
    if (!id || strlen(id) != n || strncmp(id, qid, n) != 0) continue;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (!strcmp(vigil__export_str(it, "id"), dot + 1)) return it;
    }
  }
  return NULL;
}

const char *vigil__visit_record_event_time(const visit_record *r, const char *type, const char *key,
                                           const char *value) {
  size_t i;
  json_t *ev;
  json_array_foreach(r->events, i, ev) {
    if (strcmp(vigil__export_str(ev, "type"), type) != 0) continue;
    const char *got = key ? json_string_value(json_object_get(json_object_get(ev, "data"), key)) : NULL;
    if (!key || (got && !strcmp(got, value))) return json_string_value(json_object_get(ev, "time"));
  }
  return NULL;
}

/* Not the one entered last: a late BP entered after a later one took the
 * later one's amendment (docs/safety.md AL4). */
json_t *vigil__export_latest_observed(json_t *entries, const char *key, const char *value) {
  json_t *x, *latest = NULL;
  json_int_t latest_t = 0;
  size_t i;
  json_array_foreach(entries, i, x) {
    if (strcmp(vigil__export_str(x, key), value) != 0) continue;
    json_int_t t = json_integer_value(json_object_get(x, "t"));
    if (!latest || t > latest_t || (t == latest_t && !json_is_true(json_object_get(x, "late")))) {
      latest = x;
      latest_t = t;
    }
  }
  return latest;
}

const char *vigil__export_str(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

int64_t vigil__export_parse_time(const char *iso) {
  struct tm tm = {0};
  int ms = 0, n = 0;
  if (!iso ||
      sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
             &tm.tm_sec, &ms, &n) != 7 ||
      iso[n] != '\0')
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (int64_t)timegm(&tm) * 1000 + ms;
}
