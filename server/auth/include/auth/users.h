/* users.h: who may use a site, and who is signed in.
 *
 * Users, sign-in sessions and integrators' API tokens live in the store's
 * key-value table (store.h), so they survive restarts with the log; the
 * process keeps them in memory too, since every request is checked against
 * them. A change that has an event (a user created, changed or disabled, a
 * password set, a session started or ended, a token issued) changes the
 * memory at once and leaves its rows for that event to carry: the caller
 * hands vigil__users_take_writes() to the event (vigil__site_event_writes,
 * vigil__store_site_event_writes), which the store writes with the rows in
 * one transaction, then calls vigil__users_settle() with whether it was
 * kept. Only a session's extended life is written on its own. Passwords are kept only as argon2id hashes (libsodium's
 * crypto_pwhash_str); tokens only as the SHA-256 of the token, so neither
 * the database nor a backup of it lets anyone sign in.
 *
 * The roles and what each may do are in roles.h. */
#ifndef VIGIL_USERS_H
#define VIGIL_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "auth/roles.h"

struct store; /* core/store.h */

#define USER_NAME_MAX 64
#define USER_PASSWORD_MIN 10
#define USER_PASSWORD_MAX 256
#define USER_HASH_MAX 128  /* crypto_pwhash_STRBYTES */
#define USER_TOKEN_LEN 43  /* 32 random bytes, base64url without padding */
#define USER_SITES_MAX 512 /* a list of sites, "north,south" (docs/security.md, sites) */

typedef struct user {
  char name[USER_NAME_MAX + 1];
  role role;
  int disabled;
  char hash[USER_HASH_MAX]; /* "$argon2id$..." */
  int64_t created_ms;
  char sites[USER_SITES_MAX]; /* the sites they work at, "north,south"; "": every site */
} user;

typedef struct users users;

/* Reads every user and live session of the store. */
int vigil__users_open(struct store *s, users **out, char *err, size_t errlen);
void vigil__users_close(users *u);

/* A store other processes change too (the nodes of a cluster share
 * PostgreSQL's users and sessions): a token or a name this process does not
 * know is looked for in the store (read-through), a session's life is
 * extended only while its row is there, and vigil__users_reload is to be
 * called now and then. */
void vigil__users_share(users *u);
/* Reads every user and session again (what other nodes changed: a user
 * created, disabled, a new password, sessions started or ended), keeping the
 * longer life of a session this process extended. Does nothing while a
 * change waits for its event's commit. 0, or a negative code (the users as
 * they were). */
int vigil__users_reload(users *u, char *err, size_t errlen);
/* vigil__users_find, and on a shared store the store's row when this
 * process does not know the name (a user another node created). */
const user *vigil__users_lookup(users *u, const char *name);

size_t vigil__users_count(const users *u);
const user *vigil__users_at(const users *u, size_t i); /* in name order */
const user *vigil__users_find(const users *u, const char *name);

/* A name is 1 to 64 of [a-z0-9._-], starting with a letter or digit. */
int vigil__users_name_valid(const char *name);
/* NULL when the password is acceptable, else why not (one sentence). */
const char *vigil__users_password_problem(const char *password);

/* The argon2id hash of password (slow on purpose: call it off the loop). */
int vigil__users_hash_password(const char *password, char out[USER_HASH_MAX]);
/* 1 when password matches hash (slow on purpose too). */
int vigil__users_password_matches(const char *hash, const char *password);

/* Adds a user working at sites (a list as kept, vigil__users_sites_parse;
 * NULL or "": every site) with a hash from vigil__users_hash_password;
 * VIGIL_EEXIST when the name is taken. Durable with the event that takes its
 * writes. */
int vigil__users_add(users *u, const char *name, role r, const char *sites, const char *hash, int64_t now_ms, char *err,
                     size_t errlen);
/* Sites (docs/security.md, Sites): a user works at a list of sites, an
 * empty list being every site (what users made before sites had, and a
 * single server's). vigil__users_sites_parse makes text ("north, south",
 * "*") the list as kept ("north,south"; "" for "*"): 0, or -1 with why (a
 * sentence naming what is wrong) into why. Only "*" alone is every site: an
 * empty name ("", "north,") or * among names is refused (AU2). */
int vigil__users_sites_parse(const char *text, char out[USER_SITES_MAX], char *why, size_t whylen);
/* 1 when a site of list (as kept) is not one of the store's (a cluster's
 * vigil_sites), its name into bad; 0 when all are, or the store has no
 * sites (SQLite: a single server). */
