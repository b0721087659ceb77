/*
 * fuzz-hostspec.c — fuzz target: the host spec a hypervisor reads
 * (`virtform host plan|apply --spec FILE|-`, reconcile/hostnet.c): the
 * JSON as cmd/host.c loads it (jansson, duplicate keys refused), then
 * vf_hostnet_spec_parse, then, for a spec that parses, what the host does
 * with it: the plan against a fixed set of observed links and ownership
 * records, printed as text and JSON.
 *
 * Also checked: a spec that parses is written back (vf_hostnet_spec_json)
 * as the same document, and that document parses again — what the
 * controller sends is what the host reads, so a difference is a bug.
 */
#include <string.h>

#include <jansson.h>

#include "reconcile/hostnet.h"
#include "tests/fuzz/fuzz.h"

/* The host's links: "NAME KIND MTU [master] [vlan base:id] [bond mode]". */
static struct vf_host_links observed = { .arena = VF_ARENA_INIT };
static struct vf_hostnet_owned owned;

static void observe(const char *name, enum vf_host_link_kind kind, unsigned mtu,
		    const char *master, const char *base, unsigned id, const char *mode)
{
	struct vf_host_link *l = vf_host_links_add(&observed, name);

	l->kind = kind;
	l->mtu = mtu;
	l->up = true;
	l->stp = kind == VF_HOST_LINK_BRIDGE ? 0 : -1;
	l->master = master ? vf_arena_strdup(&observed.arena, master) : NULL;
	l->vlan_base = base ? vf_arena_strdup(&observed.arena, base) : NULL;
	l->vlan_id = id;
	l->bond_mode = mode ? vf_arena_strdup(&observed.arena, mode) : NULL;
}

static void cleanup(void)
{
	vf_host_links_release(&observed);
	vf_hostnet_owned_release(&owned);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	observe("lo", VF_HOST_LINK_OTHER, 65536, NULL, NULL, 0, NULL);
	observe("eth0", VF_HOST_LINK_ETHERNET, 1500, NULL, NULL, 0, NULL);
	observe("eth1", VF_HOST_LINK_ETHERNET, 9000, "bond0", NULL, 0, NULL);
	observe("eth2", VF_HOST_LINK_ETHERNET, 9000, "bond0", NULL, 0, NULL);
	observe("bond0", VF_HOST_LINK_BOND, 9000, NULL, NULL, 0, "active-backup");
	observe("bond0.10", VF_HOST_LINK_VLAN, 9000, "br-old", "bond0", 10, NULL);
	observe("br-old", VF_HOST_LINK_BRIDGE, 9000, NULL, NULL, 0, NULL);
	observe("br0", VF_HOST_LINK_BRIDGE, 1500, NULL, NULL, 0, NULL);
	observe("virbr0", VF_HOST_LINK_BRIDGE, 1500, NULL, NULL, 0, NULL);
	observe("veth1", VF_HOST_LINK_OTHER, 1500, "br0", NULL, 0, NULL);
	vf_hostnet_owned_add(&owned, "br-old", "network old");
	vf_hostnet_owned_add(&owned, "bond0.10", "network old");
	vf_hostnet_owned_add(&owned, "bond0", "interface bond0");
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vf_host_links desired = { .arena = VF_ARENA_INIT };
	struct vf_host_links back = { .arena = VF_ARENA_INIT };
	struct vf_hostnet_plan plan = { .arena = VF_ARENA_INIT };
	struct vf_diags diags = { 0 };
	const char *host = NULL, *host2 = NULL;
	json_t *doc, *spec = NULL, *reread = NULL, *spec2 = NULL;
	char *error = NULL, *text = NULL;

	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!doc)
		return 0;
	if (vf_hostnet_spec_parse(doc, &desired, &host, &error) < 0) {
		if (!error)
			abort();
		goto out;
	}
	/* what the controller would send for these links reads back the same */
	spec = vf_hostnet_spec_json(host, &desired);
	text = json_dumps(spec, JSON_COMPACT);
	reread = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!reread || vf_hostnet_spec_parse(reread, &back, &host2, &error) < 0) {
		fprintf(stderr, "fuzz-hostspec: the spec written back does not parse: %s\n%s\n",
			error ? error : "not JSON", text ? text : "(null)");
		abort();
	}
	spec2 = vf_hostnet_spec_json(host2, &back);
	if (!json_equal(spec, spec2)) {
		fprintf(stderr, "fuzz-hostspec: spec -> parse -> spec differs:\n%s\n", text);
		abort();
	}
	if (vf_hostnet_plan_build(host, &desired, &observed, &owned, &plan, &diags) == 0) {
		vf_hostnet_plan_print(&plan, fuzz_null());
		vf_hostnet_plan_print_json(&plan, fuzz_null());
		vf_hostnet_plan_drop_deletes(&plan);
		vf_hostnet_plan_print(&plan, fuzz_null());
	} else if (!diags.n_errors) {
		abort();
	}
	vf_diags_print(&diags, fuzz_null());
out:
	free(error);
	free(text);
	json_decref(spec2);
	json_decref(reread);
	json_decref(spec);
	json_decref(doc);
	vf_hostnet_plan_release(&plan);
	vf_host_links_release(&back);
	vf_host_links_release(&desired);
	vf_diags_release(&diags);
	return 0;
}
