/*
 * links.c — reading and changing the host's links with libnl-3 route
 * (links.h has the contracts).
 *
 * Where libnl 3.7 (Debian 12) has an API it is used: the link cache,
 * rtnl_link_vlan_*, rtnl_link_veth_add, enslave/release, rtnl_link_change
 * for MTU and flags.  It neither parses nor sets the bridge's and the
 * bond's IFLA_INFO_DATA (STP state, bond mode; rtnl_link_bond_set_mode
 * came later), so those few attributes travel in RTM_NEWLINK/GETLINK
 * messages built and parsed here with libnl's nlmsg/nla helpers.
 *
 * Every request is checked before it reaches the kernel where a check is
 * possible, and every libnl error is turned into a message that names the
 * link: the kernel's "Operation not supported" for a link kind becomes
 * "kernel lacks 802.1Q VLAN support (module 8021q)".
 *
 * Over a thousand lines, in three sections (reading, checks, changing),
 * on purpose: it is the one file that speaks libnl, and the socket with
 * its kernel messages, the error translation (fail, kernel_fail) and the
 * bond attribute table serve reading and changing alike; split, they would
 * become a provider-internal interface of their own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <net/if.h>
#include <net/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/utils.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/veth.h>

#include "providers/hostnet/links.h"
#include "reconcile/util.h"

struct vf_netlink {
	struct nl_sock *sk;
	/* The kernel's own words for the last error it answered (netlink
	 * extended ack, "Can not enslave a bridge to a bridge"); "" if none. */
	char kernel_msg[256];
};

/* Run a libnl call that talks to the kernel, forgetting any earlier
 * kernel message first, so that nl_text() never shows a stale one. */
#define KERNEL_CALL(nl, call) ((nl)->kernel_msg[0] = '\0', (call))

/* The kernel's bond modes, by their IFLA_BOND_MODE number. */
static const char *const bond_modes[] = {
	"balance-rr", "active-backup", "balance-xor", "broadcast",
	"802.3ad", "balance-tlb", "balance-alb",
};

/*
 * The bond options virtform reads and sets: IFLA_BOND_* attribute, width
 * (1 or 4 bytes), the names of an enumeration's values (by kernel number),
 * whether the value is a link (an ifindex on the wire) and the modes (bit
 * per bond_modes index) the kernel takes it in; it reports every one in
 * any mode, so reading keeps only those of the bond's mode.
 * reconcile/hostnet-bond.c checks values with the same table: keep them in step.
 */
enum {
	M_RR = 1 << 0, M_AB = 1 << 1, M_XOR = 1 << 2, M_BC = 1 << 3,
	M_AD = 1 << 4, M_TLB = 1 << 5, M_ALB = 1 << 6, M_ALL = 0x7f,
};
static const char *const lacp_rates[] = { "slow", "fast", NULL };
static const char *const ad_selects[] = { "stable", "bandwidth", "count", NULL };
static const char *const xmit_hash_policies[] = {
	"layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac", NULL,
};
static const char *const primary_reselects[] = { "always", "better", "failure", NULL };

static const struct bond_attr {
	const char *name;
	int attr;
	int width;
	const char *const *values;
	bool link;
	unsigned modes;
} bond_attrs[] = {
	{ "miimon", IFLA_BOND_MIIMON, 4, NULL, false, M_ALL },
	{ "updelay", IFLA_BOND_UPDELAY, 4, NULL, false, M_ALL },
	{ "downdelay", IFLA_BOND_DOWNDELAY, 4, NULL, false, M_ALL },
	{ "arp_interval", IFLA_BOND_ARP_INTERVAL, 4, NULL, false, M_RR | M_AB | M_XOR | M_BC },
	{ "lacp_rate", IFLA_BOND_AD_LACP_RATE, 1, lacp_rates, false, M_AD },
	{ "ad_select", IFLA_BOND_AD_SELECT, 1, ad_selects, false, M_AD },
	{ "xmit_hash_policy", IFLA_BOND_XMIT_HASH_POLICY, 1, xmit_hash_policies, false, M_ALL },
	{ "primary", IFLA_BOND_PRIMARY, 4, NULL, true, M_AB | M_TLB | M_ALB },
	{ "primary_reselect", IFLA_BOND_PRIMARY_RESELECT, 1, primary_reselects, false,
	  M_AB | M_TLB | M_ALB },
	{ "min_links", IFLA_BOND_MIN_LINKS, 4, NULL, false, M_ALL },
};

const char *vf_link_kind_name(enum vf_link_kind kind)
{
	switch (kind) {
	case VF_LINK_KIND_ETHERNET: return "ethernet";
	case VF_LINK_KIND_VETH: return "veth";
	case VF_LINK_KIND_BRIDGE: return "bridge";
	case VF_LINK_KIND_VLAN: return "vlan";
	case VF_LINK_KIND_BOND: return "bond";
	case VF_LINK_KIND_OTHER: break;
	}
	return "other";
}

