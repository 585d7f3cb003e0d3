/* rows.h: what the SQLite and PostgreSQL stores keep beside the events, as
 * the same text in both (private to core/store). The events' rows
 * themselves are read by vigil__event_from_row (store/event.h). */
#ifndef VIGIL_STORE_ROWS_H
#define VIGIL_STORE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "lang/protocol.h"
#include "store/event.h"

/* A protocol.approved event's approval row: its value ({ref, by, at_ms})
 * in b and the key, the version's fingerprint, in *sha256. 1; 0 when the
 * event carries no ref or sha256 (not an approval vigil wrote: nothing
 * derives from it); -1 out of memory. */
int vigil__approval_row(buf *b, const struct vigil_event *ev, const char **sha256);

/* A protocol version's sources as the stores keep them: a JSON array of
 * {path, text}, paths relative to its folder. malloc'd, or NULL when out of
 * memory. */
char *vigil__sources_to_json(const protocol *p);
/* Those sources read back, with the folder dir_text: *dir and *out
 * (vigil__source_files_free) of *n files. 0; VIGIL_ENOMEM; or
 * VIGIL_ECORRUPT, "the stored sources of <sha256> cannot be read" in err. */
int vigil__sources_from_json(const char *json, const char *dir_text, const char *sha256, char **dir, source_file **out,
                             uint32_t *n, char *err, size_t errlen);

#endif
