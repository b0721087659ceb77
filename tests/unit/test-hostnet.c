/*
 * test-hostnet.c — providers/hostnet/links.c on the real kernel, in a
 * private network namespace: create, enslave, change, read back and delete
 * links with the production functions, and every precise error.
 *
 * Needs root (unshare(CLONE_NEWNET)).  Everything happens in a forked
 * child that has left the machine's namespace, so no link outside it is
 * ever touched; the namespace dies with the child.
 *
 * VLAN and bond creation: on a kernel without 8021q / bonding (the build
 * machines) the exact "kernel lacks ..." message is asserted; on a kernel
 * with them, the link is asserted to exist as asked.  Which one is decided
 * by the error code the production function returns, never by skipping.
 */
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "providers/hostnet/links.h"
#include "reconcile/util.h"
#include "tests/tap.h"

static struct vf_netlink *nl;

/* Read every link; the caller releases. */
static void read_links(struct vf_link_list *list)
{
	char *error = NULL;

	if (vf_link_list_read(nl, list, &error) < 0) {
		ok(0, "read links: %s", error);
		free(error);
		list->links = NULL;
		list->n = 0;
	}
}

static bool has_port(const struct vf_link *l, const char *port)
{
	size_t i;
	for (i = 0; l && i < l->n_ports; i++)
		if (!strcmp(l->ports[i], port))
			return true;
	return false;
}

/* Expect success (rc 0); on failure show the message.  Frees *error. */
static void is_done(int rc, char **error, const char *title)
{
	if (!ok(rc == 0, "%s", title))
		printf("#   code %d: %s\n", rc, *error ? *error : "(no message)");
	free(*error);
	*error = NULL;
}

/* Expect rc == want_rc and *error == want_msg; frees error. */
#define is_error(rc, want_rc, error, want_msg, title) do {                      \
	is_int((rc), (want_rc), "%s: code", (title));                           \
	is_str((error), (want_msg), "%s: message", (title));                    \
	free(error);                                                            \
	(error) = NULL;                                                         \
} while (0)

static bool link_exists(const char *name)
{
	struct vf_link_list list;
	bool found;

	read_links(&list);
	found = vf_link_list_find(&list, name) != NULL;
	vf_link_list_release(&list);
	return found;
}

/*
 * The kernel publishes operstate changes from its linkwatch work, up to a
 * second after the change: poll until name's operstate is want (3 s).
 */
static bool wait_operstate(const char *name, const char *want)
{
	struct vf_link_list list;
	const struct vf_link *l;
	bool done = false;
	int i;

	for (i = 0; i < 60 && !done; i++) {
		if (i)
			usleep(50 * 1000);
		read_links(&list);
		l = vf_link_list_find(&list, name);
		done = l && !strcmp(l->operstate, want);
		vf_link_list_release(&list);
	}
	return done;
}

