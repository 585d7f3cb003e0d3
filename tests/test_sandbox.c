/* test_sandbox.c: what protocol code must not be able to do.
 *
 * Each row of `attacks` is one fixture, tests/protocols/sandbox/<name>/, whose
 * item rule "attack" does the attack when a value is recorded (or whose body
 * does it while loading, for the load_* rows). Each must be refused or stopped:
 *
 *   LOAD_ERROR  loading fails with a problem at <fixture>/protocol.lua:<line>
 *               whose message holds `expect`;
 *   TECHNICAL   recording a value is accepted, and the rule's failure raises a
 *               technical alert (alert.raised, source "technical", rule
 *               "attack") whose message names the rule, a file:line in the
 *               fixture and holds `expect`;
 *   RULE_ALERT  the rule ends by itself, quickly, with its own alert.
 *
 * No alert may ever say "ESCAPED" (what a fixture says when its attack works).
 * Then, in the same engine, a visit of a normal protocol (bench/workload) must
 * still record values and raise its normal alert.
 *
 * `expect` may list alternatives separated by '|'; "" accepts any message.
 *
 * known_bug: a row that shows an engine bug outside the sandbox (core/ C code).
 * The row still asserts the right behaviour; while the bug is there it is
 * reported as SKIPPED, with the bug, instead of failing. Rows marked isolate
 * crash or hang the engine today, so they run in a child process with a time
 * limit. Once the bug is fixed the row passes and says so: remove the mark.
 *
 * Runs from the repository root (ctest's WORKING_DIRECTORY).
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/vigil.h"

#define FIXTURES "tests/protocols/sandbox"
#define MEMORY_CAP ((size_t)32 << 20)
#define BUDGET 2000000ull
/* An isolated row that takes longer has hung. Under valgrind everything runs
 * tens of times slower: `make valgrind` sets VIGIL_TEST_SLOW. */
#define CHILD_SECONDS (getenv("VIGIL_TEST_SLOW") ? 120 : 6)
#define SIM_START 1767600000000LL /* 2026-01-05T08:00:00Z */

typedef enum expect_kind { LOAD_ERROR, TECHNICAL, RULE_ALERT } expect_kind;

typedef struct attack {
  const char *name; /* fixture folder */
  expect_kind kind;
  const char *expect;
  const char *known_bug; /* NULL: none */
  int isolate;
  uint32_t time_limit_ms; /* of the engine's calls once loaded; 0: the default (2 s) */
} attack;

