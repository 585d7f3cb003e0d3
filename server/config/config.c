/* config.c: vigil.conf, run in an empty Lua environment (config.h). */
#include "config/config.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/vigil.h"

/* The settings vigil reads; docs/config.md says what each means. */
static const char *const KNOWN[] = {
    "listen",           /* "HOST:PORT" */
    "database",         /* the SQLite file, or a PostgreSQL URI */
    "protocols",        /* a folder, or a list of folders */
    "site",             /* { name, timezone } */
    "idle_timeout",     /* seconds */
    "request_timeout",  /* seconds */
    "header_timeout",   /* seconds: a request's first byte to the end of its headers */
    "stream_heartbeat", /* seconds */
    "session_hours",    /* how long a sign-in lasts */
    "trusted_proxies",  /* addresses whose X-Forwarded-For is believed */
    "server_names",     /* the names (Host) answered besides the local ones */
    "secure_cookies",   /* the session cookie says Secure (HTTPS at the proxy) */
    "alarm_pause",      /* seconds the workstation's "Pause sound" lasts */
    "ack_reasons",      /* the workstation's one-click reasons for an acknowledgement */
    "plugin_dir",       /* where C plugins may be loaded from; none by default */
    "plugins",          /* { name = { settings } } */
    /* The security controls (docs/security.md): */
    "rule_time_limit_ms",               /* one call into a protocol while serving */
    "upload_check_seconds",             /* wall and CPU time of checking an uploaded version */
    "upload_check_memory_mb",           /* memory of that check */
    "max_connections",                  /* open at once */
    "connections_per_address",          /* open at once from one client address */
    "streams_per_session",              /* event streams open at once with one session or token */
    "streams_per_user",                 /* ... with every session and token of one user */
    "crowded_connections",              /* open at once from which idle ones are closed sooner */
    "crowded_idle_timeout",             /* seconds: the idle timeout then */
    "max_buffered_body_mb",             /* request body bytes held at once, all connections */
    "max_buffered_body_per_address_mb", /* ... of one client address */
    "max_buffered_body_per_user_mb",    /* ... of one signed-in user's sessions and tokens */
    "min_body_rate_kib",                /* KiB a second a request body must come at, after 2 s */
    "max_unsent_answer_kib",            /* answer bytes of one connection the client has not taken */
    "unsent_answer_timeout",            /* seconds those may wait without going down */
    "refusal_window_seconds",   /* refused requests of one address and reason: one auth.failed event per window */
    "reason_placeholders",      /* reasons that say nothing (docs/safety.md M7) */
    "idempotency_hours",        /* how long a command's Idempotency-Key is kept */
    "max_readings_per_visit",   /* readings one visit holds (docs/safety.md H17) */
    "max_notes_per_visit",      /* notes one visit holds (docs/security.md AQ7) */
    "max_amendments_per_visit", /* amendments one visit holds (docs/security.md AQ7) */
    "max_concurrent_exports",   /* visits' FHIR Bundles built at once, off the loop (docs/security.md AQ6) */
    /* A node of a cluster on PostgreSQL (docs/deploy.md): */
    "node",             /* its name */
    "advertise",        /* the URL where it answers */
    "sites",            /* "a,b": the sites it may own */
    "lease_time",       /* seconds a site's lease lasts unrenewed */
    "max_clock_offset", /* seconds this machine's clock may be off the database's */
};

#define MAX_BYTES (1u << 20)  /* the file */
#define MAX_MEMORY (8u << 20) /* what running it may allocate */
#define MAX_INSTRUCTIONS 10000000
#define MAX_DEPTH 16

typedef struct setting {
  char *key;
  json_t *value;
  int line;
} setting;

struct config {
  char *path;
  setting *settings;
  size_t n;
};

typedef struct limited {
  size_t used;
} limited;

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  limited *l = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    l->used -= old;
    return NULL;
  }
  if (nsize > old && l->used - old + nsize > MAX_MEMORY) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) l->used = l->used - old + nsize;
  return p;
}

static void count_hook(lua_State *L, lua_Debug *ar) {
  lua_getinfo(L, "Sl", ar);
  lua_pushfstring(L, "%s:%d: the file runs too long: it should only assign settings", ar->short_src, ar->currentline);
  lua_error(L);
}

/* _ENV's __newindex: keeps the line of each top-level assignment. */
static int env_newindex(lua_State *L) {
  lua_Debug ar;
  int line = lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar) ? ar.currentline : 0;
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_getfield(L, LUA_REGISTRYINDEX, "vigil.config.lines");
    lua_pushvalue(L, 2);
    lua_pushinteger(L, line);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  lua_rawset(L, 1);
  return 0;
}

