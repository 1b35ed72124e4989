/* Seccomp: Docker's default profile kept as a compact table, and Docker-format
 * JSON profiles, compiled into a classic BPF program in the parent; the
 * container's init only calls seccomp(2) on the result. JSON profiles go
 * through libseccomp; on x86 the default table has its own, much faster
 * code generator (checked against libseccomp by the unit test). */
#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Docker's names for the architecture berth runs on ("includes.arches"). */
enum {
	AR_AMD64 = 1 << 0,
	AR_X32 = 1 << 1,
	AR_X86 = 1 << 2,
	AR_ARM = 1 << 3,
	AR_ARM64 = 1 << 4,
	AR_S390 = 1 << 5,
	AR_S390X = 1 << 6,
	AR_PPC64LE = 1 << 7,
	AR_RISCV64 = 1 << 8,
};

/* The native arch and, for the default profile, the sub-architectures
 * Docker's archMap adds for it (32-bit binaries run under the same kernel). */
#if defined(__x86_64__) && !defined(__ILP32__)
#define NATIVE_NAME "amd64"
#define NATIVE_BIT AR_AMD64
static const uint32_t default_subarches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
#elif defined(__i386__)
#define NATIVE_NAME "x86"
#define NATIVE_BIT AR_X86
static const uint32_t default_subarches[] = { 0 };
#elif defined(__aarch64__)
#define NATIVE_NAME "arm64"
#define NATIVE_BIT AR_ARM64
static const uint32_t default_subarches[] = { SCMP_ARCH_ARM };
#elif defined(__arm__)
#define NATIVE_NAME "arm"
#define NATIVE_BIT AR_ARM
static const uint32_t default_subarches[] = { 0 };
#elif defined(__s390x__)
#define NATIVE_NAME "s390x"
#define NATIVE_BIT AR_S390X
static const uint32_t default_subarches[] = { SCMP_ARCH_S390 };
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_NAME "ppc64le"
#define NATIVE_BIT AR_PPC64LE
static const uint32_t default_subarches[] = { 0 };
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_NAME "riscv64"
#define NATIVE_BIT AR_RISCV64
static const uint32_t default_subarches[] = { 0 };
#else
#define NATIVE_NAME ""
#define NATIVE_BIT 0
static const uint32_t default_subarches[] = { 0 };
#endif

/* Bump when the compiler's output for the same inputs changes, so cached
 * programs from an older berth are not reused. */
#define CACHE_FORMAT 1
#define CACHE_MAGIC "BERTHSCF"

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
		  CLONE_NEWCGROUP)

/* One line of the default profile: names allowed (or failed with eno) when
 * the conditions hold. Capabilities are stored +1 so 0 means "none". */
struct dflt {
	const char *names; /* space-separated */
	uint8_t need;      /* capability + 1 the container must have */
	uint8_t unless;    /* capability + 1 that drops the line */
	uint16_t arches;   /* native arch must be one of these (0 = any) */
	uint16_t noarches; /* ... and none of these */
	uint8_t kmaj, kmin; /* minimum kernel */
	uint8_t eno;       /* 0 = allow, else fail with this errno */
	bool cond;         /* cmp applies */
	bool lo32;         /* the argument is a C int: compare its low 32 bits (see gen_cond) */
	struct scmp_arg_cmp cmp;
};

#define CAP(c) (CAP_##c + 1)
#define ARG(i, op, v, v2) .cond = true, .cmp = { i, op, v, v2 }

/* Docker's default profile (moby profiles/seccomp/default.json): everything
 * not listed fails with EPERM. */
static const struct dflt dflt[] = {
	{ .names =
		  "accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 "
		  "clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 "
		  "clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 "
		  "dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait "
		  "epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 "
		  "fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl "
		  "fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 "
		  "fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu "
		  "getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups "
		  "getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid "
		  "getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname "
		  "getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch "
		  "inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents "
		  "io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter "
		  "io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset "
		  "landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek "
		  "lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret mincore "
		  "mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify "
		  "mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink "
		  "mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep "
		  "newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 "
		  "pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 "
		  "prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead "
		  "readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages "
		  "removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending "
		  "rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait "
		  "rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam "
		  "sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval "
		  "sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler "
		  "sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile "
		  "sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 "
		  "setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 "
		  "setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt "
		  "set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown "
		  "sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 "
		  "statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time "
		  "timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime "
		  "timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime "
		  "timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime "
		  "utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev" },
	{ .names = "process_vm_readv process_vm_writev ptrace", .kmaj = 4, .kmin = 8 },
	/* vsock reaches the host (hypervisor services) past the network namespace */
	{ .names = "socket", ARG(0, SCMP_CMP_NE, AF_VSOCK, 0), .lo32 = true },
	/* personality: only the harmless personas (and the 0xffffffff query) */
	{ .names = "personality", ARG(0, SCMP_CMP_EQ, 0x0, 0) },
	{ .names = "personality", ARG(0, SCMP_CMP_EQ, 0x8, 0) },
	{ .names = "personality", ARG(0, SCMP_CMP_EQ, 0x20000, 0) },
	{ .names = "personality", ARG(0, SCMP_CMP_EQ, 0x20008, 0) },
	{ .names = "personality", ARG(0, SCMP_CMP_EQ, 0xffffffff, 0) },
	{ .names = "sync_file_range2 swapcontext", .arches = AR_PPC64LE },
	{ .names = "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
	  .arches = AR_ARM | AR_ARM64 },
	{ .names = "arch_prctl", .arches = AR_AMD64 | AR_X32 },
	{ .names = "modify_ldt", .arches = AR_AMD64 | AR_X32 | AR_X86 },
	{ .names = "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", .arches = AR_S390 | AR_S390X },
	{ .names = "riscv_flush_icache", .arches = AR_RISCV64 },
	{ .names = "open_by_handle_at", .need = CAP(DAC_READ_SEARCH) },
	{ .names = "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
		   "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
		   "sethostname setns syslog umount umount2 unshare",
	  .need = CAP(SYS_ADMIN) },
	/* without CAP_SYS_ADMIN: fork and threads, but no new namespaces */
	{ .names = "clone", .unless = CAP(SYS_ADMIN), .noarches = AR_S390 | AR_S390X,
	  ARG(0, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0) },
	{ .names = "clone", .unless = CAP(SYS_ADMIN), .arches = AR_S390 | AR_S390X,
	  ARG(1, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0) },
	/* clone3's flags are behind a pointer, so it can't be checked: ENOSYS
	 * makes libc fall back to clone */
	{ .names = "clone3", .unless = CAP(SYS_ADMIN), .eno = ENOSYS },
	{ .names = "reboot", .need = CAP(SYS_BOOT) },
	{ .names = "chroot", .need = CAP(SYS_CHROOT) },
	{ .names = "delete_module init_module finit_module", .need = CAP(SYS_MODULE) },
	{ .names = "acct", .need = CAP(SYS_PACCT) },
	{ .names = "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
	  .need = CAP(SYS_PTRACE) },
	{ .names = "iopl ioperm", .need = CAP(SYS_RAWIO) },
	{ .names = "settimeofday stime clock_settime clock_settime64", .need = CAP(SYS_TIME) },
	{ .names = "vhangup", .need = CAP(SYS_TTY_CONFIG) },
	{ .names = "get_mempolicy mbind set_mempolicy set_mempolicy_home_node", .need = CAP(SYS_NICE) },
	{ .names = "syslog", .need = CAP(SYSLOG) },
	{ .names = "bpf", .need = CAP(BPF) },
	{ .names = "perf_event_open", .need = CAP(PERFMON) },
};

