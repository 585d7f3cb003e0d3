/* embed.c: a program that embeds vigil through libvigil.so alone, as an
 * embedder would (#include <vigil/vigil.h>, -lvigil): lint a bundled
 * protocol, open an engine, load it, list it. tests/shared/check.sh runs it
 * after checking what the library exports. Runs from the repository root. */
#include <stdio.h>
#include <string.h>

#include "vigil/vigil.h"

static void say_problem(void *ud, const char *where, const char *message) {
  (void)ud;
  fprintf(stderr, "%s: %s\n", where, message);
}

static void count_protocol(void *ud, const char *ref, const char *id, const char *version, const char *sha256) {
  (void)id;
  (void)version;
  (void)sha256;
  int *n = ud;
  if (strchr(ref, '@')) (*n)++; /* id@version */
}

int main(void) {
  const char *dir = "protocols/ketamine_iv";
  int problems = vigil_lint(dir, say_problem, NULL);
  if (problems != 0) {
    fprintf(stderr, "embed: lint of %s found %d problems\n", dir, problems);
    return 1;
  }
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = 1767600000000LL};
  vigil_engine *e = NULL;
  if (vigil_engine_new(&o, &e) != 0) {
    fprintf(stderr, "embed: vigil_engine_new: %s\n", vigil_engine_errmsg(NULL));
    return 1;
  }
  const char *ref = NULL;
  if (vigil_engine_load(e, dir, &ref) != 0) {
    fprintf(stderr, "embed: vigil_engine_load: %s\n", vigil_engine_errmsg(e));
    vigil_engine_free(e);
    return 1;
  }
  int n = 0;
  vigil_engine_protocols(e, count_protocol, &n);
  int64_t now = vigil_engine_now(e);
  int ok = n == 1 && now == 1767600000000LL;
  if (ok)
    printf("embed: %s loaded through libvigil.so\n", ref);
  else
    fprintf(stderr, "embed: %d protocols loaded (1 expected), time %lld\n", n, (long long)now);
  vigil_engine_free(e);
  return ok ? 0 : 1;
}