__attribute__((format(printf, 3, 4)))
static int fail(char **error, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*error = xvasprintf(fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Why a libnl call failed: the kernel's extended-ack message when it gave
 * one, else libnl's text for err (negative NLE_*); first letter lowercase.
 */
static const char *nl_text(const struct vf_netlink *nl, int err, char *buf, size_t size)
{
	if (nl && nl->kernel_msg[0])
		snprintf(buf, size, "%s", nl->kernel_msg);
	else
		snprintf(buf, size, "%s", nl_geterror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* fail() with why the libnl call failed (err; nl_text) after ": ". */
__attribute__((format(printf, 4, 5)))
static int kernel_fail(const struct vf_netlink *nl, int err, char **error, const char *fmt, ...)
{
	struct vf_buf b = VF_BUF_INIT;
	char buf[320];
	va_list ap;

	va_start(ap, fmt);
	vf_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	vf_buf_addf(&b, ": %s", nl_text(nl, err, buf, sizeof(buf)));
	*error = vf_buf_detach(&b);
	return VF_LINK_ERR_FAILED;
}

/*
 * libnl 3.7 has no API for extended acks: with NETLINK_EXT_ACK set on the
 * socket, the kernel appends NLMSGERR_ATTR_* after the echoed request of
 * an error message (NLM_F_ACK_TLVS); keep NLMSGERR_ATTR_MSG.  Returns
 * NL_STOP, so that libnl reports the error code as it would by itself.
 */
static int ext_ack_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct vf_netlink *nl = arg;
	const struct nlmsghdr *h = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t payload = sizeof(*e), off;

	nl->kernel_msg[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		payload += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(NLMSG_HDRLEN + payload);
	if (off >= h->nlmsg_len)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)h + off),
		      (int)(h->nlmsg_len - off), NULL) < 0 || !tb[NLMSGERR_ATTR_MSG])
		return NL_STOP;
	snprintf(nl->kernel_msg, sizeof(nl->kernel_msg), "%.*s", nla_len(tb[NLMSGERR_ATTR_MSG]),
		 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	nl->kernel_msg[strcspn(nl->kernel_msg, "\n")] = '\0';
	return NL_STOP;
}

static bool nl_missing(int err)
{
	err = err < 0 ? -err : err;
	return err == NLE_OBJ_NOTFOUND || err == NLE_NODEV;
}

int vf_netlink_open(struct vf_netlink **out, char **error)
{
	struct vf_netlink *nl;
	int err;

	*out = NULL;
	nl = xcalloc(1, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return fail(error, VF_LINK_ERR_FAILED, "cannot open a netlink socket: out of memory");
	}
	err = nl_connect(nl->sk, NETLINK_ROUTE);
	if (err < 0) {
		nl_socket_free(nl->sk);
		free(nl);
		return kernel_fail(NULL, err, error, "cannot open a route netlink socket");
	}
	{
		int one = 1;
		/* without it, errors are libnl's generic texts: fine, so unchecked */
		(void)setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
				 &one, sizeof(one));
	}
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, ext_ack_cb, nl);
	*out = nl;
	return 0;
}

void vf_netlink_close(struct vf_netlink *nl)
{
	if (!nl)
		return;
	nl_close(nl->sk);
	nl_socket_free(nl->sk);
	free(nl);
}

/* ---- reading ---- */

/* What the RTM_GETLINK dump adds per link: the kind and the bridge/bond data. */
struct info_data {
	int ifindex;
	char kind[32];
	int stp;                 /* -1 unknown */
	int bond_mode;           /* -1 unknown */
	bool has_opt[VF_ARRAY_SIZE(bond_attrs)];   /* bond options as sent */
	uint32_t opt[VF_ARRAY_SIZE(bond_attrs)];
};

struct info_dump {
	struct info_data *items;
	size_t n, alloc;
};

static bool nla_u32_ok(const struct nlattr *a)
{
	return a && nla_len(a) >= (int)sizeof(uint32_t);
}

static int info_dump_cb(struct nl_msg *msg, void *arg)
{
	struct info_dump *d = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
	struct ifinfomsg *ifi;
	struct info_data *it;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return NL_OK;
	ifi = nlmsg_data(nlh);
	VF_GROW(d->items, d->n + 1, d->alloc);
	it = &d->items[d->n++];
	memset(it, 0, sizeof(*it));
	it->ifindex = ifi->ifi_index;
	it->stp = -1;
	it->bond_mode = -1;
	if (!tb[IFLA_LINKINFO] || nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0)
		return NL_OK;
	if (li[IFLA_INFO_KIND])
		snprintf(it->kind, sizeof(it->kind), "%.*s", nla_len(li[IFLA_INFO_KIND]),
			 (const char *)nla_data(li[IFLA_INFO_KIND]));
	if (!li[IFLA_INFO_DATA])
		return NL_OK;
	if (!strcmp(it->kind, "bridge")) {
		struct nlattr *br[IFLA_BR_MAX + 1];
		if (nla_parse_nested(br, IFLA_BR_MAX, li[IFLA_INFO_DATA], NULL) == 0 &&
		    nla_u32_ok(br[IFLA_BR_STP_STATE]))
			it->stp = nla_get_u32(br[IFLA_BR_STP_STATE]) != 0;
	} else if (!strcmp(it->kind, "bond")) {
		struct nlattr *bo[IFLA_BOND_MAX + 1];
		size_t i;

		if (nla_parse_nested(bo, IFLA_BOND_MAX, li[IFLA_INFO_DATA], NULL) < 0)
			return NL_OK;
		if (bo[IFLA_BOND_MODE] && nla_len(bo[IFLA_BOND_MODE]) >= 1)
			it->bond_mode = nla_get_u8(bo[IFLA_BOND_MODE]);
		for (i = 0; i < VF_ARRAY_SIZE(bond_attrs); i++) {
			const struct nlattr *a = bo[bond_attrs[i].attr];

			if (!a || nla_len(a) < bond_attrs[i].width)
				continue;
			it->has_opt[i] = true;
			it->opt[i] = bond_attrs[i].width == 1 ? nla_get_u8((struct nlattr *)a)
							      : nla_get_u32((struct nlattr *)a);
		}
	}
	return NL_OK;
}

