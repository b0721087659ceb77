/*
 * hostnet.h — host networking on the engine side: the links a host of the
 * configuration should have, and the plan that turns the links it has into
 * them.  No netlink here: the observed links come in as the same neutral
 * struct vf_host_link, converted by the caller (cmd/host.c) from what
 * providers/hostnet/ reads.  cmd/host-apply.c (host apply) executes the plan.
 *
 * Implemented by concern: reconcile/hostnet.c (names, link lists),
 * hostnet-bond.c (bond options), hostnet-desired.c, hostnet-records.c
 * (ownership records), hostnet-plan.c, hostnet-print.c and hostnet-spec.c;
 * hostnet-internal.h is what they share.
 *
 * Ownership rule (docs/hostnet.md): only links the config declares
 * (hosts[].interfaces) or derives (bridge-mode networks with an uplink)
 * are ever changed; a link virtform created earlier (recorded in the
 * host-local state file) and no longer desired is deleted; every other
 * link is listed, never changed.
 */
#ifndef VF_HOSTNET_H
#define VF_HOSTNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "reconcile/diag.h"
#include "reconcile/model.h"
#include "reconcile/util.h"

/* Default host-local state file (ownership records); --state-file overrides.
 * The other host-local files live in the same directory. */
#define VF_HOSTNET_STATE_FILE "/var/lib/virtform/hostnet.json"
#define VF_HOSTNET_PENDING_NAME "hostnet-pending.json"
#define VF_HOSTNET_CONFIRMED_NAME "hostnet-confirmed.json"
#define VF_HOSTNET_LOCK_NAME "hostnet.lock"

enum vf_host_link_kind {
	VF_HOST_LINK_ETHERNET,   /* a NIC (or veth): never created, MTU and master only */
	VF_HOST_LINK_BOND,
	VF_HOST_LINK_BRIDGE,
	VF_HOST_LINK_VLAN,
	VF_HOST_LINK_PORT,       /* desired only: an existing link of any kind that a
				  * derived bridge takes as its port (the uplink);
				  * only its master is managed */
	VF_HOST_LINK_OTHER,      /* observed only: veth, lo, tun, ... */
};
/* "ethernet", "bond", "bridge", "vlan", "port", "other". */
const char *vf_host_link_kind_name(enum vf_host_link_kind k);

/*
 * One link, desired or observed.  Strings are borrowed from whoever built
 * the list (its arena); NULL means "none" (master, vlan_base, bond_mode)
 * or, in a desired link, "leave as it is" for master of an ethernet or
 * port entry that no bridge or bond takes.
 */
struct vf_host_link {
	const char *name;
	enum vf_host_link_kind kind;
	unsigned mtu;               /* desired: 0 = leave as is */
	const char *master;         /* the bridge or bond it is a port of */
	const char *vlan_base;
	unsigned vlan_id;
	const char *bond_mode;      /* desired: NULL = the kernel's default */
	/* bond: options by kernel name ("miimon") with canonical values
	 * ("100", "fast"; vf_hostnet_bond_option_canon); desired: only those
	 * the config sets, the others are left as they are; observed: those
	 * the kernel reports for the bond's mode */
	struct vf_label *bond_options;
	size_t n_bond_options;
	const char **ports;         /* bond/bridge; desired: informational, the
				     * ports carry the master */
	size_t n_ports;
	int stp;                    /* bridge: -1 leave/unknown, 0 off, 1 on */
	bool up;                    /* observed: administratively up */
	bool absent;                /* desired: state: absent */
	/* desired only */
	struct vf_pos pos;          /* where the config says it */
	const char *owner;          /* "network lan", "interface bond0" */
	const char *master_owner;   /* who makes it a port of master (may differ
				     * from owner: an interface eth0 that a
				     * network takes as its uplink) */
};

/* A list of links with the arena their strings may live in. */
struct vf_host_links {
	struct vf_arena arena;
	struct vf_host_link *items;
	size_t n, alloc;
};
void vf_host_links_release(struct vf_host_links *l);
struct vf_host_link *vf_host_links_add(struct vf_host_links *l, const char *name);
const struct vf_host_link *vf_host_links_find(const struct vf_host_links *l, const char *name);

