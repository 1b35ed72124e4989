/* IPAM: address arithmetic, subnet pools and the persistent allocator
 * (including 20 processes allocating at once from the same directory). */
#include "net/ipam.h"
#include "unit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

static char emsg[512];

/* Record the error message (or clear it) and free the error. */
static void take_err(struct berr **err)
{
	snprintf(emsg, sizeof(emsg), "%s", *err && (*err)->msg ? (*err)->msg : "");
	berr_freep(err);
}

static struct ipam_addr A(const char *s)
{
	struct ipam_addr a;
	struct berr *err = NULL;
	if (ipam_addr_parse(s, &a, &err) < 0) {
		printf("# bad test address %s\n", s);
		berr_free(err);
		exit(2);
	}
	return a;
}

static struct ipam_cidr C(const char *s)
{
	struct ipam_cidr c;
	struct berr *err = NULL;
	if (ipam_cidr_parse(s, &c, &err) < 0) {
		printf("# bad test CIDR %s\n", s);
		berr_free(err);
		exit(2);
	}
	return c;
}

static const char *astr(struct ipam_addr a)
{
	static char buf[8][IPAM_STRLEN];
	static int k;
	return ipam_addr_str(&a, buf[k++ % 8]);
}

static const char *cstr(struct ipam_cidr c)
{
	static char buf[8][IPAM_STRLEN];
	static int k;
	return ipam_cidr_str(&c, buf[k++ % 8]);
}

/* ---- parsing ------------------------------------------------------------ */

