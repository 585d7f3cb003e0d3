/* test_ui.c: the nurse workstation's files as the server's router serves
 * them (server/ui.c behind vigil__api_handle), over a real loopback socket with the
 * engine in this process: index at "/", content types, revalidation with
 * ETag and 304, 404 for what is not a file, 405 for writes, and the API,
 * /metrics and /healthz never shadowed by the app. What the app does in a
 * browser is tested in tests/browser/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <cmocka.h>

#include "api/api.h"
#include "http/http.h"
#include "http_client.h"
#include "api/ui.h"
#include "vigil/vigil.h"

typedef struct fixture {
  uv_loop_t loop;
  uv_timer_t guard;
  vigil_engine *e;
  api *api;
  http_server *http;
  hc_conn conn;
} fixture;

static void noop_timer(uv_timer_t *t) { (void)t; }

/* One turn of the server's loop; the guard timer makes sure it returns. */
static void pump(void *ud) {
  fixture *f = ud;
  uv_timer_start(&f->guard, noop_timer, 5, 0);
  uv_run(&f->loop, UV_RUN_ONCE);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  uv_timer_init(&f->loop, &f->guard);
  vigil_options o = {.clock = VIGIL_CLOCK_REAL, .loop = &f->loop};
  assert_int_equal(vigil_engine_new(&o, &f->e), 0);
  api_options ao = {.engine = f->e, .loop = &f->loop};
  assert_int_equal(vigil__api_new(&ao, &f->api), 0);
  http_options ho = {.handler = vigil__api_handle, .handler_ud = f->api};
  char err[256];
  if (vigil__http_server_start(&f->loop, &ho, &f->http, err, sizeof err) < 0) fail_msg("%s", err);
  hc_set_pump(pump, f);
  assert_int_equal(hc_connect(&f->conn, vigil__http_server_port(f->http)), 0);
  *state = f;
  return 0;
}

static void on_closed(void *ud) { (*(int *)ud)++; }

static int teardown(void **state) {
  fixture *f = *state;
  hc_close(&f->conn);
  int closed = 0;
  vigil__http_server_close(f->http, on_closed, &closed);
  while (closed < 1)
    pump(f);
  vigil__api_close(f->api, on_closed, &closed);
  while (closed < 2)
    pump(f);
  hc_set_pump(NULL, NULL);
  vigil_engine_free(f->e);
  uv_close((uv_handle_t *)&f->guard, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
  return 0;
}

/* Sends a request with extra header lines (may be NULL) and reads the answer. */
static void send_request(fixture *f, const char *method, const char *path, const char *headers, hc_response *r) {
  char req[1024];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: 0\r\n\r\n", method, path,
           headers ? headers : "");
  assert_int_equal(hc_send_str(&f->conn, req), 0);
  assert_int_equal(hc_read(&f->conn, r, 5000), 0);
}

static void expect_header(const hc_response *r, const char *name, const char *prefix) {
  char v[512];
  if (!hc_header(r, name, v, sizeof v)) fail_msg("no %s header in:\n%s", name, r->head);
  if (strncmp(v, prefix, strlen(prefix)) != 0) fail_msg("%s is \"%s\", expected \"%s...\"", name, v, prefix);
}

static void test_index_and_types(void **state) {
  fixture *f = *state;
  hc_response r;
  send_request(f, "GET", "/", NULL, &r);
  assert_int_equal(r.status, 200);
  expect_header(&r, "Content-Type", "text/html; charset=utf-8");
  expect_header(&r, "Cache-Control", "no-cache");
  expect_header(&r, "Content-Security-Policy", "default-src 'self'");
  assert_non_null(strstr(r.body, "<!doctype html>"));
  char etag[128];
  assert_non_null(hc_header(&r, "ETag", etag, sizeof etag));
  assert_int_equal(etag[0], '"');
  assert_null(strstr(r.head, "no-store")); /* the API's default is replaced, not repeated */
  hc_response_free(&r);

  send_request(f, "GET", "/index.html", NULL, &r);
  assert_int_equal(r.status, 200);
  hc_response_free(&r);
  send_request(f, "GET", "/app.css", NULL, &r);
  assert_int_equal(r.status, 200);
  expect_header(&r, "Content-Type", "text/css");
  hc_response_free(&r);
  send_request(f, "GET", "/js/main.js", NULL, &r);
  assert_int_equal(r.status, 200);
  expect_header(&r, "Content-Type", "text/javascript");
  assert_true(r.body_len > 0);
  hc_response_free(&r);
}

