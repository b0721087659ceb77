/*
 * fuzz-saved.c — fuzz target: the saved plan reader (reconcile/saved-read.c,
 * jansson) on one file, as `virtform show FILE` and `virtform apply FILE`
 * read it: vf_saved_detect, vf_saved_read, then both ways show prints it
 * (vf_saved_plan + vf_plan_print, and vf_saved_print_json), which read
 * the plan's changes again from the file.
 *
 * vf_saved_read takes a path and keeps the file open (it reads the
 * changes again later), so each input is written to one scratch file
 * first; the reader has no buffer entry point to offer.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "reconcile/plan.h"
#include "reconcile/saved.h"
#include "reconcile/util.h"
#include "tests/fuzz/fuzz.h"

static char path[64];

static void cleanup(void)
{
	char *dir;

	unlink(path);
	dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
	free(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/vf-fuzz-saved.XXXXXX";

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/plan.vfplan", dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vf_saved saved;
	struct vf_plan plan;
	char *error = NULL;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || vf_write_all(fd, data, size) < 0 || close(fd) < 0)
		abort();
	vf_saved_detect(path);
	if (vf_saved_read(path, &saved, &error) < 0) {
		if (!error)
			abort();
		free(error);
		vf_saved_release(&saved);
		return 0;
	}
	vf_saved_print_json(&saved, fuzz_null());
	if (vf_saved_plan(&saved, &plan, &error) < 0) {
		if (!error)
			abort();
		free(error);
	} else {
		vf_plan_print(&plan, fuzz_null(), false);
		vf_plan_free(&plan);
	}
	vf_saved_release(&saved);
	return 0;
}
