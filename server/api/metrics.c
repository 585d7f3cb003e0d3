/* metrics.c: what a Prometheus scrape of GET /metrics reads. Gauges are
 * counted at each scrape over the visits in memory; counters are the
 * server's since it started, except vigil_events_total, which is the log's
 * newest sequence number (it survives restarts). */
#include "metrics.h"

#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double vigil__api_commit_bounds[API_COMMIT_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                             0.05,   0.1,   0.25,  0.5,   1,    2.5};

/* The text, in core/base's one growable buffer. */
typedef buf out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vigil__buf_vprintf(o, fmt, ap);
  va_end(ap);
}

static void head(out *o, const char *name, const char *type, const char *help) {
  put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *vigil__metrics_text(vigil_engine *e, const api_stats *st, double uptime_s) {
  static const char *prio[3] = {"low", "medium", "high"};
  vigil_query_counts c;
  vigil_query_count(e, &c);
  vigil_stats es;
  vigil_engine_stats(e, &es);
  out o;
  vigil__buf_init(&o);
  head(&o, "vigil_up", "gauge", "1 while the server runs.");
  put(&o, "vigil_up 1\n");
  head(&o, "vigil_uptime_seconds", "gauge", "Seconds since the server started.");
  put(&o, "vigil_uptime_seconds %.3f\n", uptime_s);
  head(&o, "vigil_visits_active", "gauge", "Visits neither discharged nor aborted.");
  put(&o, "vigil_visits_active %llu\n", (unsigned long long)c.visits_active);
  head(&o, "vigil_alerts_active", "gauge", "Alerts raised and not acknowledged, by priority.");
  for (int i = 2; i >= 0; i--)
    put(&o, "vigil_alerts_active{priority=\"%s\"} %llu\n", prio[i], (unsigned long long)c.alerts_active[i]);
  head(&o, "vigil_alerts_open", "gauge", "Alerts still shown (active, acknowledged or resolved), by priority.");
  for (int i = 2; i >= 0; i--)
    put(&o, "vigil_alerts_open{priority=\"%s\"} %llu\n", prio[i], (unsigned long long)c.alerts_open[i]);
  head(&o, "vigil_events_total", "counter", "Events in the durable log (its newest sequence number).");
  put(&o, "vigil_events_total %llu\n", (unsigned long long)c.last_seq);
  head(&o, "vigil_http_requests_total", "counter", "Requests handed to the API since the start.");
  put(&o, "vigil_http_requests_total %llu\n", (unsigned long long)st->requests);
  head(&o, "vigil_commit_failures_total", "counter", "Group commits that failed (their writes got 503).");
  put(&o, "vigil_commit_failures_total %llu\n", (unsigned long long)st->commit_failures);
  head(&o, "vigil_commit_duration_seconds", "histogram",
       "Time of each group commit of API writes (one store transaction and its fsync).");
  uint64_t cumulative = 0;
  for (int i = 0; i < API_COMMIT_BUCKETS; i++) {
    cumulative += st->commit_buckets[i];
    put(&o, "vigil_commit_duration_seconds_bucket{le=\"%g\"} %llu\n", vigil__api_commit_bounds[i],
        (unsigned long long)cumulative);
  }
  put(&o, "vigil_commit_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)st->commits);
  put(&o, "vigil_commit_duration_seconds_sum %.6f\n", (double)st->commit_ns_total / 1e9);
  put(&o, "vigil_commit_duration_seconds_count %llu\n", (unsigned long long)st->commits);
  head(&o, "vigil_stream_subscribers", "gauge", "Event streams open now.");
  put(&o, "vigil_stream_subscribers %u\n", st->subscribers);
  head(&o, "vigil_stream_dropped_total", "counter", "Event stream subscribers dropped for falling behind.");
  put(&o, "vigil_stream_dropped_total %llu\n", (unsigned long long)st->streams_dropped);
  head(&o, "vigil_subscriber_failures_total", "counter", "Engine subscribers that reported a failure.");
  put(&o, "vigil_subscriber_failures_total %llu\n", (unsigned long long)es.subscriber_failures);
  head(&o, "vigil_http_refusals_total", "counter",
       "Requests refused for who sent them, every one (auth.failed events coalesce them), by reason.");
  put(&o, "vigil_http_refusals_total{reason=\"cross_site\"} %llu\n", (unsigned long long)st->refused_cross_site);
  put(&o, "vigil_http_refusals_total{reason=\"unauthenticated\"} %llu\n",
      (unsigned long long)st->refused_unauthenticated);
  put(&o, "vigil_http_refusals_total{reason=\"bad_password\"} %llu\n", (unsigned long long)st->refused_bad_password);
  put(&o, "vigil_http_refusals_total{reason=\"too_many_attempts\"} %llu\n", (unsigned long long)st->refused_too_many);
  head(&o, "vigil_event_pages_total", "counter",
       "Pages of the log (GET /api/v1/events): built, answered unbuilt because their client had gone, refused "
       "429 past a user's costly reads at once (the lane's kind events)");
  put(&o, "vigil_event_pages_total{outcome=\"built\"} %llu\n", (unsigned long long)st->lane[LANE_EVENTS].built);
  put(&o, "vigil_event_pages_total{outcome=\"client_gone\"} %llu\n",
      (unsigned long long)st->lane[LANE_EVENTS].client_gone);
  put(&o, "vigil_event_pages_total{outcome=\"too_many\"} %llu\n", (unsigned long long)st->lane[LANE_EVENTS].too_many);
  head(&o, "vigil_costly_reads_total", "counter",
       "Costly reads served in the lane (AB3, AC2), by kind: built, answered unbuilt because their client had "
       "gone, refused 429 past a user's costly reads at once.");
  static const char *const kinds[LANE_KINDS] = {"events", "alert_log", "fhir", "course_fhir", "rems", "diff"};
  for (int k = 0; k < LANE_KINDS; k++) {
    put(&o, "vigil_costly_reads_total{kind=\"%s\",outcome=\"built\"} %llu\n", kinds[k],
        (unsigned long long)st->lane[k].built);
    put(&o, "vigil_costly_reads_total{kind=\"%s\",outcome=\"client_gone\"} %llu\n", kinds[k],
        (unsigned long long)st->lane[k].client_gone);
    put(&o, "vigil_costly_reads_total{kind=\"%s\",outcome=\"too_many\"} %llu\n", kinds[k],
        (unsigned long long)st->lane[k].too_many);
  }
  head(&o, "vigil_protocol_diffs_total", "counter",
       "Diffs of two protocol versions asked for (AC1): built whole in a child process, reused as kept, refused "
       "503 busy while another was built, stopped (past the time bound, out of memory: not kept), not built "
       "because their client had gone.");
  put(&o, "vigil_protocol_diffs_total{outcome=\"built\"} %llu\n", (unsigned long long)st->diffs_built);
  put(&o, "vigil_protocol_diffs_total{outcome=\"reused\"} %llu\n", (unsigned long long)st->diffs_reused);
  put(&o, "vigil_protocol_diffs_total{outcome=\"busy\"} %llu\n", (unsigned long long)st->diffs_busy);
  put(&o, "vigil_protocol_diffs_total{outcome=\"stopped\"} %llu\n", (unsigned long long)st->diffs_stopped);
  put(&o, "vigil_protocol_diffs_total{outcome=\"client_gone\"} %llu\n",
      (unsigned long long)st->lane[LANE_DIFF].client_gone);
  head(&o, "vigil_fhir_exports_busy_total", "counter",
       "Visits' FHIR exports refused 503 busy because max_concurrent_exports were being built off the loop (AQ6).");
  put(&o, "vigil_fhir_exports_busy_total %llu\n", (unsigned long long)st->exports_busy);
  head(&o, "vigil_fhir_exports_waited_total", "counter",
       "Visits' FHIR exports that waited for a slot (max_concurrent_exports being built), oldest first (AU4).");
  put(&o, "vigil_fhir_exports_waited_total %llu\n", (unsigned long long)st->exports_waited);
  head(&o, "vigil_visits_not_rebuilt", "gauge",
       "Visits a failed write took out of memory and the store has not answered for yet (not 0: /healthz says "
       "degraded).");
  put(&o, "vigil_visits_not_rebuilt %llu\n", (unsigned long long)es.visits_not_rebuilt);
  head(&o, "vigil_store_writes_total", "counter",
       "Batches of events written to the store by every writer (commands, deadlines' timers, hooks), by outcome.");
  put(&o, "vigil_store_writes_total{outcome=\"committed\"} %llu\n", (unsigned long long)es.writes);
  put(&o, "vigil_store_writes_total{outcome=\"failed\"} %llu\n", (unsigned long long)es.write_failures);
  head(&o, "vigil_lua_bytes", "gauge", "Memory held by the protocols' Lua states.");
  put(&o, "vigil_lua_bytes %zu\n", es.lua_bytes);
  return vigil__buf_take(&o); /* NULL when memory ran out */
}
