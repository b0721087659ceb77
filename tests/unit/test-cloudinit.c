/*
 * The cloud-init seed (reconcile/cloudinit.h): the hash the planner
 * compares (plain part, keyed sealed part, "unopened" without a key), the
 * three NoCloud files for a config (meta-data, a #cloud-config user-data
 * whose $6$ hash crypt(3) verifies against the sealed password,
 * network-config), sealed user_data, a missing or wrong key at the
 * field's position; and the ISO 9660 image read back with libisofs's
 * reading API from the memory buffer: volume id cidata, Rock Ridge and
 * Joliet, the three files with their content, no clear password anywhere
 * in its bytes; and libisofs refusing a file: an error, every clear copy
 * wiped once and none touched after libisofs freed it (run it under ASan:
 * make asan).
 */
#include <crypt.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>
#include <sodium.h>

#include "reconcile/cloudinit.h"
#include "reconcile/secret.h"
#include "tests/tap.h"

#define PASSWORD "Tr0ub4dor&3-cidata"

static char tmpdir[] = "/tmp/vf-test-cloudinit.XXXXXX";

/*
 * libisofs refuses a file only for what virtform never gives it (a name
 * taken, no memory): the failure comes from here.  iso_image_add_new_file
 * fails for the file named fail_add; the binary's definition is the one
 * libvirtform.a's calls reach, the library's is called otherwise.
 */
static const char *fail_add;
static size_t n_wiped;

int iso_image_add_new_file(IsoImage *image, IsoDir *parent, const char *name,
			   IsoStream *stream, IsoFile **file)
{
	int (*real)(IsoImage *, IsoDir *, const char *, IsoStream *, IsoFile **) =
		(int (*)(IsoImage *, IsoDir *, const char *, IsoStream *, IsoFile **))
		dlsym(RTLD_NEXT, "iso_image_add_new_file");

	if (fail_add && !strcmp(name, fail_add))
		return ISO_OUT_OF_MEM;
	return real(image, parent, name, stream, file);
}

/*
 * sodium_munlock zeroes what it unlocks, in libsodium (not instrumented):
 * the same zeroes written here first, where ASan sees a write to memory
 * already freed.
 */
int sodium_munlock(void *const addr, const size_t len)
{
	int (*real)(void *const, const size_t) =
		(int (*)(void *const, const size_t))dlsym(RTLD_NEXT, "sodium_munlock");

	memset(addr, 0, len);
	n_wiped++;
	return real(addr, len);
}

static int diags_contain(const struct vf_diags *d, const char *needle)
{
	size_t i;
	for (i = 0; i < d->n; i++)
		if (strstr(d->items[i].message, needle) ||
		    (d->items[i].hint && strstr(d->items[i].hint, needle)))
			return 1;
	return 0;
}

/* ---- reading an ISO image from memory with libisofs ---- */

struct membuf {
	const unsigned char *p;
	size_t len;
};

static int mem_open(IsoDataSource *src) { (void)src; return 1; }
static int mem_close(IsoDataSource *src) { (void)src; return 1; }
static void mem_free(IsoDataSource *src) { (void)src; }

static int mem_read_block(IsoDataSource *src, uint32_t lba, uint8_t *buffer)
{
	const struct membuf *m = src->data;
	size_t off = (size_t)lba * 2048;

	if (off + 2048 > m->len)
		return ISO_DATA_SOURCE_FAILURE;
	memcpy(buffer, m->p + off, 2048);
	return 1;
}

