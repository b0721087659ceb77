/*
 * load.c — from YAML files to a checked struct vf_config: the entry points
 * and the file layer.
 *
 * Three passes:
 *   1. read each file (a CONFIG file, or every *.yaml / *.yml in a CONFIG
 *      directory, sorted) and parse it into a node tree (yaml.c, which also
 *      does the YAML merge keys and anchors);
 *   2. type every node into the model (load_document here starts every
 *      object alike, load_object, and hands the rest to its kind's loader:
 *      load-host.c, load-network.c, load-storage.c, load-vm.c,
 *      load-cloudinit.c, load-affinity.c; the value checks they share are in load-values.c),
 *      reporting unknown keys, bad values and names defined twice (also
 *      across files);
 *   3. resolve references and check the rules that span objects
 *      (load-refs.c).
 * Every problem is reported, not just the first: passes go on after errors
 * and only the final count decides.  The loader's state (struct loader) is
 * in load-internal.h.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/hostnet.h"
#include "reconcile/load-internal.h"
#include "reconcile/readall.h"
#include "reconcile/yaml.h"

/*
 * One top-level object of kind k from node n, item idx of its list: the
 * start and the end every kind shares (struct vf_load_kind), around its
 * own k->load.
 */
static void load_object(struct loader *L, const struct vf_load_kind *k, const struct vf_node *n,
			size_t idx)
{
	char *config = (char *)L->c, *obj;
	size_t *count = (size_t *)(config + k->count), index = *count;
	const char *kind = vf_load_kind_names[k->kind], *ctx, **name;
	struct vf_pos *pos;

	if (!vf_load_want_map(L, n, k->what))
		return;
	/* kept even when invalid: references name their owner by index */
	obj = vf_append((void **)(config + k->array), k->size, count, (size_t *)(config + k->alloc));
	name = (const char **)(obj + k->name);
	pos = (struct vf_pos *)(obj + k->pos);
	*pos = n->pos;
	*name = vf_load_get_name(L, n, "name", true, vf_load_ctx_name(L, kind, NULL, idx));
	ctx = vf_load_ctx_name(L, kind, *name, idx);
	vf_load_check_keys(L, n, ctx, k->keys, k->n_keys);
	k->load(L, n, obj, index, ctx);
	if (*name)
		vf_load_define(L, k->kind, *name, pos);
}

static void load_document(struct loader *L, const struct vf_node *root)
{
	static const char *const keys[] = { "version", "project", "clusters", "hosts", "networks",
					    "storage_domains", "images", "vms", "affinity_groups" };
	static const struct vf_load_kind *const kinds[] = {
		NULL, NULL, &vf_load_cluster_kind, &vf_load_host_kind, &vf_load_network_kind,
		&vf_load_storage_kind, &vf_load_image_kind, &vf_load_vm_kind,
		&vf_load_affinity_kind,
	};
	size_t i, k;

	if (root->kind != VF_NODE_MAP) {
		ERR(L, &root->pos, "start with 'version: 1' and lists such as 'hosts:' and 'vms:'",
		    "the top level must be a mapping, not %s", vf_node_describe(root));
		return;
	}
	vf_load_check_keys(L, root, NULL, keys, VF_ARRAY_SIZE(keys));
	if (vf_map_pair(root, "version")) {
		bool ok;
		unsigned long long v =
			vf_load_get_uint(L, root, "version", false, 0, ~0u, 0, "configuration", &ok);
		L->saw_version = true;
		if (ok && v != VF_CONFIG_VERSION)
			ERR(L, &vf_map_get(root, "version")->pos, "write 'version: 1'",
			    "unsupported configuration version %llu; this virtform reads version %d",
			    v, VF_CONFIG_VERSION);
		else if (ok)
			L->c->version = (unsigned)v;
	}
	if (vf_map_pair(root, "project")) {
		const char *p = vf_load_get_name(L, root, "project", false, "configuration");
		const struct vf_pos *pos = &vf_map_get(root, "project")->pos;
		if (p && L->c->project && strcmp(p, L->c->project))
			ERR(L, pos, "give 'project:' once, or the same value in every file",
			    "project '%s' differs from project '%s' at %s:%u:%u", p, L->c->project,
			    L->project_pos.file, L->project_pos.line, L->project_pos.col);
		else if (p && !L->c->project) {
			L->c->project = vf_arena_strdup(&L->c->arena, p);
			L->project_pos = *pos;
		}
	}
	for (k = 2; k < VF_ARRAY_SIZE(keys); k++) {
		const struct vf_node *list = vf_map_get(root, keys[k]);
		if (!list || vf_node_is_null(list))
			continue;    /* "vms:" with nothing yet is fine */
		if (!vf_load_want_seq(L, list, keys[k]))
			continue;
		for (i = 0; i < list->n; i++)
			load_object(L, kinds[k], list->u.items[i], i);
	}
}

