/* commands.c: the commands that change a visit.
 *
 * A command checks everything it can before emitting anything, so a refused
 * command leaves no trace but its error. Then it emits events (each applied to
 * the visit at once), runs the protocol's rules on what changed, re-arms the
 * visit's deadline and, outside a batch, commits. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "model.h"
#include "alerts.h"
#include "amend_only.h"
#include "clock.h"
#include "course.h"
#include "deadline.h"
#include "emit.h"
#include "entry.h"
#include "evaluate.h"
#include "fail.h"
#include "gate.h"
#include "journal.h"
#include "late_entry.h"
#include "patient_index.h"
#include "patient_record.h"
#include "patient_start.h"
#include "prescription.h"
#include "reason.h"
#include "recover.h"
#include "signature.h"
#include "tables.h"
#include "visit.h"
#include "engine/json_input.h"
#include "engine/site.h"
#include "base/intern.h"
#include "base/utf8.h"
#include "lang/value_convert.h"

/* How every command on a visit ends: its course hears of its measures, its
 * deadline is re-armed and, outside a batch, the events are committed. */
int vigil__engine_done(vigil_engine *e, visit *v) {
  if (v) vigil__course_sync(e, v);
  if (v) vigil__schedule_visit(e, v);
  return vigil__journal_done(e);
}

static visit *active_visit(vigil_engine *e, uint64_t id, int *rc) {
  visit *v = vigil__engine_visit(e, id);
  if (!v)
    *rc = vigil__engine_fail(e, VIGIL_ENOENT, "visit", "no visit %llu", (unsigned long long)id);
  else if (v->status != VISIT_ACTIVE)
    *rc = vigil__engine_fail(e, VIGIL_ESTATE, "visit", "visit %llu is %s", (unsigned long long)id,
                             v->status == VISIT_DISCHARGED ? "discharged" : "aborted");
  else
    return v;
  return NULL;
}

static const char *actor_of(const char *actor) { return vigil__intern(actor && *actor ? actor : "unknown"); }

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
    return vigil__engine_fail(e, VIGIL_EVALUE, pa->name, "param %s has the wrong type", pa->name);
  }
  field_spec f = {.name = pa->name,
                  .kind = pa->kind,
                  .has_range = pa->has_range,
                  .lo = pa->lo,
                  .hi = pa->hi,
                  .options = pa->options,
                  .n_options = pa->n_options,
                  .unit = pa->unit};
  return vigil__entry_check_scalar(e, pa->name, &f, &in, out);
}

int vigil_patient_new_needs_clinician(vigil_engine *e, const char *patient, char *why, size_t len) {
  const char *like = patient ? vigil__patients_similar(e, patient) : NULL;
  if (!like) return 0;
  char dose[400] = "";
  for (uint64_t i = e->n_visits; i-- > 0;) {
    const visit *v = e->visits[i];
    if (!v || v->status != VISIT_ACTIVE || !v->patient || strcmp(v->patient, like)) continue;
    snprintf(why, len,
             "patient %s is spelled like %s, who has visit %llu open (%s): only a clinician starts a visit for %s as "
             "a new patient, with their password",
             patient, like, (unsigned long long)v->id, v->p->ref, patient);
    return 1;
  }
  if (!vigil__course_recent_dose(e, vigil__intern_find(like, strlen(like)), dose, sizeof dose)) return 0;
  snprintf(why, len,
           "patient %s is spelled like %s, whose %s: only a clinician starts a visit for %s as a new patient, with "
           "their password",
           patient, like, dose, patient);
  return 1;
}

/* The start once the patient checks passed: record is the hospital's
 * record of patient (or of a reference spelled like it), or NULL; params
 * are taken (released on a failure). */
static int start_checked(vigil_engine *e, protocol *p, const char *patient, const char *location, const char *actor,
                         val params, const char *override_reason, int new_patient, const json_t *record,
                         uint64_t *visit_id) {
  int rc;
  /* Whom a new_patient start is spelled like (recorded below, M9). */
  const char *like = new_patient ? vigil__patients_similar(e, patient) : NULL;

  /* One open session of a course at a time (docs/safety.md G9). */
  uint64_t concurrent = 0;
  if ((rc = vigil__course_check_start(e, p, patient, override_reason, &concurrent)) < 0 ||
      (!concurrent &&
       (rc = vigil__patient_merged_check_start(e, p, patient, record, override_reason, &concurrent)) < 0)) {
    vigil__val_release(params);
    return rc;
  }

  /* The version's sources are kept before any visit depends on them. */
  char err[1024];
  if (!p->stored_in_log && (rc = e->store->ops->put_protocol(e->store, p, err, sizeof err)) < 0) {
    vigil__val_release(params);
    return vigil__engine_fail(e, rc, NULL, "%s", err);
  }
  p->stored_in_log = 1;
  if (vigil__engine_grow_visits(e, e->n_visits + 1) < 0) {
    vigil__val_release(params);
    return VIGIL_ENOMEM;
  }
  visit *v = vigil__visit_new(e, e->n_visits + 1, p);
  if (!v) {
    vigil__val_release(params);
    return VIGIL_ENOMEM;
  }
  e->visits[e->n_visits++] = v;
  /* new_patient: the start said so although the patient is spelled like
   * another (K2), kept with it; concurrent and override: begun beside the
   * patient's open visit (G9), who decided it and why. */
  /* As many fields as it has (issue 16: the record lives with the log), the
   * patient interned as the visit and the patient index keep it. */
  const char *pat = vigil__intern(patient);
  uint32_t n_fields = 5 + !!location + !!new_patient + (new_patient && like) + 2 * !!concurrent;
  val data = pat ? vigil__val_record(n_fields) : VAL_NIL_;
  if (!pat || !vigil__val_ok(data)) {
    vigil__val_release(params);
    return VIGIL_ENOMEM;
  }
  uint32_t nf = 0;
  field *f = val_fields(data);
  f[nf].key = K(protocol), f[nf++].v = val_atom(p->ref_atom);
  f[nf].key = K(sha256), f[nf++].v = val_atom(p->sha_atom);
  f[nf].key = K(patient), f[nf++].v = val_atom(pat);
  if (location) f[nf].key = K(location), f[nf++].v = vigil__val_cstring(location);
  f[nf].key = K(params), f[nf++].v = params;
  f[nf].key = K(phase), f[nf++].v = val_atom(p->phases[0].id);
  if (new_patient) f[nf].key = K(new_patient), f[nf++].v = val_bool(1);
  if (new_patient && like) f[nf].key = K(similar_to), f[nf++].v = vigil__val_cstring(like); /* M9 */
  if (concurrent) {
    f[nf].key = K(concurrent), f[nf++].v = val_num((double)concurrent);
    f[nf].key = K(override), f[nf++].v = vigil__val_cstring(override_reason);
  }
  data.u.o->n = nf;
  if (!vigil__val_whole(data)) {
    vigil__val_release(data);
    return VIGIL_ENOMEM;
  }
  if (!vigil__emit(e, v, EV_VISIT_STARTED, actor_of(actor), data)) return VIGIL_ENOMEM;
  if ((rc = vigil__course_join(e, v, actor_of(actor), override_reason, concurrent)) < 0) return rc;
  /* An allergy on the hospital record to the drug (docs/safety.md L7). */
  if ((rc = vigil__allergy_visit_start(e, v, record)) < 0) return rc;
  uint64_t started = v->id; /* v may be folded again (undone) by done */
  rc = vigil__engine_done(e, v);
  if (rc == 0 && visit_id) *visit_id = started; /* a start that failed gives no visit */
  return rc;
}

