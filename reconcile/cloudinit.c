/*
 * cloudinit.c — the NoCloud seed of a VM (cloudinit.h): its hash, its
 * three files and the ISO 9660 image holding them, all in memory.
 *
 * Every buffer that may hold a clear text (a sealed user-data, the files,
 * the image) is sodium_malloc'd and wiped on release; a clear password
 * only lives between vf_secret_open() and crypt_r(), whose work area is
 * sodium_malloc'd too.  Nothing here writes a file or prints.
 */
#include <crypt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* libburn is not used: libisofs declares struct burn_source itself */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>
#include <sodium.h>

#include "reconcile/cloudinit.h"
#include "reconcile/util.h"

/* ---- the run's key ---- */

static const struct vf_secret_key *run_key;
static bool run_key_required;

void vf_cloudinit_set_key(const struct vf_secret_key *key, bool required)
{
	run_key = key;
	run_key_required = required;
}

const struct vf_secret_key *vf_cloudinit_key(void)
{
	return run_key;
}

bool vf_cloudinit_key_required(void)
{
	return run_key_required;
}

bool vf_cloud_init_has_sealed(const struct vf_cloud_init *ci)
{
	size_t i;

	if (!ci->given)
		return false;
	if (ci->user_data_sealed.sealed)
		return true;
	for (i = 0; i < ci->n_users; i++)
		if (ci->users[i].password.sealed)
			return true;
	return false;
}

bool vf_config_has_sealed(const struct vf_config *c)
{
	size_t i;

	for (i = 0; i < c->n_vms; i++)
		if (vf_cloud_init_has_sealed(&c->vms[i].cloud_init) ||
		    c->vms[i].graphics_password.sealed)
			return true;
	for (i = 0; i < c->n_storages; i++)
		if (c->storages[i].chap_secret.sealed)
			return true;   /* an iSCSI CHAP secret */
	return false;
}

/* ---- the hash ---- */

static void hash_item(crypto_generichash_state *st, const char *tag, const char *value)
{
	crypto_generichash_update(st, (const unsigned char *)tag, strlen(tag) + 1);
	if (value)
		crypto_generichash_update(st, (const unsigned char *)value, strlen(value) + 1);
}

static void hash_hex(crypto_generichash_state *st, char out[17])
{
	unsigned char h[8];

	crypto_generichash_final(st, h, sizeof(h));
	sodium_bin2hex(out, 17, h, sizeof(h));
}

/* The field's name in messages and the keyed hash's context. */
static char *password_what(const struct vf_vm *vm, const struct vf_cloud_init_user *u)
{
	return xasprintf("vm '%s': cloud_init: user '%s': password", vm->name, u->name);
}

static char *user_data_what(const struct vf_vm *vm)
{
	return xasprintf("vm '%s': cloud_init: user_data", vm->name);
}

static void no_key(struct vf_diags *d, const struct vf_secret_ref *ref, const char *what)
{
	vf_error_at(d, &ref->pos,
		    "give the secret key with --secret-key FILE or VIRTFORM_SECRET_KEY "
		    "(docs/secrets.md)",
		    "%s: cannot open the sealed value: no secret key was given", what);
}

/* The keyed hash of one sealed value, fed into st.  0 or -1. */
static int hash_sealed(crypto_generichash_state *st, const struct vf_secret_key *key,
		       const struct vf_secret_ref *ref, char *what, struct vf_diags *d)
{
	char hex[VF_SECRET_HASH_HEX];
	int rc;

	/* the context is the field's name: equal passwords of two users or
	 * two VMs hash differently */
	rc = vf_secret_hash_sealed(key, ref, what, what, hex, d);
	if (rc == 0)
		hash_item(st, "sealed", hex);
	free(what);
	return rc;
}

