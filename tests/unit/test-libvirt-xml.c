/*
 * The libvirt provider's XML (providers/libvirt/xml.c), without a
 * hypervisor:
 *
 *   - format output of fixed specs, byte for byte against the golden files
 *     in tests/golden/libvirt/ (one per file name below);
 *   - round trips: parse(format(spec)) gives the spec's fields back, for
 *     every kind;
 *   - parsing what libvirt returns (domain-from-libvirt.xml, written after
 *     libvirt 9.0's GetXMLDesc(VIR_DOMAIN_XML_INACTIVE) output, and inline
 *     network/pool/volume XML): defaults are ignored, the marker is found
 *     under another prefix;
 *   - escaping of names and descriptions, refused values, malformed XML
 *     and wrong roots as errors (every prefix of a real document, too:
 *     nothing crashes).
 *
 * Golden files are regenerated only on purpose: after a deliberate change
 * of the format, run from the repository root
 *
 *     VF_REGEN_GOLDEN=1 build/tests/test-libvirt-xml
 *
 * and review `git diff tests/golden/libvirt` before committing.  The
 * golden directory is found from this file's path (__FILE__), relative to
 * the current directory when the build gave a relative one (make runs the
 * compiler from the repository root, and prove runs tests there).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/xml.h"
#include "reconcile/util.h"
#include "tests/tap.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct vf_arena arena = VF_ARENA_INIT;
static bool regen;

/* ---- files ----------------------------------------------------------- */

/* tests/golden/libvirt/NAME.xml, from this file's tests/unit/ path. */
static char *golden_path(const char *name)
{
	const char *file = __FILE__, *unit = strstr(file, "unit/test-libvirt-xml.c");

	if (!unit)
		return xasprintf("tests/golden/libvirt/%s.xml", name);
	return xasprintf("%.*sgolden/libvirt/%s.xml", (int)(unit - file), file, name);
}

