/*
 * secret.c — sealed secrets with libsodium: key files, seal, shape check,
 * open into guarded memory, keyed hashes (contracts in secret.h).
 *
 * What this file must never do: put a secret key or a clear text in a
 * message, or in memory that is not sodium_malloc'd (so every buffer that
 * holds one — the key file's text, its decoded bytes, the opened value — is
 * allocated with sodium_malloc and let go with sodium_free, which wipes).
 * What it does not guard: the ciphertexts and public keys, which are not
 * secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/readall.h"
#include "reconcile/secret.h"
#include "reconcile/util.h"

#define KEY_FILE_MAX 4096            /* a key file is ~70 bytes */
#define KDF_CONTEXT "vfsecret"       /* crypto_kdf_CONTEXTBYTES == 8 */
#define KDF_ID_HASH 1

struct vf_secret_key {
	struct vf_public_key pk;
	/* sodium_malloc'd, read-only: sk[32] then the hash subkey[32] */
	unsigned char *material;
};

#define KEY_SK(k) ((k)->material)
#define KEY_HASHKEY(k) ((k)->material + VF_SECRET_KEY_BYTES)

/* ---- init ---------------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = -1;

static void init_sodium(void)
{
	init_status = sodium_init() < 0 ? -1 : 0;
}

int vf_secret_init(void)
{
	pthread_once(&init_once, init_sodium);
	return init_status;
}

static int need_sodium(struct vf_diags *d, const char *where)
{
	struct vf_pos pos = { where, 0, 0 };

	if (vf_secret_init() == 0)
		return 0;
	vf_error_at(d, where ? &pos : NULL, NULL, "libsodium cannot be initialized (no entropy source?)");
	return -1;
}

/* ---- secrets in the environment ------------------------------------------ */

static const char *const env_names[] = { VF_SECRET_KEY_ENV, VF_GIT_PASSWORD_ENV };
static struct {
	char *value;             /* sodium_malloc'd (or malloc'd: plain), or NULL */
	bool plain;
} env_values[VF_ARRAY_SIZE(env_names)];
static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;

static void env_value_free(size_t i)
{
	if (env_values[i].plain) {
		sodium_memzero(env_values[i].value, strlen(env_values[i].value));
		free(env_values[i].value);
	} else {
		sodium_free(env_values[i].value);
	}
	env_values[i].value = NULL;
}

const char *vf_secret_env(const char *name)
{
	const char *value;
	size_t i;
	char *v;

	for (i = 0; i < VF_ARRAY_SIZE(env_names); i++)
		if (!strcmp(env_names[i], name))
			break;
	if (i == VF_ARRAY_SIZE(env_names))
		return NULL;
	pthread_mutex_lock(&env_lock);
	v = getenv(name);
	if (v) {
		size_t n = strlen(v);
		if (env_values[i].value)
			env_value_free(i);
		if (n) {
			env_values[i].plain = vf_secret_init() < 0;
			env_values[i].value = env_values[i].plain ? xmalloc(n + 1) : sodium_malloc(n + 1);
			if (!env_values[i].value) {          /* sodium_malloc: out of memory */
				env_values[i].plain = true;
				env_values[i].value = xmalloc(n + 1);
			}
			memcpy(env_values[i].value, v, n + 1);
		}
		/* the environment's copy: wiped in place (also out of
		 * /proc/PID/environ when it is the one the process started
		 * with), then gone from environ */
		sodium_memzero(v, n);
		unsetenv(name);
	}
	value = env_values[i].value;
	pthread_mutex_unlock(&env_lock);
	return value;
}

void vf_secret_env_take_all(void)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(env_names); i++)
		vf_secret_env(env_names[i]);
}

/* ---- helpers ------------------------------------------------------------- */

