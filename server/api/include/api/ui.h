/* ui.h: the nurse workstation's static files (ui/), served from the binary. */
#ifndef VIGIL_UI_H
#define VIGIL_UI_H

#include "http/http.h"

/* Whether path belongs to the app rather than to the API: everything but
 * /api/..., /metrics and /healthz, so that the app can never shadow them. */
int vigil__ui_owns(const char *path);

/* Answers a request for one of the app's files: "/" is index.html; GET and
 * HEAD only (405 otherwise); 304 when If-None-Match names the file's ETag;
 * 404 for a path that is not one of the files. */
void vigil__ui_serve(http_request *req);

#endif
