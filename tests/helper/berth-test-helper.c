/* A tiny static program the tests run inside containers to look at the
 * environment from the inside: ids, capabilities, cgroup, mounts, env. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cat(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return 1;
	}
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: berth-test-helper ids|caps|cgroup|mounts|env|exit N|sleep S\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "ids")) {
		printf("uid=%d gid=%d euid=%d pid=%d ppid=%d\n", getuid(), getgid(), geteuid(), getpid(), getppid());
		return 0;
	}
	if (!strcmp(cmd, "caps")) {
		FILE *f = fopen("/proc/self/status", "r");
		char line[256];
		if (!f)
			return 1;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp", 7))
				fputs(line, stdout);
		fclose(f);
		return 0;
	}
	if (!strcmp(cmd, "cgroup"))
		return cat("/proc/self/cgroup");
	if (!strcmp(cmd, "mounts"))
		return cat("/proc/self/mounts");
	if (!strcmp(cmd, "env")) {
		extern char **environ;
		for (char **e = environ; *e; e++)
			puts(*e);
		return 0;
	}
	if (!strcmp(cmd, "exit") && argc > 2)
		return atoi(argv[2]);
	if (!strcmp(cmd, "sleep") && argc > 2) {
		sleep((unsigned)atoi(argv[2]));
		return 0;
	}
	fprintf(stderr, "berth-test-helper: unknown command %s\n", cmd);
	return 2;
}
