/* course.c: a patient's treatment course, as a fold of course.* events.
 *
 * A protocol may declare a course (v.course in vigil.lua): the induction
 * series, the intervals between sessions, maintenance, and the measures
 * taken from each session's visit. A visit of a patient on a protocol that
 * an open course of theirs names joins it as its next session; with none
 * open, a visit whose protocol declares a course starts one. Course events
 * are site events (visit 0) that name their course, so that the courses are
 * folded at start from the store's course events alone (scan_courses), the
 * closed visits staying in the log. Every threshold (intervals, grace, the
 * response's fall, the remission's cut-off) is the protocol's data. */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "course.h"
#include "engine/patients.h"
#include "model.h"
#include "alerts.h"
#include "clock.h"
#include "emit.h"
#include "fail.h"
#include "free_text.h"
#include "journal.h"
#include "patient_index.h"
#include "patient_start.h"
#include "protocols.h"
#include "reason.h"
#include "recover.h"
#include "tables.h"
#include "visit.h"
#include "base/intern.h"
#include "base/utf8.h"

static void schedule_course(vigil_engine *e, course *c);

#define DAY_MS 86400000.0

static int num_of(val d, const char *key, double *out) {
  const val *x = vigil__val_get(d, key);
  if (!x || x->type != VAL_NUMBER) return 0;
  *out = x->u.num;
  return 1;
}

static course *course_by_id(const vigil_engine *e, double id) {
  if (!(id >= 1) || id > (double)e->n_courses) return NULL;
  return e->courses[(uint64_t)id - 1];
}

/* The ids of the patient's (interned) courses, ascending, each
 * e->courses[id - 1] (*n of them): a lookup reads the patient's courses, not
 * every course (patient_index.c). */
static const uint64_t *courses_of(const vigil_engine *e, const char *pat, uint32_t *n) {
  const uint64_t *ids = pat ? vigil__patients_courses(e, pat, n) : NULL;
  if (!ids) *n = 0;
  while (*n && ids[*n - 1] > e->n_courses) /* being made (course.started applying) */
    --*n;
  return ids;
}

static int measure_index(const course *c, const char *name) {
  const course_spec *cs = c->p->course;
  for (uint32_t i = 0; name && i < cs->n_measures; i++)
    if (!strcmp(cs->measures[i].name, name)) return (int)i;
  return -1;
}

static void course_free(vigil_engine *e, course *c) {
  if (!c) return;
  vigil__patients_drop_course(e, c->patient, c->id);
  vigil__heap_remove(&e->course_deadlines, &c->timer);
  for (uint32_t i = 0; i < c->n_alerts; i++) {
    alert *a = c->alerts[i];
    if (a->id <= e->cap_alerts && e->alerts[a->id - 1] == a) e->alerts[a->id - 1] = NULL;
    free(a->message);
    free(a);
  }
  free(c->alerts);
  for (uint32_t i = 0; i < c->n_sessions; i++) {
    free(c->sessions[i].values);
    free(c->sessions[i].measured_at);
    free(c->sessions[i].from_otherwise);
    free(c->sessions[i].rems_reference);
    free(c->sessions[i].rems_incomplete);
  }
  free(c->sessions);
  for (uint32_t i = 0; i < c->n_integration; i++)
    free(c->integration[i].note);
  free(c->integration);
  free(c->close_reason);
  free(c);
}

void vigil__courses_free(vigil_engine *e) {
  for (uint64_t i = 0; i < e->n_courses; i++)
    course_free(e, e->courses[i]);
  free(e->courses);
  free(e->links);
  e->courses = NULL;
  e->links = NULL;
  e->n_courses = e->cap_courses = e->n_links = e->cap_links = 0;
}

static int corrupt(vigil_engine *e, const vigil_event *ev, const char *what) {
  vigil__engine_log(e, VIGIL_LOG_ERROR, "course event %llu does not fit the courses: %s", (unsigned long long)ev->seq,
                    what);
  return VIGIL_ECORRUPT;
}

static int oom(vigil_engine *e) {
  e->oom = 1;
  return VIGIL_ENOMEM;
}

/* The course alerts' rules (below, "course alerts"). */
#define RULE_MISSED "missed_session"
#define RULE_NON_RESPONSE "non_response"
#define RULE_SERIES "series_incomplete"
#define RULE_REMS "rems_form"
static int resolve_course_alert(vigil_engine *e, alert *a, const char *actor, const char *reason, const char *why,
                                int64_t due, uint64_t visit_id);
static void review_response(vigil_engine *e, course *c);
static alert *course_alert(const course *c, const char *rule, int open_only);
static uint32_t completed(const course *c);

/* A course alert from its alert.raised (a site event naming its course). */
static int add_course_alert(vigil_engine *e, course *c, const vigil_event *ev) {
  val d = ev->data;
  double id = 0, x = 0;
  const char *rule = vigil__val_text_of(d, K(rule)), *key = vigil__val_text_of(d, K(key)),
             *message = vigil__val_text_of(d, K(message));
  if (!num_of(d, K(alert), &id) || !(id >= 1) || !rule || !key) return corrupt(e, ev, "a course alert without its id");
  if (c->n_alerts == c->cap_alerts) {
    size_t cap;
    alert **as = vigil__grow(c->alerts, c->cap_alerts, (size_t)c->n_alerts + 1, sizeof *as, 4, &cap);
    if (!as) return oom(e);
    c->alerts = as;
    c->cap_alerts = (uint32_t)cap;
  }
  alert *a = calloc(1, sizeof *a);
  if (!a || vigil__engine_grow_alerts(e, (uint64_t)id) < 0) {
    free(a);
    return oom(e);
  }
  a->id = (uint64_t)id;
  a->course = c;
  a->rule = vigil__intern(rule);
  a->key = vigil__intern(key);
  a->message = strdup(message ? message : "");
  a->item = -1;
  a->source = SRC_COURSE;
  /* AD2 (docs/safety.md): a failed induction is the clinician's to decide
   * on: only a clinician acknowledges non_response, with a reason (as a
   * carried rule's alert), and a course with it open is closed only by a
   * clinician (vigil_course_close_needs_clinician). From the rule, so an
   * alert raised before this was so is the clinician's too. */
  a->carry = !strcmp(rule, RULE_NON_RESPONSE);
  if (vigil__priority_parse(vigil__val_text_of(d, K(priority)), &a->prio) < 0) a->prio = PRIORITY_MEDIUM;
  if (num_of(d, K(escalate_ms), &x)) a->escalate_ms = (int64_t)x;
  if (num_of(d, K(value), &x)) {
    a->has_value = 1;
    a->value = x;
  }
  if (num_of(d, K(late_ms), &x)) a->late_ms = (int64_t)x;
  a->raised_at = ev->time;
  if (!a->rule || !a->key || !a->message) {
    free(a->message);
    free(a);
    return oom(e);
  }
  c->alerts[c->n_alerts++] = a;
  e->alerts[a->id - 1] = a;
  if (a->id > e->n_alerts) e->n_alerts = a->id;
  return 0;
}

/* The course alert an acknowledgement, escalation or closing names. */
static alert *course_alert_of(const vigil_engine *e, val d) {
  double id = 0;
  if (!num_of(d, K(alert), &id) || !(id >= 1) || id > (double)e->n_alerts) return NULL;
  alert *a = e->alerts[(uint64_t)id - 1];
  return a && a->course ? a : NULL;
}

static int apply_one(vigil_engine *e, const vigil_event *ev, course **touched) {
  val d = ev->data;
  double id = 0;
  num_of(d, K(course), &id);
  switch (ev->type) {
  case EV_ALERT_RAISED: {
    course *c = course_by_id(e, id);
    if (!c) return corrupt(e, ev, "an alert of no course");
    *touched = c;
    return add_course_alert(e, c, ev);
  }
  case EV_ALERT_ACKNOWLEDGED:
  case EV_ALERT_ESCALATED:
  case EV_ALERT_RESOLVED: {
    alert *a = course_alert_of(e, d);
    if (!a) return corrupt(e, ev, "a change to no course alert");
    *touched = a->course;
    double x = 0;
    if (ev->type == EV_ALERT_ACKNOWLEDGED) {
      a->acked = 1;
      a->acked_at = ev->time;
      a->acked_by = ev->actor;
    } else if (ev->type == EV_ALERT_ESCALATED) {
      a->level = (uint8_t)(num_of(d, K(level), &x) ? x : a->level + 1);
      vigil__priority_parse(vigil__val_text_of(d, K(priority)), &a->prio);
      a->escalated_at = ev->time;
      /* A REMS form late on its due day: what it says now, and active again
       * (an acknowledgement of the reminder is no submission). */
      const char *message = vigil__val_text_of(d, K(message));
      if (message) {
        char *m = strdup(message);
        if (!m) return oom(e);
        free(a->message);
        a->message = m;
        a->acked = 0;
      }
    } else {
      a->cleared = 1;
      a->cleared_at = ev->time;
      /* Rescheduled: the session is due on the date said, until the next one. */
      const char *reason = vigil__val_text_of(d, K(reason));
      if (reason && !strcmp(reason, "rescheduled") && num_of(d, K(due), &x)) {
        a->course->resched_to = (int64_t)x;
        a->course->resched_sessions = a->course->n_sessions;
      }
    }
    return 0;
  }
  default:
    break;
  }
  if (ev->type >= EV_COURSE_SESSION_ADDED && ev->type <= EV_COURSE_CLOSED) *touched = course_by_id(e, id);
  switch (ev->type) {
  case EV_COURSE_STARTED: {
    const char *sha = vigil__val_text_of(d, K(sha256)), *patient = vigil__val_text_of(d, K(patient));
    if (id != (double)(e->n_courses + 1) || !sha || !patient) return corrupt(e, ev, "a start out of order");
    char err[1024];
    int prc = 0;
    protocol *p = vigil__engine_protocol_by_sha(e, sha, &prc, err, sizeof err);
    if (!p && prc == VIGIL_ENOMEM) return oom(e); /* not corrupt: folded again at the next start */
    if (!p || !p->course) return corrupt(e, ev, p ? "its protocol declares no course" : err);
    if (e->n_courses == e->cap_courses) {
      size_t cap;
      course **cs = vigil__grow(e->courses, e->cap_courses, e->n_courses + 1, sizeof *cs, 64, &cap);
      if (!cs) return oom(e);
      e->courses = cs;
      e->cap_courses = cap;
    }
    course *c = calloc(1, sizeof *c);
    const char *pat = vigil__intern(patient);
    if (!c || !pat || vigil__patients_add_course(e, pat, e->n_courses + 1) < 0) {
      free(c);
      return oom(e);
    }
    c->id = e->n_courses + 1;
    c->timer.index = HEAP_NONE;
    c->timer.tie = c->id;
    c->p = p;
    c->patient = pat;
    c->started_at = ev->time;
    e->courses[e->n_courses++] = c;
    return 0;
  }
  case EV_COURSE_SESSION_ADDED: {
    course *c = course_by_id(e, id);
    double vid = 0, number = 0;
    const char *ref = vigil__val_text_of(d, K(protocol));
    if (!c || c->closed || !num_of(d, K(visit), &vid) || !num_of(d, K(session), &number) ||
        number != (double)(c->n_sessions + 1) || (e->n_links && (double)e->links[e->n_links - 1].visit >= vid))
      return corrupt(e, ev, "a session that does not follow its course's last");
    size_t cap;
    if (c->n_sessions == c->cap_sessions) {
      course_session *ss = vigil__grow(c->sessions, c->cap_sessions, (size_t)c->n_sessions + 1, sizeof *ss, 8, &cap);
      if (!ss) return oom(e);
      c->sessions = ss;
      c->cap_sessions = (uint32_t)cap;
    }
    if (e->n_links == e->cap_links) {
      course_link *ls = vigil__grow(e->links, e->cap_links, e->n_links + 1, sizeof *ls, 256, &cap);
      if (!ls) return oom(e);
      e->links = ls;
      e->cap_links = cap;
    }
    uint32_t nm = c->p->course->n_measures;
    course_session s = {.visit = (uint64_t)vid,
                        .at = ev->time,
                        .protocol = ref ? vigil__intern(ref) : NULL,
                        .values = malloc((nm ? nm : 1) * sizeof(double)),
                        .measured_at = calloc(nm ? nm : 1, sizeof(int64_t)),
                        .from_otherwise = calloc(nm ? nm : 1, 1)};
    if (!s.values || !s.measured_at || !s.from_otherwise || (ref && !s.protocol)) {
      free(s.values);
      free(s.measured_at);
      free(s.from_otherwise);
      return oom(e);
    }
    for (uint32_t i = 0; i < nm; i++)
      s.values[i] = NAN;
    c->sessions[c->n_sessions] = s;
    e->links[e->n_links++] = (course_link){.visit = s.visit, .c = c, .session = c->n_sessions};
    c->n_sessions++;
    return 0;
  }
  case EV_COURSE_MEASURED: {
    course *c = course_by_id(e, id);
    double number = 0;
    int m = c ? measure_index(c, vigil__val_text_of(d, K(measure))) : -1;
    if (!c || m < 0 || !num_of(d, K(session), &number) || !(number >= 1) || number > (double)c->n_sessions)
      return corrupt(e, ev, "a measure of no session");
    course_session *s = &c->sessions[(uint32_t)number - 1];
    double x = NAN;
    num_of(d, K(value), &x); /* null: the value was taken back */
    s->values[m] = x;
    s->measured_at[m] = ev->time;
    s->from_otherwise[m] = vigil__val_text_of(d, K(from)) != NULL; /* X3: the otherwise item's */
    return 0;
  }
  case EV_COURSE_SESSION_ENDED: {
    course *c = course_by_id(e, id);
    double number = 0;
    const char *status = vigil__val_text_of(d, K(status));
    int aborted = status && !strcmp(status, "aborted");
    if (!c || !num_of(d, K(session), &number) || !(number >= 1) || number > (double)c->n_sessions || !status ||
        (!aborted && strcmp(status, "completed") != 0) || c->sessions[(uint32_t)number - 1].ended != SESSION_OPEN)
      return corrupt(e, ev, "an end of no open session");
    /* U4: discharged with no dose given counts as an aborted session does. */
    const val *no_dose = vigil__val_get(d, K(no_dose));
    int undosed = !aborted && no_dose && no_dose->type == VAL_BOOL && no_dose->u.b;
    c->sessions[(uint32_t)number - 1].ended = aborted || undosed ? SESSION_ABORTED : SESSION_COMPLETED;
    c->sessions[(uint32_t)number - 1].no_dose = (uint8_t)undosed;
    double dosed = 0;
    if (num_of(d, K(dosed_at), &dosed)) c->sessions[(uint32_t)number - 1].dosed_at = (int64_t)dosed;
    c->sessions[(uint32_t)number - 1].ended_at = ev->time;
    return 0;
  }
  case EV_COURSE_REMS_SUBMITTED: {
    course *c = course_by_id(e, id);
    double number = 0, at = 0;
    const char *by = vigil__val_text_of(d, K(by)), *method = vigil__val_text_of(d, K(method)),
               *reference = vigil__val_text_of(d, K(reference));
    if (!c || !num_of(d, K(session), &number) || !(number >= 1) || number > (double)c->n_sessions ||
        !num_of(d, K(at), &at) || !(at > 0) || !by || !method || !reference ||
        c->sessions[(uint32_t)number - 1].rems_sent_at)
      return corrupt(e, ev, "a REMS form of no session, or submitted twice");
    course_session *s = &c->sessions[(uint32_t)number - 1];
    const char *why = vigil__val_text_of(d, vigil__intern("incomplete_reason"));
    char *r = strdup(reference), *w = why ? strdup(why) : NULL;
    const char *b = vigil__intern(by), *m = vigil__intern(method);
    if (!r || !b || !m || (why && !w)) {
      free(r);
      free(w);
      return oom(e);
    }
    s->rems_incomplete = w;
    s->rems_sent_at = (int64_t)at;
    s->rems_by = b;
    s->rems_method = m;
    s->rems_reference = r;
    s->rems_recorded_at = ev->time;
    s->rems_recorded_by = ev->actor;
    return 0;
  }
  case EV_COURSE_INTEGRATION: {
    course *c = course_by_id(e, id);
    double at = 0;
    const char *by = vigil__val_text_of(d, K(by)), *note = vigil__val_text_of(d, K(note));
    if (!c || !num_of(d, K(at), &at) || !by || !note) return corrupt(e, ev, "an integration session of no course");
    if (c->n_integration == c->cap_integration) {
      size_t cap;
      course_integration *is =
          vigil__grow(c->integration, c->cap_integration, (size_t)c->n_integration + 1, sizeof *is, 4, &cap);
      if (!is) return oom(e);
      c->integration = is;
      c->cap_integration = (uint32_t)cap;
    }
    course_integration x = {.at = (int64_t)at,
                            .recorded_at = ev->time,
                            .by = vigil__intern(by),
                            .recorded_by = ev->actor,
                            .note = strdup(note)};
    if (!x.by || !x.note) {
      free(x.note);
      return oom(e);
    }
    /* In the order they were held: a session recorded late goes in its place. */
    uint32_t k = c->n_integration;
    while (k > 0 && c->integration[k - 1].at > x.at)
      k--;
    memmove(&c->integration[k + 1], &c->integration[k], (c->n_integration - k) * sizeof x);
    c->integration[k] = x;
    c->n_integration++;
    return 0;
  }
  case EV_COURSE_CLOSED: {
    course *c = course_by_id(e, id);
    if (!c || c->closed) return corrupt(e, ev, "a close of no open course");
    const char *reason = vigil__val_text_of(d, K(reason));
    char *r = reason ? strdup(reason) : NULL;
    if (reason && !r) return oom(e);
    c->closed = 1;
    c->closed_at = ev->time;
    c->close_reason = r;
    c->closed_by = ev->actor;
    return 0;
  }
  default:
    return 0;
  }
}

