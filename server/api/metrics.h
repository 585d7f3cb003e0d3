/* metrics.h: GET /metrics, in Prometheus' text format (version 0.0.4). */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include "api/api_stats.h"
#include "vigil/vigil.h"

/* The exposition text (malloc'd), or NULL when out of memory. */
char *vigil__metrics_text(vigil_engine *e, const api_stats *st, double uptime_s);

#endif
