/*
 * xml.c — libvirt XML for virtform's resources, both ways (see xml.h).
 *
 * Format builds a document with libxml2's tree API and serializes it with
 * two-space indentation and no XML declaration: names and descriptions are
 * escaped by construction, and the same resource always gives the same
 * bytes (golden files pin them).  A value libxml2 could not serialize as
 * well-formed XML (invalid UTF-8, a control character) is refused with an
 * error naming the object instead of reaching libvirt.
 *
 * Parse walks the tree libvirt hands back, reading only what virtform
 * manages; everything libvirt adds (emulator, controllers, addresses,
 * aliases) is ignored.  Every domain on a host is parsed, managed or not,
 * so parse is lenient where virtform's vocabulary is smaller than
 * libvirt's (a SATA disk, a bridge NIC, a vmdk disk image) and strict only
 * where a value cannot be represented at all (a routed network, a volume
 * format virtform cannot diff).  Fields virtform manages that are missing
 * from the XML come back as "" (NULL only where spec.h says "NULL when
 * absent"); fields the XML does not carry (running, autostart, a volume's
 * pool) are the caller's and left alone.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>
#include <sodium.h>

#include "providers/libvirt/xml.h"
#include "reconcile/cloudinit.h"
#include "reconcile/util.h"

/* NOBLANKS and COMPACT: a third less parsing work on every domain (a
 * text of blanks only, like a description of spaces, is kept) */
#define PARSE_FLAGS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
		     XML_PARSE_NOBLANKS | XML_PARSE_COMPACT)

#define ISCSI_PATH "/dev/disk/by-path"

static const char *format_name(enum vf_image_format f)
{
	return f == VF_FORMAT_QCOW2 ? "qcow2" : "raw";
}

/* "domain 'web1'", or "a domain" when the name is not known (yet). */
static char *object_label(const char *kind, const char *name)
{
	return name ? xasprintf("%s '%s'", kind, name) : xasprintf("a %s", kind);
}

/* ---- format ---------------------------------------------------------- */

/*
 * A document under construction.  Helpers stop adding below a NULL parent,
 * so a failure deep down is reported once, at the end, by finish().
 */
struct builder {
	xmlDocPtr doc;
	const char *bad;        /* element or attribute whose value was refused */
	bool failed;            /* libxml2 ran out of memory */
	xmlAttrPtr secret;      /* an attribute holding a clear text (a graphics
				 * passwd): wiped, and the serialized text
				 * too, before they are freed */
};

/*
 * Can s be written in XML 1.0?  libxml2 serializes what it is given:
 * invalid UTF-8 would make it complain on stderr, and a control character
 * comes out as a character reference no XML 1.0 parser (libvirt's) takes.
 */
static bool text_ok(const char *s)
{
	const unsigned char *p;

	if (!xmlCheckUTF8((const xmlChar *)s))
		return false;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

static bool check_value(struct builder *b, const char *name, const char *value)
{
	if (text_ok(value))
		return true;
	if (!b->bad)
		b->bad = name;
	return false;
}

/* Add <name>text</name> (text NULL: empty) under parent; text is escaped. */
static xmlNodePtr add(struct builder *b, xmlNodePtr parent, const char *name, const char *text)
{
	xmlNodePtr n;

	if (!parent)
		return NULL;
	if (text && !check_value(b, name, text))
		text = NULL;
	n = xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text);
	if (!n)
		b->failed = true;
	return n;
}

static void set(struct builder *b, xmlNodePtr n, const char *name, const char *value)
{
	if (!n || !value)
		return;
	if (!check_value(b, name, value))
		return;
	if (!xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value))
		b->failed = true;
}

/* set() for a clear text: remembered so finish() wipes it. */
static void set_secret(struct builder *b, xmlNodePtr n, const char *name, const char *value)
{
	if (!n || !value)
		return;
	if (!check_value(b, name, value))
		return;
	b->secret = xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value);
	if (!b->secret)
		b->failed = true;
}

/* Add <name>value</name> under parent. */
static xmlNodePtr add_u64(struct builder *b, xmlNodePtr parent, const char *name, uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	return add(b, parent, name, buf);
}

static void set_u64(struct builder *b, xmlNodePtr n, const char *name, uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	set(b, n, name, buf);
}

static void set_ipv4(struct builder *b, xmlNodePtr n, const char *name, uint32_t a)
{
	char buf[16];

	set(b, n, name, vf_ipv4_format(a, buf));
}

/* Start a document whose root is <root>; returns the root (NULL: failed). */
static xmlNodePtr start(struct builder *b, const char *root)
{
	xmlNodePtr n;

	memset(b, 0, sizeof(*b));
	b->doc = xmlNewDoc((const xmlChar *)"1.0");
	if (!b->doc) {
		b->failed = true;
		return NULL;
	}
	n = xmlNewDocNode(b->doc, NULL, (const xmlChar *)root, NULL);
	if (!n) {
		b->failed = true;
		return NULL;
	}
	xmlDocSetRootElement(b->doc, n);
	return n;
}

/*
 * Serialize b's document (two-space indentation, without the XML
 * declaration) into a malloc'd string, and free the document.  what names
 * the object in an error.
 */
static char *finish(struct builder *b, const char *what, char **error)
{
	xmlChar *buf = NULL;
	const char *text, *nl;
	char *out = NULL;
	int len = 0;

	if (b->bad) {
		*error = xasprintf("cannot write the XML of %s: the value of '%s' is not valid "
				   "UTF-8 text or has a control character", what, b->bad);
		goto out;
	}
	if (!b->failed)
		xmlDocDumpFormatMemory(b->doc, &buf, &len, 1);
	if (!buf || len < 0) {
		*error = xasprintf("cannot write the XML of %s: out of memory", what);
		goto out;
	}
	text = (const char *)buf;
	if (!strncmp(text, "<?xml", 5) && (nl = memchr(text, '\n', (size_t)len)))
		text = nl + 1;
	out = xstrndup(text, (size_t)len - (size_t)(text - (const char *)buf));
out:
	if (b->secret) {
		xmlNodePtr t = b->secret->children;
		if (t && t->content)
			sodium_memzero(t->content, strlen((const char *)t->content));
		if (buf && len > 0)
			sodium_memzero(buf, (size_t)len);
	}
	xmlFree(buf);
	xmlFreeDoc(b->doc);
	b->doc = NULL;
	return out;
}

