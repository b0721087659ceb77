/*
 * seal.c — `virtform seal --public-key FILE`: seal a secret read on stdin
 * and print it as {sealed: "<base64>"}, ready to paste into YAML
 * (crypto_box_seal; reconcile/secret.h, docs/secrets.md).
 *
 * Only the public key is needed, so anyone who writes configurations can
 * seal; nobody but the secret key's holder can open.  The clear text is
 * read into locked memory and wiped; it is never echoed: from a terminal
 * it is read with echo off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "reconcile/secret.h"
#include "reconcile/util.h"

static const char usage[] =
	"usage: virtform seal --public-key FILE [--keep-newline] [--raw] < SECRET\n"
	"\n"
	"Seal the secret read on stdin (all of it, any bytes) for the key pair\n"
	"whose public key is FILE (made by 'virtform keygen'), and print\n"
	"\n"
	"    {sealed: \"<base64>\"}\n"
	"\n"
	"to paste where the configuration allows a secret: a cloud_init user's\n"
	"password, user_data.  Only the secret key's holder (apply) can open it.\n"
	"Sealing is randomized: the same secret sealed twice gives two different\n"
	"values, both fine.  From a terminal, one line is read with echo off.\n"
	"\n"
	"Options:\n"
	"      --public-key FILE  the public key (virtform.pub; required)\n"
	"      --keep-newline     keep a trailing newline (by default one is\n"
	"                         removed: 'echo pw | virtform seal' seals 'pw')\n"
	"      --raw              print only the base64 text\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 sealed, 1 error (nothing printed on stdout).\n";

/* Grow a sodium_malloc'd buffer: copy into a bigger one, wipe the old. */
static unsigned char *grow_locked(unsigned char *old, size_t used, size_t want)
{
	unsigned char *p = sodium_malloc(want);
	if (p && used)
		memcpy(p, old, used);
	sodium_free(old);
	return p;
}

/* Read all of fd into locked memory; NULL after an error message. */
static unsigned char *read_secret(int fd, size_t *len)
{
	size_t cap = 4096, got = 0;
	unsigned char *buf = sodium_malloc(cap);

	for (;;) {
		ssize_t r;
		if (!buf) {
			vf_cmd_error(&vf_cmd_seal, "cannot allocate locked memory");
			return NULL;
		}
		if (got == cap) {
			if (cap > VF_SECRET_MAX_CLEAR) {
				vf_cmd_error(&vf_cmd_seal, "the secret is larger than %u MiB",
					     VF_SECRET_MAX_CLEAR >> 20);
				sodium_free(buf);
				return NULL;
			}
			cap *= 2;
			buf = grow_locked(buf, got, cap);
			continue;
		}
		r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			vf_cmd_error(&vf_cmd_seal, "cannot read stdin: %s", strerror(errno));
			sodium_free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > VF_SECRET_MAX_CLEAR) {
		vf_cmd_error(&vf_cmd_seal, "the secret is larger than %u MiB", VF_SECRET_MAX_CLEAR >> 20);
		sodium_free(buf);
		return NULL;
	}
	*len = got;
	return buf;
}

/* From a terminal: one line, echo off. */
static unsigned char *read_secret_tty(size_t *len)
{
	struct termios old, quiet;
	unsigned char *buf;
	size_t got = 0;

	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return read_secret(STDIN_FILENO, len);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fputs("secret (not echoed): ", stderr);
	fflush(stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	buf = sodium_malloc(4096);
	while (buf && got < 4095) {
		ssize_t r = read(STDIN_FILENO, buf + got, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf[got] == '\n')
			break;
		got++;
	}
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (!buf) {
		vf_cmd_error(&vf_cmd_seal, "cannot allocate locked memory");
		return NULL;
	}
	*len = got;
	return buf;
}

/* The work of seal: the secret on stdin sealed for the public key in
 * pk_path, printed on stdout.  The exit status. */
static int seal_stdin(const char *pk_path, bool keep_newline, bool raw)
{
	struct vf_diags diags = { 0 };
	struct vf_public_key pk;
	unsigned char *clear;
	char *sealed;
	size_t len;

	if (vf_public_key_load(pk_path, &pk, &diags) < 0) {
		vf_diags_print(&diags, stderr);
		vf_diags_release(&diags);
		return VF_EXIT_ERROR;
	}
	clear = isatty(STDIN_FILENO) ? read_secret_tty(&len) : read_secret(STDIN_FILENO, &len);
	if (!clear)
		return VF_EXIT_ERROR;
	if (!keep_newline && len && clear[len - 1] == '\n')
		len--;
	if (!len) {
		sodium_free(clear);
		return vf_cmd_error(&vf_cmd_seal, "nothing to seal: the secret on stdin is empty");
	}
	sealed = vf_secret_seal(&pk, clear, len);
	sodium_free(clear);
	if (!sealed)
		return vf_cmd_error(&vf_cmd_seal, "sealing failed (libsodium)");
	if (raw)
		printf("%s\n", sealed);
	else
		printf("{sealed: \"%s\"}\n", sealed);
	free(sealed);
	if (fflush(stdout) != 0)
		return vf_cmd_error(&vf_cmd_seal, "cannot write the sealed value: %s", strerror(errno));
	return VF_EXIT_OK;
}

static int seal_run(int argc, char **argv)
{
	const char *pk_path = NULL;
	bool keep_newline = false, raw = false;
	int rc = VF_CMD_PARSE(&vf_cmd_seal, argc, argv,
			      ": the secret is read on stdin, never from the command line",
			      VF_VALUE(VF_OPT_PUBLIC_KEY, &pk_path),
			      VF_FLAG(VF_OPT_KEEP_NEWLINE, &keep_newline), VF_FLAG(VF_OPT_RAW, &raw));

	if (rc != VF_CMD_GO_ON)
		return rc;
	if (!pk_path)
		return vf_cmd_error(&vf_cmd_seal, "--public-key FILE is required (the virtform.pub "
				    "'virtform keygen' wrote)");
	return seal_stdin(pk_path, keep_newline, raw);
}

const struct vf_cmd vf_cmd_seal = VF_CMD("seal",
	"seal a secret (stdin) for the configuration: {sealed: ...}", usage, seal_run,
	.options = VF_OPTS(VF_OPT_PUBLIC_KEY, VF_OPT_KEEP_NEWLINE, VF_OPT_RAW));

