/* engine.c: the engine object: its life, its events (emitted, made durable,
 * published), batching, and the protocols it has loaded. The commands that
 * change visits are in commands.c; what a nurse enters is checked in entry.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "engine.h"
#include "model.h"
#include "bus.h"
#include "clock.h"
#include "course.h"
#include "evaluate.h"
#include "fail.h"
#include "patient_index.h"
#include "recover.h"
#include "schedule.h"
#include "view.h"
#include "visit.h"
#include "base/intern.h"

/* ---- errors (fail.c sets them and logs) ---------------------------------- */

/* Why the last vigil_engine_new of this thread failed (it returns no engine). */
static _Thread_local char start_error[1024];

const char *vigil_engine_errmsg(const vigil_engine *e) { return e ? e->errmsg : start_error; }
const char *vigil_engine_errfield(const vigil_engine *e) { return e && e->errfield[0] ? e->errfield : NULL; }

void vigil_free(void *p) { free(p); }

/* ---- life ---------------------------------------------------------------- */

int vigil_engine_new(const vigil_options *opts, vigil_engine **out) {
  *out = NULL;
  if (vigil__intern_retain() < 0) return VIGIL_ENOMEM;
  vigil_engine *e = calloc(1, sizeof *e);
  if (!e) {
    vigil__intern_release();
    snprintf(start_error, sizeof start_error, "out of memory");
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
    store_site site = {e->opts.site, e->opts.node, e->opts.advertise, e->opts.lease_ms};
    e->store = vigil__store_open(e->opts.db_path, &site, e->opts.db_vfs, e->opts.read_only, &rc, err, sizeof err);
  } else if (!(e->store = vigil__store_memory_open())) {
    rc = VIGIL_ENOMEM;
    snprintf(err, sizeof err, "out of memory");
  }
  if (rc == 0) rc = vigil__engine_recover(e, err, sizeof err);
  if (rc < 0) {
    /* Nothing is left to free: the message stays readable through
     * vigil_engine_errmsg(NULL) until the next failed start on this thread. */
    snprintf(start_error, sizeof start_error, "%s", err);
    vigil_engine_free(e);
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
  for (uint64_t i = 0; i < e->n_visits; i++)
    vigil__visit_free(e, e->visits[i]);
  free(e->visits);
  vigil__courses_free(e); /* before the alerts: it forgets its course alerts there */
  vigil__patients_free(e);
  free(e->alerts);
  vigil__heap_free(&e->deadlines);
  vigil__heap_free(&e->course_deadlines);
  if (e->store) e->store->ops->close(e->store);
  for (size_t i = 0; i < e->n_pending; i++) {
    vigil__event_clear(e->pending[i]);
    free(e->pending[i]);
  }
  free(e->pending);
  for (uint32_t i = 0; i < e->n_protocols; i++)
    vigil__protocol_free(e->protocols[i]);
  free(e->protocols);
  free(e->subs);
  free(e);
  vigil__intern_release();
}

static int has_pending(const vigil_engine *e, uint64_t id) {
  for (size_t i = 0; i < e->n_pending; i++)
    if (e->pending[i]->visit == id) return 1;
  return 0;
}

/* Remembers that visit id is closed and in memory; the oldest closed visit
 * beyond ENGINE_CLOSED_KEPT leaves memory (the log still holds it). Only
 * called where no caller holds that visit: when another one is folded, or
 * once a closing is durable. */
static void keep_closed(vigil_engine *e, uint64_t id) {
  uint64_t old = e->closed[e->closed_next];
  e->closed[e->closed_next] = id;
  e->closed_next = (e->closed_next + 1) % ENGINE_CLOSED_KEPT;
  if (!old || old == id) return;
  for (uint32_t i = 0; i < ENGINE_CLOSED_KEPT; i++)
    if (e->closed[i] == old) return; /* read again since: kept */
  visit *v = e->visits[old - 1];
  /* An aborted visit with active alerts stays: they escalate and are listed (G3). */
  for (uint32_t i = 0; v && i < v->n_alerts; i++)
    if (vigil__alert_is_active(v->alerts[i])) return;
  if (v && v->status != VISIT_ACTIVE && !has_pending(e, old)) vigil__engine_drop_visit(e, v);
}

visit *vigil__engine_visit(vigil_engine *e, uint64_t id) {
  if (id < 1 || id > e->n_visits) return NULL;
  if (!e->visits[id - 1]) {
    /* Closed and left memory, or not folded again after an undo. */
    visit *v = vigil__engine_refold(e, id, e->n_pending);
    e->visits[id - 1] = v;
    if (v && v->status != VISIT_ACTIVE) keep_closed(e, id);
  }
  return e->visits[id - 1];
}

void vigil__engine_drop_visit(vigil_engine *e, visit *v) {
  for (uint32_t i = 0; i < v->n_alerts; i++)
    if (v->alerts[i]->id <= e->cap_alerts && e->alerts[v->alerts[i]->id - 1] == v->alerts[i])
      e->alerts[v->alerts[i]->id - 1] = NULL;
  vigil__heap_remove(&e->deadlines, &v->timer);
  if (e->visits[v->id - 1] == v) e->visits[v->id - 1] = NULL;
  vigil__visit_free(e, v);
}

/* ---- events: emit, store, publish ---------------------------------------- */

vigil_event *vigil__emit(vigil_engine *e, visit *v, event_type type, const char *actor, val data) {
  /* An event that cannot be made fails the whole command (command.c): the
   * caller need not check, though it may stop early. */
  if (!vigil__val_whole(data) || !actor) { /* actor: NULL when it could not be interned */
    vigil__val_release(data);
    e->oom = 1;
    return NULL;
  }
  if (e->n_pending == e->cap_pending) {
    size_t cap = e->cap_pending ? e->cap_pending * 2 : 64;
    vigil_event **p = realloc(e->pending, cap * sizeof *p);
    if (!p) {
      vigil__val_release(data);
      e->oom = 1;
      return NULL;
    }
    e->pending = p;
    e->cap_pending = cap;
  }
  vigil_event *ev = malloc(sizeof *ev);
  if (!ev) {
    vigil__val_release(data);
    e->oom = 1;
    return NULL;
  }
  ev->seq = ++e->seq;
  ev->time = vigil__engine_now(e);
  e->time_floor = ev->time;
  ev->visit = v ? v->id : 0;
  ev->actor = actor;
  ev->data = data;
  ev->type = (uint16_t)type;
  ev->kv = NULL;
  ev->json = NULL;
  ev->json_len = 0;
  e->pending[e->n_pending++] = ev;
  if (v) vigil__visit_apply(e, v, ev);
  return ev;
}

int vigil__batch_kv_write(vigil_engine *e, const char *ns, const char *key, const void *value, size_t len) {
  if (!e->n_pending) return VIGIL_ENOENT;
  return vigil__kv_write_add(&e->pending[e->n_pending - 1]->kv, ns, key, value, len);
}

static void free_event(vigil_event *ev) {
  vigil__event_clear(ev);
  free(ev);
}

static int flush(vigil_engine *e) {
  if (e->publishing) return 0; /* the loop below picks up what hooks emit */
  e->publishing = 1;
  int rc = 0;
  char err[1024];
  /* The first round holds the caller's events: its result is the caller's.
   * Later rounds hold what hooks added after hearing them; if those cannot
   * be stored, the caller's events are durable all the same. */
  for (int round = 0; e->n_pending > 0; round++) {
    size_t n = e->n_pending;
    vigil_event **batch = e->oom ? NULL : malloc(n * sizeof *batch);
    int failed = 0;
    if (e->oom) {
      /* Something emitted outside a command (a hook) lost an event: none of
       * it is stored, as for a failed commit. */
      e->oom = 0;
      failed = VIGIL_ENOMEM;
      snprintf(err, sizeof err, "out of memory making events");
    } else if (!batch) {
      failed = VIGIL_ENOMEM;
      snprintf(err, sizeof err, "out of memory committing events");
    } else {
      memcpy(batch, e->pending, n * sizeof *batch);
      failed = e->store->ops->append(e->store, batch, n, err, sizeof err);
    }
    if (failed < 0) {
      free(batch);
      vigil__engine_log(e, VIGIL_LOG_ERROR, "%s%s", round ? "events added by hooks were not recorded: " : "", err);
      if (round == 0) rc = vigil__engine_fail(e, failed, NULL, "%s; nothing was recorded", err);
      vigil__engine_rollback(e);
      /* With the real clock, deadlines whose events could not be stored are
       * due again at once: wait before trying, longer each time. */
      e->retry_ms = e->retry_ms ? (e->retry_ms * 2 > 30000 ? 30000 : e->retry_ms * 2) : 1000;
      e->retry_at = vigil__engine_now(e) + e->retry_ms;
      break;
    }
    e->retry_ms = 0;
    e->n_pending = 0;
    e->durable_seq = batch[n - 1]->seq;
    e->durable_visits = e->n_visits;
    e->durable_alerts = e->n_alerts;
    e->stats.events += n;
    /* Durable: now subscribers and hooks may hear of it. */
    for (size_t i = 0; i < n; i++) {
      vigil__bus_publish(e, batch[i]);
      vigil__eval_hooks(e, batch[i]);
    }
    for (size_t i = 0; i < n; i++)
      if (batch[i]->type == EV_VISIT_DISCHARGED || batch[i]->type == EV_VISIT_ABORTED) keep_closed(e, batch[i]->visit);
    if (!e->store->keeps_events)
      for (size_t i = 0; i < n; i++)
        free_event(batch[i]);
    free(batch);
  }
  e->publishing = 0;
  vigil__clock_arm(e);
  return rc;
}

void vigil_engine_begin(vigil_engine *e) { e->batch++; }

int vigil_engine_commit(vigil_engine *e) {
  if (e->batch > 0) e->batch--;
  return e->batch ? 0 : flush(e);
}

int vigil__engine_done(vigil_engine *e, visit *v) {
  if (v) vigil__course_sync(e, v);
  if (v) vigil__schedule_visit(e, v);
  return e->batch ? 0 : flush(e);
}

int vigil_engine_events(vigil_engine *e, uint64_t after, vigil_event_fn fn, void *ud) {
  char err[1024];
  int rc = e->store->ops->scan(e->store, after, 0, (store_event_fn)fn, ud, err, sizeof err);
  return rc < 0 ? vigil__engine_fail(e, rc, NULL, "%s", err) : 0;
}

void vigil_engine_stats(const vigil_engine *e, vigil_stats *out) {
  *out = e->stats;
  out->visits_active = out->alerts_active = 0;
  for (uint64_t i = 0; i < e->n_visits; i++)
    out->visits_active += e->visits[i] && e->visits[i]->status == VISIT_ACTIVE;
  for (uint64_t i = 0; i < e->n_alerts; i++)
    out->alerts_active += e->alerts[i] && vigil__alert_is_open(e->alerts[i]);
  out->lua_bytes = 0;
  for (uint32_t i = 0; i < e->n_protocols; i++)
    out->lua_bytes += e->protocols[i]->sb->used;
}

/* ---- protocols ------------------------------------------------------------ */

typedef struct problem_sink {
  buf b;
  int n;
} problem_sink;

static void collect_problem(void *ud, const char *where, const char *message) {
  problem_sink *s = ud;
  if (s->n++) vigil__buf_putc(&s->b, '\n');
  vigil__buf_printf(&s->b, "%s: %s", where, message);
}

int vigil_engine_load(vigil_engine *e, const char *path, const char **ref) {
  problem_sink sink = {.n = 0};
  vigil__buf_init(&sink.b);
  protocol *p =
      vigil__protocol_load(path, e->opts.lua_memory_cap, e->opts.lua_instruction_budget, collect_problem, &sink);
  if (!p) {
    int rc = vigil__engine_fail(e, VIGIL_EPROTOCOL, NULL, "%s", sink.b.p ? sink.b.p : "cannot load the protocol");
    vigil__buf_free(&sink.b);
    return rc;
  }
  vigil__buf_free(&sink.b);
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    protocol *q = e->protocols[i];
    if (strcmp(q->ref, p->ref) != 0) continue;
    int same = !strcmp(q->sha256, p->sha256);
    vigil__protocol_free(p);
    if (!same)
      return vigil__engine_fail(e, VIGIL_EEXIST, NULL,
                                "%s is loaded already with other content: a changed protocol needs a new version",
                                q->ref);
    if (ref) *ref = q->ref;
    return 0;
  }
  if (vigil__engine_add_protocol(e, p) < 0)
    return vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory loading %s", path);
  if (ref) *ref = p->ref;
  return 0;
}