/* Rows leave known_bug and isolate out when they have none. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const attack attacks[] = {
    /* fixture                   kind        expected text                                   known bug */
    {"os_execute", TECHNICAL, "unknown global 'os'"},
    {"io_open", TECHNICAL, "unknown global 'io'"},
    {"require_parent", TECHNICAL, "bad module name \"../../x\""},
    {"require_os", TECHNICAL, "files can be required only while the protocol loads"},
    {"load_bytecode", TECHNICAL, "attempt to load a binary chunk"},
    {"string_dump", TECHNICAL, "(field 'dump')"},
    {"string_method_dump", TECHNICAL, "(field 'dump')"},
    {"debug_getinfo", TECHNICAL, "unknown global 'debug'"},
    {"string_metatable", TECHNICAL, "attempt to index a boolean value"},
    {"rawset_g", TECHNICAL, "unknown global 'rawset'"},
    {"global_write", TECHNICAL, "cannot set global 'threshold'"},
    {"pcall_loop", TECHNICAL, "an endless loop?"},
    {"string_rep_bomb", TECHNICAL, "instruction budget of 2000000 exceeded (the work of one library call)"},
    {"table_bomb", TECHNICAL, "memory cap|an endless loop?"},
    {"deep_recursion", TECHNICAL, "stack overflow|memory cap|instruction budget of 2000000 exceeded"},
    {"collectgarbage", TECHNICAL, "unknown global 'collectgarbage'"},
    {"setmetatable_vigil", TECHNICAL, "cannot change a protected metatable"},
    {"setmetatable_string", TECHNICAL, "cannot change a protected metatable"},
    {"string_upper", TECHNICAL, "string is read-only (tried to set 'upper')"},
    {"pairs_raw_table", TECHNICAL, "attempt to index a nil value (local 'raw')"},
    {"gc_finalizer", TECHNICAL, "__gc is not allowed"},
    {"close_loop", TECHNICAL, "an endless loop?"},
    {"string_rep_empty", RULE_ALERT, "stopped: rep gave 0 bytes"},
    {"tostring_address", RULE_ALERT,
     "stopped: table, function, function, table, thing, table function, table,      table"},
    {"format_pointer", TECHNICAL, "%p is not available in a protocol"},
    {"table_move_range", TECHNICAL, "table.move: "},
    {"table_concat_len", TECHNICAL, "table.concat: "},
    {"table_remove_len", TECHNICAL, "table.remove: "},
    {"load_require_os", LOAD_ERROR, "no file os.lua in the protocol folder"},
    {"load_string_dump", LOAD_ERROR, "(field 'dump')"},
    {"load_pcall_loop", LOAD_ERROR, "an endless loop?"},
    {"load_gc_finalizer", LOAD_ERROR, "__gc is not allowed"},
    /* What a rule returns is read as data, without running its metamethods. */
    {"return_index_error", TECHNICAL, "not an outcome", NULL, 1},
    {"return_index_loop", TECHNICAL, "not an outcome", NULL, 1},
    {"return_huge_escalate", TECHNICAL, "escalate must be a duration of at most 7 days", NULL, 1},
    /* Time spent inside C: bounded patterns, and the wall clock per call. */
    {"pattern_backtracking", TECHNICAL, "too costly", NULL, 1},
    {"pattern_quadratic", TECHNICAL, "too costly", NULL, 1},
    {"c_call_loop", TECHNICAL, "instruction budget of 2000000 exceeded (the work of one library call)", NULL, 1},
    /* ... not only repetitions (docs/security.md AA3), and the clock after one C call. */
    {"pattern_no_repetition", TECHNICAL, "too costly", NULL, 1},
    {"pattern_escaped_percent", TECHNICAL, "too costly", NULL, 1},
    {"pattern_plain_search", TECHNICAL, "too costly", NULL, 1},
    {"c_call_then_return", TECHNICAL, "time limit of 5 ms exceeded: stopped after", NULL, 1, 5},
    /* A message handler never runs with the count hook off (docs/security.md AB1). */
    {"xpcall_handler_loop", TECHNICAL, "an endless loop?", NULL, 1, 50},
    {"xpcall_handler_after_error", TECHNICAL, "an endless loop?", NULL, 1, 50},
    {"pcall_memory_loop", TECHNICAL, "instruction budget of 2000000 exceeded (the work of one library call)", NULL, 1,
     50},
    /* The work inside one C call counts (docs/security.md AC7). */
    {"table_unpack_huge", TECHNICAL, "table.unpack: 400000 elements is more than a protocol may unpack", NULL, 1},
    {"table_unpack_loop", TECHNICAL, "instruction budget of 2000000 exceeded (the work of one library call)", NULL, 1},
    /* ... and what a call allocates: `..` of long strings (docs/security.md AH1). */
    {"concat_copy_loop", TECHNICAL, "instruction budget of 2000000 exceeded (allocating memory)", NULL, 1},
    /* State kept from load outside Lua's tables (docs/security.md AQ4, AQ5). */
    {"load_gmatch_kept_table", LOAD_ERROR, "keeps a library iterator (string.gmatch's) made at load"},
    {"load_gmatch_kept_upvalue", LOAD_ERROR, "keeps a library iterator (string.gmatch's) made at load"},
    {"load_upvalue_assigned", LOAD_ERROR, "assigns 'last', a variable of"},
    {"load_upvalue_assigned_nested", LOAD_ERROR, "assigns 'last', a variable of"},
    /* A table disguised as one of the language's views (docs/security.md AT1). */
    {"load_disguised_view", LOAD_ERROR, "load_disguised_view/protocol.lua has a metatable"},
    /* A function kept only inside the language's pairs iterator (docs/security.md AT2). */
    {"load_assign_behind_pairs", LOAD_ERROR, "assigns 'last', a variable of"},
    {"param_options", LOAD_ERROR, "options are only for choice params", NULL, 1},
    {"vitals_options", LOAD_ERROR, "is read-only", NULL, 1},
};
#define N_ATTACKS (sizeof attacks / sizeof *attacks)

/* ---- what one row found ---------------------------------------------------- */

typedef struct result {
  int failed;   /* the sandbox or the engine did not hold */
  int mismatch; /* it held, but the message is not the expected one */
  char why[6000];
} result;

static void note(result *r, int hard, const char *fmt, ...) {
  size_t used = strlen(r->why);
  va_list ap;
  va_start(ap, fmt);
  if (used < sizeof r->why - 1) vsnprintf(r->why + used, sizeof r->why - used, fmt, ap);
  va_end(ap);
  if (hard)
    r->failed = 1;
  else
    r->mismatch = 1;
}

/* ---- the alerts an engine raised ----------------------------------------- */

typedef struct seen {
  uint64_t visit;
  char *rule, *source, *message, *priority;
} seen;

typedef struct capture {
  vigil_engine *e;
  seen v[64];
  int n;
} capture;

/* obj.key as a string, "" when it is not one. */
static const char *text_of(json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

static char *dup_field(json_t *obj, const char *key) { return strdup(text_of(obj, key)); }

static int on_alert(void *ud, const vigil_event *ev) {
  capture *c = ud;
  if (strcmp(vigil_event_type(ev), "alert.raised") != 0 || c->n == 64) return 0;
  char *text = vigil_event_json(c->e, ev);
  json_t *j = text ? json_loads(text, 0, NULL) : NULL;
  vigil_free(text);
  json_t *data = json_object_get(j, "data");
  if (!data) {
    json_decref(j);
    return 1;
  }
  seen *s = &c->v[c->n++];
  s->visit = vigil_event_visit(ev);
  s->rule = dup_field(data, "rule");
  s->source = dup_field(data, "source");
  s->message = dup_field(data, "message");
  s->priority = dup_field(data, "priority");
  json_decref(j);
  return 0;
}

static void capture_free(capture *c) {
  for (int i = 0; i < c->n; i++) {
    free(c->v[i].rule);
    free(c->v[i].source);
    free(c->v[i].message);
    free(c->v[i].priority);
  }
  c->n = 0;
}

static void alerts_text(const capture *c, char *out, size_t len) {
  size_t used = 0;
  snprintf(out, len, "%s", c->n ? "" : " (none)");
  for (int i = 0; i < c->n && used < len; i++) {
    int n = snprintf(out + used, len - used, "\n    visit %llu %s/%s: %s", (unsigned long long)c->v[i].visit,
                     c->v[i].source, c->v[i].rule, c->v[i].message);
    if (n > 0) used += (size_t)n;
  }
}

/* One of the '|'-separated alternatives is in s ("" matches anything). */
static int holds(const char *s, const char *alternatives) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", alternatives);
  if (!buf[0]) return 1;
  for (char *save = NULL, *alt = strtok_r(buf, "|", &save); alt; alt = strtok_r(NULL, "|", &save))
    if (strstr(s, alt)) return 1;
  return 0;
}

