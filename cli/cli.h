/* cli.h: the subcommands of the vigil program. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

int cmd_audit(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_protocol(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_user(int argc, char **argv);

#endif
