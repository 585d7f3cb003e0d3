/* visit_json.c: a visit's whole state as JSON, for people and programs:
 * where it is, what is due and overdue, what blocks the gate, its alerts. */
#include <stdlib.h>

#include "engine.h"

static const char *status_name(visit_status s) {
  return s == VISIT_ACTIVE ? "active" : s == VISIT_DISCHARGED ? "discharged" : "aborted";
}

static void time_field(buf *b, const char *name, int64_t ms) {
  buf_printf(b, ",\"%s\":\"", name);
  buf_iso_time(b, ms);
  buf_putc(b, '"');
}

static void alert_json(buf *b, const alert *a) {
  buf_printf(b, "{\"id\":%llu,\"rule\":", (unsigned long long)a->id);
  buf_json_string(b, a->rule ? a->rule : "");
  buf_printf(b, ",\"priority\":\"%s\",\"level\":%d,\"source\":\"%s\",\"message\":", priority_name(a->prio), a->level,
             alert_source_name(a->source));
  buf_json_string(b, a->message);
  buf_printf(b, ",\"state\":\"%s\",\"acknowledged\":%s,\"latching\":%s", alert_state_name(a),
             a->acked ? "true" : "false", a->latching ? "true" : "false");
  time_field(b, "raised_at", a->raised_at);
  if (a->acked) {
    time_field(b, "acknowledged_at", a->acked_at);
    buf_puts(b, ",\"acknowledged_by\":");
    buf_json_string(b, a->acked_by ? a->acked_by : "");
  }
  if (a->cleared) time_field(b, "resolved_at", a->cleared_at);
  buf_putc(b, '}');
}

void location_field(buf *b, const visit *v) {
  buf_puts(b, ",\"location\":");
  if (v->location)
    buf_json_string(b, v->location);
  else
    buf_puts(b, "null");
}

void limits_json(buf *b, int has_range, double lo, double hi, const char *const *options, uint32_t n_options) {
  if (has_range) {
    buf_puts(b, ",\"range\":[");
    buf_json_number(b, lo);
    buf_putc(b, ',');
    buf_json_number(b, hi);
    buf_putc(b, ']');
  }
  if (n_options) {
    buf_puts(b, ",\"options\":[");
    for (uint32_t o = 0; o < n_options; o++) {
      if (o) buf_putc(b, ',');
      buf_json_string(b, options[o]);
    }
    buf_putc(b, ']');
  }
}

/* A score field's points, each with what it means: the form shows them. */
static void points_json(buf *b, const field_spec *f) {
  if (!f->n_points) return;
  buf_puts(b, ",\"points\":[");
  for (uint32_t i = 0; i < f->n_points; i++) {
    buf_puts(b, i ? ",{\"value\":" : "{\"value\":");
    buf_json_number(b, f->points[i].value);
    if (f->points[i].label) buf_puts(b, ",\"label\":"), buf_json_string(b, f->points[i].label);
    buf_putc(b, '}');
  }
  buf_putc(b, ']');
}

