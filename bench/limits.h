/* limits.h: SQLite alone, the limit a durable engine is compared with: rows
 * of a given size inserted into a bare table (id INTEGER PRIMARY KEY, body
 * TEXT), WAL + synchronous=FULL, so many rows per BEGIN IMMEDIATE ... COMMIT. */
#ifndef VIGIL_BENCH_LIMITS_H
#define VIGIL_BENCH_LIMITS_H

#include <stdint.h>

#include "measure.h"

typedef struct sqlite_limit {
  uint64_t rows, commits;
  double seconds, cpu_s;
  bench_samples commit_s; /* each transaction, BEGIN to COMMIT done */
  bench_io io;            /* counted by the VFS */
} sqlite_limit;

/* Runs for `seconds` or `max_commits` transactions (0: no bound), whichever
 * comes first, on a new database at path (through BENCH_VFS, registered by
 * the caller), removed afterwards. 0, or -1 with the reason on stderr.
 * Free out->commit_s with bench_samples_free. */
int sqlite_limit_run(const char *path, uint64_t rows_per_commit, uint64_t row_bytes, double seconds,
                     uint64_t max_commits, sqlite_limit *out);

/* Removes a database and its -wal and -shm files. */
void remove_db(const char *path);

#endif
