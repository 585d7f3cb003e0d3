/* user.c: vigil user add|list|disable|enable|passwd|token|sites, on the
 * database of a stopped server (--sites: the sites a user works at, or a
 * token's narrower list; docs/security.md, Sites).
 *
 * The store admits one process at a time, so while `vigil serve` runs these
 * are refused with a pointer to the same operations over HTTP
 * (/api/v1/users). Every change is recorded as a site event (user.created,
 * user.changed) whose actor is "console:" and the login name. */
#define _GNU_SOURCE
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config/config.h"
#include "store/store.h"
#include "engine/site.h"
#include "auth/users.h"
#include "vigil/vigil.h"

static int64_t now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* --db, else vigil.conf's database, else ./var/vigil.db. */
static const char *database(const char *flag, const char *conf_path, config **conf) {
  if (flag) return flag;
  char err[4200];
  const char *db = "./var/vigil.db";
  int rc = vigil__config_load(conf_path ? conf_path : "vigil.conf", conf, err, sizeof err);
  if (rc == 0) {
    if (vigil__config_string(*conf, "database", db, &db, err, sizeof err) < 0) {
      fprintf(stderr, "vigil user: %s\n", err);
      return NULL;
    }
  } else if (rc != VIGIL_ENOENT || conf_path) {
    fprintf(stderr, "vigil user: %s\n", err);
    return NULL;
  }
  return db;
}

/* A password from one line of standard input, or NULL. */
static char *read_password(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n <= 0) {
    free(line);
    return NULL;
  }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

/* 18 random bytes as 24 characters a person can type. */
static void generate_password(char out[25]) {
  unsigned char random[18];
  randombytes_buf(random, sizeof random);
  sodium_bin2base64(out, 25, random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void console_actor(char *out, size_t len) {
  struct passwd *pw = getpwuid(getuid());
  snprintf(out, len, "console:%s", pw && pw->pw_name ? pw->pw_name : "unknown");
}

typedef struct session_ctx {
  store *s;
  users *u;
  char actor[96];
} session_ctx;

static void close_db(session_ctx *c);

static int open_db(const char *db, session_ctx *c) {
  char err[1024];
  int rc;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", db);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir && !vigil__store_is_pg(db)) { /* the database's folder, as vigil serve makes it */
    *slash = '\0';
    mkdir(dir, 0750);
  }
  if (!(c->s = vigil__store_open(db, NULL, NULL, 0, &rc, err, sizeof err))) {
    if (rc == VIGIL_EBUSY)
      fprintf(stderr,
              "vigil user: %s is in use: vigil serve is running. Manage users through it (an admin: "
              "POST /api/v1/users, see docs/http.md) or stop it first.\n",
              db);
    else
      fprintf(stderr, "vigil user: %s\n", err);
    return -1;
  }
  if ((rc = vigil__users_open(c->s, &c->u, err, sizeof err)) < 0) {
    fprintf(stderr, "vigil user: %s\n", err);
    c->s->ops->close(c->s);
    return -1;
  }
  if (!vigil__store_is_pg(db)) { /* the credential key beside the database (docs/security.md U2) */
    unsigned char key[32];
    rc = vigil_audit_credential_key(db, 1, key, err, sizeof err);
    if (rc == 1) rc = vigil__users_end_all_sessions(c->u, err, sizeof err);
    if (rc >= 0) vigil__users_set_key(c->u, key);
    sodium_memzero(key, sizeof key);
    if (rc < 0) {
      fprintf(stderr, "vigil user: %s\n", err);
      close_db(c);
      return -1;
    }
  }
  console_actor(c->actor, sizeof c->actor);
  return 0;
}

static void close_db(session_ctx *c) {
  vigil__users_close(c->u);
  c->s->ops->close(c->s);
}

/* fields with the credential digest (docs/security.md U2) of name's password
 * hash, or of token's session, when the store has a credential key. */
static json_t *with_digest(json_t *fields, const char *member, users *u, const char *name, const char *token) {
  char dg[65];
  int rc = name ? vigil__users_hash_digest(u, name, dg) : vigil__users_session_digest(u, token, dg);
  if (fields && rc == 0) json_object_set_new(fields, member, json_string(dg));
  return fields;
}

static int record(session_ctx *c, const char *type, json_t *fields) {
  char *text = json_dumps(fields, JSON_COMPACT);
  json_decref(fields);
  char err[1024];
  /* The change's rows go with its event, in one transaction: both or neither. */
  store_kv_write *writes = vigil__users_take_writes(c->u);
  int rc = text ? vigil__store_site_event_writes(c->s, type, c->actor, text, now_ms(), writes, err, sizeof err)
                : VIGIL_ENOMEM;
  if (!text) vigil__kv_writes_free(writes);
  free(text);
  vigil__users_settle(c->u, rc == 0);
  if (rc < 0)
    fprintf(stderr, "vigil user: nothing was changed: %s\n", rc == VIGIL_ENOMEM && !text ? "out of memory" : err);
  return rc;
}

/* The new password: from standard input, or generated and printed once. */
static char *new_password(int from_stdin, int *generated) {
  char made[25];
  *generated = !from_stdin;
  if (!from_stdin) {
    generate_password(made);
    return strdup(made);
  }
  char *p = read_password();
  if (!p) {
    fprintf(stderr, "vigil user: --password-stdin: no password on standard input\n");
    return NULL;
  }
  if (vigil__users_password_problem(p)) {
    fprintf(stderr, "vigil user: %s\n", vigil__users_password_problem(p));
    free(p);
    return NULL;
  }
  return p;
}

/* A password (read, or generated and shown once), hashed, for a new user
 * (create) or an existing one; the change recorded as an event. */
static int apply_password(session_ctx *c, const char *name, int create, role r, const char *sites, int from_stdin) {
  int generated;
  char *password = new_password(from_stdin, &generated);
  if (!password) return 2;
  char hash[USER_HASH_MAX], err[1024];
  int rc = vigil__users_hash_password(password, hash);
  if (rc == 0)
    rc = create ? vigil__users_add(c->u, name, r, sites, hash, now_ms(), err, sizeof err)
                : vigil__users_set_hash(c->u, name, hash, NULL, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "vigil user: %s\n", rc == VIGIL_ENOMEM ? "out of memory" : err);
  } else if ((rc = record(c, create ? "user.created" : "user.changed",
                          with_digest(create ? json_pack("{s:s, s:s, s:o}", "user", name, "role", vigil__role_name(r),
                                                         "sites", vigil__users_sites_json(sites))
                                             : json_pack("{s:s, s:b}", "user", name, "password_changed", 1),
                                      "hash_digest", c->u, name, NULL))) == 0) {
    if (create)
      printf("user %s (%s) added, working at %s", name, vigil__role_name(r), sites[0] ? sites : "every site");
    else
      printf("password of %s changed", name);
    if (generated) printf("; %spassword, shown once: %s", create ? "" : "new ", password);
    printf("\n");
  }
  sodium_memzero(password, strlen(password));
  free(password);
  return rc < 0 ? 1 : 0;
}

