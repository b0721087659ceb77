/* tests/tcg/vlan-demo.c — the TCG harness's smoke test (not product code).
 *
 * Run inside the VM by tests/t0500-tcg-kernel.sh through tests/tcg/run-in-vm:
 * proves that the booted kernel has 802.1Q VLAN and bonding and that
 * libnl-route-3 drives them.  There is no NIC in the VM, so the VLAN sits on
 * a bond without ports.  Prints TAP.  The hostnet provider's own tests
 * replace this once they run under the harness.
 *
 * libnl 3.7 (Debian 12) cannot set a bond's mode (no rtnl_link_bond_set_mode),
 * so mode is set with a hand-built RTM_NEWLINK (IFLA_BOND_MODE in
 * IFLA_INFO_DATA) sent through libnl-3, and read back from sysfs.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_link.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bonding.h>
#include <netlink/route/link/vlan.h>

static int n, failed;

static void ok(int cond, const char *title)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n, title);
	if (!cond)
		failed++;
}

/* Set the mode of a down bond without ports (1 = active-backup). */
static int bond_set_mode(struct nl_sock *sk, int ifindex, uint8_t mode)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
	struct nlattr *info, *data;
	int err = -NLE_NOMEM;

	if (!msg)
		return err;
	if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
	    !(info = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, "bond") < 0 ||
	    !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
	    nla_put_u8(msg, IFLA_BOND_MODE, mode) < 0)
		goto out;
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_wait_for_ack(sk);
out:
	nlmsg_free(msg);
	return err;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static struct rtnl_link *lookup(struct nl_sock *sk, const char *name)
{
	struct nl_cache *cache;
	struct rtnl_link *l;

	if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache) < 0)
		return NULL;
	l = rtnl_link_get_by_name(cache, name);   /* takes a reference */
	nl_cache_free(cache);
	return l;
}

static int set_up(struct nl_sock *sk, struct rtnl_link *l)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int err;

	rtnl_link_set_flags(chg, IFF_UP);
	err = rtnl_link_change(sk, l, chg, 0);
	rtnl_link_put(chg);
	return err;
}

int main(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *bond, *vlan, *b = NULL, *v = NULL;
	char mode[64] = "", title[128];
	int err;

	if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0) {
		printf("Bail out! cannot open a netlink socket\n");
		return 1;
	}

	bond = rtnl_link_bond_alloc();
	rtnl_link_set_name(bond, "bond0");
	err = rtnl_link_add(sk, bond, NLM_F_CREATE | NLM_F_EXCL);
	if (err < 0)
		printf("# rtnl_link_add bond0: %s\n", nl_geterror(err));
	rtnl_link_put(bond);
	b = lookup(sk, "bond0");
	ok(b && rtnl_link_get_type(b) && !strcmp(rtnl_link_get_type(b), "bond"),
	   "bond0 created (kernel kind bond)");

	err = b ? bond_set_mode(sk, rtnl_link_get_ifindex(b), 1) : -NLE_OBJ_NOTFOUND;
	if (err < 0)
		printf("# set bond0 mode: %s\n", nl_geterror(err));
	read_line("/sys/class/net/bond0/bonding/mode", mode, sizeof mode);
	snprintf(title, sizeof title, "bond0 mode is active-backup (sysfs: %s)", mode);
	ok(err >= 0 && !strncmp(mode, "active-backup", 13), title);

	vlan = rtnl_link_vlan_alloc();
	rtnl_link_set_name(vlan, "bond0.100");
	rtnl_link_set_link(vlan, b ? rtnl_link_get_ifindex(b) : 0);
	rtnl_link_vlan_set_id(vlan, 100);
	err = rtnl_link_add(sk, vlan, NLM_F_CREATE | NLM_F_EXCL);
	if (err < 0)
		printf("# rtnl_link_add bond0.100: %s\n", nl_geterror(err));
	rtnl_link_put(vlan);
	v = lookup(sk, "bond0.100");
	ok(v && b && rtnl_link_is_vlan(v) && rtnl_link_vlan_get_id(v) == 100 &&
	   rtnl_link_get_link(v) == rtnl_link_get_ifindex(b),
	   "bond0.100 is a vlan with id 100 on bond0");

	if (b && (err = set_up(sk, b)) < 0)
		printf("# bond0 up: %s\n", nl_geterror(err));
	if (v && (err = set_up(sk, v)) < 0)
		printf("# bond0.100 up: %s\n", nl_geterror(err));
	if (b) rtnl_link_put(b);
	if (v) rtnl_link_put(v);
	b = lookup(sk, "bond0");
	v = lookup(sk, "bond0.100");
	ok(b && v && (rtnl_link_get_flags(b) & IFF_UP) && (rtnl_link_get_flags(v) & IFF_UP),
	   "bond0 and bond0.100 are administratively up");

	err = v ? rtnl_link_delete(sk, v) : -NLE_OBJ_NOTFOUND;
	if (err >= 0 && b)
		err = rtnl_link_delete(sk, b);
	if (b) rtnl_link_put(b);
	if (v) rtnl_link_put(v);
	b = lookup(sk, "bond0");
	v = lookup(sk, "bond0.100");
	ok(err >= 0 && !b && !v, "bond0.100 and bond0 deleted");
	if (b) rtnl_link_put(b);
	if (v) rtnl_link_put(v);

	nl_socket_free(sk);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