/*
 * The desired links of host (in config) into out: its interfaces, then
 * what every bridge-mode network in its scope with an uplink derives.
 * Two sources deriving one link with different settings is an error at
 * the second, naming the first's position.  Returns 0, or -1 with diags.
 */
int vf_hostnet_desired(const struct vf_config *config, const struct vf_host *host,
		       struct vf_host_links *out, struct vf_diags *diags);

/* Ownership records: the links virtform created on this host. */
struct vf_hostnet_owned {
	char **names;               /* malloc'd */
	char **owners;              /* "network lan"; malloc'd */
	size_t n, alloc;
};
/* Read path ({"links": [{"name": ..., "owner": ...}]}); a missing file is
 * an empty record.  0, or -1 with *error (malloc'd). */
int vf_hostnet_owned_read(const char *path, struct vf_hostnet_owned *out, char **error);
void vf_hostnet_owned_release(struct vf_hostnet_owned *o);
/* Add (name, owner) to o (copies both). */
void vf_hostnet_owned_add(struct vf_hostnet_owned *o, const char *name, const char *owner);
/* Write o to path atomically: a temporary file beside it (mode 0600),
 * fsync, rename, fsync of the directory; the directory is created (0700)
 * when missing.  0, or -1 with *error (malloc'd). */
int vf_hostnet_owned_write(const char *path, const struct vf_hostnet_owned *o, char **error);
struct json_t;
/* o as {"links": [{"name", "owner"}]} (a new reference), and back
 * (0, or -1 with *error naming what is wrong; what names the document). */
struct json_t *vf_hostnet_owned_json(const struct vf_hostnet_owned *o);
int vf_hostnet_owned_from_json(const struct json_t *doc, const char *what,
			       struct vf_hostnet_owned *out, char **error);
/*
 * Write doc to path atomically (vf_write_file_atomic, mode 0600); the
 * directory is created (0700) when missing and refused when others can
 * write it (vf_private_dir_check).  what names the file in messages ("host network state").
 * 0, or -1 with *error (malloc'd).
 */
int vf_hostnet_write_json(const char *path, const struct json_t *doc, const char *what,
			  char **error);

/*
 * Bond options (hosts[].interfaces[].options of a bond): the kernel's
 * option names virtform sets over netlink.  Check name=value and give its
 * canonical text (*canon, static or in arena): numbers without leading
 * zeros, enumerations by name ("1" -> "fast" for lacp_rate).  0, or -1
 * with *error (malloc'd): an unknown name (with a did-you-mean) or a bad
 * value (with the accepted ones).
 */
int vf_hostnet_bond_option_canon(struct vf_arena *arena, const char *name, const char *value,
				 const char **canon, char **error);
/* The known option names, ", "-separated, for messages. */
const char *vf_hostnet_bond_option_names(void);

enum vf_hostnet_op {
	VF_HOSTNET_CREATE,
	VF_HOSTNET_UPDATE,
	VF_HOSTNET_REPLACE,          /* delete + create: a vlan's base/id, a bond's mode */
	VF_HOSTNET_DELETE,
};
const char *vf_hostnet_op_name(enum vf_hostnet_op op);

struct vf_hostnet_change {
	const char *field;          /* "mtu", "master", "stp", "up" */
	const char *before, *after; /* as shown: "1500", "(none)", "on", "yes" */
};

struct vf_hostnet_action {
	enum vf_hostnet_op op;
	const char *name;
	enum vf_host_link_kind kind;
	const struct vf_host_link *desired;    /* create, update, replace */
	const struct vf_host_link *observed;   /* update, replace, delete */
	struct vf_hostnet_change *changes;     /* update; create: its settings */
	size_t n_changes;
	const char *reason;                    /* why, for people: "network lan",
						* "no longer in the configuration" */
};

