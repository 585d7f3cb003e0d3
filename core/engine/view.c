/* view.c: `visit`, the read-only view of one visit that rules, gates and
 * hooks receive.
 *
 * One table per protocol state, made once: its functions read whichever
 * visit the engine is evaluating (engine->cur), so a call allocates nothing
 * for the view itself and no visit can see another's data. */
#include <lauxlib.h>
#include <string.h>

#include "view.h"
#include "model.h"
#include "clock.h"
#include "course.h"
#include "late_entry.h"
#include "signature.h"
#include "visit.h"
#include "base/intern.h"
#include "lang/value_convert.h"

static vigil_engine *engine_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* The time rules see: the engine's, or a late reading's while the rules
 * judge it as of then (G4 in docs/safety.md). */
static int64_t view_now(const vigil_engine *e) { return e->view_now ? e->view_now : vigil__engine_now(e); }

static visit *current(lua_State *L) {
  visit *v = engine_of(L)->cur;
  if (!v) luaL_error(L, "the visit view is used outside a call");
  return v;
}

static int item_arg(lua_State *L, visit *v, int idx) {
  const char *ref = luaL_checkstring(L, idx);
  uint16_t ph1 = engine_of(L)->view_phase1; /* a rule of a phase the visit has left: its references are that phase's */
  int item = vigil__protocol_find_item(v->p, ref, ph1 ? ph1 - 1 : v->phase);
  if (item < 0) luaL_error(L, "unknown item '%s'", ref);
  return item;
}

static int l_value(lua_State *L) {
  visit *v = current(L);
  int item = item_arg(L, v, 1);
  const reading *r = vigil__signature_void(v, item) ? NULL : vigil__visit_latest(v, item); /* a void signature: none */
  if (r)
    vigil__val_push_lua(L, r->v);
  else
    lua_pushnil(L);
  return 1;
}

static int l_first(lua_State *L) {
  visit *v = current(L);
  const item_state *s = &v->items[item_arg(L, v, 1)];
  if (s->n)
    vigil__val_push_lua(L, s->r[0].v);
  else
    lua_pushnil(L);
  return 1;
}

static int l_last(lua_State *L) {
  visit *v = current(L);
  const item_state *s = &v->items[item_arg(L, v, 1)];
  lua_Integer n = luaL_optinteger(L, 2, 1);
  if (n < 0) n = 0;
  if ((uint32_t)n > s->n) n = s->n;
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    vigil__val_push_lua(L, s->r[s->n - 1 - i].v);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int l_count(lua_State *L) {
  visit *v = current(L);
  lua_pushinteger(L, v->items[item_arg(L, v, 1)].n);
  return 1;
}

static int l_done(lua_State *L) {
  visit *v = current(L);
  const item_state *s = &v->items[item_arg(L, v, 1)];
  lua_Integer need = 1;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "count");
    need = luaL_optinteger(L, -1, 1);
    lua_pop(L, 1);
  }
  lua_pushboolean(L, (lua_Integer)s->n >= need && !vigil__signature_void(v, (int)(s - v->items)));
  return 1;
}

static int l_skipped(lua_State *L) {
  visit *v = current(L);
  const item_state *s = &v->items[item_arg(L, v, 1)];
  if (s->skipped)
    lua_pushstring(L, s->skipped);
  else
    lua_pushnil(L);
  return 1;
}

/* held(ref, predicate, "5m"): the predicate held on every reading of the
 * unbroken run that ends with the latest one, and that run began at least
 * the duration ago. */
static int l_held(lua_State *L) {
  visit *v = current(L);
  const item_state *s = &v->items[item_arg(L, v, 1)];
  luaL_checktype(L, 2, LUA_TFUNCTION);
  const char *d = luaL_checkstring(L, 3);
  /* lang.parse_duration, upvalue 2 */
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushstring(L, d);
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) return luaL_error(L, "%s", lua_tostring(L, -1));
  int64_t need = (int64_t)lua_tointeger(L, -2);
  lua_pop(L, 2);
  int64_t since = -1;
  for (uint32_t i = s->n; i-- > 0;) {
    lua_pushvalue(L, 2);
    vigil__val_push_lua(L, s->r[i].v);
    lua_call(L, 1, 1);
    int ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!ok) break;
    since = s->r[i].at;
  }
  lua_pushboolean(L, since >= 0 && view_now(engine_of(L)) - since >= need);
  return 1;
}

