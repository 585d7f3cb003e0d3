/* rule_code.c: what a protocol function's code says, read from its source
 * (rule_code.h). Nothing here runs protocol code: it reads the function's
 * lines and resolves the names it calls through the closure's upvalues and
 * its file's globals with raw reads. */
#include "lang/rule_code.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "lang/sandbox.h"

static const char *relative(const protocol *p, const char *path) {
  const char *dir = p->sb ? p->sb->dir : NULL;
  size_t n = dir ? strlen(dir) : 0;
  if (n && !strncmp(path, dir, n) && path[n] == '/') return path + n + 1;
  return path;
}

static const source_file *source_of(const protocol *p, const char *path) {
  for (uint32_t i = 0; i < p->n_sources; i++)
    if (!strcmp(p->sources[i].path, path)) return &p->sources[i];
  return NULL;
}

static int ident_char(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The code of the function at the top of L's stack (left there), without
 * comments; spacing dropped (spaced 0) or kept as one space (spaced 1).
 * Returns 0 when it is not a Lua function of one of p's files. */
static int code_of_top(const protocol *p, lua_State *L, buf *code, int spaced, char *where, size_t wn) {
  if (where && wn) where[0] = '\0';
  if (!lua_isfunction(L, -1) || lua_iscfunction(L, -1)) return 0;
  lua_Debug ar;
  lua_pushvalue(L, -1);
  if (!lua_getinfo(L, ">S", &ar) || ar.source[0] != '@') return 0;
  if (where) snprintf(where, wn, "%s:%d-%d", relative(p, ar.source + 1), ar.linedefined, ar.lastlinedefined);
  const source_file *f = source_of(p, ar.source + 1);
  if (!f) return 0;
  int line = 1, space = 0;
  for (const char *s = f->text; *s; s++) {
    if (line >= ar.linedefined && line <= ar.lastlinedefined) {
      if (s[0] == '-' && s[1] == '-') { /* a comment: to the end of the line */
        while (s[1] && s[1] != '\n')
          s++;
        continue;
      }
      if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        space = 1;
      } else {
        if (spaced && space && code->len) vigil__buf_putc(code, ' ');
        space = 0;
        vigil__buf_putc(code, *s);
      }
    }
    if (*s == '\n') line++;
  }
  return 1;
}

void vigil__function_code(const protocol *p, int ref, buf *code, char *where, size_t wn) {
  where[0] = '\0';
  if (ref == LUA_NOREF || ref == LUA_REFNIL || !p->sb) return;
  lua_State *L = p->sb->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  code_of_top(p, L, code, 0, where, wn);
  lua_pop(L, 1);
}

/* ---- what the code raises ----------------------------------------------------- */

#define MAX_SEEN 128
#define MAX_DEPTH 8

typedef struct walk {
  const protocol *p;
  lua_State *L;
  const void *seen[MAX_SEEN];
  int n_seen, best;
  code_raises *out;
  buf *closure; /* the code of every function walked, when asked for (vigil__function_code_closure) */
} walk;

/* "alert.high" not followed by a name character, nor preceded by one. */
static int names_word(const char *code, const char *word) {
  size_t n = strlen(word);
  for (const char *s = strstr(code, word); s; s = strstr(s + 1, word))
    if (!ident_char(s[n]) && (s == code || !ident_char(s[-1]) || word[0] == '.')) return 1;
  return 0;
}

/* Pushes what the name chain code[0..len) ("lib.spo2_low", "at_flag",
 * "m:f") denotes for the function at index fn, or nil. */
static void resolve(lua_State *L, int fn, const char *chain, size_t len) {
  size_t first = 0;
  while (first < len && ident_char(chain[first]))
    first++;
  int found = 0;
  for (int i = 1;; i++) {
    const char *name = lua_getupvalue(L, fn, i);
    if (!name) break;
    if (strlen(name) == first && !strncmp(name, chain, first)) {
      found = 1;
      break;
    }
    lua_pop(L, 1);
  }
  if (!found) { /* a global of its file: _ENV's own field */
    for (int i = 1;; i++) {
      const char *name = lua_getupvalue(L, fn, i);
      if (!name) break;
      if (!strcmp(name, "_ENV") && lua_istable(L, -1)) {
        lua_pushlstring(L, chain, first);
        lua_rawget(L, -2);
        lua_remove(L, -2);
        found = 1;
        break;
      }
      lua_pop(L, 1);
    }
  }
  if (!found) {
    lua_pushnil(L);
    return;
  }
  size_t at = first;
  while (at < len && !lua_isnil(L, -1)) {
    at++; /* '.' or ':' */
    size_t start = at;
    while (at < len && ident_char(chain[at]))
      at++;
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    vigil__sandbox_push_contents(L, -1); /* a frozen module's are elsewhere (AM5) */
    lua_remove(L, -2);
    lua_pushlstring(L, chain + start, at - start);
    lua_rawget(L, -2);
    lua_remove(L, -2);
  }
}

