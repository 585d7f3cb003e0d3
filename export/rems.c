/* rems.c: the data of the Spravato REMS Patient Monitoring Form for one
 * session, as JSON or as one CSV row.
 *
 * The form's questions (docs/clinical/esketamine-rems.md, "The Patient Monitoring
 * Form") are answered from the
 * items of the session's protocol named below: protocols/esketamine_rems
 * records all of them, and a clinic's own version of it keeps them by keeping
 * their ids. A visit of a protocol without them is refused with the list of
 * what is missing. Times of dosing and leaving come from the record: dosing is
 * when the devices were given (the tick's observed_at: a late tick typed at
 * 02:00 for devices given at 23:45 is 23:45, docs/safety.md AL4), "ready to
 * leave" is when the monitoring phase's gate let the patient go to the
 * discharge phase, and the monitoring lasted until the session ended. Every
 * reading counts at the time it was observed, as the protocol's gates read
 * it. docs/rems.md has the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "export/export.h"

/* The form's answers that are an item's latest value, and the item. */
static const struct answer {
  const char *field, *item;
} ANSWERS[] = {
    {"benzodiazepines", "predose.comed_benzodiazepine"},
    {"non_benzodiazepine_hypnotics", "predose.comed_hypnotic"},
    {"psychostimulants", "predose.comed_psychostimulant"},
    {"maois", "predose.comed_maoi"},
    {"dose", "dosing.dose"},
    {"lot_number", "dosing.lot_number"},
    {"vitals_acceptable_before_dosing", "predose.predose_acceptable"},
    {"vitals_acceptable_before_leaving", "discharge.leaving_acceptable"},
    {"sedation_occurred", "discharge.sedation_occurred"},
    {"dissociation_occurred", "discharge.dissociation_occurred"},
    {"respiratory_depression_occurred", "discharge.respiratory_depression_occurred"},
};

/* The form's three blood pressures, each a vitals item with sbp and dbp. The
 * one at 40 minutes is not that item's latest value but the reading nearest
 * 40 minutes after dosing at or after it (bp_at_40). */
static const struct answer PRESSURES[] = {
    {"bp_before_dosing", "predose.predose_vitals"},
    {"bp_at_40_minutes", "monitoring.bp_40m"},
    {"bp_before_leaving", "discharge.bp_before_leaving"},
};

/* The monitoring phase's blood pressures the 40-minute answer is chosen from,
 * and how long after dosing it is asked for. */
#define BP40_PHASE "monitoring"
static const char *const BP40_ITEMS[] = {"bp_40m", "bp"};
#define BP40_AFTER_MS (40 * 60000)

/* The check whose recording is the time of dosing, and the phase entered when
 * the patient was ready to leave. */
#define DOSED_ITEM "dosing.devices_administered"
#define LEAVING_PHASE "discharge"

/* CSV columns, in the form's order: a top-level field, or a blood pressure's
 * part (BP as "sbp/dbp"). */
static const char *const COLUMNS[] = {"visit",
                                      "patient",
                                      "protocol",
                                      "status",
                                      "session_date",
                                      "dosed_at",
                                      "benzodiazepines",
                                      "non_benzodiazepine_hypnotics",
                                      "psychostimulants",
                                      "maois",
                                      "dose",
                                      "lot_number",
                                      "vitals_acceptable_before_dosing",
                                      "bp_before_dosing",
                                      "bp_at_40_minutes",
                                      "bp_at_40_minutes_minutes_after_dosing",
                                      "bp_before_leaving",
                                      "vitals_acceptable_before_leaving",
                                      "ready_to_leave_minutes_after_dosing",
                                      "total_minutes_monitored",
                                      "sedation_occurred",
                                      "dissociation_occurred",
                                      "respiratory_depression_occurred",
                                      "form_due_by",
                                      "submitted",
                                      "submitted_at",
                                      "submitted_by",
                                      "submission_method",
                                      "submission_reference",
                                      "submission_incomplete_reason",
                                      "submission_recorded_at",
                                      "missing"};

/* Whole minutes from `from` to `to`, rounded to the nearest (a half up) for
 * either sign: C's division truncates toward zero, which made a reading 8
 * minutes before dosing -7 (docs/safety.md C3). */
static int64_t minutes_between(int64_t from, int64_t to) {
  int64_t x = to - from + 30000;
  return x >= 0 ? x / 60000 : -((-x + 59999) / 60000);
}

