/* engine.c: the engine object, and the commands that change visits.
 *
 * A command checks everything it can before emitting anything, so a refused
 * command leaves no trace but its error. Then it emits events (each applied to
 * the visit at once), runs the protocol's rules on what changed, re-arms the
 * visit's deadline and, outside a batch, commits. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "engine.h"
#include "intern.h"
#include "value_convert.h"

/* ---- errors and logging -------------------------------------------------- */

int engine_fail(vigil_engine *e, int code, const char *about, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->errmsg, sizeof e->errmsg, fmt, ap);
  va_end(ap);
  /* Copied, not interned: the field may come from a caller's bad input. */
  snprintf(e->errfield, sizeof e->errfield, "%s", about ? about : "");
  return code;
}

const char *vigil_engine_errmsg(const vigil_engine *e) { return e->errmsg; }
const char *vigil_engine_errfield(const vigil_engine *e) { return e->errfield[0] ? e->errfield : NULL; }

void engine_log(vigil_engine *e, vigil_log_level level, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (e->opts.log) {
    e->opts.log(e->opts.log_ud, level, msg);
    return;
  }
  static const char *names[] = {"error", "warn", "info"};
  fprintf(stderr, "vigil: %s: %s\n", names[level], msg);
}

void vigil_free(void *p) { free(p); }

/* ---- life ---------------------------------------------------------------- */

int vigil_engine_new(const vigil_options *opts, vigil_engine **out) {
  *out = NULL;
  if (intern_retain() < 0) return VIGIL_ENOMEM;
  vigil_engine *e = calloc(1, sizeof *e);
  if (!e) {
    intern_release();
    return VIGIL_ENOMEM;
  }
  if (opts) e->opts = *opts;
  e->next_sub = 1;
  if (e->opts.clock == VIGIL_CLOCK_SIMULATED) {
    e->sim_now = e->opts.sim_start_ms;
  } else {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    e->wall_base = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    e->hr_base = uv_hrtime();
    e->loop = e->opts.loop ? e->opts.loop : uv_default_loop();
  }
  int rc = 0;
  char err[1024];
  if (e->opts.db_path) {
    e->store = store_sqlite_open(e->opts.db_path, e->opts.db_vfs, &rc, err, sizeof err);
  } else if (!(e->store = store_memory_open())) {
    rc = VIGIL_ENOMEM;
    snprintf(err, sizeof err, "out of memory");
  }
  if (rc == 0) rc = engine_recover(e, err, sizeof err);
  if (rc < 0) {
    /* The engine is returned for its error message; it can only be freed. */
    engine_fail(e, rc, NULL, "%s", err);
    *out = e;
    return rc;
  }
  *out = e;
  return 0;
}

static void on_timer_closed(uv_handle_t *h) { free(h); }

void vigil_engine_free(vigil_engine *e) {
  if (!e) return;
  if (e->uv_timer) {
    uv_close((uv_handle_t *)e->uv_timer, on_timer_closed);
    uv_run(e->loop, UV_RUN_NOWAIT); /* lets the close callback free the handle */
  }
  for (uint64_t i = 0; i < e->n_visits; i++) visit_free(e->visits[i]);
  free(e->visits);
  free(e->alerts);
  heap_free(&e->deadlines);
  if (e->store) e->store->ops->close(e->store);
  for (size_t i = 0; i < e->n_pending; i++) {
    val_release(e->pending[i]->data);
    free(e->pending[i]);
  }
  free(e->pending);
  for (uint32_t i = 0; i < e->n_protocols; i++) protocol_free(e->protocols[i]);
  free(e->protocols);
  free(e->subs);
  free(e);
  intern_release();
}

visit *engine_visit(vigil_engine *e, uint64_t id) {
  if (id < 1 || id > e->n_visits) return NULL;
  if (!e->visits[id - 1] && id <= e->durable_visits) e->visits[id - 1] = engine_fold_visit(e, id);
  return e->visits[id - 1];
}

void engine_drop_visit(vigil_engine *e, visit *v) {
  for (uint32_t i = 0; i < v->n_alerts; i++)
    if (v->alerts[i]->id <= e->cap_alerts && e->alerts[v->alerts[i]->id - 1] == v->alerts[i])
      e->alerts[v->alerts[i]->id - 1] = NULL;
  heap_remove(&e->deadlines, &v->timer);
  if (e->visits[v->id - 1] == v) e->visits[v->id - 1] = NULL;
  visit_free(v);
}

