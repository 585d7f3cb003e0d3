/* test_events_doc.c: docs/events.md against the engine. Integrators read
 * that page as the contract of every transport (SSE, webhooks, JSON lines,
 * MQTT, C plugins), so it must name every event type the engine has, give
 * each an example that parses, and list in its table every data field the
 * example carries. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/event.h"

static char *read_doc(void) {
  FILE *f = fopen("docs/events.md", "r");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* The line of the types table that documents type. */
static char *table_row(const char *doc, const char *type) {
  char start[96];
  snprintf(start, sizeof start, "\n| `%s` |", type);
  const char *at = strstr(doc, start);
  if (!at) return NULL;
  at++;
  return strndup(at, strcspn(at, "\n"));
}

/* The JSON block under "### `type`". */
static json_t *example(const char *doc, const char *type) {
  char head[96];
  snprintf(head, sizeof head, "\n### `%s`\n", type);
  const char *at = strstr(doc, head);
  if (!at) return NULL;
  at = strstr(at, "```json\n");
  if (!at) return NULL;
  at += 8;
  const char *end = strstr(at, "```");
  json_error_t je;
  json_t *j = json_loadb(at, (size_t)(end - at), 0, &je);
  if (!j) fail_msg("docs/events.md: the example of %s does not parse: %s", type, je.text);
  return j;
}

static void test_every_type_documented_with_an_example(void **state) {
  char *doc = read_doc();
  assert_non_null(strstr(doc, "schema 1"));
  for (int t = 0; t < EV_COUNT; t++) {
    const char *type = vigil__event_type_name((event_type)t);
    char *row = table_row(doc, type);
    if (!row) fail_msg("docs/events.md: %s is not in the table of types", type);
    json_t *ex = example(doc, type);
    if (!ex) fail_msg("docs/events.md: %s has no example", type);
    static const char *fields[] = {"seq", "time", "visit", "type", "actor", "data"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
      if (!json_object_get(ex, fields[i])) fail_msg("docs/events.md: the example of %s has no %s", type, fields[i]);
    assert_string_equal(json_string_value(json_object_get(ex, "type")), type);
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(ex, "data"), key, v) {
      char want[80];
      snprintf(want, sizeof want, "`%s`", key);
      if (!strstr(row, want)) fail_msg("docs/events.md: %s's data has %s, which its row does not list", type, key);
    }
    json_decref(ex);
    free(row);
  }
  free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_type_documented_with_an_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
