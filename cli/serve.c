/* serve.c: vigil serve: the engine behind the HTTP API, on one libuv loop.
 *
 * One process, one loop: the HTTP server, the engine's timers and the
 * commits share it. Logs are JSON, one line each, to standard error: every
 * request, what the engine reports, start and stop. SIGTERM or SIGINT stop
 * accepting, let the current commit finish and its answers go out, end the
 * event streams, close, and exit 0. */
#define _GNU_SOURCE /* gmtime_r */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>
#include <uv.h>

#include "api/api.h"
#include "base/buf.h"
#include "cli.h"
#include "cluster.h"
#include "config/config.h"
#include "engine/inspect.h"
#include "engine/site.h"
#include "store/protocol_version.h"
#include "auth/users.h"
#include "http/http.h"
#include "host/plugin_host.h"
#include "store/store.h"
#include "vigil/vigil.h"

/* A site this process serves: its engine (its log, its deadlines), its api
 * (requests naming the site), its plugins, and on a node of a cluster its
 * lease. A single server has one; a node one per site it owns. */
#define MAX_SITES 64
typedef struct site_unit {
  struct server_ctx *s;
  char name[80];
  vigil_engine *e;
  api *api;
  plugin_host *plugins;
  cluster_node *lease;
  char **refs;
  size_t n_refs;
  int64_t claimed_ms;   /* wall clock: deadlines due before it fell due while no node had the site */
  int64_t claimed_mono; /* monotonic clock: the lease counts from it */
  int took_over;        /* claimed after its last owner stopped without giving it up */
  int closing, closed;  /* lost: its api is closing / everything of it is closed */
} site_unit;

/* Timer lateness after a takeover (seconds): the histogram's bounds. */
static const double LATENESS_BOUNDS[] = {0.1, 0.5, 1, 2, 5, 10, 30, 60, 300};
#define N_LATENESS (sizeof LATENESS_BOUNDS / sizeof *LATENESS_BOUNDS)

struct settings;
typedef struct server_ctx {
  uv_loop_t loop;
  uv_signal_t sigterm, sigint;
  vigil_engine *e; /* the home site's (units[0]): users, sign-ins and requests naming no site */
  users *users;
  api *api;
  http_server *http;
  int stopping;
  int lost;   /* the home site was taken by another node, or every site was */
  int broken; /* a site's database lacks part of the schema (cluster.c): status 1 */
  site_unit *units[MAX_SITES];
  size_t n_units;
  unsigned apis_open; /* units' apis not yet closed at stop */
  struct settings *st;
  const char *node; /* a node of a cluster: its name */
  vigil_options opts;
  const char *uploads;
  uv_timer_t claimer; /* a node tries the sites of its list it does not hold */
  int claiming;
  int said_busy;          /* "site owned by another node" was logged */
  uv_timer_t users_timer; /* a node reads the shared users and sessions again (vigil__users_reload) */
  int reloading, reload_failing;
  /* /metrics of a node: the closed units' share, takeovers, lateness. */
  uint64_t renewals_closed, failures_closed, refusals_closed, takeovers;
  uint64_t lateness[N_LATENESS + 1];
  double lateness_sum;
  uint64_t lateness_count;
} server_ctx;

/* ---- logging: one JSON object per line ------------------------------------- */

/* Text from the network made safe for a log line: printable ASCII only. */
static json_t *safe_string(const char *s, size_t max) {
  char out[512];
  size_t n = 0;
  if (max > sizeof out - 1) max = sizeof out - 1;
  for (; s && *s && n < max; s++)
    out[n++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
  out[n] = '\0';
  return json_string(out);
}

static void log_line(const char *level, const char *msg, json_t *fields) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  time_t secs = tv.tv_sec;
  gmtime_r(&secs, &tm);
  char when[40], stamp[48];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(stamp, sizeof stamp, "%s.%03dZ", when, (int)(tv.tv_usec / 1000));
  json_t *line = json_pack("{s:s, s:s, s:o}", "time", stamp, "level", level, "msg", safe_string(msg, 2000));
  if (line && fields) json_object_update(line, fields);
  json_decref(fields);
  char *text = line ? json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
  if (text) fprintf(stderr, "%s\n", text);
  free(text);
  json_decref(line);
}

static void on_engine_log(void *ud, vigil_log_level level, const char *msg) {
  static const char *names[] = {"error", "warn", "info"};
  log_line(names[level], msg, json_pack("{s:s}", "from", "engine"));
}

/* ud: the site_unit whose plugins speak; a node's lines name its site (a
 * second site's hl7 plugin refused on a port the first's holds said so
 * without saying whose: AF1 of docs/deploy.md). */
static void plugin_log(void *ud, vigil_log_level level, const char *plugin, const char *msg) {
  static const char *names[] = {"error", "warn", "info"};
  const site_unit *u = ud;
  json_t *f = plugin ? json_pack("{s:s}", "plugin", plugin) : json_pack("{s:s}", "from", "plugins");
  if (f && u && u->s->node) json_object_set_new(f, "site", json_string(u->name));
  log_line(names[level], msg, f);
}

/* The api callbacks' ud is the site_unit of the api asked: GET
 * /api/v1/plugins?site=north is north's plugins (AF2: it was the node's
 * first site's whatever the site named). */
static char *plugins_status(void *ud) { return vigil__plugin_host_status_json(((site_unit *)ud)->plugins); }

/* Plugins of the site refused (not loaded, or their init failed), and in
 * *degraded those running whose status says they cannot do their work: its
 * /healthz says degraded (AF1: a second site's hl7 listener refused, its
 * alarms lost, and /healthz said ok; AJ3, AJ5). */
static unsigned plugins_failed(void *ud, unsigned *degraded) {
  const site_unit *u = ud;
  unsigned running, failed;
  vigil__plugin_host_counts(u->plugins, &running, &failed);
  *degraded = u->closing || u->closed ? 0 : vigil__plugin_host_degraded(u->plugins);
  return u->closing || u->closed ? 0 : failed;
}

/* Every site this node acts for, by its label site="NAME" (E5 of the third
 * try: /metrics counted the first site's alone, and no deadline's write):
 * its visits, its alerts, its visits not rebuilt, and the batches of events
 * written to its log by every writer, by outcome. */
static void site_metrics(server_ctx *s, buf *b) {
  static const struct {
    const char *name, *type, *help;
  } family[] = {
      {"vigil_site_visits_active", "gauge", "Visits neither discharged nor aborted, per site this node acts for."},
      {"vigil_site_alerts_active", "gauge", "Alerts raised and not acknowledged, per site this node acts for."},
      {"vigil_site_visits_not_rebuilt", "gauge",
       "Visits a failed write took out of memory that the store has not answered for yet, per site (not 0: "
       "/healthz?site= says degraded)."},
      {"vigil_site_store_writes_total", "counter",
       "Batches of events written to the site's log by every writer (commands, deadlines' timers, hooks), by "
       "outcome, per site this node acts for."},
  };
  for (size_t f = 0; f < sizeof family / sizeof *family; f++) {
    vigil__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", family[f].name, family[f].help, family[f].name,
                      family[f].type);
    for (size_t i = 0; i < s->n_units; i++) {
      site_unit *u = s->units[i];
      if (u->closing || u->closed || !u->e) continue;
      vigil_stats st;
      vigil_engine_stats(u->e, &st);
      if (f == 0)
        vigil__buf_printf(b, "%s{site=\"%s\"} %llu\n", family[f].name, u->name, (unsigned long long)st.visits_active);
      if (f == 1)
        vigil__buf_printf(b, "%s{site=\"%s\"} %llu\n", family[f].name, u->name, (unsigned long long)st.alerts_active);
      if (f == 2)
        vigil__buf_printf(b, "%s{site=\"%s\"} %llu\n", family[f].name, u->name,
                          (unsigned long long)st.visits_not_rebuilt);
      if (f == 3)
        vigil__buf_printf(b, "%s{site=\"%s\",outcome=\"committed\"} %llu\n%s{site=\"%s\",outcome=\"failed\"} %llu\n",
                          family[f].name, u->name, (unsigned long long)st.writes, family[f].name, u->name,
                          (unsigned long long)st.write_failures);
    }
  }
}

/* /healthz's "sites" on a node: each site it acts for, {"north": {"status",
 * "visits_active", "visits_not_rebuilt", "write_failures"}}; *degraded when
 * one is. */
static char *sites_health(void *ud, int *degraded) {
  server_ctx *s = ((site_unit *)ud)->s;
  json_t *all = json_object();
  for (size_t i = 0; all && i < s->n_units; i++) {
    site_unit *u = s->units[i];
    if (u->closing || u->closed || !u->e) continue;
    vigil_stats st;
    vigil_engine_stats(u->e, &st);
    unsigned running_degraded;
    unsigned failed = plugins_failed(u, &running_degraded);
    int bad = st.visits_not_rebuilt || failed || running_degraded;
    if (bad) *degraded = 1;
    json_t *one = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "status", bad ? "degraded" : "ok", "visits_active",
                            (json_int_t)st.visits_active, "visits_not_rebuilt", (json_int_t)st.visits_not_rebuilt,
                            "write_failures", (json_int_t)st.write_failures, "plugins_failed", (json_int_t)failed,
                            "plugins_degraded", (json_int_t)running_degraded);
    if (!one || json_object_set_new(all, u->name, one) < 0) {
      json_decref(all);
      all = NULL;
    }
  }
  char *text = all ? json_dumps(all, JSON_COMPACT) : NULL;
  json_decref(all);
  return text;
}

/* The plugins' metrics, then a node's: its leases' renewals (cluster.c),
 * the sites it holds, its takeovers, the appends and renewals the fence
 * refused, and how late the deadlines that fell due while no node had a
 * site fired once this node took it over (a histogram). */
