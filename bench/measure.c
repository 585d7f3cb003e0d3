/* measure.c: see measure.h. */
#include "measure.h"

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- time, CPU, memory ------------------------------------------------------ */

double bench_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double bench_cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long bench_peak_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss; /* KiB on Linux */
}

int64_t bench_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = -1;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
  }
  return resident < 0 ? -1 : (int64_t)resident * sysconf(_SC_PAGESIZE);
}

/* ---- latency samples ----------------------------------------------------------- */

int bench_samples_add(bench_samples *s, double x) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    double *v = realloc(s->v, cap * sizeof *v);
    if (!v) return -1;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = x;
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_samples_pct(bench_samples *s, double p) {
  if (s->n == 0) return 0;
  qsort(s->v, s->n, sizeof *s->v, cmp_double); /* already sorted after the first call: cheap */
  size_t i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
  return s->v[i < s->n ? i : s->n - 1];
}

void bench_samples_free(bench_samples *s) {
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

/* ---- temporary folders ------------------------------------------------------- */

char *bench_tempdir(const char *parent) {
  if (!parent) parent = getenv("TMPDIR");
  if (!parent || !*parent) parent = "/tmp";
  size_t len = strlen(parent) + sizeof "/vigil-bench-XXXXXX";
  char *path = malloc(len);
  if (!path) return NULL;
  snprintf(path, len, "%s/vigil-bench-XXXXXX", parent);
  if (!mkdtemp(path)) {
    int saved = errno;
    free(path);
    errno = saved;
    return NULL;
  }
  return path;
}

int bench_rmtree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int rc = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
      rc |= bench_rmtree(path);
    else
      rc |= unlink(path);
  }
  closedir(d);
  return rmdir(dir) < 0 || rc ? -1 : 0;
}

