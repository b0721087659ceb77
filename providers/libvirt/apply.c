/*
 * apply.c — carry out one plan action on its host (provider.h: apply), the
 * read-write sessions apply runs on, and the diff hints that tell the
 * engine how each field's change is made (field_class).
 *
 * Every action is idempotent: it looks at what is there before acting and
 * completes a half-done job instead of failing on it (a crash between
 * define and start, a retry, another thread that got there first).  When a
 * libvirt call fails, the state it was meant to reach is checked once more
 * before the failure is reported, so a lost race is not an error.
 *
 * Deliberate limits, each on the side of keeping data:
 *   - a domain is touched only when its current XML carries virtform's
 *     marker (and, when the action knows it, the same project): the check
 *     is redone here because the plan's observation may be stale;
 *   - a storage pool is destroyed and undefined, never deleted
 *     (virStoragePoolDelete would remove its directory or volume group);
 *     it is built only when it is a dir or netfs pool by its own XML
 *     (building a logical or iSCSI pool formats devices);
 *   - a volume's capacity only grows (the engine refuses shrinks).
 *
 * Errors read "ADDRESS: cannot VERB: LIBVIRT MESSAGE" (vf_libvirt_error).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "providers/libvirt/conn.h"
#include "providers/libvirt/ops.h"
#include "providers/libvirt/xml.h"
#include "reconcile/cloudinit.h"
#include "reconcile/fault.h"
#include "reconcile/transport.h"
#include "reconcile/util.h"

/* Written only by session_open: threads share it read-only. */
struct vf_session {
	virConnectPtr conn;
	char *uri;
	virConnectPtr secrets;          /* conn, or the test's (vf_libvirt_set_secret_conn) */
};

/* One apply call: what every helper needs to act and to report. */
struct op {
	virConnectPtr conn;
	const struct vf_action *a;
	char **error;
	virConnectPtr secrets;          /* where libvirt secrets live: conn */
};

#define POLL_INTERVAL_MS 100
#define UPLOAD_CHUNK (256u * 1024)
/* How long a pool refresh waits out "asynchronous jobs running". */
#define REFRESH_WAIT_MS (30 * 1000)

/* ---- errors and small helpers ---- */

static const char *op_address(const struct op *op)
{
	return op->a->address ? op->a->address : op->a->name;
}

/* "ADDRESS: cannot VERB: LIBVIRT MESSAGE" for the thread's last libvirt error. */
static int op_fail(struct op *op, const char *verb)
{
	char *what = xasprintf("%s: cannot %s", op_address(op), verb);

	free(*op->error);
	*op->error = vf_libvirt_error(what);
	free(what);
	return -1;
}

/* "ADDRESS: TEXT" for a failure that is not libvirt's. */
__attribute__((format(printf, 2, 3)))
static int op_failf(struct op *op, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	free(*op->error);
	*op->error = xasprintf("%s: %s", op_address(op), text);
	free(text);
	return -1;
}

/* The failure just reported turned out to be a race already won: forget it. */
static int op_recovered(struct op *op)
{
	free(*op->error);
	*op->error = NULL;
	virResetLastError();
	return 0;
}

/* Was the thread's last libvirt error code?  If so it is consumed. */
static int last_error_was(int code)
{
	if (virGetLastErrorCode() != code)
		return 0;
	virResetLastError();
	return 1;
}

/* The name of the object an action works on, from the given side. */
static const char *object_name(const struct op *op, const struct vf_resource *r)
{
	return r && r->name ? r->name : op->a->name;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Does the action change the field at path (either side)? */
static bool action_changes(const struct vf_action *a, const char *path)
{
	size_t i;

	for (i = 0; i < a->n_fields; i++)
		if (a->fields[i].after.path && !strcmp(a->fields[i].after.path, path))
			return true;
		else if (a->fields[i].before.path && !strcmp(a->fields[i].before.path, path))
			return true;
	return false;
}

/*
 * How the action's change c is made: the diff hints' answer with the
 * whole desired and observed resources (hints.c), which is the plan's.
 */
static enum vf_field_class change_class(const struct vf_action *a,
					const struct vf_field_change *c)
{
	return vf_libvirt_change_class(a->desired, a->observed, &c->before, &c->after);
}

/* Does the action change the field at path, live? */
static bool changes_live(const struct vf_action *a, const char *path)
{
	size_t i;

	for (i = 0; i < a->n_fields; i++) {
		const struct vf_field_change *c = &a->fields[i];
		const char *p = c->after.path ? c->after.path : c->before.path;
		if (p && !strcmp(p, path))
			return change_class(a, c) == VF_FIELD_LIVE;
	}
	return false;
}

/* ---- networks ---- */

/* 1 found, 0 absent, -1 error. */
static int network_find(struct op *op, const char *name, virNetworkPtr *net)
{
	*net = virNetworkLookupByName(op->conn, name);
	if (*net)
		return 1;
	if (last_error_was(VIR_ERR_NO_NETWORK))
		return 0;
	return op_fail(op, "look up the network");
}

/* 1 active, 0 inactive or gone (a transient network goes when stopped), -1. */
static int network_active(virNetworkPtr net)
{
	int active = virNetworkIsActive(net);

	if (active < 0 && last_error_was(VIR_ERR_NO_NETWORK))
		return 0;
	return active;
}

/*
 * Define desired, keeping old's uuid when there is one: defining a
 * network of the same name again replaces its persistent config only when
 * the uuids agree.
 */
static int network_define(struct op *op, const struct vf_resource *desired, virNetworkPtr old,
			  virNetworkPtr *net)
{
	char uuid[VIR_UUID_STRING_BUFLEN], *xml, *xml_error = NULL;
	struct vf_resource r = *desired;

	if (old) {
		if (virNetworkGetUUIDString(old, uuid) < 0)
			return op_fail(op, "read the network's uuid");
		r.uuid = uuid;
	}
	xml = vf_xml_network_format(&r, &xml_error);
	if (!xml) {
		op_failf(op, "cannot define: %s", xml_error);
		free(xml_error);
		return -1;
	}
	*net = virNetworkDefineXML(op->conn, xml);
	free(xml);
	return *net ? 0 : op_fail(op, "define");
}

static int network_start(struct op *op, virNetworkPtr net)
{
	int active = network_active(net);

	if (active < 0)
		return op_fail(op, "start");
	if (active || virNetworkCreate(net) == 0)
		return 0;
	op_fail(op, "start");
	return network_active(net) == 1 ? op_recovered(op) : -1;
}

static int network_stop(struct op *op, virNetworkPtr net)
{
	int active = network_active(net);

	if (active < 0)
		return op_fail(op, "stop");
	if (!active || virNetworkDestroy(net) == 0)
		return 0;
	op_fail(op, "stop");
	return network_active(net) == 0 ? op_recovered(op) : -1;
}

static int network_set_autostart(struct op *op, virNetworkPtr net, bool on)
{
	return virNetworkSetAutostart(net, on) < 0 ? op_fail(op, "set autostart") : 0;
}

static int network_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virNetworkPtr old = NULL, net = NULL;
	int rc = -1;

	if (network_find(op, object_name(op, d), &old) < 0)
		return -1;
	if (network_define(op, d, old, &net) < 0)
		goto out;
	if (d->u.net.active && network_start(op, net) < 0)
		goto out;
	rc = network_set_autostart(op, net, d->u.net.autostart);
out:
	if (old)
		virNetworkFree(old);
	if (net)
		virNetworkFree(net);
	return rc;
}

/*
 * A new DHCP range on an active network, live: virNetworkUpdate swaps the
 * range (libvirt reloads dnsmasq; the bridge and the VMs on it stay).
 */