int vigil__cmd_visit_start_at(vigil_engine *e, const char *ref, const char *patient, const char *location,
                              const char *actor, const char *params_json, const json_t *params_given,
                              const char *override_reason, int new_patient, uint64_t *visit_id) {
  protocol *p = ref ? vigil__engine_find_protocol(e, ref) : NULL;
  if (!p) return vigil__engine_fail(e, VIGIL_ENOENT, "protocol", "no protocol %s is loaded", ref ? ref : "(none)");
  if (!patient || !*patient) return vigil__engine_fail(e, VIGIL_EINVAL, "patient", "a visit needs a patient reference");
  if (location && (!*location || vigil__utf8_chars(location, strlen(location)) > 64))
    return vigil__engine_fail(e, VIGIL_EINVAL, "location", "a location (chair or bay) has 1 to 64 characters");
  /* The server's body is parsed already; params_json is parsed here. */
  json_t *j = params_given ? json_incref((json_t *)params_given) : NULL;
  if (!j && params_json && *params_json) {
    json_error_t jerr;
    j = json_loads(params_json, JSON_PRESERVE_ORDER | JSON_REJECT_DUPLICATES, &jerr);
    if (!j) return vigil__engine_fail(e, VIGIL_EINVAL, "params", "params must be a JSON object (%s)", jerr.text);
  }
  if (j) {
    if (!json_is_object(j)) {
      json_decref(j);
      return vigil__engine_fail(e, VIGIL_EINVAL, "params", "params must be a JSON object (not an object)");
    }
    const char *k;
    json_t *x;
    json_object_foreach(j, k, x) {
      if (vigil__protocol_find_param(p, k) < 0) {
        int rc = vigil__engine_fail(e, VIGIL_EVALUE, k, "%s has no param '%s'", p->ref, k);
        json_decref(j);
        return rc;
      }
    }
  }
  /* A visit that gives no params shares the protocol's defaults. */
  int all_defaults = !j;
  for (uint32_t i = 0; all_defaults && i < p->n_params; i++)
    all_defaults = p->params[i].def.type != VAL_NIL;
  val params = all_defaults ? vigil__val_retain(p->defaults) : vigil__val_record(p->n_params);
  int rc = vigil__val_ok(params) ? 0 : VIGIL_ENOMEM;
  uint32_t n = all_defaults ? p->n_params : 0;
  for (uint32_t i = 0; i < p->n_params && rc == 0 && !all_defaults; i++) {
    const param_spec *pa = &p->params[i];
    json_t *x = j ? json_object_get(j, pa->name) : NULL;
    val value = VAL_NIL_;
    if (x && !json_is_null(x))
      rc = check_param(e, pa, x, &value);
    else if (pa->def.type != VAL_NIL)
      value = vigil__val_retain(pa->def);
    else if (pa->required)
      rc = vigil__engine_fail(e, VIGIL_EVALUE, pa->name, "param %s is required", pa->name);
    if (rc == 0 && value.type != VAL_NIL) {
      val_fields(params)[n].key = pa->name;
      val_fields(params)[n++].v = value;
    }
  }
  json_decref(j);
  if (rc < 0) {
    vigil__val_release(params);
    return rc;
  }
  if (!all_defaults) params.u.o->n = n;
  /* Limits that contradict each other (marked hypertension above severe). */
  if ((rc = vigil__params_check_relations(e, p, params)) < 0) {
    vigil__val_release(params);
    return rc;
  }

  /* The patient checks every start applies (K2, L5, L8, N3; AA1), the
   * hospital's record read once for all of them (issue 16). */
  json_t *record = NULL;
  if ((rc = vigil__patient_check_start(e, patient, new_patient, &record)) < 0) {
    vigil__val_release(params);
    return rc;
  }
  rc = start_checked(e, p, patient, location, actor, params, override_reason, new_patient, record, visit_id);
  json_decref(record);
  return rc;
}

static int still_overdue(const visit *v, int item) {
  const item_state *s = &v->items[item];
  return s->overdue > s->sat && !s->skipped_for_good;
}

/* Resolves the overdue alerts of an item that is no longer overdue (an
 * acknowledged one and the one that announced the next missed checkpoint
 * again, F6), each once every item of its checkpoint (one alert for them
 * all) is no longer either. */
static void resolve_overdue(vigil_engine *e, visit *v, int item) {
  const item_state *s = &v->items[item];
  if (s->overdue == 0 || still_overdue(v, item)) return;
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    alert *a = v->alerts[i];
    if (a->source != SRC_OVERDUE || a->cleared) continue;
    int mine = a->item == item, done = 1;
    for (uint32_t j = 0; j < a->n_items; j++) {
      mine |= a->items[j] == item;
      done &= !still_overdue(v, a->items[j]);
    }
    if (mine && done) vigil__resolve_alert(e, a);
  }
}

int vigil_visit_items_sign(vigil_engine *e, uint64_t id, const char *const *items, size_t n) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  for (size_t i = 0; i < n; i++) {
    int item = vigil__protocol_find_item(v->p, items[i], v->phase);
    if (item >= 0 && v->p->items[item].kind == KIND_SIGNATURE) return 1;
  }
  return 0;
}

int vigil_visit_items_clinician(vigil_engine *e, uint64_t id, const char *const *items, size_t n, size_t *which) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  for (size_t i = 0; i < n; i++) {
    int item = vigil__protocol_find_item(v->p, items[i], v->phase);
    if (item >= 0 && v->p->items[item].clinician) {
      if (which) *which = i;
      return 1;
    }
  }
  return 0;
}

/* "14:30:05" of a time in ms (UTC). */
static const char *hms(int64_t ms, char *out, size_t len) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, len, "%H:%M:%S", &tm);
  return out;
}

/* The phase the visit was in at `at` (a phase it has entered), or -1. */
static int phase_at_time(const visit *v, int64_t at) {
  for (int ph = v->phase; ph >= 0; ph--)
    if (v->phase_start[ph] && v->phase_start[ph] <= at) return ph;
  return -1;
}

/* AO1 (docs/safety.md): an item its protocol records `after` a check of its
 * phase (ketamine_iv's stop, volume infused and dose given after the
 * infusion's start) is refused while that check is not recorded yes, in
 * this entry or before it (409: the stop was taken 5 minutes before the
 * start, then "stopped -5 minutes after it started"), and when observed
 * before it was (422). items[k] has the value values[k]; at: when the entry
 * was observed. */
static int after_its_check(vigil_engine *e, const visit *v, const int *items, val values, int n_items, int64_t at) {
  const protocol *p = v->p;
  char title[512], check[512], t1[16], t2[16];
  for (int k = 0; k < n_items; k++) {
    const item_spec *it = &p->items[items[k]];
    if (it->after_item < 0) continue;
    const item_spec *c = &p->items[it->after_item];
    int here = 0;
    for (int m = 0; m < n_items; m++)
      if (items[m] == it->after_item)
        here = 1 + (val_fields(values)[m].v.type == VAL_BOOL && val_fields(values)[m].v.u.b);
    if (here == 2) continue;
    const reading *r = vigil__visit_latest(v, it->after_item);
    int yes = !here && r && r->v.type == VAL_BOOL && r->v.u.b;
    const char *what = vigil__visit_text(v, it->title, title, sizeof title);
    const char *after = vigil__visit_text(v, c->title, check, sizeof check);
    if (!yes)
      return vigil__engine_fail(e, VIGIL_ESTATE, it->id,
                                "%s (%s) is recorded once %s (%s) is recorded yes, and it is not%s: record %s first "
                                "(with its observed_at if it was earlier); nothing was recorded",
                                what, it->qid, after, c->qid, here ? " in this entry" : "", c->id);
    if (at < r->at)
      return vigil__engine_fail(e, VIGIL_EVALUE, "observed_at",
                                "%s (%s) observed at %s UTC, before %s (%s) at %s UTC: it is recorded after it; "
                                "nothing was recorded",
                                what, it->qid, hms(at, t1, sizeof t1), after, c->qid, hms(r->at, t2, sizeof t2));
  }
  return 0;
}

/* observed_at < 0: observed now. Otherwise a late entry: observed then, in
 * the past and not before the visit started (docs/safety.md, H8). A late
 * entry of a past phase's item (phase-qualified, observation.vitals) is taken
 * when it was observed while the visit was in that phase (K4). */
