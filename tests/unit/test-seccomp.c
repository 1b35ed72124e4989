#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "unit.h"

#include <dirent.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Docker's default capability set. */
#define DOCKER_CAPS 0xa80425fbULL
#define CAP_SYS_ADMIN_BIT (1ULL << 21)

/* Each probe returns 0 on success or -errno. */
static long ret_of(long r)
{
	return r < 0 ? -errno : 0;
}

static long p_getpid(void) { return getpid() > 0 ? 0 : -EINVAL; }
static long p_open_write(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	long r = write(fd, "x", 1) == 1 ? 0 : -errno;
	close(fd);
	return r;
}
static long p_socket_unix(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		close(fd);
	return ret_of(fd);
}
static long p_fork(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	if (pid < 0)
		return -errno;
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : -ECHILD;
}
static void *thread_fn(void *arg) { return arg; }
static long p_thread(void)
{
	/* glibc tries clone3 first and must fall back to clone on ENOSYS */
	pthread_t t;
	int r = pthread_create(&t, NULL, thread_fn, NULL);
	if (r)
		return -r;
	pthread_join(t, NULL);
	return 0;
}
static long p_personality_query(void) { return ret_of(personality(0xffffffff)); }
static long p_personality_bad(void) { return ret_of(personality(ADDR_NO_RANDOMIZE)); }
static long p_reboot(void) { return ret_of(syscall(SYS_reboot, 0, 0, 0, NULL)); }
static long p_unshare(void) { return ret_of(unshare(CLONE_NEWNS)); }
static long p_clone_ns(void)
{
	long r = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return ret_of(r);
}
static long p_clone3(void) { return ret_of(syscall(SYS_clone3, NULL, 0)); }
static long p_vsock(void) { return ret_of(socket(AF_VSOCK, SOCK_STREAM, 0)); }
static long p_vsock_hibits(void)
{
	/* the kernel truncates the family to int: this is AF_VSOCK */
	return ret_of(syscall(SYS_socket, AF_VSOCK | (1L << 32), SOCK_STREAM, 0));
}
static long p_keyctl(void) { return ret_of(syscall(SYS_keyctl, 0, -1, 0)); }
static long p_add_key(void) { return ret_of(syscall(SYS_add_key, "user", "berth", "x", 1, -2)); }
static long p_init_module(void) { return ret_of(syscall(SYS_init_module, NULL, 0, "")); }
static long p_mount(void) { return ret_of(mount("none", "/nonexistent", "tmpfs", 0, NULL)); }
static long p_sys1000(void) { return ret_of(syscall(1000)); }
static long p_mkdir(void) { return ret_of(mkdir("/nonexistent-berth/x", 0700)); }

#if defined(__x86_64__)
static long int80(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
	return ret;
}
/* i386 numbers: getpid 20, reboot 88, keyctl 288 */
static long p_i386_getpid(void) { return int80(20, 0, 0, 0) == getpid() ? 0 : -EINVAL; }
static long p_i386_reboot(void) { long r = int80(88, 0, 0, 0); return r < 0 ? r : 0; }
static long p_i386_keyctl(void) { long r = int80(288, 0, -1, 0); return r < 0 ? r : 0; }
/* i386 socket(2) is 359 besides socketcall; libseccomp names it by its
 * socketcall pseudo number */
static long p_i386_socket_unix(void)
{
	long r = int80(359, AF_UNIX, SOCK_STREAM, 0);
	if (r >= 0)
		close((int)r);
	return r < 0 ? r : 0;
}
static long p_i386_socket_vsock(void) { long r = int80(359, AF_VSOCK, SOCK_STREAM, 0); return r < 0 ? r : 0; }
#endif

struct probe {
	const char *name;
	long (*fn)(void);
	long want; /* 0 or -errno */
};