static void test_build_and_read(void)
{
	struct vf_link_list list;
	const struct vf_link *br, *a, *b, *lo;
	char *error = NULL;
	int rc;

	rc = vf_link_set_up(nl, "lo", true, &error);
	is_done(rc, &error, "lo up");
	rc = vf_link_create_veth(nl, "vfh0", "vfh1", &error);
	is_done(rc, &error, "create veth pair vfh0/vfh1");
	rc = vf_link_create_bridge(nl, "vfhbr0", 0, -1, &error);
	is_done(rc, &error, "create bridge vfhbr0");
	rc = vf_link_set_master(nl, "vfh0", "vfhbr0", &error);
	is_done(rc, &error, "enslave vfh0 to vfhbr0");
	rc = vf_link_set_mtu(nl, "vfh0", 1400, &error);
	is_done(rc, &error, "set vfh0 mtu 1400");
	rc = vf_link_set_mtu(nl, "vfhbr0", 1400, &error);
	is_done(rc, &error, "set vfhbr0 mtu 1400");
	rc = vf_link_set_up(nl, "vfh0", true, &error);
	is_done(rc, &error, "vfh0 up");
	rc = vf_link_set_up(nl, "vfh1", true, &error);
	is_done(rc, &error, "vfh1 up");
	rc = vf_link_set_up(nl, "vfhbr0", true, &error);
	is_done(rc, &error, "vfhbr0 up");
	free(error);

	ok(wait_operstate("vfh0", "up"), "vfh0: operstate up (its peer is up) within 3 s");
	read_links(&list);
	lo = vf_link_list_find(&list, "lo");
	br = vf_link_list_find(&list, "vfhbr0");
	a = vf_link_list_find(&list, "vfh0");
	b = vf_link_list_find(&list, "vfh1");
	ok(lo && br && a && b, "reader finds lo, vfhbr0, vfh0, vfh1");
	if (lo && br && a && b) {
		is_int(lo->kind, VF_LINK_KIND_OTHER, "lo: kind other");
		is_str(lo->link_type, "loopback", "lo: link type loopback");
		ok(lo->up, "lo: up");
		is_int(br->kind, VF_LINK_KIND_BRIDGE, "vfhbr0: kind bridge");
		is_str(br->kernel_kind, "bridge", "vfhbr0: kernel kind");
		is_int(br->mtu, 1400, "vfhbr0: mtu 1400");
		ok(br->up, "vfhbr0: up");
		is_int(br->stp, 0, "vfhbr0: stp off (the kernel's default)");
		is_int(br->n_ports, 1, "vfhbr0: one port");
		ok(has_port(br, "vfh0"), "vfhbr0: port vfh0");
		is_int(a->kind, VF_LINK_KIND_VETH, "vfh0: kind veth");
		is_int(a->mtu, 1400, "vfh0: mtu 1400");
		ok(a->up, "vfh0: up");
		is_str(a->master, "vfhbr0", "vfh0: master vfhbr0");
		is_str(b->master, "", "vfh1: no master");
		is_int(b->mtu, 1500, "vfh1: mtu 1500");
	}
	vf_link_list_release(&list);

	rc = vf_link_set_bridge_stp(nl, "vfhbr0", true, &error);
	is_done(rc, &error, "stp on");
	read_links(&list);
	br = vf_link_list_find(&list, "vfhbr0");
	is_int(br ? br->stp : -2, 1, "vfhbr0: stp reads back on");
	vf_link_list_release(&list);
	rc = vf_link_set_bridge_stp(nl, "vfhbr0", false, &error);
	is_done(rc, &error, "stp off");

	rc = vf_link_set_up(nl, "vfh1", false, &error);
	is_done(rc, &error, "vfh1 down");
	read_links(&list);
	b = vf_link_list_find(&list, "vfh1");
	ok(b && !b->up, "vfh1: reads back down");
	vf_link_list_release(&list);

	rc = vf_link_release(nl, "vfh0", &error);
	is_done(rc, &error, "release vfh0");
	read_links(&list);
	a = vf_link_list_find(&list, "vfh0");
	br = vf_link_list_find(&list, "vfhbr0");
	is_str(a ? a->master : NULL, "", "vfh0: no master after release");
	is_int(br ? br->n_ports : 99, 0, "vfhbr0: no ports after release");
	vf_link_list_release(&list);

	/* stp given at creation: virtform's own RTM_NEWLINK, not libnl's */
	rc = vf_link_create_bridge(nl, "vfhbr1", 9000, 1, &error);
	is_done(rc, &error, "create bridge vfhbr1 with mtu 9000 and stp on");
	read_links(&list);
	br = vf_link_list_find(&list, "vfhbr1");
	ok(br != NULL, "vfhbr1 exists");
	if (br) {
		is_int(br->kind, VF_LINK_KIND_BRIDGE, "vfhbr1: kind bridge");
		is_int(br->mtu, 9000, "vfhbr1: mtu 9000");
		is_int(br->stp, 1, "vfhbr1: stp on");
		ok(!br->up, "vfhbr1: created down");
	}
	vf_link_list_release(&list);

	/* a refusal of the kernel's own comes with its words (extended ack) */
	rc = vf_link_set_master(nl, "vfhbr1", "vfhbr0", &error);
	is_error(rc, VF_LINK_ERR_FAILED, error,
		 "cannot make 'vfhbr1' a port of bridge 'vfhbr0': can not enslave a bridge to a bridge",
		 "bridge into a bridge: the kernel's reason");
	rc = vf_link_delete(nl, "vfhbr1", &error);
	is_done(rc, &error, "delete vfhbr1");
	free(error);
}

