#include "util/proc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned long long proc_start_time(pid_t pid)
{
	if (pid <= 0)
		return 0;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* comm may contain spaces and parens: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return 0;
	int field = 2;
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

bool proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now = proc_start_time(pid);
	return now != 0 && now == start;
}

bool proc_exiting(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || !p[1] || !p[2])
		return true;
	if (p[2] == 'Z' || p[2] == 'X')
		return true;
	int field = 2;
	for (; *p && field < 9; p++)
		if (*p == ' ')
			field++;
	unsigned long flags = strtoul(p, NULL, 10);
	return (flags & 0x4) != 0; /* PF_EXITING */
}
