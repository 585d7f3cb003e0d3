/* test_meta.c: the LuaCATS annotations in protocols/_meta/ stay complete:
 * every function and field of the protocol language (`require "vigil"`), of
 * the visit view and of the scoring library (`require "vigil.scores"`), as
 * the engine really builds them, is annotated, and every file parses. */
#include <lauxlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/inspect.h"
#include "protocol_copy.h"

/* Every key of the table on top of L is annotated in text as
 * "function <prefix>.<key>(" or "---@field <key> ". Pops the table. */
static void all_annotated(lua_State *L, const char *text, const char *prefix, const char *file) {
  int n = 0;
  lua_getglobal(L, "pairs");
  lua_insert(L, -2);
  lua_call(L, 1, 3); /* next, t, nil: through __pairs of read-only views */
  for (;;) {
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) {
      lua_pop(L, 2);
      break;
    }
    const char *k = lua_tostring(L, -2);
    char fn[256], annotated[256];
    snprintf(fn, sizeof fn, "function %s.%s(", prefix, k);
    snprintf(annotated, sizeof annotated, "---@field %s ", k);
    if (!strstr(text, fn) && !strstr(text, annotated))
      fail_msg("%s: '%s' (%s.%s) is not annotated", file, k, prefix, k);
    n++;
    lua_pop(L, 1);
    lua_replace(L, -2); /* the key becomes the control variable */
  }
  lua_pop(L, 3);
  assert_true(n > 3);
}

static void annotations_are_complete(void **state) {
  const char *files[] = {"protocols/_meta/vigil.lua", "protocols/_meta/vigil.scores.lua", "protocols/_meta/spec.lua"};
  lua_State *plain = luaL_newstate();
  for (size_t i = 0; i < 3; i++)
    if (luaL_loadfilex(plain, files[i], "t") != LUA_OK) fail_msg("%s", lua_tostring(plain, -1));
  lua_close(plain);

  /* The protocol as an engine runs it: the visit view exists once loaded there. */
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(NULL, &e), 0);
  if (vigil_engine_load(e, "protocols/ketamine_iv", NULL) < 0) fail_msg("%s", vigil_engine_errmsg(e));
  protocol *p = vigil__engine_find_protocol(e, "ketamine_iv");
  assert_non_null(p);
  lua_State *L = p->sb->L;
  char *vigil = protocol_copy_read(files[0]), *scores = protocol_copy_read(files[1]);

  vigil__sandbox_push_env(p->sb);
  lua_getfield(L, -1, "require");
  lua_pushstring(L, "vigil");
  lua_call(L, 1, 1);
  all_annotated(L, vigil, "vigil", files[0]);
  lua_getfield(L, -1, "require");
  lua_pushstring(L, "vigil.scores");
  lua_call(L, 1, 1);
  all_annotated(L, scores, "scores", files[1]);
  lua_pop(L, 1);

  lua_rawgeti(L, LUA_REGISTRYINDEX, p->view_ref);
  all_annotated(L, vigil, "Visit", files[0]);

  /* And the alert constructors. */
  assert_non_null(strstr(vigil, "function Alerts.high("));
  free(vigil);
  free(scores);
  vigil_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(annotations_are_complete)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
