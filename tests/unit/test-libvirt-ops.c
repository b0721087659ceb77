/*
 * The libvirt provider's observe, sessions, apply and diff hints, against
 * libvirt's in-process fake hypervisor test:///default.
 *
 * Connections to test:///default in one process share one fake host while
 * any of them is open, so what apply does through the session is seen by
 * observe's own connection: every create is checked both ways, directly on
 * the session's connection and through observe.  The fake host's built-in
 * objects (domain "test", network "default", pool "default-pool") stand in
 * for objects virtform does not manage.
 *
 * The test driver has no volume resize or upload: here those actions are
 * checked for their error reporting and their cleanup only; what they do
 * on a real libvirtd is for the lab (contrib/lab).
 *
 * It has no secrets either: iSCSI CHAP secrets go to libvirt's embedded
 * secret driver (secret:///embed?root=TMPDIR, the real secret driver in
 * this process; vf_libvirt_set_secret_conn), pools to the test driver.
 * test_chap runs the whole pipeline on them — config with a sealed CHAP
 * secret, observe, desired, plan (text and JSON), apply, replan, destroy —
 * and test_chap_direct the same for an iscsi-direct pool.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>
#include <sodium.h>

#include "providers/libvirt/ops.h"
#include "providers/libvirt/xml.h"
#include "reconcile/cloudinit.h"
#include "reconcile/engine.h"
#include "providers/libvirt/provider.h"
#include "reconcile/provider.h"
#include "reconcile/secret.h"
#include "tests/tap.h"

#define URI "test:///default"
#define HOST "t"
#define CHAP_CLEAR "s3cr3t-Chap-vfops"
#define CHAP_CLEAR2 "An0ther-Chap-vfops"
#define CHAP_USAGE "virtform/vfops/vfchap"

static char tmpdir[] = "/tmp/vf-test-libvirt-ops.XXXXXX";
static char *secret_uri;
static virConnectPtr secret_conn;

static struct vf_session *session;
static virConnectPtr conn;

/* ---- building resources and actions ---- */

static struct vf_resource network_resource(unsigned mtu)
{
	struct vf_resource r = { .kind = VF_KIND_NETWORK, .name = "vfops-net", .host = HOST,
				 .address = "network.vfops-net@" HOST };

	r.u.net.mode = VF_NET_MODE_NAT;
	r.u.net.bridge = "vfops0";
	r.u.net.mtu = mtu;
	r.u.net.has_ipv4 = true;
	r.u.net.ipv4_address = 0xc0a89601;       /* 192.168.150.1 */
	r.u.net.ipv4_prefix = 24;
	r.u.net.has_dhcp = true;
	r.u.net.dhcp_start = 0xc0a89664;
	r.u.net.dhcp_end = 0xc0a896c8;
	r.u.net.active = true;
	r.u.net.autostart = true;
	return r;
}

static struct vf_resource pool_resource(void)
{
	struct vf_resource r = { .kind = VF_KIND_STORAGE, .name = "vfops-pool", .host = HOST,
				 .address = "storage.vfops-pool@" HOST };

	r.u.pool.type = VF_STORAGE_DIR;
	r.u.pool.path = "/vfops-pool";
	r.u.pool.active = true;
	r.u.pool.autostart = true;
	return r;
}

static struct vf_resource volume_resource(const char *name, const char *address,
					  uint64_t capacity, const char *backing)
{
	struct vf_resource r = { .kind = VF_KIND_VOLUME, .name = name, .host = HOST,
				 .address = address };

	r.u.vol.pool = "vfops-pool";
	r.u.vol.capacity = capacity;
	r.u.vol.format = VF_FORMAT_QCOW2;
	r.u.vol.backing = backing;
	return r;
}

static struct vf_disk_spec vm_disk = { "root", "vda", "vfops-pool", "vfops-vm1-root",
				       VF_FORMAT_QCOW2, false };
static struct vf_nic_spec vm_nic = { "vfops-net", { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0x01 },
				     "virtio" };
static struct vf_marker_volume vm_owned = { "vfops-pool", "vfops-vm1-root", false };

static struct vf_resource vm_resource(const char *name, const char *project, uint64_t memory)
{
	struct vf_resource r = { .kind = VF_KIND_VM, .name = name, .host = HOST,
				 .address = "vm.vfops-vm1" };
	struct vf_vm_spec *vm = &r.u.vm;

	vm->cpus = 1;
	vm->max_cpus = 2;
	vm->memory = memory;
	vm->max_memory = 2u << 30;
	vm->firmware = VF_FIRMWARE_BIOS;
	vm->graphics = VF_GRAPHICS_VNC;
	vm->graphics_listen = "127.0.0.1";
	vm->graphics_port = -1;
	vm->disks = &vm_disk;
	vm->n_disks = 1;
	vm->nics = &vm_nic;
	vm->n_nics = 1;
	vm->running = true;
	vm->autostart = true;
	vm->shutdown_timeout = 1;
	vm->marker.project = project;
	vm->marker.spec_hash = "0123456789abcdef";
	vm->marker.volumes = &vm_owned;
	vm->marker.n_volumes = 1;
	return r;
}

static struct vf_action action(enum vf_action_type type, const struct vf_resource *desired,
			       const struct vf_resource *observed)
{
	const struct vf_resource *r = desired ? desired : observed;
	struct vf_action a = { .type = type, .kind = r->kind, .address = r->address,
			       .name = r->name, .host = HOST, .desired = desired,
			       .observed = observed, .shutdown_timeout = 1 };
	return a;
}

/* Apply; returns the error (malloc'd) or NULL. */
static char *run(enum vf_action_type type, const struct vf_resource *desired,
		 const struct vf_resource *observed)
{
	struct vf_action a = action(type, desired, observed);
	char *error = NULL;
	int rc = vf_provider_libvirt.apply(session, &a, &error);

	if ((rc == 0) != (error == NULL)) {
		ok(0, "apply returns 0 exactly when it sets no error (rc %d, error %s)", rc,
		   error ? error : "(null)");
	}
	return error;
}

static void apply_ok(enum vf_action_type type, const struct vf_resource *desired,
		     const struct vf_resource *observed, const char *what)
{
	char *error = run(type, desired, observed);

	if (!ok(error == NULL, "%s", what))
		printf("#   error: %s\n", error);
	free(error);
}

/* The action fails with a message that contains each of want[] (NULL-ended). */
static void apply_fails(enum vf_action_type type, const struct vf_resource *desired,
			const struct vf_resource *observed, const char *what, const char *const *want)
{
	char *error = run(type, desired, observed);
	int good = error != NULL;
	size_t i;

	for (i = 0; good && want[i]; i++)
		good = strstr(error, want[i]) != NULL;
	if (!ok(good, "%s", what))
		printf("#   error: %s\n", error ? error : "(none)");
	free(error);
}

/* ---- observing ---- */

static struct vf_observed *observe(const char **networks, size_t n_networks, const char **pools,
				   size_t n_pools, const char **volumes, size_t n_volumes)
{
	struct vf_observe_request req = { HOST, URI, "vfops", networks, n_networks, pools, n_pools,
					  volumes, n_volumes };
	char *error = NULL;
	struct vf_observed *o = vf_provider_libvirt.observe(&req, &error);

	if (!o)
		printf("# observe failed: %s\n", error ? error : "(no error)");
	free(error);
	return o;
}

static const struct vf_observed_item *item(const struct vf_observed *o, enum vf_kind kind,
					   const char *name)
{
	size_t i;

	for (i = 0; o && i < o->n_items; i++)
		if (o->items[i].r.kind == kind && !strcmp(o->items[i].r.name, name))
			return &o->items[i];
	return NULL;
}

/* ---- direct checks on the session's connection ---- */

static int network_state(const char *name, int *autostart)
{
	virNetworkPtr net = virNetworkLookupByName(conn, name);
	int active;

	if (!net) {
		virResetLastError();
		return -1;
	}
	active = virNetworkIsActive(net);
	virNetworkGetAutostart(net, autostart);
	virNetworkFree(net);
	return active;
}

static int domain_state(const char *name, int *autostart, char uuid[VIR_UUID_STRING_BUFLEN])
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	int active;

	if (!dom) {
		virResetLastError();
		return -1;
	}
	active = virDomainIsActive(dom);
	if (autostart)
		virDomainGetAutostart(dom, autostart);
	if (uuid)
		virDomainGetUUIDString(dom, uuid);
	virDomainFree(dom);
	return active;
}

