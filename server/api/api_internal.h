/* api_internal.h: what the files of the API (api.c, answer.c, body.c,
 * api_users.c, api_protocols.c, idempotency.c...) share.
 * Nothing outside server/api*.c includes it. */
#ifndef VIGIL_API_INTERNAL_H
#define VIGIL_API_INTERNAL_H

#include <jansson.h>

#include "api/api_stats.h"
#include "http/http.h"
#include "vigil/vigil.h"
#include "auth/limiter.h"
#include "stream.h"
#include "auth/users.h"

/* Failed password checks (sign-in, change, signature, approval) allowed
 * within the window, per user name and per client address (the address
 * X-Forwarded-For gives when the request comes from a trusted proxy). */
typedef struct api api; /* api.h */

#define FAILURES_PER_NAME 5
#define FAILURES_PER_ADDRESS 20
#define FAILURE_WINDOW_MS (15 * 60 * 1000)
#define FAILURES_PER_DEVICE 5 /* wrong passwords with one device cookie: then it is a stranger's */

typedef struct idem_entry idem_entry;   /* idempotency.c */
typedef struct export_work export_work; /* export_work.c */

typedef struct held {
  http_request *req;
  int status;
  char *body;
  char *extra;
} held;

/* Refused requests recorded as auth.failed events (api_users.c): the
 * first refusal of an address and reason in a window is an event at once,
 * the rest of the window one event more, with their count. Keys past
 * API_REFUSAL_KEYS share one more entry, so that the events of a window
 * are bounded whatever the number of addresses. */
#define API_REFUSAL_KEYS 64
#define API_REFUSAL_PATH_MAX 256 /* bytes of a path (or an origin) kept in the event */
#define API_REFUSAL_PATHS 8      /* distinct paths a coalesced event lists (AU6) */
typedef struct api_refusal {
  int used;
  char address[64], reason[32];
  char user[USER_NAME_MAX + 1];
  char origin[API_REFUSAL_PATH_MAX + 1], path[API_REFUSAL_PATH_MAX + 1];
  size_t path_bytes; /* the whole path's length */
  /* The distinct paths of the pending refusals, the first of them, and how
   * many of those were at other paths (AU6). */
  char paths[API_REFUSAL_PATHS][API_REFUSAL_PATH_MAX + 1];
  unsigned n_paths;
  uint64_t other_paths;
  int64_t window_start_ms, first_ms, last_ms; /* first and last of the pending ones */
  uint64_t pending;                           /* refusals since the window's first, not yet recorded */
} api_refusal;