static char *plugins_metrics(void *ud) {
  server_ctx *s = ((site_unit *)ud)->s;
  plugin_host *hosts[MAX_SITES];
  size_t n = 0;
  for (size_t i = 0; i < s->n_units; i++)
    if (!s->units[i]->closing && !s->units[i]->closed) hosts[n++] = s->units[i]->plugins;
  char *text = vigil__plugin_hosts_metrics_text(hosts, n); /* every site's, each line with its site */
  if (!s->node) return text;
  uint64_t renewals = s->renewals_closed, failures = s->failures_closed, refusals = s->refusals_closed, held = 0;
  int64_t offset = 0; /* this machine's clock less the database's, at its last renewal */
  for (size_t i = 0; i < s->n_units; i++) {
    site_unit *u = s->units[i];
    if (u->closed) continue;
    uint64_t r, f;
    vigil__cluster_counts(u->lease, &r, &f);
    renewals += r;
    failures += f;
    refusals += vigil__store_fence_refusals(vigil__engine_store(u->e));
    held += !u->closing;
    if (!u->closing) offset = vigil__store_clock_offset(vigil__engine_store(u->e));
  }
  buf b;
  vigil__buf_init(&b);
  vigil__buf_printf(&b,
                    "# HELP vigil_lease_renewals_total Renewals of this node's site leases.\n"
                    "# TYPE vigil_lease_renewals_total counter\nvigil_lease_renewals_total %llu\n"
                    "# HELP vigil_lease_renewal_failures_total Renewals that failed (PostgreSQL unreachable, or the "
                    "site taken).\n"
                    "# TYPE vigil_lease_renewal_failures_total counter\nvigil_lease_renewal_failures_total %llu\n"
                    "# HELP vigil_clock_offset_seconds This machine's wall clock less the database's, at the last "
                    "renewal (past max_clock_offset the node gives its sites up).\n"
                    "# TYPE vigil_clock_offset_seconds gauge\nvigil_clock_offset_seconds %.3f\n"
                    "# HELP vigil_sites_held Sites this node owns and acts for now.\n"
                    "# TYPE vigil_sites_held gauge\nvigil_sites_held %llu\n"
                    "# HELP vigil_site_takeovers_total Sites this node claimed after their owner stopped without "
                    "giving them up.\n"
                    "# TYPE vigil_site_takeovers_total counter\nvigil_site_takeovers_total %llu\n"
                    "# HELP vigil_fencing_refusals_total Appends and renewals refused because the site was taken "
                    "by another node or fenced by this one.\n"
                    "# TYPE vigil_fencing_refusals_total counter\nvigil_fencing_refusals_total %llu\n"
                    "# HELP vigil_takeover_timer_lateness_seconds How late a deadline that fell due while no node "
                    "had its site fired after this node took the site over.\n"
                    "# TYPE vigil_takeover_timer_lateness_seconds histogram\n",
                    (unsigned long long)renewals, (unsigned long long)failures, (double)offset / 1000,
                    (unsigned long long)held, (unsigned long long)s->takeovers, (unsigned long long)refusals);
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= N_LATENESS; i++) {
    cumulative += s->lateness[i];
    if (i < N_LATENESS)
      vigil__buf_printf(&b, "vigil_takeover_timer_lateness_seconds_bucket{le=\"%g\"} %llu\n", LATENESS_BOUNDS[i],
                        (unsigned long long)cumulative);
    else
      vigil__buf_printf(&b, "vigil_takeover_timer_lateness_seconds_bucket{le=\"+Inf\"} %llu\n",
                        (unsigned long long)cumulative);
  }
  vigil__buf_printf(
      &b, "vigil_takeover_timer_lateness_seconds_sum %.3f\nvigil_takeover_timer_lateness_seconds_count %llu\n",
      s->lateness_sum, (unsigned long long)s->lateness_count);
  site_metrics(s, &b);
  vigil__buf_putc(&b, '\0');
  size_t len = text ? strlen(text) : 0;
  char *both = b.oom ? NULL : malloc(len + b.len);
  if (both) {
    memcpy(both, text ? text : "", len);
    memcpy(both + len, b.p, b.len);
  }
  vigil__buf_free(&b);
  free(text);
  return both;
}

/* The HTTP server cannot accept connections (out of file descriptors). */
static void http_notice(void *ud, const char *message) {
  (void)ud;
  log_line("error", message, NULL);
}

/* A request's line; an answer cut short says so, with its whole length
 * beside the bytes written (AT6). */
static void request_log(void *ud, const http_request *req, const http_log_entry *e) {
  json_t *f =
      json_pack("{s:I, s:s, s:o, s:o, s:i, s:I, s:f}", "request", (json_int_t)vigil__http_request_id(req), "remote",
                vigil__http_request_remote(req), "method", safe_string(vigil__http_request_method(req), 16), "path",
                safe_string(vigil__http_request_path(req), 256), "status", e->status, "bytes",
                (json_int_t)e->body_bytes, "ms", (double)((int64_t)(e->ms * 1000)) / 1000);
  const char *query = vigil__http_request_query(req);
  if (f && *query) json_object_set_new(f, "query", safe_string(query, 256));
  if (f && e->aborted) {
    json_object_set_new(f, "aborted", json_true());
    json_object_set_new(f, "length", json_integer((json_int_t)e->length));
  }
  log_line(e->status >= 500 ? "error" : "info", "request", f);
}

/* ---- protocols ------------------------------------------------------------------ */

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The protocols of the folders are served only when their specs pass (G10,
 * docs/safety.md): --allow-untested serves one whose specs fail or that has
 * none, said loudly at start and marked in GET /api/v1/protocols. */
typedef struct spec_gate {
  int allow;   /* --allow-untested */
  char **refs; /* "id@version" of each version served untested */
  size_t n;
} spec_gate;

static void spec_failure(void *ud, const spec_result *r) {
  (void)ud;
  if (r->ok) return;
  fprintf(stderr, "%s: %s", r->where ? r->where : "?", r->message ? r->message : "failed");
  if (r->spec) fprintf(stderr, " (spec '%s')", r->spec);
  fputc('\n', stderr);
}

/* Runs the specs of the version ref, loaded from the folder dir: 0 when
 * they pass (or --allow-untested serves it marked), -1 to refuse the
 * start, each failure as file:line on stderr. The bundled specs take about
 * 0.3 s of CPU (measured for docs/safety.md), so they run here, before
 * the server listens, rather than in the background. */
static int check_specs(const char *dir, const char *ref, spec_gate *g) {
  int checks = 0, failed = 0, files = 0;
  char err[2048] = "";
  int rc = vigil__cli_protocol_specs(dir, spec_failure, NULL, &checks, &failed, &files, err, sizeof err);
  if (rc == 0 && checks > 0 && failed == 0) return 0;
  char why[2400];
  if (rc < 0)
    snprintf(why, sizeof why, "its specs do not run: %s", err);
  else if (failed)
    snprintf(why, sizeof why, "%d of its %d spec checks fail", failed, checks);
  else
    snprintf(why, sizeof why, "it has no specs (%s in the folder or its specs/): nothing shows it works",
             files ? "its *_spec.lua files make no check" : "no *_spec.lua file");
  if (!g->allow) {
    fprintf(stderr,
            "%s/protocol.lua:1: %s: %s\nvigil serve: refusing to start on a protocol whose specs fail or that has "
            "none (docs/safety.md, G10): fix them (vigil test %s), or start with --allow-untested\n",
            dir, ref, why, dir);
    return -1;
  }
  char **grown = realloc(g->refs, (g->n + 1) * sizeof *grown);
  if (!grown || !(grown[g->n] = strdup(ref))) {
    if (grown) g->refs = grown;
    return -1;
  }
  g->refs = grown;
  g->n++;
  fprintf(stderr, "vigil serve: WARNING: %s is served UNTESTED (--allow-untested): %s\n", ref, why);
  log_line(
      "error", "UNTESTED protocol served (--allow-untested): its specs fail or it has none",
      json_pack("{s:s, s:s, s:s, s:i, s:i}", "ref", ref, "path", dir, "why", why, "checks", checks, "failed", failed));
  return 0;
}

/* ref is one of the versions whose specs ran when the node's first site
 * loaded them (a site claimed later loads the same folders). */
static int is_checked(const char *ref, char *const *checked, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(checked[i], ref)) return 1;
  return 0;
}

/* Loads DIR itself if it holds protocol.lua, else every subfolder that does,
 * in name order, each only when its specs pass (check_specs). Each loaded
 * "id@version" is added to refs. */
static int load_protocols(vigil_engine *e, const char *dir, int must_exist, char ***refs, size_t *n_refs, spec_gate *g,
                          char *const *checked, size_t n_checked) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/protocol.lua", dir);
  char **names = NULL;
  size_t n = 0;
  if (stat(path, &st) == 0) {
    names = malloc(sizeof *names);
    if (!names || !(names[0] = strdup(dir))) {
      free(names);
      return -1;
    }
    n = 1;
  } else {
    DIR *d = opendir(dir);
    if (!d) {
      if (must_exist) {
        fprintf(stderr, "vigil serve: cannot open the protocols folder %s: %s\n", dir, strerror(errno));
        return -1;
      }
      log_line("warn", "no protocols folder: only visits already stored can be served",
               json_pack("{s:s}", "protocols", dir));
      return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      snprintf(path, sizeof path, "%s/%s/protocol.lua", dir, de->d_name);
      if (stat(path, &st) != 0) continue;
      char **grown = realloc(names, (n + 1) * sizeof *names);
      if (!grown) break;
      names = grown;
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      if ((names[n] = strdup(path))) n++;
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, by_name);
  }
  int rc = 0;
  char **grown = n ? realloc(*refs, (*n_refs + n) * sizeof **refs) : *refs;
  if (grown) *refs = grown;
  for (size_t i = 0; i < n; i++) {
    const char *ref;
    if (rc == 0 && vigil_engine_load(e, names[i], &ref) < 0) {
      fprintf(stderr, "vigil serve: %s does not load:\n%s\n", names[i], vigil_engine_errmsg(e));
      rc = -1;
    } else if (rc == 0 && !is_checked(ref, checked, n_checked) && check_specs(names[i], ref, g) < 0) {
      rc = -1;
    } else if (rc == 0 && grown) {
      (*refs)[(*n_refs)++] = strdup(ref);
      log_line("info", "protocol loaded", json_pack("{s:s, s:s}", "ref", ref, "path", names[i]));
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

/* Loads every uploaded version (api_protocols.c keeps them); whether each
 * may start visits is its approval's business, not the folder's. What a
 * crash left half-written (.incoming-*) is skipped; the api removes it. */
static int load_uploads(vigil_engine *e, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0; /* none yet */
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d))) {
    char path[4608];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (de->d_name[0] == '.') continue;
    const char *ref;
    if (vigil_engine_load(e, path, &ref) < 0) {
      fprintf(stderr, "vigil serve: the uploaded version %s does not load:\n%s\n", path, vigil_engine_errmsg(e));
      rc = -1;
    } else {
      log_line("info", "uploaded protocol loaded", json_pack("{s:s, s:s}", "ref", ref, "path", path));
    }
  }
  closedir(d);
  return rc;
}

/* ---- stopping --------------------------------------------------------------------- */

static void on_signal_closed(uv_handle_t *h) { (void)h; }

static void on_all_closed(server_ctx *s) {
  s->api = NULL;
  uv_close((uv_handle_t *)&s->sigterm, on_signal_closed);
  uv_close((uv_handle_t *)&s->sigint, on_signal_closed);
  if (s->claiming) uv_close((uv_handle_t *)&s->claimer, on_signal_closed);
  s->claiming = 0;
  uv_stop(&s->loop); /* the engines' timers are closed by vigil_engine_free */
}

static void on_home_closed(void *ud) {
  server_ctx *s = ud;
  s->units[0]->api = NULL;
  on_all_closed(s);
}

/* The other sites' apis first: they borrow the home api's limiters. */
static void on_unit_api_stopped(void *ud) {
  site_unit *u = ud;
  server_ctx *s = u->s;
  u->api = NULL;
  if (--s->apis_open == 0) vigil__api_close(s->units[0]->api, on_home_closed, s);
}

static void on_http_closed(void *ud) {
  server_ctx *s = ud;
  s->http = NULL;
  /* Every answer is out; a batch still open (there should be none) commits. */
  s->apis_open = 0;
  for (size_t i = 1; i < s->n_units; i++)
    if (s->units[i]->api) s->apis_open++; /* a lost site's closing api too: it ends on its own */
  if (!s->apis_open) {
    vigil__api_close(s->units[0]->api, on_home_closed, s);
    return;
  }
  for (size_t i = 1; i < s->n_units; i++)
    if (s->units[i]->api && !s->units[i]->closing) vigil__api_close(s->units[i]->api, on_unit_api_stopped, s->units[i]);
}