static void test_parse(void)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{"10.89.0.0/16", "10.89.0.0/16"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"255.255.255.255/32", "255.255.255.255/32"},
		{"10.89.3.7/16", "10.89.3.7/16"}, /* parse keeps host bits */
		{"fd00:dead::/64", "fd00:dead::/64"},
		{"FD00:DEAD:0:0::/64", "fd00:dead::/64"},
		{"::/0", "::/0"},
		{"::1/128", "::1/128"},
		{"2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"},
		{"fd00:0:0:1::/64", "fd00:0:0:1::/64"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct ipam_cidr c;
		struct berr *err = NULL;
		int r = ipam_cidr_parse(good[i].in, &c, &err);
		take_err(&err);
		CHECK(r == 0, "parse %s", good[i].in);
		if (r == 0)
			CHECK_STR(cstr(c), good[i].out, "print %s", good[i].in);
	}
	CHECK(C("10.0.0.0/8").addr.family == AF_INET && C("fd00::/8").addr.family == AF_INET6, "families");

	static const char *bad[] = {
		"10.0.0.0/33", "10.0.0.0/", "10.0.0.0", "/24", "10.0.0/24", "10.0.0.256/24", "010.0.0.0/8",
		"10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/+8", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0/ 8",
		"fd00::/129", "fd00::%eth0/64", "10.0.0.0/8/8", "", "abc/8", "1.2.3.4.5/8", "10.0.0.0/1000",
		"fd00:::/64", "1.2.3.4/0x10", "10.0.0.0 /8", "fd00::/0128", "1.2.3.4\t/8",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ipam_cidr c;
		struct berr *err = NULL;
		int r = ipam_cidr_parse(bad[i], &c, &err);
		int code = err ? err->code : -1;
		take_err(&err);
		char want[128];
		snprintf(want, sizeof(want), "invalid CIDR \"%s\"", bad[i]);
		CHECK(r == -1 && code == BERR_INVALID, "reject CIDR \"%s\"", bad[i]);
		CHECK_STR(emsg, want, "error names the value \"%s\"", bad[i]);
	}
	struct ipam_cidr c;
	struct berr *err = NULL;
	CHECK(ipam_cidr_parse(NULL, &c, &err) == -1, "NULL CIDR");
	take_err(&err);

	static const struct {
		const char *in, *out;
	} addrs[] = {
		{"10.89.0.2", "10.89.0.2"}, {"0.0.0.0", "0.0.0.0"}, {"255.255.255.255", "255.255.255.255"},
		{"fd00:dead::2", "fd00:dead::2"}, {"::", "::"}, {"FD00:0:0:0:0:0:0:1", "fd00::1"},
		{"::ffff:10.0.0.1", "::ffff:10.0.0.1"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct ipam_addr a;
		int r = ipam_addr_parse(addrs[i].in, &a, &err);
		take_err(&err);
		CHECK(r == 0, "parse address %s", addrs[i].in);
		if (r == 0)
			CHECK_STR(astr(a), addrs[i].out, "print address %s", addrs[i].in);
	}
	static const char *badaddr[] = {
		"10.89.0.2/24", "10.89.0", "10.89.0.2.1", "256.1.1.1", "01.1.1.1", "1.1.1.1 ", "", "x",
		"fd00::1::2", "fd00::1%lo", "fd00::g", "1.2.3.-4",
	};
	for (size_t i = 0; i < ARRAY_SIZE(badaddr); i++) {
		struct ipam_addr a;
		int r = ipam_addr_parse(badaddr[i], &a, &err);
		take_err(&err);
		char want[128];
		snprintf(want, sizeof(want), "invalid IP address \"%s\"", badaddr[i]);
		CHECK(r == -1, "reject address \"%s\"", badaddr[i]);
		CHECK_STR(emsg, want, "address error names \"%s\"", badaddr[i]);
	}
	/* Over-long input is rejected before inet_pton. */
	char longs[200];
	memset(longs, '1', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = 0;
	struct ipam_addr a;
	CHECK(ipam_addr_parse(longs, &a, &err) == -1, "reject a 199-byte address");
	take_err(&err);
	CHECK(ipam_cidr_parse(longs, &c, &err) == -1, "reject a 199-byte CIDR");
	take_err(&err);
}

static void test_normalize(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{"10.89.3.7/16", "10.89.0.0/16"},
		{"10.89.3.7/32", "10.89.3.7/32"},
		{"10.89.3.7/0", "0.0.0.0/0"},
		{"10.1.2.3/23", "10.1.2.0/23"},
		{"10.1.3.3/23", "10.1.2.0/23"},
		{"10.1.2.3/25", "10.1.2.0/25"},
		{"10.1.2.200/25", "10.1.2.128/25"},
		{"10.1.2.255/31", "10.1.2.254/31"},
		{"255.255.255.255/1", "128.0.0.0/1"},
		{"fd00:dead:beef::1/48", "fd00:dead:beef::/48"},
		{"fd00:dead:beef:1234::1/52", "fd00:dead:beef:1000::/52"},
		{"fd00:dead::ffff/127", "fd00:dead::fffe/127"},
		{"fd00:dead::1/128", "fd00:dead::1/128"},
		{"ffff::1/0", "::/0"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct ipam_cidr c;
		struct berr *err = NULL;
		int r = ipam_cidr_parse_network(t[i].in, &c, &err);
		take_err(&err);
		CHECK(r == 0, "normalize %s", t[i].in);
		if (r == 0)
			CHECK_STR(cstr(c), t[i].out, "normalize %s", t[i].in);
	}
	struct ipam_cidr c;
	struct berr *err = NULL;
	CHECK(ipam_cidr_parse_network("10.0.0.0/33", &c, &err) == -1, "normalize rejects /33");
	take_err(&err);
	CHECK_STR(emsg, "invalid CIDR \"10.0.0.0/33\"", "normalize error message");
	struct ipam_cidr x = C("10.89.3.7/16");
	CHECK_STR(astr(ipam_cidr_last(&x)), "10.89.255.255", "last of 10.89.3.7/16");
	CHECK_STR(cstr(ipam_cidr_network(&x)), "10.89.0.0/16", "network of 10.89.3.7/16");
}

/* ---- arithmetic --------------------------------------------------------- */

static void test_contains_overlap(void)
{
	struct ipam_cidr n = C("10.89.0.0/16");
	struct ipam_addr a;
	CHECK(ipam_cidr_contains(&n, (a = A("10.89.0.0"), &a)), "/16 contains its network");
	CHECK(ipam_cidr_contains(&n, (a = A("10.89.255.255"), &a)), "/16 contains its broadcast");
	CHECK(!ipam_cidr_contains(&n, (a = A("10.90.0.0"), &a)), "/16 does not contain 10.90.0.0");
	CHECK(!ipam_cidr_contains(&n, (a = A("10.88.255.255"), &a)), "/16 does not contain 10.88.255.255");
	CHECK(!ipam_cidr_contains(&n, (a = A("::ffff:10.89.0.1"), &a)), "IPv4 subnet vs IPv6 address");
	struct ipam_cidr hb = C("10.89.3.7/16"); /* host bits are ignored */
	CHECK(ipam_cidr_contains(&hb, (a = A("10.89.200.1"), &a)), "unnormalized CIDR contains");
	struct ipam_cidr all4 = C("0.0.0.0/0"), all6 = C("::/0"), one = C("10.0.0.1/32");
	CHECK(ipam_cidr_contains(&all4, (a = A("1.2.3.4"), &a)), "0.0.0.0/0 contains 1.2.3.4");
	CHECK(!ipam_cidr_contains(&all4, (a = A("::1"), &a)), "0.0.0.0/0 does not contain ::1");
	CHECK(ipam_cidr_contains(&all6, (a = A("fd00::1"), &a)), "::/0 contains fd00::1");
	CHECK(ipam_cidr_contains(&one, (a = A("10.0.0.1"), &a)), "/32 contains itself");
	CHECK(!ipam_cidr_contains(&one, (a = A("10.0.0.0"), &a)), "/32 contains nothing else");
	struct ipam_cidr v6 = C("fd00:dead::/64");
	CHECK(ipam_cidr_contains(&v6, (a = A("fd00:dead::ffff:ffff:ffff:ffff"), &a)), "v6 /64 contains its last");
	CHECK(!ipam_cidr_contains(&v6, (a = A("fd00:dead:0:1::"), &a)), "v6 /64 not the next /64");

	static const struct {
		const char *a, *b;
		bool want;
	} ov[] = {
		{"10.89.0.0/16", "10.89.3.0/24", true},
		{"10.89.0.0/24", "10.89.1.0/24", false},
		{"10.0.0.0/8", "10.89.0.0/16", true},
		{"10.89.0.0/23", "10.89.1.0/24", true},
		{"10.89.0.0/24", "10.89.0.0/24", true},
		{"10.89.0.128/25", "10.89.0.0/25", false},
		{"10.89.0.5/24", "10.89.0.200/32", true},
		{"0.0.0.0/0", "192.168.1.0/24", true},
		{"10.89.0.0/16", "fd00::/8", false},
		{"fd00::/8", "fd00:dead::/64", true},
		{"fd00:dead::/64", "fd00:dead:0:1::/64", false},
		{"::/0", "10.0.0.0/8", false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ov); i++) {
		struct ipam_cidr x = C(ov[i].a), y = C(ov[i].b);
		CHECK(ipam_cidr_overlap(&x, &y) == ov[i].want, "overlap(%s, %s) == %d", ov[i].a, ov[i].b, ov[i].want);
		CHECK(ipam_cidr_overlap(&y, &x) == ov[i].want, "overlap(%s, %s) == %d", ov[i].b, ov[i].a, ov[i].want);
	}
	struct ipam_addr x = A("10.0.0.2"), y = A("10.0.0.10"), z = A("::1");
	CHECK(ipam_addr_cmp(&x, &y) < 0 && ipam_addr_cmp(&y, &x) > 0 && ipam_addr_cmp(&x, &x) == 0,
	      "numeric order (10.0.0.2 < 10.0.0.10)");
	CHECK(ipam_addr_cmp(&y, &z) < 0, "IPv4 sorts before IPv6");
}

static void test_gateway_broadcast(void)
{
	static const struct {
		const char *net, *gw, *first, *last, *bcast; /* bcast NULL: none */
	} t[] = {
		{"10.89.0.0/24", "10.89.0.1", "10.89.0.1", "10.89.0.254", "10.89.0.255"},
		{"10.89.0.0/16", "10.89.0.1", "10.89.0.1", "10.89.255.254", "10.89.255.255"},
		{"10.89.3.7/16", "10.89.0.1", "10.89.0.1", "10.89.255.254", "10.89.255.255"},
		{"10.89.0.0/30", "10.89.0.1", "10.89.0.1", "10.89.0.2", "10.89.0.3"},
		{"10.89.0.4/31", "10.89.0.4", "10.89.0.4", "10.89.0.5", NULL},
		{"10.89.0.7/32", "10.89.0.7", "10.89.0.7", "10.89.0.7", NULL},
		{"0.0.0.0/0", "0.0.0.1", "0.0.0.1", "255.255.255.254", "255.255.255.255"},
		{"fd00:dead::/64", "fd00:dead::1", "fd00:dead::1", "fd00:dead::ffff:ffff:ffff:ffff", NULL},
		{"fd00::/126", "fd00::1", "fd00::1", "fd00::3", NULL},
		{"fd00::2/127", "fd00::2", "fd00::2", "fd00::3", NULL},
		{"fd00::5/128", "fd00::5", "fd00::5", "fd00::5", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct ipam_cidr c = C(t[i].net);
		struct ipam_addr first, last, b;
		CHECK_STR(astr(ipam_cidr_gateway(&c)), t[i].gw, "gateway of %s", t[i].net);
		ipam_cidr_usable(&c, &first, &last);
		CHECK_STR(astr(first), t[i].first, "first usable of %s", t[i].net);
		CHECK_STR(astr(last), t[i].last, "last usable of %s", t[i].net);
		bool has = ipam_cidr_broadcast(&c, &b);
		CHECK(has == (t[i].bcast != NULL), "%s has %s broadcast", t[i].net, t[i].bcast ? "a" : "no");
		if (has && t[i].bcast)
			CHECK_STR(astr(b), t[i].bcast, "broadcast of %s", t[i].net);
	}
}

/* next_free over addresses given as strings. */
static int next_free(const char *net, const char *gw, const char *taken_csv, const char *last, char out[IPAM_STRLEN])
{
	struct ipam_cidr c = C(net);
	struct ipam_addr taken[64], g, l, r;
	size_t n = 0;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", taken_csv ? taken_csv : "");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		taken[n++] = A(t);
	if (gw)
		g = A(gw);
	if (last)
		l = A(last);
	struct berr *err = NULL;
	int ret = ipam_next_free(&c, gw ? &g : NULL, taken, n, last ? &l : NULL, &r, &err);
	take_err(&err);
	snprintf(out, IPAM_STRLEN, "%s", ret == 0 ? astr(r) : "ERR");
	return ret;
}

static void test_next_free(void)
{
	static const struct {
		const char *net, *gw, *taken, *last, *want; /* want NULL: exhausted */
	} t[] = {
		{"10.89.0.0/24", NULL, NULL, NULL, "10.89.0.2"},
		{"10.89.0.0/24", NULL, "10.89.0.2,10.89.0.3", NULL, "10.89.0.4"},
		{"10.89.0.0/24", NULL, "10.89.0.3,10.89.0.2,10.89.0.2", NULL, "10.89.0.4"}, /* unsorted, dups */
		{"10.89.0.0/24", NULL, "10.89.0.2", "10.89.0.9", "10.89.0.10"},
		{"10.89.0.0/24", NULL, "10.89.0.10", "10.89.0.9", "10.89.0.11"},
		{"10.89.0.0/24", NULL, NULL, "10.89.0.254", "10.89.0.2"},             /* wrap past broadcast */
		{"10.89.0.0/24", NULL, "10.89.0.2,10.89.0.3", "10.89.0.254", "10.89.0.4"},
		{"10.89.0.0/24", NULL, "10.89.0.2", "10.89.0.253", "10.89.0.254"},
		{"10.89.0.0/24", NULL, NULL, "10.90.0.7", "10.89.0.2"},               /* last elsewhere */
		{"10.89.0.0/24", NULL, "10.90.0.2,10.88.0.2", NULL, "10.89.0.2"},     /* foreign taken */
		{"10.89.0.0/24", "10.89.0.2", NULL, NULL, "10.89.0.1"},               /* custom gateway */
		{"10.89.0.0/24", "10.89.0.254", NULL, "10.89.0.253", "10.89.0.1"},
		{"10.89.3.7/24", NULL, NULL, NULL, "10.89.3.2"},                      /* unnormalized */
		{"10.89.0.0/30", NULL, NULL, NULL, "10.89.0.2"},
		{"10.89.0.0/30", NULL, "10.89.0.2", NULL, NULL},
		{"10.89.0.0/30", NULL, "10.89.0.2", "10.89.0.2", NULL},
		{"10.89.0.0/29", NULL, "10.89.0.2,10.89.0.3,10.89.0.4,10.89.0.5,10.89.0.6", "10.89.0.4", NULL},
		{"10.89.0.0/29", NULL, "10.89.0.2,10.89.0.3,10.89.0.5,10.89.0.6", "10.89.0.5", "10.89.0.4"},
		{"10.89.0.4/31", NULL, NULL, NULL, "10.89.0.5"},
		{"10.89.0.4/31", NULL, "10.89.0.5", NULL, NULL},
		{"10.89.0.7/32", NULL, NULL, NULL, NULL},
		{"fd00:dead::/64", NULL, NULL, NULL, "fd00:dead::2"},
		{"fd00:dead::/64", NULL, "fd00:dead::2", "fd00:dead::ffff:ffff:ffff:fffe", "fd00:dead::ffff:ffff:ffff:ffff"},
		{"fd00:dead::/64", NULL, "fd00:dead::2", "fd00:dead::ffff:ffff:ffff:ffff", "fd00:dead::3"},
		{"::/0", NULL, NULL, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::2"},
		{"fd00::/126", NULL, "fd00::2", NULL, "fd00::3"}, /* no broadcast in IPv6 */
		{"fd00::/126", NULL, "fd00::2,fd00::3", NULL, NULL},
		{"fd00::2/127", NULL, NULL, NULL, "fd00::3"},
		{"fd00::5/128", NULL, NULL, NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char got[IPAM_STRLEN];
		int r = next_free(t[i].net, t[i].gw, t[i].taken, t[i].last, got);
		if (t[i].want) {
			CHECK(r == 0, "next free in %s (taken %s, last %s)", t[i].net, t[i].taken ? t[i].taken : "-",
			      t[i].last ? t[i].last : "-");
			CHECK_STR(got, t[i].want, "next free in %s (taken %s, last %s)", t[i].net,
				  t[i].taken ? t[i].taken : "-", t[i].last ? t[i].last : "-");
		} else {
			struct ipam_cidr n = C(t[i].net), nn = ipam_cidr_network(&n);
			char want[128];
			snprintf(want, sizeof(want), "no available IP addresses in network %s", cstr(nn));
			CHECK(r == -1, "%s exhausted (taken %s)", t[i].net, t[i].taken ? t[i].taken : "-");
			CHECK_STR(emsg, want, "exhaustion message for %s", t[i].net);
		}
	}

	/* A full /22 with one hole; the scan wraps to find it. */
	struct ipam_cidr c = C("10.89.0.0/22");
	struct ipam_addr lo, hi, cur, *taken = calloc(1024, sizeof(*taken)), hole = A("10.89.1.77"), r;
	size_t n = 0;
	ipam_cidr_usable(&c, &lo, &hi);
	struct ipam_addr gw = ipam_cidr_gateway(&c);
	for (cur = lo;; ) {
		if (!ipam_addr_equal(&cur, &gw) && !ipam_addr_equal(&cur, &hole))
			taken[n++] = cur;
		if (ipam_addr_equal(&cur, &hi))
			break;
		for (int i = 3; i >= 0 && ++cur.b[i] == 0; i--)
			;
	}
	CHECK(n == 1020, "a /22 has 1022 usable addresses: all but the gateway and the hole taken (%zu)", n);
	struct ipam_addr last = A("10.89.3.200");
	struct berr *err = NULL;
	CHECK(ipam_next_free(&c, NULL, taken, n, &last, &r, &err) == 0 && ipam_addr_equal(&r, &hole),
	      "full /22: wraps around to the one hole (%s)", astr(r));
	take_err(&err);
	taken[n++] = hole;
	CHECK(ipam_next_free(&c, NULL, taken, n, &last, &r, &err) == -1, "full /22 exhausted");
	take_err(&err);
	CHECK_STR(emsg, "no available IP addresses in network 10.89.0.0/22", "full /22 message");
	free(taken);
}

/* ---- pools -------------------------------------------------------------- */

static int pick(const struct ipam_pool *pools, size_t np, int family, const char *used_csv, char out[IPAM_STRLEN])
{
	struct ipam_cidr used[32];
	size_t n = 0;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", used_csv ? used_csv : "");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		used[n++] = C(t);
	struct ipam_cidr r;
	struct berr *err = NULL;
	int ret = ipam_pool_pick(pools, np, family, used, n, &r, &err);
	take_err(&err);
	snprintf(out, IPAM_STRLEN, "%s", ret == 0 ? cstr(r) : "ERR");
	return ret;
}

static void test_pools(void)
{
	struct ipam_pool def[IPAM_POOL_COUNT];
	struct berr *err = NULL;
	CHECK(ipam_default_pools(def, &err) == 0, "default pools");
	take_err(&err);
	CHECK_STR(cstr(def[IPAM_POOL_DEFAULT].base), "10.80.0.0/14", "default networks' pool");
	CHECK(def[IPAM_POOL_DEFAULT].size == 20, "default networks get a /20");
	CHECK_STR(cstr(def[IPAM_POOL_USER].base), "10.84.0.0/14", "user networks' pool");
	CHECK(def[IPAM_POOL_USER].size == 24, "user networks get a /24");
	struct ipam_pool *user = &def[IPAM_POOL_USER];

	static const struct {
		const char *used, *want; /* want NULL: none */
	} t[] = {
		{NULL, "10.84.0.0/24"},
		{"10.84.0.0/24", "10.84.1.0/24"},
		{"10.84.1.0/24", "10.84.0.0/24"},
		{"10.84.0.0/24,10.84.1.0/24", "10.84.2.0/24"},
		{"10.84.1.0/24,10.84.0.0/24", "10.84.2.0/24"},
		{"10.84.0.5/32", "10.84.1.0/24"},                            /* a host address */
		{"10.84.0.5/24", "10.84.1.0/24"},                            /* address with prefix */
		{"10.84.0.0/24,10.84.1.128/25,10.84.2.0/23", "10.84.4.0/24"}, /* smaller and larger */
		{"10.84.0.0/16", "10.85.0.0/24"},
		{"10.84.0.0/15", "10.86.0.0/24"},
		{"10.84.0.0/16,10.85.0.0/16,10.86.0.0/24", "10.86.1.0/24"},
		{"10.80.0.0/14", "10.84.0.0/24"},                            /* the default networks' pool */
		{"0.0.0.0/0", "10.84.0.0/24"},                               /* default route ignored */
		{"fd00::/8,192.168.1.0/24", "10.84.0.0/24"},                 /* other families ignored */
		{"10.84.0.0/14", NULL},
		{"10.0.0.0/8", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char got[IPAM_STRLEN];
		int r = pick(user, 1, AF_INET, t[i].used, got);
		if (t[i].want) {
			CHECK(r == 0, "pick with used %s", t[i].used ? t[i].used : "-");
			CHECK_STR(got, t[i].want, "pick with used %s", t[i].used ? t[i].used : "-");
		} else {
			CHECK(r == -1, "no subnet left with used %s", t[i].used);
			CHECK_STR(emsg, "no available non-overlapping IPv4 subnet in the address pools",
				  "pool exhaustion message");
		}
	}
	char dg[IPAM_STRLEN];
	CHECK(pick(&def[IPAM_POOL_DEFAULT], 1, AF_INET, NULL, dg) == 0, "default pool pick");
	CHECK_STR(dg, "10.80.0.0/20", "first default network subnet");
	CHECK(pick(&def[IPAM_POOL_DEFAULT], 1, AF_INET, "10.80.0.0/20,10.80.17.0/24", dg) == 0, "default pool pick 2");
	CHECK_STR(dg, "10.80.32.0/20", "default networks skip overlapping /20s");

	/* The 256th /24 of 10.84.0.0/16 is taken with 255 used entries. */
	struct ipam_cidr used[300];
	size_t n = 0;
	for (int i = 0; i < 256; i++) {
		char s[32];
		snprintf(s, sizeof(s), "10.84.%d.0/24", (i * 7) % 256); /* a permutation, unsorted */
		used[n++] = C(s);
	}
	struct ipam_cidr r;
	CHECK(ipam_pool_pick(user, 1, AF_INET, used, n, &r, &err) == 0, "pick after 256 used");
	take_err(&err);
	CHECK_STR(cstr(r), "10.85.0.0/24", "full 10.84.0.0/16 moves on to 10.85.0.0/24");

	/* Configurable sizes and IPv6. */
	struct ipam_pool p[3];
	CHECK(ipam_pool_parse("10.0.0.0/8", 16, &p[0], &err) == 0, "pool 10.0.0.0/8 size 16");
	take_err(&err);
	CHECK(ipam_pool_parse("fd00::/8", 64, &p[1], &err) == 0, "pool fd00::/8 size 64");
	take_err(&err);
	CHECK(ipam_pool_parse("255.255.255.3/24", 25, &p[2], &err) == 0, "pool 255.255.255.0/24 size 25");
	take_err(&err);
	CHECK_STR(cstr(p[2].base), "255.255.255.0/24", "pool base normalized");
	char got[IPAM_STRLEN];
	CHECK(pick(p, 1, 0, "10.0.3.0/24", got) == 0, "size-16 pool");
	CHECK_STR(got, "10.1.0.0/16", "a /24 blocks the whole /16");
	CHECK(pick(p, 1, 0, "10.0.0.0/15,10.3.0.0/16", got) == 0, "size-16 pool, two used");
	CHECK_STR(got, "10.2.0.0/16", "size-16 pool, two used");
	CHECK(pick(p, 2, AF_INET6, NULL, got) == 0, "IPv6 pool");
	CHECK_STR(got, "fd00::/64", "IPv6 pool, nothing used");
	CHECK(pick(p, 2, AF_INET6, "fd00::/64", got) == 0, "IPv6 pool, one used");
	CHECK_STR(got, "fd00:0:0:1::/64", "IPv6 pool, one used");
	CHECK(pick(p, 2, AF_INET6, "fd00::/16,fd01::/16,fd02::1/128", got) == 0, "IPv6 pool, big ranges used");
	CHECK_STR(got, "fd02:0:0:1::/64", "IPv6 pool skips 2^49 subnets at once");
	CHECK(pick(p, 2, 0, "10.0.0.0/8", got) == 0, "any family");
	CHECK_STR(got, "fd00::/64", "any family: on to the IPv6 pool");
	CHECK(pick(p + 2, 1, 0, "255.255.255.0/25", got) == 0, "pool at the top of the address space");
	CHECK_STR(got, "255.255.255.128/25", "pool at the top of the address space");
	CHECK(pick(p + 2, 1, 0, "255.255.255.0/25,255.255.255.128/25", got) == -1, "top pool exhausted, no wrap");
	CHECK(pick(p + 2, 1, AF_INET6, NULL, got) == -1, "no pool of the family");
	CHECK_STR(emsg, "no available non-overlapping IPv6 subnet in the address pools", "IPv6 exhaustion message");

	struct ipam_pool bad;
	CHECK(ipam_pool_parse("10.89.0.0/16", 8, &bad, &err) == -1, "pool size smaller than base");
	take_err(&err);
	CHECK(strstr(emsg, "10.89.0.0/16") != NULL, "pool error names the pool: %s", emsg);
	CHECK(ipam_pool_parse("10.89.0.0/16", 33, &bad, &err) == -1, "pool size /33");
	take_err(&err);
	CHECK(ipam_pool_parse("10.89.0.0/66", 24, &bad, &err) == -1, "pool with a bad base");
	take_err(&err);
	CHECK_STR(emsg, "invalid address pool: invalid CIDR \"10.89.0.0/66\"", "pool base error message");
}

/* ---- persistent allocation ---------------------------------------------- */

static int tmpfd = -1;

static int alloc(const char *net, const char *subnet, const char *gw, const char *owner, const char *want,
		 char ip[IPAM_STRLEN], int *code)
{
	struct berr *err = NULL;
	int r = ipam_alloc(tmpfd, net, subnet, gw, owner, want, ip, &err);
	if (code)
		*code = err ? err->code : -1;
	if (r < 0)
		snprintf(ip, IPAM_STRLEN, "ERR");
	take_err(&err);
	return r;
}

static void test_alloc_basic(void)
{
	char ip[IPAM_STRLEN];
	int code;
	CHECK(alloc("n1", "10.89.0.0/29", NULL, "c1", NULL, ip, NULL) == 0, "first allocation");
	CHECK_STR(ip, "10.89.0.2", "first allocation skips network and gateway");
	CHECK(alloc("n1", "10.89.0.0/29", NULL, "c2", NULL, ip, NULL) == 0, "second");
	CHECK_STR(ip, "10.89.0.3", "second");
	CHECK(alloc("n1", "10.89.0.0/29", NULL, "c3", NULL, ip, NULL) == 0, "third");
	CHECK_STR(ip, "10.89.0.4", "third");
	struct berr *err = NULL;
	CHECK(ipam_release(tmpfd, "n1", "10.89.0.3", &err) == 1, "release 10.89.0.3");
	take_err(&err);
	CHECK(ipam_release(tmpfd, "n1", "10.89.0.3", &err) == 0, "release twice is harmless");
	take_err(&err);
	CHECK(alloc("n1", "10.89.0.0/29", NULL, "c4", NULL, ip, NULL) == 0, "after a release");
	CHECK_STR(ip, "10.89.0.5", "a released address is not reused at once");
	CHECK(alloc("n1", "10.89.0.0/29", NULL, "c5", NULL, ip, NULL) == 0, "to the end");
	CHECK_STR(ip, "10.89.0.6", "up to the last usable (.7 is the broadcast)");
	CHECK(alloc("n1", "10.89.0.0/29", NULL, "c6", NULL, ip, NULL) == 0, "wrap-around");
	CHECK_STR(ip, "10.89.0.3", "wraps around to the released address");
	CHECK(alloc("n1", "10.89.0.0/29", NULL, "c7", NULL, ip, &code) == -1 && code == BERR_CONFLICT, "full");
	CHECK_STR(emsg, "no available IP addresses in network 10.89.0.0/29", "exhaustion message");
	CHECK(ipam_release(tmpfd, "n1", "10.89.0.2", &err) == 1, "release the first");
	take_err(&err);
	CHECK(alloc("n1", "10.89.0.0/29", NULL, "c7", NULL, ip, NULL) == 0, "after freeing one");
	CHECK_STR(ip, "10.89.0.2", "the only free one");

	struct ipam_list l;
	CHECK(ipam_list(tmpfd, "n1", &l, &err) == 0, "list");
	take_err(&err);
	CHECK(l.n == 5, "5 leases (%zu)", l.n);
	CHECK_STR(l.subnet, "10.89.0.0/29", "list subnet");
	CHECK_STR(l.gateway, "10.89.0.1", "list gateway");
	CHECK_STR(l.last, "10.89.0.2", "list last");
	static const char *want_ip[] = {"10.89.0.2", "10.89.0.3", "10.89.0.4", "10.89.0.5", "10.89.0.6"};
	static const char *want_owner[] = {"c7", "c6", "c3", "c4", "c5"};
	for (size_t i = 0; i < l.n && i < 5; i++) {
		CHECK_STR(l.leases[i].ip, want_ip[i], "lease %zu address (sorted)", i);
		CHECK_STR(l.leases[i].owner, want_owner[i], "lease %zu owner", i);
	}
	ipam_list_free(&l);

	/* The /30 of the issue. */
	CHECK(alloc("n30", "10.89.0.0/30", NULL, "a", NULL, ip, NULL) == 0, "/30 first");
	CHECK_STR(ip, "10.89.0.2", "/30 has room for one container");
	CHECK(alloc("n30", "10.89.0.0/30", NULL, "b", NULL, ip, NULL) == -1, "/30 second");
	CHECK_STR(emsg, "no available IP addresses in network 10.89.0.0/30", "/30 exhaustion message");

	/* IPv6 */
	CHECK(alloc("n6", "fd00:dead::/64", NULL, "a", NULL, ip, NULL) == 0, "IPv6 allocation");
	CHECK_STR(ip, "fd00:dead::2", "IPv6 allocation");
	CHECK(alloc("n6", "fd00:dead::/64", NULL, "b", "FD00:DEAD::00ff", ip, NULL) == 0, "IPv6 exact");
	CHECK_STR(ip, "fd00:dead::ff", "exact IPv6 address, canonical");
	CHECK(alloc("n6", "fd00:dead::/64", NULL, "c", "fd00:dead::ff", ip, &code) == -1 && code == BERR_CONFLICT,
	      "exact IPv6 in use");
	CHECK(alloc("n6", "fd00:dead::/64", NULL, "d", "fd00:dead::ffff:ffff:ffff:ffff", ip, NULL) == 0,
	      "last IPv6 address is usable");
	CHECK(ipam_release(tmpfd, "n6", "fd00:dead:0:0::ff", &err) == 1, "release IPv6 by a non-canonical form");
	take_err(&err);
}

static void test_alloc_exact(void)
{
	char ip[IPAM_STRLEN];
	int code;
	const char *net = "10.89.5.0/24";
	CHECK(alloc("ex", net, NULL, "a", "10.89.5.77", ip, NULL) == 0, "--ip 10.89.5.77");
	CHECK_STR(ip, "10.89.5.77", "--ip honoured");
	CHECK(alloc("ex", net, NULL, "b", "10.89.5.77", ip, &code) == -1 && code == BERR_CONFLICT, "--ip taken");
	CHECK_STR(emsg, "Address already in use", "taken message");
	CHECK(alloc("ex", net, NULL, "b", "10.89.5.1", ip, &code) == -1 && code == BERR_CONFLICT, "--ip gateway");
	CHECK_STR(emsg, "Address already in use", "gateway message");
	CHECK(alloc("ex", net, NULL, "b", "10.89.6.1", ip, &code) == -1 && code == BERR_INVALID, "--ip outside");
	CHECK_STR(emsg, "invalid IP address 10.89.6.1: not in subnet 10.89.5.0/24", "outside message");
	CHECK(alloc("ex", net, NULL, "b", "10.89.5.0", ip, &code) == -1 && code == BERR_INVALID, "--ip network");
	CHECK(strstr(emsg, "network address") != NULL, "network address message: %s", emsg);
	CHECK(alloc("ex", net, NULL, "b", "10.89.5.255", ip, &code) == -1 && code == BERR_INVALID, "--ip broadcast");
	CHECK(strstr(emsg, "broadcast address") != NULL, "broadcast message: %s", emsg);
	CHECK(alloc("ex", net, NULL, "b", "10.89.5.300", ip, &code) == -1 && code == BERR_INVALID, "--ip garbage");
	CHECK_STR(emsg, "invalid IP address \"10.89.5.300\"", "garbage message");
	CHECK(alloc("ex", net, NULL, "b", "fd00::1", ip, &code) == -1 && code == BERR_INVALID, "--ip other family");
	/* An explicit address does not move the serial cursor. */
	CHECK(alloc("ex", net, NULL, "c", NULL, ip, NULL) == 0, "automatic after --ip");
	CHECK_STR(ip, "10.89.5.2", "automatic starts at the beginning");
	CHECK(alloc("ex", net, NULL, "d", "10.89.5.3", ip, NULL) == 0, "--ip the next one");
	CHECK(alloc("ex", net, NULL, "e", NULL, ip, NULL) == 0, "automatic skips it");
	CHECK_STR(ip, "10.89.5.4", "automatic skips an explicit address");
	/* Unnormalized subnet argument is the same network. */
	CHECK(alloc("ex", "10.89.5.9/24", NULL, "f", NULL, ip, NULL) == 0, "subnet with host bits");
	CHECK_STR(ip, "10.89.5.5", "subnet with host bits");

	/* Custom gateway. */
	CHECK(alloc("gw", "10.89.7.0/24", "10.89.7.254", "a", NULL, ip, NULL) == 0, "custom gateway");
	CHECK_STR(ip, "10.89.7.1", "custom gateway frees .1");
	CHECK(alloc("gw", "10.89.7.0/24", NULL, "b", NULL, ip, NULL) == 0, "gateway NULL uses the recorded one");
	CHECK_STR(ip, "10.89.7.2", "second with custom gateway");
	CHECK(alloc("gw", "10.89.7.0/24", "10.89.7.254", "b", "10.89.7.254", ip, &code) == -1 && code == BERR_CONFLICT,
	      "custom gateway is in use");
	CHECK(alloc("gw", "10.89.7.0/24", "10.89.7.1", "b", NULL, ip, &code) == -1 && code == BERR_CONFLICT,
	      "different gateway refused");
	CHECK(strstr(emsg, "gateway 10.89.7.254") != NULL, "gateway mismatch message: %s", emsg);
	CHECK(alloc("gw", "10.89.8.0/24", NULL, "b", NULL, ip, &code) == -1 && code == BERR_CONFLICT,
	      "different subnet refused");
	CHECK_STR(emsg, "ipam-gw.json records subnet 10.89.7.0/24, not 10.89.8.0/24", "subnet mismatch message");
	CHECK(alloc("gw2", "10.89.7.0/24", "10.89.8.1", "b", NULL, ip, &code) == -1 && code == BERR_INVALID,
	      "gateway outside the subnet");
	CHECK(alloc("gw2", "10.89.7.0/24", "10.89.7.255", "b", NULL, ip, &code) == -1 && code == BERR_INVALID,
	      "gateway on the broadcast address");
	CHECK(alloc("gw2", "10.89.7.0/24", "bogus", "b", NULL, ip, &code) == -1 && code == BERR_INVALID,
	      "gateway garbage");
	CHECK_STR(emsg, "invalid gateway: invalid IP address \"bogus\"", "gateway garbage message");
	CHECK(faccessat(tmpfd, "ipam-gw2.json", F_OK, 0) < 0, "a refused first allocation writes nothing");

	/* Bad arguments. */
	CHECK(alloc("../x", "10.89.7.0/24", NULL, "a", NULL, ip, &code) == -1 && code == BERR_INVALID, "bad net id");
	CHECK_STR(emsg, "invalid network ID \"../x\"", "bad net id message");
	CHECK(alloc(".x", "10.89.7.0/24", NULL, "a", NULL, ip, &code) == -1, "net id starting with a dot");
	CHECK(alloc("", "10.89.7.0/24", NULL, "a", NULL, ip, &code) == -1, "empty net id");
	CHECK(alloc("x", "10.89.7.0/24", NULL, "", NULL, ip, &code) == -1 && code == BERR_INVALID, "empty owner");
	CHECK(alloc("x", "10.89.7.0/24", NULL, "a\nb", NULL, ip, &code) == -1, "owner with a newline");
	CHECK(alloc("x", "10.0.0.0/33", NULL, "a", NULL, ip, &code) == -1 && code == BERR_INVALID, "bad subnet");
	CHECK_STR(emsg, "invalid CIDR \"10.0.0.0/33\"", "bad subnet message");
	struct berr *err = NULL;
	CHECK(ipam_release(tmpfd, "ex", "nope", &err) == -1, "release garbage");
	take_err(&err);
	CHECK(ipam_release(tmpfd, "never", "10.0.0.2", &err) == 0, "release on a network without a file");
	take_err(&err);
	struct ipam_list l;
	CHECK(ipam_list(tmpfd, "never", &l, &err) == 0 && l.n == 0 && !l.subnet[0], "list without a file");
	take_err(&err);
	ipam_list_free(&l);
}

static void test_release_owner(void)
{
	char ip[IPAM_STRLEN];
	const char *net = "10.89.9.0/24";
	for (int i = 0; i < 3; i++)
		alloc("own", net, NULL, "crashed", NULL, ip, NULL);
	alloc("own", net, NULL, "alive", NULL, ip, NULL);
	alloc("own", net, NULL, "crashed", "10.89.9.100", ip, NULL);
	struct berr *err = NULL;
	CHECK(ipam_release_owner(tmpfd, "own", "crashed", &err) == 4, "release_owner frees all 4");
	take_err(&err);
	CHECK(ipam_release_owner(tmpfd, "own", "crashed", &err) == 0, "again: nothing");
	take_err(&err);
	CHECK(ipam_release_owner(tmpfd, "nofile", "crashed", &err) == 0, "no file: nothing");
	take_err(&err);
	struct ipam_list l;
	CHECK(ipam_list(tmpfd, "own", &l, &err) == 0 && l.n == 1, "one lease left");
	take_err(&err);
	if (l.n == 1) {
		CHECK_STR(l.leases[0].ip, "10.89.9.5", "the survivor's address");
		CHECK_STR(l.leases[0].owner, "alive", "the survivor");
	}
	ipam_list_free(&l);
	CHECK(alloc("own", net, NULL, "new", NULL, ip, NULL) == 0, "alloc after release_owner");
	CHECK_STR(ip, "10.89.9.6", "continues after the last one");

	CHECK(ipam_remove(tmpfd, "own", &err) == 0, "remove");
	take_err(&err);
	CHECK(faccessat(tmpfd, "ipam-own.json", F_OK, 0) < 0 && faccessat(tmpfd, "ipam-own.lock", F_OK, 0) < 0,
	      "remove deletes the file and the lock");
	CHECK(ipam_remove(tmpfd, "own", &err) == 0, "remove twice");
	take_err(&err);
	CHECK(alloc("own", "10.89.10.0/24", NULL, "x", NULL, ip, NULL) == 0, "a new network under the same ID");
	CHECK_STR(ip, "10.89.10.2", "fresh after remove");
}

static void test_corrupt(void)
{
	static const struct {
		const char *content, *msg;
	} t[] = {
		{"{\"subnet\": ", "corrupt IPAM file ipam-bad.json: invalid JSON"},
		{"[]", "corrupt IPAM file ipam-bad.json: not a JSON object"},
		{"{}", "corrupt IPAM file ipam-bad.json: no \"subnet\""},
		{"{\"subnet\":\"10.0.0.0/33\",\"gateway\":\"10.0.0.1\"}", "corrupt IPAM file ipam-bad.json: invalid subnet \"10.0.0.0/33\""},
		{"{\"subnet\":\"10.0.0.0/24\"}", "corrupt IPAM file ipam-bad.json: no \"gateway\""},
		{"{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.1.0.1\"}", "corrupt IPAM file ipam-bad.json: invalid gateway \"10.1.0.1\""},
		{"{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\",\"last\":5}", "corrupt IPAM file ipam-bad.json: invalid \"last\""},
		{"{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\",\"allocated\":[]}", "corrupt IPAM file ipam-bad.json: \"allocated\" is not an object"},
		{"{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\",\"allocated\":{\"10.9.0.2\":\"x\"}}", "corrupt IPAM file ipam-bad.json: invalid allocated address \"10.9.0.2\""},
		{"{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\",\"allocated\":{\"10.0.0.2\":1}}", "corrupt IPAM file ipam-bad.json: invalid owner of \"10.0.0.2\""},
		{"{\"subnet\":\"fd00::/64\",\"gateway\":\"fd00::1\",\"allocated\":{\"fd00::2\":\"a\",\"FD00::2\":\"b\"}}", "corrupt IPAM file ipam-bad.json: address allocated twice: \"fd00::2\""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct berr *err = NULL;
		CHECK(fs_write_atomic_at(tmpfd, "ipam-bad.json", t[i].content, strlen(t[i].content), 0600, false, &err) == 0,
		      "write corrupt file %zu", i);
		take_err(&err);
		char ip[IPAM_STRLEN];
		CHECK(alloc("bad", "10.0.0.0/24", NULL, "a", NULL, ip, NULL) == -1, "alloc on corrupt file: %s", t[i].content);
		CHECK(!strncmp(emsg, t[i].msg, strlen(t[i].msg)), "error names the file: %s", emsg);
		struct ipam_list l;
		CHECK(ipam_list(tmpfd, "bad", &l, &err) == -1, "list on corrupt file %zu", i);
		take_err(&err);
		CHECK(ipam_release(tmpfd, "bad", "10.0.0.2", &err) == -1, "release on corrupt file %zu", i);
		take_err(&err);
	}
	/* A file that is valid but hand-written: non-canonical keys, no "last". */
	const char *ok = "{\"subnet\":\"fd00::/64\",\"gateway\":\"fd00::1\",\"allocated\":{\"FD00:0::2\":\"a\"}}";
	struct berr *err = NULL;
	fs_write_atomic_at(tmpfd, "ipam-hand.json", ok, strlen(ok), 0600, false, &err);
	take_err(&err);
	char ip[IPAM_STRLEN];
	CHECK(alloc("hand", "fd00::/64", NULL, "b", NULL, ip, NULL) == 0, "hand-written file");
	CHECK_STR(ip, "fd00::3", "non-canonical key counts as taken");
	CHECK(ipam_release(tmpfd, "hand", "fd00::2", &err) == 1, "release a non-canonical key");
	take_err(&err);

	/* Size bound: a sparse 17 MiB file is refused without reading it. */
	int fd = openat(tmpfd, "ipam-big.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, IPAM_FILE_MAX + 1) == 0, "make a big file");
	if (fd >= 0)
		close(fd);
	CHECK(alloc("big", "10.0.0.0/24", NULL, "a", NULL, ip, NULL) == -1, "too large a file");
	CHECK(strstr(emsg, "ipam-big.json is too large") != NULL, "too large message: %s", emsg);
}

/* 20 processes allocate at the same moment; every address differs. */
static void test_concurrent(void)
{
	enum { N = 20 };
	int go[2], res[2];
	if (pipe(go) < 0 || pipe(res) < 0) {
		CHECK(0, "pipes");
		return;
	}
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(go[1]);
			close(res[0]);
			char c;
			if (read(go[0], &c, 1) < 0) /* wait for the start (EOF) */
				_exit(3);
			char owner[32], ip[IPAM_STRLEN], line[128];
			snprintf(owner, sizeof(owner), "ctr%02d", i);
			struct berr *err = NULL;
			int r = ipam_alloc(tmpfd, "conc", "10.89.0.0/24", NULL, owner, NULL, ip, &err);
			int n = snprintf(line, sizeof(line), "%s %s\n", owner, r == 0 ? ip : (err ? err->msg : "?"));
			berr_free(err);
			/* One short write to a pipe is atomic. */
			_exit(write(res[1], line, (size_t)n) == n && r == 0 ? 0 : 1);
		}
		if (pids[i] < 0) {
			CHECK(0, "fork");
			return;
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]); /* all children start now */
	char buf[4096];
	size_t len = 0;
	ssize_t k;
	while ((k = read(res[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)k;
	buf[len] = 0;
	close(res[0]);
	int ok = 0;
	for (int i = 0; i < N; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	CHECK(ok == N, "all %d children allocated (%d)", N, ok);
	char ips[N][IPAM_STRLEN];
	int n = 0;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l && n < N; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		if (sp)
			snprintf(ips[n++], IPAM_STRLEN, "%s", sp + 1);
	}
	CHECK(n == N, "collected %d addresses", n);
	int dups = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (!strcmp(ips[i], ips[j]))
				dups++;
	CHECK(dups == 0, "all %d addresses distinct", n);
	/* Serial allocation: exactly 10.89.0.2 .. 10.89.0.21. */
	int inrange = 0;
	for (int i = 0; i < n; i++) {
		struct ipam_addr a;
		struct berr *err = NULL;
		if (ipam_addr_parse(ips[i], &a, &err) == 0 && a.b[0] == 10 && a.b[1] == 89 && a.b[2] == 0 &&
		    a.b[3] >= 2 && a.b[3] <= 21)
			inrange++;
		berr_free(err);
	}
	CHECK(inrange == N, "the addresses are 10.89.0.2-10.89.0.21");
	struct ipam_list l;
	struct berr *err = NULL;
	CHECK(ipam_list(tmpfd, "conc", &l, &err) == 0 && l.n == N, "the file has %d leases (%zu)", N, l.n);
	take_err(&err);
	ipam_list_free(&l);
	/* No temporary files are left behind. */
	int stray = 0;
	DIR *d = fdopendir(dup(tmpfd));
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, ".tmp-"))
			stray++;
	if (d)
		closedir(d);
	CHECK(stray == 0, "no temporary files left");
}

int main(void)
{
	test_parse();
	test_normalize();
	test_contains_overlap();
	test_gateway_broadcast();
	test_next_free();
	test_pools();

	char dir[] = "/tmp/berth-ipam-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		UNIT_END();
	}
	tmpfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	test_alloc_basic();
	test_alloc_exact();
	test_release_owner();
	test_corrupt();
	test_concurrent();
	close(tmpfd);
	CHECK(fs_rm_rf_at(AT_FDCWD, dir) == 0, "remove %s", dir);
	UNIT_END();
}