int vigil__course_apply(vigil_engine *e, const vigil_event *ev) {
  course *touched = NULL;
  int rc = apply_one(e, ev, &touched);
  if (rc == 0 && !touched && ev->type == EV_COURSE_STARTED && e->n_courses) touched = e->courses[e->n_courses - 1];
  if (rc != 0 || !touched) return rc;
  /* Every course of the patient: one's missed-session alert, or a visit
   * opened or ended on one, moves when another's comes (missed_deadline). */
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, touched->patient, &n_ids);
  schedule_course(e, touched);
  for (uint32_t k = 0; k < n_ids; k++)
    if (e->courses[ids[k] - 1] != touched) schedule_course(e, e->courses[ids[k] - 1]);
  return rc;
}

typedef struct course_fold {
  vigil_engine *e;
  int rc;
} course_fold;

static int fold_one(void *ud, const vigil_event *ev) {
  course_fold *f = ud;
  int rc = vigil__course_apply(f->e, ev);
  if (rc < 0) f->rc = rc;
  return rc < 0;
}

int vigil__courses_fold(vigil_engine *e, size_t n_kept, char *err, size_t errlen) {
  vigil__courses_free(e);
  course_fold f = {.e = e};
  int oom_was = e->oom;
  e->oom = 0;
  /* No visit is read while the store is scanned (a visit refolded inside
   * the scan leaked); the deadlines are armed again after it. */
  e->courses_folding = 1;
  int rc = e->store->ops->scan_courses(e->store, fold_one, &f, err, errlen);
  for (size_t i = 0; rc == 0 && f.rc == 0 && i < n_kept; i++)
    if (vigil__is_course_event(e->pending[i])) fold_one(&f, e->pending[i]);
  e->courses_folding = 0;
  if (rc == 0 && f.rc == 0 && e->visits_recovered) vigil__courses_schedule(e);
  e->oom = oom_was;
  if (rc == 0 && f.rc < 0) {
    rc = f.rc;
    snprintf(err, errlen, "%s",
             f.rc == VIGIL_ENOMEM ? "out of memory folding the courses"
                                  : "the course events do not fold (see the log)");
  }
  return rc;
}

/* After an undo that could not fold the courses again (out of memory),
 * they are folded at their next use. */
static void ready(vigil_engine *e) {
  if (!e->courses_stale) return;
  char err[1024];
  int oom = e->oom;
  if (vigil__courses_fold(e, e->n_pending, err, sizeof err) == 0) e->courses_stale = 0;
  e->oom = oom;
}

course *vigil__course_of_visit(const vigil_engine *e, uint64_t vid, uint32_t *session) {
  uint64_t lo = 0, hi = e->n_links;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (e->links[mid].visit < vid)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == e->n_links || e->links[lo].visit != vid) return NULL;
  if (session) *session = e->links[lo].session;
  return e->links[lo].c;
}

static int names_protocol(const course *c, const char *id) {
  const course_spec *cs = c->p->course;
  for (uint32_t i = 0; i < cs->n_visits; i++)
    if (!strcmp(cs->visits[i], id)) return 1;
  return 0;
}

/* The patient's open course that names protocol id (the latest), or NULL. */
static course *open_course(const vigil_engine *e, const char *patient, const char *id) {
  const char *pat = vigil__intern_find(patient, strlen(patient));
  if (!pat) return NULL; /* no course has named this patient */
  uint32_t n;
  const uint64_t *ids = courses_of(e, pat, &n);
  for (uint32_t i = n; i-- > 0;) {
    course *c = e->courses[ids[i] - 1];
    if (c->patient == pat && !c->closed && names_protocol(c, id)) return c;
  }
  return NULL;
}

/* Emits course.started for patient on p: the new course, or NULL. */
static course *start_course(vigil_engine *e, protocol *p, const char *patient, const char *actor) {
  char err[1024];
  int rc;
  if (!p->stored_in_log && (rc = e->store->ops->put_protocol(e->store, p, err, sizeof err)) < 0) {
    vigil__engine_fail(e, rc, NULL, "%s", err);
    return NULL;
  }
  p->stored_in_log = 1;
  uint64_t id = e->n_courses + 1;
  val data = vigil__val_recordv(4, K(course), val_num((double)id), K(patient), vigil__val_cstring(patient), K(protocol),
                                val_atom(p->ref_atom), K(sha256), val_atom(p->sha_atom));
  vigil_event *ev = vigil__emit(e, NULL, EV_COURSE_STARTED, actor, data);
  if (!ev || vigil__course_apply(e, ev) < 0) {
    e->oom = 1;
    return NULL;
  }
  return e->courses[id - 1];
}

/* Closes course c's open missed-session alerts, saying why (the alert list
 * shows the reason): the patient came ("visit"), or the session raised
 * about while its visit sat open with no dose was given after all
 * ("dose_given", "session_completed": docs/safety.md AR2). */
static int close_missed(vigil_engine *e, course *c, const char *actor, const char *reason, uint64_t visit_id) {
  for (uint32_t i = 0; i < c->n_alerts; i++)
    if (!c->alerts[i]->cleared && !strcmp(c->alerts[i]->rule, RULE_MISSED) &&
        resolve_course_alert(e, c->alerts[i], actor, reason, NULL, 0, visit_id) < 0)
      return VIGIL_ENOMEM;
  return 0;
}

int vigil__course_join(vigil_engine *e, visit *v, const char *actor, const char *override_reason, uint64_t concurrent) {
  ready(e);
  if (e->oom || !v->patient) return oom(e); /* the visit did not take its start in full */
  course *c = open_course(e, v->patient, v->p->id);
  if (!c && v->p->course && names_protocol(&(course){.p = v->p}, v->p->id))
    c = start_course(e, v->p, v->patient, actor);
  else if (!c)
    return 0; /* no course names its protocol */
  if (!c) return e->oom ? VIGIL_ENOMEM : VIGIL_EIO;
  /* A session begun beside an open one says who decided it and why. */
  val data =
      concurrent
          ? vigil__val_recordv(6, K(course), val_num((double)c->id), K(session), val_num((double)c->n_sessions + 1),
                               K(visit), val_num((double)v->id), K(protocol), val_atom(v->p->ref_atom), K(concurrent),
                               val_num((double)concurrent), K(override), vigil__val_cstring(override_reason))
          : vigil__val_recordv(4, K(course), val_num((double)c->id), K(session), val_num((double)c->n_sessions + 1),
                               K(visit), val_num((double)v->id), K(protocol), val_atom(v->p->ref_atom));
  vigil_event *ev = vigil__emit(e, NULL, EV_COURSE_SESSION_ADDED, actor, data);
  if (!ev || vigil__course_apply(e, ev) < 0) return oom(e);
  /* The patient came: a missed session's alert closes. */
  return close_missed(e, c, actor, "visit", v->id);
}

/* ---- one session at a time (docs/safety.md G9) ---------------------------- */

/* Whether session s's visit is still open: no course.session_ended, and the
 * visit not ended (a log from before course.session_ended existed). */
static int session_open(vigil_engine *e, const course_session *s) {
  if (s->ended != SESSION_OPEN) return 0;
  const visit *v = vigil__engine_visit(e, s->visit);
  return v && v->status == VISIT_ACTIVE;
}

/* A start beside open visit `open`: with a reason (a clinician's), allowed
 * and *concurrent names it; without one, 0 and the caller refuses. */
static int beside_open(vigil_engine *e, const char *override_reason, uint64_t open, uint64_t *concurrent) {
  if (!override_reason) return 0;
  int rc = vigil__reason_check(e, "override_reason", "starting a visit beside an open one", override_reason);
  if (rc) return rc;
  *concurrent = open;
  return 1;
}

int vigil__course_check_start(vigil_engine *e, const protocol *p, const char *patient, const char *override_reason,
                              uint64_t *concurrent) {
  ready(e);
  *concurrent = 0;
  const char *pat = vigil__intern_find(patient, strlen(patient));
  /* Every course of the patient that names the protocol, open or closed:
   * a closed course's visit still running is a session still running. */
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, pat, &n_ids);
  for (uint32_t i = n_ids; i-- > 0;) {
    course *c = e->courses[ids[i] - 1];
    if (c->patient != pat || !names_protocol(c, p->id)) continue;
    for (uint32_t k = c->n_sessions; k-- > 0;) {
      const course_session *s = &c->sessions[k];
      if (!session_open(e, s)) continue;
      int rc = beside_open(e, override_reason, s->visit, concurrent);
      if (rc) return rc < 0 ? rc : 0;
      char place[64];
      vigil__course_session_words(c, k, place, sizeof place);
      return vigil__engine_fail(e, VIGIL_EEXIST, "patient",
                                "patient %s has visit %llu open (%s of course %llu, %s): discharge or abort "
                                "it first, or a clinician starts this visit with override_reason",
                                patient, (unsigned long long)s->visit, place, (unsigned long long)c->id,
                                s->protocol ? s->protocol : c->p->ref);
    }
  }
  /* One open course visit per patient whatever the course: a ketamine
   * visit open and an esketamine course started beside it were two
   * NMDA-antagonist sessions at once (docs/safety.md G9). Either visit a
   * course's (the new one's protocol declares one, or the open one is a
   * session); visits of protocols with no course are not dosing sessions. */
  uint32_t n_held;
  const uint64_t *held = vigil__patients_visits(e, patient, &n_held);
  for (uint32_t i = n_held; i-- > 0;) {
    const visit *v = held[i] <= e->n_visits ? e->visits[held[i] - 1] : NULL;
    uint32_t n;
    if (!v || v->status != VISIT_ACTIVE || !v->patient || strcmp(v->patient, patient)) continue;
    if (!p->course && !vigil__course_of_visit(e, v->id, &n)) continue;
    int rc = beside_open(e, override_reason, v->id, concurrent);
    if (rc) return rc < 0 ? rc : 0;
    return vigil__engine_fail(e, VIGIL_EEXIST, "patient",
                              "patient %s has visit %llu open (%s): discharge or abort it first, or a clinician "
                              "starts this visit with override_reason",
                              patient, (unsigned long long)v->id, v->p->ref);
  }
  return 0;
}

/* M1: when visit v's dose was given, by its course's dose_given items (the
 * visit's protocol's, else the course's): when the first such item was first
 * recorded as given (neither false nor null), whatever it was amended to
 * since (P1: a nurse amended infusion_started to false, then aborted and
 * dosed again at once); 0: none. */
static int64_t dose_given_at(const course *c, const visit *v, const char **which) {
  const course_spec *cs = v->p->course ? v->p->course : c->p->course;
  for (uint32_t i = 0; i < cs->n_dose_given; i++) {
    int item = vigil__protocol_find_item(v->p, cs->dose_given[i], -1);
    if (item < 0 || !v->items[item].given_at) continue;
    if (which) *which = cs->dose_given[i];
    return v->items[item].given_at;
  }
  /* AG2: a dose and its lot recorded, and the visit past their phase (its
   * gate overridden with the devices unrecorded): the dose was given. Not
   * before: they are recorded before the dose, which is then still held (N7). */
  for (uint32_t i = 0; i < cs->n_dose_recorded; i++) {
    int item = vigil__protocol_find_item(v->p, cs->dose_recorded[i], -1);
    if (item < 0 || !v->items[item].given_at || v->phase <= v->p->items[item].phase) continue;
    if (which) *which = cs->dose_recorded[i];
    return v->items[item].given_at;
  }
  return 0;
}

int vigil__course_dose_item(const visit *v, int item) {
  const course_spec *cs = v->p->course;
  for (uint32_t i = 0; cs && item >= 0 && i < cs->n_dose_given; i++)
    if (vigil__protocol_find_item(v->p, cs->dose_given[i], -1) == item) return 1;
  return 0;
}

int vigil_visit_amend_undoes_dose(vigil_engine *e, uint64_t id, const char *ref, char *text, size_t len) {
  ready(e);
  const visit *v = vigil__engine_visit(e, id);
  if (len) text[0] = '\0';
  if (!v || !ref || v->status != VISIT_ACTIVE) return 0;
  int item = vigil__protocol_find_item(v->p, ref, v->phase);
  if (!vigil__course_dose_item(v, item) || !v->items[item].given_at) return 0;
  snprintf(text, len,
           "%s is recorded: the dose was given; only a clinician amends it to say it was not, with a reason and "
           "their password, and the session still counts as a dose for the minimum interval",
           v->p->items[item].qid);
  return 1;
}

/* How many of the first n sessions count toward the series (not aborted). */
static uint32_t counted(const course *c, uint32_t n) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n && i < c->n_sessions; i++)
    k += c->sessions[i].ended != SESSION_ABORTED;
  return k;
}

void vigil__course_span_words(int64_t ms, char *out, size_t len) {
  if (ms < 0) ms = 0;
  const int64_t day = 86400000, minute = 60000;
  if (ms < 2 * day) {
    int64_t minutes = ms / minute;
    snprintf(out, len, "%lld h %02lld min", (long long)(minutes / 60), (long long)(minutes % 60));
  } else {
    int64_t hundredths = ms / (day / 100);
    snprintf(out, len, "%lld.%02lld days", (long long)(hundredths / 100), (long long)(hundredths % 100));
  }
}

