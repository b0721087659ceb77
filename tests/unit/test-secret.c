/*
 * Sealed secrets (reconcile/secret.h): key files and their permissions,
 * seal/open round trips, wrong keys, malformed values, VIRTFORM_SECRET_KEY,
 * keyed hashes, wiping; and the loader's side: cloud_init with sealed
 * values, checked for shape without any key.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sodium.h>
#include <unistd.h>

#include "reconcile/model.h"
#include "reconcile/secret.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-secret.XXXXXX";

/*
 * What the memory of a secret holds when it goes back to the system:
 * sodium_free (vf_secret_wipe's) zeroes it, then munmap()s its pages.
 * This binary's munmap is the one libsodium calls: while watch is set,
 * an unmap of the pages that hold it looks at its bytes first (still
 * mapped, so reading them is no use after free) and counts the unmaps.
 */
static struct {
	const unsigned char *p;
	size_t len;
	unsigned unmaps;        /* unmaps of the watched bytes */
	bool zero;              /* they were all zero at the last one */
} watch;

int munmap(void *addr, size_t length)
{
	int (*real)(void *, size_t) = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
	uintptr_t a = (uintptr_t)addr, p = (uintptr_t)watch.p;

	if (watch.p && p >= a && p + watch.len <= a + length) {
		size_t i;
		watch.zero = true;
		for (i = 0; i < watch.len; i++)
			if (((const volatile unsigned char *)watch.p)[i])
				watch.zero = false;
		watch.unmaps++;
	}
	return real(addr, length);
}

