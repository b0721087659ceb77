/*
 * How a fetch from git authenticates and whom it trusts
 * (providers/git/transport.c), without a network: the host key check
 * against known hosts files made here with OpenSSH's ssh-keygen (a real
 * ed25519 key; plain, hashed, [host]:port, @revoked, another key, none),
 * and the credentials callback libgit2 calls (a key file offered once, then
 * an error; no key at all; user names; a user name and password from the
 * environment only).  The fetches themselves: tests/t0715 (HTTP) and
 * tests/t3640 (SSH, on the lab).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/git/internal.h"
#include "reconcile/util.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-git-transport.XXXXXX";

static char *in_tmp(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A new ed25519 key NAME in tmpdir: its .pub line's type and base64 blob. */
static int make_key(const char *name, char *type, size_t tsize, char *b64, size_t bsize)
{
	char *cmd = xasprintf("ssh-keygen -q -t ed25519 -N '' -C test -f '%s/%s'", tmpdir, name);
	char *pub = xasprintf("%s/%s.pub", tmpdir, name);
	char line[1024], *sp, *end;
	FILE *f;
	int rc = -1;

	if (system(cmd) == 0 && (f = fopen(pub, "r"))) {
		/* "TYPE BASE64 COMMENT" */
		if (fgets(line, sizeof(line), f) && (sp = strchr(line, ' ')) &&
		    (end = strchr(sp + 1, ' ')) && (size_t)(sp - line) < tsize &&
		    (size_t)(end - sp - 1) < bsize) {
			memcpy(type, line, sp - line);
			type[sp - line] = '\0';
			memcpy(b64, sp + 1, end - sp - 1);
			b64[end - sp - 1] = '\0';
			rc = 0;
		}
		fclose(f);
	}
	free(cmd);
	free(pub);
	return rc;
}

static int check(const char *url, const char *host, const char *type,
		 const unsigned char *raw, size_t len, const char *known_hosts, char **error)
{
	struct vf_git_auth a = { NULL, known_hosts };

	return vf_git_check_hostkey(url, host, type, raw, len, &a, error);
}