int engine_grow_visits(vigil_engine *e, uint64_t n) {
  if (n <= e->cap_visits) return 0;
  uint64_t cap = e->cap_visits ? e->cap_visits : 256;
  while (cap < n) cap *= 2;
  visit **vs = realloc(e->visits, cap * sizeof *vs);
  if (!vs) return VIGIL_ENOMEM;
  memset(vs + e->cap_visits, 0, (cap - e->cap_visits) * sizeof *vs);
  e->visits = vs;
  e->cap_visits = cap;
  return 0;
}

int engine_grow_alerts(vigil_engine *e, uint64_t n) {
  if (n <= e->cap_alerts) return 0;
  uint64_t cap = e->cap_alerts ? e->cap_alerts : 256;
  while (cap < n) cap *= 2;
  alert **x = realloc(e->alerts, cap * sizeof *x);
  if (!x) return VIGIL_ENOMEM;
  memset(x + e->cap_alerts, 0, (cap - e->cap_alerts) * sizeof *x);
  e->alerts = x;
  e->cap_alerts = cap;
  return 0;
}

/* ---- events: emit, store, publish ---------------------------------------- */

vigil_event *emit(vigil_engine *e, visit *v, event_type type, const char *actor, val data) {
  if (!val_ok(data)) return NULL;
  if (e->n_pending == e->cap_pending) {
    size_t cap = e->cap_pending ? e->cap_pending * 2 : 64;
    vigil_event **p = realloc(e->pending, cap * sizeof *p);
    if (!p) {
      val_release(data);
      return NULL;
    }
    e->pending = p;
    e->cap_pending = cap;
  }
  vigil_event *ev = malloc(sizeof *ev);
  if (!ev) {
    val_release(data);
    return NULL;
  }
  ev->seq = ++e->seq;
  ev->time = engine_now(e);
  ev->visit = v ? v->id : 0;
  ev->actor = actor;
  ev->data = data;
  ev->type = (uint16_t)type;
  e->pending[e->n_pending++] = ev;
  if (v) visit_apply(e, v, ev);
  return ev;
}

static void free_event(vigil_event *ev) {
  val_release(ev->data);
  free(ev);
}

static int flush(vigil_engine *e) {
  if (e->publishing) return 0; /* the loop below picks up what hooks emit */
  e->publishing = 1;
  int rc = 0;
  char err[1024];
  while (e->n_pending > 0) {
    size_t n = e->n_pending;
    vigil_event **batch = malloc(n * sizeof *batch);
    if (!batch) {
      rc = engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory committing events");
      engine_rollback(e);
      break;
    }
    memcpy(batch, e->pending, n * sizeof *batch);
    if ((rc = e->store->ops->append(e->store, batch, n, err, sizeof err)) < 0) {
      free(batch);
      engine_log(e, VIGIL_LOG_ERROR, "%s", err);
      engine_fail(e, rc, NULL, "%s; nothing was recorded", err);
      engine_rollback(e);
      break;
    }
    e->n_pending = 0;
    e->durable_seq = batch[n - 1]->seq;
    e->durable_visits = e->n_visits;
    e->durable_alerts = e->n_alerts;
    e->stats.events += n;
    /* Durable: now subscribers and hooks may hear of it. */
    for (size_t i = 0; i < n; i++) {
      bus_publish(e, batch[i]);
      eval_hooks(e, batch[i]);
    }
    if (!e->store->keeps_events)
      for (size_t i = 0; i < n; i++) free_event(batch[i]);
    free(batch);
  }
  e->publishing = 0;
  clock_arm(e);
  return rc;
}

void vigil_engine_begin(vigil_engine *e) { e->batch++; }

int vigil_engine_commit(vigil_engine *e) {
  if (e->batch > 0) e->batch--;
  return e->batch ? 0 : flush(e);
}

static int done(vigil_engine *e, visit *v) {
  if (v) schedule_visit(e, v);
  return e->batch ? 0 : flush(e);
}

int vigil_engine_events(vigil_engine *e, uint64_t after, vigil_event_fn fn, void *ud) {
  char err[1024];
  int rc = e->store->ops->scan(e->store, after, 0, (store_event_fn)fn, ud, err, sizeof err);
  return rc < 0 ? engine_fail(e, rc, NULL, "%s", err) : 0;
}

