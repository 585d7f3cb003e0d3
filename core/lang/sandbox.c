/* sandbox.c: one Lua state for one protocol version. */
#include "lang/sandbox.h"

#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#ifdef VIGIL_HAVE_VALGRIND_H /* core/lang/CMakeLists.txt */
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif

#include "lang/embedded_lua.h"
#include "lang/source_file.h"

#define HOOK_EVERY 1000       /* instructions between budget checks */
#define MAX_SOURCE (1u << 20) /* a protocol file larger than 1 MiB is refused */
/* Bytes a call allocates that cost it one instruction of its budget
 * (docs/security.md AH1). Measured on this machine (2 cores shared, loaded):
 * a plain loop took 37-49 ns an instruction, `s .. s` of 4 MB strings
 * 0.9-1.3 ns a byte copied (64 KB ones 0.33): 32 bytes an instruction lets a
 * copy loop meet the budget in about the time a plain loop does. */
#define ALLOC_BYTES_PER_INSTRUCTION 32u

static void budget_hook(lua_State *L, lua_Debug *ar);

/* `s .. s` of a 4 MB string is one instruction that copies 8 MB: the count
 * hook alone let a rule copy gigabytes between two of its checks, 175-415 ms
 * past a 50 ms limit (docs/security.md AH1). So what a call allocates is
 * charged to its budget too, ALLOC_BYTES_PER_INSTRUCTION bytes an
 * instruction. An allocator may not raise an error: once a hook's worth is
 * allocated, the count hook is asked to fire at the very next instruction,
 * where it charges them and checks the budget and the clock. */
static void charge_allocation(sandbox *sb, size_t bytes) {
  sb->alloc_bytes += bytes;
  if (sb->hook_early || sb->stopped || !sb->L) return;
  if (sb->alloc_bytes < (uint64_t)HOOK_EVERY * ALLOC_BYTES_PER_INSTRUCTION) return;
  sb->hook_early = 1;
  lua_sethook(sb->L, budget_hook, lua_gethookmask(sb->L), 1);
}

/* The instructions' worth of what was allocated since the last charge. */
static uint64_t take_allocation(sandbox *sb) {
  uint64_t n = sb->alloc_bytes / ALLOC_BYTES_PER_INSTRUCTION;
  sb->alloc_bytes %= ALLOC_BYTES_PER_INSTRUCTION;
  return n;
}

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  sandbox *sb = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    sb->used -= old;
    free(ptr);
    return NULL;
  }
  if (nsize > old && sb->used + (nsize - old) > sb->cap) return NULL;
  void *p = realloc(ptr, nsize);
  if (!p) {
    sb->oom = 1; /* the host's out of memory, not the cap's (sandbox.h) */
    return NULL;
  }
  sb->used = sb->used - old + nsize;
  if (sb->used > sb->peak) sb->peak = sb->used;
  if (nsize > old && sb->in_call) charge_allocation(sb, nsize - old);
  return p;
}

/* Pushes "file:line: " of the innermost frame of the protocol's own files (a
 * library wrapper of sandbox.lua may be the one running), or "". */
static void push_protocol_place(lua_State *L) {
  lua_Debug d;
  for (int level = 0; lua_getstack(L, level, &d); level++) {
    lua_getinfo(L, "Sl", &d);
    if (d.source[0] == '@' && d.currentline > 0) {
      lua_pushfstring(L, "%s:%d: ", d.source + 1, d.currentline);
      return;
    }
  }
  lua_pushliteral(L, "");
}

/* The default wall-time limit of a call, as enforced. Under valgrind code
 * runs 20 to 50 times slower, and the default, a live ward's, stopped the
 * load of a bundled protocol that takes 0.1 s (make valgrind, test_lint:
 * "stopped after 2015.6 ms"): there it is given 25 times over. A limit set
 * (a site's, a test's) is enforced as set, and errors name the default as
 * it is (shown_limit_ns). */
static uint64_t default_limit_ns(void) { return UNDER_VALGRIND() ? 25 * SANDBOX_TIME_LIMIT_NS : SANDBOX_TIME_LIMIT_NS; }

/* Writes the time limit's message: the limit and what the call took, as the
 * technical alert says. */