static void test_vlan(void)
{
	struct vf_link_list list;
	const struct vf_link *v;
	char *error = NULL;
	int rc;

	rc = vf_link_create_vlan(nl, "vfh0.100", "vfh0", 100, 0, &error);
	if (rc == VF_LINK_ERR_UNSUPPORTED) {
		diag("this kernel has no 802.1Q VLAN support: asserting the message");
		is_str(error, "vlan 'vfh0.100': kernel lacks 802.1Q VLAN support (module 8021q); "
		       "load it with 'modprobe 8021q' or use a kernel built with CONFIG_VLAN_8021Q",
		       "vlan create without 8021q: exact message");
		ok(!link_exists("vfh0.100"), "vlan create without 8021q: nothing left behind");
		rc = vf_link_create_vlan(nl, "lo.5", "lo", 5, 0, &error);
		is_int(rc, VF_LINK_ERR_UNSUPPORTED, "vlan on lo without 8021q: still the 8021q error");
	} else {
		diag("this kernel has 802.1Q VLAN support: asserting the link");
		is_done(rc, &error, "create vlan vfh0.100");
		read_links(&list);
		v = vf_link_list_find(&list, "vfh0.100");
		ok(v != NULL, "vfh0.100 exists");
		if (v) {
			is_int(v->kind, VF_LINK_KIND_VLAN, "vfh0.100: kind vlan");
			is_str(v->vlan_base, "vfh0", "vfh0.100: base vfh0");
			is_int(v->vlan_id, 100, "vfh0.100: id 100");
		}
		vf_link_list_release(&list);

		/* what a bridge-mode network with a vlan is: the vlan in a bridge */
		rc = vf_link_create_bridge(nl, "vfhbr2", 0, -1, &error);
		is_done(rc, &error, "create bridge vfhbr2");
		rc = vf_link_set_master(nl, "vfh0.100", "vfhbr2", &error);
		is_done(rc, &error, "enslave vfh0.100 to vfhbr2");
		read_links(&list);
		v = vf_link_list_find(&list, "vfh0.100");
		is_str(v ? v->master : NULL, "vfhbr2", "vfh0.100: master vfhbr2");
		ok(has_port(vf_link_list_find(&list, "vfhbr2"), "vfh0.100"), "vfhbr2: port vfh0.100");
		vf_link_list_release(&list);
		rc = vf_link_delete(nl, "vfhbr2", &error);
		is_done(rc, &error, "delete vfhbr2");
		rc = vf_link_delete(nl, "vfh0.100", &error);
		is_done(rc, &error, "delete vfh0.100");
		rc = vf_link_create_vlan(nl, "lo.5", "lo", 5, 0, &error);
		is_str(error, "vlan 'lo.5': uplink 'lo' cannot carry VLANs (the kernel refuses "
		       "802.1Q on it); use another uplink", "vlan on lo: exact message");
		is_int(rc, VF_LINK_ERR_INVALID, "vlan on lo: code");
	}
	free(error);
}

static struct vf_link_bond_option opt(const char *name, const char *value)
{
	struct vf_link_bond_option o;

	snprintf(o.name, sizeof(o.name), "%s", name);
	snprintf(o.value, sizeof(o.value), "%s", value);
	return o;
}

/* name's option as read back ("(none)" when not reported). */
static char *read_option(const char *name, const char *option)
{
	struct vf_link_list list;
	const struct vf_link *l;
	const char *v;
	char *r;

	read_links(&list);
	l = vf_link_list_find(&list, name);
	v = l ? vf_link_bond_option(l, option) : NULL;
	r = xstrdup(v ? v : "(none)");
	vf_link_list_release(&list);
	return r;
}

#define is_option(bond, option, want, title) do {                               \
	char *got_ = read_option((bond), (option));                             \
	is_str(got_, (want), "%s", (title));                                    \
	free(got_);                                                             \
} while (0)

