/*
 * observe.c — read one host for the engine (provider.h: observe) over a
 * read-only connection: every domain, network, storage pool and volume by
 * name, and those of interest in full.
 *
 * Cost is what the engine's scale depends on.  Domains: two list calls
 * (all, autostart) and one XML read per domain — running is the domain's
 * id, which comes with each listed handle, and autostart comes from
 * matching the second list by UUID (local, no RPC), so 1,000 domains cost
 * 1,002 round trips, not 3,000; the XML reads run on a few threads per
 * host (see observe_domains).  Networks, pools and volumes are listed
 * once; only those the request names are read in full.  Name lookups go
 * through hash maps: nothing here is quadratic.
 *
 * An object that vanishes between the list and its read (a transient
 * domain stopping, someone's undefine) is left out: the observation is a
 * snapshot, and apply is idempotent either way.
 *
 * Domains are ours when their XML carries virtform's marker.  Every
 * domain is read in full (detailed), ours or not: import diffs an
 * unmanaged one, and replacing a network must know every running VM
 * plugged into it.  A domain whose XML cannot be parsed is listed by name
 * only (the engine still finds name clashes) — unless it carries
 * virtform's namespace: a marked domain that cannot be parsed is an error
 * rather than silently treated as foreign.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/conn.h"
#include "providers/libvirt/ops.h"
#include "providers/libvirt/xml.h"
#include "reconcile/util.h"

/* What one observe call works with. */
struct observe {
	const struct vf_observe_request *req;
	virConnectPtr conn;
	struct vf_observed *o;
	char **error;
	virConnectPtr secrets;          /* conn, or the test's (ops.h) */
	struct vf_strmap wanted_volumes;        /* the volumes to read in full */
};

/* A set member's value: the maps below are used as sets. */
static char present;

static int host_error(struct observe *ob)
{
	char *what = xasprintf("cannot read host '%s'", ob->req->host);

	*ob->error = vf_libvirt_error(what);
	free(what);
	return -1;
}

/* "KIND 'NAME' on host H: TEXT" for a failure that is not libvirt's. */
static int object_error(struct observe *ob, const char *kind, const char *name, const char *text)
{
	*ob->error = xasprintf("%s '%s' on host %s: %s", kind, name, ob->req->host, text);
	return -1;
}

/* Was the calling thread's last libvirt error "no such object"? */
static int vanished(int code)
{
	if (virGetLastErrorCode() != code)
		return 0;
	virResetLastError();
	return 1;
}

static void set_of_names(struct vf_strmap *set, const char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		vf_strmap_put(set, names[i], &present);
}


/*
 * Append an item with its address (spec.h: "vm.NAME", "KIND.NAME@HOST")
 * and, when known, its uuid.  The pointer returned is valid until the next
 * append: items move when the array grows.
 */
static struct vf_observed_item *add_item(struct observe *ob, enum vf_kind kind, const char *name,
		       const char *uuid)
{
	struct vf_observed *o = ob->o;
	struct vf_observed_item *it = vf_observed_add(o, kind, name);
	char *address;

	address = vf_address_new(kind, name, o->host);
	it->r.address = vf_arena_strdup(&o->arena, address);
	free(address);
	if (uuid)
		it->r.uuid = vf_arena_strdup(&o->arena, uuid);
	return it;
}

/* The item just appended is for an object that vanished: forget it. */
static void drop_last_item(struct observe *ob)
{
	ob->o->n_items--;
}

/* ---- domains ---- */

/*
 * Reading domains is the one cost that grows with their number: one
 * virDomainGetXMLDesc round trip each, plus parsing the answer.  So a
 * host's domains are read by up to OBSERVE_READERS threads sharing its
 * connection (libvirt connections are thread-safe, and libvirtd serves
 * up to 5 calls of one client at once by default): while one thread waits
 * for an answer, another parses the one it got.  Each reader parses into
 * an arena of its own; the items are then appended in list order, so the
 * observation is the same whatever the threads' timing.
 */
#define OBSERVE_READERS 4
#define DOMAINS_PER_READER 8     /* fewer domains than this: fewer readers */