void vigil__course_interval_words(int64_t ms, char *out, size_t len) {
  const int64_t day = 86400000;
  if (ms > 0 && ms % day == 0)
    snprintf(out, len, "%lld day%s", (long long)(ms / day), ms == day ? "" : "s");
  else
    vigil__course_span_words(ms, out, len);
}

/* (course.h) The alerts, the holds and the gate said "session 3" (the
 * course's place, aborted visits included) where the patient page said
 * "Session 2" (docs/safety.md C13). */
void vigil__course_session_words(const course *c, uint32_t i, char *out, size_t len) {
  if (i < c->n_sessions && c->sessions[i].no_dose)
    snprintf(out, len, "visit %u of the course (no dose given)", i + 1);
  else if (i < c->n_sessions && c->sessions[i].ended == SESSION_ABORTED)
    snprintf(out, len, "aborted visit %u of the course", i + 1);
  else
    snprintf(out, len, "session %u", counted(c, i) + 1);
}

/* Whether session s is a dose given, for the minimum interval: completed, or
 * its dose_given item recorded, whether its visit was aborted since (kept in
 * its course.session_ended) or is still open (read from the visit). A
 * protocol that declares no dose_given counts completed sessions only. */
static int dose_counted(const vigil_engine *e, const course *c, const course_session *s) {
  if (s->ended == SESSION_COMPLETED) return 1;
  if (s->ended == SESSION_ABORTED) return s->dosed_at != 0;
  const visit *v = vigil__engine_visit((vigil_engine *)e, s->visit);
  return v && v->status == VISIT_ACTIVE && dose_given_at(c, v, NULL) != 0;
}

/* AS5: when one of the course's dose_recorded items (the dose and its lot,
 * recorded before the dose) was recorded in v, whatever its phase; 0: none. */
static int64_t dose_recorded_at(const course *c, const visit *v) {
  const course_spec *cs = v->p->course ? v->p->course : c->p->course;
  for (uint32_t i = 0; i < cs->n_dose_recorded; i++) {
    int item = vigil__protocol_find_item(v->p, cs->dose_recorded[i], -1);
    if (item >= 0 && v->items[item].given_at) return v->items[item].given_at;
  }
  return 0;
}

int vigil__course_session_end(vigil_engine *e, visit *v, int aborted) {
  ready(e);
  uint32_t n;
  course *c = v ? vigil__course_of_visit(e, v->id, &n) : NULL;
  if (!c || c->sessions[n].ended != SESSION_OPEN) return 0;
  /* A session whose dose was given says when (M1): aborted, and since the
   * course try's AR1 completed too, whose visit the engine no longer holds
   * once it is discharged: the minimum interval runs from the dose, not from
   * the visit's start (a visit opened the evening before). */
  int64_t dosed = dose_given_at(c, v, NULL);
  /* AS5: aborted in the phase that gives the dose with the dose and its lot
   * recorded (esketamine: "vomited after the first device"): some of the dose
   * may have been given, so the session holds the minimum interval as a dose
   * does (a clinician overrides the next session's gate when none was). */
  if (!dosed && aborted) dosed = dose_recorded_at(c, v);
  /* U4: a visit discharged with none of its course's dose_given items
   * recorded (the infusion's gate overridden, "cannula failed twice") gave no
   * dose: its session counts as an aborted one does. A course that names no
   * dose_given item counts its completed sessions, as before. */
  const course_spec *dcs = v->p->course ? v->p->course : c->p->course;
  int no_dose = !aborted && dcs->n_dose_given > 0 && !dose_given_at(c, v, NULL);
  val data = dosed     ? vigil__val_recordv(5, K(course), val_num((double)c->id), K(session), val_num((double)n + 1),
                                            K(visit), val_num((double)v->id), K(status),
                                            vigil__val_cstring(aborted ? "aborted" : "completed"), K(dosed_at),
                                            val_num((double)dosed))
             : no_dose ? vigil__val_recordv(5, K(course), val_num((double)c->id), K(session), val_num((double)n + 1),
                                            K(visit), val_num((double)v->id), K(status),
                                            vigil__val_cstring("completed"), K(no_dose), val_bool(1))
                       : vigil__val_recordv(4, K(course), val_num((double)c->id), K(session), val_num((double)n + 1),
                                            K(visit), val_num((double)v->id), K(status),
                                            vigil__val_cstring(aborted ? "aborted" : "completed"));
  vigil_event *ev = vigil__emit(e, NULL, EV_COURSE_SESSION_ENDED, K(vigil), data);
  if (!ev || vigil__course_apply(e, ev) < 0) return oom(e);
  /* The series' last session completed: its response is reviewed, and a
   * series that was late is complete now. */
  review_response(e, c);
  /* AR2: a session that completed is one given: the missed-session alert
   * raised while its visit sat open with no dose closes (a protocol that
   * declares dose_given closed it at the dose already: vigil__course_sync). */
  if (!aborted && !no_dose && close_missed(e, c, K(vigil), "session_completed", v->id) < 0) return VIGIL_ENOMEM;
  alert *late = course_alert(c, RULE_SERIES, 1);
  if (late && completed(c) >= (uint32_t)c->p->course->sessions &&
      resolve_course_alert(e, late, K(vigil), "series_complete", NULL, 0, 0) < 0)
    return VIGIL_ENOMEM;
  return e->oom ? VIGIL_ENOMEM : 0;
}

/* P2, AR1: when session s's dose was given: the dose time its
 * course.session_ended kept (aborted or completed), else its visit's
 * dose_given item (open, or still held), else (completed before the end kept
 * it, or with no dose_given item declared) its start; 0: no dose. Every
 * minimum interval runs from it. */
static int64_t session_dosed_at(const vigil_engine *e, const course *c, const course_session *s) {
  if (s->dosed_at) return s->dosed_at;
  if (s->ended == SESSION_ABORTED) return 0;
  const visit *v = vigil__engine_visit((vigil_engine *)e, s->visit);
  int64_t at = v ? dose_given_at(c, v, NULL) : 0;
  return at ? at : s->ended == SESSION_COMPLETED ? s->at : 0;
}

/* The patient's last session that counts as a dose (completed, or its dose
 * given: dose_counted) on any course that names protocol id, other than
 * visit `not` (a new course does not reset the interval: K3); *dosed: when
 * its dose was given (session_dosed_at). */
static const course_session *last_completed_of(const vigil_engine *e, const char *patient, const char *id, uint64_t not,
                                               const course **of, uint32_t *number, int64_t *dosed) {
  const course_session *last = NULL;
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, patient, &n_ids);
  for (uint32_t k = 0; k < n_ids; k++) {
    const course *c = e->courses[ids[k] - 1];
    if (c->patient != patient || !names_protocol(c, id)) continue;
    for (uint32_t i = 0; i < c->n_sessions; i++) {
      const course_session *s = &c->sessions[i];
      if (s->visit == not || !dose_counted(e, c, s)) continue;
      int64_t at = session_dosed_at(e, c, s);
      if (last && at <= *dosed) continue;
      last = s;
      *dosed = at;
      if (of) *of = c;
      if (number) *number = i + 1;
    }
  }
  return last;
}

/* The patient's last session that counts as a dose on any course other than those that
 * name protocol id, other than visit `not`, whose hold (the longer of
 * min_interval and its own course's) ends latest after its start: another
 * course protocol's dose is a dose given (two NMDA-antagonist sessions on
 * one day, ketamine then esketamine). *until: when its hold ends (from its
 * dose: session_dosed_at). */
static const course_session *last_completed_elsewhere(const vigil_engine *e, const char *patient, const char *id,
                                                      uint64_t not, int64_t min_interval, const course **of,
                                                      uint32_t *number, int64_t *until) {
  const course_session *last = NULL;
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, patient, &n_ids);
  for (uint32_t k = 0; k < n_ids; k++) {
    const course *c = e->courses[ids[k] - 1];
    if (c->patient != patient || names_protocol(c, id)) continue;
    int64_t hold = c->p->course->min_interval > min_interval ? c->p->course->min_interval : min_interval;
    for (uint32_t i = 0; i < c->n_sessions; i++) {
      const course_session *s = &c->sessions[i];
      if (s->visit == not || hold <= 0 || !dose_counted(e, c, s)) continue;
      int64_t at = session_dosed_at(e, c, s);
      if (last && at + hold <= *until) continue;
      last = s;
      *until = at + hold;
      *of = c;
      *number = i + 1;
    }
  }
  return last;
}

int vigil_visit_dose_given(vigil_engine *e, uint64_t id, char *text, size_t len) {
  ready(e);
  uint32_t n;
  const visit *v = vigil__engine_visit(e, id);
  const course *c = v ? vigil__course_of_visit(e, id, &n) : NULL;
  const char *which = NULL;
  if (len) text[0] = '\0';
  if (!c || v->status != VISIT_ACTIVE || !dose_given_at(c, v, &which)) return 0;
  char place[64];
  vigil__course_session_words(c, n, place, sizeof place);
  snprintf(text, len, "%s is recorded: the dose of %s was given", which, place);
  return 1;
}

int vigil__course_dose_hold(vigil_engine *e, const visit *v, char *text, size_t len) {
  ready(e);
  uint32_t n;
  const course *mine = vigil__course_of_visit(e, v->id, &n);
  if (!mine || !v->patient) return 0;
  const char *patient = mine->patient;
  int64_t now = vigil__engine_now(e);
  /* The first gate saw the doses given before it was passed (and a
   * clinician may have overridden its hold): this holds the ones it could
   * not see, given since (two visits in the infusion, neither dosed). */
  int64_t gate = v->p->n_phases > 1 && v->phase_start && v->phase_start[1] ? v->phase_start[1] : 0;
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, patient, &n_ids);
  for (uint32_t k = 0; k < n_ids; k++) {
    const course *c = e->courses[ids[k] - 1];
    if (c->patient != patient) continue;
    int64_t hold = c->p->course->min_interval > mine->p->course->min_interval ? c->p->course->min_interval
                                                                              : mine->p->course->min_interval;
    for (uint32_t i = 0; i < c->n_sessions; i++) {
      const course_session *s = &c->sessions[i];
      if (s->visit == v->id || !dose_counted(e, c, s)) continue;
      int64_t at = session_dosed_at(e, c, s);
      if (!at || at < gate || now - at >= hold) continue;
      char when[40];
      buf b;
      vigil__buf_init(&b);
      vigil__buf_iso_time(&b, at);
      snprintf(when, sizeof when, "%s", b.p ? b.p : "?");
      vigil__buf_free(&b);
      char place[64], interval[40];
      vigil__course_session_words(c, i, place, sizeof place);
      vigil__course_interval_words(hold, interval, sizeof interval);
      snprintf(text, len,
               "the dose of %s of course %llu (visit %llu, %s) was given at %s, %.0f minutes ago, after this "
               "visit's first gate: within the minimum interval of %s the patient is not dosed again; do not "
               "give this dose",
               place, (unsigned long long)c->id, (unsigned long long)s->visit, s->protocol ? s->protocol : c->p->ref,
               when, (double)(now - at) / 60000.0, interval);
      return 1;
    }
  }
  return 0;
}

int vigil__course_recent_dose(vigil_engine *e, const char *patient, char *why, size_t len) {
  ready(e);
  int64_t now = vigil__engine_now(e);
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, patient, &n_ids);
  for (uint32_t k = n_ids; k-- > 0;) {
    const course *c = e->courses[ids[k] - 1];
    if (c->patient != patient) continue;
    for (uint32_t i = c->n_sessions; i-- > 0;) {
      const course_session *s = &c->sessions[i];
      if (!dose_counted(e, c, s)) continue;
      int64_t at = session_dosed_at(e, c, s);
      if (now - at >= c->p->course->min_interval) continue;
      char place[64], since[40], interval[40];
      vigil__course_session_words(c, i, place, sizeof place);
      vigil__course_span_words(now - at, since, sizeof since);
      vigil__course_interval_words(c->p->course->min_interval, interval, sizeof interval);
      snprintf(why, len, "%s of course %llu (visit %llu, %s) was a dose %s ago, within the minimum interval of %s",
               place, (unsigned long long)c->id, (unsigned long long)s->visit, s->protocol ? s->protocol : c->p->ref,
               since, interval);
      return 1;
    }
  }
  return 0;
}

int vigil__course_gate(vigil_engine *e, visit *v, char *text, size_t len) {
  ready(e);
  uint32_t n;
  course *c = v->phase == 0 ? vigil__course_of_visit(e, v->id, &n) : NULL;
  if (!c) return 0;
  const course_spec *cs = c->p->course;
  int64_t now = vigil__engine_now(e);
  buf b;
  /* The latest dose given: the patient's last session, other than this one,
   * that completed or whose dose was given (M1), on this course or an
   * earlier one of the same protocol. */
  const course *of = NULL;
  uint32_t number = 0;
  int64_t dosed = 0;
  const course_session *last =
      cs->min_interval > 0 ? last_completed_of(e, c->patient, v->p->id, v->id, &of, &number, &dosed) : NULL;
  /* Both sessions named in the one numbering (vigil__course_session_words). */
  char this_one[64], that_one[64];
  vigil__course_session_words(c, n, this_one, sizeof this_one);
  if (last && now - dosed < cs->min_interval) {
    int64_t since = now - dosed;
    vigil__buf_init(&b);
    vigil__buf_iso_time(&b, dosed + cs->min_interval);
    char other[64] = "";
    if (of != c) snprintf(other, sizeof other, " of course %llu", (unsigned long long)of->id);
    vigil__course_session_words(of, number - 1, that_one, sizeof that_one);
    char span[40], interval[40];
    vigil__course_span_words(since, span, sizeof span);
    vigil__course_interval_words(cs->min_interval, interval, sizeof interval);
    snprintf(text, len,
             "%s comes %s after %s%s (visit %llu), the last %s, and the course's minimum "
             "interval is %s: it holds until %s, or a clinician overrides with a reason",
             this_one, span, that_one, other, (unsigned long long)last->visit,
             last->ended == SESSION_COMPLETED ? "completed"
             : last->ended == SESSION_ABORTED ? "dose given (its visit aborted since)"
                                              : "dose given (its visit still open)",
             interval, b.p ? b.p : "?");
    vigil__buf_free(&b);
    return 1;
  }
  /* A session on another course protocol (ketamine, then esketamine): held
   * as the same protocol's is, for the longer of the two minimum intervals. */
  int64_t until = 0;
  last = last_completed_elsewhere(e, c->patient, v->p->id, v->id, cs->min_interval, &of, &number, &until);
  if (!last || now >= until) return 0;
  vigil__buf_init(&b);
  vigil__buf_iso_time(&b, until);
  vigil__course_session_words(of, number - 1, that_one, sizeof that_one);
  char span[40], interval[40];
  vigil__course_span_words(now - session_dosed_at(e, of, last), span, sizeof span);
  vigil__course_interval_words(until - session_dosed_at(e, of, last), interval, sizeof interval);
  snprintf(text, len,
           "%s comes %s after %s of course %llu (%s, visit %llu), a dose on another course "
           "protocol, and the minimum interval is %s: it holds until %s, or a clinician overrides with a reason",
           this_one, span, that_one, (unsigned long long)of->id, last->protocol ? last->protocol : of->p->ref,
           (unsigned long long)last->visit, interval, b.p ? b.p : "?");
  vigil__buf_free(&b);
  return 1;
}

/* The value of item ref in visit v: its latest reading (its field `part`, or
 * its single value); NAN when there is none. */
