/*
 * spec.h — resources: the unit the engine diffs, plans and applies.
 *
 * The config model (model.h) says what the user wrote; a resource is one
 * object on one host as a provider realizes it: a libvirt network on
 * lab1, a storage pool on lab2, a volume in that pool, a domain.  The same
 * structs describe both sides of a diff:
 *
 *   - desired resources are built from the model by desired.c;
 *   - observed resources are what a provider read from a host (observe).
 *
 * A resource's address names it in plans, state and --target:
 *
 *   vm.NAME                 a VM (it lives on exactly one host)
 *   network.NAME@HOST       a network's realization on one host
 *   storage.NAME@HOST       a storage domain's pool on one host
 *   volume.NAME@HOST        a volume (a VM disk "VM-DISK", or an image)
 *
 * Ownership: every string and array of a resource lives in an arena owned
 * by whoever built it (the desired state, or one host's observation); a
 * resource is never freed on its own.  Strings are never NULL unless the
 * field says "NULL when absent".
 *
 * Provider-neutral: no libvirt here.  A provider turns these specs into
 * its own objects (providers/libvirt/xml*.c) and back.
 */
#ifndef VF_SPEC_H
#define VF_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/model.h"

struct vf_seed;                         /* reconcile/cloudinit.h */

/* Kinds, in creation order: a kind depends only on kinds before it. */
enum vf_kind {
	VF_KIND_STORAGE,
	VF_KIND_VOLUME,
	VF_KIND_NETWORK,
	VF_KIND_VM,
	VF_KIND_COUNT,
};
const char *vf_kind_name(enum vf_kind k);   /* "storage", "volume", ... */
/* The kind named name ("vm", ...): 0, or -1 for no kind (name may be NULL). */
int vf_kind_parse(const char *name, enum vf_kind *k);
/*
 * The address of an object (malloc'd): "vm.NAME" for a VM (VMs are named
 * project-wide), "KIND.NAME@HOST" for anything else.  The one rule for
 * addresses; the planner, the saved plan and the
 * provider's observation name objects by it.
 */
char *vf_address_new(enum vf_kind kind, const char *name, const char *host);


struct vf_network_spec {
	enum vf_net_mode mode;
	const char *bridge;             /* nat/isolated: the bridge libvirt makes;
					 * bridge: the host bridge to attach to */
	unsigned mtu;                   /* 0 = default */
	bool has_ipv4;                  /* nat/isolated only */
	uint32_t ipv4_address;          /* host order */
	unsigned ipv4_prefix;
	bool has_dhcp;
	uint32_t dhcp_start, dhcp_end;  /* host order */
	bool active;                    /* desired: always true */
	bool autostart;                 /* desired: always true */
};

struct vf_pool_spec {
	enum vf_storage_type type;
	const char *path;               /* dir: directory; nfs: mount point;
					 * logical: /dev/VG; iscsi: /dev/disk/by-path;
					 * iscsi-direct: NULL (its LUNs are no host
					 * devices: libvirt writes no <target>) */
	const char *server;             /* nfs; NULL otherwise */
	const char *export_path;        /* nfs; NULL otherwise */
	const char *vg;                 /* logical; NULL otherwise */
	const char *portal;             /* iscsi, iscsi-direct "host[:port]";
					 * NULL otherwise */
	const char *target;             /* iscsi, iscsi-direct: the target's
					 * IQN; NULL otherwise */
	const char *initiator;          /* iscsi, iscsi-direct: the initiator's
					 * IQN, <source><initiator><iqn name>;
					 * NULL when absent (iscsi only) */
	/*
	 * iSCSI CHAP, iscsi and iscsi-direct alike (docs/secrets.md): the
	 * secret is a libvirt secret of usage type iscsi named chap_usage
	 * ("virtform/PROJECT/NAME"), which the pool's <auth> names.  chap_secret is never the secret: it is
	 * 16 hex digits of its keyed hash (vf_secret_hash), or "unopened"
	 * (desired, no key, no pool yet); observed, what the libvirt
	 * secret's description records ("virtform chap hash HEX"), NULL when
	 * there is no such secret.  All NULL without CHAP.
	 */
	const char *chap_username;
	const char *chap_usage;
	const char *chap_secret;
	const struct vf_secret_ref *chap_sealed; /* desired: opened at apply */
	const char *chap_what;          /* desired: the field in messages, and
					 * the keyed hash's context */
	bool active;                    /* desired: always true */
	bool autostart;                 /* desired: always true */
};

struct vf_volume_spec {
	const char *pool;               /* libvirt pool name (= storage domain) */
	uint64_t capacity;              /* bytes; desired 0 = "the image's size"
					 * (a clone) or "the uploaded file's" */
	enum vf_image_format format;
	const char *backing;            /* clone of this volume (same pool) by
					 * name; NULL when absent.  Observed: the
					 * backing volume's name when it is in the
					 * same pool, else its path */
	const char *upload_file;        /* desired image volumes: the local file
					 * to upload; NULL otherwise */
	const char *upload_root;        /* desired: the directory upload_file
					 * must stay under, symlinks resolved
					 * (transport.h: vf_image_open_check) */
	const char *vm;                 /* desired: the VM whose disk this is;
					 * NULL for an image volume */
	bool keep;                      /* desired: survive the VM's destroy */
	const char *path;               /* observed: the volume's path on its host */
	const struct vf_seed *seed;     /* desired: a cloud-init seed volume, its
					 * bytes built at apply (cloudinit.h);
					 * NULL otherwise */
};

