/* audit.c: vigil audit verify [DB] [--anchor FILE --public-key FILE] | show VISIT [--db DB] | export --format
 * csv|jsonl [--from T] [--to T] [--db DB] | keygen KEYFILE | anchor [DB] --key KEYFILE
 *
 * verify exits 0 when the chain is intact, 1 when the log was tampered
 * with or damaged, 2 when it cannot be checked (no file, not a vigil
 * database, unreadable) or on bad usage: a script can tell "proven bad" from
 * "not proven". show and export exit 0, 1 on any failure, 2 on bad usage. */
#define _GNU_SOURCE /* strptime, timegm */
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "store/protocol_version.h"
#include "store/store.h"
#include "vigil/vigil.h"

#define DEFAULT_DB "./var/vigil.db"

static const char USAGE[] =
    "usage: vigil audit verify [DB] [--anchor FILE --public-key FILE]   (DB: a SQLite file or postgresql://...)\n"
    "       vigil audit show VISIT [--db DB]\n"
    "       vigil audit export --format csv|jsonl [--from ISO-TIME] [--to ISO-TIME] [--db DB]\n"
    "       vigil audit keygen KEYFILE\n"
    "       vigil audit anchor [DB] --key KEYFILE\n"
    "\n"
    "keygen makes the site's anchor key: KEYFILE (secret, mode 0600: keep it off the database's machine\n"
    "or at least out of the reach of whoever can write the database) and KEYFILE.pub. anchor verifies\n"
    "the whole log and prints its head (seq and hash), signed with the key: keep that line elsewhere\n"
    "(another machine, a ticket, paper). verify --anchor checks that the log still holds that head\n"
    "and that the chain from it is intact, which a rewrite of the whole chain cannot fake\n"
    "(docs/security.md, docs/audit.md).\n";

static int finish_output(const char *what) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
  fprintf(stderr, "vigil audit %s: the output could not be written\n", what);
  return 1;
}

/* A whole small file (at most max bytes) into out, NUL-terminated: 0, or -1. */
static int read_small(const char *path, char *out, size_t max) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(out, 1, max - 1, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  out[n] = '\0';
  while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
    out[--n] = '\0';
  return more ? -1 : 0;
}

/* A key file's hex into len bytes: 0, or -1. */
static int read_key(const char *path, unsigned char *key, size_t len) {
  char hex[300];
  size_t got = 0;
  if (read_small(path, hex, sizeof hex) < 0) return -1;
  int rc = sodium_hex2bin(key, len, hex, strlen(hex), NULL, &got, NULL) == 0 && got == len ? 0 : -1;
  sodium_memzero(hex, sizeof hex);
  return rc;
}

static int audit_keygen(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "vigil audit keygen: which file? (the secret key goes there, the public key beside it in .pub)\n%s",
            USAGE);
    return 2;
  }
  if (sodium_init() < 0) return 1;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  char hex[2 * crypto_sign_SECRETKEYBYTES + 1], pub[4200];
  crypto_sign_keypair(pk, sk);
  snprintf(pub, sizeof pub, "%s.pub", argv[1]);
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    perror(argv[1]);
    fprintf(stderr, "vigil audit keygen: %s is not overwritten: an anchor made with it could no longer be checked\n",
            argv[1]);
    sodium_memzero(sk, sizeof sk);
    return 1;
  }
  sodium_bin2hex(hex, sizeof hex, sk, sizeof sk);
  sodium_memzero(sk, sizeof sk);
  size_t len = strlen(hex);
  hex[len] = '\n';
  int ok = write(fd, hex, len + 1) == (ssize_t)(len + 1) && fsync(fd) == 0;
  sodium_memzero(hex, sizeof hex);
  ok = close(fd) == 0 && ok;
  FILE *f = ok ? fopen(pub, "w") : NULL;
  if (f) {
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    ok = fprintf(f, "%s\n", hex) > 0;
    ok = fclose(f) == 0 && ok;
  }
  if (!f || !ok) {
    fprintf(stderr, "vigil audit keygen: cannot write %s or %s\n", argv[1], pub);
    unlink(argv[1]);
    return 1;
  }
  printf("secret key: %s (keep it away from the database)\npublic key: %s (%s)\n", argv[1], pub, hex);
  return finish_output("keygen");
}