static void time_limit_message(const sandbox *sb, uint64_t now, const char *why, char *out, size_t len) {
  if (sb->entry_deadline)
    snprintf(out, len,
             "time limit of %.0f ms for one entry exceeded: stopped after %.1f ms (%s; with the entry's earlier calls)",
             (double)sb->pool->limit_ns / 1e6, (double)(now - sb->started) / 1e6, why);
  else
    snprintf(out, len, "time limit of %.0f ms exceeded: stopped after %.1f ms (%s)", (double)sb->shown_limit_ns / 1e6,
             (double)(now - sb->started) / 1e6, why);
}

/* Raises the error of a call past its budget or its time, at the protocol's
 * line. From now on the hook fires on every instruction: a pcall in the
 * protocol catches this error once, and the very next instruction raises it
 * again. */
static int stop_call(lua_State *L, sandbox *sb, uint64_t now, int over_time, const char *why) {
  lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
  /* Raised again after a pcall of the protocol caught it: the first stop's
   * words, which say what ran long and for how long (docs/security.md AB2). */
  if (!sb->stopped && over_time)
    time_limit_message(sb, now, why, sb->stop_message, sizeof sb->stop_message);
  else if (!sb->stopped && sb->call_budget < sb->budget)
    snprintf(sb->stop_message, sizeof sb->stop_message,
             "instruction budget of %llu for one entry exceeded (%s; with the entry's earlier calls)",
             (unsigned long long)sb->pool->size, why);
  else if (!sb->stopped)
    snprintf(sb->stop_message, sizeof sb->stop_message, "instruction budget of %llu exceeded (%s)",
             (unsigned long long)sb->budget, why);
  sb->stopped = 1;
  push_protocol_place(L);
  lua_pushstring(L, sb->stop_message);
  lua_concat(L, 2);
  return lua_error(L);
}

static void budget_hook(lua_State *L, lua_Debug *ar) {
  sandbox *sb;
  lua_getallocf(L, (void **)&sb);
  if (ar->event != LUA_HOOKCOUNT) {
    if (sb->trace) sb->trace(sb->trace_ud, L, ar);
    return;
  }
  /* Fired early for what was allocated (charge_allocation): no
   * HOOK_EVERY instructions ran, and the next check is HOOK_EVERY away again. */
  int early = sb->hook_early;
  sb->hook_early = 0;
  if (early && !sb->stopped) lua_sethook(L, budget_hook, lua_gethookmask(L), HOOK_EVERY);
  uint64_t n = (early ? 0 : HOOK_EVERY) + take_allocation(sb);
  sb->spent = n >= UINT64_MAX - sb->spent ? UINT64_MAX : sb->spent + n;
  /* Instructions do not count time spent inside C functions (a long string
   * search repeated in a loop), so the wall clock is checked here too. */
  uint64_t now = uv_hrtime();
  int over_time = now > sb->deadline;
  if (sb->spent > sb->call_budget || over_time)
    stop_call(L, sb, now, over_time, early ? "allocating memory" : "an endless loop?");
}

/* host.charge(n): n instructions' worth of work that one C library call is
 * about to do (or, for what only its result tells, has done), charged to
 * the budget by sandbox.lua's wrappers: the count hook sees instructions
 * only, and table.unpack of 400,000 elements is one (docs/security.md AC7).
 * Counted from the call's arguments or result, never the clock, so the same
 * call stops at the same place on every run. */
static int charge(lua_State *L) {
  sandbox *sb = lua_touserdata(L, lua_upvalueindex(1));
  lua_Number n = luaL_checknumber(L, 1);
  if (!sb->in_call || !(n > 0)) return 0;
  uint64_t room = UINT64_MAX - sb->spent;
  sb->spent = n >= (lua_Number)room ? UINT64_MAX : sb->spent + (uint64_t)n;
  if (sb->spent > sb->call_budget) return stop_call(L, sb, uv_hrtime(), 0, "the work of one library call");
  return 0;
}

/* host.check_time(): the sandbox's library wrappers call it after a C call
 * that may have run long (a search, a sort): the count hook sees only
 * instructions, so a rule whose one long call is followed by a return would
 * end past its limit without a word (docs/security.md AA3). */
static int check_time(lua_State *L) {
  sandbox *sb = lua_touserdata(L, lua_upvalueindex(1));
  uint64_t now = uv_hrtime();
  if (sb->in_call && now > sb->deadline) return stop_call(L, sb, now, 1, "in one library call");
  return 0;
}

/* host.stopped() -> whether the current call has been stopped: sandbox.lua's
 * xpcall then gives the error back without calling the protocol's handler. */