static void test_hostkey(void)
{
	char type[64], b64[512], type2[64], b64_2[512], *error = NULL, *kh, *text;
	unsigned char raw[256], raw2[256];
	size_t len = 0, len2 = 0;
	struct vf_git_auth none = { NULL, NULL };

	if (make_key("host", type, sizeof(type), b64, sizeof(b64)) < 0 ||
	    make_key("other", type2, sizeof(type2), b64_2, sizeof(b64_2)) < 0 ||
	    sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 ||
	    sodium_base642bin(raw2, sizeof(raw2), b64_2, strlen(b64_2), NULL, &len2, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0) {
		ok(0, "ssh-keygen makes the test's host keys");
		return;
	}
	is_str(type, "ssh-ed25519", "a real ed25519 host key");

	kh = in_tmp("known_hosts");
	text = xasprintf("# comment\ngit.example.org,192.0.2.7 %s %s\n"
			 "[git.example.org]:2222 %s %s\n", type, b64, type2, b64_2);
	write_text(kh, text);
	free(text);
	is_int(check("ssh://git@git.example.org/infra.git", "git.example.org", type, raw, len,
		     kh, &error), 0, "a known host with its key: accepted");
	is_int(check("git@192.0.2.7:infra.git", "192.0.2.7", type, raw, len, kh, &error), 0,
	       "the same entry by its address (user@host:path)");
	is_int(check("ssh://git@git.example.org:2222/infra.git", "git.example.org", type, raw2,
		     len2, kh, &error), 0, "[host]:port: the port's own entry");
	is_int(check("ssh://git@git.example.org:2222/infra.git", "git.example.org", type, raw, len,
		     kh, &error), -1, "on port 2222 the port-22 key is not the one");
	ok(error && strstr(error, "the host key of '[git.example.org]:2222' does not match the "
				  "known hosts") && strstr(error, "refusing to fetch"),
	   "... a mismatch, named with its port (%s)", error ? error : "");
	free(error);
	error = NULL;

	is_int(check("ssh://git@git.example.org/infra.git", "git.example.org", type, raw2, len2,
		     kh, &error), -1, "another key for a known host: refused");
	ok(error && strstr(error, "someone may be in the middle"), "... as a possible man in the "
	   "middle");
	free(error);
	error = NULL;

	is_int(check("ssh://git@new.example.org/infra.git", "new.example.org", type, raw, len,
		     kh, &error), -1, "an unknown host: refused");
	ok(error && strstr(error, "the host 'new.example.org' is not in the known hosts") &&
	   strstr(error, "ssh-keyscan -t ssh-ed25519 new.example.org >> FILE"),
	   "... with how to add it (%s)", error ? error : "");
	free(error);
	error = NULL;

	/* hashed names: ssh-keygen -H */
	{
		char *cmd = xasprintf("ssh-keygen -q -H -f '%s' >/dev/null 2>&1", kh);
		char *plain = NULL;
		FILE *f;
		ok(system(cmd) == 0, "ssh-keygen -H hashes the file");
		free(cmd);
		if ((f = fopen(kh, "r"))) {
			char buf[4096];
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			plain = strstr(buf, "git.example.org") ? "yes" : NULL;
			fclose(f);
		}
		ok(!plain, "no host name left in clear");
		is_int(check("ssh://git@git.example.org/infra.git", "git.example.org", type, raw,
			     len, kh, &error), 0, "a hashed entry: accepted");
		free(error);
		error = NULL;
	}

	text = xasprintf("git.example.org %s %s\n@revoked git.example.org %s %s\n", type, b64,
			 type, b64);
	write_text(kh, text);
	free(text);
	is_int(check("ssh://git@git.example.org/infra.git", "git.example.org", type, raw, len,
		     kh, &error), -1, "a key listed @revoked: refused");
	ok(error && strstr(error, "is marked @revoked"), "... and said so");
	free(error);
	error = NULL;

	text = xasprintf("@cert-authority *.example.org %s %s\n", type, b64);
	write_text(kh, text);
	free(text);
	is_int(check("ssh://git@git.example.org/infra.git", "git.example.org", type, raw, len,
		     kh, &error), -1, "a @cert-authority line is not a host key");
	free(error);
	error = NULL;

	free(kh);
	kh = in_tmp("absent");
	is_int(check("ssh://git@git.example.org/infra.git", "git.example.org", type, raw, len,
		     kh, &error), -1, "an unreadable known hosts file: an error");
	ok(error && strstr(error, "cannot read the known hosts file"), "... naming it");
	free(error);
	error = NULL;
	free(kh);

	/* defaults: $HOME/.ssh/known_hosts (the system's file may exist here) */
	{
		char *home = in_tmp("home"), *ssh = in_tmp("home/.ssh"), *user;
		const char *old = getenv("HOME");
		char *saved = old ? xstrdup(old) : NULL;
		mkdir(home, 0700);
		mkdir(ssh, 0700);
		user = in_tmp("home/.ssh/known_hosts");
		text = xasprintf("home.example.org %s %s\n", type, b64);
		write_text(user, text);
		free(text);
		setenv("HOME", home, 1);
		is_int(vf_git_check_hostkey("ssh://git@home.example.org/r.git", "home.example.org",
					    type, raw, len, &none, &error), 0,
		       "without --git-known-hosts: ~/.ssh/known_hosts");
		free(error);
		error = NULL;
		if (saved)
			setenv("HOME", saved, 1);
		else
			unsetenv("HOME");
		free(saved);
		free(user);
		free(ssh);
		free(home);
	}
}

static void test_credentials(void)
{
	git_remote_callbacks cb;
	struct vf_git_fetch_ctx ctx;
	struct vf_git_auth auth = { NULL, NULL };
	git_credential *cred = NULL;
	char *key = in_tmp("host"), *home = in_tmp("empty-home");
	int rc;

	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
	mkdir(home, 0700);
	setenv("HOME", home, 1);
	unsetenv("SSH_AUTH_SOCK");
	unsetenv("VIRTFORM_GIT_USERNAME");
	unsetenv("VIRTFORM_GIT_PASSWORD");

	auth.ssh_key = key;
	vf_git_fetch_ctx_init(&ctx, "ssh://git@h/r.git", &auth, &cb);
	rc = cb.credentials(&cred, "ssh://git@h/r.git", "git", GIT_CREDENTIAL_SSH_KEY, cb.payload);
	ok(rc == 0 && cred && cred->credtype == GIT_CREDENTIAL_SSH_KEY,
	   "the key file is offered as an SSH key");
	if (cred)
		cred->free(cred);
	cred = NULL;
	rc = cb.credentials(&cred, "ssh://git@h/r.git", "git", GIT_CREDENTIAL_SSH_KEY, cb.payload);
	ok(rc == GIT_EUSER && !cred, "asked again (refused): an error, not a loop");
	ok(ctx.error && strstr(ctx.error, "the server refused the SSH key") &&
	   strstr(ctx.error, key) && strstr(ctx.error, "for user 'git'"),
	   "... naming the key and the user (%s)", ctx.error ? ctx.error : "");
	vf_git_fetch_ctx_release(&ctx);

	vf_git_fetch_ctx_init(&ctx, "ssh://h/r.git", NULL, &cb);
	rc = cb.credentials(&cred, "ssh://h/r.git", NULL, GIT_CREDENTIAL_USERNAME, cb.payload);
	ok(rc == 0 && cred && !strcmp(git_credential_get_username(cred), "git"),
	   "no user in the URL: 'git'");
	if (cred)
		cred->free(cred);
	cred = NULL;
	rc = cb.credentials(&cred, "ssh://h/r.git", NULL, GIT_CREDENTIAL_SSH_KEY, cb.payload);
	ok(rc == GIT_EUSER && ctx.error &&
	   strstr(ctx.error, "the server asks for an SSH key, and there is none"),
	   "no key, no agent, no ~/.ssh/id_*: says how to give one");
	vf_git_fetch_ctx_release(&ctx);

	vf_git_fetch_ctx_init(&ctx, "https://h/r.git", NULL, &cb);
	rc = cb.credentials(&cred, "https://h/r.git", NULL, GIT_CREDENTIAL_USERPASS_PLAINTEXT,
			    cb.payload);
	ok(rc == GIT_EUSER && ctx.error && strstr(ctx.error, "VIRTFORM_GIT_PASSWORD"),
	   "HTTPS without VIRTFORM_GIT_PASSWORD: an error naming it");
	vf_git_fetch_ctx_release(&ctx);
	setenv("VIRTFORM_GIT_USERNAME", "ops", 1);
	setenv("VIRTFORM_GIT_PASSWORD", "t0ken", 1);
	vf_git_fetch_ctx_init(&ctx, "https://h/r.git", NULL, &cb);
	rc = cb.credentials(&cred, "https://h/r.git", NULL, GIT_CREDENTIAL_USERPASS_PLAINTEXT,
			    cb.payload);
	ok(rc == 0 && cred && !strcmp(git_credential_get_username(cred), "ops"),
	   "with them: the user name and password");
	if (cred)
		cred->free(cred);
	cred = NULL;
	rc = cb.credentials(&cred, "https://h/r.git", NULL, GIT_CREDENTIAL_USERPASS_PLAINTEXT,
			    cb.payload);
	ok(rc == GIT_EUSER && ctx.error && strstr(ctx.error, "refused the user name and password"),
	   "refused once: an error, not a loop");
	vf_git_fetch_ctx_release(&ctx);
	unsetenv("VIRTFORM_GIT_USERNAME");
	unsetenv("VIRTFORM_GIT_PASSWORD");
	free(key);
	free(home);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	git_libgit2_init();
	test_hostkey();
	test_credentials();
	git_libgit2_shutdown();
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove the temporary directory");
		free(cmd);
	}
	return tap_done();
}
