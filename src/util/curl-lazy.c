/* libcurl through dlopen: see curl-lazy.h for why.
 *
 * Each curl_* function berth uses is defined here with libcurl's signature
 * and forwards to the function looked up in libcurl.so.4. The executable
 * does not export these names (no shared library berth links refers to
 * them), so libcurl's calls to its own functions still resolve inside
 * libcurl. A function berth starts using must be added to the table below;
 * the link fails with an undefined curl_* symbol until it is. */
#define CURL_DISABLE_TYPECHECK 1
#include "util/curl-lazy.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* curl.h turns these into same-named macros (to check the argument count);
 * the definitions below need the plain names. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt

#define CURL_LAZY_SONAME "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	CURLcode (*easy_pause)(CURL *, int);
	void (*free_)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
	const char *(*multi_strerror)(CURLMcode);
	CURLSH *(*share_init)(void);
	CURLSHcode (*share_setopt)(CURLSH *, CURLSHoption, ...);
	CURLSHcode (*share_cleanup)(CURLSH *);
	const char *(*share_strerror)(CURLSHcode);
} fn;

static const struct {
	const char *name;
	size_t off;
} syms[] = {
#define SYM(field, name) {name, offsetof(__typeof__(fn), field)}
	SYM(global_init, "curl_global_init"),
	SYM(easy_init, "curl_easy_init"),
	SYM(easy_setopt, "curl_easy_setopt"),
	SYM(easy_perform, "curl_easy_perform"),
	SYM(easy_getinfo, "curl_easy_getinfo"),
	SYM(easy_cleanup, "curl_easy_cleanup"),
	SYM(easy_reset, "curl_easy_reset"),
	SYM(easy_strerror, "curl_easy_strerror"),
	SYM(easy_escape, "curl_easy_escape"),
	SYM(easy_pause, "curl_easy_pause"),
	SYM(free_, "curl_free"),
	SYM(slist_append, "curl_slist_append"),
	SYM(slist_free_all, "curl_slist_free_all"),
	SYM(multi_init, "curl_multi_init"),
	SYM(multi_add_handle, "curl_multi_add_handle"),
	SYM(multi_remove_handle, "curl_multi_remove_handle"),
	SYM(multi_perform, "curl_multi_perform"),
	SYM(multi_poll, "curl_multi_poll"),
	SYM(multi_info_read, "curl_multi_info_read"),
	SYM(multi_cleanup, "curl_multi_cleanup"),
	SYM(multi_strerror, "curl_multi_strerror"),
	SYM(share_init, "curl_share_init"),
	SYM(share_setopt, "curl_share_setopt"),
	SYM(share_cleanup, "curl_share_cleanup"),
	SYM(share_strerror, "curl_share_strerror"),
#undef SYM
};

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_error[512];

static void load(void)
{
	/* BERTH_LIBCURL names another file (the tests use it to check the
	 * error when libcurl is missing) */
	const char *so = getenv("BERTH_LIBCURL");
	if (!so || !*so)
		so = CURL_LAZY_SONAME;
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(load_error, sizeof(load_error), "%s", e ? e : so);
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *p = dlsym(h, syms[i].name);
		if (!p) {
			snprintf(load_error, sizeof(load_error), "%s: no symbol %s (libcurl too old?)", so,
				 syms[i].name);
			dlclose(h);
			memset(&fn, 0, sizeof(fn));
			return;
		}
		memcpy((char *)&fn + syms[i].off, &p, sizeof(p));
	}
	CURLcode rc = fn.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(load_error, sizeof(load_error), "%s: curl_global_init: %s", so, fn.easy_strerror(rc));
		return;
	}
	/* the library stays loaded for the life of the process */
	loaded = true;
}

static bool ready(void)
{
	pthread_once(&load_once, load);
	return loaded;
}

int curl_lazy_load(struct berr **err)
{
	if (ready())
		return 0;
	return berr_set(err, 0, "libcurl is needed to talk to a registry or download a URL but cannot be loaded (%s); "
			"install the libcurl4 package", load_error);
}