static int info_dump_read(struct vf_netlink *nl, struct info_dump *d, char **error)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_cb *cb;
	int err;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return fail(error, VF_LINK_ERR_FAILED, "cannot read links: out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, info_dump_cb, d);
	err = nl_send_simple(nl->sk, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
	if (err >= 0)
		err = nl_recvmsgs(nl->sk, cb);
	nl_cb_put(cb);
	if (err < 0)
		return kernel_fail(nl, err, error, "cannot read links' bridge and bond settings");
	return 0;
}

static const struct info_data *info_find(const struct info_dump *d, int ifindex)
{
	size_t i;
	for (i = 0; i < d->n; i++)
		if (d->items[i].ifindex == ifindex)
			return &d->items[i];
	return NULL;
}

static int link_cmp_ifindex(const void *a, const void *b)
{
	const struct vf_link *x = a, *y = b;
	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

static struct vf_link *list_by_ifindex(struct vf_link_list *list, int ifindex)
{
	struct vf_link key = { .ifindex = ifindex };
	if (ifindex <= 0)
		return NULL;
	return bsearch(&key, list->links, list->n, sizeof(key), link_cmp_ifindex);
}

static void link_fill(struct vf_link *l, struct rtnl_link *rl, const struct info_data *info)
{
	const char *kind = info && info->kind[0] ? info->kind : rtnl_link_get_type(rl);
	const char *name = rtnl_link_get_name(rl);
	unsigned arptype = rtnl_link_get_arptype(rl);

	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "");
	l->ifindex = rtnl_link_get_ifindex(rl);
	snprintf(l->kernel_kind, sizeof(l->kernel_kind), "%s", kind ? kind : "");
	nl_llproto2str((int)arptype, l->link_type, sizeof(l->link_type));
	l->mtu = rtnl_link_get_mtu(rl);
	l->up = (rtnl_link_get_flags(rl) & IFF_UP) != 0;
	rtnl_link_operstate2str(rtnl_link_get_operstate(rl), l->operstate, sizeof(l->operstate));
	l->stp = -1;
	if (!l->kernel_kind[0])
		l->kind = arptype == ARPHRD_ETHER ? VF_LINK_KIND_ETHERNET : VF_LINK_KIND_OTHER;
	else if (!strcmp(l->kernel_kind, "veth"))
		l->kind = VF_LINK_KIND_VETH;
	else if (!strcmp(l->kernel_kind, "bridge"))
		l->kind = VF_LINK_KIND_BRIDGE;
	else if (!strcmp(l->kernel_kind, "vlan"))
		l->kind = VF_LINK_KIND_VLAN;
	else if (!strcmp(l->kernel_kind, "bond"))
		l->kind = VF_LINK_KIND_BOND;
	else
		l->kind = VF_LINK_KIND_OTHER;
	if (l->kind == VF_LINK_KIND_VLAN) {
		int id = rtnl_link_vlan_get_id(rl);
		l->vlan_id = id > 0 ? (unsigned)id : 0;
	}
	if (info && l->kind == VF_LINK_KIND_BRIDGE)
		l->stp = info->stp;
	if (info && l->kind == VF_LINK_KIND_BOND && info->bond_mode >= 0 &&
	    (size_t)info->bond_mode < VF_ARRAY_SIZE(bond_modes))
		snprintf(l->bond_mode, sizeof(l->bond_mode), "%s", bond_modes[info->bond_mode]);
}

/* The options of bond l that apply in its mode, as text. */
static void bond_options_fill(struct vf_link_list *list, struct vf_link *l,
			      const struct info_data *info)
{
	unsigned bit = info && info->bond_mode >= 0 ? 1u << info->bond_mode : M_RR;
	size_t i;

	for (i = 0; info && i < VF_ARRAY_SIZE(bond_attrs); i++) {
		const struct bond_attr *b = &bond_attrs[i];
		struct vf_link_bond_option *o;
		uint32_t v = info->opt[i];
		const struct vf_link *primary = NULL;

		if (!info->has_opt[i] || !(b->modes & bit) ||
		    l->n_bond_options == VF_LINK_BOND_OPTIONS_MAX)
			continue;
		if (b->link && !(primary = list_by_ifindex(list, (int)v)))
			continue;   /* none set */
		o = &l->bond_options[l->n_bond_options++];
		snprintf(o->name, sizeof(o->name), "%s", b->name);
		if (primary) {
			snprintf(o->value, sizeof(o->value), "%s", primary->name);
		} else if (b->values) {
			size_t k = 0;
			while (b->values[k] && k < v)
				k++;
			if (b->values[k])
				snprintf(o->value, sizeof(o->value), "%s", b->values[k]);
			else
				snprintf(o->value, sizeof(o->value), "%u", v);
		} else {
			snprintf(o->value, sizeof(o->value), "%u", v);
		}
	}
}

const char *vf_link_bond_option(const struct vf_link *l, const char *name)
{
	const struct vf_link_bond_option *o = VF_FIND_BY(l->bond_options, l->n_bond_options,
							 name, name);
	return o ? o->value : NULL;
}

/* Each link's master and lower link (VLAN base) by ifindex, in the
 * order of out->links: malloc'd arrays, 0 where there is none. */
static void relations_read(struct nl_cache *cache, const struct vf_link_list *out,
			   int **masters, int **lowers)
{
	size_t i;

	*masters = xcalloc(out->n + 1, sizeof(**masters));
	*lowers = xcalloc(out->n + 1, sizeof(**lowers));
	for (i = 0; i < out->n; i++) {
		struct rtnl_link *rl = rtnl_link_get(cache, out->links[i].ifindex);
		if (rl) {
			int32_t netnsid;

			(*masters)[i] = rtnl_link_get_master(rl);
			/* a lower link in another namespace has an ifindex of
			 * that namespace: no name to give it here */
			if (rtnl_link_get_link_netnsid(rl, &netnsid) < 0)
				(*lowers)[i] = rtnl_link_get_link(rl);
			rtnl_link_put(rl);
		}
	}
}

/* Names of masters and VLAN bases, then each master's ports. */
static void relations_name(struct vf_link_list *out, const int *masters, const int *lowers)
{
	size_t i, n = out->n;

	for (i = 0; i < n; i++) {
		struct vf_link *l = &out->links[i];
		struct vf_link *m = list_by_ifindex(out, masters[i]);
		struct vf_link *base = list_by_ifindex(out, lowers[i]);

		if (m) {
			snprintf(l->master, sizeof(l->master), "%s", m->name);
			m->n_ports++;
		}
		if (base && l->kind == VF_LINK_KIND_VLAN)
			snprintf(l->vlan_base, sizeof(l->vlan_base), "%s", base->name);
	}
	for (i = 0; i < n; i++) {
		if (out->links[i].n_ports) {
			out->links[i].ports = xcalloc(out->links[i].n_ports, sizeof(char *));
			out->links[i].n_ports = 0;
		}
	}
	for (i = 0; i < n; i++) {
		struct vf_link *m = list_by_ifindex(out, masters[i]);
		if (m)
			m->ports[m->n_ports++] = out->links[i].name;
	}
}

int vf_link_list_read(struct vf_netlink *nl, struct vf_link_list *out, char **error)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	struct info_dump dump = { NULL, 0, 0 };
	int *masters, *lowers;
	size_t i, n = 0;
	int err;

	out->links = NULL;
	out->n = 0;
	err = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache);
	if (err < 0)
		return kernel_fail(nl, err, error, "cannot read links");
	err = info_dump_read(nl, &dump, error);
	if (err < 0) {
		nl_cache_free(cache);
		return err;
	}

	out->links = xcalloc((size_t)nl_cache_nitems(cache) + 1, sizeof(*out->links));
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *rl = (struct rtnl_link *)obj;
		link_fill(&out->links[n++], rl, info_find(&dump, rtnl_link_get_ifindex(rl)));
	}
	out->n = n;
	qsort(out->links, n, sizeof(*out->links), link_cmp_ifindex);

	relations_read(cache, out, &masters, &lowers);
	relations_name(out, masters, lowers);
	for (i = 0; i < n; i++)
		if (out->links[i].kind == VF_LINK_KIND_BOND)
			bond_options_fill(out, &out->links[i], info_find(&dump, out->links[i].ifindex));
	free(masters);
	free(lowers);
	free(dump.items);
	nl_cache_free(cache);
	return 0;
}

