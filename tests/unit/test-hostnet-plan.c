/*
 * The host-network model and plan (reconcile/hostnet.c) on fixtures: a
 * config text and a hand-made list of observed links, through
 * vf_hostnet_desired() and vf_hostnet_plan_build().  No kernel: the plan
 * is compared as the text `virtform host plan` prints, errors as the
 * rendered diagnostics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconcile/hostnet.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-hostnet-plan.XXXXXX";

static struct vf_config *load(const char *text)
{
	char *path = xasprintf("%s/c.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	struct vf_diags d = { 0 };
	struct vf_config *c;

	fputs(text, f);
	fclose(f);
	c = vf_config_load(path, &d);
	if (!c)
		vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	free(path);
	return c;
}

/* Observed links, one per spec "NAME KIND MTU UP [master=M] [base=B id=N] [mode=X] [stp=0|1]". */
static void observe(struct vf_host_links *o, const char *const *specs)
{
	for (; *specs; specs++) {
		char name[32], kind[16], rest[128] = "";
		unsigned mtu;
		int up;
		struct vf_host_link *l;
		char *tok, *save;

		if (sscanf(*specs, "%31s %15s %u %d %127[^\n]", name, kind, &mtu, &up, rest) < 4)
			abort();
		l = vf_host_links_add(o, name);
		l->kind = !strcmp(kind, "ethernet") ? VF_HOST_LINK_ETHERNET
			: !strcmp(kind, "bond") ? VF_HOST_LINK_BOND
			: !strcmp(kind, "bridge") ? VF_HOST_LINK_BRIDGE
			: !strcmp(kind, "vlan") ? VF_HOST_LINK_VLAN : VF_HOST_LINK_OTHER;
		l->mtu = mtu;
		l->up = up;
		if (l->kind == VF_HOST_LINK_BRIDGE)
			l->stp = 0;
		for (tok = strtok_r(rest, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *v = strchr(tok, '=');
			if (!v)
				abort();
			*v++ = '\0';
			if (!strcmp(tok, "master"))
				l->master = vf_arena_strdup(&o->arena, v);
			else if (!strcmp(tok, "base"))
				l->vlan_base = vf_arena_strdup(&o->arena, v);
			else if (!strcmp(tok, "id"))
				l->vlan_id = (unsigned)atoi(v);
			else if (!strcmp(tok, "mode"))
				l->bond_mode = vf_arena_strdup(&o->arena, v);
			else if (!strcmp(tok, "stp"))
				l->stp = atoi(v);
		}
	}
}

/*
 * Plan host of config against specs and owned names; returns the printed
 * plan, or the diagnostics (file names cut to "c.yaml") when it fails.
 * *rc: the build's result.
 */
static char *plan_text(const char *config_text, const char *host, const char *const *specs,
		       const char *const *owned_names, int *rc)
{
	struct vf_config *c = load(config_text);
	struct vf_host_links desired = { VF_ARENA_INIT, NULL, 0, 0 };
	struct vf_host_links observed = { VF_ARENA_INIT, NULL, 0, 0 };
	struct vf_hostnet_owned owned = { NULL, NULL, 0, 0 };
	struct vf_hostnet_plan plan;
	struct vf_diags d = { 0 };
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	memset(&plan, 0, sizeof(plan));
	if (!c) {
		fclose(out);
		*rc = -2;
		return buf;
	}
	for (; owned_names && *owned_names; owned_names++) {
		VF_GROW(owned.names, owned.n + 1, owned.alloc);
		owned.owners = xrealloc(owned.owners, owned.alloc * sizeof(*owned.owners));
		owned.names[owned.n] = xstrdup(*owned_names);
		owned.owners[owned.n++] = xasprintf("network %s", "old");
	}
	observe(&observed, specs);
	*rc = vf_hostnet_desired(c, vf_config_find_host(c, host), &desired, &d);
	if (*rc == 0)
		*rc = vf_hostnet_plan_build(host, &desired, &observed, &owned, &plan, &d);
	if (*rc == 0) {
		vf_hostnet_plan_print(&plan, out);
	} else {
		vf_diags_sort(&d);
		vf_diags_print(&d, out);
	}
	fclose(out);
	/* "/tmp/vf-test-hostnet-plan.XXXXXX/c.yaml" -> "c.yaml" */
	while ((p = strstr(buf, tmpdir)))
		memmove(p, p + strlen(tmpdir) + 1, strlen(p + strlen(tmpdir) + 1) + 1);
	vf_hostnet_plan_release(&plan);
	vf_host_links_release(&desired);
	vf_host_links_release(&observed);
	vf_hostnet_owned_release(&owned);
	vf_diags_release(&d);
	vf_config_free(c);
	return buf;
}

static const char config_text[] =
	"version: 1\n"
	"clusters: [{name: c1}, {name: c2}]\n"
	"hosts:\n"
	"  - name: h1\n"
	"    cluster: c1\n"
	"    uri: 'test:///default'\n"
	"    interfaces:\n"
	"      - {name: bond0, type: bond, mode: active-backup, ports: [eth1, eth2], mtu: 9000}\n"
	"      - {name: eth0, type: ethernet, mtu: 9000}\n"
	"  - {name: h2, cluster: c2, uri: 'test:///default'}\n"
	"networks:\n"
	"  - {name: prod, mode: bridge, vlan: 100, uplink: bond0, mtu: 9000}\n"
	"  - {name: plain, mode: bridge, uplink: eth0}\n"
	"  - {name: far, mode: bridge, vlan: 7, uplink: eth0, clusters: [c2]}\n";

static const char *const nics[] = {
	"lo other 65536 1",
	"eth0 ethernet 1500 1",
	"eth1 ethernet 1500 1",
	"eth2 ethernet 1500 1",
	"mgmt0 ethernet 1500 1",
	NULL,
};

static void test_create_from_nothing(void)
{
	int rc;
	char *t = plan_text(config_text, "h1", nics, NULL, &rc);

	is_int(rc, 0, "fresh host: plan builds");
	is_str(t,
	       "+   create  link.bond0@h1: bond, mode active-backup, mtu 9000 (interface bond0)\n"
	       "+   create  link.bond0.100@h1: vlan, base bond0, id 100, mtu 9000 (network prod)\n"
	       "+   create  link.br-prod@h1: bridge, mtu 9000 (network prod)\n"
	       "+   create  link.br-plain@h1: bridge (network plain)\n"
	       "~   update  link.eth0@h1: mtu 1500 -> 9000 (interface eth0)\n"
	       "~   update  link.eth1@h1: master (none) -> bond0 (interface bond0: port of bond0)\n"
	       "~   update  link.eth2@h1: master (none) -> bond0 (interface bond0: port of bond0)\n"
	       "~   update  link.eth0@h1: master (none) -> br-plain (network plain: port of br-plain)\n"
	       "~   update  link.bond0.100@h1: master (none) -> br-prod (network prod: port of br-prod)\n"
	       "\n"
	       "Plan: 4 to create, 5 to update, 0 to replace, 0 to destroy.\n"
	       "Not managed (left as they are): lo mgmt0\n",
	       "fresh host: bonds, vlans, bridges created in that order, then MTUs, then every "
	       "port enslaved; the network of another cluster and unlisted links left alone");
	free(t);
}

static const char *const converged[] = {
	"lo other 65536 1",
	"eth0 ethernet 9000 1 master=br-plain",
	"eth1 ethernet 9000 1 master=bond0",
	"eth2 ethernet 9000 1 master=bond0",
	"mgmt0 ethernet 1500 1",
	"bond0 bond 9000 1 mode=active-backup",
	"bond0.100 vlan 9000 1 base=bond0 id=100 master=br-prod",
	"br-prod bridge 9000 1",
	"br-plain bridge 9000 1",
	"vnet0 other 9000 1 master=br-prod",
	NULL,
};

static void test_converged(void)
{
	const char *const owned[] = { "bond0", "bond0.100", "br-prod", "br-plain", NULL };
	int rc;
	char *t = plan_text(config_text, "h1", converged, owned, &rc);

	is_int(rc, 0, "converged: plan builds");
	is_str(t, "No changes. Host h1's links match the configuration.\n"
		  "Not managed (left as they are): lo mgmt0 vnet0\n",
	       "converged: no changes; a VM's tap in a managed bridge is not released");
	free(t);
	/* not owned but of the right kind: adopted silently */
	t = plan_text(config_text, "h1", converged, NULL, &rc);
	is_str(t, "No changes. Host h1's links match the configuration.\n"
		  "Not managed (left as they are): lo mgmt0 vnet0\n",
	       "links of the right kind that virtform did not create are adopted");
	free(t);
}

static void test_update_and_delete(void)
{
	static const char *const live[] = {
		"eth0 ethernet 9000 1 master=br-plain",
		"eth1 ethernet 9000 1 master=bond0",
		"eth2 ethernet 9000 1",
		"bond0 bond 9000 1 mode=active-backup",
		"bond0.100 vlan 1500 0 base=bond0 id=100 master=br-prod",
		"br-prod bridge 9000 1 stp=1",
		"br-plain bridge 9000 1",
		"br-old bridge 1500 1",
		"bond0.200 vlan 1500 1 base=bond0 id=200 master=br-old",
		"br-foreign bridge 1500 1",
		NULL,
	};
	const char *const owned[] = { "bond0.200", "br-old", "br-prod", NULL };
	int rc;
	char *t = plan_text(config_text, "h1", live, owned, &rc);

	is_int(rc, 0, "drifted host: plan builds");
	is_str(t,
	       "~   update  link.bond0.100@h1: mtu 1500 -> 9000, up no -> yes (network prod; adopts the existing link)\n"
	       "~   update  link.eth2@h1: master (none) -> bond0 (interface bond0: port of bond0)\n"
	       "-   destroy link.br-old@h1 (no longer in the configuration (was network old))\n"
	       "-   destroy link.bond0.200@h1 (no longer in the configuration (was network old))\n"
	       "\n"
	       "Plan: 0 to create, 2 to update, 0 to replace, 2 to destroy.\n"
	       "Not managed (left as they are): br-foreign\n",
	       "drift: MTU and state updated in place, an unset stp left alone, the port "
	       "enslaved, links virtform created and the config dropped deleted bridge first");
	free(t);
}

static void test_absent_and_replace(void)
{
	static const char text[] =
		"version: 1\n"
		"clusters: [{name: c1}]\n"
		"hosts:\n"
		"  - name: h1\n"
		"    cluster: c1\n"
		"    uri: 'test:///default'\n"
		"    interfaces:\n"
		"      - {name: br-gone, type: bridge, state: absent}\n"
		"      - {name: eth0.5, type: vlan, base: eth0, id: 5}\n";
	static const char *const live[] = {
		"eth0 ethernet 1500 1",
		"br-gone bridge 1500 1",
		"eth0.5 vlan 1500 1 base=eth0 id=6",
		NULL,
	};
	const char *const owned[] = { "eth0.5", NULL };
	int rc;
	char *t = plan_text(text, "h1", live, owned, &rc);

	is_int(rc, 0, "absent and replace: plan builds");
	is_str(t,
	       "-/+ replace link.eth0.5@h1 (interface eth0.5: base eth0 id 6 -> base eth0 id 5 cannot change in place)\n"
	       "-   destroy link.br-gone@h1 (interface br-gone: state: absent)\n"
	       "\n"
	       "Plan: 0 to create, 0 to update, 1 to replace, 1 to destroy.\n"
	       "Not managed (left as they are): eth0\n",
	       "state: absent deletes; an owned vlan with another id is replaced");
	free(t);
	t = plan_text(text, "h1", live, NULL, &rc);
	is_int(rc, -1, "a vlan virtform did not create, with another id: error");
	is_str(t, "c.yaml:9:9: error: vlan 'eth0.5' exists on host h1, not created by virtform, "
		  "with another base or id than interface eth0.5 wants (base eth0 id 6 -> base eth0 id 5); "
		  "remove or rename the existing link, or change the config to match it\n",
	       "the error names the link and what differs");
	free(t);
}

static void test_errors(void)
{
	static const char missing_uplink[] =
		"version: 1\n"
		"clusters: [{name: c1}]\n"
		"hosts: [{name: hyper1, cluster: c1, uri: 'test:///default'}]\n"
		"networks:\n"
		"  - {name: prod, mode: bridge, vlan: 100, uplink: eth9}\n"
		"  - {name: plain, mode: bridge, uplink: eth8}\n"
		"  - {name: big, mode: bridge, vlan: 7, uplink: eth0, mtu: 9000}\n";
	static const char conflict[] =
		"version: 1\n"
		"clusters: [{name: c1}]\n"
		"hosts: [{name: h1, cluster: c1, uri: 'test:///default'}]\n"
		"networks:\n"
		"  - {name: a, mode: bridge, vlan: 100, uplink: eth0, mtu: 1500}\n"
		"  - {name: b, mode: bridge, vlan: 100, uplink: eth0, mtu: 9000}\n";
	static const char wrong_kind[] =
		"version: 1\n"
		"clusters: [{name: c1}]\n"
		"hosts: [{name: h1, cluster: c1, uri: 'test:///default'}]\n"
		"networks:\n"
		"  - {name: prod, mode: bridge, uplink: eth0}\n";
	static const char *const live[] = {
		"eth0 ethernet 1500 1",
		"br-prod ethernet 1500 1",
		NULL,
	};
	int rc;
	char *t = plan_text(missing_uplink, "hyper1", nics, NULL, &rc);

	is_int(rc, -1, "missing uplinks and an MTU above the uplink's: errors");
	is_str(t,
	       "c.yaml:5:5: error: uplink 'eth9' does not exist on host hyper1; name an existing NIC "
	       "or bond, or declare it under hosts[].interfaces\n"
	       "c.yaml:6:5: error: uplink 'eth8' does not exist on host hyper1; name an existing NIC "
	       "or bond, or declare it under hosts[].interfaces\n"
	       "c.yaml:7:5: error: vlan 'eth0.7': mtu 9000 is above uplink eth0's 1500; raise the "
	       "uplink's mtu (hosts[].interfaces) or lower this one\n"
	       ,
	       "each error at its network");
	free(t);

	{
		/* the loader runs vf_hostnet_desired for every host: the conflict is a
		 * configuration error that `validate` reports, before any host */
		char *path = xasprintf("%s/c.yaml", tmpdir), *buf = NULL;
		struct vf_diags d = { 0 };
		struct vf_config *c;
		size_t len = 0;
		FILE *f = fopen(path, "w"), *out;

		fputs(conflict, f);
		fclose(f);
		c = vf_config_load(path, &d);
		ok(c == NULL, "two networks deriving one vlan link differently: the config is refused");
		out = open_memstream(&buf, &len);
		vf_diags_print(&d, out);
		fclose(out);
		ok(strstr(buf, "c.yaml:6:5: error: network b derives link 'eth0.100' with another ") != NULL,
		   "the conflict is reported at the second network");
		ok(strstr(buf, "than network a at ") && strstr(buf, "c.yaml:5:5"),
		   "and names the first one's position");
		diag(buf);
		free(buf);
		free(path);
		vf_diags_release(&d);
		vf_config_free(c);
	}

	t = plan_text(wrong_kind, "h1", live, NULL, &rc);
	is_int(rc, -1, "a link of another kind in the way: error");
	is_str(t, "c.yaml:5:5: error: link 'br-prod' on host h1 is of kind ethernet, but network "
		  "prod wants a bridge; remove or rename the existing link, or give this one another "
		  "name\n", "the error names the link and both kinds");
	free(t);
}

static void test_ports_and_nics(void)
{
	static const char text[] =
		"version: 1\n"
		"clusters: [{name: c1}]\n"
		"hosts:\n"
		"  - name: h1\n"
		"    cluster: c1\n"
		"    uri: 'test:///default'\n"
		"    interfaces:\n"
		"      - {name: br0, type: bridge, ports: [eth1], stp: true, mtu: 9000}\n"
		"      - {name: eth2, type: ethernet}\n"
		"      - {name: bond1, type: bond, ports: [eth3]}\n";
	static const char *const live[] = {
		"eth1 ethernet 1500 1",
		"eth2 ethernet 1500 1 master=br0",
		"br0 bridge 1500 1 stp=0",
		NULL,
	};
	static const char absent_nic[] =
		"version: 1\n"
		"clusters: [{name: c1}]\n"
		"hosts:\n"
		"  - name: h1\n"
		"    cluster: c1\n"
		"    uri: 'test:///default'\n"
		"    interfaces:\n"
		"      - {name: eth1, type: ethernet, state: absent}\n"
		"      - {name: eth1.5, type: vlan, base: eth1, id: 5}\n";
	static const char *const fixed[] = {
		"eth1 ethernet 9000 1",
		"eth2 ethernet 1500 1 master=br0",
		"eth3 ethernet 1500 1",
		"br0 bridge 1500 1 stp=0",
		NULL,
	};
	int rc;
	char *t = plan_text(text, "h1", live, NULL, &rc);

	is_int(rc, -1, "a bond port that does not exist: error");
	is_str(t, "c.yaml:8:9: error: bridge 'br0': mtu 9000 is above port eth1's 1500; raise the "
		  "port's mtu or lower this one\n"
		  "c.yaml:10:9: error: interface bond1: port 'eth3' does not exist on host h1; "
		  "name an existing link, or declare it\n",
	       "the port and the MTU above a port's are reported at their interfaces");
	free(t);

	t = plan_text(text, "h1", fixed, NULL, &rc);
	is_int(rc, 0, "ports fixed: plan builds");
	is_str(t,
	       "+   create  link.bond1@h1: bond (interface bond1)\n"
	       "~   update  link.br0@h1: mtu 1500 -> 9000, stp off -> on (interface br0; adopts the existing link)\n"
	       "~   update  link.eth1@h1: master (none) -> br0 (interface br0: port of br0)\n"
	       "~   update  link.eth2@h1: master br0 -> (none) (interface eth2: not a port of br0)\n"
	       "~   update  link.eth3@h1: master (none) -> bond1 (interface bond1: port of bond1)\n"
	       "\n"
	       "Plan: 1 to create, 4 to update, 0 to replace, 0 to destroy.\n",
	       "stp and mtu updated; a declared link the config no longer puts in a managed "
	       "bridge is released");
	free(t);

	t = plan_text(absent_nic, "h1", fixed, NULL, &rc);
	is_int(rc, -1, "state: absent on a NIC: error");
	is_str(t, "c.yaml:8:9: error: interface 'eth1' is a NIC on host h1 and cannot be removed; "
		  "remove 'state: absent', or the entry\n"
		  "c.yaml:9:9: error: uplink 'eth1' of vlan 'eth1.5' is 'state: absent' on host h1; "
		  "keep the uplink, or remove this link\n",
	       "a NIC cannot be removed, nor stacked on when absent");
	free(t);
}

/* A VLAN on a bridge the same plan creates comes after it; deleted, before it. */
static void test_vlan_on_bridge(void)
{
	static const char text[] =
		"version: 1\n"
		"clusters: [{name: c1}]\n"
		"hosts:\n"
		"  - name: h1\n"
		"    cluster: c1\n"
		"    uri: 'test:///default'\n"
		"    interfaces:\n"
		"      - {name: br0, type: bridge}\n"
		"      - {name: br0.5, type: vlan, base: br0, id: 5}\n";
	static const char nothing[] =
		"version: 1\n"
		"clusters: [{name: c1}]\n"
		"hosts:\n"
		"  - {name: h1, cluster: c1, uri: 'test:///default'}\n";
	static const char *const none[] = { "eth0 ethernet 1500 1", NULL };
	static const char *const live[] = {
		"eth0 ethernet 1500 1",
		"br0 bridge 1500 1",
		"br0.5 vlan 1500 1 base=br0 id=5",
		NULL,
	};
	const char *const owned[] = { "br0", "br0.5", NULL };
	int rc;
	char *t = plan_text(text, "h1", none, NULL, &rc);

	is_int(rc, 0, "vlan on a created bridge: plan builds");
	is_str(t,
	       "+   create  link.br0@h1: bridge (interface br0)\n"
	       "+   create  link.br0.5@h1: vlan, base br0, id 5 (interface br0.5)\n"
	       "\n"
	       "Plan: 2 to create, 0 to update, 0 to replace, 0 to destroy.\n"
	       "Not managed (left as they are): eth0\n",
	       "a VLAN on a bridge the plan creates is created after the bridge");
	free(t);
	t = plan_text(nothing, "h1", live, owned, &rc);
	is_int(rc, 0, "vlan on a dropped bridge: plan builds");
	is_str(t,
	       "-   destroy link.br0.5@h1 (no longer in the configuration (was network old))\n"
	       "-   destroy link.br0@h1 (no longer in the configuration (was network old))\n"
	       "\n"
	       "Plan: 0 to create, 0 to update, 0 to replace, 2 to destroy.\n"
	       "Not managed (left as they are): eth0\n",
	       "a VLAN on a bridge the plan deletes is deleted before the bridge");
	free(t);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	test_create_from_nothing();
	test_converged();
	test_update_and_delete();
	test_absent_and_replace();
	test_errors();
	test_ports_and_nics();
	test_vlan_on_bridge();
	if (fork() == 0)
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
	return tap_done();
}
