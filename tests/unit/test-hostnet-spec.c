/*
 * test-hostnet-spec.c — the host spec (vf_hostnet_spec_json / _parse: what
 * the controller sends a host and what the host keeps as confirmed), and
 * bond options on the engine side: their checks in vf_hostnet_desired and
 * at plan time, and the plan's option changes.  No kernel: configs are
 * fixtures, observed links hand-made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/hostnet.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-hostnet-spec.XXXXXX";

/* Load text as a config; NULL with *diag (the loader's diagnostics) if bad. */
static char *diags_text(struct vf_diags *d);
static struct vf_config *load(const char *text, char **diag)
{
	char *path = xasprintf("%s/c.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	struct vf_diags d = { 0 };
	struct vf_config *c;

	fputs(text, f);
	fclose(f);
	c = vf_config_load(path, &d);
	if (!c)
		*diag = diags_text(&d);
	vf_diags_release(&d);
	free(path);
	return c;
}

/* Diagnostics as printed, with the temporary directory cut out. */
static char *diags_text(struct vf_diags *d)
{
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	vf_diags_sort(d);
	vf_diags_print(d, out);
	fclose(out);
	while ((p = strstr(buf, tmpdir)))
		memmove(p, p + strlen(tmpdir) + 1, strlen(p + strlen(tmpdir) + 1) + 1);
	return buf;
}

static const char config_text[] =
	"version: 1\n"
	"clusters: [{name: c1}]\n"
	"hosts:\n"
	"  - name: h1\n"
	"    cluster: c1\n"
	"    uri: 'test:///default'\n"
	"    interfaces:\n"
	"      - {name: bond0, type: bond, mode: 802.3ad, ports: [eth1, eth2], mtu: 9000,\n"
	"         options: {miimon: '0100', lacp_rate: '1', xmit_hash_policy: layer3+4, updelay: 200}}\n"
	"      - {name: eth0, type: ethernet, mtu: 9000}\n"
	"      - {name: br-x, type: bridge, ports: [eth3], stp: true}\n"
	"      - {name: old0, type: bridge, ports: [], state: absent}\n"
	"networks:\n"
	"  - {name: prod, mode: bridge, vlan: 100, uplink: bond0, mtu: 9000}\n"
	"  - {name: plain, mode: bridge, uplink: eth0}\n";

static void desired_of(const char *text, const char *host, struct vf_host_links *out,
		       struct vf_config **config, char **diag)
{
	struct vf_diags d = { 0 };
	int rc = -1;

