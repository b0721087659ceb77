/*
 * model.h — the typed configuration model: what the user's YAML says.
 *
 * A struct vf_config is produced by vf_config_load() (load.c and the
 * load-*.c files beside it) and is immutable afterwards.  Everything in
 * it — structs, arrays, strings — lives in config->arena and goes away with vf_config_free(); nothing in the model
 * is individually freed.  Strings are never NULL unless documented as
 * optional ("NULL when absent").  Every object keeps the position of its
 * definition (pos) so later stages can point at the YAML that caused an
 * error.
 *
 * References (vm -> cluster, host, network, storage, image; ...) are
 * resolved by the loader: after a successful load every *_ref pointer below
 * is valid (or NULL where the reference is optional and absent).
 *
 * This header has no libvirt, libyaml or libxml2 types: reconcile/ is
 * provider-neutral.
 */
#ifndef VF_MODEL_H
#define VF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/diag.h"
#include "reconcile/schedule.h"
#include "reconcile/util.h"

#define VF_CONFIG_VERSION 1
#define VF_NAME_MAX 63           /* [A-Za-z0-9][A-Za-z0-9_.-]{0,62} */
#define VF_IFNAME_MAX 15         /* Linux IFNAMSIZ - 1 */
#define VF_CONFIG_FILE_MAX (16u << 20)

enum vf_scheduling {
	VF_SCHEDULING_EVENLY_DISTRIBUTED,
	VF_SCHEDULING_POWER_SAVING,
	VF_SCHEDULING_VM_EVENLY_DISTRIBUTED,
};

/*
 * clusters[].migration: how VMs move between the cluster's hosts (as
 * providers/libvirt/migrate.h's struct vf_migrate_settings; zero is
 * libvirt's default).  Loaded, not used by plan/apply yet.
 */
struct vf_migration {
	bool given;                      /* the cluster has a migration: mapping */
	struct vf_pos pos;
	unsigned bandwidth;              /* MiB/s; 0: unlimited */
	unsigned max_downtime_ms;        /* 0: libvirt's (300 ms) */
	unsigned parallel;               /* migrations at once per host; default 2 */
	bool auto_converge;
	bool post_copy;
	bool copy_storage;
	unsigned timeout;                /* seconds; 0: none */
	const char *network;             /* the migration network; NULL: the hosts' URIs */
	struct vf_network *network_ref;
};

struct vf_cluster {
	const char *name;
	struct vf_pos pos;
	const char *cpu_model;           /* "auto" or a libvirt CPU model name */
	enum vf_scheduling scheduling;
	const char *description;         /* NULL when absent */
	unsigned memory_overcommit;      /* percent; default 100 (none) */
	unsigned cpu_overcommit;         /* percent of host CPUs in vCPUs; 0: no limit */
	unsigned rebalance_threshold;    /* percent of load spread; 0: off */
	struct vf_migration migration;
};

struct vf_label {
	const char *key;
	const char *value;
};

enum vf_iface_type {
	VF_IFACE_ETHERNET,
	VF_IFACE_BOND,
	VF_IFACE_BRIDGE,
	VF_IFACE_VLAN,
};

enum vf_iface_state {
	VF_IFACE_STATE_UP,
	VF_IFACE_STATE_ABSENT,
};

/* A host link, realized by the host-networking provider (a later issue). */
struct vf_iface {
	const char *name;                /* kernel link name, <= 15 bytes */
	struct vf_pos pos;
	enum vf_iface_type type;
	enum vf_iface_state state;
	unsigned mtu;                    /* 0 = leave as is */
	const char *bond_mode;           /* bond: kernel mode name; NULL otherwise */
	const char **ports;              /* bond/bridge ports */
	size_t n_ports;
	struct vf_label *options;        /* bond options (miimon: 100, ...) */
	size_t n_options;
	int stp;                         /* bridge: -1 unset, 0 off, 1 on */
	const char *vlan_base;           /* vlan: base link; NULL otherwise */
	unsigned vlan_id;                /* vlan: 1..4094 */
};