static int network_dhcp_live(struct op *op, virNetworkPtr net)
{
	const struct vf_network_spec *o = &op->a->observed->u.net, *d = &op->a->desired->u.net;
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_LIVE | VIR_NETWORK_UPDATE_AFFECT_CONFIG;
	char *old_xml, *new_xml, *xml_error = NULL;
	int rc = -1;

	old_xml = vf_xml_dhcp_range_format(o->dhcp_start, o->dhcp_end, &xml_error);
	new_xml = old_xml ? vf_xml_dhcp_range_format(d->dhcp_start, d->dhcp_end, &xml_error) : NULL;
	if (!new_xml) {
		op_failf(op, "cannot change the DHCP range: %s", xml_error);
		goto out;
	}
	/* Add first, then delete: dnsmasq always has a range to serve.  An
	 * add that finds the range there already (a retry) is not an error. */
	if (virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
			     VIR_NETWORK_SECTION_IP_DHCP_RANGE, -1, new_xml, flags) < 0 &&
	    !last_error_was(VIR_ERR_OPERATION_INVALID)) {
		op_fail(op, "add the new DHCP range");
		goto out;
	}
	if (virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_DELETE,
			     VIR_NETWORK_SECTION_IP_DHCP_RANGE, -1, old_xml, flags) < 0 &&
	    !last_error_was(VIR_ERR_OPERATION_INVALID)) {
		op_fail(op, "remove the old DHCP range");
		goto out;
	}
	virResetLastError();
	rc = 0;
out:
	free(xml_error);
	free(old_xml);
	free(new_xml);
	return rc;
}

/*
 * Live changes on an active network (the DHCP range), then the new
 * persistent config and autostart.  An active network is never restarted:
 * the plan marks the other changes "effective at next restart".
 */
static int network_update(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virNetworkPtr old = NULL, net = NULL;
	int rc = -1, found;

	found = network_find(op, object_name(op, d), &old);
	if (found <= 0)
		return found < 0 ? -1 : op_failf(op, "cannot update: the network no longer exists");
	if (action_changes(op->a, "dhcp") && op->a->observed && op->a->observed->u.net.has_dhcp &&
	    d->u.net.has_dhcp && network_active(old) == 1 && network_dhcp_live(op, old) < 0)
		goto out;
	if (network_define(op, d, old, &net) == 0)
		rc = network_set_autostart(op, net, d->u.net.autostart);
out:
	virNetworkFree(old);
	if (net)
		virNetworkFree(net);
	return rc;
}

static int network_delete(struct op *op, const struct vf_resource *observed)
{
	virNetworkPtr net;
	int rc = -1, found;

	found = network_find(op, object_name(op, observed), &net);
	if (found <= 0)
		return found;                   /* absent: done already */
	if (network_stop(op, net) < 0)
		goto out;
	if (virNetworkUndefine(net) == 0 || last_error_was(VIR_ERR_NO_NETWORK))
		rc = 0;
	else
		op_fail(op, "undefine");
out:
	virNetworkFree(net);
	return rc;
}

static int network_start_or_stop(struct op *op, bool start)
{
	virNetworkPtr net;
	int rc, found;

	found = network_find(op, op->a->name, &net);
	if (found <= 0) {
		if (found < 0 || !start)
			return found;           /* stopping a network that is gone: done */
		return op_failf(op, "cannot start: the network does not exist");
	}
	rc = start ? network_start(op, net) : network_stop(op, net);
	virNetworkFree(net);
	return rc;
}

static int network_apply(struct op *op)
{
	switch (op->a->type) {
	case VF_ACTION_CREATE:
		return network_create(op);
	case VF_ACTION_UPDATE:
		return network_update(op);
	case VF_ACTION_REPLACE:
		return network_delete(op, op->a->observed) < 0 ? -1 : network_create(op);
	case VF_ACTION_DELETE:
		return network_delete(op, op->a->observed);
	case VF_ACTION_START:
		return network_start_or_stop(op, true);
	case VF_ACTION_STOP:
		return network_start_or_stop(op, false);
	default:
		return op_failf(op, "unknown action");
	}
}

/* ---- iSCSI CHAP secrets ----
 *
 * A storage domain's CHAP secret is a libvirt secret (usage type iscsi,
 * usage target "virtform/PROJECT/NAME", private, persistent) that the
 * pool's <auth> names.  Its value is the opened sealed value, set with
 * virSecretSetValue and wiped from virtform's memory at once; its
 * description records the keyed hash of that value ("virtform chap hash
 * HEX"), which observe reads back to plan "(sealed value changed)".  The
 * value is set before the hash is written: after a crash in between, the
 * old hash makes the next plan set it again.
 */

#define CHAP_DESCRIPTION "virtform chap hash "
#define CHAP_PENDING "virtform chap (value not set yet)"

/* The iscsi secret named usage: 1 found, 0 none, -1 error. */
static int chap_find(struct op *op, const char *usage, virSecretPtr *sec)
{
	*sec = virSecretLookupByUsage(op->secrets, VIR_SECRET_USAGE_TYPE_ISCSI, usage);
	if (*sec)
		return 1;
	if (last_error_was(VIR_ERR_NO_SECRET))
		return 0;
	return op_fail(op, "look up the CHAP secret");
}

/* Define the secret named usage (uuid: redefine that one); NULL on failure. */
static virSecretPtr chap_define(struct op *op, const char *usage, const char *uuid,
				const char *description)
{
	char *xml, *xml_error = NULL;
	virSecretPtr sec;

	xml = vf_xml_secret_format(usage, uuid, description, &xml_error);
	if (!xml) {
		op_failf(op, "cannot define the CHAP secret: %s", xml_error);
		free(xml_error);
		return NULL;
	}
	sec = virSecretDefineXML(op->secrets, xml, 0);
	free(xml);
	if (!sec)
		op_fail(op, "define the CHAP secret");
	return sec;
}

/* A sealed value needs the key, which apply was not given: op fails. */
static int sealed_no_key(struct op *op, const char *what)
{
	return op_failf(op, "%s: cannot open the sealed value: no secret key was given "
			"(--secret-key FILE or VIRTFORM_SECRET_KEY)", what);
}

/* Open ref (what names it) into *clear; on failure op fails with the
 * opener's first diagnostic (FILE:LINE:COL when it has one).  0 or -1. */
static int sealed_open(struct op *op, const struct vf_secret_key *key,
		       const struct vf_secret_ref *ref, const char *what, struct vf_secret *clear)
{
	struct vf_diags d = { 0 };
	int rc = 0;

	if (vf_secret_open(key, ref, what, clear, &d) < 0) {
		const struct vf_diag *g = d.n ? &d.items[0] : NULL;
		if (g && g->pos.line)
			op_failf(op, "%s:%u:%u: %s", g->pos.file, g->pos.line, g->pos.col, g->message);
		else
			op_failf(op, "%s", g ? g->message : "cannot open the sealed value");
		rc = -1;
	}
	vf_diags_release(&d);
	return rc;
}

/* Make the CHAP secret of pool spec p hold its opened sealed value. */
static int chap_set(struct op *op, const struct vf_pool_spec *p)
{
	const struct vf_secret_key *key = vf_cloudinit_key();
	struct vf_secret clear = { 0 };
	char uuid[VIR_UUID_STRING_BUFLEN], hex[VF_SECRET_HASH_HEX], *description;
	virSecretPtr sec = NULL, again;
	int found, set, rc = -1;

	if (!key)
		return sealed_no_key(op, p->chap_what);
	found = chap_find(op, p->chap_usage, &sec);
	if (found < 0)
		return -1;
	if (!found && !(sec = chap_define(op, p->chap_usage, NULL, CHAP_PENDING)))
		return -1;
	if (virSecretGetUUIDString(sec, uuid) < 0) {
		op_fail(op, "read the CHAP secret's uuid");
		goto out;
	}
	if (sealed_open(op, key, p->chap_sealed, p->chap_what, &clear) < 0)
		goto out;
	vf_secret_hash(key, p->chap_what, &clear, hex);
	set = virSecretSetValue(sec, clear.data, clear.len, 0);
	vf_secret_wipe(&clear);
	if (set < 0) {
		op_fail(op, "set the CHAP secret's value");
		goto out;
	}
	hex[16] = '\0';
	description = xasprintf(CHAP_DESCRIPTION "%s", hex);
	again = chap_define(op, p->chap_usage, uuid, description);
	free(description);
	if (!again)
		goto out;
	virSecretFree(again);
	rc = 0;
out:
	virSecretFree(sec);
	return rc;
}

