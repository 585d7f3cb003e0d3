/* roles.h: the four roles and what each may do.
 *
 * The whole permission matrix is the table in roles.c, so that who may do
 * what can be read (and reviewed by a clinic) in one place. */
#ifndef VIGIL_ROLES_H
#define VIGIL_ROLES_H

typedef enum role { ROLE_NURSE, ROLE_CLINICIAN, ROLE_ADMIN, ROLE_INTEGRATOR, ROLE_COUNT } role;

typedef enum permission {
  PERM_READ_CLINICAL, /* visits, alerts, protocols */
  PERM_READ_EVENTS,   /* the event log and its stream */
  PERM_EXPORT,        /* exports of a visit (FHIR, REMS) */
  PERM_RECORD,        /* start a visit, record, amend, skip, advance, acknowledge */
  PERM_DISCHARGE,     /* discharge or abort a visit (a signature) */
  PERM_SIGN,          /* record a signature item (a second person) */
  PERM_OVERRIDE,      /* override a phase gate (a signature) */
  PERM_AUTHOR,        /* upload a new protocol version (linted and tested, not yet usable) */
  PERM_APPROVE,       /* approve a protocol version (a signature): visits may start on it */
  PERM_USERS,         /* create, disable, reset users; issue API tokens */
  PERM_CLOCK,         /* advance the simulated test clock */
  PERM_PRESCRIBE,     /* start a visit with a prescribed param other than its default (docs/safety.md, H5) */
  PERM_COUNT
} permission;

const char *vigil__role_name(role r);
/* -1 if s names no role. */
int vigil__role_parse(const char *s);
int vigil__role_may(role r, permission p);
/* "record", as errors name a permission. */
const char *vigil__permission_name(permission p);

#endif