CURLcode curl_global_init(long flags)
{
	/* load() already ran curl_global_init with the default flags */
	(void)flags;
	return ready() ? CURLE_OK : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
	return ready() ? fn.easy_init() : NULL;
}

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	if (!ready())
		return CURLE_FAILED_INIT;
	/* the option number says the type of its one argument (curl.h's
	 * CURLOPTTYPE_* ranges) */
	va_list ap;
	va_start(ap, opt);
	CURLcode rc;
	if (opt < CURLOPTTYPE_OBJECTPOINT) {
		long v = va_arg(ap, long);
		rc = fn.easy_setopt(h, opt, v);
	} else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
		void *v = va_arg(ap, void *);
		rc = fn.easy_setopt(h, opt, v);
	} else if (opt < CURLOPTTYPE_OFF_T) {
		void (*v)(void) = va_arg(ap, void (*)(void));
		rc = fn.easy_setopt(h, opt, v);
	} else if (opt < CURLOPTTYPE_BLOB) {
		curl_off_t v = va_arg(ap, curl_off_t);
		rc = fn.easy_setopt(h, opt, v);
	} else {
		void *v = va_arg(ap, void *);
		rc = fn.easy_setopt(h, opt, v);
	}
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
	return ready() ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	if (!ready())
		return CURLE_FAILED_INIT;
	/* every CURLINFO takes one pointer to where the answer goes */
	va_list ap;
	va_start(ap, info);
	void *p = va_arg(ap, void *);
	va_end(ap);
	return fn.easy_getinfo(h, info, p);
}

void curl_easy_cleanup(CURL *h)
{
	if (ready())
		fn.easy_cleanup(h);
}

void curl_easy_reset(CURL *h)
{
	if (ready())
		fn.easy_reset(h);
}

const char *curl_easy_strerror(CURLcode rc)
{
	return ready() ? fn.easy_strerror(rc) : "libcurl cannot be loaded";
}

char *curl_easy_escape(CURL *h, const char *s, int len)
{
	return ready() ? fn.easy_escape(h, s, len) : NULL;
}

CURLcode curl_easy_pause(CURL *h, int bitmask)
{
	return ready() ? fn.easy_pause(h, bitmask) : CURLE_FAILED_INIT;
}

void curl_free(void *p)
{
	if (ready())
		fn.free_(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return ready() ? fn.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (ready())
		fn.slist_free_all(l);
}

CURLM *curl_multi_init(void)
{
	return ready() ? fn.multi_init() : NULL;
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
	return ready() ? fn.multi_add_handle(m, h) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h)
{
	return ready() ? fn.multi_remove_handle(m, h) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM *m, int *running)
{
	return ready() ? fn.multi_perform(m, running) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd *extra, unsigned int n, int timeout_ms, int *ret)
{
	return ready() ? fn.multi_poll(m, extra, n, timeout_ms, ret) : CURLM_INTERNAL_ERROR;
}

CURLMsg *curl_multi_info_read(CURLM *m, int *left)
{
	return ready() ? fn.multi_info_read(m, left) : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
	return ready() ? fn.multi_cleanup(m) : CURLM_INTERNAL_ERROR;
}

const char *curl_multi_strerror(CURLMcode rc)
{
	return ready() ? fn.multi_strerror(rc) : "libcurl cannot be loaded";
}

CURLSH *curl_share_init(void)
{
	return ready() ? fn.share_init() : NULL;
}

CURLSHcode curl_share_setopt(CURLSH *sh, CURLSHoption opt, ...)
{
	if (!ready())
		return CURLSHE_NOT_BUILT_IN;
	/* CURLSHOPT_SHARE/UNSHARE take an int (a CURL_LOCK_DATA_*), the lock
	 * functions a function pointer, USERDATA a pointer */
	va_list ap;
	va_start(ap, opt);
	CURLSHcode rc;
	if (opt == CURLSHOPT_SHARE || opt == CURLSHOPT_UNSHARE) {
		int v = va_arg(ap, int);
		rc = fn.share_setopt(sh, opt, v);
	} else if (opt == CURLSHOPT_LOCKFUNC || opt == CURLSHOPT_UNLOCKFUNC) {
		void (*v)(void) = va_arg(ap, void (*)(void));
		rc = fn.share_setopt(sh, opt, v);
	} else {
		void *v = va_arg(ap, void *);
		rc = fn.share_setopt(sh, opt, v);
	}
	va_end(ap);
	return rc;
}

CURLSHcode curl_share_cleanup(CURLSH *sh)
{
	return ready() ? fn.share_cleanup(sh) : CURLSHE_INVALID;
}

const char *curl_share_strerror(CURLSHcode rc)
{
	return ready() ? fn.share_strerror(rc) : "libcurl cannot be loaded";
}