/*
 * Undefine the CHAP secret named usage, when it is one virtform made (its
 * usage starts "virtform/" and its description is virtform's); gone
 * already is fine.
 */
static int chap_delete(struct op *op, const char *usage)
{
	struct vf_arena arena = VF_ARENA_INIT;
	const char *uuid, *seen_usage, *description;
	char *xml, *xml_error = NULL;
	virSecretPtr sec;
	int found, rc = -1;

	if (!usage || strncmp(usage, "virtform/", 9))
		return 0;
	found = chap_find(op, usage, &sec);
	if (found <= 0)
		return found;
	xml = virSecretGetXMLDesc(sec, 0);
	if (!xml) {
		op_fail(op, "read the CHAP secret");
		goto out;
	}
	if (vf_xml_secret_parse(xml, &arena, &uuid, &seen_usage, &description, &xml_error) < 0) {
		op_failf(op, "cannot read the CHAP secret: %s", xml_error);
		goto out;
	}
	if (!description || strncmp(description, "virtform chap ", 14)) {
		rc = 0;             /* not ours: left alone */
		goto out;
	}
	if (virSecretUndefine(sec) == 0 || last_error_was(VIR_ERR_NO_SECRET))
		rc = 0;
	else
		op_fail(op, "undefine the CHAP secret");
out:
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	virSecretFree(sec);
	return rc;
}

/* ---- storage pools ---- */

static int pool_find(struct op *op, const char *name, virStoragePoolPtr *pool)
{
	*pool = virStoragePoolLookupByName(op->conn, name);
	if (*pool)
		return 1;
	if (last_error_was(VIR_ERR_NO_STORAGE_POOL))
		return 0;
	return op_fail(op, "look up the storage pool");
}

static int pool_active(virStoragePoolPtr pool)
{
	int active = virStoragePoolIsActive(pool);

	if (active < 0 && last_error_was(VIR_ERR_NO_STORAGE_POOL))
		return 0;
	return active;
}

/*
 * Whether building pool is harmless: only for dir (makes the directory)
 * and netfs (makes the mount point) pools, judged by the pool's own XML,
 * not by the desired spec — a name clash with an existing logical pool
 * must never get it built (that formats its devices).  A type virtform
 * cannot parse is not built.
 */
static int pool_buildable(struct op *op, virStoragePoolPtr pool)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_resource r = { .kind = VF_KIND_STORAGE };
	char *xml, *xml_error = NULL;
	int buildable;

	xml = vf_libvirt_pool_xml(pool);
	if (!xml)
		return op_fail(op, "read the storage pool's XML");
	buildable = vf_xml_pool_parse(xml, &arena, &r, &xml_error) == 0 &&
		    (r.u.pool.type == VF_STORAGE_DIR || r.u.pool.type == VF_STORAGE_NFS);
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	return buildable;
}

static int pool_start(struct op *op, virStoragePoolPtr pool)
{
	int active = pool_active(pool), buildable;

	if (active < 0)
		return op_fail(op, "start");
	if (active)
		return 0;
	buildable = pool_buildable(op, pool);
	if (buildable < 0)
		return -1;
	/* Build with no flags never overwrites: an existing directory is kept. */
	if (buildable && virStoragePoolBuild(pool, 0) < 0)
		return op_fail(op, "build");
	if (virStoragePoolCreate(pool, 0) == 0)
		return 0;
	op_fail(op, "start");
	return pool_active(pool) == 1 ? op_recovered(op) : -1;
}

static int pool_stop(struct op *op, virStoragePoolPtr pool)
{
	int active = pool_active(pool);

	if (active < 0)
		return op_fail(op, "stop");
	if (!active || virStoragePoolDestroy(pool) == 0)
		return 0;
	op_fail(op, "stop");
	return pool_active(pool) == 0 ? op_recovered(op) : -1;
}

static int pool_set_autostart(struct op *op, virStoragePoolPtr pool, bool on)
{
	return virStoragePoolSetAutostart(pool, on) < 0 ? op_fail(op, "set autostart") : 0;
}

static int pool_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virStoragePoolPtr pool;
	char *xml, *xml_error = NULL;
	int rc = -1, found;

	found = pool_find(op, object_name(op, d), &pool);
	if (found < 0)
		return -1;
	/* the secret first: the pool names it, and starting it logs in */
	if (d->u.pool.chap_usage && chap_set(op, &d->u.pool) < 0)
		goto out_pool;
	if (!found) {
		xml = vf_xml_pool_format(d, &xml_error);
		if (!xml) {
			op_failf(op, "cannot define: %s", xml_error);
			free(xml_error);
			return -1;
		}
		pool = virStoragePoolDefineXML(op->conn, xml, 0);
		free(xml);
		if (!pool)
			return op_fail(op, "define");
	}
	if (d->u.pool.active && pool_start(op, pool) < 0)
		goto out;
	rc = pool_set_autostart(op, pool, d->u.pool.autostart);
out:
	virStoragePoolFree(pool);
	return rc;
out_pool:
	if (found)
		virStoragePoolFree(pool);
	return -1;
}

/*
 * A new <auth> (CHAP added, removed, another username) is a new
 * persistent definition, the same pool (its uuid kept); an active pool
 * logs in with it at its next start.  A new CHAP secret only needs the
 * libvirt secret's value.
 */
static int pool_update_chap(struct op *op, virStoragePoolPtr pool)
{
	const struct vf_resource *d = op->a->desired, *o = op->a->observed;
	const char *old_usage = o ? o->u.pool.chap_usage : NULL;
	char uuid[VIR_UUID_STRING_BUFLEN], *xml, *xml_error = NULL;
	struct vf_resource r = *d;
	virStoragePoolPtr again;

	if (d->u.pool.chap_usage && chap_set(op, &d->u.pool) < 0)
		return -1;
	if (!action_changes(op->a, "chap.username") &&
	    (old_usage && d->u.pool.chap_usage ? !strcmp(old_usage, d->u.pool.chap_usage)
					       : old_usage == d->u.pool.chap_usage))
		return 0;
	if (virStoragePoolGetUUIDString(pool, uuid) < 0)
		return op_fail(op, "read the storage pool's uuid");
	r.uuid = uuid;
	xml = vf_xml_pool_format(&r, &xml_error);
	if (!xml) {
		op_failf(op, "cannot define: %s", xml_error);
		free(xml_error);
		return -1;
	}
	again = virStoragePoolDefineXML(op->conn, xml, 0);
	free(xml);
	if (!again)
		return op_fail(op, "define");
	virStoragePoolFree(again);
	if (old_usage && (!d->u.pool.chap_usage || strcmp(old_usage, d->u.pool.chap_usage)))
		return chap_delete(op, old_usage);
	return 0;
}

/* Autostart and CHAP change in place (field_class: the rest is replace). */
static int pool_update(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virStoragePoolPtr pool;
	int rc, found;

	found = pool_find(op, object_name(op, d), &pool);
	if (found <= 0)
		return found < 0 ? -1 : op_failf(op, "cannot update: the storage pool no longer exists");
	rc = 0;
	if (action_changes(op->a, "chap.username") || action_changes(op->a, "chap.secret"))
		rc = pool_update_chap(op, pool);
	if (rc == 0)
		rc = pool_set_autostart(op, pool, d->u.pool.autostart);
	virStoragePoolFree(pool);
	return rc;
}