/* H17 (docs/safety.md), AM3 (docs/security.md): a visit holds at most
 * max_readings_per_visit readings, so that one visit's record, its FHIR
 * Bundle and what a rule copies of it stay bounded. An entry that would pass
 * it (adding `adding`) is refused whole, named and logged; 0, or the error. */
static int visit_full(vigil_engine *e, const visit *v, uint32_t adding) {
  uint32_t limit = e->opts.max_readings_per_visit ? e->opts.max_readings_per_visit : VIGIL_MAX_READINGS_PER_VISIT;
  uint64_t held = 0;
  for (uint32_t i = 0; i < v->p->n_items; i++)
    held += v->items[i].n;
  return vigil__visit_full(e, v, "an entry", "readings", held, adding, limit, "max_readings_per_visit",
                           "Write what you observed in a note on the visit (notes are still taken) and tell the "
                           "site's administrator");
}

int vigil__visit_full(vigil_engine *e, const visit *v, const char *what, const char *things, uint64_t held,
                      uint32_t adding, uint32_t limit, const char *setting, const char *advice) {
  if (held + adding <= limit) return 0;
  vigil__engine_log(e, VIGIL_LOG_WARN, "visit %llu: %s of %u %s refused: the visit holds %llu of its limit of %u (%s)",
                    (unsigned long long)v->id, what, adding, things, (unsigned long long)held, limit, setting);
  const char *this = !strncmp(what, "an ", 3) ? what + 3 : !strncmp(what, "a ", 2) ? what + 2 : what;
  /* AT7 (docs/security.md): an entry of several readings says how many it
   * needed (at 2,999 of 3,000, one of 2 is refused), and advice that sends
   * the nurse to a note is not given when the notes are full too. */
  char needs[96] = "";
  if (adding > 1) snprintf(needs, sizeof needs, ", and this %s needs %u", this, adding);
  uint32_t notes = e->opts.max_notes_per_visit ? e->opts.max_notes_per_visit : VIGIL_MAX_NOTES_PER_VISIT;
  if (strcmp(setting, "max_notes_per_visit") != 0 && v->n_notes >= notes)
    advice = "Write it on paper (the visit's notes are full too: the site's max_notes_per_visit) and tell the site's "
             "administrator";
  return vigil__engine_fail(e, VIGIL_ESTATE, setting,
                            "visit %llu holds %llu %s and takes at most %u (the site's %s)%s: nothing of this %s was "
                            "recorded. %s",
                            (unsigned long long)v->id, (unsigned long long)held, things, limit, setting, needs, this,
                            advice);
}

