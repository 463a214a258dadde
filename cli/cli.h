/* cli.h - the glimp program's subcommands. Each takes the arguments after
 * its name (argv[0] is the subcommand) and returns the process exit code;
 * only cli/ prints to people. */
#ifndef GLIMP_CLI_H
#define GLIMP_CLI_H

int cmd_chat_template(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_mkmodel(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);

/* Print "glimp <cmd>: <message>" for the library's last error to stderr and
 * return the exit code for a failed command. */
int cli_fail(const char *cmd, int err);

#endif