void vigil_engine_stats(const vigil_engine *e, vigil_stats *out) {
  *out = e->stats;
  out->visits_active = out->alerts_active = 0;
  for (uint64_t i = 0; i < e->n_visits; i++) out->visits_active += e->visits[i] && e->visits[i]->status == VISIT_ACTIVE;
  for (uint64_t i = 0; i < e->n_alerts; i++) out->alerts_active += e->alerts[i] && alert_is_open(e->alerts[i]);
  out->lua_bytes = 0;
  for (uint32_t i = 0; i < e->n_protocols; i++) out->lua_bytes += e->protocols[i]->sb->used;
}

/* ---- protocols ------------------------------------------------------------ */

typedef struct problem_sink {
  buf b;
  int n;
} problem_sink;

static void collect_problem(void *ud, const char *where, const char *message) {
  problem_sink *s = ud;
  if (s->n++) buf_putc(&s->b, '\n');
  buf_printf(&s->b, "%s: %s", where, message);
}

int vigil_engine_load(vigil_engine *e, const char *path, const char **ref) {
  problem_sink sink = {.n = 0};
  buf_init(&sink.b);
  protocol *p = protocol_load(path, e->opts.lua_memory_cap, e->opts.lua_instruction_budget, collect_problem, &sink);
  if (!p) {
    int rc = engine_fail(e, VIGIL_EPROTOCOL, NULL, "%s", sink.b.p ? sink.b.p : "cannot load the protocol");
    buf_free(&sink.b);
    return rc;
  }
  buf_free(&sink.b);
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    protocol *q = e->protocols[i];
    if (strcmp(q->ref, p->ref) != 0) continue;
    int same = !strcmp(q->sha256, p->sha256);
    protocol_free(p);
    if (!same)
      return engine_fail(e, VIGIL_EEXIST, NULL,
                         "%s is loaded already with other content: a changed protocol needs a new version", q->ref);
    if (ref) *ref = q->ref;
    return 0;
  }
  if (engine_add_protocol(e, p) < 0) return engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory loading %s", path);
  if (ref) *ref = p->ref;
  return 0;
}

int engine_add_protocol(vigil_engine *e, protocol *p) {
  protocol **ps = realloc(e->protocols, (e->n_protocols + 1) * sizeof *ps);
  if (ps) e->protocols = ps;
  if (!ps || view_install(e, p) < 0) {
    protocol_free(p);
    return VIGIL_ENOMEM;
  }
  e->protocols[e->n_protocols++] = p;
  return 0;
}

static void count_problem(void *ud, const char *where, const char *message) {
  void **args = ud;
  int *n = args[0];
  vigil_problem_fn fn = (vigil_problem_fn)(uintptr_t)args[1];
  (*n)++;
  if (fn) fn(args[2], where, message);
}

int vigil_lint(const char *path, vigil_problem_fn fn, void *ud) {
  if (intern_retain() < 0) return VIGIL_ENOMEM;
  int n = 0;
  void *args[3] = {&n, (void *)(uintptr_t)fn, ud};
  protocol *p = protocol_load(path, 0, 0, count_problem, args);
  protocol_free(p);
  intern_release();
  return n;
}

static protocol *find_protocol(vigil_engine *e, const char *ref) {
  protocol *found = NULL;
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    protocol *p = e->protocols[i];
    if (!strcmp(p->ref, ref)) return p;
    if (!strcmp(p->id, ref)) found = p; /* the newest loaded version */
  }
  return found;
}

/* ---- values --------------------------------------------------------------- */

/* Checks one value against its field; what names it in messages. */
static int check_scalar(vigil_engine *e, const char *what, const field_spec *f, const vigil_input *in, val *out) {
  switch (f->kind) {
  case FIELD_NUMBER:
    if (in->type != VIGIL_INPUT_NUMBER || !isfinite(in->number))
      return engine_fail(e, VIGIL_EVALUE, what, "%s must be a number", what);
    if (f->has_range && (in->number < f->lo || in->number > f->hi))
      return engine_fail(e, VIGIL_EVALUE, what, "%s: %g is outside the plausible range %g-%g%s%s", what, in->number,
                         f->lo, f->hi, f->unit ? " " : "", f->unit ? f->unit : "");
    *out = val_num(in->number);
    return 0;
  case FIELD_CHECK:
    if (in->type != VIGIL_INPUT_BOOL) return engine_fail(e, VIGIL_EVALUE, what, "%s must be true or false", what);
    *out = val_bool(in->boolean);
    return 0;
  case FIELD_CHOICE:
    if (in->type == VIGIL_INPUT_STRING)
      for (uint32_t i = 0; i < f->n_options; i++)
        if (!strcmp(f->options[i], in->string)) {
          *out = val_atom(f->options[i]);
          return 0;
        }
    {
      buf b;
      buf_init(&b);
      for (uint32_t i = 0; i < f->n_options; i++) buf_printf(&b, "%s%s", i ? ", " : "", f->options[i]);
      int rc = engine_fail(e, VIGIL_EVALUE, what, "%s must be one of: %s", what, b.p ? b.p : "");
      buf_free(&b);
      return rc;
    }
  case FIELD_TEXT:
    if (in->type != VIGIL_INPUT_STRING) return engine_fail(e, VIGIL_EVALUE, what, "%s must be text", what);
    *out = val_cstring(in->string);
    return val_ok(*out) ? 0 : VIGIL_ENOMEM;
  }
  return VIGIL_EINVAL;
}