static void err_file(struct vf_diags *d, const char *file, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_file(struct vf_diags *d, const char *file, const char *hint, const char *fmt, ...)
{
	struct vf_pos pos = { file, 0, 0 };
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	vf_error_at(d, &pos, hint, "%s", msg);
	free(msg);
}

static char *hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

char *vf_public_key_id(const struct vf_public_key *pk, char out[VF_SECRET_ID_HEX])
{
	unsigned char h[8];

	vf_secret_init();
	crypto_generichash(h, sizeof(h), pk->bytes, sizeof(pk->bytes), NULL, 0);
	return hex(h, sizeof(h), out);
}

enum key_kind {
	KEY_PUBLIC,
	KEY_SECRET,
};

/*
 * Parse "virtform-sealed-v1 KIND BASE64" (then only white space) into
 * out[32].  On failure a static reason that never quotes the text:
 * secrets may sit in it.
 */
static const char *parse_key_text(const char *text, size_t len, enum key_kind want,
				  unsigned char out[VF_SECRET_KEY_BYTES])
{
	static const char magic[] = VF_SECRET_MAGIC " ";
	const char *kind = want == KEY_PUBLIC ? "public " : "secret ";
	const char *other = want == KEY_PUBLIC ? "secret " : "public ";
	const char *p = text, *end = text + len, *b64, *b64_end;
	size_t got = 0;

	while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - p) < sizeof(magic) - 1 || memcmp(p, magic, sizeof(magic) - 1))
		return "not a virtform key (it does not start with '" VF_SECRET_MAGIC "')";
	p += sizeof(magic) - 1;
	if ((size_t)(end - p) >= 7 && !memcmp(p, other, 7))
		return want == KEY_PUBLIC ? "this is a secret key, not a public key"
					  : "this is a public key, not a secret key";
	if ((size_t)(end - p) < 7 || memcmp(p, kind, 7))
		return "not a virtform key (unknown key kind)";
	b64 = p + 7;
	b64_end = end;
	if (memchr(b64, '\n', (size_t)(b64_end - b64)))
		return "a key file holds one line";
	if (sodium_base642bin(out, VF_SECRET_KEY_BYTES, b64, (size_t)(b64_end - b64), NULL, &got,
			      &p, sodium_base64_VARIANT_ORIGINAL) != 0 || p != b64_end)
		return "the key is not valid base64";
	if (got != VF_SECRET_KEY_BYTES)
		return "the key has the wrong length (32 bytes expected)";
	return NULL;
}

/* Who the group bits and the other bits of mode let in, for messages. */
static const char *who(mode_t mode, mode_t group, mode_t other)
{
	if ((mode & group) && (mode & other))
		return "group and others";
	return mode & group ? "its group" : "others";
}

/*
 * Read a whole small file into sodium_malloc'd memory (NUL-terminated).
 * secret: refuse permission bits for group and others.
 */
static char *read_key_file(const char *path, bool secret, size_t *len, struct vf_diags *d)
{
	struct stat st;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err_file(d, path, secret ? "give the file keygen wrote (virtform.key)" : NULL,
			 "cannot open the %s key: %s", secret ? "secret" : "public", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_file(d, path, NULL, "the %s key is not a regular file", secret ? "secret" : "public");
		close(fd);
		return NULL;
	}
	if (secret && (st.st_mode & 077)) {
		char *hint = xasprintf("chmod 600 %s", path);
		err_file(d, path, hint,
			 "the secret key file is accessible by %s (mode %04o): it must be private",
			 who(st.st_mode, 070, 07), (unsigned)(st.st_mode & 07777));
		free(hint);
		close(fd);
		return NULL;
	}
	if (st.st_size > KEY_FILE_MAX) {
		err_file(d, path, NULL, "not a virtform key (the file is too large)");
		close(fd);
		return NULL;
	}
	buf = sodium_malloc(KEY_FILE_MAX + 1);
	if (!buf) {
		err_file(d, path, NULL, "cannot allocate locked memory for the key");
		close(fd);
		return NULL;
	}
	switch (vf_read_whole(fd, buf, KEY_FILE_MAX, len)) {
	case 0:
		close(fd);
		return buf;
	case 1:
		err_file(d, path, NULL, "not a virtform key (the file is too large)");
		break;
	default:
		err_file(d, path, NULL, "cannot read the key: %s", strerror(errno));
	}
	sodium_free(buf);
	close(fd);
	return NULL;
}

/* ---- keys ------------------------------------------------------------------ */

int vf_public_key_load(const char *path, struct vf_public_key *pk, struct vf_diags *d)
{
	const char *why;
	size_t len;
	char *text;

	if (need_sodium(d, path))
		return -1;
	text = read_key_file(path, false, &len, d);
	if (!text)
		return -1;
	why = parse_key_text(text, len, KEY_PUBLIC, pk->bytes);
	sodium_free(text);     /* a secret key given by mistake: wiped too */
	if (why) {
		err_file(d, path,
			 strstr(why, "secret key") ? "seal needs the public key (" VF_SECRET_PUBLIC_FILE
						     "); keep the secret key off this machine if you can"
						   : "give the " VF_SECRET_PUBLIC_FILE " file keygen wrote",
			 "%s", why);
		return -1;
	}
	return 0;
}