static void format_marker(struct builder *b, xmlNodePtr root, const struct vf_resource *r)
{
	const struct vf_marker *m = &r->u.vm.marker;
	xmlNodePtr metadata, res, vol;
	xmlNsPtr ns;
	size_t i;

	metadata = add(b, root, "metadata", NULL);
	res = add(b, metadata, "resource", NULL);
	if (!res)
		return;
	ns = xmlNewNs(res, (const xmlChar *)VF_XML_NS, (const xmlChar *)VF_XML_NS_PREFIX);
	if (!ns) {
		b->failed = true;
		return;
	}
	xmlSetNs(res, ns);
	set(b, res, "project", m->project);
	set(b, res, "address", r->address);
	set(b, res, "spec", m->spec_hash);
	if (m->pending && *m->pending) {
		set(b, res, "pending-restart", m->pending);
		set_u64(b, res, "pending-id", (uint64_t)(m->pending_id > 0 ? m->pending_id : 0));
	}
	if (m->cloud_init)
		set(b, res, "cloud-init", m->cloud_init);
	if (m->graphics_password)
		set(b, res, "graphics-password", m->graphics_password);
	for (i = 0; i < m->n_volumes; i++) {
		vol = xmlNewChild(res, ns, (const xmlChar *)"volume", NULL);
		if (!vol) {
			b->failed = true;
			return;
		}
		set(b, vol, "pool", m->volumes[i].pool);
		set(b, vol, "name", m->volumes[i].name);
		set(b, vol, "keep", m->volumes[i].keep ? "yes" : "no");
	}
}

static void format_disk(struct builder *b, xmlNodePtr devices, const struct vf_disk_spec *d)
{
	xmlNodePtr disk, n;

	disk = add(b, devices, "disk", NULL);
	/* A disk read back from a file (pool NULL) is written as one. */
	set(b, disk, "type", d->pool ? "volume" : "file");
	set(b, disk, "device", d->cdrom ? "cdrom" : "disk");
	n = add(b, disk, "driver", NULL);
	set(b, n, "name", "qemu");
	set(b, n, "type", format_name(d->format));
	if (!d->cdrom)
		set(b, n, "cache", "none");
	n = add(b, disk, "source", NULL);
	if (d->pool) {
		set(b, n, "pool", d->pool);
		set(b, n, "volume", d->volume);
	} else {
		set(b, n, "file", d->volume);
	}
	n = add(b, disk, "target", NULL);
	set(b, n, "dev", d->target);
	/* the cloud-init seed: q35 has no IDE, so SATA */
	set(b, n, "bus", d->cdrom ? "sata" : "virtio");
	if (d->cdrom)
		add(b, disk, "readonly", NULL);
}

static void format_nic(struct builder *b, xmlNodePtr devices, const struct vf_nic_spec *nic)
{
	xmlNodePtr iface, n;
	char mac[18];

	iface = add(b, devices, "interface", NULL);
	set(b, iface, "type", "network");
	vf_mac_format(nic->mac, mac);
	n = add(b, iface, "mac", NULL);
	set(b, n, "address", mac);
	n = add(b, iface, "source", NULL);
	set(b, n, "network", nic->network);
	if (nic->model && *nic->model) {
		n = add(b, iface, "model", NULL);
		set(b, n, "type", nic->model);
	}
}

static void format_graphics(struct builder *b, xmlNodePtr devices, const struct vf_vm_spec *vm,
			    const char *passwd)
{
	const char *listen = vm->graphics_listen && *vm->graphics_listen ? vm->graphics_listen : NULL;
	xmlNodePtr g, n;

	g = add(b, devices, "graphics", NULL);
	set(b, g, "type", vm->graphics == VF_GRAPHICS_SPICE ? "spice" : "vnc");
	set_secret(b, g, "passwd", passwd);
	if (vm->graphics_port >= 0) {
		set_u64(b, g, "port", (uint64_t)vm->graphics_port);
		set(b, g, "autoport", "no");
	} else {
		set(b, g, "autoport", "yes");
	}
	if (listen) {
		set(b, g, "listen", listen);
		n = add(b, g, "listen", NULL);
		set(b, n, "type", "address");
		set(b, n, "address", listen);
	}
	/* Not diffed (parse ignores it): a display needs a video device. */
	n = add(b, add(b, devices, "video", NULL), "model", NULL);
	set(b, n, "type", "virtio");
}

