/*
 * cloudinit.h — the NoCloud seed a VM with vms[].cloud_init reads at first
 * boot (docs/cloud-init.md): its content (meta-data, user-data,
 * network-config), the ISO 9660 image holding it (volume id "cidata",
 * Joliet + Rock Ridge, built in memory with libisofs: never a file), and
 * the hash the planner compares instead of the content.
 *
 * The seed is a volume "VM-cidata.iso" in the storage pool of the VM's
 * first disk, attached read-only as a SATA CD-ROM (the domain is q35).
 * The desired state carries a struct vf_seed on that volume and on the VM;
 * the provider calls vf_seed_build() when it writes the volume (create, or
 * an update of the VM's cloud_init field), so sealed values are opened
 * only then, on the apply thread, and wiped when the upload is done.
 *
 * The hash ("cloud_init" field; the VM marker's cloud-init attribute):
 *
 *     PLAIN            no sealed values
 *     PLAIN+SEALED     with sealed values
 *     PLAIN+unopened   sealed values and no key to open them (plan only)
 *
 * PLAIN: 16 hex digits of BLAKE2b over the non-secret parts (hostname,
 * users without passwords, plain user-data, network-config); SEALED: 16
 * hex digits of BLAKE2b over the keyed hashes (vf_secret_hash) of the
 * opened sealed values.  Neither lets anyone learn or test a secret.
 *
 * The secret key of a run is set once (vf_cloudinit_set_key) before the
 * desired state is built and not changed while threads run: threads only
 * read it.
 */
#ifndef VF_CLOUDINIT_H
#define VF_CLOUDINIT_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/diag.h"
#include "reconcile/model.h"
#include "reconcile/secret.h"

#define VF_SEED_SUFFIX "-cidata.iso"
#define VF_SEED_TARGET "sda"             /* SATA CD-ROM on q35 */
#define VF_SEED_HASH_MAX 40              /* "PLAIN+SEALED" + NUL, with room */

/* What the provider needs to write one VM's seed volume (desired only;
 * everything borrowed from the config and the desired state). */
struct vf_seed {
	const struct vf_vm *vm;          /* name, cloud_init */
	const char *pool;                /* the libvirt pool (first disk's) */
	const char *volume;              /* "VM-cidata.iso" */
	const char *hash;                /* the field text, see above */
};

/*
 * The run's secret key (may be NULL) and whether apply will write seeds
 * (required: a missing key is an error, not a warning).  The key stays the
 * caller's and must outlive the run.
 */
void vf_cloudinit_set_key(const struct vf_secret_key *key, bool required);
const struct vf_secret_key *vf_cloudinit_key(void);
bool vf_cloudinit_key_required(void);

/* Does the config hold a sealed value — a VM's cloud_init, a storage
 * domain's CHAP secret — so that a key is needed? */
bool vf_config_has_sealed(const struct vf_config *c);
bool vf_cloud_init_has_sealed(const struct vf_cloud_init *ci);

/*
 * The hash of vm's cloud_init into out[VF_SEED_HASH_MAX].  key NULL and
 * sealed values present: the sealed part is "unopened".  Returns 0, or -1
 * with a diagnostic at the sealed value's FILE:LINE:COL when one does not
 * open with key.
 */
int vf_cloudinit_hash(const struct vf_vm *vm, const struct vf_secret_key *key,
		      char out[VF_SEED_HASH_MAX], struct vf_diags *d);

/* The three files of a seed.  Each is sodium_malloc'd (locked, wiped on
 * release); network_config.data is NULL when the config has none. */
struct vf_cloudinit_files {
	struct vf_secret meta_data;
	struct vf_secret user_data;
	struct vf_secret network_config;
};

/*
 * The seed's files for vm: sealed values opened with key (NULL: an error
 * at the first sealed value, "no secret key"), passwords hashed with
 * crypt(3) SHA-512 ("$6$", 16 random salt characters); the clear password
 * is wiped before this returns.  instance-id: "iid-VM-" + 16 hex digits of
 * the hash, so changed data is a new instance.  0, or -1 with diagnostics.
 */
int vf_cloudinit_files_build(const struct vf_vm *vm, const struct vf_secret_key *key,
			     struct vf_cloudinit_files *out, struct vf_diags *d);
void vf_cloudinit_files_release(struct vf_cloudinit_files *f);

/*
 * The ISO 9660 image (volume id "cidata", Joliet, Rock Ridge) holding
 * meta-data, user-data and (when present) network-config, built in memory
 * into *iso (sodium_malloc'd: wipe with vf_secret_wipe).  0, or -1 with
 * *error (malloc'd).  libisofs copies file data through its own write
 * buffer (ordinary heap, freed unwiped); the file copies handed to it are
 * locked and wiped.
 */
int vf_cloudinit_iso(const struct vf_cloudinit_files *f, struct vf_secret *iso, char **error);

/* files + ISO for a seed, with the run's key; error rendered as one line
 * (malloc'd).  What the provider calls. */
int vf_seed_build(const struct vf_seed *seed, struct vf_secret *iso, char **error);

#endif