/* Installs prog in a child, runs the probes there and checks the results. */
static void run_probes(const char *label, const struct sock_fprog *prog, const struct probe *p, size_t n)
{
	int fds[2];
	if (pipe(fds) < 0) {
		CHECK(0, "%s: pipe", label);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		long r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : seccomp_install(prog);
		if (write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		for (size_t i = 0; i < n && r == 0; i++) {
			long v = p[i].fn();
			if (write(fds[1], &v, sizeof(v)) != sizeof(v))
				_exit(2);
		}
		_exit(0);
	}
	close(fds[1]);
	long r = -1;
	CHECK(read(fds[0], &r, sizeof(r)) == sizeof(r) && r == 0, "%s: seccomp_install: %ld", label, r);
	for (size_t i = 0; i < n && r == 0; i++) {
		long v = 1;
		ssize_t got = read(fds[0], &v, sizeof(v));
		CHECK(got == sizeof(v) && v == p[i].want, "%s: %s -> %s (want %s)", label, p[i].name,
		      got != sizeof(v) ? "child died" : v ? strerror((int)-v) : "ok",
		      p[i].want ? strerror((int)-p[i].want) : "ok");
	}
	close(fds[0]);
	int st;
	waitpid(pid, &st, 0);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char *compile_err(const char *json, const char *name)
{
	struct seccomp_opts o = { .profile = json, .profile_len = strlen(json), .profile_name = name,
				  .caps = DOCKER_CAPS };
	struct sock_fprog p;
	struct berr *e = NULL;
	char *msg = NULL;
	if (seccomp_compile(&o, &p, &e) < 0) {
		msg = strdup(e->msg);
		berr_free(e);
	} else {
		seccomp_prog_free(&p);
	}
	return msg;
}

static void bad_profile(const char *json, const char *want)
{
	char *got = compile_err(json, "x.json");
	CHECK(got && strstr(got, want), "rejects %s: %s", json, got ? got : "(accepted)");
	free(got);
}

static ssize_t read_file(const char *path, char *buf, size_t max)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, max);
	close(fd);
	return n;
}

static bool same_prog(const struct sock_fprog *a, const struct sock_fprog *b)
{
	return a->len == b->len && a->len && !memcmp(a->filter, b->filter, a->len * sizeof(*a->filter));
}

static int count_files(const char *dir, const char *suffix, char *last, size_t lastsz)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		if (l >= sl && !strcmp(de->d_name + l - sl, suffix)) {
			n++;
			snprintf(last, lastsz, "%s/%s", dir, de->d_name);
		}
	}
	if (d)
		closedir(d);
	return n;
}

/* A classic BPF interpreter, as the kernel runs seccomp programs. *bad is
 * set for an opcode it doesn't know or a jump/load out of range. */
static uint32_t bpf_run(const struct sock_fprog *p, const struct seccomp_data *d, bool *bad)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
	for (size_t pc = 0; pc < p->len; pc++) {
		const struct sock_filter *f = &p->filter[pc];
		uint32_t k = f->k;
		bool jump = false;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (k % 4 || k > sizeof(*d) - 4)
				goto bad;
			memcpy(&A, (const char *)d + k, 4);
			continue;
		case BPF_LD | BPF_IMM: A = k; continue;
		case BPF_LDX | BPF_IMM: X = k; continue;
		case BPF_LD | BPF_MEM: A = M[k % BPF_MEMWORDS]; continue;
		case BPF_LDX | BPF_MEM: X = M[k % BPF_MEMWORDS]; continue;
		case BPF_ST: M[k % BPF_MEMWORDS] = A; continue;
		case BPF_STX: M[k % BPF_MEMWORDS] = X; continue;
		case BPF_ALU | BPF_AND | BPF_K: A &= k; continue;
		case BPF_ALU | BPF_OR | BPF_K: A |= k; continue;
		case BPF_ALU | BPF_AND | BPF_X: A &= X; continue;
		case BPF_MISC | BPF_TAX: X = A; continue;
		case BPF_MISC | BPF_TXA: A = X; continue;
		case BPF_JMP | BPF_JA: pc += k; continue;
		case BPF_JMP | BPF_JEQ | BPF_K: jump = A == k; break;
		case BPF_JMP | BPF_JGT | BPF_K: jump = A > k; break;
		case BPF_JMP | BPF_JGE | BPF_K: jump = A >= k; break;
		case BPF_JMP | BPF_JSET | BPF_K: jump = A & k; break;
		case BPF_JMP | BPF_JEQ | BPF_X: jump = A == X; break;
		case BPF_JMP | BPF_JGT | BPF_X: jump = A > X; break;
		case BPF_JMP | BPF_JGE | BPF_X: jump = A >= X; break;
		case BPF_RET | BPF_K: return k;
		case BPF_RET | BPF_A: return A;
		default: goto bad;
		}
		pc += jump ? f->jt : f->jf;
	}
