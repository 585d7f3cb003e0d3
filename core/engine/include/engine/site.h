/* site.h: a site event that carries rows of the store's key-value table.
 * Kept apart from inspect.h so that the server's files can record one
 * without seeing the store's types. */
#ifndef VIGIL_ENGINE_SITE_H
#define VIGIL_ENGINE_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/vigil.h"

struct store;          /* store/store.h */
struct store_kv_write; /* store/event.h */

/* vigil_site_event with the key-value rows the event carries (writes,
 * taken: freed whatever happens): the store writes them in the event's own
 * transaction, so a user's or a session's row is never kept without its
 * event nor the event without it (docs/security.md T6). */
int vigil__site_event_writes(vigil_engine *e, const char *type, const char *actor, const char *fields_json,
                             struct store_kv_write *writes);

/* A key-value row (value NULL: a deletion) written with the events of the
 * open batch, in their transaction: carried by its last pending event, so
 * neither is durable without the other (an Idempotency-Key's answer with its
 * command's events: server/api/idempotency.c). 0, VIGIL_ENOENT when nothing
 * is pending (nothing to write it with), or VIGIL_ENOMEM. */
int vigil__batch_kv_write(vigil_engine *e, const char *ns, const char *key, const void *value, size_t len);

/* Appends one site event (vigil_site_event's types; visit 0) with the
 * key-value rows it carries (taken: freed) after what the store holds, in
 * one transaction, without an engine: for a tool working on the database of
 * a stopped server (vigil user). 0, or a negative code with err. */
int vigil__store_site_event_writes(struct store *s, const char *type, const char *actor, const char *fields_json,
                                   int64_t time_ms, struct store_kv_write *writes, char *err, size_t errlen);

#endif
