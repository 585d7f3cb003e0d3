/* store_sqlite.h: what store_sqlite.c offers the other files of core/store
 * besides its store_ops (private to core/store). */
#ifndef VIGIL_STORE_SQLITE_H
#define VIGIL_STORE_SQLITE_H

#include <stddef.h>
#include <stdint.h>

#include "lang/protocol.h"

/* The newest stored version whose ref ("id@version") or sha256 is name, read
 * from the SQLite store at path opened read-only (also while a server has it
 * open), as sq_get_protocol reads one: its folder in *dir and its sources in
 * *files (vigil__source_files_free) of *n files. 0; VIGIL_ENOENT ("no stored
 * protocol version NAME"); or another VIGIL_E* code, with why in err. */
int vigil__sqlite_find_protocol(const char *path, const char *name, char **dir, source_file **files, uint32_t *n,
                                char *err, size_t errlen);

#endif
