/* plugin.h: vigil's C plugin ABI. A plugin is a shared object that hears
 * the events it subscribes to, once they are durable, and may keep a little
 * durable state of its own. docs/plugins.md is the guide.
 *
 * The contract, as SQLite's loadable extensions and nginx's modules keep it:
 *
 *  - A plugin exports one symbol, `vigil_plugin_entry` (VIGIL_PLUGIN_DEFINE
 *    writes it): the ABI level it was built against, a build signature, its
 *    version and its init function. vigil reads it and refuses the plugin,
 *    without running any of its code, when the major level differs, when the
 *    plugin wants a newer minor level than vigil has, or when the signature
 *    (type sizes, byte order) differs from vigil's.
 *
 *  - Everything a plugin can ask of vigil is in one table of functions,
 *    vigil_api, that starts with its level and its size and only ever grows
 *    at the end: a plugin built against an older header sees the prefix it
 *    knows, and runs unchanged. An entry is never removed or changed; one
 *    that has to go becomes a function that fails with VIGIL_EINVAL.
 *
 *  - Payloads (vigil_plugin_event) start with their size and grow the same
 *    way: read a newer field only when VIGIL_PLUGIN_EVENT_HAS(ev, field).
 *
 *  - Subscriptions, close and status callbacks are registered only during
 *    init. When init fails, vigil undoes everything it registered (its close
 *    callbacks run first, so init may return at any point) and the other
 *    plugins go on. A callback that returns non-zero is reported and
 *    counted, and never stops the other subscribers; one that takes long is
 *    reported.
 *
 *  - Everything runs on vigil's one libuv loop thread. Callbacks must not
 *    block: a plugin that talks to the network uses the loop (api->loop).
 *
 * This header needs nothing but the C standard library. Functions return 0
 * or a negative VIGIL_E* code, named in errors.h (the list vigil.h has). */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI level this header describes. The major changes only if the table
 * or the entry must change incompatibly (it has not); the minor grows with
 * each set of functions appended to vigil_api. */
#define VIGIL_PLUGIN_ABI_MAJOR 1
#define VIGIL_PLUGIN_ABI_MINOR 8

/* The event schema of vigil_plugin_event.json (docs/events.md): the same
 * JSON as the event stream, webhooks, JSON lines and MQTT carry. */
#define VIGIL_EVENT_SCHEMA 1

/* What the build signature is made of: what would make a plugin built
 * elsewhere read vigil's structures wrongly even at the same level. */
#define VIGIL_PLUGIN_STR2_(x) #x
#define VIGIL_PLUGIN_STR_(x) VIGIL_PLUGIN_STR2_(x)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define VIGIL_PLUGIN_ORDER_ "be"
#else
#define VIGIL_PLUGIN_ORDER_ "le"
#endif
#define VIGIL_PLUGIN_SIGNATURE                                                                                         \
  "vigil-plugin:" VIGIL_PLUGIN_STR_(VIGIL_PLUGIN_ABI_MAJOR) ":ptr" VIGIL_PLUGIN_STR_(                                  \
      __SIZEOF_POINTER__) ":long" VIGIL_PLUGIN_STR_(__SIZEOF_LONG__) ":size" VIGIL_PLUGIN_STR_(__SIZEOF_SIZE_T__) ":" VIGIL_PLUGIN_ORDER_

/* One plugin as vigil holds it; opaque. */
typedef struct vigil_plugin vigil_plugin;
/* A site's Lua predicate over events (filter_open); opaque. */
typedef struct vigil_filter vigil_filter;

/* An event, once durable. Valid only during the call that receives it. */
typedef struct vigil_plugin_event {
  uint32_t size;   /* sizeof as vigil filled it: fields beyond are absent */
  uint32_t schema; /* VIGIL_EVENT_SCHEMA of json */
  uint64_t seq;    /* gap-free, increasing: the event's id */
  int64_t time_ms; /* UTC, ms since the epoch */
  uint64_t visit;
  const char *type;  /* "alert.raised" */
  const char *actor; /* who did it; "vigil" for the engine itself */
  const char *json;  /* the whole event, NUL-terminated (docs/events.md) */
  size_t json_len;
} vigil_plugin_event;