char *vf_xml_domain_format(const struct vf_resource *r, const char *graphics_passwd, char **error)
{
	const struct vf_vm_spec *vm = &r->u.vm;
	uint64_t max_memory = vm->max_memory ? vm->max_memory : vm->memory;
	unsigned max_cpus = vm->max_cpus ? vm->max_cpus : vm->cpus;
	xmlNodePtr root, n, devices;
	struct builder b;
	char *what, *xml = NULL;
	size_t i;

	what = object_label("domain", r->name);
	if (!r->name) {
		*error = xasprintf("cannot write the XML of %s: it has no name", what);
		goto out;
	}
	for (i = 0; i < vm->n_disks; i++) {
		const struct vf_disk_spec *d = &vm->disks[i];
		if (!d->target || !d->volume) {
			*error = xasprintf("cannot write the XML of %s: disk '%s' has no %s", what,
					   d->name ? d->name : "?", d->target ? "volume" : "target");
			goto out;
		}
	}
	for (i = 0; i < vm->n_nics; i++) {
		if (!vm->nics[i].network) {
			*error = xasprintf("cannot write the XML of %s: NIC %zu has no network",
					   what, i);
			goto out;
		}
	}

	root = start(&b, "domain");
	set(&b, root, "type", "kvm");
	add(&b, root, "name", r->name);
	if (r->uuid)
		add(&b, root, "uuid", r->uuid);
	if (vm->description && *vm->description)
		add(&b, root, "description", vm->description);
	if (vm->marker.project)
		format_marker(&b, root, r);

	set(&b, add_u64(&b, root, "memory", max_memory / 1024), "unit", "KiB");
	set(&b, add_u64(&b, root, "currentMemory", vm->memory / 1024), "unit", "KiB");
	n = add_u64(&b, root, "vcpu", max_cpus);
	set(&b, n, "placement", "static");
	if (vm->cpus != max_cpus)
		set_u64(&b, n, "current", vm->cpus);

	n = add(&b, root, "os", NULL);
	if (vm->firmware == VF_FIRMWARE_EFI)
		set(&b, n, "firmware", "efi");
	set(&b, add(&b, n, "type", "hvm"), "machine", "q35");
	if (vm->firmware == VF_FIRMWARE_EFI) {
		/* UEFI without Secure Boot: the secure builds need SMM, which
		 * nested or TCG hosts may lack; Secure Boot will be its own key */
		xmlNodePtr fw = add(&b, n, "firmware", NULL), feat;
		feat = add(&b, fw, "feature", NULL);
		set(&b, feat, "enabled", "no");
		set(&b, feat, "name", "secure-boot");
	}
	set(&b, add(&b, n, "boot", NULL), "dev", "hd");

	n = add(&b, root, "features", NULL);
	add(&b, n, "acpi", NULL);
	add(&b, n, "apic", NULL);
	add(&b, root, "on_poweroff", "destroy");
	add(&b, root, "on_reboot", "restart");
	add(&b, root, "on_crash", "destroy");

	devices = add(&b, root, "devices", NULL);
	for (i = 0; i < vm->n_disks; i++)
		format_disk(&b, devices, &vm->disks[i]);
	for (i = 0; i < vm->n_nics; i++)
		format_nic(&b, devices, &vm->nics[i]);
	n = add(&b, devices, "serial", NULL);
	set(&b, n, "type", "pty");
	set(&b, add(&b, n, "target", NULL), "port", "0");
	n = add(&b, devices, "console", NULL);
	set(&b, n, "type", "pty");
	n = add(&b, n, "target", NULL);
	set(&b, n, "type", "serial");
	set(&b, n, "port", "0");
	n = add(&b, devices, "channel", NULL);
	set(&b, n, "type", "unix");
	n = add(&b, n, "target", NULL);
	set(&b, n, "type", "virtio");
	set(&b, n, "name", "org.qemu.guest_agent.0");
	if (vm->graphics != VF_GRAPHICS_NONE)
		format_graphics(&b, devices, vm, graphics_passwd);

	xml = finish(&b, what, error);
out:
	free(what);
	return xml;
}

char *vf_xml_network_format(const struct vf_resource *r, char **error)
{
	const struct vf_network_spec *net = &r->u.net;
	xmlNodePtr root, n;
	struct builder b;
	char *what, *xml = NULL;

	what = object_label("network", r->name);
	if (!r->name || !net->bridge || !*net->bridge) {
		*error = xasprintf("cannot write the XML of %s: it has no %s", what,
				   r->name ? "bridge" : "name");
		goto out;
	}
	root = start(&b, "network");
	add(&b, root, "name", r->name);
	if (r->uuid)
		add(&b, root, "uuid", r->uuid);
	switch (net->mode) {
	case VF_NET_MODE_NAT:
		set(&b, add(&b, root, "forward", NULL), "mode", "nat");
		break;
	case VF_NET_MODE_BRIDGE:
		set(&b, add(&b, root, "forward", NULL), "mode", "bridge");
		break;
	case VF_NET_MODE_ISOLATED:
		break;
	}
	n = add(&b, root, "bridge", NULL);
	set(&b, n, "name", net->bridge);
	if (net->mode != VF_NET_MODE_BRIDGE) {
		/* libvirt makes this bridge: STP on, no forwarding delay */
		set(&b, n, "stp", "on");
		set(&b, n, "delay", "0");
	}
	/* libvirt refuses <mtu> in bridge mode: the host bridge's MTU is
	 * the host's, so a bridge network reads back with mtu 0 */
	if (net->mtu && net->mode != VF_NET_MODE_BRIDGE)
		set_u64(&b, add(&b, root, "mtu", NULL), "size", net->mtu);
	if (net->has_ipv4) {
		n = add(&b, root, "ip", NULL);
		set_ipv4(&b, n, "address", net->ipv4_address);
		set_u64(&b, n, "prefix", net->ipv4_prefix);
		if (net->has_dhcp) {
			n = add(&b, add(&b, n, "dhcp", NULL), "range", NULL);
			set_ipv4(&b, n, "start", net->dhcp_start);
			set_ipv4(&b, n, "end", net->dhcp_end);
		}
	}
	xml = finish(&b, what, error);
out:
	free(what);
	return xml;
}

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

