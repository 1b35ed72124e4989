#include "cli/cli.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_command commands[] = {
	{"images", cmd_images, "List images",
	 "berth images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
	 "Options:\n"
	 "  -a, --all             Show all images (default hides intermediate images)\n"
	 "      --digests         Show digests\n"
	 "  -f, --filter filter   Filter output (dangling=true|false, reference=REPO[:TAG])\n"
	 "      --format string   Format output: table, json, or a Go-style template\n"
	 "      --no-trunc        Don't truncate output\n"
	 "  -q, --quiet           Only show image IDs\n"},
	{"import", cmd_import, "Import the contents from a tarball to create a filesystem image",
	 "berth import [OPTIONS] file|- [REPOSITORY[:TAG]]\n\n"
	 "The tarball may be plain, gzip or zstd compressed.\n\n"
	 "Options:\n"
	 "  -c, --change list       Apply Dockerfile instruction to the created image\n"
	 "                          (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD,\n"
	 "                          STOPSIGNAL, USER, VOLUME, WORKDIR)\n"
	 "  -m, --message string    Set commit message for imported image\n"
	 "      --platform string   Set platform (only the local one, linux/ARCH)\n"},
	{"load", cmd_load, "Load images from a tar archive or STDIN",
	 "berth load [OPTIONS]\n\n"
	 "Reads docker-archive (docker save) and OCI layout archives (podman save\n"
	 "--format oci-archive), plain or compressed.\n\n"
	 "Options:\n"
	 "  -i, --input string   Read from tar archive file, instead of STDIN\n"
	 "  -q, --quiet          Suppress the load output\n"},
	{"save", cmd_save, "Save one or more images to a tar archive (streamed to STDOUT by default)",
	 "berth save [OPTIONS] IMAGE [IMAGE...]\n\n"
	 "Options:\n"
	 "      --format string   docker-archive (default) or oci-archive\n"
	 "  -o, --output string   Write to a file, instead of STDOUT\n"},
	{"tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
	 "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n"},
	{"rmi", cmd_rmi, "Remove one or more images",
	 "berth rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
	 "Options:\n"
	 "  -f, --force      Force removal of the image\n"
	 "      --no-prune   Do not delete untagged parents\n"},
	{"inspect", cmd_image_inspect, "Return low-level information on images",
	 "berth inspect [OPTIONS] NAME [NAME...]\n\n"
	 "Options:\n"
	 "  -f, --format string   Format output using a Go-style template\n"
	 "      --type string     Only image is known so far\n"},
	{"image inspect", cmd_image_inspect, "Display detailed information on one or more images",
	 "berth image inspect [OPTIONS] IMAGE [IMAGE...]\n\n"
	 "Options:\n"
	 "  -f, --format string   Format output using a Go-style template\n"},
	{"image ls", cmd_images, "List images", NULL},
	{"image list", cmd_images, NULL, NULL},
	{"image rm", cmd_rmi, "Remove one or more images", NULL},
	{"image remove", cmd_rmi, NULL, NULL},
	{"image tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", NULL},
	{"image load", cmd_load, "Load an image from a tar archive or STDIN", NULL},
	{"image save", cmd_save, "Save one or more images to a tar archive", NULL},
	{"image import", cmd_import, "Import the contents from a tarball to create a filesystem image", NULL},
	{"image prune", cmd_image_prune, "Remove unused images",
	 "berth image prune [OPTIONS]\n\n"
	 "Options:\n"
	 "  -a, --all     Remove all unused images, not just dangling ones\n"
	 "  -f, --force   Do not prompt for confirmation\n"},
	{"system df", cmd_system_df, "Show disk usage",
	 "berth system df [OPTIONS]\n\n"
	 "Options:\n"
	 "      --format string   Format output: table, json, or a Go-style template\n"},
	{"version", cmd_version, "Show the berth version information", "berth version\n"},
};

/* Commands that later issues add: say so instead of "unknown command". */
static const char *const planned[] = {
	"run", "create", "start", "stop", "restart", "kill", "rm", "ps", "exec", "logs", "wait",
	"pause", "unpause", "top", "port", "cp", "diff", "commit", "export", "rename", "update",
	"attach", "stats", "events", "build", "builder", "pull", "push", "login", "logout", "search",
	"network", "volume", "compose", "container", "kube", "system prune", "system info", "info",
};

const struct cli_command *cli_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static const struct cli_command *canonical(const struct cli_command *cmd)
{
	/* Aliases share the usage text of the entry with the same function. */
	if (cmd->usage)
		return cmd;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].fn == cmd->fn && commands[i].usage)
			return &commands[i];
	return cmd;
}