bad:
	*bad = true;
	return 0xdeadbeef;
}

/* berth's generator against libseccomp, input by input: every syscall
 * number of each arch (and some beyond), with arguments that hit each
 * argument test. The one intended difference: socket(AF_VSOCK | high bits)
 * on x86_64, which libseccomp's 64-bit NE lets through. */
static void test_equivalence(uint64_t caps, const char *label)
{
	struct seccomp_opts o = { .caps = caps };
	struct sock_fprog mine, ref;
	struct berr *e = NULL;
	if (seccomp_compile(&o, &mine, &e) < 0 || seccomp_compile_libseccomp(&o, &ref, &e) < 0) {
		CHECK(0, "%s: compile: %s", label, e ? e->msg : "?");
		berr_free(e);
		return;
	}
	static const uint64_t vals[] = {
		0, 1, 2, 8, 10, 40, 41, 0x20000, 0x20008, 0x40000, 0xffffffff, 0x100000000ULL | 40, 0x100000000ULL,
		0xffffffff00000000ULL, ~0ULL, SIGCHLD, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD,
		CLONE_NEWNS | SIGCHLD, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWCGROUP, 0x7e020000, 0x100000000ULL | CLONE_NEWPID,
	};
	static const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64 };
	long inputs = 0, expected = 0, wrong = 0;
	bool bad = false;
	for (size_t a = 0; a < ARRAY_SIZE(arches); a++) {
		for (uint32_t i = 0; i < 2 * 1100 + 4; i++) {
			uint32_t nr = i < 1100 ? i : i < 2200 ? 0x40000000 + (i - 1100) :
				      (uint32_t[]){ 0x3fffffff, 0x7fffffff, 0x80000000, 0xffffffff }[i - 2200];
			for (size_t v = 0; v < ARRAY_SIZE(vals) * 2; v++) {
				struct seccomp_data d = { .nr = (int)nr, .arch = arches[a] };
				d.args[v % 2] = vals[v / 2];
				d.args[2] = vals[(v + nr) % ARRAY_SIZE(vals)];
				uint32_t x = bpf_run(&mine, &d, &bad), y = bpf_run(&ref, &d, &bad);
				inputs++;
				if (x == y)
					continue;
				if (arches[a] == AUDIT_ARCH_X86_64 && nr == SYS_socket && (uint32_t)d.args[0] == AF_VSOCK &&
				    x == (SECCOMP_RET_ERRNO | EPERM) && y == SECCOMP_RET_ALLOW) {
					expected++;
					continue;
				}
				if (wrong++ < 5)
					printf("#   arch %#x nr %#x args %#llx %#llx %#llx: berth %#x, libseccomp %#x\n",
					       arches[a], nr, (unsigned long long)d.args[0], (unsigned long long)d.args[1],
					       (unsigned long long)d.args[2], x, y);
			}
		}
	}
	CHECK(!bad, "%s: both programs run in the interpreter", label);
	CHECK(wrong == 0 && inputs > 100000,
	      "%s: berth's program (%u insns) agrees with libseccomp's (%u insns) on %ld inputs, "
	      "%ld intended differences (AF_VSOCK with high bits)",
	      label, mine.len, ref.len, inputs - expected - wrong, expected);
	seccomp_prog_free(&mine);
	seccomp_prog_free(&ref);
}

