/*
 * xml-pool.c — a storage pool's libvirt XML both ways (xml.h): dir,
 * netfs, logical and iSCSI sources, and the <auth> of iSCSI CHAP with the
 * libvirt secret it names (whose XML is here too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/xml-internal.h"

#define ISCSI_PATH "/dev/disk/by-path"

/*
 * Split an iSCSI portal "host", "host:port" or "[v6]:port" into host and
 * port (NULL when absent); both malloc'd.  -1 on a bad port.
 */
static int split_portal(const char *portal, char **host, char **port)
{
	const char *colon = NULL, *p;

	*host = *port = NULL;
	if (portal[0] == '[' && (p = strchr(portal, ']'))) {
		*host = xstrndup(portal + 1, (size_t)(p - portal - 1));
		if (p[1] == ':')
			colon = p + 1;
		else if (p[1])
			return -1;
	} else {
		colon = strchr(portal, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;   /* a bare IPv6 address, no port */
		*host = colon ? xstrndup(portal, (size_t)(colon - portal)) : xstrdup(portal);
	}
	if (colon) {
		unsigned long v = 0;
		for (p = colon + 1; *p >= '0' && *p <= '9' && v <= 65535; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		if (p == colon + 1 || *p || v == 0 || v > 65535)
			return -1;
		*port = xstrdup(colon + 1);
	}
	return 0;
}

/*
 * The target path of pool (*path; *devpath when made up here, for the
 * caller to free), or the name of what it lacks to be written; NULL when
 * nothing is missing.
 */
static const char *pool_missing(const struct vf_resource *r, const char **path, char **devpath)
{
	const struct vf_pool_spec *pool = &r->u.pool;
	const char *missing = NULL;

	*path = pool->path;
	*devpath = NULL;
	switch (pool->type) {
	case VF_STORAGE_DIR:
		break;
	case VF_STORAGE_NFS:
		missing = !pool->server ? "NFS server" : !pool->export_path ? "NFS export" : NULL;
		break;
	case VF_STORAGE_LOGICAL:
		if (!pool->vg)
			missing = "volume group";
		else if (!*path)
			*path = *devpath = xasprintf("/dev/%s", pool->vg);
		break;
	case VF_STORAGE_ISCSI:
		missing = !pool->portal ? "iSCSI portal" : !pool->target ? "iSCSI target" : NULL;
		if (!*path)
			*path = ISCSI_PATH;
		break;
	case VF_STORAGE_ISCSI_DIRECT:
		/* libvirt refuses the pool without an initiator IQN */
		missing = !pool->portal ? "iSCSI portal" : !pool->target ? "iSCSI target" :
			  !pool->initiator ? "initiator IQN" : NULL;
		break;
	}
	if (!missing && !*path && pool->type != VF_STORAGE_ISCSI_DIRECT)
		missing = "path";
	if (!r->name)
		missing = "name";
	return missing;
}

/* <source> of an iSCSI pool: portal (host, port), target, initiator, CHAP. */
static void format_iscsi_source(struct builder *b, xmlNodePtr source,
				const struct vf_pool_spec *pool, const char *host, const char *port)
{
	xmlNodePtr n = vf_xml_add(b, source, "host", NULL);

	vf_xml_set(b, n, "name", host);
	vf_xml_set(b, n, "port", port);
	vf_xml_set(b, vf_xml_add(b, source, "device", NULL), "path", pool->target);
	/* libvirt's order: host, device, initiator, auth */
	if (pool->initiator)
		vf_xml_set(b, vf_xml_add(b, vf_xml_add(b, source, "initiator", NULL), "iqn", NULL),
			   "name", pool->initiator);
	if (pool->chap_username && pool->chap_usage) {
		n = vf_xml_add(b, source, "auth", NULL);
		vf_xml_set(b, n, "type", "chap");
		vf_xml_set(b, n, "username", pool->chap_username);
		vf_xml_set(b, vf_xml_add(b, n, "secret", NULL), "usage", pool->chap_usage);
	}
}

/* The <pool> document of a checked pool (pool_missing said nothing). */
static char *format_pool(const struct vf_resource *r, const char *path, const char *host,
			 const char *port, const char *what, char **error)
{
	const struct vf_pool_spec *pool = &r->u.pool;
	xmlNodePtr root, source = NULL, n;
	struct builder b;

	root = vf_xml_start(&b, "pool");
	vf_xml_set(&b, root, "type", pool->type == VF_STORAGE_DIR ? "dir" :
				     pool->type == VF_STORAGE_NFS ? "netfs" :
				     pool->type == VF_STORAGE_LOGICAL ? "logical" :
				     pool->type == VF_STORAGE_ISCSI ? "iscsi" : "iscsi-direct");
	vf_xml_add(&b, root, "name", r->name);
	if (r->uuid)
		vf_xml_add(&b, root, "uuid", r->uuid);
	if (pool->type != VF_STORAGE_DIR)
		source = vf_xml_add(&b, root, "source", NULL);
	switch (pool->type) {
	case VF_STORAGE_DIR:
		break;
	case VF_STORAGE_NFS:
		vf_xml_set(&b, vf_xml_add(&b, source, "host", NULL), "name", pool->server);
		vf_xml_set(&b, vf_xml_add(&b, source, "dir", NULL), "path", pool->export_path);
		vf_xml_set(&b, vf_xml_add(&b, source, "format", NULL), "type", "nfs");
		break;
	case VF_STORAGE_LOGICAL:
		vf_xml_add(&b, source, "name", pool->vg);
		vf_xml_set(&b, vf_xml_add(&b, source, "format", NULL), "type", "lvm2");
		break;
	case VF_STORAGE_ISCSI:
	case VF_STORAGE_ISCSI_DIRECT:
		format_iscsi_source(&b, source, pool, host, port);
		break;
	}
	/* an iscsi-direct pool's LUNs are reached over the network by
	 * libvirtd, never as host devices: it has no <target> */
	if (pool->type != VF_STORAGE_ISCSI_DIRECT) {
		n = vf_xml_add(&b, root, "target", NULL);
		vf_xml_add(&b, n, "path", path);
		if (pool->type == VF_STORAGE_DIR)
			vf_xml_add(&b, vf_xml_add(&b, n, "permissions", NULL), "mode", "0711");
	}
	return vf_xml_finish(&b, what, error);
}

char *vf_xml_pool_format(const struct vf_resource *r, char **error)
{
	const struct vf_pool_spec *pool = &r->u.pool;
	char *what, *xml = NULL, *devpath, *host = NULL, *port = NULL;
	const char *path, *missing;

	what = vf_xml_object_label("pool", r->name);
	missing = pool_missing(r, &path, &devpath);
	if (missing)
		*error = xasprintf("cannot write the XML of %s: it has no %s", what, missing);
	else if ((pool->type == VF_STORAGE_ISCSI || pool->type == VF_STORAGE_ISCSI_DIRECT) &&
		 split_portal(pool->portal, &host, &port) < 0)
		*error = xasprintf("cannot write the XML of %s: invalid iSCSI portal '%s' "
				   "(expected HOST or HOST:PORT)", what, pool->portal);
	else
		xml = format_pool(r, path, host, port, what, error);
	free(host);
	free(port);
	free(devpath);
	free(what);
	return xml;
}

char *vf_xml_secret_format(const char *usage, const char *uuid, const char *description,
			   char **error)
{
	xmlNodePtr root, n;
	struct builder b;
	char *what = xasprintf("secret '%s'", usage), *xml;

	root = vf_xml_start(&b, "secret");
	vf_xml_set(&b, root, "ephemeral", "no");
	vf_xml_set(&b, root, "private", "yes");
	if (uuid)
		vf_xml_add(&b, root, "uuid", uuid);
	vf_xml_add(&b, root, "description", description);
	n = vf_xml_add(&b, root, "usage", NULL);
	vf_xml_set(&b, n, "type", "iscsi");
	vf_xml_add(&b, n, "target", usage);
	xml = vf_xml_finish(&b, what, error);
	free(what);
	return xml;
}

/* "host" or "host:port" ("[v6]:port") from <source><host>. */
static const char *read_portal(struct parser *p, xmlNodePtr host)
{
	const char *name = vf_xml_or_empty(vf_xml_prop_of(p, host,
							  "name")), *port = vf_xml_prop_of(p, host,
											   "port");
	bool v6 = strchr(name, ':') != NULL;
	size_t len;
	char *s;

	if (!port)
		return name;
	len = strlen(name) + strlen(port) + 4;
	s = vf_arena_alloc(p->arena, len);
	snprintf(s, len, "%s%s%s:%s", v6 ? "[" : "", name, v6 ? "]" : "", port);
	return s;
}

static int read_pool(struct parser *p, struct vf_resource *r, char **error)
{
	struct vf_pool_spec *pool = &r->u.pool;
	const char *type = vf_xml_or_empty(vf_xml_prop_of(p, p->root, "type"));
	xmlNodePtr source, auth;

	if (vf_xml_read_identity(p, r, error) < 0)
		return -1;
	source = vf_xml_find(p->root, "source");
	pool->path = vf_xml_text_of(p, vf_xml_find(p->root, "target/path"));
	pool->server = pool->export_path = pool->vg = pool->portal = pool->target = NULL;
	pool->initiator = NULL;
	pool->chap_username = pool->chap_usage = pool->chap_secret = NULL;
	if (!strcmp(type, "dir")) {
		pool->type = VF_STORAGE_DIR;
	} else if (!strcmp(type, "netfs")) {
		pool->type = VF_STORAGE_NFS;
		pool->server = vf_xml_or_empty(vf_xml_prop_of(p, vf_xml_find(source, "host"),
							      "name"));
		pool->export_path = vf_xml_or_empty(vf_xml_prop_of(p, vf_xml_find(source, "dir"),
								   "path"));
	} else if (!strcmp(type, "logical")) {
		pool->type = VF_STORAGE_LOGICAL;
		/* libvirt's default VG is the pool's name */
		pool->vg = vf_xml_text_of(p, vf_xml_find(source, "name"));
		if (!pool->vg || !*pool->vg)
			pool->vg = r->name;
	} else if (!strcmp(type, "iscsi") || !strcmp(type, "iscsi-direct")) {
		pool->type = !strcmp(type, "iscsi") ? VF_STORAGE_ISCSI : VF_STORAGE_ISCSI_DIRECT;
		pool->portal = read_portal(p, vf_xml_find(source, "host"));
		pool->target = vf_xml_or_empty(vf_xml_prop_of(p, vf_xml_find(source, "device"),
							      "path"));
		/* NULL when absent: an iscsi pool may leave it to the host's
		 * /etc/iscsi/initiatorname.iscsi */
		pool->initiator = vf_xml_prop_of(p, vf_xml_find(source, "initiator/iqn"), "name");
		auth = vf_xml_find(source, "auth");
		if (auth && vf_xml_prop_is(auth, "type", "chap")) {
			pool->chap_username = vf_xml_or_empty(vf_xml_prop_of(p, auth, "username"));
			/* a secret named by uuid is not one virtform made: "" */
			pool->chap_usage = vf_xml_or_empty(vf_xml_prop_of(p, vf_xml_find(auth,
											 "secret"), "usage"));
		}
	} else {
		*error = xasprintf("unsupported pool type '%s' in %s", type, p->what);
		return -1;
	}
	/* iscsi-direct: no <target>, no path (NULL, as desired has it) */
	pool->path = pool->type == VF_STORAGE_ISCSI_DIRECT ? NULL : vf_xml_or_empty(pool->path);
	return 0;
}

int vf_xml_pool_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
		      char **error)
{
	return vf_xml_parse_resource(xml, "pool", arena, r, error, read_pool);
}

int vf_xml_secret_parse(const char *xml, struct vf_arena *arena, const char **uuid,
			const char **usage, const char **description, char **error)
{
	struct parser p;
	int rc = -1;

	if (vf_xml_parser_open(&p, xml, "secret", NULL, arena, error) < 0)
		goto out;
	*uuid = vf_xml_text_of(&p, vf_xml_find(p.root, "uuid"));
	*usage = vf_xml_prop_is(vf_xml_find(p.root, "usage"), "type", "iscsi")
		 ? vf_xml_text_of(&p, vf_xml_find(p.root, "usage/target")) : NULL;
	*description = vf_xml_text_of(&p, vf_xml_find(p.root, "description"));
	rc = 0;
out:
	vf_xml_parser_close(&p);
	return rc;
}
