/* Not built yet: the command says so (issue 14 replaces this file). */
#include "cli/cli.h"
#include <stdio.h>
int cmd_kube_apply(struct cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "berth: 'kube apply' is not available in this version of berth yet\n"); return 1; }
int cmd_kube_delete(struct cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "berth: 'kube delete' is not available in this version of berth yet\n"); return 1; }
int cmd_kube_diff(struct cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "berth: 'kube diff' is not available in this version of berth yet\n"); return 1; }
