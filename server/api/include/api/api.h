/* api.h: vigil's JSON API under /api/v1, on the HTTP server of http.h.
 *
 * Reads answer at once. Writes arriving in one turn of the loop run inside
 * one engine batch; their answers are held until the batch's commit (once per
 * turn, from a uv_check handle) and then sent, or all turned into 503 if the
 * commit failed: nothing is acknowledged before it is durable. A read that
 * arrives while a batch is open waits for the commit too, so no client ever
 * sees what is not yet durable. docs/http.md describes every endpoint. */
#ifndef VIGIL_API_H
#define VIGIL_API_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "api/api_stats.h"
#include "http/http.h"
#include "vigil/vigil.h"

typedef struct api api;
struct users;
struct store;

/* Of a pool of 4 threads (libuv's), which password checks share: two full
 * visits' Bundles (15.4 MB each) at once, the rest asked again. */
#define API_MAX_CONCURRENT_EXPORTS 2

typedef struct api_options {
  vigil_engine *engine;
  uv_loop_t *loop;
  /* "id@version" of each protocol loaded from the protocols folder: a visit
   * started with a bare "id" gets that version (not one loaded back from the
   * store for an old visit). */
  const char *const *refs;
  size_t n_refs;
  /* "id@version" of each version served though its specs fail or it has
   * none (vigil serve --allow-untested): marked "untested" in the list. */
  const char *const *untested;
  size_t n_untested;
  /* The event stream (stream.h): heartbeat interval, and how far behind a
   * subscriber may fall before it is dropped; 0: the defaults. */
  uint64_t stream_heartbeat_ms;
  size_t stream_max_queued;
  /* Event streams open at once per session or token (0: 4) and per client
   * address, behind trusted proxies too (connections_per_address; 0: 64). */
  unsigned streams_per_session, streams_per_address, streams_per_user;
  /* Plugins (core/plugin_host.h): their JSON for GET /api/v1/plugins and
   * their lines of GET /metrics, both malloc'd; NULL: no plugins. */
  char *(*plugins_status)(void *ud);
  char *(*plugins_metrics)(void *ud);
  void *plugins_ud;
  /* A node of a cluster: every site it acts for as /healthz's "sites"
   * member, a JSON object (malloc'd; NULL when out of memory), *degraded set
   * when one of them is (E5 of the third try: /healthz was the first site's
   * alone). Called with plugins_ud; NULL: one site. */
  char *(*sites_health)(void *ud, int *degraded);
  /* How many of this api's site's plugins were refused (not loaded, or
   * their init failed), and in *degraded how many run but say in their
   * status that they cannot do their work (the hl7 plugin's listener
   * waiting for its port, its alarm link down: AJ3, AJ5 of
   * docs/deploy.md): /healthz says degraded and names both counts
   * (`plugins_failed`, `plugins_degraded`; AF1). Called with plugins_ud;
   * NULL: none. */
  unsigned (*plugins_failed)(void *ud, unsigned *degraded);
  /* Who may sign in (users.h; the api does not own it), and how long a
   * sign-in lasts after its last use (0: 12 hours). */
  struct users *users;
  int64_t session_ttl_ms;
  /* How long a command's Idempotency-Key and its answer are kept (0: 24
   * hours; vigil.conf idempotency_hours). */
  int64_t idempotency_ttl_ms;
  /* How long the workstation's "Pause sound" silences an alarm before it
   * sounds again (0: 2 minutes); told to the page with the session. */
  int64_t alarm_pause_ms;
  /* The reasons the workstation offers with one click for an
   * acknowledgement (vigil.conf ack_reasons; copied); told with the session. */
  const char *const *ack_reasons;
  size_t n_ack_reasons;
  /* The protocol id the workstation's start form chooses first (vigil.conf
   * site.usual_protocol; copied); NULL: none is chosen for the nurse. */
  const char *usual_protocol;
  /* The engine runs on the simulated clock, which an admin may advance. */
  int simulated_clock;
  /* The engine's store (core/store.h), for approvals of protocol versions,
   * and the folder uploaded versions are kept in; NULL: no uploads. */
  struct store *store;
  const char *uploads_dir;
  /* Limits of checking an uploaded version (lint and specs run in a child
   * process, off the loop): wall and CPU time (0: 30 s) and memory (0:
   * 512 MiB more than the server's own). */
  uint64_t upload_check_ms;
  size_t upload_check_memory;
  /* Visits' FHIR Bundles built at once off the loop (vigil.conf
   * max_concurrent_exports; 0: API_MAX_CONCURRENT_EXPORTS); past it 503
   * busy (docs/security.md AQ6). */
  unsigned max_concurrent_exports;
  /* The addresses of the reverse proxies in front (vigil.conf's
   * trusted_proxies): only from them is X-Forwarded-For believed. */
  const char *const *trusted_proxies;
  size_t n_trusted_proxies;
  /* Refusals of one address and reason (cross-site requests) within this
   * window are one auth.failed event, besides the first (0: 60 s). */
  int64_t refusal_window_ms;
  /* The session cookie carries Secure (vigil.conf secure_cookies): the
   * browser reaches the server over HTTPS, through the proxy in front. */
  int secure_cookies;
  /* A node of a cluster on PostgreSQL: its name and the site it owns
   * (borrowed: they outlive the api); NULL: a single server. */
  const char *node, *site;
  /* Another site of the same node (its first): this api borrows its
   * limits of failed password checks, so that a second site is no second
   * set of guesses. It must be closed after this one. NULL: its own. */
  const struct api *share;
} api_options;

int vigil__api_new(const api_options *o, api **out);

/* The handler to give http_options (ud: the api). */
void vigil__api_handle(void *ud, http_request *req);
/* http_options.head_check (docs/security.md V4): a request with a body
 * whose route needs a signed-in user, sent without a valid session cookie
 * or token, is refused 401 on its headers, before its body is read. */
int vigil__api_head_check(void *ud, http_request *req, int *status, const char **code, const char **message);

/* The site a request names on the routes about a site (visits, alerts,
 * events): ?site=, or the "site" member of a visit start's body. 1 with its
 * name in site, 0 when it names none, -1 when that is no site's name (the
 * api answers it). A node serving several sites hands the request to that
 * site's api. */
int vigil__api_request_site(http_request *req, char *site, size_t n);

/* Commits what is open now and answers what waits on it. */
void vigil__api_flush(api *a);

void vigil__api_stats_get(const api *a, api_stats *out);

/* Flushes, ends the event streams, closes the api's handles and frees it;
 * done(ud) once closed. */
void vigil__api_close(api *a, void (*done)(void *ud), void *ud);

#endif