static char *path_in(const char *a, const char *b)
{
	return b ? xasprintf("%s/%s/%s", tmpdir, a, b) : xasprintf("%s/%s", tmpdir, a);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t n;
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Does any diagnostic contain needle (in message or hint)? */
static int diags_contain(const struct vf_diags *d, const char *needle)
{
	size_t i;
	for (i = 0; i < d->n; i++)
		if (strstr(d->items[i].message, needle) ||
		    (d->items[i].hint && strstr(d->items[i].hint, needle)))
			return 1;
	return 0;
}

static void show(const struct vf_diags *d)
{
	size_t i;
	for (i = 0; i < d->n; i++)
		printf("#   diag: %s%s%s\n", d->items[i].message, d->items[i].hint ? "; " : "",
		       d->items[i].hint ? d->items[i].hint : "");
}

/* One key pair in tmpdir/NAME; its secret key loaded. */
static struct vf_secret_key *make_key(const char *name, struct vf_public_key *pk)
{
	struct vf_diags d = { 0 };
	char *dir = path_in(name, NULL), *pub = path_in(name, "virtform.pub");
	char *key = path_in(name, "virtform.key");
	struct vf_secret_key *k;

	if (vf_secret_keygen(dir, false, NULL, &d) < 0 || vf_public_key_load(pub, pk, &d) < 0)
		show(&d);
	k = vf_secret_key_load(key, &d);
	if (!k)
		show(&d);
	vf_diags_release(&d);
	free(dir);
	free(pub);
	free(key);
	return k;
}

static void test_keygen(void)
{
	struct vf_diags d = { 0 };
	char *dir = path_in("k1", NULL), *key = path_in("k1", "virtform.key");
	char *pub = path_in("k1", "virtform.pub"), *text, id[VF_SECRET_ID_HEX], id2[VF_SECRET_ID_HEX];
	struct vf_public_key pk;
	int rc;

	rc = vf_secret_keygen(dir, false, id, &d);
	is_int(rc, 0, "keygen writes a key pair");
	is_int(mode_of(dir), 0700, "the missing directory is created 0700");
	is_int(mode_of(key), 0600, "the secret key file is 0600");
	is_int(mode_of(pub), 0644, "the public key file is 0644");
	text = slurp(key);
	ok(text && !strncmp(text, "virtform-sealed-v1 secret ", 26) && strlen(text) == 71,
	   "the secret key file is one line: virtform-sealed-v1 secret BASE64");
	free(text);
	text = slurp(pub);
	ok(text && !strncmp(text, "virtform-sealed-v1 public ", 26),
	   "the public key file says what it is");
	free(text);
	is_int(strlen(id), 16, "the key id is 16 hex digits");
	ok(vf_public_key_load(pub, &pk, &d) == 0 && !strcmp(vf_public_key_id(&pk, id2), id),
	   "the public key file has that id");

	rc = vf_secret_keygen(dir, false, NULL, &d);
	ok(rc < 0 && diags_contain(&d, "already exists") && diags_contain(&d, "--force"),
	   "an existing key pair is not replaced without force");
	vf_diags_release(&d);
	rc = vf_secret_keygen(dir, true, id2, &d);
	ok(rc == 0 && strcmp(id, id2), "force replaces it with a new key");
	is_int(mode_of(key), 0600, "the replaced secret key is 0600 too");
	vf_diags_release(&d);

	free(dir);
	dir = path_in("open", NULL);
	mkdir(dir, 0700);
	chmod(dir, 0777);
	rc = vf_secret_keygen(dir, false, NULL, &d);
	ok(rc < 0 && diags_contain(&d, "writable by group and others"),
	   "a world-writable directory is refused");
	vf_diags_release(&d);
	chmod(dir, 0770);
	rc = vf_secret_keygen(dir, false, NULL, &d);
	ok(rc < 0 && diags_contain(&d, "writable by its group"), "a group-writable one too");
	vf_diags_release(&d);
	free(dir);
	free(key);
	free(pub);
}

static void test_round_trip(void)
{
	struct vf_diags d = { 0 };
	struct vf_public_key pk, pk2;
	struct vf_secret_key *k = make_key("rt", &pk), *k2 = make_key("rt2", &pk2);
	static const unsigned char binary[] = { 'a', 0, 'b', '\n', 0xff, 0 };
	struct vf_secret_ref ref = { NULL, { "cfg.yaml", 7, 19 } };
	struct vf_secret s = { 0 };
	char *sealed, *sealed2;
	int rc;

	ok(k && k2, "secret keys load");
	if (!k || !k2)
		return;
	ok(!memcmp(vf_secret_key_public(k)->bytes, pk.bytes, sizeof(pk.bytes)),
	   "the secret key's public half is the public key file's");

	sealed = vf_secret_seal(&pk, "hunter2", 7);
	sealed2 = vf_secret_seal(&pk, "hunter2", 7);
	ok(sealed && sealed2 && strcmp(sealed, sealed2), "sealing one text twice gives two values");
	ok(!vf_sealed_check(sealed), "a sealed value has the right shape");
	ok(!strstr(sealed, "hunter2"), "the clear text is not in the sealed value");

	ref.sealed = sealed;
	rc = vf_secret_open(k, &ref, "vm 'web1': password", &s, &d);
	ok(rc == 0 && s.len == 7 && !memcmp(s.data, "hunter2", 7) && s.data[7] == '\0',
	   "open gives the clear text back, NUL-terminated");
	watch.p = s.data;
	watch.len = s.len;
	vf_secret_wipe(&s);
	ok(!s.data && !s.len, "wipe clears the secret");
	ok(watch.unmaps == 1 && watch.zero,
	   "its memory held zeroes, not the clear text, when it was unmapped (%u unmap)",
	   watch.unmaps);
	vf_secret_wipe(&s);
	ok(!s.data && !s.len && watch.unmaps == 1,
	   "wiping twice is harmless: nothing is freed again");
	watch.p = NULL;

	/* binary-safe */
	free(sealed2);
	sealed2 = vf_secret_seal(&pk, binary, sizeof(binary));
	ref.sealed = sealed2;
	rc = vf_secret_open(k, &ref, "x", &s, &d);
	ok(rc == 0 && s.len == sizeof(binary) && !memcmp(s.data, binary, sizeof(binary)),
	   "NUL and non-UTF-8 bytes survive");
	vf_secret_wipe(&s);

	/* the wrong key */
	ref.sealed = sealed;
	rc = vf_secret_open(k2, &ref, "vm 'web1': password", &s, &d);
	ok(rc < 0 && !s.data, "another key cannot open it");
	ok(d.n == 1 && d.items[0].pos.line == 7 && d.items[0].pos.col == 19 &&
	   !strcmp(d.items[0].pos.file, "cfg.yaml"), "the error is at the field's FILE:LINE:COL");
	ok(diags_contain(&d, "vm 'web1': password: cannot open the sealed value: it was sealed for another key"),
	   "and says what happened");
	ok(!diags_contain(&d, "hunter2"), "without the clear text");
	show(&d);
	vf_diags_release(&d);

	/* altered in transit */
	sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
	rc = vf_secret_open(k, &ref, "f", &s, &d);
	ok(rc < 0 && diags_contain(&d, "or altered"), "an altered value does not open");
	vf_diags_release(&d);

	free(sealed);
	free(sealed2);
	vf_secret_key_free(k);
	vf_secret_key_free(k2);
}

static void test_malformed(void)
{
	struct vf_diags d = { 0 };
	struct vf_public_key pk;
	struct vf_secret_key *k = make_key("mf", &pk);
	struct vf_secret_ref ref = { "not base64!", { "c.yaml", 3, 4 } };
	struct vf_secret s;
	const char *why;
	char *sealed;

	why = vf_sealed_check("not base64!");
	ok(why && strstr(why, "not base64"), "'not base64!' is not base64");
	why = vf_sealed_check("");
	ok(why && strstr(why, "empty"), "an empty value is refused");
	why = vf_sealed_check("QUJD");
	ok(why && strstr(why, "too short"), "three bytes cannot be a sealed value");
	why = vf_sealed_check("QUJ");
	ok(why != NULL, "missing padding is refused");
	sealed = vf_secret_seal(&pk, "x", 1);
	{
		/* folded over lines, as a long YAML scalar may be */
		char *spaced = xasprintf("%.20s \n %s", sealed, sealed + 20);
		ok(!vf_sealed_check(spaced), "white space inside is ignored");
		free(spaced);
	}
	ok(vf_secret_open(k, &ref, "user_data", &s, &d) < 0 && diags_contain(&d, "user_data: the sealed value is not base64") &&
	   d.items[0].pos.line == 3, "open reports a malformed value at its position");
	vf_diags_release(&d);
	free(sealed);
	vf_secret_key_free(k);
}

static void test_key_files(void)
{
	struct vf_diags d = { 0 };
	struct vf_public_key pk;
	struct vf_secret_key *k = make_key("perm", &pk), *k2;
	char *key = path_in("perm", "virtform.key"), *pub = path_in("perm", "virtform.pub");
	char *text = slurp(key), *b64 = text ? strrchr(text, ' ') + 1 : NULL;
	static const mode_t bad[] = { 0640, 0604, 0644, 0660, 0601 };
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(bad); i++) {
		chmod(key, bad[i]);
		k2 = vf_secret_key_load(key, &d);
		ok(!k2 && diags_contain(&d, "must be private") && diags_contain(&d, "chmod 600"),
		   "a secret key file with mode %04o is refused", (unsigned)bad[i]);
		vf_secret_key_free(k2);
		vf_diags_release(&d);
	}
	chmod(key, 0400);
	k2 = vf_secret_key_load(key, &d);
	ok(k2 != NULL, "mode 0400 is fine");
	vf_secret_key_free(k2);
	chmod(key, 0600);

	k2 = vf_secret_key_load(pub, &d);
	ok(!k2 && diags_contain(&d, "must be private"), "the public key file (0644) as a secret key: refused for its mode");
	vf_diags_release(&d);
	chmod(pub, 0600);
	k2 = vf_secret_key_load(pub, &d);
	ok(!k2 && diags_contain(&d, "this is a public key, not a secret key"), "and then for what it is");
	vf_diags_release(&d);
	ok(vf_public_key_load(key, &pk, &d) < 0 && diags_contain(&d, "this is a secret key, not a public key"),
	   "a secret key given as the public key is named as such");
	ok(b64 && !diags_contain(&d, b64), "without showing it");
	vf_diags_release(&d);

	k2 = vf_secret_key_load("/nonexistent/virtform.key", &d);
	ok(!k2 && diags_contain(&d, "cannot open the secret key: No such file"), "a missing key file");
	vf_diags_release(&d);

	/* VIRTFORM_SECRET_KEY */
	unsetenv(VF_SECRET_KEY_ENV);
	k2 = vf_secret_key_find(NULL, &d);
	ok(!k2 && diags_contain(&d, "no secret key was given") && diags_contain(&d, "--secret-key FILE"),
	   "no --secret-key and no variable: an error saying how to give one");
	vf_diags_release(&d);
	setenv(VF_SECRET_KEY_ENV, text, 1);
	k2 = vf_secret_key_find(NULL, &d);
	ok(k2 && !memcmp(vf_secret_key_public(k2)->bytes, vf_secret_key_public(k)->bytes, 32),
	   "VIRTFORM_SECRET_KEY holds the key text");
	{
		char *sealed = vf_secret_seal(&pk, "abc", 3);
		struct vf_secret_ref ref = { sealed, { "f", 1, 1 } };
		struct vf_secret s;
		ok(k2 && vf_secret_open(k2, &ref, "f", &s, &d) == 0 && s.len == 3,
		   "and opens what was sealed to it");
		if (k2)
			vf_secret_wipe(&s);
		free(sealed);
	}
	vf_secret_key_free(k2);
	setenv(VF_SECRET_KEY_ENV, key, 1);
	k2 = vf_secret_key_find(NULL, &d);
	ok(!k2 && diags_contain(&d, "names a file") && diags_contain(&d, "--secret-key FILE"),
	   "a file name in VIRTFORM_SECRET_KEY is pointed out");
	vf_diags_release(&d);
	setenv(VF_SECRET_KEY_ENV, "virtform-sealed-v1 secret AAAA", 1);
	k2 = vf_secret_key_find(NULL, &d);
	ok(!k2 && diags_contain(&d, "wrong length") && d.items[0].pos.file &&
	   !strcmp(d.items[0].pos.file, VF_SECRET_KEY_ENV), "a short key in the variable: named by the variable");
	vf_diags_release(&d);
	setenv(VF_SECRET_KEY_ENV, "hunter2-is-not-a-key", 1);
	k2 = vf_secret_key_find(NULL, &d);
	ok(!k2 && diags_contain(&d, "not a virtform key") && !diags_contain(&d, "hunter2"),
	   "garbage in the variable: refused without quoting it");
	vf_diags_release(&d);
	k2 = vf_secret_key_find(key, &d);
	ok(k2 != NULL, "--secret-key FILE wins over the variable");
	vf_secret_key_free(k2);
	unsetenv(VF_SECRET_KEY_ENV);

	free(text);
	free(key);
	free(pub);
	vf_secret_key_free(k);
}