/* Whether an event that vigil built carries field. */
#define VIGIL_PLUGIN_EVENT_HAS(ev, field)                                                                              \
  ((size_t)(ev)->size >= offsetof(vigil_plugin_event, field) + sizeof((ev)->field))

/* An event callback: 0, or non-zero to report a failure (logged and counted
 * against the plugin). */
typedef int (*vigil_plugin_event_fn)(void *ud, const vigil_plugin_event *ev);
/* A key-value callback: non-zero stops the scan. */
typedef int (*vigil_plugin_kv_fn)(void *ud, const char *key, const void *value, size_t len);

typedef enum vigil_plugin_log_level {
  VIGIL_PLUGIN_LOG_ERROR = 0,
  VIGIL_PLUGIN_LOG_WARN = 1,
  VIGIL_PLUGIN_LOG_INFO = 2
} vigil_plugin_log_level;

/* What vigil offers a plugin. Append-only: never reorder, never remove. */
typedef struct vigil_api {
  uint16_t abi_major; /* VIGIL_PLUGIN_ABI_MAJOR of the running vigil */
  uint16_t abi_minor; /* its minor level: entries of newer levels are absent */
  uint32_t size;      /* sizeof(vigil_api) in the running vigil */

  /* ---- level 1.0 ---- */

  /* The name the configuration gives the plugin ("webhook"). */
  const char *(*name)(vigil_plugin *p);
  /* The plugin's settings as JSON text (its entry under `plugins` in
   * vigil.conf), "{}" when it has none. Valid while the plugin is loaded. */
  const char *(*settings)(vigil_plugin *p);
  /* Calls fn(ud, event) for every durable event whose type matches pattern:
   * "*", a prefix "alert.*", or an exact type "item.overdue". Only during
   * init (VIGIL_ESTATE after); VIGIL_EINVAL when the pattern matches no
   * type. */
  int (*subscribe)(vigil_plugin *p, const char *pattern, vigil_plugin_event_fn fn, void *ud);
  /* fn(ud) runs when vigil stops (before the engine closes, so the store is
   * still there) or when init fails. Only during init; the last registered
   * runs first. */
  int (*on_close)(vigil_plugin *p, void (*fn)(void *ud), void *ud);
  /* One line to vigil's log, attributed to the plugin. */
  void (*log)(vigil_plugin *p, vigil_plugin_log_level level, const char *message);
  /* vigil's libuv loop (a uv_loop_t *): timers, sockets, polls of the plugin
   * go on it. Handles must be closed in the close callback; vigil runs the
   * loop until they are closed before it unloads the plugin. */
  void *(*loop)(vigil_plugin *p);
  /* The engine's clock: ms since the epoch (simulated under a test clock). */
  int64_t (*now_ms)(vigil_plugin *p);
  /* The newest durable event's seq (0: none). */
  uint64_t (*last_seq)(vigil_plugin *p);
  /* Calls fn for every durable event with seq > after, in order, until fn
   * returns non-zero (which is not a failure). What makes an outbox of the
   * event log: keep a cursor, read from it. Do not call kv_put from fn. */
  int (*events_after)(vigil_plugin *p, uint64_t after, vigil_plugin_event_fn fn, void *ud);
  /* The plugin's durable key-value namespace ("plugin.<name>" in the
   * store). kv_put is durable when it returns; value NULL deletes. kv_get
   * gives a copy to release with api->free, or VIGIL_ENOENT. kv_scan
   * walks the keys in order. Keys are text, at most 256 bytes. */
  int (*kv_put)(vigil_plugin *p, const char *key, const void *value, size_t len);
  int (*kv_get)(vigil_plugin *p, const char *key, void **value, size_t *len);
  int (*kv_scan)(vigil_plugin *p, vigil_plugin_kv_fn fn, void *ud);
  void (*free)(void *ptr);

  /* ---- level 1.1 ---- */

  /* fn(ud) returns the plugin's status as a JSON object (malloc'd; vigil
   * frees it), shown under the plugin in GET /api/v1/plugins. Only during
   * init. */
  int (*on_status)(vigil_plugin *p, char *(*fn)(void *ud), void *ud);
  /* Sets a gauge or counter that GET /metrics shows as
   * vigil_plugin_<plugin>_<name>{plugin="<plugin>"[,labels]} value (a
   * counter's name gains _total when it lacks it; a gauge's must not end in
   * _total; a name that would be another's family is refused). name: [a-z0-9_];
   * labels: NULL or Prometheus label pairs ("endpoint=\"ehr\""); type:
   * "gauge" or "counter". help is shown once per name. */
  int (*metric_set)(vigil_plugin *p, const char *name, const char *type, const char *help, const char *labels,
                    double value);

  /* ---- level 1.2 ---- */

  /* 1 when type ("alert.raised") matches pattern as subscriptions do, else 0;
   * VIGIL_EINVAL when the pattern matches no type at all. For plugins
   * that filter with their users' patterns. */
  int (*type_matches)(vigil_plugin *p, const char *pattern, const char *type);
  /* Alerts now, by priority ([0] low, [1] medium, [2] high): active (raised,
   * not acknowledged) and open (still shown). Either may be NULL. */
  void (*alert_counts)(vigil_plugin *p, uint64_t active[3], uint64_t open[3]);

  /* ---- level 1.3 ---- */

  /* Opens the site's predicate plugin_dir/NAME.lua (NAME: a-z, digits, '_',
   * '-'), which returns function(event, visit) -> true or false, in the
   * sandbox of Lua site plugins. Only during init. 0 with *f; or a negative
   * code with "file:line: message" in err (VIGIL_ENOENT: no such file,
   * VIGIL_EINVAL: it does not load or return a function). vigil closes the
   * filters a plugin leaves open when it stops or its init fails. */
  int (*filter_open)(vigil_plugin *p, const char *name, vigil_filter **f, char *err, size_t errlen);
  /* 1 when the predicate holds for ev, 0 when it does not, -1 when it
   * failed (an error, its instruction budget or memory cap): then vigil has
   * logged it with file:line and counted a failure of the plugin, and err
   * (may be NULL) says why. What a failure means is the plugin's to decide
   * and document. `visit` is the event's visit as it was at that event,
   * read from the log (docs/plugins.md), so the same event always gets the
   * same answer: call it from events_after as well as from a subscription. */
  int (*filter_test)(vigil_filter *f, const vigil_plugin_event *ev, char *err, size_t errlen);
  /* Frees it; NULL is fine. In a close callback at the latest. */
  void (*filter_close)(vigil_filter *f);

  /* ---- level 1.4 ---- */

  /* Records what a hospital's system says of a patient (docs/hl7.md)
   * through the engine's one write path, as a site event of type
   * "patient.recorded" (fields_json: the whole record, with "patient", the
   * reference visits use) or "patient.merged" (the surviving patient's
   * record with "merged_from", the reference it absorbs). In the same store
   * transaction as the event vigil keeps the patient's record (what
   * GET /api/v1/patients/{patient} and the exports show; a merged patient's
   * says merged_into) and, when kv_key is not NULL, the plugin's own key
   * kv_key = kv_value: a message's control id is never kept without the
   * record it brought, nor the record without it. Durable, and not before,
   * when the event reaches the plugin's subscriptions (subscribe to
   * "patient.*"): during this call outside a batch, or at the commit of the
   * loop turn's batch (a failed commit never delivers it). 0; or a negative
   * code with a sentence in err (VIGIL_EINVAL: not a patient event type,
   * not a JSON object, no valid "patient"). Not during init. */
  int (*patient_record)(vigil_plugin *p, const char *type, const char *fields_json, const char *kv_key,
                        const void *kv_value, size_t kv_len, char *err, size_t errlen);

  /* ---- level 1.5 ---- */

  /* The site whose events this plugin hears on a node of a cluster
   * (docs/deploy.md: one plugin instance per site the node owns, each with
   * its own sequence numbers), or NULL on a single server. */
  const char *(*site)(vigil_plugin *p);

  /* ---- level 1.6 ---- */

  /* Records what a system vigil reported an alert to (an alarm manager,
   * docs/hl7.md) said of it, as an "alert.reported" event in the alert's
   * visit's history (visit: the visit of its alert.raised, 0 for a course
   * alert): fields_json is a JSON object with "status" (the plugin's word:
   * "accepted", "refused", "delivered", "read", ...) and what else the
   * plugin keeps ("code", "text", "control_id", ...); vigil adds "alert".
   * It changes nothing of the alert: only staff acknowledge one. When kv_key
   * is not NULL the plugin's key kv_key = kv_value is written in the event's
   * transaction, so a plugin that looks the key up first records each answer
   * once across restarts. Durable as patient_record's event is. 0; or a
   * negative code with a sentence in err (VIGIL_ENOENT: no such alert in that
   * visit; VIGIL_EINVAL: no status). Not during init. */
  int (*alert_reported)(vigil_plugin *p, uint64_t visit, uint64_t alert, const char *fields_json, const char *kv_key,
                        const void *kv_value, size_t kv_len, char *err, size_t errlen);

  /* ---- level 1.7 ---- */

  /* The visit's whole state as GET /api/v1/visits/{id} gives it (closed
   * visits too): its patient and location, and each item's fields with
   * their title, unit (UCUM) and LOINC code as the protocol declares them,
   * the mapping the FHIR export reads (docs/hl7.md: vitals out). A copy to
   * release with api->free, or NULL when there is no such visit. Not for an
   * events_after callback. */
  char *(*visit_json)(vigil_plugin *p, uint64_t visit);

  /* ---- level 1.8 ---- */

  /* The site's time zone as vigil.conf's site.timezone names it (an IANA
   * name, "Europe/London", of /usr/share/zoneinfo), or NULL when the site
   * names none. For a plugin that reads times another system sends without
   * a zone offset (docs/hl7.md J1). Valid while the plugin is loaded. */
  const char *(*timezone)(vigil_plugin *p);
} vigil_api;