/* On a kernel with bonding: vfhbond0 (active-backup) with port vfh1. */
static void test_bond_options(void)
{
	struct vf_link_bond_option o[3];
	char *error = NULL;
	int rc;

	o[0] = opt("miimon", "100");
	o[1] = opt("updelay", "200");
	o[2] = opt("primary", "vfh1");
	rc = vf_link_set_bond_options(nl, "vfhbond0", o, 3, &error);
	is_done(rc, &error, "vfhbond0: set miimon 100, updelay 200, primary vfh1");
	is_option("vfhbond0", "miimon", "100", "vfhbond0: miimon 100 reads back");
	is_option("vfhbond0", "updelay", "200", "vfhbond0: updelay 200 reads back");
	is_option("vfhbond0", "primary", "vfh1", "vfhbond0: primary vfh1 reads back");
	is_option("vfhbond0", "lacp_rate", "(none)",
		  "vfhbond0: lacp_rate is not reported in active-backup mode");
	rc = vf_link_set_up(nl, "vfhbond0", true, &error);
	is_done(rc, &error, "vfhbond0 up");
	o[0] = opt("miimon", "50");
	o[1] = opt("primary", "");
	rc = vf_link_set_bond_options(nl, "vfhbond0", o, 2, &error);
	is_done(rc, &error, "vfhbond0 (up): miimon 50, primary cleared");
	is_option("vfhbond0", "miimon", "50", "vfhbond0: miimon 50 reads back");
	is_option("vfhbond0", "primary", "(none)", "vfhbond0: primary cleared");
	o[0] = opt("lacp_rate", "fast");
	rc = vf_link_set_bond_options(nl, "vfhbond0", o, 1, &error);
	is_int(rc, VF_LINK_ERR_FAILED, "lacp_rate in active-backup mode: the kernel refuses");
	ok(error && !strncmp(error, "bond 'vfhbond0': cannot set lacp_rate fast: ", 44),
	   "lacp_rate in active-backup mode: message names the bond and the option (%s)",
	   error ? error : "none");
	free(error);
}

/* On a kernel with bonding: an 802.3ad bond created with options, and
 * lacp_rate (which the kernel takes only while the bond is down) changed
 * while it is up. */
static void test_bond_8023ad(void)
{
	struct vf_link_bond_option o[3];
	struct vf_link_list list;
	const struct vf_link *b;
	char *error = NULL;
	int rc;

	o[0] = opt("miimon", "100");
	o[1] = opt("lacp_rate", "fast");
	o[2] = opt("xmit_hash_policy", "layer3+4");
	rc = vf_link_create_bond(nl, "vfhbond1", "802.3ad", o, 3, 0, &error);
	is_done(rc, &error, "create 802.3ad bond vfhbond1 with miimon, lacp_rate, xmit_hash_policy");
	is_option("vfhbond1", "miimon", "100", "vfhbond1: miimon 100");
	is_option("vfhbond1", "lacp_rate", "fast", "vfhbond1: lacp_rate fast");
	is_option("vfhbond1", "xmit_hash_policy", "layer3+4", "vfhbond1: xmit_hash_policy layer3+4");
	rc = vf_link_set_up(nl, "vfhbond1", true, &error);
	is_done(rc, &error, "vfhbond1 up");
	o[0] = opt("lacp_rate", "slow");
	rc = vf_link_set_bond_options(nl, "vfhbond1", o, 1, &error);
	is_done(rc, &error, "vfhbond1 (up): lacp_rate slow");
	is_option("vfhbond1", "lacp_rate", "slow", "vfhbond1: lacp_rate slow reads back");
	read_links(&list);
	b = vf_link_list_find(&list, "vfhbond1");
	ok(b && b->up, "vfhbond1: up again after the lacp_rate change");
	vf_link_list_release(&list);
	rc = vf_link_delete(nl, "vfhbond1", &error);
	is_done(rc, &error, "delete vfhbond1");
}

