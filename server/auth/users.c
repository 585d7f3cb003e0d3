/* users.c: users, sessions and API tokens over the store's key-value table
 * (users.h). Namespaces: "user" (key: the name), "session" (key: the hex
 * SHA-256 of the token; API tokens are sessions that do not expire). A change
 * that has an event does not write its rows itself: they wait in u->writes
 * for the event that carries them (vigil__users_take_writes), and the store
 * writes both in one transaction. */
#include "auth/users.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "vigil/vigil.h"

typedef struct session {
  char key[65]; /* hex SHA-256 of the token */
  char user[USER_NAME_MAX + 1];
  int64_t expires_ms; /* 0: an API token, until revoked */
  int64_t ttl_ms;
  int64_t written_ms;         /* when expires_ms was last made durable */
  char sites[USER_SITES_MAX]; /* an API token's narrower list; "": its user's */
} session;

struct users {
  store *s;
  user *list; /* by name */
  size_t n;
  session *sessions;
  size_t n_sessions;
  store_kv_write *writes; /* rows of changes whose event has not taken them */
  unsigned char key[32];  /* the credential key (vigil_audit_credential_key) */
  int has_key;
  /* The users and sessions as they were before the first change not yet
   * settled (vigil__users_settle): what a failed commit brings back. */
  int saved;
  int shared; /* other processes change the store's users (vigil__users_share) */
  user *saved_list;
  size_t saved_n;
  session *saved_sessions;
  size_t saved_n_sessions;
};

/* ---- names and passwords ------------------------------------------------------- */

int vigil__users_name_valid(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > USER_NAME_MAX || !isalnum((unsigned char)name[0])) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-')) return 0;
  }
  return strcmp(name, "vigil") != 0; /* the engine's own name in the log */
}

const char *vigil__users_password_problem(const char *password) {
  size_t n = password ? strlen(password) : 0;
  if (n < USER_PASSWORD_MIN) return "a password has at least 10 characters";
  if (n > USER_PASSWORD_MAX) return "a password has at most 256 characters";
  return NULL;
}

int vigil__users_hash_password(const char *password, char out[USER_HASH_MAX]) {
  _Static_assert(USER_HASH_MAX >= crypto_pwhash_STRBYTES, "room for an argon2id hash");
  if (sodium_init() < 0) return VIGIL_ENOMEM;
  /* libsodium's interactive limits: 64 MiB and about a tenth of a second,
   * what its documentation recommends for an online sign-in. */
  return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0
             ? 0
             : VIGIL_ENOMEM;
}