/* Stop and forget the pool; its directory, volume group or LUNs stay. */
static int pool_delete(struct op *op, const struct vf_resource *observed)
{
	virStoragePoolPtr pool;
	int rc = -1, found;

	found = pool_find(op, object_name(op, observed), &pool);
	if (found < 0)
		return -1;
	if (!found) {
		rc = 0;
		goto secret;
	}
	if (pool_stop(op, pool) < 0)
		goto out;
	if (virStoragePoolUndefine(pool) == 0 || last_error_was(VIR_ERR_NO_STORAGE_POOL))
		rc = 0;
	else
		op_fail(op, "undefine");
out:
	virStoragePoolFree(pool);
secret:
	/* the CHAP secret it named goes with it (also on a retry that finds
	 * the pool gone already) */
	if (rc == 0 && observed && observed->u.pool.chap_usage)
		rc = chap_delete(op, observed->u.pool.chap_usage);
	return rc;
}

static int pool_start_or_stop(struct op *op, bool start)
{
	virStoragePoolPtr pool;
	int rc, found;

	found = pool_find(op, op->a->name, &pool);
	if (found <= 0) {
		if (found < 0 || !start)
			return found;
		return op_failf(op, "cannot start: the storage pool does not exist");
	}
	rc = start ? pool_start(op, pool) : pool_stop(op, pool);
	virStoragePoolFree(pool);
	return rc;
}

static int pool_apply(struct op *op)
{
	switch (op->a->type) {
	case VF_ACTION_CREATE:
		return pool_create(op);
	case VF_ACTION_UPDATE:
		return pool_update(op);
	case VF_ACTION_REPLACE:
		return pool_delete(op, op->a->observed) < 0 ? -1 : pool_create(op);
	case VF_ACTION_DELETE:
		return pool_delete(op, op->a->observed);
	case VF_ACTION_START:
		return pool_start_or_stop(op, true);
	case VF_ACTION_STOP:
		return pool_start_or_stop(op, false);
	default:
		return op_failf(op, "unknown action");
	}
}

/* ---- volumes ---- */

/* The pool a volume lives in; it must exist (1), or -1. */
static int volume_pool(struct op *op, const char *pool_name, virStoragePoolPtr *pool)
{
	int found = pool_find(op, pool_name, pool);

	if (found == 0)
		return op_failf(op, "storage pool '%s' does not exist on host %s", pool_name,
				op->a->host ? op->a->host : "?");
	return found;
}

static int volume_find(struct op *op, virStoragePoolPtr pool, const char *name,
		       virStorageVolPtr *vol)
{
	*vol = virStorageVolLookupByName(pool, name);
	if (*vol)
		return 1;
	if (last_error_was(VIR_ERR_NO_STORAGE_VOL))
		return 0;
	return op_fail(op, "look up the volume");
}

/*
 * Refresh pool, waiting out libvirt's refusal while the pool has
 * asynchronous jobs (a volume being built by another thread, libvirt's own
 * refresh after an upload).  That refusal is an internal error; any other
 * failure, or a pool that went inactive, ends the wait.
 */
static int pool_refresh(virStoragePoolPtr pool)
{
	uint64_t deadline = now_ms() + REFRESH_WAIT_MS;

	while (virStoragePoolRefresh(pool, 0) < 0) {
		if (virGetLastErrorCode() != VIR_ERR_INTERNAL_ERROR || now_ms() >= deadline)
			return -1;
		sleep_ms(POLL_INTERVAL_MS);
	}
	return 0;
}

/*
 * After a failed create: does the volume exist after all (another thread
 * or run made it, or a file libvirt had not seen yet)?  The failure is
 * already reported; libvirt's error may be overwritten here.
 */
static int volume_appeared(virStoragePoolPtr pool, const char *name)
{
	virStorageVolPtr vol;

	pool_refresh(pool);
	vol = virStorageVolLookupByName(pool, name);
	if (!vol)
		return 0;
	virStorageVolFree(vol);
	return 1;
}

static int volume_create_xml(struct op *op, virStoragePoolPtr pool, const struct vf_resource *r,
			     uint64_t capacity, const char *backing_path,
			     enum vf_image_format backing_format, virStorageVolPtr *vol)
{
	char *xml, *xml_error = NULL;

	xml = vf_xml_volume_format(r, capacity, backing_path, backing_format, &xml_error);
	if (!xml) {
		op_failf(op, "cannot create: %s", xml_error);
		free(xml_error);
		return -1;
	}
	*vol = virStorageVolCreateXML(pool, xml, 0);
	free(xml);
	if (!*vol)
		return op_fail(op, "create");
	vf_fault_point("volume-create", op_address(op));
	return 0;
}

/* A copy-on-write clone of the image volume desired->u.vol.backing, in the same pool. */
static int volume_clone(struct op *op, virStoragePoolPtr pool, virStorageVolPtr *vol)
{
	const struct vf_resource *d = op->a->desired;
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_resource image = { .kind = VF_KIND_VOLUME };
	virStorageVolPtr image_vol;
	char *xml = NULL, *xml_error = NULL, *verb, *path = NULL;
	uint64_t capacity;
	int rc = -1;

	image_vol = virStorageVolLookupByName(pool, d->u.vol.backing);
	if (!image_vol) {
		verb = xasprintf("find the image volume '%s'", d->u.vol.backing);
		op_fail(op, verb);
		free(verb);
		return -1;
	}
	/* One read gives the image's format, capacity and path. */
	xml = virStorageVolGetXMLDesc(image_vol, 0);
	if (!xml) {
		op_fail(op, "read the image volume");
		goto out;
	}
	if (vf_xml_volume_parse(xml, &arena, &image, &xml_error) < 0) {
		op_failf(op, "cannot read the image volume '%s': %s", d->u.vol.backing, xml_error);
		goto out;
	}
	if (!image.u.vol.path || !*image.u.vol.path) {
		path = virStorageVolGetPath(image_vol);
		if (!path) {
			op_fail(op, "read the image volume's path");
			goto out;
		}
	}
	capacity = d->u.vol.capacity ? d->u.vol.capacity : image.u.vol.capacity;
	if (capacity < image.u.vol.capacity) {
		op_failf(op, "cannot create: capacity %llu bytes is smaller than image '%s' (%llu bytes)",
			 (unsigned long long)capacity, d->u.vol.backing,
			 (unsigned long long)image.u.vol.capacity);
		goto out;
	}
	rc = volume_create_xml(op, pool, d, capacity, path ? path : image.u.vol.path,
			       image.u.vol.format, vol);
out:
	free(path);
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	virStorageVolFree(image_vol);
	return rc;
}

/* The local image file, read for an upload stream. */
struct upload_source {
	int fd;
	uint64_t size, sent;
	int error;              /* errno of a failed read, 0 */
	const char *address;    /* the action's, for the fault point */
	bool fault_checked;
};

