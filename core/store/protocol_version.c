/* protocol_version.c: a protocol version by name, from a folder or a store
 * (the store's rows read by store_sqlite.c, as the engine reads them). */
#include "store/protocol_version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "store_sqlite.h"

static void problem(problem_fn fn, void *ud, const char *where, const char *fmt, const char *arg) {
  char msg[1024];
  snprintf(msg, sizeof msg, fmt, arg);
  fn(ud, where, msg);
}

/* From the store's protocols table, read-only (as the audit reads it: also
 * while a server has the file open), through the SQLite store's reader. */
static protocol *load_stored(const char *db_path, const char *name, problem_fn fn, void *ud) {
  char *dir, err[1024];
  source_file *files;
  uint32_t n;
  if (vigil__sqlite_find_protocol(db_path, name, &dir, &files, &n, err, sizeof err) < 0) {
    fn(ud, db_path, err);
    return NULL;
  }
  /* vigil__protocol_load_stored takes the files, also when it fails. */
  protocol *p = vigil__protocol_load_stored(dir, files, n, 0, 0, fn, ud);
  free(dir);
  return p;
}

/* An upload waiting for approval: vigil serve keeps it as the folder
 * protocol_uploads/<id@version> beside the database (server/api_protocols.c). */
void vigil__protocol_uploads_dir(const char *db, char *out, size_t n) {
  if (vigil__store_is_pg(db)) db = "var/vigil";
  const char *slash = strrchr(db, '/');
  if (slash)
    snprintf(out, n, "%.*s/protocol_uploads", (int)(slash - db), db);
  else
    snprintf(out, n, "protocol_uploads");
}

static int upload_folder(const char *db, const char *ref, char *out, size_t n) {
  if (strchr(ref, '/') || strstr(ref, "..") || !strchr(ref, '@')) return 0;
  char dir[4096];
  vigil__protocol_uploads_dir(db, dir, sizeof dir);
  int len = snprintf(out, n, "%s/%s", dir, ref);
  struct stat sb;
  return len > 0 && (size_t)len < n && stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
}

protocol *vigil__protocol_version_load(const char *what, const char *db, problem_fn fn, void *ud) {
  struct stat sb;
  char upload[4096];
  if (stat(what, &sb) == 0) return vigil__protocol_load(what, 0, 0, fn, ud);
  if (db && upload_folder(db, what, upload, sizeof upload)) return vigil__protocol_load(upload, 0, 0, fn, ud);
  if (db) return load_stored(db, what, fn, ud);
  problem(fn, ud, what, "no such protocol folder or file (a stored version needs --db %s)", "DB");
  return NULL;
}