/* One domain as a reader found it; strings in that reader's arena. */
struct domain_read {
	enum {
		DOMAIN_GONE,             /* vanished since the list */
		DOMAIN_NAME_ONLY,        /* foreign XML we need not understand */
		DOMAIN_READ,             /* parsed: r */
	} what;
	const char *name, *uuid;
	bool running;
	unsigned int id;                 /* (unsigned) -1 when not running */
	struct vf_resource r;            /* DOMAIN_READ: as parsed */
};

struct domain_readers {
	struct observe *ob;
	virDomainPtr *doms;
	size_t n;
	struct domain_read *reads;       /* [n] */
	atomic_size_t next;              /* the next domain to read */
	atomic_bool failed;              /* a reader failed: the others stop */
};

struct domain_reader {
	struct domain_readers *all;
	pthread_t thread;
	struct vf_arena arena;
	char *error;                     /* its failure (malloc'd) */
};

/* A failure in a reader thread: libvirt's last error is thread-local. */
static char *reader_host_error(struct domain_readers *all)
{
	char *what = xasprintf("cannot read host '%s'", all->ob->req->host);
	char *e = vf_libvirt_error(what);

	free(what);
	return e;
}

static int read_one_domain(struct domain_reader *rd, size_t i)
{
	struct domain_readers *all = rd->all;
	struct domain_read *out = &all->reads[i];
	virDomainPtr dom = all->doms[i];
	char uuid_buf[VIR_UUID_STRING_BUFLEN];
	const char *name = virDomainGetName(dom);
	char *xml, *parse_error = NULL;
	int rc = 0;

	/* local: the name, UUID and id travel with the handle from the list */
	if (!name || virDomainGetUUIDString(dom, uuid_buf) < 0) {
		rd->error = reader_host_error(all);
		return -1;
	}
	out->id = virDomainGetID(dom);
	out->running = out->id != (unsigned int)-1;
	/* The one RPC per domain. */
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	if (!xml) {
		if (vanished(VIR_ERR_NO_DOMAIN))
			return 0;                /* DOMAIN_GONE */
		rd->error = reader_host_error(all);
		return -1;
	}
	out->name = vf_arena_strdup(&rd->arena, name);
	out->uuid = vf_arena_strdup(&rd->arena, uuid_buf);
	out->r.kind = VF_KIND_VM;
	out->r.name = out->name;
	/* ours or not: import diffs an unmanaged domain, and replacing a
	 * network must know every running VM plugged into it */
	if (vf_xml_domain_parse(xml, &rd->arena, &out->r, &parse_error) == 0) {
		out->what = DOMAIN_READ;
	} else if (strstr(xml, VF_XML_NS)) {
		/* Ours, but unreadable: guessing "foreign" could let a plan
		 * create a second domain over it. */
		rd->error = xasprintf("domain '%s' on host %s: %s", name, all->ob->req->host,
				      parse_error ? parse_error : "cannot parse its XML");
		rc = -1;
	} else {
		out->what = DOMAIN_NAME_ONLY;
	}
	free(parse_error);
	free(xml);
	return rc;
}

static void *domain_reader_run(void *opaque)
{
	struct domain_reader *rd = opaque;
	struct domain_readers *all = rd->all;
	size_t i;

	while (!atomic_load(&all->failed) && (i = atomic_fetch_add(&all->next, 1)) < all->n)
		if (read_one_domain(rd, i) < 0) {
			atomic_store(&all->failed, true);
			break;
		}
	return NULL;
}

/* The item of domain read *d, appended to the observation. */
static void add_domain(struct observe *ob, const struct domain_read *d,
		       const struct vf_strmap *autostart)
{
	struct vf_observed_item *it = add_item(ob, VF_KIND_VM, d->name, d->uuid);
	const char *name = it->r.name, *uuid = it->r.uuid, *address = it->r.address;

	if (d->what != DOMAIN_READ)
		return;                          /* listed by name only (spec.h) */
	it->r = d->r;
	it->r.kind = VF_KIND_VM;
	it->r.name = name;
	it->r.host = ob->o->host;
	it->r.address = address;
	if (!it->r.uuid)
		it->r.uuid = uuid;
	it->r.u.vm.running = d->running;
	it->r.u.vm.autostart = vf_strmap_get(autostart, uuid) != NULL;
	/* changes wait for a restart only while the domain runs as it did
	 * when they were written: a new id means it restarted since */
	if (it->r.u.vm.marker.pending &&
	    (!d->running || d->id != (unsigned int)it->r.u.vm.marker.pending_id))
		it->r.u.vm.marker.pending = NULL;
	it->detailed = true;
}

