/*
 * xml-domain.c — a VM's libvirt XML both ways (xml.h): the <domain>
 * document, the NIC and marker fragments for live changes and import,
 * and the parse of every domain on a host, managed or not (lenient where
 * libvirt's vocabulary is larger than virtform's).  The marker (virtform's
 * metadata: project, spec hash, owned volumes, pending restart) is here.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/xml-internal.h"
#include "reconcile/cloudinit.h"

static void format_marker(struct builder *b, xmlNodePtr root, const struct vf_resource *r)
{
	const struct vf_marker *m = &r->u.vm.marker;
	xmlNodePtr metadata, res, vol;
	xmlNsPtr ns;
	size_t i;

	metadata = vf_xml_add(b, root, "metadata", NULL);
	res = vf_xml_add(b, metadata, "resource", NULL);
	if (!res)
		return;
	ns = xmlNewNs(res, (const xmlChar *)VF_XML_NS, (const xmlChar *)VF_XML_NS_PREFIX);
	if (!ns) {
		b->failed = true;
		return;
	}
	xmlSetNs(res, ns);
	vf_xml_set(b, res, "project", m->project);
	vf_xml_set(b, res, "address", r->address);
	vf_xml_set(b, res, "spec", m->spec_hash);
	if (m->pending && *m->pending) {
		vf_xml_set(b, res, "pending-restart", m->pending);
		vf_xml_set_u64(b, res, "pending-id",
			       (uint64_t)(m->pending_id > 0 ? m->pending_id : 0));
	}
	if (m->cloud_init)
		vf_xml_set(b, res, "cloud-init", m->cloud_init);
	if (m->graphics_password)
		vf_xml_set(b, res, "graphics-password", m->graphics_password);
	for (i = 0; i < m->n_volumes; i++) {
		vol = xmlNewChild(res, ns, (const xmlChar *)"volume", NULL);
		if (!vol) {
			b->failed = true;
			return;
		}
		vf_xml_set(b, vol, "pool", m->volumes[i].pool);
		vf_xml_set(b, vol, "name", m->volumes[i].name);
		vf_xml_set(b, vol, "keep", m->volumes[i].keep ? "yes" : "no");
	}
}

static void format_disk(struct builder *b, xmlNodePtr devices, const struct vf_disk_spec *d)
{
	xmlNodePtr disk, n;

	disk = vf_xml_add(b, devices, "disk", NULL);
	/* A disk read back from a file (pool NULL) is written as one. */
	vf_xml_set(b, disk, "type", d->pool ? "volume" : "file");
	vf_xml_set(b, disk, "device", d->cdrom ? "cdrom" : "disk");
	n = vf_xml_add(b, disk, "driver", NULL);
	vf_xml_set(b, n, "name", "qemu");
	vf_xml_set(b, n, "type", vf_xml_format_name(d->format));
	if (!d->cdrom)
		vf_xml_set(b, n, "cache", "none");
	n = vf_xml_add(b, disk, "source", NULL);
	if (d->pool) {
		vf_xml_set(b, n, "pool", d->pool);
		vf_xml_set(b, n, "volume", d->volume);
	} else {
		vf_xml_set(b, n, "file", d->volume);
	}
	n = vf_xml_add(b, disk, "target", NULL);
	vf_xml_set(b, n, "dev", d->target);
	/* the cloud-init seed: q35 has no IDE, so SATA */
	vf_xml_set(b, n, "bus", d->cdrom ? "sata" : "virtio");
	if (d->cdrom)
		vf_xml_add(b, disk, "readonly", NULL);
}

static void format_nic(struct builder *b, xmlNodePtr devices, const struct vf_nic_spec *nic)
{
	xmlNodePtr iface, n;
	char mac[18];

	iface = vf_xml_add(b, devices, "interface", NULL);
	vf_xml_set(b, iface, "type", "network");
	vf_mac_format(nic->mac, mac);
	n = vf_xml_add(b, iface, "mac", NULL);
	vf_xml_set(b, n, "address", mac);
	n = vf_xml_add(b, iface, "source", NULL);
	vf_xml_set(b, n, "network", nic->network);
	if (nic->model && *nic->model) {
		n = vf_xml_add(b, iface, "model", NULL);
		vf_xml_set(b, n, "type", nic->model);
	}
}

