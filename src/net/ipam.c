#include "net/ipam.h"
#include "util/fs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- parsing and printing ---------------------------------------------- */

int ipam_family_bits(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

static int addr_parse(const char *s, struct ipam_addr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!s || !*s || strlen(s) >= IPAM_STRLEN)
		return -1;
	/* inet_pton is strict enough: AF_INET takes exactly four decimal
	 * parts without leading zeros, AF_INET6 no zone and no spaces. */
	if (strchr(s, ':')) {
		ret->family = AF_INET6;
		return inet_pton(AF_INET6, s, ret->b) == 1 ? 0 : -1;
	}
	ret->family = AF_INET;
	return inet_pton(AF_INET, s, ret->b) == 1 ? 0 : -1;
}

int ipam_addr_parse(const char *s, struct ipam_addr *ret, struct berr **err)
{
	if (addr_parse(s, ret) < 0)
		return berr_setc(err, BERR_INVALID, "invalid IP address \"%s\"", s ? s : "");
	return 0;
}

static int cidr_parse(const char *s, struct ipam_cidr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!s)
		return -1;
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || (size_t)(slash - s) >= IPAM_STRLEN)
		return -1;
	char a[IPAM_STRLEN];
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = 0;
	if (addr_parse(a, &ret->addr) < 0)
		return -1;
	/* The prefix: 1-3 decimal digits, no sign, no leading zero. */
	const char *p = slash + 1;
	size_t n = strlen(p);
	if (n < 1 || n > 3 || (n > 1 && p[0] == '0'))
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v > ipam_family_bits(ret->addr.family))
		return -1;
	ret->prefix = v;
	return 0;
}

int ipam_cidr_parse(const char *s, struct ipam_cidr *ret, struct berr **err)
{
	if (cidr_parse(s, ret) < 0)
		return berr_setc(err, BERR_INVALID, "invalid CIDR \"%s\"", s ? s : "");
	return 0;
}

int ipam_cidr_parse_network(const char *s, struct ipam_cidr *ret, struct berr **err)
{
	if (ipam_cidr_parse(s, ret, err) < 0)
		return -1;
	*ret = ipam_cidr_network(ret);
	return 0;
}

const char *ipam_addr_str(const struct ipam_addr *a, char buf[IPAM_STRLEN])
{
	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->b, buf, IPAM_STRLEN))
		snprintf(buf, IPAM_STRLEN, "?");
	return buf;
}

const char *ipam_cidr_str(const struct ipam_cidr *c, char buf[IPAM_STRLEN])
{
	ipam_addr_str(&c->addr, buf);
	size_t n = strlen(buf);
	snprintf(buf + n, IPAM_STRLEN - n, "/%d", c->prefix);
	return buf;
}

/* ---- arithmetic ---------------------------------------------------------
 * Addresses are big-endian byte strings of 4 or 16 bytes; everything works
 * a byte at a time so no 128-bit integer type is needed. */

static int nbytes(const struct ipam_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}

bool ipam_addr_equal(const struct ipam_addr *a, const struct ipam_addr *b)
{
	return a->family == b->family && !memcmp(a->b, b->b, (size_t)nbytes(a));
}

int ipam_addr_cmp(const struct ipam_addr *a, const struct ipam_addr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	int r = memcmp(a->b, b->b, (size_t)nbytes(a));
	return r < 0 ? -1 : r > 0;
}

/* Clear (set=false) or set (set=true) the bits after prefix. */
static struct ipam_addr host_bits(const struct ipam_addr *a, int prefix, bool set)
{
	struct ipam_addr r = *a;
	int n = nbytes(a);
	for (int i = 0; i < n; i++) {
		int keep = prefix - 8 * i; /* network bits in this byte */
		if (keep >= 8)
			continue;
		unsigned char m = keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
		r.b[i] = set ? (unsigned char)(r.b[i] | ~m) : (unsigned char)(r.b[i] & m);
	}
	return r;
}

/* a += 1 / a -= 1 within the family's width; false on wrap-around. */
static bool addr_inc(struct ipam_addr *a)
{
	for (int i = nbytes(a) - 1; i >= 0; i--)
		if (++a->b[i] != 0)
			return true;
	return false;
}

static bool addr_dec(struct ipam_addr *a)
{
	for (int i = nbytes(a) - 1; i >= 0; i--)
		if (a->b[i]-- != 0)
			return true;
	return false;
}