	*diag = NULL;
	*config = load(text, diag);
	if (*config)
		rc = vf_hostnet_desired(*config, vf_config_find_host(*config, host), out, &d);
	if (rc < 0 && *config)
		*diag = diags_text(&d);
	vf_diags_release(&d);
}

static const struct vf_host_link *find(const struct vf_host_links *l, const char *name)
{
	return vf_host_links_find(l, name);
}

static bool links_equal(const struct vf_host_link *a, const struct vf_host_link *b)
{
	size_t i;

#define S(f) (a->f && b->f ? !strcmp(a->f, b->f) : a->f == b->f)
	if (!S(name) || a->kind != b->kind || a->mtu != b->mtu || !S(master) || !S(vlan_base) ||
	    a->vlan_id != b->vlan_id || !S(bond_mode) || a->n_ports != b->n_ports ||
	    a->stp != b->stp || a->absent != b->absent || !S(owner) || !S(master_owner) ||
	    !S(pos.file) || a->pos.line != b->pos.line || a->pos.col != b->pos.col ||
	    a->n_bond_options != b->n_bond_options)
		return false;
#undef S
	for (i = 0; i < a->n_ports; i++)
		if (strcmp(a->ports[i], b->ports[i]))
			return false;
	for (i = 0; i < a->n_bond_options; i++)
		if (strcmp(a->bond_options[i].key, b->bond_options[i].key) ||
		    strcmp(a->bond_options[i].value, b->bond_options[i].value))
			return false;
	return true;
}

static void test_round_trip(void)
{
	struct vf_host_links desired = { VF_ARENA_INIT, NULL, 0, 0 };
	struct vf_host_links back = { VF_ARENA_INIT, NULL, 0, 0 };
	struct vf_config *c;
	const struct vf_host_link *b;
	json_t *doc, *doc2, *reread;
	const char *host = NULL;
	char *diag, *text, *error = NULL;
	size_t i;
	bool same = true;
	int rc;

	desired_of(config_text, "h1", &desired, &c, &diag);
	ok(diag == NULL, "round trip: the config's desired links build");
	if (diag)
		printf("# %s", diag);
	free(diag);
	b = find(&desired, "bond0");
	ok(b && b->n_bond_options == 4, "bond0: four options");
	if (b && b->n_bond_options == 4) {
		is_str(b->bond_options[0].value, "100", "miimon '0100' is canonical '100'");
		is_str(b->bond_options[1].value, "fast", "lacp_rate '1' is canonical 'fast'");
		is_str(b->bond_options[2].value, "layer3+4", "xmit_hash_policy as given");
		is_str(b->bond_options[3].value, "200", "updelay 200");
	}

	doc = vf_hostnet_spec_json("h1", &desired);
	text = json_dumps(doc, JSON_COMPACT);
	reread = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	ok(reread != NULL, "the spec is JSON that reads back");
	is_str(json_string_value(json_object_get(doc, "format")), "virtform-host-spec", "format");
	is_int(json_integer_value(json_object_get(doc, "version")), 1, "version 1");
	rc = vf_hostnet_spec_parse(reread, &back, &host, &error);
	is_int(rc, 0, "the spec parses");
	if (rc < 0)
		printf("# %s\n", error);
	is_str(host, "h1", "host comes back");
	is_int(back.n, desired.n, "as many links come back");
	for (i = 0; i < desired.n && i < back.n; i++)
		if (!links_equal(&desired.items[i], &back.items[i])) {
			printf("# link %zu (%s) differs\n", i, desired.items[i].name);
			same = false;
		}
	ok(same && back.n == desired.n, "every field of every link comes back (positions too)");
	b = find(&back, "old0");
	ok(b && b->absent, "state: absent comes back");
	b = find(&back, "br-x");
	ok(b && b->stp == 1, "stp true comes back");
	b = find(&back, "eth0");
	ok(b && b->stp == -1 && b->mtu == 9000 && b->master && !strcmp(b->master, "br-plain"),
	   "eth0: stp null, mtu 9000, master br-plain");
	doc2 = vf_hostnet_spec_json(host, &back);
	ok(json_equal(doc, doc2), "spec -> parse -> spec is the same document");

	json_decref(doc);
	json_decref(doc2);
	json_decref(reread);
	free(text);
	free(error);
	vf_host_links_release(&desired);
	vf_host_links_release(&back);
	vf_config_free(c);
}

/* Parse text; the error (malloc'd) or NULL. */
static char *parse_error(const char *text)
{
	struct vf_host_links out = { VF_ARENA_INIT, NULL, 0, 0 };
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	const char *host;
	char *error = NULL;

	if (!doc)
		return xasprintf("(not JSON: %s)", je.text);
	if (vf_hostnet_spec_parse(doc, &out, &host, &error) == 0)
		error = NULL;
	json_decref(doc);
	vf_host_links_release(&out);
	return error;
}

#define HEAD "{\"format\": \"virtform-host-spec\", \"version\": 1, \"host\": \"h1\", \"links\": "

static void test_bad_documents(void)
{
	static const struct { const char *doc, *error; } cases[] = {
		{ "[]", "host spec: must be a JSON object, not an array" },
		{ "{\"format\": \"other\", \"version\": 1, \"host\": \"h\", \"links\": []}",
		  "host spec: \"format\" is 'other', expected 'virtform-host-spec'" },
		{ "{\"format\": \"virtform-host-spec\", \"version\": 2, \"host\": \"h\", \"links\": []}",
		  "host spec: \"version\" 2 is not supported by this virtform (it reads version 1): "
		  "update virtform on this host" },
		{ "{\"format\": \"virtform-host-spec\", \"version\": 1, \"links\": []}",
		  "host spec: \"host\" is missing; it must be a string" },
		{ "{\"format\": \"virtform-host-spec\", \"version\": 1, \"host\": \"h\", \"link\": []}",
		  "host spec: unknown key 'link' in the document; did you mean 'links'?" },
		{ HEAD "{}}", "host spec: \"links\" must be an array, not an object" },
		{ HEAD "[7]}", "host spec: links[0]: must be an object, not an integer" },
		{ HEAD "[{\"kind\": \"bridge\", \"owner\": \"x\"}]}",
		  "host spec: links[0]: \"name\" is missing; it must be a string" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\"},"
		       " {\"name\": \"br1\", \"kind\": \"brdige\", \"owner\": \"x\"}]}",
		  "host spec: links[1] ('br1'): kind 'brdige' is not one of ethernet, bond, bridge, "
		  "vlan or port" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\", \"mtuu\": 1}]}",
		  "host spec: links[0] ('br0'): unknown key 'mtuu' in a link; did you mean 'mtu'?" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\", \"mtu\": 70000}]}",
		  "host spec: links[0] ('br0'): \"mtu\" 70000 is outside 68..65535 (or 0: leave as "
		  "it is)" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\", \"mtu\": \"9000\"}]}",
		  "host spec: links[0] ('br0'): \"mtu\" must be an integer, not a string" },
		{ HEAD "[{\"name\": \"a-very-long-name0\", \"kind\": \"bridge\", \"owner\": \"x\"}]}",
		  "host spec: links[0]: \"name\": 'a-very-long-name0' is not a link name (1 to 15 "
		  "bytes, no '/', ':' or white space)" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\"}]}",
		  "host spec: links[0] ('br0'): \"owner\" is missing; it must be a string" },
		{ HEAD "[{\"name\": \"eth0.5\", \"kind\": \"vlan\", \"owner\": \"x\", \"vlan_base\": \"eth0\","
		       " \"vlan_id\": 4095}]}",
		  "host spec: links[0] ('eth0.5'): \"vlan_id\" 4095 is outside 1..4094 (or 0: leave as "
		  "it is)" },
		{ HEAD "[{\"name\": \"eth0.5\", \"kind\": \"vlan\", \"owner\": \"x\", \"vlan_id\": 5}]}",
		  "host spec: links[0] ('eth0.5'): a vlan needs \"vlan_base\" and \"vlan_id\" (1..4094)" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\", \"vlan_id\": 5}]}",
		  "host spec: links[0] ('br0'): \"vlan_base\" and \"vlan_id\" are for kind vlan only, "
		  "not bridge" },
		{ HEAD "[{\"name\": \"bond0\", \"kind\": \"bond\", \"owner\": \"x\", \"bond_mode\": \"fast\"}]}",
		  "host spec: links[0] ('bond0'): \"bond_mode\" 'fast' is not one of balance-rr, "
		  "active-backup, balance-xor, broadcast, 802.3ad, balance-tlb or balance-alb" },
		{ HEAD "[{\"name\": \"bond0\", \"kind\": \"bond\", \"owner\": \"x\","
		       " \"bond_options\": {\"miimon\": 100}}]}",
		  "host spec: links[0] ('bond0'): \"bond_options\": 'miimon' must be a string, not an "
		  "integer" },
		{ HEAD "[{\"name\": \"bond0\", \"kind\": \"bond\", \"owner\": \"x\","
		       " \"bond_options\": {\"miimonn\": \"100\"}}]}",
		  "host spec: links[0] ('bond0'): \"bond_options\": unknown bond option 'miimonn'; "
		  "did you mean 'miimon'?" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\","
		       " \"bond_options\": {\"miimon\": \"100\"}}]}",
		  "host spec: links[0] ('br0'): \"bond_options\" are for kind bond only, not bridge" },
		{ HEAD "[{\"name\": \"bond0\", \"kind\": \"bond\", \"owner\": \"x\", \"stp\": true}]}",
		  "host spec: links[0] ('bond0'): \"stp\" is for kind bridge only, not bond" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\", \"stp\": 1}]}",
		  "host spec: links[0] ('br0'): \"stp\" must be true, false or null, not an integer" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\", \"ports\": [\"a b\"]}]}",
		  "host spec: links[0] ('br0'): \"ports\"[0] must be a link name (1 to 15 bytes, no "
		  "'/', ':' or white space)" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\"},"
		       " {\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"y\"}]}",
		  "host spec: links[1] ('br0'): a link of that name comes earlier in \"links\"; each "
		  "link once" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\", \"absent\": \"no\"}]}",
		  "host spec: links[0] ('br0'): \"absent\" must be true or false, not a string" },
		{ HEAD "[{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\","
		       " \"pos\": {\"file\": \"c.yaml\", \"lin\": 3}}]}",
		  "host spec: links[0] ('br0'): unknown key 'lin' in \"pos\"; did you mean 'line'?" },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(cases); i++) {
		char *e = parse_error(cases[i].doc);
		is_str(e, cases[i].error, "bad spec %zu: exact message", i);
		free(e);
	}
	{
		char *e = parse_error(HEAD "[]}");
		ok(e == NULL, "a spec with no links is fine");
		free(e);
	}
}

static void test_option_values(void)
{
	static const struct { const char *name, *value, *canon, *error; } cases[] = {
		{ "miimon", "100", "100", NULL },
		{ "miimon", "007", "7", NULL },
		{ "downdelay", "0", "0", NULL },
		{ "lacp_rate", "fast", "fast", NULL },
		{ "lacp_rate", "0", "slow", NULL },
		{ "ad_select", "2", "count", NULL },
		{ "xmit_hash_policy", "vlan+srcmac", "vlan+srcmac", NULL },
		{ "primary", "eth1", "eth1", NULL },
		{ "primary_reselect", "better", "better", NULL },
		{ "arp_interval", "250", "250", NULL },
		{ "min_links", "2", "2", NULL },
		{ "miimon", "10ms", NULL,
		  "bond option 'miimon': '10ms' is not a whole number 0..2147483647" },
		{ "miimon", "-1", NULL,
		  "bond option 'miimon': '-1' is not a whole number 0..2147483647" },
		{ "miimon", "99999999999", NULL,
		  "bond option 'miimon': '99999999999' is not a whole number 0..2147483647" },
		{ "lacp_rate", "quick", NULL,
		  "bond option 'lacp_rate': 'quick' is not one of slow or fast" },
		{ "lacp_rate", "2", NULL,
		  "bond option 'lacp_rate': '2' is not one of slow or fast" },
		{ "xmit_hash_policy", "layer4", NULL,
		  "bond option 'xmit_hash_policy': 'layer4' is not one of layer2, layer3+4, layer2+3, "
		  "encap2+3, encap3+4 or vlan+srcmac" },
		{ "primary", "eth 1", NULL,
		  "bond option 'primary': 'eth 1' is not a link name (1 to 15 bytes, no '/', ':' or "
		  "white space)" },
		{ "miimom", "100", NULL, "unknown bond option 'miimom'; did you mean 'miimon'?" },
		{ "arp_ip_target", "10.0.0.1", NULL,
		  "unknown bond option 'arp_ip_target'; virtform sets miimon, updelay, downdelay, "
		  "arp_interval, lacp_rate, ad_select, xmit_hash_policy, primary, primary_reselect, "
		  "min_links" },
	};
	struct vf_arena arena = VF_ARENA_INIT;
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(cases); i++) {
		const char *canon = NULL;
		char *error = NULL;
		int rc = vf_hostnet_bond_option_canon(&arena, cases[i].name, cases[i].value, &canon,
						      &error);

		if (cases[i].error) {
			is_int(rc, -1, "option %s=%s refused", cases[i].name, cases[i].value);
			is_str(error, cases[i].error, "option %s=%s: message", cases[i].name,
			       cases[i].value);
		} else {
			is_int(rc, 0, "option %s=%s taken", cases[i].name, cases[i].value);
			is_str(canon, cases[i].canon, "option %s=%s: canonical %s", cases[i].name,
			       cases[i].value, cases[i].canon);
		}
		free(error);
	}
	vf_arena_release(&arena);
}

