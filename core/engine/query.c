/* query.c: read-only views over a running engine, as JSON: the protocols it
 * has loaded, its visits and alerts filtered and paged, and pages of the
 * durable event log. Nothing here emits an event or changes a visit; the
 * only side effect is that listing closed visits folds them back from the
 * store (vigil__engine_visit keeps them in memory from then on). */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "alerts.h"
#include "chair.h"
#include "fail.h"
#include "patient_record.h"
#include "prescription.h"
#include "recover.h"
#include "visit.h"
#include "visit_json.h"
#include "base/utf8.h"
#include "engine/chairs.h"

#define QUERY_DEFAULT_LIMIT 100
#define QUERY_MAX_LIMIT 1000

static uint32_t page_limit(uint32_t limit) {
  return limit == 0 ? QUERY_DEFAULT_LIMIT : limit > QUERY_MAX_LIMIT ? QUERY_MAX_LIMIT : limit;
}

static char *done(vigil_engine *e, buf *b) {
  char *s = vigil__buf_take(b);
  if (!s) vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory");
  return s;
}

static void time_field(buf *b, const char *name, int64_t ms) {
  vigil__buf_printf(b, ",\"%s\":\"", name);
  vigil__buf_iso_time(b, ms);
  vigil__buf_putc(b, '"');
}

static void next_field(buf *b, int more, uint64_t last) {
  if (more)
    vigil__buf_printf(b, "],\"next\":%llu}", (unsigned long long)last);
  else
    vigil__buf_puts(b, "],\"next\":null}");
}

/* ---- protocols ------------------------------------------------------------- */

static void param_json(buf *b, const param_spec *pa) {
  vigil__buf_puts(b, "{\"name\":");
  vigil__buf_json_string(b, pa->name);
  vigil__buf_puts(b, ",\"title\":");
  vigil__buf_json_string(b, pa->title ? pa->title : pa->name);
  vigil__buf_printf(b, ",\"kind\":\"%s\",\"required\":%s", vigil__field_kind_name(pa->kind),
                    pa->required ? "true" : "false");
  if (pa->unit) vigil__buf_puts(b, ",\"unit\":"), vigil__buf_json_string(b, pa->unit);
  vigil__limits_json(b, pa->has_range, pa->lo, pa->hi, pa->options, pa->n_options);
  if (pa->def.type != VAL_NIL) vigil__buf_puts(b, ",\"default\":"), vigil__val_to_json(b, pa->def);
  if (pa->prescribed) vigil__buf_puts(b, ",\"prescribed\":true");
  for (uint32_t i = 0; i < pa->n_less_than; i++) {
    vigil__buf_puts(b, i ? "," : ",\"less_than\":[");
    vigil__buf_json_string(b, pa->less_than[i]);
    if (i + 1 == pa->n_less_than) vigil__buf_putc(b, ']');
  }
  vigil__buf_putc(b, '}');
}

char *vigil_query_protocols_json(vigil_engine *e) {
  buf b;
  vigil__buf_init(&b);
  vigil__buf_puts(&b, "{\"protocols\":[");
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    const protocol *p = e->protocols[i];
    if (i) vigil__buf_putc(&b, ',');
    vigil__buf_puts(&b, "{\"id\":");
    vigil__buf_json_string(&b, p->id);
    vigil__buf_puts(&b, ",\"version\":");
    vigil__buf_json_string(&b, p->version);
    vigil__buf_puts(&b, ",\"ref\":");
    vigil__buf_json_string(&b, p->ref);
    vigil__buf_puts(&b, ",\"title\":");
    vigil__buf_json_string(&b, p->title ? p->title : p->id);
    if (p->description) vigil__buf_puts(&b, ",\"description\":"), vigil__buf_json_string(&b, p->description);
    /* "store": loaded back from the log for the visits that started on it. */
    vigil__buf_printf(&b, ",\"sha256\":\"%s\",\"source\":\"%s\",\"default\":%s", p->sha256,
                      p->stored ? "store" : "disk", vigil__engine_find_protocol(e, p->id) == p ? "true" : "false");
    vigil__buf_puts(&b, ",\"phases\":[");
    for (uint32_t k = 0; k < p->n_phases; k++) {
      const phase_spec *ph = &p->phases[k];
      vigil__buf_puts(&b, k ? ",{\"id\":" : "{\"id\":");
      vigil__buf_json_string(&b, ph->id);
      vigil__buf_puts(&b, ",\"title\":");
      vigil__buf_json_string(&b, ph->title ? ph->title : ph->id);
      vigil__buf_puts(&b, ",\"items\":[");
      for (uint16_t j = 0; j < ph->n_items; j++) {
        const item_spec *it = &p->items[ph->first_item + j];
        vigil__buf_puts(&b, j ? ",{\"id\":" : "{\"id\":");
        vigil__buf_json_string(&b, it->id);
        vigil__buf_printf(&b, ",\"kind\":\"%s\",\"required\":%s}", vigil__item_kind_name(it->kind),
                          it->required ? "true" : "false");
      }
      vigil__buf_puts(&b, "]}");
    }
    vigil__buf_puts(&b, "],\"params\":[");
    for (uint32_t k = 0; k < p->n_params; k++) {
      if (k) vigil__buf_putc(&b, ',');
      param_json(&b, &p->params[k]);
    }
    vigil__buf_puts(&b, "]}");
  }
  vigil__buf_puts(&b, "]}");
  return done(e, &b);
}

