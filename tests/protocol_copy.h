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

/* Copies the *.lua files of folder `from` into a new temporary folder (its
 * path written to dir, at least 64 bytes) and applies the edits. Fails the
 * calling test if an edit's text is not found. */
void protocol_copy(const char *from, char *dir, const protocol_edit *edits, size_t n);

/* A whole text file (malloc'd), failing the calling test if it cannot be read. */
char *protocol_copy_read(const char *path);

/* Removes the copy. */
void protocol_copy_remove(const char *dir);

#endif