static void stop_node(server_ctx *s) {
  if (s->stopping) return;
  s->stopping = 1;
  if (s->claiming) uv_timer_stop(&s->claimer);
  if (s->reloading) uv_timer_stop(&s->users_timer);
  vigil__http_server_close(s->http, on_http_closed, s);
}

static void on_signal(uv_signal_t *h, int signum) {
  server_ctx *s = h->data;
  if (s->stopping) return;
  log_line("info", "stopping", json_pack("{s:s}", "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"));
  stop_node(s);
}

/* A lost site's api is closed: then its plugins and its engine. */
static void on_lost_api_closed(void *ud) {
  site_unit *u = ud;
  server_ctx *s = u->s;
  u->api = NULL;
  vigil__plugin_host_close(u->plugins);
  vigil_engine_free(u->e);
  u->e = NULL;
  u->closed = 1;
  log_line("info", "stopped acting for the site", json_pack("{s:s}", "site", u->name));
  if (s->stopping && s->apis_open && --s->apis_open == 0) vigil__api_close(s->units[0]->api, on_home_closed, s);
}

/* Another node has one of this node's sites now, or this node fenced it
 * (cluster.c). The home site carries the sign-ins and the users: losing it,
 * or the last site, stops the node (status 3; its supervisor starts it
 * again as a standby). Another site alone is closed; the others go on. */
static void on_site_lost(void *ud) {
  site_unit *u = ud;
  server_ctx *s = u->s;
  if (vigil__cluster_broken(u->lease)) { /* the schema is every site's: the node stops */
    s->broken = 1;
    stop_node(s);
    return;
  }
  size_t still = 0;
  for (size_t i = 0; i < s->n_units; i++)
    still += !s->units[i]->closing && s->units[i] != u;
  if (u == s->units[0] || still == 0) {
    s->lost = 1;
    stop_node(s);
    return;
  }
  if (s->stopping || u->closing) return;
  u->closing = 1;
  uint64_t r, f;
  vigil__cluster_counts(u->lease, &r, &f);
  s->renewals_closed += r;
  s->failures_closed += f;
  s->refusals_closed += vigil__store_fence_refusals(vigil__engine_store(u->e));
  vigil__cluster_stop(u->lease);
  u->lease = NULL;
  vigil__api_close(u->api, on_lost_api_closed, u);
}

/* ---- the command -------------------------------------------------------------------- */

static int parse_listen(const char *s, char *host, size_t hostlen, int *port) {
  const char *colon = strrchr(s, ':');
  if (!colon) return -1;
  const char *h = s;
  size_t hl = (size_t)(colon - s);
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl == 0 || hl >= hostlen) return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || p < 0 || p > 65535) return -1;
  *port = (int)p;
  return 0;
}

static int parse_seconds(const char *s, uint64_t *ms) {
  char *end;
  double x = strtod(s, &end);
  if (*end || end == s || !(x > 0) || x > 86400) return -1;
  *ms = (uint64_t)(x * 1000);
  return *ms ? 0 : -1;
}

/* Creates the database's folder (one level) if it is missing. */
/* ---- users at start (docs/security.md, T6) ---------------------------------- */

typedef struct log_users {
  user_record *list;
  size_t n, cap;
  int oom;
} log_users;

static void log_user(void *ud, const char *name, const char *role_name, int disabled) {
  log_users *l = ud;
  int r = vigil__role_parse(role_name);
  if (r < 0 || strlen(name) > USER_NAME_MAX) return;
  if (l->n == l->cap) {
    size_t cap;
    user_record *grown = vigil__grow(l->list, l->cap, l->n + 1, sizeof *grown, 16, &cap);
    if (!grown) {
      l->oom = 1;
      return;
    }
    l->list = grown;
    l->cap = cap;
  }
  user_record *x = &l->list[l->n++];
  snprintf(x->name, sizeof x->name, "%s", name);
  x->role = (role)r;
  x->disabled = disabled;
}

static void user_note(void *ud, const char *sentence) {
  (void)ud;
  log_line("warn", sentence, NULL);
}

/* A users table row whose role is none of the roles, or not the one the log
 * created the user with: verify's TAMPERED, in its words (U8). */
typedef struct row_check {
  const log_users *log;
  char *err;
  size_t errlen;
  int bad;
} row_check;

static void check_row(void *ud, const char *name, const char *role_name) {
  row_check *c = ud;
  if (c->bad) return;
  int r = vigil__role_parse(role_name);
  const user_record *logged = NULL;
  for (size_t k = 0; k < c->log->n && !logged; k++)
    if (!strcmp(c->log->list[k].name, name)) logged = &c->log->list[k];
  if (r >= 0 && (!logged || logged->role == (role)r)) return; /* a row the log never made: T6 notes it */
  snprintf(c->err, c->errlen,
           "the derived state was edited: user %s (role %s) is in the users table but the log has no user.created "
           "event for them with that role",
           name, role_name ? role_name : "none");
  c->bad = 1;
}

static void session_limit(void *ud, const char *row, int64_t expires_ms) {
  vigil__users_session_limit(ud, row, expires_ms);
}

/* The users' roles and states are the log's: a role edited in the users
 * table stops the start, as an edited chain does. */
static int users_from_log(const char *path, users *u, const char *shown) {
  log_users l = {0};
  char err[1024];
  int rc = vigil_audit_users(path, log_user, &l, err, sizeof err);
  if (rc == 0 && l.oom) rc = VIGIL_ENOMEM, snprintf(err, sizeof err, "out of memory");
  char bad_row[512] = "";
  row_check rows = {.log = &l, .err = bad_row, .errlen = sizeof bad_row};
  if (rc == 0) rc = vigil_audit_user_rows(path, check_row, &rows, err, sizeof err);
  if (rc == 0 && rows.bad) rc = VIGIL_ECORRUPT, snprintf(err, sizeof err, "%s", bad_row);
  if (rc == 0) rc = vigil__users_reconcile(u, l.list, l.n, user_note, NULL, err, sizeof err);
  /* A session lives as its events allow, not as its row says (V3). */
  if (rc == 0) rc = vigil_audit_sessions(path, session_limit, u, err, sizeof err);
  free(l.list);
  if (rc == 0) return 0;
  fprintf(stderr, "vigil serve: %s: %s; not starting%s\n", shown, err,
          rc == VIGIL_ECORRUPT ? " (vigil audit verify says the same)" : "");
  log_line("error", "the database does not match its log", json_pack("{s:s}", "error", err));
  return -1;
}

/* ---- the hash chain at start (docs/security.md, S2) ------------------------ */

/* The event verified last, kept beside the database in DB-verified ("SEQ
 * HASH"), so that each start walks only the events written since. */
static void checkpoint_path(const char *db, char *out, size_t n) { snprintf(out, n, "%s-verified", db); }