void vf_link_list_release(struct vf_link_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->links[i].ports);
	free(list->links);
	list->links = NULL;
	list->n = 0;
}

const struct vf_link *vf_link_list_find(const struct vf_link_list *list, const char *name)
{
	return VF_FIND_BY(list->links, list->n, name, name);
}

/* ---- checks ---- */

int vf_link_check_name(const char *what, const char *name, char **error)
{
	size_t len = strlen(name);
	const char *p;

	if (len == 0)
		return fail(error, VF_LINK_ERR_INVALID, "%s name is empty", what);
	if (len > VF_LINK_NAME_MAX)
		return fail(error, VF_LINK_ERR_INVALID,
			    "%s '%s': name is %zu bytes, the kernel allows at most %d (IFNAMSIZ); choose a shorter name",
			    what, name, len, VF_LINK_NAME_MAX);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return fail(error, VF_LINK_ERR_INVALID, "%s '%s': not a valid link name", what, name);
	for (p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
			return fail(error, VF_LINK_ERR_INVALID,
				    "%s '%s': a link name cannot contain '/', ':' or white space", what, name);
	return 0;
}

int vf_link_check_vlan_id(const char *name, unsigned id, char **error)
{
	if (id < 1 || id > 4094)
		return fail(error, VF_LINK_ERR_INVALID,
			    "vlan '%s': id %u is outside 1..4094", name, id);
	return 0;
}

static int check_mtu_range(const char *what, const char *name, unsigned mtu, char **error)
{
	if (mtu != 0 && (mtu < 68 || mtu > 65535))
		return fail(error, VF_LINK_ERR_INVALID,
			    "%s '%s': mtu %u is outside 68..65535", what, name, mtu);
	return 0;
}

static int uplink_verdict(const char *what, const char *name, const char *uplink, bool exists,
			  unsigned uplink_mtu, unsigned mtu, char **error)
{
	if (!exists)
		return fail(error, VF_LINK_ERR_NOT_FOUND,
			    "%s '%s': uplink '%s' does not exist on this host", what, name, uplink);
	if (mtu && mtu > uplink_mtu)
		return fail(error, VF_LINK_ERR_INVALID,
			    "%s '%s': mtu %u is above uplink %s's %u; raise %s's mtu first or lower this one",
			    what, name, mtu, uplink, uplink_mtu, uplink);
	return 0;
}

int vf_link_check_uplink(const struct vf_link_list *list, const char *what, const char *name,
			 const char *uplink, unsigned mtu, char **error)
{
	const struct vf_link *u = vf_link_list_find(list, uplink);
	return uplink_verdict(what, name, uplink, u != NULL, u ? u->mtu : 0, mtu, error);
}

/* ---- changing ---- */

/*
 * The live link called name, or NULL: 0 found, VF_LINK_ERR_NOT_FOUND
 * (no message) when absent, VF_LINK_ERR_FAILED with a message otherwise.
 */
static int link_get(struct vf_netlink *nl, const char *what, const char *name,
		    struct rtnl_link **out, char **error)
{
	int err;

	*out = NULL;
	err = rtnl_link_get_kernel(nl->sk, 0, name, out);
	if (err == 0)
		return 0;
	if (nl_missing(err))
		return VF_LINK_ERR_NOT_FOUND;
	return kernel_fail(nl, err, error, "%s '%s': cannot read it", what, name);
}

static int must_get(struct vf_netlink *nl, const char *what, const char *name,
		    struct rtnl_link **out, char **error)
{
	int rc = link_get(nl, what, name, out, error);
	if (rc == VF_LINK_ERR_NOT_FOUND)
		return fail(error, rc, "%s '%s' does not exist on this host", what, name);
	return rc;
}

static int must_be_new(struct vf_netlink *nl, const char *what, const char *name, char **error)
{
	struct rtnl_link *l;
	int rc = link_get(nl, what, name, &l, error);

	if (rc == 0) {
		rtnl_link_put(l);
		return fail(error, VF_LINK_ERR_EXISTS, "%s '%s': a link of that name exists already",
			    what, name);
	}
	return rc == VF_LINK_ERR_NOT_FOUND ? 0 : rc;
}

/* The message for a failed create of a link of kind what (libnl error
 * err); base: a vlan's uplink, else NULL. */
static int create_failed(const struct vf_netlink *nl, const char *what, const char *name,
			 const char *base, int err, char **error)
{

	if (-err == NLE_OPNOTSUPP || err == NLE_OPNOTSUPP) {
		/*
		 * The kernel says EOPNOTSUPP both for a link kind it does not
		 * know and, with 8021q loaded, for a base that cannot carry
		 * VLANs (loopback, VLAN-challenged NICs).  8021q and bonding
		 * each add a per-namespace /proc/net directory when present.
		 */
		if (!strcmp(what, "vlan") && access("/proc/net/vlan", F_OK) == 0)
			return fail(error, VF_LINK_ERR_INVALID,
				    "vlan '%s': uplink '%s' cannot carry VLANs (the kernel refuses "
				    "802.1Q on it); use another uplink", name, base ? base : "?");
		if (!strcmp(what, "vlan"))
			return fail(error, VF_LINK_ERR_UNSUPPORTED,
				    "vlan '%s': kernel lacks 802.1Q VLAN support (module 8021q); "
				    "load it with 'modprobe 8021q' or use a kernel built with CONFIG_VLAN_8021Q",
				    name);
		if (!strcmp(what, "bond"))
			return fail(error, VF_LINK_ERR_UNSUPPORTED,
				    "bond '%s': kernel lacks bonding support (module bonding); "
				    "load it with 'modprobe bonding' or use a kernel built with CONFIG_BONDING",
				    name);
		if (!strcmp(what, "bridge"))
			return fail(error, VF_LINK_ERR_UNSUPPORTED,
				    "bridge '%s': kernel lacks bridge support (module bridge); "
				    "load it with 'modprobe bridge' or use a kernel built with CONFIG_BRIDGE",
				    name);
		return fail(error, VF_LINK_ERR_UNSUPPORTED, "%s '%s': kernel lacks support for %s links",
			    what, name, what);
	}
	if (-err == NLE_EXIST || err == NLE_EXIST)
		return fail(error, VF_LINK_ERR_EXISTS, "%s '%s': a link of that name exists already",
			    what, name);
	return kernel_fail(nl, err, error, "%s '%s': cannot create it", what, name);
}

/*
 * An RTM_NEWLINK of kind up to its open IFLA_LINKINFO nest (*info), and
 * its IFLA_INFO_DATA nest opened (*idata) unless idata is NULL; ifindex 0
 * creates name, else changes the link ifindex.  NULL when out of memory.
 */
static struct nl_msg *newlink_start(int ifindex, const char *name, unsigned mtu,
				    const char *kind, struct nlattr **info, struct nlattr **idata)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, ifindex ? 0 : NLM_F_CREATE | NLM_F_EXCL);

	if (!msg)
		return NULL;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    (name && nla_put_string(msg, IFLA_IFNAME, name) < 0) ||
	    (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0) ||
	    !(*info = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, kind) < 0 ||
	    (idata && !(*idata = nla_nest_start(msg, IFLA_INFO_DATA)))) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Attribute type of width 1 or 4 bytes. */
