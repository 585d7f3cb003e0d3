/* protocol_copy.h: a test's own copy of a bundled protocol, with edits, as a
 * clinic would make one (a changed threshold, an added item). Not a test
 * program itself (no test_ prefix): compiled into the tests that use it. */
#ifndef VIGIL_TEST_PROTOCOL_COPY_H
#define VIGIL_TEST_PROTOCOL_COPY_H

#include <stddef.h>

typedef struct protocol_edit {
  const char *file; /* "protocol.lua" */
  const char *from; /* text that must be in the file, once replaced */
  const char *to;
} protocol_edit;

/* An edit whose `from` is PROTOCOL_COPY_VERSION gives the copy a later
 * version than the one it was copied from, whatever that is: protocol.lua's
 * `version = "..."` is replaced by the version with `to` added to it, as in
 * semantic versioning ("+0.0.7": 1.7.14 -> 1.7.21; "+0.1.0": 1.7.14 -> 1.8.0;
 * "+1.0.0": 1.7.14 -> 2.0.0). So bumping a bundled protocol's version needs
 * no test edit. */
#define PROTOCOL_COPY_VERSION "\001version"
#define PROTOCOL_COPY_LATER(bump)                                                                                      \
  { "protocol.lua", PROTOCOL_COPY_VERSION, bump }

/* Copies the *.lua files of folder `from` into a new temporary folder (its
 * path written to dir, at least 64 bytes) and applies the edits. Fails the
 * calling test if an edit's text is not found. */
void protocol_copy(const char *from, char *dir, const protocol_edit *edits, size_t n);

/* A whole text file (malloc'd), failing the calling test if it cannot be read. */
char *protocol_copy_read(const char *path);

/* The version the protocol of `folder` declares in its protocol.lua
 * ("1.7.14"), read from the file, so that a test names a bundled protocol's
 * current version without writing it down. Fails the calling test if there
 * is none. */
const char *protocol_copy_version(const char *folder);

/* The protocol of `folder` as a reference, "name@version" (written to out,
 * which is returned): its version as it is (bump NULL), or as a copy made
 * with PROTOCOL_COPY_LATER(bump) has it ("ketamine_iv@1.8.0" for "+0.1.0"). */
const char *protocol_copy_ref(const char *folder, const char *bump, char *out, size_t n);

/* Removes the copy. */
void protocol_copy_remove(const char *dir);

#endif