int vigil__engine_add_protocol(vigil_engine *e, protocol *p) {
  protocol **ps = realloc(e->protocols, (e->n_protocols + 1) * sizeof *ps);
  if (ps) e->protocols = ps;
  if (!ps || vigil__view_install(e, p) < 0) {
    vigil__protocol_free(p);
    return VIGIL_ENOMEM;
  }
  e->protocols[e->n_protocols++] = p;
  /* Loaded: from now on its calls serve visits, under the site's time limit. */
  if (p->sb) p->sb->time_limit_ns = (uint64_t)e->opts.lua_time_limit_ms * 1000000u;
  return 0;
}

static void count_problem(void *ud, const char *where, const char *message) {
  void **args = ud;
  int *n = args[0];
  vigil_problem_fn fn = (vigil_problem_fn)(uintptr_t)args[1];
  (*n)++;
  if (fn) fn(args[2], where, message);
}

int vigil_lint_identify(const char *path, vigil_problem_fn fn, void *ud, char *ref, size_t reflen, char sha256[65]) {
  if (vigil__intern_retain() < 0) return VIGIL_ENOMEM;
  int n = 0;
  void *args[3] = {&n, (void *)(uintptr_t)fn, ud};
  protocol *p = vigil__protocol_load(path, 0, 0, count_problem, args);
  /* A clean protocol is also run against synthetic visits: a rule that fails
   * on a value it will meet fails lint, not a patient's visit. */
  if (p) vigil__protocol_exercise(p, count_problem, args);
  if (p && ref) snprintf(ref, reflen, "%s", p->ref);
  if (p && sha256) memcpy(sha256, p->sha256, 65);
  vigil__protocol_free(p);
  vigil__intern_release();
  return n;
}

