/* cluster.h: vigil serve as a node of a cluster on PostgreSQL (cluster.c). */
#ifndef VIGIL_CLI_CLUSTER_H
#define VIGIL_CLI_CLUSTER_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "vigil/vigil.h"

typedef void (*cluster_log_fn)(const char *level, const char *msg, json_t *fields);

/* Opens the engine of the first site of sites ("a,b") this node can claim,
 * in that order; while every one is owned by another live node, waits as a
 * standby and tries again every third of the lease, until one is free or
 * SIGTERM/SIGINT. opts carries the store, the node, the advertised URL and
 * the lease; opts->site is set to the site claimed (a pointer into
 * site_buf). 0 with *e, 1 when stopped by a signal while waiting, or a
 * negative code after logging why. */
int vigil__cluster_claim(vigil_options *opts, const char *sites, char *site_buf, size_t n, vigil_engine **e,
                         cluster_log_fn log);

typedef struct cluster_node cluster_node;
/* Keeps the claimed site: renews its lease every third of the lease on the
 * loop, and stops acting before the lease can run out without a renewal
 * (self-fencing, on this machine's monotonic clock): a watchdog thread ends
 * the process (exit status 3) a fifth of the lease before the lease would
 * end, so no alarm or hook fires from it once another node may have the
 * site, even when the loop is stuck. When a renewal finds the site taken,
 * lost(ud) is called: the node stops. NULL when out of memory. */
cluster_node *vigil__cluster_start(uv_loop_t *loop, vigil_engine *e, int64_t lease_ms, void (*lost)(void *ud), void *ud,
                                   cluster_log_fn log);
/* Renewals made and failed (for /metrics). */
void vigil__cluster_counts(const cluster_node *n, uint64_t *renewals, uint64_t *failures);
void vigil__cluster_stop(cluster_node *n);

#endif