char *vf_xml_pool_format(const struct vf_resource *r, char **error)
{
	const struct vf_pool_spec *pool = &r->u.pool;
	char *what, *xml = NULL, *devpath = NULL, *host = NULL, *port = NULL;
	const char *path = pool->path, *missing = NULL;
	xmlNodePtr root, source = NULL, n;
	struct builder b;

	what = object_label("pool", r->name);
	switch (pool->type) {
	case VF_STORAGE_DIR:
		break;
	case VF_STORAGE_NFS:
		missing = !pool->server ? "NFS server" : !pool->export_path ? "NFS export" : NULL;
		break;
	case VF_STORAGE_LOGICAL:
		if (!pool->vg)
			missing = "volume group";
		else if (!path)
			path = devpath = xasprintf("/dev/%s", pool->vg);
		break;
	case VF_STORAGE_ISCSI:
		missing = !pool->portal ? "iSCSI portal" : !pool->target ? "iSCSI target" : NULL;
		if (!path)
			path = ISCSI_PATH;
		break;
	case VF_STORAGE_ISCSI_DIRECT:
		/* libvirt refuses the pool without an initiator IQN */
		missing = !pool->portal ? "iSCSI portal" : !pool->target ? "iSCSI target" :
			  !pool->initiator ? "initiator IQN" : NULL;
		break;
	}
	if (!missing && !path && pool->type != VF_STORAGE_ISCSI_DIRECT)
		missing = "path";
	if (!r->name)
		missing = "name";
	if (missing) {
		*error = xasprintf("cannot write the XML of %s: it has no %s", what, missing);
		goto out;
	}
	if ((pool->type == VF_STORAGE_ISCSI || pool->type == VF_STORAGE_ISCSI_DIRECT) &&
	    split_portal(pool->portal, &host, &port) < 0) {
		*error = xasprintf("cannot write the XML of %s: invalid iSCSI portal '%s' "
				   "(expected HOST or HOST:PORT)", what, pool->portal);
		goto out;
	}

	root = start(&b, "pool");
	set(&b, root, "type", pool->type == VF_STORAGE_DIR ? "dir" :
			      pool->type == VF_STORAGE_NFS ? "netfs" :
			      pool->type == VF_STORAGE_LOGICAL ? "logical" :
			      pool->type == VF_STORAGE_ISCSI ? "iscsi" : "iscsi-direct");
	add(&b, root, "name", r->name);
	if (r->uuid)
		add(&b, root, "uuid", r->uuid);
	if (pool->type != VF_STORAGE_DIR)
		source = add(&b, root, "source", NULL);
	switch (pool->type) {
	case VF_STORAGE_DIR:
		break;
	case VF_STORAGE_NFS:
		set(&b, add(&b, source, "host", NULL), "name", pool->server);
		set(&b, add(&b, source, "dir", NULL), "path", pool->export_path);
		set(&b, add(&b, source, "format", NULL), "type", "nfs");
		break;
	case VF_STORAGE_LOGICAL:
		add(&b, source, "name", pool->vg);
		set(&b, add(&b, source, "format", NULL), "type", "lvm2");
		break;
	case VF_STORAGE_ISCSI:
	case VF_STORAGE_ISCSI_DIRECT:
		n = add(&b, source, "host", NULL);
		set(&b, n, "name", host);
		set(&b, n, "port", port);
		set(&b, add(&b, source, "device", NULL), "path", pool->target);
		/* libvirt's order: host, device, initiator, auth */
		if (pool->initiator)
			set(&b, add(&b, add(&b, source, "initiator", NULL), "iqn", NULL), "name",
			    pool->initiator);
		if (pool->chap_username && pool->chap_usage) {
			n = add(&b, source, "auth", NULL);
			set(&b, n, "type", "chap");
			set(&b, n, "username", pool->chap_username);
			set(&b, add(&b, n, "secret", NULL), "usage", pool->chap_usage);
		}
		break;
	}
	/* an iscsi-direct pool's LUNs are reached over the network by
	 * libvirtd, never as host devices: it has no <target> */
	if (pool->type != VF_STORAGE_ISCSI_DIRECT) {
		n = add(&b, root, "target", NULL);
		add(&b, n, "path", path);
		if (pool->type == VF_STORAGE_DIR)
			add(&b, add(&b, n, "permissions", NULL), "mode", "0711");
	}
	xml = finish(&b, what, error);
out:
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

	root = start(&b, "secret");
	set(&b, root, "ephemeral", "no");
	set(&b, root, "private", "yes");
	if (uuid)
		add(&b, root, "uuid", uuid);
	add(&b, root, "description", description);
	n = add(&b, root, "usage", NULL);
	set(&b, n, "type", "iscsi");
	add(&b, n, "target", usage);
	xml = finish(&b, what, error);
	free(what);
	return xml;
}

char *vf_xml_volume_format(const struct vf_resource *r, uint64_t capacity,
			   const char *backing_path, enum vf_image_format backing_format,
			   char **error)
{
	xmlNodePtr root, n, target, backing;
	struct builder b;
	char *what, *xml = NULL;

	what = object_label("volume", r->name);
	if (!r->name) {
		*error = xasprintf("cannot write the XML of %s: it has no name", what);
		goto out;
	}
	root = start(&b, "volume");
	add(&b, root, "name", r->name);
	set(&b, add_u64(&b, root, "capacity", capacity), "unit", "bytes");
	target = add(&b, root, "target", NULL);
	set(&b, add(&b, target, "format", NULL), "type", format_name(r->u.vol.format));
	add(&b, add(&b, target, "permissions", NULL), "mode", "0600");
	if (backing_path) {
		backing = add(&b, root, "backingStore", NULL);
		add(&b, backing, "path", backing_path);
		n = add(&b, backing, "format", NULL);
		set(&b, n, "type", format_name(backing_format));
	}
	xml = finish(&b, what, error);
out:
	free(what);
	return xml;
}

/* ---- fragments for live changes -------------------------------------- */

char *vf_xml_interface_format(const struct vf_nic_spec *nic, char **error)
{
	struct builder b;
	xmlNodePtr root;
	char mac[18], *what, *xml;

	vf_mac_format(nic->mac, mac);
	what = xasprintf("NIC %s", mac);
	root = start(&b, "devices");
	format_nic(&b, root, nic);
	/* the <interface> alone is the document */
	if (root && root->children) {
		xmlNodePtr iface = root->children;
		xmlUnlinkNode(iface);
		xmlDocSetRootElement(b.doc, iface);
		xmlFreeNode(root);
	}
	xml = finish(&b, what, error);
	free(what);
	return xml;
}

char *vf_xml_dhcp_range_format(uint32_t first, uint32_t last, char **error)
{
	struct builder b;
	xmlNodePtr root = start(&b, "range");

	set_ipv4(&b, root, "start", first);
	set_ipv4(&b, root, "end", last);
	return finish(&b, "a DHCP range", error);
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
	xmlNodePtr root = start(&b, "resource"), vol;
	size_t i;

	set(&b, root, "project", m->project);
	set(&b, root, "address", vm->address);
	set(&b, root, "spec", m->spec_hash);
	for (i = 0; i < m->n_volumes; i++) {
		vol = add(&b, root, "volume", NULL);
		set(&b, vol, "pool", m->volumes[i].pool);
		set(&b, vol, "name", m->volumes[i].name);
		set(&b, vol, "keep", m->volumes[i].keep ? "yes" : "no");
	}
	return finish(&b, vm->address ? vm->address : vm->name, error);
}

/* ---- parse ----------------------------------------------------------- */

/* One document being read; what names the object in errors. */
struct parser {
	xmlDocPtr doc;
	xmlNodePtr root;
	struct vf_arena *arena;
	const char *kind;
	char *what;
};

static void parser_name(struct parser *p, const char *name)
{
	free(p->what);
	p->what = object_label(p->kind, name);
}

