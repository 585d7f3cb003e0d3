/* patient_index.c: the patients the engine knows, by reference and by
 * spelling (docs/safety.md K2, L5).
 *
 * A patient is known while a course of theirs exists or a visit of theirs is
 * held in memory (e->visits). Each patient ever known has one entry in an
 * open-addressed table by its interned reference: its spelling keys (its fold,
 * vigil__unicode_id_fold, and its confusable skeleton, vigil__unicode_id_skeleton,
 * both interned, made once), the ids of its courses, ascending (so that a
 * course lookup reads the patient's courses, not every course), and the ids
 * of its held visits, ascending. A second table, by interned key,
 * lists the patients of each key: a visit start finds the patients spelled
 * like its own in O(1) instead of comparing with every known patient
 * (issue 16). Entries stay once made, as their keys were kept before. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "patient_index.h"
#include "model.h"
#include "base/buf.h"
#include "base/intern.h"
#include "base/utf8.h"

struct spelling {
  const char *patient;           /* interned; NULL: a free slot */
  const char *folded, *skeleton; /* interned; NULL when it could not be made */
  uint64_t *courses;             /* its courses' ids, ascending (courses go all at once) */
  uint32_t n_courses, cap_courses;
  uint32_t n_visits;
  /* Its held visits' ids, ascending: one (nearly every patient) in the
   * entry itself, more in an array of visits_cap(n_visits) (issue 16: no
   * allocation per patient). */
  union {
    uint64_t one;
    uint64_t *many;
  } visits;
};

/* The room a patient's visit ids have for n of them. */
static uint32_t visits_cap(uint32_t n) {
  if (n <= 1) return 1;
  uint32_t cap = 4;
  while (cap < n)
    cap *= 2;
  return cap;
}

static uint64_t *visits_of(struct spelling *s) { return s->n_visits > 1 ? s->visits.many : &s->visits.one; }
static uint64_t first_visit(const struct spelling *s) { return s->n_visits > 1 ? s->visits.many[0] : s->visits.one; }

enum { KEY_FOLD, KEY_SKELETON };

/* One (key, patient) pair; a key has as many as patients spelled so. Which
 * of the patient's keys it is (fold or skeleton) is in the patient's entry,
 * so a pair is 16 bytes, not 24 (issue 16), and a patient whose fold is its
 * skeleton has one pair. */
struct alike {
  const char *key; /* interned; NULL: a free slot */
  const char *patient;
};

static uint32_t slot_of(const char *p, uint32_t cap) {
  return (uint32_t)(((uintptr_t)p >> 4) * 2654435761u) & (cap - 1);
}

static struct spelling *spelling_slot(struct spelling *t, uint32_t cap, const char *patient) {
  uint32_t i = slot_of(patient, cap);
  while (t[i].patient && t[i].patient != patient)
    i = (i + 1) & (cap - 1);
  return &t[i];
}

static struct alike *alike_free_slot(struct alike *t, uint32_t cap, const char *key) {
  uint32_t i = slot_of(key, cap);
  while (t[i].key)
    i = (i + 1) & (cap - 1);
  return &t[i];
}

static void spare_free(vigil_engine *e) {
  free(e->spare_patient);
  free(e->spare_folded);
  free(e->spare_skeleton);
  e->spare_patient = e->spare_folded = e->spare_skeleton = NULL;
}

void vigil__patients_free(vigil_engine *e) {
  for (uint32_t i = 0; i < e->cap_spellings; i++)
    if (e->spellings[i].n_visits > 1) free(e->spellings[i].visits.many);
  for (uint32_t i = 0; i < e->cap_spellings; i++)
    free(e->spellings[i].courses);
  free(e->spellings);
  free(e->alikes);
  e->spellings = NULL;
  e->alikes = NULL;
  e->n_spellings = e->cap_spellings = e->n_alikes = e->cap_alikes = 0;
  spare_free(e);
}

/* The entry of an interned patient, or NULL when it has none. */
static struct spelling *find(const vigil_engine *e, const char *patient) {
  if (!patient || !e->cap_spellings) return NULL;
  struct spelling *s = spelling_slot(e->spellings, e->cap_spellings, patient);
  return s->patient ? s : NULL;
}

static int known(const struct spelling *s) { return s && (s->n_courses || s->n_visits); }

