/*
 * domain.c — apply for VMs (libvirt domains): define, stop (graceful,
 * then forced), undefine, the changes made to a running domain
 * (memory, vCPUs, NICs, description: as the diff hints in hints.c say),
 * what waits for a restart (the marker's pending list), and import
 * (adopt: the marker written into an existing domain).  The steps VMs
 * share with networks and pools (look up, start, autostart, delete, the
 * start and stop actions) are object.c's, over domain_class.
 *
 * A domain is touched only when its current XML carries virtform's
 * marker (and, when the action knows it, the same project): the check
 * (domain_check_owner) is redone here because the plan's observation may
 * be stale.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "providers/libvirt/internal.h"
#include "reconcile/cloudinit.h"
#include "reconcile/fault.h"

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

/* libvirt's calls on domains, for the steps object.c takes: at the end. */
static const struct vf_object_class domain_class;

static const char *marker_project(const struct vf_resource *r)
{
	return r ? r->u.vm.marker.project : NULL;
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
		return last_error_was(VIR_ERR_NO_DOMAIN) ? 0 : vf_op_fail(op, "read the domain");
	if (vf_xml_domain_parse(xml, &arena, &r, &xml_error) < 0) {
		if (importing)
			;
		else if (strstr(xml, VF_XML_NS))
			rc = vf_op_failf(op, "cannot read domain '%s': %s", name, xml_error);
		else
			rc = vf_op_failf(op, "refusing to touch unmanaged domain '%s'", name);
	} else if (!r.u.vm.marker.project) {
		if (!importing)
			rc = vf_op_failf(op,
					 "refusing to touch unmanaged domain '%s' (no virtform marker)",
				      name);
	} else if (project && strcmp(project, r.u.vm.marker.project)) {
		rc = vf_op_failf(op, "refusing to %s domain '%s': it belongs to project '%s'",
				 importing ? "import" : "touch", name, r.u.vm.marker.project);
	}
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	return rc;
}

/* After a lookup of r's domain: is it ours (object.c)?  1, 0 gone, -1. */
static int domain_owned(struct op *op, void *dom, const struct vf_resource *r)
{
	return domain_check_owner(op, dom, marker_project(r), false);
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
		return vf_libvirt_sealed_no_key(op, vm->graphics_what);
	if (vf_libvirt_sealed_open(op, key, vm->graphics_sealed, vm->graphics_what, clear) < 0)
		return -1;
	if (!clear->len || strlen((const char *)clear->data) != clear->len ||
	    (vm->graphics == VF_GRAPHICS_VNC && clear->len > 8)) {
		vf_secret_wipe(clear);
		return vf_op_failf(op, "%s:%u:%u: %s: %s; seal another one",
				   vm->graphics_sealed->pos.file,
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
			return vf_op_fail(op, "read the domain's uuid");
		r.uuid = uuid;
	}
	if (graphics_open(op, &r.u.vm, &passwd) < 0)
		return -1;
	xml = vf_xml_domain_format(&r, passwd.data ? (const char *)passwd.data : NULL, &xml_error);
	if (!xml) {
		vf_secret_wipe(&passwd);
		vf_op_failf(op, "cannot define: %s", xml_error);
		free(xml_error);
		return -1;
	}
	*dom = virDomainDefineXML(op->conn, xml);
	if (passwd.data)
		sodium_memzero(xml, strlen(xml));
	vf_secret_wipe(&passwd);
	free(xml);
	if (!*dom)
		return vf_op_fail(op, "define");
	vf_fault_point("define", op_address(op));
	return 0;
}

/* A crash test may kill apply right after a start (fault.h). */
static void domain_started(struct op *op)
{
	vf_fault_point("start", op_address(op));
}

/*
 * Ask the guest to power off (ACPI power button), poll every 100 ms, and
 * force it off after timeout seconds.  A guest that cannot be asked (the
 * request fails) is forced off at once: waiting would change nothing.
 */
static int domain_stop(struct op *op, void *dom)
{
	double deadline = vf_now() + op->a->shutdown_timeout;
	bool asked;
	int active;

	active = vf_libvirt_object_active(&domain_class, dom);
	if (active <= 0)
		return active < 0 ? vf_op_fail(op, "stop") : 0;
	asked = virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0;
	if (!asked) {
		virResetLastError();
		/* A driver without the ACPI flag: let it pick the method. */
		asked = virDomainShutdown(dom) == 0;
		virResetLastError();
	}
	for (;;) {
		active = vf_libvirt_object_active(&domain_class, dom);
		if (active <= 0)
			return active < 0 ? vf_op_fail(op, "stop") : 0;
		if (!asked || vf_now() >= deadline)
			break;
		sleep_ms(POLL_INTERVAL_MS);
	}
	if (virDomainDestroy(dom) == 0)
		return 0;
	vf_op_fail(op, "force off");
	return vf_libvirt_object_active(&domain_class, dom) == 0 ? vf_op_recovered(op) : -1;
}

/*
 * Undefine with everything libvirt keeps beside the definition (NVRAM,
 * managed save, snapshot and checkpoint metadata), falling back to fewer
 * flags for drivers that refuse some.  0, or -1 with libvirt's error;
 * object.c takes "no such domain" as done (a transient domain goes when
 * it stops).
 */
static int domain_undefine(void *dom)
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
		if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT &&
		    code != VIR_ERR_ARGUMENT_UNSUPPORTED)
			break;
	}
	return -1;
}