static void test_hash(void)
{
	struct vf_diags d = { 0 };
	struct vf_public_key pk, pk2;
	struct vf_secret_key *k = make_key("h1", &pk), *k2 = make_key("h2", &pk2);
	char *a1 = vf_secret_seal(&pk, "pw-one", 6), *a2 = vf_secret_seal(&pk, "pw-one", 6);
	char *b = vf_secret_seal(&pk, "pw-two", 6), *c = vf_secret_seal(&pk2, "pw-one", 6);
	struct vf_secret_ref r1 = { a1, { "f", 1, 1 } }, r2 = { a2, { "f", 2, 1 } };
	struct vf_secret_ref rb = { b, { "f", 3, 1 } }, rc = { c, { "f", 4, 1 } };
	char h1[VF_SECRET_HASH_HEX], h2[VF_SECRET_HASH_HEX], hb[VF_SECRET_HASH_HEX];
	char hc[VF_SECRET_HASH_HEX], hx[VF_SECRET_HASH_HEX];

	ok(vf_secret_hash_sealed(k, &r1, "f", "ops.password", h1, &d) == 0 &&
	   vf_secret_hash_sealed(k, &r2, "f", "ops.password", h2, &d) == 0,
	   "hashing sealed values");
	ok(strcmp(a1, a2) && !strcmp(h1, h2),
	   "equal clear texts sealed twice: different ciphertexts, equal keyed hashes");
	is_int(strlen(h1), 64, "a hash is 64 hex digits");
	ok(vf_secret_hash_sealed(k, &rb, "f", "ops.password", hb, &d) == 0 && strcmp(h1, hb),
	   "a different clear text hashes differently");
	ok(vf_secret_hash_sealed(k2, &rc, "f", "ops.password", hc, &d) == 0 && strcmp(h1, hc),
	   "the same clear text under another key hashes differently");
	ok(vf_secret_hash_sealed(k, &r1, "f", "dev.password", hx, &d) == 0 && strcmp(h1, hx),
	   "and in another context (field)");
	{
		unsigned char plain[32];
		char hp[65];
		size_t i;
		crypto_generichash(plain, sizeof(plain), (const unsigned char *)"pw-one", 6, NULL, 0);
		for (i = 0; i < 32; i++)
			sprintf(hp + 2 * i, "%02x", plain[i]);
		ok(strcmp(h1, hp), "the hash is not an unkeyed BLAKE2b of the clear text");
	}
	ok(vf_secret_hash_sealed(k2, &r1, "ops.password", "ctx", hx, &d) < 0 &&
	   diags_contain(&d, "ops.password: cannot open"), "hashing with the wrong key fails like opening");
	vf_diags_release(&d);
	free(a1);
	free(a2);
	free(b);
	free(c);
	vf_secret_key_free(k);
	vf_secret_key_free(k2);
}