struct api {
  vigil_engine *e;
  uv_loop_t *loop;
  uv_check_t check;
  uv_idle_t idle;                     /* active with check: the loop must not block in poll while a batch is open */
  uv_idle_t lane_idle;                /* builds the costly reads waiting (lane.c) */
  struct lane_wait *lane, *lane_tail; /* ... oldest first */
  struct diff_child *diff_child;      /* the protocol diff being computed in a child process (diffs.c) */
  struct api_child *children;         /* work running in child processes (child.c) */
  struct kept_diff *diffs;            /* diffs computed, kept (DIFFS_KEPT, oldest replaced first) */
  size_t n_diffs, next_diff;
  struct diff_failure *diff_failed; /* why the diff an approval started was not finished (diffs.c) */
  char **refs;
  size_t n_refs;
  char **untested; /* served with --allow-untested (api_options) */
  size_t n_untested;
  int batch; /* a batch is open: writes are held, reads wait */
  held *held;
  size_t n_held, cap_held;
  http_request **reads;
  size_t n_reads, cap_reads;
  api_stats stats;
  uint64_t started;
  streams *streams;
  users *users;                                /* who may sign in (users.h) */
  int users_lost;                              /* a change of users could not be given to its event: not kept */
  limiter *failed_by_name, *failed_by_address; /* limiter.h */
  limiter *failed_step_up;                     /* per name, within the user's own sessions */
  limiter *failed_by_device;                   /* per device cookie (its nonce): sign-ins in the reserved lane */
  int shared_limits;                           /* the four above are another site's api's (api_options.share) */
  unsigned device_checks;                      /* sign-ins of known devices running or waiting in the pool */
  char **trusted_proxies;                      /* whose X-Forwarded-For is believed */
  size_t n_trusted_proxies;
  int64_t session_ttl_ms;
  /* The workstation's audio pause (api.h). */
  int64_t alarm_pause_ms;
  json_t *ack_reasons;           /* the texts of api_options.ack_reasons, a JSON array */
  json_t *usual_protocol;        /* api_options.usual_protocol, a JSON string or null */
  int simulated_clock;           /* the test clock may be advanced (POST /clock) */
  unsigned checking;             /* password checks and FHIR exports running off the loop */
  unsigned exports, max_exports; /* FHIR exports being built off the loop, and the most at once (export_work.c) */
  struct export_work *building;  /* those exports (export_work.c) */
  /* Exports waiting for a slot, oldest first, and how many (export_work.c, AU4). */
  struct export_wait *export_waiting, *export_waiting_tail;
  unsigned n_export_waiting;
  struct password_check *sign_ins; /* the sign-in lane: checks running or waiting, oldest first */
  int shutting;                    /* vigil__api_close was called */
  int closing;                     /* handles (the check handle, the streams) and checks still to finish */
  void (*closed)(void *ud);
  void *closed_ud;
  struct store *store;        /* the engine's: approvals beside the log */
  const char *node, *site;    /* a node of a cluster: its name and site (api_options); NULL: not one */
  char *uploads_dir;          /* where uploaded protocol versions are kept */
  uint64_t upload_check_ms;   /* wall and CPU time of checking one upload */
  size_t upload_check_memory; /* memory of that check, beyond the server's */
  unsigned n_uploads;         /* upload checks running in child processes (api_protocols.c, child.c) */
  struct approval *approvals; /* of uploaded versions (api_protocols.c) */
  size_t n_approvals;
  struct uploader *uploaders; /* who uploaded which version, from the log (api_protocols.c) */
  size_t n_uploaders, cap_uploaders;
  uint64_t uploads_scanned; /* the log's seq read for them so far */
  char *(*plugins_status)(void *ud);
  char *(*plugins_metrics)(void *ud);
  void *plugins_ud;
  char *(*sites_health)(void *ud, int *degraded);
  unsigned (*plugins_failed)(void *ud, unsigned *degraded);
  api_refusal refusals[API_REFUSAL_KEYS + 1]; /* the last: addresses past the others */
  int64_t refusal_window_ms;
  int secure_cookies;       /* the session cookie says Secure (served over TLS by the proxy in front) */
  uv_timer_t refusal_timer; /* records a window's pending refusals when it ends */
  /* Idempotency-Key (idempotency.c): the keys of commands running or held
   * for the commit, the one whose command runs now, how long a key lasts,
   * and when expired keys were last deleted. */
  idem_entry *idem, *idem_current;
  char head_refusal[160]; /* vigil__api_head_check's 403 message, read at once by http.c */
  int64_t idempotency_ttl_ms, idem_purged_ms;
  /* What the routes' files (api_users.c, api_protocols.c) call of api.c,
   * through pointers vigil__api_new sets, as the engine's lower files call
   * up (engine_up): api.c calls their handlers, so they do not call it. */
  struct {
    void (*open_batch)(api *a); /* opens this turn's batch: what is emitted now commits with it */
    void (*part_done)(api *a);  /* one part of a closing api is done (a handle, a password check) */
  } up;
};

/* ---- routes (the table in api.c) ---- */

/* What the dispatcher gives a route's handler. */
typedef struct api_call {
  const user *who; /* signed in, with the route's permission; NULL on a route open to all */
  uint64_t id;     /* the path's {id} (0: none) */
  const char *seg; /* the path's {ref}, {user} or {patient} segment as sent (seg_len bytes)... */
  size_t seg_len;
  char text[256]; /* ...and NUL-terminated (a {ref} or {user} always fits) */
  int cmd;        /* the route's command (a write) */
} api_call;

typedef void (*api_handler)(api *a, http_request *req, const api_call *c);

/* ---- answers (answer.c) ---- */

/* Answers at once with a JSON body (NULL body: 503 out of memory). */
void vigil__api_reply(http_request *req, int status, char *body, const char *extra);
void vigil__api_reply_free(http_request *req, int status, char *body, const char *extra);
/* An answer held until the batch commits, as it is (a replayed answer). */
void vigil__api_hold_answer(api *a, http_request *req, int status, char *body, const char *extra);
/* An answer to a write: held until the batch commits (api.h), and kept for
 * the command's Idempotency-Key (idempotency.c). */
void vigil__api_hold(api *a, http_request *req, int status, char *body, const char *extra);
/* ---- Idempotency-Key of commands (idempotency.c) ---- */

/* Before a command of who: 0 to run it (*out: its key's entry, to make
 * a->idem_current while it runs and to end with vigil__api_idem_end; NULL:
 * no key), or 1 after answering (the first answer replayed, 422 for another
 * request with the key, 409 while the key's command runs, 400 a bad key). */
int vigil__api_idem_begin(api *a, http_request *req, const user *who, idem_entry **out);
/* Before vigil__api_hold of a->idem_current's answer: what it shows, the
 * visit (id) or the patient's courses (patient), which is kept for a retry
 * instead of the body (Y6: a replay shows it as it is then). */