static void read_checkpoint(const char *db, uint64_t *seq, char hash[65]) {
  char path[4200], text[128] = "";
  checkpoint_path(db, path, sizeof path);
  *seq = 0;
  hash[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  unsigned long long s;
  char h[65];
  if (sscanf(text, "%llu %64[0-9a-f]", &s, h) == 2 && strlen(h) == 64) {
    *seq = s;
    snprintf(hash, 65, "%s", h);
  }
}

/* Written whole or not at all (a temporary file renamed over it). */
static void write_checkpoint(const char *db, uint64_t seq, const char *hash) {
  char path[4200], tmp[4220];
  checkpoint_path(db, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  int ok = fprintf(f, "%llu %s\n", (unsigned long long)seq, hash) > 0;
  ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
  if (fclose(f) != 0 || !ok || rename(tmp, path) < 0) unlink(tmp);
}

/* The chain from the event verified at the last start (or from the first)
 * to the head: 0 when intact (the checkpoint moves to the head), -1 after
 * saying why not when it is broken. A file that cannot be read is left to
 * the engine, which says why. */
/* A folder in protocol_uploads with no database beside it: no
 * protocol.uploaded event records it (Y1; vigil_audit_check_state checks
 * the folders against the log when there is one). 1 and a message, or 0. */
static int upload_without_log(const char *db, char *msg, size_t len) {
  char dir[4200];
  vigil__protocol_uploads_dir(db, dir, sizeof dir);
  DIR *d = opendir(dir);
  struct dirent *de;
  int found = 0;
  while (d && !found && (de = readdir(d)))
    if (de->d_name[0] != '.') {
      snprintf(msg, len,
               "the upload folder %.60s (%.200s/%.60s) was not uploaded: there is no database, so no "
               "protocol.uploaded event records it; remove it or upload the version",
               de->d_name, dir, de->d_name);
      found = 1;
    }
  if (d) closedir(d);
  return found;
}

static int verify_chain_at_start(const char *db) {
  uint64_t from, head;
  char from_hash[65], head_hash[65], err[1024];
  read_checkpoint(db, &from, from_hash);
  int rc = vigil_audit_verify_since(db, from, from_hash, &head, head_hash, err, sizeof err);
  if (rc == VIGIL_ECORRUPT) {
    fprintf(stderr, "vigil serve: %s: the hash chain is broken: %s; not starting (vigil audit verify tells more)\n", db,
            err);
    log_line("error", "the hash chain is broken", json_pack("{s:s}", "error", err));
    return -1;
  }
  if (rc == 0) {
    log_line("info", "hash chain verified", json_pack("{s:s, s:I}", "checked", err, "head", (json_int_t)head));
    if (head != from || strcmp(head_hash, from_hash)) write_checkpoint(db, head, head_hash);
  }
  return 0;
}

static int ensure_parent(const char *db) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", db);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 0;
  *slash = '\0';
  if (mkdir(dir, 0750) == 0 || errno == EEXIST) return 0;
  fprintf(stderr, "vigil serve: cannot create %s: %s\n", dir, strerror(errno));
  return -1;
}

static int is_loopback(const char *host) { return !strncmp(host, "127.", 4) || !strcmp(host, "::1"); }

/* The settings of one run: defaults, then vigil.conf, then flags. */
typedef struct settings {
  const char *config, *db, *listen, *clock;
  const char *protocol_flag; /* --protocols */
  json_t *protocols;         /* from vigil.conf: a folder or a list */
  int allow_simulated;
  spec_gate specs; /* --allow-untested, and the versions served untested */
  uint64_t idle_ms, request_ms, heartbeat_ms;
  uint64_t session_ms;
  uint64_t idempotency_ms; /* vigil.conf idempotency_hours */
  uint64_t alarm_pause_ms;
  uint64_t rule_time_limit_ms;        /* vigil.conf rule_time_limit_ms */
  uint64_t upload_check_ms;           /* vigil.conf upload_check_seconds */
  uint64_t upload_check_mb;           /* vigil.conf upload_check_memory_mb */
  uint64_t max_connections;           /* vigil.conf max_connections */
  uint64_t connections_per_address;   /* vigil.conf connections_per_address */
  uint64_t streams_per_session;       /* vigil.conf streams_per_session */
  uint64_t streams_per_user;          /* vigil.conf streams_per_user */
  uint64_t max_readings_per_visit;    /* vigil.conf max_readings_per_visit */
  uint64_t max_notes_per_visit;       /* vigil.conf max_notes_per_visit */
  uint64_t max_amendments_per_visit;  /* vigil.conf max_amendments_per_visit */
  uint64_t max_concurrent_exports;    /* vigil.conf max_concurrent_exports */
  uint64_t crowded_connections;       /* vigil.conf crowded_connections (0: 3/4 of max_connections) */
  uint64_t crowded_idle_ms;           /* vigil.conf crowded_idle_timeout */
  uint64_t header_ms;                 /* vigil.conf header_timeout */
  uint64_t unsent_bytes;              /* max_unsent_answer_kib, in bytes */
  uint64_t unsent_ms;                 /* unsent_answer_timeout */
  uint64_t buffered_body_bytes;       /* vigil.conf max_buffered_body_mb */
  uint64_t body_per_address_bytes;    /* max_buffered_body_per_address_mb (0: a quarter) */
  uint64_t body_per_user_bytes;       /* max_buffered_body_per_user_mb (0: a quarter) */
  uint64_t min_body_rate;             /* min_body_rate_kib, in bytes a second */
  uint64_t refusal_window_ms;         /* vigil.conf refusal_window_seconds */
  int secure_cookies;                 /* vigil.conf secure_cookies */
  uint64_t escalate_ms;               /* site.escalate_after */
  int64_t escalate_by_priority_ms[3]; /* site.escalate_after = { low, medium, high } */
  const char *idle_flag, *request_flag, *heartbeat_flag;
  const char *plugin_dir;          /* from vigil.conf; NULL: no plugins */
  char *plugins_json;              /* vigil.conf's `plugins`, as JSON (malloc'd) */
  const char *trusted_proxies[32]; /* vigil.conf's trusted_proxies (borrowed from it) */
  size_t n_trusted_proxies;
  const char *reason_placeholders[64]; /* vigil.conf's reason_placeholders (borrowed from it) */
  size_t n_reason_placeholders;
  int has_reason_placeholders; /* 0: the engine's default list */
  const char *ack_reasons[16]; /* vigil.conf's ack_reasons (borrowed from it) */
  const char *usual_protocol;  /* site.usual_protocol (borrowed); NULL: none */
  const char *timezone;        /* site.timezone (borrowed), for the plugins (api->timezone); NULL: none */
  size_t n_ack_reasons;
  const char *server_names[32 + 5]; /* vigil.conf's server_names (borrowed), then the ones always answered */
  size_t n_server_names;
  const char *node, *advertise, *sites; /* a node of a cluster (--node, --advertise, --sites) */
  uint64_t lease_ms;                    /* vigil.conf lease_time */
  uint64_t max_clock_offset_ms;         /* vigil.conf max_clock_offset */
} settings;

/* trusted_proxies = { "10.0.0.5", "::1" }: the reverse proxies whose
 * X-Forwarded-For is believed; numeric addresses only. */
static int proxy_settings(const config *c, settings *st) {
  json_t *p = vigil__config_get(c, "trusted_proxies"), *x;
  char where[4200];
  size_t i;
  if (!p) return 0;
  if (json_is_array(p) && json_array_size(p) <= sizeof st->trusted_proxies / sizeof *st->trusted_proxies) {
    json_array_foreach(p, i, x) {
      unsigned char bin[16];
      const char *ip = json_string_value(x);
      if (!ip || (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1)) break;
      st->trusted_proxies[st->n_trusted_proxies++] = ip;
    }
    if (i == json_array_size(p)) return 0;
  }
  fprintf(stderr,
          "vigil serve: %s: trusted_proxies is a list of at most 32 numeric IP addresses, e.g. { \"10.0.0.5\" }\n",
          vigil__config_where(c, "trusted_proxies", where, sizeof where));
  return -1;
}

/* A setting that is a list of at most max texts of 1 to max_bytes bytes
 * (borrowed from the config) into out; 0 when absent, 1 when given ({} is
 * an empty list), -1 (having said why, with an example) when not such a list. */
static int text_list_setting(const config *c, const char *key, const char **out, size_t max, size_t max_bytes,
                             size_t *n, const char *example) {
  json_t *p = vigil__config_get(c, key), *x;
  char where[4200];
  size_t i;
  if (!p) return 0;
  if (json_is_object(p) && json_object_size(p) == 0) return 1;
  if (json_is_array(p) && json_array_size(p) <= max) {
    json_array_foreach(p, i, x) {
      const char *w = json_string_value(x);
      if (!w || !*w || strlen(w) > max_bytes) break;
      out[(*n)++] = w;
    }
    if (i == json_array_size(p)) return 1;
  }
  fprintf(stderr, "vigil serve: %s: %s is a list of at most %zu texts (1 to %zu bytes), e.g. %s\n",
          vigil__config_where(c, key, where, sizeof where), key, max, max_bytes, example);
  return -1;
}

/* reason_placeholders = { "n/a", "none", ... }: reasons that say nothing,
 * refused wherever a person gives a reason (docs/safety.md M7); without the
 * setting, the engine's list. */
static int placeholder_settings(const config *c, settings *st) {
  int rc = text_list_setting(c, "reason_placeholders", st->reason_placeholders,
                             sizeof st->reason_placeholders / sizeof *st->reason_placeholders, 200,
                             &st->n_reason_placeholders, "{ \"n/a\", \"none\" }");
  st->has_reason_placeholders = rc == 1;
  return rc < 0 ? -1 : 0;
}

/* ack_reasons = { "Rechecked: the reading stands", ... }: the reasons the
 * workstation offers with one click when an alert is acknowledged with a
 * reason (docs/workstation.md); none without the setting. */
static int ack_reason_settings(const config *c, settings *st) {
  return text_list_setting(c, "ack_reasons", st->ack_reasons, sizeof st->ack_reasons / sizeof *st->ack_reasons, 200,
                           &st->n_ack_reasons, "{ \"Rechecked: the reading stands\" }") < 0
             ? -1
             : 0;
}

/* server_names = { "vigil.clinic.example" }: the names (Host) this server
 * answers to besides localhost, 127.0.0.1, [::1], the listen address and the
 * advertised URL's host; another is 421 (DNS rebinding: docs/security.md T9). */
static int server_name_settings(const config *c, settings *st) {
  json_t *p = vigil__config_get(c, "server_names"), *x;
  char where[4200];
  size_t i;
  if (!p) return 0;
  if (json_is_array(p) && json_array_size(p) <= 32) {
    json_array_foreach(p, i, x) {
      const char *name = json_string_value(x);
      if (!name || !name[0] || strlen(name) > 253 || name[strcspn(name, " \t/:@")]) break;
      st->server_names[st->n_server_names++] = name;
    }
    if (i == json_array_size(p)) return 0;
  }
  fprintf(stderr,
          "vigil serve: %s: server_names is a list of at most 32 host names or addresses, without a port, e.g. { "
          "\"vigil.clinic.example\" }\n",
          vigil__config_where(c, "server_names", where, sizeof where));
  return -1;
}

/* The value of a flag: the next argument, or what followed '=' (inl). */
static const char *flag_value(int *i, int inl, const char *next) {
  if (!inl) (*i)++;
  return next;
}

static int parse_flags(int argc, char **argv, settings *st) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    /* --name=value is --name value, for every flag that takes a value. */
    char name[32];
    int inl = 0;
    const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
    if (eq && (size_t)(eq - a) < sizeof name && strncmp(a, "--clock=", 8) != 0) {
      memcpy(name, a, (size_t)(eq - a));
      name[eq - a] = '\0';
      a = name;
      next = eq + 1;
      inl = 1;
    }
    if (!strcmp(a, "--config") && next)
      st->config = flag_value(&i, inl, next);
    else if ((!strcmp(a, "--store") || !strcmp(a, "--db")) && next)
      st->db = flag_value(&i, inl, next);
    else if (!strcmp(a, "--node") && next)
      st->node = flag_value(&i, inl, next);
    else if (!strcmp(a, "--advertise") && next)
      st->advertise = flag_value(&i, inl, next);
    else if (!strcmp(a, "--sites") && next)
      st->sites = flag_value(&i, inl, next);
    else if (!strcmp(a, "--listen") && next)
      st->listen = flag_value(&i, inl, next);
    else if (!strcmp(a, "--protocols") && next)
      st->protocol_flag = flag_value(&i, inl, next);
    else if (!strcmp(a, "--clock") && next)
      st->clock = flag_value(&i, inl, next);
    else if (!strncmp(a, "--clock=", 8))
      st->clock = a + 8;
    else if (!strcmp(a, "--allow-simulated-clock") && !inl)
      st->allow_simulated = 1;
    else if (!strcmp(a, "--allow-untested") && !inl)
      st->specs.allow = 1;
    else if (!strcmp(a, "--idle-timeout") && next)
      st->idle_flag = flag_value(&i, inl, next);
    else if (!strcmp(a, "--request-timeout") && next)
      st->request_flag = flag_value(&i, inl, next);
    else if (!strcmp(a, "--stream-heartbeat") && next)
      st->heartbeat_flag = flag_value(&i, inl, next);
    else {
      fprintf(stderr, "vigil serve: unexpected '%s' (see vigil help serve)\n", a);
      return -1;
    }
  }
  return 0;
}

/* A timeout: the flag if given, else vigil.conf's setting, else dflt. */
static int timeout_setting(const config *c, const char *key, const char *flag, const char *flag_name, uint64_t dflt,
                           uint64_t *out) {
  char err[512];
  if (flag) {
    if (parse_seconds(flag, out) == 0) return 0;
    fprintf(stderr, "vigil serve: %s wants a number of seconds (at most 86400), not '%s'\n", flag_name, flag);
    return -1;
  }
  if (vigil__config_seconds(c, key, 86400, dflt, out, err, sizeof err) == 0) return 0;
  fprintf(stderr, "vigil serve: %s\n", err);
  return -1;
}

/* A number of seconds for escalate_after: ms, or -1. */
static int64_t escalation_ms(json_t *x) {
  if (!json_is_number(x) || json_number_value(x) <= 0 || json_number_value(x) > 86400) return -1;
  return (int64_t)(json_number_value(x) * 1000);
}

/* site.escalate_after: one number of seconds for every alert, or one per
 * priority ({ high = 60, medium = 300, low = 900 }; a priority left out is
 * as its protocol says). */
static int escalation_settings(json_t *esc, settings *st) {
  if (!json_is_object(esc)) {
    int64_t ms = escalation_ms(esc);
    if (ms < 0) return -1;
    st->escalate_ms = (uint64_t)ms;
    return 0;
  }
  static const char *const names[3] = {"low", "medium", "high"}; /* vigil_options' order */
  const char *key;
  json_t *x;
  json_object_foreach(esc, key, x) {
    int p = -1;
    for (int i = 0; i < 3; i++)
      if (!strcmp(key, names[i])) p = i;
    if (p < 0 || (st->escalate_by_priority_ms[p] = escalation_ms(x)) < 0) return -1;
  }
  return 0;
}

/* vigil.conf's site table: its time zone becomes the process's (TZ), so
 * that "today" begins at the site's midnight; escalate_after (seconds) is
 * the longest an unacknowledged alert waits before it escalates;
 * usual_protocol is the one the workstation's start form chooses first. */
