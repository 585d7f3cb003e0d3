/* pg_connect.c: a connection to PostgreSQL that tells a passing outage from
 * a setting to correct.
 *
 * D2 of the second try (docs/deploy.md): a role or a database that does not
 * exist, a wrong password or sslmode=bogus were all taken for an outage, and
 * a node waited for ever saying it could not reach the database. libpq
 * gives the SQLSTATE of a server's refusal of a connection only in its
 * message, and only with verbose messages, which are set between
 * PQconnectStart and the polls (PQconnectdb gives no chance to). */
#include "pg_connect.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* connect_timeout of the connection's options, in ms; -1: none (wait as
 * long as the network does, as PQconnectdb). */
static int timeout_ms(PGconn *c) {
  PQconninfoOption *o = PQconninfo(c);
  int ms = -1;
  for (PQconninfoOption *i = o; i && i->keyword; i++)
    if (!strcmp(i->keyword, "connect_timeout") && i->val && atoi(i->val) > 0)
      ms = atoi(i->val) < 2 ? 2000 : atoi(i->val) * 1000; /* libpq's least is 2 s */
  PQconninfoFree(o);
  return ms;
}

/* 1 when the message holds a server's refusal that only a person can mend:
 * SQLSTATE class 28 (the role, the password: invalid authorization) or
 * 3D000 (no such database), as "FATAL:  28000: ..." in a verbose message. */
static int refused_for_good(const char *msg) {
  for (const char *p = msg; (p = strstr(p, "FATAL:  ")); p++) {
    const char *state = p + strlen("FATAL:  ");
    if (strlen(state) > 6 && state[5] == ':' && (!strncmp(state, "28", 2) || !strncmp(state, "3D000", 5))) return 1;
  }
  return 0;
}

/* The line of msg that says why: the server's refusal when there is one
 * (several hosts each say theirs), else the first line. */
static void why_line(const char *msg, char *out, size_t n) {
  const char *line = msg;
  for (const char *p = msg; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n'))
    if (strstr(p, "FATAL:  ") && strstr(p, "FATAL:  ") < p + strcspn(p, "\n")) {
      line = p;
      break;
    }
  snprintf(out, n, "%.*s", (int)strcspn(line, "\n"), *line ? line : "no answer");
}

PGconn *vigil__pg_connect(const char *uri, int *permanent, char *why, size_t n) {
  *permanent = 0;
  if (n) why[0] = '\0';
  PGconn *c = PQconnectStart(uri);
  if (!c) return NULL;
  if (PQstatus(c) == CONNECTION_BAD) {
    /* Refused before the server answered: the URI or one of its options
     * (sslmode=bogus) is for a person to correct; but a host's name that
     * could not be looked up (the name server may be away), or a host
     * tried and not reached, is an outage, tried again. A Unix socket
     * fails here, at once, while PostgreSQL restarts (its socket file is
     * gone: "connection to server on socket ... failed: No such file or
     * directory"; AJ4 of docs/deploy.md); TCP fails later, in the polls. */
    const char *msg = PQerrorMessage(c);
    why_line(msg, why, n);
    *permanent = !strstr(msg, "could not translate host name") && !strstr(msg, "connection to server") &&
                 !strstr(msg, "could not connect to server"); /* libpq before 14 */
    return c;
  }
  PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
  int wait = timeout_ms(c);
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
    struct pollfd p = {.fd = PQsocket(c), .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
    int ready = poll(&p, 1, wait);
    if (ready < 0 && errno == EINTR) continue;
    /* No answer within connect_timeout: a passing outage (the connection,
     * not made, is the caller's to finish). Unlike PQconnectdb this does
     * not go on to a further host of the URI: the next try does. */
    if (ready == 0) {
      snprintf(why, n, "timeout expired after %d s", wait / 1000);
      return c;
    }
    st = PQconnectPoll(c);
  }
  PQsetErrorVerbosity(c, PQERRORS_DEFAULT);
  if (PQstatus(c) != CONNECTION_OK) {
    why_line(PQerrorMessage(c), why, n);
    *permanent = refused_for_good(PQerrorMessage(c));
  }
  return c;
}
