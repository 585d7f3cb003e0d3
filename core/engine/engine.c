/* engine.c: the engine object: its life (a start recovers it from its log,
 * says so and arms what fell due while it was down), its statistics. Each
 * part of the engine is in a file of its own below this one: the events not
 * yet durable and the commit in journal.c, the visits from the log in
 * recover.c, the protocols in protocols.c, the commands in commands.c (their
 * public faces in command.c), deadlines in deadline.c and schedule.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "model.h"
#include "clock.h"
#include "course.h"
#include "deadline.h"
#include "emit.h"
#include "fail.h"
#include "lifetime.h"
#include "patient_index.h"
#include "recover.h"
#include "schedule.h"
#include "visit.h"
#include "base/intern.h"
#include "base/utf8.h"

/* ---- errors (fail.c sets them and logs) ---------------------------------- */

/* Why the last vigil_engine_new of this thread failed (it returns no engine). */
static _Thread_local char start_error[1024];

const char *vigil_engine_errmsg(const vigil_engine *e) { return e ? e->errmsg : start_error; }
const char *vigil_engine_errfield(const vigil_engine *e) { return e && e->errfield[0] ? e->errfield : NULL; }

void vigil_free(void *p) { free(p); }

/* ---- life ---------------------------------------------------------------- */

/* The engine from its log: the visits and courses folded, the start said
 * (engine.started), and what fell due while it was down armed to fire. */
static int start(vigil_engine *e, char *err, size_t errlen) {
  uint64_t last_seq, count = 0;
  int unclean = 0;
  int rc = vigil__recover_log(e, &last_seq, &unclean, err, errlen);
  if (rc < 0) return rc;
  /* A new store: nothing to recover, nothing to say; its visits, none, are
   * held, so a course's deadline reads the open visits from the first
   * (a missed-session alert waited for a restart to see a visit left open
   * with no dose: docs/safety.md AR2). */
  if (last_seq == 0) {
    e->visits_recovered = 1;
    return 0;
  }
  /* The patients' courses first: a visit's rules may read its course. */
  if ((rc = vigil__courses_fold(e, 0, err, errlen)) < 0) return rc;
  if ((rc = vigil__recover_visits(e, &count, err, errlen)) < 0) return rc;
  /* The courses' deadlines again, now that the open visits are held: a
   * missed-session alert waits for a visit left open (M10, P9). */
  e->visits_recovered = 1;
  vigil__courses_schedule(e);
  /* A reader shows the log as it is: it says nothing and decides nothing. */
  if (e->opts.read_only) return 0;
  /* Say that the engine started, and how the last run ended. */
  val data = vigil__val_recordv(3, vigil__intern("unclean"), val_bool(unclean), vigil__intern("visits"),
                                val_num((double)count), K(version), val_atom(vigil__intern(VIGIL_VERSION_STRING)));
  if (!vigil__emit(e, NULL, EV_ENGINE_STARTED, K(vigil), data)) return VIGIL_ENOMEM;
  if ((rc = vigil_engine_commit(e)) < 0) {
    snprintf(err, errlen, "%.*s", (int)errlen - 1, vigil_engine_errmsg(e));
    return rc;
  }
  vigil__engine_log(e, VIGIL_LOG_INFO, "recovered %llu open visits from %llu events%s", (unsigned long long)count,
                    (unsigned long long)last_seq, unclean ? " after an unclean stop" : "");
  /* What fell due while the engine was down is not fired here, inside
   * vigil_engine_new, where no one can have subscribed yet (the ninth
   * architecture review, item 5): the commit above armed the real clock's
   * timer, which fires it, in order, at the loop's first turn; the
   * simulated clock fires it at its first move or command (sim_fire_due
   * waits for e->opened, schedule.c). */
  return 0;
}

/* The caller's options, opts_size bytes of them, over the defaults (all 0):
 * -1 when the caller's struct is larger than this library's and sets a field
 * beyond it (vigil.h, vigil_engine_open). */
static int options_from(vigil_options *to, const vigil_options *opts, size_t opts_size) {
  memset(to, 0, sizeof *to);
  if (!opts) return 0;
  const unsigned char *bytes = (const unsigned char *)opts;
  for (size_t i = sizeof *to; i < opts_size; i++)
    if (bytes[i]) return -1;
  memcpy(to, opts, opts_size < sizeof *to ? opts_size : sizeof *to);
  return 0;
}

