/* rows.c: the rows the stores keep beside the events (rows.h). */
#include "rows.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/intern.h"
#include "vigil/vigil.h"

int vigil__approval_row(buf *b, const struct vigil_event *ev, const char **sha256) {
  const val *ref = vigil__val_get(ev->data, K(ref)), *sha = vigil__val_get(ev->data, K(sha256));
  const char *r = ref ? val_text(*ref) : NULL, *h = sha ? val_text(*sha) : NULL;
  if (!r || !h) return 0;
  vigil__buf_reset(b);
  vigil__buf_puts(b, "{\"ref\":");
  vigil__buf_json_string(b, r);
  vigil__buf_puts(b, ",\"by\":");
  vigil__buf_json_string(b, ev->actor ? ev->actor : "");
  vigil__buf_puts(b, ",\"at_ms\":");
  vigil__buf_put_int(b, ev->time);
  vigil__buf_putc(b, '}');
  if (b->oom) return -1;
  *sha256 = h;
  return 1;
}

char *vigil__sources_to_json(const protocol *p) {
  json_t *files = json_array();
  size_t dirlen = strlen(p->sb->dir);
  for (uint32_t i = 0; i < p->n_sources; i++) {
    const char *rel = p->sources[i].path;
    if (!strncmp(rel, p->sb->dir, dirlen) && rel[dirlen] == '/') rel += dirlen + 1;
    json_array_append_new(files, json_pack("{s:s, s:s%}", "path", rel, "text", p->sources[i].text, p->sources[i].len));
  }
  char *text = json_dumps(files, JSON_COMPACT);
  json_decref(files);
  return text;
}

int vigil__sources_from_json(const char *json, const char *dir_text, const char *sha256, char **dir, source_file **out,
                             uint32_t *n, char *err, size_t errlen) {
  *out = NULL;
  *n = 0;
  json_t *files = json ? json_loads(json, 0, NULL) : NULL;
  size_t count = json_array_size(files);
  source_file *f = calloc(count ? count : 1, sizeof *f);
  *dir = dir_text ? strdup(dir_text) : NULL;
  if (!files || !f || (dir_text && !*dir)) {
    /* The text that does not parse is corrupt; what could not be allocated is out of memory. */
    int corrupt = !files;
    json_decref(files);
    free(f);
    free(*dir);
    *dir = NULL;
    if (corrupt)
      snprintf(err, errlen, "the stored sources of %s cannot be read", sha256);
    else
      snprintf(err, errlen, "out of memory reading the sources of %s", sha256);
    return corrupt ? VIGIL_ECORRUPT : VIGIL_ENOMEM;
  }
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    json_t *x = json_array_get(files, i);
    const char *path = json_string_value(json_object_get(x, "path"));
    f[i].path = strdup(path ? path : "");
    json_t *t = json_object_get(x, "text");
    f[i].len = json_string_length(t);
    f[i].text = malloc(f[i].len + 1);
    if (f[i].text) memcpy(f[i].text, json_string_value(t) ? json_string_value(t) : "", f[i].len + 1);
    if (!f[i].path || !f[i].text) rc = VIGIL_ENOMEM;
  }
  json_decref(files);
  if (rc < 0) {
    vigil__source_files_free(f, (uint32_t)count);
    free(*dir);
    *dir = NULL;
    snprintf(err, errlen, "out of memory reading the sources of %s", sha256);
    return rc;
  }
  *out = f;
  *n = (uint32_t)count;
  return 0;
}
