/* chair.h: one chair or bay however it is spelled (docs/workstation.md AE6,
 * AK3). */
#ifndef VIGIL_CHAIR_H
#define VIGIL_CHAIR_H

/* A location's keys: a patient reference's two (core/base/utf8.h
 * vigil__unicode_id_fold and vigil__unicode_id_skeleton) of the location
 * without the zeros that begin its numbers. */
typedef struct chair_key {
  char *fold, *skeleton; /* skeleton NULL when ICU has no data */
} chair_key;

/* 0, or -1 when location is not UTF-8 or out of memory (nothing kept). */
int vigil__chair_key(const char *location, chair_key *k);
void vigil__chair_key_free(chair_key *k);
/* Whether location (NULL: none) is the chair of k: one of its keys is k's. */
int vigil__chair_is(const chair_key *k, const char *location);

#endif