/* libxml2's message on one line, first letter lowercase like ours. */
static char *xml_message(const xmlError *e)
{
	char *msg, *s;

	msg = xstrdup(e && e->message ? e->message : "not well-formed");
	for (s = msg; *s; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
	while (s > msg && s[-1] == ' ')
		*--s = '\0';
	if (msg[0] >= 'A' && msg[0] <= 'Z' && !(msg[1] >= 'A' && msg[1] <= 'Z'))
		msg[0] = (char)(msg[0] - 'A' + 'a');
	if (e && e->line > 0 && !strstr(msg, " line ")) {
		s = xasprintf("%s (line %d)", msg, e->line);
		free(msg);
		msg = s;
	}
	return msg;
}

/*
 * Parse xml, whose root must be <kind>; name (may be NULL) names the
 * object until its XML says otherwise.  0, or -1 with *error set.
 */
static int parser_open(struct parser *p, const char *xml, const char *kind, const char *name,
		       struct vf_arena *arena, char **error)
{
	xmlParserCtxtPtr ctxt = NULL;
	char *msg = NULL;
	size_t len;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->arena = arena;
	parser_name(p, name);
	len = xml ? strlen(xml) : 0;
	if (!xml || len > INT_MAX) {
		*error = xasprintf("cannot parse the XML of %s: %s", p->what,
				   xml ? "too large" : "no XML");
		goto out;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		*error = xasprintf("cannot parse the XML of %s: out of memory", p->what);
		goto out;
	}
	p->doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL, PARSE_FLAGS);
	if (!p->doc) {
		msg = xml_message(&ctxt->lastError);
		*error = xasprintf("cannot parse the XML of %s: %s", p->what, msg);
		goto out;
	}
	p->root = xmlDocGetRootElement(p->doc);
	if (!p->root || p->root->ns || strcmp((const char *)p->root->name, kind)) {
		*error = xasprintf("cannot parse the XML of %s: the root element is <%s>, not <%s>",
				   p->what, p->root ? (const char *)p->root->name : "", kind);
		goto out;
	}
	rc = 0;
out:
	free(msg);
	if (ctxt)
		xmlFreeParserCtxt(ctxt);
	return rc;
}

static void parser_close(struct parser *p)
{
	xmlFreeDoc(p->doc);
	free(p->what);
	memset(p, 0, sizeof(*p));
}

/* Is n an element <name> of no namespace (as all of libvirt's are)? */
static bool is_element(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

/* The next element <name> from n on (n included); NULL when none. */
static xmlNodePtr next_element(xmlNodePtr n, const char *name)
{
	for (; n; n = n->next)
		if (is_element(n, name))
			break;
	return n;
}

/* The first element at path ("devices/graphics") below n; NULL when absent. */
static xmlNodePtr find(xmlNodePtr n, const char *path)
{
	while (n && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);
		xmlNodePtr c;

		for (c = n->children; c; c = c->next)
			if (c->type == XML_ELEMENT_NODE && !c->ns &&
			    strlen((const char *)c->name) == len && !memcmp(c->name, path, len))
				break;
		n = c;
		path += len + (slash != NULL);
	}
	return n;
}

/* The text of n in the arena; NULL when n is NULL. */
static const char *text_of(struct parser *p, xmlNodePtr n)
{
	xmlChar *v;
	const char *s;

	if (!n)
		return NULL;
	v = xmlNodeGetContent(n);
	s = vf_arena_strdup(p->arena, v ? (const char *)v : "");
	xmlFree(v);
	return s;
}

/* Attribute name of n in the arena; NULL when n or the attribute is absent. */
static const char *prop_of(struct parser *p, xmlNodePtr n, const char *name)
{
	xmlChar *v;
	const char *s;

	if (!n || !(v = xmlGetProp(n, (const xmlChar *)name)))
		return NULL;
	s = vf_arena_strdup(p->arena, (const char *)v);
	xmlFree(v);
	return s;
}

/* Does n have attribute name equal to value? */
static bool prop_is(xmlNodePtr n, const char *name, const char *value)
{
	xmlChar *v;
	bool eq;

	if (!n || !(v = xmlGetProp(n, (const xmlChar *)name)))
		return false;
	eq = !strcmp((const char *)v, value);
	xmlFree(v);
	return eq;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A decimal number, blanks around allowed; false on anything else or overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	bool digits = false;

	if (!s)
		return false;
	while (blank(*s))
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		digits = true;
	}
	while (blank(*s))
		s++;
	if (!digits || *s)
		return false;
	*out = v;
	return true;
}

/* libvirt's size units (virScaleInteger): case-insensitive, "KB" is 1000. */
static bool unit_scale(const char *unit, uint64_t *scale)
{
	static const char letters[] = "kmgtpe";
	const char *l;
	uint64_t base, s = 1;

	if (!strcasecmp(unit, "b") || !strcasecmp(unit, "bytes")) {
		*scale = 1;
		return true;
	}
	if (!unit[0] || !(l = strchr(letters, unit[0] | 0x20)))
		return false;
	if (!unit[1] || !strcasecmp(unit + 1, "iB"))
		base = 1024;
	else if (!strcasecmp(unit + 1, "B"))
		base = 1000;
	else
		return false;
	for (; l >= letters; l--)
		s *= base;
	*scale = s;
	return true;
}

/*
 * The size in element n (its unit attribute, else default_scale) in
 * bytes.  -1 with *error set when it is not a valid size.
 */
static int read_size(struct parser *p, xmlNodePtr n, uint64_t default_scale, uint64_t *bytes,
		     char **error)
{
	const char *text = text_of(p, n), *unit = prop_of(p, n, "unit");
	uint64_t v, scale = default_scale;

	if (!parse_u64(text, &v) || (unit && !unit_scale(unit, &scale)) ||
	    (v && scale > UINT64_MAX / v)) {
		*error = xasprintf("invalid <%s> in %s: '%s%s%s'", (const char *)n->name, p->what,
				   text, unit ? " " : "", unit ? unit : "");
		return -1;
	}
	*bytes = v * scale;
	return 0;
}