/* Capability names as profiles spell them, minus "CAP_". */
static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

#define MAX_ARCHES 16
#define MAX_CONDS 16

struct build {
	scmp_filter_ctx ctx;
	uint32_t def_action;
	uint32_t arches[MAX_ARCHES]; /* tokens in the filter, native first */
	int max_nr[MAX_ARCHES];      /* highest syscall number the profile names, per arch */
	size_t narches;
	uint64_t caps;
	const char *what; /* "seccomp profile NAME" */
};

static void kernel_version(unsigned v[3])
{
	/* benign race: every thread computes the same value */
	static unsigned cached[3];
	static bool done;
	if (!done) {
		struct utsname u;
		unsigned a = 0, b = 0, c = 0;
		if (uname(&u) == 0)
			sscanf(u.release, "%u.%u.%u", &a, &b, &c);
		cached[0] = a;
		cached[1] = b;
		cached[2] = c;
		done = true;
	}
	memcpy(v, cached, sizeof(cached));
}

static int kernel_cmp(const unsigned want[3])
{
	unsigned k[3];
	kernel_version(k);
	for (int i = 0; i < 3; i++)
		if (k[i] != want[i])
			return k[i] < want[i] ? -1 : 1;
	return 0;
}

static int build_init(struct build *b, uint32_t def_action, struct berr **err)
{
	b->def_action = def_action;
	b->ctx = seccomp_init(def_action);
	if (!b->ctx)
		return berr_set(err, EINVAL, "%s: initializing libseccomp", b->what);
	b->arches[0] = seccomp_arch_native();
	b->max_nr[0] = -1;
	b->narches = 1;
	return 0;
}

static int build_arch(struct build *b, uint32_t arch, struct berr **err)
{
	for (size_t i = 0; i < b->narches; i++)
		if (b->arches[i] == arch)
			return 0;
	if (b->narches == MAX_ARCHES)
		return berr_setc(err, BERR_INVALID, "%s: too many architectures", b->what);
	int r = seccomp_arch_add(b->ctx, arch);
	if (r < 0 && r != -EEXIST)
		return berr_set(err, -r, "%s: adding architecture %#x", b->what, arch);
	b->arches[b->narches] = arch;
	b->max_nr[b->narches++] = -1;
	return 0;
}

/* Track the highest syscall number the profile mentions on each arch: newer
 * syscalls than that get ENOSYS (see enosys_stub). */
static void note_name(struct build *b, const char *name)
{
	for (size_t i = 0; i < b->narches; i++) {
		int nr = seccomp_syscall_resolve_name_arch(b->arches[i], name);
		if (nr > b->max_nr[i])
			b->max_nr[i] = nr;
	}
}

