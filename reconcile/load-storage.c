/*
 * load-storage.c — storage_domains[] (the pools: dir, nfs, logical, iscsi,
 * with CHAP and initiator names) and images[] (the volumes virtform
 * downloads into them) into the model.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconcile/load-internal.h"
#include "reconcile/transport.h"

/* storage_domains[].chap (iscsi, iscsi-direct): {username, secret: {sealed: ...}}. */
static void load_chap(struct loader *L, const struct vf_node *n, struct vf_storage *st,
		      const char *ctx)
{
	static const char *const keys[] = { "username", "secret" };
	const struct vf_node *v;
	const char *user;
	char *c;

	if (n->kind != VF_NODE_MAP) {
		ERR(L, &n->pos, "write chap: {username: NAME, secret: {sealed: \"...\"}}",
		    "%s: chap must be a mapping", ctx);
		return;
	}
	st->chap_pos = n->pos;
	c = xasprintf("%s: chap", ctx);
	vf_load_check_keys(L, n, c, keys, VF_ARRAY_SIZE(keys));
	user = vf_load_get_str(L, n, "username", true, c);
	if (user && strpbrk(user, "\r\n")) {
		ERR(L, &vf_map_get(n, "username")->pos, NULL, "%s: username spans several lines", c);
		user = NULL;
	}
	st->chap_username = user;
	v = vf_map_get(n, "secret");
	if (!v)
		ERR(L, &n->pos, "add secret: {sealed: \"...\"} with what 'virtform seal' prints",
		    "%s: secret is required", c);
	else
		vf_load_sealed_only(L, v, "secret", c, &st->chap_secret,
				    "write secret: {sealed: \"...\"} with what it prints, and change the "
				    "secret on the target: a clear one committed to git stays in its history",
				    "CHAP secrets must be sealed: virtform seal --public-key virtform.pub "
				    "reads the secret on stdin");
	free(c);
}

#define IQN_EXAMPLE "iqn.2026-11.org.example:host1"

/*
 * storage_domains[].initiator: an iSCSI qualified name, "iqn." and then
 * no white space and no control characters.  Kept that loose on purpose:
 * the date and naming authority are the target's business (its ACLs say
 * which names it accepts), but a value that cannot be an IQN at all is a
 * typo better caught here than as a login failure on every host.  An
 * iscsi-direct pool needs one (libvirt refuses its XML without), an iscsi
 * pool may have one.
 */
static const char *get_initiator(struct loader *L, const struct vf_node *map, bool required,
				 const char *ctx)
{
	const char *s, *p;

	if (required && !vf_map_pair(map, "initiator")) {
		ERR(L, &map->pos, "add initiator: " IQN_EXAMPLE ", the name this host logs in to "
		    "the target with (libvirt's iscsi-direct pool has no default)",
		    "%s: missing required key 'initiator'", ctx);
		return NULL;
	}
	s = vf_load_get_str(L, map, "initiator", false, ctx);
	if (!s)
		return NULL;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			ERR(L, &vf_map_get(map, "initiator")->pos,
			    "an IQN is one word, e.g. " IQN_EXAMPLE,
			    "%s: initiator contains white space or a control character", ctx);
			return NULL;
		}
	if (strncmp(s, "iqn.", 4) || !s[4]) {
		ERR(L, &vf_map_get(map, "initiator")->pos,
		    "write an iSCSI qualified name: 'iqn.', the year and month, the reversed "
		    "domain, then ':' and a name, e.g. " IQN_EXAMPLE,
		    "%s: initiator '%s' is not an IQN", ctx, s);
		return NULL;
	}
	return s;
}