/* An unsigned attribute: 1 read, 0 absent, -1 invalid (*error set). */
static int read_uint_prop(struct parser *p, xmlNodePtr n, const char *name, unsigned max,
			  unsigned *out, char **error)
{
	const char *v = prop_of(p, n, name);
	uint64_t x;

	if (!v)
		return 0;
	if (!parse_u64(v, &x) || x > max) {
		*error = xasprintf("invalid %s '%s' on <%s> in %s", name, v,
				   (const char *)n->name, p->what);
		return -1;
	}
	*out = (unsigned)x;
	return 1;
}

/* Read <name> (required) and <uuid> into r; renames the parser. */
static int read_identity(struct parser *p, struct vf_resource *r, char **error)
{
	const char *name = text_of(p, find(p->root, "name"));

	if (!name || !*name) {
		*error = xasprintf("cannot parse the XML of %s: it has no <name>", p->what);
		return -1;
	}
	r->name = name;
	parser_name(p, name);
	r->uuid = text_of(p, find(p->root, "uuid"));
	if (r->uuid && !*r->uuid)
		r->uuid = NULL;
	return 0;
}

/* ---- domain ---------------------------------------------------------- */

static int read_memory(struct parser *p, struct vf_vm_spec *vm, char **error)
{
	xmlNodePtr max = find(p->root, "memory"), cur = find(p->root, "currentMemory");

	if (!max) {
		*error = xasprintf("cannot parse the XML of %s: it has no <memory>", p->what);
		return -1;
	}
	if (read_size(p, max, 1024, &vm->max_memory, error) < 0)
		return -1;
	vm->memory = vm->max_memory;
	if (cur && read_size(p, cur, 1024, &vm->memory, error) < 0)
		return -1;
	return 0;
}

static int read_vcpu(struct parser *p, struct vf_vm_spec *vm, char **error)
{
	xmlNodePtr n = find(p->root, "vcpu");
	const char *text;
	uint64_t v;

	vm->cpus = vm->max_cpus = 1;   /* libvirt's default */
	if (!n)
		return 0;
	text = text_of(p, n);
	if (!parse_u64(text, &v) || v == 0 || v > UINT_MAX) {
		*error = xasprintf("invalid <vcpu> in %s: '%s'", p->what, text);
		return -1;
	}
	vm->cpus = vm->max_cpus = (unsigned)v;
	return read_uint_prop(p, n, "current", UINT_MAX, &vm->cpus, error) < 0 ? -1 : 0;
}

/* EFI: firmware autoselection (<os firmware='efi'>) or a pflash loader. */
static enum vf_firmware read_firmware(xmlNodePtr root)
{
	xmlNodePtr os = find(root, "os"), loader = find(os, "loader");

	if (prop_is(os, "firmware", "efi") || prop_is(loader, "type", "pflash"))
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
	xmlNodePtr g = devices ? next_element(devices->children, "graphics") : NULL, l;
	const char *listen = NULL;
	unsigned port;
	int rc;

	vm->graphics = VF_GRAPHICS_NONE;
	vm->graphics_listen = NULL;
	vm->graphics_port = -1;
	if (!g)
		return 0;
	if (prop_is(g, "type", "vnc"))
		vm->graphics = VF_GRAPHICS_VNC;
	else if (prop_is(g, "type", "spice"))
		vm->graphics = VF_GRAPHICS_SPICE;
	else
		return 0;
	for (l = next_element(g->children, "listen"); l && !listen; l = next_element(l->next, "listen"))
		listen = prop_of(p, l, "address");
	if (!listen)
		listen = prop_of(p, g, "listen");
	vm->graphics_listen = or_empty(listen);
	/* port='-1' is libvirt's "automatic" too */
	if (prop_is(g, "autoport", "yes") || prop_is(g, "port", "-1"))
		return 0;
	rc = read_uint_prop(p, g, "port", 65535, &port, error);
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
	xmlNodePtr src = find(disk, "source");
	size_t i;

	if (!src)
		return false;
	if (prop_is(disk, "type", "volume")) {
		d->pool = prop_of(p, src, "pool");
		d->volume = prop_of(p, src, "volume");
		return d->pool && d->volume;
	}
	d->pool = NULL;
	for (i = 0; i < VF_ARRAY_SIZE(sources); i++)
		if (prop_is(disk, "type", sources[i].type))
			d->volume = prop_of(p, src, sources[i].attr);
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

static void read_disks(struct parser *p, xmlNodePtr devices, const char *vm_name,
		       struct vf_vm_spec *vm)
{
	xmlNodePtr n;
	size_t count = 0;

