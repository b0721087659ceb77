/*
 * fuzz-yaml.c — fuzz target: the configuration loader (reconcile/load*.c
 * over reconcile/yaml.c and libyaml) on one YAML file held in memory, as
 * `virtform validate FILE` and a git hook read it (vf_config_load_files),
 * then the diagnostics rendered as validate prints them.
 *
 * Never expected: a crash, a leak, undefined behaviour, a hang; a
 * configuration that loads with errors counted, or fails without one.
 */
#include <string.h>

#include "reconcile/model.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vf_config_file file = { "fuzz.yaml", (const char *)data, size };
	struct vf_diags diags = { 0 };
	struct vf_config *config;

	config = vf_config_load_files("fuzz", &file, 1, &diags);
	if (!config != !!diags.n_errors)
		abort();
	vf_diags_sort(&diags);
	vf_diags_print(&diags, fuzz_null());
	vf_config_free(config);
	vf_diags_release(&diags);
	return 0;
}