/* A key from its text (in any memory); source names it in messages. */
static struct vf_secret_key *key_from_text(const char *text, size_t len, const char *source,
					   struct vf_diags *d)
{
	struct vf_secret_key *key;
	unsigned char *m;
	const char *why;

	m = sodium_malloc(2 * VF_SECRET_KEY_BYTES);
	if (!m) {
		err_file(d, source, NULL, "cannot allocate locked memory for the key");
		return NULL;
	}
	why = parse_key_text(text, len, KEY_SECRET, m);
	if (why) {
		sodium_free(m);
		err_file(d, source,
			 strstr(why, "public key") ? "give the secret key (" VF_SECRET_KEY_FILE
						     "), not the public one"
						   : "give the " VF_SECRET_KEY_FILE " file keygen wrote",
			 "%s", why);
		return NULL;
	}
	/* The hash subkey: independent of the box key, so a hash never
	 * says anything about it. */
	crypto_kdf_derive_from_key(m + VF_SECRET_KEY_BYTES, VF_SECRET_KEY_BYTES, KDF_ID_HASH,
				   KDF_CONTEXT, m);
	key = xcalloc(1, sizeof(*key));
	key->material = m;
	crypto_scalarmult_base(key->pk.bytes, KEY_SK(key));
	sodium_mprotect_readonly(m);
	return key;
}

struct vf_secret_key *vf_secret_key_load(const char *path, struct vf_diags *d)
{
	struct vf_secret_key *key;
	size_t len;
	char *text;

	if (need_sodium(d, path))
		return NULL;
	text = read_key_file(path, true, &len, d);
	if (!text)
		return NULL;
	key = key_from_text(text, len, path, d);
	sodium_free(text);
	return key;
}

struct vf_secret_key *vf_secret_key_parse(const char *text, const char *source,
					  struct vf_diags *d)
{
	if (need_sodium(d, source))
		return NULL;
	return key_from_text(text, strlen(text), source, d);
}

struct vf_secret_key *vf_secret_key_find(const char *path, struct vf_diags *d)
{
	const char *env;
	struct stat st;

	if (path)
		return vf_secret_key_load(path, d);
	env = vf_secret_env(VF_SECRET_KEY_ENV);
	if (!env) {
		vf_error_at(d, NULL,
			    "give --secret-key FILE, or the key itself in " VF_SECRET_KEY_ENV
			    " (virtform keygen makes one)",
			    "the configuration has sealed values and no secret key was given");
		return NULL;
	}
	/* A file name where the key belongs: say so, without quoting it. */
	if (strncmp(env, VF_SECRET_MAGIC, strlen(VF_SECRET_MAGIC)) && stat(env, &st) == 0) {
		err_file(d, VF_SECRET_KEY_ENV,
			 "set it to the key text, " VF_SECRET_KEY_ENV "=\"$(cat virtform.key)\", or use --secret-key FILE",
			 "the variable names a file; it must hold the key itself");
		return NULL;
	}
	return vf_secret_key_parse(env, VF_SECRET_KEY_ENV, d);
}

void vf_secret_key_free(struct vf_secret_key *key)
{
	if (!key)
		return;
	sodium_free(key->material);
	free(key);
}

const struct vf_public_key *vf_secret_key_public(const struct vf_secret_key *key)
{
	return &key->pk;
}

/* ---- keygen ---------------------------------------------------------------- */

/* Write text to DIR/NAME whole: a temporary file, fsync, then link (no
 * force: fails if NAME exists) or rename (force).  0 or -1 (reported). */
