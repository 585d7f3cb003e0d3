/* protocol_version.h: a protocol version by name, from a folder, from the
 * uploads a server keeps beside its store, or from the versions the store
 * keeps (every version a visit ever started on). */
#ifndef VIGIL_PROTOCOL_VERSION_H
#define VIGIL_PROTOCOL_VERSION_H

#include "lang/protocol.h"

/* Loads `what`: a protocol folder or file when one exists at that path;
 * otherwise, with db (a store file, read-only), an upload waiting for
 * approval beside it (protocol_uploads/<id@version>, as vigil serve keeps
 * them), else the newest stored version whose ref ("id@version") or sha256
 * is `what`. Problems go to fn, as
 * vigil__protocol_load reports them; NULL if it cannot be loaded. */
protocol *vigil__protocol_version_load(const char *what, const char *db, problem_fn fn, void *ud);

/* Where a server keeps uploaded versions: protocol_uploads beside the
 * database db; for a PostgreSQL store (db a URI: no file to be beside),
 * var/protocol_uploads under the working directory, where vigil serve keeps
 * its state then (cli/serve.c), and where vigil audit verify and
 * vigil_audit_verify look for them. */
void vigil__protocol_uploads_dir(const char *db, char *out, size_t n);

#endif
