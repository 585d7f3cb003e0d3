/* db_check.h: what the crash and fault tests check in a vigil database file,
 * read with plain SQLite (read-only, default VFS), never through the engine:
 *
 *   - PRAGMA integrity_check is "ok";
 *   - the events' seqs are 1, 2, 3, ... without a gap;
 *   - the hash chain holds: each row's prev is the hash of the row before it
 *     ("" for the first) and its hash is vigil__store_row_hash(prev, body);
 *   - the store's own bookkeeping agrees with the log: meta head_seq and
 *     head_hash name the last row, meta alerts the highest alert id raised,
 *     and the visits table has one row per visit.started, closed exactly
 *     when a visit.discharged or visit.aborted is in the log (it is written
 *     in the same transaction as the events, so it shows a torn commit). */
#ifndef VIGIL_TESTS_DB_CHECK_H
#define VIGIL_TESTS_DB_CHECK_H

#include <stdint.h>

typedef struct db_report {
  uint64_t rows; /* rows checked (those after `after`) */
  uint64_t last_seq;
  int64_t max_time; /* latest event time in the whole log, ms; 0 without events */
  char last_hash[65];
  char error[1024]; /* why db_check failed */
} db_report;

/* Called for every row with seq > after, in order; non-zero stops the check
 * with that result (set r->error). */
typedef int (*db_row_fn)(void *ud, uint64_t seq, int64_t time, uint64_t visit, const char *type, const char *body,
                         db_report *r);

#define DB_CHECK_NO_INTEGRITY 1 /* skip PRAGMA integrity_check (it reads the whole file) */

#define DB_CHECK_HOT_JOURNAL (-2) /* a rollback journal needs a writer first (see db_check.c) */

/* Checks the file at path. The hash chain is recomputed for the rows after
 * `after` (0: every row), starting from after_hash, which must be the stored
 * hash of row `after` (NULL or "" for after == 0), and the bookkeeping is
 * checked for the visits and alerts of those rows: a run that checked up to
 * some row can go on from there. 0 if all holds, else -1 (or
 * DB_CHECK_HOT_JOURNAL) with r->error. */
int db_check(const char *path, uint64_t after, const char *after_hash, int flags, db_row_fn fn, void *ud, db_report *r);

#endif