static int vm_create(struct op *op)
{
	const struct vf_resource *d = op->a->desired;
	virDomainPtr dom = NULL;
	void *old = NULL;
	int rc = -1;

	if (vf_libvirt_object_find(op, &domain_class, d, &old) < 0)
		return -1;
	if (domain_define(op, d, old, &dom) < 0 ||
	    vf_libvirt_object_set_autostart(op, &domain_class, dom, d->u.vm.autostart) < 0)
		goto out;
	rc = d->u.vm.running ? vf_libvirt_object_start(op, &domain_class, dom) : 0;
out:
	if (old)
		virDomainFree(old);
	if (dom)
		virDomainFree(dom);
	return rc;
}

/* Field paths waiting for a restart, space-separated, each once. */
struct waits {
	struct vf_buf paths;
};

static void waits_add(struct waits *w, const char *path)
{
	if (!vf_libvirt_path_listed(w->paths.buf, path))
		vf_buf_addsep(&w->paths, " ", path);
}

/*
 * Add the paths of a's changes that wait for a restart: first those that
 * do whatever the values (a new max_memory), then those that wait only
 * because they outgrow the running maximum (memory, vCPUs): the marker's
 * list, which plans show, keeps that order.
 */
static void waits_add_restarts(struct waits *w, const struct vf_action *a)
{
	size_t i, pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < a->n_fields; i++) {
			const struct vf_field_change *c = &a->fields[i];
			bool always = vf_libvirt_field_class(a->kind, &c->before, &c->after) ==
				      VF_FIELD_RESTART;
			if (always == (pass == 0) && change_class(a, c) == VF_FIELD_RESTART)
				waits_add(w, c->after.present ? c->after.path : c->before.path);
		}
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
		rc = vf_op_failf(op, "cannot %s NIC %s: %s", verb, mac, xml_error);
		free(xml_error);
		return rc;
	}
	if (fn(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		char *what = xasprintf("%s NIC %s", verb, mac);
		rc = vf_op_fail(op, what);
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
		return vf_op_fail(op, "read the running domain");
	if (vf_xml_domain_parse(xml, &arena, &live, &xml_error) < 0) {
		vf_op_failf(op, "cannot read the running domain: %s", xml_error);
		goto out;
	}
	if (vf_libvirt_object_active(&domain_class, dom) != 1) {
		rc = 0;                 /* stopped meanwhile: the definition is enough */
		goto out;
	}
	if (changes_live(op->a, "memory") &&
	    virDomainSetMemoryFlags(dom, d->memory / 1024, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		vf_op_fail(op, "change the memory of the running VM");
		goto out;
	}
	if (d->cpus > l->cpus && changes_live(op->a, "cpus") &&
	    virDomainSetVcpusFlags(dom, d->cpus, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		vf_op_fail(op, "add vCPUs to the running VM");
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
	if (vf_op_changes(op->a, "description") &&
	    virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_DESCRIPTION, d->description, NULL,
				 NULL, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		vf_op_fail(op, "set the description");
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
	struct waits waits = { VF_BUF_INIT };
	virDomainPtr dom = NULL;
	void *old = NULL;
	int rc = -1, found, active;

	found = vf_libvirt_object_find(op, &domain_class, d, &old);
	if (found <= 0)
		return found < 0 ? -1 : vf_op_failf(op,
						    "cannot update: the domain no longer exists");
	active = vf_libvirt_object_active(&domain_class, old);
	if (active < 0) {
		vf_op_fail(op, "read the domain's state");
		goto out;
	}
	if (active && !op->a->restart) {
		/* what waits for a restart is remembered in the marker, so plans
		 * can say so until the VM restarts */
		if (op->a->observed)
			waits_add_list(&waits, op->a->observed->u.vm.marker.pending);
		waits_add_restarts(&waits, op->a);
		if (vm_update_live(op, old) < 0)
			goto out;
	}
	/* new cloud-init data: a new seed (read at first boot only; the VM
	 * is not restarted for it) */
	if (d->u.vm.seed && vf_op_changes(op->a, "cloud_init")) {
		virStoragePoolPtr pool;
		virStorageVolPtr vol = NULL;
		int wrote;
		if (vf_libvirt_volume_pool(op, d->u.vm.seed->pool, &pool) < 0)
			goto out;
		wrote = vf_libvirt_seed_write(op, pool, d->u.vm.seed, &vol);
		if (vol)
			virStorageVolFree(vol);
		virStoragePoolFree(pool);
		if (wrote < 0)
			goto out;
	}
	r = *d;
	r.u.vm.marker.pending = waits.paths.len ? waits.paths.buf : NULL;
	r.u.vm.marker.pending_id = waits.paths.len ? virDomainGetID(old) : 0;
	if (domain_define(op, &r, old, &dom) < 0 ||
	    vf_libvirt_object_set_autostart(op, &domain_class, dom, d->u.vm.autostart) < 0)
		goto out;
	if (op->a->restart && active &&
	    (domain_stop(op, dom) < 0 || vf_libvirt_object_start(op, &domain_class, dom) < 0))
		goto out;
	virResetLastError();
	rc = 0;
out:
	vf_buf_release(&waits.paths);
	virDomainFree(old);
	if (dom)
		virDomainFree(dom);
	return rc;
}

static const struct vf_object_class domain_class = {
	VF_OBJECT_CALLS(Domain, DOMAIN, "domain"),
	.start = (vf_handle_fn)virDomainCreate,
	.undefine = domain_undefine,
	.started = domain_started,
	.stop = domain_stop,
	.owned = domain_owned,
};

const struct vf_kind_ops vf_libvirt_vm_ops = {
	.create = vm_create,
	.update = vm_update,
	.object = &domain_class,
};

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
	void *dom = NULL;
	char *marker, *xml_error = NULL;
	unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
	int rc = -1, found;

	*error = NULL;
	if (r->kind != VF_KIND_VM)
		return vf_op_failf(&op, "cannot import: only domains carry a marker");
	found = vf_libvirt_object_lookup(&op, &domain_class, r->name, &dom);
	if (found > 0)
		found = domain_check_owner(&op, dom, r->u.vm.marker.project, true);
	if (found <= 0) {
		if (found == 0)
			vf_op_failf(&op, "cannot import: domain '%s' no longer exists", r->name);
		goto out;
	}
	marker = vf_xml_marker_format(r, &xml_error);
	if (!marker) {
		vf_op_failf(&op, "cannot import: %s", xml_error);
		free(xml_error);
		goto out;
	}
	if (vf_libvirt_object_active(&domain_class, dom) == 1)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	rc = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, marker, VF_XML_NS_PREFIX,
				  VF_XML_NS, flags) == 0 ? 0 : vf_op_fail(&op, "write the virtform marker");
	free(marker);
out:
	if (dom)
		virDomainFree(dom);
	return rc;
}
