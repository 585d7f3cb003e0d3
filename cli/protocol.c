/* protocol.c: vigil protocol diff A B [--db DB]
 *
 * A and B are protocol folders (or files), or versions kept in an event store
 * (id@version, or a sha256): how a clinical lead compares what runs today
 * with what is proposed. */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/intern.h"
#include "cli.h"
#include "author/protocol_diff.h"
#include "store/protocol_version.h"
#include "vigil/vigil.h"

static void add_problem(void *ud, const char *where, const char *message) {
  vigil__buf_printf(ud, "%s: %s\n", where, message);
}

static void print_line(void *ud, const char *line) {
  (void)ud;
  printf("%s\n", line);
}

int vigil__cmd_protocol(int argc, char **argv) {
  const char *db = NULL, *a = NULL, *b = NULL;
  if (argc < 2 || strcmp(argv[1], "diff") != 0) {
    fprintf(stderr, "usage: vigil protocol diff A B [--db DB]\n");
    return 2;
  }
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--db") && i + 1 < argc)
      db = argv[++i];
    else if (argv[i][0] != '-' && !a)
      a = argv[i];
    else if (argv[i][0] != '-' && !b)
      b = argv[i];
    else {
      fprintf(stderr, "vigil protocol diff: unexpected '%s'\n", argv[i]);
      return 2;
    }
  }
  if (!a || !b) {
    fprintf(stderr, "usage: vigil protocol diff A B [--db DB]\n");
    return 2;
  }
  /* The protocols' interned names are held while they live: the diff runs
   * the older version's specs on engines of their own (N1), whose last
   * release would otherwise free them. */
  if (vigil__intern_retain() < 0) {
    fprintf(stderr, "vigil protocol diff: out of memory\n");
    return 2;
  }
  buf problems;
  vigil__buf_init(&problems);
  protocol *pa = vigil__protocol_version_load(a, db, add_problem, &problems);
  protocol *pb = pa ? vigil__protocol_version_load(b, db, add_problem, &problems) : NULL;
  int rc = 2;
  if (pa && pb) {
    rc = 0;
    if (vigil__protocol_diff(pa, pb, print_line, NULL) == VIGIL_ENOMEM) {
      fflush(stdout);
      fprintf(stderr, "vigil protocol diff: out of memory (the report above is not all of it)\n");
      rc = 1;
    }
  } else {
    fprintf(stderr, "%s", problems.p ? problems.p : "vigil protocol diff: cannot load\n");
  }
  vigil__protocol_free(pa);
  vigil__protocol_free(pb);
  vigil__intern_release();
  vigil__buf_free(&problems);
  return rc;
}