/*
 * How the controller reaches a host's shell for host networking
 * (`virtform host ...` over SSH, providers/hostnet/remote.h).  Every
 * field is optional; NULL / 0 means OpenSSH's own default (and
 * ~/.ssh/config, or $VIRTFORM_SSH_CONFIG: files on the controller are
 * the operator's, never the repository's).
 */
struct vf_ssh {
	bool given;                      /* the host has an ssh: mapping */
	struct vf_pos pos;
	const char *host;                /* destination; default: address, else
					  * the URI's host, else the host name */
	const char *user;                /* default: the URI's user */
	unsigned port;                   /* 0: default */
	const char *virtform;            /* virtform on the host; default "virtform" */
};

struct vf_host {
	const char *name;
	struct vf_pos pos;
	const char *cluster;
	struct vf_cluster *cluster_ref;
	const char *uri;                 /* libvirt connection URI (transport.h) */
	bool insecure_transport;         /* qemu+tcp allowed: clear text */
	const char *address;             /* management address; NULL when absent */
	struct vf_label *labels;
	size_t n_labels;
	struct vf_iface *ifaces;
	size_t n_ifaces;
	struct vf_ssh ssh;
	bool maintenance;                /* drained: takes no VM (docs/scheduling.md) */
	uint64_t memory_reserve;         /* bytes kept for the host itself; default 1 GiB */
};

enum vf_net_mode {
	VF_NET_MODE_BRIDGE,
	VF_NET_MODE_NAT,
	VF_NET_MODE_ISOLATED,
};

struct vf_network {
	const char *name;
	struct vf_pos pos;
	enum vf_net_mode mode;
	unsigned vlan;                   /* 0 = untagged */
	const char *uplink;              /* NULL when absent */
	const char *bridge;              /* always set: given or derived */
	bool bridge_derived;
	unsigned mtu;                    /* 0 = default */
	const char **clusters;           /* scope; n_clusters == 0: every host */
	size_t n_clusters;
	struct vf_cluster **cluster_refs;
	/* ipv4 (nat/isolated), network byte order-free: host order uint32 */
	bool has_ipv4;
	uint32_t ipv4_address;
	unsigned ipv4_prefix;
	bool has_dhcp;
	uint32_t dhcp_start, dhcp_end;
};

enum vf_storage_type {
	VF_STORAGE_DIR,
	VF_STORAGE_NFS,
	VF_STORAGE_LOGICAL,
	VF_STORAGE_ISCSI,
	VF_STORAGE_ISCSI_DIRECT,        /* libvirt's iscsi-direct: libiscsi in
					 * libvirtd, no iscsiadm, no kernel
					 * initiator on the host */
};

/*
 * A sealed value ({sealed: "<base64>"}, reconcile/secret.h): only its
 * ciphertext, checked for shape by the loader; opening it needs the secret
 * key, which the loader never has.  sealed is NULL when absent; the base64
 * text has no white space.  pos: the {sealed: ...} mapping, where messages
 * about the field point.
 */
struct vf_secret_ref {
	const char *sealed;
	struct vf_pos pos;
};

struct vf_storage {
	const char *name;
	struct vf_pos pos;
	enum vf_storage_type type;
	const char *path;                /* dir, nfs (mount point); NULL otherwise */
	const char *server, *export_path;/* nfs */
	const char *vg;                  /* logical */
	const char *portal, *target;     /* iscsi, iscsi-direct */
	const char *initiator;           /* iscsi (optional), iscsi-direct
					 * (required): the initiator's IQN */
	/* iscsi and iscsi-direct chap: {username, secret: {sealed}};
	 * chap_username NULL when absent.  Kept on each host as a libvirt
	 * secret (docs/secrets.md). */
	const char *chap_username;
	struct vf_secret_ref chap_secret;
	struct vf_pos chap_pos;
	const char **clusters;           /* scope; n_clusters == 0: every host */
	size_t n_clusters;
	struct vf_cluster **cluster_refs;
};

