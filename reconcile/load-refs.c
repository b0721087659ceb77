/*
 * load-refs.c — pass 3 of the loader: the references noted in pass 2
 * (vm -> cluster, host, network, storage, image; image -> storage;
 * affinity group -> vm, host; a cluster's migration -> network ...)
 * resolved by name with a did-you-mean hint, the default cluster and
 * project, and the rules that span objects: a pinned host in the VM's
 * cluster, a network or storage domain available in that cluster, a
 * volume on a storage domain that can create one, bridges and MACs
 * unique.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/load-internal.h"

/*
 * Resolve name (of kind k) or report it at pos, with the nearest defined
 * name as a hint.  map: the kind's name -> object map.
 */
static void *resolve(struct loader *L, const struct vf_strmap *map, enum kind k, const char *name,
		     const struct vf_pos *pos, const char *ctx)
{
	const char *cands[256];
	const char *near;
	char *hint = NULL;
	size_t i, n = 0;
	void *obj = vf_strmap_get(map, name);

	if (obj)
		return obj;
	for (i = 0; i < map->cap && n < VF_ARRAY_SIZE(cands); i++)
		if (map->slots[i].key)
			cands[n++] = map->slots[i].key;
	near = vf_nearest(name, cands, n);
	if (near)
		hint = xasprintf("did you mean '%s'?", near);
	else if (!n)
		hint = xasprintf("no %s is defined", vf_load_kind_names[k]);
	ERR(L, pos, hint, "%s: %s '%s' is not defined", ctx, vf_load_kind_names[k], name);
	free(hint);
	return NULL;
}

bool vf_cluster_in_scope(struct vf_cluster *const *refs, size_t n, const struct vf_cluster *cl)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (refs[i] == cl)
			return true;
	return false;
}

static enum kind ref_kind(enum ref_role role)
{
	switch (role) {
	case REF_HOST_CLUSTER:
	case REF_NETWORK_CLUSTER:
	case REF_STORAGE_CLUSTER:
	case REF_VM_CLUSTER:
		return KIND_CLUSTER;
	case REF_VM_HOST:
	case REF_GROUP_HOST:
		return KIND_HOST;
	case REF_GROUP_VM:
		return KIND_VM;
	case REF_IMAGE_STORAGE:
	case REF_DISK_STORAGE:
		return KIND_STORAGE;
	case REF_DISK_IMAGE:
		return KIND_IMAGE;
	case REF_NIC_NETWORK:
	case REF_MIGRATION_NETWORK:
		return KIND_NETWORK;
	}
	return KIND_CLUSTER;
}

/* Where the resolved pointer of r goes. */
static void **ref_slot(struct vf_config *c, const struct ref *r)
{
	switch (r->role) {
	case REF_HOST_CLUSTER:
		return (void **)&c->hosts[r->owner].cluster_ref;
	case REF_NETWORK_CLUSTER:
		return (void **)&c->networks[r->owner].cluster_refs[r->sub];
	case REF_STORAGE_CLUSTER:
		return (void **)&c->storages[r->owner].cluster_refs[r->sub];
	case REF_IMAGE_STORAGE:
		return (void **)&c->images[r->owner].storage_ref;
	case REF_VM_CLUSTER:
		return (void **)&c->vms[r->owner].cluster_ref;
	case REF_VM_HOST:
		return (void **)&c->vms[r->owner].host_ref;
	case REF_DISK_STORAGE:
		return (void **)&c->vms[r->owner].disks[r->sub].storage_ref;
	case REF_DISK_IMAGE:
		return (void **)&c->vms[r->owner].disks[r->sub].image_ref;
	case REF_NIC_NETWORK:
		return (void **)&c->vms[r->owner].nics[r->sub].network_ref;
	case REF_MIGRATION_NETWORK:
		return (void **)&c->clusters[r->owner].migration.network_ref;
	case REF_GROUP_VM:
		return (void **)&c->affinity_groups[r->owner].vm_refs[r->sub];
	case REF_GROUP_HOST:
		return (void **)&c->affinity_groups[r->owner].host_refs[r->sub];
	}
	return NULL;
}

/*
 * virtform makes a disk or an image as a volume of its storage domain: an
 * iSCSI target's LUNs are made on the storage array, never by libvirt (its
 * iscsi and iscsi-direct pools cannot create volumes).
 */