/* s holds "<dir>/protocol.lua:<line>" with a line > 0. */
static int names_place(const char *s, const char *dir) {
  char file[512];
  snprintf(file, sizeof file, "%s/protocol.lua:", dir);
  for (const char *p = strstr(s, file); p; p = strstr(p + 1, file))
    if (strtol(p + strlen(file), NULL, 10) > 0) return 1;
  return 0;
}

/* A technical alert names protocol.lua:LINE by its path in the protocol's
 * folder, never where the server keeps it (docs/security.md). */
static int names_relative_place(const char *s, const char *dir) {
  const char *file = "protocol.lua:";
  if (strstr(s, dir)) return 0;
  for (const char *p = strstr(s, file); p; p = strstr(p + 1, file))
    if (strtol(p + strlen(file), NULL, 10) > 0) return 1;
  return 0;
}

static void quiet(void *ud, vigil_log_level level, const char *msg) {
  (void)ud;
  (void)level;
  (void)msg;
}

/* ---- the visit's JSON --------------------------------------------------------- */

/* The item `id` of the visit's phases, and the visit object (to decref). */
static json_t *visit_item(vigil_engine *e, uint64_t visit, const char *id, json_t **root) {
  char *text = vigil_visit_json(e, visit);
  *root = text ? json_loads(text, 0, NULL) : NULL;
  vigil_free(text);
  size_t i, k;
  json_t *phase, *item;
  json_array_foreach(json_object_get(*root, "phases"), i, phase) {
    json_array_foreach(json_object_get(phase, "items"), k, item) {
      if (!strcmp(text_of(item, "id"), id)) return item;
    }
  }
  return NULL;
}

/* ---- one row ------------------------------------------------------------------ */

/* The engine goes on: a bench/workload visit records and raises its alert. */
static void check_engine_goes_on(vigil_engine *e, capture *c, result *r) {
  const char *ref;
  uint64_t visit;
  if (vigil_engine_load(e, "bench/workload", &ref) != 0) {
    note(r, 1, "after the attack, bench/workload does not load: %s\n", vigil_engine_errmsg(e));
    return;
  }
  if (vigil_visit_start(e, ref, "patient-after", "nurse:ana", NULL, &visit) != 0) {
    note(r, 1, "after the attack, a bench visit does not start: %s\n", vigil_engine_errmsg(e));
    return;
  }
  const char *entries[] = {
      "{\"consent\": true, \"npo_hours\": 8, \"baseline_sbp\": 128, \"contraindication\": false, \"iv_access\": true}",
      "{\"vitals\": {\"sbp\": 190, \"spo2\": 97, \"hr\": 80}}"};
  for (size_t i = 0; i < 2; i++)
    if (vigil_visit_record_json(e, visit, "nurse:ana", entries[i]) != 0) {
      note(r, 1, "after the attack, the bench visit refuses %s: %s\n", entries[i], vigil_engine_errmsg(e));
      return;
    }
  int raised = 0;
  for (int i = 0; i < c->n; i++) {
    if (c->v[i].visit != visit) continue;
    if (!strcmp(c->v[i].source, "technical"))
      note(r, 1, "the bench visit has a technical alert: %s\n", c->v[i].message);
    raised |= !strcmp(c->v[i].source, "rule") && !strcmp(c->v[i].rule, "vitals") &&
              strstr(c->v[i].message, "Systolic or SpO2 out of range");
  }
  if (!raised) note(r, 1, "after the attack, the bench visit's vitals rule raised no alert\n");
  json_t *root;
  json_t *vitals = visit_item(e, visit, "vitals", &root);
  if (json_integer_value(json_object_get(vitals, "count")) != 1 ||
      json_integer_value(json_object_get(json_object_get(vitals, "value"), "sbp")) != 190)
    note(r, 1, "after the attack, the bench visit's JSON does not show the vitals recorded\n");
  json_decref(root);
}