/* Walks the function at the top of the stack (popped) and what it calls. */
static void walk_function(walk *w, int depth) {
  lua_State *L = w->L;
  const void *ptr = lua_topointer(L, -1);
  int seen = 0;
  for (int i = 0; i < w->n_seen && !seen; i++)
    seen = w->seen[i] == ptr;
  buf code;
  vigil__buf_init(&code);
  char where[256];
  int read =
      !seen && w->n_seen < MAX_SEEN && lua_checkstack(L, 8) && code_of_top(w->p, L, &code, 1, where, sizeof where);
  if (read && code.oom) w->out->oom = 1; /* what it raises is not all read: never "raises nothing" */
  if (!read || !code.p) {
    vigil__buf_free(&code);
    lua_pop(L, 1);
    return;
  }
  w->seen[w->n_seen++] = ptr;
  if (w->closure) {
    vigil__buf_puts(w->closure, code.p);
    vigil__buf_putc(w->closure, '\n');
  }
  static const char *const words[] = {"alert.low", "alert.medium", "alert.high"};
  int highest = -1;
  for (int i = 0; i < 3; i++)
    if (names_word(code.p, words[i])) {
      w->out->priorities |= 1u << i;
      highest = i;
    }
  if (names_word(code.p, ".block")) {
    w->out->blocks = 1;
    highest = PRIORITY_HIGH;
  }
  if (highest > w->best) {
    w->best = highest;
    snprintf(w->out->where, sizeof w->out->where, "%s", where);
  }
  /* The calls it makes: a chain of names followed by (, a string or a table. */
  int fn = lua_gettop(L);
  for (const char *s = code.p; depth < MAX_DEPTH && *s;) {
    if (!ident_char(*s) || (*s >= '0' && *s <= '9') ||
        (s > code.p && (ident_char(s[-1]) || s[-1] == '.' || s[-1] == ':'))) {
      s++;
      continue;
    }
    const char *e = s;
    while (ident_char(*e) || ((*e == '.' || *e == ':') && ident_char(e[1]) && !(e[1] >= '0' && e[1] <= '9')))
      e++;
    const char *after = e;
    while (*after == ' ')
      after++;
    if (*after == '(' || *after == '"' || *after == '\'' || *after == '{') {
      resolve(L, fn, s, (size_t)(e - s));
      if (lua_isfunction(L, -1))
        walk_function(w, depth + 1);
      else
        lua_pop(L, 1);
    }
    s = e;
  }
  vigil__buf_free(&code);
  lua_settop(L, fn - 1);
}

/* Walks the function of ref and what it calls, into out (and closure). */
static void walk_ref(const protocol *p, int ref, code_raises *out, buf *closure) {
  memset(out, 0, sizeof *out);
  if (ref == LUA_NOREF || ref == LUA_REFNIL || !p->sb) return;
  walk w = {.p = p, .L = p->sb->L, .best = -1, .out = out, .closure = closure};
  int top = lua_gettop(w.L);
  lua_rawgeti(w.L, LUA_REGISTRYINDEX, ref);
  walk_function(&w, 0);
  lua_settop(w.L, top);
}

void vigil__code_raises(const protocol *p, int ref, code_raises *out) { walk_ref(p, ref, out, NULL); }

void vigil__function_code_closure(const protocol *p, int ref, buf *code) {
  code_raises ignored;
  walk_ref(p, ref, &ignored, code);
  if (ignored.oom) code->oom = 1; /* not all of it read: never "unchanged" for that */
}

int vigil__code_raises_highest(const code_raises *r) {
  if (r->blocks) return PRIORITY_HIGH;
  for (int i = PRIORITY_HIGH; i >= PRIORITY_LOW; i--)
    if (r->priorities & (1u << i)) return i;
  return -1;
}