/* _ENV's __index: a name read before it is set is a mistake, not nil. */
static int env_index(lua_State *L) {
  return luaL_error(L, "'%s' is not set above (settings are plain values: no functions or libraries here)",
                    lua_tostring(L, 2) ? lua_tostring(L, 2) : "?");
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

/* The Lua value at idx as JSON; NULL with a sentence in why. */
static json_t *to_json(lua_State *L, int idx, int depth, char *why, size_t whylen) {
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN:
    return json_boolean(lua_toboolean(L, idx));
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    json_t *j = json_stringn(s, n);
    if (!j) snprintf(why, whylen, "text is not valid UTF-8");
    return j;
  }
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) return json_integer((json_int_t)lua_tointeger(L, idx));
    if (!isfinite(lua_tonumber(L, idx))) {
      snprintf(why, whylen, "a number must be finite");
      return NULL;
    }
    return json_real(lua_tonumber(L, idx));
  case LUA_TTABLE: {
    if (depth >= MAX_DEPTH) {
      snprintf(why, whylen, "tables nest too deep");
      return NULL;
    }
    idx = lua_absindex(L, idx);
    /* A list when its keys are exactly 1..n; an object when they are all names. */
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    size_t count = 0;
    int names = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      count++;
      names = names && lua_type(L, -2) == LUA_TSTRING;
      lua_pop(L, 1);
    }
    int list = n > 0 && (size_t)n == count;
    if (!list && !names) {
      snprintf(why, whylen, "a table is either a list {a, b} or has named fields {name = ...}, not both");
      return NULL;
    }
    json_t *out = list ? json_array() : json_object();
    if (list) {
      for (lua_Integer i = 1; out && i <= n; i++) {
        lua_rawgeti(L, idx, i);
        json_t *v = to_json(L, -1, depth + 1, why, whylen);
        lua_pop(L, 1);
        if (!v) {
          json_decref(out);
          return NULL;
        }
        json_array_append_new(out, v);
      }
      return out;
    }
    lua_pushnil(L);
    while (out && lua_next(L, idx)) {
      json_t *v = to_json(L, -1, depth + 1, why, whylen);
      if (!v) {
        lua_pop(L, 2);
        json_decref(out);
        return NULL;
      }
      json_object_set_new(out, lua_tostring(L, -2), v);
      lua_pop(L, 1);
    }
    return out;
  }
  default:
    snprintf(why, whylen, "a %s cannot be a setting (text, numbers, true/false and tables only)",
             luaL_typename(L, idx));
    return NULL;
  }
}

static int is_known(const char *key) {
  for (size_t i = 0; i < sizeof KNOWN / sizeof *KNOWN; i++)
    if (!strcmp(KNOWN[i], key)) return 1;
  return 0;
}

static int by_line(const void *a, const void *b) {
  const setting *x = a, *y = b;
  return (x->line > y->line) - (x->line < y->line);
}

config *vigil__config_empty(void) { return calloc(1, sizeof(config)); }

void vigil__config_free(config *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->settings[i].key);
    json_decref(c->settings[i].value);
  }
  free(c->settings);
  free(c->path);
  free(c);
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen, int *rc) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    *rc = fail(err, errlen, errno == ENOENT ? VIGIL_ENOENT : VIGIL_EIO, "%s: %s", path, strerror(errno));
    return NULL;
  }
  char *text = malloc(MAX_BYTES + 1);
  size_t n = text ? fread(text, 1, MAX_BYTES + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (!text || bad || n > MAX_BYTES) {
    free(text);
    *rc = !text ? VIGIL_ENOMEM
                : fail(err, errlen, VIGIL_EINVAL, "%s: %s", path, bad ? "cannot be read" : "is larger than 1 MiB");
    return NULL;
  }
  *len = n;
  return text;
}

/* Runs the file; on success the settings are in the table at the stack's top. */
static int run(lua_State *L, const config *c, const char *text, size_t len, char *err, size_t errlen) {
  char chunk[4096];
  snprintf(chunk, sizeof chunk, "@%s", c->path);
  if (luaL_loadbufferx(L, text, len, chunk, "t") != LUA_OK)
    return fail(err, errlen, VIGIL_EINVAL, "%s", lua_tostring(L, -1));
  lua_newtable(L); /* the lines, by key */
  lua_setfield(L, LUA_REGISTRYINDEX, "vigil.config.lines");
  lua_newtable(L); /* the environment */
  lua_newtable(L);
  lua_pushcfunction(L, env_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, env_index);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_insert(L, -3); /* env, chunk, env */
  lua_setupvalue(L, -2, 1);
  lua_sethook(L, count_hook, LUA_MASKCOUNT, MAX_INSTRUCTIONS);
  int status = lua_pcall(L, 0, 0, 0);
  if (status == LUA_ERRMEM)
    return fail(err, errlen, VIGIL_EINVAL, "%s: running the file takes more than %u MiB of memory", c->path,
                MAX_MEMORY >> 20);
  if (status != LUA_OK) return fail(err, errlen, VIGIL_EINVAL, "%s", lua_tostring(L, -1));
  lua_sethook(L, NULL, 0, 0);
  return 0;
}

