/* libcurl, loaded at first use.
 *
 * berth is not linked against libcurl: loading it and the ~30 libraries it
 * pulls in (GnuTLS, Kerberos, LDAP, SSH, ...) cost about 5 ms of every
 * `berth ps`, while only pull, push, login and ADD URL talk HTTP.
 * curl-lazy.c defines the curl_* functions berth calls with libcurl's own
 * names and signatures, so code written against <curl/curl.h> is unchanged;
 * the first call dlopen()s libcurl.so.4 and runs curl_global_init(). */
#ifndef BERTH_UTIL_CURL_LAZY_H
#define BERTH_UTIL_CURL_LAZY_H

#include "util/err.h"

/* Load libcurl once (thread-safe). 0 when it is usable; -1 with an error
 * that names the library and the package when it cannot be loaded. Callers
 * that can report errors call this before their first curl_* call; without
 * it, the curl_* functions fail as libcurl does when it cannot start
 * (NULL handles, CURLE_FAILED_INIT). */
int curl_lazy_load(struct berr **err);

#endif