struct uuid_text {
	char s[VIR_UUID_STRING_BUFLEN];
};

/*
 * The UUIDs of the domains a filtered list returns, as a set (keys live in
 * *texts, which the caller frees).  One RPC whatever the number of domains.
 */
static int domain_uuid_set(struct observe *ob, unsigned int flags, struct uuid_text **texts,
			   struct vf_strmap *set)
{
	virDomainPtr *doms = NULL;
	int n, i;

	n = virConnectListAllDomains(ob->conn, &doms, flags);
	if (n < 0)
		return host_error(ob);
	*texts = xcalloc(n ? (size_t)n : 1, sizeof(**texts));
	for (i = 0; i < n; i++) {
		/* local: the UUID travels with the domain handle */
		if (virDomainGetUUIDString(doms[i], (*texts)[i].s) == 0)
			vf_strmap_put(set, (*texts)[i].s, &present);
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

static int observe_domains(struct observe *ob)
{
	struct domain_readers all = { .ob = ob };
	struct domain_reader readers[OBSERVE_READERS] = { { 0 } };
	struct vf_strmap autostart = { 0 };
	struct uuid_text *autostart_uuids = NULL;
	size_t i, n_readers, started;
	int n, rc = -1;

	n = virConnectListAllDomains(ob->conn, &all.doms, 0);
	if (n < 0)
		return host_error(ob);
	all.n = (size_t)n;
	/* running comes with each handle (its id); autostart is one more list */
	if (domain_uuid_set(ob, VIR_CONNECT_LIST_DOMAINS_AUTOSTART, &autostart_uuids, &autostart) < 0)
		goto out;
	all.reads = xcalloc(all.n ? all.n : 1, sizeof(*all.reads));
	atomic_init(&all.next, 0);
	atomic_init(&all.failed, false);
	n_readers = all.n / DOMAINS_PER_READER + 1;
	if (n_readers > OBSERVE_READERS)
		n_readers = OBSERVE_READERS;
	for (i = 0; i < n_readers; i++)
		readers[i].all = &all;
	/* this thread is reader 0; a thread that cannot start is one fewer */
	for (started = 1; started < n_readers; started++)
		if (pthread_create(&readers[started].thread, NULL, domain_reader_run,
				   &readers[started]))
			break;
	domain_reader_run(&readers[0]);
	for (i = 1; i < started; i++)
		pthread_join(readers[i].thread, NULL);
	for (i = 0; i < started; i++)
		if (readers[i].error && !*ob->error) {
			*ob->error = readers[i].error;
			readers[i].error = NULL;
		}
	if (!*ob->error) {
		for (i = 0; i < all.n; i++)
			if (all.reads[i].what != DOMAIN_GONE)
				add_domain(ob, &all.reads[i], &autostart);
		rc = 0;
	}
out:
	for (i = 0; i < OBSERVE_READERS; i++) {
		vf_arena_merge(&ob->o->arena, &readers[i].arena);
		free(readers[i].error);
	}
	for (i = 0; i < all.n; i++)
		virDomainFree(all.doms[i]);
	free(all.doms);
	free(all.reads);
	vf_strmap_release(&autostart);
	free(autostart_uuids);
	return rc;
}

/* ---- networks and storage pools ---- */

/*
 * What observe reads of a network or a storage pool: libvirt's calls
 * (READER_CALLS: the same names for both) and where the two differ.
 * Handles travel as void *, libvirt's calls cast to take one, as in apply
 * (internal.h: struct vf_object_class).
 */
struct object_reader {
	enum vf_kind kind;
	const char *noun;                        /* "storage pool": in messages */
	int absent_code;                         /* libvirt's "no such object" */
	int (*list)(virConnectPtr conn, void ***objs, unsigned int flags);
	const char *(*name)(void *obj);
	int (*uuid)(void *obj, char *buf);
	char *(*xml)(void *obj, unsigned int flags);
	unsigned int inactive;                   /* xml's flag for the persistent definition */
	int (*parse)(const char *xml, struct vf_arena *arena, struct vf_resource *r, char **error);
	int (*is_active)(void *obj);
	int (*autostart)(void *obj, int *on);
	int (*free)(void *obj);
	/* NULL, or more of a detailed item: before its run state, and after */
	int (*read_extra)(struct observe *ob, struct vf_observed_item *it, const char *name);
	int (*read_children)(struct observe *ob, void *obj, struct vf_observed_item *it);
};

#define READER_CALLS(type, code, kind_, noun_)                                \
	.kind = (kind_), .noun = (noun_), .absent_code = VIR_ERR_NO_##code,   \
	.name = (const char *(*)(void *))vir##type##GetName,                  \
	.uuid = (int (*)(void *, char *))vir##type##GetUUIDString,            \
	.xml = (char *(*)(void *, unsigned int))vir##type##GetXMLDesc,        \
	.is_active = (int (*)(void *))vir##type##IsActive,                    \
	.autostart = (int (*)(void *, int *))vir##type##GetAutostart,         \
	.free = (int (*)(void *))vir##type##Free

static const struct object_reader pool_reader;  /* below, after its hooks */

/* The persistent (inactive) XML, or the live one (ops.h: vf_libvirt_pool_xml). */
static char *persistent_xml(const struct object_reader *reader, void *obj)
{
	char *xml = reader->xml(obj, reader->inactive);

	if (!xml && virGetLastErrorCode() == VIR_ERR_INVALID_ARG)
		xml = reader->xml(obj, 0);
	return xml;
}

char *vf_libvirt_pool_xml(virStoragePoolPtr pool)
{
	return persistent_xml(&pool_reader, pool);
}

/* The run state of a network or pool r, into its kind's spec. */
static void set_run_state(struct vf_resource *r, bool active, bool autostart)
{
	if (r->kind == VF_KIND_NETWORK) {
		r->u.net.active = active;
		r->u.net.autostart = autostart;
	} else {
		r->u.pool.active = active;
		r->u.pool.autostart = autostart;
	}
}

/* One network or pool: listed by name, and read in full when wanted. */
static int observe_object(struct observe *ob, const struct object_reader *reader, void *obj,
			  const struct vf_strmap *wanted)
{
	char uuid_buf[VIR_UUID_STRING_BUFLEN];
	const char *name = reader->name(obj), *uuid;
	struct vf_observed_item *it;
	char *xml, *parse_error = NULL;
	int active, autostart, rc;

	if (!name || reader->uuid(obj, uuid_buf) < 0)
		return host_error(ob);
	it = add_item(ob, reader->kind, name, uuid_buf);
	if (!vf_strmap_get(wanted, name))
		return 0;

	uuid = it->r.uuid;
	xml = persistent_xml(reader, obj);
	if (!xml)
		goto libvirt_failed;
	rc = reader->parse(xml, &ob->o->arena, &it->r, &parse_error);
	free(xml);
	if (rc < 0) {
		object_error(ob, reader->noun, name, parse_error ? parse_error : "cannot parse its XML");
		free(parse_error);
		return -1;
	}
	if (!it->r.uuid)
		it->r.uuid = uuid;
	if (reader->read_extra && reader->read_extra(ob, it, name) < 0)
		return -1;
	active = reader->is_active(obj);
	if (active < 0 || reader->autostart(obj, &autostart) < 0)
		goto libvirt_failed;
	set_run_state(&it->r, active, autostart);
	it->detailed = true;
	return reader->read_children ? reader->read_children(ob, obj, it) : 0;

libvirt_failed:
	if (!vanished(reader->absent_code))
		return host_error(ob);
	drop_last_item(ob);
	return 0;
}

/* Every network or pool of the host; names: those to read in full. */
static int observe_objects(struct observe *ob, const struct object_reader *reader,
			   const char **names, size_t n_names)
{
	struct vf_strmap wanted = { 0 };
	void **objs = NULL;
	int n, i, rc = -1;

	n = reader->list(ob->conn, &objs, 0);
	if (n < 0)
		return host_error(ob);
	set_of_names(&wanted, names, n_names);
	for (i = 0; i < n; i++)
		if (observe_object(ob, reader, objs[i], &wanted) < 0)
			goto out;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		reader->free(objs[i]);
	free(objs);
	vf_strmap_release(&wanted);
	return rc;
}

static const struct object_reader network_reader = {
	READER_CALLS(Network, NETWORK, VF_KIND_NETWORK, "network"),
	.list = (int (*)(virConnectPtr, void ***, unsigned int))virConnectListAllNetworks,
	.inactive = VIR_NETWORK_XML_INACTIVE,
	.parse = vf_xml_network_parse,
};

/* ---- storage pools' own: volumes, CHAP secrets ---- */

/*
 * The name of the volume at path when it lives in pool_name (in the
 * observation's arena), else NULL.  Two RPCs, for the rare backing file
 * that is not itself a volume of interest.
 */
static const char *volume_name_at(struct observe *ob, const char *path, const char *pool_name)
{
	virStorageVolPtr vol = virStorageVolLookupByPath(ob->conn, path);
	virStoragePoolPtr pool;
	const char *name = NULL, *found_pool;

	if (!vol) {
		virResetLastError();   /* outside every pool: keep the path */
		return NULL;
	}
	pool = virStoragePoolLookupByVolume(vol);
	found_pool = pool ? virStoragePoolGetName(pool) : NULL;
	if (found_pool && !strcmp(found_pool, pool_name))
		name = vf_arena_strdup(&ob->o->arena, virStorageVolGetName(vol));
	if (pool)
		virStoragePoolFree(pool);
	virStorageVolFree(vol);
	virResetLastError();
	return name;
}

/*
 * libvirt names a clone's backing store by path; the engine compares
 * names (spec.h).  Items first..n_items-1 are one pool's volumes.
 */
static void resolve_backing(struct observe *ob, size_t first, const char *pool_name)
{
	struct vf_observed *o = ob->o;
	struct vf_strmap by_path = { 0 };
	size_t i;

	for (i = first; i < o->n_items; i++)
		if (o->items[i].detailed && o->items[i].r.u.vol.path && *o->items[i].r.u.vol.path)
			vf_strmap_put(&by_path, o->items[i].r.u.vol.path, (void *)o->items[i].r.name);
	for (i = first; i < o->n_items; i++) {
		struct vf_resource *r = &o->items[i].r;
		const char *name;

		if (!o->items[i].detailed || !r->u.vol.backing)
			continue;
		name = vf_strmap_get(&by_path, r->u.vol.backing);
		if (!name)
			name = volume_name_at(ob, r->u.vol.backing, pool_name);
		if (name && strcmp(name, r->name))
			r->u.vol.backing = name;
	}
	vf_strmap_release(&by_path);
}

static int observe_volume(struct observe *ob, virStorageVolPtr vol, const char *pool_name,
			  const struct vf_strmap *wanted)
{
	const char *name = virStorageVolGetName(vol);
	struct vf_observed_item *it;
	char *xml, *parse_error = NULL, *subject;
	int rc;

	if (!name)
		return host_error(ob);
	it = add_item(ob, VF_KIND_VOLUME, name, NULL);
	it->r.u.vol.pool = pool_name;
	if (!vf_strmap_get(wanted, name))
		return 0;

	xml = virStorageVolGetXMLDesc(vol, 0);
	if (!xml) {
		if (!vanished(VIR_ERR_NO_STORAGE_VOL))
			return host_error(ob);
		drop_last_item(ob);
		return 0;
	}
	rc = vf_xml_volume_parse(xml, &ob->o->arena, &it->r, &parse_error);
	free(xml);
	if (rc < 0) {
		subject = xasprintf("%s' in pool '%s", name, pool_name);
		object_error(ob, "volume", subject, parse_error ? parse_error : "cannot parse its XML");
		free(subject);
		free(parse_error);
		return -1;
	}
	it->r.u.vol.pool = pool_name;
	it->detailed = true;
	return 0;
}

static int observe_volumes(struct observe *ob, virStoragePoolPtr pool, const char *pool_name)
{
	virStorageVolPtr *vols = NULL;
	size_t first = ob->o->n_items;
	int n, i, rc = -1;

	n = virStoragePoolListAllVolumes(pool, &vols, 0);
	if (n < 0)
		return host_error(ob);
	for (i = 0; i < n; i++)
		if (observe_volume(ob, vols[i], pool_name, &ob->wanted_volumes) < 0)
			goto out;
	resolve_backing(ob, first, pool_name);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		virStorageVolFree(vols[i]);
	free(vols);
	return rc;
}

/*
 * The CHAP secret an iSCSI pool's <auth> names: when it is a libvirt
 * secret whose description virtform wrote ("virtform chap hash HEX"), HEX
 * becomes the pool's chap_secret (spec.h); else chap_secret stays NULL.
 * Never the value: a read-only connection cannot read it anyway.
 */
static int observe_chap(struct observe *ob, struct vf_pool_spec *pool, const char *name)
{
	static const char prefix[] = "virtform chap hash ";
	const char *uuid, *usage, *description;
	virSecretPtr sec;
	char *xml, *parse_error = NULL;
	int rc;

	if (!pool->chap_usage || !*pool->chap_usage)
		return 0;
	sec = virSecretLookupByUsage(ob->secrets, VIR_SECRET_USAGE_TYPE_ISCSI, pool->chap_usage);
	if (!sec)
		return vanished(VIR_ERR_NO_SECRET) ? 0 : host_error(ob);
	xml = virSecretGetXMLDesc(sec, 0);
	virSecretFree(sec);
	if (!xml)
		return vanished(VIR_ERR_NO_SECRET) ? 0 : host_error(ob);
	rc = vf_xml_secret_parse(xml, &ob->o->arena, &uuid, &usage, &description, &parse_error);
	free(xml);
	if (rc < 0) {
		object_error(ob, "storage pool", name, parse_error ? parse_error : "cannot parse "
			     "its CHAP secret's XML");
		free(parse_error);
		return -1;
	}
	if (description && !strncmp(description, prefix, sizeof(prefix) - 1) &&
	    strlen(description + sizeof(prefix) - 1) == 16)
		pool->chap_secret = description + sizeof(prefix) - 1;
	return 0;
}

static int pool_read_chap(struct observe *ob, struct vf_observed_item *it, const char *name)
{
	return observe_chap(ob, &it->r.u.pool, name);
}

/* An inactive pool's volumes cannot be listed: none are reported. */
static int pool_read_volumes(struct observe *ob, void *pool, struct vf_observed_item *it)
{
	const char *pool_name = it->r.name;     /* in the arena: stays put as items grow */

	return it->r.u.pool.active ? observe_volumes(ob, pool, pool_name) : 0;
}

static const struct object_reader pool_reader = {
	READER_CALLS(StoragePool, STORAGE_POOL, VF_KIND_STORAGE, "storage pool"),
	.list = (int (*)(virConnectPtr, void ***, unsigned int))virConnectListAllStoragePools,
	.inactive = VIR_STORAGE_XML_INACTIVE,
	.parse = vf_xml_pool_parse,
	.read_extra = pool_read_chap,
	.read_children = pool_read_volumes,
};

struct vf_observed *vf_libvirt_observe(const struct vf_observe_request *req, char **error)
{
	struct observe ob = { req, NULL, NULL, error, NULL, { 0 } };
	virNodeInfo info;
	char *connect_error = NULL;

	*error = NULL;
	ob.conn = vf_libvirt_open(req->uri, 1, &connect_error);
	if (!ob.conn) {
		*error = xasprintf("cannot read host '%s': %s", req->host, connect_error);
		free(connect_error);
		return NULL;
	}
	ob.secrets = vf_libvirt_secret_conn() ? vf_libvirt_secret_conn() : ob.conn;
	ob.o = xcalloc(1, sizeof(*ob.o));
	ob.o->host = vf_arena_strdup(&ob.o->arena, req->host);
	if (virNodeGetInfo(ob.conn, &info) < 0) {
		host_error(&ob);
		goto fail;
	}
	ob.o->memory_total = (uint64_t)info.memory * 1024;    /* KiB */
	set_of_names(&ob.wanted_volumes, req->volumes, req->n_volumes);
	if (observe_domains(&ob) < 0 ||
	    observe_objects(&ob, &network_reader, req->networks, req->n_networks) < 0 ||
	    observe_objects(&ob, &pool_reader, req->pools, req->n_pools) < 0)
		goto fail;
	vf_strmap_release(&ob.wanted_volumes);
	virConnectClose(ob.conn);
	return ob.o;

fail:
	vf_strmap_release(&ob.wanted_volumes);
	vf_observed_free(ob.o);
	virConnectClose(ob.conn);
	return NULL;
}
