/* measure.h: what the benchmarks measure with (time, CPU, memory, latency
 * percentiles), where they put their databases (a temporary folder, removed
 * afterwards), and a SQLite VFS that counts what reaches the disk. */
#ifndef VIGIL_BENCH_MEASURE_H
#define VIGIL_BENCH_MEASURE_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic seconds, and user + sys CPU seconds of the process. */
double bench_seconds(void);
double bench_cpu_seconds(void);
/* Peak resident set (ru_maxrss, what /usr/bin/time -v shows), KiB. */
long bench_peak_rss_kib(void);
/* Resident set now (/proc/self/statm), bytes; -1 if unknown. */
int64_t bench_rss_bytes(void);

/* Latency samples, in seconds; percentiles by sorting (p in 0..100). */
typedef struct bench_samples {
  double *v;
  size_t n, cap;
} bench_samples;
int bench_samples_add(bench_samples *s, double x);
double bench_samples_pct(bench_samples *s, double p); /* 0 when empty */
void bench_samples_free(bench_samples *s);

/* A new folder under parent (NULL: $TMPDIR or /tmp), made with mkdtemp;
 * malloc'd path, or NULL with errno. */
char *bench_tempdir(const char *parent);
/* Removes the folder and everything in it. */
int bench_rmtree(const char *dir);
/* Size of a file in bytes, 0 if it does not exist. */
int64_t bench_file_bytes(const char *path);

/* ---- the counting VFS ------------------------------------------------------
 * A shim over SQLite's default VFS ("unix") that forwards every call and
 * counts, per kind of file, the xSync calls (each one an fdatasync or fsync
 * of that file in the unix VFS) and the transactions committed: in WAL mode
 * a commit is the WAL frame whose header carries the database size (bytes
 * 4-7 of the 24-byte frame header, written by itself before its page). Give
 * BENCH_VFS as vigil_options.db_vfs or to sqlite3_open_v2. */
#define BENCH_VFS "vigil-bench-count"

typedef struct bench_io {
  uint64_t syncs_wal, syncs_db, syncs_other; /* xSync calls */
  uint64_t commits;                          /* WAL commit frames */
  uint64_t frames;                           /* WAL frames (pages) written */
  uint64_t bytes_written;                    /* all files */
} bench_io;

/* Registers BENCH_VFS once (not as the default); 0 or a SQLite error code. */
int bench_vfs_register(void);
void bench_vfs_counts(bench_io *out);
/* b - a, field by field. */
bench_io bench_io_diff(const bench_io *b, const bench_io *a);
static inline uint64_t bench_io_syncs(const bench_io *x) { return x->syncs_wal + x->syncs_db + x->syncs_other; }

#endif
