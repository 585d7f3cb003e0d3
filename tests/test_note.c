/* test_note.c: a nursing note on a visit (vigil_visit_note, note.written):
 * taken on an active visit and, as an addendum, on a discharged or aborted
 * one, attributed to its writer with its text as written (line breaks
 * kept); refused when blank, too long, holding control characters, or for
 * no visit, recording nothing; durable in the SQLite log across a restart. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/vigil.h"

#define T0 1767600000000LL

static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'noted' { version = '1.0.0', phases = {\n"
                              "  v.phase 'one' { items = { v.check 'done' { title = 'Done' } } } } }\n";

typedef struct fixture {
  char dir[64], db[96];
  vigil_engine *e;
} fixture;

static vigil_engine *open_engine(fixture *f) {
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = T0, .db_path = f->db};
  vigil_engine *e = NULL;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  if (vigil_engine_load(e, f->dir, NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  return e;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/vigil-note-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  char path[128];
  snprintf(path, sizeof path, "%s/protocol.lua", f->dir);
  FILE *p = fopen(path, "w");
  fputs(PROTOCOL, p);
  fclose(p);
  snprintf(f->db, sizeof f->db, "%s/vigil.db", f->dir);
  f->e = open_engine(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  vigil_engine_free(f->e);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

/* The note.written events of visit, as stored (a new reference). */
static json_t *notes(vigil_engine *e, uint64_t visit) {
  char *text = vigil_query_events_json(e, 0, visit, 1000);
  assert_non_null(text);
  json_t *j = json_loads(text, 0, NULL), *out = json_array(), *ev;
  vigil_free(text);
  size_t i;
  json_array_foreach(json_object_get(j, "events"), i, ev) {
    if (!strcmp(json_string_value(json_object_get(ev, "type")), "note.written")) json_array_append(out, ev);
  }
  json_decref(j);
  return out;
}

static const char *note_text(json_t *ev) {
  return json_string_value(json_object_get(json_object_get(ev, "data"), "note"));
}

static void a_note_is_recorded_at_any_time_and_kept(void **state) {
  fixture *f = *state;
  uint64_t v = 0;
  assert_int_equal(vigil_visit_start(f->e, "noted", "P-1", "nurse:ana", NULL, &v), 0);
  assert_int_equal(vigil_visit_note(f->e, v, "nurse:ana", "Anxious before cannulation;\nreassured, music offered."), 0);
  assert_int_equal(vigil_visit_record_json(f->e, v, "nurse:ana", "{\"done\": true}"), 0);
  assert_int_equal(vigil_visit_discharge(f->e, v, "nurse:ana"), 0);
  /* An addendum after the discharge. */
  assert_int_equal(vigil_visit_note(f->e, v, "nurse:ben", "Phoned at 18:00: home safely."), 0);
  uint64_t w = 0;
  assert_int_equal(vigil_visit_start(f->e, "noted", "P-2", "nurse:ana", NULL, &w), 0);
  assert_int_equal(vigil_visit_abort(f->e, w, "dr:lee", "patient unwell before the dose"), 0);
  assert_int_equal(vigil_visit_note(f->e, w, "nurse:ana", "Transferred to the ED by ambulance."), 0);

  vigil_engine_free(f->e);
  f->e = open_engine(f);
  json_t *n = notes(f->e, v);
  assert_int_equal(json_array_size(n), 2);
  assert_string_equal(note_text(json_array_get(n, 0)), "Anxious before cannulation;\nreassured, music offered.");
  assert_string_equal(json_string_value(json_object_get(json_array_get(n, 0), "actor")), "nurse:ana");
  assert_string_equal(note_text(json_array_get(n, 1)), "Phoned at 18:00: home safely.");
  assert_string_equal(json_string_value(json_object_get(json_array_get(n, 1), "actor")), "nurse:ben");
  json_decref(n);
  n = notes(f->e, w);
  assert_int_equal(json_array_size(n), 1);
  json_decref(n);
}

static void a_note_that_says_nothing_is_refused(void **state) {
  fixture *f = *state;
  uint64_t v = 0;
  assert_int_equal(vigil_visit_start(f->e, "noted", "P-3", "nurse:ana", NULL, &v), 0);
  char *long_note = malloc(2002);
  memset(long_note, 'a', 2001);
  long_note[2001] = '\0';
  const char *bad[] = {"", "  \n\t ", "bell\a", long_note, NULL};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(vigil_visit_note(f->e, v, "nurse:ana", bad[i]), VIGIL_EINVAL);
    assert_string_equal(vigil_engine_errfield(f->e), "note");
  }
  free(long_note);
  assert_int_equal(vigil_visit_note(f->e, 99, "nurse:ana", "no such visit"), VIGIL_ENOENT);
  /* 2000 characters, some of them not ASCII, are taken. */
  char ok[2 * 2000 + 1] = "";
  for (int i = 0; i < 2000; i++)
    strcat(ok, i % 2 ? "\xc3\xa9" : "e");
  assert_int_equal(vigil_visit_note(f->e, v, "nurse:ana", ok), 0);
  json_t *n = notes(f->e, v);
  assert_int_equal(json_array_size(n), 1);
  json_decref(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(a_note_is_recorded_at_any_time_and_kept, setup, teardown),
      cmocka_unit_test_setup_teardown(a_note_that_says_nothing_is_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
