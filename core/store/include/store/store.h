/* store.h: where events become durable.
 *
 * The engine talks to its store only through this table of functions, so a
 * PostgreSQL store could be added without touching anything above it. Three
 * stores exist: store_memory.c (events kept in RAM, for simulations and the
 * in-memory benchmark), store_sqlite.c (one SQLite file per site) and
 * store_pg.c (one PostgreSQL database for many sites and vigil nodes, each
 * store one site's log in it). */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "lang/protocol.h"
#include "store/event.h"
#include "vigil/vigil.h"

typedef struct store store;

/* Called for each stored event in order; non-zero stops the scan. The event
 * is the store's: valid only during the call. */
typedef int (*store_event_fn)(void *ud, const vigil_event *ev);

/* Called for each key of a namespace; non-zero stops the scan. */
typedef int (*store_kv_fn)(void *ud, const char *key, const void *value, size_t len);

typedef struct store_ops {
  /* Makes events durable, all or none, in one transaction. 0, or a negative
   * VIGIL_E* code with a sentence in err. */
  int (*append)(store *s, vigil_event *const *evs, size_t n, char *err, size_t errlen);
  /* Every event with seq > after (of one visit, when visit != 0), in order. */
  int (*scan)(store *s, uint64_t after, uint64_t visit, store_event_fn fn, void *ud, char *err, size_t errlen);
  /* Keeps a protocol version's sources, once (idempotent). */
  int (*put_protocol)(store *s, const protocol *p, char *err, size_t errlen);
  /* The sources of the version with this fingerprint; the caller frees them
   * with vigil__source_files_free (protocol.h). */
  int (*get_protocol)(store *s, const char *sha256, char **dir, source_file **files, uint32_t *n, char *err,
                      size_t errlen);
  /* Every event of the visits that are neither discharged nor aborted, in
   * order: what recovery folds. */
  int (*scan_open)(store *s, store_event_fn fn, void *ud, char *err, size_t errlen);
  /* What the log holds: last seq, visits and alerts so far, and whether the
   * previous run stopped without closing the store. */
  int (*summary)(store *s, uint64_t *last_seq, uint64_t *visits, uint64_t *alerts, int *unclean, char *err,
                 size_t errlen);
  void (*close)(store *s);

  /* A small durable key-value table beside the log, for what is not an event:
   * users and sessions (server/users.c), plugins' cursors and dead letters.
   * Namespaces keep owners apart ("user", "session", "plugin.webhook").
   * kv_put is its own transaction, durable on return; value NULL deletes. A
   * row that changes with an event (a user's, a session's) is written by
   * append instead, in the event's transaction (vigil_event's kv). */
  int (*kv_put)(store *s, const char *ns, const char *key, const void *value, size_t len, char *err, size_t errlen);
  /* A malloc'd copy of the value (NUL-terminated beyond len), or VIGIL_ENOENT. */
  int (*kv_get)(store *s, const char *ns, const char *key, void **value, size_t *len, char *err, size_t errlen);
  /* Every key of ns in key order; non-zero from fn stops the scan. */
  int (*kv_scan)(store *s, const char *ns, store_kv_fn fn, void *ud, char *err, size_t errlen);

  /* Every course event (type "course.*", and "alert.*" of a course alert;
   * site events: visit 0), in order:
   * what the engine folds into its patients' courses at start and after an
   * undo (core/engine/course.c). */
  int (*scan_courses)(store *s, store_event_fn fn, void *ud, char *err, size_t errlen);
} store_ops;

struct store {
  const store_ops *ops;
  /* The memory store, which keeps its copies of the engine's events in RAM
   * and numbers none itself: a site event appended without an engine
   * (vigil__store_site_event_writes, engine/site.h) goes to a database. Every store copies what it is given: the engine
   * frees its own events once they are published. */
  int keeps_events;
};

store *vigil__store_memory_open(void);
/* Opens (and creates, and migrates) the database at path. NULL on failure,
 * with the code in *rc and one sentence in err. vfs: a SQLite VFS name for
 * fault-injection tests, or NULL. */
/* The schema version this vigil writes (PRAGMA user_version); a file with a
 * higher one is refused. */
#define STORE_SQLITE_SCHEMA 2
store *vigil__store_sqlite_open(const char *path, const char *vfs, int *rc, char *err, size_t errlen);
/* The same file for reading only, beside a running engine: one moment of
 * the log, nothing written (appends fail). */
store *vigil__store_sqlite_read(const char *path, const char *vfs, int *rc, char *err, size_t errlen);
/* The file of a SQLite store (borrowed, for the store's life), NULL for the
 * other stores. */
const char *vigil__store_sqlite_file(const store *s);
/* Called with each row's seq and canonical JSON (the event as
 * vigil__event_to_json wrote it); non-zero stops the read. */
typedef int (*store_row_fn)(void *ud, uint64_t seq, const char *json, size_t len);
/* The events with seq <= upto of one visit (visit != 0), or (visit 0) of one
 * type, in order, read from the SQLite file at path on a read-only
 * connection of its own: no engine, no store handle, nothing interned, so
 * on any thread beside a running engine (a server's export off its loop,
 * docs/security.md AT3). Events up to a durable seq never change, so what
 * is read is one moment of the log. 0, or VIGIL_EIO with a sentence in err. */
