/* api_users.c: signing in and out, users, API tokens, and who is asking.
 *
 *   POST   /api/v1/session            {user, password} -> a session (cookie and token)
 *   GET    /api/v1/session            who I am, and what I may do (renews the cookie)
 *   DELETE /api/v1/session            sign out
 *   POST   /api/v1/session/password   {password, new_password}: change my own
 *   GET    /api/v1/users              (admin) every user
 *   POST   /api/v1/users              (admin) {name, role, password?, admin_password}
 *   POST   /api/v1/users/{name}       (admin) {disabled?, password?, admin_password}
 *   POST   /api/v1/tokens             (admin) {user, admin_password}: an integrator's API token
 *
 * Passwords are checked and hashed on libuv's thread pool (argon2id takes a
 * tenth of a second on purpose; the loop must not stop for it). Failed
 * sign-ins are limited per name and per address and recorded as
 * auth.failed events; sign-ins, sign-outs and changes to users are events
 * too, and their answers wait for the commit like any write. */
#define _GNU_SOURCE /* strndup */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "engine/site.h"

#define COOKIE "vigil_session"
#define DEVICE_COOKIE "vigil_device"
#define DEVICE_COOKIE_S (30 * 24 * 3600) /* a device cookie lasts 30 days from the sign-in that set it */
#define DEVICE_CHECKS 16                 /* known devices' sign-ins running or waiting in the pool at once */

/* ---- who is asking --------------------------------------------------------------- */

/* The token of a request: "Authorization: Bearer T", else the cookie. */
static const char *token_of(http_request *req, char *buf, size_t len) {
  const char *auth = vigil__http_request_header(req, "Authorization");
  if (auth && !strncasecmp(auth, "Bearer ", 7)) {
    snprintf(buf, len, "%s", auth + 7);
    return buf;
  }
  const char *cookies = vigil__http_request_header(req, "Cookie");
  for (const char *p = cookies; p && *p;) {
    while (*p == ' ' || *p == ';')
      p++;
    size_t n = strcspn(p, ";");
    if (n > sizeof COOKIE && !strncmp(p, COOKIE "=", sizeof COOKIE)) {
      size_t v = n - sizeof COOKIE;
      if (v >= len) return NULL;
      memcpy(buf, p + sizeof COOKIE, v);
      buf[v] = '\0';
      return buf;
    }
    p += n;
  }
  return NULL;
}

const char *vigil__api_token(http_request *req, char *buf, size_t len) { return token_of(req, buf, len); }

/* The session cookie's header line for token, lasting max_age_s. Set at
 * sign-in and renewed by GET /api/v1/session, so that the cookie slides with
 * the session instead of ending a fixed time after the sign-in. */
static void session_cookie(api *a, char *out, size_t len, const char *token, long long max_age_s) {
  snprintf(out, len, "Set-Cookie: " COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s\r\n", token,
           max_age_s, a->secure_cookies ? "; Secure" : "");
}

/* The session's lifetime and the workstation's settings, in every answer
 * that names a session. */
static void session_fields(api *a, json_t *body) {
  json_object_set_new(body, "expires_in_s", json_integer((json_int_t)(a->session_ttl_ms / 1000)));
  json_object_set_new(body, "alarm_pause_s", json_integer((json_int_t)(a->alarm_pause_ms / 1000)));
  json_object_set(body, "ack_reasons", a->ack_reasons);
  json_object_set(body, "usual_protocol", a->usual_protocol);
  /* A node of a cluster: the workstation asks which of its sites the page
   * is for (GET /api/v1/cluster) before it shows a board (E1 of the third
   * try); null on a single server, which has one. */
  json_object_set_new(body, "node", a->site && a->node ? json_string(a->node) : json_null());
}

static const char *const WHAT[PERM_COUNT] = {
    [PERM_READ_CLINICAL] = "read visits, alerts and protocols",
    [PERM_READ_EVENTS] = "read the event log",
    [PERM_EXPORT] = "export visits",
    [PERM_RECORD] = "enter clinical data",
    [PERM_DISCHARGE] = "discharge or abort a visit",
    [PERM_SIGN] = "sign (a second person's confirmation)",
    [PERM_OVERRIDE] = "override a phase gate",
    [PERM_PRESCRIBE] = "set a prescribed param (a dose or an alarm limit) other than the protocol's default",
    [PERM_AUTHOR] = "upload protocol versions",
    [PERM_APPROVE] = "approve protocol versions",
    [PERM_USERS] = "manage users and tokens",
    [PERM_CLOCK] = "move the test clock",
};

const user *vigil__api_whoami(api *a, http_request *req) {
  char buf[128];
  const char *token = token_of(req, buf, sizeof buf);
  const user *who = token ? vigil__users_session_check(a->users, token, vigil__api_wall_ms()) : NULL;
  if (!who) a->stats.refused_unauthenticated++;
  if (!who)
    vigil__http_respond_error(req, 401, "unauthenticated",
                              token ? "the session has ended: sign in again" : "sign in first (POST /api/v1/session)",
                              NULL);
  return who;
}

const char *vigil__api_forbidden(const user *who, permission p, char *msg, size_t len) {
  snprintf(msg, len, "a%s %s may not %s", who->role == ROLE_ADMIN || who->role == ROLE_INTEGRATOR ? "n" : "",
           vigil__role_name(who->role), WHAT[p]);
  return msg;
}

int vigil__api_allowed(http_request *req, const user *who, permission p) {
  if (vigil__role_may(who->role, p)) return 1;
  char msg[160];
  vigil__http_respond_error(req, 403, "forbidden", vigil__api_forbidden(who, p, msg, sizeof msg), NULL);
  return 0;
}

int vigil__api_site_allowed(api *a, http_request *req, const user *who) {
  char buf[128];
  if (!a->site || vigil__users_session_site(a->users, token_of(req, buf, sizeof buf), who, a->site)) {
    sodium_memzero(buf, sizeof buf);
    return 1;
  }
  sodium_memzero(buf, sizeof buf);
  char msg[USER_SITES_MAX + 200];
  if (vigil__users_sites_include(who->sites, a->site))
    snprintf(msg, sizeof msg, "this API token of %s was not given site %s", who->name, a->site);
  else
    snprintf(msg, sizeof msg, "%s does not work at site %s (their sites: %s): an admin can add it", who->name, a->site,
             who->sites);
  json_t *extra = json_pack("{s:s}", "site", a->site);
  char *body = vigil__http_error_json("site_forbidden", msg, "site", extra);
  json_decref(extra);
  if (vigil__api_refused(a, req, "site_forbidden", who->name, NULL))
    vigil__api_hold(a, req, 403, body, NULL); /* after its event */
  else
    vigil__api_reply_free(req, 403, body, NULL); /* counted, recorded with its window */
  return 0;
}

/* AI4 (docs/safety.md): a page sends the user it was signed in as
 * (Vigil-User); another user signed in on the same browser since (in another
 * tab) shares its cookie, and what the first typed would be recorded as the
 * second's. Refused, nothing done; the page reads the session again. */
static int user_changed(http_request *req, const user *who) {
  const char *as = vigil__http_request_header(req, "Vigil-User");
  if (!as || !strcmp(as, who->name)) return 0;
  char msg[400];
  snprintf(msg, sizeof msg,
           "this page was signed in as %.64s, and %s has signed in on this browser since: nothing was done; "
           "sign in again on this page to go on",
           as, who->name);
  vigil__http_respond_error(req, 409, "user_changed", msg, NULL);
  return 1;
}

const user *vigil__api_user(api *a, http_request *req, permission p) {
  const user *who = vigil__api_whoami(a, req);
  if (who && user_changed(req, who)) return NULL;
  return who && vigil__api_allowed(req, who, p) ? who : NULL;
}

