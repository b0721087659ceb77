/*
 * links.h — the host's network links as virtform sees them, and the
 * primitives that change them, all through netlink (libnl-3 route).
 *
 * Boundaries: this file knows links, not configuration.  It reads the
 * links of the network namespace the calling thread is in, and changes
 * exactly the link it is told to; deciding which links virtform owns, in
 * which order to change them and how to roll back is the caller's job
 * (host plan/apply, cmd/host.c and cmd/host-apply.c).  No libnl type appears here:
 * a struct vf_netlink is an opaque netlink session.
 *
 * Errors: every function returns 0 on success or a negative enum
 * vf_link_error, with *error set to a malloc'd one-line message (the
 * caller frees) that names the link and says what to do, e.g.
 *   "vlan 'eth0.100': kernel lacks 802.1Q VLAN support (module 8021q); ..."
 * Checks that need no kernel (name length, VLAN id range) and checks
 * against the live links (the uplink exists, the MTU fits the uplink) run
 * before anything is created, so a refused request changes nothing.
 *
 * Thread safety: a struct vf_netlink is used by one thread at a time;
 * different sessions may be used from different threads.
 */
#ifndef VF_PROVIDER_HOSTNET_LINKS_H
#define VF_PROVIDER_HOSTNET_LINKS_H

#include <stdbool.h>
#include <stddef.h>

/* IFNAMSIZ - 1: the longest link name the kernel takes, in bytes. */
#define VF_LINK_NAME_MAX 15

enum vf_link_error {
	VF_LINK_OK = 0,
	VF_LINK_ERR_FAILED = -1,       /* the kernel or netlink refused; see the message */
	VF_LINK_ERR_UNSUPPORTED = -2,  /* the kernel lacks this link type (8021q, bonding) */
	VF_LINK_ERR_INVALID = -3,      /* a bad request: name, VLAN id, MTU, bond mode */
	VF_LINK_ERR_NOT_FOUND = -4,    /* a link the request names does not exist */
	VF_LINK_ERR_EXISTS = -5,       /* the link to create exists already */
};

enum vf_link_kind {
	VF_LINK_KIND_ETHERNET,   /* a NIC: Ethernet link type, no kernel kind */
	VF_LINK_KIND_VETH,
	VF_LINK_KIND_BRIDGE,
	VF_LINK_KIND_VLAN,
	VF_LINK_KIND_BOND,
	VF_LINK_KIND_OTHER,      /* loopback, tun, macvlan, vxlan, ...: see kernel_kind */
};

/* "ethernet", "veth", "bridge", "vlan", "bond", "other". */
const char *vf_link_kind_name(enum vf_link_kind kind);

/* Bond options virtform reads and sets (links.c lists them), at most: */
#define VF_LINK_BOND_OPTIONS_MAX 12

/* One bond option as text: the kernel's option name ("miimon", "lacp_rate",
 * "primary") and value ("100", "fast", "eth1"), as `ip -d link` shows them. */
struct vf_link_bond_option {
	char name[24];
	char value[24];
};

/*
 * One link.  Strings are fixed arrays ("" when absent), so a record can be
 * copied by value.  ports point at other records' names in the same
 * vf_link_list and live as long as it.
 */
struct vf_link {
	char name[VF_LINK_NAME_MAX + 1];
	int ifindex;
	enum vf_link_kind kind;
	char kernel_kind[32];    /* IFLA_INFO_KIND: "veth", "bridge", "vlan", "tun"; "" for NICs, lo */
	char link_type[32];      /* ARPHRD as libnl names it: "ether", "loopback", "none" */
	unsigned mtu;
	bool up;                 /* administratively up (IFF_UP) */
	char operstate[16];      /* RFC 2863 operstate: "up", "down", "lowerlayerdown", "unknown", ... */
	char master[VF_LINK_NAME_MAX + 1];   /* bridge or bond it is a port of; "" none */
	/* vlan */
	char vlan_base[VF_LINK_NAME_MAX + 1];/* "" when the base is in another namespace */
	unsigned vlan_id;                    /* 0 unless a vlan */
	/* bond */
	char bond_mode[16];                  /* kernel mode name; "" unless a bond */
	/* the options the kernel reports that apply in the bond's mode (lacp_rate
	 * only in 802.3ad, primary only when one is set, ...) */
	struct vf_link_bond_option bond_options[VF_LINK_BOND_OPTIONS_MAX];
	size_t n_bond_options;
	/* bridge */
	int stp;                             /* bridge: 0 off, 1 on; -1 unknown or not a bridge */
	/* bond and bridge: the links whose master this is, in ifindex order */
	const char **ports;
	size_t n_ports;
};

