/* free_text.c: free text a person writes (free_text.h). */
#include <string.h>

#include "free_text.h"
#include "fail.h"
#include "base/utf8.h"

int vigil__free_text_check(vigil_engine *e, const char *name, const char *text, size_t max, int lines) {
  size_t n = text ? strlen(text) : 0, letters = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)text[i];
    if ((ch < 0x20 && !(lines && (ch == '\n' || ch == '\t'))) || ch == 0x7f)
      return vigil__engine_fail(e, VIGIL_EINVAL, name, "%s must not hold control characters", name);
    letters += ch != ' ' && ch != '\n' && ch != '\t';
  }
  if (!letters) return vigil__engine_fail(e, VIGIL_EINVAL, name, "%s is required", name);
  if (vigil__utf8_chars(text, n) > max)
    return vigil__engine_fail(e, VIGIL_EINVAL, name, "%s has at most %zu characters", name, max);
  return 0;
}