/* Whole minutes from dosing to `iso`, or JSON null when either is unknown. */
static json_t *minutes_after(int64_t dosed, const char *iso) {
  int64_t t = vigil__export_parse_time(iso);
  return dosed >= 0 && t >= 0 ? json_integer(minutes_between(dosed, t)) : json_null();
}

static void missing(json_t *list, const char *what) { json_array_append_new(list, json_string(what)); }

/* The form's "BP at 40 minutes" (docs/safety.md N6): of every blood pressure
 * of the monitoring phase (bp_40m and bp, amendments applied, each at the time
 * it was observed: a late entry's observed_at), the one observed first at or
 * after 40 minutes from dosing; NULL when there is none yet (or no dosing
 * time). The 40-minute item's latest value was taken before, whenever it was
 * observed: a reading recorded at minute 0 after an override was filed as the
 * 40-minute one. A new {sbp, dbp, at}. */
static json_t *bp_at_40(const visit_record *r, int64_t dosed) {
  if (dosed < 0) return NULL;
  json_t *readings = json_array(), *ev, *best = NULL;
  size_t i;
  json_array_foreach(r->events, i, ev) {
    const char *type = vigil__export_str(ev, "type");
    json_t *d = json_object_get(ev, "data");
    for (size_t k = 0; k < sizeof BP40_ITEMS / sizeof *BP40_ITEMS; k++) {
      if (!strcmp(type, "item.recorded") && !strcmp(vigil__export_str(d, "phase"), BP40_PHASE)) {
        json_t *v = json_object_get(json_object_get(d, "values"), BP40_ITEMS[k]);
        if (!json_is_object(v)) continue;
        json_t *at = json_object_get(d, "observed_at");
        int64_t t = json_is_integer(at) ? (int64_t)json_integer_value(at)
                                        : vigil__export_parse_time(vigil__export_str(ev, "time"));
        json_array_append_new(readings, json_pack("{s:s, s:O, s:I, s:b}", "item", BP40_ITEMS[k], "value", v, "t",
                                                  (json_int_t)t, "late", json_is_integer(at)));
      } else if (!strcmp(type, "item.amended")) {
        char qid[64];
        snprintf(qid, sizeof qid, "%s.%s", BP40_PHASE, BP40_ITEMS[k]);
        if (strcmp(vigil__export_str(d, "item"), qid) != 0 || !json_is_object(json_object_get(d, "value"))) continue;
        json_t *latest = vigil__export_latest_observed(readings, "item", BP40_ITEMS[k]);
        if (latest) json_object_set(latest, "value", json_object_get(d, "value"));
      }
    }
  }
  json_int_t best_t = 0;
  json_array_foreach(readings, i, ev) {
    json_int_t t = json_integer_value(json_object_get(ev, "t"));
    if (t < dosed + BP40_AFTER_MS || (best && t >= best_t)) continue;
    best = ev;
    best_t = t;
  }
  json_t *bp = NULL;
  if (best) {
    json_t *v = json_object_get(best, "value");
    buf at;
    vigil__buf_init(&at);
    vigil__buf_iso_time(&at, (int64_t)best_t);
    char *iso = vigil__buf_take(&at);
    bp = json_pack("{s:O, s:O, s:s}", "sbp", json_object_get(v, "sbp"), "dbp", json_object_get(v, "dbp"), "at",
                   iso ? iso : "");
    free(iso);
  }
  json_decref(readings);
  return bp;
}

/* Whether and when the form was sent to the REMS (course.rems_submitted,
 * POST /api/v1/visits/{id}/rems/submitted): form_due_by (the session's
 * deadline, null when its course declares no rems_form or it is not
 * discharged), submitted (true / false), submitted_at, submitted_by,
 * submission_method, submission_reference, submission_incomplete_reason
 * (why it was sent with fields missing; null when sent complete) and
 * submission_recorded_at (when the submission was recorded: `at` may be
 * earlier) (null until submitted). */
static json_t *or_null(json_t *x) { return x ? json_incref(x) : json_null(); }

