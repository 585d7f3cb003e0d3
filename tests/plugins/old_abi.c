/* old_abi.c: a plugin built against ABI level 1.0 (the saved copy of the
 * header beside it), whose vigil_api table is shorter than today's. It must
 * load and work on this vigil: it records each alert it hears as
 * "old/<seq>" = type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_abi_1_0.h"

typedef struct old {
  vigil_plugin *p;
  const vigil_api *api;
} old;

static int on_alert(void *ud, const vigil_plugin_event *ev) {
  old *o = ud;
  char key[64];
  snprintf(key, sizeof key, "old/%010llu", (unsigned long long)ev->seq);
  return o->api->kv_put(o->p, key, ev->type, strlen(ev->type));
}

static int init(vigil_plugin *p, const vigil_api *api, char **err) {
  /* The table vigil gives is at least the one this plugin knows. */
  if (api->abi_major != 1 || api->size < sizeof(vigil_api)) {
    *err = strdup("the table is smaller than level 1.0's");
    return -2;
  }
  old *o = malloc(sizeof *o);
  if (!o) return -1;
  o->p = p;
  o->api = api;
  int rc = api->on_close(p, free, o);
  if (rc < 0) {
    free(o);
    return rc;
  }
  return api->subscribe(p, "alert.*", on_alert, o);
}

VIGIL_PLUGIN_DEFINE("1.0.0", init);