enum vf_image_format {
	VF_FORMAT_QCOW2,
	VF_FORMAT_RAW,
};

struct vf_image {
	const char *name;
	struct vf_pos pos;
	const char *file;                /* as written */
	const char *file_path;           /* resolved against the defining file's dir */
	const char *file_root;           /* the directory it must stay under
					  * (transport.h: vf_image_root) */
	const char *storage;
	struct vf_storage *storage_ref;
	enum vf_image_format format;
};

struct vf_disk {
	const char *name;
	struct vf_pos pos;
	uint64_t size;                   /* bytes; 0 = the image's size */
	const char *storage;
	struct vf_storage *storage_ref;
	const char *image;               /* NULL when absent */
	struct vf_image *image_ref;
	enum vf_image_format format;
	bool keep;                       /* survive the VM's destroy */
};

struct vf_nic {
	struct vf_pos pos;
	const char *network;
	struct vf_network *network_ref;
	bool has_mac;
	uint8_t mac[6];
	const char *model;               /* "virtio" unless told */
};

enum vf_vm_state {
	VF_VM_STATE_RUNNING,
	VF_VM_STATE_STOPPED,
};

enum vf_firmware {
	VF_FIRMWARE_BIOS,
	VF_FIRMWARE_EFI,
};

enum vf_graphics_type {
	VF_GRAPHICS_NONE,
	VF_GRAPHICS_VNC,
	VF_GRAPHICS_SPICE,
};

enum vf_ha_priority {
	VF_HA_PRIORITY_LOW,
	VF_HA_PRIORITY_MEDIUM,
	VF_HA_PRIORITY_HIGH,
};

struct vf_cloud_init_user {
	const char *name;                /* login name */
	struct vf_pos pos;
	const char **ssh_authorized_keys;
	size_t n_ssh_authorized_keys;
	struct vf_secret_ref password;   /* sealed only; .sealed NULL when absent */
	const char *sudo;                /* a sudoers rule; NULL when absent */
	const char *shell;               /* NULL when absent */
};

/*
 * vms[].cloud_init: the NoCloud seed a VM reads at first boot.  hostname
 * goes to meta-data (local-hostname); users make a #cloud-config user-data;
 * user_data, when given, is the whole user-data instead (users is then an
 * error; docs/config.md).  Realized as a seed volume: reconcile/cloudinit.h.
 */
struct vf_cloud_init {
	bool given;                      /* the vm has a cloud_init: mapping */
	struct vf_pos pos;
	const char *hostname;            /* default: the VM's name */
	struct vf_cloud_init_user *users;
	size_t n_users;
	const char *user_data;           /* plain user-data; NULL when absent or sealed */
	struct vf_secret_ref user_data_sealed;
	const char *network_config;      /* the mapping as compact JSON (valid YAML,
					  * keys in file order); NULL when absent */
	struct vf_pos network_config_pos;
};

struct vf_vm {
	const char *name;
	struct vf_pos pos;
	const char *cluster;
	struct vf_cluster *cluster_ref;
	const char *host;                /* pin; NULL = scheduler places it */
	struct vf_host *host_ref;
	unsigned cpus;
	unsigned max_cpus;               /* 0 = not given (see desired.c) */
	uint64_t memory;                 /* bytes, a whole number of KiB */
	uint64_t max_memory;             /* 0 = not given */
	bool restart_allowed;            /* restart_policy: allow */
	enum vf_vm_state state;
	bool autostart;
	enum vf_firmware firmware;
	enum vf_graphics_type graphics;
	const char *graphics_listen;     /* "127.0.0.1" unless the config says */
	int graphics_port;               /* -1 = auto */
	struct vf_secret_ref graphics_password; /* .sealed NULL when absent */
	struct vf_disk *disks;
	size_t n_disks;
	struct vf_nic *nics;
	size_t n_nics;
	bool ha_enabled;
	enum vf_ha_priority ha_priority;
	bool protect;
	unsigned shutdown_timeout;       /* seconds */
	const char *description;         /* NULL when absent */
	struct vf_label *labels;
	size_t n_labels;
	struct vf_cloud_init cloud_init; /* .given false when absent */
};