/* ---- visits ----------------------------------------------------------------- */

static const char *status_name(visit_status s) {
  return s == VISIT_ACTIVE ? "active" : s == VISIT_DISCHARGED ? "discharged" : "aborted";
}

/* Raised and not acknowledged, and not closed. */
static int alert_is_active(const alert *a) { return vigil__alert_is_open(a) && !a->acked; }

static void visit_summary(buf *b, const visit *v) {
  const protocol *p = v->p;
  vigil__buf_printf(b, "{\"id\":%llu,\"patient\":", (unsigned long long)v->id);
  vigil__buf_json_string(b, v->patient ? v->patient : "");
  vigil__location_field(b, v);
  vigil__buf_puts(b, ",\"protocol\":");
  vigil__buf_json_string(b, p->ref);
  vigil__buf_printf(b, ",\"status\":\"%s\",\"phase\":", status_name(v->status));
  vigil__buf_json_string(b, p->phases[v->phase].id);
  vigil__buf_puts(b, ",\"phase_title\":");
  char title[1024];
  vigil__buf_json_string(b, p->phases[v->phase].title
                                ? vigil__visit_text(v, p->phases[v->phase].title, title, sizeof title)
                                : p->phases[v->phase].id);
  time_field(b, "started_at", v->started_at);
  time_field(b, "phase_started_at", v->phase_at);
  if (v->status != VISIT_ACTIVE) time_field(b, "ended_at", v->ended_at);
  vigil__changed_params_field(b, v);
  uint32_t active = 0, open = 0;
  int highest = -1;
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    const alert *a = v->alerts[i];
    if (!vigil__alert_is_open(a)) continue;
    open++;
    if (alert_is_active(a)) {
      active++;
      if ((int)a->prio > highest) highest = (int)a->prio;
    }
  }
  vigil__buf_printf(b, ",\"alerts\":{\"active\":%u,\"open\":%u,\"highest\":", active, open);
  if (highest < 0)
    vigil__buf_puts(b, "null}");
  else
    vigil__buf_printf(b, "\"%s\"}", vigil__priority_name((priority)highest));
  uint32_t overdue = 0;
  if (v->status == VISIT_ACTIVE) {
    const phase_spec *ph = &p->phases[v->phase];
    for (uint16_t j = 0; j < ph->n_items; j++) {
      const item_state *s = &v->items[ph->first_item + j];
      overdue += s->overdue > s->sat && !s->skipped_for_good;
    }
  }
  vigil__buf_printf(b, ",\"overdue\":%u}", overdue);
}

static int protocol_matches(const protocol *p, const char *ref) {
  return !ref || !strcmp(p->ref, ref) || !strcmp(p->id, ref);
}

static int alerts_match(const visit *v, const char *which) {
  if (!which) return 1;
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    const alert *a = v->alerts[i];
    if (!strcmp(which, "active") ? alert_is_active(a) : vigil__alert_is_open(a)) return 1;
  }
  return 0;
}

