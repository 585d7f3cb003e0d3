/* lint.c: vigil lint PROTOCOL... */
#include <stdio.h>

#include "cli.h"
#include "vigil/vigil.h"

static void print_problem(void *ud, const char *where, const char *message) {
  (void)ud;
  printf("%s: %s\n", where, message);
}

int vigil__cmd_lint(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: vigil lint PROTOCOL...\n");
    return 2;
  }
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    int n = vigil_lint(argv[i], print_problem, NULL);
    if (n < 0) {
      fprintf(stderr, "vigil lint: %s: %s\n", argv[i], vigil_strerror(n));
      return 2;
    }
    if (n == 0) fprintf(stderr, "%s: ok\n", argv[i]);
    bad += n;
  }
  return bad ? 1 : 0;
}
