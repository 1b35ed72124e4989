/* berth kube provisioner (hidden; `kube cluster` runs it): the storage
 * provisioner of kube/provisioner.h, in the foreground until SIGTERM. */
#include "cli/cli.h"
#include "kube/provisioner.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile int prov_stop;

static void on_term(int sig)
{
	(void)sig;
	prov_stop = 1;
}

int cmd_kube_provisioner(struct cli *c, int argc, char **argv)
{
	enum { O_KCFG = 256, O_ONCE };
	static const struct option lo[] = {{"kubeconfig", required_argument, 0, O_KCFG},
					   {"once", no_argument, 0, O_ONCE},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	struct kube_provisioner_opts o = {.root = c->root};
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case O_KCFG: o.kubeconfig = optarg; break;
		case O_ONCE: o.once = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "unknown flag");
		}
	}
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument \"%s\"", argv[optind]);
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct berr *e = NULL;
	if (kube_provisioner_run(&o, &prov_stop, &e) < 0)
		return cli_fail(e);
	return 0;
}