static int put_sized(struct nl_msg *msg, int type, int width, uint32_t value)
{
	return width == 1 ? nla_put_u8(msg, type, (uint8_t)value) : nla_put_u32(msg, type, value);
}

/* An RTM_NEWLINK for kind with one nested IFLA_INFO_DATA attribute
 * (type data_type, width 1 or 4 bytes) unless data_type is 0; ifindex 0
 * creates name, else changes the link ifindex. */
static int newlink_send(struct vf_netlink *nl, int ifindex, const char *name, unsigned mtu,
			const char *kind, int data_type, int data_width, uint32_t data)
{
	struct nlattr *info, *idata;
	struct nl_msg *msg = newlink_start(ifindex, name, mtu, kind, &info,
					   data_type ? &idata : NULL);

	if (!msg)
		return -NLE_NOMEM;
	if (data_type) {
		if (put_sized(msg, data_type, data_width, data) < 0) {
			nlmsg_free(msg);
			return -NLE_NOMEM;
		}
		nla_nest_end(msg, idata);
	}
	nla_nest_end(msg, info);
	return nl_send_sync(nl->sk, msg);   /* frees msg */
}

int vf_link_create_bridge(struct vf_netlink *nl, const char *name, unsigned mtu, int stp,
			  char **error)
{
	struct rtnl_link *l;
	int rc;

	if ((rc = vf_link_check_name("bridge", name, error)) < 0 ||
	    (rc = check_mtu_range("bridge", name, mtu, error)) < 0 ||
	    (rc = must_be_new(nl, "bridge", name, error)) < 0)
		return rc;
	if (stp >= 0) {
		/* libnl 3.7 cannot set IFLA_BR_STP_STATE: our own RTM_NEWLINK */
		rc = KERNEL_CALL(nl, newlink_send(nl, 0, name, mtu, "bridge", IFLA_BR_STP_STATE, 4, stp ? 1 : 0));
		return rc < 0 ? create_failed(nl, "bridge", name, NULL, rc, error) : 0;
	}
	l = rtnl_link_alloc();
	if (!l)
		return fail(error, VF_LINK_ERR_FAILED, "bridge '%s': out of memory", name);
	rtnl_link_set_name(l, name);
	rc = rtnl_link_set_type(l, "bridge");
	if (rc == 0 && mtu)
		rtnl_link_set_mtu(l, mtu);
	if (rc == 0)
		rc = KERNEL_CALL(nl, rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL));
	rtnl_link_put(l);
	return rc < 0 ? create_failed(nl, "bridge", name, NULL, rc, error) : 0;
}

