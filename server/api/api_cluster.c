/* api_cluster.c: a node of a cluster on PostgreSQL (docs/deploy.md).
 *
 *   GET /api/v1/cluster     this node, its site, and every site's lease
 *   ?site=NAME              on /api/v1/visits..., /api/v1/alerts...,
 *                           /api/v1/events..., /api/v1/clock, /api/v1/patients...,
 *                           /api/v1/courses...: a site this node does not own
 *                           is answered 307 at its owner's advertised URL
 *                           (same path and query), or 503 when no live node
 *                           owns it, or 422 when the cluster has no such
 *                           site. Without ?site= a request is about this
 *                           node's first site. POST /api/v1/visits may name
 *                           its site in its body instead ("site").
 *
 * Sign-in, users and protocols are the same on every node: they are never
 * redirected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api_internal.h"
#include "store/store.h"

static int is(const char *s, size_t n, const char *word) { return strlen(word) == n && !memcmp(s, word, n); }

double vigil__api_clock_offset_s(api *a) { return (double)vigil__store_clock_offset(a->store) / 1000; }

void vigil__api_get_cluster(api *a, http_request *req, const api_call *c) {
  (void)c;
  char err[512];
  char *sites = vigil__store_sites_json(a->store, err, sizeof err);
  if (!sites) {
    vigil__http_respond_error(req, 503, "store_unavailable", err, NULL);
    return;
  }
  json_t *all = json_loads(sites, 0, NULL);
  free(sites);
  json_t *body = json_pack("{s:s, s:s, s:o}", "node", a->node, "site", a->site, "sites", all ? all : json_array());
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  vigil__http_respond(req, 200, "application/json", text, strlen(text), NULL);
  free(text);
}

/* The site named in the body of POST /api/v1/visits: 1 with it in site,
 * 0 when none, -2 when "site" is not a site's name. */
static int body_site(http_request *req, char *site, size_t n) {
  if (strcmp(vigil__http_request_method(req), "POST") != 0) return 0;
  const char *path = vigil__http_request_path(req);
  if (strcmp(path, "/api/v1/visits") != 0 && strcmp(path, "/api/v1/visits/") != 0) return 0;
  size_t len;
  const char *text = vigil__http_request_body(req, &len);
  json_t *body = text && len ? json_loadb(text, len, 0, NULL) : NULL;
  json_t *x = json_object_get(body, "site");
  int rc = 0;
  if (x && !json_is_null(x)) {
    const char *v = json_string_value(x);
    rc = v && *v && strlen(v) < n && strlen(v) <= 64 &&
                 strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == strlen(v)
             ? 1
             : -2;
    if (rc == 1) snprintf(site, n, "%s", v);
  }
  json_decref(body);
  return rc;
}

/* The first segments after /api/v1/ of what is a site's: its engine
 * answers. The clock is each site's engine's (C8 of issue 17's try: ?site=
 * of GET /api/v1/clock answered the node's first site's); patients and
 * courses are read from and written to the site's log (E1 of the third try:
 * the workstation's patient screen and its course starts named their site
 * and got the node's first site's); a site's plugins are its own (AF2 of
 * docs/deploy.md: GET /api/v1/plugins?site=north showed the first site's). */
static const char *const site_routes[] = {"visits", "alerts", "events", "clock", "patients", "courses", "plugins"};

static int is_site_segment(const char *first, size_t len) {
  for (size_t i = 0; i < sizeof site_routes / sizeof *site_routes; i++)
    if (is(first, len, site_routes[i])) return 1;
  return 0;
}

int vigil__api_is_site_route(http_request *req) {
  const char *p = vigil__http_request_path(req);
  static const char prefix[] = "/api/v1/";
  if (strncmp(p, prefix, sizeof prefix - 1)) return 0;
  p += sizeof prefix - 1;
  return is_site_segment(p, strcspn(p, "/"));
}

int vigil__api_request_site(http_request *req, char *site, size_t n) {
  /* /healthz?site=NAME is that site's (E5 of the third try); a site this
   * node does not act for is answered by the first site's api (get_health:
   * 503 not_served), never redirected: a proxy's health check asks each
   * node about itself. */
  const char *path = vigil__http_request_path(req);
  if (!strcmp(path, "/healthz") || !strcmp(path, "/api/v1/healthz"))
    return vigil__http_query_param(vigil__http_request_query(req), "site", site, n) >= 0;
  if (!vigil__api_is_site_route(req)) return 0;
  int q = vigil__http_query_param(vigil__http_request_query(req), "site", site, n);
  if (q == -2 || q == -3) return -1;
  if (q >= 0) return 1;
  /* A stream resumed by its Last-Event-ID alone (an EventSource after its
   * node died): the SITE of SITE:SEQ is the request's site, on a node that
   * owns it among others too (C4 of issue 17's try: it went to the node's
   * first site, which sent it to itself). */
  const char *last_id = vigil__http_request_header(req, "Last-Event-ID");
  const char *colon = last_id ? strrchr(last_id, ':') : NULL;
  if (colon && colon > last_id && (size_t)(colon - last_id) < n && colon - last_id <= 64) {
    snprintf(site, n, "%.*s", (int)(colon - last_id), last_id);
    return 1;
  }
  int b = body_site(req, site, n);
  return b == -2 ? -1 : b;
}

