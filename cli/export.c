/* export.c: vigil export fhir|rems VISIT [--db DB] [--csv]
 *           vigil export course COURSE [--db DB]
 *
 * Reads the event store as it is, also while `vigil serve` runs on it (a
 * read-only engine: nothing recorded, no deadline fired), and prints one
 * visit's record in a format others file: a FHIR R4 Bundle, or the Spravato
 * REMS Patient Monitoring Form's data as JSON or CSV; or a patient's
 * treatment course as a FHIR R4 Bundle. Exit 0, 1 on failure,
 * 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export/export.h"
#include "store/store.h"
#include "vigil/vigil.h"

#define DEFAULT_DB "./var/vigil.db"

static const char USAGE[] = "usage: vigil export fhir VISIT [--db DB [--site SITE]]\n"
                            "       vigil export rems VISIT [--csv] [--db DB [--site SITE]]\n"
                            "       vigil export course COURSE [--db DB [--site SITE]]\n"
                            "       (--site: which site of a PostgreSQL store; each counts its visits)\n";

/* The engine's warnings and errors go to stderr; its news (a recovery's
 * summary) is not what someone exporting a record asked for. */
static void log_problems(void *ud, vigil_log_level level, const char *msg) {
  (void)ud;
  if (level <= VIGIL_LOG_WARN) fprintf(stderr, "vigil: %s: %s\n", level == VIGIL_LOG_ERROR ? "error" : "warn", msg);
}

int vigil__cmd_export(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "fhir") != 0 && strcmp(argv[1], "rems") != 0 && strcmp(argv[1], "course") != 0)) {
    fprintf(stderr, "vigil export: fhir, rems or course?\n%s", USAGE);
    return 2;
  }
  const char *what = argv[1], *db = DEFAULT_DB, *visit_arg = NULL, *site = NULL;
  int csv = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--db") && i + 1 < argc)
      db = argv[++i];
    else if (!strcmp(argv[i], "--site") && i + 1 < argc)
      site = argv[++i];
    else if (!strcmp(argv[i], "--csv") && !strcmp(what, "rems"))
      csv = 1;
    else if (argv[i][0] != '-' && !visit_arg)
      visit_arg = argv[i];
    else {
      fprintf(stderr, "vigil export %s: unexpected '%s'\n%s", what, argv[i], USAGE);
      return 2;
    }
  }
  char *end = NULL;
  unsigned long long visit = visit_arg ? strtoull(visit_arg, &end, 10) : 0;
  int course = !strcmp(what, "course");
  if (!visit_arg || !*visit_arg || *end || visit_arg[0] == '-' || visit == 0) {
    fprintf(stderr, "vigil export %s: which %s? (a number)\n%s", what, course ? "course" : "visit", USAGE);
    return 2;
  }
  /* D4 of the second try (docs/deploy.md): on PostgreSQL visit 1 is one
   * per site, and the export read site default's, saying "no such visit". */
  if (vigil__store_is_pg(db) != !!site) {
    fprintf(stderr, "vigil export %s: %s\n%s", what,
            site ? "--site names a site of a PostgreSQL store (--db postgresql://...)"
                 : "on PostgreSQL each site counts its own visits and courses: name the site with --site SITE",
            USAGE);
    return 2;
  }
  vigil_options opts = {.db_path = db, .site = site, .log = log_problems, .read_only = 1};
  vigil_engine *e;
  int rc = vigil_engine_new(&opts, &e);
  if (rc < 0) {
    fprintf(stderr, "vigil export %s: %s\n", what, e ? vigil_engine_errmsg(e) : vigil_strerror(rc));
    vigil_engine_free(e);
    return 1;
  }
  char *out = NULL, err[1024];
  rc = course                  ? vigil__export_course_fhir(e, (uint64_t)visit, &out, err, sizeof err)
       : !strcmp(what, "fhir") ? vigil__export_fhir(e, (uint64_t)visit, &out, err, sizeof err)
                               : vigil__export_rems(e, (uint64_t)visit, csv, &out, err, sizeof err);
  vigil_engine_free(e);
  if (rc < 0) {
    fprintf(stderr, "vigil export %s: %s %llu: %s\n", what, course ? "course" : "visit", visit, err);
    return 1;
  }
  size_t n = strlen(out);
  int ok = fwrite(out, 1, n, stdout) == n && (n && out[n - 1] == '\n' ? 1 : fputc('\n', stdout) != EOF);
  free(out);
  if (fflush(stdout) != 0 || !ok) {
    fprintf(stderr, "vigil export %s: the output could not be written\n", what);
    return 1;
  }
  return 0;
}