int vf_link_create_vlan(struct vf_netlink *nl, const char *name, const char *base,
			unsigned id, unsigned mtu, char **error)
{
	struct rtnl_link *b = NULL, *l;
	int rc;

	if ((rc = vf_link_check_name("vlan", name, error)) < 0 ||
	    (rc = vf_link_check_name("uplink", base, error)) < 0 ||
	    (rc = vf_link_check_vlan_id(name, id, error)) < 0 ||
	    (rc = check_mtu_range("vlan", name, mtu, error)) < 0)
		return rc;
	rc = link_get(nl, "uplink", base, &b, error);
	if (rc < 0 && rc != VF_LINK_ERR_NOT_FOUND)
		return rc;
	/* from here on b (the uplink, when it exists) is put once, at out */
	rc = uplink_verdict("vlan", name, base, b != NULL, b ? rtnl_link_get_mtu(b) : 0, mtu, error);
	if (rc == 0)
		rc = must_be_new(nl, "vlan", name, error);
	if (rc < 0)
		goto out;
	l = rtnl_link_vlan_alloc();
	if (!l) {
		rc = fail(error, VF_LINK_ERR_FAILED, "vlan '%s': out of memory", name);
		goto out;
	}
	rtnl_link_set_name(l, name);
	rtnl_link_set_link(l, rtnl_link_get_ifindex(b));
	rc = rtnl_link_vlan_set_id(l, (uint16_t)id);
	if (rc == 0 && mtu)
		rtnl_link_set_mtu(l, mtu);
	if (rc == 0)
		rc = KERNEL_CALL(nl, rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL));
	rtnl_link_put(l);
	rc = rc < 0 ? create_failed(nl, "vlan", name, base, rc, error) : 0;
out:
	if (b)
		rtnl_link_put(b);
	return rc;
}

/* One bond option ready for the wire. */
struct bond_value {
	const struct bond_attr *attr;
	uint32_t value;
};

/* Check and encode opts (primary: the port's ifindex; "" clears it). */
static int bond_encode(struct vf_netlink *nl, const char *bond,
		       const struct vf_link_bond_option *opts, size_t n, struct bond_value *out,
		       char **error)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct bond_attr *b = NULL;
		const char *v = opts[i].value;

		for (k = 0; k < VF_ARRAY_SIZE(bond_attrs); k++)
			if (!strcmp(bond_attrs[k].name, opts[i].name))
				b = &bond_attrs[k];
		if (!b)
			return fail(error, VF_LINK_ERR_INVALID, "bond '%s': unknown option '%s'",
				    bond, opts[i].name);
		out[i].attr = b;
		if (b->link) {
			struct rtnl_link *port;
			int rc;

			out[i].value = 0;
			if (!v[0])
				continue;
			rc = must_get(nl, "port", v, &port, error);
			if (rc < 0)
				return rc;
			out[i].value = (uint32_t)rtnl_link_get_ifindex(port);
			rtnl_link_put(port);
		} else if (b->values) {
			for (k = 0; b->values[k] && strcmp(b->values[k], v); k++)
				;
			if (!b->values[k])
				return fail(error, VF_LINK_ERR_INVALID,
					    "bond '%s': option '%s' does not take '%s'", bond, b->name, v);
			out[i].value = (uint32_t)k;
		} else {
			char *end;
			unsigned long x;

			errno = 0;
			x = strtoul(v, &end, 10);
			if (!v[0] || *end || errno || x > INT32_MAX || v[0] == '-')
				return fail(error, VF_LINK_ERR_INVALID,
					    "bond '%s': option '%s' takes a whole number, not '%s'",
					    bond, b->name, v);
			out[i].value = (uint32_t)x;
		}
	}
	return 0;
}

/* RTM_NEWLINK for a bond: create name (ifindex 0) with mode (-1: the
 * kernel's default) and the options, or change the bond ifindex. */