struct ipam_cidr ipam_cidr_network(const struct ipam_cidr *c)
{
	struct ipam_cidr r = {host_bits(&c->addr, c->prefix, false), c->prefix};
	return r;
}

struct ipam_addr ipam_cidr_last(const struct ipam_cidr *c)
{
	return host_bits(&c->addr, c->prefix, true);
}

bool ipam_cidr_contains(const struct ipam_cidr *c, const struct ipam_addr *a)
{
	if (c->addr.family != a->family)
		return false;
	struct ipam_addr x = host_bits(a, c->prefix, false), y = host_bits(&c->addr, c->prefix, false);
	return ipam_addr_equal(&x, &y);
}

bool ipam_cidr_overlap(const struct ipam_cidr *a, const struct ipam_cidr *b)
{
	if (a->addr.family != b->addr.family)
		return false;
	/* Two prefixes overlap iff the shorter one contains the other. */
	return a->prefix <= b->prefix ? ipam_cidr_contains(a, &b->addr) : ipam_cidr_contains(b, &a->addr);
}

bool ipam_cidr_broadcast(const struct ipam_cidr *c, struct ipam_addr *ret)
{
	if (c->addr.family != AF_INET || c->prefix > 30)
		return false;
	*ret = ipam_cidr_last(c);
	return true;
}

void ipam_cidr_usable(const struct ipam_cidr *c, struct ipam_addr *first, struct ipam_addr *last)
{
	int hbits = ipam_family_bits(c->addr.family) - c->prefix;
	*first = host_bits(&c->addr, c->prefix, false);
	*last = host_bits(&c->addr, c->prefix, true);
	if (hbits >= 2) {
		addr_inc(first);
		if (c->addr.family == AF_INET)
			addr_dec(last);
	}
}

struct ipam_addr ipam_cidr_gateway(const struct ipam_cidr *c)
{
	struct ipam_addr first, last;
	ipam_cidr_usable(c, &first, &last);
	return first;
}

/* Number of usable addresses, saturating at UINT64_MAX. */
static uint64_t usable_count(const struct ipam_cidr *c)
{
	int hbits = ipam_family_bits(c->addr.family) - c->prefix;
	if (hbits >= 64)
		return UINT64_MAX;
	uint64_t n = (uint64_t)1 << hbits;
	if (hbits >= 2)
		n -= c->addr.family == AF_INET ? 2 : 1;
	return n;
}

static int addr_cmpv(const void *a, const void *b)
{
	return ipam_addr_cmp(a, b);
}

int ipam_next_free(const struct ipam_cidr *subnet, const struct ipam_addr *gateway,
		   const struct ipam_addr *taken, size_t ntaken, const struct ipam_addr *last,
		   struct ipam_addr *ret, struct berr **err)
{
	struct ipam_cidr net = ipam_cidr_network(subnet);
	struct ipam_addr lo, hi, gw = gateway ? *gateway : ipam_cidr_gateway(&net);
	ipam_cidr_usable(&net, &lo, &hi);

	/* Sorted copy of the taken addresses of this subnet, for bsearch. */
	_cleanup_free_ struct ipam_addr *sorted = NULL;
	size_t ns = 0;
	if (ntaken) {
		sorted = malloc(ntaken * sizeof(*sorted));
		if (!sorted)
			return berr_set(err, ENOMEM, "allocating an IP address");
		for (size_t i = 0; i < ntaken; i++)
			if (ipam_cidr_contains(&net, &taken[i]))
				sorted[ns++] = taken[i];
		qsort(sorted, ns, sizeof(*sorted), addr_cmpv);
	}

	struct ipam_addr cand = lo;
	if (last && ipam_cidr_contains(&net, last) && ipam_addr_cmp(last, &lo) >= 0 &&
	    ipam_addr_cmp(last, &hi) < 0) {
		cand = *last;
		addr_inc(&cand);
	}
	/* Of ns + 2 consecutive distinct candidates at most ns + 1 (the
	 * taken ones and the gateway) are blocked, so the scan is bounded by
	 * that, or by the subnet's size when it is smaller. */
	uint64_t limit = usable_count(&net);
	if ((uint64_t)ns + 2 < limit)
		limit = (uint64_t)ns + 2;
	for (uint64_t i = 0; i < limit; i++) {
		if (!ipam_addr_equal(&cand, &gw) &&
		    !(ns && bsearch(&cand, sorted, ns, sizeof(*sorted), addr_cmpv))) {
			*ret = cand;
			return 0;
		}
		if (ipam_addr_equal(&cand, &hi))
			cand = lo;
		else
			addr_inc(&cand);
	}
	char s[IPAM_STRLEN];
	return berr_setc(err, BERR_CONFLICT, "no available IP addresses in network %s", ipam_cidr_str(&net, s));
}

