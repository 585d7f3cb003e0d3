/* plugin_host.h: loads the plugins a site configures and runs them on the
 * engine's hook bus.
 *
 * Plugins are named in the configuration (`plugins = { webhook = {...} }`)
 * and found only in the configured plugin folder: NAME.so is a C plugin
 * (include/vigil/plugin.h), NAME.lua a Lua site plugin (plugin_lua.c). No
 * folder, no plugins. A plugin that cannot load or whose init fails is
 * reported and left out; the others run. */
#ifndef VIGIL_PLUGIN_HOST_H
#define VIGIL_PLUGIN_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/plugin.h"
#include "vigil/vigil.h"

typedef struct plugin_host plugin_host;

/* level, the plugin's name (NULL for the host itself), a sentence. */
typedef void (*plugin_log_fn)(void *ud, vigil_log_level level, const char *plugin, const char *msg);

typedef struct plugin_host_options {
  vigil_engine *engine;
  void *loop;               /* the uv_loop_t * the engine runs on */
  const char *dir;          /* the plugin folder; NULL: none (then naming a plugin is an error) */
  const char *plugins_json; /* {"name": {settings}, ...}; NULL: no plugins */
  uint64_t slow_ms;         /* a callback taking longer is reported; 0: 100 ms */
  plugin_log_fn log;        /* NULL: stderr */
  void *log_ud;
  /* The site of a cluster node (docs/deploy.md): each plugin's rows in the
   * store are that site's (namespace plugin.NAME@SITE, shared by the nodes
   * that may own the site). NULL: one server (plugin.NAME). */
  const char *site;
  /* vigil.conf's site.timezone (an IANA name), for api->timezone; NULL: none set. */
  const char *timezone;
} plugin_host_options;

/* Loads and initialises every configured plugin, in name order. Fails (with
 * a sentence in err) only when the configuration itself is wrong: not an
 * object, a name that is not [a-z0-9_-], plugins without a folder. A plugin
 * that is missing or refused is logged and shown as failed in the status. */
int vigil__plugin_host_new(const plugin_host_options *o, plugin_host **out, char *err, size_t errlen);

/* On a node of a cluster, refuses (VIGIL_EINVAL, a sentence in err) a
 * plugin's `sites` table naming a site that is not in the node's list
 * (sites_csv, "east,west"): such settings are never used on this node, and
 * a misspelt site name would leave that site on the plugin's shared
 * settings, its alarms sent to another site's receiver (AJ1 of
 * docs/deploy.md). 0 when every name is one of the node's sites. */
int vigil__plugin_sites_check(const char *plugins_json, const char *sites_csv, char *err, size_t errlen);

/* How many plugins run, and how many were refused. */
void vigil__plugin_host_counts(const plugin_host *h, unsigned *running, unsigned *failed);
/* How many running plugins say in their status that they cannot do their
 * work: a member "degraded" holding a sentence (docs/plugins.md; the hl7
 * plugin's listener waiting for its port, its alarm link down past
 * link_alert_after_ms). */
unsigned vigil__plugin_host_degraded(const plugin_host *h);

/* Runs every plugin's close callbacks and ends their subscriptions; call it
 * before the engine is freed. */
void vigil__plugin_host_close(plugin_host *h);
/* Unloads the plugins; call it once the loop has closed their handles. */
void vigil__plugin_host_free(plugin_host *h);

/* {"plugins": [...]} for GET /api/v1/plugins (malloc'd), or NULL. */
char *vigil__plugin_host_status_json(plugin_host *h);
/* Their lines of GET /metrics, Prometheus text (malloc'd), or NULL. */
char *vigil__plugin_host_metrics_text(plugin_host *h);
/* The same for the hosts of every site a node serves (NULL entries left
 * out): each family once, each line labelled with its host's site. */
char *vigil__plugin_hosts_metrics_text(plugin_host *const *hosts, size_t n_hosts);

#endif