/* Returns 0 or -errno from libseccomp. */
static int add_rule(struct build *b, const char *name, uint32_t act, const struct scmp_arg_cmp *args, unsigned n)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* unknown to this libseccomp: skipped, as runc does */
	if (act == b->def_action)
		return 0; /* libseccomp refuses rules that repeat the default */
	bool split = false;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			split |= args[i].arg == args[j].arg;
	if (!split)
		return seccomp_rule_add_array(b->ctx, act, nr, n, args);
	/* libseccomp takes one comparison per argument and rule; like runc,
	 * several on the same argument become alternative rules */
	for (unsigned i = 0; i < n; i++) {
		int r = seccomp_rule_add_array(b->ctx, act, nr, 1, &args[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Calls fn for each space-separated name; stops on a negative return. */
static int each_name(const char *names, int (*fn)(struct build *, const char *, const struct dflt *, struct berr **),
		     struct build *b, const struct dflt *d, struct berr **err)
{
	char name[64];
	for (const char *p = names; *p;) {
		size_t n = strcspn(p, " ");
		if (n >= sizeof(name))
			return berr_setc(err, BERR_INVALID, "seccomp: syscall name too long");
		memcpy(name, p, n);
		name[n] = 0;
		if (fn(b, name, d, err) < 0)
			return -1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

static bool dflt_applies(const struct build *b, const struct dflt *d)
{
	if (d->need && !(b->caps & (1ULL << (d->need - 1))))
		return false;
	if (d->unless && (b->caps & (1ULL << (d->unless - 1))))
		return false;
	if (d->arches && !(d->arches & NATIVE_BIT))
		return false;
	if (d->noarches & NATIVE_BIT)
		return false;
	if (d->kmaj && kernel_cmp((unsigned[3]){ d->kmaj, d->kmin, 0 }) < 0)
		return false;
	return true;
}

static int dflt_name(struct build *b, const char *name, const struct dflt *d, struct berr **err)
{
	note_name(b, name);
	if (!dflt_applies(b, d))
		return 0;
	uint32_t act = d->eno ? SCMP_ACT_ERRNO(d->eno) : SCMP_ACT_ALLOW;
	int r = add_rule(b, name, act, &d->cmp, d->cond ? 1 : 0);
	if (r < 0)
		return berr_set(err, -r, "%s: adding a rule for %s", b->what, name);
	return 0;
}

static int build_default(struct build *b, struct berr **err)
{
	if (build_init(b, SCMP_ACT_ERRNO(EPERM), err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(default_subarches); i++)
		if (default_subarches[i] && build_arch(b, default_subarches[i], err) < 0)
			return -1;
	for (size_t i = 0; i < ARRAY_SIZE(dflt); i++)
		if (each_name(dflt[i].names, dflt_name, b, &dflt[i], err) < 0)
			return -1;
	return 0;
}

/* ---- Docker-format JSON profiles ---- */

static int parse_action(const char *s, uint32_t errno_ret, uint32_t *ret)
{
	static const struct {
		const char *name;
		uint32_t act;
	} acts[] = {
		{ "SCMP_ACT_KILL", SCMP_ACT_KILL },
		{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
		{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
		{ "SCMP_ACT_LOG", SCMP_ACT_LOG },
	};
	if (!strcmp(s, "SCMP_ACT_ERRNO")) {
		*ret = SCMP_ACT_ERRNO(errno_ret);
		return 0;
	}
	if (!strcmp(s, "SCMP_ACT_TRACE")) {
		*ret = SCMP_ACT_TRACE(errno_ret);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
		if (!strcmp(s, acts[i].name)) {
			*ret = acts[i].act;
			return 0;
		}
	}
	return -1;
}

static bool action_takes_errno(const char *s)
{
	return !strcmp(s, "SCMP_ACT_ERRNO") || !strcmp(s, "SCMP_ACT_TRACE");
}

/* Action from obj[key] with its errno from obj[ret_key] (EPERM when absent);
 * label names the entry in errors. */
static int json_action(const json_t *obj, const char *key, const char *ret_key, const char *what, const char *label,
		       uint32_t *ret, struct berr **err)
{
	json_t *a = json_object_get(obj, key);
	if (!json_is_string(a))
		return berr_setc(err, BERR_INVALID, "%s: %s: expected an action string", what, label);
	const char *s = json_string_value(a);
	json_t *e = json_object_get(obj, ret_key);
	uint32_t eno = EPERM;
	if (e && !json_is_null(e)) {
		if (!action_takes_errno(s))
			return berr_setc(err, BERR_INVALID, "%s: %s: %s is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
					 what, label, ret_key);
		if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 4095)
			return berr_setc(err, BERR_INVALID, "%s: %s: %s: expected an errno number (0-4095)", what, label,
					 ret_key);
		eno = (uint32_t)json_integer_value(e);
	}
	if (!strcmp(s, "SCMP_ACT_NOTIFY"))
		return berr_setc(err, BERR_INVALID, "%s: %s: SCMP_ACT_NOTIFY is not supported", what, label);
	if (parse_action(s, eno, ret) < 0)
		return berr_setc(err, BERR_INVALID, "%s: %s: unknown action \"%s\"", what, label, s);
	return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token via its own name "x86_64". */
static uint32_t arch_token(const char *s)
{
	if (strncmp(s, "SCMP_ARCH_", 10) != 0 || strlen(s) > 40)
		return 0;
	char low[32];
	size_t i = 0;
	for (const char *p = s + 10; *p && i < sizeof(low) - 1; p++)
		low[i++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	low[i] = 0;
	return seccomp_arch_resolve_name(low);
}

static int json_arch(struct build *b, const json_t *v, const char *where, struct berr **err)
{
	const char *s = json_string_value(v);
	if (!s)
		return berr_setc(err, BERR_INVALID, "%s: %s: expected a string", b->what, where);
	uint32_t t = arch_token(s);
	if (!t)
		return berr_setc(err, BERR_INVALID, "%s: %s: unknown architecture \"%s\"", b->what, where, s);
	return build_arch(b, t, err);
}

static int json_arches(struct build *b, const json_t *prof, struct berr **err)
{
	json_t *list = json_object_get(prof, "architectures");
	json_t *map = json_object_get(prof, "archMap");
	if (list && !json_is_null(list) && !json_is_array(list))
		return berr_setc(err, BERR_INVALID, "%s: architectures: expected an array", b->what);
	if (map && !json_is_null(map) && !json_is_array(map))
		return berr_setc(err, BERR_INVALID, "%s: archMap: expected an array", b->what);
	if (json_array_size(list) && json_array_size(map))
		return berr_setc(err, BERR_INVALID, "%s: 'architectures' and 'archMap' were both specified, use either",
				 b->what);
	char where[96];
	size_t i, j;
	json_t *v, *sv;
	json_array_foreach(list, i, v) {
		snprintf(where, sizeof(where), "architectures[%zu]", i);
		if (json_arch(b, v, where, err) < 0)
			return -1;
	}
	/* archMap: the entry for the native arch brings its sub-arches */
	uint32_t native = seccomp_arch_native();
	json_array_foreach(map, i, v) {
		json_t *a = json_object_get(v, "architecture");
		json_t *subs = json_object_get(v, "subArchitectures");
		if (!json_is_object(v) || !json_is_string(a))
			return berr_setc(err, BERR_INVALID, "%s: archMap[%zu]: expected an object with \"architecture\"",
					 b->what, i);
		uint32_t t = arch_token(json_string_value(a));
		if (!t)
			return berr_setc(err, BERR_INVALID, "%s: archMap[%zu]: unknown architecture \"%s\"", b->what, i,
					 json_string_value(a));
		if (subs && !json_is_null(subs) && !json_is_array(subs))
			return berr_setc(err, BERR_INVALID, "%s: archMap[%zu].subArchitectures: expected an array",
					 b->what, i);
		json_array_foreach(subs, j, sv) {
			snprintf(where, sizeof(where), "archMap[%zu].subArchitectures[%zu]", i, j);
			if (!json_is_string(sv) || !arch_token(json_string_value(sv)))
				return berr_setc(err, BERR_INVALID, "%s: %s: unknown architecture \"%s\"", b->what, where,
						 json_is_string(sv) ? json_string_value(sv) : "?");
			if (t == native && json_arch(b, sv, where, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int parse_kernel(const char *s, unsigned v[3])
{
	v[0] = v[1] = v[2] = 0;
	int n = 0, end = 0;
	if (sscanf(s, "%u.%u%n.%u%n", &v[0], &v[1], &n, &v[2], &end) < 2)
		return -1;
	size_t used = (size_t)(end ? end : n);
	return s[used] == 0 || s[used] == '-' ? 0 : -1;
}

struct filt {
	uint64_t caps;
	bool arch_listed; /* the native arch is in "arches" */
	bool has_arches;
	bool has_kernel;
	unsigned kernel[3];
};

/* includes/excludes: {caps, arches, minKernel}. */
static int json_filt(const struct build *b, const json_t *f, const char *where, struct filt *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	if (!f || json_is_null(f))
		return 0;
	if (!json_is_object(f))
		return berr_setc(err, BERR_INVALID, "%s: %s: expected an object", b->what, where);
	json_t *caps = json_object_get(f, "caps"), *arches = json_object_get(f, "arches");
	json_t *mk = json_object_get(f, "minKernel");
	if ((caps && !json_is_null(caps) && !json_is_array(caps)) ||
	    (arches && !json_is_null(arches) && !json_is_array(arches)))
		return berr_setc(err, BERR_INVALID, "%s: %s: caps and arches must be arrays", b->what, where);
	size_t i;
	json_t *v;
	json_array_foreach(caps, i, v) {
		const char *s = json_string_value(v);
		size_t c = ARRAY_SIZE(cap_names);
		if (s && !strncmp(s, "CAP_", 4))
			for (c = 0; c < ARRAY_SIZE(cap_names) && strcmp(s + 4, cap_names[c]); c++)
				;
		if (c == ARRAY_SIZE(cap_names))
			return berr_setc(err, BERR_INVALID, "%s: %s.caps[%zu]: unknown capability \"%s\"", b->what, where,
					 i, s ? s : "?");
		ret->caps |= 1ULL << c;
	}
	json_array_foreach(arches, i, v) {
		if (!json_is_string(v))
			return berr_setc(err, BERR_INVALID, "%s: %s.arches[%zu]: expected a string", b->what, where, i);
		ret->has_arches = true;
		ret->arch_listed |= !strcmp(json_string_value(v), NATIVE_NAME);
	}
	if (mk && !json_is_null(mk) && !(json_is_string(mk) && !*json_string_value(mk))) {
		if (!json_is_string(mk) || parse_kernel(json_string_value(mk), ret->kernel) < 0)
			return berr_setc(err, BERR_INVALID, "%s: %s.minKernel: expected a version like \"4.8\"", b->what,
					 where);
		ret->has_kernel = true;
	}
	return 0;
}

/* Docker's rules: every included cap needed, any excluded cap drops it. */
static bool filt_applies(const struct build *b, const struct filt *inc, const struct filt *exc)
{
	if (exc->has_arches && exc->arch_listed)
		return false;
	if (b->caps & exc->caps)
		return false;
	if (exc->has_kernel && kernel_cmp(exc->kernel) >= 0)
		return false;
	if (inc->has_arches && !inc->arch_listed)
		return false;
	if ((b->caps & inc->caps) != inc->caps)
		return false;
	if (inc->has_kernel && kernel_cmp(inc->kernel) < 0)
		return false;
	return true;
}

static int json_args(const struct build *b, const json_t *args, const char *where, struct scmp_arg_cmp *ret,
		     unsigned *ret_n, struct berr **err)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	*ret_n = 0;
	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args))
		return berr_setc(err, BERR_INVALID, "%s: %s.args: expected an array", b->what, where);
	if (json_array_size(args) > MAX_CONDS)
		return berr_setc(err, BERR_INVALID, "%s: %s.args: more than %d conditions", b->what, where, MAX_CONDS);
	size_t i;
	json_t *a;
	json_array_foreach(args, i, a) {
		json_t *idx = json_object_get(a, "index"), *val = json_object_get(a, "value");
		json_t *val2 = json_object_get(a, "valueTwo"), *op = json_object_get(a, "op");
		if (!json_is_object(a))
			return berr_setc(err, BERR_INVALID, "%s: %s.args[%zu]: expected an object", b->what, where, i);
		if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5)
			return berr_setc(err, BERR_INVALID, "%s: %s.args[%zu].index: expected 0-5", b->what, where, i);
		if (!json_is_integer(val) || json_integer_value(val) < 0)
			return berr_setc(err, BERR_INVALID, "%s: %s.args[%zu].value: expected a non-negative integer",
					 b->what, where, i);
		if (val2 && !json_is_null(val2) && (!json_is_integer(val2) || json_integer_value(val2) < 0))
			return berr_setc(err, BERR_INVALID, "%s: %s.args[%zu].valueTwo: expected a non-negative integer",
					 b->what, where, i);
		if (!json_is_string(op))
			return berr_setc(err, BERR_INVALID, "%s: %s.args[%zu].op: expected a string", b->what, where, i);
		size_t k;
		for (k = 0; k < ARRAY_SIZE(ops) && strcmp(ops[k].name, json_string_value(op)); k++)
			;
		if (k == ARRAY_SIZE(ops))
			return berr_setc(err, BERR_INVALID, "%s: %s.args[%zu]: unknown op \"%s\"", b->what, where, i,
					 json_string_value(op));
		/* MASKED_EQ: value is the mask, valueTwo the expected result */
		ret[i] = (struct scmp_arg_cmp){ .arg = (unsigned)json_integer_value(idx), .op = ops[k].op,
						.datum_a = (scmp_datum_t)json_integer_value(val),
						.datum_b = val2 ? (scmp_datum_t)json_integer_value(val2) : 0 };
	}
	*ret_n = (unsigned)json_array_size(args);
	return 0;
}

static int json_syscall(struct build *b, const json_t *sc, size_t idx, struct berr **err)
{
	char where[40];
	snprintf(where, sizeof(where), "syscalls[%zu]", idx);
	if (!json_is_object(sc))
		return berr_setc(err, BERR_INVALID, "%s: %s: expected an object", b->what, where);
	json_t *name = json_object_get(sc, "name"), *names = json_object_get(sc, "names");
	if (name && !json_is_null(name) && json_array_size(names))
		return berr_setc(err, BERR_INVALID, "%s: %s: both 'name' and 'names' were specified, use either", b->what,
				 where);
	if (!(json_is_string(name) || (json_is_array(names) && json_array_size(names))))
		return berr_setc(err, BERR_INVALID, "%s: %s: expected \"names\": [...]", b->what, where);
	uint32_t act;
	if (json_action(sc, "action", "errnoRet", b->what, where, &act, err) < 0)
		return -1;
	struct scmp_arg_cmp args[MAX_CONDS];
	unsigned nargs;
	if (json_args(b, json_object_get(sc, "args"), where, args, &nargs, err) < 0)
		return -1;
	struct filt inc, exc;
	char fw[64];
	snprintf(fw, sizeof(fw), "%s.includes", where);
	if (json_filt(b, json_object_get(sc, "includes"), fw, &inc, err) < 0)
		return -1;
	snprintf(fw, sizeof(fw), "%s.excludes", where);
	if (json_filt(b, json_object_get(sc, "excludes"), fw, &exc, err) < 0)
		return -1;
	bool on = filt_applies(b, &inc, &exc);

	size_t n = json_is_string(name) ? 1 : json_array_size(names);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_is_string(name) ? name : json_array_get(names, i);
		const char *s = json_string_value(v);
		if (!s)
			return berr_setc(err, BERR_INVALID, "%s: %s.names[%zu]: expected a string", b->what, where, i);
		note_name(b, s);
		if (!on)
			continue;
		int r = add_rule(b, s, act, args, nargs);
		if (r < 0)
			return berr_set(err, -r, "%s: %s: adding a rule for %s", b->what, where, s);
	}
	return 0;
}

/* Returns 1 when the profile turns seccomp off (no defaultAction and no
 * syscalls, as Docker treats it). */
static int build_json(struct build *b, const struct seccomp_opts *o, struct berr **err)
{
	_cleanup_json_ json_t *prof = jsonx_parse(o->profile, o->profile_len, b->what, err);
	if (!prof)
		return -1;
	if (!json_is_object(prof))
		return berr_setc(err, BERR_INVALID, "%s: expected a JSON object", b->what);
	json_t *sys = json_object_get(prof, "syscalls");
	if (sys && !json_is_null(sys) && !json_is_array(sys))
		return berr_setc(err, BERR_INVALID, "%s: syscalls: expected an array", b->what);
	json_t *da = json_object_get(prof, "defaultAction");
	if ((!da || (json_is_string(da) && !*json_string_value(da))) && json_array_size(sys) == 0)
		return 1;
	if (!da)
		return berr_setc(err, BERR_INVALID, "%s: defaultAction is missing", b->what);
	uint32_t def;
	if (json_action(prof, "defaultAction", "defaultErrnoRet", b->what, "defaultAction", &def, err) < 0)
		return -1;
	if (build_init(b, def, err) < 0 || json_arches(b, prof, err) < 0)
		return -1;
	size_t i;
	json_t *sc;
	json_array_foreach(sys, i, sc) {
		if (json_syscall(b, sc, i, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- BPF output ---- */

struct stub {
	struct sock_filter f[2 + 5 * MAX_ARCHES];
	size_t n;
};

/* Jumps are given as absolute targets and stored relative to the next
 * instruction. */
static void emit(struct stub *s, uint16_t code, uint32_t k, size_t jt, size_t jf)
{
	size_t next = s->n + 1;
	s->f[s->n++] = (struct sock_filter){ .code = code,
					     .jt = (uint8_t)(jt ? jt - next : 0),
					     .jf = (uint8_t)(jf ? jf - next : 0),
					     .k = k };
}

static size_t stub_block_len(const struct build *b, size_t i, int max_x32)
{
	if (b->max_nr[i] < 0 || b->arches[i] == SCMP_ARCH_X32)
		return 0; /* x32 shares x86_64's audit arch, handled there */
	if (b->arches[i] == SCMP_ARCH_X86_64)
		return max_x32 >= 0 ? 5 : 4;
	return 3;
}

/* A prefix that makes syscalls newer than anything the profile names fail
 * with ENOSYS instead of the default EPERM, as runc does: libc probes new
 * syscalls (clone3, fchmodat2, ...) and only falls back on ENOSYS. Jumps are
 * relative, so libseccomp's program works unchanged after it. Per arch:
 *	ld arch; jeq ARCH ? next : other arch
 *	ld nr; [x86_64: jge X32_BIT ? x32 check : native check]
 *	jgt MAX ? ret ENOSYS : main program */
static void enosys_stub(const struct build *b, struct stub *s)
{
	s->n = 0;
	if (b->def_action == SCMP_ACT_ALLOW || b->def_action == SCMP_ACT_LOG)
		return;
	int max_x32 = -1;
	for (size_t i = 0; i < b->narches; i++)
		if (b->arches[i] == SCMP_ARCH_X32)
			max_x32 = b->max_nr[i];
	size_t len = 1, last = 0;
	for (size_t i = 0; i < b->narches; i++) {
		size_t l = stub_block_len(b, i, max_x32);
		len += l;
		if (l)
			last = i;
	}
	if (len == 1)
		return;
	size_t nosys = len, main = len + 1;
	emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	for (size_t i = 0; i < b->narches; i++) {
		size_t l = stub_block_len(b, i, max_x32);
		if (!l)
			continue;
		size_t start = s->n;
		uint32_t max = (uint32_t)b->max_nr[i];
		emit(s, BPF_JMP | BPF_JEQ | BPF_K, b->arches[i], 0, i == last ? main : start + l);
		emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
		if (b->arches[i] == SCMP_ARCH_X86_64) {
			/* x32 numbers carry bit 30 */
			emit(s, BPF_JMP | BPF_JGE | BPF_K, 0x40000000, max_x32 >= 0 ? start + 4 : main, 0);
			emit(s, BPF_JMP | BPF_JGT | BPF_K, max, nosys, main);
			if (max_x32 >= 0)
				emit(s, BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max_x32, nosys, main);
		} else {
			emit(s, BPF_JMP | BPF_JGT | BPF_K, max, nosys, main);
		}
	}
	emit(s, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA), 0, 0);
}

/* Prefix the ENOSYS stub to body[0..n) into ret. */
static int finish_prog(const struct build *b, const struct sock_filter *body, size_t n, struct sock_fprog *ret,
		       struct berr **err)
{
	struct stub s;
	enosys_stub(b, &s);
	size_t total = s.n + n;
	if (total > BPF_MAXINSNS)
		return berr_setc(err, BERR_INVALID, "%s: the filter has %zu instructions, the kernel takes at most %d",
				 b->what, total, BPF_MAXINSNS);
	struct sock_filter *f = malloc(total * sizeof(*f));
	if (!f)
		return berr_set(err, ENOMEM, "seccomp");
	memcpy(f, s.f, s.n * sizeof(*f));
	memcpy(f + s.n, body, n * sizeof(*f));
	ret->filter = f;
	ret->len = (unsigned short)total;
	return 0;
}

/* libseccomp 2.5 has no seccomp_export_bpf_mem: export to a memfd. */
static int export_prog(const struct build *b, struct sock_fprog *ret, struct berr **err)
{
	_cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return berr_set(err, errno, "seccomp: memfd_create");
	int r = seccomp_export_bpf(b->ctx, fd);
	if (r < 0)
		return berr_set(err, -r, "%s: exporting the BPF program", b->what);
	off_t size = lseek(fd, 0, SEEK_CUR);
	if (size <= 0 || size % sizeof(struct sock_filter) || size > BPF_MAXINSNS * 8 || lseek(fd, 0, SEEK_SET) < 0)
		return berr_set(err, EIO, "%s: libseccomp exported %lld bytes", b->what, (long long)size);
	_cleanup_free_ struct sock_filter *body = malloc((size_t)size);
	if (!body)
		return berr_set(err, ENOMEM, "seccomp");
	if (fs_read_full(fd, body, (size_t)size) != (ssize_t)size)
		return berr_set(err, errno ? errno : EIO, "%s: reading the exported program", b->what);
	return finish_prog(b, body, (size_t)size / sizeof(struct sock_filter), ret, err);
}

#if defined(__x86_64__) && !defined(__ILP32__)
#define HAVE_GEN 1

/* ---- berth's own code generator for the default profile ----
 * libseccomp 2.5 takes ~10 ms to compile Docker's profile for x86_64 + x86 +
 * x32. The table needs nothing but exact syscall numbers and one EQ, NE or
 * MASKED_EQ test per rule, which this emits in well under a millisecond. The
 * unit test runs both programs over every syscall number and a spread of
 * arguments and checks that they agree. Layout:
 *	ld arch; jeq X86_64 -> S64; jeq I386 -> S32; ret KILL (unknown arch)
 *	S64: ld nr; jge X32_BIT -> X32; x86_64 items; ret DEFAULT
 *	X32: x32 items; ret DEFAULT
 *	S32: ld nr; i386 items; ret DEFAULT
 * Items are ascending ranges of numbers with one action, or one number with
 * argument tests; each starts with "jgt hi -> next item", so a lookup is a
 * short linear scan and every conditional jump stays short. */

struct grule {
	uint32_t nr;
	uint32_t act;
	uint32_t order; /* table position: keeps the sort stable */
	const struct dflt *d;
};

struct garch {
	uint32_t base; /* lowest number in the section (x32: bit 30) */
	bool is64;     /* arguments are 64-bit (libseccomp: x86_64 only) */
	struct grule *r;
	size_t n;
};

struct gen {
	struct sock_filter *f; /* NULL: only count */
	size_t n;
	bool bad;
};

static void put(struct gen *g, uint16_t code, size_t jt, size_t jf, uint32_t k)
{
	if (jt > 255 || jf > 255)
		g->bad = true;
	if (g->f)
		g->f[g->n] = (struct sock_filter){ .code = code, .jt = (uint8_t)jt, .jf = (uint8_t)jf, .k = k };
	g->n++;
}

#define LD_ABS (BPF_LD | BPF_W | BPF_ABS)
#define JEQ (BPF_JMP | BPF_JEQ | BPF_K)
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define ARG_HI(i) (ARG_LO(i) + 4)

/* One rule: falls through when it doesn't match. 64-bit sections compare
 * both halves like libseccomp, except for lo32 rules: the kernel truncates
 * an int argument, so socket(AF_VSOCK | 1 << 32) must still match
 * AF_VSOCK (libseccomp's 64-bit NE lets it through). */
static void gen_cond(struct gen *g, const struct grule *r, bool is64)
{
	const struct scmp_arg_cmp *c = &r->d->cmp;
	bool wide = is64 && !r->d->lo32;
	uint32_t a_lo = (uint32_t)c->datum_a, a_hi = (uint32_t)(c->datum_a >> 32);
	uint32_t b_lo = (uint32_t)c->datum_b, b_hi = (uint32_t)(c->datum_b >> 32);
	switch (c->op) {
	case SCMP_CMP_EQ:
		if (wide) {
			put(g, LD_ABS, 0, 0, ARG_HI(c->arg));
			put(g, JEQ, 0, 3, a_hi);
		}
		put(g, LD_ABS, 0, 0, ARG_LO(c->arg));
		put(g, JEQ, 0, 1, a_lo);
		break;
	case SCMP_CMP_NE:
		if (wide) {
			put(g, LD_ABS, 0, 0, ARG_HI(c->arg));
			put(g, JEQ, 0, 2, a_hi);
		}
		put(g, LD_ABS, 0, 0, ARG_LO(c->arg));
		put(g, JEQ, 1, 0, a_lo);
		break;
	case SCMP_CMP_MASKED_EQ: /* datum_a is the mask */
		if (wide) {
			put(g, LD_ABS, 0, 0, ARG_HI(c->arg));
			put(g, BPF_ALU | BPF_AND | BPF_K, 0, 0, a_hi);
			put(g, JEQ, 0, 4, b_hi);
		}
		put(g, LD_ABS, 0, 0, ARG_LO(c->arg));
		put(g, BPF_ALU | BPF_AND | BPF_K, 0, 0, a_lo);
		put(g, JEQ, 0, 1, b_lo);
		break;
	default:
		g->bad = true; /* the table only uses the three above */
		return;
	}
	put(g, BPF_RET | BPF_K, 0, 0, r->act);
}

/* The unconditional rule among r[i..j) that share a number, if any. */
static const struct grule *uncond(const struct garch *a, size_t i, size_t *ret_j)
{
	const struct grule *u = NULL;
	size_t j = i;
	for (; j < a->n && a->r[j].nr == a->r[i].nr; j++)
		if (!u && !a->r[j].d->cond)
			u = &a->r[j];
	*ret_j = j;
	return u;
}

static void gen_items(struct gen *g, const struct garch *a, uint32_t def)
{
	uint32_t floor = a->base;
	for (size_t i = 0, j; i < a->n; i = j) {
		const struct grule *u = uncond(a, i, &j);
		uint32_t lo = a->r[i].nr, hi = lo;
		struct gen body = { 0 };
		if (u) {
			/* an unconditional rule beats conditional ones for the
			 * same number; extend over neighbours with the same action */
			size_t k;
			const struct grule *u2;
			while (j < a->n && a->r[j].nr == hi + 1 && (u2 = uncond(a, j, &k)) && u2->act == u->act) {
				hi++;
				j = k;
			}
			body.n = 1;
		} else {
			for (size_t k = i; k < j; k++)
				gen_cond(&body, &a->r[k], a->is64);
			body.n++;
		}
		bool gap = lo != floor;
		put(g, BPF_JMP | BPF_JGT | BPF_K, (gap ? 2 : 0) + body.n, 0, hi);
		if (gap) {
			put(g, BPF_JMP | BPF_JGE | BPF_K, 1, 0, lo);
			put(g, BPF_RET | BPF_K, 0, 0, def);
		}
		if (u) {
			put(g, BPF_RET | BPF_K, 0, 0, u->act);
		} else {
			for (size_t k = i; k < j; k++)
				gen_cond(g, &a->r[k], a->is64);
			put(g, BPF_RET | BPF_K, 0, 0, def);
		}
		g->bad |= body.bad;
		floor = hi + 1;
	}
	put(g, BPF_RET | BPF_K, 0, 0, def);
}

static int grule_cmp(const void *x, const void *y)
{
	const struct grule *a = x, *b = y;
	if (a->nr != b->nr)
		return a->nr < b->nr ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Arch slots: x86_64, x86 (i386), x32. */
enum { G64, G32, GX32, GN };

static int gen_default(struct build *b, struct sock_fprog *ret, struct berr **err)
{
	static const uint32_t tokens[GN] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 };
	const uint32_t def = SCMP_ACT_ERRNO(EPERM);
	b->def_action = def;
	b->narches = GN;
	size_t names = 0;
	for (size_t i = 0; i < ARRAY_SIZE(dflt); i++)
		for (const char *p = dflt[i].names; *p; p += strspn(p, " ")) {
			p += strcspn(p, " ");
			names++;
		}
	struct garch ga[GN];
	_cleanup_free_ struct grule *rules = calloc((GN + 1) * names, sizeof(*rules));
	_cleanup_free_ const char **pend_name = calloc(names, sizeof(*pend_name));
	if (!rules || !pend_name)
		return berr_set(err, ENOMEM, "seccomp");
	struct grule *pend = rules + GN * names; /* x86 rules waiting for a number */
	size_t npend = 0;
	/* pend_name[i] points into the table: the name ends at a space or NUL */
	for (int k = 0; k < GN; k++) {
		b->arches[k] = tokens[k];
		b->max_nr[k] = -1;
		ga[k] = (struct garch){ .base = k == GX32 ? 0x40000000 : 0, .is64 = k == G64, .r = rules + k * names };
	}
	uint32_t order = 0;
	for (size_t i = 0; i < ARRAY_SIZE(dflt); i++) {
		const struct dflt *d = &dflt[i];
		bool on = dflt_applies(b, d);
		char name[64];
		for (const char *p = d->names; *p; p += strspn(p, " ")) {
			size_t n = strcspn(p, " ");
			if (n >= sizeof(name))
				return berr_setc(err, BERR_INVALID, "seccomp: syscall name too long");
			memcpy(name, p, n);
			name[n] = 0;
			p += n;
			for (int k = 0; k < GN; k++) {
				/* names this libseccomp doesn't know, or that don't
				 * exist on this arch, resolve to a negative number */
				int nr = seccomp_syscall_resolve_name_arch(tokens[k], name);
				if (nr > b->max_nr[k])
					b->max_nr[k] = nr;
				struct grule r = { .nr = (uint32_t)nr, .order = order, .d = d,
						   .act = d->eno ? SCMP_ACT_ERRNO(d->eno) : SCMP_ACT_ALLOW };
				if (on && nr >= 0) {
					ga[k].r[ga[k].n++] = r;
				} else if (on && k == G32 && nr != __NR_SCMP_ERROR) {
					pend_name[npend] = p - n;
					pend[npend++] = r;
				}
			}
			order++;
		}
	}
	/* i386 reaches the socket and SysV IPC calls through socketcall/ipc and,
	 * on newer kernels, directly. libseccomp resolves such names to its
	 * multiplexer pseudo numbers but adds rules for both; the direct
	 * numbers come from its reverse table (all below the newest syscall the
	 * table names). */
	for (int nr = 0; npend && nr <= b->max_nr[G32]; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86, nr);
		size_t len = n ? strlen(n) : 0;
		if (n && seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, n) != nr)
			for (size_t i = 0; i < npend && ga[G32].n < names; i++)
				if (!strncmp(pend_name[i], n, len) && (pend_name[i][len] == ' ' || !pend_name[i][len])) {
					ga[G32].r[ga[G32].n] = pend[i];
					ga[G32].r[ga[G32].n++].nr = (uint32_t)nr;
				}
		free(n);
	}
	for (int k = 0; k < GN; k++)
		qsort(ga[k].r, ga[k].n, sizeof(*ga[k].r), grule_cmp);

	/* count, then emit at the now known offsets */
	struct gen c64 = { 0 }, cx32 = { 0 }, c32 = { 0 };
	gen_items(&c64, &ga[G64], def);
	gen_items(&cx32, &ga[GX32], def);
	gen_items(&c32, &ga[G32], def);
	size_t hdr = 6, s64 = hdr, x32 = s64 + 3 + c64.n, s32 = x32 + cx32.n, total = s32 + 1 + c32.n;
	if (c64.bad || cx32.bad || c32.bad || total > BPF_MAXINSNS)
		return berr_setc(err, BERR_INVALID, "%s: cannot generate the filter", b->what);
	_cleanup_free_ struct sock_filter *f = malloc(total * sizeof(*f));
	if (!f)
		return berr_set(err, ENOMEM, "seccomp");
	struct gen g = { .f = f };
	put(&g, LD_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	put(&g, JEQ, 0, 1, AUDIT_ARCH_X86_64);
	put(&g, BPF_JMP | BPF_JA | BPF_K, 0, 0, (uint32_t)(s64 - 3));
	put(&g, JEQ, 0, 1, AUDIT_ARCH_I386);
	put(&g, BPF_JMP | BPF_JA | BPF_K, 0, 0, (uint32_t)(s32 - 5));
	put(&g, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_THREAD); /* libseccomp's bad-arch default */
	put(&g, LD_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	put(&g, BPF_JMP | BPF_JGE | BPF_K, 0, 1, 0x40000000);
	put(&g, BPF_JMP | BPF_JA | BPF_K, 0, 0, (uint32_t)(x32 - (s64 + 3)));
	gen_items(&g, &ga[G64], def);
	gen_items(&g, &ga[GX32], def);
	put(&g, LD_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	gen_items(&g, &ga[G32], def);
	if (g.n != total || g.bad)
		return berr_setc(err, BERR_INVALID, "%s: generated %zu instructions, expected %zu", b->what, g.n, total);
	return finish_prog(b, f, total, ret, err);
}
#endif

static int compile(const struct seccomp_opts *o, bool use_gen, struct sock_fprog *ret, struct berr **err)
{
	*ret = (struct sock_fprog){ 0 };
	if (o->unconfined)
		return 0;
	_cleanup_free_ char *what = NULL;
	if (o->profile && asprintf(&what, "seccomp profile %s", o->profile_name ? o->profile_name : "(inline)") < 0)
		return berr_set(err, ENOMEM, "seccomp");
	struct build b = { .caps = o->caps, .what = what ? what : "seccomp default profile" };
#ifdef HAVE_GEN
	if (!o->profile && use_gen)
		return gen_default(&b, ret, err);
#endif
	int r = o->profile ? build_json(&b, o, err) : build_default(&b, err);
	if (r == 0)
		r = export_prog(&b, ret, err);
	if (b.ctx)
		seccomp_release(b.ctx);
	return r < 0 ? -1 : 0;
}

int seccomp_compile(const struct seccomp_opts *o, struct sock_fprog *ret, struct berr **err)
{
	return compile(o, true, ret, err);
}

int seccomp_compile_libseccomp(const struct seccomp_opts *o, struct sock_fprog *ret, struct berr **err)
{
	return compile(o, false, ret, err);
}

/* ---- cache ---- */

struct cache_hdr {
	char magic[8];
	uint32_t format;
	uint32_t count; /* instructions that follow */
	char key[64];   /* a file copied under another name is not used */
	char sum[64];   /* sha256 of the instructions */
};

static void sum_prog(const struct sock_filter *f, size_t n, char out[65])
{
	struct sha256 h;
	out[0] = 0;
	if (sha256_init(&h) < 0)
		return;
	sha256_update(&h, f, n * sizeof(*f));
	sha256_final_hex(&h, out);
}

/* Everything the output depends on: berth's compiler and table (or the
 * profile), libseccomp, the kernel (minKernel), the arch and the caps. */
static int cache_key(const struct seccomp_opts *o, char out[65])
{
	struct sha256 h;
	if (sha256_init(&h) < 0)
		return -1;
	const struct scmp_version *v = seccomp_version();
	unsigned k[3];
	kernel_version(k);
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "berth-seccomp %d %s libseccomp %u.%u.%u kernel %u.%u.%u %s caps %llx\n",
			 CACHE_FORMAT, BERTH_VERSION, v->major, v->minor, v->micro, k[0], k[1], k[2], NATIVE_NAME,
			 (unsigned long long)o->caps);
	sha256_update(&h, buf, (size_t)n);
	if (o->profile) {
		sha256_update(&h, "profile\n", 8);
		sha256_update(&h, o->profile, o->profile_len);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(dflt); i++) {
			const struct dflt *d = &dflt[i];
			n = snprintf(buf, sizeof(buf), "|%u %u %u %u %u.%u %u %d %d %u %u %llx %llx|", d->need, d->unless,
				     d->arches, d->noarches, d->kmaj, d->kmin, d->eno, d->cond, d->lo32, d->cmp.arg, d->cmp.op,
				     (unsigned long long)d->cmp.datum_a, (unsigned long long)d->cmp.datum_b);
			sha256_update(&h, d->names, strlen(d->names));
			sha256_update(&h, buf, (size_t)n);
		}
	}
	sha256_final_hex(&h, out);
	return 0;
}

/* 0 with *ret filled, or -1 for a missing or unusable file. */
static int cache_read(int dfd, const char *name, const char key[65], struct sock_fprog *ret)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	if ((size_t)st.st_size <= sizeof(struct cache_hdr))
		return -1;
	size_t body = (size_t)st.st_size - sizeof(struct cache_hdr);
	if (body % sizeof(struct sock_filter) || body / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -1;
	struct cache_hdr h;
	if (fs_read_full(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || memcmp(h.magic, CACHE_MAGIC, 8) ||
	    h.format != CACHE_FORMAT || h.count != body / sizeof(struct sock_filter) || memcmp(h.key, key, 64))
		return -1;
	_cleanup_free_ struct sock_filter *f = malloc(body);
	char sum[65];
	if (!f || fs_read_full(fd, f, body) != (ssize_t)body)
		return -1;
	sum_prog(f, h.count, sum);
	if (memcmp(sum, h.sum, 64) != 0)
		return -1;
	ret->filter = steal_pointer(&f);
	ret->len = (unsigned short)h.count;
	return 0;
}

static void cache_write(int dfd, const char *name, const char key[65], const struct sock_fprog *p)
{
	size_t body = p->len * sizeof(struct sock_filter);
	_cleanup_free_ char *buf = malloc(sizeof(struct cache_hdr) + body);
	if (!buf)
		return;
	struct cache_hdr h = { .format = CACHE_FORMAT, .count = p->len };
	char sum[65];
	memcpy(h.magic, CACHE_MAGIC, 8);
	memcpy(h.key, key, 64);
	sum_prog(p->filter, p->len, sum);
	memcpy(h.sum, sum, 64);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p->filter, body);
	struct berr *e = NULL;
	/* a cache that can't be written only costs the next run some time */
	fs_write_atomic_at(dfd, name, buf, sizeof(h) + body, 0600, false, &e);
	berr_free(e);
}

int seccomp_compile_cached(const char *cache_dir, const struct seccomp_opts *o, struct sock_fprog *ret,
			   struct berr **err)
{
	*ret = (struct sock_fprog){ 0 };
	char key[65], name[80];
	if (o->unconfined || !cache_dir || cache_key(o, key) < 0)
		return seccomp_compile(o, ret, err);
	snprintf(name, sizeof(name), "%s.bpf", key);
	_cleanup_close_ int dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && cache_read(dfd, name, key, ret) == 0)
		return 0;
	if (seccomp_compile(o, ret, err) < 0)
		return -1;
	if (ret->len == 0)
		return 0;
	if (dfd < 0) {
		struct berr *e = NULL;
		if (fs_mkdir_p(cache_dir, 0700, &e) == 0)
			dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		berr_free(e);
	}
	if (dfd >= 0)
		cache_write(dfd, name, key, ret);
	return 0;
}

int seccomp_install(const struct sock_fprog *prog)
{
	if (!prog || prog->len == 0)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) == 0)
		return 0;
	int e = errno;
	/* kernels before 3.17 only have the prctl */
	if (e == ENOSYS && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) == 0)
		return 0;
	return -(e == ENOSYS ? errno : e);
}

void seccomp_prog_free(struct sock_fprog *p)
{
	free(p->filter);
	p->filter = NULL;
	p->len = 0;
}
