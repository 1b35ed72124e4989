#include "cli/cli.h"
#include "unit.h"

#include <stdlib.h>

static void r(const char *tmpl, const char *json, const char *want)
{
	struct tmpl *t = NULL;
	struct berr *e = NULL;
	json_t *obj = json_loads(json, 0, NULL);
	struct sbuf out = SBUF_INIT;
	if (tmpl_parse(tmpl, &t, &e) < 0 || tmpl_render(t, obj, &out, &e) < 0) {
		sbuf_adds(&out, "ERR: ");
		sbuf_adds(&out, e->msg);
		berr_free(e);
	}
	CHECK_STR(sbuf_str(&out), want, "template %s", tmpl);
	sbuf_release(&out);
	tmpl_free(t);
	json_decref(obj);
}

int main(void)
{
	r("{{.ID}}", "{\"ID\":\"abc\"}", "abc");
	r("{{ .ID }}:{{.Tag}}", "{\"ID\":\"abc\",\"Tag\":\"t\"}", "abc:t");
	r("{{.Config.Cmd}}", "{\"Config\":{\"Cmd\":[\"sh\",\"-c\"]}}", "[sh -c]");
	r("{{json .Config}}", "{\"Config\":{\"Cmd\":[\"sh\"]}}", "{\"Cmd\":[\"sh\"]}");
	r("{{.Size}}", "{\"Size\":42}", "42");
	r("{{upper .X}}", "{\"X\":\"ab\"}", "AB");
	r("a\\tb", "{}", "a\tb");
	r("{{.Config.Labels.x}}", "{\"Config\":{\"Labels\":{}}}", "<no value>");
	r("{{.Nope}}", "{\"ID\":1}", "ERR: template: executing \"\" at <.Nope>: can't evaluate field Nope");
	r("{{range .X}}", "{}", "ERR: template: unsupported action \"{{range .X}}\" (berth supports {{.Field}}, {{json .Field}}, {{upper .Field}}, {{lower .Field}})");
	r("{{.ID", "{}", "ERR: template parsing error: unclosed action in \"{{.ID\"");

	struct table t = {0};
	table_add(&t, "REPOSITORY\tTAG\tIMAGE ID");
	table_add(&t, "busybox\tlatest\t0123456789ab");
	FILE *f = tmpfile();
	table_print(&t, f);
	rewind(f);
	char buf[256] = {0};
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	CHECK_STR(buf, "REPOSITORY   TAG       IMAGE ID\nbusybox      latest    0123456789ab\n", "table layout like docker");
	table_release(&t);
	UNIT_END();
}