static void item_json(vigil_engine *e, buf *b, visit *v, const item_spec *it, int current) {
  const item_state *s = &v->items[it->index];
  buf_puts(b, "{\"id\":");
  buf_json_string(b, it->id);
  buf_printf(b, ",\"kind\":\"%s\",\"title\":", item_kind_name(it->kind));
  buf_json_string(b, it->title ? it->title : it->id);
  buf_printf(b, ",\"required\":%s,\"count\":%u", it->required ? "true" : "false", s->n);
  if (current) buf_printf(b, ",\"applies\":%s", eval_when(e, v, it) ? "true" : "false");
  if (s->n) {
    buf_puts(b, ",\"value\":");
    val_to_json(b, s->r[s->n - 1].v);
    time_field(b, "recorded_at", s->r[s->n - 1].at);
    buf_puts(b, ",\"recorded_by\":");
    buf_json_string(b, s->r[s->n - 1].actor);
  }
  if (it->of_item >= 0) {
    buf_puts(b, ",\"of\":");
    buf_json_string(b, v->p->items[it->of_item].qid);
    buf_puts(b, ",\"meaning\":");
    buf_json_string(b, it->meaning ? it->meaning : "");
  }
  if (s->skipped) {
    buf_puts(b, ",\"skipped\":");
    buf_json_string(b, s->skipped);
  }
  if (current && it->scheduled) {
    int64_t due = item_next_due(v, it, NULL);
    if (due >= 0) {
      time_field(b, "due_at", due);
      buf_printf(b, ",\"overdue\":%s", s->overdue > s->sat ? "true" : "false");
    }
  }
  buf_puts(b, ",\"fields\":[");
  for (uint32_t i = 0; i < it->n_fields; i++) {
    const field_spec *f = &it->fields[i];
    buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
    buf_json_string(b, f->name);
    buf_printf(b, ",\"kind\":\"%s\",\"required\":%s", field_kind_name(f->kind), f->required ? "true" : "false");
    if (f->title) buf_puts(b, ",\"title\":"), buf_json_string(b, f->title);
    if (f->unit) buf_puts(b, ",\"unit\":"), buf_json_string(b, f->unit);
    if (f->loinc) buf_puts(b, ",\"loinc\":"), buf_json_string(b, f->loinc);
    limits_json(b, f->has_range, f->lo, f->hi, f->options, f->n_options);
    points_json(b, f);
    buf_putc(b, '}');
  }
  buf_puts(b, "]}");
}

char *vigil_visit_json(vigil_engine *e, uint64_t id) {
  visit *v = engine_visit(e, id);
  if (!v) {
    engine_fail(e, VIGIL_ENOENT, "visit", "no visit %llu", (unsigned long long)id);
    return NULL;
  }
  const protocol *p = v->p;
  buf b;
  buf_init(&b);
  buf_printf(&b, "{\"id\":%llu,\"patient\":", (unsigned long long)v->id);
  buf_json_string(&b, v->patient);
  location_field(&b, v);
  buf_puts(&b, ",\"protocol\":");
  buf_json_string(&b, p->ref);
  buf_printf(&b, ",\"sha256\":\"%s\",\"status\":\"%s\",\"phase\":", p->sha256, status_name(v->status));
  buf_json_string(&b, p->phases[v->phase].id);
  time_field(&b, "started_at", v->started_at);
  time_field(&b, "phase_started_at", v->phase_at);
  if (v->status != VISIT_ACTIVE) time_field(&b, "ended_at", v->ended_at);
  buf_puts(&b, ",\"params\":");
  val_to_json(&b, v->params);
  if (v->status == VISIT_ACTIVE) {
    val reasons;
    int n = gate_reasons(e, v, &reasons);
    buf_printf(&b, ",\"gate\":{\"ok\":%s,\"reasons\":", n == 0 ? "true" : "false");
    val_to_json(&b, n < 0 ? VAL_NIL_ : reasons);
    buf_putc(&b, '}');
    if (n >= 0) val_release(reasons);
  }
  buf_puts(&b, ",\"phases\":[");
  for (uint32_t i = 0; i < p->n_phases; i++) {
    const phase_spec *ph = &p->phases[i];
    buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
    buf_json_string(&b, ph->id);
    buf_puts(&b, ",\"title\":");
    buf_json_string(&b, ph->title ? ph->title : ph->id);
    buf_puts(&b, ",\"items\":[");
    for (uint16_t j = 0; j < ph->n_items; j++) {
      if (j) buf_putc(&b, ',');
      item_json(e, &b, v, &p->items[ph->first_item + j], v->status == VISIT_ACTIVE && i == v->phase);
    }
    buf_puts(&b, "]}");
  }
  buf_puts(&b, "],\"alerts\":[");
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    if (i) buf_putc(&b, ',');
    alert_json(&b, v->alerts[i]);
  }
  buf_puts(&b, "],\"blocks\":[");
  for (uint32_t i = 0; i < v->n_blocks; i++) {
    if (i) buf_putc(&b, ',');
    buf_puts(&b, "{\"rule\":");
    buf_json_string(&b, v->blocks[i].key);
    buf_puts(&b, ",\"reason\":");
    buf_json_string(&b, v->blocks[i].reason);
    buf_putc(&b, '}');
  }
  buf_puts(&b, "]}");
  return buf_take(&b);
}