static double item_measure(const visit *v, const char *ref, const char *part) {
  int item = vigil__protocol_find_item(v->p, ref, -1);
  const reading *r = item >= 0 ? vigil__visit_latest(v, item) : NULL;
  if (!r) return NAN;
  val x = r->v;
  if (x.type == VAL_RECORD) {
    const val *f = part ? vigil__val_get(x, part) : NULL;
    x = f ? *f : VAL_NIL_;
  }
  return x.type == VAL_NUMBER ? x.u.num : NAN;
}

/* The value of measure m in visit v: its item's latest reading (a field of
 * it, or its single value), else its otherwise item's (*otherwise set: X3),
 * or its param; NAN when there is none. */
static double visit_measure(const visit *v, const course_measure *m, int *otherwise) {
  *otherwise = 0;
  if (m->param) {
    if (vigil__protocol_find_param(v->p, m->param) < 0) return NAN;
    val x = vigil__visit_param(v, m->param);
    return x.type == VAL_NUMBER ? x.u.num : NAN;
  }
  double x = item_measure(v, m->item, m->field);
  if (!isnan(x) || !m->otherwise) return x;
  x = item_measure(v, m->otherwise, m->field);
  *otherwise = !isnan(x);
  return x;
}

void vigil__course_sync(vigil_engine *e, visit *v) {
  ready(e);
  uint32_t n;
  course *c = v ? vigil__course_of_visit(e, v->id, &n) : NULL;
  if (!c || c->closed) return;
  const course_spec *cs = c->p->course;
  for (uint32_t i = 0; i < cs->n_measures && !e->oom; i++) {
    int otherwise = 0;
    double now = visit_measure(v, &cs->measures[i], &otherwise), was = c->sessions[n].values[i];
    if (((isnan(now) && isnan(was)) || now == was) && otherwise == c->sessions[n].from_otherwise[i]) continue;
    val data = otherwise
                   ? vigil__val_recordv(6, K(course), val_num((double)c->id), K(session), val_num((double)n + 1),
                                        K(visit), val_num((double)v->id), K(measure), val_atom(cs->measures[i].name),
                                        K(value), val_num(now), K(from), val_atom(cs->measures[i].otherwise))
                   : vigil__val_recordv(5, K(course), val_num((double)c->id), K(session), val_num((double)n + 1),
                                        K(visit), val_num((double)v->id), K(measure), val_atom(cs->measures[i].name),
                                        K(value), isnan(now) ? VAL_NIL_ : val_num(now));
    vigil_event *ev = vigil__emit(e, NULL, EV_COURSE_MEASURED, K(vigil), data);
    if (!ev || vigil__course_apply(e, ev) < 0) e->oom = 1;
  }
  if (!e->oom) review_response(e, c);
  /* AR2: the dose given in a visit that a missed-session alert was raised
   * about ("open since ... with no dose given"): the session happened. */
  if (!e->oom && c->sessions[n].ended == SESSION_OPEN && dose_counted(e, c, &c->sessions[n]) &&
      close_missed(e, c, K(vigil), "dose_given", v->id) < 0)
    e->oom = 1;
}

/* ---- what is computed from a course -------------------------------------- */

/* The value of measure m at the first session that has one (from: 0) or
 * the last before session `before`; NAN when none. *at: its session. */
static int counts(const course_session *s, int completed_only) {
  return completed_only ? s->ended == SESSION_COMPLETED : s->ended != SESSION_ABORTED;
}

static double first_value(const course *c, int m, uint32_t *at, int completed_only) {
  for (uint32_t i = 0; i < c->n_sessions; i++)
    if (counts(&c->sessions[i], completed_only) && !isnan(c->sessions[i].values[m])) {
      if (at) *at = i;
      return c->sessions[i].values[m];
    }
  return NAN;
}

static double last_value_before(const course *c, int m, uint32_t before, uint32_t *at, int completed_only) {
  for (uint32_t i = before; i-- > 0;)
    if (counts(&c->sessions[i], completed_only) && !isnan(c->sessions[i].values[m])) {
      if (at) *at = i;
      return c->sessions[i].values[m];
    }
  return NAN;
}

/* 1 response, 0 none (yet), -1 cannot say (fewer than two values, or a
 * baseline of 0). A response: the latest value has fallen from the first by
 * at least the protocol's fall_pct, both of sessions that completed (two
 * screenings with no infusion between them are no response: G9). */
static int response_of(const course *c) {
  const course_spec *cs = c->p->course;
  int m = measure_index(c, cs->response_measure);
  if (m < 0) return -1;
  uint32_t a = 0, b = 0;
  double first = first_value(c, m, &a, 1), last = last_value_before(c, m, c->n_sessions, &b, 1);
  if (isnan(first) || isnan(last) || a == b || first <= 0) return -1;
  return (first - last) / first * 100.0 >= cs->response_fall_pct;
}

/* 1 remission (the latest value below the protocol's cut-off), 0 not, -1 no value. */
static int remission_of(const course *c) {
  const course_spec *cs = c->p->course;
  int m = measure_index(c, cs->remission_measure);
  if (m < 0) return -1;
  double last = last_value_before(c, m, c->n_sessions, NULL, 1);
  if (isnan(last)) return -1;
  return last < cs->remission_below;
}

/* When the next session is due (ms), or -1 (closed, or nothing follows):
 * the usual interval after the last session through the induction series,
 * then the maintenance interval when the protocol declares one. */
/* The last of the first n sessions that counts (not aborted), or NULL. */
static const course_session *last_counted(const course *c, uint32_t n) {
  for (uint32_t i = n < c->n_sessions ? n : c->n_sessions; i-- > 0;)
    if (c->sessions[i].ended != SESSION_ABORTED) return &c->sessions[i];
  return NULL;
}

/* `"counted":N` of session i: its place among the sessions that count (an
 * aborted one counts for nothing: null), the number "session N of 6" says
 * wherever a session is named in words (the stage line's count; C7: "session
 * 7 of 6" with an aborted session in the series). Its `number` stays its
 * place in the course, aborted ones included. */
static void counted_json(buf *b, const course *c, uint32_t i) {
  vigil__buf_puts(b, ",\"counted\":");
  if (c->sessions[i].ended == SESSION_ABORTED)
    vigil__buf_puts(b, "null");
  else
    vigil__buf_put_int(b, (long long)counted(c, i) + 1);
  /* Discharged with no dose given (U4): counted as an aborted one is, but
   * said as what it was wherever the session is named (docs/safety.md AD3). */
  if (c->sessions[i].no_dose) vigil__buf_puts(b, ",\"no_dose\":true");
}

/* When the session after the first `upto` sessions is due (see next_due).
 * A course started before its first visit (POST /api/v1/courses) is due its
 * first session the protocol's `interval` after its start: it had been due
 * nothing, so never overdue nor alerted (docs/safety.md C9). */
static int64_t next_due_after(const course *c, uint32_t upto) {
  const course_spec *cs = c->p->course;
  if (c->closed) return -1;
  if (c->resched_to && c->resched_sessions == upto) return c->resched_to;
  /* An aborted session is not one given: the interval runs from the last
   * that counts (from the course's start when none does). */
  const course_session *s = last_counted(c, upto);
  int64_t last = s ? s->at : c->started_at;
  uint32_t n = counted(c, upto);
  if (n < (uint32_t)cs->sessions) return last + cs->interval;
  if (!cs->maintenance_interval) return -1;
  /* Maintenance: `interval` apart for its first `sessions`, then up to
   * max_interval apart (esketamine's label: weekly in weeks 5-8, then every
   * one or two weeks). */
  if (cs->maintenance_max && n - (uint32_t)cs->sessions >= (uint32_t)cs->maintenance_sessions)
    return last + cs->maintenance_max;
  return last + cs->maintenance_interval;
}

static int64_t next_due(const course *c) { return next_due_after(c, c->n_sessions); }

static const char *stage_of(const course *c) {
  if (c->closed) return "closed";
  return counted(c, c->n_sessions) < (uint32_t)c->p->course->sessions ? "induction" : "maintenance";
}

/* ---- course alerts: no one is lost ---------------------------------------- */

/* A course alert is raised for the patient, of no visit: a site event
 * (alert.raised naming its course) that the courses fold like their own.
 * missed_session: the next session passed its due time and the course's
 * grace with no visit; non_response: the induction series ended without the
 * protocol's response. Both are the course protocol's data (its intervals,
 * grace, response threshold and escalation), and close by a visit of the
 * course, by a reason (rescheduled, stopped) or by the course's close. */
static alert *course_alert(const course *c, const char *rule, int open_only) {
  for (uint32_t i = c->n_alerts; i-- > 0;)
    if (!strcmp(c->alerts[i]->rule, rule) && !(open_only && c->alerts[i]->cleared)) return c->alerts[i];
  return NULL;
}

/* When the course's last session was aborted, or 0: an aborted visit is no
 * session given, so the due it closed the alert of is open again from then
 * (P3: the alert fired, a visit came and was aborted in screening, and no
 * alert came again, days later or after a restart). */
static int64_t reopened_at(const course *c) {
  const course_session *s = c->n_sessions ? &c->sessions[c->n_sessions - 1] : NULL;
  return s && s->ended == SESSION_ABORTED ? (s->ended_at ? s->ended_at : s->at) : 0;
}

/* The missed-session alert raised for the session due at `due` since `since`
 * (its last aborted session's end), or one open still. */
static int missed_raised(const course *c, int64_t due, int64_t since) {
  for (uint32_t i = 0; i < c->n_alerts; i++) {
    const alert *a = c->alerts[i];
    if (strcmp(a->rule, RULE_MISSED) != 0) continue;
    if (!a->cleared || (a->has_value && (int64_t)a->value == due && a->raised_at >= since)) return 1;
  }
  return 0;
}

typedef enum {
  CDL_NONE,
  CDL_MISSED,
  CDL_MISSED_AGAIN,
  CDL_ESCALATE,
  CDL_WITHIN,
  CDL_REMS_ALERT,
  CDL_REMS_LATE,
  CDL_REMS_AGAIN
} course_deadline_kind;

/* How long an acknowledged course alert that is still open stays quiet: the
 * course's grace (its interval when it declares no grace). */
static int64_t again_span(const course *c) {
  const course_spec *cs = c->p->course;
  return cs->grace > 0 ? cs->grace : cs->interval;
}

/* When an acknowledged course alert that is still open becomes active again:
 * again_span after its acknowledgement, so that an acknowledgement ("left a
 * message", "filing it") silences no one for good. A missed session's ends
 * by a visit, a reschedule, a stop or the course's close (docs/safety.md C6);
 * a late REMS form's, once past its due day, by its submission only (C10). */
static int64_t again_at(const course *c, const alert *a) {
  if (!a->acked || a->cleared) return INT64_MAX;
  int64_t span = again_span(c);
  return span > 0 ? a->acked_at + span : INT64_MAX;
}

static int64_t missed_again_at(const course *c, const alert *a) {
  return strcmp(a->rule, RULE_MISSED) != 0 ? INT64_MAX : again_at(c, a);
}

/* How many sessions completed. */
static uint32_t completed(const course *c) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < c->n_sessions; i++)
    k += c->sessions[i].ended == SESSION_COMPLETED;
  return k;
}

/* When the induction series should be complete (`within` from its first
 * session that counts), or -1: none, complete, or its alert raised. */
static int64_t series_deadline(const course *c) {
  const course_spec *cs = c->p->course;
  if (cs->within <= 0 || completed(c) >= (uint32_t)cs->sessions || course_alert(c, RULE_SERIES, 0)) return -1;
  for (uint32_t i = 0; i < c->n_sessions; i++)
    if (c->sessions[i].ended != SESSION_ABORTED) return c->sessions[i].at + cs->within;
  return -1;
}

typedef struct course_deadline {
  int64_t at, due;
  course_deadline_kind kind;
  alert *a;
  uint32_t session; /* a REMS form's (0-based); a missed one's number, counted */
  uint64_t open;    /* a missed session's: the visit left open with no dose given, if any */
} course_deadline;

/* ---- when a missed session's alert comes (docs/safety.md H14, M10, P9) ----- */

/* When the missed-session alert of course c comes, and about which session:
 * INT64_MAX for none. The due time and the course's grace, and:
 * - its last visit aborted: the grace from the abort (P3);
 * - its last visit open with no dose given (a patient in the chair, or a
 *   visit abandoned): the session before it is the one due (an abandoned
 *   visit made the alert say "session 3 due" when session 2 never
 *   happened), and the alert waits the grace from that visit's start;
 * - a visit of the patient open on another course's protocol: the grace
 *   from its start (M10: missed-session alerts while a visit was open);
 * - another course of the patient with its missed-session alert open: none
 *   (M10: one missed-session alert per patient across course protocols). */
static int64_t missed_deadline(vigil_engine *e, const course *c, course_deadline *d) {
  uint32_t upto = c->n_sessions;
  int64_t since = reopened_at(c);
  /* The visits are read once held and not inside the courses' fold (which
   * arms every course again after it). */
  int visits = e->visits_recovered && !e->courses_folding;
  d->open = 0;
  if (upto && visits) {
    const course_session *last = &c->sessions[upto - 1];
    if (session_open(e, last) && !dose_counted(e, c, last)) {
      upto--;
      since = last->at;
      d->open = last->visit;
    }
  }
  int64_t due = !upto && d->open ? since : next_due_after(c, upto);
  if (due < 0 || c->closed) return INT64_MAX;
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, c->patient, &n_ids);
  for (uint32_t k = 0; k < n_ids; k++) {
    const course *o = e->courses[ids[k] - 1];
    if (o == c) continue;
    if (course_alert(o, RULE_MISSED, 1)) return INT64_MAX;
    for (uint32_t i = 0; visits && i < o->n_sessions; i++)
      if (session_open(e, &o->sessions[i]) && o->sessions[i].at > since) since = o->sessions[i].at;
  }
  if (missed_raised(c, due, since)) return INT64_MAX;
  d->due = due;
  d->session = counted(c, upto) + 1;
  return (due > since ? due : since) + c->p->course->grace;
}

/* ---- the REMS Patient Monitoring Form of each session ---------------------- */

/* A course protocol that declares rems_form (esketamine_rems): each session
 * that completed, or was aborted after its dose (rems_deadline), files the REMS Patient Monitoring Form within
 * rems_form.due of its start. While its submission is not recorded
 * (course.rems_submitted), a rems_form course alert is raised
 * rems_form.alert after the start and escalates (active again, one priority
 * up) at the due time; the submission closes it. A course's close does not:
 * the forms of its sessions are owed still. */

/* The session (0-based) of a REMS form's alert (its key "rems_form:N"), or -1. */
static int rems_alert_session(const alert *a) {
  const char *colon = strcmp(a->rule, RULE_REMS) == 0 && a->key ? strchr(a->key, ':') : NULL;
  return colon ? (int)strtol(colon + 1, NULL, 10) - 1 : -1;
}

static alert *rems_alert(const course *c, uint32_t session) {
  for (uint32_t i = c->n_alerts; i-- > 0;)
    if (rems_alert_session(c->alerts[i]) == (int)session) return c->alerts[i];
  return NULL;
}

/* Whether session s files a form, and when it is due (-1: it files none).
 * A session files one once it was discharged, or aborted after its dose was
 * given: the REMS asks for the form of every session whose dose was given,
 * and an aborted one's carries the adverse event that ended it (docs/safety.md
 * C5: a dosed session aborted for chest pain owed no form). */
static int64_t rems_deadline(const course *c, const course_session *s) {
  const course_spec *cs = c->p->course;
  int owes = s->ended == SESSION_COMPLETED || (s->ended == SESSION_ABORTED && s->dosed_at);
  return cs->rems_form_due > 0 && owes ? s->at + cs->rems_form_due : -1;
}

/* The course's earliest deadline, from its data alone (so that a restart
 * arms it again from the fold). */
