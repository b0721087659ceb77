/*
 * xml-volume.c — a storage volume's libvirt XML both ways (xml.h).
 */
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/xml-internal.h"

char *vf_xml_volume_format(const struct vf_resource *r, uint64_t capacity,
			   const char *backing_path, enum vf_image_format backing_format,
			   char **error)
{
	xmlNodePtr root, n, target, backing;
	struct builder b;
	char *what, *xml = NULL;

	what = vf_xml_object_label("volume", r->name);
	if (!r->name) {
		*error = xasprintf("cannot write the XML of %s: it has no name", what);
		goto out;
	}
	root = vf_xml_start(&b, "volume");
	vf_xml_add(&b, root, "name", r->name);
	vf_xml_set(&b, vf_xml_add_u64(&b, root, "capacity", capacity), "unit", "bytes");
	target = vf_xml_add(&b, root, "target", NULL);
	vf_xml_set(&b, vf_xml_add(&b, target, "format", NULL), "type",
		   vf_xml_format_name(r->u.vol.format));
	vf_xml_add(&b, vf_xml_add(&b, target, "permissions", NULL), "mode", "0600");
	if (backing_path) {
		backing = vf_xml_add(&b, root, "backingStore", NULL);
		vf_xml_add(&b, backing, "path", backing_path);
		n = vf_xml_add(&b, backing, "format", NULL);
		vf_xml_set(&b, n, "type", vf_xml_format_name(backing_format));
	}
	xml = vf_xml_finish(&b, what, error);
out:
	free(what);
	return xml;
}

static int read_volume(struct parser *p, struct vf_resource *r, char **error)
{
	struct vf_volume_spec *vol = &r->u.vol;
	xmlNodePtr capacity;
	const char *format;

	if (vf_xml_read_identity(p, r, error) < 0)
		return -1;
	r->uuid = NULL;     /* volumes have none; <uuid> is not theirs */
	capacity = vf_xml_find(p->root, "capacity");
	if (!capacity) {
		*error = xasprintf("cannot parse the XML of %s: it has no <capacity>", p->what);
		return -1;
	}
	if (vf_xml_read_size(p, capacity, 1, &vol->capacity, error) < 0)
		return -1;
	/* a block device (LVM, iSCSI) has no format element: raw */
	format = vf_xml_prop_of(p, vf_xml_find(p->root, "target/format"), "type");
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
	vol->path = vf_xml_or_empty(vf_xml_text_of(p, vf_xml_find(p->root, "target/path")));
	vol->backing = vf_xml_text_of(p, vf_xml_find(p->root, "backingStore/path"));
	if (vol->backing && !*vol->backing)
		vol->backing = NULL;
	return 0;
}

int vf_xml_volume_parse(const char *xml, struct vf_arena *arena, struct vf_resource *r,
			char **error)
{
	return vf_xml_parse_resource(xml, "volume", arena, r, error, read_volume);
}