/* ---- automatic subnets ------------------------------------------------- */

int ipam_default_pools(struct ipam_pool pools[IPAM_POOL_COUNT], struct berr **err)
{
	if (ipam_pool_parse(IPAM_POOL_DEFAULT_BASE, IPAM_POOL_DEFAULT_SIZE, &pools[IPAM_POOL_DEFAULT], err) < 0 ||
	    ipam_pool_parse(IPAM_POOL_USER_BASE, IPAM_POOL_USER_SIZE, &pools[IPAM_POOL_USER], err) < 0)
		return -1;
	return 0;
}

int ipam_pool_parse(const char *base, int size, struct ipam_pool *ret, struct berr **err)
{
	if (ipam_cidr_parse_network(base, &ret->base, err) < 0)
		return berr_wrap(err, "invalid address pool");
	if (size < ret->base.prefix || size > ipam_family_bits(ret->base.addr.family))
		return berr_setc(err, BERR_INVALID, "invalid address pool %s: size /%d must be between /%d and /%d",
				 base, size, ret->base.prefix, ipam_family_bits(ret->base.addr.family));
	ret->size = size;
	return 0;
}

int ipam_pool_pick(const struct ipam_pool *pools, size_t npools, int family,
		   const struct ipam_cidr *used, size_t nused, struct ipam_cidr *ret, struct berr **err)
{
	for (size_t p = 0; p < npools; p++) {
		const struct ipam_pool *pool = &pools[p];
		struct ipam_cidr base = ipam_cidr_network(&pool->base);
		if (family && base.addr.family != family)
			continue;
		if (pool->size < base.prefix || pool->size > ipam_family_bits(base.addr.family)) {
			char s[IPAM_STRLEN];
			return berr_setc(err, BERR_INVALID, "invalid address pool %s: size /%d", ipam_cidr_str(&base, s),
					 pool->size);
		}
		struct ipam_cidr cand = {base.addr, pool->size};
		/* Candidates only move forward and each skip jumps past the used
		 * range that blocked it, so this runs at most nused + 1 times. */
		for (;;) {
			const struct ipam_cidr *u = NULL;
			for (size_t i = 0; i < nused && !u; i++)
				if (used[i].prefix > 0 && ipam_cidr_overlap(&cand, &used[i]))
					u = &used[i];
			if (!u) {
				*ret = cand;
				return 0;
			}
			/* A used range at least as large as the candidate: jump past
			 * its end (which is aligned to the candidate size); a smaller
			 * one inside it: take the next candidate. */
			struct ipam_addr next = u->prefix <= cand.prefix ? ipam_cidr_last(u) : ipam_cidr_last(&cand);
			if (!addr_inc(&next) || !ipam_cidr_contains(&base, &next))
				break;
			cand.addr = next;
		}
	}
	return berr_setc(err, BERR_CONFLICT, "no available non-overlapping %s subnet in the address pools",
			 family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "IP");
}

/* ---- persistent allocation --------------------------------------------- */

bool ipam_net_id_valid(const char *net_id)
{
	size_t n = net_id ? strlen(net_id) : 0;
	if (n < 1 || n > 128 || net_id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = net_id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("_.-", c)))
			return false;
	}
	return true;
}

static bool owner_valid(const char *owner)
{
	size_t n = owner ? strlen(owner) : 0;
	if (n < 1 || n > 256)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)owner[i] < 0x20 || owner[i] == 0x7f)
			return false;
	return true;
}

struct state {
	char file[160]; /* ipam-<net_id>.json */
	bool exists;
	struct ipam_cidr subnet;
	struct ipam_addr gateway;
	bool has_last;
	struct ipam_addr last;
	json_t *alloc; /* canonical address -> owner */
};

static void state_free(struct state *st)
{
	json_decref(st->alloc);
	st->alloc = NULL;
}

static int state_init(struct state *st, const char *net_id, struct berr **err)
{
	memset(st, 0, sizeof(*st));
	if (!ipam_net_id_valid(net_id))
		return berr_setc(err, BERR_INVALID, "invalid network ID \"%s\"", net_id ? net_id : "");
	snprintf(st->file, sizeof(st->file), "ipam-%s.json", net_id);
	return 0;
}