/* The plan of one host; everything in arena. */
struct vf_hostnet_plan {
	struct vf_arena arena;
	const char *host;
	struct vf_hostnet_action *actions;     /* in execution order */
	size_t n, alloc;
	const char **unmanaged;                /* observed links left alone */
	size_t n_unmanaged, alloc_unmanaged;
};

/*
 * Diff desired against observed (the host's live links) and owned into
 * plan, in a safe order: creates (bonds, vlans, bridges), then updates
 * (settings, then enslaving: every master after both links exist), then
 * deletes (bridges, vlans, bonds).  Errors found at plan time (a missing
 * uplink or port, an MTU above the uplink's, a link of another kind in
 * the way) go to diags.  Returns 0, or -1 with diags.
 */
int vf_hostnet_plan_build(const char *host, const struct vf_host_links *desired,
			  const struct vf_host_links *observed,
			  const struct vf_hostnet_owned *owned, struct vf_hostnet_plan *plan,
			  struct vf_diags *diags);
void vf_hostnet_plan_release(struct vf_hostnet_plan *plan);
/* Leave out the deletes (`--no-delete`: the controller's first phase),
 * and the releases of ports from the bridges and bonds they delete (the
 * delete releases them); a replace stays. */
void vf_hostnet_plan_drop_deletes(struct vf_hostnet_plan *plan);

/* Text like `virtform plan` ("No changes." when empty) and JSON. */
void vf_hostnet_plan_print(const struct vf_hostnet_plan *plan, FILE *out);
/*
 * A link change's line after its address, as both plans print it (this
 * one, and `virtform plan` for the host links it carries): field j of a
 * link created as ", mtu 9000", of one updated as ": mtu 1500 -> 9000"
 * (the first) and ", master (none) -> br0" (the next); then the reason,
 * " (network lan)", nothing when NULL.  Values are escaped (NULL is
 * "(none)").
 */
void vf_hostnet_field_print(FILE *out, bool create, size_t j, const char *field,
			    const char *before, const char *after);
void vf_hostnet_reason_print(FILE *out, const char *reason);
int vf_hostnet_plan_print_json(const struct vf_hostnet_plan *plan, FILE *out);
/* One change of the plan as JSON ({"address", "name", "kind", "action",
 * "reason", "fields"}), a new reference; the whole document that
 * vf_hostnet_plan_print_json prints ({"host", "status": "planned",
 * "changes", "unmanaged"}). */
struct json_t *vf_hostnet_action_json(const struct vf_hostnet_plan *plan, size_t i);
struct json_t *vf_hostnet_plan_json(const struct vf_hostnet_plan *plan);

/* ---- the host spec: what the controller sends a host ------------------- */

/*
 * The desired links of one host as one JSON document, the "host spec"
 * (docs/hostnet.md): what `virtform plan`/`apply` send to `virtform host
 * plan|apply --spec -` on a host over SSH, and what the host keeps as its
 * last confirmed state (`host apply --last-confirmed`):
 *
 *   {"format": "virtform-host-spec", "version": 1, "host": "lab1",
 *    "links": [{"name", "kind", "mtu", "master", "vlan_base", "vlan_id",
 *               "bond_mode", "bond_options": {"miimon": "100"}, "ports",
 *               "stp", "absent", "owner", "master_owner",
 *               "pos": {"file", "line", "col"}}]}
 *
 * Absent strings are null; stp is null (leave), false or true.  Positions
 * travel with the links so that a host's plan-time errors name the
 * controller's config file and line.
 */
/* A new jansson object (the caller decrefs). */
struct json_t *vf_hostnet_spec_json(const char *host, const struct vf_host_links *desired);
/*
 * Parse doc into out (strings in out->arena) and *host (in out->arena).
 * 0, or -1 with *error (malloc'd) naming what is wrong ("link 3: kind
 * 'brdige' is not one of ...").  Checks every field's type and range as
 * the config loader would (names, VLAN ids, MTUs).
 */
int vf_hostnet_spec_parse(const struct json_t *doc, struct vf_host_links *out,
			  const char **host, char **error);

#endif
