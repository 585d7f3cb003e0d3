/* poster.h: HTTP POSTs with libcurl's multi interface on a libuv loop.
 *
 * curl tells which sockets to watch and when to wake it (its socket and
 * timer callbacks); libuv watches them (a uv_poll_t per socket, one
 * uv_timer_t) and hands the readiness back to curl. Nothing blocks the loop:
 * name resolution runs in curl's resolver thread, the rest is non-blocking. */
#ifndef VIGIL_WEBHOOK_POSTER_H
#define VIGIL_WEBHOOK_POSTER_H

#include <stddef.h>
#include <uv.h>

typedef struct poster poster;

/* status: the HTTP status, or 0 when no answer came (error says why). */
typedef void (*poster_done_fn)(void *ud, long status, const char *error);

poster *vigil__webhook_poster_new(uv_loop_t *loop);

/* POSTs body to url with the given header lines ("Name: value"). done runs
 * once, later, on the loop, unless the poster is closed first. 0, or -1 when
 * the request could not even be made. */
int vigil__webhook_poster_post(poster *p, const char *url, const char *const *headers, size_t n_headers,
                               const char *body, size_t len, long timeout_ms, poster_done_fn done, void *ud);

/* Abandons what is in flight (no done callbacks), closes its handles, and
 * frees itself once they are closed; then closed(ud), if given. */
void vigil__webhook_poster_close(poster *p, void (*closed)(void *ud), void *ud);

#endif