static int volume_exists(const char *name, unsigned long long *capacity)
{
	virStoragePoolPtr pool = virStoragePoolLookupByName(conn, "vfops-pool");
	virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, name) : NULL;
	virStorageVolInfo info;

	if (vol && capacity && virStorageVolGetInfo(vol, &info) == 0)
		*capacity = info.capacity;
	if (vol)
		virStorageVolFree(vol);
	if (pool)
		virStoragePoolFree(pool);
	virResetLastError();
	return vol != NULL;
}

/* ---- the tests ---- */

/* The class of a change of path from before to after (numbers; 0 = absent). */
static enum vf_field_class fc_num(enum vf_kind kind, const char *path, uint64_t before,
				  uint64_t after)
{
	struct vf_field b = { .path = path, .type = VF_VALUE_NUMBER, .number = before,
			      .present = before != 0 };
	struct vf_field a = { .path = path, .type = VF_VALUE_NUMBER, .number = after,
			      .present = after != 0 };
	return vf_libvirt_field_class(kind, &b, &a);
}

static enum vf_field_class fc(enum vf_kind kind, const char *path)
{
	return fc_num(kind, path, 1, 2);
}

static void test_field_class(void)
{
	is_int(fc(VF_KIND_VM, "firmware"), VF_FIELD_REPLACE, "vm firmware: replace");
	is_int(fc(VF_KIND_VM, "autostart"), VF_FIELD_LIVE, "vm autostart: live");
	is_int(fc(VF_KIND_VM, "description"), VF_FIELD_LIVE, "vm description: live");
	is_int(fc(VF_KIND_VM, "memory"), VF_FIELD_LIVE, "vm memory: live (balloon)");
	is_int(fc(VF_KIND_VM, "max_memory"), VF_FIELD_RESTART, "vm max_memory: restart");
	{
		/* with both VMs (the apply's question): up to the running maximum */
		struct vf_resource d = { .kind = VF_KIND_VM }, o = { .kind = VF_KIND_VM };
		struct vf_field b = { .path = "cpus", .type = VF_VALUE_NUMBER, .present = true,
				      .number = 2 };
		struct vf_field x = b;
		o.u.vm.cpus = 2;
		o.u.vm.max_cpus = 4;
		d.u.vm.cpus = x.number = 4;
		is_int(vf_libvirt_change_class(&d, &o, &b, &x), VF_FIELD_LIVE,
		       "vm more cpus within the running max_cpus: live");
		d.u.vm.cpus = x.number = 6;
		is_int(vf_libvirt_change_class(&d, &o, &b, &x), VF_FIELD_RESTART,
		       "vm more cpus beyond the running max_cpus: restart");
		o.u.vm.marker.pending = "max_cpus";
		d.u.vm.cpus = x.number = 3;
		is_int(vf_libvirt_change_class(&d, &o, &b, &x), VF_FIELD_RESTART,
		       "vm more cpus while max_cpus waits for a restart: restart");
	}
	is_int(fc(VF_KIND_VM, "max_cpus"), VF_FIELD_RESTART, "vm max_cpus: restart");
	is_int(fc_num(VF_KIND_VM, "cpus", 2, 4), VF_FIELD_LIVE, "vm more cpus: live (hot-plug)");
	is_int(fc_num(VF_KIND_VM, "cpus", 4, 2), VF_FIELD_RESTART, "vm fewer cpus: restart");
	is_int(fc(VF_KIND_VM, "disk[vda].volume"), VF_FIELD_RESTART, "vm disk: restart");
	is_int(fc(VF_KIND_VM, "nic[0].mac"), VF_FIELD_LIVE, "vm nic mac: live (unplug + plug)");
	is_int(fc(VF_KIND_VM, "nic[0].model"), VF_FIELD_RESTART, "vm nic model: restart");
	is_int(fc(VF_KIND_VM, "nic[0].network"), VF_FIELD_LIVE, "vm nic network: live");
	is_int(fc_num(VF_KIND_VM, "nic[1].mac", 0, 1), VF_FIELD_LIVE, "vm nic added: live");
	is_int(fc_num(VF_KIND_VM, "nic[1].model", 1, 0), VF_FIELD_LIVE, "vm nic removed: live");
	is_int(fc(VF_KIND_VM, "graphics.listen"), VF_FIELD_RESTART, "vm graphics: restart");
	is_int(fc(VF_KIND_VOLUME, "capacity"), VF_FIELD_LIVE, "volume capacity: live");
	is_int(fc(VF_KIND_VOLUME, "format"), VF_FIELD_REPLACE, "volume format: replace");
	is_int(fc(VF_KIND_VOLUME, "backing"), VF_FIELD_REPLACE, "volume backing: replace");
	is_int(fc(VF_KIND_VOLUME, "pool"), VF_FIELD_REPLACE, "volume pool: replace");
	is_int(fc(VF_KIND_NETWORK, "mode"), VF_FIELD_REPLACE, "network mode: replace");
	is_int(fc(VF_KIND_NETWORK, "bridge"), VF_FIELD_REPLACE, "network bridge: replace");
	is_int(fc(VF_KIND_NETWORK, "autostart"), VF_FIELD_LIVE, "network autostart: live");
	is_int(fc(VF_KIND_NETWORK, "mtu"), VF_FIELD_RESTART, "network mtu: restart");
	is_int(fc(VF_KIND_NETWORK, "dhcp"), VF_FIELD_LIVE, "network dhcp range: live");
	is_int(fc_num(VF_KIND_NETWORK, "dhcp", 0, 1), VF_FIELD_RESTART,
	       "network dhcp turned on: restart");
	is_int(fc(VF_KIND_STORAGE, "autostart"), VF_FIELD_LIVE, "storage autostart: live");
	is_int(fc(VF_KIND_STORAGE, "path"), VF_FIELD_REPLACE, "storage path: replace");
	is_int(fc(VF_KIND_STORAGE, "chap.secret"), VF_FIELD_LIVE, "storage chap.secret: live");
	is_int(fc(VF_KIND_STORAGE, "chap.username"), VF_FIELD_LIVE, "storage chap.username: live");
	is_int(fc(VF_KIND_VM, "no.such.field"), VF_FIELD_RESTART, "unknown path: restart");
}

static void test_observe_unmanaged(void)
{
	const char *networks[] = { "default" }, *pools[] = { "default-pool" };
	const struct vf_observed_item *it;
	struct vf_observe_request bad = { .host = "h", .uri = "vfops-no-such-driver:///x" };
	struct vf_observed *o;
	char *error = NULL;

	o = observe(NULL, 0, NULL, 0, NULL, 0);
	ok(o != NULL, "observe the fake host");
	if (!o)
		return;
	is_str(o->host, HOST, "observation names its host");
	ok(o->memory_total > 0, "memory_total from node info: %llu",
	   (unsigned long long)o->memory_total);
	it = item(o, VF_KIND_VM, "test");
	ok(it && it->detailed && it->r.u.vm.running,
	   "built-in domain 'test': read in full (import and network users need it), running");
	ok(it && it->r.uuid && strlen(it->r.uuid) == 36, "its uuid is known");
	ok(it && it->r.u.vm.marker.project == NULL, "no marker");
	is_str(it ? it->r.address : NULL, "vm.test", "its address");
	is_str(it ? it->r.host : NULL, HOST, "its host");
	it = item(o, VF_KIND_NETWORK, "default");
	ok(it && !it->detailed, "network 'default' listed, not detailed when not asked for");
	it = item(o, VF_KIND_STORAGE, "default-pool");
	ok(it && !it->detailed, "pool 'default-pool' listed, not detailed when not asked for");
	vf_observed_free(o);

	o = observe(networks, 1, pools, 1, NULL, 0);
	it = item(o, VF_KIND_NETWORK, "default");
	ok(it && it->detailed, "network asked for: detailed");
	ok(it && it->r.u.net.active && !it->r.u.net.autostart, "its state: active, no autostart");
	is_str(it ? it->r.u.net.bridge : NULL, "virbr0", "its bridge");
	is_str(it ? it->r.address : NULL, "network.default@" HOST, "its address");
	it = item(o, VF_KIND_STORAGE, "default-pool");
	ok(it && it->detailed && it->r.u.pool.type == VF_STORAGE_DIR, "pool asked for: detailed dir pool");
	ok(it && it->r.u.pool.active && it->r.uuid, "its state and uuid");
	vf_observed_free(o);

	o = vf_provider_libvirt.observe(&bad, &error);
	ok(o == NULL, "observe of a host that cannot be read fails");
	ok(error && !strncmp(error, "cannot read host 'h': ", 22), "error names the host: %s",
	   error ? error : "(none)");
	free(error);
	vf_observed_free(o);
}