/* The content of /NAME in image (malloc'd, NUL-terminated), or NULL. */
static char *iso_file_text(IsoImage *image, const char *name)
{
	char path[64];
	IsoNode *node;
	IsoStream *stream;
	char *buf;
	off_t size;
	int n;

	snprintf(path, sizeof(path), "/%s", name);
	if (iso_tree_path_to_node(image, path, &node) != 1 || iso_node_get_type(node) != LIBISO_FILE)
		return NULL;
	stream = iso_file_get_stream((IsoFile *)node);
	size = iso_stream_get_size(stream);
	buf = calloc(1, (size_t)size + 1);
	if (iso_stream_open(stream) < 0)
		return NULL;
	n = iso_stream_read(stream, buf, (size_t)size);
	iso_stream_close(stream);
	if (n != size) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int count_children(IsoImage *image)
{
	return iso_dir_get_children_count(iso_image_get_root(image));
}

static const struct vf_secret_key *key;
static struct vf_public_key pk;

static struct vf_pos at(unsigned line, unsigned col)
{
	struct vf_pos p = { "cloud.yaml", line, col };
	return p;
}

int main(void)
{
	struct vf_diags d = { 0 };
	struct vf_cloudinit_files files;
	struct vf_secret iso = { 0 };
	struct vf_secret_key *k, *other;
	char *keyfile, *error = NULL, hash[VF_SEED_HASH_MAX], hash2[VF_SEED_HASH_MAX],
		hash3[VF_SEED_HASH_MAX], *sealed, *sealed2;
	const char *keys[] = { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@desk" };
	struct vf_cloud_init_user user = {
		.name = "ops", .ssh_authorized_keys = keys, .n_ssh_authorized_keys = 1,
		.sudo = "ALL=(ALL) NOPASSWD:ALL", .shell = "/bin/bash",
	};
	struct vf_vm vm = { .name = "web1" };
	int rc;

	if (!mkdtemp(tmpdir))
		return 1;
	rc = vf_secret_keygen(tmpdir, false, NULL, &d);
	keyfile = xasprintf("%s/%s", tmpdir, VF_SECRET_KEY_FILE);
	k = vf_secret_key_load(keyfile, &d);
	ok(rc == 0 && k != NULL, "a key pair for the test");
	key = k;
	pk = *vf_secret_key_public(k);
	sealed = vf_secret_seal(&pk, PASSWORD, strlen(PASSWORD));
	sealed2 = vf_secret_seal(&pk, PASSWORD, strlen(PASSWORD));

	user.password.sealed = sealed;
	user.password.pos = at(9, 21);
	vm.cloud_init.given = true;
	vm.cloud_init.pos = at(4, 5);
	vm.cloud_init.hostname = "web1.lab";
	vm.cloud_init.users = &user;
	vm.cloud_init.n_users = 1;
	vm.cloud_init.network_config = "{\"version\":2,\"ethernets\":{\"eth0\":{\"dhcp4\":true}}}";

	/* ---- the hash ---- */
	ok(vf_config_has_sealed(&(struct vf_config){ .vms = &vm, .n_vms = 1 }),
	   "a sealed password is a sealed value of the config");
	rc = vf_cloudinit_hash(&vm, key, hash, &d);
	ok(rc == 0 && strlen(hash) == 33 && hash[16] == '+', "with the key: PLAIN+SEALED (%s)", hash);
	user.password.sealed = sealed2;
	rc = vf_cloudinit_hash(&vm, key, hash2, &d);
	ok(rc == 0 && !strcmp(hash, hash2), "sealing the same password again changes nothing");
	{
		char *another = vf_secret_seal(&pk, "another", 7);
		user.password.sealed = another;
		rc = vf_cloudinit_hash(&vm, key, hash3, &d);
		ok(rc == 0 && !strncmp(hash, hash3, 17) && strcmp(hash + 17, hash3 + 17),
		   "another password: only the sealed part changes");
		free(another);
	}
	user.password.sealed = sealed;
	rc = vf_cloudinit_hash(&vm, NULL, hash3, &d);
	ok(rc == 0 && !strncmp(hash, hash3, 17) && !strcmp(hash3 + 17, "unopened"),
	   "without a key: PLAIN+unopened");
	vm.cloud_init.hostname = "web2.lab";
	vf_cloudinit_hash(&vm, key, hash3, &d);
	ok(strncmp(hash, hash3, 16) && !strcmp(hash + 17, hash3 + 17),
	   "another hostname: only the plain part changes");
	vm.cloud_init.hostname = "web1.lab";
	ok(!strstr(hash, PASSWORD), "the hash is not the password");

	/* ---- the files ---- */
	rc = vf_cloudinit_files_build(&vm, key, &files, &d);
	ok(rc == 0 && d.n_errors == 0, "the seed files build");
	{
		const char *meta = (const char *)files.meta_data.data;
		const char *ud = (const char *)files.user_data.data;
		const char *net = (const char *)files.network_config.data;
		const char *p;
		char pw[200] = "";
		size_t n;
		ok(meta && strstr(meta, "instance-id: \"iid-web1-") &&
		   strstr(meta, "local-hostname: \"web1.lab\"\n"), "meta-data: instance-id and local-hostname");
		ok(ud && !strncmp(ud, "#cloud-config\n", 14), "user-data is #cloud-config");
		ok(ud && strstr(ud, "hostname: \"web1.lab\"\n") && strstr(ud, "  - name: \"ops\"\n") &&
		   strstr(ud, "ssh_authorized_keys:\n      - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@desk\"\n") &&
		   strstr(ud, "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n") && strstr(ud, "    shell: \"/bin/bash\"\n") &&
		   strstr(ud, "    lock_passwd: false\n"), "user-data: hostname, the user, keys, sudo, shell");
		p = ud ? strstr(ud, "passwd: \"$6$") : NULL;
		ok(p != NULL, "user-data: a SHA-512 crypt hash");
		if (p) {
			p += strlen("passwd: \"");
			n = strcspn(p, "\"");
			memcpy(pw, p, n < sizeof(pw) ? n : sizeof(pw) - 1);
		}
		ok(strlen(pw) > 20 && !strcmp(crypt(PASSWORD, pw), pw), "crypt(3) verifies it against the password");
		ok(strcmp(crypt("wrong", pw), pw), "and not against another");
		ok(!strstr(ud, PASSWORD), "no clear password in the user-data");
		ok(net && !strcmp(net, "{\"version\":2,\"ethernets\":{\"eth0\":{\"dhcp4\":true}}}\n"),
		   "network-config as given");

		/* ---- the ISO ---- */
		rc = vf_cloudinit_iso(&files, &iso, &error);
		ok(rc == 0 && iso.len >= 32768 && iso.len % 2048 == 0, "the ISO builds in memory (%zu bytes)",
		   iso.len);
		ok(iso.data && !memcmp(iso.data + 32769, "CD001", 5), "ISO 9660 primary volume descriptor");
		ok(iso.data && !memmem(iso.data, iso.len, PASSWORD, strlen(PASSWORD)),
		   "no clear password in the ISO bytes");
		if (iso.data) {
			struct membuf m = { iso.data, iso.len };
			IsoDataSource src = {
				.version = 0, .refcount = 1, .open = mem_open, .close = mem_close,
				.read_block = mem_read_block, .free_data = mem_free, .data = &m,
			};
			IsoImage *image = NULL;
			IsoReadOpts *ropts = NULL;
			IsoReadImageFeatures *features = NULL;
			char *t;
			iso_init();
			iso_image_new("check", &image);
			iso_read_opts_new(&ropts, 0);
			rc = iso_image_import(image, &src, ropts, &features);
			ok(rc >= 0, "libisofs reads the image back");
			/* ISO 9660 allows upper case only; Joliet keeps "cidata", which
			 * blkid reports (cloud-init accepts both) */
			ok(!memcmp(iso.data + 32768 + 40, "CIDATA  ", 8), "volume id CIDATA (primary descriptor)");
			ok(iso.data[32768 + 2048] == 2 &&
			   !memcmp(iso.data + 32768 + 2048 + 40, "\0c\0i\0d\0a\0t\0a", 12),
			   "volume id cidata (Joliet descriptor)");
			ok(features && iso_read_image_features_has_rockridge(features) &&
			   iso_read_image_features_has_joliet(features), "Rock Ridge and Joliet");
			ok(count_children(image) == 3, "three files in the root");
			t = iso_file_text(image, "meta-data");
			ok(t && !strcmp(t, meta), "meta-data read back");
			free(t);
			t = iso_file_text(image, "user-data");
			ok(t && !strcmp(t, ud), "user-data read back, with the hash");
			free(t);
			t = iso_file_text(image, "network-config");
			ok(t && !strcmp(t, net), "network-config read back");
			free(t);
			if (features)
				iso_read_image_features_destroy(features);
			iso_read_opts_free(ropts);
			iso_image_unref(image);
		}
		vf_secret_wipe(&iso);
	}
	/* ---- libisofs refuses a file: each copy wiped, none after it is freed ---- */
	{
		static const char *const names[] = { "meta-data", "user-data", "network-config" };
		size_t i;
		for (i = 0; i < 3; i++) {
			fail_add = names[i];
			n_wiped = 0;
			free(error);
			error = NULL;
			memset(&iso, 0, sizeof(iso));
			rc = vf_cloudinit_iso(&files, &iso, &error);
			ok(rc < 0 && !iso.data && error &&
			   strstr(error, "cannot add ") && strstr(error, names[i]) &&
			   n_wiped == i + 1,
			   "libisofs refusing %s: an error naming it, the %zu copies made wiped "
			   "once each (%zu)", names[i], i + 1, n_wiped);
		}
		fail_add = NULL;
		free(error);
		error = NULL;
		rc = vf_cloudinit_iso(&files, &iso, &error);
		ok(rc == 0 && iso.data, "and the next image builds");
		vf_secret_wipe(&iso);
	}
	vf_cloudinit_files_release(&files);
	ok(!files.user_data.data, "release wipes the files");
	free(error);
	error = NULL;

	/* ---- sealed user_data; plain user_data ---- */
	{
		const char *text = "#cloud-config\nchpasswd: {list: \"root:" PASSWORD "\"}\n";
		struct vf_vm vm2 = { .name = "db1" };
		char *s = vf_secret_seal(&pk, text, strlen(text));
		vm2.cloud_init.given = true;
		vm2.cloud_init.user_data_sealed.sealed = s;
		vm2.cloud_init.user_data_sealed.pos = at(20, 18);
		rc = vf_cloudinit_files_build(&vm2, key, &files, &d);
		ok(rc == 0 && files.user_data.len == strlen(text) &&
		   !memcmp(files.user_data.data, text, files.user_data.len),
		   "sealed user_data is opened into the user-data");
		ok(NULL != strstr((const char *)files.meta_data.data, "local-hostname: \"db1\""),
		   "the hostname defaults to the VM's name");
		ok(!files.network_config.data, "no network-config when none is given");
		vf_cloudinit_files_release(&files);

		/* without a key: an error at the field */
		vf_diags_release(&d);
		rc = vf_cloudinit_files_build(&vm2, NULL, &files, &d);
		ok(rc < 0 && d.n_errors == 1 && d.items[0].pos.line == 20 && d.items[0].pos.col == 18 &&
		   diags_contain(&d, "vm 'db1': cloud_init: user_data: cannot open the sealed value: no secret key") &&
		   diags_contain(&d, "--secret-key"), "no key: an error at the sealed value's position");
		vf_diags_release(&d);

		/* another key: an error at the field, nothing built */
		rc = vf_secret_keygen(tmpdir, true, NULL, &d);
		other = vf_secret_key_load(keyfile, &d);
		rc = vf_cloudinit_files_build(&vm, other, &files, &d);
		ok(rc < 0 && d.n_errors >= 1 && d.items[0].pos.line == 9 && d.items[0].pos.col == 21 &&
		   diags_contain(&d, "vm 'web1': cloud_init: user 'ops': password: cannot open the sealed value"),
		   "a wrong key: an error at the password's FILE:LINE:COL");
		ok(!files.user_data.data && !files.meta_data.data, "and nothing is built");
		ok(!diags_contain(&d, PASSWORD), "no message holds the password");
		vf_diags_release(&d);
		vf_secret_key_free(other);
		free(s);
	}

	vf_secret_key_free(k);
	free(sealed);
	free(sealed2);
	{
		char *cmd = xasprintf("rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove the temporary directory");
		free(cmd);
	}
	free(keyfile);
	return tap_done();
}
