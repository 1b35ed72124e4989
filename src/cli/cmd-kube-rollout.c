/* Not built yet: the command says so (issue 14 replaces this file). */
#include "cli/cli.h"
#include <stdio.h>
int cmd_kube_rollout(struct cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; fprintf(stderr, "berth: 'kube rollout' is not available in this version of berth yet\n"); return 1; }