static void format_graphics(struct builder *b, xmlNodePtr devices, const struct vf_vm_spec *vm,
			    const char *passwd)
{
	const char *listen = vm->graphics_listen && *vm->graphics_listen ? vm->graphics_listen : NULL;
	xmlNodePtr g, n;

	g = vf_xml_add(b, devices, "graphics", NULL);
	vf_xml_set(b, g, "type", vm->graphics == VF_GRAPHICS_SPICE ? "spice" : "vnc");
	vf_xml_set_secret(b, g, "passwd", passwd);
	if (vm->graphics_port >= 0) {
		vf_xml_set_u64(b, g, "port", (uint64_t)vm->graphics_port);
		vf_xml_set(b, g, "autoport", "no");
	} else {
		vf_xml_set(b, g, "autoport", "yes");
	}
	if (listen) {
		vf_xml_set(b, g, "listen", listen);
		n = vf_xml_add(b, g, "listen", NULL);
		vf_xml_set(b, n, "type", "address");
		vf_xml_set(b, n, "address", listen);
	}
	/* Not diffed (parse ignores it): a display needs a video device. */
	n = vf_xml_add(b, vf_xml_add(b, devices, "video", NULL), "model", NULL);
	vf_xml_set(b, n, "type", "virtio");
}

/* What vm lacks to be written (malloc'd message), or NULL. */
static char *domain_missing(const struct vf_resource *r, const char *what)
{
	const struct vf_vm_spec *vm = &r->u.vm;
	size_t i;

	if (!r->name)
		return xasprintf("cannot write the XML of %s: it has no name", what);
	for (i = 0; i < vm->n_disks; i++) {
		const struct vf_disk_spec *d = &vm->disks[i];
		if (!d->target || !d->volume)
			return xasprintf("cannot write the XML of %s: disk '%s' has no %s", what,
					 d->name ? d->name : "?", d->target ? "volume" : "target");
	}
	for (i = 0; i < vm->n_nics; i++)
		if (!vm->nics[i].network)
			return xasprintf("cannot write the XML of %s: NIC %zu has no network", what,
					 i);
	return NULL;
}

/* memory, currentMemory, vcpu: the maximums and the current values. */
static void format_sizes(struct builder *b, xmlNodePtr root, const struct vf_vm_spec *vm)
{
	uint64_t max_memory = vm->max_memory ? vm->max_memory : vm->memory;
	unsigned max_cpus = vm->max_cpus ? vm->max_cpus : vm->cpus;
	xmlNodePtr n;

	vf_xml_set(b, vf_xml_add_u64(b, root, "memory", max_memory / 1024), "unit", "KiB");
	vf_xml_set(b, vf_xml_add_u64(b, root, "currentMemory", vm->memory / 1024), "unit", "KiB");
	n = vf_xml_add_u64(b, root, "vcpu", max_cpus);
	vf_xml_set(b, n, "placement", "static");
	if (vm->cpus != max_cpus)
		vf_xml_set_u64(b, n, "current", vm->cpus);
}

/* <os> (q35, BIOS or UEFI without Secure Boot), features, lifecycle. */
static void format_os(struct builder *b, xmlNodePtr root, const struct vf_vm_spec *vm)
{
	xmlNodePtr n = vf_xml_add(b, root, "os", NULL);

	if (vm->firmware == VF_FIRMWARE_EFI)
		vf_xml_set(b, n, "firmware", "efi");
	vf_xml_set(b, vf_xml_add(b, n, "type", "hvm"), "machine", "q35");
	if (vm->firmware == VF_FIRMWARE_EFI) {
		/* UEFI without Secure Boot: the secure builds need SMM, which
		 * nested or TCG hosts may lack; Secure Boot will be its own key */
		xmlNodePtr fw = vf_xml_add(b, n, "firmware", NULL), feat;
		feat = vf_xml_add(b, fw, "feature", NULL);
		vf_xml_set(b, feat, "enabled", "no");
		vf_xml_set(b, feat, "name", "secure-boot");
	}
	vf_xml_set(b, vf_xml_add(b, n, "boot", NULL), "dev", "hd");

	n = vf_xml_add(b, root, "features", NULL);
	vf_xml_add(b, n, "acpi", NULL);
	vf_xml_add(b, n, "apic", NULL);
	vf_xml_add(b, root, "on_poweroff", "destroy");
	vf_xml_add(b, root, "on_reboot", "restart");
	vf_xml_add(b, root, "on_crash", "destroy");
}