/* The visits of f, only those in chair's chair unless chair is NULL. */
static char *visits_json(vigil_engine *e, const vigil_visit_filter *f, const chair_key *chair) {
  vigil_visit_filter none = {0};
  if (!f) f = &none;
  /* Asked for the visits with alerts, without a status: every visit that has
   * them, an aborted one too (its alerts escalate until acknowledged: G3 in
   * docs/safety.md). */
  int want_alerts_active = f->alerts && !strcmp(f->alerts, "active");
  const char *status = f->status ? f->status : want_alerts_active ? "all" : "active";
  int want_active = !strcmp(status, "active") || !strcmp(status, "all");
  int want_discharged = !strcmp(status, "discharged") || !strcmp(status, "closed") || !strcmp(status, "all");
  int want_aborted = !strcmp(status, "aborted") || !strcmp(status, "closed") || !strcmp(status, "all");
  if (!want_active && !want_discharged && !want_aborted) {
    vigil__engine_fail(e, VIGIL_EINVAL, "status", "status is one of active, discharged, aborted, closed, all; not '%s'",
                       status);
    return NULL;
  }
  if (f->alerts && strcmp(f->alerts, "active") != 0 && strcmp(f->alerts, "open") != 0) {
    vigil__engine_fail(e, VIGIL_EINVAL, "alerts", "alerts is active or open; not '%s'", f->alerts);
    return NULL;
  }
  uint32_t limit = page_limit(f->limit), n = 0;
  uint64_t last = 0;
  int more = 0;
  buf b;
  vigil__buf_init(&b);
  vigil__buf_puts(&b, "{\"visits\":[");
  for (uint64_t id = f->after + 1; id <= e->n_visits; id++) {
    /* Active visits are all in memory; a closed one may have to be folded. */
    visit *v = e->visits[id - 1];
    /* A closed visit with active alerts is in memory (engine.c, keep_closed). */
    if (!v && (want_discharged || want_aborted) && !want_alerts_active) v = vigil__engine_visit(e, id);
    if (!v) continue;
    if (v->status == VISIT_ACTIVE ? !want_active : v->status == VISIT_DISCHARGED ? !want_discharged : !want_aborted)
      continue;
    if (f->phase && strcmp(v->p->phases[v->phase].id, f->phase) != 0) continue;
    if (!protocol_matches(v->p, f->protocol)) continue;
    if (f->patient && (!v->patient || strcmp(v->patient, f->patient) != 0)) continue;
    if (v->started_at < f->started_from) continue;
    if (!alerts_match(v, f->alerts)) continue;
    if (chair && !vigil__chair_is(chair, v->location)) continue;
    if (n == limit) {
      more = 1;
      break;
    }
    if (n++) vigil__buf_putc(&b, ',');
    visit_summary(&b, v);
    last = id;
  }
  next_field(&b, more, last);
  return done(e, &b);
}

char *vigil_query_visits_json(vigil_engine *e, const vigil_visit_filter *f) { return visits_json(e, f, NULL); }

char *vigil__query_visits_in_chair_json(vigil_engine *e, const vigil_visit_filter *f, const char *location) {
  if (!location) return visits_json(e, f, NULL);
  if (!vigil__utf8_valid(location)) {
    vigil__engine_fail(e, VIGIL_EINVAL, "location", "a location is UTF-8 text");
    return NULL;
  }
  chair_key chair;
  if (vigil__chair_key(location, &chair) < 0) {
    vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory");
    return NULL;
  }
  char *body = visits_json(e, f, &chair);
  vigil__chair_key_free(&chair);
  return body;
}

int vigil_query_visit_status(vigil_engine *e, uint64_t id, const char **status) {
  visit *v = vigil__engine_visit(e, id);
  if (!v) return vigil__engine_fail(e, VIGIL_ENOENT, "visit", "no visit %llu", (unsigned long long)id);
  if (status) *status = status_name(v->status);
  return 0;
}

/* ---- alerts ------------------------------------------------------------------ */

static void alert_row(buf *b, const alert *a) {
  /* A course alert is the patient's, of no visit (course.c). */
  if (a->course) {
    vigil__buf_printf(b, "{\"id\":%llu,\"visit\":null,\"course\":%llu,\"patient\":", (unsigned long long)a->id,
                      (unsigned long long)a->course->id);
    vigil__buf_json_string(b, a->course->patient);
  } else {
    vigil__buf_printf(b, "{\"id\":%llu,\"visit\":%llu,\"patient\":", (unsigned long long)a->id,
                      (unsigned long long)a->visit->id);
    vigil__buf_json_string(b, a->visit->patient ? a->visit->patient : "");
  }
  vigil__alert_fields(b, a);
  vigil__buf_putc(b, '}');
}

static int alert_wanted(const alert *a, const char *state) {
  if (!strcmp(state, "all")) return 1;
  if (!strcmp(state, "open")) return vigil__alert_is_open(a);
  return alert_is_active(a);
}

char *vigil_query_alerts_json(vigil_engine *e, const vigil_alert_filter *f) {
  vigil_alert_filter none = {0};
  if (!f) f = &none;
  const char *state = f->state ? f->state : "active";
  if (strcmp(state, "active") != 0 && strcmp(state, "open") != 0 && strcmp(state, "all") != 0) {
    vigil__engine_fail(e, VIGIL_EINVAL, "state", "state is one of active, open, all; not '%s'", state);
    return NULL;
  }
  if (!strcmp(state, "all") && !f->visit) {
    vigil__engine_fail(e, VIGIL_EINVAL, "state", "state=all needs a visit");
    return NULL;
  }
  visit *only = NULL;
  if (f->visit && !(only = vigil__engine_visit(e, f->visit))) {
    vigil__engine_fail(e, VIGIL_ENOENT, "visit", "no visit %llu", (unsigned long long)f->visit);
    return NULL;
  }
  uint32_t limit = page_limit(f->limit), n = 0;
  uint64_t last = 0;
  int more = 0;
  buf b;
  vigil__buf_init(&b);
  vigil__buf_puts(&b, "{\"alerts\":[");
  /* Alert ids grow with time, in one visit as across visits. */
  uint64_t count = only ? only->n_alerts : e->n_alerts;
  for (uint64_t i = 0; i < count; i++) {
    const alert *a = only ? only->alerts[i] : e->alerts[i];
    if (!a || a->id <= f->after || !alert_wanted(a, state)) continue;
    if (n == limit) {
      more = 1;
      break;
    }
    if (n++) vigil__buf_putc(&b, ',');
    alert_row(&b, a);
    last = a->id;
  }
  next_field(&b, more, last);
  return done(e, &b);
}