static void check_volume_storage(struct loader *L, const struct ref *r, const char *disk,
				 const struct vf_storage *st)
{
	if (!st || (st->type != VF_STORAGE_ISCSI && st->type != VF_STORAGE_ISCSI_DIRECT))
		return;
	ERR(L, &r->pos, "put it on a storage domain of type dir, nfs or logical: an iSCSI "
	    "target's LUNs are made on the storage array, not by libvirt",
	    "%s%s%s%s: storage domain '%s' is of type %s, where virtform cannot create volumes",
	    r->ctx, disk ? ": disk '" : "", disk ? disk : "", disk ? "'" : "", st->name,
	    st->type == VF_STORAGE_ISCSI ? "iscsi" : "iscsi-direct");
}

/* The rules that span objects, once every reference is resolved. */
static void check_ref(struct loader *L, const struct ref *r)
{
	struct vf_config *c = L->c;
	const struct vf_vm *vm;

	switch (r->role) {
	case REF_VM_HOST:
		vm = &c->vms[r->owner];
		if (vm->host_ref && vm->cluster_ref && vm->host_ref->cluster_ref &&
		    vm->host_ref->cluster_ref != vm->cluster_ref)
			ERR(L, &r->pos, "pin it to a host of its cluster, or change its cluster",
			    "%s: host '%s' is in cluster '%s', not in the vm's cluster '%s'", r->ctx,
			    vm->host, vm->host_ref->cluster, vm->cluster);
		break;
	case REF_DISK_STORAGE: {
		const struct vf_storage *st;
		vm = &c->vms[r->owner];
		st = vm->disks[r->sub].storage_ref;
		if (st && vm->cluster_ref && !vf_cluster_in_scope(st->cluster_refs, st->n_clusters, vm->cluster_ref))
			ERR(L, &r->pos, "add the cluster to the storage domain's 'clusters:'",
			    "%s: storage domain '%s' is not available in cluster '%s'", r->ctx, st->name,
			    vm->cluster);
		check_volume_storage(L, r, vm->disks[r->sub].name, st);
		break;
	}
	case REF_IMAGE_STORAGE:
		check_volume_storage(L, r, NULL, c->images[r->owner].storage_ref);
		break;
	case REF_NIC_NETWORK: {
		const struct vf_network *net;
		vm = &c->vms[r->owner];
		net = vm->nics[r->sub].network_ref;
		if (net && vm->cluster_ref &&
		    !vf_cluster_in_scope(net->cluster_refs, net->n_clusters, vm->cluster_ref))
			ERR(L, &r->pos, "add the cluster to the network's 'clusters:'",
			    "%s: network '%s' is not available in cluster '%s'", r->ctx, net->name,
			    vm->cluster);
		break;
	}
	case REF_MIGRATION_NETWORK: {
		const struct vf_cluster *cl = &c->clusters[r->owner];
		const struct vf_network *net = cl->migration.network_ref;
		if (net && !vf_cluster_in_scope(net->cluster_refs, net->n_clusters, cl))
			ERR(L, &r->pos, "add the cluster to the network's 'clusters:'",
			    "%s: network '%s' is not available in cluster '%s'", r->ctx, net->name,
			    cl->name);
		break;
	}
	default:
		break;
	}
}

