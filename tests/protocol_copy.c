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

/* The protocol's name and version in protocol.lua's text (`v.protocol "name"
 * { version = "1.7.14", ...`): where each starts and how long it is. */
typedef struct declared {
  const char *name, *version;
  size_t name_len, version_len;
} declared;

static declared declared_in(const char *text, const char *file) {
  static const char head[] = "v.protocol \"", key[] = "version = \"";
  declared d = {0};
  const char *at = strstr(text, head), *end;
  if (!at) fail_msg("%s: no v.protocol \"name\"", file);
  d.name = at + strlen(head);
  if (!(end = strchr(d.name, '"')) || end == d.name) fail_msg("%s: v.protocol has no name", file);
  d.name_len = (size_t)(end - d.name);
  if (!(at = strstr(end, key))) fail_msg("%s: no version = \"...\" after v.protocol", file);
  d.version = at + strlen(key);
  if (!(end = strchr(d.version, '"')) || end == d.version) fail_msg("%s: an empty version", file);
  d.version_len = (size_t)(end - d.version);
  return d;
}

/* version with bump added as semantic versions are ("1.7.14" + "+0.1.0":
 * "1.8.0"), written to out. */
static void later(const char *version, const char *bump, char *out, size_t n) {
  int v[3], b[3];
  if (sscanf(version, "%d.%d.%d", &v[0], &v[1], &v[2]) != 3)
    fail_msg("version \"%s\" is not MAJOR.MINOR.PATCH", version);
  if (sscanf(bump, "+%d.%d.%d", &b[0], &b[1], &b[2]) != 3 || b[0] < 0 || b[1] < 0 || b[2] < 0 ||
      !(b[0] || b[1] || b[2]))
    fail_msg("\"%s\" is no later version (+MAJOR.MINOR.PATCH, not all 0)", bump);
  if (b[0]) {
    v[0] += b[0], v[1] = b[1], v[2] = b[2];
  } else if (b[1]) {
    v[1] += b[1], v[2] = b[2];
  } else {
    v[2] += b[2];
  }
  snprintf(out, n, "%d.%d.%d", v[0], v[1], v[2]);
}

/* text with its declared version raised by bump (a new string; text is freed). */
static char *version_later(char *text, const char *bump, const char *file) {
  declared d = declared_in(text, file);
  char was[64], now[64];
  snprintf(was, sizeof was, "%.*s", (int)d.version_len, d.version);
  later(was, bump, now, sizeof now);
  size_t head = (size_t)(d.version - text), n = strlen(text) - d.version_len + strlen(now);
  char *out = malloc(n + 1);
  assert_non_null(out);
  memcpy(out, text, head);
  strcpy(out + head, now);
  strcat(out, d.version + d.version_len);
  free(text);
  return out;
}

/* The name and version folder/protocol.lua declares, read once per folder
 * (the test programs are single-threaded). */
typedef struct known {
  char folder[256], name[128], version[64];
} known;

static const known *known_of(const char *folder) {
  static known seen[8];
  static size_t n;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(seen[i].folder, folder)) return &seen[i];
  if (n == sizeof seen / sizeof *seen) fail_msg("more than %zu protocol folders asked for", n);
  known *k = &seen[n];
  char path[512];
  snprintf(path, sizeof path, "%s/protocol.lua", folder);
  char *text = protocol_copy_read(path);
  declared d = declared_in(text, path);
  snprintf(k->folder, sizeof k->folder, "%s", folder);
  snprintf(k->name, sizeof k->name, "%.*s", (int)d.name_len, d.name);
  snprintf(k->version, sizeof k->version, "%.*s", (int)d.version_len, d.version);
  free(text);
  n++;
  return k;
}

const char *protocol_copy_version(const char *folder) { return known_of(folder)->version; }

const char *protocol_copy_ref(const char *folder, const char *bump, char *out, size_t n) {
  const known *k = known_of(folder);
  char version[64];
  if (bump)
    later(k->version, bump, version, sizeof version);
  else
    snprintf(version, sizeof version, "%s", k->version);
  snprintf(out, n, "%s@%s", k->name, version);
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
      if (strcmp(edits[i].file, de->d_name))
        continue;
      else if (!strcmp(edits[i].from, PROTOCOL_COPY_VERSION))
        text = version_later(text, edits[i].to, src);
      else
        text = replace(text, edits[i].from, edits[i].to, src);
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