static int call_stopped(lua_State *L) {
  sandbox *sb = lua_touserdata(L, lua_upvalueindex(1));
  lua_pushboolean(L, sb->in_call && sb->stopped);
  return 1;
}

/* host.read_source(relative path) -> text, chunkname | nil, message */
static int read_source(lua_State *L) {
  sandbox *sb = lua_touserdata(L, lua_upvalueindex(1));
  const char *rel = luaL_checkstring(L, 1);
  if (!sb->loading) {
    lua_pushnil(L);
    lua_pushstring(L, "files can be required only while the protocol loads");
    return 2;
  }
  if (rel[0] == '/' || strstr(rel, "..")) {
    lua_pushnil(L);
    lua_pushfstring(L, "'%s' is outside the protocol folder", rel);
    return 2;
  }
  if (sb->files) {
    for (uint32_t i = 0; i < sb->n_files; i++) {
      if (strcmp(sb->files[i].path, rel) != 0) continue;
      lua_pushlstring(L, sb->files[i].text, sb->files[i].len);
      lua_pushfstring(L, "%s/%s", sb->dir, rel);
      return 2;
    }
    lua_pushnil(L);
    lua_pushfstring(L, "no file %s in the stored protocol", rel);
    return 2;
  }
  char path[4096];
  int n = strcmp(sb->dir, ".") == 0 ? snprintf(path, sizeof path, "%s", rel)
                                    : snprintf(path, sizeof path, "%s/%s", sb->dir, rel);
  if (n < 0 || (size_t)n >= sizeof path) return luaL_error(L, "path too long");
  /* The file must really be inside the folder: no link out of it. */
  char real[PATH_MAX];
  size_t dl = strlen(sb->realdir);
  if (!realpath(path, real) || strncmp(real, sb->realdir, dl) != 0 || real[dl] != '/') {
    lua_pushnil(L);
    lua_pushfstring(L, "no file %s in the protocol folder", rel);
    return 2;
  }
  FILE *f = fopen(real, "rb");
  if (!f) {
    lua_pushnil(L);
    lua_pushfstring(L, "no file %s in the protocol folder", rel);
    return 2;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t total = 0, got;
  char chunk[8192];
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    total += got;
    if (total > MAX_SOURCE) break;
    luaL_addlstring(&b, chunk, got);
  }
  fclose(f);
  if (total > MAX_SOURCE) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s is larger than 1 MiB", path);
    return 2;
  }
  luaL_pushresult(&b);
  lua_pushstring(L, path);
  return 2;
}

/* The key, in a frozen table's metatable, of the table holding its contents
 * (sandbox.freeze): a light userdata, so that nothing in Lua can name it. */
static const char frozen_key;

void vigil__sandbox_push_contents(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_getmetatable(L, idx)) {
    if (lua_rawgetp(L, -1, &frozen_key) == LUA_TTABLE) {
      lua_remove(L, -2);
      return;
    }
    lua_pop(L, 2);
  }
  lua_pushvalue(L, idx);
}

int vigil__sandbox_freeze(sandbox *sb, int roots, char *err, size_t errlen) {
  lua_State *L = sb->L;
  roots = lua_absindex(L, roots);
  lua_rawgeti(L, LUA_REGISTRYINDEX, sb->sandbox_ref);
  lua_getfield(L, -1, "freeze");
  lua_remove(L, -2);
  lua_pushvalue(L, roots);
  /* Its errors name the files by their whole path, as the load's do. */
  sb->loading = 1;
  int rc = vigil__sandbox_call(sb, 1, 0, err, errlen);
  sb->loading = 0;
  return rc == LUA_OK ? 0 : -1;
}

/* host.kept_write(message): a write to a frozen table was refused (AM5). */
static int kept_write(lua_State *L) {
  sandbox *sb = lua_touserdata(L, lua_upvalueindex(1));
  if (!sb->kept_writes++) snprintf(sb->kept_write, sizeof sb->kept_write, "%s", luaL_checkstring(L, 1));
  return 0;
}

/* host.embedded(name) -> the text of a library compiled into vigil. */
static int embedded_source(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (strcmp(name, "scores") != 0) return luaL_error(L, "no embedded library '%s'", name);
  lua_pushlstring(L, vigil__scores_lua_src, vigil__scores_lua_len);
  return 1;
}