static char *read_whole(const char *path)
{
	char *buf = NULL;
	size_t len = 0, alloc = 0, n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	do {
		VF_GROW(buf, len + 4096, alloc);
		n = fread(buf + len, 1, alloc - len - 1, f);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static bool write_whole(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	bool ok_ = f && fputs(text, f) >= 0;

	if (f && fclose(f) != 0)
		ok_ = false;
	return ok_;
}

/* Print the first line where got and want differ, as TAP diagnostics. */
static void diff_hint(const char *got, const char *want)
{
	const char *g = got, *w = want;
	int line = 1;

	while (*g && *g == *w) {
		if (*g == '\n')
			line++;
		g++;
		w++;
	}
	while (g > got && g[-1] != '\n') {     /* back to the line's start */
		g--;
		w--;
	}
	printf("#   first difference at line %d\n", line);
	printf("#   got:  %.*s\n", (int)strcspn(g, "\n"), g);
	printf("#   want: %.*s\n", (int)strcspn(w, "\n"), w);
	printf("#   intended? regenerate with VF_REGEN_GOLDEN=1 and review the diff\n");
}

/* Compare xml with golden file name (or write it when regenerating). */
static void check_golden(const char *name, const char *xml)
{
	char *path = golden_path(name), *want = NULL;

	if (!xml) {
		ok(0, "golden %s: format failed", name);
		goto out;
	}
	if (regen) {
		ok(write_whole(path, xml), "golden %s: wrote %s", name, path);
		goto out;
	}
	want = read_whole(path);
	if (!want) {
		ok(0, "golden %s: cannot read %s: %s", name, path, strerror(errno));
		goto out;
	}
	if (!ok(!strcmp(xml, want), "golden %s", name))
		diff_hint(xml, want);
out:
	free(want);
	free(path);
}

/* ---- field comparison -------------------------------------------------- */

/* Collects the fields that differ, reported with one test. */
struct cmp {
	char text[4096];
	size_t len;
	int bad;
};

__attribute__((format(printf, 2, 3)))
static void cmp_fail(struct cmp *c, const char *fmt, ...)
{
	va_list ap;

	c->bad++;
	if (c->len >= sizeof(c->text))
		return;
	va_start(ap, fmt);
	c->len += (size_t)vsnprintf(c->text + c->len, sizeof(c->text) - c->len, fmt, ap);
	va_end(ap);
}

static void cmp_str(struct cmp *c, const char *field, const char *got, const char *want)
{
	if (got && want ? !strcmp(got, want) : got == want)
		return;
	cmp_fail(c, "#   %s: got '%s', want '%s'\n", field, got ? got : "(null)",
		 want ? want : "(null)");
}

static void cmp_num(struct cmp *c, const char *field, unsigned long long got,
		    unsigned long long want)
{
	if (got != want)
		cmp_fail(c, "#   %s: got %llu, want %llu\n", field, got, want);
}

static void cmp_done(struct cmp *c, const char *name)
{
	if (!ok(c->bad == 0, "%s", name))
		fputs(c->text, stdout);
}

static void cmp_vm(struct cmp *c, const struct vf_resource *got, const struct vf_resource *want)
{
	const struct vf_vm_spec *g = &got->u.vm, *w = &want->u.vm;
	char field[64];
	size_t i;

	cmp_str(c, "name", got->name, want->name);
	cmp_str(c, "uuid", got->uuid, want->uuid);
	cmp_num(c, "cpus", g->cpus, w->cpus);
	cmp_num(c, "max_cpus", g->max_cpus, w->max_cpus ? w->max_cpus : w->cpus);
	cmp_num(c, "memory", g->memory, w->memory);
	cmp_num(c, "max_memory", g->max_memory, w->max_memory ? w->max_memory : w->memory);
	cmp_num(c, "firmware", g->firmware, w->firmware);
	cmp_num(c, "graphics", g->graphics, w->graphics);
	cmp_str(c, "graphics_listen", g->graphics_listen, w->graphics_listen);
	cmp_num(c, "graphics_port", (unsigned long long)g->graphics_port,
		(unsigned long long)w->graphics_port);
	cmp_str(c, "description", g->description, w->description);
	cmp_num(c, "n_disks", g->n_disks, w->n_disks);
	for (i = 0; i < g->n_disks && i < w->n_disks; i++) {
		snprintf(field, sizeof(field), "disk[%zu].name", i);
		cmp_str(c, field, g->disks[i].name, w->disks[i].name);
		snprintf(field, sizeof(field), "disk[%zu].target", i);
		cmp_str(c, field, g->disks[i].target, w->disks[i].target);
		snprintf(field, sizeof(field), "disk[%zu].pool", i);
		cmp_str(c, field, g->disks[i].pool, w->disks[i].pool);
		snprintf(field, sizeof(field), "disk[%zu].volume", i);
		cmp_str(c, field, g->disks[i].volume, w->disks[i].volume);
		snprintf(field, sizeof(field), "disk[%zu].format", i);
		cmp_num(c, field, g->disks[i].format, w->disks[i].format);
	}
	cmp_num(c, "n_nics", g->n_nics, w->n_nics);
	for (i = 0; i < g->n_nics && i < w->n_nics; i++) {
		char gm[18], wm[18];
		snprintf(field, sizeof(field), "nic[%zu].network", i);
		cmp_str(c, field, g->nics[i].network, w->nics[i].network);
		snprintf(field, sizeof(field), "nic[%zu].mac", i);
		vf_mac_format(g->nics[i].mac, gm);
		vf_mac_format(w->nics[i].mac, wm);
		cmp_str(c, field, gm, wm);
		snprintf(field, sizeof(field), "nic[%zu].model", i);
		cmp_str(c, field, g->nics[i].model, w->nics[i].model);
	}
	cmp_str(c, "marker.project", g->marker.project, w->marker.project);
	cmp_str(c, "marker.spec_hash", g->marker.spec_hash, w->marker.spec_hash);
	cmp_num(c, "marker.n_volumes", g->marker.n_volumes, w->marker.n_volumes);
	for (i = 0; i < g->marker.n_volumes && i < w->marker.n_volumes; i++) {
		snprintf(field, sizeof(field), "marker.volume[%zu].pool", i);
		cmp_str(c, field, g->marker.volumes[i].pool, w->marker.volumes[i].pool);
		snprintf(field, sizeof(field), "marker.volume[%zu].name", i);
		cmp_str(c, field, g->marker.volumes[i].name, w->marker.volumes[i].name);
		snprintf(field, sizeof(field), "marker.volume[%zu].keep", i);
		cmp_num(c, field, g->marker.volumes[i].keep, w->marker.volumes[i].keep);
	}
}

static void cmp_net(struct cmp *c, const struct vf_resource *got, const struct vf_resource *want)
{
	const struct vf_network_spec *g = &got->u.net, *w = &want->u.net;

	cmp_str(c, "name", got->name, want->name);
	cmp_str(c, "uuid", got->uuid, want->uuid);
	cmp_num(c, "mode", g->mode, w->mode);
	cmp_str(c, "bridge", g->bridge, w->bridge);
	cmp_num(c, "mtu", g->mtu, w->mtu);
	cmp_num(c, "has_ipv4", g->has_ipv4, w->has_ipv4);
	cmp_num(c, "ipv4_address", g->ipv4_address, w->ipv4_address);
	cmp_num(c, "ipv4_prefix", g->ipv4_prefix, w->ipv4_prefix);
	cmp_num(c, "has_dhcp", g->has_dhcp, w->has_dhcp);
	cmp_num(c, "dhcp_start", g->dhcp_start, w->dhcp_start);
	cmp_num(c, "dhcp_end", g->dhcp_end, w->dhcp_end);
	cmp_num(c, "active", g->active, w->active);
	cmp_num(c, "autostart", g->autostart, w->autostart);
}

static void cmp_pool(struct cmp *c, const struct vf_resource *got, const struct vf_resource *want)
{
	const struct vf_pool_spec *g = &got->u.pool, *w = &want->u.pool;

	cmp_str(c, "name", got->name, want->name);
	cmp_str(c, "uuid", got->uuid, want->uuid);
	cmp_num(c, "type", g->type, w->type);
	cmp_str(c, "path", g->path, w->path);
	cmp_str(c, "server", g->server, w->server);
	cmp_str(c, "export_path", g->export_path, w->export_path);
	cmp_str(c, "vg", g->vg, w->vg);
	cmp_str(c, "portal", g->portal, w->portal);
	cmp_str(c, "target", g->target, w->target);
	cmp_str(c, "initiator", g->initiator, w->initiator);
	cmp_str(c, "chap_username", g->chap_username, w->chap_username);
	cmp_str(c, "chap_usage", g->chap_usage, w->chap_usage);
}

static void cmp_vol(struct cmp *c, const struct vf_resource *got, const struct vf_resource *want)
{
	const struct vf_volume_spec *g = &got->u.vol, *w = &want->u.vol;

	cmp_str(c, "name", got->name, want->name);
	cmp_str(c, "uuid", got->uuid, want->uuid);
	cmp_str(c, "pool", g->pool, w->pool);
	cmp_num(c, "capacity", g->capacity, w->capacity);
	cmp_num(c, "format", g->format, w->format);
	cmp_str(c, "backing", g->backing, w->backing);
	cmp_str(c, "path", g->path, w->path);
}

/* ---- specs ----------------------------------------------------------- */

static struct vf_resource domain_minimal(void)
{
	static struct vf_disk_spec disks[] = {
		{ .name = "root", .target = "vda", .pool = "default", .volume = "mini-root",
		  .format = VF_FORMAT_QCOW2 },
	};
	struct vf_resource r = { .kind = VF_KIND_VM, .name = "mini", .address = "vm.mini" };

	r.u.vm.cpus = 1;
	r.u.vm.memory = 512 * MiB;
	r.u.vm.firmware = VF_FIRMWARE_BIOS;
	r.u.vm.graphics = VF_GRAPHICS_NONE;
	r.u.vm.graphics_port = -1;
	r.u.vm.disks = disks;
	r.u.vm.n_disks = VF_ARRAY_SIZE(disks);
	return r;
}

static struct vf_resource domain_full(void)
{
	static struct vf_disk_spec disks[] = {
		{ .name = "root", .target = "vda", .pool = "fast", .volume = "web1-root",
		  .format = VF_FORMAT_QCOW2 },
		{ .name = "data", .target = "vdb", .pool = "bulk", .volume = "web1-data",
		  .format = VF_FORMAT_RAW },
	};
	static struct vf_nic_spec nics[] = {
		{ .network = "lan", .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, .model = "virtio" },
		{ .network = "dmz", .mac = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef }, .model = "e1000e" },
	};
	static struct vf_marker_volume volumes[] = {
		{ .pool = "fast", .name = "web1-root", .keep = false },
		{ .pool = "bulk", .name = "web1-data", .keep = true },
	};
	struct vf_resource r = { .kind = VF_KIND_VM, .name = "web1", .address = "vm.web1",
				 .uuid = "8f2d6a8e-3c1b-4b7e-9a55-0d3f2e1c4b6a" };

	r.u.vm.cpus = 2;
	r.u.vm.max_cpus = 4;
	r.u.vm.memory = 2 * GiB;
	r.u.vm.max_memory = 4 * GiB;
	r.u.vm.firmware = VF_FIRMWARE_EFI;
	r.u.vm.graphics = VF_GRAPHICS_VNC;
	r.u.vm.graphics_listen = "0.0.0.0";
	r.u.vm.graphics_port = 5901;
	r.u.vm.disks = disks;
	r.u.vm.n_disks = VF_ARRAY_SIZE(disks);
	r.u.vm.nics = nics;
	r.u.vm.n_nics = VF_ARRAY_SIZE(nics);
	r.u.vm.description = "Front end <web> & \"proxy\" 'prod'";
	r.u.vm.marker.project = "acme";
	r.u.vm.marker.spec_hash = "0123456789abcdef";
	r.u.vm.marker.volumes = volumes;
	r.u.vm.marker.n_volumes = VF_ARRAY_SIZE(volumes);
	return r;
}

static struct vf_resource network(const char *name, enum vf_net_mode mode, const char *bridge)
{
	struct vf_resource r = { .kind = VF_KIND_NETWORK, .name = name };

	r.u.net.mode = mode;
	r.u.net.bridge = bridge;
	return r;
}

static struct vf_resource pool(const char *name, enum vf_storage_type type, const char *path)
{
	struct vf_resource r = { .kind = VF_KIND_STORAGE, .name = name };

	r.u.pool.type = type;
	r.u.pool.path = path;
	return r;
}

static struct vf_resource volume(const char *name, uint64_t capacity, enum vf_image_format f)
{
	struct vf_resource r = { .kind = VF_KIND_VOLUME, .name = name };

	r.u.vol.pool = "default";
	r.u.vol.capacity = capacity;
	r.u.vol.format = f;
	return r;
}

/* ---- tests ----------------------------------------------------------- */

/* format, golden, then parse it back and compare with want. */
static void domain_case(const char *golden, const struct vf_resource *in,
			const struct vf_resource *want)
{
	struct vf_resource out = { .kind = VF_KIND_VM };
	struct cmp c = { .bad = 0 };
	char *error = NULL, *xml, *again;

	xml = vf_xml_domain_format(in, NULL, &error);
	if (!ok(xml != NULL, "%s: formats", golden))
		printf("#   %s\n", error);
	check_golden(golden, xml);
	again = vf_xml_domain_format(in, NULL, &error);
	ok(xml && again && !strcmp(xml, again), "%s: deterministic", golden);
	free(again);
	if (xml && vf_xml_domain_parse(xml, &arena, &out, &error) == 0) {
		cmp_vm(&c, &out, want);
	} else {
		cmp_fail(&c, "#   parse: %s\n", error ? error : "(no error)");
	}
	cmp_done(&c, "domain round trip: parse(format(spec)) is the spec");
	free(error);
	free(xml);
}

static void test_domains(void)
{
	struct vf_resource in = domain_minimal(), want = in, out = { .kind = VF_KIND_VM };
	struct cmp c = { .bad = 0 };
	char *xml, *error = NULL;

	domain_case("domain-minimal", &in, &want);

	in = domain_full();
	domain_case("domain-full", &in, &in);

	/* spice with automatic port; cpus == max_cpus; no description */
	in = domain_full();
	in.uuid = NULL;
	in.u.vm.graphics = VF_GRAPHICS_SPICE;
	in.u.vm.graphics_listen = "127.0.0.1";
	in.u.vm.graphics_port = -1;
	in.u.vm.max_cpus = 2;
	in.u.vm.description = NULL;
	in.u.vm.marker.spec_hash = NULL;
	in.u.vm.marker.n_volumes = 0;
	xml = vf_xml_domain_format(&in, NULL, &error);
	ok(xml && !strstr(xml, "current=") &&
	   strstr(xml, "<graphics type=\"spice\" autoport=\"yes\" listen=\"127.0.0.1\">") &&
	   !strstr(xml, "<uuid>") && !strstr(xml, "spec="),
	   "spice: autoport, no vcpu current, no uuid, no spec hash");
	if (xml && vf_xml_domain_parse(xml, &arena, &out, &error) == 0)
		cmp_vm(&c, &out, &in);
	else
		cmp_fail(&c, "#   %s\n", error);
	cmp_done(&c, "spice round trip");
	free(xml);

	/* changes waiting for a restart ride in the marker */
	in = domain_full();
	in.u.vm.marker.pending = "cpus max_memory";
	in.u.vm.marker.pending_id = 42;
	xml = vf_xml_domain_format(&in, NULL, &error);
	memset(&out, 0, sizeof(out));
	ok(xml && strstr(xml, "pending-restart=\"cpus max_memory\" pending-id=\"42\"") &&
	   vf_xml_domain_parse(xml, &arena, &out, &error) == 0 && out.u.vm.marker.pending &&
	   !strcmp(out.u.vm.marker.pending, "cpus max_memory") && out.u.vm.marker.pending_id == 42,
	   "pending restart: written in the marker and read back");
	free(xml);

	/* escaping: the description's <>&'" come out as entities */
	in = domain_full();
	xml = vf_xml_domain_format(&in, NULL, &error);
	ok(xml && strstr(xml, "<description>Front end &lt;web&gt; &amp; \"proxy\" 'prod'"
			      "</description>"),
	   "description is escaped in the XML");
	free(xml);
	in.u.vm.marker.project = "a\"b<c>&d";
	in.u.vm.description = "line one\nline two\ttab";
	xml = vf_xml_domain_format(&in, NULL, &error);
	ok(xml && strstr(xml, "project=\"a&quot;b&lt;c&gt;&amp;d\""),
	   "marker attribute is escaped in the XML");
	memset(&out, 0, sizeof(out));
	ok(xml && vf_xml_domain_parse(xml, &arena, &out, &error) == 0 &&
	   !strcmp(out.u.vm.marker.project, "a\"b<c>&d") &&
	   !strcmp(out.u.vm.description, "line one\nline two\ttab"),
	   "attribute and multi-line description round-trip");
	free(xml);

	/* values XML cannot carry are refused, naming the object */
	in = domain_full();
	in.u.vm.description = "bad \xff\xfe utf-8";
	xml = vf_xml_domain_format(&in, NULL, &error);
	ok(!xml && error && strstr(error, "domain 'web1'") && strstr(error, "description"),
	   "invalid UTF-8 is refused: %s", error ? error : "(no error)");
	free(xml);
	free(error);
	error = NULL;
	in.u.vm.description = "bell \a";
	xml = vf_xml_domain_format(&in, NULL, &error);
	ok(!xml && error && strstr(error, "domain 'web1'"),
	   "a control character is refused: %s", error ? error : "(no error)");
	free(xml);
	free(error);
	error = NULL;
	in = domain_full();
	in.u.vm.disks = &(struct vf_disk_spec){ .name = "root", .volume = "x" };
	in.u.vm.n_disks = 1;
	xml = vf_xml_domain_format(&in, NULL, &error);
	ok(!xml && error && strstr(error, "disk 'root'"), "a disk without target is an error: %s",
	   error ? error : "(no error)");
	free(xml);
	free(error);
}

static void test_domain_from_libvirt(void)
{
	static struct vf_disk_spec disks[] = {
		{ .name = "root", .target = "vda", .pool = "fast", .volume = "web1-root",
		  .format = VF_FORMAT_QCOW2 },
		{ .name = "vdb", .target = "vdb", .pool = NULL,
		  .volume = "/var/lib/libvirt/images/web1-scratch.img", .format = VF_FORMAT_RAW },
		{ .name = "vdc", .target = "vdc", .pool = NULL, .volume = "/dev/vg0/web1-logs",
		  .format = VF_FORMAT_RAW },
	};
	static struct vf_nic_spec nics[] = {
		{ .network = "lan", .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, .model = "virtio" },
		{ .network = "bridge:br0", .mac = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef },
		  .model = "e1000e" },
		{ .network = "user", .mac = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 }, .model = "" },
	};
	static struct vf_marker_volume volumes[] = {
		{ .pool = "fast", .name = "web1-root", .keep = false },
		{ .pool = "bulk", .name = "web1-data", .keep = true },
	};
	struct vf_resource want = { .kind = VF_KIND_VM, .name = "web1",
				    .uuid = "8f2d6a8e-3c1b-4b7e-9a55-0d3f2e1c4b6a" };
	struct vf_resource out = { .kind = VF_KIND_VM };
	struct cmp c = { .bad = 0 };
	char *path = golden_path("domain-from-libvirt"), *xml = read_whole(path), *error = NULL;

	want.u.vm.cpus = 2;
	want.u.vm.max_cpus = 4;
	want.u.vm.memory = 2 * GiB;
	want.u.vm.max_memory = 4 * GiB;
	want.u.vm.firmware = VF_FIRMWARE_EFI;
	want.u.vm.graphics = VF_GRAPHICS_SPICE;
	want.u.vm.graphics_listen = "0.0.0.0";
	want.u.vm.graphics_port = 5905;
	want.u.vm.disks = disks;
	want.u.vm.n_disks = VF_ARRAY_SIZE(disks);
	want.u.vm.nics = nics;
	want.u.vm.n_nics = VF_ARRAY_SIZE(nics);
	want.u.vm.description = "Front end <web> & \"proxy\" 'prod'";
	want.u.vm.marker.project = "acme";
	want.u.vm.marker.spec_hash = "0123456789abcdef";
	want.u.vm.marker.volumes = volumes;
	want.u.vm.marker.n_volumes = VF_ARRAY_SIZE(volumes);

	/* the caller's fields survive */
	out.u.vm.running = true;
	out.u.vm.autostart = true;
	out.u.vm.shutdown_timeout = 77;
	if (!ok(xml != NULL, "read %s", path))
		goto out;
	if (vf_xml_domain_parse(xml, &arena, &out, &error) == 0)
		cmp_vm(&c, &out, &want);
	else
		cmp_fail(&c, "#   %s\n", error);
	cmp_done(&c, "libvirt's domain XML: managed fields read, defaults ignored, "
		 "marker found under another prefix");
	ok(out.u.vm.running && out.u.vm.autostart && out.u.vm.shutdown_timeout == 77,
	   "running, autostart and shutdown_timeout are left to the caller");

	/* every truncation of a real document: an error or a result, never a crash */
	{
		size_t len = strlen(xml), i, bad = 0;
		for (i = 0; i < len; i++) {
			struct vf_resource r = { .kind = VF_KIND_VM, .name = "web1" };
			char *prefix = xstrndup(xml, i), *e = NULL;
			int rc = vf_xml_domain_parse(prefix, &arena, &r, &e);
			if (rc == 0 ? !strstr(prefix, "</domain>") :
			    !e || strchr(e, '\n') ||
			    strncmp(e, "cannot parse the XML of domain 'web1': ", 39))
				bad++;
			free(e);
			free(prefix);
		}
		ok(bad == 0, "each of %zu truncations is an error with a one-line message naming "
		   "the domain", len);
	}