/* observed_at(ref [, k]): when the latest reading was observed (ms since the
 * epoch; a late entry's own time), or nil; with k, the k-th newest (1 the
 * latest, as last(ref, k)[k]), so that a gate can ask how its readings are
 * spread over time (docs/safety.md U2). age(ref): how long ago, in ms. */
static int l_observed_at(lua_State *L) {
  visit *v = current(L);
  const item_state *s = &v->items[item_arg(L, v, 1)];
  lua_Integer k = luaL_optinteger(L, 2, 1);
  if (k >= 1 && (uint64_t)k <= s->n)
    lua_pushinteger(L, s->r[s->n - (uint32_t)k].at);
  else
    lua_pushnil(L);
  return 1;
}

/* recorded_seq(ref [, k]): the order in which the latest reading (the k-th
 * newest, as observed_at) was recorded, whatever its observed time: the log
 * seq of the entry or amendment that last changed its value, then that of
 * the entry that recorded it (the two alike unless amended since), or nil.
 * Two readings of one entry have the same; a later entry's is greater though
 * the clock did not move or it is back-dated (docs/safety.md AS1, AS3). */
static int l_recorded_seq(lua_State *L) {
  visit *v = current(L);
  const item_state *s = &v->items[item_arg(L, v, 1)];
  lua_Integer k = luaL_optinteger(L, 2, 1);
  if (k < 1 || (uint64_t)k > s->n) {
    lua_pushnil(L);
    return 1;
  }
  const reading *r = &s->r[s->n - (uint32_t)k];
  lua_pushinteger(L, (lua_Integer)r->changed_seq);
  lua_pushinteger(L, (lua_Integer)r->entered_seq);
  return 2;
}

/* amended(ref [, k]): the latest amendment of the latest reading (the k-th
 * newest, as observed_at), or nil when it was never amended: a table of
 * `by` (who), `clinician` (true when the server said a clinician made it)
 * and `previous` (the value it replaced). Its place in the order of
 * recording is recorded_seq's first. For a check that a pre-dose baseline
 * amended after the dose is a clinician's (docs/safety.md U6, AQ2). */
static int l_amended(lua_State *L) {
  visit *v = current(L);
  int item = item_arg(L, v, 1);
  const item_state *s = &v->items[item];
  lua_Integer k = luaL_optinteger(L, 2, 1);
  const amendment *a = NULL;
  if (k >= 1 && (uint64_t)k <= s->n) {
    uint64_t entered = s->r[s->n - (uint32_t)k].entered_seq;
    for (uint32_t i = v->n_amends; i-- > 0 && !a;)
      if (v->amends[i].item == (uint32_t)item && v->amends[i].entered_seq == entered) a = &v->amends[i];
  }
  if (!a) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 3);
  lua_pushstring(L, a->actor ? a->actor : "");
  lua_setfield(L, -2, "by");
  lua_pushboolean(L, a->clinician);
  lua_setfield(L, -2, "clinician");
  vigil__val_push_lua(L, a->previous);
  lua_setfield(L, -2, "previous");
  return 1;
}

/* The reading visit.value(item) gave when the log was at seq (its index), or
 * -1 when none was recorded by then: the newest by observed time of the
 * readings entered by then (the array keeps them in that order, a later entry
 * between them), and its value then in *value (amended since: the value the
 * first amendment after seq replaced). */
static int64_t reading_as_of(const vigil_engine *e, const visit *v, int item, uint64_t seq, const val **value) {
  const item_state *s = &v->items[item];
  for (uint32_t i = vigil__late_record_n(e, v, item); i-- > 0;) {
    const reading *r = &s->r[i];
    if (r->entered_seq > seq) continue;
    *value = &r->v;
    if (r->changed_seq > seq)
      for (uint32_t j = 0; j < v->n_amends; j++) {
        const amendment *a = &v->amends[j];
        if (a->item == (uint32_t)item && a->entered_seq == r->entered_seq && a->seq > seq) {
          *value = &a->previous;
          break;
        }
      }
    return i;
  }
  return -1;
}

typedef struct change {
  uint64_t seq, entered_seq; /* its own place in the log; the entry of the reading it entered or amended */
  const char *actor;
  int64_t at, made_at; /* the observed time of that reading; when the change was made */
  uint8_t clinician, amendment;
} change;