static int audit_anchor(int argc, char **argv) {
  const char *db = DEFAULT_DB, *key = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--db") && i + 1 < argc)
      db = argv[++i];
    else if (!strcmp(argv[i], "--key") && i + 1 < argc)
      key = argv[++i];
    else if (argv[i][0] != '-')
      db = argv[i];
    else {
      fprintf(stderr, "vigil audit anchor: unexpected '%s'\n%s", argv[i], USAGE);
      return 2;
    }
  }
  if (!key) {
    fprintf(stderr, "vigil audit anchor: --key KEYFILE (made by vigil audit keygen)\n%s", USAGE);
    return 2;
  }
  if (sodium_init() < 0) return 1;
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  if (read_key(key, sk, sizeof sk) < 0) {
    fprintf(stderr, "vigil audit anchor: %s is not a key made by vigil audit keygen\n", key);
    return 2;
  }
  char msg[1024], *anchor = NULL;
  int rc = vigil_audit_anchor(db, sk, &anchor, msg, sizeof msg);
  sodium_memzero(sk, sizeof sk);
  if (rc == VIGIL_ECORRUPT) {
    printf("TAMPERED: %s (not anchored)\n", msg);
    finish_output("anchor");
    return 1;
  }
  if (rc < 0) {
    fprintf(stderr, "vigil audit anchor: %s\n", msg);
    return 2;
  }
  printf("%s\n", anchor);
  free(anchor);
  return finish_output("anchor");
}

static int to_stdout(void *ud, const char *text, size_t len) {
  (void)ud;
  return fwrite(text, 1, len, stdout) == len ? 0 : -1;
}

static int audit_verify(int argc, char **argv) {
  const char *db = DEFAULT_DB, *anchor = NULL, *public_key = NULL;
  int have_db = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--anchor") && i + 1 < argc) {
      anchor = argv[++i];
      continue;
    }
    if (!strcmp(argv[i], "--public-key") && i + 1 < argc) {
      public_key = argv[++i];
      continue;
    }
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
  if (!anchor != !public_key) {
    fprintf(stderr,
            "vigil audit verify: --anchor FILE and --public-key FILE go together (the site's public key, which "
            "an anchor's own text cannot vouch for)\n%s",
            USAGE);
    return 2;
  }
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  char anchor_text[2048];
  if (anchor && read_small(anchor, anchor_text, sizeof anchor_text) < 0) {
    fprintf(stderr, "vigil audit verify: cannot read the anchor %s\n", anchor);
    return 2;
  }
  if (public_key && (sodium_init() < 0 || read_key(public_key, pk, sizeof pk) < 0)) {
    fprintf(stderr, "vigil audit verify: %s is not a public key made by vigil audit keygen\n", public_key);
    return 2;
  }
  char msg[2048];
  uint64_t events = 0, bad = 0;
  if (vigil__store_is_pg(db)) { /* a cluster's database: every site (docs/deploy.md, Backups) */
    if (anchor) {
      fprintf(stderr, "vigil audit verify: --anchor is for a SQLite database; a PostgreSQL one has no anchor yet\n");
      return 2;
    }
    char uploads[4200], site[80];
    vigil__protocol_uploads_dir(db, uploads, sizeof uploads); /* as vigil serve keeps them */
    int rc = vigil__store_pg_verify(db, uploads, 1, &events, site, sizeof site, &bad, msg, sizeof msg);
    if (rc == 0) {
      printf("ok: %s\n", msg);
      return finish_output("verify");
    }
    if (rc != VIGIL_ECORRUPT) {
      fprintf(stderr, "vigil audit verify: %s\n", msg);
      return 2;
    }
    if (bad)
      printf("TAMPERED at event %llu of site %s: %s\n", (unsigned long long)bad, site, msg);
    else
      printf("TAMPERED: %s\n", msg);
    finish_output("verify");
    return 1;
  }
  int rc = vigil_audit_verify(db, &events, &bad, msg, sizeof msg);
  if (rc == 0 && anchor) {
    char amsg[1024];
    rc = vigil_audit_verify_anchor(db, anchor_text, pk, &bad, amsg, sizeof amsg);
    if (rc == VIGIL_EINVAL) {
      fprintf(stderr, "vigil audit verify: %s: %s\n", anchor, amsg);
      return 2;
    }
    if (rc == 0) printf("ok: %s; %s\n", msg, amsg);
    snprintf(msg, sizeof msg, "%s", amsg);
    if (rc == 0) return finish_output("verify");
  } else if (rc == 0) {
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
  /* D4 of the second try: it said "No such file or directory" of a URI. */
  if (vigil__store_is_pg(db)) {
    fprintf(stderr,
            "vigil audit show: reads a SQLite file; on PostgreSQL it is not built yet (docs/deploy.md, Not "
            "yet): GET /api/v1/visits/%llu/events?site=SITE gives the visit's events\n",
            visit);
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

int vigil__cmd_audit(int argc, char **argv) {
  if (argc < 2) {
    fputs(USAGE, stderr);
    return 2;
  }
  if (!strcmp(argv[1], "verify")) return audit_verify(argc - 1, argv + 1);
  if (!strcmp(argv[1], "show")) return audit_show(argc - 1, argv + 1);
  if (!strcmp(argv[1], "export")) return audit_export(argc - 1, argv + 1);
  if (!strcmp(argv[1], "keygen")) return audit_keygen(argc - 1, argv + 1);
  if (!strcmp(argv[1], "anchor")) return audit_anchor(argc - 1, argv + 1);
  fprintf(stderr, "vigil audit: unknown subcommand '%s'\n%s", argv[1], USAGE);
  return 2;
}