out:
	free(error);
	free(xml);
	free(path);
}

/* Parse a small domain XML; returns 0/-1 and fills *out. */
static int parse_domain(const char *xml, struct vf_resource *out, char **error)
{
	memset(out, 0, sizeof(*out));
	out->kind = VF_KIND_VM;
	*error = NULL;
	return vf_xml_domain_parse(xml, &arena, out, error);
}

static void test_domain_details(void)
{
	struct vf_resource r;
	char *error = NULL;

	is_int(parse_domain("<domain type='kvm'><name>a</name>"
			    "<memory unit='GiB'>4</memory><currentMemory unit='b'>2147483648</currentMemory>"
			    "<vcpu>3</vcpu>"
			    "<os><type>hvm</type><loader readonly='yes' type='pflash'>/x.fd</loader></os>"
			    "<devices><graphics type='vnc' port='-1'/></devices></domain>", &r, &error),
	       0, "units, legacy EFI loader");
	ok(r.u.vm.max_memory == 4 * GiB && r.u.vm.memory == 2 * GiB, "memory units GiB and b");
	ok(r.u.vm.cpus == 3 && r.u.vm.max_cpus == 3, "vcpu without current");
	is_int(r.u.vm.firmware, VF_FIRMWARE_EFI, "a pflash loader is EFI");
	ok(r.u.vm.graphics == VF_GRAPHICS_VNC && r.u.vm.graphics_port == -1 &&
	   r.u.vm.graphics_listen && !strcmp(r.u.vm.graphics_listen, ""),
	   "port -1 is automatic; no listen address reads as \"\"");
	ok(r.u.vm.marker.project == NULL && r.u.vm.description == NULL && r.uuid == NULL,
	   "no metadata: unmanaged (project NULL), no description, no uuid");
	free(error);

	is_int(parse_domain("<domain type='kvm'><name>b</name><memory>1048576</memory>"
			    "<os><type>hvm</type><loader type='rom'>/bios.bin</loader></os>"
			    "<metadata><other:resource xmlns:other='https://example.com/x' project='p'/>"
			    "<virtform:resource xmlns:virtform='https://virtform.dev/xmlns/virtform/0' "
			    "project='old'/></metadata>"
			    "<devices><graphics type='sdl'/><disk type='file' device='cdrom'>"
			    "<source file='/iso'/><target dev='sda'/></disk>"
			    "<disk type='volume'><target dev='vdz'/></disk></devices></domain>",
			    &r, &error), 0, "defaults, foreign metadata");
	ok(r.u.vm.memory == GiB && r.u.vm.max_memory == GiB, "memory without unit is KiB, "
	   "no currentMemory is memory");
	is_int(r.u.vm.firmware, VF_FIRMWARE_BIOS, "a rom loader is BIOS");
	is_int(r.u.vm.graphics, VF_GRAPHICS_NONE, "graphics virtform does not manage read as none");
	ok(r.u.vm.marker.project == NULL, "a marker of another namespace is not ours");
	is_int(r.u.vm.n_disks, 0, "CD-ROM and source-less disks are skipped");
	free(error);

	is_int(parse_domain("<domain><name>c</name><memory unit='parsec'>1</memory></domain>",
			    &r, &error), -1, "bad memory unit is an error");
	ok(error && strstr(error, "domain 'c'"), "naming the domain: %s", error ? error : "");
	free(error);
	is_int(parse_domain("<domain><name>d</name><memory unit='EiB'>16</memory></domain>",
			    &r, &error), -1, "memory overflow is an error");
	free(error);
	is_int(parse_domain("<domain><memory>1</memory></domain>", &r, &error), -1,
	       "no name is an error");
	ok(error && strstr(error, "<name>"), "saying so: %s", error ? error : "");
	free(error);
	is_int(parse_domain("<network><name>n</name></network>", &r, &error), -1,
	       "wrong root is an error");
	ok(error && strstr(error, "<network>, not <domain>"), "saying so: %s", error ? error : "");
	free(error);
	is_int(parse_domain("<domain><name>x</name>", &r, &error), -1, "malformed XML is an error");
	ok(error && !strchr(error, '\n') && strstr(error, "cannot parse the XML of a domain: "),
	   "one line: %s", error ? error : "");
	free(error);
	is_int(parse_domain("", &r, &error), -1, "empty XML is an error");
	free(error);
	is_int(parse_domain(NULL, &r, &error), -1, "NULL XML is an error");
	free(error);
	is_int(parse_domain("<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
			    "<domain><name>x</name><description>[&e;]</description>"
			    "<memory>1</memory></domain>", &r, &error), 0,
	       "a document with an external entity parses");
	ok(r.u.vm.description && !strcmp(r.u.vm.description, "[]"),
	   "but the entity is not loaded: %s", r.u.vm.description ? r.u.vm.description : "(null)");
	free(error);
}