int vigil__cmd_visit_record_at(vigil_engine *e, uint64_t id, const char *actor, int clinician, const vigil_input *in,
                               size_t n, int64_t observed_at) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  if (n == 0) return vigil__engine_fail(e, VIGIL_EINVAL, NULL, "nothing to record");
  if (observed_at >= 0) {
    int64_t now = vigil__engine_now(e);
    if (observed_at > now)
      return vigil__engine_fail(e, VIGIL_EVALUE, "observed_at",
                                "observed_at is in the future: an entry can be late, never early");
    if (observed_at < v->started_at)
      return vigil__engine_fail(e, VIGIL_EVALUE, "observed_at",
                                "observed_at is before the visit started: record it in the visit it belongs to");
    if (observed_at == now) observed_at = -1;
  }
  const protocol *p = v->p;
  const char *who = actor_of(actor);
  /* Group the inputs by item, keeping the order items were first named in. */
  int items[64];
  int n_items = 0;
  int which_small[16];
  vigil_input group_small[16];
  int *which = n <= 16 ? which_small : malloc(n * sizeof *which);
  if (!which) return VIGIL_ENOMEM;
  /* G5 (docs/safety.md): a signature of a phase the visit has left that a
   * change voided is signed again from here, on its own entry; its event
   * names the signature's phase. One a change requires since (AI1) is
   * recorded the same way. */
  int past = -1;
  int late_phase = -1;    /* K4: the phase the visit has left whose items this late entry records */
  char tb[512], tb2[512]; /* titles, {param} filled (G7) */
  char t1[16], t2[16];
  for (size_t i = 0; i < n && rc == 0; i++) {
    /* The fields of one item come one after another (a vitals' three): its
     * lookup is made once (issue 16). */
    int item = i > 0 && in[i].item && in[i - 1].item && !strcmp(in[i].item, in[i - 1].item)
                   ? which[i - 1]
                   : vigil__protocol_find_item(p, in[i].item, v->phase);
    if (item < 0)
      rc = vigil__engine_fail(e, VIGIL_ENOENT, in[i].item, "%s has no item '%s'", p->ref, in[i].item ? in[i].item : "");
    else if (p->items[item].phase < v->phase && p->items[item].kind == KIND_SIGNATURE &&
             (vigil__signature_void(v, item) || vigil__signature_owed(e, v, item))) {
      if (n > 1 || (past >= 0 && past != item))
        rc = vigil__engine_fail(e, VIGIL_EINVAL, in[i].item, "%s of phase %s is signed again on its own: send it alone",
                                vigil__visit_text(v, p->items[item].title, tb, sizeof tb),
                                p->phases[p->items[item].phase].id);
      past = item;
    } else if (p->items[item].phase < v->phase && p->items[item].kind != KIND_SIGNATURE && observed_at >= 0 &&
               phase_at_time(v, observed_at) == p->items[item].phase) {
      /* K4: a reading of a phase the visit has left, observed while it was
       * in it: a late entry of that phase, judged by its rules (G4). */
      if (late_phase >= 0 && late_phase != p->items[item].phase)
        rc = vigil__engine_fail(e, VIGIL_EINVAL, in[i].item, "one late entry records the items of one phase");
      late_phase = p->items[item].phase;
    } else if (p->items[item].phase < v->phase && p->items[item].kind != KIND_SIGNATURE) {
      int ph = p->items[item].phase;
      rc = vigil__engine_fail(
          e, VIGIL_ESTATE, in[i].item,
          "%s belongs to phase %s; the visit is in %s: a reading observed during %s (from %s to %s UTC) is recorded "
          "late with the time it was observed (observed_at)%s",
          in[i].item, p->phases[ph].id, p->phases[v->phase].id, p->phases[ph].id,
          hms(v->phase_start[ph], t1, sizeof t1), hms(v->phase_start[ph + 1], t2, sizeof t2),
          observed_at >= 0 ? "; this one's observed_at is outside that phase" : "");
    } else if (p->items[item].phase != v->phase)
      rc = vigil__engine_fail(
          e, VIGIL_ESTATE, in[i].item, "%s belongs to phase %s; the visit is in %s%s", in[i].item,
          p->phases[p->items[item].phase].id, p->phases[v->phase].id,
          p->items[item].kind == KIND_SIGNATURE && p->items[item].phase < v->phase
              ? " (a signature of a past phase is signed again only when a change voided it or requires it)"
              : "");
    which[i] = item;
    int known = 0;
    for (int k = 0; k < n_items; k++)
      known |= items[k] == item;
    if (rc == 0 && !known) {
      if (n_items == 64)
        rc = vigil__engine_fail(e, VIGIL_EINVAL, NULL, "too many items in one entry");
      else
        items[n_items++] = item;
    }
  }
  if (rc == 0) rc = visit_full(e, v, (uint32_t)n_items);
  /* K4: a late entry of a past phase records that phase's items alone; and
   * an entry of this phase observed before it started belongs to an earlier
   * one: refused, so that it never meets this phase's gate. */
  for (int k = 0; k < n_items && rc == 0 && late_phase >= 0; k++)
    if (p->items[items[k]].phase != late_phase)
      rc = vigil__engine_fail(e, VIGIL_EINVAL, p->items[items[k]].qid,
                              "a late entry of phase %s records that phase's items alone: send %s on its own",
                              p->phases[late_phase].id, p->items[items[k]].qid);
  if (rc == 0 && observed_at >= 0 && late_phase < 0 && past < 0 && observed_at < v->phase_at) {
    int ph = phase_at_time(v, observed_at);
    int there = ph >= 0 && n_items > 0 ? vigil__protocol_find_item(p, p->items[items[0]].id, ph) : -1;
    rc = vigil__engine_fail(e, VIGIL_EVALUE, "observed_at",
                            "observed_at %s UTC is before phase %s started (%s UTC): a reading of then belongs to "
                            "phase %s%s%s%s and never counts for this one",
                            hms(observed_at, t1, sizeof t1), p->phases[v->phase].id, hms(v->phase_at, t2, sizeof t2),
                            ph >= 0 ? p->phases[ph].id : "?",
                            there >= 0 && p->items[there].phase == ph ? " (record it as " : "",
                            there >= 0 && p->items[there].phase == ph ? p->items[there].qid : "",
                            there >= 0 && p->items[there].phase == ph ? ")" : "");
  }
  /* A signature confirms an entry already made, by someone else: not one
   * made in the same breath (the signer would confirm their own value). */
  for (int k = 0; k < n_items && rc == 0; k++) {
    const item_spec *it = &p->items[items[k]];
    for (int m = 0; it->kind == KIND_SIGNATURE && m < n_items && rc == 0; m++)
      if (items[m] == it->of_item) {
        const char *of = vigil__visit_text(v, p->items[it->of_item].title, tb2, sizeof tb2);
        rc = vigil__engine_fail(e, VIGIL_EVALUE, it->id,
                                "%s confirms %s already recorded: record %s first, then a second person signs",
                                vigil__visit_text(v, it->title, tb, sizeof tb), of, of);
      }
  }
  /* N7 (docs/safety.md): the dose is not recorded while a hold is open (an
   * amendment after the visit left the phase that holds: the suicide-risk
   * assessment voided and its alert raised again), not only the advance. */
  for (int k = 0; k < n_items && rc == 0 && past < 0 && late_phase < 0; k++) {
    char hold[2400];
    if (vigil__dose_hold(e, v, items[k], hold, sizeof hold))
      rc = vigil__engine_fail(e, VIGIL_ESTATE, p->items[items[k]].id, "%s", hold);
  }
  /* One order for every entry: the protocol's, whatever order they came in. */
  for (int k = 1; k < n_items; k++)
    for (int m = k; m > 0 && items[m - 1] > items[m]; m--) {
      int t = items[m];
      items[m] = items[m - 1];
      items[m - 1] = t;
    }
  val values = rc == 0 ? vigil__val_record((uint32_t)n_items) : VAL_NIL_;
  if (rc == 0 && !vigil__val_ok(values)) rc = VIGIL_ENOMEM;
  vigil_input *group = rc != 0 ? NULL : n <= 16 ? group_small : malloc(n * sizeof *group);
  if (rc == 0 && !group) rc = VIGIL_ENOMEM;
  for (int k = 0; k < n_items && rc == 0; k++) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (which[i] == items[k]) group[m++] = in[i];
    const item_spec *it = &p->items[items[k]];
    val_fields(values)[k].key = it->id;
    rc = vigil__entry_build_value(e, v, it, group, m, who, &val_fields(values)[k].v);
  }
  if (group != group_small) free(group);
  if (which != which_small) free(which);
  if (rc < 0) {
    vigil__val_release(values);
    return rc;
  }
  /* G1 (docs/safety.md): a recorded answer that holds (its rule's block is
   * set: a contraindication "yes"), or a clinician's signature that stands
   * (the suicide-risk assessment), is changed by an amendment with a reason,
   * in the history as one; a plain entry would replace it and lift its hold
   * unseen. Vitals and scheduled items are exempt: their repeated readings are
   * the point (the latest counts). A signature that is unsigned or void is
   * signed again by an entry (H3). */
  for (int k = 0; k < n_items && rc == 0; k++) {
    const item_spec *it = &p->items[items[k]];
    const reading *last = vigil__visit_latest(v, items[k]);
    if (!last || it->scheduled || it->kind == KIND_VITALS) continue;
    if (it->kind == KIND_SIGNATURE ? v->sigs[items[k]].attests.type == VAL_NIL || v->sigs[items[k]].void_reason
                                   : !vigil__item_amend_only(v, items[k]))
      continue;
    buf was, now;
    vigil__buf_init(&was);
    vigil__buf_init(&now);
    vigil__val_to_json(&was, last->v);
    vigil__val_to_json(&now, val_fields(values)[k].v);
    if (!was.p || !now.p)
      rc = VIGIL_ENOMEM;
    else if (strcmp(was.p, now.p))
      rc = vigil__engine_fail(e, VIGIL_ESTATE, it->id,
                              "%s is recorded already (%s): a changed value is an amendment with a reason "
                              "(POST /api/v1/visits/%llu/amend), not a new entry%s",
                              vigil__visit_text(v, it->title, tb, sizeof tb), was.p, (unsigned long long)v->id,
                              vigil__course_dose_item(v, items[k]) && v->items[items[k]].given_at
                                  ? "; the dose was given: only a clinician amends it to say it was not, with their "
                                    "password (P1)"
                                  : "");
    vigil__buf_free(&was);
    vigil__buf_free(&now);
  }
  if (rc < 0) {
    vigil__val_release(values);
    return rc;
  }
  if (rc == 0)
    rc = after_its_check(e, v, items, values, n_items, observed_at >= 0 ? observed_at : vigil__engine_now(e));
  if (rc < 0) {
    vigil__val_release(values);
    return rc;
  }
  /* AP1 (docs/safety.md): an entry that gives the dose carries no reading of
   * its phase. The dose hold above judged the visit before this entry: a
   * pre-start SpO2 of 85 typed with "Infusion started" ticked, in one
   * Record, went through unjudged. Recorded first, the reading's rules run
   * and hold the dose if they must. */
  for (int k = 0; k < n_items && rc == 0 && !vigil__dose_given_already(v); k++) {
    if (!vigil__course_dose_item(v, items[k]) || !vigil__val_says_given(val_fields(values)[k].v)) continue;
    for (int m = 0; m < n_items && rc == 0; m++) {
      const item_spec *o = &p->items[items[m]];
      if (o->phase != p->items[items[k]].phase || (o->kind != KIND_VITALS && !o->scheduled)) continue;
      const char *dose = vigil__visit_text(v, p->items[items[k]].title, tb, sizeof tb);
      rc = vigil__engine_fail(e, VIGIL_ESTATE, p->items[items[k]].id,
                              "%s and %s are in one entry: a reading before the dose may hold it, so record %s "
                              "first, then %s; nothing was recorded",
                              dose, vigil__visit_text(v, o->title, tb2, sizeof tb2), o->id, p->items[items[k]].id);
    }
  }
  if (rc < 0) {
    vigil__val_release(values);
    return rc;
  }
  /* P2 (docs/safety.md): the dose is not given within the minimum interval
   * of another visit's dose given since this one's first gate passed. */
  for (int k = 0; k < n_items && rc == 0; k++) {
    val x = val_fields(values)[k].v;
    char why[600];
    if (vigil__course_dose_item(v, items[k]) && !v->items[items[k]].given_at && vigil__val_says_given(x) &&
        vigil__course_dose_hold(e, v, why, sizeof why))
      rc = vigil__engine_fail(e, VIGIL_ESTATE, p->items[items[k]].id, "%s", why);
  }
  if (rc < 0) {
    vigil__val_release(values);
    return rc;
  }
  /* A signature records what it attests, as the signer sees it now. */
  int n_sigs = 0;
  for (int k = 0; k < n_items; k++)
    n_sigs += p->items[items[k]].kind == KIND_SIGNATURE;
  val attests = n_sigs ? vigil__val_record((uint32_t)n_sigs) : VAL_NIL_;
  if (n_sigs && !vigil__val_ok(attests)) rc = VIGIL_ENOMEM;
  for (int k = 0, m = 0; k < n_items && rc == 0; k++) {
    const item_spec *it = &p->items[items[k]];
    if (it->kind != KIND_SIGNATURE) continue;
    val_fields(attests)[m].key = it->id;
    rc = vigil__signature_attests(e, v, it, &val_fields(attests)[m++].v);
  }
  if (rc < 0) {
    vigil__val_release(values);
    vigil__val_release(attests);
    return rc;
  }
  /* phase, values, and attests (a signature), observed_at (a late entry) and
   * clinician (AW1: the server said a clinician made it) when there are. */
  val data = vigil__val_record(2 + (n_sigs > 0) + (observed_at >= 0) + (clinician != 0));
  if (!vigil__val_ok(data)) {
    vigil__val_release(values);
    vigil__val_release(attests);
    return VIGIL_ENOMEM;
  }
  uint32_t nf = 0;
  int phase = past >= 0 ? p->items[past].phase : late_phase >= 0 ? late_phase : v->phase;
  val_fields(data)[nf++] = (field){.key = K(phase), .v = val_atom(p->phases[phase].id)};
  val_fields(data)[nf++] = (field){.key = K(values), .v = values};
  if (n_sigs) val_fields(data)[nf++] = (field){.key = K(attests), .v = attests};
  if (observed_at >= 0) val_fields(data)[nf++] = (field){.key = K(observed_at), .v = val_num((double)observed_at)};
  if (clinician) val_fields(data)[nf++] = (field){.key = K(clinician), .v = val_bool(1)};
  vigil_event *ev = vigil__emit(e, v, EV_ITEM_RECORDED, who, data);
  if (!ev) return VIGIL_ENOMEM;
  vigil__signatures_review(e, v, who);
  for (int k = 0; k < n_items; k++)
    resolve_overdue(e, v, items[k]);
  /* A past phase's signature runs that phase's rules (the suicide-risk
   * assessment closes or keeps its carried alert, H4); a late entry's are
   * judged as of its time (G4). */
  uint32_t kept[64];
  if (observed_at >= 0) vigil__late_entry_begin(e, v, items, n_items, observed_at, ev->time, late_phase >= 0, kept);
  vigil__eval_rules_of(e, v, phase, items, n_items);
  if (observed_at >= 0) vigil__late_entry_end(e, v, items, n_items, kept);
  if (phase == v->phase) vigil__eval_scores(e, v, items, n_items);
  return vigil__engine_done(e, v);
}

