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

/* 2026-01-05, 2026-01-05T08:00[:00[.250]], then Z, +01:00, -0500 or no
 * zone (UTC). Also a space for the T. */
static int parse_iso_time(const char *s, int64_t *ms) {
  struct tm tm = {0};
  const char *p = strptime(s, "%Y-%m-%d", &tm);
  if (!p) return -1;
  int year = tm.tm_year, month = tm.tm_mon, day = tm.tm_mday;
  int64_t frac = 0;
  if (*p == 'T' || *p == ' ') {
    if (!(p = strptime(p + 1, "%H:%M", &tm))) return -1;
    if (*p == ':' && !(p = strptime(p + 1, "%S", &tm))) return -1;
    if (*p == '.') {
      int digits = 0;
      for (p++; *p >= '0' && *p <= '9'; p++, digits++)
        if (digits < 3) frac = frac * 10 + (*p - '0');
      if (!digits) return -1;
      for (; digits < 3; digits++) frac *= 10;
    }
  }
  int64_t offset = 0;
  if (*p == 'Z')
    p++;
  else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, hh, mm, n = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 && sscanf(p + 1, "%2d%2d%n", &hh, &mm, &n) != 2) return -1;
    if (hh > 23 || mm > 59) return -1;
    offset = sign * (hh * 3600 + mm * 60);
    p += 1 + n;
  }
  if (*p) return -1;
  time_t secs = timegm(&tm);
  /* timegm rolls 2026-02-30 over into March: refuse what does not exist. */
  struct tm back;
  gmtime_r(&secs, &back);
  if (back.tm_year != year || back.tm_mon != month || back.tm_mday != day) return -1;
  *ms = ((int64_t)secs - offset) * 1000 + frac;
  return 0;
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
      if (parse_iso_time(argv[i + 1], bound) < 0) {
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