int64_t bench_file_bytes(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* ---- the counting VFS ---------------------------------------------------------- */

enum { KIND_DB, KIND_WAL, KIND_OTHER };

typedef struct count_file {
  sqlite3_file base;
  sqlite3_file *real; /* the unix VFS's file, right after this struct */
  int kind;
  sqlite3_int64 last_off; /* the last valid frame header written, to count it once */
  unsigned char last_salt[8];
} count_file;

static sqlite3_vfs *real_vfs;
static bench_io io;

#define REAL(f) (((count_file *)(f))->real)

static int cf_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int cf_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
  return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int cf_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
  count_file *cf = (count_file *)f;
  io.bytes_written += (uint64_t)n;
  /* A WAL frame header is written alone, 24 bytes, before its page; its
   * second word is the database size in pages on a commit frame, else 0;
   * then come the salts (bytes 8-15, new at every restart of the WAL) and
   * the checksums. SQLite may write a commit frame's header first with
   * zero salts (not yet valid) and then again, complete: a commit is
   * counted once, when valid, per offset and salts. */
  static const unsigned char zero[8];
  if (cf->kind == KIND_WAL && n == 24 && off >= 32) {
    const unsigned char *h = p;
    int valid = memcmp(h + 8, zero, 8) != 0;
    int again = off == cf->last_off && memcmp(h + 8, cf->last_salt, 8) == 0;
    if (valid && !again) {
      io.frames++;
      if (h[4] | h[5] | h[6] | h[7]) io.commits++;
    }
    if (valid) {
      cf->last_off = off;
      memcpy(cf->last_salt, h + 8, 8);
    }
  }
  return cf->real->pMethods->xWrite(cf->real, p, n, off);
}
static int cf_truncate(sqlite3_file *f, sqlite3_int64 size) { return REAL(f)->pMethods->xTruncate(REAL(f), size); }
static int cf_sync(sqlite3_file *f, int flags) {
  count_file *cf = (count_file *)f;
  if (cf->kind == KIND_WAL)
    io.syncs_wal++;
  else if (cf->kind == KIND_DB)
    io.syncs_db++;
  else
    io.syncs_other++;
  return cf->real->pMethods->xSync(cf->real, flags);
}
static int cf_file_size(sqlite3_file *f, sqlite3_int64 *size) { return REAL(f)->pMethods->xFileSize(REAL(f), size); }
static int cf_lock(sqlite3_file *f, int lock) { return REAL(f)->pMethods->xLock(REAL(f), lock); }
static int cf_unlock(sqlite3_file *f, int lock) { return REAL(f)->pMethods->xUnlock(REAL(f), lock); }
static int cf_check_reserved(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int cf_file_control(sqlite3_file *f, int op, void *arg) {
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int cf_sector_size(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int cf_device_characteristics(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int cf_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
  return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}
static int cf_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void cf_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int cf_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int cf_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out) {
  return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}
static int cf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
  return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods count_methods = {
    3,
    cf_close,
    cf_read,
    cf_write,
    cf_truncate,
    cf_sync,
    cf_file_size,
    cf_lock,
    cf_unlock,
    cf_check_reserved,
    cf_file_control,
    cf_sector_size,
    cf_device_characteristics,
    cf_shm_map,
    cf_shm_lock,
    cf_shm_barrier,
    cf_shm_unmap,
    cf_fetch,
    cf_unfetch,
};

static int cv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
  (void)vfs;
  count_file *cf = (count_file *)f;
  cf->real = (sqlite3_file *)(cf + 1);
  cf->last_off = 0;
  memset(cf->last_salt, 0, sizeof cf->last_salt);
  cf->kind = flags & SQLITE_OPEN_WAL ? KIND_WAL : flags & SQLITE_OPEN_MAIN_DB ? KIND_DB : KIND_OTHER;
  int rc = real_vfs->xOpen(real_vfs, name, cf->real, flags, out_flags);
  /* SQLite calls xClose only when pMethods is set. */
  cf->base.pMethods = cf->real->pMethods ? &count_methods : NULL;
  return rc;
}
static int cv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
  (void)vfs;
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
static int cv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  (void)vfs;
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int cv_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  (void)vfs;
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static void *cv_dl_open(sqlite3_vfs *vfs, const char *name) {
  (void)vfs;
  return real_vfs->xDlOpen(real_vfs, name);
}
static void cv_dl_error(sqlite3_vfs *vfs, int n, char *msg) {
  (void)vfs;
  real_vfs->xDlError(real_vfs, n, msg);
}
static void (*cv_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void) {
  (void)vfs;
  return real_vfs->xDlSym(real_vfs, h, sym);
}
static void cv_dl_close(sqlite3_vfs *vfs, void *h) {
  (void)vfs;
  real_vfs->xDlClose(real_vfs, h);
}
static int cv_randomness(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  return real_vfs->xRandomness(real_vfs, n, out);
}
static int cv_sleep(sqlite3_vfs *vfs, int us) {
  (void)vfs;
  return real_vfs->xSleep(real_vfs, us);
}
static int cv_current_time(sqlite3_vfs *vfs, double *out) {
  (void)vfs;
  return real_vfs->xCurrentTime(real_vfs, out);
}
static int cv_get_last_error(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  return real_vfs->xGetLastError(real_vfs, n, out);
}
static int cv_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
  (void)vfs;
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static sqlite3_vfs count_vfs;

int bench_vfs_register(void) {
  if (real_vfs) return SQLITE_OK;
  sqlite3_vfs *base = sqlite3_vfs_find(NULL);
  if (!base) return SQLITE_ERROR;
  if (base->iVersion < 2 || !base->xCurrentTimeInt64) return SQLITE_ERROR;
  count_vfs = (sqlite3_vfs){
      .iVersion = 2,
      .szOsFile = (int)sizeof(count_file) + base->szOsFile,
      .mxPathname = base->mxPathname,
      .zName = BENCH_VFS,
      .xOpen = cv_open,
      .xDelete = cv_delete,
      .xAccess = cv_access,
      .xFullPathname = cv_full_pathname,
      .xDlOpen = cv_dl_open,
      .xDlError = cv_dl_error,
      .xDlSym = cv_dl_sym,
      .xDlClose = cv_dl_close,
      .xRandomness = cv_randomness,
      .xSleep = cv_sleep,
      .xCurrentTime = cv_current_time,
      .xGetLastError = cv_get_last_error,
      .xCurrentTimeInt64 = cv_current_time_int64,
  };
  real_vfs = base;
  int rc = sqlite3_vfs_register(&count_vfs, 0);
  if (rc != SQLITE_OK) real_vfs = NULL;
  return rc;
}

void bench_vfs_counts(bench_io *out) { *out = io; }

bench_io bench_io_diff(const bench_io *b, const bench_io *a) {
  return (bench_io){.syncs_wal = b->syncs_wal - a->syncs_wal,
                    .syncs_db = b->syncs_db - a->syncs_db,
                    .syncs_other = b->syncs_other - a->syncs_other,
                    .commits = b->commits - a->commits,
                    .frames = b->frames - a->frames,
                    .bytes_written = b->bytes_written - a->bytes_written};
}