/* In a child: a fault exits 42, whoever else (ASan) handles SIGSEGV. */
static void on_fault(int sig)
{
	(void)sig;
	_exit(42);
}

static void catch_faults(void)
{
	signal(SIGSEGV, on_fault);
	signal(SIGBUS, on_fault);
}

/* After wipe the memory is gone: sodium_free unmaps it, a read faults. */
static void test_freed(void)
{
	struct vf_diags d = { 0 };
	struct vf_public_key pk;
	struct vf_secret_key *k = make_key("fr", &pk);
	char *sealed = vf_secret_seal(&pk, "gone", 4);
	struct vf_secret_ref ref = { sealed, { "f", 1, 1 } };
	struct vf_secret s;
	const volatile unsigned char *p;
	int status = 0;
	pid_t pid;

	if (vf_secret_open(k, &ref, "f", &s, &d) < 0)
		show(&d);
	p = s.data;
	pid = fork();
	if (pid == 0) {
		/* read-only: a write faults */
		catch_faults();
		((volatile unsigned char *)p)[0] = 'x';
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 42, "an opened secret is read-only");
	vf_secret_wipe(&s);
	pid = fork();
	if (pid == 0) {
		volatile unsigned char c;
		catch_faults();
		c = p[0];
		(void)c;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 42,
	   "a wiped secret's memory is gone (sodium_free'd: reading it faults)");
	free(sealed);
	vf_secret_key_free(k);
}

