/* faulty_vfs.c: the "faulty" SQLite VFS (see faulty_vfs.h).
 *
 * A shim in the usual SQLite way: our sqlite3_file holds the real VFS's file
 * right after itself, every method passes through, and xWrite and xSync
 * count their calls and fail the one they are told to. Every file SQLite
 * opens through it counts: the database, its WAL, journals. */
#include "faulty_vfs.h"

#include <sqlite3.h>
#include <string.h>

typedef struct faulty_file {
  sqlite3_file base;
  sqlite3_file *real; /* follows this struct in the same allocation */
  faulty_files kind;  /* FAULTY_DB_FILE, FAULTY_WAL_FILE, or FAULTY_ANY_FILE for the others */
} faulty_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs faulty_vfs;

static struct {
  int armed;
  faulty_files files;
  faulty_op op;
  int nth, err, sticky;
  int writes, syncs, failures;
  int tripped; /* the nth call happened (sticky: fail every call after it) */
} fault;

void faulty_vfs_arm(faulty_op op, int nth, int err, int sticky) {
  faulty_vfs_arm_on(FAULTY_ANY_FILE, op, nth, err, sticky);
}

void faulty_vfs_arm_on(faulty_files files, faulty_op op, int nth, int err, int sticky) {
  memset(&fault, 0, sizeof fault);
  fault.armed = 1;
  fault.files = files;
  fault.op = op;
  fault.nth = nth < 1 ? 1 : nth;
  fault.err = err;
  fault.sticky = sticky;
}

void faulty_vfs_clear(void) { memset(&fault, 0, sizeof fault); }
int faulty_vfs_writes(void) { return fault.writes; }
int faulty_vfs_syncs(void) { return fault.syncs; }
int faulty_vfs_failures(void) { return fault.failures; }

/* Counts one call of op on f; its error if it is to fail, else SQLITE_OK. */
static int should_fail(sqlite3_file *f, faulty_op op) {
  if (fault.files != FAULTY_ANY_FILE && ((faulty_file *)f)->kind != fault.files) return SQLITE_OK;
  int n = op == FAULTY_WRITE ? ++fault.writes : ++fault.syncs;
  if (!fault.armed || fault.op != op) return SQLITE_OK;
  if (n == fault.nth || (fault.sticky && n > fault.nth)) {
    fault.tripped = 1;
    fault.failures++;
    return fault.err;
  }
  return SQLITE_OK;
}

#define REAL(f) (((faulty_file *)(f))->real)

static int f_close(sqlite3_file *f) {
  sqlite3_file *r = REAL(f);
  int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
  f->pMethods = NULL;
  return rc;
}
static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
  return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
  int rc = should_fail(f, FAULTY_WRITE);
  return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size) { return REAL(f)->pMethods->xTruncate(REAL(f), size); }
static int f_sync(sqlite3_file *f, int flags) {
  int rc = should_fail(f, FAULTY_SYNC);
  return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size) { return REAL(f)->pMethods->xFileSize(REAL(f), size); }
static int f_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int f_check(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int f_control(sqlite3_file *f, int op, void *arg) { return REAL(f)->pMethods->xFileControl(REAL(f), op, arg); }
static int f_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_device(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int f_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int f_shm_lock(sqlite3_file *f, int off, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void f_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
  return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
  return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/* One table per version the real file offers, so SQLite sees the same
 * capabilities (WAL needs version 2's shared memory). */
static sqlite3_io_methods methods[4];

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
  faulty_file *ff = (faulty_file *)f;
  ff->real = (sqlite3_file *)(ff + 1);
  memset(ff->real, 0, (size_t)real_vfs->szOsFile);
  ff->kind = flags & SQLITE_OPEN_MAIN_DB ? FAULTY_DB_FILE : flags & SQLITE_OPEN_WAL ? FAULTY_WAL_FILE : FAULTY_ANY_FILE;
  f->pMethods = NULL;
  int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
  if (ff->real->pMethods) {
    int v = ff->real->pMethods->iVersion;
    f->pMethods = &methods[v < 1 ? 1 : v > 3 ? 3 : v];
  }
  return rc;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync) { return real_vfs->xDelete(real_vfs, name, sync); }
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int v_full(sqlite3_vfs *v, const char *name, int n, char *out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *name) { return real_vfs->xDlOpen(real_vfs, name); }
static void v_dlerror(sqlite3_vfs *v, int n, char *msg) { real_vfs->xDlError(real_vfs, n, msg); }
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) { return real_vfs->xDlSym(real_vfs, h, sym); }
static void v_dlclose(sqlite3_vfs *v, void *h) { real_vfs->xDlClose(real_vfs, h); }
static int v_random(sqlite3_vfs *v, int n, char *out) { return real_vfs->xRandomness(real_vfs, n, out); }
static int v_sleep(sqlite3_vfs *v, int us) { return real_vfs->xSleep(real_vfs, us); }
static int v_time(sqlite3_vfs *v, double *out) { return real_vfs->xCurrentTime(real_vfs, out); }
static int v_lasterror(sqlite3_vfs *v, int n, char *msg) {
  return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, msg) : 0;
}
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out) { return real_vfs->xCurrentTimeInt64(real_vfs, out); }

int faulty_vfs_register(void) {
  if (real_vfs) return SQLITE_OK;
  sqlite3_initialize();
  sqlite3_vfs *r = sqlite3_vfs_find(NULL);
  if (!r) return SQLITE_ERROR;
  for (int v = 1; v <= 3; v++) {
    sqlite3_io_methods *m = &methods[v];
    m->iVersion = v;
    m->xClose = f_close;
    m->xRead = f_read;
    m->xWrite = f_write;
    m->xTruncate = f_truncate;
    m->xSync = f_sync;
    m->xFileSize = f_size;
    m->xLock = f_lock;
    m->xUnlock = f_unlock;
    m->xCheckReservedLock = f_check;
    m->xFileControl = f_control;
    m->xSectorSize = f_sector;
    m->xDeviceCharacteristics = f_device;
    if (v >= 2) {
      m->xShmMap = f_shm_map;
      m->xShmLock = f_shm_lock;
      m->xShmBarrier = f_shm_barrier;
      m->xShmUnmap = f_shm_unmap;
    }
    if (v >= 3) {
      m->xFetch = f_fetch;
      m->xUnfetch = f_unfetch;
    }
  }
  faulty_vfs = (sqlite3_vfs){
      .iVersion = 2,
      .szOsFile = (int)sizeof(faulty_file) + r->szOsFile,
      .mxPathname = r->mxPathname,
      .zName = FAULTY_VFS_NAME,
      .xOpen = f_open,
      .xDelete = v_delete,
      .xAccess = v_access,
      .xFullPathname = v_full,
      .xDlOpen = v_dlopen,
      .xDlError = v_dlerror,
      .xDlSym = v_dlsym,
      .xDlClose = v_dlclose,
      .xRandomness = v_random,
      .xSleep = v_sleep,
      .xCurrentTime = v_time,
      .xGetLastError = v_lasterror,
      .xCurrentTimeInt64 = v_time64,
  };
  real_vfs = r;
  int rc = sqlite3_vfs_register(&faulty_vfs, 0);
  if (rc != SQLITE_OK) real_vfs = NULL;
  return rc;
}
