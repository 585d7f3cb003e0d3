/* gate.c: what stops a visit from leaving its phase.
 *
 * Every reason is listed, not just the first, so the nurse sees at once all
 * that is left to do. */
#include <stdio.h>
#include <string.h>

#include "engine.h"

static int add(val *list, uint32_t *n, const char *text) {
  val s = val_cstring(text);
  if (!val_ok(s)) return -1;
  val grown = val_list(*n + 1);
  if (!val_ok(grown)) {
    val_release(s);
    return -1;
  }
  for (uint32_t i = 0; i < *n; i++) val_items(grown)[i] = val_retain(val_items(*list)[i]);
  val_items(grown)[*n] = s;
  val_release(*list);
  *list = grown;
  (*n)++;
  return 0;
}

int gate_reasons(vigil_engine *e, visit *v, val *reasons) {
  const protocol *p = v->p;
  const phase_spec *ph = &p->phases[v->phase];
  int64_t now = engine_now(e);
  uint32_t n = 0;
  char text[1200];
  *reasons = val_list(0);
  if (!val_ok(*reasons)) return -1;
  for (uint16_t j = 0; j < ph->n_items; j++) {
    const item_spec *it = &p->items[ph->first_item + j];
    const item_state *s = &v->items[it->index];
    if (!it->required || s->skipped) continue;
    if (!eval_when(e, v, it)) continue;
    if (it->scheduled) {
      int64_t due = item_next_due(v, it, NULL);
      if (due >= 0 && due <= now) {
        snprintf(text, sizeof text, "%s is %s", it->title, s->overdue > s->sat ? "overdue" : "due");
        add(reasons, &n, text);
      } else if (!s->n && due < 0) {
        snprintf(text, sizeof text, "%s not recorded", it->title);
        add(reasons, &n, text);
      }
    } else if (!s->n) {
      snprintf(text, sizeof text, "%s not recorded", it->title);
      add(reasons, &n, text);
    }
  }
  if (ph->min >= 0 && now - v->phase_at < ph->min) {
    int64_t left = (ph->min - (now - v->phase_at) + 59999) / 60000;
    snprintf(text, sizeof text, "minimum time in %s not reached (%lld min left)", ph->title, (long long)left);
    add(reasons, &n, text);
  }
  for (uint32_t i = 0; i < v->n_blocks; i++) add(reasons, &n, v->blocks[i].reason);
  if (!eval_gate(e, v, text, sizeof text)) add(reasons, &n, text);
  return (int)n;
}
