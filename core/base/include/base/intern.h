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
const char *vigil__intern(const char *s);
const char *vigil__intern_n(const char *s, size_t n);
/* Returns the interned copy if s was interned already, else NULL (never allocates). */
const char *vigil__intern_find(const char *s, size_t n);

/* One per engine; 0, VIGIL_ENOMEM, or VIGIL_ESTATE from a thread that is not
 * the owner's while the table is held (vigil.h, Threads). */
int vigil__intern_retain(void);
void vigil__intern_release(void);
/* Whether this thread may use the table: its owner's, or none holds it. The
 * others get NULL from the functions above. */
int vigil__intern_here(void);

/* Keys of event data, interned once: K(item) is the interned string "item". */
/* clang-format 14 reflows this list differently on each pass. */
// clang-format off
#define VIGIL_KEYS(X) \
  X(actor) X(alert) X(at) X(by) X(due) X(escalate_ms) X(from) X(item) X(key) X(latching) X(level) \
  X(message) X(occurrence) X(params) X(patient) X(phase) X(previous) X(priority) X(protocol) \
  X(reason) X(reasons) X(rule) X(scope) X(sha256) X(source) X(total) X(value) X(values) X(version) \
  X(late_ms) X(observed_at) X(where) X(vigil) X(high) X(medium) X(low) X(overdue) X(technical) X(hook) \
  X(location) X(follows) X(items) X(attests) X(calculation) X(attested) X(ref) \
  X(new_patient) X(similar_to) X(dosed_at) X(no_dose) \
  X(course) X(session) X(visit) X(measure) X(why) X(status) X(override) X(concurrent) X(alerts) X(alerts_left) \
  X(carry) X(amended) X(signature) X(user) X(method) X(reference) X(note) X(holds) \
  X(realert) X(clinician) X(observed) X(field) X(reading) X(units) X(limit) X(latch) X(repeats)
// clang-format on

#define VIGIL_KEY_DECL_(k) const char *k;
extern struct vigil__keys { VIGIL_KEYS(VIGIL_KEY_DECL_) } vigil__keys;
#undef VIGIL_KEY_DECL_
#define K(k) (vigil__keys.k)

#endif
