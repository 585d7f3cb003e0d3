/* embed.c: a program that embeds vigil through libvigil.so alone, as an
 * embedder would (#include <vigil/vigil.h>, -lvigil): lint a bundled
 * protocol, open an engine, load it, list it. tests/shared/check.sh runs it
 * after checking what the library exports. Runs from the repository root.
 * Then the options' size (vigil.h, vigil_engine_open): a program built
 * against an older vigil.h, whose vigil_options was shorter, and one built
 * against a newer. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Opens and frees an engine from options of size bytes whose first bytes are
 * o's and whose rest is fill (a program built against another vigil.h): the
 * return code. A heap block of exactly size bytes, so that a read past it is
 * AddressSanitizer's and valgrind's error. */
static int open_sized(const vigil_options *o, size_t size, unsigned char fill) {
  unsigned char *bytes = malloc(size);
  if (!bytes) return -1;
  memset(bytes, fill, size);
  memcpy(bytes, o, size < sizeof *o ? size : sizeof *o);
  vigil_engine *e = NULL;
  int rc = vigil_engine_open((const vigil_options *)(void *)bytes, size, &e);
  free(bytes);
  if (rc == 0) vigil_engine_free(e);
  return rc;
}

static int options_sizes(void) {
  vigil_options o = {.clock = VIGIL_CLOCK_SIMULATED, .sim_start_ms = 1767600000000LL};
  /* vigil_options before max_readings_per_visit (184 bytes on x86-64). */
  size_t older = offsetof(vigil_options, max_readings_per_visit);
  int rc_older = open_sized(&o, older, 0);
  int rc_newer_unset = open_sized(&o, sizeof o + 16, 0);
  int rc_newer_set = open_sized(&o, sizeof o + 16, 1);
  if (rc_older == 0 && rc_newer_unset == 0 && rc_newer_set == VIGIL_EINVAL) {
    printf("embed: options of %zu (older), %zu and %zu bytes (newer) taken as vigil.h says\n", older, sizeof o,
           sizeof o + 16);
    return 0;
  }
  fprintf(stderr, "embed: options of %zu bytes: %d (0 expected); of %zu bytes unset: %d (0), set: %d (%d)\n", older,
          rc_older, sizeof o + 16, rc_newer_unset, rc_newer_set, VIGIL_EINVAL);
  return 1;
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
  if (!ok) return 1;
  return options_sizes();
}