/* ---- passwords, off the loop ----------------------------------------------------- */

typedef struct password_check {
  uv_work_t work;
  api *a;
  http_request *req;
  char name[USER_NAME_MAX + 1]; /* what the failures count by */
  char address[64];
  char hash[USER_HASH_MAX];
  char *password;
  int ok;
  int step_up;        /* within who's own session */
  int device;         /* a sign-in with a valid device cookie: the reserved lane */
  char device_id[40]; /* its nonce, what its failures count by */
  uint64_t by_device;
  uint64_t by_name, by_address, by_step_up; /* the attempt's tickets (limiter.h) */
  api_password_fn done;
  void *ctx;
  int running;                 /* a sign-in handed to the thread pool */
  struct password_check *next; /* in a->sign_ins */
} password_check;

/* Sign-ins (anyone can send them) have their own lane, so that a stranger's
 * flood cannot delay a password asked again within a session (a signature
 * mid-visit), which goes straight to libuv's pool of 4 threads: at most
 * SIGN_INS_RUNNING sign-ins are in the pool at once, the rest wait here in
 * order, at most SIGN_INS_WAITING of them and SIGN_INS_PER_ADDRESS (running
 * or waiting) from one address; past that a sign-in is 503 busy, unchecked
 * and uncounted. Each check holds ~64 MiB (argon2id), so this bounds memory
 * too. */
#define SIGN_INS_RUNNING 2
#define SIGN_INS_WAITING 32
#define SIGN_INS_PER_ADDRESS 8

static void check_work(uv_work_t *w);
static void check_done(uv_work_t *w, int status);
static void free_check(password_check *c);

/* Hands waiting sign-ins to the pool while fewer than SIGN_INS_RUNNING run. */
static void pump_sign_ins(api *a) {
  unsigned running = 0;
  for (password_check *c = a->sign_ins; c; c = c->next)
    running += c->running;
  for (password_check *c = a->sign_ins; c && running < SIGN_INS_RUNNING; c = c->next) {
    if (c->running) continue;
    c->running = 1;
    running++;
    /* Stopping: answered 503 unchecked. check_done pumps the rest itself. */
    if (a->shutting || uv_queue_work(a->loop, &c->work, check_work, check_done) < 0) {
      check_done(&c->work, UV_ECANCELED);
      return;
    }
  }
}

static void leave_lane(api *a, password_check *c) {
  for (password_check **p = &a->sign_ins; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      return;
    }
}

/* 1 when the lane has room for a sign-in from address (else answered 503). */
static int lane_has_room(api *a, http_request *req, const char *address) {
  unsigned waiting = 0, from = 0;
  for (password_check *c = a->sign_ins; c; c = c->next) {
    waiting += !c->running;
    from += !strcmp(c->address, address);
  }
  if (waiting < SIGN_INS_WAITING && from < SIGN_INS_PER_ADDRESS) return 1;
  vigil__api_reply_free(req, 503,
                        vigil__http_error_json("busy",
                                               from >= SIGN_INS_PER_ADDRESS
                                                   ? "too many sign-ins from this address are being checked: try again"
                                                   : "too many sign-ins are being checked: try again",
                                               NULL, NULL),
                        "Retry-After: 1\r\n");
  return 0;
}

static void check_work(uv_work_t *w) {
  password_check *c = w->data;
  if (c->hash[0]) {
    c->ok = vigil__users_password_matches(c->hash, c->password);
  } else { /* no such user: spend the same time, so timing tells nothing */
    char scratch[USER_HASH_MAX];
    vigil__users_hash_password(c->password, scratch);
    c->ok = 0;
  }
}

/* The attempt was counted when it was admitted (too_many): a failure stays
 * counted, a success stops counting and forgets the name's failures at its
 * door that had ended before it was admitted, never those in flight beside
 * it nor the address's. */
static void settle(api *a, password_check *c, int ok, int checked) {
  if (c->device) { /* counted by its device only */
    vigil__limiter_settle(a->failed_by_device, c->device_id, c->by_device, ok, checked);
    return;
  }
  if (c->step_up) vigil__limiter_settle(a->failed_step_up, c->name, c->by_step_up, ok, checked);
  vigil__limiter_settle(a->failed_by_name, c->name, c->by_name, ok, checked && !c->step_up);
  vigil__limiter_settle(a->failed_by_address, c->address, c->by_address, ok, 0);
}

static void check_done(uv_work_t *w, int status) {
  password_check *c = w->data;
  api *a = c->a;
  a->checking--;
  if (a->shutting) { /* nothing may be held any more */
    vigil__http_respond_error(c->req, 503, "shutting_down", "the server is stopping; nothing was recorded", NULL);
    c->done(a, NULL, 0, c->ctx); /* lets the caller free its context */
    a->up.part_done(a);
  } else {
    int ok = status == 0 && c->ok;
    if (!ok) a->stats.refused_bad_password++;
    settle(a, c, ok, 1);
    c->done(a, c->req, ok, c->ctx);
  }
  if (c->device) a->device_checks--;
  if (!c->step_up && !c->device) {
    leave_lane(a, c);
    pump_sign_ins(a); /* when shutting, each waiting one is answered 503 above in turn */
  }
  free_check(c);
}

static void free_check(password_check *c) {
  sodium_memzero(c->password, strlen(c->password));
  free(c->password);
  free(c);
}

/* Past the limits: 429 with Retry-After, nothing checked. 1 when refused. */
static int too_many(api *a, http_request *req, const char *name, const char *address, int step_up, const char *device) {
  int64_t now = vigil__api_wall_ms();
  if (device) name = device, address = NULL; /* a known device: only its own failures */
  /* Within the user's own session only that session's kind of failures
   * count: wrong sign-ins by anyone who knows the name (or from the same
   * address) must not stop a clinician's signatures mid-visit. */
  int64_t wait = vigil__limiter_wait(device    ? a->failed_by_device
                                     : step_up ? a->failed_step_up
                                               : a->failed_by_name,
                                     name, now);
  int64_t wait2 = step_up || device ? 0 : vigil__limiter_wait(a->failed_by_address, address, now);
  if (wait2 > wait) wait = wait2;
  if (wait <= 0) return 0;
  a->stats.refused_too_many++;
  char extra[64], msg[160];
  long long s = (wait + 999) / 1000;
  snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", s);
  snprintf(msg, sizeof msg, "too many wrong passwords: try again in %lld s", s);
  vigil__api_reply_free(req, 429, vigil__http_error_json("too_many_attempts", msg, NULL, NULL), extra);
  return 1;
}