static void submission(vigil_engine *e, uint64_t visit, json_t *f) {
  char *text = vigil_visit_rems_json(e, visit);
  json_t *x = text ? json_loads(text, 0, NULL) : NULL, *sent = json_object_get(x, "submitted");
  vigil_free(text);
  json_object_set_new(f, "form_due_by", or_null(json_object_get(x, "deadline")));
  json_object_set_new(f, "submitted", json_boolean(json_is_object(sent)));
  static const char *const PARTS[][2] = {{"submitted_at", "at"},
                                         {"submitted_by", "by"},
                                         {"submission_method", "method"},
                                         {"submission_reference", "reference"},
                                         {"submission_incomplete_reason", "incomplete_reason"},
                                         {"submission_recorded_at", "recorded_at"}};
  for (size_t i = 0; i < sizeof PARTS / sizeof *PARTS; i++)
    json_object_set_new(f, PARTS[i][0], or_null(json_object_get(sent, PARTS[i][1])));
  json_decref(x);
}

/* The form as a JSON object. */
static json_t *form(const visit_record *r, char *err, size_t errlen) {
  /* Does the protocol record what the form asks? */
  char absent[1024] = "";
  size_t used = 0;
  const char *needed[sizeof ANSWERS / sizeof *ANSWERS + sizeof PRESSURES / sizeof *PRESSURES + 1];
  size_t n = 0;
  for (size_t i = 0; i < sizeof ANSWERS / sizeof *ANSWERS; i++)
    needed[n++] = ANSWERS[i].item;
  for (size_t i = 0; i < sizeof PRESSURES / sizeof *PRESSURES; i++)
    needed[n++] = PRESSURES[i].item;
  needed[n++] = DOSED_ITEM;
  for (size_t i = 0; i < n; i++) {
    if (vigil__visit_record_item(r, needed[i])) continue;
    int w = snprintf(absent + used, sizeof absent - used, "%s%s", used ? ", " : "", needed[i]);
    if (w > 0 && (size_t)w < sizeof absent - used) used += (size_t)w;
  }
  if (used) {
    snprintf(err, errlen, "protocol %s does not record the REMS form's items (missing: %s)",
             vigil__export_str(r->visit, "protocol"), absent);
    return NULL;
  }

  json_t *f = json_pack("{s:s, s:O, s:O, s:O, s:O}", "form", "Spravato REMS Patient Monitoring Form", "visit",
                        json_object_get(r->visit, "id"), "patient", json_object_get(r->visit, "patient"), "protocol",
                        json_object_get(r->visit, "protocol"), "status", json_object_get(r->visit, "status"));
  json_t *gaps = json_array();
  char date[11];
  snprintf(date, sizeof date, "%s", vigil__export_str(r->visit, "started_at"));
  json_object_set_new(f, "session_date", json_string(date));

  /* When the devices were given, not when the tick was typed (AL4). */
  json_t *dosed_item = vigil__visit_record_item(r, DOSED_ITEM);
  const char *dosed_at =
      json_is_true(json_object_get(dosed_item, "value")) ? vigil__export_str(dosed_item, "observed_at") : "";
  int64_t dosed = *dosed_at ? vigil__export_parse_time(dosed_at) : -1;
  json_object_set_new(f, "dosed_at", *dosed_at ? json_string(dosed_at) : json_null());
  if (!*dosed_at) missing(gaps, "dosed_at");

  for (size_t i = 0; i < sizeof ANSWERS / sizeof *ANSWERS; i++) {
    json_t *v = json_object_get(vigil__visit_record_item(r, ANSWERS[i].item), "value");
    json_object_set_new(f, ANSWERS[i].field, v ? json_incref(v) : json_null());
    if (!v) missing(gaps, ANSWERS[i].field);
  }
  for (size_t i = 0; i < sizeof PRESSURES / sizeof *PRESSURES; i++) {
    json_t *item = vigil__visit_record_item(r, PRESSURES[i].item), *v = json_object_get(item, "value");
    if (!strcmp(PRESSURES[i].field, "bp_at_40_minutes")) {
      json_t *bp = bp_at_40(r, dosed);
      if (bp) json_object_set_new(bp, "minutes_after_dosing", minutes_after(dosed, vigil__export_str(bp, "at")));
      json_object_set_new(f, PRESSURES[i].field, bp ? bp : json_null());
      if (!bp) missing(gaps, PRESSURES[i].field);
      continue;
    }
    if (!v) {
      json_object_set_new(f, PRESSURES[i].field, json_null());
      missing(gaps, PRESSURES[i].field);
      continue;
    }
    const char *at = vigil__export_str(item, "observed_at");
    json_t *bp =
        json_pack("{s:O, s:O, s:s}", "sbp", json_object_get(v, "sbp"), "dbp", json_object_get(v, "dbp"), "at", at);
    json_object_set_new(bp, "minutes_after_dosing", minutes_after(dosed, at));
    json_object_set_new(f, PRESSURES[i].field, bp);
  }

  const char *ready = vigil__visit_record_event_time(r, "phase.entered", "phase", LEAVING_PHASE);
  json_object_set_new(f, "ready_to_leave_minutes_after_dosing", ready ? minutes_after(dosed, ready) : json_null());
  if (!ready) missing(gaps, "ready_to_leave_minutes_after_dosing");
  const char *ended = vigil__export_str(r->visit, "ended_at");
  json_object_set_new(f, "total_minutes_monitored", *ended ? minutes_after(dosed, ended) : json_null());
  if (!*ended) missing(gaps, "total_minutes_monitored");

  /* What the form still needs, so that nobody files it half-done unknowingly. */
  json_object_set_new(f, "missing", gaps);
  return f;
}