int vigil__cmd_visit_record(vigil_engine *e, uint64_t id, const char *actor, const vigil_input *in, size_t n) {
  return vigil__cmd_visit_record_at(e, id, actor, 0, in, n, -1);
}

/* "2026-01-05T14:30:00Z" or "...00.000Z" (UTC, as the API writes times), or
 * milliseconds since the epoch: ms, or -1. */
static int64_t parse_time(const json_t *x) {
  if (json_is_integer(x)) return json_integer_value(x) >= 0 ? (int64_t)json_integer_value(x) : -1;
  const char *s = json_string_value(x);
  if (!s) return -1;
  struct tm tm = {0};
  int ms = 0, used = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
             &used) != 6)
    return -1;
  s += used;
  if (s[0] == '.' && s[1] >= '0' && s[1] <= '9') {
    int digits = 0;
    for (s++; *s >= '0' && *s <= '9'; s++, digits++)
      if (digits < 3) ms = ms * 10 + (*s - '0');
    for (; digits < 3; digits++)
      ms *= 10;
  }
  if (strcmp(s, "Z") || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm(&tm);
  return t < 0 ? -1 : (int64_t)t * 1000 + ms;
}

int vigil__cmd_values_inputs(vigil_engine *e, const json_t *values, vigil_input *in, size_t max, size_t *n,
                             int64_t *observed_at) {
  int rc = 0;
  json_t *j = (json_t *)values; /* read only: jansson's iteration is not const */
  if (!json_is_object(j))
    return vigil__engine_fail(e, VIGIL_EINVAL, "values", "an entry is a JSON object of item: value");
  *n = 0;
  const char *k;
  json_t *x;
  /* "observed_at": when a late entry was observed; not an item. */
  *observed_at = -1;
  json_t *obs = json_object_get(j, "observed_at");
  if (obs && (*observed_at = parse_time(obs)) < 0)
    rc = vigil__engine_fail(e, VIGIL_EVALUE, "observed_at",
                            "observed_at must be a time such as \"2026-01-05T14:30:00Z\" (UTC)");
  json_object_foreach(j, k, x) {
    if (rc < 0) break;
    if (!strcmp(k, "observed_at")) continue;
    if ((rc = vigil__entry_inputs_from_json(e, k, x, in, max, n)) < 0) break;
  }
  return rc;
}

static int item_of(vigil_engine *e, visit *v, const char *ref, int *rc) {
  int item = vigil__protocol_find_item(v->p, ref, v->phase);
  if (item < 0) *rc = vigil__engine_fail(e, VIGIL_ENOENT, "item", "%s has no item '%s'", v->p->ref, ref ? ref : "");
  return item;
}

/* G6 (docs/safety.md): an amendment never silently resolves a high alert.
 * Each that the amended value made its rule quiet is announced again as a
 * carried alert that follows it (active, high, escalating, holding the gate
 * as H12 says), saying the reading was amended, by whom and why: only a
 * clinician's acknowledgement with a reason closes it, as for a carried
 * alert an amendment of an earlier phase raises (F4). */
static void carry_amended_alerts(vigil_engine *e, visit *v, const item_spec *it, const uint64_t *ids, uint32_t n,
                                 const char *who, const char *reason) {
  for (uint32_t k = 0; k < n; k++) {
    alert *a = ids[k] <= e->n_alerts ? e->alerts[ids[k] - 1] : NULL;
    if (!a || !a->cleared || a->visit != v) continue;
    char msg[2600];
    /* Its message as raised, without what the resolution added (visit.c). */
    const char *cut = strstr(a->message, " [resolved by ");
    int len = cut ? (int)(cut - a->message) : (int)strlen(a->message);
    snprintf(msg, sizeof msg,
             "%.*s [the reading that raised it was amended since (%s, by %s: \"%s\"): it stays until a clinician "
             "acknowledges it with a reason]",
             len, a->message, it->title, who, reason);
    alert_more more = {.has_value = a->has_value,
                       .value = a->value,
                       .value_text = a->value_text,
                       .follows = a->id,
                       .phase = a->phase != v->phase ? v->p->phases[a->phase].id : NULL,
                       .carry = 1};
    vigil__raise_alert(e, v, SRC_RULE, a->rule, a->key, PRIORITY_HIGH, msg, 1, a->escalate_ms, -1, &more);
  }
}

