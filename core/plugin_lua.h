/* plugin_lua.h: Lua site plugins (plugin_dir/NAME.lua) behind the C plugin
 * ABI: the host loads one as it would a C plugin whose init is this. */
#ifndef VIGIL_PLUGIN_LUA_H
#define VIGIL_PLUGIN_LUA_H

#include "vigil/plugin.h"

/* Runs the plugin's file (plugin_path(p)) in a sandbox and subscribes what
 * it returns under `on`. */
int plugin_lua_init(vigil_plugin *p, const vigil_api *api, char **err);

#endif