/* The serial console (pty) and the qemu-guest-agent channel. */
static void format_consoles(struct builder *b, xmlNodePtr devices)
{
	xmlNodePtr n = vf_xml_add(b, devices, "serial", NULL);

	vf_xml_set(b, n, "type", "pty");
	vf_xml_set(b, vf_xml_add(b, n, "target", NULL), "port", "0");
	n = vf_xml_add(b, devices, "console", NULL);
	vf_xml_set(b, n, "type", "pty");
	n = vf_xml_add(b, n, "target", NULL);
	vf_xml_set(b, n, "type", "serial");
	vf_xml_set(b, n, "port", "0");
	n = vf_xml_add(b, devices, "channel", NULL);
	vf_xml_set(b, n, "type", "unix");
	n = vf_xml_add(b, n, "target", NULL);
	vf_xml_set(b, n, "type", "virtio");
	vf_xml_set(b, n, "name", "org.qemu.guest_agent.0");
}

char *vf_xml_domain_format(const struct vf_resource *r, const char *graphics_passwd, char **error)
{
	const struct vf_vm_spec *vm = &r->u.vm;
	xmlNodePtr root, devices;
	struct builder b;
	char *what, *xml = NULL;
	size_t i;

	what = vf_xml_object_label("domain", r->name);
	*error = domain_missing(r, what);
	if (*error)
		goto out;
	root = vf_xml_start(&b, "domain");
	vf_xml_set(&b, root, "type", "kvm");
	vf_xml_add(&b, root, "name", r->name);
	if (r->uuid)
		vf_xml_add(&b, root, "uuid", r->uuid);
	if (vm->description && *vm->description)
		vf_xml_add(&b, root, "description", vm->description);
	if (vm->marker.project)
		format_marker(&b, root, r);
	format_sizes(&b, root, vm);
	format_os(&b, root, vm);

	devices = vf_xml_add(&b, root, "devices", NULL);
	for (i = 0; i < vm->n_disks; i++)
		format_disk(&b, devices, &vm->disks[i]);
	for (i = 0; i < vm->n_nics; i++)
		format_nic(&b, devices, &vm->nics[i]);
	format_consoles(&b, devices);
	if (vm->graphics != VF_GRAPHICS_NONE)
		format_graphics(&b, devices, vm, graphics_passwd);
	xml = vf_xml_finish(&b, what, error);
out:
	free(what);
	return xml;
}

char *vf_xml_interface_format(const struct vf_nic_spec *nic, char **error)
{
	struct builder b;
	xmlNodePtr root;
	char mac[18], *what, *xml;

	vf_mac_format(nic->mac, mac);
	what = xasprintf("NIC %s", mac);
	root = vf_xml_start(&b, "devices");
	format_nic(&b, root, nic);
	/* the <interface> alone is the document */
	if (root && root->children) {
		xmlNodePtr iface = root->children;
		xmlUnlinkNode(iface);
		xmlDocSetRootElement(b.doc, iface);
		xmlFreeNode(root);
	}
	xml = vf_xml_finish(&b, what, error);
	free(what);
	return xml;
}

/*
 * Without a namespace: virDomainSetMetadata puts the root element in
 * VF_XML_NS itself (and fails on a document that declares it already),
 * and leaves the <volume> children unqualified — read_marker takes both.
 */
char *vf_xml_marker_format(const struct vf_resource *vm, char **error)
{
	const struct vf_marker *m = &vm->u.vm.marker;
	struct builder b;
	xmlNodePtr root = vf_xml_start(&b, "resource"), vol;
	size_t i;

	vf_xml_set(&b, root, "project", m->project);
	vf_xml_set(&b, root, "address", vm->address);
	vf_xml_set(&b, root, "spec", m->spec_hash);
	for (i = 0; i < m->n_volumes; i++) {
		vol = vf_xml_add(&b, root, "volume", NULL);
		vf_xml_set(&b, vol, "pool", m->volumes[i].pool);
		vf_xml_set(&b, vol, "name", m->volumes[i].name);
		vf_xml_set(&b, vol, "keep", m->volumes[i].keep ? "yes" : "no");
	}
	return vf_xml_finish(&b, vm->address ? vm->address : vm->name, error);
}