/*
 * affinity_groups[] (docs/scheduling.md): VM-to-VM rules over vms and
 * VM-to-host rules over hosts, each enforcing (a filter) or soft (a
 * weight).  host_rule is VF_AFFINITY_NONE exactly when hosts is empty.
 */
struct vf_affinity_group {
	const char *name;
	struct vf_pos pos;
	const char **vms;
	size_t n_vms;
	struct vf_vm **vm_refs;
	enum vf_affinity_rule vm_rule;   /* NONE when absent */
	bool enforcing;                  /* default true */
	const char **hosts;
	size_t n_hosts;
	struct vf_host **host_refs;
	enum vf_affinity_rule host_rule;
};

/* One loaded configuration: a file or the merge of a directory's files. */
struct vf_config {
	struct vf_arena arena;
	const char *source;              /* the path given by the user; from git:
					  * "REPO@SHA" (and ":PATH" with --path) */
	const char **files;              /* files loaded, sorted (from git:
					  * "<short-sha>:<path>") */
	size_t n_files, alloc_files;
	const char *git_repo;            /* read from git (vf_config_load_files and
					  * the caller): the repository, the commit's
					  * full sha, --path ("" the root), the cache
					  * directory; all NULL when read from disk */
	const char *git_commit, *git_path, *git_cache;
	unsigned version;
	const char *project;             /* identity of the objects this config
					  * manages: 'project:' or, by default, the
					  * cluster names joined with '+' */

	struct vf_cluster *clusters; size_t n_clusters, alloc_clusters;
	struct vf_host *hosts;       size_t n_hosts, alloc_hosts;
	struct vf_network *networks; size_t n_networks, alloc_networks;
	struct vf_storage *storages; size_t n_storages, alloc_storages;
	struct vf_image *images;     size_t n_images, alloc_images;
	struct vf_vm *vms;           size_t n_vms, alloc_vms;
	struct vf_affinity_group *affinity_groups;
	size_t n_affinity_groups, alloc_affinity_groups;
};

/*
 * Load CONFIG (a YAML file, or a directory whose *.yaml / *.yml files are
 * merged) and check it completely.  Every problem found is appended to
 * diags.  Returns the config when diags->n_errors == 0 afterwards, else
 * NULL (and the partial config is freed).
 */
struct vf_config *vf_config_load(const char *path, struct vf_diags *diags);

/* A configuration file held in memory (read from a git commit). */
struct vf_config_file {
	const char *name;                /* label for positions: "1a2b3c4:vms.yaml" */
	const char *data;                /* len bytes (a NUL after them is not needed) */
	size_t len;
};

/*
 * vf_config_load() for files already in memory, in the order given (sort
 * them as a directory's are: by name, strcmp), with the same checks; source
 * becomes config->source.  The files have no directory on disk, so an
 * image's file must be an absolute path under VIRTFORM_IMAGE_PATH (never
 * relative to the current directory, which is / for a service).
 */
struct vf_config *vf_config_load_files(const char *source, const struct vf_config_file *files,
				       size_t n, struct vf_diags *diags);
void vf_config_free(struct vf_config *config);

/* Is cluster cl in a scope list (a network's or storage domain's
 * clusters)?  An empty list means every cluster. */
bool vf_cluster_in_scope(struct vf_cluster *const *scope, size_t n, const struct vf_cluster *cl);