void vigil__sandbox_open_libs(lua_State *L) {
  static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                  {LUA_STRLIBNAME, luaopen_string},
                                  {LUA_TABLIBNAME, luaopen_table},
                                  {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_UTF8LIBNAME, luaopen_utf8},
                                  {LUA_DBLIBNAME, luaopen_debug},
                                  {NULL, NULL}};
  for (const luaL_Reg *lib = libs; lib->func; lib++) {
    luaL_requiref(L, lib->name, lib->func, 1);
    lua_pop(L, 1);
  }
}

/* Runs an embedded chunk with the values on the stack as its arguments and
 * leaves its one result. */
static int run_embedded(sandbox *sb, const char *name, const char *src, size_t len, int nargs, char *err,
                        size_t errlen) {
  lua_State *L = sb->L;
  if (luaL_loadbufferx(L, src, len, name, "t") != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
    lua_pop(L, nargs + 1);
    return -1;
  }
  lua_insert(L, -nargs - 1);
  if (vigil__sandbox_call(sb, nargs, 1, err, errlen) != LUA_OK) return -1;
  return 0;
}

sandbox *vigil__sandbox_open(const char *dir, const source_file *files, uint32_t n_files, size_t cap, uint64_t budget,
                             char *err, size_t errlen) {
  sandbox *sb = calloc(1, sizeof *sb);
  if (!sb || !(sb->dir = strdup(dir))) {
    free(sb);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  sb->files = files;
  sb->n_files = n_files;
  if (!files && !realpath(dir, sb->realdir)) {
    snprintf(err, errlen, "%s: no such folder", dir);
    vigil__sandbox_close(sb);
    return NULL;
  }
  sb->cap = cap ? cap : SANDBOX_DEFAULT_CAP;
  sb->budget = budget ? budget : SANDBOX_DEFAULT_BUDGET;
  sb->lang_ref = sb->sandbox_ref = sb->arg_ref = LUA_NOREF;
  sb->L = lua_newstate(sandbox_alloc, sb);
  if (!sb->L) {
    snprintf(err, errlen, "cannot create a Lua state: out of memory");
    vigil__sandbox_close(sb);
    return NULL;
  }
  lua_State *L = sb->L;
  /* Rules make many short-lived tables (each reading they look at). */
  lua_gc(L, LUA_GCGEN, 0, 0);
  /* Only these libraries exist in the state at all; io, os, package and
   * coroutine are never opened. debug is needed by the trusted language code
   * (for file:line of declarations) and removed before protocol code runs. */
  vigil__sandbox_open_libs(L);

  lua_newtable(L); /* host for vigil.lua */
  lua_getglobal(L, "debug");
  lua_getfield(L, -1, "getinfo");
  lua_setfield(L, -3, "getinfo");
  lua_pop(L, 1);
  if (run_embedded(sb, "=vigil.lua", vigil__vigil_lua_src, vigil__vigil_lua_len, 1, err, errlen) < 0) goto fail;
  lua_pushvalue(L, -1);
  sb->lang_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  lua_newtable(L); /* host for sandbox.lua */
  lua_pushlightuserdata(L, sb);
  lua_pushcclosure(L, read_source, 1);
  lua_setfield(L, -2, "read_source");
  lua_pushcfunction(L, embedded_source);
  lua_setfield(L, -2, "embedded");
  lua_pushlightuserdata(L, sb);
  lua_pushcclosure(L, check_time, 1);
  lua_setfield(L, -2, "check_time");
  lua_pushlightuserdata(L, sb);
  lua_pushcclosure(L, call_stopped, 1);
  lua_setfield(L, -2, "stopped");
  lua_pushlightuserdata(L, sb);
  lua_pushcclosure(L, charge, 1);
  lua_setfield(L, -2, "charge");
  lua_pushlightuserdata(L, (void *)&frozen_key);
  lua_setfield(L, -2, "frozen_key");
  lua_pushlightuserdata(L, sb);
  lua_pushcclosure(L, kept_write, 1);
  lua_setfield(L, -2, "kept_write");
  lua_insert(L, -2); /* host, lang */
  if (run_embedded(sb, "=sandbox.lua", vigil__sandbox_lua_src, vigil__sandbox_lua_len, 2, err, errlen) < 0) goto fail;
  sb->sandbox_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  /* No trace of debug is left where anything could reach it. */
  lua_pushnil(L);
  lua_setglobal(L, "debug");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  lua_setfield(L, -2, LUA_DBLIBNAME);
  lua_pop(L, 1);
  return sb;
fail:
  vigil__sandbox_close(sb);
  return NULL;
}

void vigil__sandbox_close(sandbox *sb) {
  if (!sb) return;
  if (sb->L) lua_close(sb->L);
  free(sb->dir);
  free(sb);
}

/* Whether s[0..n) is the end of dir. */
static int ends_dir(const char *dir, size_t dl, const char *s, size_t n) {
  return n <= dl && !memcmp(dir + dl - n, s, n);
}

/* msg with the protocol's folder taken out of its file:line places, so that
 * protocol.lua:12 is what staff and the log see of a rule's error, whatever
 * the error (a nil indexed, an unknown global, a costly pattern), for a
 * bundled or an uploaded protocol (docs/security.md W S5). Lua shortens a
 * long chunk name to "..." and its end ("...ploads/ket@1.3.6/infusion.lua:83"):
 * that end is taken out too when what precedes the file is the end of the
 * folder. */
static void relative_paths(const sandbox *sb, char *msg) {
  const char *dirs[] = {sb->dir, sb->realdir};
  for (int d = 0; d < 2; d++) {
    const char *dir = dirs[d];
    size_t dl = dir ? strlen(dir) : 0;
    if (!dl || !strcmp(dir, ".")) continue;
    char *out = msg;
    for (const char *in = msg; *in;) {
      if (!strncmp(in, dir, dl) && in[dl] == '/') {
        in += dl + 1;
        continue;
      }
      if (!strncmp(in, "...", 3)) {
        const char *seg = in + 3, *end = seg + strcspn(seg, ": \n");
        const char *slash = NULL;
        for (const char *q = seg; q < end && !slash; q++)
          if (*q == '/' && ends_dir(dir, dl, seg, (size_t)(q - seg))) slash = q;
        if (slash && slash + 1 < end) {
          in = slash + 1;
          continue;
        }
      }
      *out++ = *in++;
    }
    *out = '\0';
  }
}

/* Lua names a file in its messages by at most LUA_IDSIZE - 1 bytes: a longer
 * name is "..." and its end, the last LUA_IDSIZE - 4 bytes
 * ("...ong_directory_name/module_with_a_long_name.lua:2"), which drops the
 * author's folders however short the protocol's own folder is. Each such end
 * that is the end of one file the protocol loaded (sandbox.sources()) is
 * given its whole name back (docs/security.md Z7), for relative_paths then
 * to take the protocol's folder out. */
static void full_chunk_names(sandbox *sb, char *msg, size_t len) {
  lua_State *L = sb->L;
  const size_t kept = LUA_IDSIZE - 4;
  if (!strstr(msg, "...") || sb->sandbox_ref == LUA_NOREF) return;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, sb->sandbox_ref);
  lua_getfield(L, -1, "sources");
  if (lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    lua_settop(L, top);
    return;
  }
  int list = lua_gettop(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, list);
  char *out = malloc(len);
  if (!out) {
    lua_settop(L, top);
    return;
  }
  size_t o = 0;
  for (const char *in = msg; *in && o + 1 < len;) {
    const char *whole = NULL;
    size_t whole_len = 0;
    int found = 0;
    for (lua_Integer i = 1; !strncmp(in, "...", 3) && i <= n; i++) {
      lua_rawgeti(L, list, i);
      lua_getfield(L, -1, "path");
      size_t pl;
      const char *path = lua_tolstring(L, -1, &pl);
      if (path && pl + 1 > LUA_IDSIZE && !strncmp(in + 3, path + pl - kept, kept) &&
          (!whole || strcmp(whole, path) != 0)) {
        whole = path; /* still anchored in the sources table, on the stack's list */
        whole_len = pl;
        found++;
      }
      lua_pop(L, 2);
    }
    if (found == 1) {
      size_t room = len - 1 - o;
      size_t k = whole_len < room ? whole_len : room;
      memcpy(out + o, whole, k);
      o += k;
      in += 3 + kept;
      continue;
    }
    out[o++] = *in++;
  }
  out[o] = '\0';
  memcpy(msg, out, o + 1);
  free(out);
  lua_settop(L, top);
}

