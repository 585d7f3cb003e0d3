/* pg_cluster.c: a throw-away PostgreSQL cluster for tests (pg_cluster.h). */
#include "pg_cluster.h"

#include "http_client.h"

#include <dirent.h>
#include <glob.h>
#include <signal.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int has_initdb(const char *dir) {
  char path[1100];
  snprintf(path, sizeof path, "%s/initdb", dir);
  return access(path, X_OK) == 0;
}

/* pg_config --bindir, else the newest /usr/lib/postgresql/N/bin. */
static int find_bin(pg_cluster *c) {
  FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
  if (p) {
    if (fgets(c->bin, sizeof c->bin, p)) c->bin[strcspn(c->bin, "\n")] = '\0';
    pclose(p);
    if (c->bin[0] && has_initdb(c->bin)) return 0;
  }
  glob_t g;
  int found = -1;
  if (glob("/usr/lib/postgresql/*/bin", 0, NULL, &g) == 0) {
    for (size_t i = g.gl_pathc; i-- > 0 && found < 0;)
      if (has_initdb(g.gl_pathv[i])) {
        snprintf(c->bin, sizeof c->bin, "%s", g.gl_pathv[i]);
        found = 0;
      }
    globfree(&g);
  }
  if (found < 0)
    fprintf(stderr, "pg_cluster: no initdb (pg_config --bindir, /usr/lib/postgresql/*/bin): install the Debian "
                    "package postgresql (scripts/install-deps does)\n");
  return found;
}

static int run(pg_cluster *c, const char *what, const char *args) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s%s/%s %s", c->as, c->bin, what, args);
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "pg_cluster: failed (%d): %s\n", rc, cmd);
  return rc == 0 ? 0 : -1;
}

static int start_server(pg_cluster *c) {
  char args[1024];
  snprintf(args, sizeof args,
           "-D %s/data -l %s/server.log -w -t 60 -o \"-c listen_addresses=127.0.0.1 -c port=%d "
           "-c unix_socket_directories=%s -c max_connections=60 -c shared_buffers=16MB\" start >/dev/null",
           c->root, c->root, c->port, c->root);
  if (run(c, "pg_ctl", args) < 0) {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "tail -20 %s/server.log >&2", c->root);
    if (system(cmd)) {
    }
    return -1;
  }
  c->running = 1;
  return 0;
}

int pg_cluster_start(pg_cluster *c) {
  memset(c, 0, sizeof *c);
  if (find_bin(c) < 0) return -1;
  strcpy(c->root, "/tmp/vigil-pg-XXXXXX");
  if (!mkdtemp(c->root)) {
    perror("pg_cluster: mkdtemp");
    return -1;
  }
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (!pw) pw = getpwnam("nobody");
    if (!pw || chown(c->root, pw->pw_uid, pw->pw_gid) < 0) {
      fprintf(stderr, "pg_cluster: running as root, and no user postgres or nobody to run initdb as\n");
      return -1;
    }
    snprintf(c->as, sizeof c->as, "runuser -u %s -- ", pw->pw_name);
  }
  if ((c->port = hc_free_port()) < 0) return -1;
  char args[512];
  snprintf(args, sizeof args, "-D %s/data -A trust -U vigil --no-sync -E UTF8 --locale=C >/dev/null", c->root);
  if (run(c, "initdb", args) < 0) return -1;
  return start_server(c);
}

int pg_cluster_stop(pg_cluster *c, int immediate) {
  if (!c->running) return 0;
  char args[256];
  snprintf(args, sizeof args, "-D %s/data -m %s -w stop >/dev/null", c->root, immediate ? "immediate" : "fast");
  int rc = run(c, "pg_ctl", args);
  if (rc == 0) c->running = 0;
  return rc;
}

int pg_cluster_pause(pg_cluster *c, int paused) {
  char path[128];
  snprintf(path, sizeof path, "%s/data/postmaster.pid", c->root);
  FILE *f = fopen(path, "r");
  long postmaster = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld", &postmaster) != 1) postmaster = 0;
  fclose(f);
  if (postmaster <= 0) return -1;
  int sig = paused ? SIGSTOP : SIGCONT;
  /* The postmaster first when freezing (no new backend meanwhile), last
   * when thawing; its children from /proc (their parent is it). */
  if (paused && kill((pid_t)postmaster, sig) < 0) return -1;
  DIR *d = opendir("/proc");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    long pid = atol(de->d_name), ppid = 0;
    if (pid <= 0) continue;
    char stat_path[64], line[512];
    snprintf(stat_path, sizeof stat_path, "/proc/%ld/stat", pid);
    FILE *st = fopen(stat_path, "r");
    if (!st) continue;
    if (fgets(line, sizeof line, st)) {
      const char *after = strrchr(line, ')'); /* the command's name may hold spaces */
      if (after) sscanf(after + 1, " %*c %ld", &ppid);
    }
    fclose(st);
    if (ppid == postmaster) kill((pid_t)pid, sig);
  }
  if (d) closedir(d);
  if (!paused && kill((pid_t)postmaster, sig) < 0) return -1;
  return 0;
}

int pg_cluster_restart(pg_cluster *c) { return c->running ? 0 : start_server(c); }

int pg_cluster_createdb(pg_cluster *c, const char *name, char *uri, size_t n) {
  char admin[256], sql[200];
  snprintf(admin, sizeof admin, "postgresql://vigil@127.0.0.1:%d/postgres", c->port);
  PGconn *conn = PQconnectdb(admin);
  snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
  PGresult *r = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, sql) : NULL;
  int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) fprintf(stderr, "pg_cluster: cannot create database %s: %s\n", name, PQerrorMessage(conn));
  PQclear(r);
  PQfinish(conn);
  snprintf(uri, n, "postgresql://vigil@127.0.0.1:%d/%s", c->port, name);
  return ok ? 0 : -1;
}

void pg_cluster_cleanup(pg_cluster *c) {
  if (!c->root[0]) return;
  pg_cluster_stop(c, 1);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", c->root);
  if (system(cmd)) fprintf(stderr, "pg_cluster: cannot remove %s\n", c->root);
  c->root[0] = '\0';
}