static int upload_read(virStreamPtr stream, char *data, size_t nbytes, void *opaque)
{
	struct upload_source *src = opaque;
	size_t want = nbytes < UPLOAD_CHUNK ? nbytes : UPLOAD_CHUNK, got = 0;
	ssize_t n;

	(void)stream;
	if (src->sent && !src->fault_checked) {     /* the first chunk is sent */
		src->fault_checked = true;
		vf_fault_point("volume-upload", src->address);
	}
	if (want > src->size - src->sent)
		want = (size_t)(src->size - src->sent);   /* never past the announced length */
	while (got < want) {
		n = read(src->fd, data + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			src->error = errno;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	src->sent += got;
	return (int)got;
}

/*
 * A volume holding the bytes of desired->u.vol.upload_file, streamed from
 * here (nothing is copied to the host first).  It is created raw so that
 * libvirt writes no header of its own; the refresh afterwards lets libvirt
 * probe the real format (a qcow2 image shows as qcow2).  On failure the
 * half-written volume is deleted, so a retry uploads again.
 */
static int volume_upload(struct op *op, virStoragePoolPtr pool, virStorageVolPtr *vol)
{
	const struct vf_resource *d = op->a->desired;
	const char *file = d->u.vol.upload_file;
	struct upload_source src = { .fd = -1, .address = op_address(op) };
	struct vf_resource raw = *d;
	virStreamPtr stream = NULL;
	struct stat st;
	char *real = NULL, *why = NULL;
	int rc = -1;

	/* the file policy again, symlinks resolved now: never a file of the
	 * repository's choosing outside its directory */
	if (vf_image_open_check(file, d->u.vol.upload_root, &real, &why) < 0) {
		op_failf(op, "refused: %s", why);
		free(why);
		goto out;
	}
	src.fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(real);
	if (src.fd < 0 || fstat(src.fd, &st) < 0) {
		op_failf(op, "cannot read image file '%s': %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		op_failf(op, "image file '%s' is %s", file,
			 S_ISREG(st.st_mode) ? "empty" : "not a regular file");
		goto out;
	}
	src.size = (uint64_t)st.st_size;
	raw.u.vol.format = VF_FORMAT_RAW;
	raw.u.vol.backing = NULL;
	if (volume_create_xml(op, pool, &raw, src.size, NULL, VF_FORMAT_RAW, vol) < 0)
		goto out;

	stream = virStreamNew(op->conn, 0);
	if (!stream) {
		op_fail(op, "upload");
		goto undo;
	}
	if (virStorageVolUpload(*vol, stream, 0, src.size, 0) < 0) {
		op_fail(op, "upload");
		goto undo;
	}
	/* SendAll aborts the stream itself when it fails. */
	if (virStreamSendAll(stream, upload_read, &src) < 0) {
		if (src.error)
			op_failf(op, "cannot upload: cannot read '%s': %s", file, strerror(src.error));
		else
			op_fail(op, "upload");
		goto undo;
	}
	if (src.sent != src.size) {
		virStreamAbort(stream);
		op_failf(op, "cannot upload: '%s' changed size during the upload", file);
		goto undo;
	}
	if (virStreamFinish(stream) < 0) {
		op_fail(op, "upload");
		goto undo;
	}
	if (pool_refresh(pool) < 0) {
		op_fail(op, "refresh the storage pool after the upload");
		goto out;               /* the data is there: a retry refreshes */
	}
	rc = 0;
	goto out;

undo:
	virStorageVolDelete(*vol, 0);
	virStorageVolFree(*vol);
	*vol = NULL;
	virResetLastError();
out:
	if (stream)
		virStreamFree(stream);
	if (src.fd >= 0)
		close(src.fd);
	return rc;
}

/* The seed image in memory, read for an upload stream. */
struct memory_source {
	const unsigned char *data;
	size_t len, sent;
};

static int memory_read(virStreamPtr stream, char *data, size_t nbytes, void *opaque)
{
	struct memory_source *src = opaque;
	size_t n = src->len - src->sent;

	(void)stream;
	if (n > nbytes)
		n = nbytes;
	if (n > UPLOAD_CHUNK)
		n = UPLOAD_CHUNK;
	memcpy(data, src->data + src->sent, n);
	src->sent += n;
	return (int)n;
}

/*
 * Write seed's ISO image (reconcile/cloudinit.h: built here, in memory,
 * with its sealed values opened and wiped) as volume seed->volume of pool:
 * an old one is deleted first (its size changes with its content), the new
 * one created raw and filled with a libvirt stream, as an image upload is
 * (remote hosts too).  The image never touches this machine's disks.  On
 * failure the half-written volume is deleted.
 */
static int seed_write(struct op *op, virStoragePoolPtr pool, const struct vf_seed *seed,
		      virStorageVolPtr *vol)
{
	struct vf_resource r = { .kind = VF_KIND_VOLUME, .name = seed->volume };
	struct vf_secret iso = { 0 };
	struct memory_source src = { 0 };
	virStreamPtr stream = NULL;
	virStorageVolPtr old = NULL;
	char *error = NULL;
	int rc = -1;

	*vol = NULL;
	if (vf_seed_build(seed, &iso, &error) < 0) {
		op_failf(op, "cannot build the cloud-init seed: %s", error);
		free(error);
		return -1;
	}
	if (volume_find(op, pool, seed->volume, &old) < 0)
		goto out;
	if (old) {
		if (virStorageVolDelete(old, 0) < 0 && !last_error_was(VIR_ERR_NO_STORAGE_VOL)) {
			op_fail(op, "delete the old cloud-init seed volume");
			virStorageVolFree(old);
			goto out;
		}
		virStorageVolFree(old);
	}
	r.u.vol.pool = seed->pool;
	r.u.vol.format = VF_FORMAT_RAW;
	if (volume_create_xml(op, pool, &r, iso.len, NULL, VF_FORMAT_RAW, vol) < 0)
		goto out;
	src.data = iso.data;
	src.len = iso.len;
	stream = virStreamNew(op->conn, 0);
	if (!stream || virStorageVolUpload(*vol, stream, 0, iso.len, 0) < 0 ||
	    virStreamSendAll(stream, memory_read, &src) < 0 || virStreamFinish(stream) < 0) {
		op_fail(op, "upload the cloud-init seed");
		virStorageVolDelete(*vol, 0);
		virStorageVolFree(*vol);
		*vol = NULL;
		virResetLastError();
		goto out;
	}
	if (pool_refresh(pool) < 0) {
		op_fail(op, "refresh the storage pool after the upload");
		goto out;
	}
	rc = 0;
out:
	if (stream)
		virStreamFree(stream);
	vf_secret_wipe(&iso);
	return rc;
}

static int volume_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	const char *name = object_name(op, d);
	virStoragePoolPtr pool;
	virStorageVolPtr vol = NULL;
	int rc, found;

	if (volume_pool(op, d->u.vol.pool, &pool) < 0)
		return -1;
	/*
	 * libvirt's list first, refreshed only when a create fails: a refresh
	 * re-reads every volume of the pool (quadratic over a big apply) and
	 * is refused while another volume of the pool is being built.
	 */
	found = volume_find(op, pool, name, &vol);
	if (found < 0) {
		rc = -1;
	} else if (found) {
		/*
		 * Done already (it appeared since the plan read the host).  An
		 * upload cut short by a crash of virtform itself (a failed
		 * upload deletes its volume) leaves a volume of the right name
		 * and size with partial content: the intent journal in the
		 * state says so, and the next plan replaces it rather than
		 * create it here.  The refresh finishes an upload whose
		 * refresh was refused.
		 */
		rc = 0;
		if (d->u.vol.upload_file && pool_refresh(pool) < 0)
			rc = op_fail(op, "refresh the storage pool");
	} else if (d->u.vol.seed) {
		rc = seed_write(op, pool, d->u.vol.seed, &vol);
	} else if (d->u.vol.backing) {
		rc = volume_clone(op, pool, &vol);
	} else if (d->u.vol.upload_file) {
		rc = volume_upload(op, pool, &vol);
	} else {
		rc = volume_create_xml(op, pool, d, d->u.vol.capacity, NULL, VF_FORMAT_QCOW2, &vol);
	}
	if (rc < 0 && found == 0 && !vol && volume_appeared(pool, name))
		rc = op_recovered(op);
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	return rc;
}

/*
 * Grow a volume that is a disk of a running VM through the VM
 * (virDomainBlockResize), so the guest sees the new size at once and qemu,
 * which holds the image open, is not bypassed.  1: done that way; 0: not
 * attached to a running domain; -1: error.
 */
static int volume_grow_live(struct op *op, const struct vf_resource *d)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_resource vm = { .kind = VF_KIND_VM };
	const char *target = NULL;
	virDomainPtr dom;
	char *xml = NULL, *xml_error = NULL;
	size_t i;
	int rc = 0, active;

	dom = virDomainLookupByName(op->conn, d->u.vol.vm);
	if (!dom) {
		virResetLastError();
		return 0;
	}
	active = virDomainIsActive(dom);
	if (active <= 0) {
		virResetLastError();
		goto out;
	}
	xml = virDomainGetXMLDesc(dom, 0);      /* live: what qemu has open */
	if (!xml) {
		rc = op_fail(op, "read the domain using the volume");
		goto out;
	}
	if (vf_xml_domain_parse(xml, &arena, &vm, &xml_error) < 0) {
		rc = op_failf(op, "cannot read domain '%s': %s", d->u.vol.vm, xml_error);
		goto out;
	}
	for (i = 0; i < vm.u.vm.n_disks && !target; i++) {
		const struct vf_disk_spec *disk = &vm.u.vm.disks[i];

		if (disk->pool && disk->volume && !strcmp(disk->pool, d->u.vol.pool) &&
		    !strcmp(disk->volume, d->name))
			target = disk->target;
	}
	if (!target)
		goto out;
	if (virDomainBlockResize(dom, target, d->u.vol.capacity, VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0)
		rc = op_fail(op, "resize the running VM's disk");
	else
		rc = 1;
out:
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	virDomainFree(dom);
	return rc;
}

/* Capacity only grows (the engine refuses shrinks); other fields replace. */
static int volume_update(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virStoragePoolPtr pool;
	virStorageVolPtr vol = NULL;
	virStorageVolInfo info;
	int rc = -1, found, live;

	if (volume_pool(op, d->u.vol.pool, &pool) < 0)
		return -1;
	found = volume_find(op, pool, object_name(op, d), &vol);
	if (found <= 0) {
		if (found == 0)
			op_failf(op, "cannot update: the volume no longer exists");
		goto out;
	}
	if (virStorageVolGetInfo(vol, &info) < 0) {
		op_fail(op, "read the volume's capacity");
		goto out;
	}
	if (!d->u.vol.capacity || info.capacity >= d->u.vol.capacity) {
		rc = 0;                 /* grown already (or nothing asked) */
		goto out;
	}
	live = d->u.vol.vm ? volume_grow_live(op, d) : 0;
	if (live < 0)
		goto out;
	if (!live && virStorageVolResize(vol, d->u.vol.capacity, 0) < 0) {
		op_fail(op, "resize");
		goto out;
	}
	rc = 0;
out:
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	return rc;
}

static int volume_delete(struct op *op, const struct vf_resource *observed)
{
	const char *pool_name = observed ? observed->u.vol.pool : NULL;
	virStoragePoolPtr pool;
	virStorageVolPtr vol;
	int rc = -1, found;

	if (!pool_name)
		return op_failf(op, "cannot delete: the volume's pool is unknown");
	found = pool_find(op, pool_name, &pool);
	if (found <= 0)
		return found;           /* no pool, no volume */
	found = volume_find(op, pool, object_name(op, observed), &vol);
	if (found <= 0) {
		rc = found;
		goto out;
	}
	if (virStorageVolDelete(vol, 0) == 0 || last_error_was(VIR_ERR_NO_STORAGE_VOL))
		rc = 0;
	else
		op_fail(op, "delete");
	virStorageVolFree(vol);
out:
	virStoragePoolFree(pool);
	return rc;
}

static int volume_apply(struct op *op)
{
	switch (op->a->type) {
	case VF_ACTION_CREATE:
		return volume_create(op);
	case VF_ACTION_UPDATE:
		return volume_update(op);
	case VF_ACTION_REPLACE:
		return volume_delete(op, op->a->observed) < 0 ? -1 : volume_create(op);
	case VF_ACTION_DELETE:
		return volume_delete(op, op->a->observed);
	case VF_ACTION_START:
	case VF_ACTION_STOP:
		return 0;               /* a volume has no run state */
	default:
		return op_failf(op, "unknown action");
	}
}

/* ---- VMs (domains) ---- */

static int domain_find(struct op *op, const char *name, virDomainPtr *dom)
{
	*dom = virDomainLookupByName(op->conn, name);
	if (*dom)
		return 1;
	if (last_error_was(VIR_ERR_NO_DOMAIN))
		return 0;
	return op_fail(op, "look up the domain");
}

/* 1 running, 0 not (or gone: a transient domain goes when it stops), -1. */
static int domain_active(virDomainPtr dom)
{
	int active = virDomainIsActive(dom);

	if (active < 0 && last_error_was(VIR_ERR_NO_DOMAIN))
		return 0;
	return active;
}

/*
 * The one ownership check, redone at apply time because the plan's
 * observation may be stale.  Refuse to touch a domain virtform does not
 * own: without the marker it is someone else's; with another project's
 * marker (project != NULL) it is another config's.  An import
 * (importing) takes a domain without a marker (or one it cannot read),
 * never another project's.  1 ours (or free to import), 0 gone
 * meanwhile, -1 refused or error.
 */
static int domain_check_owner(struct op *op, virDomainPtr dom, const char *project,
			      bool importing)
{
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_resource r = { .kind = VF_KIND_VM };
	const char *name = virDomainGetName(dom);
	char *xml, *xml_error = NULL;
	int rc = 1;

	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	if (!xml)
		return last_error_was(VIR_ERR_NO_DOMAIN) ? 0 : op_fail(op, "read the domain");
	if (vf_xml_domain_parse(xml, &arena, &r, &xml_error) < 0) {
		if (importing)
			;
		else if (strstr(xml, VF_XML_NS))
			rc = op_failf(op, "cannot read domain '%s': %s", name, xml_error);
		else
			rc = op_failf(op, "refusing to touch unmanaged domain '%s'", name);
	} else if (!r.u.vm.marker.project) {
		if (!importing)
			rc = op_failf(op, "refusing to touch unmanaged domain '%s' (no virtform marker)",
				      name);
	} else if (project && strcmp(project, r.u.vm.marker.project)) {
		rc = op_failf(op, "refusing to %s domain '%s': it belongs to project '%s'",
			      importing ? "import" : "touch", name, r.u.vm.marker.project);
	}
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	return rc;
}

/* Find name and check it is ours: 1 found and ours, 0 absent, -1. */
static int domain_find_owned(struct op *op, const char *name, const char *project,
			     virDomainPtr *dom)
{
	int found = domain_find(op, name, dom);

	if (found <= 0)
		return found;
	found = domain_check_owner(op, *dom, project, false);
	if (found <= 0) {
		virDomainFree(*dom);
		*dom = NULL;
	}
	return found;
}

/*
 * The opened graphics password of vm (its sealed value, opened here at
 * apply only) into *clear; 0 (nothing to open, or opened) or -1 (failed:
 * no key, not openable, or not a password the console takes).
 */
static int graphics_open(struct op *op, const struct vf_vm_spec *vm, struct vf_secret *clear)
{
	const struct vf_secret_key *key = vf_cloudinit_key();

	if (!vm->graphics_sealed || vm->graphics == VF_GRAPHICS_NONE)
		return 0;
	if (!key)
		return sealed_no_key(op, vm->graphics_what);
	if (sealed_open(op, key, vm->graphics_sealed, vm->graphics_what, clear) < 0)
		return -1;
	if (!clear->len || strlen((const char *)clear->data) != clear->len ||
	    (vm->graphics == VF_GRAPHICS_VNC && clear->len > 8)) {
		vf_secret_wipe(clear);
		return op_failf(op, "%s:%u:%u: %s: %s; seal another one", vm->graphics_sealed->pos.file,
				vm->graphics_sealed->pos.line, vm->graphics_sealed->pos.col,
				vm->graphics_what,
				vm->graphics == VF_GRAPHICS_VNC
				? "a VNC password is 1 to 8 characters (VNC uses no more), without NUL"
				: "the password is empty or holds a NUL");
	}
	return 0;
}

/* Define desired; with old, keep its uuid so the redefine replaces it. */
static int domain_define(struct op *op, const struct vf_resource *desired, virDomainPtr old,
			 virDomainPtr *dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN], *xml, *xml_error = NULL;
	struct vf_resource r = *desired;
	struct vf_secret passwd = { 0 };

	if (old) {
		if (virDomainGetUUIDString(old, uuid) < 0)
			return op_fail(op, "read the domain's uuid");
		r.uuid = uuid;
	}
	if (graphics_open(op, &r.u.vm, &passwd) < 0)
		return -1;
	xml = vf_xml_domain_format(&r, passwd.data ? (const char *)passwd.data : NULL, &xml_error);
	if (!xml) {
		vf_secret_wipe(&passwd);
		op_failf(op, "cannot define: %s", xml_error);
		free(xml_error);
		return -1;
	}
	*dom = virDomainDefineXML(op->conn, xml);
	if (passwd.data)
		sodium_memzero(xml, strlen(xml));
	vf_secret_wipe(&passwd);
	free(xml);
	if (!*dom)
		return op_fail(op, "define");
	vf_fault_point("define", op_address(op));
	return 0;
}