static int bond_newlink(struct vf_netlink *nl, int ifindex, const char *name, unsigned mtu,
			int mode, const struct bond_value *v, size_t n)
{
	struct nlattr *info, *idata;
	struct nl_msg *msg = newlink_start(ifindex, name, mtu, "bond", &info, &idata);
	size_t i;

	if (!msg)
		return -NLE_NOMEM;
	if (mode >= 0 && nla_put_u8(msg, IFLA_BOND_MODE, (uint8_t)mode) < 0)
		goto nomem;
	/* the kernel applies them in its own order (miimon before the delays) */
	for (i = 0; i < n; i++)
		if (put_sized(msg, v[i].attr->attr, v[i].attr->width, v[i].value) < 0)
			goto nomem;
	nla_nest_end(msg, idata);
	nla_nest_end(msg, info);
	return nl_send_sync(nl->sk, msg);   /* frees msg */
nomem:
	nlmsg_free(msg);
	return -NLE_NOMEM;
}

int vf_link_create_bond(struct vf_netlink *nl, const char *name, const char *mode,
			const struct vf_link_bond_option *opts, size_t n_opts,
			unsigned mtu, char **error)
{
	struct bond_value *v;
	size_t m = 0;
	int rc;

	if ((rc = vf_link_check_name("bond", name, error)) < 0 ||
	    (rc = check_mtu_range("bond", name, mtu, error)) < 0)
		return rc;
	if (mode) {
		while (m < VF_ARRAY_SIZE(bond_modes) && strcmp(bond_modes[m], mode))
			m++;
		if (m == VF_ARRAY_SIZE(bond_modes))
			return fail(error, VF_LINK_ERR_INVALID,
				    "bond '%s': unknown mode '%s'; expected balance-rr, active-backup, "
				    "balance-xor, broadcast, 802.3ad, balance-tlb or balance-alb", name, mode);
	}
	if ((rc = must_be_new(nl, "bond", name, error)) < 0)
		return rc;
	v = xcalloc(n_opts + 1, sizeof(*v));
	rc = bond_encode(nl, name, opts, n_opts, v, error);
	if (rc == 0) {
		rc = KERNEL_CALL(nl, bond_newlink(nl, 0, name, mtu, mode ? (int)m : -1, v, n_opts));
		if (rc < 0)
			rc = create_failed(nl, "bond", name, NULL, rc, error);
	}
	free(v);
	return rc;
}

static bool nl_busy(int err)
{
	return err == -NLE_BUSY || err == NLE_BUSY;
}

int vf_link_set_bond_options(struct vf_netlink *nl, const char *name,
			     const struct vf_link_bond_option *opts, size_t n_opts, char **error)
{
	struct rtnl_link *l;
	struct bond_value *v;
	const char *type;
	int rc, ifindex;

	if ((rc = must_get(nl, "bond", name, &l, error)) < 0)
		return rc;
	type = rtnl_link_get_type(l);
	ifindex = rtnl_link_get_ifindex(l);
	if (!type || strcmp(type, "bond")) {
		rtnl_link_put(l);
		return fail(error, VF_LINK_ERR_INVALID, "'%s' is not a bond: cannot set bond options",
			    name);
	}
	v = xcalloc(n_opts + 1, sizeof(*v));
	rc = bond_encode(nl, name, opts, n_opts, v, error);
	if (rc == 0) {
		char *up_error = NULL;

		rc = KERNEL_CALL(nl, bond_newlink(nl, ifindex, NULL, 0, -1, v, n_opts));
		if (nl_busy(rc) && (rtnl_link_get_flags(l) & IFF_UP) &&
		    vf_link_set_up(nl, name, false, &up_error) == 0) {
			/* lacp_rate, ad_select: only while down */
			rc = KERNEL_CALL(nl, bond_newlink(nl, ifindex, NULL, 0, -1, v, n_opts));
			if (vf_link_set_up(nl, name, true, &up_error) < 0 && rc == 0) {
				*error = up_error;
				up_error = NULL;
				rc = VF_LINK_ERR_FAILED;
				goto out;
			}
		}
		if (rc < 0) {
			struct vf_buf what = VF_BUF_INIT;
			size_t i;

			for (i = 0; i < n_opts; i++)
				vf_buf_addf(&what, "%s%s %s", i ? ", " : "", opts[i].name,
					    opts[i].value[0] ? opts[i].value : "(none)");
			rc = kernel_fail(nl, rc, error, "bond '%s': cannot set %s", name,
				  what.len ? what.buf : "no options");
			vf_buf_release(&what);
		}
out:
		free(up_error);
	}
	free(v);
	rtnl_link_put(l);
	return rc;
}

int vf_link_create_veth(struct vf_netlink *nl, const char *name, const char *peer, char **error)
{
	int rc;

	if ((rc = vf_link_check_name("veth", name, error)) < 0 ||
	    (rc = vf_link_check_name("veth", peer, error)) < 0 ||
	    (rc = must_be_new(nl, "veth", name, error)) < 0 ||
	    (rc = must_be_new(nl, "veth", peer, error)) < 0)
		return rc;
	/* the peer's namespace by task id: the calling thread's, even when
	 * that thread alone entered a namespace (setns) */
	rc = KERNEL_CALL(nl, rtnl_link_veth_add(nl->sk, name, peer, (pid_t)syscall(SYS_gettid)));
	return rc < 0 ? create_failed(nl, "veth", name, NULL, rc, error) : 0;
}

