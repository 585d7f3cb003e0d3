/* text_format.c: a text field's format (text_format.h). The pattern is
 * anchored at both ends, so that "[A-Z0-9]{4,20}" means the whole value and
 * not a part of it: a lot number "A" next to anything else is no match
 * (docs/safety.md P9). Compiled when needed: entries are few, and no compiled
 * state is shared between threads. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/text_format.h"

static int compile(regex_t *re, const char *pattern, char *err, size_t errlen) {
  size_t n = strlen(pattern) + 5;
  char *anchored = malloc(n);
  if (!anchored) {
    if (err) snprintf(err, errlen, "out of memory");
    return -2;
  }
  snprintf(anchored, n, "^(%s)$", pattern);
  int rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
  free(anchored);
  if (rc != 0) {
    if (err) regerror(rc, re, err, errlen);
    return rc == REG_ESPACE ? -2 : -1;
  }
  return 0;
}

int vigil__text_format_check(const char *pattern, char *err, size_t errlen) {
  regex_t re;
  int rc = compile(&re, pattern, err, errlen);
  if (rc < 0) return rc;
  regfree(&re);
  return 0;
}

int vigil__text_format_match(const char *pattern, const char *text) {
  regex_t re;
  if (compile(&re, pattern, NULL, 0) < 0) return -1;
  int rc = regexec(&re, text, 0, NULL, 0);
  regfree(&re);
  return rc == 0;
}