static void run_attack(const attack *a, result *r) {
  char dir[256], all[4096];
  snprintf(dir, sizeof dir, "%s/%s", FIXTURES, a->name);
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED,
                     .sim_start_ms = SIM_START,
                     .lua_memory_cap = MEMORY_CAP,
                     .lua_instruction_budget = BUDGET,
                     .lua_time_limit_ms = a->time_limit_ms,
                     .log = quiet};
  vigil_engine *e;
  if (vigil_engine_new(&o, &e) != 0) {
    note(r, 1, "no engine\n");
    return;
  }
  capture c = {.e = e};
  vigil_engine_subscribe(e, "alert.*", on_alert, &c);

  const char *ref = NULL;
  int rc = vigil_engine_load(e, dir, &ref);
  if (a->kind == LOAD_ERROR) {
    const char *msg = vigil_engine_errmsg(e);
    if (rc == 0)
      note(r, 1, "%s loaded: the load-time attack got through\n", dir);
    else if (rc != VIGIL_EPROTOCOL)
      note(r, 1, "load returned %s, not EPROTOCOL: %s\n", vigil_err_name(rc), msg);
    else {
      if (!names_place(msg, dir)) note(r, 1, "the load problem names no %s/protocol.lua:LINE: %s\n", dir, msg);
      if (!holds(msg, a->expect)) note(r, 0, "the load problem does not say \"%s\": %s\n", a->expect, msg);
    }
  } else if (rc != 0) {
    note(r, 1, "%s does not load: %s\n", dir, vigil_engine_errmsg(e));
  } else {
    uint64_t visit;
    if (vigil_visit_start(e, ref, "patient-attacked", "nurse:ana", NULL, &visit) != 0) {
      note(r, 1, "the attack visit does not start: %s\n", vigil_engine_errmsg(e));
    } else {
      /* The value is recorded whatever its rule does. */
      if (vigil_visit_record_json(e, visit, "nurse:ana", "{\"attack\": 1}") != 0)
        note(r, 1, "recording the value was refused: %s\n", vigil_engine_errmsg(e));
      alerts_text(&c, all, sizeof all);
      int found = 0, right = 0;
      for (int i = 0; i < c.n; i++) {
        const seen *s = &c.v[i];
        if (s->visit != visit || strcmp(s->rule, "attack") != 0) continue;
        if (a->kind == TECHNICAL && !strcmp(s->source, "technical")) {
          found = 1;
          if (!strstr(s->message, "rule 'attack'"))
            note(r, 1, "the technical alert does not name the rule: %s\n", s->message);
          if (!names_relative_place(s->message, dir))
            note(r, 1, "the technical alert names no protocol.lua:LINE (without the server's path): %s\n", s->message);
          right |= holds(s->message, a->expect);
        } else if (a->kind == RULE_ALERT && !strcmp(s->source, "rule")) {
          found = 1;
          right |= holds(s->message, a->expect);
        }
      }
      if (!found)
        note(r, 1, "no %s alert from rule 'attack'; alerts:%s\n", a->kind == TECHNICAL ? "technical" : "rule", all);
      else if (!right)
        note(r, 0, "no alert from rule 'attack' says \"%s\"; alerts:%s\n", a->expect, all);
      json_t *root;
      json_t *item = visit_item(e, visit, "attack", &root);
      if (strcmp(text_of(root, "status"), "active") || json_integer_value(json_object_get(item, "count")) != 1)
        note(r, 1, "the attack visit is not active with its value recorded\n");
      json_decref(root);
    }
  }
  for (int i = 0; i < c.n; i++)
    if (strstr(c.v[i].message, "ESCAPED")) note(r, 1, "the attack got through: %s\n", c.v[i].message);
  check_engine_goes_on(e, &c, r);
  capture_free(&c);
  vigil_engine_free(e);
}