static void test_load(void)
{
	struct vf_diags d = { 0 };
	struct vf_public_key pk;
	struct vf_secret_key *k = make_key("ld", &pk);
	char *sealed = vf_secret_seal(&pk, "s3cret-pw", 9), *text, *path;
	struct vf_config *c;
	const struct vf_cloud_init *ci;
	FILE *f;

	text = xasprintf(
		"version: 1\n"
		"clusters: [{name: prod}]\n"
		"hosts: [{name: h1, uri: 'qemu:///system'}]\n"
		"vms:\n"
		"  - name: web1\n"
		"    cpus: 1\n"
		"    memory: 512MiB\n"
		"    cloud_init:\n"
		"      users:\n"
		"        - name: ops\n"
		"          ssh_authorized_keys: ['ssh-ed25519 AAAAC3Nza ops@example']\n"
		"          password: {sealed: \"%s\"}\n"
		"          sudo: 'ALL=(ALL) NOPASSWD:ALL'\n"
		"          shell: /bin/bash\n"
		"      network_config:\n"
		"        version: 2\n"
		"        ethernets: {eth0: {dhcp4: true, mtu: 1500, addresses: ['10.0.0.2/24'], x: ~, y: '1'}}\n"
		"  - name: web2\n"
		"    cpus: 1\n"
		"    memory: 512MiB\n"
		"    cloud_init:\n"
		"      hostname: web-two.example.org\n"
		"      user_data:\n"
		"        sealed: %s\n"
		"  - name: web3\n"
		"    cpus: 1\n"
		"    memory: 512MiB\n",
		sealed, sealed);
	path = path_in("cfg.yaml", NULL);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	c = vf_config_load(path, &d);
	ok(c != NULL, "a configuration with cloud_init and sealed values loads without a key");
	show(&d);
	if (!c)
		goto out;
	ci = &c->vms[0].cloud_init;
	ok(ci->given && ci->n_users == 1 && !strcmp(ci->users[0].name, "ops"), "users");
	is_str(ci->hostname, "web1", "hostname defaults to the vm's name");
	ok(ci->users[0].n_ssh_authorized_keys == 1 &&
	   !strcmp(ci->users[0].ssh_authorized_keys[0], "ssh-ed25519 AAAAC3Nza ops@example"),
	   "ssh_authorized_keys");
	is_str(ci->users[0].password.sealed, sealed, "the sealed password is kept as base64");
	ok(ci->users[0].password.pos.line == 12 && ci->users[0].password.pos.col == 21,
	   "at the position of its {sealed: ...}");
	is_str(ci->users[0].sudo, "ALL=(ALL) NOPASSWD:ALL", "sudo");
	is_str(ci->users[0].shell, "/bin/bash", "shell");
	is_str(ci->network_config,
	       "{\"version\":2,\"ethernets\":{\"eth0\":{\"dhcp4\":true,\"mtu\":1500,"
	       "\"addresses\":[\"10.0.0.2/24\"],\"x\":null,\"y\":\"1\"}}}",
	       "network_config becomes JSON, types the YAML 1.2 way, keys in order");
	ci = &c->vms[1].cloud_init;
	is_str(ci->hostname, "web-two.example.org", "hostname");
	ok(!ci->user_data && ci->user_data_sealed.sealed && !strcmp(ci->user_data_sealed.sealed, sealed) &&
	   ci->user_data_sealed.pos.line == 24, "sealed user_data");
	ok(!c->vms[2].cloud_init.given, "no cloud_init: given is false");
	{
		struct vf_secret s;
		ok(vf_secret_open(k, &c->vms[0].cloud_init.users[0].password, "password", &s, &d) == 0 &&
		   s.len == 9 && !memcmp(s.data, "s3cret-pw", 9), "the loaded sealed password opens");
		vf_secret_wipe(&s);
	}
	vf_config_free(c);
out:
	vf_diags_release(&d);
	unlink(path);
	free(path);
	free(text);
	free(sealed);
	vf_secret_key_free(k);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	ok(vf_secret_init() == 0 && vf_secret_init() == 0, "libsodium initializes, once or twice");
	test_keygen();
	test_round_trip();
	test_malformed();
	test_key_files();
	test_hash();
	test_freed();
	test_load();
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove the scratch directory");
		free(cmd);
	}
	return tap_done();
}