/* The keys of the storage domain's type (and none of the others'). */
static void load_storage_keys(struct loader *L, const struct vf_node *n, struct vf_storage *st,
			      const char *ctx)
{
	bool dir = st->type == VF_STORAGE_DIR, nfs = st->type == VF_STORAGE_NFS;

	if (dir || nfs)
		st->path = vf_load_get_abspath(L, n, "path", true, ctx);
	else
		vf_load_forbid(L, n, "path", ctx, "type: dir and type: nfs");
	if (nfs) {
		st->server = vf_load_get_str(L, n, "server", true, ctx);
		st->export_path = vf_load_get_abspath(L, n, "export", true, ctx);
	} else {
		vf_load_forbid(L, n, "server", ctx, "type: nfs");
		vf_load_forbid(L, n, "export", ctx, "type: nfs");
	}
	if (st->type == VF_STORAGE_LOGICAL)
		st->vg = vf_load_get_name(L, n, "vg", true, ctx);
	else
		vf_load_forbid(L, n, "vg", ctx, "type: logical");
	/* iscsi-direct logs in to the same portal and target, with the
	 * same CHAP, from libvirtd instead of the host's initiator */
	if (st->type == VF_STORAGE_ISCSI || st->type == VF_STORAGE_ISCSI_DIRECT) {
		st->portal = vf_load_get_str(L, n, "portal", true, ctx);
		st->target = vf_load_get_str(L, n, "target", true, ctx);
		st->initiator = get_initiator(L, n, st->type == VF_STORAGE_ISCSI_DIRECT, ctx);
		if (vf_map_get(n, "chap"))
			load_chap(L, vf_map_get(n, "chap"), st, ctx);
	} else {
		vf_load_forbid(L, n, "portal", ctx, "type: iscsi and type: iscsi-direct");
		vf_load_forbid(L, n, "target", ctx, "type: iscsi and type: iscsi-direct");
		vf_load_forbid(L, n, "initiator", ctx, "type: iscsi and type: iscsi-direct");
		vf_load_forbid(L, n, "chap", ctx, "type: iscsi and type: iscsi-direct");
	}
}

static void load_storage(struct loader *L, const struct vf_node *n, void *obj, size_t index,
			 const char *ctx)
{
	/* in enum vf_storage_type's order */
	static const char *const types[] = { "dir", "nfs", "logical", "iscsi", "iscsi-direct" };
	struct vf_storage *st = obj;
	int e;

	e = vf_load_get_enum(L, n, "type", true, types, VF_ARRAY_SIZE(types), 0, ctx);
	st->type = e < 0 ? VF_STORAGE_DIR : (enum vf_storage_type)e;
	st->clusters = vf_load_get_scope(L, n, REF_STORAGE_CLUSTER, index, &st->n_clusters,
					 &st->cluster_refs, ctx);
	if (e >= 0)
		load_storage_keys(L, n, st, ctx);
}

static const char *const storage_keys[] = { "name", "type", "path", "server", "export", "vg",
					    "portal", "target", "initiator", "chap", "clusters" };

const struct vf_load_kind vf_load_storage_kind = {
	KIND_STORAGE, "a storage domain", storage_keys, VF_ARRAY_SIZE(storage_keys),
	VF_LOAD_KIND_SLOT(struct vf_storage, storages), load_storage,
};

static void load_image(struct loader *L, const struct vf_node *n, void *obj, size_t index,
		       const char *ctx)
{
	struct vf_image *im = obj;

	im->file = vf_load_get_str(L, n, "file", true, ctx);
	if (im->file) {
		char *p = im->file[0] == '/' || !L->dir ? xstrdup(im->file)
						       : xasprintf("%s/%s", L->dir, im->file);
		char *why = NULL, *real = NULL, *root = vf_image_root(im->file, L->dir, &why);
		if (!root) {
			ERR(L, &vf_map_get(n, "file")->pos,
			    L->dir ? "keep the image beside the configuration (a relative path), or "
				     "have the operator allow its directory with VIRTFORM_IMAGE_PATH=DIR "
				     "in the environment of the machine that runs virtform"
				   : "name the image by its absolute path in a directory the operator "
				     "allows with VIRTFORM_IMAGE_PATH=DIR in the environment of the "
				     "machine that runs virtform",
			    "%s: file %s", ctx, why);
		} else if (access(p, F_OK) == 0 && vf_image_open_check(p, root, &real, &why) < 0) {
			ERR(L, &vf_map_get(n, "file")->pos,
			    "replace the link with the file, or have the operator allow the target's "
			    "directory with VIRTFORM_IMAGE_PATH=DIR", "%s: %s", ctx, why);
		} else {
			im->file_path = vf_arena_strdup(&L->c->arena, p);
			im->file_root = vf_arena_strdup(&L->c->arena, root);
		}
		free(why);
		free(real);
		free(root);
		free(p);
	}
	im->storage = vf_load_get_name(L, n, "storage", true, ctx);
	vf_load_add_ref(L, REF_IMAGE_STORAGE, index, 0, im->storage, vf_load_pos_of(n, "storage"),
			ctx);
	im->format = vf_load_get_format(L, n, ctx);
}

static const char *const image_keys[] = { "name", "file", "storage", "format" };

const struct vf_load_kind vf_load_image_kind = {
	KIND_IMAGE, "an image", image_keys, VF_ARRAY_SIZE(image_keys),
	VF_LOAD_KIND_SLOT(struct vf_image, images), load_image,
};
