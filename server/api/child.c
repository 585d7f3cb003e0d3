/* child.c: work in a child process, bounded in time and memory (AC1).
 *
 * Checking an upload (lint, specs) and a protocol diff run an upload's
 * rules: they may burn seconds of CPU or memory, by mistake or on purpose
 * (a diff of 70 rules each building 20 MB strings: 19 s). On the loop,
 * everyone waited that long. In a fork of the server (no exec: the same
 * code and the protocols already loaded), with its own CPU and memory
 * limits and killed past a wall-time bound, it harms only itself; its answer
 * comes back as text on a pipe, read by the loop while it answers everyone
 * else. */
#define _GNU_SOURCE /* close_range */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct api_child {
  api *a;
  child_work work;
  child_done done;
  void *ud;
  pid_t pid;
  uv_pipe_t pipe;
  uv_timer_t timer;
  char *out;
  size_t len, cap;
  int timed_out, handles;
  struct api_child *next;
} api_child;

/* The child: limits itself, works, writes, and exits without running
 * anything of the server's (no atexit, no flush of the parent's buffers). */
static void child_run(api *a, api_child *c, int fd) {
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  if (fd != 3) { /* nothing of the server's open: only the pipe */
    dup2(fd, 3);
    fd = 3;
  }
  close_range(4, ~0u, 0);
  uint64_t secs = a->upload_check_ms / 1000;
  struct rlimit cpu = {(rlim_t)(secs + 1), (rlim_t)(secs + 2)};
  setrlimit(RLIMIT_CPU, &cpu);
  FILE *f = fopen("/proc/self/status", "r"); /* memory: the server's already, and this much more */
  char line[256];
  unsigned long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmData:", 7)) kb = strtoul(line + 7, NULL, 10);
  if (f) fclose(f);
  if (kb) {
    struct rlimit mem = {(rlim_t)kb * 1024 + a->upload_check_memory, (rlim_t)kb * 1024 + a->upload_check_memory};
    setrlimit(RLIMIT_DATA, &mem);
  }
  char *text = c->work(a, c->ud);
  int ok = text != NULL;
  for (size_t done = 0, n = text ? strlen(text) : 0; ok && done < n;) {
    ssize_t w = write(fd, text + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    done += w > 0 ? (size_t)w : 0;
  }
  _exit(ok ? 0 : 1);
}

static void on_closed(uv_handle_t *h) {
  api_child *c = h->data;
  if (--c->handles > 0) return;
  api *a = c->a;
  for (api_child **p = &a->children; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  int status = 0;
  while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
  }
  a->checking--;
  int shutting = a->shutting;
  c->done(a, c->ud, c->out, c->len, c->timed_out, status);
  free(c->out);
  free(c);
  if (shutting) a->up.part_done(a); /* a may be freed now */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  api_child *c = h->data;
  (void)suggested;
  if (c->cap - c->len < 65536) {
    size_t cap = c->cap ? c->cap * 2 : 65536;
    char *p = realloc(c->out, cap + 1); /* and a NUL */
    if (!p) {
      *b = uv_buf_init(NULL, 0);
      return;
    }
    c->out = p;
    c->cap = cap;
  }
  *b = uv_buf_init(c->out + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  api_child *c = s->data;
  (void)b;
  if (n > 0) {
    c->len += (size_t)n;
    c->out[c->len] = '\0';
  }
  if (n < 0) { /* its end (or no memory to read it) */
    uv_read_stop(s);
    uv_timer_stop(&c->timer);
    kill(c->pid, SIGKILL); /* gone already, or unread */
    uv_close((uv_handle_t *)&c->pipe, on_closed);
    uv_close((uv_handle_t *)&c->timer, on_closed);
  }
}

static void on_timeout(uv_timer_t *t) {
  api_child *c = t->data;
  c->timed_out = 1;
  kill(c->pid, SIGKILL); /* the pipe's end follows */
}

int vigil__api_child_start(api *a, child_work work, child_done done, void *ud) {
  api_child *c = calloc(1, sizeof *c);
  int fds[2];
  if (!c) return -1;
  if (pipe2(fds, O_CLOEXEC) < 0) {
    free(c);
    return -1;
  }
  *c = (api_child){.a = a, .work = work, .done = done, .ud = ud};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child_run(a, c, fds[1]);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    free(c);
    return -1;
  }
  c->pid = pid;
  uv_pipe_init(a->loop, &c->pipe, 0);
  uv_pipe_open(&c->pipe, fds[0]);
  uv_timer_init(a->loop, &c->timer);
  c->pipe.data = c->timer.data = c;
  c->handles = 2;
  c->next = a->children;
  a->children = c;
  a->checking++;
  uv_timer_start(&c->timer, on_timeout, a->upload_check_ms, 0);
  uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
  return 0;
}

void vigil__api_children_stop(api *a) {
  for (api_child *c = a->children; c; c = c->next)
    kill(c->pid, SIGKILL);
}
