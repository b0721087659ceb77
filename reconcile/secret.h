/*
 * secret.h — sealed secrets: values sealed to a virtform key pair with
 * libsodium's crypto_box_seal (X25519 + XSalsa20-Poly1305, an ephemeral
 * sender key per seal), kept in git as {sealed: "<base64>"}, opened only
 * by whoever holds the secret key (apply; docs/secrets.md).
 *
 * Key files are one line of text:
 *
 *     virtform-sealed-v1 public <base64 of the 32-byte X25519 public key>
 *     virtform-sealed-v1 secret <base64 of the 32-byte X25519 secret key>
 *
 * (base64: the original alphabet with padding, sodium_bin2base64's
 * ORIGINAL variant; so is a sealed value).  The secret key file must not be
 * readable, writable or executable by group or others, as ssh insists for
 * its private keys.  The same text may be given in VIRTFORM_SECRET_KEY.
 *
 * Rules of this module:
 *   - no secret material in any message: diagnostics name the file, the
 *     variable or the field's FILE:LINE:COL, never a key or a clear text;
 *   - secret keys and opened clear texts live in sodium_malloc'd memory
 *     (guard pages, mlock'd where the system allows, not in core dumps),
 *     read-only once written, and are wiped by sodium_free;
 *   - errors go to a struct vf_diags (rendered at the edge, cmd/), the
 *     functions return -1 / NULL.
 * Thread safety: vf_secret_init() may be called from any thread, any
 * number of times (pthread_once); every other function calls it.  A loaded
 * key is read-only and may be shared between threads.
 */
#ifndef VF_SECRET_H
#define VF_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/diag.h"
#include "reconcile/model.h"    /* struct vf_secret_ref */

#define VF_SECRET_MAGIC "virtform-sealed-v1"
#define VF_SECRET_PUBLIC_FILE "virtform.pub"
#define VF_SECRET_KEY_FILE "virtform.key"
#define VF_SECRET_KEY_ENV "VIRTFORM_SECRET_KEY"
#define VF_GIT_PASSWORD_ENV "VIRTFORM_GIT_PASSWORD"  /* an HTTPS token (providers/git) */
#define VF_SECRET_KEY_BYTES 32           /* X25519, both halves */
#define VF_SECRET_MAX_CLEAR (4u << 20)   /* the most seal accepts, bytes */
#define VF_SECRET_ID_HEX 17              /* a key id: 16 hex digits + NUL */
#define VF_SECRET_HASH_HEX 65            /* a keyed hash: 64 hex digits + NUL */

/* libsodium's sodium_init(), once; 0, or -1 when libsodium cannot work
 * (no entropy source), which the other functions report as an error. */
int vf_secret_init(void);

/* ---- secrets in the environment --------------------------------------------- */

/*
 * The value of a secret environment variable (VF_SECRET_KEY_ENV,
 * VF_GIT_PASSWORD_ENV; any other name: NULL), taken out of the
 * environment: each call that finds the variable set copies its value into
 * sodium_malloc'd memory (replacing an earlier copy; set but empty: none),
 * wipes the environment's copy in place and unsets it, so that no child
 * (ssh, gpgv, ssh-keygen, a --notify-command shell) inherits it.  NULL
 * when never given.  Every reader of a secret variable asks this.
 */
const char *vf_secret_env(const char *name);

/* Take every secret variable out of the environment now (main() calls it
 * first thing, before any child can be started). */
void vf_secret_env_take_all(void);

/* ---- keys ---------------------------------------------------------------- */

struct vf_public_key {
	unsigned char bytes[VF_SECRET_KEY_BYTES];
};

/* An opened secret key; opaque, its material in sodium_malloc'd memory. */
struct vf_secret_key;

/*
 * The key id: the first 8 bytes of BLAKE2b(public key), in hex — what keygen
 * prints and what messages may name ("sealed for key 1f2e...").  Not
 * secret.  Returns out.
 */
char *vf_public_key_id(const struct vf_public_key *pk, char out[VF_SECRET_ID_HEX]);

/* Read a public key file.  0, or -1 with a diagnostic "PATH: error: ..."
 * (a secret key file given by mistake is named as such, not shown). */
int vf_public_key_load(const char *path, struct vf_public_key *pk, struct vf_diags *d);

/*
 * Read a secret key file: a regular file, no permission bits for group or
 * others (else refused, hint "chmod 600 PATH").  NULL with a diagnostic
 * on failure.
 */
struct vf_secret_key *vf_secret_key_load(const char *path, struct vf_diags *d);