static void network_case(const char *golden, const struct vf_resource *in)
{
	struct vf_resource out = { .kind = VF_KIND_NETWORK };
	struct cmp c = { .bad = 0 };
	char *error = NULL, *xml = vf_xml_network_format(in, &error);

	if (!xml)
		printf("#   %s\n", error);
	check_golden(golden, xml);
	out.u.net.active = in->u.net.active;
	out.u.net.autostart = in->u.net.autostart;
	if (xml && vf_xml_network_parse(xml, &arena, &out, &error) == 0)
		cmp_net(&c, &out, in);
	else
		cmp_fail(&c, "#   parse: %s\n", error ? error : "(no error)");
	cmp_done(&c, "network round trip");
	free(error);
	free(xml);
}

static int parse_network(const char *xml, struct vf_resource *out, char **error)
{
	memset(out, 0, sizeof(*out));
	out->kind = VF_KIND_NETWORK;
	out->name = "net";
	*error = NULL;
	return vf_xml_network_parse(xml, &arena, out, error);
}

static void test_networks(void)
{
	struct vf_resource in, r, want;
	struct cmp c = { .bad = 0 };
	char *error = NULL, *xml;

	in = network("lan", VF_NET_MODE_NAT, "br-lan");
	in.uuid = "2b6f7d1c-5a9e-4c3b-8f0d-1e2a3b4c5d6e";
	in.u.net.mtu = 9000;
	in.u.net.has_ipv4 = true;
	in.u.net.ipv4_address = IP(10, 77, 0, 1);
	in.u.net.ipv4_prefix = 24;
	in.u.net.has_dhcp = true;
	in.u.net.dhcp_start = IP(10, 77, 0, 100);
	in.u.net.dhcp_end = IP(10, 77, 0, 200);
	in.u.net.active = in.u.net.autostart = true;
	network_case("network-nat", &in);

	in = network("backplane", VF_NET_MODE_ISOLATED, "br-backplane");
	in.u.net.has_ipv4 = true;
	in.u.net.ipv4_address = IP(10, 88, 0, 1);
	in.u.net.ipv4_prefix = 16;
	network_case("network-isolated", &in);

	in = network("dmz", VF_NET_MODE_BRIDGE, "br0");
	network_case("network-bridge", &in);
	in.u.net.mtu = 1500;
	xml = vf_xml_network_format(&in, &error);
	ok(xml && !strstr(xml, "<mtu"), "bridge mode: no <mtu> (libvirt refuses it)");
	free(xml);

	/* what libvirt returns for a NAT network defined with a netmask */
	is_int(parse_network(
		"<network>\n"
		"  <name>default</name>\n"
		"  <uuid>d1e2f3a4-0000-4000-8000-000000000001</uuid>\n"
		"  <forward mode='nat'>\n"
		"    <nat>\n"
		"      <port start='1024' end='65535'/>\n"
		"    </nat>\n"
		"  </forward>\n"
		"  <bridge name='virbr0' stp='on' delay='0'/>\n"
		"  <mac address='52:54:00:0a:0b:0c'/>\n"
		"  <ip family='ipv6' address='fd00::1' prefix='64'/>\n"
		"  <ip address='192.168.122.1' netmask='255.255.255.0'>\n"
		"    <dhcp>\n"
		"      <range start='192.168.122.2' end='192.168.122.254'/>\n"
		"    </dhcp>\n"
		"  </ip>\n"
		"  <ip address='10.9.9.1' prefix='8'/>\n"
		"</network>\n", &r, &error), 0, "libvirt's NAT network");
	want = network("default", VF_NET_MODE_NAT, "virbr0");
	want.uuid = "d1e2f3a4-0000-4000-8000-000000000001";
	want.u.net.has_ipv4 = want.u.net.has_dhcp = true;
	want.u.net.ipv4_address = IP(192, 168, 122, 1);
	want.u.net.ipv4_prefix = 24;
	want.u.net.dhcp_start = IP(192, 168, 122, 2);
	want.u.net.dhcp_end = IP(192, 168, 122, 254);
	cmp_net(&c, &r, &want);
	cmp_done(&c, "netmask as prefix, the first IPv4 <ip> only, IPv6 skipped");
	free(error);

	is_int(parse_network("<network><name>n</name><forward/><bridge name='b'/></network>",
			     &r, &error), 0, "<forward/> without mode");
	is_int(r.u.net.mode, VF_NET_MODE_NAT, "is nat");
	ok(!r.u.net.has_ipv4 && r.u.net.mtu == 0, "no ip, no mtu");
	free(error);
	is_int(parse_network("<network><name>n</name><ip address='172.16.0.1'/></network>",
			     &r, &error), 0, "no prefix nor netmask");
	ok(r.u.net.mode == VF_NET_MODE_ISOLATED && r.u.net.ipv4_prefix == 16 &&
	   r.u.net.bridge && !strcmp(r.u.net.bridge, ""),
	   "isolated, classful prefix, absent bridge reads as \"\"");
	free(error);
	is_int(parse_network("<network><name>routed</name><forward mode='route'/></network>",
			     &r, &error), -1, "forward mode route is an error");
	is_str(error, "unsupported forward mode 'route' in network 'routed'", "naming mode and network");
	free(error);
	is_int(parse_network("<network><name>n</name><ip address='10.0.0.1' netmask='255.0.255.0'/>"
			     "</network>", &r, &error), -1, "a non-contiguous netmask is an error");
	free(error);
	is_int(parse_network("<network><name>n</name><forward", &r, &error), -1,
	       "malformed network XML is an error");
	ok(error && strstr(error, "cannot parse the XML of network 'net': "), "%s",
	   error ? error : "");
	free(error);
	is_int(parse_network("<pool type='dir'><name>n</name></pool>", &r, &error), -1,
	       "wrong root for a network is an error");
	free(error);
}