int vigil__users_password_matches(const char *hash, const char *password) {
  if (sodium_init() < 0 || !hash[0]) return 0;
  return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

/* ---- sites ------------------------------------------------------------------------ */

/* A site's name as a request names it (server/api/api_cluster.c body_site). */
static int site_name_valid(const char *s, size_t n) {
  if (n == 0 || n > 64) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_') return 0;
  return 1;
}

int vigil__users_sites_parse(const char *text, char out[USER_SITES_MAX], char *why, size_t whylen) {
  out[0] = '\0';
  const char *t = text ? text : "";
  t += strspn(t, " ");
  size_t tl = strlen(t);
  while (tl && t[tl - 1] == ' ')
    tl--;
  if (tl == 1 && *t == '*') return 0; /* every site: "*" alone, nothing else does (AU2) */
  size_t len = 0;
  for (const char *p = t, *end = t + tl;;) {
    size_t n = strcspn(p, ",");
    if (n > (size_t)(end - p)) n = (size_t)(end - p);
    const char *q = p;
    size_t m = n;
    while (m && *q == ' ')
      q++, m--;
    while (m && q[m - 1] == ' ')
      m--;
    if (!m) {
      snprintf(why, whylen, "sites names an empty site (\"%.200s\"): list site names, or \"*\" alone for every site",
               text ? text : "");
      return -1;
    }
    if (m == 1 && *q == '*') {
      snprintf(why, whylen, "sites lists * among site names (\"%.200s\"): \"*\" alone is every site", text);
      return -1;
    }
    if (!site_name_valid(q, m)) {
      snprintf(why, whylen,
               "sites: '%.*s' is not a site name (letters, digits, '-', '_'; at most 64 each), nor * for every site",
               (int)(m < 80 ? m : 80), q);
      return -1;
    }
    char name[65];
    snprintf(name, sizeof name, "%.*s", (int)m, q);
    if (!vigil__users_sites_include(out, name) || !out[0]) {
      if (len + m + 2 > USER_SITES_MAX) {
        snprintf(why, whylen, "sites lists too many sites (at most 511 characters)");
        return -1;
      }
      len += (size_t)snprintf(out + len, USER_SITES_MAX - len, "%s%s", len ? "," : "", name);
    }
    p += n;
    if (p >= end) break;
    p++; /* the comma */
  }
  return 0;
}

int vigil__users_sites_unknown(store *s, const char *list, char *bad, size_t len) {
  for (const char *p = list; *p;) {
    size_t l = strcspn(p, ",");
    char name[65];
    snprintf(name, sizeof name, "%.*s", (int)(l < 64 ? l : 64), p);
    int known = 1;
    free(vigil__store_site_owner(s, name, &known));
    if (!known) {
      snprintf(bad, len, "%s", name);
      return 1;
    }
    p += l;
    if (*p) p++;
  }
  return 0;
}

int vigil__users_sites_include(const char *list, const char *site) {
  if (!list[0]) return 1;
  size_t n = strlen(site);
  for (const char *p = list; *p;) {
    size_t l = strcspn(p, ",");
    if (l == n && !memcmp(p, site, n)) return 1;
    p += l;
    if (*p) p++;
  }
  return 0;
}

int vigil__users_sites_within(const char *narrower, const char *list) {
  if (!list[0]) return 1;
  if (!narrower[0]) return 0;
  for (const char *p = narrower; *p;) {
    char name[65];
    size_t l = strcspn(p, ",");
    snprintf(name, sizeof name, "%.*s", (int)(l < 64 ? l : 64), p);
    if (!vigil__users_sites_include(list, name)) return 0;
    p += l;
    if (*p) p++;
  }
  return 1;
}

json_t *vigil__users_sites_json(const char *list) {
  json_t *a = json_array();
  if (!list[0]) json_array_append_new(a, json_string("*"));
  for (const char *p = list; *p;) {
    size_t l = strcspn(p, ",");
    json_array_append_new(a, json_stringn(p, l));
    p += l;
    if (*p) p++;
  }
  return a;
}

/* A row's "sites" (an array of names; absent: every site) into out. */
static void sites_of(json_t *row, char out[USER_SITES_MAX]) {
  json_t *list = json_object_get(row, "sites");
  size_t i, len = 0;
  json_t *x;
  out[0] = '\0';
  json_array_foreach(list, i, x) {
    const char *v = json_string_value(x);
    if (!v || !site_name_valid(v, strlen(v)) || len + strlen(v) + 2 > USER_SITES_MAX) {
      /* a damaged list is no site (no site is named "!"), never every site */
      snprintf(out, USER_SITES_MAX, "%s", "!");
      return;
    }
    len += (size_t)snprintf(out + len, USER_SITES_MAX - len, "%s%s", len ? "," : "", v);
  }
}

/* ---- persistence ------------------------------------------------------------------- */

/* Copies the users and sessions before the first change of a batch. */
static int save(users *u) {
  if (u->saved) return 0;
  user *l = u->n ? malloc(u->n * sizeof *l) : NULL;
  session *ss = u->n_sessions ? malloc(u->n_sessions * sizeof *ss) : NULL;
  if ((u->n && !l) || (u->n_sessions && !ss)) {
    free(l);
    free(ss);
    return VIGIL_ENOMEM;
  }
  if (l) memcpy(l, u->list, u->n * sizeof *l);
  if (ss) memcpy(ss, u->sessions, u->n_sessions * sizeof *ss);
  u->saved_list = l;
  u->saved_n = u->n;
  u->saved_sessions = ss;
  u->saved_n_sessions = u->n_sessions;
  u->saved = 1;
  return 0;
}

/* A row for the event that will carry the change (value NULL: delete). */
static int queue(users *u, const char *ns, const char *key, const char *text, char *err, size_t errlen) {
  int rc = vigil__kv_write_add(&u->writes, ns, key, text, text ? strlen(text) : 0);
  if (rc < 0) snprintf(err, errlen, "out of memory");
  return rc;
}

static char *user_text(const user *x) {
  json_t *j = json_pack("{s:s, s:s, s:b, s:I}", "role", vigil__role_name(x->role), "hash", x->hash, "disabled",
                        x->disabled, "created_ms", (json_int_t)x->created_ms);
  if (j && x->sites[0]) json_object_set_new(j, "sites", vigil__users_sites_json(x->sites));
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return text;
}

/* A user's row; create: a new user's, which the store refuses (the whole
 * event) when the name is there already, whoever wrote it. */
static int put_user(users *u, const user *x, int create, char *err, size_t errlen) {
  char *text = user_text(x);
  int rc = text ? queue(u, "user", x->name, text, err, errlen) : VIGIL_ENOMEM;
  free(text);
  if (rc == 0 && create) {
    store_kv_write *w = u->writes;
    while (w->next)
      w = w->next;
    w->create = 1;
  }
  return rc;
}

static char *session_text(const session *x) {
  json_t *j = json_pack("{s:s, s:I, s:I}", "user", x->user, "expires_ms", (json_int_t)x->expires_ms, "ttl_ms",
                        (json_int_t)x->ttl_ms);
  if (j && x->sites[0]) json_object_set_new(j, "sites", vigil__users_sites_json(x->sites));
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return text;
}

/* A session's row with its event (queued: a new session), or at once (a
 * session's life extended: no event). */
static int put_session(users *u, const session *x, int with_event, char *err, size_t errlen) {
  char *text = session_text(x);
  int rc = !text        ? VIGIL_ENOMEM
           : with_event ? queue(u, "session", x->key, text, err, errlen)
                        : u->s->ops->kv_put(u->s, "session", x->key, text, strlen(text), err, errlen);
  free(text);
  return rc;
}

store_kv_write *vigil__users_take_writes(users *u) {
  store_kv_write *w = u->writes;
  u->writes = NULL;
  return w;
}

void vigil__users_settle(users *u, int kept) {
  vigil__kv_writes_free(u->writes); /* a change no event took is not kept */
  u->writes = NULL;
  if (!u->saved) return;
  if (!kept) {
    free(u->list);
    free(u->sessions);
    u->list = u->saved_list;
    u->n = u->saved_n;
    u->sessions = u->saved_sessions;
    u->n_sessions = u->saved_n_sessions;
  } else {
    free(u->saved_list);
    free(u->saved_sessions);
  }
  u->saved_list = NULL;
  u->saved_sessions = NULL;
  u->saved = 0;
}

typedef struct loading {
  users *u;
  int rc;
} loading;

static int load_user(void *ud, const char *key, const void *value, size_t len) {
  loading *l = ud;
  json_t *j = json_loadb(value, len, 0, NULL);
  int r = vigil__role_parse(json_string_value(json_object_get(j, "role")));
  const char *hash = json_string_value(json_object_get(j, "hash"));
  user *grown = realloc(l->u->list, (l->u->n + 1) * sizeof *grown);
  if (grown) l->u->list = grown;
  if (!grown || !j) {
    json_decref(j);
    l->rc = VIGIL_ENOMEM;
    return 1;
  }
  if (r >= 0 && hash && strlen(hash) < USER_HASH_MAX && strlen(key) <= USER_NAME_MAX) {
    user *x = &l->u->list[l->u->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", key);
    snprintf(x->hash, sizeof x->hash, "%s", hash);
    x->role = (role)r;
    x->disabled = json_is_true(json_object_get(j, "disabled"));
    x->created_ms = json_integer_value(json_object_get(j, "created_ms"));
    sites_of(j, x->sites);
  }
  json_decref(j);
  return 0;
}

static int load_session(void *ud, const char *key, const void *value, size_t len) {
  loading *l = ud;
  json_t *j = json_loadb(value, len, 0, NULL);
  session *grown = realloc(l->u->sessions, (l->u->n_sessions + 1) * sizeof *grown);
  if (grown) l->u->sessions = grown;
  if (!grown || !j) {
    json_decref(j);
    l->rc = VIGIL_ENOMEM;
    return 1;
  }
  const char *name = json_string_value(json_object_get(j, "user"));
  if (name && strlen(name) <= USER_NAME_MAX && strlen(key) == 64) {
    session *x = &l->u->sessions[l->u->n_sessions++];
    snprintf(x->key, sizeof x->key, "%s", key);
    snprintf(x->user, sizeof x->user, "%s", name);
    x->expires_ms = json_integer_value(json_object_get(j, "expires_ms"));
    x->ttl_ms = json_integer_value(json_object_get(j, "ttl_ms"));
    x->written_ms = x->expires_ms - x->ttl_ms;
    sites_of(j, x->sites);
  }
  json_decref(j);
  return 0;
}

int vigil__users_open(store *s, users **out, char *err, size_t errlen) {
  *out = NULL;
  if (sodium_init() < 0) return VIGIL_ENOMEM;
  users *u = calloc(1, sizeof *u);
  if (!u) return VIGIL_ENOMEM;
  u->s = s;
  randombytes_buf(u->key, sizeof u->key); /* until vigil__users_set_key: device cookies of this run only */
  loading l = {u, 0};
  int rc = s->ops->kv_scan(s, "user", load_user, &l, err, errlen);
  if (rc == 0) rc = s->ops->kv_scan(s, "session", load_session, &l, err, errlen);
  if (rc == 0) rc = l.rc;
  if (rc < 0) {
    vigil__users_close(u);
    return rc;
  }
  *out = u;
  return 0;
}

void vigil__users_share(users *u) { u->shared = 1; }

static int by_name(const void *a, const void *b) { return strcmp(((const user *)a)->name, ((const user *)b)->name); }

int vigil__users_reload(users *u, char *err, size_t errlen) {
  if (u->saved || u->writes) return 0; /* a change waits for its event's commit: the next time */
  users fresh = {.s = u->s};
  loading l = {&fresh, 0};
  int rc = u->s->ops->kv_scan(u->s, "user", load_user, &l, err, errlen);
  if (rc == 0) rc = u->s->ops->kv_scan(u->s, "session", load_session, &l, err, errlen);
  if (rc == 0) rc = l.rc;
  if (rc < 0) {
    free(fresh.list);
    free(fresh.sessions);
    return rc;
  }
  /* A session's life as this node extended it: its row is written only now
   * and then (vigil__users_session_check). */
  for (size_t i = 0; i < fresh.n_sessions; i++)
    for (size_t k = 0; k < u->n_sessions; k++) {
      session *was = &u->sessions[k], *x = &fresh.sessions[i];
      if (strcmp(was->key, x->key)) continue;
      if (x->ttl_ms && was->expires_ms > x->expires_ms) {
        x->expires_ms = was->expires_ms;
        x->written_ms = was->written_ms;
      }
      break;
    }
  free(u->list);
  free(u->sessions);
  u->list = fresh.list;
  u->n = fresh.n;
  u->sessions = fresh.sessions;
  u->n_sessions = fresh.n_sessions;
  return 0;
}

/* Read-through of a shared store: the row of ns/key, taken in by load
 * (load_user, load_session). 1 when it was there, 0 when not, or < 0. */
static int read_through(users *u, const char *ns, const char *key, store_kv_fn load) {
  void *value = NULL;
  size_t len;
  char err[256];
  if (!u->shared || u->saved || u->writes) return 0;
  int rc = u->s->ops->kv_get(u->s, ns, key, &value, &len, err, sizeof err);
  if (rc < 0) return rc == VIGIL_ENOENT ? 0 : rc;
  loading l = {u, 0};
  load(&l, key, value, len);
  free(value);
  if (l.rc < 0) return l.rc;
  if (load == load_user) qsort(u->list, u->n, sizeof *u->list, by_name);
  return 1;
}

const user *vigil__users_lookup(users *u, const char *name) {
  const user *x = vigil__users_find(u, name);
  if (x || !name || !vigil__users_name_valid(name)) return x;
  return read_through(u, "user", name, load_user) == 1 ? vigil__users_find(u, name) : NULL;
}

void vigil__users_close(users *u) {
  if (!u) return;
  vigil__users_settle(u, 1);
  free(u->list);
  free(u->sessions);
  free(u);
}

/* ---- users ----------------------------------------------------------------------------- */

size_t vigil__users_count(const users *u) { return u->n; }
const user *vigil__users_at(const users *u, size_t i) { return i < u->n ? &u->list[i] : NULL; }

const user *vigil__users_find(const users *u, const char *name) {
  for (size_t i = 0; name && i < u->n; i++)
    if (!strcmp(u->list[i].name, name)) return &u->list[i];
  return NULL;
}

static user *find_mut(users *u, const char *name) { return (user *)vigil__users_find(u, name); }

int vigil__users_reconcile(users *u, const user_record *log, size_t n, void (*note)(void *ud, const char *sentence),
                           void *ud, char *err, size_t errlen) {
  for (size_t i = 0; i < u->n; i++) {
    const user_record *r = NULL;
    for (size_t k = 0; k < n && !r; k++)
      if (!strcmp(log[k].name, u->list[i].name)) r = &log[k];
    if (r && r->role != u->list[i].role) {
      snprintf(err, errlen,
               "the derived state was edited: user %s is %s in the users table but the log created them %s", r->name,
               vigil__role_name(u->list[i].role), vigil__role_name(r->role));
      return VIGIL_ECORRUPT;
    }
  }
  char sentence[256];
  for (size_t i = u->n; i-- > 0;) {
    user *x = &u->list[i];
    const user_record *r = NULL;
    for (size_t k = 0; k < n && !r; k++)
      if (!strcmp(log[k].name, x->name)) r = &log[k];
    if (!r) {
      snprintf(sentence, sizeof sentence,
               "user %s is in the users table but the log never created them: not believed (vigil audit verify "
               "names it)",
               x->name);
      note(ud, sentence);
      memmove(x, x + 1, (u->n - i - 1) * sizeof *x);
      u->n--;
    } else if (!r->disabled != !x->disabled) {
      snprintf(sentence, sizeof sentence, "user %s is %s in the users table, %s by the log: the log's is believed",
               x->name, x->disabled ? "disabled" : "enabled", r->disabled ? "disabled" : "enabled");
      note(ud, sentence);
      x->disabled = r->disabled;
    }
  }
  return 0;
}

static int no_user(const char *name, char *err, size_t errlen) {
  snprintf(err, errlen, "no user '%s'", name);
  return VIGIL_ENOENT;
}

int vigil__users_add(users *u, const char *name, role r, const char *sites, const char *hash, int64_t now_ms, char *err,
                     size_t errlen) {
  if (!vigil__users_name_valid(name)) {
    snprintf(err, errlen, "a user name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
    return VIGIL_EINVAL;
  }
  /* The store's row too: another node may have made the name since this
   * one read its users (the store refuses a second creation all the same). */
  void *row = NULL;
  size_t row_len;
  int had = vigil__users_find(u, name) ? 0 : u->s->ops->kv_get(u->s, "user", name, &row, &row_len, err, errlen);
  free(row);
  if (had < 0 && had != VIGIL_ENOENT) return had;
  if (had == 0) {
    snprintf(err, errlen, "user '%s' exists already", name);
    return VIGIL_EEXIST;
  }
  user x = {.role = r, .created_ms = now_ms};
  snprintf(x.name, sizeof x.name, "%s", name);
  snprintf(x.hash, sizeof x.hash, "%s", hash);
  snprintf(x.sites, sizeof x.sites, "%s", sites ? sites : "");
  int rc = save(u);
  user *grown = rc == 0 ? realloc(u->list, (u->n + 1) * sizeof *grown) : NULL;
  if (!grown) return VIGIL_ENOMEM;
  u->list = grown;
  rc = put_user(u, &x, 1, err, errlen);
  if (rc < 0) return rc;
  size_t at = 0; /* keep the name order */
  while (at < u->n && strcmp(u->list[at].name, name) < 0)
    at++;
  memmove(&u->list[at + 1], &u->list[at], (u->n - at) * sizeof *u->list);
  u->list[at] = x;
  u->n++;
  return 0;
}

static void token_key(const char *token, char key[65]);

/* Ends name's sessions and tokens but the one whose key is keep (NULL:
 * all): what a new password or a disabled user means. */
typedef struct ending {
  users *u;
  const char *name, *keep;
  int rc;
} ending;

/* A session's row of the store that this process does not hold (another
 * node's), of the user whose sessions end: its deletion goes with the event. */
static int end_stored(void *ud, const char *key, const void *value, size_t len) {
  ending *x = ud;
  json_t *j = json_loadb(value, len, 0, NULL);
  const char *who = json_string_value(json_object_get(j, "user"));
  int held = 0;
  for (size_t i = 0; i < x->u->n_sessions && !held; i++)
    held = !strcmp(x->u->sessions[i].key, key);
  char err[64];
  if (who && !strcmp(who, x->name) && !held && !(x->keep && !strcmp(key, x->keep)))
    x->rc = queue(x->u, "session", key, NULL, err, sizeof err);
  json_decref(j);
  return x->rc < 0;
}

static int end_sessions(users *u, const char *name, const char *keep, char *err, size_t errlen) {
  if (u->shared) { /* those other nodes started, which this one may not have read yet */
    ending x = {u, name, keep, 0};
    int rc = u->s->ops->kv_scan(u->s, "session", end_stored, &x, err, errlen);
    if (rc == 0) rc = x.rc;
    if (rc < 0) return rc;
  }
  for (size_t i = 0; i < u->n_sessions;) {
    session *x = &u->sessions[i];
    if (strcmp(x->user, name) || (keep && !strcmp(x->key, keep))) {
      i++;
      continue;
    }
    int rc = queue(u, "session", x->key, NULL, err, errlen);
    if (rc < 0) return rc;
    *x = u->sessions[--u->n_sessions];
  }
  return 0;
}

/* Makes x (a user in u->list) changed, its row queued for the change's event. */
static int change_user(users *u, user *x, const user *changed, char *err, size_t errlen) {
  int rc = save(u);
  if (rc == 0) rc = put_user(u, changed, 0, err, errlen);
  if (rc == 0) *x = *changed;
  return rc;
}

int vigil__users_set_hash(users *u, const char *name, const char *hash, const char *keep_token, char *err,
                          size_t errlen) {
  user *x = find_mut(u, name);
  if (!x) return no_user(name, err, errlen);
  user changed = *x;
  snprintf(changed.hash, sizeof changed.hash, "%s", hash);
  int rc = change_user(u, x, &changed, err, errlen);
  if (rc < 0) return rc;
  char keep[65];
  if (keep_token && strlen(keep_token) == USER_TOKEN_LEN) token_key(keep_token, keep);
  return end_sessions(u, name, keep_token && strlen(keep_token) == USER_TOKEN_LEN ? keep : NULL, err, errlen);
}

int vigil__users_set_disabled(users *u, const char *name, int disabled, char *err, size_t errlen) {
  user *x = find_mut(u, name);
  if (!x) return no_user(name, err, errlen);
  user changed = *x;
  changed.disabled = !!disabled;
  int rc = change_user(u, x, &changed, err, errlen);
  if (rc < 0) return rc;
  /* A disabled user's sessions and tokens end with it. */
  return disabled ? end_sessions(u, name, NULL, err, errlen) : 0;
}

int vigil__users_set_sites(users *u, const char *name, const char *sites, char *err, size_t errlen) {
  user *x = find_mut(u, name);
  if (!x) return no_user(name, err, errlen);
  user changed = *x;
  snprintf(changed.sites, sizeof changed.sites, "%s", sites);
  return change_user(u, x, &changed, err, errlen);
}

/* ---- sessions ---------------------------------------------------------------------------- */

static void token_key(const char *token, char key[65]) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
  sodium_bin2hex(key, 65, digest, sizeof digest);
}

static session *find_session(users *u, const char *token) {
  if (!token || strlen(token) != USER_TOKEN_LEN) return NULL;
  char key[65];
  token_key(token, key);
  for (size_t i = 0; i < u->n_sessions; i++)
    if (sodium_memcmp(u->sessions[i].key, key, 64) == 0) return &u->sessions[i];
  return NULL;
}

static void drop_session(users *u, session *x) {
  char err[256];
  if (u->s->ops->kv_put(u->s, "session", x->key, NULL, 0, err, sizeof err) == 0) *x = u->sessions[--u->n_sessions];
}

/* A new session or token (ttl_ms 0) of name for sites (its own list; "": the user's). */
static int session_make(users *u, const char *name, const char *sites, int64_t now_ms, int64_t ttl_ms,
                        char out[USER_TOKEN_LEN + 1], char *err, size_t errlen) {
  const user *who = vigil__users_find(u, name);
  if (!who) return no_user(name, err, errlen);
  if (save(u) < 0) return VIGIL_ENOMEM;
  /* Sessions that ended while nobody looked go first (with the new one's
   * event). */
  for (size_t i = 0; i < u->n_sessions;) {
    session *x = &u->sessions[i];
    if (x->expires_ms && x->expires_ms <= now_ms && queue(u, "session", x->key, NULL, err, errlen) == 0)
      *x = u->sessions[--u->n_sessions];
    else
      i++;
  }
  session *grown = realloc(u->sessions, (u->n_sessions + 1) * sizeof *grown);
  if (!grown) return VIGIL_ENOMEM;
  u->sessions = grown;
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  sodium_bin2base64(out, USER_TOKEN_LEN + 1, random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  session x = {.expires_ms = ttl_ms ? now_ms + ttl_ms : 0, .ttl_ms = ttl_ms, .written_ms = now_ms};
  token_key(out, x.key);
  snprintf(x.user, sizeof x.user, "%s", name);
  snprintf(x.sites, sizeof x.sites, "%s", sites);
  int rc = put_session(u, &x, 1, err, errlen);
  if (rc < 0) {
    sodium_memzero(out, USER_TOKEN_LEN + 1);
    return rc;
  }
  u->sessions[u->n_sessions++] = x;
  return 0;
}

int vigil__users_session_new(users *u, const char *name, int64_t now_ms, int64_t ttl_ms, char out[USER_TOKEN_LEN + 1],
                             char *err, size_t errlen) {
  return session_make(u, name, "", now_ms, ttl_ms, out, err, errlen);
}

int vigil__users_token_new(users *u, const char *name, const char *sites, int64_t now_ms, char out[USER_TOKEN_LEN + 1],
                           char *err, size_t errlen) {
  const user *who = vigil__users_find(u, name);
  if (who && sites[0] && !vigil__users_sites_within(sites, who->sites)) {
    snprintf(err, errlen, "a token's sites are some of its user's (%s)", who->sites);
    return VIGIL_EINVAL;
  }
  return session_make(u, name, sites, now_ms, 0, out, err, errlen);
}

int vigil__users_session_site(users *u, const char *token, const user *who, const char *site) {
  if (!vigil__users_sites_include(who->sites, site)) return 0;
  session *x = find_session(u, token);
  return x && vigil__users_sites_include(x->sites, site);
}

const char *vigil__users_session_holds(users *u, const char *token, const char *site, int64_t now_ms) {
  session *x = find_session(u, token);
  if (!x) return "the session or API token has ended (signed out, revoked, or a new password)";
  const user *who = vigil__users_find(u, x->user);
  if (!who || who->disabled) return "the user was disabled";
  if (x->expires_ms && x->expires_ms <= now_ms) return "the session has expired";
  /* The session found once (its token hashed once): this runs before every
   * write to a stream. */
  if (site && !(vigil__users_sites_include(who->sites, site) && vigil__users_sites_include(x->sites, site)))
    return "the user no longer works at this site";
  return NULL;
}

const user *vigil__users_session_check(users *u, const char *token, int64_t now_ms) {
  session *x = find_session(u, token);
  if (!x && u->shared && token && strlen(token) == USER_TOKEN_LEN) {
    /* A session another node started since this one read them. */
    char key[65];
    token_key(token, key);
    if (read_through(u, "session", key, load_session) == 1) {
      x = find_session(u, token);
      if (x && !vigil__users_lookup(u, x->user)) x = NULL;
    }
  }
  if (!x) return NULL;
  const user *who = vigil__users_find(u, x->user);
  if (!who || who->disabled || (x->expires_ms && x->expires_ms <= now_ms)) {
    drop_session(u, x);
    return NULL;
  }
  /* Extend the session; make that durable only now and then, so a read is
   * not a write. A restart forgets at most a tenth of its life. */
  if (x->ttl_ms) {
    char err[256];
    if (now_ms - x->written_ms > x->ttl_ms / 10 && u->shared) {
      /* Another node may have ended it (a sign-out, a new password): its
       * row is not written back then. */
      void *row = NULL;
      size_t len;
      int there = u->s->ops->kv_get(u->s, "session", x->key, &row, &len, err, sizeof err);
      free(row);
      if (there == VIGIL_ENOENT) {
        *x = u->sessions[--u->n_sessions];
        return NULL;
      }
    }
    x->expires_ms = now_ms + x->ttl_ms;
    if (now_ms - x->written_ms > x->ttl_ms / 10 && put_session(u, x, 0, err, sizeof err) == 0) x->written_ms = now_ms;
  }
  return who;
}

int vigil__users_session_end(users *u, const char *token, char *err, size_t errlen) {
  session *x = find_session(u, token);
  if (!x) {
    snprintf(err, errlen, "no such session");
    return VIGIL_ENOENT;
  }
  int rc = save(u);
  if (rc == 0) rc = queue(u, "session", x->key, NULL, err, errlen);
  if (rc == 0) *x = u->sessions[--u->n_sessions];
  return rc;
}

/* ---- credential digests (docs/security.md U2) ----------------------------------------- */

void vigil__users_set_key(users *u, const unsigned char key[32]) {
  memcpy(u->key, key, 32);
  u->has_key = 1;
}

/* vigil_audit_credential_digest's digest (core/audit/audit.c checks it). */
static void digest(const users *u, const char *kind, const char *a, const char *b, char out[65]) {
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, u->key, 32);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)kind, strlen(kind) + 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)a, strlen(a) + 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)b, strlen(b));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(out, 65, mac, sizeof mac);
}