/* Objects without 'cluster:' belong to the only cluster, if there is one. */
static void default_cluster(struct loader *L, const char **name, struct vf_cluster **ref,
			    const struct vf_pos *pos, const char *what)
{
	struct vf_config *c = L->c;

	if (*name)
		return;
	if (c->n_clusters == 1) {
		*ref = &c->clusters[0];
		*name = c->clusters[0].name;
	} else if (c->n_clusters == 0) {
		ERR(L, pos, "define one under 'clusters:'", "%s has no cluster, and none is defined", what);
	} else {
		ERR(L, pos, "add 'cluster: NAME'", "%s has no cluster (there is more than one to choose from)",
		    what);
	}
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The project — the identity virtform marks the objects it manages with —
 * defaults to the config's cluster names, sorted and joined with '+': it
 * then survives a lost state directory and a moved repository, and two
 * configurations for different clusters never claim each other's VMs.
 */
static void default_project(struct vf_config *c)
{
	const char **names;
	size_t i, n = 0, len = 1;
	char *p;

	names = xcalloc(c->n_clusters + 1, sizeof(*names));
	for (i = 0; i < c->n_clusters; i++) {
		if (!c->clusters[i].name)
			continue;       /* a bad name, already reported */
		names[n] = c->clusters[i].name;
		len += strlen(names[n++]) + 1;
	}
	if (!n) {
		c->project = "default";
		free(names);
		return;
	}
	qsort(names, n, sizeof(*names), str_cmp);
	p = vf_arena_alloc(&c->arena, len);
	for (i = 0; i < n; i++) {
		if (i)
			strcat(p, "+");
		strcat(p, names[i]);
	}
	c->project = p;
	free(names);
}

/* No two networks on one bridge. */
static void check_bridges(struct loader *L)
{
	struct vf_config *c = L->c;
	struct vf_strmap bridges = { 0 };
	size_t i;

	for (i = 0; i < c->n_networks; i++) {
		struct vf_network *net = &c->networks[i], *other;
		if (!net->bridge)
			continue;
		other = vf_strmap_put(&bridges, net->bridge, net);
		if (other != net)
			ERR(L, &net->pos, "give one of them another 'bridge:'",
			    "network '%s': bridge '%s' is also used by network '%s'", net->name,
			    net->bridge, other->name);
	}
	vf_strmap_release(&bridges);
}

/* No MAC address given to two nics. */
static void check_macs(struct loader *L)
{
	struct vf_config *c = L->c;
	struct vf_strmap macs = { 0 };
	size_t i, j;

	for (i = 0; i < c->n_vms; i++) {
		struct vf_vm *vm = &c->vms[i];
		for (j = 0; j < vm->n_nics; j++) {
			struct vf_nic *nic = &vm->nics[j], *other;
			char key[18];
			const char *k;
			if (!nic->has_mac)
				continue;
			snprintf(key, sizeof(key), "%02x:%02x:%02x:%02x:%02x:%02x", nic->mac[0],
				 nic->mac[1], nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5]);
			k = vf_arena_strdup(&c->arena, key);
			other = vf_strmap_put(&macs, k, nic);
			if (other != nic)
				ERR(L, &nic->pos, "MAC addresses must be unique",
				    "vm '%s': mac %s is also used at %s:%u:%u", vm->name, k,
				    other->pos.file, other->pos.line, other->pos.col);
		}
	}
	vf_strmap_release(&macs);
}

void vf_load_resolve_all(struct loader *L)
{
	struct vf_config *c = L->c;
	struct vf_strmap m[KIND_COUNT] = { { 0 } };
	size_t i;

#define INDEX(K, arr, n)                                               \
	for (i = 0; i < c->n; i++)                                     \
		if (c->arr[i].name)                                    \
			vf_strmap_put(&m[K], c->arr[i].name, &c->arr[i]);
	INDEX(KIND_CLUSTER, clusters, n_clusters)
	INDEX(KIND_HOST, hosts, n_hosts)
	INDEX(KIND_NETWORK, networks, n_networks)
	INDEX(KIND_STORAGE, storages, n_storages)
	INDEX(KIND_IMAGE, images, n_images)
	INDEX(KIND_VM, vms, n_vms)
#undef INDEX

	for (i = 0; i < L->n_refs; i++) {
		const struct ref *r = &L->refs[i];
		*ref_slot(c, r) = resolve(L, &m[ref_kind(r->role)], ref_kind(r->role), r->name, &r->pos,
					  r->ctx);
	}
	/* "host 'NAME'", or "host #N" for one whose name is missing or bad */
	for (i = 0; i < c->n_hosts; i++)
		default_cluster(L, &c->hosts[i].cluster, &c->hosts[i].cluster_ref, &c->hosts[i].pos,
				vf_load_ctx_name(L, "host", c->hosts[i].name, i));
	for (i = 0; i < c->n_vms; i++)
		default_cluster(L, &c->vms[i].cluster, &c->vms[i].cluster_ref, &c->vms[i].pos,
				vf_load_ctx_name(L, "vm", c->vms[i].name, i));
	for (i = 0; i < L->n_refs; i++)
		check_ref(L, &L->refs[i]);

	check_bridges(L);
	check_macs(L);
	if (!c->project)
		default_project(c);
	for (i = 0; i < KIND_COUNT; i++)
		vf_strmap_release(&m[i]);
}