int vigil__sqlite_read_rows(const char *path, uint64_t visit, const char *type, uint64_t upto, store_row_fn fn,
                            void *ud, char *err, size_t errlen);
/* PostgreSQL: the schema version this vigil writes (table vigil_schema). */
#define STORE_PG_SCHEMA 2
/* Whether uri is a PostgreSQL connection URI (postgresql://, postgres://). */
int vigil__store_is_pg(const char *uri);
/* Which site of a shared (PostgreSQL) store, and as which node. */
typedef struct store_site {
  const char *site; /* NULL or "": "default" */
  /* The node that claims the site's lease (NULL: none: one node, as with
   * SQLite), the URL where it answers, and the lease's length (ms). */
  const char *node, *advertise;
  int64_t lease_ms;
  int64_t max_offset_ms; /* the most the node's clock may be off the database's (0: 2000) */
} store_site;
/* Opens (and migrates) a site's log in the PostgreSQL database at uri
 * (libpq's URI; several hosts allowed). A writer claims the site first: its
 * lease row takes a new epoch, and every append is fenced by it (a store
 * whose site was claimed since writes nothing: VIGIL_EBUSY). A site whose
 * lease another node holds and has not let expire is refused (VIGIL_EBUSY,
 * naming the owner). read_only: a reader beside running nodes, one moment
 * of the log, no claim. NULL on failure, with the code in *rc and one
 * sentence in err. */
store *vigil__store_pg_open(const char *uri, const store_site *where, int read_only, int *rc, char *err, size_t errlen);
/* A SQLite path or a PostgreSQL URI, as vigil serve --store takes it:
 * vigil__store_sqlite_open/_read or vigil__store_pg_open. */
store *vigil__store_open(const char *where, const store_site *site, const char *vfs, int read_only, int *rc, char *err,
                         size_t errlen);
/* vigil audit verify of a PostgreSQL database (every site): with chains,
 * each site's hash chain (a gapless seq from 1, each row chained to the one
 * before, its hash that of its body) up to the site's head, and its visits'
 * table against its log, and whether each user is disabled as the log says;
 * always the users' rows against the user.created events of every site
 * (docs/security.md T6) and each folder of uploads_dir (may be NULL)
 * against the protocol.uploaded events (Y1). One moment of the
 * database (a read-only transaction) while the nodes go on writing. 0 with a
 * summary in msg and the events checked in *events; VIGIL_ECORRUPT with the
 * first difference in msg, its site (or "") in bad_site and its event (or
 * 0) in *bad_seq; another negative code when the database cannot be read. */
int vigil__store_pg_verify(const char *uri, const char *uploads_dir, int chains, uint64_t *events, char *bad_site,
                           size_t bad_len, uint64_t *bad_seq, char *msg, size_t msglen);
/* Renews the lease of a store opened with a node: 0, VIGIL_EBUSY when the
 * site was taken (the store is fenced from then on), or VIGIL_EIO when
 * PostgreSQL cannot be reached. 0 for a store without a lease. */
int vigil__store_renew(store *s, char *err, size_t errlen);
/* Every site's lease as JSON: [{site, owner, advertise, epoch, lease_ms
 * (left, by the database's clock; negative: expired), head_seq}], malloc'd;
 * NULL for a store without sites. */
char *vigil__store_sites_json(store *s, char *err, size_t errlen);
/* The advertised URL of the node that owns site (malloc'd), or NULL: when
 * no live node owns it, or (*known set to 0) when the database has no such
 * site. */
char *vigil__store_site_owner(store *s, const char *site, int *known);
/* Self-fencing: from now on the store refuses every append and renewal
 * (VIGIL_EBUSY), so nothing more of its site becomes durable, and so no
 * subscriber or hook hears of anything. Callable from any thread (the
 * lease's watchdog); a store without a lease ignores it. */
void vigil__store_fence(store *s);
/* Appends and renewals refused because the site was taken or fenced. */
uint64_t vigil__store_fence_refusals(store *s);
/* Creates site in the PostgreSQL database uri (migrated first) unless it
 * is there: *created 1 or 0. 0, or a negative code with err. A node claims
 * only sites that exist (docs/deploy.md). */
int vigil__store_pg_add_site(const char *uri, const char *site, int *created, char *err, size_t errlen);
/* The node's wall clock less the database's at the last claim or renewal
 * (ms; 0 for other stores), as the lease's checks measured it. */
int64_t vigil__store_clock_offset(store *s);
/* The SQLite store's row hash: hex SHA-256 of the previous row's hash (hex,
 * "" for the first row) followed by the row's body. audit.c checks it. A
 * hasher is made once and used for row after row (vigil__row_hash.c); vigil__row_hash
 * returns 0, or -1 (out empty) if the digest failed. vigil__store_row_hash is the
 * same for one row, without a hasher to keep. */
typedef struct row_hasher row_hasher;
row_hasher *vigil__row_hasher_new(void);
void vigil__row_hasher_free(row_hasher *h);
int vigil__row_hash(row_hasher *h, const char *prev, const char *body, size_t len, char out[65]);
void vigil__store_row_hash(const char *prev, const char *body, size_t len, char out[65]);

#endif