/* The same, in a child process that may crash or hang. */
static void run_isolated(const attack *a, result *r) {
  int fd[2];
  if (pipe(fd) < 0) {
    note(r, 1, "pipe: %s\n", strerror(errno));
    return;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    note(r, 1, "fork: %s\n", strerror(errno));
    return;
  }
  if (pid == 0) {
    /* cmocka catches these to fail a test and go on with the next: in the
     * child, a crash must end the child. */
    static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
      signal(sigs[i], SIG_DFL);
    close(fd[0]);
    alarm(CHILD_SECONDS);
    result mine = {.failed = 0};
    run_attack(a, &mine);
    ssize_t w = write(fd[1], &mine, sizeof mine);
    _exit(w == (ssize_t)sizeof mine ? 0 : 3);
  }
  close(fd[1]);
  result got;
  size_t have = 0;
  ssize_t n;
  while (have < sizeof got && (n = read(fd[0], (char *)&got + have, sizeof got - have)) > 0)
    have += (size_t)n;
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (have == sizeof got) {
    *r = got;
    return;
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    note(r, 1, "the engine hung: still running after %d s\n", CHILD_SECONDS);
  else if (WIFSIGNALED(status))
    note(r, 1, "the engine crashed: signal %d (%s)\n", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else
    note(r, 1, "the child exited with status %d before reporting\n", WEXITSTATUS(status));
}

static void test_attack(void **state) {
  const attack *a = *state;
  result r = {.failed = 0};
  if (a->isolate)
    run_isolated(a, &r);
  else
    run_attack(a, &r);
  if (!r.failed && !r.mismatch) {
    if (a->known_bug) print_message("NOTE %s: passes now; remove its known-bug mark (%s)\n", a->name, a->known_bug);
    return;
  }
  /* A known bug may only explain what it says: a non-isolated row's bug is in
   * a message, so the row must otherwise hold. */
  if (a->known_bug && (a->isolate || !r.failed)) {
    print_message("KNOWN ENGINE BUG %s: %s\n  found: %s", a->name, a->known_bug, r.why);
    skip();
  }
  fail_msg("sandbox attack %s was not stopped as expected:\n  %s", a->name, r.why);
}

/* The table and the fixture folders stay in step. */
static void test_every_fixture_has_a_row(void **state) {
  (void)state;
  DIR *d = opendir(FIXTURES);
  if (!d) fail_msg("cannot open %s (run from the repository root)", FIXTURES);
  struct dirent *ent;
  char orphans[2048] = "";
  int n = 0;
  while ((ent = readdir(d))) {
    if (ent->d_name[0] == '.') continue;
    n++;
    size_t i = 0;
    while (i < N_ATTACKS && strcmp(attacks[i].name, ent->d_name))
      i++;
    if (i == N_ATTACKS) {
      strncat(orphans, " ", sizeof orphans - strlen(orphans) - 1);
      strncat(orphans, ent->d_name, sizeof orphans - strlen(orphans) - 1);
    }
  }
  closedir(d);
  if (orphans[0]) fail_msg("fixtures in %s with no row in the attacks table:%s", FIXTURES, orphans);
  if ((size_t)n != N_ATTACKS) fail_msg("%d fixture folders for %zu rows: a row has no fixture", n, N_ATTACKS);
}

/* An engine with the sandbox's limits, its alerts captured in c, the
 * protocol in dir loaded. */
static vigil_engine *engine_loading(capture *c, const char *dir, const char **ref) {
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED,
                     .sim_start_ms = SIM_START,
                     .lua_memory_cap = MEMORY_CAP,
                     .lua_instruction_budget = BUDGET,
                     .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&o, &e), 0);
  c->e = e;
  vigil_engine_subscribe(e, "alert.*", on_alert, c);
  if (vigil_engine_load(e, dir, ref) != 0) fail_msg("load %s: %s", dir, vigil_engine_errmsg(e));
  return e;
}

/* AC3 (docs/security.md): one entry's calls share one budget. Twenty rules
 * on one item each charge 1.5 million instructions, within the per-call
 * budget (2 million) but not together: the entry's budget (twice the
 * per-call one) lets two run, stops the third in its call and runs none of
 * the rest; each of those fails as a failing rule does (a technical alert at
 * the rule's priority), the value is kept, and the next entry (another
 * visit's) has the whole budget again. */
static void test_entry_budget_across_rules(void **state) {
  (void)state;
  capture c = {0};
  const char *ref;
  vigil_engine *e = engine_loading(&c, "tests/protocols/entry_budget", &ref);
  uint64_t visits[2];
  for (int k = 0; k < 2; k++) {
    char patient[32];
    snprintf(patient, sizeof patient, "patient-%d", k);
    assert_int_equal(vigil_visit_start(e, ref, patient, "nurse:ana", NULL, &visits[k]), 0);
    if (vigil_visit_record_json(e, visits[k], "nurse:ana", "{\"attack\": 7}") != 0)
      fail_msg("the entry was refused: %s", vigil_engine_errmsg(e));
  }
  char all[4096];
  alerts_text(&c, all, sizeof all);
  for (int k = 0; k < 2; k++) {
    int ran = 0, stopped = 0, unrun = 0;
    for (int i = 0; i < c.n; i++) {
      const seen *s = &c.v[i];
      if (s->visit != visits[k]) continue;
      if (!strcmp(s->source, "rule")) ran++;
      if (strcmp(s->source, "technical") != 0) continue;
      if (strcmp(s->priority, "medium") != 0) fail_msg("a technical alert not at its rule's priority: %s", all);
      if (!strcmp(s->rule, "spend03") && strstr(s->message, "instruction budget of 4000000 for one entry exceeded"))
        stopped++;
      else if (strstr(s->message, "instruction budget of 4000000 for one entry spent by its earlier calls"))
        unrun++;
      else
        fail_msg("visit %d: an unexpected technical alert: %s", k + 1, s->message);
    }
    if (ran != 2 || stopped != 1 || unrun != 17)
      fail_msg("visit %d: want 2 rules run, the third stopped and 17 not run; got %d, %d, %d; alerts:%s", k + 1, ran,
               stopped, unrun, all);
    json_t *root;
    json_t *item = visit_item(e, visits[k], "attack", &root);
    if (json_integer_value(json_object_get(item, "count")) != 1) fail_msg("visit %d: the value was not kept", k + 1);
    json_decref(root);
  }
  capture_free(&c);
  vigil_engine_free(e);
}

/* AH1 (docs/security.md): one entry's calls have a time limit together as
 * well. Three rules each run five million instructions (10 ms or more),
 * within the per-call budget and time, under an entry's limit of 1 ms (and
 * an instruction budget per entry that never binds): the first is stopped
 * at the entry's limit, the others are not run, each a technical alert at the
 * rule's priority, and the value is kept. Only the entry's limit can stop
 * them: without it all three run and alert. */