static void test_default(void)
{
	struct seccomp_opts o = { .caps = DOCKER_CAPS };
	struct sock_fprog p;
	struct berr *e = NULL;
	int r = seccomp_compile(&o, &p, &e);
	CHECK(r == 0 && p.len > 0 && p.filter, "default profile compiles: %d instructions%s%s", p.len,
	      e ? ": " : "", e ? e->msg : "");
	berr_freep(&e);
	if (r < 0)
		return;

	double t[25];
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct sock_fprog q;
		double t0 = now_us();
		seccomp_compile(&o, &q, NULL);
		t[i] = now_us() - t0;
		if (i == 0)
			CHECK(same_prog(&p, &q), "compiling twice gives the same program");
		seccomp_prog_free(&q);
	}
	qsort(t, ARRAY_SIZE(t), sizeof(t[0]), cmp_double);
	/* generous bound so sanitizer builds pass too; the figure is the point */
	CHECK(t[ARRAY_SIZE(t) / 2] < 50000, "default compile time: median %.0f us, min %.0f us",
	      t[ARRAY_SIZE(t) / 2], t[0]);

	bool root = geteuid() == 0;
	const struct probe probes[] = {
		{ "getpid", p_getpid, 0 },
		{ "open+write /dev/null", p_open_write, 0 },
		{ "socket(AF_UNIX)", p_socket_unix, 0 },
		{ "fork", p_fork, 0 },
		{ "pthread_create", p_thread, 0 },
		{ "personality(query)", p_personality_query, 0 },
		{ "personality(ADDR_NO_RANDOMIZE)", p_personality_bad, -EPERM },
		{ "reboot(bogus magic)", p_reboot, -EPERM },
		{ "unshare(CLONE_NEWNS)", p_unshare, -EPERM },
		{ "clone(CLONE_NEWNS)", p_clone_ns, -EPERM },
		{ "clone3", p_clone3, -ENOSYS },
		{ "socket(AF_VSOCK)", p_vsock, -EPERM },
		{ "socket(AF_VSOCK | 1 << 32)", p_vsock_hibits, -EPERM },
		{ "keyctl", p_keyctl, -EPERM },
		{ "add_key", p_add_key, -EPERM },
		{ "init_module", p_init_module, -EPERM },
		{ "mount", p_mount, -EPERM },
		{ "syscall 1000 (newer than the profile)", p_sys1000, -ENOSYS },
		{ "mkdir (ENOENT, not filtered)", p_mkdir, -ENOENT },
	};
	run_probes("default", &p, probes, ARRAY_SIZE(probes));

#if defined(__x86_64__)
	/* 32-bit syscalls go through the x86 sub-architecture's rules */
	pid_t pid = fork();
	if (pid == 0)
		_exit(p_i386_getpid() == 0 ? 0 : 1);
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		const struct probe p32[] = {
			{ "i386 getpid", p_i386_getpid, 0 },
			{ "i386 reboot", p_i386_reboot, -EPERM },
			{ "i386 keyctl", p_i386_keyctl, -EPERM },
			{ "i386 socket(AF_UNIX) (direct syscall)", p_i386_socket_unix, 0 },
			{ "i386 socket(AF_VSOCK) (direct syscall)", p_i386_socket_vsock, -EPERM },
		};
		run_probes("default", &p, p32, ARRAY_SIZE(p32));
	} else {
		printf("skip - no ia32 emulation in this kernel\n");
	}
#endif
	seccomp_prog_free(&p);
	CHECK(p.filter == NULL && p.len == 0, "seccomp_prog_free clears the program");

	/* CAP_SYS_ADMIN opens namespaces and clone3 */
	o.caps = DOCKER_CAPS | CAP_SYS_ADMIN_BIT;
	if (seccomp_compile(&o, &p, NULL) == 0) {
		const struct probe admin[] = {
			{ "unshare(CLONE_NEWNS)", p_unshare, root ? 0 : -EPERM },
			{ "clone3(NULL, 0) reaches the kernel", p_clone3, -EINVAL },
			{ "keyctl", p_keyctl, -EPERM },
		};
		run_probes("CAP_SYS_ADMIN", &p, admin, ARRAY_SIZE(admin));
		seccomp_prog_free(&p);
	} else {
		CHECK(0, "CAP_SYS_ADMIN profile compiles");
	}
}

