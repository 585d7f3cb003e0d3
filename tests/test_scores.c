/* test_scores.c: the scoring library (core/lang/lua/scores.lua) at every band
 * boundary of every scale, run inside a real protocol sandbox as protocol
 * code would call it (tests/scores/boundaries.lua holds the cases). */
#include <lauxlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lang/sandbox.h"
#include "vigil/vigil.h"

static void every_scale_at_every_boundary(void **state) {
  char err[1024];
  sandbox *sb = vigil__sandbox_open("tests/scores", NULL, 0, 0, 0, err, sizeof err);
  if (!sb) fail_msg("%s", err);
  sb->loading = 1;
  lua_State *L = sb->L;
  vigil__sandbox_push_env(sb);
  lua_getfield(L, -1, "require");
  lua_remove(L, -2);
  lua_pushstring(L, "boundaries");
  if (vigil__sandbox_call(sb, 1, 1, err, sizeof err) != LUA_OK) fail_msg("%s", err);
  lua_Integer checks = lua_tointeger(L, -1);
  lua_pop(L, 1);
  /* As many as the file holds: none skipped. */
  assert_true(checks > 250);
  vigil__sandbox_close(sb);
}

/* A protocol that never asks for the library does not load it. */
static void loaded_only_when_required(void **state) {
  char err[1024];
  sandbox *sb = vigil__sandbox_open("tests/scores", NULL, 0, 0, 0, err, sizeof err);
  assert_non_null(sb);
  size_t before = sb->used;
  sb->loading = 1;
  vigil__sandbox_push_env(sb);
  lua_getfield(sb->L, -1, "require");
  lua_remove(sb->L, -2);
  lua_pushstring(sb->L, "vigil.scores");
  assert_int_equal(vigil__sandbox_call(sb, 1, 1, err, sizeof err), LUA_OK);
  assert_true(lua_istable(sb->L, -1));
  lua_pop(sb->L, 1);
  assert_true(sb->used > before);
  vigil__sandbox_close(sb);
}

/* The field of visit JSON's item (phase, item, field), or fails. */
static json_t *field_of(json_t *visit, const char *phase, const char *item, const char *field) {
  size_t i, j, k;
  json_t *ph, *it, *f;
  json_array_foreach(json_object_get(visit, "phases"), i, ph) {
    if (strcmp(json_string_value(json_object_get(ph, "id")), phase)) continue;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (strcmp(json_string_value(json_object_get(it, "id")), item)) continue;
      json_array_foreach(json_object_get(it, "fields"), k, f) {
        if (!strcmp(json_string_value(json_object_get(f, "name")), field)) return f;
      }
    }
  }
  fail_msg("no field %s.%s.%s in the visit", phase, item, field);
  return NULL;
}

/* The bundled protocol's forms read as the paper ones: the Aldrete's items
 * in the form's order, each point with its meaning; the PHQ-9's questions in
 * their words; a value that is none of a field's points is refused. */
static void forms_say_what_points_mean(void **state) {
  vigil_options opts = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = 1700000000000};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&opts, &e), 0);
  if (vigil_engine_load(e, "protocols/ketamine_iv", NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  uint64_t id;
  if (vigil_visit_start(e, "ketamine_iv", "MRN-1", "nurse:ana", "{\"weight\": 70}", &id) < 0)
    fail_msg("%s", vigil_engine_errmsg(e));
  char *text = vigil_visit_json(e, id);
  json_t *v = json_loads(text, 0, NULL);
  vigil_free(text);
  assert_non_null(v);

  json_t *fields = json_object_get(field_of(v, "discharge", "aldrete", "activity"), "points");
  assert_int_equal(json_array_size(fields), 3);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(fields, 0), "value")), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 0), "label")), "moves 4 extremities");
  size_t i;
  json_t *ph, *it;
  json_array_foreach(json_object_get(v, "phases"), i, ph) {
    size_t j;
    json_array_foreach(json_object_get(ph, "items"), j, it) {
      if (strcmp(json_string_value(json_object_get(it, "id")), "aldrete")) continue;
      const char *order[] = {"activity", "respiration", "circulation", "consciousness", "spo2", "total"};
      for (size_t k = 0; k < 6; k++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(json_object_get(it, "fields"), k), "name")), order[k]);
    }
  }
  const char *q9 = json_string_value(json_object_get(field_of(v, "screening", "phq9", "q9"), "title"));
  assert_non_null(q9);
  assert_non_null(strstr(q9, "better off dead"));
  json_decref(v);

  assert_true(vigil_visit_record_json(e, id, "nurse:ana",
                                      "{\"phq9\": {\"q1\": 1.5, \"q2\": 0, \"q3\": 0, \"q4\": 0, \"q5\": 0, "
                                      "\"q6\": 0, \"q7\": 0, \"q8\": 0, \"q9\": 0}}") < 0);
  assert_string_equal(vigil_engine_errfield(e), "phq9.q1");
  assert_non_null(strstr(vigil_engine_errmsg(e), "is not one of its points (0, 1, 2, 3)"));
  vigil_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_scale_at_every_boundary),
      cmocka_unit_test(loaded_only_when_required),
      cmocka_unit_test(forms_say_what_points_mean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