static void test_bond(void)
{
	struct vf_link_list list;
	const struct vf_link *b;
	char *error = NULL;
	int rc;

	rc = vf_link_create_bond(nl, "vfhbond0", "active-backup", NULL, 0, 0, &error);
	if (rc == VF_LINK_ERR_UNSUPPORTED) {
		diag("this kernel has no bonding support: asserting the message");
		is_str(error, "bond 'vfhbond0': kernel lacks bonding support (module bonding); "
		       "load it with 'modprobe bonding' or use a kernel built with CONFIG_BONDING",
		       "bond create without bonding: exact message");
		ok(!link_exists("vfhbond0"), "bond create without bonding: nothing left behind");
	} else {
		diag("this kernel has bonding support: asserting the link");
		is_done(rc, &error, "create bond vfhbond0");
		read_links(&list);
		b = vf_link_list_find(&list, "vfhbond0");
		ok(b != NULL, "vfhbond0 exists");
		if (b) {
			is_int(b->kind, VF_LINK_KIND_BOND, "vfhbond0: kind bond");
			is_str(b->bond_mode, "active-backup", "vfhbond0: mode active-backup");
		}
		vf_link_list_release(&list);

		rc = vf_link_set_master(nl, "vfh1", "vfhbond0", &error);
		is_done(rc, &error, "enslave vfh1 (down) to vfhbond0");
		read_links(&list);
		b = vf_link_list_find(&list, "vfh1");
		is_str(b ? b->master : NULL, "vfhbond0", "vfh1: master vfhbond0");
		b = vf_link_list_find(&list, "vfhbond0");
		ok(b && b->n_ports == 1 && has_port(b, "vfh1"), "vfhbond0: ports [vfh1]");
		vf_link_list_release(&list);
		test_bond_options();
		rc = vf_link_release(nl, "vfh1", &error);
		is_done(rc, &error, "release vfh1 from vfhbond0");
		rc = vf_link_delete(nl, "vfhbond0", &error);
		is_done(rc, &error, "delete vfhbond0");
		test_bond_8023ad();
	}
	free(error);
}