static void test_unconfined(void)
{
	struct seccomp_opts o = { .unconfined = true, .caps = DOCKER_CAPS };
	struct sock_fprog p = { 1, (struct sock_filter *)&p };
	CHECK(seccomp_compile(&o, &p, NULL) == 0 && p.len == 0 && !p.filter, "unconfined: empty program");
	CHECK(seccomp_install(&p) == 0, "installing an empty program is a no-op");
	o = (struct seccomp_opts){ .profile = "{}", .profile_len = 2, .profile_name = "empty.json" };
	CHECK(seccomp_compile(&o, &p, NULL) == 0 && p.len == 0, "profile {} means unconfined, as in Docker");
}

static void test_profiles(void)
{
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
		    "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		    "{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		    "{\"names\":[\"close\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		    "{\"names\":[\"open\"],\"action\":\"SCMP_ACT_FOO\"}]}",
		    "seccomp profile x.json: syscalls[3]: unknown action \"SCMP_ACT_FOO\"");
	bad_profile("{\"defaultAction\": ", "seccomp profile x.json: invalid JSON");
	bad_profile("[]", "x.json: expected a JSON object");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_NOPE\"}", "x.json: defaultAction: unknown action \"SCMP_ACT_NOPE\"");
	bad_profile("{\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
		    "x.json: defaultAction is missing");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
		    "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}",
		    "'architectures' and 'archMap'");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_VAX\"]}",
		    "architectures[0]: unknown architecture \"SCMP_ARCH_VAX\"");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"socket\"],"
		    "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_FOO\"}]}]}",
		    "syscalls[0].args[0]: unknown op \"SCMP_CMP_FOO\"");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"socket\"],"
		    "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
		    "syscalls[0].args[0].index: expected 0-5");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"mount\"],"
		    "\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYSADMIN\"]}}]}",
		    "syscalls[0].includes.caps[0]: unknown capability \"CAP_SYSADMIN\"");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],"
		    "\"action\":\"SCMP_ACT_ALLOW\",\"errnoRet\":1}]}",
		    "syscalls[0]: errnoRet is only valid with SCMP_ACT_ERRNO");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"read\",\"names\":[\"write\"],"
		    "\"action\":\"SCMP_ACT_ALLOW\"}]}",
		    "syscalls[0]: both 'name' and 'names'");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\", 3],"
		    "\"action\":\"SCMP_ACT_ALLOW\"}]}",
		    "syscalls[0].names[1]: expected a string");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"ptrace\"],"
		    "\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"four\"}}]}",
		    "syscalls[0].includes.minKernel");
	bad_profile("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "SCMP_ACT_NOTIFY is not supported");

	/* a deny-list profile: default allow, a couple of calls refused with
	 * EACCES; names this libseccomp doesn't know are skipped */
	const char *deny = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
			   "\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]}],\"syscalls\":["
			   "{\"names\":[\"mkdir\",\"mkdirat\",\"no_such_syscall_berth\"],\"action\":\"SCMP_ACT_ERRNO\","
			   "\"errnoRet\":13},"
			   "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
			   "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]},"
			   "{\"names\":[\"unshare\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":22,"
			   "\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}";
	struct seccomp_opts o = { .profile = deny, .profile_len = strlen(deny), .profile_name = "deny.json",
				  .caps = DOCKER_CAPS };
	struct sock_fprog p;
	struct berr *e = NULL;
	int r = seccomp_compile(&o, &p, &e);
	CHECK(r == 0 && p.len > 0, "custom deny-list profile compiles%s%s", e ? ": " : "", e ? e->msg : "");
	berr_freep(&e);
	if (r == 0) {
		const struct probe probes[] = {
			{ "getpid", p_getpid, 0 },
			{ "mkdir", p_mkdir, -EACCES },
			{ "socket(AF_UNIX) (arg condition)", p_socket_unix, -EPERM },
			{ "unshare (excluded only with CAP_SYS_ADMIN)", p_unshare, -EINVAL },
			{ "syscall 1000 (default allow: kernel's ENOSYS)", p_sys1000, -ENOSYS },
			{ "open+write /dev/null", p_open_write, 0 },
		};
		run_probes("deny.json", &p, probes, ARRAY_SIZE(probes));
		seccomp_prog_free(&p);
	}
}

