/*
 * xml-internal.h — what the libvirt XML files share, private to
 * providers/libvirt/xml*.c: the document builder (format) and the parser
 * (parse), both in xml.c.
 *
 * Builder: a failure deep down (a refused value, libxml2 out of memory)
 * stops further additions below it and is reported once, by
 * vf_xml_finish().  Parser: strings it returns live in the parser's arena.
 */
#ifndef VF_PROVIDER_LIBVIRT_XML_INTERNAL_H
#define VF_PROVIDER_LIBVIRT_XML_INTERNAL_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>

#include "providers/libvirt/xml.h"
#include "reconcile/util.h"

/* NOBLANKS and COMPACT: a third less parsing work on every domain (a
 * text of blanks only, like a description of spaces, is kept) */
#define PARSE_FLAGS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
		     XML_PARSE_NOBLANKS | XML_PARSE_COMPACT)

/*
 * A document under construction.  Helpers stop adding below a NULL parent,
 * so a failure deep down is reported once, at the end, by vf_xml_finish().
 */
struct builder {
	xmlDocPtr doc;
	const char *bad;        /* element or attribute whose value was refused */
	bool failed;            /* libxml2 ran out of memory */
	xmlAttrPtr secret;      /* an attribute holding a clear text (a graphics
				 * passwd): wiped, and the serialized text
				 * too, before they are freed */
};

/* One document being read; what names the object in errors. */
struct parser {
	xmlDocPtr doc;
	xmlNodePtr root;
	struct vf_arena *arena;
	const char *kind;
	char *what;
};

const char *vf_xml_format_name(enum vf_image_format f);

/* "domain 'web1'", or "a domain" when the name is not known (yet). */
char *vf_xml_object_label(const char *kind, const char *name);

/* Add <name>text</name> (text NULL: empty) under parent; text is escaped. */
xmlNodePtr vf_xml_add(struct builder *b, xmlNodePtr parent, const char *name, const char *text);

void vf_xml_set(struct builder *b, xmlNodePtr n, const char *name, const char *value);

/*
 * Serialize b's document (two-space indentation, without the XML
 * declaration) into a malloc'd string, and free the document.  what names
 * the object in an error.
 */
char *vf_xml_finish(struct builder *b, const char *what, char **error);

/* vf_xml_set() for a clear text: remembered so vf_xml_finish() wipes it. */
void vf_xml_set_secret(struct builder *b, xmlNodePtr n, const char *name, const char *value);

/* Add <name>value</name> under parent. */
xmlNodePtr vf_xml_add_u64(struct builder *b, xmlNodePtr parent, const char *name, uint64_t value);

void vf_xml_set_u64(struct builder *b, xmlNodePtr n, const char *name, uint64_t value);

void vf_xml_set_ipv4(struct builder *b, xmlNodePtr n, const char *name, uint32_t a);

/* Start a document whose root is <root>; returns the root (NULL: failed). */
xmlNodePtr vf_xml_start(struct builder *b, const char *root);

/*
 * Parse xml, whose root must be <kind>; name (may be NULL) names the
 * object until its XML says otherwise.  0, or -1 with *error set.
 */
int vf_xml_parser_open(struct parser *p, const char *xml, const char *kind, const char *name,
		       struct vf_arena *arena, char **error);

void vf_xml_parser_close(struct parser *p);

/*
 * A resource's XML (root <kind>) read into r with read: the parser
 * opened, read called, the parser closed.  What every kind's
 * vf_xml_KIND_parse does.  0, or -1 with *error set.
 */
int vf_xml_parse_resource(const char *xml, const char *kind, struct vf_arena *arena,
			  struct vf_resource *r, char **error,
			  int (*read)(struct parser *p, struct vf_resource *r, char **error));

/* The next element <name> from n on (n included); NULL when none. */
xmlNodePtr vf_xml_next_element(xmlNodePtr n, const char *name);

/* The first element at path ("devices/graphics") below n; NULL when absent. */
xmlNodePtr vf_xml_find(xmlNodePtr n, const char *path);

/* The text of n in the arena; NULL when n is NULL. */
const char *vf_xml_text_of(struct parser *p, xmlNodePtr n);

/* Attribute name of n in the arena; NULL when n or the attribute is absent. */
const char *vf_xml_prop_of(struct parser *p, xmlNodePtr n, const char *name);

/* Does n have attribute name equal to value? */
bool vf_xml_prop_is(xmlNodePtr n, const char *name, const char *value);

const char *vf_xml_or_empty(const char *s);

/* A decimal number, blanks around allowed; false on anything else or overflow. */
bool vf_xml_parse_u64(const char *s, uint64_t *out);

/*
 * The size in element n (its unit attribute, else default_scale) in
 * bytes.  -1 with *error set when it is not a valid size.
 */
int vf_xml_read_size(struct parser *p, xmlNodePtr n, uint64_t default_scale, uint64_t *bytes,
		     char **error);

/* An unsigned attribute: 1 read, 0 absent, -1 invalid (*error set). */
int vf_xml_read_uint_prop(struct parser *p, xmlNodePtr n, const char *name, unsigned max,
			  unsigned *out, char **error);

/* Read <name> (required) and <uuid> into r; renames the parser. */
int vf_xml_read_identity(struct parser *p, struct vf_resource *r, char **error);

#endif
