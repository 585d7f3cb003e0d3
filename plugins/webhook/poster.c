/* poster.c: libcurl's multi interface driven by a libuv loop. */
#include "poster.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct request {
  struct request *next;
  CURL *easy;
  struct curl_slist *headers;
  poster_done_fn done;
  void *ud;
  char error[CURL_ERROR_SIZE];
} request;

typedef struct watch {
  uv_poll_t poll;
  curl_socket_t fd;
  poster *p;
} watch;

struct poster {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  request *requests;
  unsigned handles; /* libuv handles not yet closed */
  int closing;
  void (*closed)(void *ud);
  void *closed_ud;
};

static void maybe_free(poster *p) {
  if (!p->closing || p->handles) return;
  void (*closed)(void *) = p->closed;
  void *ud = p->closed_ud;
  free(p);
  if (closed) closed(ud);
}

static void on_timer_closed(uv_handle_t *h) {
  poster *p = h->data;
  p->handles--;
  maybe_free(p);
}

static void on_watch_closed(uv_handle_t *h) {
  watch *w = h->data;
  poster *p = w->p;
  free(w);
  p->handles--;
  maybe_free(p);
}

static void finish(poster *p) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(p->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    request *r = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    CURLcode result = msg->data.result;
    long status = 0;
    if (result == CURLE_OK) curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    if (result != CURLE_OK && !r->error[0]) snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(result));
    for (request **at = &p->requests; *at; at = &(*at)->next)
      if (*at == r) {
        *at = r->next;
        break;
      }
    curl_multi_remove_handle(p->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    r->done(r->ud, status, result == CURLE_OK ? NULL : r->error);
    free(r);
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  watch *w = h->data;
  poster *p = w->p;
  int flags = status < 0 ? CURL_CSELECT_ERR : 0;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  int running;
  curl_multi_socket_action(p->multi, w->fd, flags, &running);
  finish(p);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  poster *p = userp;
  watch *w = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (w) {
      uv_poll_stop(&w->poll);
      curl_multi_assign(p->multi, fd, NULL);
      uv_close((uv_handle_t *)&w->poll, on_watch_closed);
    }
    return 0;
  }
  if (!w) {
    w = calloc(1, sizeof *w);
    if (!w) return -1;
    if (uv_poll_init_socket(p->loop, &w->poll, fd) < 0) {
      free(w);
      return -1;
    }
    w->fd = fd;
    w->p = p;
    w->poll.data = w;
    p->handles++;
    curl_multi_assign(p->multi, fd, w);
  }
  int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
  uv_poll_start(&w->poll, events, on_poll);
  return 0;
}

static void on_timeout(uv_timer_t *t) {
  poster *p = t->data;
  int running;
  curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  finish(p);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
  poster *p = userp;
  if (timeout_ms < 0)
    uv_timer_stop(&p->timer);
  else
    uv_timer_start(&p->timer, on_timeout, (uint64_t)timeout_ms, 0);
  return 0;
}

static size_t discard(char *data, size_t size, size_t n, void *ud) { return size * n; }

poster *vigil__webhook_poster_new(uv_loop_t *loop) {
  poster *p = calloc(1, sizeof *p);
  if (!p || !(p->multi = curl_multi_init())) {
    free(p);
    return NULL;
  }
  p->loop = loop;
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  p->handles = 1;
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
  return p;
}

int vigil__webhook_poster_post(poster *p, const char *url, const char *const *headers, size_t n_headers,
                               const char *body, size_t len, long timeout_ms, poster_done_fn done, void *ud) {
  if (p->closing) return -1;
  request *r = calloc(1, sizeof *r);
  if (!r || !(r->easy = curl_easy_init())) {
    free(r);
    return -1;
  }
  for (size_t i = 0; i < n_headers; i++) {
    struct curl_slist *h = curl_slist_append(r->headers, headers[i]);
    if (!h) goto fail;
    r->headers = h;
  }
  r->done = done;
  r->ud = ud;
  CURL *e = r->easy;
  curl_easy_setopt(e, CURLOPT_URL, url);
  /* Only the web: no file://, no redirects to elsewhere. */
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  if (curl_multi_add_handle(p->multi, e) != CURLM_OK) goto fail;
  r->next = p->requests;
  p->requests = r;
  return 0;
fail:
  curl_slist_free_all(r->headers);
  curl_easy_cleanup(r->easy);
  free(r);
  return -1;
}

void vigil__webhook_poster_close(poster *p, void (*closed)(void *ud), void *ud) {
  p->closing = 1;
  p->closed = closed;
  p->closed_ud = ud;
  while (p->requests) {
    request *r = p->requests;
    p->requests = r->next;
    curl_multi_remove_handle(p->multi, r->easy); /* tells on_socket to stop watching */
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r);
  }
  curl_multi_cleanup(p->multi);
  p->multi = NULL;
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}