/* Builds one item's value from the inputs that name it, validated. */
static int build_value(vigil_engine *e, visit *v, const item_spec *it, const vigil_input *in, size_t n,
                       const char *actor, val *out) {
  *out = VAL_NIL_;
  if (it->n_from)
    return engine_fail(e, VIGIL_EVALUE, it->id, "%s is computed from %s; it is not entered", it->title,
                       v->p->items[it->from[0]].title);
  if (it->scalar) {
    if (n != 1 || in[0].field)
      return engine_fail(e, VIGIL_EVALUE, it->id, "%s takes one value, not fields", it->id);
    int rc = check_scalar(e, it->fields[0].qname, &it->fields[0], &in[0], out);
    if (rc < 0) return rc;
    if (it->kind == KIND_SIGNATURE) {
      const reading *of = visit_latest(v, it->of_item);
      if (!of)
        return engine_fail(e, VIGIL_ESTATE, it->id, "%s: there is nothing to confirm yet (%s is not recorded)",
                           it->title, v->p->items[it->of_item].title);
      if (of->actor == actor)
        return engine_fail(e, VIGIL_EVALUE, it->id,
                           "%s must be confirmed by a second person, not by %s who recorded %s", it->title, actor,
                           v->p->items[it->of_item].title);
    }
    return 0;
  }
  val rec = val_record(it->n_fields);
  if (!val_ok(rec)) return VIGIL_ENOMEM;
  uint32_t used = 0;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const field_spec *f = in[i].field ? item_find_field(it, in[i].field) : NULL;
    if (!f || f->computed) {
      rc = engine_fail(e, VIGIL_EVALUE, it->id, "%s has no field '%s'", it->id, in[i].field ? in[i].field : "");
      break;
    }
    for (uint32_t j = 0; j < used; j++)
      if (val_fields(rec)[j].key == f->name) rc = engine_fail(e, VIGIL_EVALUE, f->qname, "%s is given twice", f->qname);
    if (rc == 0 && (rc = check_scalar(e, f->qname, f, &in[i], &val_fields(rec)[used].v)) == 0)
      val_fields(rec)[used++].key = f->name;
  }
  for (uint32_t j = 0; j < it->n_fields && rc == 0; j++) {
    const field_spec *f = &it->fields[j];
    if (!f->required || f->computed || val_get(rec, f->name)) continue;
    rc = engine_fail(e, VIGIL_EVALUE, f->qname, "%s: %s is missing", it->title, f->title ? f->title : f->name);
  }
  if (rc == 0 && it->kind == KIND_SCORE) {
    double total;
    char err[1024];
    rec.u.o->n = used;
    if (eval_compute(e, v, it, rec, &total, err, sizeof err) < 0) rc = engine_fail(e, VIGIL_EPROTOCOL, it->id, "%s", err);
    else {
      val_fields(rec)[used].key = K_total;
      val_fields(rec)[used++].v = val_num(total);
    }
  }
  rec.u.o->n = used;
  if (rc < 0) {
    val_release(rec);
    return rc;
  }
  /* Fields in the order the protocol declares them, whatever the input's. */
  field *f = val_fields(rec);
  for (uint32_t j = 0, k = 0; j < it->n_fields; j++)
    for (uint32_t i = k; i < used; i++)
      if (f[i].key == it->fields[j].name) {
        field t = f[k];
        f[k++] = f[i];
        f[i] = t;
        break;
      }
  *out = rec;
  return 0;
}