int vigil_lint(const char *path, vigil_problem_fn fn, void *ud) {
  return vigil_lint_identify(path, fn, ud, NULL, 0, NULL);
}

/* Compares two MAJOR.MINOR.PATCH versions (vigil.lua checked their form). */
int vigil_version_compare(const char *a, const char *b) {
  for (int i = 0; i < 3; i++) {
    char *ea, *eb;
    unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);
    if (x != y) return x < y ? -1 : 1;
    a = *ea ? ea + 1 : ea;
    b = *eb ? eb + 1 : eb;
  }
  return 0;
}

void vigil_engine_protocols(vigil_engine *e, vigil_protocol_fn fn, void *ud) {
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    const protocol *p = e->protocols[i];
    fn(ud, p->ref, p->id, p->version, p->sha256);
  }
}

protocol *vigil__engine_find_protocol(vigil_engine *e, const char *ref) {
  protocol *found = NULL;
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    protocol *p = e->protocols[i];
    if (!strcmp(p->ref, ref)) return p;
    /* A bare id is the highest version loaded, whatever the loading order
     * (recovery loads old stored versions too). */
    if (!strcmp(p->id, ref) && (!found || vigil_version_compare(p->version, found->version) > 0)) found = p;
  }
  return found;
}

store *vigil__engine_store(vigil_engine *e) { return e->store; }
uint32_t vigil__engine_protocol_count(const vigil_engine *e) { return e->n_protocols; }
protocol *vigil__engine_protocol(vigil_engine *e, uint32_t i) { return i < e->n_protocols ? e->protocols[i] : NULL; }
uint32_t vigil__engine_subscriber_count(const vigil_engine *e) { return e->n_subs; }