int vigil__sandbox_call(sandbox *sb, int nargs, int nresults, char *err, size_t errlen) {
  lua_State *L = sb->L;
  sandbox_pool *pool = sb->pool && sb->pool->armed ? sb->pool : NULL;
  if (pool && pool->left == 0) {
    /* The entry spent its budget in earlier calls: this one fails as a
     * failing rule does, without running (AC3). */
    lua_settop(L, lua_gettop(L) - nargs - 1);
    sb->oom = 0;
    snprintf(err, errlen, "instruction budget of %llu for one entry spent by its earlier calls; not run",
             (unsigned long long)pool->size);
    return LUA_ERRRUN;
  }
  uint64_t started = uv_hrtime();
  uint64_t own_limit = sb->time_limit_ns ? sb->time_limit_ns : default_limit_ns();
  if (pool && !pool->deadline) {
    /* The entry's first call: its time across its calls begins (AH1). */
    pool->limit_ns = pool->time_limit_ns ? pool->time_limit_ns : ENTRY_TIME_FACTOR * own_limit;
    pool->deadline = started + pool->limit_ns;
  }
  if (pool && started >= pool->deadline) {
    lua_settop(L, lua_gettop(L) - nargs - 1);
    sb->oom = 0;
    snprintf(err, errlen, "time limit of %.0f ms for one entry spent by its earlier calls; not run",
             (double)pool->limit_ns / 1e6);
    return LUA_ERRRUN;
  }
  uint64_t outer_call_budget = sb->call_budget;
  sb->call_budget = pool && pool->left < sb->budget ? pool->left : sb->budget;
  sb->spent = 0;
  sb->alloc_bytes = 0;
  sb->hook_early = 0;
  sb->started = started;
  sb->deadline = started + own_limit;
  sb->shown_limit_ns = sb->time_limit_ns ? sb->time_limit_ns : SANDBOX_TIME_LIMIT_NS;
  sb->entry_deadline = pool && pool->deadline < sb->deadline;
  if (sb->entry_deadline) sb->deadline = pool->deadline;
  sb->calls++;
  sb->oom = 0;
  int outer_stopped = sb->stopped;
  sb->stopped = 0;
  int base = lua_gettop(L) - nargs - 1;
  lua_sethook(L, budget_hook, LUA_MASKCOUNT | (sb->trace ? LUA_MASKLINE | LUA_MASKCALL : 0), HOOK_EVERY);
  int outer = sb->in_call;
  sb->in_call = 1;
  int rc = lua_pcall(L, nargs, nresults, 0);
  sb->in_call = outer;
  uint64_t allocated = take_allocation(sb);
  sb->spent = allocated >= UINT64_MAX - sb->spent ? UINT64_MAX : sb->spent + allocated;
  if (pool) pool->left -= sb->spent < pool->left ? sb->spent : pool->left;
  if (outer) sb->call_budget = outer_call_budget;
  sb->stopped = outer_stopped;
  lua_sethook(L, NULL, 0, 0);
  uint64_t now = uv_hrtime();
  if (rc == LUA_OK && now > sb->deadline) {
    /* Finished, but past its limit: a long C call the wrappers do not watch
     * (one of them would have raised at the protocol's line) ran out the
     * time with no instruction left for the hook. The call failed as if it
     * had been stopped (AA3): its results are not used. */
    lua_settop(L, base);
    time_limit_message(sb, now, "in one call into C", err, errlen);
    lua_gc(L, LUA_GCCOLLECT);
    return LUA_ERRRUN;
  }
  if (rc == LUA_OK) return rc;
  if (rc == LUA_ERRMEM && sb->oom) {
    snprintf(err, errlen, "out of memory");
  } else if (rc == LUA_ERRMEM) {
    snprintf(err, errlen, "memory cap of %zu MiB reached", sb->cap >> 20);
  } else {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "(error object is not a string)");
    full_chunk_names(sb, err, errlen);
    if (!sb->loading) relative_paths(sb, err);
  }
  lua_pop(L, 1);
  /* Give back what a failed call left behind (a memory bomb's tables). */
  lua_gc(L, LUA_GCCOLLECT);
  return rc;
}

void vigil__sandbox_push_lang(sandbox *sb) { lua_rawgeti(sb->L, LUA_REGISTRYINDEX, sb->lang_ref); }

void vigil__sandbox_push_env(sandbox *sb) {
  lua_rawgeti(sb->L, LUA_REGISTRYINDEX, sb->sandbox_ref);
  lua_getfield(sb->L, -1, "env");
  lua_remove(sb->L, -2);
}