static int corrupt(struct berr **err, const struct state *st, const char *what, const char *val)
{
	if (val)
		return berr_set(err, 0, "corrupt IPAM file %s: %s \"%s\"", st->file, what, val);
	return berr_set(err, 0, "corrupt IPAM file %s: %s", st->file, what);
}

/* Read and validate the file; a missing one leaves st->exists false and an
 * empty allocation map. */
static int state_load(int dirfd, struct state *st, struct berr **err)
{
	st->alloc = json_object();
	if (!st->alloc)
		return berr_set(err, ENOMEM, "reading %s", st->file);
	struct stat sb;
	if (fstatat(dirfd, st->file, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return berr_set(err, errno, "stat %s", st->file);
	}
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file_at(dirfd, st->file, IPAM_FILE_MAX, &buf, &len, err) < 0)
		return -1;
	char what[200];
	snprintf(what, sizeof(what), "corrupt IPAM file %s", st->file);
	_cleanup_json_ json_t *j = jsonx_parse(buf, len, what, err);
	if (!j)
		return -1;
	if (!json_is_object(j))
		return corrupt(err, st, "not a JSON object", NULL);
	const char *s = jsonx_str(j, "subnet");
	if (!s)
		return corrupt(err, st, "no \"subnet\"", NULL);
	if (cidr_parse(s, &st->subnet) < 0)
		return corrupt(err, st, "invalid subnet", s);
	st->subnet = ipam_cidr_network(&st->subnet);
	if (!(s = jsonx_str(j, "gateway")))
		return corrupt(err, st, "no \"gateway\"", NULL);
	if (addr_parse(s, &st->gateway) < 0 || !ipam_cidr_contains(&st->subnet, &st->gateway))
		return corrupt(err, st, "invalid gateway", s);
	json_t *v = json_object_get(j, "last");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || addr_parse(json_string_value(v), &st->last) < 0)
			return corrupt(err, st, "invalid \"last\"", json_is_string(v) ? json_string_value(v) : NULL);
		st->has_last = true;
	}
	json_t *al = json_object_get(j, "allocated");
	if (al && !json_is_object(al))
		return corrupt(err, st, "\"allocated\" is not an object", NULL);
	const char *key;
	json_object_foreach(al, key, v) {
		struct ipam_addr a;
		char canon[IPAM_STRLEN];
		if (addr_parse(key, &a) < 0 || !ipam_cidr_contains(&st->subnet, &a))
			return corrupt(err, st, "invalid allocated address", key);
		if (!json_is_string(v) || !owner_valid(json_string_value(v)))
			return corrupt(err, st, "invalid owner of", key);
		ipam_addr_str(&a, canon);
		if (json_object_get(st->alloc, canon))
			return corrupt(err, st, "address allocated twice:", canon);
		json_object_set(st->alloc, canon, v);
	}
	st->exists = true;
	return 0;
}

static int state_save(int dirfd, const struct state *st, struct berr **err)
{
	char s[IPAM_STRLEN];
	_cleanup_json_ json_t *j = json_object();
	if (!j)
		return berr_set(err, ENOMEM, "writing %s", st->file);
	json_object_set_new(j, "subnet", json_string(ipam_cidr_str(&st->subnet, s)));
	json_object_set_new(j, "gateway", json_string(ipam_addr_str(&st->gateway, s)));
	json_object_set_new(j, "last", st->has_last ? json_string(ipam_addr_str(&st->last, s)) : json_null());
	json_object_set(j, "allocated", st->alloc);
	_cleanup_free_ char *data = jsonx_dumps(j, 1);
	if (!data)
		return berr_set(err, ENOMEM, "serializing %s", st->file);
	/* Not fsync'd: leases only describe running containers, and berth keeps
	 * the file on the run root, whose leases die with the containers on a
	 * crash of the host (the sweep drops stale ones otherwise). Replaced
	 * by a name swap: atomic for readers, without ext4's rename flush. */
	return fs_replace_at(dirfd, st->file, data, strlen(data), 0600, err);
}

/* Exclusive lock on ipam-<net_id>.lock. ipam_remove unlinks the lock file,
 * so after getting the lock make sure it is still the file at that name. */
static int state_lock(int dirfd, const char *net_id, struct berr **err)
{
	char name[160];
	snprintf(name, sizeof(name), "ipam-%s.lock", net_id);
	for (;;) {
		int fd = fs_lock_at(dirfd, name, LOCK_EX, err);
		if (fd < 0)
			return -1;
		struct stat a, b;
		if (fstat(fd, &a) < 0) {
			int e = errno;
			close(fd);
			return berr_set(err, e, "stat %s", name);
		}
		if (fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0) {
			if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
				return fd;
		} else if (errno != ENOENT) {
			int e = errno;
			close(fd);
			return berr_set(err, e, "stat %s", name);
		}
		close(fd); /* removed or replaced meanwhile: lock the new one */
	}
}

