/* hazard_restart.h: stopping and starting again the `vigil serve` of an
 * alarm_serve.h test on the same database, with the simulated clock, as a
 * ward's server is restarted (G3, G11 in docs/safety.md). Header only. */
#ifndef VIGIL_HAZARDS_RESTART_H
#define VIGIL_HAZARDS_RESTART_H

#include "alarm_serve.h"

/* SIGTERM, then the same command line again; its sessions are stored and
 * outlive the restart. 0, or -1 with the log printed. */
static inline int alarm_restart(alarm_serve *a) {
  if (serve_stop(&a->s, 0) < 0) return -1;
  a->s.port = 0;
  return serve_start_args(&a->s, alarm_serve_args);
}

/* The engine's time (GET /api/v1/clock), ms; -1 when not answered. */
static inline long long alarm_now(alarm_serve *a) {
  json_t *r;
  if (alarm_call(a, NULL, "GET", "/api/v1/clock", NULL, &r) != 200 || !r) return -1;
  long long now = (long long)json_integer_value(json_object_get(r, "now_ms"));
  json_decref(r);
  return now;
}

/* The state of alert alert_id of the visit, "" when it has none such. */
static inline const char *alarm_state_of(alarm_serve *a, uint64_t id, uint64_t alert_id, char *out, size_t len) {
  json_t *alerts = alarm_alerts(a, id), *x;
  size_t i;
  out[0] = '\0';
  json_array_foreach(alerts, i, x) {
    if (alarm_id(x) == alert_id) snprintf(out, len, "%s", alarm_str(x, "state"));
  }
  json_decref(alerts);
  return out;
}

/* Whether GET path lists an entry whose "id" is id under key. */
static inline int alarm_lists(alarm_serve *a, const char *path, const char *key, uint64_t id) {
  json_t *r, *x;
  size_t i;
  int found = 0;
  if (alarm_call(a, NULL, "GET", path, NULL, &r) != 200 || !r) return 0;
  json_array_foreach(json_object_get(r, key), i, x) {
    if ((uint64_t)json_integer_value(json_object_get(x, "id")) == id) found = 1;
  }
  json_decref(r);
  return found;
}

/* The nurse discharges the visit (a signature: her password): the status,
 * the error's message in msg. */
static inline int alarm_discharge(alarm_serve *a, uint64_t id, char *msg, size_t len) {
  return alarm_cmd_msg(a, NULL, id, "discharge", "{\"password\": \"" SERVE_PASSWORD "\"}", msg, len);
}

/* The discharge is refused (409) with a reason saying want, or the test fails. */
static inline void alarm_held_saying(alarm_serve *a, uint64_t id, const char *want) {
  char msg[4096];
  int status = alarm_discharge(a, id, msg, sizeof msg);
  if (status != 409) fail_msg("the discharge was %d, not held: %s", status, msg);
  if (!strstr(msg, want)) fail_msg("the discharge's 409 does not say \"%s\": %s", want, msg);
}

/* The clinician acknowledges every alert of the visit not closed (a cleared
 * latched one waits for it: L2). */
static inline void alarm_clinician_acks_open(alarm_serve *a, uint64_t id) {
  json_t *alerts = alarm_alerts(a, id), *x;
  size_t i;
  json_array_foreach(alerts, i, x) {
    if (strcmp(alarm_str(x, "state"), "closed"))
      assert_int_equal(alarm_ack_as(a, ALARM_CLINICIAN, alarm_id(x), "{\"reason\": \"seen and assessed\"}"), 200);
  }
  json_decref(alerts);
}

/* The newest alert of rule is active, of this priority, and its message says
 * want; none at all fails saying none_said. */
static inline void alarm_expect_active(alarm_serve *a, uint64_t id, const char *rule, const char *priority,
                                       const char *want, const char *none_said) {
  json_t *x = alarm_latest(a, id, rule);
  if (!x) fail_msg("%s", none_said);
  assert_string_equal(alarm_str(x, "priority"), priority);
  assert_string_equal(alarm_str(x, "state"), "active");
  if (!strstr(alarm_str(x, "message"), want)) fail_msg("the alert says: %s", alarm_str(x, "message"));
  json_decref(x);
}

/* S2, T1: a ketamine_iv visit (70 kg) overridden to the observation, four
 * calm checkpoints 15 minutes apart, the advance to discharge a minute after
 * the last, Aldrete 10 and the checks recorded. The advance's time (ms). */
