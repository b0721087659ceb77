/*
 * host-snapshot.h — what cmd/host-apply.c and cmd/host-snapshot.c share
 * and no one else needs: the snapshot of the links an apply touches, the
 * steps it made, and their JSON for the pending file.  cmd/host.h has the
 * applier itself (struct vf_hostcmd_applier) and the rollback.
 */
#ifndef VF_CMD_HOST_SNAPSHOT_H
#define VF_CMD_HOST_SNAPSHOT_H

#include <jansson.h>

#include "cmd/host.h"

/* The state of one link before apply (exists or not, and its settings). */
struct vf_hostcmd_snap {
	char *name;
	bool exists;
	struct vf_link link;        /* ports not used: see ports below */
	char **ports;               /* a bridge's or bond's ports (re-enslaved when re-created) */
	size_t n_ports;
};

enum step_type {
	STEP_CREATED, STEP_DELETED, STEP_MTU, STEP_STP, STEP_UP, STEP_MASTER, STEP_BOND_OPTIONS,
};

/* One change made, undone from the snapshot in reverse order. */
struct vf_hostcmd_step {
	enum step_type type;
	size_t snap;                /* index into the snapshot */
	size_t action;              /* the plan's action it belongs to */
	char **options;             /* STEP_BOND_OPTIONS: the options set */
	size_t n_options;
	bool undo_failed;
};

/* Record link name (NULL: nothing) as it is now in a->list, once. */
void vf_hostcmd_snap_take(struct vf_hostcmd_applier *a, const char *name);
/* A step of type made on link name (snapshotted) for a->action. */
struct vf_hostcmd_step *vf_hostcmd_step_add(struct vf_hostcmd_applier *a, enum step_type type,
					    const char *name);
/* Create link d (a bridge, vlan or bond), down, with its bond options: a
 * desired link, or a deleted one from its snapshot.  0, or a negative enum
 * vf_link_error with *error (another kind: VF_LINK_ERR_INVALID). */
int vf_hostcmd_link_create(struct vf_netlink *nl, const struct vf_host_link *d, char **error);
/* Re-read the links into a->list; 0 or -1 with *error. */
int vf_hostcmd_reread(struct vf_hostcmd_applier *a, char **error);
/* A snapshot, and a's steps, as the pending file holds them (new references). */
json_t *vf_hostcmd_snap_json(const struct vf_hostcmd_snap *s);
json_t *vf_hostcmd_steps_json(const struct vf_hostcmd_applier *a);

#endif
