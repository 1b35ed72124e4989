#include "net/ports.h"
#include "net/nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/jsonx.h"

/* "N" or "A-B", 1..65535 */
static int parse_range(const char *s, unsigned *lo, unsigned *hi)
{
	char *end;
	if (!*s || *s < '0' || *s > '9')
		return -1;
	unsigned long a = strtoul(s, &end, 10), b = a;
	if (*end == '-') {
		const char *t = end + 1;
		if (*t < '0' || *t > '9')
			return -1;
		b = strtoul(t, &end, 10);
	}
	if (*end || a < 1 || a > 65535 || b < a || b > 65535)
		return -1;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

int ports_parse(const char *spec, json_t *bindings, json_t *exposed, struct berr **err)
{
	char buf[256];
	if (strlen(spec) >= sizeof(buf))
		return berr_setc(err, BERR_INVALID, "invalid port specification: \"%s\"", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	const char *proto = "tcp";
	char *slash = strrchr(buf, '/');
	if (slash) {
		*slash = 0;
		proto = slash + 1;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
			return berr_setc(err, BERR_INVALID, "invalid proto: %s (only tcp and udp are supported)", proto);
	}
	char *parts[4] = {0};
	int np = 0;
	for (char *p = buf; np < 4;) {
		parts[np++] = p;
		char *colon = strchr(p, ':');
		if (!colon)
			break;
		*colon = 0;
		p = colon + 1;
	}
	if (np > 3 || (np == 3 && strchr(parts[2], ':')))
		return berr_setc(err, BERR_INVALID, "invalid port specification: \"%s\" (IPv6 is not supported)", spec);
	const char *ip = np == 3 ? parts[0] : "", *hp = np >= 2 ? parts[np - 2] : "", *cp = parts[np - 1];
	if (*ip) {
		struct in_addr a;
		if (inet_pton(AF_INET, ip, &a) != 1)
			return berr_setc(err, BERR_INVALID, "invalid IP address: %s", ip);
	}
	unsigned clo, chi, hlo = 0, hhi = 0;
	if (parse_range(cp, &clo, &chi) < 0)
		return berr_setc(err, BERR_INVALID, "invalid containerPort: %s", cp);
	if (*hp && parse_range(hp, &hlo, &hhi) < 0)
		return berr_setc(err, BERR_INVALID, "invalid hostPort: %s", hp);
	if (*hp && hhi - hlo != chi - clo)
		return berr_setc(err, BERR_INVALID,
				 "invalid ranges specified for container and host Ports: %s and %s (they must have the same length)",
				 cp, hp);
	for (unsigned i = 0; i <= chi - clo; i++) {
		char key[32], hport[16] = "";
		snprintf(key, sizeof(key), "%u/%s", clo + i, proto);
		if (*hp)
			snprintf(hport, sizeof(hport), "%u", hlo + i);
		json_t *arr = json_object_get(bindings, key);
		if (!arr)
			json_object_set_new(bindings, key, arr = json_array());
		json_array_append_new(arr, json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", hport));
		if (exposed && !json_object_get(exposed, key))
			json_object_set_new(exposed, key, json_object());
	}
	return 0;
}

/* Bind IP:port (port 0: any) for proto; returns the fd, -1 with errno. */
static int try_bind(const char *ip, unsigned port, const char *proto, unsigned *got)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (ip && *ip && inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	bool udp = !strcmp(proto, "udp");
	int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	if (!udp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (got) {
		socklen_t l = sizeof(sa);
		getsockname(fd, (struct sockaddr *)&sa, &l);
		*got = ntohs(sa.sin_port);
	}
	return fd;
}

int ports_check_free(json_t *bindings, struct berr **err)
{
	const char *key;
	json_t *arr;
	json_object_foreach(bindings, key, arr) {
		const char *proto = strchr(key, '/') ? strchr(key, '/') + 1 : "tcp";
		size_t i;
		json_t *b;
		json_array_foreach(arr, i, b) {
			const char *hp = jsonx_str(b, "HostPort"), *ip = jsonx_str(b, "HostIp");
			if (!hp || !*hp)
				continue;
			unsigned port = (unsigned)strtoul(hp, NULL, 10);
			int fd = try_bind(ip, port, proto, NULL);
			if (fd < 0) {
				if (errno == EADDRNOTAVAIL)
					return berr_setc(err, BERR_INVALID, "cannot publish on %s: not an address of this host", ip);
				return berr_setc(err, BERR_CONFLICT,
						 "Bind for %s:%s failed: port is already allocated (%s/%s is in use on the host)",
						 ip && *ip ? ip : "0.0.0.0", hp, hp, proto);
			}
			close(fd);
		}
	}
	/* DNAT'd ports have no socket: ask the rules */
	return nat_ports_check(bindings, err);
}

static int add_actual(json_t *actual, const char *key, const char *ip, const char *hp, struct berr **err)
{
	const char *proto = strchr(key, '/') ? strchr(key, '/') + 1 : "tcp";
	char port[16];
	if (!hp || !*hp) {
		unsigned got = 0;
		int fd = try_bind(ip, 0, proto, &got);
		if (fd < 0)
			return berr_set(err, errno, "allocating a host port for %s", key);
		close(fd);
		snprintf(port, sizeof(port), "%u", got);
		hp = port;
	}
	json_t *arr = json_object_get(actual, key);
	if (!arr)
		json_object_set_new(actual, key, arr = json_array());
	json_array_append_new(arr, json_pack("{s:s, s:s}", "HostIp", ip && *ip ? ip : "0.0.0.0", "HostPort", hp));
	return 0;
}

json_t *ports_resolve(json_t *hc, json_t *config, struct berr **err)
{
	json_t *actual = json_object();
	const char *key;
	json_t *arr;
	json_object_foreach(json_object_get(hc, "PortBindings"), key, arr) {
		size_t i;
		json_t *b;
		json_array_foreach(arr, i, b) {
			if (add_actual(actual, key, jsonx_str(b, "HostIp"), jsonx_str(b, "HostPort"), err) < 0)
				goto fail;
		}
	}
	if (json_is_true(json_object_get(hc, "PublishAllPorts"))) {
		json_t *v;
		json_object_foreach(json_object_get(config, "ExposedPorts"), key, v) {
			if (json_object_get(actual, key))
				continue;
			if (!strchr(key, '/')) {
				char k2[40];
				snprintf(k2, sizeof(k2), "%s/tcp", key);
				if (add_actual(actual, k2, "", NULL, err) < 0)
					goto fail;
			} else if (add_actual(actual, key, "", NULL, err) < 0)
				goto fail;
		}
	}
	return actual;
fail:
	json_decref(actual);
	return NULL;
}

void ports_format_ps(json_t *actual, char *buf, size_t n)
{
	size_t off = 0;
	buf[0] = 0;
	const char *key;
	json_t *arr;
	json_object_foreach(actual, key, arr) {
		size_t i;
		json_t *b;
		json_array_foreach(arr, i, b) {
			int w = snprintf(buf + off, n - off, "%s%s:%s->%s", off ? ", " : "", jsonx_str(b, "HostIp") ?: "",
					 jsonx_str(b, "HostPort") ?: "", key);
			if (w < 0 || (size_t)w >= n - off)
				return;
			off += (size_t)w;
		}
	}
}