static void test_revalidation(void **state) {
  fixture *f = *state;
  hc_response r;
  send_request(f, "GET", "/js/main.js", NULL, &r);
  assert_int_equal(r.status, 200);
  char etag[128], len[32], headers[256];
  assert_non_null(hc_header(&r, "ETag", etag, sizeof etag));
  assert_non_null(hc_header(&r, "Content-Length", len, sizeof len));
  hc_response_free(&r);

  snprintf(headers, sizeof headers, "If-None-Match: \"0000\", %s\r\n", etag);
  send_request(f, "GET", "/js/main.js", headers, &r);
  assert_int_equal(r.status, 304);
  assert_int_equal(r.body_len, 0);
  expect_header(&r, "ETag", etag);
  hc_response_free(&r);

  /* Another file's tag, or a stale one: the whole file again. */
  send_request(f, "GET", "/js/main.js", "If-None-Match: \"0000\"\r\n", &r);
  assert_int_equal(r.status, 200);
  assert_int_equal((long)r.body_len, atol(len));
  hc_response_free(&r);

  /* The connection is still in step after a 304 (no stray body). */
  send_request(f, "GET", "/", NULL, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "<!doctype html>"));
  hc_response_free(&r);
}

static void test_not_found_and_methods(void **state) {
  fixture *f = *state;
  hc_response r;
  const char *missing[] = {"/nothing.js", "/js", "/js/", "/../index.html", "/index.html/", "//index.html"};
  for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
    send_request(f, "GET", missing[i], NULL, &r);
    if (r.status != 404) fail_msg("%s: %d", missing[i], r.status);
    expect_header(&r, "Content-Type", "application/json");
    assert_non_null(strstr(r.body, "\"not_found\""));
    hc_response_free(&r);
  }
  send_request(f, "POST", "/", NULL, &r);
  assert_int_equal(r.status, 405);
  expect_header(&r, "Allow", "GET, HEAD");
  hc_response_free(&r);
}

static void test_api_not_shadowed(void **state) {
  fixture *f = *state;
  hc_response r;
  send_request(f, "GET", "/healthz", NULL, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"status\":\"ok\""));
  hc_response_free(&r);
  send_request(f, "GET", "/metrics", NULL, &r);
  assert_int_equal(r.status, 200);
  expect_header(&r, "Content-Type", "text/plain");
  hc_response_free(&r);
  /* Whatever the API answers under /api, it is the API's JSON, not a page. */
  send_request(f, "GET", "/api/index.html", NULL, &r);
  assert_int_equal(r.status, 404);
  expect_header(&r, "Content-Type", "application/json");
  hc_response_free(&r);
  send_request(f, "GET", "/api", NULL, &r);
  expect_header(&r, "Content-Type", "application/json");
  hc_response_free(&r);

  assert_false(vigil__ui_owns("/api/v1/visits"));
  assert_false(vigil__ui_owns("/api"));
  assert_false(vigil__ui_owns("/metrics"));
  assert_false(vigil__ui_owns("/healthz"));
  assert_true(vigil__ui_owns("/"));
  assert_true(vigil__ui_owns("/apiary.js"));
  assert_true(vigil__ui_owns("/metrics.js"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_index_and_types, setup, teardown),
      cmocka_unit_test_setup_teardown(test_revalidation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_found_and_methods, setup, teardown),
      cmocka_unit_test_setup_teardown(test_api_not_shadowed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