/* Every link of a namespace, in ifindex order.  Owns its records. */
struct vf_link_list {
	struct vf_link *links;
	size_t n;
};

struct vf_netlink;

/* Open a netlink session in the calling thread's network namespace. */
int vf_netlink_open(struct vf_netlink **out, char **error);
void vf_netlink_close(struct vf_netlink *nl);

/* Read every link (one rtnl_link cache fill plus one dump for the
 * bridge/bond attributes libnl does not parse).  Release with
 * vf_link_list_release(); the list is reusable after it. */
int vf_link_list_read(struct vf_netlink *nl, struct vf_link_list *out, char **error);
void vf_link_list_release(struct vf_link_list *list);
const struct vf_link *vf_link_list_find(const struct vf_link_list *list, const char *name);
/* A bond option's value as read, or NULL when the kernel did not report it. */
const char *vf_link_bond_option(const struct vf_link *l, const char *name);

/*
 * Checks without the kernel.  vf_link_check_name: non-empty, at most 15
 * bytes, not "." or "..", no '/', ':' or white space.  what is the link's
 * role in messages ("bridge", "vlan", "link").
 */
int vf_link_check_name(const char *what, const char *name, char **error);
int vf_link_check_vlan_id(const char *name, unsigned id, char **error);
/*
 * The uplink exists (in list) and mtu (0: not checked) is not above its
 * MTU.  what and name say whose uplink it is:
 *   "bridge 'br-prod': uplink 'eth9' does not exist on this host"
 *   "bridge 'br-prod': mtu 9000 is above uplink eth0's 1500; raise ..."
 */
int vf_link_check_uplink(const struct vf_link_list *list, const char *what, const char *name,
			 const char *uplink, unsigned mtu, char **error);

/*
 * Create links.  mtu 0 leaves the kernel's default.  Each refuses a
 * name that exists (VF_LINK_ERR_EXISTS): the caller decides whether an
 * existing link is its own.  Links are created down.
 */
/* stp: -1 the kernel's default (off), 0 off, 1 on. */
int vf_link_create_bridge(struct vf_netlink *nl, const char *name, unsigned mtu, int stp,
			  char **error);
/* base must exist and mtu must fit it; id 1..4094.  A base the kernel
 * will not stack VLANs on (lo) is VF_LINK_ERR_INVALID, a kernel without
 * 8021q VF_LINK_ERR_UNSUPPORTED. */
int vf_link_create_vlan(struct vf_netlink *nl, const char *name, const char *base,
			unsigned id, unsigned mtu, char **error);
/* mode: a kernel bond mode name ("active-backup", "802.3ad", ...), or NULL
 * for the default; opts (n_opts of them): options set in the same request,
 * after the mode (see vf_link_set_bond_options). */
int vf_link_create_bond(struct vf_netlink *nl, const char *name, const char *mode,
			const struct vf_link_bond_option *opts, size_t n_opts,
			unsigned mtu, char **error);
/*
 * Set bond options in one request: miimon, updelay, downdelay,
 * arp_interval (milliseconds), lacp_rate (slow|fast), ad_select
 * (stable|bandwidth|count), xmit_hash_policy (layer2|layer3+4|layer2+3|
 * encap2+3|encap3+4|vlan+srcmac), primary (a port's name; "" clears it),
 * primary_reselect (always|better|failure), min_links.  An unknown name or
 * value is VF_LINK_ERR_INVALID before anything is sent.  The kernel takes
 * some (lacp_rate, ad_select) only while the bond is down: when it says so
 * for a bond that is up, the bond is brought down, changed and brought up
 * again.
 */
int vf_link_set_bond_options(struct vf_netlink *nl, const char *name,
			     const struct vf_link_bond_option *opts, size_t n_opts, char **error);
/* A veth pair name <-> peer, both in the calling thread's namespace
 * (tests; lab uplinks). */
int vf_link_create_veth(struct vf_netlink *nl, const char *name, const char *peer, char **error);

/* Make port a port of master (a bridge or a bond); release it from any master. */
int vf_link_set_master(struct vf_netlink *nl, const char *port, const char *master, char **error);
int vf_link_release(struct vf_netlink *nl, const char *port, char **error);
int vf_link_set_mtu(struct vf_netlink *nl, const char *name, unsigned mtu, char **error);
int vf_link_set_up(struct vf_netlink *nl, const char *name, bool up, char **error);
/* Spanning tree on a bridge, on or off. */
int vf_link_set_bridge_stp(struct vf_netlink *nl, const char *name, bool on, char **error);
int vf_link_delete(struct vf_netlink *nl, const char *name, char **error);

#endif