static int site_settings(const config *c, settings *st) {
  char where[4200];
  json_t *site = vigil__config_get(c, "site");
  if (!site) return 0;
  vigil__config_where(c, "site", where, sizeof where);
  json_t *tz = json_object_get(site, "timezone"), *esc = json_object_get(site, "escalate_after"),
         *usual = json_object_get(site, "usual_protocol");
  const char *name = json_string_value(tz);
  char zone[4200];
  if (name) snprintf(zone, sizeof zone, "/usr/share/zoneinfo/%s", name);
  if (!json_is_object(site) || (tz && (!name || !*name || strstr(name, "..") || access(zone, R_OK) != 0))) {
    fprintf(stderr,
            "vigil serve: %s: site is { name = \"...\", timezone = \"Europe/London\", escalate_after = 300 }; "
            "the time zone is an IANA name (in /usr/share/zoneinfo)\n",
            where);
    return -1;
  }
  /* AJ2 of the integrator's try: a misspelt key (`timezon`) was taken without
   * a word, and HL7 times without an offset were read as UTC: a newer
   * allergy then lost to an older record. Every key of the table is known. */
  static const char *const known[] = {"name", "timezone", "escalate_after", "usual_protocol"};
  const char *key;
  json_t *value;
  json_object_foreach(site, key, value) {
    size_t i = 0;
    while (i < sizeof known / sizeof *known && strcmp(key, known[i]))
      i++;
    if (i == sizeof known / sizeof *known) {
      fprintf(stderr,
              "vigil serve: %s: site.%s is not a setting of site (a misspelling?): site takes name, timezone, "
              "escalate_after and usual_protocol\n",
              where, key);
      return -1;
    }
  }
  st->usual_protocol = json_string_value(usual);
  if (usual && (!st->usual_protocol || !*st->usual_protocol || strlen(st->usual_protocol) > 64)) {
    fprintf(stderr, "vigil serve: %s: site.usual_protocol is a protocol's id, e.g. \"ketamine_iv\"\n", where);
    return -1;
  }
  if (esc && escalation_settings(esc, st) < 0) {
    fprintf(stderr,
            "vigil serve: %s: site.escalate_after is a number of seconds (more than 0, at most 86400), or "
            "one per priority: { high = 60, medium = 300, low = 900 }\n",
            where);
    return -1;
  }
  if (name) {
    setenv("TZ", name, 1);
    tzset();
  }
  st->timezone = name;
  return 0;
}

/* Reads vigil.conf (the one named by --config, else ./vigil.conf if there
 * is one) under the flags. NULL after saying why. */
static config *read_settings(settings *st) {
  config *c = NULL;
  char err[4200];
  const char *path = st->config ? st->config : "vigil.conf";
  int rc = vigil__config_load(path, &c, err, sizeof err);
  if (rc == VIGIL_ENOENT && !st->config)
    c = vigil__config_empty();
  else if (rc < 0) {
    fprintf(stderr, "vigil serve: %s\n", err);
    return NULL;
  }
  const char *db, *listen;
  if (!c || vigil__config_string(c, "database", "./var/vigil.db", &db, err, sizeof err) < 0 ||
      vigil__config_string(c, "listen", "127.0.0.1:8080", &listen, err, sizeof err) < 0 ||
      timeout_setting(c, "idle_timeout", st->idle_flag, "--idle-timeout", 30000, &st->idle_ms) < 0 ||
      timeout_setting(c, "request_timeout", st->request_flag, "--request-timeout", 10000, &st->request_ms) < 0 ||
      timeout_setting(c, "stream_heartbeat", st->heartbeat_flag, "--stream-heartbeat", 15000, &st->heartbeat_ms) < 0 ||
      vigil__config_duration(c, "session_hours", "hours", 3600000, 24 * 30, 12 * 3600000ULL, &st->session_ms, err,
                             sizeof err) < 0 ||
      vigil__config_duration(c, "idempotency_hours", "hours", 3600000, 24 * 30, 24 * 3600000ULL, &st->idempotency_ms,
                             err, sizeof err) < 0 ||
      vigil__config_duration(c, "rule_time_limit_ms", "milliseconds", 1, 2000, 50, &st->rule_time_limit_ms, err,
                             sizeof err) < 0 ||
      vigil__config_seconds(c, "alarm_pause", 600, 120000, &st->alarm_pause_ms, err, sizeof err) < 0 ||
      vigil__config_seconds(c, "lease_time", 300, 10000, &st->lease_ms, err, sizeof err) < 0 ||
      vigil__config_seconds(c, "max_clock_offset", 600, 2000, &st->max_clock_offset_ms, err, sizeof err) < 0 ||
      vigil__config_seconds(c, "upload_check_seconds", 3600, 30000, &st->upload_check_ms, err, sizeof err) < 0 ||
      vigil__config_seconds(c, "refusal_window_seconds", 3600, 60000, &st->refusal_window_ms, err, sizeof err) < 0 ||
      vigil__config_duration(c, "upload_check_memory_mb", "MiB", 1, 65536, 512, &st->upload_check_mb, err, sizeof err) <
          0 ||
      vigil__config_duration(c, "max_connections", "connections", 1, 100000, 1024, &st->max_connections, err,
                             sizeof err) < 0 ||
      vigil__config_duration(c, "connections_per_address", "connections", 1, 100000, 64, &st->connections_per_address,
                             err, sizeof err) < 0 ||
      vigil__config_duration(c, "crowded_connections", "connections", 1, 100000, 0, &st->crowded_connections, err,
                             sizeof err) < 0 ||
      vigil__config_duration(c, "streams_per_user", "event streams", 1, 1000, 8, &st->streams_per_user, err,
                             sizeof err) < 0 ||
      vigil__config_duration(c, "streams_per_session", "event streams", 1, 1000, 4, &st->streams_per_session, err,
                             sizeof err) < 0 ||
      vigil__config_duration(c, "max_readings_per_visit", "readings", 1, 1000000, VIGIL_MAX_READINGS_PER_VISIT,
                             &st->max_readings_per_visit, err, sizeof err) < 0 ||
      vigil__config_duration(c, "max_notes_per_visit", "notes", 1, 1000000, VIGIL_MAX_NOTES_PER_VISIT,
                             &st->max_notes_per_visit, err, sizeof err) < 0 ||
      vigil__config_duration(c, "max_amendments_per_visit", "amendments", 1, 1000000, VIGIL_MAX_AMENDMENTS_PER_VISIT,
                             &st->max_amendments_per_visit, err, sizeof err) < 0 ||
      vigil__config_duration(c, "max_concurrent_exports", "exports", 1, 64, API_MAX_CONCURRENT_EXPORTS,
                             &st->max_concurrent_exports, err, sizeof err) < 0 ||
      vigil__config_seconds(c, "crowded_idle_timeout", 3600, 5000, &st->crowded_idle_ms, err, sizeof err) < 0 ||
      vigil__config_seconds(c, "header_timeout", 3600, 5000, &st->header_ms, err, sizeof err) < 0 ||
      vigil__config_duration(c, "max_unsent_answer_kib", "KiB", 1024, 1048576, 1 << 20, &st->unsent_bytes, err,
                             sizeof err) < 0 ||
      vigil__config_seconds(c, "unsent_answer_timeout", 3600, 10000, &st->unsent_ms, err, sizeof err) < 0 ||
      vigil__config_duration(c, "max_buffered_body_mb", "MiB", 1 << 20, 65536, 64ULL << 20, &st->buffered_body_bytes,
                             err, sizeof err) < 0 ||
      vigil__config_duration(c, "max_buffered_body_per_address_mb", "MiB", 1 << 20, 65536, 0,
                             &st->body_per_address_bytes, err, sizeof err) < 0 ||
      vigil__config_duration(c, "max_buffered_body_per_user_mb", "MiB", 1 << 20, 65536, 0, &st->body_per_user_bytes,
                             err, sizeof err) < 0 ||
      vigil__config_duration(c, "min_body_rate_kib", "KiB a second", 1024, 1048576, 8 * 1024, &st->min_body_rate, err,
                             sizeof err) < 0) {
    if (c && err[0]) fprintf(stderr, "vigil serve: %s\n", err);
    vigil__config_free(c);
    return NULL;
  }
  if (st->lease_ms < 2000) { /* E9: a start or a busy loop must fit in the fence's four fifths */
    char where[4200];
    fprintf(stderr,
            "vigil serve: %s: lease_time is at least 2 seconds (the owner renews it every tenth and stops acting a "
            "fifth before it ends: a shorter lease fences a node at every start)\n",
            vigil__config_where(c, "lease_time", where, sizeof where));
    vigil__config_free(c);
    return NULL;
  }
  if (!st->db) st->db = db;
  if (!st->listen) st->listen = listen;
  const char *node, *advertise, *sites;
  if (vigil__config_string(c, "node", NULL, &node, err, sizeof err) < 0 ||
      vigil__config_string(c, "advertise", NULL, &advertise, err, sizeof err) < 0 ||
      vigil__config_string(c, "sites", NULL, &sites, err, sizeof err) < 0) {
    fprintf(stderr, "vigil serve: %s\n", err);
    vigil__config_free(c);
    return NULL;
  }
  if (!st->node) st->node = node;
  if (!st->advertise) st->advertise = advertise;
  if (!st->sites) st->sites = sites;
  json_t *p = vigil__config_get(c, "protocols");
  if (p && !json_is_string(p) && !json_is_array(p)) {
    fprintf(stderr, "vigil serve: %s: protocols is a folder or a list of folders\n",
            vigil__config_where(c, "protocols", err, sizeof err));
    vigil__config_free(c);
    return NULL;
  }
  st->protocols = p;
  if (site_settings(c, st) < 0) {
    vigil__config_free(c);
    return NULL;
  }
  if (vigil__config_string(c, "plugin_dir", NULL, &st->plugin_dir, err, sizeof err) < 0) {
    fprintf(stderr, "vigil serve: %s\n", err);
    vigil__config_free(c);
    return NULL;
  }
  json_t *secure = vigil__config_get(c, "secure_cookies");
  if (secure && !json_is_boolean(secure)) {
    char where[4200];
    fprintf(stderr, "vigil serve: %s: secure_cookies is true or false\n",
            vigil__config_where(c, "secure_cookies", where, sizeof where));
    vigil__config_free(c);
    return NULL;
  }
  st->secure_cookies = json_is_true(secure);
  if (proxy_settings(c, st) < 0 || server_name_settings(c, st) < 0 || placeholder_settings(c, st) < 0 ||
      ack_reason_settings(c, st) < 0) {
    vigil__config_free(c);
    return NULL;
  }
  st->plugins_json = vigil__config_json(c, "plugins");
  return c;
}

/* Loads the protocols of --protocols, else of vigil.conf, else of ./protocols. */
static int load_all_protocols(vigil_engine *e, settings *st, char ***refs, size_t *n_refs, char *const *checked,
                              size_t n_checked) {
  if (st->protocol_flag) return load_protocols(e, st->protocol_flag, 1, refs, n_refs, &st->specs, checked, n_checked);
  if (!st->protocols) return load_protocols(e, "protocols", 0, refs, n_refs, &st->specs, checked, n_checked);
  if (json_is_string(st->protocols))
    return load_protocols(e, json_string_value(st->protocols), 1, refs, n_refs, &st->specs, checked, n_checked);
  size_t i;
  json_t *dir;
  json_array_foreach(st->protocols, i, dir) {
    if (!json_is_string(dir)) {
      fprintf(stderr, "vigil serve: protocols: item %zu is not a folder name\n", i + 1);
      return -1;
    }
    if (load_protocols(e, json_string_value(dir), 1, refs, n_refs, &st->specs, checked, n_checked) < 0) return -1;
  }
  return 0;
}

