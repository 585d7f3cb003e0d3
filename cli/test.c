/* test.c: vigil test [--coverage] [--protocol DIR] PATH...
 *
 * Runs protocol specs (core/spec.h) and prints the results as TAP version 13,
 * which ctest and every CI reads: one test point per expectation, failures
 * with the spec's file:line and the expected and actual timelines in a YAML
 * block. With --coverage, what no spec reached follows as TAP comments. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "author/coverage.h"
#include "author/spec.h"

typedef struct tap {
  int n, failed;
  const char *spec; /* the title printed last */
} tap;

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

/* A YAML block scalar: every line indented. */
static void yaml_block(const char *key, const char *text) {
  if (!text) return;
  printf("  %s: |\n", key);
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    int len = nl ? (int)(nl - p) : (int)strlen(p);
    printf("    %.*s\n", len, p);
    p += len + (nl ? 1 : 0);
  }
}

static void print_result(void *ud, const spec_result *r) {
  tap *t = ud;
  if (!t->spec || strcmp(t->spec, r->spec ? r->spec : "")) {
    printf("# %s\n", r->spec ? r->spec : "");
    free((void *)t->spec);
    t->spec = strdup(r->spec ? r->spec : "");
  }
  t->n++;
  if (r->ok) {
    printf("ok %d - %s\n", t->n, r->name ? r->name : "");
    return;
  }
  t->failed++;
  printf("not ok %d - %s: %s\n", t->n, r->where ? r->where : "?", r->message ? r->message : "failed");
  printf("  ---\n  at: %s\n", r->where ? r->where : "?");
  yaml_block("expected", r->expected);
  yaml_block("actual", r->actual);
  printf("  ...\n");
  /* Editors and people scanning a log look for file:line on stderr. */
  fprintf(stderr, "%s: %s\n", r->where ? r->where : "?", r->message ? r->message : "failed");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The *_spec.lua files of dir, sorted, appended to list. */
static int collect(const char *dir, char ***list, int *n) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int first = *n;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!ends_with(de->d_name, "_spec.lua")) continue;
    char **grown = realloc(*list, (size_t)(*n + 1) * sizeof **list);
    if (!grown) break;
    *list = grown;
    size_t len = strlen(dir) + strlen(de->d_name) + 2;
    (*list)[*n] = malloc(len);
    if (!(*list)[*n]) break;
    snprintf((*list)[*n], len, "%s/%s", dir, de->d_name);
    (*n)++;
  }
  closedir(d);
  if (*n - first > 1) qsort(*list + first, (size_t)(*n - first), sizeof **list, cmp_str);
  return *n - first;
}

/* The protocol a spec file belongs to: the folder holding it, or the folder
 * above when the spec is in a specs/ folder. */
static void protocol_of_spec(const char *spec, char *out, size_t n) {
  snprintf(out, n, "%s", spec);
  char *slash = strrchr(out, '/');
  if (!slash) {
    snprintf(out, n, ".");
    return;
  }
  *slash = '\0';
  char probe[4200];
  snprintf(probe, sizeof probe, "%.4096s/protocol.lua", out);
  struct stat st;
  if (stat(probe, &st) == 0) return;
  slash = strrchr(out, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(out, n, ".");
}

typedef struct spec_counter {
  spec_result_fn fn;
  void *ud;
  int checks, failed;
} spec_counter;

static void count_result(void *ud, const spec_result *r) {
  spec_counter *c = ud;
  c->checks++;
  c->failed += !r->ok;
  if (c->fn) c->fn(c->ud, r);
}

/* Runs the specs of the protocol folder dir (its *_spec.lua files and those
 * of its specs/ folder) for vigil serve's start (G10, docs/safety.md): fn
 * hears every check; *checks and *failed count them, and *files the spec
 * files. -1 when one does not load (the message in err). */
int vigil__cli_protocol_specs(const char *dir, spec_result_fn fn, void *ud, int *checks, int *failed, int *files,
                              char *err, size_t errlen) {
  char **paths = NULL, sub[4200];
  int n = 0, rc = 0;
  snprintf(sub, sizeof sub, "%s/specs", dir);
  collect(dir, &paths, &n);
  collect(sub, &paths, &n);
  *files = n;
  spec_counter c = {fn, ud, 0, 0};
  for (int k = 0; k < n && rc == 0; k++)
    if (vigil__spec_run_file(dir, paths[k], count_result, &c, NULL, err, errlen) < 0) rc = -1;
  *checks = c.checks;
  *failed = c.failed;
  for (int k = 0; k < n; k++)
    free(paths[k]);
  free(paths);
  return rc;
}

static void print_comment(void *ud, const char *line) {
  (void)ud;
  printf("# %s\n", line);
}

int vigil__cmd_test(int argc, char **argv) {
  const char *protocol = NULL;
  int coverage = 0;
  char **paths = NULL;
  int n_paths = 0, rc = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--coverage"))
      coverage = 1;
    else if (!strcmp(argv[i], "--protocol") && i + 1 < argc)
      protocol = argv[++i];
    else if (argv[i][0] == '-') {
      fprintf(stderr, "vigil test: unexpected '%s'\n", argv[i]);
      return 2;
    }
  }
  spec_coverage *cov = coverage ? vigil__coverage_new() : NULL;
  tap t = {0};
  printf("TAP version 13\n");
  for (int i = 1; i < argc && rc == 0; i++) {
    if (argv[i][0] == '-') {
      if (!strcmp(argv[i], "--protocol")) i++;
      continue;
    }
    int first = n_paths;
    if (is_dir(argv[i])) {
      char sub[4096];
      snprintf(sub, sizeof sub, "%s/specs", argv[i]);
      if (collect(argv[i], &paths, &n_paths) + collect(sub, &paths, &n_paths) == 0) {
        fprintf(stderr, "vigil test: %s: no *_spec.lua files (in the folder or its specs/ folder)\n", argv[i]);
        rc = 2;
      }
    } else if (ends_with(argv[i], ".lua")) {
      char **grown = realloc(paths, (size_t)(n_paths + 1) * sizeof *paths);
      if (grown && (grown[n_paths] = strdup(argv[i])))
        paths = grown, n_paths++;
      else if (grown)
        paths = grown;
    } else {
      fprintf(stderr, "vigil test: %s: not a protocol folder or a spec file\n", argv[i]);
      rc = 2;
    }
    for (int k = first; k < n_paths && rc == 0; k++) {
      char dir[4096], err[2048];
      if (protocol)
        snprintf(dir, sizeof dir, "%s", protocol);
      else if (is_dir(argv[i]))
        snprintf(dir, sizeof dir, "%s", argv[i]);
      else
        protocol_of_spec(paths[k], dir, sizeof dir);
      printf("# %s (protocol %s)\n", paths[k], dir);
      if (vigil__spec_run_file(dir, paths[k], print_result, &t, cov, err, sizeof err) < 0) {
        fprintf(stderr, "vigil test: %s\n", err);
        printf("Bail out! %s does not load\n", dir);
        rc = 2;
      }
    }
  }
  if (rc == 0) printf("1..%d\n", t.n);
  if (cov && rc == 0) vigil__coverage_report(cov, print_comment, NULL);
  if (rc == 0) fprintf(stderr, "vigil test: %d of %d checks passed\n", t.n - t.failed, t.n);
  for (int i = 0; i < n_paths; i++)
    free(paths[i]);
  free(paths);
  free((void *)t.spec);
  vigil__coverage_free(cov);
  return rc ? rc : t.failed ? 1 : 0;
}
