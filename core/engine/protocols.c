/* protocols.c: the protocol versions an engine has loaded: loaded from a
 * folder (vigil_engine_load) or from the sources the store kept (a visit's
 * version, at recovery), found by reference or fingerprint, and linted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocols.h"
#include "model.h"
#include "fail.h"
#include "view.h"
#include "base/intern.h"

static int add_protocol(vigil_engine *e, protocol *p);

static void ignore_problem(void *ud, const char *where, const char *message) {
  buf *b = ud;
  vigil__buf_printf(b, "%s%s: %s", b->len ? "; " : "", where, message);
}

/* A protocol that did not load for want of memory (the sandbox's "out of
 * memory", Lua's "not enough memory", lost problems, or none said at all)
 * is VIGIL_ENOMEM, not a protocol's fault. */
static int ran_out_of_memory(const buf *problems) {
  const char *said = problems->p ? problems->p : "";
  return problems->oom || !*said || strstr(said, "out of memory") || strstr(said, "not enough memory");
}

protocol *vigil__engine_protocol_by_sha(vigil_engine *e, const char *sha256, int *rc, char *err, size_t errlen) {
  *rc = 0;
  for (uint32_t i = 0; i < e->n_protocols; i++)
    if (!strcmp(e->protocols[i]->sha256, sha256)) return e->protocols[i];
  char *dir;
  source_file *files;
  uint32_t n;
  if ((*rc = e->store->ops->get_protocol(e->store, sha256, &dir, &files, &n, err, errlen)) < 0) return NULL;
  buf problems;
  vigil__buf_init(&problems);
  protocol *p = vigil__protocol_load_stored(dir, files, n, e->opts.lua_memory_cap, e->opts.lua_instruction_budget,
                                            ignore_problem, &problems);
  if (!p) {
    /* A stored version loaded when it was stored: one that does not load
     * for want of memory is not corrupt. */
    const char *said = problems.p ? problems.p : "";
    *rc = ran_out_of_memory(&problems) ? VIGIL_ENOMEM : VIGIL_ECORRUPT;
    snprintf(err, errlen, "the stored protocol %s does not load: %s", sha256, *said ? said : "out of memory");
  } else if (strcmp(p->sha256, sha256) != 0) {
    snprintf(err, errlen, "the stored protocol %s does not match its fingerprint", sha256);
    *rc = VIGIL_ECORRUPT;
    vigil__protocol_free(p);
    p = NULL;
  } else if (add_protocol(e, p) < 0) {
    snprintf(err, errlen, "out of memory");
    *rc = VIGIL_ENOMEM;
    p = NULL;
  }
  vigil__buf_free(&problems);
  free(dir);
  return p;
}

typedef struct problem_sink {
  buf b;
  int n;
} problem_sink;

static void collect_problem(void *ud, const char *where, const char *message) {
  problem_sink *s = ud;
  if (s->n++) vigil__buf_putc(&s->b, '\n');
  vigil__buf_printf(&s->b, "%s: %s", where, message);
}

int vigil_engine_load(vigil_engine *e, const char *path, const char **ref) {
  problem_sink sink = {.n = 0};
  vigil__buf_init(&sink.b);
  protocol *p =
      vigil__protocol_load(path, e->opts.lua_memory_cap, e->opts.lua_instruction_budget, collect_problem, &sink);
  if (!p) {
    int rc = vigil__engine_fail(e, ran_out_of_memory(&sink.b) ? VIGIL_ENOMEM : VIGIL_EPROTOCOL, NULL, "%s",
                                sink.b.p ? sink.b.p : "out of memory loading the protocol");
    vigil__buf_free(&sink.b);
    return rc;
  }
  vigil__buf_free(&sink.b);
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    protocol *q = e->protocols[i];
    if (strcmp(q->ref, p->ref) != 0) continue;
    int same = !strcmp(q->sha256, p->sha256);
    vigil__protocol_free(p);
    if (!same)
      return vigil__engine_fail(e, VIGIL_EEXIST, NULL,
                                "%s is loaded already with other content: a changed protocol needs a new version",
                                q->ref);
    if (ref) *ref = q->ref;
    return 0;
  }
  if (add_protocol(e, p) < 0) return vigil__engine_fail(e, VIGIL_ENOMEM, NULL, "out of memory loading %s", path);
  if (ref) *ref = p->ref;
  return 0;
}