static void test_network(void)
{
	struct vf_resource net = network_resource(0), net_mtu = network_resource(9000);
	const char *names[] = { "vfops-net" };
	const struct vf_observed_item *it;
	struct vf_observed *o;
	char uuid_before[VIR_UUID_STRING_BUFLEN] = "", uuid_after[VIR_UUID_STRING_BUFLEN] = "";
	virNetworkPtr p;
	int autostart = -1;

	apply_ok(VF_ACTION_CREATE, &net, NULL, "network create");
	is_int(network_state("vfops-net", &autostart), 1, "network is active");
	is_int(autostart, 1, "network autostarts");
	apply_ok(VF_ACTION_CREATE, &net, NULL, "network create again: idempotent");

	/* A crash between define and start: the retry starts it. */
	p = virNetworkLookupByName(conn, "vfops-net");
	virNetworkDestroy(p);
	virNetworkGetUUIDString(p, uuid_before);
	apply_ok(VF_ACTION_CREATE, &net, NULL, "network create after a half-done create");
	is_int(network_state("vfops-net", &autostart), 1, "the retry started it");

	o = observe(names, 1, NULL, 0, NULL, 0);
	it = item(o, VF_KIND_NETWORK, "vfops-net");
	ok(it && it->detailed, "observe reads the network in full");
	ok(it && it->r.u.net.mode == VF_NET_MODE_NAT && it->r.u.net.active &&
	   it->r.u.net.autostart, "observed: nat, active, autostart");
	is_str(it ? it->r.u.net.bridge : NULL, "vfops0", "observed bridge");
	is_str(it ? it->r.uuid : NULL, uuid_before, "observed uuid");

	apply_ok(VF_ACTION_UPDATE, &net_mtu, it ? &it->r : NULL, "network update (mtu)");
	virNetworkGetUUIDString(p, uuid_after);
	is_str(uuid_after, uuid_before, "update keeps the uuid");
	is_int(network_state("vfops-net", &autostart), 1, "update does not stop the network");
	vf_observed_free(o);

	apply_ok(VF_ACTION_STOP, NULL, &net, "network stop");
	is_int(network_state("vfops-net", &autostart), 0, "network stopped");
	/* The test driver drops a definition given while the network runs:
	 * check the new config on a stopped network. */
	apply_ok(VF_ACTION_UPDATE, &net_mtu, &net, "network update (mtu) while stopped");
	o = observe(names, 1, NULL, 0, NULL, 0);
	it = item(o, VF_KIND_NETWORK, "vfops-net");
	is_int(it ? it->r.u.net.mtu : 0, 9000, "the new persistent config has the mtu");
	ok(it && !it->r.u.net.active, "update does not start a stopped network");
	is_str(it ? it->r.uuid : NULL, uuid_before, "same uuid still");
	apply_ok(VF_ACTION_STOP, NULL, &net, "network stop again");
	apply_ok(VF_ACTION_START, &net, NULL, "network start");
	is_int(network_state("vfops-net", &autostart), 1, "network started");
	virNetworkFree(p);
	vf_observed_free(o);
}

static void test_pool(void)
{
	struct vf_resource pool = pool_resource();
	const char *names[] = { "vfops-pool" };
	const struct vf_observed_item *it;
	struct vf_observed *o;
	virStoragePoolPtr p;
	int autostart = -1;

	apply_ok(VF_ACTION_CREATE, &pool, NULL, "pool create");
	p = virStoragePoolLookupByName(conn, "vfops-pool");
	ok(p && virStoragePoolIsActive(p) == 1, "pool is active");
	ok(p && virStoragePoolGetAutostart(p, &autostart) == 0 && autostart, "pool autostarts");
	apply_ok(VF_ACTION_CREATE, &pool, NULL, "pool create again: idempotent");
	virStoragePoolDestroy(p);
	apply_ok(VF_ACTION_CREATE, &pool, NULL, "pool create after a half-done create");
	ok(virStoragePoolIsActive(p) == 1, "the retry started it");

	o = observe(NULL, 0, names, 1, NULL, 0);
	it = item(o, VF_KIND_STORAGE, "vfops-pool");
	ok(it && it->detailed && it->r.u.pool.active && it->r.u.pool.autostart,
	   "observe reads the pool in full");
	is_str(it ? it->r.u.pool.path : NULL, "/vfops-pool", "observed path");
	vf_observed_free(o);

	pool.u.pool.autostart = false;
	apply_ok(VF_ACTION_UPDATE, &pool, NULL, "pool update (autostart off)");
	ok(virStoragePoolGetAutostart(p, &autostart) == 0 && !autostart, "autostart is off");
	ok(virStoragePoolIsActive(p) == 1, "still active");
	virStoragePoolFree(p);
}

struct volume_job {
	char name[32], address[64];
	char *error;
};

static void *create_volume_thread(void *opaque)
{
	struct volume_job *job = opaque;
	struct vf_resource r = volume_resource(job->name, job->address, 1u << 20, NULL);

	job->error = run(VF_ACTION_CREATE, &r, NULL);
	return NULL;
}

static void test_volumes(void)
{
	struct vf_resource image = volume_resource("vfops-img", "volume.vfops-img@t", 1u << 30, NULL);
	struct vf_resource root = volume_resource("vfops-vm1-root", "volume.vfops-vm1-root@t", 0,
						  "vfops-img");
	struct vf_resource small = volume_resource("vfops-small", "volume.vfops-small@t", 1u << 20,
						   "vfops-img");
	struct vf_resource upload = volume_resource("vfops-up", "volume.vfops-up@t", 0, NULL);
	struct vf_resource bigger = root;
	const char *pools[] = { "vfops-pool" }, *volumes[] = { "vfops-img", "vfops-vm1-root" };
	const char *want_missing[] = { "volume.vfops-up@t: ", "/nonexistent/vfops.qcow2", NULL };
	const char *want_upload[] = { "volume.vfops-up@t: cannot upload: ", NULL };
	const char *want_small[] = { "volume.vfops-small@t: ", "smaller than image 'vfops-img'", NULL };
	const char *want_resize[] = { "volume.vfops-vm1-root@t: cannot resize: ", NULL };
	const struct vf_observed_item *it;
	struct volume_job jobs[8];
	pthread_t threads[8];
	unsigned long long capacity = 0;
	struct vf_observed *o;
	size_t i;
	int all_ok = 1;

	apply_ok(VF_ACTION_CREATE, &image, NULL, "volume create (plain)");
	ok(volume_exists("vfops-img", &capacity) && capacity == 1u << 30, "it has its capacity");
	apply_ok(VF_ACTION_CREATE, &root, NULL, "volume create (clone, capacity 0)");
	ok(volume_exists("vfops-vm1-root", &capacity) && capacity == 1u << 30,
	   "the clone takes the image's capacity");
	apply_ok(VF_ACTION_CREATE, &root, NULL, "volume create again: idempotent");
	apply_fails(VF_ACTION_CREATE, &small, NULL, "a clone smaller than its image is refused",
		    want_small);
	ok(!volume_exists("vfops-small", NULL), "and not created");

	o = observe(NULL, 0, pools, 1, volumes, 2);
	it = item(o, VF_KIND_VOLUME, "vfops-vm1-root");
	ok(it && it->detailed, "observe reads a volume asked for in full");
	is_str(it ? it->r.u.vol.pool : NULL, "vfops-pool", "observed pool");
	is_str(it ? it->r.u.vol.backing : NULL, "vfops-img", "observed backing: the image's name, not its path");
	is_str(it ? it->r.u.vol.path : NULL, "/vfops-pool/vfops-vm1-root", "observed path");
	it = item(o, VF_KIND_VOLUME, "vfops-img");
	ok(it && it->detailed && it->r.u.vol.capacity == 1u << 30 &&
	   it->r.u.vol.format == VF_FORMAT_QCOW2, "the image: capacity and format");
	vf_observed_free(o);

	/* Several threads on one session at once. */
	for (i = 0; i < VF_ARRAY_SIZE(jobs); i++) {
		snprintf(jobs[i].name, sizeof(jobs[i].name), "vfops-par%zu", i);
		snprintf(jobs[i].address, sizeof(jobs[i].address), "volume.vfops-par%zu@t", i);
		jobs[i].error = NULL;
		pthread_create(&threads[i], NULL, create_volume_thread, &jobs[i]);
	}
	for (i = 0; i < VF_ARRAY_SIZE(jobs); i++) {
		pthread_join(threads[i], NULL);
		if (jobs[i].error || !volume_exists(jobs[i].name, NULL)) {
			printf("# %s: %s\n", jobs[i].name, jobs[i].error ? jobs[i].error : "missing");
			all_ok = 0;
		}
		free(jobs[i].error);
	}
	ok(all_ok, "8 volume creates from 8 threads on one session");
	o = observe(NULL, 0, pools, 1, NULL, 0);
	it = item(o, VF_KIND_VOLUME, "vfops-par7");
	ok(it && !it->detailed, "a volume not asked for is listed, not detailed");
	is_str(it ? it->r.u.vol.pool : NULL, "vfops-pool", "with its pool");
	vf_observed_free(o);
	for (i = 0; i < VF_ARRAY_SIZE(jobs); i++) {
		struct vf_resource r = volume_resource(jobs[i].name, jobs[i].address, 0, NULL);
		char *error = run(VF_ACTION_DELETE, NULL, &r);

		if (error)
			printf("# delete %s: %s\n", jobs[i].name, error);
		all_ok &= error == NULL && !volume_exists(jobs[i].name, NULL);
		free(error);
	}
	ok(all_ok, "and their deletes");

	upload.u.vol.upload_root = "/";
	upload.u.vol.upload_file = "/nonexistent/vfops.qcow2";
	apply_fails(VF_ACTION_CREATE, &upload, NULL, "upload of a missing file names the file",
		    want_missing);
	ok(!volume_exists("vfops-up", NULL), "no volume made for a missing file");
	upload.u.vol.upload_file = "/proc/self/exe";
	apply_fails(VF_ACTION_CREATE, &upload, NULL,
		    "upload the test driver cannot take reports the upload", want_upload);
	ok(!volume_exists("vfops-up", NULL), "the half-made volume is deleted");
	{
		/* a file linked out of the directory it must stay in (a link
		 * committed to the repository, or made after validate): never
		 * read, never uploaded */
		char *link = xasprintf("%s/escape.qcow2", tmpdir);
		const char *want_escape[] = { "refused: image file '", "resolves to '/etc/hostname', "
					      "outside '", NULL };
		if (symlink("/etc/hostname", link) < 0)
			printf("# symlink %s: failed\n", link);
		upload.u.vol.upload_root = tmpdir;
		upload.u.vol.upload_file = link;
		apply_fails(VF_ACTION_CREATE, &upload, NULL,
			    "upload of a file linked out of its directory is refused", want_escape);
		ok(!volume_exists("vfops-up", NULL), "and no volume is made");
		free(link);
	}

	/* Growing: a no-op when grown already; the test driver cannot resize. */
	bigger.u.vol.capacity = 1u << 30;
	apply_ok(VF_ACTION_UPDATE, &bigger, &root, "volume update to its current capacity: nothing to do");
	bigger.u.vol.capacity = 2u << 30;
	apply_fails(VF_ACTION_UPDATE, &bigger, &root, "a resize libvirt refuses is reported",
		    want_resize);
}

