/* protocol_version.c: a protocol version by name, from a folder or a store. */
#include "lang/protocol_version.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void problem(problem_fn fn, void *ud, const char *where, const char *fmt, const char *arg) {
  char msg[1024];
  snprintf(msg, sizeof msg, fmt, arg);
  fn(ud, where, msg);
}

/* From the store's protocols table, read-only (as the audit reads it: also
 * while a server has the file open). */
static protocol *load_stored(const char *db_path, const char *name, problem_fn fn, void *ud) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  protocol *p = NULL;
  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "SELECT dir, files FROM protocols WHERE ref = ?1 OR sha256 = ?1 "
                         "ORDER BY stored_at DESC LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK) {
    problem(fn, ud, db_path, "cannot read the stored protocols: %s", db ? sqlite3_errmsg(db) : "out of memory");
    goto out;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    problem(fn, ud, db_path, "no stored protocol version %s", name);
    goto out;
  }
  json_t *files = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
  size_t n = json_array_size(files), i;
  source_file *sf = calloc(n ? n : 1, sizeof *sf);
  json_t *f;
  int ok = sf != NULL && n > 0;
  json_array_foreach(files, i, f) {
    const char *path = json_string_value(json_object_get(f, "path"));
    const char *text = json_string_value(json_object_get(f, "text"));
    if (!ok || !path || !text || !(sf[i].path = strdup(path)) || !(sf[i].text = strdup(text))) {
      ok = 0;
      break;
    }
    sf[i].len = strlen(text);
  }
  json_decref(files);
  if (ok) {
    /* vigil__protocol_load_stored takes the files, also when it fails. */
    p = vigil__protocol_load_stored((const char *)sqlite3_column_text(st, 0), sf, (uint32_t)n, 0, 0, fn, ud);
  } else {
    if (sf) vigil__source_files_free(sf, (uint32_t)n);
    problem(fn, ud, db_path, "the stored sources of %s cannot be read", name);
  }
out:
  sqlite3_finalize(st);
  sqlite3_close(db);
  return p;
}

/* An upload waiting for approval: vigil serve keeps it as the folder
 * protocol_uploads/<id@version> beside the database (server/api_protocols.c). */
void vigil__protocol_uploads_dir(const char *db, char *out, size_t n) {
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