int vf_link_set_master(struct vf_netlink *nl, const char *port, const char *master, char **error)
{
	struct rtnl_link *p = NULL, *m = NULL;
	const char *type;
	int rc;

	if ((rc = must_get(nl, "link", port, &p, error)) < 0)
		return rc;
	if ((rc = must_get(nl, "master", master, &m, error)) < 0)
		goto out;
	type = rtnl_link_get_type(m);
	if (!type || (strcmp(type, "bridge") && strcmp(type, "bond"))) {
		rc = fail(error, VF_LINK_ERR_INVALID,
			  "cannot make '%s' a port of '%s': '%s' is not a bridge or a bond",
			  port, master, master);
		goto out;
	}
	rc = KERNEL_CALL(nl, rtnl_link_enslave_ifindex(nl->sk, rtnl_link_get_ifindex(m),
							 rtnl_link_get_ifindex(p)));
	if (rc < 0)
		rc = kernel_fail(nl, rc, error, "cannot make '%s' a port of %s '%s'",
			  port, type, master);
out:
	if (m)
		rtnl_link_put(m);
	rtnl_link_put(p);
	return rc;
}

/*
 * op on the link called name (what it is, for the not-found message),
 * fetched for it and put after: the shape of every single-link change.
 */
static int link_do(struct vf_netlink *nl, const char *what, const char *name,
		   int (*op)(struct vf_netlink *nl, struct rtnl_link *l, const char *name,
			     unsigned arg, char **error),
		   unsigned arg, char **error)
{
	struct rtnl_link *l;
	int rc;

	if ((rc = must_get(nl, what, name, &l, error)) < 0)
		return rc;
	rc = op(nl, l, name, arg, error);
	rtnl_link_put(l);
	return rc;
}

static int release_op(struct vf_netlink *nl, struct rtnl_link *p, const char *port,
		      unsigned arg, char **error)
{
	int rc = 0;

	if (rtnl_link_get_master(p) > 0) {
		rc = KERNEL_CALL(nl, rtnl_link_release_ifindex(nl->sk, rtnl_link_get_ifindex(p)));
		if (rc < 0)
			rc = kernel_fail(nl, rc, error, "cannot release '%s' from its master", port);
	}
	return rc;
}

int vf_link_release(struct vf_netlink *nl, const char *port, char **error)
{
	return link_do(nl, "link", port, release_op, 0, error);
}

/* rtnl_link_change of name with the changes set by fill. */
static int link_change(struct vf_netlink *nl, const char *name, const char *doing,
		       void (*fill)(struct rtnl_link *changes, unsigned arg), unsigned arg,
		       char **error)
{
	struct rtnl_link *orig, *changes;
	int rc;

	if ((rc = must_get(nl, "link", name, &orig, error)) < 0)
		return rc;
	changes = rtnl_link_alloc();
	if (!changes) {
		rtnl_link_put(orig);
		return fail(error, VF_LINK_ERR_FAILED, "link '%s': out of memory", name);
	}
	fill(changes, arg);
	rc = KERNEL_CALL(nl, rtnl_link_change(nl->sk, orig, changes, 0));
	if (rc < 0)
		rc = kernel_fail(nl, rc, error, "link '%s': cannot %s", name, doing);
	rtnl_link_put(changes);
	rtnl_link_put(orig);
	return rc;
}

static void fill_mtu(struct rtnl_link *c, unsigned mtu)
{
	rtnl_link_set_mtu(c, mtu);
}

static void fill_up(struct rtnl_link *c, unsigned up)
{
	if (up)
		rtnl_link_set_flags(c, IFF_UP);
	else
		rtnl_link_unset_flags(c, IFF_UP);
}

int vf_link_set_mtu(struct vf_netlink *nl, const char *name, unsigned mtu, char **error)
{
	char doing[32];
	int rc;

	if (mtu == 0)
		return fail(error, VF_LINK_ERR_INVALID, "link '%s': mtu 0 is outside 68..65535", name);
	if ((rc = check_mtu_range("link", name, mtu, error)) < 0)
		return rc;
	snprintf(doing, sizeof(doing), "set mtu %u", mtu);
	return link_change(nl, name, doing, fill_mtu, mtu, error);
}

int vf_link_set_up(struct vf_netlink *nl, const char *name, bool up, char **error)
{
	return link_change(nl, name, up ? "bring it up" : "bring it down", fill_up, up, error);
}

static int stp_op(struct vf_netlink *nl, struct rtnl_link *l, const char *name, unsigned on,
		  char **error)
{
	const char *type = rtnl_link_get_type(l);
	int rc;

	if (!type || strcmp(type, "bridge"))
		return fail(error, VF_LINK_ERR_INVALID, "'%s' is not a bridge: cannot set stp", name);
	rc = KERNEL_CALL(nl, newlink_send(nl, rtnl_link_get_ifindex(l), NULL, 0, "bridge",
					  IFLA_BR_STP_STATE, 4, on ? 1 : 0));
	if (rc < 0)
		rc = kernel_fail(nl, rc, error, "bridge '%s': cannot turn stp %s",
				 name, on ? "on" : "off");
	return rc;
}

int vf_link_set_bridge_stp(struct vf_netlink *nl, const char *name, bool on, char **error)
{
	return link_do(nl, "bridge", name, stp_op, on, error);
}

static int delete_op(struct vf_netlink *nl, struct rtnl_link *l, const char *name,
		     unsigned arg, char **error)
{
	int rc = KERNEL_CALL(nl, rtnl_link_delete(nl->sk, l));

	if (rc < 0)
		rc = kernel_fail(nl, rc, error, "link '%s': cannot delete it", name);
	return rc;
}

int vf_link_delete(struct vf_netlink *nl, const char *name, char **error)
{
	return link_do(nl, "link", name, delete_op, 0, error);
}