int vf_cloudinit_hash(const struct vf_vm *vm, const struct vf_secret_key *key,
		      char out[VF_SEED_HASH_MAX], struct vf_diags *d)
{
	const struct vf_cloud_init *ci = &vm->cloud_init;
	crypto_generichash_state plain, sealed;
	char p[17], s[17];
	size_t i, j, n_sealed = 0;
	int rc = 0;

	vf_secret_init();
	crypto_generichash_init(&plain, NULL, 0, 8);
	crypto_generichash_init(&sealed, NULL, 0, 8);
	hash_item(&plain, "v1", NULL);
	hash_item(&plain, "hostname", ci->hostname ? ci->hostname : vm->name);
	for (i = 0; i < ci->n_users; i++) {
		const struct vf_cloud_init_user *u = &ci->users[i];
		hash_item(&plain, "user", u->name);
		for (j = 0; j < u->n_ssh_authorized_keys; j++)
			hash_item(&plain, "key", u->ssh_authorized_keys[j]);
		if (u->sudo)
			hash_item(&plain, "sudo", u->sudo);
		if (u->shell)
			hash_item(&plain, "shell", u->shell);
		if (u->password.sealed) {
			hash_item(&plain, "password", NULL);
			n_sealed++;
			if (key && hash_sealed(&sealed, key, &u->password, password_what(vm, u), d) < 0)
				rc = -1;
		}
	}
	if (ci->user_data)
		hash_item(&plain, "user_data", ci->user_data);
	if (ci->user_data_sealed.sealed) {
		hash_item(&plain, "user_data_sealed", NULL);
		n_sealed++;
		if (key && hash_sealed(&sealed, key, &ci->user_data_sealed, user_data_what(vm), d) < 0)
			rc = -1;
	}
	if (ci->network_config)
		hash_item(&plain, "network_config", ci->network_config);
	hash_hex(&plain, p);
	hash_hex(&sealed, s);
	if (!n_sealed)
		snprintf(out, VF_SEED_HASH_MAX, "%s", p);
	else
		snprintf(out, VF_SEED_HASH_MAX, "%s+%s", p, key ? s : "unopened");
	return rc;
}

/* ---- the files ---- */

/*
 * The files are built in secret vf_bufs (util.h: vf_buf_init_secret),
 * locked memory handed over with vf_secret_from_buf: the user-data can
 * hold a clear text.
 */

/* s as a YAML double-quoted scalar (any bytes: escapes for the rest). */
static void add_quoted(struct vf_buf *b, const char *s)
{
	vf_buf_addch(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			vf_buf_addch(b, '\\');
			vf_buf_addch(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			vf_buf_addf(b, "\\x%02x", c);
		} else {
			vf_buf_addch(b, (char)c);
		}
	}
	vf_buf_addch(b, '"');
}

/* "passwd: <crypt SHA-512 of the clear text>" for a sealed password. */
static int add_password(struct vf_buf *b, const struct vf_secret_key *key, const struct vf_vm *vm,
			const struct vf_cloud_init_user *u, struct vf_diags *d)
{
	static const char alphabet[] =
		"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	struct vf_secret clear = { 0 };
	struct crypt_data *work;
	unsigned char rnd[16];
	char setting[3 + 16 + 2], *what = password_what(vm, u);
	const char *h;
	size_t i;
	int rc = -1;

	if (!key) {
		no_key(d, &u->password, what);
		free(what);
		return -1;
	}
	if (vf_secret_open(key, &u->password, what, &clear, d) < 0) {
		free(what);
		return -1;
	}
	if (memchr(clear.data, 0, clear.len)) {
		vf_error_at(d, &u->password.pos, "seal the password again without the NUL byte",
			    "%s: the password holds a NUL byte, which crypt(3) cannot hash", what);
		goto out;
	}
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(setting, "$6$", 3);
	for (i = 0; i < sizeof(rnd); i++)
		setting[3 + i] = alphabet[rnd[i] & 63];
	setting[3 + 16] = '$';
	setting[3 + 16 + 1] = 0;
	work = sodium_malloc(sizeof(*work));
	if (!work) {
		vf_error_at(d, &u->password.pos, NULL, "%s: out of locked memory", what);
		goto out;
	}
	memset(work, 0, sizeof(*work));
	h = crypt_r((const char *)clear.data, setting, work);
	if (!h || strncmp(h, "$6$", 3)) {
		vf_error_at(d, &u->password.pos, "check that libcrypt supports SHA-512 ($6$)",
			    "%s: crypt(3) could not hash the password", what);
	} else {
		vf_buf_adds(b, "    passwd: ");
		add_quoted(b, h);
		vf_buf_adds(b, "\n    lock_passwd: false\n");
		rc = 0;
	}
	sodium_free(work);
out:
	vf_secret_wipe(&clear);
	free(what);
	return rc;
}