	vm->disks = NULL;
	vm->n_disks = 0;
	for (n = devices ? next_element(devices->children, "disk") : NULL; n;
	     n = next_element(n->next, "disk"))
		count++;
	if (!count)
		return;
	vm->disks = vf_arena_alloc(p->arena, count * sizeof(*vm->disks));
	for (n = next_element(devices->children, "disk"); n; n = next_element(n->next, "disk")) {
		struct vf_disk_spec *d = &vm->disks[vm->n_disks];

		/* a CD-ROM, floppy or LUN passthrough is not a virtform disk,
		 * but for the cloud-init seed virtform attaches (VM-cidata.iso) */
		bool cdrom = prop_is(n, "device", "cdrom");
		if (!cdrom && !prop_is(n, "device", "disk") &&
		    xmlHasProp(n, (const xmlChar *)"device"))
			continue;
		d->target = prop_of(p, find(n, "target"), "dev");
		if (!d->target || !read_disk_source(p, n, d))
			continue;
		if (cdrom && !is_seed_volume(vm_name, d))
			continue;
		d->cdrom = cdrom;
		/* what virtform does not write (vmdk, ...) compares as raw */
		d->format = prop_is(find(n, "driver"), "type", "qcow2") ? VF_FORMAT_QCOW2
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
	xmlNodePtr src = find(iface, "source");
	const char *type = or_empty(prop_of(p, iface, "type")), *value = NULL;
	size_t i, tlen, vlen;
	char *s;

	for (i = 0; i < VF_ARRAY_SIZE(sources); i++)
		if (!strcmp(type, sources[i].type))
			value = prop_of(p, src, sources[i].attr);
	if (!strcmp(type, "network"))
		return or_empty(value);
	if (!value && src && src->properties)
		value = prop_of(p, src, (const char *)src->properties->name);
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
	size_t count = 0;

	vm->nics = NULL;
	vm->n_nics = 0;
	for (n = devices ? next_element(devices->children, "interface") : NULL; n;
	     n = next_element(n->next, "interface"))
		count++;
	if (!count)
		return;
	vm->nics = vf_arena_alloc(p->arena, count * sizeof(*vm->nics));
	for (n = next_element(devices->children, "interface"); n;
	     n = next_element(n->next, "interface")) {
		struct vf_nic_spec *nic = &vm->nics[vm->n_nics++];
		const char *mac = prop_of(p, find(n, "mac"), "address");

		nic->network = nic_network(p, n);
		/* libvirt always writes a MAC; a missing or odd one reads as zeros */
		if (!mac || !vf_mac_parse(mac, nic->mac))
			memset(nic->mac, 0, sizeof(nic->mac));
		nic->model = or_empty(prop_of(p, find(n, "model"), "type"));
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
	xmlNodePtr metadata = find(p->root, "metadata"), res = NULL, n;
	size_t count = 0;

	memset(m, 0, sizeof(*m));
	for (n = metadata ? metadata->children : NULL; n && !res; n = n->next)
		if (is_marker_element(n, "resource"))
			res = n;
	if (!res)
		return;
	m->project = prop_of(p, res, "project");
	if (!m->project)
		return;     /* not a marker virtform wrote: unmanaged */
	m->spec_hash = prop_of(p, res, "spec");
	m->cloud_init = prop_of(p, res, "cloud-init");
	m->graphics_password = prop_of(p, res, "graphics-password");
	m->pending = prop_of(p, res, "pending-restart");
	if (m->pending) {
		const char *id = prop_of(p, res, "pending-id");
		uint64_t v = 0;
		if (!id || !parse_u64(id, &v) || v > INT_MAX)
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
		v->pool = or_empty(prop_of(p, n, "pool"));
		v->name = or_empty(prop_of(p, n, "name"));
		v->keep = prop_is(n, "keep", "yes");
	}
}

static int read_domain(struct parser *p, struct vf_resource *r, char **error)
{
	struct vf_vm_spec *vm = &r->u.vm;
	xmlNodePtr devices;
	const char *desc;

	if (read_identity(p, r, error) < 0 || read_memory(p, vm, error) < 0 ||
	    read_vcpu(p, vm, error) < 0)
		return -1;
	vm->firmware = read_firmware(p->root);
	desc = text_of(p, find(p->root, "description"));
	/* libvirt drops an empty description: absent either way */
	vm->description = desc && *desc ? desc : NULL;
	devices = find(p->root, "devices");
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
	struct parser p;
	int rc = -1;

	if (parser_open(&p, xml, "domain", r->name, arena, error) < 0)
		goto out;
	rc = read_domain(&p, r, error);
out:
	parser_close(&p);
	return rc;
}

/* ---- network --------------------------------------------------------- */

/* The prefix length of a contiguous netmask; -1 when it is not one. */
static int netmask_prefix(uint32_t mask)
{
	int prefix = 0;

	while (prefix < 32 && (mask & (UINT32_C(1) << (31 - prefix))))
		prefix++;
	if (prefix < 32 && (mask << prefix))
		return -1;
	return prefix;
}

static int read_ipv4_address(struct parser *p, xmlNodePtr n, const char *name, uint32_t *addr,
			     char **error)
{
	const char *v = prop_of(p, n, name);

	if (!v || !vf_ipv4_parse(v, addr, NULL, false)) {
		*error = xasprintf("invalid IPv4 %s '%s' on <%s> in %s", name, or_empty(v),
				   (const char *)n->name, p->what);
		return -1;
	}
	return 0;
}

/* The first IPv4 <ip>: address, prefix (or netmask, or classful) and DHCP range. */
static int read_network_ip(struct parser *p, struct vf_network_spec *net, char **error)
{
	xmlNodePtr ip, range;
	const char *family, *addr, *mask;
	uint32_t a, m;
	int prefix, rc;

	for (ip = next_element(p->root->children, "ip"); ip; ip = next_element(ip->next, "ip")) {
		family = prop_of(p, ip, "family");
		addr = prop_of(p, ip, "address");
		if (family ? !strcmp(family, "ipv4") : addr && vf_ipv4_parse(addr, &a, NULL, false))
			break;
	}
	if (!ip)
		return 0;
	if (read_ipv4_address(p, ip, "address", &net->ipv4_address, error) < 0)
		return -1;
	rc = read_uint_prop(p, ip, "prefix", 32, &net->ipv4_prefix, error);
	if (rc < 0)
		return -1;
	if (rc == 0 && (mask = prop_of(p, ip, "netmask"))) {
		if (!vf_ipv4_parse(mask, &m, NULL, false) || (prefix = netmask_prefix(m)) < 0) {
			*error = xasprintf("invalid netmask '%s' in %s", mask, p->what);
			return -1;
		}
		net->ipv4_prefix = (unsigned)prefix;
	} else if (rc == 0) {
		/* neither: libvirt takes the address's class */
		a = net->ipv4_address >> 24;
		net->ipv4_prefix = a < 128 ? 8 : a < 192 ? 16 : 24;
	}
	net->has_ipv4 = true;
	range = find(ip, "dhcp/range");
	if (range) {
		if (read_ipv4_address(p, range, "start", &net->dhcp_start, error) < 0 ||
		    read_ipv4_address(p, range, "end", &net->dhcp_end, error) < 0)
			return -1;
		net->has_dhcp = true;
	}
	return 0;
}

static int read_network(struct parser *p, struct vf_resource *r, char **error)
{
	struct vf_network_spec *net = &r->u.net;
	xmlNodePtr forward;
	const char *mode;
	unsigned mtu = 0;

	if (read_identity(p, r, error) < 0)
		return -1;
	forward = find(p->root, "forward");
	mode = prop_of(p, forward, "mode");
	if (!forward)
		net->mode = VF_NET_MODE_ISOLATED;
	else if (!mode || !strcmp(mode, "nat"))   /* <forward/> is nat */
		net->mode = VF_NET_MODE_NAT;
	else if (!strcmp(mode, "bridge"))
		net->mode = VF_NET_MODE_BRIDGE;
	else {
		*error = xasprintf("unsupported forward mode '%s' in %s", mode, p->what);
		return -1;
	}
	net->bridge = or_empty(prop_of(p, find(p->root, "bridge"), "name"));
	if (read_uint_prop(p, find(p->root, "mtu"), "size", UINT_MAX, &mtu, error) < 0)
		return -1;
	net->mtu = mtu;
	net->has_ipv4 = net->has_dhcp = false;
	net->ipv4_address = net->dhcp_start = net->dhcp_end = 0;
	net->ipv4_prefix = 0;
	return read_network_ip(p, net, error);
}

int vf_xml_network_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
			 char **error)
{
	struct parser p;
	int rc = -1;

	if (parser_open(&p, xml, "network", r->name, arena, error) < 0)
		goto out;
	rc = read_network(&p, r, error);
out:
	parser_close(&p);
	return rc;
}

/* ---- pool ------------------------------------------------------------ */

/* "host" or "host:port" ("[v6]:port") from <source><host>. */
static const char *read_portal(struct parser *p, xmlNodePtr host)
{
	const char *name = or_empty(prop_of(p, host, "name")), *port = prop_of(p, host, "port");
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
	const char *type = or_empty(prop_of(p, p->root, "type"));
	xmlNodePtr source, auth;

	if (read_identity(p, r, error) < 0)
		return -1;
	source = find(p->root, "source");
	pool->path = text_of(p, find(p->root, "target/path"));
	pool->server = pool->export_path = pool->vg = pool->portal = pool->target = NULL;
	pool->initiator = NULL;
	pool->chap_username = pool->chap_usage = pool->chap_secret = NULL;
	if (!strcmp(type, "dir")) {
		pool->type = VF_STORAGE_DIR;
	} else if (!strcmp(type, "netfs")) {
		pool->type = VF_STORAGE_NFS;
		pool->server = or_empty(prop_of(p, find(source, "host"), "name"));
		pool->export_path = or_empty(prop_of(p, find(source, "dir"), "path"));
	} else if (!strcmp(type, "logical")) {
		pool->type = VF_STORAGE_LOGICAL;
		/* libvirt's default VG is the pool's name */
		pool->vg = text_of(p, find(source, "name"));
		if (!pool->vg || !*pool->vg)
			pool->vg = r->name;
	} else if (!strcmp(type, "iscsi") || !strcmp(type, "iscsi-direct")) {
		pool->type = !strcmp(type, "iscsi") ? VF_STORAGE_ISCSI : VF_STORAGE_ISCSI_DIRECT;
		pool->portal = read_portal(p, find(source, "host"));
		pool->target = or_empty(prop_of(p, find(source, "device"), "path"));
		/* NULL when absent: an iscsi pool may leave it to the host's
		 * /etc/iscsi/initiatorname.iscsi */
		pool->initiator = prop_of(p, find(source, "initiator/iqn"), "name");
		auth = find(source, "auth");
		if (auth && prop_is(auth, "type", "chap")) {
			pool->chap_username = or_empty(prop_of(p, auth, "username"));
			/* a secret named by uuid is not one virtform made: "" */
			pool->chap_usage = or_empty(prop_of(p, find(auth, "secret"), "usage"));
		}
	} else {
		*error = xasprintf("unsupported pool type '%s' in %s", type, p->what);
		return -1;
	}
	/* iscsi-direct: no <target>, no path (NULL, as desired has it) */
	pool->path = pool->type == VF_STORAGE_ISCSI_DIRECT ? NULL : or_empty(pool->path);
	return 0;
}

int vf_xml_pool_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
		      char **error)
{
	struct parser p;
	int rc = -1;

	if (parser_open(&p, xml, "pool", r->name, arena, error) < 0)
		goto out;
	rc = read_pool(&p, r, error);
out:
	parser_close(&p);
	return rc;
}

/* ---- secret ---------------------------------------------------------- */

int vf_xml_secret_parse(const char *xml, struct vf_arena *arena, const char **uuid,
			const char **usage, const char **description, char **error)
{
	struct parser p;
	int rc = -1;

	if (parser_open(&p, xml, "secret", NULL, arena, error) < 0)
		goto out;
	*uuid = text_of(&p, find(p.root, "uuid"));
	*usage = prop_is(find(p.root, "usage"), "type", "iscsi")
		 ? text_of(&p, find(p.root, "usage/target")) : NULL;
	*description = text_of(&p, find(p.root, "description"));
	rc = 0;
out:
	parser_close(&p);
	return rc;
}

/* ---- volume ---------------------------------------------------------- */

static int read_volume(struct parser *p, struct vf_resource *r, char **error)
{
	struct vf_volume_spec *vol = &r->u.vol;
	xmlNodePtr capacity;
	const char *format;

	if (read_identity(p, r, error) < 0)
		return -1;
	r->uuid = NULL;     /* volumes have none; <uuid> is not theirs */
	capacity = find(p->root, "capacity");
	if (!capacity) {
		*error = xasprintf("cannot parse the XML of %s: it has no <capacity>", p->what);
		return -1;
	}
	if (read_size(p, capacity, 1, &vol->capacity, error) < 0)
		return -1;
	/* a block device (LVM, iSCSI) has no format element: raw */
	format = prop_of(p, find(p->root, "target/format"), "type");
	/* "iso": libvirt's probe of a raw ISO 9660 image (the cloud-init seed) */
	if (!format || !strcmp(format, "raw") || !strcmp(format, "iso")) {
		vol->format = VF_FORMAT_RAW;
	} else if (!strcmp(format, "qcow2")) {
		vol->format = VF_FORMAT_QCOW2;
	} else {
		*error = xasprintf("unsupported format '%s' of %s (virtform manages qcow2 and raw)",
				   format, p->what);
		return -1;
	}
	vol->path = or_empty(text_of(p, find(p->root, "target/path")));
	vol->backing = text_of(p, find(p->root, "backingStore/path"));
	if (vol->backing && !*vol->backing)
		vol->backing = NULL;
	return 0;
}

int vf_xml_volume_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
			char **error)
{
	struct parser p;
	int rc = -1;

	if (parser_open(&p, xml, "volume", r->name, arena, error) < 0)
		goto out;
	rc = read_volume(&p, r, error);
out:
	parser_close(&p);
	return rc;
}
