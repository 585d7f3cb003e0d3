/* pg_connect.h: a connection to PostgreSQL that tells a passing outage from
 * a setting to correct (pg_connect.c). Private to core/store/. */
#ifndef VIGIL_CORE_STORE_PG_CONNECT_H
#define VIGIL_CORE_STORE_PG_CONNECT_H

#include <libpq-fe.h>
#include <stddef.h>

/* Connects to uri as PQconnectdb does (its hosts in turn; one that does not
 * answer within connect_timeout ends this try, not status CONNECTION_OK).
 * NULL when out of memory. When the connection failed, *permanent is 1 if
 * no retry can succeed until a person corrects the settings (the server
 * refused the role, the password or the database, or libpq refused an
 * option), else 0 (refused, timed out, starting, in recovery), and why
 * holds the sentence that says it (libpq's, with the server's SQLSTATE). */
PGconn *vigil__pg_connect(const char *uri, int *permanent, char *why, size_t n);

#endif