/* The users: list of the generated #cloud-config. */
static int add_users(struct vf_buf *b, const struct vf_vm *vm, const struct vf_secret_key *key,
		     struct vf_diags *d)
{
	const struct vf_cloud_init *ci = &vm->cloud_init;
	size_t i, j;
	int rc = 0;

	vf_buf_adds(b, "users:\n");
	for (i = 0; i < ci->n_users; i++) {
		const struct vf_cloud_init_user *u = &ci->users[i];
		vf_buf_adds(b, "  - name: ");
		add_quoted(b, u->name);
		vf_buf_adds(b, "\n");
		if (u->n_ssh_authorized_keys) {
			vf_buf_adds(b, "    ssh_authorized_keys:\n");
			for (j = 0; j < u->n_ssh_authorized_keys; j++) {
				vf_buf_adds(b, "      - ");
				add_quoted(b, u->ssh_authorized_keys[j]);
				vf_buf_adds(b, "\n");
			}
		}
		if (u->sudo) {
			vf_buf_adds(b, "    sudo: ");
			add_quoted(b, u->sudo);
			vf_buf_adds(b, "\n");
		}
		if (u->shell) {
			vf_buf_adds(b, "    shell: ");
			add_quoted(b, u->shell);
			vf_buf_adds(b, "\n");
		}
		if (u->password.sealed && add_password(b, key, vm, u, d) < 0)
			rc = -1;
	}
	return rc;
}

static int build_user_data(struct vf_buf *b, const struct vf_vm *vm,
			   const struct vf_secret_key *key, struct vf_diags *d)
{
	const struct vf_cloud_init *ci = &vm->cloud_init;
	int rc = 0;

	if (ci->user_data) {
		vf_buf_adds(b, ci->user_data);
		return 0;
	}
	if (ci->user_data_sealed.sealed) {
		struct vf_secret clear = { 0 };
		char *what = user_data_what(vm);
		if (!key) {
			no_key(d, &ci->user_data_sealed, what);
			rc = -1;
		} else if (vf_secret_open(key, &ci->user_data_sealed, what, &clear, d) < 0) {
			rc = -1;
		} else {
			vf_buf_add(b, clear.data, clear.len);
			vf_secret_wipe(&clear);
		}
		free(what);
		return rc;
	}
	vf_buf_adds(b, "#cloud-config\n# written by virtform: vms[].cloud_init of vm ");
	vf_buf_adds(b, vm->name);
	vf_buf_adds(b, "\nhostname: ");
	add_quoted(b, ci->hostname ? ci->hostname : vm->name);
	vf_buf_adds(b, "\npreserve_hostname: false\n");
	if (!ci->n_users)
		return 0;
	return add_users(b, vm, key, d);
}

/* Without the key, the hash of the seed cannot be made: report the first
 * sealed value that needs it. */
static void no_key_first(const struct vf_vm *vm, struct vf_diags *d)
{
	const struct vf_cloud_init *ci = &vm->cloud_init;
	const struct vf_secret_ref *ref = &ci->user_data_sealed;
	size_t i;

	for (i = 0; !ref->sealed && i < ci->n_users; i++)
		ref = &ci->users[i].password;
	if (ref->sealed) {
		char *what = ref == &ci->user_data_sealed ? user_data_what(vm)
			     : password_what(vm, &ci->users[i - 1]);
		no_key(d, ref, what);
		free(what);
	}
}

void vf_cloudinit_files_release(struct vf_cloudinit_files *f)
{
	vf_secret_wipe(&f->meta_data);
	vf_secret_wipe(&f->user_data);
	vf_secret_wipe(&f->network_config);
}

int vf_cloudinit_files_build(const struct vf_vm *vm, const struct vf_secret_key *key,
			     struct vf_cloudinit_files *out, struct vf_diags *d)
{
	const struct vf_cloud_init *ci = &vm->cloud_init;
	struct vf_buf meta, user, net;
	char hash[VF_SEED_HASH_MAX], iid[17];
	crypto_generichash_state st;
	size_t errors = d->n_errors;

