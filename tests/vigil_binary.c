/* vigil_binary.c: where the tests find the vigil program they run. */
#define _GNU_SOURCE /* readlink */
#include "vigil_binary.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int find_vigil(char *out, size_t n) {
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len < 0) return -1;
  self[len] = '\0';
  char *slash = strrchr(self, '/');
  if (!slash) return -1;
  *slash = '\0';
  if ((size_t)snprintf(out, n, "%s/../vigil", self) >= n) return -1;
  return access(out, X_OK) == 0 ? 0 : -1;
}