static visit *active_visit(vigil_engine *e, uint64_t id, int *rc) {
  visit *v = engine_visit(e, id);
  if (!v) *rc = engine_fail(e, VIGIL_ENOENT, "visit", "no visit %llu", (unsigned long long)id);
  else if (v->status != VISIT_ACTIVE)
    *rc = engine_fail(e, VIGIL_ESTATE, "visit", "visit %llu is %s", (unsigned long long)id,
                      v->status == VISIT_DISCHARGED ? "discharged" : "aborted");
  else return v;
  return NULL;
}

static const char *actor_of(const char *actor) { return intern(actor && *actor ? actor : "unknown"); }

/* ---- commands -------------------------------------------------------------- */

static int check_param(vigil_engine *e, const param_spec *pa, const json_t *j, val *out) {
  vigil_input in = {0};
  if (json_is_number(j)) {
    in.type = VIGIL_INPUT_NUMBER;
    in.number = json_number_value(j);
  } else if (json_is_boolean(j)) {
    in.type = VIGIL_INPUT_BOOL;
    in.boolean = json_is_true(j);
  } else if (json_is_string(j)) {
    in.type = VIGIL_INPUT_STRING;
    in.string = json_string_value(j);
  } else {
    return engine_fail(e, VIGIL_EVALUE, pa->name, "param %s has the wrong type", pa->name);
  }
  field_spec f = {.name = pa->name, .kind = pa->kind, .has_range = pa->has_range, .lo = pa->lo, .hi = pa->hi,
                  .options = pa->options, .n_options = pa->n_options, .unit = pa->unit};
  return check_scalar(e, pa->name, &f, &in, out);
}

int vigil_visit_start(vigil_engine *e, const char *ref, const char *patient, const char *actor,
                      const char *params_json, uint64_t *visit_id) {
  protocol *p = ref ? find_protocol(e, ref) : NULL;
  if (!p) return engine_fail(e, VIGIL_ENOENT, "protocol", "no protocol %s is loaded", ref ? ref : "(none)");
  if (!patient || !*patient) return engine_fail(e, VIGIL_EINVAL, "patient", "a visit needs a patient reference");
  json_t *j = NULL;
  if (params_json && *params_json) {
    json_error_t jerr;
    j = json_loads(params_json, JSON_PRESERVE_ORDER, &jerr);
    if (!j || !json_is_object(j)) {
      int rc = engine_fail(e, VIGIL_EINVAL, "params", "params must be a JSON object (%s)", j ? "not an object" : jerr.text);
      json_decref(j);
      return rc;
    }
    const char *k;
    json_t *x;
    json_object_foreach(j, k, x) {
      if (protocol_find_param(p, k) < 0) {
        int rc = engine_fail(e, VIGIL_EVALUE, k, "%s has no param '%s'", p->ref, k);
        json_decref(j);
        return rc;
      }
    }
  }
  /* A visit that gives no params shares the protocol's defaults. */
  int all_defaults = !j;
  for (uint32_t i = 0; all_defaults && i < p->n_params; i++) all_defaults = p->params[i].def.type != VAL_NIL;
  val params = all_defaults ? val_retain(p->defaults) : val_record(p->n_params);
  int rc = val_ok(params) ? 0 : VIGIL_ENOMEM;
  uint32_t n = all_defaults ? p->n_params : 0;
  for (uint32_t i = 0; i < p->n_params && rc == 0 && !all_defaults; i++) {
    const param_spec *pa = &p->params[i];
    json_t *x = j ? json_object_get(j, pa->name) : NULL;
    val value = VAL_NIL_;
    if (x && !json_is_null(x)) rc = check_param(e, pa, x, &value);
    else if (pa->def.type != VAL_NIL) value = val_retain(pa->def);
    else if (pa->required) rc = engine_fail(e, VIGIL_EVALUE, pa->name, "param %s is required", pa->name);
    if (rc == 0 && value.type != VAL_NIL) {
      val_fields(params)[n].key = pa->name;
      val_fields(params)[n++].v = value;
    }
  }
  json_decref(j);
  if (rc < 0) {
    val_release(params);
    return rc;
  }
  if (!all_defaults) params.u.o->n = n;

  /* The version's sources are kept before any visit depends on them. */
  char err[1024];
  if (!p->stored_in_log && (rc = e->store->ops->put_protocol(e->store, p, err, sizeof err)) < 0) {
    val_release(params);
    return engine_fail(e, rc, NULL, "%s", err);
  }
  p->stored_in_log = 1;
  if (engine_grow_visits(e, e->n_visits + 1) < 0) {
    val_release(params);
    return VIGIL_ENOMEM;
  }
  visit *v = visit_new(e, e->n_visits + 1, p);
  if (!v) {
    val_release(params);
    return VIGIL_ENOMEM;
  }
  e->visits[e->n_visits++] = v;
  val data = val_recordv(5, K_protocol, val_atom(p->ref_atom), K_sha256, val_atom(p->sha_atom), K_patient,
                         val_cstring(patient), K_params, params, K_phase, val_atom(p->phases[0].id));
  if (!emit(e, v, EV_VISIT_STARTED, actor_of(actor), data)) return VIGIL_ENOMEM;
  if (visit_id) *visit_id = v->id;
  return done(e, v);
}