static inline long long alarm_ketamine_left_calm_observation(alarm_serve *a, uint64_t *id) {
  *id = alarm_visit(a, "ketamine_iv", "{\"weight\": 70}");
  assert_true(*id > 0);
  assert_int_equal(alarm_override(a, *id), 200); /* to the infusion */
  assert_int_equal(alarm_override(a, *id), 200); /* to the observation */
  for (int k = 1; k <= 4; k++) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, *id,
                                  "{\"vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 98, \"rr\": 14},"
                                  " \"moaas\": \"5\", \"dissociation\": \"none\"}"),
                     200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  long long advanced_at = alarm_now(a);
  assert_int_equal(alarm_cmd(a, NULL, *id, "advance", "{}"), 200);
  assert_int_equal(alarm_record(a, *id,
                                "{\"aldrete\": {\"activity\": 2, \"respiration\": 2, \"circulation\": 2, "
                                "\"consciousness\": 2, \"spo2\": 2}, \"responsible_adult\": true, "
                                "\"no_driving_advice\": true, \"written_instructions\": true}"),
                   200);
  return advanced_at;
}

/* S2, T6: alarm_ketamine_left_calm_observation, then, two minutes after the
 * advance, SpO2 84, RR 6 entered late as observed 30 s before it (its two
 * carried high alerts). The advance's time (ms). */
static inline long long alarm_ketamine_late_low(alarm_serve *a, uint64_t *id) {
  char body[512];
  long long advanced_at = alarm_ketamine_left_calm_observation(a, id);
  assert_int_equal(alarm_advance_clock(a, "2m"), 200);
  snprintf(body, sizeof body,
           "{\"observed_at\": %lld, \"observation.vitals\": {\"sbp\": 128, \"dbp\": 80, \"hr\": 72, \"spo2\": 84,"
           " \"rr\": 6}}",
           advanced_at - 30000);
  assert_int_equal(alarm_record(a, *id, body), 200);
  return advanced_at;
}

/* esketamine_rems: leaving's entries with every form answer "no", for
 * alarm_esketamine_left_calm_monitoring (U2, U3). */
#define ALARM_ESKETAMINE_LEAVING                                                                                       \
  "{\"bp_before_leaving\": {\"sbp\": 124, \"dbp\": 78, \"hr\": 68}, \"sedation_occurred\": \"no\","                    \
  " \"dissociation_occurred\": \"no\", \"respiratory_depression_occurred\": \"no\", \"ride_present\": true,"           \
  " \"no_driving_advice\": true}"

/* S2, T1: esketamine_rems visit id in monitoring: two hours of calm
 * checkpoints (the 40-minute BP at 45), the advance to leaving a minute
 * after the last. The advance's time (ms). */
static inline long long alarm_esketamine_calm_monitoring(alarm_serve *a, uint64_t id) {
  for (int m = 15; m <= 120; m += 15) {
    assert_int_equal(alarm_advance_clock(a, "15m"), 200);
    assert_int_equal(alarm_record(a, id,
                                  "{\"respiration\": {\"spo2\": 98, \"rr\": 14}, \"moaas\": \"5\","
                                  " \"dissociation\": \"none\"}"),
                     200);
    if (m == 45) assert_int_equal(alarm_record(a, id, "{\"bp_40m\": {\"sbp\": 132, \"dbp\": 82, \"hr\": 70}}"), 200);
  }
  assert_int_equal(alarm_advance_clock(a, "1m"), 200);
  long long advanced_at = alarm_now(a);
  assert_int_equal(alarm_cmd(a, NULL, id, "advance", "{}"), 200);
  return advanced_at;
}

/* The same, then the leaving entries (leaving, JSON) and the clinician's
 * leaving_acceptable (a clinician's entry: AL6). The advance's time (ms). */
static inline long long alarm_esketamine_left_calm_monitoring(alarm_serve *a, uint64_t id, const char *leaving) {
  long long advanced_at = alarm_esketamine_calm_monitoring(a, id);
  assert_int_equal(alarm_record(a, id, leaving), 200);
  assert_int_equal(alarm_cmd(a, ALARM_CLINICIAN, id, "entries", "{\"leaving_acceptable\": \"yes\"}"), 200);
  return advanced_at;
}

#endif