static int user_add(session_ctx *c, const char *name, const char *r, const char *sites, int from_stdin) {
  int role_id = vigil__role_parse(r);
  if (role_id < 0) {
    fprintf(stderr, "vigil user: --role is nurse, clinician, admin or integrator\n");
    return 2;
  }
  if (!vigil__users_name_valid(name)) {
    fprintf(stderr, "vigil user: a user name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or "
                    "digit\n");
    return 2;
  }
  if (vigil__users_find(c->u, name)) {
    fprintf(stderr, "vigil user: user '%s' exists already\n", name);
    return 1;
  }
  return apply_password(c, name, 1, (role)role_id, sites, from_stdin);
}

static int user_list(session_ctx *c) {
  printf("%-24s %-11s %-8s %-16s %s\n", "NAME", "ROLE", "STATE", "CREATED (UTC)", "SITES");
  for (size_t i = 0; i < vigil__users_count(c->u); i++) {
    const user *u = vigil__users_at(c->u, i);
    time_t t = (time_t)(u->created_ms / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    printf("%-24s %-11s %-8s %-16s %s\n", u->name, vigil__role_name(u->role), u->disabled ? "disabled" : "active", when,
           u->sites[0] ? u->sites : "*");
  }
  return 0;
}

static int user_disable(session_ctx *c, const char *name, int disabled) {
  char err[1024];
  int rc = vigil__users_set_disabled(c->u, name, disabled, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "vigil user: %s\n", err);
    return 1;
  }
  if (record(c, "user.changed", json_pack("{s:s, s:b}", "user", name, "disabled", disabled)) < 0) return 1;
  printf("user %s %s\n", name, disabled ? "disabled: their sessions and tokens have ended" : "enabled");
  return 0;
}

static int user_passwd(session_ctx *c, const char *name, int from_stdin) {
  if (!vigil__users_find(c->u, name)) {
    fprintf(stderr, "vigil user: no user '%s'\n", name);
    return 1;
  }
  return apply_password(c, name, 0, ROLE_NURSE /* unused */, NULL, from_stdin);
}

static int user_sites(session_ctx *c, const char *name, const char *sites) {
  char err[1024];
  if (vigil__users_set_sites(c->u, name, sites, err, sizeof err) < 0) {
    fprintf(stderr, "vigil user: %s\n", err);
    return 1;
  }
  if (record(c, "user.changed", json_pack("{s:s, s:o}", "user", name, "sites", vigil__users_sites_json(sites))) < 0)
    return 1;
  printf("user %s works at %s\n", name, sites[0] ? sites : "every site");
  return 0;
}

