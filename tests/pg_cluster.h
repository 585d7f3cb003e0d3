/* pg_cluster.h: a throw-away PostgreSQL cluster for the tests of the
 * PostgreSQL store (test_store, the cluster tests). initdb makes it in a
 * fresh temporary folder, the server listens on 127.0.0.1 at a free port,
 * and it is removed afterwards. The binaries are found with pg_config
 * --bindir, else under /usr/lib/postgresql/<version>/bin (Debian's package
 * puts none of them on PATH). initdb refuses to run as root: a root test
 * runs initdb and the server as the user postgres (Debian's package makes
 * it), else nobody, through runuser; the folder is given to that user. */
#ifndef VIGIL_TESTS_PG_CLUSTER_H
#define VIGIL_TESTS_PG_CLUSTER_H

#include <stddef.h>

typedef struct pg_cluster {
  char root[64];  /* the temporary folder: data/, the socket, the log */
  char bin[1024]; /* the folder of initdb, pg_ctl */
  char as[300];   /* "runuser -u postgres -- " when root, else "" */
  int port;
  int running;
} pg_cluster;

/* initdb and start. 0, or -1 with the reason printed. */
int pg_cluster_start(pg_cluster *c);
/* Stops the server (fast: as an administrator would; immediate: as a crash
 * of PostgreSQL would, nothing flushed that was not committed). */
int pg_cluster_stop(pg_cluster *c, int immediate);
/* Freezes (SIGSTOP) or thaws (SIGCONT) the server and every process of it:
 * a database that stops answering at once (a hung machine, a network that
 * drops every packet), for as long as the test says. 0, or -1. */
int pg_cluster_pause(pg_cluster *c, int paused);
/* Starts a stopped cluster again. */
int pg_cluster_restart(pg_cluster *c);
/* A new empty database: its libpq URI in uri. 0, or -1. */
int pg_cluster_createdb(pg_cluster *c, const char *name, char *uri, size_t n);
/* Stops the server if it runs and removes the folder. */
void pg_cluster_cleanup(pg_cluster *c);

#endif