static void pool_case(const char *golden, const struct vf_resource *in,
		      const struct vf_resource *want)
{
	struct vf_resource out = { .kind = VF_KIND_STORAGE };
	struct cmp c = { .bad = 0 };
	char *error = NULL, *xml = vf_xml_pool_format(in, &error);

	if (!xml)
		printf("#   %s\n", error);
	if (golden)
		check_golden(golden, xml);
	if (xml && vf_xml_pool_parse(xml, &arena, &out, &error) == 0)
		cmp_pool(&c, &out, want);
	else
		cmp_fail(&c, "#   parse: %s\n", error ? error : "(no error)");
	cmp_done(&c, "pool round trip");
	free(error);
	free(xml);
}

static int parse_pool(const char *xml, struct vf_resource *out, char **error)
{
	memset(out, 0, sizeof(*out));
	out->kind = VF_KIND_STORAGE;
	*error = NULL;
	return vf_xml_pool_parse(xml, &arena, out, error);
}

static void test_pools(void)
{
	struct vf_resource in, want, r;
	char *error = NULL, *xml;

	in = pool("default", VF_STORAGE_DIR, "/var/lib/virtform/default");
	pool_case("pool-dir", &in, &in);

	in = pool("shared", VF_STORAGE_NFS, "/mnt/shared");
	in.u.pool.server = "nas.example.com";
	in.u.pool.export_path = "/export/vm";
	pool_case("pool-netfs", &in, &in);

	in = pool("fast", VF_STORAGE_LOGICAL, NULL);
	in.u.pool.vg = "vg_fast";
	want = in;
	want.u.pool.path = "/dev/vg_fast";
	pool_case("pool-logical", &in, &want);

	in = pool("san", VF_STORAGE_ISCSI, NULL);
	in.uuid = "5c4b3a29-1807-4f6e-9d5c-4b3a29180706";
	in.u.pool.portal = "10.0.0.5:3260";
	in.u.pool.target = "iqn.2024-01.com.example:storage.lun1";
	want = in;
	want.u.pool.path = "/dev/disk/by-path";
	pool_case("pool-iscsi", &in, &want);

	/* CHAP: <auth> naming the libvirt secret by usage; the hash is not
	 * in the pool's XML (observe reads it from the secret) */
	{
		struct vf_resource chap_in = in, chap_want = want;
		const char *uuid = NULL, *usage = NULL, *description = NULL;
		chap_in.u.pool.chap_username = chap_want.u.pool.chap_username = "initiator<&>";
		chap_in.u.pool.chap_usage = chap_want.u.pool.chap_usage = "virtform/p/san";
		chap_in.u.pool.chap_secret = "0123456789abcdef";
		pool_case("pool-iscsi-chap", &chap_in, &chap_want);
		xml = vf_xml_secret_format("virtform/p/san", "5c4b3a29-1807-4f6e-9d5c-4b3a29180707",
					   "virtform chap hash 0123456789abcdef", &error);
		check_golden("secret-chap", xml);
		ok(xml && vf_xml_secret_parse(xml, &arena, &uuid, &usage, &description, &error) == 0 &&
		   uuid && !strcmp(uuid, "5c4b3a29-1807-4f6e-9d5c-4b3a29180707") && usage &&
		   !strcmp(usage, "virtform/p/san") && description &&
		   !strcmp(description, "virtform chap hash 0123456789abcdef"),
		   "secret round trip: uuid, iscsi usage, description");
		free(xml);
		ok(vf_xml_secret_parse("<secret><usage type='ceph'><name>x</name></usage></secret>",
				       &arena, &uuid, &usage, &description, &error) == 0 &&
		   !usage && !uuid && !description, "a secret of another usage type: no usage");
		is_int(vf_xml_secret_parse("<pool/>", &arena, &uuid, &usage, &description, &error),
		       -1, "wrong root for a secret is an error");
		free(error);
		error = NULL;
	}

	/* iscsi portal without port; an IPv6 portal */
	in.u.pool.portal = "san.example.com";
	want.u.pool.portal = in.u.pool.portal;
	pool_case(NULL, &in, &want);
	in.u.pool.portal = "[fd00::5]:3260";
	want.u.pool.portal = in.u.pool.portal;
	xml = vf_xml_pool_format(&in, &error);
	ok(xml && strstr(xml, "<host name=\"fd00::5\" port=\"3260\"/>") &&
	   parse_pool(xml, &r, &error) == 0 &&
	   !strcmp(r.u.pool.portal, "[fd00::5]:3260"), "IPv6 portal");
	free(xml);
	in.u.pool.portal = "host:port";
	xml = vf_xml_pool_format(&in, &error);
	ok(!xml && error && strstr(error, "pool 'san'"), "a bad portal is an error: %s",
	   error ? error : "");
	free(error);
	error = NULL;
	in = pool("nopath", VF_STORAGE_DIR, NULL);
	xml = vf_xml_pool_format(&in, &error);
	is_str(error, "cannot write the XML of pool 'nopath': it has no path", "a dir pool needs a path");
	free(xml);
	free(error);

	/* what libvirt returns: capacity, permissions, an LVM pool's device */
	is_int(parse_pool("<pool type='logical'>\n"
			  "  <name>fast</name>\n"
			  "  <uuid>0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d</uuid>\n"
			  "  <capacity unit='bytes'>107369988096</capacity>\n"
			  "  <allocation unit='bytes'>21474836480</allocation>\n"
			  "  <available unit='bytes'>85895151616</available>\n"
			  "  <source>\n"
			  "    <device path='/dev/sdb1'/>\n"
			  "    <name>vg_fast</name>\n"
			  "    <format type='lvm2'/>\n"
			  "  </source>\n"
			  "  <target>\n"
			  "    <path>/dev/vg_fast</path>\n"
			  "  </target>\n"
			  "</pool>\n", &r, &error), 0, "libvirt's logical pool");
	ok(r.u.pool.type == VF_STORAGE_LOGICAL && !strcmp(r.u.pool.vg, "vg_fast") &&
	   !strcmp(r.u.pool.path, "/dev/vg_fast") && !strcmp(r.uuid, "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d") &&
	   !r.u.pool.server && !r.u.pool.portal, "type, vg, path, uuid; other types' fields NULL");
	free(error);
	is_int(parse_pool("<pool type='logical'><name>vgx</name><target><path>/dev/vgx</path>"
			  "</target></pool>", &r, &error), 0, "logical pool without source name");
	is_str(r.u.pool.vg, "vgx", "the VG is the pool's name");
	free(error);
	is_int(parse_pool("<pool type='rbd'><name>ceph</name></pool>", &r, &error), -1,
	       "an rbd pool is an error");
	is_str(error, "unsupported pool type 'rbd' in pool 'ceph'", "naming type and pool");
	free(error);
	is_int(parse_pool("<pool type='dir'><name>a</name><target><path>/x</path></target>",
			  &r, &error), -1, "malformed pool XML is an error");
	free(error);
	is_int(parse_pool("<volume><name>a</name></volume>", &r, &error), -1,
	       "wrong root for a pool is an error");
	free(error);
}