int ipam_alloc(int dirfd, const char *net_id, const char *subnet, const char *gateway, const char *owner,
	       const char *want_ip, char ret_ip[IPAM_STRLEN], struct berr **err)
{
	struct state st __attribute__((cleanup(state_free)));
	if (state_init(&st, net_id, err) < 0)
		return -1;
	if (!owner_valid(owner))
		return berr_setc(err, BERR_INVALID, "invalid IP address owner \"%s\"", owner ? owner : "");
	struct ipam_cidr net;
	if (ipam_cidr_parse_network(subnet, &net, err) < 0)
		return -1;
	char netstr[IPAM_STRLEN], s1[IPAM_STRLEN], s2[IPAM_STRLEN];
	ipam_cidr_str(&net, netstr);
	struct ipam_addr lo, hi, gw, want;
	ipam_cidr_usable(&net, &lo, &hi);
	if (gateway) {
		if (ipam_addr_parse(gateway, &gw, err) < 0)
			return berr_wrap(err, "invalid gateway");
		if (!ipam_cidr_contains(&net, &gw) || ipam_addr_cmp(&gw, &lo) < 0 || ipam_addr_cmp(&gw, &hi) > 0)
			return berr_setc(err, BERR_INVALID, "invalid gateway %s: not a usable address of subnet %s",
					 gateway, netstr);
	}
	if (want_ip) {
		if (ipam_addr_parse(want_ip, &want, err) < 0)
			return -1;
		if (!ipam_cidr_contains(&net, &want))
			return berr_setc(err, BERR_INVALID, "invalid IP address %s: not in subnet %s", want_ip, netstr);
		if (ipam_addr_cmp(&want, &lo) < 0)
			return berr_setc(err, BERR_INVALID, "invalid IP address %s: it is the network address of %s",
					 want_ip, netstr);
		if (ipam_addr_cmp(&want, &hi) > 0)
			return berr_setc(err, BERR_INVALID, "invalid IP address %s: it is the broadcast address of %s",
					 want_ip, netstr);
	}

	_cleanup_close_ int lock = state_lock(dirfd, net_id, err);
	if (lock < 0)
		return -1;
	if (state_load(dirfd, &st, err) < 0)
		return -1;
	if (st.exists) {
		if (st.subnet.prefix != net.prefix || !ipam_addr_equal(&st.subnet.addr, &net.addr))
			return berr_setc(err, BERR_CONFLICT, "%s records subnet %s, not %s", st.file,
					 ipam_cidr_str(&st.subnet, s1), netstr);
		if (gateway && !ipam_addr_equal(&st.gateway, &gw))
			return berr_setc(err, BERR_CONFLICT, "%s records gateway %s, not %s", st.file,
					 ipam_addr_str(&st.gateway, s1), ipam_addr_str(&gw, s2));
	} else {
		st.subnet = net;
		st.gateway = gateway ? gw : ipam_cidr_gateway(&net);
	}

	struct ipam_addr ip;
	if (want_ip) {
		ipam_addr_str(&want, s1);
		if (ipam_addr_equal(&want, &st.gateway) || json_object_get(st.alloc, s1))
			return berr_setc(err, BERR_CONFLICT, "Address already in use");
		ip = want;
	} else {
		size_t n = json_object_size(st.alloc), i = 0;
		_cleanup_free_ struct ipam_addr *taken = calloc(n ? n : 1, sizeof(*taken));
		if (!taken)
			return berr_set(err, ENOMEM, "allocating an IP address");
		const char *key;
		json_t *v;
		json_object_foreach(st.alloc, key, v)
			addr_parse(key, &taken[i++]); /* validated by state_load */
		if (ipam_next_free(&st.subnet, &st.gateway, taken, n, st.has_last ? &st.last : NULL, &ip, err) < 0)
			return -1;
		st.last = ip;
		st.has_last = true;
	}
	ipam_addr_str(&ip, s1);
	json_object_set_new(st.alloc, s1, json_string(owner));
	if (state_save(dirfd, &st, err) < 0)
		return -1;
	memcpy(ret_ip, s1, IPAM_STRLEN);
	return 0;
}