/* device: the nonce of a valid device cookie for name (a sign-in), or NULL. */
static void check_password(api *a, http_request *req, const char *name, const user *who, int step_up,
                           const char *device, const char *password, api_password_fn done, void *ctx) {
  char address[64];
  vigil__api_client_address(a, req, address, sizeof address);
  if (too_many(a, req, name, address, step_up, device) || (!step_up && !device && !lane_has_room(a, req, address))) {
    done(a, NULL, 0, ctx);
    return;
  }
  if (device && a->device_checks >= DEVICE_CHECKS) {
    vigil__api_reply_free(req, 503,
                          vigil__http_error_json("busy", "too many sign-ins are being checked: try again", NULL, NULL),
                          "Retry-After: 1\r\n");
    done(a, NULL, 0, ctx);
    return;
  }
  password_check *c = calloc(1, sizeof *c);
  if (c && !(c->password = strdup(password))) {
    free(c);
    c = NULL;
  }
  if (!c) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    done(a, NULL, 0, ctx);
    return;
  }
  c->a = a;
  c->req = req;
  c->done = done;
  c->ctx = ctx;
  c->step_up = step_up;
  c->device = device != NULL;
  if (device) snprintf(c->device_id, sizeof c->device_id, "%s", device);
  c->work.data = c;
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->address, sizeof c->address, "%s", address);
  if (who && !who->disabled) snprintf(c->hash, sizeof c->hash, "%s", who->hash);
  /* Counted from now on, so that concurrent guesses meet the limits too. */
  int64_t now = vigil__api_wall_ms();
  if (device) {
    c->by_device = vigil__limiter_admit(a->failed_by_device, c->device_id, now);
    a->device_checks++;
  } else {
    if (step_up) c->by_step_up = vigil__limiter_admit(a->failed_step_up, c->name, now);
    c->by_name = vigil__limiter_admit(a->failed_by_name, c->name, now);
    c->by_address = vigil__limiter_admit(a->failed_by_address, c->address, now);
  }
  a->checking++;
  if (!step_up && !device) { /* in the sign-in lane, behind the sign-ins before it */
    password_check **tail = &a->sign_ins;
    while (*tail)
      tail = &(*tail)->next;
    *tail = c;
    pump_sign_ins(a);
    return;
  }
  /* A password asked again within a session, or a known device's sign-in
   * (the reserved lane, at most DEVICE_CHECKS at once): straight to the pool. */
  int rc = uv_queue_work(a->loop, &c->work, check_work, check_done);
  if (rc < 0) {
    a->checking--;
    if (device) a->device_checks--;
    settle(a, c, 1, 0); /* never checked: not an attempt */
    free_check(c);
    vigil__http_respond_error(req, 503, "busy", "cannot check the password now", NULL);
    done(a, NULL, 0, ctx);
  }
}

void vigil__api_check_password(api *a, http_request *req, const char *name, const user *who, int step_up,
                               const char *password, api_password_fn done, void *ctx) {
  check_password(a, req, name, who, step_up, NULL, password, done, ctx);
}

/* ---- device cookies (docs/security.md U3) ------------------------------------------------ */

/* The value of the k-th cookie called name (from 0; copied into buf), or NULL. */
static const char *cookie_value(http_request *req, const char *name, int k, char *buf, size_t len) {
  size_t nl = strlen(name);
  const char *cookies = vigil__http_request_header(req, "Cookie");
  for (const char *p = cookies; p && *p;) {
    while (*p == ' ' || *p == ';')
      p++;
    size_t n = strcspn(p, ";");
    if (n > nl && !strncmp(p, name, nl) && p[nl] == '=' && k-- == 0) {
      size_t v = n - nl - 1;
      if (v >= len) v = 0; /* too long to be one: empty */
      memcpy(buf, p + nl + 1, v);
      buf[v] = '\0';
      return buf;
    }
    p += n;
  }
  return NULL;
}

/* A successful sign-in's device cookie: "NAME:EXPIRES:NONCE:MAC", the MAC
 * under the server's credential key, so only this server makes one. */
static void device_cookie(api *a, const char *name, char *out, size_t len) {
  unsigned char nonce[12];
  char nonce_hex[25], rest[64], mac[65];
  randombytes_buf(nonce, sizeof nonce);
  sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
  snprintf(rest, sizeof rest, "%lld:%s", (long long)(vigil__api_wall_ms() / 1000 + DEVICE_COOKIE_S), nonce_hex);
  vigil__users_device_mac(a->users, name, rest, mac);
  snprintf(out, len,
           "Set-Cookie: " DEVICE_COOKIE "=%s:%s:%s; HttpOnly; SameSite=Strict; Path=/api/v1/session; Max-Age=%d%s\r\n",
           name, rest, mac, DEVICE_COOKIE_S, a->secure_cookies ? "; Secure" : "");
}

/* The nonce of a device cookie's value (buf, cut up here; into id) when it is this
 * server's, for name, unexpired and not locked by its own failures: the
 * sign-in then takes the reserved lane. NULL otherwise (a stranger). */
static const char *device_valid(api *a, char *buf, const char *name, char id[40]) {
  char mac[65];
  char *e1 = strchr(buf, ':'), *e2 = e1 ? strchr(e1 + 1, ':') : NULL, *e3 = e2 ? strchr(e2 + 1, ':') : NULL;
  if (!e3 || strlen(e3 + 1) != 64) return NULL;
  *e1 = *e3 = '\0';
  if (strcmp(buf, name) || strtoll(e1 + 1, NULL, 10) <= vigil__api_wall_ms() / 1000 || (size_t)(e3 - e2 - 1) >= 40)
    return NULL;
  vigil__users_device_mac(a->users, buf, e1 + 1, mac);
  if (sodium_memcmp(mac, e3 + 1, 64) != 0) return NULL;
  snprintf(id, 40, "%.*s", (int)(e3 - e2 - 1), e2 + 1);
  if (vigil__limiter_wait(a->failed_by_device, id, vigil__api_wall_ms()) > 0) return NULL; /* locked: a stranger now */
  return id;
}

/* A browser may send two vigil_device cookies (two paths, a copy): each is
 * tried, not the first alone (V6). */
static const char *device_of(api *a, http_request *req, const char *name, char id[40]) {
  char buf[256];
  for (int k = 0; k < 8 && cookie_value(req, DEVICE_COOKIE, k, buf, sizeof buf); k++)
    if (device_valid(a, buf, name, id)) return id;
  return NULL;
}

static void peer_address(http_request *req, char *out, size_t len);
static int trusted(const api *a, const char *address);

/* ---- cross-site requests ----------------------------------------------------------- */

/* The host[:port] of an absolute http(s) URL (Origin, Referer), or "". */
static void authority_of(const char *url, char *out, size_t len) {
  out[0] = '\0';
  const char *p = NULL;
  if (!strncasecmp(url, "http://", 7))
    p = url + 7;
  else if (!strncasecmp(url, "https://", 8))
    p = url + 8;
  if (p) snprintf(out, len, "%.*s", (int)strcspn(p, "/?#"), p);
}

/* The host the browser addressed: the Host header, or X-Forwarded-Host
 * when a trusted proxy passed it on: the value it added, the last (its
 * lines are one list, http.c), not the first, which the client may have
 * written itself. */
static const char *host_of(api *a, http_request *req, char *buf, size_t len) {
  char peer[64];
  peer_address(req, peer, sizeof peer);
  const char *fwd = trusted(a, peer) ? vigil__http_request_header(req, "X-Forwarded-Host") : NULL;
  if (fwd) {
    vigil__http_list_last(fwd, buf, len);
    return buf;
  }
  return vigil__http_request_header(req, "Host");
}

/* Why the same-site rule refuses req (NULL: it does not); *from: the
 * Origin or Referer it came with. */