int vigil_engine_open(const vigil_options *opts, size_t opts_size, vigil_engine **out) {
  *out = NULL;
  vigil_options options;
  if (options_from(&options, opts, opts_size) < 0) {
    snprintf(start_error, sizeof start_error,
             "vigil_options of %zu bytes sets a field this libvigil.so (%zu bytes) does not have: built against a "
             "newer vigil.h",
             opts_size, sizeof options);
    return VIGIL_EINVAL;
  }
  /* ICU opened here, not by a visit start's patient lookup (fourth review,
   * item 2): its failure is the engine's not starting. */
  if (vigil__unicode_open() < 0) {
    snprintf(start_error, sizeof start_error, "out of memory: ICU's spoof checker could not be opened");
    return VIGIL_ENOMEM;
  }
  int held = vigil__intern_retain();
  if (held == VIGIL_ESTATE) {
    snprintf(start_error, sizeof start_error,
             "called from a thread that is not the one this process's engines run on (every call into vigil is made "
             "from one thread: vigil.h)");
    return VIGIL_ESTATE;
  }
  if (held < 0) return VIGIL_ENOMEM;
  vigil_engine *e = calloc(1, sizeof *e);
  if (!e) {
    vigil__intern_release();
    snprintf(start_error, sizeof start_error, "out of memory");
    return VIGIL_ENOMEM;
  }
  e->opts = options;
  e->next_sub = 1;
  /* What the journal calls up to (journal.c). */
  e->up.arm = vigil__clock_arm;
  e->up.fold_courses = vigil__courses_fold;
  e->up.free = vigil_engine_free;
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
    store_site site = {e->opts.site, e->opts.node, e->opts.advertise, e->opts.lease_ms, e->opts.max_clock_offset_ms};
    e->store = vigil__store_open(e->opts.db_path, &site, e->opts.db_vfs, e->opts.read_only, &rc, err, sizeof err);
  } else if (!(e->store = vigil__store_memory_open())) {
    rc = VIGIL_ENOMEM;
    snprintf(err, sizeof err, "out of memory");
  }
  if (rc == 0) rc = start(e, err, sizeof err);
  e->opened = 1;
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

/* The timer is the engine's only handle, allocated apart from it so that
 * its close may finish after the engine is gone: the callback touches
 * nothing else. */
static void on_timer_closed(uv_handle_t *h) { free(h); }

void vigil_engine_free(vigil_engine *e) {
  if (!e) return;
  /* Inside the engine's own call (a subscriber freeing it on an event): the
   * callers up the stack still use it; the outermost frees it on its way out
   * (lifetime.c). Later subscribers of the event are not called (bus.c). */
  if (e->calls > 0 || e->publishing) {
    e->free_when_done = 1;
    return;
  }
  /* Closed, not run: libuv does not allow uv_run from inside a callback of
   * the same loop, where an embedder may free the engine (fifth review, item
   * 2). The loop's next turn frees the handle (vigil.h). */
  if (e->uv_timer) uv_close((uv_handle_t *)e->uv_timer, on_timer_closed);
  for (uint64_t i = 0; i < e->n_visits; i++)
    vigil__visit_free(e, e->visits[i]);
  free(e->visits);
  free(e->unfolded);
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
  free(e->unpublished);
  for (uint32_t i = 0; i < e->n_protocols; i++)
    vigil__protocol_free(e->protocols[i]);
  free(e->protocols);
  free(e->subs);
  free(e);
  vigil__intern_release();
}

int vigil_engine_events(vigil_engine *e, uint64_t after, vigil_event_fn fn, void *ud) {
  char err[1024];
  int here = vigil__engine_here(e);
  if (here < 0) return here;
  vigil__engine_enter(e);
  int rc = e->store->ops->scan(e->store, after, 0, (store_event_fn)fn, ud, err, sizeof err);
  return vigil__engine_leave(e, rc < 0 ? vigil__engine_fail(e, rc, NULL, "%s", err) : 0);
}

void vigil_engine_stats(const vigil_engine *e, vigil_stats *out) {
  *out = e->stats;
  out->visits_active = out->alerts_active = 0;
  out->visits_not_rebuilt = e->n_unfolded + (e->unfolded_lost ? 1 : 0);
  for (uint64_t i = 0; i < e->n_visits; i++)
    out->visits_active += e->visits[i] && e->visits[i]->status == VISIT_ACTIVE;
  for (uint64_t i = 0; i < e->n_alerts; i++)
    out->alerts_active += e->alerts[i] && vigil__alert_is_open(e->alerts[i]);
  out->lua_bytes = 0;
  for (uint32_t i = 0; i < e->n_protocols; i++)
    out->lua_bytes += e->protocols[i]->sb->used;
}

store *vigil__engine_store(vigil_engine *e) { return e->store; }
uint32_t vigil__engine_subscriber_count(const vigil_engine *e) { return e->n_subs; }
