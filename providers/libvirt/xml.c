/*
 * xml.c — libvirt XML for virtform's resources, both ways (see xml.h):
 * the document builder and the parser every kind's file uses
 * (xml-internal.h); each kind's format and parse are beside it in
 * xml-domain.c, xml-network.c, xml-pool.c and xml-volume.c.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "providers/libvirt/xml-internal.h"

const char *vf_xml_format_name(enum vf_image_format f)
{
	return f == VF_FORMAT_QCOW2 ? "qcow2" : "raw";
}

/* "domain 'web1'", or "a domain" when the name is not known (yet). */
char *vf_xml_object_label(const char *kind, const char *name)
{
	return name ? xasprintf("%s '%s'", kind, name) : xasprintf("a %s", kind);
}

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
xmlNodePtr vf_xml_add(struct builder *b, xmlNodePtr parent, const char *name, const char *text)
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

void vf_xml_set(struct builder *b, xmlNodePtr n, const char *name, const char *value)
{
	if (!n || !value)
		return;
	if (!check_value(b, name, value))
		return;
	if (!xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value))
		b->failed = true;
}

/* vf_xml_set() for a clear text: remembered so vf_xml_finish() wipes it. */
void vf_xml_set_secret(struct builder *b, xmlNodePtr n, const char *name, const char *value)
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
xmlNodePtr vf_xml_add_u64(struct builder *b, xmlNodePtr parent, const char *name, uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	return vf_xml_add(b, parent, name, buf);
}

void vf_xml_set_u64(struct builder *b, xmlNodePtr n, const char *name, uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	vf_xml_set(b, n, name, buf);
}

void vf_xml_set_ipv4(struct builder *b, xmlNodePtr n, const char *name, uint32_t a)
{
	char buf[16];

	vf_xml_set(b, n, name, vf_ipv4_format(a, buf));
}

/* Start a document whose root is <root>; returns the root (NULL: failed). */
xmlNodePtr vf_xml_start(struct builder *b, const char *root)
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
char *vf_xml_finish(struct builder *b, const char *what, char **error)
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

static void parser_name(struct parser *p, const char *name)
{
	free(p->what);
	p->what = vf_xml_object_label(p->kind, name);
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
int vf_xml_parser_open(struct parser *p, const char *xml, const char *kind, const char *name,
		       struct vf_arena *arena, char **error)
{
	xmlParserCtxtPtr ctxt = NULL;
	char *msg = NULL;
	const char *why = NULL;         /* set: the XML cannot be parsed, for this reason */
	size_t len;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->arena = arena;
	parser_name(p, name);
	len = xml ? strlen(xml) : 0;
	if (!xml || len > INT_MAX)
		why = xml ? "too large" : "no XML";
	else if (!(ctxt = xmlNewParserCtxt()))
		why = "out of memory";
	else if (!(p->doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL, PARSE_FLAGS)))
		why = msg = xml_message(&ctxt->lastError);
	else if (!(p->root = xmlDocGetRootElement(p->doc)) || p->root->ns ||
		 strcmp((const char *)p->root->name, kind))
		why = msg = xasprintf("the root element is <%s>, not <%s>",
				      p->root ? (const char *)p->root->name : "", kind);
	if (why)
		*error = xasprintf("cannot parse the XML of %s: %s", p->what, why);
	free(msg);
	if (ctxt)
		xmlFreeParserCtxt(ctxt);
	return why ? -1 : 0;
}

void vf_xml_parser_close(struct parser *p)
{
	xmlFreeDoc(p->doc);
	free(p->what);
	memset(p, 0, sizeof(*p));
}

int vf_xml_parse_resource(const char *xml, const char *kind, struct vf_arena *arena,
			  struct vf_resource *r, char **error,
			  int (*read)(struct parser *p, struct vf_resource *r, char **error))
{
	struct parser p;
	int rc = -1;

	if (vf_xml_parser_open(&p, xml, kind, r->name, arena, error) == 0)
		rc = read(&p, r, error);
	vf_xml_parser_close(&p);
	return rc;
}

/* Is n an element <name> of no namespace (as all of libvirt's are)? */
static bool is_element(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

/* The next element <name> from n on (n included); NULL when none. */
xmlNodePtr vf_xml_next_element(xmlNodePtr n, const char *name)
{
	for (; n; n = n->next)
		if (is_element(n, name))
			break;
	return n;
}

/* The first element at path ("devices/graphics") below n; NULL when absent. */
xmlNodePtr vf_xml_find(xmlNodePtr n, const char *path)
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
const char *vf_xml_text_of(struct parser *p, xmlNodePtr n)
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
const char *vf_xml_prop_of(struct parser *p, xmlNodePtr n, const char *name)
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
bool vf_xml_prop_is(xmlNodePtr n, const char *name, const char *value)
{
	xmlChar *v;
	bool eq;

	if (!n || !(v = xmlGetProp(n, (const xmlChar *)name)))
		return false;
	eq = !strcmp((const char *)v, value);
	xmlFree(v);
	return eq;
}

const char *vf_xml_or_empty(const char *s)
{
	return s ? s : "";
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A decimal number, blanks around allowed; false on anything else or overflow. */
bool vf_xml_parse_u64(const char *s, uint64_t *out)
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
int vf_xml_read_size(struct parser *p, xmlNodePtr n, uint64_t default_scale, uint64_t *bytes,
		     char **error)
{
	const char *text = vf_xml_text_of(p, n), *unit = vf_xml_prop_of(p, n, "unit");
	uint64_t v, scale = default_scale;

	if (!vf_xml_parse_u64(text, &v) || (unit && !unit_scale(unit, &scale)) ||
	    (v && scale > UINT64_MAX / v)) {
		*error = xasprintf("invalid <%s> in %s: '%s%s%s'", (const char *)n->name, p->what,
				   text, unit ? " " : "", unit ? unit : "");
		return -1;
	}
	*bytes = v * scale;
	return 0;
}

/* An unsigned attribute: 1 read, 0 absent, -1 invalid (*error set). */
int vf_xml_read_uint_prop(struct parser *p, xmlNodePtr n, const char *name, unsigned max,
			  unsigned *out, char **error)
{
	const char *v = vf_xml_prop_of(p, n, name);
	uint64_t x;

	if (!v)
		return 0;
	if (!vf_xml_parse_u64(v, &x) || x > max) {
		*error = xasprintf("invalid %s '%s' on <%s> in %s", name, v,
				   (const char *)n->name, p->what);
		return -1;
	}
	*out = (unsigned)x;
	return 1;
}

/* Read <name> (required) and <uuid> into r; renames the parser. */
int vf_xml_read_identity(struct parser *p, struct vf_resource *r, char **error)
{
	const char *name = vf_xml_text_of(p, vf_xml_find(p->root, "name"));

	if (!name || !*name) {
		*error = xasprintf("cannot parse the XML of %s: it has no <name>", p->what);
		return -1;
	}
	r->name = name;
	parser_name(p, name);
	r->uuid = vf_xml_text_of(p, vf_xml_find(p->root, "uuid"));
	if (r->uuid && !*r->uuid)
		r->uuid = NULL;
	return 0;
}
