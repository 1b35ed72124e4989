#include "image/reference.h"
#include "util/cleanup.h"
#include "util/hash.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_TOTAL 255

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return isalnum((unsigned char)c) != 0; }

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.]|__|[-]+ */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		/* separator */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

static bool path_ok(const char *s)
{
	const char *p = s;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!path_component_ok(p, n))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* domain := host [':' port]; host := dns-ish components or [ipv6] */
static bool domain_ok(const char *s)
{
	const char *p = s;
	if (*p == '[') {
		const char *e = strchr(p, ']');
		if (!e || e == p + 1)
			return false;
		for (const char *q = p + 1; q < e; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
				return false;
		p = e + 1;
	} else {
		for (;;) {
			const char *start = p;
			while (is_alnum(*p) || *p == '-')
				p++;
			if (p == start || start[0] == '-' || p[-1] == '-')
				return false;
			if (*p != '.')
				break;
			p++;
		}
	}
	if (*p == ':') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == 0;
}

static bool tag_ok(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128)
		return false;
	if (!(is_alnum(t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

void image_ref_release(struct image_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

int image_ref_parse(const char *s, bool default_tag, struct image_ref *ret, struct berr **err)
{
	if (!s || !*s)
		return berr_setc(err, BERR_INVALID, "invalid reference format: empty reference");
	if (hex64_is_valid(s))
		return berr_setc(err, BERR_INVALID,
				 "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
	_cleanup_free_ char *buf = strdup(s);
	if (!buf)
		return berr_set(err, 12, "parsing reference");
	char *digest = NULL, *tag = NULL;
	char *at = strchr(buf, '@');
	if (at) {
		*at = 0;
		digest = at + 1;
		if (strchr(digest, '@') || !digest_is_valid(digest))
			return berr_setc(err, BERR_INVALID, "invalid reference format: \"%s\" (bad digest)", s);
	}
	char *lastslash = strrchr(buf, '/');
	char *colon = strrchr(lastslash ? lastslash : buf, ':');
	if (colon) {
		*colon = 0;
		tag = colon + 1;
		if (!tag_ok(tag))
			return berr_setc(err, BERR_INVALID, "invalid reference format: \"%s\" (bad tag \"%s\")", s, tag);
	}
	char *name = buf;
	if (!*name)
		return berr_setc(err, BERR_INVALID, "invalid reference format: \"%s\"", s);

	/* Split the domain off as Docker does: the first component is a domain
	 * when it has a '.' or ':', is "localhost", or has upper case. */
	const char *domain = "docker.io";
	char *remainder = name;
	char *slash = strchr(name, '/');
	if (slash) {
		*slash = 0;
		bool lower = true;
		for (char *q = name; *q; q++)
			if (isupper((unsigned char)*q))
				lower = false;
		if (strpbrk(name, ".:") || !strcmp(name, "localhost") || !lower) {
			domain = name;
			remainder = slash + 1;
		} else {
			*slash = '/';
		}
	}
	if (!strcmp(domain, "index.docker.io"))
		domain = "docker.io";
	if (!domain_ok(domain))
		return berr_setc(err, BERR_INVALID, "invalid reference format: \"%s\" (bad registry host \"%s\")", s, domain);
	_cleanup_free_ char *path = NULL;
	if (!strcmp(domain, "docker.io") && !strchr(remainder, '/')) {
		if (asprintf(&path, "library/%s", remainder) < 0)
			return berr_set(err, 12, "parsing reference");
	} else {
		path = strdup(remainder);
	}
	for (char *q = path; *q; q++)
		if (isupper((unsigned char)*q))
			return berr_setc(err, BERR_INVALID,
					 "invalid reference format: repository name (%s) must be lowercase", path);
	if (!path_ok(path))
		return berr_setc(err, BERR_INVALID, "invalid reference format: \"%s\"", s);
	if (strlen(domain) + 1 + strlen(path) > NAME_MAX_TOTAL)
		return berr_setc(err, BERR_INVALID,
				 "invalid reference format: repository name must not be more than %d characters",
				 NAME_MAX_TOTAL);
	struct image_ref r = {0};
	r.domain = strdup(domain);
	r.path = steal_pointer(&path);
	if (tag)
		r.tag = strdup(tag);
	else if (!digest && default_tag)
		r.tag = strdup("latest");
	if (digest)
		r.digest = strdup(digest);
	*ret = r;
	return 0;
}

char *image_ref_repo(const struct image_ref *r)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s", r->domain, r->path) < 0)
		return NULL;
	return s;
}

char *image_ref_string(const struct image_ref *r)
{
	char *s = NULL;
	int n;
	if (r->tag && r->digest)
		n = asprintf(&s, "%s/%s:%s@%s", r->domain, r->path, r->tag, r->digest);
	else if (r->digest)
		n = asprintf(&s, "%s/%s@%s", r->domain, r->path, r->digest);
	else
		n = asprintf(&s, "%s/%s:%s", r->domain, r->path, r->tag ? r->tag : "latest");
	return n < 0 ? NULL : s;
}

char *image_ref_familiar_repo(const struct image_ref *r)
{
	char *s = NULL;
	if (!strcmp(r->domain, "docker.io")) {
		if (!strncmp(r->path, "library/", 8) && !strchr(r->path + 8, '/'))
			return strdup(r->path + 8);
		return strdup(r->path);
	}
	if (asprintf(&s, "%s/%s", r->domain, r->path) < 0)
		return NULL;
	return s;
}

char *image_ref_familiarize(const char *full)
{
	const char *p = full;
	if (!strncmp(p, "docker.io/", 10)) {
		p += 10;
		if (!strncmp(p, "library/", 8)) {
			const char *rest = p + 8;
			size_t n = strcspn(rest, ":@");
			if (!memchr(rest, '/', n))
				p = rest;
		}
	}
	return strdup(p);
}
