/* course.h: patients' courses (course.c). Private to core/engine/
 * (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_COURSE_H
#define VIGIL_CORE_ENGINE_COURSE_H

#include "model.h"

int vigil__cmd_course_start(vigil_engine *e, const char *ref, const char *patient, const char *actor, int new_patient,
                            uint64_t *course_id);
int vigil__cmd_course_close(vigil_engine *e, uint64_t id, const char *actor, const char *reason);
/* Applies one course.* event to the courses: 0, VIGIL_ENOMEM (e->oom set) or
 * VIGIL_ECORRUPT (an event that does not fit, logged). */
int vigil__course_apply(vigil_engine *e, const vigil_event *ev);
/* Folds every course from the store's course events and the first n_kept
 * pending events (at start, and after an undo dropped course events). */
int vigil__courses_fold(vigil_engine *e, size_t n_kept, char *err, size_t errlen);
void vigil__courses_free(vigil_engine *e);
/* A visit that just started joins its patient's open course on a protocol
 * that names its own, or starts one when its protocol declares a course. */
int vigil__course_join(vigil_engine *e, visit *v, const char *actor, const char *override_reason, uint64_t concurrent);
/* 1 with why when patient (interned) had a session that counts as a dose
 * within its course's minimum interval of now (M9), 0 otherwise. */
int vigil__course_recent_dose(vigil_engine *e, const char *patient, char *why, size_t len);
/* Before a visit of patient on p starts: 0, or fails (VIGIL_EEXIST naming
 * it) when the patient has a visit open on a protocol of the same course,
 * unless override_reason (a clinician's) is given; *concurrent: that visit. */
int vigil__course_check_start(vigil_engine *e, const protocol *p, const char *patient, const char *override_reason,
                              uint64_t *concurrent);
/* A session's visit was discharged (aborted: 0) or aborted (1): course.session_ended. */
int vigil__course_session_end(vigil_engine *e, visit *v, int aborted);
/* 1 when item is one of the items whose recording means the dose of visit v
 * was given (its protocol's course dose_given): never skipped (P1). */
int vigil__course_dose_item(const visit *v, int item);
/* 1 with why into text when recording visit v's dose now would dose its
 * patient within a minimum interval of another session's dose given after
 * v's first gate was passed (P2: two concurrent visits, both in the
 * infusion before either dosed). */
int vigil__course_dose_hold(vigil_engine *e, const visit *v, char *text, size_t len);
/* 1 with the reason in text when the course's minimum interval since its
 * last completed session holds visit v's first gate, else 0. */
int vigil__course_gate(vigil_engine *e, visit *v, char *text, size_t len);
/* Emits course.measured for each measure whose value in visit v changed. */
void vigil__course_sync(vigil_engine *e, visit *v);
/* Session i (0-based) of c in words, the one numbering every text that
 * names a session uses (docs/safety.md C7, C13): "session N" by its place
 * among the sessions that count, an aborted one "aborted visit N of the
 * course". */
void vigil__course_session_words(const course *c, uint32_t i, char *out, size_t len);
/* A time between two sessions in words that never read past the truth
 * (docs/safety.md AS6: 0.998 days said "1.00 days" beside a minimum
 * interval of "1 days"): under two days in hours and minutes, counted down
 * ("23 h 57 min"); else in days to two places, counted down ("2.99 days"). */
void vigil__course_span_words(int64_t ms, char *out, size_t len);
/* A minimum interval in words: "1 day", "3 days", else as a span. */
void vigil__course_interval_words(int64_t ms, char *out, size_t len);
/* The course visit id is a session of (and its 0-based number), or NULL. */
course *vigil__course_of_visit(const vigil_engine *e, uint64_t vid, uint32_t *session);
/* `,"course":{...}` of a visit's JSON (nothing when it is in none). */
void vigil__course_visit_field(vigil_engine *e, buf *b, const visit *v);
/* Pushes visit.course()'s table for the visit being evaluated (nil: none). */
int vigil__course_push_view(lua_State *L, vigil_engine *e, const visit *v);
/* Arms every course's deadline again (once the open visits are held). */
void vigil__courses_schedule(vigil_engine *e);
/* Handles every deadline of c due at engine time: 0, or VIGIL_ENOMEM with
 * its events undone (c is folded again: do not touch it). */
int vigil__course_tick(vigil_engine *e, course *c);
/* Records that visit vid's REMS Patient Monitoring Form was sent to the REMS
 * (course.rems_submitted): by whom (NULL: actor), when (0: now), how
 * (portal, fax, phone), the REMS's reference and, for a form sent with
 * fields missing, why (incomplete_reason; NULL: complete); closes its alert. */
int vigil__cmd_course_rems_submitted(vigil_engine *e, uint64_t vid, const char *actor, const char *by, int64_t at,
                                     const char *method, const char *reference, const char *incomplete_reason);
/* Records an integration psychotherapy session of course id
 * (course.integration): when it was held (0: now), who held it (NULL: actor),
 * a note. */
int vigil__cmd_course_integration(vigil_engine *e, uint64_t id, const char *actor, const char *by, int64_t at,
                                  const char *note);
int vigil__cmd_course_alert_close(vigil_engine *e, uint64_t alert, const char *actor, const char *reason,
                                  const char *why, int64_t due);

#endif