/* Resolves the overdue alert of an item that is no longer overdue. */
static void resolve_overdue(vigil_engine *e, visit *v, int item) {
  const item_state *s = &v->items[item];
  if (s->overdue == 0 || (s->overdue > s->sat && !s->skipped)) return;
  alert *a = visit_find_alert(v, v->p->items[item].overdue_key);
  if (a) resolve_alert(e, a);
}

int vigil_visit_record(vigil_engine *e, uint64_t id, const char *actor, const vigil_input *in, size_t n) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  if (n == 0) return engine_fail(e, VIGIL_EINVAL, NULL, "nothing to record");
  const protocol *p = v->p;
  const char *who = actor_of(actor);
  /* Group the inputs by item, keeping the order items were first named in. */
  int items[64];
  int n_items = 0;
  int which_small[16];
  vigil_input group_small[16];
  int *which = n <= 16 ? which_small : malloc(n * sizeof *which);
  if (!which) return VIGIL_ENOMEM;
  for (size_t i = 0; i < n && rc == 0; i++) {
    int item = protocol_find_item(p, in[i].item, v->phase);
    if (item < 0) rc = engine_fail(e, VIGIL_ENOENT, in[i].item, "%s has no item '%s'", p->ref, in[i].item ? in[i].item : "");
    else if (p->items[item].phase != v->phase)
      rc = engine_fail(e, VIGIL_ESTATE, in[i].item, "%s belongs to phase %s; the visit is in %s", in[i].item,
                       p->phases[p->items[item].phase].id, p->phases[v->phase].id);
    which[i] = item;
    int known = 0;
    for (int k = 0; k < n_items; k++) known |= items[k] == item;
    if (rc == 0 && !known) {
      if (n_items == 64) rc = engine_fail(e, VIGIL_EINVAL, NULL, "too many items in one entry");
      else items[n_items++] = item;
    }
  }
  /* One order for every entry: the protocol's, whatever order they came in. */
  for (int k = 1; k < n_items; k++)
    for (int m = k; m > 0 && items[m - 1] > items[m]; m--) {
      int t = items[m];
      items[m] = items[m - 1];
      items[m - 1] = t;
    }
  val values = rc == 0 ? val_record((uint32_t)n_items) : VAL_NIL_;
  if (rc == 0 && !val_ok(values)) rc = VIGIL_ENOMEM;
  vigil_input *group = rc != 0 ? NULL : n <= 16 ? group_small : malloc(n * sizeof *group);
  if (rc == 0 && !group) rc = VIGIL_ENOMEM;
  for (int k = 0; k < n_items && rc == 0; k++) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (which[i] == items[k]) group[m++] = in[i];
    const item_spec *it = &p->items[items[k]];
    val_fields(values)[k].key = it->id;
    rc = build_value(e, v, it, group, m, who, &val_fields(values)[k].v);
  }
  if (group != group_small) free(group);
  if (which != which_small) free(which);
  if (rc < 0) {
    val_release(values);
    return rc;
  }
  val data = val_recordv(2, K_phase, val_atom(p->phases[v->phase].id), K_values, values);
  if (!emit(e, v, EV_ITEM_RECORDED, who, data)) return VIGIL_ENOMEM;
  for (int k = 0; k < n_items; k++) resolve_overdue(e, v, items[k]);
  eval_rules(e, v, items, n_items);
  eval_scores(e, v, items, n_items);
  return done(e, v);
}