static int change_cmp(const void *a, const void *b) {
  const change *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* changes(ref): how the item's value came to be: each entry of a reading and
 * each amendment, in the order recorded, as a table of `seq` (its place in
 * the log), `by`, `clinician` (true when the server said a clinician made
 * it), `amendment` (false for an entry), `observed_at` (of the reading it
 * entered or amended), `recorded_at` (when it was made), `value`
 * (visit.value(ref) right after it: a late entry observed before the newest
 * leaves it as it was) and `newest` (whether the reading it entered or
 * amended is the one visit.value gave right after it: an amendment's always
 * is; an entry observed before the newest is not). For a check that a value
 * judged from (a pre-dose BP) changed after the dose, by an amendment or a
 * later entry, and whether a clinician made it the value in effect
 * (docs/safety.md AW1, AW2). The record's, whatever the view: a late entry
 * judged as of its time does not hide the readings observed after it from
 * here. */
static int l_changes(lua_State *L) {
  const vigil_engine *e = engine_of(L);
  visit *v = current(L);
  int item = item_arg(L, v, 1);
  const item_state *s = &v->items[item];
  uint32_t readings = vigil__late_record_n(e, v, item);
  size_t n = readings;
  for (uint32_t j = 0; j < v->n_amends; j++)
    n += v->amends[j].item == (uint32_t)item;
  /* Scratch in a userdatum, not malloc: a Lua error below frees it. */
  change *c = lua_newuserdatauv(L, n ? n * sizeof *c : 1, 0);
  size_t k = 0;
  for (uint32_t i = 0; i < readings; i++) {
    const reading *r = &s->r[i];
    c[k++] = (change){r->entered_seq, r->entered_seq, r->actor, r->at, r->recorded_at, r->clinician, 0};
  }
  for (uint32_t j = 0; j < v->n_amends; j++) {
    const amendment *a = &v->amends[j];
    if (a->item != (uint32_t)item) continue;
    int64_t at = 0;
    for (uint32_t i = 0; i < readings; i++)
      if (s->r[i].entered_seq == a->entered_seq) at = s->r[i].at;
    c[k++] = (change){a->seq, a->entered_seq, a->actor, at, a->at, a->clinician, 1};
  }
  qsort(c, n, sizeof *c, change_cmp);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, (lua_Integer)c[i].seq);
    lua_setfield(L, -2, "seq");
    lua_pushstring(L, c[i].actor ? c[i].actor : "");
    lua_setfield(L, -2, "by");
    lua_pushboolean(L, c[i].clinician);
    lua_setfield(L, -2, "clinician");
    lua_pushboolean(L, c[i].amendment);
    lua_setfield(L, -2, "amendment");
    lua_pushinteger(L, (lua_Integer)c[i].at);
    lua_setfield(L, -2, "observed_at");
    lua_pushinteger(L, (lua_Integer)c[i].made_at);
    lua_setfield(L, -2, "recorded_at");
    const val *now = NULL;
    int64_t in_effect = reading_as_of(e, v, item, c[i].seq, &now);
    vigil__val_push_lua(L, now ? *now : VAL_NIL_);
    lua_setfield(L, -2, "value");
    lua_pushboolean(L, in_effect >= 0 && s->r[in_effect].entered_seq == c[i].entered_seq);
    lua_setfield(L, -2, "newest");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int l_age(lua_State *L) {
  visit *v = current(L);
  const reading *r = vigil__visit_latest(v, item_arg(L, v, 1));
  if (r)
    lua_pushinteger(L, view_now(engine_of(L)) - r->at);
  else
    lua_pushnil(L);
  return 1;
}

/* How far a reading's observed time is from a due time. */
static int64_t distance(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

/* Whether a reading of s counts for due time k of schedule sc (phase clock
 * clock): one observed within the grace either side and nearer to it than to
 * the due times before and after (the earlier one on a tie), so that each
 * reading counts for one checkpoint only (docs/safety.md AG4). */
static int checkpoint_read(const item_state *s, const schedule *sc, int64_t clock, uint32_t k) {
  int64_t at = clock + vigil__schedule_due(sc, k);
  int64_t before = k ? vigil__schedule_due(sc, k - 1) : -1,
          after = k < UINT32_MAX ? vigil__schedule_due(sc, k + 1) : -1;
  for (uint32_t i = 0; i < s->n; i++) {
    int64_t d = distance(s->r[i].at, at);
    if (d > sc->grace || (before >= 0 && distance(s->r[i].at, clock + before) <= d) ||
        (after >= 0 && distance(s->r[i].at, clock + after) < d))
      continue;
    return 1;
  }
  return 0;
}

/* checkpoints(ref): of a scheduled item of the current phase, how many of its
 * due times have come (at or before now) and how many of those have a
 * reading (checkpoint_read), two integers; 0, 0 for another phase's item or
 * before the phase's clock starts. A skipped due time has none, nor has one
 * that readings at other times "satisfied": readings at minutes 1, 6 and 11
 * are one checkpoint's, not three (docs/safety.md AG4), and the gate decides
 * how many may go without. */
static int l_checkpoints(lua_State *L) {
  visit *v = current(L);
  int item = item_arg(L, v, 1);
  const item_spec *it = &v->p->items[item];
  if (!it->scheduled) return luaL_error(L, "item '%s' has no checkpoints (no at or every)", lua_tostring(L, 1));
  int64_t clock = vigil__phase_clock(v), now = view_now(engine_of(L)), due_at;
  lua_Integer due = 0, read = 0;
  for (uint32_t k = 0; it->phase == v->phase && clock >= 0 && (due_at = vigil__schedule_due(&it->sched, k)) >= 0 &&
                       clock + due_at <= now && k < UINT32_MAX;
       k++) {
    due++;
    read += checkpoint_read(&v->items[item], &it->sched, clock, k);
  }
  lua_pushinteger(L, due);
  lua_pushinteger(L, read);
  return 2;
}

static int l_param(lua_State *L) {
  visit *v = current(L);
  const char *name = luaL_checkstring(L, 1);
  int i = vigil__protocol_find_param(v->p, name);
  if (i < 0) return luaL_error(L, "unknown param '%s'", name);
  vigil__val_push_lua(L, vigil__visit_param(v, v->p->params[i].name));
  return 1;
}

static int l_phase(lua_State *L) {
  visit *v = current(L);
  lua_pushstring(L, v->p->phases[v->phase].id);
  return 1;
}

static int l_elapsed(lua_State *L) {
  visit *v = current(L);
  lua_pushinteger(L, view_now(engine_of(L)) - v->started_at);
  return 1;
}

static int l_phase_elapsed(lua_State *L) {
  visit *v = current(L);
  lua_pushinteger(L, view_now(engine_of(L)) - v->phase_at);
  return 1;
}

static int l_now(lua_State *L) {
  lua_pushinteger(L, view_now(engine_of(L)));
  return 1;
}

/* course(): the visit's course as a table (course.c), or nil. */
static int l_course(lua_State *L) {
  visit *v = current(L);
  return vigil__course_push_view(L, engine_of(L), v);
}

static int l_id(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)current(L)->id);
  return 1;
}