struct vf_disk_spec {
	const char *name;               /* the disk's name in the config ("root") */
	const char *target;             /* guest device: vda, vdb, ... */
	const char *pool;
	const char *volume;             /* volume name in pool */
	enum vf_image_format format;
	bool cdrom;                     /* the cloud-init seed: a read-only SATA
					 * CD-ROM (target sda), raw */
};

struct vf_nic_spec {
	const char *network;            /* libvirt network name */
	uint8_t mac[6];                 /* always set: given, or derived */
	const char *model;              /* "virtio" */
};

/*
 * The ownership marker a managed domain carries (libvirt <metadata>): the
 * config's identity (the project), the VM's address, a hash of the desired
 * spec it was last written from, and the volumes it owns — so a domain and
 * its disks are found again when the state directory is lost.
 */
struct vf_marker_volume {
	const char *pool;
	const char *name;
	bool keep;
};
struct vf_marker {
	const char *project;            /* NULL: the object carries no marker */
	const char *spec_hash;          /* 16 hex digits; NULL when absent */
	struct vf_marker_volume *volumes;
	size_t n_volumes;
	/*
	 * Changes written to a running VM's definition that wait for its
	 * restart: their field paths ("cpus max_memory"), and the id the
	 * domain had when they were written.  Observed: kept only while the
	 * domain still runs with that id (a restart ends the wait); NULL when
	 * nothing waits.  Not part of the spec hash or the diff.
	 */
	const char *pending;
	int pending_id;
	/* The hash of the cloud-init seed (cloudinit.h): desired, the one to
	 * write; observed, the last written.  NULL when the VM has none.  It
	 * is the VM's "cloud_init" field (fields.c). */
	const char *cloud_init;
	/* The keyed hash (16 hex digits, desired.c) of the VM's sealed
	 * graphics password: desired, the one to write; observed, the last
	 * written.  NULL when the VM has none.  It is the VM's
	 * "graphics.password" field; the password itself is never here. */
	const char *graphics_password;
};

struct vf_vm_spec {
	unsigned cpus;
	unsigned max_cpus;              /* >= cpus; room to grow live (issue 4) */
	uint64_t memory;                /* bytes, whole KiB */
	uint64_t max_memory;            /* >= memory */
	enum vf_firmware firmware;
	enum vf_graphics_type graphics;
	const char *graphics_listen;    /* NULL when graphics == NONE */
	int graphics_port;              /* -1 = automatic */
	struct vf_disk_spec *disks;
	size_t n_disks;
	struct vf_nic_spec *nics;
	size_t n_nics;
	bool running;                   /* desired state / observed active */
	bool autostart;
	const char *description;        /* NULL when absent */
	unsigned shutdown_timeout;      /* desired only: seconds (not libvirt's) */
	bool restart_allowed;           /* desired only: restart_policy: allow */
	bool max_cpus_auto;             /* desired only: max_cpus / max_memory not */
	bool max_memory_auto;           /* in the config (derived: see desired.c) */
	struct vf_marker marker;        /* desired: what to write; observed: what
					 * was found (project NULL: unmanaged) */
	const struct vf_seed *seed;     /* desired: the seed to write; NULL */
	/* desired, with marker.graphics_password: the sealed password,
	 * opened by apply only (providers/libvirt/domain.c), and the field's
	 * name in messages ("vm 'web1': graphics: password") */
	const struct vf_secret_ref *graphics_sealed;
	const char *graphics_what;
};

/* One object on one host. */
struct vf_resource {
	enum vf_kind kind;
	const char *name;               /* the provider's object name */
	const char *host;               /* host name in the config */
	const char *address;            /* see above */
	const char *uuid;               /* observed; NULL when unknown */
	struct vf_pos pos;              /* desired: where the config defines it */
	bool protect;                   /* desired: refuse to destroy */
	union {
		struct vf_network_spec net;
		struct vf_pool_spec pool;
		struct vf_volume_spec vol;
		struct vf_vm_spec vm;
	} u;
};

/*
 * What a provider read from one host.  Every object of the four kinds the
 * provider saw is listed (so a name clash with an unmanaged object is
 * found), but only objects of interest are read in full: every domain
 * (its metadata tells whether it is ours), and the networks, pools and
 * volumes named in the request.  Others carry only kind, name and host,
 * with detailed == false.
 *
 * Owns everything in arena; free with vf_observed_free().
 */
struct vf_observed_item {
	struct vf_resource r;
	bool detailed;                  /* r.u was read */
};
struct vf_observed {
	struct vf_arena arena;
	const char *host;
	uint64_t memory_total;          /* bytes, for placement */
	struct vf_observed_item *items;
	size_t n_items, alloc_items;
};
void vf_observed_free(struct vf_observed *o);
/* Append an item (zeroed but for kind, name, host); returns it. */
struct vf_observed_item *vf_observed_add(struct vf_observed *o, enum vf_kind kind,
					 const char *name);

/* What to read in full on one host (all names borrowed). */
struct vf_observe_request {
	const char *host;
	const char *uri;
	const char *project;
	const char **networks; size_t n_networks;
	const char **pools;    size_t n_pools;
	/* volumes are read in full when their pool is in pools and their
	 * name is in volumes */
	const char **volumes;  size_t n_volumes;
};

/* The ASCII MAC "52:54:00:ab:cd:ef" of mac into buf[18]. */
void vf_mac_format(const uint8_t mac[6], char buf[18]);

#endif
