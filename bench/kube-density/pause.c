/* pause: the sandbox ("infra") process for containerd's pods in
 * bench/kube-density.sh. No registry is reachable here, so containerd's
 * sandbox_image is this program, built with gcc -static into a one-layer
 * image. It holds the pod's namespaces open as pid 1: it sleeps until
 * SIGINT or SIGTERM (then exits 0) and reaps any child that gets
 * reparented to it (containers sharing the pod's pid namespace). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	int saved = errno;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		puts("berth-bench pause 1");
		return 0;
	}
	if (getpid() != 1)
		fputs("pause: warning: not pid 1; children will not be reaped here\n", stderr);
	struct sigaction sa = {0};
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
		perror("pause: sigaction");
		return 1;
	}
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	if (sigaction(SIGCHLD, &sa, NULL) < 0) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;)
		pause();
}