int vigil__view_install(vigil_engine *e, protocol *p) {
  static const luaL_Reg fns[] = {{"value", l_value},
                                 {"first", l_first},
                                 {"last", l_last},
                                 {"count", l_count},
                                 {"done", l_done},
                                 {"skipped", l_skipped},
                                 {"held", l_held},
                                 {"observed_at", l_observed_at},
                                 {"recorded_seq", l_recorded_seq},
                                 {"amended", l_amended},
                                 {"changes", l_changes},
                                 {"age", l_age},
                                 {"checkpoints", l_checkpoints},
                                 {"param", l_param},
                                 {"phase", l_phase},
                                 {"elapsed", l_elapsed},
                                 {"phase_elapsed", l_phase_elapsed},
                                 {"now", l_now},
                                 {"id", l_id},
                                 {"course", l_course},
                                 {NULL, NULL}};
  lua_State *L = p->sb->L;
  vigil__sandbox_push_lang(p->sb);
  int lang = lua_gettop(L);
  lua_getfield(L, lang, "readonly");
  lua_newtable(L);
  lua_pushlightuserdata(L, e);
  lua_getfield(L, lang, "parse_duration");
  luaL_setfuncs(L, fns, 2);
  lua_pushstring(L, "visit");
  lua_call(L, 2, 1);
  p->view_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  /* v.now(): the engine clock, never the OS clock. */
  lua_getfield(L, lang, "api");
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, l_now, 1);
  lua_setfield(L, -2, "now");
  lua_settop(L, lang - 1);
  return p->view_ref == LUA_REFNIL ? VIGIL_ENOMEM : 0;
}