static int read_memory(struct parser *p, struct vf_vm_spec *vm, char **error)
{
	xmlNodePtr max = vf_xml_find(p->root, "memory"), cur = vf_xml_find(p->root,
									   "currentMemory");

	if (!max) {
		*error = xasprintf("cannot parse the XML of %s: it has no <memory>", p->what);
		return -1;
	}
	if (vf_xml_read_size(p, max, 1024, &vm->max_memory, error) < 0)
		return -1;
	vm->memory = vm->max_memory;
	if (cur && vf_xml_read_size(p, cur, 1024, &vm->memory, error) < 0)
		return -1;
	return 0;
}

static int read_vcpu(struct parser *p, struct vf_vm_spec *vm, char **error)
{
	xmlNodePtr n = vf_xml_find(p->root, "vcpu");
	const char *text;
	uint64_t v;

	vm->cpus = vm->max_cpus = 1;   /* libvirt's default */
	if (!n)
		return 0;
	text = vf_xml_text_of(p, n);
	if (!vf_xml_parse_u64(text, &v) || v == 0 || v > UINT_MAX) {
		*error = xasprintf("invalid <vcpu> in %s: '%s'", p->what, text);
		return -1;
	}
	vm->cpus = vm->max_cpus = (unsigned)v;
	return vf_xml_read_uint_prop(p, n, "current", UINT_MAX, &vm->cpus, error) < 0 ? -1 : 0;
}

/* EFI: firmware autoselection (<os firmware='efi'>) or a pflash loader. */
static enum vf_firmware read_firmware(xmlNodePtr root)
{
	xmlNodePtr os = vf_xml_find(root, "os"), loader = vf_xml_find(os, "loader");

	if (vf_xml_prop_is(os, "firmware", "efi") || vf_xml_prop_is(loader, "type", "pflash"))
		return VF_FIRMWARE_EFI;
	return VF_FIRMWARE_BIOS;
}

/*
 * The first <graphics>.  A type virtform does not manage (sdl, rdp)
 * reads as none: there is nothing it could be compared with.
 */
static int read_graphics(struct parser *p, xmlNodePtr devices, struct vf_vm_spec *vm,
			 char **error)
{
	xmlNodePtr g = devices ? vf_xml_next_element(devices->children, "graphics") : NULL, l;
	const char *listen = NULL;
	unsigned port;
	int rc;

	vm->graphics = VF_GRAPHICS_NONE;
	vm->graphics_listen = NULL;
	vm->graphics_port = -1;
	if (!g)
		return 0;
	if (vf_xml_prop_is(g, "type", "vnc"))
		vm->graphics = VF_GRAPHICS_VNC;
	else if (vf_xml_prop_is(g, "type", "spice"))
		vm->graphics = VF_GRAPHICS_SPICE;
	else
		return 0;
	for (l = vf_xml_next_element(g->children,
				     "listen"); l && !listen; l = vf_xml_next_element(l->next,
										      "listen"))
		listen = vf_xml_prop_of(p, l, "address");
	if (!listen)
		listen = vf_xml_prop_of(p, g, "listen");
	vm->graphics_listen = vf_xml_or_empty(listen);
	/* port='-1' is libvirt's "automatic" too */
	if (vf_xml_prop_is(g, "autoport", "yes") || vf_xml_prop_is(g, "port", "-1"))
		return 0;
	rc = vf_xml_read_uint_prop(p, g, "port", 65535, &port, error);
	if (rc < 0)
		return -1;
	if (rc > 0)
		vm->graphics_port = (int)port;
	return 0;
}

/*
 * A disk's config name: a virtform volume is "VM-DISK", so the part after
 * the domain's name; else (not virtform's naming) its target.
 */
static const char *disk_name(const char *vm, const struct vf_disk_spec *d)
{
	size_t n = strlen(vm);

	if (d->pool && !strncmp(d->volume, vm, n) && d->volume[n] == '-' && d->volume[n + 1])
		return d->volume + n + 1;
	return d->target;
}