static course_deadline next_course_deadline(vigil_engine *e, const course *c) {
  course_deadline d = {.at = INT64_MAX, .kind = CDL_NONE};
  /* The forms of a closed course's sessions are owed still. */
  for (uint32_t i = 0; i < c->n_sessions; i++) {
    const course_session *s = &c->sessions[i];
    int64_t due = rems_deadline(c, s);
    if (due < 0 || s->rems_sent_at) continue;
    alert *a = rems_alert(c, i);
    int64_t at = !a ? due - c->p->course->rems_form_due + c->p->course->rems_form_alert
                 : !a->cleared && a->escalated_at < due ? due
                                                        : INT64_MAX;
    if (at < d.at)
      d = (course_deadline){.at = at, .due = due, .kind = a ? CDL_REMS_LATE : CDL_REMS_ALERT, .session = i};
    int64_t again = a && a->escalated_at >= due ? again_at(c, a) : INT64_MAX;
    if (again < d.at) d = (course_deadline){.at = again, .due = due, .kind = CDL_REMS_AGAIN, .a = a, .session = i};
  }
  if (c->closed) return d;
  course_deadline m = {.kind = CDL_MISSED};
  m.at = missed_deadline(e, c, &m);
  if (m.at < d.at) d = m;
  int64_t series = series_deadline(c);
  if (series >= 0 && series < d.at) d = (course_deadline){.at = series, .due = series, .kind = CDL_WITHIN};
  for (uint32_t i = 0; i < c->n_alerts; i++) {
    alert *a = c->alerts[i];
    int64_t again = missed_again_at(c, a);
    if (again < d.at) d = (course_deadline){.at = again, .kind = CDL_MISSED_AGAIN, .a = a};
    if (a->acked || a->cleared || a->escalate_ms <= 0 || a->level >= ALERT_MAX_LEVEL) continue;
    int64_t at = (a->escalated_at ? a->escalated_at : a->raised_at) + a->escalate_ms;
    if (at < d.at) d = (course_deadline){.at = at, .kind = CDL_ESCALATE, .a = a};
  }
  return d;
}

void vigil__courses_schedule(vigil_engine *e) {
  for (uint64_t i = 0; i < e->n_courses; i++)
    schedule_course(e, e->courses[i]);
}

/* Arms course c's deadline (its next session's, past the grace; its alerts'
 * escalations), or takes it off. */
static void schedule_course(vigil_engine *e, course *c) {
  int64_t at = next_course_deadline(e, c).at;
  if (at == INT64_MAX)
    vigil__heap_remove(&e->course_deadlines, &c->timer);
  else if (vigil__heap_set(&e->course_deadlines, &c->timer, at) < 0)
    vigil__engine_log(e, VIGIL_LOG_ERROR, "out of memory arming a course's deadline");
}

/* A course alert's priority, the protocol's (vigil.lua gives medium when it
 * says none; a protocol compiled before priorities existed has none). */
static priority prio_of(const char *name) {
  priority p = PRIORITY_MEDIUM;
  if (name) vigil__priority_parse(name, &p);
  return p;
}

static void fmt_day(char *out, size_t len, int64_t ms) {
  buf b;
  vigil__buf_init(&b);
  vigil__buf_iso_time(&b, ms);
  snprintf(out, len, "%.10s", b.p ? b.p : "?");
  vigil__buf_free(&b);
}

/* Emits a course alert keyed `key` (NULL: its rule), escalated after the
 * protocol's time (escalate 1) or only by its own deadline (0: a REMS
 * form's): it, or NULL (out of memory: e->oom). */
static alert *raise_course_alert_keyed(vigil_engine *e, course *c, const char *rule, const char *key, int escalates,
                                       priority prio, const char *message, int64_t due, int64_t late_ms) {
  uint64_t id = e->n_alerts + 1;
  /* The protocol's escalation, never later than the site's (as alerts.c). */
  int64_t escalate = c->p->escalate;
  int64_t site =
      e->opts.escalate_by_priority_ms[prio] > 0 ? e->opts.escalate_by_priority_ms[prio] : e->opts.escalate_ms;
  if (site > 0 && (escalate <= 0 || escalate > site)) escalate = site;
  if (!escalates) escalate = 0;
  field f[11] = {
      {K(alert), val_num((double)id)},
      {K(course), val_num((double)c->id)},
      {K(patient), val_atom(c->patient)},
      {K(rule), val_atom(vigil__intern(rule))},
      {K(key), val_atom(vigil__intern(key ? key : rule))},
      {K(priority), val_atom(vigil__priority_atom(prio))},
      {K(message), vigil__val_cstring(message)},
      {K(source), val_atom(K(course))},
      {K(latching), val_bool(0)},
      {K(escalate_ms), val_num((double)escalate)},
      {K(value), due >= 0 ? val_num((double)due) : VAL_NIL_},
  };
  uint32_t n = due >= 0 ? 11 : 10;
  val data = vigil__val_record(n + (late_ms >= 0));
  if (!vigil__val_ok(data) || !vigil__val_ok(f[6].v) || f[3].v.type != VAL_ATOM || f[4].v.type != VAL_ATOM) {
    vigil__val_release(data);
    vigil__val_release(f[6].v);
    e->oom = 1;
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++)
    val_fields(data)[i] = f[i];
  if (late_ms >= 0) val_fields(data)[n] = (field){K(late_ms), val_num((double)late_ms)};
  vigil_event *ev = vigil__emit(e, NULL, EV_ALERT_RAISED, K(vigil), data);
  if (!ev || vigil__course_apply(e, ev) < 0) {
    e->oom = 1;
    return NULL;
  }
  return e->alerts[id - 1];
}

static alert *raise_course_alert(vigil_engine *e, course *c, const char *rule, priority prio, const char *message,
                                 int64_t due, int64_t late_ms) {
  return raise_course_alert_keyed(e, c, rule, NULL, 1, prio, message, due, late_ms);
}

/* Closes a course alert: why it closed (a visit, rescheduled, stopped, the
 * course's close, a response), who closed it and what they said. */
static int resolve_course_alert(vigil_engine *e, alert *a, const char *actor, const char *reason, const char *why,
                                int64_t due, uint64_t visit_id) {
  field f[6] = {
      {K(alert), val_num((double)a->id)},
      {K(course), val_num((double)a->course->id)},
      {K(reason), val_atom(vigil__intern(reason))},
      {K(why), why ? vigil__val_cstring(why) : VAL_NIL_},
      {K(due), due > 0 ? val_num((double)due) : VAL_NIL_},
      {K(visit), visit_id ? val_num((double)visit_id) : VAL_NIL_},
  };
  uint32_t n = 0;
  for (int i = 0; i < 6; i++)
    n += f[i].v.type != VAL_NIL;
  val data = vigil__val_record(n);
  if (!vigil__val_ok(data) || f[2].v.type != VAL_ATOM || (why && !vigil__val_ok(f[3].v))) {
    vigil__val_release(data);
    vigil__val_release(f[3].v);
    return oom(e);
  }
  for (int i = 0, k = 0; i < 6; i++)
    if (f[i].v.type != VAL_NIL) val_fields(data)[k++] = f[i];
  vigil_event *ev = vigil__emit(e, NULL, EV_ALERT_RESOLVED, actor, data);
  if (!ev || vigil__course_apply(e, ev) < 0) return oom(e);
  return 0;
}

/* The session due at `due` has not happened by `at` (its grace passed, from
 * the due or from the end of the aborted visit that re-opened it). */
static void fire_missed(vigil_engine *e, course *c, const course_deadline *d, int64_t now) {
  const course_spec *cs = c->p->course;
  char day[16], msg[800], why[200] = "";
  fmt_day(day, sizeof day, d->due);
  int64_t since = reopened_at(c);
  if (d->open) {
    char opened[16];
    fmt_day(opened, sizeof opened, d->at - cs->grace);
    snprintf(why, sizeof why, "; visit %llu has been open since %s with no dose given", (unsigned long long)d->open,
             opened);
  } else if (since && since + cs->grace == d->at) {
    /* AD3: a visit discharged with no dose given was not aborted. */
    snprintf(why, sizeof why, "; its last visit %s",
             c->sessions[c->n_sessions - 1].no_dose ? "was discharged with no dose given" : "was aborted");
  }
  /* The number of the session the patient has not had: aborted visits, and
   * one open with no dose given, are none given (P9: "session 3 due" when
   * session 2 never happened). */
  snprintf(msg, sizeof msg,
           "Session %u of patient %s's course on %s was due %s and has not happened (grace %g d%s): "
           "call the patient",
           d->session, c->patient, c->p->id, day, (double)cs->grace / DAY_MS, why);
  raise_course_alert(e, c, RULE_MISSED, prio_of(cs->priority_missed), msg, d->due, now - d->at);
}

/* The induction series is not complete within the protocol's `within`. */
static void fire_within(vigil_engine *e, course *c, int64_t at, int64_t now) {
  const course_spec *cs = c->p->course;
  char day[16], msg[700];
  fmt_day(day, sizeof day, at - cs->within);
  snprintf(msg, sizeof msg,
           "The induction series of patient %s's course on %s is not complete within %g days of its first session "
           "(%s): %u of %d sessions completed: the clinician decides what next",
           c->patient, c->p->id, (double)cs->within / DAY_MS, day, completed(c), cs->sessions);
  raise_course_alert(e, c, RULE_SERIES, prio_of(cs->priority_series), msg, -1, now - at);
}

/* Session `session`'s REMS form is not recorded as submitted: its alert is
 * raised before the due time (at) or, at the due time, escalated. */
static void fire_rems(vigil_engine *e, course *c, uint32_t session, int64_t due, int64_t at, int64_t now) {
  const course_session *s = &c->sessions[session];
  const course_spec *cs = c->p->course;
  char day[16], by[16], msg[800], place[64];
  vigil__course_session_words(c, session, place, sizeof place);
  fmt_day(day, sizeof day, s->at);
  fmt_day(by, sizeof by, due);
  alert *a = rems_alert(c, session);
  if (!a) {
    char key[32];
    snprintf(key, sizeof key, RULE_REMS ":%u", session + 1);
    snprintf(msg, sizeof msg,
             "The REMS Patient Monitoring Form of %s of patient %s's course on %s (visit %llu, %s) is not "
             "recorded as submitted: it is due by %s (%g days after the session); file it with the REMS and record "
             "its submission",
             place, c->patient, c->p->id, (unsigned long long)s->visit, day, by, (double)cs->rems_form_due / DAY_MS);
    raise_course_alert_keyed(e, c, RULE_REMS, key, 0, prio_of(cs->priority_rems_form), msg, due, now - at);
    return;
  }
  /* Due today and still not submitted: one priority up, active again. */
  snprintf(msg, sizeof msg,
           "The REMS Patient Monitoring Form of %s of patient %s's course on %s (visit %llu, %s) was due by %s "
           "(%g days after the session) and is not recorded as submitted: file it with the REMS now and record its "
           "submission",
           place, c->patient, c->p->id, (unsigned long long)s->visit, day, by, (double)cs->rems_form_due / DAY_MS);
  priority prio = a->prio < PRIORITY_HIGH ? (priority)(a->prio + 1) : a->prio;
  val data = vigil__val_recordv(6, K(alert), val_num((double)a->id), K(course), val_num((double)c->id), K(level),
                                val_num(a->level + 1), K(priority), val_atom(vigil__priority_atom(prio)), K(message),
                                vigil__val_cstring(msg), K(late_ms), val_num((double)(now - at)));
  vigil_event *ev = vigil__emit(e, NULL, EV_ALERT_ESCALATED, K(vigil), data);
  if (!ev || vigil__course_apply(e, ev) < 0) e->oom = 1;
}

/* An acknowledged missed-session alert still open at missed_again_at: what
 * it says now, one level up (and a priority, as the protocol's escalation
 * does), active again (C6). */
static void fire_missed_again(vigil_engine *e, course *c, alert *a, int64_t at, int64_t now) {
  char day[16], acked[16], msg[800];
  fmt_day(day, sizeof day, a->has_value ? (int64_t)a->value : a->raised_at);
  fmt_day(acked, sizeof acked, a->acked_at);
  snprintf(msg, sizeof msg,
           "Session %u of patient %s's course on %s was due %s and has still not happened: the alert was "
           "acknowledged %s by %s and %g d have passed with no visit, new date or stop: call the patient again",
           counted(c, c->n_sessions) + 1, c->patient, c->p->id, day, acked, a->acked_by ? a->acked_by : "?",
           (double)again_span(c) / DAY_MS);
  priority prio = a->prio;
  if (c->p->escalation_raises_priority && prio < PRIORITY_HIGH) prio = (priority)(prio + 1);
  uint8_t level = a->level < ALERT_MAX_LEVEL ? (uint8_t)(a->level + 1) : a->level;
  val data = vigil__val_recordv(6, K(alert), val_num((double)a->id), K(course), val_num((double)c->id), K(level),
                                val_num(level), K(priority), val_atom(vigil__priority_atom(prio)), K(message),
                                vigil__val_cstring(msg), K(late_ms), val_num((double)(now - at)));
  vigil_event *ev = vigil__emit(e, NULL, EV_ALERT_ESCALATED, K(vigil), data);
  if (!ev || vigil__course_apply(e, ev) < 0) e->oom = 1;
}

/* An acknowledged late REMS form's alert, its form still not recorded as
 * sent again_span after the acknowledgement: active again, one level up at
 * most the highest (C10). */
static void fire_rems_again(vigil_engine *e, course *c, const course_deadline *d, int64_t now) {
  const course_session *s = &c->sessions[d->session];
  alert *a = d->a;
  char by[16], acked[16], msg[800], place[64];
  vigil__course_session_words(c, d->session, place, sizeof place);
  fmt_day(by, sizeof by, d->due);
  fmt_day(acked, sizeof acked, a->acked_at);
  snprintf(msg, sizeof msg,
           "The REMS Patient Monitoring Form of %s of patient %s's course on %s (visit %llu) was due by %s "
           "and is still not recorded as submitted: the alert was acknowledged %s by %s and %g d have passed: file "
           "it with the REMS now and record its submission",
           place, c->patient, c->p->id, (unsigned long long)s->visit, by, acked, a->acked_by ? a->acked_by : "?",
           (double)again_span(c) / DAY_MS);
  uint8_t level = a->level < ALERT_MAX_LEVEL ? (uint8_t)(a->level + 1) : a->level;
  val data = vigil__val_recordv(6, K(alert), val_num((double)a->id), K(course), val_num((double)c->id), K(level),
                                val_num(level), K(priority), val_atom(vigil__priority_atom(a->prio)), K(message),
                                vigil__val_cstring(msg), K(late_ms), val_num((double)(now - d->at)));
  vigil_event *ev = vigil__emit(e, NULL, EV_ALERT_ESCALATED, K(vigil), data);
  if (!ev || vigil__course_apply(e, ev) < 0) e->oom = 1;
}

static void fire_course_escalation(vigil_engine *e, course *c, alert *a) {
  priority prio = a->prio;
  if (c->p->escalation_raises_priority && prio < PRIORITY_HIGH) prio = (priority)(prio + 1);
  val data = vigil__val_recordv(4, K(alert), val_num((double)a->id), K(course), val_num((double)c->id), K(level),
                                val_num(a->level + 1), K(priority), val_atom(vigil__priority_atom(prio)));
  vigil_event *ev = vigil__emit(e, NULL, EV_ALERT_ESCALATED, K(vigil), data);
  if (!ev || vigil__course_apply(e, ev) < 0) e->oom = 1;
}