int ipam_release(int dirfd, const char *net_id, const char *ip, struct berr **err)
{
	struct state st __attribute__((cleanup(state_free)));
	if (state_init(&st, net_id, err) < 0)
		return -1;
	struct ipam_addr a;
	if (ipam_addr_parse(ip, &a, err) < 0)
		return -1;
	char canon[IPAM_STRLEN];
	ipam_addr_str(&a, canon);
	_cleanup_close_ int lock = state_lock(dirfd, net_id, err);
	if (lock < 0 || state_load(dirfd, &st, err) < 0)
		return -1;
	if (!st.exists || json_object_del(st.alloc, canon) < 0)
		return 0;
	if (state_save(dirfd, &st, err) < 0)
		return -1;
	return 1;
}

int ipam_release_owner(int dirfd, const char *net_id, const char *owner, struct berr **err)
{
	struct state st __attribute__((cleanup(state_free)));
	if (state_init(&st, net_id, err) < 0)
		return -1;
	if (!owner_valid(owner))
		return berr_setc(err, BERR_INVALID, "invalid IP address owner \"%s\"", owner ? owner : "");
	_cleanup_close_ int lock = state_lock(dirfd, net_id, err);
	if (lock < 0 || state_load(dirfd, &st, err) < 0)
		return -1;
	int freed = 0;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(st.alloc, tmp, key, v) {
		if (!strcmp(json_string_value(v), owner)) {
			json_object_del(st.alloc, key);
			freed++;
		}
	}
	if (freed && state_save(dirfd, &st, err) < 0)
		return -1;
	return freed;
}

struct lease_sort {
	struct ipam_addr a;
	struct ipam_lease l;
};

static int lease_cmp(const void *x, const void *y)
{
	return ipam_addr_cmp(&((const struct lease_sort *)x)->a, &((const struct lease_sort *)y)->a);
}

int ipam_list(int dirfd, const char *net_id, struct ipam_list *ret, struct berr **err)
{
	memset(ret, 0, sizeof(*ret));
	struct state st __attribute__((cleanup(state_free)));
	if (state_init(&st, net_id, err) < 0)
		return -1;
	/* No lock: the file is only ever replaced by rename. */
	if (state_load(dirfd, &st, err) < 0)
		return -1;
	if (!st.exists)
		return 0;
	ipam_cidr_str(&st.subnet, ret->subnet);
	ipam_addr_str(&st.gateway, ret->gateway);
	if (st.has_last)
		ipam_addr_str(&st.last, ret->last);
	size_t n = json_object_size(st.alloc), i = 0;
	_cleanup_free_ struct lease_sort *tmp = calloc(n ? n : 1, sizeof(*tmp));
	ret->leases = calloc(n ? n : 1, sizeof(*ret->leases));
	if (!tmp || !ret->leases) {
		ipam_list_free(ret);
		return berr_set(err, ENOMEM, "listing %s", st.file);
	}
	const char *key;
	json_t *v;
	json_object_foreach(st.alloc, key, v) {
		addr_parse(key, &tmp[i].a);
		snprintf(tmp[i].l.ip, IPAM_STRLEN, "%s", key);
		tmp[i].l.owner = strdup(json_string_value(v));
		if (!tmp[i].l.owner) {
			for (size_t k = 0; k < i; k++)
				free(tmp[k].l.owner);
			ipam_list_free(ret);
			return berr_set(err, ENOMEM, "listing %s", st.file);
		}
		i++;
	}
	qsort(tmp, n, sizeof(*tmp), lease_cmp);
	for (i = 0; i < n; i++)
		ret->leases[i] = tmp[i].l;
	ret->n = n;
	return 0;
}

void ipam_list_free(struct ipam_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->leases[i].owner);
	free(l->leases);
	l->leases = NULL;
	l->n = 0;
}

int ipam_remove(int dirfd, const char *net_id, struct berr **err)
{
	struct state st;
	if (state_init(&st, net_id, err) < 0)
		return -1;
	char lockname[160];
	snprintf(lockname, sizeof(lockname), "ipam-%s.lock", net_id);
	_cleanup_close_ int lock = state_lock(dirfd, net_id, err);
	if (lock < 0)
		return -1;
	if (unlinkat(dirfd, st.file, 0) < 0 && errno != ENOENT)
		return berr_set(err, errno, "removing %s", st.file);
	/* Waiters notice the lock file is gone and retry on a new one. */
	if (unlinkat(dirfd, lockname, 0) < 0 && errno != ENOENT)
		return berr_set(err, errno, "removing %s", lockname);
	return 0;
}