/* A disk's source as virtform sees it: pool + volume, or a path. */
static bool read_disk_source(struct parser *p, xmlNodePtr disk, struct vf_disk_spec *d)
{
	static const struct { const char *type, *attr; } sources[] = {
		{ "file", "file" }, { "block", "dev" }, { "dir", "dir" }, { "network", "name" },
	};
	xmlNodePtr src = vf_xml_find(disk, "source");
	size_t i;

	if (!src)
		return false;
	if (vf_xml_prop_is(disk, "type", "volume")) {
		d->pool = vf_xml_prop_of(p, src, "pool");
		d->volume = vf_xml_prop_of(p, src, "volume");
		return d->pool && d->volume;
	}
	d->pool = NULL;
	for (i = 0; i < VF_ARRAY_SIZE(sources); i++)
		if (vf_xml_prop_is(disk, "type", sources[i].type))
			d->volume = vf_xml_prop_of(p, src, sources[i].attr);
	return d->volume != NULL;
}

/* Is d virtform's cloud-init seed of vm: a pool volume "VM-cidata.iso"? */
static bool is_seed_volume(const char *vm, const struct vf_disk_spec *d)
{
	size_t n = strlen(vm), len;

	if (!d->pool || !d->volume || strncmp(d->volume, vm, n))
		return false;
	len = strlen(d->volume);
	return len == n + strlen(VF_SEED_SUFFIX) && !strcmp(d->volume + n, VF_SEED_SUFFIX);
}

/*
 * An array in the arena with room for one item of size per element <name>
 * of devices; NULL when there is none (or no devices).
 */
static void *alloc_per_element(struct parser *p, xmlNodePtr devices, const char *name,
			       size_t size)
{
	xmlNodePtr n;
	size_t count = 0;

	for (n = devices ? vf_xml_next_element(devices->children, name) : NULL; n;
	     n = vf_xml_next_element(n->next, name))
		count++;
	return count ? vf_arena_alloc(p->arena, count * size) : NULL;
}

static void read_disks(struct parser *p, xmlNodePtr devices, const char *vm_name,
		       struct vf_vm_spec *vm)
{
	xmlNodePtr n;

	vm->n_disks = 0;
	vm->disks = alloc_per_element(p, devices, "disk", sizeof(*vm->disks));
	if (!vm->disks)
		return;
	for (n = vf_xml_next_element(devices->children, "disk"); n; n = vf_xml_next_element(n->next,
											    "disk")) {
		struct vf_disk_spec *d = &vm->disks[vm->n_disks];

		/* a CD-ROM, floppy or LUN passthrough is not a virtform disk,
		 * but for the cloud-init seed virtform attaches (VM-cidata.iso) */
		bool cdrom = vf_xml_prop_is(n, "device", "cdrom");
		if (!cdrom && !vf_xml_prop_is(n, "device", "disk") &&
		    xmlHasProp(n, (const xmlChar *)"device"))
			continue;
		d->target = vf_xml_prop_of(p, vf_xml_find(n, "target"), "dev");
		if (!d->target || !read_disk_source(p, n, d))
			continue;
		if (cdrom && !is_seed_volume(vm_name, d))
			continue;
		d->cdrom = cdrom;
		/* what virtform does not write (vmdk, ...) compares as raw */
		d->format = vf_xml_prop_is(vf_xml_find(n, "driver"), "type",
					   "qcow2") ? VF_FORMAT_QCOW2
									  : VF_FORMAT_RAW;
		d->name = disk_name(vm_name, d);
		vm->n_disks++;
	}
}

/* "network" for type='network'; "TYPE:SOURCE" ("bridge:br0") otherwise. */
static const char *nic_network(struct parser *p, xmlNodePtr iface)
{
	static const struct { const char *type, *attr; } sources[] = {
		{ "network", "network" }, { "bridge", "bridge" }, { "direct", "dev" },
	};
	xmlNodePtr src = vf_xml_find(iface, "source");
	const char *type = vf_xml_or_empty(vf_xml_prop_of(p, iface, "type")), *value = NULL;
	size_t i, tlen, vlen;
	char *s;

	for (i = 0; i < VF_ARRAY_SIZE(sources); i++)
		if (!strcmp(type, sources[i].type))
			value = vf_xml_prop_of(p, src, sources[i].attr);
	if (!strcmp(type, "network"))
		return vf_xml_or_empty(value);
	if (!value && src && src->properties)
		value = vf_xml_prop_of(p, src, (const char *)src->properties->name);
	if (!value)
		return type;
	tlen = strlen(type);
	vlen = strlen(value);
	s = vf_arena_alloc(p->arena, tlen + vlen + 2);
	memcpy(s, type, tlen);
	s[tlen] = ':';
	memcpy(s + tlen + 1, value, vlen + 1);
	return s;
}