/*
 * Memory beyond the maximum the running domain booted with: the diff hints
 * say restart (given the observed VM, as the plan has it), and the apply
 * does that — the new memory goes into the definition and the marker's
 * pending list, the running domain keeps its maximum.
 */
static void memory_beyond_max(const struct vf_resource *seen)
{
	struct vf_resource huge = vm_resource("vfops-vm1", "vfops", 3ull << 30);
	struct vf_field_change ch[2] = {
		{ .before = { .path = "memory", .type = VF_VALUE_BYTES, .present = true,
			      .number = seen->u.vm.memory },
		  .after = { .path = "memory", .type = VF_VALUE_BYTES, .present = true,
			     .number = 3ull << 30 } },
		{ .before = { .path = "max_memory", .type = VF_VALUE_BYTES, .present = true,
			      .number = seen->u.vm.max_memory },
		  .after = { .path = "max_memory", .type = VF_VALUE_BYTES, .present = true,
			     .number = 3ull << 30 } },
	};
	struct vf_action a;
	const struct vf_observed_item *it;
	struct vf_observed *o;
	virDomainPtr dom;
	char *error = NULL;
	size_t i;

	huge.u.vm.max_memory = 3ull << 30;
	for (i = 0; i < 2; i++)
		ch[i].class = vf_libvirt_change_class(&huge, seen, &ch[i].before, &ch[i].after);
	is_int(ch[0].class, VF_FIELD_RESTART, "memory beyond the running max_memory: restart");
	is_int(ch[1].class, VF_FIELD_RESTART, "and max_memory itself: restart");
	a = action(VF_ACTION_UPDATE, &huge, seen);
	a.fields = ch;
	a.n_fields = 2;
	ok(vf_provider_libvirt.apply(session, &a, &error) == 0, "vm update beyond max_memory: %s",
	   error ? error : "ok");
	free(error);
	dom = virDomainLookupByName(conn, "vfops-vm1");
	ok(dom && virDomainGetMaxMemory(dom) == (2ul << 30) / 1024,
	   "the running domain keeps the maximum it booted with");
	if (dom)
		virDomainFree(dom);
	o = observe(NULL, 0, NULL, 0, NULL, 0);
	it = item(o, VF_KIND_VM, "vfops-vm1");
	ok(it && it->r.u.vm.memory == 3ull << 30, "the definition has the new memory");
	is_str(it ? it->r.u.vm.marker.pending : NULL, "max_memory memory",
	       "which waits for the restart, as the plan said");
	vf_observed_free(o);
}

