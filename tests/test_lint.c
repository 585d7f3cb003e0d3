/* test_lint.c: the broken-protocol corpus, and lint on the good protocols.
 *
 * Every folder tests/protocols/broken/<name>/ is one broken protocol. Its
 * protocol.lua starts with comment lines that say what lint must find:
 *
 *   -- expect: 12: unknown item 'nope'          (a problem at protocol.lua:12)
 *   -- expect: helper.lua:4: <name> expected    (a problem in another file)
 *   -- known-bug: what is wrong in the engine   (optional, see below)
 *
 * For each folder, lint must report at least one problem; every problem's
 * `where` must be "file:line" with a file that exists inside that folder and a
 * line > 0; and every expect line must match a problem (same file and line,
 * message containing the text).
 *
 * A `known-bug:` line names an engine bug outside the protocol language that
 * makes an expected message wrong (not missing): that fixture's expect
 * mismatches are reported as SKIPPED with the bug, instead of failing. The
 * structural checks above still fail hard. Delete the line once it is fixed.
 *
 * Runs from the repository root (ctest's WORKING_DIRECTORY).
 */
#include <dirent.h>
#include <setjmp.h>
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

#define BROKEN_DIR "tests/protocols/broken"
#define MAX_FIXTURES 128
#define MAX_PROBLEMS 64
#define MAX_EXPECTS 16

/* ---- collecting problems ------------------------------------------------- */

typedef struct problem {
  char *where, *message;
} problem;

typedef struct problem_list {
  problem v[MAX_PROBLEMS];
  int n, dropped;
} problem_list;

static void collect(void *ud, const char *where, const char *message) {
  problem_list *l = ud;
  if (l->n == MAX_PROBLEMS) {
    l->dropped++;
    return;
  }
  l->v[l->n].where = strdup(where ? where : "(null)");
  l->v[l->n].message = strdup(message ? message : "(null)");
  l->n++;
}

static void problems_free(problem_list *l) {
  for (int i = 0; i < l->n; i++) {
    free(l->v[i].where);
    free(l->v[i].message);
  }
  l->n = 0;
}

/* All problems, one per line, for failure messages. */
static void problems_text(const problem_list *l, char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < l->n && used < len; i++) {
    int n = snprintf(out + used, len - used, "\n    %s: %s", l->v[i].where, l->v[i].message);
    if (n < 0) break;
    used += (size_t)n;
  }
  if (l->n == 0) snprintf(out, len, " (none)");
}

/* "file:line" -> file (malloc'd) and line; -1 when it is not that shape. */
static int split_where(const char *where, char **file, long *line) {
  const char *colon = strrchr(where, ':');
  *file = NULL;
  *line = 0;
  if (!colon || colon == where || !colon[1]) return -1;
  char *end;
  *line = strtol(colon + 1, &end, 10);
  if (*end) return -1;
  *file = strndup(where, (size_t)(colon - where));
  return *file ? 0 : -1;
}

/* ---- the fixture's header ----------------------------------------------- */

typedef struct expect {
  char file[256]; /* relative to the fixture's folder */
  long line;
  char text[256];
} expect;

typedef struct fixture {
  char name[256];
  char dir[512];
  expect expects[MAX_EXPECTS];
  int n_expects;
  char known_bug[1024];
  char header_error[2048]; /* a malformed header is a failure of the fixture itself */
} fixture;

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
    s[--n] = '\0';
}

/* "[file:]line: text" */
static int parse_expect(const char *s, expect *x) {
  while (*s == ' ')
    s++;
  const char *colon = strchr(s, ':');
  if (!colon) return -1;
  snprintf(x->file, sizeof x->file, "protocol.lua");
  if (strspn(s, "0123456789") != (size_t)(colon - s)) { /* a file name first */
    snprintf(x->file, sizeof x->file, "%.*s", (int)(colon - s), s);
    s = colon + 1;
    colon = strchr(s, ':');
    if (!colon || strspn(s, "0123456789") != (size_t)(colon - s)) return -1;
  }
  x->line = strtol(s, NULL, 10);
  s = colon + 1;
  while (*s == ' ')
    s++;
  if (x->line <= 0 || !*s) return -1;
  snprintf(x->text, sizeof x->text, "%s", s);
  return 0;
}