int vigil__course_tick(vigil_engine *e, course *c) {
  int64_t now = vigil__engine_now(e);
  uint64_t id = c->id;
  /* All or nothing, as a visit's deadline (schedule.c). */
  engine_mark mark = vigil__engine_mark(e);
  int oom_was = e->oom;
  e->oom = 0;
  for (int guard = 0; guard < 1000 && !e->oom; guard++) {
    course_deadline d = next_course_deadline(e, c);
    if (d.kind == CDL_NONE || d.at > now) break;
    if (d.kind == CDL_MISSED)
      fire_missed(e, c, &d, now);
    else if (d.kind == CDL_REMS_ALERT || d.kind == CDL_REMS_LATE)
      fire_rems(e, c, d.session, d.due, d.at, now);
    else if (d.kind == CDL_WITHIN)
      fire_within(e, c, d.at, now);
    else if (d.kind == CDL_REMS_AGAIN)
      fire_rems_again(e, c, &d, now);
    else if (d.kind == CDL_MISSED_AGAIN)
      fire_missed_again(e, c, d.a, d.at, now);
    else
      fire_course_escalation(e, c, d.a);
  }
  if (e->oom) {
    vigil__engine_log(e, VIGIL_LOG_ERROR, "out of memory firing a deadline of course %llu: tried again later",
                      (unsigned long long)id);
    vigil__engine_undo(e, &mark); /* the courses are folded again: c is gone */
    e->oom = oom_was;
    return VIGIL_ENOMEM;
  }
  e->oom = oom_was;
  schedule_course(e, c);
  return 0;
}

/* After a session's measure: the induction series ended (its last session
 * measured) without the protocol's response, a non-response alert for the
 * clinician; a response seen later closes it. */
static void review_response(vigil_engine *e, course *c) {
  const course_spec *cs = c->p->course;
  int m = measure_index(c, cs->response_measure);
  if (m < 0 || c->closed) return;
  /* The series' last session: the sessions-th that completed. */
  uint32_t last = 0, k = 0;
  for (uint32_t i = 0; i < c->n_sessions && k < (uint32_t)cs->sessions; i++)
    if (c->sessions[i].ended == SESSION_COMPLETED) {
      k++;
      last = i;
    }
  if (k < (uint32_t)cs->sessions) return;
  uint32_t at = 0;
  double first = first_value(c, m, &at, 1), end = c->sessions[last].values[m];
  if (isnan(first) || isnan(end) || at >= last || first <= 0) return;
  double fall = (first - end) / first * 100.0;
  alert *was = course_alert(c, RULE_NON_RESPONSE, 0);
  if (fall < cs->response_fall_pct && !was) {
    char msg[700];
    snprintf(msg, sizeof msg,
             "No response after the induction series of patient %s (%d sessions): %s %g at the first session, %g "
             "at the last (a fall of %.0f %%; a response is a fall of %g %% or more): the clinician decides what next",
             c->patient, cs->sessions, cs->measures[m].name, first, end, fall, cs->response_fall_pct);
    raise_course_alert(e, c, RULE_NON_RESPONSE, prio_of(cs->priority_non_response), msg, -1, -1);
  } else if (fall >= cs->response_fall_pct && was && !was->cleared) {
    resolve_course_alert(e, was, K(vigil), "response", NULL, 0, 0);
  }
}

/* ---- visit.course() ------------------------------------------------------ */

/* previous(name) / first(name): upvalues 1 the engine, 2 the course id, 3
 * the session (0-based) the view is for, 4: 1 for first. */
static int l_course_measure(lua_State *L) {
  vigil_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  course *c = course_by_id(e, (double)lua_tointeger(L, lua_upvalueindex(2)));
  uint32_t session = (uint32_t)lua_tointeger(L, lua_upvalueindex(3));
  int first = lua_toboolean(L, lua_upvalueindex(4));
  const char *name = luaL_checkstring(L, 1);
  int m = c ? measure_index(c, name) : -1;
  if (m < 0) return luaL_error(L, "unknown course measure '%s'", name);
  double x = first ? first_value(c, m, NULL, 0) : last_value_before(c, m, session, NULL, 0);
  if (isnan(x))
    lua_pushnil(L);
  else
    lua_pushnumber(L, x);
  return 1;
}

int vigil__course_push_view(lua_State *L, vigil_engine *e, const visit *v) {
  ready(e);
  uint32_t n;
  course *c = vigil__course_of_visit(e, v->id, &n);
  if (!c) {
    lua_pushnil(L);
    return 1;
  }
  const course_spec *cs = c->p->course;
  lua_createtable(L, 0, 10);
  lua_pushinteger(L, (lua_Integer)c->id);
  lua_setfield(L, -2, "id");
  lua_pushinteger(L, (lua_Integer)n + 1);
  lua_setfield(L, -2, "session");
  lua_pushinteger(L, cs->sessions);
  lua_setfield(L, -2, "sessions");
  lua_pushstring(L, counted(c, n) + 1 <= (uint32_t)cs->sessions ? "induction" : "maintenance");
  lua_setfield(L, -2, "stage");
  lua_pushinteger(L, cs->min_interval);
  lua_setfield(L, -2, "min_interval");
  const course_session *prev = last_counted(c, n); /* an aborted session is not the last */
  if (prev) {
    int64_t last = prev->at;
    lua_pushinteger(L, last);
    lua_setfield(L, -2, "last_at");
    lua_pushnumber(L, (double)(c->sessions[n].at - last) / DAY_MS);
    lua_setfield(L, -2, "days_since_last");
  }
  for (int first = 0; first < 2; first++) {
    lua_pushlightuserdata(L, e);
    lua_pushinteger(L, (lua_Integer)c->id);
    lua_pushinteger(L, n);
    lua_pushboolean(L, first);
    lua_pushcclosure(L, l_course_measure, 4);
    lua_setfield(L, -2, first ? "first" : "previous");
  }
  return 1;
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_time_or_null(buf *b, int64_t ms) {
  if (ms < 0) {
    vigil__buf_puts(b, "null");
    return;
  }
  vigil__buf_putc(b, '"');
  vigil__buf_iso_time(b, ms);
  vigil__buf_putc(b, '"');
}

static void json_tristate(buf *b, int x) { vigil__buf_puts(b, x < 0 ? "null" : x ? "true" : "false"); }

/* `"previous_course":{...}` or null: the patient's course before c on the
 * same protocol, with the first and the last values of its completed
 * sessions (a new course keeps the earlier baseline in sight: K3). */
static void previous_course_json(const vigil_engine *e, buf *b, const course *c) {
  const course *pc = NULL;
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, c->patient, &n_ids);
  for (uint32_t k = n_ids; k-- > 0;) {
    const course *x = e->courses[ids[k] - 1];
    if (x->id < c->id && x->patient == c->patient && names_protocol(x, c->p->id)) {
      pc = x;
      break;
    }
  }
  vigil__buf_puts(b, ",\"previous_course\":");
  if (!pc) {
    vigil__buf_puts(b, "null");
    return;
  }
  const course_spec *cs = pc->p->course;
  vigil__buf_puts(b, "{\"id\":");
  vigil__buf_put_int(b, (long long)pc->id);
  vigil__buf_puts(b, ",\"protocol\":");
  vigil__buf_json_string(b, pc->p->ref);
  vigil__buf_puts(b, ",\"completed\":");
  vigil__buf_put_int(b, (long long)completed(pc));
  for (int last = 0; last < 2; last++) {
    vigil__buf_puts(b, last ? ",\"last\":{" : ",\"first\":{");
    for (uint32_t m = 0, k = 0; m < cs->n_measures; m++) {
      double x = last ? last_value_before(pc, (int)m, pc->n_sessions, NULL, 1) : first_value(pc, (int)m, NULL, 1);
      if (isnan(x)) continue;
      if (k++) vigil__buf_putc(b, ',');
      vigil__buf_json_string(b, cs->measures[m].name);
      vigil__buf_putc(b, ':');
      vigil__buf_json_number(b, x);
    }
    vigil__buf_putc(b, '}');
  }
  vigil__buf_putc(b, '}');
}

void vigil__course_visit_field(vigil_engine *e, buf *b, const visit *v) {
  ready(e);
  uint32_t n;
  course *c = vigil__course_of_visit(e, v->id, &n);
  if (!c) return;
  const course_spec *cs = c->p->course;
  vigil__buf_puts(b, ",\"course\":{\"id\":");
  vigil__buf_put_int(b, (long long)c->id);
  vigil__buf_puts(b, ",\"session\":");
  vigil__buf_put_int(b, (long long)n + 1);
  counted_json(b, c, n);
  vigil__buf_puts(b, ",\"sessions\":");
  vigil__buf_put_int(b, cs->sessions);
  vigil__buf_puts(b, ",\"stage\":");
  vigil__buf_json_string(b, counted(c, n) + 1 <= (uint32_t)cs->sessions ? "induction" : "maintenance");
  vigil__buf_puts(b, ",\"new\":");
  vigil__buf_puts(b, n == 0 ? "true" : "false");
  vigil__buf_puts(b, ",\"previous\":");
  const course_session *s = last_counted(c, n);
  if (!s) {
    vigil__buf_puts(b, "null");
  } else {
    vigil__buf_puts(b, "{\"visit\":");
    vigil__buf_put_int(b, (long long)s->visit);
    vigil__buf_puts(b, ",\"session\":");
    vigil__buf_put_int(b, (long long)(s - c->sessions) + 1);
    counted_json(b, c, (uint32_t)(s - c->sessions));
    vigil__buf_puts(b, ",\"at\":");
    json_time_or_null(b, s->at);
    vigil__buf_puts(b, ",\"measures\":{");
    for (uint32_t i = 0, k = 0; i < cs->n_measures; i++) {
      if (isnan(s->values[i])) continue;
      if (k++) vigil__buf_putc(b, ',');
      vigil__buf_json_string(b, cs->measures[i].name);
      vigil__buf_putc(b, ':');
      vigil__buf_json_number(b, s->values[i]);
    }
    vigil__buf_puts(b, "}}");
  }
  if (n == 0) previous_course_json(e, b, c);
  vigil__buf_putc(b, '}');
}

static const char *visit_status_name(vigil_engine *e, uint64_t id) {
  const char *status = NULL;
  return vigil_query_visit_status(e, id, &status) == 0 && status ? status : "unknown";
}

/* The session a course alert is about: the one missed, or the last of the
 * induction series for a non-response. */
static uint32_t course_alert_session(const course *c, const alert *a) {
  if (rems_alert_session(a) >= 0) return (uint32_t)rems_alert_session(a) + 1;
  if (strcmp(a->rule, RULE_MISSED) != 0) return (uint32_t)c->p->course->sessions;
  uint32_t n = 0;
  for (uint32_t i = 0; i < c->n_sessions; i++)
    n += c->sessions[i].at < a->raised_at;
  return n + 1;
}

/* The unit of course measure x on protocol p: its param's, or its item's
 * field's (the item's single value when it names none); NULL when none. */
static const char *measure_unit(const protocol *p, const course_measure *x) {
  if (x->param) {
    int pa = vigil__protocol_find_param(p, x->param);
    return pa >= 0 ? p->params[pa].unit : NULL;
  }
  int item = x->item ? vigil__protocol_find_item(p, x->item, -1) : -1;
  if (item < 0) return NULL;
  const item_spec *it = &p->items[item];
  const field_spec *f = x->field ? vigil__item_find_field(it, x->field) : it->n_fields ? &it->fields[0] : NULL;
  return f ? f->unit : NULL;
}

/* One session's REMS form: {"course", "session", "visit", "session_started_at",
 * "deadline", "status" (due, overdue, submitted), "submitted": null or
 * {"at", "by", "method", "reference", "incomplete_reason" (null: sent complete),
 * "recorded_at", "recorded_by"}}. */
static void rems_form_json(vigil_engine *e, buf *b, const course *c, uint32_t i) {
  const course_session *s = &c->sessions[i];
  int64_t due = rems_deadline(c, s);
  vigil__buf_puts(b, "{\"course\":");
  vigil__buf_put_int(b, (long long)c->id);
  vigil__buf_puts(b, ",\"session\":");
  vigil__buf_put_int(b, (long long)i + 1);
  counted_json(b, c, i);
  vigil__buf_puts(b, ",\"visit\":");
  vigil__buf_put_int(b, (long long)s->visit);
  vigil__buf_puts(b, ",\"session_started_at\":");
  json_time_or_null(b, s->at);
  vigil__buf_puts(b, ",\"deadline\":");
  json_time_or_null(b, due);
  vigil__buf_puts(b, ",\"status\":");
  /* Overdue from the deadline's instant on, when its alert escalates to "was
   * due by" (fire_rems: a deadline fires once now reaches it; AO4). */
  vigil__buf_json_string(b, s->rems_sent_at ? "submitted" : vigil__engine_now(e) >= due ? "overdue" : "due");
  vigil__buf_puts(b, ",\"submitted\":");
  if (!s->rems_sent_at) {
    vigil__buf_puts(b, "null}");
    return;
  }
  vigil__buf_puts(b, "{\"at\":");
  json_time_or_null(b, s->rems_sent_at);
  vigil__buf_puts(b, ",\"by\":");
  vigil__buf_json_string(b, s->rems_by);
  vigil__buf_puts(b, ",\"method\":");
  vigil__buf_json_string(b, s->rems_method);
  vigil__buf_puts(b, ",\"reference\":");
  vigil__buf_json_string(b, s->rems_reference);
  vigil__buf_puts(b, ",\"incomplete_reason\":");
  if (s->rems_incomplete)
    vigil__buf_json_string(b, s->rems_incomplete);
  else
    vigil__buf_puts(b, "null");
  /* Sent after its deadline says by how much, so that a late form does not
   * read as one sent in time (docs/safety.md AD5). */
  vigil__buf_puts(b, ",\"late_ms\":");
  vigil__buf_put_int(b, (long long)(s->rems_sent_at > due ? s->rems_sent_at - due : 0));
  vigil__buf_puts(b, ",\"recorded_at\":");
  json_time_or_null(b, s->rems_recorded_at);
  vigil__buf_puts(b, ",\"recorded_by\":");
  vigil__buf_json_string(b, s->rems_recorded_by ? s->rems_recorded_by : "");
  vigil__buf_puts(b, "}}");
}

/* `,"rems_forms":[...]` of a course: every session's form it owes when its
 * protocol declares rems_form (pending: only those not submitted). */
static void rems_forms_json(vigil_engine *e, buf *b, const course *c, int pending, uint64_t *k) {
  for (uint32_t i = 0; i < c->n_sessions; i++) {
    if (rems_deadline(c, &c->sessions[i]) < 0 || (pending && c->sessions[i].rems_sent_at)) continue;
    if ((*k)++) vigil__buf_putc(b, ',');
    rems_form_json(e, b, c, i);
  }
}