/* Moves the environment's settings into c, in the order of the file. */
static int collect(lua_State *L, config *c, char *err, size_t errlen) {
  int env = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "vigil.config.lines");
  int lines = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, env)) {
    lua_pushvalue(L, -2);
    lua_rawget(L, lines);
    int line = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      continue; /* only names can be assigned at the top level */
    }
    const char *key = lua_tostring(L, -2);
    if (!is_known(key))
      return fail(err, errlen, VIGIL_EINVAL, "%s:%d: '%s' is not a setting vigil knows (see docs/config.md)", c->path,
                  line, key);
    char why[160] = "out of memory";
    json_t *value = to_json(L, -1, 0, why, sizeof why);
    if (!value) return fail(err, errlen, VIGIL_EINVAL, "%s:%d: %s: %s", c->path, line, key, why);
    setting *grown = realloc(c->settings, (c->n + 1) * sizeof *grown);
    char *name = strdup(key);
    if (grown) c->settings = grown;
    if (!grown || !name) {
      free(name);
      json_decref(value);
      return VIGIL_ENOMEM;
    }
    c->settings[c->n++] = (setting){name, value, line};
    lua_pop(L, 1);
  }
  if (c->n) qsort(c->settings, c->n, sizeof *c->settings, by_line); /* an empty file: no list at all */
  return 0;
}

int vigil__config_load(const char *path, config **out, char *err, size_t errlen) {
  *out = NULL;
  int rc = 0;
  size_t len = 0;
  char *text = read_file(path, &len, err, errlen, &rc);
  if (!text) return rc;
  config *c = vigil__config_empty();
  limited mem = {0};
  lua_State *L = lua_newstate(limited_alloc, &mem);
  if (!c || !L || !(c->path = strdup(path))) {
    rc = VIGIL_ENOMEM;
  } else if ((rc = run(L, c, text, len, err, errlen)) == 0) {
    rc = collect(L, c, err, errlen);
  }
  if (L) lua_close(L);
  free(text);
  if (rc < 0) {
    if (rc == VIGIL_ENOMEM) snprintf(err, errlen, "%s: out of memory", path);
    vigil__config_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

static const setting *find(const config *c, const char *key) {
  for (size_t i = 0; c && i < c->n; i++)
    if (!strcmp(c->settings[i].key, key)) return &c->settings[i];
  return NULL;
}

json_t *vigil__config_get(const config *c, const char *key) {
  const setting *s = find(c, key);
  return s ? s->value : NULL;
}

const char *vigil__config_where(const config *c, const char *key, char *buf, size_t len) {
  const setting *s = find(c, key);
  if (s)
    snprintf(buf, len, "%s:%d", c->path, s->line);
  else
    snprintf(buf, len, "%s", c && c->path ? c->path : "vigil.conf");
  return buf;
}

int vigil__config_string(const config *c, const char *key, const char *dflt, const char **out, char *err,
                         size_t errlen) {
  json_t *v = vigil__config_get(c, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  if (!json_is_string(v)) {
    char where[4200];
    return fail(err, errlen, VIGIL_EINVAL, "%s: %s must be text (in quotes)",
                vigil__config_where(c, key, where, sizeof where), key);
  }
  *out = json_string_value(v);
  return 0;
}

int vigil__config_duration(const config *c, const char *key, const char *unit, uint64_t unit_ms, double max,
                           uint64_t dflt_ms, uint64_t *out_ms, char *err, size_t errlen) {
  json_t *v = vigil__config_get(c, key);
  if (!v) {
    *out_ms = dflt_ms;
    return 0;
  }
  double x = json_number_value(v);
  if (!json_is_number(v) || !(x > 0) || x > max || (uint64_t)(x * (double)unit_ms) == 0) {
    char where[4200];
    return fail(err, errlen, VIGIL_EINVAL, "%s: %s is a number of %s, more than 0 and at most %g",
                vigil__config_where(c, key, where, sizeof where), key, unit, max);
  }
  *out_ms = (uint64_t)(x * (double)unit_ms);
  return 0;
}

int vigil__config_seconds(const config *c, const char *key, double max, uint64_t dflt_ms, uint64_t *out_ms, char *err,
                          size_t errlen) {
  return vigil__config_duration(c, key, "seconds", 1000, max, dflt_ms, out_ms, err, errlen);
}

char *vigil__config_json(const config *c, const char *key) {
  json_t *v = vigil__config_get(c, key);
  return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}