int vigil__cmd_visit_amend_json(vigil_engine *e, uint64_t id, const char *actor, int clinician, const char *ref,
                                const char *value_json, const json_t *value_given, const char *reason) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  int item = item_of(e, v, ref, &rc);
  if (item < 0) return rc;
  const item_spec *it = &v->p->items[item];
  char tb[512]; /* the item's title, {param} filled (G7) */
  const char *title = vigil__visit_text(v, it->title, tb, sizeof tb);
  const reading *last = vigil__visit_latest(v, item);
  if (!last) return vigil__engine_fail(e, VIGIL_ESTATE, "item", "%s has no value to amend", title);
  if ((rc = vigil__reason_check(e, "reason", "an amendment", reason)) != 0) return rc;
  /* AQ7 (docs/security.md): amendments are bounded as readings are. */
  if ((rc = vigil__visit_full(e, v, "an amendment", "amendments", v->n_amendments, 1,
                              e->opts.max_amendments_per_visit ? e->opts.max_amendments_per_visit
                                                               : VIGIL_MAX_AMENDMENTS_PER_VISIT,
                              "max_amendments_per_visit",
                              "Write the correction in a note on the visit and tell the site's administrator")) != 0)
    return rc;
  /* The server's body is parsed already; value_json is parsed here. */
  json_t *j = value_given ? json_incref((json_t *)value_given) : vigil__entry_parse_json(e, value_json, "value", &rc);
  if (!j) return rc;
  vigil_input in[64];
  size_t n = 0;
  val value = VAL_NIL_;
  const char *who = actor_of(actor);
  if ((rc = vigil__entry_inputs_from_json(e, it->id, j, in, 64, &n)) == 0)
    rc = vigil__entry_build_value(e, v, it, in, n, last->actor, &value);
  json_decref(j);
  if (rc < 0) return rc;
  /* G6: what an alert the amendment resolves says: the change, by whom, why. */
  buf was, now, by;
  vigil__buf_init(&was);
  vigil__buf_init(&now);
  vigil__buf_init(&by);
  vigil__val_to_json(&was, last->v);
  vigil__val_to_json(&now, value);
  vigil__buf_printf(&by, "resolved by the amendment of %s from %s to %s (by %s: \"%s\"): shown until acknowledged",
                    title, was.p ? was.p : "?", now.p ? now.p : "?", who, reason);
  vigil__buf_free(&was);
  vigil__buf_free(&now);
  /* U6 (docs/safety.md): `clinician` only when the server said so. */
  val data = clinician ? vigil__val_recordv(5, K(item), val_atom(it->qid), K(value), value, K(previous),
                                            vigil__val_retain(last->v), K(reason), vigil__val_cstring(reason),
                                            K(clinician), val_bool(1))
                       : vigil__val_recordv(4, K(item), val_atom(it->qid), K(value), value, K(previous),
                                            vigil__val_retain(last->v), K(reason), vigil__val_cstring(reason));
  if (!vigil__emit(e, v, EV_ITEM_AMENDED, who, data)) {
    vigil__buf_free(&by);
    return VIGIL_ENOMEM;
  }
  vigil__signatures_review(e, v, who);
  /* G6: the high alerts open before the amendment, of the rules it runs,
   * when it corrects an observation of the patient (vitals, a number, a
   * choice, a check). A score restates observations: its amendment is how a
   * contradiction is put right (H12's Aldrete), and a signature's outcome is
   * an assessment, which closes what it assesses (H4). */
  uint64_t open_high[64];
  uint32_t n_open = 0;
  int observation = it->kind != KIND_SCORE && it->kind != KIND_SIGNATURE;
  for (uint32_t i = 0; observation && i < v->n_alerts && n_open < 64; i++) {
    const alert *a = v->alerts[i];
    if (a->prio == PRIORITY_HIGH && a->source == SRC_RULE && a->key && !a->cleared &&
        !vigil__alert_awaits_assessment(a) && a->phase == it->phase)
      open_high[n_open++] = a->id;
  }
  /* F4 (docs/safety.md, H4): an amendment runs the rules of the item's own
   * phase, also one the visit has left: what they raise or block applies now
   * (carried: that phase's rules run again only on its next amendment). */
  e->resolved_by = observation ? by.p : NULL;
  vigil__eval_rules_of(e, v, it->phase, &item, 1);
  e->resolved_by = NULL;
  vigil__buf_free(&by);
  carry_amended_alerts(e, v, it, open_high, n_open, who, reason);
  if (it->phase == v->phase) vigil__eval_scores(e, v, &item, 1);
  return vigil__engine_done(e, v);
}

int vigil__cmd_visit_skip(vigil_engine *e, uint64_t id, const char *actor, const char *ref, const char *reason) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  int item = item_of(e, v, ref, &rc);
  if (item < 0) return rc;
  const item_spec *it = &v->p->items[item];
  char tb[512]; /* the item's title, {param} filled (G7) */
  const char *title = vigil__visit_text(v, it->title, tb, sizeof tb);
  if (it->phase != v->phase)
    return vigil__engine_fail(e, VIGIL_ESTATE, "item", "%s is not in the visit's current phase", title);
  if ((rc = vigil__reason_check(e, "reason", "skipping an item", reason)) != 0) return rc;
  /* A signature is a second person's check (the dose double-check, the
   * suicide-risk assessment): no one skips it for them. Going on without it
   * is a clinician's gate override, with a reason and a password. Found by
   * an independent try: a nurse alone skipped both and discharged. */
  if (it->kind == KIND_SIGNATURE)
    return vigil__engine_fail(e, VIGIL_EVALUE, "item",
                              "%s is a signature: it cannot be skipped; a second person signs, or a clinician "
                              "overrides the gate with a reason",
                              title);
  /* H13 (docs/safety.md, F2): what the protocol says may not be skipped (a
   * screening answer that dosing rests on) is recorded, or the gate is a
   * clinician's to override; an answer already recorded is amended, never
   * turned into "not done" (its rule's hold stays with the answer). */
  if (!it->skippable)
    return vigil__engine_fail(e, VIGIL_EVALUE, "item",
                              "%s cannot be skipped: record it; going on without it is a clinician's gate "
                              "override with a reason",
                              title);
  /* P1 (docs/safety.md): the item that says the dose was given is recorded:
   * skipped, it met the gate with no dose on record and the session counted
   * for nothing in the minimum interval. A number's "not given" is 0 (the
   * pump's volume infused: AP2). */
  if (vigil__course_dose_item(v, item))
    return vigil__engine_fail(e, VIGIL_EVALUE, "item",
                              "%s says whether the dose was given: it cannot be skipped; record it (%s when it "
                              "was not given), or a clinician overrides the gate with a reason",
                              title, it->kind == KIND_NUMBER ? "0" : "false");
  if (!item_repeats(it) && v->items[item].n)
    return vigil__engine_fail(e, VIGIL_ESTATE, "item",
                              "%s is recorded already: amend it with a reason rather than skip it", title);
  val data;
  if (item_repeats(it)) {
    /* One occurrence, the one due now: the next ones are due as usual (a
     * checkpoint missed is not the end of monitoring). */
    int64_t occurrence = vigil__item_skip_occurrence(v, it, vigil__engine_now(e));
    if (occurrence < 0) return vigil__engine_fail(e, VIGIL_ESTATE, "item", "%s has no due time left to skip", title);
    data = vigil__val_recordv(3, K(item), val_atom(it->qid), K(occurrence), val_num((double)occurrence), K(reason),
                              vigil__val_cstring(reason));
  } else {
    if (v->items[item].skipped) return vigil__engine_fail(e, VIGIL_ESTATE, "item", "%s is skipped already", title);
    data = vigil__val_recordv(2, K(item), val_atom(it->qid), K(reason), vigil__val_cstring(reason));
  }
  if (!vigil__emit(e, v, EV_ITEM_SKIPPED, actor_of(actor), data)) return VIGIL_ENOMEM;
  resolve_overdue(e, v, item);
  return vigil__engine_done(e, v);
}

/* What belonged to the phase being left can no longer clear by itself (its
 * items cannot be recorded, its rules do not run again): its overdue, rule
 * and duration alerts resolve with it. Latching ones still show until
 * acknowledged, and nothing escalates in the next phase for the last one. */
static void resolve_phase_alerts(vigil_engine *e, visit *v) {
  const phase_spec *ph = &v->p->phases[v->phase];
  for (uint32_t i = 0; i < v->n_alerts; i++) {
    alert *a = v->alerts[i];
    /* A carried alert outlives its phase (H4); one a left phase's reading
     * raised resolves as the phase's own do (S2): an override named it. */
    if (!a->key || a->cleared || vigil__alert_awaits_assessment(a)) continue;
    if (a->left_reading) {
      vigil__resolve_alert(e, a);
      continue;
    }
    int mine = 0;
    if (a->source == SRC_OVERDUE)
      mine = a->item >= 0 && v->p->items[a->item].phase == v->phase;
    else if (a->source == SRC_PHASE)
      mine = a->rule == ph->id;
    else if ((a->source == SRC_RULE || a->source == SRC_TECHNICAL) && a->phase == v->phase)
      for (uint32_t r = 0; r < ph->n_rules && !mine; r++)
        mine = ph->rules[r].id == a->rule;
    if (mine) vigil__resolve_alert(e, a);
  }
}