static void course_json(vigil_engine *e, buf *b, const course *c) {
  const course_spec *cs = c->p->course;
  vigil__buf_puts(b, "{\"id\":");
  vigil__buf_put_int(b, (long long)c->id);
  vigil__buf_puts(b, ",\"protocol\":");
  vigil__buf_json_string(b, c->p->ref);
  vigil__buf_puts(b, ",\"status\":");
  vigil__buf_json_string(b, c->closed ? "closed" : "open");
  vigil__buf_puts(b, ",\"stage\":");
  vigil__buf_json_string(b, stage_of(c));
  vigil__buf_puts(b, ",\"started_at\":");
  json_time_or_null(b, c->started_at);
  previous_course_json(e, b, c);
  vigil__buf_puts(b, ",\"plan\":{\"sessions\":");
  vigil__buf_put_int(b, cs->sessions);
  vigil__buf_puts(b, ",\"within_days\":");
  vigil__buf_json_number(b, (double)cs->within / DAY_MS);
  vigil__buf_puts(b, ",\"min_interval_days\":");
  vigil__buf_json_number(b, (double)cs->min_interval / DAY_MS);
  vigil__buf_puts(b, ",\"interval_days\":");
  vigil__buf_json_number(b, (double)cs->interval / DAY_MS);
  vigil__buf_puts(b, ",\"maintenance_interval_days\":");
  if (cs->maintenance_interval)
    vigil__buf_json_number(b, (double)cs->maintenance_interval / DAY_MS);
  else
    vigil__buf_puts(b, "null");
  vigil__buf_puts(b, ",\"maintenance_sessions\":");
  vigil__buf_put_int(b, cs->maintenance_sessions);
  vigil__buf_puts(b, ",\"maintenance_max_interval_days\":");
  if (cs->maintenance_max)
    vigil__buf_json_number(b, (double)cs->maintenance_max / DAY_MS);
  else
    vigil__buf_puts(b, "null");
  vigil__buf_puts(b, ",\"grace_days\":");
  vigil__buf_json_number(b, (double)cs->grace / DAY_MS);
  vigil__buf_puts(b, ",\"rems_form_due_days\":");
  if (cs->rems_form_due)
    vigil__buf_json_number(b, (double)cs->rems_form_due / DAY_MS);
  else
    vigil__buf_puts(b, "null");
  vigil__buf_puts(b, ",\"rems_form_alert_days\":");
  if (cs->rems_form_alert)
    vigil__buf_json_number(b, (double)cs->rems_form_alert / DAY_MS);
  else
    vigil__buf_puts(b, "null");
  /* Where each measure is read: an item (and its field) or a param, so that
   * an export can tell an amended value (C8). */
  vigil__buf_puts(b, ",\"measures\":{");
  for (uint32_t m = 0; m < cs->n_measures; m++) {
    const course_measure *x = &cs->measures[m];
    if (m) vigil__buf_putc(b, ',');
    vigil__buf_json_string(b, x->name);
    vigil__buf_puts(b, x->param ? ":{\"param\":" : ":{\"item\":");
    vigil__buf_json_string(b, x->param ? x->param : x->item);
    if (!x->param && x->field) {
      vigil__buf_puts(b, ",\"field\":");
      vigil__buf_json_string(b, x->field);
    }
    /* Its unit, as the protocol declares it, so that a value is never shown
     * bare (docs/workstation.md U5: a dose with no unit). */
    const char *unit = measure_unit(c->p, x);
    vigil__buf_puts(b, ",\"unit\":");
    if (unit)
      vigil__buf_json_string(b, unit);
    else
      vigil__buf_puts(b, "null");
    vigil__buf_putc(b, '}');
  }
  vigil__buf_puts(b, "}},\"sessions\":[");
  for (uint32_t i = 0; i < c->n_sessions; i++) {
    const course_session *s = &c->sessions[i];
    if (i) vigil__buf_putc(b, ',');
    vigil__buf_puts(b, "{\"number\":");
    vigil__buf_put_int(b, (long long)i + 1);
    counted_json(b, c, i);
    vigil__buf_puts(b, ",\"visit\":");
    vigil__buf_put_int(b, (long long)s->visit);
    vigil__buf_puts(b, ",\"protocol\":");
    vigil__buf_json_string(b, s->protocol ? s->protocol : "");
    vigil__buf_puts(b, ",\"started_at\":");
    json_time_or_null(b, s->at);
    vigil__buf_puts(b, ",\"days_since_last\":");
    const course_session *before = last_counted(c, i);
    if (before)
      vigil__buf_json_number(b, (double)(s->at - before->at) / DAY_MS);
    else
      vigil__buf_puts(b, "null");
    vigil__buf_puts(b, ",\"status\":");
    vigil__buf_json_string(b, visit_status_name(e, s->visit));
    vigil__buf_puts(b, ",\"counts\":");
    vigil__buf_puts(b, s->ended == SESSION_ABORTED ? "false" : "true");
    vigil__buf_putc(b, '}');
  }
  vigil__buf_puts(b, "],\"measures\":{");
  for (uint32_t m = 0; m < cs->n_measures; m++) {
    if (m) vigil__buf_putc(b, ',');
    vigil__buf_json_string(b, cs->measures[m].name);
    vigil__buf_puts(b, ":[");
    for (uint32_t i = 0, k = 0; i < c->n_sessions; i++) {
      const course_session *s = &c->sessions[i];
      if (isnan(s->values[m]) || s->ended == SESSION_ABORTED) continue; /* an aborted session measures nothing */
      if (k++) vigil__buf_putc(b, ',');
      vigil__buf_puts(b, "{\"session\":");
      vigil__buf_put_int(b, (long long)i + 1);
      vigil__buf_puts(b, ",\"visit\":");
      vigil__buf_put_int(b, (long long)s->visit);
      vigil__buf_puts(b, ",\"at\":");
      json_time_or_null(b, s->measured_at[m]);
      vigil__buf_puts(b, ",\"value\":");
      vigil__buf_json_number(b, s->values[m]);
      if (s->from_otherwise[m]) { /* X3: read from the otherwise item (the dose drawn up), said so */
        vigil__buf_puts(b, ",\"from\":");
        vigil__buf_json_string(b, cs->measures[m].otherwise);
      }
      vigil__buf_putc(b, '}');
    }
    vigil__buf_putc(b, ']');
  }
  vigil__buf_puts(b, "},\"response\":");
  json_tristate(b, response_of(c));
  vigil__buf_puts(b, ",\"remission\":");
  json_tristate(b, remission_of(c));
  vigil__buf_puts(b, ",\"thresholds\":{\"response_fall_pct\":");
  if (cs->response_measure)
    vigil__buf_json_number(b, cs->response_fall_pct);
  else
    vigil__buf_puts(b, "null");
  vigil__buf_puts(b, ",\"remission_below\":");
  if (cs->remission_measure)
    vigil__buf_json_number(b, cs->remission_below);
  else
    vigil__buf_puts(b, "null");
  vigil__buf_puts(b, "},\"next_due\":");
  int64_t due = next_due(c);
  json_time_or_null(b, due);
  vigil__buf_puts(b, ",\"overdue\":");
  /* Overdue from the instant its missed_session alert is raised (AO4). */
  vigil__buf_puts(b, due >= 0 && vigil__engine_now(e) >= due + cs->grace ? "true" : "false");
  vigil__buf_puts(b, ",\"alerts\":[");
  for (uint32_t i = 0; i < c->n_alerts; i++) {
    const alert *a = c->alerts[i];
    if (i) vigil__buf_putc(b, ',');
    vigil__buf_puts(b, "{\"id\":");
    vigil__buf_put_int(b, (long long)a->id);
    vigil__buf_puts(b, ",\"rule\":");
    vigil__buf_json_string(b, a->rule);
    vigil__buf_puts(b, ",\"priority\":");
    vigil__buf_json_string(b, vigil__priority_atom(a->prio));
    vigil__buf_puts(b, ",\"level\":");
    vigil__buf_put_int(b, a->level);
    vigil__buf_puts(b, ",\"state\":");
    vigil__buf_json_string(b, vigil__alert_state_name(a));
    /* AD2: the patient page offers a carried alert (non_response) to a
     * clinician only, as GET /api/v1/alerts says (ui/js/ack.js). */
    if (a->carry) vigil__buf_puts(b, ",\"carried\":true");
    vigil__buf_puts(b, ",\"message\":");
    vigil__buf_json_string(b, a->message);
    vigil__buf_puts(b, ",\"raised_at\":");
    json_time_or_null(b, a->raised_at);
    vigil__buf_puts(b, ",\"due\":");
    json_time_or_null(b, a->has_value ? (int64_t)a->value : -1);
    vigil__buf_puts(b, ",\"late_ms\":");
    vigil__buf_put_int(b, (long long)a->late_ms);
    vigil__buf_puts(b, ",\"session\":");
    vigil__buf_put_int(b, (long long)course_alert_session(c, a));
    vigil__buf_putc(b, '}');
  }
  vigil__buf_puts(b, "],\"rems_forms\":[");
  uint64_t k = 0;
  rems_forms_json(e, b, c, 0, &k);
  vigil__buf_puts(b, "],\"integration\":[");
  for (uint32_t i = 0; i < c->n_integration; i++) {
    const course_integration *x = &c->integration[i];
    uint32_t after = 0; /* the sessions begun by then: it came after the latest of them */
    for (uint32_t n = 0; n < c->n_sessions; n++)
      after += c->sessions[n].at <= x->at;
    if (i) vigil__buf_putc(b, ',');
    vigil__buf_puts(b, "{\"at\":");
    json_time_or_null(b, x->at);
    vigil__buf_puts(b, ",\"by\":");
    vigil__buf_json_string(b, x->by);
    vigil__buf_puts(b, ",\"note\":");
    vigil__buf_json_string(b, x->note);
    vigil__buf_puts(b, ",\"after_session\":");
    vigil__buf_put_int(b, after);
    vigil__buf_puts(b, ",\"recorded_at\":");
    json_time_or_null(b, x->recorded_at);
    vigil__buf_puts(b, ",\"recorded_by\":");
    vigil__buf_json_string(b, x->recorded_by ? x->recorded_by : "");
    vigil__buf_putc(b, '}');
  }
  vigil__buf_putc(b, ']');
  if (c->closed) {
    vigil__buf_puts(b, ",\"closed\":{\"at\":");
    json_time_or_null(b, c->closed_at);
    vigil__buf_puts(b, ",\"by\":");
    vigil__buf_json_string(b, c->closed_by ? c->closed_by : "");
    vigil__buf_puts(b, ",\"reason\":");
    vigil__buf_json_string(b, c->close_reason ? c->close_reason : "");
    vigil__buf_putc(b, '}');
  }
  vigil__buf_putc(b, '}');
}

char *vigil_patient_json(vigil_engine *e, const char *patient) {
  ready(e);
  const char *pat = patient ? vigil__intern_find(patient, strlen(patient)) : NULL;
  uint32_t n_ids;
  const uint64_t *ids = courses_of(e, pat, &n_ids);
  if (!n_ids) {
    vigil__engine_fail(e, VIGIL_ENOENT, "patient", "no course for patient %s", patient ? patient : "(none)");
    return NULL;
  }
  buf b;
  vigil__buf_init(&b);
  vigil__buf_puts(&b, "{\"patient\":");
  vigil__buf_json_string(&b, patient);
  vigil__buf_puts(&b, ",\"courses\":[");
  for (uint32_t i = 0; i < n_ids; i++) {
    if (i) vigil__buf_putc(&b, ',');
    course_json(e, &b, e->courses[ids[i] - 1]);
  }
  /* The REMS forms not recorded as submitted, of every course, oldest first. */
  vigil__buf_puts(&b, "],\"forms_due\":[");
  uint64_t k = 0;
  for (uint32_t i = 0; i < n_ids; i++)
    rems_forms_json(e, &b, e->courses[ids[i] - 1], 1, &k);
  vigil__buf_puts(&b, "]}");
  if (b.oom) {
    vigil__buf_free(&b);
    vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory");
    return NULL;
  }
  return vigil__buf_take(&b);
}

const char *vigil_course_patient(vigil_engine *e, uint64_t id) {
  ready(e);
  course *c = course_by_id(e, (double)id);
  return c ? c->patient : NULL;
}

/* (engine/patients.h) AR4: a read by a reference in another letter case. */
const char *vigil__patient_similar(vigil_engine *e, const char *patient) {
  ready(e);
  return patient && *patient ? vigil__patients_similar(e, patient) : NULL;
}

char *vigil_patients_due_json(vigil_engine *e, int64_t until_ms, int overdue_only) {
  ready(e);
  int64_t now = vigil__engine_now(e);
  buf b;
  vigil__buf_init(&b);
  vigil__buf_puts(&b, "{\"patients\":[");
  for (uint64_t i = 0, k = 0; i < e->n_courses; i++) {
    const course *c = e->courses[i];
    int64_t due = next_due(c);
    if (due < 0) continue;
    int overdue = now >= due + c->p->course->grace; /* as the course's own `overdue` */
    if (overdue_only ? !overdue : due >= until_ms) continue;
    if (k++) vigil__buf_putc(&b, ',');
    vigil__buf_puts(&b, "{\"patient\":");
    vigil__buf_json_string(&b, c->patient);
    vigil__buf_puts(&b, ",\"course\":");
    vigil__buf_put_int(&b, (long long)c->id);
    vigil__buf_puts(&b, ",\"protocol\":");
    vigil__buf_json_string(&b, c->p->ref);
    vigil__buf_puts(&b, ",\"stage\":");
    vigil__buf_json_string(&b, stage_of(c));
    vigil__buf_puts(&b, ",\"sessions\":");
    vigil__buf_put_int(&b, c->n_sessions);
    vigil__buf_puts(&b, ",\"counted\":"); /* of them, those that count (C7) */
    vigil__buf_put_int(&b, counted(c, c->n_sessions));
    vigil__buf_puts(&b, ",\"last_session_at\":");
    /* A course started before its first visit has none (C9). */
    /* AR7: the last session that counts, the one next_due reads (an aborted
     * visit's start is no session given). */
    const course_session *last = last_counted(c, c->n_sessions);
    json_time_or_null(&b, last ? last->at : -1);
    vigil__buf_puts(&b, ",\"next_due\":");
    json_time_or_null(&b, due);
    vigil__buf_puts(&b, ",\"overdue\":");
    vigil__buf_puts(&b, overdue ? "true" : "false");
    vigil__buf_putc(&b, '}');
  }
  vigil__buf_puts(&b, "]}");
  if (b.oom) {
    vigil__buf_free(&b);
    vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory");
    return NULL;
  }
  return vigil__buf_take(&b);
}

/* ---- commands ------------------------------------------------------------- */

int vigil__cmd_course_start(vigil_engine *e, const char *ref, const char *patient, const char *actor, int new_patient,
                            uint64_t *course_id) {
  ready(e);
  protocol *p = ref ? vigil__engine_find_protocol(e, ref) : NULL;
  if (!p) return vigil__engine_fail(e, VIGIL_ENOENT, "protocol", "no protocol %s is loaded", ref ? ref : "(none)");
  if (!p->course) return vigil__engine_fail(e, VIGIL_EINVAL, "protocol", "%s declares no course", p->ref);
  if (!patient || !*patient)
    return vigil__engine_fail(e, VIGIL_EINVAL, "patient", "a course needs a patient reference");
  course *open = open_course(e, patient, p->id);
  if (open)
    return vigil__engine_fail(e, VIGIL_EEXIST, "patient",
                              "patient %s has course %llu open on %s already: close it before starting another",
                              patient, (unsigned long long)open->id, open->p->ref);
  /* The visit start's patient checks, the same code (docs/security.md AA1). */
  int rc = vigil__patient_check_start(e, patient, new_patient, NULL);
  if (rc < 0) return rc;
  course *c = start_course(e, p, patient, vigil__intern(actor && *actor ? actor : "unknown"));
  if (!c) return e->oom ? VIGIL_ENOMEM : VIGIL_EIO;
  if (course_id) *course_id = c->id;
  return vigil__journal_done(e);
}