/*
 * iscsi-direct (libiscsi in libvirtd): the iscsi pool's source plus an
 * initiator IQN, which it cannot do without, and no <target>; and the
 * optional initiator of an iscsi pool.
 */
static void test_iscsi_direct_pools(void)
{
	struct vf_resource in, want, r;
	char *error = NULL, *xml;

	in = pool("lun", VF_STORAGE_ISCSI_DIRECT, NULL);
	in.uuid = "5c4b3a29-1807-4f6e-9d5c-4b3a29180708";
	in.u.pool.portal = "10.0.0.5:3260";
	in.u.pool.target = "iqn.2024-01.com.example:storage.lun1";
	in.u.pool.initiator = "iqn.2026-11.org.example:host1";
	want = in;                      /* path stays NULL: no <target> */
	pool_case("pool-iscsi-direct", &in, &want);

	/* CHAP: the same <auth> as iscsi, after the initiator */
	{
		struct vf_resource chap_in = in, chap_want = want;
		chap_in.u.pool.chap_username = chap_want.u.pool.chap_username = "initiator<&>";
		chap_in.u.pool.chap_usage = chap_want.u.pool.chap_usage = "virtform/p/lun";
		chap_in.u.pool.chap_secret = "0123456789abcdef";
		pool_case("pool-iscsi-direct-chap", &chap_in, &chap_want);
	}

	/* a set path (never from the loader) does not make a <target> */
	in.u.pool.path = "/dev/disk/by-path";
	xml = vf_xml_pool_format(&in, &error);
	ok(xml && strstr(xml, "<pool type=\"iscsi-direct\">") && !strstr(xml, "<target") &&
	   !strstr(xml, "by-path"), "iscsi-direct: no <target>, whatever the path");
	free(xml);
	in.u.pool.path = NULL;

	/* the IQN is an attribute value: escaped by libxml2, read back */
	in.u.pool.initiator = "iqn.2026-11.org.example:a&b<c>\"d'";
	want.u.pool.initiator = in.u.pool.initiator;
	xml = vf_xml_pool_format(&in, &error);
	ok(xml && strstr(xml, "<iqn name=\"iqn.2026-11.org.example:a&amp;b&lt;c&gt;&quot;d'\"/>"),
	   "the initiator is escaped");
	free(xml);
	pool_case(NULL, &in, &want);
	in.u.pool.initiator = want.u.pool.initiator = "iqn.2026-11.org.example:host1";

	/* libvirt refuses an iscsi-direct pool without an initiator */
	in.u.pool.initiator = NULL;
	xml = vf_xml_pool_format(&in, &error);
	ok(!xml, "iscsi-direct without an initiator does not format");
	is_str(error, "cannot write the XML of pool 'lun': it has no initiator IQN",
	       "naming the pool and what is missing");
	free(xml);
	free(error);
	error = NULL;
	in.u.pool.initiator = "iqn.2026-11.org.example:host1";
	in.u.pool.portal = "host:port";
	xml = vf_xml_pool_format(&in, &error);
	ok(!xml && error && strstr(error, "invalid iSCSI portal 'host:port'"),
	   "iscsi-direct: a bad portal is an error: %s", error ? error : "");
	free(error);
	error = NULL;

	/* an iscsi pool may name its initiator too; without one it has none */
	in = pool("san", VF_STORAGE_ISCSI, NULL);
	in.u.pool.portal = "san.example.com";
	in.u.pool.target = "iqn.2024-01.com.example:storage.lun1";
	in.u.pool.initiator = "iqn.2026-11.org.example:host2";
	want = in;
	want.u.pool.path = "/dev/disk/by-path";
	xml = vf_xml_pool_format(&in, &error);
	ok(xml && strstr(xml, "<pool type=\"iscsi\">") &&
	   strstr(xml, "<initiator>\n      <iqn name=\"iqn.2026-11.org.example:host2\"/>\n"
			"    </initiator>") && strstr(xml, "<path>/dev/disk/by-path</path>"),
	   "iscsi with an initiator: <initiator><iqn/>, and its <target>");
	free(xml);
	pool_case(NULL, &in, &want);

	/* what libvirt 9.0 returns for a defined, started iscsi-direct pool */
	want = pool("lun", VF_STORAGE_ISCSI_DIRECT, NULL);
	want.uuid = "051f3732-d90b-4216-b253-497868a78a8c";
	want.u.pool.portal = "192.0.2.10:3260";
	want.u.pool.target = "iqn.2004-04.org.example:vfops";
	want.u.pool.initiator = "iqn.2026-11.org.example:host1";
	want.u.pool.chap_username = "u";
	want.u.pool.chap_usage = "virtform/p/lun";
	is_int(parse_pool("<pool type='iscsi-direct'>\n"
			  "  <name>lun</name>\n"
			  "  <uuid>051f3732-d90b-4216-b253-497868a78a8c</uuid>\n"
			  "  <capacity unit='bytes'>107374182400</capacity>\n"
			  "  <allocation unit='bytes'>0</allocation>\n"
			  "  <available unit='bytes'>107374182400</available>\n"
			  "  <source>\n"
			  "    <host name='192.0.2.10' port='3260'/>\n"
			  "    <device path='iqn.2004-04.org.example:vfops'/>\n"
			  "    <initiator>\n"
			  "      <iqn name='iqn.2026-11.org.example:host1'/>\n"
			  "    </initiator>\n"
			  "    <auth type='chap' username='u'>\n"
			  "      <secret usage='virtform/p/lun'/>\n"
			  "    </auth>\n"
			  "  </source>\n"
			  "</pool>\n", &r, &error), 0, "libvirt's iscsi-direct pool");
	{
		struct cmp c = { .bad = 0 };
		cmp_pool(&c, &r, &want);
		cmp_done(&c, "type, no path, portal, target, initiator, CHAP, uuid; other types' "
			     "fields NULL");
	}
	free(error);
	is_int(parse_pool("<pool type='iscsi'><name>s</name><source><host name='h'/>"
			  "<device path='iqn.2004-04.org.example:t'/></source>"
			  "<target><path>/dev/disk/by-path</path></target></pool>", &r, &error), 0,
	       "an iscsi pool without an initiator");
	ok(r.u.pool.type == VF_STORAGE_ISCSI && r.u.pool.initiator == NULL, "has none (NULL)");
	is_str(r.u.pool.path, "/dev/disk/by-path", "and its path");
	free(error);
}