	memset(out, 0, sizeof(*out));
	vf_secret_init();
	vf_buf_init_secret(&meta);
	vf_buf_init_secret(&user);
	vf_buf_init_secret(&net);
	if (!key && vf_cloud_init_has_sealed(ci)) {
		no_key_first(vm, d);
		return -1;
	}
	if (vf_cloudinit_hash(vm, key, hash, d) < 0)
		return -1;
	crypto_generichash_init(&st, NULL, 0, 8);
	hash_item(&st, "instance", hash);
	hash_hex(&st, iid);

	vf_buf_adds(&meta, "instance-id: ");
	{
		char *id = xasprintf("iid-%s-%s", vm->name, iid);
		add_quoted(&meta, id);
		free(id);
	}
	vf_buf_adds(&meta, "\nlocal-hostname: ");
	add_quoted(&meta, ci->hostname ? ci->hostname : vm->name);
	vf_buf_adds(&meta, "\n");
	build_user_data(&user, vm, key, d);
	if (ci->network_config) {
		vf_buf_adds(&net, ci->network_config);
		vf_buf_adds(&net, "\n");
	}
	if (d->n_errors != errors || meta.failed || user.failed || net.failed) {
		if (d->n_errors == errors)
			vf_error_at(d, &ci->pos, NULL, "vm '%s': cloud_init: out of locked memory "
				    "(RLIMIT_MEMLOCK?)", vm->name);
		vf_buf_release(&meta);
		vf_buf_release(&user);
		vf_buf_release(&net);
		return -1;
	}
	vf_secret_from_buf(&meta, &out->meta_data);
	vf_secret_from_buf(&user, &out->user_data);
	if (ci->network_config)
		vf_secret_from_buf(&net, &out->network_config);
	else
		vf_buf_release(&net);
	return 0;
}

/* ---- the ISO image ---- */

static pthread_once_t iso_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t iso_lock = PTHREAD_MUTEX_INITIALIZER;
static int iso_init_rc;

static void iso_setup(void)
{
	char never[] = "NEVER", fatal[] = "FATAL", id[] = "virtform: libisofs: ";

	iso_init_rc = iso_init();
	if (iso_init_rc >= 0)
		iso_set_msgs_severities(never, fatal, id);
}

/* The file copies libisofs owns (it free()s them): locked, wiped by us
 * before the image goes. */
struct iso_copies {
	unsigned char *p[3];
	size_t len[3];
	size_t n;
};

static int add_file(IsoImage *image, struct iso_copies *c, const char *name,
		    const struct vf_secret *s, char **error)
{
	IsoStream *stream = NULL;
	IsoFile *file = NULL;
	unsigned char *copy = malloc(s->len ? s->len : 1);
	int rc;

	if (!copy) {
		*error = xasprintf("cannot build the seed image: out of memory");
		return -1;
	}
	sodium_mlock(copy, s->len ? s->len : 1);
	memcpy(copy, s->data, s->len);
	c->p[c->n] = copy;
	c->len[c->n++] = s->len ? s->len : 1;
	rc = iso_memory_stream_new(copy, s->len, &stream);
	if (rc < 0) {
		c->n--;
		sodium_munlock(copy, s->len ? s->len : 1);
		free(copy);
		*error = xasprintf("cannot build the seed image: %s", iso_error_to_msg(rc));
		return -1;
	}
	/* the new file takes the stream's reference */
	rc = iso_image_add_new_file(image, iso_image_get_root(image), name, stream, &file);
	if (rc < 0) {
		/* the stream is ours still, and its unref frees the copy: wiped
		 * here, and out of c (whose copies are wiped once the image
		 * goes, through pointers that must still be live then) */
		c->n--;
		sodium_munlock(copy, c->len[c->n]);     /* zeroes it */
		iso_stream_unref(stream);
		*error = xasprintf("cannot add %s to the seed image: %s", name, iso_error_to_msg(rc));
		return -1;
	}
	iso_node_set_permissions((IsoNode *)file, 0444);
	iso_node_set_uid((IsoNode *)file, 0);
	iso_node_set_gid((IsoNode *)file, 0);
	return 0;
}

