/* test_config.c: vigil.conf. Settings come back as written, with the line
 * that set them; every mistake is refused as file:line with a sentence. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "vigil/vigil.h"

static char path[64];

static int setup(void **state) {
  strcpy(path, "/tmp/vigil-conf-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  return 0;
}

static int teardown(void **state) {
  unlink(path);
  return 0;
}

static void write_conf(const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Loads text and expects it refused with an error containing want (after
 * "<path>:" when line > 0). */
static void refused(const char *text, int line, const char *want) {
  write_conf(text);
  config *c = NULL;
  char err[512], where[96];
  assert_int_equal(vigil__config_load(path, &c, err, sizeof err), VIGIL_EINVAL);
  assert_null(c);
  if (line > 0) {
    snprintf(where, sizeof where, "%s:%d:", path, line);
    if (strncmp(err, where, strlen(where))) fail_msg("'%s' does not start with '%s'", err, where);
  }
  if (!strstr(err, want)) fail_msg("'%s' does not say '%s'", err, want);
}

static void settings_come_back_as_written(void **state) {
  write_conf("-- the site's settings\n"
             "listen = \"127.0.0.1:9090\"\n"
             "database = \"var/site.db\"\n"
             "\n"
             "protocols = { \"protocols/ketamine_iv\", \"protocols/other\" }\n"
             "idle_timeout = 2.5\n"
             "local hook = \"http://127.0.0.1:9000/\"\n"
             "plugins = { webhook = { endpoints = { { url = hook .. \"hook\", secret = \"s\", retry = true } } } }\n");
  config *c;
  char err[512];
  assert_int_equal(vigil__config_load(path, &c, err, sizeof err), 0);
  const char *s;
  assert_int_equal(vigil__config_string(c, "listen", "x", &s, err, sizeof err), 0);
  assert_string_equal(s, "127.0.0.1:9090");
  assert_int_equal(vigil__config_string(c, "site", "dflt", &s, err, sizeof err), 0);
  assert_string_equal(s, "dflt");
  uint64_t ms;
  assert_int_equal(vigil__config_seconds(c, "idle_timeout", 60, 1, &ms, err, sizeof err), 0);
  assert_int_equal(ms, 2500);
  assert_int_equal(json_array_size(vigil__config_get(c, "protocols")), 2);
  char *plugins = vigil__config_json(c, "plugins");
  assert_string_equal(plugins, "{\"webhook\":{\"endpoints\":[{\"retry\":true,\"secret\":\"s\","
                               "\"url\":\"http://127.0.0.1:9000/hook\"}]}}");
  free(plugins);
  assert_null(vigil__config_json(c, "plugin_dir"));
  char where[128], want[128];
  snprintf(want, sizeof want, "%s:5", path);
  assert_string_equal(vigil__config_where(c, "protocols", where, sizeof where), want);
  vigil__config_free(c);
}

static void wrong_types_name_their_line(void **state) {
  write_conf("listen = 8080\nidle_timeout = -1\n");
  config *c;
  char err[512], want[128];
  assert_int_equal(vigil__config_load(path, &c, err, sizeof err), 0);
  const char *s;
  assert_int_equal(vigil__config_string(c, "listen", "x", &s, err, sizeof err), VIGIL_EINVAL);
  snprintf(want, sizeof want, "%s:1: listen must be text", path);
  assert_non_null(strstr(err, want));
  uint64_t ms;
  assert_int_equal(vigil__config_seconds(c, "idle_timeout", 60, 1, &ms, err, sizeof err), VIGIL_EINVAL);
  snprintf(want, sizeof want, "%s:2: idle_timeout is a number of seconds", path);
  assert_non_null(strstr(err, want));
  vigil__config_free(c);
}

static void mistakes_are_refused_with_file_and_line(void **state) {
  refused("listen = \"127.0.0.1:8080\"\nlsiten = \"x\"\n", 2, "'lsiten' is not a setting vigil knows");
  refused("listen = \"a\"\ndatabase = \n", 3, "unexpected symbol");
  refused("\nlisten = host\n", 2, "'host' is not set above");
  refused("print('hello')\n", 1, "'print' is not set above");
  refused("database = function() end\n", 1, "a function cannot be a setting");
  refused("plugins = { x = { 1, a = 2 } }\n", 1, "either a list");
  refused("\n\nwhile true do end\n", 3, "runs too long");
  refused("site = { name = \"\\xff\" }\n", 1, "not valid UTF-8");
  refused("local t = {}\nt.t = t\nplugins = t\n", 3, "nest too deep");
  refused("local s = 'x'\nfor i = 1, 40 do s = s .. s end\n", 0, "more than 8 MiB of memory");
}

static void a_missing_file_is_told_apart(void **state) {
  config *c;
  char err[512];
  assert_int_equal(vigil__config_load("/nonexistent/vigil.conf", &c, err, sizeof err), VIGIL_ENOENT);
  assert_non_null(strstr(err, "/nonexistent/vigil.conf"));
  c = vigil__config_empty();
  const char *s;
  assert_int_equal(vigil__config_string(c, "listen", "127.0.0.1:8080", &s, err, sizeof err), 0);
  assert_string_equal(s, "127.0.0.1:8080");
  vigil__config_free(c);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(settings_come_back_as_written),
      T(wrong_types_name_their_line),
      T(mistakes_are_refused_with_file_and_line),
      T(a_missing_file_is_told_apart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
