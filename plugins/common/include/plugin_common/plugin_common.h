/* plugin_common.h: what the shipped plugins (jsonl, mqtt, webhook, hl7)
 * would otherwise each write again, in one small library of plugins/common
 * (docs/architecture.md). It sees include/vigil/plugin.h and nothing else of
 * vigil, as the plugins themselves; it is linked into each plugin's shared
 * object, its symbols hidden there.
 *
 *  - logging: a formatted line to vigil's log, attributed to the plugin;
 *    a refusal of the settings as init's *err.
 *  - event-type filters: the `types` setting (a pattern, or a list of
 *    them) read once, and whether an event's type is one of them.
 *  - `where`: a site's Lua predicate named by the settings, opened.
 *  - cursors, the at-least-once bookkeeping of an outbox read from the event
 *    log: a seq kept under a key of the plugin's durable namespace, the
 *    `start` setting (now or the beginning of the log), the backlog behind
 *    a cursor, the backoff between attempts.
 *  - libuv: the read buffer's alloc callback and the write callback that
 *    frees a write request and its data.
 *  - growth: an array or a byte buffer made larger, doubling.
 *
 * Every function runs on vigil's loop thread, as the plugins' callbacks. */
#ifndef VIGIL_PLUGIN_COMMON_H
#define VIGIL_PLUGIN_COMMON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "vigil/plugin.h"

/* ---- logging ---------------------------------------------------------------------------- */

/* One line (at most 1200 bytes) to vigil's log, attributed to p. */
void vigil__plugin_say(const vigil_api *api, vigil_plugin *p, vigil_plugin_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* *err = the sentence (malloc'd, for init's err; NULL when out of memory);
 * returns VIGIL_EINVAL, so `return vigil__plugin_refuse(err, ...)`. */
int vigil__plugin_refuse(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* docs/plugins.md: a plugin refuses a setting it does not know, so that a
 * misspelt one is not silently its default. s an object of settings, known
 * a NULL-terminated list, where the settings' name ("plugins.hl7"): 0, or
 * VIGIL_EINVAL with *err naming the key and the ones known. */
int vigil__plugin_known_settings(json_t *s, const char *const *known, const char *where, char **err);

/* ---- event-type filters ----------------------------------------------------------------- */

/* The patterns of a `types` setting ("alert.*", "item.overdue", "*"). */
typedef struct vigil__plugin_types {
  char **pattern;
  size_t n;
} vigil__plugin_types;

/* Reads `types` (the setting's value; NULL when absent, then the one pattern
 * dflt): a pattern or an array of them. 0; VIGIL_ENOMEM out of memory; VIGIL_EINVAL with *err
 * "<setting>: a pattern (\"alert.*\") or a list of them" or
 * "<setting>[i] is not text" (setting: how the settings name it, as
 * "plugins.jsonl.types"). What is read so far is kept in *t either way:
 * vigil__plugin_types_free frees it. */
int vigil__plugin_types_read(vigil__plugin_types *t, json_t *types, const char *dflt, const char *setting, char **err);
/* 1 when type matches one of the patterns (api->type_matches), else 0. */
int vigil__plugin_types_wanted(const vigil__plugin_types *t, const vigil_api *api, vigil_plugin *p, const char *type);
void vigil__plugin_types_free(vigil__plugin_types *t);

/* ---- where: a site's predicate ---------------------------------------------------------- */

/* Opens the predicate that `where` (the setting's value, not NULL) names:
 * *name (malloc'd) and *f. 0; VIGIL_ENOMEM out of memory; VIGIL_EINVAL with *err
 * "<setting> names a Lua file of plugin_dir, without .lua" when it is not
 * text, or "<setting>: <file:line: why>" when vigil cannot open it. */
int vigil__plugin_where_open(const vigil_api *api, vigil_plugin *p, json_t *where, const char *setting, char **name,
                             vigil_filter **f, char **err);

/* ---- cursors: at least once, from the event log ----------------------------------------- */

/* The seq kept under key in the plugin's namespace: 1 with *seq, or 0 when
 * the key is not there (or cannot be read: vigil has logged why). */
int vigil__plugin_cursor_load(const vigil_api *api, vigil_plugin *p, const char *key, uint64_t *seq);
/* Keeps seq under key, durably when it returns 0 (else vigil's code). */
int vigil__plugin_cursor_save(const vigil_api *api, vigil_plugin *p, const char *key, uint64_t seq);
/* The seq under key; when none is kept, start (kept at once, so a new
 * cursor starts where the log was when it was made). */
uint64_t vigil__plugin_cursor_open(const vigil_api *api, vigil_plugin *p, const char *key, uint64_t start);
/* Reads the `start` setting (NULL when absent): "now" (the default, *from_beginning 0)
 * or "beginning" (1). 0, or VIGIL_EINVAL with *err naming setting. */
int vigil__plugin_start_read(json_t *start, const char *setting, int *from_beginning, char **err);
/* The events after cursor, as far as the log goes now (an upper bound of
 * what is left to send). */
uint64_t vigil__plugin_backlog(const vigil_api *api, vigil_plugin *p, uint64_t cursor);
/* The wait before attempt `attempts` + 1 after `attempts` failures: min_ms,
 * doubled at each failure after the first, at most max_ms. */
double vigil__plugin_backoff_ms(double min_ms, double max_ms, unsigned attempts);
/* 32 bits of FNV-1a over len bytes: tells two contents apart where one id
 * names both (not a cryptographic digest). */
unsigned vigil__plugin_digest32(const char *bytes, size_t len);

/* ---- libuv ------------------------------------------------------------------------------- */

/* uv_read_start's alloc callback: a malloc'd buffer of the suggested size
 * (len 0 when out of memory, which libuv reads as UV_ENOBUFS); the read
 * callback frees b->base. */
void vigil__plugin_uv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
/* uv_write's callback for a request malloc'd with its bytes in w->data:
 * frees both. A failed write shows as a read error or a timeout. */
void vigil__plugin_uv_written(uv_write_t *w, int status);

/* ---- growth -------------------------------------------------------------------------------- */

/* The array p of *cap elements of elem bytes, made room for need (at
 * least 1) of them, doubling from first (or from *cap when it is not 0):
 * the array, moved perhaps, with *cap set; or NULL when out of memory or
 * the size would overflow (p and *cap unchanged). The one growth loop of
 * the plugins, as core/base's vigil__grow is the core's. */
void *vigil__plugin_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first);

#endif
