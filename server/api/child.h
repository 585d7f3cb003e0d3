/* child.h: work in a child process, bounded in time and memory, child.c. */
#ifndef VIGIL_API_CHILD_H
#define VIGIL_API_CHILD_H

#include <stddef.h>

#include "api_internal.h"

/* In the child (a fork of the server, no exec): the text to send back, or
 * NULL (the child exits with status 1: out of memory, or nothing to say). */
typedef char *(*child_work)(api *a, void *ud);
/* Back on the loop: the child's text (len bytes, NULL when it sent none),
 * whether it was killed past the time bound, and its wait status. */
typedef void (*child_done)(api *a, void *ud, const char *out, size_t len, int timed_out, int status);

/* Runs work(a, ud) in a child process with the limits of upload checks
 * (upload_check_ms of CPU and of wall time, killed past it;
 * upload_check_memory beyond the server's), then done(a, ud, ...) on the
 * loop once its pipe and timer are closed. While it runs it counts in
 * a->checking (the api's close waits for it); vigil__api_children_stop kills
 * them. 0, or -1 (no pipe, no process, no memory): done is not called. */
int vigil__api_child_start(api *a, child_work work, child_done done, void *ud);
/* Kills the children running (the server stops): each done follows. */
void vigil__api_children_stop(api *a);

#endif
