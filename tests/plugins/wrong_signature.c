/* wrong_signature.c: a plugin as if built where pointers have another size.
 * vigil must refuse it before running any of its code. */
#include "vigil/plugin.h"

static int init(vigil_plugin *p, const vigil_api *api, char **err) { return api->kv_put(p, "ran", "1", 1); }

VIGIL_PLUGIN_EXPORT const vigil_plugin_def vigil_plugin_entry = {VIGIL_PLUGIN_ABI_MAJOR, VIGIL_PLUGIN_ABI_MINOR,
                                                                 "vigil-plugin:1:ptr4:long4:size4:le", "0.0.1", init};