static void read_nics(struct parser *p, xmlNodePtr devices, struct vf_vm_spec *vm)
{
	xmlNodePtr n;

	vm->n_nics = 0;
	vm->nics = alloc_per_element(p, devices, "interface", sizeof(*vm->nics));
	if (!vm->nics)
		return;
	for (n = vf_xml_next_element(devices->children, "interface"); n;
	     n = vf_xml_next_element(n->next, "interface")) {
		struct vf_nic_spec *nic = &vm->nics[vm->n_nics++];
		const char *mac = vf_xml_prop_of(p, vf_xml_find(n, "mac"), "address");

		nic->network = nic_network(p, n);
		/* libvirt always writes a MAC; a missing or odd one reads as zeros */
		if (!mac || !vf_mac_parse(mac, nic->mac))
			memset(nic->mac, 0, sizeof(nic->mac));
		nic->model = vf_xml_or_empty(vf_xml_prop_of(p, vf_xml_find(n, "model"), "type"));
	}
}

/* Is n the element VF_XML_NS:name, whatever prefix libvirt gave it? */
static bool is_marker_element(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       !strcmp((const char *)n->ns->href, VF_XML_NS) &&
	       !strcmp((const char *)n->name, name);
}

/* A <volume> of the marker: in VF_XML_NS, or unqualified (as
 * virDomainSetMetadata leaves the children of what import writes). */
static bool is_marker_volume(xmlNodePtr n)
{
	return is_marker_element(n, "volume") ||
	       (n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, "volume"));
}

static void read_marker(struct parser *p, struct vf_marker *m)
{
	xmlNodePtr metadata = vf_xml_find(p->root, "metadata"), res = NULL, n;
	size_t count = 0;

	memset(m, 0, sizeof(*m));
	for (n = metadata ? metadata->children : NULL; n && !res; n = n->next)
		if (is_marker_element(n, "resource"))
			res = n;
	if (!res)
		return;
	m->project = vf_xml_prop_of(p, res, "project");
	if (!m->project)
		return;     /* not a marker virtform wrote: unmanaged */
	m->spec_hash = vf_xml_prop_of(p, res, "spec");
	m->cloud_init = vf_xml_prop_of(p, res, "cloud-init");
	m->graphics_password = vf_xml_prop_of(p, res, "graphics-password");
	m->pending = vf_xml_prop_of(p, res, "pending-restart");
	if (m->pending) {
		const char *id = vf_xml_prop_of(p, res, "pending-id");
		uint64_t v = 0;
		if (!id || !vf_xml_parse_u64(id, &v) || v > INT_MAX)
			m->pending = NULL;      /* unreadable: forget the wait */
		else
			m->pending_id = (int)v;
	}
	for (n = res->children; n; n = n->next)
		if (is_marker_volume(n))
			count++;
	if (!count)
		return;
	m->volumes = vf_arena_alloc(p->arena, count * sizeof(*m->volumes));
	for (n = res->children; n; n = n->next) {
		struct vf_marker_volume *v;

		if (!is_marker_volume(n))
			continue;
		v = &m->volumes[m->n_volumes++];
		v->pool = vf_xml_or_empty(vf_xml_prop_of(p, n, "pool"));
		v->name = vf_xml_or_empty(vf_xml_prop_of(p, n, "name"));
		v->keep = vf_xml_prop_is(n, "keep", "yes");
	}
}

static int read_domain(struct parser *p, struct vf_resource *r, char **error)
{
	struct vf_vm_spec *vm = &r->u.vm;
	xmlNodePtr devices;
	const char *desc;

	if (vf_xml_read_identity(p, r, error) < 0 || read_memory(p, vm, error) < 0 ||
	    read_vcpu(p, vm, error) < 0)
		return -1;
	vm->firmware = read_firmware(p->root);
	desc = vf_xml_text_of(p, vf_xml_find(p->root, "description"));
	/* libvirt drops an empty description: absent either way */
	vm->description = desc && *desc ? desc : NULL;
	devices = vf_xml_find(p->root, "devices");
	if (read_graphics(p, devices, vm, error) < 0)
		return -1;
	read_disks(p, devices, r->name, vm);
	read_nics(p, devices, vm);
	read_marker(p, &vm->marker);
	return 0;
}

int vf_xml_domain_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
			char **error)
{
	return vf_xml_parse_resource(xml, "domain", arena, r, error, read_domain);
}