/* A column's text: numbers and strings as they are, a BP as "sbp/dbp", null
 * and absent as empty, the missing list joined with "; ". */
static void column_text(json_t *f, const char *column, buf *row) {
  static const char suffix[] = "_minutes_after_dosing";
  size_t n = strlen(column), s = sizeof suffix - 1;
  json_t *v;
  if (n > s && !strcmp(column + n - s, suffix) && strncmp(column, "bp_", 3) == 0) {
    char field[64];
    snprintf(field, sizeof field, "%.*s", (int)(n - s), column);
    v = json_object_get(json_object_get(f, field), "minutes_after_dosing");
  } else {
    v = json_object_get(f, column);
  }
  char text[1024] = "";
  if (json_is_string(v)) {
    snprintf(text, sizeof text, "%s", json_string_value(v));
  } else if (json_is_integer(v)) {
    snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
  } else if (json_is_number(v)) {
    snprintf(text, sizeof text, "%g", json_number_value(v));
  } else if (json_is_object(v)) {
    snprintf(text, sizeof text, "%g/%g", json_number_value(json_object_get(v, "sbp")),
             json_number_value(json_object_get(v, "dbp")));
  } else if (json_is_boolean(v)) {
    snprintf(text, sizeof text, "%s", json_is_true(v) ? "yes" : "no");
  } else if (json_is_array(v)) {
    size_t i, used = 0;
    json_t *x;
    json_array_foreach(v, i, x) {
      int w = snprintf(text + used, sizeof text - used, "%s%s", i ? "; " : "", json_string_value(x));
      if (w < 0 || (size_t)w >= sizeof text - used) break;
      used += (size_t)w;
    }
  }
  vigil__buf_csv_field(row, text, strlen(text));
}

int vigil__export_rems(vigil_engine *e, uint64_t visit, int csv, char **out, char *err, size_t errlen) {
  *out = NULL;
  visit_record r;
  int rc = vigil__visit_record_load(e, visit, &r, err, errlen);
  if (rc < 0) return rc;
  json_t *f = form(&r, err, errlen);
  vigil__visit_record_free(&r);
  if (!f) return VIGIL_EPROTOCOL;
  /* Before "missing", which stays last. */
  json_t *gaps = json_incref(json_object_get(f, "missing"));
  json_object_del(f, "missing");
  submission(e, visit, f);
  json_object_set_new(f, "missing", gaps);
  if (!csv) {
    *out = json_dumps(f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  } else {
    buf c;
    vigil__buf_init(&c);
    size_t n = sizeof COLUMNS / sizeof *COLUMNS;
    for (size_t i = 0; i < n; i++) {
      vigil__buf_csv_field(&c, COLUMNS[i], strlen(COLUMNS[i]));
      vigil__buf_puts(&c, i + 1 < n ? "," : "\r\n");
    }
    for (size_t i = 0; i < n; i++) {
      column_text(f, COLUMNS[i], &c);
      vigil__buf_puts(&c, i + 1 < n ? "," : "\r\n");
    }
    *out = vigil__buf_take(&c);
  }
  json_decref(f);
  if (!*out) {
    snprintf(err, errlen, "out of memory");
    return VIGIL_ENOMEM;
  }
  return 0;
}