void vigil__api_idem_refer(api *a, http_request *req, uint64_t visit, const char *patient);
/* The command is over (answered or dropped): a key whose answer is not held
 * is forgotten. */
void vigil__api_idem_end(api *a, idem_entry *x);
/* After the commit (kept or not): held keys are the store's from now on. */
void vigil__api_idem_settle(api *a);
void vigil__api_idem_free(api *a);

/* ---- a request's body (body.c) ---- */

/* The body as a JSON object ({} when empty); NULL after answering 400. */
json_t *vigil__api_body_object(http_request *req);
/* A text shown to staff as an identifier (patient, location) that does not
 * read as what it is: -1 after answering 422 invalid_field naming field. */
int vigil__api_shown_id_refused(http_request *req, const char *field, const char *s);
/* A member that must be a string (or may be absent): 0, or -1 after
 * answering 422 (longer than vigil__api_text_limit(name): too_long). */
int vigil__api_member_string(http_request *req, json_t *body, const char *name, int required, const char **out);

/* The longest free text a request may send, in characters (code points):
 * an entry's text, or a member without a limit of its own. */
#define API_TEXT_MAX 4000
/* The longest name of a body's member, in characters. */
#define API_NAME_MAX 200
/* The most members and array elements (at every depth, together) a request
 * body may hold; the API's largest bodies hold a few dozen (AH5). */
#define API_BODY_VALUES_MAX 1000
/* The limit of a member by its name (patient 200, reason 1000...: body.c). */
size_t vigil__api_text_limit(const char *name);
/* Answers 422 too_long naming field and its limit. */
void vigil__api_too_long(http_request *req, const char *field, size_t max);
/* Every string in x (and in its members, at any depth) within max
 * characters: 0, or -1 after answering 422 too_long naming field. */
int vigil__api_texts_within(http_request *req, json_t *x, const char *field, size_t max);

/* ---- who is asking (api_users.c) ---- */

/* The signed-in user of req if their role may do p; else NULL after
 * answering 401 (not signed in) or 403 (not allowed). */
const user *vigil__api_user(api *a, http_request *req, permission p);
/* The same in two steps: who it is (NULL after a 401), then whether they
 * may (0 after a 403). */
const user *vigil__api_whoami(api *a, http_request *req);
int vigil__api_allowed(http_request *req, const user *who, permission p);
/* A request about a site (a site route of api_cluster.c: visits, alerts,
 * events and their stream, patients, courses, the clock, plugins) on a node
 * of a cluster, by who: 1 when who (and the token of req) works at a->site,
 * else 0 after answering 403 site_forbidden naming it and recording the
 * refusal (auth.failed, reason site_forbidden, coalesced as others are).
 * Always 1 on a single server, which has one site. docs/security.md, Sites. */
int vigil__api_site_allowed(api *a, http_request *req, const user *who);
/* The 403's message: "a nurse may not author protocols" (into msg). */
const char *vigil__api_forbidden(const user *who, permission p, char *msg, size_t len);
/* Records a refusal of req (reason: "cross_site") as auth.failed, coalesced
 * per address and reason per window (struct api_refusal); user and origin
 * may be NULL. 1 when an event was recorded now (in this turn's batch),
 * 0 when it was counted for the window's event. */
int vigil__api_refused(api *a, http_request *req, const char *reason, const char *user, const char *origin);
/* Records the refusals still pending: those whose window ended, or all. */
void vigil__api_refusals_flush(api *a, int all);
/* Records a site event (vigil_site_event) in this turn's batch; takes fields. */
void vigil__api_site_event(api *a, const char *type, const char *actor, json_t *fields);
/* The routes of /api/v1/session, /users and /tokens. */
void vigil__api_post_session(api *a, http_request *req, const api_call *c);
void vigil__api_get_session(api *a, http_request *req, const api_call *c);
void vigil__api_delete_session(api *a, http_request *req, const api_call *c);
void vigil__api_post_own_password(api *a, http_request *req, const api_call *c);
void vigil__api_get_users(api *a, http_request *req, const api_call *c);
void vigil__api_post_users(api *a, http_request *req, const api_call *c);
void vigil__api_post_user(api *a, http_request *req, const api_call *c);
void vigil__api_post_tokens(api *a, http_request *req, const api_call *c);

/* ---- a node of a cluster (api_cluster.c) ---- */

/* A node's wall clock less the database's, in seconds, at its last claim
 * or renewal (for /healthz). */
double vigil__api_clock_offset_s(api *a);
/* GET /api/v1/cluster (the route is served only on a node). */
void vigil__api_get_cluster(api *a, http_request *req, const api_call *c);
/* A request under /api/v1/visits, /alerts, /events or /clock (first, len: its
 * first segment after /api/v1/) with ?site= naming another node's site:
 * 307 to its owner. 1 if it answered. */