static void test_entry_time_across_rules(void **state) {
  (void)state;
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED,
                     .sim_start_ms = SIM_START,
                     .lua_memory_cap = MEMORY_CAP,
                     .lua_instruction_budget = 20000000,
                     .lua_entry_budget = 200000000,
                     .lua_entry_time_limit_ms = 1,
                     .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&o, &e), 0);
  capture c = {.e = e};
  vigil_engine_subscribe(e, "alert.*", on_alert, &c);
  const char *ref;
  if (vigil_engine_load(e, "tests/protocols/entry_time", &ref) != 0) fail_msg("load: %s", vigil_engine_errmsg(e));
  uint64_t visit;
  assert_int_equal(vigil_visit_start(e, ref, "patient-0", "nurse:ana", NULL, &visit), 0);
  if (vigil_visit_record_json(e, visit, "nurse:ana", "{\"attack\": 7}") != 0)
    fail_msg("the entry was refused: %s", vigil_engine_errmsg(e));
  char all[4096];
  alerts_text(&c, all, sizeof all);
  int ran = 0, stopped = 0, unrun = 0;
  for (int i = 0; i < c.n; i++) {
    const seen *s = &c.v[i];
    if (s->visit != visit) continue;
    if (!strcmp(s->source, "rule")) ran++;
    if (strcmp(s->source, "technical") != 0) continue;
    if (strcmp(s->priority, "medium") != 0) fail_msg("a technical alert not at its rule's priority: %s", all);
    if (strstr(s->message, "time limit of 1 ms for one entry exceeded"))
      stopped++;
    else if (strstr(s->message, "time limit of 1 ms for one entry spent by its earlier calls; not run"))
      unrun++;
    else
      fail_msg("an unexpected technical alert: %s", s->message);
  }
  if (ran != 0 || stopped != 1 || unrun != 2)
    fail_msg("want the first rule stopped by the entry's time and 2 not run; got %d run, %d stopped, %d not run; "
             "alerts:%s",
             ran, stopped, unrun, all);
  json_t *root;
  json_t *item = visit_item(e, visit, "attack", &root);
  if (json_integer_value(json_object_get(item, "count")) != 1) fail_msg("the value was not kept");
  json_decref(root);
  capture_free(&c);
  vigil_engine_free(e);
}

/* AM4 (docs/security.md): the view's copies are charged to the budget. A
 * rule (tests/protocols/view_copies) asks 10,000 times for the last 200 of
 * 200 notes of 3,990 characters: a few instructions a call, 800 KB copied
 * by each. What the view copies is allocated through the sandbox, so the
 * call is stopped by its budget (allocating memory) after some 80 calls,
 * the same place on every run; the notes and the value are kept. The time
 * limit is a minute, so that only the budget can stop it (also under
 * valgrind): without the charge the budget never binds (60,000
 * instructions) and the rule copies its 8 GB to the end. */
static void test_view_copies_charged(void **state) {
  (void)state;
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED,
                     .sim_start_ms = SIM_START,
                     .lua_memory_cap = MEMORY_CAP,
                     .lua_instruction_budget = BUDGET,
                     .lua_time_limit_ms = 60000,
                     .log = quiet};
  vigil_engine *e;
  assert_int_equal(vigil_engine_new(&o, &e), 0);
  capture c = {.e = e};
  vigil_engine_subscribe(e, "alert.*", on_alert, &c);
  const char *ref;
  if (vigil_engine_load(e, "tests/protocols/view_copies", &ref) != 0) fail_msg("load: %s", vigil_engine_errmsg(e));
  uint64_t visit;
  assert_int_equal(vigil_visit_start(e, ref, "patient-0", "nurse:ana", NULL, &visit), 0);
  enum { NOTES = 200, NOTE_CHARS = 3990 };
  char *entry = malloc(NOTE_CHARS + 32);
  assert_non_null(entry);
  int at = snprintf(entry, NOTE_CHARS + 32, "{\"note\": \"");
  memset(entry + at, 'n', NOTE_CHARS);
  snprintf(entry + at + NOTE_CHARS, 32, "\"}");
  for (int i = 0; i < NOTES; i++)
    if (vigil_visit_record_json(e, visit, "nurse:ana", entry) != 0)
      fail_msg("note %d was refused: %s", i + 1, vigil_engine_errmsg(e));
  free(entry);
  if (vigil_visit_record_json(e, visit, "nurse:ana", "{\"attack\": 7}") != 0)
    fail_msg("the entry was refused: %s", vigil_engine_errmsg(e));
  char all[4096];
  alerts_text(&c, all, sizeof all);
  int stopped = 0;
  for (int i = 0; i < c.n; i++) {
    const seen *s = &c.v[i];
    if (strstr(s->message, "ESCAPED")) fail_msg("the rule ran to its end: %s", all);
    if (!strcmp(s->source, "technical") && !strcmp(s->rule, "copy_notes") &&
        strstr(s->message, "instruction budget of 2000000 exceeded (allocating memory)"))
      stopped++;
  }
  if (stopped != 1) fail_msg("want copy_notes stopped by its budget (allocating memory); alerts:%s", all);
  json_t *root;
  json_t *item = visit_item(e, visit, "note", &root);
  if (json_integer_value(json_object_get(item, "count")) != NOTES) fail_msg("the notes were not all kept");
  json_decref(root);
  item = visit_item(e, visit, "attack", &root);
  if (json_integer_value(json_object_get(item, "count")) != 1) fail_msg("the value was not kept");
  json_decref(root);
  capture_free(&c);
  vigil_engine_free(e);
}