/* Room for one more entry and its two keys; 0 or VIGIL_ENOMEM. */
static int make_room(vigil_engine *e) {
  if (2 * (e->n_spellings + 1) > e->cap_spellings) {
    uint32_t cap = e->cap_spellings ? 2 * e->cap_spellings : 64;
    struct spelling *t = calloc(cap, sizeof *t);
    if (!t) return VIGIL_ENOMEM;
    for (uint32_t i = 0; i < e->cap_spellings; i++)
      if (e->spellings[i].patient) *spelling_slot(t, cap, e->spellings[i].patient) = e->spellings[i];
    free(e->spellings);
    e->spellings = t;
    e->cap_spellings = cap;
  }
  if (2 * (e->n_alikes + 2) > e->cap_alikes) {
    uint32_t cap = e->cap_alikes ? 2 * e->cap_alikes : 128;
    struct alike *t = calloc(cap, sizeof *t);
    if (!t) return VIGIL_ENOMEM;
    for (uint32_t i = 0; i < e->cap_alikes; i++)
      if (e->alikes[i].key) *alike_free_slot(t, cap, e->alikes[i].key) = e->alikes[i];
    free(e->alikes);
    e->alikes = t;
    e->cap_alikes = cap;
  }
  return 0;
}

/* Interns a key made by malloc (NULL stays NULL) and frees it; 0, or
 * VIGIL_ENOMEM when it could not be interned. */
static int intern_key(char *made, const char **out) {
  *out = NULL;
  if (!made) return 0;
  *out = vigil__intern(made);
  free(made);
  return *out ? 0 : VIGIL_ENOMEM;
}

/* patient's entry (interned), made with its keys at its first use (the keys
 * of the last start checked when it is that patient's); NULL out of memory. */
static struct spelling *entry_of(vigil_engine *e, const char *patient) {
  struct spelling *s = find(e, patient);
  if (s) return s;
  if (make_room(e) < 0) return NULL;
  char *folded, *skeleton;
  if (e->spare_patient && !strcmp(e->spare_patient, patient)) {
    folded = e->spare_folded;
    skeleton = e->spare_skeleton;
    e->spare_folded = e->spare_skeleton = NULL;
    spare_free(e);
  } else {
    folded = vigil__unicode_id_fold(patient);
    skeleton = vigil__unicode_id_skeleton(patient);
  }
  const char *f, *k;
  int rc = intern_key(folded, &f);
  if (intern_key(skeleton, &k) < 0 || rc < 0) return NULL;
  s = spelling_slot(e->spellings, e->cap_spellings, patient);
  *s = (struct spelling){.patient = patient, .folded = f, .skeleton = k};
  e->n_spellings++;
  if (f) {
    *alike_free_slot(e->alikes, e->cap_alikes, f) = (struct alike){f, patient};
    e->n_alikes++;
  }
  if (k && k != f) {
    *alike_free_slot(e->alikes, e->cap_alikes, k) = (struct alike){k, patient};
    e->n_alikes++;
  }
  return s;
}

int vigil__patients_hold_visit(vigil_engine *e, const char *patient, uint64_t id) {
  const char *p = vigil__intern(patient);
  struct spelling *s = p ? entry_of(e, p) : NULL;
  if (!s) return VIGIL_ENOMEM;
  uint64_t *vs = visits_of(s);
  uint32_t at = s->n_visits;
  while (at > 0 && vs[at - 1] > id)
    at--;
  if (at > 0 && vs[at - 1] == id) return 0;
  if (s->n_visits == visits_cap(s->n_visits)) {
    /* Out of room: the ids move to a larger array (from the entry itself,
     * or from a smaller array). */
    uint64_t *grown = malloc(visits_cap(s->n_visits + 1) * sizeof *grown);
    if (!grown) return VIGIL_ENOMEM;
    memcpy(grown, vs, s->n_visits * sizeof *vs);
    if (s->n_visits > 1) free(s->visits.many);
    s->visits.many = vs = grown;
  }
  memmove(vs + at + 1, vs + at, (s->n_visits - at) * sizeof *vs);
  vs[at] = id;
  s->n_visits++;
  return 0;
}

void vigil__patients_drop_visit(vigil_engine *e, const char *patient, uint64_t id) {
  struct spelling *s = patient ? find(e, vigil__intern_find(patient, strlen(patient))) : NULL;
  uint64_t *vs = s ? visits_of(s) : NULL;
  for (uint32_t i = s ? s->n_visits : 0; i-- > 0;)
    if (vs[i] == id) {
      memmove(vs + i, vs + i + 1, (s->n_visits - i - 1) * sizeof *vs);
      if (s->n_visits-- == 2) { /* back into the entry */
        uint64_t last = vs[0];
        free(vs);
        s->visits.one = last;
      }
      return;
    }
}