/* Closes c: its open alerts first (the course's close ends them), then the course. */
static int close_course(vigil_engine *e, course *c, const char *who, const char *reason) {
  for (uint32_t i = 0; i < c->n_alerts; i++)
    if (!c->alerts[i]->cleared && rems_alert_session(c->alerts[i]) < 0 &&
        resolve_course_alert(e, c->alerts[i], who, "course_closed", NULL, 0, 0) < 0)
      return VIGIL_ENOMEM;
  val data = vigil__val_recordv(2, K(course), val_num((double)c->id), K(reason), vigil__val_cstring(reason));
  vigil_event *ev = vigil__emit(e, NULL, EV_COURSE_CLOSED, who, data);
  if (!ev || vigil__course_apply(e, ev) < 0) return oom(e);
  return 0;
}

int vigil_course_close_needs_clinician(vigil_engine *e, uint64_t id, char *why, size_t len) {
  ready(e);
  course *c = course_by_id(e, (double)id);
  if (!c || c->closed) return 0; /* the command says what is wrong */
  const course_spec *cs = c->p->course;
  uint32_t done = completed(c);
  if (done < (uint32_t)cs->sessions) {
    snprintf(why, len,
             "course %llu is not complete (%u of its %d sessions completed): only a clinician closes it, with a reason "
             "and their password",
             (unsigned long long)c->id, done, cs->sessions);
    return 1;
  }
  for (uint32_t i = 0; i < c->n_sessions; i++)
    if (session_open(e, &c->sessions[i])) {
      char place[64];
      vigil__course_session_words(c, i, place, sizeof place);
      snprintf(why, len,
               "course %llu has %s open (visit %llu): only a clinician closes it, with a reason "
               "and their password",
               (unsigned long long)c->id, place, (unsigned long long)c->sessions[i].visit);
      return 1;
    }
  const alert *nr = course_alert(c, RULE_NON_RESPONSE, 1);
  if (nr) {
    snprintf(why, len,
             "course %llu has its non_response alert open (alert %llu): the clinician decides what next; only a "
             "clinician closes it, with a reason and their password",
             (unsigned long long)c->id, (unsigned long long)nr->id);
    return 1;
  }
  int64_t dosed = 0;
  const course_session *last = last_completed_of(e, c->patient, c->p->id, 0, NULL, NULL, &dosed);
  if (last && cs->min_interval > 0 && vigil__engine_now(e) - dosed < cs->min_interval) {
    char interval[40];
    vigil__course_interval_words(cs->min_interval, interval, sizeof interval);
    snprintf(why, len,
             "course %llu had a session (visit %llu) within its minimum interval of %s: only a clinician closes "
             "it, with a reason and their password",
             (unsigned long long)c->id, (unsigned long long)last->visit, interval);
    return 1;
  }
  return 0;
}

int64_t vigil_course_reschedule_limit(vigil_engine *e, uint64_t alert_id, char *why, size_t len) {
  ready(e);
  const alert *a = alert_id >= 1 && alert_id <= e->n_alerts ? e->alerts[alert_id - 1] : NULL;
  const course *c = a ? a->course : NULL;
  if (!c) return -1;
  const course_spec *cs = c->p->course;
  /* The longest interval the course allows between two sessions at its
   * stage: the series' interval through the induction (P9: a nurse moved a
   * missed induction session 14 days on, the maintenance's span, on a 3-day
   * interval), then the maintenance's max_interval, else its interval. */
  int induction = counted(c, c->n_sessions) < (uint32_t)cs->sessions || !cs->maintenance_interval;
  int64_t span = induction ? cs->interval : cs->maintenance_max ? cs->maintenance_max : cs->maintenance_interval;
  const char *name = induction ? "interval" : cs->maintenance_max ? "maintenance max_interval" : "maintenance interval";
  /* From the last session, or from now when that is later: a session
   * already missed is moved at most that span on. */
  const course_session *s = last_counted(c, c->n_sessions);
  int64_t from = s ? s->at : c->started_at, now = vigil__engine_now(e);
  if (now > from) from = now;
  int64_t limit = from + span;
  buf b;
  vigil__buf_init(&b);
  vigil__buf_iso_time(&b, limit);
  snprintf(why, len,
           "due is later than %s, the course's %s (%g days) after its last session or now: a nurse reschedules "
           "within it, a clinician beyond it with their password",
           b.p ? b.p : "?", name, (double)span / DAY_MS);
  vigil__buf_free(&b);
  return limit;
}

int vigil__cmd_course_close(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  ready(e);
  course *c = course_by_id(e, (double)id);
  if (!c) return vigil__engine_fail(e, VIGIL_ENOENT, "course", "no course %llu", (unsigned long long)id);
  if (c->closed)
    return vigil__engine_fail(e, VIGIL_ESTATE, "course", "course %llu is closed already", (unsigned long long)id);
  int rc = vigil__reason_check(e, "reason", "closing a course", reason);
  if (rc) return rc;
  if (vigil__utf8_chars(reason, strlen(reason)) > 1000)
    return vigil__engine_fail(e, VIGIL_EINVAL, "reason", "a reason has at most 1000 characters");
  if (close_course(e, c, vigil__intern(actor && *actor ? actor : "unknown"), reason) < 0) return oom(e);
  return vigil__journal_done(e);
}

int vigil__cmd_course_alert_close(vigil_engine *e, uint64_t id, const char *actor, const char *reason, const char *why,
                                  int64_t due) {
  ready(e);
  alert *a = id >= 1 && id <= e->n_alerts ? e->alerts[id - 1] : NULL;
  if (!a) return vigil__engine_fail(e, VIGIL_ENOENT, "alert", "no alert %llu", (unsigned long long)id);
  if (!a->course)
    return vigil__engine_fail(
        e, VIGIL_ESTATE, "alert",
        "alert %llu is a visit's: it closes with its cause or by acknowledgement, not by a reason",
        (unsigned long long)id);
  if (a->cleared)
    return vigil__engine_fail(e, VIGIL_ESTATE, "alert", "alert %llu is closed already", (unsigned long long)id);
  int form = rems_alert_session(a);
  if (form >= 0)
    return vigil__engine_fail(e, VIGIL_ESTATE, "alert",
                              "alert %llu is the REMS Patient Monitoring Form of visit %llu: it closes when the form's "
                              "submission is recorded (POST /api/v1/visits/%llu/rems/submitted), not by a reason",
                              (unsigned long long)id, (unsigned long long)a->course->sessions[form].visit,
                              (unsigned long long)a->course->sessions[form].visit);
  int stopped = reason && !strcmp(reason, "stopped");
  if (!reason || (!stopped && strcmp(reason, "rescheduled") != 0))
    return vigil__engine_fail(e, VIGIL_EINVAL, "reason", "reason is rescheduled or stopped; not '%s'",
                              reason ? reason : "");
  int rc = vigil__reason_check(e, "why", "closing a course alert", why);
  if (rc) return rc;
  if (vigil__utf8_chars(why, strlen(why)) > 1000)
    return vigil__engine_fail(e, VIGIL_EINVAL, "why", "why has at most 1000 characters");
  if (stopped) {
    if (due > 0) return vigil__engine_fail(e, VIGIL_EINVAL, "due", "a stopped course has no session due");
  } else if (due <= vigil__engine_now(e)) {
    return vigil__engine_fail(e, VIGIL_EINVAL, "due", "rescheduled needs the new due time, in the future");
  }
  const char *who = vigil__intern(actor && *actor ? actor : "unknown");
  course *c = a->course;
  if (resolve_course_alert(e, a, who, reason, why, stopped ? 0 : due, 0) < 0) return oom(e);
  if (stopped) {
    char text[1100];
    snprintf(text, sizeof text, "stopped: %s", why);
    if (close_course(e, c, who, text) < 0) return oom(e);
  }
  return vigil__journal_done(e);
}

uint64_t vigil_alert_course(vigil_engine *e, uint64_t id) {
  ready(e);
  const alert *a = id >= 1 && id <= e->n_alerts ? e->alerts[id - 1] : NULL;
  return a && a->course ? a->course->id : 0;
}

/* ---- the REMS form's submission ------------------------------------------- */

/* A text of a submission (who sent it, the REMS's reference): 0, or fails
 * naming field. */
static int submission_text(vigil_engine *e, const char *name, const char *text) {
  return vigil__free_text_check(e, name, text, 200, 0);
}

int vigil__cmd_course_rems_submitted(vigil_engine *e, uint64_t vid, const char *actor, const char *by, int64_t at,
                                     const char *method, const char *reference, const char *incomplete_reason) {
  ready(e);
  uint32_t n;
  course *c = vigil__course_of_visit(e, vid, &n);
  const char *status = NULL;
  if (vigil_query_visit_status(e, vid, &status) < 0 || !status)
    return vigil__engine_fail(e, VIGIL_ENOENT, "visit", "no visit %llu", (unsigned long long)vid);
  if (!c || !c->p->course->rems_form_due)
    return vigil__engine_fail(
        e, VIGIL_ESTATE, "visit",
        "visit %llu is not a session of a course that files the REMS Patient Monitoring Form (a course protocol "
        "that declares rems_form, such as esketamine_rems): expected a discharged esketamine REMS session",
        (unsigned long long)vid);
  course_session *s = &c->sessions[n];
  if (rems_deadline(c, s) < 0)
    return vigil__engine_fail(e, VIGIL_ESTATE, "visit",
                              "visit %llu is %s, not discharged: the REMS Patient Monitoring Form of a session is "
                              "submitted once the session is discharged, or aborted after its dose was given",
                              (unsigned long long)vid,
                              s->ended == SESSION_ABORTED ? "aborted before its dose was given" : status);
  if (s->rems_sent_at) {
    buf b;
    vigil__buf_init(&b);
    vigil__buf_iso_time(&b, s->rems_sent_at);
    int rc = vigil__engine_fail(e, VIGIL_ESTATE, "visit",
                                "the REMS Patient Monitoring Form of visit %llu is recorded as submitted already: sent "
                                "%s by %s (%s, reference %s), recorded by %s",
                                (unsigned long long)vid, b.p ? b.p : "?", s->rems_by, s->rems_method, s->rems_reference,
                                s->rems_recorded_by ? s->rems_recorded_by : "?");
    vigil__buf_free(&b);
    return rc;
  }
  if (!method || (strcmp(method, "portal") != 0 && strcmp(method, "fax") != 0 && strcmp(method, "phone") != 0))
    return vigil__engine_fail(e, VIGIL_EINVAL, "method", "method is portal, fax or phone; not '%s'",
                              method ? method : "");
  int rc = submission_text(e, "reference", reference);
  if (rc) return rc;
  const char *who = vigil__intern(actor && *actor ? actor : "unknown");
  /* Who sent the form is who records it, signed in: a `by` naming anyone
   * else was taken as any text (docs/safety.md C8). */
  if (by && strcmp(by, who) != 0)
    return vigil__engine_fail(e, VIGIL_EINVAL, "by",
                              "by is who sent the form: the signed-in user (%s) records it; whoever sent it signs in "
                              "to record it, or leave by out",
                              who);
  /* The one reason rule (M7): "x" and "n/a" say nothing (docs/safety.md C11). */
  if (incomplete_reason &&
      ((rc = submission_text(e, "incomplete_reason", incomplete_reason)) != 0 ||
       (rc = vigil__reason_check(e, "incomplete_reason", "a form sent with fields missing", incomplete_reason)) != 0))
    return rc;
  int64_t now = vigil__engine_now(e);
  if (!at) at = now;
  if (at > now) return vigil__engine_fail(e, VIGIL_EINVAL, "at", "at is in the future: when the form was sent");
  if (at < s->ended_at) {
    buf b;
    vigil__buf_init(&b);
    vigil__buf_iso_time(&b, s->ended_at);
    rc = vigil__engine_fail(e, VIGIL_EINVAL, "at", "at is before the session ended (%s): when the form was sent",
                            b.p ? b.p : "?");
    vigil__buf_free(&b);
    return rc;
  }
  /* A form sent with fields missing says why (docs/rems.md); the caller
   * checks the form (export/rems.c) and refuses it without a reason. */
  const char *why_key = incomplete_reason ? vigil__intern("incomplete_reason") : NULL;
  if (incomplete_reason && !why_key) return oom(e);
  val data = why_key ? vigil__val_recordv(8, K(course), val_num((double)c->id), K(session), val_num((double)n + 1),
                                          K(visit), val_num((double)vid), K(at), val_num((double)at), K(by),
                                          vigil__val_cstring(by ? by : who), K(method), vigil__val_cstring(method),
                                          K(reference), vigil__val_cstring(reference), why_key,
                                          vigil__val_cstring(incomplete_reason))
                     : vigil__val_recordv(7, K(course), val_num((double)c->id), K(session), val_num((double)n + 1),
                                          K(visit), val_num((double)vid), K(at), val_num((double)at), K(by),
                                          vigil__val_cstring(by ? by : who), K(method), vigil__val_cstring(method),
                                          K(reference), vigil__val_cstring(reference));
  vigil_event *ev = vigil__emit(e, NULL, EV_COURSE_REMS_SUBMITTED, who, data);
  if (!ev || vigil__course_apply(e, ev) < 0) return oom(e);
  alert *a = rems_alert(c, n);
  if (a && !a->cleared && resolve_course_alert(e, a, who, "rems_submitted", NULL, 0, vid) < 0) return oom(e);
  return vigil__journal_done(e);
}

char *vigil_visit_rems_json(vigil_engine *e, uint64_t vid) {
  ready(e);
  uint32_t n;
  const course *c = vigil__course_of_visit(e, vid, &n);
  if (!c || rems_deadline(c, &c->sessions[n]) < 0) {
    vigil__engine_fail(e, VIGIL_ENOENT, "visit",
                       "visit %llu files no REMS form (not a REMS session discharged, or aborted after its dose)",
                       (unsigned long long)vid);
    return NULL;
  }
  buf b;
  vigil__buf_init(&b);
  rems_form_json(e, &b, c, n);
  if (b.oom) {
    vigil__buf_free(&b);
    vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory");
    return NULL;
  }
  return vigil__buf_take(&b);
}

/* ---- integration psychotherapy between sessions ---------------------------- */

int vigil__cmd_course_integration(vigil_engine *e, uint64_t id, const char *actor, const char *by, int64_t at,
                                  const char *note) {
  ready(e);
  course *c = course_by_id(e, (double)id);
  if (!c) return vigil__engine_fail(e, VIGIL_ENOENT, "course", "no course %llu", (unsigned long long)id);
  if (c->closed)
    return vigil__engine_fail(e, VIGIL_ESTATE, "course",
                              "course %llu is closed: integration sessions are recorded on an open course",
                              (unsigned long long)id);
  int rc = vigil__free_text_check(e, "note", note, 2000, 1);
  if (rc) return rc;
  if (by && (rc = submission_text(e, "by", by)) != 0) return rc;
  const char *who = vigil__intern(actor && *actor ? actor : "unknown");
  int64_t now = vigil__engine_now(e);
  if (!at) at = now;
  if (at > now) return vigil__engine_fail(e, VIGIL_EINVAL, "at", "at is in the future: when the session was held");
  if (at < c->started_at) {
    buf b;
    vigil__buf_init(&b);
    vigil__buf_iso_time(&b, c->started_at);
    rc = vigil__engine_fail(e, VIGIL_EINVAL, "at", "at is before the course started (%s)", b.p ? b.p : "?");
    vigil__buf_free(&b);
    return rc;
  }
  val data = vigil__val_recordv(4, K(course), val_num((double)c->id), K(at), val_num((double)at), K(by),
                                vigil__val_cstring(by ? by : who), K(note), vigil__val_cstring(note));
  vigil_event *ev = vigil__emit(e, NULL, EV_COURSE_INTEGRATION, who, data);
  if (!ev || vigil__course_apply(e, ev) < 0) return oom(e);
  return vigil__journal_done(e);
}
