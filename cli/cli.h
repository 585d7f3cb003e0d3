/* cli.h: the subcommands of the vigil program. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

int vigil__cmd_audit(int argc, char **argv);
int vigil__cmd_export(int argc, char **argv);
int vigil__cmd_lint(int argc, char **argv);
int vigil__cmd_protocol(int argc, char **argv);
int vigil__cmd_serve(int argc, char **argv);
int vigil__cmd_simulate(int argc, char **argv);
int vigil__cmd_site(int argc, char **argv);
int vigil__cmd_test(int argc, char **argv);
int vigil__cmd_user(int argc, char **argv);

/* The specs of a protocol folder, run for vigil serve's start (test.c). */
#include <stddef.h>

#include "author/spec.h"
int vigil__cli_protocol_specs(const char *dir, spec_result_fn fn, void *ud, int *checks, int *failed, int *files,
                              char *err, size_t errlen);

#endif