static const char *cross_site_why(api *a, http_request *req, const char **from_out) {
  const char *m = vigil__http_request_method(req);
  *from_out = NULL;
  if (!strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS")) return NULL;
  const char *auth = vigil__http_request_header(req, "Authorization");
  if (auth && !strncasecmp(auth, "Bearer ", 7)) return NULL; /* no browser sends it by itself */
  char token[128];
  const char *origin = vigil__http_request_header(req, "Origin");
  const char *referer = vigil__http_request_header(req, "Referer");
  /* A sign-in has no cookie to ride on, but another site's page could still
   * spend guesses of a name or an address (and check passwords): from a
   * browser (which sends Origin or Referer), it must come from this site too. */
  int sign_in = !strcmp(m, "POST") && !strcmp(vigil__http_request_path(req), "/api/v1/session") && (origin || referer);
  if (!token_of(req, token, sizeof token) && !sign_in) return NULL; /* no cookie: nothing to ride on */
  sodium_memzero(token, sizeof token);
  const char *from = origin && strcmp(origin, "null") ? origin : !origin ? referer : NULL;
  *from_out = from;
  char authority[256], hostbuf[256];
  authority_of(from ? from : "", authority, sizeof authority);
  const char *host = host_of(a, req, hostbuf, sizeof hostbuf);
  const char *type = vigil__http_request_header(req, "Content-Type");
  int json = type && !strncasecmp(type, "application/json", 16) && (!type[16] || type[16] == ';' || type[16] == ' ');
  int custom = vigil__http_request_header(req, "X-Requested-With") != NULL;
  const char *why = NULL;
  /* The scheme too (Z7: https:// was taken on the plain-http site): https
   * where browsers reach the site through a TLS proxy (secure_cookies), else
   * http. An http:// page of the same host would otherwise pass for the
   * HTTPS site's own. */
  const char *scheme = a->secure_cookies ? "https://" : "http://";
  if (authority[0] && host && !strcasecmp(authority, host) && strncasecmp(from, scheme, strlen(scheme)))
    why = a->secure_cookies ? "a request from a browser must come from this site's own pages: "
                              "this site is reached by https:// (secure_cookies), not http://"
                            : "a request from a browser must come from this site's own pages: this "
                              "site is reached by http://; behind a TLS proxy set secure_cookies = true "
                              "(docs/config.md)";
  else if (!authority[0] || !host || strcasecmp(authority, host))
    why = sign_in
              ? "a sign-in from a browser must come from this site's own pages (Origin or Referer)"
              : "a request signed in by the session cookie must come from this site's own pages (Origin or Referer)";
  else if (!json && !custom)
    why = sign_in ? "a sign-in from a browser must send JSON (Content-Type: application/json) or the "
                    "X-Requested-With header"
                  : "a request signed in by the session cookie must send JSON (Content-Type: application/json) or the "
                    "X-Requested-With header";
  return why;
}

int vigil__api_cross_site(api *a, http_request *req) {
  const char *from;
  return cross_site_why(a, req, &from) != NULL;
}

const user *vigil__api_session_user(api *a, http_request *req, int *had_token) {
  char buf[128];
  const char *token = token_of(req, buf, sizeof buf);
  const user *who = token ? vigil__users_session_check(a->users, token, vigil__api_wall_ms()) : NULL;
  sodium_memzero(buf, sizeof buf);
  *had_token = token != NULL;
  return who;
}

int vigil__api_same_site(api *a, http_request *req) {
  const char *from;
  const char *why = cross_site_why(a, req, &from);
  if (!why) return 1;
  char token[128];
  const user *who = vigil__users_session_check(a->users, token_of(req, token, sizeof token), vigil__api_wall_ms());
  sodium_memzero(token, sizeof token);
  char *err = vigil__http_error_json("cross_site_refused", why, NULL, NULL);
  if (vigil__api_refused(a, req, "cross_site", who ? who->name : NULL, from))
    vigil__api_hold(a, req, 403, err, NULL); /* after its event */
  else
    vigil__api_reply_free(req, 403, err, NULL); /* counted, recorded with its window */
  return 0;
}

/* ---- refusals, coalesced ----------------------------------------------------------- */

/* At most API_REFUSAL_PATH_MAX bytes of text, cut before a UTF-8 sequence. */
static void capped(char *out, const char *text) {
  size_t n = strlen(text);
  if (n > API_REFUSAL_PATH_MAX) {
    n = API_REFUSAL_PATH_MAX;
    while (n && ((unsigned char)text[n] & 0xC0) == 0x80)
      n--;
  }
  memcpy(out, text, n);
  out[n] = '\0';
}

static void record_refusal(api *a, const api_refusal *r, uint64_t count, int64_t first_ms, int64_t last_ms) {
  json_t *fields = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "user", r->user, "reason", r->reason, "remote",
                             r->address, "origin", r->origin, "path", r->path, "count", (json_int_t)count, "first_ms",
                             (json_int_t)first_ms, "last_ms", (json_int_t)last_ms);
  if (fields && r->path_bytes > strlen(r->path)) {
    json_object_set_new(fields, "path_truncated", json_true());
    json_object_set_new(fields, "path_bytes", json_integer((json_int_t)r->path_bytes));
  }
  if (fields && r == &a->refusals[API_REFUSAL_KEYS]) /* from addresses past the table: remote is the first */
    json_object_set_new(fields, "many_addresses", json_true());
  if (fields && count > 1) { /* coalesced: every path it counts is named, to API_REFUSAL_PATHS (AU6) */
    json_t *paths = json_array();
    for (unsigned i = 0; i < r->n_paths; i++)
      json_array_append_new(paths, json_string(r->paths[i]));
    json_object_set_new(fields, "paths", paths);
    if (r->other_paths) json_object_set_new(fields, "other_paths", json_integer((json_int_t)r->other_paths));
  }
  vigil__api_site_event(a, "auth.failed", "vigil", fields);
}

/* req's path among the distinct paths of r's pending refusals: listed if
 * new and there is room, else counted (AU6: 41 refusals named only the
 * first's path, and an abort and an acknowledgement tried meanwhile were not
 * seen). */
static void note_path(api_refusal *r, http_request *req) {
  char path[API_REFUSAL_PATH_MAX + 1];
  capped(path, vigil__http_request_path(req));
  for (unsigned i = 0; i < r->n_paths; i++)
    if (!strcmp(r->paths[i], path)) return;
  if (r->n_paths < API_REFUSAL_PATHS)
    memcpy(r->paths[r->n_paths++], path, strlen(path) + 1);
  else
    r->other_paths++;
}

static void note(api_refusal *r, http_request *req, const char *name, const char *origin) {
  snprintf(r->user, sizeof r->user, "%s", name ? name : "");
  capped(r->origin, origin ? origin : "");
  const char *path = vigil__http_request_path(req);
  capped(r->path, path);
  r->path_bytes = strlen(path);
  r->n_paths = 0;
  r->other_paths = 0;
  note_path(r, req);
}

static void on_refusal_tick(uv_timer_t *t) { vigil__api_refusals_flush(t->data, 0); }

void vigil__api_refusals_flush(api *a, int all) {
  int64_t now = vigil__api_wall_ms();
  int left = 0;
  for (size_t i = 0; i <= API_REFUSAL_KEYS; i++) {
    api_refusal *r = &a->refusals[i];
    if (!r->used) continue;
    if (!all && now < r->window_start_ms + a->refusal_window_ms) {
      left = 1;
      continue;
    }
    if (r->pending) record_refusal(a, r, r->pending, r->first_ms, r->last_ms);
    r->used = 0;
  }
  if (!left) uv_timer_stop(&a->refusal_timer);
}

int vigil__api_refused(api *a, http_request *req, const char *reason, const char *name, const char *origin) {
  if (!strcmp(reason, "cross_site")) a->stats.refused_cross_site++;
  char address[64];
  vigil__api_client_address(a, req, address, sizeof address);
  int64_t now = vigil__api_wall_ms();
  api_refusal *r = NULL, *free_one = NULL;
  for (size_t i = 0; i < API_REFUSAL_KEYS && !r; i++) {
    api_refusal *x = &a->refusals[i];
    if (x->used && now >= x->window_start_ms + a->refusal_window_ms) { /* its window ended: record what it holds */
      if (x->pending) record_refusal(a, x, x->pending, x->first_ms, x->last_ms);
      x->used = 0;
    }
    if (!x->used) {
      if (!free_one) free_one = x;
    } else if (!strcmp(x->address, address) && !strcmp(x->reason, reason))
      r = x;
  }
  api_refusal *other = &a->refusals[API_REFUSAL_KEYS];
  if (!r && !free_one && other->used && now >= other->window_start_ms + a->refusal_window_ms) {
    if (other->pending) record_refusal(a, other, other->pending, other->first_ms, other->last_ms);
    other->used = 0;
  }
  if (!r && !free_one && other->used) r = other;
  if (!r) { /* the window's first refusal of this key: recorded at once */
    r = free_one ? free_one : other;
    memset(r, 0, sizeof *r);
    r->used = 1;
    snprintf(r->address, sizeof r->address, "%s", address);
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    r->window_start_ms = now;
    note(r, req, name, origin);
    record_refusal(a, r, 1, now, now);
    if (!uv_is_active((uv_handle_t *)&a->refusal_timer)) {
      uint64_t tick = a->refusal_window_ms < 1000 ? (uint64_t)a->refusal_window_ms : 1000;
      uv_timer_start(&a->refusal_timer, on_refusal_tick, tick, tick);
    }
    return 1;
  }
  if (!r->pending++) { /* the first of the rest of the window: what it names is kept */
    note(r, req, name, origin);
    r->first_ms = now;
  } else {
    note_path(r, req);
  }
  r->last_ms = now;
  return 0;
}