int vigil__api_cluster_redirect_site(api *a, http_request *req, const char *site) {
  if (!a->site || !strcmp(site, a->site)) return 0;
  const char *query = vigil__http_request_query(req);
  int known = 1;
  char *owner = vigil__store_site_owner(a->store, site, &known);
  if (!owner) {
    char msg[200];
    if (!known) {
      snprintf(msg, sizeof msg, "no site %s in this cluster", site);
      vigil__http_respond_error(req, 422, "unknown_site", msg, "site");
      return 1;
    }
    snprintf(msg, sizeof msg, "no node owns site %s now: try again in a few seconds", site);
    vigil__http_respond_error(req, 503, "site_unavailable", msg, "site");
    return 1;
  }
  size_t len = strlen(owner) + strlen(vigil__http_request_path(req)) + strlen(query) + 32;
  char *location = malloc(len);
  if (!location) {
    free(owner);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return 1;
  }
  /* The owner's URL came from its own settings: no line breaks in it. */
  owner[strcspn(owner, "\r\n")] = '\0';
  /* No query: no '?' (C8 of issue 17's try: every Location ended in one). */
  snprintf(location, len, "Location: %s%s%s%s\r\n", owner, vigil__http_request_path(req), *query ? "?" : "", query);
  static const char body[] = "{\"error\":{\"code\":\"moved\",\"message\":\"another node owns this site\"}}";
  vigil__http_respond(req, 307, "application/json", body, sizeof body - 1, location);
  free(location);
  free(owner);
  return 1;
}

/* A request about another node's site: 307 to its owner. 1 if answered. */
static int redirect(api *a, http_request *req) {
  char site[80];
  if (!a->site) { /* a single server: its one site; ?site= is not looked at */
    if (!body_site(req, site, sizeof site)) return 0;
    vigil__http_respond_error(req, 422, "invalid_field",
                              "this server is not a node of a cluster: it has one site; leave site out", "site");
    return 1;
  }
  int n = vigil__http_query_param(vigil__http_request_query(req), "site", site, sizeof site);
  if (n == -2 || n == -3) {
    vigil__http_respond_error(req, 400, "bad_site", "site is a site's name, given once", "site");
    return 1;
  }
  /* A stream's resume point names its site (SITE:SEQ): ?site= naming
   * another is refused here, not sent from one owner to the other. */
  const char *last_id = vigil__http_request_header(req, "Last-Event-ID");
  const char *colon = last_id ? strrchr(last_id, ':') : NULL;
  if (n >= 0 && colon && (strlen(site) != (size_t)(colon - last_id) || memcmp(last_id, site, strlen(site)))) {
    char msg[300];
    snprintf(msg, sizeof msg, "Last-Event-ID is an event of site %.*s but ?site= names %s: name one site",
             (int)(colon - last_id < 80 ? colon - last_id : 80), last_id, site);
    vigil__http_respond_error(req, 409, "site_mismatch", msg, "site");
    return 1;
  }
  if (n >= 0) {
    /* AU3: ?site= and the body's site name one site, or neither is taken. */
    char named[80];
    if (body_site(req, named, sizeof named) == 1 && strcmp(named, site)) {
      char msg[300];
      snprintf(msg, sizeof msg, "the body's site is %s but ?site= names %s: name one site", named, site);
      vigil__http_respond_error(req, 409, "site_mismatch", msg, "site");
      return 1;
    }
  }
  if (n < 0) {
    n = body_site(req, site, sizeof site);
    if (n == -2) {
      vigil__http_respond_error(req, 422, "invalid_field",
                                "site is the name of a site (letters, digits, '-', '_'; at most 64)", "site");
      return 1;
    }
    if (n != 1) return 0;
  }
  return vigil__api_cluster_redirect_site(a, req, site);
}

int vigil__api_cluster_redirect(api *a, http_request *req, const char *first, size_t len) {
  if (!is_site_segment(first, len)) return 0;
  return redirect(a, req);
}
