/* plugin_filter.h: a site's predicate over events, plugin_dir/NAME.lua,
 * for C plugins that let a site choose what one of their destinations gets
 * (the webhook's `where`). The host (plugin_host.c) offers it to plugins as
 * filter_open, filter_test and filter_close (vigil/plugin.h, level 1.3). */
#ifndef VIGIL_PLUGIN_FILTER_H
#define VIGIL_PLUGIN_FILTER_H

#include <stddef.h>

#include "vigil/plugin.h"
#include "vigil/vigil.h"

typedef struct plugin_filter plugin_filter;

/* Runs dir/NAME.lua in a sandbox of its own (that of Lua site plugins) and
 * keeps the function it returns. 0; or VIGIL_ENOENT (no such file) or
 * VIGIL_EINVAL (it does not load, fails, or returns no function) with
 * "file:line: message" in err. */
int vigil__plugin_filter_open(vigil_engine *e, const char *dir, const char *name, plugin_filter **out, char *err,
                              size_t errlen);
/* Calls the predicate with the event as a table and its visit as it was at
 * that event (visit_at.h; nil for a site event). 1 (a true value), 0 (false
 * or nil), or -1 with "file:line: message" in err. */
int vigil__plugin_filter_test(plugin_filter *f, const vigil_plugin_event *ev, char *err, size_t errlen);
void vigil__plugin_filter_close(plugin_filter *f);

#endif
