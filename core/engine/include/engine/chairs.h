/* chairs.h: the visits in one chair or bay, beside vigil.h
 * (core/engine/chair.c, docs/workstation.md AE6, AK3). */
#ifndef VIGIL_ENGINE_CHAIRS_H
#define VIGIL_ENGINE_CHAIRS_H

#include "vigil/vigil.h"

/* vigil_query_visits_json's list of the visits of f whose location is
 * `location` however it is spelled (letter case, width, separators and
 * punctuation, letters of other scripts drawn as ASCII, a number's leading
 * zeros); location NULL: all of f's. NULL with VIGIL_EINVAL (field
 * "location") when location is not UTF-8, or as vigil_query_visits_json. */
char *vigil__query_visits_in_chair_json(vigil_engine *e, const vigil_visit_filter *f, const char *location);

#endif
