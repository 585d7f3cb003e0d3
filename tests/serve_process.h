/* serve_process.h: a `vigil serve` child process with a vigil.conf, for the
 * tests of the plugins that ship (test_webhook, test_mqtt). The test writes
 * the configuration; the child listens on a port of its own choosing, which
 * is read back from its "listening" log line. */
#ifndef VIGIL_TESTS_SERVE_PROCESS_H
#define VIGIL_TESTS_SERVE_PROCESS_H

#include <stdint.h>
#include <sys/types.h>

typedef struct serve_process {
  char root[64];      /* a fresh temporary folder: the db, the log, the conf */
  char vigil[4200];   /* <build>/vigil */
  char plugins[4200]; /* <build>/plugins */
  char conf[128], log[128], protocol[128];
  pid_t pid;
  int port;
  off_t log_from;
  int exit_status; /* of a server that stopped while starting; -1 */
  char token[64];  /* SERVE_USER's session, once signed in */
} serve_process;

/* The nurse every serve_process has (made before its first start), and
 * their password: requests are theirs. */
#define SERVE_USER "nurse.a"
#define SERVE_PASSWORD "correct horse battery"

/* Makes the folder, writes protocol_lua as its protocol, finds the binary
 * and the built plugins. 0, or -1 with a message printed. */
int serve_setup(serve_process *s, const char *protocol_lua);
/* Writes vigil.conf: listen, database and protocols, then extra (Lua). */
void serve_configure(serve_process *s, const char *extra_lua);
/* Starts it and waits until it listens. 0, or -1 (the log is printed).
 * With --allow-untested: the tests' protocols have no specs. */
int serve_start(serve_process *s);
/* The same with these flags (NULL-terminated, may be NULL) after
 * `serve --config CONF` instead; one that stops while starting leaves its
 * exit status in s->exit_status. */
int serve_start_args(serve_process *s, const char *const *args);
/* SIGTERM (or SIGKILL when hard) and waits: the exit status, or -1. */
int serve_stop(serve_process *s, int hard);
/* Stops it if running and removes the folder. */
void serve_cleanup(serve_process *s);
/* One request as SERVE_USER: the HTTP status, and the body (malloc'd)
 * in *out when out is not NULL; -1 when no answer came. */
int serve_request(serve_process *s, const char *method, const char *path, const char *body, char **out);
/* Starts a visit of protocol for patient: its id, or 0. */
uint64_t serve_start_visit(serve_process *s, const char *protocol, const char *patient);
/* The same, where the patient sits (location: a chair or bay). */
uint64_t serve_start_visit_at(serve_process *s, const char *protocol, const char *patient, const char *location);
/* Records {"vitals": {"sbp": sbp}}: the HTTP status. */
int serve_record_sbp(serve_process *s, uint64_t visit, int sbp);
/* The log since the last start (malloc'd). */
char *serve_log(const serve_process *s);

#endif