static int iso_write(IsoImage *image, struct vf_secret *iso, char **error)
{
	IsoWriteOpts *opts = NULL;
	struct burn_source *burn = NULL;
	unsigned char *buf = NULL;
	off_t size;
	size_t off = 0;
	int rc;

	rc = iso_write_opts_new(&opts, 0);
	if (rc < 0)
		goto fail;
	iso_write_opts_set_rockridge(opts, 1);
	iso_write_opts_set_joliet(opts, 1);
	iso_write_opts_set_always_gmt(opts, 1);
	rc = iso_image_create_burn_source(image, opts, &burn);
	if (rc < 0)
		goto fail;
	size = burn->get_size(burn);
	if (size <= 0 || size > (off_t)(64u << 20)) {
		*error = xasprintf("cannot build the seed image: libisofs announced %lld bytes",
				   (long long)size);
		goto out;
	}
	buf = sodium_malloc((size_t)size);
	if (!buf) {
		*error = xasprintf("cannot build the seed image: out of locked memory (%lld bytes)",
				   (long long)size);
		goto out;
	}
	while (off < (size_t)size) {
		size_t want = (size_t)size - off < 65536 ? (size_t)size - off : 65536;
		int n = burn->read_xt ? burn->read_xt(burn, buf + off, (int)want)
				      : burn->read(burn, buf + off, (int)want);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off != (size_t)size) {
		*error = xasprintf("cannot build the seed image: libisofs wrote %zu of %lld bytes",
				   off, (long long)size);
		goto out;
	}
	sodium_mprotect_readonly(buf);
	iso->data = buf;
	iso->len = off;
	buf = NULL;
	rc = 0;
	goto done;
fail:
	*error = xasprintf("cannot build the seed image: %s", iso_error_to_msg(rc));
out:
	rc = -1;
done:
	if (buf)
		sodium_free(buf);
	if (burn) {
		if (burn->free_data)
			burn->free_data(burn);     /* stops libisofs's writer thread */
		free(burn);
	}
	if (opts)
		iso_write_opts_free(opts);
	return rc;
}

int vf_cloudinit_iso(const struct vf_cloudinit_files *f, struct vf_secret *iso, char **error)
{
	struct iso_copies copies = { .n = 0 };
	IsoImage *image = NULL;
	size_t i;
	int rc = -1;

	memset(iso, 0, sizeof(*iso));
	pthread_once(&iso_once, iso_setup);
	if (iso_init_rc < 0) {
		*error = xasprintf("cannot build the seed image: libisofs: %s",
				   iso_error_to_msg(iso_init_rc));
		return -1;
	}
	/* one image at a time: libisofs's message queue is global */
	pthread_mutex_lock(&iso_lock);
	if (iso_image_new("cidata", &image) < 0) {
		*error = xasprintf("cannot build the seed image: out of memory");
		goto out;
	}
	iso_image_set_volume_id(image, "cidata");
	if (add_file(image, &copies, "meta-data", &f->meta_data, error) < 0 ||
	    add_file(image, &copies, "user-data", &f->user_data, error) < 0 ||
	    (f->network_config.data &&
	     add_file(image, &copies, "network-config", &f->network_config, error) < 0))
		goto out;
	rc = iso_write(image, iso, error);
out:
	for (i = 0; i < copies.n; i++)
		sodium_munlock(copies.p[i], copies.len[i]);     /* zeroes them */
	if (image)
		iso_image_unref(image);                          /* frees them */
	pthread_mutex_unlock(&iso_lock);
	return rc;
}

int vf_seed_build(const struct vf_seed *seed, struct vf_secret *iso, char **error)
{
	struct vf_cloudinit_files files;
	struct vf_diags d = { 0 };
	int rc;

	memset(iso, 0, sizeof(*iso));
	if (vf_cloudinit_files_build(seed->vm, vf_cloudinit_key(), &files, &d) < 0) {
		const struct vf_diag *g = d.n ? &d.items[0] : NULL;
		if (g && g->pos.line)
			*error = xasprintf("%s:%u:%u: %s", g->pos.file, g->pos.line, g->pos.col,
					   g->message);
		else
			*error = xasprintf("%s", g ? g->message : "cannot build the cloud-init seed");
		vf_diags_release(&d);
		return -1;
	}
	vf_diags_release(&d);
	rc = vf_cloudinit_iso(&files, iso, error);
	vf_cloudinit_files_release(&files);
	return rc;
}
