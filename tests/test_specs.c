/* test_specs.c: protocol specs (core/spec.c) pass on the bundled protocol,
 * fail with the spec's file:line and the expected and actual timelines when
 * a threshold changes in a copy of it, and report a malformed spec where it
 * is wrong. Coverage sees the rules, items and lines the specs reached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "author/coverage.h"
#include "protocol_copy.h"
#include "author/spec.h"

#define BP_SPEC "protocols/ketamine_iv/specs/blood_pressure_spec.lua"

typedef struct results {
  int n, failed;
  char where[64][256], message[64][512], expected[64][512], actual[64][4096];
} results;

static void collect(void *ud, const spec_result *r) {
  results *rs = ud;
  rs->n++;
  if (r->ok || rs->failed >= 64) return;
  int i = rs->failed++;
  snprintf(rs->where[i], sizeof rs->where[i], "%s", r->where ? r->where : "");
  snprintf(rs->message[i], sizeof rs->message[i], "%s", r->message ? r->message : "");
  snprintf(rs->expected[i], sizeof rs->expected[i], "%s", r->expected ? r->expected : "");
  snprintf(rs->actual[i], sizeof rs->actual[i], "%s", r->actual ? r->actual : "");
}

/* The line of path that contains text (1-based), or 0. */
static int line_of(const char *path, const char *text) {
  char *s = protocol_copy_read(path);
  assert_non_null(s);
  int line = 1, found = 0;
  for (char *p = s; *p && !found; p++) {
    if (!strncmp(p, text, strlen(text))) found = line;
    if (*p == '\n') line++;
  }
  free(s);
  return found;
}

static void bundled_specs_pass(void **state) {
  const char *files[] = {"blood_pressure", "discharge", "gates",      "infusion_record",
                         "overdue",        "screening", "uneventful", "vitals"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char path[256], err[1024];
    snprintf(path, sizeof path, "protocols/ketamine_iv/specs/%s_spec.lua", files[i]);
    results *rs = calloc(1, sizeof *rs);
    int rc = vigil__spec_run_file("protocols/ketamine_iv", path, collect, rs, NULL, err, sizeof err);
    if (rc != 0) fail_msg("%s: %d failed; first: %s: %s", path, rc, rs->where[0], rs->message[0]);
    assert_true(rs->n > 5);
    free(rs);
  }
}

/* Code that keeps state between visits fails the spec run: a counter in a
 * local of the file is refused when the protocol loads (docs/security.md
 * AQ5), at the function that assigns it, naming the local; a table of a
 * required module, read-only since the protocol loaded (docs/security.md
 * AM5), at the line that writes to it, naming the local that keeps it. */