int vigil__api_cluster_redirect(api *a, http_request *req, const char *first, size_t len);
/* Whether req is about a site (its path's first segment after /api/v1/ is
 * one of site_routes). */
int vigil__api_is_site_route(http_request *req);
/* A request about site, when this node does not own it: 307 to its owner
 * (same path and query), or 503 while no live node owns it. 1 if it
 * answered; 0 for this node's site or on a single server. */
int vigil__api_cluster_redirect_site(api *a, http_request *req, const char *site);

/* Checks password against who's hash off the loop (argon2id is slow on
 * purpose), then calls done on the loop: ok is 1 when it matches. Every
 * failure counts toward the limits per name (the name given, who may be
 * NULL) and per client address. A sign-in (step_up 0) is stopped by those;
 * a check asked for within who's own session (step_up 1: a signature, an
 * approval, a password change) is stopped only by the failures of such
 * checks of that name, which a stranger without the session cannot make
 * (docs/security.md, S5). Past a limit it answers 429 at once and calls
 * done with req NULL (as when it cannot answer), so done only frees ctx. */
typedef void (*api_password_fn)(api *a, http_request *req, int ok, void *ctx);
void vigil__api_check_password(api *a, http_request *req, const char *name, const user *who, int step_up,
                               const char *password, api_password_fn done, void *ctx);
/* The client's address without its port: X-Forwarded-For's nearest entry
 * not itself a trusted proxy when the peer is one, else the peer. */
void vigil__api_client_address(api *a, http_request *req, char *out, size_t len);
/* The session token or API token req came with (cookie or bearer), in buf; NULL: none. */
const char *vigil__api_token(http_request *req, char *buf, size_t len);
/* A cookie-authenticated request that changes state must come from the
 * site's own pages: 1 when it may go on, else 0 after answering 403
 * (cross_site_refused) and recording an auth.failed event. */
int vigil__api_same_site(api *a, http_request *req);
/* Whether vigil__api_same_site would refuse req (nothing answered). */
int vigil__api_cross_site(api *a, http_request *req);
/* The user a valid session cookie or token of req signs in, or NULL
 * (*had_token: one was sent); nothing answered. */
const user *vigil__api_session_user(api *a, http_request *req, int *had_token);

/* ---- protocol versions (api_protocols.c) ---- */

/* Reads the approvals kept in the store. */
int vigil__api_load_approvals(api *a, char *err, size_t errlen);
/* The same without sweeping the uploads folder: after a failed commit, the
 * approvals it held are forgotten. */
int vigil__api_reload_approvals(api *a, char *err, size_t errlen);
/* The routes of /api/v1/protocols. */
void vigil__api_get_protocols(api *a, http_request *req, const api_call *c);
void vigil__api_post_protocol(api *a, http_request *req, const api_call *c);
void vigil__api_post_lint(api *a, http_request *req, const api_call *c);
void vigil__api_get_protocol(api *a, http_request *req, const api_call *c);
void vigil__api_get_diff(api *a, http_request *req, const api_call *c);
void vigil__api_post_approve(api *a, http_request *req, const api_call *c);
/* The version a new visit of `want` ("id" or "id@version") starts on: an
 * approved one (into buf), or `want` itself when none is loaded (the
 * engine then says so); NULL after answering 409 when it is not approved. */
const char *vigil__api_startable_ref(api *a, http_request *req, const char *want, char *buf, size_t len);

/* A visit's FHIR Bundle off the loop (export_work.c, docs/security.md AQ6,
 * AT3, AT4, AU4). vigil__api_exports_full: 0 when r's export may be built
 * now (a slot free, nobody waiting for one); else 1 after answering 503 busy
 * (one of r->user's is built or waits, or the line waiting for slots is
 * full) or after putting req in that line: start(a, req, r) builds it once a
 * slot is its turn (vigil__api_exports_promote: when one is given back,
 * and after each commit).
 * vigil__api_exports_close answers those waiting 503 (the server stops).
 * vigil__api_export_start builds the Bundle of snap (taking it) in the
 * thread pool and answers req with it on the loop; file: the SQLite file
 * whose events up to upto the worker reads into snap first (a snapshot's
 * head), or NULL (a whole snapshot). */
struct fhir_snapshot;
struct lane_read;
int vigil__api_exports_full(api *a, http_request *req, const struct lane_read *r,
                            void (*start)(api *a, http_request *req, const struct lane_read *r));
void vigil__api_exports_promote(api *a);
void vigil__api_exports_close(api *a);
void vigil__api_export_start(api *a, http_request *req, const char *name, struct fhir_snapshot *snap, const char *file,
                             uint64_t upto);

/* Wall-clock time in ms (wall_clock.c): sessions expire by it even under the simulated clock. */
int64_t vigil__api_wall_ms(void);

#endif
