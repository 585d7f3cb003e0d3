/* intern.h: interned strings.
 *
 * Names that recur in every event (item ids, field names, actors, event data
 * keys) are stored once and compared by pointer. The table is shared by all
 * engines of a process and freed when the last one is freed.
 */
#ifndef VIGIL_INTERN_H
#define VIGIL_INTERN_H

#include <stddef.h>

/* Returns the one copy of s, or NULL when out of memory. */
const char *intern(const char *s);
const char *intern_n(const char *s, size_t n);
/* Returns the interned copy if s was interned already, else NULL (never allocates). */
const char *intern_find(const char *s, size_t n);

int intern_retain(void);  /* one per engine; 0 or VIGIL_ENOMEM */
void intern_release(void);

/* Keys of event data, interned once: K_item is the string "item". */
#define VIGIL_KEYS(X)                                                                            \
  X(actor) X(alert) X(at) X(by) X(due) X(escalate_ms) X(from) X(item) X(key) X(latching)         \
  X(level) X(message) X(occurrence) X(params) X(patient) X(phase) X(previous) X(priority)        \
  X(protocol) X(reason) X(reasons) X(rule) X(scope) X(sha256) X(source) X(total) X(value)        \
  X(values) X(version) X(late_ms) X(where) X(vigil) X(high) X(medium) X(low) X(overdue) X(technical)    \
  X(hook) X(location)

#define VIGIL_KEY_DECL_(k) extern const char *K_##k;
VIGIL_KEYS(VIGIL_KEY_DECL_)
#undef VIGIL_KEY_DECL_

#endif