static void leave_phase(vigil_engine *e, visit *v, const char *who) {
  const protocol *p = v->p;
  resolve_phase_alerts(e, v);
  if (v->phase + 1u >= p->n_phases) {
    vigil__emit(e, v, EV_VISIT_DISCHARGED, who, vigil__val_recordv(1, K(phase), val_atom(p->phases[v->phase].id)));
    vigil__course_session_end(e, v, 0);
    return;
  }
  vigil__emit(
      e, v, EV_PHASE_ENTERED, who,
      vigil__val_recordv(2, K(phase), val_atom(p->phases[v->phase + 1].id), K(from), val_atom(p->phases[v->phase].id)));
}

/* AT5 (docs/security.md): a refusal identical to the visit's last stored
 * gate.blocked (the same phase and reasons: an advance and a discharge from
 * the last phase are one command) within the window says nothing the log
 * does not: it is answered as ever and counted, not stored. Who tried again
 * is not kept (the access log has each request). */
static int repeated_refusal(vigil_engine *e, const visit *v, const char *phase, val reasons) {
  if (v->blocked.type != VAL_RECORD) return 0;
  int64_t window = e->opts.refusal_window_ms > 0 ? e->opts.refusal_window_ms : VIGIL_REFUSAL_WINDOW_MS;
  if (vigil__engine_now(e) - v->blocked_at >= window) return 0;
  const char *was = vigil__val_text_of(v->blocked, K(phase));
  const val *had = vigil__val_get(v->blocked, K(reasons));
  return was && !strcmp(was, phase) && had && vigil__val_same(*had, reasons);
}

int vigil__cmd_visit_advance(vigil_engine *e, uint64_t id, const char *actor) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  const char *who = actor_of(actor);
  val reasons;
  int n = vigil__gate_reasons(e, v, &reasons);
  if (n < 0) return VIGIL_ENOMEM;
  if (n == 0) {
    vigil__val_release(reasons);
    leave_phase(e, v, who);
    return vigil__engine_done(e, v);
  }
  buf b;
  vigil__buf_init(&b);
  for (uint32_t i = 0; i < val_len(reasons); i++)
    vigil__buf_printf(&b, "%s%s", i ? "; " : "", val_str(val_items(reasons)[i]));
  const phase_spec *ph = &v->p->phases[v->phase]; /* the protocol's: outlives v */
  char title[512];                                /* {param}: the visit's value (G7), taken while v is there */
  const char *ph_title = vigil__visit_text(v, ph->title, title, sizeof title);
  if (repeated_refusal(e, v, ph->id, reasons)) {
    v->blocked_repeats++;
    vigil__val_release(reasons);
  } else { /* with the ones not stored since the last, if any */
    uint32_t repeats = v->blocked_repeats;
    vigil__emit(e, v, EV_GATE_BLOCKED, who,
                vigil__val_recordv(repeats ? 3 : 2, K(phase), val_atom(ph->id), K(reasons), reasons, K(repeats),
                                   val_num((double)repeats)));
  }
  /* The refusal is the answer, whether or not its record could be stored.
   * (A failed commit folds v again: v must not be used after this.) */
  int stored = vigil__engine_done(e, v);
  char why[600] = "";
  if (stored < 0) snprintf(why, sizeof why, " (the refusal itself was not recorded: %s)", vigil_engine_errmsg(e));
  rc = vigil__engine_fail(e, VIGIL_EGATE, "gate", "%s: the gate is not met: %s%s", ph_title, b.p ? b.p : "", why);
  vigil__buf_free(&b);
  return rc;
}

int vigil__cmd_visit_override(vigil_engine *e, uint64_t id, const char *actor, const char *reason,
                              const char *const *holds, size_t n_holds, const char *const *items, size_t n_items,
                              int confirm_items) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  if ((rc = vigil__reason_check(e, "reason", "overriding a gate", reason)) != 0) return rc;
  /* Q5: each rule hold it passes is named (gate.c). */
  if ((rc = vigil__gate_override_holds(e, v, holds, n_holds)) != 0) return rc;
  /* V1: each required item it passes unrecorded, named when confirmed (the
   * server's route), and listed in the event whichever way: the visit keeps
   * them flagged for the rest of the visit (visit.c). */
  val passed;
  if ((rc = vigil__gate_override_items(e, v, items, n_items, confirm_items, &passed)) != 0) return rc;
  const char *who = actor_of(actor);
  val reasons;
  if (vigil__gate_reasons(e, v, &reasons) < 0) {
    vigil__val_release(passed);
    return VIGIL_ENOMEM;
  }
  int has_items = passed.type == VAL_LIST;
  val data = vigil__val_record(3 + !!n_holds + has_items);
  if (!vigil__val_ok(data)) {
    vigil__val_release(reasons);
    vigil__val_release(passed);
    return VIGIL_ENOMEM;
  }
  uint32_t nf = 0;
  field *f = val_fields(data);
  f[nf].key = K(phase), f[nf++].v = val_atom(v->p->phases[v->phase].id);
  f[nf].key = K(reason), f[nf++].v = vigil__val_cstring(reason);
  f[nf].key = K(reasons), f[nf++].v = reasons;
  if (n_holds) {
    val named = vigil__val_list((uint32_t)n_holds);
    for (size_t k = 0; vigil__val_ok(named) && k < n_holds; k++)
      val_items(named)[k] = vigil__val_cstring(holds[k]);
    f[nf].key = K(holds), f[nf++].v = named;
  }
  if (has_items) f[nf].key = K(items), f[nf++].v = passed;
  if (!vigil__val_whole(data)) {
    vigil__val_release(data);
    return VIGIL_ENOMEM;
  }
  vigil__emit(e, v, EV_GATE_OVERRIDDEN, who, data);
  leave_phase(e, v, who);
  return vigil__engine_done(e, v);
}

int vigil__cmd_visit_discharge(vigil_engine *e, uint64_t id, const char *actor) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  char t1[512], t2[512];
  if (v->phase + 1u < v->p->n_phases)
    return vigil__engine_fail(e, VIGIL_ESTATE, "phase", "the visit is in %s; discharge is from the last phase, %s",
                              vigil__visit_text(v, v->p->phases[v->phase].title, t1, sizeof t1),
                              vigil__visit_text(v, v->p->phases[v->p->n_phases - 1].title, t2, sizeof t2));
  return vigil__cmd_visit_advance(e, id, actor); /* within this command: counts once */
}

int vigil__cmd_visit_abort(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  int rc = 0;
  visit *v = active_visit(e, id, &rc);
  if (!v) return rc;
  if ((rc = vigil__reason_check(e, "reason", "aborting a visit", reason)) != 0) return rc;
  /* G3 (docs/safety.md): the active alerts the visit still has are named in
   * the abort; they escalate until acknowledged, the visit stays listed with
   * them, and the store folds it at start until the last is acknowledged. */
  uint32_t n_active = 0;
  for (uint32_t i = 0; i < v->n_alerts; i++)
    n_active += vigil__alert_is_active(v->alerts[i]);
  val alerts = n_active ? vigil__val_list(n_active) : VAL_NIL_;
  if (n_active && !vigil__val_ok(alerts)) return VIGIL_ENOMEM;
  for (uint32_t i = 0, k = 0; n_active && i < v->n_alerts; i++)
    if (vigil__alert_is_active(v->alerts[i])) val_items(alerts)[k++] = val_num((double)v->alerts[i]->id);
  val data = n_active ? vigil__val_recordv(2, K(reason), vigil__val_cstring(reason), K(alerts), alerts)
                      : vigil__val_recordv(1, K(reason), vigil__val_cstring(reason));
  if (!vigil__emit(e, v, EV_VISIT_ABORTED, actor_of(actor), data)) return VIGIL_ENOMEM;
  if (vigil__course_session_end(e, v, 1) < 0) return VIGIL_ENOMEM;
  return vigil__engine_done(e, v);
}

