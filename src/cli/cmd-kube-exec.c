/* berth kube exec: a command in a pod's container, as kubectl exec runs it
 * (the container picked as kubectl picks it, its messages, the command's
 * exit code with "command terminated with exit code N"); the process is
 * started the way `berth exec` starts one (cli_exec_run in cmd-exec.c). */
#include "cli/ctr.h"
#include "cli/kube-view.h"
#include "runtime/pod.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const json_t *find_ctr(const json_t *list, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *n = jsonx_str(c, "name");
		if (n && !strcmp(n, name))
			return c;
	}
	return NULL;
}

static void usage_hint(void)
{
	fprintf(stderr, "See 'berth kube exec --help' for help and examples\n");
}

CMD(kube_exec)
{
	static const struct option lo[] = {{"container", required_argument, 0, 'c'},
					   {"stdin", no_argument, 0, 'i'},
					   {"tty", no_argument, 0, 't'},
					   {"namespace", required_argument, 0, 'n'},
					   {"quiet", no_argument, 0, 'q'},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *ns = "default", *ctr = NULL;
	bool in = false, tty = false, quiet = false;
	/* options only before "--": what follows is the command */
	int dd = argc;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dd = i;
			break;
		}
	int o;
	optind = 0;
	while ((o = getopt_long(dd, argv, "c:itn:qh", lo, NULL)) != -1) {
		switch (o) {
		case 'c': ctr = optarg; break;
		case 'i': in = true; break;
		case 't': tty = true; break;
		case 'n': ns = optarg; break;
		case 'q': quiet = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	int npos = dd - optind;
	char **cmd = dd < argc ? argv + dd + 1 : NULL;
	int ncmd = dd < argc ? argc - dd - 1 : 0;
	if (npos < 1) {
		fprintf(stderr, "error: pod, type/name or --filename must be specified\n");
		usage_hint();
		return 1;
	}
	if (npos > 1) {
		fprintf(stderr, "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\n");
		usage_hint();
		return 1;
	}
	if (!ncmd) {
		fprintf(stderr, "error: you must specify at least one command for the container\n");
		usage_hint();
		return 1;
	}
	if (!kview_name_ok(ns, true)) {
		fprintf(stderr, "error: invalid namespace \"%s\" (-n): a lowercase RFC 1123 label must consist of lower "
				"case alphanumeric characters or '-', and must start and end with an alphanumeric character\n",
			ns);
		return 1;
	}
	if (tty && !in)
		tty = false; /* kubectl: a TTY needs stdin */
	if (tty && !isatty(0)) {
		fprintf(stderr, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
		tty = false;
	}
	struct ctr_store *cs = cli_ctr_store(c);
	if (!cs)
		return 1;
	struct kview v;
	kview_init(&v, c, cs);
	char msg[1024];
	_cleanup_json_ json_t *pods = kview_pods_for(&v, ns, argv[optind], msg, sizeof(msg));
	kview_release(&v);
	if (!pods) {
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	const json_t *pod = json_array_get(pods, 0);
	const char *pname = jsonx_str(json_object_get(pod, "metadata"), "name");
	const char *phase = jsonx_str(json_object_get(pod, "status"), "phase");
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
		fprintf(stderr, "error: cannot exec into a container in a completed pod; current phase is %s\n", phase);
		return 1;
	}
	const json_t *spec = json_object_get(pod, "spec");
	const json_t *ctrs = json_object_get(spec, "containers"), *inits = json_object_get(spec, "initContainers");
	if (!ctr) {
		if (!json_array_size(ctrs)) {
			fprintf(stderr, "error: pod %s/%s does not have any containers\n", ns, pname);
			return 1;
		}
		const char *dflt = jsonx_str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
					     "kubectl.kubernetes.io/default-container");
		if (dflt && (find_ctr(ctrs, dflt) || find_ctr(inits, dflt))) {
			ctr = dflt;
		} else {
			ctr = jsonx_str(json_array_get(ctrs, 0), "name");
			if (!quiet && (json_array_size(ctrs) > 1 || json_array_size(inits) > 0)) {
				struct sbuf b = SBUF_INIT;
				size_t i;
				json_t *x;
				json_array_foreach(ctrs, i, x) sbuf_addf(&b, "%s%s", b.len ? ", " : "", jsonx_str(x, "name"));
				json_array_foreach(inits, i, x)
					sbuf_addf(&b, "%s%s (init)", b.len ? ", " : "", jsonx_str(x, "name"));
				fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", ctr, sbuf_str(&b));
				sbuf_release(&b);
			}
		}
	}
	/* the container must be there and running (the kubelet's answer otherwise) */
	char id[65];
	struct berr *e = NULL;
	if (!ctr || pod_container_id(cs, ns, pname, ctr, id, &e) < 0) {
		berr_free(e);
		fprintf(stderr, "error: unable to upgrade connection: container not found (\"%s\")\n", ctr ? ctr : "");
		return 1;
	}
	_cleanup_json_ json_t *st = ctr_state(cs, id, &e);
	_cleanup_json_ json_t *cfg = st ? ctr_config(cs, id, &e) : NULL;
	const char *status = jsonx_str(st, "Status");
	if (!st || !cfg || !status || strcmp(status, "running")) {
		berr_free(e);
		fprintf(stderr, "error: unable to upgrade connection: container not found (\"%s\")\n", ctr);
		return 1;
	}
	char *noenv[1] = {NULL};
	struct cli_exec x = {.argv = cmd, .env = noenv, .interactive = in, .tty = tty};
	pid_t pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
	int code = cli_exec_run(c, id, pid, cfg, &x, msg, sizeof(msg), &e);
	if (code < 0) {
		fprintf(stderr, "error: Internal error occurred: error executing command in container: %s\n",
			e ? e->msg : "failed");
		berr_free(e);
		return 1;
	}
	if (*msg) {
		/* it could not be started (not found, not executable) */
		fprintf(stderr, "error: Internal error occurred: error executing command in container: %s\n", msg);
		return 1;
	}
	if (code)
		fprintf(stderr, "command terminated with exit code %d\n", code);
	return code;
}