const uint64_t *vigil__patients_visits(const vigil_engine *e, const char *patient, uint32_t *n) {
  struct spelling *s = patient ? find(e, vigil__intern_find(patient, strlen(patient))) : NULL;
  *n = s ? s->n_visits : 0;
  return s ? visits_of(s) : NULL;
}

int vigil__patients_add_course(vigil_engine *e, const char *patient, uint64_t id) {
  struct spelling *s = entry_of(e, patient);
  if (!s) return VIGIL_ENOMEM;
  if (s->n_courses == s->cap_courses) {
    size_t cap;
    uint64_t *cs = vigil__grow(s->courses, s->cap_courses, (size_t)s->n_courses + 1, sizeof *cs, 2, &cap);
    if (!cs) return VIGIL_ENOMEM;
    s->courses = cs;
    s->cap_courses = (uint32_t)cap;
  }
  /* Courses are made in id order; kept ascending whatever the order. */
  uint32_t at = s->n_courses;
  while (at > 0 && s->courses[at - 1] > id)
    at--;
  memmove(s->courses + at + 1, s->courses + at, (s->n_courses - at) * sizeof *s->courses);
  s->courses[at] = id;
  s->n_courses++;
  return 0;
}

void vigil__patients_drop_course(vigil_engine *e, const char *patient, uint64_t id) {
  struct spelling *s = find(e, patient);
  for (uint32_t i = s ? s->n_courses : 0; i-- > 0;)
    if (s->courses[i] == id) {
      memmove(s->courses + i, s->courses + i + 1, (s->n_courses - i - 1) * sizeof *s->courses);
      if (!--s->n_courses) {
        free(s->courses);
        s->courses = NULL;
        s->cap_courses = 0;
      }
      return;
    }
}

const uint64_t *vigil__patients_courses(const vigil_engine *e, const char *patient, uint32_t *n) {
  struct spelling *s = find(e, patient);
  *n = s ? s->n_courses : 0;
  return s ? s->courses : NULL;
}

/* Whether candidate a comes before b as the patient a start is said to be
 * like: one with a course first, by its first course, then by its first
 * held visit (the order the courses, then the visits, were compared in). */
static int before(const struct spelling *a, const struct spelling *b) {
  if (!b) return 1;
  if (a->n_courses || b->n_courses) return b->n_courses ? a->n_courses && a->courses[0] < b->courses[0] : 1;
  return first_visit(a) < first_visit(b);
}

/* The best known patient other than `self` whose key of this kind is key. */
static const struct spelling *alike_of(const vigil_engine *e, const char *key, int kind, const char *self,
                                       const struct spelling *best) {
  if (!key || !e->cap_alikes) return best;
  for (uint32_t i = slot_of(key, e->cap_alikes); e->alikes[i].key; i = (i + 1) & (e->cap_alikes - 1)) {
    const struct alike *a = &e->alikes[i];
    if (a->key != key || a->patient == self) continue;
    const struct spelling *s = find(e, a->patient);
    if (known(s) && (kind == KEY_FOLD ? s->folded : s->skeleton) == key && before(s, best)) best = s;
  }
  return best;
}

const char *vigil__patients_similar(vigil_engine *e, const char *patient) {
  /* A patient known by this exact spelling is that patient. */
  const char *exact = vigil__intern_find(patient, strlen(patient));
  const struct spelling *self = find(e, exact);
  if (known(self)) return NULL;
  /* Its keys: its entry's, or made and kept aside for its entry should the
   * start go on (a start refused as similar adds nothing to the tables). */
  const char *f, *k;
  if (self) {
    f = self->folded;
    k = self->skeleton;
  } else {
    spare_free(e);
    e->spare_folded = vigil__unicode_id_fold(patient);
    e->spare_skeleton = vigil__unicode_id_skeleton(patient);
    e->spare_patient = strdup(patient);
    f = e->spare_folded ? vigil__intern_find(e->spare_folded, strlen(e->spare_folded)) : NULL;
    k = e->spare_skeleton ? vigil__intern_find(e->spare_skeleton, strlen(e->spare_skeleton)) : NULL;
    if (!e->spare_patient) spare_free(e);
  }
  const struct spelling *like = alike_of(e, f, KEY_FOLD, exact, NULL);
  like = alike_of(e, k, KEY_SKELETON, exact, like);
  return like ? like->patient : NULL;
}