static int write_whole(const char *dir, const char *name, const char *text, size_t len,
		       mode_t mode, bool force, struct vf_diags *d)
{
	char *tmp = xasprintf("%s/.%s.XXXXXX", dir, name);
	char *final = xasprintf("%s/%s", dir, name);
	int fd, rc = -1;

	fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW);     /* O_EXCL, mode 0600 */
	if (fd < 0) {
		err_file(d, final, NULL, "cannot create: %s", strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		err_file(d, final, NULL, "cannot set the mode: %s", strerror(errno));
		goto fail;
	}
	if (vf_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		err_file(d, final, NULL, "cannot write: %s", strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (force ? rename(tmp, final) < 0 : link(tmp, final) < 0) {
		if (errno == EEXIST)
			err_file(d, final, "keep it, or give --force to replace the key pair",
				 "already exists");
		else
			err_file(d, final, NULL, "cannot create: %s", strerror(errno));
		goto fail;
	}
	if (!force)
		unlink(tmp);
	rc = 0;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(final);
	return rc;
}

/*
 * The directory keygen writes to: made (0700) when missing, a directory
 * nobody else can write to, and (without force) holding no key file yet.
 * 0 or -1 (reported).
 */
static int keygen_dir(const char *dir, bool force, struct vf_diags *d)
{
	static const char names[2][16] = { VF_SECRET_KEY_FILE, VF_SECRET_PUBLIC_FILE };
	struct stat st;
	bool exists = false;
	size_t i;

	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, 0700) < 0 || stat(dir, &st) < 0) {
			err_file(d, dir, NULL, "cannot create the directory: %s", strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		err_file(d, dir, "give a directory", "not a directory");
		return -1;
	}
	if (st.st_mode & 022) {
		char *hint = xasprintf("chmod go-w %s, or choose a private directory", dir);
		err_file(d, dir, hint,
			 "the directory is writable by %s (mode %04o): someone else could swap the keys",
			 who(st.st_mode, 020, 02), (unsigned)(st.st_mode & 07777));
		free(hint);
		return -1;
	}
	for (i = 0; !force && i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		if (lstat(p, &st) == 0) {
			err_file(d, p, "keep it, or give --force to replace the key pair",
				 "already exists");
			exists = true;
		}
		free(p);
	}
	return exists ? -1 : 0;
}

int vf_secret_keygen(const char *dir, bool force, char id[VF_SECRET_ID_HEX], struct vf_diags *d)
{
	/* "virtform-sealed-v1 secret " + 44 + "\n" */
	enum { LINE = sizeof(VF_SECRET_MAGIC) + 8 + 45 + 1 };
	struct vf_public_key pk;
	unsigned char *sk;
	char *line, publine[LINE], b64[45];
	int rc = -1;

	if (need_sodium(d, dir))
		return -1;
	if (keygen_dir(dir, force, d) < 0)
		return -1;
	sk = sodium_malloc(VF_SECRET_KEY_BYTES);
	line = sodium_malloc(LINE);
	if (!sk || !line) {
		err_file(d, dir, NULL, "cannot allocate locked memory for the key");
		goto out;
	}
	crypto_box_keypair(pk.bytes, sk);
	{
		/* the base64 of the secret key goes straight into the locked line */
		size_t n = strlen(VF_SECRET_MAGIC " secret ");
		memcpy(line, VF_SECRET_MAGIC " secret ", n);
		sodium_bin2base64(line + n, LINE - n, sk, VF_SECRET_KEY_BYTES,
				  sodium_base64_VARIANT_ORIGINAL);
		strcat(line, "\n");
	}
	sodium_bin2base64(b64, sizeof(b64), pk.bytes, sizeof(pk.bytes), sodium_base64_VARIANT_ORIGINAL);
	snprintf(publine, sizeof(publine), "%s public %s\n", VF_SECRET_MAGIC, b64);

	/* The secret key first: a public key nobody holds the secret of
	 * would let people seal values no one can open. */
	if (write_whole(dir, VF_SECRET_KEY_FILE, line, strlen(line), 0600, force, d) < 0)
		goto out;
	if (write_whole(dir, VF_SECRET_PUBLIC_FILE, publine, strlen(publine), 0644, force, d) < 0) {
		if (!force) {
			char *p = xasprintf("%s/%s", dir, VF_SECRET_KEY_FILE);
			unlink(p);     /* we made it a moment ago */
			free(p);
		}
		goto out;
	}
	vf_fsync_dir(dir);
	if (id)
		vf_public_key_id(&pk, id);
	rc = 0;
out:
	sodium_free(sk);
	sodium_free(line);
	return rc;
}

/* ---- sealed values ----------------------------------------------------------- */

char *vf_secret_seal(const struct vf_public_key *pk, const void *clear, size_t len)
{
	size_t clen = len + crypto_box_SEALBYTES;
	size_t b64len = sodium_base64_encoded_len(clen, sodium_base64_VARIANT_ORIGINAL);
	unsigned char *c;
	char *out;

	if (vf_secret_init() < 0)
		return NULL;
	c = xmalloc(clen);           /* ciphertext: not secret */
	if (crypto_box_seal(c, clear, len, pk->bytes) != 0) {
		free(c);
		return NULL;
	}
	out = xmalloc(b64len);
	sodium_bin2base64(out, b64len, c, clen, sodium_base64_VARIANT_ORIGINAL);
	free(c);
	return out;
}

/* Decode a sealed value's base64 (white space ignored); malloc'd bytes, or
 * NULL and a reason. */
static unsigned char *sealed_decode(const char *text, size_t *len, const char **why)
{
	size_t tlen = strlen(text), got = 0;
	unsigned char *bin;
	const char *end = NULL;

	*why = NULL;
	if (!tlen) {
		*why = "the sealed value is empty";
		return NULL;
	}
	bin = xmalloc(tlen / 4 * 3 + 3);
	if (sodium_base642bin(bin, tlen / 4 * 3 + 3, text, tlen, " \t\r\n", &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    (end && *end)) {
		*why = "the sealed value is not base64 (A-Z, a-z, 0-9, '+', '/', '=' padding)";
		free(bin);
		return NULL;
	}
	if (got <= crypto_box_SEALBYTES) {
		*why = "the sealed value is too short to hold a sealed secret";
		free(bin);
		return NULL;
	}
	*len = got;
	return bin;
}

const char *vf_sealed_check(const char *text)
{
	const char *why;
	unsigned char *bin;
	size_t len;

	if (vf_secret_init() < 0)
		return "libsodium cannot be initialized";
	bin = sealed_decode(text, &len, &why);
	free(bin);
	return why;
}

int vf_secret_open(const struct vf_secret_key *key, const struct vf_secret_ref *ref,
		   const char *what, struct vf_secret *out, struct vf_diags *d)
{
	unsigned char *c, *m;
	const char *why;
	char id[VF_SECRET_ID_HEX], *hint;
	size_t clen, mlen;

	out->data = NULL;
	out->len = 0;
	if (need_sodium(d, ref->pos.file))
		return -1;
	c = sealed_decode(ref->sealed, &clen, &why);
	if (!c) {
		vf_error_at(d, &ref->pos, "seal it again: virtform seal --public-key virtform.pub",
			    "%s: %s", what, why);
		return -1;
	}
	mlen = clen - crypto_box_SEALBYTES;
	m = sodium_malloc(mlen + 1);
	if (!m) {
		vf_error_at(d, &ref->pos, NULL, "%s: cannot allocate locked memory", what);
		free(c);
		return -1;
	}
	if (crypto_box_seal_open(m, c, clen, key->pk.bytes, KEY_SK(key)) != 0) {
		free(c);
		sodium_free(m);
		hint = xasprintf("give the secret key it was sealed for (this one is %s), or seal it "
				 "again with virtform seal --public-key virtform.pub",
				 vf_public_key_id(&key->pk, id));
		vf_error_at(d, &ref->pos, hint,
			    "%s: cannot open the sealed value: it was sealed for another key, or altered",
			    what);
		free(hint);
		return -1;
	}
	free(c);
	m[mlen] = '\0';
	sodium_mprotect_readonly(m);
	out->data = m;
	out->len = mlen;
	return 0;
}

void vf_secret_wipe(struct vf_secret *s)
{
	if (!s)
		return;
	sodium_free((void *)s->data);   /* wipes; read-only memory too */
	s->data = NULL;
	s->len = 0;
}

int vf_secret_from_buf(struct vf_buf *b, struct vf_secret *out)
{
	out->data = NULL;
	out->len = 0;
	if (!b->alloc)
		vf_buf_grow(b, 0);      /* even "" lives in locked memory */
	if (b->failed || !b->secret) {
		vf_buf_release(b);
		return -1;
	}
	sodium_mprotect_readonly(b->buf);
	out->data = (const unsigned char *)b->buf;
	out->len = b->len;
	vf_buf_init_secret(b);
	return 0;
}

char *vf_secret_hash(const struct vf_secret_key *key, const char *context,
		     const struct vf_secret *clear, char out[VF_SECRET_HASH_HEX])
{
	crypto_generichash_state st;
	unsigned char h[32];
	static const unsigned char zero;

	if (!context)
		context = "";
	crypto_generichash_init(&st, KEY_HASHKEY(key), VF_SECRET_KEY_BYTES, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)context, strlen(context));
	crypto_generichash_update(&st, &zero, 1);
	crypto_generichash_update(&st, clear->data, clear->len);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_memzero(&st, sizeof(st));
	return hex(h, sizeof(h), out);
}

int vf_secret_hash_sealed(const struct vf_secret_key *key, const struct vf_secret_ref *ref,
			  const char *what, const char *context, char out[VF_SECRET_HASH_HEX],
			  struct vf_diags *d)
{
	struct vf_secret s;

	if (vf_secret_open(key, ref, what, &s, d) < 0)
		return -1;
	vf_secret_hash(key, context, &s, out);
	vf_secret_wipe(&s);
	return 0;
}