static void volume_case(const char *golden, const struct vf_resource *in, uint64_t capacity,
			const char *backing, enum vf_image_format backing_format)
{
	struct vf_resource out = { .kind = VF_KIND_VOLUME }, want = *in;
	struct cmp c = { .bad = 0 };
	char *error = NULL, *xml;

	xml = vf_xml_volume_format(in, capacity, backing, backing_format, &error);
	if (!xml)
		printf("#   %s\n", error);
	check_golden(golden, xml);
	out.u.vol.pool = in->u.vol.pool;     /* the caller's */
	want.u.vol.capacity = capacity;
	want.u.vol.backing = backing;
	want.u.vol.path = "";                /* libvirt adds it */
	if (xml && vf_xml_volume_parse(xml, &arena, &out, &error) == 0)
		cmp_vol(&c, &out, &want);
	else
		cmp_fail(&c, "#   parse: %s\n", error ? error : "(no error)");
	cmp_done(&c, "volume round trip");
	free(error);
	free(xml);
}

static int parse_volume(const char *xml, struct vf_resource *out, char **error)
{
	memset(out, 0, sizeof(*out));
	out->kind = VF_KIND_VOLUME;
	out->u.vol.pool = "default";
	*error = NULL;
	return vf_xml_volume_parse(xml, &arena, out, error);
}

