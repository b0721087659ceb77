/*
 * vf-migrate — the lab tests' driver of the libvirt provider's migration
 * primitive (providers/libvirt/migrate.h), which no command calls yet:
 *
 *   vf-migrate FROM_URI TO_URI NAME FROM TO [PROJECT] [SETTING=VALUE...]
 *
 * settings: bandwidth (MiB/s), downtime (ms), timeout (s), interval (ms),
 * auto_converge=1, copy_storage=1, post_copy=1.  Moves domain NAME (vm.NAME
 * in messages); prints "moved live|cold in S s, N bytes, paused D ms" and each progress
 * report ("progress P/T bytes") on stdout; exit 0 moved, 1 the primitive's
 * error on stderr, 2 usage.  Built by `make unit` (tests/t3800-migrate-lab.sh).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/migrate.h"
#include "providers/libvirt/ops.h"

static void progress(const struct vf_migrate_progress *p, void *data)
{
	(void)data;
	printf("progress %" PRIu64 "/%" PRIu64 " bytes at %.1f s\n", p->processed, p->total,
	       p->elapsed);
	fflush(stdout);
}

/* One SETTING=VALUE into set; 0, or -1 for one it does not know. */
static int setting(struct vf_migrate_settings *set, const char *arg)
{
	static const struct { const char *name; size_t offset; } uints[] = {
		{ "bandwidth=", offsetof(struct vf_migrate_settings, bandwidth) },
		{ "downtime=", offsetof(struct vf_migrate_settings, max_downtime_ms) },
		{ "timeout=", offsetof(struct vf_migrate_settings, timeout) },
		{ "interval=", offsetof(struct vf_migrate_settings, progress_interval_ms) },
	};
	size_t i;

	for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++)
		if (!strncmp(arg, uints[i].name, strlen(uints[i].name))) {
			*(unsigned *)((char *)set + uints[i].offset) =
				(unsigned)strtoul(arg + strlen(uints[i].name), NULL, 10);
			return 0;
		}
	if (!strcmp(arg, "auto_converge=1"))
		set->auto_converge = true;
	else if (!strcmp(arg, "copy_storage=1"))
		set->copy_storage = true;
	else if (!strcmp(arg, "post_copy=1"))
		set->post_copy = true;
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct vf_migrate_settings set = { .progress = progress };
	struct vf_migrate_request req;
	struct vf_migrate_result res;
	struct vf_session *s;
	char *error = NULL, *address;
	int i = 6, rc;

	if (argc < 6) {
		fprintf(stderr, "usage: vf-migrate FROM_URI TO_URI NAME FROM TO [PROJECT] "
				"[SETTING=VALUE...]\n");
		return 2;
	}
	address = malloc(strlen(argv[3]) + 4);
	if (!address)
		return 1;
	sprintf(address, "vm.%s", argv[3]);
	req = (struct vf_migrate_request){ .address = address, .name = argv[3],
					   .from = argv[4], .to = argv[5], .to_uri = argv[2] };
	if (i < argc && !strchr(argv[i], '='))
		req.project = argv[i++];
	for (; i < argc; i++)
		if (setting(&set, argv[i]) < 0) {
			fprintf(stderr, "vf-migrate: unknown setting '%s'\n", argv[i]);
			return 2;
		}
	s = vf_libvirt_session_open(argv[1], &error);
	if (!s) {
		fprintf(stderr, "vf-migrate: %s\n", error);
		return 1;
	}
	rc = vf_libvirt_migrate(s, &req, &set, &res, &error);
	if (rc == 0)
		printf("moved %s in %.2f s, %" PRIu64 " bytes, paused %" PRIu64 " ms\n",
		       res.live ? "live" : "cold", res.seconds, res.processed, res.downtime_ms);
	else
		fprintf(stderr, "%s\n%s\n", error, res.on_source ? "on source" : "not on source");
	vf_libvirt_session_close(s);
	free(error);
	free(address);
	return rc ? 1 : 0;
}
