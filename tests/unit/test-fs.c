/* util/fs: fs_replace_at (the name swap that replaces state files on the
 * container start path) and fs_write_atomic_at. */
#include "unit.h"
#include "util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp(int dfd, const char *name)
{
	char *s = NULL;
	size_t n = 0;
	if (fs_read_file_at(dfd, name, 1 << 20, &s, &n, NULL) < 0)
		return NULL;
	return s;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char dir[] = "/tmp/berth-test-fs.XXXXXX";
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct berr *e = NULL;

	/* a new file: plain rename */
	CHECK(fs_replace_at(dfd, "state.json", "one", 3, 0600, &e) == 0, "create state.json");
	char *s = slurp(dfd, "state.json");
	CHECK_STR(s, "one", "content of the new file");
	free(s);
	struct stat st;
	CHECK(fstatat(dfd, "state.json", &st, 0) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	ino_t first = st.st_ino;

	/* over an existing one: swapped, the old content gone with the temp name */
	CHECK(fs_replace_at(dfd, "state.json", "second content", 14, 0600, &e) == 0, "replace state.json");
	s = slurp(dfd, "state.json");
	CHECK_STR(s, "second content", "content after the replace");
	free(s);
	CHECK(fstatat(dfd, "state.json", &st, 0) == 0 && st.st_ino != first, "a new inode under the name");
	CHECK(count_entries(dir) == 1, "no temporary file left (%d entries)", count_entries(dir));
	CHECK(fs_replace_at(dfd, "state.json", "", 0, 0600, &e) == 0, "replace with empty content");
	s = slurp(dfd, "state.json");
	CHECK_STR(s, "", "empty content");
	free(s);

	/* errors name the file and leave nothing */
	int bad = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(fs_replace_at(bad, "nope.json", "x", 1, 0600, &e) < 0 && e && strstr(e->msg, "nope.json.tmp-"),
	      "unwritable dir: %s", e ? e->msg : "(no error)");
	berr_freep(&e);
	close(bad);
	char longname[600];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK(fs_replace_at(dfd, longname, "x", 1, 0600, &e) < 0 && e && e->code == BERR_INVALID, "name too long");
	berr_freep(&e);
	CHECK(count_entries(dir) == 1, "still one entry");

	/* readers never see a missing or mixed file while it is replaced */
	static const char *const v[2] = {"{\"Status\":\"running\",\"Pid\":1234}",
					 "{\"Status\":\"exited\",\"ExitCode\":0,\"Pid\":0,\"Padding\":\"xxxxxxxxxxxxxxxx\"}"};
	fs_replace_at(dfd, "race.json", v[0], strlen(v[0]), 0600, NULL);
	int p[2];
	if (pipe(p) < 0)
		return 1;
	pid_t rd = fork();
	if (rd == 0) {
		close(p[0]);
		int badreads = 0;
		for (int i = 0; i < 20000; i++) {
			char *t = slurp(dfd, "race.json");
			if (!t || (strcmp(t, v[0]) && strcmp(t, v[1])))
				badreads++;
			free(t);
		}
		if (write(p[1], &badreads, sizeof(badreads)) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	for (int i = 0; i < 3000; i++)
		fs_replace_at(dfd, "race.json", v[i & 1], strlen(v[i & 1]), 0600, NULL);
	int badreads = -1;
	if (read(p[0], &badreads, sizeof(badreads)) != sizeof(badreads))
		badreads = -1;
	waitpid(rd, NULL, 0);
	close(p[0]);
	CHECK(badreads == 0, "a concurrent reader saw only whole files (%d bad reads)", badreads);

	/* fs_write_atomic_at still renames (and fsyncs when asked) */
	CHECK(fs_write_atomic_at(dfd, "index.json", "{}", 2, 0644, true, &e) == 0, "fs_write_atomic_at with sync");
	s = slurp(dfd, "index.json");
	CHECK_STR(s, "{}", "its content");
	free(s);

	fs_rm_rf_at(AT_FDCWD, dir);
	CHECK(access(dir, F_OK) < 0, "test dir removed");
	close(dfd);
	UNIT_END();
}
