/* protocol_copy.c: a test's own copy of a bundled protocol, with edits. */
#include "protocol_copy.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

char *protocol_copy_read(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

/* text with the first `from` replaced by `to` (a new string; text is freed). */
static char *replace(char *text, const char *from, const char *to, const char *file) {
  char *at = strstr(text, from);
  if (!at) fail_msg("%s: no \"%s\" to edit", file, from);
  size_t head = (size_t)(at - text), n = strlen(text) - strlen(from) + strlen(to);
  char *out = malloc(n + 1);
  assert_non_null(out);
  memcpy(out, text, head);
  strcpy(out + head, to);
  strcat(out, at + strlen(from));
  free(text);
  return out;
}

void protocol_copy(const char *from, char *dir, const protocol_edit *edits, size_t n) {
  strcpy(dir, "/tmp/vigil-protocol-XXXXXX");
  assert_non_null(mkdtemp(dir));
  DIR *d = opendir(from);
  assert_non_null(d);
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (len < 5 || strcmp(de->d_name + len - 4, ".lua")) continue;
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/%s", from, de->d_name);
    snprintf(dst, sizeof dst, "%s/%s", dir, de->d_name);
    char *text = protocol_copy_read(src);
    for (size_t i = 0; i < n; i++)
      if (!strcmp(edits[i].file, de->d_name)) text = replace(text, edits[i].from, edits[i].to, src);
    FILE *f = fopen(dst, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
    free(text);
  }
  closedir(d);
}

void protocol_copy_remove(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.') {
      char p[512];
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      unlink(p);
    }
  closedir(d);
  rmdir(dir);
}