static void state_kept_between_visits_fails(void **state) {
  static const char *const cases[][4] = {
      {"tests/protocols/stateful", "protocol.lua", "readings = readings + 1", "'readings'"},
      {"tests/protocols/stateful_table", "lib.lua", "lib.seen[#lib.seen + 1] = hr", "'lib'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char spec[256], file[256], where[300], err[1024];
    snprintf(spec, sizeof spec, "tests/protocols/stateful/specs/twice_spec.lua"); /* the same visits for both */
    snprintf(file, sizeof file, "%s/%s", cases[i][0], cases[i][1]);
    results *rs = calloc(1, sizeof *rs);
    int rc = vigil__spec_run_file(cases[i][0], spec, collect, rs, NULL, err, sizeof err);
    /* The counter: the function's first line, the rule declared on the line
     * above the one that counts; its load is refused. The table: the line
     * that writes, in the spec run. */
    int line = line_of(file, cases[i][2]) - (i == 0 ? 1 : 0);
    snprintf(where, sizeof where, "%s:%d", file, line);
    const char *said = i == 0 ? err : rs->message[0];
    if (i == 0 ? rc != VIGIL_EPROTOCOL || !strstr(err, where) : rc != 1 || !strstr(rs->where[0], where))
      fail_msg("expected %s (%s), got %d: %s %s", where, i == 0 ? "refused at load" : "in the run", rc,
               i == 0 ? "" : rs->where[0], said);
    assert_non_null(strstr(said, cases[i][3]));
    assert_non_null(strstr(said, "next patient's visit"));
    free(rs);
  }
}

/* A clinic raises the marked-hypertension flag to 190 in its copy of the
 * protocol: the bundled spec of that rule must fail, at the expectation the
 * change breaks, saying what it expected and showing what happened. */
static void changed_threshold_fails_at_the_expectation(void **state) {
  char dir[64];
  const protocol_edit edit = {"protocol.lua", "title = \"Marked hypertension: systolic at or above\", default = 180,",
                              "title = \"Marked hypertension: systolic at or above\", default = 190,"};
  protocol_copy("protocols/ketamine_iv", dir, &edit, 1);

  results *rs = calloc(1, sizeof *rs);
  char err[1024];
  int rc = vigil__spec_run_file(dir, BP_SPEC, collect, rs, NULL, err, sizeof err);
  assert_true(rc > 0);
  assert_int_equal(rc, rs->failed);
  char want[256];
  snprintf(want, sizeof want, "%s:%d", BP_SPEC,
           line_of(BP_SPEC, "expect \"30m\" { alert = \"bp_high\", id = \"bp_high_unconfirmed\""));
  assert_string_equal(rs->where[0], want);
  assert_string_equal(rs->message[0],
                      "expected a medium alert from bp_high (id bp_high_unconfirmed) saying \"repeat the reading in 5 "
                      "minutes\" at 30m");
  assert_non_null(strstr(rs->expected[0], "30m  a medium alert from bp_high"));
  /* The actual timeline: the rise alert did come at 30m; the flag only at 34m, now at 190/110. */
  assert_non_null(strstr(rs->actual[0], "30m  alert.raised       medium alert from bp_rise"));
  assert_non_null(strstr(rs->actual[0], "34m  alert.raised       medium alert from bp_high (id bp_high_unconfirmed): "
                                        "BP 188/112 is at or above 190/110"));
  /* The protocol unchanged, the same spec passes. */
  results *ok = calloc(1, sizeof *ok);
  assert_int_equal(vigil__spec_run_file("protocols/ketamine_iv", BP_SPEC, collect, ok, NULL, err, sizeof err), 0);
  free(ok);
  free(rs);

  protocol_copy_remove(dir);
}

static void malformed_spec_points_at_the_line(void **state) {
  results *rs = calloc(1, sizeof *rs);
  char err[1024];
  const char *path = "tests/specs/malformed_spec.lua";
  assert_int_equal(vigil__spec_run_file("protocols/ketamine_iv", path, collect, rs, NULL, err, sizeof err), 2);
  char want[128];
  snprintf(want, sizeof want, "%s:%d", path, line_of(path, "expect \"0m\" { alrt"));
  assert_string_equal(rs->where[0], want);
  assert_non_null(strstr(rs->message[0], "unknown expectation 'alrt'"));
  snprintf(want, sizeof want, "%s:%d", path, line_of(path, "expect \"1m..2m\" { phase"));
  assert_string_equal(rs->where[1], want);
  assert_string_equal(rs->message[1], "phase is checked at one time, not over a window");
  memset(rs, 0, sizeof *rs);

  path = "tests/specs/refused_spec.lua";
  assert_int_equal(vigil__spec_run_file("protocols/ketamine_iv", path, collect, rs, NULL, err, sizeof err), 1);
  snprintf(want, sizeof want, "%s:%d", path, line_of(path, "at \"1m\" { advance = true }"));
  assert_string_equal(rs->where[0], want);
  assert_non_null(strstr(rs->message[0], "the step was refused: Screening before dosing: the gate is not met"));

  path = "tests/specs/syntax_error_spec.lua";
  memset(rs, 0, sizeof *rs);
  assert_int_equal(vigil__spec_run_file("protocols/ketamine_iv", path, collect, rs, NULL, err, sizeof err), 1);
  snprintf(want, sizeof want, "%s:%d", path, line_of(path, "  expect \"1m\""));
  assert_string_equal(rs->where[0], want);
  assert_non_null(strstr(rs->message[0], "'}' expected"));
  free(rs);

  /* A protocol that does not load is an error, not a failed check. */
  assert_true(vigil__spec_run_file("tests/protocols/broken/syntax_error", path, collect, NULL, NULL, err, sizeof err) <
              0);
  assert_non_null(strstr(err, "syntax_error/protocol.lua:"));
}

static void count_lines(void *ud, const char *line) {
  char **text = ud;
  size_t n = strlen(*text) + strlen(line) + 2;
  char *grown = realloc(*text, n);
  assert_non_null(grown);
  strcat(grown, line);
  strcat(grown, "\n");
  *text = grown;
}

static void coverage_names_what_no_spec_reached(void **state) {
  spec_coverage *cov = vigil__coverage_new();
  char err[1024];
  /* Only the uneventful visit: no rule fires, no branch of an alert is taken. */
  assert_int_equal(vigil__spec_run_file("protocols/ketamine_iv", "protocols/ketamine_iv/specs/uneventful_spec.lua",
                                        NULL, NULL, cov, err, sizeof err),
                   0);
  char *text = calloc(1, 1);
  int missed = vigil__coverage_report(cov, count_lines, &text);
  assert_true(missed > 10);
  char heading[128], ref[64];
  snprintf(heading, sizeof heading, "coverage of %s\n",
           protocol_copy_ref("protocols/ketamine_iv", NULL, ref, sizeof ref));
  assert_non_null(strstr(text, heading));
  assert_non_null(strstr(text, "rule infusion.bp_high (protocols/ketamine_iv/infusion.lua:"));
  assert_non_null(strstr(text, "protocols/ketamine_iv/lib.lua:"));
  /* The dose check ran (the dose was recorded) but never alerted. */
  assert_non_null(strstr(text, "rule screening.dose_calc (protocols/ketamine_iv/screening.lua:"));
  assert_non_null(strstr(text, "): ran, never returned an outcome"));
  free(text);

  /* Every spec together reach everything: every rule runs and returns an outcome, every item is
   * recorded, every line of rules, gates, hooks and helpers runs. */
  const char *files[] = {"blood_pressure", "course",     "discharge",     "gates",           "low_vitals",
                         "overdue",        "screening",  "vitals",        "repeat_reading",  "observation_vitals",
                         "vitals_now",     "dose_given", "infusion_time", "baseline_amended"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char path[256];
    snprintf(path, sizeof path, "protocols/ketamine_iv/specs/%s_spec.lua", files[i]);
    assert_int_equal(vigil__spec_run_file("protocols/ketamine_iv", path, NULL, NULL, cov, err, sizeof err), 0);
  }
  text = calloc(1, 1);
  vigil__coverage_report(cov, count_lines, &text);
  if (!strstr(text, "rules: 52 of 52 ran, 52 of them returned an alert, block or note\nitems: 30 of 30 recorded or "
                    "skipped\nlines: ") ||
      strstr(text, "never"))
    fail_msg("%s", text);
  free(text);
  vigil__coverage_free(cov);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bundled_specs_pass),
      cmocka_unit_test(state_kept_between_visits_fails),
      cmocka_unit_test(changed_threshold_fails_at_the_expectation),
      cmocka_unit_test(malformed_spec_points_at_the_line),
      cmocka_unit_test(coverage_names_what_no_spec_reached),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