int vigil__users_sites_unknown(struct store *s, const char *list, char *bad, size_t len);
/* 1 when the list (as kept) includes site: an empty list includes every one. */
int vigil__users_sites_include(const char *list, const char *site);
/* 1 when every site of narrower is one of list's (every site: list is ""). */
int vigil__users_sites_within(const char *narrower, const char *list);
/* The list as JSON: ["north","south"], or ["*"] for every site. */
struct json_t *vigil__users_sites_json(const char *list);
/* Sets name's sites (a list as kept), durable with the event that takes its writes. */
int vigil__users_set_sites(users *u, const char *name, const char *sites, char *err, size_t errlen);

/* A new password ends the user's sessions and API tokens, all but the one
 * of keep_token (the session that changed it; NULL: all). */
int vigil__users_set_hash(users *u, const char *name, const char *hash, const char *keep_token, char *err,
                          size_t errlen);
/* Disabling ends the user's sessions and tokens at once. */
int vigil__users_set_disabled(users *u, const char *name, int disabled, char *err, size_t errlen);

/* A new sign-in for name that lasts ttl_ms after its last use (a
 * long-lived API token when ttl_ms is 0). The token goes to out, once: only
 * its hash is kept. */
int vigil__users_session_new(users *u, const char *name, int64_t now_ms, int64_t ttl_ms, char out[USER_TOKEN_LEN + 1],
                             char *err, size_t errlen);
/* An API token of name for the sites of the list (as kept, within the
 * user's; "": the user's own), otherwise as vigil__users_session_new. */
int vigil__users_token_new(users *u, const char *name, const char *sites, int64_t now_ms, char out[USER_TOKEN_LEN + 1],
                           char *err, size_t errlen);
/* 1 when the session or token of token may act for site: its user's sites
 * and the token's own list both include it (vigil__users_sites_include). */
int vigil__users_session_site(users *u, const char *token, const user *who, const char *site);

/* The user a token signs in, or NULL (unknown, expired, user disabled).
 * Extends a session's life (writing it at most once per tenth of it). */
const user *vigil__users_session_check(users *u, const char *token, int64_t now_ms);
/* NULL while token still signs in an enabled user, unexpired, who (and the
 * token) may act for site (NULL: any); else why not. Neither extends the
 * session nor reads the store: what an open event stream asks before each
 * write (AU1, docs/security.md). */
const char *vigil__users_session_holds(users *u, const char *token, const char *site, int64_t now_ms);
/* Ends a session or revokes a token. */
int vigil__users_session_end(users *u, const char *token, char *err, size_t errlen);

/* The rows of the changes made since the last call, for their event to
 * carry (the caller owns the list; NULL: none). */
struct store_kv_write *vigil__users_take_writes(users *u);
/* After the event's commit: kept 0 (it failed) brings the users and
 * sessions back to what they were before the first change since the last
 * settle; rows no event took are dropped either way. */
void vigil__users_settle(users *u, int kept);

/* One user as the log makes them (user.created, user.changed). */
typedef struct user_record {
  char name[USER_NAME_MAX + 1];
  role role;
  int disabled;
} user_record;

/* Makes the users what the log says (docs/security.md T6): a user whose
 * role differs from their user.created event's is an edit of the database:
 * VIGIL_ECORRUPT with a sentence in err, and nothing changes. Otherwise a
 * user the log does not know (a row written before its event, which a crash
 * kept from the log, or one inserted by hand) is forgotten, and one whose
 * disabled state differs takes the log's; note(ud, sentence) tells each. */
int vigil__users_reconcile(users *u, const user_record *log, size_t n, void (*note)(void *ud, const char *sentence),
                           void *ud, char *err, size_t errlen);

/* Credential digests (docs/security.md U2): with the store's credential
 * key set (vigil_audit_credential_key), the events that set a password or
 * start a session carry a keyed digest of the row, which vigil audit
 * verify and vigil serve's start check the rows against. */
void vigil__users_set_key(users *u, const unsigned char key[32]);
/* The digest of name's password hash as hex (hash_digest); -1 without a key or user. */
int vigil__users_hash_digest(const users *u, const char *name, char out[65]);
/* The digest of the session of token, its row and owner (session_digest); -1 without a key or session. */
int vigil__users_session_digest(const users *u, const char *token, char out[65]);
/* Ends the session of row (its key) by expires_ms at the latest: the
 * expiry its events allow (vigil_audit_sessions, docs/security.md V3), not
 * the row's alone. API tokens (no expiry) are left alone. */
void vigil__users_session_limit(users *u, const char *row, int64_t expires_ms);
/* Ends every session and API token, each row at once (the credential key was
 * just made: rows from before it have no event to be checked against). */
int vigil__users_end_all_sessions(users *u, char *err, size_t errlen);

/* The MAC of a device cookie (docs/security.md U3) naming user name, rest
 * its expiry and nonce: under the credential key, or a key of this run
 * without one. Hex. */
void vigil__users_device_mac(const users *u, const char *name, const char *rest, char out[65]);

#endif
