/*
 * load-internal.h — what the loader's files (load.c, load-values.c,
 * load-host.c, load-network.c, load-storage.c, load-vm.c,
 * load-cloudinit.c, load-affinity.c, load-refs.c) share, and nothing else includes: the
 * loader's state, the object kinds and the references noted in pass 2.
 * The public interface is vf_config_load() in model.h.
 */
#ifndef VF_LOAD_INTERNAL_H
#define VF_LOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/model.h"
#include "reconcile/yaml.h"

enum kind {
	KIND_CLUSTER,
	KIND_HOST,
	KIND_NETWORK,
	KIND_STORAGE,
	KIND_IMAGE,
	KIND_VM,
	KIND_AFFINITY_GROUP,
	KIND_COUNT,
};

/*
 * A reference met in pass 2, resolved in pass 3 (its target may be defined
 * later, in another file).  Top-level arrays still grow during pass 2, so a
 * reference names its owner by index; disks and nics live in the arena and
 * do not move.
 */
enum ref_role {
	REF_HOST_CLUSTER,
	REF_NETWORK_CLUSTER,     /* sub: index in clusters[] */
	REF_STORAGE_CLUSTER,     /* sub: index in clusters[] */
	REF_IMAGE_STORAGE,
	REF_VM_CLUSTER,
	REF_VM_HOST,
	REF_DISK_STORAGE,        /* sub: disk index */
	REF_DISK_IMAGE,          /* sub: disk index */
	REF_NIC_NETWORK,         /* sub: nic index */
	REF_MIGRATION_NETWORK,   /* owner: the cluster */
	REF_GROUP_VM,            /* sub: index in vms[] */
	REF_GROUP_HOST,          /* sub: index in hosts[] */
};

struct ref {
	enum ref_role role;
	size_t owner, sub;
	const char *name;
	struct vf_pos pos;       /* of the referencing value */
	const char *ctx;
};

/*
 * The loader's state across files: the config being filled (its arena
 * owns every string), the diagnostics, the names defined so far per kind
 * and the references pass 3 resolves.
 */
struct loader {
	struct vf_config *c;
	struct vf_diags *d;
	const char *file;              /* current file, in the arena */
	const char *dir;               /* its directory, for relative paths */
	bool saw_version;
	bool unreadable;               /* a file could not be read or parsed */
	struct vf_pos project_pos;     /* where 'project:' was set */
	struct vf_strmap defined[KIND_COUNT];  /* name -> struct vf_pos * */
	struct ref *refs;
	size_t n_refs, alloc_refs;
};

extern const char *const vf_load_kind_names[KIND_COUNT];

#define ERR(L, pos, hint, ...) vf_error_at((L)->d, (pos), (hint), __VA_ARGS__)

/* Typed getters and pass-2 bookkeeping (load-values.c).  Each reports its
 * own errors at the value and returns NULL / false / def / -1 after one;
 * ctx is the "kind 'name'" prefix of every message. */
char *vf_load_ctx_join(struct loader *L, const char *prefix, const char *kind, const char *name,
		       size_t index);
char *vf_load_ctx_name(struct loader *L, const char *kind, const char *name, size_t index);
void vf_load_check_keys(struct loader *L, const struct vf_node *map, const char *ctx,
			const char *const *keys, size_t n);
bool vf_load_want_map(struct loader *L, const struct vf_node *n, const char *what);
bool vf_load_want_seq(struct loader *L, const struct vf_node *n, const char *what);
const char *vf_load_get_str(struct loader *L, const struct vf_node *map, const char *key,
			    bool required, const char *ctx);
const char *vf_load_get_name(struct loader *L, const struct vf_node *map, const char *key,
			     bool required, const char *ctx);
bool vf_load_get_bool(struct loader *L, const struct vf_node *map, const char *key,
		      bool def, const char *ctx);
unsigned long long vf_load_get_uint(struct loader *L, const struct vf_node *map, const char *key,
				    bool required, unsigned long long min, unsigned long long max,
				    unsigned long long def, const char *ctx, bool *ok);
uint64_t vf_load_get_size(struct loader *L, const struct vf_node *map, const char *key,
			  bool required, uint64_t max, const char *ctx);
int vf_load_get_enum(struct loader *L, const struct vf_node *map, const char *key, bool required,
		     const char *const *names, size_t n, int def, const char *ctx);
const char *vf_load_get_ifname(struct loader *L, const struct vf_node *map, const char *key,
			       bool required, const char *ctx);
const char *vf_load_get_abspath(struct loader *L, const struct vf_node *map, const char *key,
				bool required, const char *ctx);
void vf_load_forbid(struct loader *L, const struct vf_node *map, const char *key, const char *ctx,
		    const char *only);
const char **vf_load_get_list(struct loader *L, const struct vf_node *map, const char *key,
			      bool ifnames, size_t *n_out, const struct vf_pos **pos_out,
			      const char *ctx);
struct vf_label *vf_load_get_labels(struct loader *L, const struct vf_node *map, const char *key,
				    size_t *n_out, const char *ctx, bool check_key_syntax);
bool vf_load_define(struct loader *L, enum kind k, const char *name, const struct vf_pos *pos);
const struct vf_pos *vf_load_pos_of(const struct vf_node *map, const char *key);
void vf_load_add_ref(struct loader *L, enum ref_role role, size_t owner, size_t sub,
		     const char *name, const struct vf_pos *pos, const char *ctx);
