/* config.h: vigil.conf, the site's settings.
 *
 * The file is Lua, like the protocols the same clinic writes: a list of
 * assignments (`listen = "127.0.0.1:8080"`), comments, nested tables for
 * plugin settings. It runs in an empty environment (no function is
 * reachable, the instructions are counted), so it can only describe, never
 * act. Lua rather than TOML because its authors already read and write it,
 * because its errors already come as file:line, and because Debian's
 * liblua5.4 parses it with nothing added.
 *
 * After it runs, each top-level setting is kept as JSON with the line that
 * set it, so that a wrong type is reported as file:line too and plugins
 * receive their settings as JSON text (vigil__config_json). Unknown top-level
 * names are refused: a misspelt setting must not be silently ignored. */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct config config;

/* Loads path. 0, or a negative VIGIL_E* code with "file:line: message" in
 * err (VIGIL_ENOENT when the file does not exist). */
int vigil__config_load(const char *path, config **out, char *err, size_t errlen);
/* An empty configuration: every setting at its default. */
config *vigil__config_empty(void);
void vigil__config_free(config *c);

/* A top-level setting (borrowed), or NULL when the file does not set it. */
json_t *vigil__config_get(const config *c, const char *key);
/* A string setting, or dflt when absent. Returns -1 with "file:line: key
 * must be text" in err when it is there but is not a string. */
int vigil__config_string(const config *c, const char *key, const char *dflt, const char **out, char *err,
                         size_t errlen);
/* A number of units of unit_ms each (0 < n <= max; unit names them in the
 * error: "hours"), or dflt_ms when absent, as milliseconds. */
int vigil__config_duration(const config *c, const char *key, const char *unit, uint64_t unit_ms, double max,
                           uint64_t dflt_ms, uint64_t *out_ms, char *err, size_t errlen);
/* A number of seconds (0 < n <= max), or dflt when absent, as milliseconds. */
int vigil__config_seconds(const config *c, const char *key, double max, uint64_t dflt_ms, uint64_t *out_ms, char *err,
                          size_t errlen);
/* A setting's value as JSON text (malloc'd), or NULL when absent: how a
 * plugin receives its settings. */
char *vigil__config_json(const config *c, const char *key);
/* "vigil.conf:12", where key was set (or the file's name). */
const char *vigil__config_where(const config *c, const char *key, char *buf, size_t len);

#endif