/* JSON {"item": value, "vitals": {"sbp": 120}} -> inputs pointing into j. */
static int inputs_from_json(vigil_engine *e, const char *item, const json_t *x, vigil_input *in, size_t cap, size_t *n) {
  if (json_is_object(x)) {
    const char *k;
    json_t *f;
    json_object_foreach((json_t *)x, k, f) {
      if (*n == cap) return engine_fail(e, VIGIL_EINVAL, item, "too many values in one entry");
      if (json_is_object(f) || json_is_array(f))
        return engine_fail(e, VIGIL_EVALUE, item, "%s.%s must be a single value", item, k);
      vigil_input *i = &in[(*n)++];
      if (inputs_from_json(e, item, f, i, 1, &(size_t){0}) < 0) return VIGIL_EVALUE;
      i->item = item;
      i->field = k;
    }
    return 0;
  }
  if (*n == cap) return engine_fail(e, VIGIL_EINVAL, item, "too many values in one entry");
  vigil_input *i = &in[(*n)++];
  memset(i, 0, sizeof *i);
  i->item = item;
  if (json_is_number(x)) {
    i->type = VIGIL_INPUT_NUMBER;
    i->number = json_number_value(x);
  } else if (json_is_boolean(x)) {
    i->type = VIGIL_INPUT_BOOL;
    i->boolean = json_is_true(x);
  } else if (json_is_string(x)) {
    i->type = VIGIL_INPUT_STRING;
    i->string = json_string_value(x);
  } else {
    return engine_fail(e, VIGIL_EVALUE, item, "%s: a value must be a number, true/false, text or an object of fields", item);
  }
  return 0;
}

static json_t *parse_json(vigil_engine *e, const char *text, const char *about, int *rc) {
  json_error_t jerr;
  json_t *j = text ? json_loads(text, JSON_DECODE_ANY | JSON_PRESERVE_ORDER, &jerr) : NULL;
  if (!j) *rc = engine_fail(e, VIGIL_EINVAL, about, "invalid JSON: %s", text ? jerr.text : "none given");
  return j;
}

#define MAX_INPUTS 256

int vigil_visit_record_json(vigil_engine *e, uint64_t id, const char *actor, const char *json) {
  int rc = 0;
  json_t *j = parse_json(e, json, "values", &rc);
  if (!j) return rc;
  if (!json_is_object(j)) {
    json_decref(j);
    return engine_fail(e, VIGIL_EINVAL, "values", "an entry is a JSON object of item: value");
  }
  vigil_input in[MAX_INPUTS];
  size_t n = 0;
  const char *k;
  json_t *x;
  json_object_foreach(j, k, x) {
    if ((rc = inputs_from_json(e, k, x, in, MAX_INPUTS, &n)) < 0) break;
  }
  if (rc == 0) rc = vigil_visit_record(e, id, actor, in, n);
  json_decref(j);
  return rc;
}

static int item_of(vigil_engine *e, visit *v, const char *ref, int *rc) {
  int item = protocol_find_item(v->p, ref, v->phase);
  if (item < 0) *rc = engine_fail(e, VIGIL_ENOENT, "item", "%s has no item '%s'", v->p->ref, ref ? ref : "");
  return item;
}

int vigil_visit_amend_json(vigil_engine *e, uint64_t id, const char *actor, const char *ref, const char *value_json,
                           const char *reason) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  int item = item_of(e, v, ref, &rc);
  if (item < 0) return rc;
  const item_spec *it = &v->p->items[item];
  const reading *last = visit_latest(v, item);
  if (!last) return engine_fail(e, VIGIL_ESTATE, "item", "%s has no value to amend", it->title);
  if (!reason || !*reason) return engine_fail(e, VIGIL_EINVAL, "reason", "an amendment needs a reason");
  json_t *j = parse_json(e, value_json, "value", &rc);
  if (!j) return rc;
  vigil_input in[64];
  size_t n = 0;
  val value = VAL_NIL_;
  const char *who = actor_of(actor);
  if ((rc = inputs_from_json(e, it->id, j, in, 64, &n)) == 0) rc = build_value(e, v, it, in, n, last->actor, &value);
  json_decref(j);
  if (rc < 0) return rc;
  val data = val_recordv(4, K_item, val_atom(it->qid), K_value, value, K_previous, val_retain(last->v), K_reason,
                         val_cstring(reason));
  if (!emit(e, v, EV_ITEM_AMENDED, who, data)) return VIGIL_ENOMEM;
  if (it->phase == v->phase) {
    eval_rules(e, v, &item, 1);
    eval_scores(e, v, &item, 1);
  }
  return done(e, v);
}