static void read_header(fixture *f) {
  char path[600], line[1024];
  snprintf(path, sizeof path, "%s/protocol.lua", f->dir);
  FILE *in = fopen(path, "r");
  if (!in) {
    snprintf(f->header_error, sizeof f->header_error, "cannot open %s", path);
    return;
  }
  /* The header: the comment lines at the top of the file. */
  while (fgets(line, sizeof line, in) && !strncmp(line, "--", 2)) {
    chomp(line);
    if (!strncmp(line, "-- expect:", 10)) {
      if (f->n_expects == MAX_EXPECTS || parse_expect(line + 10, &f->expects[f->n_expects]) < 0) {
        snprintf(f->header_error, sizeof f->header_error, "%s: bad expect line '%s'", path, line);
        break;
      }
      f->n_expects++;
    } else if (!strncmp(line, "-- known-bug:", 13)) {
      snprintf(f->known_bug, sizeof f->known_bug, "%s", line + 14);
    }
  }
  fclose(in);
  if (!f->header_error[0] && f->n_expects == 0)
    snprintf(f->header_error, sizeof f->header_error, "%s does not start with a '-- expect: LINE: TEXT' line", path);
}

/* ---- one broken protocol -------------------------------------------------- */

static void test_broken(void **state) {
  const fixture *f = *state;
  char all[8192];
  if (f->header_error[0]) fail_msg("fixture %s: %s", f->name, f->header_error);

  problem_list got = {.n = 0};
  int n = vigil_lint(f->dir, collect, &got);
  problems_text(&got, all, sizeof all);
  if (n < 1) fail_msg("%s: lint found no problem (returned %d)", f->name, n);
  if (n != got.n + got.dropped)
    fail_msg("%s: lint returned %d but reported %d problems:%s", f->name, n, got.n + got.dropped, all);

  /* Every problem is "file:line" in this folder, at a real line. */
  size_t dirlen = strlen(f->dir);
  for (int i = 0; i < got.n; i++) {
    char *file;
    long line;
    struct stat st;
    const char *where = got.v[i].where;
    if (split_where(where, &file, &line) < 0) fail_msg("%s: where '%s' is not file:line", f->name, where);
    int inside = !strncmp(file, f->dir, dirlen) && file[dirlen] == '/' && !strstr(file + dirlen, "..");
    int exists = stat(file, &st) == 0 && S_ISREG(st.st_mode);
    free(file);
    if (!inside) fail_msg("%s: problem at '%s' is not in %s/:%s", f->name, where, f->dir, all);
    if (!exists) fail_msg("%s: problem at '%s' names no file that exists:%s", f->name, where, all);
    if (line <= 0) fail_msg("%s: problem at '%s' has no line:%s", f->name, where, all);
  }

  /* Every expected problem is there, at its line. */
  char missing[4096] = "";
  size_t used = 0;
  for (int k = 0; k < f->n_expects; k++) {
    const expect *x = &f->expects[k];
    char want[1024];
    snprintf(want, sizeof want, "%s/%s:%ld", f->dir, x->file, x->line);
    int found = 0;
    for (int i = 0; i < got.n && !found; i++)
      found = !strcmp(got.v[i].where, want) && strstr(got.v[i].message, x->text) != NULL;
    if (!found && used < sizeof missing) {
      int w = snprintf(missing + used, sizeof missing - used, "\n    expected %s: ...%s...", want, x->text);
      if (w > 0) used += (size_t)w;
    }
  }
  problems_free(&got);
  if (!missing[0]) {
    if (f->known_bug[0])
      print_message("NOTE %s: passes now; remove its '-- known-bug:' line (%s)\n", f->name, f->known_bug);
    return;
  }
  if (f->known_bug[0]) {
    print_message("KNOWN ENGINE BUG %s: %s%s\n  lint said:%s\n", f->name, f->known_bug, missing, all);
    skip();
  }
  fail_msg("%s: lint missed%s\n  lint said:%s", f->name, missing, all);
}

/* ---- the good protocols ---------------------------------------------------- */

static void test_good(void **state) {
  const char *path = *state;
  char all[8192];
  problem_list got = {.n = 0};
  int n = vigil_lint(path, collect, &got);
  problems_text(&got, all, sizeof all);
  problems_free(&got);
  if (n != 0) fail_msg("lint %s: expected no problem, got %d:%s", path, n, all);
}

/* ---- the CLI: vigil lint DIR exits 1 on a broken protocol, 0 on a good one - */

/* The vigil binary of the build these tests belong to: <build>/tests/test_lint
 * -> <build>/vigil; else build/vigil from the repository root. */
static int find_vigil(char *out, size_t len) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/'); /* .../tests/test_lint */
    if (slash) *slash = '\0';
    slash = strrchr(self, '/'); /* .../tests */
    if (slash) {
      *slash = '\0';
      snprintf(out, len, "%s/vigil", self);
      if (access(out, X_OK) == 0) return 0;
    }
  }
  snprintf(out, len, "build/vigil");
  return access(out, X_OK) == 0 ? 0 : -1;
}

/* Runs `vigil lint path`; returns its exit status (-1: did not exit) and its
 * standard output in out. */