static void test_volumes(void)
{
	struct vf_resource in, r;
	char *error = NULL;

	in = volume("web1-data", 10 * GiB, VF_FORMAT_RAW);
	volume_case("volume", &in, 10 * GiB, NULL, VF_FORMAT_RAW);
	in = volume("web1-root", 0, VF_FORMAT_QCOW2);
	in.u.vol.backing = "debian-12";
	volume_case("volume-clone", &in, 20 * GiB, "/var/lib/virtform/default/debian-12.qcow2",
		    VF_FORMAT_QCOW2);

	is_int(parse_volume("<volume type='file'>\n"
			    "  <name>web1-root</name>\n"
			    "  <key>/var/lib/virtform/default/web1-root</key>\n"
			    "  <capacity unit='bytes'>21474836480</capacity>\n"
			    "  <allocation unit='bytes'>200704</allocation>\n"
			    "  <physical unit='bytes'>196624</physical>\n"
			    "  <target>\n"
			    "    <path>/var/lib/virtform/default/web1-root</path>\n"
			    "    <format type='qcow2'/>\n"
			    "    <permissions>\n"
			    "      <mode>0600</mode>\n"
			    "      <owner>0</owner>\n"
			    "      <group>0</group>\n"
			    "    </permissions>\n"
			    "    <timestamps>\n"
			    "      <atime>1700000000.000000000</atime>\n"
			    "    </timestamps>\n"
			    "    <compat>1.1</compat>\n"
			    "    <clusterSize unit='B'>65536</clusterSize>\n"
			    "    <features/>\n"
			    "  </target>\n"
			    "  <backingStore>\n"
			    "    <path>/var/lib/virtform/default/debian-12.qcow2</path>\n"
			    "    <format type='qcow2'/>\n"
			    "  </backingStore>\n"
			    "</volume>\n", &r, &error), 0, "libvirt's volume");
	ok(!strcmp(r.name, "web1-root") && r.u.vol.capacity == 20 * GiB &&
	   r.u.vol.format == VF_FORMAT_QCOW2 &&
	   !strcmp(r.u.vol.path, "/var/lib/virtform/default/web1-root") &&
	   !strcmp(r.u.vol.backing, "/var/lib/virtform/default/debian-12.qcow2") &&
	   !strcmp(r.u.vol.pool, "default") && r.uuid == NULL,
	   "name, capacity, format, path, backing; pool is the caller's");
	free(error);
	is_int(parse_volume("<volume><name>lv</name><capacity unit='GiB'>8</capacity>"
			    "<target><path>/dev/vg/lv</path></target></volume>", &r, &error), 0,
	       "a block volume without format");
	ok(r.u.vol.format == VF_FORMAT_RAW && r.u.vol.capacity == 8 * GiB && !r.u.vol.backing,
	   "is raw, capacity unit GiB, no backing");
	free(error);
	is_int(parse_volume("<volume><name>win.vmdk</name><capacity>1</capacity>"
			    "<target><format type='vmdk'/></target></volume>", &r, &error), -1,
	       "a vmdk volume is an error");
	ok(error && strstr(error, "'vmdk'") && strstr(error, "volume 'win.vmdk'"),
	   "naming format and volume: %s", error ? error : "");
	free(error);
	is_int(parse_volume("<volume><name>v</name></volume>", &r, &error), -1,
	       "no capacity is an error");
	free(error);
	is_int(parse_volume("<volume><name>v<", &r, &error), -1, "malformed volume XML is an error");
	free(error);
	is_int(parse_volume("<domain><name>v</name></domain>", &r, &error), -1,
	       "wrong root for a volume is an error");
	free(error);
}

int main(void)
{
	const char *env = getenv("VF_REGEN_GOLDEN");

	regen = env && !strcmp(env, "1");
	if (regen)
		diag("VF_REGEN_GOLDEN=1: writing golden files instead of comparing");
	test_domains();
	test_domain_from_libvirt();
	test_domain_details();
	test_networks();
	test_pools();
	test_iscsi_direct_pools();
	test_volumes();
	vf_arena_release(&arena);
	return tap_done();
}
