/* api_cluster.c: a node of a cluster on PostgreSQL (docs/deploy.md).
 *
 *   GET /api/v1/cluster     this node, its site, and every site's lease
 *   ?site=NAME              on /api/v1/visits..., /api/v1/alerts...,
 *                           /api/v1/events...: a site this node does not own
 *                           is answered 307 at its owner's advertised URL
 *                           (same path and query), or 503 when no live node
 *                           owns it. Without ?site= a request is about this
 *                           node's site.
 *
 * Sign-in, users and protocols are the same on every node: they are never
 * redirected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "store/store.h"

static int is(const char *s, size_t n, const char *word) { return strlen(word) == n && !memcmp(s, word, n); }

static void get_cluster(api *a, http_request *req) {
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

/* A request about another node's site: 307 to its owner. 1 if answered. */
static int redirect(api *a, http_request *req) {
  const char *query = vigil__http_request_query(req);
  char site[80];
  int n = vigil__http_query_param(query, "site", site, sizeof site);
  if (n == -2) {
    vigil__http_respond_error(req, 400, "bad_site", "site is a site's name", "site");
    return 1;
  }
  if (n < 0 || !strcmp(site, a->site)) return 0;
  char *owner = vigil__store_site_owner(a->store, site);
  if (!owner) {
    char msg[200];
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
  snprintf(location, len, "Location: %s%s?%s\r\n", owner, vigil__http_request_path(req), query);
  static const char body[] = "{\"error\":{\"code\":\"moved\",\"message\":\"another node owns this site\"}}";
  vigil__http_respond(req, 307, "application/json", body, sizeof body - 1, location);
  free(location);
  free(owner);
  return 1;
}

int vigil__api_route_cluster(api *a, http_request *req, const char *const *seg, const size_t *len, int n) {
  if (n == 1 && is(seg[0], len[0], "cluster")) {
    const char *m = vigil__http_request_method(req);
    static const char not_allowed[] = "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"GET or HEAD\"}}";
    if (strcmp(m, "GET") && strcmp(m, "HEAD"))
      vigil__http_respond(req, 405, "application/json", not_allowed, sizeof not_allowed - 1, "Allow: GET, HEAD\r\n");
    else if (!a->site)
      vigil__http_respond_error(req, 404, "not_found", "this server is not a node of a cluster (docs/deploy.md)", NULL);
    else if (vigil__api_user(a, req, PERM_READ_CLINICAL))
      get_cluster(a, req);
    return 1;
  }
  if (!a->site || !(is(seg[0], len[0], "visits") || is(seg[0], len[0], "alerts") || is(seg[0], len[0], "events")))
    return 0;
  return redirect(a, req);
}