/* ---- site events ------------------------------------------------------------------ */

/* The address the connection came from, without its port, in the one form
 * addresses are compared in (vigil__http_address: "[::ffff:10.0.0.1]:80" is
 * 10.0.0.1). */
static void peer_address(http_request *req, char *out, size_t len) {
  const char *remote = vigil__http_request_remote(req);
  vigil__http_address(remote, strlen(remote), out, len);
}

/* Addresses compared as addresses (X6): "10.5.5.5:4444" and
 * "::ffff:10.5.5.5" are 10.5.5.5. */
static int trusted(const api *a, const char *address) {
  for (size_t i = 0; i < a->n_trusted_proxies; i++) {
    char proxy[64];
    vigil__http_address(a->trusted_proxies[i], strlen(a->trusted_proxies[i]), proxy, sizeof proxy);
    if (!strcmp(proxy, address)) return 1;
  }
  return 0;
}

void vigil__api_client_address(api *a, http_request *req, char *out, size_t len) {
  peer_address(req, out, len);
  /* Each proxy appends the address it heard from: read from the right,
   * past the trusted ones; the first other is the client. */
  const char *xff = trusted(a, out) ? vigil__http_request_header(req, "X-Forwarded-For") : NULL;
  for (size_t end = xff ? strlen(xff) : 0; end > 0;) {
    size_t start = end;
    while (start > 0 && xff[start - 1] != ',')
      start--;
    char hop[64];
    if (vigil__http_address(xff + start, end - start, hop, sizeof hop) < 0) break; /* refused by http.c (Y8) */
    snprintf(out, len, "%s", hop);
    if (!trusted(a, hop)) break;
    end = start ? start - 1 : 0;
  }
}

void vigil__api_site_event(api *a, const char *type, const char *actor, json_t *fields) {
  a->up.open_batch(a);
  char *text = fields ? json_dumps(fields, JSON_COMPACT) : NULL;
  /* The users' and sessions' rows of the change this event records go
   * with it, in its transaction (users.h; docs/security.md T6). */
  struct store_kv_write *writes = a->users ? vigil__users_take_writes(a->users) : NULL;
  if (vigil__site_event_writes(a->e, type, actor, text, writes) < 0 && writes) a->users_lost = 1;
  free(text);
  json_decref(fields);
}

static json_t *user_json(const user *u) {
  return json_pack("{s:s, s:s, s:b, s:I, s:o}", "name", u->name, "role", vigil__role_name(u->role), "disabled",
                   u->disabled, "created_ms", (json_int_t)u->created_ms, "sites", vigil__users_sites_json(u->sites));
}

static json_t *permissions_json(role r) {
  json_t *list = json_array();
  for (int p = 0; p < PERM_COUNT; p++)
    if (vigil__role_may(r, (permission)p))
      json_array_append_new(list, json_string(vigil__permission_name((permission)p)));
  return list;
}

/* fields with the credential digest of a row (docs/security.md U2), when the
 * store has a credential key. */
static json_t *with_digest(json_t *fields, const char *member, int rc, const char *digest) {
  if (fields && rc == 0) json_object_set_new(fields, member, json_string(digest));
  return fields;
}

/* ---- sign in ------------------------------------------------------------------------- */

typedef struct login {
  char name[USER_NAME_MAX + 1];
  char address[64];
} login;

static void login_checked(api *a, http_request *req, int ok, void *ctx) {
  login *l = ctx;
  if (!req) {
    free(l);
    return;
  }
  const user *who = vigil__users_lookup(a->users, l->name);
  int64_t now = vigil__api_wall_ms();
  char token[USER_TOKEN_LEN + 1], err[512];
  if (!ok || !who || who->disabled) { /* counted by vigil__api_check_password */
    vigil__api_site_event(a, "auth.failed", "vigil",
                          json_pack("{s:s, s:s, s:s}", "user", l->name, "remote", l->address, "reason",
                                    who && who->disabled && ok ? "disabled" : "bad_credentials"));
    vigil__api_hold(a, req, 401, vigil__http_error_json("bad_credentials", "wrong user name or password", NULL, NULL),
                    NULL);
    free(l);
    return;
  }
  int rc = vigil__users_session_new(a->users, who->name, now, a->session_ttl_ms, token, err, sizeof err);
  if (rc < 0) {
    vigil__http_respond_error(req, 503, "io_error", err, NULL);
    free(l);
    return;
  }
  char dg[65];
  int dg_rc = vigil__users_session_digest(a->users, token, dg);
  vigil__api_site_event(
      a, "session.started", who->name,
      with_digest(json_pack("{s:s, s:s, s:s, s:I}", "user", who->name, "role", vigil__role_name(who->role), "remote",
                            l->address, "ttl_ms", (json_int_t)a->session_ttl_ms),
                  "session_digest", dg_rc, dg));
  json_t *body =
      json_pack("{s:o, s:o, s:s}", "user", user_json(who), "permissions", permissions_json(who->role), "token", token);
  session_fields(a, body);
  char cookie[700];
  session_cookie(a, cookie, sizeof cookie, token, (long long)(a->session_ttl_ms / 1000));
  size_t used = strlen(cookie);
  device_cookie(a, who->name, cookie + used, sizeof cookie - used);
  vigil__api_hold(a, req, 200, json_dumps(body, JSON_COMPACT), cookie);
  json_decref(body);
  sodium_memzero(token, sizeof token);
  free(l);
}