static int domain_start(struct op *op, virDomainPtr dom)
{
	int active = domain_active(dom);

	if (active < 0)
		return op_fail(op, "start");
	if (active)
		return 0;
	if (virDomainCreate(dom) == 0) {
		vf_fault_point("start", op_address(op));
		return 0;
	}
	op_fail(op, "start");
	return domain_active(dom) == 1 ? op_recovered(op) : -1;
}

/*
 * Ask the guest to power off (ACPI power button), poll every 100 ms, and
 * force it off after timeout seconds.  A guest that cannot be asked (the
 * request fails) is forced off at once: waiting would change nothing.
 */
static int domain_stop(struct op *op, virDomainPtr dom, unsigned timeout)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout * 1000;
	bool asked;
	int active;

	active = domain_active(dom);
	if (active <= 0)
		return active < 0 ? op_fail(op, "stop") : 0;
	asked = virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0;
	if (!asked) {
		virResetLastError();
		/* A driver without the ACPI flag: let it pick the method. */
		asked = virDomainShutdown(dom) == 0;
		virResetLastError();
	}
	for (;;) {
		active = domain_active(dom);
		if (active <= 0)
			return active < 0 ? op_fail(op, "stop") : 0;
		if (!asked || now_ms() >= deadline)
			break;
		sleep_ms(POLL_INTERVAL_MS);
	}
	if (virDomainDestroy(dom) == 0)
		return 0;
	op_fail(op, "force off");
	return domain_active(dom) == 0 ? op_recovered(op) : -1;
}