static bool own_bond;   /* plan_of: bond0 is in the ownership records */

/* Plan host h1 of text against observed specs ("NAME KIND MTU UP [mode=M]
 * [opt=K:V,...]"); the printed plan or the diagnostics. */
static char *plan_of(const char *text, const char *const *specs, bool no_delete)
{
	struct vf_host_links desired = { VF_ARENA_INIT, NULL, 0, 0 };
	struct vf_host_links observed = { VF_ARENA_INIT, NULL, 0, 0 };
	struct vf_hostnet_owned owned = { NULL, NULL, 0, 0 };
	struct vf_hostnet_plan plan;
	struct vf_diags d = { 0 };
	struct vf_config *c;
	char *diag, *buf = NULL;
	size_t len = 0;
	FILE *out;

	memset(&plan, 0, sizeof(plan));
	desired_of(text, "h1", &desired, &c, &diag);
	if (diag) {
		vf_host_links_release(&desired);
		vf_config_free(c);
		return diag;
	}
	vf_hostnet_owned_add(&owned, "br-gone", "network gone");
	if (own_bond)
		vf_hostnet_owned_add(&owned, "bond0", "interface bond0");
	for (; *specs; specs++) {
		char name[32], kind[16], rest[256] = "";
		unsigned mtu;
		int up;
		struct vf_host_link *l;
		char *tok, *save;

		if (sscanf(*specs, "%31s %15s %u %d %255[^\n]", name, kind, &mtu, &up, rest) < 4)
			abort();
		l = vf_host_links_add(&observed, name);
		l->kind = !strcmp(kind, "bond") ? VF_HOST_LINK_BOND
			: !strcmp(kind, "vlan") ? VF_HOST_LINK_VLAN
			: !strcmp(kind, "bridge") ? VF_HOST_LINK_BRIDGE : VF_HOST_LINK_ETHERNET;
		l->mtu = mtu;
		l->up = up;
		for (tok = strtok_r(rest, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (!strncmp(tok, "mode=", 5)) {
				l->bond_mode = vf_arena_strdup(&observed.arena, tok + 5);
			} else if (!strncmp(tok, "base=", 5)) {
				l->vlan_base = vf_arena_strdup(&observed.arena, tok + 5);
			} else if (!strncmp(tok, "id=", 3)) {
				l->vlan_id = (unsigned)atoi(tok + 3);
			} else if (!strncmp(tok, "master=", 7)) {
				l->master = vf_arena_strdup(&observed.arena, tok + 7);
			} else if (!strncmp(tok, "opt=", 4)) {
				char *kv, *s2;
				l->bond_options = vf_arena_alloc(&observed.arena,
								 16 * sizeof(*l->bond_options));
				for (kv = strtok_r(tok + 4, ",", &s2); kv; kv = strtok_r(NULL, ",", &s2)) {
					char *colon = strchr(kv, ':');
					*colon = '\0';
					l->bond_options[l->n_bond_options].key =
						vf_arena_strdup(&observed.arena, kv);
					l->bond_options[l->n_bond_options++].value =
						vf_arena_strdup(&observed.arena, colon + 1);
				}
			}
		}
	}
	out = open_memstream(&buf, &len);
	if (vf_hostnet_plan_build("h1", &desired, &observed, &owned, &plan, &d) == 0) {
		if (no_delete)
			vf_hostnet_plan_drop_deletes(&plan);
		vf_hostnet_plan_print(&plan, out);
		fclose(out);
	} else {
		fclose(out);
		free(buf);
		buf = diags_text(&d);
	}
	vf_hostnet_plan_release(&plan);
	vf_host_links_release(&desired);
	vf_host_links_release(&observed);
	vf_hostnet_owned_release(&owned);
	vf_diags_release(&d);
	vf_config_free(c);
	return buf;
}

#define BOND_CONFIG(iface) \
	"version: 1\n" \
	"clusters: [{name: c1}]\n" \
	"hosts:\n" \
	"  - name: h1\n" \
	"    cluster: c1\n" \
	"    uri: 'test:///default'\n" \
	"    interfaces:\n" \
	"      - " iface "\n"

static void test_option_plans(void)
{
	static const char *const nics[] = {
		"eth1 ethernet 1500 1 master=bond0", "eth2 ethernet 1500 1 master=bond0",
		"br-gone bridge 1500 1", NULL,
	};
	static const char *const bond_100[] = {
		"eth1 ethernet 1500 1 master=bond0", "eth2 ethernet 1500 1 master=bond0",
		"bond0 bond 1500 1 mode=active-backup opt=miimon:100,updelay:0,primary_reselect:always",
		NULL,
	};
	static const char *const bond_bare[] = {
		"eth1 ethernet 1500 1 master=bond0", "eth2 ethernet 1500 1 master=bond0",
		"bond0 bond 1500 1 mode=active-backup opt=miimon:0", NULL,
	};
	static const char *const bond_rr[] = {
		"eth1 ethernet 1500 1 master=bond0", "eth2 ethernet 1500 1 master=bond0",
		"bond0 bond 1500 1 mode=balance-rr opt=miimon:0", NULL,
	};
	const char *ab = BOND_CONFIG("{name: bond0, type: bond, mode: active-backup, ports: [eth1, eth2],"
				     " options: {miimon: 100, primary: eth1}}");
	char *t;

	t = plan_of(ab, nics, false);
	is_str(t,
	       "+   create  link.bond0@h1: bond, mode active-backup, options.miimon 100, "
	       "options.primary eth1 (interface bond0)\n"
	       "-   destroy link.br-gone@h1 (no longer in the configuration (was network gone))\n"
	       "\n"
	       "Plan: 1 to create, 0 to update, 0 to replace, 1 to destroy.\n",
	       "a bond created with its options");
	free(t);
	t = plan_of(ab, nics, true);
	is_str(t,
	       "+   create  link.bond0@h1: bond, mode active-backup, options.miimon 100, "
	       "options.primary eth1 (interface bond0)\n"
	       "\n"
	       "Plan: 1 to create, 0 to update, 0 to replace, 0 to destroy.\n",
	       "--no-delete: the delete is left out");
	free(t);

	t = plan_of(BOND_CONFIG("{name: bond0, type: bond, mode: active-backup, ports: [eth1, eth2],"
				" options: {miimon: '100', updelay: '0'}}"), bond_100, false);
	is_str(t, "No changes. Host h1's links match the configuration.\n",
	       "options as read back: no changes (options the config leaves out are left alone)");
	free(t);
	t = plan_of(BOND_CONFIG("{name: bond0, type: bond, mode: active-backup, ports: [eth1, eth2],"
				" options: {miimon: 200, primary: eth2}}"), bond_100, false);
	is_str(t,
	       "~   update  link.bond0@h1: options.miimon 100 -> 200, options.primary (none) -> eth2 "
	       "(interface bond0; adopts the existing link)\n"
	       "\n"
	       "Plan: 0 to create, 1 to update, 0 to replace, 0 to destroy.\n",
	       "a changed miimon and a new primary are one update");
	free(t);

	t = plan_of(BOND_CONFIG("{name: bond0, type: bond, mode: active-backup, ports: [eth1, eth2],"
				" options: {lacp_rate: fast, miimon: 100, arp_interval: 100,"
				" updelay: 150, primary: eth3}}"), bond_bare, false);
	is_str(t,
	       "c.yaml:8:9: error: bond 'bond0': option 'lacp_rate' applies only in mode 802.3ad, "
	       "not active-backup; remove the option, or change the mode\n"
	       "c.yaml:8:9: error: bond 'bond0': option 'updelay' 150 is not a multiple of miimon 100 "
	       "(the kernel would round it down); use a multiple of miimon\n"
	       "c.yaml:8:9: error: bond 'bond0': option 'primary' names 'eth3', which is not one of "
	       "its ports on host h1; name one of the bond's ports\n"
	       "c.yaml:8:9: error: bond 'bond0': options 'miimon' and 'arp_interval' exclude each "
	       "other (the kernel turns one off when the other is set); keep one of them (set the "
	       "other to 0, or leave it out)\n",
	       "plan time: an option of another mode, delays, primary, MII with ARP");
	free(t);
	t = plan_of(BOND_CONFIG("{name: bond0, type: bond, ports: [eth1, eth2],"
				" options: {primary: eth1, downdelay: 100}}"), bond_rr, false);
	is_str(t,
	       "c.yaml:8:9: error: bond 'bond0': option 'primary' applies only in mode active-backup, "
	       "balance-tlb and balance-alb, not balance-rr (the bond's mode on this host); remove "
	       "the option, or change the mode\n"
	       "c.yaml:8:9: error: bond 'bond0': option 'downdelay' needs option 'miimon' above 0 "
	       "(the kernel counts delays in MII monitoring intervals); set miimon (e.g. 100) in the "
	       "same options\n",
	       "without a mode, the bond's mode on the host decides");
	free(t);

	{
		static const char *const live[] = {
			"eth1 ethernet 1500 1 master=bond0", "eth2 ethernet 1500 1 master=bond0",
			"bond0 bond 1500 1 mode=active-backup opt=miimon:100",
			"bond0.5 vlan 1500 1 base=bond0 id=5 master=br-v", "br-v bridge 1500 1", NULL,
		};
		const char *cfg =
			"version: 1\n"
			"clusters: [{name: c1}]\n"
			"hosts:\n"
			"  - name: h1\n"
			"    cluster: c1\n"
			"    uri: 'test:///default'\n"
			"    interfaces:\n"
			"      - {name: bond0, type: bond, mode: 802.3ad, ports: [eth1, eth2]}\n"
			"networks:\n"
			"  - {name: v, mode: bridge, vlan: 5, uplink: bond0, bridge: br-v}\n";
		own_bond = true;
		t = plan_of(cfg, live, true);
		own_bond = false;
		is_str(t,
		       "-/+ replace link.bond0@h1 (interface bond0: mode active-backup -> 802.3ad cannot "
		       "change in place)\n"
		       "-/+ replace link.bond0.5@h1 (network v: its base bond0 is replaced)\n"
		       "~   update  link.eth1@h1: master (none) -> bond0 (interface bond0: port of bond0 "
		       "again after its replace)\n"
		       "~   update  link.eth2@h1: master (none) -> bond0 (interface bond0: port of bond0 "
		       "again after its replace)\n"
		       "~   update  link.bond0.5@h1: master (none) -> br-v (network v: port of br-v)\n"
		       "\n"
		       "Plan: 0 to create, 3 to update, 2 to replace, 0 to destroy.\n",
		       "a bond's replace puts its ports back and re-creates the vlan on it");
		free(t);
	}
	t = plan_of(BOND_CONFIG("{name: bond0, type: bond, ports: [eth1], options: {miimon: 1e3,"
				" lacp_rat: fast}}"), nics, false);
	is_str(t,
	       "c.yaml:8:9: error: interface 'bond0': bond option 'miimon': '1e3' is not a whole "
	       "number 0..2147483647\n"
	       "c.yaml:8:9: error: interface 'bond0': unknown bond option 'lacp_rat'; did you mean "
	       "'lacp_rate'?\n",
	       "vf_hostnet_desired (the loader runs it too): a bad value and an unknown name, at the "
	       "interface");
	free(t);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	test_round_trip();
	test_bad_documents();
	test_option_values();
	test_option_plans();
	if (fork() == 0)
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
	return tap_done();
}