/* Adds a loaded version (the engine owns it from now on; freed on failure). */
static int add_protocol(vigil_engine *e, protocol *p) {
  protocol **ps = realloc(e->protocols, (e->n_protocols + 1) * sizeof *ps);
  if (ps) e->protocols = ps;
  if (!ps || vigil__view_install(e, p) < 0) {
    vigil__protocol_free(p);
    return VIGIL_ENOMEM;
  }
  e->protocols[e->n_protocols++] = p;
  /* Loaded: from now on its calls serve visits, under the site's time limit. */
  if (p->sb) p->sb->time_limit_ns = (uint64_t)e->opts.lua_time_limit_ms * 1000000u;
  /* ... and each entry's calls together under one budget (AC3). */
  if (p->sb) p->sb->pool = &e->lua_pool;
  return 0;
}

static void count_problem(void *ud, const char *where, const char *message) {
  void **args = ud;
  int *n = args[0];
  vigil_problem_fn fn = (vigil_problem_fn)(uintptr_t)args[1];
  (*n)++;
  if (fn) fn(args[2], where, message);
}

int vigil_lint_identify(const char *path, vigil_problem_fn fn, void *ud, char *ref, size_t reflen, char sha256[65]) {
  int held = vigil__intern_retain(); /* VIGIL_ESTATE: another thread's engines hold the names (vigil.h) */
  if (held < 0) return held;
  int n = 0;
  void *args[3] = {&n, (void *)(uintptr_t)fn, ud};
  protocol *p = vigil__protocol_load(path, 0, 0, count_problem, args);
  /* A clean protocol is also run against synthetic visits: a rule that fails
   * on a value it will meet fails lint, not a patient's visit. */
  if (p) vigil__protocol_exercise(p, count_problem, args);
  if (p && ref) snprintf(ref, reflen, "%s", p->ref);
  if (p && sha256) memcpy(sha256, p->sha256, 65);
  vigil__protocol_free(p);
  vigil__intern_release();
  return n;
}

int vigil_lint(const char *path, vigil_problem_fn fn, void *ud) {
  return vigil_lint_identify(path, fn, ud, NULL, 0, NULL);
}

/* Compares two MAJOR.MINOR.PATCH versions (vigil.lua checked their form). */
int vigil_version_compare(const char *a, const char *b) {
  for (int i = 0; i < 3; i++) {
    char *ea, *eb;
    unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);
    if (x != y) return x < y ? -1 : 1;
    a = *ea ? ea + 1 : ea;
    b = *eb ? eb + 1 : eb;
  }
  return 0;
}

void vigil_engine_protocols(vigil_engine *e, vigil_protocol_fn fn, void *ud) {
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    const protocol *p = e->protocols[i];
    fn(ud, p->ref, p->id, p->version, p->sha256);
  }
}

protocol *vigil__engine_find_protocol(vigil_engine *e, const char *ref) {
  protocol *found = NULL;
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    protocol *p = e->protocols[i];
    if (!strcmp(p->ref, ref)) return p;
    /* A bare id is the highest version loaded, whatever the loading order
     * (recovery loads old stored versions too). */
    if (!strcmp(p->id, ref) && (!found || vigil_version_compare(p->version, found->version) > 0)) found = p;
  }
  return found;
}

uint32_t vigil__engine_protocol_count(const vigil_engine *e) { return e->n_protocols; }
protocol *vigil__engine_protocol(vigil_engine *e, uint32_t i) { return i < e->n_protocols ? e->protocols[i] : NULL; }