static void test_errors(void)
{
	struct vf_link_list list;
	char *error = NULL;
	int rc;

	rc = vf_link_create_bridge(nl, "vfh-bridge-too-long", 0, -1, &error);
	is_error(rc, VF_LINK_ERR_INVALID, error,
		 "bridge 'vfh-bridge-too-long': name is 19 bytes, the kernel allows at most 15 "
		 "(IFNAMSIZ); choose a shorter name", "bridge name over 15 bytes");
	ok(!link_exists("vfh-bridge-too-long") && !link_exists("vfh-bridge-too-"),
	   "bridge name over 15 bytes: nothing created");
	rc = vf_link_create_bridge(nl, "vfh/br", 0, -1, &error);
	is_error(rc, VF_LINK_ERR_INVALID, error,
		 "bridge 'vfh/br': a link name cannot contain '/', ':' or white space",
		 "bridge name with '/'");

	rc = vf_link_create_vlan(nl, "vfh0.0", "vfh0", 0, 0, &error);
	is_error(rc, VF_LINK_ERR_INVALID, error, "vlan 'vfh0.0': id 0 is outside 1..4094", "vlan id 0");
	rc = vf_link_create_vlan(nl, "vfh0.4095", "vfh0", 4095, 0, &error);
	is_error(rc, VF_LINK_ERR_INVALID, error, "vlan 'vfh0.4095': id 4095 is outside 1..4094",
		 "vlan id 4095");
	rc = vf_link_create_vlan(nl, "eth9.100", "eth9", 100, 0, &error);
	is_error(rc, VF_LINK_ERR_NOT_FOUND, error,
		 "vlan 'eth9.100': uplink 'eth9' does not exist on this host", "missing uplink");
	rc = vf_link_create_vlan(nl, "vfh0.100", "vfh0", 100, 9000, &error);
	is_error(rc, VF_LINK_ERR_INVALID, error,
		 "vlan 'vfh0.100': mtu 9000 is above uplink vfh0's 1400; raise vfh0's mtu first "
		 "or lower this one", "vlan mtu above the uplink's");
	ok(!link_exists("vfh0.100"), "refused vlans: nothing created");

	read_links(&list);
	rc = vf_link_check_uplink(&list, "bridge", "br-prod", "vfh0", 9000, &error);
	is_error(rc, VF_LINK_ERR_INVALID, error,
		 "bridge 'br-prod': mtu 9000 is above uplink vfh0's 1400; raise vfh0's mtu first "
		 "or lower this one", "check_uplink: mtu above the uplink's");
	rc = vf_link_check_uplink(&list, "bridge", "br-prod", "eth9", 0, &error);
	is_error(rc, VF_LINK_ERR_NOT_FOUND, error,
		 "bridge 'br-prod': uplink 'eth9' does not exist on this host",
		 "check_uplink: missing uplink");
	rc = vf_link_check_uplink(&list, "bridge", "br-prod", "vfh0", 1400, &error);
	is_int(rc, 0, "check_uplink: equal mtu is fine");
	vf_link_list_release(&list);

	rc = vf_link_create_bond(nl, "vfhbond0", "fastest", NULL, 0, 0, &error);
	is_error(rc, VF_LINK_ERR_INVALID, error,
		 "bond 'vfhbond0': unknown mode 'fastest'; expected balance-rr, active-backup, "
		 "balance-xor, broadcast, 802.3ad, balance-tlb or balance-alb", "unknown bond mode");
	{
		struct vf_link_bond_option o = opt("miimon", "fast");

		rc = vf_link_set_bond_options(nl, "vfhbr0", &o, 1, &error);
		is_error(rc, VF_LINK_ERR_INVALID, error,
			 "'vfhbr0' is not a bond: cannot set bond options", "bond options on a bridge");
		rc = vf_link_create_bond(nl, "vfhbond9", NULL, &o, 1, 0, &error);
		is_error(rc, VF_LINK_ERR_INVALID, error,
			 "bond 'vfhbond9': option 'miimon' takes a whole number, not 'fast'",
			 "bond option with a bad value: refused before the kernel");
		o = opt("miimom", "1");
		rc = vf_link_create_bond(nl, "vfhbond9", NULL, &o, 1, 0, &error);
		is_error(rc, VF_LINK_ERR_INVALID, error, "bond 'vfhbond9': unknown option 'miimom'",
			 "unknown bond option");
		ok(!link_exists("vfhbond9"), "refused bonds: nothing created");
	}
	rc = vf_link_create_bridge(nl, "vfhbr0", 0, -1, &error);
	is_error(rc, VF_LINK_ERR_EXISTS, error,
		 "bridge 'vfhbr0': a link of that name exists already", "bridge that exists");
	rc = vf_link_set_master(nl, "vfh0", "vfh1", &error);
	is_error(rc, VF_LINK_ERR_INVALID, error,
		 "cannot make 'vfh0' a port of 'vfh1': 'vfh1' is not a bridge or a bond",
		 "master that is not a bridge");
	rc = vf_link_set_master(nl, "vfh0", "nosuchbr", &error);
	is_error(rc, VF_LINK_ERR_NOT_FOUND, error, "master 'nosuchbr' does not exist on this host",
		 "master that does not exist");
	rc = vf_link_set_mtu(nl, "vfh0", 70000, &error);
	is_error(rc, VF_LINK_ERR_INVALID, error, "link 'vfh0': mtu 70000 is outside 68..65535",
		 "mtu out of range");
	rc = vf_link_set_mtu(nl, "nosuch0", 1500, &error);
	is_error(rc, VF_LINK_ERR_NOT_FOUND, error, "link 'nosuch0' does not exist on this host",
		 "mtu of a missing link");
	rc = vf_link_delete(nl, "nosuch0", &error);
	is_error(rc, VF_LINK_ERR_NOT_FOUND, error, "link 'nosuch0' does not exist on this host",
		 "delete of a missing link");
}

static void test_delete(void)
{
	char *error = NULL;
	int rc;

	rc = vf_link_delete(nl, "vfhbr0", &error);
	is_done(rc, &error, "delete vfhbr0");
	rc = vf_link_delete(nl, "vfh0", &error);
	is_done(rc, &error, "delete vfh0");
	ok(!link_exists("vfhbr0") && !link_exists("vfh0") && !link_exists("vfh1"),
	   "bridge and both veth ends are gone");
	free(error);
}

static int child(void)
{
	char *error = NULL;

	if (unshare(CLONE_NEWNET) < 0) {
		ok(0, "unshare(CLONE_NEWNET): %s (this test needs root)", strerror(errno));
		return tap_done();
	}
	if (vf_netlink_open(&nl, &error) < 0) {
		ok(0, "netlink: %s", error);
		free(error);
		return tap_done();
	}
	test_build_and_read();
	test_vlan();
	test_bond();
	test_errors();
	test_delete();
	vf_netlink_close(nl);
	return tap_done();
}

int main(void)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		int rc = child();
		fflush(stdout);
		_exit(rc);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
