/* source_file.h: one file of a protocol version's sources, as stored (a
 * path relative to the protocol's folder and its text). Shared by the
 * sandbox, which reads a stored version's files from these, and the
 * protocol loader (protocol.h). */
#ifndef VIGIL_SOURCE_FILE_H
#define VIGIL_SOURCE_FILE_H

#include <stddef.h>

typedef struct source_file {
  char *path, *text;
  size_t len;
} source_file;

#endif
