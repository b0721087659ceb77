/*
 * fault.c — VIRTFORM_TEST_KILL (fault.h): die by SIGKILL at a named point
 * of an apply, the way a crash or `kill -9` would, so the crash tests can
 * stop virtform exactly where a real crash hurts most.  Nothing is
 * flushed or cleaned up on the way out: that is the point.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconcile/fault.h"

void vf_fault_point(const char *point, const char *address)
{
	const char *spec = getenv("VIRTFORM_TEST_KILL"), *colon;
	size_t n;
	char line[512];
	int len;

	if (!spec || !*spec)
		return;
	colon = strchr(spec, ':');
	n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (strlen(point) != n || strncmp(spec, point, n))
		return;
	/* POINT alone, or POINT:*, matches every address */
	if (colon && strcmp(colon + 1, "*") && (!address || strcmp(colon + 1, address)))
		return;
	/* one write(2) to stderr (unbuffered, async-safe): the test's log says why */
	len = snprintf(line, sizeof(line), "virtform: VIRTFORM_TEST_KILL: killed at %s of %s\n",
		       point, address ? address : "?");
	if (len > 0 && write(STDERR_FILENO, line, (size_t)len < sizeof(line) ? (size_t)len
									: sizeof(line) - 1) < 0) {
		/* the kill is what matters */
	}
	kill(getpid(), SIGKILL);
	abort();                /* not reached: SIGKILL cannot be caught */
}