int cli_help(struct cli *c)
{
	const struct cli_command *cmd = cli_find(c->cmd);
	if (!cmd)
		return 0;
	const struct cli_command *can = canonical(cmd);
	printf("\nUsage:  %s\n%s\n", can->usage, cmd->summary ? cmd->summary : can->summary);
	return 0;
}

static void main_usage(FILE *out)
{
	fprintf(out,
		"\nUsage:  berth [OPTIONS] COMMAND\n\n"
		"A fast, daemonless container engine\n\n"
		"Options:\n"
		"      --root string      Store images and state under this directory\n"
		"                         (env BERTH_ROOT, default /var/lib/berth)\n"
		"      --runroot string   Runtime state directory (default /run/berth)\n"
		"  -v, --version          Print version information and quit\n"
		"  -h, --help             Show this help\n\n"
		"Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].summary && commands[i].usage)
			fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'berth COMMAND --help' for more information on a command.\n");
}

int main(int argc, char **argv)
{
	struct cli c = {0};
	c.root = getenv("BERTH_ROOT");
	if (!c.root || !*c.root)
		c.root = "/var/lib/berth";
	c.runroot = getenv("BERTH_RUNROOT");
	if (!c.runroot || !*c.runroot)
		c.runroot = "/run/berth";

	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (!strcmp(a, "--root") || !strncmp(a, "--root=", 7))
			dst = &c.root;
		else if (!strcmp(a, "--runroot") || !strncmp(a, "--runroot=", 10))
			dst = &c.runroot;
		if (dst) {
			const char *eq = strchr(a, '=');
			if (eq) {
				*dst = eq + 1;
			} else if (i + 1 < argc) {
				*dst = argv[++i];
			} else {
				fprintf(stderr, "berth: flag needs an argument: %s\nSee 'berth --help'.\n", a);
				return 1;
			}
			if (!**dst) {
				fprintf(stderr, "berth: %s must not be empty\n", a);
				return 1;
			}
			continue;
		}
		if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			printf("berth version %s\n", BERTH_VERSION);
			return 0;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			main_usage(stdout);
			return 0;
		}
		fprintf(stderr, "berth: unknown flag: %s\nSee 'berth --help'.\n", a);
		return 1;
	}
	if (i >= argc) {
		main_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[i], "help")) {
		main_usage(stdout);
		return 0;
	}

	/* Two-word commands ("image ls", "system df") first. */
	char two[128];
	const struct cli_command *cmd = NULL;
	int used = 1;
	if (i + 1 < argc) {
		snprintf(two, sizeof(two), "%s %s", argv[i], argv[i + 1]);
		cmd = cli_find(two);
		if (cmd)
			used = 2;
	}
	if (!cmd)
		cmd = cli_find(argv[i]);
	if (!cmd) {
		const char *name = argv[i] ? argv[i] : "";
		bool group = !strcmp(name, "image") || !strcmp(name, "system");
		if (group && (i + 1 >= argc || !strcmp(argv[i + 1], "--help") || !strcmp(argv[i + 1], "-h"))) {
			printf("\nUsage:  berth %s COMMAND\n\nCommands:\n", name);
			size_t n = strlen(name);
			for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
				if (!strncmp(commands[k].name, name, n) && commands[k].name[n] == ' ' &&
				    commands[k].summary) {
					const char *sum = commands[k].summary;
					printf("  %-10s %s\n", commands[k].name + n + 1, sum ? sum : "");
				}
			return 0;
		}
		if (i + 1 < argc) {
			snprintf(two, sizeof(two), "%s %s", argv[i], argv[i + 1]);
			for (size_t k = 0; k < ARRAY_SIZE(planned); k++)
				if (!strcmp(planned[k], two))
					name = two;
		}
		for (size_t k = 0; k < ARRAY_SIZE(planned); k++) {
			if (!strcmp(planned[k], name)) {
				fprintf(stderr, "berth: '%s' is not available in this version of berth yet\n", name);
				return 1;
			}
		}
		if (group)
			fprintf(stderr, "berth: '%s %s' is not a berth command.\nSee 'berth %s --help'.\n", argv[i],
				argv[i + 1], argv[i]);
		else
			fprintf(stderr, "berth: '%s' is not a berth command.\nSee 'berth --help'.\n", name);
		return 1;
	}
	c.cmd = cmd->name;
	/* argv for the command: its own name first, like a program. */
	int cargc = argc - i - used + 1;
	char **cargv = argv + i + used - 1;
	int rc = cmd->fn(&c, cargc, cargv);
	image_store_free(c.store);
	if (fflush(stdout) != 0 && rc == 0) {
		perror("berth: writing output");
		rc = 1;
	}
	return rc;
}
