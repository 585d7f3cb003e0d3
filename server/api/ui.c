/* ui.c: the nurse workstation's files, compiled into the binary by
 * server/embed_ui.cmake, served at "/".
 *
 * Each file is revalidated on every use (Cache-Control: no-cache with its
 * ETag): a browser at a chair-side workstation stays open for days, and
 * after an upgrade it must not run old JavaScript against the new API, while
 * a reload still costs only 304s. The app is loaded from this server alone
 * (no CDN: clinic networks are often offline), which the Content Security
 * Policy states, so that injected markup could neither load nor run a
 * script from elsewhere. */
#include "api/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded_ui.h"

#define SECURITY_HEADERS                                                                                               \
  "Content-Security-Policy: default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "            \
  "form-action 'self'; frame-ancestors 'none'\r\n"                                                                     \
  "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"

int vigil__ui_owns(const char *path) {
  if (!strcmp(path, "/metrics") || !strcmp(path, "/healthz")) return 0;
  return strcmp(path, "/api") != 0 && strncmp(path, "/api/", 5) != 0;
}

static const char *content_type(const char *path) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
  };
  const char *dot = strrchr(path, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
    if (!strcmp(dot, types[i].ext)) return types[i].type;
  return "application/octet-stream";
}

static const ui_asset *find(const char *path) {
  if (!strcmp(path, "/")) path = "/index.html";
  for (size_t i = 0; i < vigil__ui_n_assets; i++)
    if (!strcmp(vigil__ui_assets[i].path, path)) return &vigil__ui_assets[i];
  return NULL;
}

/* Whether an If-None-Match header names etag (or is "*"). */
static int etag_matches(const char *header, const char *etag) {
  if (!header) return 0;
  size_t n = strlen(etag);
  for (const char *p = header; *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    if (*p == '*') return 1;
    if (!strncmp(p, "W/", 2)) p += 2; /* a weak comparison is what If-None-Match asks for */
    if (!strncmp(p, etag, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' ')) return 1;
    while (*p && *p != ',')
      p++;
  }
  return 0;
}

void vigil__ui_serve(http_request *req) {
  const char *m = vigil__http_request_method(req);
  if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
    char *body = vigil__http_error_json("method_not_allowed", "the workstation's files allow GET, HEAD", NULL, NULL);
    if (!body) {
      vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
      return;
    }
    vigil__http_respond(req, 405, "application/json", body, strlen(body), "Allow: GET, HEAD\r\n");
    free(body);
    return;
  }
  const ui_asset *a = find(vigil__http_request_path(req));
  if (!a) {
    vigil__http_respond_error(req, 404, "not_found", "no such page or file", NULL);
    return;
  }
  char extra[512];
  snprintf(extra, sizeof extra, "ETag: %s\r\nCache-Control: no-cache\r\n" SECURITY_HEADERS, a->etag);
  /* A 304 carries the Content-Length of the file it stands for, and no body. */
  int status = etag_matches(vigil__http_request_header(req, "If-None-Match"), a->etag) ? 304 : 200;
  vigil__http_respond(req, status, content_type(a->path), a->data, a->len, extra);
}
