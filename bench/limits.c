/* limits.c: see limits.h. */
#include "limits.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

void remove_db(const char *path) {
  static const char *const suffix[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    char p[4096 + 8];
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    unlink(p);
  }
}

static int sql(sqlite3 *db, const char *q) {
  if (sqlite3_exec(db, q, NULL, NULL, NULL) == SQLITE_OK) return 0;
  fprintf(stderr, "sqlite limit: %s: %s\n", q, sqlite3_errmsg(db));
  return -1;
}

int sqlite_limit_run(const char *path, uint64_t rows_per_commit, uint64_t row_bytes, double seconds,
                     uint64_t max_commits, sqlite_limit *out) {
  memset(out, 0, sizeof *out);
  sqlite3 *db = NULL;
  sqlite3_stmt *ins = NULL;
  char *body = malloc(row_bytes + 1);
  int rc = -1;
  if (!body) return -1;
  /* Hex digits, as the event rows' hashes are; the length is what matters. */
  for (uint64_t i = 0; i < row_bytes; i++)
    body[i] = "0123456789abcdef"[wl_mix32((uint32_t)i) & 15];
  body[row_bytes] = '\0';
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, BENCH_VFS) != SQLITE_OK) {
    fprintf(stderr, "sqlite limit: cannot open %s: %s\n", path, sqlite3_errmsg(db));
    goto done;
  }
  if (sql(db, "PRAGMA journal_mode = WAL") < 0 || sql(db, "PRAGMA synchronous = FULL") < 0 ||
      sql(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)") < 0)
    goto done;
  if (sqlite3_prepare_v2(db, "INSERT INTO t (body) VALUES (?)", -1, &ins, NULL) != SQLITE_OK) {
    fprintf(stderr, "sqlite limit: prepare: %s\n", sqlite3_errmsg(db));
    goto done;
  }
  bench_io io0, io1;
  bench_vfs_counts(&io0);
  double cpu0 = bench_cpu_seconds(), t0 = bench_seconds(), t = t0;
  while (t - t0 < seconds && (!max_commits || out->commits < max_commits)) {
    double s = t;
    if (sql(db, "BEGIN IMMEDIATE") < 0) goto done;
    for (uint64_t i = 0; i < rows_per_commit; i++) {
      sqlite3_reset(ins);
      sqlite3_bind_text(ins, 1, body, (int)row_bytes, SQLITE_STATIC);
      if (sqlite3_step(ins) != SQLITE_DONE) {
        fprintf(stderr, "sqlite limit: insert: %s\n", sqlite3_errmsg(db));
        goto done;
      }
    }
    if (sql(db, "COMMIT") < 0) goto done;
    out->rows += rows_per_commit;
    out->commits++;
    t = bench_seconds();
    bench_samples_add(&out->commit_s, t - s);
  }
  out->seconds = t - t0;
  out->cpu_s = bench_cpu_seconds() - cpu0;
  bench_vfs_counts(&io1);
  out->io = bench_io_diff(&io1, &io0);
  rc = 0;
done:
  sqlite3_finalize(ins);
  sqlite3_close(db);
  remove_db(path);
  free(body);
  return rc;
}