static uint32_t eval(const struct sock_fprog *p, int nr, uint64_t arg0)
{
	struct seccomp_data d = { .nr = nr, .arch = AUDIT_ARCH_X86_64, .args = { arg0 } };
	bool bad = false;
	uint32_t r = bpf_run(p, &d, &bad);
	return bad ? 0xdeadbeef : r;
}

/* An allow-list profile exercising includes/excludes, minKernel and
 * several conditions on one argument (alternatives, as in runc). */
static void test_allowlist(void)
{
	const char *j = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":["
			"{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
			"{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
			"{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"99.0\"}},"
			"{\"names\":[\"reboot\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"minKernel\":\"3.0\"}},"
			"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
			"{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
			"{\"name\":\"kill\",\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},"
			"{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
			"{\"index\":0,\"value\":2114060288,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";
	const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM, allow = SECCOMP_RET_ALLOW;
	struct seccomp_opts o = { .profile = j, .profile_len = strlen(j), .profile_name = "allow.json",
				  .caps = DOCKER_CAPS };
	struct sock_fprog p, q;
	struct berr *e = NULL;
	if (seccomp_compile(&o, &p, &e) < 0) {
		CHECK(0, "allow-list profile compiles: %s", e->msg);
		berr_free(e);
		return;
	}
	o.caps |= CAP_SYS_ADMIN_BIT;
	if (seccomp_compile(&o, &q, &e) < 0) {
		CHECK(0, "allow-list profile compiles with CAP_SYS_ADMIN: %s", e->msg);
		berr_free(e);
		seccomp_prog_free(&p);
		return;
	}
	CHECK(eval(&p, SYS_getpid, 0) == allow, "allow.json: getpid allowed");
	CHECK(eval(&p, SYS_read, 0) == eperm, "allow.json: read denied by default");
	CHECK(eval(&p, SYS_mount, 0) == eperm && eval(&q, SYS_mount, 0) == allow,
	      "allow.json: mount only with CAP_SYS_ADMIN");
	CHECK(eval(&p, SYS_ptrace, 0) == eperm, "allow.json: includes.minKernel 99.0 not met");
	CHECK(eval(&p, SYS_reboot, 0) == eperm, "allow.json: excludes.minKernel 3.0 met");
	CHECK(eval(&p, SYS_personality, 8) == allow && eval(&p, SYS_personality, 0) == allow &&
		      eval(&p, SYS_personality, 4) == eperm,
	      "allow.json: two conditions on one argument are alternatives");
	CHECK(eval(&p, SYS_kill, 0) == (SECCOMP_RET_ERRNO | EACCES), "allow.json: \"name\" + errnoRet");
	CHECK(eval(&p, SYS_clone, SIGCHLD) == allow && eval(&p, SYS_clone, CLONE_NEWNET | SIGCHLD) == eperm,
	      "allow.json: MASKED_EQ takes value as the mask");
	CHECK(eval(&p, 1000, 0) == (SECCOMP_RET_ERRNO | ENOSYS), "allow.json: unknown newer syscall gets ENOSYS");
	seccomp_prog_free(&p);
	seccomp_prog_free(&q);
}