/* The line of the first line of path holding text, 0 when none. */
static int line_of(const char *path, const char *text) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[1024];
  int n = 0, found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    n++;
    if (strstr(line, text)) found = n;
  }
  fclose(f);
  return found;
}

/* The alert of visit from rule (source "rule" or "technical"), or NULL. */
static const seen *alert_of(const capture *c, uint64_t visit, const char *rule, const char *source) {
  for (int i = 0; i < c->n; i++)
    if (c->v[i].visit == visit && !strcmp(c->v[i].rule, rule) && !strcmp(c->v[i].source, source)) return &c->v[i];
  return NULL;
}

/* AM5 (docs/security.md): one Lua state serves every visit of a version, so
 * a table its code keeps (a file's `local seen = {}`, a module's table)
 * filled by MRN-5001's rule showed her "suicidal thoughts" in MRN-7002's
 * alert. Those tables are read-only once the protocol has loaded: each way
 * of writing (a new key, a key the table had, table.insert, a nested table)
 * fails as a failing rule does, a technical alert naming the writing line;
 * the next visit's alert carries nothing of the first; reading them
 * (#, ipairs, pairs, next, rawget, rawlen, table.concat) and returning a kept
 * outcome work as before. */
static void test_kept_tables_carry_nothing(void **state) {
  (void)state;
  const char *dir = "tests/protocols/kept_tables";
  capture c = {0};
  const char *ref;
  vigil_engine *e = engine_loading(&c, dir, &ref);
  uint64_t first, second;
  assert_int_equal(vigil_visit_start(e, ref, "MRN-5001", "nurse:ana", NULL, &first), 0);
  assert_int_equal(vigil_visit_record_json(e, first, "nurse:ana", "{\"thoughts\": \"suicidal thoughts last week\"}"),
                   0);
  assert_int_equal(vigil_visit_record_json(e, first, "nurse:ana", "{\"n\": 42}"), 0);
  assert_int_equal(vigil_visit_start(e, ref, "MRN-7002", "nurse:ana", NULL, &second), 0);
  assert_int_equal(vigil_visit_record_json(e, second, "nurse:ana", "{\"n\": 43}"), 0);
  char all[4096];
  alerts_text(&c, all, sizeof all);
  for (int i = 0; i < c.n; i++)
    if (c.v[i].visit == second && strstr(c.v[i].message, "suicidal"))
      fail_msg("MRN-7002's alert carries MRN-5001's words: %s\nalerts:%s", c.v[i].message, all);
  const seen *recall = alert_of(&c, second, "recall", "rule");
  if (!recall || strcmp(recall->message, "recalled:  / "))
    fail_msg("want recall's alert \"recalled:  / \"; alerts:%s", all);
  /* Each write failed at its own line, the protocol's (table.insert's too). */
  static const char *const writes[][3] = {
      {"remember_new_key", "protocol.lua", "seen[#seen + 1] = visit.value"},
      {"remember_known_key", "lib.lua", "lib.last = text"},
      {"remember_insert", "protocol.lua", "table.insert(lib.list"},
      {"remember_nested", "protocol.lua", "lib.by_kind.screening.latest = visit"},
  };
  for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
    char file[256], place[300];
    snprintf(file, sizeof file, "%s/%s", dir, writes[i][1]);
    snprintf(place, sizeof place, "%s:%d: cannot set ", writes[i][1], line_of(file, writes[i][2]));
    const seen *t = alert_of(&c, first, writes[i][0], "technical");
    if (!t) fail_msg("%s: no technical alert; alerts:%s", writes[i][0], all);
    if (!strstr(t->message, place) || !strstr(t->message, "read-only once it has loaded") || strstr(t->message, dir))
      fail_msg("%s: want \"%s\", read-only, no server path: %s", writes[i][0], place, t->message);
    if (strstr(t->message, "suicidal"))
      fail_msg("%s: the error shows the patient's words: %s", writes[i][0], t->message);
  }
  /* Reading the frozen tables, and a kept outcome. */
  assert_int_equal(vigil_visit_record_json(e, second, "nurse:ana", "{\"n\": 44}"), 0);
  assert_int_equal(vigil_visit_record_json(e, second, "nurse:ana", "{\"n\": 45}"), 0);
  alerts_text(&c, all, sizeof all);
  const seen *read = alert_of(&c, second, "read", "rule");
  if (!read || strcmp(read->message, "read: 3 none,passive,active next passive dosing,screening 3 "
                                     "none+passive+active alert"))
    fail_msg("want the read rule's alert; alerts:%s", all);
  const seen *kept = alert_of(&c, second, "kept_outcome", "rule");
  if (!kept || strcmp(kept->message, "kept outcome: nothing to report") || strcmp(kept->priority, "low"))
    fail_msg("want the kept outcome's low alert; alerts:%s", all);
  for (int i = 0; i < c.n; i++)
    if (c.v[i].visit == second && !strcmp(c.v[i].source, "technical"))
      fail_msg("MRN-7002 has a technical alert: %s", c.v[i].message);
  capture_free(&c);
  vigil_engine_free(e);
}