static int user_token(session_ctx *c, const char *name, const char *sites) {
  const user *u = vigil__users_find(c->u, name);
  if (!u || u->role != ROLE_INTEGRATOR || u->disabled) {
    fprintf(stderr, "vigil user: API tokens are for active integrator users; '%s' is not one\n", name);
    return 1;
  }
  char token[USER_TOKEN_LEN + 1], err[1024];
  if (vigil__users_token_new(c->u, name, sites, now_ms(), token, err, sizeof err) < 0) {
    fprintf(stderr, "vigil user: %s\n", err);
    return 1;
  }
  if (record(c, "user.changed",
             with_digest(json_pack("{s:s, s:b, s:o}", "user", name, "token_issued", 1, "sites",
                                   vigil__users_sites_json(sites[0] ? sites : u->sites)),
                         "session_digest", c->u, NULL, token)) < 0) {
    sodium_memzero(token, sizeof token);
    return 1;
  }
  printf("API token for %s, shown once (send it as \"Authorization: Bearer TOKEN\"):\n%s\n", name, token);
  sodium_memzero(token, sizeof token);
  return 0;
}

int vigil__cmd_user(int argc, char **argv) {
  const char *action = argc > 1 ? argv[1] : NULL, *name = NULL, *r = NULL, *db_flag = NULL, *conf_path = NULL,
             *sites_text = NULL;
  int from_stdin = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--role") && i + 1 < argc)
      r = argv[++i];
    else if (!strcmp(argv[i], "--sites") && i + 1 < argc)
      sites_text = argv[++i];
    else if (!strcmp(argv[i], "--db") && i + 1 < argc)
      db_flag = argv[++i];
    else if (!strcmp(argv[i], "--config") && i + 1 < argc)
      conf_path = argv[++i];
    else if (!strcmp(argv[i], "--password-stdin"))
      from_stdin = 1;
    else if (argv[i][0] != '-' && !name)
      name = argv[i];
    else {
      fprintf(stderr, "vigil user: unexpected '%s' (see vigil help user)\n", argv[i]);
      return 2;
    }
  }
  static const char *const takes_name[] = {"add", "disable", "enable", "passwd", "token", "sites"};
  int known = action && !strcmp(action, "list"), named = 0;
  for (size_t i = 0; action && i < sizeof takes_name / sizeof *takes_name; i++)
    if (!strcmp(action, takes_name[i])) known = named = 1;
  if (!known || (named && !name) || (action && !strcmp(action, "add") && !r)) {
    fprintf(stderr, "vigil user: see vigil help user\n");
    return 2;
  }
  /* --sites: add (the user's), token (its narrower list), sites (the change). */
  int takes_sites = !strcmp(action, "add") || !strcmp(action, "token") || !strcmp(action, "sites");
  char sites[USER_SITES_MAX] = "";
  char why[400];
  if ((sites_text && !takes_sites) || (!sites_text && !strcmp(action, "sites"))) {
    fprintf(stderr, "vigil user: --sites goes with add, token or sites (see vigil help user)\n");
    return 2;
  }
  if (sites_text && vigil__users_sites_parse(sites_text, sites, why, sizeof why) < 0) {
    fprintf(stderr, "vigil user: --sites: %s\n", why);
    return 2;
  }
  config *conf = NULL;
  const char *db = database(db_flag, conf_path, &conf);
  session_ctx c = {0};
  if (!db || sodium_init() < 0 || open_db(db, &c) < 0) {
    vigil__config_free(conf);
    return 1;
  }
  char bad[65];
  if (sites[0] && vigil__users_sites_unknown(c.s, sites, bad, sizeof bad)) { /* AU2 */
    fprintf(stderr, "vigil user: --sites: no site %s in this cluster (vigil site add makes one)\n", bad);
    close_db(&c);
    vigil__config_free(conf);
    return 2;
  }
  int rc;
  if (!strcmp(action, "add"))
    rc = user_add(&c, name, r, sites, from_stdin);
  else if (!strcmp(action, "list"))
    rc = user_list(&c);
  else if (!strcmp(action, "disable") || !strcmp(action, "enable"))
    rc = user_disable(&c, name, !strcmp(action, "disable"));
  else if (!strcmp(action, "passwd"))
    rc = user_passwd(&c, name, from_stdin);
  else if (!strcmp(action, "sites"))
    rc = user_sites(&c, name, sites);
  else
    rc = user_token(&c, name, sites);
  close_db(&c);
  vigil__config_free(conf);
  return rc;
}
