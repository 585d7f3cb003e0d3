/* audit.c: vigil audit verify [DB] | show VISIT [--db DB] | export --format csv|jsonl [--from T] [--to T] [--db DB]
 *
 * verify exits 0 when the chain is intact, 1 when the log was tampered
 * with or damaged, 2 when it cannot be checked (no file, not a vigil
 * database, unreadable) or on bad usage: a script can tell "proven bad" from
 * "not proven". show and export exit 0, 1 on any failure, 2 on bad usage. */
#define _GNU_SOURCE /* strptime, timegm */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vigil/vigil.h"

#define DEFAULT_DB "./var/vigil.db"

static const char USAGE[] =
    "usage: vigil audit verify [DB]\n"
    "       vigil audit show VISIT [--db DB]\n"
    "       vigil audit export --format csv|jsonl [--from ISO-TIME] [--to ISO-TIME] [--db DB]\n";

static int to_stdout(void *ud, const char *text, size_t len) {
  (void)ud;
  return fwrite(text, 1, len, stdout) == len ? 0 : -1;
}

static int finish_output(const char *what) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
  fprintf(stderr, "vigil audit %s: the output could not be written\n", what);
  return 1;
}

static int audit_verify(int argc, char **argv) {
  const char *db = DEFAULT_DB;
  int have_db = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--db") && i + 1 < argc)
      db = argv[++i];
    else if (argv[i][0] != '-' && !have_db)
      db = argv[i];
    else {
      fprintf(stderr, "vigil audit verify: unexpected '%s'\n%s", argv[i], USAGE);
      return 2;
    }
    have_db = 1;
  }
  char msg[1024];
  uint64_t events = 0, bad = 0;
  int rc = vigil_audit_verify(db, &events, &bad, msg, sizeof msg);
  if (rc == 0) {
    printf("ok: %s\n", msg);
    return finish_output("verify");
  }
  if (rc == VIGIL_ECORRUPT) {
    if (bad)
      printf("TAMPERED at event %llu: %s\n", (unsigned long long)bad, msg);
    else
      printf("TAMPERED: %s\n", msg);
    finish_output("verify");
    return 1;
  }
  fprintf(stderr, "vigil audit verify: %s\n", msg);
  return 2;
}

static int audit_show(int argc, char **argv) {
  const char *db = DEFAULT_DB, *visit_arg = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--db") && i + 1 < argc)
      db = argv[++i];
    else if (argv[i][0] != '-' && !visit_arg)
      visit_arg = argv[i];
    else {
      fprintf(stderr, "vigil audit show: unexpected '%s'\n%s", argv[i], USAGE);
      return 2;
    }
  }
  char *end = NULL;
  unsigned long long visit = visit_arg ? strtoull(visit_arg, &end, 10) : 0;
  if (!visit_arg || !*visit_arg || *end || visit_arg[0] == '-') {
    fprintf(stderr, "vigil audit show: which visit? (a number)\n%s", USAGE);
    return 2;
  }
  char msg[1024];
  int rc = vigil_audit_show(db, (uint64_t)visit, to_stdout, NULL, msg, sizeof msg);
  if (rc < 0) {
    fflush(stdout);
    fprintf(stderr, "vigil audit show: %s\n", msg);
    return 1;
  }
  return finish_output("show");
}

static int audit_export(int argc, char **argv) {
  const char *db = DEFAULT_DB, *format = NULL;
  int64_t from = INT64_MIN, to = INT64_MAX;
  for (int i = 1; i < argc; i++) {
    int has_value = i + 1 < argc;
    if (!strcmp(argv[i], "--db") && has_value)
      db = argv[++i];
    else if (!strcmp(argv[i], "--format") && has_value)
      format = argv[++i];
    else if ((!strcmp(argv[i], "--from") || !strcmp(argv[i], "--to")) && has_value) {
      int64_t *bound = argv[i][2] == 'f' ? &from : &to;
      if (vigil_time_parse(argv[i + 1], bound) < 0) {
        fprintf(stderr,
                "vigil audit export: %s takes a time such as 2026-01-05, 2026-01-05T08:00:00Z or "
                "2026-01-05T09:00:00+01:00, not '%s'\n",
                argv[i], argv[i + 1]);
        return 2;
      }
      i++;
    } else {
      fprintf(stderr, "vigil audit export: unexpected '%s'\n%s", argv[i], USAGE);
      return 2;
    }
  }
  if (!format || (strcmp(format, "csv") && strcmp(format, "jsonl"))) {
    fprintf(stderr, "vigil audit export: --format csv or --format jsonl\n%s", USAGE);
    return 2;
  }
  char msg[1024];
  int rc = vigil_audit_export(db, format, from, to, to_stdout, NULL, msg, sizeof msg);
  if (rc < 0) {
    fflush(stdout);
    fprintf(stderr, "vigil audit export: %s\n", msg);
    return 1;
  }
  return finish_output("export");
}

int cmd_audit(int argc, char **argv) {
  if (argc < 2) {
    fputs(USAGE, stderr);
    return 2;
  }
  if (!strcmp(argv[1], "verify")) return audit_verify(argc - 1, argv + 1);
  if (!strcmp(argv[1], "show")) return audit_show(argc - 1, argv + 1);
  if (!strcmp(argv[1], "export")) return audit_export(argc - 1, argv + 1);
  fprintf(stderr, "vigil audit: unknown subcommand '%s'\n%s", argv[1], USAGE);
  return 2;
}
