#include "cli/cli.h"
#include "runtime/container.h"
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
	{"build", cmd_build, "Build an image from a Dockerfile",
	 "berth build [OPTIONS] PATH | -\n\n"
	 "Options:\n"
	 "      --build-arg list      Set build-time variables\n"
	 "  -f, --file string         Name of the Dockerfile (default: \"PATH/Dockerfile\"; \"-\" reads it from stdin)\n"
	 "      --iidfile string      Write the image ID to the file\n"
	 "      --label list          Set metadata for an image\n"
	 "      --network string      Networking mode for the RUN instructions: default, none or host (default \"default\")\n"
	 "      --no-cache            Do not use cache when building the image\n"
	 "      --platform string     Set the platform (only the local one)\n"
	 "      --progress string     Set type of progress output (auto, plain, tty, quiet) (default \"auto\")\n"
	 "  -q, --quiet               Suppress the build output and print image ID on success\n"
	 "  -t, --tag list            Name and optionally a tag in the \"name:tag\" format\n"
	 "      --target string       Set the target build stage to build\n"},
	{"image build", cmd_build, "Build an image from a Dockerfile", NULL},
	{"builder build", cmd_build, "Build an image from a Dockerfile", NULL},
	{"builder prune", cmd_builder_prune, "Remove build cache",
	 "berth builder prune [OPTIONS]\n\n"
	 "Options:\n"
	 "  -a, --all     Remove all unused build cache, not just dangling ones\n"
	 "  -f, --force   Do not prompt for confirmation\n"},
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
	{"pull", cmd_pull, "Download an image from a registry",
	 "berth pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
	 "Registry settings: $BERTH_CONFIG_DIR/registries.json (insecure-registries,\n"
	 "registry-mirrors), certs.d/HOST:PORT/ there or in /etc/docker; credentials\n"
	 "from $DOCKER_CONFIG/config.json or ~/.docker/config.json.\n\n"
	 "Options:\n"
	 "      --max-concurrent-downloads int   Parallel layer downloads (default 3)\n"
	 "      --platform string                Set platform if the image is multi-platform (os/arch[/variant])\n"
	 "  -q, --quiet                          Suppress verbose output\n"},
	{"push", cmd_push, "Upload an image to a registry",
	 "berth push [OPTIONS] NAME[:TAG]\n\n"
	 "Options:\n"
	 "  -q, --quiet   Suppress verbose output\n"},
	{"login", cmd_login, "Log in to a registry",
	 "berth login [OPTIONS] [SERVER]\n\n"
	 "Credentials go to $DOCKER_CONFIG/config.json (or ~/.docker/config.json), mode 0600.\n\n"
	 "Options:\n"
	 "  -p, --password string   Password\n"
	 "      --password-stdin    Take the password from stdin\n"
	 "  -u, --username string   Username\n"},
	{"logout", cmd_logout, "Log out from a registry", "berth logout [SERVER]\n"},
	{"image pull", cmd_pull, "Download an image from a registry", NULL},
	{"image push", cmd_push, "Upload an image to a registry", NULL},
	{"tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
	 "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n"},
	{"rmi", cmd_rmi, "Remove one or more images",
	 "berth rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
	 "Options:\n"
	 "  -f, --force      Force removal of the image\n"
	 "      --no-prune   Do not delete untagged parents (berth images have none)\n"},
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
	{"system prune", cmd_system_prune, "Remove unused data",
	 "berth system prune [OPTIONS]\n\n"
	 "Options:\n"
	 "  -a, --all       Remove all unused images not just dangling ones\n"
	 "  -f, --force     Do not prompt for confirmation\n"
	 "      --volumes   Prune anonymous volumes\n"},
	{"version", cmd_version, "Show the berth version information", "berth version\n"},
	{"run", cmd_run, "Create and run a new container from an image",
	 "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
	 "Options:\n"
	 "  -a, --attach list            Attach to STDIN, STDOUT or STDERR (default: STDOUT and STDERR)\n"
	 "  -d, --detach                 Run container in background and print container ID\n"
	 "      --rm                     Automatically remove the container when it exits\n"
	 "      --name string            Assign a name to the container\n"
	 "  -e, --env list               Set environment variables\n"
	 "      --env-file list          Read in a file of environment variables\n"
	 "  -w, --workdir string         Working directory inside the container\n"
	 "  -u, --user string            Username or UID (format: <name|uid>[:<group|gid>])\n"
	 "      --group-add list         Add additional groups to join\n"
	 "      --entrypoint string      Overwrite the default ENTRYPOINT of the image\n"
	 "  -h, --hostname string        Container host name\n"
	 "  -l, --label list             Set meta data on a container\n"
	 "  -i, --interactive            Keep STDIN open even if not attached\n"
	 "  -t, --tty                    Allocate a pseudo-TTY\n"
	 "      --detach-keys string     Override the key sequence for detaching a container (default ctrl-p,ctrl-q)\n"
	 "      --restart string         Restart policy: no, always, on-failure[:N], unless-stopped\n"
	 "      --stop-signal string     Signal to stop the container\n"
	 "      --stop-timeout int       Timeout (in seconds) to stop a container\n"
	 "      --network string         Connect to a network: bridge (default), NAME, none or host\n"
	 "      --network-alias list     Add a network-scoped alias for the container\n"
	 "      --ip string              IPv4 address (e.g., 172.30.100.104)\n"
	 "      --dns list               Set custom DNS servers\n"
	 "      --add-host list          Add a custom host-to-IP mapping (host:ip)\n"
	 "      --health-cmd string      Command to run to check health\n"
	 "      --health-interval, --health-timeout, --health-start-period, --health-start-interval duration\n"
	 "      --health-retries int     Consecutive failures needed to report unhealthy\n"
	 "      --no-healthcheck         Disable any container-specified HEALTHCHECK\n"
	 "      --cap-add, --cap-drop list  Add or drop Linux capabilities\n"
	 "      --privileged             Give extended privileges to this container\n"
	 "      --security-opt list      seccomp=unconfined|FILE.json, no-new-privileges\n"
	 "      --read-only              Mount the container's root filesystem as read only\n"
	 "      --tmpfs list             Mount a tmpfs directory (PATH[:OPTIONS])\n"
	 "  -v, --volume list            Bind mount a host path (HOSTPATH:PATH[:ro])\n"
	 "      --mount mount            type=bind|tmpfs,source=...,target=...[,readonly]\n"
	 "      --ulimit ulimit          Ulimit options (NAME=SOFT[:HARD])\n"
	 "      --sysctl map             Namespaced kernel parameters\n"
	 "      --shm-size bytes         Size of /dev/shm\n"
	 "      --init                   Run an init inside the container that forwards signals and reaps processes\n"
	 "  -m, --memory bytes           Memory limit\n"
	 "      --memory-swap bytes      Swap limit equal to memory plus swap: -1 to enable unlimited swap\n"
	 "      --cpus decimal           Number of CPUs\n"
	 "  -c, --cpu-shares int         CPU shares (relative weight)\n"
	 "      --pids-limit int         Tune container pids limit (-1 for unlimited)\n"
	 "      --cpuset-cpus string     CPUs in which to allow execution (0-3, 0,1)\n"
	 "      --log-opt list           json-file: max-size, max-file, labels, labels-regex, env, env-regex, tag\n"
	 "      --sig-proxy              Proxy received signals to the process (default true)\n"
	 "      --expose list            Expose a port or a range of ports\n"},
	{"create", cmd_create, "Create a new container",
	 "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nTakes the options of berth run (except -d and --rm's effect on start).\n"},
	{"start", cmd_start, "Start one or more stopped containers",
	 "berth start [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	 "Options:\n"
	 "  -a, --attach        Attach STDOUT/STDERR and forward signals\n"
	 "  -i, --interactive   Attach container's STDIN\n"
	 "      --detach-keys string   Override the key sequence for detaching a container\n"},
	{"stop", cmd_stop, "Stop one or more running containers",
	 "berth stop [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	 "Options:\n"
	 "  -s, --signal string   Signal to send instead of the container's stop signal\n"
	 "  -t, --time int        Seconds to wait before killing the container\n"},
	{"restart", cmd_restart, "Restart one or more containers",
	 "berth restart [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	 "Options:\n"
	 "  -s, --signal string   Signal to send instead of the container's stop signal\n"
	 "  -t, --time int        Seconds to wait before killing the container\n"},
	{"kill", cmd_kill, "Kill one or more running containers",
	 "berth kill [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	 "Options:\n"
	 "  -s, --signal string   Signal to send to the container (default KILL)\n"},
	{"rm", cmd_rm, "Remove one or more containers",
	 "berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	 "Options:\n"
	 "  -f, --force     Force the removal of a running container (uses SIGKILL)\n"
	 "  -l, --link      Remove a legacy link (refused: berth has no links)\n"
	 "  -v, --volumes   Remove the anonymous volumes of the container\n"},
	{"port", cmd_port, "List port mappings or a specific mapping for the container",
	 "berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n"},
	{"container port", cmd_port, "List port mappings or a specific mapping for the container", NULL},
	{"ps", cmd_ps, "List containers",
	 "berth ps [OPTIONS]\n\n"
	 "Options:\n"
	 "  -a, --all             Show all containers (default shows just running)\n"
	 "  -f, --filter filter   status=, name=, id=, label=, exited=, ancestor=, health=\n"
	 "      --format string   table, json or a Go-style template\n"
	 "  -n, --last int        Show n last created containers\n"
	 "  -l, --latest          Show the latest created container\n"
	 "      --no-trunc        Don't truncate output\n"
	 "  -q, --quiet           Only display container IDs\n"
	 "  -s, --size            Display total file sizes (also when --format uses .Size)\n"},
	{"logs", cmd_logs, "Fetch the logs of a container",
	 "berth logs [OPTIONS] CONTAINER\n\n"
	 "Options:\n"
	 "      --details        Show the attributes --log-opt labels/env/tag gave the log\n"
	 "  -f, --follow         Follow log output\n"
	 "      --since string   Show logs since timestamp or relative (e.g. 42m)\n"
	 "  -n, --tail string    Number of lines to show from the end of the logs (default \"all\")\n"
	 "  -t, --timestamps     Show timestamps\n"
	 "      --until string   Show logs before a timestamp or relative (e.g. 42m)\n"},
	{"wait", cmd_wait, "Block until one or more containers stop, then print their exit codes",
	 "berth wait CONTAINER [CONTAINER...]\n"},
	{"exec", cmd_exec, "Execute a command in a running container",
	 "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
	 "Options:\n"
	 "  -d, --detach           Detached mode: run command in the background\n"
	 "  -e, --env list         Set environment variables\n"
	 "      --env-file list    Read in a file of environment variables\n"
	 "  -i, --interactive      Keep STDIN open even if not attached\n"
	 "      --privileged       Give extended privileges to the command\n"
	 "  -t, --tty              Allocate a pseudo-TTY\n"
	 "  -u, --user string      Username or UID (format: <name|uid>[:<group|gid>])\n"
	 "  -w, --workdir string   Working directory inside the container\n"},
	{"container prune", cmd_container_prune, "Remove all stopped containers",
	 "berth container prune [OPTIONS]\n\nOptions:\n  -f, --force   Do not prompt for confirmation\n"},
	{"container run", cmd_run, "Create and run a new container from an image", NULL},
	{"container create", cmd_create, "Create a new container", NULL},
	{"container start", cmd_start, "Start one or more stopped containers", NULL},
	{"container stop", cmd_stop, "Stop one or more running containers", NULL},
	{"container restart", cmd_restart, "Restart one or more containers", NULL},
	{"container kill", cmd_kill, "Kill one or more running containers", NULL},
	{"container rm", cmd_rm, "Remove one or more containers", NULL},
	{"container ls", cmd_ps, "List containers", NULL},
	{"container list", cmd_ps, NULL, NULL},
	{"container ps", cmd_ps, NULL, NULL},
	{"container logs", cmd_logs, "Fetch the logs of a container", NULL},
	{"container wait", cmd_wait, "Block until one or more containers stop", NULL},
	{"container exec", cmd_exec, "Execute a command in a running container", NULL},
	{"container inspect", cmd_image_inspect, "Display detailed information on one or more containers",
	 "berth container inspect [OPTIONS] CONTAINER [CONTAINER...]\n\nOptions:\n  -f, --format string   Format output using a Go-style template\n"},
	{"pause", cmd_pause, "Pause all processes within one or more containers",
	 "berth pause CONTAINER [CONTAINER...]\n"},
	{"unpause", cmd_unpause, "Unpause all processes within one or more containers",
	 "berth unpause CONTAINER [CONTAINER...]\n"},
	{"top", cmd_top, "Display the running processes of a container",
	 "berth top CONTAINER [ps OPTIONS]\n\n"
	 "Without ps options, the columns of ps -ef (read from /proc); with them, the\n"
	 "host's ps runs with those options and the container's processes are kept.\n"},
	{"stats", cmd_stats, "Display a live stream of container(s) resource usage statistics",
	 "berth stats [OPTIONS] [CONTAINER...]\n\n"
	 "Options:\n"
	 "  -a, --all             Show all containers (default shows just running)\n"
	 "      --format string   Format output: table, json, or a Go-style template\n"
	 "      --no-stream       Disable streaming stats and only pull the first result\n"
	 "      --no-trunc        Do not truncate output\n"},
	{"rename", cmd_rename, "Rename a container", "berth rename CONTAINER NEW_NAME\n"},
	{"cp", cmd_cp, "Copy files/folders between a container and the local filesystem",
	 "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
	 "        berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
	 "Use '-' as the source to read a tar archive from stdin and extract it to a\n"
	 "directory destination in a container. Use '-' as the destination to stream a\n"
	 "tar archive of a container source to stdout.\n\n"
	 "Options:\n"
	 "  -a, --archive       Archive mode (copy all uid/gid information)\n"
	 "  -L, --follow-link   Always follow symbol link in SRC_PATH\n"
	 "  -q, --quiet         Suppress progress output during copy (only shown on a terminal)\n"},
	{"container pause", cmd_pause, "Pause all processes within one or more containers", NULL},
	{"container unpause", cmd_unpause, "Unpause all processes within one or more containers", NULL},
	{"container top", cmd_top, "Display the running processes of a container", NULL},
	{"container stats", cmd_stats, "Display a live stream of container(s) resource usage statistics", NULL},
	{"container rename", cmd_rename, "Rename a container", NULL},
	{"container cp", cmd_cp, "Copy files/folders between a container and the local filesystem", NULL},
	{"attach", cmd_attach, "Attach local standard input, output, and error streams to a running container",
	 "berth attach [OPTIONS] CONTAINER\n\n"
	 "With a tty, CTRL-p CTRL-q detaches (the container runs on). Without one,\n"
	 "stdout and stderr stay apart and signals go to the container (--sig-proxy).\n"
	 "Ends with the container's exit code when it exits.\n\n"
	 "Options:\n"
	 "      --detach-keys string   Override the key sequence for detaching a container\n"
	 "      --no-stdin             Do not attach STDIN\n"
	 "      --sig-proxy            Proxy all received signals to the process (default true)\n"},
	{"container attach", cmd_attach, "Attach local standard input, output, and error streams to a running container",
	 NULL},
	{"network create", cmd_network_create, "Create a network",
	 "berth network create [OPTIONS] NETWORK\n\n"
	 "Options:\n"
	 "      --gateway string   IPv4 Gateway for the master subnet\n"
	 "      --internal         Restrict external access to the network\n"
	 "      --label list       Set metadata on a network\n"
	 "      --subnet string    Subnet in CIDR format that represents a network segment\n"},
	{"network ls", cmd_network_ls, "List networks",
	 "berth network ls [OPTIONS]\n\n"
	 "Options:\n"
	 "  -f, --filter filter   Provide filter values (e.g. \"driver=bridge\"): name, id, driver, label, type, scope\n"
	 "      --format string   Format output using a Go-style template\n"
	 "      --no-trunc        Do not truncate the output\n"
	 "  -q, --quiet           Only display network IDs\n"},
	{"network list", cmd_network_ls, NULL, NULL},
	{"network inspect", cmd_network_inspect, "Display detailed information on one or more networks",
	 "berth network inspect [OPTIONS] NETWORK [NETWORK...]\n\nOptions:\n  -f, --format string   Format output using a Go-style template\n"},
	{"network rm", cmd_network_rm, "Remove one or more networks",
	 "berth network rm [OPTIONS] NETWORK [NETWORK...]\n\nOptions:\n  -f, --force   Do not error if the network does not exist\n"},
	{"network remove", cmd_network_rm, NULL, NULL},
	{"network prune", cmd_network_prune, "Remove all unused networks",
	 "berth network prune [OPTIONS]\n\nOptions:\n  -f, --force   Do not prompt for confirmation\n"},
	{"network connect", cmd_network_connect, "Connect a container to a network",
	 "berth network connect [OPTIONS] NETWORK CONTAINER\n\n"
	 "Options:\n"
	 "      --alias strings   Add network-scoped alias for the container\n"
	 "      --ip string       IPv4 address (e.g., 172.30.100.104)\n"},
	{"network disconnect", cmd_network_disconnect, "Disconnect a container from a network",
	 "berth network disconnect [OPTIONS] NETWORK CONTAINER\n\n"
	 "Options:\n"
	 "  -f, --force   Force the container to disconnect from a network\n"},
	{"volume create", cmd_volume_create, "Create a volume",
	 "berth volume create [OPTIONS] [VOLUME]\n\n"
	 "Options:\n"
	 "  -d, --driver string   Specify volume driver name (only \"local\")\n"
	 "      --label list      Set metadata for a volume\n"
	 "  -o, --opt map         Driver specific options (refused: berth's local volumes\n"
	 "                        are plain directories, with nothing to mount)\n"},
	{"volume ls", cmd_volume_ls, "List volumes",
	 "berth volume ls [OPTIONS]\n\n"
	 "Options:\n"
	 "  -f, --filter filter   Provide filter values (e.g. \"dangling=true\")\n"
	 "      --format string   Format output using a Go-style template\n"
	 "  -q, --quiet           Only display volume names\n"},
	{"volume list", cmd_volume_ls, NULL, NULL},
	{"volume inspect", cmd_volume_inspect, "Display detailed information on one or more volumes",
	 "berth volume inspect [OPTIONS] VOLUME [VOLUME...]\n\nOptions:\n  -f, --format string   Format output using a Go-style template\n"},
	{"volume rm", cmd_volume_rm, "Remove one or more volumes",
	 "berth volume rm [OPTIONS] VOLUME [VOLUME...]\n\nOptions:\n  -f, --force   Do not error if the volume does not exist\n"},
	{"volume remove", cmd_volume_rm, NULL, NULL},
	{"kube convert", cmd_kube_convert, "Convert a compose project to Kubernetes manifests",
	 "berth kube convert [OPTIONS]\n\n"
	 "Options:\n"
	 "  -f, --file stringArray            Compose configuration files\n"
	 "  -p, --project-name string         Project name\n"
	 "      --profile stringArray         Profiles to enable\n"
	 "      --env-file stringArray        Alternate environment files\n"
	 "      --project-directory string    Alternate working directory\n"
	 "  -o, --out FILE|DIR/               One file, or one file per object in DIR/ (default: stdout)\n"
	 "      --chart DIR                   A Helm chart in DIR (new or empty) that renders the same\n"
	 "                                    objects; nothing on stdout unless -o - says so\n"
	 "      --format yaml|json            Output format (default yaml; json is a List)\n"
	 "      --namespace string            metadata.namespace of every object\n"
	 "      --controller string           deployment (default), statefulset or daemonset\n"
	 "      --replicas int                Replicas of every workload (default: deploy.replicas or 1)\n"
	 "      --volumes string              What bind mounts become: pvc, emptydir, hostpath or\n"
	 "                                    configmap (default: a ConfigMap for a file or a non-empty\n"
	 "                                    directory that exists, else a claim; label kompose.volume.type)\n"
	 "      --network-policies            NetworkPolicies that mirror compose's network isolation\n"
	 "      --no-interpolate              Do not interpolate ${VARIABLES} in the compose files\n"
	 "      --pvc-request-size string     Claim size (default 100Mi; label kompose.volume.size)\n"
	 "      --image-registry HOST[/PREFIX]  Image prefix for services with build:\n"
	 "      --push                        Build the build: services as compose build does and push\n"
	 "                                    each to the name the manifests give it (REGISTRY/\n"
	 "                                    PROJECT-SERVICE:latest, or its own image:); needs\n"
	 "                                    --image-registry; after a failure nothing is written\n"
	 "      --wait-image string           Image of the depends_on init containers (default busybox:1.36)\n"
	 "      --kubectl-image string        Image that waits for a Job (service_completed_successfully;\n"
	 "                                    default registry.k8s.io/kubectl:v1.36.0)\n"
	 "      --with-annotations=false      No tool annotations (what berth always does)\n"},
	{"kube play", cmd_kube_play, "Run Kubernetes manifests on this machine",
	 "berth kube play [OPTIONS] FILE|DIR|- [FILE|DIR|-...]\n\n"
	 "Runs Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, Pods, Services, ConfigMaps,\n"
	 "Secrets and PersistentVolumeClaims as a one-node cluster would. Playing the same files again\n"
	 "changes nothing; a changed file converges (Deployments roll their pods).\n\n"
	 "Options:\n"
	 "  -f, --file FILE       A manifest file, directory or - (stdin); repeatable\n"
	 "  -n, --namespace NS    Namespace of objects that name none (default \"default\")\n"
	 "      --replace         Remove the file's objects and their pods first, then create them again\n"
	 "      --prune           Remove objects an earlier play of these files made that they no longer hold\n"
	 "  -w, --wait            Wait until every pod is Ready (and Jobs have finished)\n"
	 "      --timeout D       How long --wait waits (default 5m)\n"
	 "      --build           Build images from a directory named after the image beside the manifest\n"
	 "      --publish-all     Publish every containerPort on the same host port, not only hostPorts\n"
	 "  -q, --quiet           Print nothing but errors\n"},
	{"kube down", cmd_kube_down, "Remove what kube play made",
	 "berth kube down [OPTIONS] FILE|DIR|-\n       berth kube down --namespace NS --all\n\n"
	 "Options:\n"
	 "  -f, --file FILE       A manifest file, directory or - (stdin); repeatable\n"
	 "  -n, --namespace NS    The namespace (with --all: all of its objects)\n"
	 "  -a, --all             Every object of the namespace\n"
	 "  -v, --volumes         Also remove the volumes of PersistentVolumeClaims\n"
	 "  -q, --quiet           Print nothing but errors\n"},
	{"kube scale", cmd_kube_scale, "Set the replica count of a Deployment, ReplicaSet or StatefulSet",
	 "berth kube scale [OPTIONS] TYPE/NAME --replicas N\n\n"
	 "Options:\n"
	 "      --replicas N      The new number of replicas\n"
	 "  -n, --namespace NS    Namespace (default \"default\")\n"},
	{"kube get", cmd_kube_get, "Display the objects kube play made, as kubectl get does",
	 "berth kube get TYPE[,TYPE...] [NAME...] | TYPE/NAME... [OPTIONS]\n\n"
	 "Types (kubectl's names, plurals and short names): pods (po), services (svc),\n"
	 "deployments (deploy), replicasets (rs), statefulsets (sts), daemonsets (ds), jobs,\n"
	 "cronjobs (cj), configmaps (cm), secrets, persistentvolumeclaims (pvc), namespaces (ns),\n"
	 "and all (pods, services and the workloads). The tables are kubectl's; a LoadBalancer\n"
	 "Service's EXTERNAL-IP is localhost (its ports are published on this host) and a claim\n"
	 "is Bound to its berth volume (kube_NS_CLAIM) once that exists.\n\n"
	 "Options:\n"
	 "  -n, --namespace NS      The namespace (default \"default\")\n"
	 "  -A, --all-namespaces    Every namespace (a NAMESPACE column first)\n"
	 "  -o, --output FORMAT     wide (more columns), yaml, json (the objects with their status;\n"
	 "                          a List for several) or name (TYPE/NAME lines)\n"
	 "  -l, --selector SEL      Label selector (a=b, a!=b, a in (x,y), a notin (x), a, !a; ANDed by ,)\n"
	 "      --show-labels       A LABELS column last\n"
	 "      --no-headers        No header lines\n"},
	{"kube ps", cmd_kube_ps, "List the pods of kube play with their berth containers",
	 "berth kube ps [OPTIONS]\n\n"
	 "One line per pod: POD, OWNER (the workload that made it), READY, STATUS and RESTARTS as\n"
	 "kube get pods shows them, IP, AGE, and CONTAINERS: each container as NAME=ID(STATE), init\n"
	 "containers first as init:NAME=..., ID being the berth container (berth logs/exec/inspect\n"
	 "take it) and STATE ready, running, exited N, or why it waits (ContainerCreating,\n"
	 "CrashLoopBackOff, ErrImagePull...).\n\n"
	 "Options:\n"
	 "  -n, --namespace NS      The namespace (default \"default\")\n"
	 "  -A, --all-namespaces    Every namespace\n"},
	{"kube logs", cmd_kube_logs, "Print the logs of a container in a pod",
	 "berth kube logs [OPTIONS] (POD | TYPE/NAME) [CONTAINER]\n\n"
	 "TYPE/NAME (deploy/web, sts/db, rs/..., ds/..., job/..., svc/web) picks the first of its pods\n"
	 "as kubectl does (running and ready first). Without -c: the default container (annotation\n"
	 "kubectl.kubernetes.io/default-container, else the first; \"Defaulted container\" on\n"
	 "stderr when there are several). stdout and stderr both go to stdout. The current run is\n"
	 "what the container wrote since it last started; while it waits to restart, its last run.\n\n"
	 "Options:\n"
	 "  -c, --container NAME    The container (app or init)\n"
	 "      --all-containers    Every container, init containers first\n"
	 "  -f, --follow            Keep printing (all containers at once with --all-containers)\n"
	 "  -p, --previous          The run before the current one (after a restart)\n"
	 "      --tail N            The last N lines (-1: all)\n"
	 "      --since D           Lines newer than a duration (5s, 2m, 1h)\n"
	 "      --since-time T      Lines after an RFC 3339 time\n"
	 "      --timestamps        Each line's time first\n"
	 "      --prefix            \"[pod/POD/CONTAINER] \" before each line\n"
	 "  -n, --namespace NS      The namespace (default \"default\")\n"},
	{"kube exec", cmd_kube_exec, "Run a command in a container of a pod",
	 "berth kube exec [OPTIONS] (POD | TYPE/NAME) -- COMMAND [ARG...]\n\n"
	 "The container as kube logs picks it. Ends with the command's exit code (and \"command\n"
	 "terminated with exit code N\" on stderr when it is not 0).\n\n"
	 "Options:\n"
	 "  -c, --container NAME    The container\n"
	 "  -i, --stdin             Pass stdin to the command\n"
	 "  -t, --tty               Allocate a terminal (with -i)\n"
	 "  -q, --quiet             No \"Defaulted container\" line\n"
	 "  -n, --namespace NS      The namespace (default \"default\")\n"},
	{"kube generate", cmd_kube_generate, "Generate Kubernetes manifests from containers or compose projects",
	 "berth kube generate [OPTIONS] CONTAINER|PROJECT [CONTAINER|PROJECT...]\n\n"
	 "A compose project (its containers' com.docker.compose.project label) gives one\n"
	 "workload per service, with as many replicas as it has containers; each other\n"
	 "container gives one named after it. Only what differs from the image is written.\n\n"
	 "Options:\n"
	 "  -f, --filename string     Write to this file (replaced atomically; default: stdout)\n"
	 "  -s, --service             Write Services too (one per workload, and per network alias)\n"
	 "      --type string         pod (default), deployment, statefulset, daemonset or job\n"
	 "      --replicas int        Replicas of every workload (deployment, statefulset;\n"
	 "                            default: the number of containers)\n"
	 "      --namespace string    metadata.namespace of every object\n"
	 "      --format yaml|json    Output format (default yaml; json is a List)\n"
	 "      --wait-image string   Image of the depends_on init containers (default busybox:1.36)\n"},
	{"compose", cmd_compose, "Define and run multi-container applications",
	 "berth compose [OPTIONS] COMMAND\n\n"
	 "Run 'berth compose --help' for the commands and options.\n"},
	{"volume prune", cmd_volume_prune, "Remove unused local volumes",
	 "berth volume prune [OPTIONS]\n\nOptions:\n  -a, --all             Remove all unused volumes, not just anonymous ones\n"
	 "      --filter filter   Provide filter values (e.g. \"label=<label>\")\n"
	 "  -f, --force           Do not prompt for confirmation\n"},
	/* issue 14: real Kubernetes (kube/client.h, kube/cluster.h, kube/node.h) */
	{"kube apply", cmd_kube_apply, "Apply manifests to a Kubernetes cluster (server-side apply)",
	 "berth kube apply -f FILE|DIR|- [OPTIONS]\n\n"
	 "Apply a configuration to resources by file name or stdin, with server-side apply (PATCH\n"
	 "application/apply-patch+yaml, field manager \"berth\"). Any kind the server serves works, custom\n"
	 "resources included (a CustomResourceDefinition in the same files is applied and established\n"
	 "first). Every object is first applied with dryRun=All: when one is refused (invalid, a conflict,\n"
	 "no right), nothing is changed.\n\n"
	 "Examples:\n"
	 "  # Apply the objects of web.yaml, then wait for their rollouts\n"
	 "  berth kube apply -f web.yaml --wait\n\n"
	 "  # Apply a directory, deleting what an earlier apply made with label app=web and it no longer holds\n"
	 "  berth kube apply -f manifests/ --prune -l app=web\n\n"
	 "Options:\n"
	 "      --all=false                  With --prune: every object berth applied, not only those of -l\n"
	 "      --dry-run='none'             server: the server checks and answers, nothing is persisted\n"
	 "      --field-manager='berth'      Name of the manager used to track field ownership\n"
	 "  -f, --filename=[]                A file, directory (*.yaml, *.yml, *.json) or - (stdin); repeatable\n"
	 "      --force-conflicts=false      Take over fields that other managers own\n"
	 "      --prune=false                Delete objects berth applied before (its managedFields) that match\n"
	 "                                   -l, are of the applied kinds or kubectl's default prune list, are in\n"
	 "                                   the namespaces used, and are no longer in the files\n"
	 "      --prune-allowlist=[]         GROUP/VERSION/KIND (core/v1/ConfigMap) to prune instead of the\n"
	 "                                   applied kinds and the default list\n"
	 "  -R, --recursive=false            Read the subdirectories of -f directories too\n"
	 "  -l, --selector=''                Label selector of --prune (a=b, a!=b, a in (x,y), a, !a)\n"
	 "      --server-side=true           Accepted; berth always applies server-side\n"
	 "      --timeout=5m                 How long --wait waits (0: no limit)\n"
	 "      --validate='strict'          strict: unknown or duplicate fields are errors; warn; ignore\n"
	 "      --wait=false                 Wait for the rollouts of Deployments, StatefulSets, DaemonSets and\n"
	 "                                   Jobs, printing what kubectl rollout status prints\n"
	 "  -n, --namespace=''               Namespace of objects that name none (default: the context's)\n"
	 "      --context='' --cluster='' --user='' --kubeconfig='' -s, --server='' --token=''\n"
	 "      --insecure-skip-tls-verify=false --request-timeout='30s'   as kubectl's\n"},
	{"kube delete", cmd_kube_delete, "Delete objects of manifests from a Kubernetes cluster",
	 "berth kube delete -f FILE|DIR|- [OPTIONS]\n"
	 "       berth kube delete TYPE NAME... | TYPE/NAME... | TYPE[,TYPE] (-l SEL | --all) [OPTIONS]\n\n"
	 "Delete resources by file names, stdin, resources and names, or by resources and label selector,\n"
	 "and wait until they are gone. TYPE is what kubectl takes (deploy, pods, deployments.apps, ...),\n"
	 "found through the server's discovery.\n\n"
	 "Options:\n"
	 "      --all=false                  Every object of TYPE in the namespace\n"
	 "      --cascade='background'       background, foreground or orphan (the dependents)\n"
	 "      --dry-run='none'             server: the server checks, nothing is deleted\n"
	 "  -f, --filename=[]                A file, directory or - (stdin); repeatable\n"
	 "      --force=false                With --grace-period=0: delete at once and do not wait\n"
	 "      --grace-period=-1            Seconds the pods get to stop (-1: their own)\n"
	 "      --ignore-not-found=false     An object that is not there is not an error\n"
	 "      --now=false                  --grace-period=1\n"
	 "  -R, --recursive=false            Read the subdirectories of -f directories too\n"
	 "  -l, --selector=''                Label selector (with TYPE)\n"
	 "      --timeout=0s                 How long --wait waits (0: no limit)\n"
	 "      --wait=true                  Wait until the objects are gone\n"
	 "  -n, --namespace='' --context='' --kubeconfig='' ... as kube apply's\n"},
	{"kube diff", cmd_kube_diff, "Show what kube apply would change on a Kubernetes cluster",
	 "berth kube diff -f FILE|DIR|- [OPTIONS]\n\n"
	 "Diff the live objects against what server-side apply would make of the files (a dryRun=All\n"
	 "apply), as kubectl diff does: both are written as YAML to LIVE-* and MERGED-* temporary\n"
	 "directories and compared with \"diff -u -N\" (or $KUBECTL_EXTERNAL_DIFF). managedFields and the\n"
	 "server's bookkeeping (resourceVersion, generation, creationTimestamp, uid) are left out;\n"
	 "Secret values are masked.\n\n"
	 "Exit status: 0 no differences, 1 differences, >1 berth or diff failed.\n\n"
	 "Options:\n"
	 "      --field-manager='berth'      Name of the manager used to track field ownership\n"
	 "  -f, --filename=[]                A file, directory or - (stdin); repeatable\n"
	 "      --force-conflicts=false      Diff as if fields other managers own were taken over\n"
	 "  -R, --recursive=false            Read the subdirectories of -f directories too\n"
	 "      --server-side=true           Accepted; the diff is always server-side\n"
	 "  -n, --namespace='' --context='' --kubeconfig='' ... as kube apply's\n"},
	{"kube rollout", cmd_kube_rollout, "Follow a rollout on a Kubernetes cluster (rollout status)",
	 "berth kube rollout status (TYPE NAME | TYPE/NAME) [OPTIONS]\n\n"
	 "Show the status of the rollout and watch it until it is done, as kubectl rollout status does:\n"
	 "deployments, daemonsets and statefulsets (kubectl's conditions and lines; a line each time the\n"
	 "status changes), and jobs (until Complete; Failed is an error).\n\n"
	 "Options:\n"
	 "      --timeout=0s                 How long to wait before giving up (0: no limit)\n"
	 "  -w, --watch=true                 Watch until done; -w=false prints the status once\n"
	 "  -n, --namespace='' --context='' --kubeconfig='' ... as kube apply's\n"},
	{"kube deploy", cmd_kube_deploy, "Deploy a compose project to a Kubernetes cluster",
	 "berth kube deploy [-f compose.yaml] [--registry HOST[/PREFIX]] [OPTIONS]\n\n"
	 "One command from a compose project to pods running on a cluster: the project is loaded as\n"
	 "compose config loads it and converted as kube convert converts it; the build: services are\n"
	 "built as compose build builds them and pushed to --registry (REGISTRY/PROJECT-SERVICE:latest,\n"
	 "or their own image:), where the cluster's nodes pull them from; then the objects are applied\n"
	 "as kube apply applies them and their rollouts followed. The cluster must answer before\n"
	 "anything is built. Every object is labelled app.kubernetes.io/part-of=PROJECT.\n\n"
	 "Options:\n"
	 "  -f, --file=[]                    Compose configuration files\n"
	 "  -p, --project-name=''            Project name\n"
	 "      --profile=[]                 Profiles to enable\n"
	 "      --env-file=[]                Alternate environment files\n"
	 "      --project-directory=''       Alternate working directory\n"
	 "      --registry=''                HOST[/PREFIX] the build: services' images are pushed to\n"
	 "                                   (needed when a service has build: and no image:)\n"
	 "      --controller='deployment'    deployment, statefulset or daemonset\n"
	 "      --replicas=-1                Replicas of every workload (default: deploy.replicas or 1)\n"
	 "      --volumes=''                 What bind mounts become (as kube convert's --volumes)\n"
	 "      --pvc-request-size='100Mi'   Claim size\n"
	 "      --dry-run='none'             server: nothing is built, pushed or persisted\n"
	 "      --force-conflicts=false      Take over fields that other managers own\n"
	 "      --prune=false                Delete what an earlier deploy of the project made that it no\n"
	 "                                   longer makes (a service removed from the file)\n"
	 "      --timeout=5m                 How long --wait waits (0: no limit)\n"
	 "      --wait=true                  Wait for the rollouts\n"
	 "  -n, --namespace=''               The namespace (default: the context's)\n"
	 "      --context='' --cluster='' --user='' --kubeconfig='' -s, --server='' --token=''\n"
	 "      --insecure-skip-tls-verify=false --request-timeout='30s'   as kubectl's\n"},
	{"kube cluster", cmd_kube_cluster, "Run a local Kubernetes cluster on upstream binaries",
	 "berth kube cluster up|down|status|kubeconfig [--name N] [OPTIONS]\n"
	 "       berth kube cluster token create [--ttl D] [--description S] [--print-join-command] | list | delete ID\n\n"
	 "A single-machine cluster: etcd, kube-apiserver, kube-controller-manager and kube-scheduler\n"
	 "as host processes under one supervisor, TLS throughout, and this machine as its node\n"
	 "(berth kube node). State in $ROOT/kube-clusters/NAME (certificates, etcd data, logs/).\n\n"
	 "  up          start the cluster and wait until its node is Ready; merge its kubeconfig into\n"
	 "              $KUBECONFIG (its first file) or ~/.kube/config as context berth-NAME, made current\n"
	 "  down        stop everything, remove the node's pods, the kubeconfig entries and the cluster\n"
	 "  status      each component with its pid and health (exit 1 unless all are healthy)\n"
	 "  kubeconfig  print the cluster's admin kubeconfig\n"
	 "  token       bootstrap tokens for other machines to join as nodes, as kubeadm token's: create\n"
	 "              prints ID.SECRET (--print-join-command: the whole 'berth kube node join ...' to run\n"
	 "              there), list, delete\n\n"
	 "Options:\n"
	 "  -n, --name string      the cluster (a DNS label; default \"berth\")\n"
	 "      --k8s-bin string   up: the directory of etcd, kube-apiserver, kube-controller-manager and\n"
	 "                         kube-scheduler (default $BERTH_K8S_BIN, else /var/cache/berth/k8s/v1.36.3,\n"
	 "                         which scripts/k8s-binaries.sh builds)\n"
	 "      --wait duration    up: how long to wait for a Ready cluster (default 2m)\n"
	 "      --api-port int     up: the apiserver's port (default 6443 when free, else a free one)\n"
	 "      --advertise-address IP  up: the address of this host other machines reach the apiserver and\n"
	 "                         this node at (default: the default route's source address)\n"
	 "      --apiserver-cert-extra-sans LIST  up: more DNS names or IPs (comma-separated) for the\n"
	 "                         apiserver's certificate, for machines that reach it by another name\n"
	 "      --node-monitor-grace-period duration  up: how long a node may miss its heartbeats before\n"
	 "                         it is NotReady and its pods are evicted after their tolerations\n"
	 "                         (the controller-manager's; default 50s, at least 15s)\n"
	 "      --ttl duration     token create: how long the token is valid (default 24h; 0: forever)\n"
	 "      --description s    token create: a description shown by token list\n"
	 "      --print-join-command  token create: print the command another machine joins with\n"},
	{"kube node", cmd_kube_node, "Run this machine as a node of a Kubernetes cluster",
	 "berth kube node [--kubeconfig FILE] [--name N] [OPTIONS]\n"
	 "       berth kube node join --server URL --token ID.SECRET --ca-cert-hash sha256:HEX [--name N] [OPTIONS]\n"
	 "       berth kube node --cleanup --name N\n\n"
	 "Registers the Node (capacity, addresses, podCIDR, containerRuntimeVersion berth://VERSION), keeps\n"
	 "its Lease in kube-node-lease renewed, and runs the pods the scheduler binds to it in berth's pod\n"
	 "runtime, posting their status as the kubelet does. Runs in the foreground until SIGTERM or SIGINT;\n"
	 "the pods keep running, and a node agent started again adopts them. Pods reach the pods of the\n"
	 "cluster's other nodes directly: a route to each Ready node's podCIDR through its InternalIP.\n\n"
	 "join: the kubelet's TLS bootstrap first: the CA from kube-public/cluster-info (signed for the token,\n"
	 "its public key matching --ca-cert-hash), then a CertificateSigningRequest with the token, which\n"
	 "the cluster approves and signs; the credentials go to $ROOT/kube-node/NAME/kubeconfig, and a join\n"
	 "run again uses them. --kubeconfig FILE instead: join with credentials that exist.\n\n"
	 "Options:\n"
	 "      --kubeconfig FILE            The node's credentials (default $KUBECONFIG, else ~/.kube/config)\n"
	 "      --context NAME               The kubeconfig context to use\n"
	 "  -n, --name NAME                  The Node's name (default: the hostname, lowercased)\n"
	 "      --node-ip IP                 The node's InternalIP (default: the default route's address)\n"
	 "      --pod-cidr CIDR              The pods' subnet when the Node has no podCIDR yet (default: the\n"
	 "                                   one the controller-manager allocates, else one of berth's pools)\n"
	 "      --service-cidr CIDR          The cluster's Service range (the apiserver's\n"
	 "                                   --service-cluster-ip-range; default: the API's ServiceCIDR\n"
	 "                                   \"kubernetes\"). Pods reach Services at their ClusterIPs\n"
	 "      --kubelet-port PORT          The kubelet API's port (default 10250; 0: none)\n"
	 "      --tls-cert-file FILE         The kubelet API's serving certificate (default: self-signed)\n"
	 "      --tls-private-key-file FILE  Its key\n"
	 "      --client-ca-file FILE        The CA of the kubelet API's clients (default: the kubeconfig's)\n"
	 "      --cleanup                    Remove the pods, network, routes and state node NAME left on this\n"
	 "                                   store\n"
	 "      --server URL                 join: the API server (https://HOST:PORT)\n"
	 "      --token ID.SECRET            join: a bootstrap token (berth kube cluster token create)\n"
	 "      --ca-cert-hash sha256:HEX    join: the sha256 of the cluster CA's SubjectPublicKeyInfo\n"
	 "  -q, --quiet                      No progress lines\n"},
	/* hidden: parser internals for tests (no summary, so not in the help list) */
	{"debug", cmd_debug, NULL, NULL},
	{"debug svc-sync", cmd_debug_svc_sync, NULL, NULL},
	{"debug svc-check", cmd_debug_svc_check, NULL, NULL},
	{"debug svc-rm", cmd_debug_svc_rm, NULL, NULL},
	{"debug pod", cmd_debug_pod, NULL, NULL}, /* the pod runtime (runtime/pod.h) */
	/* kube cluster's storage provisioner (kube/provisioner.h) */
	{"kube provisioner", cmd_kube_provisioner, NULL,
	 "berth kube provisioner --kubeconfig FILE [--once]\n\n"
	 "The default StorageClass \"standard\" and local PersistentVolumes on berth volumes for its\n"
	 "claims (kube cluster runs it)\n"},
	{"debug kubelet-api", cmd_debug_kubelet_api, NULL, NULL}, /* the kubelet API (kube/kubelet-api.h) */
};

/* Commands that later issues add: say so instead of "unknown command". */
static const char *const planned[] = {
	"diff", "commit", "export", "update",
	"events", "search",
	"system info", "info",
	"container export", "container diff",
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
		bool group = !strcmp(name, "image") || !strcmp(name, "system") || !strcmp(name, "container") ||
			     !strcmp(name, "network") || !strcmp(name, "volume") ||
			     !strcmp(name, "builder") || !strcmp(name, "kube");
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
	ctr_store_free(c.ctrs);
	if (fflush(stdout) != 0 && rc == 0) {
		perror("berth: writing output");
		rc = 1;
	}
	return rc;
}
