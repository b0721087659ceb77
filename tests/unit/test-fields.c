/*
 * test-fields.c — the fields generator (reconcile/fields.c) and the arena
 * it allocates from (reconcile/util.c).
 *
 * The spec hash is written into every managed domain's marker, so its
 * value for a given resource must never change by accident: the golden
 * values below were computed by the implementation that wrote the
 * markers of existing domains.
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile/engine.h"
#include "tests/tap.h"

static struct vf_disk_spec disks[2] = {
	{ "root", "vda", "data", "web1-root", VF_FORMAT_QCOW2, false },
	{ "scratch", "sdb", "data", "web1-scratch", VF_FORMAT_RAW, false },
};
static struct vf_nic_spec nics[1] = { { "lan", { 0x52, 0x54, 0, 1, 2, 3 }, "virtio" } };

static struct vf_resource vm(void)
{
	struct vf_resource r = { .kind = VF_KIND_VM, .name = "web1", .host = "lab1",
				 .address = "vm.web1" };

	r.u.vm.cpus = 2;
	r.u.vm.max_cpus = 4;
	r.u.vm.memory = 1ull << 30;
	r.u.vm.max_memory = 2ull << 30;
	r.u.vm.firmware = VF_FIRMWARE_EFI;
	r.u.vm.graphics = VF_GRAPHICS_VNC;
	r.u.vm.graphics_listen = "127.0.0.1";
	r.u.vm.graphics_port = 5901;
	r.u.vm.disks = disks;
	r.u.vm.n_disks = 2;
	r.u.vm.nics = nics;
	r.u.vm.n_nics = 1;
	r.u.vm.running = true;
	r.u.vm.autostart = true;
	r.u.vm.description = "web server";
	return r;
}

static struct vf_resource clone_volume(void)
{
	struct vf_resource r = { .kind = VF_KIND_VOLUME, .name = "web1-root", .host = "lab1",
				 .address = "volume.web1-root@lab1" };

	r.u.vol.pool = "data";
	r.u.vol.format = VF_FORMAT_QCOW2;
	r.u.vol.backing = "debian12";
	r.u.vol.upload_file = "/x/debian.qcow2";
	return r;
}

/* The hash as documented: FNV-1a of "path=value\n" over the hashed fields. */
static void hash_of_fields(const struct vf_field *f, size_t n, char out[17])
{
	uint64_t h = 14695981039346656037ull;
	char buf[512], line[1024];
	size_t i;
	const char *p;

	for (i = 0; i < n; i++) {
		if (!strcmp(f[i].path, "state") || !strcmp(f[i].path, "autostart") ||
		    !strcmp(f[i].path, "active"))
			continue;
		snprintf(line, sizeof(line), "%s=%s\n", f[i].path, vf_field_format(&f[i], buf, sizeof(buf)));
		for (p = line; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static void test_vm_fields(void)
{
	static const char *const want[][2] = {
		{ "cpus", "2" }, { "max_cpus", "4" }, { "memory", "1 GiB" }, { "max_memory", "2 GiB" },
		{ "firmware", "efi" }, { "graphics", "vnc" }, { "graphics.listen", "127.0.0.1" },
		{ "graphics.port", "5901" },
		{ "disk[vda].volume", "data/web1-root" }, { "disk[vda].format", "qcow2" },
		{ "disk[sdb].volume", "data/web1-scratch" }, { "disk[sdb].format", "raw" },
		{ "nic[0].network", "lan" }, { "nic[0].mac", "52:54:00:01:02:03" },
		{ "nic[0].model", "virtio" }, { "description", "web server" },
		{ "autostart", "yes" }, { "state", "running" },
	};
	struct vf_resource r = vm();
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_field *f;
	char buf[128], h[17], h2[17];
	size_t n = vf_resource_fields(&r, true, &arena, &f), i;

	is_int(n, VF_ARRAY_SIZE(want), "a VM with two disks and a NIC has %zu fields",
	       VF_ARRAY_SIZE(want));
	for (i = 0; i < n && i < VF_ARRAY_SIZE(want); i++) {
		is_str(f[i].path, want[i][0], "field %zu is %s", i, want[i][0]);
		is_str(vf_field_format(&f[i], buf, sizeof(buf)), want[i][1], "%s: %s", want[i][0],
		       want[i][1]);
	}
	vf_resource_hash(&r, h);
	is_str(h, "35e992818d3d6736", "the VM's spec hash is the one markers carry");
	hash_of_fields(f, n, h2);
	is_str(h, h2, "the hash is of the same fields the plan shows");
	vf_arena_release(&arena);
}

static void test_clone_volume(void)
{
	struct vf_resource r = clone_volume();
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_field *f;
	char buf[128], h[17];
	size_t n = vf_resource_fields(&r, true, &arena, &f);

	is_int(n, 5, "a clone to upload has pool, capacity, format, backing and upload");
	ok(n == 5 && f[1].any && !f[1].text, "its capacity is left open");
	ok(n == 5 && !strcmp(vf_field_format(&f[1], buf, sizeof(buf)), "(from the image)"),
	   "and shows as such");
	ok(n == 5 && f[4].any && !strcmp(f[4].text, "/x/debian.qcow2"), "upload: shown, not diffed");
	vf_resource_hash(&r, h);
	is_str(h, "f26dbebfb4355c13", "the volume's hash is unchanged");
	vf_arena_release(&arena);

	n = vf_resource_fields(&r, false, &arena, &f);
	ok(n == 4 && !f[1].any && f[1].number == 0, "observed: no upload, capacity is a number");
	vf_arena_release(&arena);
}

/* Fields never point into the resource: they outlive its strings. */
static void test_fields_own_their_strings(void)
{
	struct vf_resource r = vm();
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_field *f;
	char *listen = strdup("192.0.2.1"), *desc = strdup("gone soon"), buf[64];
	size_t n, i;
	const char *seen_listen = NULL, *seen_desc = NULL;

	r.u.vm.graphics_listen = listen;
	r.u.vm.description = desc;
	n = vf_resource_fields(&r, false, &arena, &f);
	memset(listen, 'x', strlen(listen));
	memset(desc, 'x', strlen(desc));
	free(listen);
	free(desc);
	for (i = 0; i < n; i++) {
		if (!strcmp(f[i].path, "graphics.listen"))
			seen_listen = vf_field_format(&f[i], buf, sizeof(buf));
		if (!strcmp(f[i].path, "description"))
			seen_desc = f[i].text;
	}
	is_str(seen_listen, "192.0.2.1", "a field keeps its value after the resource's string goes");
	is_str(seen_desc, "gone soon", "the description too");
	vf_arena_release(&arena);
}

static void test_many_nics_and_disks(void)
{
	struct vf_disk_spec d[30];
	struct vf_nic_spec nic[10];
	struct vf_resource r = vm();
	struct vf_arena arena = VF_ARENA_INIT;
	struct vf_field *f;
	char targets[30][8];
	size_t n, i;
	int found = 0;

	for (i = 0; i < 30; i++) {
		if (i < 26)
			snprintf(targets[i], sizeof(targets[i]), "vd%c", (char)('a' + i));
		else
			snprintf(targets[i], sizeof(targets[i]), "vda%c", (char)('a' + i - 26));
		d[i] = (struct vf_disk_spec){ "d", targets[i], "data", "v", VF_FORMAT_RAW, false };
	}
	for (i = 0; i < 10; i++)
		nic[i] = (struct vf_nic_spec){ "lan", { 0x52, 0x54, 0, 0, 0, (uint8_t)i }, "virtio" };
	r.u.vm.disks = d;
	r.u.vm.n_disks = 30;
	r.u.vm.nics = nic;
	r.u.vm.n_nics = 10;
	n = vf_resource_fields(&r, true, &arena, &f);
	for (i = 0; i < n; i++)
		found += !strcmp(f[i].path, "disk[vdz].volume") + !strcmp(f[i].path, "disk[vdad].format") +
			 !strcmp(f[i].path, "nic[7].model") + !strcmp(f[i].path, "nic[9].mac");
	is_int(found, 4, "paths of the 26th and 30th disk, the 8th and 10th NIC");
	vf_arena_release(&arena);
}

static void test_arena(void)
{
	struct vf_arena a = VF_ARENA_INIT, b = VF_ARENA_INIT, c = VF_ARENA_INIT;
	unsigned char *p, *big;
	char *s1, *s2, *s3;
	size_t i, zero = 1;

	/* memory is zeroed as handed out, even where a block was written before */
	p = vf_arena_alloc(&a, 100);
	memset(p, 0xff, 100);
	p = vf_arena_alloc(&a, 4000);
	for (i = 0; i < 4000; i++)
		zero &= p[i] == 0;
	ok(zero, "an allocation is zeroed");
	big = vf_arena_alloc(&a, 1 << 20);
	ok(big[0] == 0 && big[(1 << 20) - 1] == 0, "a large one too");
	ok(((uintptr_t)p & 7) == 0 && ((uintptr_t)big & 7) == 0, "8-byte aligned");

	s1 = vf_arena_strdup(&a, "in a");
	s2 = vf_arena_strdup(&b, "in b");
	for (i = 0; i < 5000; i++)        /* several blocks */
		vf_arena_strdup(&b, "filler filler filler filler");
	vf_arena_merge(&a, &b);
	ok(!b.head && !b.total, "merge empties the source");
	is_str(s1, "in a", "what a had stays");
	is_str(s2, "in b", "what b had lives on in a");
	s3 = vf_arena_strdup(&b, "b again");
	is_str(s3, "b again", "the source can be used again");
	vf_arena_merge(&c, &b);
	is_str(s3, "b again", "merging into an empty arena moves the blocks");
	vf_arena_merge(&c, &b);
	ok(c.head != NULL, "merging an empty arena changes nothing");
	vf_arena_merge(&a, &c);
	is_str(vf_arena_strdup(&a, "after"), "after", "a still allocates after merges");
	vf_arena_release(&a);        /* frees every block once (ASan would say) */
	vf_arena_release(&b);
	vf_arena_release(&c);
	ok(!a.head && !b.head && !c.head, "released");
}

int main(void)
{
	test_vm_fields();
	test_clone_volume();
	test_fields_own_their_strings();
	test_many_nics_and_disks();
	test_arena();
	return tap_done();
}
