/* RUN: a real berth container on the image so far (the runtime's own create
 * and start, so isolation, networking and user handling are the ones `berth
 * run` has), its output relayed to the progress view, its overlay upper dir
 * turned into the step's layer. The container and everything it made are
 * removed whatever happens, Ctrl-C included. */
#include "builder/bint.h"
#include "runtime/lifecycle.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/jsonx.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void remove_container(struct ctr_store *cs, const char *id)
{
	_cleanup_json_ json_t *cfg = ctr_config(cs, id, NULL);
	struct berr *e = NULL;
	if (ctr_rm(cs, id, true, &e) < 0) {
		berr_free(e);
		e = NULL;
		/* the monitor may still be finishing: try once more */
		usleep(100000);
		ctr_rm(cs, id, true, &e);
		berr_free(e);
	}
	if (cfg)
		volume_remove_anonymous(cs->root, cfg);
}

int brun_exec(struct image_store *is, struct ctr_store *cs, struct bprog *p, const struct brun *r,
	      struct layer_stage *ret, int *ret_code, struct berr **err)
{
	*ret_code = -1;
	const char *mode = !strcmp(r->network, "default") ? "default" : r->network;
	_cleanup_json_ json_t *req = json_pack("{s:s, s:O, s:[], s:O, s:{s:[s]}, s:{s:s}}", "Image", r->image_id, "Cmd",
					       r->argv, "Entrypoint", "Env", r->env, "Healthcheck", "Test", "NONE",
					       "HostConfig", "NetworkMode", mode);
	if (!req)
		return berr_set(err, ENOMEM, "RUN");
	if (r->user && *r->user)
		json_object_set_new(req, "User", json_string(r->user));
	if (r->workdir && *r->workdir)
		json_object_set_new(req, "WorkingDir", json_string(r->workdir));
	char id[65];
	if (ctr_create_from(cs, is, req, NULL, id, err) < 0)
		return berr_wrap(err, "creating the RUN container");
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0) {
		int e = errno;
		remove_container(cs, id);
		return berr_set(err, e, "pipe");
	}
	struct monitor_attach a = {.attach = true, .in = -1, .out = pp[1], .err = pp[1]};
	int sfd = -1, code = 125;
	if (ctr_start(cs, id, &a, &sfd, &code, err) < 0) {
		close(pp[0]);
		close(pp[1]);
		remove_container(cs, id);
		*ret_code = code;
		return berr_wrap(err, "starting the RUN container");
	}
	close(pp[1]);
	int status = -1;
	bool out_open = true, killed = false;
	char buf[8192];
	while (out_open || sfd >= 0) {
		if (build_interrupted && !killed) {
			ctr_kill(cs, id, SIGKILL, NULL);
			killed = true;
		}
		struct pollfd pf[2] = {{.fd = out_open ? pp[0] : -1, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		int n = poll(pf, 2, sfd < 0 ? 2000 : 500);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && sfd < 0)
			break; /* exited; output fd kept open by someone else */
		if (out_open && (pf[0].revents & (POLLIN | POLLHUP))) {
			ssize_t k = read(pp[0], buf, sizeof(buf));
			if (k > 0)
				bprog_output(p, buf, (size_t)k);
			else if (k == 0 || errno != EINTR)
				out_open = false;
		}
		if (sfd >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
			status = ctr_wait_status(sfd);
			close(sfd);
			sfd = -1;
		}
	}
	close(pp[0]);
	bprog_output_flush(p);
	if (status < 0) {
		int ec = -1;
		if (ctr_wait_exit(cs, id, &ec, NULL) == 0)
			status = ec;
	}
	if (build_interrupted) {
		remove_container(cs, id);
		return berr_setc(err, BERR_INVALID, "interrupted");
	}
	if (status != 0) {
		remove_container(cs, id);
		*ret_code = status;
		return berr_setc(err, BERR_INVALID, "exit code: %d", status);
	}
	int rc = -1;
	_cleanup_close_ int dfd = ctr_dirfd(cs, id);
	_cleanup_close_ int ufd = dfd >= 0 ? openat(dfd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (ufd < 0)
		berr_set(err, errno, "opening the RUN container's upper directory");
	else
		rc = bdiff_layer_from_dir(is, ufd, r->epoch, ret, err);
	remove_container(cs, id);
	return rc;
}
