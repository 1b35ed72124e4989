/* ADD URL: the file is downloaded (libcurl, redirects followed, size
 * bounded) into an unnamed temp file in the store, checked against
 * --checksum, and becomes a one-file layer: DEST/NAME when DEST ends in '/'
 * (NAME: the last segment of the URL's path), else DEST itself; mode 0600
 * and the Last-Modified time, as Docker does. */
#include "builder/bint.h"
#include "builder/btar.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FETCH_MAX (8ull << 30)

struct sink {
	int fd;
	uint64_t n;
	struct sha256 h;
	int err;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
	struct sink *s = ud;
	size_t len = sz * nm;
	if (s->n + len > FETCH_MAX || build_interrupted) {
		s->err = EFBIG;
		return 0;
	}
	if (fs_write_full(s->fd, p, len) < 0) {
		s->err = errno;
		return 0;
	}
	sha256_update(&s->h, p, len);
	s->n += len;
	return len;
}

int bfetch_url(struct image_store *is, const char *url, const char *checksum, int *ret_fd, char ret_hex[65],
	       int64_t *ret_mtime, struct berr **err)
{
	_cleanup_close_ int fd = -1;
	if (btar_open_tmp(is, &fd, err) < 0)
		return -1;
	struct sink s = {.fd = fd};
	if (sha256_init(&s.h) < 0)
		return berr_set(err, 0, "sha256");
	CURL *c = curl_easy_init();
	if (!c) {
		sha256_free(&s.h);
		return berr_set(err, 0, "%s: cannot start a download", url);
	}
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	CURLcode rc = curl_easy_perform(c);
	long ft = -1;
	curl_easy_getinfo(c, CURLINFO_FILETIME, &ft);
	curl_easy_cleanup(c);
	char hex[65];
	sha256_final_hex(&s.h, hex);
	if (rc != CURLE_OK) {
		if (build_interrupted)
			return berr_setc(err, BERR_INVALID, "interrupted");
		if (s.err == EFBIG)
			return berr_setc(err, BERR_INVALID, "%s: larger than %llu bytes", url, (unsigned long long)FETCH_MAX);
		return berr_set(err, s.err, "downloading %s: %s", url, *ebuf ? ebuf : curl_easy_strerror(rc));
	}
	if (checksum) {
		if (strncmp(checksum, "sha256:", 7) || strlen(checksum) != 71)
			return berr_setc(err, BERR_INVALID, "--checksum=%s: want sha256:<64 hex digits>", checksum);
		if (strcmp(checksum + 7, hex))
			return berr_setc(err, BERR_INVALID, "%s: checksum mismatch: want %s, got sha256:%s", url, checksum, hex);
	}
	memcpy(ret_hex, hex, 65);
	*ret_mtime = ft > 0 ? ft : 0;
	*ret_fd = steal_fd(&fd);
	return 0;
}

/* The file's name from the URL: the last non-empty path segment. */
static char *url_basename(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	if (!p)
		return NULL;
	size_t end = strcspn(p, "?#");
	while (end > 0 && p[end - 1] == '/')
		end--;
	const char *s = p;
	for (size_t i = 0; i < end; i++)
		if (p[i] == '/')
			s = p + i + 1;
	size_t len = (size_t)(p + end - s);
	if (!len || (len == 1 && *s == '.') || (len == 2 && !strncmp(s, "..", 2)))
		return NULL;
	return strndup(s, len);
}

int bfetch_layer(struct image_store *is, int fd, const char *url, const char *dest, bool dest_dir, int64_t mtime,
		 const struct btar_opts *o, struct layer_stage *ret, struct berr **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return berr_set(err, errno, "%s", url);
	_cleanup_free_ char *name = NULL;
	const char *rel = dest[0] == '/' ? dest + 1 : dest;
	if (dest_dir || !*rel) {
		_cleanup_free_ char *base = url_basename(url);
		if (!base)
			return berr_setc(err, BERR_INVALID, "%s: cannot determine a file name from the URL; give a destination file name", url);
		if (asprintf(&name, "%s%s%s", rel, *rel ? "/" : "", base) < 0)
			return berr_set(err, ENOMEM, "ADD");
	} else {
		name = strdup(rel);
	}
	if (!name)
		return berr_set(err, ENOMEM, "ADD");
	_cleanup_close_ int tfd = -1;
	if (btar_open_tmp(is, &tfd, err) < 0)
		return -1;
	struct tarw w;
	tarw_init(&w, tfd);
	struct btar b;
	btar_init(&b, &w, o);
	st.st_mode = S_IFREG | (o->chmod >= 0 ? (mode_t)o->chmod : 0600);
	st.st_uid = 0;
	st.st_gid = 0;
	st.st_mtim.tv_sec = mtime;
	st.st_mtim.tv_nsec = 0;
	int r = btar_add_parents(&b, name, err);
	if (r == 0)
		r = btar_add_file_fd(&b, fd, &st, name, err);
	if (r == 0)
		r = tarw_finish(&w, err);
	btar_parents_release(&b);
	btar_release(&b);
	tarw_release(&w);
	if (r < 0)
		return -1;
	return btar_stage(is, tfd, "layer", ret, err);
}
