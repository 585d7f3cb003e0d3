/* bad_init.c: a plugin whose init registers everything it can and then
 * fails. vigil must refuse it cleanly: its subscription never fires, its
 * metric and status are gone, and its close callback ran ("bad/undone"). */
#include <stdlib.h>
#include <string.h>

#include "vigil/plugin.h"

static const vigil_api *api_;

static int heard(void *ud, const vigil_plugin_event *ev) {
  (void)ev;
  return api_->kv_put(ud, "bad/heard", "1", 1);
}

static void undone(void *ud) { api_->kv_put(ud, "bad/undone", "1", 1); }

static char *status(void *ud) { return strdup("{\"bad\":true}"); }

static int init(vigil_plugin *p, const vigil_api *api, char **err) {
  api_ = api;
  if (api->subscribe(p, "*", heard, p) < 0 || api->on_close(p, undone, p) < 0 ||
      api->metric_set(p, "bad_metric", "gauge", "Never shown.", NULL, 1) < 0 || api->on_status(p, status, p) < 0)
    return VIGIL_EINVAL;
  *err = strdup("its settings say no");
  return VIGIL_EINVAL;
}

VIGIL_PLUGIN_DEFINE("0.0.1", init);
