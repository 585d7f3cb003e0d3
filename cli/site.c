/* site.c: vigil site add NAME[,NAME...] --store URI: the sites of a cluster
 * on PostgreSQL, created explicitly (C7 of issue 17's try: a node used to
 * create every site of its --sites, so a typo made a permanent empty site;
 * a node now claims only sites that exist). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store/store.h"
#include "vigil/vigil.h"

static const char *const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

int vigil__cmd_site(int argc, char **argv) {
  const char *names = NULL, *uri = NULL;
  for (int i = 2; i < argc; i++) {
    if ((!strcmp(argv[i], "--store") || !strcmp(argv[i], "--db")) && i + 1 < argc)
      uri = argv[++i];
    else if (!names && argv[i][0] != '-')
      names = argv[i];
    else
      names = NULL, i = argc;
  }
  if (argc < 2 || strcmp(argv[1], "add") != 0 || !names || !uri) {
    fprintf(stderr, "usage: vigil site add NAME[,NAME...] --store postgresql://...\n");
    return 2;
  }
  if (!vigil__store_is_pg(uri)) {
    fprintf(stderr, "vigil site: sites are a cluster's, on a PostgreSQL store (--store postgresql://...)\n");
    return 2;
  }
  int failed = 0;
  for (const char *p = names; *p;) {
    size_t len = strcspn(p, ",");
    char name[80], err[600];
    if (len == 0 || len > 64 || strspn(p, NAME_CHARS) < len) {
      fprintf(stderr, "vigil site: a site's name is letters, digits, '-' and '_', at most 64: not '%.*s'\n",
              (int)(len < 64 ? len : 64), p);
      return 2;
    }
    snprintf(name, sizeof name, "%.*s", (int)len, p);
    p += len + (p[len] == ',');
    int created = 0;
    if (vigil__store_pg_add_site(uri, name, &created, err, sizeof err) < 0) {
      fprintf(stderr, "vigil site: %s\n", err);
      failed = 1;
      continue;
    }
    printf("%s %s\n", created ? "created the site" : "the site exists already:", name);
  }
  return failed;
}
