/* test_scores.c: the scoring library (core/lua/scores.lua) at every band
 * boundary of every scale, run inside a real protocol sandbox as protocol
 * code would call it (tests/scores/boundaries.lua holds the cases). */
#include <lauxlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "sandbox.h"

static void every_scale_at_every_boundary(void **state) {
  char err[1024];
  sandbox *sb = sandbox_open("tests/scores", NULL, 0, 0, 0, err, sizeof err);
  if (!sb) fail_msg("%s", err);
  sb->loading = 1;
  lua_State *L = sb->L;
  sandbox_push_env(sb);
  lua_getfield(L, -1, "require");
  lua_remove(L, -2);
  lua_pushstring(L, "boundaries");
  if (sandbox_call(sb, 1, 1, err, sizeof err) != LUA_OK) fail_msg("%s", err);
  lua_Integer checks = lua_tointeger(L, -1);
  lua_pop(L, 1);
  /* As many as the file holds: none skipped. */
  assert_true(checks > 250);
  sandbox_close(sb);
}

/* A protocol that never asks for the library does not load it. */
static void loaded_only_when_required(void **state) {
  char err[1024];
  sandbox *sb = sandbox_open("tests/scores", NULL, 0, 0, 0, err, sizeof err);
  assert_non_null(sb);
  size_t before = sb->used;
  sb->loading = 1;
  sandbox_push_env(sb);
  lua_getfield(sb->L, -1, "require");
  lua_remove(sb->L, -2);
  lua_pushstring(sb->L, "vigil.scores");
  assert_int_equal(sandbox_call(sb, 1, 1, err, sizeof err), LUA_OK);
  assert_true(lua_istable(sb->L, -1));
  lua_pop(sb->L, 1);
  assert_true(sb->used > before);
  sandbox_close(sb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_scale_at_every_boundary),
      cmocka_unit_test(loaded_only_when_required),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