/* Where the first admin's password is written: beside a SQLite file
 * (DB-admin-password, as DB-credentials.key), or ./var/admin-password with
 * PostgreSQL (where uploads wait too). */
static void admin_password_path(const char *db, char *out, size_t n) {
  if (vigil__store_is_pg(db))
    snprintf(out, n, "var/admin-password");
  else
    snprintf(out, n, "%s-admin-password", db);
}

/* The password in a file only its owner may read, written whole and on
 * disk before the user exists: 0, or -1 with errno. */
static int write_secret(const char *path, const char *secret) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  size_t len = strlen(secret);
  int ok = fchmod(fd, 0600) == 0 && write(fd, secret, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
  int saved = errno;
  if (close(fd) != 0 && ok) return -1;
  errno = saved;
  return ok ? 0 : -1;
}

/* The first start on a database without users: an admin, whose password
 * is written to a file only this user may read (C8 of issue 17's try: it
 * was printed on standard error, which a service manager keeps with the
 * JSON log, in the journal, for anyone who reads logs), before the user is
 * created, and shown on a terminal too (make run). The log says where it
 * is, never what it is. */
static int first_admin(server_ctx *s) {
  unsigned char random[18];
  char password[25], hash[USER_HASH_MAX], err[512], path[4300];
  randombytes_buf(random, sizeof random);
  sodium_bin2base64(password, sizeof password, random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  admin_password_path(s->st->db, path, sizeof path);
  if (write_secret(path, password) < 0) {
    fprintf(stderr, "vigil serve: cannot write the first admin's password to %s: %s; not starting (no user made)\n",
            path, strerror(errno));
    sodium_memzero(password, sizeof password);
    return -1;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  int rc = vigil__users_hash_password(password, hash);
  if (rc == 0)
    rc = vigil__users_add(s->users, "admin", ROLE_ADMIN, NULL, hash, (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, err,
                          sizeof err);
  char fields[200], dg[65];
  if (vigil__users_hash_digest(s->users, "admin", dg) == 0)
    snprintf(fields, sizeof fields, "{\"user\":\"admin\",\"role\":\"admin\",\"hash_digest\":\"%s\"}", dg);
  else
    snprintf(fields, sizeof fields, "{\"user\":\"admin\",\"role\":\"admin\"}");
  if (rc == 0) /* the user's row goes with its event, in one transaction */
    rc = vigil__site_event_writes(s->e, "user.created", "vigil", fields, vigil__users_take_writes(s->users));
  vigil__users_settle(s->users, rc == 0);
  if (rc < 0) {
    unlink(path);
    sodium_memzero(password, sizeof password);
    fprintf(stderr, "vigil serve: cannot create the first admin: %s\n", rc == VIGIL_ENOMEM ? "out of memory" : err);
    return -1;
  }
  if (isatty(2))
    fprintf(stderr, "\nvigil: first start: created the user \"admin\" with the password\n\n    %s\n\n", password);
  fprintf(stderr,
          "vigil: first start: the user \"admin\"'s password is in %s (readable by this user only). Sign in as admin, "
          "create the clinic's users (or: vigil user add), then delete the file.\n",
          path);
  log_line("info", "first start: created the user admin; its password is in the file named, readable by this user only",
           json_pack("{s:s}", "password_file", path));
  sodium_memzero(password, sizeof password);
  return 0;
}

/* --node NAME --advertise URL --sites a,b: a PostgreSQL store, a name, site
 * names of letters, digits, '-' and '_'; the advertised URL defaults to
 * http://LISTEN. 0, or -1 after saying why. */
static int cluster_settings(settings *st, int pg, char *advertise, size_t n) {
  if (!pg) {
    fprintf(stderr, "vigil serve: --node makes this process a node of a cluster, which needs a PostgreSQL store "
                    "(--store postgresql://...), not a SQLite file\n");
    return -1;
  }
  if (!st->sites || !*st->sites) st->sites = "default";
  const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  size_t len = strlen(st->sites);
  int bad = !*st->node || strlen(st->node) > 64 || strspn(st->node, ok) != strlen(st->node) || len > 1000 ||
            st->sites[0] == ',' || st->sites[len - 1] == ',' || strstr(st->sites, ",,");
  size_t count = 0;
  for (const char *p = st->sites; !bad && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
    bad = strcspn(p, ",") > 64 || strspn(p, ok) < strcspn(p, ",") || ++count > MAX_SITES;
  if (bad) {
    fprintf(stderr, "vigil serve: --node is a name and --sites a list of site names (letters, digits, '-', '_'; at "
                    "most 64 each, 64 sites at most), e.g. --node vigil-1 --sites north,south\n");
    return -1;
  }
  char why[1400];
  if (vigil__plugin_sites_check(st->plugins_json, st->sites, why, sizeof why) < 0) {
    fprintf(stderr, "vigil serve: %s\n", why);
    return -1;
  }
  if (st->advertise)
    snprintf(advertise, n, "%s", st->advertise);
  else
    snprintf(advertise, n, "http://%s", st->listen);
  size_t al = strlen(advertise);
  if (al && advertise[al - 1] == '/') advertise[al - 1] = '\0';
  return 0;
}

/* The store as it may be shown: a PostgreSQL URI without its password. */
static void store_shown(const char *db, char *out, size_t n) {
  snprintf(out, n, "%s", db);
  if (!vigil__store_is_pg(db)) return;
  char *who = strstr(out, "://") + 3, *at = strchr(who, '@'), *colon = strchr(who, ':');
  if (at && colon && colon < at) snprintf(colon, n - (size_t)(colon - out), ":***%s", strchr(db + (at - out), '@'));
  char *pw = strstr(out, "password=");
  if (pw) snprintf(pw, n - (size_t)(pw - out), "password=***");
}

/* ---- the sites this process serves ------------------------------------------- */

/* A deadline that fell due while no node had a site this node took over
 * (before its claim): how late it fired, for /metrics. */
static int on_overdue(void *ud, const vigil_event *ev) {
  site_unit *u = ud;
  server_ctx *s = u->s;
  char *text = vigil_event_json(u->e, ev);
  json_t *x = text ? json_loads(text, 0, NULL) : NULL;
  vigil_free(text);
  json_t *late = json_object_get(json_object_get(x, "data"), "late_ms");
  if (json_is_number(late) && vigil_event_time(ev) - (int64_t)json_number_value(late) < u->claimed_ms) {
    double secs = json_number_value(late) / 1000;
    size_t i = 0;
    while (i < N_LATENESS && secs > LATENESS_BOUNDS[i])
      i++;
    s->lateness[i]++;
    s->lateness_sum += secs;
    s->lateness_count++;
  }
  json_decref(x);
  return 0;
}

/* The deadlines a takeover fired: those after this engine's engine.started
 * event, the last of the log's (found from the head back, in growing
 * steps, so that a long log is not read whole). */
typedef struct late_scan {
  site_unit *u;
  uint64_t started;
} late_scan;

static int find_started(void *ud, const vigil_event *ev) {
  late_scan *x = ud;
  if (!strcmp(vigil_event_type(ev), "engine.started")) x->started = vigil_event_seq(ev);
  return 0;
}

static int count_late(void *ud, const vigil_event *ev) {
  late_scan *x = ud;
  return !strcmp(vigil_event_type(ev), "item.overdue") ? on_overdue(x->u, ev) : 0;
}

static void takeover_lateness(site_unit *u) {
  uint64_t last, visits, alerts;
  int unclean;
  char err[256];
  store *db = vigil__engine_store(u->e);
  if (db->ops->summary(db, &last, &visits, &alerts, &unclean, err, sizeof err) < 0) return;
  late_scan x = {.u = u};
  for (uint64_t back = 64;; back *= 2) {
    uint64_t after = last > back ? last - back : 0;
    if (vigil_engine_events(u->e, after, find_started, &x) < 0 || x.started || after == 0) break;
  }
  if (x.started) vigil_engine_events(u->e, x.started, count_late, &x);
}

/* The requests about a site (api_cluster.c: ?site=, a start's "site") go to
 * that site's api when this node serves it; everything else, and a site
 * this node does not serve (the home api answers 307 or 503), to the home
 * site's. */
static void on_request(void *ud, http_request *req) {
  server_ctx *s = ud;
  char site[80];
  api *to = s->units[0]->api;
  if (s->n_units > 1 && vigil__api_request_site(req, site, sizeof site) == 1)
    for (size_t i = 1; i < s->n_units; i++)
      if (!s->units[i]->closing && !strcmp(s->units[i]->name, site)) to = s->units[i]->api;
  vigil__api_handle(to, req);
}

static int on_head(void *ud, http_request *req, int *status, const char **code, const char **message) {
  return vigil__api_head_check(((server_ctx *)ud)->units[0]->api, req, status, code, message);
}

static void on_site_lost(void *ud);

/* Everything of a claimed (or the single) site but its engine: protocols,
 * uploaded versions, plugins, its api, and on a node its lease. 0, or -1
 * after saying why. */
static int unit_start(server_ctx *s, site_unit *u) {
  settings *st = (settings *)s->st;
  site_unit *home = s->units[0];
  int is_home = u == home;
  if (load_all_protocols(u->e, st, &u->refs, &u->n_refs, is_home ? NULL : home->refs, is_home ? 0 : home->n_refs) < 0)
    return -1;
  if (load_uploads(u->e, s->uploads) < 0) return -1;
  plugin_host_options po = {.engine = u->e,
                            .loop = &s->loop,
                            .dir = st->plugin_dir,
                            .plugins_json = st->plugins_json,
                            .log = plugin_log,
                            .log_ud = u,
                            .site = st->node ? u->name : NULL,
                            .timezone = st->timezone};
  char perr[512];
  if (vigil__plugin_host_new(&po, &u->plugins, perr, sizeof perr) < 0) {
    fprintf(stderr, "vigil serve: %s\n", perr);
    return -2;
  }
  api_options ao = {.engine = u->e,
                    .loop = &s->loop,
                    .refs = (const char *const *)u->refs,
                    .n_refs = u->n_refs,
                    .untested = (const char *const *)st->specs.refs,
                    .n_untested = st->specs.n,
                    .stream_heartbeat_ms = st->heartbeat_ms,
                    .streams_per_session = (unsigned)st->streams_per_session,
                    .streams_per_user = (unsigned)st->streams_per_user,
                    .streams_per_address = (unsigned)st->connections_per_address,
                    .plugins_status = plugins_status,
                    .plugins_metrics = plugins_metrics,
                    .sites_health = st->node ? sites_health : NULL,
                    .plugins_failed = plugins_failed,
                    .plugins_ud = u,
                    .users = s->users,
                    .session_ttl_ms = (int64_t)st->session_ms,
                    .idempotency_ttl_ms = (int64_t)st->idempotency_ms,
                    .alarm_pause_ms = (int64_t)st->alarm_pause_ms,
                    .ack_reasons = st->ack_reasons,
                    .usual_protocol = st->usual_protocol,
                    .n_ack_reasons = st->n_ack_reasons,
                    .simulated_clock = s->opts.clock == VIGIL_CLOCK_SIMULATED,
                    .store = vigil__engine_store(u->e),
                    .uploads_dir = s->uploads,
                    .upload_check_ms = st->upload_check_ms,
                    .max_concurrent_exports = (unsigned)st->max_concurrent_exports,
                    .upload_check_memory = (size_t)st->upload_check_mb << 20,
                    .trusted_proxies = st->trusted_proxies,
                    .n_trusted_proxies = st->n_trusted_proxies,
                    .refusal_window_ms = (int64_t)st->refusal_window_ms,
                    .secure_cookies = st->secure_cookies,
                    .node = st->node,
                    .site = st->node ? u->name : NULL,
                    .share = is_home ? NULL : home->api};
  if (vigil__api_new(&ao, &u->api) < 0) {
    fprintf(stderr, "vigil serve: out of memory\n");
    return -1;
  }
  /* What fell due while the site was down fires now that its plugins and
   * streams listen (vigil.h); a failure is tried again as the timer's. */
  if (vigil_engine_fire_due(u->e) < 0)
    log_line("error", "the deadlines that passed while the site was down did not fire",
             json_pack("{s:s, s:s}", "site", u->name, "error", vigil_engine_errmsg(u->e)));
  if (u->took_over) {
    s->takeovers++;
    takeover_lateness(u);
  }
  if (!st->node) return 0;
  char err[512];
  int rc = vigil__cluster_start(&s->loop, u->e, s->opts.lease_ms, u->claimed_mono, on_site_lost, u, log_line, &u->lease,
                                err, sizeof err);
  if (rc == VIGIL_EBUSY || rc == VIGIL_ECORRUPT) {
    log_line("error", "the site was taken by another node while this node loaded it (or its schema is gone)",
             json_pack("{s:s, s:s}", "site", u->name, "error", err));
    return -3;
  }
  if (rc < 0) {
    fprintf(stderr, "vigil serve: cannot keep the site's lease (out of memory)\n");
    return -1;
  }
  return 0;
}

/* Tries every site of the node's list it does not serve: 1 when it claimed
 * one or more (each a unit with its engine, not started yet), 0 when every
 * one is another live node's, 2 when none was claimed and some not for that
 * (PostgreSQL cannot be reached now, or this machine's clock is off: said
 * already), -2 on a setting to correct (a site that does not exist, a role,
 * database or option PostgreSQL refuses), -1 on another error. */
static int claim_free_sites(void *ud) {
  server_ctx *s = ud;
  settings *st = (settings *)s->st;
  int claimed = 0, not_owned = 0;
  for (const char *p = st->sites; *p;) {
    size_t len = strcspn(p, ",");
    char name[80];
    snprintf(name, sizeof name, "%.*s", (int)len, p);
    p += len + (p[len] == ',');
    site_unit *u = NULL;
    int serving = 0;
    for (size_t i = 0; i < s->n_units; i++)
      if (!strcmp(s->units[i]->name, name)) {
        if (s->units[i]->closed)
          u = s->units[i]; /* lost earlier: its slot again */
        else
          serving = 1;
      }
    if (serving) continue;
    if (!u) {
      if (s->n_units == MAX_SITES || !(u = calloc(1, sizeof *u))) return claimed ? 1 : -1;
      u->s = s;
      snprintf(u->name, sizeof u->name, "%s", name);
      s->units[s->n_units++] = u;
    } else { /* its handles closed long ago */
      vigil__plugin_host_free(u->plugins);
      for (size_t i = 0; i < u->n_refs; i++)
        free(u->refs[i]);
      free(u->refs);
      *u = (site_unit){.s = s};
      snprintf(u->name, sizeof u->name, "%s", name);
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    u->claimed_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    u->claimed_mono = vigil__cluster_mono_ms();
    int rc = vigil__cluster_try(&s->opts, u->name, &u->e, &s->said_busy, log_line);
    if (rc == 0) {
      uint64_t seq, visits, alerts;
      int unclean = 0;
      char err[256];
      store *db = vigil__engine_store(u->e);
      if (db->ops->summary(db, &seq, &visits, &alerts, &unclean, err, sizeof err) == 0) u->took_over = unclean;
      claimed++;
      continue;
    }
    u->closing = u->closed = 1; /* an empty slot */
    /* Owned by another node, or PostgreSQL unreachable for now: tried again
     * at the next round, as is a claim refused for this machine's clock (C5);
     * anything else (a damaged log, a newer schema) stops. */
    if (rc == VIGIL_ENOENT) return -2; /* not a site of the database (C7): a setting to correct, status 2 */
    if (rc == VIGIL_EINVAL) return -2; /* refused by PostgreSQL for good (D2): status 2 */
    if (rc != VIGIL_EBUSY && rc != VIGIL_EIO && rc != VIGIL_ECLOCK) return -1;
    not_owned += rc != VIGIL_EBUSY;
  }
  return claimed ? 1 : not_owned ? 2 : 0;
}

/* Every second a node reads the users and sessions again: what other nodes
 * changed (a user created or disabled, a password, a sign-out) holds here
 * within that second (docs/deploy.md). */
#define USERS_RELOAD_MS 1000
static void on_users_timer(uv_timer_t *t) {
  server_ctx *s = t->data;
  char err[512];
  if (s->stopping) return;
  if (vigil__users_reload(s->users, err, sizeof err) == 0) {
    if (s->reload_failing) log_line("info", "read the users and sessions again", NULL);
    s->reload_failing = 0;
    return;
  }
  if (!s->reload_failing)
    log_line("warn", "cannot read the users and sessions again", json_pack("{s:s}", "error", err));
  s->reload_failing = 1;
}

/* A node tries the sites of its list it does not hold every third of the
 * lease: a site whose owner died is taken over by a node that serves other
 * sites too. */
static void on_claim_timer(uv_timer_t *t) {
  server_ctx *s = t->data;
  if (s->stopping) return;
  size_t before = s->n_units;
  int was[MAX_SITES] = {0};
  for (size_t i = 0; i < before; i++)
    was[i] = !s->units[i]->closed;
  /* What it claimed before an error (other than a site owned) is started
   * all the same: an engine holding a lease must be served or given up. */
  claim_free_sites(s);
  for (size_t i = 0; i < s->n_units; i++) {
    site_unit *u = s->units[i];
    if ((i < before && was[i]) || u->closed || !u->e || u->api) continue;
    if (unit_start(s, u) < 0) {
      log_line("error", "cannot serve the site claimed: giving it up", json_pack("{s:s}", "site", u->name));
      vigil__cluster_stop(u->lease);
      u->lease = NULL;
      vigil__plugin_host_close(u->plugins);
      if (u->api) vigil__api_close(u->api, NULL, NULL);
      u->api = NULL;
      vigil_engine_free(u->e);
      u->e = NULL;
      u->closing = u->closed = 1;
    }
  }
}

static int serve(settings *st) {
  const char *listen = st->listen, *clock = st->clock;
  char db[4200];
  store_shown(st->db, db, sizeof db); /* db names the store in messages; st->db opens it */
  int pg = vigil__store_is_pg(st->db);
  uint64_t idle_ms = st->idle_ms, request_ms = st->request_ms;
  char host[256];
  int port;
  if (parse_listen(listen, host, sizeof host, &port) < 0) {
    fprintf(stderr, "vigil serve: listen wants HOST:PORT (127.0.0.1:8080, [::1]:8080), not '%s'\n", listen);
    return 2;
  }
  vigil_clock_kind kind;
  if (!strcmp(clock, "real"))
    kind = VIGIL_CLOCK_REAL;
  else if (!strcmp(clock, "simulated") && st->allow_simulated)
    kind = VIGIL_CLOCK_SIMULATED;
  else if (!strcmp(clock, "simulated")) {
    fprintf(stderr, "vigil serve: the simulated clock does not move by itself: deadlines would never fire. It is "
                    "for tests and demonstrations only: add --allow-simulated-clock.\n");
    return 2;
  } else {
    fprintf(stderr, "vigil serve: --clock is real or simulated, not '%s'\n", clock);
    return 2;
  }
  char advertise[600];
  if (st->node && cluster_settings(st, pg, advertise, sizeof advertise) < 0) return 2;
  if (!st->node && st->sites) {
    /* C6 of issue 17's try: they used to be ignored without a word. */
    fprintf(stderr, "vigil serve: --sites (vigil.conf sites) names the sites of a node of a cluster: give the node "
                    "its name with --node NAME (docs/deploy.md), or leave --sites out\n");
    return 2;
  }
  if (!st->node && pg) {
    /* C6 of issue 17's try: without a name a server held its site with no
     * lease (owner NULL), so a second server took the site and fenced the
     * first, whose /healthz still said ok. Every process on PostgreSQL is a
     * node: it holds a renewed lease, and a second one waits as a standby. */
    fprintf(stderr, "vigil serve: a PostgreSQL store is shared by nodes, each holding its sites through a lease: give "
                    "this process its node name with --node NAME (vigil.conf node; docs/deploy.md). Without one it "
                    "would hold its site with no lease, and a second server would take the site from under it\n");
    return 2;
  }
  /* The names always answered: this machine's own, the listen address and
   * the advertised URL's host (a cluster's nodes are reached by it). */
  char listen_name[260], advertised_name[600] = "";
  if (strchr(host, ':'))
    snprintf(listen_name, sizeof listen_name, "[%s]", host);
  else
    snprintf(listen_name, sizeof listen_name, "%s", host);
  if (st->node) {
    const char *a = strstr(advertise, "://");
    a = a ? a + 3 : advertise;
    size_t n = a[0] == '[' ? strcspn(a, "]") + 1 : strcspn(a, ":/");
    snprintf(advertised_name, sizeof advertised_name, "%.*s", (int)n, a);
  }
  const char *always[] = {"localhost", "127.0.0.1", "[::1]", listen_name, advertised_name};
  for (size_t i = 0; i < sizeof always / sizeof *always; i++)
    if (always[i][0]) st->server_names[st->n_server_names++] = always[i];
  /* Uploads wait in a folder beside a SQLite file; with PostgreSQL, in ./var. */
  if (ensure_parent(pg ? "var/vigil" : st->db) < 0) return 1;
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-answer is a write error, not a death */

  server_ctx s = {0};
  int rc = uv_loop_init(&s.loop);
  if (rc < 0) {
    fprintf(stderr, "vigil serve: %s\n", uv_strerror(rc));
    return 1;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  vigil_options opts = {.clock = kind,
                        .sim_start_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000,
                        .loop = &s.loop,
                        .db_path = st->db,
                        .log = on_engine_log,
                        .escalate_ms = (int64_t)st->escalate_ms,
                        .lua_time_limit_ms = (uint32_t)st->rule_time_limit_ms,
                        .reason_placeholders = st->has_reason_placeholders ? st->reason_placeholders : NULL,
                        .n_reason_placeholders = st->n_reason_placeholders,
                        .max_readings_per_visit = (uint32_t)st->max_readings_per_visit,
                        .max_notes_per_visit = (uint32_t)st->max_notes_per_visit,
                        .max_amendments_per_visit = (uint32_t)st->max_amendments_per_visit,
                        .refusal_window_ms = (int64_t)st->refusal_window_ms,
                        .escalate_by_priority_ms = {st->escalate_by_priority_ms[0], st->escalate_by_priority_ms[1],
                                                    st->escalate_by_priority_ms[2]}};
  int exit_code = 0;
  char err[512];
  /* A restart trusts the derived tables: an edit of one (a visit's status,
   * an approval, a user) would silently change what it resumes. */
  struct stat dbst;
  /* The hash chain, from the event verified at the last start (S2). */
  if (!pg && stat(st->db, &dbst) == 0 && verify_chain_at_start(st->db) < 0) {
    exit_code = 1;
    goto out;
  }
  if (!pg && stat(st->db, &dbst) != 0 && upload_without_log(st->db, err, sizeof err)) {
    fprintf(stderr, "vigil serve: %s: %s; not starting\n", db, err);
    log_line("error", "an upload folder without its log", json_pack("{s:s}", "error", err));
    exit_code = 1;
    goto out;
  }
  if (!pg && stat(st->db, &dbst) == 0 && vigil_audit_check_state(st->db, err, sizeof err) == VIGIL_ECORRUPT) {
    fprintf(stderr, "vigil serve: %s: %s; not starting (vigil audit verify says the same)\n", db, err);
    log_line("error", "the database does not match its log", json_pack("{s:s}", "error", err));
    exit_code = 1;
    goto out;
  }
  char uploads[4200];
  vigil__protocol_uploads_dir(st->db, uploads, sizeof uploads);
  /* PostgreSQL: what vigil_audit_check_state checks of a SQLite file that a
   * start trusts (docs/security.md Y1, T6): every upload folder is what a
   * protocol.uploaded event recorded, every user row what the log made it. */
  char bad_site[80];
  uint64_t bad_seq;
  if (pg && vigil__store_pg_verify(st->db, uploads, 0, NULL, bad_site, sizeof bad_site, &bad_seq, err, sizeof err) ==
                VIGIL_ECORRUPT) {
    fprintf(stderr, "vigil serve: %s: %s; not starting (vigil audit verify says the same)\n", db, err);
    log_line("error", "the database does not match its log", json_pack("{s:s}", "error", err));
    exit_code = 1;
    goto out;
  }
  s.st = st;
  s.node = st->node;
  s.uploads = uploads;
  s.opts = opts;
  if (st->node) {
    s.opts.node = st->node;
    s.opts.advertise = advertise;
    s.opts.lease_ms = (int64_t)st->lease_ms;
    s.opts.max_clock_offset_ms = (int64_t)st->max_clock_offset_ms;
    /* Every free site of the list; standby while there is none. */
    if ((rc = vigil__cluster_standby(s.opts.lease_ms, st->sites, claim_free_sites, &s, log_line)) <= 0) {
      exit_code = rc == -2 ? 2 : rc < 0 ? 1 : 0;
      goto out;
    }
  } else {
    site_unit *u = calloc(1, sizeof *u);
    if (!u) {
      exit_code = 1;
      goto out;
    }
    u->s = &s;
    snprintf(u->name, sizeof u->name, "default");
    s.units[s.n_units++] = u;
    if ((rc = vigil_engine_new(&s.opts, &u->e)) < 0) {
      fprintf(stderr, "vigil serve: %s: %s\n", db, vigil_engine_errmsg(u->e));
      exit_code = 1;
      goto out;
    }
  }
  /* The home site: the first claimed; its store keeps the users. */
  while (s.units[0]->closed) { /* an empty slot of a site owned by another node */
    site_unit *empty = s.units[0];
    memmove(s.units, s.units + 1, (s.n_units - 1) * sizeof *s.units);
    s.units[--s.n_units] = empty;
  }
  s.e = s.units[0]->e;
  if ((rc = vigil__users_open(vigil__engine_store(s.e), &s.users, err, sizeof err)) < 0) {
    fprintf(stderr, "vigil serve: %s: %s\n", db, err);
    exit_code = 1;
    goto out;
  }
  if (!pg) { /* the credential key beside the database (docs/security.md U2); made once, ending older sessions */
    unsigned char key[32];
    rc = vigil_audit_credential_key(st->db, 1, key, err, sizeof err);
    if (rc == 1) rc = vigil__users_end_all_sessions(s.users, err, sizeof err);
    if (rc >= 0) vigil__users_set_key(s.users, key);
    sodium_memzero(key, sizeof key);
    if (rc < 0) {
      fprintf(stderr, "vigil serve: %s: %s\n", db, err);
      exit_code = 1;
      goto out;
    }
  }
  if (!pg && users_from_log(st->db, s.users, db) < 0) { /* T6: a role edited in the table is not believed */
    exit_code = 1;
    goto out;
  }
  if (vigil__users_count(s.users) == 0 && first_admin(&s) < 0) {
    exit_code = 1;
    goto out;
  }
  for (size_t i = 0; i < s.n_units; i++)
    if (!s.units[i]->closed && (rc = unit_start(&s, s.units[i])) < 0) {
      exit_code = rc == -2 ? 2 : rc == -3 ? 3 : 1; /* 3: a site lost, as when its lease is */
      goto out;
    }
  s.api = s.units[0]->api;
  /* The session cookie is read once; each device cookie is tried (V6). */
  static const char *const cookies_once[] = {"vigil_session"};
  http_options ho = {.host = host,
                     .port = port,
                     .idle_timeout_ms = idle_ms,
                     .request_timeout_ms = request_ms,
                     .header_timeout_ms = st->header_ms,
                     .max_unsent_answer_bytes = (size_t)st->unsent_bytes,
                     .unsent_answer_timeout_ms = st->unsent_ms,
                     .handler = on_request,
                     .handler_ud = &s,
                     .log = request_log,
                     .max_connections = (unsigned)st->max_connections,
                     .max_connections_per_address = (unsigned)st->connections_per_address,
                     .crowded_connections = (unsigned)st->crowded_connections,
                     .crowded_idle_timeout_ms = st->crowded_idle_ms,
                     .max_buffered_body_bytes = (size_t)st->buffered_body_bytes,
                     .max_buffered_body_per_address = (size_t)st->body_per_address_bytes,
                     .max_buffered_body_per_user = (size_t)st->body_per_user_bytes,
                     .min_body_bytes_per_s = st->min_body_rate,
                     .head_check = on_head,
                     .head_check_ud = &s,
                     .unlimited = st->trusted_proxies,
                     .n_unlimited = st->n_trusted_proxies,
                     .notice = http_notice,
                     .server_names = st->server_names,
                     .n_server_names = st->n_server_names,
                     .any_address_literal = !strcmp(host, "0.0.0.0") || !strcmp(host, "::"),
                     .cookies_once = cookies_once,
                     .n_cookies_once = sizeof cookies_once / sizeof *cookies_once};
  if ((rc = vigil__http_server_start(&s.loop, &ho, &s.http, err, sizeof err)) < 0) {
    fprintf(stderr, "vigil serve: %s\n", err);
    log_line("error", "cannot listen", json_pack("{s:s}", "error", err));
    for (size_t i = s.n_units; i-- > 0;)
      if (s.units[i]->api) vigil__api_close(s.units[i]->api, NULL, NULL);
    for (size_t i = 0; i < s.n_units; i++)
      s.units[i]->api = NULL;
    s.api = NULL;
    exit_code = 1;
    goto out;
  }
  uv_signal_init(&s.loop, &s.sigterm);
  uv_signal_init(&s.loop, &s.sigint);
  s.sigterm.data = s.sigint.data = &s;
  uv_signal_start(&s.sigterm, on_signal, SIGTERM);
  uv_signal_start(&s.sigint, on_signal, SIGINT);
  json_t *loaded = json_array();
  for (size_t i = 0; i < s.units[0]->n_refs; i++)
    json_array_append_new(loaded, json_string(s.units[0]->refs[i]));
  log_line("info", "listening",
           json_pack("{s:s, s:i, s:s, s:s, s:o, s:I, s:I}", "host", host, "port", vigil__http_server_port(s.http), "db",
                     db, "clock", clock, "protocols", loaded, "idle_timeout_ms", (json_int_t)idle_ms,
                     "request_timeout_ms", (json_int_t)request_ms));
  if (!is_loopback(host))
    log_line("warn", "listening beyond loopback without TLS: put a TLS-terminating proxy in front", NULL);
  for (size_t i = 0; i < st->specs.n; i++)
    log_line("error", "serving an UNTESTED protocol version (--allow-untested): its specs fail or it has none",
             json_pack("{s:s}", "ref", st->specs.refs[i]));
  if (kind == VIGIL_CLOCK_SIMULATED)
    log_line("warn", "simulated clock: time moves only when an admin advances it (POST /api/v1/clock)", NULL);
  if (pg) { /* users and sessions other nodes change */
    vigil__users_share(s.users);
    uv_timer_init(&s.loop, &s.users_timer);
    s.users_timer.data = &s;
    s.reloading = 1;
    uv_timer_start(&s.users_timer, on_users_timer, USERS_RELOAD_MS, USERS_RELOAD_MS);
  }
  if (st->node) { /* the sites of the list this node does not hold yet */
    uv_timer_init(&s.loop, &s.claimer);
    s.claimer.data = &s;
    s.claiming = 1;
    uint64_t every = st->lease_ms / 3 > 0 ? st->lease_ms / 3 : 1;
    uv_timer_start(&s.claimer, on_claim_timer, every, every);
  }
  uv_run(&s.loop, UV_RUN_DEFAULT);
  log_line("info", "stopped", NULL);
  if (s.broken)
    exit_code = 1;
  else if (s.lost)
    exit_code = 3;

out:
  for (size_t i = 0; i < s.n_units; i++) {
    vigil__cluster_stop(s.units[i]->lease);
    s.units[i]->lease = NULL;
  }
  for (size_t i = 0; i < s.n_units; i++)
    vigil__plugin_host_close(s.units[i]->plugins); /* the plugins' last words may use the store */
  vigil__users_close(s.users);
  for (size_t i = s.n_units; i-- > 0;)
    vigil_engine_free(s.units[i]->e); /* closes its timer: the run below frees it */
  if (s.claiming) uv_close((uv_handle_t *)&s.claimer, on_signal_closed);
  if (s.reloading) uv_close((uv_handle_t *)&s.users_timer, on_signal_closed);
  uv_run(&s.loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&s.loop) != 0) log_line("warn", "handles left open at exit", NULL);
  for (size_t i = 0; i < s.n_units; i++) {
    site_unit *u = s.units[i];
    vigil__plugin_host_free(u->plugins); /* unloaded once their handles are closed */
    for (size_t k = 0; k < u->n_refs; k++)
      free(u->refs[k]);
    free(u->refs);
    free(u);
  }
  for (size_t i = 0; i < st->specs.n; i++)
    free(st->specs.refs[i]);
  free(st->specs.refs);
  return exit_code;
}

int vigil__cmd_serve(int argc, char **argv) {
  settings st = {.clock = "real"};
  if (parse_flags(argc, argv, &st) < 0) return 2;
  config *conf = read_settings(&st);
  if (!conf) return 2;
  int exit_code = serve(&st);
  free(st.plugins_json);
  vigil__config_free(conf);
  return exit_code;
}