int vigil_query_alert_visit(vigil_engine *e, uint64_t id, uint64_t *visit_id) {
  const alert *a = id >= 1 && id <= e->n_alerts ? e->alerts[id - 1] : NULL;
  if (!a) return vigil__engine_fail(e, VIGIL_ENOENT, "alert", "no alert %llu", (unsigned long long)id);
  *visit_id = a->visit ? a->visit->id : 0; /* 0: a course alert */
  return 0;
}

/* ---- events ------------------------------------------------------------------- */

typedef struct page {
  buf *b;
  uint32_t n, limit;
  uint64_t last;
  int more;
} page;

static int page_event(void *ud, const vigil_event *ev) {
  page *pg = ud;
  if (pg->n == pg->limit) {
    pg->more = 1;
    return 1; /* stops the scan */
  }
  if (pg->n++) vigil__buf_putc(pg->b, ',');
  vigil__event_to_json(pg->b, ev);
  pg->last = ev->seq;
  return 0;
}

char *vigil_query_events_json(vigil_engine *e, uint64_t after, uint64_t visit_id, uint32_t limit) {
  buf b;
  vigil__buf_init(&b);
  vigil__buf_puts(&b, "{\"events\":[");
  page pg = {.b = &b, .limit = page_limit(limit)};
  char err[1024];
  int rc = e->store->ops->scan(e->store, after, visit_id, page_event, &pg, err, sizeof err);
  if (rc < 0) {
    vigil__buf_free(&b);
    vigil__engine_fail(e, rc, NULL, "%s", err);
    return NULL;
  }
  /* A feed never ends: next is where to go on from, with or without more. */
  vigil__buf_printf(&b, "],\"next\":%llu,\"more\":%s,\"last_seq\":%llu}", (unsigned long long)(pg.n ? pg.last : after),
                    pg.more ? "true" : "false", (unsigned long long)e->durable_seq);
  return done(e, &b);
}

uint64_t vigil_query_last_seq(const vigil_engine *e) { return e->durable_seq; }

void vigil_query_count(const vigil_engine *e, vigil_query_counts *out) {
  memset(out, 0, sizeof *out);
  out->last_seq = e->durable_seq;
  for (uint64_t i = 0; i < e->n_visits; i++) {
    const visit *v = e->visits[i];
    if (!v) continue;
    out->visits_active += v->status == VISIT_ACTIVE;
    for (uint32_t k = 0; k < v->n_alerts; k++) {
      const alert *a = v->alerts[k];
      if (!vigil__alert_is_open(a) || a->prio > PRIORITY_HIGH) continue;
      out->alerts_open[a->prio]++;
      out->alerts_active[a->prio] += !a->acked;
    }
  }
}

char *vigil_patient_record_json(vigil_engine *e, const char *patient) {
  void *value = NULL;
  size_t len = 0;
  char err[512];
  if (!patient || !*patient) {
    vigil__engine_fail(e, VIGIL_ENOENT, "patient", "no record of patient (none)");
    return NULL;
  }
  int rc = e->store->ops->kv_get(e->store, "patients", patient, &value, &len, err, sizeof err);
  /* N3: a record spelled like it (mg-b for MG-B) is shown, saying whose. */
  char *alike = rc == VIGIL_ENOENT ? vigil__patient_record_alike(e, patient) : NULL;
  if (alike) rc = e->store->ops->kv_get(e->store, "patients", alike, &value, &len, err, sizeof err);
  free(alike);
  if (rc == VIGIL_ENOENT) {
    vigil__engine_fail(e, VIGIL_ENOENT, "patient", "no record of patient %s", patient);
    return NULL;
  }
  if (rc < 0) {
    vigil__engine_fail(e, rc, NULL, "cannot read the record of patient %s: %s", patient, err);
    return NULL;
  }
  char *text = malloc(len + 1);
  if (!text) {
    free(value);
    vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory");
    return NULL;
  }
  memcpy(text, value, len);
  text[len] = '\0';
  free(value);
  return text;
}