int vigil__cmd_alert_ack(vigil_engine *e, uint64_t id, const char *actor, const char *reason) {
  alert *a = id >= 1 && id <= e->n_alerts ? e->alerts[id - 1] : NULL;
  if (!a) return vigil__engine_fail(e, VIGIL_ENOENT, "alert", "no alert %llu", (unsigned long long)id);
  if (a->acked)
    return vigil__engine_fail(e, VIGIL_ESTATE, "alert", "alert %llu is acknowledged already", (unsigned long long)id);
  if (!vigil__alert_is_open(a))
    return vigil__engine_fail(e, VIGIL_ESTATE, "alert", "alert %llu is resolved", (unsigned long long)id);
  /* A carried alert stays until a clinician assesses it, and one raised
   * again often enough is a clinician's (AN11): acknowledging either needs a
   * reason; a reason given to any other says something too (M7). */
  int rc;
  if ((a->carry || a->clinician || (reason && *reason)) &&
      (rc = vigil__reason_check(e, "reason",
                                a->carry       ? "acknowledging an alert that stays until it is assessed"
                                : a->clinician ? "acknowledging an alert raised again while its cause holds"
                                               : "an acknowledgement given a reason",
                                reason)) != 0)
    return rc;
  /* An aborted visit is watched for its active alerts (G3): the event says
   * how many are left after this one, 0 ending the watch (the store's). */
  int left = -1;
  if (a->visit && a->visit->status == VISIT_ABORTED) {
    left = 0;
    for (uint32_t i = 0; i < a->visit->n_alerts; i++)
      left += a->visit->alerts[i] != a && vigil__alert_is_active(a->visit->alerts[i]);
  }
  int has_reason = reason && *reason;
  val data = vigil__val_record((uint32_t)(1 + has_reason + (left >= 0)));
  if (!vigil__val_ok(data)) return VIGIL_ENOMEM;
  uint32_t nf = 0;
  val_fields(data)[nf++] = (field){.key = K(alert), .v = val_num((double)id)};
  if (has_reason) val_fields(data)[nf++] = (field){.key = K(reason), .v = vigil__val_cstring(reason)};
  if (left >= 0) val_fields(data)[nf++] = (field){.key = K(alerts_left), .v = val_num((double)left)};
  vigil_event *ev = vigil__emit(e, a->visit, EV_ALERT_ACKNOWLEDGED, actor_of(actor), data);
  if (!ev) return VIGIL_ENOMEM;
  /* A course alert's acknowledgement is a site event its course folds. */
  if (!a->visit && vigil__course_apply(e, ev) < 0) return VIGIL_ENOMEM;
  /* A carried alert closes by a clinician's acknowledgement with a reason;
   * one a left phase's reading raised (S2, T1) stays acknowledged while that
   * reading stands (S2): an acknowledgement does not end its condition. A
   * carried course alert (non_response, AD2) stays acknowledged until a
   * response or the course's close (course.c). */
  if (a->visit && vigil__alert_awaits_assessment(a)) vigil__resolve_alert(e, a);
  return vigil__engine_done(e, a->visit);
}

int vigil_visit_open_high_alerts(vigil_engine *e, uint64_t id, char *text, size_t len) {
  visit *v = vigil__engine_visit(e, id);
  int n = 0;
  size_t used = 0;
  if (len) text[0] = '\0';
  for (uint32_t i = 0; v && i < v->n_alerts; i++) {
    const alert *a = v->alerts[i];
    if (a->prio != PRIORITY_HIGH || !vigil__alert_is_open(a)) continue;
    if (used < len)
      used += (size_t)snprintf(text + used, len - used, "%salert %llu: %s", n ? "; " : "", (unsigned long long)a->id,
                               a->message ? a->message : "");
    n++;
  }
  return n;
}

int vigil_alert_carried(vigil_engine *e, uint64_t id) {
  alert *a = id >= 1 && id <= e->n_alerts ? e->alerts[id - 1] : NULL;
  return a && a->carry;
}

int vigil_alert_for_clinician(vigil_engine *e, uint64_t id) {
  alert *a = id >= 1 && id <= e->n_alerts ? e->alerts[id - 1] : NULL;
  return a && a->clinician;
}

/* A site event's type and data from their names and JSON; 0, or a negative
 * code with a sentence in err. */
static int site_event_data(const char *type, const char *fields_json, int *t, val *data, char *err, size_t errlen) {
  *t = vigil__event_type_parse(type ? type : "");
  /* the site events, in event.h's order, and a hospital's patient records (docs/hl7.md) */
  if ((*t < EV_SESSION_STARTED || *t > EV_PROTOCOL_APPROVED) && *t != EV_PATIENT_RECORDED && *t != EV_PATIENT_MERGED) {
    snprintf(err, errlen, "'%s' is not a site event", type ? type : "");
    return VIGIL_EINVAL;
  }
  if (!fields_json) {
    *data = vigil__val_record(0);
    return vigil__val_ok(*data) ? 0 : VIGIL_ENOMEM;
  }
  json_t *j = json_loads(fields_json, JSON_REJECT_DUPLICATES, NULL);
  /* Out of memory converting them is VIGIL_ENOMEM, not the fields' fault. */
  int rc = json_is_object(j) ? vigil__val_from_json(j, data, err, errlen) : VIGIL_EINVAL;
  if (!json_is_object(j)) snprintf(err, errlen, "a site event's fields are a JSON object");
  json_decref(j);
  return rc < 0 ? rc : 0;
}

int vigil__cmd_site_event(vigil_engine *e, const char *type, const char *actor, const char *fields_json,
                          store_kv_write *writes) {
  char err[256];
  int t;
  val data;
  int rc = site_event_data(type, fields_json, &t, &data, err, sizeof err);
  if (rc < 0) {
    vigil__kv_writes_free(writes);
    return vigil__engine_fail(e, rc, "type", "%s", err);
  }
  vigil_event *ev = vigil__emit(e, NULL, (event_type)t, actor_of(actor), data);
  if (!ev) {
    vigil__kv_writes_free(writes);
    return VIGIL_ENOMEM;
  }
  ev->kv = writes; /* the store writes them in the event's transaction */
  /* A record arriving during an open visit (docs/safety.md L7). */
  if ((t == EV_PATIENT_RECORDED || t == EV_PATIENT_MERGED) && vigil__allergy_recorded(e, fields_json) < 0)
    return VIGIL_ENOMEM;
  return vigil__engine_done(e, NULL);
}

int vigil__store_site_event_writes(store *s, const char *type, const char *actor, const char *fields_json,
                                   int64_t time_ms, store_kv_write *writes, char *err, size_t errlen) {
  uint64_t last, visits, alerts;
  int unclean, t;
  vigil_event ev = {.time = time_ms, .actor = actor_of(actor)};
  if (s->keeps_events) { /* it numbers no events: its summary is always empty */
    vigil__kv_writes_free(writes);
    snprintf(err, errlen, "site events are appended to a database, not to the memory store");
    return VIGIL_EINVAL;
  }
  int rc = s->ops->summary(s, &last, &visits, &alerts, &unclean, err, errlen);
  if (rc == 0) rc = site_event_data(type, fields_json, &t, &ev.data, err, errlen);
  if (rc < 0) {
    vigil__kv_writes_free(writes);
    return rc;
  }
  ev.seq = last + 1;
  ev.type = (uint16_t)t;
  ev.kv = writes;
  vigil_event *one = &ev;
  rc = s->ops->append(s, &one, 1, err, errlen);
  vigil__event_clear(&ev);
  return rc;
}