/* AQ4, AQ5 (docs/security.md): what the load-time refusals of kept iterators
 * and assigned kept variables must still let through (tests/protocols/
 * kept_locals): a `<const>` local, a string.gmatch iterator made in the call
 * that uses it, a function nested in a call assigning that call's locals.
 * The protocol loads, and each visit's alert counts its own note's words. */
static void locals_of_a_call_load(void **state) {
  (void)state;
  capture c = {0};
  const char *ref;
  vigil_engine *e = engine_loading(&c, "tests/protocols/kept_locals", &ref);
  static const char *const notes[][3] = {
      {"MRN-5001", "{\"note\": \"suicidal thoughts last week\"}", "words: 4 (suicidal thoughts last)"},
      {"MRN-7002", "{\"note\": \"slept well\"}", "words: 2 (slept well)"},
  };
  for (size_t i = 0; i < sizeof notes / sizeof *notes; i++) {
    uint64_t visit;
    assert_int_equal(vigil_visit_start(e, ref, notes[i][0], "nurse:ana", NULL, &visit), 0);
    if (vigil_visit_record_json(e, visit, "nurse:ana", notes[i][1]) != 0)
      fail_msg("%s: the note was refused: %s", notes[i][0], vigil_engine_errmsg(e));
    char all[4096];
    alerts_text(&c, all, sizeof all);
    const seen *count = alert_of(&c, visit, "count_words", "rule");
    if (!count || strcmp(count->message, notes[i][2]))
      fail_msg("%s: want count_words' alert \"%s\"; alerts:%s", notes[i][0], notes[i][2], all);
    if (alert_of(&c, visit, "count_words", "technical")) fail_msg("%s: a technical alert; alerts:%s", notes[i][0], all);
  }
  capture_free(&c);
  vigil_engine_free(e);
}

/* AV1 (docs/security.md): a rule's reading comes in one table its state keeps
 * for every call (issue 16), emptied and filled again for each. The fixture's
 * rule (tests/protocols/arg_table) writes in it all it can (a key of its own,
 * an array element, a field taken out, another changed, a metatable); the
 * next patient's rule sees its own three fields and nothing else. */
static void test_argument_table_carries_nothing(void **state) {
  (void)state;
  capture c = {0};
  const char *ref;
  vigil_engine *e = engine_loading(&c, "tests/protocols/arg_table", &ref);
  static const char *const readings[][3] = {
      {"MRN-5001", "{\"vitals\": {\"sbp\": 121, \"spo2\": 97, \"hr\": 70}}",
       "saw hr=70 sbp=121 spo2=97; metatable false; missing nil"},
      {"MRN-7002", "{\"vitals\": {\"sbp\": 135, \"spo2\": 94, \"hr\": 88}}",
       "saw hr=88 sbp=135 spo2=94; metatable false; missing nil"},
      {"MRN-7003", "{\"vitals\": {\"sbp\": 99, \"spo2\": 99, \"hr\": 61}}",
       "saw hr=61 sbp=99 spo2=99; metatable false; missing nil"},
  };
  for (size_t i = 0; i < sizeof readings / sizeof *readings; i++) {
    uint64_t visit;
    assert_int_equal(vigil_visit_start(e, ref, readings[i][0], "nurse:ana", NULL, &visit), 0);
    if (vigil_visit_record_json(e, visit, "nurse:ana", readings[i][1]) != 0)
      fail_msg("%s: the reading was refused: %s", readings[i][0], vigil_engine_errmsg(e));
    char all[4096];
    alerts_text(&c, all, sizeof all);
    const seen *said = alert_of(&c, visit, "argument", "rule");
    if (!said || strcmp(said->message, readings[i][2]))
      fail_msg("%s: want the rule's alert \"%s\"; alerts:%s", readings[i][0], readings[i][2], all);
    if (alert_of(&c, visit, "argument", "technical")) fail_msg("%s: a technical alert; alerts:%s", readings[i][0], all);
  }
  capture_free(&c);
  vigil_engine_free(e);
}

int main(void) {
  struct CMUnitTest tests[N_ATTACKS + 7];
  tests[0] = (struct CMUnitTest){.name = "every fixture has a row", .test_func = test_every_fixture_has_a_row};
  tests[1] = (struct CMUnitTest){.name = "entry_budget_across_rules", .test_func = test_entry_budget_across_rules};
  tests[2] = (struct CMUnitTest){.name = "entry_time_across_rules", .test_func = test_entry_time_across_rules};
  tests[3] = (struct CMUnitTest){.name = "view_copies_charged", .test_func = test_view_copies_charged};
  tests[4] = (struct CMUnitTest){.name = "kept_tables_carry_nothing", .test_func = test_kept_tables_carry_nothing};
  tests[5] = (struct CMUnitTest){.name = "locals_of_a_call_load", .test_func = locals_of_a_call_load};
  tests[6] =
      (struct CMUnitTest){.name = "argument_table_carries_nothing", .test_func = test_argument_table_carries_nothing};
  for (size_t i = 0; i < N_ATTACKS; i++)
    tests[i + 7] =
        (struct CMUnitTest){.name = attacks[i].name, .test_func = test_attack, .initial_state = (void *)&attacks[i]};
  return _cmocka_run_group_tests("sandbox", tests, N_ATTACKS + 7, NULL, NULL);
}
