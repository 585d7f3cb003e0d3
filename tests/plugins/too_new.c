/* too_new.c: a plugin that needs a newer minor ABI level than this vigil
 * has (entries its table does not have). vigil must refuse it before
 * running any of its code. */
#include "vigil/plugin.h"

static int init(vigil_plugin *p, const vigil_api *api, char **err) { return api->kv_put(p, "ran", "1", 1); }

VIGIL_PLUGIN_EXPORT const vigil_plugin_def vigil_plugin_entry = {VIGIL_PLUGIN_ABI_MAJOR, VIGIL_PLUGIN_ABI_MINOR + 1,
                                                                 VIGIL_PLUGIN_SIGNATURE, "9.9.9", init};