void vigil__api_post_session(api *a, http_request *req, const api_call *c) {
  (void)c;
  json_t *body = vigil__api_body_object(req);
  if (!body) return;
  const char *name, *password;
  if (vigil__api_member_string(req, body, "user", 1, &name) < 0 ||
      vigil__api_member_string(req, body, "password", 1, &password) < 0) {
    json_decref(body);
    return;
  }
  login *l = calloc(1, sizeof *l);
  if (!l) {
    json_decref(body);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  snprintf(l->name, sizeof l->name, "%s", name);
  vigil__api_client_address(a, req, l->address, sizeof l->address);
  char device[40];
  check_password(a, req, l->name, vigil__users_lookup(a->users, l->name), 0, device_of(a, req, l->name, device),
                 password, login_checked, l);
  json_decref(body);
}

void vigil__api_get_session(api *a, http_request *req, const api_call *c) {
  const user *who = c->who;
  json_t *body = json_pack("{s:o, s:o}", "user", user_json(who), "permissions", permissions_json(who->role));
  session_fields(a, body);
  /* The check above slid the session: a cookie that came with the request
   * slides with it (a Bearer token has no cookie to renew). */
  char buf[128], cookie[256] = "";
  const char *auth = vigil__http_request_header(req, "Authorization");
  const char *token = token_of(req, buf, sizeof buf);
  if (token && !(auth && !strncasecmp(auth, "Bearer ", 7)))
    session_cookie(a, cookie, sizeof cookie, token, (long long)(a->session_ttl_ms / 1000));
  vigil__api_reply_free(req, 200, json_dumps(body, JSON_COMPACT), cookie[0] ? cookie : NULL);
  sodium_memzero(buf, sizeof buf);
  sodium_memzero(cookie, sizeof cookie);
  json_decref(body);
}

void vigil__api_delete_session(api *a, http_request *req, const api_call *c) {
  const user *who = c->who;
  char buf[128], err[256], name[USER_NAME_MAX + 1];
  snprintf(name, sizeof name, "%s", who->name);
  /* The event names the session it ends (V3): its row put back is refused. */
  char dg[65];
  int dg_rc = vigil__users_session_digest(a->users, token_of(req, buf, sizeof buf), dg);
  int rc = vigil__users_session_end(a->users, token_of(req, buf, sizeof buf), err, sizeof err);
  if (rc < 0) {
    vigil__http_respond_error(req, 503, "io_error", err, NULL);
    return;
  }
  vigil__api_site_event(a, "session.ended", name,
                        with_digest(json_pack("{s:s}", "user", name), "session_digest", dg_rc, dg));
  vigil__api_hold(a, req, 200, strdup("{\"signed_out\":true}"),
                  a->secure_cookies ? "Set-Cookie: " COOKIE
                                      "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure\r\n"
                                    : "Set-Cookie: " COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0\r\n");
}

/* ---- passwords and users ----------------------------------------------------------------- */

/* A change of password or a new user: the new hash is made off the loop. */
typedef struct user_change {
  uv_work_t work;
  api *a;
  http_request *req;
  char actor[USER_NAME_MAX + 1];
  char name[USER_NAME_MAX + 1];
  role role;
  int create;
  char *password;
  int generated;              /* the password is returned, once */
  char sites[USER_SITES_MAX]; /* a new user's ("": every site) */
  char hash[USER_HASH_MAX];
  int rc;
} user_change;

static void hash_work(uv_work_t *w) {
  user_change *c = w->data;
  c->rc = vigil__users_hash_password(c->password, c->hash);
}

static void user_change_free(user_change *c) {
  sodium_memzero(c->password, strlen(c->password));
  free(c->password);
  free(c);
}

static void hash_done(uv_work_t *w, int status) {
  user_change *c = w->data;
  api *a = c->a;
  a->checking--;
  if (a->shutting) {
    vigil__http_respond_error(c->req, 503, "shutting_down", "the server is stopping; nothing was changed", NULL);
    user_change_free(c);
    a->up.part_done(a);
    return;
  }
  char err[512], token[128], kept[65] = "";
  int rc = status < 0 ? VIGIL_ENOMEM : c->rc;
  /* One's own change keeps the session that made it: its event names it (V3). */
  int kept_rc = c->create || strcmp(c->actor, c->name)
                    ? -1
                    : vigil__users_session_digest(a->users, token_of(c->req, token, sizeof token), kept);
  if (rc == 0)
    rc =
        c->create
            ? vigil__users_add(a->users, c->name, c->role, c->sites, c->hash, vigil__api_wall_ms(), err, sizeof err)
            : vigil__users_set_hash(a->users, c->name, c->hash, token_of(c->req, token, sizeof token), err, sizeof err);
  else
    snprintf(err, sizeof err, "out of memory");
  if (rc < 0) {
    vigil__http_respond_error(c->req,
                              rc == VIGIL_EEXIST   ? 409
                              : rc == VIGIL_EINVAL ? 422
                              : rc == VIGIL_ENOENT ? 404
                                                   : 503,
                              rc == VIGIL_EEXIST   ? "already_exists"
                              : rc == VIGIL_EINVAL ? "invalid_field"
                              : rc == VIGIL_ENOENT ? "not_found"
                                                   : "io_error",
                              err, rc == VIGIL_EINVAL ? "name" : NULL);
    user_change_free(c);
    return;
  }
  const user *u = vigil__users_find(a->users, c->name);
  char dg[65];
  int dg_rc = vigil__users_hash_digest(a->users, c->name, dg);
  if (c->create)
    vigil__api_site_event(a, "user.created", c->actor,
                          with_digest(json_pack("{s:s, s:s, s:o}", "user", c->name, "role", vigil__role_name(c->role),
                                                "sites", vigil__users_sites_json(c->sites)),
                                      "hash_digest", dg_rc, dg));
  else
    vigil__api_site_event(a, "user.changed", c->actor,
                          with_digest(with_digest(json_pack("{s:s, s:b}", "user", c->name, "password_changed", 1),
                                                  "hash_digest", dg_rc, dg),
                                      "kept_session_digest", kept_rc, kept));
  json_t *body = json_pack("{s:o}", "user", user_json(u));
  if (c->generated) json_object_set_new(body, "password", json_string(c->password));
  vigil__api_hold(a, c->req, c->create ? 201 : 200, json_dumps(body, JSON_COMPACT), NULL);
  json_decref(body);
  user_change_free(c);
}

/* Starts making the hash of password (or of a generated one). */
static void change_password(api *a, http_request *req, const char *actor, const char *name, int create, role r,
                            const char *sites, const char *password) {
  char generated[25];
  if (!password) { /* 18 random bytes: 24 characters a person can type */
    unsigned char random[18];
    randombytes_buf(random, sizeof random);
    sodium_bin2base64(generated, sizeof generated, random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    password = generated;
  } else if (vigil__users_password_problem(password)) {
    vigil__http_respond_error(req, 422, "invalid_field", vigil__users_password_problem(password), "password");
    return;
  }
  user_change *c = calloc(1, sizeof *c);
  if (c && !(c->password = strdup(password))) {
    free(c);
    c = NULL;
  }
  sodium_memzero(generated, sizeof generated);
  if (!c) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  c->a = a;
  c->req = req;
  c->create = create;
  c->role = r;
  snprintf(c->sites, sizeof c->sites, "%s", sites ? sites : "");
  c->generated = password == generated;
  snprintf(c->actor, sizeof c->actor, "%s", actor);
  snprintf(c->name, sizeof c->name, "%s", name);
  c->work.data = c;
  a->checking++;
  if (uv_queue_work(a->loop, &c->work, hash_work, hash_done) < 0) {
    a->checking--;
    user_change_free(c);
    vigil__http_respond_error(req, 503, "busy", "cannot hash the password now", NULL);
  }
}

typedef struct own_password {
  char name[USER_NAME_MAX + 1];
  char *new_password;
} own_password;

static void own_password_checked(api *a, http_request *req, int ok, void *ctx) {
  own_password *o = ctx;
  if (req && !ok) {
    vigil__api_site_event(a, "auth.failed", "vigil",
                          json_pack("{s:s, s:s}", "user", o->name, "reason", "bad_password"));
    vigil__api_hold(a, req, 401,
                    vigil__http_error_json("bad_password", "the current password is wrong", "password", NULL), NULL);
  } else if (req)
    change_password(a, req, o->name, o->name, 0, ROLE_NURSE, NULL, o->new_password);
  sodium_memzero(o->new_password, strlen(o->new_password));
  free(o->new_password);
  free(o);
}

void vigil__api_post_own_password(api *a, http_request *req, const api_call *c) {
  const user *who = c->who;
  json_t *body = vigil__api_body_object(req);
  if (!body) return;
  const char *current, *next;
  if (vigil__api_member_string(req, body, "password", 1, &current) == 0 &&
      vigil__api_member_string(req, body, "new_password", 1, &next) == 0) {
    own_password *o = vigil__users_password_problem(next) ? NULL : calloc(1, sizeof *o);
    if (vigil__users_password_problem(next)) {
      vigil__http_respond_error(req, 422, "invalid_field", vigil__users_password_problem(next), "new_password");
    } else if (o && (o->new_password = strdup(next))) {
      snprintf(o->name, sizeof o->name, "%s", who->name);
      vigil__api_check_password(a, req, who->name, who, 1, current, own_password_checked, o);
    } else {
      free(o);
      vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    }
  }
  json_decref(body);
}

void vigil__api_get_users(api *a, http_request *req, const api_call *c) {
  (void)c;
  json_t *list = json_array();
  for (size_t i = 0; i < vigil__users_count(a->users); i++)
    json_array_append_new(list, user_json(vigil__users_at(a->users, i)));
  json_t *body = json_pack("{s:o}", "users", list);
  vigil__api_reply_free(req, 200, json_dumps(body, JSON_COMPACT), NULL);
  json_decref(body);
}

/* ---- what needs the admin's own password again (Z4, AA2) ------------------------------ */

/* A session alone (a workstation left signed in, a stolen cookie) must not
 * take over, lock out or make an account: changing another user, creating
 * a user of any role (a nurse's account records and signs doses as well as
 * an admin's approves) and issuing an API token each ask for the acting
 * admin's own current password again, admin_password, checked as a step-up
 * under the same guessing limits as /session/password. */
typedef enum { ASK_CHANGE, ASK_CREATE, ASK_TOKEN } admin_ask_kind;

/* What the admin asked, kept while their password is checked. */
typedef struct admin_ask {
  admin_ask_kind kind;
  char actor[USER_NAME_MAX + 1], name[USER_NAME_MAX + 1];
  int disabled;  /* ASK_CHANGE: -1 unchanged, else 0 or 1 */
  role role;     /* ASK_CREATE */
  int has_sites; /* sites given: a new user's, a change, a token's narrower list */
  char sites[USER_SITES_MAX];
  char *password; /* the new password; NULL: unchanged (a change), generated (a creation) */
} admin_ask;

static void admin_ask_free(admin_ask *e) {
  if (e->password) {
    sodium_memzero(e->password, strlen(e->password));
    free(e->password);
  }
  free(e);
}

/* A new admin_ask of kind by actor for name (NULL and answered 503 when out
 * of memory), the new password copied. */
static admin_ask *admin_ask_new(http_request *req, admin_ask_kind kind, const char *actor, const char *name,
                                const char *password) {
  admin_ask *e = calloc(1, sizeof *e);
  if (e && password && !(e->password = strdup(password))) {
    free(e);
    e = NULL;
  }
  if (!e) {
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return NULL;
  }
  e->kind = kind;
  e->disabled = -1;
  snprintf(e->actor, sizeof e->actor, "%.*s", USER_NAME_MAX, actor);
  snprintf(e->name, sizeof e->name, "%.*s", USER_NAME_MAX, name);
  return e;
}

/* 1 when own (the admin_password member) was given, else answered 422 for what. */
static int own_password_given(http_request *req, const char *own, const char *what) {
  if (own) return 1;
  char msg[160];
  snprintf(msg, sizeof msg, "%s needs your own password again (admin_password)", what);
  vigil__http_respond_error(req, 422, "invalid_field", msg, "admin_password");
  return 0;
}

/* Disables or enables the user, then sets the password, as e says. */
static void apply_user_edit(api *a, http_request *req, const admin_ask *e) {
  if (e->disabled >= 0) {
    char err[512];
    if (vigil__users_set_disabled(a->users, e->name, e->disabled, err, sizeof err) < 0) {
      vigil__http_respond_error(req, 503, "io_error", err, NULL);
      return;
    }
    vigil__api_site_event(a, "user.changed", e->actor,
                          json_pack("{s:s, s:b}", "user", e->name, "disabled", e->disabled));
  }
  if (e->has_sites) {
    char err[512];
    if (vigil__users_set_sites(a->users, e->name, e->sites, err, sizeof err) < 0) {
      vigil__http_respond_error(req, 503, "io_error", err, NULL);
      return;
    }
    vigil__api_site_event(a, "user.changed", e->actor,
                          json_pack("{s:s, s:o}", "user", e->name, "sites", vigil__users_sites_json(e->sites)));
  }
  if (e->password) {
    change_password(a, req, e->actor, e->name, 0, ROLE_NURSE, NULL, e->password);
    return;
  }
  json_t *out = json_pack("{s:o}", "user", user_json(vigil__users_find(a->users, e->name)));
  vigil__api_hold(a, req, 200, json_dumps(out, JSON_COMPACT), NULL);
  json_decref(out);
}

/* NULL when name may have an API token (an active integrator), else why not
 * (*status and *code: the answer). */
static const char *token_refused(const user *u, int *status, const char **code) {
  *status = 422;
  *code = u ? "invalid_field" : "unknown_reference";
  if (!u) return "no such user";
  if (u->role != ROLE_INTEGRATOR || u->disabled) return "API tokens are for active integrator users only";
  return NULL;
}

/* Issues e->name an API token, asked again now that the admin's password
 * was checked (the user may have been disabled meanwhile). */
static void issue_token(api *a, http_request *req, const admin_ask *e) {
  int status;
  const user *u = vigil__users_lookup(a->users, e->name);
  const char *code, *why = token_refused(u, &status, &code);
  char token[USER_TOKEN_LEN + 1], err[512], sites[USER_SITES_MAX];
  if (why) {
    vigil__http_respond_error(req, status, code, why, "user");
    return;
  }
  snprintf(sites, sizeof sites, "%s", e->sites[0] ? e->sites : u->sites); /* what the token may reach */
  int rc = vigil__users_token_new(a->users, e->name, e->sites, vigil__api_wall_ms(), token, err, sizeof err);
  if (rc < 0) {
    vigil__http_respond_error(req, rc == VIGIL_EINVAL ? 422 : 503, rc == VIGIL_EINVAL ? "invalid_field" : "io_error",
                              err, rc == VIGIL_EINVAL ? "sites" : NULL);
    return;
  }
  char dg[65];
  int dg_rc = vigil__users_session_digest(a->users, token, dg);
  vigil__api_site_event(a, "user.changed", e->actor,
                        with_digest(json_pack("{s:s, s:b, s:o}", "user", e->name, "token_issued", 1, "sites",
                                              vigil__users_sites_json(sites)),
                                    "session_digest", dg_rc, dg));
  json_t *out = json_pack("{s:s, s:s, s:o}", "user", e->name, "token", token, "sites", vigil__users_sites_json(sites));
  vigil__api_hold(a, req, 201, json_dumps(out, JSON_COMPACT), NULL);
  json_decref(out);
  sodium_memzero(token, sizeof token);
}

static void admin_password_checked(api *a, http_request *req, int ok, void *ctx) {
  admin_ask *e = ctx;
  if (req && !ok) {
    vigil__api_site_event(a, "auth.failed", "vigil",
                          json_pack("{s:s, s:s}", "user", e->actor, "reason", "bad_password"));
    vigil__api_hold(
        a, req, 401,
        vigil__http_error_json("bad_password", "your own password (admin_password) is wrong", "admin_password", NULL),
        NULL);
  } else if (req && e->kind == ASK_CHANGE) {
    apply_user_edit(a, req, e);
  } else if (req && e->kind == ASK_CREATE) { /* a name taken meanwhile is 409 where the user is added */
    change_password(a, req, e->actor, e->name, 1, e->role, e->sites, e->password);
  } else if (req) {
    issue_token(a, req, e);
  }
  admin_ask_free(e);
}

/* Checks the admin's own password (own), then does what e says; e is the callee's. */
static void ask_admin_password(api *a, http_request *req, const user *admin, const char *own, admin_ask *e) {
  vigil__api_check_password(a, req, admin->name, admin, 1, own, admin_password_checked, e);
}

/* The body's "sites" (a list of names, or one text "north,south"; "*",
 * ["*"] or [] every site) into out: 1 given, 0 absent, -1 after answering
 * 422 naming what is wrong: an empty name, * among names, a site the
 * cluster does not have (AU2). */
static int body_sites(api *a, http_request *req, json_t *body, char out[USER_SITES_MAX]) {
  json_t *x = json_object_get(body, "sites");
  const char *why = "sites is a list of site names, or \"*\" for every site";
  char text[USER_SITES_MAX * 2] = "";
  out[0] = '\0'; /* none given: the caller's default */
  if (!x) return 0;
  if (json_is_array(x) && json_array_size(x) == 0) {
    snprintf(text, sizeof text, "*"); /* [] is every site (docs/http.md) */
  } else if (json_is_string(x)) {
    snprintf(text, sizeof text, "%s", json_string_value(x));
  } else if (json_is_array(x)) {
    size_t i, len = 0;
    json_t *v;
    json_array_foreach(x, i, v) {
      const char *name = json_string_value(v);
      if (!name || strchr(name, ',') || len + strlen(name) + 2 > sizeof text) {
        if (name && !strchr(name, ',')) why = "sites lists too many sites (at most 511 characters)";
        vigil__http_respond_error(req, 422, "invalid_field", why, "sites");
        return -1;
      }
      len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", len ? "," : "", name);
    }
  } else {
    vigil__http_respond_error(req, 422, "invalid_field", why, "sites");
    return -1;
  }
  char problem[400], bad[65];
  if (vigil__users_sites_parse(text, out, problem, sizeof problem) < 0) {
    vigil__http_respond_error(req, 422, "invalid_field", problem, "sites");
    return -1;
  }
  if (vigil__users_sites_unknown(a->store, out, bad, sizeof bad)) {
    snprintf(problem, sizeof problem, "sites: no site %s in this cluster (vigil site add makes one)", bad);
    vigil__http_respond_error(req, 422, "invalid_field", problem, "sites");
    return -1;
  }
  return 1;
}

void vigil__api_post_users(api *a, http_request *req, const api_call *c) {
  user admin_copy = *c->who; /* as in vigil__api_post_user */
  const user *admin = &admin_copy;
  json_t *body = vigil__api_body_object(req);
  if (!body) return;
  const char *name, *r, *password, *own;
  char sites[USER_SITES_MAX];
  admin_ask *e;
  if (vigil__api_member_string(req, body, "name", 1, &name) == 0 && body_sites(a, req, body, sites) >= 0 &&
      vigil__api_member_string(req, body, "role", 1, &r) == 0 &&
      vigil__api_member_string(req, body, "password", 0, &password) == 0 &&
      vigil__api_member_string(req, body, "admin_password", 0, &own) == 0) {
    const char *weak = password ? vigil__users_password_problem(password) : NULL;
    /* Everything the body can be refused for, before the password is checked. */
    if (!vigil__users_name_valid(name))
      vigil__http_respond_error(req, 422, "invalid_field",
                                "a user name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
                                "name");
    else if (vigil__role_parse(r) < 0)
      vigil__http_respond_error(req, 422, "invalid_field", "role is nurse, clinician, admin or integrator", "role");
    else if (vigil__users_find(a->users, name))
      vigil__http_respond_error(req, 409, "already_exists", "that user exists already", "name");
    else if (weak)
      vigil__http_respond_error(req, 422, "invalid_field", weak, "password");
    else if (own_password_given(req, own, "creating a user") &&
             (e = admin_ask_new(req, ASK_CREATE, admin->name, name, password))) {
      e->role = (role)vigil__role_parse(r);
      snprintf(e->sites, sizeof e->sites, "%s", sites);
      ask_admin_password(a, req, admin, own, e);
    }
  }
  json_decref(body);
}

void vigil__api_post_user(api *a, http_request *req, const api_call *c) {
  /* The lookup may read the user in from a shared store, moving the users
   * in memory: the admin's is copied first. */
  user admin_copy = *c->who;
  const user *admin = &admin_copy;
  const char *name = c->text;
  const user *u = vigil__users_lookup(a->users, name);
  if (!u) {
    vigil__http_respond_error(req, 404, "not_found", "no such user", NULL);
    return;
  }
  json_t *body = vigil__api_body_object(req);
  if (!body) return;
  json_t *disabled = json_object_get(body, "disabled");
  const char *password, *own;
  char sites[USER_SITES_MAX];
  int has_sites = 0;
  if (vigil__api_member_string(req, body, "password", 0, &password) < 0 ||
      vigil__api_member_string(req, body, "admin_password", 0, &own) < 0 ||
      (has_sites = body_sites(a, req, body, sites)) < 0) {
    json_decref(body);
    return;
  }
  int self = !strcmp(name, admin->name);
  admin_ask *e = NULL;
  if (disabled && !json_is_boolean(disabled)) {
    vigil__http_respond_error(req, 422, "invalid_field", "disabled is true or false", "disabled");
  } else if (password && vigil__users_password_problem(password)) { /* before anything changes */
    vigil__http_respond_error(req, 422, "invalid_field", vigil__users_password_problem(password), "password");
  } else if (!disabled && !password && !has_sites) {
    vigil__http_respond_error(req, 422, "invalid_field", "nothing to change: give disabled, password or sites", NULL);
  } else if (password && self) {
    /* Z1: one's own password is changed with the current one (the step-up
     * and its guessing limits), not by the admin's reset. */
    vigil__http_respond_error(req, 409, "wrong_state",
                              "change your own password with POST /api/v1/session/password, which asks for the "
                              "current one",
                              "password");
  } else if (disabled && self && json_is_true(disabled)) {
    vigil__http_respond_error(req, 409, "wrong_state", "an admin cannot disable themself", "disabled");
  } else if ((self || own_password_given(req, own, "changing another user")) &&
             (e = admin_ask_new(req, ASK_CHANGE, admin->name, name, password))) {
    e->disabled = disabled ? json_is_true(disabled) : -1;
    e->has_sites = has_sites;
    snprintf(e->sites, sizeof e->sites, "%s", has_sites ? sites : "");
    if (self) { /* enabling oneself: nothing to take over */
      apply_user_edit(a, req, e);
      admin_ask_free(e);
    } else {
      ask_admin_password(a, req, admin, own, e);
    }
  }
  json_decref(body);
}

void vigil__api_post_tokens(api *a, http_request *req, const api_call *c) {
  user admin_copy = *c->who; /* as in vigil__api_post_user */
  const user *admin = &admin_copy;
  json_t *body = vigil__api_body_object(req);
  if (!body) return;
  const char *name, *own;
  char sites[USER_SITES_MAX] = "";
  admin_ask *e;
  if (vigil__api_member_string(req, body, "user", 1, &name) == 0 &&
      vigil__api_member_string(req, body, "admin_password", 0, &own) == 0 && body_sites(a, req, body, sites) >= 0) {
    int status;
    const user *u = vigil__users_lookup(a->users, name);
    const char *code, *why = token_refused(u, &status, &code);
    if (why)
      vigil__http_respond_error(req, status, code, why, "user");
    else if (sites[0] && !vigil__users_sites_within(sites, u->sites)) /* checked again when it is made */
      vigil__http_respond_error(req, 422, "invalid_field", "a token's sites are some of its user's", "sites");
    else if (own_password_given(req, own, "issuing an API token") &&
             (e = admin_ask_new(req, ASK_TOKEN, admin->name, name, NULL))) {
      snprintf(e->sites, sizeof e->sites, "%s", sites);
      ask_admin_password(a, req, admin, own, e);
    }
  }
  json_decref(body);
}
