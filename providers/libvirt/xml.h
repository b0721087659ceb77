/*
 * xml.h — libvirt XML for virtform's resources, both ways, with libxml2
 * only (never string-built: names and descriptions reach XML escaped by
 * construction).
 *
 *   format: a desired resource (reconcile/spec.h) -> the XML libvirt's
 *           define/create calls take;
 *   parse:  the XML libvirt hands back (GetXMLDesc) -> an observed
 *           resource's spec, so the engine can diff it field by field.
 *
 * parse(format(r)) gives back r's diffed fields, and so does parsing what
 * libvirt returns after defining format(r) (libvirt adds defaults: uuid,
 * emulator, addresses, ...; parse ignores what virtform does not manage).
 * Golden files under tests/golden/libvirt/ pin both directions.
 *
 * Implemented beside each kind: xml-domain.c, xml-network.c, xml-pool.c
 * (pools and their CHAP secrets), xml-volume.c, on the builder and
 * parser of xml.c (xml-internal.h).
 *
 * Private to providers/libvirt/.  Thread-safe (no global state beyond
 * libxml2's, which vf_libvirt_init() sets up).
 *
 * Every function returns 0 / a malloc'd string, or -1 / NULL with *error
 * set to a malloc'd one-line message (caller frees).
 */
#ifndef VF_PROVIDER_LIBVIRT_XML_H
#define VF_PROVIDER_LIBVIRT_XML_H

#include "reconcile/spec.h"

/* The XML namespace of virtform's domain metadata (the ownership marker). */
#define VF_XML_NS "https://virtform.dev/xmlns/virtform/1"
#define VF_XML_NS_PREFIX "virtform"

/*
 * <domain type='kvm'>: name, uuid (when r->uuid is set: a redefine must
 * keep the domain's identity), description, memory/currentMemory (max_memory
 * / memory), vcpu (max_cpus, current cpus), os (hvm, machine q35;
 * firmware='efi' for EFI), features acpi+apic, virtio disks of type
 * 'volume' (pool + volume, cache none) on their target devices, virtio
 * NICs of type 'network' with their MAC, serial + console pty, the
 * qemu-guest-agent channel, graphics (vnc/spice listening on
 * graphics_listen, autoport unless a port is given; passwd=graphics_passwd
 * unless NULL: the opened sealed password, wiped from libxml2's copies
 * before they are freed — the caller wipes the returned text), and the
 * marker in <metadata> (namespace VF_XML_NS) with project, address, spec
 * hash, the keyed hash of the graphics password and owned volumes.
 */
char *vf_xml_domain_format(const struct vf_resource *vm, const char *graphics_passwd,
			   char **error);

/* <network>: nat (forward nat), isolated (no forward), bridge (forward
 * bridge + the host bridge); bridge name, mtu, ipv4 address/prefix and
 * DHCP range. */
char *vf_xml_network_format(const struct vf_resource *net, char **error);

/* <pool>: dir, netfs (nfs: source host + dir, format nfs), logical
 * (source name = VG), iscsi and iscsi-direct (source host + device =
 * target, <initiator><iqn name='...'/></initiator> when there is one —
 * always for iscsi-direct; with CHAP,
 * <auth type='chap' username='...'><secret usage='chap_usage'/></auth>).
 * iscsi-direct has no <target>: its LUNs are not host devices. */
char *vf_xml_pool_format(const struct vf_resource *pool, char **error);

/*
 * <secret ephemeral='no' private='yes'> of usage type iscsi with target
 * usage (an iSCSI pool's CHAP secret), uuid when given (a redefine must
 * keep it), and description — never a value: libvirt takes that apart
 * (virSecretSetValue).  Parse: the secret's uuid, its iscsi usage target
 * (NULL for another usage type) and its description (NULL when absent).
 */
char *vf_xml_secret_format(const char *usage, const char *uuid, const char *description,
			   char **error);
int vf_xml_secret_parse(const char *xml, struct vf_arena *arena, const char **uuid,
			const char **usage, const char **description, char **error);

/*
 * <volume>: name, capacity in bytes, target format, mode 0600.  When
 * backing_path is not NULL the volume is a copy-on-write clone of it:
 * <backingStore> with backing_path and backing_format.  capacity is the
 * caller's (a clone's desired 0 is replaced by the backing volume's size
 * before this is called).
 */
char *vf_xml_volume_format(const struct vf_resource *vol, uint64_t capacity,
			   const char *backing_path, enum vf_image_format backing_format,
			   char **error);

/*
 * Fragments for live changes: one <interface> device (for attach, detach
 * and update), one DHCP <range> (virNetworkUpdate), and the marker's
 * <resource> element alone (virDomainSetMetadata, for import).
 */
char *vf_xml_interface_format(const struct vf_nic_spec *nic, char **error);
char *vf_xml_dhcp_range_format(uint32_t first, uint32_t last, char **error);
char *vf_xml_marker_format(const struct vf_resource *vm, char **error);

/*
 * Parse libvirt's XML into r: r->name, r->uuid and r->u (the kind's spec);
 * strings go to arena.  r->kind and r->host are the caller's.
 *
 * Domains: disks are matched by target; a disk that is not a pool volume
 * (type='file' after a virsh edit) gets pool NULL and volume = its source
 * path; a CD-ROM or a disk without a source is skipped.  NICs in document
 * order; one that is not type='network' gets network = "TYPE:SOURCE".
 * graphics: the first <graphics>; listen from its <listen> child or
 * attribute.  The marker is read from <metadata> in VF_XML_NS; no marker:
 * marker.project NULL.  running is not in the XML: the caller sets it.
 *
 * Volumes: capacity, format (qcow2/raw; anything else is an error naming
 * the volume), path; backing = the backing store's path.
 */
int vf_xml_domain_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
			char **error);
int vf_xml_network_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
			 char **error);
int vf_xml_pool_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
		      char **error);
int vf_xml_volume_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
			char **error);

#endif
