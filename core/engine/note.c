/* note.c: a nursing note on a visit, at any time (docs/events.md
 * note.written): free text, attributed and timed by its event, shown in the
 * visit's history and on its summary. A note records what a person saw or
 * did; it changes nothing the rules judge, so it is taken on a visit in any
 * state, a discharged or aborted one too (an addendum written afterwards). */
#include "note.h"
#include "commands.h"
#include "emit.h"
#include "fail.h"
#include "free_text.h"
#include "recover.h"
#include "base/intern.h"

/* A note's length: a paragraph or two, as on a paper chart's notes. */
#define NOTE_MAX 2000

int vigil__cmd_visit_note(vigil_engine *e, uint64_t id, const char *actor, const char *note) {
  visit *v = vigil__engine_visit(e, id);
  if (!v) return vigil__engine_fail(e, VIGIL_ENOENT, "visit", "no visit %llu", (unsigned long long)id);
  int rc = vigil__free_text_check(e, "note", note, NOTE_MAX, 1);
  if (rc) return rc;
  /* AQ7 (docs/security.md): a visit's notes are bounded as its readings are. */
  rc = vigil__visit_full(e, v, "a note", "notes", v->n_notes, 1,
                         e->opts.max_notes_per_visit ? e->opts.max_notes_per_visit : VIGIL_MAX_NOTES_PER_VISIT,
                         "max_notes_per_visit", "Write it on paper and tell the site's administrator");
  if (rc) return rc;
  val data = vigil__val_recordv(1, K(note), vigil__val_cstring(note));
  if (!vigil__val_ok(data)) return VIGIL_ENOMEM;
  if (!vigil__emit(e, v, EV_NOTE_WRITTEN, vigil__intern(actor && *actor ? actor : "unknown"), data))
    return VIGIL_ENOMEM;
  return vigil__engine_done(e, v);
}