/* A list of references of role from owner (item i is sub i): the names
 * in *names_out (*n_out of them); returns room for what pass 3 resolves
 * them to (an array of pointers, in the arena). */
void *vf_load_get_refs(struct loader *L, const struct vf_node *map, const char *key,
		       enum ref_role role, size_t owner, const char ***names_out, size_t *n_out,
		       const char *ctx);
/* A percentage in [min, max]: "150%", or with ratio a plain number such
 * as 1.5 (150%).  def when absent or after an error. */
unsigned vf_load_get_percent(struct loader *L, const struct vf_node *map, const char *key,
			     bool ratio, unsigned min, unsigned max, unsigned def, const char *ctx);
/* The mapping under key, its keys checked; *sub_ctx "CTX: KEY" (arena).
 * NULL when absent or not a mapping (reported). */
const struct vf_node *vf_load_sub_map(struct loader *L, const struct vf_node *map,
				      const char *key, const char *const *keys, size_t n,
				      const char *ctx, const char **sub_ctx);
/* clusters: the clusters a network or storage domain is scoped to (NULL,
 * *n_out 0: every one), each name a reference of role from owner; *refs
 * gets room for what pass 3 resolves them to. */
const char **vf_load_get_scope(struct loader *L, const struct vf_node *map, enum ref_role role,
			       size_t owner, size_t *n_out, struct vf_cluster ***refs,
			       const char *ctx);
enum vf_image_format vf_load_get_format(struct loader *L, const struct vf_node *map,
					const char *ctx);
bool vf_load_get_sealed(struct loader *L, const struct vf_node *v, const char *key,
			const char *ctx, struct vf_secret_ref *out);
/* The same where only a sealed value may stand: anything else is the
 * error "CTX: WHY" at v, with hint. */
bool vf_load_sealed_only(struct loader *L, const struct vf_node *v, const char *key,
			 const char *ctx, struct vf_secret_ref *out, const char *hint,
			 const char *why);

/*
 * A list of named sub-objects (a host's interfaces, a VM's disks,
 * cloud_init users): every item a mapping, loaded by load into its slot
 * (size bytes) and kept when load gives it a name not met before in the
 * list; a repeated name is an error at the item ("KIND 'NAME' is defined
 * twice").  Returns the items (arena, room for every node), *n_out the
 * number kept; nodes_out, when not NULL, gets each kept item's node
 * (malloc'd, the caller frees it).
 */
struct vf_load_list {
	const char *key;        /* "disks" */
	const char *what;       /* "a disk", for an item that is not a mapping */
	const char *kind;       /* "disk", for a repeated name */
	const char *hint;       /* for a repeated name */
	size_t size;            /* of one item */
	const char *(*load)(struct loader *L, const struct vf_node *n, void *slot,
			    const char *ctx, size_t idx);
};
void *vf_load_named_list(struct loader *L, const struct vf_node *map,
			 const struct vf_load_list *list, const char *ctx, size_t *n_out,
			 const struct vf_node ***nodes_out);

/*
 * A kind of top-level object (clusters[], hosts[], ...).  Every object
 * starts alike, in load.c: the item must be a mapping; it takes a new
 * zeroed slot at the end of its array in the config (kept even when
 * invalid: references name their owner by index); its required name and
 * its keys are checked.  Then load fills in the rest, and the name is
 * defined (a name defined twice is an error).  Each of load-host.c,
 * load-network.c, load-storage.c, load-vm.c and load-affinity.c exports
 * its kinds.
 */
struct vf_load_kind {
	enum kind kind;            /* its name in messages: vf_load_kind_names[kind] */
	const char *what;          /* "a host", for an item that is not a mapping */
	const char *const *keys;   /* every key it knows, "name" first */
	size_t n_keys;
	/* Where its objects go (VF_LOAD_KIND_SLOT): an object's size, the
	 * offsets in struct vf_config of their array, its count and its
	 * capacity, and those in the object of its name and pos. */
	size_t size, array, count, alloc, name, pos;
	/* The rest of object obj from node n; index: its place in the array
	 * (the owner of its references); ctx: "KIND 'NAME'" (or "KIND #N"),
	 * what its messages start with. */
	void (*load)(struct loader *L, const struct vf_node *n, void *obj, size_t index,
		     const char *ctx);
};
/* The slot fields of a struct vf_load_kind: objects of type in array arr
 * of struct vf_config (with n_arr and alloc_arr beside it). */
#define VF_LOAD_KIND_SLOT(type, arr)                                                       \
	sizeof(type), offsetof(struct vf_config, arr), offsetof(struct vf_config, n_##arr), \
	offsetof(struct vf_config, alloc_##arr), offsetof(type, name), offsetof(type, pos)

extern const struct vf_load_kind vf_load_cluster_kind, vf_load_host_kind;  /* load-host.c */
extern const struct vf_load_kind vf_load_network_kind;                     /* load-network.c */
extern const struct vf_load_kind vf_load_storage_kind, vf_load_image_kind; /* load-storage.c */
extern const struct vf_load_kind vf_load_vm_kind;                          /* load-vm.c */
extern const struct vf_load_kind vf_load_affinity_kind;                    /* load-affinity.c */

/* A VM's cloud_init: (load-cloudinit.c) */
void vf_load_cloud_init(struct loader *L, const struct vf_node *vmnode, struct vf_vm *vm,
			const char *vm_ctx);

/* Pass 3: resolve every reference, check the cross-object rules
 * (load-refs.c) */
void vf_load_resolve_all(struct loader *L);

#endif