int vigil_visit_skip(vigil_engine *e, uint64_t id, const char *actor, const char *ref, const char *reason) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  int item = item_of(e, v, ref, &rc);
  if (item < 0) return rc;
  const item_spec *it = &v->p->items[item];
  if (it->phase != v->phase)
    return engine_fail(e, VIGIL_ESTATE, "item", "%s is not in the visit's current phase", it->title);
  if (!reason || !*reason) return engine_fail(e, VIGIL_EINVAL, "reason", "skipping an item needs a reason");
  if (v->items[item].skipped) return engine_fail(e, VIGIL_ESTATE, "item", "%s is skipped already", it->title);
  val data = val_recordv(2, K_item, val_atom(it->qid), K_reason, val_cstring(reason));
  if (!emit(e, v, EV_ITEM_SKIPPED, actor_of(actor), data)) return VIGIL_ENOMEM;
  resolve_overdue(e, v, item);
  return done(e, v);
}

static void leave_phase(vigil_engine *e, visit *v, const char *who) {
  const protocol *p = v->p;
  if (v->phase + 1u >= p->n_phases) {
    emit(e, v, EV_VISIT_DISCHARGED, who, val_recordv(1, K_phase, val_atom(p->phases[v->phase].id)));
    return;
  }
  emit(e, v, EV_PHASE_ENTERED, who,
       val_recordv(2, K_phase, val_atom(p->phases[v->phase + 1].id), K_from, val_atom(p->phases[v->phase].id)));
}

int vigil_visit_advance(vigil_engine *e, uint64_t id, const char *actor) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  const char *who = actor_of(actor);
  val reasons;
  int n = gate_reasons(e, v, &reasons);
  if (n < 0) return VIGIL_ENOMEM;
  if (n == 0) {
    val_release(reasons);
    leave_phase(e, v, who);
    return done(e, v);
  }
  buf b;
  buf_init(&b);
  for (uint32_t i = 0; i < val_len(reasons); i++) buf_printf(&b, "%s%s", i ? "; " : "", val_str(val_items(reasons)[i]));
  const char *phase = v->p->phases[v->phase].id;
  rc = engine_fail(e, VIGIL_EGATE, "gate", "%s: the gate is not met: %s", v->p->phases[v->phase].title, b.p ? b.p : "");
  buf_free(&b);
  emit(e, v, EV_GATE_BLOCKED, who, val_recordv(2, K_phase, val_atom(phase), K_reasons, reasons));
  done(e, v);
  return rc;
}

int vigil_visit_override(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  if (!reason || !*reason) return engine_fail(e, VIGIL_EINVAL, "reason", "overriding a gate needs a reason");
  const char *who = actor_of(actor);
  val reasons;
  if (gate_reasons(e, v, &reasons) < 0) return VIGIL_ENOMEM;
  emit(e, v, EV_GATE_OVERRIDDEN, who,
       val_recordv(3, K_phase, val_atom(v->p->phases[v->phase].id), K_reason, val_cstring(reason), K_reasons, reasons));
  leave_phase(e, v, who);
  return done(e, v);
}

int vigil_visit_discharge(vigil_engine *e, uint64_t id, const char *actor) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  if (v->phase + 1u < v->p->n_phases)
    return engine_fail(e, VIGIL_ESTATE, "phase", "the visit is in %s; discharge is from the last phase, %s",
                       v->p->phases[v->phase].title, v->p->phases[v->p->n_phases - 1].title);
  return vigil_visit_advance(e, id, actor);
}

int vigil_visit_abort(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  if (!reason || !*reason) return engine_fail(e, VIGIL_EINVAL, "reason", "aborting a visit needs a reason");
  if (!emit(e, v, EV_VISIT_ABORTED, actor_of(actor), val_recordv(1, K_reason, val_cstring(reason))))
    return VIGIL_ENOMEM;
  return done(e, v);
}

int vigil_alert_ack(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  alert *a = id >= 1 && id <= e->n_alerts ? e->alerts[id - 1] : NULL;
  if (!a) return engine_fail(e, VIGIL_ENOENT, "alert", "no alert %llu", (unsigned long long)id);
  if (a->acked) return engine_fail(e, VIGIL_ESTATE, "alert", "alert %llu is acknowledged already", (unsigned long long)id);
  if (!alert_is_open(a)) return engine_fail(e, VIGIL_ESTATE, "alert", "alert %llu is resolved", (unsigned long long)id);
  val data = reason && *reason ? val_recordv(2, K_alert, val_num((double)id), K_reason, val_cstring(reason))
                               : val_recordv(1, K_alert, val_num((double)id));
  if (!emit(e, a->visit, EV_ALERT_ACKNOWLEDGED, actor_of(actor), data)) return VIGIL_ENOMEM;
  return done(e, a->visit);
}
