#include "image/image.h"
#include "unit.h"

#include <stdlib.h>

static char *apply(const char *line, const char *field)
{
	json_t *cfg = json_object();
	struct berr *e = NULL;
	char *out = NULL;
	if (image_change_apply(cfg, line, &e) < 0) {
		out = strdup(e->msg);
		berr_free(e);
	} else {
		out = json_dumps(json_object_get(cfg, field), JSON_COMPACT | JSON_ENCODE_ANY);
	}
	json_decref(cfg);
	return out;
}

static void t(const char *line, const char *field, const char *want)
{
	char *got = apply(line, field);
	CHECK_STR(got, want, "--change '%s'", line);
	free(got);
}

static void bad(const char *line, const char *part)
{
	char *got = apply(line, "x");
	CHECK(got && strstr(got, part), "reject '%s': %s", line, got);
	free(got);
}

int main(void)
{
	t("CMD [\"sh\"]", "Cmd", "[\"sh\"]");
	t("CMD echo hi", "Cmd", "[\"/bin/sh\",\"-c\",\"echo hi\"]");
	t("cmd [\"a\", \"b c\"]", "Cmd", "[\"a\",\"b c\"]");
	t("ENTRYPOINT [\"/bin/app\"]", "Entrypoint", "[\"/bin/app\"]");
	t("ENV A=1 B=\"two words\"", "Env", "[\"A=1\",\"B=two words\"]");
	t("ENV PATH /usr/bin:/bin", "Env", "[\"PATH=/usr/bin:/bin\"]");
	t("LABEL a=b \"c d\"=e", "Labels", "{\"a\":\"b\",\"c d\":\"e\"}");
	t("EXPOSE 80 53/udp", "ExposedPorts", "{\"80/tcp\":{},\"53/udp\":{}}");
	t("WORKDIR /app", "WorkingDir", "\"/app\"");
	t("USER 1000:1000", "User", "\"1000:1000\"");
	t("VOLUME [\"/data\"]", "Volumes", "{\"/data\":{}}");
	t("VOLUME /a /b", "Volumes", "{\"/a\":{},\"/b\":{}}");
	t("STOPSIGNAL SIGTERM", "StopSignal", "\"SIGTERM\"");
	t("HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost", "Healthcheck",
	  "{\"Interval\":5000000000,\"Retries\":3,\"Test\":[\"CMD-SHELL\",\"wget -q localhost\"]}");
	t("HEALTHCHECK NONE", "Healthcheck", "{\"Test\":[\"NONE\"]}");
	bad("RUN echo hi", "not allowed");
	bad("FROM x", "not allowed");
	bad("EXPOSE 99999", "invalid port");
	bad("EXPOSE 80/foo", "invalid port");
	bad("ENV", "requires an argument");
	bad("LABEL novalue", "not KEY=VALUE");
	bad("ENV A=\"unterminated", "unterminated quote");
	bad("HEALTHCHECK --interval=abc CMD x", "bad duration");
	UNIT_END();
}