/* Read a whole file (at most VF_CONFIG_FILE_MAX bytes). */
static char *read_file(struct loader *L, const char *path, size_t *len)
{
	struct vf_pos pos = { L->file, 1, 1 };   /* file-level problems: the top */
	struct stat st;
	char *buf = NULL;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ERR(L, &pos, NULL, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		ERR(L, &pos, NULL, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ERR(L, &pos, NULL, "not a regular file");
		goto fail;
	}
	if ((unsigned long long)st.st_size > VF_CONFIG_FILE_MAX) {
		ERR(L, &pos, "split the configuration into several files in one directory",
		    "file is larger than %u MiB", VF_CONFIG_FILE_MAX >> 20);
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	switch (vf_read_whole(fd, buf, (size_t)st.st_size, len)) {
	case 0:
		close(fd);
		return buf;
	case 1:         /* it grew while we read it */
		ERR(L, &pos, NULL, "file changed while being read");
		break;
	default:
		ERR(L, &pos, NULL, "cannot read: %s", strerror(errno));
	}
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* Parse and type the text of L->file (buf[len] is NUL). */
static void load_text(struct loader *L, const char *buf, size_t len)
{
	struct vf_node *root;
	struct vf_arena tree = VF_ARENA_INIT;
	bool empty;

	/* The model keeps the scalars' texts (config arena), never a node:
	 * the tree goes once the file is read (16 MiB at 10,000 VMs). */
	root = vf_yaml_parse(&tree, &L->c->arena, L->file, buf, len, L->d, &empty);
	if (empty) {
		struct vf_pos pos = { L->file, 1, 1 };
		ERR(L, &pos, "start with 'version: 1'", "the file is empty");
		L->unreadable = true;
	} else if (root) {
		load_document(L, root);
	} else {
		L->unreadable = true;
	}
	vf_arena_release(&tree);
}

static void load_file(struct loader *L, const char *path)
{
	char *buf, *slash;
	size_t len;

	L->file = vf_arena_strdup(&L->c->arena, path);
	slash = strrchr(path, '/');
	L->dir = slash ? vf_arena_strndup(&L->c->arena, path, (size_t)(slash - path)) : ".";
	if (slash == path)
		L->dir = "/";
	VF_GROW(L->c->files, L->c->n_files + 1, L->c->alloc_files);
	L->c->files[L->c->n_files++] = L->file;

	buf = read_file(L, path, &len);
	if (!buf) {
		L->unreadable = true;
		return;
	}
	load_text(L, buf, len);
	free(buf);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_yaml_name(const char *n)
{
	size_t l = strlen(n);
	if (n[0] == '.')
		return false;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

static void load_dir(struct loader *L, const char *path)
{
	struct vf_pos pos = { path, 0, 0 };
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d;

	d = opendir(path);
	if (!d) {
		ERR(L, &pos, NULL, "cannot open directory: %s", strerror(errno));
		L->unreadable = true;
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char *full;
		if (!is_yaml_name(de->d_name))
			continue;
		full = xasprintf("%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", de->d_name);
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(full);
			continue;
		}
		VF_GROW(names, n + 1, alloc);
		names[n++] = full;
	}
	closedir(d);
	if (!n) {
		ERR(L, &pos, "put the configuration in *.yaml or *.yml files, or name a file",
		    "no *.yaml or *.yml files in this directory");
		L->unreadable = true;
		free(names);
		return;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		load_file(L, names[i]);
		free(names[i]);
	}
	free(names);
}

/*
 * Keys this virtform reads and checks but does not carry out yet: the
 * scheduler is not wired into plan and apply (docs/scheduling.md).  Said
 * on every load, so that nobody counts on them to take a host out of
 * service or to keep two VMs apart.  Each warning goes when its key
 * takes effect.
 */
static void warn_not_carried_out(struct loader *L)
{
	const struct vf_config *c = L->c;
	const char *hint = "see docs/scheduling.md for what is carried out";
	size_t i;

	for (i = 0; i < c->n_hosts; i++)
		if (c->hosts[i].maintenance)
			vf_diag_add(L->d, VF_SEVERITY_WARNING, &c->hosts[i].pos, hint,
				    "host '%s': maintenance is not carried out yet: the plan does "
				    "not drain the host and may still place new VMs on it",
				    c->hosts[i].name);
	for (i = 0; i < c->n_affinity_groups; i++)
		vf_diag_add(L->d, VF_SEVERITY_WARNING, &c->affinity_groups[i].pos, hint,
			    "affinity group '%s': validate checks it, but placement does not "
			    "follow it yet", c->affinity_groups[i].name);
	for (i = 0; i < c->n_clusters; i++)
		if (c->clusters[i].rebalance_threshold || c->clusters[i].migration.given)
			vf_diag_add(L->d, VF_SEVERITY_WARNING, &c->clusters[i].pos, hint,
				    "cluster '%s': rebalance and migration settings are not "
				    "carried out yet (VMs are not migrated)", c->clusters[i].name);
}

/* What both entry points do once every file is read: the version, the
 * references, the host links; frees the config on errors. */
static struct vf_config *load_finish(struct loader *Lp, const char *path, size_t errors_before)
{
	struct loader L = *Lp;
	struct vf_config *c = L.c;
	struct vf_diags *diags = L.d;
	size_t i;

	if (diags->n_errors == errors_before && !L.saw_version) {
		struct vf_pos pos = { c->n_files == 1 ? c->files[0] : path, c->n_files == 1 ? 1 : 0, 1 };
		ERR(&L, &pos, "add 'version: 1' at the top", "no 'version' key: the format version is required");
	}
	/* References into a file that did not parse would only add noise. */
	if (!L.unreadable)
		vf_load_resolve_all(&L);
	warn_not_carried_out(&L);
	/*
	 * Each host's links as host networking would make them: two networks
	 * deriving one link differently, a bad bond option, are mistakes in
	 * the configuration, found here without contacting any host.
	 */
	for (i = 0; diags->n_errors == errors_before && i < c->n_hosts; i++) {
		struct vf_host_links links = { .arena = VF_ARENA_INIT };
		vf_hostnet_desired(c, &c->hosts[i], &links, diags);
		vf_host_links_release(&links);
	}
	for (i = 0; i < KIND_COUNT; i++)
		vf_strmap_release(&L.defined[i]);
	free(L.refs);
	if (diags->n_errors != errors_before) {
		vf_config_free(c);
		return NULL;
	}
	return c;
}

struct vf_config *vf_config_load(const char *path, struct vf_diags *diags)
{
	struct vf_config *c = xcalloc(1, sizeof(*c));
	struct loader L = { .c = c, .d = diags };
	size_t errors_before = diags->n_errors;
	struct stat st;

	c->source = vf_arena_strdup(&c->arena, path);
	if (stat(path, &st) < 0) {
		struct vf_pos pos = { path, 0, 0 };
		ERR(&L, &pos, "give a YAML file or a directory of them", "cannot read configuration: %s",
		    strerror(errno));
		L.unreadable = true;
	} else if (S_ISDIR(st.st_mode)) {
		load_dir(&L, path);
	} else {
		load_file(&L, path);
	}
	return load_finish(&L, path, errors_before);
}

struct vf_config *vf_config_load_files(const char *source, const struct vf_config_file *files,
				       size_t n, struct vf_diags *diags)
{
	struct vf_config *c = xcalloc(1, sizeof(*c));
	struct loader L = { .c = c, .d = diags, .dir = NULL };   /* no directory here */
	size_t errors_before = diags->n_errors, i;

	c->source = vf_arena_strdup(&c->arena, source);
	for (i = 0; i < n; i++) {
		char *buf;
		L.file = vf_arena_strdup(&c->arena, files[i].name);
		VF_GROW(c->files, c->n_files + 1, c->alloc_files);
		c->files[c->n_files++] = L.file;
		if (files[i].len > VF_CONFIG_FILE_MAX) {
			struct vf_pos pos = { L.file, 1, 1 };
			ERR(&L, &pos, "split the configuration into several files in one directory",
			    "file is larger than %u MiB", VF_CONFIG_FILE_MAX >> 20);
			L.unreadable = true;
			continue;
		}
		buf = xmalloc(files[i].len + 1);
		memcpy(buf, files[i].data, files[i].len);
		buf[files[i].len] = '\0';
		load_text(&L, buf, files[i].len);
		free(buf);
	}
	if (!n) {
		struct vf_pos pos = { c->source, 0, 0 };
		ERR(&L, &pos, "put the configuration in *.yaml or *.yml files, or name a file",
		    "no *.yaml or *.yml files");
		L.unreadable = true;
	}
	return load_finish(&L, source, errors_before);
}

void vf_config_free(struct vf_config *c)
{
	if (!c)
		return;
	VF_FREE_MANY(c->files, c->clusters, c->hosts, c->networks, c->storages, c->images, c->vms,
		     c->affinity_groups);
	vf_arena_release(&c->arena);
	free(c);
}

#define FIND(fn, type, arr, n)                                              \
	type *fn(const struct vf_config *c, const char *name)               \
	{                                                                   \
		size_t i;                                                   \
		for (i = 0; i < c->n; i++)                                  \
			if (!strcmp(c->arr[i].name, name))                  \
				return &c->arr[i];                          \
		return NULL;                                                \
	}

FIND(vf_config_find_cluster, struct vf_cluster, clusters, n_clusters)
FIND(vf_config_find_host, struct vf_host, hosts, n_hosts)
FIND(vf_config_find_network, struct vf_network, networks, n_networks)
FIND(vf_config_find_storage, struct vf_storage, storages, n_storages)
FIND(vf_config_find_image, struct vf_image, images, n_images)
FIND(vf_config_find_vm, struct vf_vm, vms, n_vms)
