/* signal_parse: the names and numbers kill, stop/restart --signal and
 * --stop-signal take, as Docker's ParseSignal (SIGTERM, TERM, term, 15,
 * RTMIN+N, RTMAX-N), and the error that names a bad one. */
#include "runtime/lifecycle.h"
#include "unit.h"

#include <signal.h>
#include <stdlib.h>

static void good(const char *s, int want)
{
	int sig = -1;
	struct berr *e = NULL;
	int r = signal_parse(s, &sig, &e);
	CHECK(r == 0 && sig == want, "signal_parse(\"%s\") = %d (want %d)", s, sig, want);
	berr_free(e);
}

static void bad(const char *s)
{
	int sig = -1;
	struct berr *e = NULL;
	int r = signal_parse(s, &sig, &e);
	char want[64];
	snprintf(want, sizeof(want), "invalid signal: %s", s);
	CHECK(r < 0 && sig == -1, "signal_parse(\"%s\") is refused", s);
	CHECK_STR(e ? e->msg : NULL, want, "the error names \"%s\"", s);
	berr_free(e);
}

int main(void)
{
	good("SIGTERM", SIGTERM);
	good("TERM", SIGTERM);
	good("term", SIGTERM);
	good("SigUsr1", SIGUSR1);
	good("15", 15);
	good("9", SIGKILL);
	good("64", 64);
	good("RTMIN", SIGRTMIN);
	good("RTMIN+2", SIGRTMIN + 2);
	good("rtmax-1", SIGRTMAX - 1);
	good("SIGRTMAX", SIGRTMAX);
	bad("NOPE");
	bad("SIGNOPE");
	bad("");
	bad("SIG");
	bad("0");
	bad("65");
	bad("-1");
	bad("15x");
	bad("RTMINX");
	bad("RTMIN+");
	bad("RTMIN+100");
	bad("RTMAX+1");
	bad("RTMIN-1");
	UNIT_END();
}