static void test_cache(void)
{
	char dir[] = "/tmp/berth-seccomp-test-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	char cache[64], file[320];
	snprintf(cache, sizeof(cache), "%s/cache", dir); /* created on demand */
	struct seccomp_opts o = { .caps = DOCKER_CAPS };
	struct sock_fprog fresh, a, b;
	struct berr *e = NULL;
	CHECK(seccomp_compile(&o, &fresh, NULL) == 0, "fresh compile");
	double t0 = now_us();
	int r = seccomp_compile_cached(cache, &o, &a, &e);
	double t1 = now_us();
	CHECK(r == 0 && same_prog(&a, &fresh), "cache miss compiles the same program (%.0f us)%s%s", t1 - t0,
	      e ? ": " : "", e ? e->msg : "");
	berr_freep(&e);
	CHECK(count_files(cache, ".bpf", file, sizeof(file)) == 1, "one cache file written");
	struct stat st0;
	stat(file, &st0);
	static char orig[65536], now[65536];
	ssize_t orig_n = read_file(file, orig, sizeof(orig));
	t0 = now_us();
	r = seccomp_compile_cached(cache, &o, &b, NULL);
	t1 = now_us();
	CHECK(r == 0 && same_prog(&a, &b), "cache hit returns an identical program (%.0f us)", t1 - t0);
	seccomp_prog_free(&b);

	/* flip one byte of the program: the checksum rejects it */
	int fd = open(file, O_RDWR);
	unsigned char c;
	off_t off = st0.st_size - 3;
	if (fd >= 0 && pread(fd, &c, 1, off) == 1) {
		c ^= 0x40;
		CHECK(pwrite(fd, &c, 1, off) == 1, "corrupting the cache file");
	}
	close(fd);
	r = seccomp_compile_cached(cache, &o, &b, NULL);
	CHECK(r == 0 && same_prog(&b, &fresh), "corrupt cache file is ignored and recompiled");
	seccomp_prog_free(&b);
	struct sock_fprog again;
	ssize_t now_n = read_file(file, now, sizeof(now));
	CHECK(orig_n > 0 && now_n == orig_n && !memcmp(orig, now, (size_t)now_n), "corrupt cache file rewritten");

	/* truncate to a size that is not whole instructions */
	CHECK(truncate(file, st0.st_size - 5) == 0, "truncating the cache file");
	r = seccomp_compile_cached(cache, &o, &again, NULL);
	CHECK(r == 0 && same_prog(&again, &fresh), "truncated cache file is ignored");
	seccomp_prog_free(&again);
	struct stat st1;
	CHECK(stat(file, &st1) == 0 && st1.st_size == st0.st_size, "truncated cache file replaced");

	/* garbage of a plausible size */
	fd = open(file, O_WRONLY | O_TRUNC);
	static char junk[144 + 8 * 100];
	memset(junk, 'A', sizeof(junk));
	CHECK(fd >= 0 && write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk), "overwriting the cache file");
	close(fd);
	r = seccomp_compile_cached(cache, &o, &again, NULL);
	CHECK(r == 0 && same_prog(&again, &fresh), "garbage cache file is ignored");
	seccomp_prog_free(&again);

	/* other caps, other key */
	o.caps |= CAP_SYS_ADMIN_BIT;
	r = seccomp_compile_cached(cache, &o, &again, NULL);
	CHECK(r == 0 && !same_prog(&again, &fresh), "CAP_SYS_ADMIN compiles a different program");
	seccomp_prog_free(&again);
	CHECK(count_files(cache, ".bpf", file, sizeof(file)) == 2, "one cache file per caps set");
	CHECK(count_files(cache, "", file, sizeof(file)) == 2, "no temporary files left behind");

	/* a bad profile still fails through the cache */
	const char *badj = "{\"defaultAction\":\"SCMP_ACT_BAD\"}";
	o = (struct seccomp_opts){ .profile = badj, .profile_len = strlen(badj), .profile_name = "bad.json" };
	r = seccomp_compile_cached(cache, &o, &again, &e);
	CHECK(r < 0 && e && strstr(e->msg, "bad.json"), "bad profile through the cache: %s", e ? e->msg : "");
	berr_freep(&e);

	seccomp_prog_free(&a);
	seccomp_prog_free(&fresh);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_default();
	test_equivalence(DOCKER_CAPS, "docker caps");
	test_equivalence(DOCKER_CAPS | CAP_SYS_ADMIN_BIT, "+CAP_SYS_ADMIN");
	test_equivalence(0, "no caps");
	test_equivalence((1ULL << 41) - 1, "all caps");
	test_unconfined();
	test_profiles();
	test_allowlist();
	test_cache();
	UNIT_END();
}