/*
 * Undefine with everything libvirt keeps beside the definition (NVRAM,
 * managed save, snapshot and checkpoint metadata), falling back to fewer
 * flags for drivers that refuse some.
 */
static int domain_undefine(struct op *op, virDomainPtr dom)
{
	static const unsigned int flag_sets[] = {
		VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
			VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
		VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
			VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
		VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
		0,
	};
	size_t i;
	int code;

	for (i = 0; i < VF_ARRAY_SIZE(flag_sets); i++) {
		if (virDomainUndefineFlags(dom, flag_sets[i]) == 0)
			return 0;
		code = virGetLastErrorCode();
		if (code == VIR_ERR_NO_DOMAIN) {
			virResetLastError();   /* transient: went when it stopped */
			return 0;
		}
		if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT &&
		    code != VIR_ERR_ARGUMENT_UNSUPPORTED)
			break;
	}
	return op_fail(op, "undefine");
}

static const char *marker_project(const struct vf_resource *r)
{
	return r ? r->u.vm.marker.project : NULL;
}

static int vm_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virDomainPtr old = NULL, dom = NULL;
	int rc = -1;

	if (domain_find_owned(op, object_name(op, d), marker_project(d), &old) < 0)
		return -1;
	if (domain_define(op, d, old, &dom) < 0)
		goto out;
	if (virDomainSetAutostart(dom, d->u.vm.autostart) < 0) {
		op_fail(op, "set autostart");
		goto out;
	}
	rc = d->u.vm.running ? domain_start(op, dom) : 0;
out:
	if (old)
		virDomainFree(old);
	if (dom)
		virDomainFree(dom);
	return rc;
}


/* Field paths waiting for a restart, space-separated, each once. */
struct waits {
	char *paths;             /* malloc'd; NULL: none */
};

static void waits_add(struct waits *w, const char *path)
{
	char *more;

	if (vf_libvirt_path_listed(w->paths, path))
		return;
	more = w->paths ? xasprintf("%s %s", w->paths, path) : xstrdup(path);
	free(w->paths);
	w->paths = more;
}

/* Add each space-separated path of list. */
static void waits_add_list(struct waits *w, const char *list)
{
	char *copy = list ? xstrdup(list) : NULL, *save = NULL, *tok;

	for (tok = copy ? strtok_r(copy, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save))
		waits_add(w, tok);
	free(copy);
}

static const struct vf_nic_spec *nic_by_mac(const struct vf_vm_spec *vm, const uint8_t mac[6])
{
	size_t i;

	for (i = 0; i < vm->n_nics; i++)
		if (!memcmp(vm->nics[i].mac, mac, 6))
			return &vm->nics[i];
	return NULL;
}

