#include "cli/cli.h"
#include "registry/registry.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* One line from fd without its newline (bounded). */
static char *read_line_fd(int fd, bool all)
{
	struct sbuf b = SBUF_INIT;
	char ch;
	while (b.len < 65536 && read(fd, &ch, 1) == 1) {
		if (ch == '\n' && !all)
			break;
		sbuf_addc(&b, ch);
	}
	while (b.len && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == '\r'))
		b.s[--b.len] = 0;
	return sbuf_detach(&b);
}

CMD(login)
{
	enum { O_PWSTDIN = 256 };
	static const struct option lo[] = {{"username", required_argument, 0, 'u'},
					   {"password", required_argument, 0, 'p'},
					   {"password-stdin", no_argument, 0, O_PWSTDIN},
					   {"help", no_argument, 0, 'h'},
					   {0}};
	const char *user = NULL;
	_cleanup_free_ char *pass = NULL, *user_read = NULL;
	bool pw_stdin = false;
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "u:p:h", lo, NULL)) != -1) {
		switch (o) {
		case 'u': user = optarg; break;
		case 'p':
			free(pass);
			pass = strdup(optarg);
			break;
		case O_PWSTDIN: pw_stdin = true; break;
		case 'h': return cli_help(c);
		default: return cli_usage_error(c, "got an unknown flag.");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(c, "requires at most 1 argument.");
	const char *server = optind < argc ? argv[optind] : "docker.io";
	struct berr *e = NULL;
	if (pw_stdin) {
		if (pass) {
			berr_setc(&e, BERR_INVALID, "--password and --password-stdin are mutually exclusive");
			return cli_fail(e);
		}
		if (!user) {
			berr_setc(&e, BERR_INVALID, "Must provide --username with --password-stdin");
			return cli_fail(e);
		}
		pass = read_line_fd(0, true);
	} else if (pass) {
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
	}
	if (!user || !pass) {
		if (!isatty(0)) {
			berr_setc(&e, BERR_INVALID, "Cannot perform an interactive login from a non TTY device");
			return cli_fail(e);
		}
		if (!user) {
			_cleanup_free_ char *old = reg_login_user(server);
			printf("Username%s%s%s: ", old ? " (" : "", old ? old : "", old ? ")" : "");
			fflush(stdout);
			user_read = read_line_fd(0, false);
			if (!*user_read && old) {
				free(user_read);
				user_read = strdup(old);
			}
			user = user_read;
		}
		if (!pass) {
			printf("Password: ");
			fflush(stdout);
			struct termios t, saved;
			bool raw = tcgetattr(0, &saved) == 0;
			if (raw) {
				t = saved;
				t.c_lflag &= ~(tcflag_t)ECHO;
				tcsetattr(0, TCSANOW, &t);
			}
			pass = read_line_fd(0, false);
			if (raw)
				tcsetattr(0, TCSANOW, &saved);
			printf("\n");
		}
	}
	if (!user || !*user) {
		berr_setc(&e, BERR_INVALID, "Username is required");
		return cli_fail(e);
	}
	if (!pass || !*pass) {
		berr_setc(&e, BERR_INVALID, "Password is required");
		return cli_fail(e);
	}
	int r = reg_login(server, user, pass, &e);
	explicit_bzero(pass, strlen(pass));
	if (r < 0) {
		berr_wrap(&e, "login to %s", server);
		return cli_fail(e);
	}
	/* Docker's warning (on stderr): the password is kept in the file as base64 */
	_cleanup_free_ char *file = reg_creds_path();
	fprintf(stderr,
		"\nWARNING! Your credentials are stored unencrypted in '%s'.\n"
		"Configure a credential helper to remove this warning. See\n"
		"https://docs.docker.com/go/credential-store/\n\n",
		file ? file : "config.json");
	printf("Login Succeeded\n");
	return 0;
}

CMD(logout)
{
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (o == 'h')
			return cli_help(c);
		return cli_usage_error(c, "got an unknown flag.");
	}
	if (argc - optind > 1)
		return cli_usage_error(c, "requires at most 1 argument.");
	const char *server = optind < argc ? argv[optind] : "docker.io";
	_cleanup_free_ char *key = reg_server_key(server);
	bool had = false;
	struct berr *e = NULL;
	if (reg_logout(server, &had, &e) < 0)
		return cli_fail(e);
	if (had)
		printf("Removing login credentials for %s\n", key);
	else
		printf("Not logged in to %s\n", key);
	return 0;
}