static void test_vm(void)
{
	struct vf_resource vm = vm_resource("vfops-vm1", "vfops", 1u << 30);
	struct vf_resource bigger = vm_resource("vfops-vm1", "vfops", 2u << 30);
	struct vf_resource other = vm_resource("vfops-vm1", "someone-else", 1u << 30);
	struct vf_resource foreign = vm_resource("test", "vfops", 1u << 30);
	const char *want_unmanaged[] = { "vm.vfops-vm1: refusing to touch unmanaged domain 'test'", NULL };
	const char *want_other[] = { "refusing to touch domain 'vfops-vm1': it belongs to project 'vfops'",
				     NULL };
	const char *want_start[] = { "cannot start", NULL };
	char uuid_before[VIR_UUID_STRING_BUFLEN] = "", uuid_after[VIR_UUID_STRING_BUFLEN] = "";
	struct vf_field_change desc_change = { 0 };
	const struct vf_observed_item *it;
	struct vf_action update;
	struct vf_observed *o;
	virDomainPtr dom;
	char *error = NULL, *xml;
	int autostart = -1;

	apply_ok(VF_ACTION_CREATE, &vm, NULL, "vm create");
	is_int(domain_state("vfops-vm1", &autostart, uuid_before), 1, "the domain runs");
	is_int(autostart, 1, "and autostarts");
	apply_ok(VF_ACTION_CREATE, &vm, NULL, "vm create again: idempotent");
	domain_state("vfops-vm1", NULL, uuid_after);
	is_str(uuid_after, uuid_before, "the redefine kept the uuid");

	o = observe(NULL, 0, NULL, 0, NULL, 0);
	it = item(o, VF_KIND_VM, "vfops-vm1");
	ok(it && it->detailed, "observe reads a marked domain in full");
	is_str(it ? it->r.u.vm.marker.project : NULL, "vfops", "observed marker project");
	ok(it && it->r.u.vm.running && it->r.u.vm.autostart, "observed running and autostart");
	ok(it && it->r.u.vm.memory == 1u << 30 && it->r.u.vm.n_disks == 1, "observed memory and disk");
	is_str(it ? it->r.uuid : NULL, uuid_before, "observed uuid");
	it = item(o, VF_KIND_VM, "test");
	ok(it && it->detailed && !it->r.u.vm.marker.project,
	   "the unmarked domain is read in full and still carries no marker");
	vf_observed_free(o);

	/* Update: a new persistent definition, the same domain; description live. */
	bigger.u.vm.description = "grown";
	bigger.u.vm.autostart = false;
	desc_change.after.path = "description";
	desc_change.after.present = true;
	update = action(VF_ACTION_UPDATE, &bigger, &vm);
	update.fields = &desc_change;
	update.n_fields = 1;
	ok(vf_provider_libvirt.apply(session, &update, &error) == 0, "vm update (memory, autostart, description)");
	free(error);
	error = NULL;
	is_int(domain_state("vfops-vm1", &autostart, uuid_after), 1, "update does not stop the domain");
	is_str(uuid_after, uuid_before, "update keeps the uuid");
	is_int(autostart, 0, "autostart is off");
	dom = virDomainLookupByName(conn, "vfops-vm1");
	xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_DESCRIPTION, NULL, VIR_DOMAIN_AFFECT_LIVE);
	is_str(xml, "grown", "the running domain has the new description");
	free(xml);
	virResetLastError();
	virDomainFree(dom);
	o = observe(NULL, 0, NULL, 0, NULL, 0);
	it = item(o, VF_KIND_VM, "vfops-vm1");
	ok(it && it->r.u.vm.memory == 2u << 30, "the persistent definition has the new memory");
	if (it)
		memory_beyond_max(&it->r);
	vf_observed_free(o);

	apply_ok(VF_ACTION_STOP, NULL, &vm, "vm stop (ACPI)");
	is_int(domain_state("vfops-vm1", NULL, NULL), 0, "the domain is off");
	apply_ok(VF_ACTION_STOP, NULL, &vm, "vm stop again");
	apply_ok(VF_ACTION_START, &vm, NULL, "vm start");
	is_int(domain_state("vfops-vm1", NULL, NULL), 1, "the domain runs again");
	apply_ok(VF_ACTION_START, &vm, NULL, "vm start again");

	/* Never touch what is not ours. */
	foreign.address = "vm.vfops-vm1";
	apply_fails(VF_ACTION_CREATE, &foreign, NULL, "create over an unmanaged domain is refused",
		    want_unmanaged);
	apply_fails(VF_ACTION_DELETE, NULL, &foreign, "delete of an unmanaged domain is refused",
		    want_unmanaged);
	apply_fails(VF_ACTION_STOP, NULL, &foreign, "stop of an unmanaged domain is refused",
		    want_unmanaged);
	is_int(domain_state("test", NULL, NULL), 1, "the unmanaged domain still runs");
	apply_fails(VF_ACTION_UPDATE, &other, &vm, "another project's domain is refused", want_other);

	apply_ok(VF_ACTION_DELETE, NULL, &vm, "vm delete (running)");
	is_int(domain_state("vfops-vm1", NULL, NULL), -1, "the domain is gone");
	apply_ok(VF_ACTION_DELETE, NULL, &vm, "vm delete again: idempotent");
	apply_fails(VF_ACTION_START, &vm, NULL, "start of a missing domain fails", want_start);

	/* Replace: delete + create; a stopped VM stays stopped. */
	vm.u.vm.running = false;
	apply_ok(VF_ACTION_CREATE, &vm, NULL, "vm create (stopped)");
	is_int(domain_state("vfops-vm1", NULL, NULL), 0, "defined, not started");
	vm.u.vm.running = true;
	apply_ok(VF_ACTION_REPLACE, &vm, &vm, "vm replace");
	is_int(domain_state("vfops-vm1", NULL, NULL), 1, "replaced and running");
	apply_ok(VF_ACTION_DELETE, NULL, &vm, "vm delete");
}

static void test_cleanup(void)
{
	struct vf_resource net = network_resource(0), pool = pool_resource();
	struct vf_resource image = volume_resource("vfops-img", "volume.vfops-img@t", 0, NULL);
	struct vf_resource root = volume_resource("vfops-vm1-root", "volume.vfops-vm1-root@t", 0, NULL);
	const char *want_gone[] = { "network.vfops-net@t: cannot start", NULL };
	int autostart;

	apply_ok(VF_ACTION_DELETE, NULL, &root, "volume delete");
	ok(!volume_exists("vfops-vm1-root", NULL), "the volume is gone");
	apply_ok(VF_ACTION_DELETE, NULL, &root, "volume delete again: idempotent");
	apply_ok(VF_ACTION_DELETE, NULL, &image, "image delete");

	apply_ok(VF_ACTION_REPLACE, &pool, &pool, "pool replace (delete + create)");
	apply_ok(VF_ACTION_DELETE, NULL, &pool, "pool delete");
	ok(!virStoragePoolLookupByName(conn, "vfops-pool"), "the pool is gone");
	virResetLastError();
	apply_ok(VF_ACTION_DELETE, NULL, &pool, "pool delete again: idempotent");

	apply_ok(VF_ACTION_DELETE, NULL, &net, "network delete (active)");
	is_int(network_state("vfops-net", &autostart), -1, "the network is gone");
	apply_ok(VF_ACTION_DELETE, NULL, &net, "network delete again: idempotent");
	apply_fails(VF_ACTION_START, &net, NULL, "start of a missing network: error names the address",
		    want_gone);
}

/* ---- iSCSI CHAP secrets, through the whole pipeline ---- */

/*
 * libvirt 9.0's embedded secret driver crashes in virSecretUndefine: when
 * no ephemeral secret is left it calls the driver's inhibit callback,
 * which an embedded driver does not have (NULL).  This definition takes
 * the place of libvirt's for the whole test binary: it records which
 * secret the provider undefines, and leaves it defined.
 */
static char undefined_usage[256];
static int undefine_calls;

int virSecretUndefine(virSecretPtr secret)
{
	const char *usage = virSecretGetUsageID(secret);

	snprintf(undefined_usage, sizeof(undefined_usage), "%s", usage ? usage : "");
	undefine_calls++;
	return 0;
}

/*
 * A config with one iSCSI storage domain on the test host: "vfchap" of
 * type iscsi, or with initiator given "vfdirect" of type iscsi-direct
 * logging in as it; CHAP when username is given.
 */