/* Lookups by name; NULL when absent.  O(n). */
struct vf_cluster *vf_config_find_cluster(const struct vf_config *c, const char *name);
struct vf_host *vf_config_find_host(const struct vf_config *c, const char *name);
struct vf_network *vf_config_find_network(const struct vf_config *c, const char *name);
struct vf_storage *vf_config_find_storage(const struct vf_config *c, const char *name);
struct vf_image *vf_config_find_image(const struct vf_config *c, const char *name);
struct vf_vm *vf_config_find_vm(const struct vf_config *c, const char *name);

/* Enum <-> YAML spelling. */
const char *vf_net_mode_name(enum vf_net_mode m);
const char *vf_storage_type_name(enum vf_storage_type t);
const char *vf_iface_type_name(enum vf_iface_type t);
const char *vf_vm_state_name(enum vf_vm_state s);
const char *vf_firmware_name(enum vf_firmware f);
const char *vf_graphics_type_name(enum vf_graphics_type g);
const char *vf_ha_priority_name(enum vf_ha_priority p);
const char *vf_scheduling_name(enum vf_scheduling s);
const char *vf_image_format_name(enum vf_image_format f);

/* Values (units.c / names.c), usable on their own. */

/* Is name a valid object name ([A-Za-z0-9][A-Za-z0-9_.-]{0,62})? */
bool vf_name_valid(const char *name);

/*
 * The largest sizes a configuration may give, well inside what libvirt
 * and QEMU accept (libvirt takes memory up to 2^63 bytes; a qcow2 image
 * with 64 KiB clusters holds at most 2 PiB), and small enough that sums
 * over thousands of VMs fit in 64 bits:
 *   memory, max_memory   64 TiB (more than any x86 host has)
 *   a disk's size         1 PiB
 */
#define VF_MEMORY_MAX    (64ull << 40)
#define VF_DISK_SIZE_MAX (1ull << 50)

enum vf_size_status {
	VF_SIZE_OK,
	VF_SIZE_EMPTY,
	VF_SIZE_SYNTAX,       /* not NUMBER UNIT */
	VF_SIZE_NO_UNIT,      /* bare number: hint "NUMBERGiB"? */
	VF_SIZE_BAD_UNIT,     /* "2G", "2GB", "2gib": hint with the binary unit */
	VF_SIZE_OVERFLOW,     /* does not fit in 64 bits of bytes */
	VF_SIZE_ZERO,
	VF_SIZE_NEGATIVE,
	VF_SIZE_FRACTION,     /* "1.5GiB": hint with a smaller unit when exact */
};

/*
 * Parse a size with a binary unit: "512MiB", "2 GiB", "1TiB".  Accepted
 * units: KiB MiB GiB TiB (and B for bytes).  When a correction can be
 * suggested (VF_SIZE_NO_UNIT, VF_SIZE_BAD_UNIT, VF_SIZE_FRACTION), *hint
 * (if hint is not NULL) receives it, such as "2GiB" (caller frees); else
 * *hint is set to NULL.
 */
enum vf_size_status vf_size_parse(const char *text, uint64_t *bytes, char **hint);

/* Format bytes as the largest exact binary unit: "2 GiB", "1536 MiB". */
void vf_size_format(uint64_t bytes, char *buf, size_t len);

/* Parse "52:54:00:12:34:56" (case-insensitive).  False on bad syntax. */
bool vf_mac_parse(const char *text, uint8_t mac[6]);

/* Parse dotted IPv4 "a.b.c.d" (strict), optionally with "/prefix". */
bool vf_ipv4_parse(const char *text, uint32_t *addr, unsigned *prefix, bool want_prefix);

/* Dotted IPv4 of addr (host order) into buf[16]; returns buf. */
char *vf_ipv4_format(uint32_t addr, char buf[16]);

/* Default bridge name for a network: "br-NAME", or a hashed form when
 * that exceeds 15 bytes.  Result allocated in arena. */
const char *vf_network_bridge_name(struct vf_arena *arena, const char *network_name);

#endif
