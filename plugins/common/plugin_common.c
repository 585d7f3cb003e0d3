/* plugin_common.c: what the shipped plugins share (plugin_common.h). */
#define _GNU_SOURCE
#include "plugin_common/plugin_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- logging ---------------------------------------------------------------------------- */

void vigil__plugin_say(const vigil_api *api, vigil_plugin *p, vigil_plugin_log_level level, const char *fmt, ...) {
  char msg[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  api->log(p, level, msg);
}

int vigil__plugin_refuse(char **err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(err, fmt, ap) < 0) *err = NULL;
  va_end(ap);
  return VIGIL_EINVAL;
}

int vigil__plugin_known_settings(json_t *s, const char *const *known, const char *where, char **err) {
  const char *key;
  json_t *v;
  json_object_foreach(s, key, v) {
    (void)v;
    size_t i = 0;
    while (known[i] && strcmp(known[i], key))
      i++;
    if (known[i]) continue;
    char list[512] = "";
    for (i = 0; known[i]; i++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", known[i]);
    return vigil__plugin_refuse(err, "%s: unknown setting '%s' (a misspelling?): the settings are %s", where, key,
                                list);
  }
  return 0;
}

/* ---- event-type filters ----------------------------------------------------------------- */

int vigil__plugin_types_read(vigil__plugin_types *t, json_t *types, const char *dflt, const char *setting, char **err) {
  size_t n = !types ? 1 : json_is_string(types) ? 1 : json_is_array(types) ? json_array_size(types) : 0;
  if (!n) return vigil__plugin_refuse(err, "%s: a pattern (\"alert.*\") or a list of them", setting);
  if (!(t->pattern = calloc(n, sizeof *t->pattern))) return -1;
  for (size_t i = 0; i < n; i++) {
    json_t *v = !types ? NULL : json_is_string(types) ? types : json_array_get(types, i);
    const char *pattern = v ? json_string_value(v) : dflt;
    if (!pattern) return vigil__plugin_refuse(err, "%s[%zu] is not text", setting, i + 1);
    if (!(t->pattern[t->n++] = strdup(pattern))) return -1;
  }
  return 0;
}

int vigil__plugin_types_wanted(const vigil__plugin_types *t, const vigil_api *api, vigil_plugin *p, const char *type) {
  for (size_t i = 0; i < t->n; i++)
    if (api->type_matches(p, t->pattern[i], type) == 1) return 1;
  return 0;
}

void vigil__plugin_types_free(vigil__plugin_types *t) {
  for (size_t i = 0; i < t->n; i++)
    free(t->pattern[i]);
  free(t->pattern);
  t->pattern = NULL;
  t->n = 0;
}

/* ---- where ------------------------------------------------------------------------------ */

int vigil__plugin_where_open(const vigil_api *api, vigil_plugin *p, json_t *where, const char *setting, char **name,
                             vigil_filter **f, char **err) {
  if (!json_is_string(where))
    return vigil__plugin_refuse(err, "%s names a Lua file of plugin_dir, without .lua", setting);
  if (!(*name = strdup(json_string_value(where)))) return -1;
  char why[1024];
  if (api->filter_open(p, *name, f, why, sizeof why) < 0) return vigil__plugin_refuse(err, "%s: %s", setting, why);
  return 0;
}

/* ---- cursors ---------------------------------------------------------------------------- */

int vigil__plugin_cursor_load(const vigil_api *api, vigil_plugin *p, const char *key, uint64_t *seq) {
  void *v;
  size_t len;
  if (api->kv_get(p, key, &v, &len) != 0) return 0;
  char text[32];
  snprintf(text, sizeof text, "%.*s", (int)(len < sizeof text - 1 ? len : sizeof text - 1), (const char *)v);
  api->free(v);
  *seq = strtoull(text, NULL, 10);
  return 1;
}

int vigil__plugin_cursor_save(const vigil_api *api, vigil_plugin *p, const char *key, uint64_t seq) {
  char text[32];
  int n = snprintf(text, sizeof text, "%llu", (unsigned long long)seq);
  return api->kv_put(p, key, text, (size_t)n);
}

uint64_t vigil__plugin_cursor_open(const vigil_api *api, vigil_plugin *p, const char *key, uint64_t start) {
  uint64_t seq;
  if (vigil__plugin_cursor_load(api, p, key, &seq)) return seq;
  vigil__plugin_cursor_save(api, p, key, start);
  return start;
}

int vigil__plugin_start_read(json_t *start, const char *setting, int *from_beginning, char **err) {
  const char *s = json_string_value(start);
  if (s && strcmp(s, "now") && strcmp(s, "beginning"))
    return vigil__plugin_refuse(err, "%s: \"now\" (the default) or \"beginning\" of the log, not '%s'", setting, s);
  *from_beginning = s && !strcmp(s, "beginning");
  return 0;
}

uint64_t vigil__plugin_backlog(const vigil_api *api, vigil_plugin *p, uint64_t cursor) {
  uint64_t last = api->last_seq(p);
  return last > cursor ? last - cursor : 0;
}

double vigil__plugin_backoff_ms(double min_ms, double max_ms, unsigned attempts) {
  double ms = min_ms;
  for (unsigned i = 1; i < attempts && ms < max_ms; i++)
    ms *= 2;
  return ms < max_ms ? ms : max_ms;
}

unsigned vigil__plugin_digest32(const char *bytes, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)bytes[i]) * 0x100000001b3ull;
  return (unsigned)(h ^ (h >> 32));
}

/* ---- libuv ------------------------------------------------------------------------------- */

void vigil__plugin_uv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)h;
  b->base = malloc(suggested);
  b->len = b->base ? suggested : 0;
}

void vigil__plugin_uv_written(uv_write_t *w, int status) {
  (void)status;
  free(w->data);
  free(w);
}

/* ---- growth -------------------------------------------------------------------------------- */

void *vigil__plugin_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first) {
  if (need <= *cap && p) return p;
  size_t n = *cap ? *cap : (first ? first : 1);
  while (n < need) {
    if (n > (size_t)-1 / 2) return NULL;
    n *= 2;
  }
  if (!elem || n > (size_t)-1 / elem) return NULL;
  void *grown = realloc(p, n * elem);
  if (grown) *cap = n;
  return grown;
}
