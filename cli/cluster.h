/* cluster.h: vigil serve as a node of a cluster on PostgreSQL (cluster.c). */
#ifndef VIGIL_CLI_CLUSTER_H
#define VIGIL_CLI_CLUSTER_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "vigil/vigil.h"

typedef void (*cluster_log_fn)(const char *level, const char *msg, json_t *fields);

/* The monotonic clock, in ms: a site's lease is measured on it from the
 * start of its claim or of its last successful renewal. */
int64_t vigil__cluster_mono_ms(void);

/* Tries once to claim site and open its engine (opts carries the store, the
 * node, the advertised URL and the lease; opts->site is set to site, which
 * must outlive the engine). 0 with *e, VIGIL_EBUSY while another live node
 * owns it (said once through log: *said's bit 1), or while another live
 * process with this node's name holds it (said once as an error: bit 2),
 * VIGIL_EIO while PostgreSQL cannot be reached (said once as a warning until
 * it answers again: bit 4; the caller tries again later), or another
 * negative code after logging why. */
int vigil__cluster_try(vigil_options *opts, const char *site, vigil_engine **e, int *said, cluster_log_fn log);

/* Waits as a standby until SIGTERM/SIGINT or until claim(ud) returns
 * neither 0 (every site owned: said once, as the standby line) nor 2 (none
 * claimed, for a reason the claim said): claim is called at once and then
 * every third of lease_ms. Its value (it claimed a site, or failed), or 0
 * when stopped by a signal. */
int vigil__cluster_standby(int64_t lease_ms, const char *sites, int (*claim)(void *ud), void *ud, cluster_log_fn log);

typedef struct cluster_node cluster_node;
/* Keeps one claimed site: renews its lease every tenth of the lease on the
 * loop (so an outage shorter than half the lease is ridden out), and stops
 * acting for it before the lease can run out without a renewal
 * (self-fencing, on this machine's monotonic clock, from claimed_ms on,
 * then from the start of each renewal): a watchdog thread fences the site's
 * store a fifth of the lease before the lease would end (nothing of the
 * site becomes durable from then on, so no alarm or hook of it reaches
 * anyone), even when the loop is stuck, and ends the process (exit status
 * 3) when no other site of the node is still held. When a renewal finds the
 * site taken (or fenced), lost(ud) is called once on the loop. It renews
 * once before anything else (AF4): the site was claimed before its
 * protocols were loaded, and the loop renewed nothing meanwhile. 0 and *out;
 * VIGIL_EBUSY (taken by another node meanwhile) or VIGIL_ECORRUPT (part of
 * the schema gone) with err: the site is not to be served; -1 when out of
 * memory. */
int vigil__cluster_start(uv_loop_t *loop, vigil_engine *e, int64_t lease_ms, int64_t claimed_ms, void (*lost)(void *ud),
                         void *ud, cluster_log_fn log, cluster_node **out, char *err, size_t errlen);
/* 1 when lost(ud) was called because the site's database lacks part of the
 * schema (a table or a column gone while the node ran): the node stops,
 * status 1, as at its start. */
int vigil__cluster_broken(const cluster_node *n);
/* Renewals made and failed (for /metrics). */
void vigil__cluster_counts(const cluster_node *n, uint64_t *renewals, uint64_t *failures);
/* Stops the renewals and the watchdog; the site no longer counts as held. */
void vigil__cluster_stop(cluster_node *n);

#endif
