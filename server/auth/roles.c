/* roles.c: the permission matrix (roles.h). */
#include "auth/roles.h"

#include <string.h>

static const char *const ROLE_NAMES[ROLE_COUNT] = {"nurse", "clinician", "admin", "integrator"};

static const char *const PERMISSION_NAMES[PERM_COUNT] = {
    "read",     "read_events", "export",  "record", "discharge", "sign",
    "override", "author",      "approve", "users",  "clock",     "prescribe",
};

/* Nurses step through checklists, acknowledge alerts and discharge;
 * clinicians do the same and also sign, override gates, prescribe (set a
 * dose or an alarm limit other than the protocol's) and upload new protocol
 * versions; admins manage the site (users, protocol versions and
 * their approval, the test clock) and read, but enter no clinical data;
 * integrators read the event feed and exports only. */
static const unsigned char MAY[ROLE_COUNT][PERM_COUNT] = {
    /*                 read ev  exp rec dis sign ovr auth appr usr clk rx */
    [ROLE_NURSE] = /**/ {1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
    [ROLE_CLINICIAN] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1},
    [ROLE_ADMIN] = /**/ {1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0},
    [ROLE_INTEGRATOR] = {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

const char *vigil__role_name(role r) { return r >= 0 && r < ROLE_COUNT ? ROLE_NAMES[r] : "?"; }

int vigil__role_parse(const char *s) {
  for (int i = 0; s && i < ROLE_COUNT; i++)
    if (!strcmp(s, ROLE_NAMES[i])) return i;
  return -1;
}

int vigil__role_may(role r, permission p) { return r >= 0 && r < ROLE_COUNT && p >= 0 && p < PERM_COUNT && MAY[r][p]; }

const char *vigil__permission_name(permission p) { return p >= 0 && p < PERM_COUNT ? PERMISSION_NAMES[p] : "?"; }