/* The one symbol a plugin exports. Append-only as well. */
typedef struct vigil_plugin_def {
  uint32_t abi_major;    /* VIGIL_PLUGIN_ABI_MAJOR the plugin was built against */
  uint32_t abi_minor;    /* ... and its minor: the newest entries it may use */
  const char *signature; /* VIGIL_PLUGIN_SIGNATURE */
  const char *version;   /* the plugin's own version, for the logs */
  /* Subscribes and registers what it needs. 0; or a negative VIGIL_E* code
   * with, in *err, a sentence saying why (malloc'd; vigil frees it). */
  int (*init)(vigil_plugin *p, const vigil_api *api, char **err);
} vigil_plugin_def;

#if defined(_WIN32)
#define VIGIL_PLUGIN_EXPORT __declspec(dllexport)
#else
#define VIGIL_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* Defines the entry symbol: VIGIL_PLUGIN_DEFINE("1.0.0", my_init); */
#define VIGIL_PLUGIN_DEFINE(version_, init_)                                                                           \
  VIGIL_PLUGIN_EXPORT const vigil_plugin_def vigil_plugin_entry = {VIGIL_PLUGIN_ABI_MAJOR, VIGIL_PLUGIN_ABI_MINOR,     \
                                                                   VIGIL_PLUGIN_SIGNATURE, version_, init_}

#ifdef __cplusplus
}
#endif
#endif