/* Attach (attach true), detach or update one NIC of the running domain. */
static int nic_live(struct op *op, virDomainPtr dom, const struct vf_nic_spec *nic,
		    int (*fn)(virDomainPtr, const char *, unsigned int), const char *verb)
{
	char mac[18], *xml, *xml_error = NULL;
	int rc = 0;

	vf_mac_format(nic->mac, mac);
	xml = vf_xml_interface_format(nic, &xml_error);
	if (!xml) {
		rc = op_failf(op, "cannot %s NIC %s: %s", verb, mac, xml_error);
		free(xml_error);
		return rc;
	}
	if (fn(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		char *what = xasprintf("%s NIC %s", verb, mac);
		rc = op_fail(op, what);
		free(what);
	}
	free(xml);
	return rc;
}

/*
 * Make the running domain match desired where the plan said the change is
 * live (changes_live: the diff hints, hints.c), judged against its live
 * XML (so a retry does not repeat what is done): memory through the
 * balloon, more vCPUs, NICs by MAC — plugged, unplugged, or moved to
 * another network — and the description.  What cannot change live is
 * left to the new definition written next.
 *
 * An unplug is a request the guest acts on (ACPI); libvirt waits a few
 * seconds for it and the new definition drops the NIC either way, so it is
 * gone at the next restart at the latest.
 */
static int vm_update_live(struct op *op, virDomainPtr dom)
{
	const struct vf_vm_spec *d = &op->a->desired->u.vm;
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_resource live = { .kind = VF_KIND_VM };
	const struct vf_vm_spec *l = &live.u.vm;
	char *xml, *xml_error = NULL;
	size_t i;
	int rc = -1;

	xml = virDomainGetXMLDesc(dom, 0);
	if (!xml)
		return op_fail(op, "read the running domain");
	if (vf_xml_domain_parse(xml, &arena, &live, &xml_error) < 0) {
		op_failf(op, "cannot read the running domain: %s", xml_error);
		goto out;
	}
	if (domain_active(dom) != 1) {
		rc = 0;                 /* stopped meanwhile: the definition is enough */
		goto out;
	}
	if (changes_live(op->a, "memory") &&
	    virDomainSetMemoryFlags(dom, d->memory / 1024, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		op_fail(op, "change the memory of the running VM");
		goto out;
	}
	if (d->cpus > l->cpus && changes_live(op->a, "cpus") &&
	    virDomainSetVcpusFlags(dom, d->cpus, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		op_fail(op, "add vCPUs to the running VM");
		goto out;
	}
	for (i = 0; i < l->n_nics; i++)
		if (!nic_by_mac(d, l->nics[i].mac) &&
		    nic_live(op, dom, &l->nics[i], virDomainDetachDeviceFlags, "unplug") < 0)
			goto out;
	for (i = 0; i < d->n_nics; i++) {
		const struct vf_nic_spec *have = nic_by_mac(l, d->nics[i].mac);
		if (!have) {
			if (nic_live(op, dom, &d->nics[i], virDomainAttachDeviceFlags, "plug") < 0)
				goto out;
		} else if (strcmp(have->network, d->nics[i].network)) {
			struct vf_nic_spec moved = *have;     /* same model: that one waits */
			moved.network = d->nics[i].network;
			if (nic_live(op, dom, &moved, virDomainUpdateDeviceFlags, "move") < 0)
				goto out;
		}
	}
	if (action_changes(op->a, "description") &&
	    virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_DESCRIPTION, d->description, NULL,
				 NULL, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		op_fail(op, "set the description");
		goto out;
	}
	rc = 0;
out:
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	return rc;
}

/*
 * Live changes first (on a running VM), then the new persistent
 * definition (what the next start uses) and autostart.  With
 * restart_policy: allow and a change only a restart brings (the plan's
 * action->restart), the VM is shut down gracefully and started again.
 */
static int vm_update(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	struct vf_resource r;
	struct waits waits = { NULL };
	virDomainPtr old = NULL, dom = NULL;
	int rc = -1, found, active;

	found = domain_find_owned(op, object_name(op, d), marker_project(d), &old);
	if (found <= 0)
		return found < 0 ? -1 : op_failf(op, "cannot update: the domain no longer exists");
	active = domain_active(old);
	if (active < 0) {
		op_fail(op, "read the domain's state");
		goto out;
	}
	if (active && !op->a->restart) {
		/* what waits for a restart is remembered in the marker, so plans
		 * can say so until the VM restarts */
		size_t i;
		if (op->a->observed)
			waits_add_list(&waits, op->a->observed->u.vm.marker.pending);
		for (i = 0; i < op->a->n_fields; i++)
			if (change_class(op->a, &op->a->fields[i]) == VF_FIELD_RESTART)
				waits_add(&waits, op->a->fields[i].after.present
							  ? op->a->fields[i].after.path
							  : op->a->fields[i].before.path);
		if (vm_update_live(op, old) < 0)
			goto out;
	}
	/* new cloud-init data: a new seed (read at first boot only; the VM
	 * is not restarted for it) */
	if (d->u.vm.seed && action_changes(op->a, "cloud_init")) {
		virStoragePoolPtr pool;
		virStorageVolPtr vol = NULL;
		int wrote;
		if (volume_pool(op, d->u.vm.seed->pool, &pool) < 0)
			goto out;
		wrote = seed_write(op, pool, d->u.vm.seed, &vol);
		if (vol)
			virStorageVolFree(vol);
		virStoragePoolFree(pool);
		if (wrote < 0)
			goto out;
	}
	r = *d;
	r.u.vm.marker.pending = waits.paths;
	r.u.vm.marker.pending_id = waits.paths ? virDomainGetID(old) : 0;
	if (domain_define(op, &r, old, &dom) < 0)
		goto out;
	if (virDomainSetAutostart(dom, d->u.vm.autostart) < 0) {
		op_fail(op, "set autostart");
		goto out;
	}
	if (op->a->restart && active &&
	    (domain_stop(op, dom, op->a->shutdown_timeout) < 0 || domain_start(op, dom) < 0))
		goto out;
	virResetLastError();
	rc = 0;
out:
	free(waits.paths);
	virDomainFree(old);
	if (dom)
		virDomainFree(dom);
	return rc;
}

static int vm_delete(struct op *op, const struct vf_resource *observed)
{
	virDomainPtr dom;
	int rc = -1, found;

	found = domain_find_owned(op, object_name(op, observed), marker_project(observed), &dom);
	if (found <= 0)
		return found;
	if (domain_stop(op, dom, op->a->shutdown_timeout) == 0)
		rc = domain_undefine(op, dom);
	virDomainFree(dom);
	return rc;
}

static int vm_start_or_stop(struct op *op, bool start)
{
	const struct vf_resource *r = start ? op->a->desired : op->a->observed;
	virDomainPtr dom;
	int rc, found;

	found = domain_find_owned(op, object_name(op, r), marker_project(r), &dom);
	if (found <= 0) {
		if (found < 0 || !start)
			return found;
		return op_failf(op, "cannot start: the domain does not exist");
	}
	rc = start ? domain_start(op, dom) : domain_stop(op, dom, op->a->shutdown_timeout);
	virDomainFree(dom);
	return rc;
}

static int vm_apply(struct op *op)
{
	switch (op->a->type) {
	case VF_ACTION_CREATE:
		return vm_create(op);
	case VF_ACTION_UPDATE:
		return vm_update(op);
	case VF_ACTION_REPLACE:
		return vm_delete(op, op->a->observed) < 0 ? -1 : vm_create(op);
	case VF_ACTION_DELETE:
		return vm_delete(op, op->a->observed);
	case VF_ACTION_START:
		return vm_start_or_stop(op, true);
	case VF_ACTION_STOP:
		return vm_start_or_stop(op, false);
	default:
		return op_failf(op, "unknown action");
	}
}

/* ---- the provider operations ---- */

/*
 * Import: write the marker into the domain's definition (and the running
 * domain's, so both agree) with virDomainSetMetadata — nothing else of the
 * domain changes.  The ownership check is redone here: a domain that got
 * a marker since it was observed is refused.
 */
int vf_libvirt_adopt(struct vf_session *s, const struct vf_resource *r, char **error)
{
	struct vf_action a = { .type = VF_ACTION_UPDATE, .kind = r->kind, .address = r->address,
			       .name = r->name, .host = r->host, .observed = r };
	struct op op = { s->conn, &a, error, s->secrets };
	virDomainPtr dom = NULL;
	char *marker = NULL, *xml_error = NULL;
	unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
	int rc = -1, found;

	*error = NULL;
	if (r->kind != VF_KIND_VM)
		return op_failf(&op, "cannot import: only domains carry a marker");
	found = domain_find(&op, r->name, &dom);
	if (found <= 0) {
		if (found == 0)
			op_failf(&op, "cannot import: domain '%s' no longer exists", r->name);
		goto out;
	}
	found = domain_check_owner(&op, dom, r->u.vm.marker.project, true);
	if (found <= 0) {
		if (found == 0)
			op_failf(&op, "cannot import: domain '%s' no longer exists", r->name);
		goto out;
	}
	marker = vf_xml_marker_format(r, &xml_error);
	if (!marker) {
		op_failf(&op, "cannot import: %s", xml_error);
		goto out;
	}
	if (domain_active(dom) == 1)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, marker, VF_XML_NS_PREFIX,
				 VF_XML_NS, flags) < 0) {
		op_fail(&op, "write the virtform marker");
		goto out;
	}
	rc = 0;
out:
	free(xml_error);
	free(marker);
	if (dom)
		virDomainFree(dom);
	return rc;
}

int vf_libvirt_apply(struct vf_session *s, const struct vf_action *a, char **error)
{
	struct op op = { s->conn, a, error, s->secrets };

	*error = NULL;
	switch (a->type) {
	case VF_ACTION_CREATE:
	case VF_ACTION_UPDATE:
	case VF_ACTION_REPLACE:
	case VF_ACTION_START:
		if (!a->desired)
			return op_failf(&op, "cannot apply: the action has no desired resource");
		break;
	default:
		break;
	}
	switch (a->kind) {
	case VF_KIND_NETWORK:
		return network_apply(&op);
	case VF_KIND_STORAGE:
		return pool_apply(&op);
	case VF_KIND_VOLUME:
		return volume_apply(&op);
	case VF_KIND_VM:
		return vm_apply(&op);
	default:
		return op_failf(&op, "unknown resource kind");
	}
}

/* Tests only: libvirt's test driver has no secrets. */
static virConnectPtr secret_conn;

void vf_libvirt_set_secret_conn(virConnectPtr conn)
{
	secret_conn = conn;
}

virConnectPtr vf_libvirt_secret_conn(void)
{
	return secret_conn;
}

struct vf_session *vf_libvirt_session_open(const char *uri, char **error)
{
	struct vf_session *s;
	virConnectPtr conn;

	*error = NULL;
	conn = vf_libvirt_open(uri, 0, error);
	if (!conn)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->uri = xstrdup(uri);
	s->secrets = secret_conn ? secret_conn : conn;
	return s;
}

void vf_libvirt_session_close(struct vf_session *s)
{
	if (!s)
		return;
	virConnectClose(s->conn);
	free(s->uri);
	free(s);
}

virConnectPtr vf_libvirt_session_conn(struct vf_session *s)
{
	return s->conn;
}
