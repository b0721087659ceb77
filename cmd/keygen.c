/*
 * keygen.c — `virtform keygen --out DIR [--force]`: make the X25519 key
 * pair sealed values are sealed to (reconcile/secret.h, docs/secrets.md).
 *
 * DIR/virtform.pub is for everyone who writes configurations (commit it);
 * DIR/virtform.key is for apply only (mode 0600, never committed).  An
 * existing pair is never replaced without --force: values sealed to it
 * could no longer be opened.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "reconcile/secret.h"
#include "reconcile/util.h"

static const char usage[] =
	"usage: virtform keygen --out DIR [--force]\n"
	"\n"
	"Make a key pair for sealed secrets (X25519, libsodium) and write\n"
	"  DIR/virtform.key  the secret key, mode 0600: apply opens sealed values\n"
	"                    with it (--secret-key FILE or VIRTFORM_SECRET_KEY);\n"
	"                    keep it out of git\n"
	"  DIR/virtform.pub  the public key: 'virtform seal' seals with it; commit it\n"
	"DIR is created (mode 0700) when missing; a DIR that group or others may\n"
	"write is refused.  Each file is written whole or not at all.\n"
	"\n"
	"Options:\n"
	"      --out DIR   where to write the key pair (required)\n"
	"      --force     replace an existing key pair: values sealed to the old\n"
	"                  key can no longer be opened, seal them again\n"
	"  -h, --help      show this help\n"
	"\n"
	"Prints the two file names and the key id (the first 16 hex digits of the\n"
	"public key's BLAKE2b hash, which errors name).  See docs/secrets.md.\n"
	"\n"
	"Exit status: 0 written, 1 error (nothing written).\n";

/* Is dir inside a git work tree?  Then the secret key is one 'git add'
 * away from being committed: say so. */
static bool in_git_tree(const char *dir)
{
	char path[PATH_MAX], *slash;
	struct stat st;

	if (!realpath(dir, path))
		return false;
	for (;;) {
		size_t n = strlen(path);
		if (n + 6 < sizeof(path)) {
			strcpy(path + n, n > 1 ? "/.git" : ".git");
			if (stat(path, &st) == 0)
				return true;
			path[n] = '\0';
		}
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			return false;
		*slash = '\0';
	}
}

/* The work of keygen: the key pair written in dir, and said.  The exit
 * status. */
static int keygen_write(const char *dir, bool force)
{
	struct vf_diags diags = { 0 };
	char id[VF_SECRET_ID_HEX];
	int rc = vf_secret_keygen(dir, force, id, &diags);

	vf_diags_print(&diags, stderr);
	vf_diags_release(&diags);
	if (rc < 0)
		return VF_EXIT_ERROR;
	printf("wrote %s/%s (secret key, mode 0600: for apply only, never commit it)\n", dir,
	       VF_SECRET_KEY_FILE);
	printf("wrote %s/%s (public key %s: seal with it, commit it)\n", dir,
	       VF_SECRET_PUBLIC_FILE, id);
	if (in_git_tree(dir))
		fprintf(stderr, "virtform keygen: warning: %s is inside a git work tree: add %s to "
			".gitignore, or keep the secret key elsewhere\n", dir, VF_SECRET_KEY_FILE);
	return VF_EXIT_OK;
}

static int keygen_run(int argc, char **argv)
{
	const char *dir = NULL;
	bool force = false;
	int rc = VF_CMD_PARSE(&vf_cmd_keygen, argc, argv, "; give the directory with --out DIR",
			      VF_VALUE(VF_OPT_OUT, &dir), VF_FLAG(VF_OPT_FORCE, &force));

	if (rc != VF_CMD_GO_ON)
		return rc;
	if (!dir || !*dir)
		return vf_cmd_error(&vf_cmd_keygen, "--out DIR is required (where to write "
				    "virtform.key and virtform.pub)");
	return keygen_write(dir, force);
}

const struct vf_cmd vf_cmd_keygen = VF_CMD("keygen", "make the key pair for sealed secrets", usage,
	keygen_run, .options = VF_OPTS(VF_OPT_OUT, VF_OPT_FORCE));

