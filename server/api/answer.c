/* answer.c: the API's answers, at once or held until the batch commits.
 *
 * Below every other file of the API (api.c's routes, api_users.c,
 * api_protocols.c, idempotency.c): it calls none of them, so they call it
 * without calling each other in a circle. */
#define _GNU_SOURCE /* strdup */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "http/http.h"

void vigil__api_reply(http_request *req, int status, char *body, const char *extra) {
  if (!body) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  vigil__http_respond(req, status, "application/json", body, strlen(body), extra);
}

void vigil__api_reply_free(http_request *req, int status, char *body, const char *extra) {
  vigil__api_reply(req, status, body, extra);
  free(body);
}

/* An answer to a write: held until the batch commits. */
void vigil__api_hold_answer(api *a, http_request *req, int status, char *body, const char *extra) {
  if (a->n_held == a->cap_held) {
    size_t cap = a->cap_held ? a->cap_held * 2 : 16;
    held *h = realloc(a->held, cap * sizeof *h);
    if (!h) {
      /* Cannot wait for the commit: say it is not known to be recorded. */
      free(body);
      vigil__http_respond_error(req, 503, "out_of_memory", "out of memory; the command may or may not be recorded",
                                NULL);
      return;
    }
    a->held = h;
    a->cap_held = cap;
  }
  a->held[a->n_held++] = (held){req, status, body, extra ? strdup(extra) : NULL};
}