static int run_lint(const char *vigil, const char *path, char *out, size_t len) {
  int fd[2];
  if (pipe(fd) < 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    FILE *null = freopen("/dev/null", "w", stderr);
    (void)null;
    execl(vigil, vigil, "lint", path, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  size_t used = 0;
  ssize_t got;
  char sink[512];
  while ((got = read(fd[0], used + 1 < len ? out + used : sink, used + 1 < len ? len - used - 1 : sizeof sink)) > 0)
    if (used + 1 < len) used += (size_t)got;
  out[used] = '\0';
  close(fd[0]);
  int status;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

typedef struct cli_case {
  const char *path;
  int status;
} cli_case;

static fixture *fixtures[MAX_FIXTURES];
static int n_fixtures;

static void test_cli(void **state) {
  (void)state;
  char vigil[4200], out[8192];
  if (find_vigil(vigil, sizeof vigil) < 0) {
    print_message("SKIP: no vigil binary next to this test nor at build/vigil\n");
    skip();
  }
  static const cli_case good[] = {
      {"protocols/ketamine_iv", 0}, {"protocols/esketamine_rems", 0}, {"bench/workload", 0}};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    int st = run_lint(vigil, good[i].path, out, sizeof out);
    if (st != good[i].status)
      fail_msg("%s lint %s: exit %d, expected %d; it said:\n%s", vigil, good[i].path, st, good[i].status, out);
  }
  /* Every broken fixture: exit 1, and the first expected problem is printed
   * as file:line: message. */
  for (int i = 0; i < n_fixtures; i++) {
    const fixture *f = fixtures[i];
    int st = run_lint(vigil, f->dir, out, sizeof out);
    if (st != 1) fail_msg("%s lint %s: exit %d, expected 1; it said:\n%s", vigil, f->dir, st, out);
    if (f->n_expects == 0 || f->known_bug[0]) continue;
    char want[1024];
    snprintf(want, sizeof want, "%s/%s:%ld: ", f->dir, f->expects[0].file, f->expects[0].line);
    if (!strstr(out, want)) fail_msg("%s lint %s: no line starting '%s'; it said:\n%s", vigil, f->dir, want, out);
  }
}

/* ---- main: one test per fixture ------------------------------------------- */

static int by_name(const void *a, const void *b) {
  return strcmp((*(fixture *const *)a)->name, (*(fixture *const *)b)->name);
}

static void test_corpus_present(void **state) {
  (void)state;
  /* The corpus is what the checks above run on: an empty one passes nothing. */
  if (n_fixtures < 20) fail_msg("only %d fixtures in %s (run from the repository root?)", n_fixtures, BROKEN_DIR);
}

int main(void) {
  DIR *d = opendir(BROKEN_DIR);
  if (d) {
    struct dirent *ent;
    while ((ent = readdir(d)) && n_fixtures < MAX_FIXTURES) {
      if (ent->d_name[0] == '.') continue;
      fixture *f = calloc(1, sizeof *f);
      if (!f) break;
      snprintf(f->name, sizeof f->name, "%s", ent->d_name);
      snprintf(f->dir, sizeof f->dir, "%s/%s", BROKEN_DIR, ent->d_name);
      struct stat st;
      if (stat(f->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(f);
        continue;
      }
      read_header(f);
      fixtures[n_fixtures++] = f;
    }
    closedir(d);
  }
  qsort(fixtures, (size_t)n_fixtures, sizeof *fixtures, by_name);

  static char *good[] = {"protocols/ketamine_iv", "protocols/esketamine_rems", "bench/workload"};
  size_t n = 0, cap = (size_t)n_fixtures + 2 + sizeof good / sizeof *good;
  struct CMUnitTest *tests = calloc(cap, sizeof *tests);
  char(*names)[300] = calloc(cap, sizeof *names);
  if (!tests || !names) return 1;
  tests[n++] = (struct CMUnitTest){.name = "corpus present", .test_func = test_corpus_present};
  for (int i = 0; i < n_fixtures; i++) {
    snprintf(names[n], sizeof names[n], "broken/%s", fixtures[i]->name);
    tests[n] = (struct CMUnitTest){.name = names[n], .test_func = test_broken, .initial_state = fixtures[i]};
    n++;
  }
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    snprintf(names[n], sizeof names[n], "good/%s", good[i]);
    tests[n++] = (struct CMUnitTest){.name = names[n - 1], .test_func = test_good, .initial_state = good[i]};
  }
  tests[n++] = (struct CMUnitTest){.name = "cli: vigil lint exit status", .test_func = test_cli};

  int failed = _cmocka_run_group_tests("lint", tests, n, NULL, NULL);
  for (int i = 0; i < n_fixtures; i++)
    free(fixtures[i]);
  free(tests);
  free(names);
  return failed;
}
