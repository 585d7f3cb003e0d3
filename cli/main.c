/* main.c: the vigil program: one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vigil/vigil.h"

static const struct command {
  const char *name, *usage, *help;
  int (*run)(int argc, char **argv);
} commands[] = {
    {"lint", "vigil lint PROTOCOL...", "Check protocols; print every problem as file:line: message (exit 1 on any).",
     vigil__cmd_lint},
    {"simulate", "vigil simulate PROTOCOL --scenario FILE [--json] [--start ISO-TIME]",
     "Run a scenario of timed nurse actions in simulated time and print the visit's timeline.", vigil__cmd_simulate},
    {"protocol", "vigil protocol diff A B [--db DB]",
     "What changed from version A to version B, in clinical terms: params (thresholds) and their defaults,\n"
     "      phases, items and their schedules, rules, gates and hooks, and the helper code behind them. A and B\n"
     "      are protocol folders, or versions a server keeps: uploads beside the event store DB, and every version\n"
     "      a visit started on (id@version or a sha256).",
     vigil__cmd_protocol},
    {"test", "vigil test [--coverage] [--protocol DIR] PATH...",
     "Run protocol specs (*_spec.lua in each protocol folder PATH and its specs/ folder, or the spec files\n"
     "      given) in simulated time; print TAP; exit 1 if any expectation fails. --protocol runs them against\n"
     "      another copy of the protocol; --coverage lists the rules, items and lines no spec reached.\n"
     "      See docs/protocols.md, \"Testing a protocol\".",
     vigil__cmd_test},
    {"audit",
     "vigil audit verify [DB]\n"
     "  vigil audit show VISIT [--db DB]\n"
     "  vigil audit export --format csv|jsonl [--from ISO-TIME] [--to ISO-TIME] [--db DB]",
     "The audit trail in the event store DB (default ./var/vigil.db), read-only, also while vigil runs.\n"
     "      verify: check every event's hash chain and the log's head; print \"ok: N events, chain intact\" (exit 0)\n"
     "        or the first tampered event's sequence number and what was done to it (exit 1); exit 2 if DB\n"
     "        cannot be checked.\n"
     "      show: one visit's history for a person: when (UTC and local time, by TZ), who, what; an amendment\n"
     "        shows the old value -> the new one and the reason.\n"
     "      export: the events with --from <= time < --to, to standard output: csv (seq,time,visit,type,actor,\n"
     "        data) or jsonl (each event's stored JSON). Times: 2026-01-05, 2026-01-05T08:00:00Z, or with an\n"
     "        offset (2026-01-05T09:00:00+01:00); no zone means UTC. See docs/audit.md.",
     vigil__cmd_audit},
    {"export",
     "vigil export fhir VISIT [--db DB]\n  vigil export rems VISIT [--csv] [--db DB]\n  vigil export course COURSE "
     "[--db DB]",
     "One visit's record from the event store DB (default ./var/vigil.db; not while a server holds it): fhir, a FHIR\n"
     "      R4 Bundle (docs/fhir.md); rems, the Spravato REMS Patient Monitoring Form's data as JSON or CSV\n"
     "      (docs/rems.md); course, a patient's treatment course as a FHIR R4 Bundle (docs/fhir.md, \"The course\").",
     vigil__cmd_export},
    {"serve",
     "vigil serve [--config FILE] [--store DB] [--listen HOST:PORT] [--protocols DIR] [--idle-timeout S]\n"
     "  [--request-timeout S] [--stream-heartbeat S] [--clock=simulated --allow-simulated-clock]\n"
     "  [--allow-untested] [--node NAME [--advertise URL] [--sites a,b]]",
     "Serve the JSON API (docs/http.md) on HOST:PORT (default 127.0.0.1:8080) over the event store DB (default\n"
     "      ./var/vigil.db, creating ./var; --db is the same; a postgresql:// URI is a PostgreSQL store), with\n"
     "      every protocol in DIR (default protocols/: each subfolder holding a protocol.lua). Settings come from\n"
     "      FILE (default ./vigil.conf, see docs/config.md); flags override it.\n"
     "      The first start on a database without users creates the user admin and writes its password to a\n"
     "      file only this user may read (DB-admin-password; ./var/admin-password with PostgreSQL), shown on a\n"
     "      terminal too.\n"
     "      Each protocol of the folders must pass its specs (vigil test): a protocol whose specs fail or that\n"
     "      has none stops the start with file:line messages, unless --allow-untested, which serves it marked\n"
     "      untested in GET /api/v1/protocols and says so loudly in the log (docs/safety.md, G10).\n"
     "      --node: a node of a cluster on PostgreSQL that owns sites of --sites (docs/deploy.md); required\n"
     "      with a PostgreSQL store.\n"
     "      Logs JSON lines to stderr; SIGTERM/SIGINT stop it cleanly.",
     vigil__cmd_serve},
    {"site", "vigil site add NAME[,NAME...] --store postgresql://...",
     "Create the sites of a cluster on PostgreSQL (docs/deploy.md): a node claims only sites that exist,\n"
     "      so a misspelt --sites is refused rather than made a new empty site. A site already there is said.",
     vigil__cmd_site},
    {"user",
     "vigil user add NAME --role nurse|clinician|admin|integrator [--sites A,B] [--password-stdin] [--db DB]\n"
     "  vigil user list|disable NAME|enable NAME|passwd NAME [--password-stdin]|token NAME [--sites A,B]\n"
     "  vigil user sites NAME --sites A,B|* [--db DB]",
     "Manage the users of a stopped server's database (DB: --db, else vigil.conf's database, else\n"
     "      ./var/vigil.db); while vigil serve runs, an admin does the same over HTTP (docs/http.md).\n"
     "      Without --password-stdin a password is generated and printed once. token issues an integrator's\n"
     "      API token (read events and exports only), printed once. Every change is recorded as an event.\n"
     "      --sites: the sites of a cluster the user works at (* or none: every site), or a token's fewer\n"
     "      (docs/security.md, Sites); sites sets them.",
     vigil__cmd_user},
};

static void usage(FILE *out) {
  fprintf(out, "vigil %s: clinical protocols as timed checklists\n\nUsage:\n", VIGIL_VERSION_STRING);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(out, "  %-70s\n      %s\n", commands[i].usage, commands[i].help);
  fprintf(out, "  vigil --version\n  vigil help [COMMAND]\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("vigil %s\n", VIGIL_VERSION_STRING);
    return 0;
  }
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    for (size_t i = 0; argc > 2 && i < sizeof commands / sizeof *commands; i++)
      if (!strcmp(argv[2], commands[i].name)) {
        printf("Usage: %s\n\n%s\n", commands[i].usage, commands[i].help);
        return 0;
      }
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    if (strcmp(cmd, commands[i].name)) continue;
    for (int a = 2; a < argc; a++)
      if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
        printf("Usage: %s\n\n%s\n", commands[i].usage, commands[i].help);
        return 0;
      }
    return commands[i].run(argc - 1, argv + 1);
  }
  fprintf(stderr, "vigil: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
