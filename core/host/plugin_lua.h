/* plugin_lua.h: Lua site plugins (plugin_dir/NAME.lua) behind the C plugin
 * ABI: the host loads one as it would a C plugin whose init is this. */
#ifndef VIGIL_PLUGIN_LUA_H
#define VIGIL_PLUGIN_LUA_H

#include "vigil/plugin.h"

/* A site plugin (and a site's event filter, plugin_filter.c) does little per
 * event: a smaller state and budget than a protocol's. */
#define LUA_PLUGIN_CAP ((size_t)8 << 20)
#define LUA_PLUGIN_BUDGET 1000000ull

struct sandbox;
/* Runs the body of file (a name in the sandbox's folder) once, as a site
 * plugin's or filter's, and leaves its one result on the stack. LUA_OK, or
 * the Lua status with "file:line: message" in err. */
int vigil__plugin_lua_run(struct sandbox *sb, const char *file, char *err, size_t errlen);

/* Runs the plugin's file (path, as the host found it) in a sandbox and
 * subscribes what it returns under `on`. The host's init of a Lua site
 * plugin calls it with the plugin's path. */
int vigil__plugin_lua_init(vigil_plugin *p, const vigil_api *api, const char *path, char **err);

#endif
