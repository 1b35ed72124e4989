/* pause.c - the program of the pause test image (tests/k8s/e2e-images.sh),
 * as registry.k8s.io/pause:3.x behaves: it does nothing until SIGINT or
 * SIGTERM, then exits 0; as pid 1 it reaps the zombies left to it. Built
 * static, the image holds nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
		puts("pause (berth e2e test image)");
		return 0;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	/* blocked, then taken one at a time with sigwait: no handler races */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		fprintf(stderr, "pause: sigprocmask: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		int sig = 0;
		int r = sigwait(&set, &sig);
		if (r != 0) {
			fprintf(stderr, "pause: sigwait: %s\n", strerror(r));
			return 1;
		}
		if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		return 0;
	}
}
