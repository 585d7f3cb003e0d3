/* test_idempotency.c: the Idempotency-Key of commands on the SQLite store
 * (`vigil serve` as a child process; the PostgreSQL store and a retry on the
 * node that took a site over: test_cluster.c).
 *
 * A visit start and an entry sent twice with the same key are recorded once
 * and the retry gets the first answer's status and Location with the visit
 * as it is then (the first body while nothing else was recorded) and
 * Idempotent-Replayed (the key keeps no body: docs/security.md Y6); the same key with another body is 422 and records
 * nothing; after the server is killed (SIGKILL) and started again the retry
 * still finds the first answer (it was written in the command's
 * transaction); a key that is not one is 400. With idempotency_hours of about
 * a second, a key that expired is a new one: the retry records again. */
#define _GNU_SOURCE
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "serve_process.h"

static const char *PROTOCOL = "local v = require 'vigil'\n"
                              "return v.protocol 'keyed' { version = '1.0.0', phases = {\n"
                              "  v.phase 'one' { items = {\n"
                              "    v.vitals 'load' { fields = { 'sbp' }, required = false },\n"
                              "  } } } }\n";

/* The events of a type in the log. */
static int count_events(serve_process *s, const char *type) {
  char *body = NULL;
  assert_int_equal(serve_request(s, "GET", "/api/v1/events?limit=1000", NULL, &body), 200);
  json_t *j = json_loads(body, 0, NULL);
  free(body);
  json_t *list = json_is_array(j) ? j : json_object_get(j, "events"), *ev;
  assert_true(json_is_array(list));
  size_t i;
  int n = 0;
  json_array_foreach(list, i, ev) { n += !strcmp(json_string_value(json_object_get(ev, "type")), type); }
  json_decref(j);
  return n;
}

/* A command with an Idempotency-Key: its response (the caller frees it). */
static hc_response keyed(serve_process *s, const char *path, const char *key, const char *body) {
  hc_conn c;
  hc_response r;
  assert_int_equal(hc_connect(&c, s->port), 0);
  assert_int_equal(hc_request_keyed(&c, "POST", path, s->token, key, body, &r), 0);
  hc_close(&c);
  return r;
}

static int replayed(const hc_response *r) {
  char v[16];
  return hc_header(r, "Idempotent-Replayed", v, sizeof v) && !strcmp(v, "true");
}

static void retries_get_the_first_answer(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(serve_setup(&s, PROTOCOL), 0);
  serve_configure(&s, "");
  assert_int_equal(serve_start(&s), 0);
  assert_int_equal(serve_request(&s, "GET", "/api/v1/visits", NULL, NULL), 200); /* signs in */

  /* A start sent twice: one visit, the same answer. */
  const char *start = "{\"protocol\": \"keyed\", \"patient\": \"P-1\"}";
  hc_response a = keyed(&s, "/api/v1/visits", "start-7f3a", start);
  assert_int_equal(a.status, 201);
  assert_false(replayed(&a));
  hc_response b = keyed(&s, "/api/v1/visits", "start-7f3a", start);
  assert_int_equal(b.status, 201);
  assert_true(replayed(&b));
  assert_string_equal(b.body, a.body);
  char la[128], lb[128];
  assert_non_null(hc_header(&a, "Location", la, sizeof la));
  assert_non_null(hc_header(&b, "Location", lb, sizeof lb));
  assert_string_equal(la, lb);
  assert_int_equal(count_events(&s, "visit.started"), 1);
  hc_response_free(&b);

  /* An entry sent twice: recorded once. */
  const char *entry = "{\"load\": {\"sbp\": 120}}";
  hc_response e1 = keyed(&s, "/api/v1/visits/1/entries", "entry-1", entry);
  assert_int_equal(e1.status, 200);
  b = keyed(&s, "/api/v1/visits/1/entries", "entry-1", entry);
  assert_int_equal(b.status, 200);
  assert_true(replayed(&b));
  assert_string_equal(b.body, e1.body);
  hc_response_free(&b);
  assert_int_equal(count_events(&s, "item.recorded"), 1);

  /* The same key with another request: 422, nothing recorded. */
  b = keyed(&s, "/api/v1/visits/1/entries", "entry-1", "{\"load\": {\"sbp\": 121}}");
  assert_int_equal(b.status, 422);
  assert_non_null(strstr(b.body, "idempotency_key_reused"));
  hc_response_free(&b);
  assert_int_equal(count_events(&s, "item.recorded"), 1);
  /* Another key is another action. */
  b = keyed(&s, "/api/v1/visits/1/entries", "entry-2", entry);
  assert_int_equal(b.status, 200);
  assert_false(replayed(&b));
  hc_response_free(&b);
  assert_int_equal(count_events(&s, "item.recorded"), 2);

  /* Killed and started again: the key was kept with the entry's events.
   * The replay shows the visit as it is now (entry-2 recorded since). */
  serve_stop(&s, 1);
  assert_int_equal(serve_start(&s), 0);
  char *now = NULL;
  assert_int_equal(serve_request(&s, "GET", "/api/v1/visits/1", NULL, &now), 200);
  assert_string_not_equal(now, e1.body);
  b = keyed(&s, "/api/v1/visits/1/entries", "entry-1", entry);
  assert_int_equal(b.status, 200);
  assert_true(replayed(&b));
  assert_string_equal(b.body, now);
  hc_response_free(&b);
  b = keyed(&s, "/api/v1/visits", "start-7f3a", start);
  assert_int_equal(b.status, 201);
  assert_true(replayed(&b));
  assert_non_null(hc_header(&b, "Location", lb, sizeof lb));
  assert_string_equal(la, lb);
  assert_string_equal(b.body, now);
  free(now);
  hc_response_free(&b);
  assert_int_equal(count_events(&s, "item.recorded"), 2);
  assert_int_equal(count_events(&s, "visit.started"), 1);

  /* A key that is not one. */
  b = keyed(&s, "/api/v1/visits/1/entries", "has space", entry);
  assert_int_equal(b.status, 400);
  assert_non_null(strstr(b.body, "invalid_idempotency_key"));
  hc_response_free(&b);
  assert_int_equal(count_events(&s, "item.recorded"), 2);

  hc_response_free(&a);
  hc_response_free(&e1);
  serve_cleanup(&s);
}

static void keys_expire(void **state) {
  (void)state;
  serve_process s;
  assert_int_equal(serve_setup(&s, PROTOCOL), 0);
  serve_configure(&s, "idempotency_hours = 0.0003\n"); /* about a second */
  assert_int_equal(serve_start(&s), 0);
  assert_int_equal(serve_start_visit(&s, "keyed", "P-2"), 1);
  const char *entry = "{\"load\": {\"sbp\": 118}}";
  hc_response r = keyed(&s, "/api/v1/visits/1/entries", "late-1", entry);
  assert_int_equal(r.status, 200);
  hc_response_free(&r);
  usleep(1600000);
  r = keyed(&s, "/api/v1/visits/1/entries", "late-1", entry);
  assert_int_equal(r.status, 200);
  assert_false(replayed(&r));
  hc_response_free(&r);
  assert_int_equal(count_events(&s, "item.recorded"), 2);
  serve_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(retries_get_the_first_answer), cmocka_unit_test(keys_expire)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