/* The key text itself (what a key file holds; trailing white space
 * ignored), as VIRTFORM_SECRET_KEY gives it; source names it in messages. */
struct vf_secret_key *vf_secret_key_parse(const char *text, const char *source,
					  struct vf_diags *d);

/*
 * The key apply uses: path when given (--secret-key), else
 * VIRTFORM_SECRET_KEY, else an error saying how to give one.  A variable
 * holding a file name instead of a key gets a hint saying so.
 */
struct vf_secret_key *vf_secret_key_find(const char *path, struct vf_diags *d);

/* Wipes and frees the key; NULL is fine. */
void vf_secret_key_free(struct vf_secret_key *key);

/* The public half of a loaded secret key. */
const struct vf_public_key *vf_secret_key_public(const struct vf_secret_key *key);

/*
 * Make a key pair and write DIR/virtform.key (mode 0600) and
 * DIR/virtform.pub (0644).  DIR is created (0700) when missing; a DIR that
 * group or others may write is refused.  Without force, existing files are
 * an error and nothing is written; each file appears whole or not at all
 * (written to a temporary file, then linked — O_EXCL semantics — or, with
 * force, renamed over the old one).  id (may be NULL) receives the key id.
 */
int vf_secret_keygen(const char *dir, bool force, char id[VF_SECRET_ID_HEX], struct vf_diags *d);

/* ---- sealed values ------------------------------------------------------- */

/*
 * Seal len bytes of clear text for pk: the base64 text of crypto_box_seal's
 * output (malloc'd, the caller frees).  Random per call: sealing one text
 * twice gives two different values.
 */
char *vf_secret_seal(const struct vf_public_key *pk, const void *clear, size_t len);

/*
 * Is text the shape of a sealed value: base64 (original alphabet, padded;
 * white space ignored, as a YAML scalar folded over lines has spaces) of
 * at least crypto_box_SEALBYTES + 1 bytes?  NULL when it is, else why not
 * ("is not base64 ...") — a static string that never quotes the text.
 * Needs no key: validate checks every sealed value with it.
 */
const char *vf_sealed_check(const char *text);

/* The opened clear text: data[len] is a NUL not counted in len (the text
 * itself may hold NULs).  data is sodium_malloc'd and read-only. */
struct vf_secret {
	const unsigned char *data;
	size_t len;
};

/*
 * Open ref with key into *out.  On failure -1 and a diagnostic at
 * ref->pos: "WHAT: cannot open the sealed value: it was sealed for another
 * key, or altered" (hint: the key's id, and how to reseal), or a shape
 * error.  what names the field ("vm 'web1': cloud_init: user 'ops':
 * password").  The caller wipes *out with vf_secret_wipe().
 */
int vf_secret_open(const struct vf_secret_key *key, const struct vf_secret_ref *ref,
		   const char *what, struct vf_secret *out, struct vf_diags *d);

/* sodium_free the clear text (zeroed first) and clear *s; idempotent. */
void vf_secret_wipe(struct vf_secret *s);

/*
 * Hand a secret vf_buf (vf_buf_init_secret, util.h) over as a read-only
 * vf_secret and reset the buffer.  0, or -1 when the buffer failed (out
 * of locked memory): it is then released and *out left empty.
 */
struct vf_buf;
int vf_secret_from_buf(struct vf_buf *b, struct vf_secret *out);

/*
 * A keyed hash of a clear text, for plans and state: 64 hex digits of
 * BLAKE2b-256(context || 0 || clear) keyed with a subkey derived from the
 * secret key (crypto_kdf, context "vfsecret", id 1).  Equal clear texts
 * under one key and context hash equally; without the secret key nobody
 * can compute it, so a state file holding it does not let anyone test
 * guesses of a password offline.  Why not compare the sealed values
 * themselves: crypto_box_seal uses a fresh ephemeral key per seal, so
 * resealing an unchanged password gives a different value (a false
 * "changed"), and a value sealed anew after a key rotation differs
 * although nothing changed.  context (may be NULL, meaning "") separates
 * fields, so equal passwords of two users do not show as equal hashes.
 * Returns out.
 */
char *vf_secret_hash(const struct vf_secret_key *key, const char *context,
		     const struct vf_secret *clear, char out[VF_SECRET_HASH_HEX]);

/* Open, hash and wipe: the planner's "(sealed value changed)" test.
 * 0, or -1 with vf_secret_open()'s diagnostic. */
int vf_secret_hash_sealed(const struct vf_secret_key *key, const struct vf_secret_ref *ref,
			  const char *what, const char *context, char out[VF_SECRET_HASH_HEX],
			  struct vf_diags *d);

#endif