static struct vf_config *chap_config_as(const char *initiator, const char *sealed,
					const char *username)
{
	char *path = xasprintf("%s/chap.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	struct vf_diags d = { 0 };
	struct vf_config *c;

	fprintf(f, "version: 1\nproject: vfops\nclusters: [{name: c}]\n"
		"hosts: [{name: " HOST ", uri: '" URI "'}]\n"
		"storage_domains:\n");
	if (initiator)
		fprintf(f, "  - name: vfdirect\n    type: iscsi-direct\n    initiator: %s\n",
			initiator);
	else
		fprintf(f, "  - name: vfchap\n    type: iscsi\n");
	fprintf(f, "    portal: 192.0.2.10\n    target: iqn.2004-04.org.example:vfops\n");
	if (username)
		fprintf(f, "    chap:\n      username: %s\n      secret: {sealed: \"%s\"}\n",
			username, sealed);
	fclose(f);
	c = vf_config_load(path, &d);
	if (!c)
		vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	free(path);
	return c;
}

static struct vf_config *chap_config(const char *sealed, const char *username)
{
	return chap_config_as(NULL, sealed, username);
}

/* The state after the create: the pool is virtform's. */
static struct vf_state chap_state = { .lock_fd = -1 };

struct chap_run {
	struct vf_config *config;
	struct vf_views views;
	struct vf_desired desired;
	struct vf_plan plan;
	char *text, *json;
};

/* Observe, build and plan config; the plan as text and JSON. */
static int chap_plan(struct chap_run *r, struct vf_config *config, bool destroy)
{
	struct vf_plan_opts opts = { .destroy = destroy };
	struct vf_diags d = { 0 };
	size_t len;
	FILE *f;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->config = config;
	if (!config)
		return -1;
	if (vf_observe_all(config, &vf_provider_libvirt, &chap_state, 30, 1, &r->views)) {
		printf("# observe: %s\n", r->views.hosts[0].error ? r->views.hosts[0].error : "?");
		goto out;
	}
	if (vf_desired_build(config, &r->views, &chap_state, destroy, &r->desired, &d,
			     &r->plan.warnings, &r->plan.n_warnings, &r->plan.alloc_warnings) < 0 ||
	    vf_plan_build(config, &r->desired, &r->views, &chap_state, &vf_provider_libvirt, &opts,
			  &r->plan, &d) < 0)
		goto out;
	f = open_memstream(&r->text, &len);
	vf_plan_print(&r->plan, f, false);
	fclose(f);
	f = open_memstream(&r->json, &len);
	vf_plan_print_json(&r->plan, f);
	fclose(f);
	rc = 0;
out:
	vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	return rc;
}

static void chap_release(struct chap_run *r)
{
	free(r->text);
	free(r->json);
	vf_plan_free(&r->plan);
	vf_desired_release(&r->desired);
	vf_views_release(&r->views);
	vf_config_free(r->config);
	memset(r, 0, sizeof(*r));
}

/* Apply every action of r's plan in order; all succeed? */
static int chap_apply(const struct chap_run *r)
{
	size_t i;
	int good = 1;

	for (i = 0; i < r->plan.n_actions; i++) {
		char *error = NULL;
		if (vf_provider_libvirt.apply(session, &r->plan.actions[i], &error) < 0) {
			printf("# %s: %s\n", r->plan.actions[i].address, error ? error : "?");
			good = 0;
		}
		free(error);
	}
	return good;
}

/* Does any text hold the clear secret (or its base64)? */
static int leaks(const char *text)
{
	return text && (strstr(text, CHAP_CLEAR) || strstr(text, CHAP_CLEAR2) ||
			strstr(text, "czNjcjN0LUNoYXAtdmZvcHM") /* base64 of CHAP_CLEAR */);
}

/* The XML (malloc'd) of the CHAP secret of usage, or NULL when there is none. */
static char *chap_secret_xml_of(virConnectPtr sc, const char *usage,
				char uuid[VIR_UUID_STRING_BUFLEN])
{
	virSecretPtr sec = virSecretLookupByUsage(sc, VIR_SECRET_USAGE_TYPE_ISCSI, usage);
	char *xml;

	if (!sec) {
		virResetLastError();
		return NULL;
	}
	xml = virSecretGetXMLDesc(sec, 0);
	virSecretGetUUIDString(sec, uuid);
	virSecretFree(sec);
	return xml;
}

/* The vfchap pool's CHAP secret. */
static char *chap_secret_xml(virConnectPtr sc, char uuid[VIR_UUID_STRING_BUFLEN])
{
	return chap_secret_xml_of(sc, CHAP_USAGE, uuid);
}

/*
 * The secret's value as the secret driver keeps it: the secret is
 * private, so virSecretGetValue refuses it by design; the embedded driver's
 * value file (base64) is read instead.
 */
static char *chap_secret_value(const char *uuid)
{
	char *path = xasprintf("%s/secrets/etc/secrets/%s.base64", tmpdir, uuid), line[512];
	unsigned char bin[384];
	size_t len = 0;
	FILE *f = fopen(path, "r");
	char *out = NULL;

	free(path);
	if (!f)
		return NULL;
	if (fgets(line, sizeof(line), f) &&
	    sodium_base642bin(bin, sizeof(bin) - 1, line, strcspn(line, "\n"), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) == 0)
		out = xstrndup((const char *)bin, len);
	fclose(f);
	return out;
}

static void test_chap(const struct vf_public_key *pk)
{
	char *sealed = vf_secret_seal(pk, CHAP_CLEAR, strlen(CHAP_CLEAR));
	char *resealed = vf_secret_seal(pk, CHAP_CLEAR, strlen(CHAP_CLEAR));
	char *changed = vf_secret_seal(pk, CHAP_CLEAR2, strlen(CHAP_CLEAR2));
	char uuid[VIR_UUID_STRING_BUFLEN] = "", uuid2[VIR_UUID_STRING_BUFLEN] = "";
	const struct vf_observed_item *it = NULL;
	const struct vf_action *a;
	struct chap_run r;
	virConnectPtr sc = secret_conn;
	virStoragePoolPtr pool;
	char *xml, *value;
	size_t i;

	if (!sc)
		return;

	/* create */
	ok(chap_plan(&r, chap_config(sealed, "vfops-initiator"), false) == 0, "plan a CHAP pool");
	a = r.plan.n_actions == 1 ? &r.plan.actions[0] : NULL;
	ok(a && a->type == VF_ACTION_CREATE && !strcmp(a->address, "storage.vfchap@" HOST),
	   "one action: create storage.vfchap@" HOST);
	ok(r.text && strstr(r.text, "chap.username: vfops-initiator") &&
	   strstr(r.text, "chap.secret: (sealed)"), "the plan shows the username and '(sealed)'");
	ok(!leaks(r.text) && !leaks(r.json), "no clear text in the plan's text or JSON");
	ok(chap_apply(&r), "apply creates the pool and its secret");
	chap_release(&r);
	{
		struct vf_state_entry e = { .address = "storage.vfchap@" HOST,
					    .kind = VF_KIND_STORAGE, .name = "vfchap", .host = HOST };
		vf_state_put(&chap_state, &e);
	}

	xml = chap_secret_xml(sc, uuid);
	ok(xml != NULL, "a libvirt secret of usage iscsi '" CHAP_USAGE "' exists");
	ok(xml && strstr(xml, "private='yes'") && strstr(xml, "ephemeral='no'"),
	   "private and persistent");
	ok(xml && strstr(xml, "<description>virtform chap hash ") && !leaks(xml),
	   "its description records a hash, not the secret");
	free(xml);
	value = chap_secret_value(uuid);
	is_str(value, CHAP_CLEAR, "its value is the opened sealed value");
	free(value);
	pool = virStoragePoolLookupByName(conn, "vfchap");
	xml = pool ? virStoragePoolGetXMLDesc(pool, 0) : NULL;
	ok(xml && strstr(xml, "<auth type='chap' username='vfops-initiator'>") &&
	   strstr(xml, "<secret usage='" CHAP_USAGE "'/>"), "the pool's source names it: <auth>");
	ok(pool && virStoragePoolIsActive(pool) == 1, "the pool is active");
	free(xml);

	/* the same secret sealed again: no change */
	ok(chap_plan(&r, chap_config(resealed, "vfops-initiator"), false) == 0, "plan with a re-seal");
	ok(vf_plan_empty(&r.plan), "the same secret sealed again is no change");
	for (i = 0; i < r.views.hosts[0].observed->n_items; i++)
		if (r.views.hosts[0].observed->items[i].r.kind == VF_KIND_STORAGE &&
		    !strcmp(r.views.hosts[0].observed->items[i].r.name, "vfchap"))
			it = &r.views.hosts[0].observed->items[i];
	ok(it && it->r.u.pool.chap_secret && strlen(it->r.u.pool.chap_secret) == 16,
	   "observe reads the hash back from the secret's description");
	is_str(it ? it->r.u.pool.chap_usage : NULL, CHAP_USAGE, "and the usage from the pool");
	chap_release(&r);

	/* another secret: "(sealed value changed)", updated in place */
	ok(chap_plan(&r, chap_config(changed, "vfops-initiator"), false) == 0, "plan a new secret");
	a = r.plan.n_actions == 1 ? &r.plan.actions[0] : NULL;
	ok(a && a->type == VF_ACTION_UPDATE, "an update, not a replace");
	ok(r.text && strstr(r.text, "chap.secret: (sealed value changed)"),
	   "the plan says '(sealed value changed)'");
	ok(!leaks(r.text) && !leaks(r.json), "no clear text in the plan's text or JSON");
	ok(chap_apply(&r), "apply the new secret");
	chap_release(&r);
	xml = chap_secret_xml(sc, uuid2);
	is_str(uuid2, uuid, "the same libvirt secret");
	free(xml);
	value = chap_secret_value(uuid);
	is_str(value, CHAP_CLEAR2, "holding the new value");
	free(value);
	ok(chap_plan(&r, chap_config(changed, "vfops-initiator"), false) == 0 && vf_plan_empty(&r.plan),
	   "then nothing to do");
	chap_release(&r);

	/* a new username: an ordinary field, the pool redefined in place (the
	 * test driver drops a definition given while the pool runs: stopped
	 * first, the plan starts it again) */
	if (pool)
		virStoragePoolDestroy(pool);
	ok(chap_plan(&r, chap_config(changed, "vfops-other"), false) == 0, "plan a new username");
	ok(r.text && strstr(r.text, "chap.username: vfops-initiator -> vfops-other"),
	   "the username is an ordinary field");
	ok(chap_apply(&r), "apply it");
	chap_release(&r);
	xml = pool ? virStoragePoolGetXMLDesc(pool, 0) : NULL;
	ok(xml && strstr(xml, "username='vfops-other'") && strstr(xml, "usage='" CHAP_USAGE "'"),
	   "the pool has the new username, the same secret");
	ok(pool && virStoragePoolIsActive(pool) == 1, "and runs again");
	free(xml);

	/* destroy: the pool and the secret it made */
	ok(chap_plan(&r, chap_config(changed, "vfops-other"), true) == 0, "plan the destroy");
	a = r.plan.n_actions == 1 ? &r.plan.actions[0] : NULL;
	ok(a && a->type == VF_ACTION_DELETE, "one action: destroy the pool");
	ok(!leaks(r.text) && !leaks(r.json), "no clear text in the plan's text or JSON");
	ok(chap_apply(&r), "apply the destroy");
	chap_release(&r);
	is_int(undefine_calls, 1, "destroy undefines one libvirt secret");
	is_str(undefined_usage, CHAP_USAGE, "the one the pool named");
	if (pool)
		virStoragePoolFree(pool);
	pool = virStoragePoolLookupByName(conn, "vfchap");
	ok(pool == NULL, "the pool is gone");
	virResetLastError();
	if (pool)
		virStoragePoolFree(pool);
	free(sealed);
	free(resealed);
	free(changed);
	vf_state_close(&chap_state);
}

/* ---- an iscsi-direct pool with CHAP, through the whole pipeline ---- */

#define DIRECT_USAGE "virtform/vfops/vfdirect"
#define DIRECT_IQN1 "iqn.2026-11.org.example:vfops1"
#define DIRECT_IQN2 "iqn.2026-11.org.example:vfops2"

/*
 * The test driver takes iscsi-direct pools as libvirtd does (it refuses
 * one without an initiator IQN) and runs them without logging in: what
 * is checked here is the XML virtform defines, that observe reads back
 * what it defined (a no-op plan after the create), the replace a new
 * initiator makes, and the CHAP secret handled as for iscsi.
 */
static void test_chap_direct(const struct vf_public_key *pk)
{
	char *sealed = vf_secret_seal(pk, CHAP_CLEAR, strlen(CHAP_CLEAR));
	char uuid[VIR_UUID_STRING_BUFLEN] = "";
	const struct vf_action *a;
	struct chap_run r;
	virConnectPtr sc = secret_conn;
	virStoragePoolPtr pool;
	char *xml, *value;

	if (!sc)
		return;
	undefine_calls = 0;
	undefined_usage[0] = '\0';

	/* create */
	ok(chap_plan(&r, chap_config_as(DIRECT_IQN1, sealed, "vfops-initiator"), false) == 0,
	   "iscsi-direct: plan a CHAP pool");
	a = r.plan.n_actions == 1 ? &r.plan.actions[0] : NULL;
	ok(a && a->type == VF_ACTION_CREATE && !strcmp(a->address, "storage.vfdirect@" HOST),
	   "iscsi-direct: one action: create storage.vfdirect@" HOST);
	ok(r.text && strstr(r.text, "type: iscsi-direct") &&
	   strstr(r.text, "initiator: " DIRECT_IQN1) &&
	   strstr(r.text, "chap.username: vfops-initiator") &&
	   strstr(r.text, "chap.secret: (sealed)") && !strstr(r.text, "path:"),
	   "iscsi-direct: the plan shows type, initiator and CHAP, no path");
	ok(!leaks(r.text) && !leaks(r.json), "iscsi-direct: no clear text in the plan");
	ok(chap_apply(&r), "iscsi-direct: apply creates the pool and its secret");
	chap_release(&r);
	{
		struct vf_state_entry e = { .address = "storage.vfdirect@" HOST,
					    .kind = VF_KIND_STORAGE, .name = "vfdirect", .host = HOST };
		vf_state_put(&chap_state, &e);
	}

	xml = chap_secret_xml_of(sc, DIRECT_USAGE, uuid);
	ok(xml && strstr(xml, "private='yes'") && strstr(xml, "<description>virtform chap hash ") &&
	   !leaks(xml), "iscsi-direct: a private libvirt secret of usage iscsi '" DIRECT_USAGE "'");
	free(xml);
	value = chap_secret_value(uuid);
	is_str(value, CHAP_CLEAR, "iscsi-direct: holding the opened sealed value");
	free(value);
	pool = virStoragePoolLookupByName(conn, "vfdirect");
	xml = pool ? virStoragePoolGetXMLDesc(pool, 0) : NULL;
	ok(xml && strstr(xml, "<pool type='iscsi-direct'>") &&
	   strstr(xml, "<host name='192.0.2.10'/>") &&
	   strstr(xml, "<device path='iqn.2004-04.org.example:vfops'/>") &&
	   strstr(xml, "<iqn name='" DIRECT_IQN1 "'/>") &&
	   strstr(xml, "<auth type='chap' username='vfops-initiator'>") &&
	   strstr(xml, "<secret usage='" DIRECT_USAGE "'/>") && !strstr(xml, "<target>"),
	   "iscsi-direct: libvirt's pool has source, initiator and <auth>, no <target>");
	if (xml && !strstr(xml, DIRECT_IQN1))
		printf("# %s\n", xml);
	ok(pool && virStoragePoolIsActive(pool) == 1, "iscsi-direct: the pool is active");
	free(xml);

	/* observe reads back exactly what was defined */
	ok(chap_plan(&r, chap_config_as(DIRECT_IQN1, sealed, "vfops-initiator"), false) == 0 &&
	   vf_plan_empty(&r.plan), "iscsi-direct: then nothing to do (round trip through libvirt)");
	if (r.text && !vf_plan_empty(&r.plan))
		printf("# %s\n", r.text);
	chap_release(&r);

	/* another initiator: the pool is replaced, its secret made again */
	ok(chap_plan(&r, chap_config_as(DIRECT_IQN2, sealed, "vfops-initiator"), false) == 0,
	   "iscsi-direct: plan another initiator");
	a = r.plan.n_actions == 1 ? &r.plan.actions[0] : NULL;
	ok(a && a->type == VF_ACTION_REPLACE, "iscsi-direct: a replace");
	ok(r.text && strstr(r.text, "initiator: " DIRECT_IQN1 " -> " DIRECT_IQN2),
	   "iscsi-direct: the plan shows the initiator change");
	ok(chap_apply(&r), "iscsi-direct: apply the replace");
	chap_release(&r);
	is_str(undefined_usage, DIRECT_USAGE, "iscsi-direct: the replace undefined the old secret");
	if (pool)
		virStoragePoolFree(pool);
	pool = virStoragePoolLookupByName(conn, "vfdirect");
	xml = pool ? virStoragePoolGetXMLDesc(pool, 0) : NULL;
	ok(xml && strstr(xml, "<iqn name='" DIRECT_IQN2 "'/>") &&
	   strstr(xml, "<secret usage='" DIRECT_USAGE "'/>"),
	   "iscsi-direct: the new pool logs in as the new initiator, with the secret");
	ok(pool && virStoragePoolIsActive(pool) == 1, "iscsi-direct: and runs");
	free(xml);
	ok(chap_plan(&r, chap_config_as(DIRECT_IQN2, sealed, "vfops-initiator"), false) == 0 &&
	   vf_plan_empty(&r.plan), "iscsi-direct: then nothing to do");
	chap_release(&r);

	/* destroy: the pool and its secret */
	undefined_usage[0] = '\0';
	ok(chap_plan(&r, chap_config_as(DIRECT_IQN2, sealed, "vfops-initiator"), true) == 0,
	   "iscsi-direct: plan the destroy");
	a = r.plan.n_actions == 1 ? &r.plan.actions[0] : NULL;
	ok(a && a->type == VF_ACTION_DELETE, "iscsi-direct: one action: destroy the pool");
	ok(chap_apply(&r), "iscsi-direct: apply the destroy");
	chap_release(&r);
	is_int(undefine_calls, 2, "iscsi-direct: replace and destroy each undefined the secret");
	is_str(undefined_usage, DIRECT_USAGE, "iscsi-direct: the one the pool named");
	if (pool)
		virStoragePoolFree(pool);
	pool = virStoragePoolLookupByName(conn, "vfdirect");
	ok(pool == NULL, "iscsi-direct: the pool is gone");
	virResetLastError();
	if (pool)
		virStoragePoolFree(pool);
	free(sealed);
	vf_state_close(&chap_state);
}

/* ---- a sealed graphics password, through the whole pipeline ---- */

#define GFX_CLEAR "Vnc-pw1"
#define GFX_CLEAR2 "Vnc-pw2"

/* The loader's diagnostics of the last gfx_config() (malloc'd). */
static char *gfx_diags;

/* A config with one VM "vfgfx" on the test host, its VNC console on every
 * address with the password sealed (NULL: none). */
static struct vf_config *gfx_config(const char *sealed)
{
	char *path = xasprintf("%s/gfx.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	struct vf_diags d = { 0 };
	struct vf_config *c;
	size_t len;

	fprintf(f, "version: 1\nproject: vfops\nclusters: [{name: c}]\n"
		"hosts: [{name: " HOST ", uri: '" URI "'}]\n"
		"vms:\n  - name: vfgfx\n    cpus: 1\n    memory: 64MiB\n"
		"    graphics:\n      type: vnc\n      listen: 0.0.0.0\n");
	if (sealed)
		fprintf(f, "      password: {sealed: \"%s\"}\n", sealed);
	fclose(f);
	c = vf_config_load(path, &d);
	free(gfx_diags);
	f = open_memstream(&gfx_diags, &len);
	vf_diags_print(&d, f);
	fclose(f);
	vf_diags_release(&d);
	free(path);
	return c;
}

/* vfgfx's definition (what its next start uses), with VIR_DOMAIN_XML_SECURE
 * (passwd shown) or without. */
static char *gfx_xml(bool secure)
{
	virDomainPtr dom = virDomainLookupByName(conn, "vfgfx");
	char *xml = dom ? virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE |
					      (secure ? VIR_DOMAIN_XML_SECURE : 0)) : NULL;

	if (dom)
		virDomainFree(dom);
	virResetLastError();
	return xml;
}

static int gfx_leaks(const char *text)
{
	return text && (strstr(text, GFX_CLEAR) || strstr(text, GFX_CLEAR2));
}

static void test_graphics_password(const struct vf_public_key *pk)
{
	char *sealed = vf_secret_seal(pk, GFX_CLEAR, strlen(GFX_CLEAR));
	char *resealed = vf_secret_seal(pk, GFX_CLEAR, strlen(GFX_CLEAR));
	char *changed = vf_secret_seal(pk, GFX_CLEAR2, strlen(GFX_CLEAR2));
	char *toolong = vf_secret_seal(pk, "123456789", 9);
	const struct vf_action *a;
	struct vf_config *c;
	struct chap_run r;
	char *xml, *error = NULL;

	/* no password on a console open to the network: refused at load */
	c = gfx_config(NULL);
	ok(c == NULL && strstr(gfx_diags, "gfx.yaml:11:15: error: vm 'vfgfx': graphics: listen "
				       "'0.0.0.0' exposes the console to the network without a "
				       "password"),
	   "a VNC console on 0.0.0.0 without a password does not load, FILE:LINE:COL named");
	vf_config_free(c);

	/* create */
	ok(chap_plan(&r, gfx_config(sealed), false) == 0, "plan a VM with a sealed VNC password");
	a = r.plan.n_actions == 1 ? &r.plan.actions[0] : NULL;
	ok(a && a->type == VF_ACTION_CREATE && !strcmp(a->address, "vm.vfgfx"),
	   "one action: create vm.vfgfx");
	ok(r.text && strstr(r.text, "graphics.password: (sealed)"),
	   "the plan shows 'graphics.password: (sealed)'");
	ok(!gfx_leaks(r.text) && !gfx_leaks(r.json), "no clear text in the plan's text or JSON");
	ok(chap_apply(&r), "apply defines the VM");
	chap_release(&r);
	xml = gfx_xml(true);
	ok(xml && strstr(xml, "passwd='" GFX_CLEAR "'"), "the domain's graphics carry passwd= "
	   "the opened sealed value (XML with VIR_DOMAIN_XML_SECURE)");
	free(xml);
	xml = gfx_xml(false);
	ok(xml && strstr(xml, "listen='0.0.0.0'") && !gfx_leaks(xml) &&
	   strstr(xml, "graphics-password=\""), "without it: no passwd, and the marker records "
	   "a hash, not the password");
	free(xml);

	/* the same password sealed again: no change */
	ok(chap_plan(&r, gfx_config(resealed), false) == 0 && vf_plan_empty(&r.plan),
	   "the same password sealed again is no change");
	chap_release(&r);

	/* another password: "(sealed value changed)", written to the definition */
	ok(chap_plan(&r, gfx_config(changed), false) == 0, "plan a new password");
	a = r.plan.n_actions == 1 ? &r.plan.actions[0] : NULL;
	ok(a && a->type == VF_ACTION_UPDATE, "an update of vm.vfgfx");
	ok(r.text && strstr(r.text, "graphics.password: (sealed value changed)"),
	   "the plan says 'graphics.password: (sealed value changed)'");
	ok(!gfx_leaks(r.text) && !gfx_leaks(r.json), "no clear text in the plan's text or JSON");
	ok(chap_apply(&r), "apply the new password");
	chap_release(&r);
	xml = gfx_xml(true);
	ok(xml && strstr(xml, "passwd='" GFX_CLEAR2 "'"), "the definition holds the new one");
	free(xml);
	ok(chap_plan(&r, gfx_config(changed), false) == 0 && vf_plan_empty(&r.plan),
	   "then nothing to do");
	chap_release(&r);

	/* a VNC password VNC would cut short: apply refuses it, names the field */
	ok(chap_plan(&r, gfx_config(toolong), false) == 0 && r.plan.n_actions == 1,
	   "plan a 9-character VNC password");
	if (r.plan.n_actions == 1) {
		ok(vf_provider_libvirt.apply(session, &r.plan.actions[0], &error) < 0 && error &&
		   strstr(error, "vm 'vfgfx': graphics: password: a VNC password is 1 to 8 "
			  "characters") && !strstr(error, "123456789"),
		   "apply refuses it: %s", error ? error : "(applied)");
		free(error);
		error = NULL;
	}
	chap_release(&r);
	xml = gfx_xml(true);
	ok(xml && strstr(xml, "passwd='" GFX_CLEAR2 "'"), "and leaves the definition as it was");
	free(xml);

	/* without the key: plan warns and counts it unchanged; apply needs it */
	vf_cloudinit_set_key(NULL, false);
	ok(chap_plan(&r, gfx_config(sealed), false) == 0 && vf_plan_empty(&r.plan) &&
	   r.plan.n_warnings >= 1 && strstr(r.plan.warnings[0], "vm.vfgfx: graphics: the sealed "
					    "password was not compared (no secret key"),
	   "plan without the key: a warning, no change");
	chap_release(&r);

	/* destroy */
	ok(chap_plan(&r, gfx_config(changed), true) == 0 && r.plan.n_actions == 1 &&
	   chap_apply(&r), "destroy the VM");
	chap_release(&r);
	xml = gfx_xml(false);
	ok(xml == NULL, "it is gone");
	free(xml);
	free(sealed);
	free(resealed);
	free(changed);
	free(toolong);
	free(gfx_diags);
	gfx_diags = NULL;
}

int main(void)
{
	struct vf_diags d = { 0 };
	struct vf_secret_key *key;
	char *error = NULL, *keyfile;

	if (!mkdtemp(tmpdir))
		return 1;
	/* an embedded driver wants an event loop registered (none runs: the
	 * secret driver has no events to deliver here) */
	if (virEventRegisterDefaultImpl() < 0)
		return 1;
	secret_uri = xasprintf("secret:///embed?root=%s/secrets", tmpdir);
	/* one connection for the whole process: an embedded driver takes no
	 * second one */
	secret_conn = virConnectOpen(secret_uri);
	ok(secret_conn != NULL, "the embedded secret driver opens (%s)", secret_uri);
	vf_libvirt_set_secret_conn(secret_conn);
	vf_secret_keygen(tmpdir, false, NULL, &d);
	keyfile = xasprintf("%s/%s", tmpdir, VF_SECRET_KEY_FILE);
	key = vf_secret_key_load(keyfile, &d);
	vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	ok(key != NULL, "a key pair for the CHAP test");

	test_field_class();
	test_observe_unmanaged();

	session = vf_provider_libvirt.session_open(URI, &error);
	ok(session != NULL, "session open: %s", error ? error : "ok");
	free(error);
	if (!session)
		goto out;
	conn = vf_libvirt_session_conn(session);

	test_network();
	test_pool();
	test_volumes();
	test_vm();
	test_cleanup();
	if (key) {
		vf_cloudinit_set_key(key, true);
		test_graphics_password(vf_secret_key_public(key));
		vf_cloudinit_set_key(key, true);
		test_chap(vf_secret_key_public(key));
		test_chap_direct(vf_secret_key_public(key));
		vf_cloudinit_set_key(NULL, false);
	}

	vf_provider_libvirt.session_close(session);
out:
	vf_libvirt_set_secret_conn(NULL);
	if (secret_conn)
		virConnectClose(secret_conn);
	vf_secret_key_free(key);
	free(keyfile);
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
		free(cmd);
	}
	free(secret_uri);
	return tap_done();
}