int vigil__users_hash_digest(const users *u, const char *name, char out[65]) {
  const user *x = vigil__users_find(u, name);
  out[0] = '\0';
  if (!u->has_key || !x) return -1;
  digest(u, "user", x->name, x->hash, out);
  return 0;
}

int vigil__users_session_digest(const users *u, const char *token, char out[65]) {
  char k[65];
  out[0] = '\0';
  if (!u->has_key || !token) return -1;
  token_key(token, k);
  for (size_t i = 0; i < u->n_sessions; i++)
    if (!strcmp(u->sessions[i].key, k)) {
      digest(u, "session", k, u->sessions[i].user, out);
      return 0;
    }
  return -1;
}

void vigil__users_session_limit(users *u, const char *row, int64_t expires_ms) {
  for (size_t i = 0; i < u->n_sessions; i++) {
    session *x = &u->sessions[i];
    if (strcmp(x->key, row) || !x->ttl_ms) continue;
    if (!x->expires_ms || x->expires_ms > expires_ms) x->expires_ms = expires_ms;
    return;
  }
}

int vigil__users_end_all_sessions(users *u, char *err, size_t errlen) {
  while (u->n_sessions) {
    int rc = u->s->ops->kv_put(u->s, "session", u->sessions[u->n_sessions - 1].key, NULL, 0, err, errlen);
    if (rc < 0) return rc;
    u->n_sessions--;
  }
  return 0;
}

void vigil__users_device_mac(const users *u, const char *name, const char *rest, char out[65]) {
  digest(u, "device", name, rest, out);
}
